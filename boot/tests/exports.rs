//! The exporters' output accepted by the real tools: named-checkzone/named-checkconf for the BIND
//! zones, `dhcpd -t`, `kea-dhcp4 -t` and `dnsmasq --test` for the DHCP configs.

use luna_boot::dhcp::{BootFiles, DhcpRange, DhcpSubnet};
use luna_boot::dns::{ForwardZone, HostEntry, HostKind, SerialState, ZoneSet, build_zones};
use luna_boot::export::{
    DhcpExport, ExportHost, ExportSubnet, bind_export, dnsmasq_conf, isc_dhcpd_conf, kea_dhcp4_conf,
};
use std::path::Path;
use std::process::Command;

fn tool(path: &str, package: &str) -> bool {
    assert!(
        Path::new(path).exists(),
        "{path} is not installed: apt-get install {package}"
    );
    true
}

fn run(program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program)
        .args(args)
        .output()
        .expect("run validator");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn zone_set() -> ZoneSet {
    let h = |name: &str, ips: &[&str], kind| HostEntry {
        name: name.into(),
        addresses: ips.iter().map(|s| s.parse().unwrap()).collect(),
        kind,
    };
    ZoneSet {
        nameserver: "luna.cluster".into(),
        hostmaster: Some("root@cluster".into()),
        ttl: 300,
        zones: vec![
            ForwardZone {
                name: "cluster".into(),
                networks: vec![
                    "10.99.1.0/24".parse().unwrap(),
                    "10.99.3.0/25".parse().unwrap(),
                    "fd99:0:0:1::/64".parse().unwrap(),
                ],
                hosts: vec![
                    h(
                        "luna",
                        &["10.99.1.1", "fd99:0:0:1::1"],
                        HostKind::NameServer,
                    ),
                    h("node001", &["10.99.1.21", "fd99:0:0:1::21"], HostKind::Node),
                    h("node002", &["10.99.3.22"], HostKind::Node),
                    h("pdu01", &["10.99.1.240"], HostKind::OtherDevice),
                ],
            },
            ForwardZone {
                name: "ipmi.cluster".into(),
                networks: vec!["10.98.16.0/20".parse().unwrap()],
                hosts: vec![h("node001", &["10.98.16.21"], HostKind::Bmc)],
            },
        ],
    }
}

#[test]
fn bind_export_passes_named_checkzone_and_checkconf() {
    if !tool("/usr/bin/named-checkzone", "bind9-utils") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let zdir = dir.path().to_str().unwrap();
    let mut serials = SerialState::default();
    let now = 1_795_644_000; // 2026-11-25
    let set = zone_set();
    let serial = serials.serial_for(&set, now);
    assert_eq!(serial, 2026112500);
    let export = bind_export(&build_zones(&set, serial).unwrap(), zdir);
    let names: Vec<&str> = export.files.iter().map(|f| f.zone.as_str()).collect();
    // /24 and /25 get their own /24 zones; the /20 widens to a /16 zone; one IPv6 nibble zone.
    assert_eq!(names.len(), 6, "{names:?}");
    for want in [
        "cluster",
        "ipmi.cluster",
        "1.99.10.in-addr.arpa",
        "3.99.10.in-addr.arpa",
        "98.10.in-addr.arpa",
        "1.0.0.0.0.0.0.0.0.0.0.0.9.9.d.f.ip6.arpa",
    ] {
        assert!(names.contains(&want), "missing {want} in {names:?}");
    }
    for file in &export.files {
        let path = dir.path().join(&file.file_name);
        std::fs::write(&path, &file.text).unwrap();
        let (ok, out) = run("named-checkzone", &[&file.zone, path.to_str().unwrap()]);
        assert!(
            ok,
            "named-checkzone {} refused:\n{out}\n{}",
            file.zone, file.text
        );
        assert!(out.contains("loaded serial 2026112500"), "{out}");
    }
    let conf = dir.path().join("named.conf");
    let include = dir.path().join("luna-zones.conf");
    std::fs::write(&include, &export.include).unwrap();
    std::fs::write(&conf, format!("include \"{}\";\n", include.display())).unwrap();
    let (ok, out) = run("named-checkconf", &["-z", conf.to_str().unwrap()]);
    assert!(ok, "named-checkconf refused:\n{out}\n{}", export.include);

    // PTRs land in the right merged zone.
    let sixteen = export
        .files
        .iter()
        .find(|f| f.zone == "98.10.in-addr.arpa")
        .unwrap();
    assert!(
        sixteen
            .text
            .contains("21.16\tIN\tPTR\tnode001.ipmi.cluster."),
        "{}",
        sixteen.text
    );

    // Unchanged data keeps its serial; a change the same day counts up.
    assert_eq!(serials.serial_for(&set, now + 60), 2026112500);
    let mut changed = set.clone();
    changed.zones[0].hosts.pop();
    assert_eq!(serials.serial_for(&changed, now + 120), 2026112501);
}

