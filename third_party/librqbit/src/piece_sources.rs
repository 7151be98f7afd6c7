//! Luna patch: striped piece sources. The tracker arranges the swarm as `k` trees, one per
//! stripe (piece `i` is in stripe `i % k`); every node has one parent per stripe and asks
//! that parent alone for the stripe's pieces, so each node forwards one stripe to a few
//! children and every link carries a steady share instead of whatever a pull mesh happens
//! to ask of it. See LUNA-PATCHES.md, "Striped piece sources".
//!
//! The caller (the node's agent) owns the parents and may change them at any time; librqbit
//! reads them when it chooses what to request from whom. A piece may come from another peer
//! when its parent fails: the parent has been unreachable for `fallback_after`, or another
//! peer (not the host) has held the piece that long.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Default for [`PieceSources::with_parent_window`].
pub const DEFAULT_PARENT_WINDOW: usize = 2;

/// Default for [`PieceSources::fallback_after`].
pub const DEFAULT_FALLBACK_AFTER: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy)]
struct Parent {
    /// `None`: the provisioning host, i.e. any of the torrent's initial peers.
    addr: Option<SocketAddr>,
    since: Instant,
}

/// One node's parents, one per stripe, shared between the agent and librqbit.
#[derive(Debug)]
pub struct PieceSources {
    epoch: Instant,
    fallback_after: Duration,
    /// Most requests outstanding to a parent.
    parent_window: usize,
    parents: RwLock<Vec<Parent>>,
    /// When a peer other than the host first announced each piece, in ms after `epoch`
    /// plus one (0: not yet). Sized when the torrent starts.
    first_seen: OnceLock<Box<[AtomicU64]>>,
}

impl Default for PieceSources {
    fn default() -> Self {
        Self::new(DEFAULT_FALLBACK_AFTER)
    }
}

impl PieceSources {
    pub fn new(fallback_after: Duration) -> Self {
        Self {
            epoch: Instant::now(),
            fallback_after,
            parent_window: DEFAULT_PARENT_WINDOW,
            parents: RwLock::new(Vec::new()),
            first_seen: OnceLock::new(),
        }
    }

    /// Most block requests outstanding to one parent. A parent can only be asked for what it
    /// already has, a few pieces ahead of this node; a deeper window only queues more behind
    /// its upload link, and every hop of every tree waits that queue.
    pub fn with_parent_window(mut self, window: usize) -> Self {
        self.parent_window = window.max(1);
        self
    }

    pub(crate) fn parent_window(&self) -> usize {
        self.parent_window
    }

    /// Sets the parent of each stripe (`parents[j]` serves the pieces `i` with
    /// `i % parents.len() == j`; `None` is the host, any of the initial peers). Empty: no
    /// stripes, every peer may serve every piece. A stripe whose parent is unchanged keeps
    /// its age.
    pub fn set_parents(&self, parents: &[Option<SocketAddr>]) {
        let now = Instant::now();
        let mut cur = self.parents.write().unwrap_or_else(|e| e.into_inner());
        let same_stripes = cur.len() == parents.len();
        let next = parents
            .iter()
            .enumerate()
            .map(|(j, &addr)| match cur.get(j) {
                Some(p) if same_stripes && p.addr == addr => *p,
                _ => Parent { addr, since: now },
            })
            .collect();
        *cur = next;
    }

