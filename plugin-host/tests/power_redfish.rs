//! redfish-power against a real Redfish emulator (sushy-tools, fake driver) on loopback, through
//! the host's HTTP capability. Needs `sushy-emulator` (pip install sushy-tools): on PATH, via
//! `LUNA_SUSHY`, or in ~/.cache/luna-pyenv/bin.

mod support;

use luna_plugin_host::{BmcSettings, PowerAction, PowerState};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

fn sushy() -> PathBuf {
    if let Some(p) = std::env::var_os("LUNA_SUSHY") {
        return p.into();
    }
    let venv = PathBuf::from(std::env::var("HOME").unwrap_or_default())
        .join(".cache/luna-pyenv/bin/sushy-emulator");
    if venv.exists() {
        return venv;
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("sushy-emulator"))
        .find(|p| p.exists())
        .expect("sushy-emulator not found: pip install sushy-tools (or set LUNA_SUSHY)")
}

struct Emulator(Child);
impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn redfish_power_drives_an_emulated_bmc() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _emulator = Emulator(
        Command::new(sushy())
            .args(["--fake", "-i", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sushy-emulator"),
    );
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
