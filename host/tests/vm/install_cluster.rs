//! The group the install tests deploy: the Debian image (see `debian.rs`) as osimage `debian12`,
//! `gpt-simple` partitioning one disk (root only: no swap or /boot, so a small virtual disk
//! does) and `grub-post` installing GRUB with a serial console, bound to group `compute`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common::Daemon;

/// `<package>.wasm` of the first-party plugins, built for wasm32-wasip2 into the target dir the
/// plugin tests use (one build serves both), or taken from `LUNA_PLUGIN_WASM_DIR`.
pub fn wasm(file: &str) -> String {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("LUNA_PLUGIN_WASM_DIR") {
            return PathBuf::from(dir);
        }
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("target dir")
            .join("plugin-wasm");
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root");
        let status = Command::new(option_env!("CARGO").unwrap_or("cargo"))
            .current_dir(workspace)
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
    });
    dir.join(file).display().to_string()
}

/// gpt-simple's configuration for a root-only layout on `disk`.
pub fn partition_config(disk: &str) -> String {
    format!(r#"{{"disk": "{disk}", "swap_mib": 0, "boot_mib": 0}}"#)
}

/// Registers `image_root` as osimage `debian12` with `kernopts` for the installer's kernel and
/// packs it (`pack_args`, e.g. `--image-only`).
pub fn add_image(d: &Daemon, image_root: &Path, kernopts: &str, pack_args: &[&str]) {
    let kernver = crate::debian::kernel_version(image_root);
    d.luna(&[
        "osimage",
        "add",
        "-n",
        "debian12",
        "-p",
        image_root.to_str().unwrap(),
        "--kernver",
        &kernver,
        "--kernopts",
        kernopts,
    ])
    .ok();
    let mut pack = vec!["osimage", "pack", "debian12"];
    pack.extend_from_slice(pack_args);
    d.luna(&pack).ok();
}

/// Installs gpt-simple and grub-post and creates group `compute` (osimage `debian12`) on
/// `network` with them bound, partitioning `disk`.
pub fn bind_group(d: &Daemon, network: &str, disk: &str) {
    d.luna(&["plugin", "install", &wasm("gpt_simple.wasm")])
        .ok();
    d.luna(&["plugin", "install", &wasm("grub_post.wasm")]).ok();
    d.luna(&[
        "group", "add", "-n", "compute", "-O", "debian12", "-N", network,
    ])
    .ok();
    d.luna(&[
        "group",
        "change",
        "compute",
        "--partition",
        "gpt-simple",
        "--plugin-config",
        &partition_config(disk),
    ])
    .ok();
    d.luna(&[
        "group",
        "change",
        "compute",
        "--post-install",
        "grub-post",
        "--plugin-config",
        r#"{"kernel_args": "console=ttyS0,115200 no_timer_check", "timeout": 1}"#,
    ])
    .ok();
}

/// A node's install steps from its `node status -o json` row: (step, state, seconds), in order.
pub fn step_rows(status: &serde_json::Value) -> Vec<(String, String, f64)> {
    status["steps"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    (
                        s["step"].as_str().unwrap_or_default().to_string(),
                        s["state"].as_str().unwrap_or_default().to_string(),
                        s["elapsed_seconds"].as_f64().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
