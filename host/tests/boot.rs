//! Boot services through the real daemon: `/boot/ipxe` for known, unknown, localboot and service
//! nodes, claiming, boot files, DHCP ranges kept out of node addresses, DNS (dig), TFTP (tftp-hpa),
//! the exporters against the real tools, and real DHCP clients in namespaces this test creates.

mod common;

// Namespace and udhcpc helpers shared with luna-boot's own tests.
#[path = "../../boot/tests/support/dhcp_client.rs"]
mod dhcp_client;
#[allow(dead_code)]
#[path = "../../boot/tests/support/netns.rs"]
mod netns;

use common::*;
use dhcp_client::{parse_env, udhcpc};
use netns::{Netns, can_run, have_tool, veth};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const KNOWN_MAC: &str = "52:54:00:aa:00:01";
const UNKNOWN_MAC: &str = "52:54:00:bb:00:09";

/// GET over plain HTTP (a fresh runtime per call: the daemon is another process anyway).
fn get(url: &str) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::get(url).await.expect("daemon answers");
        let status = r.status().as_u16();
        (status, r.text().await.unwrap())
    })
}

/// Polls until `f` holds: the daemon reloads its boot directory shortly after each change.
#[track_caller]
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not happen within 10 s");
}

/// Cluster with network `cluster` (10.99.10.0/24, range .200-.250), image, group, nodes.
fn seed(d: &Daemon, frontend: &str, port: u16) {
    let image = image_tree(d.dir.path());
    d.luna(&[
        "cluster",
        "init",
        "--frontend-address",
        frontend,
        "--frontend-port",
        &port.to_string(),
    ])
    .ok();
    d.luna(&[
        "network",
        "add",
        "-n",
        "cluster",
        "-N",
        "10.99.10.0/24",
        "--ns-ip",
        "10.99.10.1",
        "--dhcp-range",
        "10.99.10.200-10.99.10.250",
    ])
    .ok();
    d.luna(&[
        "osimage",
        "add",
        "-n",
        "compute",
        "-p",
        image.to_str().unwrap(),
        "--kernopts",
        "console=ttyS0",
    ])
    .ok();
    d.luna(&[
        "group", "add", "-n", "compute", "-O", "compute", "-N", "cluster",
    ])
    .ok();
    d.luna(&[
        "node", "add", "-g", "compute", "-n", "node001", "--mac", KNOWN_MAC,
    ])
    .ok();
}

fn bootif_ip(d: &Daemon, node: &str) -> String {
    let v = d.json(&["node", "show", node]);
    addrs(&v)
        .into_iter()
        .find(|(i, _)| i == "BOOTIF")
        .map(|(_, ip)| ip)
        .expect("node has a BOOTIF address")
}

#[test]
fn dhcp_range_is_reserved_out_of_node_addresses_and_clearable() {
    let d = Daemon::start();
    seed(&d, "127.0.0.1", d.port);
    let net = d.json(&["network", "show", "cluster"]);
    assert_eq!(net["dhcp_range"], "10.99.10.200-10.99.10.250");
    assert!(
        net["reserved"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "10.99.10.200-10.99.10.250"),
        "{net}"
    );
    // 201 more nodes fill .3-.199 and .251-.254, then the network is full: never the range.
    let out = d.luna(&["node", "add", "-g", "compute", "--count", "201"]);
    out.ok();
    for n in d.json(&["node", "list"]).as_array().unwrap() {
        for (_, ip) in addrs(n) {
            let last: u32 = ip.rsplit('.').next().unwrap().parse().unwrap();
            assert!(!(200..=250).contains(&last), "{ip} is in the DHCP range");
        }
    }
    d.luna(&["node", "add", "-g", "compute", "-n", "full"])
        .fails(5, &["cluster"]);
    // A range over taken addresses is refused with nothing changed.
    d.luna(&[
        "network",
        "change",
        "cluster",
        "--dhcp-range",
        "10.99.10.5-10.99.10.9",
    ])
    .fails(5, &["10.99.10.5", "already taken"]);
    assert_eq!(
        d.json(&["network", "show", "cluster"])["dhcp_range"],
        "10.99.10.200-10.99.10.250"
    );
    d.luna(&[
        "network",
        "change",
        "cluster",
        "--dhcp-range",
        "10.99.11.1-10.99.11.9",
    ])
    .fails(3, &["10.99.11.1"]);
    d.luna(&[
        "network",
        "change",
        "cluster",
        "--dhcp-range",
        "10.99.10.9-10.99.10.5",
    ])
    .fails(3, &["ends before it starts"]);
    // Clearing frees the addresses for nodes again.
    d.luna(&["network", "change", "cluster", "--dhcp-range", ""])
        .ok();
    let net = d.json(&["network", "show", "cluster"]);
    assert!(net.get("dhcp_range").is_none_or(Value::is_null), "{net}");
    d.luna(&["node", "add", "-g", "compute", "-n", "late"]).ok();
    let ip = bootif_ip(&d, "late");
    assert!(ip.starts_with("10.99.10.2"), "{ip}");
}

