//! HTTP surface: the routes of the three HTTP functions (`oauth-callback`,
//! `webhook-ingest`, `settings-api`) as axum routers, served by `lambda_http` in
//! Lambda and by the local runner on localhost. Every request runs in a span with a
//! request id; only the path is logged, never the query (it can carry OAuth codes).

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tracing::Instrument as _;

use crate::app::App;

/// Answer of a route whose issue has not landed yet.
fn not_yet(feature: &'static str) -> Response {
    let body = serde_json::json!({ "error": format!("{feature} is not implemented yet") });
    (StatusCode::NOT_IMPLEMENTED, axum::Json(body)).into_response()
}

/// BigCommerce app callbacks and the TikTok authorization flow.
pub fn oauth_routes() -> Router<Arc<App>> {
    Router::new()
        .route("/bigcommerce/auth", get(|| async { not_yet("BigCommerce install") }))
        .route("/bigcommerce/load", get(|| async { not_yet("BigCommerce load") }))
        .route(
            "/bigcommerce/uninstall",
            get(|| async { not_yet("BigCommerce uninstall") }),
        )
        .route(
            "/bigcommerce/remove_user",
            get(|| async { not_yet("BigCommerce remove user") }),
        )
        .route("/tiktok/connect", get(|| async { not_yet("TikTok shop connection") }))
        .route(
            "/tiktok/callback",
            get(|| async { not_yet("TikTok authorization callback") }),
        )
}

/// TikTok and store webhook intake.
pub fn webhook_routes() -> Router<Arc<App>> {
    Router::new()
        .route("/webhooks/tiktok", post(|| async { not_yet("TikTok webhook intake") }))
        .route(
            "/webhooks/bigcommerce",
            post(|| async { not_yet("BigCommerce webhook intake") }),
        )
}

/// The hosted settings page and its JSON API.
pub fn settings_routes() -> Router<Arc<App>> {
    Router::new().route("/settings", get(|| async { not_yet("The settings page") }))
}

/// Every route, as the local runner serves them.
pub fn all_routes() -> Router<Arc<App>> {
    oauth_routes().merge(webhook_routes()).merge(settings_routes())
}

/// Binds `routes` to the app and adds the health check and request-id spans.
pub fn serve(app: Arc<App>, routes: Router<Arc<App>>) -> Router {
    routes
        .route("/health", get(|| async { "ok" }))
        .layer(middleware::from_fn(with_request_id))
        .with_state(app)
}

async fn with_request_id(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 128)
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!("request", %request_id, method = %request.method(), path = %request.uri().path());
    let mut response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| tracing::info!(status = response.status().as_u16(), "request done"));
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}
