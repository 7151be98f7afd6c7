//! The post-install script (pure: unit-tested natively).

use luna_sdk::{BootFirmware, Mount, Node, PartitionPlan};
use serde::Deserialize;
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Firmware {
    Bios,
    Uefi,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub kernel_args: Option<String>,
    pub timeout: Option<u32>,
    pub firmware: Option<Firmware>,
}

impl Config {
    pub fn check(&self) -> Result<(), String> {
        if let Some(args) = &self.kernel_args
            && args
                .chars()
                .any(|c| matches!(c, '"' | '\'' | '\\' | '`' | '$' | '\n' | '|' | '&' | ';'))
        {
            return Err(format!(
                "grub-post: kernel_args '{args}' contains shell or quote characters; use plain key=value words"
            ));
        }
        Ok(())
    }
}

fn check_field(mount: &Mount, value: &str) -> Result<(), String> {
    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c == '\'') {
        return Err(format!(
            "grub-post: layout entry {} → {} has an empty field or one with blanks/quotes ('{value}'); fix the partitioner",
            mount.source, mount.target
        ));
    }
    Ok(())
}

/// fsck order: root first, other real file systems after, nothing for swap and memory.
fn pass(mount: &Mount) -> u8 {
    match (mount.target.as_str(), mount.fstype.as_str()) {
        (_, "swap" | "tmpfs" | "proc" | "sysfs" | "nfs" | "nfs4") => 0,
        ("/", _) => 1,
        _ => 2,
    }
}

pub fn render(node: &Node, layout: &PartitionPlan, config: &Config) -> Result<String, String> {
    config.check()?;
    for m in &layout.mounts {
        for field in [&m.source, &m.target, &m.fstype, &m.options] {
            check_field(m, field)?;
        }
    }
    if !layout.mounts.iter().any(|m| m.target == "/") {
        return Err(format!(
            "grub-post: the layout for {} has no root (\"/\") mount; the partitioner must report it",
            node.name
        ));
    }
    let firmware = config.firmware.unwrap_or(match node.firmware {
        BootFirmware::Bios => Firmware::Bios,
        BootFirmware::Uefi => Firmware::Uefi,
    });

    let mut s = String::new();
    let _ = writeln!(s, "set -eu");
    let _ = writeln!(s, "# post-install for {} by grub-post", node.name);
    let _ = writeln!(s, "cat > /etc/fstab <<'FSTAB'");
    let _ = writeln!(s, "# written by Luna (grub-post) for {}", node.name);
    let mut mounts: Vec<&Mount> = layout.mounts.iter().collect();
    // Parents before children, swap last: what mount -a expects.
    mounts.sort_by_key(|m| {
        (
            m.target == "none",
            m.target.matches('/').count() + usize::from(m.target != "/"),
        )
    });
    for m in mounts {
        let _ = writeln!(
            s,
            "{}\t{}\t{}\t{}\t0\t{}",
            m.source,
            m.target,
            m.fstype,
            m.options,
            pass(m)
        );
    }
    let _ = writeln!(s, "FSTAB");

    let root_is_disk = layout
        .mounts
        .iter()
        .any(|m| m.target == "/" && m.fstype != "tmpfs");
    if layout.boot_devices.is_empty() || !root_is_disk {
        let _ = writeln!(s, "# diskless layout: no boot loader to install");
        return Ok(s);
    }
    for dev in &layout.boot_devices {
        if !dev.starts_with("/dev/") || dev.chars().any(|c| c.is_whitespace() || c == '\'') {
            return Err(format!(
                "grub-post: boot device '{dev}' is not a plain /dev path"
            ));
        }
    }
    let _ = writeln!(
        s,
        "if command -v grub2-install >/dev/null 2>&1; then GRUB=grub2; else GRUB=grub; fi"
    );
    if let Some(args) = &config.kernel_args {
        let _ = writeln!(s, "touch /etc/default/grub");
        let _ = writeln!(s, "sed -i '/^GRUB_CMDLINE_LINUX=/d' /etc/default/grub");
        let _ = writeln!(
            s,
            "echo 'GRUB_CMDLINE_LINUX=\"{args}\"' >> /etc/default/grub"
        );
    }
    if let Some(timeout) = config.timeout {
        let _ = writeln!(s, "touch /etc/default/grub");
        let _ = writeln!(s, "sed -i '/^GRUB_TIMEOUT=/d' /etc/default/grub");
        let _ = writeln!(s, "echo 'GRUB_TIMEOUT={timeout}' >> /etc/default/grub");
    }
    match firmware {
        Firmware::Uefi => {
            if !layout.mounts.iter().any(|m| m.target == "/boot/efi") {
                return Err(format!(
                    "grub-post: node {} boots UEFI but the layout has no /boot/efi mount; use a partitioner that creates an EFI system partition",
                    node.name
                ));
            }
            let _ = writeln!(
                s,
                "\"$GRUB-install\" --target=x86_64-efi --efi-directory=/boot/efi --bootloader-id=luna --removable --no-nvram"
            );
        }
        Firmware::Bios => {
            for dev in &layout.boot_devices {
                let _ = writeln!(s, "\"$GRUB-install\" --target=i386-pc {dev}");
            }
        }
    }
    s.push_str(UUID_LINKS);
    let _ = writeln!(s, "\"$GRUB-mkconfig\" -o \"/boot/$GRUB/grub.cfg\"");
    Ok(s)
}

