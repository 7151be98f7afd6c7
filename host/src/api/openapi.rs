//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`, built from the route table below and
//! the request/response types' `ToSchema` derivations.

use crate::model::*;
use crate::service::*;
use serde_json::{Map, Value, json};
use utoipa::openapi::ComponentsBuilder;

/// (method, path, summary, request body schema, response schema).
pub const ROUTES: &[(&str, &str, &str, Option<&str>, &str)] = &[
    ("get", "/cluster", "Show cluster settings", None, "Cluster"),
    (
        "post",
        "/cluster",
        "Initialise the cluster",
        Some("ClusterChange"),
        "Cluster",
    ),
    (
        "patch",
        "/cluster",
        "Change cluster settings",
        Some("ClusterChange"),
        "Cluster",
    ),
    ("get", "/networks", "List networks", None, "NetworkView[]"),
    (
        "post",
        "/networks",
        "Add a network",
        Some("NetworkAdd"),
        "NetworkView",
    ),
    (
        "get",
        "/networks/{name}",
        "Show a network",
        None,
        "NetworkView",
    ),
    (
        "patch",
        "/networks/{name}",
        "Change a network, reserve or release addresses",
        Some("NetworkChange"),
        "NetworkView",
    ),
    (
        "delete",
        "/networks/{name}",
        "Delete an unused network",
        None,
        "Deleted",
    ),
    (
        "post",
        "/networks/{name}/rename",
        "Rename a network",
        Some("Rename"),
        "NetworkView",
    ),
    ("get", "/osimages", "List OS images", None, "OsImage[]"),
    (
        "post",
        "/osimages",
        "Add an OS image",
        Some("OsImageAdd"),
        "OsImage",
    ),
    (
        "get",
        "/osimages/{name}",
        "Show an OS image",
        None,
        "OsImage",
    ),
    (
        "patch",
        "/osimages/{name}",
        "Change an OS image",
        Some("OsImageChange"),
        "OsImage",
    ),
    (
        "delete",
        "/osimages/{name}",
        "Delete an unused OS image",
        None,
        "Deleted",
    ),
    (
        "post",
        "/osimages/{name}/rename",
        "Rename an OS image",
        Some("Rename"),
        "OsImage",
    ),
    (
        "post",
        "/osimages/{name}/clone",
        "Clone an OS image",
        Some("OsImageClone"),
        "OsImage",
    ),
    (
        "post",
        "/osimages/{name}/pack",
        "Pack an OS image for nodes (tarball, torrent, kernel, initramfs) as a daemon job",
        Some("PackRequest"),
        "PackStatus",
    ),
    (
        "get",
        "/osimages/{name}/pack",
        "Progress of the image's latest pack job",
        None,
        "PackStatus",
    ),
    (
        "get",
        "/osimages/{name}/swarm",
        "Nodes downloading and seeding the image, and the host seeder's state",
        None,
        "SwarmView",
    ),
    ("get", "/bmcsetups", "List BMC setups", None, "BmcSetup[]"),
    (
        "post",
        "/bmcsetups",
        "Add a BMC setup",
        Some("BmcSetupAdd"),
        "BmcSetup",
    ),
    (
        "get",
        "/bmcsetups/{name}",
        "Show a BMC setup (password masked)",
        None,
        "BmcSetup",
    ),
    (
        "patch",
        "/bmcsetups/{name}",
        "Change a BMC setup",
        Some("BmcSetupChange"),
        "BmcSetup",
    ),
    (
        "delete",
        "/bmcsetups/{name}",
        "Delete an unused BMC setup",
        None,
        "Deleted",
    ),
    (
        "post",
        "/bmcsetups/{name}/rename",
        "Rename a BMC setup",
        Some("Rename"),
        "BmcSetup",
    ),
    ("get", "/groups", "List groups", None, "Group[]"),
    ("post", "/groups", "Add a group", Some("GroupAdd"), "Group"),
    ("get", "/groups/{name}", "Show a group", None, "Group"),
    (
        "patch",
        "/groups/{name}",
        "Change a group",
        Some("GroupChange"),
        "Group",
    ),
    (
        "delete",
        "/groups/{name}",
        "Delete a group without nodes",
        None,
        "Deleted",
    ),
    (
        "post",
        "/groups/{name}/rename",
        "Rename a group",
        Some("Rename"),
        "Group",
    ),
    (
        "put",
        "/groups/{name}/interfaces/{iface}",
        "Add or change a group interface (re-addresses nodes)",
        Some("GroupInterfaceSet"),
        "Group",
    ),
    (
        "delete",
        "/groups/{name}/interfaces/{iface}",
        "Remove a group interface",
        None,
        "Group",
    ),
    (
        "get",
        "/nodes",
        "List nodes (optionally ?group=NAME)",
        None,
        "NodeView[]",
    ),
    (
        "post",
        "/nodes",
        "Add nodes (name, hostlist or count)",
        Some("NodeAdd"),
        "NodeView[]",
    ),
    (
        "get",
        "/nodes/{name}",
        "Show a node (a hostlist gives an array)",
        None,
        "NodeView",
    ),
    (
        "patch",
        "/nodes/{name}",
        "Change a node or a hostlist of nodes",
        Some("NodeChange"),
        "NodeView[]",
    ),
    (
        "delete",
        "/nodes/{name}",
        "Delete a node or a hostlist of nodes",
        None,
        "Deleted",
    ),
    (
        "post",
        "/nodes/{name}/rename",
        "Rename a node",
        Some("Rename"),
        "NodeView",
    ),
    (
        "get",
        "/nodes/{name}/plan",
        "Install plan of a node (by name or boot MAC); node itself, loopback or token",
        None,
        "NodePlan",
    ),
    (
        "get",
        "/nodes/status",
        "Install status of every node (optionally ?nodes=HOSTLIST)",
        None,
        "NodeStatus[]",
    ),
    (
        "get",
        "/nodes/{name}/status",
        "Install status of a node (a hostlist gives an array)",
        None,
        "NodeStatus",
    ),
    (
        "post",
        "/nodes/{name}/status",
        "Agent step report; node itself, loopback or token",
        Some("StepReport"),
        "NodeStatus",
    ),
    (
        "post",
        "/nodes/{name}/progress",
        "Agent download progress; node itself, loopback or token",
        Some("DownloadProgress"),
        "Accepted",
    ),
    (
        "get",
        "/nodes/{name}/inventory",
        "Hardware inventory a node posted in service mode",
        None,
        "Inventory",
    ),
    (
        "post",
        "/nodes/{name}/inventory",
        "Agent hardware inventory (service mode); node itself, loopback or token",
        Some("Inventory"),
        "Accepted",
    ),
    ("get", "/switches", "List switches", None, "Switch[]"),
    (
        "post",
        "/switches",
        "Add a switch",
        Some("SwitchAdd"),
        "Switch",
    ),
    ("get", "/switches/{name}", "Show a switch", None, "Switch"),
    (
        "patch",
        "/switches/{name}",
        "Change a switch",
        Some("SwitchChange"),
        "Switch",
    ),
    (
        "delete",
        "/switches/{name}",
        "Delete a switch no node uses",
        None,
        "Deleted",
    ),
    (
        "post",
        "/switches/{name}/rename",
        "Rename a switch",
        Some("Rename"),
        "Switch",
    ),
    (
        "get",
        "/otherdevs",
        "List other devices",
        None,
        "OtherDevView[]",
    ),
    (
        "post",
        "/otherdevs",
        "Add another device",
        Some("OtherDevAdd"),
        "OtherDevView",
    ),
    (
        "get",
        "/otherdevs/{name}",
        "Show another device",
        None,
        "OtherDevView",
    ),
    (
        "patch",
        "/otherdevs/{name}",
        "Change another device's addresses",
        Some("OtherDevChange"),
        "OtherDevView",
    ),
    (
        "delete",
        "/otherdevs/{name}",
        "Delete another device",
        None,
        "Deleted",
    ),
    (
        "post",
        "/otherdevs/{name}/rename",
        "Rename another device",
        Some("Rename"),
        "OtherDevView",
    ),
    (
        "get",
        "/plugins",
        "List installed plugins",
        None,
        "PluginMeta[]",
    ),
    (
        "post",
        "/plugins",
        "Install or replace a plugin: ?file=NAME.wasm|NAME.rhai[&name=N], body = the file",
        Some("PluginFile"),
        "PluginInstalled",
    ),
    (
        "get",
        "/plugins/{name}",
        "Show a plugin and the bindings using it",
        None,
        "PluginView",
    ),
    (
        "delete",
        "/plugins/{name}",
        "Remove a plugin no group or switch is bound to",
        None,
        "Deleted",
    ),
    (
        "post",
        "/plugins/{name}/test",
        "Run one hook of a plugin for a node and return its output",
        Some("PluginTest"),
        "PluginTestOutput",
    ),
    (
        "get",
        "/cluster/macs",
        "MAC table learnt from the switches, with the node each MAC resolves to",
        None,
        "MacView[]",
    ),
    (
        "post",
        "/cluster/macs/poll",
        "Poll every switch now",
        None,
        "PollStatus[]",
    ),
    (
        "post",
        "/cluster/macs/{mac}/claim",
        "Bind an unknown MAC to the node configured on the switch port it was learnt on",
        None,
        "Claim",
    ),
    (
        "get",
        "/switches/{name}/discovery",
        "A switch's last poll (status, error, warnings); ?macs=true adds its MAC table",
        None,
        "SwitchDiscovery",
    ),
    (
        "get",
        "/switches/{name}/macs",
        "A switch's MAC table",
        None,
        "MacView[]",
    ),
    (
        "get",
        "/unknown",
        "Machines that network-booted without matching a node (claim them with /nodes/{name}/claim)",
        None,
        "UnknownMachine[]",
    ),
    (
        "post",
        "/nodes/{name}/claim",
        "Bind a MAC (e.g. an unknown machine's) to a node",
        Some("NodeClaim"),
        "NodeView",
    ),
    (
        "get",
        "/nodes/{name}/boot-script",
        "The iPXE script /boot/ipxe serves the node",
        None,
        "BootScript",
    ),
    (
        "get",
        "/cluster/makedns",
        "BIND export: include file and zone files, with a serial that rises on every change",
        None,
        "DnsExport",
    ),
    (
        "get",
        "/cluster/makedhcp",
        "DHCP server configuration for sites running their own (?format=isc|kea|dnsmasq)",
        None,
        "DhcpExport",
    ),
    (
        "get",
        "/cluster/leases",
        "Dynamic DHCP leases with their network, the node the MAC belongs to (or unknown) and expiry",
        None,
        "LeaseView[]",
    ),
    (
        "post",
        "/power",
        "Power status/on/off/reset/cycle of nodes (hostlist and/or group) through their group's power plugin; per-node results",
        Some("PowerRequest"),
        "PowerReport",
    ),
];

