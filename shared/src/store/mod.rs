//! The store side of the connector. [`StorePlatform`] is what the connector needs
//! from any store (BigCommerce first; WooCommerce, Shopify, Magento 2 and PrestaShop
//! later), in the store-neutral types of this module.

pub mod bigcommerce;
pub mod magento2;
pub mod prestashop;

use async_trait::async_trait;
use rust_decimal::Decimal;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The store platforms the connector serves. Each has an adapter under [`crate::store`]
/// and a sandbox under `infra/`; [`crate::platforms`] opens the adapter of a store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// BigCommerce (the first platform; stores from before there were others).
    #[default]
    #[serde(rename = "bigcommerce")]
    BigCommerce,
    /// Magento 2 Open Source and Adobe Commerce (self-hosted or Cloud).
    #[serde(rename = "magento2")]
    Magento2,
    /// PrestaShop 8 and later (self-hosted), through its Webservice API.
    #[serde(rename = "prestashop")]
    PrestaShop,
}

impl Platform {
    /// Every platform, in the order the settings page lists them.
    pub const ALL: [Platform; 3] = [Platform::BigCommerce, Platform::Magento2, Platform::PrestaShop];

    /// The platform's name in URLs, flags and records (`bigcommerce`).
    pub fn slug(self) -> &'static str {
        match self {
            Self::BigCommerce => "bigcommerce",
            Self::Magento2 => "magento2",
            Self::PrestaShop => "prestashop",
        }
    }

    /// The platform's name for merchants (`BigCommerce`).
    pub fn label(self) -> &'static str {
        match self {
            Self::BigCommerce => "BigCommerce",
            Self::Magento2 => "Magento 2",
            Self::PrestaShop => "PrestaShop",
        }
    }

    /// The platform of a slug (`bigcommerce`); `None` for one the connector does not serve.
    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.slug() == slug)
    }
}

/// The tenant id of a store: `(platform, the store's own id on it)` in one string, the
/// key every record of the store is partitioned by. BigCommerce's is the bare store hash
/// (the keys of stores from before there were other platforms, kept unchanged); any
/// other platform's is `<slug>.<id>` (a BigCommerce hash has no `.`, so two platforms'
/// stores never share a key).
pub fn tenant_id(platform: Platform, store_id: &str) -> String {
    match platform {
        Platform::BigCommerce => store_id.to_string(),
        other => format!("{}.{store_id}", other.slug()),
    }
}

/// The store's own id on its platform, from its tenant id (the inverse of [`tenant_id`]).
pub fn native_id(platform: Platform, tenant_id: &str) -> &str {
    match platform {
        Platform::BigCommerce => tenant_id,
        other => tenant_id
            .strip_prefix(other.slug())
            .and_then(|rest| rest.strip_prefix('.'))
            .unwrap_or(tenant_id),
    }
}

/// How a platform tells the connector that something changed in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeFeed {
    /// Signed webhooks (and a periodic [`StorePlatform::changes`] sweep for the
    /// deliveries a store dropped).
    Webhooks,
    /// Only [`StorePlatform::changes`], polled on a schedule by the store poller.
    Polling,
}

/// What a platform can do, declared by its adapter: the connector (and the settings
/// page) leaves out what a store's platform cannot do instead of failing later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// How changes are learned.
    pub change_feed: ChangeFeed,
    /// Refunds of part of an order ([`StorePlatform::refund_order`] with any amount);
    /// without, only whole-order refunds.
    pub partial_refunds: bool,
    /// Stock per location (several sources or warehouses), not one level per variant.
    pub multi_location_stock: bool,
    /// [`StorePlatform::archive_order`] (hide an order, keep its records).
    pub order_archive: bool,
    /// [`StorePlatform::update_shipping_address`] on an order not yet shipped.
    pub shipping_address_edit: bool,
    /// A sales channel to file marketplace orders under ([`NewOrder::channel_id`]).
    pub sales_channels: bool,
    /// Orders are created at the marketplace's prices (lines, shipping, discounts as
    /// [`NewOrder`] gives them). Without, the store prices a created order from its
    /// own catalogue and shipping rates, and its total may differ from the buyer's
    /// (the adapter notes the marketplace's amounts on the order).
    pub marketplace_prices: bool,
}

