//! `luna-agent`: the worker of the Luna initramfs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use luna_agent::{FetchOptions, fetch};
use luna_dist::InfoHash;

#[derive(Parser)]
#[command(name = "luna-agent", version, about = "The Luna node agent")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Download an image over BitTorrent (seeding meanwhile), verify it and unpack it into DIR.
    Fetch {
        /// URL of the image's .torrent on the host.
        #[arg(long)]
        torrent_url: String,
        /// Info-hash the torrent must have (40 hex digits).
        #[arg(long)]
        info_hash: InfoHash,
        /// Host seeder IP:PORT, used as an initial peer (repeatable).
        #[arg(long = "seed-peer")]
        seed_peers: Vec<SocketAddr>,
        /// Target directory to unpack into.
        #[arg(long)]
        out: PathBuf,
        /// Where to download the packed image (default: OUT/.luna-download, removed afterwards).
        #[arg(long)]
        work_dir: Option<PathBuf>,
        /// URL to POST JSON progress reports to.
        #[arg(long)]
        report_url: Option<String>,
        /// Address to accept other nodes' connections on.
        #[arg(long, default_value = "0.0.0.0:0")]
        listen: SocketAddr,
        /// Seconds between progress reports.
        #[arg(long, default_value_t = 1.0)]
        report_every: f64,
        /// Seconds between tracker announces while downloading.
        #[arg(long, default_value_t = 5.0)]
        announce_every: f64,
        /// Most block requests outstanding per peer.
        #[arg(long, default_value_t = luna_agent::download::REQUEST_WINDOW)]
        request_window: usize,
        /// Most block requests outstanding to the host seeder (`--seed-peer`).
        #[arg(long, default_value_t = luna_agent::download::HOST_REQUEST_WINDOW)]
        host_request_window: usize,
        /// Most pieces reserved for download at once, across all peers.
        #[arg(long, default_value_t = luna_agent::download::INFLIGHT_PIECES)]
        inflight_pieces: usize,
        /// Peers to trade with: the node connects to half as many itself (the host seeder
        /// included) and accepts up to this many connecting to it.
        #[arg(long, default_value_t = luna_agent::download::PEER_LIMIT)]
        peer_limit: usize,
        /// Ignore the tracker's stripe trees and ask any peer for any piece (a mesh, as plain
        /// BitTorrent does; for comparison).
        #[arg(long)]
        mesh: bool,
        /// Only download and verify the packed image into OUT; do not unpack it.
        #[arg(long)]
        download_only: bool,
        /// Keep seeding this many seconds after the image is verified (and unpacked).
        #[arg(long, default_value_t = 0.0)]
        seed_after: f64,
    },
    /// Install this node (or, in service mode, post its inventory): the initramfs's worker.
    Boot(BootArgs),
}

#[derive(clap::Args)]
struct BootArgs {
    /// Host URL (default: luna.url= from the kernel command line).
    #[arg(long, env = "LUNA_AGENT_URL")]
    url: Option<String>,
    /// Node name (default: luna.node=).
    #[arg(long, env = "LUNA_AGENT_NODE")]
    node: Option<String>,
    /// Boot MAC (default: luna.mac= or BOOTIF=).
    #[arg(long, env = "LUNA_AGENT_MAC")]
    mac: Option<String>,
    /// Kernel command line file.
    #[arg(long, default_value = "/proc/cmdline")]
    cmdline: PathBuf,
    /// API token, for reports from outside the node's own addresses.
    #[arg(long, env = "LUNA_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Target root the partition script mounts.
    #[arg(long, env = "LUNA_AGENT_SYSROOT", default_value = "/sysroot")]
    sysroot: PathBuf,
    /// Do not hand the target to /init for switch_root (tests; the node stays in the initramfs).
    #[arg(long, env = "LUNA_AGENT_NO_SWITCH_ROOT")]
    no_switch_root: bool,
    /// Init of the installed system.
    #[arg(long, default_value = "/sbin/init")]
    init: String,
    /// Run post-install scripts without chroot (unprivileged tests).
    #[arg(long)]
    no_chroot: bool,
    /// Do not load drivers or bring up the boot NIC (the network is up already).
    #[arg(long)]
    no_network: bool,
    /// Driver list of the initramfs.
    #[arg(long, default_value = "/etc/luna/modules")]
    modules_list: PathBuf,
    /// Seconds to wait for the boot NIC and its DHCP lease.
    #[arg(long, default_value_t = 120.0)]
    nic_wait: f64,
    /// Root of /sys and /proc for the service-mode inventory.
    #[arg(long, default_value = "/")]
    hardware_root: PathBuf,
    /// Image source as JSON (`{"torrent_url":…,"info_hash":…,"seed_peers":[…]}`), used when
    /// the plan has none.
    #[arg(long)]
    image: Option<String>,
    /// Address to accept other nodes' BitTorrent connections on.
    #[arg(long, default_value = "0.0.0.0:0")]
    listen: SocketAddr,
    /// First retry delay, seconds, for calls to the host.
    #[arg(long, default_value_t = 1.0)]
    retry_first: f64,
    /// Give up on the host after this many seconds of retries.
    #[arg(long, default_value_t = 3600.0)]
    retry_for: f64,
    /// Seconds between progress reports.
    #[arg(long, default_value_t = 1.0)]
    report_every: f64,
    /// Seconds between tracker announces while downloading.
    #[arg(long, default_value_t = 5.0)]
    announce_every: f64,
}

