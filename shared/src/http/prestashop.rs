//! Connecting a PrestaShop store: the merchant pastes the shop's address, its shop id
//! (multishop) and a webservice key; the connector asks the webservice which resources
//! and methods the key may use, names every one it lacks, reads the shop's settings
//! with it, and only then saves the store (its key sealed) and signs the browser in to
//! it. Every refusal is the form again, with the reason and the other fields kept (never
//! the key).

use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::hosted;
use super::pages::{self, PrestaShopFormValues};
use super::session::{check_form_post, issue_form_token};
use crate::accounts::StoreEndpoint;
use crate::app::App;
use crate::crypto::SecretString;
use crate::store::prestashop::{Client, ClientConfig, PrestaShop};
use crate::store::{Platform, StoreError, StorePlatform as _};

/// The form's fields.
#[derive(Deserialize)]
pub struct ConnectForm {
    #[serde(default)]
    store_url: String,
    #[serde(default)]
    id_shop: String,
    #[serde(default)]
    key: String,
    /// `on` to file every TikTok order under one customer.
    #[serde(default)]
    shared_customer: Option<String>,
    /// The browser-bound token of the form.
    #[serde(default)]
    form_token: String,
}

/// The form for this browser, with `message` above it and `values` kept.
fn form_page(app: &App, status: StatusCode, message: Option<&str>, values: &PrestaShopFormValues) -> Response {
    let (token, cookie) = issue_form_token(&app.secrets.token_cipher);
    (
        status,
        [(SET_COOKIE, cookie)],
        pages::prestashop_connect_form(message, &token, values),
    )
        .into_response()
}

/// `GET /connect/prestashop`.
pub async fn connect_form(State(app): State<Arc<App>>) -> Response {
    form_page(&app, StatusCode::OK, None, &PrestaShopFormValues::default())
}

/// The merchant's reason for a refusal of the key's checks.
fn refusal(error: &StoreError, url: &str) -> String {
    match error {
        StoreError::Unauthorized(words) => format!(
            "PrestaShop did not accept this webservice key ({words}). Check the key, and that it and the webservice are enabled (Advanced Parameters → Webservice)."
        ),
        StoreError::NotFound(words) | StoreError::Malformed(words) => format!(
            "There is no PrestaShop webservice at {url}/api ({words}). Check the shop's address, that the webservice is enabled and that friendly URLs are on."
        ),
        StoreError::Unavailable(words) => format!("The shop did not answer at {url} ({words})."),
        other => format!("PrestaShop refused the connection: {other}."),
    }
}

/// `POST /connect/prestashop`: checks that the form came from this browser's copy of
/// the page, then the key's permissions and the shop's settings, before saving anything.
pub async fn connect(State(app): State<Arc<App>>, headers: HeaderMap, Form(form): Form<ConnectForm>) -> Response {
    let values = PrestaShopFormValues {
        store_url: form.store_url.trim().trim_end_matches('/').to_string(),
        id_shop: form.id_shop.trim().to_string(),
        shared_customer: form.shared_customer.as_deref() == Some("on"),
    };
    let refuse = |status, message: &str| form_page(&app, status, Some(message), &values);
    if let Err(reason) = check_form_post(&app, &headers, &form.form_token) {
        return refuse(StatusCode::FORBIDDEN, reason);
    }
    let Some(url) = hosted::store_url(&values.store_url) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The shop's address is its URL, such as https://shop.example.com.",
        );
    };
    let id_shop = match values.id_shop.as_str() {
        "" => 1,
        text => match text.parse::<u64>() {
            Ok(id) if id > 0 => id,
            _ => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "The shop id is a number (1 unless you run several shops: Advanced Parameters → Multistore).",
                );
            }
        },
    };
    let key = form.key.trim();
    if key.len() != 32 || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The webservice key is the 32 letters and digits shown in Advanced Parameters → Webservice.",
        );
    }
    let key = SecretString::new(key.to_string());
    let mut config = ClientConfig::new(&values.store_url, key.clone(), id_shop);
    config.max_attempts = 2;
    let store = match Client::new(config) {
        Ok(client) => PrestaShop::new(client, values.shared_customer),
        Err(error) => return refuse(StatusCode::BAD_GATEWAY, &refusal(&error, &values.store_url)),
    };
    match store.missing_access().await {
        Ok(missing) if missing.is_empty() => {}
        Ok(missing) => {
            let message = format!(
                "The webservice key lacks permissions the connector needs. Edit it in Advanced Parameters → Webservice, tick these, then save: {}.",
                missing.join("; ")
            );
            return refuse(StatusCode::BAD_REQUEST, &message);
        }
        Err(error) => {
            tracing::info!(%error, "PrestaShop key refused");
            return refuse(StatusCode::BAD_REQUEST, &refusal(&error, &values.store_url));
        }
    }
    let profile = match store.profile().await {
        Ok(profile) => profile,
        Err(error) => return refuse(StatusCode::BAD_REQUEST, &refusal(&error, &values.store_url)),
    };
    let scope = id_shop.to_string();
    let store_id = crate::store::tenant_id(Platform::PrestaShop, &crate::store::hosted_store_id(&url, &scope));
    let endpoint = StoreEndpoint {
        url: values.store_url.clone(),
        scope,
        bearer: false,
        shared_customer: values.shared_customer,
    };
    let saved = hosted::save(&app, &store_id, Platform::PrestaShop, endpoint, &key, profile).await;
    hosted::connected(&app, saved, refuse).await
}
