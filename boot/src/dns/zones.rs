//! The DNS data the host fills (plain structs) and the records derived from it: one forward zone
//! per network domain and merged reverse zones on octet (IPv4) or nibble (IPv6) boundaries. Both
//! the authoritative server and the BIND exporter are built from `ZoneRecords`.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// Everything DNS serves.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ZoneSet {
    /// Name server host name, fully qualified (`luna.cluster`): SOA MNAME and NS of every zone.
    /// When it lies inside one of the zones, that zone must list it with an address.
    pub nameserver: String,
    /// SOA RNAME; defaults to `hostmaster.<zone>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostmaster: Option<String>,
    #[serde(default = "default_ttl")]
    pub ttl: u32,
    pub zones: Vec<ForwardZone>,
}

fn default_ttl() -> u32 {
    3600
}

/// A forward zone, e.g. `cluster` for the network whose hosts are `node001.cluster`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ForwardZone {
    pub name: String,
    /// The networks of this zone: their reverse zones are served too.
    pub networks: Vec<IpNet>,
    pub hosts: Vec<HostEntry>,
}

/// One name with its addresses (a node's interface, a switch, an other-device, a BMC).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HostEntry {
    /// Relative to the zone (`node001`, `node001-bmc`).
    pub name: String,
    pub addresses: Vec<IpAddr>,
    #[serde(default)]
    pub kind: HostKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostKind {
    #[default]
    Node,
    Switch,
    OtherDevice,
    Bmc,
    NameServer,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    #[error("DNS name {name:?} in {context}: {reason}")]
    BadName {
        name: String,
        context: String,
        reason: &'static str,
    },
    #[error(
        "zone {zone}: the name server {nameserver} is inside it but has no address: add it as a host"
    )]
    NameServerWithoutAddress { zone: String, nameserver: String },
    #[error("zone {0} is listed twice: merge the two")]
    DuplicateZone(String),
}

/// One resource record, names fully qualified with a trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rr {
    pub name: String,
    pub data: RrData,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum RrData {
    Soa {
        mname: String,
        rname: String,
        serial: u32,
        refresh: u32,
        retry: u32,
        expire: u32,
        minimum: u32,
    },
    Ns(String),
    A(std::net::Ipv4Addr),
    Aaaa(std::net::Ipv6Addr),
    Ptr(String),
}

/// A zone ready to serve or export: origin (with trailing dot), TTL, records (SOA first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneRecords {
    pub origin: String,
    pub ttl: u32,
    pub serial: u32,
    pub records: Vec<Rr>,
}

/// A reverse zone: the prefix it covers and its `in-addr.arpa`/`ip6.arpa` name (no trailing dot).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReverseZone {
    pub prefix: IpNet,
    pub name: String,
}

/// Reverse zones for all networks: each network widened to an octet (IPv4) or nibble (IPv6)
/// boundary, duplicates merged, and zones inside a wider one folded into it.
pub fn reverse_zones(set: &ZoneSet) -> Vec<ReverseZone> {
    let mut prefixes: BTreeSet<IpNet> = BTreeSet::new();
    for zone in &set.zones {
        for net in &zone.networks {
            prefixes.insert(widen(net));
        }
    }
    let all: Vec<IpNet> = prefixes.iter().copied().collect();
    all.iter()
        .filter(|p| !all.iter().any(|q| q != *p && q.contains(*p)))
        .map(|p| ReverseZone {
            prefix: *p,
            name: reverse_zone_name(p),
        })
        .collect()
}

fn widen(net: &IpNet) -> IpNet {
    match net {
        IpNet::V4(n) => {
            let len = (n.prefix_len() / 8 * 8).max(8);
            IpNet::V4(Ipv4Net::new(n.network(), len).expect("len <= 32").trunc())
        }
        IpNet::V6(n) => {
            let len = (n.prefix_len() / 4 * 4).max(4);
            IpNet::V6(Ipv6Net::new(n.network(), len).expect("len <= 128").trunc())
        }
    }
}

fn reverse_zone_name(prefix: &IpNet) -> String {
    match prefix {
        IpNet::V4(n) => {
            let octets = n.network().octets();
            let count = usize::from(n.prefix_len() / 8);
            let mut labels: Vec<String> = octets[..count].iter().map(u8::to_string).collect();
            labels.reverse();
            labels.push("in-addr.arpa".into());
            labels.join(".")
        }
        IpNet::V6(n) => {
            let count = usize::from(n.prefix_len() / 4);
            let mut labels: Vec<String> = nibbles(n.network().octets())[..count]
                .iter()
                .map(|d| format!("{d:x}"))
                .collect();
            labels.reverse();
            labels.push("ip6.arpa".into());
            labels.join(".")
        }
    }
}

