//! Switch-port discovery and power routes: the MAC table, a switch's poll status, claiming a MAC
//! by its switch port, and power control of many nodes.

use super::R;
use super::error::Body;
use crate::discovery::PollStatus;
use crate::service::*;
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Router<Luna> {
    Router::new()
        .route("/cluster/macs", get(mac_list))
        .route("/cluster/macs/poll", post(poll_now))
        .route("/cluster/macs/{mac}/claim", post(claim))
        .route("/switches/{name}/discovery", get(switch_discovery))
        .route("/switches/{name}/macs", get(switch_macs))
        .route("/power", post(power))
}

#[derive(Deserialize)]
struct DiscoveryQuery {
    #[serde(default)]
    macs: bool,
}

/// The answer of a claim: the node the MAC was bound to, if any.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Claim {
    pub mac: String,
    pub node: Option<String>,
}

async fn mac_list(State(l): State<Luna>) -> R<Vec<MacView>> {
    Ok(Json(l.mac_list(None).await?))
}

async fn poll_now(State(l): State<Luna>) -> R<Vec<PollStatus>> {
    Ok(Json(l.poll_switches(None).await?))
}

async fn claim(State(l): State<Luna>, Path(mac): Path<String>) -> R<Claim> {
    let node = l.claim_by_switch_port(&mac).await?;
    let mac = crate::model::mac::normalize_mac(&mac)?;
    Ok(Json(Claim { mac, node }))
}

async fn switch_discovery(
    State(l): State<Luna>,
    Path(n): Path<String>,
    Query(q): Query<DiscoveryQuery>,
) -> R<SwitchDiscovery> {
    Ok(Json(l.switch_discovery(&n, q.macs).await?))
}

async fn switch_macs(State(l): State<Luna>, Path(n): Path<String>) -> R<Vec<MacView>> {
    Ok(Json(l.mac_list(Some(&n)).await?))
}

async fn power(State(l): State<Luna>, Body(b): Body<PowerRequest>) -> R<PowerReport> {
    Ok(Json(l.node_power(b).await?))
}
