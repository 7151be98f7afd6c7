//! What the DHCP server asks its host: fixed leases of known machines, and where dynamic leases
//! are persisted. The host (the Luna daemon) implements these over its store.

use luna_proto::boot::{DhcpLease, FirmwareArch, MacAddress};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Mutex;

/// The address a known machine always gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedLease {
    pub ip: Ipv4Addr,
    /// Sent as option 12.
    pub hostname: Option<String>,
    /// Overrides the firmware boot file for this machine (e.g. `snponly.efi` for NICs that need it).
    pub boot_file: Option<String>,
}

/// Lookups the DHCP server makes for every request. Called on the packet path: answer from memory
/// (the daemon keeps a snapshot of node MACs) and do not block.
pub trait BootDirectory: Send + Sync + 'static {
    fn fixed_lease(&self, mac: MacAddress) -> Option<FixedLease>;

    /// A machine without a fixed lease asked for an address; the host may record it for
    /// `luna node unknown`. The default ignores it.
    fn unknown_client(&self, _mac: MacAddress, _arch: Option<FirmwareArch>) {}
}

#[derive(Debug, thiserror::Error)]
#[error("lease store: {0}")]
pub struct LeaseStoreError(pub String);

/// Persistence of dynamic leases. `load` runs once at start; `save`/`remove` are called after the
/// in-memory table changed (write-behind: an implementation may queue the write and return).
pub trait LeaseStore: Send + Sync + 'static {
    fn load(&self) -> Result<Vec<DhcpLease>, LeaseStoreError>;
    fn save(&self, lease: &DhcpLease) -> Result<(), LeaseStoreError>;
    fn remove(&self, mac: MacAddress) -> Result<(), LeaseStoreError>;
}

/// Leases kept in process memory: for tests and for running without a database.
#[derive(Debug, Default)]
pub struct MemoryLeaseStore {
    leases: Mutex<HashMap<MacAddress, DhcpLease>>,
}

impl MemoryLeaseStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_leases(leases: impl IntoIterator<Item = DhcpLease>) -> Self {
        Self {
            leases: Mutex::new(leases.into_iter().map(|l| (l.mac, l)).collect()),
        }
    }

    /// All stored leases, ordered by address.
    pub fn snapshot(&self) -> Vec<DhcpLease> {
        let mut all: Vec<DhcpLease> = self.lock().values().cloned().collect();
        all.sort_by_key(|l| l.ip);
        all
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<MacAddress, DhcpLease>> {
        // A panic elsewhere while holding the lock leaves a consistent map: keep using it.
        self.leases.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl LeaseStore for MemoryLeaseStore {
    fn load(&self) -> Result<Vec<DhcpLease>, LeaseStoreError> {
        Ok(self.snapshot())
    }

    fn save(&self, lease: &DhcpLease) -> Result<(), LeaseStoreError> {
        self.lock().insert(lease.mac, lease.clone());
        Ok(())
    }

    fn remove(&self, mac: MacAddress) -> Result<(), LeaseStoreError> {
        self.lock().remove(&mac);
        Ok(())
    }
}

/// A fixed MAC → lease table: a `BootDirectory` for tests and static setups.
#[derive(Debug, Default, Clone)]
pub struct StaticDirectory {
    pub leases: HashMap<MacAddress, FixedLease>,
}

impl StaticDirectory {
    pub fn new(leases: impl IntoIterator<Item = (MacAddress, FixedLease)>) -> Self {
        Self {
            leases: leases.into_iter().collect(),
        }
    }
}

impl BootDirectory for StaticDirectory {
    fn fixed_lease(&self, mac: MacAddress) -> Option<FixedLease> {
        self.leases.get(&mac).cloned()
    }
}
