//! Nodes: names, group membership, boot MAC, switch port, flags and addresses.

use super::readdress::{AllocatorPool, interface_networks};
use super::{Luna, NodeAdd, NodeChange, ip_record, parse_ip, set_opt};
use crate::model::hostlist;
use crate::model::mac::normalize_mac;
use crate::model::names::{check_name, natural_cmp};
use crate::model::{Address, Group, IpRecord, LunaError, Node, NodeView, OwnerKind, Result};
use crate::store::{Table, Tx};
use serde_json::Map;
use std::collections::{HashMap, HashSet};

/// The most nodes one `node add` may create.
const MAX_ADD: usize = 100_000;

impl Luna {
    pub async fn node_list(&self, group: Option<&str>) -> Result<Vec<NodeView>> {
        let nodes: Vec<Node> = match group {
            Some(g) => {
                self.group_show(g).await?;
                self.store.list_where(Table::Node, "group", g).await?
            }
            None => self.store.list(Table::Node).await?,
        };
        let mut by_owner: HashMap<String, Vec<Address>> = HashMap::new();
        for (owner, a) in self.node_addresses().await? {
            by_owner.entry(owner).or_default().push(a);
        }
        let mut views: Vec<NodeView> = nodes
            .into_iter()
            .map(|node| {
                let mut addresses = by_owner.remove(&node.name).unwrap_or_default();
                addresses.sort_by(|a, b| {
                    a.interface
                        .cmp(&b.interface)
                        .then(a.network.cmp(&b.network))
                });
                NodeView { node, addresses }
            })
            .collect();
        views.sort_by(|a, b| natural_cmp(&a.node.name, &b.node.name));
        Ok(views)
    }

    /// Every node-held address as (node, address). Reads the whole `ip` table as positional rows
    /// and filters here: for 30k addresses that is about twice as fast as a `WHERE owner_kind`
    /// scan with named fields, and nodes hold nearly every address anyway.
    async fn node_addresses(&self) -> Result<Vec<(String, Address)>> {
        type Row = (OwnerKind, String, String, String, std::net::IpAddr);
        let rows: Vec<Row> = self
            .store
            .rows(
                "SELECT VALUE [owner_kind, owner, interface, network, ip] FROM ip",
                Map::new(),
            )
            .await?;
        Ok(rows
            .into_iter()
            .filter(|r| r.0 == OwnerKind::Node)
            .map(|(_, owner, interface, network, ip)| {
                (
                    owner,
                    Address {
                        interface,
                        network,
                        ip,
                    },
                )
            })
            .collect())
    }

    pub async fn node_show(&self, name: &str) -> Result<NodeView> {
        let node = self.node(name).await?;
        let mut addresses: Vec<Address> = self
            .ips_of(OwnerKind::Node, name)
            .await?
            .into_iter()
            .map(address)
            .collect();
        addresses.sort_by(|a, b| {
            a.interface
                .cmp(&b.interface)
                .then(a.network.cmp(&b.network))
        });
        Ok(NodeView { node, addresses })
    }

    /// Every node a name or hostlist names; all of them must exist.
    pub async fn node_show_many(&self, expr: &str) -> Result<Vec<NodeView>> {
        let mut out = Vec::new();
        for n in hostlist::expand(expr)? {
            out.push(self.node_show(&n).await?);
        }
        Ok(out)
    }

    async fn node(&self, name: &str) -> Result<Node> {
        self.store
            .get(Table::Node, name)
            .await?
            .ok_or_else(|| LunaError::not_found("node", name))
    }

    pub async fn node_by_mac(&self, mac: &str) -> Result<Option<Node>> {
        let mac = normalize_mac(mac)?;
        Ok(self
            .store
            .list_where::<Node>(Table::Node, "mac", mac)
            .await?
            .into_iter()
            .next())
    }