/// Errors of store calls. [`StoreError::is_retryable`] says which a retry can fix.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The token is missing, wrong or revoked (401).
    #[error("the store refused the credentials: {0}")]
    Unauthorized(String),
    /// A scope is missing or the account may not do this (403).
    #[error("the store forbids this call: {0}")]
    Forbidden(String),
    /// No such resource (404).
    #[error("not found in the store: {0}")]
    NotFound(String),
    /// A duplicate or conflicting write (409).
    #[error("conflict in the store: {0}")]
    Conflict(String),
    /// The store rejected the data (400/422); the message lists the fields.
    #[error("the store rejected the request ({status}): {message}")]
    Invalid { status: u16, message: String },
    /// Rate limited and still so after waiting.
    #[error("the store rate limit was exceeded")]
    RateLimited,
    /// 5xx, timeout or dropped connection.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// The store's plan limit was reached (507); not retryable.
    #[error("the store plan limit was reached: {0}")]
    PlanLimit(String),
    /// The answer was not the documented shape.
    #[error("malformed store response: {0}")]
    Malformed(String),
    /// A webhook delivery failed verification.
    #[error("webhook rejected: {0}")]
    WebhookRejected(String),
}

impl StoreError {
    /// The error of a store's refusal with HTTP `status` and its `message` (the
    /// platform's words): 401 Unauthorized, 403 Forbidden, 404 NotFound, 409 Conflict,
    /// 429 RateLimited, 507 PlanLimit, other 5xx Unavailable, any other Invalid.
    pub fn from_status(status: u16, message: String) -> Self {
        match status {
            401 => Self::Unauthorized(message),
            403 => Self::Forbidden(message),
            404 => Self::NotFound(message),
            409 => Self::Conflict(message),
            429 => Self::RateLimited,
            507 => Self::PlanLimit(message),
            500.. => Self::Unavailable(format!("HTTP {status}: {message}")),
            code => Self::Invalid { status: code, message },
        }
    }

    /// Whether waiting and retrying can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited | Self::Unavailable(_))
    }
}

/// A store failure in a job: retried when waiting can help, else the store refused the
/// request itself (a 4xx such as 422) and [`JobError::NeedsMerchant`] parks the job at
/// once with the store's reason instead of retrying it into the dead-letter queue.
impl From<StoreError> for crate::queue::JobError {
    fn from(error: StoreError) -> Self {
        if error.is_retryable() {
            Self::Retryable(format!("store: {error}"))
        } else {
            Self::NeedsMerchant(format!("Your store refused the change: {error}"))
        }
    }
}

/// One option value of a variant (e.g. Color = Red).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionValue {
    /// Store id of the option.
    pub option_id: String,
    /// Option name shown to buyers (`Color`).
    pub option_name: String,
    /// Store id of the value.
    pub value_id: String,
    /// Value label (`Red`).
    pub label: String,
}

/// A sellable variant; products without options have exactly one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    /// Store variant id (what TikTok SKUs map to).
    pub id: String,
    /// Variant SKU.
    pub sku: String,
    /// Own price, or the product's when `None`.
    pub price: Option<Decimal>,
    /// Stock when tracked per variant.
    pub inventory_level: Option<i64>,
    /// Barcode.
    pub upc: Option<String>,
    /// Global Trade Item Number field.
    #[serde(default)]
    pub gtin: Option<String>,
    /// Options that define it.
    pub option_values: Vec<OptionValue>,
    /// Variant image.
    pub image_url: Option<String>,
    /// Not for sale.
    pub purchasing_disabled: bool,
}

/// A store as its settings describe it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreProfile {
    /// The store's name.
    pub name: String,
    /// Default currency (ISO 4217).
    pub currency: String,
    /// Weight and dimension units.
    pub units: Units,
}

/// A product image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// Largest available URL.
    pub url: String,
    /// Primary (thumbnail) image.
    pub is_primary: bool,
    /// Position.
    pub sort_order: i64,
}

/// How stock is tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InventoryTracking {
    /// Not tracked (always available).
    None,
    /// One level for the product.
    Product,
    /// One level per variant.
    Variant,
}

/// Units of weight and dimensions, from the store settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Units {
    /// E.g. `Ounces`, `Pounds`, `KGS`, `Grams`.
    pub weight: String,
    /// E.g. `Inches`, `Centimeters`.
    pub dimension: String,
}

/// A store product with everything the catalogue sync reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// Store product id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Product SKU.
    pub sku: String,
    /// HTML description.
    pub description: String,
    /// Price.
    pub price: Decimal,
    /// Sale price, when set.
    pub sale_price: Option<Decimal>,
    /// Brand id.
    pub brand_id: Option<String>,
    /// Category ids.
    pub categories: Vec<String>,
    /// Weight (store units).
    pub weight: Option<Decimal>,
    /// Width, height, depth (store units).
    pub dimensions: Option<[Decimal; 3]>,
    /// Stock tracking mode.
    pub inventory_tracking: InventoryTracking,
    /// Product-level stock.
    pub inventory_level: i64,
    /// Visible in the storefront.
    pub is_visible: bool,
    /// Barcode (UPC/EAN field).
    pub upc: Option<String>,
    /// Global Trade Item Number field.
    #[serde(default)]
    pub gtin: Option<String>,
    /// Images.
    pub images: Vec<Image>,
    /// Custom fields (name, value).
    pub custom_fields: Vec<(String, String)>,
    /// Variants (at least one).
    pub variants: Vec<Variant>,
    /// Last change, ISO-8601.
    pub date_modified: String,
}

