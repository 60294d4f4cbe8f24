//! Accounts: the store records (one per installed store) and the TikTok shops
//! connected to them, with tokens sealed by [`crate::crypto::TokenCipher`]. Keys:
//! `STORE#<hash>` / `META` for the store, `STORE#<hash>` / `SHOP#<id>` for each shop,
//! and `SHOPDIR` / `<shop id>` mapping a shop to its store (webhook routing, the token
//! refresher's walk over all shops).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::crypto::SecretString;
use crate::crypto::TokenCipher;
use crate::rules::catalog::{SettingError, within};
use crate::storage::{Condition, Item, Query, StorageError, Table, WriteOp, decode, encode, unix_now};
use crate::store::Platform;
use crate::tiktok::Tokens;

/// Partition of a store.
pub fn store_pk(store_id: &str) -> String {
    format!("STORE#{store_id}")
}

const META: &str = "META";
const SHOP_DIRECTORY: &str = "SHOPDIR";

/// How the store is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionMode {
    /// Installed as a BigCommerce app (OAuth).
    App,
    /// A store-level API account pasted by the merchant.
    ApiAccount,
}

/// Lifecycle of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreStatus {
    /// Connected and working.
    Installed,
    /// Uninstalled: tokens and personal data purged, no work scheduled.
    Uninstalled,
}

/// Steps of the onboarding wizard, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnboardingStep {
    /// Connect a TikTok shop.
    ConnectShop,
    /// Choose the default warehouse.
    ChooseWarehouse,
    /// Default profile (placeholder until the catalogue issue).
    DefaultProfile,
    /// Default configuration.
    Configuration,
    /// Done: the dashboard.
    Done,
}

/// Merchant settings chosen during onboarding (extended by later issues).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Create TikTok products for new store products.
    pub auto_create: bool,
    /// Push store product changes to TikTok.
    pub auto_update: bool,
    /// Delete TikTok products when the store product is deleted.
    pub auto_delete: bool,
    /// Import orders awaiting collection too.
    pub import_awaiting_collection: bool,
    /// Import sample orders (free samples TikTok sends to creators).
    #[serde(default)]
    pub import_sample_orders: bool,
    /// Import orders TikTok fulfils from its own warehouses (FBT).
    #[serde(default)]
    pub import_fbt_orders: bool,
    /// Put before the TikTok order id in the store order's staff note (e.g. `TT-`), so
    /// the merchant tells TikTok orders apart at a glance. The external order id stays
    /// TikTok's own: the exactly-once look-up depends on it. Up to
    /// [`MAX_ORDER_PREFIX`] letters, digits, `-` or `_`.
    #[serde(default)]
    pub order_prefix: String,
    /// Which unit price store order lines carry.
    #[serde(default)]
    pub item_price: crate::rules::orders::ItemPrice,
    /// Automatic retries of a failed order before it is parked: from 0 to
    /// [`MAX_ORDER_RETRIES`].
    #[serde(default = "default_order_retries")]
    pub order_retries: u32,
    /// Store carrier name → TikTok shipping provider name: at most [`MAX_CARRIERS`]
    /// pairs of 1 to [`MAX_CARRIER_NAME`] characters each.
    #[serde(default)]
    pub carrier_map: Vec<(String, String)>,
    /// TikTok shipping provider for carriers neither the map nor TikTok's names match:
    /// 1 to [`MAX_CARRIER_NAME`] characters.
    #[serde(default)]
    pub default_provider: Option<String>,
    /// Archive the store order when TikTok cancels it.
    #[serde(default)]
    pub archive_cancelled: bool,
    /// Cancel the store order when TikTok cancels the order.
    #[serde(default = "enabled")]
    pub cancel_store_orders: bool,
    /// The store status an order takes at each TikTok status (never cancelled or
    /// refunded: see [`crate::rules::orders::StatusMapping::problem`]).
    #[serde(default)]
    pub status_mapping: crate::rules::orders::StatusMapping,
    /// The reason TikTok is given when the merchant cancels in the store.
    #[serde(default)]
    pub store_cancel_reason: crate::rules::orders::CancelReason,
    /// What a store change may change on TikTok.
    #[serde(default)]
    pub sync_fields: crate::rules::catalog::SyncFields,
    /// How stock is published to TikTok (ranges: [`crate::rules::catalog::InventoryPolicy`]).
    #[serde(default)]
    pub inventory: crate::rules::catalog::InventoryPolicy,
    /// Record TikTok refunds on the store order (and mark it Refunded or Partially Refunded).
    #[serde(default = "enabled")]
    pub refund_in_store: bool,
    /// Put returned items back in stock once the seller received them.
    #[serde(default = "enabled")]
    pub restock_returns: bool,
    /// Which notices are also mailed to the owner.
    #[serde(default)]
    pub notifications: NotificationSettings,
    /// The e-mail address store orders carry when TikTok sends no buyer e-mail (TikTok
    /// hides it for most orders): at most [`MAX_EMAIL`] characters, one `@`, no spaces.
    /// `None` leaves the store order's e-mail empty.
    #[serde(default)]
    pub default_buyer_email: Option<String>,
    /// The shop the settings pages show first when the store has several.
    #[serde(default)]
    pub default_shop_id: Option<String>,
    /// Which store field gives the barcode TikTok lists a SKU with, and whether the
    /// products are GTIN-exempt.
    #[serde(default)]
    pub gtin: crate::rules::gtin::GtinRule,
}

