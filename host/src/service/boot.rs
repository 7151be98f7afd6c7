//! Boot data in the store: a network's DHCP range (reserved addresses), dynamic DHCP leases,
//! machines that booted without matching a node (`luna node unknown`), the boot directory the
//! DHCP server and `/boot/ipxe` answer from, DNS zones with their persisted serial, and the
//! DHCP export model.

use super::{Luna, NodeChange, ip_record};
use crate::model::ipalloc::{self, IpAllocator, check_host};
use crate::model::{Cluster, IpRecord, LunaError, Network, Node, OwnerKind, Result};
use crate::store::{Table, Tx};
use ipnet::IpNet;
use luna_boot::dhcp::{DhcpRange, DhcpSubnet};
use luna_boot::dns::{ForwardZone, HostEntry, HostKind, SerialState, ZoneSet};
use luna_boot::export::{DhcpExport, ExportHost, ExportSubnet};
use luna_proto::boot::{BootRequest, DhcpLease, MacAddress, UnknownMachine};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

/// `interface` of the `ip` records that hold a network's DHCP range.
pub const RANGE_INTERFACE: &str = "dhcp-range";
/// Largest DHCP range a network may have.
const MAX_RANGE: usize = 65_536;
/// An unknown machine retrying every 10 s is written back at most this often.
const UNKNOWN_REFRESH_SECS: u64 = 60;
const SERIAL_ID: &str = "dns_serial:main";

/// Applies `spec` (`A-B`, or `""` to clear) as the DHCP range of `net`: the range's addresses are
/// reserved in the `ip` table (so `node add` never takes them); `held` are the current ones.
pub(super) fn set_dhcp_range(
    net: &mut Network,
    spec: &str,
    held: &[IpAddr],
    used: &mut IpAllocator,
    tx: &mut Tx,
) -> Result<()> {
    let name = net.name.clone();
    let wanted: Vec<IpAddr> = if spec.trim().is_empty() {
        Vec::new()
    } else {
        let range = parse_dhcp_range(&name, net.cidr, spec)?;
        let list = ipalloc::range(net.cidr, range.start.into(), range.end.into(), MAX_RANGE)
            .map_err(|e| LunaError::invalid(format!("DHCP range {spec}: {}", e.message)))?;
        net.dhcp_range = Some(format!("{}-{}", range.start, range.end));
        list
    };
    if wanted.is_empty() {
        net.dhcp_range = None;
    }
    let keep: HashSet<IpAddr> = held.iter().copied().collect();
    let mut records = Vec::new();
    for ip in &wanted {
        if keep.contains(ip) {
            continue;
        }
        used.take(&name, *ip).map_err(|e| LunaError {
            message: format!(
                "DHCP range {spec} of network '{name}' includes {ip}, which is already taken; pick a range of free addresses (see 'luna network show {name}')"
            ),
            ..e
        })?;
        records.push(ip_record(
            &name,
            *ip,
            OwnerKind::Reserved,
            &name,
            RANGE_INTERFACE,
        ));
    }
    let wanted: HashSet<IpAddr> = wanted.into_iter().collect();
    for ip in held.iter().filter(|ip| !wanted.contains(ip)) {
        tx.release_ip(&name, &ip.to_string());
    }
    tx.insert_many(Table::Ip, &records);
    Ok(())
}

