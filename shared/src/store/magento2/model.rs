//! Magento 2 REST shapes the adapter reads and writes, with Magento's own field names
//! (`store-platforms-api.md` §4.3–4.4; Magento's `*Interface` data objects). Amounts
//! are JSON numbers in the store's base currency; dates are UTC `Y-m-d H:i:s`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A store view's configuration (`GET /V1/store/storeConfigs`).
#[derive(Debug, Clone, Deserialize)]
pub struct StoreConfig {
    /// Store view id.
    pub id: u64,
    /// Store view code.
    pub code: String,
    /// Website id.
    #[serde(default)]
    pub website_id: u64,
    /// Base currency (ISO 4217).
    #[serde(default)]
    pub base_currency_code: String,
    /// `lbs` or `kgs`.
    #[serde(default)]
    pub weight_unit: String,
    /// Storefront base URL.
    #[serde(default)]
    pub base_url: String,
    /// Media base URL (product images are `{base_media_url}catalog/product{file}`).
    #[serde(default)]
    pub base_media_url: String,
}

/// A store view (`GET /V1/store/storeViews`).
#[derive(Debug, Clone, Deserialize)]
pub struct StoreView {
    /// Id.
    pub id: u64,
    /// Code.
    pub code: String,
    /// Name shown to the merchant.
    pub name: String,
}

/// A website (`GET /V1/store/websites`).
#[derive(Debug, Clone, Deserialize)]
pub struct Website {
    /// Id.
    pub id: u64,
    /// Code (the stock resolver's key).
    pub code: String,
}

/// `{attribute_code, value}` of a product.
#[derive(Debug, Clone, Deserialize)]
pub struct CustomAttribute {
    /// Attribute code (`description`, `manufacturer`, `color`, …).
    pub attribute_code: String,
    /// Value: a string, or a list for multi-selects and `category_ids`.
    pub value: serde_json::Value,
}

/// A media gallery entry.
#[derive(Debug, Clone, Deserialize)]
pub struct MediaEntry {
    /// Id.
    #[serde(default)]
    pub id: u64,
    /// `image` or `external-video`.
    #[serde(default)]
    pub media_type: String,
    /// Position.
    #[serde(default)]
    pub position: i64,
    /// Hidden from the storefront.
    #[serde(default)]
    pub disabled: bool,
    /// Roles (`image`, `small_image`, `thumbnail`, `swatch_image`).
    #[serde(default)]
    pub types: Vec<String>,
    /// Path under `catalog/product` (`/m/b/mb01.jpg`).
    pub file: String,
}

/// A category link of a product.
#[derive(Debug, Clone, Deserialize)]
pub struct CategoryLink {
    /// Category id.
    pub category_id: String,
}

/// The legacy single-source stock item of a product (in a product's extension
/// attributes, and `GET /V1/stockItems/{sku}`).
#[derive(Debug, Clone, Deserialize)]
pub struct StockItem {
    /// Item id (the key of `PUT /V1/products/{sku}/stockItems/{itemId}`).
    #[serde(default)]
    pub item_id: Option<u64>,
    /// In stock (sellable at all).
    #[serde(default)]
    pub is_in_stock: Option<bool>,
    /// Quantity.
    #[serde(default)]
    pub qty: Option<Decimal>,
    /// Stock managed (tracked).
    #[serde(default = "yes")]
    pub manage_stock: bool,
}

fn yes() -> bool {
    true
}

/// One value of a configurable option.
#[derive(Debug, Clone, Deserialize)]
pub struct OptionValueIndex {
    /// The attribute option's value id.
    pub value_index: i64,
}

/// An option of a configurable product (`GET /V1/configurable-products/{sku}/options/all`).
#[derive(Debug, Clone, Deserialize)]
pub struct ConfigurableOption {
    /// Option id.
    #[serde(default)]
    pub id: u64,
    /// The attribute's id (a string or a number on the wire).
    #[serde(deserialize_with = "id_string")]
    pub attribute_id: String,
    /// Label (`Color`).
    #[serde(default)]
    pub label: String,
    /// Values offered.
    #[serde(default)]
    pub values: Vec<OptionValueIndex>,
}

