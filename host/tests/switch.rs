//! Switch-port discovery against snmpsim through the real daemon: the MAC table matches a
//! 48-port switch's BRIDGE-MIB/Q-BRIDGE-MIB/ifName data, edits show up on the next poll, an
//! unknown MAC on port 7 binds to the node configured there, uplinks never bind, and bad
//! switches fail alone with clear errors while the others keep being polled.

mod common;
mod sims;

use common::Daemon;
use serde_json::Value;
use sims::*;
use std::time::Duration;

const FAST_POLLS: &str = "[discovery]\npoll_interval = 1\npoll_timeout = 8\n";

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

/// Cluster, a loopback network for the switches and a compute group on 10.141/16.
fn base_cluster(d: &Daemon) {
    d.luna(&["cluster", "init"]).ok();
    d.luna(&["network", "add", "-n", "mgmt", "-N", "127.0.0.0", "-P", "8"])
        .ok();
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
    let image = common::image_tree(d.dir.path());
    d.luna(&["osimage", "add", "-n", "img", "-p", image.to_str().unwrap()])
        .ok();
    d.luna(&[
        "group", "add", "-n", "compute", "-O", "img", "-N", "cluster",
    ])
    .ok();
    install_plugin(d, "bridge-mib");
}

fn add_switch(d: &Daemon, name: &str, ip: &str, port: u16, read: &str, uplinks: &[&str]) {
    let port = port.to_string();
    let mut args = vec![
        "switch",
        "add",
        "-n",
        name,
        "-N",
        "mgmt",
        "--ip",
        ip,
        "--snmp-port",
        &port,
        "--read",
        read,
    ];
    for u in uplinks {
        args.extend(["--uplink", u]);
    }
    d.luna(&args).ok();
    d.luna(&["switch", "change", name, "--discovery", "bridge-mib"])
        .ok();
}

fn poll_status(d: &Daemon, switch: &str) -> Value {
    d.json(&["switch", "show", switch])["poll"].clone()
}