/// `10.141.200.1-10.141.200.254`: IPv4, inside the network, start before end.
pub fn parse_dhcp_range(network: &str, cidr: IpNet, spec: &str) -> Result<DhcpRange> {
    let bad = || {
        LunaError::invalid(format!(
            "DHCP range '{spec}' of network '{network}' is not valid; write it as FIRST-LAST, e.g. 10.141.200.1-10.141.200.254"
        ))
    };
    let (a, b) = spec.trim().split_once('-').ok_or_else(bad)?;
    let start: Ipv4Addr = a.trim().parse().map_err(|_| bad())?;
    let end: Ipv4Addr = b.trim().parse().map_err(|_| bad())?;
    if !matches!(cidr, IpNet::V4(_)) {
        return Err(LunaError::invalid(format!(
            "network '{network}' is IPv6; a DHCP range needs an IPv4 network"
        )));
    }
    check_host(network, cidr, start.into())?;
    check_host(network, cidr, end.into())?;
    if end < start {
        return Err(LunaError::invalid(format!(
            "DHCP range '{spec}' of network '{network}' ends before it starts; swap the addresses"
        )));
    }
    Ok(DhcpRange { start, end })
}

/// One node as the boot services see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootNode {
    pub name: String,
    pub mac: MacAddress,
    pub osimage: String,
    pub kernopts: String,
    pub localboot: bool,
    pub service: bool,
    /// The node's IPv4 address on its BOOTIF network: its fixed DHCP lease.
    pub bootif_ip: Option<Ipv4Addr>,
}

/// Every node with a MAC, by MAC: what the DHCP server and `/boot/ipxe` answer from.
#[derive(Debug, Default)]
pub struct BootSnapshot {
    pub by_mac: HashMap<MacAddress, Arc<BootNode>>,
}

/// A row of the `lease` table (`name` is the MAC).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LeaseRow {
    name: String,
    ip: String,
    expires_unix: u64,
    client_hostname: Option<String>,
}

/// A row of the `unknown` table (`name` is the boot MAC).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct UnknownRow {
    name: String,
    macs: Vec<String>,
    serial: Option<String>,
    platform: Option<String>,
    interface: Option<String>,
    first_seen_unix: u64,
    last_seen_unix: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SerialRow {
    serial: u32,
    fingerprint: String,
}

/// Luna's own IPv4 address on a network: the cluster's frontend address when it lies inside,
/// else the network's name server address (the Luna host by default).
fn server_ip_on(net: &Network, cluster: Option<&Cluster>) -> Option<Ipv4Addr> {
    let inside = |ip: IpAddr| match (ip, net.cidr) {
        (IpAddr::V4(v4), IpNet::V4(c)) if c.contains(&v4) => Some(v4),
        _ => None,
    };
    cluster
        .and_then(|c| c.frontend_address)
        .and_then(inside)
        .or_else(|| inside(net.ns_ip))
}

impl Luna {
    /// Addresses currently held by the DHCP range of `network`.
    pub(super) async fn dhcp_range_ips(&self, network: &str) -> Result<Vec<IpAddr>> {
        let mut vars = Map::new();
        vars.insert("n".into(), Value::String(network.into()));
        vars.insert("i".into(), Value::String(RANGE_INTERFACE.into()));
        let ips: Vec<String> = self
            .store
            .rows(
                "SELECT VALUE ip FROM ip WHERE network = $n AND owner_kind = 'reserved' AND interface = $i",
                vars,
            )
            .await?;
        Ok(ips.iter().filter_map(|s| s.parse().ok()).collect())
    }

    /// The network an address belongs to.
    pub async fn network_of_address(&self, ip: IpAddr) -> Result<Option<Network>> {
        let nets: Vec<Network> = self.store.list(Table::Network).await?;
        Ok(nets.into_iter().find(|n| n.cidr.contains(&ip)))
    }

    /// One node's boot data, read from the store (for `luna node show --script boot`).
    pub async fn boot_node(&self, name: &str) -> Result<BootNode> {
        let view = self.node_show(name).await?;
        let mac: MacAddress = view
            .node
            .mac
            .as_deref()
            .ok_or_else(|| {
                LunaError::invalid(format!(
                    "node '{name}' has no MAC yet, so it cannot boot; set it with 'luna node change {name} --mac …' or claim it from 'luna node unknown'"
                ))
            })?
            .parse()
            .map_err(|e| LunaError::internal(format!("stored MAC of node '{name}': {e}")))?;
        let group = self.group_show(&view.node.group).await?;
        let image = self.osimage_show(&group.osimage).await?;
        let bootif_ip = view.addresses.iter().find_map(|a| match a.ip {
            IpAddr::V4(v4) if a.interface == "BOOTIF" => Some(v4),
            _ => None,
        });
        Ok(BootNode {
            name: view.node.name,
            mac,
            osimage: image.name,
            kernopts: image.kernopts,
            localboot: view.node.localboot,
            service: view.node.service,
            bootif_ip,
        })
    }