/// A product's extension attributes.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProductExtension {
    /// Categories.
    #[serde(default)]
    pub category_links: Vec<CategoryLink>,
    /// Legacy stock.
    #[serde(default)]
    pub stock_item: Option<StockItem>,
    /// A configurable product's options.
    #[serde(default)]
    pub configurable_product_options: Vec<ConfigurableOption>,
    /// A configurable product's children (product ids).
    #[serde(default)]
    pub configurable_product_links: Vec<u64>,
}

/// A product (`ProductInterface`).
#[derive(Debug, Clone, Deserialize)]
pub struct MagentoProduct {
    /// Entity id.
    pub id: u64,
    /// SKU (the REST key of a product).
    pub sku: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Price.
    #[serde(default)]
    pub price: Option<Decimal>,
    /// 1 enabled, 2 disabled.
    #[serde(default)]
    pub status: Option<u8>,
    /// 1 not visible individually, 2 catalog, 3 search, 4 both.
    #[serde(default)]
    pub visibility: Option<u8>,
    /// `simple`, `configurable`, `virtual`, `bundle`, `downloadable`, `grouped`.
    #[serde(default)]
    pub type_id: String,
    /// Weight (store units).
    #[serde(default)]
    pub weight: Option<Decimal>,
    /// Last change (UTC `Y-m-d H:i:s`).
    #[serde(default)]
    pub updated_at: String,
    /// Extension attributes.
    #[serde(default)]
    pub extension_attributes: ProductExtension,
    /// Custom attributes.
    #[serde(default)]
    pub custom_attributes: Vec<CustomAttribute>,
    /// Images.
    #[serde(default)]
    pub media_gallery_entries: Vec<MediaEntry>,
}

