//! HTTP surface: the routes of the three HTTP functions (`oauth-callback`,
//! `webhook-ingest`, `settings-api`) as axum routers, served by `lambda_http` in
//! Lambda and by the local runner on localhost. Every request runs in a span with a
//! request id; only the path is logged, never the query (it carries OAuth codes).

mod bigcommerce;
mod catalog;
mod configuration;
mod hosted;
mod log;
mod magento2;
mod orders;
pub mod pages;
mod prestashop;
mod returns;
mod screens;
pub mod session;
mod settings;
mod tiktok;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use std::time::Duration;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tracing::Instrument as _;

use crate::accounts::{self, StoreRecord};
use crate::app::App;
use crate::shops::ShopError;
use crate::storage::StorageError;
use crate::store::{StoreError, StorePlatform};
use session::Session;

/// Why a request failed, with what the merchant should read.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The request is wrong (bad code, forged state, …).
    #[error("{0}")]
    BadRequest(String),
    /// No valid session or signature.
    #[error("{0}")]
    Unauthorized(String),
    /// Not found for this store.
    #[error("{0}")]
    NotFound(String),
    /// The session's user may not do this (only the store owner changes settings).
    #[error("{0}")]
    Forbidden(String),
    /// TikTok or the store failed.
    #[error("{0}")]
    Upstream(String),
    /// Our side failed.
    #[error("{0}")]
    Internal(String),
}

impl Failure {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// As an HTML page (browser flows).
    pub fn page(self) -> Response {
        tracing::warn!(error = %self, "request refused");
        let title = match self {
            Self::BadRequest(_) => "This link cannot be used",
            Self::Unauthorized(_) => "Please open the app from your store",
            Self::NotFound(_) => "Not found",
            Self::Forbidden(_) => "Only the store owner can do this",
            Self::Upstream(_) => "A connected service did not answer",
            Self::Internal(_) => "Something went wrong on our side",
        };
        pages::error_page(self.status(), title, &self.to_string())
    }
}

/// JSON answers (the settings API and webhooks).
impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        tracing::warn!(error = %self, "request refused");
        (
            self.status(),
            axum::Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

impl From<StorageError> for Failure {
    fn from(error: StorageError) -> Self {
        tracing::error!(%error, "storage failed");
        Self::Internal("Your data could not be read or saved. Please try again.".into())
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unauthorized(_) | StoreError::Forbidden(_) => {
                Self::BadRequest(format!("The store refused the credentials: {error}"))
            }
            other => Self::Upstream(format!("The store: {other}")),
        }
    }
}

impl From<ShopError> for Failure {
    fn from(error: ShopError) -> Self {
        match error {
            ShopError::Storage(storage) => storage.into(),
            ShopError::NoTokens(_) => Self::BadRequest(error.to_string()),
            ShopError::TikTok(tiktok) => Self::Upstream(format!("TikTok: {tiktok}")),
        }
    }
}

/// A request with a valid session of an installed store.
pub struct SessionContext {
    /// The session.
    pub session: Session,
    /// The store it is bound to.
    pub store: StoreRecord,
}

impl SessionContext {
    /// Whether the session's user is the store's owner (who alone changes settings).
    pub fn is_owner(&self) -> bool {
        self.session.user_id == self.store.owner_id
    }

    /// Refuses a settings change by a user other than the store owner (403): other
    /// users see the settings read-only.
    pub fn require_owner(&self) -> Result<(), Failure> {
        if self.is_owner() {
            return Ok(());
        }
        tracing::warn!(store = %self.store.store_id, user = self.session.user_id, "settings change by a non-owner refused");
        Err(Failure::Forbidden(
            "Only the store owner can change the connector's settings. Ask them to sign in, or to make the change."
                .into(),
        ))
    }

    /// Refuses state changes without the session's CSRF token.
    pub fn check_csrf(&self, app: &App, provided: Option<&str>) -> Result<(), Failure> {
        let expected = self.session.csrf_token(&app.secrets.token_cipher);
        match provided {
            Some(token) if crate::crypto::constant_time_eq(token.as_bytes(), expected.as_bytes()) => Ok(()),
            _ => Err(Failure::Unauthorized(
                "The form expired or did not come from this app. Reload the page.".into(),
            )),
        }
    }
}

