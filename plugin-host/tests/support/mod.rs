//! Shared test support: builds the WASM plugins once per test binary and provides sample nodes.
#![allow(dead_code)]

use luna_plugin_host::{
    BmcSettings, BootFirmware, Disk, Group, Network, NodeContext, NodeInterface, OsImage,
    PluginRuntime, RuntimeConfig,
};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Every WASM package the tests load.
pub const WASM_PACKAGES: &[&str] = &[
    "gpt-simple",
    "grub-post",
    "ipmi-lan",
    "bridge-mib",
    "ipmi-power",
    "redfish-power",
    "sandbox-probe",
    "power-v01",
    "acme-hwraid",
];

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Directory holding `<package>.wasm` files. `LUNA_PLUGIN_WASM_DIR` points at prebuilt ones;
/// otherwise they are built here with `cargo build --release --target wasm32-wasip2` into
/// `<target>/plugin-wasm` (a target dir of its own, so it never waits on the outer build lock).
pub fn wasm_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("LUNA_PLUGIN_WASM_DIR") {
            return PathBuf::from(dir);
        }
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("target dir")
            .join("plugin-wasm");
        let mut cmd = Command::new(option_env!("CARGO").unwrap_or("cargo"));
        cmd.current_dir(workspace_root())
            .args(["build", "--release", "--target", "wasm32-wasip2"])
            .env("CARGO_TARGET_DIR", &target);
        for p in WASM_PACKAGES {
            cmd.args(["-p", p]);
        }
        let status = cmd.status().expect("run cargo to build the WASM plugins");
        assert!(
            status.success(),
            "building the WASM plugins failed; is the wasm32-wasip2 target installed (rustup target add wasm32-wasip2)?"
        );
        target.join("wasm32-wasip2").join("release")
    })
}

pub fn wasm(package: &str) -> Vec<u8> {
    let path = wasm_dir().join(format!("{}.wasm", package.replace('-', "_")));
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

pub fn rhai(name: &str) -> Vec<u8> {
    let path = workspace_root().join("plugins/rhai").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

pub fn runtime() -> PluginRuntime {
    PluginRuntime::new(RuntimeConfig::default()).expect("runtime")
}

/// Compare with `tests/golden/<name>`; `UPDATE_GOLDEN=1` (re)writes the file instead.
pub fn assert_golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "golden file {} is missing; run with UPDATE_GOLDEN=1 and review it",
            path.display()
        )
    });
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

fn disk(device: &str, gib: u64) -> Disk {
    Disk {
        device: device.into(),
        size_bytes: gib << 30,
        model: Some("QEMU HARDDISK".into()),
        rotational: false,
        removable: false,
    }
}

/// node001: BIOS, one SATA disk, BMC settings.
pub fn bios_node() -> NodeContext {
    NodeContext {
        name: "node001".into(),
        hostname: "node001".into(),
        group: Group {
            name: "compute".into(),
            domain: Some("cluster".into()),
        },
        osimage: OsImage {
            name: "debian12".into(),
            kernel_version: Some("6.1.0-28-amd64".into()),
            distribution: Some("debian".into()),
        },
        firmware: BootFirmware::Bios,
        interfaces: vec![
            NodeInterface {
                name: "BOOTIF".into(),
                mac: Some("52:54:00:00:00:01".into()),
                addresses: vec!["10.141.0.1/16".into()],
                network: Some(Network {
                    name: "cluster".into(),
                    prefix: "10.141.0.0/16".into(),
                    gateway: None,
                    domain: Some("cluster".into()),
                }),
            },
            NodeInterface {
                name: "BMC".into(),
                mac: None,
                addresses: vec!["10.149.0.1/16".into()],
                network: None,
            },
        ],
        disks: vec![disk("/dev/sda", 240), {
            let mut usb = disk("/dev/sdb", 16);
            usb.removable = true;
            usb
        }],
        bmc: Some(BmcSettings {
            address: Some("10.149.0.1".into()),
            netmask: Some("255.255.0.0".into()),
            gateway: Some("10.149.255.254".into()),
            port: None,
            user_id: 3,
            user: "luna".into(),
            password: "s3cr'et".into(),
            net_channel: 1,
            mgmt_channel: 1,
        }),
    }
}

/// node002: UEFI, two NVMe disks.
pub fn uefi_node() -> NodeContext {
    NodeContext {
        name: "node002".into(),
        hostname: "node002".into(),
        firmware: BootFirmware::Uefi,
        disks: vec![disk("/dev/nvme0n1", 960), disk("/dev/nvme1n1", 960)],
        bmc: None,
        ..bios_node()
    }
}
