//! Progress reports to the host: JSON `DownloadProgress` POSTed to the plan's report URL.
//! A failed report is logged and dropped: the install must not stop because the host is busy.

use std::time::Duration;

use luna_proto::dist::DownloadProgress;

#[derive(Clone)]
pub struct Reporter {
    client: reqwest::Client,
    url: Option<String>,
}

impl Reporter {
    pub fn new(url: Option<String>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Reporter { client, url }
    }

    pub async fn send(&self, progress: &DownloadProgress) {
        let Some(url) = &self.url else { return };
        let result = self
            .client
            .post(url)
            .json(progress)
            .send()
            .await
            .and_then(|r| r.error_for_status());
        if let Err(e) = result {
            tracing::warn!(url, error = %e, "progress report not delivered");
        }
    }
}
