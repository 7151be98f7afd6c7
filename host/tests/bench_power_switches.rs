//! Benchmarks (ignored by default; run with
//! `cargo test --workspace --test bench_power_switches -- --ignored --nocapture`):
//! - `power status` for 256 simulated BMCs (240 ipmi_sim + 16 sushy-emulator, each on its own
//!   loopback address) through `luna node power`, versus ipmitool run sequentially for each IPMI BMC.
//! - One poll cycle of 16 simulated 48-port switches (one snmpsim answering on 16 addresses).

mod common;
mod sims;

use common::Daemon;
use sims::*;
use std::process::Command;
use std::time::{Duration, Instant};

const IPMI_BMCS: usize = 240;
const REDFISH_BMCS: usize = 16;

fn install_plugin(d: &Daemon, package: &str) {
    d.luna(&[
        "plugin",
        "install",
        wasm(package).to_str().unwrap(),
        "--name",
        package,
    ])
    .ok();
}

fn cluster(d: &Daemon) {
    d.luna(&["cluster", "init"]).ok();
    d.luna(&[
        "network",
        "add",
        "-n",
        "cluster",
        "-N",
        "10.141.0.0",
        "-P",
        "16",
    ])
    .ok();
    d.luna(&["network", "add", "-n", "lo", "-N", "127.0.0.0", "-P", "8"])
        .ok();
    let image = common::image_tree(d.dir.path());
    d.luna(&["osimage", "add", "-n", "img", "-p", image.to_str().unwrap()])
        .ok();
}

fn ipmi_ip(i: usize) -> String {
    format!("127.0.{}.{}", 10 + i / 200, 1 + i % 200)
}

