//! The swarm survives what real clusters do to it: a peer that serves corrupt pieces, a stripe
//! parent that dies, and the host restarting (tracker and seeder) in the middle of the
//! downloads.
//! Needs root and /bin/busybox (busybox-static).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use luna_dist::sample_image::{HOST_BUSYBOX, build_sample_image};
use luna_dist::{ImagePacker, InfoHash, PackOptions, PackedImage};
use rand::RngCore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A BitTorrent peer that claims every piece and answers every request with random bytes.
async fn corrupt_peer(
    info_hash: InfoHash,
    pieces: usize,
    served: Arc<AtomicU64>,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let served = served.clone();
            tokio::spawn(async move {
                let _ = serve_garbage(sock, info_hash, pieces, served).await;
            });
        }
    });
    (addr, task)
}

async fn serve_garbage(
    mut sock: TcpStream,
    info_hash: InfoHash,
    pieces: usize,
    served: Arc<AtomicU64>,
) -> std::io::Result<()> {
    let mut hs = [0u8; 68];
    sock.read_exact(&mut hs).await?;
    let mut reply = Vec::with_capacity(68);
    reply.push(19);
    reply.extend_from_slice(b"BitTorrent protocol");
    reply.extend_from_slice(&[0; 8]);
    reply.extend_from_slice(info_hash.as_bytes());
    reply.extend_from_slice(b"-XX0001-corruptpeer!");
    sock.write_all(&reply).await?;
    let mut bitfield = vec![0u8; pieces.div_ceil(8)];
    for i in 0..pieces {
        bitfield[i / 8] |= 0x80 >> (i % 8);
    }
    let mut msg = ((bitfield.len() + 1) as u32).to_be_bytes().to_vec();
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
        let mut body = vec![0u8; len];
        sock.read_exact(&mut body).await?;
        if body[0] == 6 && len == 13 {
            let index = &body[1..5];
            let begin = &body[5..9];
            let length = u32::from_be_bytes(body[9..13].try_into().unwrap()) as usize;
            let mut junk = vec![0u8; length];
            rand::rng().fill_bytes(&mut junk);
            let mut piece = ((9 + length) as u32).to_be_bytes().to_vec();
            piece.push(7);
            piece.extend_from_slice(index);
            piece.extend_from_slice(begin);
            piece.extend_from_slice(&junk);
            sock.write_all(&piece).await?;
            served.fetch_add(length as u64, Ordering::Relaxed);
        }
    }
}