async fn boot(a: BootArgs) -> anyhow::Result<std::process::ExitCode> {
    use luna_agent::boot::{self, BootEnd, BootOptions, backoff::Backoff};
    let image_override = match &a.image {
        Some(j) => Some(
            serde_json::from_str(j)
                .map_err(|e| anyhow::anyhow!("--image is not an image source JSON object: {e}"))?,
        ),
        None => None,
    };
    let opts = BootOptions {
        url: a.url,
        node: a.node,
        mac: a.mac,
        cmdline: a.cmdline,
        token: a.token,
        sysroot: a.sysroot,
        switch_root: !a.no_switch_root,
        init: a.init,
        chroot: !a.no_chroot,
        network: !a.no_network,
        modules_list: a.modules_list,
        nic_wait: seconds("nic-wait", a.nic_wait)?,
        hardware_root: a.hardware_root,
        image_override,
        listen: a.listen,
        backoff: Backoff {
            first: seconds("retry-first", a.retry_first)?,
            max: Duration::from_secs(30),
            give_up_after: seconds("retry-for", a.retry_for)?,
        },
        report_interval: seconds("report-every", a.report_every)?,
        announce_interval: seconds("announce-every", a.announce_every)?,
    };
    match boot::run(opts).await {
        Ok(end) => {
            match end {
                BootEnd::HandedOff => {
                    eprintln!("luna-agent: installed; switching to the installed system")
                }
                BootEnd::Installed => eprintln!("luna-agent: installed (switch_root is off)"),
                BootEnd::Service => {}
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        Err(e) => {
            eprint!("{}", e.banner());
            Ok(std::process::ExitCode::from(2))
        }
    }
}

fn seconds(name: &str, s: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| anyhow::anyhow!("--{name} must be a positive number of seconds, got {s}"))
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // `fetch` is one network-bound download: a single-threaded runtime does it without the
    // cross-thread wake-ups a worker pool costs, which dominate when many nodes share a few
    // cores (the swarm benchmark runs 64 agents on 2). librqbit then does its disk and hash
    // work inline instead of through block_in_place.
    let runtime = match cli.command {
        Command::Fetch { .. } => tokio::runtime::Builder::new_current_thread(),
        Command::Boot(_) => tokio::runtime::Builder::new_multi_thread(),
    }
    .enable_all()
    .build();
    match runtime {
        Ok(rt) => rt.block_on(run(cli)),
        Err(e) => {
            eprintln!("luna-agent: starting the async runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LUNA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Boot(a) => {
            return match boot(a).await {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("luna-agent: {e:#}");
                    std::process::ExitCode::FAILURE
                }
            };
        }
        Command::Fetch {
            torrent_url,
            info_hash,
            seed_peers,
            out,
            work_dir,
            report_url,
            listen,
            report_every,
            announce_every,
            download_only,
            request_window,
            host_request_window,
            inflight_pieces,
            peer_limit,
            mesh,
            seed_after,
        } => {
            async {
                let mut opts = FetchOptions::new(&torrent_url, info_hash, seed_peers, out);
                opts.work_dir = work_dir;
                opts.report_url = report_url;
                opts.listen = listen;
                opts.report_interval = seconds("report-every", report_every)?;
                opts.announce_interval = seconds("announce-every", announce_every)?;
                opts.unpack = !download_only;
                opts.seed_after = Duration::try_from_secs_f64(seed_after).map_err(|_| {
                anyhow::anyhow!(
                    "--seed-after must be zero or a positive number of seconds, got {seed_after}"
                )
            })?;
                anyhow::ensure!(request_window >= 1, "--request-window must be at least 1");
                opts.request_window = request_window;
                anyhow::ensure!(
                    host_request_window >= 1,
                    "--host-request-window must be at least 1"
                );
                opts.host_request_window = host_request_window;
                anyhow::ensure!(inflight_pieces >= 1, "--inflight-pieces must be at least 1");
                opts.inflight_pieces = inflight_pieces;
                anyhow::ensure!(
                    peer_limit >= 2,
                    "--peer-limit must be at least 2 (the host and one node)"
                );
                opts.peer_limit = peer_limit;
                opts.stripes = !mesh;
                let outcome = fetch(opts).await?;
                println!(
                    "{}",
                    serde_json::json!({
                        "bytes": outcome.bytes,
                        "fetched": outcome.fetched,
                        "download_seconds": outcome.download_seconds,
                        "unpack_seconds": outcome.unpack_seconds,
                        "entries": outcome.entries,
                    })
                );
                anyhow::Ok(())
            }
            .await
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("luna-agent: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
