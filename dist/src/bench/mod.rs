//! The swarm benchmark behind `luna bench swarm`: N nodes (each a process in its own network
//! namespace, links shaped with tbf) fetch one image from the host, by BitTorrent via Luna
//! (seeder + tracker + `luna-agent fetch`) and by plain HTTP (busybox wget, what xCAT does).
//! Each row is the time until every node holds the verified image, beside S/B, the
//! physical limit for one node.

mod host_side;
mod link_load;
pub mod netns;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::pack::{ImagePacker, PackOptions};
use crate::seeder::HostOffers;
use host_side::HostSide;
use netns::SwarmNet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BenchMode {
    /// BitTorrent as Luna runs it: the tracker's stripe trees, the host offering everything.
    Torrent,
    /// BitTorrent as a pull mesh: random peers, any piece from anyone, the host super-seeding
    /// (Luna before stripe trees; for comparison).
    Mesh,
    /// Every node downloads the file from the host over HTTP (what xCAT does).
    Http,
}

impl std::fmt::Display for BenchMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BenchMode::Torrent => "torrent",
            BenchMode::Mesh => "mesh",
            BenchMode::Http => "http",
        })
    }
}

impl std::str::FromStr for BenchMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "torrent" => Ok(BenchMode::Torrent),
            "mesh" => Ok(BenchMode::Mesh),
            "http" => Ok(BenchMode::Http),
            other => Err(format!("unknown mode `{other}`: torrent, mesh or http")),
        }
    }
}

/// One measurement: `--json` prints these as one object per line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub nodes: usize,
    pub mode: BenchMode,
    /// Time until the last node had the verified image.
    pub seconds: f64,
    /// S/B: the packed image size over the per-node link rate.
    pub limit_seconds: f64,
    /// Image copies the host's link carried (N for HTTP; near 1 for a healthy swarm).
    pub host_copies: f64,
    /// CPU time (user + system) the node processes used, from start until they were reaped.
    pub nodes_cpu_seconds: f64,
    /// CPU time of the host side (seeder, tracker, HTTP server and the benchmark itself).
    pub host_cpu_seconds: f64,
    /// The machine's 1-minute load average when the run ended (other work included).
    pub load_average: f64,
}

impl Row {
    /// Share of the machine's CPU capacity the run used over its wall time: near 1 means the
    /// cores, not the links, set the pace.
    pub fn cpu_share(&self) -> f64 {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        (self.nodes_cpu_seconds + self.host_cpu_seconds) / (cores * self.seconds.max(1e-3))
    }
}

/// CPU seconds (user + system) of this process and of its reaped children, from
/// `/proc/self/stat` (fields 14–17, in USER_HZ ticks, which Linux fixes at 100 for /proc).
fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // `rest` starts at field 3, so field k is f[k - 3].
    let at = |k: usize| f.get(k - 3).copied().unwrap_or(0.0) / 100.0;
    (at(14) + at(15), at(16) + at(17))
}

fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

#[derive(Debug, Clone)]
pub struct SwarmBenchOptions {
    pub nodes: Vec<usize>,
    /// Image size S in MiB (random data, so the packed size is about the same).
    pub image_mb: u64,
    /// Per-node link rate B in Mbit/s (the host's link too).
    pub link_mbit: u32,
    pub modes: Vec<BenchMode>,
    /// The `luna-agent` binary the nodes run.
    pub agent_binary: PathBuf,
    /// busybox for the HTTP nodes (`wget`).
    pub busybox: PathBuf,
    /// Scratch directory (default: a temporary one, removed afterwards).
    pub work_dir: Option<PathBuf>,
    /// Piece length in KiB (`None`: what `luna osimage pack` would pick).
    pub piece_kib: Option<u32>,
    /// Shape what nodes send too (symmetric links like real NICs); the host's upload and
    /// every node's download are always shaped.
    pub shape_node_upload: bool,
    /// The host super-seeds (the default, what the daemon does); `false` measures plain
    /// librqbit seeding for comparison.
    pub super_seed: bool,
    /// The agents' per-peer request window (`None`: the agent's default).
    pub request_window: Option<usize>,
    /// BitTorrent nodes keep seeding after their image is verified until every node has it,
    /// as installing nodes do while they unpack and install; `false` makes each node leave
    /// the swarm the moment it is done.
    pub seed_until_all_done: bool,
    /// The tracker lays the stripe trees out for all N nodes from the start (a host that
    /// knows which nodes are installing); `false` reshapes them at every join.
    pub expect_nodes: bool,
    /// Stripes of the `torrent` mode's trees.
    pub stripes: usize,
}

