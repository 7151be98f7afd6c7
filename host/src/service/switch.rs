//! Switches: where nodes are plugged in, polled over SNMP for switch-port discovery.

use super::readdress::AllocatorPool;
use super::{Luna, SwitchAdd, SwitchChange, ensure_free, ip_record, parse_ip, set_opt};
use crate::model::ipalloc::check_host;
use crate::model::{LunaError, Node, OwnerKind, Result, Switch, names::check_name};
use crate::store::{Table, Tx};

/// dot1qTpFdbPort: the Q-BRIDGE-MIB MAC table, what most current switches fill.
pub const DEFAULT_OID: &str = "1.3.6.1.2.1.17.7.1.2.2.1.2";

impl Luna {
    pub async fn switch_list(&self) -> Result<Vec<Switch>> {
        let mut v: Vec<Switch> = self.store.list(Table::Switch).await?;
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    pub async fn switch_show(&self, name: &str) -> Result<Switch> {
        self.store
            .get(Table::Switch, name)
            .await?
            .ok_or_else(|| LunaError::not_found("switch", name))
    }

    pub async fn switch_add(&self, req: SwitchAdd) -> Result<Switch> {
        let _w = self.writes.lock().await;
        self.require_cluster().await?;
        ensure_free(self, Table::Switch, "switch", &req.name).await?;
        let sw = Switch {
            name: req.name,
            network: req.network,
            ip: parse_ip("switch address", &req.ip)?,
            read: req.read.unwrap_or_else(|| "public".into()),
            rw: req.rw.unwrap_or_else(|| "private".into()),
            oid: req.oid.unwrap_or_else(|| DEFAULT_OID.into()),
            uplinks: req.uplinks.unwrap_or_default(),
            discovery: None,
            comment: req.comment.filter(|c| !c.is_empty()),
            snmp_port: req.snmp_port.filter(|p| *p != 0),
        };
        check_oid(&sw)?;
        let mut pool = AllocatorPool::new(self).await?;
        check_host(&sw.network, pool.network(&sw.network)?.cidr, sw.ip)?;
        pool.take(&sw.network, sw.ip).await?;
        let mut tx = Tx::new();
        tx.create(Table::Switch, &sw);
        tx.create(
            Table::Ip,
            &ip_record(&sw.network, sw.ip, OwnerKind::Switch, &sw.name, ""),
        );
        self.store.commit(tx).await?;
        Ok(sw)
    }

    pub async fn switch_change(&self, name: &str, req: SwitchChange) -> Result<Switch> {
        let _w = self.writes.lock().await;
        let mut sw = self.switch_show(name).await?;
        let (old_net, old_ip) = (sw.network.clone(), sw.ip);
        if let Some(n) = req.network {
            sw.network = n;
        }
        if let Some(ip) = req.ip {
            sw.ip = parse_ip("switch address", &ip)?;
        }
        for (target, value) in [
            (&mut sw.read, req.read),
            (&mut sw.rw, req.rw),
            (&mut sw.oid, req.oid),
        ] {
            if let Some(v) = value {
                *target = v;
            }
        }
        if let Some(u) = req.uplinks {
            sw.uplinks = u;
        }
        if let Some(d) = req.discovery {
            if !d.plugin.is_empty() {
                check_name("plugin", &d.plugin)?;
                self.check_binding(
                    &format!("switch {name}"),
                    "--discovery",
                    luna_plugin_host::Hook::SwitchDiscovery,
                    &d,
                )
                .await?;
            }
            sw.discovery = if d.plugin.is_empty() { None } else { Some(d) };
        }
        set_opt(&mut sw.comment, req.comment);
        if let Some(p) = req.snmp_port {
            sw.snmp_port = (p != 0).then_some(p);
        }
        check_oid(&sw)?;
        let mut tx = Tx::new();
        if (sw.network.as_str(), sw.ip) != (old_net.as_str(), old_ip) {
            let mut pool = AllocatorPool::new(self).await?;
            check_host(&sw.network, pool.network(&sw.network)?.cidr, sw.ip)?;
            tx.release_ips("switch", name, None, None);
            pool.take(&sw.network, sw.ip).await?;
            tx.create(
                Table::Ip,
                &ip_record(&sw.network, sw.ip, OwnerKind::Switch, name, ""),
            );
        }
        tx.replace(Table::Switch, name, &sw);
        self.store.commit(tx).await?;
        Ok(sw)
    }

    pub async fn switch_rename(&self, name: &str, new_name: &str) -> Result<Switch> {
        let _w = self.writes.lock().await;
        let mut sw = self.switch_show(name).await?;
        ensure_free(self, Table::Switch, "switch", new_name).await?;
        sw.name = new_name.into();
        let mut tx = Tx::new();
        tx.replace(Table::Switch, name, &sw);
        tx.rename_ref(Table::Node, "switch", name, new_name);
        tx.rename_ip_owner("switch", name, new_name);
        self.store.commit(tx).await?;
        Ok(sw)
    }

    pub async fn switch_delete(&self, name: &str) -> Result<()> {
        let _w = self.writes.lock().await;
        self.switch_show(name).await?;
        let users: Vec<Node> = self.store.list_where(Table::Node, "switch", name).await?;
        if let Some(n) = users.first() {
            return Err(LunaError::conflict(format!(
                "switch '{name}' is still set on node '{}' ({} node(s)); clear it there first ('luna node change {} --switch \"\"')",
                n.name,
                users.len(),
                n.name
            )));
        }
        let mut tx = Tx::new();
        tx.delete(Table::Switch, name);
        tx.release_ips("switch", name, None, None);
        self.store.commit(tx).await
    }
}

fn check_oid(sw: &Switch) -> Result<()> {
    let ok = !sw.oid.is_empty()
        && sw
            .oid
            .trim_start_matches('.')
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    if !ok {
        return Err(LunaError::invalid(format!(
            "switch '{}': OID '{}' is not numeric; write it like {DEFAULT_OID}",
            sw.name, sw.oid
        )));
    }
    Ok(())
}
