//! The plugin registry: install (validated by the runtime), list, show, remove (refused while
//! bound), binding checks for groups and switches, and loading plugins for calls. One
//! [`PluginRuntime`] serves the whole daemon; loaded plugins are cached by name and SHA-256.

use super::Luna;
use crate::model::names::check_name;
use crate::model::{
    Group, LunaError, PluginBinding, PluginInstalled, PluginMeta, PluginRecord, PluginView, Result,
    Switch,
};
use crate::store::{Table, Tx};
use luna_plugin_host::{Hook, Plugin, PluginError, PluginRuntime, default_plugin_name};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Loaded plugins by name: the SHA-256 they were loaded from and the store generation at which
/// that was last confirmed (no store read while nothing was written since).
#[derive(Default)]
pub(super) struct LoadedPlugins(Mutex<HashMap<String, Loaded>>);

struct Loaded {
    sha256: String,
    generation: u64,
    plugin: Plugin,
}

impl LoadedPlugins {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Loaded>> {
        // A panic while holding the map leaves it consistent (plain inserts), so poison is ignored.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A plugin runtime error as a service error: every one names the plugin (and, for calls, the
/// hook and the node), so it reaches the operator as it is.
pub fn plugin_error(e: PluginError) -> LunaError {
    match e {
        PluginError::Runtime(m) => LunaError::internal(format!("plugin runtime: {m}")),
        other => LunaError::invalid(other.to_string()),
    }
}

/// Runs CPU-bound plugin work (compiling, validating) off the async executor.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::result::Result<T, PluginError> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| LunaError::internal(format!("plugin work aborted: {e}")))?
        .map_err(plugin_error)
}

/// The hook each group binding runs, with the CLI flag that sets it.
pub(super) const GROUP_BINDINGS: [(&str, Hook, &str); 4] = [
    ("partition", Hook::Partition, "--partition"),
    ("post-install", Hook::PostInstall, "--post-install"),
    ("bmc", Hook::BmcSetup, "--bmc"),
    ("power", Hook::Power, "--power"),
];

fn group_binding<'g>(g: &'g Group, field: &str) -> Option<&'g PluginBinding> {
    match field {
        "partition" => g.partition.as_ref(),
        "post-install" => g.post_install.as_ref(),
        "bmc" => g.bmc.as_ref(),
        "power" => g.power.as_ref(),
        _ => None,
    }
}

impl Luna {
    /// The daemon-wide plugin runtime (compile cache under `DATA/plugin-cache`).
    pub fn plugin_runtime(&self) -> &PluginRuntime {
        &self.plugins
    }

    /// The installed plugin `name`, loaded and ready to call. Cached by SHA-256: a reinstall
    /// under the same name is picked up on the next call.
    pub async fn plugin(&self, name: &str) -> Result<Plugin> {
        let generation = self.store.generation();
        if let Some(l) = self.loaded.lock().get(name)
            && l.generation == generation
        {
            return Ok(l.plugin.clone());
        }
        let mut vars = Map::new();
        vars.insert("n".into(), Value::String(name.into()));
        let sha: Option<String> = self
            .store
            .rows("SELECT VALUE sha256 FROM plugin WHERE name = $n", vars)
            .await?
            .into_iter()
            .next();
        let sha = sha.ok_or_else(|| not_installed(name))?;
        if let Some(l) = self.loaded.lock().get_mut(name)
            && l.sha256 == sha
        {
            l.generation = generation;
            return Ok(l.plugin.clone());
        }
        let rec: PluginRecord = self
            .store
            .get(Table::Plugin, name)
            .await?
            .ok_or_else(|| not_installed(name))?;
        let bytes = hex::decode(&rec.bytes).map_err(|e| {
            LunaError::internal(format!(
                "stored bytes of plugin '{name}' are damaged ({e}); install it again with 'luna plugin install'"
            ))
        })?;
        let (rt, n) = (self.plugins.clone(), name.to_string());
        let plugin = blocking(move || rt.load(&n, &bytes)).await?;
        self.loaded.lock().insert(
            name.to_string(),
            Loaded {
                sha256: rec.meta.sha256,
                generation,
                plugin: plugin.clone(),
            },
        );
        Ok(plugin)
    }

