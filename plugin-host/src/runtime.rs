//! `PluginRuntime`: the one entry point the host uses. Loads (validates, compiles, caches) plugin
//! bytes and runs their hooks off the async executor.

use crate::capability::{Capabilities, Scope};
use crate::error::{PluginError, Result};
use crate::rhai_script::{RhaiEngine, RhaiLimits, RhaiPlugin};
use crate::wasm::state::CallState;
use crate::wasm::{WasmEngine, WasmPlugin};
use luna_proto::plugin::{
    BootDevice, Hook, NodeContext, PartitionPlan, PluginInfo, PluginKind, PortEntry, PowerAction,
    PowerState, SwitchContext,
};
use rhai::Dynamic;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Budgets and paths of the runtime. `Default` suits the daemon.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where compiled components are kept across restarts; `None` keeps them in memory only.
    pub cache_dir: Option<PathBuf>,
    /// Fuel per WASM call (about 2·10⁹ per CPU second).
    pub fuel: u64,
    /// Linear-memory cap per WASM call, in bytes.
    pub memory_limit: usize,
    /// Operations per Rhai call.
    pub rhai_max_operations: u64,
    pub rhai_max_call_levels: usize,
    pub rhai_max_string_size: usize,
    pub rhai_max_array_size: usize,
    /// Timeout of one capability request (SNMP, IPMI, HTTP).
    pub capability_timeout: Duration,
    /// The ipmitool binary used by the IPMI capability.
    pub ipmitool: String,
    /// BMCs usually present self-signed certificates.
    pub accept_invalid_bmc_certs: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            cache_dir: None,
            fuel: 1_000_000_000,
            memory_limit: 256 << 20,
            rhai_max_operations: 1_000_000,
            rhai_max_call_levels: 32,
            rhai_max_string_size: 1 << 20,
            rhai_max_array_size: 10_000,
            capability_timeout: Duration::from_secs(20),
            ipmitool: "ipmitool".into(),
            accept_invalid_bmc_certs: true,
        }
    }
}

/// Cheap to clone; share one per daemon.
#[derive(Clone)]
pub struct PluginRuntime {
    inner: Arc<Inner>,
}

struct Inner {
    wasm: WasmEngine,
    rhai: RhaiEngine,
    caps: Arc<Capabilities>,
    config: RuntimeConfig,
}

/// A loaded plugin: validated, compiled, ready to call. Cheap to clone.
#[derive(Clone)]
pub struct Plugin {
    name: Arc<str>,
    info: PluginInfo,
    code: Code,
}

#[derive(Clone)]
enum Code {
    Wasm(WasmPlugin),
    Rhai(RhaiPlugin),
}

impl Plugin {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }
    pub fn provides(&self, hook: Hook) -> bool {
        self.info.hooks.contains(&hook)
    }
}

