//! The image download on a node: a librqbit session (no DHT, no local discovery, only the
//! tracker named in the torrent, the host seeder as an initial peer) that downloads the packed
//! image, seeds it while the node installs, and is stopped once the image is unpacked.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use librqbit::{
    AddTorrent, AddTorrentOptions, ListenerMode, ListenerOptions, ManagedTorrent,
    PeerConnectionOptions, Session, SessionOptions, TorrentStatsState,
};
use luna_dist::InfoHash;
use luna_proto::dist::{DownloadPhase, DownloadProgress};

use crate::stripes::StripeMembership;

/// Where to get the image and how to take part in the swarm.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    /// URL of the image's `.torrent` on the host.
    pub torrent_url: String,
    /// The info-hash the plan promises; the fetched `.torrent` must match it.
    pub info_hash: InfoHash,
    /// The host seeder, tried directly so the download works without the tracker.
    pub seed_peers: Vec<SocketAddr>,
    /// Directory the packed image is downloaded into.
    pub work_dir: PathBuf,
    /// Address to accept other nodes' connections on (port 0: any free port).
    pub listen: SocketAddr,
    /// How often to re-announce to the tracker while downloading; short, because installs are.
    pub announce_interval: Duration,
    /// Most block requests outstanding per peer. Small, so a node never reserves many pieces
    /// on its slow share of the host's link while peers could send them sooner.
    pub request_window: usize,
    /// Most block requests outstanding to the host seeder. Large, and neither limited by
    /// nor counted in `inflight_pieces`: see `HOST_REQUEST_WINDOW`.
    pub host_request_window: usize,
    /// Most pieces reserved for download at once, across all peers.
    pub inflight_pieces: usize,
    /// Peers this node aims to be connected to: it connects to half as many itself and
    /// accepts up to this many connecting to it.
    pub peer_limit: usize,
    /// Take the place the tracker gives this node in the swarm's stripe trees (when it has
    /// them); `false` asks any peer for any piece (the mesh, for comparison).
    pub stripes: bool,
}

/// The default `inflight_pieces`. A node that reserves pieces from every peer at once asks
/// each for more than the peer's link carries in seconds, leaves no piece unreserved and
/// turns the whole download into an endgame of steals and duplicate data (a 64-node swarm
/// received 2.2 images per node). With a cap the peers' send queues stay short. The cap
/// must still cover the link's rate times a request's round trip, which includes the queue
/// behind this node's own uploads: measured at 5 Mbit/s with 16 KiB pieces, 8 pieces left an
/// 8-node swarm at 13.8-16.4 s, 16-64 pieces at 11.4-12.0 s. With two requests per peer the
/// round trip is the peers' send queues, and a node's rate is at most the cap over it; side
/// by side, 64 pieces against 32: 32 nodes 14.2-16.6 s against 15.5-25.2 s (four runs each),
/// 64 nodes 15.9-16.8 s against 20.3-20.5 s.
pub const INFLIGHT_PIECES: usize = 64;

/// The default `peer_limit`. Every connected peer sends a HAVE per piece it gets, so the
/// swarm's messages grow with nodes x peers x pieces, and two nodes often hold two
/// connections (one each way). A dozen or two peers spread the pieces as well as the whole
/// swarm does (a random graph of that degree has a diameter of two or three), and every
/// connection more costs CPU that many nodes on few cores do not have. Side by side, 32 / 64
/// nodes (S/B 6.7 s): 8 peers 11.3 / 14.0 s, 12 peers 9.4 / 10.6 s, 16 peers 9.3-9.9 /
/// 10.8-10.9 s, 24 peers 10.6 / 12.6 s, 32 peers 11.2-11.7 / 13.7-13.9 s; librqbit's 128
/// took 36 s at 64 nodes in an earlier session. The node connects to 8 itself and accepts up
/// to 16, so the average stays 16 while early nodes always have room for late ones.
pub const PEER_LIMIT: usize = 16;

/// The default `request_window`. A node has a few dozen peers, so two blocks each keep its
/// link full, and every extra request waits in a peer's send queue: that queue is what
/// delays the last pieces of a download. Measured at 5 Mbit/s, side by side (with the
/// host's window of 16): 8 nodes 9.5 s with 2 blocks and 11.8-12.9 s with 8; 64 nodes
/// 14.0-15.8 s against 19.2-21.1 s.
pub const REQUEST_WINDOW: usize = 2;

