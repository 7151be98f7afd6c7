//! The sandbox: budgets, memory cap, no files, no sockets, capabilities scoped to the switch,
//! and bad plugin files rejected with clear errors, while other calls keep being served.

mod support;

use luna_plugin_host::{PluginError, PluginRuntime, RuntimeConfig, SwitchContext};
use serde_json::json;
use std::time::{Duration, Instant};
use support::*;

fn switch() -> SwitchContext {
    SwitchContext {
        name: "sw01".into(),
        address: "127.0.0.1".into(),
        port: Some(1),
        community: "public".into(),
    }
}

fn probe(rt: &PluginRuntime) -> luna_plugin_host::Plugin {
    rt.load("sandbox-probe", &wasm("sandbox-probe")).unwrap()
}

#[tokio::test]
async fn probe_works_when_it_behaves() {
    let rt = runtime();
    let entries = rt
        .discover(&probe(&rt), &switch(), &json!({}))
        .await
        .unwrap();
    assert_eq!(entries[0].if_name.as_deref(), Some("probe-sw01"));
}

#[tokio::test]
async fn endless_loop_is_stopped_by_its_budget_and_others_keep_being_served() {
    let rt = PluginRuntime::new(RuntimeConfig {
        fuel: 200_000_000,
        ..RuntimeConfig::default()
    })
    .unwrap();
    let p = probe(&rt);
    let started = Instant::now();
    let looping = {
        let (rt, p) = (rt.clone(), p.clone());
        tokio::spawn(async move { rt.discover(&p, &switch(), &json!({"mode": "loop"})).await })
    };
    // While the loop burns its budget, a well-behaved call completes.
    let ok = rt.discover(&p, &switch(), &json!({})).await;
    assert!(ok.is_ok(), "{ok:?}");
    let err = looping.await.unwrap().unwrap_err();
    assert!(matches!(err, PluginError::CpuBudget { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "plugin sandbox-probe hook switch-discovery for sw01 exceeded its CPU budget"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn allocating_4_gib_hits_the_memory_cap() {
    let rt = PluginRuntime::new(RuntimeConfig {
        memory_limit: 64 << 20,
        ..RuntimeConfig::default()
    })
    .unwrap();
    let err = rt
        .discover(&probe(&rt), &switch(), &json!({"mode": "alloc"}))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin sandbox-probe hook switch-discovery for sw01 exceeded its memory limit of 64 MiB"
    );
}

#[tokio::test]
async fn files_are_not_reachable() {
    let rt = runtime();
    let err = rt
        .discover(&probe(&rt), &switch(), &json!({"mode": "file"}))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("file denied"), "{msg}");
    assert!(!msg.contains("ESCAPED"), "{msg}");
}

#[tokio::test]
async fn sockets_are_denied() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = listener.local_addr().unwrap().to_string();
    let rt = runtime();
    let err = rt
        .discover(
            &probe(&rt),
            &switch(),
            &json!({"mode": "socket", "target": target}),
        )
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("socket denied"), "{msg}");
    listener.set_nonblocking(true).unwrap();
    assert!(
        listener.accept().is_err(),
        "the plugin reached the listener"
    );
}

#[tokio::test]
async fn snmp_to_another_address_is_denied() {
    let rt = runtime();
    let err = rt
        .discover(
            &probe(&rt),
            &switch(),
            &json!({"mode": "snmp-other", "target": "10.99.0.9"}),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin sandbox-probe hook switch-discovery for sw01 failed: SNMP to 10.99.0.9 denied: this plugin may only reach switch sw01 at 127.0.0.1"
    );
}

