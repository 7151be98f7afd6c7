//! Which pieces the host advertises to which node (super-seeding, after BEP 16). librqbit
//! requests pieces in file order and takes any piece its peer has, so a host that claims the
//! whole image is asked for the same pieces by every node and spends its upload on copies
//! the swarm already holds. Instead the host offers each node a few pieces at a time (HAVE
//! messages), always the ones the swarm holds least, so what leaves the host is as distinct as
//! possible and the nodes trade the rest among themselves.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// When a node has asked the host for nothing (and been sent nothing) for this long although
/// it holds open offers, it got those pieces elsewhere (from peers; a node never tells a peer
/// that "has" a piece that it has it too): its unrequested offers stop counting and it gets
/// new ones. A node that is busy with the host keeps its offers, however old: it simply has
/// not reached them yet, and re-offering would make it fetch more from the host. The
/// advertisement itself cannot be taken back.
pub const IDLE_EXPIRY: Duration = Duration::from_millis(1000);

/// A node that has had nothing from the host for this long may be offered pieces the swarm
/// already holds (a few at a time), in case its peers cannot give them to it. Before that,
/// only pieces nobody holds or was offered are offered: a copy of a piece the swarm has would
/// take host upload away from the pieces only the host has. In a 64-node swarm most nodes
/// are not fed by the host at any moment (`MAX_FED`), and with 3 s they all asked it for
/// copies (64 nodes, side by side: 3 s 17.3-24.8 s and 1.55-2.26 host copies, 30 s
/// 14.5-16.9 s and 1.40). A node the host never served counts as starved at once and gets
/// a few copies when its turn to be fed comes: most of the remaining copies, and worth
/// them: counting its 30 s from its joining instead (no copies at all) took 32 nodes
/// 16.9-27.3 s against 14.5-17.2 s, three runs each.
pub const STARVED_AFTER: Duration = Duration::from_secs(30);

/// Open offers of already-held pieces for a starved node.
const STARVED_OFFERS: usize = 2;

/// Most nodes holding open offers at once. The host's link split among every node gives each
/// a trickle (1/64 of a few Mbit/s is one 16 KiB piece every couple of seconds) that TCP
/// shares unevenly; a few fed nodes get it quickly and pass it on, and the others are fed in
/// turn as those run out of offers.
pub const MAX_FED: usize = 8;

/// A node connected to the host.
pub type PeerKey = u64;

struct Offer {
    at: Instant,
    requested: bool,
}

struct PeerOffers {
    has: Vec<bool>,
    /// Ever advertised to this node.
    offered: Vec<bool>,
    /// Advertised and not yet delivered (nor expired).
    open: HashMap<u32, Offer>,
    /// Last request from the node or piece sent to it.
    last_active: Option<Instant>,
}

/// The host's view of one image's swarm.
pub struct OfferBook {
    /// Connected nodes known to hold each piece.
    holders: Vec<u32>,
    /// Open offers of each piece.
    pending: Vec<u32>,
    peers: HashMap<PeerKey, PeerOffers>,
    next_key: PeerKey,
    limits: OfferLimits,
}

/// How many offers each node keeps open: about half the image split among the connected
/// nodes (so offers rarely overlap), within `min..=max`.
#[derive(Debug, Clone, Copy)]
pub struct OfferLimits {
    pub min: usize,
    pub max: usize,
}

impl OfferLimits {
    fn per_peer(&self, pieces: usize, peers: usize) -> usize {
        (pieces / (2 * peers.max(1))).clamp(self.min.max(1), self.max.max(self.min).max(1))
    }
}

impl OfferBook {
    /// A book for `pieces` pieces.
    pub fn new(pieces: u32, limits: OfferLimits) -> Self {
        OfferBook {
            holders: vec![0; pieces as usize],
            pending: vec![0; pieces as usize],
            peers: HashMap::new(),
            next_key: 0,
            limits,
        }
    }

    pub fn pieces(&self) -> u32 {
        self.holders.len() as u32
    }

    pub fn join(&mut self) -> PeerKey {
        let key = self.next_key;
        self.next_key += 1;
        let n = self.holders.len();
        self.peers.insert(
            key,
            PeerOffers {
                has: vec![false; n],
                offered: vec![false; n],
                open: HashMap::new(),
                last_active: None,
            },
        );
        key
    }

    pub fn leave(&mut self, key: PeerKey) {
        let Some(p) = self.peers.remove(&key) else {
            return;
        };
        for (i, has) in p.has.iter().enumerate() {
            if *has {
                self.holders[i] -= 1;
            }
        }
        for piece in p.open.keys() {
            self.pending[*piece as usize] -= 1;
        }
    }

