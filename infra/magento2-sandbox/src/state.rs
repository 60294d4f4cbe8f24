//! The Magento sandbox's world (`store-platforms-api.md` §4.3–4.4): the seeded catalogue
//! (simple and configurable products, attributes, categories), MSI source items and
//! reservations, integrations, quotes, orders with their invoices, shipments and
//! credit memos, and the business rules the API and admin routes share.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::http::StatusCode;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive as _;
use serde_json::{Value, json};

use crate::ApiError;
use crate::search::{Field, Searchable, magento_time};

/// 2026-01-01 00:00:00 UTC: seeded products were created this many seconds after the
/// epoch plus their id.
pub const SEED_EPOCH: i64 = 1_767_225_600;

/// The MSI sources, both linked to stock 1.
pub const SOURCES: [&str; 2] = ["default", "warehouse_2"];

/// Select attributes: (attribute_id, attribute_code, label, options (value, label)).
pub const ATTRIBUTES: [(u64, &str, &str, &[(&str, &str)]); 3] = [
    (93, "color", "Color", &[("49", "Red"), ("50", "Blue"), ("51", "Green")]),
    (144, "size", "Size", &[("166", "S"), ("167", "M"), ("168", "L")]),
    (
        83,
        "manufacturer",
        "Manufacturer",
        &[("201", "Acme"), ("202", "Globex"), ("203", "Initech")],
    ),
];

/// Categories: (id, parent_id, name, level).
pub const CATEGORIES: [(u64, u64, &str, u64); 5] = [
    (1, 0, "Root Catalog", 0),
    (2, 1, "Default Category", 1),
    (3, 2, "Clothing", 2),
    (4, 2, "Gear", 2),
    (5, 4, "Bags", 3),
];

/// An API integration (System → Extensions → Integrations) with its OAuth credentials
/// and ACL resources.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Integration {
    /// Consumer key (`oauth_consumer_key`).
    pub consumer_key: String,
    /// Consumer secret (first half of the signing key).
    pub consumer_secret: String,
    /// Access token (`oauth_token`, or the Bearer token when allowed).
    pub access_token: String,
    /// Access token secret (second half of the signing key).
    pub access_token_secret: String,
    /// ACL resources granted, e.g. `Magento_Catalog::products`.
    #[serde(default)]
    pub resources: Vec<String>,
    /// A revoked integration's requests are refused (401).
    #[serde(default)]
    pub revoked: bool,
}

/// A product (simple or configurable).
#[derive(Debug, Clone)]
pub struct Product {
    /// Entity id (parents and children share one sequence).
    pub id: u64,
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: String,
    /// `simple` or `configurable`.
    pub type_id: &'static str,
    /// 4 catalog and search, 1 not visible individually (a configurable's child).
    pub visibility: u8,
    /// 1 enabled, 2 disabled.
    pub status: u8,
    /// Price.
    pub price: Decimal,
    /// Special price (the catalogue price when set).
    pub special_price: Option<Decimal>,
    /// Weight, lbs.
    pub weight: Decimal,
    /// `manufacturer` option value.
    pub manufacturer: &'static str,
    /// `color` option value (a configurable's child).
    pub color: Option<&'static str>,
    /// Category.
    pub category_id: u64,
    /// Creation, Unix seconds.
    pub created_at: i64,
    /// Last admin save, Unix seconds.
    pub updated_at: i64,
    /// A configurable's children.
    pub children: Vec<u64>,
    /// A configurable's option id (its Color option).
    pub option_id: Option<u64>,
}

impl Product {
    /// What a cart charges: the special price when set, else the price.
    pub fn catalogue_price(&self) -> Decimal {
        self.special_price.unwrap_or(self.price)
    }

    /// The media file (`/s/k/sku-1.png`).
    pub fn image_file(&self) -> String {
        let lower = self.sku.to_ascii_lowercase();
        let mut chars = lower.chars().filter(|c| c.is_ascii_alphanumeric());
        let a = chars.next().unwrap_or('x');
        let b = chars.next().unwrap_or('x');
        format!("/{a}/{b}/{lower}.png")
    }
}

impl Searchable for Product {
    const FIELDS: &'static [&'static str] = &[
        "entity_id",
        "id",
        "sku",
        "name",
        "type_id",
        "visibility",
        "status",
        "price",
        "created_at",
        "updated_at",
    ];
    fn entity_id(&self) -> u64 {
        self.id
    }
    fn field(&self, field: &str) -> Field {
        match field {
            "entity_id" | "id" => Field::Num(self.id as f64),
            "sku" => Field::Text(self.sku.clone()),
            "name" => Field::Text(self.name.clone()),
            "type_id" => Field::Text(self.type_id.into()),
            "visibility" => Field::Num(self.visibility.into()),
            "status" => Field::Num(self.status.into()),
            "price" => Field::Num(self.price.to_f64().unwrap_or_default()),
            "created_at" => Field::Date(self.created_at),
            "updated_at" => Field::Date(self.updated_at),
            _ => Field::Null,
        }
    }
}

/// An MSI source item: a SKU's quantity at one source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceItem {
    /// Quantity.
    pub quantity: f64,
    /// 1 in stock, 0 out of stock.
    pub status: u8,
}

/// One row of the source items search: (sku, source_code, item).
pub struct SourceRow<'a>(pub &'a str, pub &'a str, pub SourceItem, pub u64);

impl Searchable for SourceRow<'_> {
    const FIELDS: &'static [&'static str] = &["sku", "source_code", "quantity", "status"];
    fn entity_id(&self) -> u64 {
        self.3
    }
    fn field(&self, field: &str) -> Field {
        match field {
            "sku" => Field::Text(self.0.into()),
            "source_code" => Field::Text(self.1.into()),
            "quantity" => Field::Num(self.2.quantity),
            "status" => Field::Num(self.2.status.into()),
            _ => Field::Null,
        }
    }
}

