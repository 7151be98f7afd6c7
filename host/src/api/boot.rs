//! Boot HTTP: `GET /boot/ipxe` (the iPXE script for the machine asking), `GET
//! /boot/files/<osimage>/kernel|initramfs`, and the API routes of the boot data: unknown
//! machines, claiming, a node's boot script, and the DNS/DHCP exporters.

use super::error::ApiError;
use crate::boot::cache::BootCache;
use crate::boot::scripts::node_script;
use crate::boot::unix_now;
use crate::model::LunaError;
use crate::service::{BootNode, Luna};
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use luna_boot::export::{bind_export, dhcp_config};
use luna_boot::ipxe::{boot_request, chain_script, unknown_script};
use luna_proto::boot::{DhcpExportFormat, UnknownMachine};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone)]
pub struct BootState {
    pub luna: Luna,
    pub cache: Arc<BootCache>,
    pub data_dir: PathBuf,
}

/// Routes outside `/api/v1` that booting machines call (no token: they hold none).
pub fn routes(state: BootState) -> Router {
    Router::new()
        .route("/boot/ipxe", get(boot_ipxe))
        .route("/boot/files/{osimage}/{file}", get(boot_file))
        .with_state(state)
}

#[derive(Deserialize)]
pub struct BootQuery {
    mac: Option<String>,
    macs: Option<String>,
    serial: Option<String>,
    platform: Option<String>,
    claim: Option<String>,
}

fn ipxe(status: StatusCode, text: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// The base URL the client reached us at (its `Host` header): the address of the interface the
/// request arrived on, so multi-homed hosts answer each network with an address it can reach.
fn base_url(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']'));
    ok.then(|| format!("http://{host}"))
}

async fn boot_ipxe(
    State(s): State<BootState>,
    headers: HeaderMap,
    Query(q): Query<BootQuery>,
) -> Response {
    let Some(url) = base_url(&headers) else {
        return ipxe(
            StatusCode::BAD_REQUEST,
            "a Host header naming this server is required\n".into(),
        );
    };
    let req = match boot_request(
        q.mac.as_deref(),
        q.macs.as_deref(),
        q.serial.as_deref(),
        q.platform.as_deref(),
        q.claim.as_deref(),
    ) {
        Ok(r) => r,
        Err(e) => return ipxe(StatusCode::BAD_REQUEST, format!("{e}\n")),
    };
    if req.mac.is_none() && req.macs.is_empty() {
        return script_response(chain_script(&url));
    }
    let snapshot = s.cache.get();
    let known = req
        .mac
        .iter()
        .chain(req.macs.iter())
        .find_map(|m| snapshot.by_mac.get(m).cloned());
    drop(snapshot);
    if let Some(node) = known {
        return script_response(node_script(&node, &url));
    }
    // A miss may be a node added since the last reload: the store decides (misses are rare,
    // unknown machines retry every 10 s).
    for mac in req.mac.iter().chain(req.macs.iter()) {
        match s.luna.node_by_mac(&mac.to_string()).await {
            Ok(Some(node)) => match s.luna.boot_node(&node.name).await {
                Ok(node) => return script_response(node_script(&node, &url)),
                Err(e) => {
                    tracing::warn!(node = %node.name, error = %e.message, "node not bootable")
                }
            },
            Ok(None) => {}
            Err(e) => tracing::warn!(%mac, error = %e.message, "node lookup failed"),
        }
    }
    if let (Some(name), Some(mac)) = (&req.claim, req.mac) {
        match claim(&s, name, &mac.to_string()).await {
            Ok(node) => return script_response(node_script(&node, &url)),
            Err(e) => {
                tracing::warn!(node = %name, %mac, error = %e.message, "claim from the console refused")
            }
        }
    }
    // Resolution by switch port: the boot MAC was learnt on a switch port a node is configured
    // on (the switches are polled first when the MAC is not in the table yet).
    if let Some(mac) = req.mac {
        match s.luna.claim_by_switch_port(&mac.to_string()).await {
            Ok(Some(name)) => match s.cache.reload(&s.luna).await {
                Ok(()) => match s.luna.boot_node(&name).await {
                    Ok(node) => return script_response(node_script(&node, &url)),
                    Err(e) => tracing::warn!(node = %name, error = %e.message, "node not bootable"),
                },
                Err(e) => tracing::warn!(error = %e.message, "boot directory reload failed"),
            },
            Ok(None) => {}
            Err(e) => tracing::warn!(%mac, error = %e.message, "switch-port resolution failed"),
        }
    }
    let host = url.trim_start_matches("http://").to_string();
    if let Err(e) = s.luna.unknown_seen(&req, Some(host), unix_now()).await {
        tracing::warn!(error = %e.message, "unknown machine not recorded");
    }
    script_response(unknown_script(&url, req.mac))
}

async fn claim(s: &BootState, node: &str, mac: &str) -> crate::model::Result<BootNode> {
    s.luna.node_claim(node, mac).await?;
    s.cache.reload(&s.luna).await?;
    s.luna.boot_node(node).await
}

