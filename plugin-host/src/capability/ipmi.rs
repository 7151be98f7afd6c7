//! ipmitool over LAN towards the node's BMC. Runs the binary with an argument vector (never a
//! shell); the password travels in the environment (`-E`), not on the command line.

use super::{Scope, same_host};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn run(
    scope: &Scope,
    ipmitool: &str,
    target: &str,
    args: &[String],
    timeout: Duration,
) -> Result<String, String> {
    let Scope::Bmc(bmc) = scope else {
        return Err("IPMI is only available to power plugins".into());
    };
    let Some(bmc) = bmc else {
        return Err("the node has no BMC settings; set them on its group's bmcsetup".into());
    };
    let Some(address) = bmc.address.as_deref() else {
        return Err("the node's BMC has no address".into());
    };
    if !same_host(target, address) {
        return Err(format!(
            "IPMI to {target} denied: this plugin may only reach the node's BMC at {address}"
        ));
    }
    // Options after the command could redirect ipmitool to another host (getopt permutes).
    if let Some(bad) = args.iter().find(|a| a.starts_with('-')) {
        return Err(format!(
            "IPMI argument '{bad}' denied: options are set by the host; pass only the command"
        ));
    }
    if args.is_empty() {
        return Err("IPMI needs a command, e.g. [\"chassis\", \"power\", \"status\"]".into());
    }
    let port = bmc.port.unwrap_or(623).to_string();
    let mut child = Command::new(ipmitool)
        .args([
            "-I", "lanplus", "-C", "3", "-H", address, "-p", &port, "-U", &bmc.user, "-E",
        ])
        .args(args)
        .env("IPMI_PASSWORD", &bmc.password)
        .env("POSIXLY_CORRECT", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {ipmitool}: {e}; install the ipmitool package"))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "ipmitool {} timed out after {}s",
                    args.join(" "),
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for ipmitool: {e}")),
        }
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut stdout);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    if status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "ipmitool {} failed ({status}): {}",
            args.join(" "),
            stderr.trim()
        ))
    }
}