impl SwarmBenchOptions {
    pub fn new(agent_binary: &Path) -> Self {
        SwarmBenchOptions {
            nodes: vec![1, 8, 32, 64],
            image_mb: 32,
            link_mbit: 20,
            modes: vec![BenchMode::Torrent, BenchMode::Http],
            agent_binary: agent_binary.to_path_buf(),
            busybox: PathBuf::from(crate::sample_image::HOST_BUSYBOX),
            work_dir: None,
            piece_kib: None,
            shape_node_upload: true,
            super_seed: true,
            request_window: None,
            seed_until_all_done: true,
            expect_nodes: true,
            stripes: crate::tracker::DEFAULT_STRIPES,
        }
    }
}

/// Child processes killed on drop, so an error never leaves nodes running.
struct Nodes(Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs the benchmark (root only); `on_row` sees each row as soon as it is measured.
pub async fn run_swarm_bench(
    opts: &SwarmBenchOptions,
    mut on_row: impl FnMut(&Row),
) -> anyhow::Result<Vec<Row>> {
    anyhow::ensure!(
        !opts.nodes.is_empty() && opts.nodes.iter().all(|n| (1..=2000).contains(n)),
        "--nodes must list counts between 1 and 2000"
    );
    anyhow::ensure!(
        opts.image_mb >= 1 && opts.link_mbit >= 1,
        "--image-mb and --link-mbit must be positive"
    );
    anyhow::ensure!(
        opts.agent_binary.is_file(),
        "the agent binary {} does not exist; build luna-agent first",
        opts.agent_binary.display()
    );
    let scratch = match &opts.work_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            tempfile::Builder::new()
                .prefix("luna-bench-")
                .tempdir_in(d)?
        }
        None => tempfile::Builder::new().prefix("luna-bench-").tempdir()?,
    };
    let work = scratch.path().to_path_buf();
    let tree = work.join("image");
    std::fs::create_dir_all(&tree)?;
    let filler = work.join("image/data");
    std::fs::create_dir_all(&filler)?;
    write_random(&filler.join("blob"), opts.image_mb << 20)?;
    let images = work.join("images");
    let url = format!(
        "http://{}:{}/announce",
        netns::HOST_IP,
        host_side::HTTP_PORT
    );
    let mut pack = PackOptions::new("bench", &tree, &images, &url);
    pack.zstd_level = 1;
    pack.piece_length = opts.piece_kib.map(|k| k * 1024);
    let packed = ImagePacker::new(pack).pack(|_| {}).await?;
    let sha256 = crate::manifest::sha256_file(&packed.tarball)?;
    let limit = packed.size as f64 * 8.0 / (f64::from(opts.link_mbit) * 1e6);

    let max_nodes = *opts.nodes.iter().max().unwrap_or(&1);
    let prefix = format!("lunabench{}", std::process::id());
    let net = SwarmNet::create(&prefix, max_nodes, opts.link_mbit, opts.shape_node_upload)?;
    let host = HostSide::start(
        &net.host_ns(),
        &packed.torrent,
        packed.info_hash,
        &work.join("seeder"),
        opts.super_seed,
        host_upload_limit(opts.link_mbit),
    )?;
    let mut rows = Vec::new();
    for &n in &opts.nodes {
        for &mode in &opts.modes {
            // A fresh swarm per run: no peers left over from the previous one.
            host.tracker.remove_torrent(&packed.info_hash);
            host.tracker.add_torrent(packed.info_hash, vec![host.seed]);
            let mesh = mode == BenchMode::Mesh;
            if opts.expect_nodes {
                // What the daemon does as each node fetches its install plan.
                for i in 0..n {
                    host.tracker
                        .expect_node(&packed.info_hash, netns::node_ip(i).into());
                }
            }
            let stripes = if mesh { 0 } else { opts.stripes.max(1) };
            host.tracker.set_stripes(stripes);
            host.seeder.set_offers(HostOffers::for_stripes(stripes));
            let run_dir = work.join(format!("run-{mode}-{n}"));
            let uploaded_before = host
                .seeder
                .get(&packed.info_hash)
                .map_or(0, |i| i.uploaded_bytes);
            let (host_cpu_before, nodes_cpu_before) = cpu_seconds();
            let seconds = run_once(
                opts,
                &net,
                &host,
                mode,
                n,
                &run_dir,
                &packed.info_hash.to_hex(),
                &sha256,
                limit,
            )
            .await?;
            let (host_cpu_after, nodes_cpu_after) = cpu_seconds();
            if std::env::var_os("LUNA_BENCH_TRACE").is_none() {
                // Traced runs keep each node's output (`node{i}.err`) for a look afterwards.
                let _ = std::fs::remove_dir_all(&run_dir);
            }
            let host_copies = match mode {
                BenchMode::Http => n as f64,
                BenchMode::Torrent | BenchMode::Mesh => {
                    let after = host
                        .seeder
                        .get(&packed.info_hash)
                        .map_or(0, |i| i.uploaded_bytes);
                    after.saturating_sub(uploaded_before) as f64 / packed.size as f64
                }
            };
            let row = Row {
                nodes: n,
                mode,
                seconds,
                limit_seconds: limit,
                host_copies,
                nodes_cpu_seconds: nodes_cpu_after - nodes_cpu_before,
                host_cpu_seconds: host_cpu_after - host_cpu_before,
                load_average: load_average(),
            };
            on_row(&row);
            rows.push(row);
        }
    }
    drop(host);
    drop(net);
    if std::env::var_os("LUNA_BENCH_TRACE").is_some() {
        // A traced run keeps every node's log for a look afterwards.
        eprintln!("node logs kept in {}", scratch.keep().display());
    }
    Ok(rows)
}

