//! The host's upload side: a small upload-only BitTorrent peer that super-seeds the images the
//! `TorrentSeeder`'s librqbit session has verified. librqbit (9.1) has no rarest-first and no
//! super-seeding, so a librqbit host is asked by every node for the same pieces; this peer
//! advertises each node only the pieces the swarm holds least (see `offers`), so the host's
//! link carries about one copy of the image and the nodes trade the rest. In a striped swarm
//! (`HostOffers::Everything`) it offers every piece to everyone: the nodes' own rules keep
//! them asking it only for the stripes it roots.

pub mod offers;
pub mod wire;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use librqbit::Session;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::seeder::HostOffers;
use offers::{OfferBook, PeerKey};
use wire::Message;

/// Least bytes of open offers per node. An offer is the node's alone until delivered, and
/// the host's one connection gets only its share of a node's download link, which the node's
/// peers fill too; so a node holding many offers takes long to receive the last of them
/// (with 192 KiB, 12 pieces, the last pieces only the host had sat at one node for 10 s).
/// A few pieces per node, spread over `offers::MAX_FED` nodes, keep the host's link busy.
pub const MIN_OFFER_BYTES: u64 = 64 * 1024;

/// Most bytes of open offers per node (when few nodes share the host).
pub const MAX_OFFER_BYTES: u64 = 64 * 1024;

/// Largest block a node may request (librqbit asks for 16 KiB).
const MAX_BLOCK: u32 = 128 * 1024;

/// Sent when a connection has been quiet this long (librqbit drops silent peers after 10 s).
const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(4);

/// How often open offers are re-checked for expiry.
const OFFER_TICK: Duration = Duration::from_millis(200);

/// One image being served.
struct ServedImage {
    file: std::fs::File,
    piece_length: u64,
    total: u64,
    book: Mutex<OfferBook>,
    uploaded: AtomicU64,
    peers: AtomicU32,
    rate: Mutex<RateWindow>,
}

struct RateWindow {
    at: Instant,
    bytes_at: u64,
    rate: u64,
}

impl ServedImage {
    fn piece_len(&self, index: u32) -> u64 {
        let start = u64::from(index) * self.piece_length;
        self.piece_length.min(self.total.saturating_sub(start))
    }
}

/// Spaces writes so the whole upload stays under a byte rate.
struct Pacer {
    bytes_per_sec: f64,
    next: Mutex<Instant>,
}

impl Pacer {
    async fn wait(&self, bytes: usize) {
        let start = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let start = (*next).max(now);
            *next = start + Duration::from_secs_f64(bytes as f64 / self.bytes_per_sec);
            start
        };
        tokio::time::sleep_until(start.into()).await;
    }
}

/// Upload statistics of one image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadStats {
    pub uploaded_bytes: u64,
    pub peers: u32,
    /// Bytes per second over the last second or so.
    pub upload_rate: u64,
}

struct Shared {
    session: Arc<Session>,
    peer_id: [u8; 20],
    images: Mutex<HashMap<[u8; 20], Arc<ServedImage>>>,
    pacer: Option<Pacer>,
    /// Read when a connection starts.
    offers: Mutex<HostOffers>,
}

impl Shared {
    /// The image for `info_hash` if the session holds it verified; opened on first use.
    fn image(&self, info_hash: &[u8; 20]) -> Option<Arc<ServedImage>> {
        let handle = self
            .session
            .get(librqbit::dht::Id20::new(*info_hash).into())?;
        let stats = handle.stats();
        if !stats.finished || stats.error.is_some() || stats.progress_bytes != stats.total_bytes {
            return None;
        }
        let mut images = self.images.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(img) = images.get(info_hash) {
            return Some(img.clone());
        }
        let (path, lengths) = handle
            .with_metadata(|m| {
                (
                    m.file_infos
                        .first()
                        .map(|f| handle.output_folder().join(&f.relative_filename)),
                    *m.lengths(),
                )
            })
            .ok()?;
        let file = std::fs::File::open(path?).ok()?;
        let piece_length = u64::from(lengths.default_piece_length());
        let min = (MIN_OFFER_BYTES.div_ceil(piece_length)).max(2);
        let limits = offers::OfferLimits {
            min: min as usize,
            max: (MAX_OFFER_BYTES / piece_length).max(min) as usize,
        };
        let img = Arc::new(ServedImage {
            file,
            piece_length,
            total: lengths.total_length(),
            book: Mutex::new(OfferBook::new(lengths.total_pieces(), limits)),
            uploaded: AtomicU64::new(0),
            peers: AtomicU32::new(0),
            rate: Mutex::new(RateWindow {
                at: Instant::now(),
                bytes_at: 0,
                rate: 0,
            }),
        });
        images.insert(*info_hash, img.clone());
        Some(img)
    }
}