/// The default `host_request_window`. Until the host passes a piece on, only it has the
/// piece, so the whole swarm moves at the pace of the host's link. Its requests share this
/// node's download queue with peer data, and a connection that may only have a few requests
/// out waits a queue's round trip between them, which left the host's link half idle in the
/// second half of a download. Measured side by side at 5 Mbit/s: 8 nodes 9.5 s with 16,
/// 10.9-11.6 s with the peers' window of 2, 12.3-12.6 s with 64 (the host's pieces then
/// queue up in front of one node instead of spreading); 64 nodes 14.0-15.8 s, 15.7-17.3 s
/// and 16.5-18.0 s.
pub const HOST_REQUEST_WINDOW: usize = 16;

/// `host_request_window` in stripe trees, where the host feeds each stripe's root only. A root
/// asks for its stripe as it can pass it on (a quarter of its link), so two requests keep the
/// host's link full and every request more is a longer queue in front of everything the host
/// sends, tracker replies included. 64 nodes, B = 2 Mbit/s, parents' window 2, side by side:
/// 1: 27.3 s, 2: 26.7-27.8 s, 3: 31.8 s, 4: 32.4 s, 8: 35.1 s; with parents' window 3,
/// 1: 25.5 s, 2: 25.4 s.
pub const STRIPE_HOST_REQUEST_WINDOW: usize = 2;

/// Most requests outstanding to one stripe parent. A parent can only be asked for what it
/// already has, a few pieces ahead; too small a window and its link idles between requests,
/// too large and its send queue, which every hop of the tree waits behind, grows. 64 nodes,
/// B = 2 Mbit/s: 1: 35.3-38.1 s, 2: 26.7-27.8 s, 3: 25.4 s, 4: 25.7 s, 6: 26.1 s.
pub const STRIPE_PARENT_REQUEST_WINDOW: usize = 3;

/// librqbit's defaults drop a connection that was silent for 10 s but send keep-alives only
/// every 120 s, so two nodes with nothing to trade for a while (one finished, or neither has
/// a new piece) lose their connection, and librqbit reconnects only after 10 s, then 60 s of
/// back-off: in a 64-node swarm that left half the nodes waiting 30–60 s for peers that had
/// every piece. A keep-alive well inside the timeout keeps idle connections up.
pub const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(3);

/// How long one connect to a peer may take. Set to 30 s (librqbit: 10 s) while librqbit still
/// waited 10 s, then 60–120 s, before retrying a failed peer, and while the lost connects were
/// blamed on dropped SYNs. Both have since changed: the vendored librqbit retries after 1–10 s,
/// and the lost connects were the benchmark's overflowing ARP table. A shorter timeout may now
/// be better; it is kept until measured.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// A peer silent for this long (keep-alives, every 3 s, included) is dead, and librqbit
/// reconnects after 1 s. With 20 s, 64 nodes took 38.5-40.2 s after the bench's smaller rows
/// and 19.7-20.4 s with 8 s. Most of those silent connections were librqbit's, since patched
/// (LUNA-PATCHES.md, "Connection liveness"): two peers that met before either had a piece
/// never sent each other a HAVE or, while other HAVEs kept arriving, a keep-alive.
pub const PEER_TIMEOUT: Duration = Duration::from_secs(8);

/// A running download (and, once complete, a running seed).
pub struct ImageDownload {
    session: Arc<Session>,
    handle: Arc<ManagedTorrent>,
    info_hash: InfoHash,
    data_file: PathBuf,
    /// The trackers to tell when this node leaves, and the port it announced there.
    trackers: Vec<String>,
    announced_port: u16,
    /// Keeps the stripe parents current while downloading.
    stripe_follower: Option<tokio::task::JoinHandle<()>>,
}

async fn fetch_torrent(url: &str) -> anyhow::Result<Vec<u8>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    // The host may be restarting: retry for a while before giving up.
    let mut last = None;
    for attempt in 0..30u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        match client
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
        {
            Ok(r) => return Ok(r.bytes().await?.to_vec()),
            Err(e) => {
                tracing::info!(attempt, error = %e, "fetching the torrent failed; retrying");
                last = Some(e);
            }
        }
    }
    Err(anyhow!(
        "fetching the torrent {url}: {}",
        last.map(|e| e.to_string()).unwrap_or_default()
    ))
}