/// One page of products.
#[derive(Debug, Clone, Default)]
pub struct ProductPage {
    /// The products.
    pub products: Vec<Product>,
    /// Opaque cursor of the next page; `None` on the last.
    pub next: Option<String>,
    /// Total matching, when known.
    pub total: Option<u64>,
}

/// Stock of a variant as the store sells it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantStock {
    /// Variant id.
    pub variant_id: String,
    /// Product id.
    pub product_id: String,
    /// Units available to sell.
    pub available: i64,
}

/// A named store entity (brand).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Named {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
}

/// A category with its parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    /// Id.
    pub id: String,
    /// Parent id (`None` at the root).
    pub parent_id: Option<String>,
    /// Name.
    pub name: String,
}

/// A postal address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Address {
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Street line 1.
    pub street_1: String,
    /// Street line 2.
    pub street_2: String,
    /// City.
    pub city: String,
    /// State or region.
    pub state: String,
    /// Postal code.
    pub zip: String,
    /// Country name.
    pub country: String,
    /// Two-letter country code.
    pub country_iso2: String,
    /// Phone.
    pub phone: String,
    /// Email (marketplaces give anonymized ones).
    pub email: String,
}

/// Store order states the connector moves orders through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Not completed.
    Pending,
    /// Paid, ready to fulfil.
    AwaitingFulfillment,
    /// Packed, waiting for the carrier.
    AwaitingShipment,
    /// Some items shipped.
    PartiallyShipped,
    /// Shipped.
    Shipped,
    /// Done.
    Completed,
    /// Cancelled.
    Cancelled,
    /// Refunded in full.
    Refunded,
    /// Refunded in part.
    PartiallyRefunded,
    /// Another store-specific state.
    Other(String),
}

/// One line of an order to create: a variant and a quantity, with prices paid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOrderLine {
    /// Store product id.
    pub product_id: String,
    /// Store variant id.
    pub variant_id: String,
    /// Units.
    pub quantity: u32,
    /// Unit price without tax.
    pub price_ex_tax: Decimal,
    /// Unit price with tax.
    pub price_inc_tax: Decimal,
}

/// An order to create from a marketplace order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOrder {
    /// The marketplace's order id (idempotency key in the store).
    pub external_order_id: String,
    /// Store sales channel, when the store has one for the marketplace.
    pub channel_id: Option<String>,
    /// State to create it in.
    pub status: OrderStatus,
    /// Billing address.
    pub billing_address: Address,
    /// Shipping address.
    pub shipping_address: Address,
    /// Shipping method label.
    pub shipping_method: String,
    /// Lines.
    pub lines: Vec<NewOrderLine>,
    /// Shipping charged, without and with tax.
    pub shipping_cost: (Decimal, Decimal),
    /// Other charges (marketplace buyer fees), without and with tax.
    pub handling_cost: (Decimal, Decimal),
    /// Order-level discount taken off the total.
    pub discount_amount: Decimal,
    /// Payment method label.
    pub payment_method: String,
    /// Buyer message.
    pub customer_message: String,
    /// Merchant-only note.
    pub staff_notes: String,
}

/// An order as the store holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Store order id.
    pub id: String,
    /// State.
    pub status: OrderStatus,
    /// The marketplace's order id.
    pub external_order_id: Option<String>,
    /// Total with tax.
    pub total_inc_tax: Decimal,
}

/// A shipment of (part of) an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shipment {
    /// Shipment id.
    pub id: String,
    /// Order id.
    pub order_id: String,
    /// Tracking number.
    pub tracking_number: String,
    /// Carrier as the store names it (provider or tracking carrier).
    pub carrier: String,
    /// Shipping method text.
    pub shipping_method: String,
    /// (variant id, quantity) shipped.
    pub items: Vec<(String, u32)>,
}

