//! BigCommerce app callbacks (auth, load, uninstall, remove_user) and the manual
//! connection of a store-level API account. Nothing is written unless every check
//! passed; every refusal is a page that says what to do.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;

use super::session::{
    Session, check_form_post, first_use_of_jwt, issue_form_token, redirect_to_settings, with_session,
};
use super::{Failure, pages, store_platform};
use crate::accounts::{self, ConnectionMode, StoreRecord, StoreStatus};
use crate::app::App;
use crate::crypto::SecretString;
use crate::storage::unix_now;
use crate::store::bigcommerce::{LoadClaims, exchange_code, verify_signed_payload_jwt};
use crate::store::{CONNECTOR_TOPICS, Platform};

#[derive(Deserialize)]
pub struct AuthQuery {
    code: Option<String>,
    scope: Option<String>,
    context: Option<String>,
}

#[derive(Deserialize)]
pub struct SignedQuery {
    signed_payload_jwt: Option<String>,
}

#[derive(Deserialize)]
pub struct ConnectForm {
    store_hash: String,
    access_token: String,
    /// The API account's client secret (optional): the key of its webhook signatures.
    #[serde(default)]
    client_secret: String,
    /// The browser-bound token of the form ([`issue_form_token`]).
    #[serde(default)]
    form_token: String,
}

/// Connects (or reconnects) a store: reads its settings with a live call, subscribes
/// the webhooks with a fresh per-store secret, then saves the record. `account_secret`
/// is the store-level API account's client secret when the merchant gave it (`None`
/// for app installs).
#[allow(clippy::too_many_arguments)]
async fn connect_store(
    app: &App,
    store_hash: &str,
    token: SecretString,
    account_secret: Option<SecretString>,
    mode: ConnectionMode,
    owner: (u64, String),
    user_id: u64,
    scope: &str,
) -> Result<StoreRecord, Failure> {
    let cipher = &app.secrets.token_cipher;
    let store_id = crate::store::tenant_id(Platform::BigCommerce, store_hash);
    let existing = accounts::get_store(app.table.as_ref(), &store_id).await?;
    let mut record = existing.unwrap_or_else(|| StoreRecord::new(&store_id, Platform::BigCommerce, mode, owner.0));
    record.set_access_token(cipher, &token);
    record.set_account_client_secret(cipher, account_secret.as_ref());
    record.mode = mode;
    let platform = store_platform(app, &record)?;
    let profile = platform.profile().await?;
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    platform
        .subscribe_webhooks(
            &format!("{}/webhooks/bigcommerce", app.public_url),
            &CONNECTOR_TOPICS,
            &secret,
        )
        .await?;
    record.set_webhook_secret(cipher, &secret);
    if record.status != StoreStatus::Installed || record.installation.is_empty() {
        record.installation = uuid::Uuid::new_v4().simple().to_string();
        record.installed_at = unix_now();
    }
    record.status = StoreStatus::Installed;
    record.scope = scope.to_string();
    record.owner_id = owner.0;
    record.owner_email = Some(owner.1);
    if !record.user_ids.contains(&user_id) {
        record.user_ids.push(user_id);
    }
    record.name = profile.name;
    record.currency = profile.currency;
    record.weight_units = profile.units.weight;
    record.dimension_units = profile.units.dimension;
    record.uninstalled_at = None;
    accounts::save_store(app.table.as_ref(), &record).await?;
    tracing::info!(store = store_hash, ?mode, "store connected");
    Ok(record)
}

/// `GET /bigcommerce/auth`: the install callback.
pub async fn auth(State(app): State<Arc<App>>, Query(query): Query<AuthQuery>) -> Response {
    let (Some(code), Some(context)) = (
        query.code.filter(|c| !c.is_empty()),
        query.context.filter(|c| c.starts_with("stores/")),
    ) else {
        return Failure::BadRequest(
            "The install link is incomplete (code and context are required). Start the install again.".into(),
        )
        .page();
    };
    let scope = query.scope.unwrap_or_default();
    let grant = match exchange_code(
        &app.http,
        &app.endpoints.bigcommerce_login,
        &app.secrets.bigcommerce_client_id,
        &app.secrets.bigcommerce_client_secret,
        &code,
        &scope,
        &context,
        &format!("{}/bigcommerce/auth", app.public_url),
    )
    .await
    {
        Ok(grant) => grant,
        Err(error) => {
            return Failure::BadRequest(format!("BigCommerce did not accept the install code: {error}")).page();
        }
    };
    let store_hash = grant.store_hash().to_string();
    let owner = (grant.owner.id, grant.owner.email.clone());
    match connect_store(
        &app,
        &store_hash,
        grant.access_token,
        None,
        ConnectionMode::App,
        owner,
        grant.user.id,
        &grant.scope,
    )
    .await
    {
        Ok(store) => {
            let session = Session::new(&store, grant.user.id);
            let to_settings = (
                axum::http::StatusCode::SEE_OTHER,
                [(axum::http::header::LOCATION, "/settings")],
            )
                .into_response();
            with_session(&app, &session, to_settings)
        }
        Err(failure) => failure.page(),
    }
}

/// Verifies a callback JWT and refuses replays.
async fn verified_claims(app: &App, token: Option<String>) -> Result<LoadClaims, Failure> {
    let token = token.ok_or_else(|| Failure::BadRequest("The link has no signed payload.".into()))?;
    let claims = verify_signed_payload_jwt(
        &token,
        &app.secrets.bigcommerce_client_id,
        app.secrets.bigcommerce_client_secret.expose(),
        unix_now(),
    )
    .map_err(|e| Failure::Unauthorized(format!("The signed payload was refused: {e}.")))?;
    if !first_use_of_jwt(app.table.as_ref(), &claims.jti, claims.expires_at).await? {
        return Err(Failure::BadRequest(
            "This link was already used (or carries no id). Open the app again from your control panel.".into(),
        ));
    }
    Ok(claims)
}

