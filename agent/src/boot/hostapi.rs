//! The agent's calls to the Luna host: the install plan, step reports, the inventory.
//! Connection errors and 5xx answers are transient (retried with backoff); 4xx answers are not.

use super::backoff::{Backoff, Failure};
use anyhow::anyhow;
use luna_proto::plan::NodePlan;
use luna_proto::status::{Inventory, StepReport};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

#[derive(Clone)]
pub struct HostApi {
    client: reqwest::Client,
    /// Base URL, e.g. `http://10.141.255.254:7050`.
    pub url: String,
    token: Option<String>,
    pub backoff: Backoff,
    /// Backoff for status reports: shorter, since a lost report must not hold up the install.
    pub report_backoff: Backoff,
}

impl HostApi {
    pub fn new(url: &str, token: Option<String>, backoff: Backoff) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        HostApi {
            client,
            url: url.trim_end_matches('/').to_string(),
            token,
            report_backoff: Backoff {
                first: backoff.first,
                max: backoff.max.min(Duration::from_secs(5)),
                give_up_after: backoff.give_up_after.min(Duration::from_secs(30)),
            },
            backoff,
        }
    }

    fn node_url(&self, node: &str, what: &str) -> String {
        format!("{}/api/v1/nodes/{node}/{what}", self.url)
    }

    pub fn progress_url(&self, node: &str) -> String {
        self.node_url(node, "progress")
    }

    /// The install plan of the node with this name or boot MAC.
    pub async fn plan(&self, key: &str) -> anyhow::Result<NodePlan> {
        let url = self.node_url(key, "plan");
        self.backoff
            .retry(&format!("fetching the install plan from {url}"), || {
                self.call::<(), NodePlan>(reqwest::Method::GET, &url, None)
            })
            .await
    }

    /// Sends one step report; a report the host does not take after the retries is logged
    /// and dropped (the install goes on).
    pub async fn report(&self, node: &str, report: &StepReport) {
        let url = self.node_url(node, "status");
        let result = self
            .report_backoff
            .retry(
                &format!("reporting {} {}", report.step, report.state.as_str()),
                || self.call::<_, serde_json::Value>(reqwest::Method::POST, &url, Some(report)),
            )
            .await;
        if let Err(e) = result {
            eprintln!("luna-agent: status report not delivered: {e:#}");
        }
    }

    pub async fn post_inventory(&self, node: &str, inv: &Inventory) -> anyhow::Result<()> {
        let url = self.node_url(node, "inventory");
        self.backoff
            .retry("posting the inventory", || {
                self.call::<_, serde_json::Value>(reqwest::Method::POST, &url, Some(inv))
            })
            .await
            .map(|_| ())
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&B>,
    ) -> Result<T, Failure> {
        let mut req = self.client.request(method, url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| Failure::Transient(anyhow!("{url}: {e}")))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| Failure::Transient(anyhow!("{url}: reading the answer: {e}")))?;
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|e| {
                Failure::Permanent(anyhow!("{url}: the answer does not decode: {e}"))
            });
        }
        // The host's errors are `{"error": {"message": …}}`; show the message, not the JSON.
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
            .unwrap_or(text);
        let e = anyhow!("{url}: {status}: {message}");
        Err(if status.is_server_error() || status.as_u16() == 429 {
            Failure::Transient(e)
        } else {
            Failure::Permanent(e)
        })
    }
}
