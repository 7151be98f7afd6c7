//! The Debian cloud kernel the QEMU tests boot, fetched once and cached.

use std::path::PathBuf;
use std::process::Command;

/// A Debian cloud kernel: `LUNA_TEST_KERNEL`, or one fetched once with `apt-get download` into
/// `~/.cache/luna-boot-kernel`.
pub fn kernel() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("LUNA_TEST_KERNEL") {
        return Some(PathBuf::from(path));
    }
    // Tests of one binary run in parallel: one fetches, the others wait for it, instead of
    // finding a kernel whose modules are still being extracted.
    static FETCH: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _fetching = FETCH.lock().unwrap_or_else(|e| e.into_inner());
    let cache = PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
        .join(".cache/luna-boot-kernel");
    let find = || {
        std::fs::read_dir(cache.join("x/boot"))
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
            })
    };
    if let Some(k) = find() {
        return Some(k);
    }
    std::fs::create_dir_all(&cache).ok()?;
    let depends = Command::new("apt-cache")
        .args(["depends", "linux-image-cloud-amd64"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&depends.stdout);
    let package = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|p| p.starts_with("linux-image-6"))?
        .to_string();
    let ok = Command::new("apt-get")
        .args(["download", &package])
        .current_dir(&cache)
        .status()
        .ok()?
        .success();
    if !ok {
        return None;
    }
    let deb = std::fs::read_dir(&cache)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))?;
    // Extracted beside, then renamed into place: `x` is never half there.
    let part = cache.join(format!("x.part-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&part);
    let extracted = Command::new("dpkg-deb")
        .args(["-x", deb.to_str()?, part.to_str()?])
        .status()
        .ok()?
        .success();
    if !extracted || std::fs::rename(&part, cache.join("x")).is_err() {
        let _ = std::fs::remove_dir_all(&part);
    }
    find()
}
