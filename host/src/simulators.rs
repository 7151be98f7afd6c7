//! Device simulators for `luna bench power|switches` and the tests (which include this file from
//! `host/tests/sims`): OpenIPMI's ipmi_sim (IPMI LAN BMC), sushy-emulator (Redfish BMC) and
//! snmpsim (SNMP switch). Standard library only, so a test crate can compile it as its own module.
//! Every simulator is a child process killed when its [`Proc`] drops.
#![allow(dead_code)] // the tests and the benchmarks each use a part

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Kills the process when dropped, however the caller ends.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A simulator's program: `$ENV`, then the Python venv the test set-up makes
/// (~/.cache/luna-pyenv), then PATH.
pub fn tool(env: &str, name: &str) -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os(env) {
        return Ok(p.into());
    }
    let venv = PathBuf::from(std::env::var("HOME").unwrap_or_default())
        .join(".cache/luna-pyenv/bin")
        .join(name);
    if venv.exists() {
        return Ok(venv);
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(name))
        .find(|p| p.exists())
        .ok_or_else(|| {
            format!("{name} not found: run scripts/test.sh's set-up, put it on PATH or set {env}")
        })
}

fn spawn(cmd: &mut Command, what: &str) -> Result<Proc, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(Proc)
        .map_err(|e| format!("cannot start {what}: {e}"))
}

/// An ipmi_sim BMC (lanplus, user admin/secret) on `addr:port`. Its chassis-control script keeps
/// the power state in `DIR/power`, the next boot device in `DIR/boot` (what
/// `chassis bootparam get 5` reports) and the last identify request ("<interval> <force>") in
/// `DIR/identify`; after each power change it runs `on_power` (shell; `$2` is "1" or "0").
/// With `netns`, the BMC (and so its script) runs inside that network namespace.
pub fn ipmi_sim(
    dir: &Path,
    addr: &str,
    port: u16,
    on_power: &str,
    netns: Option<&str>,
) -> Result<Proc, String> {
    let io = |e: std::io::Error| format!("ipmi_sim files in {}: {e}", dir.display());
    std::fs::create_dir_all(dir.join("state")).map_err(io)?;
    let script = dir.join("chassis");
    // ipmi_sim calls "<script> [mc] get power boot", "<script> [mc] set power 1",
    // "set boot pxe" and "set identify '<interval> <force>'" (the last value is one word).
    let body = r#"#!/bin/sh
cd "DIR"
while [ $# -gt 0 ] && [ "$1" != get ] && [ "$1" != set ]; do shift; done
op=$1; shift
if [ "$op" = get ]; then
  for item in "$@"; do
    case $item in
      power) echo "power:$(cat power 2>/dev/null || echo 0)";;
      boot) echo "boot:$(cat boot 2>/dev/null || echo default)";;
    esac
  done
else
  while [ $# -gt 1 ]; do
    case $1 in
      power) echo "$2" > power
        ON_POWER
        shift 2;;
      boot) echo "$2" > boot; shift 2;;
      identify) shift; echo "$*" > identify; break;;
      *) shift 2;;
    esac
  done
fi
"#
    .replace("DIR", &dir.display().to_string())
    .replace("ON_POWER", if on_power.is_empty() { ":" } else { on_power });
    std::fs::write(&script, body).map_err(io)?;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).map_err(io)?;
    std::fs::write(
        dir.join("lan.conf"),
        format!(
            "name \"luna-sim\"\nset_working_mc 0x20\n  startlan 1\n    addr {addr} {port}\n    priv_limit admin\n\
             \x20   allowed_auths_callback none md2 md5 straight\n    allowed_auths_user none md2 md5 straight\n\
             \x20   allowed_auths_operator none md2 md5 straight\n    allowed_auths_admin none md2 md5 straight\n\
             \x20   guid a123456789abcdefa123456789abcdef\n  endlan\n  chassis_control \"{}\"\n\
             \x20 user 2 true \"admin\" \"secret\" admin 10 none md2 md5 straight\n",
            script.display()
        ),
    )
    .map_err(io)?;
    std::fs::write(
        dir.join("sim.emu"),
        "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n",
    )
    .map_err(io)?;
    // `ip netns exec` execs the program: the pid stays the simulator's.
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "ipmi_sim"]);
            c
        }
        None => Command::new("ipmi_sim"),
    };
    spawn(
        cmd.arg("-c")
            .arg(dir.join("lan.conf"))
            .arg("-f")
            .arg(dir.join("sim.emu"))
            .arg("-s")
            .arg(dir.join("state"))
            .arg("-n"),
        "ipmi_sim (apt-get install openipmi)",
    )
}

/// A Redfish BMC (sushy-emulator, fake driver) on `addr:port`, plain HTTP.
pub fn sushy(addr: &str, port: u16) -> Result<Proc, String> {
    spawn(
        Command::new(tool("LUNA_SUSHY", "sushy-emulator")?).args([
            "--fake",
            "-i",
            addr,
            "-p",
            &port.to_string(),
        ]),
        "sushy-emulator",
    )
}

/// snmpsim answering on every `endpoint` ("127.0.1.1:16161"); the community selects the data
/// file `DIR/data/<community>.snmprec`, which may be edited while it runs.
pub fn snmpsim(dir: &Path, endpoints: &[String]) -> Result<Proc, String> {
    let mut cmd = Command::new(tool("LUNA_SNMPSIM", "snmpsim-command-responder")?);
    cmd.arg(format!("--data-dir={}", dir.join("data").display()))
        .arg(format!("--cache-dir={}", dir.join("cache").display()))
        .args(["--process-user=root", "--process-group=root"]);
    for e in endpoints {
        cmd.arg(format!("--agent-udpv4-endpoint={e}"));
    }
    spawn(&mut cmd, "snmpsim")
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
            .unwrap_or_default()
            .split('.')
            .map(|x| x.parse::<u64>().unwrap_or(0))
            .collect::<Vec<_>>()
    });
    lines.join("\n") + "\n"
}

fn oid_of(mac: &str) -> String {
    mac.split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap_or(0).to_string())
        .collect::<Vec<_>>()
        .join(".")
}

pub fn free_udp_port() -> std::io::Result<u16> {
    Ok(std::net::UdpSocket::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub fn free_tcp_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
