//! `ipmi-power`: power status/on/off/cycle/reset through the host's IPMI capability
//! (`ipmitool -I lanplus -C 3` towards the node's BMC; the host adds address and credentials).
//!
//! Configuration (optional): `{"soft_off": false}` (off = ACPI soft shutdown instead of hard off).

use luna_sdk::{Node, Power, PowerAction, PowerState};
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
        let address = node
            .bmc
            .as_ref()
            .and_then(|b| b.address.clone())
            .ok_or_else(|| format!("ipmi-power: node {} has no BMC address", node.name))?;
        let address = address.split('/').next().unwrap_or_default().to_string();
        let run = |args: Vec<&str>| {
            luna_sdk::ipmi::run(
                &address,
                &args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            )
        };
        if action != PowerAction::Status {
            run(command(action, &config))?;
        }
        match action {
            // A cycle or reset leaves the machine on; the BMC may still be settling.
            PowerAction::Cycle | PowerAction::Reset => Ok(PowerState::On),
            _ => parse_status(&run(command(PowerAction::Status, &config))?),
        }
    }
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
    fn soft_off_uses_soft() {
        assert_eq!(
            command(PowerAction::Off, &Config { soft_off: true }),
            ["chassis", "power", "soft"]
        );
    }
}