#[allow(clippy::too_many_arguments)]
async fn run_once(
    opts: &SwarmBenchOptions,
    net: &SwarmNet,
    host: &HostSide,
    mode: BenchMode,
    n: usize,
    run_dir: &Path,
    info_hash: &str,
    sha256: &str,
    limit: f64,
) -> anyhow::Result<f64> {
    std::fs::create_dir_all(run_dir)?;
    host.reports.clear();
    let trace = std::env::var_os("LUNA_BENCH_TRACE").is_some();
    let mut nodes = Nodes(Vec::new());
    let started = Instant::now();
    for i in 0..n {
        let out = run_dir.join(format!("node{i}"));
        std::fs::create_dir_all(&out)?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &net.node_ns(i)]);
        match mode {
            BenchMode::Torrent | BenchMode::Mesh => {
                cmd.arg(&opts.agent_binary)
                    .args(["fetch", "--download-only", "--listen", "0.0.0.0:6881"])
                    .arg("--torrent-url")
                    .arg(format!("http://{}/images/bench.torrent", host.http))
                    .args(["--info-hash", info_hash])
                    .arg("--seed-peer")
                    .arg(host.seed.to_string())
                    .arg("--out")
                    .arg(&out)
                    .arg("--report-url")
                    .arg(format!("http://{}/report/{i}", host.http))
                    // Every report's reply crosses the host's link, which every piece crosses
                    // first: a traced run samples progress every 2 s, not faster, so that
                    // tracing does not slow the swarm it traces.
                    .args(["--report-every", if trace { "2" } else { "5" }]);
                if opts.seed_until_all_done {
                    // Killed once every node is verified; the hour is only a bound.
                    cmd.args(["--seed-after", "3600"]);
                }
                if mode == BenchMode::Mesh {
                    // A mesh node finds its peers by announcing; a striped one is told its
                    // parents by a long poll and announces at the agent's default pace, since
                    // every reply crosses the host's link.
                    cmd.args(["--mesh", "--announce-every", "2"]);
                }
                if let Some(w) = opts.request_window {
                    cmd.arg("--request-window").arg(w.to_string());
                }
            }
            BenchMode::Http => {
                // wget itself is the child (ip netns exec execs it): no shell whose children
                // could outlive a kill. The hash is checked here once it exits.
                cmd.arg(&opts.busybox)
                    .args(["wget", "-q", "-O"])
                    .arg(out.join("bench.tar.zst"))
                    .arg(format!("http://{}/images/bench.tar.zst", host.http));
            }
        }
        // Files, not pipes: a node that seeds for a while must never block on a full pipe
        // nobody reads until it exits.
        cmd.stdout(std::fs::File::create(run_dir.join(format!("node{i}.out")))?)
            .stderr(std::fs::File::create(run_dir.join(format!("node{i}.err")))?);
        nodes.0.push(cmd.spawn()?);
    }
    // A safety net only: neither mode may be slower than one server sending N copies.
    let timeout = Duration::from_secs_f64(60.0 + 3.0 * limit * n as f64);
    let mut finished = vec![false; n];
    let mut last = Duration::ZERO;
    let mut next_sample = Duration::ZERO;
    let mut exited = vec![false; n];
    let mut link_load = link_load::LinkLoad::new(n, opts.link_mbit);
    while finished.iter().any(|f| !f) {
        let verified = host.reports.verified();
        for (i, child) in nodes.0.iter_mut().enumerate() {
            if exited[i] {
                continue;
            }
            if !finished[i]
                && let Some(at) = verified.get(&i)
            {
                finished[i] = true;
                last = last.max(at.saturating_duration_since(started));
                if trace {
                    eprintln!("{mode} node {i} verified at {:.2}s", last.as_secs_f64());
                }
            }
            if let Some(status) = child.try_wait()? {
                exited[i] = true;
                let stdout = std::fs::read_to_string(run_dir.join(format!("node{i}.out")))
                    .unwrap_or_default();
                let stderr = std::fs::read_to_string(run_dir.join(format!("node{i}.err")))
                    .unwrap_or_default();
                anyhow::ensure!(
                    status.success(),
                    "{mode} node {i} of {n} failed ({status}): {}",
                    stderr.trim()
                );
                if finished[i] {
                    continue;
                }
                finished[i] = true;
                last = started.elapsed();
                if trace {
                    eprintln!(
                        "{mode} node {i} exited at {:.2}s: {}",
                        last.as_secs_f64(),
                        stdout.trim()
                    );
                }
            }
        }
        anyhow::ensure!(
            started.elapsed() < timeout,
            "{mode} with {n} nodes did not finish within {timeout:?}"
        );
        if trace && started.elapsed() >= next_sample {
            next_sample += Duration::from_millis(500);
            let up = host
                .seeder
                .list()
                .iter()
                .map(|i| i.uploaded_bytes)
                .sum::<u64>();
            // The counters are read once per sample with one `ip` call; a failed read only
            // leaves the load out of this line.
            let busy = net
                .port_bytes()
                .await
                .ok()
                .and_then(|ports| link_load.sample(Instant::now(), &ports))
                .map(|b| format!("; {b}"))
                .unwrap_or_default();
            eprintln!(
                "{:5.1}s host uploaded {:6.2} MiB; {}{busy}",
                started.elapsed().as_secs_f64(),
                up as f64 / 1048576.0,
                ProgressSpread::of(host.reports.bytes_done(n))
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Nodes still seeding are done: reap them now so their CPU time counts for this run.
    drop(nodes);
    // Verified after the clock stopped: hashing is the nodes' work, not the host's link.
    if mode == BenchMode::Http {
        for i in 0..n {
            let got =
                crate::manifest::sha256_file(&run_dir.join(format!("node{i}/bench.tar.zst")))?;
            anyhow::ensure!(
                got == sha256,
                "http node {i} of {n} got a corrupt image (sha256 {got})"
            );
        }
    }
    Ok(last.as_secs_f64())
}

/// How far the nodes have got, for a traced run: how the slowest, the middle and the
/// fastest nodes trail what the host has sent shows whether the host's link or the nodes'
/// exchange holds the swarm back.
struct ProgressSpread(Vec<u64>);

impl ProgressSpread {
    fn of(mut bytes_done: Vec<u64>) -> Self {
        bytes_done.sort_unstable();
        ProgressSpread(bytes_done)
    }
}

impl std::fmt::Display for ProgressSpread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = |q: usize| self.0.get(q).map_or(0.0, |b| *b as f64 / 1048576.0);
        let n = self.0.len();
        write!(
            f,
            "nodes verified min {:.2} p10 {:.2} median {:.2} p90 {:.2} max {:.2} MiB",
            mib(0),
            mib(n / 10),
            mib(n / 2),
            mib(n * 9 / 10),
            mib(n.saturating_sub(1))
        )
    }
}

