//! The Magento 2 (Adobe Commerce) adapter: [`StorePlatform`] over the REST API of one
//! store view (`store-platforms-api.md` §4), signed with the integration's OAuth 1.0a
//! credentials ([`client`]).
//!
//! - **Products.** A visible simple product is a product with one variant (its own id);
//!   a configurable product's variants are its children, with the id
//!   `{parent id}:{child id}` (so a stock line, an order line and a shipment line know
//!   their product without another call). Stock is MSI's salable quantity (sources less
//!   open reservations) of the store's stock.
//! - **Orders** go through the quote flow (cart, items, addresses and shipping method,
//!   payment, place order, invoice), so Magento prices the order, validates it and
//!   reserves its stock like any other; the TikTok order id goes in `ext_order_id` and a
//!   comment. Magento's REST API cannot set item prices on a quote: a store price that
//!   differs from TikTok's is noted on the order for the merchant.
//! - **Changes** are polled (Magento Open Source has no outbound webhooks): products,
//!   orders and shipments by `updated_at`, new store orders' items as stock changes
//!   (a storefront sale moves the salable quantity without touching the product), and
//!   deletions from the product count.

pub mod client;
pub mod model;

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use async_trait::async_trait;
use reqwest::Method;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive as _;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::OnceCell;

pub use client::{Client, ClientConfig, Credentials};
use client::{SearchCriteria, SearchResults};
use model::*;

use super::{
    Address, Capabilities, Category, ChangeFeed, ChangePage, Image, InventoryTracking, Named, NewOrder, NewRefund,
    OptionValue, Order, OrderStatus, Platform, PollWindow, Product, ProductPage, Refund, Shipment, StockChange,
    StoreChange, StoreError, StoreEvent, StorePlatform, StoreProfile, Topic, Units, Variant, VariantId, VariantStock,
};

/// Products per page of a listing.
const PAGE: u32 = 100;
/// Ids per page of the product id scan behind deletions.
const ID_PAGE: u32 = client::MAX_PAGE_SIZE;
/// The carrier and method of marketplace orders (Magento's Flat Rate, on by default).
const SHIPPING: (&str, &str) = ("flatrate", "flatrate");
/// The payment method of marketplace orders (Check / Money order, on by default).
const PAYMENT: &str = "checkmo";

/// The Magento 2 platform of one store view.
pub struct Magento2 {
    client: Client,
    config: OnceCell<StoreConfig>,
    inventory: OnceCell<Inventory>,
}

/// How a store keeps stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inventory {
    /// Multi-source inventory: source items, reservations, and the salable quantity
    /// of this stock (the one the store view's website sells from).
    Msi { stock_id: u64 },
    /// The legacy single-source stock item of each product (a store without the MSI
    /// modules): its qty, which an order takes at once.
    Legacy,
}

/// Magento's `Y-m-d H:i:s` (UTC) of an ISO-8601 time.
fn magento_time(iso: &str) -> Result<String, StoreError> {
    jiff::Timestamp::from_str(iso)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .map_err(|_| StoreError::Invalid {
            status: 400,
            message: format!("{iso:?} is not an ISO-8601 time"),
        })
}

/// Unix seconds of Magento's `Y-m-d H:i:s` (UTC).
fn unix_of(magento: &str) -> Option<i64> {
    jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", magento)
        .ok()
        .and_then(|t| t.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp().as_second())
}

/// ISO-8601 of Magento's `Y-m-d H:i:s` (UTC).
fn iso_of(magento: &str) -> String {
    unix_of(magento)
        .and_then(|unix| jiff::Timestamp::from_second(unix).ok())
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// The Magento status code each store-neutral status is written as: Magento's own
/// where it has one (`pending`, `processing`, `complete` = shipped and invoiced,
/// `closed` = refunded, `canceled`), and codes of the connector's where it has none.
fn status_code(status: &OrderStatus) -> &str {
    match status {
        OrderStatus::Pending => "pending",
        OrderStatus::AwaitingFulfillment => "processing",
        OrderStatus::AwaitingShipment => "awaiting_shipment",
        OrderStatus::PartiallyShipped => "partially_shipped",
        OrderStatus::Shipped => "complete",
        OrderStatus::Completed => "completed",
        OrderStatus::Cancelled => "canceled",
        OrderStatus::Refunded => "closed",
        OrderStatus::PartiallyRefunded => "partially_refunded",
        OrderStatus::Other(code) => code,
    }
}

/// The store-neutral status of an order: by its status code, else by its state.
fn order_status(order: &MagentoOrder) -> OrderStatus {
    const KNOWN: [OrderStatus; 9] = [
        OrderStatus::Pending,
        OrderStatus::AwaitingFulfillment,
        OrderStatus::AwaitingShipment,
        OrderStatus::PartiallyShipped,
        OrderStatus::Shipped,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
        OrderStatus::Refunded,
        OrderStatus::PartiallyRefunded,
    ];
    if let Some(known) = KNOWN.into_iter().find(|s| status_code(s) == order.status) {
        return known;
    }
    match order.state.as_str() {
        "new" => OrderStatus::Pending,
        "processing" => OrderStatus::AwaitingFulfillment,
        "complete" => OrderStatus::Shipped,
        "closed" => OrderStatus::Refunded,
        "canceled" => OrderStatus::Cancelled,
        _ => OrderStatus::Other(order.status.clone()),
    }
}

fn to_order(order: &MagentoOrder) -> Order {
    Order {
        id: order.entity_id.to_string(),
        status: order_status(order),
        external_order_id: order.ext_order_id.clone().filter(|id| !id.is_empty()),
        total_inc_tax: order.grand_total,
    }
}

/// The customer email of the Magento order made for a marketplace order: one per order,
/// at the reserved `example.com` (no inbox; Magento's order mails to it go nowhere,
/// and a TikTok buyer must not be mailed off TikTok anyway). Placed with the cart, it
/// is what finds an order whose placement answer was lost before its `ext_order_id`
/// was written.
fn marketplace_email(external_order_id: &str) -> String {
    format!("tiktok-{external_order_id}@example.com")
}

/// A cart address of a marketplace address. Magento requires a phone, which
/// marketplaces often withhold (`0` stands in), and an email: the order's own
/// ([`marketplace_email`]).
fn cart_address(address: &Address, external_order_id: &str) -> CartAddress {
    let street = [&address.street_1, &address.street_2]
        .into_iter()
        .filter(|line| !line.trim().is_empty())
        .cloned()
        .collect();
    CartAddress {
        firstname: address.first_name.clone(),
        lastname: address.last_name.clone(),
        street,
        city: address.city.clone(),
        region: address.state.clone(),
        postcode: address.zip.clone(),
        country_id: address.country_iso2.clone(),
        telephone: if address.phone.trim().is_empty() {
            "0".into()
        } else {
            address.phone.clone()
        },
        email: marketplace_email(external_order_id),
    }
}

fn decimal(value: &str) -> Option<Decimal> {
    Decimal::from_str(value.trim()).ok()
}

fn units_of(weight_unit: &str) -> Units {
    match weight_unit {
        "kgs" => Units {
            weight: "KGS".into(),
            dimension: "Centimeters".into(),
        },
        _ => Units {
            weight: "Pounds".into(),
            dimension: "Inches".into(),
        },
    }
}

/// The poll cursor of [`Magento2::changes`]: one window per listing and the product
/// ids the store held at the last count (ranges, to stay small at any catalogue size).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Feed {
    products: PollWindow,
    orders: PollWindow,
    shipments: PollWindow,
    ids: Vec<(u64, u64)>,
}