/// An inventory reservation on stock 1: negative when an order is placed, compensated
/// (positive) when it ships or is cancelled.
#[derive(Debug, Clone)]
pub struct Reservation {
    /// Id.
    pub id: u64,
    /// SKU.
    pub sku: String,
    /// Quantity (signed).
    pub quantity: f64,
    /// What placed it (`order_placed`, `shipment_created`, `order_canceled`) and the
    /// order's increment id.
    pub metadata: String,
}

/// A cart line.
#[derive(Debug, Clone)]
pub struct CartItem {
    /// Item id.
    pub item_id: u64,
    /// Product id.
    pub product_id: u64,
    /// SKU.
    pub sku: String,
    /// Quantity.
    pub qty: f64,
    /// Name.
    pub name: String,
    /// Unit price (the catalogue price).
    pub price: Decimal,
    /// `simple`.
    pub product_type: &'static str,
}

/// The shipping information of a cart.
#[derive(Debug, Clone)]
pub struct ShippingInfo {
    /// Shipping address as given.
    pub shipping_address: Value,
    /// Billing address as given.
    pub billing_address: Value,
    /// `flatrate` or `freeshipping`.
    pub carrier_code: String,
    /// The carrier's method code.
    pub method_code: String,
}

/// A quote.
#[derive(Debug, Clone)]
pub struct Cart {
    /// Quote id.
    pub id: u64,
    /// False once placed.
    pub active: bool,
    /// Lines.
    pub items: Vec<CartItem>,
    /// Addresses and shipping method.
    pub shipping: Option<ShippingInfo>,
    /// Creation, Unix seconds.
    pub created_at: i64,
    /// Last change, Unix seconds.
    pub updated_at: i64,
}

/// An order line.
#[derive(Debug, Clone)]
pub struct OrderItem {
    /// Item id.
    pub item_id: u64,
    /// Product id.
    pub product_id: u64,
    /// SKU.
    pub sku: String,
    /// Name.
    pub name: String,
    /// Quantity ordered.
    pub qty_ordered: f64,
    /// Quantity shipped.
    pub qty_shipped: f64,
    /// Quantity invoiced.
    pub qty_invoiced: f64,
    /// Quantity refunded.
    pub qty_refunded: f64,
    /// Quantity cancelled.
    pub qty_canceled: f64,
    /// Unit price.
    pub price: Decimal,
    /// `simple`.
    pub product_type: &'static str,
}

impl OrderItem {
    /// Quantity still to ship.
    pub fn left(&self) -> f64 {
        (self.qty_ordered - self.qty_shipped - self.qty_canceled).max(0.0)
    }
}

/// An order status history entry (a comment).
#[derive(Debug, Clone)]
pub struct History {
    /// Id.
    pub id: u64,
    /// Comment text.
    pub comment: String,
    /// Status given with it, if any.
    pub status: Option<String>,
    /// 0 or 1.
    pub is_customer_notified: i64,
    /// 0 or 1.
    pub is_visible_on_front: i64,
    /// Unix seconds.
    pub created_at: i64,
}

/// An order.
#[derive(Debug, Clone)]
pub struct Order {
    /// Entity id.
    pub id: u64,
    /// `000000001`-style.
    pub increment_id: String,
    /// The quote placed.
    pub quote_id: u64,
    /// The external system's id (set by `POST V1/orders`).
    pub ext_order_id: Option<String>,
    /// `new`, `processing`, `complete`, `closed`, `canceled`, `holded`.
    pub state: String,
    /// Status label.
    pub status: String,
    /// State and status before a hold.
    pub held_from: Option<(String, String)>,
    /// The billing address's email.
    pub customer_email: String,
    /// Lines.
    pub items: Vec<OrderItem>,
    /// Σ rows.
    pub subtotal: Decimal,
    /// Shipping charge.
    pub shipping_amount: Decimal,
    /// Σ rows + shipping.
    pub grand_total: Decimal,
    /// Paid (captured invoices).
    pub total_paid: Decimal,
    /// Invoiced.
    pub total_invoiced: Decimal,
    /// Refunded (credit memos).
    pub total_refunded: Decimal,
    /// Billing address.
    pub billing_address: Value,
    /// Shipping address.
    pub shipping_address: Value,
    /// `flatrate_flatrate` or `freeshipping_freeshipping`.
    pub shipping_method: String,
    /// Payment method code.
    pub payment_method: String,
    /// Purchase order number.
    pub po_number: Option<String>,
    /// Comments, oldest first.
    pub histories: Vec<History>,
    /// Creation, Unix seconds.
    pub created_at: i64,
    /// Last write, Unix seconds.
    pub updated_at: i64,
}

impl Searchable for Order {
    const FIELDS: &'static [&'static str] = &[
        "entity_id",
        "increment_id",
        "ext_order_id",
        "quote_id",
        "state",
        "status",
        "customer_email",
        "created_at",
        "updated_at",
    ];
    fn entity_id(&self) -> u64 {
        self.id
    }
    fn field(&self, field: &str) -> Field {
        match field {
            "entity_id" => Field::Num(self.id as f64),
            "increment_id" => Field::Text(self.increment_id.clone()),
            "ext_order_id" => self.ext_order_id.clone().map_or(Field::Null, Field::Text),
            "quote_id" => Field::Num(self.quote_id as f64),
            "state" => Field::Text(self.state.clone()),
            "status" => Field::Text(self.status.clone()),
            "customer_email" => Field::Text(self.customer_email.clone()),
            "created_at" => Field::Date(self.created_at),
            "updated_at" => Field::Date(self.updated_at),
            _ => Field::Null,
        }
    }
}

/// A shipment track.
#[derive(Debug, Clone)]
pub struct Track {
    /// Id.
    pub id: u64,
    /// Tracking number.
    pub track_number: String,
    /// Carrier title.
    pub title: String,
    /// Carrier code.
    pub carrier_code: String,
}