/// Which notices ([`crate::notices`]) are also mailed to the store owner's address
/// (at most one mail per kind, shop and day). Both on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotificationSettings {
    /// Mail when a shop's orders could not be created in the store.
    pub email_orders_need_attention: bool,
    /// Mail when a shop's TikTok authorization expires within 7 days or was revoked.
    pub email_authorization_expiring: bool,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            email_orders_need_attention: true,
            email_authorization_expiring: true,
        }
    }
}

fn enabled() -> bool {
    true
}

fn default_order_retries() -> u32 {
    crate::rules::orders::DEFAULT_RETRIES
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            auto_create: false,
            auto_update: true,
            auto_delete: false,
            import_awaiting_collection: false,
            import_sample_orders: false,
            import_fbt_orders: false,
            order_prefix: String::new(),
            item_price: crate::rules::orders::ItemPrice::default(),
            order_retries: crate::rules::orders::DEFAULT_RETRIES,
            carrier_map: Vec::new(),
            default_provider: None,
            archive_cancelled: false,
            cancel_store_orders: true,
            status_mapping: crate::rules::orders::StatusMapping::default(),
            store_cancel_reason: crate::rules::orders::CancelReason::default(),
            sync_fields: crate::rules::catalog::SyncFields::default(),
            inventory: crate::rules::catalog::InventoryPolicy::default(),
            refund_in_store: true,
            restock_returns: true,
            notifications: NotificationSettings::default(),
            default_buyer_email: None,
            default_shop_id: None,
            gtin: crate::rules::gtin::GtinRule::default(),
        }
    }
}

/// Most automatic retries of a failed order ([`Settings::order_retries`]).
pub const MAX_ORDER_RETRIES: u32 = 10;
/// Longest order id prefix ([`Settings::order_prefix`]), in characters.
pub const MAX_ORDER_PREFIX: usize = 10;
/// Most lines of the carrier map ([`Settings::carrier_map`]).
pub const MAX_CARRIERS: usize = 100;
/// Longest carrier or shipping provider name, in characters.
pub const MAX_CARRIER_NAME: usize = 100;
/// Longest e-mail address ([`Settings::default_buyer_email`]), in characters (RFC 5321).
pub const MAX_EMAIL: usize = 254;

