//! The BigCommerce sandbox's world: stores with a seeded catalog (compact records,
//! rendered to the v3 shape on request, so 100k products stay cheap), orders,
//! shipments, webhooks and tokens.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use sandbox_kit::clock::iso;

/// One option value of a variant: (option id, option name, value id, label).
pub type OptionValue = (u64, &'static str, u64, &'static str);

/// A variant.
#[derive(Debug, Clone)]
pub struct VariantRecord {
    /// Variant id.
    pub id: u64,
    /// SKU.
    pub sku: String,
    /// Own price in cents (`None` = the product's).
    pub price_cents: Option<i64>,
    /// Stock when tracked by variant.
    pub inventory: i64,
    /// Defining options (empty for the base variant).
    pub option_values: Vec<OptionValue>,
}

/// A product.
#[derive(Debug, Clone)]
pub struct ProductRecord {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// SKU.
    pub sku: String,
    /// Description.
    pub description: String,
    /// Price in cents.
    pub price_cents: i64,
    /// Brand.
    pub brand_id: u64,
    /// Categories.
    pub categories: Vec<u64>,
    /// Weight (store units).
    pub weight: f64,
    /// Width, height, depth (store units).
    pub dimensions: [f64; 3],
    /// `product` or `variant`.
    pub tracking: &'static str,
    /// Product-level stock.
    pub inventory: i64,
    /// Units held back from sale at the default location (inventory settings'
    /// `safety_stock`): the inventory API's `available_to_sell` is on hand less this.
    pub safety_stock: i64,
    /// Images: (file name under `/sandbox/images/`, is thumbnail).
    pub images: Vec<(String, bool)>,
    /// Custom fields.
    pub custom_fields: Vec<(String, String)>,
    /// Variants (the base variant for products without options).
    pub variants: Vec<VariantRecord>,
    /// Last change (Unix seconds).
    pub date_modified: i64,
    /// UPC.
    pub upc: String,
}

fn money(cents: i64) -> Value {
    json!((cents as f64) / 100.0)
}

impl ProductRecord {
    /// Stock as the product shows it (sum of variants when tracked by variant).
    pub fn inventory_level(&self) -> i64 {
        if self.tracking == "variant" {
            self.variants.iter().map(|v| v.inventory).sum()
        } else {
            self.inventory
        }
    }

    fn variant_json(&self, variant: &VariantRecord) -> Value {
        let options: Vec<Value> = variant
            .option_values
            .iter()
            .map(|(option_id, option_name, id, label)| json!({"id": id, "label": label, "option_id": option_id, "option_display_name": option_name}))
            .collect();
        let price = variant.price_cents.map(money);
        json!({"id": variant.id, "product_id": self.id, "sku": variant.sku, "sku_id": variant.id, "price": price,
               "calculated_price": price.clone().unwrap_or_else(|| money(self.price_cents)), "sale_price": null,
               "weight": null, "inventory_level": if self.tracking == "variant" { variant.inventory } else { self.inventory },
               "inventory_warning_level": 0, "purchasing_disabled": false, "upc": "", "image_url": "",
               "option_values": options})
    }

    /// The v3 shape, with the `include`d sub-resources; image URLs start with `base`.
    pub fn to_json(&self, include: &[&str], base: &str) -> Value {
        let mut product = json!({
            "id": self.id, "name": self.name, "type": "physical", "sku": self.sku, "description": self.description,
            "price": money(self.price_cents), "sale_price": 0, "calculated_price": money(self.price_cents),
            "brand_id": self.brand_id, "categories": self.categories, "weight": self.weight,
            "width": self.dimensions[0], "height": self.dimensions[1], "depth": self.dimensions[2],
            "inventory_tracking": self.tracking, "inventory_level": self.inventory_level(), "is_visible": true,
            "availability": "available", "upc": self.upc, "date_created": iso(self.date_modified - 86_400),
            "date_modified": iso(self.date_modified),
            "base_variant_id": if self.variants.len() == 1 && self.variants[0].option_values.is_empty() { json!(self.variants[0].id) } else { Value::Null },
        });
        if include.contains(&"variants") {
            product["variants"] = json!(self.variants.iter().map(|v| self.variant_json(v)).collect::<Vec<_>>());
        }
        if include.contains(&"images") {
            product["images"] = json!(self
                .images
                .iter()
                .enumerate()
                .map(|(i, (file, thumb))| (i, format!("{base}/sandbox/images/{file}"), thumb))
                .map(|(i, url, thumb)| json!({"id": self.id * 10 + i as u64, "product_id": self.id, "is_thumbnail": thumb,
                    "sort_order": i, "url_zoom": url, "url_standard": url, "url_thumbnail": url, "image_file": url}))
                .collect::<Vec<_>>());
        }
        if include.contains(&"custom_fields") {
            product["custom_fields"] = json!(
                self.custom_fields
                    .iter()
                    .enumerate()
                    .map(|(i, (name, value))| json!({"id": self.id * 10 + i as u64, "name": name, "value": value}))
                    .collect::<Vec<_>>()
            );
        }
        product
    }

