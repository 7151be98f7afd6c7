//! The CLI's HTTP client for the daemon's API, with the daemon's errors mapped to exit codes.

use crate::model::{ErrorKind, LunaError};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::Value;
use std::path::Path;

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// Why a CLI command failed, with the exit code scripts see.
#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub message: String,
}

impl CliError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Exit codes (documented in the README): 2 usage, 3 invalid input, 4 not found, 5 conflict,
/// 6 missing or wrong token, 7 daemon unreachable or internal error, 8 a many-node action (power)
/// failed on some nodes (the others succeeded; the table says which and why).
pub fn exit_code(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::Invalid => 3,
        ErrorKind::NotFound => 4,
        ErrorKind::Conflict => 5,
        ErrorKind::Unauthorized => 6,
        ErrorKind::Internal => 7,
    }
}

impl From<LunaError> for CliError {
    fn from(e: LunaError) -> Self {
        Self::new(exit_code(e.kind), e.message)
    }
}

impl Client {
    pub fn new(url: &str, token: Option<String>, data_dir: &Path) -> Self {
        let token = token.or_else(|| {
            std::fs::read_to_string(crate::serve::token_path(data_dir))
                .ok()
                .map(|t| t.trim().to_string())
        });
        Self {
            http: reqwest::Client::new(),
            base: url.trim_end_matches('/').to_string(),
            token,
        }
    }

    pub async fn get(&self, path: &str) -> Result<Value, CliError> {
        self.send(Method::GET, path, None::<&()>).await
    }
    pub async fn post(&self, path: &str, body: &impl Serialize) -> Result<Value, CliError> {
        self.send(Method::POST, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: &impl Serialize) -> Result<Value, CliError> {
        self.send(Method::PATCH, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: &impl Serialize) -> Result<Value, CliError> {
        self.send(Method::PUT, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Result<Value, CliError> {
        self.send(Method::DELETE, path, None::<&()>).await
    }

    /// POSTs raw bytes (plugin uploads).
    pub async fn post_bytes(&self, path: &str, bytes: Vec<u8>) -> Result<Value, CliError> {
        let url = format!("{}/api/v1{path}", self.base);
        let mut req = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        self.answer(Method::POST, url, req).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<Value, CliError> {
        let url = format!("{}/api/v1{path}", self.base);
        let mut req = self.http.request(method.clone(), &url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        self.answer(method, url, req).await
    }

    /// Sends a built request and maps the daemon's answer to a value or an exit code.
    async fn answer(
        &self,
        method: Method,
        url: String,
        req: reqwest::RequestBuilder,
    ) -> Result<Value, CliError> {
        let resp = req.send().await.map_err(|e| {
            CliError::new(
                7,
                format!(
                    "cannot reach the Luna daemon at {} ({}); start it with 'luna serve' or point --url/LUNA_URL at it",
                    self.base,
                    root_cause(&e)
                ),
            )
        })?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| CliError::new(7, format!("reading the daemon's answer failed: {e}")))?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            return Ok(value);
        }
        match serde_json::from_value::<LunaError>(value["error"].clone()) {
            Ok(e) => Err(e.into()),
            Err(_) => Err(CliError::new(
                if status == StatusCode::NOT_FOUND {
                    4
                } else {
                    7
                },
                format!("the daemon answered {status} to {method} {url}"),
            )),
        }
    }
}

fn root_cause(e: &dyn std::error::Error) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