impl Magento2 {
    /// What Magento can do: changes by polling only; partial refunds (credit memos);
    /// stock per source (MSI); no archive, address edit or sales channel; orders priced
    /// by the store.
    pub const CAPABILITIES: Capabilities = Capabilities {
        change_feed: ChangeFeed::Polling,
        partial_refunds: true,
        multi_location_stock: true,
        order_archive: false,
        shipping_address_edit: false,
        sales_channels: false,
        // Magento's REST quote flow prices items from the catalogue.
        marketplace_prices: false,
    };

    /// The adapter over `client`.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            config: OnceCell::new(),
            inventory: OnceCell::new(),
        }
    }

    /// The store view's configuration (read once).
    async fn store_config(&self) -> Result<&StoreConfig, StoreError> {
        self.config
            .get_or_try_init(|| async {
                let configs: Vec<StoreConfig> = self.client.get("/store/storeConfigs", &[]).await?;
                let code = self.client.store_code();
                configs
                    .iter()
                    .find(|c| c.code == code)
                    .or_else(|| configs.iter().find(|c| c.code == "default"))
                    .or(configs.first())
                    .cloned()
                    .ok_or_else(|| StoreError::NotFound(format!("Magento has no store view {code:?}")))
            })
            .await
    }

    /// What the integration may not do of what the connector needs, in Magento's words
    /// (one line per ACL resource refused; empty when it has them all). Each resource
    /// is checked with a read, and carts by creating an empty one (Magento's cron
    /// clears unused quotes). Errors: anything but a refusal (bad credentials, the
    /// store not answering).
    pub async fn missing_access(&self) -> Result<Vec<String>, StoreError> {
        let one = SearchCriteria::new(1).query();
        let reads = [
            "/products",
            "/categories/list",
            "/products/attributes",
            "/orders",
            "/shipments",
            "/creditmemos",
        ];
        let mut missing = Vec::new();
        for path in reads {
            match self.client.get::<serde_json::Value>(path, &one).await {
                Ok(_) => {}
                Err(error) => missing.push(client::refused_resource(error)?),
            }
        }
        let stock = match self.inventory().await {
            Ok(Inventory::Msi { .. }) => self
                .client
                .get::<serde_json::Value>("/inventory/source-items", &one)
                .await
                .map(drop),
            Ok(Inventory::Legacy) => Ok(()),
            Err(error) => Err(error),
        };
        let checks = [
            stock,
            self.client
                .write::<serde_json::Value, _>(Method::POST, "/carts/", &json!({}), true)
                .await
                .map(drop),
        ];
        for check in checks {
            if let Err(error) = check {
                missing.push(client::refused_resource(error)?);
            }
        }
        Ok(missing)
    }

    /// How the store keeps stock (read once): MSI and the stock the store view's website
    /// sells from, or the legacy stock when the MSI routes are absent.
    async fn inventory(&self) -> Result<Inventory, StoreError> {
        self.inventory
            .get_or_try_init(|| async {
                let website_id = self.store_config().await?.website_id;
                let websites: Vec<Website> = self.client.get("/store/websites", &[]).await?;
                let code = websites
                    .iter()
                    .find(|w| w.id == website_id)
                    .map_or("base", |w| w.code.as_str());
                #[derive(Deserialize)]
                struct Resolved {
                    stock_id: u64,
                }
                let resolved: Result<Resolved, _> = self
                    .client
                    .get(
                        &format!("/inventory/stock-resolver/website/{}", client::encode(code)),
                        &[],
                    )
                    .await;
                match resolved {
                    Ok(resolved) => Ok(Inventory::Msi {
                        stock_id: resolved.stock_id,
                    }),
                    Err(error) if client::is_no_route(&error) => Ok(Inventory::Legacy),
                    Err(error) => Err(error),
                }
            })
            .await
            .copied()
    }

    /// The legacy stock item of a SKU.
    async fn stock_item(&self, sku: &str) -> Result<StockItem, StoreError> {
        self.client
            .get(&format!("/stockItems/{}", client::encode(sku)), &[])
            .await
    }

    /// Sellable units of a SKU: MSI's salable quantity, or the legacy stock item's qty
    /// (none when it is out of stock).
    async fn sellable(&self, sku: &str) -> Result<i64, StoreError> {
        let units = match self.inventory().await? {
            Inventory::Msi { stock_id } => {
                self.client
                    .get::<Decimal>(
                        &format!(
                            "/inventory/get-product-salable-quantity/{}/{stock_id}",
                            client::encode(sku)
                        ),
                        &[],
                    )
                    .await?
            }
            Inventory::Legacy => {
                let item = self.stock_item(sku).await?;
                if item.is_in_stock == Some(false) {
                    Decimal::ZERO
                } else {
                    item.qty.unwrap_or_default()
                }
            }
        };
        Ok(units.trunc().to_i64().unwrap_or(0))
    }

    /// Products by entity id (any visibility), keyed by id.
    async fn products_by_id(&self, ids: &[u64]) -> Result<HashMap<u64, MagentoProduct>, StoreError> {
        let mut found = HashMap::new();
        for chunk in ids.chunks(client::MAX_PAGE_SIZE as usize) {
            let list = chunk.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
            let criteria = SearchCriteria::new(client::MAX_PAGE_SIZE).filter("entity_id", "in", list);
            for product in self.client.search_all::<MagentoProduct>("/products", criteria).await? {
                found.insert(product.id, product);
            }
        }
        Ok(found)
    }

    /// The configurable parent of each child id among `children`.
    async fn parents_of(&self, children: &[u64]) -> Result<HashMap<u64, u64>, StoreError> {
        let criteria = SearchCriteria::new(client::MAX_PAGE_SIZE).filter("type_id", "eq", "configurable");
        let parents = self.client.search_all::<MagentoProduct>("/products", criteria).await?;
        let mut of = HashMap::new();
        for parent in parents {
            for child in &parent.extension_attributes.configurable_product_links {
                if children.contains(child) {
                    of.insert(*child, parent.id);
                }
            }
        }
        Ok(of)
    }

    /// Labels of attribute options, by attribute id then option value.
    async fn option_labels(
        &self,
        attribute_ids: &[String],
    ) -> Result<HashMap<String, (String, HashMap<String, String>)>, StoreError> {
        if attribute_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let criteria = SearchCriteria::new(client::MAX_PAGE_SIZE).filter("attribute_id", "in", attribute_ids.join(","));
        let attributes = self
            .client
            .search_all::<Attribute>("/products/attributes", criteria)
            .await?;
        Ok(attributes
            .into_iter()
            .map(|a| {
                let options = a.options.into_iter().map(|o| (o.value, o.label)).collect();
                (a.attribute_id, (a.attribute_code, options))
            })
            .collect())
    }

    /// Store-neutral products of a page of Magento products (children and option
    /// labels read for the configurable ones).
    async fn to_products(&self, products: Vec<MagentoProduct>) -> Result<Vec<Product>, StoreError> {
        let media = self.store_config().await?.base_media_url.clone();
        let mut children = HashMap::new();
        let mut attribute_ids = Vec::new();
        for product in products.iter().filter(|p| p.type_id == "configurable") {
            let kids: Vec<MagentoProduct> = self
                .client
                .get(
                    &format!("/configurable-products/{}/children", client::encode(&product.sku)),
                    &[],
                )
                .await?;
            for option in &product.extension_attributes.configurable_product_options {
                if !attribute_ids.contains(&option.attribute_id) {
                    attribute_ids.push(option.attribute_id.clone());
                }
            }
            children.insert(product.id, kids);
        }
        let labels = self.option_labels(&attribute_ids).await?;
        Ok(products
            .into_iter()
            .map(|product| {
                let kids = children.remove(&product.id).unwrap_or_default();
                to_product(product, kids, &labels, &media)
            })
            .collect())
    }

    async fn order(&self, order_id: &str) -> Result<MagentoOrder, StoreError> {
        let id = order_id
            .parse::<u64>()
            .map_err(|_| StoreError::NotFound(format!("order {order_id}")))?;
        self.client.get(&format!("/orders/{id}"), &[]).await
    }

    /// The order placed from quote `cart_id`, if one was.
    async fn order_of_quote(&self, cart_id: u64) -> Result<Option<MagentoOrder>, StoreError> {
        let criteria = SearchCriteria::new(1).filter("quote_id", "eq", cart_id.to_string());
        let found: SearchResults<MagentoOrder> = self.client.search("/orders", &criteria).await?;
        Ok(found.items.into_iter().next())
    }

    /// A comment on the order, setting its status when `status` is given.
    async fn comment(&self, order_id: u64, comment: &str, status: Option<&str>) -> Result<(), StoreError> {
        let mut history = json!({
            "comment": comment,
            "is_customer_notified": 0,
            "is_visible_on_front": 0,
            "parent_id": order_id,
        });
        if let Some(status) = status {
            history["status"] = json!(status);
        }
        let _: serde_json::Value = self
            .client
            .write(
                Method::POST,
                &format!("/orders/{order_id}/comments"),
                &json!({"statusHistory": history}),
                // A comment sent twice after a lost answer only repeats a note.
                true,
            )
            .await?;
        Ok(())
    }

    /// Invoices the whole order (marks it paid: `new` → `processing`) unless it is.
    /// A lost answer is settled by reading the order again.
    async fn invoice(&self, order: &MagentoOrder) -> Result<(), StoreError> {
        if order.total_invoiced.unwrap_or_default() > Decimal::ZERO {
            return Ok(());
        }
        let path = format!("/order/{}/invoice", order.entity_id);
        let sent: Result<serde_json::Value, _> = self
            .client
            .write(Method::POST, &path, &json!({"capture": true, "notify": false}), false)
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(error) => {
                let again = self.order(&order.entity_id.to_string()).await?;
                if again.total_invoiced.unwrap_or_default() > Decimal::ZERO {
                    Ok(())
                } else {
                    Err(error)
                }
            }
        }
    }

    /// Sets what a placed order carries for the marketplace: its id (`ext_order_id`),
    /// a comment naming it (with TikTok's amounts where Magento priced it otherwise),
    /// the invoice, and the status asked for.
    async fn finish(&self, placed: MagentoOrder, order: &NewOrder) -> Result<Order, StoreError> {
        let id = placed.entity_id;
        if placed.ext_order_id.as_deref() != Some(order.external_order_id.as_str()) {
            let _: serde_json::Value = self
                .client
                .write(
                    Method::POST,
                    "/orders",
                    &json!({"entity": {"entity_id": id, "ext_order_id": order.external_order_id}}),
                    true,
                )
                .await?;
            let marketplace_total: Decimal = order
                .lines
                .iter()
                .map(|l| l.price_inc_tax * Decimal::from(l.quantity))
                .sum::<Decimal>()
                + order.shipping_cost.1
                + order.handling_cost.1
                - order.discount_amount;
            let mut note = format!("TikTok Shop order {}.", order.external_order_id);
            if marketplace_total != placed.grand_total {
                note.push_str(&format!(
                    " The buyer paid {marketplace_total} on TikTok Shop; Magento priced this order at {} from its catalogue.",
                    placed.grand_total
                ));
            }
            if !order.staff_notes.trim().is_empty() {
                note.push(' ');
                note.push_str(order.staff_notes.trim());
            }
            self.comment(id, &note, None).await?;
        }
        let placed = self.order(&id.to_string()).await?;
        if !matches!(order.status, OrderStatus::Pending) {
            self.invoice(&placed).await?;
        }
        if !matches!(order.status, OrderStatus::Pending | OrderStatus::AwaitingFulfillment) {
            self.update_order_status(&id.to_string(), &order.status).await?;
        }
        Ok(to_order(&self.order(&id.to_string()).await?))
    }

    /// Adds one line to a cart; a lost answer is settled by reading the cart.
    async fn add_item(&self, cart_id: u64, sku: &str, quantity: u32) -> Result<(), StoreError> {
        let path = format!("/carts/{cart_id}/items");
        let item = json!({"cartItem": {"sku": sku, "qty": quantity, "quote_id": cart_id.to_string()}});
        for attempt in 1..=3 {
            match self
                .client
                .write::<serde_json::Value, _>(Method::POST, &path, &item, false)
                .await
            {
                Ok(_) => return Ok(()),
                Err(error) if error.is_retryable() && attempt < 3 => {
                    #[derive(Deserialize)]
                    struct Cart {
                        #[serde(default)]
                        items: Vec<CartItem>,
                    }
                    #[derive(Deserialize)]
                    struct CartItem {
                        sku: String,
                    }
                    let cart: Cart = self.client.get(&format!("/carts/{cart_id}"), &[]).await?;
                    if cart.items.iter().any(|i| i.sku == sku) {
                        return Ok(());
                    }
                    tokio::time::sleep(super::retry_delay(attempt)).await;
                }
                Err(error) => return Err(error),
            }
        }
        unreachable!("the loop returns on its last attempt")
    }

    /// Places the cart; a lost answer is settled by looking for the cart's order.
    async fn place(&self, cart_id: u64) -> Result<MagentoOrder, StoreError> {
        let path = format!("/carts/{cart_id}/order");
        let body = json!({"paymentMethod": {"method": PAYMENT}});
        for attempt in 1..=3 {
            match self
                .client
                .write::<serde_json::Value, _>(Method::PUT, &path, &body, false)
                .await
            {
                Ok(id) => {
                    let id = id
                        .as_u64()
                        .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
                        .ok_or_else(|| StoreError::Malformed(format!("place order answered {id}")))?;
                    return self.order(&id.to_string()).await;
                }
                Err(error) if error.is_retryable() || matches!(error, StoreError::NotFound(_)) => {
                    if let Some(order) = self.order_of_quote(cart_id).await? {
                        return Ok(order);
                    }
                    if !error.is_retryable() || attempt == 3 {
                        return Err(error);
                    }
                    tokio::time::sleep(super::retry_delay(attempt)).await;
                }
                Err(error) => return Err(error),
            }
        }
        unreachable!("the loop returns on its last attempt")
    }

    /// The product ids the store holds (all types and visibilities).
    async fn all_ids(&self) -> Result<Vec<u64>, StoreError> {
        #[derive(Deserialize)]
        struct Id {
            id: u64,
        }
        let criteria = SearchCriteria::new(ID_PAGE).sort("entity_id", "ASC");
        Ok(self
            .client
            .search_all::<Id>("/products", criteria)
            .await?
            .into_iter()
            .map(|i| i.id)
            .collect())
    }

    /// How many products the store holds.
    async fn product_count(&self) -> Result<u64, StoreError> {
        let page: SearchResults<serde_json::Value> = self.client.search("/products", &SearchCriteria::new(1)).await?;
        Ok(page.total_count)
    }

    /// One page of a listing by `updated_at` from `window`.
    async fn changed<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        window: &PollWindow,
    ) -> Result<(Vec<T>, Option<String>), StoreError> {
        let (found, next) = self
            .changed_since(path, SearchCriteria::new(PAGE), window.since(), window.page())
            .await?;
        Ok((found.items, next))
    }

    /// One page (`page`, a page number; `None` the first) of `criteria`'s records
    /// changed at or after `since` (ISO-8601; `None` = all), oldest change first; with
    /// the next page's number when there is one.
    async fn changed_since<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        criteria: SearchCriteria,
        since: Option<&str>,
        page: Option<&str>,
    ) -> Result<(SearchResults<T>, Option<String>), StoreError> {
        let page = page.and_then(|p| p.parse::<u32>().ok()).unwrap_or(1);
        let mut criteria = criteria.sort("updated_at", "ASC").sort("entity_id", "ASC").page(page);
        if let Some(since) = since {
            criteria = criteria.filter("updated_at", "gteq", magento_time(since)?);
        }
        let found: SearchResults<T> = self.client.search(path, &criteria).await?;
        let next = found.more_after(&criteria).then(|| (page + 1).to_string());
        Ok((found, next))
    }
}

