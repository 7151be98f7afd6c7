//! The exported DHCP configs do what Luna's own server does: ISC dhcpd, Kea and dnsmasq each run
//! the exported config in a namespace, and udhcpc checks the fixed address and the boot file for
//! BIOS, UEFI and iPXE clients (and the per-machine UEFI override where the format supports it).

mod support;

use luna_boot::dhcp::{BootFiles, DhcpRange, DhcpSubnet};
use luna_boot::export::{
    DhcpExport, ExportHost, ExportSubnet, dnsmasq_conf, isc_dhcpd_conf, kea_dhcp4_conf,
};
use std::process::{Child, Stdio};
use support::dhcp_client::udhcpc;
use support::netns::{Netns, can_run, have_tool, veth};

const NODE1: &str = "52:54:00:aa:00:01";
const NODE2: &str = "52:54:00:aa:00:02";

fn export() -> DhcpExport {
    DhcpExport {
        subnets: vec![ExportSubnet {
            subnet: DhcpSubnet {
                network: "10.99.1.0/24".parse().unwrap(),
                range: Some(DhcpRange {
                    start: "10.99.1.200".parse().unwrap(),
                    end: "10.99.1.210".parse().unwrap(),
                }),
                routers: vec![],
                dns_servers: vec!["10.99.1.1".parse().unwrap()],
                domain: Some("cluster".into()),
            },
            server_ip: "10.99.1.1".parse().unwrap(),
            interface: Some("s0".into()),
        }],
        hosts: vec![
            ExportHost {
                name: "node001".into(),
                mac: NODE1.parse().unwrap(),
                ip: "10.99.1.21".parse().unwrap(),
                boot_file: None,
            },
            ExportHost {
                name: "node002".into(),
                mac: NODE2.parse().unwrap(),
                ip: "10.99.1.22".parse().unwrap(),
                boot_file: Some("snponly.efi".into()),
            },
        ],
        boot_files: BootFiles::default(),
        ipxe_url: "http://{server}:7050/boot/ipxe".into(),
        lease_secs: 3600,
    }
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.0.wait();
    }
}

fn lab() -> (Netns, Netns) {
    let srv = Netns::new("esrv");
    let sw = Netns::new("esw");
    sw.run_ok(&["ip", "link", "add", "br0", "type", "bridge"]);
    sw.run_ok(&["ip", "link", "set", "br0", "up"]);
    veth(&srv, "s0", "10.99.1.1/24", &sw, "p0", None, None);
    sw.run_ok(&["ip", "link", "set", "p0", "master", "br0"]);
    (srv, sw)
}

/// A client namespace bridged to the server with `mac`.
fn client(sw: &Netns, port: &str, mac: &str) -> Netns {
    let c = Netns::new("ecli");
    veth(sw, port, "10.99.200.1/32", &c, "c0", Some(mac), None);
    sw.run_ok(&["ip", "addr", "flush", "dev", port]);
    sw.run_ok(&["ip", "link", "set", port, "master", "br0"]);
    c
}

fn assert_boot_files(sw: &Netns, override_supported: bool, server: &str) {
    let n1 = client(sw, "p1", NODE1);
    let bios = udhcpc(
        &n1,
        &["-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000"],
    );
    assert_eq!(bios["ip"], "10.99.1.21", "{server}: {bios:?}");
    assert_eq!(bios["boot_file"], "undionly.kpxe", "{server}");
    assert_eq!(bios["siaddr"], "10.99.1.1", "{server}");
    let efi = udhcpc(
        &n1,
        &["-V", "PXEClient:Arch:00007:UNDI:003016", "-x", "0x5d:0007"],
    );
    assert_eq!(efi["boot_file"], "ipxe.efi", "{server}");
    let ipxe = udhcpc(&n1, &["-x", "0x4d:69505845", "-x", "0x5d:0007"]);
    assert_eq!(
        ipxe["boot_file"], "http://10.99.1.1:7050/boot/ipxe",
        "{server}"
    );
    let n2 = client(sw, "p2", NODE2);
    let efi2 = udhcpc(
        &n2,
        &["-V", "PXEClient:Arch:00007:UNDI:003016", "-x", "0x5d:0007"],
    );
    assert_eq!(efi2["ip"], "10.99.1.22", "{server}");
    if override_supported {
        assert_eq!(efi2["boot_file"], "snponly.efi", "{server}");
    }
    let ipxe2 = udhcpc(&n2, &["-x", "0x4d:69505845", "-x", "0x5d:0007"]);
    assert_eq!(
        ipxe2["boot_file"], "http://10.99.1.1:7050/boot/ipxe",
        "{server}: no boot loop"
    );
    let n3 = client(sw, "p3", "52:54:00:cc:00:03");
    let unknown = udhcpc(&n3, &[]);
    let last: u8 = unknown["ip"].rsplit('.').next().unwrap().parse().unwrap();
    assert!((200..=210).contains(&last), "{server}: {unknown:?}");
}

#[test]
fn isc_dhcpd_serves_the_exported_config() {
    if !can_run("dhcpd export test")
        || !have_tool("dhcpd", "isc-dhcp-server")
        || !have_tool("busybox", "busybox-static")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("dhcpd.conf");
    std::fs::write(&conf, isc_dhcpd_conf(&export()).unwrap()).unwrap();
    let leases = dir.path().join("leases");
    std::fs::write(&leases, "").unwrap();
    let (srv, sw) = lab();
    let p = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let _d = Daemon(
        srv.command("dhcpd")
            .args(["-4", "-f", "-cf", &p(&conf), "-lf", &p(&leases)])
            .args(["-pf", &p(&dir.path().join("pid")), "s0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dhcpd"),
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_boot_files(&sw, true, "dhcpd");
}

#[test]
fn kea_serves_the_exported_config() {
    if !can_run("kea export test")
        || !have_tool("kea-dhcp4", "kea-dhcp4-server")
        || !have_tool("busybox", "busybox-static")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut json: serde_json::Value =
        serde_json::from_str(&kea_dhcp4_conf(&export()).unwrap()).unwrap();
    // Keep the test's leases out of Kea's system lease file.
    json["Dhcp4"]["lease-database"]["persist"] = serde_json::json!(false);
    let conf = dir.path().join("kea.json");
    std::fs::write(&conf, json.to_string()).unwrap();
    let (srv, sw) = lab();
    let _d = Daemon(
        srv.command("kea-dhcp4")
            .args(["-c", conf.to_str().unwrap()])
            .env("KEA_PIDFILE_DIR", dir.path())
            .env("KEA_LOCKFILE_DIR", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start kea"),
    );
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_boot_files(&sw, false, "kea");
}

#[test]
fn dnsmasq_serves_the_exported_config() {
    if !can_run("dnsmasq export test")
        || !have_tool("dnsmasq", "dnsmasq")
        || !have_tool("busybox", "busybox-static")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("dnsmasq.conf");
    std::fs::write(&conf, dnsmasq_conf(&export()).unwrap()).unwrap();
    let (srv, sw) = lab();
    let _d = Daemon(
        srv.command("dnsmasq")
            .args([
                "--no-daemon",
                "--port=0",
                "--bind-interfaces",
                "--log-facility=/dev/null",
            ])
            .arg(format!("--conf-file={}", conf.display()))
            .arg(format!(
                "--dhcp-leasefile={}",
                dir.path().join("leases").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dnsmasq"),
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_boot_files(&sw, true, "dnsmasq");
}
