//! iPXE scripts the boot endpoint serves (pure functions): the chain script the DHCP boot URL
//! points at, per-node install/service/localboot scripts, and the retry loop for unknown machines.
//! Every value placed in a script is checked first: a newline in a kernel option would otherwise
//! become a script command.

use luna_proto::boot::{BootRequest, MacAddress};
use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    #[error("{what} {value:?} contains a control character or quote: remove it")]
    Unsafe { what: &'static str, value: String },
    #[error("{what} is empty: set it")]
    Empty { what: &'static str },
    #[error("boot request parameter {param}: {reason}")]
    BadParam { param: &'static str, reason: String },
}

/// How a known node boots its installer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallMode {
    /// Install the image, then boot it.
    Install,
    /// Service mode: the initramfs reports inventory and stops at a shell.
    Service,
}

/// Everything the install and service scripts need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallBoot {
    /// Base URL of the Luna host as this node reaches it, e.g. `http://10.99.1.1:7050`.
    pub luna_url: String,
    pub node: String,
    pub mac: MacAddress,
    pub kernel_url: String,
    pub initrd_url: String,
    /// The osimage's kernel options, appended verbatim.
    pub kernel_options: String,
    pub mode: InstallMode,
}

/// The kernel command line of an install/service boot: what `luna node show --script` prints too.
pub fn kernel_cmdline(boot: &InstallBoot) -> Result<String, ScriptError> {
    check_word("node name", &boot.node)?;
    check_word("Luna URL", &boot.luna_url)?;
    check_line("kernel options", &boot.kernel_options)?;
    let mut line = format!(
        "initrd=initrd luna.url={} luna.node={} luna.mac={}",
        boot.luna_url.trim_end_matches('/'),
        boot.node,
        boot.mac
    );
    if boot.mode == InstallMode::Service {
        line.push_str(" luna.service=1");
    }
    let options = boot.kernel_options.trim();
    if !options.is_empty() {
        line.push(' ');
        line.push_str(options);
    }
    Ok(line)
}

/// Kernel + initramfs over HTTP; on failure waits 10 s and asks the boot endpoint again.
pub fn install_script(boot: &InstallBoot) -> Result<String, ScriptError> {
    check_word("kernel URL", &boot.kernel_url)?;
    check_word("initramfs URL", &boot.initrd_url)?;
    let cmdline = kernel_cmdline(boot)?;
    let what = match boot.mode {
        InstallMode::Install => "installing",
        InstallMode::Service => "service mode for",
    };
    let mut s = String::from("#!ipxe\n");
    let _ = writeln!(s, "echo Luna: {what} {}", boot.node);
    let _ = writeln!(s, "kernel {} {cmdline} || goto retry", boot.kernel_url);
    let _ = writeln!(s, "initrd --name initrd {} || goto retry", boot.initrd_url);
    s.push_str("boot || goto retry\n");
    s.push_str(":retry\n");
    s.push_str("echo Luna: boot failed, retrying in 10 s\n");
    s.push_str("sleep 10\n");
    s.push_str(&gather_and_chain(&boot.luna_url));
    Ok(s)
}

/// Boot from the local disk: BIOS hands over to the first disk, UEFI exits to the firmware's next
/// boot entry.
pub fn localboot_script(node: &str) -> Result<String, ScriptError> {
    check_word("node name", node)?;
    Ok(format!(
        "#!ipxe\n\
         echo Luna: {node} boots from local disk\n\
         iseq ${{platform}} efi && exit ||\n\
         sanboot --no-describe --drive 0x80 || exit\n"
    ))
}

/// The script the DHCP boot URL returns when called without parameters: collect this machine's
/// identity and ask again with it.
pub fn chain_script(luna_url: &str) -> Result<String, ScriptError> {
    check_word("Luna URL", luna_url)?;
    Ok(format!("#!ipxe\n{}", gather_and_chain(luna_url)))
}

