//! TikTok shop connections: turning an authorization code into stored shops (tokens
//! sealed, warehouses fetched, webhooks subscribed), calling TikTok for a shop with
//! its stored tokens (persisting them when the client refreshed them on `105002`),
//! and the proactive refresh the token-refresher runs.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::accounts::{self, ShopRecord, ShopStatus, WarehouseChoice};
use crate::app::App;
use crate::crypto::TokenCipher;
use crate::crypto::SecretString;
use crate::storage::{StorageError, Table, idempotency, unix_now};
use crate::tiktok::model::WEBHOOK_TOPICS;
use crate::tiktok::{Grant, ShopAuth, TikTokError, TokenKeeper, Tokens};

/// Refresh tokens this long before they expire.
pub const REFRESH_AHEAD: i64 = 24 * 3600;

/// Why a shop operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ShopError {
    /// TikTok refused or failed.
    #[error(transparent)]
    TikTok(#[from] TikTokError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The shop has no usable tokens (disconnected, purged, or the key changed).
    #[error("shop {0} has no usable tokens; re-authorize it")]
    NoTokens(String),
}

/// Disconnects a shop of a store at the merchant's request: its tokens are forgotten,
/// so every job of the shop stops (orders, stock, uploads, returns) until the merchant
/// re-authorizes it; what is linked stays. Logged with its `author`. Returns the shop
/// as saved, `None` when the store has no such shop. Errors: the table's.
pub async fn disconnect(
    app: &App,
    store_id: &str,
    shop_id: &str,
    author: &str,
) -> Result<Option<ShopRecord>, StorageError> {
    let table = app.table.as_ref();
    let Some(mut shop) = accounts::get_shop(table, store_id, shop_id).await? else {
        return Ok(None);
    };
    shop.access_token = None;
    shop.refresh_token = None;
    shop.status = ShopStatus::Disconnected;
    shop.attention = Some("Disconnected by the merchant.".into());
    accounts::save_shop(table, &shop).await?;
    let summary = format!("Shop {} ({}) disconnected", shop.name, shop.region);
    let entry = crate::journal::Entry::now(crate::journal::LogKind::Account, summary).by(author);
    crate::journal::record(table, store_id, &entry).await?;
    Ok(Some(shop))
}

/// The TikTok webhook address of this connector.
pub fn webhook_address(app: &App) -> String {
    format!("{}/webhooks/tiktok", app.public_url)
}

/// What an authorization did: the shops stored for the store, and the shops it
/// refused because another store owns them.
#[derive(Debug, Default)]
pub struct Connection {
    /// Shops now connected to the store (new or re-authorized).
    pub connected: Vec<ShopRecord>,
    /// Shops left with the store that owns them, as (shop name, reason for the merchant).
    pub refused: Vec<(String, String)>,
}

/// The store other than `store_id` that still owns `shop_id`: installed, with the
/// shop not disconnected. A shop whose owner disconnected it or uninstalled the app
/// may move.
pub async fn other_owner(table: &dyn Table, store_id: &str, shop_id: &str) -> Result<Option<String>, StorageError> {
    let Some(owner) = accounts::store_of_shop(table, shop_id)
        .await?
        .filter(|owner| owner != store_id)
    else {
        return Ok(None);
    };
    let installed = accounts::get_store(table, &owner)
        .await?
        .is_some_and(|store| store.status == accounts::StoreStatus::Installed);
    let shop_kept = accounts::get_shop(table, &owner, shop_id)
        .await?
        .is_some_and(|shop| shop.status != ShopStatus::Disconnected);
    Ok((installed && shop_kept).then_some(owner))
}

