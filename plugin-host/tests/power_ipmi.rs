//! ipmi-power against a real IPMI LAN simulator (OpenIPMI's ipmi_sim) on loopback, through the
//! host's ipmitool capability. Needs the Debian packages openipmi and ipmitool.

mod support;
// The simulators the daemon's own power tests use (one set-up for both crates).
#[path = "../../host/tests/sims/mod.rs"]
mod sims;

use luna_plugin_host::{BmcSettings, BootDevice, PowerAction, PowerState};
use serde_json::json;
use std::time::Duration;
use support::*;

#[tokio::test]
async fn ipmi_power_drives_a_simulated_bmc() {
    let dir = tempfile::tempdir().unwrap();
    let port = sims::free_udp_port();
    let _sim = sims::ipmi_sim(dir.path(), "127.0.0.1", port);
    let rt = runtime();
    let plugin = rt.load("ipmi-power", &wasm("ipmi-power")).unwrap();
    let mut node = bios_node();
    node.bmc = Some(BmcSettings {
        address: Some("127.0.0.1".into()),
        port: Some(port),
        user: "admin".into(),
        password: "secret".into(),
        ..Default::default()
    });
    let config = json!({});
    let mut status = None;
    for _ in 0..40 {
        status = Some(rt.power(&plugin, &node, PowerAction::Status, &config).await);
        if matches!(status, Some(Ok(_))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(status.unwrap().unwrap(), PowerState::Off);
    assert_eq!(
        rt.power(&plugin, &node, PowerAction::On, &config)
            .await
            .unwrap(),
        PowerState::On
    );
    assert_eq!(read(dir.path(), "power"), "1");
    assert_eq!(
        rt.power(&plugin, &node, PowerAction::Off, &config)
            .await
            .unwrap(),
        PowerState::Off
    );
    assert_eq!(read(dir.path(), "power"), "0");

    // 0.2: the identify light, and a one-time network boot the BMC itself reports back.
    rt.identify(&plugin, &node, true, &config).await.unwrap();
    assert_eq!(read(dir.path(), "identify"), "0 1");
    rt.identify(&plugin, &node, false, &config).await.unwrap();
    assert_eq!(read(dir.path(), "identify"), "0 0");
    rt.set_next_boot(&plugin, &node, BootDevice::Network, &config)
        .await
        .unwrap();
    let param = sims::ipmi_boot_flags("127.0.0.1", port);
    assert!(param.contains("Force PXE"), "{param}");
    assert!(param.contains("Options apply to only next boot"), "{param}");

    // Wrong password: ipmitool's refusal comes back naming plugin and node, without the password.
    if let Some(bmc) = node.bmc.as_mut() {
        bmc.password = "wrong-pw".into();
    }
    let err = rt
        .power(&plugin, &node, PowerAction::Status, &config)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "plugin ipmi-power hook power for node001 failed: ipmitool chassis power status failed"
        ),
        "{msg}"
    );
    assert!(!msg.contains("wrong-pw"), "{msg}");
}

/// A state file the simulator's chassis script keeps.
fn read(dir: &std::path::Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_default()
        .trim()
        .to_string()
}
