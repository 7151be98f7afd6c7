//! The service layer: every read and write of the cluster model. The REST API is a thin shell over
//! it. Writes are serialised by one lock and each is a single store transaction, so validation
//! sees the state it commits against and a failed change leaves nothing behind.

mod bmcsetup;
mod boot;
mod cluster;
mod discovery;
mod group;
mod leases;
mod network;
mod node;
mod osimage;
mod otherdev;
mod pack;
mod plan;
mod plugin;
mod plugin_render;
mod plugin_test;
mod power;
mod readdress;
mod requests;
mod status;
mod switch;

pub use boot::{BootNode, BootSnapshot, DhcpExportOptions};
pub use discovery::{MacView, SwitchDiscovery};
pub use leases::LeaseView;
pub use pack::kernels_of;
pub use plugin_test::PluginTest;
pub use power::{PowerReport, PowerRequest, PowerResult, PowerVerb};
pub use requests::*;

use crate::model::{IpRecord, LunaError, Network, OwnerKind, Result};
use crate::store::{Store, Table};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use tokio::sync::Mutex;

#[derive(Clone)]
pub struct Luna {
    store: Store,
    writes: Arc<Mutex<()>>,
    status: Arc<status::StatusBoard>,
    plugins: luna_plugin_host::PluginRuntime,
    loaded: Arc<plugin::LoadedPlugins>,
    discovery: Arc<crate::discovery::DiscoveryState>,
    plan_inputs: Arc<plan::PlanInputsCache>,
}

impl Luna {
    /// A service with an in-memory plugin compile cache (tests, benches); the daemon uses
    /// [`Luna::with_plugin_runtime`] with its cache under the data directory.
    pub fn new(store: Store) -> Self {
        let runtime =
            luna_plugin_host::PluginRuntime::new(luna_plugin_host::RuntimeConfig::default())
                .expect("the default plugin runtime starts (wasmtime engine with fixed settings)");
        Self::with_plugin_runtime(store, runtime)
    }

    pub fn with_plugin_runtime(store: Store, plugins: luna_plugin_host::PluginRuntime) -> Self {
        Self {
            store,
            writes: Arc::new(Mutex::new(())),
            status: Arc::default(),
            plugins,
            loaded: plugin::LoadedPlugins::new(),
            discovery: Arc::default(),
            plan_inputs: Arc::default(),
        }
    }

    pub fn discovery_settings(&self) -> crate::discovery::DiscoverySettings {
        self.discovery.settings()
    }

    pub fn set_discovery_settings(&self, settings: crate::discovery::DiscoverySettings) {
        *self
            .discovery
            .settings
            .write()
            .unwrap_or_else(|e| e.into_inner()) = settings;
    }

    /// Fires after every committed change (see [`Store::changes`]).
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.store.changes()
    }

    async fn network(&self, name: &str) -> Result<Network> {
        self.store
            .get(Table::Network, name)
            .await?
            .ok_or_else(|| LunaError::not_found("network", name))
    }

    async fn networks_by_name(&self) -> Result<HashMap<String, Network>> {
        let nets: Vec<Network> = self.store.list(Table::Network).await?;
        Ok(nets.into_iter().map(|n| (n.name.clone(), n)).collect())
    }

    /// Addresses already taken on a network.
    async fn used_ips(&self, network: &str) -> Result<Vec<IpAddr>> {
        let mut vars = Map::new();
        vars.insert("n".into(), Value::String(network.into()));
        let ips: Vec<String> = self
            .store
            .rows("SELECT VALUE ip FROM ip WHERE network = $n", vars)
            .await?;
        ips.iter()
            .map(|s| {
                s.parse().map_err(|_| {
                    LunaError::internal(format!("stored address '{s}' does not parse"))
                })
            })
            .collect()
    }

    async fn ips_of(&self, kind: OwnerKind, owner: &str) -> Result<Vec<IpRecord>> {
        let mut vars = Map::new();
        vars.insert("k".into(), serde_json::to_value(kind)?);
        vars.insert("o".into(), Value::String(owner.into()));
        self.store
            .rows(
                "SELECT * OMIT id FROM ip WHERE owner_kind = $k AND owner = $o",
                vars,
            )
            .await
    }

    async fn ips_of_kind(&self, kind: OwnerKind) -> Result<Vec<IpRecord>> {
        let mut vars = Map::new();
        vars.insert("k".into(), serde_json::to_value(kind)?);
        self.store
            .rows("SELECT * OMIT id FROM ip WHERE owner_kind = $k", vars)
            .await
    }

    async fn require_cluster(&self) -> Result<crate::model::Cluster> {
        self.store.singleton("cluster:main").await?.ok_or_else(|| {
            LunaError::invalid(
                "the cluster is not initialised yet; run 'luna cluster init' first".to_string(),
            )
        })
    }

    async fn exists(&self, table: Table, name: &str) -> Result<bool> {
        Ok(self.store.get::<Value>(table, name).await?.is_some())
    }
}

/// Error unless `name` is free in `table`.
async fn ensure_free(luna: &Luna, table: Table, what: &str, name: &str) -> Result<()> {
    crate::model::names::check_name(what, name)?;
    if luna.exists(table, name).await? {
        return Err(LunaError::already_exists(what, name));
    }
    Ok(())
}

/// Parses an address the user typed, naming the field in the error.
fn parse_ip(field: &str, s: &str) -> Result<IpAddr> {
    s.trim().parse().map_err(|_| {
        LunaError::invalid(format!(
            "{field} '{s}' is not an IP address; write e.g. 10.141.0.1 or fd00::1"
        ))
    })
}

fn ip_record(network: &str, ip: IpAddr, kind: OwnerKind, owner: &str, interface: &str) -> IpRecord {
    IpRecord {
        network: network.into(),
        ip,
        owner_kind: kind,
        owner: owner.into(),
        interface: interface.into(),
    }
}

/// `""` clears an optional text field, anything else sets it.
fn set_opt(target: &mut Option<String>, value: Option<String>) {
    if let Some(v) = value {
        *target = if v.is_empty() { None } else { Some(v) };
    }
}
