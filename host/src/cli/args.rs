//! Command-line shapes, Luna-style: `luna <object> <verb> [NAME] [flags]`.

use super::output::Format;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "luna",
    version,
    about = "Luna: bare-metal cluster provisioning",
    propagate_version = true
)]
pub struct Cli {
    /// URL of the Luna daemon's API.
    #[arg(
        long,
        global = true,
        env = "LUNA_URL",
        default_value = "http://127.0.0.1:7050"
    )]
    pub url: String,
    /// Data directory of the daemon (the CLI reads the API token from it).
    #[arg(long, global = true, env = "LUNA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// API token; defaults to the token file in the data directory.
    #[arg(long, global = true, env = "LUNA_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Output format.
    #[arg(short, long, global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the Luna daemon (API, boot services, seeder).
    Serve(ServeArgs),
    /// Cluster-wide settings.
    #[command(subcommand)]
    Cluster(ClusterCmd),
    /// IPv4/IPv6 networks and their address reservations.
    #[command(subcommand)]
    Network(NetworkCmd),
    /// OS images.
    #[command(subcommand)]
    Osimage(OsimageCmd),
    /// BMC setup profiles.
    #[command(subcommand)]
    Bmcsetup(BmcsetupCmd),
    /// Node groups.
    #[command(subcommand)]
    Group(GroupCmd),
    /// Nodes.
    #[command(subcommand)]
    Node(NodeCmd),
    /// Switches used for switch-port discovery.
    #[command(subcommand)]
    Switch(SwitchCmd),
    /// Other devices (PDUs, storage, ...) that need addresses and names.
    #[command(subcommand)]
    Otherdev(OtherdevCmd),
    /// Plugins: partitioners, post-install, BMC setup, switch discovery, power (WASM or Rhai).
    #[command(subcommand)]
    Plugin(super::plugin::PluginCmd),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Benchmarks, measured side by side.
    #[command(subcommand)]
    Bench(BenchCmd),
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address and port of the API.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Config file (default /etc/luna/luna.toml when present).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Store URL: surrealkv://DIR (default, under the data dir), mem:// or ws://HOST:PORT.
    #[arg(long)]
    pub store: Option<String>,
    /// Log format: text or json.
    #[arg(long)]
    pub log_format: Option<String>,
}

/// `y|n` flags as in the original (`--localboot y`).
pub fn yes_no(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "y" | "yes" | "true" | "1" | "on" => Ok(true),
        "n" | "no" | "false" | "0" | "off" => Ok(false),
        _ => Err(format!("'{s}' is not y or n")),
    }
}