#[test]
fn boot_ipxe_serves_known_unknown_localboot_and_service_scripts() {
    let d = Daemon::start();
    seed(&d, "127.0.0.1", d.port);
    d.luna(&["node", "add", "-g", "compute", "-n", "node[002-003]"])
        .ok();
    let base = d.url.clone();

    // No identity yet: the chain script that gathers it.
    let (status, chain) = get(&format!("{base}/boot/ipxe"));
    assert_eq!(status, 200);
    assert!(chain.contains(&format!("chain --replace --autofree {base}/boot/ipxe?mac=")));

    // Known MAC (iPXE's hyphen form): the install script, identical to `node show --script boot`.
    let url = format!("{base}/boot/ipxe?mac=52-54-00-aa-00-01&serial=SN1&platform=efi");
    let (status, script) = get(&url);
    assert_eq!(status, 200, "{script}");
    assert!(
        script.contains(&format!(
            "kernel {base}/boot/files/compute/kernel initrd=initrd luna.url={base} luna.node=node001 luna.mac=52:54:00:aa:00:01 console=ttyS0 || goto retry"
        )),
        "{script}"
    );
    assert!(script.contains(&format!(
        "initrd --name initrd {base}/boot/files/compute/initramfs"
    )));
    let shown = d
        .luna(&["node", "show", "node001", "--script", "boot"])
        .ok();
    assert_eq!(shown.stdout, script);

    // Found by another NIC's MAC too.
    let (_, by_other) = get(&format!(
        "{base}/boot/ipxe?mac=52-54-00-00-00-77&macs=52-54-00-00-00-77,52-54-00-aa-00-01"
    ));
    assert_eq!(by_other, script);

    // Localboot and service.
    d.luna(&["node", "change", "node001", "--localboot", "y"])
        .ok();
    eventually("localboot script", || get(&url).1.contains("sanboot"));
    let shown = d
        .luna(&["node", "show", "node001", "--script", "boot"])
        .ok();
    assert_eq!(shown.stdout, get(&url).1);
    d.luna(&[
        "node",
        "change",
        "node001",
        "--localboot",
        "n",
        "--service",
        "y",
    ])
    .ok();
    eventually("service script", || get(&url).1.contains("luna.service=1"));

    // Unknown: the retry script, and listed with what it told.
    let unknown = format!(
        "{base}/boot/ipxe?mac=52-54-00-bb-00-09&macs=52-54-00-bb-00-09,52-54-00-bb-00-0a,&serial=SN%20777&platform=pcbios"
    );
    let (status, retry) = get(&unknown);
    assert_eq!(status, 200);
    assert!(retry.contains("is not a known node"), "{retry}");
    assert!(
        retry.contains("sleep") || retry.contains("--timeout 10000"),
        "{retry}"
    );
    let list = d.json(&["node", "unknown"]);
    let m = list
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mac"] == UNKNOWN_MAC)
        .unwrap_or_else(|| panic!("unknown machine not listed: {list}"));
    assert_eq!(m["serial"], "SN 777");
    assert_eq!(m["platform"], "pcbios");
    assert_eq!(m["macs"].as_array().unwrap().len(), 2);
    assert_eq!(m["interface"], format!("127.0.0.1:{}", d.port));
    d.luna(&["node", "unknown"]).ok();

    // Claim binds it: gone from the list, served node002's script.
    d.luna(&["node", "claim", "node001", UNKNOWN_MAC])
        .fails(5, &["already has MAC"]);
    d.luna(&["node", "claim", "node002", UNKNOWN_MAC]).ok();
    assert_eq!(d.json(&["node", "show", "node002"])["mac"], UNKNOWN_MAC);
    assert!(d.json(&["node", "unknown"]).as_array().unwrap().is_empty());
    eventually("claimed node's script", || {
        get(&unknown).1.contains("luna.node=node002")
    });

    // Claim typed at the console (`claim=`) binds a node without a MAC.
    let console = format!("{base}/boot/ipxe?mac=52-54-00-cc-00-01&claim=node003");
    let (_, s) = get(&console);
    assert!(s.contains("luna.node=node003"), "{s}");
    assert_eq!(
        d.json(&["node", "show", "node003"])["mac"],
        "52:54:00:cc:00:01"
    );

    // Bad input is refused, not guessed.
    let (status, body) = get(&format!("{base}/boot/ipxe?mac=nope"));
    assert_eq!(status, 400);
    assert!(body.contains("parameter mac"), "{body}");
    d.luna(&["node", "show", "nosuch", "--script", "boot"])
        .fails(4, &["nosuch"]);
}