    /// Records (or refreshes) a machine that booted without matching a node.
    pub async fn unknown_seen(
        &self,
        req: &BootRequest,
        interface: Option<String>,
        now: u64,
    ) -> Result<()> {
        let Some(mac) = req.mac.or_else(|| req.macs.first().copied()) else {
            return Ok(());
        };
        let name = mac.to_string();
        let old: Option<UnknownRow> = self.store.get(Table::Unknown, &name).await?;
        // DHCP knows less than /boot/ipxe: keep what an earlier request told.
        let mut macs: Vec<String> = req.macs.iter().map(ToString::to_string).collect();
        if let Some(o) = &old
            && o.macs.len() > macs.len()
        {
            macs = o.macs.clone();
        }
        let row = UnknownRow {
            name: name.clone(),
            macs,
            serial: req
                .serial
                .clone()
                .or_else(|| old.as_ref().and_then(|o| o.serial.clone())),
            platform: req
                .platform
                .clone()
                .or_else(|| old.as_ref().and_then(|o| o.platform.clone())),
            interface: interface.or_else(|| old.as_ref().and_then(|o| o.interface.clone())),
            first_seen_unix: old.as_ref().map_or(now, |o| o.first_seen_unix),
            last_seen_unix: now,
        };
        if let Some(o) = &old
            && o.macs == row.macs
            && o.serial == row.serial
            && o.platform == row.platform
            && o.interface == row.interface
            && now.saturating_sub(o.last_seen_unix) < UNKNOWN_REFRESH_SECS
        {
            return Ok(());
        }
        let mut tx = Tx::new();
        if old.is_some() {
            tx.replace(Table::Unknown, &name, &row);
        } else {
            tx.create(Table::Unknown, &row);
        }
        self.store.commit(tx).await
    }