/// A shipment.
#[derive(Debug, Clone)]
pub struct Shipment {
    /// Entity id.
    pub id: u64,
    /// Order.
    pub order_id: u64,
    /// `000000001`-style.
    pub increment_id: String,
    /// Lines: (order item id, product id, sku, qty).
    pub items: Vec<(u64, u64, String, f64)>,
    /// Tracks.
    pub tracks: Vec<Track>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds (a track added bumps it).
    pub updated_at: i64,
}

impl Searchable for Shipment {
    const FIELDS: &'static [&'static str] = &["entity_id", "order_id", "increment_id", "created_at", "updated_at"];
    fn entity_id(&self) -> u64 {
        self.id
    }
    fn field(&self, field: &str) -> Field {
        match field {
            "entity_id" => Field::Num(self.id as f64),
            "order_id" => Field::Num(self.order_id as f64),
            "increment_id" => Field::Text(self.increment_id.clone()),
            "created_at" => Field::Date(self.created_at),
            "updated_at" => Field::Date(self.updated_at),
            _ => Field::Null,
        }
    }
}

/// A credit memo or an invoice: (id, order, grand total, created).
#[derive(Debug, Clone)]
pub struct Document {
    /// Entity id.
    pub id: u64,
    /// Order.
    pub order_id: u64,
    /// Total.
    pub grand_total: Decimal,
    /// Unix seconds.
    pub created_at: i64,
}

impl Searchable for Document {
    const FIELDS: &'static [&'static str] = &["entity_id", "order_id", "created_at"];
    fn entity_id(&self) -> u64 {
        self.id
    }
    fn field(&self, field: &str) -> Field {
        match field {
            "entity_id" => Field::Num(self.id as f64),
            "order_id" => Field::Num(self.order_id as f64),
            "created_at" => Field::Date(self.created_at),
            _ => Field::Null,
        }
    }
}

/// A category row of `categories/list`.
pub struct CategoryRow(pub (u64, u64, &'static str, u64));

impl Searchable for CategoryRow {
    const FIELDS: &'static [&'static str] = &["entity_id", "id", "parent_id", "name", "level", "is_active"];
    fn entity_id(&self) -> u64 {
        self.0.0
    }
    fn field(&self, field: &str) -> Field {
        let (id, parent, name, level) = self.0;
        match field {
            "entity_id" | "id" => Field::Num(id as f64),
            "parent_id" => Field::Num(parent as f64),
            "name" => Field::Text(name.into()),
            "level" => Field::Num(level as f64),
            "is_active" => Field::Num(1.0),
            _ => Field::Null,
        }
    }
}

/// An attribute row of `products/attributes`.
pub struct AttributeRow(pub usize);

impl Searchable for AttributeRow {
    const FIELDS: &'static [&'static str] = &["attribute_id", "attribute_code", "frontend_input"];
    fn entity_id(&self) -> u64 {
        ATTRIBUTES[self.0].0
    }
    fn field(&self, field: &str) -> Field {
        let (id, code, _, _) = ATTRIBUTES[self.0];
        match field {
            "attribute_id" => Field::Num(id as f64),
            "attribute_code" => Field::Text(code.into()),
            "frontend_input" => Field::Text("select".into()),
            _ => Field::Null,
        }
    }
}

/// The world.
#[derive(Debug, Default)]
pub struct State {
    /// Multi-source inventory is installed (sources, reservations, salable quantity);
    /// without, one legacy stock item per product whose qty orders move directly.
    pub msi: bool,
    /// Integrations, consumer id = index + 1.
    pub integrations: Vec<Integration>,
    /// Nonces used, per consumer id.
    pub nonces: HashSet<(usize, String)>,
    /// Products by id.
    pub products: BTreeMap<u64, Product>,
    /// Product id by SKU.
    pub skus: HashMap<String, u64>,
    /// Source items by (sku, source_code).
    pub source_items: BTreeMap<(String, String), SourceItem>,
    /// Reservations on stock 1.
    pub reservations: Vec<Reservation>,
    /// Quotes.
    pub carts: BTreeMap<u64, Cart>,
    /// Orders.
    pub orders: BTreeMap<u64, Order>,
    /// Invoices.
    pub invoices: BTreeMap<u64, Document>,
    /// Shipments.
    pub shipments: BTreeMap<u64, Shipment>,
    /// Credit memos.
    pub creditmemos: BTreeMap<u64, Document>,
    next: HashMap<&'static str, u64>,
}

/// Money with 4 decimals as a JSON number (Magento answers floats).
pub fn money(value: Decimal) -> Value {
    json!(value.round_dp(4).to_f64().unwrap_or_default())
}

/// Money as Magento writes it in a message parameter: `12.50`.
pub fn money_text(value: Decimal) -> String {
    let mut value = value.round_dp(2);
    value.rescale(2);
    value.to_string()
}

fn not_found_product() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "The product that was requested doesn't exist. Verify the product and try again.",
    )
}

fn no_entity() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "The entity that was requested doesn't exist. Verify the entity and try again.",
    )
}

fn no_cart(id: u64) -> ApiError {
    ApiError::with(
        StatusCode::NOT_FOUND,
        "No such entity with %fieldName = %fieldValue",
        json!({"fieldName": "cartId", "fieldValue": id.to_string()}),
    )
}

fn bad(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

/// Required address fields (billing also needs `email`).
const ADDRESS_FIELDS: [&str; 7] = [
    "firstname",
    "lastname",
    "street",
    "city",
    "country_id",
    "postcode",
    "telephone",
];

fn check_address(address: &Value, billing: bool) -> Result<(), ApiError> {
    let present = |name: &str| match address.get(name) {
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(lines)) => lines.iter().any(|l| l.as_str().is_some_and(|s| !s.trim().is_empty())),
        Some(Value::Number(_)) => true,
        _ => false,
    };
    let email = billing.then_some("email");
    match ADDRESS_FIELDS.into_iter().chain(email).find(|name| !present(name)) {
        Some(name) => Err(ApiError::with(
            StatusCode::BAD_REQUEST,
            "\"%fieldName\" is required. Enter and try again.",
            json!({"fieldName": name}),
        )),
        None => Ok(()),
    }
}

