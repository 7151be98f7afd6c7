//! A switch-discovery plugin that misbehaves on request (`{"mode": "..."}`), so the host's
//! sandbox tests can check that each escape is stopped: `loop` (CPU), `alloc` (4 GiB),
//! `file`, `socket`, `snmp-other` (SNMP to an address that is not its switch), `panic`.
//! Without a mode it answers one entry, proving the probe itself works.

use luna_sdk::{PortEntry, SwitchDiscovery, SwitchInfo};
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct Config {
    pub mode: String,
    pub target: String,
}

pub struct Probe;

impl SwitchDiscovery for Probe {
    fn discover(switch: SwitchInfo) -> Result<Vec<PortEntry>, String> {
        let config: Config = luna_sdk::config()?;
        match config.mode.as_str() {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "alloc" => {
                // 64 × 64 MiB = 4 GiB, touched so nothing is optimised away.
                let mut chunks = Vec::new();
                for i in 0..64u8 {
                    chunks.push(vec![i; 64 << 20]);
                }
                Err(format!("allocated {} chunks", chunks.len()))
            }
            "file" => match std::fs::read("/etc/passwd") {
                Ok(bytes) => Err(format!(
                    "ESCAPED: read {} bytes of /etc/passwd",
                    bytes.len()
                )),
                Err(e) => Err(format!("file denied: {e}")),
            },
            "socket" => match std::net::TcpStream::connect(config.target.as_str()) {
                Ok(_) => Err(format!("ESCAPED: connected to {}", config.target)),
                Err(e) => Err(format!("socket denied: {e}")),
            },
            "snmp-other" => {
                match luna_sdk::snmp::get(&config.target, &["1.3.6.1.2.1.1.5.0".into()]) {
                    Ok(v) => Err(format!("ESCAPED: SNMP answered {} varbinds", v.len())),
                    Err(e) => Err(e),
                }
            }
            "panic" => panic!("probe asked to panic"),
            _ => Ok(vec![PortEntry {
                mac: "52:54:00:00:00:01".into(),
                bridge_port: 1,
                if_index: None,
                if_name: Some(format!("probe-{}", switch.name)),
                vlan: None,
            }]),
        }
    }
}

luna_sdk::export_plugin!(Probe: SwitchDiscovery);