/// Store events the connector listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Topic {
    /// A product was created.
    ProductCreated,
    /// A product was updated.
    ProductUpdated,
    /// A product was deleted.
    ProductDeleted,
    /// Product-level stock changed by hand or through the API.
    ProductInventoryUpdated,
    /// Variant-level stock changed by hand or through the API.
    VariantInventoryUpdated,
    /// Product-level stock moved by an order (storefront, POS, another marketplace, or
    /// the connector's own store orders): placed, shipped, cancelled or refunded, as the
    /// store's inventory settings say.
    ProductInventoryOrderUpdated,
    /// Variant-level stock moved by an order (as [`Topic::ProductInventoryOrderUpdated`]).
    VariantInventoryOrderUpdated,
    /// An order changed status.
    OrderStatusUpdated,
    /// A shipment was created.
    ShipmentCreated,
    /// A shipment changed (e.g. its tracking number was corrected).
    ShipmentUpdated,
    /// The app was uninstalled.
    AppUninstalled,
}

/// The topics the connector subscribes on install.
pub const CONNECTOR_TOPICS: [Topic; 11] = [
    Topic::ProductCreated,
    Topic::ProductUpdated,
    Topic::ProductDeleted,
    Topic::ProductInventoryUpdated,
    Topic::VariantInventoryUpdated,
    Topic::ProductInventoryOrderUpdated,
    Topic::VariantInventoryOrderUpdated,
    Topic::OrderStatusUpdated,
    Topic::ShipmentCreated,
    Topic::ShipmentUpdated,
    Topic::AppUninstalled,
];

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// Subscription id.
    pub id: String,
    /// Topic.
    pub topic: Option<Topic>,
    /// Delivery URL.
    pub destination: String,
    /// Active.
    pub is_active: bool,
}

/// What a verified delivery says happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StoreEvent {
    /// Product created, updated or deleted (re-read it).
    Product { topic: Topic, product_id: String },
    /// Stock changed, by hand or by an order (re-read it). Orders the connector itself
    /// creates from TikTok orders move store stock too and so arrive here: the stock
    /// sync then publishes the store's absolute level (through the inventory policy),
    /// never a delta, so TikTok (which already took its own sale off) converges on the
    /// store's number instead of losing the units twice, and setting TikTok's stock
    /// fires no store event, so nothing loops.
    Inventory {
        product_id: String,
        variant_id: Option<String>,
    },
    /// Order status changed.
    OrderStatus {
        order_id: String,
        /// The status it moved to, when the store says.
        #[serde(default, deserialize_with = "status_or_bigcommerce_id")]
        new_status: Option<OrderStatus>,
    },
    /// A shipment was created or changed (re-read it).
    Shipment { order_id: String, shipment_id: String },
    /// The app was uninstalled.
    AppUninstalled,
    /// Any other scope (acknowledged, ignored).
    Other { scope: String },
}

/// A change in a store: a verified webhook delivery, or one [`StorePlatform::changes`]
/// found by polling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreChange {
    /// The store it came from, as the platform names it (BigCommerce: the store hash);
    /// empty in a polled change, whose store the poller knows.
    pub store: String,
    /// What happened.
    pub event: StoreEvent,
    /// Identifies one event, stable across its re-deliveries, distinct for two events
    /// about the same resource: the de-duplication key (BigCommerce: scope, `hash` and
    /// `created_at`, since `hash` may be the SHA-1 of `data` alone, and `webhook-id`
    /// when present).
    pub dedupe_key: String,
    /// Event time (Unix seconds).
    pub created_at: i64,
}

/// One poll of a store's changes ([`StorePlatform::changes`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangePage {
    /// What changed, oldest first. A poll re-reads a short overlap before its cursor (a
    /// store's clock and its writes are not exact), so a change may come again in the
    /// next poll with the same [`StoreChange::dedupe_key`]: the store poller handles a
    /// key once.
    pub changes: Vec<StoreChange>,
    /// Where the next poll starts (opaque to the caller; save it once the changes are handled).
    pub cursor: String,
    /// More changes wait after this page: poll again at once.
    pub more: bool,
}

/// The pause before a store call's retry `attempt + 1`: exponential from 250 ms,
/// capped at 8 s, jittered.
pub(crate) fn retry_delay(attempt: u32) -> std::time::Duration {
    let ceiling = (250u64 << attempt.saturating_sub(1).min(5)).min(8_000);
    std::time::Duration::from_millis(rand::random_range(ceiling / 2..=ceiling))
}