impl MagentoProduct {
    /// A custom attribute's value as text (`None` when absent or empty).
    pub fn attribute(&self, code: &str) -> Option<String> {
        self.custom_attributes
            .iter()
            .find(|a| a.attribute_code == code)
            .and_then(|a| match &a.value {
                serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
    }

    /// Not visible individually: a configurable product's child.
    pub fn is_child_only(&self) -> bool {
        self.visibility == Some(1)
    }
}

/// An attribute option (`{label, value}`).
#[derive(Debug, Clone, Deserialize)]
pub struct AttributeOption {
    /// Label shown to buyers.
    pub label: String,
    /// Option id (a string on the wire).
    #[serde(deserialize_with = "id_string")]
    pub value: String,
}

/// A product attribute with its options (`GET /V1/products/attributes`).
#[derive(Debug, Clone, Deserialize)]
pub struct Attribute {
    /// Id.
    #[serde(deserialize_with = "id_string")]
    pub attribute_id: String,
    /// Code (`color`).
    pub attribute_code: String,
    /// Admin label.
    #[serde(default)]
    pub default_frontend_label: Option<String>,
    /// Options of a select attribute.
    #[serde(default)]
    pub options: Vec<AttributeOption>,
}

/// A category (`GET /V1/categories/list`).
#[derive(Debug, Clone, Deserialize)]
pub struct MagentoCategory {
    /// Id.
    pub id: u64,
    /// Parent id (0 above the root catalog).
    #[serde(default)]
    pub parent_id: u64,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Depth (0 the invisible root, 1 a root catalog).
    #[serde(default)]
    pub level: u32,
}

/// An MSI source item (`GET`/`POST /V1/inventory/source-items`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceItem {
    /// SKU.
    pub sku: String,
    /// Source code.
    pub source_code: String,
    /// On-hand quantity.
    pub quantity: Decimal,
    /// 1 in stock, 0 out of stock.
    pub status: u8,
}

/// An order line (`OrderItemInterface`).
#[derive(Debug, Clone, Deserialize)]
pub struct OrderItem {
    /// Item id.
    pub item_id: u64,
    /// The product ordered (a configurable parent's line names the parent).
    pub product_id: u64,
    /// SKU.
    #[serde(default)]
    pub sku: String,
    /// The parent line of a configurable product's child line.
    #[serde(default)]
    pub parent_item_id: Option<u64>,
    /// `simple`, `configurable`, …
    #[serde(default)]
    pub product_type: String,
    /// Units ordered.
    #[serde(default)]
    pub qty_ordered: Decimal,
}

/// An order (`OrderInterface`), the fields the adapter reads.
#[derive(Debug, Clone, Deserialize)]
pub struct MagentoOrder {
    /// Entity id (the REST key).
    pub entity_id: u64,
    /// Number shown to the merchant.
    #[serde(default)]
    pub increment_id: String,
    /// `new`, `pending_payment`, `processing`, `complete`, `closed`, `canceled`, `holded`, `payment_review`.
    #[serde(default)]
    pub state: String,
    /// Status code (labels configurable per store).
    #[serde(default)]
    pub status: String,
    /// The marketplace's order id.
    #[serde(default)]
    pub ext_order_id: Option<String>,
    /// The quote it was placed from.
    #[serde(default)]
    pub quote_id: Option<u64>,
    /// Grand total.
    #[serde(default)]
    pub grand_total: Decimal,
    /// Invoiced so far.
    #[serde(default)]
    pub total_invoiced: Option<Decimal>,
    /// Refunded so far.
    #[serde(default)]
    pub total_refunded: Option<Decimal>,
    /// Lines.
    #[serde(default)]
    pub items: Vec<OrderItem>,
    /// Last change.
    #[serde(default)]
    pub updated_at: String,
}

/// A shipment line.
#[derive(Debug, Clone, Deserialize)]
pub struct ShipmentItem {
    /// The order line shipped.
    #[serde(default)]
    pub order_item_id: u64,
    /// Product.
    #[serde(default)]
    pub product_id: Option<u64>,
    /// Units.
    #[serde(default)]
    pub qty: Decimal,
}

/// A shipment's tracking number.
#[derive(Debug, Clone, Deserialize)]
pub struct Track {
    /// Tracking number.
    #[serde(default)]
    pub track_number: String,
    /// Carrier title.
    #[serde(default)]
    pub title: String,
    /// Carrier code (`ups`, `fedex`, `usps`, `dhl`, `custom`).
    #[serde(default)]
    pub carrier_code: String,
}

/// A shipment (`ShipmentInterface`).
#[derive(Debug, Clone, Deserialize)]
pub struct MagentoShipment {
    /// Entity id.
    pub entity_id: u64,
    /// Order id.
    pub order_id: u64,
    /// Lines.
    #[serde(default)]
    pub items: Vec<ShipmentItem>,
    /// Tracks.
    #[serde(default)]
    pub tracks: Vec<Track>,
    /// Last change.
    #[serde(default)]
    pub updated_at: String,
}

/// A credit memo (`CreditmemoInterface`).
#[derive(Debug, Clone, Deserialize)]
pub struct CreditMemo {
    /// Entity id.
    pub entity_id: u64,
    /// Amount refunded.
    #[serde(default)]
    pub grand_total: Decimal,
}

/// A cart address (`AddressInterface`).
#[derive(Debug, Clone, Serialize)]
pub struct CartAddress {
    /// First name.
    pub firstname: String,
    /// Last name.
    pub lastname: String,
    /// Street lines.
    pub street: Vec<String>,
    /// City.
    pub city: String,
    /// Region name.
    pub region: String,
    /// Postcode.
    pub postcode: String,
    /// ISO 3166 alpha-2.
    pub country_id: String,
    /// Phone (required by Magento).
    pub telephone: String,
    /// Email.
    pub email: String,
}

/// Ids arrive as strings or numbers; read both as a string.
fn id_string<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(s) => Ok(s),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!("an id, not {other}"))),
    }
}
