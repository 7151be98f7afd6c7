//! The one error type the service layer returns. Every error names the object and, where there is
//! one, the fix; the API maps the kind to an HTTP status and the CLI to an exit code.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Malformed or semantically invalid input.
    Invalid,
    /// The named object does not exist.
    NotFound,
    /// The change clashes with existing state (duplicate, in use, address taken, ...).
    Conflict,
    /// No or wrong token for a write.
    Unauthorized,
    /// Storage or another internal failure.
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LunaError {
    pub kind: ErrorKind,
    pub message: String,
}

pub type Result<T, E = LunaError> = std::result::Result<T, E>;

impl LunaError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Invalid,
            message: message.into(),
        }
    }
    pub fn not_found(what: &str, name: &str) -> Self {
        Self {
            kind: ErrorKind::NotFound,
            message: format!("{what} '{name}' does not exist (see 'luna {what} list')"),
        }
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Conflict,
            message: message.into(),
        }
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Unauthorized,
            message: message.into(),
        }
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Internal,
            message: message.into(),
        }
    }
    pub fn already_exists(what: &str, name: &str) -> Self {
        Self::conflict(format!(
            "{what} '{name}' already exists; pick another name or change the existing one with 'luna {what} change {name}'"
        ))
    }
}

impl fmt::Display for LunaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LunaError {}

impl From<surrealdb::Error> for LunaError {
    fn from(e: surrealdb::Error) -> Self {
        LunaError::internal(format!("store: {e}"))
    }
}

impl From<serde_json::Error> for LunaError {
    fn from(e: serde_json::Error) -> Self {
        LunaError::internal(format!("store record does not decode: {e}"))
    }
}
