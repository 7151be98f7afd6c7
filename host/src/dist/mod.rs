//! Image distribution in the daemon: pack jobs (`luna osimage pack`), the one torrent seeder
//! seeding every packed image, and the tracker nodes announce to. The `luna-dist` crate does the
//! work; this module wires it to the cluster model and the data directory.

pub mod bench;
pub mod packing;
pub mod seeding;
pub mod tracking;

use crate::model::{Cluster, LunaError, Result};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// `[dist]` in luna.toml.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistSection {
    /// The `luna-agent` binary put in every initramfs (default: next to the `luna` binary).
    pub agent_binary: Option<PathBuf>,
    /// Stripe trees each image's swarm is laid out in (default 4); 0 makes it a pull mesh
    /// (random peers, any piece from anyone, the host super-seeding).
    pub swarm_stripes: Option<usize>,
}

/// The daemon's distribution state, shared by the API, the pack jobs and the seeder loop.
pub struct Distribution {
    pub data_dir: PathBuf,
    pub tracker: luna_dist::Tracker,
    pub seeder: luna_dist::TorrentSeeder,
    pub jobs: packing::PackJobs,
    pub agent_binary: Option<PathBuf>,
    /// Wakes the seeder loop when artefacts change without a store write (a failed pack).
    pub poke: tokio::sync::Notify,
}

impl Distribution {
    pub fn images_dir(&self) -> PathBuf {
        images_dir(&self.data_dir)
    }

    pub fn boot_dir(&self, osimage: &str) -> PathBuf {
        self.data_dir.join("boot").join(osimage)
    }
}

pub fn images_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("images")
}

/// Where nodes reach this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    /// HTTP address of the API, boot files, .torrent files and tracker.
    pub http: SocketAddr,
    /// The host seeder, when the daemon runs one.
    pub seeder: Option<SocketAddr>,
}

/// What the running daemon listens on, for the install plan (one daemon per process).
static DAEMON: OnceLock<(SocketAddr, u16)> = OnceLock::new();

pub(crate) fn set_daemon_endpoints(listen: SocketAddr, seeder_port: u16) {
    let _ = DAEMON.set((listen, seeder_port));
}

/// The addresses nodes use: the cluster's frontend address (and port) when set, else the
/// daemon's listen address. `None` when neither tells nodes where to go.
pub fn reach(cluster: &Cluster) -> Option<Reach> {
    let daemon = DAEMON.get().copied();
    let http = match (cluster.frontend_address, daemon) {
        (Some(ip), _) => SocketAddr::new(ip, cluster.frontend_port),
        (None, Some((listen, _))) if !listen.ip().is_unspecified() => listen,
        _ => return None,
    };
    Some(Reach {
        http,
        seeder: daemon.map(|(_, port)| SocketAddr::new(http.ip(), port)),
    })
}

/// Like [`reach`], as an error naming the fix.
pub fn require_reach(cluster: &Cluster) -> Result<Reach> {
    reach(cluster).ok_or_else(|| {
        LunaError::invalid(
            "nodes cannot be told where this host is: the daemon listens on every address and the cluster has no frontend address; set one with 'luna cluster change --frontend-address IP'",
        )
    })
}

/// Starts the seeder and the tracker for the daemon and the loop keeping them in step with the
/// store (see [`seeding`]).
pub async fn start(
    luna: &crate::service::Luna,
    data_dir: &Path,
    listen: SocketAddr,
    cfg: &DistSection,
) -> anyhow::Result<Arc<Distribution>> {
    let cluster = luna.cluster().await.unwrap_or_default();
    let seeder = seeding::start_seeder(data_dir, listen.ip(), &cluster).await?;
    set_daemon_endpoints(listen, seeder.listen_addr().port());
    let stripes = cfg
        .swarm_stripes
        .unwrap_or(luna_dist::tracker::DEFAULT_STRIPES);
    let tracker = luna_dist::Tracker::new(tracking::settings_of(&cluster));
    tracker.set_stripes(stripes);
    seeder.set_offers(luna_dist::HostOffers::for_stripes(stripes));
    let dist = Arc::new(Distribution {
        data_dir: data_dir.to_path_buf(),
        tracker,
        seeder,
        jobs: packing::PackJobs::default(),
        agent_binary: cfg.agent_binary.clone(),
        poke: tokio::sync::Notify::new(),
    });
    seeding::spawn_sync_loop(dist.clone(), luna.clone());
    Ok(dist)
}
