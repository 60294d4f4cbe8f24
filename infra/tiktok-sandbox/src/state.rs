//! The sandbox's in-memory world: shops, grants, categories, products, orders,
//! packages, after-sales requests, webhook subscriptions and request counters.
//! Records are kept as JSON in the exact shapes of the reference, so what the
//! sandbox answers is what TikTok documents, not what the connector's types expect.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

/// A shop of the sandbox.
#[derive(Debug, Clone)]
pub struct Shop {
    /// Shop id.
    pub id: String,
    /// `shop_cipher`.
    pub cipher: String,
    /// Name.
    pub name: String,
    /// Region.
    pub region: String,
    /// Currency of prices.
    pub currency: String,
    /// Warehouses (reference shape).
    pub warehouses: Vec<Value>,
}

impl Shop {
    /// The shop as Get Authorized Shops lists it.
    pub fn authorized_json(&self) -> Value {
        json!({"id": self.id, "name": self.name, "region": self.region, "seller_type": "LOCAL",
               "cipher": self.cipher, "code": format!("CODE{}", &self.id[self.id.len() - 4..])})
    }

    /// Ids of enabled sales warehouses.
    pub fn sales_warehouse_ids(&self) -> Vec<String> {
        self.warehouses
            .iter()
            .filter(|w| w["type"] == "SALES_WAREHOUSE" && w["effect_status"] == "ENABLED")
            .filter_map(|w| w["id"].as_str().map(str::to_string))
            .collect()
    }
}

/// One authorization: tokens and the shops they cover.
#[derive(Debug, Clone)]
pub struct GrantRecord {
    /// Shops covered.
    pub shop_ids: Vec<String>,
    /// Current access token.
    pub access_token: String,
    /// Its expiry (Unix seconds).
    pub access_expires_at: i64,
    /// Current refresh token.
    pub refresh_token: String,
    /// Its expiry.
    pub refresh_expires_at: i64,
    /// Stable seller id.
    pub open_id: String,
}

/// A pending authorization code.
#[derive(Debug, Clone)]
pub struct AuthCode {
    /// Shops it will grant.
    pub shop_ids: Vec<String>,
    /// Expiry (Unix seconds); codes live 30 minutes.
    pub expires_at: i64,
}

/// A webhook delivery attempt, for inspection.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delivery {
    /// Topic number.
    pub topic: u32,
    /// Notification id.
    pub notification_id: String,
    /// Target URL.
    pub address: String,
    /// Attempt number (1 = first delivery).
    pub attempt: u32,
    /// HTTP status, or 0 when the connection failed.
    pub status: u16,
}

/// Everything the sandbox knows.
#[derive(Debug, Default)]
pub struct State {
    /// Shops by id.
    pub shops: BTreeMap<String, Shop>,
    /// Grants by access token.
    pub grants: HashMap<String, GrantRecord>,
    /// Authorization codes.
    pub auth_codes: HashMap<String, AuthCode>,
    /// Products by id (each carries `shop_id`).
    pub products: BTreeMap<String, Value>,
    /// Product ids by create idempotency key (per shop).
    pub product_keys: HashMap<(String, String), String>,
    /// Uploaded image uris.
    pub images: std::collections::HashSet<String>,
    /// Uploaded file ids (certification documents).
    pub files: std::collections::HashSet<String>,
    /// SKUs whose price is locked by a promotion.
    pub promotion_locked_skus: Vec<String>,
    /// Orders by id (each carries `shop_id`).
    pub orders: BTreeMap<String, Value>,
    /// Packages by id.
    pub packages: BTreeMap<String, Value>,
    /// Cancellations by id (see `after_sales` for their keys).
    pub cancellations: BTreeMap<String, Value>,
    /// Answers of after-sale decisions by (shop id, `idempotency_key`), as
    /// `{code, message, data}`: a repeated key gets the first answer, success or
    /// refusal, and changes nothing.
    pub decision_keys: HashMap<(String, String), Value>,
    /// Returns by id.
    pub returns: BTreeMap<String, Value>,
    /// Webhook addresses by (shop id, event type).
    pub webhooks: BTreeMap<(String, String), String>,
    /// Listings created per (shop, day).
    pub listings: HashMap<(String, i64), u32>,
    /// Requests let through, per key (shop | endpoint).
    pub requests: HashMap<String, u64>,
    /// Successful `/api/v2/token/refresh` calls.
    pub token_refreshes: u64,
    /// Every webhook attempt.
    pub deliveries: Vec<Delivery>,
    /// Reviews wait while this is set (`POST /sandbox/reviews`), so a test can act
    /// while a product or an edit is in review.
    pub reviews_held: bool,
    /// The last ORDER_STATUS_CHANGE notification per order: (notification id, data).
    pub order_notifications: HashMap<String, (String, Value)>,
    next_id: u64,
}

