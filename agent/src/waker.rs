//! Wakes idle peer connections. librqbit 9.1 lets a connection whose peer has nothing we
//! need sleep for 5 s, and a peer announcing new pieces (HAVE) does not wake it; only a peer
//! dying while it holds a reserved piece does. In a swarm of nodes that start together every
//! node-to-node connection starts empty, so without this the nodes barely trade and the host
//! ends up sending nearly every node the whole image.
//!
//! The pulse: connect to our own listener as a peer claiming every piece, unchoke, wait for
//! the first request (librqbit has now reserved a piece for this "peer") and hang up. The
//! piece is released at once and every sleeping connection re-checks what its peer has.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use librqbit::ManagedTorrent;
use luna_dist::InfoHash;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// How often sleeping connections are woken while downloading.
pub const PULSE_EVERY: Duration = Duration::from_millis(100);

async fn pulse(addr: SocketAddr, info_hash: InfoHash, pieces: usize) -> std::io::Result<()> {
    let mut sock = TcpStream::connect(addr).await?;
    let mut hs = Vec::with_capacity(68);
    hs.push(19);
    hs.extend_from_slice(b"BitTorrent protocol");
    hs.extend_from_slice(&[0; 8]);
    hs.extend_from_slice(info_hash.as_bytes());
    let mut id = *b"-LW0001-000000000000";
    rand::Rng::fill(&mut rand::rng(), &mut id[8..]);
    hs.extend_from_slice(&id);
    sock.write_all(&hs).await?;
    let mut theirs = [0u8; 68];
    sock.read_exact(&mut theirs).await?;
    let mut bitfield = vec![0u8; pieces.div_ceil(8)];
    for i in 0..pieces {
        bitfield[i / 8] |= 0x80 >> (i % 8);
    }
    let mut msg = u32::try_from(bitfield.len() + 1)
        .unwrap_or(u32::MAX)
        .to_be_bytes()
        .to_vec();
    msg.push(5);
    msg.extend_from_slice(&bitfield);
    msg.extend_from_slice(&[0, 0, 0, 1, 1]); // unchoke
    sock.write_all(&msg).await?;
    loop {
        let mut len = [0u8; 4];
        sock.read_exact(&mut len).await?;
        let len = u32::from_be_bytes(len) as usize;
        if len == 0 {
            continue;
        }
        let mut body = vec![0u8; len.min(1 << 20)];
        sock.read_exact(&mut body).await?;
        if body[0] == 6 {
            // A piece is reserved for us: hanging up now releases it and wakes the others.
            return Ok(());
        }
    }
}

/// Pulses until the download is complete.
pub fn start_waker(
    handle: Arc<ManagedTorrent>,
    listen: SocketAddr,
    info_hash: InfoHash,
    pieces: usize,
) -> JoinHandle<()> {
    let target = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), listen.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), listen.port())
        }
        _ => listen,
    };
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(PULSE_EVERY).await;
            if handle.stats().finished {
                return;
            }
            let _ = tokio::time::timeout(Duration::from_secs(2), pulse(target, info_hash, pieces))
                .await;
        }
    })
}
