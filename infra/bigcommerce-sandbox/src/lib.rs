//! A BigCommerce sandbox that enforces the contract of `store-platforms-api.md` §1:
//! the app install flow (authorize → auth callback → token exchange), signed JWTs for
//! load and uninstall, catalog v3 with filters and pagination, the inventory API,
//! orders v2 with the real status table and shipments (stock moved by orders per the
//! store's inventory settings, with the order-driven inventory webhooks), webhooks v3
//! delivered at least once with their custom headers and a Standard Webhooks signature
//! (sometimes twice, sometimes late, retried on failure), per-store rate-limit headers
//! with 429s, and fault injection. Signatures and JWTs come from the sandbox's own
//! [`signing`], never from the connector's code.

mod admin;
mod api;
mod delivery;
mod refunds;
pub mod signing;
pub mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, Request, State as AxumState};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sandbox_kit::{Kit, RateLimit, Refusal, WindowKind};
use serde_json::json;

pub use state::State;

/// How the sandbox behaves.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The app's client id (JWT audience, token exchange).
    pub client_id: String,
    /// The app's client secret.
    pub client_secret: String,
    /// Store hashes to create.
    pub stores: Vec<String>,
    /// Products seeded per store (up to 100k).
    pub products: usize,
    /// The app's auth callback URL (install redirects there; exchange checks it).
    pub auth_callback_url: Option<String>,
    /// The app's load callback URL.
    pub load_callback_url: Option<String>,
    /// The app's uninstall callback URL.
    pub uninstall_callback_url: Option<String>,
    /// The app's remove-user callback URL (multi-user apps).
    pub remove_user_callback_url: Option<String>,
    /// Requests per window per store.
    pub quota: u32,
    /// Window length.
    pub window: Duration,
    /// Share of deliveries sent twice.
    pub duplicate_share: f64,
    /// Deliveries are delayed by up to this much (so they can arrive out of order).
    pub max_delivery_delay: Duration,
    /// BigCommerce's retry schedule (60 s … 24 h) is multiplied by this.
    pub webhook_time_scale: f64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            client_id: "sandbox-client-id".into(),
            client_secret: "sandbox-client-secret".into(),
            stores: vec!["sbx1store".into()],
            products: 60,
            auth_callback_url: None,
            load_callback_url: None,
            uninstall_callback_url: None,
            remove_user_callback_url: None,
            quota: 150,
            window: Duration::from_secs(30),
            duplicate_share: 0.0,
            max_delivery_delay: Duration::ZERO,
            webhook_time_scale: 1.0,
        }
    }
}

/// Faults injected into store API answers and webhooks (`POST /sandbox/faults`; `GET`
/// answers them with the count injected of each kind). BigCommerce's answers: 500 or
/// 503 with a v3 error, 429 with the `X-Rate-Limit-*` headers (none left, the window
/// turning within a second); `drop_share` and `timeout_share` let the request take
/// effect first. Webhook faults add to the configured `duplicate_share` and
/// `max_delivery_delay`.
pub use sandbox_kit::Faults;

/// A BigCommerce sandbox.
#[derive(Clone)]
pub struct Sandbox {
    /// Configuration.
    pub config: Arc<SandboxConfig>,
    /// The world.
    pub state: Arc<Mutex<State>>,
    kit: Kit,
    /// `http://ADDR` once serving (image URLs point here).
    base_url: Arc<Mutex<String>>,
}

/// The API account behind a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Store hash of the path.
    pub store_hash: String,
    /// The API account's client id.
    pub client_id: String,
}

impl Sandbox {
    /// A sandbox with the configured stores and catalogs.
    pub fn new(config: SandboxConfig) -> Self {
        let now = sandbox_kit::clock::unix_now();
        let mut state = State::default();
        for (index, hash) in config.stores.iter().enumerate() {
            state.stores.insert(
                hash.clone(),
                state::Store::seeded(1_025_646 + index as u64, hash, config.products, now),
            );
        }
        state.next_id = 10_000;
        state
            .account_secrets
            .insert(config.client_id.clone(), config.client_secret.clone());
        let limit = RateLimit {
            quota: config.quota,
            window: config.window,
            kind: WindowKind::Fixed,
        };
        let kit = Kit::new(limit, delivery::policy(&config));
        Self {
            config: Arc::new(config),
            state: Arc::new(Mutex::new(state)),
            kit,
            base_url: Arc::default(),
        }
    }

