//! A PrestaShop sandbox that enforces the contract of `store-platforms-api.md` §5 with
//! its own code: the Webservice under `/api/{resource}[/{id}]` with 32-character keys
//! (HTTP Basic username or `?ws_key=`) and per-resource method permissions, XML output
//! by default and JSON on request (with PrestaShop's quirks: ids as numbers, everything
//! else strings, `[]` for an empty list, multilingual arrays without `language`), XML-only
//! input, `display` / `filter` / `sort` / `limit` / `date=1`, `Content-Sha1` and
//! `Local-Content-Sha1`, `?schema=blank|synopsis`, `ObjectModel` validation messages,
//! the cart → `Order::addWs` → `PaymentModule::validateOrder` flow, order histories,
//! order carriers and `StockAvailable` rows; PrestaShop's error envelope with its codes
//! (taken from `classes/webservice/WebserviceRequest.php`), and fault injection from
//! `sandbox-kit`.

#![warn(missing_docs)]

mod admin;
mod api;
pub mod filter;
mod render;
pub mod schema;
pub mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, Request, State as AxumState};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sandbox_kit::{DeliveryPolicy, Kit, RateLimit, Refusal, WindowKind};

pub use render::Format;
pub use sandbox_kit::Faults;
pub use schema::RESOURCES;
pub use state::{Key, State};

/// The default key: every method the real resource allows on every resource.
pub const DEFAULT_KEY: &str = "SANDBOXKEYSANDBOXKEYSANDBOXKEY12";

/// The `WWW-Authenticate` header of every authentication refusal.
pub const REALM: &str = "Basic realm=\"Welcome to PrestaShop Webservice, please enter the authentication key as the login. No password required.\"";

/// The PrestaShop version the sandbox answers as (`PSWS-Version`).
pub const PS_VERSION: &str = "8.1.7";

/// How the sandbox behaves.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Products seeded (every 5th with three combinations). Default 60.
    pub products: usize,
    /// The webservice keys (default: [`SandboxConfig::default_key`]).
    pub keys: Vec<Key>,
    /// A second shop (id 2) with its own stock rows; orders are scoped by `id_shop`.
    /// Default false.
    pub multishop: bool,
    /// Added to every order state id (installs differ; the connector must read them).
    /// Default 0.
    pub state_id_offset: u32,
}

impl SandboxConfig {
    /// [`DEFAULT_KEY`] with every method each resource allows (`stock_availables`: no
    /// POST or DELETE).
    pub fn default_key() -> Key {
        Key {
            key: DEFAULT_KEY.into(),
            permissions: RESOURCES
                .iter()
                .map(|r| {
                    let methods: BTreeSet<String> = schema::allowed_methods(r).into_iter().map(String::from).collect();
                    (r.to_string(), methods)
                })
                .collect::<BTreeMap<_, _>>(),
            active: true,
        }
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            products: 60,
            keys: vec![Self::default_key()],
            multishop: false,
            state_id_offset: 0,
        }
    }
}

/// A Webservice error answer: an HTTP status and PrestaShop's `(code, message)` list,
/// rendered as `<prestashop><errors><error><code>…` or `{"errors":[{"code":N,"message":…}]}`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status}: {errors:?}")]
pub struct WsError {
    /// HTTP status.
    pub status: StatusCode,
    /// `(code, message)` pairs.
    pub errors: Vec<(u32, String)>,
    /// Answered with `WWW-Authenticate` (authentication refusals).
    pub realm: bool,
}

impl WsError {
    /// One error.
    pub fn new(status: StatusCode, code: u32, message: &str) -> Self {
        Self {
            status,
            errors: vec![(code, message.to_string())],
            realm: false,
        }
    }

    /// 400 `Validation error: "{message}"` with `code` (84 multilingual, 85 other fields).
    pub fn validation(code: u32, message: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            code,
            &format!("Validation error: \"{message}\""),
        )
    }

    fn unauthorized(errors: &[(u32, &str)]) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            errors: errors.iter().map(|(c, m)| (*c, m.to_string())).collect(),
            realm: true,
        }
    }

    /// The answer in `format`.
    pub fn respond(&self, format: Format) -> Response {
        let body = render::errors(format, &self.errors);
        let mut response = render::respond(self.status, format, body, None);
        if self.realm {
            response
                .headers_mut()
                .insert("www-authenticate", HeaderValue::from_static(REALM));
        }
        response
    }
}

/// A PrestaShop sandbox.
#[derive(Clone)]
pub struct Sandbox {
    /// Configuration.
    pub config: Arc<SandboxConfig>,
    /// The world.
    pub state: Arc<Mutex<State>>,
    kit: Kit,
    base_url: Arc<Mutex<String>>,
    /// Every Webservice request received, as `METHOD /path` (the web server's access
    /// log), oldest first: `GET /sandbox/requests`.
    pub access_log: Arc<Mutex<Vec<String>>>,
}

