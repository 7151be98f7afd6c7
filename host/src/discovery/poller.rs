//! The daemon's switch poller: a full cycle every interval, plus an immediate poll of a switch
//! that was added or changed (seen through the store's change counter), and forgetting of
//! deleted ones. A failing switch only fails its own status; the others keep being polled.

use crate::model::Switch;
use crate::service::Luna;
use std::collections::HashMap;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

pub fn spawn(luna: Luna) -> JoinHandle<()> {
    tokio::spawn(run(luna))
}

async fn run(luna: Luna) {
    let mut changes = luna.changes();
    let mut known: HashMap<String, Switch> = current(&luna).await.unwrap_or_default();
    let mut next = Instant::now();
    loop {
        tokio::select! {
            _ = sleep_until(next) => {
                // Not awaited: the schedule keeps its pace even when one switch is slow to
                // answer (switches still being polled are skipped by the next cycle).
                let cycle = luna.clone();
                tokio::spawn(async move {
                    if let Err(e) = cycle.poll_switches(None).await {
                        tracing::warn!(error = %e.message, "switch poll cycle failed");
                    }
                });
                next = Instant::now() + luna.discovery_settings().interval;
            }
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
                let Ok(now) = current(&luna).await else { continue };
                for gone in known.keys().filter(|n| !now.contains_key(*n)) {
                    luna.forget_switch(gone);
                }
                let touched: Vec<String> = now
                    .iter()
                    .filter(|(name, sw)| known.get(*name) != Some(*sw))
                    .map(|(name, _)| name.clone())
                    .collect();
                for name in &touched {
                    if now.get(name).is_some_and(|sw| sw.discovery.is_none()) {
                        luna.forget_switch(name);
                    }
                }
                known = now;
                if !touched.is_empty() {
                    // Renames show up as a delete plus an add: the new name is polled here.
                    if let Err(e) = luna.poll_switches(Some(&touched)).await {
                        tracing::warn!(error = %e.message, "polling changed switches failed");
                    }
                }
            }
        }
    }
}

async fn current(luna: &Luna) -> crate::model::Result<HashMap<String, Switch>> {
    Ok(luna
        .switch_list()
        .await?
        .into_iter()
        .map(|s| (s.name.clone(), s))
        .collect())
}
