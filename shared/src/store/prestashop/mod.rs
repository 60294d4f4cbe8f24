//! The PrestaShop adapter: [`StorePlatform`] over the Webservice API of one shop
//! (`store-platforms-api.md` §5) with a webservice key ([`client`]).
//!
//! - **Products.** A product without combinations is a product with one variant (its
//!   own id); a product's combinations are its variants, with the id
//!   `{product id}:{combination id}`. Stock is the shop's `stock_availables` row of the
//!   product or combination.
//! - **Orders** go the way PrestaShop's own checkout goes: a customer (one per buyer
//!   e-mail, or one shared marketplace customer), a delivery address whose alias names
//!   the TikTok order, a cart with its rows priced at TikTok's prices by specific prices
//!   bound to that cart, then the order (PrestaShop validates it against the cart, takes
//!   the stock and writes its history). Its totals are then set to TikTok's (shipping
//!   and discounts included), its note names the TikTok order (how it is found again),
//!   and its state is moved through `order_histories`. Order state ids vary per install:
//!   they are read from the shop's own `PS_OS_*` configuration.
//! - **Changes** are polled (PrestaShop has no webhooks): products and orders by
//!   `date_upd` (in the shop's time zone), every changed order's rows as stock changes
//!   (a storefront sale moves stock without touching the product), tracking numbers from
//!   the changed orders' carrier lines, and stock written by anything else (an ERP, the
//!   stock screen) and deletions from whole listings fetched only when their
//!   `Content-Sha1` changed.

pub mod client;
pub mod model;

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

pub use client::{Client, ClientConfig};
use client::{List, Node};
use model::*;

use super::{
    Address, Capabilities, Category, ChangeFeed, ChangePage, Image, InventoryTracking, Named, NewOrder, NewRefund,
    OptionValue, Order, OrderStatus, Platform, PollWindow, Product, ProductPage, Refund, Shipment, StockChange,
    StoreChange, StoreError, StoreEvent, StorePlatform, StoreProfile, Topic, Units, Variant, VariantId, VariantStock,
};

/// Records per page of a listing.
const PAGE: u64 = 100;
/// Ids per filter of a batched read (`filter[id]=[1|2|…]`), short enough for a URL.
const BATCH: usize = 100;
/// The payment module marketplace orders are recorded with (installed by default).
const PAYMENT_MODULE: &str = "ps_checkpayment";
/// The payment label of marketplace orders.
const PAYMENT_LABEL: &str = "TikTok Shop";
/// The upper bound of open-ended date windows.
const END_OF_TIME: &str = "9999-12-31 23:59:59";
/// The `PS_OS_*` configuration keys of the order states the connector uses.
const STATE_KEYS: [&str; 10] = [
    "PS_OS_CHEQUE",
    "PS_OS_PAYMENT",
    "PS_OS_WS_PAYMENT",
    "PS_OS_OUTOFSTOCK_PAID",
    "PS_OS_PREPARATION",
    "PS_OS_SHIPPING",
    "PS_OS_DELIVERED",
    "PS_OS_CANCELED",
    "PS_OS_REFUND",
    "PS_OS_ERROR",
];

/// Every resource and method the connector uses (what the connect form checks the key
/// for), with what each is for.
pub const NEEDED: [(&str, &[&str], &str); 21] = [
    ("products", &["GET"], "read the catalogue"),
    ("combinations", &["GET"], "read variants"),
    ("product_options", &["GET"], "read variant options"),
    ("product_option_values", &["GET"], "read variant options"),
    ("stock_availables", &["GET", "PATCH"], "read and set stock"),
    ("manufacturers", &["GET"], "read brands"),
    ("categories", &["GET"], "read categories"),
    ("configurations", &["GET"], "read the shop's settings"),
    ("currencies", &["GET"], "read the shop's currency"),
    ("countries", &["GET"], "address orders"),
    ("states", &["GET"], "address orders"),
    ("carriers", &["GET"], "ship orders"),
    ("customers", &["GET", "POST"], "create buyers"),
    ("addresses", &["GET", "POST"], "address orders"),
    ("carts", &["GET", "POST"], "create orders"),
    ("specific_prices", &["GET", "POST"], "price orders at TikTok's prices"),
    ("orders", &["GET", "POST", "PATCH"], "create and update orders"),
    ("order_histories", &["GET", "POST"], "move orders between states"),
    ("order_states", &["GET"], "read order states"),
    (
        "order_carriers",
        &["GET", "PATCH"],
        "read tracking numbers and set shipping costs",
    ),
    ("order_slip", &["GET", "POST"], "record refunds as credit slips"),
];

/// The shop's settings the adapter needs, read once.
#[derive(Debug, Clone)]
struct Shop {
    name: String,
    id_lang: u64,
    id_currency: u64,
    currency: String,
    units: Units,
    time_zone: jiff::tz::TimeZone,
    states: States,
}

/// The shop's order states: the ids its `PS_OS_*` settings give, and every state.
#[derive(Debug, Clone, Default)]
struct States {
    ids: HashMap<&'static str, u64>,
    all: Vec<OrderStateRow>,
}

impl States {
    fn id(&self, key: &str) -> Option<u64> {
        self.ids.get(key).copied()
    }

    /// The store-neutral status of a state id.
    fn status(&self, state: u64) -> OrderStatus {
        let is = |key: &str| self.id(key) == Some(state);
        if is("PS_OS_PAYMENT") || is("PS_OS_WS_PAYMENT") || is("PS_OS_OUTOFSTOCK_PAID") {
            return OrderStatus::AwaitingFulfillment;
        }
        if is("PS_OS_PREPARATION") {
            return OrderStatus::AwaitingShipment;
        }
        if is("PS_OS_SHIPPING") {
            return OrderStatus::Shipped;
        }
        if is("PS_OS_DELIVERED") {
            return OrderStatus::Completed;
        }
        if is("PS_OS_CANCELED") {
            return OrderStatus::Cancelled;
        }
        if is("PS_OS_REFUND") {
            return OrderStatus::Refunded;
        }
        let row = self.all.iter().find(|s| s.id == state);
        match row {
            Some(row) if row.shipped => OrderStatus::Shipped,
            Some(row) if !is("PS_OS_ERROR") && !row.paid => OrderStatus::Pending,
            Some(row) => OrderStatus::Other(row.name.clone()),
            None => OrderStatus::Other(format!("order state {state}")),
        }
    }

    /// The state to move an order to for `status`. Errors: [`StoreError::Invalid`] when
    /// the shop has no such state.
    fn state_for(&self, status: &OrderStatus) -> Result<u64, StoreError> {
        let key = match status {
            OrderStatus::Pending => "PS_OS_CHEQUE",
            OrderStatus::AwaitingFulfillment => "PS_OS_PAYMENT",
            OrderStatus::AwaitingShipment => "PS_OS_PREPARATION",
            OrderStatus::PartiallyShipped | OrderStatus::Shipped => "PS_OS_SHIPPING",
            OrderStatus::Completed => "PS_OS_DELIVERED",
            OrderStatus::Cancelled => "PS_OS_CANCELED",
            OrderStatus::Refunded => "PS_OS_REFUND",
            OrderStatus::PartiallyRefunded | OrderStatus::Other(_) => "",
        };
        let named = match status {
            OrderStatus::Other(name) => Some(name.as_str()),
            OrderStatus::PartiallyRefunded => Some("Partial refund"),
            _ => None,
        };
        self.id(key)
            .or_else(|| {
                named.and_then(|name| {
                    self.all
                        .iter()
                        .find(|s| s.name.eq_ignore_ascii_case(name))
                        .map(|s| s.id)
                })
            })
            .ok_or_else(|| StoreError::Invalid {
                status: 400,
                message: format!("The shop has no order state for {status:?}; check Orders → Statuses."),
            })
    }
}

/// Where the change feed stands (the poll cursor).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Feed {
    products: PollWindow,
    orders: PollWindow,
    /// The product ids as the last whole listing held them.
    ids: Ids,
    /// The stock levels as the last whole listing held them.
    stock: Levels,
    /// The tracking numbers of the recent carrier lines as their last listing held them
    /// (a hash of each): the back office saves a tracking number on the carrier line
    /// alone, leaving the order's `date_upd` as it was.
    #[serde(default)]
    tracking: Levels,
}

/// How far back carrier lines are watched for a tracking number (days).
const TRACKING_DAYS: i64 = 30;

/// The product id listing's `Content-Sha1` and the ids it held (as ranges).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Ids {
    sha1: String,
    ranges: Vec<(u64, u64)>,
}

/// A whole listing's `Content-Sha1` and a number per row (a stock row's quantity, a
/// carrier line's tracking number hash), packed small: postcard varints of each row id's
/// gap from the previous one and its number, in base64 (about 3 bytes a row for stock:
/// 10,000 rows in some 30 KB).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Levels {
    sha1: String,
    packed: String,
}

