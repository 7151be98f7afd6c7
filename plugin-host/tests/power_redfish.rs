//! redfish-power against a real Redfish emulator (sushy-tools, fake driver) on loopback, through
//! the host's HTTP capability. Needs `sushy-emulator` (pip install sushy-tools): on PATH, via
//! `LUNA_SUSHY`, or in ~/.cache/luna-pyenv/bin.

mod support;
// The simulators the daemon's own power tests use (one set-up for both crates).
#[path = "../../host/tests/sims/mod.rs"]
mod sims;

use luna_plugin_host::{BmcSettings, BootDevice, PowerAction, PowerState};
use serde_json::json;
use std::time::{Duration, Instant};
use support::*;

#[tokio::test]
async fn redfish_power_drives_an_emulated_bmc() {
    let port = sims::free_tcp_port();
    let _emulator = sims::sushy("127.0.0.1", port);
    let rt = runtime();
    let plugin = rt.load("redfish-power", &wasm("redfish-power")).unwrap();
    let mut node = uefi_node();
    node.bmc = Some(BmcSettings {
        address: Some("127.0.0.1".into()),
        port: Some(port),
        user: "admin".into(),
        password: "secret".into(),
        ..Default::default()
    });
    let config = json!({"scheme": "http"});

    let mut first = None;
    for _ in 0..60 {
        first = Some(rt.power(&plugin, &node, PowerAction::Status, &config).await);
        if matches!(first, Some(Ok(_))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    first.unwrap().unwrap();

    // The emulator applies power changes after a random delay: poll for the new state.
    for (action, wanted) in [
        (PowerAction::On, PowerState::On),
        (PowerAction::Off, PowerState::Off),
    ] {
        assert_eq!(
            rt.power(&plugin, &node, action, &config).await.unwrap(),
            wanted
        );
        let started = Instant::now();
        loop {
            let now = rt
                .power(&plugin, &node, PowerAction::Status, &config)
                .await
                .unwrap();
            if now == wanted {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{action:?} never took effect"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    // 0.2: the identify light and a one-time PXE boot, read back from the emulator's own API.
    let system = async || -> serde_json::Value {
        let base = format!("http://127.0.0.1:{port}");
        let list: serde_json::Value = reqwest::get(format!("{base}/redfish/v1/Systems"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let path = list["Members"][0]["@odata.id"]
            .as_str()
            .unwrap()
            .to_string();
        reqwest::get(format!("{base}{path}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    };
    rt.identify(&plugin, &node, true, &config).await.unwrap();
    assert_eq!(system().await["IndicatorLED"], "Blinking");
    rt.identify(&plugin, &node, false, &config).await.unwrap();
    assert_eq!(system().await["IndicatorLED"], "Off");
    // Start from a disk override so the change to Pxe is the plugin's doing.
    let path = system().await["@odata.id"].as_str().unwrap().to_string();
    let hdd = json!({"Boot": {"BootSourceOverrideTarget": "Hdd"}});
    let patched = reqwest::Client::new()
        .patch(format!("http://127.0.0.1:{port}{path}"))
        .json(&hdd)
        .send()
        .await
        .unwrap();
    assert!(patched.status().is_success());
    assert_eq!(system().await["Boot"]["BootSourceOverrideTarget"], "Hdd");
    rt.set_next_boot(&plugin, &node, BootDevice::Network, &config)
        .await
        .unwrap();
    assert_eq!(system().await["Boot"]["BootSourceOverrideTarget"], "Pxe");

    // A system id the BMC does not have: the plugin reports the BMC's answer.
    let err = rt
        .power(
            &plugin,
            &node,
            PowerAction::Status,
            &json!({"scheme": "http", "system": "nope"}),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("answered 404"), "{err}");
}
