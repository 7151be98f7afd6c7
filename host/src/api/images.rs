//! Distribution routes: pack jobs and swarm counts under `/api/v1/osimages/{name}/...` (token
//! rules as the rest of the API), and what nodes fetch without a token: `GET
//! /images/{name}.torrent`, the tracker's `/announce` and `/scrape`.

use super::auth::{self, Token};
use super::error::{ApiError, Body};
use crate::dist::Distribution;
use crate::dist::packing::{self, PackRequest, PackStatus};
use crate::model::LunaError;
use crate::service::Luna;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router, middleware};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Clone)]
struct ImagesState {
    luna: Luna,
    dist: Arc<Distribution>,
}

/// Who is fetching an image, from the tracker (the host seeder is not counted).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SwarmView {
    pub osimage: String,
    pub info_hash: Option<String>,
    /// Nodes still downloading the image.
    pub downloading: usize,
    /// Nodes that have it all and keep seeding while they install.
    pub seeding: usize,
    /// Nodes that fetched an install plan for the image and have not joined its swarm yet.
    #[serde(default)]
    pub starting: usize,
    /// The host seeder's state for this image (`seeding`, `checking`, ... or `not seeded`).
    pub host_seeder: String,
}

pub fn router(luna: Luna, token: Token, dist: Arc<Distribution>) -> Router {
    let state = ImagesState {
        luna,
        dist: dist.clone(),
    };
    let api = Router::new()
        .route(
            "/api/v1/osimages/{name}/pack",
            get(pack_status).post(pack_start),
        )
        .route("/api/v1/osimages/{name}/swarm", get(swarm))
        .with_state(state.clone())
        .layer(middleware::from_fn_with_state(token, auth::require_token));
    Router::new()
        .route("/images/{file}", get(torrent_file))
        .with_state(state)
        .merge(dist.tracker.router())
        .merge(api)
}

async fn pack_start(
    State(s): State<ImagesState>,
    Path(name): Path<String>,
    Body(req): Body<PackRequest>,
) -> Result<Response, ApiError> {
    let status = packing::start(s.dist, s.luna, &name, req).await?;
    Ok((StatusCode::ACCEPTED, Json(status)).into_response())
}

async fn pack_status(
    State(s): State<ImagesState>,
    Path(name): Path<String>,
) -> Result<Json<PackStatus>, ApiError> {
    s.luna.osimage_show(&name).await?;
    s.dist.jobs.get(&name).map(Json).ok_or_else(|| {
        ApiError(LunaError::not_found(
            "pack job of osimage (none ran since the daemon started; run 'luna osimage pack')",
            &name,
        ))
    })
}

async fn swarm(
    State(s): State<ImagesState>,
    Path(name): Path<String>,
) -> Result<Json<SwarmView>, ApiError> {
    let image = s.luna.osimage_show(&name).await?;
    let hash = image
        .pack
        .and_then(|p| p.info_hash)
        .and_then(|h| h.parse::<luna_dist::InfoHash>().ok());
    let counts = hash
        .as_ref()
        .and_then(|h| s.dist.tracker.peer_counts(h))
        .unwrap_or_default();
    let host_seeder = match hash.as_ref().and_then(|h| s.dist.seeder.get(h)) {
        None => "not seeded".to_string(),
        Some(i) => match i.state {
            luna_dist::SeedState::Checking => "checking".into(),
            luna_dist::SeedState::Seeding => "seeding".into(),
            luna_dist::SeedState::Paused => "paused".into(),
            luna_dist::SeedState::Error(e) => format!("error: {e}"),
        },
    };
    Ok(Json(SwarmView {
        osimage: name,
        info_hash: hash.map(|h| h.to_string()),
        downloading: counts.downloading,
        seeding: counts.seeding,
        starting: counts.starting,
        host_seeder,
    }))
}

/// `GET /images/NAME.torrent`: the image's torrent file, for nodes (no token).
async fn torrent_file(State(s): State<ImagesState>, Path(file): Path<String>) -> Response {
    let name = file.strip_suffix(".torrent").unwrap_or("");
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    let missing = || {
        (
            StatusCode::NOT_FOUND,
            format!("no packed image {file} here; run 'luna osimage pack NAME' on the host\n"),
        )
            .into_response()
    };
    if !valid {
        return missing();
    }
    match tokio::fs::read(s.dist.images_dir().join(&file)).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/x-bittorrent")], bytes).into_response(),
        Err(_) => missing(),
    }
}