/// The registry name a file gets without `--name`: "grub_post.wasm" → "grub-post".
pub fn default_plugin_name(file_name: &str) -> String {
    let base = file_name.rsplit('/').next().unwrap_or(file_name);
    let stem = base
        .strip_suffix(".wasm")
        .or_else(|| base.strip_suffix(".rhai"))
        .unwrap_or(base);
    stem.replace('_', "-")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl PluginRuntime {
    pub fn new(config: RuntimeConfig) -> Result<Self> {
        let wasm = WasmEngine::new(config.cache_dir.clone(), config.memory_limit)?;
        let rhai = RhaiEngine::new(&RhaiLimits {
            max_operations: config.rhai_max_operations,
            max_call_levels: config.rhai_max_call_levels,
            max_string_size: config.rhai_max_string_size,
            max_array_size: config.rhai_max_array_size,
        });
        let caps = Arc::new(Capabilities::new(
            config.capability_timeout,
            config.ipmitool.clone(),
            config.accept_invalid_bmc_certs,
        ));
        Ok(PluginRuntime {
            inner: Arc::new(Inner {
                wasm,
                rhai,
                caps,
                config,
            }),
        })
    }

    /// Validate a plugin file (what `luna plugin install` calls): a component exporting a known
    /// world with only that world's imports, or a Rhai script that compiles and defines a hook.
    /// Compiles as a side effect, so a following `load` of the same bytes is instant.
    pub fn inspect(&self, bytes: &[u8], file_name: &str) -> Result<PluginInfo> {
        let is_wasm = bytes.starts_with(b"\0asm");
        if file_name.ends_with(".wasm") && !is_wasm {
            return Err(PluginError::Invalid {
                file: file_name.into(),
                reason:
                    "it does not start with the WebAssembly magic bytes; is it really a .wasm file?"
                        .into(),
            });
        }
        if file_name.ends_with(".rhai") && is_wasm {
            return Err(PluginError::Invalid {
                file: file_name.into(),
                reason: "it is WebAssembly, not a Rhai script; name it .wasm".into(),
            });
        }
        Ok(self.load(file_name, bytes)?.info)
    }

    /// Load a plugin for calls; `name` appears in every error of its calls. WASM or Rhai is told
    /// by content. Compiled code is cached by SHA-256, so loading the same bytes again is cheap.
    pub fn load(&self, name: &str, bytes: &[u8]) -> Result<Plugin> {
        let sha256 = sha256_hex(bytes);
        let size = bytes.len() as u64;
        let (info, code) = if bytes.starts_with(b"\0asm") {
            let w = self.inner.wasm.load(name, &sha256, bytes)?;
            let info = PluginInfo {
                kind: PluginKind::Wasm,
                hooks: vec![w.hook],
                world: Some(w.hook.world().to_string()),
                version: w.version.clone(),
                sha256,
                size,
            };
            (info, Code::Wasm(w))
        } else {
            let r = self.inner.rhai.load(name, &sha256, bytes)?;
            let info = PluginInfo {
                kind: PluginKind::Rhai,
                hooks: r.hooks.iter().map(|(h, _)| *h).collect(),
                world: None,
                version: r.version.clone(),
                sha256,
                size,
            };
            (info, Code::Rhai(r))
        };
        Ok(Plugin {
            name: name.into(),
            info,
            code,
        })
    }

    pub fn config(&self) -> &RuntimeConfig {
        &self.inner.config
    }

    /// Ask the plugin whether it accepts `config` (called when an operator binds it).
    pub async fn validate_config(&self, plugin: &Plugin, config: &serde_json::Value) -> Result<()> {
        let (inner, plugin, config) = (self.inner.clone(), plugin.clone(), config.clone());
        off_executor(move || inner.validate_config(&plugin, &config)).await
    }

    /// Run the partition hook for a node.
    pub async fn partition(
        &self,
        plugin: &Plugin,
        node: &NodeContext,
        config: &serde_json::Value,
    ) -> Result<PartitionPlan> {
        self.node_hook(plugin, node, config, |i, p, n, c| i.partition(p, n, c))
            .await
    }

    /// Run the post-install hook: returns a script run chrooted in the installed system.
    pub async fn post_install(
        &self,
        plugin: &Plugin,
        node: &NodeContext,
        layout: &PartitionPlan,
        config: &serde_json::Value,
    ) -> Result<String> {
        let layout = layout.clone();
        self.node_hook(plugin, node, config, move |i, p, n, c| {
            i.post_install(p, n, &layout, c)
        })
        .await
    }

    /// Run the BMC setup hook: returns a script run in the node's initramfs.
    pub async fn bmc_setup(
        &self,
        plugin: &Plugin,
        node: &NodeContext,
        config: &serde_json::Value,
    ) -> Result<String> {
        self.node_hook(plugin, node, config, |i, p, n, c| i.bmc_setup(p, n, c))
            .await
    }

    /// Run switch discovery; the plugin's SNMP reaches only `switch.address`.
    pub async fn discover(
        &self,
        plugin: &Plugin,
        switch: &SwitchContext,
        config: &serde_json::Value,
    ) -> Result<Vec<PortEntry>> {
        let (inner, plugin, switch, config) = (
            self.inner.clone(),
            plugin.clone(),
            switch.clone(),
            config.clone(),
        );
        off_executor(move || inner.discover(&plugin, &switch, &config)).await
    }

    /// Query or change a node's power; the plugin's IPMI/HTTP reach only the node's BMC.
    pub async fn power(
        &self,
        plugin: &Plugin,
        node: &NodeContext,
        action: PowerAction,
        config: &serde_json::Value,
    ) -> Result<PowerState> {
        self.node_hook(plugin, node, config, move |i, p, n, c| {
            i.power(p, n, action, c)
        })
        .await
    }

    /// Switch a node's identify light on or off (power hook 0.2).
    pub async fn identify(
        &self,
        plugin: &Plugin,
        node: &NodeContext,
        on: bool,
        config: &serde_json::Value,
    ) -> Result<()> {
        self.node_hook(plugin, node, config, move |i, p, n, c| {
            i.identify(p, n, on, c)
        })
        .await
    }

    /// Set a node's next boot device (power hook 0.2).
    pub async fn set_next_boot(
        &self,
        plugin: &Plugin,
        node: &NodeContext,
        device: BootDevice,
        config: &serde_json::Value,
    ) -> Result<()> {
        self.node_hook(plugin, node, config, move |i, p, n, c| {
            i.set_next_boot(p, n, device, c)
        })
        .await
    }

    /// Blocking form of [`Self::partition`], for callers already off the executor (plan
    /// rendering in bulk, benchmarks).
    pub fn partition_blocking(
        &self,
        plugin: &Plugin,
        node: &NodeContext,
        config: &serde_json::Value,
    ) -> Result<PartitionPlan> {
        self.inner.partition(plugin, node, config)
    }

    /// Blocking form of [`Self::post_install`].
    pub fn post_install_blocking(
        &self,
        plugin: &Plugin,
        node: &NodeContext,
        layout: &PartitionPlan,
        config: &serde_json::Value,
    ) -> Result<String> {
        self.inner.post_install(plugin, node, layout, config)
    }

    /// Blocking form of [`Self::bmc_setup`].
    pub fn bmc_setup_blocking(
        &self,
        plugin: &Plugin,
        node: &NodeContext,
        config: &serde_json::Value,
    ) -> Result<String> {
        self.inner.bmc_setup(plugin, node, config)
    }
}

/// A plugin call never runs on an async worker thread: a slow plugin must not stall the daemon.
impl PluginRuntime {
    /// Runs a node hook on the blocking pool with owned copies of its arguments (the runtime
    /// is synchronous; a slow plugin must not hold an executor thread).
    async fn node_hook<T: Send + 'static>(
        &self,
        plugin: &Plugin,
        node: &NodeContext,
        config: &serde_json::Value,
        call: impl FnOnce(&Inner, &Plugin, &NodeContext, &serde_json::Value) -> Result<T>
        + Send
        + 'static,
    ) -> Result<T> {
        let (inner, plugin, node, config) = (
            self.inner.clone(),
            plugin.clone(),
            node.clone(),
            config.clone(),
        );
        off_executor(move || call(&inner, &plugin, &node, &config)).await
    }
}

