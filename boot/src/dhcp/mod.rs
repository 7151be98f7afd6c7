//! DHCPv4 server, full and proxyDHCP, PXE/iPXE aware. Packets are parsed with `dhcproto`; the
//! decisions are in `responder`, the address pool in `leases`, sockets in `server`.

pub mod config;
pub mod directory;
pub mod leases;
pub mod packet;
pub mod pxe;
pub mod responder;
pub mod server;

pub use config::{BootFiles, DhcpConfig, DhcpListen, DhcpMode, DhcpRange, DhcpSubnet};
pub use directory::{
    BootDirectory, FixedLease, LeaseStore, LeaseStoreError, MemoryLeaseStore, StaticDirectory,
};
pub use server::{DhcpServer, DhcpStats};

#[derive(Debug, thiserror::Error)]
pub enum DhcpError {
    #[error("DHCP configuration: {0}")]
    Config(String),
    #[error("DHCP socket: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] LeaseStoreError),
}
