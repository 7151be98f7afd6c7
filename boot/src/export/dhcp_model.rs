//! What the DHCP exporters render: subnets with the Luna server's address on each, fixed hosts,
//! boot files. Filled from the same data as the built-in DHCP server.

use luna_proto::boot::MacAddress;
use std::net::Ipv4Addr;

use crate::dhcp::config::{BootFiles, DhcpConfig, DhcpSubnet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSubnet {
    pub subnet: DhcpSubnet,
    /// The Luna host's address on this subnet: next-server and boot URL host.
    pub server_ip: Ipv4Addr,
    /// Interface the site's DHCP server listens on for this subnet (Kea, dnsmasq).
    pub interface: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportHost {
    pub name: String,
    pub mac: MacAddress,
    pub ip: Ipv4Addr,
    /// UEFI boot file override (e.g. `snponly.efi`).
    pub boot_file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpExport {
    pub subnets: Vec<ExportSubnet>,
    pub hosts: Vec<ExportHost>,
    pub boot_files: BootFiles,
    /// iPXE URL template; `{server}` becomes the subnet's `server_ip`.
    pub ipxe_url: String,
    pub lease_secs: u32,
}

impl DhcpExport {
    /// Export model from the built-in server's configuration; `server_ip_of` gives the Luna
    /// address on each subnet.
    pub fn from_config(
        config: &DhcpConfig,
        hosts: Vec<ExportHost>,
        server_ip_of: impl Fn(&DhcpSubnet) -> Ipv4Addr,
    ) -> Self {
        Self {
            subnets: config
                .subnets
                .iter()
                .map(|s| ExportSubnet {
                    subnet: s.clone(),
                    server_ip: server_ip_of(s),
                    interface: None,
                })
                .collect(),
            hosts,
            boot_files: config.boot_files.clone(),
            ipxe_url: config.ipxe_url.clone(),
            lease_secs: config.lease_secs,
        }
    }

    pub fn ipxe_url_for(&self, server: Ipv4Addr) -> String {
        self.ipxe_url.replace("{server}", &server.to_string())
    }

    /// Fixed hosts whose address lies in `subnet`.
    pub fn hosts_in<'a>(&'a self, subnet: &'a DhcpSubnet) -> impl Iterator<Item = &'a ExportHost> {
        self.hosts
            .iter()
            .filter(move |h| subnet.network.contains(&h.ip))
    }

    /// Refuses values that would break out of a quoted string or a config line.
    pub fn validate(&self) -> Result<(), ExportError> {
        let check = |what: &str, value: &str| {
            if value
                .chars()
                .any(|c| c.is_control() || c == '"' || c == '\\' || c == ',')
            {
                Err(ExportError(format!(
                    "{what} {value:?} contains a quote, comma, backslash or control character: remove it"
                )))
            } else {
                Ok(())
            }
        };
        check("iPXE URL", &self.ipxe_url)?;
        check("BIOS boot file", &self.boot_files.bios)?;
        check("UEFI boot file", &self.boot_files.efi_x64)?;
        for h in &self.hosts {
            check("host name", &h.name)?;
            if h.name.is_empty() || h.name.contains(char::is_whitespace) {
                return Err(ExportError(format!(
                    "host name {:?} must be one word",
                    h.name
                )));
            }
            if let Some(f) = &h.boot_file {
                check("boot file", f)?;
            }
        }
        for s in &self.subnets {
            if let Some(d) = &s.subnet.domain {
                check("domain", d)?;
            }
            if let Some(i) = &s.interface {
                check("interface", i)?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("DHCP export: {0}")]
pub struct ExportError(pub String);
