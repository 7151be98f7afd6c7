//! The REST API under `/api/v1`: a thin shell over [`Luna`]. The OpenAPI document lists the same
//! routes (a test checks that every documented route is served).

mod auth;
pub mod boot;
mod discovery;
mod error;
pub mod images;
mod leases;
pub mod openapi;
mod plan;
mod plugins;
mod status;

pub use auth::Token;

use crate::model::hostlist;
use crate::service::*;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router, middleware};
use error::{ApiError, Body};
use serde::Deserialize;
use serde_json::json;

type R<T> = Result<Json<T>, ApiError>;

pub fn router(luna: Luna, token: Token) -> Router {
    let (luna_for_plans, token_for_plans) = (luna.clone(), token.clone());
    let status_routes = status::router(luna.clone(), token.clone());
    let api = Router::new()
        .route(
            "/cluster",
            get(cluster_show).post(cluster_init).patch(cluster_change),
        )
        .route("/networks", get(network_list).post(network_add))
        .route(
            "/networks/{name}",
            get(network_show)
                .patch(network_change)
                .delete(network_delete),
        )
        .route("/networks/{name}/rename", post(network_rename))
        .route("/osimages", get(osimage_list).post(osimage_add))
        .route(
            "/osimages/{name}",
            get(osimage_show)
                .patch(osimage_change)
                .delete(osimage_delete),
        )
        .route("/osimages/{name}/rename", post(osimage_rename))
        .route("/osimages/{name}/clone", post(osimage_clone))
        .route("/bmcsetups", get(bmcsetup_list).post(bmcsetup_add))
        .route(
            "/bmcsetups/{name}",
            get(bmcsetup_show)
                .patch(bmcsetup_change)
                .delete(bmcsetup_delete),
        )
        .route("/bmcsetups/{name}/rename", post(bmcsetup_rename))
        .route("/groups", get(group_list).post(group_add))
        .route(
            "/groups/{name}",
            get(group_show).patch(group_change).delete(group_delete),
        )
        .route("/groups/{name}/rename", post(group_rename))
        .route(
            "/groups/{name}/interfaces/{iface}",
            put(group_iface_set).delete(group_iface_delete),
        )
        .route("/nodes", get(node_list).post(node_add))
        .route(
            "/nodes/{name}",
            get(node_show).patch(node_change).delete(node_delete),
        )
        .route("/nodes/{name}/rename", post(node_rename))
        .route("/nodes/{name}/claim", post(boot::node_claim))
        .route("/nodes/{name}/boot-script", get(boot::node_boot_script))
        .route("/unknown", get(boot::unknown_list))
        .route("/cluster/makedns", get(boot::makedns))
        .route("/cluster/makedhcp", get(boot::makedhcp))
        .route("/cluster/leases", get(leases::lease_list))
        .route("/switches", get(switch_list).post(switch_add))
        .route(
            "/switches/{name}",
            get(switch_show).patch(switch_change).delete(switch_delete),
        )
        .route("/switches/{name}/rename", post(switch_rename))
        .route("/otherdevs", get(otherdev_list).post(otherdev_add))
        .route(
            "/otherdevs/{name}",
            get(otherdev_show)
                .patch(otherdev_change)
                .delete(otherdev_delete),
        )
        .route("/otherdevs/{name}/rename", post(otherdev_rename))
        .merge(plugins::routes())
        .merge(discovery::routes())
        .fallback(not_found)
        .with_state(luna)
        .layer(middleware::from_fn_with_state(token, auth::require_token));
    let plans = Router::new()
        .route("/api/v1/nodes/{name}/plan", get(plan::node_plan))
        .with_state(plan::PlanState {
            luna: luna_for_plans,
            token: token_for_plans,
        });
    Router::new()
        .route(
            "/api/v1/openapi.json",
            get(|| async { Json(openapi::document()) }),
        )
        .merge(plans)
        .merge(status_routes)
        .nest("/api/v1", api)
}

async fn not_found() -> ApiError {
    ApiError(crate::model::LunaError {
        kind: crate::model::ErrorKind::NotFound,
        message: "no such API endpoint; see /api/v1/openapi.json".into(),
    })
}

fn created<T: serde::Serialize>(v: T) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

fn deleted(what: &str, name: &str) -> Json<serde_json::Value> {
    Json(json!({ "deleted": what, "name": name }))
}

async fn cluster_show(State(l): State<Luna>) -> R<crate::model::Cluster> {
    Ok(Json(l.cluster().await?))
}
async fn cluster_init(
    State(l): State<Luna>,
    Body(b): Body<ClusterChange>,
) -> Result<Response, ApiError> {
    Ok(created(l.cluster_init(b).await?))
}
async fn cluster_change(
    State(l): State<Luna>,
    Body(b): Body<ClusterChange>,
) -> R<crate::model::Cluster> {
    Ok(Json(l.cluster_change(b).await?))
}

