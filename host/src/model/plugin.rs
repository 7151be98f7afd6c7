//! Installed plugins: the registry row (metadata plus the plugin bytes) and how it is shown.

use luna_plugin_host::{Hook, PluginKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What the registry knows about an installed plugin, without its bytes (lists and shows).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct PluginMeta {
    pub name: String,
    /// `wasm` or `rhai`.
    #[schema(value_type = String)]
    pub kind: PluginKind,
    /// Hooks it provides: partition, post-install, bmc-setup, switch-discovery, power.
    #[schema(value_type = Vec<String>)]
    pub hooks: Vec<Hook>,
    /// The WIT world a WASM component exports (e.g. `partitioner`).
    pub world: Option<String>,
    /// `luna:provision` contract version it was built against.
    pub version: String,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    pub size: u64,
    /// The file it was installed from.
    pub file_name: String,
    /// RFC 3339, UTC.
    pub installed: String,
}

/// The stored row: metadata and the plugin itself, hex-encoded (JSON carries no raw bytes).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PluginRecord {
    #[serde(flatten)]
    pub meta: PluginMeta,
    pub bytes: String,
}

/// A plugin as `luna plugin show` prints it: metadata and who it is bound to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct PluginView {
    #[serde(flatten)]
    pub meta: PluginMeta,
    /// Bindings using it, e.g. `group compute partition`, `switch sw01 discovery`.
    pub used_by: Vec<String>,
}

/// Answer of an install: the plugin and whether an older plugin of that name was replaced.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct PluginInstalled {
    #[serde(flatten)]
    pub meta: PluginMeta,
    pub replaced: bool,
}

/// Output of `luna plugin test`: what one hook returned for one node.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct PluginTestOutput {
    pub plugin: String,
    #[schema(value_type = String)]
    pub hook: Hook,
    pub node: String,
    /// The configuration the hook ran with (the group's binding unless one was given).
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    /// A partition plan (`script`, `mounts`, `boot_devices`), a script, or a power state.
    #[schema(value_type = Object)]
    pub output: serde_json::Value,
}