fn dhcp_export() -> DhcpExport {
    let subnet = |net: &str, range: Option<(&str, &str)>| DhcpSubnet {
        network: net.parse().unwrap(),
        range: range.map(|(a, b)| DhcpRange {
            start: a.parse().unwrap(),
            end: b.parse().unwrap(),
        }),
        routers: vec!["10.99.1.254".parse().unwrap()],
        dns_servers: vec!["10.99.1.1".parse().unwrap()],
        domain: Some("cluster".into()),
    };
    let mut second = subnet("10.99.2.0/24", None);
    second.routers.clear();
    DhcpExport {
        subnets: vec![
            ExportSubnet {
                subnet: subnet("10.99.1.0/24", Some(("10.99.1.200", "10.99.1.250"))),
                server_ip: "10.99.1.1".parse().unwrap(),
                interface: Some("lo".into()),
            },
            ExportSubnet {
                subnet: second,
                server_ip: "10.99.2.1".parse().unwrap(),
                interface: None,
            },
        ],
        hosts: vec![
            ExportHost {
                name: "node001".into(),
                mac: "52:54:00:aa:00:01".parse().unwrap(),
                ip: "10.99.1.21".parse().unwrap(),
                boot_file: None,
            },
            ExportHost {
                name: "node002".into(),
                mac: "52:54:00:aa:00:02".parse().unwrap(),
                ip: "10.99.2.22".parse().unwrap(),
                boot_file: Some("snponly.efi".into()),
            },
        ],
        boot_files: BootFiles::default(),
        ipxe_url: "http://{server}:7050/boot/ipxe".into(),
        lease_secs: 3600,
    }
}

#[test]
fn isc_export_passes_dhcpd_t() {
    if !tool("/usr/sbin/dhcpd", "isc-dhcp-server") {
        return;
    }
    let conf = isc_dhcpd_conf(&dhcp_export()).unwrap();
    assert!(conf.contains("filename \"http://10.99.2.1:7050/boot/ipxe\";"));
    assert!(conf.contains("hardware ethernet 52:54:00:aa:00:01;"));
    assert!(conf.contains("range 10.99.1.200 10.99.1.250;"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dhcpd.conf");
    std::fs::write(&path, &conf).unwrap();
    let leases = dir.path().join("leases");
    std::fs::write(&leases, "").unwrap();
    let (ok, out) = run(
        "dhcpd",
        &[
            "-4",
            "-t",
            "-cf",
            path.to_str().unwrap(),
            "-lf",
            leases.to_str().unwrap(),
        ],
    );
    assert!(ok, "dhcpd -t refused:\n{out}\n{conf}");
}

#[test]
fn kea_export_passes_kea_dhcp4_t() {
    if !tool("/usr/sbin/kea-dhcp4", "kea-dhcp4-server") {
        return;
    }
    let conf = kea_dhcp4_conf(&dhcp_export()).unwrap();
    let json: serde_json::Value = serde_json::from_str(&conf).unwrap();
    assert_eq!(
        json["Dhcp4"]["subnet4"][0]["reservations"][0]["ip-address"],
        "10.99.1.21"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kea-dhcp4.conf");
    std::fs::write(&path, &conf).unwrap();
    let (ok, out) = run("kea-dhcp4", &["-t", path.to_str().unwrap()]);
    assert!(ok, "kea-dhcp4 -t refused:\n{out}\n{conf}");
}

#[test]
fn dnsmasq_export_passes_dnsmasq_test() {
    if !tool("/usr/sbin/dnsmasq", "dnsmasq") {
        return;
    }
    let conf = dnsmasq_conf(&dhcp_export()).unwrap();
    assert!(conf.contains("dhcp-host=52:54:00:aa:00:01,10.99.1.21,node001"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dnsmasq.conf");
    std::fs::write(&path, &conf).unwrap();
    let (ok, out) = run(
        "dnsmasq",
        &["--test", &format!("--conf-file={}", path.display())],
    );
    assert!(
        ok && out.contains("syntax check OK"),
        "dnsmasq --test refused:\n{out}\n{conf}"
    );
}

#[test]
fn unsafe_values_are_refused() {
    let mut e = dhcp_export();
    e.hosts[0].name = "node001\"; evil".into();
    let err = isc_dhcpd_conf(&e).unwrap_err().to_string();
    assert!(err.contains("host name"), "{err}");
}
