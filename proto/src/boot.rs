//! Shared boot types: MAC addresses, DHCP leases and what an unidentified machine reports when it
//! network-boots. Plain serde data; the boot services and the REST API both speak these.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An Ethernet MAC address. Serialised as lower-case `aa:bb:cc:dd:ee:ff`; parsing also accepts
/// `-` separators (iPXE's `${mac:hexhyp}`) and upper case.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddress(pub [u8; 6]);

impl MacAddress {
    pub const fn new(bytes: [u8; 6]) -> Self {
        Self(bytes)
    }

    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// The MAC from the first six bytes of a DHCP `chaddr` field.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let six: [u8; 6] = bytes.get(..6)?.try_into().ok()?;
        Some(Self(six))
    }
}

impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a string is not a MAC address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacParseError(pub String);

impl fmt::Display for MacParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid MAC address {:?}: expected six hex pairs like 52:54:00:12:34:56",
            self.0
        )
    }
}

impl std::error::Error for MacParseError {}

impl FromStr for MacAddress {
    type Err = MacParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || MacParseError(s.to_string());
        let mut out = [0u8; 6];
        let mut parts = s.trim().split([':', '-']);
        for byte in &mut out {
            let part = parts.next().ok_or_else(err)?;
            if part.len() != 2 {
                return Err(err());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| err())?;
        }
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(Self(out))
    }
}

impl Serialize for MacAddress {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddress {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A dynamic DHCP lease as the DHCP server persists it (fixed leases of known nodes are not stored:
/// they are derived from the node's interfaces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DhcpLease {
    pub mac: MacAddress,
    pub ip: std::net::Ipv4Addr,
    /// Seconds since the Unix epoch when the lease ends.
    pub expires_unix: u64,
    /// Host name the client sent (option 12), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_hostname: Option<String>,
}

/// Firmware family a PXE client announced (DHCP option 93).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FirmwareArch {
    Bios,
    EfiIa32,
    EfiX64,
    EfiArm32,
    EfiArm64,
    /// Any other option-93 value, kept for logging.
    Other(u16),
}

/// What a network-booting machine tells the boot endpoint about itself (`/boot/ipxe?mac=…`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BootRequest {
    /// MAC of the NIC iPXE booted from.
    pub mac: Option<MacAddress>,
    /// MACs of every NIC iPXE saw.
    #[serde(default)]
    pub macs: Vec<MacAddress>,
    /// SMBIOS system serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// iPXE's platform (`pcbios` or `efi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Node name an operator typed at the unknown machine's console, to bind this MAC to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<String>,
}

/// A machine that network-booted but matched no node: listed by `luna node unknown`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnknownMachine {
    pub mac: MacAddress,
    #[serde(default)]
    pub macs: Vec<MacAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Seconds since the Unix epoch of the first and latest boot attempt.
    pub first_seen_unix: u64,
    pub last_seen_unix: u64,
    /// The Luna address the machine's request arrived on (which network it boots from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
}

/// Output formats of `luna cluster makedhcp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DhcpExportFormat {
    Isc,
    Kea,
    Dnsmasq,
}

impl FromStr for DhcpExportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "isc" | "dhcpd" => Ok(Self::Isc),
            "kea" => Ok(Self::Kea),
            "dnsmasq" => Ok(Self::Dnsmasq),
            other => Err(format!(
                "unknown DHCP export format {other:?}: use isc, kea or dnsmasq"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_round_trips_through_text_and_json() {
        let mac: MacAddress = "52-54-00-AB-cd-01".parse().unwrap();
        assert_eq!(mac.to_string(), "52:54:00:ab:cd:01");
        let json = serde_json::to_string(&mac).unwrap();
        assert_eq!(json, "\"52:54:00:ab:cd:01\"");
        let back: MacAddress = serde_json::from_str(&json).unwrap();
        assert_eq!(back, mac);
    }

    #[test]
    fn bad_macs_are_refused_with_the_input_named() {
        for bad in [
            "",
            "52:54:00:ab:cd",
            "52:54:00:ab:cd:01:02",
            "zz:54:00:ab:cd:01",
            "5:54:00:ab:cd:01",
        ] {
            let err = bad.parse::<MacAddress>().unwrap_err();
            assert!(err.to_string().contains("invalid MAC address"), "{bad}");
        }
    }

    #[test]
    fn export_format_parses_names() {
        assert_eq!("ISC".parse::<DhcpExportFormat>(), Ok(DhcpExportFormat::Isc));
        assert!("bind".parse::<DhcpExportFormat>().is_err());
    }
}