    /// Adds one node, a hostlist of nodes, or `count` auto-named nodes; every node takes an
    /// address on each of its group's interfaces. All or nothing.
    pub async fn node_add(&self, req: NodeAdd) -> Result<Vec<NodeView>> {
        let _w = self.writes.lock().await;
        let cluster = self.require_cluster().await?;
        let group = self.group_show(&req.group).await?;
        let existing: HashSet<String> = self
            .store
            .rows::<String>("SELECT VALUE name FROM node", Map::new())
            .await?
            .into_iter()
            .collect();
        let names = match &req.name {
            Some(expr) => {
                let names = hostlist::expand(expr)?;
                for n in &names {
                    check_name("node", n)?;
                    if existing.contains(n) {
                        return Err(LunaError::already_exists("node", n));
                    }
                }
                names
            }
            None => auto_names(
                &cluster.nodeprefix,
                cluster.nodedigits,
                &existing,
                req.count.unwrap_or(1) as usize,
            )?,
        };
        if names.len() > MAX_ADD {
            return Err(LunaError::invalid(format!(
                "at most {MAX_ADD} nodes can be added at once"
            )));
        }
        if names.len() > 1 && (req.mac.is_some() || req.port.is_some()) {
            return Err(LunaError::invalid(
                "a MAC or switch port belongs to one node; add nodes one at a time to set them",
            ));
        }
        let mac = match req.mac.as_deref().filter(|m| !m.is_empty()) {
            Some(m) => Some(self.free_mac(m, None).await?),
            None => None,
        };
        if let Some(s) = &req.switch {
            self.switch_show(s).await?;
        }
        let mut pool = AllocatorPool::new(self).await?;
        let mut nodes = Vec::with_capacity(names.len());
        let mut ips = Vec::with_capacity(names.len() * 3);
        for name in &names {
            ips.extend(
                pool.for_new_node(&group, name)
                    .await
                    .map_err(|e| LunaError {
                        message: format!("{} (no node was added)", e.message),
                        ..e
                    })?,
            );
            nodes.push(Node {
                name: name.clone(),
                group: group.name.clone(),
                mac: mac.clone(),
                switch: req.switch.clone().filter(|s| !s.is_empty()),
                port: req.port.clone().filter(|s| !s.is_empty()),
                localboot: false,
                service: false,
                setupbmc: group.bmcsetup.is_some(),
                comment: req.comment.clone().filter(|s| !s.is_empty()),
            });
        }
        let mut tx = Tx::new();
        tx.insert_many(Table::Node, &nodes);
        tx.insert_many(Table::Ip, &ips);
        self.store.commit(tx).await?;
        let mut by_owner: HashMap<String, Vec<Address>> = HashMap::new();
        for r in ips {
            by_owner
                .entry(r.owner.clone())
                .or_default()
                .push(address(r));
        }
        Ok(nodes
            .into_iter()
            .map(|node| NodeView {
                addresses: by_owner.remove(&node.name).unwrap_or_default(),
                node,
            })
            .collect())
    }

    /// Normalises `mac` and errors when another node (not `except`) has it.
    async fn free_mac(&self, mac: &str, except: Option<&str>) -> Result<String> {
        let mac = normalize_mac(mac)?;
        let holders: Vec<Node> = self.store.list_where(Table::Node, "mac", &mac).await?;
        if let Some(h) = holders.iter().find(|h| Some(h.name.as_str()) != except) {
            return Err(LunaError::conflict(format!(
                "MAC {mac} already belongs to node '{}'; clear it there first ('luna node change {} --mac \"\"')",
                h.name, h.name
            )));
        }
        Ok(mac)
    }

    /// Applies `req` to one node or every node of a hostlist, in one transaction.
    pub async fn node_change(&self, expr: &str, req: NodeChange) -> Result<Vec<NodeView>> {
        let _w = self.writes.lock().await;
        let names = hostlist::expand(expr)?;
        if names.len() > 1
            && (req.mac.as_deref().is_some_and(|m| !m.is_empty())
                || req.port.is_some()
                || !req.ips.is_empty())
        {
            return Err(LunaError::invalid(
                "a MAC, switch port or address belongs to one node; change those one node at a time",
            ));
        }
        let mut pool = AllocatorPool::new(self).await?;
        let mut tx = Tx::new();
        for name in &names {
            self.change_one(name, &req, &mut pool, &mut tx).await?;
        }
        self.store.commit(tx).await?;
        drop(_w);
        self.node_show_many(expr).await
    }

    async fn change_one(
        &self,
        name: &str,
        req: &NodeChange,
        pool: &mut AllocatorPool<'_>,
        tx: &mut Tx,
    ) -> Result<()> {
        let mut node = self.node(name).await?;
        let mut held = self.ips_of(OwnerKind::Node, name).await?;
        if let Some(g) = &req.group
            && *g != node.group
        {
            let group = self.group_show(g).await?;
            held = regroup(name, &group, held, pool, tx).await?;
            node.group = group.name;
        }
        if let Some(m) = &req.mac {
            node.mac = if m.is_empty() {
                None
            } else {
                Some(self.free_mac(m, Some(name)).await?)
            };
        }
        if let Some(s) = &req.switch {
            if !s.is_empty() {
                self.switch_show(s).await?;
            }
            set_opt(&mut node.switch, Some(s.clone()));
        }
        set_opt(&mut node.port, req.port.clone());
        set_opt(&mut node.comment, req.comment.clone());
        for (flag, value) in [
            (&mut node.localboot, req.localboot),
            (&mut node.service, req.service),
            (&mut node.setupbmc, req.setupbmc),
        ] {
            if let Some(v) = value {
                *flag = v;
            }
        }
        if !req.ips.is_empty() {
            let group = self.group_show(&node.group).await?;
            for (iface, ip) in &req.ips {
                let ip = parse_ip("address", ip)?;
                let gi = group.interface(iface).ok_or_else(|| {
                    LunaError::invalid(format!(
                        "node '{name}': group '{}' has no interface '{iface}'; add it with 'luna group change {} -i {iface} --setnet NET'",
                        group.name, group.name
                    ))
                })?;
                let net = if ip.is_ipv6() {
                    gi.network6.clone()
                } else {
                    gi.network.clone()
                };
                let net = net.ok_or_else(|| {
                    LunaError::invalid(format!(
                        "node '{name}': interface '{iface}' of group '{}' has no {} network for {ip}",
                        group.name,
                        if ip.is_ipv6() { "IPv6" } else { "IPv4" }
                    ))
                })?;
                if held
                    .iter()
                    .any(|r| r.network == net && r.ip == ip && r.interface == *iface)
                {
                    continue;
                }
                pool.take(&net, ip).await.map_err(|e| match e.kind {
                    crate::model::ErrorKind::Invalid => e,
                    _ => LunaError::conflict(format!("node '{name}': {}", e.message)),
                })?;
                tx.release_ips("node", name, Some(&net), Some(iface));
                tx.create(
                    Table::Ip,
                    &ip_record(&net, ip, OwnerKind::Node, name, iface),
                );
            }
        }
        tx.replace(Table::Node, name, &node);
        Ok(())
    }

