//! VM test bed: a network namespace with a bridge (10.99.<n>.0/24, host side .1) and taps, the
//! real `luna serve` inside it with its own DHCP, TFTP and HTTP on the bridge, and QEMU TCG VMs
//! on the taps with their serial consoles logged to files. Everything is stopped on drop, by
//! PID (VMs, daemon) and by name (taps, namespace).
//!
//! Test files use it with `mod common; mod vm;`.
#![allow(dead_code)]

#[path = "../../../boot/tests/support/kernel.rs"]
mod kernel;
#[path = "../../../boot/tests/support/netns.rs"]
mod netns;

pub use netns::Netns;

use crate::common::Daemon;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// Whether VM tests can run here; prints why not. Only a missing privilege (root, /dev/net/tun)
/// skips; a missing QEMU fails the test, naming the package.
pub fn can_run(test: &str) -> bool {
    if !netns::can_run(test) {
        return false;
    }
    if !Path::new("/dev/net/tun").exists() {
        eprintln!("skipping {test}: /dev/net/tun is missing (no tap devices)");
        return false;
    }
    netns::have_tool(
        "qemu-system-x86_64",
        "qemu-system-x86 ipxe-qemu qemu-system-data",
    );
    netns::have_tool("busybox", "busybox-static");
    true
}

/// Builds `luna-agent` for x86_64-unknown-linux-musl once per test process (cargo keeps it
/// up to date in `~/.cache/luna-target-agent-musl`) and returns the static binary's path.
/// `LUNA_TEST_AGENT` names a prebuilt one instead.
pub fn static_agent() -> PathBuf {
    static AGENT: OnceLock<PathBuf> = OnceLock::new();
    AGENT
        .get_or_init(|| {
            if let Ok(p) = std::env::var("LUNA_TEST_AGENT") {
                return PathBuf::from(p);
            }
            let target_dir = home().join(".cache/luna-target-agent-musl");
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let started = Instant::now();
            let mut command = Command::new(&cargo);
            // Only the basics: the CARGO_*, LD_LIBRARY_PATH and rustup variables `cargo test`
            // gives this process would change fingerprints and rebuild the agent's dependencies
            // whenever it is built from a shell in between.
            command.env_clear();
            // RUSTUP_AUTO_INSTALL: a machine that forbids rustup to install toolchains on its
            // own must keep forbidding it here; without it, the rustc proxy the build calls
            // re-installed (and, two builds at once, broke) the whole stable toolchain.
            for keep in [
                "PATH",
                "HOME",
                "CARGO_HOME",
                "RUSTUP_HOME",
                "RUSTUP_AUTO_INSTALL",
                "TMPDIR",
            ] {
                if let Some(v) = std::env::var_os(keep) {
                    command.env(keep, v);
                }
            }
            // The rustc of the toolchain this cargo belongs to, not the rustup proxy on PATH.
            if let Some(rustc) = Path::new(&cargo)
                .parent()
                .map(|bin| bin.join("rustc"))
                .filter(|r| r.is_file())
            {
                command.env("RUSTC", rustc);
            }
            let out = command
                .current_dir(workspace)
                .args([
                    "build",
                    "--release",
                    "--target",
                    "x86_64-unknown-linux-musl",
                    "-p",
                    "luna-agent",
                    "--bin",
                    "luna-agent",
                    "--target-dir",
                ])
                .arg(&target_dir)
                .stdin(Stdio::null())
                .output()
                .expect("run cargo to build the static luna-agent");
            assert!(
                out.status.success(),
                "building the static luna-agent failed (needs `rustup target add x86_64-unknown-linux-musl` and musl-tools):\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            eprintln!("static luna-agent ready after {:?}", started.elapsed());
            target_dir.join("x86_64-unknown-linux-musl/release/luna-agent")
        })
        .clone()
}

fn home() -> PathBuf {
    PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
}

/// The Debian cloud kernel (cached in `~/.cache/luna-boot-kernel`): the vmlinuz, its version
/// and its module tree.
pub struct Kernel {
    pub vmlinuz: PathBuf,
    pub version: String,
    pub modules: PathBuf,
}

pub fn kernel() -> Kernel {
    let vmlinuz = kernel::kernel().expect(
        "no kernel for the VM: let the test `apt-get download` linux-image-cloud-amd64's kernel (needs apt lists), or set LUNA_TEST_KERNEL to a vmlinuz in an extracted kernel package",
    );
    let version = vmlinuz
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("vmlinuz-"))
        .expect("kernel file is named vmlinuz-VERSION")
        .to_string();
    let root = vmlinuz.parent().and_then(Path::parent).unwrap();
    let modules = root.join("lib/modules").join(&version);
    assert!(
        modules.is_dir(),
        "no modules for {version} at {}",
        modules.display()
    );
    Kernel {
        vmlinuz,
        version,
        modules,
    }
}

