//! Boot services: DHCP, TFTP, DNS, iPXE scripts and config exporters. Nothing here knows about
//! the database: the host fills plain structs and implements two small traits.
//!
//! - [`dhcp`]: DHCPv4, full or proxyDHCP, one socket per named interface so next-server and the
//!   boot URL are the address of the interface a request arrived on. The host implements
//!   [`dhcp::BootDirectory`] (fixed leases of known MACs) and [`dhcp::LeaseStore`] (persisted
//!   dynamic leases), then calls [`dhcp::DhcpServer::start`].
//! - [`tftp`]: read-only TFTP for the iPXE binaries ([`tftp::TftpServer::start`]).
//! - [`ipxe`]: the scripts `/boot/ipxe` serves (pure functions) and parsing of its query.
//! - [`dns`]: authoritative DNS from a [`dns::ZoneSet`] ([`dns::DnsServer::start`], `reload`),
//!   zone serials ([`dns::SerialState`]).
//! - [`export`]: BIND zones and ISC dhcpd / Kea / dnsmasq configs (pure functions).
//!
//! All servers run on the caller's tokio runtime and stop when their handle is dropped.

pub mod dhcp;
pub mod dns;
pub mod export;
pub mod iface;
pub mod ipxe;
pub mod tftp;
