//! Runs the swarm benchmark outside the `luna` CLI (needs root, iproute2, busybox-static and a
//! built `luna-agent`):
//! `cargo run -p luna-dist --example swarm_bench -- --agent PATH [--nodes 1,8] [--image-mb S]
//!  [--link-mbit B] [--modes torrent,mesh,http] [--symmetric|--download-only-shaping] [--no-super-seed]
//!  [--request-window W] [--leave-when-done] [--unexpected-joins] [--stripes K] [--json]`

use std::path::PathBuf;

use luna_dist::{BenchMode, SwarmBenchOptions, run_swarm_bench};

fn parse() -> anyhow::Result<(SwarmBenchOptions, bool)> {
    let mut args = std::env::args().skip(1);
    let mut opts = SwarmBenchOptions::new(&PathBuf::from("target/debug/luna-agent"));
    let mut json = false;
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{a} needs a value"))
        };
        match a.as_str() {
            "--agent" => opts.agent_binary = PathBuf::from(value()?),
            "--nodes" => {
                opts.nodes = value()?
                    .split(',')
                    .map(|n| n.trim().parse())
                    .collect::<Result<_, _>>()?
            }
            "--image-mb" => opts.image_mb = value()?.parse()?,
            "--link-mbit" => opts.link_mbit = value()?.parse()?,
            "--modes" => {
                opts.modes = value()?
                    .split(',')
                    .map(|m| m.parse::<BenchMode>().map_err(anyhow::Error::msg))
                    .collect::<Result<_, _>>()?
            }
            "--piece-kib" => opts.piece_kib = Some(value()?.parse()?),
            "--download-only-shaping" => opts.shape_node_upload = false,
            "--no-super-seed" => opts.super_seed = false,
            "--request-window" => opts.request_window = Some(value()?.parse()?),
            "--leave-when-done" => opts.seed_until_all_done = false,
            "--unexpected-joins" => opts.expect_nodes = false,
            "--stripes" => opts.stripes = value()?.parse()?,
            "--json" => json = true,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok((opts, json))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (opts, json) = parse()?;
    if !json {
        println!(
            "{:>6} {:>8} {:>9} {:>9} {:>7} {:>11} {:>9} {:>8} {:>9} {:>5}",
            "nodes",
            "mode",
            "seconds",
            "S/B",
            "ratio",
            "host copies",
            "node cpu",
            "host cpu",
            "cpu share",
            "load"
        );
    }
    run_swarm_bench(&opts, |row| {
        if json {
            println!("{}", serde_json::to_string(row).unwrap_or_default());
        } else {
            println!(
                "{:>6} {:>8} {:>9.1} {:>9.1} {:>7.2} {:>11.2} {:>9.1} {:>8.1} {:>9.2} {:>5.1}",
                row.nodes,
                row.mode,
                row.seconds,
                row.limit_seconds,
                row.seconds / row.limit_seconds,
                row.host_copies,
                row.nodes_cpu_seconds,
                row.host_cpu_seconds,
                row.cpu_share(),
                row.load_average
            );
        }
    })
    .await?;
    Ok(())
}
