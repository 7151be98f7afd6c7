//! Renders a node's install plan from the model: addresses with prefixes and gateways, BMC
//! settings (with the password: the plan is only served to the node itself), scripts, plugins.

use super::Luna;
use crate::model::{LunaError, Network, NodeView, Result};
use luna_proto::plan::*;
use std::collections::HashMap;

impl Luna {
    /// The plan of the node with this name or boot MAC.
    pub async fn node_plan(&self, name_or_mac: &str) -> Result<NodePlan> {
        let view = match crate::model::mac::normalize_mac(name_or_mac) {
            Ok(mac) => {
                let node = self
                    .node_by_mac(&mac)
                    .await?
                    .ok_or_else(|| LunaError::not_found("node with MAC", &mac))?;
                self.node_show(&node.name).await?
            }
            Err(_) => self.node_show(name_or_mac).await?,
        };
        let group = self.group_show(&view.node.group).await?;
        let image = self.osimage_show(&group.osimage).await?;
        let image_source = self.image_source(&image).await?;
        let nets = self.networks_by_name().await?;
        let bmc = match (&group.bmcsetup, view.node.setupbmc) {
            (Some(b), true) => {
                let b = self.bmcsetup_secret(b).await?;
                Some(BmcPlan {
                    address: addresses_of(&view, "BMC", &nets).into_iter().next(),
                    user: b.user,
                    password: b.password,
                    userid: b.userid,
                    netchannel: b.netchannel,
                    mgmtchannel: b.mgmtchannel,
                })
            }
            _ => None,
        };
        let hostname = match &group.domain {
            Some(d) => format!("{}.{d}", view.node.name),
            None => view.node.name.clone(),
        };
        Ok(NodePlan {
            node: view.node.name.clone(),
            group: group.name.clone(),
            hostname,
            mac: view.node.mac.clone(),
            osimage: OsImagePlan {
                name: image.name.clone(),
                kernver: image.kernver.clone(),
                kernopts: image.kernopts.clone(),
            },
            interfaces: group
                .interfaces
                .iter()
                .map(|i| InterfacePlan {
                    name: i.name.clone(),
                    params: i.params.clone(),
                    addresses: addresses_of(&view, &i.name, &nets),
                })
                .collect(),
            bmc,
            localboot: view.node.localboot,
            service: view.node.service,
            scripts: ScriptsPlan {
                prescript: group.prescript.clone(),
                partscript: group.partscript.clone(),
                postscript: group.postscript.clone(),
            },
            plugins: crate::service::Luna::bindings_of(&group)
                .into_iter()
                .map(|(hook, b)| PluginPlan {
                    hook: hook.into(),
                    plugin: b.plugin.clone(),
                    config: b.config.clone(),
                })
                .collect(),
            image: image_source,
            rendered: self.render_hooks(&view, &group, &image, &nets).await?,
        })
    }
}

fn addresses_of(view: &NodeView, iface: &str, nets: &HashMap<String, Network>) -> Vec<AddressPlan> {
    view.addresses
        .iter()
        .filter(|a| a.interface == iface)
        .filter_map(|a| {
            let n = nets.get(&a.network)?;
            Some(AddressPlan {
                network: a.network.clone(),
                cidr: format!("{}/{}", a.ip, n.cidr.prefix_len()),
                gateway: n.gateway.map(|g| g.to_string()),
                nameserver: n.ns_ip.to_string(),
            })
        })
        .collect()
}
