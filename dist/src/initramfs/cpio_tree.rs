//! The initramfs contents as an in-memory tree of entries, written out as a newc cpio archive.
//! Image files are added along their image paths, reproducing the image's symlinks (such as
//! `/lib -> usr/lib`, `mkfs.ext4 -> mke2fs`) so loaders and scripts find them where they expect.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;

#[derive(Debug, Clone)]
enum Node {
    Dir,
    /// Content comes from a host file.
    File {
        source: PathBuf,
        mode: u32,
    },
    Data {
        data: Vec<u8>,
        mode: u32,
    },
    Symlink(PathBuf),
    CharDev {
        major: u32,
        minor: u32,
        mode: u32,
    },
}

/// Entries keyed by their absolute path in the initramfs.
#[derive(Debug, Default)]
pub struct CpioTree {
    nodes: BTreeMap<PathBuf, Node>,
}

impl CpioTree {
    pub fn contains(&self, path: &Path) -> bool {
        self.nodes.contains_key(path)
    }

    /// Where `path` really lands given the symlinks already in the tree (such as a mirrored
    /// `/bin -> usr/bin`), so our own files follow the image's layout.
    pub fn real_path(&self, path: &Path) -> PathBuf {
        let mut at = PathBuf::from("/");
        let mut parts: Vec<PathBuf> = path
            .components()
            .filter_map(|c| match c {
                Component::Normal(p) => Some(PathBuf::from(p)),
                _ => None,
            })
            .rev()
            .collect();
        let mut hops = 0;
        while let Some(part) = parts.pop() {
            let candidate = at.join(&part);
            match self.nodes.get(&candidate) {
                Some(Node::Symlink(t)) if hops < 40 => {
                    hops += 1;
                    if t.is_absolute() {
                        at = PathBuf::from("/");
                    }
                    for c in t.components().rev() {
                        match c {
                            Component::Normal(p) => parts.push(PathBuf::from(p)),
                            Component::ParentDir => parts.push(PathBuf::from("..")),
                            _ => {}
                        }
                    }
                }
                _ if part == Path::new("..") => {
                    at.pop();
                }
                _ => at = candidate,
            }
        }
        at
    }

    pub fn dir(&mut self, path: &Path) {
        let mut p = PathBuf::from("/");
        for c in path.components() {
            if let Component::Normal(n) = c {
                p.push(n);
                self.nodes.entry(p.clone()).or_insert(Node::Dir);
            }
        }
    }

    fn parent_dirs(&mut self, path: &Path) {
        if let Some(parent) = path.parent() {
            self.dir(parent);
        }
    }

    pub fn data(&mut self, path: &Path, data: Vec<u8>, mode: u32) {
        self.parent_dirs(path);
        self.nodes
            .insert(path.to_path_buf(), Node::Data { data, mode });
    }

    pub fn host_file(&mut self, path: &Path, source: &Path, mode: u32) {
        self.parent_dirs(path);
        self.nodes.insert(
            path.to_path_buf(),
            Node::File {
                source: source.to_path_buf(),
                mode,
            },
        );
    }

    pub fn symlink(&mut self, path: &Path, target: &Path) {
        self.parent_dirs(path);
        self.nodes
            .entry(path.to_path_buf())
            .or_insert_with(|| Node::Symlink(target.to_path_buf()));
    }

    pub fn char_device(&mut self, path: &Path, major: u32, minor: u32, mode: u32) {
        self.parent_dirs(path);
        self.nodes
            .insert(path.to_path_buf(), Node::CharDev { major, minor, mode });
    }

