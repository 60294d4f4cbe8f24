//! Connecting a Magento 2 store: the merchant pastes the store URL, the store view code
//! and an integration's four credentials; the connector signs a read with them, checks
//! every ACL resource it needs, and only then saves the store (its credentials sealed)
//! and signs the browser in to it. Every refusal is the form again, with Magento's
//! reason and the non-secret fields kept.

use std::sync::Arc;

use axum::Form;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::hosted;
use super::pages::{self, MagentoFormValues};
use super::session::{check_form_post, issue_form_token};
use crate::accounts::StoreEndpoint;
use crate::app::App;
use crate::crypto::SecretString;
use crate::store::magento2::{Client, ClientConfig, Credentials, Magento2};
use crate::store::{Platform, StoreError, StorePlatform as _};

/// The form's fields (Magento's own names for the credentials).
#[derive(Deserialize)]
pub struct ConnectForm {
    #[serde(default)]
    store_url: String,
    #[serde(default)]
    store_code: String,
    #[serde(default)]
    consumer_key: String,
    #[serde(default)]
    consumer_secret: String,
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    access_token_secret: String,
    /// `on` to send the access token as a Bearer token instead of signing.
    #[serde(default)]
    bearer: Option<String>,
    /// The browser-bound token of the form.
    #[serde(default)]
    form_token: String,
}

/// The form for this browser, with `message` above it and `values` kept.
fn form_page(app: &App, status: StatusCode, message: Option<&str>, values: &MagentoFormValues) -> Response {
    let (token, cookie) = issue_form_token(&app.secrets.token_cipher);
    (
        status,
        [(SET_COOKIE, cookie)],
        pages::magento2_connect_form(message, &token, values),
    )
        .into_response()
}

/// `GET /connect/magento2`.
pub async fn connect_form(State(app): State<Arc<App>>) -> Response {
    form_page(&app, StatusCode::OK, None, &MagentoFormValues::default())
}

/// The merchant's reason for a refusal of the signed checks.
fn refusal(error: &StoreError, url: &str) -> String {
    match error {
        StoreError::Unauthorized(words) => format!(
            "Magento did not accept these credentials ({words}). Check the consumer secret and the access token secret, and that the integration is active."
        ),
        StoreError::NotFound(words) => {
            format!(
                "Magento at {url} has no such store view, or no REST API there ({words}). Check the store URL and the store view code."
            )
        }
        StoreError::Unavailable(words) => format!("The store did not answer at {url} ({words})."),
        other => format!("Magento refused the connection: {other}."),
    }
}

/// `POST /connect/magento2`: checks that the form came from this browser's copy of the
/// page, then the credentials with signed calls, before saving anything.
pub async fn connect(State(app): State<Arc<App>>, headers: HeaderMap, Form(form): Form<ConnectForm>) -> Response {
    let values = MagentoFormValues {
        store_url: form.store_url.trim().trim_end_matches('/').to_string(),
        store_code: form.store_code.trim().to_string(),
        consumer_key: form.consumer_key.trim().to_string(),
        access_token: form.access_token.trim().to_string(),
        bearer: form.bearer.as_deref() == Some("on"),
    };
    let refuse = |status, message: &str| form_page(&app, status, Some(message), &values);
    if let Err(reason) = check_form_post(&app, &headers, &form.form_token) {
        return refuse(StatusCode::FORBIDDEN, reason);
    }
    let url = match hosted::store_url(&values.store_url) {
        Some(url) => url,
        None => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "The store URL is your shop's address, such as https://shop.example.com.",
            );
        }
    };
    let code_ok = !values.store_code.is_empty()
        && values.store_code.len() <= 32
        && values
            .store_code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !code_ok {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The store view code is lower-case letters, digits and _ (default unless you run several store views).",
        );
    }
    let secrets = [
        ("consumer key", &values.consumer_key),
        ("consumer secret", &form.consumer_secret.trim().to_string()),
        ("access token", &values.access_token),
        ("access token secret", &form.access_token_secret.trim().to_string()),
    ];
    if let Some((name, _)) = secrets.iter().find(|(_, value)| value.is_empty()) {
        return refuse(
            StatusCode::BAD_REQUEST,
            &format!("The {name} is missing: copy it from the integration's page in the Magento admin."),
        );
    }
    let credentials = Credentials {
        consumer_key: values.consumer_key.clone(),
        consumer_secret: SecretString::new(form.consumer_secret.trim().to_string()),
        access_token: values.access_token.clone(),
        access_token_secret: SecretString::new(form.access_token_secret.trim().to_string()),
    };
    let mut config = ClientConfig::authorized(
        &values.store_url,
        &values.store_code,
        credentials.clone(),
        values.bearer,
    );
    config.max_attempts = 2;
    let store = match Client::new(config) {
        Ok(client) => Magento2::new(client),
        Err(error) => return refuse(StatusCode::BAD_GATEWAY, &refusal(&error, &values.store_url)),
    };
    let profile = match store.profile().await {
        Ok(profile) => profile,
        Err(error) => {
            tracing::info!(%error, "Magento credentials refused");
            return refuse(StatusCode::BAD_REQUEST, &refusal(&error, &values.store_url));
        }
    };
    match store.missing_access().await {
        Ok(missing) if missing.is_empty() => {}
        Ok(missing) => {
            let message = format!(
                "The integration lacks access the connector needs. Edit it in System → Extensions → Integrations → API, grant these resources, then save and reauthorize: {}",
                missing.join(" ")
            );
            return refuse(StatusCode::BAD_REQUEST, &message);
        }
        Err(error) => return refuse(StatusCode::BAD_REQUEST, &refusal(&error, &values.store_url)),
    }
    let store_id = crate::store::tenant_id(
        Platform::Magento2,
        &crate::store::hosted_store_id(&url, &values.store_code),
    );
    let endpoint = StoreEndpoint {
        url: values.store_url.clone(),
        scope: values.store_code.clone(),
        bearer: values.bearer,
        shared_customer: false,
    };
    let saved = hosted::save(
        &app,
        &store_id,
        Platform::Magento2,
        endpoint,
        &credentials.to_json(),
        profile,
    )
    .await;
    hosted::connected(&app, saved, refuse).await
}
