//! The `luna` command line: a client of the daemon's REST API (except `serve` and `bench`).

pub mod args;
pub mod client;
mod discovery;
mod images;
mod install_script;
mod leases;
pub mod output;
mod plugin;
mod status;

use crate::model::PluginBinding;
use crate::service::*;
use args::*;
use client::{CliError, Client};
use output::{Columns, Format, print_list, print_object};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;

const NETWORK_COLS: Columns = &[
    ("name", "name"),
    ("network", "cidr"),
    ("ns", "ns_ip"),
    ("used", "used"),
    ("free", "free"),
];
const OSIMAGE_COLS: Columns = &[
    ("name", "name"),
    ("path", "path"),
    ("kernel", "kernver"),
    ("kernopts", "kernopts"),
];
const BMC_COLS: Columns = &[
    ("name", "name"),
    ("user", "user"),
    ("userid", "userid"),
    ("netchannel", "netchannel"),
];
const GROUP_COLS: Columns = &[
    ("name", "name"),
    ("osimage", "osimage"),
    ("bmcsetup", "bmcsetup"),
    ("interfaces", "interfaces"),
];
const NODE_COLS: Columns = &[
    ("name", "name"),
    ("group", "group"),
    ("mac", "mac"),
    ("switch", "switch"),
    ("port", "port"),
    ("addresses", "addresses"),
];
const UNKNOWN_COLS: Columns = &[
    ("mac", "mac"),
    ("macs", "macs"),
    ("serial", "serial"),
    ("platform", "platform"),
    ("via", "interface"),
    ("last seen", "last_seen_unix"),
];
const SWITCH_COLS: Columns = &[
    ("name", "name"),
    ("network", "network"),
    ("ip", "ip"),
    ("oid", "oid"),
];
const OTHERDEV_COLS: Columns = &[
    ("name", "name"),
    ("addresses", "addresses"),
    ("comment", "comment"),
];

pub async fn run(cli: Cli) -> Result<(), CliError> {
    let data_dir = cli
        .data_dir
        .clone()
        .unwrap_or_else(crate::config::default_data_dir);
    let c = Client::new(&cli.url, cli.token.clone(), &data_dir);
    let f = cli.output;
    match cli.command {
        Command::Serve(_) | Command::Completions { .. } | Command::Bench(_) => Err(CliError::new(
            2,
            "this command runs locally, not through the API",
        )),
        Command::Cluster(cmd) => cluster(&c, f, cmd).await,
        Command::Network(cmd) => network(&c, f, cmd).await,
        Command::Osimage(cmd) => osimage(&c, f, cmd).await,
        Command::Bmcsetup(cmd) => bmcsetup(&c, f, cmd).await,
        Command::Group(cmd) => group(&c, f, cmd).await,
        Command::Node(cmd) => node(&c, f, cmd).await,
        Command::Switch(cmd) => switch(&c, f, cmd).await,
        Command::Otherdev(cmd) => otherdev(&c, f, cmd).await,
        Command::Plugin(cmd) => plugin::run(&c, f, cmd).await,
    }
}

fn seg(name: &str) -> String {
    // Hostlists carry brackets and commas; everything else passes through.
    name.replace('[', "%5B")
        .replace(']', "%5D")
        .replace(',', "%2C")
}

