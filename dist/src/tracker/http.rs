//! The tracker's HTTP face: `/announce`, `/scrape` and `/stripes` as an axum router. Every reply is a
//! bencoded body with status 200, failures included, because BitTorrent clients read the
//! `failure reason` and ignore status codes.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{MAX_STRIPES_WAIT, Tracker};
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

/// `GET /stripes?info_hash=HEX&port=N[&known=DIGEST&wait=SECONDS]`: the asking node's place
/// in the stripe trees, as JSON (`StripeRole`). The node is the connection's address with the
/// port it listens on. With `known` (the digest of the role it has), the reply waits up to
/// `wait` seconds for the role to change (a long poll; see `Tracker::stripe_role_change`).
async fn stripes(State(tracker): State<Tracker>, req: Request) -> Response {
    let Some(remote) = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "no connection info").into_response();
    };
    let q = match parse_stripes_query(req.uri().query().unwrap_or("")) {
        Ok(q) => q,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let node = SocketAddr::new(remote, q.port);
    match tracker
        .stripe_role_change(&q.info_hash, node, q.known.as_deref(), q.wait)
        .await
    {
        Ok(role) => Json(role).into_response(),
        Err(e) => (StatusCode::NOT_FOUND, e.to_string()).into_response(),
    }
}

/// A parsed `/stripes` query.
#[derive(Debug, PartialEq)]
struct StripesQuery {
    info_hash: InfoHash,
    port: u16,
    known: Option<String>,
    wait: Duration,
}

fn parse_stripes_query(query: &str) -> Result<StripesQuery, String> {
    let mut hash = None;
    let mut port = None;
    let mut known = None;
    let mut wait = Duration::ZERO;
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
            "known" => {
                if v.is_empty() || v.len() > 64 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!(
                        "known: `{v}` is not a role digest (hex, as `StripeRole::digest` makes)"
                    ));
                }
                known = Some(v.to_ascii_lowercase());
            }
            "wait" => {
                wait = v
                    .parse::<f64>()
                    .ok()
                    .filter(|w| w.is_finite() && *w >= 0.0)
                    .map(|w| Duration::from_secs_f64(w.min(MAX_STRIPES_WAIT.as_secs_f64())))
                    .ok_or_else(|| {
                        format!(
                            "wait: `{v}` is not a number of seconds (0-{})",
                            MAX_STRIPES_WAIT.as_secs()
                        )
                    })?;
            }
            _ => {}
        }
    }
    Ok(StripesQuery {
        info_hash: hash.ok_or("missing info_hash (40 hex digits)")?,
        port: port.ok_or("missing port")?,
        known,
        wait,
    })
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
