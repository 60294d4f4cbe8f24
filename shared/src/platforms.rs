//! The platform registry: the store platform of a store record, the one way the
//! domain (catalogue, orders, returns) reaches a store. BigCommerce is the only
//! adapter so far; the registry is where the others plug in.

use crate::accounts::{ConnectionMode, StoreRecord};
use crate::app::App;
use crate::store::StoreError;
use crate::store::bigcommerce::{BigCommerce, Client, ClientConfig};

/// The platform of an installed store, built from its sealed credentials and the
/// app's endpoints.
///
/// Errors: [`StoreError::Unauthorized`] when the store has no usable access token (it
/// must be connected again); a client that cannot be built.
pub fn open(app: &App, store: &StoreRecord) -> Result<BigCommerce, StoreError> {
    let token = store
        .access_token(&app.secrets.token_cipher)
        .ok_or_else(|| StoreError::Unauthorized("The store has no access token; connect it again.".into()))?;
    let mut config = ClientConfig::new(&store.store_hash, token);
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
