//! # luna-sdk: write Luna provisioning plugins in Rust
//!
//! A plugin is a WebAssembly component for one hook of the `luna:provision@0.2.0` contract.
//! Implement the hook's trait for a unit struct and export it with [`export_plugin!`]:
//!
//! ```ignore
//! use luna_sdk::{Mount, Node, PartitionPlan, Partitioner};
//!
//! struct WholeDisk;
//!
//! impl Partitioner for WholeDisk {
//!     fn partition(node: Node) -> Result<PartitionPlan, String> {
//!         let disk = node.disks.first().map(|d| d.device.clone()).unwrap_or("/dev/sda".into());
//!         luna_sdk::log::info(&format!("partitioning {disk} of {}", node.name));
//!         Ok(PartitionPlan {
//!             script: format!(
//!                 "echo ',,L' | sfdisk {disk}\nmkfs.ext4 -F -L root {disk}1\nmount {disk}1 /sysroot\n"
//!             ),
//!             mounts: vec![Mount {
//!                 source: "LABEL=root".into(),
//!                 target: "/".into(),
//!                 fstype: "ext4".into(),
//!                 options: "defaults".into(),
//!             }],
//!             boot_devices: vec![disk],
//!         })
//!     }
//! }
//!
//! luna_sdk::export_plugin!(WholeDisk: Partitioner);
//! ```
//!
//! The crate is a `cdylib` built with `cargo build --release --target wasm32-wasip2`; the
//! resulting `.wasm` is already a component, ready for `luna plugin install`.
//!
//! Hooks and their traits: [`Partitioner`] (world `partitioner`), [`PostInstall`]
//! (`post-install`), [`BmcSetup`] (`bmc`), [`SwitchDiscovery`] (`switch-discovery`, may use
//! [`snmp`]), [`Power`] (`power`, may use [`ipmi`] and [`http`]). Configuration bound with the
//! plugin is read with [`config`]. One plugin crate exports one hook.

#![allow(unsafe_code)] // the generated canonical-ABI glue is unsafe by nature

#[doc(hidden)]
pub mod bindings;
mod hooks;

pub use hooks::{BmcSetup, Partitioner, PostInstall, Power, SwitchDiscovery};

pub use bindings::partitioner::luna::provision::types::{
    BmcSettings, BootFirmware, Disk, Group, Mount, Network, Node, NodeInterface, Osimage,
    PartitionPlan, PortEntry, PowerAction, PowerState, SwitchInfo,
};

/// Where a node boots next ([`Power::set_next_boot`]).
pub use bindings::power::exports::luna::provision::power_hook::BootDevice;

/// SNMP v2c towards the switch being discovered (world `switch-discovery` only). Pass
/// `switch.address` as `target`: the host refuses any other address.
pub mod snmp {
    pub use crate::bindings::switch_discovery::luna::provision::snmp::{
        Value, Varbind, bulk_walk, get, walk,
    };
}

/// ipmitool (lanplus) towards the node's BMC (world `power` only); the host adds credentials.
pub mod ipmi {
    pub use crate::bindings::power::luna::provision::ipmi::run;
}

/// HTTP(S) towards the node's BMC (world `power` only); the host adds basic auth.
pub mod http {
    pub use crate::bindings::power::luna::provision::http::{Request, Response, send};
}

/// Log lines, shown in the host's log tagged with the plugin and the node.
pub mod log {
    use crate::bindings::partitioner::luna::provision::log::{Level, log};

    pub fn debug(message: &str) {
        log(Level::Debug, message);
    }
    pub fn info(message: &str) {
        log(Level::Info, message);
    }
    pub fn warn(message: &str) {
        log(Level::Warn, message);
    }
    pub fn error(message: &str) {
        log(Level::Error, message);
    }
}

/// The raw JSON configuration bound with the plugin ("{}" when none was given).
pub fn config_json() -> String {
    bindings::partitioner::luna::provision::config::get()
}

/// The configuration bound with the plugin, parsed into the plugin's own type. An empty
/// configuration parses as `{}`, so a `#[serde(default)]` struct gets its defaults.
pub fn config<T: serde::de::DeserializeOwned>() -> Result<T, String> {
    parse_config(&config_json())
}

/// Parse a JSON configuration the way [`config`] does (usable in native unit tests).
pub fn parse_config<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, String> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    serde_json::from_str(json).map_err(|e| format!("invalid plugin configuration: {e}"))
}

/// Export a type as the plugin's hook: `luna_sdk::export_plugin!(MyPlugin: Partitioner);`.
/// The second word is the hook trait: `Partitioner`, `PostInstall`, `BmcSetup`,
/// `SwitchDiscovery` or `Power`.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ident : Partitioner) => {
        // Only wasm32 gets the component exports: their names (with ":" and "@") cannot go
        // into a native linker version script, and native builds are for unit tests.
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::partitioner::__export_partitioner_world!($plugin);
    };
    ($plugin:ident : PostInstall) => {
        // Only wasm32 gets the component exports: their names (with ":" and "@") cannot go
        // into a native linker version script, and native builds are for unit tests.
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::post_install::__export_post_install_world!($plugin);
    };
    ($plugin:ident : BmcSetup) => {
        // Only wasm32 gets the component exports: their names (with ":" and "@") cannot go
        // into a native linker version script, and native builds are for unit tests.
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::bmc::__export_bmc_world!($plugin);
    };
    ($plugin:ident : SwitchDiscovery) => {
        // Only wasm32 gets the component exports: their names (with ":" and "@") cannot go
        // into a native linker version script, and native builds are for unit tests.
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::switch_discovery::__export_switch_discovery_world!($plugin);
    };
    ($plugin:ident : Power) => {
        // Only wasm32 gets the component exports: their names (with ":" and "@") cannot go
        // into a native linker version script, and native builds are for unit tests.
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::power::__export_power_world!($plugin);
    };
}