impl State {
    /// The next id of `sequence` (products, orders, items, …), from 1.
    pub fn next_id(&mut self, sequence: &'static str) -> u64 {
        let next = self.next.entry(sequence).or_insert(0);
        *next += 1;
        *next
    }

    /// A world with `visible` visible products (every 5th configurable with 3 children),
    /// their source items (20 at `default`, 5 at `warehouse_2`) and `integrations`.
    /// Without `msi`, only the `default` source, standing for the legacy stock item.
    pub fn seeded(visible: usize, integrations: Vec<Integration>, msi: bool) -> Self {
        let mut state = State {
            msi,
            integrations,
            ..State::default()
        };
        for n in 1..=visible as u64 {
            let id = state.next_id("product");
            let configurable = n % 5 == 0;
            let price = Decimal::new(1000 + (id % 50) as i64 * 100, 2);
            let mut product = Product {
                id,
                sku: if configurable {
                    format!("CFG-{n:05}")
                } else {
                    format!("SKU-{n:05}")
                },
                name: format!("Sandbox {} {n}", if configurable { "Tee" } else { "Product" }),
                type_id: if configurable { "configurable" } else { "simple" },
                visibility: 4,
                status: 1,
                price,
                special_price: (n % 7 == 0).then(|| price - Decimal::ONE),
                weight: Decimal::new(5 + (n % 20) as i64, 1),
                manufacturer: ATTRIBUTES[2].3[(n % 3) as usize].0,
                color: None,
                category_id: 3 + n % 3,
                created_at: SEED_EPOCH + id as i64,
                updated_at: SEED_EPOCH + id as i64,
                children: Vec::new(),
                option_id: None,
            };
            if configurable {
                product.option_id = Some(state.next_id("option"));
                for (value, label) in ATTRIBUTES[0].3 {
                    let child_id = state.next_id("product");
                    let child = Product {
                        id: child_id,
                        sku: format!("{}-{}", product.sku, label.to_ascii_uppercase()),
                        name: format!("{} {label}", product.name),
                        visibility: 1,
                        color: Some(value),
                        created_at: SEED_EPOCH + child_id as i64,
                        updated_at: SEED_EPOCH + child_id as i64,
                        ..product.clone()
                    };
                    let child = Product {
                        type_id: "simple",
                        option_id: None,
                        ..child
                    };
                    product.children.push(child_id);
                    state.insert_simple(child);
                }
                state.skus.insert(product.sku.clone(), id);
                state.products.insert(id, product);
            } else {
                state.insert_simple(product);
            }
        }
        state
    }

