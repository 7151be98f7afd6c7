//! A test host: tracker + `.torrent` file server + progress sink on loopback, and the seeder,
//! both restartable on the same ports; plus helpers to run `luna-agent fetch` processes.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use luna_dist::{InfoHash, SeederOptions, TorrentSeeder, Tracker, TrackerSettings};
use luna_proto::dist::DownloadProgress;

pub struct HttpHost {
    pub addr: SocketAddr,
    pub tracker: Tracker,
    pub reports: Arc<Mutex<Vec<DownloadProgress>>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Files {
    dir: PathBuf,
    reports: Arc<Mutex<Vec<DownloadProgress>>>,
}

async fn torrent_file(
    State(f): State<Files>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Result<Vec<u8>, axum::http::StatusCode> {
    if name.contains('/') || name.starts_with('.') {
        return Err(axum::http::StatusCode::NOT_FOUND);
    }
    std::fs::read(f.dir.join(name)).map_err(|_| axum::http::StatusCode::NOT_FOUND)
}

async fn report(State(f): State<Files>, axum::Json(p): axum::Json<DownloadProgress>) {
    f.reports.lock().unwrap().push(p);
}

impl HttpHost {
    /// Serves tracker, torrents from `images` and the report sink on `addr` (port 0: any).
    pub async fn start(
        addr: SocketAddr,
        images: &Path,
        reports: Arc<Mutex<Vec<DownloadProgress>>>,
    ) -> Self {
        let tracker = Tracker::new(TrackerSettings {
            interval: Duration::from_secs(2),
            min_interval: Duration::from_secs(1),
            max_peers: 50,
        });
        let files = Files {
            dir: images.to_path_buf(),
            reports: reports.clone(),
        };
        let app: Router = Router::new()
            .route("/images/{name}", get(torrent_file))
            .route("/report", post(report))
            .with_state(files)
            .merge(tracker.router());
        let listener = bind_retrying(addr).await;
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await;
        });
        HttpHost {
            addr,
            tracker,
            reports,
            task,
        }
    }

    pub fn announce_url(&self) -> String {
        format!("http://{}/announce", self.addr)
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

async fn bind_retrying(addr: SocketAddr) -> tokio::net::TcpListener {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => return l,
            Err(e) if Instant::now() > deadline => panic!("binding {addr}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

pub async fn start_seeder(
    state: &Path,
    listen: SocketAddr,
    upload_limit: Option<u32>,
) -> TorrentSeeder {
    let mut opts = SeederOptions::new(state, listen);
    opts.upload_limit = upload_limit.and_then(std::num::NonZeroU32::new);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match TorrentSeeder::start(opts.clone()).await {
            Ok(s) => return s,
            Err(e) if Instant::now() > deadline => panic!("{e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// A seeder on loopback (any port) that seeds `packed`, registered with `host`'s tracker.
pub async fn seed_on(
    host: &HttpHost,
    state: &Path,
    packed: &luna_dist::PackedImage,
    upload_limit: Option<u32>,
) -> TorrentSeeder {
    let seeder = start_seeder(state, "127.0.0.1:0".parse().unwrap(), upload_limit).await;
    seeder.add(&packed.torrent).await.unwrap();
    seeder
        .wait_seeding(&packed.info_hash, Duration::from_secs(30))
        .await
        .unwrap();
    host.tracker
        .add_torrent(packed.info_hash, vec![seeder.listen_addr()]);
    seeder
}

/// A `luna-agent fetch` child process, killed on drop if still running.
pub struct Agent {
    pub child: Child,
    pub out: PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn spawn_agent(
    host: &HttpHost,
    torrent_name: &str,
    hash: InfoHash,
    peers: &[SocketAddr],
    out: &Path,
) -> Agent {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_luna-agent"));
    cmd.arg("fetch")
        .arg("--torrent-url")
        .arg(format!("http://{}/images/{torrent_name}", host.addr))
        .arg("--info-hash")
        .arg(hash.to_hex())
        .arg("--out")
        .arg(out)
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--report-url")
        .arg(format!("http://{}/report", host.addr))
        .arg("--announce-every")
        .arg("1")
        .stdout(Stdio::piped());
    // LUNA_TEST_AGENT_LOG=DIR keeps each agent's log (with LUNA_LOG=librqbit=debug, say).
    match std::env::var_os("LUNA_TEST_AGENT_LOG") {
        Some(dir) => {
            let name = out
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let f = std::fs::File::create(Path::new(&dir).join(format!("{name}.log")))
                .expect("agent log file");
            cmd.stderr(f);
        }
        None => {
            cmd.stderr(Stdio::piped());
        }
    }
    for p in peers {
        cmd.arg("--seed-peer").arg(p.to_string());
    }
    Agent {
        child: cmd.spawn().expect("spawning luna-agent"),
        out: out.to_path_buf(),
    }
}

/// Waits for every agent to exit; panics with its stderr if one fails or the time runs out.
pub async fn wait_all(agents: &mut [Agent], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    for a in agents.iter_mut() {
        loop {
            if let Some(status) = a.child.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut e) = a.child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                assert!(
                    status.success(),
                    "agent for {} failed: {status}\n{err}",
                    a.out.display()
                );
                break;
            }
            assert!(
                Instant::now() < deadline,
                "agent for {} did not finish in {timeout:?}",
                a.out.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

pub fn assert_same_tree(src: &Path, dst: &Path) {
    let a = luna_dist::manifest::tree_manifest(src, &[]).unwrap();
    let b = luna_dist::manifest::tree_manifest(dst, &[]).unwrap();
    let diff = luna_dist::manifest::manifest_diff(&a, &b);
    assert!(
        diff.is_empty(),
        "{} differs from {}:\n{}",
        dst.display(),
        src.display(),
        diff.join("\n")
    );
}