/// An answer a store gave: its status, headers and body.
pub(crate) struct Answer {
    /// HTTP status (2xx or 304).
    pub status: reqwest::StatusCode,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

/// Sends the request `build` makes (afresh on each try, so a signature is new) up to
/// `max_attempts` times while the failure is one a retry can fix (5xx, a dropped
/// connection, 429 waited out by its `Retry-After`), and returns a 2xx or 304 answer.
/// `error_of` turns another status and its body into the store's error (its words).
/// `what` names the call in logs (a path, never a secret).
pub(crate) async fn send_with_retries(
    what: &str,
    max_attempts: u32,
    build: impl Fn() -> reqwest::RequestBuilder,
    error_of: impl Fn(reqwest::StatusCode, &[u8]) -> StoreError,
) -> Result<Answer, StoreError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        crate::metrics::count(crate::metrics::Metric::StoreApiCalls, None);
        let (error, wait) = match build().send().await {
            Ok(response) => {
                let status = response.status();
                let headers = response.headers().clone();
                let wait = headers
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(std::time::Duration::from_secs);
                match response.bytes().await {
                    Ok(body) if status.is_success() || status == reqwest::StatusCode::NOT_MODIFIED => {
                        return Ok(Answer {
                            status,
                            headers,
                            body: body.to_vec(),
                        });
                    }
                    Ok(body) => (error_of(status, &body), wait),
                    Err(e) => (StoreError::Unavailable(e.without_url().to_string()), None),
                }
            }
            Err(e) => (StoreError::Unavailable(e.without_url().to_string()), None),
        };
        if matches!(error, StoreError::RateLimited) {
            crate::metrics::count(crate::metrics::Metric::StoreRateLimited, None);
        }
        if !error.is_retryable() || attempt >= max_attempts {
            return Err(error);
        }
        let pause = match (&error, wait) {
            (StoreError::RateLimited, Some(wait)) => wait,
            _ => retry_delay(attempt),
        };
        tracing::warn!(call = what, attempt, %error, pause_ms = pause.as_millis() as u64, "retrying a store call");
        tokio::time::sleep(pause).await;
    }
}

/// How far before its cursor a poll reads again (seconds): changes a store saved with a
/// time a little before the last poll's end are still seen.
pub const POLL_OVERLAP_SECS: i64 = 120;

/// A refund to record on a store order: an order-level amount, what the marketplace
/// gave back to the buyer, in the order's currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRefund {
    /// Amount with tax (never more than the store lets be refunded on the order).
    pub amount: Decimal,
    /// Why, for the merchant (e.g. `TikTok return 5770…`).
    pub reason: String,
}

/// A refund a store order carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refund {
    /// The store's refund id.
    pub id: String,
    /// Amount refunded with tax.
    pub amount: Decimal,
}

/// A relative stock change of one variant (units back in stock when positive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockChange {
    /// Store product id.
    pub product_id: String,
    /// Store variant id.
    pub variant_id: String,
    /// Signed units.
    pub delta: i64,
}