    /// The sources in use: both with MSI, else `default` (the legacy stock item).
    pub fn sources(&self) -> &'static [&'static str] {
        if self.msi { &SOURCES } else { &SOURCES[..1] }
    }

    fn insert_simple(&mut self, product: Product) {
        for (source, quantity) in self.sources().iter().zip([20.0, 5.0]) {
            self.source_items.insert(
                (product.sku.clone(), source.to_string()),
                SourceItem { quantity, status: 1 },
            );
        }
        self.skus.insert(product.sku.clone(), product.id);
        self.products.insert(product.id, product);
    }

    /// The product of `sku`, or 404.
    pub fn product_by_sku(&self, sku: &str) -> Result<&Product, ApiError> {
        self.skus
            .get(sku)
            .and_then(|id| self.products.get(id))
            .ok_or_else(not_found_product)
    }

    /// Σ quantities at the sources (the legacy stock item's qty).
    pub fn source_total(&self, sku: &str) -> f64 {
        self.sources()
            .iter()
            .filter_map(|source| self.source_items.get(&(sku.to_string(), source.to_string())))
            .map(|item| item.quantity)
            .sum()
    }

    /// Salable quantity on stock 1: Σ in-stock source quantities + Σ reservations.
    pub fn salable(&self, sku: &str) -> f64 {
        let on_hand: f64 = self
            .sources()
            .iter()
            .filter_map(|source| self.source_items.get(&(sku.to_string(), source.to_string())))
            .filter(|item| item.status == 1)
            .map(|item| item.quantity)
            .sum();
        let reserved: f64 = self
            .reservations
            .iter()
            .filter(|r| r.sku == sku)
            .map(|r| r.quantity)
            .sum();
        on_hand + reserved
    }

    /// A reservation with MSI; without, the legacy stock item's qty moves at once (an
    /// order placed takes its units, a cancellation gives them back, a shipment's
    /// deduction and compensation cancel out).
    fn reserve(&mut self, sku: &str, quantity: f64, metadata: String) {
        if !self.msi {
            if let Some(item) = self.source_items.get_mut(&(sku.to_string(), SOURCES[0].to_string())) {
                item.quantity += quantity;
                item.status = u8::from(item.quantity > 0.0);
            }
            return;
        }
        let id = self.next_id("reservation");
        self.reservations.push(Reservation {
            id,
            sku: sku.to_string(),
            quantity,
            metadata,
        });
    }

    /// Deletes a product, its source items, and its link from a configurable parent.
    pub fn delete_product(&mut self, id: u64) -> bool {
        let Some(product) = self.products.remove(&id) else {
            return false;
        };
        self.skus.remove(&product.sku);
        self.source_items.retain(|(sku, _), _| *sku != product.sku);
        for parent in self.products.values_mut() {
            parent.children.retain(|child| *child != id);
        }
        true
    }

    /// A new empty quote's id.
    pub fn create_cart(&mut self, now: i64) -> u64 {
        let id = self.next_id("quote");
        self.carts.insert(
            id,
            Cart {
                id,
                active: true,
                items: Vec::new(),
                shipping: None,
                created_at: now,
                updated_at: now,
            },
        );
        id
    }

    fn active_cart(&mut self, id: u64) -> Result<&mut Cart, ApiError> {
        self.carts.get_mut(&id).filter(|c| c.active).ok_or_else(|| no_cart(id))
    }

    /// Adds `qty` of `sku` to the quote (merging with a line of the same SKU); the line.
    pub fn add_to_cart(&mut self, cart_id: u64, sku: &str, qty: f64, now: i64) -> Result<CartItem, ApiError> {
        self.active_cart(cart_id)?;
        let product = self.product_by_sku(sku)?.clone();
        if product.status != 1 {
            return Err(bad("Product that you are trying to add is not available."));
        }
        if product.type_id == "configurable" {
            return Err(bad("You need to choose options for your item."));
        }
        if !(qty > 0.0) {
            return Err(bad("The requested qty is not available"));
        }
        let salable = self.salable(&product.sku);
        let cart = self.active_cart(cart_id)?;
        let already: f64 = cart.items.iter().filter(|i| i.sku == product.sku).map(|i| i.qty).sum();
        if already + qty > salable + 1e-9 {
            return Err(bad("The requested qty is not available"));
        }
        cart.updated_at = now;
        if let Some(line) = cart.items.iter_mut().find(|i| i.sku == product.sku) {
            line.qty += qty;
            return Ok(line.clone());
        }
        let item_id = self.next_id("quote_item");
        let line = CartItem {
            item_id,
            product_id: product.id,
            sku: product.sku.clone(),
            qty,
            name: product.name.clone(),
            price: product.catalogue_price(),
            product_type: product.type_id,
        };
        let cart = self.active_cart(cart_id)?;
        cart.items.push(line.clone());
        Ok(line)
    }

    /// Sets the quote's addresses and shipping method; its totals.
    pub fn set_shipping(&mut self, cart_id: u64, info: ShippingInfo, now: i64) -> Result<Value, ApiError> {
        let cart = self.active_cart(cart_id)?;
        if cart.items.is_empty() {
            return Err(bad(
                "The shipping method can't be set for an empty cart. Add an item to cart and try again.",
            ));
        }
        check_address(&info.shipping_address, false)?;
        check_address(&info.billing_address, true)?;
        let known = [("flatrate", "flatrate"), ("freeshipping", "freeshipping")];
        if !known.contains(&(info.carrier_code.as_str(), info.method_code.as_str())) {
            return Err(ApiError::with(
                StatusCode::BAD_REQUEST,
                "Carrier with such method not found: %1, %2",
                json!([info.carrier_code, info.method_code]),
            ));
        }
        cart.shipping = Some(info);
        cart.updated_at = now;
        Ok(cart_totals(cart))
    }

    /// Places the quote as an order (state `new`, status `pending`, a reservation of
    /// −qty per line on stock 1); the order's id.
    pub fn place_order(
        &mut self,
        cart_id: u64,
        method: &str,
        po_number: Option<String>,
        now: i64,
    ) -> Result<u64, ApiError> {
        let cart = self.active_cart(cart_id)?.clone();
        if !["checkmo", "purchaseorder"].contains(&method) {
            return Err(bad("The requested Payment Method is not available."));
        }
        if method == "purchaseorder" && po_number.as_deref().is_none_or(|po| po.trim().is_empty()) {
            return Err(bad("Purchase order number is a required field."));
        }
        let Some(shipping) = cart.shipping.clone() else {
            return Err(bad(
                "The shipping method is missing. Select the shipping method and try again.",
            ));
        };
        for line in &cart.items {
            if line.qty > self.salable(&line.sku) + 1e-9 {
                return Err(bad("The requested qty is not available"));
            }
        }
        let id = self.next_id("order");
        let increment_id = format!("{id:09}");
        let mut items = Vec::new();
        for line in &cart.items {
            items.push(OrderItem {
                item_id: self.next_id("order_item"),
                product_id: line.product_id,
                sku: line.sku.clone(),
                name: line.name.clone(),
                qty_ordered: line.qty,
                qty_shipped: 0.0,
                qty_invoiced: 0.0,
                qty_refunded: 0.0,
                qty_canceled: 0.0,
                price: line.price,
                product_type: line.product_type,
            });
            self.reserve(&line.sku, -line.qty, format!("order_placed:{increment_id}"));
        }
        let totals = cart_totals(&cart);
        let subtotal = subtotal(&cart);
        let shipping_amount = shipping_charge(&cart);
        let email = shipping.billing_address["email"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let order = Order {
            id,
            increment_id,
            quote_id: cart_id,
            ext_order_id: None,
            state: "new".into(),
            status: "pending".into(),
            held_from: None,
            customer_email: email,
            items,
            subtotal,
            shipping_amount,
            grand_total: subtotal + shipping_amount,
            total_paid: Decimal::ZERO,
            total_invoiced: Decimal::ZERO,
            total_refunded: Decimal::ZERO,
            billing_address: shipping.billing_address.clone(),
            shipping_address: shipping.shipping_address.clone(),
            shipping_method: format!("{}_{}", shipping.carrier_code, shipping.method_code),
            payment_method: method.to_string(),
            po_number,
            histories: Vec::new(),
            created_at: now,
            updated_at: now,
        };
        debug_assert_eq!(totals["grand_total"], money(order.grand_total));
        self.orders.insert(id, order);
        if let Some(cart) = self.carts.get_mut(&cart_id) {
            cart.active = false;
            cart.updated_at = now;
        }
        Ok(id)
    }

    /// The order `id`, or 404.
    pub fn order_mut(&mut self, id: u64) -> Result<&mut Order, ApiError> {
        self.orders.get_mut(&id).ok_or_else(no_entity)
    }

    /// Cancels the order (state and status `canceled`, unshipped quantities cancelled
    /// and their reservations compensated); false when it cannot be (complete, closed,
    /// canceled or on hold).
    pub fn cancel(&mut self, id: u64, now: i64) -> Result<bool, ApiError> {
        let order = self.order_mut(id)?;
        if ["complete", "closed", "canceled", "holded"].contains(&order.state.as_str()) {
            return Ok(false);
        }
        let mut compensate = Vec::new();
        for item in &mut order.items {
            let left = item.left();
            item.qty_canceled += left;
            if left > 0.0 {
                compensate.push((item.sku.clone(), left));
            }
        }
        order.state = "canceled".into();
        order.status = "canceled".into();
        order.updated_at = now;
        let increment = order.increment_id.clone();
        for (sku, qty) in compensate {
            self.reserve(&sku, qty, format!("order_canceled:{increment}"));
        }
        Ok(true)
    }

    /// Puts the order on hold, or takes it off (`hold` false).
    pub fn hold(&mut self, id: u64, hold: bool, now: i64) -> Result<bool, ApiError> {
        let order = self.order_mut(id)?;
        if hold {
            if !["new", "processing"].contains(&order.state.as_str()) {
                return Err(bad("A hold action is not available."));
            }
            order.held_from = Some((order.state.clone(), order.status.clone()));
            order.state = "holded".into();
            order.status = "holded".into();
        } else {
            let Some((state, status)) = order.held_from.take().filter(|_| order.state == "holded") else {
                return Err(bad("You cannot remove the hold."));
            };
            order.state = state;
            order.status = status;
        }
        order.updated_at = now;
        Ok(true)
    }

    /// Invoices (and captures) the whole order; the invoice's id.
    pub fn invoice(&mut self, id: u64, now: i64) -> Result<u64, ApiError> {
        let order = self.order_mut(id)?;
        if !["new", "processing"].contains(&order.state.as_str()) || order.total_invoiced > Decimal::ZERO {
            return Err(bad("The order does not allow an invoice to be created."));
        }
        for item in &mut order.items {
            item.qty_invoiced = item.qty_ordered - item.qty_canceled;
        }
        order.total_invoiced = order.grand_total;
        order.total_paid = order.grand_total;
        order.updated_at = now;
        let grand_total = order.grand_total;
        advance(order);
        let invoice = self.next_id("invoice");
        self.invoices.insert(
            invoice,
            Document {
                id: invoice,
                order_id: id,
                grand_total,
                created_at: now,
            },
        );
        Ok(invoice)
    }

    /// Ships `lines` ((order item id, qty); `None` or empty: everything left) with
    /// `tracks`; deducts source quantities (`default` first) and compensates the
    /// reservations; the shipment's id.
    pub fn ship(
        &mut self,
        id: u64,
        lines: Option<Vec<(u64, f64)>>,
        tracks: Vec<(String, String, String)>,
        now: i64,
    ) -> Result<u64, ApiError> {
        let refused =
            || bad("Shipment Document Validation Error(s):\nThe order does not allow a shipment to be created.");
        let order = self.orders.get(&id).ok_or_else(no_entity)?;
        if !["new", "processing"].contains(&order.state.as_str()) {
            return Err(refused());
        }
        let lines: Vec<(u64, f64)> = match lines.filter(|l| !l.is_empty()) {
            Some(lines) => lines,
            None => order
                .items
                .iter()
                .filter(|i| i.left() > 0.0)
                .map(|i| (i.item_id, i.left()))
                .collect(),
        };
        let mut shipped = Vec::new();
        for (item_id, qty) in &lines {
            let Some(item) = order.items.iter().find(|i| i.item_id == *item_id) else {
                return Err(refused());
            };
            let asked: f64 = lines.iter().filter(|(i, _)| i == item_id).map(|(_, q)| q).sum();
            if !(*qty > 0.0) || asked > item.left() + 1e-9 {
                return Err(refused());
            }
            if self.source_total(&item.sku) + 1e-9 < *qty {
                return Err(bad("Not all of your products are available in the requested quantity."));
            }
            shipped.push((*item_id, item.product_id, item.sku.clone(), *qty));
        }
        if shipped.is_empty() {
            return Err(refused());
        }
        let increment = order.increment_id.clone();
        for (_, _, sku, qty) in &shipped {
            let mut left = *qty;
            for source in self.sources() {
                if let Some(item) = self.source_items.get_mut(&(sku.clone(), source.to_string())) {
                    let take = left.min(item.quantity.max(0.0));
                    item.quantity -= take;
                    left -= take;
                }
            }
            self.reserve(sku, *qty, format!("shipment_created:{increment}"));
        }
        let shipment_id = self.next_id("shipment");
        let mut track_records = Vec::new();
        for (track_number, title, carrier_code) in tracks {
            track_records.push(Track {
                id: self.next_id("track"),
                track_number,
                title,
                carrier_code,
            });
        }
        let order = self.order_mut(id)?;
        for (item_id, _, _, qty) in &shipped {
            if let Some(item) = order.items.iter_mut().find(|i| i.item_id == *item_id) {
                item.qty_shipped += qty;
            }
        }
        order.updated_at = now;
        advance(order);
        self.shipments.insert(
            shipment_id,
            Shipment {
                id: shipment_id,
                order_id: id,
                increment_id: format!("{shipment_id:09}"),
                items: shipped,
                tracks: track_records,
                created_at: now,
                updated_at: now,
            },
        );
        Ok(shipment_id)
    }

    /// Adds a track to shipment `shipment_id` of order `order_id` (bumps the
    /// shipment's updated_at); the track's JSON.
    pub fn add_track(
        &mut self,
        order_id: u64,
        shipment_id: u64,
        track: (String, String, String),
        now: i64,
    ) -> Result<Value, ApiError> {
        let id = self.next_id("track");
        let shipment = self
            .shipments
            .get_mut(&shipment_id)
            .filter(|s| s.order_id == order_id)
            .ok_or_else(no_entity)?;
        let (track_number, title, carrier_code) = track;
        let track = Track {
            id,
            track_number,
            title,
            carrier_code,
        };
        shipment.tracks.push(track.clone());
        shipment.updated_at = now;
        Ok(track_json(&track, shipment))
    }

    /// Refunds `items` rows plus `shipping_amount` and `adjustment_positive`, less
    /// `adjustment_negative`; the credit memo's id.
    pub fn refund(
        &mut self,
        id: u64,
        items: Vec<(u64, f64)>,
        shipping_amount: Decimal,
        adjustment_positive: Decimal,
        adjustment_negative: Decimal,
        now: i64,
    ) -> Result<u64, ApiError> {
        let order = self.order_mut(id)?;
        if order.total_invoiced <= Decimal::ZERO || ["canceled", "closed", "holded"].contains(&order.state.as_str()) {
            return Err(bad("We can't create creditmemo for the order."));
        }
        let mut rows = Decimal::ZERO;
        for (item_id, qty) in &items {
            let Some(item) = order.items.iter().find(|i| i.item_id == *item_id) else {
                return Err(bad("We can't create creditmemo for the order."));
            };
            if *qty < 0.0 || item.qty_refunded + qty > item.qty_invoiced + 1e-9 {
                return Err(bad(
                    "The quantity to creditmemo must not be greater than the unrefunded quantity.",
                ));
            }
            rows += item.price * Decimal::try_from(*qty).unwrap_or_default();
        }
        let total = rows + shipping_amount + adjustment_positive - adjustment_negative;
        let available = order.total_paid - order.total_refunded;
        if total > available {
            return Err(ApiError::with(
                StatusCode::BAD_REQUEST,
                "The most money available to refund is %1.",
                json!([money_text(available)]),
            ));
        }
        if total <= Decimal::ZERO {
            return Err(bad("The credit memo's total must be positive."));
        }
        for (item_id, qty) in &items {
            if let Some(item) = order.items.iter_mut().find(|i| i.item_id == *item_id) {
                item.qty_refunded += qty;
            }
        }
        order.total_refunded += total;
        if order.total_refunded >= order.grand_total {
            order.state = "closed".into();
            order.status = "closed".into();
        }
        order.updated_at = now;
        let memo = self.next_id("creditmemo");
        self.creditmemos.insert(
            memo,
            Document {
                id: memo,
                order_id: id,
                grand_total: total,
                created_at: now,
            },
        );
        Ok(memo)
    }
}

