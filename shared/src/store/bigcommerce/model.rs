//! BigCommerce wire types (reference §1.8–1.11). Amounts accept JSON numbers (v3) and
//! strings (v2) alike; absent fields default.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// `GET /v2/store` (the fields the connector reads).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StoreInfo {
    /// Store id.
    #[serde(default)]
    pub id: String,
    /// Store name.
    #[serde(default)]
    pub name: String,
    /// Domain.
    #[serde(default)]
    pub domain: String,
    /// Default currency code.
    #[serde(default)]
    pub currency: String,
    /// `Ounces`, `Pounds`, `Grams`, `KGS`, …
    #[serde(default)]
    pub weight_units: String,
    /// `Inches`, `Centimeters`, …
    #[serde(default)]
    pub dimension_units: String,
}

/// v3 pagination.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Pagination {
    /// Total items.
    #[serde(default)]
    pub total: u64,
    /// Items on this page.
    #[serde(default)]
    pub count: u64,
    /// Page size.
    #[serde(default)]
    pub per_page: u64,
    /// This page (1-based).
    #[serde(default)]
    pub current_page: u64,
    /// Pages in all.
    #[serde(default)]
    pub total_pages: u64,
}

/// v3 `meta`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Meta {
    /// Pagination, on collections.
    #[serde(default)]
    pub pagination: Pagination,
}

/// A v3 collection.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Collection<T> {
    /// Items.
    pub data: Vec<T>,
    /// Pagination.
    #[serde(default)]
    pub meta: Meta,
}

/// A v3 single-object answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Single<T> {
    /// The object.
    pub data: T,
}

/// A variant's option value.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcOptionValue {
    /// Value id.
    pub id: u64,
    /// Label (`Red`).
    #[serde(default)]
    pub label: String,
    /// Option id.
    pub option_id: u64,
    /// Option name (`Color`).
    #[serde(default)]
    pub option_display_name: String,
}

/// A variant.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcVariant {
    /// Variant id.
    pub id: u64,
    /// Product id.
    pub product_id: u64,
    /// SKU.
    #[serde(default)]
    pub sku: String,
    /// Own price (`null` = the product's).
    #[serde(default)]
    pub price: Option<Decimal>,
    /// Stock.
    #[serde(default)]
    pub inventory_level: i64,
    /// Barcode.
    #[serde(default)]
    pub upc: Option<String>,
    /// Global Trade Item Number.
    #[serde(default)]
    pub gtin: Option<String>,
    /// Image.
    #[serde(default)]
    pub image_url: Option<String>,
    /// Not for sale.
    #[serde(default)]
    pub purchasing_disabled: bool,
    /// Defining options.
    #[serde(default)]
    pub option_values: Vec<BcOptionValue>,
}

/// A product image.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcImage {
    /// Largest URL.
    #[serde(default)]
    pub url_zoom: String,
    /// Standard URL.
    #[serde(default)]
    pub url_standard: String,
    /// Primary image.
    #[serde(default)]
    pub is_thumbnail: bool,
    /// Position.
    #[serde(default)]
    pub sort_order: i64,
}

/// A custom field.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcCustomField {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// A product (`include=variants,images,custom_fields`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcProduct {
    /// Id.
    pub id: u64,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// SKU.
    #[serde(default)]
    pub sku: String,
    /// HTML description.
    #[serde(default)]
    pub description: String,
    /// Price.
    #[serde(default)]
    pub price: Decimal,
    /// Sale price (0 = none).
    #[serde(default)]
    pub sale_price: Option<Decimal>,
    /// Brand (0 = none).
    #[serde(default)]
    pub brand_id: u64,
    /// Categories.
    #[serde(default)]
    pub categories: Vec<u64>,
    /// Weight.
    #[serde(default)]
    pub weight: Option<Decimal>,
    /// Width.
    #[serde(default)]
    pub width: Option<Decimal>,
    /// Height.
    #[serde(default)]
    pub height: Option<Decimal>,
    /// Depth.
    #[serde(default)]
    pub depth: Option<Decimal>,
    /// `none`, `product` or `variant`.
    #[serde(default)]
    pub inventory_tracking: String,
    /// Stock (sum of variants when tracked by variant).
    #[serde(default)]
    pub inventory_level: i64,
    /// Visible.
    #[serde(default)]
    pub is_visible: bool,
    /// Barcode.
    #[serde(default)]
    pub upc: Option<String>,
    /// Global Trade Item Number.
    #[serde(default)]
    pub gtin: Option<String>,
    /// ISO-8601.
    #[serde(default)]
    pub date_modified: String,
    /// Variants.
    #[serde(default)]
    pub variants: Vec<BcVariant>,
    /// Images.
    #[serde(default)]
    pub images: Vec<BcImage>,
    /// Custom fields.
    #[serde(default)]
    pub custom_fields: Vec<BcCustomField>,
}

/// A brand.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcBrand {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
}

/// A category of a tree (flat listing).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcCategory {
    /// Id.
    pub category_id: u64,
    /// Parent (0 at the root).
    #[serde(default)]
    pub parent_id: u64,
    /// Name.
    pub name: String,
}

/// Identity of an inventory item.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcIdentity {
    /// Variant id.
    pub variant_id: u64,
    /// Product id.
    pub product_id: u64,
    /// SKU.
    #[serde(default)]
    pub sku: String,
}

/// Stock at one location.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcLocationStock {
    /// Location id.
    pub location_id: u64,
    /// On hand minus safety stock: what may be sold.
    pub available_to_sell: i64,
}

/// `GET /v3/inventory/items` item.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcInventoryItem {
    /// Which variant.
    pub identity: BcIdentity,
    /// Per location.
    #[serde(default)]
    pub locations: Vec<BcLocationStock>,
}

