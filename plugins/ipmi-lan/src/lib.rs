//! `ipmi-lan`: configures the node's BMC in-band from its initramfs with the sequence of the
//! original Luna: static IP source, address, netmask, gateway, user name, password, channel
//! access, enable the user, (optionally) cold reset. Every LAN setting is read back with
//! `ipmitool lan print` and retried until it sticks; the user is checked with `user list` and the
//! password with `user test`.
//!
//! Configuration (optional): `{"retries": 5, "delay_s": 2, "cold_reset": true,
//! "privilege": 4}`.

mod script;

use luna_sdk::{BmcSetup, Node};

pub use script::{Config, render};

pub struct IpmiLan;

impl BmcSetup for IpmiLan {
    fn validate_config() -> Result<(), String> {
        luna_sdk::config::<Config>()?.check()
    }

    fn bmc_setup(node: Node) -> Result<String, String> {
        render(&node, &luna_sdk::config()?)
    }
}

luna_sdk::export_plugin!(IpmiLan: BmcSetup);
