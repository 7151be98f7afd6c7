//! The tracker's settings and torrent set, taken from the cluster and the seeder.

use super::Distribution;
use crate::model::Cluster;
use luna_dist::{InfoHash, TrackerSettings};
use std::collections::HashSet;
use std::time::Duration;

/// Interval, min interval and max peers from the cluster settings.
pub fn settings_of(cluster: &Cluster) -> TrackerSettings {
    TrackerSettings {
        interval: Duration::from_secs(u64::from(cluster.tracker_interval.max(1))),
        min_interval: Duration::from_secs(u64::from(cluster.tracker_min_interval)),
        max_peers: cluster.tracker_maxpeers.max(1) as usize,
    }
}

/// Tracks exactly the images the host seeds, each with the host seeder in every reply.
pub fn track_seeded(dist: &Distribution, cluster: &Cluster) {
    dist.tracker.set_settings(settings_of(cluster));
    let host_seeders: Vec<_> = super::reach(cluster)
        .and_then(|r| r.seeder)
        .into_iter()
        .collect();
    let seeded: HashSet<InfoHash> = dist.seeder.list().iter().map(|i| i.info_hash).collect();
    for h in dist.tracker.torrents() {
        if !seeded.contains(&h) {
            dist.tracker.remove_torrent(&h);
        }
    }
    for h in seeded {
        dist.tracker.add_torrent(h, host_seeders.clone());
    }
}