/// What the connector needs from a store, whatever the platform. The registry
/// ([`crate::platforms::open`]) opens one for a store record; the domain uses nothing
/// else of a platform.
#[async_trait]
pub trait StorePlatform: Send + Sync {
    /// Which platform this is.
    fn platform(&self) -> Platform;
    /// What the platform can do.
    fn capabilities(&self) -> Capabilities;
    /// The store's name, currency and units, read with the store's credentials: the
    /// check a connect flow makes before saving them (a refusal says what is missing).
    async fn profile(&self) -> Result<StoreProfile, StoreError>;
    /// Changes since `cursor` (from [`ChangePage::cursor`]; `None` starts the feed:
    /// no changes, and a cursor from now on, since what the store held before is the
    /// merchant's import, not a change): the store poller's feed, the only one for
    /// platforms without webhooks and the recovery of dropped deliveries for the others.
    ///
    /// The provided method reads products changed since the last listing (less
    /// [`POLL_OVERLAP_SECS`]) through [`StorePlatform::products_changed_since`], each as
    /// a product change and a stock change (stores mark a product modified when its
    /// stock moves; the stock sync is coalesced and publishes absolute levels, so a
    /// change that was only an edit costs one stock read). It cannot see deletions:
    /// adapters whose store can list deleted products, changed orders or stock add them
    /// (a polling-only platform must).
    async fn changes(&self, cursor: Option<&str>) -> Result<ChangePage, StoreError> {
        let now = jiff::Timestamp::now().as_second();
        let Some(cursor) = cursor else {
            // The feed starts now: what the store held before is the merchant's
            // import, not a change.
            return Ok(ChangePage {
                changes: Vec::new(),
                cursor: serde_json::to_string(&PollWindow::opened(now)).expect("a poll cursor serializes"),
                more: false,
            });
        };
        let mut poll: PollWindow = read_cursor(cursor)?;
        poll.begin(now);
        let page = self.products_changed_since(poll.since(), poll.page()).await?;
        let mut changes = Vec::with_capacity(page.products.len() * 2);
        let mut last = None;
        for product in page.products {
            let Ok(modified) = jiff::Timestamp::from_str(&product.date_modified) else {
                tracing::warn!(product = %product.id, date_modified = %product.date_modified, "product without an ISO-8601 date_modified; skipped by the change feed");
                continue;
            };
            let modified = modified.as_second();
            last = last.max(Some(modified));
            // Whatever changed (its stock too, which stores mark by the same date):
            // the product is read again, and its stock synced.
            changes.extend(product_changed(&product.id, None, &product.id, modified));
        }
        let more = page.next.is_some();
        poll.advance(last, page.next);
        Ok(ChangePage {
            changes,
            cursor: serde_json::to_string(&poll).expect("a poll cursor serializes"),
            more,
        })
    }
    /// Products changed at or after `since` (ISO-8601; `None` = all), oldest change
    /// first, with variants, images and custom fields; `cursor` continues a listing.
    async fn products_changed_since(
        &self,
        since: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<ProductPage, StoreError>;
    /// One product, or `None` when it is gone.
    async fn product(&self, product_id: &str) -> Result<Option<Product>, StoreError>;
    /// Sellable stock of variants.
    async fn variant_stock(&self, variant_ids: &[String]) -> Result<Vec<VariantStock>, StoreError>;
    /// Every brand.
    async fn brands(&self) -> Result<Vec<Named>, StoreError>;
    /// Every category.
    async fn categories(&self) -> Result<Vec<Category>, StoreError>;
    /// Weight and dimension units of the store.
    async fn units(&self) -> Result<Units, StoreError>;
    /// Creates the order unless one with its external order id exists; returns the
    /// store's order either way.
    async fn create_order(&self, order: &NewOrder) -> Result<Order, StoreError>;
    /// The order created for a marketplace order id, if any.
    async fn find_order_by_external_id(&self, external_order_id: &str) -> Result<Option<Order>, StoreError>;
    /// Moves an order to a state.
    async fn update_order_status(&self, order_id: &str, status: &OrderStatus) -> Result<(), StoreError>;
    /// Cancels an order (restocking per the store's settings).
    async fn cancel_order(&self, order_id: &str) -> Result<(), StoreError>;
    /// Archives an order (hidden from the store's order list, kept for records).
    async fn archive_order(&self, order_id: &str) -> Result<(), StoreError>;
    /// Replaces the shipping address of an order that has not shipped.
    async fn update_shipping_address(&self, order_id: &str, address: &Address) -> Result<(), StoreError>;
    /// Records a refund on an order: asks the store what it allows first and refuses
    /// (as [`StoreError::Invalid`], with the store's words) an amount above it.
    async fn refund_order(&self, order_id: &str, refund: &NewRefund) -> Result<Refund, StoreError>;
    /// The refunds an order carries, oldest first.
    async fn refunds(&self, order_id: &str) -> Result<Vec<Refund>, StoreError>;
    /// Moves stock by relative amounts (returned units back in).
    async fn adjust_stock(&self, changes: &[StockChange], reason: &str) -> Result<(), StoreError>;
    /// Whether the store itself puts an order's units back in stock when the order
    /// moves to refunded or cancelled (a store setting).
    async fn restocks_on_refund(&self) -> Result<bool, StoreError>;
    /// Whether the store itself puts a cancelled order's units back in stock (by
    /// default as [`StorePlatform::restocks_on_refund`] says; Magento's MSI always does).
    async fn restocks_on_cancel(&self) -> Result<bool, StoreError> {
        self.restocks_on_refund().await
    }
    /// Shipments of an order.
    async fn shipments(&self, order_id: &str) -> Result<Vec<Shipment>, StoreError>;
    /// Subscribes `topics` to `destination`, sending `secret` in a header on every
    /// delivery; idempotent (existing subscriptions are reused). By default (a platform
    /// whose changes are polled, [`ChangeFeed::Polling`]) nothing to subscribe.
    async fn subscribe_webhooks(
        &self,
        _destination: &str,
        _topics: &[Topic],
        _secret: &str,
    ) -> Result<Vec<Subscription>, StoreError> {
        Ok(Vec::new())
    }
    /// Removes every subscription of this app (by default none to remove).
    async fn unsubscribe_webhooks(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// The store's control-panel page of an order, where the merchant opens it.
    fn order_admin_url(&self, order_id: &str) -> String;
    /// Verifies a delivery (headers lower-case) against the per-store `secret` and parses
    /// it. By default (a platform that sends none) every delivery is
    /// [`StoreError::WebhookRejected`].
    fn parse_webhook(
        &self,
        _headers: &[(String, String)],
        _body: &[u8],
        _secret: &str,
    ) -> Result<StoreChange, StoreError> {
        Err(StoreError::WebhookRejected(format!(
            "{} stores send no webhooks to the connector; their changes are polled",
            self.platform().label()
        )))
    }
}

/// Where one polled listing of changed records stands (a cursor part of
/// [`StorePlatform::changes`]): its lower bound (ISO-8601, inclusive), its next page,
/// and when the listing started (Unix seconds; 0 between listings). Records are listed
/// oldest change first; a listing that has more pages goes on from the newest change
/// seen (from its first page again, so a record that moves to the end while the
/// listing is read is not skipped by a page shift), and a finished listing's next one
/// starts [`POLL_OVERLAP_SECS`] before it began, so the window advances even when
/// nothing changes and a change saved a little late is still seen.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PollWindow {
    since: Option<String>,
    page: Option<String>,
    #[serde(default)]
    started: i64,
}

impl PollWindow {
    /// A window opened at `now` (Unix seconds): later changes only.
    pub fn opened(now: i64) -> Self {
        Self {
            since: Some(iso_second(now)),
            ..Self::default()
        }
    }

