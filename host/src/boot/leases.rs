//! Dynamic DHCP leases persisted in the store's `lease` table. The DHCP server calls the
//! `LeaseStore` methods on its packet path, so writes are queued to a task (write-behind) and a
//! mirror in memory answers `load` (also after a DHCP restart, before queued writes landed).

use crate::model::Result;
use crate::service::Luna;
use luna_boot::dhcp::{LeaseStore, LeaseStoreError};
use luna_proto::boot::{DhcpLease, MacAddress};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

enum LeaseWrite {
    Save(DhcpLease),
    Remove(MacAddress),
}

pub struct StoreLeases {
    mirror: Mutex<HashMap<MacAddress, DhcpLease>>,
    writes: mpsc::UnboundedSender<LeaseWrite>,
}

impl StoreLeases {
    /// Loads the persisted leases and starts the writer task on the current runtime.
    pub async fn open(luna: Luna) -> Result<Arc<Self>> {
        let leases = luna.lease_list().await?;
        let (tx, mut rx) = mpsc::unbounded_channel::<LeaseWrite>();
        tokio::spawn(async move {
            while let Some(write) = rx.recv().await {
                let result = match &write {
                    LeaseWrite::Save(l) => luna.lease_save(l).await,
                    LeaseWrite::Remove(mac) => luna.lease_remove(*mac).await,
                };
                if let Err(e) = result {
                    tracing::warn!(error = %e.message, "DHCP lease was not persisted");
                }
            }
        });
        Ok(Arc::new(Self {
            mirror: Mutex::new(leases.into_iter().map(|l| (l.mac, l)).collect()),
            writes: tx,
        }))
    }

    fn mirror(&self) -> std::sync::MutexGuard<'_, HashMap<MacAddress, DhcpLease>> {
        self.mirror.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn queue(&self, write: LeaseWrite) -> std::result::Result<(), LeaseStoreError> {
        self.writes
            .send(write)
            .map_err(|_| LeaseStoreError("the lease writer stopped".into()))
    }
}

impl LeaseStore for StoreLeases {
    fn load(&self) -> std::result::Result<Vec<DhcpLease>, LeaseStoreError> {
        Ok(self.mirror().values().cloned().collect())
    }

    fn save(&self, lease: &DhcpLease) -> std::result::Result<(), LeaseStoreError> {
        self.mirror().insert(lease.mac, lease.clone());
        self.queue(LeaseWrite::Save(lease.clone()))
    }

    fn remove(&self, mac: MacAddress) -> std::result::Result<(), LeaseStoreError> {
        self.mirror().remove(&mac);
        self.queue(LeaseWrite::Remove(mac))
    }
}
