//! Unpacks a packed image (`.tar.zst`) into a target tree, restoring what the packer kept:
//! owners, modes (setuid included), mtimes, hard links, symlinks, device nodes, FIFOs, xattrs
//! and POSIX ACLs. Used by the agent on the node; needs root for owners and device nodes.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// What an unpack restored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnpackStats {
    pub entries: u64,
    pub content_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("reading the image archive {archive}: {source}")]
    Read {
        archive: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("archive entry `{entry}` is unsafe ({why}); the image was not packed by Luna")]
    UnsafePath { entry: String, why: &'static str },
    #[error("archive entry `{entry}` has type {kind:?}, which Luna images never contain")]
    UnsupportedType { entry: String, kind: tar::EntryType },
    #[error("restoring {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
    xattrs: Vec<(OsString, Vec<u8>)>,
}

/// Unpacks the zstd-compressed tarball at `archive` into `target` (created if missing).
pub fn unpack(archive: &Path, target: &Path) -> Result<UnpackStats, UnpackError> {
    let read_err = |source| UnpackError::Read {
        archive: archive.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(archive).map_err(read_err)?;
    let decoder = zstd::stream::Decoder::new(file).map_err(read_err)?;
    unpack_tar(decoder, archive, target)
}

/// Unpacks an uncompressed tar stream; `label` names the source in errors.
pub fn unpack_tar(
    reader: impl Read,
    label: &Path,
    target: &Path,
) -> Result<UnpackStats, UnpackError> {
    let read_err = |source| UnpackError::Read {
        archive: label.to_path_buf(),
        source,
    };
    let werr = |path: &Path| {
        let path = path.to_path_buf();
        move |source| UnpackError::Write { path, source }
    };
    std::fs::create_dir_all(target).map_err(werr(target))?;
    let canon_target = target.canonicalize().map_err(werr(target))?;
    let mut archive = tar::Archive::new(reader);
    let mut stats = UnpackStats::default();
    // Directories get their modes, owners and times last (children change a directory's
    // mtime, and a read-only directory must stay writable while it is filled).
    let mut dirs: Vec<(PathBuf, Meta)> = Vec::new();
    let mut safe_parents: HashSet<PathBuf> = HashSet::new();
    for entry in archive.entries().map_err(read_err)? {
        let mut entry = entry.map_err(read_err)?;
        let raw_path = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw_path).into_owned();
        let rel = safe_relative(&raw_path, &shown)?;
        let dst = target.join(&rel);
        let header = entry.header();
        let kind = header.entry_type();
        let mut meta = Meta {
            mode: header.mode().map_err(read_err)? & 0o7777,
            uid: header.uid().map_err(read_err)? as u32,
            gid: header.gid().map_err(read_err)? as u32,
            mtime: header.mtime().map_err(read_err)? as i64,
            xattrs: Vec::new(),
        };
        if let Some(exts) = entry.pax_extensions().map_err(read_err)? {
            for ext in exts {
                let ext = ext.map_err(read_err)?;
                if let Some(name) = ext.key_bytes().strip_prefix(b"SCHILY.xattr.") {
                    meta.xattrs.push((
                        std::ffi::OsStr::from_bytes(name).to_os_string(),
                        ext.value_bytes().to_vec(),
                    ));
                }
            }
        }
        if let Some(parent) = dst.parent()
            && !rel.as_os_str().is_empty()
        {
            ensure_parent_inside(parent, &canon_target, &mut safe_parents, &shown)?;
        }
        stats.entries += 1;
        match kind {
            tar::EntryType::Directory => {
                match std::fs::symlink_metadata(&dst) {
                    Ok(m) if m.is_dir() => {}
                    Ok(_) => {
                        std::fs::remove_file(&dst).map_err(werr(&dst))?;
                        std::fs::create_dir(&dst).map_err(werr(&dst))?;
                    }
                    Err(_) => std::fs::create_dir_all(&dst).map_err(werr(&dst))?,
                }
                dirs.push((dst, meta));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                remove_existing(&dst)?;
                let mut f = std::fs::File::create_new(&dst).map_err(werr(&dst))?;
                stats.content_bytes += std::io::copy(&mut entry, &mut f).map_err(werr(&dst))?;
                drop(f);
                apply_meta(&dst, &meta, true)?;
            }
            tar::EntryType::Link => {
                let link = entry
                    .link_name_bytes()
                    .ok_or(UnpackError::UnsafePath {
                        entry: shown.clone(),
                        why: "hard link without a target",
                    })?
                    .into_owned();
                let first = target.join(safe_relative(&link, &shown)?);
                remove_existing(&dst)?;
                std::fs::hard_link(&first, &dst).map_err(werr(&dst))?;
            }
            tar::EntryType::Symlink => {
                let link = entry
                    .link_name_bytes()
                    .ok_or(UnpackError::UnsafePath {
                        entry: shown.clone(),
                        why: "symlink without a target",
                    })?
                    .into_owned();
                remove_existing(&dst)?;
                std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&link), &dst)
                    .map_err(werr(&dst))?;
                apply_meta(&dst, &meta, false)?;
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let file_type = match kind {
                    tar::EntryType::Char => rustix::fs::FileType::CharacterDevice,
                    tar::EntryType::Block => rustix::fs::FileType::BlockDevice,
                    _ => rustix::fs::FileType::Fifo,
                };
                // FIFOs carry no device numbers (other tars leave the fields blank).
                let (major, minor) = if kind == tar::EntryType::Fifo {
                    (0, 0)
                } else {
                    (
                        entry
                            .header()
                            .device_major()
                            .map_err(read_err)?
                            .unwrap_or(0),
                        entry
                            .header()
                            .device_minor()
                            .map_err(read_err)?
                            .unwrap_or(0),
                    )
                };
                remove_existing(&dst)?;
                rustix::fs::mknodat(
                    rustix::fs::CWD,
                    &dst,
                    file_type,
                    rustix::fs::Mode::from_raw_mode(meta.mode),
                    rustix::fs::makedev(major, minor),
                )
                .map_err(|e| UnpackError::Write {
                    path: dst.clone(),
                    source: e.into(),
                })?;
                apply_meta(&dst, &meta, true)?;
            }
            tar::EntryType::XGlobalHeader => stats.entries -= 1,
            other => {
                return Err(UnpackError::UnsupportedType {
                    entry: shown,
                    kind: other,
                });
            }
        }
    }
    for (dir, meta) in dirs.iter().rev() {
        apply_meta(dir, meta, true)?;
    }
    Ok(stats)
}