impl Levels {
    /// The numbers of `rows` (`(id, number)` sorted by id) under the listing's `sha1`.
    fn of(sha1: String, rows: impl Iterator<Item = (u64, i64)>) -> Self {
        use base64::Engine as _;
        let mut previous = 0;
        let pairs: Vec<(u64, i64)> = rows
            .map(|(id, number)| {
                let gap = id - previous;
                previous = id;
                (gap, number)
            })
            .collect();
        let bytes = postcard::to_allocvec(&pairs).expect("pairs of integers serialize");
        Self {
            sha1,
            packed: base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes),
        }
    }

    /// Each row id's number (empty when nothing was packed or it does not read).
    fn unpack(&self) -> HashMap<u64, i64> {
        use base64::Engine as _;
        let pairs: Vec<(u64, i64)> = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(&self.packed)
            .ok()
            .and_then(|bytes| postcard::from_bytes(&bytes).ok())
            .unwrap_or_default();
        let mut id = 0;
        pairs
            .into_iter()
            .map(|(gap, quantity)| {
                id += gap;
                (id, quantity)
            })
            .collect()
    }
}

/// A tracking number's stable hash (the first 4 bytes of its SHA-256; 0 for none), as
/// [`Feed::tracking`] keeps it.
fn tracking_hash(tracking_number: &str) -> i64 {
    use sha2::Digest as _;
    let tracking_number = tracking_number.trim();
    if tracking_number.is_empty() {
        return 0;
    }
    let digest = sha2::Sha256::digest(tracking_number.as_bytes());
    i64::from(u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]))
}

/// A shop time (`Y-m-d H:i:s` in `zone`) as Unix seconds.
fn unix_of(shop_time: &str, zone: &jiff::tz::TimeZone) -> Option<i64> {
    let civil = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", shop_time.trim()).ok()?;
    civil.to_zoned(zone.clone()).ok().map(|z| z.timestamp().as_second())
}

/// An ISO-8601 time as the shop writes times (`Y-m-d H:i:s` in `zone`).
fn shop_time(iso: &str, zone: &jiff::tz::TimeZone) -> Result<String, StoreError> {
    let at = jiff::Timestamp::from_str(iso).map_err(|e| StoreError::Invalid {
        status: 400,
        message: format!("{iso:?} is not an ISO-8601 time: {e}"),
    })?;
    Ok(at.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M:%S").to_string())
}

/// Unix seconds as ISO-8601 UTC.
fn iso_of(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

/// A name as PrestaShop's `isCustomerName` accepts it (no digits, none of
/// `!<>,;?=+()/\@#"°*`{}_^$%:¤[]|`, a `.` or `。` only before a space or the end; at
/// most 255 characters), or `fallback` when nothing is left.
fn ps_name(name: &str, fallback: &str) -> String {
    const FORBIDDEN: &str = "!<>,;?=+()/\\@#\"°*`{}_^$%:¤[]|";
    let chars: Vec<char> = name.chars().collect();
    let kept: String = chars
        .iter()
        .enumerate()
        .filter(|(at, c)| {
            let dot_ok = || chars.get(at + 1).is_none_or(|next| next.is_whitespace());
            !c.is_ascii_digit() && !FORBIDDEN.contains(**c) && !c.is_control() && (!matches!(c, '.' | '。') || dot_ok())
        })
        .map(|(_, c)| *c)
        .collect();
    let kept = kept.split_whitespace().collect::<Vec<_>>().join(" ");
    if kept.is_empty() {
        fallback.to_string()
    } else {
        kept.chars().take(255).collect()
    }
}

/// `text` without the characters a PrestaShop validator refuses (`forbidden`) or control
/// characters, spaces folded, at most `max` characters.
fn ps_text(text: &str, forbidden: &str, max: usize) -> String {
    let kept: String = text
        .chars()
        .filter(|c| !forbidden.contains(*c) && !c.is_control())
        .collect();
    kept.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}

/// `isAddress`'s refused characters.
const NOT_IN_ADDRESS: &str = "!<>?=+@{}_$%";
/// `isCityName`'s refused characters.
const NOT_IN_CITY: &str = "!<>;?=+@#\"°{}_$%";

/// A postcode as `isPostCode` accepts it: letters, digits, spaces and `-`, at most 12.
fn ps_postcode(zip: &str) -> String {
    zip.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == ' ' || *c == '-')
        .collect::<String>()
        .trim()
        .chars()
        .take(12)
        .collect()
}

/// A phone number as PrestaShop's `isPhoneNumber` accepts it (digits, `+`, `-`, `.`,
/// `(`, `)`, `/`, spaces; at most 32).
fn ps_phone(phone: &str) -> String {
    phone
        .chars()
        .filter(|c| c.is_ascii_digit() || "+-.()/ ".contains(*c))
        .take(32)
        .collect::<String>()
        .trim()
        .to_string()
}

/// The alias of a TikTok order's delivery address (at most 32 characters): how the
/// order's address, and through it its cart and order, are found again after a lost
/// answer.
fn address_alias(external_order_id: &str) -> String {
    format!("TikTok {external_order_id}").chars().take(32).collect()
}

/// The note's opening that names the TikTok order.
fn note_prefix(external_order_id: &str) -> String {
    format!("TikTok Shop order {external_order_id}.")
}

/// The TikTok order id an order's note names (wherever the merchant's own words put
/// [`note_prefix`]).
fn external_id_of(note: &str) -> Option<String> {
    const MARKER: &str = "TikTok Shop order ";
    let rest = &note[note.find(MARKER)? + MARKER.len()..];
    let id = rest.split('.').next()?;
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric())).then(|| id.to_string())
}

/// The e-mail of a marketplace order's customer: the buyer's (TikTok gives a masked
/// one) or one per order when there is none; with `shared`, one customer for every
/// marketplace order.
fn customer_email(order: &NewOrder, shared: bool) -> String {
    let buyer = order.billing_address.email.trim();
    if shared {
        "tiktok-shop-orders@example.com".to_string()
    } else if buyer.contains('@') && !buyer.contains(char::is_whitespace) {
        buyer.to_string()
    } else {
        format!("tiktok-{}@example.com", order.external_order_id)
    }
}

/// The units a shop's `PS_WEIGHT_UNIT` / `PS_DIMENSION_UNIT` name, in the connector's terms.
fn units_of(weight: &str, dimension: &str) -> Units {
    let weight = match weight.trim().to_lowercase().as_str() {
        "lb" | "lbs" => "Pounds",
        "oz" => "Ounces",
        "g" => "Grams",
        _ => "KGS",
    };
    let dimension = match dimension.trim().to_lowercase().as_str() {
        "in" | "inch" | "inches" => "Inches",
        _ => "Centimeters",
    };
    Units {
        weight: weight.into(),
        dimension: dimension.into(),
    }
}

/// The amounts of a marketplace order, as PrestaShop's order totals hold them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Totals {
    products: Decimal,
    products_wt: Decimal,
    shipping: (Decimal, Decimal),
    discounts: Decimal,
    paid: (Decimal, Decimal),
}

impl Totals {
    fn of(order: &NewOrder) -> Self {
        let products: Decimal = order
            .lines
            .iter()
            .map(|l| l.price_ex_tax * Decimal::from(l.quantity))
            .sum();
        let products_wt: Decimal = order
            .lines
            .iter()
            .map(|l| l.price_inc_tax * Decimal::from(l.quantity))
            .sum();
        // PrestaShop has no handling fee: TikTok's other charges go with shipping.
        let shipping = (
            order.shipping_cost.0 + order.handling_cost.0,
            order.shipping_cost.1 + order.handling_cost.1,
        );
        let discounts = order.discount_amount;
        Self {
            products,
            products_wt,
            shipping,
            discounts,
            paid: (products + shipping.0 - discounts, products_wt + shipping.1 - discounts),
        }
    }

    fn fields(self) -> Vec<Node> {
        vec![
            Node::leaf("total_products", self.products),
            Node::leaf("total_products_wt", self.products_wt),
            Node::leaf("total_shipping", self.shipping.1),
            Node::leaf("total_shipping_tax_excl", self.shipping.0),
            Node::leaf("total_shipping_tax_incl", self.shipping.1),
            Node::leaf("total_discounts", self.discounts),
            Node::leaf("total_discounts_tax_excl", self.discounts),
            Node::leaf("total_discounts_tax_incl", self.discounts),
            Node::leaf("total_paid", self.paid.1),
            Node::leaf("total_paid_tax_excl", self.paid.0),
            Node::leaf("total_paid_tax_incl", self.paid.1),
            Node::leaf("total_paid_real", self.paid.1),
        ]
    }
}

/// The PrestaShop platform of one shop.
pub struct PrestaShop {
    client: Client,
    shared_customer: bool,
    shop: OnceCell<Shop>,
}

impl PrestaShop {
    /// What PrestaShop can do through its webservice: no webhooks (polling), refunds of
    /// any part as credit slips, one stock level per shop, no archive, and orders at
    /// TikTok's prices (cart specific prices and the order's totals).
    pub const CAPABILITIES: Capabilities = Capabilities {
        change_feed: ChangeFeed::Polling,
        partial_refunds: true,
        multi_location_stock: false,
        order_archive: false,
        shipping_address_edit: false,
        sales_channels: false,
        marketplace_prices: true,
    };

    /// The adapter over `client`; `shared_customer` files every marketplace order under
    /// one customer instead of one per buyer e-mail.
    pub fn new(client: Client, shared_customer: bool) -> Self {
        Self {
            client,
            shared_customer,
            shop: OnceCell::new(),
        }
    }

    /// The shop's settings (read once): language, currency, units, time zone, states.
    async fn shop(&self) -> Result<&Shop, StoreError> {
        self.shop.get_or_try_init(|| self.read_shop()).await
    }