/// Exchanges `code`, stores every authorized shop of the grant under `store_id`
/// (new or re-authorized), with warehouses and webhook subscriptions. A shop that
/// another store owns ([`other_owner`]) is refused and left untouched: an
/// authorization link approved by a seller can never move their shop to a store they
/// did not choose.
pub async fn connect(app: &App, store_id: &str, code: &str) -> Result<Connection, ShopError> {
    let granted = app.tiktok.get_token(code).await?;
    tracing::info!(store = store_id, grant = ?granted, "TikTok authorization granted");
    let tokens = Tokens::from(&granted);
    let grant = Grant::new(tokens.clone());
    let cipher = &app.secrets.token_cipher;
    let mut connection = Connection::default();
    for shop in app.tiktok.authorized_shops(&grant).await? {
        if let Some(owner) = other_owner(app.table.as_ref(), store_id, shop.id.as_str()).await? {
            tracing::warn!(store = store_id, owner = %owner, shop = %shop.id, "authorization for a shop another store owns refused");
            connection.refused.push((
                shop.name.clone(),
                "it is connected to another store. Disconnect it there (or uninstall the app from that store) first, then connect it here.".into(),
            ));
            continue;
        }
        let auth = ShopAuth {
            shop_id: shop.id.to_string(),
            cipher: shop.cipher.clone(),
            grant: grant.clone(),
        };
        let warehouses = WarehouseChoice::sales(app.tiktok.warehouses(&auth).await?);
        let address = webhook_address(app);
        let mut subscribed = true;
        for topic in WEBHOOK_TOPICS {
            if let Err(error) = app.tiktok.update_webhook(&auth, topic, &address).await {
                // The poller still finds orders; the merchant sees that webhooks are off.
                tracing::warn!(store = store_id, shop = %shop.id, topic, %error, "webhook subscription failed");
                subscribed = false;
            }
        }
        let existing = accounts::get_shop(app.table.as_ref(), store_id, shop.id.as_str()).await?;
        let mut record = existing.unwrap_or_else(|| ShopRecord {
            store_id: store_id.to_string(),
            shop_id: shop.id.to_string(),
            name: String::new(),
            region: String::new(),
            currency: String::new(),
            cipher: String::new(),
            open_id: String::new(),
            access_token: None,
            access_expires_at: 0,
            refresh_token: None,
            refresh_expires_at: 0,
            status: ShopStatus::Active,
            attention: None,
            authorization_expires_at: None,
            warehouses: Vec::new(),
            default_warehouse_id: None,
            conversion_rate: None,
            conversion_rate_set_at: None,
            webhooks_subscribed: false,
            after_sale_rules: crate::rules::returns::AutoRules::default(),
            version: 0,
        });
        record.name = shop.name.clone();
        record.region = shop.region.clone();
        record.currency = currency_of_region(&shop.region).to_string();
        record.cipher = shop.cipher.clone();
        record.open_id = granted.open_id.clone();
        record.set_tokens(cipher, &tokens);
        record.status = ShopStatus::Active;
        record.attention =
            (!subscribed).then(|| "Webhooks could not be subscribed; orders arrive by polling only.".to_string());
        record.authorization_expires_at = None;
        if record
            .default_warehouse_id
            .as_ref()
            .is_none_or(|id| !warehouses.iter().any(|w| &w.id == id))
        {
            record.default_warehouse_id = warehouses
                .iter()
                .find(|w| w.is_default)
                .or(warehouses.first())
                .map(|w| w.id.clone());
        }
        record.warehouses = warehouses;
        record.webhooks_subscribed = subscribed;
        accounts::save_shop(app.table.as_ref(), &record).await?;
        connection.connected.push(record);
    }
    Ok(connection)
}

/// The currency a TikTok shop of `region` sells in (reference §6.4).
pub fn currency_of_region(region: &str) -> &'static str {
    match region {
        "US" => "USD",
        "GB" => "GBP",
        "DE" | "FR" | "IE" | "IT" | "ES" => "EUR",
        "ID" => "IDR",
        "MY" => "MYR",
        "PH" => "PHP",
        "SG" => "SGD",
        "TH" => "THB",
        "VN" => "VND",
        "JP" => "JPY",
        "MX" => "MXN",
        "BR" => "BRL",
        _ => "",
    }
}

