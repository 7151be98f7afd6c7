//! Piece order for swarms. librqbit requests pieces in file order, so nodes that start
//! together all want the same piece at the same moment and only the host has it: the host
//! ends up sending every node the whole image. A librqbit stream makes the pieces just ahead
//! of its position urgent, so each node reads its image through a few streams starting at
//! random offsets: nodes then hold different pieces early and trade them among themselves.

use std::sync::Arc;

use librqbit::ManagedTorrent;
use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::task::JoinSet;

/// Streams per node: enough spread to differ from the neighbours, few enough not to starve
/// the session's blocking-I/O permits (each stream holds one).
pub const FRONTS: u64 = 3;

/// Reads `len` bytes of file 0 from `start` (wrapping at the end) through a stream, which
/// makes that range urgent for the downloader. The data is discarded.
async fn read_front(
    handle: Arc<ManagedTorrent>,
    total: u64,
    start: u64,
    len: u64,
) -> anyhow::Result<()> {
    let mut stream = handle.stream(0).await?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut pos = start;
    let mut left = len;
    stream.seek(std::io::SeekFrom::Start(pos)).await?;
    while left > 0 {
        if pos == total {
            pos = 0;
            stream.seek(std::io::SeekFrom::Start(0)).await?;
        }
        let want = buf
            .len()
            .min(usize::try_from(left.min(total - pos)).unwrap_or(buf.len()));
        let n = stream.read(&mut buf[..want]).await?;
        if n == 0 {
            break;
        }
        pos += n as u64;
        left -= n as u64;
    }
    Ok(())
}

/// Starts the random fronts; dropping the returned set stops them.
pub fn start_fronts(handle: &Arc<ManagedTorrent>, total: u64) -> JoinSet<()> {
    let mut set = JoinSet::new();
    if total == 0 {
        return set;
    }
    let origin = rand::rng().random_range(0..total);
    let span = total.div_ceil(FRONTS);
    for i in 0..FRONTS {
        let h = handle.clone();
        let start = (origin + i * span) % total;
        set.spawn(async move {
            if let Err(e) = read_front(h, total, start, span).await {
                // Only the piece order suffers; the download itself goes on.
                tracing::debug!(error = %e, "piece-order stream stopped");
            }
        });
    }
    set
}