/// Categories of the sandbox: (id, parent, name, is_leaf).
const CATEGORIES: [(&str, &str, &str, bool); 9] = [
    ("600001", "0", "Womenswear & Underwear", false),
    ("600010", "600001", "Dresses", true),
    ("600020", "600001", "Tops", true),
    ("700001", "0", "Home Supplies", false),
    ("700010", "700001", "Kitchenware", false),
    ("700011", "700010", "Cookware", true),
    ("800001", "0", "Beauty & Personal Care", false),
    ("800010", "800001", "Skincare", true),
    ("900010", "0", "Phone Cases", true),
];

impl State {
    /// A world with two shops (US and GB) and their warehouses.
    pub fn seeded() -> Self {
        let mut state = State {
            next_id: 1_729_592_969_712_207_000,
            ..State::default()
        };
        for (id, region, currency, name) in [
            ("7494049642642441621", "US", "USD", "Sandbox US Shop"),
            ("7494049642642441622", "GB", "GBP", "Sandbox UK Shop"),
        ] {
            let warehouse = |suffix: &str, kind: &str, default: bool| {
                json!({"id": format!("70007145328762734{suffix}"), "name": format!("{region} {kind}"),
                       "effect_status": "ENABLED", "type": kind, "sub_type": "DOMESTIC_WAREHOUSE",
                       "is_default": default, "address": {"region_code": region, "distict": "Central", "city": "Sandbox City"}})
            };
            let warehouses = if region == "US" {
                vec![
                    warehouse("10", "SALES_WAREHOUSE", true),
                    warehouse("11", "SALES_WAREHOUSE", false),
                    warehouse("12", "RETURN_WAREHOUSE", false),
                ]
            } else {
                vec![warehouse("20", "SALES_WAREHOUSE", true)]
            };
            let cipher = format!("GCP_{}_{}", region, &id[id.len() - 6..]);
            state.shops.insert(
                id.to_string(),
                Shop {
                    id: id.into(),
                    cipher,
                    name: name.into(),
                    region: region.into(),
                    currency: currency.into(),
                    warehouses,
                },
            );
        }
        state
    }

    /// A fresh 19-digit id.
    pub fn new_id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    /// The shop with this cipher.
    pub fn shop_by_cipher(&self, cipher: &str) -> Option<&Shop> {
        self.shops.values().find(|shop| shop.cipher == cipher)
    }

    /// The category list (reference shape).
    pub fn categories() -> Vec<Value> {
        CATEGORIES
            .iter()
            .map(|(id, parent, name, leaf)| {
                json!({"id": id, "parent_id": parent, "local_name": name, "is_leaf": leaf,
                       "permission_statuses": if *id == "800010" { vec!["INVITE_ONLY"] } else { vec!["AVAILABLE"] }})
            })
            .collect()
    }

    /// Whether `id` is a leaf category.
    pub fn is_leaf(id: &str) -> bool {
        CATEGORIES.iter().any(|(cid, _, _, leaf)| *cid == id && *leaf)
    }

    /// Whether `id` is any category.
    pub fn is_category(id: &str) -> bool {
        CATEGORIES.iter().any(|(cid, ..)| *cid == id)
    }

