//! How busy the nodes' links were between two samples of the switch's port counters, for a
//! traced run: links well below full while the nodes trail the host mean the swarm's exchange,
//! not the links, sets the pace.

use std::collections::BTreeMap;
use std::time::Instant;

use super::netns::PortBytes;

/// The previous sample of the first `nodes` ports.
pub struct LinkLoad {
    nodes: usize,
    /// Bytes per second one link carries when full.
    link_bytes_per_sec: f64,
    last: Option<(Instant, PortBytes)>,
}

/// Share of the links' capacity used since the previous sample, over all nodes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkBusy {
    pub downloads: f64,
    pub uploads: f64,
}

impl LinkLoad {
    pub fn new(nodes: usize, link_mbit: u32) -> Self {
        LinkLoad {
            nodes,
            link_bytes_per_sec: f64::from(link_mbit) * 1e6 / 8.0,
            last: None,
        }
    }

    /// Records a sample; returns the load since the previous one (none for the first).
    pub fn sample(&mut self, at: Instant, ports: &BTreeMap<usize, PortBytes>) -> Option<LinkBusy> {
        let total = ports
            .range(..self.nodes)
            .fold(PortBytes::default(), |sum, (_, p)| PortBytes {
                to_node: sum.to_node + p.to_node,
                from_node: sum.from_node + p.from_node,
            });
        let (then, before) = self.last.replace((at, total))?;
        let capacity = at.saturating_duration_since(then).as_secs_f64()
            * self.link_bytes_per_sec
            * self.nodes as f64;
        if capacity <= 0.0 {
            return None;
        }
        Some(LinkBusy {
            downloads: total.to_node.saturating_sub(before.to_node) as f64 / capacity,
            uploads: total.from_node.saturating_sub(before.from_node) as f64 / capacity,
        })
    }
}

impl std::fmt::Display for LinkBusy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "links busy: downloads {:3.0} %, uploads {:3.0} %",
            self.downloads * 100.0,
            self.uploads * 100.0
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ports(counts: &[(usize, u64, u64)]) -> BTreeMap<usize, PortBytes> {
        counts
            .iter()
            .map(|(i, down, up)| {
                (
                    *i,
                    PortBytes {
                        to_node: *down,
                        from_node: *up,
                    },
                )
            })
            .collect()
    }

    #[test]
    fn busy_share_is_bytes_since_the_last_sample_over_the_nodes_capacity() {
        // 2 nodes at 8 Mbit/s: 1 MB/s each, 2 MB/s together.
        let mut load = LinkLoad::new(2, 8);
        let t0 = Instant::now();
        assert_eq!(load.sample(t0, &ports(&[(0, 10, 10), (1, 10, 10)])), None);
        let busy = load
            .sample(
                t0 + Duration::from_millis(500),
                // 0.75 MB down and 0.25 MB up in half a second; port 2 is not in this run.
                &ports(&[
                    (0, 500_010, 250_010),
                    (1, 250_010, 10),
                    (2, 9_000_000, 9_000_000),
                ]),
            )
            .unwrap();
        assert!((busy.downloads - 0.75).abs() < 1e-9, "{busy:?}");
        assert!((busy.uploads - 0.25).abs() < 1e-9, "{busy:?}");
        assert_eq!(
            busy.to_string(),
            "links busy: downloads  75 %, uploads  25 %"
        );
    }

    #[test]
    fn a_sample_at_the_same_moment_reports_nothing() {
        let mut load = LinkLoad::new(1, 8);
        let t0 = Instant::now();
        load.sample(t0, &ports(&[(0, 0, 0)]));
        assert_eq!(load.sample(t0, &ports(&[(0, 5, 5)])), None);
    }
}