async fn network_list(State(l): State<Luna>) -> R<Vec<crate::model::NetworkView>> {
    Ok(Json(l.network_list().await?))
}
async fn network_add(
    State(l): State<Luna>,
    Body(b): Body<NetworkAdd>,
) -> Result<Response, ApiError> {
    Ok(created(l.network_add(b).await?))
}
async fn network_show(
    State(l): State<Luna>,
    Path(n): Path<String>,
) -> R<crate::model::NetworkView> {
    Ok(Json(l.network_show(&n).await?))
}
async fn network_change(
    State(l): State<Luna>,
    Path(n): Path<String>,
    Body(b): Body<NetworkChange>,
) -> R<crate::model::NetworkView> {
    Ok(Json(l.network_change(&n, b).await?))
}
async fn network_rename(
    State(l): State<Luna>,
    Path(n): Path<String>,
    Body(b): Body<Rename>,
) -> R<crate::model::NetworkView> {
    Ok(Json(l.network_rename(&n, &b.new_name).await?))
}
async fn network_delete(State(l): State<Luna>, Path(n): Path<String>) -> R<serde_json::Value> {
    l.network_delete(&n).await?;
    Ok(deleted("network", &n))
}

async fn osimage_list(State(l): State<Luna>) -> R<Vec<crate::model::OsImage>> {
    Ok(Json(l.osimage_list().await?))
}
async fn osimage_add(
    State(l): State<Luna>,
    Body(b): Body<OsImageAdd>,
) -> Result<Response, ApiError> {
    Ok(created(l.osimage_add(b).await?))
}
async fn osimage_show(State(l): State<Luna>, Path(n): Path<String>) -> R<crate::model::OsImage> {
    Ok(Json(l.osimage_show(&n).await?))
}
async fn osimage_change(
    State(l): State<Luna>,
    Path(n): Path<String>,
    Body(b): Body<OsImageChange>,
) -> R<crate::model::OsImage> {
    Ok(Json(l.osimage_change(&n, b).await?))
}
async fn osimage_rename(
    State(l): State<Luna>,
    Path(n): Path<String>,
    Body(b): Body<Rename>,
) -> R<crate::model::OsImage> {
    Ok(Json(l.osimage_rename(&n, &b.new_name).await?))
}
async fn osimage_clone(
    State(l): State<Luna>,
    Path(n): Path<String>,
    Body(b): Body<OsImageClone>,
) -> Result<Response, ApiError> {
    Ok(created(l.osimage_clone(&n, b).await?))
}
async fn osimage_delete(State(l): State<Luna>, Path(n): Path<String>) -> R<serde_json::Value> {
    l.osimage_delete(&n).await?;
    Ok(deleted("osimage", &n))
}

async fn bmcsetup_list(State(l): State<Luna>) -> R<Vec<crate::model::BmcSetup>> {
    Ok(Json(l.bmcsetup_list().await?))
}
async fn bmcsetup_add(
    State(l): State<Luna>,
    Body(b): Body<BmcSetupAdd>,
) -> Result<Response, ApiError> {
    Ok(created(l.bmcsetup_add(b).await?))
}
async fn bmcsetup_show(State(l): State<Luna>, Path(n): Path<String>) -> R<crate::model::BmcSetup> {
    Ok(Json(l.bmcsetup_show(&n).await?))
}
async fn bmcsetup_change(
    State(l): State<Luna>,
    Path(n): Path<String>,
    Body(b): Body<BmcSetupChange>,
) -> R<crate::model::BmcSetup> {
    Ok(Json(l.bmcsetup_change(&n, b).await?))
}
async fn bmcsetup_rename(
    State(l): State<Luna>,
    Path(n): Path<String>,
    Body(b): Body<Rename>,
) -> R<crate::model::BmcSetup> {
    Ok(Json(l.bmcsetup_rename(&n, &b.new_name).await?))
}
async fn bmcsetup_delete(State(l): State<Luna>, Path(n): Path<String>) -> R<serde_json::Value> {
    l.bmcsetup_delete(&n).await?;
    Ok(deleted("bmcsetup", &n))
}

