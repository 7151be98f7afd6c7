//! Install status a node's agent reports to the host (`POST /api/v1/nodes/{name}/status`), the
//! hardware inventory of service mode (`POST /api/v1/nodes/{name}/inventory`), and the status
//! table the host serves (`GET /api/v1/nodes/status`).

use crate::dist::DownloadProgress;
use crate::plugin::Disk;
use serde::{Deserialize, Serialize};

/// The install steps, in the order the agent runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstallStep {
    Prescript,
    Setupbmc,
    Partscript,
    Download,
    Unpack,
    Setnet,
    Postscript,
    Success,
    /// Service mode: collecting and posting the hardware inventory.
    Inventory,
}

impl InstallStep {
    pub fn as_str(self) -> &'static str {
        match self {
            InstallStep::Prescript => "prescript",
            InstallStep::Setupbmc => "setupbmc",
            InstallStep::Partscript => "partscript",
            InstallStep::Download => "download",
            InstallStep::Unpack => "unpack",
            InstallStep::Setnet => "setnet",
            InstallStep::Postscript => "postscript",
            InstallStep::Success => "success",
            InstallStep::Inventory => "inventory",
        }
    }
}

impl std::fmt::Display for InstallStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Running,
    Done,
    /// Nothing to do for this node (no script, setupbmc off, diskless partitioning).
    Skipped,
    Failed,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Running => "running",
            StepState::Done => "done",
            StepState::Skipped => "skipped",
            StepState::Failed => "failed",
        }
    }
}

/// One step report, POSTed when a step starts and when it ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    pub step: InstallStep,
    pub state: StepState,
    /// Seconds since the step started (0 when it starts).
    #[serde(default)]
    pub elapsed_seconds: f64,
    /// Exit code of the step's script, when it ran one and it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The last lines of the step's output (most useful when it failed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_tail: Vec<String>,
    /// A one-line explanation: why the step failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The finished (or current) state of one step, kept in the node's step history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepSummary {
    pub step: InstallStep,
    pub state: StepState,
    pub elapsed_seconds: f64,
}

/// What the host knows about one node's install: the table row of `luna node status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    pub node: String,
    pub group: String,
    /// The last step report; `None` when the node never reported.
    #[serde(default)]
    pub current: Option<StepReport>,
    /// Every step of the current install so far, in order (one entry per step).
    #[serde(default)]
    pub steps: Vec<StepSummary>,
    /// The latest download progress, while the node downloads or unpacks its image.
    #[serde(default)]
    pub progress: Option<DownloadProgress>,
    /// Unix time (seconds) of the last report.
    #[serde(default)]
    pub updated: Option<u64>,
}

/// One network interface found by the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NicInfo {
    pub name: String,
    pub mac: String,
    /// `up`, `down`, `unknown`… as the kernel reports `operstate`.
    pub operstate: String,
    /// Whether a cable/link is detected (`carrier`).
    pub link: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_mbps: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct CpuInfo {
    pub model: String,
    /// Logical CPUs.
    pub threads: u32,
    /// Distinct physical packages.
    pub sockets: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct DmiInfo {
    #[serde(default)]
    pub vendor: Option<String>,
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub serial: Option<String>,
}

/// The hardware inventory service mode collects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Inventory {
    pub disks: Vec<Disk>,
    pub nics: Vec<NicInfo>,
    pub cpu: CpuInfo,
    pub memory_bytes: u64,
    pub dmi: DmiInfo,
    /// The BMC's LAN address as `ipmitool lan print` reports it.
    #[serde(default)]
    pub bmc_address: Option<String>,
}
