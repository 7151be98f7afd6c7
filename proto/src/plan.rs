//! The install plan: everything a node's agent needs to install and configure itself, rendered by
//! the host from the cluster model (`GET /api/v1/nodes/{name-or-mac}/plan`).

use crate::dist::ImageSource;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodePlan {
    pub node: String,
    pub group: String,
    /// Fully qualified when the group has a domain network (`node001.cluster`).
    pub hostname: String,
    /// Boot MAC, lower-case colon form.
    pub mac: Option<String>,
    pub osimage: OsImagePlan,
    pub interfaces: Vec<InterfacePlan>,
    /// BMC settings when the node's `setupbmc` flag is on and the group has a bmcsetup.
    pub bmc: Option<BmcPlan>,
    pub localboot: bool,
    pub service: bool,
    pub scripts: ScriptsPlan,
    /// Plugin bindings of the group: hook name → plugin name and JSON config.
    pub plugins: Vec<PluginPlan>,
    /// Where to fetch the image from; absent until the osimage is packed.
    pub image: Option<ImageSource>,
    /// What the group's bound hooks returned for this node, rendered by the host. A hook without
    /// a binding is `None` and the agent falls back to the group's script field.
    #[serde(default)]
    pub rendered: RenderedHooks,
}

/// Outputs of the plugin hooks bound to the node's group.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RenderedHooks {
    /// From the `partition` binding: a script leaving the target mounted on /sysroot, and its layout.
    #[serde(default)]
    pub partition: Option<crate::plugin::PartitionPlan>,
    /// From the `post-install` binding: a script run chrooted in /sysroot.
    #[serde(default)]
    pub post_install: Option<String>,
    /// From the `bmc` binding: a script run in the initramfs when the node's `setupbmc` is on.
    #[serde(default)]
    pub bmc_setup: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OsImagePlan {
    pub name: String,
    pub kernver: Option<String>,
    pub kernopts: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InterfacePlan {
    /// `BOOTIF`, `BMC` or a NIC name.
    pub name: String,
    pub params: String,
    pub addresses: Vec<AddressPlan>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddressPlan {
    pub network: String,
    /// Address with prefix length, e.g. `10.141.0.1/16`.
    pub cidr: String,
    pub gateway: Option<String>,
    pub nameserver: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BmcPlan {
    pub address: Option<AddressPlan>,
    pub user: String,
    pub password: String,
    pub userid: u8,
    pub netchannel: u8,
    pub mgmtchannel: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptsPlan {
    pub prescript: String,
    /// Empty means diskless: root on tmpfs.
    pub partscript: String,
    pub postscript: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginPlan {
    pub hook: String,
    pub plugin: String,
    pub config: serde_json::Value,
}
