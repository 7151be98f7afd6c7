//! Networks: CIDR, name server, reservations.

use super::{Luna, NetworkAdd, NetworkChange, ensure_free, ip_record, parse_ip, set_opt};
use crate::model::ipalloc::{self, IpAllocator, check_host, host_bounds, to_u128};
use crate::model::{Group, IpRecord, LunaError, Network, NetworkView, OwnerKind, Result, Switch};
use crate::store::{Table, Tx};
use ipnet::IpNet;
use serde_json::{Map, Value};
use std::net::IpAddr;

/// Largest range one reserve/release may name.
const MAX_RANGE: usize = 65_536;

impl Luna {
    pub async fn network_list(&self) -> Result<Vec<NetworkView>> {
        let mut nets: Vec<Network> = self.store.list(Table::Network).await?;
        nets.sort_by(|a, b| a.name.cmp(&b.name));
        let mut out = Vec::with_capacity(nets.len());
        for n in nets {
            out.push(self.network_view(n).await?);
        }
        Ok(out)
    }

    pub async fn network_show(&self, name: &str) -> Result<NetworkView> {
        let n = self.network(name).await?;
        self.network_view(n).await
    }

    async fn network_view(&self, network: Network) -> Result<NetworkView> {
        let mut vars = Map::new();
        vars.insert("n".into(), Value::String(network.name.clone()));
        let rows: Vec<IpRecord> = self
            .store
            .rows("SELECT * OMIT id FROM ip WHERE network = $n", vars)
            .await?;
        let mut reserved: Vec<IpAddr> = rows
            .iter()
            .filter(|r| matches!(r.owner_kind, OwnerKind::Reserved | OwnerKind::Nameserver))
            .map(|r| r.ip)
            .collect();
        reserved.sort_by_key(|ip| to_u128(*ip));
        let (first, last) = host_bounds(network.cidr);
        let total = (last - first).saturating_add(1);
        let used = rows.len() as u128;
        Ok(NetworkView {
            reserved: compress_ranges(&reserved),
            used: used as u64,
            free: u64::try_from(total.saturating_sub(used)).unwrap_or(u64::MAX),
            network,
        })
    }

    pub async fn network_add(&self, req: NetworkAdd) -> Result<NetworkView> {
        let _w = self.writes.lock().await;
        let cluster = self.require_cluster().await?;
        ensure_free(self, Table::Network, "network", &req.name).await?;
        let cidr = parse_cidr(&req.name, &req.cidr, req.prefix)?;
        self.check_overlap(&req.name, cidr).await?;
        let ns_ip = match &req.ns_ip {
            Some(s) => parse_ip("name server address", s)?,
            None => ipalloc::from_u128(cidr, host_bounds(cidr).1),
        };
        check_host(&req.name, cidr, ns_ip)?;
        let gateway = req
            .gateway
            .as_deref()
            .map(|g| parse_ip("gateway", g))
            .transpose()?;
        if let Some(g) = gateway {
            check_host(&req.name, cidr, g)?;
        }
        let network = Network {
            name: req.name.clone(),
            cidr,
            ns_hostname: req.ns_hostname.unwrap_or_else(|| cluster.name.clone()),
            ns_ip,
            gateway,
            zone_extra: req.zone_extra.filter(|s| !s.is_empty()),
            comment: req.comment.filter(|s| !s.is_empty()),
            dhcp_range: None,
        };
        let mut network = network;
        let mut tx = Tx::new();
        if let Some(spec) = &req.dhcp_range {
            let mut used = IpAllocator::new(cidr, [ns_ip]);
            super::boot::set_dhcp_range(&mut network, spec, &[], &mut used, &mut tx)?;
        }
        tx.create(Table::Network, &network);
        tx.create(
            Table::Ip,
            &ip_record(
                &network.name,
                ns_ip,
                OwnerKind::Nameserver,
                &network.name,
                "",
            ),
        );
        self.store.commit(tx).await?;
        drop(_w);
        self.network_show(&req.name).await
    }

    async fn check_overlap(&self, name: &str, cidr: IpNet) -> Result<()> {
        for other in self.store.list::<Network>(Table::Network).await? {
            if other.name != name
                && (other.cidr.contains(&cidr.network()) || cidr.contains(&other.cidr.network()))
            {
                return Err(LunaError::conflict(format!(
                    "network '{name}' ({cidr}) overlaps network '{}' ({}); pick a range that does not overlap",
                    other.name, other.cidr
                )));
            }
        }
        Ok(())
    }

