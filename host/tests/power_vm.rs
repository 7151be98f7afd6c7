//! The power loop end to end: `luna node power on` goes through ipmi-power to an ipmi_sim BMC
//! whose chassis-control script starts a QEMU VM (and `power off` stops it). The VM network-boots
//! from the Luna daemon of a VM lab (`tests/vm`: namespace, bridge, the daemon's own DHCP and
//! HTTP); the daemon, which does not know the VM's MAC yet, lists it in `luna node unknown`.
//! Needs root, /dev/net/tun, qemu-system-x86 and ipxe-qemu (TCG; no KVM), openipmi.

mod common;
mod sims;
mod vm;

use sims::*;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use vm::{Lab, VmSpec};

const MAC: &str = "52:54:00:99:00:07";
const TAP: &str = "tapbmc0";

/// Stops the VM the chassis script started if it still runs when the test ends.
struct VmPid(PathBuf);

impl VmPid {
    /// The VM's pid while it runs (an exited one may linger as a zombie: not running).
    fn running(&self) -> Option<String> {
        let pid = std::fs::read_to_string(&self.0).ok()?.trim().to_string();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let state = stat.rsplit(')').next()?.split_whitespace().next()?;
        (state != "Z").then_some(pid)
    }
}

impl Drop for VmPid {
    fn drop(&mut self) {
        if let Some(pid) = self.running() {
            let _ = Command::new("kill").arg(&pid).status();
        }
    }
}

/// A word for sh: single-quoted.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[test]
fn power_on_through_the_bmc_network_boots_a_vm_from_luna() {
    if !vm::can_run("power-on VM") {
        return;
    }
    let lab = Lab::start("");
    let d = &lab.daemon;
    let bmc = lab.dir.path().join("bmc");
    std::fs::create_dir_all(&bmc).unwrap();
    let qemu = VmSpec::new("vm001", MAC)
        .qemu_argv(TAP, &bmc.join("serial.log"))
        .iter()
        .map(|a| quote(a))
        .collect::<Vec<_>>()
        .join(" ");
    // The script runs in the lab's namespace (the BMC does): a tap on the lab's bridge, then
    // the VM under `timeout`, which bounds it whatever else fails and passes SIGTERM on.
    let on_power = format!(
        r#"if [ "$2" = 1 ]; then
          if ! {{ [ -f vm.pid ] && kill -0 "$(cat vm.pid)" 2>/dev/null; }}; then
            ip tuntap add dev {TAP} mode tap && ip link set {TAP} master br0 && ip link set {TAP} up
            timeout 600 {qemu} </dev/null >qemu.log 2>&1 &
            echo $! > vm.pid
          fi
        else
          [ -f vm.pid ] && kill "$(cat vm.pid)"
          ip link del {TAP} 2>/dev/null
        fi"#
    );
    let ipmi_port = free_udp_port();
    let _bmc = ipmi_sim_in(&lab.ns.name, &bmc, "127.0.5.1", ipmi_port, &on_power);
    let vm = VmPid(bmc.join("vm.pid"));

    d.luna(&["network", "add", "-n", "bmcs", "-N", "127.0.0.0", "-P", "8"])
        .ok();
    let image = common::image_tree(d.dir.path());
    d.luna(&["osimage", "add", "-n", "img", "-p", image.to_str().unwrap()])
        .ok();
    d.luna(&[
        "plugin",
        "install",
        wasm("ipmi-power").to_str().unwrap(),
        "--name",
        "ipmi-power",
    ])
    .ok();
    let port = ipmi_port.to_string();
    d.luna(&[
        "bmcsetup",
        "add",
        "-n",
        "lab",
        "--user",
        "admin",
        "--password",
        "secret",
        "--port",
        &port,
    ])
    .ok();
    d.luna(&["group", "add", "-n", "vms", "-O", "img", "-N", "cluster"])
        .ok();
    d.luna(&[
        "group",
        "change",
        "vms",
        "-b",
        "lab",
        "--bmcnetwork",
        "bmcs",
        "--power",
        "ipmi-power",
    ])
    .ok();
    d.luna(&["node", "add", "-g", "vms", "-n", "vm001"]).ok();
    d.luna(&["node", "change", "vm001", "--ip", "BMC=127.0.5.1"])
        .ok();

    wait_for(Duration::from_secs(30), "ipmi_sim answering", || {
        (d.luna(&["node", "power", "status", "vm001"]).code == 0).then_some(())
    });
    assert!(vm.running().is_none());
    let on = d.json(&["node", "power", "on", "vm001"]);
    assert_eq!(on["results"][0]["state"], "on", "{on}");
    assert!(vm.running().is_some(), "the chassis script started no VM");

    // SeaBIOS, iPXE (which waits ~13 s for an IPv6 RA), Luna's DHCP and /boot/ipxe under TCG.
    wait_for(
        Duration::from_secs(240),
        "the VM in 'luna node unknown'",
        || {
            let unknown = d.luna(&["-o", "json", "node", "unknown"]);
            unknown.stdout.contains(MAC).then_some(())
        },
    );

    let off = d.json(&["node", "power", "off", "vm001"]);
    assert_eq!(off["results"][0]["state"], "off", "{off}");
    wait_for(Duration::from_secs(20), "the VM to stop", || {
        vm.running().is_none().then_some(())
    });
}