/// What the host's seeder may send per second: 90 % of its link in payload (about 95 % on
/// the wire with TCP/IP headers). A seeder that fills the link fills the shaper's queue, and
/// the torrent file, tracker replies and TCP handshakes of late nodes then wait behind half a
/// second of piece data or are dropped: in a 64-node run nodes waited 30–60 s on SYN
/// retransmissions before they could even fetch the `.torrent`.
fn host_upload_limit(link_mbit: u32) -> Option<std::num::NonZeroU32> {
    let bytes = u64::from(link_mbit) * 1_000_000 / 8 * 9 / 10;
    std::num::NonZeroU32::new(u32::try_from(bytes).unwrap_or(u32::MAX))
}

fn write_random(path: &Path, bytes: u64) -> std::io::Result<()> {
    use rand::RngCore;
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut buf = vec![0u8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        rand::rng().fill_bytes(&mut buf[..n]);
        f.write_all(&buf[..n])?;
        left -= n as u64;
    }
    f.flush()
}

#[cfg(test)]
mod tests {
    use super::ProgressSpread;

    #[test]
    fn progress_spread_names_the_slowest_middle_and_fastest_nodes() {
        let mib = 1 << 20;
        let spread = ProgressSpread::of((0..10).rev().map(|i| i * mib).collect());
        assert_eq!(
            spread.to_string(),
            "nodes verified min 0.00 p10 1.00 median 5.00 p90 9.00 max 9.00 MiB"
        );
        let one = ProgressSpread::of(vec![mib / 2]);
        assert_eq!(
            one.to_string(),
            "nodes verified min 0.50 p10 0.50 median 0.50 p90 0.50 max 0.50 MiB"
        );
        assert!(
            ProgressSpread::of(Vec::new())
                .to_string()
                .contains("max 0.00")
        );
    }
}
