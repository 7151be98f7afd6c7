//! `luna node power` through the real daemon against simulated BMCs: ipmi_sim (IPMI lanplus,
//! cipher suite 3) for one group, sushy-emulator (Redfish, fake driver) for another, and one BMC
//! that is down. The table says which node failed and why, the exit code is 8, and the BMC
//! password appears nowhere (output, errors, daemon log). Identify and a one-time PXE boot are
//! read back from the simulators themselves; a 0.1 power plugin gets a clear refusal.

mod common;
mod sims;

use common::Daemon;
use serde_json::Value;
use sims::*;
use std::time::Duration;

const PASSWORD: &str = "secret";

fn install_plugin(d: &Daemon, package: &str) {
    d.luna(&[
        "plugin",
        "install",
        wasm(package).to_str().unwrap(),
        "--name",
        package,
    ])
    .ok();
}

/// A state file an ipmi_sim chassis script keeps (see `sims::ipmi_sim`).
fn read(bmc: &std::path::Path, file: &str) -> String {
    std::fs::read_to_string(bmc.join(file))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn results(v: &Value) -> Vec<(String, bool, Option<String>, Option<String>)> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["node"].as_str().unwrap().to_string(),
                r["ok"].as_bool().unwrap(),
                r["state"].as_str().map(str::to_string),
                r["error"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn power_across_ipmi_and_redfish_with_one_bmc_down() {
    let tmp = tempfile::tempdir().unwrap();
    let ipmi_port = free_udp_port();
    let redfish_port = free_tcp_port();
    let bmc1 = tmp.path().join("bmc1");
    let bmc2 = tmp.path().join("bmc2");
    let _ipmi1 = ipmi_sim(&bmc1, "127.0.3.1", ipmi_port);
    let _ipmi2 = ipmi_sim(&bmc2, "127.0.3.2", ipmi_port);
    let _redfish1 = sushy("127.0.4.1", redfish_port);
    let _redfish2 = sushy("127.0.4.2", redfish_port);

    let d = Daemon::start();
    d.luna(&["cluster", "init"]).ok();
    d.luna(&[
        "network",
        "add",
        "-n",
        "cluster",
        "-N",
        "10.141.0.0",
        "-P",
        "16",
    ])
    .ok();
    d.luna(&["network", "add", "-n", "bmcs", "-N", "127.0.0.0", "-P", "8"])
        .ok();
    let image = common::image_tree(d.dir.path());
    d.luna(&["osimage", "add", "-n", "img", "-p", image.to_str().unwrap()])
        .ok();
    install_plugin(&d, "ipmi-power");
    install_plugin(&d, "redfish-power");
    for (group, port, plugin, config) in [
        ("ipmi", ipmi_port, "ipmi-power", "{}"),
        (
            "redfish",
            redfish_port,
            "redfish-power",
            r#"{"scheme": "http"}"#,
        ),
    ] {
        let port = port.to_string();
        d.luna(&[
            "bmcsetup",
            "add",
            "-n",
            group,
            "--user",
            "admin",
            "--password",
            PASSWORD,
            "--port",
            &port,
        ])
        .ok();
        d.luna(&["group", "add", "-n", group, "-O", "img", "-N", "cluster"])
            .ok();
        d.luna(&[
            "group",
            "change",
            group,
            "-b",
            group,
            "--bmcnetwork",
            "bmcs",
            "--power",
            plugin,
            "--plugin-config",
            config,
        ])
        .ok();
    }
    // node001-002: IPMI BMCs; node003: an IPMI BMC that is down; node004-005: Redfish BMCs.
    d.luna(&["node", "add", "-g", "ipmi", "-n", "node[001-003]"])
        .ok();
    d.luna(&["node", "add", "-g", "redfish", "-n", "node[004-005]"])
        .ok();
    for (node, ip) in [
        ("node001", "127.0.3.1"),
        ("node002", "127.0.3.2"),
        ("node003", "127.0.3.3"),
        ("node004", "127.0.4.1"),
        ("node005", "127.0.4.2"),
    ] {
        d.luna(&["node", "change", node, "--ip", &format!("BMC={ip}")])
            .ok();
    }

    // The simulators need a moment to listen: wait until every live BMC answers.
    wait_for(Duration::from_secs(60), "the simulated BMCs", || {
        let r = d.luna(&[
            "-o",
            "json",
            "node",
            "power",
            "status",
            "node[001-002,004-005]",
        ]);
        (r.code == 0).then_some(())
    });

    let status = d.luna(&["-o", "json", "node", "power", "status", "node[001-005]"]);
    assert_eq!(status.code, 8, "{} {}", status.stdout, status.stderr);
    assert!(
        status.stderr.contains("failed on 1 of 5 node(s): node003"),
        "{}",
        status.stderr
    );
    let report = status.json();
    let rows = results(&report);
    assert_eq!(rows.len(), 5);
    for (node, ok, state, error) in &rows {
        if node == "node003" {
            assert!(!ok);
            let e = error.as_deref().unwrap();
            assert!(e.contains("node003") && e.contains("ipmitool"), "{e}");
        } else {
            assert!(ok, "{node}: {error:?}");
            assert!(state.is_some());
        }
    }
    assert_eq!(
        report["results"][0]["bmc"],
        format!("127.0.3.1:{ipmi_port}").as_str()
    );
    assert_eq!(report["results"][3]["plugin"], "redfish-power");

    // Power on the group spread across both kinds; the IPMI chassis script sees it.
    let on = d.json(&[
        "node",
        "power",
        "on",
        "node[001-002,004-005]",
        "--concurrency",
        "2",
    ]);
    for (node, ok, state, _) in results(&on) {
        assert!(ok && state.as_deref() == Some("on"), "{node} {state:?}");
    }
    assert_eq!(
        std::fs::read_to_string(bmc1.join("power")).unwrap().trim(),
        "1"
    );
    // Redfish applies changes after a delay: poll until the emulator reports on.
    wait_for(Duration::from_secs(30), "Redfish power on", || {
        let r = d.json(&["node", "power", "status", "-g", "redfish"]);
        results(&r)
            .iter()
            .all(|(_, ok, s, _)| *ok && s.as_deref() == Some("on"))
            .then_some(())
    });
    // -g alone selects the group; with a hostlist only the nodes in it.
    let off = d.json(&["node", "power", "off", "node[001-002,004]", "-g", "ipmi"]);
    let rows = results(&off);
    assert_eq!(
        rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["node001", "node002"]
    );
    assert!(rows.iter().all(|r| r.1 && r.2.as_deref() == Some("off")));
    assert_eq!(
        std::fs::read_to_string(bmc2.join("power")).unwrap().trim(),
        "0"
    );

    // Identify (0.2 power hook) on both kinds; the simulators report the light themselves.
    let identify = d.json(&["node", "power", "identify", "node[001-002,004-005]"]);
    for (node, ok, state, error) in results(&identify) {
        assert!(ok, "{node}: {error:?}");
        assert_eq!(state.as_deref(), Some("identify on"), "{node}");
    }
    assert_eq!(read(&bmc1, "identify"), "0 1");
    assert_eq!(
        redfish_system("127.0.4.1", redfish_port)["IndicatorLED"],
        "Blinking"
    );
    let dark = d.json(&["node", "power", "identify", "node[001,004]", "--off"]);
    assert!(
        results(&dark)
            .iter()
            .all(|r| r.1 && r.2.as_deref() == Some("identify off"))
    );
    assert_eq!(read(&bmc1, "identify"), "0 0");
    assert_eq!(
        redfish_system("127.0.4.1", redfish_port)["IndicatorLED"],
        "Off"
    );

    // Next boot from the network: alone (`NODES --pxe`), and before a power cycle.
    assert!(!ipmi_boot_flags("127.0.3.1", ipmi_port).contains("Force PXE"));
    let pxe = d.json(&["node", "power", "node[001,004]", "--pxe"]);
    assert!(
        results(&pxe)
            .iter()
            .all(|r| r.1 && r.2.as_deref() == Some("next boot: network")),
        "{pxe}"
    );
    let flags = ipmi_boot_flags("127.0.3.1", ipmi_port);
    assert!(
        flags.contains("Force PXE") && flags.contains("Options apply to only next boot"),
        "{flags}"
    );
    assert_eq!(
        redfish_system("127.0.4.1", redfish_port)["Boot"]["BootSourceOverrideTarget"],
        "Pxe"
    );
    let cycle = d.json(&["node", "power", "cycle", "node002", "--pxe"]);
    assert_eq!(
        results(&cycle)[0].2.as_deref(),
        Some("on (next boot: network)")
    );
    assert!(ipmi_boot_flags("127.0.3.2", ipmi_port).contains("Force PXE"));

    // A power plugin built against the 0.1 contract still powers, and says what it lacks.
    d.luna(&[
        "plugin",
        "install",
        wasm("power-v01").to_str().unwrap(),
        "--name",
        "legacy-power",
    ])
    .ok();
    d.luna(&["group", "change", "ipmi", "--power", "legacy-power"])
        .ok();
    let legacy = d.luna(&["-o", "json", "node", "power", "identify", "node001"]);
    assert_eq!(legacy.code, 8, "{}", legacy.stderr);
    assert_eq!(
        legacy.json()["results"][0]["error"],
        "plugin legacy-power (0.1) does not support identify; rebuild it against luna-sdk 0.2"
    );
    d.luna(&["node", "power", "status", "node001"]).ok();
    d.luna(&["group", "change", "ipmi", "--power", "ipmi-power"])
        .ok();

    // Modifiers that do not fit the action are refused before any BMC is touched.
    d.luna(&["node", "power", "on", "node001", "--off"])
        .fails(3, &["identify"]);
    d.luna(&["node", "power", "status", "node001", "--pxe"])
        .fails(3, &["--pxe"]);
    d.luna(&["node", "power", "blink", "node001"])
        .fails(2, &["unknown power action 'blink'"]);

    // The table form names the failure too.
    let table = d.luna(&["node", "power", "status", "node003"]);
    assert_eq!(table.code, 8);
    assert!(
        table.stdout.contains("FAILED") && table.stdout.contains("node003"),
        "{}",
        table.stdout
    );

    // Mistakes are clear and change nothing.
    d.luna(&["node", "power", "status", "node999"])
        .fails(4, &["node999"]);
    d.luna(&["node", "power", "status"]).fails(2, &["-g GROUP"]);
    d.luna(&["group", "change", "redfish", "--power", ""]).ok();
    let unbound = d.luna(&["-o", "json", "node", "power", "status", "node004"]);
    assert_eq!(unbound.code, 8);
    assert!(
        unbound.json()["results"][0]["error"]
            .as_str()
            .unwrap()
            .contains("luna group change redfish --power"),
        "{}",
        unbound.stdout
    );

    // The password never shows.
    let (identify, pxe) = (identify.to_string(), pxe.to_string());
    for text in [
        &status.stdout,
        &status.stderr,
        &table.stdout,
        &identify,
        &pxe,
        &d.log(),
    ] {
        assert!(!text.contains(PASSWORD), "password leaked: {text}");
    }
}
