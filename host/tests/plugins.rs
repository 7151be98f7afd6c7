//! The plugin registry and bindings through the real daemon and CLI: install (and refusal of bad
//! files), bindings that change one group's install plan and only its, refusal to remove a bound
//! plugin, `plugin test`, and a runaway script stopped while the daemon keeps serving.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// `<package>.wasm` of the first-party plugins these tests bind, built for wasm32-wasip2 the way
/// the plugin-host tests build them (same target dir, so one build serves both), or taken from
/// `LUNA_PLUGIN_WASM_DIR`.
fn wasm_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("LUNA_PLUGIN_WASM_DIR") {
            return PathBuf::from(dir);
        }
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("target dir")
            .join("plugin-wasm");
        let status = Command::new(option_env!("CARGO").unwrap_or("cargo"))
            .current_dir(workspace_root())
            .args(["build", "--release", "--target", "wasm32-wasip2"])
            .args(["-p", "gpt-simple", "-p", "grub-post"])
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .expect("run cargo to build the WASM plugins");
        assert!(
            status.success(),
            "building the WASM plugins failed; is the wasm32-wasip2 target installed?"
        );
        target.join("wasm32-wasip2").join("release")
    })
}

fn wasm(file: &str) -> String {
    wasm_dir().join(file).display().to_string()
}

fn rhai(file: &str) -> String {
    workspace_root()
        .join("plugins/rhai")
        .join(file)
        .display()
        .to_string()
}

/// A cluster with two groups on the same image: `compute` (node001) and `login` (node002).
fn cluster(d: &Daemon) {
    d.seed_cluster(&image_tree(d.dir.path()));
    d.luna(&[
        "group", "add", "-n", "login", "-O", "compute", "-N", "cluster",
    ])
    .ok();
    d.luna(&["node", "add", "-g", "compute", "-n", "node001"])
        .ok();
    d.luna(&["node", "add", "-g", "login", "-n", "node002"])
        .ok();
}

fn plan(d: &Daemon, node: &str) -> Value {
    let url = format!("{}/api/v1/nodes/{node}/plan", d.url);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let resp = reqwest::get(&url).await.unwrap();
        let status = resp.status();
        let body = resp.json::<Value>().await.unwrap();
        assert!(status.is_success(), "{url}: {status} {body}");
        body
    })
}

#[test]
fn install_list_show_replace_and_bad_files() {
    let d = Daemon::start();
    let out = d
        .luna(&["plugin", "install", &wasm("gpt_simple.wasm")])
        .ok();
    assert!(
        out.stdout.starts_with("installed plugin gpt-simple from "),
        "{}",
        out.stdout
    );
    d.luna(&["plugin", "install", &rhai("raid1.rhai")]).ok();
    let list = d.json(&["plugin", "list"]);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["gpt-simple", "raid1"]);
    let gpt = &list[0];
    assert_eq!(gpt["kind"], "wasm");
    assert_eq!(gpt["hooks"], serde_json::json!(["partition"]));
    assert_eq!(gpt["world"], "partitioner");
    assert_eq!(gpt["file_name"], "gpt_simple.wasm");
    assert_eq!(gpt["sha256"].as_str().unwrap().len(), 64);
    assert!(gpt.get("bytes").is_none(), "lists never carry the bytes");
    let show = d.json(&["plugin", "show", "raid1"]);
    assert_eq!(show["kind"], "rhai");
    assert_eq!(show["used_by"], serde_json::json!([]));

    // Same name again: replaced in place, and said so.
    let again = d
        .luna(&[
            "plugin",
            "install",
            &rhai("diskless.rhai"),
            "--name",
            "raid1",
        ])
        .ok();
    assert!(
        again.stdout.starts_with("replaced plugin raid1"),
        "{}",
        again.stdout
    );
    assert_eq!(d.json(&["plugin", "list"]).as_array().unwrap().len(), 2);
    let replaced = d.json(&["plugin", "show", "raid1"]);
    assert_eq!(replaced["file_name"], "diskless.rhai");

    // Bad files: refused with the file named and the reason, nothing installed.
    let bad = tempfile::tempdir().unwrap();
    let full = std::fs::read(wasm_dir().join("grub_post.wasm")).unwrap();
    let truncated = bad.path().join("grub_post.wasm");
    std::fs::write(&truncated, &full[..full.len() / 2]).unwrap();
    d.luna(&["plugin", "install", truncated.to_str().unwrap()])
        .fails(3, &["grub_post.wasm", "truncated", "nothing was installed"]);
    let syntax = bad.path().join("broken.rhai");
    std::fs::write(&syntax, "fn partition(node) { let x = ; }").unwrap();
    d.luna(&["plugin", "install", syntax.to_str().unwrap()])
        .fails(3, &["broken.rhai", "Rhai syntax error"]);
    let no_hook = bad.path().join("nohook.rhai");
    std::fs::write(&no_hook, "fn helper(x) { x + 1 }").unwrap();
    d.luna(&["plugin", "install", no_hook.to_str().unwrap()])
        .fails(3, &["nohook.rhai"]);
    let core_module = bad.path().join("core.wasm");
    // A core module (not a component): exports no known world.
    std::fs::write(&core_module, b"\0asm\x01\0\0\0").unwrap();
    d.luna(&["plugin", "install", core_module.to_str().unwrap()])
        .fails(3, &["core.wasm", "component"]);
    d.luna(&["plugin", "install", "/nonexistent/x.wasm"])
        .fails(3, &["/nonexistent/x.wasm"]);
    d.luna(&["plugin", "show", "broken"]).fails(4, &["broken"]);
    assert_eq!(d.json(&["plugin", "list"]).as_array().unwrap().len(), 2);
    d.luna(&["plugin", "remove", "raid1"]).ok();
    d.luna(&["plugin", "remove", "raid1"]).fails(4, &["raid1"]);
    // Survives a restart (stored, not cached).
    let mut d = d;
    d.restart();
    assert_eq!(d.json(&["plugin", "list"])[0]["name"], "gpt-simple");
}

