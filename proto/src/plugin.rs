//! Plugin hook inputs and outputs, shared by the host (registry, plan renderer), the plugin runtime
//! and the agent. They mirror the `luna:provision@0.1.0` WIT types field for field (kebab-case in
//! WIT, snake_case here) so a Rhai script sees the same names as a WASM component.

use serde::{Deserialize, Serialize};

/// How the node boots (learnt from DHCP option 93 or set on the group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BootFirmware {
    #[default]
    Bios,
    Uefi,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Network {
    pub name: String,
    /// Network prefix, e.g. "10.141.0.0/16".
    pub prefix: String,
    #[serde(default)]
    pub gateway: Option<String>,
    #[serde(default)]
    pub domain: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NodeInterface {
    pub name: String,
    #[serde(default)]
    pub mac: Option<String>,
    /// Addresses with prefix length, e.g. "10.141.0.5/16".
    #[serde(default)]
    pub addresses: Vec<String>,
    #[serde(default)]
    pub network: Option<Network>,
}

/// One block device from the node's hardware inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Disk {
    /// Kernel device path, e.g. "/dev/sda".
    pub device: String,
    pub size_bytes: u64,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub rotational: bool,
    #[serde(default)]
    pub removable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Group {
    pub name: String,
    #[serde(default)]
    pub domain: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OsImage {
    pub name: String,
    #[serde(default)]
    pub kernel_version: Option<String>,
    /// Distribution family, e.g. "debian", "rocky".
    #[serde(default)]
    pub distribution: Option<String>,
}

/// The node's BMC: the address it must get (BMC setup) and how the host reaches it (power).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BmcSettings {
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub netmask: Option<String>,
    #[serde(default)]
    pub gateway: Option<String>,
    /// Port the host uses to reach the BMC; `None` means the protocol default (623 / 443).
    #[serde(default)]
    pub port: Option<u16>,
    pub user_id: u8,
    pub user: String,
    pub password: String,
    pub net_channel: u8,
    pub mgmt_channel: u8,
}

/// Hand-written so the password never reaches a log through `{:?}`.
impl std::fmt::Debug for BmcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BmcSettings")
            .field("address", &self.address)
            .field("netmask", &self.netmask)
            .field("gateway", &self.gateway)
            .field("port", &self.port)
            .field("user_id", &self.user_id)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("net_channel", &self.net_channel)
            .field("mgmt_channel", &self.mgmt_channel)
            .finish()
    }
}

/// Everything a node-scoped hook (partition, post-install, bmc, power) gets about its node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct NodeContext {
    pub name: String,
    pub hostname: String,
    pub group: Group,
    pub osimage: OsImage,
    #[serde(default)]
    pub firmware: BootFirmware,
    #[serde(default)]
    pub interfaces: Vec<NodeInterface>,
    #[serde(default)]
    pub disks: Vec<Disk>,
    #[serde(default)]
    pub bmc: Option<BmcSettings>,
}

/// A switch polled for its forwarding table. The community is not shown to the plugin: the
/// host's SNMP capability adds it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SwitchContext {
    pub name: String,
    /// The only address the plugin's SNMP capability may reach.
    pub address: String,
    /// UDP port; `None` means 161.
    #[serde(default)]
    pub port: Option<u16>,
    pub community: String,
}

impl std::fmt::Debug for SwitchContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwitchContext")
            .field("name", &self.name)
            .field("address", &self.address)
            .field("port", &self.port)
            .field("community", &"<redacted>")
            .finish()
    }
}

/// One file system a partitioner created (an fstab line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Mount {
    /// "LABEL=root", "UUID=…", "/dev/md0" or "tmpfs".
    pub source: String,
    /// Mount point in the installed system ("/", "/boot/efi"), or "none" for swap.
    pub target: String,
    pub fstype: String,
    pub options: String,
}

/// A partitioner's output: a shell script the agent runs in the initramfs, which leaves the target
/// file systems mounted on /sysroot, and the layout it created (post-install writes fstab from it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PartitionPlan {
    pub script: String,
    #[serde(default)]
    pub mounts: Vec<Mount>,
    /// Disks that carry the boot loader (BIOS GRUB is installed to each); empty for diskless.
    #[serde(default)]
    pub boot_devices: Vec<String>,
}