async fn group_list(State(l): State<Luna>) -> R<Vec<crate::model::Group>> {
    Ok(Json(l.group_list().await?))
}
async fn group_add(State(l): State<Luna>, Body(b): Body<GroupAdd>) -> Result<Response, ApiError> {
    Ok(created(l.group_add(b).await?))
}
async fn group_show(State(l): State<Luna>, Path(n): Path<String>) -> R<crate::model::Group> {
    Ok(Json(l.group_show(&n).await?))
}
async fn group_change(
    State(l): State<Luna>,
    Path(n): Path<String>,
    Body(b): Body<GroupChange>,
) -> R<crate::model::Group> {
    Ok(Json(l.group_change(&n, b).await?))
}
async fn group_rename(
    State(l): State<Luna>,
    Path(n): Path<String>,
    Body(b): Body<Rename>,
) -> R<crate::model::Group> {
    Ok(Json(l.group_rename(&n, &b.new_name).await?))
}
async fn group_delete(State(l): State<Luna>, Path(n): Path<String>) -> R<serde_json::Value> {
    l.group_delete(&n).await?;
    Ok(deleted("group", &n))
}
async fn group_iface_set(
    State(l): State<Luna>,
    Path((n, i)): Path<(String, String)>,
    Body(b): Body<GroupInterfaceSet>,
) -> R<crate::model::Group> {
    Ok(Json(l.group_interface_set(&n, &i, b).await?))
}
async fn group_iface_delete(
    State(l): State<Luna>,
    Path((n, i)): Path<(String, String)>,
) -> R<crate::model::Group> {
    Ok(Json(l.group_interface_delete(&n, &i).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeFilter {
    group: Option<String>,
}

async fn node_list(
    State(l): State<Luna>,
    Query(f): Query<NodeFilter>,
) -> R<Vec<crate::model::NodeView>> {
    Ok(Json(l.node_list(f.group.as_deref()).await?))
}
async fn node_add(State(l): State<Luna>, Body(b): Body<NodeAdd>) -> Result<Response, ApiError> {
    Ok(created(l.node_add(b).await?))
}
/// One node as an object; a hostlist as an array.
async fn node_show(State(l): State<Luna>, Path(n): Path<String>) -> Result<Response, ApiError> {
    if hostlist::is_expression(&n) {
        Ok(Json(l.node_show_many(&n).await?).into_response())
    } else {
        Ok(Json(l.node_show(&n).await?).into_response())
    }
}
async fn node_change(
    State(l): State<Luna>,
    Path(n): Path<String>,
    Body(b): Body<NodeChange>,
) -> R<Vec<crate::model::NodeView>> {
    Ok(Json(l.node_change(&n, b).await?))
}
async fn node_rename(
    State(l): State<Luna>,
    Path(n): Path<String>,
    Body(b): Body<Rename>,
) -> R<crate::model::NodeView> {
    Ok(Json(l.node_rename(&n, &b.new_name).await?))
}
async fn node_delete(State(l): State<Luna>, Path(n): Path<String>) -> R<serde_json::Value> {
    let count = l.node_delete(&n).await?;
    Ok(Json(
        json!({ "deleted": "node", "name": n, "count": count }),
    ))
}

async fn switch_list(State(l): State<Luna>) -> R<Vec<crate::model::Switch>> {
    Ok(Json(l.switch_list().await?))
}
async fn switch_add(State(l): State<Luna>, Body(b): Body<SwitchAdd>) -> Result<Response, ApiError> {
    Ok(created(l.switch_add(b).await?))
}
async fn switch_show(State(l): State<Luna>, Path(n): Path<String>) -> R<crate::model::Switch> {
    Ok(Json(l.switch_show(&n).await?))
}
async fn switch_change(
    State(l): State<Luna>,
    Path(n): Path<String>,
    Body(b): Body<SwitchChange>,
) -> R<crate::model::Switch> {
    Ok(Json(l.switch_change(&n, b).await?))
}
async fn switch_rename(
    State(l): State<Luna>,
    Path(n): Path<String>,
    Body(b): Body<Rename>,
) -> R<crate::model::Switch> {
    Ok(Json(l.switch_rename(&n, &b.new_name).await?))
}
async fn switch_delete(State(l): State<Luna>, Path(n): Path<String>) -> R<serde_json::Value> {
    l.switch_delete(&n).await?;
    Ok(deleted("switch", &n))
}

async fn otherdev_list(State(l): State<Luna>) -> R<Vec<crate::model::OtherDevView>> {
    Ok(Json(l.otherdev_list().await?))
}
async fn otherdev_add(
    State(l): State<Luna>,
    Body(b): Body<OtherDevAdd>,
) -> Result<Response, ApiError> {
    Ok(created(l.otherdev_add(b).await?))
}
async fn otherdev_show(
    State(l): State<Luna>,
    Path(n): Path<String>,
) -> R<crate::model::OtherDevView> {
    Ok(Json(l.otherdev_show(&n).await?))
}
async fn otherdev_change(
    State(l): State<Luna>,
    Path(n): Path<String>,
    Body(b): Body<OtherDevChange>,
) -> R<crate::model::OtherDevView> {
    Ok(Json(l.otherdev_change(&n, b).await?))
}
async fn otherdev_rename(
    State(l): State<Luna>,
    Path(n): Path<String>,
    Body(b): Body<Rename>,
) -> R<crate::model::OtherDevView> {
    Ok(Json(l.otherdev_rename(&n, &b.new_name).await?))
}
async fn otherdev_delete(State(l): State<Luna>, Path(n): Path<String>) -> R<serde_json::Value> {
    l.otherdev_delete(&n).await?;
    Ok(deleted("otherdev", &n))
}
