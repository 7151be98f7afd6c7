//! Node install status end to end: a real daemon, the real `luna-agent boot` process reporting
//! a failed install and a service-mode inventory, and progress reports; `luna node status`
//! and `luna node show` must show step, state, exit code, output tail, progress, inventory.

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `luna-agent`, built next to `luna` by `cargo test --workspace` / `cargo build --workspace`.
fn agent_binary() -> PathBuf {
    let p = Path::new(LUNA).with_file_name("luna-agent");
    assert!(
        p.is_file(),
        "{} is missing: build it first (cargo build -p luna-agent, or run cargo test --workspace)",
        p.display()
    );
    p
}

fn agent(d: &Daemon, tmp: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(agent_binary())
        .args(["boot", "--no-network", "--no-switch-root", "--no-chroot"])
        .args(["--url", &d.url, "--node", "node001"])
        .arg("--sysroot")
        .arg(tmp.join("sysroot"))
        .args([
            "--cmdline",
            "/dev/null",
            "--retry-first",
            "0.1",
            "--retry-for",
            "5",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("luna-agent runs")
}

fn setup(d: &Daemon, tmp: &Path) {
    d.seed_cluster(&image_tree(tmp));
    d.luna(&[
        "node",
        "add",
        "-g",
        "compute",
        "-n",
        "node001",
        "--mac",
        "52:54:00:00:00:01",
    ])
    .ok();
    // No BMC on this machine: the flag the next boot reads.
    d.luna(&["node", "change", "node001", "--setupbmc", "n"])
        .ok();
}

fn put(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

#[tokio::test]
async fn a_failed_install_shows_step_exit_code_and_output_then_progress_and_inventory() {
    let tmp = tempfile::tempdir().unwrap();
    let d = Daemon::start();
    setup(&d, tmp.path());
    let before = d.json(&["node", "status"]);
    assert_eq!(before[0]["node"], "node001");
    assert!(before[0]["current"].is_null(), "{before}");

    d.luna(&[
        "group",
        "change",
        "compute",
        "--prescript",
        "echo preparing $LUNA_NODE",
        "--partscript",
        "echo 'sfdisk: /dev/vda: No such file or directory' >&2\nexit 3",
    ])
    .ok();
    let out = agent(&d, tmp.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("FAILED in step 'partscript'") && stderr.contains("exit code 3"),
        "{stderr}"
    );

    let st = d.json(&["node", "status", "node001"]);
    let cur = &st[0]["current"];
    assert_eq!(cur["step"], "partscript", "{st}");
    assert_eq!(cur["state"], "failed");
    assert_eq!(cur["exit_code"], 3);
    assert_eq!(
        cur["output_tail"],
        json!(["sfdisk: /dev/vda: No such file or directory"])
    );
    let steps: Vec<(String, String)> = st[0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap().to_string(),
                s["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            ("prescript".to_string(), "done".to_string()),
            ("setupbmc".to_string(), "skipped".to_string()),
            ("partscript".to_string(), "failed".to_string()),
        ]
    );
    // `node show` carries the same, as a table and as JSON.
    let show = d.luna(&["node", "show", "node001"]).ok().stdout;
    assert!(show.contains("partscript failed"), "{show}");
    assert!(show.contains("exit 3"), "{show}");
    assert!(show.contains("sfdisk: /dev/vda"), "{show}");
    let show = d.json(&["node", "show", "node001"]);
    assert_eq!(show["install"]["current"]["exit_code"], 3);
    let table = d.luna(&["node", "status"]).ok().stdout;
    assert!(
        table.contains("partscript") && table.contains("failed"),
        "{table}"
    );

    // A new install starts over; download progress shows as a bar while it downloads.
    let http = reqwest::Client::new();
    let post = |what: &str, body: Value| {
        http.post(format!("{}/api/v1/nodes/node001/{what}", d.url))
            .json(&body)
            .send()
    };
    for (step, state) in [("prescript", "running"), ("download", "running")] {
        let r = post(
            "status",
            json!({ "step": step, "state": state, "elapsed_seconds": 1.5 }),
        )
        .await
        .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    }
    let r = post(
        "progress",
        json!({
            "info_hash": "0".repeat(40), "phase": "downloading", "bytes_done": 50 << 20,
            "bytes_total": 100 << 20, "peers": 3, "download_rate": 12_500_000
        }),
    )
    .await
    .unwrap();
    assert!(r.status().is_success());
    let st = d.json(&["node", "status"]);
    assert_eq!(st[0]["current"]["step"], "download");
    assert_eq!(st[0]["progress"]["bytes_done"], 50 << 20);
    assert_eq!(st[0]["steps"].as_array().unwrap().len(), 2, "{st}");
    let table = d.luna(&["node", "status"]).ok().stdout;
    assert!(
        table.contains("[##########..........]  50% 12.5 MB/s 3 peers"),
        "{table}"
    );
    // The same data over the API.
    let api: Value = http
        .get(format!("{}/api/v1/nodes/status?nodes=node001", d.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api[0]["progress"]["peers"], 3);
    // Reports for a node that does not exist are refused, naming it.
    let r = post("status", json!({ "step": "prescript", "state": "running" }))
        .await
        .unwrap();
    assert!(r.status().is_success());
    let r = http
        .post(format!("{}/api/v1/nodes/nosuch/status", d.url))
        .json(&json!({ "step": "prescript", "state": "running" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert!(r.text().await.unwrap().contains("'nosuch'"));

    // Service mode on the next boot: the agent posts an inventory and stops.
    d.luna(&["node", "change", "node001", "--service", "y"])
        .ok();
    let hw = tmp.path().join("hw");
    put(&hw, "sys/block/vda/size", "41943040\n");
    put(&hw, "sys/block/vda/device/model", "QEMU HARDDISK\n");
    put(&hw, "sys/class/net/eth0/address", "52:54:00:00:00:01\n");
    put(&hw, "sys/class/net/eth0/operstate", "up\n");
    put(&hw, "sys/class/net/eth0/carrier", "1\n");
    put(
        &hw,
        "proc/cpuinfo",
        "processor\t: 0\nmodel name\t: QEMU Virtual CPU\n",
    );
    put(&hw, "proc/meminfo", "MemTotal: 2048000 kB\n");
    put(&hw, "sys/class/dmi/id/sys_vendor", "QEMU\n");
    put(&hw, "sys/class/dmi/id/product_serial", "VM-0001\n");
    let out = agent(&d, tmp.path(), &["--hardware-root", hw.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inv = d.json(&["node", "show", "node001", "--inventory"]);
    assert_eq!(inv["disks"][0]["device"], "/dev/vda");
    assert_eq!(inv["disks"][0]["size_bytes"], 20u64 << 30);
    assert_eq!(inv["nics"][0]["mac"], "52:54:00:00:00:01");
    assert_eq!(inv["nics"][0]["link"], true);
    assert_eq!(inv["dmi"]["serial"], "VM-0001");
    assert_eq!(inv["memory_bytes"], 2048000u64 * 1024);
    let table = d
        .luna(&["node", "show", "node001", "--inventory"])
        .ok()
        .stdout;
    assert!(
        table.contains("QEMU HARDDISK") && table.contains("20.0 GiB"),
        "{table}"
    );
    // Watching a finished node prints its line once and ends (plain lines: not a terminal).
    let w = d
        .luna(&["node", "status", "node001", "--watch", "--interval", "0.2"])
        .ok()
        .stdout;
    assert_eq!(w.lines().count(), 1, "{w}");
    assert!(w.starts_with("node001 inventory done"), "{w}");
    // A node without an inventory says how to get one.
    d.luna(&["node", "add", "-g", "compute", "-n", "node002"])
        .ok();
    d.luna(&["node", "show", "node002", "--inventory"])
        .fails(4, &["no inventory", "--service y"]);
    // Renaming keeps status and inventory with the node.
    d.luna(&["node", "rename", "node001", "node009"]).ok();
    assert_eq!(
        d.json(&["node", "status", "node009"])[0]["current"]["step"],
        "inventory"
    );
    d.json(&["node", "show", "node009", "--inventory"]);
    d.luna(&["node", "rename", "node009", "node001"]).ok();
    // Deleting the node drops its status and inventory with it.
    d.luna(&["node", "delete", "node001"]).ok();
    d.luna(&["node", "add", "-g", "compute", "-n", "node001"])
        .ok();
    assert!(d.json(&["node", "status", "node001"])[0]["current"].is_null());
}
