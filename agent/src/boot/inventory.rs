//! Service mode's hardware inventory, read from /sys and /proc under a root (a fixture tree in
//! tests): disks, NICs, CPU, memory, DMI identity, and the BMC address from `ipmitool`.

use std::path::Path;

use luna_proto::plugin::Disk;
use luna_proto::status::{CpuInfo, DmiInfo, Inventory, NicInfo};

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Collects what `root` (normally `/`) shows; `ipmitool` is asked only for the real root.
pub fn collect(root: &Path) -> Inventory {
    let bmc_address = if root == Path::new("/") {
        ipmitool_lan_print().and_then(|t| bmc_address(&t))
    } else {
        None
    };
    Inventory {
        disks: disks(root),
        nics: nics(root),
        cpu: cpu(&std::fs::read_to_string(root.join("proc/cpuinfo")).unwrap_or_default()),
        memory_bytes: memory(
            &std::fs::read_to_string(root.join("proc/meminfo")).unwrap_or_default(),
        ),
        dmi: dmi(root),
        bmc_address,
    }
}

/// Whole disks from /sys/block (no loop, RAM or zram devices, no empty drives).
pub fn disks(root: &Path) -> Vec<Disk> {
    let Ok(entries) = std::fs::read_dir(root.join("sys/block")) else {
        return Vec::new();
    };
    let mut out: Vec<Disk> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if ["loop", "ram", "zram", "fd"]
                .iter()
                .any(|p| name.starts_with(p))
            {
                return None;
            }
            let dir = e.path();
            // `size` counts 512-byte sectors whatever the device's block size.
            let sectors: u64 = read(&dir.join("size"))?.parse().ok()?;
            if sectors == 0 {
                return None;
            }
            Some(Disk {
                device: format!("/dev/{name}"),
                size_bytes: sectors * 512,
                model: read(&dir.join("device/model")),
                rotational: read(&dir.join("queue/rotational")).as_deref() == Some("1"),
                removable: read(&dir.join("removable")).as_deref() == Some("1"),
            })
        })
        .collect();
    out.sort_by(|a, b| a.device.cmp(&b.device));
    out
}

