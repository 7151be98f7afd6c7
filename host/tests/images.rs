//! Image distribution through the real daemon: add detects kernels, pack writes the artefacts
//! and records them, the seeder and tracker serve them to a real `luna-agent`, re-pack and
//! delete update the seeder without a restart, a restart does not re-hash.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// `luna-agent`, built beside `luna` by `cargo test --workspace` / `cargo build`.
fn agent_binary() -> PathBuf {
    let p = Path::new(LUNA).with_file_name("luna-agent");
    assert!(
        p.is_file(),
        "{} is missing: build it with 'cargo build -p luna-agent' (cargo test --workspace does)",
        p.display()
    );
    p
}

fn http_get(url: &str) -> (u16, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let r = reqwest::get(url).await.unwrap();
        let status = r.status().as_u16();
        (status, r.bytes().await.unwrap().to_vec())
    })
}

fn http_post(url: &str, body: &str, token: &str) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

/// Polls until `f` holds, or fails naming `what`.
#[track_caller]
fn eventually(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for: {what}");
}

/// The percent-encoded announce of a peer for `hash` (hex).
fn announce_url(base: &str, hash: &str) -> String {
    let raw: String = hash
        .as_bytes()
        .chunks(2)
        .map(|c| format!("%{}", std::str::from_utf8(c).unwrap()))
        .collect();
    format!(
        "{base}/announce?info_hash={raw}&peer_id=-LT0001-abcdefghijkl&port=6881&uploaded=0&downloaded=0&left=100&compact=1"
    )
}

fn is_failure(body: &[u8]) -> bool {
    body.starts_with(b"d14:failure reason")
}

