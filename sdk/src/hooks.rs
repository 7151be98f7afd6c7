//! The hook traits plugin authors implement, and their glue to the generated WIT exports.

use crate::bindings::{bmc, partitioner, post_install, power, switch_discovery};
use crate::{BootDevice, Node, PartitionPlan, PortEntry, PowerAction, PowerState, SwitchInfo};

/// World `partitioner`: lay out the node's disks. The script runs in the node's initramfs and
/// must leave the target file systems mounted on /sysroot.
pub trait Partitioner {
    /// Check the bound configuration ([`crate::config`]); called when an operator binds it.
    fn validate_config() -> Result<(), String> {
        Ok(())
    }
    fn partition(node: Node) -> Result<PartitionPlan, String>;
}

/// World `post-install`: a script run chrooted in the installed system.
pub trait PostInstall {
    fn validate_config() -> Result<(), String> {
        Ok(())
    }
    fn post_install(node: Node, layout: PartitionPlan) -> Result<String, String>;
}

/// World `bmc`: a script run in the initramfs that configures the node's BMC in-band.
pub trait BmcSetup {
    fn validate_config() -> Result<(), String> {
        Ok(())
    }
    fn bmc_setup(node: Node) -> Result<String, String>;
}

/// World `switch-discovery`: learn MAC → port from one switch through [`crate::snmp`].
pub trait SwitchDiscovery {
    fn validate_config() -> Result<(), String> {
        Ok(())
    }
    fn discover(switch: SwitchInfo) -> Result<Vec<PortEntry>, String>;
}

/// World `power`: query or change the node's power through [`crate::ipmi`] or [`crate::http`].
pub trait Power {
    fn validate_config() -> Result<(), String> {
        Ok(())
    }
    fn power(node: Node, action: PowerAction) -> Result<PowerState, String>;

    /// Switch the chassis identify light on or off (new in 0.2). A plugin that cannot says so;
    /// the host reports the message in the node's row.
    fn identify(node: Node, on: bool) -> Result<(), String> {
        let _ = (node, on);
        Err("this power plugin does not implement identify".into())
    }

    /// Make the node boot from `device` on its next boot only (new in 0.2).
    fn set_next_boot(node: Node, device: BootDevice) -> Result<(), String> {
        let _ = (node, device);
        Err("this power plugin does not implement set-next-boot".into())
    }
}

impl<T: Partitioner> partitioner::exports::luna::provision::partition_hook::Guest for T {
    fn validate_config() -> Result<(), String> {
        <T as Partitioner>::validate_config()
    }
    fn partition(node: Node) -> Result<PartitionPlan, String> {
        <T as Partitioner>::partition(node)
    }
}

impl<T: PostInstall> post_install::exports::luna::provision::post_install_hook::Guest for T {
    fn validate_config() -> Result<(), String> {
        <T as PostInstall>::validate_config()
    }
    fn post_install(node: Node, layout: PartitionPlan) -> Result<String, String> {
        <T as PostInstall>::post_install(node, layout)
    }
}

impl<T: BmcSetup> bmc::exports::luna::provision::bmc_hook::Guest for T {
    fn validate_config() -> Result<(), String> {
        <T as BmcSetup>::validate_config()
    }
    fn bmc_setup(node: Node) -> Result<String, String> {
        <T as BmcSetup>::bmc_setup(node)
    }
}

impl<T: SwitchDiscovery> switch_discovery::exports::luna::provision::discovery_hook::Guest for T {
    fn validate_config() -> Result<(), String> {
        <T as SwitchDiscovery>::validate_config()
    }
    fn discover(switch: SwitchInfo) -> Result<Vec<PortEntry>, String> {
        <T as SwitchDiscovery>::discover(switch)
    }
}

impl<T: Power> power::exports::luna::provision::power_hook::Guest for T {
    fn validate_config() -> Result<(), String> {
        <T as Power>::validate_config()
    }
    fn power(node: Node, action: PowerAction) -> Result<PowerState, String> {
        <T as Power>::power(node, action)
    }
    fn identify(node: Node, on: bool) -> Result<(), String> {
        <T as Power>::identify(node, on)
    }
    fn set_next_boot(node: Node, device: BootDevice) -> Result<(), String> {
        <T as Power>::set_next_boot(node, device)
    }
}
