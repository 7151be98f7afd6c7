//! The seeder resumes its images after a restart without re-hashing them. This file holds a
//! single test because it measures the process's read bytes (/proc/self/io `rchar`).

use std::net::SocketAddr;
use std::time::Duration;

use luna_dist::{ImagePacker, PackOptions, SeedState, SeederOptions, TorrentSeeder};

fn read_bytes() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").unwrap();
    io.lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeder_adds_removes_and_restarts_without_rehash() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    // 48 MiB of random data: a full re-hash would read all of it.
    let mut data = vec![0u8; 48 << 20];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut data);
    std::fs::write(src.join("blob"), &data).unwrap();
    drop(data);
    let images = tmp.path().join("images");
    let mut opts = PackOptions::new("big", &src, &images, "http://127.0.0.1:1/announce");
    opts.zstd_level = 1;
    let big = ImagePacker::new(opts).pack(|_| {}).await.unwrap();
    let state = tmp.path().join("seeder");
    let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();

    let seeder = TorrentSeeder::start(SeederOptions::new(&state, listen))
        .await
        .unwrap();
    assert_ne!(seeder.listen_addr().port(), 0);
    let (added, removed) = seeder.sync_dir(&images).await.unwrap();
    assert_eq!((added, removed), (vec![big.info_hash], vec![]));
    seeder
        .wait_seeding(&big.info_hash, Duration::from_secs(60))
        .await
        .unwrap();
    let img = seeder.get(&big.info_hash).unwrap();
    assert_eq!(img.total_bytes, big.size);
    assert_eq!(img.name.as_deref(), Some("big.tar.zst"));

    // A new pack is picked up without a restart.
    std::fs::create_dir_all(tmp.path().join("small")).unwrap();
    std::fs::write(tmp.path().join("small/f"), b"small").unwrap();
    let small = ImagePacker::new(PackOptions::new(
        "small",
        &tmp.path().join("small"),
        &images,
        "http://127.0.0.1:1/announce",
    ))
    .pack(|_| {})
    .await
    .unwrap();
    let (added, _) = seeder.sync_dir(&images).await.unwrap();
    assert_eq!(added, vec![small.info_hash]);
    seeder
        .wait_seeding(&small.info_hash, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(seeder.list().len(), 2);
    seeder.stop().await;
    drop(seeder);

    // Restart: the big image comes back seeding, reading far less than its size.
    let before = read_bytes();
    let seeder = TorrentSeeder::start(SeederOptions::new(&state, listen))
        .await
        .unwrap();
    seeder
        .wait_seeding(&big.info_hash, Duration::from_secs(60))
        .await
        .unwrap();
    let read = read_bytes() - before;
    eprintln!("restart read {read} bytes of {}", big.size);
    assert!(
        read < big.size / 4,
        "restart read {read} bytes of a {} byte image: it re-hashed",
        big.size
    );
    assert_eq!(
        seeder.get(&big.info_hash).unwrap().state,
        SeedState::Seeding
    );

    // Deleting an image's artefacts drops it on the next sync.
    luna_dist::pack::remove_artefacts(&images, "small").unwrap();
    let (added, removed) = seeder.sync_dir(&images).await.unwrap();
    assert_eq!((added, removed), (vec![], vec![small.info_hash]));
    assert!(seeder.get(&small.info_hash).is_none());
    assert!(!seeder.remove(&small.info_hash).await.unwrap());
    seeder.stop().await;
}