impl Settings {
    /// Checks every setting against its range (documented on each field). Errors:
    /// the first [`SettingError`] found, naming the field by its JSON path
    /// (`inventory.reserve must be between 0 and 100000 units`).
    pub fn validate(&self) -> Result<(), SettingError> {
        let invalid = |field: &str, rule: String| SettingError::Invalid {
            field: field.to_string(),
            rule,
        };
        within("order_retries", self.order_retries, 0, MAX_ORDER_RETRIES, " retries")?;
        let prefix_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if self.order_prefix.len() > MAX_ORDER_PREFIX || !self.order_prefix.chars().all(prefix_char) {
            let rule = format!("takes up to {MAX_ORDER_PREFIX} letters, digits, - or _");
            return Err(invalid("order_prefix", rule));
        }
        within(
            "carrier_map",
            self.carrier_map.len() as u64,
            0,
            MAX_CARRIERS as u64,
            " lines",
        )?;
        let name = |field: &str, name: &str| {
            let length = if name.trim().is_empty() {
                0
            } else {
                name.chars().count()
            };
            within(field, length as u64, 1, MAX_CARRIER_NAME as u64, " characters")
        };
        for (i, (store, tiktok)) in self.carrier_map.iter().enumerate() {
            name(&format!("carrier_map[{i}].store_carrier"), store)?;
            name(&format!("carrier_map[{i}].tiktok_provider"), tiktok)?;
        }
        if let Some(provider) = &self.default_provider {
            name("default_provider", provider)?;
        }
        if let Some(problem) = self.status_mapping.problem() {
            return Err(invalid("status_mapping", problem));
        }
        if let Some(email) = &self.default_buyer_email {
            let parts: Vec<&str> = email.split('@').collect();
            let plausible = email.chars().count() <= MAX_EMAIL
                && !email.chars().any(char::is_whitespace)
                && matches!(parts.as_slice(), [local, domain] if !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.'));
            if !plausible {
                return Err(invalid(
                    "default_buyer_email",
                    format!("“{email}” is not an e-mail address such as orders@example.com"),
                ));
            }
        }
        self.inventory.validate()
    }
}

/// A store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreRecord {
    /// The tenant id ([`crate::store::tenant_id`]): the store's own id on its
    /// platform, prefixed by the platform for any but BigCommerce (whose records, keyed
    /// by the bare store hash before there were other platforms, keep their keys).
    #[serde(alias = "store_hash")]
    pub store_id: String,
    /// The platform the store runs on (records from before there were others have
    /// none and are BigCommerce).
    #[serde(default)]
    pub platform: Platform,
    /// How it is connected.
    pub mode: ConnectionMode,
    /// Lifecycle.
    pub status: StoreStatus,
    /// Sealed access token (purged on uninstall).
    pub access_token: Option<String>,
    /// Sealed per-store webhook secret.
    pub webhook_secret: Option<String>,
    /// Sealed client secret of the store-level API account the store is connected
    /// with, when the merchant gave it: the key of that account's webhook signatures
    /// (purged on uninstall). `None` for app installs, whose key is the app's secret.
    #[serde(default)]
    pub account_client_secret: Option<String>,
    /// Where the store answers, for platforms the merchant hosts (Magento 2); `None`
    /// for BigCommerce, whose API host is the app's.
    #[serde(default)]
    pub endpoint: Option<StoreEndpoint>,
    /// Granted scopes.
    pub scope: String,
    /// Owner's user id.
    pub owner_id: u64,
    /// Owner's email (personal data; purged on uninstall).
    pub owner_email: Option<String>,
    /// Users allowed to open the app.
    pub user_ids: Vec<u64>,
    /// The store's own name, as its platform reports it (BigCommerce `/v2/store`),
    /// saved at every connection; empty for records saved before it was kept.
    #[serde(default)]
    pub name: String,
    /// Store currency.
    pub currency: String,
    /// Weight units.
    pub weight_units: String,
    /// Dimension units.
    pub dimension_units: String,
    /// Onboarding progress.
    pub onboarding: OnboardingStep,
    /// Settings.
    pub settings: Settings,
    /// Installed (Unix seconds).
    pub installed_at: i64,
    /// Id of the current installation, new at every install after an uninstall: the
    /// sessions opened under an earlier one are refused.
    #[serde(default)]
    pub installation: String,
    /// Uninstalled (Unix seconds).
    pub uninstalled_at: Option<i64>,
    /// Optimistic version (not stored in `data`).
    #[serde(skip)]
    pub version: u64,
}

/// Where a store the merchant hosts answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreEndpoint {
    /// Base URL, without a trailing `/` (`https://shop.example.com`).
    pub url: String,
    /// The scope within the install requests go to: Magento's store view code (`default`).
    pub scope: String,
    /// Send the access token as a standalone Bearer token instead of signing each
    /// request (Magento 2.4.4+, only where the merchant allowed it in the store's OAuth
    /// settings); false signs with OAuth 1.0a, which every store accepts.
    #[serde(default)]
    pub bearer: bool,
    /// File every marketplace order under one shared customer instead of one per buyer
    /// e-mail (PrestaShop).
    #[serde(default)]
    pub shared_customer: bool,
}

