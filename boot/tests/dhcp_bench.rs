//! DHCP throughput with Kea's `perfdhcp` against luna-boot and against dnsmasq on the same
//! namespace link and range. Ignored by default (slow, and meaningful only in release):
//! `cargo test --release -p luna-boot --test dhcp_bench -- --ignored --nocapture`
//! Environment: LUNA_BENCH_RATE (exchanges/s, default 0 = as fast as possible),
//! LUNA_BENCH_SECS (default 10), LUNA_BENCH_CLIENTS (default 30000).

mod support;

use luna_boot::dhcp::{
    DhcpConfig, DhcpListen, DhcpRange, DhcpServer, DhcpSubnet, MemoryLeaseStore, StaticDirectory,
};
use std::process::{Command, Stdio};
use std::sync::Arc;
use support::netns::{Netns, NsRuntime, can_run, have_tool, veth};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs perfdhcp from the client namespace; returns its report.
fn perfdhcp(client: &Netns) -> String {
    let rate = env("LUNA_BENCH_RATE", 0);
    let secs = env("LUNA_BENCH_SECS", 10);
    let clients = env("LUNA_BENCH_CLIENTS", 30_000);
    let mut args = vec![
        "perfdhcp".to_string(),
        "-4".into(),
        "-l".into(),
        "10.99.1.50".into(),
        "-R".into(),
        clients.to_string(),
        "-p".into(),
        secs.to_string(),
    ];
    if rate > 0 {
        args.push("-r".into());
        args.push(rate.to_string());
    }
    args.push("10.99.1.1".into());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = client.run(&refs);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn summary(report: &str) -> String {
    report
        .lines()
        .filter(|l| {
            l.contains("Rate:")
                || l.contains("sent packets")
                || l.contains("received packets")
                || l.contains("drops")
                || l.contains("avg delay")
                || l.contains("max delay")
        })
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n  ")
}

fn lab() -> (Netns, Netns) {
    let srv = Netns::new("bsrv");
    let cli = Netns::new("bcli");
    veth(
        &srv,
        "s0",
        "10.99.1.1/16",
        &cli,
        "c0",
        None,
        Some("10.99.1.50/16"),
    );
    (srv, cli)
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture in release"]
fn perfdhcp_luna_vs_dnsmasq() {
    if !can_run("DHCP benchmark")
        || !have_tool("perfdhcp", "kea-admin")
        || !have_tool("dnsmasq", "dnsmasq")
    {
        return;
    }
    // Luna.
    let (srv, cli) = lab();
    let config = DhcpConfig {
        listen: vec![DhcpListen {
            interface: "s0".into(),
            server_ip: None,
        }],
        subnets: vec![DhcpSubnet {
            network: "10.99.0.0/16".parse().unwrap(),
            range: Some(DhcpRange {
                start: "10.99.16.1".parse().unwrap(),
                end: "10.99.255.254".parse().unwrap(),
            }),
            routers: vec![],
            dns_servers: vec![],
            domain: None,
        }],
        ..DhcpConfig::default()
    };
    let server = NsRuntime::start(&srv, move || async move {
        DhcpServer::start(
            config,
            Arc::new(StaticDirectory::default()),
            Arc::new(MemoryLeaseStore::new()),
        )
        .await
        .expect("DHCP starts")
    });
    let luna = perfdhcp(&cli);
    drop(server);
    drop(cli);
    drop(srv);

    // dnsmasq, same link, same range, lease file on tmpfs.
    let (srv, cli) = lab();
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    let leases = dir.path().join("dnsmasq.leases");
    let mut dnsmasq = srv
        .command("dnsmasq")
        .args([
            "--no-daemon",
            "--port=0",
            "--interface=s0",
            "--bind-interfaces",
        ])
        .args([
            "--dhcp-authoritative",
            "--dhcp-range=10.99.16.1,10.99.255.254,255.255.0.0,1h",
        ])
        .args([
            "--dhcp-lease-max=100000",
            "--log-facility=/dev/null",
            "--no-ping",
        ])
        .arg(format!("--dhcp-leasefile={}", leases.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dnsmasq");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let reference = perfdhcp(&cli);
    let _ = Command::new("kill").arg(dnsmasq.id().to_string()).status();
    let _ = dnsmasq.wait();

    drop(cli);
    drop(srv);

    // Kea, memfile leases without persistence.
    let kea = if have_tool("kea-dhcp4", "kea-dhcp4-server") {
        let (srv, cli) = lab();
        let conf = dir.path().join("kea.json");
        let socket = dir.path().join("kea.sock");
        std::fs::write(
            &conf,
            format!(
                r#"{{"Dhcp4": {{
                  "interfaces-config": {{"interfaces": ["s0"], "dhcp-socket-type": "udp"}},
                  "lease-database": {{"type": "memfile", "persist": false}},
                  "control-socket": {{"socket-type": "unix", "socket-name": "{}"}},
                  "valid-lifetime": 3600,
                  "subnet4": [{{"id": 1, "subnet": "10.99.0.0/16",
                                "pools": [{{"pool": "10.99.16.1 - 10.99.255.254"}}]}}],
                  "loggers": [{{"name": "kea-dhcp4", "severity": "ERROR",
                                "output_options": [{{"output": "stderr"}}]}}]
                }}}}"#,
                socket.display()
            ),
        )
        .unwrap();
        let mut kea = srv
            .command("kea-dhcp4")
            .args(["-c", conf.to_str().unwrap()])
            .env("KEA_PIDFILE_DIR", dir.path())
            .env("KEA_LOCKFILE_DIR", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start kea");
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let report = perfdhcp(&cli);
        let _ = Command::new("kill").arg(kea.id().to_string()).status();
        let _ = kea.wait();
        Some(report)
    } else {
        None
    };

    println!("\nperfdhcp against luna-boot:\n  {}", summary(&luna));
    println!("\nperfdhcp against dnsmasq:\n  {}", summary(&reference));
    if let Some(kea) = kea {
        println!("\nperfdhcp against kea-dhcp4:\n  {}", summary(&kea));
    }
    assert!(
        luna.contains("Rate:"),
        "perfdhcp produced no report:\n{luna}"
    );
}