#[test]
fn boot_files_are_served_from_the_data_dir_only() {
    let d = Daemon::start();
    let dir = d.data_dir().join("boot/compute");
    std::fs::create_dir_all(&dir).unwrap();
    let kernel: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("kernel"), &kernel).unwrap();
    std::fs::write(dir.join("initramfs"), b"cpio").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let body = rt.block_on(async {
        reqwest::get(format!("{}/boot/files/compute/kernel", d.url))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
    });
    assert_eq!(body.as_ref(), kernel.as_slice());
    assert_eq!(
        get(&format!("{}/boot/files/compute/initramfs", d.url)).1,
        "cpio"
    );
    let (status, body) = get(&format!("{}/boot/files/other/kernel", d.url));
    assert_eq!(status, 404);
    assert!(body.contains("luna osimage pack other"), "{body}");
    for bad in [
        "compute/vmlinuz",
        "..%2Fcompute/kernel",
        "compute/..%2F..%2Ftoken",
    ] {
        let (status, _) = get(&format!("{}/boot/files/{bad}", d.url));
        assert_eq!(status, 404, "{bad}");
    }
}

/// A port free for both UDP and TCP (DNS listens on both), below the ephemeral range: a port from
/// `bind(0)` is free only for UDP, and another test's outgoing TCP connection or daemon could
/// take its TCP twin before the daemon binds it (seen in CI as "Address already in use").
fn free_udp_tcp_port() -> u16 {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        ^ std::process::id();
    for i in 0..1000u32 {
        let port = 20_000 + (seed.wrapping_add(i.wrapping_mul(7919)) % 12_000) as u16;
        let tcp = std::net::TcpListener::bind(("127.0.0.1", port));
        let udp = std::net::UdpSocket::bind(("127.0.0.1", port));
        if tcp.is_ok() && udp.is_ok() {
            return port;
        }
    }
    panic!("no port free for both UDP and TCP in 20000-31999");
}

fn run(program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program).args(args).output().expect(program);
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn dig(port: u16, args: &[&str]) -> String {
    let p = port.to_string();
    let mut a = vec!["@127.0.0.1", "-p", &p, "+short", "+time=2", "+tries=2"];
    a.extend_from_slice(args);
    let (ok, out) = run("dig", &a);
    assert!(ok, "dig {args:?}: {out}");
    out.trim().to_string()
}