/// Runs `call` for a shop with its stored tokens; on `105002` the client refreshes
/// them through the app's [`StoredTokens`] keeper, which saves them for every shop of
/// the authorization.
pub async fn with_shop<T, F, Fut>(app: &App, shop: &ShopRecord, call: F) -> Result<T, ShopError>
where
    F: FnOnce(ShopAuth) -> Fut,
    Fut: Future<Output = Result<T, TikTokError>>,
{
    let tokens = shop
        .tokens(&app.secrets.token_cipher)
        .ok_or_else(|| ShopError::NoTokens(shop.shop_id.clone()))?;
    let auth = ShopAuth {
        shop_id: shop.shop_id.clone(),
        cipher: shop.cipher.clone(),
        grant: Grant::kept(tokens, app.token_keeper.clone(), owner_of(shop)),
    };
    Ok(call(auth).await?)
}

/// The authorization a shop's tokens belong to: one seller (open id) of one store; it
/// may cover several shops.
pub fn owner_of(shop: &ShopRecord) -> String {
    format!("{}|{}", shop.store_id, shop.open_id)
}

/// Saves refreshed tokens on every shop of the authorization, re-reading each shop
/// so a concurrent change is not lost.
async fn persist(
    table: &dyn Table,
    cipher: &TokenCipher,
    store_id: &str,
    open_id: &str,
    tokens: &Tokens,
) -> Result<(), StorageError> {
    for shop in accounts::list_shops(table, store_id)
        .await?
        .into_iter()
        .filter(|s| s.open_id == open_id)
    {
        let mut saved = false;
        for _ in 0..3 {
            let Some(mut current) = accounts::get_shop(table, store_id, &shop.shop_id).await? else {
                break;
            };
            current.set_tokens(cipher, tokens);
            match accounts::save_shop(table, &current).await {
                Err(StorageError::ConditionFailed { .. }) => continue,
                other => {
                    other?;
                    saved = true;
                    break;
                }
            }
        }
        if !saved {
            return Err(StorageError::Unavailable(format!(
                "shop {} kept changing while saving its tokens",
                shop.shop_id
            )));
        }
    }
    Ok(())
}