/// After an invoice or a shipment: `new` → `processing`; invoiced and everything
/// shipped (or cancelled) → `complete`.
fn advance(order: &mut Order) {
    let shipped = order.items.iter().all(|i| i.left() <= 0.0);
    let invoiced = order.total_invoiced >= order.grand_total;
    if shipped && invoiced {
        order.state = "complete".into();
        order.status = "complete".into();
    } else if order.state == "new" {
        order.state = "processing".into();
        order.status = "processing".into();
    }
}

fn subtotal(cart: &Cart) -> Decimal {
    cart.items
        .iter()
        .map(|i| i.price * Decimal::try_from(i.qty).unwrap_or_default())
        .sum()
}

fn shipping_charge(cart: &Cart) -> Decimal {
    match cart.shipping.as_ref().map(|s| s.carrier_code.as_str()) {
        Some("flatrate") => {
            let qty: f64 = cart.items.iter().map(|i| i.qty).sum();
            Decimal::new(5, 0) * Decimal::try_from(qty).unwrap_or_default()
        }
        _ => Decimal::ZERO,
    }
}

/// A quote's totals (`shipping-information`'s `totals`).
pub fn cart_totals(cart: &Cart) -> Value {
    let subtotal = subtotal(cart);
    let shipping = shipping_charge(cart);
    let qty: f64 = cart.items.iter().map(|i| i.qty).sum();
    let items: Vec<Value> = cart
        .items
        .iter()
        .map(|i| {
            let row = i.price * Decimal::try_from(i.qty).unwrap_or_default();
            json!({"item_id": i.item_id, "price": money(i.price), "base_price": money(i.price), "qty": i.qty,
                   "row_total": money(row), "base_row_total": money(row), "name": i.name})
        })
        .collect();
    json!({"grand_total": money(subtotal + shipping), "base_grand_total": money(subtotal + shipping),
           "subtotal": money(subtotal), "base_subtotal": money(subtotal),
           "shipping_amount": money(shipping), "base_shipping_amount": money(shipping),
           "discount_amount": 0, "tax_amount": 0, "items_qty": qty,
           "base_currency_code": "USD", "quote_currency_code": "USD", "items": items})
}