    /// The node holds `piece` (a HAVE, its bitfield, or the host delivered it).
    pub fn peer_has(&mut self, key: PeerKey, piece: u32) {
        let Some(p) = self.peers.get_mut(&key) else {
            return;
        };
        let i = piece as usize;
        if i >= p.has.len() || p.has[i] {
            return;
        }
        p.has[i] = true;
        self.holders[i] += 1;
        if p.open.remove(&piece).is_some() {
            self.pending[i] -= 1;
        }
    }

    /// The node asked the host for `piece`: its offer is in use and does not expire.
    pub fn requested(&mut self, key: PeerKey, piece: u32, now: Instant) {
        if let Some(p) = self.peers.get_mut(&key) {
            p.last_active = Some(now);
            if let Some(o) = p.open.get_mut(&piece) {
                o.requested = true;
            }
        }
    }

    /// The host sent the node data (the node is busy with the host).
    pub fn served(&mut self, key: PeerKey, now: Instant) {
        if let Some(p) = self.peers.get_mut(&key) {
            p.last_active = Some(now);
        }
    }

    /// Whether the node holds every piece.
    pub fn is_complete(&self, key: PeerKey) -> bool {
        self.peers
            .get(&key)
            .is_some_and(|p| p.has.iter().all(|h| *h))
    }

