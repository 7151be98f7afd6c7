//! The diskful install pieces on a real block device, without a VM: the real `luna-agent boot`
//! fetches its plan from a real daemon, runs gpt-simple's partition script against a loop
//! device, downloads the Debian image from the daemon's seeder, configures it and runs
//! grub-post chrooted. The disk then holds a GPT with a BIOS boot partition, GRUB in it, an
//! fstab and a grub.cfg booting root=UUID= of the new file system. Its step timings are the
//! native baseline the VM benchmark (vm_install.rs) compares TCG against.
//!
//! Needs root (loop devices, mount, chroot), sfdisk/partx (fdisk, util-linux) and debootstrap
//! for the cached Debian image. Mounts on /sysroot (gpt-simple's target), so no other test may.

mod common;
#[path = "vm/debian.rs"]
mod debian;
#[path = "vm/install_cluster.rs"]
mod install_cluster;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::*;

const MAC: &str = "52:54:00:99:00:01";

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

/// A loop device over a sparse file with partition scanning on; detached (and /sysroot
/// unmounted) on drop.
struct LoopDisk {
    device: String,
}

impl LoopDisk {
    fn attach(file: &Path, size: &str) -> Self {
        let ok = Command::new("truncate")
            .args(["-s", size])
            .arg(file)
            .status()
            .unwrap()
            .success();
        assert!(ok, "truncate {}", file.display());
        let out = Command::new("losetup")
            .args(["-P", "-f", "--show"])
            .arg(file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "losetup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        LoopDisk {
            device: String::from_utf8_lossy(&out.stdout).trim().to_string(),
        }
    }
}

impl Drop for LoopDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-R").arg("/sysroot").status();
        let _ = Command::new("losetup").arg("-d").arg(&self.device).status();
    }
}

/// This machine's kernel parses no partition tables (CONFIG_EFI_PARTITION is off), so the
/// partitions sfdisk writes never appear under /dev. gpt-simple waits for them with
/// `udevadm settle`: a `udevadm` first on PATH adds them with BLKPG (partx) instead. On a real
/// node (and in the VM tests) the kernel adds them itself.
fn partition_shim(dir: &Path, device: &str) -> PathBuf {
    let bin = dir.join("shim");
    std::fs::create_dir_all(&bin).unwrap();
    let script = format!(
        "#!/bin/sh\npartx -a {device} 2>/dev/null\n\
         for i in $(seq 50); do [ -b {device}p2 ] && exit 0; sleep 0.1; done\nexit 0\n"
    );
    let path = bin.join("udevadm");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn agent_installs_debian_onto_a_block_device_with_gpt_simple_and_grub_post() {
    if !is_root() {
        eprintln!("skipped: needs root for loop devices, mount and chroot");
        return;
    }
    let image = debian::debian_image();
    let tmp = tempfile::tempdir().unwrap();
    let disk = LoopDisk::attach(&tmp.path().join("disk.img"), "3G");

    let d = Daemon::start();
    let port = d.port.to_string();
    // The agent runs on this machine: the plan's URLs and seed peer must be loopback.
    d.luna(&[
        "cluster",
        "init",
        "--frontend-address",
        "127.0.0.1",
        "--frontend-port",
        &port,
    ])
    .ok();
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
    install_cluster::add_image(&d, image, "", &["--image-only"]);
    install_cluster::bind_group(&d, "cluster", &disk.device);
    d.luna(&["group", "change", "compute", "--domain", "cluster"])
        .ok();
    d.luna(&[
        "node", "add", "-g", "compute", "-n", "node001", "--mac", MAC,
    ])
    .ok();

    let shim = partition_shim(tmp.path(), &disk.device);
    let path = format!(
        "{}:{}",
        shim.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let started = Instant::now();
    let out = Command::new(Path::new(LUNA).with_file_name("luna-agent"))
        .args(["boot", "--no-network", "--no-switch-root"])
        .args(["--url", &d.url, "--mac", MAC, "--cmdline", "/dev/null"])
        .args(["--listen", "127.0.0.1:0"])
        .env("PATH", path)
        .output()
        .expect("luna-agent runs");
    let wall = started.elapsed().as_secs_f64();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "luna-agent boot failed:\n{log}");

    // The disk: BIOS boot partition + root, GRUB's boot code in the MBR, a bootable config.
    let table = Command::new("sfdisk")
        .args(["--dump", &disk.device])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains("label: gpt"), "{table}");
    assert!(
        table.contains("21686148-6449-6E6F-744E-656564454649"),
        "{table}"
    );
    let mut mbr = vec![0u8; 512];
    use std::io::Read;
    std::fs::File::open(&disk.device)
        .unwrap()
        .read_exact(&mut mbr)
        .unwrap();
    assert!(
        mbr.windows(4).any(|w| w == b"GRUB"),
        "no GRUB boot code in the MBR"
    );
    let sysroot = Path::new("/sysroot");
    let read = |p: &str| std::fs::read_to_string(sysroot.join(p)).unwrap_or_default();
    assert_eq!(read("etc/hostname"), "node001.cluster\n");
    assert!(
        read("etc/fstab").contains("LABEL=root\t/\text4\tdefaults\t0\t1"),
        "{}",
        read("etc/fstab")
    );
    let uuid = Command::new("blkid")
        .args(["-s", "UUID", "-o", "value", &format!("{}p2", disk.device)])
        .output()
        .unwrap();
    let uuid = String::from_utf8_lossy(&uuid.stdout).trim().to_string();
    let grub = read("boot/grub/grub.cfg");
    assert!(
        grub.contains(&format!(
            "root=UUID={uuid} ro console=ttyS0,115200 no_timer_check"
        )),
        "grub.cfg must boot the root by UUID with the serial console:\n{grub}"
    );
    assert!(read("etc/systemd/network/10-luna-bootif.network").contains("Address=10.141.0.1/16"));

    let steps = install_cluster::step_rows(&d.json(&["node", "status", "node001"])[0]);
    let done: Vec<String> = steps.iter().map(|(s, st, _)| format!("{s} {st}")).collect();
    assert_eq!(
        done,
        [
            "prescript skipped",
            "setupbmc skipped",
            "partscript done",
            "download done",
            "unpack done",
            "setnet done",
            "postscript done",
            "success done"
        ]
    );
    eprintln!("native install onto {} in {wall:.1} s:", disk.device);
    for (step, _, secs) in &steps {
        eprintln!("  {step:<11} {secs:>6.2} s");
    }
}