async fn off_executor<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PluginError::Runtime(format!("plugin call aborted: {e}")))?
}

fn wrong_hook(plugin: &Plugin, hook: Hook) -> PluginError {
    PluginError::WrongHook {
        plugin: plugin.name.to_string(),
        hook,
        provides: plugin
            .info
            .hooks
            .iter()
            .map(|h| h.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn to_dynamic<T: serde::Serialize>(value: &T, what: &str) -> Result<Dynamic> {
    rhai::serde::to_dynamic(value)
        .map_err(|e| PluginError::Runtime(format!("cannot pass {what} to a Rhai script: {e}")))
}

impl Inner {
    fn state(
        &self,
        plugin: &Plugin,
        hook: Hook,
        subject: &str,
        config: &serde_json::Value,
        scope: Scope,
    ) -> CallState {
        CallState::new(
            plugin.name.clone(),
            hook,
            subject.to_string(),
            config.to_string(),
            scope,
            self.caps.clone(),
            self.config.memory_limit,
        )
    }

    fn wasm_for<'p>(&self, plugin: &'p Plugin, hook: Hook) -> Result<&'p WasmPlugin> {
        match &plugin.code {
            Code::Wasm(w) if w.hook == hook => Ok(w),
            _ => Err(wrong_hook(plugin, hook)),
        }
    }

    fn validate_config(&self, plugin: &Plugin, config: &serde_json::Value) -> Result<()> {
        match &plugin.code {
            Code::Rhai(r) => {
                self.rhai
                    .validate_config(r, &plugin.name, to_dynamic(config, "the configuration")?)
            }
            Code::Wasm(w) => {
                let state = self.state(plugin, w.hook, "config validation", config, Scope::Nothing);
                self.inner_validate(w, state).map_err(|e| match e {
                    PluginError::Failed {
                        plugin, message, ..
                    } => PluginError::Config { plugin, message },
                    other => other,
                })
            }
        }
    }

    fn inner_validate(&self, w: &WasmPlugin, state: CallState) -> Result<()> {
        self.wasm.call(w, state, self.config.fuel, |store, guest| {
            guest.validate_config(store)
        })
    }

    fn partition(
        &self,
        plugin: &Plugin,
        node: &NodeContext,
        config: &serde_json::Value,
    ) -> Result<PartitionPlan> {
        let hook = Hook::Partition;
        match &plugin.code {
            Code::Wasm(_) => {
                let w = self.wasm_for(plugin, hook)?;
                let state = self.state(plugin, hook, &node.name, config, Scope::Nothing);
                self.wasm.call(w, state, self.config.fuel, |store, guest| {
                    guest.partition(store, node)
                })
            }
            Code::Rhai(r) => {
                let out = self.rhai.call(
                    r,
                    (&plugin.name, hook, &node.name),
                    vec![to_dynamic(node, "the node")?],
                    to_dynamic(config, "the configuration")?,
                )?;
                rhai::serde::from_dynamic::<PartitionPlan>(&out).map_err(|e| PluginError::Failed {
                    plugin: plugin.name.to_string(),
                    hook,
                    subject: node.name.clone(),
                    message: format!(
                        "returned {} instead of #{{ script: \"...\", mounts: [...], boot_devices: [...] }}: {e}",
                        out.type_name()
                    ),
                })
            }
        }
    }

    fn post_install(
        &self,
        plugin: &Plugin,
        node: &NodeContext,
        layout: &PartitionPlan,
        config: &serde_json::Value,
    ) -> Result<String> {
        let hook = Hook::PostInstall;
        match &plugin.code {
            Code::Wasm(_) => {
                let w = self.wasm_for(plugin, hook)?;
                let state = self.state(plugin, hook, &node.name, config, Scope::Nothing);
                self.wasm.call(w, state, self.config.fuel, |store, guest| {
                    guest.post_install(store, node, layout)
                })
            }
            Code::Rhai(r) => {
                let out = self.rhai.call(
                    r,
                    (&plugin.name, hook, &node.name),
                    vec![
                        to_dynamic(node, "the node")?,
                        to_dynamic(layout, "the layout")?,
                    ],
                    to_dynamic(config, "the configuration")?,
                )?;
                script_output(plugin, hook, &node.name, out)
            }
        }
    }

    fn bmc_setup(
        &self,
        plugin: &Plugin,
        node: &NodeContext,
        config: &serde_json::Value,
    ) -> Result<String> {
        let hook = Hook::BmcSetup;
        match &plugin.code {
            Code::Wasm(_) => {
                let w = self.wasm_for(plugin, hook)?;
                let state = self.state(plugin, hook, &node.name, config, Scope::Nothing);
                self.wasm.call(w, state, self.config.fuel, |store, guest| {
                    guest.bmc_setup(store, node)
                })
            }
            Code::Rhai(r) => {
                let out = self.rhai.call(
                    r,
                    (&plugin.name, hook, &node.name),
                    vec![to_dynamic(node, "the node")?],
                    to_dynamic(config, "the configuration")?,
                )?;
                script_output(plugin, hook, &node.name, out)
            }
        }
    }

    fn discover(
        &self,
        plugin: &Plugin,
        switch: &SwitchContext,
        config: &serde_json::Value,
    ) -> Result<Vec<PortEntry>> {
        let hook = Hook::SwitchDiscovery;
        let w = self.wasm_for(plugin, hook)?;
        let state = self.state(
            plugin,
            hook,
            &switch.name,
            config,
            Scope::Switch(switch.clone()),
        );
        self.wasm.call(w, state, self.config.fuel, |store, guest| {
            guest.discover(store, switch)
        })
    }

    fn power(
        &self,
        plugin: &Plugin,
        node: &NodeContext,
        action: PowerAction,
        config: &serde_json::Value,
    ) -> Result<PowerState> {
        let hook = Hook::Power;
        let w = self.wasm_for(plugin, hook)?;
        let state = self.state(
            plugin,
            hook,
            &node.name,
            config,
            Scope::Bmc(node.bmc.clone()),
        );
        self.wasm.call(w, state, self.config.fuel, |store, guest| {
            guest.power(store, node, action)
        })
    }

    /// The BMC-scoped state of a 0.2-only power call, or the error a 0.1 plugin gets instead of a
    /// trap on a function its component does not export.
    fn power_extra<'p>(
        &self,
        plugin: &'p Plugin,
        node: &NodeContext,
        config: &serde_json::Value,
        call: &'static str,
    ) -> Result<(&'p WasmPlugin, CallState)> {
        let hook = Hook::Power;
        let w = self.wasm_for(plugin, hook)?;
        if !w.contract.has_power_extras() {
            return Err(PluginError::Unsupported {
                plugin: plugin.name.to_string(),
                version: w.contract.as_str(),
                call,
                since: "0.2",
            });
        }
        let scope = Scope::Bmc(node.bmc.clone());
        Ok((w, self.state(plugin, hook, &node.name, config, scope)))
    }

    fn identify(
        &self,
        plugin: &Plugin,
        node: &NodeContext,
        on: bool,
        config: &serde_json::Value,
    ) -> Result<()> {
        let (w, state) = self.power_extra(plugin, node, config, "identify")?;
        self.wasm.call(w, state, self.config.fuel, |store, guest| {
            guest.identify(store, node, on)
        })
    }

    fn set_next_boot(
        &self,
        plugin: &Plugin,
        node: &NodeContext,
        device: BootDevice,
        config: &serde_json::Value,
    ) -> Result<()> {
        let (w, state) = self.power_extra(plugin, node, config, "set-next-boot")?;
        self.wasm.call(w, state, self.config.fuel, |store, guest| {
            guest.set_next_boot(store, node, device)
        })
    }
}

fn script_output(plugin: &Plugin, hook: Hook, subject: &str, out: Dynamic) -> Result<String> {
    let type_name = out.type_name();
    out.into_string().map_err(|_| PluginError::Failed {
        plugin: plugin.name.to_string(),
        hook,
        subject: subject.to_string(),
        message: format!("returned {type_name} instead of a script string"),
    })
}