impl StoreRecord {
    /// How the merchant knows the store: a store they host by its address and store view
    /// or shop (`shop.example.com (default)`, `shop.example.com (shop 1)`), a BigCommerce
    /// store by its name (by its hash until the name is known).
    pub fn display_name(&self) -> String {
        match &self.endpoint {
            None if !self.name.trim().is_empty() => self.name.trim().to_string(),
            Some(endpoint) => {
                let address = endpoint
                    .url
                    .trim_start_matches("https://")
                    .trim_start_matches("http://");
                match self.platform {
                    Platform::PrestaShop => format!("{address} (shop {})", endpoint.scope),
                    _ => format!("{address} ({})", endpoint.scope),
                }
            }
            None => crate::store::native_id(self.platform, &self.store_id).to_string(),
        }
    }

    /// A store being connected for the first time: no credentials yet, onboarding at
    /// its first step, default settings.
    pub fn new(store_id: &str, platform: Platform, mode: ConnectionMode, owner_id: u64) -> Self {
        Self {
            store_id: store_id.to_string(),
            platform,
            mode,
            status: StoreStatus::Installed,
            access_token: None,
            webhook_secret: None,
            account_client_secret: None,
            endpoint: None,
            scope: String::new(),
            owner_id,
            owner_email: None,
            user_ids: Vec::new(),
            name: String::new(),
            currency: String::new(),
            weight_units: String::new(),
            dimension_units: String::new(),
            onboarding: OnboardingStep::ConnectShop,
            settings: Settings::default(),
            installed_at: unix_now(),
            installation: String::new(),
            uninstalled_at: None,
            version: 0,
        }
    }

    fn token_context(&self) -> String {
        format!("{}/access_token", store_pk(&self.store_id))
    }

    fn secret_context(&self) -> String {
        format!("{}/webhook_secret", store_pk(&self.store_id))
    }

    fn account_secret_context(&self) -> String {
        format!("{}/account_client_secret", store_pk(&self.store_id))
    }

    /// Seals and sets the access token.
    pub fn set_access_token(&mut self, cipher: &TokenCipher, token: &SecretString) {
        self.access_token = Some(cipher.seal(token.expose(), &self.token_context()));
    }

    /// The access token, when the store is installed.
    pub fn access_token(&self, cipher: &TokenCipher) -> Option<SecretString> {
        self.access_token
            .as_ref()
            .and_then(|sealed| cipher.open(sealed, &self.token_context()).ok())
    }

    /// Seals and sets the webhook secret.
    pub fn set_webhook_secret(&mut self, cipher: &TokenCipher, secret: &str) {
        self.webhook_secret = Some(cipher.seal(secret, &self.secret_context()));
    }

    /// The webhook secret.
    pub fn webhook_secret(&self, cipher: &TokenCipher) -> Option<SecretString> {
        self.webhook_secret
            .as_ref()
            .and_then(|sealed| cipher.open(sealed, &self.secret_context()).ok())
    }

    /// Seals and sets (or, with `None`, clears) the API account's client secret.
    pub fn set_account_client_secret(&mut self, cipher: &TokenCipher, secret: Option<&SecretString>) {
        self.account_client_secret = secret.map(|s| cipher.seal(s.expose(), &self.account_secret_context()));
    }

    /// The API account's client secret, when the merchant gave it.
    pub fn account_client_secret(&self, cipher: &TokenCipher) -> Option<SecretString> {
        self.account_client_secret
            .as_ref()
            .and_then(|sealed| cipher.open(sealed, &self.account_secret_context()).ok())
    }
}

/// State of a connected shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShopStatus {
    /// Tokens valid; work runs.
    Active,
    /// Tokens could not be refreshed or the seller deauthorized: the merchant must re-authorize.
    NeedsReauthorization,
    /// Disconnected by the merchant.
    Disconnected,
}

/// A warehouse as the settings page offers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarehouseChoice {
    /// Warehouse id.
    pub id: String,
    /// Name.
    pub name: String,
    /// TikTok's default.
    pub is_default: bool,
}

impl WarehouseChoice {
    /// The enabled sales warehouses among TikTok's warehouses.
    pub fn sales(warehouses: Vec<crate::tiktok::model::Warehouse>) -> Vec<Self> {
        warehouses
            .into_iter()
            .filter(|w| w.is_usable_for_sales())
            .map(|w| Self {
                id: w.id.to_string(),
                name: w.name,
                is_default: w.is_default,
            })
            .collect()
    }
}

