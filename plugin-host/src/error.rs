//! Errors of the plugin runtime. Every call error names the plugin, the hook and the node (or
//! switch), so an operator reading `luna node show` knows whom to blame.

use luna_proto::plugin::Hook;

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The file is not a plugin we can run; `reason` says why and what to do.
    #[error("plugin file {file}: {reason}")]
    Invalid { file: String, reason: String },

    #[error("plugin {plugin} does not provide hook {hook}; it provides {provides}")]
    WrongHook {
        plugin: String,
        hook: Hook,
        provides: String,
    },

    #[error("plugin {plugin} hook {hook} for {subject} exceeded its CPU budget")]
    CpuBudget {
        plugin: String,
        hook: Hook,
        subject: String,
    },

    #[error(
        "plugin {plugin} hook {hook} for {subject} exceeded its memory limit of {limit_mib} MiB"
    )]
    MemoryLimit {
        plugin: String,
        hook: Hook,
        subject: String,
        limit_mib: u64,
    },

    #[error("plugin {plugin} hook {hook} for {subject} crashed: {message}")]
    Trap {
        plugin: String,
        hook: Hook,
        subject: String,
        message: String,
    },

    /// The plugin ran and reported an error of its own.
    #[error("plugin {plugin} hook {hook} for {subject} failed: {message}")]
    Failed {
        plugin: String,
        hook: Hook,
        subject: String,
        message: String,
    },

    /// The plugin's configuration was refused (by the plugin's `validate-config` or by parsing).
    #[error("plugin {plugin} refused its configuration: {message}")]
    Config { plugin: String, message: String },

    /// A call the plugin's contract version lacks (a 0.1 power plugin asked to identify).
    #[error(
        "plugin {plugin} ({version}) does not support {call}; rebuild it against luna-sdk {since}"
    )]
    Unsupported {
        plugin: String,
        version: &'static str,
        call: &'static str,
        since: &'static str,
    },
    #[error("plugin runtime: {0}")]
    Runtime(String),
}

pub type Result<T, E = PluginError> = std::result::Result<T, E>;
