//! PrestaShop Webservice shapes the adapter reads, with PrestaShop's own field names
//! (`store-platforms-api.md` §5.3–5.4). In JSON output ids are numbers and every other
//! scalar a string (`"price":"23.900000"`, `"active":"1"`), so fields read through the
//! lenient readers of [`de`]; dates are the shop's `Y-m-d H:i:s`.

use rust_decimal::Decimal;
use serde::Deserialize;

/// Lenient readers for PrestaShop's JSON scalars.
pub mod de {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    fn text_of(value: Value) -> String {
        match value {
            Value::String(text) => text,
            Value::Null => String::new(),
            // A multilingual field read without `language`: its first translation.
            Value::Array(translations) => translations
                .into_iter()
                .next()
                .and_then(|t| t.get("value").cloned())
                .map(text_of)
                .unwrap_or_default(),
            other => other.to_string(),
        }
    }

    /// A string from a string, a number, null (empty) or a multilingual array.
    pub fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        Ok(text_of(Value::deserialize(deserializer)?))
    }

    /// An id from a number or a numeric string (empty or null: 0).
    pub fn id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        let text = text_of(Value::deserialize(deserializer)?);
        if text.trim().is_empty() {
            return Ok(0);
        }
        text.trim().parse().map_err(serde::de::Error::custom)
    }

    /// A signed count (stock) from a number or a numeric string.
    pub fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        let text = text_of(Value::deserialize(deserializer)?);
        if text.trim().is_empty() {
            return Ok(0);
        }
        text.trim().parse().map_err(serde::de::Error::custom)
    }

    /// An amount from `"23.900000"` or a number (empty: zero).
    pub fn decimal<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        let text = text_of(Value::deserialize(deserializer)?);
        if text.trim().is_empty() {
            return Ok(Decimal::ZERO);
        }
        text.trim()
            .parse::<Decimal>()
            .map(|d| d.normalize())
            .map_err(serde::de::Error::custom)
    }

    /// A flag from `"1"` / `"0"`, a number or a boolean.
    pub fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::Bool(flag) => flag,
            other => matches!(text_of(other).trim(), "1" | "true"),
        })
    }
}

/// `{"id": N}` in an association.
#[derive(Debug, Clone, Deserialize)]
pub struct Ref {
    /// The associated resource's id.
    #[serde(deserialize_with = "de::id")]
    pub id: u64,
}

/// A product's associations.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProductAssociations {
    /// Categories.
    #[serde(default)]
    pub categories: Vec<Ref>,
    /// Images, cover first.
    #[serde(default)]
    pub images: Vec<Ref>,
    /// Combinations (variants).
    #[serde(default)]
    pub combinations: Vec<Ref>,
}

/// A product (`/api/products`, `display=full`, one `language`).
#[derive(Debug, Clone, Deserialize)]
pub struct PsProduct {
    /// Id.
    #[serde(deserialize_with = "de::id")]
    pub id: u64,
    /// SKU.
    #[serde(default, deserialize_with = "de::text")]
    pub reference: String,
    /// EAN-13.
    #[serde(default, deserialize_with = "de::text")]
    pub ean13: String,
    /// UPC.
    #[serde(default, deserialize_with = "de::text")]
    pub upc: String,
    /// Manufacturer part number.
    #[serde(default, deserialize_with = "de::text")]
    pub mpn: String,
    /// Price without tax.
    #[serde(default, deserialize_with = "de::decimal")]
    pub price: Decimal,
    /// Weight (the shop's unit).
    #[serde(default, deserialize_with = "de::decimal")]
    pub weight: Decimal,
    /// Width.
    #[serde(default, deserialize_with = "de::decimal")]
    pub width: Decimal,
    /// Height.
    #[serde(default, deserialize_with = "de::decimal")]
    pub height: Decimal,
    /// Depth.
    #[serde(default, deserialize_with = "de::decimal")]
    pub depth: Decimal,
    /// Enabled.
    #[serde(default, deserialize_with = "de::flag")]
    pub active: bool,
    /// `both`, `catalog`, `search` or `none`.
    #[serde(default, deserialize_with = "de::text")]
    pub visibility: String,
    /// Brand (0: none).
    #[serde(default, deserialize_with = "de::id")]
    pub id_manufacturer: u64,
    /// Name.
    #[serde(default, deserialize_with = "de::text")]
    pub name: String,
    /// HTML description.
    #[serde(default, deserialize_with = "de::text")]
    pub description: String,
    /// Last change.
    #[serde(default, deserialize_with = "de::text")]
    pub date_upd: String,
    /// Associations.
    #[serde(default)]
    pub associations: ProductAssociations,
}

