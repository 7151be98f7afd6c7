//! Walks an image tree into the ordered list of entries the archive will hold: one file system
//! only, hard links detected by (device, inode), xattrs (POSIX ACLs included) read per entry.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// What kind of file an entry is, with what the archive needs for that kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Directory,
    Regular {
        size: u64,
    },
    /// A further name of a regular file already in the archive (relative path of the first name).
    HardLink {
        first: PathBuf,
    },
    Symlink {
        target: PathBuf,
    },
    CharDevice {
        major: u32,
        minor: u32,
    },
    BlockDevice {
        major: u32,
        minor: u32,
    },
    Fifo,
}

/// One file of the image tree, path relative to the tree's root (empty for the root itself).
#[derive(Debug, Clone)]
pub struct TreeEntry {
    pub rel: PathBuf,
    pub kind: EntryKind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub xattrs: Vec<(OsString, Vec<u8>)>,
}

/// The scanned tree: its entries in archive order and the bytes of file content to pack.
#[derive(Debug, Default)]
pub struct TreeScan {
    pub entries: Vec<TreeEntry>,
    pub content_bytes: u64,
    /// Sockets are skipped (they cannot be archived); their paths are listed for a warning.
    pub skipped_sockets: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read {path} while scanning the image tree: {source}")]
pub struct ScanError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

fn err(path: &Path) -> impl FnOnce(std::io::Error) -> ScanError + '_ {
    move |source| ScanError {
        path: path.to_path_buf(),
        source,
    }
}

/// Scans the tree at `root` without leaving its file system (mount points below it are kept
/// as empty directories, like `tar --one-file-system`).
pub fn scan_tree(root: &Path) -> Result<TreeScan, ScanError> {
    let meta = std::fs::symlink_metadata(root).map_err(err(root))?;
    if !meta.is_dir() {
        return Err(ScanError {
            path: root.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a directory"),
        });
    }
    let mut scan = TreeScan::default();
    let mut seen_inodes: HashMap<(u64, u64), PathBuf> = HashMap::new();
    let root_dev = meta.dev();
    // Explicit stack instead of recursion: image trees can be deep.
    let mut stack: Vec<PathBuf> = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let full = root.join(&rel);
        let meta = std::fs::symlink_metadata(&full).map_err(err(&full))?;
        let ft = meta.file_type();
        let kind = if ft.is_dir() {
            EntryKind::Directory
        } else if ft.is_symlink() {
            EntryKind::Symlink {
                target: std::fs::read_link(&full).map_err(err(&full))?,
            }
        } else if ft.is_file() {
            let key = (meta.dev(), meta.ino());
            match seen_inodes.get(&key) {
                Some(first) if meta.nlink() > 1 => EntryKind::HardLink {
                    first: first.clone(),
                },
                _ => {
                    if meta.nlink() > 1 {
                        seen_inodes.insert(key, rel.clone());
                    }
                    scan.content_bytes += meta.len();
                    EntryKind::Regular { size: meta.len() }
                }
            }
        } else if ft.is_char_device() || ft.is_block_device() {
            let dev = rustix::fs::Dev::from(meta.rdev());
            let (major, minor) = (rustix::fs::major(dev), rustix::fs::minor(dev));
            if ft.is_char_device() {
                EntryKind::CharDevice { major, minor }
            } else {
                EntryKind::BlockDevice { major, minor }
            }
        } else if ft.is_fifo() {
            EntryKind::Fifo
        } else {
            scan.skipped_sockets.push(rel);
            continue;
        };
        let mut xattrs = Vec::new();
        // xattr::list does not follow symlinks: a link's own attributes are what we keep.
        for name in xattr::list(&full).map_err(err(&full))? {
            if let Some(value) = xattr::get(&full, &name).map_err(err(&full))? {
                xattrs.push((name, value));
            }
        }
        xattrs.sort();
        let is_dir = kind == EntryKind::Directory;
        scan.entries.push(TreeEntry {
            rel: rel.clone(),
            kind,
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            mtime: meta.mtime(),
            xattrs,
        });
        if is_dir && meta.dev() == root_dev {
            let mut children = Vec::new();
            for e in std::fs::read_dir(&full).map_err(err(&full))? {
                children.push(rel.join(e.map_err(err(&full))?.file_name()));
            }
            // Reverse-sorted onto the stack so the archive lists names in sorted order.
            children.sort();
            stack.extend(children.into_iter().rev());
        }
    }
    Ok(scan)
}
