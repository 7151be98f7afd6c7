//! Real DHCP clients (busybox udhcpc, ISC dhclient) against our server, each in namespaces the
//! test creates: fixed leases, boot files by firmware, the iPXE URL, the dynamic range, and the
//! next-server of the interface a request arrived on.

mod support;

use luna_boot::dhcp::{
    DhcpConfig, DhcpListen, DhcpRange, DhcpServer, DhcpSubnet, FixedLease, MemoryLeaseStore,
    StaticDirectory,
};
use std::collections::HashMap;
use std::sync::Arc;
use support::dhcp_client::{parse_env, udhcpc};
use support::netns::{Netns, NsRuntime, can_run, have_tool, veth};

const KNOWN_MAC: &str = "52:54:00:aa:00:01";
const UNKNOWN_MAC: &str = "52:54:00:bb:00:02";

fn subnet(net: &str, range: Option<(&str, &str)>) -> DhcpSubnet {
    DhcpSubnet {
        network: net.parse().unwrap(),
        range: range.map(|(s, e)| DhcpRange {
            start: s.parse().unwrap(),
            end: e.parse().unwrap(),
        }),
        routers: vec![],
        dns_servers: vec!["10.99.1.1".parse().unwrap()],
        domain: Some("cluster".into()),
    }
}

fn directory() -> StaticDirectory {
    StaticDirectory::new([(
        KNOWN_MAC.parse().unwrap(),
        FixedLease {
            ip: "10.99.1.21".parse().unwrap(),
            hostname: Some("node001".into()),
            boot_file: None,
        },
    )])
}

/// Server namespace with one link 10.99.1.0/24 to a client namespace whose NIC has `mac`.
struct OneLink {
    _server: NsRuntime,
    stats: Arc<luna_boot::dhcp::DhcpStats>,
    client: Netns,
    _srv_ns: Netns,
    store: Arc<MemoryLeaseStore>,
}

fn one_link(mac: &str) -> OneLink {
    let srv_ns = Netns::new("srv");
    let client = Netns::new("cli");
    veth(
        &srv_ns,
        "s0",
        "10.99.1.1/24",
        &client,
        "c0",
        Some(mac),
        None,
    );
    let store = Arc::new(MemoryLeaseStore::new());
    let config = DhcpConfig {
        listen: vec![DhcpListen {
            interface: "s0".into(),
            server_ip: None,
        }],
        subnets: vec![subnet("10.99.1.0/24", Some(("10.99.1.200", "10.99.1.210")))],
        ..DhcpConfig::default()
    };
    let store2 = store.clone();
    let (stats_tx, stats_rx) = std::sync::mpsc::channel();
    let server = NsRuntime::start(&srv_ns, move || async move {
        let server = DhcpServer::start(config, Arc::new(directory()), store2)
            .await
            .expect("DHCP server starts");
        stats_tx.send(server.stats()).unwrap();
        server
    });
    OneLink {
        _server: server,
        stats: stats_rx.recv().unwrap(),
        client,
        _srv_ns: srv_ns,
        store,
    }
}

#[test]
fn udhcpc_gets_fixed_address_and_boot_file_per_firmware() {
    if !can_run("udhcpc test") || !have_tool("busybox", "busybox-static") {
        return;
    }
    let lab = one_link(KNOWN_MAC);
    let bios = udhcpc(
        &lab.client,
        &["-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000"],
    );
    assert_eq!(bios["ip"], "10.99.1.21");
    assert_eq!(bios["siaddr"], "10.99.1.1");
    assert_eq!(bios["boot_file"], "undionly.kpxe");
    assert_eq!(bios["hostname"], "node001");
    assert_eq!(bios["subnet"], "255.255.255.0");
    for arch in ["0007", "0009"] {
        let efi = udhcpc(&lab.client, &["-x", &format!("0x5d:{arch}")]);
        assert_eq!(efi["ip"], "10.99.1.21");
        assert_eq!(efi["boot_file"], "ipxe.efi", "arch {arch}");
    }
    // iPXE (user class "iPXE", hex 69505845) gets the HTTP boot URL of this interface.
    let ipxe = udhcpc(&lab.client, &["-x", "0x4d:69505845", "-x", "0x5d:0007"]);
    assert_eq!(ipxe["boot_file"], "http://10.99.1.1:7050/boot/ipxe");
    // A plain client (no PXE options) gets an address and no boot file.
    let plain = udhcpc(&lab.client, &[]);
    assert_eq!(plain["ip"], "10.99.1.21");
    assert!(!plain.contains_key("boot_file"), "{plain:?}");
    assert!(
        lab.store.snapshot().is_empty(),
        "fixed leases are not stored"
    );
}