/// The running upload side; stops (closing every connection) when dropped.
pub struct SuperSeeder {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: tokio::task::JoinHandle<()>,
}

impl SuperSeeder {
    /// Listens on `listen` and serves the verified images of `session`, at most
    /// `upload_limit` bytes per second in total if given.
    pub async fn start(
        listen: SocketAddr,
        session: Arc<Session>,
        upload_limit: Option<std::num::NonZeroU32>,
        offers: HostOffers,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let mut peer_id = *b"-LH0001-000000000000";
        rand::Rng::fill(&mut rand::rng(), &mut peer_id[8..]);
        let shared = Arc::new(Shared {
            session,
            peer_id,
            images: Mutex::new(HashMap::new()),
            pacer: upload_limit.map(|l| Pacer {
                bytes_per_sec: f64::from(l.get()),
                next: Mutex::new(Instant::now()),
            }),
            offers: Mutex::new(offers),
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(SuperSeeder {
            shared,
            addr,
            accept,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Changes what connections made from now on are offered.
    pub fn set_offers(&self, offers: HostOffers) {
        *self.shared.offers.lock().unwrap_or_else(|e| e.into_inner()) = offers;
    }

    /// Forgets an image after it was removed from the session: new connections for it are
    /// refused (open ones finish serving from the file they hold).
    pub fn forget(&self, info_hash: &[u8; 20]) {
        self.shared
            .images
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(info_hash);
    }

    pub fn stats(&self, info_hash: &[u8; 20]) -> UploadStats {
        let images = self.shared.images.lock().unwrap_or_else(|e| e.into_inner());
        let Some(img) = images.get(info_hash) else {
            return UploadStats::default();
        };
        let uploaded = img.uploaded.load(Ordering::Relaxed);
        let mut w = img.rate.lock().unwrap_or_else(|e| e.into_inner());
        let elapsed = w.at.elapsed();
        if elapsed >= Duration::from_secs(1) {
            w.rate = ((uploaded - w.bytes_at) as f64 / elapsed.as_secs_f64()) as u64;
            w.at = Instant::now();
            w.bytes_at = uploaded;
        }
        UploadStats {
            uploaded_bytes: uploaded,
            peers: img.peers.load(Ordering::Relaxed),
            upload_rate: w.rate,
        }
    }

    /// Stops listening and closes every connection.
    pub fn stop(&self) {
        self.accept.abort();
    }
}

impl Drop for SuperSeeder {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    // Connections live in this set: aborting the accept task drops it and ends them all.
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((sock, addr)) = accepted else { continue };
                let shared = shared.clone();
                conns.spawn(async move {
                    if let Err(e) = serve_node(sock, shared).await {
                        tracing::debug!(%addr, error = %e, "super-seed connection ended");
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// Leaves the offer book when a connection ends, however it ends.
struct Membership {
    image: Arc<ServedImage>,
    key: PeerKey,
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.image
            .book
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .leave(self.key);
        self.image.peers.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn serve_node(sock: TcpStream, shared: Arc<Shared>) -> anyhow::Result<()> {
    sock.set_nodelay(true)?;
    let (rd, mut wr) = sock.into_split();
    let mut rd = BufReader::new(rd);
    let info_hash =
        tokio::time::timeout(Duration::from_secs(10), wire::read_handshake(&mut rd)).await??;
    let Some(image) = shared.image(&info_hash) else {
        anyhow::bail!("asked for an image this host does not seed (yet)");
    };
    wr.write_all(&wire::handshake(&info_hash, &shared.peer_id))
        .await?;
    let key = image.book.lock().unwrap_or_else(|e| e.into_inner()).join();
    image.peers.fetch_add(1, Ordering::Relaxed);
    let member = Membership {
        image: image.clone(),
        key,
    };
    wr.write_all(&wire::UNCHOKE).await?;
    let offer_everything =
        *shared.offers.lock().unwrap_or_else(|e| e.into_inner()) == HostOffers::Everything;

    // Messages are read on their own task so that a slow write never stalls reading and a
    // timer never interrupts a half-read message.
    let (tx, mut rx) = tokio::sync::mpsc::channel(512);
    let reader_image = image.clone();
    let reader = tokio::spawn(async move {
        loop {
            let m = wire::read_message(&mut rd).await;
            if let Ok(Message::Request { index, .. }) = &m {
                // Marked on arrival, not when served: behind a slow write the request may wait
                // here for seconds, and its offer must not expire and go to a second node.
                reader_image
                    .book
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .requested(key, *index, Instant::now());
            }
            let end = m.is_err();
            if tx.send(m).await.is_err() || end {
                return;
            }
        }
    });
    let _reader = AbortOnDrop(reader);
    let mut tick = tokio::time::interval(OFFER_TICK);
    let mut last_write = Instant::now();
    // Bytes of each piece sent to this node so far.
    let mut sent: HashMap<u32, u64> = HashMap::new();
    let pieces = image
        .book
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .pieces();
    if offer_everything {
        wr.write_all(&wire::full_bitfield(pieces)).await?;
    }
    loop {
        let mut offer = false;
        tokio::select! {
            m = rx.recv() => match m {
                None => return Ok(()),
                Some(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(Message::Have(piece))) => {
                    let mut book = member.image.book.lock().unwrap_or_else(|e| e.into_inner());
                    book.peer_has(key, piece);
                    offer = true;
                }
                Some(Ok(Message::Bitfield(bits))) => {
                    anyhow::ensure!(
                        bits.len() == (pieces as usize).div_ceil(8),
                        "bitfield of {} bytes for {pieces} pieces", bits.len()
                    );
                    let mut book = member.image.book.lock().unwrap_or_else(|e| e.into_inner());
                    for piece in 0..pieces {
                        if bits[piece as usize / 8] & (0x80 >> (piece % 8)) != 0 {
                            book.peer_has(key, piece);
                        }
                    }
                    offer = true;
                }
                Some(Ok(Message::Request { index, begin, length })) => {
                    anyhow::ensure!(index < pieces, "request for piece {index} of {pieces}");
                    let plen = image.piece_len(index);
                    anyhow::ensure!(
                        length > 0 && length <= MAX_BLOCK
                            && u64::from(begin) + u64::from(length) <= plen,
                        "bad request {index}/{begin}/{length}"
                    );
                    let mut buf = vec![0u8; 13 + length as usize];
                    buf[..13].copy_from_slice(&wire::piece_header(index, begin, length));
                    image.file.read_exact_at(
                        &mut buf[13..],
                        u64::from(index) * image.piece_length + u64::from(begin),
                    )?;
                    if let Some(p) = &shared.pacer {
                        p.wait(buf.len()).await;
                    }
                    wr.write_all(&buf).await?;
                    last_write = Instant::now();
                    image.uploaded.fetch_add(u64::from(length), Ordering::Relaxed);
                    let done = sent.entry(index).or_insert(0);
                    *done += u64::from(length);
                    let mut book = image.book.lock().unwrap_or_else(|e| e.into_inner());
                    book.served(key, last_write);
                    if *done >= plen {
                        sent.remove(&index);
                        book.peer_has(key, index);
                        offer = true;
                    }
                }
                Some(Ok(Message::KeepAlive | Message::Ignored(_))) => {}
            },
            _ = tick.tick() => {
                offer = true;
                if last_write.elapsed() >= KEEP_ALIVE_EVERY {
                    wr.write_all(&wire::KEEP_ALIVE).await?;
                    last_write = Instant::now();
                }
            }
        }
        if offer && !offer_everything {
            let new = image
                .book
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .top_up(key, Instant::now());
            if !new.is_empty() {
                let mut msgs = Vec::with_capacity(new.len() * 9);
                for piece in new {
                    msgs.extend_from_slice(&wire::have(piece));
                }
                wr.write_all(&msgs).await?;
                last_write = Instant::now();
            }
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
