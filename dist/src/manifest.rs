//! A tree manifest: every path of a tree with its type, mode, owner, xattrs and content hash.
//! Two trees with equal manifests are the same image; used to check an unpack against its
//! source (tests, the swarm benchmark, and operators comparing a node with its image).

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// What one path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestKind {
    Directory,
    /// SHA-256 of the content, and the hard-link group (the first path of the inode, in sorted
    /// order) for files with more than one name.
    Regular {
        sha256: String,
        link_group: Option<PathBuf>,
    },
    Symlink {
        target: PathBuf,
    },
    CharDevice {
        rdev: u64,
    },
    BlockDevice {
        rdev: u64,
    },
    Fifo,
    Socket,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    pub kind: ManifestKind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Directory mtimes change when anything is added, so only non-directories carry one.
    pub mtime: Option<i64>,
    pub xattrs: BTreeMap<String, Vec<u8>>,
}

/// The manifest of the tree at `root`, keyed by path relative to it. Paths in `skip`
/// (relative) are left out with everything below them.
pub fn tree_manifest(
    root: &Path,
    skip: &[&Path],
) -> std::io::Result<BTreeMap<PathBuf, ManifestEntry>> {
    let mut out = BTreeMap::new();
    let mut first_name: BTreeMap<(u64, u64), PathBuf> = BTreeMap::new();
    let mut stack = vec![PathBuf::new()];
    let mut paths = Vec::new();
    while let Some(rel) = stack.pop() {
        if skip.iter().any(|s| rel.starts_with(s)) && !rel.as_os_str().is_empty() {
            continue;
        }
        let full = root.join(&rel);
        let meta = std::fs::symlink_metadata(&full)?;
        if meta.is_dir() {
            for e in std::fs::read_dir(&full)? {
                stack.push(rel.join(e?.file_name()));
            }
        }
        paths.push((rel, meta));
    }
    paths.sort_by(|a, b| a.0.cmp(&b.0));
    for (rel, meta) in paths {
        let full = root.join(&rel);
        let ft = meta.file_type();
        let kind = if ft.is_dir() {
            ManifestKind::Directory
        } else if ft.is_symlink() {
            ManifestKind::Symlink {
                target: std::fs::read_link(&full)?,
            }
        } else if ft.is_file() {
            let link_group = (meta.nlink() > 1).then(|| {
                first_name
                    .entry((meta.dev(), meta.ino()))
                    .or_insert_with(|| rel.clone())
                    .clone()
            });
            ManifestKind::Regular {
                sha256: sha256_file(&full)?,
                link_group,
            }
        } else if ft.is_char_device() {
            ManifestKind::CharDevice { rdev: meta.rdev() }
        } else if ft.is_block_device() {
            ManifestKind::BlockDevice { rdev: meta.rdev() }
        } else if ft.is_fifo() {
            ManifestKind::Fifo
        } else {
            ManifestKind::Socket
        };
        let mut xattrs = BTreeMap::new();
        for name in xattr::list(&full)? {
            if let Some(v) = xattr::get(&full, &name)? {
                xattrs.insert(name.to_string_lossy().into_owned(), v);
            }
        }
        out.insert(
            rel,
            ManifestEntry {
                mtime: (!ft.is_dir()).then(|| meta.mtime()),
                kind,
                mode: meta.mode() & 0o7777,
                uid: meta.uid(),
                gid: meta.gid(),
                xattrs,
            },
        );
    }
    Ok(out)
}

/// SHA-256 of a file's content, hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Human-readable differences between two manifests (empty when identical).
pub fn manifest_diff(
    a: &BTreeMap<PathBuf, ManifestEntry>,
    b: &BTreeMap<PathBuf, ManifestEntry>,
) -> Vec<String> {
    let mut diffs = Vec::new();
    for (p, ea) in a {
        match b.get(p) {
            None => diffs.push(format!("{}: missing on the right", p.display())),
            Some(eb) if eb != ea => diffs.push(format!("{}: {ea:?} != {eb:?}", p.display())),
            _ => {}
        }
    }
    for p in b.keys().filter(|p| !a.contains_key(*p)) {
        diffs.push(format!("{}: only on the right", p.display()));
    }
    diffs
}
