//! `ImagePacker`: an image tree → `<name>.tar.zst` (multi-threaded zstd) + `<name>.torrent`
//! announcing to the host's tracker. Artefacts are written under temporary names and renamed
//! into place, so a re-pack replaces the old ones atomically and a failed pack leaves them be.

pub mod archive;
pub mod scan;

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::info_hash::InfoHash;

/// What to pack and where.
#[derive(Debug, Clone)]
pub struct PackOptions {
    /// Image name; artefacts are `<out_dir>/<name>.tar.zst` and `<out_dir>/<name>.torrent`.
    pub name: String,
    /// Root of the image tree.
    pub source: PathBuf,
    /// Directory for the artefacts (created if missing).
    pub out_dir: PathBuf,
    /// The tracker URL put in the torrent, e.g. `http://10.0.0.1:7050/announce`.
    pub announce_url: String,
    /// Piece length in bytes (a power of two ≥ 16 KiB); `None` picks one from the size.
    pub piece_length: Option<u32>,
    /// zstd level (1–19); 3 is zstd's default and fast enough to keep up with disks.
    pub zstd_level: i32,
    /// zstd worker threads; 0 uses every core.
    pub zstd_threads: u32,
}

impl PackOptions {
    pub fn new(name: &str, source: &Path, out_dir: &Path, announce_url: &str) -> Self {
        PackOptions {
            name: name.to_string(),
            source: source.to_path_buf(),
            out_dir: out_dir.to_path_buf(),
            announce_url: announce_url.to_string(),
            piece_length: None,
            zstd_level: 3,
            zstd_threads: 0,
        }
    }

    pub fn tarball_path(&self) -> PathBuf {
        self.out_dir.join(format!("{}.tar.zst", self.name))
    }

    pub fn torrent_path(&self) -> PathBuf {
        self.out_dir.join(format!("{}.torrent", self.name))
    }
}

/// Progress of the tar+zstd step: file content bytes read so far out of the tree's total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackProgress {
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// The result of a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedImage {
    pub tarball: PathBuf,
    pub torrent: PathBuf,
    /// Size of the compressed tarball in bytes.
    pub size: u64,
    pub piece_length: u32,
    pub info_hash: InfoHash,
    /// Entries (files, directories, links, nodes) in the archive.
    pub entries: u64,
    /// Uncompressed file content in bytes.
    pub content_bytes: u64,
    /// Sockets found in the tree, which cannot be archived and were left out.
    pub skipped_sockets: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("image name `{0}` cannot be used as a file name: use letters, digits, '.', '-', '_'")]
    BadName(String),
    #[error(transparent)]
    Scan(#[from] scan::ScanError),
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("creating the torrent for {path}: {reason}")]
    Torrent { path: PathBuf, reason: String },
}

/// Packs image trees; see the module docs.
#[derive(Debug, Clone)]
pub struct ImagePacker {
    opts: PackOptions,
}

