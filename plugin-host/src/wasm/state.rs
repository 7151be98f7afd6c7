//! Per-call store data: an empty WASI context (no preopens, no network), the memory limiter, and
//! the host interfaces the worlds import.

use super::bindings::{config, http, ipmi, log, snmp};
use crate::capability::{self, Capabilities, Scope};
use luna_proto::plugin::Hook;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub struct CallState {
    pub plugin: Arc<str>,
    pub hook: Hook,
    pub subject: String,
    pub config: String,
    pub scope: Scope,
    pub caps: Arc<Capabilities>,
    pub limiter: MemoryCap,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl CallState {
    pub fn new(
        plugin: Arc<str>,
        hook: Hook,
        subject: String,
        config: String,
        scope: Scope,
        caps: Arc<Capabilities>,
        memory_limit: usize,
    ) -> Self {
        CallState {
            plugin,
            hook,
            subject,
            config,
            scope,
            caps,
            limiter: MemoryCap {
                limit: memory_limit,
                exceeded: false,
            },
            // Nothing preopened, no inherited stdio/env, sockets denied by the default address check.
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        }
    }
}

/// Caps linear memory and table growth; remembers that the cap was hit so the error can say so.
pub struct MemoryCap {
    pub limit: usize,
    pub exceeded: bool,
}

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.exceeded = true;
            return Err(wasmtime::format_err!(
                "memory limit of {} bytes exceeded",
                self.limit
            ));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl log::Host for CallState {
    fn log(&mut self, level: log::Level, message: String) {
        let (plugin, hook, subject) = (&*self.plugin, self.hook.as_str(), &self.subject);
        match level {
            log::Level::Debug => tracing::debug!(plugin, hook, subject, "{message}"),
            log::Level::Info => tracing::info!(plugin, hook, subject, "{message}"),
            log::Level::Warn => tracing::warn!(plugin, hook, subject, "{message}"),
            log::Level::Error => tracing::error!(plugin, hook, subject, "{message}"),
        }
    }
}

impl config::Host for CallState {
    fn get(&mut self) -> String {
        self.config.clone()
    }
}

impl snmp::Host for CallState {
    fn get(&mut self, target: String, oids: Vec<String>) -> Result<Vec<snmp::Varbind>, String> {
        capability::snmp::request(
            &self.scope,
            &target,
            capability::snmp::Operation::Get(oids),
            self.caps.timeout,
        )
    }

    fn walk(&mut self, target: String, oid: String) -> Result<Vec<snmp::Varbind>, String> {
        capability::snmp::request(
            &self.scope,
            &target,
            capability::snmp::Operation::Walk(oid),
            self.caps.timeout,
        )
    }

    fn bulk_walk(
        &mut self,
        target: String,
        oid: String,
        max_repetitions: u32,
    ) -> Result<Vec<snmp::Varbind>, String> {
        capability::snmp::request(
            &self.scope,
            &target,
            capability::snmp::Operation::BulkWalk(oid, max_repetitions),
            self.caps.timeout,
        )
    }
}

impl ipmi::Host for CallState {
    fn run(&mut self, target: String, args: Vec<String>) -> Result<String, String> {
        capability::ipmi::run(
            &self.scope,
            &self.caps.ipmitool,
            &target,
            &args,
            self.caps.timeout,
        )
    }
}

impl http::Host for CallState {
    fn send(&mut self, request: http::Request) -> Result<http::Response, String> {
        capability::http::send(&self.scope, &self.caps, request)
    }
}