fn schema_ref(name: &str) -> Value {
    match name.strip_suffix("[]") {
        Some(item) => {
            json!({ "type": "array", "items": { "$ref": format!("#/components/schemas/{item}") } })
        }
        None => json!({ "$ref": format!("#/components/schemas/{name}") }),
    }
}

pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for (method, path, summary, body, response) in ROUTES {
        let mut op = json!({
            "summary": summary,
            "responses": {
                "200": { "description": "OK", "content": { "application/json": { "schema": schema_ref(response) } } },
                "4XX": { "description": "Invalid input, not found, conflict or missing token",
                         "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } } }
            }
        });
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|p| json!({ "name": p, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if let Some(b) = body {
            op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": schema_ref(b) } } });
        }
        if *body == Some("PluginFile") {
            op["requestBody"] = json!({ "required": true, "content": { "application/octet-stream": { "schema": schema_ref("PluginFile") } } });
        }
        if *method != "get" {
            op["security"] = json!([{ "bearer": [] }]);
        }
        let item = paths
            .entry(format!("/api/v1{path}"))
            .or_insert_with(|| json!({}));
        item[*method] = op;
    }
    let components = ComponentsBuilder::new()
        .schema_from::<Cluster>()
        .schema_from::<ClusterChange>()
        .schema_from::<Network>()
        .schema_from::<NetworkView>()
        .schema_from::<NetworkAdd>()
        .schema_from::<NetworkChange>()
        .schema_from::<OsImage>()
        .schema_from::<OsImageAdd>()
        .schema_from::<OsImageChange>()
        .schema_from::<OsImageClone>()
        .schema_from::<PackInfo>()
        .schema_from::<crate::dist::packing::PackRequest>()
        .schema_from::<crate::dist::packing::PackStatus>()
        .schema_from::<crate::dist::packing::PackStep>()
        .schema_from::<crate::api::images::SwarmView>()
        .schema_from::<BmcSetup>()
        .schema_from::<BmcSetupAdd>()
        .schema_from::<BmcSetupChange>()
        .schema_from::<Group>()
        .schema_from::<GroupInterface>()
        .schema_from::<PluginBinding>()
        .schema_from::<GroupAdd>()
        .schema_from::<GroupChange>()
        .schema_from::<GroupInterfaceSet>()
        .schema_from::<Node>()
        .schema_from::<NodeView>()
        .schema_from::<Address>()
        .schema_from::<NodeAdd>()
        .schema_from::<NodeChange>()
        .schema_from::<Switch>()
        .schema_from::<SwitchAdd>()
        .schema_from::<SwitchChange>()
        .schema_from::<OtherDev>()
        .schema_from::<OtherDevView>()
        .schema_from::<OtherDevAdd>()
        .schema_from::<OtherDevChange>()
        .schema_from::<Rename>()
        .schema_from::<PluginMeta>()
        .schema_from::<PluginView>()
        .schema_from::<PluginInstalled>()
        .schema_from::<PluginTestOutput>()
        .schema_from::<PluginTest>()
        .schema_from::<MacView>()
        .schema_from::<crate::discovery::mac_table::MacEntry>()
        .schema_from::<crate::discovery::PollStatus>()
        .schema_from::<SwitchDiscovery>()
        .schema_from::<super::discovery::Claim>()
        .schema_from::<PowerRequest>()
        .schema_from::<PowerVerb>()
        .schema_from::<PowerResult>()
        .schema_from::<PowerReport>()
        .schema_from::<crate::service::LeaseView>()
        .schema_from::<LunaError>()
        .schema_from::<ErrorKind>()
        .build();
    let mut schemas = serde_json::to_value(&components).unwrap_or_else(|_| json!({}));
    schemas["schemas"]["ErrorBody"] = json!({
        "type": "object", "required": ["error"],
        "properties": { "error": { "$ref": "#/components/schemas/LunaError" } }
    });
    schemas["schemas"]["Deleted"] = json!({
        "type": "object",
        "properties": { "deleted": { "type": "string" }, "name": { "type": "string" }, "count": { "type": "integer" } }
    });
    // Status types live in the proto crate too (luna_proto::status, luna_proto::dist).
    for (name, description) in [
        (
            "NodeStatus",
            "Install status: node, group, current step report, step history, download progress, updated (unix seconds)",
        ),
        (
            "StepReport",
            "step (prescript|setupbmc|partscript|download|unpack|setnet|postscript|success|inventory), state (running|done|skipped|failed), elapsed_seconds, exit_code, output_tail, message",
        ),
        (
            "DownloadProgress",
            "info_hash, phase, bytes_done, bytes_total, bytes_uploaded, peers, download_rate, upload_rate, error",
        ),
        (
            "Inventory",
            "disks, nics, cpu, memory_bytes, dmi (vendor, product, serial), bmc_address",
        ),
        ("Accepted", "{\"accepted\": true}"),
        (
            "UnknownMachine",
            "macs, serial, platform, interface, first_seen_unix, last_seen_unix",
        ),
        ("NodeClaim", "{\"mac\": \"52:54:00:12:34:56\"}"),
        (
            "DnsExport",
            "include file and zone files (name and text each), serial",
        ),
    ] {
        schemas["schemas"][name] = json!({ "type": "object", "description": description });
    }
    for (name, description) in [
        ("BootScript", "an iPXE script"),
        ("DhcpExport", "a dhcpd.conf, kea-dhcp4.conf or dnsmasq.conf"),
    ] {
        schemas["schemas"][name] = json!({ "type": "string", "description": description });
    }
    // Plan types live in the dependency-light proto crate, which does not derive schemas.
    schemas["schemas"]["NodePlan"] = json!({
        "type": "object",
        "description": "Install plan: node, hostname, osimage, interfaces with addresses, bmc, scripts, plugins, image source"
    });
    schemas["schemas"]["PluginFile"] = json!({
        "type": "string", "format": "binary",
        "description": "A WebAssembly component (.wasm) or a Rhai script (.rhai)"
    });
    schemas["securitySchemes"] = json!({ "bearer": { "type": "http", "scheme": "bearer" } });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Luna API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Bare-metal cluster provisioning. Writes need `Authorization: Bearer TOKEN`."
        },
        "paths": paths,
        "components": schemas,
    })
}