/// Chooses a piece length giving roughly 1000–2000 pieces: small enough that nodes start
/// trading early, large enough to keep the .torrent small. Small images get pieces down to
/// one 16 KiB block: a node can pass a piece on only once it has all of it, and the host's
/// link gives each of N nodes 1/N of its rate, so a piece must be much smaller than S/N.
pub fn choose_piece_length(size: u64) -> u32 {
    let target = (size / 1500).clamp(16 * 1024, 16 * 1024 * 1024);
    u32::try_from(target.next_power_of_two()).unwrap_or(16 * 1024 * 1024)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

impl ImagePacker {
    pub fn new(opts: PackOptions) -> Self {
        ImagePacker { opts }
    }

    pub fn options(&self) -> &PackOptions {
        &self.opts
    }

    /// Packs the tree. `progress` is called from a worker thread every few MiB and at the end.
    pub async fn pack(
        &self,
        progress: impl FnMut(PackProgress) + Send + 'static,
    ) -> Result<PackedImage, PackError> {
        let opts = self.opts.clone();
        if !valid_name(&opts.name) {
            return Err(PackError::BadName(opts.name));
        }
        let write_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| PackError::Write { path, source }
        };
        std::fs::create_dir_all(&opts.out_dir).map_err(write_err(&opts.out_dir))?;
        let tarball = opts.tarball_path();
        let torrent = opts.torrent_path();
        let tmp_tarball = opts.out_dir.join(format!(".{}.tar.zst.partial", opts.name));
        let tmp_torrent = opts.out_dir.join(format!(".{}.torrent.partial", opts.name));

        let result = async {
            let write_opts = opts.clone();
            let tmp = tmp_tarball.clone();
            let (entries, content_bytes, skipped_sockets) =
                tokio::task::spawn_blocking(move || write_tarball(&write_opts, &tmp, progress))
                    .await
                    .map_err(|e| PackError::Write {
                        path: tmp_tarball.clone(),
                        source: std::io::Error::other(e.to_string()),
                    })??;
            let size = std::fs::metadata(&tmp_tarball)
                .map_err(write_err(&tmp_tarball))?
                .len();
            let piece_length = opts
                .piece_length
                .unwrap_or_else(|| choose_piece_length(size));
            let final_name = format!("{}.tar.zst", opts.name);
            let created = librqbit::create_torrent(
                &tmp_tarball,
                librqbit::CreateTorrentOptions {
                    name: Some(&final_name),
                    trackers: vec![opts.announce_url.clone()],
                    piece_length: Some(piece_length),
                },
                &librqbit::spawn_utils::BlockingSpawner::new(1),
            )
            .await
            .map_err(|e| PackError::Torrent {
                path: tmp_tarball.clone(),
                reason: format!("{e:#}"),
            })?;
            let bytes = created.as_bytes().map_err(|e| PackError::Torrent {
                path: tmp_tarball.clone(),
                reason: format!("{e:#}"),
            })?;
            write_synced(&tmp_torrent, &bytes).map_err(write_err(&tmp_torrent))?;
            // Tarball first: a .torrent in place always describes a complete tarball.
            std::fs::rename(&tmp_tarball, &tarball).map_err(write_err(&tarball))?;
            std::fs::rename(&tmp_torrent, &torrent).map_err(write_err(&torrent))?;
            Ok(PackedImage {
                tarball: tarball.clone(),
                torrent: torrent.clone(),
                size,
                piece_length,
                info_hash: InfoHash::from_id20(created.info_hash()),
                entries,
                content_bytes,
                skipped_sockets,
            })
        }
        .await;
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp_tarball);
            let _ = std::fs::remove_file(&tmp_torrent);
        }
        result
    }
}

/// Removes a packed image's artefacts (when the osimage is deleted). Missing files are fine.
pub fn remove_artefacts(out_dir: &Path, name: &str) -> std::io::Result<()> {
    for f in [format!("{name}.tar.zst"), format!("{name}.torrent")] {
        match std::fs::remove_file(out_dir.join(f)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

type TarballStats = (u64, u64, Vec<PathBuf>);

fn write_tarball(
    opts: &PackOptions,
    tmp: &Path,
    mut progress: impl FnMut(PackProgress),
) -> Result<TarballStats, PackError> {
    let scan = scan::scan_tree(&opts.source)?;
    let total = scan.content_bytes;
    let werr = |source| PackError::Write {
        path: tmp.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(tmp).map_err(werr)?;
    let mut encoder =
        zstd::stream::Encoder::new(BufWriter::with_capacity(1 << 20, file), opts.zstd_level)
            .map_err(werr)?;
    let threads = if opts.zstd_threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
    } else {
        opts.zstd_threads
    };
    encoder.multithread(threads).map_err(werr)?;
    let mut builder = tar::Builder::new(encoder);
    let mut done = 0u64;
    let mut last_report = Instant::now();
    progress(PackProgress {
        bytes_done: 0,
        bytes_total: total,
    });
    for entry in &scan.entries {
        let mut on_bytes = |n: u64| {
            done += n;
            if last_report.elapsed() >= Duration::from_millis(100) {
                last_report = Instant::now();
                progress(PackProgress {
                    bytes_done: done.min(total),
                    bytes_total: total,
                });
            }
        };
        archive::append_entry(&mut builder, entry, &opts.source, &mut on_bytes).map_err(|e| {
            PackError::Write {
                path: opts.source.join(&entry.rel),
                source: e,
            }
        })?;
    }
    let encoder = builder.into_inner().map_err(werr)?;
    let buf = encoder.finish().map_err(werr)?;
    let file = buf.into_inner().map_err(|e| werr(e.into_error()))?;
    file.sync_all().map_err(werr)?;
    progress(PackProgress {
        bytes_done: total,
        bytes_total: total,
    });
    Ok((scan.entries.len() as u64, total, scan.skipped_sockets))
}