    pub async fn node_rename(&self, name: &str, new_name: &str) -> Result<NodeView> {
        let _w = self.writes.lock().await;
        let mut node = self.node(name).await?;
        check_name("node", new_name)?;
        if self.exists(Table::Node, new_name).await? {
            return Err(LunaError::already_exists("node", new_name));
        }
        node.name = new_name.into();
        let mut tx = Tx::new();
        tx.replace(Table::Node, name, &node);
        tx.rename_ip_owner("node", name, new_name);
        tx.rename_ref(Table::NodeStatus, "name", name, new_name);
        tx.rename_ref(Table::NodeInventory, "name", name, new_name);
        self.store.commit(tx).await?;
        drop(_w);
        self.node_show(new_name).await
    }

    /// Deletes one node or a hostlist of nodes (all must exist) with their addresses.
    pub async fn node_delete(&self, expr: &str) -> Result<usize> {
        let _w = self.writes.lock().await;
        let names = hostlist::expand(expr)?;
        let mut tx = Tx::new();
        for n in &names {
            self.node(n).await?;
            tx.delete(Table::Node, n);
            tx.release_ips("node", n, None, None);
            tx.delete(Table::NodeStatus, n);
            tx.delete(Table::NodeInventory, n);
        }
        self.store.commit(tx).await?;
        Ok(names.len())
    }
}

/// Moves a node's addresses to `group`'s interfaces: an address on a network the new group also
/// uses is kept (same interface first), the rest are released and missing ones allocated.
async fn regroup(
    name: &str,
    group: &Group,
    held: Vec<IpRecord>,
    pool: &mut AllocatorPool<'_>,
    tx: &mut Tx,
) -> Result<Vec<IpRecord>> {
    let wanted = interface_networks(group);
    let mut free: Vec<IpRecord> = held;
    let mut kept: Vec<Option<IpRecord>> = vec![None; wanted.len()];
    // First pass: same interface, same network. Second pass: same network, any interface.
    for exact in [true, false] {
        for (slot, (iface, net)) in wanted.iter().enumerate() {
            if kept[slot].is_some() {
                continue;
            }
            if let Some(pos) = free
                .iter()
                .position(|r| r.network == *net && (!exact || r.interface == *iface))
            {
                kept[slot] = Some(free.swap_remove(pos));
            }
        }
    }
    tx.release_ips("node", name, None, None);
    let mut out = Vec::with_capacity(wanted.len());
    for ((iface, net), k) in wanted.iter().zip(kept) {
        let ip = match k {
            Some(r) => r.ip,
            None => pool.allocate(net).await?,
        };
        out.push(ip_record(net, ip, OwnerKind::Node, name, iface));
    }
    tx.insert_many(Table::Ip, &out);
    Ok(out)
}

/// The next `count` names `prefix` + zero-padded number above the highest one in use.
fn auto_names(
    prefix: &str,
    digits: u8,
    existing: &HashSet<String>,
    count: usize,
) -> Result<Vec<String>> {
    if count == 0 || count > MAX_ADD {
        return Err(LunaError::invalid(format!(
            "node count {count} is out of range; use 1 to {MAX_ADD}"
        )));
    }
    let highest = existing
        .iter()
        .filter_map(|n| n.strip_prefix(prefix))
        .filter(|rest| !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit()))
        .filter_map(|rest| rest.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    let width = digits as usize;
    let names: Vec<String> = (highest + 1..=highest + count as u64)
        .map(|n| format!("{prefix}{n:0width$}"))
        .collect();
    for n in &names {
        check_name("node", n)?;
    }
    Ok(names)
}

fn address(r: IpRecord) -> Address {
    Address {
        interface: r.interface,
        network: r.network,
        ip: r.ip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_names_continue_after_the_highest() {
        let existing: HashSet<String> = ["node001", "node007", "login1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            auto_names("node", 3, &existing, 2).unwrap(),
            ["node008", "node009"]
        );
        assert_eq!(auto_names("cn", 2, &HashSet::new(), 1).unwrap(), ["cn01"]);
        assert!(auto_names("node", 3, &existing, 0).is_err());
    }
}
