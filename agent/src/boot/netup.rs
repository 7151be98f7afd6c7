//! Before the plan can be fetched: load the NIC and disk drivers the initramfs carries and bring
//! up the boot NIC (the one with the boot MAC) with busybox `udhcpc`.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};

/// `insmod`s every module listed in `list` (paths relative to /lib/modules/$(uname -r), in
/// dependency order, as the initramfs builder writes them) that is not loaded yet. Returns
/// how many were loaded; a module that fails to load is reported, not fatal (the hardware may
/// simply not be there).
pub fn load_modules(list: &Path) -> usize {
    let Ok(text) = std::fs::read_to_string(list) else {
        return 0;
    };
    let loaded = std::fs::read_to_string("/proc/modules").unwrap_or_default();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let mut count = 0;
    for rel in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let name = Path::new(rel)
            .file_name()
            .and_then(|n| n.to_str())
            .map(|n| n.split('.').next().unwrap_or(n).replace('-', "_"))
            .unwrap_or_default();
        if loaded
            .lines()
            .any(|l| l.split(' ').next() == Some(name.as_str()))
        {
            continue;
        }
        let path = Path::new("/lib/modules").join(&release).join(rel);
        match std::process::Command::new("insmod").arg(&path).status() {
            Ok(s) if s.success() => count += 1,
            Ok(s) => eprintln!("luna-agent: insmod {} failed ({s})", path.display()),
            Err(e) => eprintln!("luna-agent: insmod {}: {e}", path.display()),
        }
    }
    count
}

/// The interface whose MAC is `mac`, under a `/sys/class/net` directory.
pub fn interface_with_mac(class_net: &Path, mac: &str) -> Option<String> {
    let mac = mac.to_ascii_lowercase();
    std::fs::read_dir(class_net).ok()?.flatten().find_map(|e| {
        let addr = std::fs::read_to_string(e.path().join("address")).ok()?;
        (addr.trim().to_ascii_lowercase() == mac)
            .then(|| e.file_name().to_string_lossy().into_owned())
    })
}

const UDHCPC_SCRIPT: &str = r#"#!/bin/sh
# udhcpc event script written by luna-agent: configure the lease on the boot NIC.
case "$1" in
deconfig)
    ip -4 addr flush dev "$interface"
    ip link set dev "$interface" up
    ;;
bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    if [ -n "$router" ]; then
        for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
    fi
    : > /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    ;;
esac
exit 0
"#;

/// Brings up the boot NIC with DHCP, waiting up to `wait` for the interface to appear (its
/// driver may still be probing) and retrying DHCP until then.
pub async fn bring_up(mac: &str, wait: Duration) -> anyhow::Result<String> {
    let deadline = tokio::time::Instant::now() + wait;
    let iface = loop {
        if let Some(i) = interface_with_mac(Path::new("/sys/class/net"), mac) {
            break i;
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "no network interface has the boot MAC {mac}; is its driver in the initramfs (luna osimage change --drivers …)?"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let _ = tokio::process::Command::new("ip")
        .args(["link", "set", "dev", "lo", "up"])
        .status()
        .await;
    let script = Path::new("/run/luna/udhcpc.script");
    std::fs::create_dir_all("/run/luna").context("creating /run/luna")?;
    std::fs::write(script, UDHCPC_SCRIPT).context("writing the udhcpc script")?;
    std::fs::set_permissions(script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .context("making the udhcpc script executable")?;
    loop {
        let status = tokio::process::Command::new("udhcpc")
            .args(["-i", &iface, "-n", "-q", "-t", "5", "-T", "2", "-s"])
            .arg(script)
            .status()
            .await
            .context("running udhcpc (busybox)")?;
        if status.success() {
            eprintln!("luna-agent: {iface} ({mac}) is up");
            return Ok(iface);
        }
        if tokio::time::Instant::now() > deadline {
            bail!(
                "no DHCP lease on {iface} ({mac}); is the Luna host's DHCP server serving this network?"
            );
        }
        eprintln!("luna-agent: no DHCP lease on {iface} yet; retrying");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_interface_by_mac_in_any_case() {
        let t = tempfile::tempdir().unwrap();
        for (name, mac) in [("eth0", "52:54:00:00:00:01"), ("eth1", "52:54:00:ab:cd:ef")] {
            std::fs::create_dir_all(t.path().join(name)).unwrap();
            std::fs::write(t.path().join(name).join("address"), format!("{mac}\n")).unwrap();
        }
        assert_eq!(
            interface_with_mac(t.path(), "52:54:00:AB:CD:EF").as_deref(),
            Some("eth1")
        );
        assert_eq!(interface_with_mac(t.path(), "52:54:00:00:00:09"), None);
    }
}
