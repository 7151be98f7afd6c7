//! `luna-agent boot` against a real `luna serve`: the plan's partition script prepares a
//! directory as the target (no real disk), the image comes over BitTorrent from a real seeder
//! and tracker (luna-dist's, until the daemon seeds images itself), and the install ends with
//! the node's hostname and network files in the target, the post-install script run chrooted
//! (as root), and a `success` status at the host. Needs /bin/busybox (busybox-static).

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use luna_dist::sample_image::{HOST_BUSYBOX, build_sample_image};
use luna_dist::{ImagePacker, PackOptions};
use serde_json::Value;

/// `luna`, built next to `luna-agent` by `cargo test --workspace` / `cargo build --workspace`.
fn luna_binary() -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_luna-agent")).with_file_name("luna");
    assert!(
        p.is_file(),
        "{} is missing: build it first (cargo build -p luna, or run cargo test --workspace)",
        p.display()
    );
    p
}

/// A `luna serve` on loopback, killed on drop.
struct Daemon {
    child: Child,
    url: String,
    data: PathBuf,
}

impl Daemon {
    fn start(dir: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = dir.join("data");
        let child = Command::new(luna_binary())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(&data)
            .env("LUNA_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("daemon.log")).unwrap())
            .spawn()
            .expect("luna serve starts");
        let d = Daemon {
            child,
            url: format!("http://127.0.0.1:{port}"),
            data,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "luna serve did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    fn luna(&self, args: &[&str]) -> String {
        let out = Command::new(luna_binary())
            .env("LUNA_URL", &self.url)
            .env("LUNA_DATA_DIR", &self.data)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "luna {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boot_installs_a_seeded_image_into_a_directory_and_configures_it() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    build_sample_image(&src, Path::new(HOST_BUSYBOX), 4 << 20).unwrap();
    std::fs::write(
        src.join("etc/os-release"),
        "PRETTY_NAME=\"Debian GNU/Linux 12\"\nID=debian\nVERSION_ID=\"12\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(src.join("lib/systemd/system")).unwrap();
    std::fs::write(src.join("lib/systemd/system/systemd-networkd.service"), "").unwrap();

    // The image over BitTorrent: .torrent + tracker on a test host, a real seeder.
    let images = tmp.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    let host = HttpHost::start(
        "127.0.0.1:0".parse().unwrap(),
        &images,
        Arc::new(Mutex::new(Vec::new())),
    )
    .await;
    let packed = ImagePacker::new(PackOptions::new(
        "sample",
        &src,
        &images,
        &host.announce_url(),
    ))
    .pack(|_| {})
    .await
    .unwrap();
    let seeder = seed_on(&host, &tmp.path().join("seeder"), &packed, None).await;

    // The cluster model: one node whose group's partscript prepares a directory target.
    let d = Daemon::start(tmp.path());
    d.luna(&["cluster", "init", "--frontend-address", "10.141.255.254"]);
    d.luna(&[
        "network",
        "add",
        "-n",
        "cluster",
        "-N",
        "10.141.0.0",
        "-P",
        "16",
    ]);
    d.luna(&[
        "osimage",
        "add",
        "-n",
        "sample",
        "-p",
        src.to_str().unwrap(),
    ]);
    d.luna(&[
        "group", "add", "-n", "compute", "-O", "sample", "-N", "cluster",
    ]);
    d.luna(&["group", "change", "compute", "--domain", "cluster"]);
    let sysroot = tmp.path().join("sysroot");
    d.luna(&[
        "group",
        "change",
        "compute",
        "--partscript",
        "mkdir -p \"$SYSROOT\"\necho \"target ready in $SYSROOT\"",
        "--postscript",
        "echo \"$LUNA_HOSTNAME\" > \"${SYSROOT%/}/etc/installed-by-luna\"\ntest -d /proc/self || exit 9",
    ]);
    d.luna(&[
        "node",
        "add",
        "-g",
        "compute",
        "-n",
        "node001",
        "--mac",
        "52:54:00:00:00:01",
    ]);

    let root = is_root();
    let image = serde_json::json!({
        "torrent_url": format!("http://{}/images/sample.torrent", host.addr),
        "info_hash": packed.info_hash.to_hex(),
        "seed_peers": [seeder.listen_addr().to_string()],
    });
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_luna-agent"));
    cmd.args(["boot", "--no-network", "--no-switch-root"])
        .args(["--url", &d.url, "--mac", "52:54:00:00:00:01"])
        .arg("--sysroot")
        .arg(&sysroot)
        .args(["--cmdline", "/dev/null", "--listen", "127.0.0.1:0"])
        .args(["--announce-every", "1", "--report-every", "0.5"])
        .args(["--image", &image.to_string()])
        .stdin(Stdio::null());
    if !root {
        // chroot and bind mounts need root; the script then sees SYSROOT instead.
        cmd.arg("--no-chroot");
    }
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let install_seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "luna-agent boot failed:\n{stderr}");
    eprintln!(
        "install of a {} byte image took {install_seconds:.2} s",
        packed.size
    );

    // The target holds the image, configured for this node.
    assert!(sysroot.join("bin/busybox").is_file());
    assert!(!sysroot.join(".luna-download").exists());
    let read = |p: &str| std::fs::read_to_string(sysroot.join(p)).unwrap_or_default();
    assert_eq!(read("etc/hostname"), "node001.cluster\n");
    let unit = read("etc/systemd/network/10-luna-bootif.network");
    assert!(unit.contains("MACAddress=52:54:00:00:00:01"), "{unit}");
    assert!(unit.contains("Address=10.141.0.1/16"), "{unit}");
    assert!(read("etc/hosts").contains("10.141.0.1\tnode001.cluster node001"));
    assert!(
        sysroot
            .join("etc/systemd/system/multi-user.target.wants/systemd-networkd.service")
            .is_symlink()
    );
    assert_eq!(read("etc/installed-by-luna"), "node001.cluster\n");
    if root {
        // The bind mounts are gone again.
        assert_eq!(std::fs::read_dir(sysroot.join("proc")).unwrap().count(), 0);
    }

    // The host saw every step, the download progress, and success.
    let st: Value = serde_json::from_str(&d.luna(&["-o", "json", "node", "status"])).unwrap();
    let n = &st[0];
    assert_eq!(n["current"]["step"], "success", "{st}");
    assert_eq!(n["current"]["state"], "done");
    let steps: Vec<String> = n["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["step"].as_str().unwrap(),
                s["state"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            "prescript skipped",
            "setupbmc skipped",
            "partscript done",
            "download done",
            "unpack done",
            "setnet done",
            "postscript done",
            "success done"
        ]
    );
    assert_eq!(n["progress"]["phase"], "done");
    assert_eq!(n["progress"]["bytes_total"], packed.size);
    for s in n["steps"].as_array().unwrap() {
        eprintln!(
            "  {:<11} {:>6.2} s",
            s["step"].as_str().unwrap(),
            s["elapsed_seconds"].as_f64().unwrap()
        );
    }
    seeder.stop().await;
    host.stop();
}

fn is_root() -> bool {
    // The effective uid, without a libc dependency: /proc/self/status has "Uid: r e s f".
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}