impl ImageDownload {
    /// Fetches the `.torrent`, checks its info-hash and starts downloading. Data already in
    /// `work_dir` from an interrupted run is checked and kept.
    pub async fn start(opts: DownloadOptions) -> anyhow::Result<Self> {
        let asked = std::time::Instant::now();
        let torrent = fetch_torrent(&opts.torrent_url).await?;
        tracing::info!(
            url = %opts.torrent_url,
            ms = asked.elapsed().as_millis() as u64,
            "fetched the torrent"
        );
        let trackers = crate::leave::http_trackers(&torrent);
        // librqbit does not announce a port for loopback listeners, and cannot report the
        // port it got for port 0 before announcing: pick the port here and announce it.
        let listen = if opts.listen.port() == 0 {
            std::net::TcpListener::bind(opts.listen)
                .and_then(|l| l.local_addr())
                .with_context(|| format!("finding a free port on {}", opts.listen))?
        } else {
            opts.listen
        };
        // Asked before the session starts, so that the first requests already go to the
        // right peers; this also makes the node a member of the swarm.
        // Without a seed peer there is no host to root the trees at.
        let stripes = match (opts.stripes, trackers.first()) {
            (true, Some(tracker)) if !opts.seed_peers.is_empty() => {
                StripeMembership::join(tracker, opts.info_hash, listen.port()).await
            }
            _ => None,
        };
        std::fs::create_dir_all(&opts.work_dir).with_context(|| {
            format!(
                "creating the download directory {}",
                opts.work_dir.display()
            )
        })?;
        let session = Session::new_with_opts(
            opts.work_dir.clone(),
            SessionOptions {
                dht: None,
                disable_local_service_discovery: true,
                fastresume: false,
                persistence: None,
                listen: Some(ListenerOptions {
                    mode: ListenerMode::TcpOnly,
                    listen_addr: listen,
                    announce_port: Some(listen.port()),
                    ipv4_only: listen.is_ipv4(),
                    ..ListenerOptions::default()
                }),
                ipv4_only: opts.listen.is_ipv4(),
                ..SessionOptions::default()
            },
        )
        .await
        .context("starting the torrent session")?;
        let resp = session
            .add_torrent(
                AddTorrent::from_bytes(torrent),
                Some(AddTorrentOptions {
                    output_folder: Some(opts.work_dir.to_string_lossy().into_owned()),
                    overwrite: true,
                    initial_peers: Some(opts.seed_peers.clone()),
                    force_tracker_interval: Some(opts.announce_interval),
                    max_inflight_pieces: Some(opts.inflight_pieces.max(1)),
                    initial_peers_request_window: Some(if stripes.is_some() {
                        STRIPE_HOST_REQUEST_WINDOW
                    } else {
                        opts.host_request_window.max(1)
                    }),
                    // Half the peers this node connects to itself (the host seeder is one of
                    // them, so at least two), and room for as many connecting to it: with one
                    // shared limit the first nodes of a swarm fill each other's slots and refuse
                    // the rest, and a 64-node swarm split into two cliques of 32 that only the
                    // host joined (the second finished 13 s after the first).
                    // In stripe trees the tracker names the peers (host and parents), and a
                    // parent that changes while the cluster joins leaves its connection
                    // behind: room for twice as many, so a new parent is never refused.
                    peer_limit: Some(match stripes {
                        Some(_) => opts.peer_limit.max(2),
                        None => (opts.peer_limit / 2).max(2),
                    }),
                    incoming_peer_limit: Some(match stripes {
                        Some(_) => opts.peer_limit.max(2) * 2,
                        None => opts.peer_limit.max(2),
                    }),
                    piece_sources: stripes.as_ref().map(|s| s.sources.clone()),
                    peer_opts: Some(PeerConnectionOptions {
                        max_request_window: Some(opts.request_window.max(1)),
                        keep_alive_interval: Some(KEEP_ALIVE_EVERY),
                        read_write_timeout: Some(PEER_TIMEOUT),
                        connect_timeout: Some(CONNECT_TIMEOUT),
                    }),
                    ..AddTorrentOptions::default()
                }),
            )
            .await
            .with_context(|| format!("adding the torrent from {}", opts.torrent_url))?;
        let handle = resp
            .into_handle()
            .ok_or_else(|| anyhow!("the torrent session returned no handle"))?;
        let got = InfoHash(handle.info_hash().0);
        if got != opts.info_hash {
            session.stop().await;
            bail!(
                "the torrent at {} has info-hash {got}, but the plan says {}; re-pack the image or fix the plan",
                opts.torrent_url,
                opts.info_hash
            );
        }
        let name = handle
            .name()
            .ok_or_else(|| anyhow!("the torrent at {} has no file name", opts.torrent_url))?;
        if name.contains('/') || name.starts_with('.') {
            bail!(
                "the torrent at {} names an unsafe file `{name}`",
                opts.torrent_url
            );
        }
        handle
            .wait_until_initialized()
            .await
            .with_context(|| format!("checking the data already in {}", opts.work_dir.display()))?;
        let pieces = handle
            .with_metadata(|m| m.lengths().total_pieces() as usize)
            .map_err(|e| anyhow!("reading the torrent's piece count: {e:#}"))?;
        tracing::info!(%listen, pieces, "downloading");
        let stripe_follower = stripes.map(|s| tokio::spawn(s.follow(handle.clone())));
        Ok(ImageDownload {
            stripe_follower,
            data_file: opts.work_dir.join(name),
            session,
            handle,
            info_hash: got,
            trackers,
            announced_port: listen.port(),
        })
    }