    /// Marks the start of a listing (a no-op while one is under way).
    pub fn begin(&mut self, now: i64) {
        if self.started == 0 {
            self.started = now;
        }
    }

    /// The listing's lower bound (ISO-8601 UTC; `None` = everything).
    pub fn since(&self) -> Option<&str> {
        self.since.as_deref()
    }

    /// The listing's next page (the platform's own page token).
    pub fn page(&self) -> Option<&str> {
        self.page.as_deref()
    }

    /// Moves on after a page whose newest change was `newest` (Unix seconds), with
    /// `next` the platform's token of the following page (`None` on the last).
    pub fn advance(&mut self, newest: Option<i64>, next: Option<String>) {
        let since = self
            .since
            .as_deref()
            .and_then(|since| jiff::Timestamp::from_str(since).ok())
            .map(|since| since.as_second());
        match newest {
            // More to read: go on from the newest change seen, from the first page
            // again. The second at the edge comes again; its changes have the same keys.
            Some(newest) if next.is_some() && since.is_none_or(|since| newest > since) => {
                self.since = Some(iso_second(newest));
                self.page = None;
            }
            // A whole page within one second: page on.
            _ if next.is_some() => self.page = next,
            // The listing is done.
            _ => {
                self.since = Some(iso_second(self.started - POLL_OVERLAP_SECS));
                self.page = None;
                self.started = 0;
            }
        }
    }
}

/// A variant id of a store whose variants live inside a product: `{product}` for a
/// product sold as it is, `{product}:{part}` for a part of it (Magento: the child simple
/// product of a configurable one; PrestaShop: a combination), so a stock line, an order
/// line and a shipment line know their product without another call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VariantId {
    /// The product.
    pub product: u64,
    /// The part of it sold, when it has parts.
    pub part: Option<u64>,
}

impl VariantId {
    /// Reads `{product}` or `{product}:{part}`. Errors: [`StoreError::Invalid`] for anything else.
    pub fn parse(id: &str) -> Result<Self, StoreError> {
        let number = |text: &str| {
            text.parse::<u64>().map_err(|_| StoreError::Invalid {
                status: 400,
                message: format!("{id:?} is not a product or variant id of this store"),
            })
        };
        match id.split_once(':') {
            Some((product, part)) => Ok(Self {
                product: number(product)?,
                part: Some(number(part)?),
            }),
            None => Ok(Self {
                product: number(id)?,
                part: None,
            }),
        }
    }

    /// The id of a product (`simple` = `product`) or of a product's simple child
    /// (Magento's addressing).
    pub fn of_simple(product: u64, simple: u64) -> Self {
        Self {
            product,
            part: (simple != product).then_some(simple),
        }
    }

    /// The simple product sold (Magento): the part, else the product itself.
    pub fn simple(self) -> u64 {
        self.part.unwrap_or(self.product)
    }

    /// The id as the connector stores it.
    pub fn render(self) -> String {
        match self.part {
            Some(part) => format!("{}:{part}", self.product),
            None => self.product.to_string(),
        }
    }
}

/// The own id of a store the merchant hosts (what [`tenant_id`] prefixes): its host,
/// port, path (`/` as `_`) and the scope within the install (Magento's store view code,
/// PrestaShop's shop id): `shop.example.com~default`, `127.0.0.1-8080~1`,
/// `example.com_shop_eu~fr` for `https://example.com/shop/eu`.
pub fn hosted_store_id(url: &url::Url, scope: &str) -> String {
    let mut id = url.host_str().unwrap_or_default().to_lowercase();
    if let Some(port) = url.port() {
        id.push_str(&format!("-{port}"));
    }
    let path = url.path().trim_matches('/');
    if !path.is_empty() {
        id.push('_');
        id.push_str(&path.replace('/', "_"));
    }
    format!("{id}~{scope}")
}

