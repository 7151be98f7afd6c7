//! Bencoded tracker replies: announce (compact BEP 23 + IPv6 BEP 7, or the original list of
//! dictionaries), scrape, and failures.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use serde_bencode::value::Value;

use crate::info_hash::InfoHash;

/// A peer as returned in an announce reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyPeer {
    pub addr: SocketAddr,
    pub peer_id: Option<[u8; 20]>,
}

/// Swarm counts of one torrent, as in scrape replies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SwarmCounts {
    /// Live peers with nothing left to download (including the host seeder).
    pub complete: u64,
    /// Live peers still downloading.
    pub incomplete: u64,
    /// How many `completed` events the tracker has seen.
    pub downloaded: u64,
}

fn dict(entries: Vec<(&str, Value)>) -> Value {
    Value::Dict(
        entries
            .into_iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v))
            .collect::<HashMap<_, _>>(),
    )
}

fn encode(v: &Value) -> Vec<u8> {
    // Encoding a Value tree cannot fail: every key is a byte string.
    serde_bencode::to_bytes(v).unwrap_or_else(|_| b"d14:failure reason14:encoding errore".to_vec())
}

/// `d14:failure reason<len>:<reason>e`
pub fn failure(reason: &str) -> Vec<u8> {
    encode(&dict(vec![(
        "failure reason",
        Value::Bytes(reason.as_bytes().to_vec()),
    )]))
}

fn int(v: u64) -> Value {
    Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

pub fn announce(
    interval_secs: u64,
    min_interval_secs: u64,
    counts: SwarmCounts,
    peers: &[ReplyPeer],
    compact: bool,
    no_peer_id: bool,
) -> Vec<u8> {
    let mut entries = vec![
        ("interval", int(interval_secs)),
        ("min interval", int(min_interval_secs)),
        ("complete", int(counts.complete)),
        ("incomplete", int(counts.incomplete)),
    ];
    if compact {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for p in peers {
            match p.addr.ip() {
                IpAddr::V4(ip) => {
                    v4.extend_from_slice(&ip.octets());
                    v4.extend_from_slice(&p.addr.port().to_be_bytes());
                }
                IpAddr::V6(ip) => {
                    v6.extend_from_slice(&ip.octets());
                    v6.extend_from_slice(&p.addr.port().to_be_bytes());
                }
            }
        }
        entries.push(("peers", Value::Bytes(v4)));
        if !v6.is_empty() {
            entries.push(("peers6", Value::Bytes(v6)));
        }
    } else {
        let list = peers
            .iter()
            .map(|p| {
                let mut d = vec![
                    ("ip", Value::Bytes(p.addr.ip().to_string().into_bytes())),
                    ("port", int(u64::from(p.addr.port()))),
                ];
                if let (false, Some(id)) = (no_peer_id, p.peer_id) {
                    d.push(("peer id", Value::Bytes(id.to_vec())));
                }
                dict(d)
            })
            .collect();
        entries.push(("peers", Value::List(list)));
    }
    encode(&dict(entries))
}

pub fn scrape(files: &[(InfoHash, SwarmCounts)]) -> Vec<u8> {
    let files = files
        .iter()
        .map(|(h, c)| {
            (
                h.as_bytes().to_vec(),
                dict(vec![
                    ("complete", int(c.complete)),
                    ("downloaded", int(c.downloaded)),
                    ("incomplete", int(c.incomplete)),
                ]),
            )
        })
        .collect::<HashMap<_, _>>();
    encode(&dict(vec![("files", Value::Dict(files))]))
}
