//! `luna bench swarm`: the swarm benchmark of `luna-dist` (N `luna-agent` nodes in network
//! namespaces with tbf-shaped links, BitTorrent via Luna against plain HTTP), printed as a table
//! or as one JSON object per row.

use anyhow::Result;
use comfy_table::Table;
use luna_dist::{BenchMode, Row, SwarmBenchOptions, run_swarm_bench};

pub struct SwarmArgs {
    pub nodes: Option<Vec<usize>>,
    pub image_mb: Option<u64>,
    pub link_mbit: Option<u32>,
    pub modes: Option<Vec<BenchMode>>,
    pub json: bool,
}

pub async fn swarm(args: SwarmArgs) -> Result<()> {
    let agent = super::packing::agent_binary(None).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let mut opts = SwarmBenchOptions::new(&agent);
    if let Some(n) = args.nodes {
        opts.nodes = n;
    }
    if let Some(s) = args.image_mb {
        opts.image_mb = s;
    }
    if let Some(b) = args.link_mbit {
        opts.link_mbit = b;
    }
    if let Some(m) = args.modes {
        opts.modes = m;
    }
    if !args.json {
        eprintln!(
            "image {} MiB, links {} Mbit/s, nodes {:?}: each row is the time until every node has the verified image",
            opts.image_mb, opts.link_mbit, opts.nodes
        );
    }
    let json = args.json;
    let rows = run_swarm_bench(&opts, |row| {
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "nodes": row.nodes,
                    "mode": row.mode,
                    "seconds": row.seconds,
                    "limit_seconds": row.limit_seconds,
                })
            );
        } else {
            eprintln!(
                "{} nodes, {}: {:.1} s (S/B {:.1} s)",
                row.nodes, row.mode, row.seconds, row.limit_seconds
            );
        }
    })
    .await?;
    if !json {
        println!("{}", table(&rows));
    }
    Ok(())
}

/// One line per node count: BitTorrent (stripe trees and, when measured, the mesh) and HTTP side
/// by side, with S/B.
fn table(rows: &[Row]) -> Table {
    let mut t = Table::new();
    t.set_header([
        "nodes",
        "BitTorrent (Luna)",
        "BitTorrent mesh",
        "HTTP (xCAT-style)",
        "S/B",
        "T/T(1) torrent",
    ]);
    let t1 = rows
        .iter()
        .find(|r| r.nodes == 1 && r.mode == BenchMode::Torrent)
        .map(|r| r.seconds);
    let mut counts: Vec<usize> = rows.iter().map(|r| r.nodes).collect();
    counts.dedup();
    for n in counts {
        let of = |m| {
            rows.iter()
                .find(|r| r.nodes == n && r.mode == m)
                .map(|r| r.seconds)
        };
        let secs = |v: Option<f64>| v.map_or("-".into(), |s| format!("{s:.1} s"));
        let limit = rows
            .iter()
            .find(|r| r.nodes == n)
            .map_or(0.0, |r| r.limit_seconds);
        let torrent = of(BenchMode::Torrent);
        t.add_row([
            n.to_string(),
            secs(torrent),
            secs(of(BenchMode::Mesh)),
            secs(of(BenchMode::Http)),
            format!("{limit:.1} s"),
            match (torrent, t1) {
                (Some(t), Some(t1)) if t1 > 0.0 => format!("{:.2}", t / t1),
                _ => "-".into(),
            },
        ]);
    }
    t
}
