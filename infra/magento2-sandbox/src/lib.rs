//! A Magento 2 sandbox that enforces the contract of `store-platforms-api.md` §4: the
//! REST API under `/rest/{store_code}/V1/` (store codes `default` and `all`), OAuth
//! 1.0a integration signatures (HMAC-SHA256 or HMAC-SHA1, nonces, timestamps) with the
//! per-route ACL resources (401 when missing, as real Magento answers), `searchCriteria`
//! with Magento's paging quirk, a seeded catalogue with configurable products, MSI
//! sources, salable quantities and reservations, the quote flow, orders, invoices,
//! shipments, tracks and credit memos, Magento's `{"message","parameters"}` error
//! envelope (placeholders unfilled), and fault injection from `sandbox-kit`. The
//! signatures come from the sandbox's own [`oauth`], never from the connector's code.

#![recursion_limit = "256"]
#![warn(missing_docs)]

mod admin;
mod api;
pub mod oauth;
pub mod search;
pub mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, Request, State as AxumState};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sandbox_kit::{DeliveryPolicy, Kit, RateLimit, Refusal, WindowKind};
use serde_json::{Value, json};

pub use sandbox_kit::Faults;
pub use state::{Integration, State};

/// Every ACL resource a route of the sandbox requires (the default integration has
/// them all).
pub const ALL_RESOURCES: [&str; 17] = [
    "Magento_Backend::store",
    "Magento_Catalog::products",
    "Magento_Catalog::attributes_attributes",
    "Magento_Catalog::categories",
    "Magento_InventoryApi::source",
    "Magento_InventorySalesApi::stock",
    "Magento_CatalogInventory::cataloginventory",
    "Magento_Cart::manage",
    "Magento_Sales::actions_view",
    "Magento_Sales::actions_edit",
    "Magento_Sales::comment",
    "Magento_Sales::cancel",
    "Magento_Sales::hold",
    "Magento_Sales::invoice",
    "Magento_Sales::ship",
    "Magento_Sales::shipment",
    "Magento_Sales::creditmemo",
];

/// How far (seconds) an `oauth_timestamp` may be from the sandbox clock.
pub const TIMESTAMP_WINDOW: i64 = 600;

/// How the sandbox behaves.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Visible products seeded (every 5th configurable with 3 children; up to 10,000
    /// quickly). Default 60.
    pub products: usize,
    /// The integrations (default: [`SandboxConfig::default_integration`]).
    pub integrations: Vec<Integration>,
    /// Accept `Authorization: Bearer <access_token>` (Magento's
    /// `oauth/consumer/enable_integration_as_bearer`). Default false.
    pub bearer_enabled: bool,
    /// Multi-source inventory installed (default true): sources `default` and
    /// `warehouse_2`, reservations and the `inventory/…` routes. Without, a store on the
    /// legacy single-source stock: one stock item per product (`GET /V1/stockItems/{sku}`,
    /// `PUT /V1/products/{sku}/stockItems/{itemId}`) whose qty an order takes at once.
    pub msi: bool,
}

impl SandboxConfig {
    /// The default integration: consumer key `sandbox-consumer-key`, consumer secret
    /// `sandbox-consumer-secret`, access token `sandbox-access-token`, token secret
    /// `sandbox-access-token-secret`, every resource of [`ALL_RESOURCES`].
    pub fn default_integration() -> Integration {
        Integration {
            consumer_key: "sandbox-consumer-key".into(),
            consumer_secret: "sandbox-consumer-secret".into(),
            access_token: "sandbox-access-token".into(),
            access_token_secret: "sandbox-access-token-secret".into(),
            resources: ALL_RESOURCES.iter().map(|r| r.to_string()).collect(),
            revoked: false,
        }
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            products: 60,
            integrations: vec![Self::default_integration()],
            bearer_enabled: false,
            msi: true,
        }
    }
}

/// A Magento error answer: `{"message": "... %1 ...", "parameters": [..] | {..}}` with the
/// placeholders left for the client to fill.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status}: {body}")]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The envelope.
    pub body: Value,
}

