//! Plugin benchmark, callable from `luna bench plugins` and from `cargo bench`: per-call latency
//! of a warm WASM hook and a Rhai hook, and rendering partition + post-install for many nodes.

use crate::{
    BootFirmware, Disk, Group, NodeContext, NodeInterface, OsImage, Plugin, PluginRuntime, Result,
};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Mean latency of one warm WASM partition call (fresh store + instantiate + call).
    pub wasm_call: Duration,
    /// Mean latency of one Rhai partition call.
    pub rhai_call: Duration,
    /// Nodes rendered (partition + post-install each).
    pub plans: usize,
    /// Wall time for all of them, spread over the available cores.
    pub plans_total: Duration,
    pub threads: usize,
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "warm WASM hook call:  {:.3} ms",
            self.wasm_call.as_secs_f64() * 1e3
        )?;
        writeln!(
            f,
            "Rhai hook call:       {:.3} ms",
            self.rhai_call.as_secs_f64() * 1e3
        )?;
        write!(
            f,
            "{} plans (partition + post-install) on {} threads: {:.2} s",
            self.plans,
            self.threads,
            self.plans_total.as_secs_f64()
        )
    }
}

/// A plausible node: two NICs, two disks, UEFI on even numbers.
pub fn sample_node(i: usize) -> NodeContext {
    let name = format!("node{:05}", i + 1);
    NodeContext {
        hostname: name.clone(),
        name,
        group: Group {
            name: "compute".into(),
            domain: Some("cluster".into()),
        },
        osimage: OsImage {
            name: "debian12".into(),
            kernel_version: Some("6.1.0-28-amd64".into()),
            distribution: Some("debian".into()),
        },
        firmware: if i.is_multiple_of(2) {
            BootFirmware::Uefi
        } else {
            BootFirmware::Bios
        },
        interfaces: vec![NodeInterface {
            name: "BOOTIF".into(),
            mac: Some(format!(
                "52:54:00:{:02x}:{:02x}:{:02x}",
                (i >> 16) & 0xff,
                (i >> 8) & 0xff,
                i & 0xff
            )),
            addresses: vec![format!("10.141.{}.{}/16", (i + 1) / 256, (i + 1) % 256)],
            network: None,
        }],
        disks: vec![
            Disk {
                device: "/dev/sda".into(),
                size_bytes: 480 << 30,
                model: Some("SSD".into()),
                rotational: false,
                removable: false,
            },
            Disk {
                device: "/dev/sdb".into(),
                size_bytes: 480 << 30,
                model: Some("SSD".into()),
                rotational: false,
                removable: false,
            },
        ],
        bmc: None,
    }
}

/// Measure. `partitioner` and `post_install` are WASM plugins, `rhai_partitioner` a Rhai script
/// defining `partition`; `nodes` is how many plans to render.
pub fn run(
    runtime: &PluginRuntime,
    partitioner: &Plugin,
    post_install: &Plugin,
    rhai_partitioner: &Plugin,
    nodes: usize,
) -> Result<BenchReport> {
    let config = serde_json::json!({});
    let node = sample_node(0);
    let wasm_call = mean(200, || {
        runtime
            .partition_blocking(partitioner, &node, &config)
            .map(drop)
    })?;
    let rhai_call = mean(2000, || {
        runtime
            .partition_blocking(rhai_partitioner, &node, &config)
            .map(drop)
    })?;

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let config = &config;
                scope.spawn(move || -> Result<()> {
                    for i in (t..nodes).step_by(threads) {
                        let node = sample_node(i);
                        let layout = runtime.partition_blocking(partitioner, &node, config)?;
                        runtime.post_install_blocking(post_install, &node, &layout, config)?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join().unwrap_or_else(|_| {
                Err(crate::PluginError::Runtime("bench worker panicked".into()))
            })
        })
    })?;
    Ok(BenchReport {
        wasm_call,
        rhai_call,
        plans: nodes,
        plans_total: started.elapsed(),
        threads,
    })
}

/// Mean of `n` calls after one warm-up call.
fn mean(n: u32, mut f: impl FnMut() -> Result<()>) -> Result<Duration> {
    f()?;
    let started = Instant::now();
    for _ in 0..n {
        f()?;
    }
    Ok(started.elapsed() / n)
}
