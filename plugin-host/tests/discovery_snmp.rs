//! bridge-mib against a real SNMP agent (snmpsim) on loopback, through the scoped capability.
//! Needs `snmpsim-command-responder` (pip install snmpsim): found on PATH, via
//! `LUNA_SNMPSIM`, or in ~/.cache/luna-pyenv/bin; it needs pysmi too.

mod support;

use luna_plugin_host::SwitchContext;
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::*;

fn snmpsim() -> PathBuf {
    if let Some(p) = std::env::var_os("LUNA_SNMPSIM") {
        return p.into();
    }
    let venv = PathBuf::from(std::env::var("HOME").unwrap_or_default())
        .join(".cache/luna-pyenv/bin/snmpsim-command-responder");
    if venv.exists() {
        return venv;
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("snmpsim-command-responder"))
        .find(|p| p.exists())
        .expect("snmpsim-command-responder not found: pip install snmpsim (or set LUNA_SNMPSIM)")
}

/// Stops the agent when the test ends, whatever happens.
struct Agent(Child);
impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const RECORDS: &str = "\
1.3.6.1.2.1.1.5.0|4|sw01
1.3.6.1.2.1.17.1.4.1.2.1|2|10001
1.3.6.1.2.1.17.1.4.1.2.2|2|10002
1.3.6.1.2.1.17.1.4.1.2.3|2|10003
1.3.6.1.2.1.17.1.4.1.2.48|2|10048
1.3.6.1.2.1.17.4.3.1.2.82.84.0.0.0.1|2|1
1.3.6.1.2.1.17.4.3.1.2.82.84.0.0.0.2|2|2
1.3.6.1.2.1.17.4.3.1.2.82.84.0.0.0.99|2|48
1.3.6.1.2.1.17.7.1.2.2.1.2.10.82.84.0.0.0.1|2|1
1.3.6.1.2.1.17.7.1.2.2.1.2.10.82.84.0.0.0.3|2|3
1.3.6.1.2.1.31.1.1.1.1.10001|4|ge-0/0/1
1.3.6.1.2.1.31.1.1.1.1.10002|4|ge-0/0/2
1.3.6.1.2.1.31.1.1.1.1.10003|4|ge-0/0/3
1.3.6.1.2.1.31.1.1.1.1.10048|4|xe-0/1/0
";

fn start_agent(dir: &std::path::Path) -> (Agent, u16) {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("public.snmprec"), RECORDS).unwrap();
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(snmpsim())
        .arg(format!("--data-dir={}", data.display()))
        .arg(format!("--cache-dir={}", dir.join("cache").display()))
        .arg(format!("--agent-udpv4-endpoint=127.0.0.1:{port}"))
        .args(["--process-user=root", "--process-group=root"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start snmpsim");
    (Agent(child), port)
}

#[tokio::test]
async fn bridge_mib_reads_a_real_agent() {
    let dir = tempfile::tempdir().unwrap();
    let (mut agent, port) = start_agent(dir.path());
    let rt = luna_plugin_host::PluginRuntime::new(luna_plugin_host::RuntimeConfig {
        capability_timeout: Duration::from_secs(2),
        ..Default::default()
    })
    .unwrap();
    let plugin = rt.load("bridge-mib", &wasm("bridge-mib")).unwrap();
    let switch = SwitchContext {
        name: "sw01".into(),
        address: "127.0.0.1".into(),
        port: Some(port),
        community: "public".into(),
    };
    let config = json!({"uplink_ports": [48], "max_repetitions": 10});
    // The agent needs a moment to start listening.
    let mut last = None;
    for _ in 0..30 {
        if let Ok(Some(status)) = agent.0.try_wait() {
            panic!(
                "snmpsim exited ({status}); is its dependency pysmi installed (pip install snmpsim pysmi)?"
            );
        }
        match rt.discover(&plugin, &switch, &config).await {
            Ok(entries) if !entries.is_empty() => {
                last = Some(Ok(entries));
                break;
            }
            other => last = Some(other),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let entries = last.unwrap().unwrap();
    let text: String = entries
        .iter()
        .map(|e| {
            format!(
                "{} port={} ifindex={:?} ifname={:?} vlan={:?}\n",
                e.mac, e.bridge_port, e.if_index, e.if_name, e.vlan
            )
        })
        .collect();
    assert_golden("bridge-mib-snmpsim.txt", &text);

    // Plain GETNEXT walks give the same table.
    let walked = rt
        .discover(
            &plugin,
            &switch,
            &json!({"uplink_ports": [48], "bulk": false}),
        )
        .await
        .unwrap();
    assert_eq!(walked, entries);

    // A wrong community gets no answer: a clear timeout error, not a hang.
    let wrong = SwitchContext {
        community: "private".into(),
        ..switch
    };
    let err = rt.discover(&plugin, &wrong, &config).await.unwrap_err();
    assert!(
        err.to_string().starts_with(
            "plugin bridge-mib hook switch-discovery for sw01 failed: bridge-mib: walking"
        ),
        "{err}"
    );
}
