//! Wakes idle peer connections. librqbit 9.1 lets a connection whose peer has nothing we
//! need sleep for 5 s, and a peer announcing new pieces (HAVE) does not wake it; only a peer
//! dying while it holds a reserved piece does. In a swarm of nodes that start together every
//! node-to-node connection starts empty, so without this the nodes barely trade and the host
//! ends up sending nearly every node the whole image.
//!
//! The pulse: connect to our own listener as a peer claiming every piece, unchoke, wait for
//! the first request (librqbit has now reserved a piece for this "peer") and hang up. The
//! piece is released at once and every sleeping connection re-checks what its peer has.
//!
//! A pulse costs a whole peer connection on the node (accept, handshake, bitfield, a reserved
//! piece, teardown): every 100 ms on every node that is most of a swarm's CPU (measured: a
//! 32-node swarm's agents used ~1 CPU-second each for a 4 MiB image). So a node pulses only
//! while it receives less than it did at its best: a node already taking in data at its peak
//! rate has nothing to gain from waking more connections.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use librqbit::ManagedTorrent;
use luna_dist::InfoHash;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// How often sleeping connections may be woken while downloading.
pub const PULSE_EVERY: Duration = Duration::from_millis(100);

/// Ticks of `PULSE_EVERY` over which the receive rate is measured: a few blocks' worth even
/// on a slow link, so the rate is not just block arrival jitter.
const RATE_TICKS: usize = 3;

/// Pulse while the receive rate is under this share of the best rate seen so far.
const BELOW_PEAK: f64 = 0.6;

/// Decides, tick by tick, whether the node is taking in less than it could.
#[derive(Debug, Default)]
pub struct IdleDetector {
    /// Bytes fetched at the last `RATE_TICKS + 1` ticks, oldest first.
    fetched: std::collections::VecDeque<u64>,
    /// The most bytes fetched over `RATE_TICKS` ticks so far.
    peak: u64,
}

impl IdleDetector {
    /// Records the bytes fetched so far and says whether to pulse now.
    pub fn should_pulse(&mut self, fetched: u64) -> bool {
        self.fetched.push_back(fetched);
        if self.fetched.len() > RATE_TICKS + 1 {
            self.fetched.pop_front();
        }
        let (Some(first), Some(last)) = (self.fetched.front(), self.fetched.back()) else {
            return true;
        };
        let window = last.saturating_sub(*first);
        if self.fetched.len() < RATE_TICKS + 1 {
            // Not a full window yet: a start with nothing flowing pulses.
            return window == 0;
        }
        self.peak = self.peak.max(window);
        (window as f64) < BELOW_PEAK * self.peak as f64 || self.peak == 0
    }
}

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
        let mut idle = IdleDetector::default();
        loop {
            tokio::time::sleep(PULSE_EVERY).await;
            let stats = handle.stats();
            if stats.finished {
                return;
            }
            let fetched = stats.live.as_ref().map_or(0, |l| l.snapshot.fetched_bytes);
            if !idle.should_pulse(fetched) {
                continue;
            }
            let _ = tokio::time::timeout(Duration::from_secs(2), pulse(target, info_hash, pieces))
                .await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulses_while_idle_or_below_the_best_rate_only() {
        let mut d = IdleDetector::default();
        // Nothing flowing at the start: pulse.
        assert!(d.should_pulse(0));
        assert!(d.should_pulse(0));
        // Data at full rate (64 KiB per tick): no pulses once the window is full.
        let mut at = 0;
        let mut pulses = 0;
        for _ in 0..10 {
            at += 64 << 10;
            pulses += usize::from(d.should_pulse(at));
        }
        assert_eq!(pulses, 0, "a node at its peak rate does not pulse");
        // The rate halves: pulse again.
        for _ in 0..RATE_TICKS {
            at += 16 << 10;
            d.should_pulse(at);
        }
        assert!(d.should_pulse(at + (16 << 10)));
        // Stalled: pulse.
        assert!(d.should_pulse(at + (16 << 10)));
    }
}
