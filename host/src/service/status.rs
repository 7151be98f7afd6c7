//! Node install status and hardware inventory, as the nodes' agents report them. Step reports
//! and inventories are stored (they survive a daemon restart); download progress arrives every
//! second per node and is only kept in memory, latest report per node.

use super::Luna;
use crate::model::{ErrorKind, LunaError, Result};
use crate::store::{Table, Tx};
use luna_proto::dist::DownloadProgress;
use luna_proto::status::{InstallStep, Inventory, NodeStatus, StepReport, StepState, StepSummary};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// The latest download progress per node, and the lock that orders a node's step reports
/// (each is a read-modify-write of the node's step history).
#[derive(Default)]
pub struct StatusBoard {
    progress: std::sync::Mutex<HashMap<String, DownloadProgress>>,
    writes: tokio::sync::Mutex<()>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StatusRecord {
    name: String,
    #[serde(default)]
    current: Option<StepReport>,
    #[serde(default)]
    steps: Vec<StepSummary>,
    updated: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct InventoryRecord {
    name: String,
    inventory: Inventory,
    updated: u64,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A report that starts a new install (or service boot) clears the previous one's history.
fn starts_over(r: &StepReport) -> bool {
    r.state == StepState::Running
        && matches!(r.step, InstallStep::Prescript | InstallStep::Inventory)
}

impl Luna {
    async fn require_node(&self, name: &str) -> Result<()> {
        if self.exists(Table::Node, name).await? {
            Ok(())
        } else {
            Err(LunaError::not_found("node", name))
        }
    }

    /// Records one step report of a node's agent.
    pub async fn node_report_step(&self, name: &str, report: StepReport) -> Result<NodeStatus> {
        self.require_node(name).await?;
        let _w = self.status.writes.lock().await;
        let mut rec: StatusRecord =
            self.store
                .get(Table::NodeStatus, name)
                .await?
                .unwrap_or(StatusRecord {
                    name: name.to_string(),
                    current: None,
                    steps: Vec::new(),
                    updated: 0,
                });
        if starts_over(&report) {
            rec.steps.clear();
            self.progress_board().remove(name);
        }
        let summary = StepSummary {
            step: report.step,
            state: report.state,
            elapsed_seconds: report.elapsed_seconds,
        };
        match rec.steps.iter_mut().find(|s| s.step == report.step) {
            Some(s) => *s = summary,
            None => rec.steps.push(summary),
        }
        rec.current = Some(report);
        rec.updated = now();
        let mut tx = Tx::new();
        tx.delete(Table::NodeStatus, name);
        tx.create(Table::NodeStatus, &rec);
        self.store.commit_quiet(tx).await?;
        Ok(self.status_of(name, "", Some(rec)))
    }

    /// Keeps a node's latest download progress.
    pub async fn node_report_progress(&self, name: &str, p: DownloadProgress) -> Result<()> {
        self.require_node(name).await?;
        self.progress_board().insert(name.to_string(), p);
        Ok(())
    }

    /// Install status of every node, or of the nodes a name or hostlist names.
    pub async fn node_status(&self, expr: Option<&str>) -> Result<Vec<NodeStatus>> {
        let nodes = match expr {
            Some(e) => self.node_show_many(e).await?,
            None => self.node_list(None).await?,
        };
        let mut records: HashMap<String, StatusRecord> = self
            .store
            .list::<StatusRecord>(Table::NodeStatus)
            .await?
            .into_iter()
            .map(|r| (r.name.clone(), r))
            .collect();
        Ok(nodes
            .into_iter()
            .map(|v| {
                let rec = records.remove(&v.node.name);
                self.status_of(&v.node.name, &v.node.group, rec)
            })
            .collect())
    }

    fn status_of(&self, name: &str, group: &str, rec: Option<StatusRecord>) -> NodeStatus {
        let progress = self.progress_board().get(name).cloned();
        let (current, steps, updated) = match rec {
            Some(r) => (r.current, r.steps, Some(r.updated)),
            None => (None, Vec::new(), None),
        };
        NodeStatus {
            node: name.to_string(),
            group: group.to_string(),
            current,
            steps,
            progress,
            updated,
        }
    }

    fn progress_board(&self) -> std::sync::MutexGuard<'_, HashMap<String, DownloadProgress>> {
        // A panic while holding the lock cannot leave the map half-updated: keep using it.
        self.status
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Stores the hardware inventory a node collected in service mode.
    pub async fn node_inventory_set(&self, name: &str, inventory: Inventory) -> Result<()> {
        self.require_node(name).await?;
        let rec = InventoryRecord {
            name: name.to_string(),
            inventory,
            updated: now(),
        };
        let mut tx = Tx::new();
        tx.delete(Table::NodeInventory, name);
        tx.create(Table::NodeInventory, &rec);
        self.store.commit_quiet(tx).await
    }

    pub async fn node_inventory(&self, name: &str) -> Result<Inventory> {
        self.require_node(name).await?;
        self.store
            .get::<InventoryRecord>(Table::NodeInventory, name)
            .await?
            .map(|r| r.inventory)
            .ok_or_else(|| {
                LunaError {
                    kind: ErrorKind::NotFound,
                    message: format!(
                        "node '{name}' has no inventory yet; boot it in service mode ('luna node change {name} --service y', then power-cycle it)"
                    ),
                }
            })
    }
}