/// A cart line as the API answers it (`quote_id` a string, as Magento writes it).
pub fn cart_item_json(item: &CartItem, cart_id: u64) -> Value {
    json!({"item_id": item.item_id, "sku": item.sku, "qty": item.qty, "name": item.name,
           "price": money(item.price), "product_type": item.product_type, "quote_id": cart_id.to_string()})
}

/// A quote as `GET V1/carts/{id}` answers it.
pub fn cart_json(cart: &Cart) -> Value {
    let items: Vec<Value> = cart.items.iter().map(|i| cart_item_json(i, cart.id)).collect();
    let qty: f64 = cart.items.iter().map(|i| i.qty).sum();
    let mut body = json!({"id": cart.id, "created_at": magento_time(cart.created_at),
        "updated_at": magento_time(cart.updated_at), "is_active": cart.active, "is_virtual": false,
        "items": items, "items_count": cart.items.len(), "items_qty": qty, "store_id": 1,
        "customer": {"email": Value::Null}, "customer_is_guest": false,
        "currency": {"base_currency_code": "USD", "quote_currency_code": "USD"}});
    if let Some(shipping) = &cart.shipping {
        body["billing_address"] = shipping.billing_address.clone();
        body["extension_attributes"] = json!({"shipping_assignments": [{"shipping": {
            "address": shipping.shipping_address,
            "method": format!("{}_{}", shipping.carrier_code, shipping.method_code)}}]});
    }
    body
}