/// Keeps shop tokens in the table and refreshes each authorization once, whichever
/// worker (or instance) notices the expiry first; the others get its tokens.
pub struct StoredTokens {
    table: Arc<dyn Table>,
    cipher: TokenCipher,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl StoredTokens {
    /// A keeper over `table`, sealing with `cipher`.
    pub fn new(table: Arc<dyn Table>, cipher: TokenCipher) -> Self {
        Self {
            table,
            cipher,
            locks: Mutex::default(),
        }
    }

    /// The tokens stored for an authorization.
    async fn stored(&self, store_id: &str, open_id: &str) -> Result<Option<Tokens>, StorageError> {
        let shops = accounts::list_shops(self.table.as_ref(), store_id).await?;
        Ok(shops
            .iter()
            .filter(|s| s.open_id == open_id)
            .find_map(|s| s.tokens(&self.cipher)))
    }
}

fn unavailable(error: impl std::fmt::Display) -> TikTokError {
    TikTokError::Retryable {
        code: 0,
        message: format!("token store: {error}"),
        request_id: String::new(),
    }
}

#[async_trait::async_trait]
impl TokenKeeper for StoredTokens {
    async fn refresh(
        &self,
        client: &crate::tiktok::Client,
        owner: &str,
        stale: &SecretString,
    ) -> Result<Tokens, TikTokError> {
        let (store_id, open_id) = owner.split_once('|').unwrap_or((owner, ""));
        let lock = self
            .locks
            .lock()
            .expect("keeper locks")
            .entry(owner.to_string())
            .or_default()
            .clone();
        let _single_flight = lock.lock().await;
        let key = crate::crypto::sha256_hex(stale.expose().as_bytes());
        for _ in 0..50 {
            let current = self
                .stored(store_id, open_id)
                .await
                .map_err(unavailable)?
                .ok_or_else(|| unavailable("the authorization has no tokens"))?;
            if current.access_token != *stale {
                return Ok(current);
            }
            match idempotency::claim(
                self.table.as_ref(),
                "token-refresh",
                &key,
                Duration::from_secs(30),
                Duration::from_secs(3600),
            )
            .await
            .map_err(unavailable)?
            {
                idempotency::Claim::Acquired => {
                    let refreshed = client.refresh_token(current.refresh_token.expose()).await;
                    let tokens = match refreshed {
                        Ok(granted) => Tokens::from(&granted),
                        Err(error) => {
                            idempotency::release(self.table.as_ref(), "token-refresh", &key)
                                .await
                                .map_err(unavailable)?;
                            return Err(error);
                        }
                    };
                    persist(self.table.as_ref(), &self.cipher, store_id, open_id, &tokens)
                        .await
                        .map_err(unavailable)?;
                    idempotency::complete(
                        self.table.as_ref(),
                        "token-refresh",
                        &key,
                        serde_json::json!({}),
                        Duration::from_secs(3600),
                    )
                    .await
                    .map_err(unavailable)?;
                    tracing::info!(owner, "refreshed TikTok tokens");
                    return Ok(tokens);
                }
                // Another worker is refreshing (or just did): wait for its tokens.
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        Err(unavailable("another worker's token refresh did not finish"))
    }
}

/// What a refresh attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Tokens are fresh enough.
    NotDue,
    /// Refreshed and saved.
    Refreshed,
    /// TikTok refused: the shop now needs re-authorization.
    NeedsReauthorization,
    /// The shop is not active.
    Skipped,
}

/// Refreshes a shop's tokens if they expire within [`REFRESH_AHEAD`], through the
/// keeper (single-flight across workers). A refusal flags the shop.
pub async fn refresh_if_due(app: &App, store_id: &str, shop_id: &str, now: i64) -> Result<RefreshOutcome, ShopError> {
    let table = app.table.as_ref();
    let Some(shop) = accounts::get_shop(table, store_id, shop_id).await? else {
        return Ok(RefreshOutcome::Skipped);
    };
    if shop.status != ShopStatus::Active {
        return Ok(RefreshOutcome::Skipped);
    }
    if shop.access_expires_at - now > REFRESH_AHEAD {
        return Ok(RefreshOutcome::NotDue);
    }
    let Some(tokens) = shop.tokens(&app.secrets.token_cipher) else {
        accounts::flag_shop(
            table,
            store_id,
            shop_id,
            "The shop's tokens are missing; connect it again.",
        )
        .await?;
        return Ok(RefreshOutcome::NeedsReauthorization);
    };
    match app
        .token_keeper
        .refresh(&app.tiktok, &owner_of(&shop), &tokens.access_token)
        .await
    {
        Ok(_) => Ok(RefreshOutcome::Refreshed),
        Err(error) if error.is_retryable() => Err(error.into()),
        Err(error) => {
            tracing::warn!(store = store_id, shop = shop_id, %error, "token refresh refused");
            accounts::flag_shop(
                table,
                store_id,
                shop_id,
                "TikTok refused to renew access. Re-authorize the shop to resume syncing.",
            )
            .await?;
            Ok(RefreshOutcome::NeedsReauthorization)
        }
    }
}

/// Walks every connected shop and refreshes the due ones; returns how many were refreshed.
pub async fn refresh_all(app: &App) -> Result<usize, ShopError> {
    let now = unix_now();
    let mut refreshed = 0;
    let mut cursor = None;
    loop {
        let (entries, next) = accounts::shop_directory_page(app.table.as_ref(), cursor).await?;
        for (shop_id, store_id) in entries {
            match refresh_if_due(app, &store_id, &shop_id, now).await {
                Ok(RefreshOutcome::Refreshed) => refreshed += 1,
                Ok(_) => {}
                // One shop's temporary failure must not stop the others; the next run retries.
                Err(error) => tracing::warn!(store = %store_id, shop = %shop_id, %error, "token refresh failed"),
            }
        }
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(refreshed),
        }
    }
}