/// A store-neutral product of a Magento product and, for a configurable one, its children.
fn to_product(
    product: MagentoProduct,
    children: Vec<MagentoProduct>,
    labels: &HashMap<String, (String, HashMap<String, String>)>,
    media: &str,
) -> Product {
    let image = |entry: &MediaEntry| format!("{media}catalog/product{}", entry.file);
    let images: Vec<Image> = product
        .media_gallery_entries
        .iter()
        .filter(|e| !e.disabled && e.media_type == "image")
        .map(|e| Image {
            url: image(e),
            is_primary: e.types.iter().any(|t| t == "image"),
            sort_order: e.position,
        })
        .collect();
    let qty = |p: &MagentoProduct| {
        p.extension_attributes
            .stock_item
            .as_ref()
            .and_then(|s| s.qty)
            .and_then(|q| q.trunc().to_i64())
            .unwrap_or(0)
    };
    let managed = product
        .extension_attributes
        .stock_item
        .as_ref()
        .is_none_or(|s| s.manage_stock);
    let barcode = |p: &MagentoProduct| p.attribute("upc").or_else(|| p.attribute("ean"));
    let variants = if product.type_id == "configurable" {
        children
            .iter()
            .map(|child| {
                let option_values = product
                    .extension_attributes
                    .configurable_product_options
                    .iter()
                    .filter_map(|option| {
                        let (code, options) = labels.get(&option.attribute_id)?;
                        let value = child.attribute(code)?;
                        Some(OptionValue {
                            option_id: option.attribute_id.clone(),
                            option_name: option.label.clone(),
                            label: options.get(&value).cloned().unwrap_or_else(|| value.clone()),
                            value_id: value,
                        })
                    })
                    .collect();
                Variant {
                    id: VariantId::of_simple(product.id, child.id).render(),
                    sku: child.sku.clone(),
                    price: child.price,
                    inventory_level: Some(qty(child)),
                    upc: barcode(child),
                    gtin: child.attribute("gtin"),
                    option_values,
                    image_url: child.media_gallery_entries.iter().find(|e| !e.disabled).map(image),
                    purchasing_disabled: child.status == Some(2),
                }
            })
            .collect()
    } else {
        vec![Variant {
            id: product.id.to_string(),
            sku: product.sku.clone(),
            price: None,
            inventory_level: Some(qty(&product)),
            upc: barcode(&product),
            gtin: product.attribute("gtin"),
            option_values: Vec::new(),
            image_url: None,
            purchasing_disabled: product.status == Some(2),
        }]
    };
    let inventory_tracking = match (managed, product.type_id.as_str()) {
        (false, _) => InventoryTracking::None,
        (true, "configurable") => InventoryTracking::Variant,
        (true, _) => InventoryTracking::Product,
    };
    Product {
        id: product.id.to_string(),
        name: product.name.clone(),
        sku: product.sku.clone(),
        description: product.attribute("description").unwrap_or_default(),
        price: product
            .price
            .or_else(|| children.iter().filter_map(|c| c.price).min())
            .unwrap_or_default(),
        sale_price: product.attribute("special_price").as_deref().and_then(decimal),
        brand_id: product.attribute("manufacturer"),
        categories: product
            .extension_attributes
            .category_links
            .iter()
            .map(|l| l.category_id.clone())
            .collect(),
        weight: product.weight,
        dimensions: dimensions(&product),
        inventory_tracking,
        inventory_level: qty(&product),
        is_visible: product.status != Some(2) && !product.is_child_only(),
        upc: barcode(&product),
        gtin: product.attribute("gtin"),
        images,
        custom_fields: Vec::new(),
        variants,
        date_modified: iso_of(&product.updated_at),
    }
}

