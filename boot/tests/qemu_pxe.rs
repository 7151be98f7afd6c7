//! A QEMU VM (TCG) PXE-boots from luna-boot: its iPXE ROM asks our DHCP server on a namespace
//! bridge, gets the HTTP boot URL, fetches the chain script, then the node's install script,
//! kernel and initramfs, and the kernel prints a marker with the Luna arguments on the serial
//! console. A second VM with an unknown MAC gets a range address and the retry script, and its
//! identity reaches the boot endpoint.

mod support;

use luna_boot::dhcp::{
    DhcpConfig, DhcpListen, DhcpMode, DhcpRange, DhcpServer, DhcpSubnet, FixedLease,
    MemoryLeaseStore, StaticDirectory,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::boot_http::BootSite;
use support::kernel::kernel;
use support::netns::{Netns, NsRuntime, can_run, have_tool, veth};

const KNOWN_MAC: &str = "52:54:00:aa:00:01";
const UNKNOWN_MAC: &str = "52:54:00:bb:00:09";

struct Vm {
    child: Child,
    serial: PathBuf,
}

impl Vm {
    fn start(sw: &Netns, tap: &str, mac: &str, dir: &Path) -> Vm {
        sw.run_ok(&["ip", "tuntap", "add", "dev", tap, "mode", "tap"]);
        sw.run_ok(&["ip", "link", "set", tap, "master", "br0"]);
        sw.run_ok(&["ip", "link", "set", tap, "up"]);
        let serial = dir.join(format!("{tap}.serial"));
        let child = sw
            .command("timeout")
            .args([
                "180",
                "qemu-system-x86_64",
                "-machine",
                "q35,accel=tcg",
                "-m",
                "256",
            ])
            .args([
                "-display",
                "none",
                "-no-reboot",
                "-boot",
                "n",
                "-monitor",
                "none",
            ])
            .args([
                "-netdev",
                &format!("tap,id=n0,ifname={tap},script=no,downscript=no"),
            ])
            .args(["-device", &format!("virtio-net-pci,netdev=n0,mac={mac}")])
            .args(["-serial", &format!("file:{}", serial.display())])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start qemu");
        Vm { child, serial }
    }

    fn serial_text(&self) -> String {
        std::fs::read(&self.serial)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        // SIGTERM to `timeout`, which passes it on to QEMU.
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

#[test]
fn qemu_vm_pxe_boots_the_node_kernel_and_unknown_vm_gets_the_retry_script() {
    if !can_run("QEMU PXE test")
        || !have_tool("qemu-system-x86_64", "qemu-system-x86 ipxe-qemu")
        || !have_tool("busybox", "busybox-static")
    {
        return;
    }
    let kernel = kernel().expect(
        "no kernel for the VM: set LUNA_TEST_KERNEL, or let the test `apt-get download` linux-image-cloud-amd64's kernel",
    );
    let dir = tempfile::tempdir().unwrap();
    let (srv, sw) = bridge_lab("10.99.5.1/24");
    let log = Arc::new(Mutex::new(Vec::new()));
    let site = boot_site("http://10.99.5.1:7050", &kernel, log.clone());
    let store = Arc::new(MemoryLeaseStore::new());
    let store2 = store.clone();
    let config = DhcpConfig {
        listen: vec![DhcpListen {
            interface: "s0".into(),
            server_ip: None,
        }],
        subnets: vec![DhcpSubnet {
            network: "10.99.5.0/24".parse().unwrap(),
            range: Some(DhcpRange {
                start: "10.99.5.100".parse().unwrap(),
                end: "10.99.5.150".parse().unwrap(),
            }),
            routers: vec![],
            dns_servers: vec![],
            domain: None,
        }],
        ..DhcpConfig::default()
    };
    let directory = StaticDirectory::new([(
        KNOWN_MAC.parse().unwrap(),
        FixedLease {
            ip: "10.99.5.21".parse().unwrap(),
            hostname: Some("node001".into()),
            boot_file: None,
        },
    )]);
    let _servers = NsRuntime::start(&srv, move || async move {
        let dhcp = DhcpServer::start(config, Arc::new(directory), store2)
            .await
            .expect("DHCP starts");
        let listener = tokio::net::TcpListener::bind("10.99.5.1:7050")
            .await
            .unwrap();
        let http = tokio::spawn(site.serve(listener));
        (dhcp, AbortOnDrop(http))
    });

    let known = Vm::start(&sw, "tap0", KNOWN_MAC, dir.path());
    let unknown = Vm::start(&sw, "tap1", UNKNOWN_MAC, dir.path());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(170);
    let unknown_query = format!("/boot/ipxe?mac={}", UNKNOWN_MAC.replace(':', "-"));
    let (mut booted, mut unknown_seen) = (false, false);
    while Instant::now() < deadline && !(booted && unknown_seen) {
        // The end token: the serial file may hold half a line while QEMU writes it.
        booted = known.serial_text().contains("LUNA-TEST-END");
        unknown_seen = log
            .lock()
            .unwrap()
            .iter()
            .any(|p| p.starts_with(&unknown_query));
        std::thread::sleep(Duration::from_millis(500));
    }
    let requests = log.lock().unwrap().clone();
    let serial = known.serial_text();
    assert!(
        booted,
        "no marker after {:?}; requests {requests:?}; serial:\n{serial}",
        started.elapsed()
    );
    let marker = serial
        .lines()
        .find(|l| l.contains("LUNA-TEST-END"))
        .unwrap();
    assert!(marker.contains("luna.node=node001"), "{marker}");
    assert!(
        marker.contains(&format!("luna.mac={KNOWN_MAC}")),
        "{marker}"
    );
    assert!(
        marker.contains("luna.url=http://10.99.5.1:7050"),
        "{marker}"
    );
    eprintln!("known VM reached the marker after {:?}", started.elapsed());
    // The chain script reported identity: boot MAC, all NIC MACs, platform.
    let known_query = requests
        .iter()
        .find(|p| p.contains("mac=52-54-00-aa-00-01"))
        .expect("known VM asked with its MAC");
    assert!(
        known_query.contains("macs=52-54-00-aa-00-01,"),
        "{known_query}"
    );
    assert!(known_query.contains("platform=pcbios"), "{known_query}");
    assert!(
        unknown_seen,
        "unknown VM never asked the boot endpoint: {requests:?}"
    );
    let leases = store.snapshot();
    assert!(
        leases.iter().any(|l| l.mac.to_string() == UNKNOWN_MAC),
        "unknown VM has a range lease: {leases:?}"
    );
    drop(unknown);
}

/// Server namespace with `server_cidr` on s0, bridged (namespace "sw", br0) to the VMs' taps.
fn bridge_lab(server_cidr: &str) -> (Netns, Netns) {
    let srv = Netns::new("srv");
    let sw = Netns::new("sw");
    sw.run_ok(&["ip", "link", "add", "br0", "type", "bridge"]);
    sw.run_ok(&["ip", "link", "set", "br0", "up"]);
    veth(&srv, "s0", server_cidr, &sw, "p0", None, None);
    sw.run_ok(&["ip", "link", "set", "p0", "master", "br0"]);
    (srv, sw)
}

/// The stand-in boot endpoint with node001 known, the kernel and a marker-printing initramfs.
fn boot_site(luna_url: &str, kernel: &Path, log: Arc<Mutex<Vec<String>>>) -> BootSite {
    let init = "#!/bin/busybox sh\n\
                /bin/busybox mount -t proc proc /proc\n\
                /bin/busybox echo \"LUNA-TEST-MARKER $(/bin/busybox cat /proc/cmdline) LUNA-TEST-END\"\n\
                /bin/busybox poweroff -f\n";
    let initramfs = support::initramfs::build(&std::fs::read("/bin/busybox").unwrap(), init);
    BootSite {
        luna_url: luna_url.into(),
        nodes: HashMap::from([(KNOWN_MAC.parse().unwrap(), "node001".to_string())]),
        files: HashMap::from([
            (
                "vmlinuz".to_string(),
                Arc::new(std::fs::read(kernel).unwrap()),
            ),
            ("initramfs".to_string(), Arc::new(initramfs)),
        ]),
        kernel_options: "console=ttyS0 panic=-1".into(),
        log,
    }
}

fn wait_for_marker(vm: &Vm, seconds: u64) -> Option<String> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while Instant::now() < deadline {
        let text = vm.serial_text();
        if let Some(line) = text.lines().find(|l| l.contains("LUNA-TEST-END")) {
            return Some(line.to_string());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    None
}

/// ProxyDHCP: a site DHCP server (dnsmasq, addresses only) hands out the address, luna-boot in
/// proxy mode only the boot URL (port 67 offer + port 4011 request), and the VM still boots.
#[test]
fn qemu_vm_boots_through_proxy_dhcp_next_to_a_site_dhcp_server() {
    if !can_run("QEMU proxyDHCP test")
        || !have_tool("qemu-system-x86_64", "qemu-system-x86 ipxe-qemu")
        || !have_tool("busybox", "busybox-static")
        || !have_tool("dnsmasq", "dnsmasq")
    {
        return;
    }
    let kernel = kernel().expect(
        "no kernel for the VM: set LUNA_TEST_KERNEL, or let the test `apt-get download` linux-image-cloud-amd64's kernel",
    );
    let dir = tempfile::tempdir().unwrap();
    let (srv, sw) = bridge_lab("10.99.6.1/24");
    let site_ns = Netns::new("site");
    veth(&site_ns, "d0", "10.99.6.2/24", &sw, "p1", None, None);
    sw.run_ok(&["ip", "link", "set", "p1", "master", "br0"]);
    let leases = dir.path().join("dnsmasq.leases");
    let dnsmasq = site_ns
        .command("dnsmasq")
        .args([
            "--no-daemon",
            "--port=0",
            "--interface=d0",
            "--bind-interfaces",
        ])
        .args([
            "--dhcp-range=10.99.6.100,10.99.6.150,255.255.255.0,1h",
            "--log-facility=/dev/null",
        ])
        .arg(format!("--dhcp-leasefile={}", leases.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start dnsmasq");
    let _dnsmasq = KillOnDrop(dnsmasq);

    let log = Arc::new(Mutex::new(Vec::new()));
    let site = boot_site("http://10.99.6.1:7050", &kernel, log.clone());
    let config = DhcpConfig {
        mode: DhcpMode::Proxy,
        listen: vec![DhcpListen {
            interface: "s0".into(),
            server_ip: None,
        }],
        ..DhcpConfig::default()
    };
    let _servers = NsRuntime::start(&srv, move || async move {
        let dhcp = DhcpServer::start(
            config,
            Arc::new(StaticDirectory::default()),
            Arc::new(MemoryLeaseStore::new()),
        )
        .await
        .expect("proxy DHCP starts");
        let listener = tokio::net::TcpListener::bind("10.99.6.1:7050")
            .await
            .unwrap();
        let http = tokio::spawn(site.serve(listener));
        (dhcp, AbortOnDrop(http))
    });
    let started = Instant::now();
    let vm = Vm::start(&sw, "tap0", KNOWN_MAC, dir.path());
    let marker = wait_for_marker(&vm, 170);
    let requests = log.lock().unwrap().clone();
    let marker = marker.unwrap_or_else(|| {
        panic!(
            "no marker; requests {requests:?}; serial:\n{}",
            vm.serial_text()
        )
    });
    eprintln!(
        "proxyDHCP VM reached the marker after {:?}",
        started.elapsed()
    );
    assert!(marker.contains("luna.node=node001"), "{marker}");
    let lease_text = std::fs::read_to_string(&leases).unwrap_or_default();
    assert!(
        lease_text.contains(KNOWN_MAC),
        "the address came from the site server: {lease_text}"
    );
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
