//! The TFTP server against the tftp-hpa client on loopback: files are served, traversal and
//! writes are refused, and garbage packets do not stop it.

use luna_boot::tftp::{TftpConfig, TftpServer};
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::Command;

fn have_tftp() -> bool {
    assert!(
        Path::new("/usr/bin/tftp").exists(),
        "the tftp client is not installed: apt-get install tftp-hpa"
    );
    true
}

/// tftp-hpa prints transfer errors but may still exit 0: report (success, output).
fn tftp(addr: SocketAddr, command: &str, cwd: &Path) -> (bool, String) {
    let out = Command::new("tftp")
        .current_dir(cwd)
        .args([
            "-v",
            &addr.ip().to_string(),
            &addr.port().to_string(),
            "-m",
            "binary",
            "-c",
        ])
        .args(command.split(' '))
        .output()
        .expect("run tftp");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ok = out.status.success()
        && !text.contains("Error code")
        && !text.contains("Transfer timed out");
    (ok, text)
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    work: std::path::PathBuf,
    payload: Vec<u8>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("tftp");
    let work = dir.path().join("work");
    std::fs::create_dir_all(root.join("efi")).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    // Larger than one 512-byte block and not a multiple of it.
    let payload: Vec<u8> = (0..70_001u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(root.join("undionly.kpxe"), &payload).unwrap();
    std::fs::write(root.join("efi/ipxe.efi"), b"efi").unwrap();
    std::fs::write(dir.path().join("secret"), b"outside the root").unwrap();
    Fixture {
        _dir: dir,
        root,
        work,
        payload,
    }
}

async fn start(root: &Path) -> TftpServer {
    TftpServer::start(TftpConfig {
        root: root.to_path_buf(),
        bind: "127.0.0.1:0".parse().unwrap(),
        interface: None,
    })
    .await
    .expect("TFTP server starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_files_and_refuses_traversal_and_writes() {
    if !have_tftp() {
        return;
    }
    let f = fixture();
    let server = start(&f.root).await;
    let addr = server.local_addr();
    let work = f.work.clone();
    let root = f.root.clone();
    let payload = f.payload.clone();
    tokio::task::spawn_blocking(move || {
        let (ok, out) = tftp(addr, "get undionly.kpxe got.kpxe", &work);
        assert!(ok, "{out}");
        assert_eq!(std::fs::read(work.join("got.kpxe")).unwrap(), payload);
        let (ok, out) = tftp(addr, "get /efi/ipxe.efi got.efi", &work);
        assert!(ok, "{out}");
        assert_eq!(std::fs::read(work.join("got.efi")).unwrap(), b"efi");

        for bad in [
            "../../etc/passwd",
            "../secret",
            "/../secret",
            "efi/../../secret",
        ] {
            let (ok, out) = tftp(addr, &format!("get {bad} stolen"), &work);
            assert!(!ok, "{bad} was served: {out}");
            let stolen = std::fs::read(work.join("stolen")).unwrap_or_default();
            assert!(stolen.is_empty(), "{bad} leaked {} bytes", stolen.len());
        }
        let (ok, out) = tftp(addr, "get missing.efi missing", &work);
        assert!(!ok && out.contains("Error code 1"), "{out}");

        std::fs::write(work.join("upload"), b"evil").unwrap();
        let (ok, out) = tftp(addr, "put upload uploaded", &work);
        assert!(!ok, "write accepted: {out}");
        assert!(!root.join("uploaded").exists());
    })
    .await
    .unwrap();
    assert!(
        server
            .stats()
            .refused
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 5
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_packets_do_not_stop_the_server() {
    if !have_tftp() {
        return;
    }
    let f = fixture();
    let server = start(&f.root).await;
    let addr = server.local_addr();
    let work = f.work.clone();
    tokio::task::spawn_blocking(move || {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let valid = b"\x00\x01undionly.kpxe\x00octet\x00blksize\x001468\x00".to_vec();
        for i in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let packet = if i % 2 == 0 {
                // Random bytes of random length.
                let len = (x % 600) as usize;
                (0..len)
                    .map(|j| (x >> (j % 56)) as u8 ^ j as u8)
                    .collect::<Vec<u8>>()
            } else {
                // A valid request with some bytes flipped or cut.
                let mut p = valid.clone();
                let at = (x as usize) % p.len();
                p[at] ^= (x >> 8) as u8 | 1;
                p.truncate(((x >> 16) as usize % p.len()) + 1);
                p
            };
            let _ = sock.send_to(&packet, addr);
        }
        // Let in-flight transfers started by mutated-but-valid requests settle, then fetch.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let (ok, out) = tftp(addr, "get undionly.kpxe after-fuzz", &work);
        assert!(ok, "server stopped serving after garbage: {out}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_debian_ipxe_binaries_from_the_default_root() {
    let default = Path::new(luna_boot::tftp::DEFAULT_TFTP_ROOT);
    assert!(have_tftp());
    assert!(
        default.join("undionly.kpxe").exists(),
        "Debian's iPXE binaries are missing: apt-get install ipxe"
    );
    let server = TftpServer::start(TftpConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..TftpConfig::default()
    })
    .await
    .unwrap();
    let addr = server.local_addr();
    let work = tempfile::tempdir().unwrap();
    let work_path = work.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        for file in ["undionly.kpxe", "ipxe.efi", "snponly.efi"] {
            let (ok, out) = tftp(addr, &format!("get {file} {file}"), &work_path);
            assert!(ok, "{file}: {out}");
            let want = std::fs::read(default.join(file)).unwrap();
            assert_eq!(std::fs::read(work_path.join(file)).unwrap(), want, "{file}");
        }
    })
    .await
    .unwrap();
}
