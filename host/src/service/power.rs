//! Power control of nodes through their group's power plugin (ipmi-power, redfish-power), many
//! nodes at once with a bounded concurrency. The BMC is the node's `BMC` interface address; the
//! credentials come from the group's bmcsetup and never leave this module (errors are scrubbed).

use super::Luna;
use crate::model::hostlist;
use crate::model::names::natural_cmp;
use crate::model::{Group, LunaError, NodeView, Result};
use luna_proto::plugin::{BmcSettings, BootDevice, NodeContext, PowerAction};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use utoipa::ToSchema;

/// Nodes powered at once unless the request says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 64;
const MAX_CONCURRENCY: usize = 1024;
/// Longest one node's power call may take (the plugin's own BMC requests time out sooner).
const NODE_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PowerVerb {
    Status,
    On,
    Off,
    Reset,
    Cycle,
    /// The chassis identify light (on, or off with `off`); power plugins built against 0.2.
    Identify,
    /// Only set the next boot to the network (as `pxe` does with another action).
    Pxe,
}

impl PowerVerb {
    /// The power action proper, for the verbs that change or read the power.
    fn action(self) -> Option<PowerAction> {
        match self {
            PowerVerb::Status => Some(PowerAction::Status),
            PowerVerb::On => Some(PowerAction::On),
            PowerVerb::Off => Some(PowerAction::Off),
            PowerVerb::Reset => Some(PowerAction::Reset),
            PowerVerb::Cycle => Some(PowerAction::Cycle),
            PowerVerb::Identify | PowerVerb::Pxe => None,
        }
    }
}

/// What each node gets: the verb plus its modifiers, checked once for the whole request.
#[derive(Debug, Clone, Copy)]
struct PowerOp {
    verb: PowerVerb,
    identify_off: bool,
    /// Set the next boot to the network first (before the verb's own action, if any).
    pxe: bool,
}

