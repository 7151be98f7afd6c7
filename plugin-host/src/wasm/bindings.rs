//! Host-side bindings of every supported `luna:provision` version, one module per version, each
//! generated from its `host` world (all hook and host interfaces at once) so all worlds of a
//! version share one set of types.
//!
//! 0.2 changed no shared record, so its `types` interface is mapped onto 0.1's: a node converted
//! once serves plugins of either version. Its host interfaces (log, config, snmp, ipmi, http) are
//! generated anew because their instance names carry the version (`luna:provision/log@0.2.0`).

// The generated canonical-ABI glue uses `unsafe` internally.
#![allow(unsafe_code)]
#![allow(clippy::all)]

pub mod v0_1 {
    wasmtime::component::bindgen!({
        path: "../wit/v0.1",
        world: "host",
    });
}

pub mod v0_2 {
    wasmtime::component::bindgen!({
        path: "../wit/v0.2",
        world: "host",
        with: {
            "luna:provision/types@0.2.0": super::v0_1::luna::provision::types,
        },
    });
}

/// The host interfaces' types the capabilities are written against (0.2 converts to them).
pub use v0_1::luna::provision::{config, http, ipmi, log, snmp, types};
