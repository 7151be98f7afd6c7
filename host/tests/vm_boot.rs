//! QEMU VMs network-boot from the real daemon (its own DHCP, TFTP and HTTP on a namespace
//! bridge): a known VM gets its install script, boots the packed kernel + initramfs and its
//! agent reports to the host; an unknown VM gets the retry script and is listed; a VM whose group
//! is bound to `diskless.rhai` installs into RAM and switch_roots into the image.

mod common;
mod vm;

use serde_json::Value;
use std::time::{Duration, Instant};
use vm::{Lab, VmSpec};

const KNOWN_MAC: &str = "52:54:00:aa:10:01";
const UNKNOWN_MAC: &str = "52:54:00:bb:10:09";
const DISKLESS_MAC: &str = "52:54:00:aa:20:02";

/// The image's /sbin/init: prints what the installed system is (hostname from the /etc/hostname
/// the agent wrote, the address on the boot NIC) and powers off.
const IMAGE_INIT: &str = r#"#!/bin/busybox sh
b=/bin/busybox
$b hostname -F /etc/hostname
addr=$($b ip -4 -o addr show | $b grep -v ' lo ' | $b awk '{print $4}' | $b tr '\n' ' ')
echo "LUNA-IMAGE root=$($b awk '$2 == "/" {print $3}' /proc/mounts | $b tail -n 1) hostname=$($b hostname) addr=$addr LUNA-IMAGE-END"
$b sync
$b poweroff -f
"#;

/// A lab with the busybox image packed and group `compute` on it.
fn lab_with_image() -> Lab {
    let lab = Lab::start("");
    let image = vm::busybox_image(lab.dir.path(), IMAGE_INIT);
    lab.add_and_pack_image("busybox", &image, "console=ttyS0");
    lab.daemon
        .luna(&[
            "group", "add", "-n", "compute", "-O", "busybox", "-N", "cluster",
        ])
        .ok();
    lab
}

/// Polls `f` every half second until it returns Some, or panics with `what`.
#[track_caller]
fn eventually<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what} within {timeout:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn bootif_ip(lab: &Lab, node: &str) -> String {
    common::addrs(&lab.daemon.json(&["node", "show", node]))
        .into_iter()
        .find(|(i, _)| i == "BOOTIF")
        .map(|(_, ip)| ip)
        .expect("node has a BOOTIF address")
}

#[test]
fn a_known_vm_boots_the_luna_initramfs_through_the_daemon_and_an_unknown_vm_is_listed() {
    if !vm::can_run("VM PXE boot through the daemon") {
        return;
    }
    let started = Instant::now();
    let lab = lab_with_image();
    lab.daemon
        .luna(&[
            "node", "add", "-g", "compute", "-n", "node001", "--mac", KNOWN_MAC,
        ])
        .ok();
    let ip = bootif_ip(&lab, "node001");
    let mut known = lab.vm(VmSpec::new("known", KNOWN_MAC));
    let mut unknown = lab.vm(VmSpec::new("unknown", UNKNOWN_MAC));

    // The unknown machine asks /boot/ipxe, gets the retry script and is listed for claiming.
    let listed = eventually(
        "the unknown VM listed by `luna node unknown`",
        Duration::from_secs(240),
        || {
            lab.daemon
                .json(&["node", "unknown"])
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["mac"] == UNKNOWN_MAC)
                .cloned()
        },
    );
    eprintln!(
        "unknown VM listed after {:?}: {listed}",
        unknown.started.elapsed()
    );
    unknown.kill();
    let retry = lab
        .daemon
        .luna(&["node", "unknown", "-o", "json"])
        .ok()
        .stdout;
    assert!(retry.contains(UNKNOWN_MAC), "{retry}");

    // The known VM boots the packed kernel with the node's arguments...
    let cmdline = known
        .wait_for_serial("Kernel command line:", Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("{e}"));
    for want in [
        format!("luna.url={}", lab.url()),
        "luna.node=node001".to_string(),
        format!("luna.mac={KNOWN_MAC}"),
        "console=ttyS0".to_string(),
    ] {
        assert!(cmdline.contains(&want), "{want} missing: {cmdline}");
    }
    // ...the packed initramfs starts the agent, which gets a lease and the plan...
    known
        .wait_for_serial("luna-agent: plan for node001", Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("known VM's agent has its plan after {:?}", known.started.elapsed());
    // ...and its first status report reaches the host.
    let status = eventually(
        "node001's first status report",
        Duration::from_secs(120),
        || {
            let st = lab.daemon.json(&["node", "status", "node001"]);
            (!st[0]["current"].is_null()).then_some(st)
        },
    );
    eprintln!("node001 status: {}", status[0]["current"]);
    let lease = lab
        .daemon
        .json(&["node", "show", "node001"])
        .to_string();
    assert!(lease.contains(&ip), "{lease}");
    let console = known.serial_text();
    assert!(
        console.contains(&format!("({KNOWN_MAC}) is up")),
        "the agent brought up the boot NIC: {}",
        vm::tail(&console, 40)
    );
    eprintln!("issue 4 VM test: {:?} in all", started.elapsed());
}

#[test]
fn a_diskless_vm_installs_into_ram_and_boots_the_image_with_its_hostname_and_address() {
    if !vm::can_run("diskless VM install") {
        return;
    }
    let started = Instant::now();
    let lab = lab_with_image();
    let diskless = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/rhai/diskless.rhai");
    lab.daemon
        .luna(&["plugin", "install", diskless.to_str().unwrap()])
        .ok();
    lab.daemon
        .luna(&["group", "change", "compute", "--partition", "diskless"])
        .ok();
    lab.daemon
        .luna(&[
            "node",
            "add",
            "-g",
            "compute",
            "-n",
            "node002",
            "--mac",
            DISKLESS_MAC,
        ])
        .ok();
    let ip = bootif_ip(&lab, "node002");
    let mut vm = lab.vm(VmSpec::new("diskless", DISKLESS_MAC));
    let line = vm
        .wait_for_serial("LUNA-IMAGE-END", Duration::from_secs(480))
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "diskless VM ran the installed image after {:?}: {line}",
        vm.started.elapsed()
    );
    assert!(line.contains("root=tmpfs"), "{line}");
    assert!(line.contains("hostname=node002"), "{line}");
    assert!(line.contains(&format!("addr={ip}/24")), "{line}");

    let st = lab.daemon.json(&["node", "status", "node002"]);
    let steps: Vec<(String, String)> = st[0]["steps"]
        .as_array()
        .unwrap_or_else(|| panic!("{st}"))
        .iter()
        .map(|s: &Value| {
            (
                s["step"].as_str().unwrap().to_string(),
                s["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        "prescript",
        "setupbmc",
        "partscript",
        "download",
        "unpack",
        "setnet",
        "postscript",
        "success",
    ];
    assert_eq!(
        steps.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
        expected,
        "{st}"
    );
    for (step, state) in &steps {
        // node002 has no BMC: its BMC setup is skipped, every other step is done.
        let want = if step == "setupbmc" { "skipped" } else { "done" };
        assert_eq!(state, want, "{step}: {st}");
    }
    let table = lab.daemon.luna(&["node", "status", "node002"]).ok().stdout;
    assert!(table.contains("success"), "{table}");
    eprintln!("issue 6 diskless VM test: {:?} in all", started.elapsed());
}