/// Waits for a poll of `switch` that finished after `after_polls` polls and matches `ok`.
fn wait_poll(d: &Daemon, switch: &str, after_polls: u64, ok: bool) -> Value {
    let mut last = Value::Null;
    let started = std::time::Instant::now();
    loop {
        let s = poll_status(d, switch);
        if s["polls"].as_u64().unwrap_or(0) > after_polls && s["ok"] == Value::Bool(ok) {
            return s;
        }
        if started.elapsed() > Duration::from_secs(60) {
            panic!(
                "no poll of {switch} with ok={ok}; last status {last}; daemon log: {}",
                d.log()
            );
        }
        last = s;
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn mac(p: u32) -> String {
    format!("52:54:00:aa:00:{p:02x}")
}

#[test]
fn a_48_port_switch_is_learnt_and_binds_nodes_by_port() {
    let sim_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(sim_dir.path().join("data")).unwrap();
    // One MAC on every access port but 7, and two MACs behind uplink 49.
    let mut macs: Vec<(u32, String)> = (1..=48).filter(|p| *p != 7).map(|p| (p, mac(p))).collect();
    macs.push((49, "52:54:00:ff:00:01".into()));
    macs.push((49, "52:54:00:ff:00:02".into()));
    let data = sim_dir.path().join("data/sw01.snmprec");
    std::fs::write(&data, switch_records("sw01", &macs)).unwrap();
    let port = free_udp_port();
    let _agent = snmpsim(sim_dir.path(), &[format!("127.0.1.1:{port}")]);

    let d = Daemon::start_with(FAST_POLLS, None);
    base_cluster(&d);
    add_switch(&d, "sw01", "127.0.1.1", port, "sw01", &["Te1/1/1", "50"]);

    let first = wait_poll(&d, "sw01", 0, true);
    assert_eq!(first["macs"], 49, "{first}");
    assert_eq!(first["error"], Value::Null);

    // The table is exactly the data set: MAC, bridge port, ifName, VLAN, uplink flag.
    let table = d.json(&["cluster", "listmacs"]);
    let rows = table.as_array().unwrap();
    assert_eq!(rows.len(), macs.len(), "{table}");
    for (p, m) in &macs {
        let row = rows
            .iter()
            .find(|r| r["mac"] == m.as_str())
            .unwrap_or_else(|| panic!("{m} missing from {table}"));
        assert_eq!(row["switch"], "sw01");
        assert_eq!(row["bridge_port"], *p);
        let name = if *p <= 48 {
            format!("Gi1/0/{p}")
        } else {
            "Te1/1/1".into()
        };
        assert_eq!(row["interface"], name.as_str());
        assert_eq!(row["vlan"], 1);
        assert_eq!(row["uplink"], *p == 49);
        assert_eq!(
            row["binding"],
            if *p == 49 { "uplink" } else { "unassigned" }
        );
    }
    assert_eq!(
        d.json(&["switch", "show", "sw01", "--macs"])["macs"]
            .as_array()
            .unwrap()
            .len(),
        macs.len()
    );

    // Nodes configured by interface name (port 7) and by bridge-port number (port 8).
    d.luna(&["node", "add", "-g", "compute", "-n", "node[007-008]"])
        .ok();
    d.luna(&[
        "node", "change", "node007", "--switch", "sw01", "--port", "Gi1/0/7",
    ])
    .ok();
    d.luna(&[
        "node", "change", "node008", "--switch", "sw01", "--port", "8",
    ])
    .ok();
    let table = d.json(&["cluster", "listmacs"]);
    let row8 = table
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["mac"] == mac(8).as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (&row8["node"], &row8["binding"]),
        (&Value::from("node008"), &Value::from("claimable"))
    );

    let http = http::client(&d);
    // The port-8 MAC binds by number.
    let claim = http.claim(&mac(8));
    assert_eq!(claim["node"], "node008", "{claim}");
    assert_eq!(d.json(&["node", "show", "node008"])["mac"], mac(8).as_str());
    // Claiming it again: it belongs to node008 now.
    assert!(http.claim_status(&mac(8)) == 409);
    // A MAC behind the uplink never binds; an unknown one binds nothing.
    assert_eq!(http.claim("52:54:00:ff:00:01")["node"], Value::Null);
    assert_eq!(http.claim("52:54:00:12:34:56")["node"], Value::Null);

    // A new machine appears on port 7 and MAC 5 moves to port 6: seen on the next poll.
    let polls = poll_status(&d, "sw01")["polls"].as_u64().unwrap();
    let vm = "52:54:00:00:07:07".to_string();
    let mut edited: Vec<(u32, String)> = macs.iter().filter(|(p, _)| *p != 5).cloned().collect();
    edited.push((6, mac(5)));
    edited.push((7, vm.clone()));
    std::fs::write(&data, switch_records("sw01", &edited)).unwrap();
    // The unknown VM on port 7 asks to boot right away (the daemon polls the switches when
    // the MAC is not in its table yet) and boots as node007, matched by interface name.
    let (code, script) = http.get(&format!("/boot/ipxe?mac={}", vm.replace(':', "-")));
    assert_eq!(code, 200, "{script}");
    assert!(script.contains("luna.node=node007"), "{script}");
    assert_eq!(d.json(&["node", "show", "node007"])["mac"], vm.as_str());
    let after = wait_poll(&d, "sw01", polls, true);
    assert_eq!(after["macs"], 50, "{after}");
    let table = d.json(&["switch", "show", "sw01", "--macs"])["macs"].clone();
    let find = |m: &str| {
        table
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["mac"] == m)
            .cloned()
            .unwrap_or_else(|| panic!("{m} missing from {table}"))
    };
    assert_eq!(find(&mac(5))["bridge_port"], 6);
    let row = find(&vm);
    assert_eq!(
        (&row["interface"], &row["bridge_port"]),
        (&Value::from("Gi1/0/7"), &Value::from(7))
    );
    assert_eq!(
        (&row["node"], &row["binding"]),
        (&Value::from("node007"), &Value::from("bound"))
    );

    // Deleting the switch's nodes' port settings and the switch forgets its table.
    d.luna(&["node", "change", "node[007-008]", "--switch", ""])
        .ok();
    d.luna(&["switch", "delete", "sw01"]).ok();
    wait_for(Duration::from_secs(10), "the table to forget sw01", || {
        d.json(&["cluster", "listmacs"])
            .as_array()
            .unwrap()
            .is_empty()
            .then_some(())
    });
}