    /// Reads the shop's settings: its `PS_*` configuration, currency and order states.
    async fn read_shop(&self) -> Result<Shop, StoreError> {
        let mut keys = vec![
            "PS_LANG_DEFAULT",
            "PS_CURRENCY_DEFAULT",
            "PS_SHOP_NAME",
            "PS_WEIGHT_UNIT",
            "PS_DIMENSION_UNIT",
            "PS_TIMEZONE",
        ];
        keys.extend(STATE_KEYS);
        let rows: Vec<ConfigurationRow> = self
            .client
            .list("configurations", &List::display("name,value").any_of("name", &keys))
            .await?;
        let mut config: HashMap<String, String> = HashMap::new();
        for row in rows {
            config.entry(row.name).or_insert(row.value);
        }
        let get = |key: &str| config.get(key).cloned().unwrap_or_default();
        let number = |key: &str| get(key).trim().parse::<u64>().ok();
        let id_lang = number("PS_LANG_DEFAULT").unwrap_or(1);
        let id_currency = number("PS_CURRENCY_DEFAULT").unwrap_or(1);
        let currency: CurrencyRow = self
            .client
            .one(&format!("/currencies/{id_currency}"), "currency")
            .await?;
        let all: Vec<OrderStateRow> = self
            .client
            .list("order_states", &List::display("id,name,paid,shipped").language(id_lang))
            .await?;
        let ids = STATE_KEYS
            .iter()
            .filter_map(|&key| number(key).map(|id| (key, id)))
            .collect();
        let zone_name = get("PS_TIMEZONE");
        let time_zone = match jiff::tz::TimeZone::get(zone_name.trim()) {
            Ok(zone) => zone,
            Err(error) => {
                // The shop's dates are then read as UTC, so a shop far from it is polled
                // with its window off by the difference.
                tracing::warn!(zone = %zone_name, %error, "the shop's PS_TIMEZONE is not a known time zone; reading its dates as UTC");
                jiff::tz::TimeZone::UTC
            }
        };
        Ok(Shop {
            name: get("PS_SHOP_NAME"),
            id_lang,
            id_currency,
            currency: currency.iso_code,
            units: units_of(&get("PS_WEIGHT_UNIT"), &get("PS_DIMENSION_UNIT")),
            time_zone,
            states: States { ids, all },
        })
    }

    /// What the key may not do of what the connector needs, one line per resource
    /// (empty when it may do everything), from the webservice's own list of the key's
    /// permissions (`GET /api/`). Errors: anything but that list (a wrong key, the shop
    /// not answering).
    pub async fn missing_access(&self) -> Result<Vec<String>, StoreError> {
        let granted = self.client.permissions().await?;
        Ok(NEEDED
            .iter()
            .filter_map(|(resource, methods, why)| {
                let has = granted.get(*resource);
                let missing: Vec<&str> = methods
                    .iter()
                    .copied()
                    .filter(|m| has.is_none_or(|has| !has.contains(*m)))
                    .collect();
                (!missing.is_empty()).then(|| format!("{resource}: {} (to {why})", missing.join(", ")))
            })
            .collect())
    }

    /// Products by id (`display=full` in the shop's language), in batches.
    async fn products_by_id(&self, ids: &[u64]) -> Result<Vec<PsProduct>, StoreError> {
        let id_lang = self.shop().await?.id_lang;
        let mut products = Vec::with_capacity(ids.len());
        for batch in ids.chunks(BATCH) {
            let page: Vec<PsProduct> = self
                .client
                .list("products", &List::display("full").any_of("id", batch).language(id_lang))
                .await?;
            products.extend(page);
        }
        Ok(products)
    }

    /// Stock rows of products (both levels), by `(product, combination)`.
    async fn stock_of(&self, product_ids: &[u64]) -> Result<HashMap<(u64, u64), StockAvailable>, StoreError> {
        let mut stock = HashMap::new();
        for batch in product_ids.chunks(BATCH) {
            let rows: Vec<StockAvailable> = self
                .client
                .list(
                    "stock_availables",
                    &List::display("id,id_product,id_product_attribute,quantity").any_of("id_product", batch),
                )
                .await?;
            stock.extend(rows.into_iter().map(|r| ((r.id_product, r.id_product_attribute), r)));
        }
        Ok(stock)
    }

    /// Store-neutral products of PrestaShop products, with their combinations, option
    /// labels and stock (one read of each per batch).
    async fn to_products(&self, products: Vec<PsProduct>) -> Result<Vec<Product>, StoreError> {
        let shop = self.shop().await?;
        let ids: Vec<u64> = products.iter().map(|p| p.id).collect();
        let with_combinations: Vec<u64> = products
            .iter()
            .filter(|p| !p.associations.combinations.is_empty())
            .map(|p| p.id)
            .collect();
        let mut combinations: HashMap<u64, Vec<PsCombination>> = HashMap::new();
        for batch in with_combinations.chunks(BATCH) {
            let rows: Vec<PsCombination> = self
                .client
                .list("combinations", &List::display("full").any_of("id_product", batch))
                .await?;
            for row in rows {
                combinations.entry(row.id_product).or_default().push(row);
            }
        }
        let value_ids: Vec<u64> = combinations
            .values()
            .flatten()
            .flat_map(|c| c.associations.product_option_values.iter().map(|v| v.id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut values: HashMap<u64, OptionValueRow> = HashMap::new();
        for batch in value_ids.chunks(BATCH) {
            let rows: Vec<OptionValueRow> = self
                .client
                .list(
                    "product_option_values",
                    &List::display("id,id_attribute_group,name")
                        .any_of("id", batch)
                        .language(shop.id_lang),
                )
                .await?;
            values.extend(rows.into_iter().map(|v| (v.id, v)));
        }
        let group_ids: Vec<u64> = values
            .values()
            .map(|v| v.id_attribute_group)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let groups: HashMap<u64, OptionRow> = if group_ids.is_empty() {
            HashMap::new()
        } else {
            self.client
                .list::<OptionRow>(
                    "product_options",
                    &List::display("id,name,public_name")
                        .any_of("id", &group_ids)
                        .language(shop.id_lang),
                )
                .await?
                .into_iter()
                .map(|g| (g.id, g))
                .collect()
        };
        let stock = self.stock_of(&ids).await?;
        let base = self.client.base_url().to_string();
        Ok(products
            .into_iter()
            .map(|p| {
                let rows = combinations.remove(&p.id).unwrap_or_default();
                to_product(p, rows, &values, &groups, &stock, &base, &shop.time_zone)
            })
            .collect())
    }

    /// The order whose note names TikTok order `external_order_id`.
    async fn order_by_note(&self, external_order_id: &str) -> Result<Option<PsOrder>, StoreError> {
        let found: Vec<PsOrder> = self
            .client
            .list(
                "orders",
                &List::display("full").contains("note", &note_prefix(external_order_id)),
            )
            .await?;
        Ok(found
            .into_iter()
            .find(|o| external_id_of(&o.note).as_deref() == Some(external_order_id)))
    }

    /// An order by id (`display=full`). Errors: [`StoreError::NotFound`] when there is none.
    async fn order(&self, order_id: u64) -> Result<PsOrder, StoreError> {
        self.client
            .first::<PsOrder>("orders", &List::display("full").eq("id", order_id))
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("order {order_id}")))
    }

    fn to_order(&self, order: &PsOrder, shop: &Shop) -> Order {
        Order {
            id: order.id.to_string(),
            status: shop.states.status(order.current_state),
            external_order_id: external_id_of(&order.note),
            total_inc_tax: order.total_paid_tax_incl,
        }
    }

    /// Moves an order to `state` through `order_histories`, unless it is there already.
    async fn move_to(&self, order: &PsOrder, state: u64) -> Result<(), StoreError> {
        if order.current_state == state {
            return Ok(());
        }
        let _: IdRow = self
            .client
            .create(
                "order_histories",
                "order_history",
                vec![Node::leaf("id_order", order.id), Node::leaf("id_order_state", state)],
            )
            .await?;
        Ok(())
    }

    /// Checks that the shop holds every product and combination the order's lines name,
    /// before anything is created for the order. Errors: [`StoreError::Invalid`] naming
    /// the first one it does not hold.
    async fn check_lines(&self, order: &NewOrder) -> Result<(), StoreError> {
        let variants = order
            .lines
            .iter()
            .map(|l| VariantId::parse(&l.variant_id))
            .collect::<Result<Vec<_>, _>>()?;
        let product_ids: Vec<u64> = variants.iter().map(|v| v.product).collect();
        let held: HashSet<u64> = self
            .client
            .list::<IdRow>("products", &List::display("id").any_of("id", &product_ids))
            .await?
            .into_iter()
            .map(|p| p.id)
            .collect();
        let combination_ids: Vec<u64> = variants.iter().filter_map(|v| v.part).collect();
        let combinations: HashSet<(u64, u64)> = if combination_ids.is_empty() {
            HashSet::new()
        } else {
            self.client
                .list::<PsCombination>(
                    "combinations",
                    &List::display("id,id_product").any_of("id", &combination_ids),
                )
                .await?
                .into_iter()
                .map(|c| (c.id_product, c.id))
                .collect()
        };
        for variant in variants {
            let missing = if !held.contains(&variant.product) {
                Some(format!("product {}", variant.product))
            } else {
                variant
                    .part
                    .filter(|part| !combinations.contains(&(variant.product, *part)))
                    .map(|part| format!("combination {part} of product {}", variant.product))
            };
            if let Some(missing) = missing {
                return Err(StoreError::Invalid {
                    status: 400,
                    message: format!(
                        "The shop has no {missing}: the TikTok order's line names it. Link the TikTok product again, or sell it in PrestaShop."
                    ),
                });
            }
        }
        Ok(())
    }