/// Package dimensions `[width, height, depth]` (store units) from the attributes stores
/// keep them in: `ts_dimensions_width/height/length` (created by Magento 2.2–2.3 for
/// shipping), else `width`/`height`/`length`. Magento has none of its own; `None` when
/// any of the three is missing.
fn dimensions(product: &MagentoProduct) -> Option<[Decimal; 3]> {
    let read = |names: [&str; 3]| -> Option<[Decimal; 3]> {
        let value = |name: &str| product.attribute(name).as_deref().and_then(decimal);
        Some([value(names[0])?, value(names[1])?, value(names[2])?])
    };
    read(["ts_dimensions_width", "ts_dimensions_height", "ts_dimensions_length"])
        .or_else(|| read(["width", "height", "length"]))
}

#[async_trait]
impl StorePlatform for Magento2 {
    fn platform(&self) -> Platform {
        Platform::Magento2
    }

    fn capabilities(&self) -> Capabilities {
        Self::CAPABILITIES
    }

    async fn profile(&self) -> Result<StoreProfile, StoreError> {
        let config = self.store_config().await?.clone();
        let views: Vec<StoreView> = self.client.get("/store/storeViews", &[]).await?;
        let name = views
            .into_iter()
            .find(|v| v.id == config.id)
            .map_or_else(|| config.code.clone(), |v| v.name);
        Ok(StoreProfile {
            name,
            currency: config.base_currency_code.clone(),
            units: units_of(&config.weight_unit),
        })
    }

