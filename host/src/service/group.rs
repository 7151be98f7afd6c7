//! Groups: image, BMC profile, interfaces with their networks, scripts and plugin bindings.

use super::readdress::AllocatorPool;
use super::{GroupAdd, GroupChange, GroupInterfaceSet, Luna, ensure_free, ip_record, set_opt};
use crate::model::names::{check_interface_name, check_name, natural_cmp};
use crate::model::{
    Group, GroupInterface, LunaError, Network, Node, OwnerKind, PluginBinding, Result,
};
use crate::store::{Table, Tx};
use std::collections::HashMap;

impl Luna {
    pub async fn group_list(&self) -> Result<Vec<Group>> {
        let mut v: Vec<Group> = self.store.list(Table::Group).await?;
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    pub async fn group_show(&self, name: &str) -> Result<Group> {
        self.store
            .get(Table::Group, name)
            .await?
            .ok_or_else(|| LunaError::not_found("group", name))
    }

    pub async fn group_add(&self, req: GroupAdd) -> Result<Group> {
        let _w = self.writes.lock().await;
        self.require_cluster().await?;
        ensure_free(self, Table::Group, "group", &req.name).await?;
        let interfaces = match req.interfaces {
            Some(list) => list,
            None => vec![
                GroupInterface {
                    name: "BOOTIF".into(),
                    network: req.network.filter(|s| !s.is_empty()),
                    network6: req.network6.filter(|s| !s.is_empty()),
                    params: String::new(),
                },
                GroupInterface {
                    name: "BMC".into(),
                    network: req.bmcnetwork.filter(|s| !s.is_empty()),
                    network6: None,
                    params: String::new(),
                },
            ],
        };
        let group = Group {
            name: req.name,
            osimage: req.osimage,
            bmcsetup: req.bmcsetup.filter(|s| !s.is_empty()),
            domain: req.domain.filter(|s| !s.is_empty()),
            interfaces,
            prescript: req.prescript.unwrap_or_default(),
            partscript: req.partscript.unwrap_or_default(),
            postscript: req.postscript.unwrap_or_default(),
            torrent_if: req.torrent_if.filter(|s| !s.is_empty()),
            partition: None,
            post_install: None,
            bmc: None,
            power: None,
            comment: req.comment.filter(|s| !s.is_empty()),
        };
        self.check_group(&group).await?;
        let mut tx = Tx::new();
        tx.create(Table::Group, &group);
        self.store.commit(tx).await?;
        Ok(group)
    }

    /// References and interface networks must exist and match their address family.
    async fn check_group(&self, g: &Group) -> Result<()> {
        if !self.exists(Table::OsImage, &g.osimage).await? {
            return Err(LunaError::not_found("osimage", &g.osimage));
        }
        if let Some(b) = &g.bmcsetup
            && !self.exists(Table::BmcSetup, b).await?
        {
            return Err(LunaError::not_found("bmcsetup", b));
        }
        let nets = self.networks_by_name().await?;
        if let Some(d) = &g.domain {
            nets.get(d)
                .ok_or_else(|| LunaError::not_found("network", d))?;
        }
        let mut seen = std::collections::HashSet::new();
        for i in &g.interfaces {
            check_interface_name(&i.name)?;
            if !seen.insert(i.name.as_str()) {
                return Err(LunaError::invalid(format!(
                    "group '{}' lists interface '{}' twice; each interface name once",
                    g.name, i.name
                )));
            }
            check_family(&g.name, &i.name, &nets, i.network.as_deref(), false)?;
            check_family(&g.name, &i.name, &nets, i.network6.as_deref(), true)?;
        }
        if let Some(t) = &g.torrent_if
            && g.interface(t).is_none()
        {
            return Err(LunaError::invalid(format!(
                "group '{}': torrent interface '{t}' is not one of its interfaces",
                g.name
            )));
        }
        for b in [&g.partition, &g.post_install, &g.bmc, &g.power]
            .into_iter()
            .flatten()
        {
            check_name("plugin", &b.plugin)?;
        }
        Ok(())
    }

    pub async fn group_change(&self, name: &str, req: GroupChange) -> Result<Group> {
        let _w = self.writes.lock().await;
        let mut g = self.group_show(name).await?;
        if let Some(o) = req.osimage {
            g.osimage = o;
        }
        set_opt(&mut g.bmcsetup, req.bmcsetup);
        set_opt(&mut g.domain, req.domain);
        set_opt(&mut g.torrent_if, req.torrent_if);
        set_opt(&mut g.comment, req.comment);
        for (target, value) in [
            (&mut g.prescript, req.prescript),
            (&mut g.partscript, req.partscript),
            (&mut g.postscript, req.postscript),
        ] {
            if let Some(v) = value {
                *target = v;
            }
        }
        let changed_bindings = [
            req.partition.clone(),
            req.post_install.clone(),
            req.bmc.clone(),
            req.power.clone(),
        ];
        for (target, value) in [
            (&mut g.partition, req.partition),
            (&mut g.post_install, req.post_install),
            (&mut g.bmc, req.bmc),
            (&mut g.power, req.power),
        ] {
            if let Some(b) = value {
                *target = if b.plugin.is_empty() { None } else { Some(b) };
            }
        }
        self.check_group(&g).await?;
        self.check_group_bindings(&g, &changed_bindings).await?;
        let mut tx = Tx::new();
        tx.replace(Table::Group, name, &g);
        self.store.commit(tx).await?;
        Ok(g)
    }

    /// Adds or changes interface `iface`. A changed network re-addresses every node of the group
    /// on that interface, in name order, in the same transaction.
    pub async fn group_interface_set(
        &self,
        name: &str,
        iface: &str,
        req: GroupInterfaceSet,
    ) -> Result<Group> {
        let _w = self.writes.lock().await;
        let mut g = self.group_show(name).await?;
        check_interface_name(iface)?;
        let old = g.interface(iface).cloned();
        let mut new = old.clone().unwrap_or(GroupInterface {
            name: iface.into(),
            network: None,
            network6: None,
            params: String::new(),
        });
        set_opt(&mut new.network, req.network);
        set_opt(&mut new.network6, req.network6);
        if let Some(p) = req.params {
            new.params = p;
        }
        match g.interfaces.iter_mut().find(|i| i.name == iface) {
            Some(slot) => *slot = new.clone(),
            None => g.interfaces.push(new.clone()),
        }
        self.check_group(&g).await?;
        let mut tx = Tx::new();
        tx.replace(Table::Group, name, &g);
        let (old4, old6) = old.map(|o| (o.network, o.network6)).unwrap_or_default();
        let mut nodes: Vec<Node> = self.store.list_where(Table::Node, "group", name).await?;
        nodes.sort_by(|a, b| natural_cmp(&a.name, &b.name));
        let mut pool = AllocatorPool::new(self).await?;
        for (old_net, new_net) in [(old4, new.network.clone()), (old6, new.network6.clone())] {
            if old_net == new_net {
                continue;
            }
            let mut added = Vec::new();
            for n in &nodes {
                if let Some(o) = &old_net {
                    tx.release_ips("node", &n.name, Some(o), Some(iface));
                }
                if let Some(net) = &new_net {
                    let ip = pool.allocate(net).await?;
                    added.push(ip_record(net, ip, OwnerKind::Node, &n.name, iface));
                }
            }
            tx.insert_many(Table::Ip, &added);
        }
        self.store.commit(tx).await?;
        Ok(g)
    }

    /// Removes an interface and the addresses the group's nodes held on it.
    pub async fn group_interface_delete(&self, name: &str, iface: &str) -> Result<Group> {
        let _w = self.writes.lock().await;
        let mut g = self.group_show(name).await?;
        let before = g.interfaces.len();
        g.interfaces.retain(|i| i.name != iface);
        if g.interfaces.len() == before {
            return Err(LunaError::not_found(
                &format!("interface of group '{name}':"),
                iface,
            ));
        }
        if g.torrent_if.as_deref() == Some(iface) {
            g.torrent_if = None;
        }
        let mut tx = Tx::new();
        tx.replace(Table::Group, name, &g);
        let nodes: Vec<Node> = self.store.list_where(Table::Node, "group", name).await?;
        for n in &nodes {
            tx.release_ips("node", &n.name, None, Some(iface));
        }
        self.store.commit(tx).await?;
        Ok(g)
    }

    pub async fn group_rename(&self, name: &str, new_name: &str) -> Result<Group> {
        let _w = self.writes.lock().await;
        let mut g = self.group_show(name).await?;
        ensure_free(self, Table::Group, "group", new_name).await?;
        g.name = new_name.into();
        let mut tx = Tx::new();
        tx.replace(Table::Group, name, &g);
        tx.rename_ref(Table::Node, "group", name, new_name);
        self.store.commit(tx).await?;
        Ok(g)
    }

    pub async fn group_delete(&self, name: &str) -> Result<()> {
        let _w = self.writes.lock().await;
        self.group_show(name).await?;
        let nodes: Vec<Node> = self.store.list_where(Table::Node, "group", name).await?;
        if !nodes.is_empty() {
            return Err(LunaError::conflict(format!(
                "group '{name}' still has {} node(s) (e.g. '{}'); delete or move them first",
                nodes.len(),
                nodes[0].name
            )));
        }
        let mut tx = Tx::new();
        tx.delete(Table::Group, name);
        self.store.commit(tx).await
    }

    /// Every plugin binding of a group with its hook name.
    pub fn bindings_of(group: &Group) -> Vec<(&'static str, &PluginBinding)> {
        [
            ("partition", &group.partition),
            ("post-install", &group.post_install),
            ("bmc", &group.bmc),
            ("power", &group.power),
        ]
        .into_iter()
        .filter_map(|(hook, b)| b.as_ref().map(|b| (hook, b)))
        .collect()
    }
}

fn check_family(
    group: &str,
    iface: &str,
    nets: &HashMap<String, Network>,
    net: Option<&str>,
    want_v6: bool,
) -> Result<()> {
    let Some(net) = net else { return Ok(()) };
    let n = nets
        .get(net)
        .ok_or_else(|| LunaError::not_found("network", net))?;
    if n.cidr.addr().is_ipv6() != want_v6 {
        let (fam, other_flag) = if want_v6 {
            ("IPv6", "--setnet")
        } else {
            ("IPv4", "--setnet6")
        };
        return Err(LunaError::invalid(format!(
            "group '{group}' interface '{iface}': network '{net}' ({}) is not {fam}; set it with {other_flag} instead",
            n.cidr
        )));
    }
    Ok(())
}