/// One stock adjustment (absolute: the new level; relative: a signed change) of a
/// variant, or of a product tracked by product (exactly one of the two ids).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct InventoryAdjustment {
    /// Location.
    pub location_id: u64,
    /// Variant (products tracked by variant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant_id: Option<u64>,
    /// Product (products tracked by product).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_id: Option<u64>,
    /// New level, or change.
    pub quantity: i64,
}

/// A v2 address.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct BcAddress {
    /// First name.
    #[serde(default)]
    pub first_name: String,
    /// Last name.
    #[serde(default)]
    pub last_name: String,
    /// Street 1.
    #[serde(default)]
    pub street_1: String,
    /// Street 2.
    #[serde(default)]
    pub street_2: String,
    /// City.
    #[serde(default)]
    pub city: String,
    /// State.
    #[serde(default)]
    pub state: String,
    /// Postal code.
    #[serde(default)]
    pub zip: String,
    /// Country name.
    #[serde(default)]
    pub country: String,
    /// Country code.
    #[serde(default)]
    pub country_iso2: String,
    /// Phone.
    #[serde(default)]
    pub phone: String,
    /// Email.
    #[serde(default)]
    pub email: String,
    /// Shipping method (shipping addresses only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_method: Option<String>,
}

/// A catalog line of a new order.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcOrderLinePost {
    /// Product.
    pub product_id: u64,
    /// Variant.
    pub variant_id: u64,
    /// Units.
    pub quantity: u32,
    /// Unit price without tax.
    pub price_ex_tax: Decimal,
    /// Unit price with tax.
    pub price_inc_tax: Decimal,
}

/// `POST /v2/orders` body.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcOrderPost {
    /// 0 = guest.
    pub customer_id: u64,
    /// Status id.
    pub status_id: u32,
    /// Sales channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<u64>,
    /// Source system: the app id of the app that created the order (§1.11).
    pub external_source: String,
    /// Marketplace order id.
    pub external_order_id: String,
    /// Billing address.
    pub billing_address: BcAddress,
    /// Shipping addresses.
    pub shipping_addresses: Vec<BcAddress>,
    /// Lines.
    pub products: Vec<BcOrderLinePost>,
    /// Shipping without tax.
    pub shipping_cost_ex_tax: Decimal,
    /// Shipping with tax.
    pub shipping_cost_inc_tax: Decimal,
    /// Handling without tax (a pair with `handling_cost_inc_tax`).
    pub handling_cost_ex_tax: Decimal,
    /// Handling with tax.
    pub handling_cost_inc_tax: Decimal,
    /// Order discount, taken off the total.
    pub discount_amount: Decimal,
    /// Payment method label.
    pub payment_method: String,
    /// Buyer message.
    pub customer_message: String,
    /// Merchant note.
    pub staff_notes: String,
}

/// A v2 order.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcOrder {
    /// Id.
    pub id: u64,
    /// Status id.
    pub status_id: u32,
    /// Status label.
    #[serde(default)]
    pub status: String,
    /// Marketplace order id.
    #[serde(default)]
    pub external_order_id: Option<String>,
    /// Source system.
    #[serde(default)]
    pub external_source: Option<String>,
    /// Channel.
    #[serde(default)]
    pub channel_id: Option<u64>,
    /// Total with tax.
    #[serde(default)]
    pub total_inc_tax: Decimal,
}

/// A line of a v2 order.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcOrderProduct {
    /// Order product id (for shipments).
    pub id: u64,
    /// Product.
    pub product_id: u64,
    /// Variant.
    #[serde(default)]
    pub variant_id: u64,
    /// Units.
    pub quantity: u32,
    /// Units shipped.
    #[serde(default)]
    pub quantity_shipped: u32,
    /// SKU.
    #[serde(default)]
    pub sku: String,
}

/// A shipping address of a v2 order.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcShippingAddress {
    /// Order address id (for shipments).
    pub id: u64,
    /// The address fields.
    #[serde(flatten)]
    pub address: BcAddress,
}

/// A shipment item.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcShipmentItem {
    /// Order product id.
    pub order_product_id: u64,
    /// Product id (in answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<u64>,
    /// Units.
    pub quantity: u32,
}

/// A v2 shipment.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcShipment {
    /// Id.
    pub id: u64,
    /// Order.
    pub order_id: u64,
    /// Tracking number.
    #[serde(default)]
    pub tracking_number: String,
    /// Provider (`usps`, `ups`, …, or empty).
    #[serde(default)]
    pub shipping_provider: String,
    /// AfterShip slug, when set.
    #[serde(default)]
    pub tracking_carrier: String,
    /// Free text method.
    #[serde(default)]
    pub shipping_method: String,
    /// Items.
    #[serde(default)]
    pub items: Vec<BcShipmentItem>,
}

/// `POST /v2/orders/{id}/shipments` body.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcShipmentPost {
    /// Shipping address id.
    pub order_address_id: u64,
    /// Items.
    pub items: Vec<BcShipmentItem>,
    /// Tracking number.
    pub tracking_number: String,
    /// Provider.
    pub shipping_provider: String,
    /// AfterShip slug.
    pub tracking_carrier: String,
}

/// A v3 webhook.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcHook {
    /// Id.
    pub id: u64,
    /// Scope, e.g. `store/order/statusUpdated`.
    pub scope: String,
    /// URL.
    pub destination: String,
    /// Active.
    #[serde(default)]
    pub is_active: bool,
}

/// `POST /v3/hooks` body.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BcHookPost {
    /// Scope.
    pub scope: String,
    /// URL.
    pub destination: String,
    /// Active.
    pub is_active: bool,
    /// Headers sent on every delivery.
    pub headers: std::collections::BTreeMap<String, String>,
}