/// The verbs every named object shares, over `/api/v1/{collection}/{name}`.
struct Resource(&'static str);

impl Resource {
    fn path(&self, name: &str) -> String {
        format!("/{}/{}", self.0, seg(name))
    }
    async fn show(&self, c: &Client, f: Format, name: &str) -> Result<(), CliError> {
        print_object(f, &c.get(&self.path(name)).await?);
        Ok(())
    }
    async fn rename(
        &self,
        c: &Client,
        f: Format,
        name: &str,
        new_name: String,
    ) -> Result<(), CliError> {
        print_object(
            f,
            &c.post(&format!("{}/rename", self.path(name)), &Rename { new_name })
                .await?,
        );
        Ok(())
    }
    async fn delete(&self, c: &Client, f: Format, name: &str) -> Result<(), CliError> {
        print_deleted(f, &c.delete(&self.path(name)).await?);
        Ok(())
    }
    async fn change(
        &self,
        c: &Client,
        f: Format,
        name: &str,
        req: &impl serde::Serialize,
    ) -> Result<(), CliError> {
        print_object(f, &c.patch(&self.path(name), req).await?);
        Ok(())
    }
}

fn print_deleted(f: Format, v: &Value) {
    if f == Format::Table {
        let count = v["count"]
            .as_u64()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        println!(
            "deleted {} {}{count}",
            v["deleted"].as_str().unwrap_or(""),
            v["name"].as_str().unwrap_or("")
        );
    } else {
        output::print_raw(f, v);
    }
}

fn cluster_change(flags: ClusterFlags) -> ClusterChange {
    ClusterChange {
        name: flags.name,
        nodeprefix: flags.nodeprefix,
        nodedigits: flags.nodedigits,
        frontend_address: flags.frontend_address,
        frontend_port: flags.frontend_port,
        tracker_interval: flags.tracker_interval,
        tracker_min_interval: flags.tracker_min_interval,
        tracker_maxpeers: flags.tracker_maxpeers,
        torrent_port_min: flags.torrent_port_min,
        torrent_port_max: flags.torrent_port_max,
        dns_include: flags.dns_include,
        comment: flags.comment,
    }
}

async fn cluster(c: &Client, f: Format, cmd: ClusterCmd) -> Result<(), CliError> {
    let v = match cmd {
        ClusterCmd::Init(flags) => c.post("/cluster", &cluster_change(flags)).await?,
        ClusterCmd::Show => c.get("/cluster").await?,
        ClusterCmd::Change(flags) => c.patch("/cluster", &cluster_change(flags)).await?,
        ClusterCmd::Makedns { dir } => return makedns(c, dir).await,
        ClusterCmd::Makedhcp { format, out } => return makedhcp(c, format, out).await,
        ClusterCmd::Listmacs => return discovery::listmacs(c, f).await,
        ClusterCmd::Leases => return leases::leases(c, f).await,
    };
    print_object(f, &v);
    Ok(())
}

async fn network(c: &Client, f: Format, cmd: NetworkCmd) -> Result<(), CliError> {
    match cmd {
        NetworkCmd::Add {
            name,
            network,
            prefix,
            ns_hostname,
            ns_ip,
            gateway,
            zone_extra,
            comment,
            dhcp_range,
        } => {
            let req = NetworkAdd {
                name,
                cidr: network,
                prefix,
                ns_hostname,
                ns_ip,
                gateway,
                zone_extra,
                comment,
                dhcp_range,
            };
            print_object(f, &c.post("/networks", &req).await?);
        }
        NetworkCmd::Change {
            name,
            network,
            prefix,
            ns_hostname,
            ns_ip,
            gateway,
            zone_extra,
            comment,
            reserve,
            release,
            dhcp_range,
        } => {
            let req = NetworkChange {
                cidr: network,
                prefix,
                ns_hostname,
                ns_ip,
                gateway,
                zone_extra,
                comment,
                reserve,
                release,
                dhcp_range,
            };
            Resource("networks").change(c, f, &name, &req).await?;
        }
        NetworkCmd::Show { name } => Resource("networks").show(c, f, &name).await?,
        NetworkCmd::List => print_list(f, &c.get("/networks").await?, NETWORK_COLS),
        NetworkCmd::Rename { name, new_name } => {
            Resource("networks").rename(c, f, &name, new_name).await?
        }
        NetworkCmd::Delete { name } => Resource("networks").delete(c, f, &name).await?,
    }
    Ok(())
}

async fn osimage(c: &Client, f: Format, cmd: OsimageCmd) -> Result<(), CliError> {
    match cmd {
        OsimageCmd::Add { name, path, flags } => {
            let req = OsImageAdd {
                name,
                path,
                kernver: flags.kernver,
                kernopts: flags.kernopts,
                modules: flags.modules,
                drivers: flags.drivers,
                grab_exclude: flags.grab_exclude,
                comment: flags.comment,
            };
            print_object(f, &c.post("/osimages", &req).await?);
        }
        OsimageCmd::Change { name, path, flags } => {
            let req = OsImageChange {
                path,
                kernver: flags.kernver,
                kernopts: flags.kernopts,
                modules: flags.modules,
                drivers: flags.drivers,
                grab_exclude: flags.grab_exclude,
                comment: flags.comment,
            };
            Resource("osimages").change(c, f, &name, &req).await?;
        }
        OsimageCmd::Show { name } => images::show(c, f, &name).await?,
        OsimageCmd::List => print_list(f, &c.get("/osimages").await?, OSIMAGE_COLS),
        OsimageCmd::Rename { name, new_name } => {
            Resource("osimages").rename(c, f, &name, new_name).await?
        }
        OsimageCmd::Clone {
            name,
            new_name,
            path,
        } => print_object(
            f,
            &c.post(
                &format!("/osimages/{}/clone", seg(&name)),
                &OsImageClone { new_name, path },
            )
            .await?,
        ),
        OsimageCmd::Delete { name } => Resource("osimages").delete(c, f, &name).await?,
        OsimageCmd::Pack {
            name,
            image_only,
            boot_only,
        } => images::pack(c, f, &name, image_only, boot_only).await?,
    }
    Ok(())
}

async fn bmcsetup(c: &Client, f: Format, cmd: BmcsetupCmd) -> Result<(), CliError> {
    match cmd {
        BmcsetupCmd::Add { name, flags } => {
            let req = BmcSetupAdd {
                name,
                user: flags.user,
                password: flags.password,
                userid: flags.userid,
                netchannel: flags.netchannel,
                mgmtchannel: flags.mgmtchannel,
                comment: flags.comment,
                port: flags.port,
            };
            print_object(f, &c.post("/bmcsetups", &req).await?);
        }
        BmcsetupCmd::Change { name, flags } => {
            let req = BmcSetupChange {
                user: flags.user,
                password: flags.password,
                userid: flags.userid,
                netchannel: flags.netchannel,
                mgmtchannel: flags.mgmtchannel,
                comment: flags.comment,
                port: flags.port,
            };
            Resource("bmcsetups").change(c, f, &name, &req).await?;
        }
        BmcsetupCmd::Show { name } => Resource("bmcsetups").show(c, f, &name).await?,
        BmcsetupCmd::List => print_list(f, &c.get("/bmcsetups").await?, BMC_COLS),
        BmcsetupCmd::Rename { name, new_name } => {
            Resource("bmcsetups").rename(c, f, &name, new_name).await?
        }
        BmcsetupCmd::Delete { name } => Resource("bmcsetups").delete(c, f, &name).await?,
    }
    Ok(())
}

/// Script flags take text, `@FILE`, or `-` for standard input.
fn script_arg(v: Option<String>) -> Result<Option<String>, CliError> {
    match v.as_deref() {
        Some("-") => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map_err(|e| {
                CliError::new(
                    3,
                    format!("cannot read the script from standard input: {e}"),
                )
            })?;
            Ok(Some(s))
        }
        Some(p) if p.starts_with('@') => std::fs::read_to_string(&p[1..])
            .map(Some)
            .map_err(|e| CliError::new(3, format!("cannot read script file {}: {e}", &p[1..]))),
        _ => Ok(v),
    }
}