    /// Expires stale offers and opens new ones up to the per-node count; returns the pieces to
    /// advertise now. Each new offer is the piece the swarm holds least (holders plus open
    /// offers) among those the node neither has nor was offered; ties are broken from a random
    /// start so nodes get different pieces.
    pub fn top_up(&mut self, key: PeerKey, now: Instant) -> Vec<u32> {
        let Some(p) = self.peers.get_mut(&key) else {
            return Vec::new();
        };
        let pending = &mut self.pending;
        let idle = p
            .last_active
            .is_none_or(|t| now.saturating_duration_since(t) >= IDLE_EXPIRY);
        p.open.retain(|piece, o| {
            let keep = o.requested || !idle || now.saturating_duration_since(o.at) < IDLE_EXPIRY;
            if !keep {
                pending[*piece as usize] -= 1;
            }
            keep
        });
        let n = self.holders.len();
        let mut out = Vec::new();
        if n == 0 {
            return out;
        }
        let fed = self.peers.values().filter(|q| !q.open.is_empty()).count();
        let per_peer = self.limits.per_peer(n, self.peers.len().min(MAX_FED));
        let Some(p) = self.peers.get_mut(&key) else {
            return out;
        };
        if p.open.is_empty() && fed >= MAX_FED {
            return out;
        }
        let starved = p
            .last_active
            .is_none_or(|t| now.saturating_duration_since(t) >= STARVED_AFTER);
        let start = rand::random_range(0..n);
        while p.open.len() < per_peer {
            let mut best: Option<(u32, usize)> = None;
            for k in 0..n {
                let i = (start + k) % n;
                if p.has[i] || p.offered[i] {
                    continue;
                }
                let score = self.holders[i] + self.pending[i];
                if score > 0 && (!starved || p.open.len() >= STARVED_OFFERS) {
                    continue;
                }
                if best.is_none_or(|(s, _)| score < s) {
                    best = Some((score, i));
                    if score == 0 {
                        break;
                    }
                }
            }
            let Some((_, i)) = best else {
                break;
            };
            p.offered[i] = true;
            self.pending[i] += 1;
            p.open.insert(
                i as u32,
                Offer {
                    at: now,
                    requested: false,
                },
            );
            out.push(i as u32);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(n: usize) -> OfferLimits {
        OfferLimits { min: n, max: n }
    }

    #[test]
    fn offers_per_node_shrink_as_nodes_join() {
        let limits = OfferLimits { min: 4, max: 64 };
        assert_eq!(limits.per_peer(1024, 1), 64);
        assert_eq!(limits.per_peer(1024, 16), 32);
        assert_eq!(limits.per_peer(1024, 64), 8);
        assert_eq!(limits.per_peer(1024, 500), 4);
        let mut book = OfferBook::new(1024, limits);
        let a = book.join();
        assert_eq!(book.top_up(a, Instant::now()).len(), 64);
    }

    #[test]
    fn nodes_are_offered_distinct_pieces_first() {
        let mut book = OfferBook::new(64, fixed(8));
        let now = Instant::now();
        let mut all = Vec::new();
        for _ in 0..8 {
            let k = book.join();
            let got = book.top_up(k, now);
            assert_eq!(got.len(), 8);
            all.extend(got);
        }
        all.sort_unstable();
        all.dedup();
        assert_eq!(
            all.len(),
            64,
            "8 nodes x 8 offers must cover 64 pieces once"
        );
    }

    #[test]
    fn delivered_offers_are_replaced_by_the_rarest_pieces() {
        let mut book = OfferBook::new(4, fixed(1));
        let now = Instant::now();
        let a = book.join();
        let b = book.join();
        for piece in 0..3 {
            book.peer_has(b, piece);
        }
        // a lacks everything; piece 3 is the only one nobody holds.
        assert_eq!(book.top_up(a, now), vec![3]);
        // Still open: nothing new.
        assert!(book.top_up(a, now).is_empty());
        book.peer_has(a, 3);
        let next = book.top_up(a, now);
        assert_eq!(next.len(), 1);
        assert!(next[0] < 3);
        assert!(!book.is_complete(a));
    }

    #[test]
    fn an_idle_nodes_unrequested_offers_expire_and_requested_ones_stay() {
        let mut book = OfferBook::new(10, fixed(2));
        let t0 = Instant::now();
        let a = book.join();
        let first = book.top_up(a, t0);
        assert_eq!(first.len(), 2);
        book.requested(a, first[0], t0);
        // Busy with the host: old offers stay.
        let busy = t0 + IDLE_EXPIRY * 3;
        book.served(a, busy - Duration::from_millis(10));
        assert!(book.top_up(a, busy).is_empty());
        // Idle: the unrequested one expires, the requested one stays.
        let idle = busy + IDLE_EXPIRY;
        let more = book.top_up(a, idle);
        assert_eq!(more.len(), 1, "only the unrequested offer expired");
        assert!(!first.contains(&more[0]), "an offer is never repeated");
    }

    #[test]
    fn a_leaving_node_no_longer_counts_as_a_holder() {
        let mut book = OfferBook::new(2, fixed(1));
        let now = Instant::now();
        let a = book.join();
        let b = book.join();
        book.peer_has(a, 0);
        book.leave(a);
        // With a gone, piece 0 is as rare as piece 1 again: both are candidates.
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            let c = book.join();
            seen.extend(book.top_up(c, now));
            book.leave(c);
        }
        assert_eq!(seen.len(), 2);
        book.leave(b);
        assert_eq!(book.pending.iter().sum::<u32>(), 0);
        assert_eq!(book.holders.iter().sum::<u32>(), 0);
    }

    #[test]
    fn a_busy_node_is_offered_only_pieces_nobody_holds() {
        let mut book = OfferBook::new(4, fixed(4));
        let t0 = Instant::now();
        let a = book.join();
        let b = book.join();
        book.peer_has(b, 0);
        book.peer_has(b, 1);
        book.served(a, t0);
        let mut got = book.top_up(a, t0);
        got.sort_unstable();
        assert_eq!(got, vec![2, 3], "held pieces are left to the peers");
        book.peer_has(a, 2);
        book.peer_has(a, 3);
        assert!(book.top_up(a, t0 + Duration::from_secs(1)).is_empty());
        // Starved: a few held pieces after all.
        assert_eq!(book.top_up(a, t0 + STARVED_AFTER).len(), STARVED_OFFERS);
    }

    #[test]
    fn only_a_few_nodes_are_fed_at_once() {
        let mut book = OfferBook::new(4096, fixed(4));
        let now = Instant::now();
        let keys: Vec<_> = (0..MAX_FED + 3).map(|_| book.join()).collect();
        let fed: Vec<usize> = keys.iter().map(|k| book.top_up(*k, now).len()).collect();
        assert_eq!(fed.iter().filter(|n| **n > 0).count(), MAX_FED);
        // A fed node that got its pieces makes room for the next.
        for piece in book.top_up(keys[0], now) {
            book.peer_has(keys[0], piece);
        }
        let opened: Vec<u32> = book.peers[&keys[0]].open.keys().copied().collect();
        for piece in opened {
            book.peer_has(keys[0], piece);
        }
        assert!(!book.top_up(keys[MAX_FED], now).is_empty());
    }

    #[test]
    fn a_complete_node_gets_no_offers() {
        let mut book = OfferBook::new(3, fixed(4));
        let a = book.join();
        for piece in 0..3 {
            book.peer_has(a, piece);
        }
        assert!(book.is_complete(a));
        assert!(book.top_up(a, Instant::now()).is_empty());
    }
}
