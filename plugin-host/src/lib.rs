//! Sandboxed plugin runtimes for Luna: WebAssembly components (wasmtime, `luna:provision` WIT
//! contract in `wit/`) and Rhai scripts, behind one API, [`PluginRuntime`].
//!
//! ```ignore
//! let runtime = PluginRuntime::new(RuntimeConfig::default())?;
//! let info = runtime.inspect(&bytes, "grub_post.wasm")?;      // validate on install
//! let plugin = runtime.load("grub-post", &bytes)?;            // compiled once, cached by hash
//! let script = runtime.post_install(&plugin, &node, &layout, &config).await?;
//! ```
//!
//! Every WASM call gets a fresh store with a fuel budget and a memory cap, an empty WASI (no
//! files, no sockets) and only the capabilities its world imports, scoped to its switch or BMC.

pub mod bench;
mod capability;
mod error;
mod rhai_script;
mod runtime;
mod wasm;

pub use error::{PluginError, Result};
pub use luna_proto::plugin::{
    BmcSettings, BootDevice, BootFirmware, Disk, Group, Hook, Mount, Network, NodeContext,
    NodeInterface, OsImage, PartitionPlan, PluginInfo, PluginKind, PortEntry, PowerAction,
    PowerState, SwitchContext,
};
pub use runtime::{Plugin, PluginRuntime, RuntimeConfig, default_plugin_name, sha256_hex};
pub use wasm::{CONCURRENT_CALLS, SUPPORTED_VERSIONS};
