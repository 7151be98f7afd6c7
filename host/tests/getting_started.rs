//! The seed README's getting-started sequence, end to end through the CLI and a real daemon.

mod common;
use common::*;

#[test]
fn seed_readme_sequence() {
    let d = Daemon::start();
    let img = image_tree(d.dir.path());
    d.seed_cluster(&img);

    // `luna node add -g compute` auto-names node001 and takes an address on each interface.
    let added = d.json(&["node", "add", "-g", "compute"]);
    assert_eq!(added[0]["name"], "node001");
    let mut a = addrs(&added[0]);
    a.sort();
    assert_eq!(
        a,
        [
            ("BMC".into(), "10.149.0.1".into()),
            ("BOOTIF".into(), "10.141.0.1".into())
        ]
    );

    d.luna(&["node", "change", "node001", "-s", "switch01"])
        .ok();
    d.luna(&["node", "change", "node001", "-p", "1"]).ok();
    d.luna(&["node", "change", "node001", "--mac", "52:54:00:AA:BB:01"])
        .ok();
    d.luna(&[
        "node",
        "change",
        "node001",
        "--localboot",
        "y",
        "--service",
        "n",
        "--setupbmc",
        "y",
    ])
    .ok();
    let n = d.json(&["node", "show", "node001"]);
    assert_eq!(n["group"], "compute");
    assert_eq!(n["switch"], "switch01");
    assert_eq!(n["port"], "1");
    assert_eq!(n["mac"], "52:54:00:aa:bb:01", "MACs are stored normalised");
    assert_eq!(n["localboot"], true);
    assert_eq!(n["setupbmc"], true);

    // A second auto-named node continues the sequence; the table output names it.
    let t = d.luna(&["node", "add", "-g", "compute"]).ok();
    assert!(
        t.stdout.contains("node002") && t.stdout.contains("10.141.0.2"),
        "{}",
        t.stdout
    );

    // Hostlist add and show.
    d.luna(&["node", "add", "-g", "compute", "-n", "node[010-012]"])
        .ok();
    let many = d.json(&["node", "show", "node[010-012]"]);
    assert_eq!(many.as_array().unwrap().len(), 3);
    assert_eq!(many[2]["name"], "node012");
    assert_eq!(
        addrs(&many[0])
            .iter()
            .find(|(i, _)| i == "BOOTIF")
            .unwrap()
            .1,
        "10.141.0.3"
    );

    // The network shows its name server (last usable address, reserved) and usage.
    let net = d.json(&["network", "show", "cluster"]);
    assert_eq!(net["ns_ip"], "10.141.255.254");
    assert_eq!(net["reserved"][0], "10.141.255.254");
    assert_eq!(net["used"], 6, "5 nodes + the name server");

    // bmcsetup never shows its password.
    let b = d.json(&["bmcsetup", "show", "base"]);
    assert_eq!(b["password"], "********");

    // Other devices and YAML output.
    d.luna(&[
        "otherdev",
        "add",
        "-n",
        "pdu01",
        "-N",
        "ipmi",
        "--ip",
        "10.149.250.1",
    ])
    .ok();
    let y = d.luna(&["-o", "yaml", "otherdev", "show", "pdu01"]).ok();
    assert!(
        y.stdout.contains("name: pdu01") && y.stdout.contains("10.149.250.1"),
        "{}",
        y.stdout
    );

    // Delete a hostlist; addresses go back to the pool and are reused lowest-first.
    d.luna(&["node", "delete", "node[010-011]"]).ok();
    let again = d.json(&["node", "add", "-g", "compute", "-n", "node020"]);
    assert_eq!(
        addrs(&again[0])
            .iter()
            .find(|(i, _)| i == "BOOTIF")
            .unwrap()
            .1,
        "10.141.0.3"
    );
    let list = d.json(&["node", "list"]);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["node001", "node002", "node012", "node020"]);
}

