//! `GET /api/v1/nodes/{name-or-mac}/plan`: the install plan carries the BMC password, so it is
//! served only to the node itself (a request from one of its addresses), to loopback, or with the
//! API token.

use super::auth::{Token, bearer_matches};
use super::error::ApiError;
use crate::model::LunaError;
use crate::service::Luna;
use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use luna_proto::plan::NodePlan;
use std::net::SocketAddr;

#[derive(Clone)]
pub struct PlanState {
    pub luna: Luna,
    pub token: Token,
}

pub async fn node_plan(
    State(s): State<PlanState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<NodePlan>, ApiError> {
    let plan = s.luna.node_plan(&name).await?;
    let from_node = plan
        .interfaces
        .iter()
        .flat_map(|i| &i.addresses)
        .any(|a| a.cidr.split('/').next().and_then(|ip| ip.parse().ok()) == Some(peer.ip()));
    if peer.ip().is_loopback() || from_node || bearer_matches(&headers, &s.token) {
        Ok(Json(plan))
    } else {
        Err(ApiError(LunaError::unauthorized(format!(
            "the plan of node '{}' is served only to the node itself or with the API token",
            plan.node
        ))))
    }
}
