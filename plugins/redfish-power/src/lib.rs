//! `redfish-power`: power status/on/off/cycle/reset through Redfish
//! (`/redfish/v1/Systems/{id}` PowerState and `Actions/ComputerSystem.Reset`), the identify light
//! (`LocationIndicatorActive` or `IndicatorLED`) and a one-time network boot (`Boot` override
//! `Pxe`, `Once`), using the host's HTTP capability towards the node's BMC (it adds basic auth).
//!
//! Configuration (optional): `{"scheme": "https", "system": "<id>"}`; without `system`, the first
//! member of /redfish/v1/Systems is used.

use luna_sdk::http::{self, Request};
use luna_sdk::{BootDevice, Node, Power, PowerAction, PowerState};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub scheme: String,
    pub system: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            scheme: "https".into(),
            system: None,
        }
    }
}

impl Config {
    pub fn check(&self) -> Result<(), String> {
        if self.scheme != "http" && self.scheme != "https" {
            return Err(format!(
                "redfish-power: scheme must be http or https, not '{}'",
                self.scheme
            ));
        }
        Ok(())
    }
}

/// The Redfish ResetType for an action (None for status).
pub fn reset_type(action: PowerAction) -> Option<&'static str> {
    match action {
        PowerAction::Status => None,
        PowerAction::On => Some("On"),
        PowerAction::Off => Some("ForceOff"),
        PowerAction::Cycle => Some("PowerCycle"),
        PowerAction::Reset => Some("ForceRestart"),
    }
}

pub fn parse_power_state(body: &str) -> Result<PowerState, String> {
    let v: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| format!("redfish-power: system resource is not JSON: {e}"))?;
    match v.get("PowerState").and_then(|s| s.as_str()) {
        Some("On") | Some("PoweringOff") => Ok(PowerState::On),
        Some("Off") | Some("PoweringOn") => Ok(PowerState::Off),
        other => Err(format!("redfish-power: unexpected PowerState {other:?}")),
    }
}

fn call(method: &str, url: &str, body: Option<String>) -> Result<String, String> {
    let response = http::send(&Request {
        method: method.into(),
        url: url.into(),
        headers: vec![
            ("Accept".into(), "application/json".into()),
            ("Content-Type".into(), "application/json".into()),
        ],
        body,
    })?;
    if !(200..300).contains(&response.status) {
        return Err(format!(
            "redfish-power: {method} {url} answered {}: {}",
            response.status,
            response.body.chars().take(200).collect::<String>()
        ));
    }
    Ok(response.body)
}

/// The Redfish system resource of the node's BMC, e.g. `https://10.0.0.5/redfish/v1/Systems/1`.
pub struct System {
    url: String,
}

impl System {
    /// Resolves the system: `system` from the configuration, or the first member of Systems.
    fn of(node: &Node, config: &Config) -> Result<System, String> {
        config.check()?;
        let bmc = node
            .bmc
            .as_ref()
            .ok_or_else(|| format!("redfish-power: node {} has no BMC settings", node.name))?;
        let address = bmc
            .address
            .as_deref()
            .and_then(|a| a.split('/').next())
            .ok_or_else(|| format!("redfish-power: node {} has no BMC address", node.name))?;
        let host = if address.contains(':') {
            format!("[{address}]")
        } else {
            address.to_string()
        };
        let base = match bmc.port {
            Some(port) => format!("{}://{host}:{port}", config.scheme),
            None => format!("{}://{host}", config.scheme),
        };
        let system_path = match &config.system {
            Some(id) => format!("/redfish/v1/Systems/{id}"),
            None => {
                let body = call("GET", &format!("{base}/redfish/v1/Systems"), None)?;
                let v: serde_json::Value = serde_json::from_str(&body)
                    .map_err(|e| format!("redfish-power: Systems collection is not JSON: {e}"))?;
                v.pointer("/Members/0/@odata.id")
                    .and_then(|m| m.as_str())
                    .ok_or("redfish-power: the BMC lists no system")?
                    .to_string()
            }
        };
        Ok(System {
            url: format!("{base}{system_path}"),
        })
    }