    /// Variant JSON by id.
    pub fn variant(&self, variant_id: u64) -> Option<Value> {
        self.variants
            .iter()
            .find(|v| v.id == variant_id)
            .map(|v| self.variant_json(v))
    }
}

/// A webhook registered by an API account.
#[derive(Debug, Clone)]
pub struct Hook {
    /// Id.
    pub id: u64,
    /// The API account that created it.
    pub client_id: String,
    /// Scope.
    pub scope: String,
    /// URL.
    pub destination: String,
    /// Headers sent on every delivery.
    pub headers: BTreeMap<String, String>,
    /// Active.
    pub is_active: bool,
    /// Created (Unix seconds).
    pub created_at: i64,
}

impl Hook {
    /// The v3 shape.
    pub fn to_json(&self, store_hash: &str) -> Value {
        json!({"id": self.id, "client_id": self.client_id, "store_hash": store_hash, "scope": self.scope,
               "destination": self.destination, "headers": self.headers, "is_active": self.is_active,
               "created_at": self.created_at, "updated_at": self.created_at})
    }

    /// Whether a hook of this scope hears `event` (wildcards like `store/product/*`).
    pub fn hears(&self, event: &str) -> bool {
        match self.scope.strip_suffix('*') {
            Some(prefix) => event.starts_with(prefix),
            None => self.scope == event,
        }
    }
}

/// One store.
#[derive(Debug)]
pub struct Store {
    /// Numeric store id (what deliveries call `store_id`).
    pub id: u64,
    /// Store hash.
    pub hash: String,
    /// Products by id.
    pub products: BTreeMap<u64, ProductRecord>,
    /// Brands (id, name).
    pub brands: Vec<(u64, String)>,
    /// Categories (id, parent, name).
    pub categories: Vec<(u64, u64, String)>,
    /// Channels (id, name, type).
    pub channels: Vec<Value>,
    /// Orders by id (v2 shape, with `products` and `shipping_addresses` embedded).
    pub orders: BTreeMap<u64, Value>,
    /// Shipments by order id.
    pub shipments: BTreeMap<u64, Vec<Value>>,
    /// Webhooks.
    pub hooks: Vec<Hook>,
    /// Whether the app is installed.
    pub installed: bool,
    /// When orders move stock (Settings API v3 `/v3/settings/inventory`).
    pub inventory_settings: InventorySettings,
    /// Orders whose lines currently hold stock (taken by the order, not yet given back).
    pub stock_held: BTreeSet<u64>,
    /// Stock (variant ids; the base variant for products tracked by product) without an
    /// absolute level in the Inventory API: relative adjustments are refused until an
    /// absolute one. Empty at seeding: seeded stock counts as set.
    pub without_absolute: BTreeSet<u64>,
    /// Refunds (v3 shape), in the order they were made.
    pub refunds: Vec<Value>,
}

const COLORS: [(u64, &str); 2] = [(101, "Red"), (102, "Blue")];
const SIZES: [(u64, &str); 2] = [(201, "S"), (202, "M")];

