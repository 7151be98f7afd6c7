//! The cluster's objects as stored and as returned by the API.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use utoipa::ToSchema;

/// Cluster-wide settings (a singleton).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    pub name: String,
    /// Auto-generated node names are `nodeprefix` + a number zero-padded to `nodedigits`.
    pub nodeprefix: String,
    pub nodedigits: u8,
    /// Address nodes use to reach this host (boot URLs, tracker); the listen address otherwise.
    #[schema(value_type = Option<String>)]
    pub frontend_address: Option<IpAddr>,
    pub frontend_port: u16,
    /// BitTorrent tracker announce interval, minimum interval (seconds) and peers per reply.
    pub tracker_interval: u32,
    pub tracker_min_interval: u32,
    pub tracker_maxpeers: u32,
    /// Ports the host seeder may listen on.
    pub torrent_port_min: u16,
    pub torrent_port_max: u16,
    /// Extra text included in every exported DNS zone (e.g. `$INCLUDE` lines).
    pub dns_include: Option<String>,
    pub comment: Option<String>,
}

impl Default for Cluster {
    fn default() -> Self {
        Self {
            name: "luna".into(),
            nodeprefix: "node".into(),
            nodedigits: 3,
            frontend_address: None,
            frontend_port: 7050,
            tracker_interval: 10,
            tracker_min_interval: 5,
            tracker_maxpeers: 200,
            torrent_port_min: 7051,
            torrent_port_max: 7200,
            dns_include: None,
            comment: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub name: String,
    #[schema(value_type = String, example = "10.141.0.0/16")]
    pub cidr: IpNet,
    /// Name server of this network's zone; defaults to the last usable address (kept reserved).
    pub ns_hostname: String,
    #[schema(value_type = String)]
    pub ns_ip: IpAddr,
    #[schema(value_type = Option<String>)]
    pub gateway: Option<IpAddr>,
    /// Extra records appended to the exported zone.
    pub zone_extra: Option<String>,
    pub comment: Option<String>,
    /// Addresses the DHCP server hands to unknown machines (`A-B`), reserved out of allocation.
    #[serde(default)]
    pub dhcp_range: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OsImage {
    pub name: String,
    /// Root of the image tree on the Luna host.
    pub path: String,
    /// Kernel version booted by nodes of this image (detected from the tree unless chosen).
    pub kernver: Option<String>,
    /// Every kernel version found in the tree.
    #[serde(default)]
    pub kernels: Vec<String>,
    #[serde(default)]
    pub kernopts: String,
    /// Extra kernel modules / drivers for the Luna initramfs.
    #[serde(default)]
    pub modules: Vec<String>,
    #[serde(default)]
    pub drivers: Vec<String>,
    /// Paths left out when grabbing an image from a running node.
    #[serde(default)]
    pub grab_exclude: Vec<String>,
    pub comment: Option<String>,
    /// What the last `luna osimage pack` produced; absent until the image is packed.
    #[serde(default)]
    pub pack: Option<PackInfo>,
}

/// The artefacts of an image's last pack (`DATA/images/NAME.*`, `DATA/boot/NAME/*`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackInfo {
    /// Size of `NAME.tar.zst` in bytes.
    pub size: Option<u64>,
    /// Torrent piece length in bytes.
    pub piece_size: Option<u32>,
    /// BitTorrent v1 info-hash of the image (40 hex digits).
    pub info_hash: Option<String>,
    /// When the tarball was packed (UTC, RFC 3339).
    pub image_packed_at: Option<String>,
    /// Kernel version copied to the boot directory.
    pub boot_kernver: Option<String>,
    /// `DATA/boot/NAME/kernel` and `initramfs` are present.
    #[serde(default)]
    pub kernel: bool,
    #[serde(default)]
    pub initramfs: bool,
    /// When the boot files were made (UTC, RFC 3339).
    pub boot_packed_at: Option<String>,
    /// Things the operator should know (missing tools, skipped sockets, a dynamic agent).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// How the BMC of a group's nodes is set up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BmcSetup {
    pub name: String,
    pub user: String,
    /// Write-only: the API and CLI show it masked.
    pub password: String,
    pub userid: u8,
    pub netchannel: u8,
    pub mgmtchannel: u8,
    pub comment: Option<String>,
    /// Port the host reaches these BMCs on (IPMI 623 or HTTPS 443 when unset).
    #[serde(default)]
    pub port: Option<u16>,
}

/// A plugin bound to a group or switch, with its JSON configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginBinding {
    pub plugin: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupInterface {
    /// `BOOTIF` is the NIC with the boot MAC, `BMC` is the BMC's own port; others are real NIC names.
    pub name: String,
    pub network: Option<String>,
    pub network6: Option<String>,
    /// Free-form parameters written into the interface config (e.g. `MTU=9000`).
    #[serde(default)]
    pub params: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub name: String,
    pub osimage: String,
    pub bmcsetup: Option<String>,
    /// Network whose zone gives the nodes their domain.
    pub domain: Option<String>,
    pub interfaces: Vec<GroupInterface>,
    #[serde(default)]
    pub prescript: String,
    /// Partition script; empty means diskless (root on tmpfs).
    #[serde(default)]
    pub partscript: String,
    #[serde(default)]
    pub postscript: String,
    /// Interface the torrent client uses; BOOTIF when unset.
    pub torrent_if: Option<String>,
    pub partition: Option<PluginBinding>,
    pub post_install: Option<PluginBinding>,
    pub bmc: Option<PluginBinding>,
    pub power: Option<PluginBinding>,
    pub comment: Option<String>,
}

impl Group {
    pub fn interface(&self, name: &str) -> Option<&GroupInterface> {
        self.interfaces.iter().find(|i| i.name == name)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub name: String,
    pub group: String,
    /// Boot MAC (the BOOTIF NIC); learned from the switch port when unset.
    pub mac: Option<String>,
    pub switch: Option<String>,
    pub port: Option<String>,
    #[serde(default)]
    pub localboot: bool,
    #[serde(default)]
    pub service: bool,
    #[serde(default)]
    pub setupbmc: bool,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    pub name: String,
    pub network: String,
    #[schema(value_type = String)]
    pub ip: IpAddr,
    /// SNMP v2c read and write communities.
    pub read: String,
    pub rw: String,
    /// MAC table OID walked for discovery.
    pub oid: String,
    /// Ports that lead to other switches: MACs seen there never bind to a node.
    #[serde(default)]
    pub uplinks: Vec<String>,
    pub discovery: Option<PluginBinding>,
    pub comment: Option<String>,
    /// UDP port of the switch's SNMP agent (161 when unset).
    #[serde(default)]
    pub snmp_port: Option<u16>,
}

/// A device that is not a node (PDU, storage, ...) that still needs addresses and DNS names.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtherDev {
    pub name: String,
    pub comment: Option<String>,
}

/// Who holds an address.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OwnerKind {
    Node,
    Switch,
    Otherdev,
    Nameserver,
    Reserved,
}

/// One address taken on one network; the single source of truth for IP uniqueness.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IpRecord {
    pub network: String,
    #[schema(value_type = String)]
    pub ip: IpAddr,
    pub owner_kind: OwnerKind,
    pub owner: String,
    /// Interface name for nodes; empty for the other kinds.
    #[serde(default)]
    pub interface: String,
}

/// An address of a node or device, as shown to users.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Address {
    pub interface: String,
    pub network: String,
    #[schema(value_type = String)]
    pub ip: IpAddr,
}

/// A node with the addresses it holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct NodeView {
    #[serde(flatten)]
    pub node: Node,
    pub addresses: Vec<Address>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct OtherDevView {
    #[serde(flatten)]
    pub dev: OtherDev,
    pub addresses: Vec<Address>,
}

/// A network with its address usage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct NetworkView {
    #[serde(flatten)]
    pub network: Network,
    /// Addresses held out of allocation (operator reservations and the name server).
    pub reserved: Vec<String>,
    pub used: u64,
    /// Free host addresses (saturates for huge IPv6 networks).
    pub free: u64,
}
