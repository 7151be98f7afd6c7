//! The authoritative DNS server against `dig` on loopback: A, AAAA, PTR (IPv4 and IPv6), SOA
//! serials, TCP, live reload, and garbage queries that must not stop it.

use luna_boot::dns::{DnsConfig, DnsServer, ForwardZone, HostEntry, HostKind, ZoneSet};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

fn zones() -> ZoneSet {
    ZoneSet {
        nameserver: "luna.cluster".into(),
        hostmaster: None,
        ttl: 300,
        zones: vec![
            ForwardZone {
                name: "cluster".into(),
                networks: vec![
                    "10.99.1.0/24".parse().unwrap(),
                    "fd99::/64".parse().unwrap(),
                ],
                hosts: vec![
                    host("luna", &["10.99.1.1"], HostKind::NameServer),
                    host("node001", &["10.99.1.21", "fd99::21"], HostKind::Node),
                    host("switch01", &["10.99.1.250"], HostKind::Switch),
                ],
            },
            ForwardZone {
                name: "ipmi".into(),
                networks: vec!["10.99.2.0/24".parse().unwrap()],
                hosts: vec![host("node001", &["10.99.2.21"], HostKind::Bmc)],
            },
        ],
    }
}

fn host(name: &str, ips: &[&str], kind: HostKind) -> HostEntry {
    HostEntry {
        name: name.into(),
        addresses: ips.iter().map(|s| s.parse().unwrap()).collect(),
        kind,
    }
}

fn dig(addr: SocketAddr, args: &[&str]) -> String {
    let out = Command::new("dig")
        .args([
            &format!("@{}", addr.ip()),
            "-p",
            &addr.port().to_string(),
            "+time=2",
            "+tries=1",
        ])
        .args(args)
        .output()
        .expect("run dig");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn short(addr: SocketAddr, args: &[&str]) -> String {
    let mut a = args.to_vec();
    a.push("+short");
    dig(addr, &a).trim().to_string()
}

fn have_dig() -> bool {
    assert!(
        Path::new("/usr/bin/dig").exists(),
        "dig is not installed: apt-get install bind9-dnsutils"
    );
    true
}

async fn start(serial: u32) -> DnsServer {
    let config = DnsConfig {
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        ..DnsConfig::default()
    };
    DnsServer::start(&config, &zones(), serial)
        .await
        .expect("DNS server starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dig_gets_a_aaaa_ptr_and_soa() {
    if !have_dig() {
        return;
    }
    let server = start(2026112500).await;
    let addr = server.local_addrs()[0];
    tokio::task::spawn_blocking(move || {
        assert_eq!(short(addr, &["node001.cluster", "A"]), "10.99.1.21");
        assert_eq!(short(addr, &["node001.cluster", "AAAA"]), "fd99::21");
        assert_eq!(short(addr, &["node001.ipmi", "A"]), "10.99.2.21");
        assert_eq!(short(addr, &["-x", "10.99.1.21"]), "node001.cluster.");
        assert_eq!(short(addr, &["-x", "10.99.2.21"]), "node001.ipmi.");
        assert_eq!(short(addr, &["-x", "fd99::21"]), "node001.cluster.");
        assert_eq!(short(addr, &["-x", "10.99.1.250"]), "switch01.cluster.");
        let soa = short(addr, &["cluster", "SOA"]);
        assert!(
            soa.starts_with("luna.cluster. hostmaster.cluster. 2026112500 "),
            "{soa}"
        );
        assert_eq!(short(addr, &["cluster", "NS"]), "luna.cluster.");
        let full = dig(addr, &["node001.cluster", "A"]);
        assert!(
            full.contains("flags: qr aa"),
            "authoritative answer expected: {full}"
        );
        let missing = dig(addr, &["nosuch.cluster", "A"]);
        assert!(missing.contains("status: NXDOMAIN"), "{missing}");
        let tcp = short(addr, &["+tcp", "node001.cluster", "A"]);
        assert_eq!(tcp, "10.99.1.21");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_replaces_zones_while_serving() {
    if !have_dig() {
        return;
    }
    let server = start(2026112500).await;
    let addr = server.local_addrs()[0];
    let mut changed = zones();
    changed.zones[0]
        .hosts
        .push(host("node002", &["10.99.1.22"], HostKind::Node));
    server.reload(&changed, 2026112501).unwrap();
    tokio::task::spawn_blocking(move || {
        assert_eq!(short(addr, &["node002.cluster", "A"]), "10.99.1.22");
        assert_eq!(short(addr, &["-x", "10.99.1.22"]), "node002.cluster.");
        let soa = short(addr, &["cluster", "SOA"]);
        assert!(soa.contains(" 2026112501 "), "{soa}");
    })
    .await
    .unwrap();
    // Bad data is refused and the old zones keep serving.
    let mut bad = zones();
    bad.zones[0].hosts[1].name = "no spaces allowed".into();
    assert!(server.reload(&bad, 2026112502).is_err());
    tokio::task::spawn_blocking(move || {
        assert_eq!(short(addr, &["node002.cluster", "A"]), "10.99.1.22");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_queries_do_not_stop_the_server() {
    if !have_dig() {
        return;
    }
    let server = start(1).await;
    let addr = server.local_addrs()[0];
    tokio::task::spawn_blocking(move || {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        // A real query for node001.cluster A, then mutations of it and random bytes.
        let valid: Vec<u8> = [
            &[0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0][..],
            b"\x07node001\x07cluster\x00",
            &[0, 1, 0, 1],
        ]
        .concat();
        let mut x: u64 = 0xdead_beef_cafe_f00d;
        for i in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let p = if i % 2 == 0 {
                (0..(x % 512) as usize)
                    .map(|j| (x >> (j % 60)) as u8)
                    .collect()
            } else {
                let mut p = valid.clone();
                let at = (x as usize) % p.len();
                p[at] = (x >> 9) as u8;
                p.truncate(((x >> 20) as usize % p.len()) + 1);
                p
            };
            let _ = sock.send_to(&p, addr);
        }
        // The server may still be draining the flood from its socket queue (slow under load):
        // it must answer again, so ask until it does, for a bounded time.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut answer = short(addr, &["node001.cluster", "A"]);
        while answer != "10.99.1.21" && std::time::Instant::now() < deadline {
            answer = short(addr, &["node001.cluster", "A"]);
        }
        assert_eq!(
            answer, "10.99.1.21",
            "the server stopped answering after the flood"
        );
    })
    .await
    .unwrap();
}