impl FromRequestParts<Arc<App>> for SessionContext {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let wants_json = parts.uri.path().starts_with("/settings/api/");
        let refuse = |failure: Failure| {
            if wants_json {
                failure.into_response()
            } else {
                failure.page()
            }
        };
        let Some(session) = Session::from_headers(&app.secrets.token_cipher, &parts.headers) else {
            return Err(refuse(Failure::Unauthorized(
                "Your session is missing or expired. Open the app from your BigCommerce control panel, or connect your Magento 2 store again at /connect/magento2.".into(),
            )));
        };
        let store = accounts::get_store(app.table.as_ref(), &session.store_id)
            .await
            .map_err(|e| refuse(e.into()))?;
        match store {
            Some(store) if session.allowed_by(&store) => Ok(Self { session, store }),
            _ => Err(refuse(Failure::Unauthorized(
                "This session is no longer valid for this store (the app was reinstalled or your access was removed). Open the app from your BigCommerce control panel, or connect your Magento 2 store again at /connect/magento2.".into(),
            ))),
        }
    }
}

/// The CSRF token a settings API call sends in `X-CSRF-Token`.
pub(crate) fn csrf_header(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get("x-csrf-token").and_then(|v| v.to_str().ok())
}

/// The session store's shop, or 404 (also for another store's shop).
pub(crate) async fn own_shop(app: &App, store_id: &str, shop_id: &str) -> Result<accounts::ShopRecord, Failure> {
    accounts::get_shop(app.table.as_ref(), store_id, shop_id)
        .await?
        .ok_or_else(|| Failure::NotFound(format!("No TikTok shop {shop_id} is connected to this store.")))
}

/// Serves `routes` behind API Gateway (HTTP API or REST), building the [`App`] once
/// per cold start: the runtime loop of the HTTP functions. Errors: the app's
/// configuration, or the runtime's.
#[cfg(feature = "lambda")]
pub async fn run_lambda(routes: Router<Arc<App>>) -> Result<(), lambda_http::Error> {
    crate::telemetry::init();
    let app = App::from_env().await?;
    // What each request recorded goes out as metrics before the next one.
    let routes = serve(app, routes).layer(middleware::map_response(|response: Response| async {
        crate::metrics::flush();
        response
    }));
    lambda_http::run(routes).await
}

/// The platform of an installed store ([`crate::platforms::open`]), its refusals in
/// the merchant's words.
pub fn store_platform(app: &App, store: &StoreRecord) -> Result<Box<dyn StorePlatform>, Failure> {
    crate::platforms::open(app, store).map_err(|error| match error {
        StoreError::Unauthorized(message) => Failure::BadRequest(message),
        other => other.into(),
    })
}

/// One route: its path (axum syntax, `{param}` placeholders) and its handlers.
pub(crate) type Route = (&'static str, MethodRouter<Arc<App>>);

fn router(table: Vec<Route>) -> Router<Arc<App>> {
    table
        .into_iter()
        .fold(Router::new(), |router, (path, handlers)| router.route(path, handlers))
}

fn oauth_table() -> Vec<Route> {
    vec![
        ("/bigcommerce/auth", get(bigcommerce::auth)),
        ("/bigcommerce/load", get(bigcommerce::load)),
        ("/bigcommerce/uninstall", get(bigcommerce::uninstall)),
        ("/bigcommerce/remove_user", get(bigcommerce::remove_user)),
        (
            "/connect",
            get(bigcommerce::connect_form).post(bigcommerce::connect_account),
        ),
        ("/connect/magento2", get(magento2::connect_form).post(magento2::connect)),
        (
            "/connect/prestashop",
            get(prestashop::connect_form).post(prestashop::connect),
        ),
        ("/tiktok/connect", get(tiktok::connect)),
        ("/tiktok/callback", get(tiktok::callback)),
    ]
}

fn webhook_table() -> Vec<Route> {
    vec![
        ("/webhooks/tiktok", post(webhooks::tiktok)),
        ("/webhooks/bigcommerce", post(webhooks::bigcommerce)),
    ]
}

fn settings_table() -> Vec<Route> {
    let mut table = screens::routes();
    table.extend(settings::routes());
    table.extend(catalog::routes());
    table.extend(orders::routes());
    table.extend(configuration::routes());
    table.extend(returns::routes());
    table.extend(log::routes());
    table
}

/// BigCommerce app callbacks, manual connection, and the TikTok authorization flow.
pub fn oauth_routes() -> Router<Arc<App>> {
    router(oauth_table())
}

/// TikTok and store webhook intake.
pub fn webhook_routes() -> Router<Arc<App>> {
    router(webhook_table())
}

/// The hosted settings page and its JSON API (every call bound to the session's store).
pub fn settings_routes() -> Router<Arc<App>> {
    router(settings_table())
}

/// Every route, as the local runner serves them.
pub fn all_routes() -> Router<Arc<App>> {
    oauth_routes().merge(webhook_routes()).merge(settings_routes())
}

/// The path of every settings route, from the same table the router is built from
/// (`{param}` placeholders as declared), so a test walking them covers a new route
/// without being edited.
pub fn settings_paths() -> Vec<&'static str> {
    settings_table().into_iter().map(|(path, _)| path).collect()
}