/// A TikTok shop connected to a store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShopRecord {
    /// The tenant id of the store it is connected to ([`StoreRecord::store_id`]).
    #[serde(alias = "store_hash")]
    pub store_id: String,
    /// Shop id.
    pub shop_id: String,
    /// Shop name.
    pub name: String,
    /// Region.
    pub region: String,
    /// Currency of the shop's prices.
    pub currency: String,
    /// `shop_cipher`.
    pub cipher: String,
    /// Authorizing seller.
    pub open_id: String,
    /// Sealed access token.
    pub access_token: Option<String>,
    /// Access token expiry (Unix seconds).
    pub access_expires_at: i64,
    /// Sealed refresh token.
    pub refresh_token: Option<String>,
    /// Refresh token expiry (Unix seconds).
    pub refresh_expires_at: i64,
    /// State.
    pub status: ShopStatus,
    /// Why the merchant must act, in words.
    pub attention: Option<String>,
    /// When TikTok says the authorization expires (Unix seconds).
    pub authorization_expires_at: Option<i64>,
    /// Sales warehouses.
    pub warehouses: Vec<WarehouseChoice>,
    /// Chosen default warehouse.
    pub default_warehouse_id: Option<String>,
    /// Store → shop currency rate when they differ.
    pub conversion_rate: Option<Decimal>,
    /// When the merchant last set the conversion rate (Unix seconds).
    #[serde(default)]
    pub conversion_rate_set_at: Option<i64>,
    /// Webhook topics subscribed through the Event API.
    pub webhooks_subscribed: bool,
    /// Automatic answers to after-sales requests (all off by default).
    #[serde(default)]
    pub after_sale_rules: crate::rules::returns::AutoRules,
    /// Optimistic version (not stored in `data`).
    #[serde(skip)]
    pub version: u64,
}

/// The most a conversion rate may be ([`ShopRecord::set_conversion_rate`]).
pub const MAX_CONVERSION_RATE: i64 = 100_000;

impl ShopRecord {
    /// Chooses the warehouse TikTok stock goes to. Errors: the reason, in the merchant's
    /// words, when `warehouse_id` is not one of the shop's sales warehouses.
    pub fn choose_warehouse(&mut self, warehouse_id: &str) -> Result<(), String> {
        if !self.warehouses.iter().any(|w| w.id == warehouse_id) {
            return Err(format!(
                "Warehouse {warehouse_id} is not a sales warehouse of {}.",
                self.name
            ));
        }
        self.default_warehouse_id = Some(warehouse_id.to_string());
        Ok(())
    }

    /// Sets the conversion rate (1 store currency unit = `rate` shop currency units,
    /// more than 0 and at most [`MAX_CONVERSION_RATE`]; `None` clears it), dating a
    /// change. Errors: the reason, naming the shop.
    pub fn set_conversion_rate(&mut self, rate: Option<Decimal>) -> Result<(), String> {
        if let Some(rate) = rate
            && !(rate > Decimal::ZERO && rate <= Decimal::from(MAX_CONVERSION_RATE))
        {
            return Err(format!(
                "The conversion rate of {} must be a number above 0, at most {MAX_CONVERSION_RATE}.",
                self.name
            ));
        }
        if self.conversion_rate != rate {
            self.conversion_rate_set_at = rate.map(|_| unix_now());
        }
        self.conversion_rate = rate;
        Ok(())
    }

    fn context(&self, which: &str) -> String {
        format!("{}/SHOP#{}/{which}", store_pk(&self.store_id), self.shop_id)
    }

    /// Seals and sets both tokens with their expiries.
    pub fn set_tokens(&mut self, cipher: &TokenCipher, tokens: &Tokens) {
        self.access_token = Some(cipher.seal(tokens.access_token.expose(), &self.context("access_token")));
        self.refresh_token = Some(cipher.seal(tokens.refresh_token.expose(), &self.context("refresh_token")));
        self.access_expires_at = tokens.access_expires_at;
        self.refresh_expires_at = tokens.refresh_expires_at;
    }

    /// The tokens, when present and readable.
    pub fn tokens(&self, cipher: &TokenCipher) -> Option<Tokens> {
        let access = cipher
            .open(self.access_token.as_ref()?, &self.context("access_token"))
            .ok()?;
        let refresh = cipher
            .open(self.refresh_token.as_ref()?, &self.context("refresh_token"))
            .ok()?;
        Some(Tokens {
            access_token: access,
            access_expires_at: self.access_expires_at,
            refresh_token: refresh,
            refresh_expires_at: self.refresh_expires_at,
        })
    }

