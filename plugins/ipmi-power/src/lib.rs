//! `ipmi-power`: power status/on/off/cycle/reset, the identify light (`chassis identify`) and a
//! one-time network boot (`chassis bootdev pxe`) through the host's IPMI capability
//! (`ipmitool -I lanplus -C 3` towards the node's BMC; the host adds address and credentials).
//!
//! Configuration (optional): `{"soft_off": false}` (off = ACPI soft shutdown instead of hard off).

use luna_sdk::{BootDevice, Node, Power, PowerAction, PowerState};
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub soft_off: bool,
}

/// ipmitool's chassis command for an action.
pub fn command(action: PowerAction, config: &Config) -> Vec<&'static str> {
    let verb = match action {
        PowerAction::Status => "status",
        PowerAction::On => "on",
        PowerAction::Off if config.soft_off => "soft",
        PowerAction::Off => "off",
        PowerAction::Cycle => "cycle",
        PowerAction::Reset => "reset",
    };
    vec!["chassis", "power", verb]
}

/// ipmitool's identify command: `force` keeps the light on until told otherwise (the default
/// interval would turn it off after 15 s); `0` turns it off.
pub fn identify_command(on: bool) -> Vec<&'static str> {
    vec!["chassis", "identify", if on { "force" } else { "0" }]
}

/// ipmitool's one-time boot device command (without `options=persistent` it applies once).
pub fn bootdev_command(device: BootDevice) -> Vec<&'static str> {
    let device = match device {
        BootDevice::Network => "pxe",
    };
    vec!["chassis", "bootdev", device]
}

/// "Chassis Power is on" → On.
pub fn parse_status(output: &str) -> Result<PowerState, String> {
    let line = output
        .lines()
        .find(|l| l.contains("Chassis Power is"))
        .unwrap_or("");
    match line.rsplit(' ').next().map(str::trim) {
        Some("on") => Ok(PowerState::On),
        Some("off") => Ok(PowerState::Off),
        _ => Err(format!(
            "ipmi-power: unexpected ipmitool answer '{}'",
            output.trim()
        )),
    }
}

pub struct IpmiPower;

impl Power for IpmiPower {
    fn validate_config() -> Result<(), String> {
        luna_sdk::config::<Config>().map(drop)
    }

    fn power(node: Node, action: PowerAction) -> Result<PowerState, String> {
        let config: Config = luna_sdk::config()?;
        let run = |args: Vec<&str>| run(&node, args);
        if action != PowerAction::Status {
            run(command(action, &config))?;
        }
        match action {
            // A cycle or reset leaves the machine on; the BMC may still be settling.
            PowerAction::Cycle | PowerAction::Reset => Ok(PowerState::On),
            _ => parse_status(&run(command(PowerAction::Status, &config))?),
        }
    }

    fn identify(node: Node, on: bool) -> Result<(), String> {
        run(&node, identify_command(on)).map(drop)
    }

    fn set_next_boot(node: Node, device: BootDevice) -> Result<(), String> {
        run(&node, bootdev_command(device)).map(drop)
    }
}

/// Runs one ipmitool command against the node's BMC.
fn run(node: &Node, args: Vec<&str>) -> Result<String, String> {
    let address = node
        .bmc
        .as_ref()
        .and_then(|b| b.address.clone())
        .ok_or_else(|| format!("ipmi-power: node {} has no BMC address", node.name))?;
    let address = address.split('/').next().unwrap_or_default();
    luna_sdk::ipmi::run(
        address,
        &args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
    )
}

luna_sdk::export_plugin!(IpmiPower: Power);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_parse() {
        assert_eq!(
            parse_status("Chassis Power is on\n").unwrap(),
            PowerState::On
        );
        assert_eq!(
            parse_status("Chassis Power is off\n").unwrap(),
            PowerState::Off
        );
        assert!(parse_status("Error: Unable to establish IPMI v2 / RMCP+ session").is_err());
    }

    #[test]
    fn identify_and_bootdev_commands() {
        assert_eq!(identify_command(true), ["chassis", "identify", "force"]);
        assert_eq!(identify_command(false), ["chassis", "identify", "0"]);
        assert_eq!(
            bootdev_command(BootDevice::Network),
            ["chassis", "bootdev", "pxe"]
        );
    }

    #[test]
    fn soft_off_uses_soft() {
        assert_eq!(
            command(PowerAction::Off, &Config { soft_off: true }),
            ["chassis", "power", "soft"]
        );
    }
}
