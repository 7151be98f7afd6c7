//! Kernel detection: which kernel versions an image tree carries, from `/boot/vmlinuz-*` and
//! `/lib/modules/*`, so `luna osimage add` can pick one (or let `--kernver` choose).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One kernel version found in an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelVersion {
    /// The version string, e.g. `6.1.0-37-cloud-amd64`.
    pub version: String,
    /// `/boot/vmlinuz-<version>` inside the tree, when present.
    pub vmlinuz: Option<PathBuf>,
    /// `/lib/modules/<version>` inside the tree, when present.
    pub modules_dir: Option<PathBuf>,
}

impl KernelVersion {
    /// A kernel is bootable by Luna when both the image and its modules are present.
    pub fn is_complete(&self) -> bool {
        self.vmlinuz.is_some() && self.modules_dir.is_some()
    }
}

/// The kernel versions present in the image tree at `root`, sorted by version (oldest first,
/// comparing numeric parts as numbers). An image without any kernel gives an empty list.
pub fn detect_kernels(root: &Path) -> std::io::Result<Vec<KernelVersion>> {
    if !root.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("image tree {} is not a directory", root.display()),
        ));
    }
    let mut found: BTreeMap<String, KernelVersion> = BTreeMap::new();
    fn entry<'a>(found: &'a mut BTreeMap<String, KernelVersion>, v: &str) -> &'a mut KernelVersion {
        found.entry(v.to_string()).or_insert_with(|| KernelVersion {
            version: v.to_string(),
            vmlinuz: None,
            modules_dir: None,
        })
    }
    for name in list_dir(&root.join("boot"))? {
        if let Some(v) = name.strip_prefix("vmlinuz-").filter(|v| !v.is_empty()) {
            entry(&mut found, v).vmlinuz = Some(root.join("boot").join(&name));
        }
    }
    // Debian's usrmerge makes /lib a symlink to usr/lib; look at both without following
    // absolute links out of the tree.
    for modules in [root.join("lib/modules"), root.join("usr/lib/modules")] {
        for name in list_dir(&modules)? {
            if modules.join(&name).is_dir() {
                let k = entry(&mut found, &name);
                if k.modules_dir.is_none() {
                    k.modules_dir = Some(modules.join(&name));
                }
            }
        }
    }
    let mut list: Vec<KernelVersion> = found.into_values().collect();
    list.sort_by_key(|k| version_key(&k.version));
    Ok(list)
}

/// Picks the kernel to boot: the requested version, else the newest complete one.
pub fn choose_kernel(
    kernels: &[KernelVersion],
    wanted: Option<&str>,
) -> Result<KernelVersion, String> {
    match wanted {
        Some(w) => kernels.iter().find(|k| k.version == w).cloned().ok_or_else(|| {
            let have: Vec<&str> = kernels.iter().map(|k| k.version.as_str()).collect();
            format!("kernel version {w} is not in the image (found: {}); pick one of those with --kernver", have.join(", "))
        }),
        None => kernels
            .iter()
            .rev()
            .find(|k| k.is_complete())
            .cloned()
            .ok_or_else(|| "the image has no kernel with both /boot/vmlinuz-<ver> and /lib/modules/<ver>; install a kernel package in it".to_string()),
    }
}

fn list_dir(dir: &Path) -> std::io::Result<Vec<String>> {
    match std::fs::read_dir(dir) {
        Ok(rd) => {
            let mut names = Vec::new();
            for e in rd {
                names.push(e?.file_name().to_string_lossy().into_owned());
            }
            Ok(names)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Splits a version into numeric and text runs so that 6.10 sorts after 6.9.
fn version_key(v: &str) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let mut chars = v.chars().peekable();
    while let Some(&c) = chars.peek() {
        let mut run = String::new();
        let numeric = c.is_ascii_digit();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_digit() != numeric {
                break;
            }
            run.push(c);
            chars.next();
        }
        if numeric {
            out.push((run.parse().unwrap_or(u64::MAX), String::new()));
        } else {
            out.push((0, run));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_kernels_in_boot_and_modules() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("boot")).unwrap();
        std::fs::write(t.path().join("boot/vmlinuz-6.9.0-1-amd64"), b"k").unwrap();
        std::fs::write(t.path().join("boot/vmlinuz-6.10.0-2-amd64"), b"k").unwrap();
        std::fs::create_dir_all(t.path().join("lib/modules/6.10.0-2-amd64")).unwrap();
        std::fs::create_dir_all(t.path().join("lib/modules/5.0-only-modules")).unwrap();
        let k = detect_kernels(t.path()).unwrap();
        let versions: Vec<&str> = k.iter().map(|k| k.version.as_str()).collect();
        assert_eq!(
            versions,
            ["5.0-only-modules", "6.9.0-1-amd64", "6.10.0-2-amd64"]
        );
        assert!(k[2].is_complete());
        assert!(!k[1].is_complete());
        assert_eq!(choose_kernel(&k, None).unwrap().version, "6.10.0-2-amd64");
        assert_eq!(
            choose_kernel(&k, Some("6.9.0-1-amd64")).unwrap().version,
            "6.9.0-1-amd64"
        );
        let err = choose_kernel(&k, Some("4.0")).unwrap_err();
        assert!(err.contains("4.0") && err.contains("--kernver"), "{err}");
    }

    #[test]
    fn empty_image_has_no_kernels_and_missing_tree_is_an_error() {
        let t = tempfile::tempdir().unwrap();
        assert!(detect_kernels(t.path()).unwrap().is_empty());
        assert!(choose_kernel(&[], None).is_err());
        assert!(detect_kernels(&t.path().join("nope")).is_err());
    }
}
