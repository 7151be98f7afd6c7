//! Recognising network-boot clients and choosing what they boot: the firmware's iPXE binary over
//! TFTP, or, once iPXE itself asks, the HTTP boot URL.

use dhcproto::v4::{DhcpOption, Message, OptionCode};
use luna_proto::boot::FirmwareArch;

use super::config::BootFiles;

/// What a DHCP request says about the booting client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BootClient {
    /// Option 93, or the arch in a `PXEClient:Arch:NNNNN` vendor class.
    pub arch: Option<FirmwareArch>,
    /// Vendor class starts with `PXEClient` (or `HTTPClient`).
    pub pxe: bool,
    /// User class `iPXE`: iPXE is already running and wants a script URL.
    pub ipxe: bool,
}

impl BootClient {
    pub fn from_message(msg: &Message) -> Self {
        let opts = msg.opts();
        let vendor = match opts.get(OptionCode::ClassIdentifier) {
            Some(DhcpOption::ClassIdentifier(v)) => v.as_slice(),
            _ => &[],
        };
        let pxe = vendor.starts_with(b"PXEClient") || vendor.starts_with(b"HTTPClient");
        let arch = match opts.get(OptionCode::ClientSystemArchitecture) {
            Some(DhcpOption::ClientSystemArchitecture(a)) => Some(arch_from_code(u16::from(*a))),
            _ => arch_from_vendor_class(vendor),
        };
        let ipxe = match opts.get(OptionCode::UserClass) {
            // iPXE sends the bare string; RFC 3004 clients length-prefix it. Both contain "iPXE".
            Some(DhcpOption::UserClass(v)) => v.windows(4).any(|w| w == b"iPXE"),
            _ => false,
        };
        Self { arch, pxe, ipxe }
    }

    /// Whether this client is network-booting at all (plain DHCP clients get no boot file).
    pub fn is_booting(&self) -> bool {
        self.pxe || self.ipxe || self.arch.is_some()
    }
}

/// RFC 4578 / IANA processor architecture types.
pub fn arch_from_code(code: u16) -> FirmwareArch {
    match code {
        0 => FirmwareArch::Bios,
        6 => FirmwareArch::EfiIa32,
        7 | 9 | 16 => FirmwareArch::EfiX64,
        10 | 18 => FirmwareArch::EfiArm32,
        11 | 19 => FirmwareArch::EfiArm64,
        other => FirmwareArch::Other(other),
    }
}

fn arch_from_vendor_class(vendor: &[u8]) -> Option<FirmwareArch> {
    let text = std::str::from_utf8(vendor).ok()?;
    let rest = text.split("Arch:").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().map(arch_from_code)
}

/// The boot file name or URL for a client, or `None` when it is not network-booting or its
/// firmware has no configured binary.
pub fn boot_file(
    client: &BootClient,
    files: &BootFiles,
    per_machine: Option<&str>,
    ipxe_url: &str,
) -> Option<String> {
    if client.ipxe {
        return Some(ipxe_url.to_string());
    }
    if !client.is_booting() {
        return None;
    }
    let arch = client.arch.unwrap_or(FirmwareArch::Bios);
    if let Some(file) = per_machine
        && arch != FirmwareArch::Bios
    {
        // The per-machine override is for UEFI NIC quirks (snponly.efi); BIOS always uses UNDI.
        return Some(file.to_string());
    }
    match arch {
        FirmwareArch::Bios => Some(files.bios.clone()),
        FirmwareArch::EfiX64 => Some(files.efi_x64.clone()),
        FirmwareArch::EfiIa32 => files.efi_ia32.clone(),
        FirmwareArch::EfiArm64 => files.efi_arm64.clone(),
        FirmwareArch::EfiArm32 | FirmwareArch::Other(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcproto::v4::{Architecture, MessageType};
    use std::net::Ipv4Addr;

    fn msg(opts: Vec<DhcpOption>) -> Message {
        let z = Ipv4Addr::UNSPECIFIED;
        let mut m = Message::new(z, z, z, z, &[0x52, 0x54, 0, 1, 2, 3]);
        m.opts_mut()
            .insert(DhcpOption::MessageType(MessageType::Discover));
        for o in opts {
            m.opts_mut().insert(o);
        }
        m
    }

    const URL: &str = "http://10.0.0.1:7050/boot/ipxe";

    #[test]
    fn arch_selects_the_binary() {
        let files = BootFiles::default();
        for (code, want) in [(0u16, "undionly.kpxe"), (7, "ipxe.efi"), (9, "ipxe.efi")] {
            let m = msg(vec![DhcpOption::ClientSystemArchitecture(
                Architecture::from(code),
            )]);
            let c = BootClient::from_message(&m);
            assert_eq!(
                boot_file(&c, &files, None, URL).as_deref(),
                Some(want),
                "arch {code}"
            );
        }
    }

    #[test]
    fn vendor_class_arch_is_used_without_option_93() {
        let m = msg(vec![DhcpOption::ClassIdentifier(
            b"PXEClient:Arch:00007:UNDI:003016".to_vec(),
        )]);
        let c = BootClient::from_message(&m);
        assert_eq!(c.arch, Some(FirmwareArch::EfiX64));
        assert_eq!(
            boot_file(&c, &BootFiles::default(), None, URL).as_deref(),
            Some("ipxe.efi")
        );
    }

    #[test]
    fn ipxe_user_class_gets_the_url_and_plain_clients_nothing() {
        let m = msg(vec![
            DhcpOption::UserClass(b"iPXE".to_vec()),
            DhcpOption::ClientSystemArchitecture(Architecture::from(7)),
        ]);
        let c = BootClient::from_message(&m);
        assert_eq!(
            boot_file(&c, &BootFiles::default(), None, URL).as_deref(),
            Some(URL)
        );
        let plain = BootClient::from_message(&msg(vec![]));
        assert_eq!(boot_file(&plain, &BootFiles::default(), None, URL), None);
    }

    #[test]
    fn per_machine_override_applies_to_uefi_only() {
        let efi = BootClient::from_message(&msg(vec![DhcpOption::ClientSystemArchitecture(
            Architecture::from(7),
        )]));
        let bios = BootClient::from_message(&msg(vec![DhcpOption::ClientSystemArchitecture(
            Architecture::from(0),
        )]));
        let files = BootFiles::default();
        assert_eq!(
            boot_file(&efi, &files, Some("snponly.efi"), URL).as_deref(),
            Some("snponly.efi")
        );
        assert_eq!(
            boot_file(&bios, &files, Some("snponly.efi"), URL).as_deref(),
            Some("undionly.kpxe")
        );
    }
}