/// Ids as sorted inclusive ranges (a catalogue's 10,000 ids fit in a few): how a poll
/// cursor keeps the ids it has seen.
pub(crate) fn id_ranges(ids: &[u64]) -> Vec<(u64, u64)> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for id in ids {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == id => *end = id,
            _ => out.push((id, id)),
        }
    }
    out
}

/// The ids of [`id_ranges`]' ranges.
pub(crate) fn expand_ranges(ranges: &[(u64, u64)]) -> Vec<u64> {
    ranges.iter().flat_map(|&(start, end)| start..=end).collect()
}

/// Reads a poll cursor a platform wrote. Errors: [`StoreError::Invalid`] for another's.
pub fn read_cursor<T: serde::de::DeserializeOwned>(cursor: &str) -> Result<T, StoreError> {
    serde_json::from_str(cursor).map_err(|_| StoreError::Invalid {
        status: 400,
        message: format!("the poll cursor {cursor:?} is not one this platform wrote"),
    })
}

/// The changes a polled product change stands for: the product read again, and its
/// stock synced (stores mark a product modified when its stock moves). `key` names
/// what changed (the product, or one of its variants); `modified` is when (Unix seconds).
pub fn product_changed(product_id: &str, variant_id: Option<&str>, key: &str, modified: i64) -> [StoreChange; 2] {
    [
        StoreChange {
            store: String::new(),
            dedupe_key: format!("product/{key}/{modified}"),
            created_at: modified,
            event: StoreEvent::Product {
                topic: Topic::ProductUpdated,
                product_id: product_id.to_string(),
            },
        },
        StoreChange {
            store: String::new(),
            dedupe_key: format!("stock/{key}/{modified}"),
            created_at: modified,
            event: StoreEvent::Inventory {
                product_id: product_id.to_string(),
                variant_id: variant_id.map(str::to_string),
            },
        },
    ]
}

/// Unix seconds as the ISO-8601 time stores filter by (`2026-11-30T10:00:00+00:00`).
fn iso_second(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

/// Reads [`StoreEvent::OrderStatus::new_status`]: a store-neutral status, or (in jobs
/// queued before statuses were store-neutral) a BigCommerce status id such as `"5"`.
fn status_or_bigcommerce_id<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<OrderStatus>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Wire {
        Status(OrderStatus),
        BigCommerceId(String),
    }
    Ok(match Option::<Wire>::deserialize(deserializer)? {
        Some(Wire::Status(status)) => Some(status),
        Some(Wire::BigCommerceId(id)) => id.parse().ok().map(bigcommerce::status_of),
        None => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn store_ids_tell_apart_hosts_ports_paths_and_store_views() {
        let id = |url: &str, code: &str| hosted_store_id(&url::Url::parse(url).unwrap(), code);
        assert_eq!(id("https://Shop.Example.com/", "default"), "shop.example.com~default");
        assert_eq!(id("http://127.0.0.1:8080", "default"), "127.0.0.1-8080~default");
        assert_eq!(id("https://example.com/shop/eu", "fr"), "example.com_shop_eu~fr");
        assert_ne!(
            id("https://example.com/a", "default"),
            id("https://example.com/b", "default")
        );
    }

    #[test]
    fn product_id_ranges_stay_small_and_round_trip() {
        let ids: Vec<u64> = (1..=10_000).filter(|id| id % 1000 != 0).collect();
        let held = id_ranges(&ids);
        assert_eq!(held.len(), 10);
        assert_eq!(expand_ranges(&held), ids);
    }

    #[test]
    fn an_order_status_job_queued_with_a_bigcommerce_status_id_still_reads() {
        let event = |json: serde_json::Value| serde_json::from_value::<StoreEvent>(json).unwrap();
        let status = |event: StoreEvent| match event {
            StoreEvent::OrderStatus { new_status, .. } => new_status,
            other => panic!("{other:?}"),
        };
        let legacy = json!({"OrderStatus": {"order_id": "7", "new_status": "5"}});
        assert_eq!(status(event(legacy)), Some(OrderStatus::Cancelled));
        let refunded = json!({"OrderStatus": {"order_id": "7", "new_status": "14"}});
        assert_eq!(status(event(refunded)), Some(OrderStatus::PartiallyRefunded));
        let neutral = StoreEvent::OrderStatus {
            order_id: "7".into(),
            new_status: Some(OrderStatus::Refunded),
        };
        assert_eq!(
            status(event(serde_json::to_value(&neutral).unwrap())),
            Some(OrderStatus::Refunded)
        );
        assert_eq!(
            status(event(json!({"OrderStatus": {"order_id": "7", "new_status": null}}))),
            None
        );
    }
}