    /// Why syncing is blocked, if it is: a currency mismatch without a rate, or a
    /// shop that needs the merchant.
    pub fn sync_blocker(&self, store_currency: &str) -> Option<String> {
        if self.status != ShopStatus::Active {
            return Some(
                self.attention
                    .clone()
                    .unwrap_or_else(|| "This shop is not active.".into()),
            );
        }
        if !store_currency.is_empty() && self.currency != store_currency && self.conversion_rate.is_none() {
            return Some(format!(
                "Your store sells in {store_currency} but this TikTok shop sells in {}. Set a conversion rate to start syncing.",
                self.currency
            ));
        }
        None
    }
}

/// The store, if it was ever connected.
pub async fn get_store(table: &dyn Table, store_id: &str) -> Result<Option<StoreRecord>, StorageError> {
    let Some(item) = table.get(&store_pk(store_id), META).await? else {
        return Ok(None);
    };
    let mut record: StoreRecord = decode(&item)?;
    record.version = item.version;
    Ok(Some(record))
}

/// Writes the store: created when `record.version` is 0 and absent, else only if no
/// one changed it since it was read.
pub async fn save_store(table: &dyn Table, record: &StoreRecord) -> Result<(), StorageError> {
    let item = Item::new(store_pk(&record.store_id), META, encode(record));
    save(table, item, record.version).await
}

async fn save(table: &dyn Table, mut item: Item, version: u64) -> Result<(), StorageError> {
    if version == 0 && table.get(&item.pk, &item.sk).await?.is_none() {
        return table.put(item, Condition::Absent).await;
    }
    item.version = version;
    table.put_versioned(item).await.map(drop)
}

/// One shop of a store.
pub async fn get_shop(table: &dyn Table, store_id: &str, shop_id: &str) -> Result<Option<ShopRecord>, StorageError> {
    let Some(item) = table.get(&store_pk(store_id), &format!("SHOP#{shop_id}")).await? else {
        return Ok(None);
    };
    let mut record: ShopRecord = decode(&item)?;
    record.version = item.version;
    Ok(Some(record))
}

/// Every shop of a store.
pub async fn list_shops(table: &dyn Table, store_id: &str) -> Result<Vec<ShopRecord>, StorageError> {
    let mut shops = Vec::new();
    let mut cursor = None;
    loop {
        let page = table
            .query(Query::table(store_pk(store_id), "SHOP#").after(cursor))
            .await?;
        for item in &page.items {
            let mut record: ShopRecord = decode(item)?;
            record.version = item.version;
            shops.push(record);
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(shops),
        }
    }
}

/// Writes a shop (optimistically, like [`save_store`]) and its directory entry.
pub async fn save_shop(table: &dyn Table, record: &ShopRecord) -> Result<(), StorageError> {
    let item = Item::new(
        store_pk(&record.store_id),
        format!("SHOP#{}", record.shop_id),
        encode(record),
    );
    save(table, item, record.version).await?;
    let directory = Item::new(
        SHOP_DIRECTORY,
        record.shop_id.clone(),
        serde_json::json!({"store_hash": record.store_id}),
    );
    table.put(directory, Condition::None).await
}

/// The store a shop belongs to (webhook routing).
pub async fn store_of_shop(table: &dyn Table, shop_id: &str) -> Result<Option<String>, StorageError> {
    let item = table.get(SHOP_DIRECTORY, shop_id).await?;
    Ok(item.and_then(|i| i.data["store_hash"].as_str().map(str::to_string)))
}

/// Every (shop id, store hash) pair, one page at a time.
pub async fn shop_directory_page(
    table: &dyn Table,
    cursor: Option<String>,
) -> Result<(Vec<(String, String)>, Option<String>), StorageError> {
    let page = table.query(Query::table(SHOP_DIRECTORY, "").after(cursor)).await?;
    let entries = page
        .items
        .iter()
        .filter_map(|item| Some((item.sk.clone(), item.data["store_hash"].as_str()?.to_string())))
        .collect();
    Ok((entries, page.cursor))
}

