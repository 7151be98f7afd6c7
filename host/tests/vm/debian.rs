//! The Debian bookworm tree the VM install tests deploy: debootstrap minbase plus a kernel, GRUB
//! for BIOS, systemd and the tools the Luna initramfs copies from the image. Built once by
//! `debian-image.sh` into `~/.cache/luna-debian-image/root` (about 4 minutes) and reused by every
//! later run; a change to the recipe script rebuilds it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The cache folder; the tree is in `root/` below it.
pub fn cache_dir() -> PathBuf {
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    Path::new(&home).join(".cache/luna-debian-image")
}

/// The root of the cached Debian tree, built first when it is missing or its recipe changed.
/// Concurrent test processes wait for one build (flock on a file next to the cache).
pub fn debian_image() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let cache = cache_dir();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vm/debian-image.sh");
        let lock = cache.with_extension("lock");
        if let Some(parent) = cache.parent() {
            std::fs::create_dir_all(parent).expect("create ~/.cache");
        }
        let mut cmd = Command::new("flock");
        cmd.arg(&lock).arg("sh").arg(&script).arg(&cache);
        if let Some(mirror) = std::env::var_os("LUNA_DEBIAN_MIRROR") {
            cmd.arg(mirror);
        }
        let status = cmd
            .status()
            .expect("run flock (util-linux) to build the Debian image");
        assert!(
            status.success(),
            "building the Debian image with {} failed (is debootstrap installed? scripts/test.sh installs it)",
            script.display()
        );
        cache.join("root")
    })
}

/// The kernel version of the image (`/lib/modules/<version>`), for `osimage add --kernver`.
pub fn kernel_version(root: &Path) -> String {
    let mut versions: Vec<String> = std::fs::read_dir(root.join("lib/modules"))
        .expect("the Debian image has /lib/modules")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("the Debian image has a kernel in /lib/modules")
}
