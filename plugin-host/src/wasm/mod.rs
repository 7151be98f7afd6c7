//! The wasmtime side: one engine, one linker per world (only that world's imports plus an empty
//! WASI), components compiled once and cached by content hash, a fresh store per call.

pub mod bindings;
mod cache;
pub(crate) mod convert;
mod guest;
pub(crate) mod state;
mod state_v0_2;

use crate::error::{PluginError, Result};
use guest::HookExports;
pub use guest::{Contract, HookGuest};
use luna_proto::plugin::Hook;
use state::CallState;
use std::collections::HashMap;
use std::path::PathBuf;
use wasmtime::component::{Component, HasSelf, InstancePre, Linker};
use wasmtime::{Engine, Store, Trap};

/// Contract versions this host runs. A 0.2 host keeps 0.1 here and adds its own (wit/README.md).
pub const SUPPORTED_VERSIONS: &[&str] = &["0.1", "0.2"];

/// Instances that may exist at once. Instances come from a pre-allocated pool (instantiation in
/// microseconds instead of mapping fresh memory per call); calls beyond this wait for a slot.
pub const CONCURRENT_CALLS: u32 = 32;

/// Bytes of each pooled memory (and table) kept mapped between calls.
const KEEP_RESIDENT: usize = 2 << 20;

pub struct WasmEngine {
    engine: Engine,
    linkers: HashMap<(Contract, Hook), Linker<CallState>>,
    cache: cache::ComponentCache,
    slots: Slots,
}

/// A counting semaphore for pool slots (calls run on blocking threads, so waiting is fine).
struct Slots {
    free: std::sync::Mutex<u32>,
    freed: std::sync::Condvar,
}

struct Slot<'a>(&'a Slots);

impl Slots {
    fn take(&self) -> Slot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

/// A compiled, linked component ready to instantiate (cheap to clone).
#[derive(Clone)]
pub struct WasmPlugin {
    pub hook: Hook,
    pub version: String,
    pub contract: Contract,
    pre: InstancePre<CallState>,
    exports: HookExports,
}

fn interface_of(hook: Hook) -> &'static str {
    match hook {
        Hook::Partition => "partition-hook",
        Hook::PostInstall => "post-install-hook",
        Hook::BmcSetup => "bmc-hook",
        Hook::SwitchDiscovery => "discovery-hook",
        Hook::Power => "power-hook",
    }
}

impl WasmEngine {
    pub fn new(cache_dir: Option<PathBuf>, memory_limit: usize) -> Result<Self> {
        let mut config = wasmtime::Config::new();
        config.consume_fuel(true);
        config.wasm_component_model(true);
        // A Rust wasip2 component holds a few core instances (main module plus adapter shims).
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        pool.total_component_instances(CONCURRENT_CALLS)
            .total_core_instances(CONCURRENT_CALLS * 8)
            .total_memories(CONCURRENT_CALLS * 2)
            .total_tables(CONCURRENT_CALLS * 8)
            .max_memory_size(memory_limit)
            // Reset a slot's memory in place (only its dirty pages, with PAGEMAP_SCAN on Linux
            // 6.7+) instead of discarding it: the next call then takes no page faults on the
            // stack and heap a Rust component touches (a few hundred KiB), nor madvise calls.
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(KEEP_RESIDENT);
        config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config)
            .map_err(|e| PluginError::Runtime(format!("cannot start wasmtime: {e}")))?;
        let mut linkers = HashMap::new();
        for contract in Contract::ALL {
            for hook in Hook::ALL {
                linkers.insert((contract, hook), world_linker(&engine, contract, hook)?);
            }
        }
        let cache = cache::ComponentCache::new(&engine, cache_dir);
        Ok(WasmEngine {
            engine,
            linkers,
            cache,
            slots: Slots {
                free: std::sync::Mutex::new(CONCURRENT_CALLS),
                freed: std::sync::Condvar::new(),
            },
        })
    }

    /// Compile (or fetch from cache), find the one hook the component exports, and link it
    /// against that hook's world; any import outside the world is refused here.
    pub fn load(&self, file: &str, sha256: &str, bytes: &[u8]) -> Result<WasmPlugin> {
        let component = self
            .cache
            .get_or_compile(&self.engine, sha256, bytes, file)?;
        let (hook, version, contract) = self.detect_hook(file, &component)?;
        let linker = &self.linkers[&(contract, hook)];
        let pre = linker.instantiate_pre(&component).map_err(|e| PluginError::Invalid {
            file: file.into(),
            reason: format!(
                "it imports something world {} does not provide ({}); a {} plugin may import only log, config{}",
                hook.world(),
                root_message(&e),
                hook.world(),
                match hook {
                    Hook::SwitchDiscovery => " and snmp",
                    Hook::Power => ", ipmi and http",
                    _ => "",
                }
            ),
        })?;
        let exports = HookExports::new(hook, contract, &pre).map_err(|e| PluginError::Invalid {
            file: file.into(),
            reason: format!(
                "its {} export does not match luna:provision@{version}: {}",
                interface_of(hook),
                root_message(&e)
            ),
        })?;
        Ok(WasmPlugin {
            hook,
            version,
            contract,
            pre,
            exports,
        })
    }

    fn detect_hook(&self, file: &str, component: &Component) -> Result<(Hook, String, Contract)> {
        let ty = component.component_type();
        let mut found = Vec::new();
        let mut names = Vec::new();
        for (name, _) in ty.exports(&self.engine) {
            names.push(name.to_string());
            let Some(rest) = name.strip_prefix("luna:provision/") else {
                continue;
            };
            let (iface, version) = rest.split_once('@').unwrap_or((rest, ""));
            if let Some(hook) = Hook::ALL.into_iter().find(|h| interface_of(*h) == iface) {
                found.push((hook, version.to_string()));
            }
        }
        match found.as_slice() {
            [(hook, version)] => match Contract::of_version(version) {
                Some(contract) => Ok((*hook, version.clone(), contract)),
                None => Err(PluginError::Invalid {
                    file: file.into(),
                    reason: format!(
                        "it was built against luna:provision@{version}, this host runs {}; rebuild it with a matching luna-sdk",
                        SUPPORTED_VERSIONS.join(", ")
                    ),
                }),
            },
            [] => Err(PluginError::Invalid {
                file: file.into(),
                reason: format!(
                    "it exports none of the known worlds (partitioner, post-install, bmc, switch-discovery, power); its exports are [{}]. Build it with luna-sdk and export_plugin!",
                    names.join(", ")
                ),
            }),
            _ => Err(PluginError::Invalid {
                file: file.into(),
                reason: "it exports more than one hook; build one plugin per hook".into(),
            }),
        }
    }

    /// Run one hook call in a fresh store with the given fuel. `call` gets the instance's hook
    /// export and returns the guest's own `Result<T, String>`.
    pub fn call<T>(
        &self,
        plugin: &WasmPlugin,
        state: CallState,
        fuel: u64,
        call: impl FnOnce(&mut Store<CallState>, &HookGuest) -> wasmtime::Result<Result<T, String>>,
    ) -> Result<T> {
        let _slot = self.slots.take();
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store
            .set_fuel(fuel)
            .map_err(|e| PluginError::Runtime(e.to_string()))?;
        let outcome = plugin
            .pre
            .instantiate(&mut store)
            .and_then(|instance| plugin.exports.load(&mut store, &instance))
            .and_then(|guest| call(&mut store, &guest));
        let data = store.data();
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(message)) => Err(PluginError::Failed {
                plugin: data.plugin.to_string(),
                hook: data.hook,
                subject: data.subject.clone(),
                message,
            }),
            Err(err) => Err(classify(err, data)),
        }
    }
}

