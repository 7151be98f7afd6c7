//! Network namespaces the tests create themselves (10.99.0.0/16 inside), removed on drop.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// Whether namespace tests can run; prints why not.
pub fn can_run(test: &str) -> bool {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping {test}: needs root to create network namespaces");
        return false;
    }
    true
}

/// `tool` must be installed: a missing tool fails the test (it must not pass by skipping).
pub fn have_tool(tool: &str, package: &str) -> bool {
    let found = ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
        .iter()
        .any(|d| Path::new(d).join(tool).exists());
    assert!(found, "{tool} is not installed: apt-get install {package}");
    true
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("lb{}-{}-{tag}", std::process::id(), n);
        sh(&["ip", "netns", "add", &name]);
        let ns = Self { name };
        ns.run_ok(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    /// Runs a command inside the namespace.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .output()
            .expect("run ip netns exec")
    }

    pub fn run_ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} in {} failed: {}{}",
            self.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name, program]);
        cmd
    }

    /// Moves the calling thread into this namespace (sockets it opens afterwards live here).
    pub fn enter_current_thread(&self) {
        let file = File::open(format!("/run/netns/{}", self.name)).expect("open netns file");
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// A veth pair `a_if` in `a` (with `a_addr`, CIDR) and `b_if` in `b` (with optional MAC and
/// address), both up.
pub fn veth(
    a: &Netns,
    a_if: &str,
    a_addr: &str,
    b: &Netns,
    b_if: &str,
    b_mac: Option<&str>,
    b_addr: Option<&str>,
) {
    sh(&[
        "ip", "link", "add", a_if, "netns", &a.name, "type", "veth", "peer", "name", b_if, "netns",
        &b.name,
    ]);
    a.run_ok(&["ip", "addr", "add", a_addr, "dev", a_if]);
    a.run_ok(&["ip", "link", "set", a_if, "up"]);
    if let Some(mac) = b_mac {
        b.run_ok(&["ip", "link", "set", b_if, "address", mac]);
    }
    if let Some(addr) = b_addr {
        b.run_ok(&["ip", "addr", "add", addr, "dev", b_if]);
    }
    b.run_ok(&["ip", "link", "set", b_if, "up"]);
}

fn sh(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .expect("run command");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A tokio runtime on its own thread inside a namespace; `start` builds the servers there and
/// they run until this is dropped.
pub struct NsRuntime {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl NsRuntime {
    pub fn start<F, Fut, T>(ns: &Netns, start: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = T>,
        T: 'static,
    {
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let name = ns.name.clone();
        let thread = std::thread::spawn(move || {
            let file = File::open(format!("/run/netns/{name}")).expect("open netns file");
            nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let servers = start().await;
                let _ = ready_tx.send(());
                let _ = stop_rx.await;
                drop(servers);
            });
        });
        ready_rx.recv().expect("server thread started");
        Self {
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for NsRuntime {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
