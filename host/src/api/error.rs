//! Maps service errors to HTTP answers: `{"error": {"kind": ..., "message": ...}}`.

use crate::model::{ErrorKind, LunaError};
use axum::Json;
use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub struct ApiError(pub LunaError);

impl From<LunaError> for ApiError {
    fn from(e: LunaError) -> Self {
        Self(e)
    }
}

pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.0.kind == ErrorKind::Internal {
            tracing::error!(error = %self.0.message, "request failed");
        }
        (status_of(self.0.kind), Json(json!({ "error": self.0 }))).into_response()
    }
}

/// `Json` whose rejections (bad JSON, unknown fields, wrong types) use our error format.
pub struct Body<T>(pub T);

impl<T, S> FromRequest<S> for Body<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(rejection) => Err(ApiError(LunaError::invalid(format!(
                "request body rejected: {}; see /api/v1/openapi.json for the accepted fields",
                rejection.body_text()
            )))),
        }
    }
}
