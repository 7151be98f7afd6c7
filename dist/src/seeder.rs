//! `TorrentSeeder`: the host's one librqbit session seeding every packed image. Session state
//! is persisted with fastresume, so a daemon restart does not re-hash unchanged images (only a
//! few pieces are spot-checked). New packs are picked up by `add`/`sync_dir` without a restart.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use librqbit::{
    AddTorrent, AddTorrentOptions, ListenerMode, ListenerOptions, ManagedTorrent, Session,
    SessionOptions, SessionPersistenceConfig, TorrentStatsState,
};

use crate::info_hash::InfoHash;
use crate::super_seed::SuperSeeder;

/// Where the seeder keeps its state and where it listens for peers.
#[derive(Debug, Clone)]
pub struct SeederOptions {
    /// Session state (fastresume bitfields, the list of seeded torrents).
    pub state_dir: PathBuf,
    /// TCP address peers connect to, e.g. `0.0.0.0:7051`.
    pub listen: SocketAddr,
    /// Most peers served at once per image.
    pub peer_limit: usize,
    /// Upload cap in bytes per second for the whole session (`None`: the link is the limit).
    pub upload_limit: Option<std::num::NonZeroU32>,
    /// Serve nodes through the super-seeding uploader (`super_seed`), which offers each node
    /// the pieces the swarm holds least; `false` lets librqbit serve every piece to everyone.
    pub super_seed: bool,
    /// What the super-seeding uploader offers each node: see [`HostOffers`].
    pub offers: HostOffers,
}

/// What the host's uploader offers the nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostOffers {
    /// Every piece to every node, for striped swarms: there each node asks the host only for
    /// the stripes it is the root of (or for a stripe whose parent is gone), so the host's
    /// link still carries about one copy.
    #[default]
    Everything,
    /// A few of the rarest pieces to a few nodes at a time (super-seeding), for a mesh where
    /// every node would otherwise ask the host for the same pieces.
    Rarest,
}

impl HostOffers {
    /// What the host offers a swarm of `stripes` stripe trees (0: a mesh). The tracker's
    /// layout and the host's offers must agree, so both follow the one setting.
    pub fn for_stripes(stripes: usize) -> Self {
        match stripes {
            0 => HostOffers::Rarest,
            _ => HostOffers::Everything,
        }
    }
}

impl SeederOptions {
    pub fn new(state_dir: &Path, listen: SocketAddr) -> Self {
        SeederOptions {
            state_dir: state_dir.to_path_buf(),
            listen,
            peer_limit: 500,
            upload_limit: None,
            super_seed: true,
            offers: HostOffers::default(),
        }
    }
}

/// State of one seeded image.
#[derive(Debug, Clone, PartialEq)]
pub enum SeedState {
    /// Checking the data on disk against the piece hashes.
    Checking,
    Seeding,
    Paused,
    /// The data is missing or unreadable.
    Error(String),
}

/// One seeded image with its statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct SeededImage {
    pub info_hash: InfoHash,
    pub name: Option<String>,
    pub state: SeedState,
    pub total_bytes: u64,
    /// Bytes present and verified on disk (equals `total_bytes` once seeding a full image).
    pub have_bytes: u64,
    pub uploaded_bytes: u64,
    /// Peers connected now.
    pub peers: u32,
    /// Upload rate in bytes per second.
    pub upload_rate: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SeederError {
    #[error("starting the torrent session (state in {state_dir}, listening on {listen}): {reason}")]
    Start {
        state_dir: PathBuf,
        listen: SocketAddr,
        reason: String,
    },
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot seed {path}: {reason}")]
    Add { path: PathBuf, reason: String },
    #[error("removing {info_hash} from the seeder: {reason}")]
    Remove { info_hash: InfoHash, reason: String },
    #[error("image {info_hash} did not become ready to seed within {waited:?}: {state:?}")]
    NotReady {
        info_hash: InfoHash,
        waited: Duration,
        state: Option<SeedState>,
    },
}

/// The host's seeder; cheap to clone.
#[derive(Clone)]
pub struct TorrentSeeder {
    session: Arc<Session>,
    listen_addr: SocketAddr,
    /// The uploader nodes talk to when super-seeding (librqbit then only verifies and keeps
    /// the images; it does not listen).
    uploader: Option<Arc<SuperSeeder>>,
}

