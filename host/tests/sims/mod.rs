//! Simulators for the switch and power tests, started and killed (by PID) by the tests:
//! snmpsim (SNMP agent), ipmi_sim (IPMI LAN BMC) and sushy-emulator (Redfish BMC), plus the
//! first-party WASM plugins built once per test binary.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Kills the process when the test ends, however it ends.
pub struct Proc(pub Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `<package>.wasm` of a first-party plugin. `LUNA_PLUGIN_WASM_DIR` points at prebuilt ones;
/// otherwise they are built with `cargo build --release --target wasm32-wasip2` into
/// `<target>/plugin-wasm` (its own target dir, so it never waits on the outer build lock).
pub fn wasm(package: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        if let Some(dir) = std::env::var_os("LUNA_PLUGIN_WASM_DIR") {
            return PathBuf::from(dir);
        }
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .unwrap()
            .join("plugin-wasm");
        let status = Command::new(option_env!("CARGO").unwrap_or("cargo"))
            .current_dir(workspace_root())
            .args(["build", "--release", "--target", "wasm32-wasip2"])
            .args([
                "-p",
                "bridge-mib",
                "-p",
                "ipmi-power",
                "-p",
                "redfish-power",
            ])
            .env("CARGO_TARGET_DIR", &target)
            .status()
            .expect("run cargo to build the WASM plugins");
        assert!(
            status.success(),
            "building the WASM plugins failed (rustup target add wasm32-wasip2?)"
        );
        target.join("wasm32-wasip2").join("release")
    });
    dir.join(format!("{}.wasm", package.replace('-', "_")))
}

fn tool(env: &str, name: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return p.into();
    }
    let venv = PathBuf::from(std::env::var("HOME").unwrap_or_default())
        .join(".cache/luna-pyenv/bin")
        .join(name);
    if venv.exists() {
        return venv;
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{name} not found: run scripts/test.sh's setup (or set {env})"))
}

pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `f` until it returns `Some`, panicking with `what` after `limit`.
#[track_caller]
pub fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// snmpsim answering on every `endpoint` ("127.0.1.1:16161"); the community selects the data
/// file `DIR/data/<community>.snmprec`, which may be edited while it runs.
pub fn snmpsim(dir: &Path, endpoints: &[String]) -> Proc {
    let mut cmd = Command::new(tool("LUNA_SNMPSIM", "snmpsim-command-responder"));
    cmd.arg(format!("--data-dir={}", dir.join("data").display()))
        .arg(format!("--cache-dir={}", dir.join("cache").display()))
        .args(["--process-user=root", "--process-group=root"]);
    for e in endpoints {
        cmd.arg(format!("--agent-udpv4-endpoint={e}"));
    }
    Proc(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start snmpsim"),
    )
}

/// The records of a 48-port access switch with two 10G uplinks (bridge ports 49, 50):
/// dot1dBasePortIfIndex, ifName, and one MAC per listed port in both dot1dTpFdbPort and
/// dot1qTpFdbPort (VLAN 1). `macs` is (bridge port, MAC).
pub fn switch_records(name: &str, macs: &[(u32, String)]) -> String {
    let mut lines = vec![format!("1.3.6.1.2.1.1.5.0|4|{name}")];
    for p in 1..=50u32 {
        lines.push(format!("1.3.6.1.2.1.17.1.4.1.2.{p}|2|{}", 10000 + p));
    }
    let mut fdb: Vec<(String, u32)> = macs.iter().map(|(p, m)| (oid_of(m), *p)).collect();
    fdb.sort();
    for (oid, p) in &fdb {
        lines.push(format!("1.3.6.1.2.1.17.4.3.1.2.{oid}|2|{p}"));
    }
    for (oid, p) in &fdb {
        lines.push(format!("1.3.6.1.2.1.17.7.1.2.2.1.2.1.{oid}|2|{p}"));
    }
    for p in 1..=50u32 {
        let n = if p <= 48 {
            format!("Gi1/0/{p}")
        } else {
            format!("Te1/1/{}", p - 48)
        };
        lines.push(format!("1.3.6.1.2.1.31.1.1.1.1.{}|4|{n}", 10000 + p));
    }
    // snmpsim wants the records in OID order.
    lines.sort_by_key(|l| {
        l.split('|')
            .next()
            .unwrap()
            .split('.')
            .map(|x| x.parse::<u64>().unwrap())
            .collect::<Vec<_>>()
    });
    lines.join("\n") + "\n"
}

fn oid_of(mac: &str) -> String {
    mac.split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap().to_string())
        .collect::<Vec<_>>()
        .join(".")
}

/// An ipmi_sim BMC (lanplus, user admin/secret) on `addr:port`; its chassis-control script keeps
/// the power state in `DIR/power`.
pub fn ipmi_sim(dir: &Path, addr: &str, port: u16) -> Proc {
    std::fs::create_dir_all(dir.join("state")).unwrap();
    let state = dir.join("power");
    let script = dir.join("chassis");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nwhile [ $# -gt 0 ] && [ \"$1\" != get ] && [ \"$1\" != set ]; do shift; done\n\
             op=$1; shift\n\
             if [ \"$op\" = get ]; then\n  for item in \"$@\"; do\n    case $item in\n      power) echo \"power:$(cat {s} 2>/dev/null || echo 0)\";;\n      boot) echo \"boot:default\";;\n    esac\n  done\n\
             else\n  while [ $# -gt 1 ]; do\n    case $1 in power) echo \"$2\" > {s};; esac\n    shift 2\n  done\nfi\n",
            s = state.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        dir.join("lan.conf"),
        format!(
            "name \"luna-test\"\nset_working_mc 0x20\n  startlan 1\n    addr {addr} {port}\n    priv_limit admin\n\
             \x20   allowed_auths_callback none md2 md5 straight\n    allowed_auths_user none md2 md5 straight\n\
             \x20   allowed_auths_operator none md2 md5 straight\n    allowed_auths_admin none md2 md5 straight\n\
             \x20   guid a123456789abcdefa123456789abcdef\n  endlan\n  chassis_control \"{}\"\n\
             \x20 user 2 true \"admin\" \"secret\" admin 10 none md2 md5 straight\n",
            script.display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("sim.emu"),
        "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n",
    )
    .unwrap();
    Proc(
        Command::new("ipmi_sim")
            .arg("-c")
            .arg(dir.join("lan.conf"))
            .arg("-f")
            .arg(dir.join("sim.emu"))
            .arg("-s")
            .arg(dir.join("state"))
            .arg("-n")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ipmi_sim (apt-get install openipmi)"),
    )
}

/// A Redfish BMC (sushy-emulator, fake driver) on `addr:port`, plain HTTP.
pub fn sushy(addr: &str, port: u16) -> Proc {
    Proc(
        Command::new(tool("LUNA_SUSHY", "sushy-emulator"))
            .args(["--fake", "-i", addr, "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sushy-emulator"),
    )
}