    /// Machines that booted without matching a node, newest first; a MAC that a node has since
    /// taken is left out.
    pub async fn unknown_list(&self) -> Result<Vec<UnknownMachine>> {
        let rows: Vec<UnknownRow> = self.store.list(Table::Unknown).await?;
        let taken: HashSet<String> = self
            .store
            .rows::<String>("SELECT VALUE mac FROM node WHERE mac != NONE", Map::new())
            .await?
            .into_iter()
            .collect();
        let mut out: Vec<UnknownMachine> = rows
            .into_iter()
            .filter(|r| !taken.contains(&r.name) && !r.macs.iter().any(|m| taken.contains(m)))
            .filter_map(|r| {
                Some(UnknownMachine {
                    mac: r.name.parse().ok()?,
                    macs: r.macs.iter().filter_map(|m| m.parse().ok()).collect(),
                    serial: r.serial,
                    platform: r.platform,
                    first_seen_unix: r.first_seen_unix,
                    last_seen_unix: r.last_seen_unix,
                    interface: r.interface,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            b.last_seen_unix
                .cmp(&a.last_seen_unix)
                .then(a.mac.cmp(&b.mac))
        });
        Ok(out)
    }

    /// Binds `mac` to `node` and drops the machine from the unknown list.
    pub async fn node_claim(&self, node: &str, mac: &str) -> Result<crate::model::NodeView> {
        let mac = crate::model::mac::normalize_mac(mac)?;
        let view = self.node_show(node).await?;
        if let Some(old) = &view.node.mac
            && *old != mac
        {
            return Err(LunaError::conflict(format!(
                "node '{node}' already has MAC {old}; clear it first ('luna node change {node} --mac \"\"') to claim {mac}"
            )));
        }
        let change = NodeChange {
            mac: Some(mac.clone()),
            ..Default::default()
        };
        let mut views = self.node_change(node, change).await?;
        let mut tx = Tx::new();
        tx.delete(Table::Unknown, &mac);
        self.store.commit(tx).await?;
        views
            .pop()
            .ok_or_else(|| LunaError::internal(format!("node '{node}' vanished while claiming")))
    }

    /// Sets the boot MAC of many nodes in one transaction (`luna bench boot` builds its cluster
    /// with it); every MAC must be new and used once.
    pub async fn node_macs_set(&self, macs: &[(String, String)]) -> Result<()> {
        let _w = self.writes.lock().await;
        let mut seen: HashSet<String> = self
            .store
            .rows::<String>("SELECT VALUE mac FROM node WHERE mac != NONE", Map::new())
            .await?
            .into_iter()
            .collect();
        let mut nodes: HashMap<String, Node> = self
            .store
            .list::<Node>(Table::Node)
            .await?
            .into_iter()
            .map(|n| (n.name.clone(), n))
            .collect();
        let mut tx = Tx::new();
        for (name, mac) in macs {
            let mac = crate::model::mac::normalize_mac(mac)?;
            if !seen.insert(mac.clone()) {
                return Err(LunaError::conflict(format!(
                    "MAC {mac} is given twice or already belongs to a node"
                )));
            }
            let node = nodes
                .get_mut(name)
                .ok_or_else(|| LunaError::not_found("node", name))?;
            node.mac = Some(mac);
            tx.replace(Table::Node, name, &*node);
        }
        self.store.commit(tx).await
    }

    /// Dynamic DHCP leases as persisted.
    pub async fn lease_list(&self) -> Result<Vec<DhcpLease>> {
        let rows: Vec<LeaseRow> = self.store.list(Table::Lease).await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(DhcpLease {
                    mac: r.name.parse().ok()?,
                    ip: r.ip.parse().ok()?,
                    expires_unix: r.expires_unix,
                    client_hostname: r.client_hostname,
                })
            })
            .collect())
    }

    pub async fn lease_save(&self, lease: &DhcpLease) -> Result<()> {
        let row = LeaseRow {
            name: lease.mac.to_string(),
            ip: lease.ip.to_string(),
            expires_unix: lease.expires_unix,
            client_hostname: lease.client_hostname.clone(),
        };
        let mut tx = Tx::new();
        tx.delete(Table::Lease, &row.name);
        tx.create(Table::Lease, &row);
        self.store.commit(tx).await
    }

    pub async fn lease_remove(&self, mac: MacAddress) -> Result<()> {
        let mut tx = Tx::new();
        tx.delete(Table::Lease, &mac.to_string());
        self.store.commit(tx).await
    }

    /// Every name DNS serves: one forward zone per network (named like the network) with its
    /// nodes, switches, other devices, BMCs and name server.
    pub async fn dns_zone_set(&self) -> Result<ZoneSet> {
        let cluster = self.require_cluster().await?;
        let mut nets: Vec<Network> = self.store.list(Table::Network).await?;
        nets.sort_by(|a, b| a.name.cmp(&b.name));
        let records: Vec<IpRecord> = self
            .store
            .rows("SELECT * OMIT id FROM ip", Map::new())
            .await?;
        let mut hosts: BTreeMap<(String, String), (HostKind, Vec<IpAddr>)> = BTreeMap::new();
        for r in records {
            let (name, kind) = match r.owner_kind {
                OwnerKind::Node => match r.interface.as_str() {
                    "BOOTIF" => (r.owner.clone(), HostKind::Node),
                    "BMC" => (format!("{}-bmc", r.owner), HostKind::Bmc),
                    other => (
                        format!("{}-{}", r.owner, other.to_ascii_lowercase()),
                        HostKind::Node,
                    ),
                },
                OwnerKind::Switch => (r.owner.clone(), HostKind::Switch),
                OwnerKind::Otherdev => (r.owner.clone(), HostKind::OtherDevice),
                OwnerKind::Nameserver => {
                    let Some(net) = nets.iter().find(|n| n.name == r.network) else {
                        continue;
                    };
                    (net.ns_hostname.clone(), HostKind::NameServer)
                }
                OwnerKind::Reserved => continue,
            };
            let entry = hosts
                .entry((r.network.clone(), name))
                .or_insert((kind, Vec::new()));
            entry.1.push(r.ip);
        }
        let zones = nets
            .iter()
            .map(|n| ForwardZone {
                name: n.name.clone(),
                networks: vec![n.cidr],
                hosts: hosts
                    .range((n.name.clone(), String::new())..)
                    .take_while(|((net, _), _)| *net == n.name)
                    .map(|((_, name), (kind, addrs))| {
                        let mut addresses = addrs.clone();
                        addresses.sort();
                        HostEntry {
                            name: name.clone(),
                            addresses,
                            kind: *kind,
                        }
                    })
                    .collect(),
            })
            .collect();
        let nameserver = match nets.first() {
            Some(n) => format!("{}.{}", n.ns_hostname, n.name),
            None => cluster.name.clone(),
        };
        Ok(ZoneSet {
            nameserver,
            hostmaster: None,
            ttl: 3600,
            zones,
        })
    }

    /// The zones with their serial; the serial (persisted) advances whenever the zones changed
    /// since it was last handed out.
    pub async fn dns_zones(&self, now: u64) -> Result<(ZoneSet, u32)> {
        let set = self.dns_zone_set().await?;
        let _w = self.writes.lock().await;
        let stored: Option<SerialRow> = self.store.singleton(SERIAL_ID).await?;
        let mut state = SerialState {
            serial: stored.as_ref().map(|s| s.serial),
            fingerprint: stored.as_ref().and_then(|s| s.fingerprint.parse().ok()),
        };
        let before = state;
        let serial = state.serial_for(&set, now);
        if state != before {
            let mut tx = Tx::new();
            tx.upsert_singleton(
                SERIAL_ID,
                &SerialRow {
                    serial,
                    fingerprint: state.fingerprint.unwrap_or_default().to_string(),
                },
            );
            self.store.commit(tx).await?;
        }
        Ok((set, serial))
    }

    /// DHCP subnets for the named networks (all IPv4 networks with a DHCP range or a node's
    /// BOOTIF address when `names` is empty).
    pub async fn dhcp_subnets(&self, names: &[String]) -> Result<Vec<(DhcpSubnet, Ipv4Addr)>> {
        let cluster: Option<Cluster> = self.store.singleton("cluster:main").await?;
        let mut nets: Vec<Network> = self.store.list(Table::Network).await?;
        nets.sort_by(|a, b| a.name.cmp(&b.name));
        for n in names {
            if !nets.iter().any(|x| &x.name == n) {
                return Err(LunaError::not_found("network", n));
            }
        }
        let boot_nets: HashSet<String> = self
            .store
            .rows::<String>(
                "SELECT VALUE network FROM ip WHERE owner_kind = 'node' AND interface = 'BOOTIF'",
                Map::new(),
            )
            .await?
            .into_iter()
            .collect();
        let mut out = Vec::new();
        for net in nets {
            let IpNet::V4(v4) = net.cidr else {
                if names.contains(&net.name) {
                    return Err(LunaError::invalid(format!(
                        "network '{}' is IPv6; DHCPv4 serves IPv4 networks only",
                        net.name
                    )));
                }
                continue;
            };
            let chosen = if names.is_empty() {
                net.dhcp_range.is_some() || boot_nets.contains(&net.name)
            } else {
                names.contains(&net.name)
            };
            if !chosen {
                continue;
            }
            let Some(server) = server_ip_on(&net, cluster.as_ref()) else {
                continue;
            };
            let range = net
                .dhcp_range
                .as_deref()
                .map(|r| parse_dhcp_range(&net.name, net.cidr, r))
                .transpose()?;
            let v4_of = |ip: IpAddr| match ip {
                IpAddr::V4(v) => Some(v),
                IpAddr::V6(_) => None,
            };
            out.push((
                DhcpSubnet {
                    network: v4,
                    range,
                    routers: net.gateway.and_then(v4_of).into_iter().collect(),
                    dns_servers: v4_of(net.ns_ip).into_iter().collect(),
                    domain: Some(net.name.clone()),
                },
                server,
            ));
        }
        Ok(out)
    }

    /// What `luna cluster makedhcp` renders: subnets with Luna's address on each, every node
    /// with a MAC and a BOOTIF address as a fixed host; boot files, networks, lease time and
    /// interfaces as the daemon's own DHCP server uses them (`[dhcp]` of luna.toml).
    pub async fn dhcp_export(&self, options: &DhcpExportOptions) -> Result<DhcpExport> {
        let cluster = self.require_cluster().await?;
        let subnets = self.dhcp_subnets(&options.networks).await?;
        let snapshot = self.boot_snapshot().await?;
        let mut hosts: Vec<ExportHost> = snapshot
            .by_mac
            .values()
            .filter_map(|n| {
                Some(ExportHost {
                    name: n.name.clone(),
                    mac: n.mac,
                    ip: n.bootif_ip?,
                    boot_file: None,
                })
            })
            .collect();
        hosts.sort_by(|a, b| crate::model::names::natural_cmp(&a.name, &b.name));
        Ok(DhcpExport {
            subnets: subnets
                .into_iter()
                .map(|(subnet, server_ip)| {
                    let (interface, server_ip) =
                        export_interface(&options.interfaces, &subnet, server_ip);
                    ExportSubnet {
                        subnet,
                        server_ip,
                        interface,
                    }
                })
                .collect(),
            hosts,
            boot_files: options.boot_files.clone(),
            ipxe_url: format!("http://{{server}}:{}/boot/ipxe", cluster.frontend_port),
            lease_secs: options.lease_secs,
        })
    }
}

