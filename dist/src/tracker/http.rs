//! The tracker's HTTP face: `/announce`, `/scrape` and `/stripes` as an axum router. Every reply is a
//! bencoded body with status 200, failures included, because BitTorrent clients read the
//! `failure reason` and ignore status codes.

use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::Tracker;
use crate::info_hash::InfoHash;

fn bencoded(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

async fn announce(State(tracker): State<Tracker>, req: Request) -> Response {
    // Present when the server runs with `into_make_service_with_connect_info::<SocketAddr>()`.
    let remote = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    bencoded(tracker.announce_query(req.uri().query().unwrap_or(""), remote))
}

/// `GET /stripes?info_hash=HEX&port=N`: the asking node's parents in the stripe trees, as
/// JSON (`StripeRole`). The node is the connection's address with the port it listens on.
async fn stripes(State(tracker): State<Tracker>, req: Request) -> Response {
    let Some(remote) = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "no connection info").into_response();
    };
    let query = req.uri().query().unwrap_or("");
    let (hash, port) = match parse_stripes_query(query) {
        Ok(q) => q,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    match tracker.stripe_role(&hash, SocketAddr::new(remote, port)) {
        Ok(role) => Json(role).into_response(),
        Err(e) => (StatusCode::NOT_FOUND, e.to_string()).into_response(),
    }
}

fn parse_stripes_query(query: &str) -> Result<(InfoHash, u16), String> {
    let mut hash = None;
    let mut port = None;
    for (k, v) in query.split('&').filter_map(|kv| kv.split_once('=')) {
        match k {
            "info_hash" => {
                hash = Some(
                    v.parse::<InfoHash>()
                        .map_err(|e| format!("info_hash: {e}"))?,
                )
            }
            "port" => {
                port = Some(
                    v.parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(|| format!("port: `{v}` is not a port number (1-65535)"))?,
                )
            }
            _ => {}
        }
    }
    Ok((
        hash.ok_or("missing info_hash (40 hex digits)")?,
        port.ok_or("missing port")?,
    ))
}

async fn scrape(State(tracker): State<Tracker>, req: Request) -> Response {
    bencoded(tracker.scrape_query(req.uri().query().unwrap_or("")))
}

impl Tracker {
    /// Routes `/announce`, `/scrape` and `/stripes`, ready to merge into the daemon's router. Serve with
    /// `into_make_service_with_connect_info::<SocketAddr>()` so peers are keyed by their real
    /// address (without it only announces carrying `ip=` are accepted).
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .route("/announce", get(announce))
            .route("/scrape", get(scrape))
            .route("/stripes", get(stripes))
            .with_state(self.clone())
    }
}