/// A combination's associations.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CombinationAssociations {
    /// The option values that define it.
    #[serde(default)]
    pub product_option_values: Vec<Ref>,
    /// Its images.
    #[serde(default)]
    pub images: Vec<Ref>,
}

/// A combination (`/api/combinations`): a variant of a product.
#[derive(Debug, Clone, Deserialize)]
pub struct PsCombination {
    /// Id (`id_product_attribute` elsewhere).
    #[serde(deserialize_with = "de::id")]
    pub id: u64,
    /// Its product.
    #[serde(deserialize_with = "de::id")]
    pub id_product: u64,
    /// SKU.
    #[serde(default, deserialize_with = "de::text")]
    pub reference: String,
    /// EAN-13.
    #[serde(default, deserialize_with = "de::text")]
    pub ean13: String,
    /// UPC.
    #[serde(default, deserialize_with = "de::text")]
    pub upc: String,
    /// Price impact on the product's price.
    #[serde(default, deserialize_with = "de::decimal")]
    pub price: Decimal,
    /// Associations.
    #[serde(default)]
    pub associations: CombinationAssociations,
}

/// An attribute value (`/api/product_option_values`), e.g. Size = M.
#[derive(Debug, Clone, Deserialize)]
pub struct OptionValueRow {
    /// Id.
    #[serde(deserialize_with = "de::id")]
    pub id: u64,
    /// Its attribute group (`product_options`).
    #[serde(deserialize_with = "de::id")]
    pub id_attribute_group: u64,
    /// Label.
    #[serde(default, deserialize_with = "de::text")]
    pub name: String,
}

/// An attribute group (`/api/product_options`), e.g. Size.
#[derive(Debug, Clone, Deserialize)]
pub struct OptionRow {
    /// Id.
    #[serde(deserialize_with = "de::id")]
    pub id: u64,
    /// Name shown to buyers.
    #[serde(default, deserialize_with = "de::text")]
    pub public_name: String,
    /// Name in the back office.
    #[serde(default, deserialize_with = "de::text")]
    pub name: String,
}

/// A stock row (`/api/stock_availables`): one product (`id_product_attribute` 0) or
/// combination in one shop.
#[derive(Debug, Clone, Deserialize)]
pub struct StockAvailable {
    /// Id.
    #[serde(deserialize_with = "de::id")]
    pub id: u64,
    /// Product.
    #[serde(deserialize_with = "de::id")]
    pub id_product: u64,
    /// Combination (0: the product level).
    #[serde(deserialize_with = "de::id")]
    pub id_product_attribute: u64,
    /// Units available.
    #[serde(deserialize_with = "de::count")]
    pub quantity: i64,
}

/// A manufacturer (brand) or any `{id, name}` resource.
#[derive(Debug, Clone, Deserialize)]
pub struct NamedRow {
    /// Id.
    #[serde(deserialize_with = "de::id")]
    pub id: u64,
    /// Name.
    #[serde(default, deserialize_with = "de::text")]
    pub name: String,
}

/// A category.
#[derive(Debug, Clone, Deserialize)]
pub struct CategoryRow {
    /// Id.
    #[serde(deserialize_with = "de::id")]
    pub id: u64,
    /// Parent (0 above the root).
    #[serde(default, deserialize_with = "de::id")]
    pub id_parent: u64,
    /// Name.
    #[serde(default, deserialize_with = "de::text")]
    pub name: String,
}

/// A configuration value (`/api/configurations`).
#[derive(Debug, Clone, Deserialize)]
pub struct ConfigurationRow {
    /// Key (`PS_LANG_DEFAULT`).
    #[serde(default, deserialize_with = "de::text")]
    pub name: String,
    /// Value.
    #[serde(default, deserialize_with = "de::text")]
    pub value: String,
}

/// A currency.
#[derive(Debug, Clone, Deserialize)]
pub struct CurrencyRow {
    /// ISO 4217 code.
    #[serde(default, deserialize_with = "de::text")]
    pub iso_code: String,
}

/// A country.
#[derive(Debug, Clone, Deserialize)]
pub struct CountryRow {
    /// Id.
    #[serde(deserialize_with = "de::id")]
    pub id: u64,
    /// Addresses in it need a state.
    #[serde(default, deserialize_with = "de::flag")]
    pub contains_states: bool,
}

/// A state of a country.
#[derive(Debug, Clone, Deserialize)]
pub struct StateRow {
    /// Id.
    #[serde(deserialize_with = "de::id")]
    pub id: u64,
    /// Code (`TX`).
    #[serde(default, deserialize_with = "de::text")]
    pub iso_code: String,
    /// Name (`Texas`).
    #[serde(default, deserialize_with = "de::text")]
    pub name: String,
}