#[tokio::test]
async fn a_panic_is_a_clear_error() {
    let rt = runtime();
    let err = rt
        .discover(&probe(&rt), &switch(), &json!({"mode": "panic"}))
        .await
        .unwrap_err();
    assert!(matches!(err, PluginError::Trap { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("plugin sandbox-probe hook switch-discovery for sw01 crashed: "),
        "{err}"
    );
}

#[test]
fn unknown_world_is_rejected() {
    let bytes = wat::parse_str(
        r#"(component
            (core module $m (func (export "hello")))
            (core instance $i (instantiate $m))
            (func $hello (canon lift (core func $i "hello")))
            (export "hello" (func $hello)))"#,
    )
    .unwrap();
    let err = runtime().inspect(&bytes, "hello.wasm").unwrap_err();
    assert!(matches!(err, PluginError::Invalid { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("plugin file hello.wasm: it exports none of the known worlds"),
        "{err}"
    );
}

#[test]
fn imports_outside_the_world_are_rejected() {
    // Claims to be a partitioner but imports the SNMP capability, which only switch-discovery has.
    let bytes = wat::parse_str(
        r#"(component
            (import "luna:provision/snmp@0.1.0" (instance (export "walk" (func))))
            (instance $hook)
            (export "luna:provision/partition-hook@0.1.0" (instance $hook)))"#,
    )
    .unwrap();
    let err = runtime().inspect(&bytes, "sneaky.wasm").unwrap_err();
    assert!(
        err.to_string().starts_with(
            "plugin file sneaky.wasm: it imports something world partitioner does not provide"
        ),
        "{err}"
    );
}

#[test]
fn truncated_and_core_wasm_are_rejected() {
    let rt = runtime();
    let bytes = wasm("gpt-simple");
    let err = rt
        .inspect(&bytes[..bytes.len() / 2], "gpt_simple.wasm")
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("not a valid WebAssembly component"),
        "{err}"
    );
    assert!(err.to_string().contains("truncated"), "{err}");

    let core = wat::parse_str("(module)").unwrap();
    let err = rt.inspect(&core, "core.wasm").unwrap_err();
    assert!(
        err.to_string()
            .contains("core WebAssembly module, not a component"),
        "{err}"
    );

    let err = rt.inspect(b"#!/bin/sh\n", "evil.wasm").unwrap_err();
    assert!(err.to_string().contains("magic bytes"), "{err}");
}

#[test]
fn rhai_syntax_error_and_missing_hook_are_rejected() {
    let rt = runtime();
    let err = rt
        .inspect(b"fn partition(node) { let x = ; }", "bad.rhai")
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("plugin file bad.rhai: Rhai syntax error"),
        "{err}"
    );
    let err = rt
        .inspect(b"fn helper(x) { x }", "nohook.rhai")
        .unwrap_err();
    assert!(err.to_string().contains("defines no hook"), "{err}");
    let err = rt
        .inspect(b"fn partition(a, b, c) { a }", "arity.rhai")
        .unwrap_err();
    assert!(err.to_string().contains("wrong arguments"), "{err}");
    let err = rt
        .inspect(b"fn partition(node) { eval(\"1\") }", "eval.rhai")
        .unwrap_err();
    assert!(err.to_string().contains("Rhai syntax error"), "{err}");
    let err = rt
        .inspect(
            b"import \"/etc/passwd\" as p; fn partition(node) { 1 }",
            "import.rhai",
        )
        .unwrap_err();
    assert!(err.to_string().contains("Rhai syntax error"), "{err}");
}

#[tokio::test]
async fn endless_rhai_loop_is_stopped() {
    let rt = runtime();
    let p = rt.load("spin", b"fn partition(node) { loop { } }").unwrap();
    let started = Instant::now();
    let err = rt
        .partition(&p, &bios_node(), &json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin spin hook partition for node001 exceeded its CPU budget"
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    let p = rt
        .load(
            "grow",
            b"fn partition(node) { let s = \"x\"; loop { s += s; } }",
        )
        .unwrap();
    let err = rt
        .partition(&p, &bios_node(), &json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, PluginError::Trap { .. }), "{err}");
}

#[tokio::test]
async fn calling_a_hook_the_plugin_lacks_is_a_clear_error() {
    let rt = runtime();
    let p = rt.load("gpt-simple", &wasm("gpt-simple")).unwrap();
    let err = rt
        .bmc_setup(&p, &bios_node(), &json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin gpt-simple does not provide hook bmc-setup; it provides partition"
    );
}

#[test]
fn compiled_components_are_cached_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let config = RuntimeConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        ..RuntimeConfig::default()
    };
    let bytes = wasm("grub-post");
    let first = PluginRuntime::new(config.clone()).unwrap();
    let info = first.inspect(&bytes, "grub_post.wasm").unwrap();
    let cached: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(cached.len(), 1);
    let name = cached[0]
        .as_ref()
        .unwrap()
        .file_name()
        .into_string()
        .unwrap();
    assert!(
        name.starts_with(&info.sha256) && name.ends_with(".cwasm"),
        "{name}"
    );

    // A new runtime (a restarted daemon) loads the artefact instead of compiling.
    let second = PluginRuntime::new(config.clone()).unwrap();
    let started = Instant::now();
    let plugin = second.load("grub-post", &bytes).unwrap();
    let warm = started.elapsed();
    let layout = luna_plugin_host::PartitionPlan {
        script: String::new(),
        mounts: vec![luna_plugin_host::Mount {
            source: "LABEL=root".into(),
            target: "/".into(),
            fstype: "ext4".into(),
            options: "defaults".into(),
        }],
        boot_devices: vec!["/dev/sda".into()],
    };
    second
        .post_install_blocking(&plugin, &bios_node(), &layout, &json!({}))
        .unwrap();
    assert!(
        warm < Duration::from_millis(500),
        "loading from the disk cache took {warm:?}"
    );

    // A corrupt artefact is ignored and the plugin is compiled again.
    std::fs::write(cached[0].as_ref().unwrap().path(), b"garbage").unwrap();
    let third = PluginRuntime::new(config).unwrap();
    third.load("grub-post", &bytes).unwrap();
}