    pub fn info_hash(&self) -> InfoHash {
        self.info_hash
    }

    /// The downloaded `.tar.zst`.
    pub fn data_file(&self) -> &Path {
        &self.data_file
    }

    /// Current progress, as reported to the host.
    pub fn progress(&self, phase: DownloadPhase) -> DownloadProgress {
        let stats = self.handle.stats();
        let (peers, down, up) = stats.live.as_ref().map_or((0, 0.0, 0.0), |l| {
            (
                l.snapshot.peer_stats.live,
                l.download_speed.mbps,
                l.upload_speed.mbps,
            )
        });
        let phase = match (phase, &stats.state) {
            (DownloadPhase::Downloading, TorrentStatsState::Initializing { .. }) => {
                DownloadPhase::Starting
            }
            (p, _) => p,
        };
        DownloadProgress {
            info_hash: self.info_hash.to_hex(),
            phase,
            bytes_done: stats.progress_bytes,
            bytes_total: stats.total_bytes,
            bytes_uploaded: stats.uploaded_bytes,
            peers,
            download_rate: (down * 1024.0 * 1024.0) as u64,
            upload_rate: (up * 1024.0 * 1024.0) as u64,
            error: stats.error.clone(),
        }
    }

    /// Piece data received so far, duplicates and pieces that failed their check included:
    /// beside the image size, what the swarm wasted on this node's link.
    pub fn fetched_bytes(&self) -> u64 {
        self.handle
            .stats()
            .live
            .map_or(0, |l| l.snapshot.fetched_bytes)
    }

    /// Waits until every piece is downloaded and has passed its SHA-1 check.
    pub async fn wait_verified(&self) -> anyhow::Result<()> {
        self.handle
            .wait_until_completed()
            .await
            .with_context(|| format!("downloading image {}", self.info_hash))?;
        let stats = self.handle.stats();
        if stats.progress_bytes != stats.total_bytes {
            bail!(
                "image {} finished with {} of {} bytes verified",
                self.info_hash,
                stats.progress_bytes,
                stats.total_bytes
            );
        }
        let on_disk = std::fs::metadata(&self.data_file)
            .with_context(|| format!("reading {}", self.data_file.display()))?
            .len();
        if on_disk != stats.total_bytes {
            bail!(
                "{} is {on_disk} bytes, the torrent says {}",
                self.data_file.display(),
                stats.total_bytes
            );
        }
        Ok(())
    }

    /// Stops seeding and closes the session. The downloaded file stays.
    pub async fn stop(self) {
        if let Some(f) = &self.stripe_follower {
            f.abort();
        }
        let stats = self.handle.stats();
        let _ = self
            .session
            .delete(self.handle.info_hash().into(), false)
            .await;
        // After the delete, so librqbit's own announce loop cannot re-add us.
        crate::leave::Departure {
            trackers: self.trackers.clone(),
            info_hash: self.info_hash,
            port: self.announced_port,
            uploaded: stats.uploaded_bytes,
            downloaded: stats.progress_bytes,
            left: stats.total_bytes.saturating_sub(stats.progress_bytes),
        }
        .announce()
        .await;
        // The torrent is gone (no more seeding, files closed); ending the session's own tasks
        // needs no grace period, and `Session::stop` would sleep a full second for one.
        self.session.cancellation_token().cancel();
    }
}