#[test]
fn bad_switches_fail_alone_with_clear_errors() {
    let sim_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(sim_dir.path().join("data")).unwrap();
    let good: Vec<(u32, String)> = (1..=4).map(|p| (p, mac(p))).collect();
    std::fs::write(
        sim_dir.path().join("data/good.snmprec"),
        switch_records("good", &good),
    )
    .unwrap();
    // Truncated FDB indexes: three octets instead of six.
    std::fs::write(
        sim_dir.path().join("data/trunc.snmprec"),
        "1.3.6.1.2.1.17.1.4.1.2.1|2|10001\n\
         1.3.6.1.2.1.17.4.3.1.2.82.84.0|2|1\n\
         1.3.6.1.2.1.17.7.1.2.2.1.2.1.82.84.0|2|1\n\
         1.3.6.1.2.1.31.1.1.1.1.10001|4|Gi1/0/1\n",
    )
    .unwrap();
    // The same MAC as the good switch's port 3, on an access port of another switch.
    std::fs::write(
        sim_dir.path().join("data/dup.snmprec"),
        switch_records("dup", &[(9, mac(3))]),
    )
    .unwrap();
    let port = free_udp_port();
    let endpoints: Vec<String> = (1..=4).map(|i| format!("127.0.2.{i}:{port}")).collect();
    let _agent = snmpsim(sim_dir.path(), &endpoints);

    let d = Daemon::start_with(FAST_POLLS, None);
    base_cluster(&d);
    add_switch(&d, "good", "127.0.2.1", port, "good", &[]);
    add_switch(
        &d,
        "wrongcommunity",
        "127.0.2.2",
        port,
        "nosuchcommunity",
        &[],
    );
    add_switch(&d, "trunc", "127.0.2.3", port, "trunc", &[]);
    add_switch(
        &d,
        "unreachable",
        "127.0.2.9",
        free_udp_port(),
        "public",
        &[],
    );

    let trunc = wait_poll(&d, "trunc", 0, true);
    assert_eq!(trunc["macs"], 0);
    assert!(
        trunc["warnings"][0]
            .as_str()
            .unwrap()
            .contains("reported no MAC addresses"),
        "{trunc}"
    );
    for bad in ["wrongcommunity", "unreachable"] {
        let s = wait_poll(&d, bad, 0, false);
        let e = s["error"].as_str().unwrap();
        assert!(e.starts_with(&format!("switch {bad} (127.0.2.")), "{e}");
        assert!(e.contains("read community"), "{e}");
        assert!(
            !e.contains("nosuchcommunity"),
            "the community must not be shown: {e}"
        );
    }
    // The good switch kept being polled while the others failed.
    let before = poll_status(&d, "good")["polls"].as_u64().unwrap();
    let s = wait_poll(&d, "good", before + 1, true);
    assert_eq!(s["macs"], 4);

    // A MAC on access ports of two switches: warned, the newest sighting is used.
    d.luna(&[
        "switch",
        "add",
        "-n",
        "dup",
        "-N",
        "mgmt",
        "--ip",
        "127.0.2.4",
        "--snmp-port",
        &port.to_string(),
        "--read",
        "dup",
    ])
    .ok();
    d.luna(&["switch", "change", "dup", "--discovery", "bridge-mib"])
        .ok();
    let dup = wait_for(
        Duration::from_secs(60),
        "a MAC-on-two-ports warning",
        || {
            [poll_status(&d, "dup"), poll_status(&d, "good")]
                .into_iter()
                .find(|s| s["warnings"].as_array().is_some_and(|w| !w.is_empty()))
        },
    );
    let w = dup["warnings"][0].as_str().unwrap();
    assert!(w.contains(&mac(3)) && w.contains("uplink"), "{w}");
    let table = d.json(&["cluster", "listmacs"]);
    assert_eq!(
        table
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["mac"] == mac(3).as_str())
            .count(),
        2
    );
    // Table output names the failing switch's error too.
    let shown = d.luna(&["switch", "show", "unreachable"]).ok().stdout;
    assert!(shown.contains("read community"), "{shown}");
}

/// The claim route, which the CLI does not wrap (the boot resolver calls it in-process).
mod http {
    use super::*;

    pub struct Http {
        url: String,
        token: String,
        rt: tokio::runtime::Runtime,
    }

    pub fn client(d: &Daemon) -> Http {
        Http {
            url: d.url.clone(),
            token: d.token(),
            rt: tokio::runtime::Runtime::new().unwrap(),
        }
    }

    impl Http {
        fn post(&self, path: &str) -> (u16, Value) {
            self.rt.block_on(async {
                let r = ::reqwest::Client::new()
                    .post(format!("{}/api/v1{path}", self.url))
                    .bearer_auth(&self.token)
                    .send()
                    .await
                    .unwrap();
                let code = r.status().as_u16();
                (code, r.json().await.unwrap_or(Value::Null))
            })
        }
        pub fn get(&self, path: &str) -> (u16, String) {
            self.rt.block_on(async {
                let r = ::reqwest::get(format!("{}{path}", self.url)).await.unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            })
        }
        pub fn claim(&self, mac: &str) -> Value {
            let (code, v) = self.post(&format!("/cluster/macs/{mac}/claim"));
            assert_eq!(code, 200, "{v}");
            v
        }
        pub fn claim_status(&self, mac: &str) -> u16 {
            self.post(&format!("/cluster/macs/{mac}/claim")).0
        }
    }
}
