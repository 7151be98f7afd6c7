//! `bridge-mib`: reads a switch's forwarding database over SNMP and reports MAC → bridge port →
//! ifIndex → ifName. Uses Q-BRIDGE-MIB dot1qTpFdbPort (per VLAN/FDB) and BRIDGE-MIB
//! dot1dTpFdbPort, maps ports with dot1dBasePortIfIndex and names them with IF-MIB ifName.
//!
//! Configuration (optional): `{"bulk": true, "max_repetitions": 25, "uplink_ports": [49, 50]}`;
//! MACs learnt on uplink bridge ports are left out (they belong to other switches).

mod fdb;

use luna_sdk::snmp::{self, Varbind};
use luna_sdk::{PortEntry, SwitchDiscovery, SwitchInfo};

pub use fdb::{Config, Tables, assemble};

pub struct BridgeMib;

fn fetch(switch: &SwitchInfo, config: &Config, oid: &str) -> Result<Vec<Varbind>, String> {
    if config.bulk {
        snmp::bulk_walk(&switch.address, oid, config.max_repetitions)
    } else {
        snmp::walk(&switch.address, oid)
    }
    .map_err(|e| format!("bridge-mib: walking {oid} on {}: {e}", switch.name))
}

impl SwitchDiscovery for BridgeMib {
    fn validate_config() -> Result<(), String> {
        luna_sdk::config::<Config>()?.check()
    }

    fn discover(switch: SwitchInfo) -> Result<Vec<PortEntry>, String> {
        let config: Config = luna_sdk::config()?;
        config.check()?;
        let tables = Tables {
            base_port_if_index: fetch(&switch, &config, fdb::DOT1D_BASE_PORT_IF_INDEX)?,
            if_name: fetch(&switch, &config, fdb::IF_NAME)?,
            dot1d_fdb_port: fetch(&switch, &config, fdb::DOT1D_TP_FDB_PORT)?,
            dot1q_fdb_port: fetch(&switch, &config, fdb::DOT1Q_TP_FDB_PORT)?,
        };
        let entries = assemble(&tables, &config);
        luna_sdk::log::info(&format!("{}: {} MAC addresses", switch.name, entries.len()));
        Ok(entries)
    }
}

luna_sdk::export_plugin!(BridgeMib: SwitchDiscovery);
