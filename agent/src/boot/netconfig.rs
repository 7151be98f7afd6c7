//! Network configuration and hostname of the installed system, written in the format of the
//! image's distribution family (from `/etc/os-release` in the target): ifcfg files for older
//! RHEL-likes, NetworkManager keyfiles for RHEL 9+ and Fedora, netplan for Ubuntu,
//! systemd-networkd for Debian. The boot interface is matched by MAC (the installed system may
//! name it differently from the initramfs); other interfaces by their name in the group.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use luna_proto::plan::NodePlan;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `/etc/sysconfig/network-scripts/ifcfg-*`.
    Ifcfg,
    /// `/etc/NetworkManager/system-connections/*.nmconnection`.
    Keyfile,
    /// `/etc/netplan/*.yaml`.
    Netplan,
    /// `/etc/systemd/network/*.network`.
    Networkd,
}

/// One interface to configure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceSpec {
    /// Short identifier used in file and connection names (`bootif`, `eth1`).
    pub id: String,
    /// Match by this MAC (the boot interface) …
    pub mac: Option<String>,
    /// … or by this interface name.
    pub name: Option<String>,
    /// Addresses with prefix length.
    pub addresses: Vec<String>,
    pub gateway: Option<String>,
    pub nameservers: Vec<String>,
    pub mtu: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetSpec {
    pub hostname: String,
    pub interfaces: Vec<IfaceSpec>,
}

impl NetSpec {
    /// Every plan interface but `BMC` (set up by the BMC step); `BOOTIF` matched by `boot_mac`.
    pub fn from_plan(plan: &NodePlan, boot_mac: Option<&str>) -> anyhow::Result<Self> {
        let mut interfaces = Vec::new();
        for i in &plan.interfaces {
            if i.name.eq_ignore_ascii_case("BMC") {
                continue;
            }
            let (id, mac, name) = if i.name.eq_ignore_ascii_case("BOOTIF") {
                let mac = boot_mac
                    .or(plan.mac.as_deref())
                    .context("the plan has a BOOTIF interface but the node has no boot MAC; set it with 'luna node change NODE --mac …'")?;
                ("bootif".to_string(), Some(mac.to_ascii_lowercase()), None)
            } else {
                (i.name.clone(), None, Some(i.name.clone()))
            };
            let mut nameservers: Vec<String> = Vec::new();
            for a in &i.addresses {
                let ns = a.nameserver.trim();
                if !ns.is_empty() && !nameservers.iter().any(|n| n == ns) {
                    nameservers.push(ns.to_string());
                }
            }
            interfaces.push(IfaceSpec {
                id,
                mac,
                name,
                addresses: i.addresses.iter().map(|a| a.cidr.clone()).collect(),
                gateway: i.addresses.iter().find_map(|a| a.gateway.clone()),
                nameservers,
                mtu: mtu_of(&i.params),
            });
        }
        Ok(NetSpec {
            hostname: plan.hostname.clone(),
            interfaces,
        })
    }
}

/// `mtu=9000` (or `MTU=9000`) among an interface's space-separated parameters.
fn mtu_of(params: &str) -> Option<u32> {
    params.split([' ', ',', ';']).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.eq_ignore_ascii_case("mtu").then(|| v.parse().ok())?
    })
}

/// Reads the target's `/etc/os-release` and picks the family.
pub fn detect(root: &Path) -> anyhow::Result<Family> {
    let path = ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .map(|p| root.join(p))
        .find(|p| p.exists())
        .with_context(|| {
            format!(
                "the image in {} has no /etc/os-release, so its distribution family (and network configuration format) is unknown",
                root.display()
            )
        })?;
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(family_of(&text, root.join("etc/NetworkManager").is_dir()))
}

/// The family for an os-release text; `has_nm` says the image has NetworkManager.
pub fn family_of(os_release: &str, has_nm: bool) -> Family {
    let field = |key: &str| {
        os_release
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').to_ascii_lowercase())
            .unwrap_or_default()
    };
    let id = field("ID");
    let like = field("ID_LIKE");
    let major: u32 = field("VERSION_ID")
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    let is = |name: &str| id == name || like.split_whitespace().any(|l| l == name);
    if id == "fedora" {
        Family::Keyfile
    } else if is("rhel") || is("centos") || is("fedora") {
        if major >= 9 {
            Family::Keyfile
        } else {
            Family::Ifcfg
        }
    } else if id == "ubuntu" {
        Family::Netplan
    } else if is("debian") {
        Family::Networkd
    } else if has_nm {
        Family::Keyfile
    } else {
        Family::Networkd
    }
}

