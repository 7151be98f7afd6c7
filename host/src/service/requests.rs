//! Request bodies of the API. Each is shared by the CLI (which builds it) and the daemon (which
//! refuses unknown fields, so a typo never passes silently). In `*Change` requests an absent field
//! keeps its value and `""` clears an optional one.

use crate::model::{GroupInterface, PluginBinding};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterChange {
    pub name: Option<String>,
    pub nodeprefix: Option<String>,
    pub nodedigits: Option<u8>,
    pub frontend_address: Option<String>,
    pub frontend_port: Option<u16>,
    pub tracker_interval: Option<u32>,
    pub tracker_min_interval: Option<u32>,
    pub tracker_maxpeers: Option<u32>,
    pub torrent_port_min: Option<u16>,
    pub torrent_port_max: Option<u16>,
    pub dns_include: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    pub new_name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkAdd {
    pub name: String,
    /// `10.141.0.0/16`, `fd00::/64`, or an address with `prefix` given separately.
    pub cidr: String,
    pub prefix: Option<u8>,
    pub ns_hostname: Option<String>,
    pub ns_ip: Option<String>,
    pub gateway: Option<String>,
    pub zone_extra: Option<String>,
    pub comment: Option<String>,
    /// DHCP range for unknown machines, `10.141.200.1-10.141.200.254`.
    #[serde(default)]
    pub dhcp_range: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkChange {
    pub cidr: Option<String>,
    pub prefix: Option<u8>,
    pub ns_hostname: Option<String>,
    pub ns_ip: Option<String>,
    pub gateway: Option<String>,
    pub zone_extra: Option<String>,
    pub comment: Option<String>,
    /// Addresses or ranges (`10.141.0.10-10.141.0.20`) to hold out of allocation.
    #[serde(default)]
    pub reserve: Vec<String>,
    /// Reserved addresses or ranges to give back.
    #[serde(default)]
    pub release: Vec<String>,
    /// DHCP range for unknown machines (`A-B`; `""` clears it and frees its addresses).
    #[serde(default)]
    pub dhcp_range: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OsImageAdd {
    pub name: String,
    pub path: String,
    pub kernver: Option<String>,
    pub kernopts: Option<String>,
    pub modules: Option<Vec<String>>,
    pub drivers: Option<Vec<String>>,
    pub grab_exclude: Option<Vec<String>>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OsImageChange {
    pub path: Option<String>,
    pub kernver: Option<String>,
    pub kernopts: Option<String>,
    pub modules: Option<Vec<String>>,
    pub drivers: Option<Vec<String>>,
    pub grab_exclude: Option<Vec<String>>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OsImageClone {
    pub new_name: String,
    /// Path of the copy's tree; defaults to the original's (shared tree, own settings).
    pub path: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BmcSetupAdd {
    pub name: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub userid: Option<u8>,
    pub netchannel: Option<u8>,
    pub mgmtchannel: Option<u8>,
    pub comment: Option<String>,
    /// Port the host reaches the BMCs on; 0 means the protocol default.
    #[serde(default)]
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BmcSetupChange {
    pub user: Option<String>,
    pub password: Option<String>,
    pub userid: Option<u8>,
    pub netchannel: Option<u8>,
    pub mgmtchannel: Option<u8>,
    pub comment: Option<String>,
    /// Port the host reaches the BMCs on; 0 means the protocol default.
    #[serde(default)]
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupAdd {
    pub name: String,
    pub osimage: String,
    /// Network of the BOOTIF interface.
    pub network: Option<String>,
    /// IPv6 network of the BOOTIF interface.
    pub network6: Option<String>,
    /// Network of the BMC interface.
    pub bmcnetwork: Option<String>,
    pub bmcsetup: Option<String>,
    pub domain: Option<String>,
    /// Full interface list; defaults to BOOTIF and BMC.
    pub interfaces: Option<Vec<GroupInterface>>,
    pub prescript: Option<String>,
    pub partscript: Option<String>,
    pub postscript: Option<String>,
    pub torrent_if: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupChange {
    pub osimage: Option<String>,
    pub bmcsetup: Option<String>,
    pub domain: Option<String>,
    pub prescript: Option<String>,
    pub partscript: Option<String>,
    pub postscript: Option<String>,
    pub torrent_if: Option<String>,
    pub comment: Option<String>,
    /// Plugin bindings; a binding whose `plugin` is `""` removes it.
    pub partition: Option<PluginBinding>,
    pub post_install: Option<PluginBinding>,
    pub bmc: Option<PluginBinding>,
    pub power: Option<PluginBinding>,
}

/// Adds or changes one group interface. Changing its network re-addresses the group's nodes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupInterfaceSet {
    pub network: Option<String>,
    pub network6: Option<String>,
    pub params: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeAdd {
    pub group: String,
    /// A name or hostlist (`node[001-010]`); auto-named when absent.
    pub name: Option<String>,
    /// How many auto-named nodes to add (default 1) when `name` is absent.
    pub count: Option<u32>,
    pub mac: Option<String>,
    pub switch: Option<String>,
    pub port: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeChange {
    pub group: Option<String>,
    pub mac: Option<String>,
    pub switch: Option<String>,
    pub port: Option<String>,
    pub localboot: Option<bool>,
    pub service: Option<bool>,
    pub setupbmc: Option<bool>,
    pub comment: Option<String>,
    /// Interface name → address to take on that interface's network.
    #[serde(default)]
    pub ips: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchAdd {
    pub name: String,
    pub network: String,
    pub ip: String,
    pub read: Option<String>,
    pub rw: Option<String>,
    pub oid: Option<String>,
    pub uplinks: Option<Vec<String>>,
    pub comment: Option<String>,
    /// SNMP agent port; 0 means 161.
    #[serde(default)]
    pub snmp_port: Option<u16>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchChange {
    pub network: Option<String>,
    pub ip: Option<String>,
    pub read: Option<String>,
    pub rw: Option<String>,
    pub oid: Option<String>,
    pub uplinks: Option<Vec<String>>,
    pub comment: Option<String>,
    /// Discovery plugin binding; `plugin: ""` removes it.
    pub discovery: Option<PluginBinding>,
    /// SNMP agent port; 0 means 161.
    #[serde(default)]
    pub snmp_port: Option<u16>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtherDevAdd {
    pub name: String,
    pub network: Option<String>,
    pub ip: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtherDevChange {
    /// Give the device this address on `network` (replacing its address there).
    pub network: Option<String>,
    pub ip: Option<String>,
    /// Drop the device's address on this network.
    pub release_network: Option<String>,
    pub comment: Option<String>,
}
