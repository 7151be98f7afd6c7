//! The BitTorrent tracker the nodes announce to: BEP 3 announce and scrape, compact replies
//! (BEP 23) with IPv6 peers (BEP 7). It only tracks torrents the host registered (packed
//! images); everything else gets a bencoded failure.

mod http;
pub mod request;
pub mod response;
pub mod stripes;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::seq::IndexedRandom;

use crate::info_hash::InfoHash;
pub use request::{AnnounceEvent, AnnounceRequest, RequestError};
pub use response::{ReplyPeer, SwarmCounts};
pub use stripes::{StripeParent, StripeTrees};

/// Stripes a swarm is split into unless the host says otherwise ([`Tracker::set_stripes`]).
/// Each node then has four parents and forwards one stripe to at most four children: few
/// connections (two cores emulate 64 nodes in the benchmark) and trees of depth 4 at 64
/// nodes, 5 at 300.
pub const DEFAULT_STRIPES: usize = 4;

/// A node's place in the striped trees ([`Tracker::stripe_role`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StripeRole {
    /// Stripes of the swarm; 0 means no stripes (every peer serves every piece).
    pub stripes: usize,
    /// The parent of each stripe; `None` is the host seeder.
    pub parents: Vec<Option<SocketAddr>>,
}

impl StripeRole {
    /// The role in a swarm without stripes: every peer serves every piece.
    pub fn mesh() -> Self {
        StripeRole {
            stripes: 0,
            parents: Vec::new(),
        }
    }
    /// A short fingerprint of the role, which a node sends back (`known=`) to wait for a
    /// change instead of polling.
    pub fn digest(&self) -> String {
        use sha2::Digest;
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(&sha2::Sha256::digest(&json)[..8])
    }
}

/// Announce timing and reply size; the cluster settings drive these and may change at runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackerSettings {
    /// How often clients should re-announce. Peers not seen for twice this long are dropped.
    pub interval: Duration,
    /// Clients must not announce more often than this.
    pub min_interval: Duration,
    /// Upper bound on the peers in one reply (a client's `numwant` is capped by it).
    pub max_peers: usize,
}

impl Default for TrackerSettings {
    fn default() -> Self {
        // Installs are short: a short interval lets new nodes find each other quickly.
        TrackerSettings {
            interval: Duration::from_secs(30),
            min_interval: Duration::from_secs(10),
            max_peers: 50,
        }
    }
}

/// Peers of one torrent, for `luna osimage show`. The host seeder is not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerCounts {
    /// Live peers still downloading.
    pub downloading: usize,
    /// Live peers that have the whole image (installing nodes that keep seeding).
    pub seeding: usize,
    /// Nodes handed an install plan for the image that have not joined its swarm yet
    /// ([`Tracker::expect_node`]).
    pub starting: usize,
}

struct Peer {
    peer_id: [u8; 20],
    left: u64,
    last_seen: Instant,
    /// Join order in the swarm: the stripe trees number nodes by it.
    joined: u64,
}

#[derive(Default)]
struct Swarm {
    host_seeders: Vec<SocketAddr>,
    peers: HashMap<SocketAddr, Peer>,
    completed: u64,
    joins: u64,
    /// Nodes about to join (the host handed them an install plan), by address, with when
    /// they were announced: the trees are laid out for them from the start, so that a node
    /// keeps its parents while the rest of the cluster joins.
    pending: HashMap<IpAddr, Instant>,
    /// The members in join order, built when a role is asked after the membership changed:
    /// every change wakes every node's long poll, and each asks for its role.
    order: Option<JoinOrder>,
    /// When peers were last checked for expiry.
    expired_at: Option<Instant>,
}

/// A swarm's members (host seeders excluded) numbered by join order, as the trees number them.
struct JoinOrder {
    members: Vec<SocketAddr>,
    index: HashMap<SocketAddr, usize>,
}

