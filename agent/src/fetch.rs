//! `fetch`: the whole image step of an install: download (seeding meanwhile), report
//! progress, verify, unpack into the target, stop seeding, remove the download.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use luna_dist::InfoHash;
use luna_proto::dist::DownloadPhase;

use crate::download::{DownloadOptions, ImageDownload};
use crate::report::Reporter;

/// Everything `fetch` needs.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub torrent_url: String,
    pub info_hash: InfoHash,
    pub seed_peers: Vec<SocketAddr>,
    /// Target root the image is unpacked into.
    pub out_dir: PathBuf,
    /// Where the packed image is downloaded; default `<out_dir>/.luna-download` (removed after
    /// the unpack, so the target ends up holding exactly the image).
    pub work_dir: Option<PathBuf>,
    /// URL to POST `DownloadProgress` JSON to.
    pub report_url: Option<String>,
    pub listen: SocketAddr,
    pub report_interval: Duration,
    pub announce_interval: Duration,
    /// Most block requests outstanding per peer (see `DownloadOptions`).
    pub request_window: usize,
    /// Most block requests outstanding to the host seeder (see `DownloadOptions`).
    pub host_request_window: usize,
    /// Most pieces reserved at once (see `DownloadOptions`).
    pub inflight_pieces: usize,
    /// Most peers connected at once (see `DownloadOptions`).
    pub peer_limit: usize,
    /// Take a place in the swarm's stripe trees (see `DownloadOptions`).
    pub stripes: bool,
    /// Unpack into `out_dir` (the install); `false` only downloads and verifies the packed
    /// image into `out_dir` (benchmarks, pre-staging).
    pub unpack: bool,
    /// Keep seeding this long after the image is verified (and unpacked), before leaving the
    /// swarm. An install seeds while it partitions, unpacks and runs its post-install steps;
    /// a download-only benchmark node has none of those and would otherwise leave at once,
    /// taking its pieces away from the nodes still downloading.
    pub seed_after: Duration,
}

impl FetchOptions {
    pub fn new(
        torrent_url: &str,
        info_hash: InfoHash,
        seed_peers: Vec<SocketAddr>,
        out_dir: PathBuf,
    ) -> Self {
        FetchOptions {
            torrent_url: torrent_url.to_string(),
            info_hash,
            seed_peers,
            out_dir,
            work_dir: None,
            report_url: None,
            listen: SocketAddr::from(([0, 0, 0, 0], 0)),
            report_interval: Duration::from_secs(1),
            announce_interval: Duration::from_secs(5),
            request_window: crate::download::REQUEST_WINDOW,
            host_request_window: crate::download::HOST_REQUEST_WINDOW,
            inflight_pieces: crate::download::INFLIGHT_PIECES,
            peer_limit: crate::download::PEER_LIMIT,
            stripes: true,
            unpack: true,
            seed_after: Duration::ZERO,
        }
    }
}

/// What a finished fetch did.
#[derive(Debug, Clone)]
pub struct FetchOutcome {
    pub bytes: u64,
    /// Piece data received, duplicates included (`bytes` when nothing was wasted).
    pub fetched: u64,
    pub download_seconds: f64,
    pub unpack_seconds: f64,
    pub entries: u64,
}

/// Downloads, verifies and unpacks the image; see the module docs.
pub async fn fetch(opts: FetchOptions) -> anyhow::Result<FetchOutcome> {
    let reporter = Reporter::new(opts.report_url.clone());
    let result = run(&opts, &reporter).await;
    if let Err(e) = &result {
        reporter
            .send(&luna_proto::dist::DownloadProgress {
                info_hash: opts.info_hash.to_hex(),
                phase: DownloadPhase::Failed,
                bytes_done: 0,
                bytes_total: 0,
                bytes_uploaded: 0,
                peers: 0,
                download_rate: 0,
                upload_rate: 0,
                error: Some(format!("{e:#}")),
            })
            .await;
    }
    result
}

async fn run(opts: &FetchOptions, reporter: &Reporter) -> anyhow::Result<FetchOutcome> {
    let work_dir = match (&opts.work_dir, opts.unpack) {
        (Some(w), _) => w.clone(),
        (None, true) => opts.out_dir.join(".luna-download"),
        (None, false) => opts.out_dir.clone(),
    };
    let started = Instant::now();
    let download = ImageDownload::start(DownloadOptions {
        torrent_url: opts.torrent_url.clone(),
        info_hash: opts.info_hash,
        seed_peers: opts.seed_peers.clone(),
        work_dir: work_dir.clone(),
        listen: opts.listen,
        announce_interval: opts.announce_interval,
        request_window: opts.request_window,
        host_request_window: opts.host_request_window,
        inflight_pieces: opts.inflight_pieces,
        peer_limit: opts.peer_limit,
        stripes: opts.stripes,
    })
    .await?;
    {
        let wait = download.wait_verified();
        tokio::pin!(wait);
        let mut tick = tokio::time::interval(opts.report_interval);
        loop {
            tokio::select! {
                r = &mut wait => { r?; break; }
                _ = tick.tick() => reporter.send(&download.progress(DownloadPhase::Downloading)).await,
            }
        }
    }
    let download_seconds = started.elapsed().as_secs_f64();
    tracing::info!(seconds = download_seconds, "image verified");
    reporter
        .send(&download.progress(DownloadPhase::Verified))
        .await;
    if !opts.unpack {
        tokio::time::sleep(opts.seed_after).await;
        let done = download.progress(DownloadPhase::Done);
        let fetched = download.fetched_bytes();
        download.stop().await;
        reporter.send(&done).await;
        return Ok(FetchOutcome {
            bytes: done.bytes_total,
            fetched,
            download_seconds,
            unpack_seconds: 0.0,
            entries: 0,
        });
    }
    reporter
        .send(&download.progress(DownloadPhase::Unpacking))
        .await;
    // Keep seeding while unpacking: other nodes may still need pieces from us.
    let unpack_started = Instant::now();
    let archive = download.data_file().to_path_buf();
    let out_dir = opts.out_dir.clone();
    let stats = tokio::task::spawn_blocking(move || luna_dist::unpack(&archive, &out_dir))
        .await
        .context("the unpack task failed")??;
    let unpack_seconds = unpack_started.elapsed().as_secs_f64();
    tokio::time::sleep(opts.seed_after).await;
    let done = download.progress(DownloadPhase::Done);
    let fetched = download.fetched_bytes();
    download.stop().await;
    reporter.send(&done).await;
    if opts.work_dir.is_none() {
        // Only our own default download directory is removed; a given one is the caller's.
        std::fs::remove_dir_all(&work_dir)
            .with_context(|| format!("removing the download directory {}", work_dir.display()))?;
    }
    Ok(FetchOutcome {
        bytes: done.bytes_total,
        fetched,
        download_seconds,
        unpack_seconds,
        entries: stats.entries,
    })
}
