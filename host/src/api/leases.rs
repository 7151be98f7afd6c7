//! `GET /api/v1/cluster/leases`: the DHCP server's dynamic leases.

use super::error::ApiError;
use crate::boot::unix_now;
use crate::service::{LeaseView, Luna};
use axum::Json;
use axum::extract::State;

pub async fn lease_list(State(l): State<Luna>) -> Result<Json<Vec<LeaseView>>, ApiError> {
    Ok(Json(l.lease_views(unix_now()).await?))
}
