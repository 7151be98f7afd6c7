//! The host side of the benchmark, run on its own thread inside the host namespace (a
//! thread's network namespace is inherited by the runtime threads it starts, so every socket
//! of the seeder, tracker and HTTP server lives there).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use bytes::Bytes;

use super::netns::HOST_IP;
use crate::info_hash::InfoHash;
use crate::seeder::{SeederOptions, TorrentSeeder};
use crate::tracker::{Tracker, TrackerSettings};

pub const HTTP_PORT: u16 = 8080;
pub const SEED_PORT: u16 = 6881;

pub struct HostSide {
    pub tracker: Tracker,
    /// The seeder (its session runs on the host thread; stats can be read from anywhere).
    pub seeder: TorrentSeeder,
    pub http: SocketAddr,
    pub seed: SocketAddr,
    /// What each node (by index) reported (`POST /report/{i}`).
    pub reports: NodeReports,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The agents' progress reports, by node index.
#[derive(Clone, Default)]
pub struct NodeReports(Arc<Mutex<ReportsSeen>>);

#[derive(Default)]
struct ReportsSeen {
    /// The moment each node's first report of a verified image arrived.
    verified: HashMap<usize, Instant>,
    /// The verified bytes each node last reported.
    bytes_done: HashMap<usize, u64>,
}

impl NodeReports {
    fn seen(&self) -> std::sync::MutexGuard<'_, ReportsSeen> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets every report (a new run starts).
    pub fn clear(&self) {
        let mut seen = self.seen();
        seen.verified.clear();
        seen.bytes_done.clear();
    }

    /// When each node's image was verified, for the nodes that reported it.
    pub fn verified(&self) -> HashMap<usize, Instant> {
        self.seen().verified.clone()
    }