/// Turn a wasmtime error into the error an operator should see.
fn classify(err: wasmtime::Error, data: &CallState) -> PluginError {
    let (plugin, hook, subject) = (data.plugin.to_string(), data.hook, data.subject.clone());
    if data.limiter.exceeded {
        return PluginError::MemoryLimit {
            plugin,
            hook,
            subject,
            limit_mib: (data.limiter.limit >> 20) as u64,
        };
    }
    if err
        .chain()
        .any(|e| e.downcast_ref::<Trap>() == Some(&Trap::OutOfFuel))
    {
        return PluginError::CpuBudget {
            plugin,
            hook,
            subject,
        };
    }
    PluginError::Trap {
        plugin,
        hook,
        subject,
        message: root_message(&err),
    }
}

/// The top of a wasmtime error is often only a backtrace: report the trap or the root cause.
fn root_message(err: &wasmtime::Error) -> String {
    if let Some(trap) = err.chain().find_map(|e| e.downcast_ref::<Trap>()) {
        return trap.to_string();
    }
    err.chain()
        .last()
        .map(|e| e.to_string())
        .unwrap_or_else(|| err.to_string())
}

fn world_linker(engine: &Engine, contract: Contract, hook: Hook) -> Result<Linker<CallState>> {
    let mut linker = Linker::new(engine);
    let link = |r: wasmtime::Result<()>| {
        r.map_err(|e| {
            PluginError::Runtime(format!(
                "linking world {} of luna:provision@{}: {e}",
                hook.world(),
                contract.as_str()
            ))
        })
    };
    // Rust's std for wasm32-wasip2 imports WASI; the context given per call is empty.
    link(wasmtime_wasi::p2::add_to_linker_sync(&mut linker))?;
    let (snmp, power) = (hook == Hook::SwitchDiscovery, hook == Hook::Power);
    match contract {
        Contract::V0_1 => {
            use bindings::v0_1::luna::provision::{config, http, ipmi, log, snmp};
            link(log::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s))?;
            link(config::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s))?;
            if snmp {
                link(snmp::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s))?;
            }
            if power {
                link(ipmi::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s))?;
                link(http::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s))?;
            }
        }
        Contract::V0_2 => {
            use bindings::v0_2::luna::provision::{config, http, ipmi, log, snmp};
            link(log::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s))?;
            link(config::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s))?;
            if snmp {
                link(snmp::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s))?;
            }
            if power {
                link(ipmi::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s))?;
                link(http::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s))?;
            }
        }
    }
    Ok(linker)
}
