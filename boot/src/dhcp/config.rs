//! DHCP server configuration: where to listen, which subnets to serve, which boot files to hand out.

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

use super::DhcpError;

/// Full DHCP (addresses + boot options) or proxyDHCP (boot options only, next to a site DHCP server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DhcpMode {
    #[default]
    Full,
    Proxy,
}

/// One interface to serve on. The server address handed out as next-server and in the boot URL
/// is this interface's IPv4 address (detected unless given), so multi-homed hosts answer each
/// network with the address that network can reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DhcpListen {
    pub interface: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_ip: Option<Ipv4Addr>,
}

impl DhcpListen {
    /// Listen on whichever interface carries `ip` (for configs that name an address).
    pub fn for_address(ip: Ipv4Addr) -> std::io::Result<Self> {
        Ok(Self {
            interface: crate::iface::interface_with_ipv4(ip)?,
            server_ip: Some(ip),
        })
    }
}

/// An inclusive range of addresses handed to unknown machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DhcpRange {
    pub start: Ipv4Addr,
    pub end: Ipv4Addr,
}

impl DhcpRange {
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        ip >= self.start && ip <= self.end
    }

    pub fn len(&self) -> u32 {
        u32::from(self.end).saturating_sub(u32::from(self.start)) + 1
    }

    pub fn is_empty(&self) -> bool {
        self.end < self.start
    }
}

/// A network served by DHCP: the options every client on it gets, and its dynamic range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DhcpSubnet {
    pub network: Ipv4Net,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<DhcpRange>,
    #[serde(default)]
    pub routers: Vec<Ipv4Addr>,
    #[serde(default)]
    pub dns_servers: Vec<Ipv4Addr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

/// iPXE binaries per firmware, as names relative to the TFTP root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootFiles {
    pub bios: String,
    pub efi_x64: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efi_ia32: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efi_arm64: Option<String>,
}

impl Default for BootFiles {
    fn default() -> Self {
        Self {
            bios: "undionly.kpxe".into(),
            efi_x64: "ipxe.efi".into(),
            efi_ia32: None,
            efi_arm64: None,
        }
    }
}

/// Default iPXE chain URL; `{server}` becomes the address of the interface the request came in on.
pub const DEFAULT_IPXE_URL: &str = "http://{server}:7050/boot/ipxe";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DhcpConfig {
    pub mode: DhcpMode,
    pub listen: Vec<DhcpListen>,
    pub subnets: Vec<DhcpSubnet>,
    pub boot_files: BootFiles,
    /// URL given to clients whose user class is `iPXE`; `{server}` is replaced.
    pub ipxe_url: String,
    pub lease_secs: u32,
    /// How long an offered address stays reserved for the client that was offered it.
    pub offer_hold_secs: u32,
    /// Ports, overridable so tests can run beside a system DHCP server.
    pub server_port: u16,
    pub client_port: u16,
    pub proxy_port: u16,
}

impl Default for DhcpConfig {
    fn default() -> Self {
        Self {
            mode: DhcpMode::Full,
            listen: Vec::new(),
            subnets: Vec::new(),
            boot_files: BootFiles::default(),
            ipxe_url: DEFAULT_IPXE_URL.into(),
            lease_secs: 3600,
            offer_hold_secs: 60,
            server_port: 67,
            client_port: 68,
            proxy_port: 4011,
        }
    }
}

impl DhcpConfig {
    /// Checks the configuration before any socket is opened.
    pub fn validate(&self) -> Result<(), DhcpError> {
        let bad = |msg: String| Err(DhcpError::Config(msg));
        if self.listen.is_empty() {
            return bad("no interface to listen on: add at least one `listen` interface".into());
        }
        if self.lease_secs < 60 {
            return bad(format!(
                "lease_secs {} is too short: use at least 60",
                self.lease_secs
            ));
        }
        if self.mode == DhcpMode::Full && self.subnets.is_empty() {
            return bad("full DHCP mode needs at least one subnet".into());
        }
        for subnet in &self.subnets {
            if let Some(range) = subnet.range {
                if range.is_empty() {
                    return bad(format!(
                        "range {}-{} of subnet {} ends before it starts: swap start and end",
                        range.start, range.end, subnet.network
                    ));
                }
                if !subnet.network.contains(&range.start) || !subnet.network.contains(&range.end) {
                    return bad(format!(
                        "range {}-{} lies outside subnet {}: pick addresses inside it",
                        range.start, range.end, subnet.network
                    ));
                }
                if range.contains(subnet.network.network())
                    || range.contains(subnet.network.broadcast())
                {
                    return bad(format!(
                        "range {}-{} of subnet {} includes the network or broadcast address",
                        range.start, range.end, subnet.network
                    ));
                }
            }
        }
        for (i, a) in self.subnets.iter().enumerate() {
            for b in &self.subnets[i + 1..] {
                if a.network.contains(&b.network.network())
                    || b.network.contains(&a.network.network())
                {
                    return bad(format!(
                        "subnets {} and {} overlap: each address must belong to one subnet",
                        a.network, b.network
                    ));
                }
            }
        }
        Ok(())
    }

    /// The subnet an address belongs to.
    pub fn subnet_of(&self, ip: Ipv4Addr) -> Option<&DhcpSubnet> {
        self.subnets.iter().find(|s| s.network.contains(&ip))
    }

    /// The iPXE URL for a given server address.
    pub fn ipxe_url_for(&self, server: Ipv4Addr) -> String {
        self.ipxe_url.replace("{server}", &server.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> DhcpConfig {
        DhcpConfig {
            listen: vec![DhcpListen {
                interface: "eth0".into(),
                server_ip: None,
            }],
            subnets: vec![DhcpSubnet {
                network: "10.99.1.0/24".parse().unwrap(),
                range: Some(DhcpRange {
                    start: "10.99.1.200".parse().unwrap(),
                    end: "10.99.1.250".parse().unwrap(),
                }),
                routers: vec![],
                dns_servers: vec![],
                domain: None,
            }],
            ..DhcpConfig::default()
        }
    }

    #[test]
    fn listen_by_address_finds_the_interface() {
        let lo = DhcpListen::for_address(Ipv4Addr::LOCALHOST).unwrap();
        assert_eq!(lo.interface, "lo");
        let err = DhcpListen::for_address("192.0.2.123".parse().unwrap()).unwrap_err();
        assert!(
            err.to_string()
                .contains("no interface has address 192.0.2.123"),
            "{err}"
        );
    }

    #[test]
    fn valid_config_passes() {
        base().validate().unwrap();
    }

    #[test]
    fn range_outside_subnet_is_refused() {
        let mut c = base();
        c.subnets[0].range = Some(DhcpRange {
            start: "10.99.2.1".parse().unwrap(),
            end: "10.99.2.9".parse().unwrap(),
        });
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("outside subnet 10.99.1.0/24"), "{err}");
    }

    #[test]
    fn overlapping_subnets_are_refused() {
        let mut c = base();
        let mut other = c.subnets[0].clone();
        other.network = "10.99.0.0/16".parse().unwrap();
        other.range = None;
        c.subnets.push(other);
        assert!(c.validate().unwrap_err().to_string().contains("overlap"));
    }

    #[test]
    fn ipxe_url_names_the_server() {
        assert_eq!(
            base().ipxe_url_for("10.99.1.1".parse().unwrap()),
            "http://10.99.1.1:7050/boot/ipxe"
        );
    }
}