/// Every store with a connected shop (from the shop directory), each once.
pub async fn stores_with_shops(table: &dyn Table) -> Result<std::collections::BTreeSet<String>, StorageError> {
    let mut stores = std::collections::BTreeSet::new();
    let mut cursor = None;
    loop {
        let (entries, next) = shop_directory_page(table, cursor).await?;
        stores.extend(entries.into_iter().map(|(_, store_id)| store_id));
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(stores),
        }
    }
}

/// Uninstall: purges tokens and personal data of the store and its shops, marks the
/// store uninstalled and drops the shops from the directory, so no scheduled work
/// finds them again. One transaction per shop plus one for the store.
pub async fn purge_store(table: &dyn Table, store_id: &str) -> Result<(), StorageError> {
    for mut shop in list_shops(table, store_id).await? {
        shop.access_token = None;
        shop.refresh_token = None;
        shop.status = ShopStatus::Disconnected;
        shop.attention = Some("The app was uninstalled from the store.".into());
        let mut item = Item::new(store_pk(store_id), format!("SHOP#{}", shop.shop_id), encode(&shop));
        item.version = shop.version + 1;
        table
            .transact(vec![
                WriteOp::Put {
                    item,
                    condition: Condition::Version(shop.version),
                },
                WriteOp::Delete {
                    pk: SHOP_DIRECTORY.into(),
                    sk: shop.shop_id.clone(),
                    condition: Condition::None,
                },
            ])
            .await?;
    }
    let Some(mut store) = get_store(table, store_id).await? else {
        return Ok(());
    };
    store.status = StoreStatus::Uninstalled;
    store.access_token = None;
    store.webhook_secret = None;
    store.account_client_secret = None;
    store.owner_email = None;
    store.user_ids.clear();
    store.uninstalled_at = Some(unix_now());
    save_store(table, &store).await
}

/// Marks a shop as needing re-authorization with a reason the merchant reads.
pub async fn flag_shop(table: &dyn Table, store_id: &str, shop_id: &str, reason: &str) -> Result<(), StorageError> {
    let Some(mut shop) = get_shop(table, store_id, shop_id).await? else {
        return Ok(());
    };
    shop.status = ShopStatus::NeedsReauthorization;
    shop.attention = Some(reason.to_string());
    save_shop(table, &shop).await
}

fn webhook_seen_sk(shop_id: &str) -> String {
    format!("SEEN#WEBHOOK#{shop_id}")
}

/// Records that a verified TikTok webhook of a shop arrived at `at` (Unix seconds),
/// for the dashboard's connection health.
pub async fn note_webhook(table: &dyn Table, store_id: &str, shop_id: &str, at: i64) -> Result<(), StorageError> {
    let item = Item::new(
        store_pk(store_id),
        webhook_seen_sk(shop_id),
        serde_json::json!({"at": at}),
    );
    table.put(item, Condition::None).await
}

/// Which shops' webhook arrivals this process wrote lately, so a busy shop's
/// "last webhook" costs one table write a minute per process instead of one per webhook
/// (the dashboard shows it to the minute). One per [`crate::app::App`].
#[derive(Debug, Default)]
pub struct WebhooksNoted {
    /// `<store>/<shop>` → when this process last wrote it (Unix seconds).
    written: std::sync::Mutex<std::collections::HashMap<String, i64>>,
}

impl WebhooksNoted {
    /// How often one process writes a shop's last webhook, seconds.
    pub const EVERY_SECONDS: i64 = 60;

    /// [`note_webhook`] for a webhook arriving `at` (Unix seconds), unless this process
    /// wrote the shop's time less than [`Self::EVERY_SECONDS`] before. Errors: the
    /// table's (the next webhook tries again).
    pub async fn note(&self, table: &dyn Table, store_id: &str, shop_id: &str, at: i64) -> Result<(), StorageError> {
        let key = format!("{store_id}/{shop_id}");
        {
            let mut written = self.written.lock().expect("webhooks noted lock");
            if written.get(&key).is_some_and(|last| at - last < Self::EVERY_SECONDS) {
                return Ok(());
            }
            written.insert(key.clone(), at);
        }
        let noted = note_webhook(table, store_id, shop_id, at).await;
        if noted.is_err() {
            self.written.lock().expect("webhooks noted lock").remove(&key);
        }
        noted
    }