async fn group(c: &Client, f: Format, cmd: GroupCmd) -> Result<(), CliError> {
    match cmd {
        GroupCmd::Add {
            name,
            osimage,
            network,
            network6,
            bmcnetwork,
            bmcsetup,
            domain,
            comment,
        } => {
            let req = GroupAdd {
                name,
                osimage,
                network,
                network6,
                bmcnetwork,
                bmcsetup,
                domain,
                comment,
                ..Default::default()
            };
            print_object(f, &c.post("/groups", &req).await?);
        }
        GroupCmd::Change(a) => group_change(c, f, *a).await?,
        GroupCmd::Show { name } => Resource("groups").show(c, f, &name).await?,
        GroupCmd::List => print_list(f, &c.get("/groups").await?, GROUP_COLS),
        GroupCmd::Rename { name, new_name } => {
            Resource("groups").rename(c, f, &name, new_name).await?
        }
        GroupCmd::Delete { name } => Resource("groups").delete(c, f, &name).await?,
    }
    Ok(())
}

async fn group_change(c: &Client, f: Format, a: GroupChangeArgs) -> Result<(), CliError> {
    let path = format!("/groups/{}", seg(&a.name));
    let config: Value = match &a.plugin_config {
        Some(s) => serde_json::from_str(s)
            .map_err(|e| CliError::new(3, format!("--plugin-config is not valid JSON: {e}")))?,
        None => Value::Object(Default::default()),
    };
    let bind = |p: Option<String>| {
        p.map(|plugin| PluginBinding {
            plugin,
            config: config.clone(),
        })
    };
    let req = GroupChange {
        osimage: a.osimage,
        bmcsetup: a.bmcsetup,
        domain: a.domain,
        prescript: script_arg(a.prescript)?,
        partscript: script_arg(a.partscript)?,
        postscript: script_arg(a.postscript)?,
        torrent_if: a.torrent_if,
        comment: a.comment,
        partition: bind(plugin::resolve_binding(c, a.partition).await?),
        post_install: bind(plugin::resolve_binding(c, a.post_install).await?),
        bmc: bind(plugin::resolve_binding(c, a.bmc).await?),
        power: bind(plugin::resolve_binding(c, a.power).await?),
    };
    let iface = a
        .interface
        .clone()
        .or(a.bmcnetwork.as_ref().map(|_| "BMC".to_string()));
    let touches_group = serde_json::to_value(&req)
        .map(|v| {
            v.as_object()
                .is_some_and(|m| m.values().any(|x| !x.is_null()))
        })
        .unwrap_or(true);
    let mut last = Value::Null;
    // Group fields and the interface change are two calls; the interface one is validated by
    // the daemon before anything is written, and each call is atomic on its own.
    if touches_group || iface.is_none() {
        last = c.patch(&path, &req).await?;
    }
    if let Some(i) = iface {
        let ipath = format!("{path}/interfaces/{}", seg(&i));
        last = if a.delete {
            c.delete(&ipath).await?
        } else {
            let set = GroupInterfaceSet {
                network: a.setnet.or(a.bmcnetwork),
                network6: a.setnet6,
                params: a.params,
            };
            c.put(&ipath, &set).await?
        };
    }
    print_object(f, &last);
    Ok(())
}

