//! Simulators for the switch and power tests, started and killed (by PID) by the tests:
//! snmpsim (SNMP agent), ipmi_sim (IPMI LAN BMC) and sushy-emulator (Redfish BMC), plus the
//! first-party WASM plugins built once per test binary.
#![allow(dead_code)]

// The simulators themselves live with `luna bench power|switches`; tests get panicking wrappers.
#[path = "../../src/simulators.rs"]
mod simulators;

pub use simulators::Proc;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

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
                "-p",
                "power-v01",
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

pub fn free_udp_port() -> u16 {
    simulators::free_udp_port().unwrap()
}

pub fn free_tcp_port() -> u16 {
    simulators::free_tcp_port().unwrap()
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

/// snmpsim answering on every `endpoint`; see [`simulators::snmpsim`].
pub fn snmpsim(dir: &Path, endpoints: &[String]) -> Proc {
    simulators::snmpsim(dir, endpoints).unwrap_or_else(|e| panic!("{e}"))
}

/// The snmprec records of a 48-port switch; see [`simulators::switch_records`].
pub fn switch_records(name: &str, macs: &[(u32, String)]) -> String {
    simulators::switch_records(name, macs)
}

/// An ipmi_sim BMC on `addr:port`; see [`simulators::ipmi_sim`] for the state files it keeps.
pub fn ipmi_sim(dir: &Path, addr: &str, port: u16) -> Proc {
    ipmi_sim_with(dir, addr, port, "")
}

/// [`ipmi_sim`] whose chassis script also runs `on_power` (shell, `$2` is "1" or "0") after each
/// power change: tests use it to start and stop a VM.
pub fn ipmi_sim_with(dir: &Path, addr: &str, port: u16, on_power: &str) -> Proc {
    simulators::ipmi_sim(dir, addr, port, on_power, None).unwrap_or_else(|e| panic!("{e}"))
}

/// [`ipmi_sim_with`] inside network namespace `netns` (a VM lab's, so its script can reach the
/// lab's bridge).
pub fn ipmi_sim_in(netns: &str, dir: &Path, addr: &str, port: u16, on_power: &str) -> Proc {
    simulators::ipmi_sim(dir, addr, port, on_power, Some(netns)).unwrap_or_else(|e| panic!("{e}"))
}

/// A Redfish BMC (sushy-emulator, fake driver) on `addr:port`, plain HTTP.
pub fn sushy(addr: &str, port: u16) -> Proc {
    simulators::sushy(addr, port).unwrap_or_else(|e| panic!("{e}"))
}

/// `ipmitool chassis bootparam get 5` (boot flags) of an ipmi_sim BMC: what the BMC itself
/// reports about the next boot ("Force PXE", "Options apply to only next boot").
pub fn ipmi_boot_flags(addr: &str, port: u16) -> String {
    let out = Command::new("ipmitool")
        .args([
            "-I",
            "lanplus",
            "-C",
            "3",
            "-H",
            addr,
            "-p",
            &port.to_string(),
        ])
        .args([
            "-U",
            "admin",
            "-P",
            "secret",
            "chassis",
            "bootparam",
            "get",
            "5",
        ])
        .output()
        .expect("run ipmitool");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The first system resource of a sushy-emulator BMC, read through its own Redfish API.
pub fn redfish_system(addr: &str, port: u16) -> serde_json::Value {
    let base = format!("http://{addr}:{port}");
    let get = |url: String| async move {
        reqwest::get(url)
            .await
            .expect("reach sushy-emulator")
            .json::<serde_json::Value>()
            .await
            .expect("a JSON answer from sushy-emulator")
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let list = get(format!("{base}/redfish/v1/Systems")).await;
            let path = list["Members"][0]["@odata.id"]
                .as_str()
                .unwrap()
                .to_string();
            get(format!("{base}{path}")).await
        })
}