    fn get(&self) -> Result<serde_json::Value, String> {
        serde_json::from_str(&call("GET", &self.url, None)?)
            .map_err(|e| format!("redfish-power: system resource is not JSON: {e}"))
    }

    fn patch(&self, body: serde_json::Value) -> Result<(), String> {
        call("PATCH", &self.url, Some(body.to_string())).map(drop)
    }
}

/// The PATCH body that switches the identify light, for the property the system has:
/// `LocationIndicatorActive` (Redfish 2020.3+) or the older `IndicatorLED`.
pub fn identify_patch(system: &serde_json::Value, on: bool) -> Result<serde_json::Value, String> {
    if system.get("LocationIndicatorActive").is_some() {
        return Ok(serde_json::json!({ "LocationIndicatorActive": on }));
    }
    if system.get("IndicatorLED").is_some() {
        let led = if on { "Blinking" } else { "Off" };
        return Ok(serde_json::json!({ "IndicatorLED": led }));
    }
    Err("redfish-power: the system has neither LocationIndicatorActive nor IndicatorLED".into())
}

/// The PATCH body for a one-time boot override.
pub fn next_boot_patch(device: BootDevice) -> serde_json::Value {
    let target = match device {
        BootDevice::Network => "Pxe",
    };
    serde_json::json!({
        "Boot": { "BootSourceOverrideTarget": target, "BootSourceOverrideEnabled": "Once" }
    })
}

pub struct RedfishPower;

impl Power for RedfishPower {
    fn validate_config() -> Result<(), String> {
        luna_sdk::config::<Config>()?.check()
    }

    fn power(node: Node, action: PowerAction) -> Result<PowerState, String> {
        let system = System::of(&node, &luna_sdk::config()?)?;
        if let Some(reset) = reset_type(action) {
            let body = serde_json::json!({ "ResetType": reset }).to_string();
            call(
                "POST",
                &format!("{}/Actions/ComputerSystem.Reset", system.url),
                Some(body),
            )?;
            // BMCs apply resets asynchronously: report the state the action leads to.
            return Ok(if action == PowerAction::Off {
                PowerState::Off
            } else {
                PowerState::On
            });
        }
        parse_power_state(&call("GET", &system.url, None)?)
    }

    fn identify(node: Node, on: bool) -> Result<(), String> {
        let system = System::of(&node, &luna_sdk::config()?)?;
        system.patch(identify_patch(&system.get()?, on)?)
    }

    fn set_next_boot(node: Node, device: BootDevice) -> Result<(), String> {
        let system = System::of(&node, &luna_sdk::config()?)?;
        system.patch(next_boot_patch(device))
    }
}

luna_sdk::export_plugin!(RedfishPower: Power);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_state_parses() {
        assert_eq!(
            parse_power_state(r#"{"PowerState": "On"}"#).unwrap(),
            PowerState::On
        );
        assert_eq!(
            parse_power_state(r#"{"PowerState": "Off"}"#).unwrap(),
            PowerState::Off
        );
        assert!(parse_power_state("{}").is_err());
    }

    #[test]
    fn identify_uses_the_property_the_system_has() {
        let new = serde_json::json!({"LocationIndicatorActive": false, "IndicatorLED": "Off"});
        assert_eq!(
            identify_patch(&new, true).unwrap(),
            serde_json::json!({"LocationIndicatorActive": true})
        );
        let old = serde_json::json!({"IndicatorLED": "Lit"});
        assert_eq!(
            identify_patch(&old, false).unwrap(),
            serde_json::json!({"IndicatorLED": "Off"})
        );
        assert!(identify_patch(&serde_json::json!({}), true).is_err());
    }

    #[test]
    fn next_boot_is_a_one_time_pxe_override() {
        assert_eq!(
            next_boot_patch(BootDevice::Network)["Boot"],
            serde_json::json!({"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"})
        );
    }

    #[test]
    fn actions_map_to_reset_types() {
        assert_eq!(reset_type(PowerAction::Off), Some("ForceOff"));
        assert_eq!(reset_type(PowerAction::Status), None);
    }
}