    /// Products, orders and shipments changed since the cursor's windows, one page of
    /// each per call; a changed child product stands for its configurable parent; every
    /// changed order's lines are stock changes (a storefront sale, a cancellation or a
    /// shipment moves the salable quantity without touching the product); and once per
    /// finished product listing the product count is compared with the ids the cursor
    /// holds, the ids re-read when they differ, and each id gone is a deletion.
    async fn changes(&self, cursor: Option<&str>) -> Result<ChangePage, StoreError> {
        let now = jiff::Timestamp::now().as_second();
        let Some(cursor) = cursor else {
            let feed = Feed {
                products: PollWindow::opened(now),
                orders: PollWindow::opened(now),
                shipments: PollWindow::opened(now),
                ids: super::id_ranges(&self.all_ids().await?),
            };
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
        feed.shipments.begin(now);

        let (products, next) = self.changed::<MagentoProduct>("/products", &feed.products).await?;
        let products_done = next.is_none();
        let children: Vec<u64> = products.iter().filter(|p| p.is_child_only()).map(|p| p.id).collect();
        let parents = if children.is_empty() {
            HashMap::new()
        } else {
            self.parents_of(&children).await?
        };
        let mut newest = None;
        let mut seen_ids = Vec::new();
        for product in &products {
            let Some(modified) = unix_of(&product.updated_at) else {
                continue;
            };
            newest = newest.max(Some(modified));
            seen_ids.push(product.id);
            match (product.is_child_only(), parents.get(&product.id)) {
                (true, Some(&parent)) => {
                    let variant = VariantId::of_simple(parent, product.id).render();
                    changes.extend(super::product_changed(
                        &parent.to_string(),
                        Some(&variant),
                        &variant,
                        modified,
                    ));
                }
                // A child of no configurable product sells nowhere on its own.
                (true, None) => {}
                (false, _) => changes.extend(super::product_changed(
                    &product.id.to_string(),
                    None,
                    &product.id.to_string(),
                    modified,
                )),
            }
        }
        feed.products.advance(newest, next.clone());
        let mut more = next.is_some();

        let (orders, next) = self.changed::<MagentoOrder>("/orders", &feed.orders).await?;
        let mut newest = None;
        for order in &orders {
            let Some(modified) = unix_of(&order.updated_at) else {
                continue;
            };
            newest = newest.max(Some(modified));
            changes.push(StoreChange {
                store: String::new(),
                dedupe_key: format!("order/{}/{modified}", order.entity_id),
                created_at: modified,
                event: StoreEvent::OrderStatus {
                    order_id: order.entity_id.to_string(),
                    new_status: Some(order_status(order)),
                },
            });
            let lines: BTreeMap<u64, u64> = order.items.iter().map(|i| (i.item_id, i.product_id)).collect();
            for item in order.items.iter().filter(|i| i.product_type != "configurable") {
                let product = item
                    .parent_item_id
                    .and_then(|parent| lines.get(&parent).copied())
                    .unwrap_or(item.product_id);
                let variant = VariantId::of_simple(product, item.product_id).render();
                changes.push(StoreChange {
                    store: String::new(),
                    dedupe_key: format!("stock/{variant}/order/{}/{modified}", order.entity_id),
                    created_at: modified,
                    event: StoreEvent::Inventory {
                        product_id: product.to_string(),
                        variant_id: Some(variant),
                    },
                });
            }
        }
        feed.orders.advance(newest, next.clone());
        more |= next.is_some();

        let (shipments, next) = self.changed::<MagentoShipment>("/shipments", &feed.shipments).await?;
        let mut newest = None;
        for shipment in &shipments {
            let Some(modified) = unix_of(&shipment.updated_at) else {
                continue;
            };
            newest = newest.max(Some(modified));
            changes.push(StoreChange {
                store: String::new(),
                dedupe_key: format!("shipment/{}/{modified}", shipment.entity_id),
                created_at: modified,
                event: StoreEvent::Shipment {
                    order_id: shipment.order_id.to_string(),
                    shipment_id: shipment.entity_id.to_string(),
                },
            });
        }
        feed.shipments.advance(newest, next.clone());
        more |= next.is_some();

        let mut known = super::expand_ranges(&feed.ids);
        known.extend(seen_ids);
        known.sort_unstable();
        known.dedup();
        if products_done && self.product_count().await? != known.len() as u64 {
            let held = self.all_ids().await?;
            for gone in known.iter().filter(|id| held.binary_search(id).is_err()) {
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
            known = held;
        }
        feed.ids = super::id_ranges(&known);
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
        let visible = SearchCriteria::new(PAGE).filter("visibility", "in", "2,3,4");
        let (found, next) = self
            .changed_since::<MagentoProduct>("/products", visible, since, cursor)
            .await?;
        let total = found.total_count;
        Ok(ProductPage {
            products: self.to_products(found.items).await?,
            next,
            total: Some(total),
        })
    }

    async fn product(&self, product_id: &str) -> Result<Option<Product>, StoreError> {
        let Ok(id) = product_id.parse::<u64>() else {
            return Ok(None);
        };
        let Some(product) = self.products_by_id(&[id]).await?.remove(&id) else {
            return Ok(None);
        };
        Ok(self.to_products(vec![product]).await?.pop())
    }

    async fn variant_stock(&self, variant_ids: &[String]) -> Result<Vec<VariantStock>, StoreError> {
        let ids = variant_ids
            .iter()
            .map(|id| VariantId::parse(id))
            .collect::<Result<Vec<_>, _>>()?;
        let simples: Vec<u64> = ids.iter().map(|v| v.simple()).collect();
        let products = self.products_by_id(&simples).await?;
        let mut stock = Vec::with_capacity(ids.len());
        for variant in ids {
            let Some(product) = products.get(&variant.simple()) else {
                continue;
            };
            stock.push(VariantStock {
                variant_id: variant.render(),
                product_id: variant.product.to_string(),
                available: self.sellable(&product.sku).await?,
            });
        }
        Ok(stock)
    }

    async fn brands(&self) -> Result<Vec<Named>, StoreError> {
        let options: Vec<AttributeOption> = self
            .client
            .get("/products/attributes/manufacturer/options", &[])
            .await?;
        Ok(options
            .into_iter()
            .filter(|o| !o.value.is_empty())
            .map(|o| Named {
                id: o.value,
                name: o.label,
            })
            .collect())
    }

    async fn categories(&self) -> Result<Vec<Category>, StoreError> {
        let criteria = SearchCriteria::new(client::MAX_PAGE_SIZE).sort("entity_id", "ASC");
        let categories = self
            .client
            .search_all::<MagentoCategory>("/categories/list", criteria)
            .await?;
        Ok(categories
            .into_iter()
            .filter(|c| c.level > 0)
            .map(|c| Category {
                id: c.id.to_string(),
                // Level 1 is a root catalog: its children are the top categories.
                parent_id: (c.level > 2).then(|| c.parent_id.to_string()),
                name: c.name,
            })
            .collect())
    }

    async fn units(&self) -> Result<Units, StoreError> {
        Ok(units_of(&self.store_config().await?.weight_unit))
    }

    /// The quote flow: an existing order for the marketplace id (by `ext_order_id`, or by
    /// the order's own customer email when an earlier attempt placed it and died before
    /// marking it) is finished and returned; otherwise a cart gets the lines (by the SKUs of their simple
    /// products), the addresses and Flat Rate shipping, is placed with Check / Money
    /// order, then finished (external id, comment, invoice, status). Every step
    /// survives a lost answer: adding a line and placing are checked against the cart
    /// and its order before they are sent again.
    async fn create_order(&self, order: &NewOrder) -> Result<Order, StoreError> {
        // Marked already, or placed by an attempt that died before marking it.
        let criteria = SearchCriteria::new(1).any_of(&[
            ("ext_order_id", "eq", order.external_order_id.clone()),
            ("customer_email", "eq", marketplace_email(&order.external_order_id)),
        ]);
        let existing: SearchResults<MagentoOrder> = self.client.search("/orders", &criteria).await?;
        if let Some(existing) = existing.items.into_iter().next() {
            return self.finish(existing, order).await;
        }
        let ids = order
            .lines
            .iter()
            .map(|l| VariantId::parse(&l.variant_id))
            .collect::<Result<Vec<_>, _>>()?;
        let products = self
            .products_by_id(&ids.iter().map(|v| v.simple()).collect::<Vec<_>>())
            .await?;
        let mut skus = Vec::with_capacity(ids.len());
        for (line, variant) in order.lines.iter().zip(&ids) {
            let product = products.get(&variant.simple()).ok_or_else(|| StoreError::Invalid {
                status: 404,
                message: format!(
                    "The product that was requested doesn't exist. Verify the product and try again. (product id {})",
                    line.variant_id
                ),
            })?;
            skus.push((product.sku.clone(), line.quantity));
        }
        let cart: serde_json::Value = self.client.write(Method::POST, "/carts/", &json!({}), true).await?;
        let cart_id = cart
            .as_u64()
            .or_else(|| cart.as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| StoreError::Malformed(format!("a new cart answered {cart}")))?;
        for (sku, quantity) in &skus {
            self.add_item(cart_id, sku, *quantity).await?;
        }
        let information = json!({"addressInformation": {
            "shipping_address": cart_address(&order.shipping_address, &order.external_order_id),
            "billing_address": cart_address(&order.billing_address, &order.external_order_id),
            "shipping_carrier_code": SHIPPING.0,
            "shipping_method_code": SHIPPING.1,
        }});
        let _: serde_json::Value = self
            .client
            .write(
                Method::POST,
                &format!("/carts/{cart_id}/shipping-information"),
                &information,
                true,
            )
            .await?;
        let placed = self.place(cart_id).await?;
        tracing::info!(order = placed.entity_id, "Magento order placed for a marketplace order");
        self.finish(placed, order).await
    }

    async fn find_order_by_external_id(&self, external_order_id: &str) -> Result<Option<Order>, StoreError> {
        let criteria = SearchCriteria::new(2).filter("ext_order_id", "eq", external_order_id.to_string());
        let found: SearchResults<MagentoOrder> = self.client.search("/orders", &criteria).await?;
        Ok(found
            .items
            .iter()
            .find(|o| o.ext_order_id.as_deref() == Some(external_order_id))
            .map(to_order))
    }

    /// Cancelled cancels; `Other("holded")` holds (and any other status releases a held
    /// order first); any other status is a comment that sets the order's status code
    /// (an order moved on from awaiting payment is invoiced first).
    async fn update_order_status(&self, order_id: &str, status: &OrderStatus) -> Result<(), StoreError> {
        let order = self.order(order_id).await?;
        if *status == OrderStatus::Cancelled {
            return self.cancel_order(order_id).await;
        }
        // Hold and release go through Magento's own actions (state `holded` and back).
        let code = status_code(status);
        let hold = match (code, order.state.as_str()) {
            ("holded", "holded") => return Ok(()),
            ("holded", _) => Some("hold"),
            (_, "holded") => Some("unhold"),
            _ => None,
        };
        if let Some(action) = hold {
            let done: bool = self
                .client
                .write(
                    Method::POST,
                    &format!("/orders/{}/{action}", order.entity_id),
                    &json!({}),
                    true,
                )
                .await?;
            if !done {
                return Err(StoreError::Invalid {
                    status: 400,
                    message: format!(
                        "Magento cannot {action} order {} in state {:?}.",
                        order.increment_id, order.state
                    ),
                });
            }
            if code == "holded" {
                return Ok(());
            }
        }
        if *status != OrderStatus::Pending && order.state == "new" {
            self.invoice(&order).await?;
        }
        self.comment(
            order.entity_id,
            &format!("Status set to {} by the TikTok Shop connector.", status_code(status)),
            Some(status_code(status)),
        )
        .await
    }

    async fn cancel_order(&self, order_id: &str) -> Result<(), StoreError> {
        let order = self.order(order_id).await?;
        if order.state == "canceled" {
            return Ok(());
        }
        let cancelled: bool = self
            .client
            .write(
                Method::POST,
                &format!("/orders/{}/cancel", order.entity_id),
                &json!({}),
                true,
            )
            .await?;
        if cancelled {
            Ok(())
        } else {
            Err(StoreError::Invalid {
                status: 400,
                message: format!(
                    "Magento cannot cancel order {} in state {:?} (an order shipped or refunded in full cannot be cancelled).",
                    order.increment_id, order.state
                ),
            })
        }
    }

    async fn archive_order(&self, _order_id: &str) -> Result<(), StoreError> {
        Err(StoreError::Invalid {
            status: 400,
            message: "Magento has no order archive.".into(),
        })
    }

    async fn update_shipping_address(&self, _order_id: &str, _address: &Address) -> Result<(), StoreError> {
        Err(StoreError::Invalid {
            status: 400,
            message: "The connector does not edit Magento order addresses; change it in the Magento admin.".into(),
        })
    }

    /// A credit memo for the amount (an adjustment refund, offline): refused as Magento
    /// words it when the amount is more than is left to refund.
    async fn refund_order(&self, order_id: &str, refund: &NewRefund) -> Result<Refund, StoreError> {
        let order = self.order(order_id).await?;
        let left = order.grand_total - order.total_refunded.unwrap_or_default();
        if refund.amount > left {
            return Err(StoreError::Invalid {
                status: 400,
                message: format!("The most money available to refund is {left}."),
            });
        }
        let before = self.refunds(order_id).await?.len();
        let body = json!({
            "items": [],
            "notify": false,
            "arguments": {"shipping_amount": 0, "adjustment_positive": refund.amount, "adjustment_negative": 0},
        });
        let path = format!("/order/{}/refund", order.entity_id);
        match self
            .client
            .write::<serde_json::Value, _>(Method::POST, &path, &body, false)
            .await
        {
            Ok(id) => {
                self.comment(order.entity_id, &refund.reason, None).await?;
                Ok(Refund {
                    id: id.as_u64().map_or_else(|| id.to_string(), |n| n.to_string()),
                    amount: refund.amount,
                })
            }
            Err(error) if error.is_retryable() => {
                // The answer may be lost after the credit memo was made.
                let refunds = self.refunds(order_id).await?;
                match refunds.get(before) {
                    Some(made) if made.amount == refund.amount => Ok(made.clone()),
                    _ => Err(error),
                }
            }
            Err(error) => Err(error),
        }
    }

    async fn refunds(&self, order_id: &str) -> Result<Vec<Refund>, StoreError> {
        let order = self.order(order_id).await?;
        let criteria = SearchCriteria::new(client::MAX_PAGE_SIZE)
            .filter("order_id", "eq", order.entity_id.to_string())
            .sort("entity_id", "ASC");
        let memos = self.client.search_all::<CreditMemo>("/creditmemos", criteria).await?;
        Ok(memos
            .into_iter()
            .map(|m| Refund {
                id: m.entity_id.to_string(),
                amount: m.grand_total,
            })
            .collect())
    }

    /// MSI: reads each SKU's source items and writes the first in-stock source (else
    /// the first) with the delta applied. Legacy stock: reads the SKU's stock item and
    /// writes its qty with the delta applied. Both take absolute quantities only, so a
    /// sale between the read and the write can be overwritten (the next stock sync then
    /// publishes what Magento holds). Magento keeps no reason; it is logged.
    async fn adjust_stock(&self, changes: &[StockChange], reason: &str) -> Result<(), StoreError> {
        let ids = changes
            .iter()
            .map(|c| VariantId::parse(&c.variant_id))
            .collect::<Result<Vec<_>, _>>()?;
        let products = self
            .products_by_id(&ids.iter().map(|v| v.simple()).collect::<Vec<_>>())
            .await?;
        let inventory = self.inventory().await?;
        let mut writes = Vec::with_capacity(changes.len());
        for (change, variant) in changes.iter().zip(ids) {
            let product = products
                .get(&variant.simple())
                .ok_or_else(|| StoreError::NotFound(format!("product {}", change.variant_id)))?;
            let delta = Decimal::from(change.delta);
            if inventory == Inventory::Legacy {
                let item = self.stock_item(&product.sku).await?;
                let qty = item.qty.unwrap_or_default() + delta;
                let item_id = item.item_id.ok_or_else(|| {
                    StoreError::Malformed(format!("the stock item of {} has no item_id", product.sku))
                })?;
                let body = json!({"stockItem": {"qty": qty, "is_in_stock": qty > Decimal::ZERO}});
                let path = format!("/products/{}/stockItems/{item_id}", client::encode(&product.sku));
                let _: serde_json::Value = self.client.write(Method::PUT, &path, &body, true).await?;
                tracing::info!(sku = %product.sku, delta = change.delta, reason, "Magento stock item adjusted");
                continue;
            }
            let criteria = SearchCriteria::new(client::MAX_PAGE_SIZE).filter("sku", "eq", product.sku.clone());
            let items = self
                .client
                .search_all::<SourceItem>("/inventory/source-items", criteria)
                .await?;
            let mut item = items
                .iter()
                .find(|i| i.status == 1)
                .or(items.first())
                .cloned()
                .ok_or_else(|| StoreError::Invalid {
                    status: 400,
                    message: format!("{} is assigned to no inventory source in Magento.", product.sku),
                })?;
            item.quantity += delta;
            item.status = u8::from(item.quantity > Decimal::ZERO);
            tracing::info!(sku = %item.sku, source = %item.source_code, delta = change.delta, reason, "Magento source quantity adjusted");
            writes.push(item);
        }
        if !writes.is_empty() {
            let _: serde_json::Value = self
                .client
                .write(
                    Method::POST,
                    "/inventory/source-items",
                    &json!({"sourceItems": writes}),
                    true,
                )
                .await?;
        }
        Ok(())
    }

    /// Moving an order to refunded (a status) puts nothing back in stock: the
    /// connector's credit memos are adjustment refunds, without items to return.
    async fn restocks_on_refund(&self) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// MSI compensates a cancelled order's reservations, and the legacy stock puts a
    /// cancelled order's qty back (Magento's default): its units are salable again.
    async fn restocks_on_cancel(&self) -> Result<bool, StoreError> {
        Ok(true)
    }

    async fn shipments(&self, order_id: &str) -> Result<Vec<Shipment>, StoreError> {
        let order = self.order(order_id).await?;
        let lines: HashMap<u64, &OrderItem> = order.items.iter().map(|i| (i.item_id, i)).collect();
        let criteria = SearchCriteria::new(client::MAX_PAGE_SIZE)
            .filter("order_id", "eq", order.entity_id.to_string())
            .sort("entity_id", "ASC");
        let shipments = self
            .client
            .search_all::<MagentoShipment>("/shipments", criteria)
            .await?;
        Ok(shipments
            .into_iter()
            .map(|shipment| {
                let track = shipment.tracks.first();
                let items = shipment
                    .items
                    .iter()
                    .filter_map(|item| {
                        let line = lines.get(&item.order_item_id)?;
                        // A configurable line ships as its child line's product.
                        let simple = order
                            .items
                            .iter()
                            .find(|child| child.parent_item_id == Some(line.item_id))
                            .map_or(line.product_id, |child| child.product_id);
                        let product = line
                            .parent_item_id
                            .and_then(|parent| lines.get(&parent).map(|p| p.product_id))
                            .unwrap_or(line.product_id);
                        let qty = item.qty.trunc().to_u32()?;
                        Some((VariantId::of_simple(product, simple).render(), qty))
                    })
                    .collect();
                Shipment {
                    id: shipment.entity_id.to_string(),
                    order_id: shipment.order_id.to_string(),
                    tracking_number: track.map(|t| t.track_number.clone()).unwrap_or_default(),
                    carrier: track
                        .map(|t| {
                            if t.carrier_code.is_empty() || t.carrier_code == "custom" {
                                t.title.clone()
                            } else {
                                t.carrier_code.clone()
                            }
                        })
                        .unwrap_or_default(),
                    shipping_method: track.map(|t| t.title.clone()).unwrap_or_default(),
                    items,
                }
            })
            .collect())
    }

    /// Magento Open Source sends no webhooks: nothing to subscribe (changes are polled).
    /// The order's page in the Magento admin (at the default `admin` path).
    fn order_admin_url(&self, order_id: &str) -> String {
        format!("{}/admin/sales/order/view/order_id/{order_id}/", self.client.base_url())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_ids_name_the_product_and_the_simple_product_sold() {
        let child = VariantId::parse("12:45").unwrap();
        assert_eq!((child.product, child.simple()), (12, 45));
        assert_eq!(child.render(), "12:45");
        let simple = VariantId::parse("7").unwrap();
        assert_eq!((simple.product, simple.simple(), simple.render()), (7, 7, "7".into()));
        assert!(VariantId::parse("12:x").is_err());
    }

    #[test]
    fn magento_times_read_as_utc() {
        assert_eq!(unix_of("2026-01-01 00:00:10"), Some(1_767_225_610));
        assert_eq!(iso_of("2026-01-01 00:00:10"), "2026-01-01T00:00:10Z");
        assert_eq!(
            magento_time("2026-01-01T00:00:10+00:00").unwrap(),
            "2026-01-01 00:00:10"
        );
    }

    #[test]
    fn statuses_read_back_as_written_and_fall_back_to_the_state() {
        let order = |state: &str, status: &str| MagentoOrder {
            entity_id: 1,
            increment_id: "000000001".into(),
            state: state.into(),
            status: status.into(),
            ext_order_id: None,
            quote_id: None,
            grand_total: Decimal::ZERO,
            total_invoiced: None,
            total_refunded: None,
            items: Vec::new(),
            updated_at: String::new(),
        };
        for status in [
            OrderStatus::Pending,
            OrderStatus::AwaitingFulfillment,
            OrderStatus::AwaitingShipment,
            OrderStatus::Shipped,
            OrderStatus::Completed,
            OrderStatus::Refunded,
        ] {
            assert_eq!(order_status(&order("processing", status_code(&status))), status);
        }
        assert_eq!(order_status(&order("canceled", "canceled")), OrderStatus::Cancelled);
        assert_eq!(order_status(&order("complete", "shipped_custom")), OrderStatus::Shipped);
        assert_eq!(
            order_status(&order("holded", "holded")),
            OrderStatus::Other("holded".into())
        );
    }
}
