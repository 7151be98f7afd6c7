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
        /// Only download and verify the packed image into OUT; do not unpack it.
        #[arg(long)]
        download_only: bool,
    },
}

fn seconds(name: &str, s: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| anyhow::anyhow!("--{name} must be a positive number of seconds, got {s}"))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LUNA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
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
        } => {
            async {
                let mut opts = FetchOptions::new(&torrent_url, info_hash, seed_peers, out);
                opts.work_dir = work_dir;
                opts.report_url = report_url;
                opts.listen = listen;
                opts.report_interval = seconds("report-every", report_every)?;
                opts.announce_interval = seconds("announce-every", announce_every)?;
                opts.unpack = !download_only;
                anyhow::ensure!(request_window >= 1, "--request-window must be at least 1");
                opts.request_window = request_window;
                let outcome = fetch(opts).await?;
                println!(
                    "{}",
                    serde_json::json!({
                        "bytes": outcome.bytes,
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