impl Store {
    /// A store with `count` products: every third has Color × Size variants (tracked by
    /// variant), every tenth has no image, the rest one or two 800×800 images, except
    /// product 11, whose only image is 80×80.
    pub fn seeded(id: u64, hash: &str, count: usize, now: i64) -> Self {
        let mut products = BTreeMap::new();
        let mut next_variant = 1_000u64;
        for index in 1..=count as u64 {
            let with_options = index % 3 == 0;
            let price_cents = 999 + (index as i64 % 50) * 100;
            let variants = if with_options {
                COLORS
                    .iter()
                    .flat_map(|color| SIZES.iter().map(move |size| (*color, *size)))
                    .map(|((color_id, color), (size_id, size))| {
                        next_variant += 1;
                        VariantRecord {
                            id: next_variant,
                            sku: format!("SKU-{index}-{color}-{size}"),
                            price_cents: (size == "M").then_some(price_cents + 200),
                            inventory: 5 + (index as i64 % 7),
                            option_values: vec![(11, "Color", color_id, color), (12, "Size", size_id, size)],
                        }
                    })
                    .collect()
            } else {
                next_variant += 1;
                vec![VariantRecord {
                    id: next_variant,
                    sku: format!("SKU-{index}"),
                    price_cents: None,
                    inventory: 0,
                    option_values: vec![],
                }]
            };
            let images = match index % 10 {
                7 => vec![],
                // One image too small for a TikTok main image (300×300 at least).
                _ if index == 11 => vec![(format!("p{index}-1-80x80.png"), true)],
                0 => vec![(format!("p{index}-1.png"), true), (format!("p{index}-2.png"), false)],
                _ => vec![(format!("p{index}-1.png"), true)],
            };
            products.insert(
                index,
                ProductRecord {
                    id: index,
                    name: format!("Sandbox product {index:05}"),
                    sku: format!("SKU-{index}"),
                    description: format!("<p>Product {index} of the sandbox catalog.</p>"),
                    price_cents,
                    brand_id: 1 + index % 5,
                    categories: vec![20 + index % 4],
                    weight: 0.5 + (index % 4) as f64,
                    dimensions: [10.0, 5.0, 2.0],
                    tracking: if with_options { "variant" } else { "product" },
                    inventory: if with_options { 0 } else { 3 + (index as i64 % 20) },
                    safety_stock: 0,
                    images,
                    custom_fields: if index % 2 == 0 {
                        vec![("Material".into(), "Cotton".into())]
                    } else {
                        vec![]
                    },
                    variants,
                    date_modified: now - 86_400 + (index as i64 % 86_000),
                    upc: format!("0{:011}", 12_345_000_000 + index),
                },
            );
        }
        Self {
            id,
            hash: hash.to_string(),
            products,
            brands: (1..=5).map(|i| (i, format!("Brand {i}"))).collect(),
            categories: vec![
                (10, 0, "Apparel".into()),
                (20, 10, "Dresses".into()),
                (21, 10, "Tops".into()),
                (22, 0, "Kitchen".into()),
                (23, 22, "Cookware".into()),
            ],
            channels: vec![
                json!({"id": 1, "name": "Storefront", "type": "storefront", "platform": "bigcommerce", "status": "active"}),
            ],
            orders: BTreeMap::new(),
            shipments: BTreeMap::new(),
            hooks: Vec::new(),
            installed: false,
            inventory_settings: InventorySettings::default(),
            stock_held: BTreeSet::new(),
            without_absolute: BTreeSet::new(),
            refunds: Vec::new(),
        }
    }
}

/// When an order takes stock (`update_stock_behavior` of the Settings API's
/// `InventorySettings`, `store-platforms-api.md` §1.11: "inventory is decremented
/// automatically on order creation according to the store/channel inventory settings").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStockBehavior {
    /// When the order is created (BigCommerce's default).
    OrderPlaced,
    /// When the order first reaches Shipped (2) or Completed (10).
    OrderCompletedOrShipped,
}

/// The store's inventory settings that decide how orders move stock, in the shape of
/// the Settings API v3 `InventorySettings` (the fields the sandbox models).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InventorySettings {
    /// When an order takes stock; default `order_placed`.
    pub update_stock_behavior: UpdateStockBehavior,
    /// Whether cancelling (5) or refunding (4) an order gives its stock back; default `true`.
    pub refund_order_stock_adjustment: bool,
}

impl Default for InventorySettings {
    /// BigCommerce's defaults: stock is taken when the order is placed and given back
    /// when it is cancelled or refunded.
    fn default() -> Self {
        Self {
            update_stock_behavior: UpdateStockBehavior::OrderPlaced,
            refund_order_stock_adjustment: true,
        }
    }
}

/// A pending OAuth code.
#[derive(Debug, Clone)]
pub struct Grant {
    /// Store hash.
    pub store_hash: String,
    /// Expiry (Unix seconds).
    pub expires_at: i64,
    /// The user who clicked Install (the owner unless `/sandbox/install?user_id=`).
    pub user_id: u64,
}

/// A webhook attempt, for inspection.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delivery {
    /// Scope.
    pub scope: String,
    /// Store hash.
    pub store_hash: String,
    /// Payload `hash` (SHA-1 of `data`: equal for events with equal data).
    pub hash: String,
    /// `webhook-id` (stable across re-deliveries of one event to one hook).
    pub webhook_id: String,
    /// Attempt number.
    pub attempt: u32,
    /// HTTP status (0 = connection failed).
    pub status: u16,
}

/// Everything the sandbox knows.
#[derive(Debug, Default)]
pub struct State {
    /// Stores by hash.
    pub stores: BTreeMap<String, Store>,
    /// OAuth codes.
    pub codes: HashMap<String, Grant>,
    /// Access tokens → (store hash, client id).
    pub tokens: HashMap<String, (String, String)>,
    /// Client secrets of API accounts (the app's and store-level ones) by client id:
    /// the key of the webhooks each account creates.
    pub account_secrets: HashMap<String, String>,
    /// JWT ids already minted (for inspection).
    pub next_id: u64,
    /// Webhook attempts.
    pub deliveries: Vec<Delivery>,
}

impl State {
    /// A fresh id.
    pub fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}