fn nibbles(octets: [u8; 16]) -> Vec<u8> {
    octets.iter().flat_map(|b| [b >> 4, b & 0xf]).collect()
}

/// The PTR owner name of an address, fully qualified.
pub fn ptr_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa.", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut labels: Vec<String> = nibbles(v6.octets())
                .iter()
                .map(|d| format!("{d:x}"))
                .collect();
            labels.reverse();
            format!("{}.ip6.arpa.", labels.join("."))
        }
    }
}

/// Builds every forward and reverse zone with `serial`.
pub fn build_zones(set: &ZoneSet, serial: u32) -> Result<Vec<ZoneRecords>, ZoneError> {
    let ns = fqdn(&set.nameserver, "the name server setting")?;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let mut ptrs: Vec<(IpAddr, String)> = Vec::new();
    for zone in &set.zones {
        let origin = fqdn(&zone.name, "the zone list")?;
        if !seen.insert(origin.clone()) {
            return Err(ZoneError::DuplicateZone(zone.name.clone()));
        }
        let mut records = vec![soa(set, &origin, &ns, serial)?, ns_record(&origin, &ns)];
        let mut body = BTreeSet::new();
        for host in &zone.hosts {
            let name = host_fqdn(&host.name, &origin)?;
            for ip in &host.addresses {
                let data = match ip {
                    IpAddr::V4(v4) => RrData::A(*v4),
                    IpAddr::V6(v6) => RrData::Aaaa(*v6),
                };
                body.insert(Rr {
                    name: name.clone(),
                    data,
                });
                ptrs.push((*ip, name.clone()));
            }
        }
        if ns.ends_with(&format!(".{origin}")) && !body.iter().any(|r| r.name == ns) {
            return Err(ZoneError::NameServerWithoutAddress {
                zone: zone.name.clone(),
                nameserver: set.nameserver.clone(),
            });
        }
        records.extend(body);
        out.push(ZoneRecords {
            origin,
            ttl: set.ttl,
            serial,
            records,
        });
    }
    for reverse in reverse_zones(set) {
        let origin = format!("{}.", reverse.name);
        let mut records = vec![soa(set, &origin, &ns, serial)?, ns_record(&origin, &ns)];
        let mut body = BTreeSet::new();
        let mut claimed = BTreeSet::new();
        for (ip, target) in &ptrs {
            // One PTR per address: the first name listed wins.
            if reverse.prefix.contains(ip) && claimed.insert(*ip) {
                body.insert(Rr {
                    name: ptr_name(*ip),
                    data: RrData::Ptr(target.clone()),
                });
            }
        }
        records.extend(body);
        out.push(ZoneRecords {
            origin,
            ttl: set.ttl,
            serial,
            records,
        });
    }
    Ok(out)
}

fn soa(set: &ZoneSet, origin: &str, ns: &str, serial: u32) -> Result<Rr, ZoneError> {
    let rname = match &set.hostmaster {
        Some(h) => fqdn(&h.replacen('@', ".", 1), "the hostmaster setting")?,
        None if origin.ends_with(".arpa.") => format!("hostmaster.{}", ns_domain(ns)),
        None => format!("hostmaster.{origin}"),
    };
    Ok(Rr {
        name: origin.to_string(),
        data: RrData::Soa {
            mname: ns.to_string(),
            rname,
            serial,
            refresh: 3600,
            retry: 600,
            expire: 604_800,
            minimum: set.ttl.min(3600),
        },
    })
}

/// The domain of the name server (`cluster.` for `luna.cluster.`).
fn ns_domain(ns: &str) -> &str {
    ns.split_once('.')
        .map_or(ns, |(_, rest)| if rest.is_empty() { ns } else { rest })
}

fn ns_record(origin: &str, ns: &str) -> Rr {
    Rr {
        name: origin.to_string(),
        data: RrData::Ns(ns.to_string()),
    }
}

fn host_fqdn(name: &str, origin: &str) -> Result<String, ZoneError> {
    let context = format!("zone {}", origin.trim_end_matches('.'));
    if name == "@" {
        return Ok(origin.to_string());
    }
    check_labels(name.trim_end_matches('.'), &context)?;
    if name.ends_with('.') {
        Ok(name.to_string())
    } else {
        Ok(format!("{name}.{origin}"))
    }
}

fn fqdn(name: &str, context: &str) -> Result<String, ZoneError> {
    let trimmed = name.trim_end_matches('.');
    check_labels(trimmed, context)?;
    Ok(format!("{trimmed}."))
}

