//! ipmi-power against a real IPMI LAN simulator (OpenIPMI's ipmi_sim) on loopback, through the
//! host's ipmitool capability. Needs the Debian packages openipmi and ipmitool.

mod support;

use luna_plugin_host::{BmcSettings, PowerAction, PowerState};
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::*;

struct Sim(Child);
impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_sim(dir: &std::path::Path) -> (Sim, u16) {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let state = dir.join("power");
    let script = dir.join("chassis");
    // ipmi_sim calls "<script> [mc] get power" and "<script> [mc] set power 1".
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nwhile [ $# -gt 0 ] && [ \"$1\" != get ] && [ \"$1\" != set ]; do shift; done\n\
             op=$1; shift\n\
             if [ \"$op\" = get ]; then\n  for item in \"$@\"; do\n    case $item in\n      power) echo \"power:$(cat {s} 2>/dev/null || echo 0)\";;\n      boot) echo \"boot:default\";;\n    esac\n  done\n\
             else\n  while [ $# -gt 1 ]; do\n    case $1 in power) echo \"$2\" > {s};; esac\n    shift 2\n  done\nfi\n",
            s = state.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        dir.join("lan.conf"),
        format!(
            "name \"luna-test\"\nset_working_mc 0x20\n  startlan 1\n    addr 127.0.0.1 {port}\n    priv_limit admin\n\
             \x20   allowed_auths_callback none md2 md5 straight\n    allowed_auths_user none md2 md5 straight\n\
             \x20   allowed_auths_operator none md2 md5 straight\n    allowed_auths_admin none md2 md5 straight\n\
             \x20   guid a123456789abcdefa123456789abcdef\n  endlan\n  chassis_control \"{}\"\n\
             \x20 user 2 true \"admin\" \"secret\" admin 10 none md2 md5 straight\n",
            script.display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("sim.emu"),
        "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("state")).unwrap();
    let child = Command::new("ipmi_sim")
        .arg("-c")
        .arg(dir.join("lan.conf"))
        .arg("-f")
        .arg(dir.join("sim.emu"))
        .arg("-s")
        .arg(dir.join("state"))
        .arg("-n")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ipmi_sim (apt-get install openipmi)");
    (Sim(child), port)
}

#[tokio::test]
async fn ipmi_power_drives_a_simulated_bmc() {
    let dir = tempfile::tempdir().unwrap();
    let (_sim, port) = start_sim(dir.path());
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
    assert_eq!(
        std::fs::read_to_string(dir.path().join("power"))
            .unwrap()
            .trim(),
        "1"
    );
    assert_eq!(
        rt.power(&plugin, &node, PowerAction::Off, &config)
            .await
            .unwrap(),
        PowerState::Off
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("power"))
            .unwrap()
            .trim(),
        "0"
    );

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