    /// The customer marketplace orders go under (found by e-mail, else created), with
    /// its secure key (the cart must carry the customer's).
    async fn customer(&self, order: &NewOrder) -> Result<(u64, String), StoreError> {
        #[derive(Deserialize)]
        struct CustomerRow {
            #[serde(deserialize_with = "de::id")]
            id: u64,
            #[serde(default, deserialize_with = "de::text")]
            secure_key: String,
        }
        let email = &customer_email(order, self.shared_customer);
        let find = move || async move {
            let found: Option<CustomerRow> = self
                .client
                .first("customers", &List::display("id,secure_key").eq("email", email))
                .await?;
            Ok(found.map(|c| (c.id, c.secure_key)))
        };
        let (first, last) = if self.shared_customer {
            ("TikTok".to_string(), "Shop".to_string())
        } else {
            (
                ps_name(&order.billing_address.first_name, "TikTok"),
                ps_name(&order.billing_address.last_name, "Buyer"),
            )
        };
        let create = move || async move {
            let created: IdRow = self
                .client
                .create(
                    "customers",
                    "customer",
                    vec![
                        Node::leaf("firstname", first),
                        Node::leaf("lastname", last),
                        Node::leaf("email", email),
                        Node::leaf("passwd", uuid::Uuid::new_v4().simple()),
                        Node::leaf("active", 1),
                        Node::leaf("newsletter", 0),
                        Node::leaf("optin", 0),
                    ],
                )
                .await?;
            // The secure key PrestaShop gave it, which the cart must carry.
            let made: CustomerRow = self
                .client
                .one(&format!("/customers/{}", created.id), "customer")
                .await?;
            Ok((made.id, made.secure_key))
        };
        found_or_created(find, create).await
    }

    /// The country and state ids of an address. Errors: [`StoreError::Invalid`] naming a
    /// country the shop does not have, or a state it does not know.
    async fn location(&self, address: &Address) -> Result<(u64, Option<u64>), StoreError> {
        let iso = address.country_iso2.trim().to_uppercase();
        let country: CountryRow = self
            .client
            .list("countries", &List::display("id,contains_states").eq("iso_code", &iso))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Invalid {
                status: 400,
                message: format!(
                    "The shop has no country {iso} ({}); add it under International → Locations → Countries.",
                    address.country
                ),
            })?;
        if !country.contains_states {
            return Ok((country.id, None));
        }
        let states: Vec<StateRow> = self
            .client
            .list(
                "states",
                &List::display("id,iso_code,name").eq("id_country", country.id),
            )
            .await?;
        let wanted = address.state.trim();
        let state = states
            .iter()
            .find(|s| s.iso_code.eq_ignore_ascii_case(wanted) || s.name.eq_ignore_ascii_case(wanted))
            .ok_or_else(|| StoreError::Invalid {
                status: 400,
                message: format!(
                    "The shop knows no state {wanted:?} in {iso}; add it under International → Locations → States."
                ),
            })?;
        Ok((country.id, Some(state.id)))
    }

    /// The TikTok order's delivery address (found by its alias, else created).
    async fn address(&self, order: &NewOrder, id_customer: u64) -> Result<u64, StoreError> {
        let alias = &address_alias(&order.external_order_id);
        let find = move || async move {
            let list = List::display("id").eq("alias", alias).eq("id_customer", id_customer);
            let found: Option<IdRow> = self.client.first("addresses", &list).await?;
            Ok(found.map(|a| a.id))
        };
        let create = move || async move {
            let to = &order.shipping_address;
            let (id_country, id_state) = self.location(to).await?;
            let mut fields = vec![
                Node::leaf("id_customer", id_customer),
                Node::leaf("alias", alias),
                Node::leaf("firstname", ps_name(&to.first_name, "TikTok")),
                Node::leaf("lastname", ps_name(&to.last_name, "Buyer")),
                Node::leaf("address1", ps_text(&to.street_1, NOT_IN_ADDRESS, 128)),
                Node::leaf("address2", ps_text(&to.street_2, NOT_IN_ADDRESS, 128)),
                Node::leaf("city", ps_text(&to.city, NOT_IN_CITY, 64)),
                Node::leaf("postcode", ps_postcode(&to.zip)),
                Node::leaf("id_country", id_country),
                Node::leaf("phone", ps_phone(&to.phone)),
            ];
            if let Some(id_state) = id_state {
                fields.push(Node::leaf("id_state", id_state));
            }
            let created: IdRow = self.client.create("addresses", "address", fields).await?;
            Ok(created.id)
        };
        found_or_created(find, create).await
    }

    /// A carrier that charges nothing (TikTok's shipping fee is set on the order's totals).
    /// Errors: [`StoreError::Invalid`] when the shop has none active.
    async fn free_carrier(&self) -> Result<u64, StoreError> {
        let carriers: Vec<CarrierRow> = self
            .client
            .list(
                "carriers",
                &List::display("id,name,is_free,active,deleted").eq("is_free", 1),
            )
            .await?;
        carriers
            .iter()
            .find(|c| c.is_free && c.active && !c.deleted)
            .map(|c| c.id)
            .ok_or_else(|| StoreError::Invalid {
                status: 400,
                message: "The shop has no active free carrier for marketplace orders; enable one (Shipping → Carriers, \"Free shipping\"), TikTok's shipping fee is written on each order.".into(),
            })
    }

    /// The TikTok order's cart (found by its delivery address, else created with its
    /// rows) and its carrier.
    async fn cart(&self, order: &NewOrder, customer: (u64, &str), id_address: u64) -> Result<(u64, u64), StoreError> {
        #[derive(Deserialize)]
        struct CartRow {
            #[serde(deserialize_with = "de::id")]
            id: u64,
            #[serde(default, deserialize_with = "de::id")]
            id_carrier: u64,
        }
        let shop = self.shop().await?;
        let find = move || async move {
            let list = List::display("id,id_carrier").eq("id_address_delivery", id_address);
            let found: Option<CartRow> = self.client.first("carts", &list).await?;
            Ok(found.map(|c| (c.id, c.id_carrier)))
        };
        let create = move || async move {
            let id_carrier = self.free_carrier().await?;
            let mut rows = Vec::with_capacity(order.lines.len());
            for line in &order.lines {
                let variant = VariantId::parse(&line.variant_id)?;
                rows.push(Node::Parent(
                    "cart_row",
                    vec![
                        Node::leaf("id_product", variant.product),
                        Node::leaf("id_product_attribute", variant.part.unwrap_or(0)),
                        Node::leaf("id_address_delivery", id_address),
                        Node::leaf("quantity", line.quantity),
                    ],
                ));
            }
            let delivery_option = serde_json::json!({ id_address.to_string(): format!("{id_carrier},") });
            let created: CartRow = self
                .client
                .create(
                    "carts",
                    "cart",
                    vec![
                        Node::leaf("id_currency", shop.id_currency),
                        Node::leaf("id_lang", shop.id_lang),
                        Node::leaf("id_customer", customer.0),
                        Node::leaf("id_address_delivery", id_address),
                        Node::leaf("id_address_invoice", id_address),
                        Node::leaf("id_carrier", id_carrier),
                        Node::leaf("id_shop", self.client.id_shop()),
                        Node::leaf("secure_key", customer.1),
                        Node::leaf("delivery_option", delivery_option),
                        Node::Parent("associations", vec![Node::Parent("cart_rows", rows)]),
                    ],
                )
                .await?;
            Ok((created.id, id_carrier))
        };
        found_or_created(find, create).await
    }

    /// Prices every row of the cart at TikTok's price, by a specific price bound to the
    /// cart (PrestaShop deletes them once the cart is ordered: call it before).
    async fn price_cart(&self, order: &NewOrder, id_cart: u64) -> Result<(), StoreError> {
        for line in &order.lines {
            let variant = VariantId::parse(&line.variant_id)?;
            let key = (variant.product, variant.part.unwrap_or(0));
            let find = move || async move {
                let priced: Vec<SpecificPriceRow> = self
                    .client
                    .list(
                        "specific_prices",
                        &List::display("id_product,id_product_attribute").eq("id_cart", id_cart),
                    )
                    .await?;
                Ok(priced
                    .iter()
                    .any(|p| (p.id_product, p.id_product_attribute) == key)
                    .then_some(()))
            };
            let create = move || async move {
                self.client
                    .create::<IdRow>(
                        "specific_prices",
                        "specific_price",
                        vec![
                            Node::leaf("id_shop", self.client.id_shop()),
                            Node::leaf("id_shop_group", 0),
                            Node::leaf("id_cart", id_cart),
                            Node::leaf("id_product", key.0),
                            Node::leaf("id_product_attribute", key.1),
                            Node::leaf("id_currency", 0),
                            Node::leaf("id_country", 0),
                            Node::leaf("id_group", 0),
                            Node::leaf("id_customer", 0),
                            Node::leaf("price", line.price_ex_tax),
                            Node::leaf("from_quantity", 1),
                            Node::leaf("reduction", 0),
                            Node::leaf("reduction_tax", 0),
                            Node::leaf("reduction_type", "amount"),
                            Node::leaf("from", "0000-00-00 00:00:00"),
                            Node::leaf("to", "0000-00-00 00:00:00"),
                        ],
                    )
                    .await
                    .map(drop)
            };
            found_or_created(find, create).await?;
        }
        Ok(())
    }

    /// Sets what a placed order carries for the marketplace: TikTok's totals (on the
    /// order and its carrier line), the note naming the TikTok order (and the cart's
    /// own total where PrestaShop priced it otherwise), and the state asked for.
    async fn finish(&self, placed: PsOrder, order: &NewOrder) -> Result<Order, StoreError> {
        let shop = self.shop().await?;
        let totals = Totals::of(order);
        if external_id_of(&placed.note).as_deref() != Some(order.external_order_id.as_str()) {
            let mut note = note_prefix(&order.external_order_id);
            if placed.total_paid_tax_incl != totals.paid.1 {
                note.push_str(&format!(
                    " PrestaShop priced the cart at {}; the totals are what the buyer paid on TikTok Shop.",
                    placed.total_paid_tax_incl
                ));
            }
            if !order.staff_notes.trim().is_empty() {
                note.push(' ');
                note.push_str(order.staff_notes.trim());
            }
            let carriers: Vec<OrderCarrierRow> = self
                .client
                .list(
                    "order_carriers",
                    &List::display("id,id_carrier,tracking_number").eq("id_order", placed.id),
                )
                .await?;
            for carrier in carriers {
                self.client
                    .patch(
                        "order_carriers",
                        "order_carrier",
                        carrier.id,
                        vec![
                            Node::leaf("shipping_cost_tax_excl", totals.shipping.0),
                            Node::leaf("shipping_cost_tax_incl", totals.shipping.1),
                        ],
                    )
                    .await?;
            }
            let mut fields = vec![Node::leaf("note", note)];
            fields.extend(totals.fields());
            self.client.patch("orders", "order", placed.id, fields).await?;
        }
        let placed = self.order(placed.id).await?;
        if shop.states.status(placed.current_state) != order.status {
            self.move_to(&placed, shop.states.state_for(&order.status)?).await?;
        }
        let placed = self.order(placed.id).await?;
        Ok(self.to_order(&placed, shop))
    }

    /// Order ids of changed records and the newest change seen, over one page of
    /// `resource` by `date_upd` from `window` (in the shop's time zone).
    async fn changed<T: serde::de::DeserializeOwned>(
        &self,
        resource: &str,
        display: &str,
        window: &PollWindow,
    ) -> Result<(Vec<T>, Option<String>), StoreError> {
        let zone = &self.shop().await?.time_zone;
        let offset: u64 = window.page().and_then(|p| p.parse().ok()).unwrap_or(0);
        let mut list = List::display(display);
        if let Some(since) = window.since() {
            list = list.between_dates("date_upd", &shop_time(since, zone)?, END_OF_TIME);
        }
        let list = list.sort(&[("date_upd", "ASC"), ("id", "ASC")]).page(offset, PAGE);
        let rows: Vec<T> = self.client.list(resource, &list).await?;
        let next = (rows.len() as u64 == PAGE).then(|| (offset + PAGE).to_string());
        Ok((rows, next))
    }
}

