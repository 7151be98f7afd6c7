//! Other devices (PDUs, storage, ...): names and addresses only, for DNS and IP reservation.

use super::readdress::AllocatorPool;
use super::{Luna, OtherDevAdd, OtherDevChange, ensure_free, ip_record, parse_ip, set_opt};
use crate::model::ipalloc::check_host;
use crate::model::{Address, LunaError, OtherDev, OtherDevView, OwnerKind, Result};
use crate::store::{Table, Tx};

impl Luna {
    pub async fn otherdev_list(&self) -> Result<Vec<OtherDevView>> {
        let mut devs: Vec<OtherDev> = self.store.list(Table::OtherDev).await?;
        devs.sort_by(|a, b| a.name.cmp(&b.name));
        let ips = self.ips_of_kind(OwnerKind::Otherdev).await?;
        Ok(devs
            .into_iter()
            .map(|dev| OtherDevView {
                addresses: ips
                    .iter()
                    .filter(|r| r.owner == dev.name)
                    .map(|r| Address {
                        interface: String::new(),
                        network: r.network.clone(),
                        ip: r.ip,
                    })
                    .collect(),
                dev,
            })
            .collect())
    }

    pub async fn otherdev_show(&self, name: &str) -> Result<OtherDevView> {
        let dev: OtherDev = self
            .store
            .get(Table::OtherDev, name)
            .await?
            .ok_or_else(|| LunaError::not_found("otherdev", name))?;
        let addresses = self
            .ips_of(OwnerKind::Otherdev, name)
            .await?
            .into_iter()
            .map(|r| Address {
                interface: String::new(),
                network: r.network,
                ip: r.ip,
            })
            .collect();
        Ok(OtherDevView { dev, addresses })
    }

    pub async fn otherdev_add(&self, req: OtherDevAdd) -> Result<OtherDevView> {
        let _w = self.writes.lock().await;
        self.require_cluster().await?;
        ensure_free(self, Table::OtherDev, "otherdev", &req.name).await?;
        let dev = OtherDev {
            name: req.name.clone(),
            comment: req.comment.filter(|c| !c.is_empty()),
        };
        let mut tx = Tx::new();
        tx.create(Table::OtherDev, &dev);
        match (req.network, req.ip) {
            (Some(net), Some(ip)) => {
                let mut pool = AllocatorPool::new(self).await?;
                self.place(&mut pool, &mut tx, &req.name, &net, &ip).await?;
            }
            (None, None) => {}
            _ => {
                return Err(LunaError::invalid(
                    "give both --network and --ip, or neither",
                ));
            }
        }
        self.store.commit(tx).await?;
        drop(_w);
        self.otherdev_show(&req.name).await
    }

    async fn place(
        &self,
        pool: &mut AllocatorPool<'_>,
        tx: &mut Tx,
        name: &str,
        net: &str,
        ip: &str,
    ) -> Result<()> {
        let ip = parse_ip("address", ip)?;
        check_host(net, pool.network(net)?.cidr, ip)?;
        pool.take(net, ip).await?;
        tx.create(
            Table::Ip,
            &ip_record(net, ip, OwnerKind::Otherdev, name, ""),
        );
        Ok(())
    }

    pub async fn otherdev_change(&self, name: &str, req: OtherDevChange) -> Result<OtherDevView> {
        let _w = self.writes.lock().await;
        let mut view = self.otherdev_show(name).await?;
        let mut tx = Tx::new();
        if let Some(net) = &req.release_network {
            if !view.addresses.iter().any(|a| a.network == *net) {
                return Err(LunaError::invalid(format!(
                    "otherdev '{name}' has no address on network '{net}'"
                )));
            }
            tx.release_ips("otherdev", name, Some(net), None);
        }
        match (req.network, req.ip) {
            (Some(net), Some(ip)) => {
                let mut pool = AllocatorPool::new(self).await?;
                tx.release_ips("otherdev", name, Some(&net), None);
                let current = view
                    .addresses
                    .iter()
                    .find(|a| a.network == net)
                    .map(|a| a.ip);
                if current.map(|c| c.to_string()) != Some(ip.clone()) {
                    self.place(&mut pool, &mut tx, name, &net, &ip).await?;
                } else if let Some(c) = current {
                    tx.create(
                        Table::Ip,
                        &ip_record(&net, c, OwnerKind::Otherdev, name, ""),
                    );
                }
            }
            (None, None) => {}
            _ => {
                return Err(LunaError::invalid(
                    "give both --network and --ip, or neither",
                ));
            }
        }
        set_opt(&mut view.dev.comment, req.comment);
        tx.replace(Table::OtherDev, name, &view.dev);
        self.store.commit(tx).await?;
        drop(_w);
        self.otherdev_show(name).await
    }

    pub async fn otherdev_rename(&self, name: &str, new_name: &str) -> Result<OtherDevView> {
        let _w = self.writes.lock().await;
        let mut view = self.otherdev_show(name).await?;
        ensure_free(self, Table::OtherDev, "otherdev", new_name).await?;
        view.dev.name = new_name.into();
        let mut tx = Tx::new();
        tx.replace(Table::OtherDev, name, &view.dev);
        tx.rename_ip_owner("otherdev", name, new_name);
        self.store.commit(tx).await?;
        drop(_w);
        self.otherdev_show(new_name).await
    }

    pub async fn otherdev_delete(&self, name: &str) -> Result<()> {
        let _w = self.writes.lock().await;
        self.otherdev_show(name).await?;
        let mut tx = Tx::new();
        tx.delete(Table::OtherDev, name);
        tx.release_ips("otherdev", name, None, None);
        self.store.commit(tx).await
    }
}
