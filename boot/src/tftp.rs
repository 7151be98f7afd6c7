//! Read-only TFTP for the iPXE binaries (protocol from `async-tftp`; the file policy is ours):
//! only regular files below the root, no `..`, no absolute paths, no writes.

use async_tftp::packet;
use async_tftp::server::{Handler, TftpServerBuilder};
use futures_lite::io::Cursor;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::task::JoinHandle;

use crate::iface;

/// Where Debian's `ipxe` package installs undionly.kpxe, ipxe.efi and snponly.efi.
pub const DEFAULT_TFTP_ROOT: &str = "/usr/lib/ipxe";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TftpConfig {
    pub root: PathBuf,
    pub bind: SocketAddr,
    /// Pin the listening socket to this interface.
    pub interface: Option<String>,
}

impl Default for TftpConfig {
    fn default() -> Self {
        Self {
            root: PathBuf::from(DEFAULT_TFTP_ROOT),
            bind: SocketAddr::from(([0, 0, 0, 0], 69)),
            interface: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TftpError {
    #[error("TFTP root {path}: {reason}")]
    Root { path: PathBuf, reason: String },
    #[error("TFTP socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("TFTP: {0}")]
    Protocol(#[from] async_tftp::Error),
}

/// Counters of served and refused requests.
#[derive(Debug, Default)]
pub struct TftpStats {
    pub served: AtomicU64,
    pub refused: AtomicU64,
    pub not_found: AtomicU64,
}

/// A running TFTP server; dropping it stops it.
pub struct TftpServer {
    task: JoinHandle<()>,
    local_addr: SocketAddr,
    stats: Arc<TftpStats>,
}

impl TftpServer {
    pub async fn start(config: TftpConfig) -> Result<Self, TftpError> {
        let root = std::fs::canonicalize(&config.root).map_err(|e| TftpError::Root {
            path: config.root.clone(),
            reason: format!("{e} (install Debian's ipxe package or set the TFTP root)"),
        })?;
        if !root.is_dir() {
            return Err(TftpError::Root {
                path: root,
                reason: "is not a directory".into(),
            });
        }
        let stats = Arc::new(TftpStats::default());
        let socket = iface::udp_socket(config.bind, config.interface.as_deref())?;
        socket.set_nonblocking(false)?;
        let server = TftpServerBuilder::with_handler(ReadOnlyFiles {
            root,
            stats: stats.clone(),
        })
        .std_socket(socket)?
        .build()
        .await?;
        let local_addr = server.listen_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = server.serve().await {
                tracing::error!(error = %e, "TFTP server stopped");
            }
        });
        tracing::info!(%local_addr, "TFTP serving");
        Ok(Self {
            task,
            local_addr,
            stats,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Live counters (shareable with a metrics endpoint).
    pub fn stats(&self) -> Arc<TftpStats> {
        self.stats.clone()
    }
}

impl Drop for TftpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct ReadOnlyFiles {
    root: PathBuf,
    stats: Arc<TftpStats>,
}

impl Handler for ReadOnlyFiles {
    type Reader = Cursor<Vec<u8>>;
    type Writer = futures_lite::io::Sink;

    async fn read_req_open(
        &mut self,
        client: &SocketAddr,
        path: &Path,
    ) -> Result<(Self::Reader, Option<u64>), packet::Error> {
        let Some(full) = resolve(&self.root, path) else {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%client, path = %path.display(), "TFTP path outside the root refused");
            return Err(packet::Error::PermissionDenied);
        };
        // iPXE binaries are small (< 2 MB): read whole, so no blocking reads mid-transfer.
        let bytes = match std::fs::metadata(&full) {
            Ok(meta) if meta.is_file() => std::fs::read(&full),
            Ok(_) => Err(std::io::Error::from(std::io::ErrorKind::NotFound)),
            Err(e) => Err(e),
        };
        match bytes {
            Ok(bytes) => {
                self.stats.served.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%client, path = %path.display(), "TFTP read");
                let len = bytes.len() as u64;
                Ok((Cursor::new(bytes), Some(len)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                self.stats.refused.fetch_add(1, Ordering::Relaxed);
                Err(packet::Error::PermissionDenied)
            }
            Err(_) => {
                self.stats.not_found.fetch_add(1, Ordering::Relaxed);
                Err(packet::Error::FileNotFound)
            }
        }
    }

    async fn write_req_open(
        &mut self,
        client: &SocketAddr,
        path: &Path,
        _size: Option<u64>,
    ) -> Result<Self::Writer, packet::Error> {
        self.stats.refused.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(%client, path = %path.display(), "TFTP write refused (read-only server)");
        Err(packet::Error::Msg("this TFTP server is read-only".into()))
    }
}

/// The file under `root` a request names, or `None` if the name leaves the root. A leading `/`
/// is accepted (many ROMs send one); `..`, `.`-only and empty names are not.
fn resolve(root: &Path, requested: &Path) -> Option<PathBuf> {
    let text = requested.to_str()?;
    // Some firmware sends DOS separators.
    let normalized = text.replace('\\', "/");
    let relative = normalized.trim_start_matches('/');
    let mut out = root.to_path_buf();
    let mut parts = 0;
    for component in Path::new(relative).components() {
        match component {
            Component::Normal(part) => {
                out.push(part);
                parts += 1;
            }
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (parts > 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::resolve;
    use std::path::Path;

    #[test]
    fn names_stay_below_the_root() {
        let root = Path::new("/srv/tftp");
        assert_eq!(
            resolve(root, Path::new("/undionly.kpxe")).unwrap(),
            Path::new("/srv/tftp/undionly.kpxe")
        );
        assert_eq!(
            resolve(root, Path::new("efi\\ipxe.efi")).unwrap(),
            Path::new("/srv/tftp/efi/ipxe.efi")
        );
        for bad in [
            "../../etc/passwd",
            "/../etc/passwd",
            "a/../../b",
            "",
            "/",
            "./",
            "..\\x",
        ] {
            assert!(resolve(root, Path::new(bad)).is_none(), "{bad}");
        }
    }
}