/// A carrier.
#[derive(Debug, Clone, Deserialize)]
pub struct CarrierRow {
    /// Id.
    #[serde(deserialize_with = "de::id")]
    pub id: u64,
    /// Name.
    #[serde(default, deserialize_with = "de::text")]
    pub name: String,
    /// Charges no shipping.
    #[serde(default, deserialize_with = "de::flag")]
    pub is_free: bool,
    /// Offered.
    #[serde(default, deserialize_with = "de::flag")]
    pub active: bool,
    /// Deleted (kept for old orders).
    #[serde(default, deserialize_with = "de::flag")]
    pub deleted: bool,
}

/// Any created or found resource, by id.
#[derive(Debug, Clone, Deserialize)]
pub struct IdRow {
    /// Id.
    #[serde(deserialize_with = "de::id")]
    pub id: u64,
}

/// A specific price (`/api/specific_prices`) bound to a cart.
#[derive(Debug, Clone, Deserialize)]
pub struct SpecificPriceRow {
    /// Product.
    #[serde(deserialize_with = "de::id")]
    pub id_product: u64,
    /// Combination (0: any).
    #[serde(default, deserialize_with = "de::id")]
    pub id_product_attribute: u64,
}

/// A line of an order (`associations.order_rows`).
#[derive(Debug, Clone, Deserialize)]
pub struct OrderRow {
    /// Product.
    #[serde(deserialize_with = "de::id")]
    pub product_id: u64,
    /// Combination (0: none).
    #[serde(default, deserialize_with = "de::id")]
    pub product_attribute_id: u64,
    /// Units.
    #[serde(default, deserialize_with = "de::id")]
    pub product_quantity: u64,
}

/// An order's associations.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OrderAssociations {
    /// Its lines.
    #[serde(default)]
    pub order_rows: Vec<OrderRow>,
}

/// An order (`/api/orders`, `display=full`).
#[derive(Debug, Clone, Deserialize)]
pub struct PsOrder {
    /// Id.
    #[serde(deserialize_with = "de::id")]
    pub id: u64,
    /// The cart it was placed from.
    #[serde(default, deserialize_with = "de::id")]
    pub id_cart: u64,
    /// Its customer.
    #[serde(default, deserialize_with = "de::id")]
    pub id_customer: u64,
    /// Its order state.
    #[serde(default, deserialize_with = "de::id")]
    pub current_state: u64,
    /// Merchant-only note (where the TikTok order id is kept).
    #[serde(default, deserialize_with = "de::text")]
    pub note: String,
    /// Total paid with tax.
    #[serde(default, deserialize_with = "de::decimal")]
    pub total_paid_tax_incl: Decimal,
    /// Last change.
    #[serde(default, deserialize_with = "de::text")]
    pub date_upd: String,
    /// Associations.
    #[serde(default)]
    pub associations: OrderAssociations,
}

/// An order state (`/api/order_states`, one `language`).
#[derive(Debug, Clone, Deserialize)]
pub struct OrderStateRow {
    /// Id (it varies per install).
    #[serde(deserialize_with = "de::id")]
    pub id: u64,
    /// Name.
    #[serde(default, deserialize_with = "de::text")]
    pub name: String,
    /// Counts as paid.
    #[serde(default, deserialize_with = "de::flag")]
    pub paid: bool,
    /// Counts as shipped.
    #[serde(default, deserialize_with = "de::flag")]
    pub shipped: bool,
}

/// An order's carrier line (`/api/order_carriers`).
#[derive(Debug, Clone, Deserialize)]
pub struct OrderCarrierRow {
    /// Id.
    #[serde(deserialize_with = "de::id")]
    pub id: u64,
    /// Its order.
    #[serde(default, deserialize_with = "de::id")]
    pub id_order: u64,
    /// Carrier.
    #[serde(default, deserialize_with = "de::id")]
    pub id_carrier: u64,
    /// Tracking number (empty until shipped).
    #[serde(default, deserialize_with = "de::text")]
    pub tracking_number: String,
}

/// A row of an order's state history (`/api/order_histories`).
#[derive(Debug, Clone, Deserialize)]
pub struct OrderHistoryRow {
    /// Id.
    #[serde(deserialize_with = "de::id")]
    pub id: u64,
    /// The state the order moved to.
    #[serde(default, deserialize_with = "de::id")]
    pub id_order_state: u64,
}

/// A credit slip (`/api/order_slip`): a refund recorded on an order.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderSlipRow {
    /// Id.
    #[serde(deserialize_with = "de::id")]
    pub id: u64,
    /// Products refunded, with tax.
    #[serde(default, deserialize_with = "de::decimal")]
    pub total_products_tax_incl: Decimal,
    /// Shipping refunded, with tax.
    #[serde(default, deserialize_with = "de::decimal")]
    pub total_shipping_tax_incl: Decimal,
}