/// Module files (relative to `/lib/modules/<ver>`) a VM image needs: virtio NIC and disk.
const VM_MODULES: &[&str] = &[
    "kernel/drivers/virtio/virtio.ko",
    "kernel/drivers/virtio/virtio_ring.ko",
    "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
    "kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
    "kernel/drivers/virtio/virtio_pci.ko",
    "kernel/net/core/failover.ko",
    "kernel/drivers/net/net_failover.ko",
    "kernel/drivers/net/virtio_net.ko",
    "kernel/drivers/block/virtio_blk.ko",
];

/// A small real image: busybox-static, the VM kernel with its virtio modules, and `init` as
/// `/sbin/init` (a busybox sh script). Returns the image root.
pub fn busybox_image(dir: &Path, init: &str) -> PathBuf {
    let k = kernel();
    let root = dir.join("busybox-image");
    for d in [
        "bin", "sbin", "etc", "proc", "sys", "dev", "run", "tmp", "root", "boot",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
    std::fs::write(root.join("etc/os-release"), "ID=busybox\nNAME=BusyBox\n").unwrap();
    write_exec(&root.join("sbin/init"), init);
    std::fs::copy(
        &k.vmlinuz,
        root.join("boot").join(format!("vmlinuz-{}", k.version)),
    )
    .unwrap();
    let mods = root.join("lib/modules").join(&k.version);
    for rel in VM_MODULES {
        let to = mods.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(k.modules.join(rel), to).unwrap();
    }
    root
}

fn write_exec(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(path, perms).unwrap();
}

static NEXT_SUBNET: AtomicU8 = AtomicU8::new(40);

/// A namespace with bridge `br0` (10.99.<n>.1/24) and the real daemon serving DHCP, TFTP and
/// HTTP on it; the cluster is initialised with network `cluster` (10.99.<n>.0/24, DHCP range
/// .200–.250) and the daemon as frontend.
pub struct Lab {
    /// Dropped first: the daemon dies before its namespace goes.
    pub daemon: Daemon,
    pub ns: Netns,
    /// The third octet of 10.99.<n>.0/24.
    pub subnet: u8,
    pub dir: tempfile::TempDir,
}

impl Lab {
    /// A lab on the next free /24 (namespaces isolate labs of other test processes).
    /// `extra_toml` is appended to the daemon's luna.toml.
    pub fn start(extra_toml: &str) -> Lab {
        let subnet = NEXT_SUBNET.fetch_add(1, Ordering::Relaxed);
        let ns = Netns::new("vm");
        ns.run_ok(&["ip", "link", "add", "br0", "type", "bridge"]);
        ns.run_ok(&[
            "ip",
            "addr",
            "add",
            &format!("10.99.{subnet}.1/24"),
            "dev",
            "br0",
        ]);
        ns.run_ok(&["ip", "link", "set", "br0", "up"]);
        let config = format!(
            "[dhcp]\ninterfaces = [\"br0\"]\n\n[tftp]\nlisten = \"10.99.{subnet}.1:69\"\n\n[dist]\nagent_binary = \"{}\"\n{extra_toml}",
            static_agent().display()
        );
        let daemon = Daemon::start_with(&config, Some(&ns.name));
        let host = format!("10.99.{subnet}.1");
        daemon
            .luna(&[
                "cluster",
                "init",
                "--frontend-address",
                &host,
                "--frontend-port",
                &daemon.port.to_string(),
            ])
            .ok();
        daemon
            .luna(&[
                "network",
                "add",
                "-n",
                "cluster",
                "-N",
                &format!("10.99.{subnet}.0/24"),
                "--ns-ip",
                &host,
                "--dhcp-range",
                &format!("10.99.{subnet}.200-10.99.{subnet}.250"),
            ])
            .ok();
        Lab {
            daemon,
            ns,
            subnet,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The host's address on the bridge.
    pub fn host_ip(&self) -> String {
        format!("10.99.{}.1", self.subnet)
    }

    /// The daemon's URL as VMs reach it.
    pub fn url(&self) -> String {
        format!("http://{}:{}", self.host_ip(), self.daemon.port)
    }

    /// `luna osimage add` of `root` (with `kernopts`), then `osimage pack`: the kernel and
    /// initramfs (with the static agent) go to `DATA/boot/<name>`, the tarball to the seeder.
    pub fn add_and_pack_image(&self, name: &str, root: &Path, kernopts: &str) {
        self.daemon
            .luna(&[
                "osimage",
                "add",
                "-n",
                name,
                "-p",
                root.to_str().unwrap(),
                "--kernopts",
                kernopts,
            ])
            .ok();
        let started = Instant::now();
        self.daemon.luna(&["osimage", "pack", name]).ok();
        eprintln!("osimage pack {name}: {:?}", started.elapsed());
    }

    /// Starts a VM on a new tap `tap<i>` of the bridge.
    pub fn vm(&self, spec: VmSpec) -> Vm {
        static NEXT_TAP: AtomicU8 = AtomicU8::new(0);
        let tap = format!("tap{}", NEXT_TAP.fetch_add(1, Ordering::Relaxed));
        self.ns
            .run_ok(&["ip", "tuntap", "add", "dev", &tap, "mode", "tap"]);
        self.ns
            .run_ok(&["ip", "link", "set", &tap, "master", "br0"]);
        self.ns.run_ok(&["ip", "link", "set", &tap, "up"]);
        let serial = self.dir.path().join(format!("{}.serial", spec.name));
        let argv = spec.qemu_argv(&tap, &serial);
        let child = self
            .ns
            .command("timeout")
            .arg(spec.timeout.as_secs().to_string())
            .args(&argv)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(self.dir.path().join(format!("{}.qemu.log", spec.name)))
                    .unwrap(),
            )
            .spawn()
            .expect("start qemu-system-x86_64");
        Vm {
            name: spec.name,
            child: Some(child),
            serial,
            ns: self.ns.name.clone(),
            tap,
            started: Instant::now(),
        }
    }
}

/// What a VM looks like. `VmSpec::new(name, mac)` gives a network-booting VM with no disk.
#[derive(Debug, Clone)]
pub struct VmSpec {
    pub name: String,
    pub mac: String,
    /// A disk image (raw unless it ends in .qcow2), as a virtio disk.
    pub disk: Option<PathBuf>,
    pub memory_mb: u32,
    /// QEMU `-boot order=`: "n" network only, "nc" network then disk, "c" disk.
    pub boot_order: String,
    /// When false, a guest reboot ends QEMU (`-no-reboot`).
    pub allow_reboot: bool,
    /// QEMU is killed after this long (`timeout`).
    pub timeout: Duration,
    pub extra_args: Vec<String>,
}

impl VmSpec {
    pub fn new(name: &str, mac: &str) -> VmSpec {
        VmSpec {
            name: name.into(),
            mac: mac.into(),
            disk: None,
            memory_mb: 1024,
            boot_order: "n".into(),
            allow_reboot: false,
            timeout: Duration::from_secs(600),
            extra_args: Vec::new(),
        }
    }

    /// The QEMU command line (without the `timeout` wrapper) for a VM on `tap`, serial to
    /// `serial`. Run it inside the lab's namespace (`ip netns exec NS …`).
    pub fn qemu_argv(&self, tap: &str, serial: &Path) -> Vec<String> {
        let mut a: Vec<String> = [
            "qemu-system-x86_64",
            "-machine",
            "q35,accel=tcg",
            "-smp",
            "1",
            "-display",
            "none",
            "-monitor",
            "none",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(["-m".into(), self.memory_mb.to_string()]);
        a.extend(["-boot".into(), format!("order={}", self.boot_order)]);
        a.extend([
            "-netdev".into(),
            format!("tap,id=n0,ifname={tap},script=no,downscript=no"),
        ]);
        a.extend([
            "-device".into(),
            format!("virtio-net-pci,netdev=n0,mac={}", self.mac),
        ]);
        a.extend(["-serial".into(), format!("file:{}", serial.display())]);
        if let Some(disk) = &self.disk {
            let format = if disk.extension().is_some_and(|e| e == "qcow2") {
                "qcow2"
            } else {
                "raw"
            };
            a.extend([
                "-drive".into(),
                format!("file={},if=virtio,format={format}", disk.display()),
            ]);
        }
        if !self.allow_reboot {
            a.push("-no-reboot".into());
        }
        a.extend(self.extra_args.iter().cloned());
        a
    }
}

/// A running QEMU VM; killed (by PID) and its tap removed (by name) on drop.
pub struct Vm {
    pub name: String,
    child: Option<Child>,
    pub serial: PathBuf,
    ns: String,
    pub tap: String,
    pub started: Instant,
}

impl Vm {
    /// The serial console so far.
    pub fn serial_text(&self) -> String {
        std::fs::read(&self.serial)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Waits until a complete serial line contains `pattern`; returns that line, or an error
    /// with the console so far (QEMU exiting early ends the wait too).
    pub fn wait_for_serial(&mut self, pattern: &str, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.serial_text();
            // Only whole lines: QEMU may be halfway through writing the last one.
            let complete = text.rfind('\n').map_or("", |i| &text[..i]);
            if let Some(line) = complete.lines().find(|l| l.contains(pattern)) {
                return Ok(line.trim_end_matches('\r').to_string());
            }
            let exited = self
                .child
                .as_mut()
                .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
            if exited || Instant::now() > deadline {
                return Err(format!(
                    "VM {}: {pattern:?} not on the serial console after {:?}{}; console:\n{}",
                    self.name,
                    self.started.elapsed(),
                    if exited { " (QEMU exited)" } else { "" },
                    tail(&text, 60)
                ));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops QEMU: SIGTERM to `timeout` (which passes it on), SIGKILL if it lingers.
    pub fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        self.kill();
        let _ = Command::new("ip")
            .args(["netns", "exec", &self.ns, "ip", "link", "del", &self.tap])
            .output();
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