/// `GET /bigcommerce/load`: opens the app; starts a session bound to the store and user.
pub async fn load(State(app): State<Arc<App>>, Query(query): Query<SignedQuery>) -> Response {
    let claims = match verified_claims(&app, query.signed_payload_jwt).await {
        Ok(claims) => claims,
        Err(failure) => return failure.page(),
    };
    let store_id = crate::store::tenant_id(Platform::BigCommerce, &claims.store_hash);
    let mut store = match accounts::get_store(app.table.as_ref(), &store_id).await {
        Ok(Some(store)) if store.status == StoreStatus::Installed => store,
        Ok(_) => {
            return Failure::Unauthorized("The app is not installed on this store. Install it first.".into()).page();
        }
        Err(error) => return Failure::from(error).page(),
    };
    let mut changed = false;
    if claims.user_id != store.owner_id && !store.user_ids.contains(&claims.user_id) {
        // Multi-user apps: a new authorized user of the store.
        store.user_ids.push(claims.user_id);
        changed = true;
    }
    // A store connected before its name was kept gets it at the next opening (best
    // effort: the header shows the hash until BigCommerce answers).
    if store.name.trim().is_empty() {
        let named = async { store_platform(&app, &store)?.profile().await.map_err(Failure::from) };
        match tokio::time::timeout(std::time::Duration::from_secs(3), named).await {
            Ok(Ok(profile)) if !profile.name.trim().is_empty() => {
                store.name = profile.name;
                changed = true;
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(store = %claims.store_hash, %error, "store name not read"),
            Err(_) => tracing::warn!(store = %claims.store_hash, "store name not read in time"),
        }
    }
    if changed && let Err(error) = accounts::save_store(app.table.as_ref(), &store).await {
        return Failure::from(error).page();
    }
    with_session(&app, &Session::new(&store, claims.user_id), redirect_to_settings())
}

/// `GET /bigcommerce/uninstall`.
pub async fn uninstall(State(app): State<Arc<App>>, Query(query): Query<SignedQuery>) -> Response {
    let claims = match verified_claims(&app, query.signed_payload_jwt).await {
        Ok(claims) => claims,
        Err(failure) => return failure.into_response(),
    };
    let store_id = crate::store::tenant_id(Platform::BigCommerce, &claims.store_hash);
    match crate::changes::uninstall(&app, &store_id).await {
        Ok(()) => axum::Json(serde_json::json!({"status": "uninstalled"})).into_response(),
        Err(error) => Failure::Internal(format!("The store could not be uninstalled: {error}")).into_response(),
    }
}

/// `GET /bigcommerce/remove_user`.
pub async fn remove_user(State(app): State<Arc<App>>, Query(query): Query<SignedQuery>) -> Response {
    let claims = match verified_claims(&app, query.signed_payload_jwt).await {
        Ok(claims) => claims,
        Err(failure) => return failure.into_response(),
    };
    let outcome = async {
        let store_id = crate::store::tenant_id(Platform::BigCommerce, &claims.store_hash);
        if let Some(mut store) = accounts::get_store(app.table.as_ref(), &store_id).await? {
            store.user_ids.retain(|id| *id != claims.user_id);
            accounts::save_store(app.table.as_ref(), &store).await?;
        }
        Ok::<_, Failure>(())
    };
    match outcome.await {
        Ok(()) => axum::Json(serde_json::json!({"status": "removed"})).into_response(),
        Err(failure) => failure.into_response(),
    }
}

/// The manual connection form for this browser, with `message` above it and the
/// store hash kept: a fresh browser-bound token and its cookie.
fn connect_page(app: &App, status: StatusCode, message: Option<&str>, store_hash: &str) -> Response {
    let (token, cookie) = issue_form_token(&app.secrets.token_cipher);
    (
        status,
        [(SET_COOKIE, cookie)],
        pages::connect_form(message, &token, store_hash),
    )
        .into_response()
}

/// `GET /connect`: the manual connection form.
pub async fn connect_form(State(app): State<Arc<App>>) -> Response {
    connect_page(&app, StatusCode::OK, None, "")
}

/// `POST /connect`: checks that the form came from this browser's copy of the page,
/// then the pasted credentials with a live call, before saving anything.
pub async fn connect_account(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(form): Form<ConnectForm>,
) -> Response {
    let store_hash = form.store_hash.trim().to_lowercase();
    if let Err(reason) = check_form_post(&app, &headers, &form.form_token) {
        return connect_page(&app, StatusCode::FORBIDDEN, Some(reason), &store_hash);
    }
    if store_hash.is_empty() || store_hash.len() > 32 || !store_hash.chars().all(|c| c.is_ascii_alphanumeric()) {
        return connect_page(
            &app,
            StatusCode::BAD_REQUEST,
            Some("The store hash is the short code in your API path, letters and digits only."),
            "",
        );
    }
    let token = SecretString::new(form.access_token.trim().to_string());
    let account_secret = Some(form.client_secret.trim())
        .filter(|s| !s.is_empty())
        .map(|s| SecretString::new(s.to_string()));
    match connect_store(
        &app,
        &store_hash,
        token,
        account_secret,
        ConnectionMode::ApiAccount,
        (0, String::new()),
        0,
        "",
    )
    .await
    {
        Ok(store) => with_session(&app, &Session::new(&store, 0), redirect_to_settings()),
        Err(failure) => {
            let message = format!("The store did not accept these credentials: {failure}");
            connect_page(&app, StatusCode::BAD_REQUEST, Some(&message), &store_hash)
        }
    }
}
