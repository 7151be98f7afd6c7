//! Config exporters for sites that keep their own servers (pure functions over plain structs):
//! BIND zones (`luna cluster makedns`), ISC dhcpd, Kea and dnsmasq (`luna cluster makedhcp`).

pub mod bind;
pub mod dhcp_model;
pub mod dnsmasq;
pub mod isc;
pub mod kea;

pub use bind::{BindExport, ZoneFile, bind_export};
pub use dhcp_model::{DhcpExport, ExportError, ExportHost, ExportSubnet};
pub use dnsmasq::dnsmasq_conf;
pub use isc::isc_dhcpd_conf;
pub use kea::kea_dhcp4_conf;

use luna_proto::boot::DhcpExportFormat;

/// The config for `luna cluster makedhcp --format …`.
pub fn dhcp_config(export: &DhcpExport, format: DhcpExportFormat) -> Result<String, ExportError> {
    match format {
        DhcpExportFormat::Isc => isc_dhcpd_conf(export),
        DhcpExportFormat::Kea => kea_dhcp4_conf(export),
        DhcpExportFormat::Dnsmasq => dnsmasq_conf(export),
    }
}