fn track_json(track: &Track, shipment: &Shipment) -> Value {
    json!({"entity_id": track.id, "track_number": track.track_number, "title": track.title,
           "carrier_code": track.carrier_code, "parent_id": shipment.id, "order_id": shipment.order_id,
           "created_at": magento_time(shipment.updated_at)})
}

/// A shipment as `GET V1/shipments` answers it.
pub fn shipment_json(shipment: &Shipment) -> Value {
    let items: Vec<Value> = shipment
        .items
        .iter()
        .map(|(item_id, product_id, sku, qty)| {
            json!({"order_item_id": item_id, "product_id": product_id, "sku": sku, "qty": qty})
        })
        .collect();
    let tracks: Vec<Value> = shipment.tracks.iter().map(|t| track_json(t, shipment)).collect();
    json!({"entity_id": shipment.id, "order_id": shipment.order_id, "increment_id": shipment.increment_id,
           "created_at": magento_time(shipment.created_at), "updated_at": magento_time(shipment.updated_at),
           "total_qty": shipment.items.iter().map(|i| i.3).sum::<f64>(), "store_id": 1,
           "items": items, "tracks": tracks, "comments": []})
}

/// A credit memo as `GET V1/creditmemos` answers it.
pub fn creditmemo_json(memo: &Document) -> Value {
    json!({"entity_id": memo.id, "order_id": memo.order_id, "grand_total": money(memo.grand_total),
           "base_grand_total": money(memo.grand_total), "created_at": magento_time(memo.created_at)})
}

fn address_json(address: &Value, kind: &str, order_id: u64) -> Value {
    let mut address = address.clone();
    if let Some(fields) = address.as_object_mut() {
        fields.insert("address_type".into(), json!(kind));
        fields.insert("parent_id".into(), json!(order_id));
    }
    address
}

/// An order as `GET V1/orders/{id}` answers it.
pub fn order_json(order: &Order) -> Value {
    let items: Vec<Value> = order
        .items
        .iter()
        .map(|i| {
            let row = i.price * Decimal::try_from(i.qty_ordered).unwrap_or_default();
            json!({"item_id": i.item_id, "order_id": order.id, "product_id": i.product_id, "sku": i.sku,
                   "name": i.name, "qty_ordered": i.qty_ordered, "qty_shipped": i.qty_shipped,
                   "qty_invoiced": i.qty_invoiced, "qty_refunded": i.qty_refunded, "qty_canceled": i.qty_canceled,
                   "price": money(i.price), "base_price": money(i.price), "original_price": money(i.price),
                   "row_total": money(row), "base_row_total": money(row), "product_type": i.product_type,
                   "store_id": 1, "created_at": magento_time(order.created_at),
                   "updated_at": magento_time(order.updated_at)})
        })
        .collect();
    let histories: Vec<Value> = order
        .histories
        .iter()
        .rev()
        .map(|h| {
            json!({"entity_id": h.id, "parent_id": order.id, "comment": h.comment, "status": h.status,
                   "is_customer_notified": h.is_customer_notified, "is_visible_on_front": h.is_visible_on_front,
                   "created_at": magento_time(h.created_at), "entity_name": "order"})
        })
        .collect();
    let mut payment = json!({"method": order.payment_method, "amount_ordered": money(order.grand_total),
                             "parent_id": order.id, "additional_information": []});
    if let Some(po) = &order.po_number {
        payment["po_number"] = json!(po);
    }
    let name = |field: &str| order.billing_address.get(field).cloned().unwrap_or(Value::Null);
    let qty: f64 = order.items.iter().map(|i| i.qty_ordered).sum();
    let mut body = json!({
        "entity_id": order.id, "increment_id": order.increment_id, "quote_id": order.quote_id,
        "state": order.state, "status": order.status, "store_id": 1, "customer_email": order.customer_email,
        "customer_firstname": name("firstname"), "customer_lastname": name("lastname"),
        "customer_is_guest": 1, "order_currency_code": "USD", "base_currency_code": "USD",
        "global_currency_code": "USD", "store_currency_code": "USD",
        "subtotal": money(order.subtotal), "base_subtotal": money(order.subtotal),
        "shipping_amount": money(order.shipping_amount), "base_shipping_amount": money(order.shipping_amount),
        "grand_total": money(order.grand_total), "base_grand_total": money(order.grand_total),
        "total_paid": money(order.total_paid), "base_total_paid": money(order.total_paid),
        "total_invoiced": money(order.total_invoiced), "base_total_invoiced": money(order.total_invoiced),
        "total_refunded": money(order.total_refunded), "base_total_refunded": money(order.total_refunded),
        "total_qty_ordered": qty, "total_item_count": order.items.len(),
        "shipping_description": if order.shipping_method.starts_with("flatrate") { "Flat Rate - Fixed" } else { "Free Shipping - Free" },
        "created_at": magento_time(order.created_at), "updated_at": magento_time(order.updated_at),
        "items": items,
        "billing_address": address_json(&order.billing_address, "billing", order.id),
        "payment": payment,
        "status_histories": histories,
        "extension_attributes": {"shipping_assignments": [{"shipping": {
            "address": address_json(&order.shipping_address, "shipping", order.id),
            "method": order.shipping_method,
            "total": {"shipping_amount": money(order.shipping_amount), "base_shipping_amount": money(order.shipping_amount)}}}]}
    });
    if let Some(ext) = &order.ext_order_id {
        body["ext_order_id"] = json!(ext);
    }
    body
}
