//! Switch-port discovery in the service layer: polling switches through their discovery plugin,
//! the MAC table views, and binding an unknown MAC to the node configured on its switch port.

use super::Luna;
use crate::discovery::mac_table::{MacEntry, is_uplink};
use crate::discovery::{PollStatus, unix_now};
use crate::model::mac::normalize_mac;
use crate::model::{LunaError, Node, Result, Switch};
use crate::store::{Table, Tx};
use luna_proto::plugin::SwitchContext;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use utoipa::ToSchema;

/// A polled MAC with what it means for provisioning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MacView {
    #[serde(flatten)]
    pub entry: MacEntry,
    /// Seconds since a poll last saw it.
    pub age: u64,
    /// The node with this MAC, or the MAC-less node configured on this switch port.
    pub node: Option<String>,
    /// `bound` (a node has this MAC), `claimable` (it will bind to `node` when it boots),
    /// `uplink` (never binds) or `unassigned` (no node is configured on the port).
    pub binding: String,
}

/// `luna switch show S`: the switch, its last poll and optionally its MAC table.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SwitchDiscovery {
    pub status: PollStatus,
    pub macs: Vec<MacView>,
}

/// True when a node's configured `port` names this MAC's port, by interface name or number.
fn port_matches(port: &str, entry: &MacEntry) -> bool {
    let port = port.trim();
    entry
        .interface
        .as_deref()
        .is_some_and(|i| i.eq_ignore_ascii_case(port))
        || port.parse::<u32>().ok() == Some(entry.bridge_port)
}