fn script_response(script: Result<String, luna_boot::ipxe::ScriptError>) -> Response {
    match script {
        Ok(text) => ipxe(StatusCode::OK, text),
        Err(e) => {
            tracing::warn!(error = %e, "boot script not served");
            ipxe(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n"))
        }
    }
}

/// `DATA/boot/<osimage>/kernel|initramfs`, written by `luna osimage pack`.
async fn boot_file(
    State(s): State<BootState>,
    Path((osimage, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    if !matches!(file.as_str(), "kernel" | "initramfs") {
        return Err(ApiError(LunaError::not_found("boot file", &file)));
    }
    if crate::model::names::check_name("osimage", &osimage).is_err() {
        return Err(ApiError(LunaError::not_found("osimage", &osimage)));
    }
    let path = s.data_dir.join("boot").join(&osimage).join(&file);
    let f = tokio::fs::File::open(&path).await.map_err(|_| {
        ApiError(LunaError {
            kind: crate::model::ErrorKind::NotFound,
            message: format!(
                "osimage '{osimage}' has no {file} yet; run 'luna osimage pack {osimage}'"
            ),
        })
    })?;
    let len = f
        .metadata()
        .await
        .map_err(|e| ApiError(LunaError::internal(format!("{}: {e}", path.display()))))?
        .len();
    let body = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(f, 256 << 10));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        body,
    )
        .into_response())
}

// ---- API (/api/v1) -------------------------------------------------------------------------

pub async fn unknown_list(State(l): State<Luna>) -> Result<Json<Vec<UnknownMachine>>, ApiError> {
    Ok(Json(l.unknown_list().await?))
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    pub mac: String,
}

pub async fn node_claim(
    State(l): State<Luna>,
    Path(n): Path<String>,
    super::error::Body(b): super::error::Body<Claim>,
) -> Result<Json<crate::model::NodeView>, ApiError> {
    Ok(Json(l.node_claim(&n, &b.mac).await?))
}

/// The script `/boot/ipxe` serves this node, with the URL it reaches Luna at: the cluster's
/// frontend address, else its BOOTIF network's name server address, on the frontend port.
pub async fn node_boot_script(
    State(l): State<Luna>,
    Path(n): Path<String>,
) -> Result<Response, ApiError> {
    let node = l.boot_node(&n).await?;
    let cluster = l.cluster().await?;
    let host = match (cluster.frontend_address, node.bootif_ip) {
        (Some(a), _) => a,
        (None, Some(ip)) => l
            .network_of_address(ip.into())
            .await?
            .map(|net| net.ns_ip)
            .ok_or_else(|| LunaError::internal(format!("no network holds {ip}")))?,
        (None, None) => {
            return Err(ApiError(LunaError::invalid(format!(
                "node '{n}' has no BOOTIF address and the cluster no frontend address; set one with 'luna cluster change --frontend-address IP'"
            ))));
        }
    };
    let host = match host {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    let url = format!("http://{host}:{}", cluster.frontend_port);
    node_script(&node, &url)
        .map(|s| ipxe(StatusCode::OK, s))
        .map_err(|e| ApiError(LunaError::invalid(e.to_string())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsQuery {
    /// Directory the zone files will live in (for the include file).
    dir: Option<String>,
}

#[derive(Serialize)]
pub struct ZoneFileOut {
    file_name: String,
    zone: String,
    text: String,
}

#[derive(Serialize)]
pub struct DnsExportOut {
    serial: u32,
    include: String,
    files: Vec<ZoneFileOut>,
}

pub async fn makedns(
    State(l): State<Luna>,
    Query(q): Query<DnsQuery>,
) -> Result<Json<DnsExportOut>, ApiError> {
    let (set, serial) = l.dns_zones(unix_now()).await?;
    let zones = luna_boot::dns::build_zones(&set, serial)
        .map_err(|e| ApiError(LunaError::invalid(e.to_string())))?;
    let export = bind_export(&zones, q.dir.as_deref().unwrap_or("/var/named"));
    Ok(Json(DnsExportOut {
        serial,
        include: export.include,
        files: export
            .files
            .into_iter()
            .map(|f| ZoneFileOut {
                file_name: f.file_name,
                zone: f.zone,
                text: f.text,
            })
            .collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DhcpQuery {
    format: Option<String>,
}

/// The daemon's `[dhcp]` section, for the export (absent when luna.toml has none).
#[derive(Clone)]
pub struct DhcpExportSection(pub Arc<crate::boot::DhcpSection>);

pub async fn makedhcp(
    State(l): State<Luna>,
    section: Option<axum::Extension<DhcpExportSection>>,
    Query(q): Query<DhcpQuery>,
) -> Result<Response, ApiError> {
    let format: DhcpExportFormat = q
        .format
        .as_deref()
        .unwrap_or("isc")
        .parse()
        .map_err(|e: String| ApiError(LunaError::invalid(e)))?;
    let options = section.map(|s| s.0.0.export_options()).unwrap_or_default();
    let export = l.dhcp_export(&options).await?;
    let text =
        dhcp_config(&export, format).map_err(|e| ApiError(LunaError::invalid(e.to_string())))?;
    Ok(Json(serde_json::json!({ "format": format, "config": text })).into_response())
}