impl JoinOrder {
    fn of(peers: &HashMap<SocketAddr, Peer>, host_seeders: &[SocketAddr]) -> Self {
        let mut joined: Vec<(u64, SocketAddr)> = peers
            .iter()
            .filter(|(a, _)| !host_seeders.contains(a))
            .map(|(a, p)| (p.joined, *a))
            .collect();
        joined.sort_unstable();
        let members: Vec<SocketAddr> = joined.into_iter().map(|(_, a)| a).collect();
        let index = members.iter().enumerate().map(|(i, a)| (*a, i)).collect();
        JoinOrder { members, index }
    }
}

/// How long a node the host expects ([`Tracker::expect_node`]) keeps a place in the trees
/// before joining: a node asks for its role seconds after fetching its plan (it only fetches
/// the .torrent in between), and one that never comes leaves a gap its would-be children
/// skip until then.
pub const PENDING_JOIN: Duration = Duration::from_secs(60);

impl Swarm {
    /// Drops peers not seen for `ttl` and expected nodes that did not join in time;
    /// returns whether any were. The check walks every peer, and a join wave asks for every
    /// node's role after each join, so it runs at most every `ttl / 16`: a peer may outlive its
    /// time by that much.
    fn expire(&mut self, now: Instant, ttl: Duration) -> bool {
        if self
            .expired_at
            .is_some_and(|at| now.saturating_duration_since(at) < ttl / 16)
        {
            return false;
        }
        self.expired_at = Some(now);
        let before = (self.peers.len(), self.pending.len());
        self.peers
            .retain(|_, p| now.duration_since(p.last_seen) <= ttl);
        self.pending
            .retain(|_, at| now.duration_since(*at) <= PENDING_JOIN);
        if self.peers.len() != before.0 {
            self.order = None;
        }
        (self.peers.len(), self.pending.len()) != before
    }

    /// Removes a peer (it stopped); returns whether it was there.
    fn remove(&mut self, addr: &SocketAddr) -> bool {
        let removed = self.peers.remove(addr).is_some();
        if removed {
            self.order = None;
        }
        removed
    }

    /// Records that `addr` is in the swarm, keeping its join order if it already was;
    /// returns whether it joined just now.
    fn upsert(&mut self, addr: SocketAddr, peer_id: [u8; 20], left: u64, now: Instant) -> bool {
        let (joined, new) = match self.peers.get(&addr) {
            Some(p) => (p.joined, false),
            None => {
                self.joins += 1;
                self.pending.remove(&addr.ip());
                self.order = None;
                (self.joins, true)
            }
        };
        self.peers.insert(
            addr,
            Peer {
                peer_id,
                left,
                last_seen: now,
                joined,
            },
        );
        new
    }

    /// `addr`'s parent in each of `stripes` stripe trees over the live peers (`None`: the
    /// host); no parents when it is not a member.
    fn stripe_role(&mut self, addr: SocketAddr, stripes: usize) -> StripeRole {
        let (peers, seeders) = (&self.peers, &self.host_seeders);
        let order = self
            .order
            .get_or_insert_with(|| JoinOrder::of(peers, seeders));
        let members = &order.members;
        let Some(&me) = order.index.get(&addr) else {
            return StripeRole {
                stripes,
                parents: Vec::new(),
            };
        };
        let trees = StripeTrees::new(members.len() + self.pending.len(), stripes);
        let parents = (0..trees.stripes)
            .map(|j| trees.parent_among(me, j, members.len()))
            .map(|p| match p {
                StripeParent::Host => None,
                StripeParent::Node(i) => Some(members[i]),
            })
            .collect();
        StripeRole { stripes, parents }
    }

    fn counts(&self) -> SwarmCounts {
        let seeders = self.peers.values().filter(|p| p.left == 0).count() as u64;
        SwarmCounts {
            complete: seeders + self.host_seeders.len() as u64,
            incomplete: self.peers.len() as u64 - seeders,
            downloaded: self.completed,
        }
    }
}

