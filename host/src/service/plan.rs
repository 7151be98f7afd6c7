//! Renders a node's install plan from the model: addresses with prefixes and gateways, BMC
//! settings (with the password: the plan is only served to the node itself), scripts, plugins.

use super::Luna;
use super::boot::{BootNode, BootSnapshot};
use crate::model::{BmcSetup, Group, LunaError, Network, NodeView, OsImage, Result};
use crate::store::Table;
use luna_proto::dist::ImageSource;
use luna_proto::plan::*;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// Everything plans and the boot directory are rendered from, read once per store change: a boot
/// storm of 10,000 nodes then costs one snapshot, not a dozen store queries per plan.
pub(super) struct PlanInputs {
    generation: u64,
    nodes: HashMap<String, NodeView>,
    by_mac: HashMap<String, String>,
    groups: HashMap<String, Group>,
    images: HashMap<String, (OsImage, Option<ImageSource>)>,
    pub(super) nets: HashMap<String, Network>,
    bmcsetups: HashMap<String, BmcSetup>,
    /// The boot directory (DHCP fixed leases, `/boot/ipxe`) of this same state.
    pub(super) boot: Arc<BootSnapshot>,
}

/// The current [`PlanInputs`]. Readers check `current` without waiting (every plan request
/// does); only a stale snapshot takes `loading`, which makes concurrent callers share one load.
#[derive(Default)]
pub(super) struct PlanInputsCache {
    current: std::sync::RwLock<Option<Arc<PlanInputs>>>,
    loading: tokio::sync::Mutex<()>,
}

impl PlanInputsCache {
    fn fresh(&self, generation: u64) -> Option<Arc<PlanInputs>> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current
            .as_ref()
            .filter(|p| p.generation == generation)
            .cloned()
    }

    fn keep(&self, inputs: Arc<PlanInputs>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(inputs);
    }
}

type Resolved<'a, I> = (&'a NodeView, &'a Group, I, Option<&'a BmcSetup>);

impl PlanInputs {
    /// The node with its group, osimage and BMC profile.
    pub(super) fn resolve(&self, name_or_mac: &str) -> Result<Resolved<'_, &OsImage>> {
        let (view, group, (image, _), bmc) = self.resolve_full(name_or_mac)?;
        Ok((view, group, image, bmc))
    }

    /// Like [`PlanInputs::resolve`], with the osimage's image source.
    fn resolve_full(
        &self,
        name_or_mac: &str,
    ) -> Result<Resolved<'_, &(OsImage, Option<ImageSource>)>> {
        let view = self.node(name_or_mac)?;
        let missing = |what: &str, name: &str| {
            LunaError::internal(format!(
                "node {} refers to {what} '{name}', which is not in the store",
                view.node.name
            ))
        };
        let group = self
            .groups
            .get(&view.node.group)
            .ok_or_else(|| missing("group", &view.node.group))?;
        let image = self
            .images
            .get(&group.osimage)
            .ok_or_else(|| missing("osimage", &group.osimage))?;
        let bmcsetup = match &group.bmcsetup {
            Some(b) => Some(
                self.bmcsetups
                    .get(b)
                    .ok_or_else(|| missing("bmcsetup", b))?,
            ),
            None => None,
        };
        Ok((view, group, image, bmcsetup))
    }

    /// The node with this name or boot MAC.
    fn node(&self, name_or_mac: &str) -> Result<&NodeView> {
        let name = match crate::model::mac::normalize_mac(name_or_mac) {
            Ok(mac) => self
                .by_mac
                .get(&mac)
                .ok_or_else(|| LunaError::not_found("node with MAC", &mac))?,
            Err(_) => name_or_mac,
        };
        self.nodes
            .get(name)
            .ok_or_else(|| LunaError::not_found("node", name))
    }
}

impl Luna {
    pub(super) async fn plan_inputs(&self) -> Result<Arc<PlanInputs>> {
        let generation = || self.store.generation();
        let cache = &self.plan_inputs;
        if let Some(p) = cache.fresh(generation()) {
            return Ok(p);
        }
        let _loading = cache.loading.lock().await;
        // Another caller may have loaded it while this one waited.
        if let Some(p) = cache.fresh(generation()) {
            return Ok(p);
        }
        // A write landing between the snapshot's queries would mix two states: read again.
        for _ in 0..3 {
            let before = generation();
            let inputs = Arc::new(self.load_plan_inputs(before).await?);
            if generation() == before {
                cache.keep(inputs.clone());
                return Ok(inputs);
            }
        }
        // Writes keep landing: serve the latest read without keeping it.
        Ok(Arc::new(self.load_plan_inputs(generation()).await?))
    }

