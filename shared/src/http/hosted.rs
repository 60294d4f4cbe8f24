//! What the connect forms of stores the merchant hosts (Magento 2, PrestaShop) share:
//! the store URL check, saving the store with its endpoint and sealed credentials, and
//! then opening its change feed and signing the browser in to it.

use axum::http::StatusCode;
use axum::response::Response;

use super::session::{Session, redirect_to_settings, with_session};
use crate::accounts::{self, ConnectionMode, StoreEndpoint, StoreRecord, StoreStatus};
use crate::app::App;
use crate::crypto::SecretString;
use crate::storage::{StorageError, unix_now};
use crate::store::{Platform, StoreProfile};

/// The store's address from the form (`https://shop.example.com`), or `None` when it is
/// not an http(s) URL with a host.
pub fn store_url(text: &str) -> Option<url::Url> {
    url::Url::parse(text)
        .ok()
        .filter(|url| matches!(url.scheme(), "https" | "http") && url.host_str().is_some())
}

/// Saves (or updates) the store `store_id` on `platform` with its endpoint, its sealed
/// credentials (`sealed`: what the platform's adapter reads back) and its profile, as
/// installed. Errors: the table's.
pub async fn save(
    app: &App,
    store_id: &str,
    platform: Platform,
    endpoint: StoreEndpoint,
    sealed: &SecretString,
    profile: StoreProfile,
) -> Result<StoreRecord, StorageError> {
    let existing = accounts::get_store(app.table.as_ref(), store_id).await?;
    let mut record = existing.unwrap_or_else(|| StoreRecord::new(store_id, platform, ConnectionMode::ApiAccount, 0));
    record.set_access_token(&app.secrets.token_cipher, sealed);
    record.endpoint = Some(endpoint);
    if record.status != StoreStatus::Installed || record.installation.is_empty() {
        record.installation = uuid::Uuid::new_v4().simple().to_string();
        record.installed_at = unix_now();
    }
    record.status = StoreStatus::Installed;
    record.name = profile.name;
    record.currency = profile.currency;
    record.weight_units = profile.units.weight;
    record.dimension_units = profile.units.dimension;
    record.uninstalled_at = None;
    accounts::save_store(app.table.as_ref(), &record).await?;
    Ok(record)
}

/// The answer to a connect form once [`save`] ran: on success the store's change feed
/// opens now (these platforms send no webhooks, so every change after the connection is
/// polled; the first poll would otherwise only open it) and the browser is signed in to
/// the store and sent to its settings; on failure `refuse` shows the form again.
pub async fn connected(
    app: &App,
    saved: Result<StoreRecord, StorageError>,
    refuse: impl FnOnce(StatusCode, &str) -> Response,
) -> Response {
    match saved {
        Ok(record) => {
            tracing::info!(store = %record.store_id, platform = record.platform.slug(), "store connected");
            if let Err(error) = crate::changes::open_feed(app, &record).await {
                tracing::warn!(store = %record.store_id, %error, "the change feed opens at the first poll instead");
            }
            with_session(app, &Session::new(&record, 0), redirect_to_settings())
        }
        Err(error) => {
            tracing::error!(%error, "store not saved");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "The connector could not save the store just now. Send the form again in a minute.",
            )
        }
    }
}
