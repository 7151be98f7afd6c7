//! The node's place in the swarm's stripe trees: asked of the tracker (`/stripes`) before the
//! download starts, then re-asked while it runs, since parents change as nodes join and leave.
//! librqbit reads the parents from the shared `PieceSources` (see LUNA-PATCHES.md).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use librqbit::{ManagedTorrent, PieceSources};
use luna_dist::InfoHash;
use luna_dist::tracker::StripeRole;

/// How often a downloading node asks for its parents again. Nodes of a cluster start within
/// seconds of each other, and every join moves leaves to other parents; a second keeps a node
/// on its current parents without loading the host (a small JSON reply per node per second).
pub const STRIPE_POLL: Duration = Duration::from_secs(1);

/// The `/stripes` URL beside a tracker's `/announce` URL.
pub fn stripes_url(announce_url: &str) -> Option<String> {
    let base = announce_url.split('?').next()?;
    base.strip_suffix("/announce")
        .map(|b| format!("{b}/stripes"))
}

/// Asks the tracker for this node's parents (`None`: the host seeder, any of the node's seed
/// peers). `Ok(None)`: the swarm has no stripes.
pub async fn fetch_parents(
    client: &reqwest::Client,
    url: &str,
    info_hash: InfoHash,
    port: u16,
) -> anyhow::Result<Option<Vec<Option<SocketAddr>>>> {
    let resp = client
        .get(url)
        .query(&[
            ("info_hash", info_hash.to_hex()),
            ("port", port.to_string()),
        ])
        .send()
        .await
        .with_context(|| format!("asking {url} for this node's stripe parents"))?;
    let status = resp.status();
    if !status.is_success() {
        let text = resp.text().await.unwrap_or_default();
        bail!("{url} answered {status}: {text}");
    }
    let role: StripeRole = resp
        .json()
        .await
        .with_context(|| format!("reading the stripe parents from {url}"))?;
    if role.stripes == 0 || role.parents.len() != role.stripes {
        return Ok(None);
    }
    Ok(Some(role.parents))
}

/// A node's membership in the stripe trees: the parents librqbit reads, and how to refresh them.
pub struct StripeMembership {
    client: reqwest::Client,
    url: String,
    info_hash: InfoHash,
    port: u16,
    pub sources: Arc<PieceSources>,
}

impl StripeMembership {
    /// Asks the tracker (`announce_url`'s host) for this node's parents; `None` when the swarm
    /// has no stripes or the tracker cannot say (an older host): the node then trades as a
    /// mesh, asking any peer for any piece.
    pub async fn join(announce_url: &str, info_hash: InfoHash, port: u16) -> Option<Self> {
        let url = stripes_url(announce_url)?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .ok()?;
        match fetch_parents(&client, &url, info_hash, port).await {
            Ok(Some(parents)) => {
                tracing::info!(?parents, "joining the swarm's stripe trees");
                let sources = PieceSources::default()
                    .with_parent_window(crate::download::STRIPE_PARENT_REQUEST_WINDOW);
                sources.set_parents(&parents);
                Some(StripeMembership {
                    client,
                    url,
                    info_hash,
                    port,
                    sources: Arc::new(sources),
                })
            }
            Ok(None) => None,
            Err(e) => {
                tracing::info!(error = %format!("{e:#}"), "no stripe trees; trading with any peer");
                None
            }
        }
    }

    /// Keeps the parents current until the download completes, and connects to a new parent
    /// at once instead of at the next announce.
    pub async fn follow(self, torrent: Arc<ManagedTorrent>) {
        loop {
            tokio::time::sleep(STRIPE_POLL).await;
            if torrent.stats().finished {
                return;
            }
            match fetch_parents(&self.client, &self.url, self.info_hash, self.port).await {
                Ok(Some(parents)) => {
                    let old = self.sources.parents();
                    self.sources.set_parents(&parents);
                    if let Some(live) = torrent.live() {
                        for p in parents
                            .iter()
                            .flatten()
                            .filter(|p| !old.contains(&Some(**p)))
                        {
                            let _ = live.add_peer_if_not_seen(*p);
                        }
                    }
                }
                // The host dropped stripes (or restarted without them): anyone serves all.
                Ok(None) => self.sources.set_parents(&[]),
                // Keep the parents we have; the fallback covers one that is gone.
                Err(e) => {
                    tracing::debug!(error = %format!("{e:#}"), "stripe parents not refreshed")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripes_url_sits_beside_announce() {
        assert_eq!(
            stripes_url("http://10.141.255.254:7050/announce").as_deref(),
            Some("http://10.141.255.254:7050/stripes")
        );
        assert_eq!(
            stripes_url("http://h:1/announce?key=x").as_deref(),
            Some("http://h:1/stripes")
        );
        assert_eq!(stripes_url("http://h:1/tracker"), None);
    }
}
