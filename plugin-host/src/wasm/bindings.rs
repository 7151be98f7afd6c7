//! Host-side bindings of the `luna:provision@0.1.0` package: every hook interface and every host
//! interface, generated once so all worlds share one set of types.

// The generated canonical-ABI glue uses `unsafe` internally.
#![allow(unsafe_code)]
#![allow(clippy::all)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "host",
});

pub use exports::luna::provision::{
    bmc_hook, discovery_hook, partition_hook, post_install_hook, power_hook,
};
pub use luna::provision::{config, http, ipmi, log, snmp, types};