/// One learnt MAC address on a switch port.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct PortEntry {
    /// Lower-case, colon separated.
    pub mac: String,
    pub bridge_port: u32,
    #[serde(default)]
    pub if_index: Option<u32>,
    #[serde(default)]
    pub if_name: Option<String>,
    #[serde(default)]
    pub vlan: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerAction {
    Status,
    On,
    Off,
    Cycle,
    Reset,
}

/// Where a node boots from next (power hook 0.2 `set-next-boot`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BootDevice {
    Network,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerState {
    On,
    Off,
}

/// The hooks a plugin can provide. A WASM component provides exactly one (its world); a Rhai
/// script provides every hook function it defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hook {
    Partition,
    PostInstall,
    BmcSetup,
    SwitchDiscovery,
    Power,
}

impl Hook {
    pub const ALL: [Hook; 5] = [
        Hook::Partition,
        Hook::PostInstall,
        Hook::BmcSetup,
        Hook::SwitchDiscovery,
        Hook::Power,
    ];

    /// Name used in CLI flags, errors and the store ("partition", "post-install", …).
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Partition => "partition",
            Hook::PostInstall => "post-install",
            Hook::BmcSetup => "bmc-setup",
            Hook::SwitchDiscovery => "switch-discovery",
            Hook::Power => "power",
        }
    }

    /// The WIT world a WASM component implementing this hook targets.
    pub fn world(self) -> &'static str {
        match self {
            Hook::Partition => "partitioner",
            Hook::PostInstall => "post-install",
            Hook::BmcSetup => "bmc",
            Hook::SwitchDiscovery => "switch-discovery",
            Hook::Power => "power",
        }
    }

    /// The function a Rhai script defines for this hook.
    pub fn rhai_function(self) -> &'static str {
        match self {
            Hook::Partition => "partition",
            Hook::PostInstall => "post_install",
            Hook::BmcSetup => "bmc_setup",
            Hook::SwitchDiscovery => "discover",
            Hook::Power => "power",
        }
    }
}

impl std::fmt::Display for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Hook {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Hook::ALL
            .into_iter()
            .find(|h| h.as_str() == s || h.world() == s || h.rhai_function() == s)
            .ok_or_else(|| {
                format!(
                    "unknown plugin hook '{s}': expected one of partition, post-install, bmc-setup, switch-discovery, power"
                )
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PluginKind {
    Wasm,
    Rhai,
}

/// What `inspect` learnt about a plugin file; the registry stores it next to the bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    pub kind: PluginKind,
    /// Hooks the plugin provides (one for WASM, one or more for Rhai).
    pub hooks: Vec<Hook>,
    /// The WIT world (WASM only), e.g. "partitioner".
    #[serde(default)]
    pub world: Option<String>,
    /// Contract version: the `luna:provision` package version the plugin was built against
    /// (WASM), or the script's `// version: X` comment (Rhai), else "0.1.0".
    pub version: String,
    /// Lower-case hex SHA-256 of the plugin bytes (the cache key).
    pub sha256: String,
    pub size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_names_parse_back() {
        for hook in Hook::ALL {
            assert_eq!(hook.as_str().parse::<Hook>().unwrap(), hook);
            assert_eq!(hook.world().parse::<Hook>().unwrap(), hook);
        }
        assert!("nope".parse::<Hook>().unwrap_err().contains("partition"));
    }

    #[test]
    fn debug_hides_credentials() {
        let bmc = BmcSettings {
            password: "s3cret".into(),
            ..Default::default()
        };
        assert!(!format!("{bmc:?}").contains("s3cret"));
        let sw = SwitchContext {
            community: "private".into(),
            ..Default::default()
        };
        assert!(!format!("{sw:?}").contains("private"));
    }

    #[test]
    fn node_context_json_round_trip() {
        let node = NodeContext {
            name: "node001".into(),
            firmware: BootFirmware::Uefi,
            ..Default::default()
        };
        let json = serde_json::to_string(&node).unwrap();
        assert!(json.contains("\"firmware\":\"uefi\""));
        assert_eq!(serde_json::from_str::<NodeContext>(&json).unwrap(), node);
    }
}