#[test]
#[ignore]
fn bench_power_status_256_bmcs() {
    let tmp = tempfile::tempdir().unwrap();
    let ipmi_port = free_udp_port();
    let redfish_port = free_tcp_port();
    let mut sims = Vec::new();
    for i in 0..IPMI_BMCS {
        sims.push(ipmi_sim(
            &tmp.path().join(format!("bmc{i}")),
            &ipmi_ip(i),
            ipmi_port,
        ));
    }
    for i in 0..REDFISH_BMCS {
        sims.push(sushy(&format!("127.0.20.{}", i + 1), redfish_port));
    }

    let d = Daemon::start();
    cluster(&d);
    install_plugin(&d, "ipmi-power");
    install_plugin(&d, "redfish-power");
    for (group, port, plugin, config, count) in [
        ("ipmi", ipmi_port, "ipmi-power", "{}", IPMI_BMCS),
        (
            "redfish",
            redfish_port,
            "redfish-power",
            r#"{"scheme": "http"}"#,
            REDFISH_BMCS,
        ),
    ] {
        let port = port.to_string();
        d.luna(&[
            "bmcsetup",
            "add",
            "-n",
            group,
            "--user",
            "admin",
            "--password",
            "secret",
            "--port",
            &port,
        ])
        .ok();
        d.luna(&["group", "add", "-n", group, "-O", "img", "-N", "cluster"])
            .ok();
        d.luna(&[
            "group",
            "change",
            group,
            "-b",
            group,
            "--bmcnetwork",
            "lo",
            "--power",
            plugin,
            "--plugin-config",
            config,
        ])
        .ok();
        d.luna(&["node", "add", "-g", group, "--count", &count.to_string()])
            .ok();
    }
    let nodes = d.json(&["node", "list"]);
    for (i, n) in nodes.as_array().unwrap().iter().enumerate() {
        let ip = if i < IPMI_BMCS {
            ipmi_ip(i)
        } else {
            format!("127.0.20.{}", i - IPMI_BMCS + 1)
        };
        d.luna(&[
            "node",
            "change",
            n["name"].as_str().unwrap(),
            "--ip",
            &format!("BMC={ip}"),
        ])
        .ok();
    }
    let all = format!("node[001-{:03}]", IPMI_BMCS + REDFISH_BMCS);
    wait_for(Duration::from_secs(120), "all simulated BMCs", || {
        (d.luna(&["-o", "json", "node", "power", "status", &all])
            .code
            == 0)
            .then_some(())
    });

    let mut luna_times = Vec::new();
    for concurrency in ["16", "64", "256"] {
        let t = Instant::now();
        let r = d.luna(&[
            "-o",
            "json",
            "node",
            "power",
            "status",
            &all,
            "--concurrency",
            concurrency,
        ]);
        let wall = t.elapsed();
        assert_eq!(r.code, 0, "{}", r.stderr);
        luna_times.push((concurrency, wall));
    }

    let t = Instant::now();
    for i in 0..IPMI_BMCS {
        let out = Command::new("ipmitool")
            .args([
                "-I",
                "lanplus",
                "-C",
                "3",
                "-H",
                &ipmi_ip(i),
                "-p",
                &ipmi_port.to_string(),
            ])
            .args(["-U", "admin", "-P", "secret", "chassis", "power", "status"])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    let sequential = t.elapsed();
    let per_bmc = sequential / IPMI_BMCS as u32;

    eprintln!(
        "power status, {} BMCs ({IPMI_BMCS} IPMI + {REDFISH_BMCS} Redfish):",
        IPMI_BMCS + REDFISH_BMCS
    );
    for (c, w) in &luna_times {
        eprintln!(
            "  luna node power status --concurrency {c}: {:.2} s",
            w.as_secs_f64()
        );
    }
    eprintln!(
        "  ipmitool sequentially, {IPMI_BMCS} IPMI BMCs: {:.2} s ({:.0} ms each; {:.2} s extrapolated to 256)",
        sequential.as_secs_f64(),
        per_bmc.as_secs_f64() * 1e3,
        per_bmc.as_secs_f64() * 256.0
    );
    drop(sims);
}

#[test]
#[ignore]
fn bench_poll_cycle_16_switches() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("data")).unwrap();
    let port = free_udp_port();
    let mut endpoints = Vec::new();
    for s in 1..=16u32 {
        let macs: Vec<(u32, String)> = (1..=48)
            .map(|p| (p, format!("52:54:{s:02x}:00:00:{p:02x}")))
            .chain((0..16).map(|k| (49, format!("52:55:{s:02x}:00:01:{k:02x}"))))
            .collect();
        std::fs::write(
            tmp.path().join(format!("data/sw{s:02}.snmprec")),
            switch_records(&format!("sw{s:02}"), &macs),
        )
        .unwrap();
        endpoints.push(format!("127.0.30.{s}:{port}"));
    }
    // Four agents of four switches each: one Python snmpsim answering all 16 would be the
    // bottleneck being measured.
    let _agents: Vec<Proc> = endpoints
        .chunks(4)
        .map(|e| snmpsim(tmp.path(), e))
        .collect();
    // A long interval: the cycles measured are the ones asked for.
    let d = Daemon::start_with("[discovery]\npoll_interval = 3600\n", None);
    cluster(&d);
    install_plugin(&d, "bridge-mib");
    for s in 1..=16u32 {
        let name = format!("sw{s:02}");
        d.luna(&[
            "switch",
            "add",
            "-n",
            &name,
            "-N",
            "lo",
            "--ip",
            &format!("127.0.30.{s}"),
            "--snmp-port",
            &port.to_string(),
            "--read",
            &name,
            "--uplink",
            "49",
        ])
        .ok();
        d.luna(&["switch", "change", &name, "--discovery", "bridge-mib"])
            .ok();
    }
    let http = reqwest::Client::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let token = d.token();
    let cycle = || {
        rt.block_on(async {
            let t = Instant::now();
            let v: serde_json::Value = http
                .post(format!("{}/api/v1/cluster/macs/poll", d.url))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (t.elapsed(), v)
        })
    };
    wait_for(Duration::from_secs(60), "all 16 switches answering", || {
        let (_, v) = cycle();
        v.as_array()
            .is_some_and(|a| a.len() == 16 && a.iter().all(|s| s["ok"] == true && s["macs"] == 64))
            .then_some(())
    });
    let mut times = Vec::new();
    for _ in 0..5 {
        times.push(cycle().0);
    }
    let table = d.json(&["cluster", "listmacs"]);
    assert_eq!(table.as_array().unwrap().len(), 16 * 64);
    times.sort();
    // Baseline: Net-SNMP's snmpbulkwalk of the same four tables, switch after switch.
    let t = Instant::now();
    for s in 1..=16u32 {
        for oid in [
            "1.3.6.1.2.1.17.1.4.1.2",
            "1.3.6.1.2.1.31.1.1.1.1",
            "1.3.6.1.2.1.17.4.3.1.2",
            "1.3.6.1.2.1.17.7.1.2.2.1.2",
        ] {
            let out = Command::new("snmpbulkwalk")
                .args(["-v2c", "-Cr25", "-c", &format!("sw{s:02}")])
                .arg(format!("127.0.30.{s}:{port}"))
                .arg(oid)
                .output()
                .expect("snmpbulkwalk (apt-get install snmp)");
            assert!(out.status.success());
        }
    }
    eprintln!(
        "snmpbulkwalk of the same tables, switch after switch: {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    eprintln!(
        "poll cycle, 16 switches x 48 ports (64 MACs each): median {:.0} ms, min {:.0} ms, max {:.0} ms",
        times[2].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[4].as_secs_f64() * 1e3
    );
}
