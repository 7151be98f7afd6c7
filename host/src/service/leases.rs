//! The DHCP lease listing (`luna cluster leases`): the dynamic leases the daemon handed out, each
//! with the network it lies in and the node its MAC belongs to now (a machine claimed after it
//! took a range address shows the node's name).

use super::Luna;
use crate::model::Result;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One dynamic DHCP lease.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct LeaseView {
    pub mac: String,
    pub ip: String,
    /// The network the address lies in, if any still does.
    pub network: Option<String>,
    /// The node with this boot MAC, or "unknown".
    pub node: String,
    pub expires_unix: u64,
    /// The lease has ended (it stays listed until its address is handed out again).
    pub expired: bool,
    /// Host name the client sent (DHCP option 12).
    pub client_hostname: Option<String>,
}

impl Luna {
    /// Every dynamic lease, ordered by address, as of `now` (Unix seconds).
    pub async fn lease_views(&self, now: u64) -> Result<Vec<LeaseView>> {
        let leases = self.lease_list().await?;
        let inputs = self.plan_inputs().await?;
        let mut views: Vec<(std::net::Ipv4Addr, LeaseView)> = leases
            .into_iter()
            .map(|l| {
                let network = inputs
                    .nets
                    .values()
                    .filter(|n| n.cidr.contains(&std::net::IpAddr::V4(l.ip)))
                    .map(|n| n.name.clone())
                    .min();
                let node = inputs
                    .boot
                    .by_mac
                    .get(&l.mac)
                    .map_or_else(|| "unknown".to_string(), |n| n.name.clone());
                let view = LeaseView {
                    mac: l.mac.to_string(),
                    ip: l.ip.to_string(),
                    network,
                    node,
                    expires_unix: l.expires_unix,
                    expired: l.expires_unix <= now,
                    client_hostname: l.client_hostname,
                };
                (l.ip, view)
            })
            .collect();
        views.sort_by_key(|(ip, _)| *ip);
        Ok(views.into_iter().map(|(_, v)| v).collect())
    }
}
