//! A TikTok Shop Open API sandbox that enforces the contract of
//! `reference/tiktok-shop-api.md`: signatures (`106001`), timestamps, access tokens
//! (`105002`), `shop_cipher` rules, 50 QPS per (shop, endpoint) with 429 + `36009002`,
//! the daily listing limit (`12052093`), the product review lifecycle, fault
//! injection, and webhooks signed as TikTok signs them with its retry schedule.
//! The admin API under `/sandbox/` lets tests place orders and look inside.

mod admin;
mod after_sales;
mod api;
mod auth;
mod delivery;
mod orders;
pub mod signing;
pub mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::FromRef;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sandbox_kit::{Kit, RateLimit, WindowKind};
use serde_json::{Value, json};

pub use state::State;

/// How the sandbox behaves.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The app key clients must send.
    pub app_key: String,
    /// The app secret requests are signed with.
    pub app_secret: String,
    /// Requests per second allowed per (shop, endpoint).
    pub qps_limit: usize,
    /// Products a shop may create per day.
    pub daily_listing_limit: u32,
    /// How long a product stays PENDING in review.
    pub review_delay: Duration,
    /// Share of reviews that fail (0.0 to 1.0).
    pub rejection_share: f64,
    /// Access token lifetime in seconds (TikTok: 7 days).
    pub access_token_ttl: i64,
    /// The app's service id (authorization links).
    pub service_id: String,
    /// The app's redirect URL (where the seller's consent page sends the code).
    pub redirect_url: Option<String>,
    /// Webhook URL for shops without an Event API subscription.
    pub default_webhook_url: Option<String>,
    /// TikTok's retry schedule (2 min, 30 min, 3 h, 12 h) is multiplied by this.
    pub webhook_time_scale: f64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            app_key: "sandbox-app-key".into(),
            app_secret: "sandbox-app-secret".into(),
            qps_limit: 50,
            daily_listing_limit: 1000,
            review_delay: Duration::from_secs(2),
            rejection_share: 0.0,
            access_token_ttl: 7 * 24 * 3600,
            service_id: "sandbox-service-id".into(),
            redirect_url: None,
            default_webhook_url: None,
            webhook_time_scale: 1.0,
        }
    }
}

/// Faults injected into Open API answers and webhooks (`POST /sandbox/faults`; `GET`
/// answers them with the count injected of each kind). TikTok's answers: 500 with
/// `36009003` or a bare 503, 429 with `36009002` (its rate-limit envelope); `drop_share`
/// and `timeout_share` let the request take effect first.
pub use sandbox_kit::Faults;

/// A running or embeddable sandbox.
#[derive(Clone)]
pub struct Sandbox {
    /// Its configuration.
    pub config: Arc<SandboxConfig>,
    /// Its world.
    pub state: Arc<Mutex<State>>,
    kit: Kit,
}

impl Sandbox {
    /// A sandbox with the seeded shops.
    pub fn new(config: SandboxConfig) -> Self {
        let limit = RateLimit {
            quota: u32::try_from(config.qps_limit).unwrap_or(u32::MAX),
            window: Duration::from_secs(1),
            kind: WindowKind::Sliding,
        };
        let kit = Kit::new(limit, delivery::policy(&config));
        Self {
            config: Arc::new(config),
            state: Arc::new(Mutex::new(State::seeded())),
            kit,
        }
    }

    /// Locks the world.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("sandbox state lock")
    }

    /// The whole HTTP surface: Open API, token endpoints and `/sandbox/` admin.
    pub fn router(&self) -> Router {
        Router::new()
            .merge(api::routes().layer(axum::middleware::from_fn_with_state(self.clone(), auth::authenticate)))
            .merge(api::token_routes())
            .merge(admin::routes())
            .merge(sandbox_kit::admin::routes())
            .with_state(self.clone())
    }

    /// Serves on `addr` (port 0 picks one) in the background; returns the bound address.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        sandbox_kit::serve(addr, self.router(), "TikTok").await
    }
}

impl FromRef<Sandbox> for Kit {
    fn from_ref(sandbox: &Sandbox) -> Kit {
        sandbox.kit.clone()
    }
}

fn request_id() -> String {
    format!("{:032X}", rand::random::<u128>())
}

/// A success envelope.
pub(crate) fn ok(data: Value) -> Response {
    axum::Json(json!({"code": 0, "message": "Success", "request_id": request_id(), "data": data})).into_response()
}

/// A failure envelope with an HTTP status.
pub(crate) fn fail(status: StatusCode, code: i64, message: impl Into<String>) -> Response {
    let body = json!({"code": code, "message": message.into(), "request_id": request_id(), "data": null});
    (status, axum::Json(body)).into_response()
}

/// A business error (HTTP 200, `code != 0`), as TikTok answers most of them.
pub(crate) fn business_error(code: i64, message: impl Into<String>) -> Response {
    fail(StatusCode::OK, code, message)
}

/// Current Unix time.
pub(crate) fn now() -> i64 {
    sandbox_kit::clock::unix_now()
}