/// For a machine that matches no node: tell the operator how to claim it, offer to type a node
/// name at the console (like the original's menu; sent as `claim=`), else retry every 10 s.
pub fn unknown_script(luna_url: &str, mac: Option<MacAddress>) -> Result<String, ScriptError> {
    check_word("Luna URL", luna_url)?;
    let shown = mac.map_or_else(|| "${mac}".to_string(), |m| m.to_string());
    Ok(format!(
        "#!ipxe\n\
         echo Luna: machine {shown} (serial ${{smbios/serial}}) is not a known node.\n\
         echo Luna: claim it with `luna node change NAME --mac {shown}` or `luna node claim`,\n\
         echo Luna: it is listed by `luna node unknown`.\n\
         {gather}\
         prompt --key c --timeout 10000 Luna: press c to name this node here, or wait 10 s to retry && goto luna-claim ||\n\
         {retry}\n\
         :luna-claim\n\
         echo -n Luna: node name: && read luna-node\n\
         {retry}&claim=${{luna-node:uristring}}\n",
        gather = gather(),
        retry = chain_line(luna_url),
    ))
}

/// iPXE commands that collect the boot MAC, every NIC's MAC, the SMBIOS serial and the platform,
/// and chain the boot endpoint with them.
fn gather_and_chain(luna_url: &str) -> String {
    format!("{}{}\n", gather(), chain_line(luna_url))
}

/// Collects every NIC's MAC into `luna-macs` (comma-separated).
fn gather() -> &'static str {
    "set luna-i:int32 0\n\
     set luna-macs\n\
     :luna-nic\n\
     isset ${net${luna-i}/mac} || goto luna-nics-done\n\
     set luna-macs ${luna-macs}${net${luna-i}/mac:hexhyp},\n\
     inc luna-i\n\
     goto luna-nic\n\
     :luna-nics-done\n"
}

fn chain_line(luna_url: &str) -> String {
    let base = luna_url.trim_end_matches('/');
    format!(
        "chain --replace --autofree {base}/boot/ipxe?mac=${{mac:hexhyp}}&macs=${{luna-macs}}&serial=${{smbios/serial:uristring}}&platform=${{platform}}"
    )
}

/// Turns the boot endpoint's query parameters (already percent-decoded) into a `BootRequest`.
/// `macs` is the comma-separated list the chain script sends (a trailing comma is fine).
pub fn boot_request(
    mac: Option<&str>,
    macs: Option<&str>,
    serial: Option<&str>,
    platform: Option<&str>,
    claim: Option<&str>,
) -> Result<BootRequest, ScriptError> {
    let parse = |param: &'static str, s: &str| {
        s.parse::<MacAddress>().map_err(|e| ScriptError::BadParam {
            param,
            reason: e.to_string(),
        })
    };
    let mac = mac
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| parse("mac", s))
        .transpose()?;
    let mut all = Vec::new();
    for part in macs
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let m = parse("macs", part)?;
        if !all.contains(&m) {
            all.push(m);
        }
    }
    if let Some(m) = mac
        && !all.contains(&m)
    {
        all.insert(0, m);
    }
    let clean = |s: Option<&str>| {
        s.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.chars().filter(|c| !c.is_control()).collect::<String>())
    };
    Ok(BootRequest {
        mac,
        macs: all,
        serial: clean(serial),
        platform: clean(platform),
        claim: clean(claim),
    })
}

fn check_line(what: &'static str, value: &str) -> Result<(), ScriptError> {
    if value.chars().any(|c| c.is_control() || c == '"') {
        return Err(ScriptError::Unsafe {
            what,
            value: value.to_string(),
        });
    }
    Ok(())
}