    pub async fn network_change(&self, name: &str, req: NetworkChange) -> Result<NetworkView> {
        let _w = self.writes.lock().await;
        let mut net = self.network(name).await?;
        let mut tx = Tx::new();
        if let Some(c) = &req.cidr {
            let cidr = parse_cidr(name, c, req.prefix.or(Some(net.cidr.prefix_len())))?;
            if cidr != net.cidr {
                self.check_overlap(name, cidr).await?;
                for ip in self.used_ips(name).await? {
                    if ip != net.ns_ip {
                        check_host(name, cidr, ip).map_err(|_| {
                            LunaError::conflict(format!(
                                "network '{name}' cannot become {cidr}: address {ip} is in use outside it; move or release it first"
                            ))
                        })?;
                    }
                }
                net.cidr = cidr;
                // The default name server moves with the network when it no longer fits.
                if check_host(name, cidr, net.ns_ip).is_err() && req.ns_ip.is_none() {
                    let new_ns = ipalloc::from_u128(cidr, host_bounds(cidr).1);
                    tx.release_ip(name, &net.ns_ip.to_string());
                    tx.create(
                        Table::Ip,
                        &ip_record(name, new_ns, OwnerKind::Nameserver, name, ""),
                    );
                    net.ns_ip = new_ns;
                }
            }
        }
        let mut used = IpAllocator::new(net.cidr, self.used_ips(name).await?);
        if let Some(s) = &req.ns_ip {
            let ip = parse_ip("name server address", s)?;
            if ip != net.ns_ip {
                used.take(name, ip)?;
                tx.release_ip(name, &net.ns_ip.to_string());
                tx.create(
                    Table::Ip,
                    &ip_record(name, ip, OwnerKind::Nameserver, name, ""),
                );
                net.ns_ip = ip;
            }
        }
        if let Some(h) = req.ns_hostname {
            crate::model::names::check_name("name server host", &h)?;
            net.ns_hostname = h;
        }
        if let Some(g) = req.gateway {
            net.gateway = if g.is_empty() {
                None
            } else {
                let g = parse_ip("gateway", &g)?;
                check_host(name, net.cidr, g)?;
                Some(g)
            };
        }
        set_opt(&mut net.zone_extra, req.zone_extra);
        set_opt(&mut net.comment, req.comment);
        let mut reserved = Vec::new();
        for spec in &req.reserve {
            for ip in parse_range(name, net.cidr, spec)? {
                used.take(name, ip)?;
                reserved.push(ip_record(name, ip, OwnerKind::Reserved, name, ""));
            }
        }
        tx.insert_many(Table::Ip, &reserved);
        if let Some(spec) = &req.dhcp_range {
            let held = self.dhcp_range_ips(name).await?;
            super::boot::set_dhcp_range(&mut net, spec, &held, &mut used, &mut tx)?;
        }
        if !req.release.is_empty() {
            let held: std::collections::HashSet<IpAddr> = self
                .ips_of(OwnerKind::Reserved, name)
                .await?
                .into_iter()
                .map(|r| r.ip)
                .collect();
            for spec in &req.release {
                for ip in parse_range(name, net.cidr, spec)? {
                    if !held.contains(&ip) {
                        return Err(LunaError::invalid(format!(
                            "address {ip} is not reserved on network '{name}'; only reserved addresses can be released (see 'luna network show {name}')"
                        )));
                    }
                    tx.release_ip(name, &ip.to_string());
                }
            }
        }
        tx.replace(Table::Network, name, &net);
        self.store.commit(tx).await?;
        drop(_w);
        self.network_show(name).await
    }

    pub async fn network_rename(&self, name: &str, new_name: &str) -> Result<NetworkView> {
        let _w = self.writes.lock().await;
        let mut net = self.network(name).await?;
        ensure_free(self, Table::Network, "network", new_name).await?;
        net.name = new_name.to_string();
        let mut tx = Tx::new();
        tx.replace(Table::Network, name, &net);
        for mut g in self.store.list::<Group>(Table::Group).await? {
            let mut touched = false;
            for i in &mut g.interfaces {
                for n in [&mut i.network, &mut i.network6] {
                    if n.as_deref() == Some(name) {
                        *n = Some(new_name.to_string());
                        touched = true;
                    }
                }
            }
            if g.domain.as_deref() == Some(name) {
                g.domain = Some(new_name.to_string());
                touched = true;
            }
            if touched {
                tx.replace(Table::Group, &g.name.clone(), &g);
            }
        }
        tx.rename_ref(Table::Switch, "network", name, new_name);
        tx.rename_ref(Table::Ip, "network", name, new_name);
        tx.rename_ip_owner("nameserver", name, new_name);
        tx.rename_ip_owner("reserved", name, new_name);
        self.store.commit(tx).await?;
        drop(_w);
        self.network_show(new_name).await
    }

