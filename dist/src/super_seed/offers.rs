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

/// An offer of a piece nobody holds yet that has not been delivered after this long is
/// stuck: the node's download link is full of its peers' data, and the host's one connection
/// gets only its share of it. The piece may then be offered to another node too, so the last
/// pieces only the host has do not wait for the slowest link. The data may be sent twice.
pub const STUCK_AFTER: Duration = Duration::from_secs(10);

/// Open offers of already-held pieces per node, once every piece is held somewhere (the
/// host's link would idle otherwise; the copies help the rarest pieces reach the last
/// nodes). Before that, a copy would take host upload away from pieces only the host has:
/// with copies for any node not yet served, the host sent 1.4-1.5 copies of the image to 64
/// nodes, and the last pieces left it after twice S/B.
const COPY_OFFERS: usize = 2;

/// Most nodes holding open offers at once. The host's link split among every node gives each
/// a trickle (1/64 of a few Mbit/s is one 16 KiB piece every couple of seconds) that TCP
/// shares unevenly; a few fed nodes get it quickly and pass it on, and the others are fed in
/// turn as those run out of offers. Each fed node's connection gets only a share of that
/// node's link, so enough nodes are fed that their shares add up to the host's link.
pub const MAX_FED: usize = 16;

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
    /// When each piece was last offered.
    last_offered: Vec<Option<Instant>>,
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
            last_offered: vec![None; pieces as usize],
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
        // Its offers are void: the pieces may go to the next node at once (a node that
        // installed and left must not hold up the next wave for `STUCK_AFTER`).
        for (i, offered) in p.offered.iter().enumerate() {
            if *offered {
                self.last_offered[i] = None;
            }
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
        // Every piece held somewhere: the host may send copies.
        let all_held = self.holders.iter().all(|h| *h > 0);
        let start = rand::random_range(0..n);
        while p.open.len() < per_peer {
            let mut best: Option<(u32, usize)> = None;
            for k in 0..n {
                let i = (start + k) % n;
                if p.has[i] || p.offered[i] {
                    continue;
                }
                // An offer cannot be taken back: a node whose offer expired may still ask
                // for the piece, so it goes to a second node only once the first is stuck.
                let recent = self.last_offered[i]
                    .is_some_and(|t| now.saturating_duration_since(t) < STUCK_AFTER);
                let score = if self.holders[i] == 0 && !recent {
                    0
                } else {
                    // A piece offered recently counts as held by the node it went to.
                    self.holders[i].max(1) + self.pending[i]
                };
                if score > 0 && !(all_held && p.open.len() < COPY_OFFERS) {
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
            self.last_offered[i] = Some(now);
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
    fn copies_are_offered_only_once_every_piece_is_held() {
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
        assert!(
            book.top_up(a, t0).is_empty(),
            "piece 3 is on its way to a: no copy while it is the only holder-to-be"
        );
        book.peer_has(a, 3);
        // Every piece held: a gets a few copies of the pieces it lacks.
        let mut copies = book.top_up(a, t0 + Duration::from_millis(10));
        copies.sort_unstable();
        assert_eq!(copies, vec![0, 1]);
        assert_eq!(copies.len(), COPY_OFFERS);
    }

    #[test]
    fn an_unheld_piece_goes_to_one_node_until_its_offer_is_stuck() {
        let mut book = OfferBook::new(1, fixed(1));
        let t0 = Instant::now();
        let a = book.join();
        let b = book.join();
        assert_eq!(book.top_up(a, t0), vec![0]);
        // a's offer expires unrequested, but a may still ask for it: b gets nothing yet.
        let later = t0 + IDLE_EXPIRY * 2;
        assert!(book.top_up(a, later).is_empty());
        assert!(book.top_up(b, later).is_empty());
        // Stuck: b gets it too.
        assert_eq!(book.top_up(b, t0 + STUCK_AFTER), vec![0]);
        // A node that leaves voids its offers: the next node gets the piece at once.
        book.leave(a);
        book.leave(b);
        let c = book.join();
        assert_eq!(book.top_up(c, t0 + STUCK_AFTER), vec![0]);
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