    pub async fn plugin_list(&self) -> Result<Vec<PluginMeta>> {
        let mut v: Vec<PluginMeta> = self
            .store
            .rows("SELECT * OMIT id, bytes FROM plugin", Map::new())
            .await?;
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    pub async fn plugin_show(&self, name: &str) -> Result<PluginView> {
        let meta = self.plugin_meta(name).await?;
        Ok(PluginView {
            meta,
            used_by: self.plugin_users(name).await?,
        })
    }

    async fn plugin_meta(&self, name: &str) -> Result<PluginMeta> {
        let mut vars = Map::new();
        vars.insert("n".into(), Value::String(name.into()));
        self.store
            .rows::<PluginMeta>("SELECT * OMIT id, bytes FROM plugin WHERE name = $n", vars)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| LunaError::not_found("plugin", name))
    }

    /// Validates `bytes` (a component exporting a known world, or a Rhai script defining a hook)
    /// and stores it as `name` (default: from the file name). An existing plugin of that name is
    /// replaced in one transaction; bindings keep pointing at the name.
    pub async fn plugin_install(
        &self,
        file_name: &str,
        name: Option<&str>,
        bytes: Vec<u8>,
    ) -> Result<PluginInstalled> {
        let file_name = file_name
            .rsplit('/')
            .next()
            .unwrap_or(file_name)
            .to_string();
        if file_name.is_empty() {
            return Err(LunaError::invalid(
                "a plugin upload needs the file name it came from (…/plugins?file=NAME.wasm)",
            ));
        }
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) => n.to_string(),
            None => default_plugin_name(&file_name),
        };
        check_name("plugin", &name)?;
        if bytes.is_empty() {
            return Err(LunaError::invalid(format!(
                "plugin file {file_name} is empty; nothing was installed"
            )));
        }
        let (rt, f, b) = (self.plugins.clone(), file_name.clone(), bytes.clone());
        let info = blocking(move || rt.inspect(&b, &f)).await.map_err(|e| {
            LunaError::invalid(format!(
                "{}; nothing was installed (fix the file and run 'luna plugin install' again)",
                e.message
            ))
        })?;
        let meta = PluginMeta {
            name: name.clone(),
            kind: info.kind,
            hooks: info.hooks,
            world: info.world,
            version: info.version,
            sha256: info.sha256,
            size: info.size,
            file_name,
            installed: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        };
        let record = PluginRecord {
            meta: meta.clone(),
            bytes: hex::encode(&bytes),
        };
        let _w = self.writes.lock().await;
        let replaced = self.exists(Table::Plugin, &name).await?;
        if replaced {
            let used = self.bindings_using(&name).await?;
            if let Some((what, hook)) = used.iter().find(|(_, h)| !meta.hooks.contains(h)) {
                return Err(LunaError::conflict(format!(
                    "plugin '{name}' is bound as {hook} by {what}, which the new file ({}) does not provide; unbind it first or install under another --name",
                    hooks_text(&meta.hooks)
                )));
            }
        }
        let mut tx = Tx::new();
        if replaced {
            tx.replace(Table::Plugin, &name, &record);
        } else {
            tx.create(Table::Plugin, &record);
        }
        self.store.commit(tx).await?;
        Ok(PluginInstalled { meta, replaced })
    }

    /// Removes a plugin no group or switch is bound to.
    pub async fn plugin_remove(&self, name: &str) -> Result<()> {
        let _w = self.writes.lock().await;
        self.plugin_meta(name).await?;
        let users = self.plugin_users(name).await?;
        if !users.is_empty() {
            return Err(LunaError::conflict(format!(
                "plugin '{name}' is still bound: {}; unbind it first (e.g. 'luna group change GROUP --partition \"\"')",
                users.join(", ")
            )));
        }
        let mut tx = Tx::new();
        tx.delete(Table::Plugin, name);
        self.store.commit(tx).await?;
        self.loaded.lock().remove(name);
        Ok(())
    }

    /// Who uses a plugin, as `group G partition` / `switch S discovery`.
    async fn plugin_users(&self, name: &str) -> Result<Vec<String>> {
        Ok(self
            .bindings_using(name)
            .await?
            .into_iter()
            .map(|(what, hook)| format!("{what} {}", binding_label(hook)))
            .collect())
    }

    /// Every (owner, hook) binding naming the plugin.
    async fn bindings_using(&self, name: &str) -> Result<Vec<(String, Hook)>> {
        let mut used = Vec::new();
        for g in self.store.list::<Group>(Table::Group).await? {
            for (field, hook, _) in GROUP_BINDINGS {
                if group_binding(&g, field).is_some_and(|b| b.plugin == name) {
                    used.push((format!("group {}", g.name), hook));
                }
            }
        }
        for s in self.store.list::<Switch>(Table::Switch).await? {
            if s.discovery.as_ref().is_some_and(|b| b.plugin == name) {
                used.push((format!("switch {}", s.name), Hook::SwitchDiscovery));
            }
        }
        used.sort();
        Ok(used)
    }

    /// A binding must name an installed plugin that provides `hook` and accepts the config.
    /// `owner` ("group compute") and `flag` only shape the error.
    pub(super) async fn check_binding(
        &self,
        owner: &str,
        flag: &str,
        hook: Hook,
        b: &PluginBinding,
    ) -> Result<()> {
        check_name("plugin", &b.plugin)?;
        if !b.config.is_object() {
            return Err(LunaError::invalid(format!(
                "{owner} {flag} {}: the plugin configuration must be a JSON object, e.g. '{{\"disk\": \"/dev/sda\"}}'",
                b.plugin
            )));
        }
        let plugin = self.plugin(&b.plugin).await?;
        if !plugin.provides(hook) {
            return Err(LunaError::invalid(format!(
                "{owner} {flag} {}: plugin '{}' provides {}, not {hook}; bind a plugin that provides {hook} (see 'luna plugin list')",
                b.plugin,
                b.plugin,
                hooks_text(&plugin.info().hooks)
            )));
        }
        self.plugins
            .validate_config(&plugin, &b.config)
            .await
            .map_err(|e| {
                LunaError::invalid(format!(
                    "{owner} {flag} {}: {e}; nothing was changed",
                    b.plugin
                ))
            })
    }

    /// Checks the group bindings `req` changes (the others were checked when they were set).
    pub(super) async fn check_group_bindings(
        &self,
        g: &Group,
        changed: &[Option<PluginBinding>; 4],
    ) -> Result<()> {
        for ((field, hook, flag), change) in GROUP_BINDINGS.iter().zip(changed) {
            if change.as_ref().is_some_and(|b| !b.plugin.is_empty())
                && let Some(b) = group_binding(g, field)
            {
                self.check_binding(&format!("group {}", g.name), flag, *hook, b)
                    .await?;
            }
        }
        Ok(())
    }
}

fn not_installed(name: &str) -> LunaError {
    LunaError {
        kind: crate::model::ErrorKind::NotFound,
        message: format!(
            "plugin '{name}' is not installed; install it with 'luna plugin install FILE --name {name}' (see 'luna plugin list')"
        ),
    }
}

pub(super) fn hooks_text(hooks: &[Hook]) -> String {
    hooks
        .iter()
        .map(|h| h.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The binding name users see for a hook (the group field or switch field it sits in).
fn binding_label(hook: Hook) -> &'static str {
    match hook {
        Hook::Partition => "partition",
        Hook::PostInstall => "post-install",
        Hook::BmcSetup => "bmc",
        Hook::Power => "power",
        Hook::SwitchDiscovery => "discovery",
    }
}