#[test]
fn dns_tftp_and_exports_through_the_daemon() {
    for (tool, pkg) in [
        ("dig", "bind9-dnsutils"),
        ("named-checkzone", "bind9-utils"),
        ("dhcpd", "isc-dhcp-server"),
        ("kea-dhcp4", "kea-dhcp4-server"),
        ("dnsmasq", "dnsmasq"),
        ("tftp", "tftp-hpa"),
    ] {
        have_tool(tool, pkg);
    }
    let dns_port = free_udp_tcp_port();
    let tftp_port = loop {
        let p = free_udp_tcp_port();
        if p != dns_port {
            break p;
        }
    };
    let config = format!(
        "[dns]\nlisten = [\"127.0.0.1:{dns_port}\"]\n\n[tftp]\nlisten = \"127.0.0.1:{tftp_port}\"\n"
    );
    let d = Daemon::start_with(&config, None);
    seed(&d, "10.99.10.1", 7050);
    d.luna(&["network", "add", "-n", "cluster6", "-N", "fd99:10::/64"])
        .ok();
    d.luna(&[
        "group",
        "change",
        "compute",
        "-i",
        "BOOTIF",
        "--setnet6",
        "cluster6",
    ])
    .ok();
    d.luna(&["node", "add", "-g", "compute", "-n", "node002"])
        .ok();
    let v4 = bootif_ip(&d, "node002");
    let node = d.json(&["node", "show", "node002"]);
    let v6 = addrs(&node)
        .into_iter()
        .map(|(_, ip)| ip)
        .find(|ip| ip.contains(':'))
        .expect("node002 has an IPv6 address");

    // DNS answers from the store, reloaded on changes.
    eventually("A record", || {
        dig(dns_port, &["node002.cluster", "A"]) == v4
    });
    assert_eq!(dig(dns_port, &["node002.cluster6", "AAAA"]), v6);
    assert_eq!(dig(dns_port, &["-x", &v4]), "node002.cluster.");
    assert_eq!(dig(dns_port, &["-x", &v6]), "node002.cluster6.");
    assert_eq!(dig(dns_port, &["nosuch.cluster", "A"]), "");

    // makedns: the serial holds while nothing changes, grows on a change, survives a restart.
    let serial = |d: &Daemon| -> u64 {
        let text = d.luna(&["cluster", "makedns"]).ok().stdout;
        let soa = dig_serial(&text);
        assert!(soa > 2_000_000_000, "{text}");
        soa
    };
    let s1 = serial(&d);
    assert_eq!(serial(&d), s1);
    d.luna(&["node", "add", "-g", "compute", "-n", "node003"])
        .ok();
    let s2 = serial(&d);
    assert!(s2 > s1, "{s2} > {s1}");
    eventually("new node in DNS", || {
        !dig(dns_port, &["node003.cluster", "A"]).is_empty()
    });
    let zone_dir = d.dir.path().join("zones");
    let out = d
        .luna(&["cluster", "makedns", "--dir", zone_dir.to_str().unwrap()])
        .ok();
    assert!(out.stdout.contains("luna.zones.conf"), "{}", out.stdout);
    let include = std::fs::read_to_string(zone_dir.join("luna.zones.conf")).unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(&zone_dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(zone) = path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .strip_suffix(".zone")
            .map(str::to_string)
        else {
            continue;
        };
        assert!(include.contains(&path.display().to_string()), "{include}");
        let (ok, text) = run("named-checkzone", &[&zone, path.to_str().unwrap()]);
        assert!(ok, "named-checkzone {zone}: {text}");
        checked += 1;
    }
    assert!(checked >= 4, "forward + reverse zones for both networks");

    // makedhcp for the three servers, each accepted by the real tool.
    let work = tempfile::tempdir().unwrap();
    let conf = |format: &str| -> std::path::PathBuf {
        let f = work.path().join(format);
        d.luna(&[
            "cluster",
            "makedhcp",
            "--format",
            format,
            "--out",
            f.to_str().unwrap(),
        ])
        .ok();
        f
    };
    let isc = conf("isc");
    let text = std::fs::read_to_string(&isc).unwrap();
    assert!(
        text.contains(KNOWN_MAC) && text.contains("10.99.10.200"),
        "{text}"
    );
    let leases = work.path().join("leases");
    std::fs::write(&leases, "").unwrap();
    let (ok, out) = run(
        "dhcpd",
        &[
            "-4",
            "-t",
            "-cf",
            isc.to_str().unwrap(),
            "-lf",
            leases.to_str().unwrap(),
        ],
    );
    assert!(ok, "dhcpd -t: {out}\n{text}");
    let kea = conf("kea");
    let (ok, out) = run("kea-dhcp4", &["-t", kea.to_str().unwrap()]);
    assert!(ok, "kea-dhcp4 -t: {out}");
    let dnsmasq = conf("dnsmasq");
    let (ok, out) = run(
        "dnsmasq",
        &["--test", &format!("--conf-file={}", dnsmasq.display())],
    );
    assert!(ok, "dnsmasq --test: {out}");
    let stdout = d.luna(&["cluster", "makedhcp"]).ok().stdout;
    assert_eq!(stdout, std::fs::read_to_string(&isc).unwrap());

    // TFTP: the iPXE binary from Debian's package; traversal refused.
    let (ok, out) = tftp(tftp_port, "get undionly.kpxe got.kpxe", work.path());
    assert!(ok, "{out}");
    assert_eq!(
        std::fs::read(work.path().join("got.kpxe")).unwrap(),
        std::fs::read("/usr/lib/ipxe/undionly.kpxe").unwrap()
    );
    let (ok, out) = tftp(tftp_port, "get ../../etc/passwd stolen", work.path());
    assert!(!ok, "traversal served: {out}");
    assert!(std::fs::read(work.path().join("stolen")).map_or(true, |b| b.is_empty()));

    // The serial is persisted: a restarted daemon hands out the same one.
    let mut d = d;
    d.restart();
    assert_eq!(serial(&d), s2);
}