async fn pack_sample(
    tmp: &Path,
    host: &HttpHost,
    filler: u64,
) -> (std::path::PathBuf, PackedImage) {
    let src = tmp.join("src");
    build_sample_image(&src, Path::new(HOST_BUSYBOX), filler).unwrap();
    let mut opts = PackOptions::new("sample", &src, &tmp.join("images"), &host.announce_url());
    opts.piece_length = Some(64 * 1024);
    let packed = ImagePacker::new(opts).pack(|_| {}).await.unwrap();
    (src, packed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_finish_correctly_despite_a_corrupt_peer() {
    let tmp = tempfile::tempdir().unwrap();
    let images = tmp.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    let host = HttpHost::start(
        "127.0.0.1:0".parse().unwrap(),
        &images,
        Arc::new(Mutex::new(Vec::new())),
    )
    .await;
    let (src, packed) = pack_sample(tmp.path(), &host, 6 << 20).await;
    let pieces = packed.size.div_ceil(u64::from(packed.piece_length)) as usize;
    let served = Arc::new(AtomicU64::new(0));
    let (evil, evil_task) = corrupt_peer(packed.info_hash, pieces, served.clone()).await;
    // The honest seeder is slow, so the corrupt peer gets asked for plenty of pieces.
    let seeder = seed_on(&host, &tmp.path().join("seeder"), &packed, Some(4 << 20)).await;
    // The corrupt peer poses as a second host seeder.
    host.tracker
        .add_torrent(packed.info_hash, vec![seeder.listen_addr(), evil]);

    let mut agents: Vec<Agent> = (0..2)
        .map(|i| {
            spawn_agent(
                &host,
                "sample.torrent",
                packed.info_hash,
                &[evil, seeder.listen_addr()],
                &tmp.path().join(format!("node{i}")),
            )
        })
        .collect();
    wait_all(&mut agents, Duration::from_secs(180)).await;
    assert!(
        served.load(Ordering::Relaxed) > 0,
        "the corrupt peer was never asked for data"
    );
    for a in &agents {
        assert_same_tree(&src, &a.out);
    }
    evil_task.abort();
    seeder.stop().await;
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_resume_after_the_host_restarts_mid_download() {
    let tmp = tempfile::tempdir().unwrap();
    let images = tmp.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    let reports = Arc::new(Mutex::new(Vec::new()));
    let host = HttpHost::start("127.0.0.1:0".parse().unwrap(), &images, reports.clone()).await;
    let host_addr = host.addr;
    let (src, packed) = pack_sample(tmp.path(), &host, 10 << 20).await;
    let state = tmp.path().join("seeder");
    // ~10 MiB at 2 MiB/s: several seconds, so the restart lands mid-download.
    let seeder = start_seeder(&state, "127.0.0.1:0".parse().unwrap(), Some(2 << 20)).await;
    let seed = seeder.listen_addr();
    seeder.add(&packed.torrent).await.unwrap();
    seeder
        .wait_seeding(&packed.info_hash, Duration::from_secs(30))
        .await
        .unwrap();
    host.tracker.add_torrent(packed.info_hash, vec![seed]);

    let mut agents: Vec<Agent> = (0..2)
        .map(|i| {
            spawn_agent(
                &host,
                "sample.torrent",
                packed.info_hash,
                &[seed],
                &tmp.path().join(format!("node{i}")),
            )
        })
        .collect();
    // Wait until the agents report some progress, then take the whole host down.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let progressed = reports
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.bytes_done > packed.size / 5);
        if progressed {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no progress before the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seeder.stop().await;
    drop(seeder);
    host.stop();
    let at_restart = reports
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.bytes_done)
        .max()
        .unwrap();
    assert!(
        at_restart < packed.size,
        "the download finished before the restart"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    for a in agents.iter_mut() {
        assert!(
            a.child.try_wait().unwrap().is_none(),
            "an agent gave up while the host was down"
        );
    }

    // The host comes back on the same addresses, with the seeder's saved state.
    let host = HttpHost::start(host_addr, &images, reports.clone()).await;
    let seeder = start_seeder(&state, seed, None).await;
    seeder
        .wait_seeding(&packed.info_hash, Duration::from_secs(30))
        .await
        .unwrap();
    host.tracker.add_torrent(packed.info_hash, vec![seed]);
    wait_all(&mut agents, Duration::from_secs(180)).await;
    for a in &agents {
        assert_same_tree(&src, &a.out);
    }
    seeder.stop().await;
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_finish_when_their_stripe_parent_dies_mid_download() {
    let tmp = tempfile::tempdir().unwrap();
    let images = tmp.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    let reports = Arc::new(Mutex::new(Vec::new()));
    let host = HttpHost::start("127.0.0.1:0".parse().unwrap(), &images, reports.clone()).await;
    let (src, packed) = pack_sample(tmp.path(), &host, 10 << 20).await;
    // ~10 MiB at 2 MiB/s: the first node dies while the others still need it.
    let seeder = seed_on(&host, &tmp.path().join("seeder"), &packed, Some(2 << 20)).await;
    let seed = seeder.listen_addr();
    let spawn = |i: usize| {
        spawn_agent(
            &host,
            "sample.torrent",
            packed.info_hash,
            &[seed],
            &tmp.path().join(format!("node{i}")),
        )
    };
    // The first node to join roots stripe 0 and, of three nodes and four stripes, stripe 3
    // too: it is the parent of both other nodes in those two stripes.
    let mut first = spawn(0);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while host
        .tracker
        .peer_counts(&packed.info_hash)
        .unwrap()
        .downloading
        == 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the first node never joined"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut others = vec![spawn(1), spawn(2)];
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let progressed = reports
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.bytes_done > packed.size / 4)
            .count();
        if progressed >= 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no progress before the kill"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Killed, not stopped: no `stopped` announce, the tracker lists it until it expires.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let at_kill = reports.lock().unwrap().len();
    wait_all(&mut others, Duration::from_secs(180)).await;
    let after_kill: Vec<u64> = reports.lock().unwrap()[at_kill..]
        .iter()
        .map(|r| r.bytes_done)
        .collect();
    assert!(
        after_kill.iter().any(|b| *b < packed.size),
        "the other nodes were already done when their parent died"
    );
    for a in &others {
        assert_same_tree(&src, &a.out);
    }
    seeder.stop().await;
    host.stop();
}