    async fn load_plan_inputs(&self, generation: u64) -> Result<PlanInputs> {
        let views = self.node_list(None).await?;
        let by_mac = views
            .iter()
            .filter_map(|v| Some((v.node.mac.clone()?, v.node.name.clone())))
            .collect();
        let mut images = HashMap::new();
        for image in self.osimage_list().await? {
            let source = self.image_source(&image).await?;
            images.insert(image.name.clone(), (image, source));
        }
        let bmcsetups: Vec<BmcSetup> = self.store.list(Table::BmcSetup).await?;
        let groups: HashMap<String, Group> = self
            .group_list()
            .await?
            .into_iter()
            .map(|g| (g.name.clone(), g))
            .collect();
        let boot = Arc::new(boot_directory(&views, &groups, &images));
        Ok(PlanInputs {
            generation,
            nodes: views
                .into_iter()
                .map(|v| (v.node.name.clone(), v))
                .collect(),
            by_mac,
            groups,
            images,
            nets: self.networks_by_name().await?,
            bmcsetups: bmcsetups.into_iter().map(|b| (b.name.clone(), b)).collect(),
            boot,
        })
    }

    /// The boot directory: every node with a MAC, its image, flags and BOOTIF address, from the
    /// same snapshot plans are rendered from.
    pub async fn boot_snapshot(&self) -> Result<Arc<BootSnapshot>> {
        Ok(self.plan_inputs().await?.boot.clone())
    }

    /// The name and addresses of the node with this name or boot MAC: enough to decide who may
    /// read its plan before rendering it (hooks cost CPU).
    pub async fn plan_identity(&self, name_or_mac: &str) -> Result<(String, Vec<IpAddr>)> {
        let inputs = self.plan_inputs().await?;
        let view = inputs.node(name_or_mac)?;
        Ok((
            view.node.name.clone(),
            view.addresses.iter().map(|a| a.ip).collect(),
        ))
    }

    /// The plan of the node with this name or boot MAC.
    pub async fn node_plan(&self, name_or_mac: &str) -> Result<NodePlan> {
        let inputs = self.plan_inputs().await?;
        let (view, group, (image, image_source), bmcsetup) = inputs.resolve_full(name_or_mac)?;
        let nets = &inputs.nets;
        let bmc = match (bmcsetup, view.node.setupbmc) {
            (Some(b), true) => Some(BmcPlan {
                address: addresses_of(view, "BMC", nets).into_iter().next(),
                user: b.user.clone(),
                password: b.password.clone(),
                userid: b.userid,
                netchannel: b.netchannel,
                mgmtchannel: b.mgmtchannel,
            }),
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
                    addresses: addresses_of(view, &i.name, nets),
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
            plugins: crate::service::Luna::bindings_of(group)
                .into_iter()
                .map(|(hook, b)| PluginPlan {
                    hook: hook.into(),
                    plugin: b.plugin.clone(),
                    config: b.config.clone(),
                })
                .collect(),
            image: image_source.clone(),
            rendered: self
                .render_hooks(view, group, image, nets, bmcsetup)
                .await?,
        })
    }
}

/// Every node with a MAC, by MAC. A node whose group or image is missing still boots (its script
/// names no image), as the directory always did.
fn boot_directory(
    views: &[NodeView],
    groups: &HashMap<String, Group>,
    images: &HashMap<String, (OsImage, Option<ImageSource>)>,
) -> BootSnapshot {
    let mut by_mac = HashMap::with_capacity(views.len());
    for view in views {
        let node = &view.node;
        let Some(mac) = node.mac.as_deref().and_then(|m| m.parse().ok()) else {
            continue;
        };
        let osimage = groups
            .get(&node.group)
            .map(|g| g.osimage.clone())
            .unwrap_or_default();
        let kernopts = images
            .get(&osimage)
            .map(|(i, _)| i.kernopts.clone())
            .unwrap_or_default();
        let bootif_ip = view.addresses.iter().find_map(|a| match a.ip {
            IpAddr::V4(v4) if a.interface == "BOOTIF" => Some(v4),
            _ => None,
        });
        by_mac.insert(
            mac,
            Arc::new(BootNode {
                name: node.name.clone(),
                mac,
                osimage,
                kernopts,
                localboot: node.localboot,
                service: node.service,
                bootif_ip,
            }),
        );
    }
    BootSnapshot { by_mac }
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