/// The entry's path relative to the target: no `..`, no absolute paths.
fn safe_relative(raw: &[u8], shown: &str) -> Result<PathBuf, UnpackError> {
    let mut rel = PathBuf::new();
    for c in Path::new(std::ffi::OsStr::from_bytes(raw)).components() {
        match c {
            Component::Normal(p) => rel.push(p),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => {
                return Err(UnpackError::UnsafePath {
                    entry: shown.to_string(),
                    why: "absolute path",
                });
            }
            Component::ParentDir => {
                return Err(UnpackError::UnsafePath {
                    entry: shown.to_string(),
                    why: "`..` in path",
                });
            }
        }
    }
    Ok(rel)
}

/// Refuses to write through a symlink that leads out of the target.
fn ensure_parent_inside(
    parent: &Path,
    canon_target: &Path,
    safe: &mut HashSet<PathBuf>,
    shown: &str,
) -> Result<(), UnpackError> {
    if safe.contains(parent) {
        return Ok(());
    }
    let canon = parent.canonicalize().map_err(|source| UnpackError::Write {
        path: parent.to_path_buf(),
        source,
    })?;
    if !canon.starts_with(canon_target) {
        return Err(UnpackError::UnsafePath {
            entry: shown.to_string(),
            why: "parent directory is a symlink leading out of the target",
        });
    }
    safe.insert(parent.to_path_buf());
    Ok(())
}

fn remove_existing(dst: &Path) -> Result<(), UnpackError> {
    match std::fs::symlink_metadata(dst) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(dst),
        Ok(_) => std::fs::remove_file(dst),
        Err(_) => Ok(()),
    }
    .map_err(|source| UnpackError::Write {
        path: dst.to_path_buf(),
        source,
    })
}

/// Owner, then mode (chown clears setuid bits, so mode comes after), then xattrs (ACLs must
/// follow the mode they refine; file capabilities must follow the chown that clears them),
/// then times.
fn apply_meta(path: &Path, meta: &Meta, set_mode: bool) -> Result<(), UnpackError> {
    let werr = |source: std::io::Error| UnpackError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::os::unix::fs::lchown(path, Some(meta.uid), Some(meta.gid)).map_err(werr)?;
    if set_mode {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(meta.mode)).map_err(werr)?;
    }
    for (name, value) in &meta.xattrs {
        xattr::set(path, name, value).map_err(|e| UnpackError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                e.kind(),
                format!("setting xattr {}: {e}", name.to_string_lossy()),
            ),
        })?;
    }
    let t = rustix::fs::Timespec {
        tv_sec: meta.mtime,
        tv_nsec: 0,
    };
    rustix::fs::utimensat(
        rustix::fs::CWD,
        path,
        &rustix::fs::Timestamps {
            last_access: t,
            last_modification: t,
        },
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(|e| werr(e.into()))?;
    Ok(())
}
