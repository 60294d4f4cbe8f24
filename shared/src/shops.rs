//! TikTok shop connections: turning an authorization code into stored shops (tokens
//! sealed, warehouses fetched, webhooks subscribed), calling TikTok for a shop with
//! its stored tokens (persisting them when the client refreshed them on `105002`),
//! and the proactive refresh the token-refresher runs.

use std::future::Future;

use crate::accounts::{self, ShopRecord, ShopStatus, WarehouseChoice};
use crate::app::App;
use crate::queue::JobError;
use crate::storage::{Condition, Item, StorageError, Table, unix_now};
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
        grant: Grant::kept(tokens, app.token_keeper.clone(), crate::tokens::owner_of(shop)),
    };
    Ok(call(auth).await?)
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
        .refresh(&app.tiktok, &crate::tokens::owner_of(&shop), &tokens.access_token)
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

/// Runs `poll` for every connected shop as `(store id, shop id)`, one after the
/// other; a shop whose poll fails is logged (with `what`) and the others go on.
/// Returns the sum of what the polls returned.
pub async fn each_shop<F, Fut>(app: &App, what: &'static str, poll: F) -> Result<usize, JobError>
where
    F: Fn(String, String) -> Fut,
    Fut: Future<Output = Result<usize, JobError>>,
{
    let table = app.table.as_ref();
    let mut total = 0;
    let mut cursor = None;
    loop {
        let (entries, next) = accounts::shop_directory_page(table, cursor).await?;
        for (shop_id, store_id) in entries {
            match poll(store_id.clone(), shop_id.clone()).await {
                Ok(count) => total += count,
                Err(error) => tracing::warn!(store = %store_id, shop = %shop_id, %error, what, "poll failed"),
            }
        }
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(total),
        }
    }
}

/// Overlap of each poll with the one before (seconds): what changed while the last
/// poll ran is read again.
pub const POLL_OVERLAP: i64 = 300;

/// A shop's poll watermark (`CURSOR#<kind>#<shop id>` under the store): `since` is
/// where the next poll starts (the newest `update_time` seen, less
/// [`POLL_OVERLAP`]; `first_look_back` seconds back the first time).
pub struct PollCursor {
    /// The shop (active).
    pub shop: ShopRecord,
    /// Poll from (Unix seconds).
    pub since: i64,
    watermark: i64,
    pk: String,
    sk: String,
}

impl PollCursor {
    /// The cursor of `kind` (`ORDERS`, `RETURNS`) for an active shop, starting
    /// `first_look_back` seconds back on its first poll; `None` when the shop is gone
    /// or not active.
    pub async fn open(
        table: &dyn Table,
        store_id: &str,
        shop_id: &str,
        kind: &str,
        first_look_back: i64,
    ) -> Result<Option<Self>, StorageError> {
        let Some(shop) = accounts::get_shop(table, store_id, shop_id).await? else {
            return Ok(None);
        };
        if shop.status != accounts::ShopStatus::Active {
            return Ok(None);
        }
        let pk = accounts::store_pk(store_id);
        let sk = format!("CURSOR#{kind}#{shop_id}");
        let watermark = table
            .get(&pk, &sk)
            .await?
            .and_then(|i| i.data["update_time"].as_i64())
            .unwrap_or_else(|| unix_now() - first_look_back);
        Ok(Some(Self {
            shop,
            since: watermark - POLL_OVERLAP,
            watermark,
            pk,
            sk,
        }))
    }

    /// Moves the watermark to the newest of `update_times` (never back) and notes
    /// when the poll ran (`polled_at`).
    pub async fn advance(
        self,
        table: &dyn Table,
        update_times: impl IntoIterator<Item = i64>,
    ) -> Result<(), StorageError> {
        let newest = update_times.into_iter().fold(self.watermark, i64::max);
        let data = serde_json::json!({"update_time": newest, "polled_at": unix_now()});
        table.put(Item::new(self.pk, self.sk, data), Condition::None).await
    }
}
