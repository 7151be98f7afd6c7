//! The boot directory in memory: node by MAC, taken from the plan snapshot after every change so
//! the DHCP packet path and `/boot/ipxe` never query the store nor wait.

use crate::model::Result;
use crate::service::{BootSnapshot, Luna};
use luna_boot::dhcp::{BootDirectory, FixedLease};
use luna_proto::boot::MacAddress;
use std::sync::{Arc, RwLock};

#[derive(Default)]
pub struct BootCache {
    current: RwLock<Arc<BootSnapshot>>,
}

impl BootCache {
    /// A cache filled from the store.
    pub async fn load(luna: &Luna) -> Result<Arc<Self>> {
        let cache = Arc::new(Self::default());
        cache.reload(luna).await?;
        Ok(cache)
    }

    pub fn get(&self) -> Arc<BootSnapshot> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub async fn reload(&self, luna: &Luna) -> Result<()> {
        let snapshot = luna.boot_snapshot().await?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = snapshot;
        Ok(())
    }
}

impl BootDirectory for BootCache {
    fn fixed_lease(&self, mac: MacAddress) -> Option<FixedLease> {
        let snapshot = self.get();
        let node = snapshot.by_mac.get(&mac)?;
        Some(FixedLease {
            ip: node.bootif_ip?,
            hostname: Some(node.name.clone()),
            boot_file: None,
        })
    }
}