/// A file to write into the target: path relative to the root, content, mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutFile {
    pub path: PathBuf,
    pub content: String,
    pub mode: u32,
}

/// Everything `family` needs for `spec`, including hostname and hosts files.
pub fn render(family: Family, spec: &NetSpec) -> anyhow::Result<Vec<OutFile>> {
    for i in &spec.interfaces {
        for a in &i.addresses {
            if split_cidr(a).is_none() {
                bail!("interface {}: address '{a}' is not ADDRESS/PREFIX", i.id);
            }
        }
    }
    let mut files = match family {
        Family::Ifcfg => spec.interfaces.iter().map(ifcfg).collect(),
        Family::Keyfile => spec.interfaces.iter().map(keyfile).collect(),
        Family::Netplan => vec![netplan(spec)],
        Family::Networkd => spec.interfaces.iter().map(networkd).collect::<Vec<_>>(),
    };
    if matches!(family, Family::Netplan | Family::Networkd) {
        // Without systemd-resolved nothing would read DNS= from the unit files.
        let ns: Vec<&String> = spec
            .interfaces
            .iter()
            .flat_map(|i| &i.nameservers)
            .collect();
        if !ns.is_empty() {
            let mut c = String::from("# Written by luna-agent\n");
            for n in ns {
                let _ = writeln!(c, "nameserver {n}");
            }
            files.push(OutFile {
                path: "etc/resolv.conf".into(),
                content: c,
                mode: 0o644,
            });
        }
    }
    files.push(OutFile {
        path: "etc/hostname".into(),
        content: format!("{}\n", spec.hostname),
        mode: 0o644,
    });
    Ok(files)
}

fn split_cidr(cidr: &str) -> Option<(&str, u8)> {
    let (ip, prefix) = cidr.split_once('/')?;
    let prefix: u8 = prefix.parse().ok()?;
    let v6 = ip.parse::<std::net::IpAddr>().ok()?.is_ipv6();
    (prefix <= if v6 { 128 } else { 32 }).then_some((ip, prefix))
}

fn is_v6(cidr: &str) -> bool {
    cidr.contains(':')
}

fn header() -> &'static str {
    "# Written by luna-agent from the node's install plan\n"
}

fn ifcfg(i: &IfaceSpec) -> OutFile {
    let mut c = String::from(header());
    let _ = writeln!(c, "NAME=luna-{}", i.id);
    if let Some(n) = &i.name {
        let _ = writeln!(c, "DEVICE={n}");
    }
    if let Some(m) = &i.mac {
        let _ = writeln!(c, "HWADDR={}", m.to_ascii_uppercase());
    }
    c.push_str("TYPE=Ethernet\nBOOTPROTO=none\nONBOOT=yes\n");
    let (v4, v6): (Vec<&String>, Vec<&String>) = i.addresses.iter().partition(|a| !is_v6(a));
    for (n, a) in v4.iter().enumerate() {
        let (ip, prefix) = split_cidr(a).unwrap_or_default();
        let suffix = if n == 0 { String::new() } else { n.to_string() };
        let _ = writeln!(c, "IPADDR{suffix}={ip}\nPREFIX{suffix}={prefix}");
    }
    if let Some(g) = &i.gateway {
        let _ = writeln!(c, "GATEWAY={g}");
    }
    for (n, d) in i.nameservers.iter().enumerate() {
        let _ = writeln!(c, "DNS{}={d}", n + 1);
    }
    if !v6.is_empty() {
        c.push_str("IPV6INIT=yes\n");
        let _ = writeln!(c, "IPV6ADDR={}", v6[0]);
        if v6.len() > 1 {
            let rest: Vec<&str> = v6[1..].iter().map(|s| s.as_str()).collect();
            let _ = writeln!(c, "IPV6ADDR_SECONDARIES=\"{}\"", rest.join(" "));
        }
    }
    if let Some(m) = i.mtu {
        let _ = writeln!(c, "MTU={m}");
    }
    OutFile {
        path: format!("etc/sysconfig/network-scripts/ifcfg-luna-{}", i.id).into(),
        content: c,
        mode: 0o644,
    }
}