#[test]
fn udhcpc_unknown_machine_gets_a_range_address_that_is_persisted() {
    if !can_run("udhcpc range test") || !have_tool("busybox", "busybox-static") {
        return;
    }
    let lab = one_link(UNKNOWN_MAC);
    let env = udhcpc(&lab.client, &["-x", "0x5d:0000"]);
    let ip: std::net::Ipv4Addr = env["ip"].parse().unwrap();
    assert!(
        in_range(ip, "10.99.1.200", "10.99.1.210"),
        "{ip} is outside the dynamic range"
    );
    let leases = lab.store.snapshot();
    assert_eq!(leases.len(), 1);
    assert_eq!(leases[0].mac.to_string(), UNKNOWN_MAC);
    assert_eq!(leases[0].ip, ip);
    // Asking again keeps the same address.
    let again = udhcpc(&lab.client, &[]);
    assert_eq!(again["ip"], ip.to_string());
}

/// Runs ISC dhclient once with `conf` as its configuration; returns the script environment of
/// the BOUND event.
fn dhclient(ns: &Netns, conf: &str) -> HashMap<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("env");
    let script = dir.path().join("script.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ncase \"$reason\" in BOUND|REBOOT) env > {} ;; esac\nexit 0\n",
            out.display()
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    let cf = dir.path().join("dhclient.conf");
    std::fs::write(&cf, conf).unwrap();
    let pf = dir.path().join("pid");
    let lf = dir.path().join("leases");
    let p = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let res = ns
        .command("dhclient")
        .args([
            "-4",
            "-1",
            "-v",
            "-d",
            "-sf",
            &p(&script),
            "-cf",
            &p(&cf),
            "-lf",
            &p(&lf),
        ])
        .args(["-pf", &p(&pf), "c0"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn dhclient");
    let mut child = res;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !out.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    parse_env(&std::fs::read_to_string(&out).expect("dhclient bound within 20 s"))
}

const DHCLIENT_UEFI: &str = r#"
option pxe-arch code 93 = unsigned integer 16;
send pxe-arch 7;
send vendor-class-identifier "PXEClient:Arch:00007:UNDI:003016";
request subnet-mask, broadcast-address, domain-name-servers, domain-name, host-name;
"#;

#[test]
fn dhclient_gets_fixed_address_with_uefi_boot_file() {
    if !can_run("dhclient test") || !have_tool("dhclient", "isc-dhcp-client") {
        return;
    }
    let lab = one_link(KNOWN_MAC);
    let env = dhclient(&lab.client, DHCLIENT_UEFI);
    assert_eq!(env["new_ip_address"], "10.99.1.21", "{env:?}");
    assert_eq!(env["new_filename"], "ipxe.efi", "{env:?}");
    assert_eq!(env["new_host_name"], "node001");
    assert_eq!(env["new_domain_name_servers"], "10.99.1.1");
}

#[test]
fn dhclient_unknown_machine_gets_a_range_address() {
    if !can_run("dhclient range test") || !have_tool("dhclient", "isc-dhcp-client") {
        return;
    }
    let lab = one_link(UNKNOWN_MAC);
    let env = dhclient(&lab.client, "request subnet-mask;\n");
    let ip: std::net::Ipv4Addr = env["new_ip_address"].parse().unwrap();
    assert!(in_range(ip, "10.99.1.200", "10.99.1.210"), "{ip}");
    assert!(
        !env.contains_key("new_filename"),
        "plain client gets no boot file"
    );
}

#[test]
fn next_server_is_the_address_of_the_arrival_interface() {
    if !can_run("multi-homed test") || !have_tool("busybox", "busybox-static") {
        return;
    }
    let srv_ns = Netns::new("srv");
    let a = Netns::new("a");
    let b = Netns::new("b");
    veth(
        &srv_ns,
        "s0",
        "10.99.1.1/24",
        &a,
        "c0",
        Some("52:54:00:cc:00:01"),
        None,
    );
    veth(
        &srv_ns,
        "s1",
        "10.99.2.1/24",
        &b,
        "c0",
        Some("52:54:00:cc:00:02"),
        None,
    );
    let config = DhcpConfig {
        listen: ["s0", "s1"]
            .iter()
            .map(|i| DhcpListen {
                interface: i.to_string(),
                server_ip: None,
            })
            .collect(),
        subnets: vec![
            subnet("10.99.1.0/24", Some(("10.99.1.100", "10.99.1.110"))),
            subnet("10.99.2.0/24", Some(("10.99.2.100", "10.99.2.110"))),
        ],
        ..DhcpConfig::default()
    };
    let _server = NsRuntime::start(&srv_ns, move || async move {
        DhcpServer::start(
            config,
            Arc::new(StaticDirectory::default()),
            Arc::new(MemoryLeaseStore::new()),
        )
        .await
        .expect("DHCP server starts")
    });
    let ea = udhcpc(&a, &["-x", "0x4d:69505845"]);
    let eb = udhcpc(&b, &["-x", "0x4d:69505845"]);
    assert!(ea["ip"].starts_with("10.99.1."), "{ea:?}");
    assert_eq!(ea["siaddr"], "10.99.1.1");
    assert_eq!(ea["serverid"], "10.99.1.1");
    assert_eq!(ea["boot_file"], "http://10.99.1.1:7050/boot/ipxe");
    assert!(eb["ip"].starts_with("10.99.2."), "{eb:?}");
    assert_eq!(eb["siaddr"], "10.99.2.1");
    assert_eq!(eb["boot_file"], "http://10.99.2.1:7050/boot/ipxe");
}

fn in_range(ip: std::net::Ipv4Addr, start: &str, end: &str) -> bool {
    let start: std::net::Ipv4Addr = start.parse().unwrap();
    let end: std::net::Ipv4Addr = end.parse().unwrap();
    ip >= start && ip <= end
}

#[test]
fn malformed_packets_are_dropped_and_serving_continues() {
    if !can_run("DHCP fuzz test") || !have_tool("busybox", "busybox-static") {
        return;
    }
    let lab = one_link(KNOWN_MAC);
    lab.client
        .run_ok(&["ip", "addr", "add", "10.99.1.50/24", "dev", "c0"]);
    let name = lab.client.name.clone();
    std::thread::spawn(move || {
        let file = std::fs::File::open(format!("/run/netns/{name}")).unwrap();
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let sock = std::net::UdpSocket::bind("10.99.1.50:0").unwrap();
        let mut x: u64 = 0x1234_5678_9abc_def1;
        // A DISCOVER from udhcpc's point of view: BOOTREQUEST, Ethernet, cookie, options.
        let mut valid = vec![1u8, 1, 6, 0];
        valid.extend_from_slice(&[0; 24]);
        valid.extend_from_slice(&[0x52, 0x54, 0, 0xaa, 0, 1]);
        valid.extend_from_slice(&[0; 10 + 64 + 128]);
        valid.extend_from_slice(&[
            99, 130, 83, 99, 53, 1, 1, 93, 2, 0, 7, 81, 1, 0, 91, 1, 0, 255,
        ]);
        for i in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut p = valid.clone();
            if i % 3 == 0 {
                p = (0..(x % 700) as usize)
                    .map(|j| (x >> (j % 50)) as u8)
                    .collect();
            } else {
                for k in 0..(x % 6) {
                    let at = ((x >> (k * 8)) as usize) % p.len();
                    p[at] = (x >> 3) as u8;
                }
                if i % 5 == 0 {
                    p.truncate((x as usize) % p.len());
                }
            }
            let _ = sock.send_to(&p, "10.99.1.1:67");
        }
    })
    .join()
    .unwrap();
    let env = udhcpc(&lab.client, &["-x", "0x5d:0000"]);
    assert_eq!(env["ip"], "10.99.1.21");
    assert_eq!(env["boot_file"], "undionly.kpxe");
    let malformed = lab
        .stats
        .malformed
        .load(std::sync::atomic::Ordering::Relaxed);
    let received = lab
        .stats
        .received
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(malformed > 500, "malformed {malformed} of {received}");
}
