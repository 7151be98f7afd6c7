//! The node's place in the swarm's stripe trees: asked of the tracker (`/stripes`) before the
//! download starts, then re-asked while it runs, since parents change as nodes join and leave.
//! librqbit reads the parents from the shared `PieceSources` (see LUNA-PATCHES.md).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use librqbit::{ManagedTorrent, PieceSources};
use luna_dist::InfoHash;
use luna_dist::tracker::StripeRole;

/// How long the tracker may hold a `/stripes` long poll before answering with the unchanged
/// role. The node learns of a new parent the moment the swarm changes either way; the wait
/// only bounds how long a dead host goes unnoticed.
pub const STRIPE_WAIT: Duration = Duration::from_secs(30);

/// The pause before asking again after a failed (or unexpectedly quick, unchanged) answer, so
/// that a host that cannot long-poll is asked once a second rather than in a loop.
pub const STRIPE_RETRY: Duration = Duration::from_secs(1);

/// How often the follower checks whether the download finished, to stop asking.
const FINISHED_CHECK: Duration = Duration::from_millis(500);

/// The `/stripes` URL beside a tracker's `/announce` URL.
pub fn stripes_url(announce_url: &str) -> Option<String> {
    let base = announce_url.split('?').next()?;
    base.strip_suffix("/announce")
        .map(|b| format!("{b}/stripes"))
}

/// Asks the tracker for this node's parents (`None`: the host seeder, any of the node's seed
/// peers). With `known` (the digest of the role the node has), the tracker answers when the
/// role changes or after `STRIPE_WAIT`. `Ok(None)`: the swarm has no stripes.
pub async fn fetch_role(
    client: &reqwest::Client,
    url: &str,
    info_hash: InfoHash,
    port: u16,
    known: Option<&str>,
) -> anyhow::Result<Option<StripeRole>> {
    let mut query = vec![
        ("info_hash", info_hash.to_hex()),
        ("port", port.to_string()),
    ];
    let mut request = client.get(url);
    if let Some(known) = known {
        query.push(("known", known.to_string()));
        query.push(("wait", STRIPE_WAIT.as_secs().to_string()));
        request = request.timeout(STRIPE_WAIT + Duration::from_secs(10));
    }
    let resp = request
        .query(&query)
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
    Ok(Some(role))
}

/// A node's membership in the stripe trees: the parents librqbit reads, and how to refresh them.
pub struct StripeMembership {
    client: reqwest::Client,
    url: String,
    info_hash: InfoHash,
    port: u16,
    /// The role the node has, as the tracker fingerprints it.
    known: String,
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
        match fetch_role(&client, &url, info_hash, port, None).await {
            Ok(Some(role)) => {
                tracing::info!(parents = ?role.parents, "joining the swarm's stripe trees");
                let sources = PieceSources::default()
                    .with_parent_window(crate::download::STRIPE_PARENT_REQUEST_WINDOW);
                sources.set_parents(&role.parents);
                Some(StripeMembership {
                    client,
                    url,
                    info_hash,
                    port,
                    known: role.digest(),
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
    pub async fn follow(mut self, torrent: Arc<ManagedTorrent>) {
        let finished = async {
            while !torrent.stats().finished {
                tokio::time::sleep(FINISHED_CHECK).await;
            }
        };
        tokio::select! {
            _ = finished => {}
            _ = self.track_changes(&torrent) => {}
        }
    }

    async fn track_changes(&mut self, torrent: &ManagedTorrent) {
        loop {
            let asked = std::time::Instant::now();
            let answer = fetch_role(
                &self.client,
                &self.url,
                self.info_hash,
                self.port,
                Some(&self.known),
            )
            .await;
            match answer {
                Ok(Some(role)) => {
                    let digest = role.digest();
                    if digest == self.known {
                        // Unchanged: the wait ran out, or the host answers at once (an older
                        // host, which cannot long-poll).
                        if asked.elapsed() < STRIPE_RETRY {
                            tokio::time::sleep(STRIPE_RETRY).await;
                        }
                        continue;
                    }
                    self.known = digest;
                    let old = self.sources.parents();
                    self.sources.set_parents(&role.parents);
                    if let Some(live) = torrent.live() {
                        for p in role
                            .parents
                            .iter()
                            .flatten()
                            .filter(|p| !old.contains(&Some(**p)))
                        {
                            let _ = live.add_peer_if_not_seen(*p);
                        }
                    }
                }
                // The host dropped stripes (or restarted without them): anyone serves all.
                Ok(None) => {
                    self.sources.set_parents(&[]);
                    // Wait for stripes to come back like for any other change.
                    let mesh = StripeRole::mesh().digest();
                    let unchanged = self.known == mesh;
                    self.known = mesh;
                    if unchanged && asked.elapsed() < STRIPE_RETRY {
                        tokio::time::sleep(STRIPE_RETRY).await;
                    }
                }
                // Keep the parents we have; the fallback covers one that is gone.
                Err(e) => {
                    tracing::debug!(error = %format!("{e:#}"), "stripe parents not refreshed");
                    tokio::time::sleep(STRIPE_RETRY).await;
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