/// What `find` finds, else what `create` makes. A create is sent once (it is not
/// idempotent); when its answer is lost (a retryable failure), what it made is looked
/// for with `find` before the failure is returned, so the next step goes on from it and
/// a retried job makes nothing twice.
async fn found_or_created<T, Found, Made>(
    find: impl Fn() -> Found,
    create: impl FnOnce() -> Made,
) -> Result<T, StoreError>
where
    Found: Future<Output = Result<Option<T>, StoreError>>,
    Made: Future<Output = Result<T, StoreError>>,
{
    if let Some(found) = find().await? {
        return Ok(found);
    }
    match create().await {
        Ok(created) => Ok(created),
        Err(error) if error.is_retryable() => {
            tracing::warn!(%error, "a PrestaShop create failed; looking for what it made");
            find().await?.ok_or(error)
        }
        Err(error) => Err(error),
    }
}

/// A store-neutral product of a PrestaShop product and its combinations.
fn to_product(
    product: PsProduct,
    combinations: Vec<PsCombination>,
    values: &HashMap<u64, OptionValueRow>,
    groups: &HashMap<u64, OptionRow>,
    stock: &HashMap<(u64, u64), StockAvailable>,
    base_url: &str,
    zone: &jiff::tz::TimeZone,
) -> Product {
    let level = |combination: u64| stock.get(&(product.id, combination)).map(|s| s.quantity);
    let image_url = |id: u64| {
        // The original image's storefront path: `img/p/` and the id's digits as folders.
        let digits: Vec<String> = id.to_string().chars().map(String::from).collect();
        format!("{base_url}/img/p/{}/{id}.jpg", digits.join("/"))
    };
    let text = |value: &str| (!value.trim().is_empty()).then(|| value.trim().to_string());
    let variants: Vec<Variant> = if combinations.is_empty() {
        vec![Variant {
            id: product.id.to_string(),
            sku: product.reference.clone(),
            price: None,
            inventory_level: level(0),
            upc: text(&product.upc),
            gtin: text(&product.ean13),
            option_values: Vec::new(),
            image_url: None,
            purchasing_disabled: !product.active,
        }]
    } else {
        combinations
            .iter()
            .map(|c| Variant {
                id: VariantId {
                    product: product.id,
                    part: Some(c.id),
                }
                .render(),
                sku: c.reference.clone(),
                price: Some(product.price + c.price),
                inventory_level: level(c.id),
                upc: text(&c.upc),
                gtin: text(&c.ean13),
                option_values: c
                    .associations
                    .product_option_values
                    .iter()
                    .filter_map(|v| values.get(&v.id))
                    .map(|v| {
                        let group = groups.get(&v.id_attribute_group);
                        let name = group.map_or(String::new(), |g| {
                            if g.public_name.is_empty() {
                                g.name.clone()
                            } else {
                                g.public_name.clone()
                            }
                        });
                        OptionValue {
                            option_id: v.id_attribute_group.to_string(),
                            option_name: name,
                            value_id: v.id.to_string(),
                            label: v.name.clone(),
                        }
                    })
                    .collect(),
                image_url: c.associations.images.first().map(|i| image_url(i.id)),
                purchasing_disabled: !product.active,
            })
            .collect()
    };
    let dimensions = [product.width, product.height, product.depth];
    Product {
        id: product.id.to_string(),
        name: product.name.clone(),
        sku: product.reference.clone(),
        description: product.description.clone(),
        price: product.price,
        sale_price: None,
        brand_id: (product.id_manufacturer != 0).then(|| product.id_manufacturer.to_string()),
        categories: product
            .associations
            .categories
            .iter()
            .map(|c| c.id.to_string())
            .collect(),
        weight: (!product.weight.is_zero()).then_some(product.weight),
        dimensions: dimensions.iter().all(|d| !d.is_zero()).then_some(dimensions),
        inventory_tracking: if combinations.is_empty() {
            InventoryTracking::Product
        } else {
            InventoryTracking::Variant
        },
        inventory_level: level(0).unwrap_or_default(),
        is_visible: product.active && product.visibility != "none",
        upc: text(&product.upc),
        gtin: text(&product.ean13),
        images: product
            .associations
            .images
            .iter()
            .enumerate()
            .map(|(position, image)| Image {
                url: image_url(image.id),
                is_primary: position == 0,
                sort_order: position as i64,
            })
            .collect(),
        custom_fields: text(&product.mpn)
            .map(|mpn| vec![("mpn".to_string(), mpn)])
            .unwrap_or_default(),
        variants,
        date_modified: unix_of(&product.date_upd, zone).map(iso_of).unwrap_or_default(),
    }
}

#[async_trait]
impl StorePlatform for PrestaShop {
    fn platform(&self) -> Platform {
        Platform::PrestaShop
    }

    fn capabilities(&self) -> Capabilities {
        Self::CAPABILITIES
    }

    /// The shop's settings read afresh (the check the connect flow makes, so never the
    /// copy this adapter keeps).
    async fn profile(&self) -> Result<StoreProfile, StoreError> {
        let shop = self.read_shop().await?;
        Ok(StoreProfile {
            name: shop.name,
            currency: shop.currency,
            units: shop.units,
        })
    }

