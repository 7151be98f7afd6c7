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
    // Who may read it is decided before rendering: the bound hooks cost CPU.
    let (node, addresses) = s.luna.plan_identity(&name).await?;
    let from_node = addresses.contains(&peer.ip());
    if peer.ip().is_loopback() || from_node || bearer_matches(&headers, &s.token) {
        Ok(Json(s.luna.node_plan(&name).await?))
    } else {
        Err(ApiError(LunaError::unauthorized(format!(
            "the plan of node '{node}' is served only to the node itself or with the API token"
        ))))
    }
}