async fn node(c: &Client, f: Format, cmd: NodeCmd) -> Result<(), CliError> {
    match cmd {
        NodeCmd::Power(args) => discovery::power(c, f, args).await?,
        NodeCmd::Add {
            group,
            name,
            count,
            mac,
            switch,
            port,
            comment,
        } => {
            let req = NodeAdd {
                group,
                name,
                count,
                mac,
                switch,
                port,
                comment,
            };
            let v = c.post("/nodes", &req).await?;
            if v.as_array().is_some_and(|a| a.len() > 20) && f == Format::Table {
                println!("added {} nodes", v.as_array().map(Vec::len).unwrap_or(0));
            } else {
                print_list(f, &v, NODE_COLS);
            }
        }
        NodeCmd::Change(a) => {
            let mut ips = BTreeMap::new();
            for spec in &a.ip {
                match (spec.split_once('='), &a.interface) {
                    (Some((i, ip)), _) => ips.insert(i.to_string(), ip.to_string()),
                    (None, Some(i)) => ips.insert(i.clone(), spec.clone()),
                    (None, None) => {
                        return Err(CliError::new(
                            3,
                            format!(
                                "--ip {spec}: name the interface (--ip BOOTIF={spec} or -i BOOTIF)"
                            ),
                        ));
                    }
                };
            }
            let req = NodeChange {
                group: a.group,
                mac: a.mac,
                switch: a.switch,
                port: a.port,
                localboot: a.localboot,
                service: a.service,
                setupbmc: a.setupbmc,
                comment: a.comment,
                ips,
            };
            print_list(
                f,
                &c.patch(&format!("/nodes/{}", seg(&a.name)), &req).await?,
                NODE_COLS,
            );
        }
        NodeCmd::Show {
            name,
            inventory: true,
            ..
        } => status::inventory(c, f, &name).await?,
        NodeCmd::Status {
            nodes,
            watch,
            interval,
        } => status::status(c, f, nodes, watch, interval).await?,
        NodeCmd::Show {
            name,
            script: Some(ScriptKind::Boot),
            ..
        } => {
            let v = c.get(&format!("/nodes/{}/boot-script", seg(&name))).await?;
            print!("{}", v.as_str().unwrap_or_default());
        }
        NodeCmd::Show {
            name, script: None, ..
        } => status::show(c, f, &name).await?,
        NodeCmd::Unknown => print_list(f, &c.get("/unknown").await?, UNKNOWN_COLS),
        NodeCmd::Claim { name, mac } => print_list(
            f,
            &Value::Array(vec![
                c.post(
                    &format!("/nodes/{}/claim", seg(&name)),
                    &serde_json::json!({ "mac": mac }),
                )
                .await?,
            ]),
            NODE_COLS,
        ),
        NodeCmd::Show {
            name,
            script: Some(ScriptKind::Install),
            ..
        } => {
            let v = c.get(&format!("/nodes/{}/plan", seg(&name))).await?;
            let plan: luna_proto::plan::NodePlan = serde_json::from_value(v).map_err(|e| {
                CliError::new(
                    7,
                    format!("the daemon's plan of node {name} does not decode: {e}"),
                )
            })?;
            print!("{}", install_script::render(&plan));
        }
        NodeCmd::List { group } => {
            let path = match group {
                Some(g) => format!("/nodes?group={}", seg(&g)),
                None => "/nodes".into(),
            };
            print_list(f, &c.get(&path).await?, NODE_COLS)
        }
        NodeCmd::Rename { name, new_name } => {
            Resource("nodes").rename(c, f, &name, new_name).await?
        }
        NodeCmd::Delete { name } => Resource("nodes").delete(c, f, &name).await?,
    }
    Ok(())
}