/// Network interfaces with a MAC (no loopback).
pub fn nics(root: &Path) -> Vec<NicInfo> {
    let Ok(entries) = std::fs::read_dir(root.join("sys/class/net")) else {
        return Vec::new();
    };
    let mut out: Vec<NicInfo> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let dir = e.path();
            let mac = read(&dir.join("address"))?;
            if name == "lo" || mac == "00:00:00:00:00:00" {
                return None;
            }
            Some(NicInfo {
                name,
                mac,
                operstate: read(&dir.join("operstate")).unwrap_or_else(|| "unknown".into()),
                link: read(&dir.join("carrier")).as_deref() == Some("1"),
                // Reading `speed` of a down link fails or gives -1.
                speed_mbps: read(&dir.join("speed")).and_then(|s| s.parse().ok()),
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

pub fn cpu(cpuinfo: &str) -> CpuInfo {
    let mut model = String::new();
    let mut threads = 0;
    let mut packages = std::collections::BTreeSet::new();
    for line in cpuinfo.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        match k.trim() {
            "processor" => threads += 1,
            "model name" if model.is_empty() => model = v.trim().to_string(),
            "physical id" => {
                packages.insert(v.trim().to_string());
            }
            _ => {}
        }
    }
    CpuInfo {
        model,
        threads,
        sockets: (packages.len() as u32).max(u32::from(threads > 0)),
    }
}

pub fn memory(meminfo: &str) -> u64 {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .unwrap_or(0)
}

pub fn dmi(root: &Path) -> DmiInfo {
    let dir = root.join("sys/class/dmi/id");
    // Vendors fill unset fields with placeholders; those say nothing.
    let field = |f: &str| {
        read(&dir.join(f)).filter(|v| {
            let l = v.to_ascii_lowercase();
            ![
                "to be filled by o.e.m.",
                "default string",
                "not specified",
                "none",
            ]
            .contains(&l.as_str())
        })
    };
    DmiInfo {
        vendor: field("sys_vendor"),
        product: field("product_name"),
        serial: field("product_serial"),
    }
}

fn ipmitool_lan_print() -> Option<String> {
    let out = std::process::Command::new("ipmitool")
        .args(["lan", "print"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `IP Address              : 10.148.0.1` from `ipmitool lan print` (not the "Source" line).
pub fn bmc_address(lan_print: &str) -> Option<String> {
    lan_print.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == "IP Address")
            .then(|| v.trim().to_string())
            .filter(|ip| {
                ip.parse::<std::net::Ipv4Addr>()
                    .is_ok_and(|a| !a.is_unspecified())
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn put(root: &Path, rel: &str, content: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }

    /// A /sys and /proc fixture: two disks (one SSD with a model), a loop device, an empty
    /// CD drive, two NICs and loopback, two sockets of two threads, DMI with a placeholder.
    fn fixture() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        put(r, "sys/block/sda/size", "41943040\n");
        put(r, "sys/block/sda/device/model", "QEMU HARDDISK   \n");
        put(r, "sys/block/sda/queue/rotational", "1\n");
        put(r, "sys/block/sda/removable", "0\n");
        put(r, "sys/block/nvme0n1/size", "1953525168\n");
        put(r, "sys/block/nvme0n1/device/model", "Samsung SSD 980\n");
        put(r, "sys/block/nvme0n1/queue/rotational", "0\n");
        put(r, "sys/block/loop0/size", "100\n");
        put(r, "sys/block/sr0/size", "0\n");
        put(r, "sys/class/net/lo/address", "00:00:00:00:00:00\n");
        put(r, "sys/class/net/eth0/address", "52:54:00:12:34:56\n");
        put(r, "sys/class/net/eth0/operstate", "up\n");
        put(r, "sys/class/net/eth0/carrier", "1\n");
        put(r, "sys/class/net/eth0/speed", "1000\n");
        put(r, "sys/class/net/eth1/address", "52:54:00:12:34:57\n");
        put(r, "sys/class/net/eth1/operstate", "down\n");
        put(r, "sys/class/net/eth1/carrier", "0\n");
        put(r, "sys/class/net/eth1/speed", "-1\n");
        put(
            r,
            "proc/cpuinfo",
            "processor\t: 0\nmodel name\t: AMD EPYC 7302\nphysical id\t: 0\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7302\nphysical id\t: 0\n\nprocessor\t: 2\nmodel name\t: AMD EPYC 7302\nphysical id\t: 1\n\nprocessor\t: 3\nmodel name\t: AMD EPYC 7302\nphysical id\t: 1\n",
        );
        put(
            r,
            "proc/meminfo",
            "MemTotal:       16318976 kB\nMemFree:  1 kB\n",
        );
        put(r, "sys/class/dmi/id/sys_vendor", "Supermicro\n");
        put(
            r,
            "sys/class/dmi/id/product_name",
            "To Be Filled By O.E.M.\n",
        );
        put(r, "sys/class/dmi/id/product_serial", "S123456\n");
        t
    }

    #[test]
    fn collects_disks_nics_cpu_memory_and_dmi_from_a_sys_tree() {
        let t = fixture();
        let inv = collect(t.path());
        assert_eq!(
            inv.disks,
            vec![
                Disk {
                    device: "/dev/nvme0n1".into(),
                    size_bytes: 1953525168 * 512,
                    model: Some("Samsung SSD 980".into()),
                    rotational: false,
                    removable: false,
                },
                Disk {
                    device: "/dev/sda".into(),
                    size_bytes: 20 << 30,
                    model: Some("QEMU HARDDISK".into()),
                    rotational: true,
                    removable: false,
                },
            ]
        );
        assert_eq!(inv.nics.len(), 2);
        assert_eq!(inv.nics[0].name, "eth0");
        assert!(inv.nics[0].link);
        assert_eq!(inv.nics[0].speed_mbps, Some(1000));
        assert_eq!(inv.nics[1].mac, "52:54:00:12:34:57");
        assert!(!inv.nics[1].link);
        assert_eq!(inv.nics[1].operstate, "down");
        assert_eq!(inv.nics[1].speed_mbps, None);
        assert_eq!(
            inv.cpu,
            CpuInfo {
                model: "AMD EPYC 7302".into(),
                threads: 4,
                sockets: 2
            }
        );
        assert_eq!(inv.memory_bytes, 16318976 * 1024);
        assert_eq!(inv.dmi.vendor.as_deref(), Some("Supermicro"));
        assert_eq!(inv.dmi.product, None);
        assert_eq!(inv.dmi.serial.as_deref(), Some("S123456"));
        assert_eq!(inv.bmc_address, None);
    }

    #[test]
    fn an_empty_tree_gives_an_empty_inventory() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(collect(t.path()), Inventory::default());
    }

    #[test]
    fn bmc_address_from_ipmitool_lan_print() {
        let out = "Set in Progress         : Set Complete\nIP Address Source       : Static Address\nIP Address              : 10.148.0.7\nSubnet Mask             : 255.255.0.0\n";
        assert_eq!(bmc_address(out).as_deref(), Some("10.148.0.7"));
        assert_eq!(bmc_address("IP Address              : 0.0.0.0\n"), None);
        assert_eq!(bmc_address(""), None);
    }
}