/// The SOA serial in `makedns` output (the first zone's).
fn dig_serial(text: &str) -> u64 {
    text.split_whitespace()
        .find_map(|w| w.parse::<u64>().ok().filter(|n| *n > 1_000_000_000))
        .unwrap_or_else(|| panic!("no serial in {text}"))
}

fn tftp(port: u16, command: &str, cwd: &Path) -> (bool, String) {
    let out = Command::new("tftp")
        .current_dir(cwd)
        .args(["-v", "127.0.0.1", &port.to_string(), "-m", "binary", "-c"])
        .args(command.split(' '))
        .output()
        .expect("run tftp");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ok = out.status.success() && !text.contains("Error code") && !text.contains("timed out");
    (ok, text)
}

/// The daemon in a server namespace with `[dhcp]` on its veth; clients in another namespace.
#[test]
fn real_dhcp_clients_get_fixed_and_range_addresses_from_the_daemon() {
    if !can_run("daemon DHCP test")
        || !have_tool("busybox", "busybox-static")
        || !have_tool("dhclient", "isc-dhcp-client")
    {
        return;
    }
    let srv = Netns::new("dsrv");
    let cli = Netns::new("dcli");
    veth(
        &srv,
        "s0",
        "10.99.10.1/24",
        &cli,
        "c0",
        Some(KNOWN_MAC),
        None,
    );
    let d = Daemon::start_with("[dhcp]\ninterfaces = [\"s0\"]\n", Some(&srv.name));
    seed(&d, "10.99.10.1", d.port);
    let ip = bootif_ip(&d, "node001");

    // BIOS PXE: fixed address, next-server = our interface, undionly.kpxe.
    eventually("DHCP serving node001", || {
        let out = cli.run(&[
            "busybox",
            "udhcpc",
            "-i",
            "c0",
            "-n",
            "-q",
            "-f",
            "-t",
            "2",
            "-T",
            "1",
            "-s",
            "/bin/true",
        ]);
        out.status.success()
    });
    let bios = udhcpc(
        &cli,
        &["-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000"],
    );
    assert_eq!(bios["ip"], ip);
    assert_eq!(bios["siaddr"], "10.99.10.1");
    assert_eq!(bios["boot_file"], "undionly.kpxe");
    assert_eq!(bios["hostname"], "node001");
    let efi = udhcpc(&cli, &["-x", "0x5d:0007"]);
    assert_eq!(efi["boot_file"], "ipxe.efi");
    let ipxe = udhcpc(&cli, &["-x", "0x4d:69505845", "-x", "0x5d:0007"]);
    assert_eq!(
        ipxe["boot_file"],
        format!("http://10.99.10.1:{}/boot/ipxe", d.port)
    );
    let env = dhclient(&cli, DHCLIENT_UEFI);
    assert_eq!(env["new_ip_address"], ip, "{env:?}");
    assert_eq!(env["new_filename"], "ipxe.efi");

    // An unknown machine gets a range address and is listed; claiming gives it the node's.
    cli.run_ok(&["ip", "link", "set", "c0", "address", UNKNOWN_MAC]);
    let dynamic = udhcpc(&cli, &["-x", "0x5d:0000"]);
    let last: u32 = dynamic["ip"].rsplit('.').next().unwrap().parse().unwrap();
    assert!((200..=250).contains(&last), "{dynamic:?}");
    // `cluster leases` lists it with its network, as unknown until claimed.
    let lease_of = |mac: &str| {
        d.json(&["cluster", "leases"])
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["mac"] == mac)
            .cloned()
    };
    eventually("dynamic lease listed", || {
        lease_of(UNKNOWN_MAC).is_some_and(|l| {
            l["ip"] == dynamic["ip"].as_str()
                && l["node"] == "unknown"
                && l["network"] == "cluster"
                && l["expired"] == false
        })
    });
    let table = d.luna(&["cluster", "leases"]).ok().stdout;
    assert!(
        table.contains(UNKNOWN_MAC) && table.contains("unknown") && table.contains("(in "),
        "{table}"
    );
    eventually("unknown machine listed", || {
        d.json(&["node", "unknown"])
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["mac"] == UNKNOWN_MAC)
    });
    d.luna(&["node", "add", "-g", "compute", "-n", "node002"])
        .ok();
    d.luna(&["node", "claim", "node002", UNKNOWN_MAC]).ok();
    let claimed = lease_of(UNKNOWN_MAC).expect("lease still listed after the claim");
    assert_eq!(claimed["node"], "node002", "{claimed}");
    let ip2 = bootif_ip(&d, "node002");
    eventually("claimed node gets its fixed address", || {
        udhcpc(&cli, &[])["ip"] == ip2
    });
}

const DHCLIENT_UEFI: &str = r#"
option pxe-arch code 93 = unsigned integer 16;
send pxe-arch 7;
send vendor-class-identifier "PXEClient:Arch:00007:UNDI:003016";
request subnet-mask, broadcast-address, domain-name-servers, domain-name, host-name;
"#;

/// ISC dhclient once (its own script and files); the environment of the BOUND event.
fn dhclient(ns: &Netns, conf: &str) -> std::collections::HashMap<String, String> {
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
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let mut child = ns
        .command("dhclient")
        .args([
            "-4",
            "-1",
            "-v",
            "-d",
            "-sf",
            &p("script.sh"),
            "-cf",
            &p("dhclient.conf"),
        ])
        .args(["-lf", &p("leases"), "-pf", &p("pid"), "c0"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn dhclient");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !out.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    parse_env(&std::fs::read_to_string(&out).expect("dhclient bound within 20 s"))
}