fn image_of(handle: &ManagedTorrent, uploader: Option<&SuperSeeder>) -> SeededImage {
    let stats = handle.stats();
    let state = match (&stats.state, &stats.error) {
        (_, Some(e)) => SeedState::Error(e.clone()),
        (TorrentStatsState::Initializing { .. }, _) => SeedState::Checking,
        (TorrentStatsState::Live, _) => SeedState::Seeding,
        (TorrentStatsState::Paused, _) => SeedState::Paused,
        (TorrentStatsState::Error, None) => SeedState::Error("unknown error".into()),
    };
    let (mut peers, mut upload_rate) = stats.live.as_ref().map_or((0, 0), |l| {
        (
            l.snapshot.peer_stats.live,
            (l.upload_speed.mbps * 1024.0 * 1024.0) as u64,
        )
    });
    let mut uploaded_bytes = stats.uploaded_bytes;
    if let Some(u) = uploader {
        let s = u.stats(&handle.info_hash().0);
        peers += s.peers;
        upload_rate += s.upload_rate;
        uploaded_bytes += s.uploaded_bytes;
    }
    SeededImage {
        info_hash: InfoHash::from_id20(handle.info_hash()),
        name: handle.name(),
        state,
        total_bytes: stats.total_bytes,
        have_bytes: stats.progress_bytes,
        uploaded_bytes,
        peers,
        upload_rate,
    }
}

impl TorrentSeeder {
    /// Starts the session and resumes every image it seeded before (without re-hashing).
    pub async fn start(opts: SeederOptions) -> Result<Self, SeederError> {
        let start_err = |reason: String| SeederError::Start {
            state_dir: opts.state_dir.clone(),
            listen: opts.listen,
            reason,
        };
        std::fs::create_dir_all(&opts.state_dir).map_err(|e| start_err(e.to_string()))?;
        let session = Session::new_with_opts(
            opts.state_dir.join("downloads"),
            SessionOptions {
                dht: None,
                disable_trackers: true,
                disable_local_service_discovery: true,
                fastresume: true,
                persistence: Some(SessionPersistenceConfig::Json {
                    folder: Some(opts.state_dir.join("session")),
                }),
                listen: (!opts.super_seed).then(|| ListenerOptions {
                    mode: ListenerMode::TcpOnly,
                    listen_addr: opts.listen,
                    ipv4_only: opts.listen.is_ipv4(),
                    ..ListenerOptions::default()
                }),
                peer_limit: Some(opts.peer_limit),
                ratelimits: librqbit::limits::LimitsConfig {
                    upload_bps: opts.upload_limit,
                    download_bps: None,
                },
                ipv4_only: opts.listen.is_ipv4(),
                ..SessionOptions::default()
            },
        )
        .await
        .map_err(|e| start_err(format!("{e:#}")))?;
        let uploader = if opts.super_seed {
            let u =
                SuperSeeder::start(opts.listen, session.clone(), opts.upload_limit, opts.offers)
                    .await
                    .map_err(|e| start_err(format!("listening for nodes: {e}")))?;
            Some(Arc::new(u))
        } else {
            None
        };
        let listen_addr = match &uploader {
            Some(u) => u.local_addr(),
            None => session.listen_addr().unwrap_or(opts.listen),
        };
        // Stopping the session pauses its torrents and that is persisted: resume them.
        let paused: Vec<_> = session.with_torrents(|it| {
            it.filter(|(_, h)| h.is_paused())
                .map(|(_, h)| h.clone())
                .collect()
        });
        for h in paused {
            session
                .unpause(&h)
                .await
                .map_err(|e| start_err(format!("resuming {}: {e:#}", h.info_hash().as_string())))?;
        }
        Ok(TorrentSeeder {
            session,
            listen_addr,
            uploader,
        })
    }

    /// The address peers connect to (the real port when `listen` had port 0).
    /// Changes what the super-seeding uploader offers connections made from now on (no effect
    /// without super-seeding: librqbit then offers everything).
    pub fn set_offers(&self, offers: HostOffers) {
        if let Some(u) = &self.uploader {
            u.set_offers(offers);
        }
    }

    pub fn listen_addr(&self) -> SocketAddr {
        self.listen_addr
    }