impl Luna {
    /// Polls one switch through its discovery plugin and records the result. Never fails: the
    /// error lands in the switch's poll status. A poll of this switch already under way is
    /// shared, unless `after_running`: it may have read the switch before the caller asked, so
    /// wait for it and poll again.
    async fn poll_switch_as(&self, sw: &Switch, after_running: bool) -> PollStatus {
        loop {
            let fresh = self
                .discovery
                .in_flight
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(sw.name.clone());
            if fresh {
                break;
            }
            if !after_running {
                return self.switch_status(&sw.name).unwrap_or_default();
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let status = self.poll_switch_once(sw).await;
        self.discovery
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&sw.name);
        status
    }

    fn switch_status(&self, name: &str) -> Option<PollStatus> {
        self.discovery
            .status
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    async fn poll_switch_once(&self, sw: &Switch) -> PollStatus {
        let started = Instant::now();
        let binding = sw.discovery.clone();
        let plugin_name = binding
            .as_ref()
            .map(|b| b.plugin.clone())
            .unwrap_or_default();
        let outcome = match &binding {
            None => Err(format!(
                "switch {} has no discovery plugin; bind one with 'luna switch change {} --discovery bridge-mib'",
                sw.name, sw.name
            )),
            Some(b) => self.discover_switch(sw, &b.plugin, &b.config).await,
        };
        let now = unix_now();
        let settings = self.discovery.settings();
        let mut status = self.switch_status(&sw.name).unwrap_or_default();
        status.switch = sw.name.clone();
        status.plugin = plugin_name;
        status.last_poll = Some(now);
        status.duration_ms = started.elapsed().as_millis() as u64;
        status.polls += 1;
        match outcome {
            Ok(entries) => {
                let count = entries.len();
                let mut warnings = {
                    let mut table = self
                        .discovery
                        .table
                        .write()
                        .unwrap_or_else(|e| e.into_inner());
                    let w = table.record(&sw.name, entries, &sw.uplinks, now);
                    table.expire(now, settings.expiry.as_secs());
                    w
                };
                if count == 0 {
                    warnings.push(format!(
                        "switch {} answered but reported no MAC addresses: its forwarding table is empty or its rows are malformed (truncated OIDs)",
                        sw.name
                    ));
                }
                for w in &warnings {
                    tracing::warn!(switch = %sw.name, "{w}");
                }
                status.ok = true;
                status.error = None;
                status.warnings = warnings;
                status.macs = count;
                status.last_success = Some(now);
            }
            Err(e) => {
                tracing::warn!(switch = %sw.name, error = %e, "switch poll failed");
                status.ok = false;
                status.error = Some(e);
                status.warnings.clear();
                status.failures += 1;
                let mut table = self
                    .discovery
                    .table
                    .write()
                    .unwrap_or_else(|e| e.into_inner());
                table.expire(now, settings.expiry.as_secs());
            }
        }
        self.discovery
            .status
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sw.name.clone(), status.clone());
        status
    }

    async fn discover_switch(
        &self,
        sw: &Switch,
        plugin: &str,
        config: &serde_json::Value,
    ) -> std::result::Result<Vec<luna_proto::plugin::PortEntry>, String> {
        let plugin = self.plugin(plugin).await.map_err(|e| e.message)?;
        let ctx = SwitchContext {
            name: sw.name.clone(),
            address: sw.ip.to_string(),
            port: sw.snmp_port,
            community: sw.read.clone(),
        };
        let timeout = self.discovery.settings().timeout;
        let at = format!("{}:{}", sw.ip, sw.snmp_port.unwrap_or(161));
        let hint = format!(
            "check the switch's address and SNMP port and its read community ('luna switch change {} --ip/--snmp-port/--read')",
            sw.name
        );
        match tokio::time::timeout(
            timeout,
            self.plugin_runtime().discover(&plugin, &ctx, config),
        )
        .await
        {
            Err(_) => Err(format!(
                "switch {} ({at}) did not finish answering within {} s; {hint}",
                sw.name,
                timeout.as_secs()
            )),
            Ok(Err(e)) => Err(format!("switch {} ({at}): {e}; {hint}", sw.name)),
            Ok(Ok(entries)) => {
                let mut good = Vec::with_capacity(entries.len());
                for mut e in entries {
                    // A plugin is untrusted input: keep only well-formed rows.
                    if let Ok(mac) = normalize_mac(&e.mac) {
                        e.mac = mac;
                        good.push(e);
                    }
                }
                Ok(good)
            }
        }
    }

    /// Polls the given switches (all with a discovery plugin when `None`) at once, bounded by
    /// the configured concurrency.
    pub async fn poll_switches(&self, only: Option<&[String]>) -> Result<Vec<PollStatus>> {
        self.poll_switches_as(only, false).await
    }

    async fn poll_switches_as(
        &self,
        only: Option<&[String]>,
        after_running: bool,
    ) -> Result<Vec<PollStatus>> {
        let switches: Vec<Switch> = self
            .switch_list()
            .await?
            .into_iter()
            .filter(|s| s.discovery.is_some())
            .filter(|s| only.is_none_or(|names| names.contains(&s.name)))
            .collect();
        let permits = Arc::new(Semaphore::new(self.discovery.settings().concurrency.max(1)));
        let mut tasks = JoinSet::new();
        for sw in switches {
            let (luna, permits) = (self.clone(), permits.clone());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                luna.poll_switch_as(&sw, after_running).await
            });
        }
        let mut out = Vec::new();
        while let Some(r) = tasks.join_next().await {
            out.push(r.map_err(|e| LunaError::internal(format!("switch poll task failed: {e}")))?);
        }
        out.sort_by(|a, b| a.switch.cmp(&b.switch));
        Ok(out)
    }

    /// One full poll cycle that reads every switch after the caller asked, e.g. because an
    /// unknown MAC asks to boot. Callers arriving while such a cycle runs wait and poll once more
    /// together: the running cycle may have read a switch before they asked.
    pub async fn poll_switches_now(&self) -> Result<()> {
        let asked = Instant::now();
        let mut last = self.discovery.cycle.lock().await;
        if last.is_some_and(|started| started >= asked) {
            return Ok(());
        }
        let started = Instant::now();
        let r = self.poll_switches_as(None, true).await;
        *last = Some(started);
        r.map(drop)
    }

    /// The poller's forgetting of deleted switches.
    pub fn forget_switch(&self, name: &str) {
        self.discovery
            .table
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .forget_switch(name);
        self.discovery
            .status
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
    }

    /// The MAC table (of one switch, or all), with the node each MAC resolves to.
    pub async fn mac_list(&self, switch: Option<&str>) -> Result<Vec<MacView>> {
        if let Some(s) = switch {
            self.switch_show(s).await?;
        }
        let entries = self
            .discovery
            .table
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .entries(switch);
        let nodes: Vec<Node> = self.store.list(Table::Node).await?;
        let by_mac: HashMap<&str, &str> = nodes
            .iter()
            .filter_map(|n| Some((n.mac.as_deref()?, n.name.as_str())))
            .collect();
        let now = unix_now();
        Ok(entries
            .into_iter()
            .map(|entry| {
                let (node, binding) = if let Some(n) = by_mac.get(entry.mac.as_str()) {
                    (Some(n.to_string()), "bound")
                } else if entry.uplink {
                    (None, "uplink")
                } else {
                    match nodes.iter().find(|n| {
                        n.mac.is_none()
                            && n.switch.as_deref() == Some(entry.switch.as_str())
                            && n.port.as_deref().is_some_and(|p| port_matches(p, &entry))
                    }) {
                        Some(n) => (Some(n.name.clone()), "claimable"),
                        None => (None, "unassigned"),
                    }
                };
                MacView {
                    age: now.saturating_sub(entry.last_seen),
                    entry,
                    node,
                    binding: binding.into(),
                }
            })
            .collect())
    }

    /// A switch's last poll and (with `macs`) its MAC table.
    pub async fn switch_discovery(&self, name: &str, macs: bool) -> Result<SwitchDiscovery> {
        let sw = self.switch_show(name).await?;
        let status = self.switch_status(name).unwrap_or_else(|| PollStatus {
            switch: sw.name.clone(),
            plugin: sw.discovery.map(|d| d.plugin).unwrap_or_default(),
            ..Default::default()
        });
        let macs = if macs {
            self.mac_list(Some(name)).await?
        } else {
            Vec::new()
        };
        Ok(SwitchDiscovery { status, macs })
    }

    /// Binds `mac` to the node configured on the switch port it was learnt on: the port must not
    /// be an uplink, the node must match it by interface name or bridge-port number and have no
    /// MAC yet. Polls the switches first when the MAC is not in the table. Returns the node.
    pub async fn claim_by_switch_port(&self, mac: &str) -> Result<Option<String>> {
        let mac = normalize_mac(mac)?;
        if let Some(n) = self.node_by_mac(&mac).await? {
            return Err(LunaError::conflict(format!(
                "MAC {mac} already belongs to node '{}'",
                n.name
            )));
        }
        let lookup = |luna: &Luna| {
            luna.discovery
                .table
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .lookup(&mac)
        };
        let entry = match lookup(self) {
            Some(e) if !e.uplink => e,
            _ => {
                self.poll_switches_now().await?;
                match lookup(self) {
                    Some(e) => e,
                    None => return Ok(None),
                }
            }
        };
        let _w = self.writes.lock().await;
        // The uplink list may have changed since the poll.
        let sw = self.switch_show(&entry.switch).await?;
        if entry.uplink || is_uplink(&sw.uplinks, entry.bridge_port, entry.interface.as_deref()) {
            return Ok(None);
        }
        if let Some(n) = self.node_by_mac(&mac).await? {
            return Err(LunaError::conflict(format!(
                "MAC {mac} already belongs to node '{}'",
                n.name
            )));
        }
        let on_switch: Vec<Node> = self
            .store
            .list_where(Table::Node, "switch", entry.switch.as_str())
            .await?;
        let matching: Vec<Node> = on_switch
            .into_iter()
            .filter(|n| n.port.as_deref().is_some_and(|p| port_matches(p, &entry)))
            .collect();
        let mut node = match matching.as_slice() {
            [] => return Ok(None),
            [one] => one.clone(),
            [a, b, ..] => {
                return Err(LunaError::conflict(format!(
                    "nodes '{}' and '{}' are both configured on switch {} port {}; change one ('luna node change {} --port ...')",
                    a.name, b.name, entry.switch, entry.bridge_port, b.name
                )));
            }
        };
        if let Some(old) = &node.mac {
            tracing::warn!(node = %node.name, %mac, old = %old, switch = %entry.switch, port = entry.bridge_port,
                "an unknown MAC appeared on a node's port but the node already has a MAC; not rebinding");
            return Ok(None);
        }
        node.mac = Some(mac.clone());
        let mut tx = Tx::new();
        tx.replace(Table::Node, &node.name.clone(), &node);
        self.store.commit(tx).await?;
        tracing::info!(node = %node.name, %mac, switch = %entry.switch, port = entry.bridge_port, "bound MAC from switch port");
        Ok(Some(node.name))
    }
}