impl PowerOp {
    fn of(req: &PowerRequest) -> Result<PowerOp> {
        if req.off && req.action != PowerVerb::Identify {
            return Err(LunaError::invalid(
                "power: 'off' goes with identify ('luna node power identify NODES --off'); to switch nodes off use 'luna node power off NODES'".to_string(),
            ));
        }
        if req.pxe && matches!(req.action, PowerVerb::Status | PowerVerb::Identify) {
            return Err(LunaError::invalid(format!(
                "power: --pxe sets the next boot and cannot go with {}; use it alone ('luna node power NODES --pxe') or with on, off, reset or cycle",
                serde_json::to_value(req.action)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            )));
        }
        Ok(PowerOp {
            verb: req.action,
            identify_off: req.off,
            pxe: req.pxe || req.action == PowerVerb::Pxe,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PowerRequest {
    pub action: PowerVerb,
    /// A node name or hostlist (`node[001-064]`).
    #[serde(default)]
    pub nodes: Option<String>,
    /// Every node of this group (or, with `nodes`, only those in it).
    #[serde(default)]
    pub group: Option<String>,
    /// Nodes handled at once (default 64).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// With `identify`: switch the light off instead of on.
    #[serde(default)]
    pub off: bool,
    /// Set the next boot to the network before the action (alone: action `pxe`).
    #[serde(default)]
    pub pxe: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PowerResult {
    pub node: String,
    pub ok: bool,
    /// `on` or `off` after a power action, `identify on|off` after identify, and
    /// `next boot: network` after pxe (appended in parentheses when combined with an action).
    pub state: Option<String>,
    pub error: Option<String>,
    pub plugin: Option<String>,
    /// The BMC address used.
    pub bmc: Option<String>,
    pub ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PowerReport {
    pub action: PowerVerb,
    pub results: Vec<PowerResult>,
    pub failed: usize,
    pub elapsed_ms: u64,
}

/// What one node's call needs, prepared before the parallel part.
struct Job {
    node: String,
    plugin: String,
    config: serde_json::Value,
    context: NodeContext,
    password: String,
}

impl Luna {
    pub async fn node_power(&self, req: PowerRequest) -> Result<PowerReport> {
        let started = Instant::now();
        let op = PowerOp::of(&req)?;
        let nodes = self.power_targets(&req).await?;
        let concurrency = req
            .concurrency
            .unwrap_or(DEFAULT_CONCURRENCY)
            .clamp(1, MAX_CONCURRENCY);
        let mut groups: HashMap<String, Group> = HashMap::new();
        let mut results = Vec::new();
        let mut jobs = Vec::new();
        for view in nodes {
            let name = view.node.name.clone();
            match self.power_job(view, &mut groups).await {
                Ok(job) => jobs.push(job),
                Err(e) => results.push(PowerResult {
                    node: name,
                    ok: false,
                    state: None,
                    error: Some(e.message),
                    plugin: None,
                    bmc: None,
                    ms: 0,
                }),
            }
        }
        let permits = Arc::new(Semaphore::new(concurrency));
        let mut tasks = JoinSet::new();
        for job in jobs {
            let (luna, permits) = (self.clone(), permits.clone());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                luna.power_one(job, op).await
            });
        }
        while let Some(r) = tasks.join_next().await {
            results.push(r.map_err(|e| LunaError::internal(format!("power task failed: {e}")))?);
        }
        results.sort_by(|a, b| natural_cmp(&a.node, &b.node));
        let failed = results.iter().filter(|r| !r.ok).count();
        tracing::info!(action = ?req.action, nodes = results.len(), failed, "power request done");
        Ok(PowerReport {
            action: req.action,
            failed,
            results,
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }

    async fn power_targets(&self, req: &PowerRequest) -> Result<Vec<NodeView>> {
        let all = self.node_list(req.group.as_deref()).await?;
        let Some(expr) = req.nodes.as_deref().filter(|e| !e.trim().is_empty()) else {
            if req.group.is_none() {
                return Err(LunaError::invalid(
                    "power: name the nodes (a hostlist such as node[001-064]) or a group (-g GROUP)"
                        .to_string(),
                ));
            }
            return Ok(all);
        };
        let mut by_name: HashMap<String, NodeView> =
            all.into_iter().map(|v| (v.node.name.clone(), v)).collect();
        let mut out = Vec::new();
        for name in hostlist::expand(expr)? {
            match by_name.remove(&name) {
                Some(v) => out.push(v),
                None if req.group.is_some() => {}
                None => return Err(LunaError::not_found("node", &name)),
            }
        }
        if out.is_empty() {
            return Err(LunaError::invalid(format!(
                "power: none of {expr} is in group '{}'",
                req.group.as_deref().unwrap_or_default()
            )));
        }
        Ok(out)
    }

    async fn power_job(&self, view: NodeView, groups: &mut HashMap<String, Group>) -> Result<Job> {
        let node = view.node;
        if !groups.contains_key(&node.group) {
            groups.insert(node.group.clone(), self.group_show(&node.group).await?);
        }
        let group = &groups[&node.group];
        let binding = group.power.clone().ok_or_else(|| {
            LunaError::invalid(format!(
                "group '{}' has no power plugin; bind one with 'luna group change {} --power ipmi-power' (or redfish-power)",
                group.name, group.name
            ))
        })?;
        let address = view
            .addresses
            .iter()
            .find(|a| a.interface == "BMC")
            .map(|a| a.ip.to_string())
            .ok_or_else(|| {
                LunaError::invalid(format!(
                    "node '{}' has no BMC address; give its group a BMC interface ('luna group change {} --bmcnetwork NET') or the node one",
                    node.name, group.name
                ))
            })?;
        let setup_name = group.bmcsetup.clone().ok_or_else(|| {
            LunaError::invalid(format!(
                "group '{}' has no bmcsetup, so there are no BMC credentials; set one with 'luna group change {} --bmcsetup NAME'",
                group.name, group.name
            ))
        })?;
        let setup = self.bmcsetup_secret(&setup_name).await?;
        let context = NodeContext {
            name: node.name.clone(),
            hostname: node.name.clone(),
            group: luna_proto::plugin::Group {
                name: group.name.clone(),
                domain: group.domain.clone(),
            },
            osimage: luna_proto::plugin::OsImage {
                name: group.osimage.clone(),
                ..Default::default()
            },
            bmc: Some(BmcSettings {
                address: Some(address),
                port: setup.port,
                user_id: setup.userid,
                user: setup.user,
                password: setup.password.clone(),
                net_channel: setup.netchannel,
                mgmt_channel: setup.mgmtchannel,
                ..Default::default()
            }),
            ..Default::default()
        };
        Ok(Job {
            node: node.name,
            plugin: binding.plugin,
            config: binding.config,
            context,
            password: setup.password,
        })
    }

    async fn power_one(&self, job: Job, op: PowerOp) -> PowerResult {
        let started = Instant::now();
        let bmc = job
            .context
            .bmc
            .as_ref()
            .and_then(|b| b.address.clone())
            .map(|a| match job.context.bmc.as_ref().and_then(|b| b.port) {
                Some(p) => format!("{a}:{p}"),
                None => a,
            });
        let outcome = async {
            let plugin = self.plugin(&job.plugin).await.map_err(|e| e.message)?;
            match tokio::time::timeout(NODE_TIMEOUT, self.power_call(&plugin, &job, op)).await {
                Err(_) => Err(format!(
                    "the BMC did not answer within {} s",
                    NODE_TIMEOUT.as_secs()
                )),
                Ok(r) => r.map_err(|e| e.to_string()),
            }
        }
        .await;
        let (ok, state, error) = match outcome {
            Ok(state) => (true, Some(state), None),
            Err(e) => (false, None, Some(scrub(&e, &job.password))),
        };
        PowerResult {
            node: job.node,
            ok,
            state,
            error,
            plugin: Some(job.plugin),
            bmc,
            ms: started.elapsed().as_millis() as u64,
        }
    }

    /// One node's plugin calls for `op`; returns the text of the state column. The next boot is
    /// set first, so a failed override never power-cycles a node into the wrong boot.
    async fn power_call(
        &self,
        plugin: &luna_plugin_host::Plugin,
        job: &Job,
        op: PowerOp,
    ) -> std::result::Result<String, luna_plugin_host::PluginError> {
        let rt = self.plugin_runtime();
        let (ctx, config) = (&job.context, &job.config);
        if op.pxe {
            rt.set_next_boot(plugin, ctx, BootDevice::Network, config)
                .await?;
        }
        const PXE: &str = "next boot: network";
        let Some(action) = op.verb.action() else {
            return Ok(match op.verb {
                PowerVerb::Identify => {
                    rt.identify(plugin, ctx, !op.identify_off, config).await?;
                    format!("identify {}", if op.identify_off { "off" } else { "on" })
                }
                _ => PXE.to_string(),
            });
        };
        let state = match rt.power(plugin, ctx, action, config).await? {
            luna_proto::plugin::PowerState::On => "on",
            luna_proto::plugin::PowerState::Off => "off",
        };
        Ok(if op.pxe {
            format!("{state} ({PXE})")
        } else {
            state.to_string()
        })
    }
}

/// Removes a password from a text meant for people (a BMC or tool might echo it back).
fn scrub(text: &str, password: &str) -> String {
    if password.len() < 3 {
        return text.to_string();
    }
    text.replace(password, "********")
}

#[cfg(test)]
mod tests {
    use super::scrub;

    #[test]
    fn passwords_never_reach_error_texts() {
        assert_eq!(
            scrub("ipmitool -P s3cret failed", "s3cret"),
            "ipmitool -P ******** failed"
        );
    }
}
