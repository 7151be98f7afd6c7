//! `grub-post`: writes /etc/fstab from the partitioner's layout and installs GRUB for the node's
//! firmware (BIOS: to every boot disk; UEFI: to the EFI system partition, removable path so no
//! NVRAM access is needed in the chroot). Works with Debian's `grub-*` and EL's `grub2-*` names.
//!
//! Configuration (optional): `{"kernel_args": "console=ttyS0,115200", "timeout": 5,
//! "firmware": "bios"|"uefi"}`.

mod script;

use luna_sdk::{Node, PartitionPlan, PostInstall};

pub use script::{Config, render};

pub struct GrubPost;

impl PostInstall for GrubPost {
    fn validate_config() -> Result<(), String> {
        luna_sdk::config::<Config>()?.check()
    }

    fn post_install(node: Node, layout: PartitionPlan) -> Result<String, String> {
        render(&node, &layout, &luna_sdk::config()?)
    }
}

luna_sdk::export_plugin!(GrubPost: PostInstall);