#[derive(Subcommand)]
pub enum ClusterCmd {
    /// Initialise the cluster (once).
    Init(ClusterFlags),
    /// Show cluster settings.
    Show,
    /// Change cluster settings.
    Change(ClusterFlags),
    /// The MAC table learnt from the switches, with the node each MAC resolves to.
    Listmacs,
    /// DHCP leases of machines that took a range address: MAC, IP, node (or unknown), expiry.
    Leases,
    /// BIND zone files and an include file for them (stdout, or files in --dir).
    Makedns {
        /// Write `luna.zones.conf` and the zone files here (the include names this directory).
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
    /// DHCP server config for ISC dhcpd, Kea or dnsmasq (stdout, or --out FILE).
    Makedhcp {
        #[arg(long, value_enum, default_value_t = DhcpFormat::Isc)]
        format: DhcpFormat,
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum DhcpFormat {
    Isc,
    Kea,
    Dnsmasq,
}

/// Scripts `luna node show --script` prints.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScriptKind {
    /// The iPXE script /boot/ipxe serves the node.
    Boot,
    /// What the agent runs to install the node: prescript, BMC setup, partitioning, post-install.
    Install,
}

#[derive(Args, Default)]
pub struct ClusterFlags {
    /// Cluster name (the default name server host name).
    #[arg(long)]
    pub name: Option<String>,
    /// Address nodes use to reach this host.
    #[arg(long, visible_alias = "frontend_address")]
    pub frontend_address: Option<String>,
    /// Port of the boot/API service nodes use.
    #[arg(long)]
    pub frontend_port: Option<u16>,
    /// Prefix of auto-generated node names.
    #[arg(long)]
    pub nodeprefix: Option<String>,
    /// Digits of auto-generated node numbers.
    #[arg(long)]
    pub nodedigits: Option<u8>,
    /// Tracker announce interval (s).
    #[arg(long)]
    pub tracker_interval: Option<u32>,
    /// Tracker minimum announce interval (s).
    #[arg(long)]
    pub tracker_min_interval: Option<u32>,
    /// Peers per tracker reply.
    #[arg(long)]
    pub tracker_maxpeers: Option<u32>,
    /// Lowest port of the host seeder.
    #[arg(long)]
    pub torrent_port_min: Option<u16>,
    /// Highest port of the host seeder.
    #[arg(long)]
    pub torrent_port_max: Option<u16>,
    /// Text included in every exported DNS zone ("" clears).
    #[arg(long)]
    pub dns_include: Option<String>,
    #[arg(long)]
    pub comment: Option<String>,
}

#[derive(Subcommand)]
pub enum NetworkCmd {
    /// Add a network: `luna network add -n cluster -N 10.141.0.0 -P 16`.
    Add {
        #[arg(short, long)]
        name: String,
        /// Network address or CIDR (10.141.0.0/16, fd00::/64).
        #[arg(short = 'N', long)]
        network: String,
        /// Prefix length when --network has none.
        #[arg(short = 'P', long)]
        prefix: Option<u8>,
        /// Name server host name (default: the cluster name).
        #[arg(long)]
        ns_hostname: Option<String>,
        /// Name server address (default: the last usable address; kept reserved).
        #[arg(long)]
        ns_ip: Option<String>,
        #[arg(long)]
        gateway: Option<String>,
        /// Extra records for the zone.
        #[arg(long)]
        zone_extra: Option<String>,
        #[arg(long)]
        comment: Option<String>,
        /// DHCP range for unknown machines (A-B), reserved out of node addresses.
        #[arg(long)]
        dhcp_range: Option<String>,
    },
    /// Change a network; reserve or release addresses.
    Change {
        name: String,
        #[arg(short = 'N', long)]
        network: Option<String>,
        #[arg(short = 'P', long)]
        prefix: Option<u8>,
        #[arg(long)]
        ns_hostname: Option<String>,
        #[arg(long)]
        ns_ip: Option<String>,
        /// Gateway ("" clears).
        #[arg(long)]
        gateway: Option<String>,
        #[arg(long)]
        zone_extra: Option<String>,
        #[arg(long)]
        comment: Option<String>,
        /// Hold an address or range (A-B) out of allocation; repeatable.
        #[arg(long)]
        reserve: Vec<String>,
        /// Give back a reserved address or range; repeatable.
        #[arg(long)]
        release: Vec<String>,
        /// DHCP range for unknown machines (A-B; "" clears).
        #[arg(long)]
        dhcp_range: Option<String>,
    },
    /// Show a network with its reserved addresses and usage.
    Show { name: String },
    /// List networks.
    List,
    /// Rename a network (references follow).
    Rename { name: String, new_name: String },
    /// Delete a network no group, switch or device uses.
    Delete { name: String },
}

#[derive(Subcommand)]
pub enum OsimageCmd {
    /// Add an OS image from a tree on this host.
    Add {
        #[arg(short, long)]
        name: String,
        /// Absolute path of the image tree.
        #[arg(short, long)]
        path: String,
        #[command(flatten)]
        flags: OsimageFlags,
    },
    /// Change an OS image.
    Change {
        name: String,
        #[arg(short, long)]
        path: Option<String>,
        #[command(flatten)]
        flags: OsimageFlags,
    },
    Show {
        name: String,
    },
    List,
    Rename {
        name: String,
        new_name: String,
    },
    /// Copy an image's settings (optionally onto another tree).
    Clone {
        name: String,
        new_name: String,
        #[arg(short, long)]
        path: Option<String>,
    },
    /// Delete an image no group uses.
    Delete {
        name: String,
    },
    /// Pack the image for nodes: tarball + torrent, kernel + initramfs (runs in the daemon).
    Pack {
        name: String,
        /// Only the tarball and torrent.
        #[arg(long, conflicts_with = "boot_only")]
        image_only: bool,
        /// Only the kernel and initramfs.
        #[arg(long)]
        boot_only: bool,
    },
}

#[derive(Args)]
pub struct OsimageFlags {
    /// Kernel version to boot.
    #[arg(long)]
    pub kernver: Option<String>,
    /// Kernel command-line options.
    #[arg(long)]
    pub kernopts: Option<String>,
    /// Extra initramfs modules (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub modules: Option<Vec<String>>,
    /// Extra initramfs drivers (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub drivers: Option<Vec<String>>,
    /// Paths left out when grabbing from a node (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub grab_exclude: Option<Vec<String>>,
    #[arg(long)]
    pub comment: Option<String>,
}

#[derive(Subcommand)]
pub enum BmcsetupCmd {
    /// Add a BMC setup profile.
    Add {
        #[arg(short, long)]
        name: String,
        #[command(flatten)]
        flags: BmcFlags,
    },
    Change {
        name: String,
        #[command(flatten)]
        flags: BmcFlags,
    },
    Show {
        name: String,
    },
    List,
    Rename {
        name: String,
        new_name: String,
    },
    Delete {
        name: String,
    },
}

#[derive(Args)]
pub struct BmcFlags {
    /// BMC user name (default ladmin).
    #[arg(long)]
    pub user: Option<String>,
    /// BMC password (default ladmin); never shown back.
    #[arg(long)]
    pub password: Option<String>,
    /// IPMI user id (default 3).
    #[arg(long)]
    pub userid: Option<u8>,
    /// LAN channel (default 1).
    #[arg(long)]
    pub netchannel: Option<u8>,
    /// Management channel (default 1).
    #[arg(long)]
    pub mgmtchannel: Option<u8>,
    #[arg(long)]
    pub comment: Option<String>,
    /// Port the host reaches the BMCs on (0: protocol default, 623 or 443).
    #[arg(long)]
    pub port: Option<u16>,
}

#[derive(Subcommand)]
pub enum GroupCmd {
    /// Add a group: `luna group add -n compute -o compute -N cluster`.
    Add {
        #[arg(short, long)]
        name: String,
        /// OS image (`-O`; `-o` is the output format).
        #[arg(short = 'O', long)]
        osimage: String,
        /// Network of the BOOTIF interface.
        #[arg(short = 'N', long)]
        network: Option<String>,
        /// IPv6 network of the BOOTIF interface.
        #[arg(long)]
        network6: Option<String>,
        /// Network of the BMC interface.
        #[arg(long)]
        bmcnetwork: Option<String>,
        /// BMC setup profile.
        #[arg(short, long)]
        bmcsetup: Option<String>,
        /// Network whose zone is the nodes' domain.
        #[arg(long)]
        domain: Option<String>,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Change a group: `luna group change compute -b base`, `-i BMC --setnet ipmi`.
    Change(Box<GroupChangeArgs>),
    Show {
        name: String,
    },
    List,
    Rename {
        name: String,
        new_name: String,
    },
    /// Delete a group without nodes.
    Delete {
        name: String,
    },
}

#[derive(Args)]
pub struct GroupChangeArgs {
    pub name: String,
    /// OS image (`-O`; `-o` is the output format).
    #[arg(short = 'O', long)]
    pub osimage: Option<String>,
    /// BMC setup profile ("" clears).
    #[arg(short, long)]
    pub bmcsetup: Option<String>,
    /// Domain network ("" clears).
    #[arg(long)]
    pub domain: Option<String>,
    /// Shortcut for `-i BMC --setnet NET`.
    #[arg(long, conflicts_with = "interface")]
    pub bmcnetwork: Option<String>,
    /// Interface to add or change (BOOTIF, BMC, eth1, ...).
    #[arg(short, long)]
    pub interface: Option<String>,
    /// IPv4 network of --interface ("" detaches; re-addresses the group's nodes).
    #[arg(long, requires = "interface")]
    pub setnet: Option<String>,
    /// IPv6 network of --interface.
    #[arg(long, requires = "interface")]
    pub setnet6: Option<String>,
    /// Parameters of --interface (e.g. MTU=9000).
    #[arg(long, requires = "interface")]
    pub params: Option<String>,
    /// Remove --interface and its addresses.
    #[arg(long, requires = "interface")]
    pub delete: bool,
    /// Pre-install script: text, @FILE, or - for standard input.
    #[arg(long)]
    pub prescript: Option<String>,
    /// Partition script (mounts the target on /sysroot); empty = diskless.
    #[arg(long)]
    pub partscript: Option<String>,
    /// Post-install script.
    #[arg(long)]
    pub postscript: Option<String>,
    /// Interface the torrent client uses ("" = BOOTIF).
    #[arg(long)]
    pub torrent_if: Option<String>,
    /// Partition plugin ("" unbinds).
    #[arg(long)]
    pub partition: Option<String>,
    /// Post-install plugin ("" unbinds).
    #[arg(long)]
    pub post_install: Option<String>,
    /// BMC setup plugin ("" unbinds).
    #[arg(long)]
    pub bmc: Option<String>,
    /// Power plugin ("" unbinds).
    #[arg(long)]
    pub power: Option<String>,
    /// JSON config for the plugin(s) bound by this command.
    #[arg(long)]
    pub plugin_config: Option<String>,
    #[arg(long)]
    pub comment: Option<String>,
}

#[derive(Subcommand)]
pub enum NodeCmd {
    /// Power control through the group's power plugin:
    /// `luna node power status node[001-064]`, `luna node power on -g compute`.
    /// Exits 8 when any node failed.
    Power(PowerArgs),
    /// Add nodes: `luna node add -g compute` (auto-named), `-n node[001-064]`, or `--count 10`.
    Add {
        #[arg(short, long)]
        group: String,
        /// Name or hostlist.
        #[arg(short, long)]
        name: Option<String>,
        /// Number of auto-named nodes.
        #[arg(long, conflicts_with = "name")]
        count: Option<u32>,
        #[arg(long)]
        mac: Option<String>,
        #[arg(short, long)]
        switch: Option<String>,
        #[arg(short, long)]
        port: Option<String>,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Change a node or hostlist: `luna node change node001 --mac aa:bb:..`.
    Change(NodeChangeArgs),
    /// Show a node or hostlist, with its install status.
    Show {
        name: String,
        /// Print the hardware inventory the node posted in service mode instead.
        #[arg(long)]
        inventory: bool,
        /// Print a script the node is served instead.
        #[arg(long, value_enum)]
        script: Option<ScriptKind>,
    },
    /// Install status of nodes by step, with download progress: `luna node status node[001-064] --watch`.
    Status {
        /// Node name or hostlist (default: every node).
        nodes: Option<String>,
        /// Keep redrawing until every listed node has finished or failed.
        #[arg(long)]
        watch: bool,
        /// Seconds between redraws with --watch.
        #[arg(long, default_value_t = 1.0)]
        interval: f64,
    },
    /// Machines that network-booted but match no node.
    Unknown,
    /// Bind an unknown machine's MAC to a node: `luna node claim node007 52:54:00:..`.
    Claim {
        name: String,
        mac: String,
    },
    /// List nodes.
    List {
        #[arg(short, long)]
        group: Option<String>,
    },
    Rename {
        name: String,
        new_name: String,
    },
    /// Delete a node or hostlist.
    Delete {
        name: String,
    },
}

#[derive(Args)]
pub struct NodeChangeArgs {
    /// Node name or hostlist.
    pub name: String,
    /// Move to this group (addresses kept where the networks allow).
    #[arg(short, long)]
    pub group: Option<String>,
    /// Boot MAC ("" clears).
    #[arg(long)]
    pub mac: Option<String>,
    /// Switch ("" clears).
    #[arg(short, long)]
    pub switch: Option<String>,
    /// Switch port ("" clears).
    #[arg(short, long)]
    pub port: Option<String>,
    /// Boot from local disk: y|n.
    #[arg(long, value_parser = yes_no)]
    pub localboot: Option<bool>,
    /// Boot into service mode: y|n.
    #[arg(long, value_parser = yes_no)]
    pub service: Option<bool>,
    /// Configure the BMC while installing: y|n.
    #[arg(long, value_parser = yes_no)]
    pub setupbmc: Option<bool>,
    /// Interface for --ip.
    #[arg(short, long, requires = "ip")]
    pub interface: Option<String>,
    /// Address: `--ip IF=ADDR` (repeatable), or `-i IF --ip ADDR`.
    #[arg(long)]
    pub ip: Vec<String>,
    #[arg(long)]
    pub comment: Option<String>,
}

#[derive(Subcommand)]
pub enum SwitchCmd {
    /// Add a switch: `luna switch add -n sw01 --network ipmi --ip 10.149.0.1`.
    Add {
        #[arg(short, long)]
        name: String,
        #[arg(short = 'N', long)]
        network: String,
        #[arg(long)]
        ip: String,
        /// SNMP read community (default public).
        #[arg(long)]
        read: Option<String>,
        /// SNMP write community (default private).
        #[arg(long)]
        rw: Option<String>,
        /// MAC table OID (default dot1qTpFdbPort).
        #[arg(long)]
        oid: Option<String>,
        /// Uplink port (repeatable): MACs seen there never bind.
        #[arg(long = "uplink")]
        uplinks: Vec<String>,
        #[arg(long)]
        comment: Option<String>,
        /// SNMP agent UDP port (default 161).
        #[arg(long)]
        snmp_port: Option<u16>,
    },
    Change {
        name: String,
        #[arg(short = 'N', long)]
        network: Option<String>,
        #[arg(long)]
        ip: Option<String>,
        #[arg(long)]
        read: Option<String>,
        #[arg(long)]
        rw: Option<String>,
        #[arg(long)]
        oid: Option<String>,
        /// Replace the uplink list (repeatable).
        #[arg(long = "uplink")]
        uplinks: Option<Vec<String>>,
        /// Discovery plugin ("" unbinds).
        #[arg(long)]
        discovery: Option<String>,
        /// JSON config of the --discovery plugin.
        #[arg(long, requires = "discovery")]
        plugin_config: Option<String>,
        #[arg(long)]
        comment: Option<String>,
        /// SNMP agent UDP port (0: default 161).
        #[arg(long)]
        snmp_port: Option<u16>,
    },
    /// Show a switch with its last poll (status, error, warnings); `--macs` lists its MAC table.
    Show {
        name: String,
        #[arg(long)]
        macs: bool,
    },
    List,
    Rename {
        name: String,
        new_name: String,
    },
    Delete {
        name: String,
    },
}

#[derive(Subcommand)]
pub enum OtherdevCmd {
    /// Add a device: `luna otherdev add -n pdu01 -N ipmi --ip 10.149.0.10`.
    Add {
        #[arg(short, long)]
        name: String,
        #[arg(short = 'N', long, requires = "ip")]
        network: Option<String>,
        #[arg(long, requires = "network")]
        ip: Option<String>,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Set an address (`-N NET --ip IP`) or drop one (`--release NET`).
    Change {
        name: String,
        #[arg(short = 'N', long, requires = "ip")]
        network: Option<String>,
        #[arg(long, requires = "network")]
        ip: Option<String>,
        #[arg(long)]
        release: Option<String>,
        #[arg(long)]
        comment: Option<String>,
    },
    Show {
        name: String,
    },
    List,
    Rename {
        name: String,
        new_name: String,
    },
    Delete {
        name: String,
    },
}

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Store and API: add nodes with 3 interfaces, list them, show one.
    Store {
        /// Nodes to add.
        #[arg(long, default_value_t = 10_000)]
        nodes: u32,
        /// Store URL to measure (default: a fresh surrealkv store in a temporary directory).
        #[arg(long)]
        store: Option<String>,
    },
    /// Image distribution: N nodes by BitTorrent via Luna vs plain HTTP (root; network namespaces).
    Swarm {
        /// Node counts to measure (comma-separated; default 1,8,32,64).
        #[arg(long, value_delimiter = ',')]
        nodes: Option<Vec<usize>>,
        /// Image size S in MiB.
        #[arg(long)]
        image_mb: Option<u64>,
        /// Per-node (and host) link rate B in Mbit/s.
        #[arg(long)]
        link_mbit: Option<u32>,
        /// What to measure (comma-separated): torrent (Luna's stripe trees), mesh (BitTorrent's
        /// pull mesh, for comparison), http (every node from the host). Default torrent,http.
        #[arg(long, value_delimiter = ',')]
        modes: Option<Vec<luna_dist::BenchMode>>,
        /// One JSON object per row (nodes, mode, seconds, limit_seconds).
        #[arg(long)]
        json: bool,
    },
    /// Install plans: render every node's plan with a WASM partitioner and post-install bound.
    Plans {
        /// Nodes in the group.
        #[arg(long, default_value_t = 10_000)]
        nodes: u32,
        /// Partition plugin file (e.g. gpt_simple.wasm).
        #[arg(long)]
        partition: std::path::PathBuf,
        /// Post-install plugin file (e.g. grub_post.wasm).
        #[arg(long)]
        post_install: std::path::PathBuf,
    },
    /// Power status of N simulated BMCs (ipmi_sim + sushy-emulator it starts) vs sequential ipmitool.
    Power {
        #[arg(long, default_value_t = 256)]
        bmcs: usize,
        /// Folder with ipmi_power.wasm and redfish_power.wasm.
        #[arg(long, default_value = "target/wasm32-wasip2/release")]
        plugins: std::path::PathBuf,
        /// One JSON object per row (what, devices, seconds).
        #[arg(long)]
        json: bool,
    },
    /// Poll cycles of N simulated 48-port switches (snmpsim it starts) vs sequential snmpbulkwalk.
    Switches {
        #[arg(long, default_value_t = 16)]
        switches: usize,
        /// Poll cycles measured.
        #[arg(long, default_value_t = 5)]
        cycles: usize,
        /// Folder with bridge_mib.wasm.
        #[arg(long, default_value = "target/wasm32-wasip2/release")]
        plugins: std::path::PathBuf,
        /// One JSON object per row (what, devices, seconds).
        #[arg(long)]
        json: bool,
    },
    /// Boot storm: N known nodes fetch /boot/ipxe, their plan and a tracker announce at once.
    Boot {
        #[arg(long, default_value_t = 10_000)]
        nodes: u32,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 256)]
        concurrency: usize,
        /// Measure only these routes (ipxe, plan, announce; comma-separated).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Load generator: wrk (a separate process), the built-in client, or auto (wrk if installed).
        #[arg(long, value_enum, default_value_t = crate::boot::bench::LoadClient::Auto)]
        client: crate::boot::bench::LoadClient,
        /// Seconds of load with wrk (the built-in client sends one round per node instead).
        #[arg(long, default_value_t = 10)]
        duration: u64,
    },
}

#[derive(Args)]
pub struct PowerArgs {
    /// status, on, off, reset, cycle, identify or pxe; may be left out with --pxe
    /// (`luna node power node001 --pxe`).
    pub action: String,
    /// Node name or hostlist (`node[001-064]`); all of the group's nodes with -g alone.
    pub nodes: Option<String>,
    /// With identify: switch the identify light off.
    #[arg(long)]
    pub off: bool,
    /// Set the next boot to the network (once), before the action if one is given.
    #[arg(long)]
    pub pxe: bool,
    /// Every node of this group (with NODES: only those in it).
    #[arg(short, long)]
    pub group: Option<String>,
    /// Nodes handled at once (default 64).
    #[arg(long)]
    pub concurrency: Option<usize>,
}