/// A stable UUID for a connection id (NetworkManager wants one; a fixed one keeps reinstalls
/// and golden files identical).
fn connection_uuid(id: &str) -> String {
    let mut h: [u64; 2] = [0xcbf2_9ce4_8422_2325, 0x6c62_272e_07bb_0142];
    for (n, state) in h.iter_mut().enumerate() {
        for b in id.bytes().chain([n as u8]) {
            *state ^= u64::from(b);
            *state = state.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    let hex = format!("{:016x}{:016x}", h[0], h[1]);
    // Version 4 / variant 1 bits, so tools that check the format accept it.
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

fn keyfile(i: &IfaceSpec) -> OutFile {
    let mut c = String::from(header());
    let _ = writeln!(
        c,
        "[connection]\nid=luna-{id}\nuuid={uuid}\ntype=ethernet\nautoconnect=true",
        id = i.id,
        uuid = connection_uuid(&i.id)
    );
    if let Some(n) = &i.name {
        let _ = writeln!(c, "interface-name={n}");
    }
    c.push_str("\n[ethernet]\n");
    if let Some(m) = &i.mac {
        let _ = writeln!(c, "mac-address={}", m.to_ascii_uppercase());
    }
    if let Some(m) = i.mtu {
        let _ = writeln!(c, "mtu={m}");
    }
    for (family, v6) in [("ipv4", false), ("ipv6", true)] {
        let addrs: Vec<&String> = i.addresses.iter().filter(|a| is_v6(a) == v6).collect();
        let _ = writeln!(c, "\n[{family}]");
        if addrs.is_empty() {
            let _ = writeln!(c, "method={}", if v6 { "ignore" } else { "disabled" });
            continue;
        }
        c.push_str("method=manual\n");
        for (n, a) in addrs.iter().enumerate() {
            let _ = writeln!(c, "address{}={a}", n + 1);
        }
        if let Some(g) = i.gateway.as_ref().filter(|g| is_v6(g) == v6) {
            let _ = writeln!(c, "gateway={g}");
        }
        let dns: Vec<&String> = i.nameservers.iter().filter(|d| is_v6(d) == v6).collect();
        if !dns.is_empty() {
            let list: Vec<&str> = dns.iter().map(|d| d.as_str()).collect();
            let _ = writeln!(c, "dns={};", list.join(";"));
        }
    }
    OutFile {
        path: format!(
            "etc/NetworkManager/system-connections/luna-{}.nmconnection",
            i.id
        )
        .into(),
        content: c,
        // NetworkManager ignores keyfiles other users can read.
        mode: 0o600,
    }
}

fn netplan(spec: &NetSpec) -> OutFile {
    let mut c = String::from(header());
    c.push_str("network:\n  version: 2\n  renderer: networkd\n  ethernets:\n");
    for i in &spec.interfaces {
        let _ = writeln!(c, "    {}:", i.id);
        match (&i.mac, &i.name) {
            (Some(m), _) => {
                let _ = writeln!(c, "      match:\n        macaddress: \"{m}\"");
            }
            (None, Some(n)) if *n != i.id => {
                let _ = writeln!(c, "      match:\n        name: \"{n}\"");
            }
            _ => {}
        }
        c.push_str("      dhcp4: false\n      dhcp6: false\n");
        if !i.addresses.is_empty() {
            c.push_str("      addresses:\n");
            for a in &i.addresses {
                let _ = writeln!(c, "        - \"{a}\"");
            }
        }
        if let Some(g) = &i.gateway {
            let _ = writeln!(
                c,
                "      routes:\n        - to: default\n          via: \"{g}\""
            );
        }
        if !i.nameservers.is_empty() {
            let list: Vec<String> = i.nameservers.iter().map(|n| format!("\"{n}\"")).collect();
            let _ = writeln!(
                c,
                "      nameservers:\n        addresses: [{}]",
                list.join(", ")
            );
        }
        if let Some(m) = i.mtu {
            let _ = writeln!(c, "      mtu: {m}");
        }
    }
    OutFile {
        path: "etc/netplan/90-luna.yaml".into(),
        content: c,
        // netplan warns about (and newer versions refuse) world-readable configuration.
        mode: 0o600,
    }
}

fn networkd(i: &IfaceSpec) -> OutFile {
    let mut c = String::from(header());
    c.push_str("[Match]\n");
    if let Some(m) = &i.mac {
        let _ = writeln!(c, "MACAddress={m}");
    }
    if let Some(n) = &i.name {
        let _ = writeln!(c, "Name={n}");
    }
    if let Some(m) = i.mtu {
        let _ = writeln!(c, "\n[Link]\nMTUBytes={m}");
    }
    c.push_str("\n[Network]\nDHCP=no\n");
    for a in &i.addresses {
        let _ = writeln!(c, "Address={a}");
    }
    if let Some(g) = &i.gateway {
        let _ = writeln!(c, "Gateway={g}");
    }
    for d in &i.nameservers {
        let _ = writeln!(c, "DNS={d}");
    }
    OutFile {
        path: format!("etc/systemd/network/10-luna-{}.network", i.id).into(),
        content: c,
        mode: 0o644,
    }
}

/// Writes the files for the target's family into `root`, updates /etc/hosts and, for
/// systemd-networkd, enables the service. Returns the family and the files written.
pub fn apply(root: &Path, spec: &NetSpec) -> anyhow::Result<(Family, Vec<PathBuf>)> {
    let family = detect(root)?;
    let files = render(family, spec)?;
    let mut written = Vec::new();
    for f in &files {
        let path = root.join(&f.path);
        write_file(&path, &f.content, f.mode)?;
        written.push(f.path.clone());
    }
    update_hosts(root, spec)?;
    written.push("etc/hosts".into());
    if matches!(family, Family::Networkd | Family::Netplan)
        && let Some(link) = enable_networkd(root)?
    {
        written.push(link);
    }
    Ok((family, written))
}

fn write_file(path: &Path, content: &str, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // resolv.conf may be a symlink into /run (systemd-resolved): replace the link, not its target.
    if path.is_symlink() {
        std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
    }
    std::fs::write(path, content).with_context(|| format!("writing {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))
}

/// Keeps the image's /etc/hosts and replaces the lines luna wrote before.
fn update_hosts(root: &Path, spec: &NetSpec) -> anyhow::Result<()> {
    let path = root.join("etc/hosts");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let mut c: String = old
        .lines()
        .filter(|l| !l.ends_with("# luna"))
        .map(|l| format!("{l}\n"))
        .collect();
    if !c.contains("localhost") {
        c.insert_str(0, "127.0.0.1\tlocalhost\n");
    }
    let short = spec.hostname.split('.').next().unwrap_or(&spec.hostname);
    let first_ip = spec
        .interfaces
        .iter()
        .flat_map(|i| &i.addresses)
        .find_map(|a| split_cidr(a).map(|(ip, _)| ip.to_string()));
    if let Some(ip) = first_ip {
        let names = if short == spec.hostname {
            spec.hostname.clone()
        } else {
            format!("{} {short}", spec.hostname)
        };
        let _ = writeln!(c, "{ip}\t{names}\t# luna");
    }
    write_file(&path, &c, 0o644)
}

/// Debian does not start systemd-networkd by default: link it into multi-user.target.
fn enable_networkd(root: &Path) -> anyhow::Result<Option<PathBuf>> {
    let unit = ["lib/systemd/system", "usr/lib/systemd/system"]
        .iter()
        .map(|d| Path::new(d).join("systemd-networkd.service"))
        .find(|u| root.join(u).exists());
    let Some(unit) = unit else {
        return Ok(None);
    };
    let rel = PathBuf::from("etc/systemd/system/multi-user.target.wants/systemd-networkd.service");
    let link = root.join(&rel);
    if let Some(dir) = link.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if link.is_symlink() || link.exists() {
        return Ok(None);
    }
    std::os::unix::fs::symlink(Path::new("/").join(unit), &link)
        .with_context(|| format!("enabling systemd-networkd ({})", link.display()))?;
    Ok(Some(rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/netconfig");

    fn spec() -> NetSpec {
        NetSpec {
            hostname: "node001.cluster".into(),
            interfaces: vec![
                IfaceSpec {
                    id: "bootif".into(),
                    mac: Some("52:54:00:12:34:56".into()),
                    name: None,
                    addresses: vec!["10.141.0.1/16".into(), "fd99::1/64".into()],
                    gateway: Some("10.141.255.254".into()),
                    nameservers: vec!["10.141.255.254".into()],
                    mtu: None,
                },
                IfaceSpec {
                    id: "ib0".into(),
                    mac: None,
                    name: Some("ib0".into()),
                    addresses: vec!["10.149.0.1/16".into()],
                    gateway: None,
                    nameservers: vec![],
                    mtu: Some(9000),
                },
            ],
        }
    }

    /// Compares with `tests/golden/netconfig/<family>/…`; `LUNA_UPDATE_GOLDEN=1` rewrites them.
    fn check_golden(family: Family, dir: &str) {
        let files = render(family, &spec()).unwrap();
        let base = Path::new(GOLDEN).join(dir);
        let update = std::env::var_os("LUNA_UPDATE_GOLDEN").is_some();
        for f in &files {
            let golden = base.join(&f.path);
            if update {
                std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
                std::fs::write(&golden, &f.content).unwrap();
            }
            let want = std::fs::read_to_string(&golden)
                .unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
            assert_eq!(
                f.content,
                want,
                "{} differs from {}",
                f.path.display(),
                golden.display()
            );
        }
        // No golden file without a rendered counterpart.
        let mut expected = Vec::new();
        collect(&base, &base, &mut expected);
        let mut got: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
        got.sort();
        expected.sort();
        assert_eq!(got, expected);
    }

    fn collect(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                collect(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }

    #[test]
    fn ifcfg_matches_golden() {
        check_golden(Family::Ifcfg, "ifcfg");
    }

    #[test]
    fn keyfile_matches_golden() {
        check_golden(Family::Keyfile, "keyfile");
    }

    #[test]
    fn netplan_matches_golden() {
        check_golden(Family::Netplan, "netplan");
    }

    #[test]
    fn networkd_matches_golden() {
        check_golden(Family::Networkd, "networkd");
    }

    #[test]
    fn family_follows_os_release() {
        let rocky8 = "NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"8.9\"\n";
        let rocky9 = rocky8.replace("8.9", "9.3");
        assert_eq!(family_of(rocky8, true), Family::Ifcfg);
        assert_eq!(family_of(&rocky9, true), Family::Keyfile);
        assert_eq!(
            family_of("ID=fedora\nVERSION_ID=40\n", true),
            Family::Keyfile
        );
        assert_eq!(
            family_of("ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\n", false),
            Family::Netplan
        );
        assert_eq!(
            family_of("ID=debian\nVERSION_ID=\"12\"\n", false),
            Family::Networkd
        );
        assert_eq!(family_of("ID=arch\n", true), Family::Keyfile);
        assert_eq!(family_of("ID=alpine\n", false), Family::Networkd);
    }

    #[test]
    fn apply_writes_files_hosts_and_enables_networkd() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        std::fs::create_dir_all(r.join("lib/systemd/system")).unwrap();
        std::fs::write(r.join("lib/systemd/system/systemd-networkd.service"), "").unwrap();
        std::fs::write(r.join("etc/os-release"), "ID=debian\nVERSION_ID=\"12\"\n").unwrap();
        std::fs::write(
            r.join("etc/hosts"),
            "127.0.0.1 localhost\n10.0.0.9 old # luna\n",
        )
        .unwrap();
        let (family, _) = apply(r, &spec()).unwrap();
        assert_eq!(family, Family::Networkd);
        assert_eq!(
            std::fs::read_to_string(r.join("etc/hostname")).unwrap(),
            "node001.cluster\n"
        );
        let hosts = std::fs::read_to_string(r.join("etc/hosts")).unwrap();
        assert_eq!(
            hosts,
            "127.0.0.1 localhost\n10.141.0.1\tnode001.cluster node001\t# luna\n"
        );
        assert!(
            r.join("etc/systemd/network/10-luna-bootif.network")
                .is_file()
        );
        let link = r.join("etc/systemd/system/multi-user.target.wants/systemd-networkd.service");
        assert_eq!(
            std::fs::read_link(link).unwrap(),
            Path::new("/lib/systemd/system/systemd-networkd.service")
        );
    }

    #[test]
    fn an_image_without_os_release_is_a_clear_error() {
        let root = tempfile::tempdir().unwrap();
        let e = apply(root.path(), &spec()).unwrap_err().to_string();
        assert!(e.contains("no /etc/os-release"), "{e}");
    }

    #[test]
    fn mtu_comes_from_interface_params() {
        assert_eq!(mtu_of("mtu=9000"), Some(9000));
        assert_eq!(mtu_of("foo=1 MTU=1500"), Some(1500));
        assert_eq!(mtu_of(""), None);
        assert_eq!(mtu_of("mtu=big"), None);
    }
}
