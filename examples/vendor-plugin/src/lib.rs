//! ACME hardware RAID partitioner: an example of a vendor plugin built on `luna-sdk`.
//!
//! Configuration: `{"level": 1|5|6|10, "controller": 0}`.

use luna_sdk::{Mount, Node, PartitionPlan, Partitioner};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub level: u8,
    pub controller: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            level: 1,
            controller: 0,
        }
    }
}

impl Config {
    fn check(&self) -> Result<(), String> {
        match self.level {
            1 | 5 | 6 | 10 => Ok(()),
            other => Err(format!(
                "acme-hwraid: RAID level {other} is not supported; use 1, 5, 6 or 10"
            )),
        }
    }
}

pub struct AcmeHwRaid;

impl Partitioner for AcmeHwRaid {
    fn validate_config() -> Result<(), String> {
        luna_sdk::config::<Config>()?.check()
    }

    fn partition(node: Node) -> Result<PartitionPlan, String> {
        let config: Config = luna_sdk::config()?;
        config.check()?;
        let needed = if config.level == 1 { 2 } else { 4 };
        let disks = node.disks.iter().filter(|d| !d.removable).count();
        if disks < needed {
            return Err(format!(
                "acme-hwraid: RAID {} needs {needed} disks, node {} has {disks}",
                config.level, node.name
            ));
        }
        luna_sdk::log::info(&format!(
            "{}: RAID {} over {disks} disks",
            node.name, config.level
        ));
        let script = format!(
            "set -eu\n\
             acmecli /c{c} delete vd all force\n\
             acmecli /c{c} add vd type=raid{l} drives=all\n\
             udevadm settle 2>/dev/null || sleep 2\n\
             VD=$(acmecli /c{c}/v0 show devpath)\n\
             echo ',,L' | sfdisk --wipe always \"$VD\"\n\
             udevadm settle 2>/dev/null || sleep 2\n\
             mkfs.ext4 -q -F -L root \"${{VD}}1\"\n\
             mount \"${{VD}}1\" /sysroot\n",
            c = config.controller,
            l = config.level
        );
        Ok(PartitionPlan {
            script,
            mounts: vec![Mount {
                source: "LABEL=root".into(),
                target: "/".into(),
                fstype: "ext4".into(),
                options: "defaults".into(),
            }],
            // The controller presents the volume as the first disk.
            boot_devices: vec!["/dev/sda".into()],
        })
    }
}

luna_sdk::export_plugin!(AcmeHwRaid: Partitioner);