    /// Seeds the image described by `torrent_file`; its data (the `.tar.zst`) must be in the
    /// same directory. Adding an image already seeded is a no-op.
    pub async fn add(&self, torrent_file: &Path) -> Result<InfoHash, SeederError> {
        let bytes = std::fs::read(torrent_file).map_err(|source| SeederError::Read {
            path: torrent_file.to_path_buf(),
            source,
        })?;
        let dir = torrent_file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = dir.canonicalize().map_err(|source| SeederError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let add_err = |reason: String| SeederError::Add {
            path: torrent_file.to_path_buf(),
            reason,
        };
        let resp = self
            .session
            .add_torrent(
                AddTorrent::from_bytes(bytes),
                Some(AddTorrentOptions {
                    output_folder: Some(dir.to_string_lossy().into_owned()),
                    // Use the data already on disk rather than refusing to touch it.
                    overwrite: true,
                    disable_trackers: true,
                    ..AddTorrentOptions::default()
                }),
            )
            .await
            .map_err(|e| add_err(format!("{e:#}")))?;
        let handle = resp
            .into_handle()
            .ok_or_else(|| add_err("the session returned no handle".into()))?;
        Ok(InfoHash::from_id20(handle.info_hash()))
    }

    /// Stops seeding an image; its files stay. Returns whether it was seeded.
    pub async fn remove(&self, info_hash: &InfoHash) -> Result<bool, SeederError> {
        if self.session.get(info_hash.to_id20().into()).is_none() {
            return Ok(false);
        }
        self.session
            .delete(info_hash.to_id20().into(), false)
            .await
            .map_err(|e| SeederError::Remove {
                info_hash: *info_hash,
                reason: format!("{e:#}"),
            })?;
        if let Some(u) = &self.uploader {
            u.forget(&info_hash.0);
        }
        Ok(true)
    }

    /// Makes the seeded set match the `.torrent` files in `dir`: adds new packs, drops images
    /// whose `.torrent` is gone or was replaced by a re-pack. Returns (added, removed).
    pub async fn sync_dir(
        &self,
        dir: &Path,
    ) -> Result<(Vec<InfoHash>, Vec<InfoHash>), SeederError> {
        let mut wanted = Vec::new();
        let rd = std::fs::read_dir(dir).map_err(|source| SeederError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        for e in rd {
            let path = e
                .map_err(|source| SeederError::Read {
                    path: dir.to_path_buf(),
                    source,
                })?
                .path();
            let is_torrent = path.extension().is_some_and(|x| x == "torrent");
            let hidden = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if is_torrent && !hidden {
                wanted.push(path);
            }
        }
        wanted.sort();
        let before: HashSet<InfoHash> = self.list().iter().map(|i| i.info_hash).collect();
        let mut keep = HashSet::new();
        let mut added = Vec::new();
        for t in &wanted {
            let h = self.add(t).await?;
            if !before.contains(&h) {
                added.push(h);
            }
            keep.insert(h);
        }
        let mut removed = Vec::new();
        for h in before.difference(&keep) {
            if self.remove(h).await? {
                removed.push(*h);
            }
        }
        Ok((added, removed))
    }

    /// Every seeded image with its statistics.
    pub fn list(&self) -> Vec<SeededImage> {
        let handles: Vec<Arc<ManagedTorrent>> = self
            .session
            .with_torrents(|it| it.map(|(_, h)| h.clone()).collect());
        handles
            .iter()
            .map(|h| image_of(h, self.uploader.as_deref()))
            .collect()
    }

    /// One seeded image.
    pub fn get(&self, info_hash: &InfoHash) -> Option<SeededImage> {
        self.session
            .get(info_hash.to_id20().into())
            .map(|h| image_of(&h, self.uploader.as_deref()))
    }

    /// Waits until the image is verified and seeding (after `add` or a restart).
    pub async fn wait_seeding(
        &self,
        info_hash: &InfoHash,
        timeout: Duration,
    ) -> Result<(), SeederError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let img = self.get(info_hash);
            match &img {
                Some(i) if i.state == SeedState::Seeding && i.have_bytes == i.total_bytes => {
                    return Ok(());
                }
                _ if tokio::time::Instant::now() >= deadline => {
                    return Err(SeederError::NotReady {
                        info_hash: *info_hash,
                        waited: timeout,
                        state: img.map(|i| i.state),
                    });
                }
                Some(SeededImage {
                    state: SeedState::Error(_),
                    ..
                }) => {
                    return Err(SeederError::NotReady {
                        info_hash: *info_hash,
                        waited: timeout,
                        state: img.map(|i| i.state),
                    });
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Stops the session (its state is kept for the next start).
    pub async fn stop(&self) {
        if let Some(u) = &self.uploader {
            u.stop();
        }
        self.session.stop().await;
    }
}
