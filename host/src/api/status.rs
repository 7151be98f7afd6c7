//! Node install status and inventory. Agents POST step reports, download progress and the
//! service-mode inventory; like the plan, these are accepted only from one of the node's own
//! addresses, from loopback, or with the API token. Reads follow the API's rule (loopback or
//! token).

use super::auth::{Token, bearer_matches};
use super::error::{ApiError, Body};
use crate::model::{LunaError, hostlist};
use crate::service::Luna;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use luna_proto::dist::DownloadProgress;
use luna_proto::status::{Inventory, NodeStatus, StepReport};
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::SocketAddr;

#[derive(Clone)]
pub struct StatusState {
    pub luna: Luna,
    pub token: Token,
}

pub fn router(luna: Luna, token: Token) -> Router {
    Router::new()
        .route("/api/v1/nodes/status", get(status_list))
        .route(
            "/api/v1/nodes/{name}/status",
            get(status_show).post(status_post),
        )
        .route(
            "/api/v1/nodes/{name}/progress",
            axum::routing::post(progress_post),
        )
        .route(
            "/api/v1/nodes/{name}/inventory",
            get(inventory_show).post(inventory_post),
        )
        .with_state(StatusState { luna, token })
}

/// Reads: loopback or the token (the rule of the rest of the API).
fn may_read(s: &StatusState, peer: SocketAddr, headers: &HeaderMap) -> Result<(), ApiError> {
    if peer.ip().is_loopback() || bearer_matches(headers, &s.token) {
        Ok(())
    } else {
        Err(ApiError(LunaError::unauthorized(
            "reading node status needs the API token; set LUNA_TOKEN or point --data-dir/LUNA_DATA_DIR at the daemon's data directory",
        )))
    }
}

/// Reports: the node itself (one of its addresses), loopback or the token.
async fn may_report(
    s: &StatusState,
    name: &str,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    if peer.ip().is_loopback() || bearer_matches(headers, &s.token) {
        return Ok(());
    }
    let node = s.luna.node_show(name).await?;
    if node.addresses.iter().any(|a| a.ip == peer.ip()) {
        Ok(())
    } else {
        Err(ApiError(LunaError::unauthorized(format!(
            "reports for node '{name}' are accepted only from the node's own addresses or with the API token (request came from {})",
            peer.ip()
        ))))
    }
}

#[derive(Deserialize)]
pub struct StatusFilter {
    /// A node name or hostlist; all nodes when absent.
    nodes: Option<String>,
}

async fn status_list(
    State(s): State<StatusState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(f): Query<StatusFilter>,
) -> Result<Json<Vec<NodeStatus>>, ApiError> {
    may_read(&s, peer, &headers)?;
    Ok(Json(
        s.luna
            .node_status(f.nodes.as_deref().filter(|n| !n.is_empty()))
            .await?,
    ))
}

async fn status_show(
    State(s): State<StatusState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    may_read(&s, peer, &headers)?;
    let mut all = s.luna.node_status(Some(&name)).await?;
    if hostlist::is_expression(&name) {
        Ok(Json(serde_json::to_value(all).map_err(LunaError::from)?))
    } else {
        let one = all
            .pop()
            .ok_or_else(|| LunaError::not_found("node", &name))?;
        Ok(Json(serde_json::to_value(one).map_err(LunaError::from)?))
    }
}

async fn status_post(
    State(s): State<StatusState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Body(report): Body<StepReport>,
) -> Result<Json<NodeStatus>, ApiError> {
    may_report(&s, &name, peer, &headers).await?;
    Ok(Json(s.luna.node_report_step(&name, report).await?))
}

async fn progress_post(
    State(s): State<StatusState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Body(p): Body<DownloadProgress>,
) -> Result<Json<Value>, ApiError> {
    may_report(&s, &name, peer, &headers).await?;
    s.luna.node_report_progress(&name, p).await?;
    Ok(Json(json!({ "accepted": true })))
}

async fn inventory_show(
    State(s): State<StatusState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Inventory>, ApiError> {
    may_read(&s, peer, &headers)?;
    Ok(Json(s.luna.node_inventory(&name).await?))
}

async fn inventory_post(
    State(s): State<StatusState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Body(inv): Body<Inventory>,
) -> Result<Json<Value>, ApiError> {
    may_report(&s, &name, peer, &headers).await?;
    s.luna.node_inventory_set(&name, inv).await?;
    Ok(Json(json!({ "accepted": true })))
}