fn read_bytes_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn pack_seed_fetch_repack_restart_delete() {
    let agent = agent_binary();
    let mut d = Daemon::start();
    let port = d.port.to_string();
    d.luna(&[
        "cluster",
        "init",
        "--frontend-address",
        "127.0.0.1",
        "--frontend-port",
        &port,
    ])
    .ok();

    // A real tree: busybox root with device nodes, links, xattrs, ACLs, a kernel and modules.
    let root = d.dir.path().join("root");
    luna_dist::sample_image::build_sample_image(
        &root,
        Path::new(luna_dist::sample_image::HOST_BUSYBOX),
        24 << 20,
    )
    .unwrap();
    let root_s = root.to_str().unwrap();

    // Kernel detection: a wrong --kernver and a tree without a kernel are refused.
    d.luna(&[
        "osimage",
        "add",
        "-n",
        "x",
        "-p",
        root_s,
        "--kernver",
        "9.9",
    ])
    .fails(3, &["9.9", "6.1.0-sample", "--kernver"]);
    let empty = d.dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    d.luna(&["osimage", "add", "-n", "x", "-p", empty.to_str().unwrap()])
        .fails(3, &["holds no kernel", "/lib/modules"]);
    let img = d.json(&["osimage", "add", "-n", "compute", "-p", root_s]);
    assert_eq!(img["kernver"], "6.1.0-sample");
    assert_eq!(img["kernels"], serde_json::json!(["6.1.0-sample"]));
    let shown = d.json(&["osimage", "show", "compute"]);
    assert!(shown["pack"].is_null(), "{shown}");
    assert_eq!(shown["swarm"]["host_seeder"], "not seeded");

    // Pack: artefacts, recorded fields, the served torrent naming our /announce.
    let packed = d.json(&["osimage", "pack", "compute"]);
    let data = d.data_dir();
    let tarball = data.join("images/compute.tar.zst");
    let torrent = data.join("images/compute.torrent");
    let pack = &packed["pack"];
    let hash1 = pack["info_hash"].as_str().unwrap().to_string();
    assert_eq!(hash1.len(), 40, "{packed}");
    assert_eq!(
        pack["size"].as_u64().unwrap(),
        std::fs::metadata(&tarball).unwrap().len()
    );
    assert!(pack["piece_size"].as_u64().unwrap() >= 16 * 1024);
    assert_eq!(pack["kernel"], true);
    assert_eq!(pack["initramfs"], true);
    assert_eq!(pack["boot_kernver"], "6.1.0-sample");
    assert!(pack["image_packed_at"].as_str().unwrap().ends_with('Z'));
    let warnings = pack["warnings"].to_string();
    assert!(
        warnings.contains("mkfs.xfs"),
        "missing tools are named: {warnings}"
    );
    assert_eq!(
        std::fs::read(data.join("boot/compute/kernel")).unwrap(),
        b"not really a kernel"
    );
    assert!(
        std::fs::metadata(data.join("boot/compute/initramfs"))
            .unwrap()
            .len()
            > 100_000
    );
    let (status, served) = http_get(&format!("{}/images/compute.torrent", d.url));
    assert_eq!(status, 200);
    assert_eq!(served, std::fs::read(&torrent).unwrap());
    let announce = format!("http://127.0.0.1:{port}/announce");
    assert!(
        served
            .windows(announce.len())
            .any(|w| w == announce.as_bytes()),
        "the torrent names {announce}"
    );
    let (status, _) = http_get(&format!("{}/images/nope.torrent", d.url));
    assert_eq!(status, 404);
    let table = d.luna(&["osimage", "show", "compute"]).ok().stdout;
    for field in ["pack_size", "piece_size", "info_hash", "swarm_downloading"] {
        assert!(table.contains(field), "{field} in {table}");
    }

    // A second pack while one runs is refused.
    let pack_url = format!("{}/api/v1/osimages/compute/pack", d.url);
    assert_eq!(http_post(&pack_url, "{}", &d.token()), 202);
    assert_eq!(http_post(&pack_url, "{}", &d.token()), 409);
    d.luna(&["osimage", "pack", "compute", "--image-only", "--boot-only"])
        .fails(2, &["--boot-only"]);
    eventually("the concurrent pack to finish", 120, || {
        let (_, body) = http_get(&pack_url);
        let status: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_ne!(status["step"], "failed", "{status}");
        status["step"] == "done"
    });
    let hash1 = d.json(&["osimage", "show", "compute"])["pack"]["info_hash"]
        .as_str()
        .unwrap()
        .to_string();

    // The install plan names the image.
    d.luna(&[
        "network",
        "add",
        "-n",
        "cluster",
        "-N",
        "10.99.0.0",
        "-P",
        "16",
    ])
    .ok();
    d.luna(&[
        "group", "add", "-n", "compute", "-O", "compute", "-N", "cluster",
    ])
    .ok();
    d.luna(&["node", "add", "-g", "compute", "-n", "node001"])
        .ok();
    let (status, plan) = http_get(&format!("{}/api/v1/nodes/node001/plan", d.url));
    assert_eq!(status, 200);
    let plan: serde_json::Value = serde_json::from_slice(&plan).unwrap();
    let source = &plan["image"];
    assert_eq!(source["info_hash"], hash1.as_str());
    assert_eq!(
        source["torrent_url"],
        format!("http://127.0.0.1:{port}/images/compute.torrent")
    );
    let seed_peer = source["seed_peers"][0].as_str().unwrap().to_string();
    assert!(seed_peer.starts_with("127.0.0.1:"), "{plan}");

    // A node downloads from the host seeder found through the tracker and gets the same tree.
    let out = d.dir.path().join("node-root");
    let fetch = Command::new(&agent)
        .args(["fetch", "--torrent-url"])
        .arg(source["torrent_url"].as_str().unwrap())
        .args(["--info-hash", &hash1, "--listen", "127.0.0.1:0", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        fetch.status.success(),
        "fetch failed: {}",
        String::from_utf8_lossy(&fetch.stderr)
    );
    let want = luna_dist::manifest::tree_manifest(&root, &[]).unwrap();
    let got = luna_dist::manifest::tree_manifest(&out, &[]).unwrap();
    let diff = luna_dist::manifest::manifest_diff(&want, &got);
    assert!(diff.is_empty(), "unpacked tree differs: {diff:#?}");

    // Malformed announces get bencoded failures, never a 500.
    for q in [
        "",
        "?info_hash=short&peer_id=x&port=1",
        "?info_hash=%00%01&peer_id=-LT0001-abcdefghijkl&port=99999&left=0",
    ] {
        let (status, body) = http_get(&format!("{}/announce{q}", d.url));
        assert_eq!(status, 200, "announce{q}");
        assert!(
            is_failure(&body),
            "announce{q}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let downloading = || d.json(&["osimage", "show", "compute"])["swarm"]["downloading"].as_u64();
    let before = downloading().unwrap();
    let (status, body) = http_get(&announce_url(&d.url, &hash1));
    assert_eq!(status, 200);
    assert!(!is_failure(&body), "{}", String::from_utf8_lossy(&body));
    // That announce was a new peer with bytes left: `osimage show` counts it as downloading.
    assert_eq!(downloading(), Some(before + 1));

    // Re-pack after a change: new info-hash, the seeder and tracker switch without a restart.
    std::fs::write(root.join("etc/motd"), b"repacked\n").unwrap();
    let repacked = d.json(&["osimage", "pack", "compute", "--image-only"]);
    let hash2 = repacked["pack"]["info_hash"].as_str().unwrap().to_string();
    assert_ne!(hash1, hash2);
    assert_eq!(repacked["pack"]["kernel"], true, "boot files are kept");
    eventually("the tracker to drop the old info-hash", 30, || {
        is_failure(&http_get(&announce_url(&d.url, &hash1)).1)
    });
    eventually("the seeder to seed the new pack", 60, || {
        d.json(&["osimage", "show", "compute"])["swarm"]["host_seeder"] == "seeding"
    });
    assert!(!is_failure(&http_get(&announce_url(&d.url, &hash2)).1));

    // A graceful restart resumes seeding without reading the image again.
    d.restart_graceful();
    let pid = d.pid();
    let size = std::fs::metadata(&tarball).unwrap().len();
    eventually("seeding after the restart", 60, || {
        d.json(&["osimage", "show", "compute"])["swarm"]["host_seeder"] == "seeding"
    });
    let read = read_bytes_of(pid);
    assert!(
        read < size / 4,
        "the restarted daemon read {read} bytes for a {size} byte image: it re-hashed"
    );

    // Rename drops the pack (artefacts carry the name); delete removes the artefacts and the
    // seeder drops the image.
    d.luna(&["node", "delete", "node001"]).ok();
    d.luna(&["group", "delete", "compute"]).ok();
    let renamed = d.json(&["osimage", "rename", "compute", "rocky"]);
    assert!(renamed["pack"].is_null(), "{renamed}");
    eventually("the renamed image's old artefacts to go", 30, || {
        !tarball.exists() && !torrent.exists() && !data.join("boot/compute").exists()
    });
    eventually("the seeder to drop the old image", 30, || {
        is_failure(&http_get(&announce_url(&d.url, &hash2)).1)
    });
    d.json(&["osimage", "pack", "rocky", "--image-only"]);
    assert!(data.join("images/rocky.torrent").exists());
    d.luna(&["osimage", "delete", "rocky"]).ok();
    eventually("delete to remove the artefacts", 30, || {
        !data.join("images/rocky.torrent").exists() && !data.join("images/rocky.tar.zst").exists()
    });
    let (status, _) = http_get(&format!("{}/images/rocky.torrent", d.url));
    assert_eq!(status, 404);
    d.luna(&["osimage", "pack", "rocky"]).fails(4, &["rocky"]);
}