    /// The base URL the sandbox serves on (empty before [`Sandbox::serve`]).
    pub fn base_url(&self) -> String {
        self.base_url.lock().expect("base url lock").clone()
    }

    /// Locks the world.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("sandbox state lock")
    }

    /// Every route: the store API under `/stores/{hash}`, OAuth, and `/sandbox/` admin.
    pub fn router(&self) -> Router {
        Router::new()
            .nest(
                "/stores/{store_hash}",
                api::routes().layer(axum::middleware::from_fn_with_state(self.clone(), gate)),
            )
            .merge(api::oauth_routes())
            .merge(admin::routes())
            .merge(sandbox_kit::admin::routes())
            .with_state(self.clone())
    }

    /// Serves on `addr` in the background; returns the bound address.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let bound = sandbox_kit::serve(addr, self.router(), "BigCommerce").await?;
        *self.base_url.lock().expect("base url lock") = format!("http://{bound}");
        Ok(bound)
    }
}

impl FromRef<Sandbox> for Kit {
    fn from_ref(sandbox: &Sandbox) -> Kit {
        sandbox.kit.clone()
    }
}

/// A v3 error envelope.
pub(crate) fn v3_error(status: StatusCode, title: impl Into<String>, errors: serde_json::Value) -> Response {
    let body = json!({"status": status.as_u16(), "title": title.into(),
                      "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes", "errors": errors});
    (status, axum::Json(body)).into_response()
}

/// A v2 error envelope (an array).
pub(crate) fn v2_error(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        axum::Json(json!([{"status": status.as_u16(), "message": message.into()}])),
    )
        .into_response()
}

/// Faults, the store, the token and the rate-limit window; adds the
/// `X-Rate-Limit-*` headers to every answer.
async fn gate(AxumState(sandbox): AxumState<Sandbox>, request: Request, next: Next) -> Response {
    let limit = sandbox.kit.rates.limit();
    let refuse = |refusal| match refusal {
        Refusal::ServerError { server_unavailable } => {
            let status = if server_unavailable {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            v3_error(status, "The service is temporarily unavailable", json!({}))
        }
        Refusal::RateLimited { reset } => too_many_requests(limit, reset, 0),
    };
    sandbox.kit.faults.guard(refuse, admit(&sandbox, request, next)).await
}

/// The store, the token and the store's rate-limit window, then the route.
async fn admit(sandbox: &Sandbox, mut request: Request, next: Next) -> Response {
    // Inside the nested router the URI has lost its `/stores/{hash}` prefix.
    let path = request.extensions().get::<axum::extract::OriginalUri>().map_or_else(
        || request.uri().path().to_string(),
        |original| original.path().to_string(),
    );
    let store_hash = path
        .trim_start_matches("/stores/")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let token = request
        .headers()
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let client_id = {
        let state = sandbox.lock();
        if !state.stores.contains_key(&store_hash) {
            return v3_error(StatusCode::NOT_FOUND, "Store not found", json!({}));
        }
        match state.tokens.get(token) {
            Some((hash, client_id)) if *hash == store_hash => client_id.clone(),
            _ => {
                return v3_error(
                    StatusCode::UNAUTHORIZED,
                    "You are not authorized to access this resource.",
                    json!({}),
                );
            }
        }
    };
    let limit = sandbox.kit.rates.limit();
    let verdict = sandbox.kit.rates.take(&store_hash);
    if !verdict.admitted {
        return too_many_requests(limit, verdict.reset, 0);
    }
    request.extensions_mut().insert(Caller { store_hash, client_id });
    let mut response = next.run(request).await;
    add_rate_headers(&mut response, limit, verdict.reset, verdict.left);
    response
}

/// BigCommerce's 429: a v3 error with the window's headers.
fn too_many_requests(limit: RateLimit, reset: Duration, left: u32) -> Response {
    let mut response = v3_error(StatusCode::TOO_MANY_REQUESTS, "Too many requests", json!({}));
    add_rate_headers(&mut response, limit, reset, left);
    response
}

/// The `X-Rate-Limit-*` headers: window and reset in milliseconds, quota, requests left.
fn add_rate_headers(response: &mut Response, limit: RateLimit, reset: Duration, left: u32) {
    let headers = [
        ("x-rate-limit-time-window-ms", limit.window.as_millis().to_string()),
        ("x-rate-limit-time-reset-ms", reset.as_millis().max(1).to_string()),
        ("x-rate-limit-requests-quota", limit.quota.to_string()),
        ("x-rate-limit-requests-left", left.to_string()),
    ];
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
}
