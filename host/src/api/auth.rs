//! Bearer-token auth: every write needs the token; reads are open on loopback only.

use super::error::ApiError;
use crate::model::LunaError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;
use std::sync::Arc;

#[derive(Clone)]
pub struct Token(pub Arc<String>);

pub async fn require_token(
    State(token): State<Token>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let is_read = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if is_read && peer.ip().is_loopback() {
        return Ok(next.run(req).await);
    }
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(t) if constant_time_eq(t.as_bytes(), token.0.as_bytes()) => Ok(next.run(req).await),
        Some(_) => Err(ApiError(LunaError::unauthorized(
            "the API token is wrong; use the token from the daemon's data directory (LUNA_TOKEN or --data-dir)",
        ))),
        None => Err(ApiError(LunaError::unauthorized(
            "this request needs the API token; set LUNA_TOKEN or point --data-dir/LUNA_DATA_DIR at the daemon's data directory",
        ))),
    }
}

/// True when the request carries the right bearer token.
pub fn bearer_matches(headers: &axum::http::HeaderMap, token: &Token) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| constant_time_eq(t.trim().as_bytes(), token.0.as_bytes()))
}

/// Compares without an early exit, so timing does not reveal how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