#[test]
fn bound_plugins_render_that_groups_plan_only() {
    let d = Daemon::start();
    cluster(&d);
    d.luna(&["plugin", "install", &wasm("gpt_simple.wasm")])
        .ok();
    d.luna(&["plugin", "install", &wasm("grub_post.wasm")]).ok();

    // Bindings are checked: a plugin of the wrong hook, a missing one, a config it refuses.
    d.luna(&["group", "change", "compute", "--partition", "grub-post"])
        .fails(3, &["grub-post", "post-install", "not partition"]);
    d.luna(&["group", "change", "compute", "--partition", "nosuch"])
        .fails(4, &["nosuch", "luna plugin install"]);
    d.luna(&[
        "group",
        "change",
        "compute",
        "--partition",
        "gpt-simple",
        "--plugin-config",
        r#"{"table": "zfs"}"#,
    ])
    .fails(3, &["gpt-simple", "group compute"]);
    d.luna(&["switch", "change", "switch01", "--discovery", "gpt-simple"])
        .fails(3, &["gpt-simple", "switch-discovery"]);
    assert!(d.json(&["group", "show", "compute"])["partition"].is_null());

    d.luna(&[
        "group",
        "change",
        "compute",
        "--partition",
        "gpt-simple",
        "--plugin-config",
        r#"{"disk": "/dev/vda", "swap_mib": 0}"#,
    ])
    .ok();
    d.luna(&["group", "change", "compute", "--post-install", "grub-post"])
        .ok();

    let p1 = plan(&d, "node001");
    let part = &p1["rendered"]["partition"];
    assert!(
        part["script"]
            .as_str()
            .unwrap()
            .contains("wipefs -a /dev/vda"),
        "{part}"
    );
    assert_eq!(part["boot_devices"], serde_json::json!(["/dev/vda"]));
    let post = p1["rendered"]["post_install"].as_str().unwrap();
    assert!(post.contains("LABEL=root\t/\text4"), "{post}");
    assert!(!post.contains("swap"), "swap_mib 0 leaves swap out: {post}");
    let p2 = plan(&d, "node002");
    assert!(p2["rendered"]["partition"].is_null(), "{p2}");
    assert!(p2["rendered"]["post_install"].is_null(), "{p2}");

    let s1 = d
        .luna(&["node", "show", "node001", "--script", "install"])
        .ok();
    assert!(
        s1.stdout.contains("# --- partitioning: plugin gpt-simple"),
        "{}",
        s1.stdout
    );
    assert!(s1.stdout.contains("wipefs -a /dev/vda"));
    assert!(
        s1.stdout
            .contains("chroot /sysroot /bin/sh -s <<'LUNA_POST_INSTALL'")
    );
    let s2 = d
        .luna(&["node", "show", "node002", "--script", "install"])
        .ok();
    assert!(
        s2.stdout.contains("mount -t tmpfs tmpfs /sysroot"),
        "{}",
        s2.stdout
    );
    assert!(!s2.stdout.contains("gpt-simple"));

    // A bound plugin cannot be removed; the error names who uses it.
    d.luna(&["plugin", "remove", "gpt-simple"])
        .fails(5, &["group compute partition"]);
    assert_eq!(
        d.json(&["plugin", "show", "grub-post"])["used_by"],
        serde_json::json!(["group compute post-install"])
    );

    // A file path binds after installing it, and says so.
    let out = d
        .luna(&[
            "group",
            "change",
            "login",
            "--partition",
            &rhai("raid1.rhai"),
        ])
        .ok();
    assert!(
        out.stderr.contains("installed plugin raid1 from "),
        "{}",
        out.stderr
    );
    assert_eq!(
        d.json(&["group", "show", "login"])["partition"]["plugin"],
        "raid1"
    );
    // raid1 needs two disks; without an inventory the plan error names plugin, hook and node.
    let err = d
        .luna(&["node", "show", "node002", "--script", "install"])
        .fails(3, &["raid1", "partition", "node002"]);
    assert!(err.stderr.contains("two disks"), "{}", err.stderr);
    d.luna(&[
        "group",
        "change",
        "login",
        "--partition",
        "raid1",
        "--plugin-config",
        r#"{"disks": ["/dev/sda", "/dev/sdb"]}"#,
    ])
    .ok();
    assert!(
        plan(&d, "node002")["rendered"]["partition"]["script"]
            .as_str()
            .unwrap()
            .contains("mdadm")
    );

    // grub-post needs a layout with a root mount: without a partitioner the plan says so.
    d.luna(&["group", "change", "compute", "--partition", ""])
        .ok();
    d.luna(&["node", "show", "node001", "--script", "install"])
        .fails(3, &["grub-post", "post-install", "node001", "no root"]);
    // Unbinding with "" frees the plugin.
    d.luna(&["group", "change", "compute", "--post-install", ""])
        .ok();
    assert!(plan(&d, "node001")["rendered"]["partition"].is_null());
    d.luna(&["plugin", "remove", "gpt-simple"]).ok();
}

