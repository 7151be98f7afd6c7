//! Writes scanned entries as a tar stream: GNU headers with numeric owners, PAX
//! `SCHILY.xattr.*` records for xattrs (POSIX ACLs travel as their `system.posix_acl_*`
//! xattrs), hard links as link entries, device nodes with their numbers.

use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::scan::{EntryKind, TreeEntry};

/// Tar path of an entry: the root is `./`, the rest are relative without a leading `./`.
pub fn archive_path(rel: &Path) -> PathBuf {
    if rel.as_os_str().is_empty() {
        PathBuf::from("./")
    } else {
        rel.to_path_buf()
    }
}

/// Appends one entry; `content` is called for regular files to open the data.
pub fn append_entry<W: Write>(
    builder: &mut tar::Builder<W>,
    entry: &TreeEntry,
    root: &Path,
    on_bytes: &mut dyn FnMut(u64),
) -> std::io::Result<()> {
    if !entry.xattrs.is_empty() {
        let keys: Vec<(String, &[u8])> = entry
            .xattrs
            .iter()
            .map(|(name, value)| {
                (
                    format!("SCHILY.xattr.{}", String::from_utf8_lossy(name.as_bytes())),
                    value.as_slice(),
                )
            })
            .collect();
        builder.append_pax_extensions(keys.iter().map(|(k, v)| (k.as_str(), *v)))?;
    }
    let mut header = tar::Header::new_gnu();
    header.set_mode(entry.mode);
    header.set_uid(u64::from(entry.uid));
    header.set_gid(u64::from(entry.gid));
    header.set_mtime(u64::try_from(entry.mtime).unwrap_or(0));
    header.set_size(0);
    let path = archive_path(&entry.rel);
    let empty: &[u8] = &[];
    match &entry.kind {
        EntryKind::Directory => {
            header.set_entry_type(tar::EntryType::Directory);
            builder.append_data(&mut header, &path, empty)
        }
        EntryKind::Regular { size } => {
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(*size);
            let full = root.join(&entry.rel);
            let file = std::fs::File::open(&full)?;
            let mut reader = CountingReader {
                inner: file.take(*size),
                on_bytes,
                read: 0,
            };
            builder.append_data(&mut header, &path, &mut reader)?;
            if reader.read != *size {
                return Err(std::io::Error::other(format!(
                    "{} shrank while it was being packed; pack again when the image is idle",
                    full.display()
                )));
            }
            Ok(())
        }
        EntryKind::HardLink { first } => {
            header.set_entry_type(tar::EntryType::Link);
            builder.append_link(&mut header, &path, first)
        }
        EntryKind::Symlink { target } => {
            header.set_entry_type(tar::EntryType::Symlink);
            builder.append_link(&mut header, &path, target)
        }
        EntryKind::CharDevice { major, minor } | EntryKind::BlockDevice { major, minor } => {
            header.set_entry_type(if matches!(entry.kind, EntryKind::CharDevice { .. }) {
                tar::EntryType::Char
            } else {
                tar::EntryType::Block
            });
            header.set_device_major(*major)?;
            header.set_device_minor(*minor)?;
            builder.append_data(&mut header, &path, empty)
        }
        EntryKind::Fifo => {
            header.set_entry_type(tar::EntryType::Fifo);
            header.set_device_major(0)?;
            header.set_device_minor(0)?;
            builder.append_data(&mut header, &path, empty)
        }
    }
}

struct CountingReader<'a, R> {
    inner: R,
    on_bytes: &'a mut dyn FnMut(u64),
    read: u64,
}

impl<R: Read> Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        (self.on_bytes)(n as u64);
        Ok(n)
    }
}
