//! `luna bench power` and `luna bench switches`: Luna's many-device paths against simulators it
//! starts itself on loopback addresses, next to the sequential command-line baseline, in one run.
//! - power: `power status` of N BMCs (1 in 16 Redfish via sushy-emulator, the rest IPMI via
//!   ipmi_sim) at several concurrencies, versus `ipmitool chassis power status` run for each IPMI
//!   BMC one after another.
//! - switches: poll cycles of N 48-port switches (snmpsim, four switches per agent process)
//!   through the bridge-mib plugin, versus Net-SNMP's `snmpbulkwalk` of the same four tables,
//!   switch after switch.

use crate::discovery::PollStatus;
use crate::model::PluginBinding;
use crate::service::*;
use crate::simulators::{self, Proc};
use crate::store::Store;
use anyhow::{Context, Result, anyhow, bail};
use comfy_table::Table;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// One measured line of a bench, as printed (table) or emitted (`--json`, one object per line).
#[derive(serde::Serialize)]
struct Row {
    what: String,
    devices: usize,
    seconds: f64,
}

/// `unit` names one device ("BMC"); the device column takes its plural.
fn report(rows: &[Row], json: bool, unit: &str) -> Result<()> {
    if json {
        for r in rows {
            println!("{}", serde_json::to_string(r)?);
        }
        return Ok(());
    }
    let mut t = Table::new();
    let plural = if unit.ends_with('h') {
        format!("{unit}es")
    } else {
        format!("{unit}s")
    };
    t.set_header(["measured", &plural, "wall time", &format!("per {unit}")]);
    for r in rows {
        t.add_row([
            r.what.clone(),
            r.devices.to_string(),
            format!("{:.2} s", r.seconds),
            format!("{:.1} ms", r.seconds * 1e3 / r.devices.max(1) as f64),
        ]);
    }
    println!("{t}");
    Ok(())
}

/// A Luna service on a fresh store in `dir`, with the networks and image the benches need.
async fn luna(dir: &Path) -> Result<Luna> {
    let store = Store::open(&format!("surrealkv://{}", dir.join("db").display()))
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let luna = Luna::new(store);
    let e = |e: crate::model::LunaError| anyhow!("{}", e.message);
    luna.cluster_init(ClusterChange::default())
        .await
        .map_err(e)?;
    for (name, cidr) in [("cluster", "10.141.0.0/16"), ("lo", "127.0.0.0/8")] {
        let req = NetworkAdd {
            name: name.into(),
            cidr: cidr.into(),
            ..Default::default()
        };
        luna.network_add(req).await.map_err(e)?;
    }
    let image = crate::bench::image_tree(dir)?;
    let req = OsImageAdd {
        name: "img".into(),
        path: image.display().to_string(),
        ..Default::default()
    };
    luna.osimage_add(req).await.map_err(e)?;
    Ok(luna)
}

/// Installs `<dir>/<package>.wasm` under the package's name.
async fn install(luna: &Luna, plugins: &Path, package: &str) -> Result<()> {
    let file = plugins.join(format!("{}.wasm", package.replace('-', "_")));
    let bytes = std::fs::read(&file).with_context(|| {
        format!(
            "read {}; build the plugins with 'cargo build --release --target wasm32-wasip2 -p {package}' and pass their folder with --plugins",
            file.display()
        )
    })?;
    luna.plugin_install(&file.display().to_string(), Some(package), bytes)
        .await
        .map_err(|e| anyhow!("{}", e.message))?;
    Ok(())
}

/// Loopback address of the i-th simulated IPMI BMC (127.0.10.1, ...).
fn ipmi_ip(i: usize) -> String {
    format!("127.0.{}.{}", 10 + i / 200, 1 + i % 200)
}

fn redfish_ip(i: usize) -> String {
    format!("127.0.40.{}", 1 + i)
}