fn check_labels(name: &str, context: &str) -> Result<(), ZoneError> {
    let bad = |reason| ZoneError::BadName {
        name: name.to_string(),
        context: context.to_string(),
        reason,
    };
    if name.is_empty() {
        return Err(bad("is empty"));
    }
    if name.len() > 253 {
        return Err(bad("is longer than 253 characters"));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(bad("has an empty label or one longer than 63 characters"));
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(bad("may only contain letters, digits, '-' and '_'"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(bad("has a label starting or ending with '-'"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> ZoneSet {
        ZoneSet {
            nameserver: "luna.cluster".into(),
            hostmaster: None,
            ttl: 300,
            zones: vec![
                ForwardZone {
                    name: "cluster".into(),
                    networks: vec![
                        "10.99.1.0/24".parse().unwrap(),
                        "fd99::/64".parse().unwrap(),
                    ],
                    hosts: vec![
                        HostEntry {
                            name: "luna".into(),
                            addresses: vec!["10.99.1.1".parse().unwrap()],
                            kind: HostKind::NameServer,
                        },
                        HostEntry {
                            name: "node001".into(),
                            addresses: vec![
                                "10.99.1.21".parse().unwrap(),
                                "fd99::21".parse().unwrap(),
                            ],
                            kind: HostKind::Node,
                        },
                    ],
                },
                ForwardZone {
                    name: "ipmi".into(),
                    networks: vec![
                        "10.99.2.0/26".parse().unwrap(),
                        "10.99.2.64/26".parse().unwrap(),
                    ],
                    hosts: vec![HostEntry {
                        name: "node001".into(),
                        addresses: vec!["10.99.2.21".parse().unwrap()],
                        kind: HostKind::Bmc,
                    }],
                },
            ],
        }
    }

    #[test]
    fn reverse_zones_merge_on_octet_and_nibble_boundaries() {
        let names: Vec<String> = reverse_zones(&sample())
            .into_iter()
            .map(|z| z.name)
            .collect();
        assert!(
            names.contains(&"1.99.10.in-addr.arpa".to_string()),
            "{names:?}"
        );
        // Two /26s share one /24 zone.
        assert_eq!(
            names
                .iter()
                .filter(|n| n.as_str() == "2.99.10.in-addr.arpa")
                .count(),
            1
        );
        assert!(names.contains(&"0.0.0.0.0.0.0.0.0.0.0.0.9.9.d.f.ip6.arpa".to_string()));
        assert_eq!(names.len(), 3);
        // A /16 swallows the /24s inside it.
        let mut wide = sample();
        wide.zones[1].networks.push("10.99.0.0/16".parse().unwrap());
        let names: Vec<String> = reverse_zones(&wide).into_iter().map(|z| z.name).collect();
        assert_eq!(
            names,
            vec![
                "99.10.in-addr.arpa",
                "0.0.0.0.0.0.0.0.0.0.0.0.9.9.d.f.ip6.arpa"
            ]
        );
    }

    #[test]
    fn records_cover_forward_and_reverse() {
        let zones = build_zones(&sample(), 2026112501).unwrap();
        let cluster = zones.iter().find(|z| z.origin == "cluster.").unwrap();
        assert!(matches!(
            cluster.records[0].data,
            RrData::Soa {
                serial: 2026112501,
                ..
            }
        ));
        assert!(cluster.records.contains(&Rr {
            name: "node001.cluster.".into(),
            data: RrData::Aaaa("fd99::21".parse().unwrap())
        }));
        let rev = zones
            .iter()
            .find(|z| z.origin == "1.99.10.in-addr.arpa.")
            .unwrap();
        assert!(rev.records.contains(&Rr {
            name: "21.1.99.10.in-addr.arpa.".into(),
            data: RrData::Ptr("node001.cluster.".into())
        }));
        assert_eq!(
            ptr_name("fd99::21".parse().unwrap()).matches('.').count(),
            34
        );
    }

    #[test]
    fn in_zone_name_server_needs_an_address_and_names_are_checked() {
        let mut s = sample();
        s.zones[0].hosts.remove(0);
        let err = build_zones(&s, 1).unwrap_err();
        assert!(err.to_string().contains("has no address"), "{err}");
        let mut s = sample();
        s.zones[0].hosts[1].name = "bad name".into();
        let err = build_zones(&s, 1).unwrap_err().to_string();
        assert!(
            err.contains("\"bad name\"") && err.contains("zone cluster"),
            "{err}"
        );
    }
}
