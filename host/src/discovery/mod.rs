//! Switch-port discovery: the daemon polls every switch that has a discovery plugin bound, keeps
//! the MAC table it learns (see [`mac_table`]) and each switch's last poll result. The boot
//! resolver uses it to bind unknown MACs to the node configured on that switch port.

pub mod mac_table;
pub mod poller;

use mac_table::MacTable;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::RwLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use utoipa::ToSchema;

/// Poller timings; `[discovery]` in luna.toml.
#[derive(Debug, Clone, Copy)]
pub struct DiscoverySettings {
    /// Time between two polls of every switch.
    pub interval: Duration,
    /// A MAC not seen again for this long is forgotten.
    pub expiry: Duration,
    /// Longest a single switch poll may take.
    pub timeout: Duration,
    /// Switches polled at once.
    pub concurrency: usize,
}

impl Default for DiscoverySettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(30),
            expiry: Duration::from_secs(300),
            timeout: Duration::from_secs(60),
            concurrency: 16,
        }
    }
}

/// The outcome of a switch's last poll, shown by `luna switch show`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PollStatus {
    pub switch: String,
    pub plugin: String,
    /// Unix time (seconds) the last poll finished; `None` before the first one.
    pub last_poll: Option<u64>,
    /// Unix time of the last poll that succeeded.
    pub last_success: Option<u64>,
    pub ok: bool,
    pub error: Option<String>,
    pub warnings: Vec<String>,
    /// MAC addresses the last successful poll reported.
    pub macs: usize,
    pub duration_ms: u64,
    pub polls: u64,
    pub failures: u64,
}

/// Shared state of the poller, held by [`crate::service::Luna`].
#[derive(Debug, Default)]
pub struct DiscoveryState {
    pub table: RwLock<MacTable>,
    pub status: RwLock<BTreeMap<String, PollStatus>>,
    pub settings: RwLock<DiscoverySettings>,
    /// Serialises full poll cycles; holds when the last one finished so a burst of unknown
    /// MACs asking to boot costs one poll, not one each.
    pub cycle: tokio::sync::Mutex<Option<Instant>>,
    /// Switches being polled right now: a slow or dead switch is never polled twice at once, so
    /// it cannot pile up work or hold up the schedule of the others.
    pub in_flight: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl DiscoveryState {
    pub fn settings(&self) -> DiscoverySettings {
        *self.settings.read().unwrap_or_else(|e| e.into_inner())
    }
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