    /// The verified bytes each node last reported, in node order (0 for a silent node).
    pub fn bytes_done(&self, nodes: usize) -> Vec<u64> {
        let seen = self.seen();
        (0..nodes)
            .map(|i| seen.bytes_done.get(&i).copied().unwrap_or(0))
            .collect()
    }
}

/// Takes the agents' progress reports (the `DownloadProgress` JSON of `--report-url`) and
/// notes when each node's image was verified: nodes keep seeding after that, so their exit
/// does not mark it.
async fn report(
    State(reports): State<NodeReports>,
    UrlPath(node): UrlPath<usize>,
    body: Bytes,
) -> StatusCode {
    let at = Instant::now();
    let Ok(progress) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let Some(phase) = progress.get("phase").and_then(|p| p.as_str()) else {
        return StatusCode::BAD_REQUEST;
    };
    let mut seen = reports.seen();
    if let Some(done) = progress.get("bytes_done").and_then(|b| b.as_u64()) {
        seen.bytes_done.insert(node, done);
    }
    if matches!(phase, "verified" | "unpacking" | "done") {
        seen.verified.entry(node).or_insert(at);
    }
    StatusCode::NO_CONTENT
}

#[derive(Clone)]
struct Files {
    torrent: Bytes,
    tarball: Bytes,
}

async fn file(State(f): State<Files>, UrlPath(name): UrlPath<String>) -> Result<Bytes, StatusCode> {
    match name.as_str() {
        "bench.torrent" => Ok(f.torrent.clone()),
        "bench.tar.zst" => Ok(f.tarball.clone()),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

impl HostSide {
    /// Starts seeder + tracker + HTTP in namespace `ns`, seeding `torrent` (data beside it).
    pub fn start(
        ns: &str,
        torrent: &Path,
        info_hash: InfoHash,
        state_dir: &Path,
        super_seed: bool,
        upload_limit: Option<std::num::NonZeroU32>,
    ) -> anyhow::Result<Self> {
        let tracker = Tracker::new(TrackerSettings {
            interval: Duration::from_secs(5),
            min_interval: Duration::from_secs(1),
            max_peers: 50,
        });
        let files = Files {
            torrent: Bytes::from(std::fs::read(torrent)?),
            tarball: Bytes::from(std::fs::read(torrent.with_extension("tar.zst"))?),
        };
        let ns_path = PathBuf::from("/run/netns").join(ns);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<TorrentSeeder>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread_tracker = tracker.clone();
        let reports = NodeReports::default();
        let thread_reports = reports.clone();
        let torrent = torrent.to_path_buf();
        let state_dir = state_dir.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("bench-host".into())
            .spawn(move || {
                let setup = || -> anyhow::Result<tokio::runtime::Runtime> {
                    let fd = std::fs::File::open(&ns_path)?;
                    rustix::thread::move_into_link_name_space(
                        fd.as_fd(),
                        Some(rustix::thread::LinkNameSpaceType::Network),
                    )?;
                    Ok(tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(2)
                        .enable_all()
                        .build()?)
                };
                let rt = match setup() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(
                            e.context(format!("entering namespace {}", ns_path.display()))
                        ));
                        return;
                    }
                };
                rt.block_on(async move {
                    let started = async {
                        let mut seed_opts =
                            SeederOptions::new(&state_dir, SocketAddr::from((HOST_IP, SEED_PORT)));
                        seed_opts.super_seed = super_seed;
                        seed_opts.upload_limit = upload_limit;
                        let seeder = TorrentSeeder::start(seed_opts).await?;
                        seeder.add(&torrent).await?;
                        seeder
                            .wait_seeding(&info_hash, Duration::from_secs(120))
                            .await?;
                        let app: Router = Router::new()
                            .route("/images/{name}", axum::routing::get(file))
                            .with_state(files)
                            .route(
                                "/report/{node}",
                                axum::routing::post(report).with_state(thread_reports),
                            )
                            .merge(thread_tracker.router());
                        let listener =
                            tokio::net::TcpListener::bind(SocketAddr::from((HOST_IP, HTTP_PORT)))
                                .await?;
                        let server = tokio::spawn(async move {
                            let _ = axum::serve(
                                listener,
                                app.into_make_service_with_connect_info::<SocketAddr>(),
                            )
                            .await;
                        });
                        anyhow::Ok((seeder, server))
                    }
                    .await;
                    match started {
                        Ok((seeder, server)) => {
                            let _ = ready_tx.send(Ok(seeder.clone()));
                            let _ = stop_rx.await;
                            server.abort();
                            seeder.stop().await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
            })?;
        let seeder = match ready_rx.recv_timeout(Duration::from_secs(180)) {
            Ok(Ok(seeder)) => seeder,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e.context("starting the benchmark host"));
            }
            Err(_) => anyhow::bail!("the benchmark host did not start within 180 s"),
        };
        Ok(HostSide {
            tracker,
            seed: seeder.listen_addr(),
            seeder,
            http: SocketAddr::from((HOST_IP, HTTP_PORT)),
            reports,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

impl Drop for HostSide {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn post(reports: &NodeReports, node: usize, body: &str) -> StatusCode {
        report(
            State(reports.clone()),
            UrlPath(node),
            Bytes::from(body.to_string()),
        )
        .await
    }

    #[tokio::test]
    async fn reports_record_progress_and_the_first_verified_moment() {
        let reports = NodeReports::default();
        let downloading = r#"{"phase":"downloading","bytes_done":4096}"#;
        assert_eq!(post(&reports, 1, downloading).await, StatusCode::NO_CONTENT);
        assert_eq!(reports.bytes_done(3), vec![0, 4096, 0]);
        assert!(reports.verified().is_empty());

        let verified = r#"{"phase":"verified","bytes_done":8192}"#;
        assert_eq!(post(&reports, 1, verified).await, StatusCode::NO_CONTENT);
        let first = reports.verified()[&1];
        post(&reports, 1, r#"{"phase":"done","bytes_done":8192}"#).await;
        assert_eq!(
            reports.verified()[&1],
            first,
            "a later report keeps the first moment"
        );
        assert_eq!(reports.bytes_done(2), vec![0, 8192]);

        reports.clear();
        assert!(reports.verified().is_empty());
        assert_eq!(reports.bytes_done(2), vec![0, 0]);
    }

    #[tokio::test]
    async fn a_report_without_a_phase_is_refused_and_not_recorded() {
        let reports = NodeReports::default();
        assert_eq!(
            post(&reports, 0, r#"{"bytes_done":1}"#).await,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(post(&reports, 0, "not json").await, StatusCode::BAD_REQUEST);
        assert_eq!(reports.bytes_done(1), vec![0]);
    }
}
