//! Contract versions side by side: plugins built against the frozen `luna:provision@0.1.0`
//! keep loading and answering on a 0.2 host, and the 0.2-only power calls give them a clear
//! error instead of a trap; plugins built with today's luna-sdk speak 0.2.

mod support;

use luna_plugin_host::{BmcSettings, BootDevice, Hook, PowerAction, PowerState};
use serde_json::json;
use support::*;

#[tokio::test]
async fn a_0_1_power_plugin_keeps_working_and_refuses_0_2_calls_clearly() {
    let rt = runtime();
    let info = rt.inspect(&wasm("power-v01"), "power_v01.wasm").unwrap();
    assert_eq!(info.version, "0.1.0");
    assert_eq!(info.hooks, vec![Hook::Power]);

    let plugin = rt.load("legacy-power", &wasm("power-v01")).unwrap();
    let mut node = bios_node();
    node.bmc = Some(BmcSettings {
        address: Some("127.0.0.1".into()),
        ..Default::default()
    });
    let config = json!({});
    assert_eq!(
        rt.power(&plugin, &node, PowerAction::Status, &config)
            .await
            .unwrap(),
        PowerState::On
    );
    let err = rt
        .identify(&plugin, &node, true, &config)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin legacy-power (0.1) does not support identify; rebuild it against luna-sdk 0.2"
    );
    let err = rt
        .set_next_boot(&plugin, &node, BootDevice::Network, &config)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin legacy-power (0.1) does not support set-next-boot; rebuild it against luna-sdk 0.2"
    );
    // The refusal happens before instantiation: the plugin still answers afterwards.
    assert_eq!(
        rt.power(&plugin, &node, PowerAction::Off, &config)
            .await
            .unwrap(),
        PowerState::Off
    );
}

#[test]
fn plugins_built_with_the_sdk_speak_0_2() {
    let rt = runtime();
    for package in [
        "gpt-simple",
        "grub-post",
        "ipmi-power",
        "redfish-power",
        "bridge-mib",
    ] {
        let info = rt
            .inspect(&wasm(package), &format!("{package}.wasm"))
            .unwrap();
        assert_eq!(info.version, "0.2.0", "{package}");
    }
}