/// The key behind an API request, as the gate established it.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The key.
    pub key: String,
}

impl Sandbox {
    /// A sandbox with the seeded catalogue and the configured keys.
    pub fn new(config: SandboxConfig) -> Self {
        let state = State::seeded(
            config.products,
            config.keys.clone(),
            config.multishop,
            config.state_id_offset,
        );
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
            access_log: Arc::default(),
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

    /// Every route: the Webservice under `/api`, product images under `/img/p/`, and the
    /// `/sandbox/` admin routes (faults included).
    pub fn router(&self) -> Router {
        let gated = axum::middleware::from_fn_with_state(self.clone(), gate);
        let api = api::routes().route_layer(gated);
        Router::new()
            .merge(api)
            .merge(admin::routes())
            .merge(sandbox_kit::admin::routes())
            .with_state(self.clone())
    }

    /// Serves on `addr` (port 0 picks one) in the background; returns the bound address.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let bound = sandbox_kit::serve(addr, self.router(), "PrestaShop").await?;
        *self.base_url.lock().expect("base url lock") = format!("http://{bound}");
        Ok(bound)
    }
}

impl FromRef<Sandbox> for Kit {
    fn from_ref(sandbox: &Sandbox) -> Kit {
        sandbox.kit.clone()
    }
}

/// Faults first (a 500/503 in PrestaShop's envelope, or a host's 429 with
/// `Retry-After`), then the key.
async fn gate(AxumState(sandbox): AxumState<Sandbox>, request: Request, next: Next) -> Response {
    sandbox
        .access_log
        .lock()
        .expect("access log lock")
        .push(format!("{} {}", request.method(), request.uri().path()));
    let format = render::format_of(request.headers(), request.uri().query().unwrap_or_default());
    let refuse = move |refusal| match refusal {
        Refusal::ServerError {
            server_unavailable: true,
        } => WsError::new(StatusCode::SERVICE_UNAVAILABLE, 0, "Service Unavailable").respond(format),
        Refusal::ServerError { .. } => WsError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            2,
            "[PHP Error #1] Internal error (sandbox fault injected)",
        )
        .respond(format),
        Refusal::RateLimited { reset } => {
            // No rate limit in PrestaShop: this is the host in front of the shop.
            let mut response = (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response();
            let seconds = reset.as_secs_f64().ceil().max(1.0) as u64;
            response.headers_mut().insert("retry-after", HeaderValue::from(seconds));
            response
        }
    };
    sandbox
        .kit
        .faults
        .guard(refuse, admit(sandbox.clone(), request, next, format))
        .await
}

async fn admit(sandbox: Sandbox, mut request: Request, next: Next, format: Format) -> Response {
    match authenticate(&sandbox, &request) {
        Ok(Some(caller)) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Ok(None) => {
            // No credentials at all: the dispatcher's bare answer.
            let mut response = (StatusCode::UNAUTHORIZED, "401 Unauthorized").into_response();
            response
                .headers_mut()
                .insert("www-authenticate", HeaderValue::from_static(REALM));
            response
        }
        Err(error) => error.respond(format),
    }
}

/// `WebserviceRequest::authenticate`: the key from the Basic username (else `ws_key`);
/// `None` when neither is given.
fn authenticate(sandbox: &Sandbox, request: &Request) -> Result<Option<Caller>, WsError> {
    let basic = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, value) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then_some(value.trim())
        })
        .map(|encoded| {
            use base64::Engine as _;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&decoded).to_string();
            text.split(':').next().unwrap_or_default().to_string()
        });
    let key = basic.or_else(|| {
        url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
            .find(|(name, _)| name == "ws_key")
            .map(|(_, value)| value.to_string())
    });
    let Some(key) = key.map(|k| k.trim().to_string()) else {
        return Ok(None);
    };
    if key.is_empty() {
        return Err(WsError::unauthorized(&[(17, "Authentication key is empty")]));
    }
    if key.len() != 32 {
        return Err(WsError::unauthorized(&[(18, "Invalid authentication key format")]));
    }
    let world = sandbox.lock();
    let found = world
        .keys
        .iter()
        .find(|k| subtle::ConstantTimeEq::ct_eq(k.key.as_bytes(), key.as_bytes()).into());
    match found {
        // An unknown key is "not active" too (`WebserviceKey::isKeyActive`), and then
        // has no permissions.
        Some(k) if k.active => {
            if k.permissions.values().all(BTreeSet::is_empty) {
                return Err(WsError::unauthorized(&[(
                    21,
                    "No permission for this authentication key",
                )]));
            }
            Ok(Some(Caller { key }))
        }
        _ => Err(WsError::unauthorized(&[
            (20, "Authentification key is not active"),
            (21, "No permission for this authentication key"),
        ])),
    }
}