async fn switch(c: &Client, f: Format, cmd: SwitchCmd) -> Result<(), CliError> {
    match cmd {
        SwitchCmd::Add {
            name,
            network,
            ip,
            read,
            rw,
            oid,
            uplinks,
            comment,
            snmp_port,
        } => {
            let req = SwitchAdd {
                name,
                network,
                ip,
                read,
                rw,
                oid,
                uplinks: Some(uplinks),
                comment,
                snmp_port,
            };
            print_object(f, &c.post("/switches", &req).await?);
        }
        SwitchCmd::Change {
            name,
            network,
            ip,
            read,
            rw,
            oid,
            uplinks,
            discovery,
            plugin_config,
            comment,
            snmp_port,
        } => {
            let config: Value = match &plugin_config {
                Some(s) => serde_json::from_str(s).map_err(|e| {
                    CliError::new(3, format!("--plugin-config is not valid JSON: {e}"))
                })?,
                None => Value::Object(Default::default()),
            };
            let discovery = plugin::resolve_binding(c, discovery).await?;
            let req = SwitchChange {
                network,
                ip,
                read,
                rw,
                oid,
                uplinks,
                comment,
                snmp_port,
                discovery: discovery.map(|plugin| PluginBinding { plugin, config }),
            };
            Resource("switches").change(c, f, &name, &req).await?;
        }
        SwitchCmd::Show { name, macs } => discovery::switch_show(c, f, &name, macs).await?,
        SwitchCmd::List => print_list(f, &c.get("/switches").await?, SWITCH_COLS),
        SwitchCmd::Rename { name, new_name } => {
            Resource("switches").rename(c, f, &name, new_name).await?
        }
        SwitchCmd::Delete { name } => Resource("switches").delete(c, f, &name).await?,
    }
    Ok(())
}