    /// Forgets that this process wrote the shop's time, as a process that has written
    /// nothing for it (a new instance, or one a minute later).
    pub fn forget(&self, store_id: &str, shop_id: &str) {
        self.written
            .lock()
            .expect("webhooks noted lock")
            .remove(&format!("{store_id}/{shop_id}"));
    }
}

/// When the shop's last verified TikTok webhook arrived (Unix seconds), if one did.
pub async fn last_webhook(table: &dyn Table, store_id: &str, shop_id: &str) -> Result<Option<i64>, StorageError> {
    let seen = table.get(&store_pk(store_id), &webhook_seen_sk(shop_id)).await?;
    Ok(seen.and_then(|i| i.data["at"].as_i64()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{native_id, tenant_id};

    #[tokio::test]
    async fn a_shops_last_webhook_is_written_once_a_minute_per_process() {
        let table = crate::storage::embedded::EmbeddedTable::in_memory().unwrap();
        let noted = WebhooksNoted::default();
        noted.note(&table, "s1", "shop", 1_000).await.unwrap();
        noted.note(&table, "s1", "shop", 1_059).await.unwrap();
        assert_eq!(
            last_webhook(&table, "s1", "shop").await.unwrap(),
            Some(1_000),
            "within the minute"
        );
        noted.note(&table, "s1", "other", 1_059).await.unwrap();
        assert_eq!(
            last_webhook(&table, "s1", "other").await.unwrap(),
            Some(1_059),
            "each shop its own"
        );
        noted.note(&table, "s1", "shop", 1_060).await.unwrap();
        assert_eq!(
            last_webhook(&table, "s1", "shop").await.unwrap(),
            Some(1_060),
            "a minute on"
        );
        noted.forget("s1", "shop");
        noted.note(&table, "s1", "shop", 1_061).await.unwrap();
        assert_eq!(
            last_webhook(&table, "s1", "shop").await.unwrap(),
            Some(1_061),
            "once forgotten"
        );
    }

    #[test]
    fn a_store_is_shown_by_its_name_else_its_hash_and_a_hosted_one_by_its_address() {
        let mut store = StoreRecord::new("abc123", Platform::BigCommerce, ConnectionMode::App, 7);
        assert_eq!(store.display_name(), "abc123", "no name yet: the hash");
        store.name = "Acme Outdoor".into();
        assert_eq!(store.display_name(), "Acme Outdoor");
        let mut hosted = StoreRecord::new("ps:x", Platform::PrestaShop, ConnectionMode::App, 7);
        hosted.name = "Acme PrestaShop".into();
        hosted.endpoint = Some(StoreEndpoint {
            url: "https://shop.example.com".into(),
            scope: "1".into(),
            bearer: false,
            shared_customer: false,
        });
        assert_eq!(hosted.display_name(), "shop.example.com (shop 1)");
    }

    #[tokio::test]
    async fn a_store_saved_before_there_were_platforms_loads_as_bigcommerce_under_its_old_key() {
        let dir = tempfile::tempdir().unwrap();
        let table = crate::storage::embedded::EmbeddedTable::open(dir.path()).unwrap();
        let store = StoreRecord {
            user_ids: vec![7],
            currency: "USD".into(),
            weight_units: "Ounces".into(),
            dimension_units: "Inches".into(),
            onboarding: OnboardingStep::Done,
            installed_at: 1,
            installation: "i1".into(),
            ..StoreRecord::new("abc123", Platform::BigCommerce, ConnectionMode::App, 7)
        };
        // The item as the connector wrote it before: `store_hash`, no `platform`.
        let mut old = encode(&store);
        let fields = old.as_object_mut().unwrap();
        let id = fields.remove("store_id").unwrap();
        fields.insert("store_hash".into(), id);
        fields.remove("platform");
        table
            .put(Item::new("STORE#abc123", META, old), Condition::None)
            .await
            .unwrap();
        let loaded = get_store(&table, &tenant_id(Platform::BigCommerce, "abc123"))
            .await
            .unwrap()
            .expect("found under the key it always had");
        assert_eq!(loaded.platform, Platform::BigCommerce);
        assert_eq!(loaded.store_id, "abc123");
        assert_eq!(native_id(loaded.platform, &loaded.store_id), "abc123");
        assert_eq!(
            Item::new(store_pk(&loaded.store_id), META, encode(&loaded)).data["platform"],
            "bigcommerce",
            "saved again, it says its platform"
        );
    }
}
