//! What node-scoped hooks see of a node ([`NodeContext`], built from the node, its group,
//! osimage, interfaces and BMC profile) and the plan renderer's calls of the bound hooks.

use super::Luna;
use super::plugin::plugin_error;
use crate::model::{BmcSetup, Group, LunaError, Network, NodeView, OsImage, PluginBinding, Result};
use luna_plugin_host::{
    BmcSettings, Group as HookGroup, Hook, Network as HookNetwork, NodeContext, NodeInterface,
    OsImage as HookOsImage, PartitionPlan,
};
use luna_proto::plan::RenderedHooks;
use std::collections::HashMap;
use std::net::IpAddr;

impl Luna {
    /// The context node hooks get for `node` (by name), with the node's group.
    pub async fn node_context(&self, node: &str) -> Result<(NodeContext, Group)> {
        let inputs = self.plan_inputs().await?;
        let (view, group, image, bmcsetup) = inputs.resolve(node)?;
        let ctx = self.hook_context(view, group, image, &inputs.nets, bmcsetup);
        Ok((ctx, group.clone()))
    }

    pub(super) fn hook_context(
        &self,
        view: &NodeView,
        group: &Group,
        image: &OsImage,
        nets: &HashMap<String, Network>,
        bmc: Option<&BmcSetup>,
    ) -> NodeContext {
        let hostname = match &group.domain {
            Some(d) => format!("{}.{d}", view.node.name),
            None => view.node.name.clone(),
        };
        let interfaces = group
            .interfaces
            .iter()
            .map(|i| {
                let addrs: Vec<(IpAddr, &Network)> = view
                    .addresses
                    .iter()
                    .filter(|a| a.interface == i.name)
                    .filter_map(|a| Some((a.ip, nets.get(&a.network)?)))
                    .collect();
                NodeInterface {
                    name: i.name.clone(),
                    mac: (i.name == "BOOTIF")
                        .then(|| view.node.mac.clone())
                        .flatten(),
                    addresses: addrs
                        .iter()
                        .map(|(ip, n)| format!("{ip}/{}", n.cidr.prefix_len()))
                        .collect(),
                    network: i
                        .network
                        .as_ref()
                        .or(i.network6.as_ref())
                        .and_then(|n| nets.get(n))
                        .map(hook_network),
                }
            })
            .collect();
        let bmc = bmc.cloned().map(|b| {
            // The BMC's own IPv4 address, as `ipmitool lan set` wants it.
            let own = view
                .addresses
                .iter()
                .filter(|a| a.interface == "BMC" && a.ip.is_ipv4())
                .find_map(|a| Some((a.ip, nets.get(&a.network)?)));
            BmcSettings {
                address: own.map(|(ip, _)| ip.to_string()),
                netmask: own.map(|(_, n)| n.cidr.netmask().to_string()),
                gateway: own.and_then(|(_, n)| n.gateway.map(|g| g.to_string())),
                port: None,
                user_id: b.userid,
                user: b.user,
                password: b.password,
                net_channel: b.netchannel,
                mgmt_channel: b.mgmtchannel,
            }
        });
        NodeContext {
            name: view.node.name.clone(),
            hostname,
            group: HookGroup {
                name: group.name.clone(),
                domain: group.domain.clone(),
            },
            osimage: HookOsImage {
                name: image.name.clone(),
                kernel_version: image.kernver.clone(),
                distribution: None,
            },
            firmware: Default::default(),
            interfaces,
            // The hardware inventory is not reported yet; partitioners take disks from config.
            disks: Vec::new(),
            bmc,
        }
    }

    /// Runs the group's bound partition, post-install and (when the node sets up its BMC) bmc
    /// hooks for one node. No binding, no call. The plugins are looked up first; the calls then
    /// run back to back in one blocking task (one hand-off per plan instead of one per hook,
    /// and no copies of the context).
    pub(super) async fn render_hooks(
        &self,
        view: &NodeView,
        group: &Group,
        image: &OsImage,
        nets: &HashMap<String, Network>,
        bmcsetup: Option<&BmcSetup>,
    ) -> Result<RenderedHooks> {
        let bmc_binding = group.bmc.as_ref().filter(|_| view.node.setupbmc);
        if group.partition.is_none() && group.post_install.is_none() && bmc_binding.is_none() {
            return Ok(RenderedHooks::default());
        }
        let ctx = self.hook_context(view, group, image, nets, bmcsetup);
        let partition = self
            .bound_call(group.partition.as_ref(), Hook::Partition, &ctx)
            .await?;
        let post_install = self
            .bound_call(group.post_install.as_ref(), Hook::PostInstall, &ctx)
            .await?;
        let bmc = self.bound_call(bmc_binding, Hook::BmcSetup, &ctx).await?;
        // Without a partition binding the group's own partscript made the layout, which the host
        // cannot see: the post-install hook gets the script and no mounts.
        let partscript = group.partscript.clone();
        let rt = self.plugins.clone();
        tokio::task::spawn_blocking(move || {
            let partition = partition
                .map(|(p, config)| rt.partition_blocking(&p, &ctx, &config))
                .transpose()?;
            let post_install = match post_install {
                Some((p, config)) => {
                    let script_only = PartitionPlan {
                        script: partscript,
                        ..Default::default()
                    };
                    let layout = partition.as_ref().unwrap_or(&script_only);
                    Some(rt.post_install_blocking(&p, &ctx, layout, &config)?)
                }
                None => None,
            };
            let bmc_setup = bmc
                .map(|(p, config)| rt.bmc_setup_blocking(&p, &ctx, &config))
                .transpose()?;
            Ok(RenderedHooks {
                partition,
                post_install,
                bmc_setup,
            })
        })
        .await
        .map_err(|e| LunaError::internal(format!("plugin call aborted: {e}")))?
        .map_err(plugin_error)
    }

    /// The plugin and config of a binding, if there is one.
    async fn bound_call(
        &self,
        binding: Option<&PluginBinding>,
        hook: Hook,
        ctx: &NodeContext,
    ) -> Result<Option<(luna_plugin_host::Plugin, serde_json::Value)>> {
        match binding {
            Some(b) => Ok(Some((
                self.bound_plugin(b, hook, ctx).await?,
                b.config.clone(),
            ))),
            None => Ok(None),
        }
    }

    pub(super) async fn run_partition(
        &self,
        b: &PluginBinding,
        ctx: &NodeContext,
    ) -> Result<PartitionPlan> {
        let p = self.bound_plugin(b, Hook::Partition, ctx).await?;
        self.plugins
            .partition(&p, ctx, &b.config)
            .await
            .map_err(plugin_error)
    }

    /// The bound plugin, with a missing one reported against the hook and the node.
    async fn bound_plugin(
        &self,
        b: &PluginBinding,
        hook: Hook,
        ctx: &NodeContext,
    ) -> Result<luna_plugin_host::Plugin> {
        self.plugin(&b.plugin).await.map_err(|e| LunaError {
            kind: e.kind,
            message: format!(
                "{hook} hook of node {} (group {}): {}",
                ctx.name, ctx.group.name, e.message
            ),
        })
    }
}

fn hook_network(n: &Network) -> HookNetwork {
    HookNetwork {
        name: n.name.clone(),
        prefix: n.cidr.trunc().to_string(),
        gateway: n.gateway.map(|g| g.to_string()),
        domain: Some(n.name.clone()),
    }
}