pub async fn power(bmcs: usize, plugins: &Path, json: bool) -> Result<()> {
    if !(2..=2000).contains(&bmcs) {
        bail!("--bmcs must be between 2 and 2000 (one in 16 is Redfish, at least one of each)");
    }
    let redfish = (bmcs / 16).max(1);
    let ipmi = bmcs - redfish;
    let tmp = tempfile::tempdir()?;
    let ipmi_port = simulators::free_udp_port()?;
    let redfish_port = simulators::free_tcp_port()?;
    eprintln!("starting {ipmi} ipmi_sim and {redfish} sushy-emulator BMCs on loopback ...");
    let mut sims: Vec<Proc> = Vec::new();
    for i in 0..ipmi {
        let dir = tmp.path().join(format!("bmc{i}"));
        sims.push(
            simulators::ipmi_sim(&dir, &ipmi_ip(i), ipmi_port, "", None).map_err(|e| anyhow!(e))?,
        );
    }
    for i in 0..redfish {
        sims.push(simulators::sushy(&redfish_ip(i), redfish_port).map_err(|e| anyhow!(e))?);
    }

    let luna = luna(tmp.path()).await?;
    let e = |e: crate::model::LunaError| anyhow!("{}", e.message);
    install(&luna, plugins, "ipmi-power").await?;
    install(&luna, plugins, "redfish-power").await?;
    for (group, port, plugin, config, count) in [
        ("ipmi", ipmi_port, "ipmi-power", serde_json::json!({}), ipmi),
        (
            "redfish",
            redfish_port,
            "redfish-power",
            serde_json::json!({"scheme": "http"}),
            redfish,
        ),
    ] {
        let setup = BmcSetupAdd {
            name: group.into(),
            user: Some("admin".into()),
            password: Some("secret".into()),
            port: Some(port),
            ..Default::default()
        };
        luna.bmcsetup_add(setup).await.map_err(e)?;
        let add = GroupAdd {
            name: group.into(),
            osimage: "img".into(),
            network: Some("cluster".into()),
            bmcnetwork: Some("lo".into()),
            bmcsetup: Some(group.into()),
            ..Default::default()
        };
        luna.group_add(add).await.map_err(e)?;
        let bind = GroupChange {
            power: Some(PluginBinding {
                plugin: plugin.into(),
                config,
            }),
            ..Default::default()
        };
        luna.group_change(group, bind).await.map_err(e)?;
        let nodes = NodeAdd {
            group: group.into(),
            count: Some(count as u32),
            ..Default::default()
        };
        let added = luna.node_add(nodes).await.map_err(e)?;
        for (i, view) in added.iter().enumerate() {
            let ip = if group == "ipmi" {
                ipmi_ip(i)
            } else {
                redfish_ip(i)
            };
            let change = NodeChange {
                ips: [("BMC".to_string(), ip)].into(),
                ..Default::default()
            };
            luna.node_change(&view.node.name, change).await.map_err(e)?;
        }
    }
    let all: Vec<String> = luna
        .node_list(None)
        .await
        .map_err(e)?
        .into_iter()
        .map(|v| v.node.name)
        .collect();
    let everyone = |concurrency: usize| PowerRequest {
        action: PowerVerb::Status,
        nodes: Some(all.join(",")),
        group: None,
        concurrency: Some(concurrency),
        off: false,
        pxe: false,
    };
    eprintln!("waiting for every BMC to answer ...");
    let started = Instant::now();
    loop {
        let r = luna.node_power(everyone(bmcs)).await.map_err(e)?;
        if r.failed == 0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(180) {
            let first = r.results.iter().find(|r| !r.ok);
            bail!(
                "{} of {bmcs} simulated BMCs still fail after 3 minutes; first: {:?}",
                r.failed,
                first.and_then(|r| r.error.clone())
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let mut rows = Vec::new();
    let mut concurrencies = vec![16, 64, bmcs];
    concurrencies.retain(|c| *c <= bmcs);
    concurrencies.dedup();
    for c in concurrencies {
        let t = Instant::now();
        let r = luna.node_power(everyone(c)).await.map_err(e)?;
        let wall = t.elapsed().as_secs_f64();
        if r.failed > 0 {
            bail!("{} BMCs failed during the measured run", r.failed);
        }
        rows.push(Row {
            what: format!("luna node power status --concurrency {c}"),
            devices: bmcs,
            seconds: wall,
        });
    }
    let t = Instant::now();
    for i in 0..ipmi {
        let out = Command::new("ipmitool")
            .args(["-I", "lanplus", "-C", "3", "-H", &ipmi_ip(i), "-p"])
            .arg(ipmi_port.to_string())
            .args(["-U", "admin", "-P", "secret", "chassis", "power", "status"])
            .output()
            .context("run ipmitool (apt-get install ipmitool)")?;
        if !out.status.success() {
            bail!(
                "ipmitool failed for {}: {}",
                ipmi_ip(i),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let sequential = t.elapsed().as_secs_f64();
    rows.push(Row {
        what: "ipmitool, one BMC after another (IPMI BMCs only)".into(),
        devices: ipmi,
        seconds: sequential,
    });
    rows.push(Row {
        what: "ipmitool sequentially, extrapolated to all".into(),
        devices: bmcs,
        seconds: sequential / ipmi as f64 * bmcs as f64,
    });
    drop(sims);
    report(&rows, json, "BMC")
}

pub async fn switches(count: usize, cycles: usize, plugins: &Path, json: bool) -> Result<()> {
    if !(1..=250).contains(&count) {
        bail!("--switches must be between 1 and 250");
    }
    let cycles = cycles.max(1);
    let tmp = tempfile::tempdir()?;
    std::fs::create_dir_all(tmp.path().join("data"))?;
    let port = simulators::free_udp_port()?;
    let mut endpoints = Vec::new();
    for s in 1..=count {
        // 48 access ports with one MAC each, plus 16 MACs behind uplink 49: 64 per switch.
        let macs: Vec<(u32, String)> = (1..=48u32)
            .map(|p| (p, format!("52:54:{s:02x}:00:00:{p:02x}")))
            .chain((0..16).map(|k| (49, format!("52:55:{s:02x}:00:01:{k:02x}"))))
            .collect();
        std::fs::write(
            tmp.path().join(format!("data/sw{s:03}.snmprec")),
            simulators::switch_records(&format!("sw{s:03}"), &macs),
        )?;
        endpoints.push(format!("127.0.30.{s}:{port}"));
    }
    eprintln!("starting snmpsim for {count} switches on loopback ...");
    // Four switches per agent: one Python snmpsim answering all would be what gets measured.
    let _agents = endpoints
        .chunks(4)
        .map(|e| simulators::snmpsim(tmp.path(), e).map_err(|e| anyhow!(e)))
        .collect::<Result<Vec<Proc>>>()?;

    let luna = luna(tmp.path()).await?;
    let e = |e: crate::model::LunaError| anyhow!("{}", e.message);
    install(&luna, plugins, "bridge-mib").await?;
    for s in 1..=count {
        let name = format!("sw{s:03}");
        let add = SwitchAdd {
            name: name.clone(),
            network: "lo".into(),
            ip: format!("127.0.30.{s}"),
            read: Some(name.clone()),
            uplinks: Some(vec!["49".into()]),
            snmp_port: Some(port),
            ..Default::default()
        };
        luna.switch_add(add).await.map_err(e)?;
        let bind = SwitchChange {
            discovery: Some(PluginBinding {
                plugin: "bridge-mib".into(),
                config: serde_json::json!({}),
            }),
            ..Default::default()
        };
        luna.switch_change(&name, bind).await.map_err(e)?;
    }
    let complete =
        |polls: &[PollStatus]| polls.len() == count && polls.iter().all(|p| p.ok && p.macs == 64);
    eprintln!("waiting for every switch to answer ...");
    let started = Instant::now();
    while !complete(&luna.poll_switches(None).await.map_err(e)?) {
        if started.elapsed() > Duration::from_secs(120) {
            bail!("the simulated switches did not all answer with 64 MACs within 2 minutes");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let mut times = Vec::new();
    for _ in 0..cycles {
        let t = Instant::now();
        let polls = luna.poll_switches(None).await.map_err(e)?;
        times.push(t.elapsed().as_secs_f64());
        if !complete(&polls) {
            bail!("a measured poll cycle missed switches or MACs");
        }
    }
    times.sort_by(f64::total_cmp);
    let mut rows = vec![
        Row {
            what: format!("luna poll cycle, median of {cycles}"),
            devices: count,
            seconds: times[times.len() / 2],
        },
        Row {
            what: format!("luna poll cycle, fastest of {cycles}"),
            devices: count,
            seconds: times[0],
        },
    ];
    let t = Instant::now();
    for s in 1..=count {
        for oid in [
            "1.3.6.1.2.1.17.1.4.1.2",
            "1.3.6.1.2.1.31.1.1.1.1",
            "1.3.6.1.2.1.17.4.3.1.2",
            "1.3.6.1.2.1.17.7.1.2.2.1.2",
        ] {
            let out = Command::new("snmpbulkwalk")
                .args(["-v2c", "-Cr25", "-c", &format!("sw{s:03}")])
                .arg(format!("127.0.30.{s}:{port}"))
                .arg(oid)
                .output()
                .context("run snmpbulkwalk (apt-get install snmp)")?;
            if !out.status.success() {
                bail!(
                    "snmpbulkwalk of sw{s:03} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
    rows.push(Row {
        what: "snmpbulkwalk of the same 4 tables, switch after switch".into(),
        devices: count,
        seconds: t.elapsed().as_secs_f64(),
    });
    report(&rows, json, "switch")
}