/// The installer runs no udev, and grub-mkconfig writes `root=UUID=` only when
/// /dev/disk/by-uuid has the root's link; otherwise it writes the installer's device name
/// (`root=/dev/sda2`), which breaks when disks enumerate differently. Make the links udev would.
const UUID_LINKS: &str = r#"while read -r dev _; do
    case "$dev" in /dev/*) ;; *) continue ;; esac
    uuid=$(blkid -s UUID -o value "$dev" 2>/dev/null || true)
    if [ -n "$uuid" ] && [ ! -e "/dev/disk/by-uuid/$uuid" ]; then
        mkdir -p /dev/disk/by-uuid
        ln -s "$dev" "/dev/disk/by-uuid/$uuid"
    fi
done < /proc/mounts
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use luna_sdk::{Group, Osimage};

    fn node(firmware: BootFirmware) -> Node {
        Node {
            name: "node001".into(),
            hostname: "node001".into(),
            group: Group {
                name: "compute".into(),
                domain: None,
            },
            osimage: Osimage {
                name: "el9".into(),
                kernel_version: None,
                distribution: None,
            },
            firmware,
            interfaces: vec![],
            disks: vec![],
            bmc: None,
        }
    }

    fn mount(source: &str, target: &str, fstype: &str) -> Mount {
        Mount {
            source: source.into(),
            target: target.into(),
            fstype: fstype.into(),
            options: "defaults".into(),
        }
    }

    fn layout(mounts: Vec<Mount>) -> PartitionPlan {
        PartitionPlan {
            script: String::new(),
            mounts,
            boot_devices: vec!["/dev/sda".into()],
        }
    }

    #[test]
    fn fstab_puts_root_first_and_swap_last() {
        let l = layout(vec![
            mount("LABEL=swap", "none", "swap"),
            mount("LABEL=boot", "/boot", "ext4"),
            mount("LABEL=root", "/", "ext4"),
        ]);
        let s = render(&node(BootFirmware::Bios), &l, &Config::default()).unwrap();
        let root = s.find("LABEL=root\t/\text4\tdefaults\t0\t1").unwrap();
        let boot = s.find("LABEL=boot\t/boot").unwrap();
        let swap = s.find("LABEL=swap\tnone\tswap\tdefaults\t0\t0").unwrap();
        assert!(root < boot && boot < swap, "{s}");
        assert!(s.contains("--target=i386-pc /dev/sda"));
    }

    #[test]
    fn root_gets_a_uuid_link_before_the_grub_config_is_made() {
        let s = render(
            &node(BootFirmware::Bios),
            &layout(vec![mount("LABEL=root", "/", "ext4")]),
            &Config::default(),
        )
        .unwrap();
        let link = s
            .find("ln -s \"$dev\" \"/dev/disk/by-uuid/$uuid\"")
            .unwrap();
        let mkconfig = s.find("\"$GRUB-mkconfig\"").unwrap();
        assert!(link < mkconfig, "{s}");
    }

    #[test]
    fn uefi_without_esp_is_refused() {
        let l = layout(vec![mount("LABEL=root", "/", "ext4")]);
        let err = render(&node(BootFirmware::Uefi), &l, &Config::default()).unwrap_err();
        assert!(err.contains("/boot/efi"), "{err}");
    }

    #[test]
    fn tmpfs_root_installs_no_boot_loader() {
        let mut l = layout(vec![mount("tmpfs", "/", "tmpfs")]);
        l.boot_devices.clear();
        let s = render(&node(BootFirmware::Bios), &l, &Config::default()).unwrap();
        assert!(!s.contains("grub-install") && s.contains("diskless"));
    }

    #[test]
    fn quotes_in_kernel_args_are_refused() {
        let c = Config {
            kernel_args: Some("a'; reboot".into()),
            ..Config::default()
        };
        assert!(c.check().is_err());
    }
}