#[test]
fn plugin_test_prints_output_and_a_runaway_script_is_stopped() {
    let d = Daemon::start();
    cluster(&d);
    d.luna(&["plugin", "install", &wasm("gpt_simple.wasm")])
        .ok();
    let out = d
        .luna(&["plugin", "test", "gpt-simple", "--node", "node001"])
        .ok();
    assert!(out.stdout.contains("wipefs -a /dev/sda"), "{}", out.stdout);
    assert!(
        out.stdout.contains("#   LABEL=root / ext4 defaults"),
        "{}",
        out.stdout
    );
    let j = d.json(&[
        "plugin",
        "test",
        "gpt-simple",
        "--node",
        "node001",
        "--config",
        r#"{"disk": "/dev/nvme0n1"}"#,
    ]);
    assert_eq!(j["hook"], "partition");
    assert_eq!(
        j["output"]["boot_devices"],
        serde_json::json!(["/dev/nvme0n1"])
    );
    d.luna(&["plugin", "test", "gpt-simple", "--node", "nosuch"])
        .fails(4, &["nosuch"]);
    d.luna(&[
        "plugin",
        "test",
        "gpt-simple",
        "--node",
        "node001",
        "--hook",
        "post-install",
    ])
    .fails(3, &["does not provide hook post-install"]);

    let dir = tempfile::tempdir().unwrap();
    let spin = dir.path().join("spin.rhai");
    std::fs::write(&spin, "fn partition(node) { loop { } }\n").unwrap();
    d.luna(&["plugin", "install", spin.to_str().unwrap()]).ok();
    d.luna(&["plugin", "test", "spin", "--node", "node001"])
        .fails(
            3,
            &["plugin spin hook partition for node001 exceeded its CPU budget"],
        );
    d.luna(&["group", "change", "compute", "--partition", "spin"])
        .ok();
    d.luna(&["node", "show", "node001", "--script", "install"])
        .fails(3, &["spin", "node001", "CPU budget"]);
    // The daemon keeps serving.
    assert_eq!(d.json(&["node", "show", "node002"])["name"], "node002");
}
