//! Boot services: DHCP, TFTP, DNS, iPXE scripts and config exporters. The host fills plain
//! structs and implements two small traits (`BootDirectory`, `LeaseStore`); nothing here knows
//! about the database.

pub mod dhcp;
pub mod dns;
pub mod export;
pub mod iface;
pub mod ipxe;
pub mod tftp;