#[test]
fn readdressing_and_regrouping() {
    let d = Daemon::start();
    let img = image_tree(d.dir.path());
    d.seed_cluster(&img);
    d.luna(&["network", "add", "-n", "ipmi2", "-N", "10.150.0.0/24"])
        .ok();
    d.luna(&["network", "add", "-n", "v6", "-N", "fd99::/64"])
        .ok();
    d.luna(&["node", "add", "-g", "compute", "--count", "3"])
        .ok();
    // Make the name order differ from the address order.
    d.luna(&["node", "rename", "node001", "node009"]).ok();

    // Moving the BMC interface to another network re-addresses every node in name order.
    d.luna(&[
        "group", "change", "compute", "-i", "BMC", "--setnet", "ipmi2",
    ])
    .ok();
    let list = d.json(&["node", "list", "-g", "compute"]);
    let bmc: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let ip = addrs(n).into_iter().find(|(i, _)| i == "BMC").unwrap().1;
            (n["name"].as_str().unwrap().to_string(), ip)
        })
        .collect();
    assert_eq!(
        bmc,
        [
            ("node002".into(), "10.150.0.1".into()),
            ("node003".into(), "10.150.0.2".into()),
            ("node009".into(), "10.150.0.3".into())
        ]
    );
    assert_eq!(
        d.json(&["network", "show", "ipmi"])["used"],
        2,
        "old BMC addresses were released"
    );

    // IPv6 on BOOTIF: every node gets one too.
    d.luna(&[
        "group",
        "change",
        "compute",
        "-i",
        "BOOTIF",
        "--setnet6",
        "v6",
    ])
    .ok();
    let n = d.json(&["node", "show", "node002"]);
    assert!(
        addrs(&n).contains(&("BOOTIF".into(), "fd99::1".into())),
        "{n}"
    );

    // Moving a node to a group on the same boot network keeps its boot address.
    d.luna(&[
        "group",
        "add",
        "-n",
        "gpu",
        "-O",
        "compute",
        "-N",
        "cluster",
        "--bmcnetwork",
        "ipmi",
    ])
    .ok();
    let before = d.json(&["node", "show", "node003"]);
    let boot_before = addrs(&before)
        .into_iter()
        .find(|(i, _)| i == "BOOTIF")
        .unwrap();
    d.luna(&["node", "change", "node003", "-g", "gpu"]).ok();
    let after = d.json(&["node", "show", "node003"]);
    assert_eq!(after["group"], "gpu");
    let mut a = addrs(&after);
    a.sort();
    assert_eq!(a, [("BMC".into(), "10.149.0.1".into()), boot_before]);

    // A fixed address on a node.
    d.luna(&[
        "node",
        "change",
        "node002",
        "-i",
        "BOOTIF",
        "--ip",
        "10.141.7.7",
    ])
    .ok();
    assert!(
        addrs(&d.json(&["node", "show", "node002"]))
            .contains(&("BOOTIF".into(), "10.141.7.7".into()))
    );

    // Renames follow references.
    d.luna(&["network", "rename", "cluster", "boot"]).ok();
    d.luna(&["osimage", "rename", "compute", "rocky9"]).ok();
    let g = d.json(&["group", "show", "compute"]);
    assert_eq!(g["osimage"], "rocky9");
    assert_eq!(g["interfaces"][0]["network"], "boot");
    let n = d.json(&["node", "show", "node002"]);
    assert!(
        n["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["network"] == "boot")
    );
    d.luna(&["group", "rename", "gpu", "accel"]).ok();
    assert_eq!(d.json(&["node", "show", "node003"])["group"], "accel");

    // Network reservations keep addresses out of allocation, and can be released.
    // .3 is node003's: reserving it is refused.
    d.luna(&["network", "change", "boot", "--reserve", "10.141.0.3"])
        .fails(5, &["10.141.0.3", "already taken"]);
    d.luna(&[
        "network",
        "change",
        "boot",
        "--reserve",
        "10.141.0.2",
        "--reserve",
        "10.141.0.4-10.141.0.9",
    ])
    .ok();
    let n = d.json(&["node", "add", "-g", "compute", "-n", "node100"]);
    assert_eq!(
        addrs(&n[0]).iter().find(|(i, _)| i == "BOOTIF").unwrap().1,
        "10.141.0.10"
    );
    d.luna(&[
        "network",
        "change",
        "boot",
        "--release",
        "10.141.0.2",
        "--release",
        "10.141.0.4-10.141.0.9",
    ])
    .ok();
    assert_eq!(
        d.json(&["network", "show", "boot"])["reserved"],
        serde_json::json!(["10.141.255.254"])
    );

    // Clone and completions.
    d.luna(&["osimage", "clone", "rocky9", "rocky9-test"]).ok();
    assert_eq!(
        d.json(&["osimage", "show", "rocky9-test"])["path"],
        img.to_str().unwrap()
    );
    let comp = d.luna(&["completions", "bash"]).ok();
    assert!(comp.stdout.contains("_luna") && comp.stdout.contains("osimage"));
}