    /// Adds the file at image-absolute `path` from the image at `root`, with every symlink met
    /// on the way. Returns the image path of the real file.
    pub fn image_file(&mut self, root: &Path, path: &Path) -> std::io::Result<PathBuf> {
        let mut pending: Vec<PathBuf> = path
            .components()
            .filter_map(|c| match c {
                Component::Normal(p) => Some(PathBuf::from(p)),
                Component::ParentDir => Some(PathBuf::from("..")),
                _ => None,
            })
            .rev()
            .collect();
        let mut at = PathBuf::from("/");
        let mut hops = 0;
        while let Some(part) = pending.pop() {
            if part == Path::new("..") {
                at.pop();
                continue;
            }
            let candidate = at.join(&part);
            let host = root.join(candidate.strip_prefix("/").unwrap_or(&candidate));
            let meta = std::fs::symlink_metadata(&host).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("{} in the image: {e}", candidate.display()),
                )
            })?;
            if meta.file_type().is_symlink() {
                hops += 1;
                if hops > 40 {
                    return Err(std::io::Error::other(format!(
                        "symlink loop at {}",
                        candidate.display()
                    )));
                }
                let target = std::fs::read_link(&host)?;
                // A directory we created ourselves (e.g. /bin for busybox) stays a directory;
                // the file then lands at the link's resolved place only.
                if !matches!(self.nodes.get(&candidate), Some(Node::Dir)) {
                    self.symlink(&candidate, &target);
                }
                if target.is_absolute() {
                    at = PathBuf::from("/");
                }
                for c in target.components().rev() {
                    match c {
                        Component::Normal(p) => pending.push(PathBuf::from(p)),
                        Component::ParentDir => pending.push(PathBuf::from("..")),
                        _ => {}
                    }
                }
            } else if pending.is_empty() {
                if !meta.is_file() {
                    return Err(std::io::Error::other(format!(
                        "{} in the image is not a regular file",
                        candidate.display()
                    )));
                }
                self.host_file(&candidate, &host, meta.mode() & 0o7777);
                return Ok(candidate);
            } else {
                at = candidate;
            }
        }
        Err(std::io::Error::other(format!(
            "{} resolves to the image root",
            path.display()
        )))
    }

    /// Writes the newc archive (uncompressed) to `w`.
    pub fn write_newc<W: Write>(&self, mut w: W) -> std::io::Result<W> {
        for (ino, (path, node)) in (1u32..).zip(self.nodes.iter()) {
            let name = path
                .strip_prefix("/")
                .unwrap_or(path)
                .to_string_lossy()
                .into_owned();
            let b = cpio::newc::Builder::new(&name)
                .ino(ino)
                .uid(0)
                .gid(0)
                .nlink(1);
            w = match node {
                Node::Dir => b.mode(S_IFDIR | 0o755).nlink(2).write(w, 0).finish()?,
                Node::Symlink(t) => {
                    let t = t.to_string_lossy().into_owned().into_bytes();
                    let mut wr = b.mode(S_IFLNK | 0o777).write(w, t.len() as u32);
                    wr.write_all(&t)?;
                    wr.finish()?
                }
                Node::CharDev { major, minor, mode } => b
                    .mode(S_IFCHR | mode)
                    .rdev_major(*major)
                    .rdev_minor(*minor)
                    .write(w, 0)
                    .finish()?,
                Node::Data { data, mode } => {
                    let mut wr = b
                        .mode(S_IFREG | mode)
                        .write(w, size32(data.len() as u64, path)?);
                    wr.write_all(data)?;
                    wr.finish()?
                }
                Node::File { source, mode } => {
                    let mut f = std::fs::File::open(source)?;
                    let len = f.metadata()?.len();
                    let mut wr = b.mode(S_IFREG | mode).write(w, size32(len, path)?);
                    let copied = std::io::copy(&mut f, &mut wr)?;
                    if copied != len {
                        return Err(std::io::Error::other(format!(
                            "{} changed while it was copied",
                            source.display()
                        )));
                    }
                    wr.finish()?
                }
            };
        }
        cpio::newc::trailer(w)
    }

    /// Paths of the regular files, for reports.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.nodes
            .iter()
            .filter(|(_, n)| matches!(n, Node::File { .. } | Node::Data { .. }))
            .map(|(p, _)| p.as_path())
    }
}

fn size32(len: u64, path: &Path) -> std::io::Result<u32> {
    u32::try_from(len).map_err(|_| {
        std::io::Error::other(format!(
            "{} is too large for a newc archive",
            path.display()
        ))
    })
}