async fn otherdev(c: &Client, f: Format, cmd: OtherdevCmd) -> Result<(), CliError> {
    match cmd {
        OtherdevCmd::Add {
            name,
            network,
            ip,
            comment,
        } => print_object(
            f,
            &c.post(
                "/otherdevs",
                &OtherDevAdd {
                    name,
                    network,
                    ip,
                    comment,
                },
            )
            .await?,
        ),
        OtherdevCmd::Change {
            name,
            network,
            ip,
            release,
            comment,
        } => {
            let req = OtherDevChange {
                network,
                ip,
                release_network: release,
                comment,
            };
            Resource("otherdevs").change(c, f, &name, &req).await?;
        }
        OtherdevCmd::Show { name } => Resource("otherdevs").show(c, f, &name).await?,
        OtherdevCmd::List => print_list(f, &c.get("/otherdevs").await?, OTHERDEV_COLS),
        OtherdevCmd::Rename { name, new_name } => {
            Resource("otherdevs").rename(c, f, &name, new_name).await?
        }
        OtherdevCmd::Delete { name } => Resource("otherdevs").delete(c, f, &name).await?,
    }
    Ok(())
}

/// `luna cluster makedns`: zone files with an include file naming them.
async fn makedns(c: &Client, dir: Option<std::path::PathBuf>) -> Result<(), CliError> {
    let zone_dir = match &dir {
        Some(d) => std::path::absolute(d)
            .map_err(|e| CliError::new(3, format!("directory {}: {e}", d.display())))?,
        None => std::path::PathBuf::from("/var/named"),
    };
    let v = c
        .get(&format!(
            "/cluster/makedns?dir={}",
            zone_dir
                .display()
                .to_string()
                .replace('%', "%25")
                .replace('&', "%26")
                .replace(' ', "%20")
        ))
        .await?;
    let include = v["include"].as_str().unwrap_or_default();
    let files = v["files"].as_array().cloned().unwrap_or_default();
    let Some(dir) = dir else {
        print!("{include}");
        for f in &files {
            println!("; ---- {}", f["file_name"].as_str().unwrap_or_default());
            print!("{}", f["text"].as_str().unwrap_or_default());
        }
        return Ok(());
    };
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text)
            .map_err(|e| CliError::new(3, format!("cannot write {}: {e}", path.display())))
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::new(3, format!("cannot create {}: {e}", dir.display())))?;
    for f in &files {
        let name = f["file_name"].as_str().unwrap_or_default();
        if name.is_empty() || name.contains('/') {
            return Err(CliError::new(
                7,
                format!("the daemon sent a bad zone file name {name:?}"),
            ));
        }
        write(name, f["text"].as_str().unwrap_or_default())?;
    }
    write("luna.zones.conf", include)?;
    println!(
        "wrote {} zone files (serial {}) and luna.zones.conf to {}",
        files.len(),
        v["serial"],
        dir.display()
    );
    Ok(())
}

/// `luna cluster makedhcp`: the DHCP config for a site's own server.
async fn makedhcp(
    c: &Client,
    format: DhcpFormat,
    out: Option<std::path::PathBuf>,
) -> Result<(), CliError> {
    let name = match format {
        DhcpFormat::Isc => "isc",
        DhcpFormat::Kea => "kea",
        DhcpFormat::Dnsmasq => "dnsmasq",
    };
    let v = c.get(&format!("/cluster/makedhcp?format={name}")).await?;
    let text = v["config"].as_str().unwrap_or_default();
    match out {
        Some(path) => std::fs::write(&path, text)
            .map_err(|e| CliError::new(3, format!("cannot write {}: {e}", path.display()))),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}
