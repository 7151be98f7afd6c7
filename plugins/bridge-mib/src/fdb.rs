//! Forwarding-table assembly from raw walks (pure: unit-tested natively).

use luna_sdk::PortEntry;
use luna_sdk::snmp::{Value, Varbind};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

pub const DOT1D_BASE_PORT_IF_INDEX: &str = "1.3.6.1.2.1.17.1.4.1.2";
pub const IF_NAME: &str = "1.3.6.1.2.1.31.1.1.1.1";
pub const DOT1D_TP_FDB_PORT: &str = "1.3.6.1.2.1.17.4.3.1.2";
pub const DOT1Q_TP_FDB_PORT: &str = "1.3.6.1.2.1.17.7.1.2.2.1.2";

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub bulk: bool,
    pub max_repetitions: u32,
    pub uplink_ports: Vec<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bulk: true,
            max_repetitions: 25,
            uplink_ports: Vec::new(),
        }
    }
}

impl Config {
    pub fn check(&self) -> Result<(), String> {
        if !(1..=100).contains(&self.max_repetitions) {
            return Err(format!(
                "bridge-mib: max_repetitions must be 1..100, not {}",
                self.max_repetitions
            ));
        }
        Ok(())
    }
}

/// The four walks the discovery needs.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    pub base_port_if_index: Vec<Varbind>,
    pub if_name: Vec<Varbind>,
    pub dot1d_fdb_port: Vec<Varbind>,
    pub dot1q_fdb_port: Vec<Varbind>,
}

/// Sub-identifiers after `base` ("1.3.6.1.2.1.17.4.3.1.2.82.84…" → [82, 84, …]).
fn suffix(oid: &str, base: &str) -> Option<Vec<u32>> {
    let rest = oid
        .trim_start_matches('.')
        .strip_prefix(base)?
        .strip_prefix('.')?;
    rest.split('.').map(|p| p.parse().ok()).collect()
}

fn number(value: &Value) -> Option<u32> {
    match value {
        Value::Integer(i) => u32::try_from(*i).ok(),
        Value::Unsigned32(u) | Value::Counter32(u) | Value::Timeticks(u) => Some(*u),
        _ => None,
    }
}

fn mac(octets: &[u32]) -> Option<String> {
    if octets.len() != 6 || octets.iter().any(|o| *o > 255) {
        return None;
    }
    Some(
        octets
            .iter()
            .map(|o| format!("{o:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

pub fn assemble(tables: &Tables, config: &Config) -> Vec<PortEntry> {
    let port_if: HashMap<u32, u32> = tables
        .base_port_if_index
        .iter()
        .filter_map(|v| {
            Some((
                *suffix(&v.oid, DOT1D_BASE_PORT_IF_INDEX)?.first()?,
                number(&v.value)?,
            ))
        })
        .collect();
    let if_name: HashMap<u32, String> = tables
        .if_name
        .iter()
        .filter_map(|v| {
            let index = *suffix(&v.oid, IF_NAME)?.first()?;
            match &v.value {
                Value::Octets(o) => Some((index, String::from_utf8_lossy(o).into_owned())),
                _ => None,
            }
        })
        .collect();

    // MAC → (port, vlan). Q-BRIDGE first: it also says the VLAN (FDB id).
    let mut learnt: BTreeMap<String, (u32, Option<u32>)> = BTreeMap::new();
    for v in &tables.dot1q_fdb_port {
        let Some(ids) = suffix(&v.oid, DOT1Q_TP_FDB_PORT) else {
            continue;
        };
        let (Some((fdb, octets)), Some(port)) = (ids.split_first(), number(&v.value)) else {
            continue;
        };
        if let Some(mac) = mac(octets) {
            learnt.entry(mac).or_insert((port, Some(*fdb)));
        }
    }
    for v in &tables.dot1d_fdb_port {
        let (Some(ids), Some(port)) = (suffix(&v.oid, DOT1D_TP_FDB_PORT), number(&v.value)) else {
            continue;
        };
        if let Some(mac) = mac(&ids) {
            learnt.entry(mac).or_insert((port, None));
        }
    }

    let mut entries: Vec<PortEntry> = learnt
        .into_iter()
        // Port 0 means "learnt, port unknown" (or the switch itself).
        .filter(|(_, (port, _))| *port != 0 && !config.uplink_ports.contains(port))
        .map(|(mac, (port, vlan))| {
            let if_index = port_if.get(&port).copied();
            PortEntry {
                mac,
                bridge_port: port,
                if_index,
                if_name: if_index.and_then(|i| if_name.get(&i).cloned()),
                vlan,
            }
        })
        .collect();
    entries.sort_by(|a, b| (a.bridge_port, &a.mac).cmp(&(b.bridge_port, &b.mac)));
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vb(oid: &str, value: Value) -> Varbind {
        Varbind {
            oid: oid.into(),
            value,
        }
    }

    #[test]
    fn q_bridge_and_bridge_tables_merge_with_names() {
        let tables = Tables {
            base_port_if_index: vec![vb("1.3.6.1.2.1.17.1.4.1.2.3", Value::Integer(10003))],
            if_name: vec![vb(
                "1.3.6.1.2.1.31.1.1.1.1.10003",
                Value::Octets(b"Gi1/0/3".to_vec()),
            )],
            dot1d_fdb_port: vec![
                vb("1.3.6.1.2.1.17.4.3.1.2.82.84.0.153.0.1", Value::Integer(3)),
                vb("1.3.6.1.2.1.17.4.3.1.2.82.84.0.153.0.2", Value::Integer(49)),
            ],
            dot1q_fdb_port: vec![vb(
                "1.3.6.1.2.1.17.7.1.2.2.1.2.10.82.84.0.153.0.1",
                Value::Integer(3),
            )],
        };
        let config = Config {
            uplink_ports: vec![49],
            ..Config::default()
        };
        let entries = assemble(&tables, &config);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].mac, "52:54:00:99:00:01");
        assert_eq!(entries[0].if_name.as_deref(), Some("Gi1/0/3"));
        assert_eq!(entries[0].vlan, Some(10));
    }
}
