//! The partition layout and the script that creates it (pure: unit-tested natively).

use luna_sdk::{BootFirmware, Mount, Node, PartitionPlan};
use serde::Deserialize;
use std::fmt::Write;

const MIB: u64 = 1 << 20;
/// Smallest root file system we agree to create.
const MIN_ROOT_MIB: u64 = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Table {
    Gpt,
    Mbr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Firmware {
    Bios,
    Uefi,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub table: Table,
    /// Disk to use; default: the first non-removable disk of the inventory, else /dev/sda.
    pub disk: Option<String>,
    pub efi_mib: u64,
    pub boot_mib: u64,
    pub swap_mib: u64,
    pub root_fstype: String,
    /// Overrides the firmware the host detected for the node.
    pub firmware: Option<Firmware>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            table: Table::Gpt,
            disk: None,
            efi_mib: 512,
            boot_mib: 1024,
            swap_mib: 4096,
            root_fstype: "ext4".into(),
            firmware: None,
        }
    }
}

impl Config {
    pub fn check(&self) -> Result<(), String> {
        if let Some(disk) = &self.disk {
            check_device(disk)?;
        }
        if !["ext4", "xfs", "btrfs"].contains(&self.root_fstype.as_str()) {
            return Err(format!(
                "gpt-simple: root_fstype '{}' is not supported; use ext4, xfs or btrfs",
                self.root_fstype
            ));
        }
        Ok(())
    }
}

/// Device paths end up in a shell script: accept only plain /dev paths.
fn check_device(disk: &str) -> Result<(), String> {
    let ok = disk.starts_with("/dev/")
        && disk.len() > 5
        && disk[5..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "gpt-simple: disk '{disk}' is not a plain /dev path like /dev/sda"
        ))
    }
}

/// Partition N of a disk: /dev/sda → /dev/sda1, /dev/nvme0n1 → /dev/nvme0n1p1.
pub fn partition_device(disk: &str, number: usize) -> String {
    if disk.ends_with(|c: char| c.is_ascii_digit()) {
        format!("{disk}p{number}")
    } else {
        format!("{disk}{number}")
    }
}

struct Part {
    size_mib: Option<u64>,
    sfdisk_type: &'static str,
    name: &'static str,
    /// mkfs command line (device appended), or None for partitions without a file system.
    mkfs: Option<String>,
    /// Where it is mounted in the installed system; "none" for swap.
    mount: Option<(&'static str, &'static str, &'static str, &'static str)>,
    bootable: bool,
}

pub fn plan(node: &Node, config: &Config) -> Result<PartitionPlan, String> {
    config.check()?;
    let disk = match &config.disk {
        Some(disk) => disk.clone(),
        None => node
            .disks
            .iter()
            .find(|d| !d.removable)
            .map(|d| d.device.clone())
            .unwrap_or_else(|| "/dev/sda".into()),
    };
    check_device(&disk)?;
    let firmware = match config.firmware {
        Some(f) => f,
        None => match node.firmware {
            BootFirmware::Bios => Firmware::Bios,
            BootFirmware::Uefi => Firmware::Uefi,
        },
    };
    if firmware == Firmware::Uefi && config.efi_mib < 32 {
        return Err(format!(
            "gpt-simple: node {} boots UEFI but efi_mib is {}; set efi_mib to at least 32 (512 is usual)",
            node.name, config.efi_mib
        ));
    }

    let mut parts = Vec::new();
    match (firmware, config.table) {
        (Firmware::Uefi, table) => parts.push(Part {
            size_mib: Some(config.efi_mib),
            sfdisk_type: if table == Table::Gpt { "U" } else { "ef" },
            name: "efi",
            mkfs: Some("mkfs.vfat -F 32 -n EFI".into()),
            mount: Some(("LABEL=EFI", "/boot/efi", "vfat", "umask=0077")),
            bootable: false,
        }),
        // GRUB on a BIOS machine with GPT needs a small partition for its core image.
        (Firmware::Bios, Table::Gpt) => parts.push(Part {
            size_mib: Some(1),
            sfdisk_type: "21686148-6449-6E6F-744E-656564454649",
            name: "biosboot",
            mkfs: None,
            mount: None,
            bootable: false,
        }),
        (Firmware::Bios, Table::Mbr) => {}
    }
    if config.boot_mib > 0 {
        parts.push(Part {
            size_mib: Some(config.boot_mib),
            sfdisk_type: "L",
            name: "boot",
            mkfs: Some("mkfs.ext4 -q -F -L boot".into()),
            mount: Some(("LABEL=boot", "/boot", "ext4", "defaults")),
            bootable: firmware == Firmware::Bios && config.table == Table::Mbr,
        });
    }
    if config.swap_mib > 0 {
        parts.push(Part {
            size_mib: Some(config.swap_mib),
            sfdisk_type: "S",
            name: "swap",
            mkfs: Some("mkswap -L swap".into()),
            mount: Some(("LABEL=swap", "none", "swap", "sw")),
            bootable: false,
        });
    }
    let root_mkfs = match config.root_fstype.as_str() {
        "xfs" => "mkfs.xfs -f -L root",
        "btrfs" => "mkfs.btrfs -f -L root",
        _ => "mkfs.ext4 -q -F -L root",
    };
    parts.push(Part {
        size_mib: None,
        sfdisk_type: "L",
        name: "root",
        mkfs: Some(root_mkfs.into()),
        mount: Some((
            "LABEL=root",
            "/",
            match config.root_fstype.as_str() {
                "xfs" => "xfs",
                "btrfs" => "btrfs",
                _ => "ext4",
            },
            "defaults",
        )),
        bootable: firmware == Firmware::Bios && config.table == Table::Mbr && config.boot_mib == 0,
    });

    if let Some(inventory) = node.disks.iter().find(|d| d.device == disk) {
        let fixed: u64 = parts.iter().filter_map(|p| p.size_mib).sum();
        let needed = fixed + MIN_ROOT_MIB + 2;
        if inventory.size_bytes / MIB < needed {
            return Err(format!(
                "gpt-simple: disk {disk} of node {} has {} MiB but the layout needs at least {needed} MiB; lower swap_mib/boot_mib or pick another disk",
                node.name,
                inventory.size_bytes / MIB
            ));
        }
    }

    Ok(render(&disk, config.table, &parts))
}

