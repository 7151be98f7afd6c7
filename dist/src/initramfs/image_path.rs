//! Paths inside an image tree: symlinks are resolved as the image itself would see them
//! (absolute targets are relative to the image root), never escaping to the host.

use std::path::{Component, Path, PathBuf};

/// Resolves `path` (image-absolute, e.g. `/sbin/mkfs.ext4`) to a host path inside `root`,
/// following symlinks within the image. Fails on loops.
pub fn resolve_in_root(root: &Path, path: &Path) -> std::io::Result<PathBuf> {
    let mut pending: Vec<PathBuf> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(PathBuf::from(p)),
            Component::ParentDir => Some(PathBuf::from("..")),
            _ => None,
        })
        .rev()
        .collect();
    let mut resolved = PathBuf::new();
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        if part == Path::new("..") {
            resolved.pop();
            continue;
        }
        let candidate = resolved.join(&part);
        let host = root.join(&candidate);
        match std::fs::symlink_metadata(&host) {
            Ok(m) if m.file_type().is_symlink() => {
                hops += 1;
                if hops > 40 {
                    return Err(std::io::Error::other(format!(
                        "too many symlinks resolving {} in the image",
                        path.display()
                    )));
                }
                let target = std::fs::read_link(&host)?;
                if target.is_absolute() {
                    resolved = PathBuf::new();
                }
                for c in target.components().rev() {
                    match c {
                        Component::Normal(p) => pending.push(PathBuf::from(p)),
                        Component::ParentDir => pending.push(PathBuf::from("..")),
                        _ => {}
                    }
                }
            }
            _ => resolved = candidate,
        }
    }
    Ok(root.join(resolved))
}

/// The image-absolute path a host path inside `root` stands for.
pub fn image_absolute(root: &Path, host: &Path) -> PathBuf {
    Path::new("/").join(host.strip_prefix(root).unwrap_or(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_links_stay_inside_the_image() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        std::fs::create_dir_all(r.join("usr/lib")).unwrap();
        std::fs::write(r.join("usr/lib/libx.so.1"), b"x").unwrap();
        std::os::unix::fs::symlink("usr/lib", r.join("lib")).unwrap();
        std::fs::create_dir_all(r.join("sbin")).unwrap();
        std::os::unix::fs::symlink("/lib/libx.so.1", r.join("sbin/abs")).unwrap();
        std::os::unix::fs::symlink("../lib/libx.so.1", r.join("sbin/rel")).unwrap();
        std::os::unix::fs::symlink("loop2", r.join("sbin/loop1")).unwrap();
        std::os::unix::fs::symlink("loop1", r.join("sbin/loop2")).unwrap();
        let want = r.join("usr/lib/libx.so.1");
        assert_eq!(resolve_in_root(r, Path::new("/sbin/abs")).unwrap(), want);
        assert_eq!(resolve_in_root(r, Path::new("/sbin/rel")).unwrap(), want);
        assert_eq!(
            resolve_in_root(r, Path::new("/lib/libx.so.1")).unwrap(),
            want
        );
        assert!(resolve_in_root(r, Path::new("/sbin/loop1")).is_err());
        assert_eq!(image_absolute(r, &want), Path::new("/usr/lib/libx.so.1"));
    }
}
