//! The MAC table learnt from the switches: MAC → (switch, bridge port, interface name, last seen).
//! Each successful poll of a switch refreshes that switch's rows; rows not seen again expire.

use luna_proto::plugin::PortEntry;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;

/// One MAC address as a switch reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MacEntry {
    pub mac: String,
    pub switch: String,
    pub bridge_port: u32,
    /// ifName of the bridge port (e.g. "Gi1/0/7"), when the switch names it.
    pub interface: Option<String>,
    pub vlan: Option<u32>,
    /// Learnt on one of the switch's uplinks: never binds a node.
    pub uplink: bool,
    /// Unix time (seconds) of the poll that last saw it.
    pub last_seen: u64,
}

/// True when `uplinks` (names or bridge-port numbers, as the operator wrote them) lists this port.
pub fn is_uplink(uplinks: &[String], bridge_port: u32, interface: Option<&str>) -> bool {
    uplinks.iter().any(|u| {
        let u = u.trim();
        u.parse::<u32>().ok() == Some(bridge_port)
            || interface.is_some_and(|i| i.eq_ignore_ascii_case(u))
    })
}

#[derive(Debug, Default)]
pub struct MacTable {
    /// switch → MAC → entry.
    by_switch: HashMap<String, HashMap<String, MacEntry>>,
}

impl MacTable {
    /// Merges one successful poll of `switch`. Returns warnings: a MAC reported on two ports of
    /// this switch, or on access ports of two switches.
    pub fn record(
        &mut self,
        switch: &str,
        entries: Vec<PortEntry>,
        uplinks: &[String],
        now: u64,
    ) -> Vec<String> {
        let mut warnings = Vec::new();
        let mut fresh: BTreeMap<String, MacEntry> = BTreeMap::new();
        for e in entries {
            let entry = MacEntry {
                uplink: is_uplink(uplinks, e.bridge_port, e.if_name.as_deref()),
                mac: e.mac.to_ascii_lowercase(),
                switch: switch.into(),
                bridge_port: e.bridge_port,
                interface: e.if_name,
                vlan: e.vlan,
                last_seen: now,
            };
            match fresh.get(&entry.mac) {
                Some(kept) if kept.bridge_port != entry.bridge_port => {
                    // Keep the access port: an uplink sighting is only the path to another switch.
                    let keep_new = kept.uplink && !entry.uplink;
                    let (used, other) = if keep_new {
                        (&entry, kept)
                    } else {
                        (kept, &entry)
                    };
                    warnings.push(format!(
                        "MAC {} is on ports {} and {} of switch {switch}; using port {}",
                        entry.mac,
                        port_label(used),
                        port_label(other),
                        port_label(used)
                    ));
                    if keep_new {
                        fresh.insert(entry.mac.clone(), entry);
                    }
                }
                Some(_) => {}
                None => {
                    fresh.insert(entry.mac.clone(), entry);
                }
            }
        }
        for e in fresh.values().filter(|e| !e.uplink) {
            for (other_switch, rows) in &self.by_switch {
                if other_switch == switch {
                    continue;
                }
                if let Some(o) = rows.get(&e.mac).filter(|o| !o.uplink) {
                    warnings.push(format!(
                        "MAC {} is on access port {} of switch {switch} and access port {} of switch {other_switch}; the newest sighting wins; list the port that leads to the other switch as an uplink ('luna switch change SWITCH --uplink PORT')",
                        e.mac,
                        port_label(e),
                        port_label(o)
                    ));
                }
            }
        }
        let rows = self.by_switch.entry(switch.to_string()).or_default();
        rows.extend(fresh);
        warnings
    }

    /// Drops a deleted switch's rows.
    pub fn forget_switch(&mut self, switch: &str) {
        self.by_switch.remove(switch);
    }

    /// Drops rows not seen for `ttl` seconds.
    pub fn expire(&mut self, now: u64, ttl: u64) {
        for rows in self.by_switch.values_mut() {
            rows.retain(|_, e| now.saturating_sub(e.last_seen) < ttl);
        }
    }

    /// Every live row (optionally of one switch), ordered by switch, port and MAC.
    pub fn entries(&self, switch: Option<&str>) -> Vec<MacEntry> {
        let mut v: Vec<MacEntry> = self
            .by_switch
            .iter()
            .filter(|(s, _)| switch.is_none_or(|want| want == s.as_str()))
            .flat_map(|(_, rows)| rows.values().cloned())
            .collect();
        v.sort_by(|a, b| {
            (&a.switch, a.bridge_port, &a.mac).cmp(&(&b.switch, b.bridge_port, &b.mac))
        });
        v
    }

    /// Where a MAC is plugged in: its access-port sighting (newest first) or, failing that, an
    /// uplink one.
    pub fn lookup(&self, mac: &str) -> Option<MacEntry> {
        self.by_switch
            .values()
            .filter_map(|rows| rows.get(mac))
            .max_by_key(|e| (!e.uplink, e.last_seen))
            .cloned()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_switch.values().map(HashMap::len).sum()
    }
}

fn port_label(e: &MacEntry) -> String {
    match &e.interface {
        Some(i) => format!("{} ({i})", e.bridge_port),
        None => e.bridge_port.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pe(mac: &str, port: u32, name: &str) -> PortEntry {
        PortEntry {
            mac: mac.into(),
            bridge_port: port,
            if_index: Some(10000 + port),
            if_name: Some(name.into()),
            vlan: None,
        }
    }

    #[test]
    fn a_mac_on_two_ports_keeps_the_access_port_and_warns() {
        let mut t = MacTable::default();
        let uplinks = vec!["Te1/0/49".to_string()];
        let w = t.record(
            "sw01",
            vec![
                pe("52:54:00:00:00:07", 49, "Te1/0/49"),
                pe("52:54:00:00:00:07", 7, "Gi1/0/7"),
            ],
            &uplinks,
            100,
        );
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("using port 7 (Gi1/0/7)"), "{w:?}");
        let e = t.lookup("52:54:00:00:00:07").unwrap();
        assert_eq!((e.bridge_port, e.uplink), (7, false));
    }

    #[test]
    fn access_sightings_beat_uplink_ones_across_switches_and_rows_expire() {
        let mut t = MacTable::default();
        t.record(
            "core",
            vec![pe("aa:bb:cc:00:00:01", 1, "Te1")],
            &["1".into()],
            100,
        );
        assert!(
            t.record("sw02", vec![pe("aa:bb:cc:00:00:01", 5, "Gi5")], &[], 90)
                .is_empty()
        );
        let e = t.lookup("aa:bb:cc:00:00:01").unwrap();
        assert_eq!((e.switch.as_str(), e.bridge_port), ("sw02", 5));
        // A second access sighting elsewhere is suspicious: warned, the newest wins.
        let w = t.record("sw03", vec![pe("aa:bb:cc:00:00:01", 9, "Gi9")], &[], 120);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(t.lookup("aa:bb:cc:00:00:01").unwrap().switch, "sw03");
        t.expire(400, 300);
        assert_eq!(t.len(), 1);
        assert_eq!(t.lookup("aa:bb:cc:00:00:01").unwrap().switch, "sw03");
        t.expire(500, 300);
        assert!(t.lookup("aa:bb:cc:00:00:01").is_none());
    }

    #[test]
    fn uplinks_match_by_name_or_number() {
        let up = vec!["48".to_string(), "xe-0/1/0".to_string()];
        assert!(is_uplink(&up, 48, None));
        assert!(is_uplink(&up, 50, Some("XE-0/1/0")));
        assert!(!is_uplink(&up, 7, Some("ge-0/0/7")));
    }
}
