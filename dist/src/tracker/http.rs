//! The tracker's HTTP face: `/announce` and `/scrape` as an axum router. Every reply is a
//! bencoded body with status 200, failures included, because BitTorrent clients read the
//! `failure reason` and ignore status codes.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::Tracker;

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

async fn scrape(State(tracker): State<Tracker>, req: Request) -> Response {
    bencoded(tracker.scrape_query(req.uri().query().unwrap_or("")))
}

impl Tracker {
    /// Routes `/announce` and `/scrape`, ready to merge into the daemon's router. Serve with
    /// `into_make_service_with_connect_info::<SocketAddr>()` so peers are keyed by their real
    /// address (without it only announces carrying `ip=` are accepted).
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .route("/announce", get(announce))
            .route("/scrape", get(scrape))
            .with_state(self.clone())
    }
}