    /// Products and orders changed since the cursor's windows, one page of each per
    /// call; every changed order's rows are stock changes and its carrier lines with a
    /// tracking number shipments; and once per finished product listing, the product
    /// ids and the stock rows are listed whole unless their `Content-Sha1` is unchanged
    /// (a 304): ids gone are deletions, and the products of stock rows that moved are
    /// stock changes (stock written without touching the product: an ERP, the stock
    /// screen, another channel's module).
    async fn changes(&self, cursor: Option<&str>) -> Result<ChangePage, StoreError> {
        let now = jiff::Timestamp::now().as_second();
        let zone = self.shop().await?.time_zone.clone();
        let Some(cursor) = cursor else {
            let mut feed = Feed {
                products: PollWindow::opened(now),
                orders: PollWindow::opened(now),
                ..Feed::default()
            };
            self.product_ids(&mut feed.ids).await?;
            self.stock_moved(&mut feed.stock).await?;
            self.tracking_moved(&mut feed.tracking, now, &zone).await?;
            return Ok(ChangePage {
                changes: Vec::new(),
                cursor: serde_json::to_string(&feed).expect("a poll cursor serializes"),
                more: false,
            });
        };
        let mut feed: Feed = super::read_cursor(cursor)?;
        let mut changes = Vec::new();
        feed.products.begin(now);
        feed.orders.begin(now);

        #[derive(Deserialize)]
        struct Changed {
            #[serde(deserialize_with = "de::id")]
            id: u64,
            #[serde(default, deserialize_with = "de::text")]
            date_upd: String,
        }
        let (products, next) = self
            .changed::<Changed>("products", "id,date_upd", &feed.products)
            .await?;
        let products_done = next.is_none();
        let mut newest = None;
        for product in &products {
            let Some(modified) = unix_of(&product.date_upd, &zone) else {
                continue;
            };
            newest = newest.max(Some(modified));
            let id = product.id.to_string();
            changes.extend(super::product_changed(&id, None, &id, modified));
        }
        feed.products.advance(newest, next.clone());
        let mut more = next.is_some();

        let shop = self.shop().await?;
        let (orders, next) = self.changed::<PsOrder>("orders", "full", &feed.orders).await?;
        let mut newest = None;
        let mut modified_of = HashMap::new();
        for order in &orders {
            let Some(modified) = unix_of(&order.date_upd, &zone) else {
                continue;
            };
            newest = newest.max(Some(modified));
            modified_of.insert(order.id, modified);
            changes.push(StoreChange {
                store: String::new(),
                dedupe_key: format!("order/{}/{modified}", order.id),
                created_at: modified,
                event: StoreEvent::OrderStatus {
                    order_id: order.id.to_string(),
                    new_status: Some(shop.states.status(order.current_state)),
                },
            });
            for row in &order.associations.order_rows {
                let variant = VariantId {
                    product: row.product_id,
                    part: (row.product_attribute_id != 0).then_some(row.product_attribute_id),
                }
                .render();
                changes.push(StoreChange {
                    store: String::new(),
                    dedupe_key: format!("stock/{variant}/order/{}/{modified}", order.id),
                    created_at: modified,
                    event: StoreEvent::Inventory {
                        product_id: row.product_id.to_string(),
                        variant_id: Some(variant),
                    },
                });
            }
        }
        if !orders.is_empty() {
            let ids: Vec<u64> = orders.iter().map(|o| o.id).collect();
            let lines: Vec<OrderCarrierRow> = self
                .client
                .list(
                    "order_carriers",
                    &List::display("id,id_order,tracking_number").any_of("id_order", &ids),
                )
                .await?;
            for line in lines.iter().filter(|l| !l.tracking_number.trim().is_empty()) {
                let modified = modified_of.get(&line.id_order).copied().unwrap_or(now);
                changes.push(StoreChange {
                    store: String::new(),
                    dedupe_key: format!("shipment/{}/{}", line.id, line.tracking_number.trim()),
                    created_at: modified,
                    event: StoreEvent::Shipment {
                        order_id: line.id_order.to_string(),
                        shipment_id: line.id.to_string(),
                    },
                });
            }
        }
        feed.orders.advance(newest, next.clone());
        more |= next.is_some();

        if products_done {
            let known = super::expand_ranges(&feed.ids.ranges);
            if self.product_ids(&mut feed.ids).await? {
                let held: HashSet<u64> = super::expand_ranges(&feed.ids.ranges).into_iter().collect();
                for gone in known.iter().filter(|id| !held.contains(id)) {
                    changes.push(StoreChange {
                        store: String::new(),
                        dedupe_key: format!("deleted/{gone}"),
                        created_at: now,
                        event: StoreEvent::Product {
                            topic: Topic::ProductDeleted,
                            product_id: gone.to_string(),
                        },
                    });
                }
            }
            // Stock this poll already reports (a product changed, an order's rows) is
            // not reported twice.
            let reported: HashSet<String> = changes
                .iter()
                .filter_map(|c| match &c.event {
                    StoreEvent::Inventory { product_id, .. } => Some(product_id.clone()),
                    _ => None,
                })
                .collect();
            let moved = self.stock_moved(&mut feed.stock).await?;
            for (product, variant) in moved
                .into_iter()
                .filter(|(product, _)| !reported.contains(&product.to_string()))
            {
                let key = variant.clone().unwrap_or_else(|| product.to_string());
                changes.push(StoreChange {
                    store: String::new(),
                    dedupe_key: format!("stock/{key}/listing/{}", feed.stock.sha1),
                    created_at: now,
                    event: StoreEvent::Inventory {
                        product_id: product.to_string(),
                        variant_id: variant,
                    },
                });
            }
        }
        if products_done {
            let seen: HashSet<String> = changes.iter().map(|c| c.dedupe_key.clone()).collect();
            for (line, id_order, tracking_number) in self.tracking_moved(&mut feed.tracking, now, &zone).await? {
                let dedupe_key = format!("shipment/{line}/{tracking_number}");
                if seen.contains(&dedupe_key) {
                    continue;
                }
                changes.push(StoreChange {
                    store: String::new(),
                    dedupe_key,
                    created_at: now,
                    event: StoreEvent::Shipment {
                        order_id: id_order.to_string(),
                        shipment_id: line.to_string(),
                    },
                });
            }
        }
        Ok(ChangePage {
            changes,
            cursor: serde_json::to_string(&feed).expect("a poll cursor serializes"),
            more,
        })
    }

