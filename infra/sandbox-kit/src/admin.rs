//! The admin routes every sandbox has under `/sandbox/`, and the admin API's error
//! answers (`{"error": "…"}`). Not part of any platform's API; unsigned.

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::{Faults, Kit};

/// `GET /sandbox/faults`: the faults in force and the count injected of each kind
/// ([`crate::faults::Report`]); `POST /sandbox/faults` with a [`Faults`] body puts them in
/// force and answers the same report, or 400 `{"error"}` when a share is out of range.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Kit: FromRef<S>,
{
    Router::new().route("/sandbox/faults", get(get_faults).post(set_faults))
}

/// 400 with `{"error": message}`.
pub fn bad_request(message: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": message.into()}))).into_response()
}

/// 404 with `{"error": "{what} not found"}`.
pub fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": format!("{what} not found")})),
    )
        .into_response()
}

async fn get_faults(State(kit): State<Kit>) -> Response {
    Json(kit.faults.report()).into_response()
}

async fn set_faults(State(kit): State<Kit>, Json(faults): Json<Faults>) -> Response {
    match kit.faults.set(faults) {
        Ok(()) => Json(kit.faults.report()).into_response(),
        Err(message) => bad_request(message),
    }
}