    pub async fn network_delete(&self, name: &str) -> Result<()> {
        let _w = self.writes.lock().await;
        self.network(name).await?;
        for g in self.store.list::<Group>(Table::Group).await? {
            let used = g.domain.as_deref() == Some(name)
                || g.interfaces.iter().any(|i| {
                    i.network.as_deref() == Some(name) || i.network6.as_deref() == Some(name)
                });
            if used {
                return Err(LunaError::conflict(format!(
                    "network '{name}' is still used by group '{}'; move the group's interfaces off it first ('luna group change {} -i IF --setnet OTHER')",
                    g.name, g.name
                )));
            }
        }
        let switches: Vec<Switch> = self
            .store
            .list_where(Table::Switch, "network", name)
            .await?;
        if let Some(s) = switches.first() {
            return Err(LunaError::conflict(format!(
                "network '{name}' is still used by switch '{}'; move or delete the switch first",
                s.name
            )));
        }
        let mut vars = Map::new();
        vars.insert("n".into(), Value::String(name.into()));
        let holders: Vec<IpRecord> = self
            .store
            .rows("SELECT * OMIT id FROM ip WHERE network = $n AND owner_kind IN ['node', 'otherdev'] LIMIT 1", vars)
            .await?;
        if let Some(h) = holders.first() {
            return Err(LunaError::conflict(format!(
                "network '{name}' still holds an address of {} '{}'; release it first",
                serde_json::to_value(h.owner_kind)?
                    .as_str()
                    .unwrap_or("object"),
                h.owner
            )));
        }
        let mut tx = Tx::new();
        tx.delete(Table::Network, name);
        tx.release_ips("nameserver", name, Some(name), None);
        tx.release_ips("reserved", name, Some(name), None);
        self.store.commit(tx).await
    }
}

/// `10.141.0.0/16`, or `10.141.0.0` with a separate prefix; host bits are cleared.
pub fn parse_cidr(name: &str, s: &str, prefix: Option<u8>) -> Result<IpNet> {
    let bad = || {
        LunaError::invalid(format!(
            "network '{name}': '{s}' is not a valid network; write it as 10.141.0.0/16 (or -N 10.141.0.0 -P 16), or fd00::/64"
        ))
    };
    let net: IpNet = if s.contains('/') {
        s.trim().parse().map_err(|_| bad())?
    } else {
        let ip: IpAddr = s.trim().parse().map_err(|_| bad())?;
        let p = prefix.ok_or_else(|| {
            LunaError::invalid(format!(
                "network '{name}': give a prefix length with {s} (e.g. -P 16 or {s}/16)"
            ))
        })?;
        IpNet::new(ip, p).map_err(|_| bad())?
    };
    Ok(net.trunc())
}

fn parse_range(name: &str, net: IpNet, spec: &str) -> Result<Vec<IpAddr>> {
    let (a, b) = match spec.split_once('-') {
        Some((a, b)) => (parse_ip("range start", a)?, parse_ip("range end", b)?),
        None => {
            let ip = parse_ip("address", spec)?;
            (ip, ip)
        }
    };
    check_host(name, net, a)?;
    check_host(name, net, b)?;
    ipalloc::range(net, a, b, MAX_RANGE)
}

/// Sorted addresses → `a`, `a-b` ranges.
fn compress_ranges(ips: &[IpAddr]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < ips.len() {
        let mut j = i;
        while j + 1 < ips.len() && to_u128(ips[j + 1]) == to_u128(ips[j]) + 1 {
            j += 1;
        }
        out.push(if i == j {
            ips[i].to_string()
        } else {
            format!("{}-{}", ips[i], ips[j])
        });
        i = j + 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_forms() {
        assert_eq!(
            parse_cidr("c", "10.141.0.0", Some(16)).unwrap().to_string(),
            "10.141.0.0/16"
        );
        assert_eq!(
            parse_cidr("c", "10.141.3.7/16", None).unwrap().to_string(),
            "10.141.0.0/16"
        );
        assert_eq!(
            parse_cidr("c", "fd00::/64", None).unwrap().to_string(),
            "fd00::/64"
        );
        assert!(
            parse_cidr("c", "10.141.0.0", None)
                .unwrap_err()
                .message
                .contains("prefix")
        );
        assert!(
            parse_cidr("c", "10.300.0.0/16", None)
                .unwrap_err()
                .message
                .contains("not a valid network")
        );
        assert!(parse_cidr("c", "10.0.0.0/33", None).is_err());
    }

    #[test]
    fn ranges_compress() {
        let ips: Vec<IpAddr> = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.9"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(compress_ranges(&ips), ["10.0.0.1-10.0.0.3", "10.0.0.9"]);
    }
}
