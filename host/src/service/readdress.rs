//! Address assignment for nodes: one allocator per network, loaded once per change so a bulk add
//! of thousands of nodes costs one read per network.

use super::{Luna, ip_record};
use crate::model::ipalloc::IpAllocator;
use crate::model::{Group, IpRecord, LunaError, Network, OwnerKind, Result};
use std::collections::HashMap;
use std::net::IpAddr;

pub(super) struct AllocatorPool<'a> {
    luna: &'a Luna,
    networks: HashMap<String, Network>,
    allocators: HashMap<String, IpAllocator>,
}

impl<'a> AllocatorPool<'a> {
    pub async fn new(luna: &'a Luna) -> Result<Self> {
        Ok(Self {
            luna,
            networks: luna.networks_by_name().await?,
            allocators: HashMap::new(),
        })
    }

    pub fn network(&self, name: &str) -> Result<&Network> {
        self.networks
            .get(name)
            .ok_or_else(|| LunaError::not_found("network", name))
    }

    async fn allocator(&mut self, network: &str) -> Result<&mut IpAllocator> {
        if !self.allocators.contains_key(network) {
            let net = self.network(network)?.cidr;
            let used = self.luna.used_ips(network).await?;
            self.allocators
                .insert(network.to_string(), IpAllocator::new(net, used));
        }
        Ok(self.allocators.get_mut(network).expect("inserted above"))
    }

    pub async fn allocate(&mut self, network: &str) -> Result<IpAddr> {
        self.allocator(network).await?.allocate(network)
    }

    pub async fn take(&mut self, network: &str, ip: IpAddr) -> Result<()> {
        self.allocator(network).await?.take(network, ip)
    }

    /// Addresses for every (interface, network) of `group` for a new node, lowest free first.
    pub async fn for_new_node(&mut self, group: &Group, node: &str) -> Result<Vec<IpRecord>> {
        let mut out = Vec::new();
        for (iface, network) in interface_networks(group) {
            let ip = self.allocate(&network).await?;
            out.push(ip_record(&network, ip, OwnerKind::Node, node, &iface));
        }
        Ok(out)
    }
}

/// Every (interface, network) pair of a group that needs an address, in interface order.
pub(super) fn interface_networks(group: &Group) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for i in &group.interfaces {
        for n in [&i.network, &i.network6].into_iter().flatten() {
            pairs.push((i.name.clone(), n.clone()));
        }
    }
    pairs
}