/// How long one request may take before it is answered 408 (API Gateway cuts at 30 s).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(29);

/// Binds `routes` to the app and adds the health check, the stylesheet, request-id
/// spans, the request timeout, the refusal of unusable paths and the security headers
/// (CSP with `frame-ancestors`, `nosniff`, `no-referrer`, and `no-store` on everything
/// but the stylesheet).
pub fn serve(app: Arc<App>, routes: Router<Arc<App>>) -> Router {
    routes
        .route("/health", get(|| async { "ok" }))
        .route(pages::stylesheet_path(), get(pages::stylesheet))
        .route(pages::script_path(), get(pages::script))
        .layer(middleware::from_fn_with_state(app.clone(), with_unread_notices))
        .layer(middleware::from_fn(refuse_unusable_paths))
        .layer(middleware::from_fn_with_state(app.clone(), with_framing_policy))
        .layer(SetResponseHeaderLayer::if_not_present(
            CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(middleware::from_fn(with_request_id))
        .with_state(app)
}

/// Renders a settings page (`/settings…`, not the JSON API nor htmx progress
/// fragments) with the session store's unread notice count, which the layout's bell
/// shows ([`pages::unread_notices`]). Without a readable session, or when the count
/// cannot be read, the page goes on (the handler refuses a bad session itself).
async fn with_unread_notices(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let page = path.starts_with("/settings") && !path.starts_with("/settings/api/") && !path.ends_with("/progress");
    let session = page
        .then(|| Session::from_headers(&app.secrets.token_cipher, request.headers()))
        .flatten();
    let Some(session) = session else {
        return next.run(request).await;
    };
    let unread = crate::notices::unread_count(app.table.as_ref(), &session.store_id)
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "unread notices not counted");
            0
        });
    pages::with_unread_notices(unread, next.run(request)).await
}

/// Paths whose pages are never shown inside another site: the manual connection form
/// and the TikTok authorization flow (it opens in its own tab).
fn never_framed(path: &str) -> bool {
    path == "/connect" || path.starts_with("/connect/") || path.starts_with("/tiktok/")
}

/// Sets the `Content-Security-Policy`: only this app's own resources, forms posted only
/// to it, and framing only by the store control panels ([`crate::config::Endpoints::control_panels`]),
/// or by no one (with `X-Frame-Options: DENY` too) where the page is never framed.
async fn with_framing_policy(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let framed = !never_framed(request.uri().path());
    let mut response = next.run(request).await;
    let ancestors = if framed {
        format!("'self' {}", app.endpoints.control_panels)
    } else {
        "'none'".to_string()
    };
    // No page shows an image from elsewhere: the sales chart and the bell are inline
    // SVG, a return's photos are links TikTok hosts (opened, not embedded), product
    // pages show no pictures. So images come from the app alone, like everything else.
    let policy = format!(
        "default-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
    );
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(CONTENT_SECURITY_POLICY, value);
    }
    if !framed {
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// Answers 404 for a path that cannot name anything (control characters such as
/// `%00`, or bytes that are not UTF-8 once decoded) before any handler or storage
/// call sees it, and 400 for such a query.
async fn refuse_unusable_paths(request: Request, next: Next) -> Response {
    let unusable = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map_or(true, |decoded| decoded.chars().any(char::is_control))
    };
    let json = request.uri().path().starts_with("/settings/api/") || request.uri().path().starts_with("/webhooks/");
    let failure = if unusable(request.uri().path()) {
        Failure::NotFound("Nothing exists at this address.".into())
    } else if request
        .uri()
        .query()
        .is_some_and(|query| unusable(&query.replace('+', " ")))
    {
        Failure::BadRequest("The address holds characters no id or filter can contain.".into())
    } else {
        return next.run(request).await;
    };
    if json { failure.into_response() } else { failure.page() }
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
