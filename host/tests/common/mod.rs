//! Test harness: a real `luna serve` process on an embedded store in a temporary directory,
//! driven through the real `luna` CLI binary. Every daemon is killed when its handle drops.
#![allow(dead_code)]

use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const LUNA: &str = env!("CARGO_BIN_EXE_luna");

pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub port: u16,
    child: Option<Child>,
    /// luna.toml contents (boot services), if any.
    config: Option<String>,
    /// Network namespace the daemon (and its CLI) run in; it then listens on 0.0.0.0.
    netns: Option<String>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "command failed: stdout={} stderr={}",
            self.stdout, self.stderr
        );
        self
    }
    /// Asserts the exit code and that the error message contains every `needle`.
    #[track_caller]
    pub fn fails(self, code: i32, needles: &[&str]) -> Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code: stdout={} stderr={}",
            self.stdout, self.stderr
        );
        for n in needles {
            assert!(
                self.stderr.contains(n),
                "stderr lacks {n:?}: {}",
                self.stderr
            );
        }
        self
    }
}

/// A port nothing listens on, never the same one twice in this test binary: the kernel may
/// hand a just-released port out again, and two tests whose daemons got the same port raced
/// (the second daemon failed to bind while its test already talked to the first one).
fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !handed_out.contains(&port) {
            handed_out.push(port);
            return port;
        }
    }
}

impl Daemon {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut d = Daemon {
            url: String::new(),
            port: 0,
            child: None,
            dir,
            config: None,
            netns: None,
        };
        d.spawn();
        d
    }

    /// A daemon with `config` as its luna.toml, inside namespace `netns` when given.
    pub fn start_with(config: &str, netns: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut d = Daemon {
            url: String::new(),
            port: 0,
            child: None,
            dir,
            config: Some(config.to_string()),
            netns: netns.map(str::to_string),
        };
        d.spawn();
        d
    }

    /// `luna` itself, or `ip netns exec NS luna`.
    fn luna_command(&self) -> Command {
        match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, LUNA]);
                c
            }
            None => Command::new(LUNA),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn spawn(&mut self) {
        self.port = free_port();
        self.spawn_on_port();
    }

    fn spawn_on_port(&mut self) {
        self.url = format!("http://127.0.0.1:{}", self.port);
        let log = std::fs::File::create(self.dir.path().join(format!("daemon-{}.log", self.port)))
            .unwrap();
        let host = if self.netns.is_some() {
            "0.0.0.0"
        } else {
            "127.0.0.1"
        };
        let mut command = self.luna_command();
        command.args(["serve", "--listen", &format!("{host}:{}", self.port)]);
        if let Some(text) = &self.config {
            let path = self.dir.path().join("luna.toml");
            std::fs::write(&path, text).unwrap();
            command.arg("--config").arg(path);
        }
        let child = command
            .arg("--data-dir")
            .arg(self.data_dir())
            .env("LUNA_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("luna serve starts");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let up = match &self.netns {
                // The daemon writes its token before it listens: a port that answers without
                // our token file is someone else's.
                None => {
                    self.token_file().exists()
                        && std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                }
                // Exit code 7 means unreachable; anything else means the API answered.
                Some(_) => self.luna(&["cluster", "show"]).code != 7,
            };
            if up {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("daemon exited early with {status}: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("daemon did not start: {}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("daemon-{}.log", self.port)))
            .unwrap_or_default()
    }

    /// SIGKILL: no graceful shutdown, as after a power cut.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait: the graceful path.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("running");
        Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .unwrap();
        c.wait().unwrap()
    }

    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// SIGTERM, wait, start again on a new port (the graceful restart).
    pub fn restart_graceful(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Starts a stopped daemon again on the same port: nodes keep the URL they booted with.
    pub fn start_again(&mut self) {
        assert!(
            self.child.is_none(),
            "start_again: the daemon is still running"
        );
        self.spawn_on_port();
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn cmd(&self) -> Command {
        let mut c = self.luna_command();
        c.env("LUNA_URL", &self.url)
            .env("LUNA_DATA_DIR", self.data_dir())
            .env_remove("LUNA_TOKEN");
        c
    }

    /// Runs `luna ARGS` against this daemon.
    pub fn luna(&self, args: &[&str]) -> Run {
        let out = self.cmd().args(args).stdin(Stdio::null()).output().unwrap();
        run_of(out)
    }

    /// `luna -o json ARGS`, asserting success.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["-o", "json"];
        a.extend_from_slice(args);
        self.luna(&a).ok().json()
    }

    /// Where the daemon keeps its API token (`serve::TOKEN_FILE`; the binary has no library
    /// to import it from).
    fn token_file(&self) -> PathBuf {
        self.data_dir().join("token")
    }

    pub fn token(&self) -> String {
        std::fs::read_to_string(self.token_file())
            .unwrap()
            .trim()
            .to_string()
    }

    /// The whole model as JSON, to prove a failed command changed nothing.
    pub fn snapshot(&self) -> Value {
        let mut all = serde_json::Map::new();
        for what in [
            "network", "osimage", "bmcsetup", "group", "node", "switch", "otherdev",
        ] {
            let mut a = vec!["-o", "json", what, "list"];
            if what == "node" {
                a.truncate(4);
            }
            all.insert(what.into(), self.luna(&a).ok().json());
        }
        Value::Object(all)
    }

    /// The seed README's cluster: networks cluster + ipmi, image, bmcsetup, switch, group.
    pub fn seed_cluster(&self, image: &Path) {
        self.luna(&["cluster", "init", "--frontend-address", "10.141.255.254"])
            .ok();
        self.luna(&[
            "network",
            "add",
            "-n",
            "cluster",
            "-N",
            "10.141.0.0",
            "-P",
            "16",
        ])
        .ok();
        self.luna(&[
            "osimage",
            "add",
            "-n",
            "compute",
            "-p",
            image.to_str().unwrap(),
        ])
        .ok();
        self.luna(&["bmcsetup", "add", "-n", "base"]).ok();
        self.luna(&[
            "network",
            "add",
            "-n",
            "ipmi",
            "-N",
            "10.149.0.0",
            "-P",
            "16",
        ])
        .ok();
        self.luna(&[
            "switch",
            "add",
            "-n",
            "switch01",
            "--oid",
            "1.3.6.1.2.1.17.7.1.2.2.1.2",
            "--network",
            "ipmi",
            "--ip",
            "10.149.253.1",
        ])
        .ok();
        self.luna(&[
            "group", "add", "-n", "compute", "-O", "compute", "-N", "cluster",
        ])
        .ok();
        self.luna(&["group", "change", "compute", "-b", "base"])
            .ok();
        self.luna(&[
            "group", "change", "compute", "-i", "BMC", "--setnet", "ipmi",
        ])
        .ok();
    }
}

pub fn run_of(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// An image tree with a kernel layout (enough for the model; packing tests build real ones).
pub fn image_tree(dir: &Path) -> PathBuf {
    let p = dir.join("image");
    std::fs::create_dir_all(p.join("boot")).unwrap();
    std::fs::create_dir_all(p.join("lib/modules/6.1.0-test")).unwrap();
    std::fs::write(p.join("boot/vmlinuz-6.1.0-test"), b"kernel").unwrap();
    p
}

/// `addresses` of a node as (interface, ip) pairs.
pub fn addrs(node: &Value) -> Vec<(String, String)> {
    node["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["interface"].as_str().unwrap().to_string(),
                a["ip"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}
