//! Every first-party plugin (and the vendor example) loaded through the runtime, run for sample
//! nodes, and compared with reviewed golden outputs in tests/golden/.

mod support;

use luna_plugin_host::{Hook, PartitionPlan, PluginError, PluginKind};
use serde_json::json;
use support::*;

fn show(plan: &PartitionPlan) -> String {
    let mut s = format!(
        "# boot devices: {}\n# mounts:\n",
        plan.boot_devices.join(" ")
    );
    for m in &plan.mounts {
        s += &format!("#   {} {} {} {}\n", m.source, m.target, m.fstype, m.options);
    }
    s + "# script:\n" + plan.script.as_str()
}

#[tokio::test]
async fn gpt_simple_layouts() {
    let rt = runtime();
    let p = rt.load("gpt-simple", &wasm("gpt-simple")).unwrap();
    assert_eq!(p.info().hooks, [Hook::Partition]);
    assert_eq!(p.info().world.as_deref(), Some("partitioner"));
    assert_eq!(p.info().version, "0.2.0");

    let bios = rt.partition(&p, &bios_node(), &json!({})).await.unwrap();
    assert_golden("gpt-simple-bios-gpt.txt", &show(&bios));
    let uefi = rt.partition(&p, &uefi_node(), &json!({})).await.unwrap();
    assert_golden("gpt-simple-uefi-nvme.txt", &show(&uefi));
    let mbr = rt
        .partition(
            &p,
            &bios_node(),
            &json!({"table": "mbr", "swap_mib": 0, "root_fstype": "xfs"}),
        )
        .await
        .unwrap();
    assert_golden("gpt-simple-bios-mbr-xfs.txt", &show(&mbr));
    // Every layout ends with the target mounted on /sysroot.
    for plan in [&bios, &uefi, &mbr] {
        assert!(plan.script.contains(" /sysroot\n"), "{}", plan.script);
    }
}

#[tokio::test]
async fn gpt_simple_refuses_bad_config_and_small_disks() {
    let rt = runtime();
    let p = rt.load("gpt-simple", &wasm("gpt-simple")).unwrap();
    let err = rt
        .validate_config(&p, &json!({"table": "zfs"}))
        .await
        .unwrap_err();
    assert!(matches!(err, PluginError::Config { .. }), "{err}");
    assert!(
        err.to_string().contains("invalid plugin configuration"),
        "{err}"
    );
    rt.validate_config(&p, &json!({"swap_mib": 0}))
        .await
        .unwrap();

    let mut node = bios_node();
    node.disks[0].size_bytes = 2 << 30;
    let err = rt.partition(&p, &node, &json!({})).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin gpt-simple hook partition for node001 failed: gpt-simple: disk /dev/sda of node node001 has 2048 MiB but the layout needs at least 6147 MiB; lower swap_mib/boot_mib or pick another disk"
    );
}

#[tokio::test]
async fn grub_post_for_bios_uefi_and_diskless() {
    let rt = runtime();
    let gpt = rt.load("gpt-simple", &wasm("gpt-simple")).unwrap();
    let grub = rt.load("grub-post", &wasm("grub-post")).unwrap();
    assert_eq!(grub.info().hooks, [Hook::PostInstall]);
    let cfg = json!({"kernel_args": "console=ttyS0,115200 quiet", "timeout": 3});

    let bios_layout = rt.partition(&gpt, &bios_node(), &json!({})).await.unwrap();
    let bios = rt
        .post_install(&grub, &bios_node(), &bios_layout, &cfg)
        .await
        .unwrap();
    assert_golden("grub-post-bios.txt", &bios);
    let uefi_layout = rt.partition(&gpt, &uefi_node(), &json!({})).await.unwrap();
    let uefi = rt
        .post_install(&grub, &uefi_node(), &uefi_layout, &json!({}))
        .await
        .unwrap();
    assert_golden("grub-post-uefi.txt", &uefi);

    let diskless = rt.load("diskless", &rhai("diskless.rhai")).unwrap();
    let tmpfs = rt
        .partition(&diskless, &bios_node(), &json!({}))
        .await
        .unwrap();
    let script = rt
        .post_install(&grub, &bios_node(), &tmpfs, &json!({}))
        .await
        .unwrap();
    assert_golden("grub-post-diskless.txt", &script);

    let err = rt
        .validate_config(&grub, &json!({"kernel_args": "quiet; reboot"}))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("shell or quote characters"),
        "{err}"
    );
}