/// What of the daemon's `[dhcp]` section shapes `luna cluster makedhcp`.
#[derive(Debug, Clone)]
pub struct DhcpExportOptions {
    pub boot_files: luna_boot::dhcp::BootFiles,
    /// Networks to serve; empty: every IPv4 network with a DHCP range or a node's BOOTIF.
    pub networks: Vec<String>,
    pub lease_secs: u32,
    /// Interfaces the daemon serves DHCP on.
    pub interfaces: Vec<String>,
}

impl Default for DhcpExportOptions {
    fn default() -> Self {
        Self {
            boot_files: luna_boot::dhcp::BootFiles::default(),
            networks: Vec::new(),
            lease_secs: 3600,
            interfaces: Vec::new(),
        }
    }
}

/// The interface a subnet is served on, and Luna's address there. Like the daemon's server: the
/// configured interface whose IPv4 address lies in the subnet, and that address is next-server
/// and boot URL host. With one interface configured and none matching (the export is written on
/// another host), that one; otherwise none (the site's server listens everywhere).
fn export_interface(
    interfaces: &[String],
    subnet: &DhcpSubnet,
    server_ip: Ipv4Addr,
) -> (Option<String>, Ipv4Addr) {
    for name in interfaces {
        if let Ok(ip) = luna_boot::iface::ipv4_of_interface(name)
            && subnet.network.contains(&ip)
        {
            return (Some(name.clone()), ip);
        }
    }
    match interfaces {
        [only] => (Some(only.clone()), server_ip),
        _ => (None, server_ip),
    }
}
