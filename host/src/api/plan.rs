//! `GET /api/v1/nodes/{name-or-mac}/plan`: the install plan carries the BMC password, so it is
//! served only to the node itself (a request from one of its addresses), to loopback, or with the
//! API token.

use super::auth::{Token, bearer_matches};
use super::error::ApiError;
use crate::model::LunaError;
use crate::service::Luna;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::{Extension, Json};
use luna_proto::dist::ImageSource;
use luna_proto::plan::NodePlan;
use std::net::SocketAddr;

#[derive(Clone)]
pub struct PlanState {
    pub luna: Luna,
    pub token: Token,
}

/// The image tracker, when the daemon runs one: a node fetching its plan is about to join its
/// image's swarm.
pub type PlanTracker = Option<Extension<luna_dist::Tracker>>;

pub async fn node_plan(
    State(s): State<PlanState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    tracker: PlanTracker,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<NodePlan>, ApiError> {
    // Who may read it is decided before rendering: the bound hooks cost CPU.
    let (node, addresses) = s.luna.plan_identity(&name).await?;
    let from_node = addresses.contains(&peer.ip());
    if peer.ip().is_loopback() || from_node || bearer_matches(&headers, &s.token) {
        let plan = s.luna.node_plan(&name).await?;
        if from_node && let Some(Extension(tracker)) = tracker {
            expect_installer(&tracker, plan.image.as_ref(), peer);
        }
        Ok(Json(plan))
    } else {
        Err(ApiError(LunaError::unauthorized(format!(
            "the plan of node '{node}' is served only to the node itself or with the API token"
        ))))
    }
}

/// A node that fetched its own plan installs next: its image's tracker keeps it a place in the
/// stripe trees, so the install wave's trees are laid out once (see `Tracker::expect_node`).
fn expect_installer(tracker: &luna_dist::Tracker, image: Option<&ImageSource>, node: SocketAddr) {
    let Some(hash) = image.and_then(|i| i.info_hash.parse::<luna_dist::InfoHash>().ok()) else {
        return;
    };
    if !tracker.expect_node(&hash, node.ip()) {
        tracing::debug!(%hash, "plan names an image the tracker does not track yet");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_fetching_its_plan_is_expected_in_its_images_swarm() {
        let tracker = luna_dist::Tracker::new(luna_dist::TrackerSettings::default());
        let hash = luna_dist::InfoHash([5; 20]);
        tracker.add_torrent(hash, vec!["10.99.0.1:6881".parse().unwrap()]);
        let source = |info_hash: String| ImageSource {
            torrent_url: "http://10.99.0.1:7050/images/compute.torrent".into(),
            info_hash,
            seed_peers: Vec::new(),
        };
        let node: SocketAddr = "10.99.1.7:40000".parse().unwrap();
        expect_installer(&tracker, Some(&source(hash.to_hex())), node);
        // Fetching it again, or from another port, is the same node.
        expect_installer(
            &tracker,
            Some(&source(hash.to_hex())),
            "10.99.1.7:40001".parse().unwrap(),
        );
        assert_eq!(tracker.peer_counts(&hash).unwrap().starting, 1);
        // No image yet, an image the tracker does not know, a garbled hash: nothing expected.
        expect_installer(&tracker, None, "10.99.1.8:1".parse().unwrap());
        expect_installer(
            &tracker,
            Some(&source("ab".repeat(20))),
            "10.99.1.9:1".parse().unwrap(),
        );
        expect_installer(
            &tracker,
            Some(&source("xyz".into())),
            "10.99.1.9:1".parse().unwrap(),
        );
        assert_eq!(tracker.peer_counts(&hash).unwrap().starting, 1);
        // Joining the swarm (on the BitTorrent port) ends the wait.
        tracker
            .stripe_role(&hash, "10.99.1.7:6881".parse().unwrap())
            .unwrap();
        let counts = tracker.peer_counts(&hash).unwrap();
        assert_eq!((counts.starting, counts.downloading), (0, 1));
    }
}