    async fn products_changed_since(
        &self,
        since: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<ProductPage, StoreError> {
        let shop = self.shop().await?;
        let offset: u64 = cursor.and_then(|c| c.parse().ok()).unwrap_or(0);
        let mut list = List::display("full");
        if let Some(since) = since {
            list = list.between_dates("date_upd", &shop_time(since, &shop.time_zone)?, END_OF_TIME);
        }
        let list = list
            .sort(&[("date_upd", "ASC"), ("id", "ASC")])
            .page(offset, PAGE)
            .language(shop.id_lang);
        let products: Vec<PsProduct> = self.client.list("products", &list).await?;
        let next = (products.len() as u64 == PAGE).then(|| (offset + PAGE).to_string());
        Ok(ProductPage {
            products: self.to_products(products).await?,
            next,
            total: None,
        })
    }

    async fn product(&self, product_id: &str) -> Result<Option<Product>, StoreError> {
        let Ok(id) = product_id.parse::<u64>() else {
            return Ok(None);
        };
        let found = self.products_by_id(&[id]).await?;
        Ok(self.to_products(found).await?.pop())
    }

    async fn variant_stock(&self, variant_ids: &[String]) -> Result<Vec<VariantStock>, StoreError> {
        let ids = variant_ids
            .iter()
            .map(|id| VariantId::parse(id))
            .collect::<Result<Vec<_>, _>>()?;
        let products: Vec<u64> = ids
            .iter()
            .map(|v| v.product)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let stock = self.stock_of(&products).await?;
        Ok(ids
            .into_iter()
            .filter_map(|variant| {
                stock
                    .get(&(variant.product, variant.part.unwrap_or(0)))
                    .map(|row| VariantStock {
                        variant_id: variant.render(),
                        product_id: variant.product.to_string(),
                        available: row.quantity,
                    })
            })
            .collect())
    }

    async fn brands(&self) -> Result<Vec<Named>, StoreError> {
        let rows: Vec<NamedRow> = self.client.list("manufacturers", &List::display("id,name")).await?;
        Ok(rows
            .into_iter()
            .map(|b| Named {
                id: b.id.to_string(),
                name: b.name,
            })
            .collect())
    }

    async fn categories(&self) -> Result<Vec<Category>, StoreError> {
        let id_lang = self.shop().await?.id_lang;
        let rows: Vec<CategoryRow> = self
            .client
            .list("categories", &List::display("id,id_parent,name").language(id_lang))
            .await?;
        Ok(rows
            .into_iter()
            .map(|c| Category {
                id: c.id.to_string(),
                parent_id: (c.id_parent != 0).then(|| c.id_parent.to_string()),
                name: c.name,
            })
            .collect())
    }

    async fn units(&self) -> Result<Units, StoreError> {
        Ok(self.shop().await?.units.clone())
    }

    /// The order of a TikTok order: found by its note, else by the chain a lost answer
    /// leaves (the address named after the TikTok order, its cart, the cart's order),
    /// each step created only when it is not there, then finished ([`PrestaShop::finish`]).
    async fn create_order(&self, order: &NewOrder) -> Result<Order, StoreError> {
        if let Some(placed) = self.order_by_note(&order.external_order_id).await? {
            // Finished again: a job that died after the note leaves the state to move.
            return self.finish(placed, order).await;
        }
        let shop = self.shop().await?;
        self.check_lines(order).await?;
        let (id_customer, secure_key) = self.customer(order).await?;
        let id_address = self.address(order, id_customer).await?;
        let (id_cart, id_carrier) = self.cart(order, (id_customer, &secure_key), id_address).await?;
        let find = move || async move {
            self.client
                .first::<PsOrder>("orders", &List::display("full").eq("id_cart", id_cart))
                .await
        };
        let create = move || async move {
            self.price_cart(order, id_cart).await?;
            let totals = Totals::of(order);
            let created: IdRow = self
                .client
                .create(
                    "orders",
                    "order",
                    vec![
                        Node::leaf("id_address_delivery", id_address),
                        Node::leaf("id_address_invoice", id_address),
                        Node::leaf("id_cart", id_cart),
                        Node::leaf("id_currency", shop.id_currency),
                        Node::leaf("id_lang", shop.id_lang),
                        Node::leaf("id_customer", id_customer),
                        Node::leaf("id_carrier", id_carrier),
                        Node::leaf("id_shop", self.client.id_shop()),
                        Node::leaf("module", PAYMENT_MODULE),
                        Node::leaf("payment", PAYMENT_LABEL),
                        // The cart's own total (its rows at TikTok's prices, a free
                        // carrier): PrestaShop checks the payment against it.
                        Node::leaf("total_paid", totals.products_wt),
                        Node::leaf("total_paid_real", 0),
                        Node::leaf("total_products", totals.products),
                        Node::leaf("total_products_wt", totals.products_wt),
                        Node::leaf("conversion_rate", 1),
                    ],
                )
                .await?;
            self.order(created.id).await
        };
        let placed = found_or_created(find, create).await?;
        self.finish(placed, order).await
    }

    async fn find_order_by_external_id(&self, external_order_id: &str) -> Result<Option<Order>, StoreError> {
        let shop = self.shop().await?;
        Ok(self
            .order_by_note(external_order_id)
            .await?
            .map(|o| self.to_order(&o, shop)))
    }

    /// Moves the order to the state `status` maps to, unless it is there. A partial
    /// refund moves it only where the shop has a state of that name (PrestaShop has none
    /// by default: its credit slip records it).
    async fn update_order_status(&self, order_id: &str, status: &OrderStatus) -> Result<(), StoreError> {
        let shop = self.shop().await?;
        let order = self.order(parse_id(order_id)?).await?;
        if shop.states.status(order.current_state) == *status {
            return Ok(());
        }
        match shop.states.state_for(status) {
            Ok(state) => self.move_to(&order, state).await,
            Err(_) if *status == OrderStatus::PartiallyRefunded => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn cancel_order(&self, order_id: &str) -> Result<(), StoreError> {
        self.update_order_status(order_id, &OrderStatus::Cancelled).await
    }

    async fn archive_order(&self, _order_id: &str) -> Result<(), StoreError> {
        Err(StoreError::Invalid {
            status: 400,
            message: "PrestaShop orders cannot be archived.".into(),
        })
    }

    async fn update_shipping_address(&self, _order_id: &str, _address: &Address) -> Result<(), StoreError> {
        Err(StoreError::Invalid {
            status: 400,
            message: "The connector does not change PrestaShop order addresses; edit it in the back office.".into(),
        })
    }

    /// A credit slip of `refund.amount` (products, with tax) on the order, after checking
    /// it against what the order's slips leave to refund. Errors: [`StoreError::Invalid`]
    /// for an amount that is not positive or above what is left.
    async fn refund_order(&self, order_id: &str, refund: &NewRefund) -> Result<Refund, StoreError> {
        let order = self.order(parse_id(order_id)?).await?;
        let refunded: Decimal = self.refunds(order_id).await?.iter().map(|r| r.amount).sum();
        let left = order.total_paid_tax_incl - refunded;
        if refund.amount <= Decimal::ZERO || refund.amount > left {
            return Err(StoreError::Invalid {
                status: 400,
                message: format!(
                    "A refund of {} cannot be recorded on order {}: {left} of its {} is left to refund.",
                    refund.amount, order.id, order.total_paid_tax_incl
                ),
            });
        }
        tracing::info!(order = order.id, amount = %refund.amount, reason = %refund.reason, "recording a PrestaShop credit slip");
        let slip: IdRow = self
            .client
            .create(
                "order_slip",
                "order_slip",
                vec![
                    Node::leaf("id_customer", order.id_customer),
                    Node::leaf("id_order", order.id),
                    Node::leaf("conversion_rate", 1),
                    Node::leaf("total_products_tax_excl", refund.amount),
                    Node::leaf("total_products_tax_incl", refund.amount),
                    Node::leaf("total_shipping_tax_excl", 0),
                    Node::leaf("total_shipping_tax_incl", 0),
                    Node::leaf("amount", refund.amount),
                    Node::leaf("shipping_cost", 0),
                    Node::leaf("shipping_cost_amount", 0),
                    Node::leaf("partial", u8::from(refund.amount < left)),
                ],
            )
            .await?;
        Ok(Refund {
            id: slip.id.to_string(),
            amount: refund.amount,
        })
    }

    /// The order's credit slips, oldest first. Errors: [`StoreError::NotFound`] for an
    /// order the shop does not hold.
    async fn refunds(&self, order_id: &str) -> Result<Vec<Refund>, StoreError> {
        let order = self.order(parse_id(order_id)?).await?;
        let slips: Vec<OrderSlipRow> = self
            .client
            .list(
                "order_slip",
                &List::display("id,total_products_tax_incl,total_shipping_tax_incl")
                    .eq("id_order", order.id)
                    .sort(&[("id", "ASC")]),
            )
            .await?;
        Ok(slips
            .into_iter()
            .map(|slip| Refund {
                id: slip.id.to_string(),
                amount: (slip.total_products_tax_incl + slip.total_shipping_tax_incl).normalize(),
            })
            .collect())
    }

    /// Moves each row's quantity by its delta (PrestaShop has no relative stock write:
    /// the row is read and its new level written).
    async fn adjust_stock(&self, changes: &[StockChange], reason: &str) -> Result<(), StoreError> {
        let variants = changes
            .iter()
            .map(|c| VariantId::parse(&c.variant_id))
            .collect::<Result<Vec<_>, _>>()?;
        let products: Vec<u64> = variants
            .iter()
            .map(|v| v.product)
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let stock = self.stock_of(&products).await?;
        for (change, variant) in changes.iter().zip(variants) {
            let row = stock
                .get(&(variant.product, variant.part.unwrap_or(0)))
                .ok_or_else(|| StoreError::NotFound(format!("no stock row of {}", change.variant_id)))?;
            let level = row.quantity + change.delta;
            tracing::info!(variant = %change.variant_id, delta = change.delta, level, reason, "setting PrestaShop stock");
            self.client
                .patch(
                    "stock_availables",
                    "stock_available",
                    row.id,
                    vec![Node::leaf("quantity", level)],
                )
                .await?;
        }
        Ok(())
    }

    /// No: moving an order to Refunded leaves its stock (PrestaShop restocks through a
    /// return or a partial refund made in the back office).
    async fn restocks_on_refund(&self) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// Yes: PrestaShop puts a cancelled order's units back in stock.
    async fn restocks_on_cancel(&self) -> Result<bool, StoreError> {
        Ok(true)
    }

    /// The order's carrier lines with a tracking number, each with every row of the
    /// order (PrestaShop ships an order as one).
    async fn shipments(&self, order_id: &str) -> Result<Vec<Shipment>, StoreError> {
        let order = self.order(parse_id(order_id)?).await?;
        let lines: Vec<OrderCarrierRow> = self
            .client
            .list(
                "order_carriers",
                &List::display("id,id_carrier,tracking_number").eq("id_order", order.id),
            )
            .await?;
        let lines: Vec<OrderCarrierRow> = lines
            .into_iter()
            .filter(|l| !l.tracking_number.trim().is_empty())
            .collect();
        if lines.is_empty() {
            return Ok(Vec::new());
        }
        let carrier_ids: Vec<u64> = lines.iter().map(|l| l.id_carrier).collect();
        let names: HashMap<u64, String> = self
            .client
            .list::<NamedRow>("carriers", &List::display("id,name").any_of("id", &carrier_ids))
            .await?
            .into_iter()
            .map(|c| (c.id, c.name))
            .collect();
        let items: Vec<(String, u32)> = order
            .associations
            .order_rows
            .iter()
            .map(|row| {
                let variant = VariantId {
                    product: row.product_id,
                    part: (row.product_attribute_id != 0).then_some(row.product_attribute_id),
                };
                (variant.render(), row.product_quantity as u32)
            })
            .collect();
        Ok(lines
            .into_iter()
            .map(|line| {
                let carrier = names.get(&line.id_carrier).cloned().unwrap_or_default();
                Shipment {
                    id: line.id.to_string(),
                    order_id: order.id.to_string(),
                    tracking_number: line.tracking_number.trim().to_string(),
                    carrier: carrier.clone(),
                    shipping_method: carrier,
                    items: items.clone(),
                }
            })
            .collect())
    }

    /// The order in the back office. Its folder is renamed per install and its links
    /// carry a token, so this is the shop's address with the order's: the back office
    /// asks the merchant to sign in and opens it.
    fn order_admin_url(&self, order_id: &str) -> String {
        format!(
            "{}/admin/index.php?controller=AdminOrders&vieworder&id_order={order_id}",
            self.client.base_url()
        )
    }
}

impl PrestaShop {
    /// Lists the product ids unless their listing's `Content-Sha1` is still `ids`'; on a
    /// change keeps the new SHA-1 and ids. Returns whether they were listed.
    async fn product_ids(&self, ids: &mut Ids) -> Result<bool, StoreError> {
        let listed = self
            .client
            .list_if_changed::<IdRow>("products", &List::display("id").sort(&[("id", "ASC")]), Some(&ids.sha1))
            .await?;
        let Some((rows, sha1)) = listed else {
            return Ok(false);
        };
        let held: Vec<u64> = rows.into_iter().map(|r| r.id).collect();
        *ids = Ids {
            sha1,
            ranges: super::id_ranges(&held),
        };
        Ok(true)
    }

    /// Lists the stock rows unless their listing's `Content-Sha1` is still `levels`'; on
    /// a change keeps the new levels and returns, per product whose stock moved (or is
    /// new) since the last listing, the variant that moved (`None` when several did);
    /// none on the first listing.
    async fn stock_moved(&self, levels: &mut Levels) -> Result<Vec<(u64, Option<String>)>, StoreError> {
        let list = List::display("id,id_product,id_product_attribute,quantity").sort(&[("id", "ASC")]);
        let relisted = self
            .relisted("stock_availables", &list, levels, |r: &StockAvailable| {
                (r.id, r.quantity)
            })
            .await?;
        let Some((rows, before)) = relisted else {
            return Ok(Vec::new());
        };
        // A product with combinations keeps their sum in its own row: that row moves
        // with them and stands for nothing more. One change per product: the one
        // variant that moved, or the whole product when several did.
        let with_combinations: HashSet<u64> = rows
            .iter()
            .filter(|r| r.id_product_attribute != 0)
            .map(|r| r.id_product)
            .collect();
        let mut moved: std::collections::BTreeMap<u64, Vec<u64>> = std::collections::BTreeMap::new();
        for row in rows.iter().filter(|row| before.get(&row.id) != Some(&row.quantity)) {
            if row.id_product_attribute == 0 && with_combinations.contains(&row.id_product) {
                moved.entry(row.id_product).or_default();
            } else {
                moved.entry(row.id_product).or_default().push(row.id_product_attribute);
            }
        }
        Ok(moved
            .into_iter()
            .map(|(product, parts)| {
                let variant = match parts.as_slice() {
                    [0] => Some(product.to_string()),
                    [part] => Some(
                        VariantId {
                            product,
                            part: Some(*part),
                        }
                        .render(),
                    ),
                    _ => None,
                };
                (product, variant)
            })
            .collect())
    }
}

impl PrestaShop {
    /// Lists `resource` whole unless its `Content-Sha1` is still `levels`'; on a change
    /// keeps each row's number (`number_of`: `(row id, number)`) in `levels` and returns
    /// the rows (by id) with the numbers the last listing held; `None` when nothing
    /// changed, or on the first listing (nothing to compare with).
    async fn relisted<T: serde::de::DeserializeOwned>(
        &self,
        resource: &str,
        list: &List,
        levels: &mut Levels,
        number_of: impl Fn(&T) -> (u64, i64),
    ) -> Result<Option<(Vec<T>, HashMap<u64, i64>)>, StoreError> {
        let listed = self
            .client
            .list_if_changed::<T>(resource, list, Some(&levels.sha1))
            .await?;
        let Some((mut rows, sha1)) = listed else {
            return Ok(None);
        };
        rows.sort_by_key(|row| number_of(row).0);
        let first = levels.packed.is_empty();
        let before = levels.unpack();
        *levels = Levels::of(sha1, rows.iter().map(&number_of));
        Ok((!first).then_some((rows, before)))
    }

    /// Lists the carrier lines of the last [`TRACKING_DAYS`] days unless their listing's
    /// `Content-Sha1` is still `tracking`'s; on a change keeps the new hashes and returns
    /// `(line, order, tracking number)` of each line whose tracking number is new or
    /// changed (none on the first listing).
    async fn tracking_moved(
        &self,
        tracking: &mut Levels,
        now: i64,
        zone: &jiff::tz::TimeZone,
    ) -> Result<Vec<(u64, u64, String)>, StoreError> {
        let since = shop_time(&iso_of(now - TRACKING_DAYS * 86_400), zone)?;
        let list = List::display("id,id_order,tracking_number")
            .between_dates("date_add", &since, END_OF_TIME)
            .sort(&[("id", "ASC")]);
        let relisted = self
            .relisted("order_carriers", &list, tracking, |l: &OrderCarrierRow| {
                (l.id, tracking_hash(&l.tracking_number))
            })
            .await?;
        let Some((lines, before)) = relisted else {
            return Ok(Vec::new());
        };
        Ok(lines
            .into_iter()
            .filter(|l| {
                let hash = tracking_hash(&l.tracking_number);
                hash != 0 && before.get(&l.id) != Some(&hash)
            })
            .map(|l| (l.id, l.id_order, l.tracking_number.trim().to_string()))
            .collect())
    }
}

/// A PrestaShop id. Errors: [`StoreError::Invalid`] for anything else.
fn parse_id(id: &str) -> Result<u64, StoreError> {
    id.parse().map_err(|_| StoreError::Invalid {
        status: 400,
        message: format!("{id:?} is not a PrestaShop id"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_times_read_and_write_in_the_shops_time_zone() {
        let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
        assert_eq!(unix_of("2026-11-30 11:00:00", &paris), Some(1_796_032_800));
        assert_eq!(
            shop_time("2026-11-30T10:00:00+00:00", &paris).unwrap(),
            "2026-11-30 11:00:00"
        );
        let new_york = jiff::tz::TimeZone::get("America/New_York").unwrap();
        assert_eq!(
            shop_time("2026-11-30T10:00:00+00:00", &new_york).unwrap(),
            "2026-11-30 05:00:00"
        );
        assert_eq!(unix_of("0000-00-00 00:00:00", &paris), None);
    }

    #[test]
    fn names_are_what_prestashop_accepts() {
        assert_eq!(ps_name("J0hn (Jr.)", "x"), "Jhn Jr");
        assert_eq!(ps_name("J.R. Smith", "x"), "JR. Smith");
        assert_eq!(ps_name("Ana/María [x]", "x"), "AnaMaría x");
        assert_eq!(ps_text("1 Main St <Apt 2>", NOT_IN_ADDRESS, 128), "1 Main St Apt 2");
        assert_eq!(ps_text("St. Louis; MO", NOT_IN_CITY, 64), "St. Louis MO");
        assert_eq!(ps_postcode(" 78751-1234_x "), "78751-1234x");
        assert_eq!(ps_name("  Ann   Lee ", "x"), "Ann Lee");
        assert_eq!(ps_name("12345", "Buyer"), "Buyer");
        assert_eq!(ps_name("José 🎉", "x"), "José 🎉");
        assert_eq!(ps_phone("+1 (512) 555-0100 ext#2"), "+1 (512) 555-0100 2");
        assert_eq!(
            external_id_of(&format!("Gift. {}", note_prefix("576461413000000201"))).as_deref(),
            Some("576461413000000201"),
            "the id is found wherever the merchant's words put it"
        );
    }

    #[test]
    fn the_note_names_the_tiktok_order_exactly() {
        let note = format!("{} Conformance order", note_prefix("576461413000000201"));
        assert_eq!(external_id_of(&note).as_deref(), Some("576461413000000201"));
        assert_ne!(external_id_of(&note).as_deref(), Some("57646141300000020"));
        assert_eq!(external_id_of("Call before delivery"), None);
        assert_eq!(address_alias("576461413000000201"), "TikTok 576461413000000201");
        assert!(address_alias(&"9".repeat(40)).chars().count() <= 32);
    }

    #[test]
    fn totals_are_tiktoks_with_handling_as_shipping() {
        let line = crate::store::NewOrderLine {
            product_id: "1".into(),
            variant_id: "1".into(),
            quantity: 2,
            price_ex_tax: Decimal::new(800, 2),
            price_inc_tax: Decimal::new(850, 2),
        };
        let order = NewOrder {
            external_order_id: "576461413000000201".into(),
            channel_id: None,
            status: OrderStatus::AwaitingFulfillment,
            billing_address: Address::default(),
            shipping_address: Address::default(),
            shipping_method: String::new(),
            lines: vec![line],
            shipping_cost: (Decimal::new(500, 2), Decimal::new(500, 2)),
            handling_cost: (Decimal::ONE, Decimal::ONE),
            discount_amount: Decimal::new(200, 2),
            payment_method: String::new(),
            customer_message: String::new(),
            staff_notes: String::new(),
        };
        let totals = Totals::of(&order);
        assert_eq!(totals.products_wt, Decimal::new(1700, 2));
        assert_eq!(totals.shipping.1, Decimal::new(600, 2));
        assert_eq!(totals.paid, (Decimal::new(2000, 2), Decimal::new(2100, 2)));
        assert_eq!(customer_email(&order, false), "tiktok-576461413000000201@example.com");
        assert_eq!(customer_email(&order, true), "tiktok-shop-orders@example.com");
    }

    #[test]
    fn stock_levels_pack_small_and_read_back() {
        let rows: Vec<StockAvailable> = (1..=10_000)
            .map(|id| StockAvailable {
                id,
                id_product: id,
                id_product_attribute: 0,
                quantity: (id % 300) as i64 - 5,
            })
            .collect();
        let levels = Levels::of("sha".into(), rows.iter().map(|r| (r.id, r.quantity)));
        assert!(levels.packed.len() < 40_000, "{} bytes", levels.packed.len());
        let read = levels.unpack();
        assert_eq!(read.len(), 10_000);
        assert_eq!(read[&7], 2);
        assert_eq!(read[&4], -1);
        assert!(Levels::default().unpack().is_empty());
    }
}