    /// Attributes of a leaf (reference shape, with TikTok's `is_requried` spelling).
    pub fn attributes(category_id: &str) -> Vec<Value> {
        let color = json!({"id": "100000", "name": "Color", "type": "SALES_PROPERTY", "is_requried": false,
            "is_customizable": true, "is_multiple_selection": false,
            "values": [{"id": "1000001", "name": "Red"}, {"id": "1000002", "name": "Blue"}, {"id": "1000003", "name": "Black"}]});
        let size = json!({"id": "100089", "name": "Size", "type": "SALES_PROPERTY", "is_requried": false,
            "is_customizable": true, "is_multiple_selection": false,
            "values": [{"id": "1000101", "name": "S"}, {"id": "1000102", "name": "M"}, {"id": "1000103", "name": "L"}]});
        let material = json!({"id": "100392", "name": "Material", "type": "PRODUCT_PROPERTY", "is_requried": true,
            "is_customizable": true, "is_multiple_selection": true,
            "values": [{"id": "1001533", "name": "Cotton"}, {"id": "1001534", "name": "Polyester"}]});
        let warranty = json!({"id": "100500", "name": "Warranty", "type": "PRODUCT_PROPERTY", "is_requried": false,
            "is_customizable": true, "is_multiple_selection": false,
            "requirement_conditions": [{"condition_type": "VALUE_ID_MATCH", "attribute_id": "100501", "attribute_value_id": "1005011"}],
            "values": []});
        match category_id {
            "600010" | "600020" => vec![color, size, material],
            "700011" => vec![
                color,
                json!({"id": "100601", "name": "Diameter", "type": "PRODUCT_PROPERTY", "is_requried": true,
                "is_customizable": true, "is_multiple_selection": false, "value_data_format": "POSITIVE_INT_OR_DECIMAL"}),
            ],
            "900010" => vec![color, warranty],
            _ => vec![color],
        }
    }

    /// Listing rules of a leaf (reference shape).
    pub fn rules(category_id: &str) -> Value {
        match category_id {
            "600010" | "600020" => {
                json!({"size_chart": {"is_supported": true, "is_required": true}, "cod": {"is_supported": false}})
            }
            "800010" => {
                json!({"product_certifications": [{"id": "602362", "name": "Cosmetic safety report", "is_required": true,
                               "sample_image_url": "https://example.invalid/sample.png", "requirement_conditions": []}],
                               "size_chart": {"is_supported": false, "is_required": false}})
            }
            "900010" => {
                json!({"package_dimension": {"is_required": true}, "size_chart": {"is_supported": false, "is_required": false}})
            }
            _ => json!({"size_chart": {"is_supported": false, "is_required": false}}),
        }
    }

    /// The seller-shipping delivery options of every warehouse, as Get Warehouse
    /// Delivery Options lists them (the first is the one sandbox orders carry).
    pub fn delivery_options() -> Vec<Value> {
        vec![
            json!({"id": "7091146663229654785", "name": "Standard shipping", "type": "STANDARD",
                   "description": "3-5 business days", "platform": ["TIKTOK_SHOP"]}),
            json!({"id": "7091146663229654786", "name": "Express shipping", "type": "EXPRESS",
                   "description": "1-2 business days", "platform": ["TIKTOK_SHOP"]}),
        ]
    }

    /// The shipping providers of a seller-shipping delivery option in `region`, as Get
    /// Shipping Providers names them (ids stable across regions for shared carriers).
    pub fn shipping_providers(region: &str) -> Vec<Value> {
        let provider = |id: &str, name: &str| json!({"id": id, "name": name});
        let (usps, ups, fedex) = (
            provider("7117858858072016686", "USPS"),
            provider("7117858858072016687", "UPS"),
            provider("7117858858072016688", "FedEx"),
        );
        match region {
            "US" => vec![
                usps,
                ups,
                fedex,
                provider("7117858858072016690", "DHL eCommerce"),
                provider("7117858858072016691", "OnTrac"),
                provider("7117858858072016692", "LaserShip"),
                provider("7117858858072016693", "Amazon Logistics"),
            ],
            _ => vec![
                provider("7117858858072016689", "Royal Mail"),
                provider("7117858858072016694", "Evri"),
                provider("7117858858072016695", "DPD"),
                provider("7117858858072016696", "Parcelforce"),
                provider("7117858858072016697", "Yodel"),
                provider("7117858858072016698", "DHL"),
                ups,
                fedex,
            ],
        }
    }

    /// Brands (reference shape, with TikTok's `UNAUTHORIEZD`).
    pub fn brands() -> Vec<Value> {
        (0..12)
            .map(|i| {
                let authorized = i % 3 == 0;
                json!({"id": format!("708242731158434{:04}", i), "name": format!("Brand {i:02}"),
                       "authorized_status": if authorized { "AUTHORIZED" } else { "UNAUTHORIEZD" },
                       "is_t1_brand": i % 4 == 1, "brand_status": "AVAILABLE"})
            })
            .collect()
    }
}
