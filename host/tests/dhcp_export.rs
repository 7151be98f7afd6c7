//! `luna cluster makedhcp` follows the daemon's `[dhcp]` section (boot file overrides, lease
//! time, interfaces) so a site's own server hands out what Luna's would; each export
//! is accepted by the real tool.

mod common;

#[allow(dead_code)]
#[path = "../../boot/tests/support/netns.rs"]
mod netns;

use common::*;
use netns::{Netns, can_run, have_tool, veth};

#[test]
fn makedhcp_follows_the_dhcp_section() {
    if !can_run("makedhcp [dhcp] test") {
        return;
    }
    for (tool, pkg) in [
        ("dhcpd", "isc-dhcp-server"),
        ("kea-dhcp4", "kea-dhcp4-server"),
        ("dnsmasq", "dnsmasq"),
    ] {
        have_tool(tool, pkg);
    }
    let srv = Netns::new("xsrv");
    let peer = Netns::new("xcli");
    veth(&srv, "s0", "10.99.12.1/24", &peer, "c0", None, None);
    // The daemon serves DHCP on s0 with snponly.efi for UEFI; the export must say the same.
    let config = "[dhcp]\ninterfaces = [\"s0\"]\nefi_file = \"snponly.efi\"\nlease_secs = 600\n";
    let d = Daemon::start_with(config, Some(&srv.name));
    let image = image_tree(d.dir.path());
    d.luna(&["cluster", "init"]).ok();
    d.luna(&[
        "network",
        "add",
        "-n",
        "cluster",
        "-N",
        "10.99.12.0/24",
        "--dhcp-range",
        "10.99.12.200-10.99.12.250",
    ])
    .ok();
    d.luna(&[
        "osimage",
        "add",
        "-n",
        "compute",
        "-p",
        image.to_str().unwrap(),
    ])
    .ok();
    d.luna(&[
        "group", "add", "-n", "compute", "-O", "compute", "-N", "cluster",
    ])
    .ok();
    d.luna(&[
        "node",
        "add",
        "-g",
        "compute",
        "-n",
        "node001",
        "--mac",
        "52:54:00:cc:00:01",
    ])
    .ok();

    let work = tempfile::tempdir().unwrap();
    let export = |format: &str| -> (std::path::PathBuf, String) {
        let f = work.path().join(format);
        d.luna(&[
            "cluster",
            "makedhcp",
            "--format",
            format,
            "--out",
            f.to_str().unwrap(),
        ])
        .ok();
        let text = std::fs::read_to_string(&f).unwrap();
        // The UEFI boot file the daemon hands out, never the default.
        assert!(text.contains("10.99.12."), "{format}: {text}");
        assert!(text.contains("snponly.efi"), "{format}: {text}");
        assert!(!text.contains("ipxe.efi"), "{format}: {text}");
        (f, text)
    };

    let (isc, text) = export("isc");
    assert!(text.contains("default-lease-time 600;"), "{text}");
    let leases = work.path().join("leases");
    std::fs::write(&leases, "").unwrap();
    let out = srv.run(&[
        "dhcpd",
        "-4",
        "-t",
        "-cf",
        isc.to_str().unwrap(),
        "-lf",
        leases.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "dhcpd -t: {out:?}");

    // Kea and dnsmasq name the interface; their checks run where s0 exists.
    let (kea, text) = export("kea");
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        doc["Dhcp4"]["interfaces-config"]["interfaces"],
        serde_json::json!(["s0"]),
        "{text}"
    );
    assert_eq!(doc["Dhcp4"]["valid-lifetime"], 600, "{text}");
    let out = srv.run(&["kea-dhcp4", "-t", kea.to_str().unwrap()]);
    assert!(out.status.success(), "kea-dhcp4 -t: {out:?}");

    let (dnsmasq, text) = export("dnsmasq");
    assert!(text.lines().any(|l| l == "interface=s0"), "{text}");
    assert!(text.contains(",600\n"), "{text}");
    let out = srv.run(&[
        "dnsmasq",
        "--test",
        &format!("--conf-file={}", dnsmasq.display()),
    ]);
    assert!(out.status.success(), "dnsmasq --test: {out:?}");
}