    /// The parent of each stripe (`None`: the host).
    pub fn parents(&self) -> Vec<Option<SocketAddr>> {
        self.parents
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|p| p.addr)
            .collect()
    }

    pub(crate) fn is_parent(&self, addr: SocketAddr) -> bool {
        self.parents
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|p| p.addr == Some(addr))
    }

    pub(crate) fn init_pieces(&self, total_pieces: usize) {
        let _ = self
            .first_seen
            .set((0..total_pieces).map(|_| AtomicU64::new(0)).collect());
    }

    /// A peer other than the host announced `piece`.
    pub(crate) fn saw(&self, piece: usize) {
        if let Some(slot) = self.first_seen.get().and_then(|s| s.get(piece)) {
            let ms = self.epoch.elapsed().as_millis() as u64 + 1;
            let _ = slot.compare_exchange(0, ms, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    fn seen_long_enough(&self, piece: usize, now_ms: u64) -> bool {
        let fallback_ms = self.fallback_after.as_millis() as u64;
        self.first_seen
            .get()
            .and_then(|s| s.get(piece))
            .map(|s| s.load(Ordering::Relaxed))
            .is_some_and(|at| at != 0 && now_ms + 1 >= at + fallback_ms)
    }

    /// What `peer` may be asked for right now. `is_live` tells whether a peer is connected;
    /// it is called once per stripe, here, so the filter itself takes no peer locks.
    pub(crate) fn filter_for(
        &self,
        peer: SocketAddr,
        peer_is_host: bool,
        is_live: impl Fn(SocketAddr) -> bool,
    ) -> SourceFilter<'_> {
        let parents = self.parents.read().unwrap_or_else(|e| e.into_inner());
        let stripes = parents
            .iter()
            .map(|p| {
                let orphaned = |a: SocketAddr| !is_live(a) && p.since.elapsed() >= self.fallback_after;
                if p.addr == Some(peer) || (p.addr.is_none() && peer_is_host) {
                    StripeRule::Parent
                } else if p.addr.is_some_and(orphaned) {
                    StripeRule::Orphaned
                } else {
                    StripeRule::Others
                }
            })
            .collect();
        SourceFilter {
            sources: self,
            stripes,
            peer_is_host,
            now_ms: self.epoch.elapsed().as_millis() as u64,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StripeRule {
    /// The peer is this stripe's parent.
    Parent,
    /// The parent has been unreachable too long: anyone may serve the stripe.
    Orphaned,
    /// Someone else's stripe: only pieces that peers have held for `fallback_after`.
    Others,
}

/// [`PieceSources`] as seen from one peer connection at one moment.
pub(crate) struct SourceFilter<'a> {
    sources: &'a PieceSources,
    stripes: Vec<StripeRule>,
    peer_is_host: bool,
    now_ms: u64,
}

impl SourceFilter<'_> {
    /// Whether this connection's peer may be asked for `piece`.
    pub fn allows(&self, piece: usize) -> bool {
        if self.stripes.is_empty() {
            return true;
        }
        match self.stripes[piece % self.stripes.len()] {
            StripeRule::Parent | StripeRule::Orphaned => true,
            // The host feeds only the stripe roots: everyone asking it for late pieces is
            // exactly the load the stripes take off its link.
            StripeRule::Others => {
                !self.peer_is_host && self.sources.seen_long_enough(piece, self.now_ms)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 99, 0, 1], port))
    }

    #[test]
    fn without_stripes_every_peer_serves_every_piece() {
        let s = PieceSources::default();
        let f = s.filter_for(addr(1), true, |_| true);
        assert!((0..8).all(|p| f.allows(p)));
    }

    #[test]
    fn a_stripe_comes_from_its_parent_only() {
        let s = PieceSources::default();
        s.init_pieces(8);
        s.set_parents(&[Some(addr(1)), Some(addr(2))]);
        let f = s.filter_for(addr(1), false, |_| true);
        assert_eq!((0..8).filter(|&p| f.allows(p)).collect::<Vec<_>>(), [0, 2, 4, 6]);
        let f = s.filter_for(addr(3), false, |_| true);
        assert!((0..8).all(|p| !f.allows(p)));
    }

    #[test]
    fn a_piece_held_elsewhere_long_enough_may_come_from_anyone_but_the_host() {
        let s = PieceSources::new(Duration::from_millis(50));
        s.init_pieces(4);
        s.set_parents(&[Some(addr(1)), Some(addr(2))]);
        s.saw(3);
        std::thread::sleep(Duration::from_millis(60));
        s.saw(1);
        let other = s.filter_for(addr(3), false, |_| true);
        assert!(other.allows(3), "held for longer than the fallback");
        assert!(!other.allows(1), "held only just now");
        assert!(!other.allows(0), "held by nobody");
        let host = s.filter_for(addr(4), true, |_| true);
        assert!(!host.allows(3), "the host only serves its own stripes");
    }

    #[test]
    fn the_host_serves_the_stripes_it_roots_from_any_initial_peer() {
        let s = PieceSources::default();
        s.init_pieces(4);
        s.set_parents(&[None, Some(addr(2))]);
        for host in [addr(7), addr(8)] {
            let f = s.filter_for(host, true, |_| true);
            assert_eq!((0..4).filter(|&p| f.allows(p)).collect::<Vec<_>>(), [0, 2]);
        }
        let f = s.filter_for(addr(9), false, |_| true);
        assert!((0..4).all(|p| !f.allows(p)), "a node is not the host");
    }

    #[test]
    fn an_unreachable_parent_hands_its_stripe_to_anyone_after_the_fallback() {
        let s = PieceSources::new(Duration::from_millis(50));
        s.init_pieces(4);
        s.set_parents(&[Some(addr(1)), Some(addr(2))]);
        let all_but_2 = |a: SocketAddr| a != addr(2);
        assert!(!s.filter_for(addr(9), true, all_but_2).allows(1), "too early");
        std::thread::sleep(Duration::from_millis(60));
        let f = s.filter_for(addr(9), true, all_but_2);
        assert!(f.allows(1) && f.allows(3), "stripe 1's parent is gone");
        assert!(!f.allows(0), "stripe 0's parent is live");
        // A new parent starts a new grace period; an unchanged one keeps its age.
        s.set_parents(&[Some(addr(1)), Some(addr(5))]);
        let all_but_5 = |a: SocketAddr| a != addr(5);
        assert!(!s.filter_for(addr(9), true, all_but_5).allows(1));
        s.set_parents(&[Some(addr(1)), Some(addr(5))]);
        std::thread::sleep(Duration::from_millis(60));
        assert!(s.filter_for(addr(9), true, all_but_5).allows(1));
    }
}
