//! 1 host (tracker + seeder) and 4 `luna-agent fetch` processes on loopback: every agent ends
//! with a tree identical to the packed one (paths, types, modes, owners, xattrs, ACLs,
//! content). Needs root and /bin/busybox (busybox-static).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use luna_dist::sample_image::{HOST_BUSYBOX, build_sample_image};
use luna_dist::{ImagePacker, PackOptions};
use luna_proto::dist::DownloadPhase;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_agents_download_from_the_host_and_each_other() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    build_sample_image(&src, Path::new(HOST_BUSYBOX), 12 << 20).unwrap();
    let images = tmp.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    let reports = Arc::new(Mutex::new(Vec::new()));
    let host = HttpHost::start("127.0.0.1:0".parse().unwrap(), &images, reports.clone()).await;
    let packed = ImagePacker::new(PackOptions::new(
        "sample",
        &src,
        &images,
        &host.announce_url(),
    ))
    .pack(|_| {})
    .await
    .unwrap();
    // Cap the host's upload so the agents have to trade pieces among themselves.
    let seeder = seed_on(&host, &tmp.path().join("seeder"), &packed, Some(3 << 20)).await;
    let seed: SocketAddr = seeder.listen_addr();

    let mut agents: Vec<Agent> = (0..4)
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
    // While they run, the tracker counts them (what `luna osimage show` displays).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let counts = host.tracker.peer_counts(&packed.info_hash).unwrap();
    assert_eq!(counts.downloading + counts.seeding, 4, "{counts:?}");
    wait_all(&mut agents, Duration::from_secs(120)).await;
    // Each agent announced `stopped` when it stopped seeding: none is counted any more.
    let counts = host.tracker.peer_counts(&packed.info_hash).unwrap();
    assert_eq!(
        counts.downloading + counts.seeding,
        0,
        "finished agents are still counted: {counts:?}"
    );
    for a in &mut agents {
        assert_same_tree(&src, &a.out);
        // Stealing pieces from slower peers only in the endgame keeps duplicates rare; the
        // old steal-first order fetched pieces twice or three times over.
        let mut out = String::new();
        std::io::Read::read_to_string(a.child.stdout.as_mut().unwrap(), &mut out).unwrap();
        let outcome: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        let (bytes, fetched) = (outcome["bytes"].as_u64(), outcome["fetched"].as_u64());
        assert_eq!(bytes, Some(packed.size), "{out}");
        let fetched = fetched.unwrap_or_else(|| panic!("no fetched bytes in {out}"));
        assert!(
            fetched >= packed.size && fetched * 2 <= packed.size * 3,
            "{} fetched {fetched} bytes for a {}-byte image",
            a.out.display(),
            packed.size
        );
    }
    let uploaded_by_host = seeder.get(&packed.info_hash).unwrap().uploaded_bytes;
    eprintln!(
        "host uploaded {uploaded_by_host} bytes for 4 x {}",
        packed.size
    );
    // In the stripe trees the host sends each piece to one root, which passes it on: about
    // one copy in all (4 copies would be every node downloading from the host).
    assert!(
        uploaded_by_host * 4 <= packed.size * 5,
        "the host uploaded {uploaded_by_host} bytes for 4 x {}: the nodes did not share",
        packed.size
    );
    let reports = reports.lock().unwrap().clone();
    let done = reports
        .iter()
        .filter(|r| r.phase == DownloadPhase::Done)
        .count();
    assert_eq!(done, 4, "each agent reports done once");
    assert!(
        reports
            .iter()
            .all(|r| r.info_hash == packed.info_hash.to_hex())
    );
    assert!(
        reports
            .iter()
            .any(|r| r.phase == DownloadPhase::Done && r.bytes_done == packed.size)
    );
    assert!(
        reports
            .iter()
            .any(|r| r.phase == DownloadPhase::Downloading && r.peers >= 2),
        "agents never saw each other"
    );
    seeder.stop().await;
    host.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_rejects_a_torrent_with_the_wrong_info_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), b"x").unwrap();
    let images = tmp.path().join("images");
    let host = HttpHost::start(
        "127.0.0.1:0".parse().unwrap(),
        &images,
        Arc::new(Mutex::new(Vec::new())),
    )
    .await;
    ImagePacker::new(PackOptions::new("img", &src, &images, &host.announce_url()))
        .pack(|_| {})
        .await
        .unwrap();
    let wrong = luna_dist::InfoHash([0x42; 20]);
    let mut a = spawn_agent(&host, "img.torrent", wrong, &[], &tmp.path().join("out"));
    let status = a.child.wait().unwrap();
    assert!(!status.success());
    let mut err = String::new();
    std::io::Read::read_to_string(a.child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(
        err.contains(&wrong.to_hex()) && err.contains("plan"),
        "{err}"
    );
    host.stop();
}
