//! `/api/v1/plugins`: the plugin registry. An install uploads the plugin file as the raw request
//! body (`POST /plugins?file=grub_post.wasm[&name=grub-post]`), so no encoding is needed.

use super::error::{ApiError, Body};
use super::{R, created, deleted};
use crate::model::{LunaError, PluginMeta, PluginTestOutput, PluginView};
use crate::service::{Luna, PluginTest};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;

/// Larger than any sensible plugin (first-party ones are ~200 KiB), small enough to refuse junk.
pub const MAX_PLUGIN_BYTES: usize = 32 << 20;

pub fn routes() -> Router<Luna> {
    Router::new()
        .route(
            "/plugins",
            get(list)
                .post(install)
                .layer(DefaultBodyLimit::max(MAX_PLUGIN_BYTES)),
        )
        .route("/plugins/{name}", get(show).delete(remove))
        .route("/plugins/{name}/test", post(test))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstallQuery {
    /// The uploaded file's name: its extension says wasm or rhai, its stem the default name.
    file: Option<String>,
    name: Option<String>,
}

async fn list(State(l): State<Luna>) -> R<Vec<PluginMeta>> {
    Ok(Json(l.plugin_list().await?))
}

async fn install(
    State(l): State<Luna>,
    Query(q): Query<InstallQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let file = q.file.ok_or_else(|| {
        LunaError::invalid(
            "a plugin upload needs ?file=NAME.wasm or ?file=NAME.rhai (the file's name); the body is the file itself",
        )
    })?;
    Ok(created(
        l.plugin_install(&file, q.name.as_deref(), body.to_vec())
            .await?,
    ))
}

async fn show(State(l): State<Luna>, Path(n): Path<String>) -> R<PluginView> {
    Ok(Json(l.plugin_show(&n).await?))
}

async fn remove(State(l): State<Luna>, Path(n): Path<String>) -> R<serde_json::Value> {
    l.plugin_remove(&n).await?;
    Ok(deleted("plugin", &n))
}

async fn test(
    State(l): State<Luna>,
    Path(n): Path<String>,
    Body(b): Body<PluginTest>,
) -> R<PluginTestOutput> {
    Ok(Json(l.plugin_test(&n, b).await?))
}