/// A single token: no spaces either.
fn check_word(what: &'static str, value: &str) -> Result<(), ScriptError> {
    if value.trim().is_empty() {
        return Err(ScriptError::Empty { what });
    }
    if value.chars().any(char::is_whitespace) {
        return Err(ScriptError::Unsafe {
            what,
            value: value.to_string(),
        });
    }
    check_line(what, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boot(mode: InstallMode) -> InstallBoot {
        InstallBoot {
            luna_url: "http://10.99.1.1:7050/".into(),
            node: "node001".into(),
            mac: "52:54:00:aa:00:01".parse().unwrap(),
            kernel_url: "http://10.99.1.1:7050/boot/files/compute/vmlinuz".into(),
            initrd_url: "http://10.99.1.1:7050/boot/files/compute/initramfs".into(),
            kernel_options: " console=ttyS0 quiet ".into(),
            mode,
        }
    }

    #[test]
    fn install_script_boots_kernel_with_luna_arguments() {
        let s = install_script(&boot(InstallMode::Install)).unwrap();
        assert!(s.starts_with("#!ipxe\n"));
        assert!(
            s.contains(
                "kernel http://10.99.1.1:7050/boot/files/compute/vmlinuz initrd=initrd \
             luna.url=http://10.99.1.1:7050 luna.node=node001 luna.mac=52:54:00:aa:00:01 \
             console=ttyS0 quiet || goto retry\n"
            ),
            "{s}"
        );
        assert!(
            s.contains("initrd --name initrd http://10.99.1.1:7050/boot/files/compute/initramfs")
        );
        assert!(s.contains("sleep 10\n"));
        assert!(!s.contains("luna.service"));
    }

    #[test]
    fn service_script_sets_the_service_flag() {
        let s = install_script(&boot(InstallMode::Service)).unwrap();
        assert!(s.contains("luna.service=1"), "{s}");
        assert!(s.contains("service mode for node001"));
    }

    #[test]
    fn injected_newlines_are_refused() {
        let mut b = boot(InstallMode::Install);
        b.kernel_options = "quiet\nshell".into();
        let err = install_script(&b).unwrap_err();
        assert!(err.to_string().contains("kernel options"), "{err}");
        b = boot(InstallMode::Install);
        b.node = "node 1".into();
        assert!(install_script(&b).is_err());
        assert!(localboot_script("").is_err());
    }

    #[test]
    fn localboot_covers_bios_and_uefi() {
        let s = localboot_script("node001").unwrap();
        assert!(s.contains("sanboot --no-describe --drive 0x80"));
        assert!(s.contains("iseq ${platform} efi && exit"));
    }

    #[test]
    fn unknown_script_retries_and_reports_identity() {
        let s = unknown_script("http://10.99.1.1:7050", None).unwrap();
        assert!(s.contains("prompt --key c --timeout 10000 "));
        assert!(s.contains("&claim=${luna-node:uristring}\n"));
        assert_eq!(s.matches(":luna-nic\n").count(), 1, "labels must be unique");
        assert!(s.contains("luna node unknown"));
        assert!(
            s.contains(
                "chain --replace --autofree http://10.99.1.1:7050/boot/ipxe?mac=${mac:hexhyp}\
             &macs=${luna-macs}&serial=${smbios/serial:uristring}&platform=${platform}"
            ),
            "{s}"
        );
        assert!(s.contains("${net${luna-i}/mac:hexhyp}"));
    }

    #[test]
    fn boot_request_parses_what_the_chain_script_sends() {
        let r = boot_request(
            Some("52-54-00-aa-00-01"),
            Some("52-54-00-aa-00-02,52-54-00-aa-00-01,"),
            Some(" SN 123 "),
            Some("efi"),
            Some("node007"),
        )
        .unwrap();
        assert_eq!(r.claim.as_deref(), Some("node007"));
        assert_eq!(r.mac.unwrap().to_string(), "52:54:00:aa:00:01");
        assert_eq!(r.macs.len(), 2);
        assert_eq!(r.serial.as_deref(), Some("SN 123"));
        let err = boot_request(Some("nope"), None, None, None, None).unwrap_err();
        assert!(err.to_string().contains("parameter mac"), "{err}");
    }
}
