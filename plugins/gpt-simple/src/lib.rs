//! `gpt-simple`: partitions one disk (GPT or MBR) into EFI system (UEFI), BIOS boot (BIOS+GPT),
//! boot, swap and root, formats them and mounts the result on /sysroot.
//!
//! Configuration (all optional): `{"table": "gpt"|"mbr", "disk": "/dev/sda", "efi_mib": 512,
//! "boot_mib": 1024, "swap_mib": 4096, "root_fstype": "ext4"|"xfs", "firmware": "bios"|"uefi"}`.
//! A size of 0 leaves that partition out (EFI is required for UEFI).

mod layout;

use luna_sdk::{Node, PartitionPlan, Partitioner};

pub use layout::{Config, plan};

pub struct GptSimple;

impl Partitioner for GptSimple {
    fn validate_config() -> Result<(), String> {
        luna_sdk::config::<Config>()?.check()
    }

    fn partition(node: Node) -> Result<PartitionPlan, String> {
        let config: Config = luna_sdk::config()?;
        let plan = plan(&node, &config)?;
        luna_sdk::log::info(&format!(
            "{}: {} partitions on {}",
            node.name,
            plan.mounts.len(),
            plan.boot_devices.join(",")
        ));
        Ok(plan)
    }
}

luna_sdk::export_plugin!(GptSimple: Partitioner);
