//! `luna plugin test NAME --node NODE [--hook H]`: runs one hook of an installed plugin for one
//! node and returns what it produced, without changing anything.

use super::Luna;
use super::plugin::{hooks_text, plugin_error};
use crate::model::{LunaError, PluginTestOutput, Result};
use luna_plugin_host::{Hook, PartitionPlan, PowerAction};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginTest {
    pub node: String,
    /// partition, post-install, bmc-setup or power (status only); needed when the plugin
    /// provides several hooks.
    pub hook: Option<String>,
    /// Configuration to run with; default: the node's group binding of this plugin, else `{}`.
    #[schema(value_type = Option<Object>)]
    pub config: Option<Value>,
}

impl Luna {
    pub async fn plugin_test(&self, name: &str, req: PluginTest) -> Result<PluginTestOutput> {
        let plugin = self.plugin(name).await?;
        let hooks = &plugin.info().hooks;
        let hook = match &req.hook {
            Some(h) => {
                let h: Hook = h.parse().map_err(LunaError::invalid)?;
                if !plugin.provides(h) {
                    return Err(LunaError::invalid(format!(
                        "plugin '{name}' does not provide hook {h}; it provides {}",
                        hooks_text(hooks)
                    )));
                }
                h
            }
            None => match hooks.as_slice() {
                [h] => *h,
                _ => {
                    return Err(LunaError::invalid(format!(
                        "plugin '{name}' provides {}; choose one with --hook",
                        hooks_text(hooks)
                    )));
                }
            },
        };
        if hook == Hook::SwitchDiscovery {
            return Err(LunaError::invalid(format!(
                "plugin '{name}' is a switch-discovery plugin and runs against a switch, not a node; bind it with 'luna switch change SWITCH --discovery {name}'"
            )));
        }
        let (ctx, group) = self.node_context(&req.node).await?;
        let bound = |b: &Option<crate::model::PluginBinding>| {
            b.as_ref()
                .filter(|b| b.plugin == name)
                .map(|b| b.config.clone())
        };
        let group_config = match hook {
            Hook::Partition => bound(&group.partition),
            Hook::PostInstall => bound(&group.post_install),
            Hook::BmcSetup => bound(&group.bmc),
            _ => bound(&group.power),
        };
        let config = req
            .config
            .or(group_config)
            .unwrap_or_else(|| Value::Object(Default::default()));
        let rt = self.plugin_runtime();
        let output = match hook {
            Hook::Partition => serde_json::to_value(
                rt.partition(&plugin, &ctx, &config)
                    .await
                    .map_err(plugin_error)?,
            )?,
            Hook::PostInstall => {
                // The layout the node would get: its group's partitioner, else this plugin's own
                // partition hook (a Rhai script may define both), else the group's partscript.
                let layout = match (&group.partition, plugin.provides(Hook::Partition)) {
                    (Some(b), _) => self.run_partition(b, &ctx).await?,
                    (None, true) => rt
                        .partition(&plugin, &ctx, &config)
                        .await
                        .map_err(plugin_error)?,
                    (None, false) => PartitionPlan {
                        script: group.partscript.clone(),
                        ..Default::default()
                    },
                };
                Value::String(
                    rt.post_install(&plugin, &ctx, &layout, &config)
                        .await
                        .map_err(plugin_error)?,
                )
            }
            Hook::BmcSetup => Value::String(
                rt.bmc_setup(&plugin, &ctx, &config)
                    .await
                    .map_err(plugin_error)?,
            ),
            _ => serde_json::to_value(
                rt.power(&plugin, &ctx, PowerAction::Status, &config)
                    .await
                    .map_err(plugin_error)?,
            )?,
        };
        Ok(PluginTestOutput {
            plugin: name.to_string(),
            hook,
            node: ctx.name,
            config,
            output,
        })
    }
}
