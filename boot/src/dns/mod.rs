//! DNS: zone data (`zones`), serials, the authoritative server and its catalog.

pub mod catalog;
pub mod serial;
pub mod server;
pub mod zones;

pub use serial::{SerialState, next_serial};
pub use server::{DnsConfig, DnsServer};
pub use zones::{ForwardZone, HostEntry, HostKind, ZoneError, ZoneRecords, ZoneSet, build_zones};

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error(transparent)]
    Data(#[from] ZoneError),
    #[error("DNS zone: {0}")]
    Zone(String),
    #[error("DNS socket: {0}")]
    Io(#[from] std::io::Error),
}
