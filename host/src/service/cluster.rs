//! Cluster-wide settings.

use super::{Luna, parse_ip, set_opt};
use crate::model::{Cluster, LunaError, Result, names::check_name};
use crate::service::ClusterChange;
use crate::store::Tx;

const CLUSTER_ID: &str = "cluster:main";

impl Luna {
    pub async fn cluster(&self) -> Result<Cluster> {
        self.require_cluster().await
    }

    /// Creates the cluster with defaults plus `change`; refuses a second init.
    pub async fn cluster_init(&self, change: ClusterChange) -> Result<Cluster> {
        let _w = self.writes.lock().await;
        if self.store.singleton::<Cluster>(CLUSTER_ID).await?.is_some() {
            return Err(LunaError::conflict(
                "the cluster is already initialised; use 'luna cluster change' to adjust its settings",
            ));
        }
        let cluster = apply_change(Cluster::default(), change)?;
        let mut tx = Tx::new();
        tx.upsert_singleton(CLUSTER_ID, &cluster);
        self.store.commit(tx).await?;
        Ok(cluster)
    }

    pub async fn cluster_change(&self, change: ClusterChange) -> Result<Cluster> {
        let _w = self.writes.lock().await;
        let cluster = apply_change(self.require_cluster().await?, change)?;
        let mut tx = Tx::new();
        tx.upsert_singleton(CLUSTER_ID, &cluster);
        self.store.commit(tx).await?;
        Ok(cluster)
    }
}

fn apply_change(mut c: Cluster, ch: ClusterChange) -> Result<Cluster> {
    if let Some(name) = ch.name {
        check_name("cluster", &name)?;
        c.name = name;
    }
    if let Some(p) = ch.nodeprefix {
        // The prefix starts every auto-generated node name, so it must itself be a valid start.
        if !p.is_empty() {
            check_name("node prefix", p.trim_end_matches('-'))?;
        }
        c.nodeprefix = p;
    }
    if let Some(d) = ch.nodedigits {
        if !(1..=9).contains(&d) {
            return Err(LunaError::invalid(format!(
                "nodedigits {d} is out of range; use 1 to 9"
            )));
        }
        c.nodedigits = d;
    }
    if let Some(a) = ch.frontend_address {
        c.frontend_address = if a.is_empty() {
            None
        } else {
            Some(parse_ip("frontend address", &a)?)
        };
    }
    if let Some(p) = ch.frontend_port {
        c.frontend_port = nonzero_port("frontend port", p)?;
    }
    if let Some(v) = ch.tracker_interval {
        c.tracker_interval = v;
    }
    if let Some(v) = ch.tracker_min_interval {
        c.tracker_min_interval = v;
    }
    if let Some(v) = ch.tracker_maxpeers {
        c.tracker_maxpeers = v;
    }
    if let Some(v) = ch.torrent_port_min {
        c.torrent_port_min = nonzero_port("torrent port min", v)?;
    }
    if let Some(v) = ch.torrent_port_max {
        c.torrent_port_max = nonzero_port("torrent port max", v)?;
    }
    set_opt(&mut c.dns_include, ch.dns_include);
    set_opt(&mut c.comment, ch.comment);
    if c.tracker_interval == 0 || c.tracker_min_interval > c.tracker_interval {
        return Err(LunaError::invalid(format!(
            "tracker intervals are inconsistent (interval {}, min interval {}); the interval must be positive and at least the min interval",
            c.tracker_interval, c.tracker_min_interval
        )));
    }
    if c.tracker_maxpeers == 0 {
        return Err(LunaError::invalid("tracker maxpeers must be at least 1"));
    }
    if c.torrent_port_min > c.torrent_port_max {
        return Err(LunaError::invalid(format!(
            "torrent port range {}-{} goes backwards; set --torrent-port-min below --torrent-port-max",
            c.torrent_port_min, c.torrent_port_max
        )));
    }
    Ok(c)
}

fn nonzero_port(what: &str, p: u16) -> Result<u16> {
    if p == 0 {
        return Err(LunaError::invalid(format!(
            "{what} 0 is not a usable port; pick 1-65535"
        )));
    }
    Ok(p)
}