struct State {
    settings: TrackerSettings,
    /// Stripes of every swarm; 0: a mesh (random peers, every piece from anyone).
    stripes: usize,
    swarms: HashMap<InfoHash, Swarm>,
}

/// A cheap-to-clone handle on the tracker's state; serve it with [`Tracker::router`].
#[derive(Clone)]
pub struct Tracker {
    state: Arc<Mutex<State>>,
    /// Bumped whenever a swarm's membership or layout changes, which may change any node's
    /// stripe role: long-polling `/stripes` requests wait on it.
    layout: Arc<tokio::sync::watch::Sender<u64>>,
}

/// Longest a `/stripes` long poll is held before the unchanged role is sent back.
pub const MAX_STRIPES_WAIT: Duration = Duration::from_secs(60);

/// Why an announce got no peers: the text of the bencoded `failure reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnnounceError {
    #[error(transparent)]
    Malformed(#[from] RequestError),
    #[error("unknown info_hash {0}: this tracker only serves images packed on this host")]
    UnknownTorrent(InfoHash),
    #[error("cannot tell the peer's address: no connection info and no `ip` parameter")]
    NoAddress,
}

fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

impl Tracker {
    pub fn new(settings: TrackerSettings) -> Self {
        Tracker {
            state: Arc::new(Mutex::new(State {
                settings,
                stripes: DEFAULT_STRIPES,
                swarms: HashMap::new(),
            })),
            layout: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }

    /// Wakes the `/stripes` long polls: some node's role may have changed.
    fn layout_changed(&self) {
        self.layout.send_modify(|g| *g = g.wrapping_add(1));
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters to a tracker, so keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn settings(&self) -> TrackerSettings {
        self.lock().settings
    }

    /// Changes interval, min interval and max peers; applies to the next announce.
    pub fn set_settings(&self, settings: TrackerSettings) {
        self.lock().settings = settings;
    }

    /// Stripes new replies arrange the swarms in (0: a mesh of random peers).
    pub fn set_stripes(&self, stripes: usize) {
        self.lock().stripes = stripes;
        self.layout_changed();
    }

    pub fn stripes(&self) -> usize {
        self.lock().stripes
    }

    /// The node at `addr`'s parents in its swarm's stripe trees, joining it to the swarm if
    /// it has not announced yet (a node asks before its first announce, so that it never
    /// asks the wrong peers for anything).
    pub fn stripe_role(
        &self,
        info_hash: &InfoHash,
        addr: SocketAddr,
    ) -> Result<StripeRole, AnnounceError> {
        let addr = SocketAddr::new(normalize(addr.ip()), addr.port());
        let now = Instant::now();
        let mut st = self.lock();
        let (ttl, stripes) = (st.settings.interval * 2, st.stripes);
        let swarm = st
            .swarms
            .get_mut(info_hash)
            .ok_or(AnnounceError::UnknownTorrent(*info_hash))?;
        let mut changed = swarm.expire(now, ttl);
        let role = if stripes == 0 {
            StripeRole::mesh()
        } else {
            match swarm.peers.get_mut(&addr) {
                Some(p) => p.last_seen = now,
                // How much it lacks is unknown until it announces: count it as downloading.
                None => changed |= swarm.upsert(addr, [0; 20], u64::MAX, now),
            }
            swarm.stripe_role(addr, stripes)
        };
        drop(st);
        if changed {
            self.layout_changed();
        }
        Ok(role)
    }

    /// [`Tracker::stripe_role`] as a long poll: answers at once when the role differs from
    /// `known` (the digest of the role the node has, [`StripeRole::digest`]), else when it
    /// changes, or after `wait` (at most [`MAX_STRIPES_WAIT`]) with the unchanged role. A
    /// node thus learns of a new parent the moment the swarm changes, and the host's link,
    /// which every piece crosses first, carries no replies that say nothing new.
    pub async fn stripe_role_change(
        &self,
        info_hash: &InfoHash,
        addr: SocketAddr,
        known: Option<&str>,
        wait: Duration,
    ) -> Result<StripeRole, AnnounceError> {
        let deadline = tokio::time::Instant::now() + wait.min(MAX_STRIPES_WAIT);
        // Subscribed before the role is read, so a change in between is not missed.
        let mut layout = self.layout.subscribe();
        loop {
            let role = self.stripe_role(info_hash, addr)?;
            if known != Some(role.digest().as_str()) {
                return Ok(role);
            }
            match tokio::time::timeout_at(deadline, layout.changed()).await {
                Ok(Ok(())) => continue,
                // The wait is over (or the tracker is going away): the role as it is.
                _ => return Ok(role),
            }
        }
    }

    /// Starts tracking a packed image. `host_seeders` are the host seeder's addresses as nodes
    /// reach them; they are in every reply. Calling it again updates the seeders and keeps peers.
    pub fn add_torrent(&self, info_hash: InfoHash, host_seeders: Vec<SocketAddr>) {
        let mut st = self.lock();
        let swarm = st.swarms.entry(info_hash).or_default();
        // The daemon calls this on every sync; only a change wakes the long polls.
        let changed = swarm.host_seeders != host_seeders;
        swarm.host_seeders = host_seeders;
        if changed {
            swarm.order = None;
        }
        drop(st);
        if changed {
            self.layout_changed();
        }
    }

    /// Tells the tracker that the node at `ip` is about to download an image (the host just
    /// handed it an install plan), so that the stripe trees are laid out for the whole
    /// install wave at once instead of being reshaped at every join. The place is kept for
    /// [`PENDING_JOIN`]. Returns false for an image that is not tracked.
    pub fn expect_node(&self, info_hash: &InfoHash, ip: IpAddr) -> bool {
        let ip = normalize(ip);
        let now = Instant::now();
        let mut st = self.lock();
        let ttl = st.settings.interval * 2;
        let Some(swarm) = st.swarms.get_mut(info_hash) else {
            return false;
        };
        swarm.expire(now, ttl);
        let member = swarm.peers.keys().any(|a| a.ip() == ip);
        let new = !member && swarm.pending.insert(ip, now).is_none();
        drop(st);
        if new {
            self.layout_changed();
        }
        true
    }

    /// Stops tracking an image (deleted or re-packed); returns whether it was tracked.
    pub fn remove_torrent(&self, info_hash: &InfoHash) -> bool {
        let removed = self.lock().swarms.remove(info_hash).is_some();
        self.layout_changed();
        removed
    }

    /// The info-hashes being tracked.
    pub fn torrents(&self) -> Vec<InfoHash> {
        self.lock().swarms.keys().copied().collect()
    }

    /// Live peers of one image (host seeder excluded); `None` for an unknown info-hash.
    pub fn peer_counts(&self, info_hash: &InfoHash) -> Option<PeerCounts> {
        let mut st = self.lock();
        let ttl = st.settings.interval * 2;
        let swarm = st.swarms.get_mut(info_hash)?;
        let expired = swarm.expire(Instant::now(), ttl);
        let seeding = swarm.peers.values().filter(|p| p.left == 0).count();
        let counts = PeerCounts {
            downloading: swarm.peers.len() - seeding,
            seeding,
            starting: swarm.pending.len(),
        };
        drop(st);
        if expired {
            self.layout_changed();
        }
        Some(counts)
    }

    /// Handles one announce. `remote` is the connection's address; the `ip` parameter is only
    /// used when it is unknown. Returns the bencoded reply body (success or failure).
    pub fn announce_query(&self, query: &str, remote: Option<IpAddr>) -> Vec<u8> {
        match request::parse_announce(query)
            .map_err(AnnounceError::from)
            .and_then(|req| self.announce(&req, remote))
        {
            Ok(body) => body,
            Err(e) => response::failure(&e.to_string()),
        }
    }

    /// Records an announce and builds the reply.
    pub fn announce(
        &self,
        req: &AnnounceRequest,
        remote: Option<IpAddr>,
    ) -> Result<Vec<u8>, AnnounceError> {
        let ip = remote
            .or(req.ip)
            .map(normalize)
            .ok_or(AnnounceError::NoAddress)?;
        let addr = SocketAddr::new(ip, req.port);
        let now = Instant::now();
        let mut st = self.lock();
        let (settings, stripes) = (st.settings, st.stripes);
        let swarm = st
            .swarms
            .get_mut(&req.info_hash)
            .ok_or(AnnounceError::UnknownTorrent(req.info_hash))?;
        let mut changed = swarm.expire(now, settings.interval * 2);
        let mut reply_peers = Vec::new();
        if req.event == AnnounceEvent::Stopped {
            changed |= swarm.remove(&addr);
        } else {
            let was_leeching = swarm.peers.get(&addr).is_some_and(|p| p.left > 0);
            if req.event == AnnounceEvent::Completed || (was_leeching && req.left == 0) {
                swarm.completed += 1;
            }
            changed |= swarm.upsert(addr, req.peer_id, req.left, now);
            let numwant = req
                .numwant
                .unwrap_or(settings.max_peers)
                .min(settings.max_peers);
            reply_peers.extend(swarm.host_seeders.iter().filter(|s| **s != addr).map(|s| {
                ReplyPeer {
                    addr: *s,
                    peer_id: None,
                }
            }));
            if stripes > 0 {
                // Striped: a node talks to its parents (and its children, who connect to it);
                // random peers would only add connections that carry nothing.
                let mut parents: Vec<SocketAddr> = swarm
                    .stripe_role(addr, stripes)
                    .parents
                    .into_iter()
                    .flatten()
                    .collect();
                parents.sort_unstable();
                parents.dedup();
                reply_peers.extend(parents.into_iter().map(|a| {
                    ReplyPeer {
                        addr: a,
                        // Unknown until the node's first announce (it asked for its stripes first).
                        peer_id: swarm
                            .peers
                            .get(&a)
                            .map(|p| p.peer_id)
                            .filter(|id| *id != [0; 20]),
                    }
                }));
            } else {
                let others: Vec<(&SocketAddr, &Peer)> = swarm
                    .peers
                    .iter()
                    .filter(|(a, _)| **a != addr && !swarm.host_seeders.contains(a))
                    .collect();
                let room = numwant.saturating_sub(reply_peers.len());
                reply_peers.extend(
                    others
                        .choose_multiple(&mut rand::rng(), room)
                        .map(|(a, p)| ReplyPeer {
                            addr: **a,
                            peer_id: Some(p.peer_id),
                        }),
                );
            }
        }
        let body = response::announce(
            settings.interval.as_secs(),
            settings.min_interval.as_secs(),
            swarm.counts(),
            &reply_peers,
            req.compact,
            req.no_peer_id,
        );
        drop(st);
        if changed {
            self.layout_changed();
        }
        Ok(body)
    }

    /// Handles a scrape; without `info_hash` parameters it reports every tracked image.
    pub fn scrape_query(&self, query: &str) -> Vec<u8> {
        let wanted = match request::parse_scrape(query) {
            Ok(w) => w,
            Err(e) => return response::failure(&e.to_string()),
        };
        let mut st = self.lock();
        let ttl = st.settings.interval * 2;
        let now = Instant::now();
        let hashes: Vec<InfoHash> = if wanted.is_empty() {
            st.swarms.keys().copied().collect()
        } else {
            wanted
        };
        let mut files = Vec::new();
        let mut expired = false;
        for h in hashes {
            if let Some(swarm) = st.swarms.get_mut(&h) {
                expired |= swarm.expire(now, ttl);
                files.push((h, swarm.counts()));
            }
        }
        drop(st);
        if expired {
            self.layout_changed();
        }
        response::scrape(&files)
    }
}

#[cfg(test)]
mod tests;