#[tokio::test]
async fn ipmi_lan_script() {
    let rt = runtime();
    let p = rt.load("ipmi-lan", &wasm("ipmi-lan")).unwrap();
    assert_eq!(p.info().world.as_deref(), Some("bmc"));
    let script = rt
        .bmc_setup(&p, &bios_node(), &json!({"retries": 3}))
        .await
        .unwrap();
    assert_golden("ipmi-lan-node001.txt", &script);

    let mut node = bios_node();
    node.bmc = None;
    let err = rt.bmc_setup(&p, &node, &json!({})).await.unwrap_err();
    assert!(err.to_string().contains("has no BMC settings"), "{err}");
}

#[tokio::test]
async fn rhai_diskless_and_raid1() {
    let rt = runtime();
    let diskless = rt.load("diskless", &rhai("diskless.rhai")).unwrap();
    assert_eq!(diskless.info().kind, PluginKind::Rhai);
    assert_eq!(diskless.info().hooks, [Hook::Partition]);
    let plan = rt
        .partition(&diskless, &bios_node(), &json!({"size": "8g"}))
        .await
        .unwrap();
    assert_golden("diskless-8g.txt", &show(&plan));
    let err = rt
        .validate_config(&diskless, &json!({"size": "lots"}))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("must be a number followed by"),
        "{err}"
    );

    let raid = rt.load("raid1", &rhai("raid1.rhai")).unwrap();
    let uefi = rt.partition(&raid, &uefi_node(), &json!({})).await.unwrap();
    assert_golden("raid1-uefi-nvme.txt", &show(&uefi));
    let bios = rt
        .partition(
            &raid,
            &bios_node(),
            &json!({"disks": ["/dev/sda", "/dev/sdc"], "fstype": "xfs"}),
        )
        .await
        .unwrap();
    assert_golden("raid1-bios-xfs.txt", &show(&bios));
    // node001 has one fixed disk (sdb is removable): no mirror possible.
    let err = rt
        .partition(&raid, &bios_node(), &json!({}))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "plugin raid1 hook partition for node001 failed: raid1: node node001 needs exactly two disks for a mirror, found 1; set \"disks\" in the configuration"
    );
}

#[tokio::test]
async fn vendor_plugin_builds_and_runs() {
    let rt = runtime();
    let p = rt.load("acme-hwraid", &wasm("acme-hwraid")).unwrap();
    let plan = rt
        .partition(&p, &uefi_node(), &json!({"level": 1}))
        .await
        .unwrap();
    assert_golden("acme-hwraid-raid1.txt", &show(&plan));
    let err = rt
        .validate_config(&p, &json!({"level": 3}))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("RAID level 3 is not supported"),
        "{err}"
    );
}

#[tokio::test]
async fn power_and_discovery_plugins_load_with_their_worlds() {
    let rt = runtime();
    for (package, world) in [
        ("bridge-mib", "switch-discovery"),
        ("ipmi-power", "power"),
        ("redfish-power", "power"),
    ] {
        let info = rt
            .inspect(
                &wasm(package),
                &format!("{}.wasm", package.replace('-', "_")),
            )
            .unwrap();
        assert_eq!(info.world.as_deref(), Some(world), "{package}");
        assert_eq!(info.kind, PluginKind::Wasm);
        assert_eq!(info.sha256.len(), 64);
    }
}