impl ApiError {
    /// `{"message": message}`.
    pub fn new(status: StatusCode, message: &str) -> Self {
        Self {
            status,
            body: json!({"message": message}),
        }
    }

    /// `{"message": message, "parameters": parameters}`.
    pub fn with(status: StatusCode, message: &str, parameters: Value) -> Self {
        Self {
            status,
            body: json!({"message": message, "parameters": parameters}),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

/// A Magento 2 sandbox.
#[derive(Clone)]
pub struct Sandbox {
    /// Configuration.
    pub config: Arc<SandboxConfig>,
    /// The world.
    pub state: Arc<Mutex<State>>,
    kit: Kit,
    /// `http://ADDR` once serving.
    base_url: Arc<Mutex<String>>,
}

/// The integration behind an API request, as the gate established it.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Consumer id (the integration's index + 1).
    pub consumer_id: usize,
    /// Consumer key.
    pub consumer_key: String,
}

impl Sandbox {
    /// A sandbox with the configured catalogue and integrations.
    pub fn new(config: SandboxConfig) -> Self {
        let state = State::seeded(config.products, config.integrations.clone(), config.msi);
        let limit = RateLimit {
            quota: u32::MAX,
            window: Duration::from_secs(1),
            kind: WindowKind::Fixed,
        };
        Self {
            config: Arc::new(config),
            state: Arc::new(Mutex::new(state)),
            kit: Kit::new(limit, DeliveryPolicy::once()),
            base_url: Arc::default(),
        }
    }

    /// The base URL the sandbox serves on, `http://ADDR` (empty before
    /// [`Sandbox::serve`]).
    pub fn base_url(&self) -> String {
        self.base_url.lock().expect("base url lock").clone()
    }

    /// Locks the world.
    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("sandbox state lock")
    }

    /// Every route: the REST API under `/rest/{store_code}/V1`, product media under
    /// `/media/catalog/product/`, and the `/sandbox/` admin routes (faults included).
    pub fn router(&self) -> Router {
        let api = api::routes(self.config.msi)
            .route_layer(axum::middleware::from_fn_with_state(self.clone(), gate))
            .fallback(api::no_route);
        Router::new()
            .nest("/rest/{store_code}/V1", api)
            .merge(admin::routes())
            .merge(sandbox_kit::admin::routes())
            .with_state(self.clone())
    }

    /// Serves on `addr` (port 0 picks one) in the background; returns the bound address.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let bound = sandbox_kit::serve(addr, self.router(), "Magento 2").await?;
        *self.base_url.lock().expect("base url lock") = format!("http://{bound}");
        Ok(bound)
    }
}

impl FromRef<Sandbox> for Kit {
    fn from_ref(sandbox: &Sandbox) -> Kit {
        sandbox.kit.clone()
    }
}

/// Faults first (a 500/503 Magento envelope, or the CDN's 429 with `Retry-After`), then
/// the store code, the OAuth signature and the route's ACL resource.
async fn gate(AxumState(sandbox): AxumState<Sandbox>, request: Request, next: Next) -> Response {
    let refuse = |refusal| match refusal {
        Refusal::ServerError {
            server_unavailable: true,
        } => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response(),
        Refusal::ServerError { .. } => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Error. Details are available in Magento log file. Report ID: webapi-sandbox",
        )
        .into_response(),
        Refusal::RateLimited { reset } => {
            let mut response = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "Too many requests").into_response();
            let seconds = reset.as_secs_f64().ceil().max(1.0) as u64;
            response.headers_mut().insert("retry-after", HeaderValue::from(seconds));
            response
        }
    };
    sandbox
        .kit
        .faults
        .guard(refuse, admit(sandbox.clone(), request, next))
        .await
}

async fn admit(sandbox: Sandbox, request: Request, next: Next) -> Response {
    match api::authenticate(&sandbox, request).await {
        Ok(request) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    }
}
