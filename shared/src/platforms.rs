//! The platform registry: the one way the domain (catalogue, orders, returns,
//! schedules) reaches a store. It opens the adapter of a store record's platform as a
//! `Box<dyn StorePlatform>`; nothing outside this file and the adapters names a
//! concrete platform.

use crate::accounts::{ConnectionMode, StoreRecord};
use crate::app::App;
use crate::store::bigcommerce::{BigCommerce, Client, ClientConfig};
use crate::store::magento2::{self, Magento2};
use crate::store::prestashop::{self, PrestaShop};
use crate::store::{Capabilities, Platform, StoreError, StorePlatform};

/// What a platform can do, without opening a store on it (the settings page asks this
/// to leave out what the platform cannot do).
pub fn capabilities(platform: Platform) -> Capabilities {
    match platform {
        Platform::BigCommerce => BigCommerce::CAPABILITIES,
        Platform::Magento2 => Magento2::CAPABILITIES,
        Platform::PrestaShop => PrestaShop::CAPABILITIES,
    }
}

/// The platform of an installed store, built from its sealed credentials and the
/// app's endpoints.
///
/// Errors: [`StoreError::Unauthorized`] when the store has no usable access token (it
/// must be connected again); a client that cannot be built.
pub fn open(app: &App, store: &StoreRecord) -> Result<Box<dyn StorePlatform>, StoreError> {
    match store.platform {
        Platform::BigCommerce => {
            open_bigcommerce(app, store).map(|adapter| Box::new(adapter) as Box<dyn StorePlatform>)
        }
        Platform::Magento2 => open_magento2(app, store).map(|adapter| Box::new(adapter) as Box<dyn StorePlatform>),
        Platform::PrestaShop => open_prestashop(app, store).map(|adapter| Box::new(adapter) as Box<dyn StorePlatform>),
    }
}

/// The BigCommerce adapter of a store, with the app's or the API account's webhook key.
fn open_bigcommerce(app: &App, store: &StoreRecord) -> Result<BigCommerce, StoreError> {
    let token = store
        .access_token(&app.secrets.token_cipher)
        .ok_or_else(|| StoreError::Unauthorized("The store has no access token; connect it again.".into()))?;
    let mut config = ClientConfig::new(crate::store::native_id(Platform::BigCommerce, &store.store_id), token);
    config.api_base = app.endpoints.bigcommerce_api.clone();
    let client = Client::new(config)?;
    // Webhooks are signed with the secret of the account that created them: the app's
    // for app installs, the store-level API account's own (when the merchant gave it)
    // for stores connected by hand.
    let webhook_key = match store.mode {
        ConnectionMode::App => Some(app.secrets.bigcommerce_client_secret.clone()),
        ConnectionMode::ApiAccount => store.account_client_secret(&app.secrets.token_cipher),
    };
    Ok(BigCommerce::new(
        client,
        webhook_key,
        app.secrets.bigcommerce_app_id.clone(),
    ))
}

/// The Magento 2 adapter of a store: its endpoint and its sealed integration credentials.
fn open_magento2(app: &App, store: &StoreRecord) -> Result<Magento2, StoreError> {
    let sealed = store.access_token(&app.secrets.token_cipher).ok_or_else(|| {
        StoreError::Unauthorized("The store has no integration credentials; connect it again.".into())
    })?;
    let credentials = magento2::Credentials::from_json(&sealed)?;
    let endpoint = store
        .endpoint
        .as_ref()
        .ok_or_else(|| StoreError::Unauthorized("The store has no address; connect it again.".into()))?;
    let config = magento2::ClientConfig::authorized(&endpoint.url, &endpoint.scope, credentials, endpoint.bearer);
    Ok(Magento2::new(magento2::Client::new(config)?))
}

/// The PrestaShop adapter of a store: its endpoint (the shop's address and `id_shop`)
/// and its sealed webservice key.
fn open_prestashop(app: &App, store: &StoreRecord) -> Result<PrestaShop, StoreError> {
    let key = store
        .access_token(&app.secrets.token_cipher)
        .ok_or_else(|| StoreError::Unauthorized("The store has no webservice key; connect it again.".into()))?;
    let endpoint = store
        .endpoint
        .as_ref()
        .ok_or_else(|| StoreError::Unauthorized("The store has no address; connect it again.".into()))?;
    let id_shop = endpoint.scope.parse().unwrap_or(1);
    let config = prestashop::ClientConfig::new(&endpoint.url, key, id_shop);
    Ok(PrestaShop::new(
        prestashop::Client::new(config)?,
        endpoint.shared_customer,
    ))
}
