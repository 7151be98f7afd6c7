//! Image distribution types shared by the host and the node agent: where a node gets its image
//! (the plan's image source) and the download progress the agent reports back.

use serde::{Deserialize, Serialize};

/// Where a node downloads its OS image from: part of the node's install plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSource {
    /// HTTP URL of the image's `.torrent` file on the host.
    pub torrent_url: String,
    /// BitTorrent v1 info-hash of the image, 40 lowercase hex digits.
    pub info_hash: String,
    /// The host seeder's `IP:PORT` addresses, used as initial peers so the download works even
    /// without the tracker.
    #[serde(default)]
    pub seed_peers: Vec<String>,
}

/// What the agent is doing with the image right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DownloadPhase {
    /// Fetching the `.torrent` file and checking any partial download already on disk.
    Starting,
    /// Pieces are being downloaded (and the node already seeds what it has).
    Downloading,
    /// Every piece was downloaded and passed its SHA-1 check.
    Verified,
    /// The image is being unpacked into the target (the node still seeds).
    Unpacking,
    /// Unpacked; the node stopped seeding.
    Done,
    /// The download or unpack failed; see `error`.
    Failed,
}

/// One progress report, POSTed as JSON by the agent to the report URL from its plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DownloadProgress {
    /// Info-hash of the image (40 hex digits).
    pub info_hash: String,
    pub phase: DownloadPhase,
    /// Bytes downloaded and verified so far.
    pub bytes_done: u64,
    /// Size of the packed image in bytes.
    pub bytes_total: u64,
    /// Bytes this node has uploaded to other nodes.
    #[serde(default)]
    pub bytes_uploaded: u64,
    /// Peers the node is connected to.
    pub peers: u32,
    /// Current download rate in bytes per second.
    pub download_rate: u64,
    /// Current upload rate in bytes per second.
    #[serde(default)]
    pub upload_rate: u64,
    /// Why the download failed, when `phase` is `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl DownloadProgress {
    /// Percentage done (0–100), for display.
    pub fn percent(&self) -> f64 {
        if self.bytes_total == 0 {
            return 0.0;
        }
        self.bytes_done as f64 * 100.0 / self.bytes_total as f64
    }
}