fn render(disk: &str, table: Table, parts: &[Part]) -> PartitionPlan {
    let mut s = String::new();
    let label = match table {
        Table::Gpt => "gpt",
        Table::Mbr => "dos",
    };
    let _ = writeln!(s, "set -eu");
    let _ = writeln!(s, "wipefs -a {disk}");
    let _ = writeln!(s, "sfdisk --wipe always {disk} <<'LAYOUT'");
    let _ = writeln!(s, "label: {label}");
    for part in parts {
        let mut line = String::new();
        if let Some(size) = part.size_mib {
            let _ = write!(line, "size={size}MiB, ");
        }
        let _ = write!(line, "type={}", part.sfdisk_type);
        if table == Table::Gpt {
            let _ = write!(line, ", name={}", part.name);
        }
        if part.bootable {
            line.push_str(", bootable");
        }
        let _ = writeln!(s, "{line}");
    }
    let _ = writeln!(s, "LAYOUT");
    // Partition device nodes appear asynchronously.
    let _ = writeln!(s, "udevadm settle 2>/dev/null || sleep 2");
    for (i, part) in parts.iter().enumerate() {
        if let Some(mkfs) = &part.mkfs {
            let _ = writeln!(s, "{mkfs} {}", partition_device(disk, i + 1));
        }
    }
    // Mount parents before children: "/" first, then by depth.
    let mut mounted: Vec<(usize, &Part)> = parts
        .iter()
        .enumerate()
        .filter(|(_, p)| p.mount.is_some_and(|m| m.1.starts_with('/')))
        .collect();
    mounted.sort_by_key(|(_, p)| {
        p.mount
            .map(|m| m.1.matches('/').count() + usize::from(m.1 != "/"))
    });
    for (i, part) in mounted {
        let target = part.mount.map(|m| m.1).unwrap_or("/");
        let dir = if target == "/" {
            "/sysroot".to_string()
        } else {
            format!("/sysroot{target}")
        };
        let _ = writeln!(s, "mkdir -p {dir}");
        let _ = writeln!(s, "mount {} {dir}", partition_device(disk, i + 1));
    }
    let mounts = parts
        .iter()
        .filter_map(|p| p.mount)
        .map(|(source, target, fstype, options)| Mount {
            source: source.into(),
            target: target.into(),
            fstype: fstype.into(),
            options: options.into(),
        })
        .collect();
    PartitionPlan {
        script: s,
        mounts,
        boot_devices: vec![disk.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use luna_sdk::{Disk, Group, Osimage};

    fn node(firmware: BootFirmware, disks: Vec<Disk>) -> Node {
        Node {
            name: "node001".into(),
            hostname: "node001".into(),
            group: Group {
                name: "compute".into(),
                domain: None,
            },
            osimage: Osimage {
                name: "debian12".into(),
                kernel_version: None,
                distribution: None,
            },
            firmware,
            interfaces: vec![],
            disks,
            bmc: None,
        }
    }

    fn disk(device: &str, gib: u64) -> Disk {
        Disk {
            device: device.into(),
            size_bytes: gib << 30,
            model: None,
            rotational: false,
            removable: false,
        }
    }

    #[test]
    fn nvme_partitions_get_a_p() {
        assert_eq!(partition_device("/dev/nvme0n1", 2), "/dev/nvme0n1p2");
        assert_eq!(partition_device("/dev/sda", 2), "/dev/sda2");
    }

    #[test]
    fn uefi_gpt_mounts_root_first_then_boot_then_efi() {
        let plan = plan(
            &node(BootFirmware::Uefi, vec![disk("/dev/nvme0n1", 100)]),
            &Config::default(),
        )
        .unwrap();
        let root = plan.script.find("/sysroot\n").unwrap();
        let boot = plan
            .script
            .find("mount /dev/nvme0n1p2 /sysroot/boot\n")
            .unwrap();
        let efi = plan
            .script
            .find("mount /dev/nvme0n1p1 /sysroot/boot/efi\n")
            .unwrap();
        assert!(root < boot && boot < efi, "{}", plan.script);
        assert_eq!(plan.mounts.len(), 4);
    }

    #[test]
    fn bios_gpt_gets_a_bios_boot_partition() {
        let plan = plan(&node(BootFirmware::Bios, vec![]), &Config::default()).unwrap();
        assert!(
            plan.script
                .contains("size=1MiB, type=21686148-6449-6E6F-744E-656564454649")
        );
        assert!(!plan.script.contains("vfat"));
    }

    #[test]
    fn too_small_disk_is_refused_with_the_fix() {
        let err = plan(
            &node(BootFirmware::Bios, vec![disk("/dev/sda", 2)]),
            &Config::default(),
        )
        .unwrap_err();
        assert!(err.contains("lower swap_mib"), "{err}");
    }

    #[test]
    fn shell_metacharacters_in_disk_are_refused() {
        let config = Config {
            disk: Some("/dev/sda; rm -rf /".into()),
            ..Config::default()
        };
        assert!(config.check().unwrap_err().contains("plain /dev path"));
    }
}
