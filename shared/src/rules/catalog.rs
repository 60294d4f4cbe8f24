//! Pure catalogue rules: which profile a product falls under, what price and stock it
//! gets on TikTok, and what listing request it becomes, with every reason it cannot
//! be listed. No I/O.

use std::collections::{HashMap, HashSet};

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::gtin::GtinRule;
use crate::store::{InventoryTracking, Product, Units, Variant};
use crate::tiktok::model::{
    Attribute, CategoryRules, Dimensions, ImageRef, ProductAttribute, ProductAttributeValue, ProductRequest,
    SalesAttribute, SkuRequest, WarehouseStock, Weight,
};
use crate::tiktok::types::{Amount, Id, Price};

/// A product field a rule looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "name")]
pub enum Field {
    /// Product name.
    Title,
    /// Product or any variant SKU.
    Sku,
    /// Brand id.
    Brand,
    /// Any category id.
    Category,
    /// Price.
    Price,
    /// Stock.
    Quantity,
    /// A custom field by name.
    CustomField(String),
}

/// How a rule compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// Equal (case-insensitive for text).
    Equals,
    /// Not equal.
    NotEquals,
    /// Contains (text).
    Contains,
    /// Does not contain.
    DoesNotContain,
    /// Greater than (numbers).
    Greater,
    /// Less than (numbers).
    Less,
}

/// One condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// What it looks at.
    pub field: Field,
    /// How it compares.
    pub operator: Operator,
    /// With what.
    pub value: String,
}

/// Whether any or all rules must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Match {
    /// At least one.
    Any,
    /// Every one.
    All,
}

/// What a store change may change on TikTok (the per-field sync rules). Manual
/// uploads and syncs always send everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyncFields {
    /// Title.
    pub title: bool,
    /// Description.
    pub description: bool,
    /// Images.
    pub images: bool,
    /// Package weight and dimensions.
    pub weight: bool,
    /// Prices.
    pub price: bool,
    /// Barcodes (UPC/EAN).
    pub barcode: bool,
    /// Stock.
    pub stock: bool,
}

impl Default for SyncFields {
    fn default() -> Self {
        Self {
            title: true,
            description: true,
            images: true,
            weight: true,
            price: true,
            barcode: true,
            stock: true,
        }
    }
}

impl SyncFields {
    /// Whether a store change may change everything.
    pub fn all(&self) -> bool {
        *self == Self::default()
    }

    /// The edit a store change may send (for Partial Edit Product, which keeps what
    /// is left out). SKUs carry price, barcode and stock together, so they are sent
    /// only when all three may change.
    pub fn restrict(&self, mut request: ProductRequest) -> ProductRequest {
        if !self.title {
            request.title = None;
        }
        if !self.description {
            request.description = None;
        }
        if !self.images {
            request.main_images = None;
        }
        if !self.weight {
            request.package_weight = None;
            request.package_dimensions = None;
        }
        if !self.sends_skus() {
            request.skus = None;
        }
        request
    }

    /// Whether a store change's edit carries SKUs (and with them prices).
    pub fn sends_skus(&self) -> bool {
        self.price && self.barcode && self.stock
    }
}

/// What the merchant changed for one product only, over its store data and profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Overrides {
    /// Title on TikTok.
    pub title: Option<String>,
    /// Description (HTML) on TikTok.
    pub description: Option<String>,
    /// TikTok brand.
    pub brand_id: Option<String>,
    /// TikTok leaf category.
    pub category_id: Option<String>,
    /// Attribute values; they replace the profile's for the same attribute.
    pub attributes: Vec<AttributeMapping>,
    /// Keep this product's stock on TikTok as it is (no stock sync).
    pub exclude_from_stock_sync: bool,
}

impl Overrides {
    /// The product and profile as this product lists: the overrides laid over them.
    pub fn apply(&self, product: &Product, profile: &Profile) -> (Product, Profile) {
        let (mut product, mut profile) = (product.clone(), profile.clone());
        if let Some(title) = &self.title {
            product.name = title.clone();
        }
        if let Some(description) = &self.description {
            product.description = description.clone();
        }
        if let Some(brand_id) = &self.brand_id {
            profile.brand_id = Some(brand_id.clone());
            profile.brand_map.clear();
        }
        if let Some(category_id) = &self.category_id {
            profile.category_id = category_id.clone();
        }
        for mapping in &self.attributes {
            profile.attributes.retain(|m| m.attribute_id != mapping.attribute_id);
            profile.attributes.push(mapping.clone());
        }
        (product, profile)
    }
}

/// A further group of rules of a profile, with its own any/all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleGroup {
    /// Any or all rules of the group.
    pub matching: Match,
    /// The rules.
    pub rules: Vec<Rule>,
}

fn selects(matching: Match, rules: &[Rule], product: &Product) -> bool {
    match matching {
        Match::Any => rules.iter().any(|r| r.holds(product)),
        Match::All => rules.iter().all(|r| r.holds(product)),
    }
}

/// Where a TikTok attribute's value comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Source {
    /// A fixed value.
    Fixed(String),
    /// A custom field of the product.
    CustomField(String),
    /// A variant option (sales attributes).
    Option(String),
    /// The brand name.
    Brand,
    /// A standard field of the store product.
    StoreField(StoreField),
}

/// Standard store product fields an attribute can take its value from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreField {
    /// Product name.
    Name,
    /// Product SKU.
    Sku,
    /// Barcode (UPC/EAN).
    Upc,
    /// Weight, in the store's unit.
    Weight,
}

impl StoreField {
    fn value(self, product: &Product) -> Option<String> {
        match self {
            StoreField::Name => Some(product.name.clone()),
            StoreField::Sku => Some(product.sku.clone()).filter(|s| !s.is_empty()),
            StoreField::Upc => product.upc.clone().filter(|u| !u.is_empty()),
            StoreField::Weight => product.weight.map(|w| w.normalize().to_string()),
        }
    }
}

/// An attribute mapping of a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeMapping {
    /// TikTok attribute id.
    pub attribute_id: String,
    /// Where its value comes from.
    pub source: Source,
}

/// How prices change on the way to TikTok. Every value has at most
/// [`ADJUSTMENT_DECIMALS`] decimals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Adjustment {
    /// Unchanged.
    None,
    /// Plus a percentage (negative lowers): from -99 to 1000 percent.
    Percent(Decimal),
    /// Plus an amount in the shop's currency (negative lowers): from -100000 to 100000.
    Fixed(Decimal),
    /// Times a factor: from 0.01 to 100.
    Multiply(Decimal),
}

/// Most decimals an [`Adjustment`] value may have.
pub const ADJUSTMENT_DECIMALS: u32 = 4;

/// A setting the merchant chose (or one stored before settings were checked) that is
/// outside what the connector can apply. `field` is the setting's path in the settings
/// or profile JSON (`inventory.reserve`, `price_rule.adjustment`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// A number outside its range.
    #[error("{field} must be between {min} and {max}{unit}")]
    OutOfRange {
        /// The setting's path.
        field: String,
        /// Smallest allowed value.
        min: Decimal,
        /// Largest allowed value.
        max: Decimal,
        /// What the numbers count, with a leading space (` units`), or empty.
        unit: &'static str,
    },
    /// A value breaking a rule other than a range.
    #[error("{field}: {rule}")]
    Invalid {
        /// The setting's path.
        field: String,
        /// What the value must be, in words (`takes up to 10 letters, digits, - or _`).
        rule: String,
    },
}

/// `Ok` when `value` is within `min..=max`, else [`SettingError::OutOfRange`] naming `field`.
pub fn within(
    field: &str,
    value: impl Into<Decimal>,
    min: impl Into<Decimal>,
    max: impl Into<Decimal>,
    unit: &'static str,
) -> Result<(), SettingError> {
    let (min, max) = (min.into(), max.into());
    if (min..=max).contains(&value.into()) {
        return Ok(());
    }
    Err(SettingError::OutOfRange {
        field: field.to_string(),
        min,
        max,
        unit,
    })
}

impl Adjustment {
    /// Checks the value against its range and [`ADJUSTMENT_DECIMALS`]; errors name `field`.
    pub fn validate(&self, field: &str) -> Result<(), SettingError> {
        let (value, min, max, unit) = match *self {
            Adjustment::None => return Ok(()),
            Adjustment::Percent(percent) => (percent, Decimal::from(-99), Decimal::from(1000), " percent"),
            Adjustment::Fixed(amount) => (amount, Decimal::from(-100_000), Decimal::from(100_000), ""),
            Adjustment::Multiply(factor) => (factor, Decimal::new(1, 2), Decimal::from(100), ""),
        };
        within(field, value, min, max, unit)?;
        if value.normalize().scale() > ADJUSTMENT_DECIMALS {
            return Err(SettingError::Invalid {
                field: field.to_string(),
                rule: format!("takes at most {ADJUSTMENT_DECIMALS} decimals"),
            });
        }
        Ok(())
    }
}

/// How the result is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// To the cent.
    Cents,
    /// Up to the next .99.
    EndIn99,
    /// Up to a whole amount.
    Whole,
}

/// A price rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PriceRule {
    /// The change.
    pub adjustment: Adjustment,
    /// The rounding.
    pub rounding: Rounding,
}

impl Default for PriceRule {
    fn default() -> Self {
        Self {
            adjustment: Adjustment::None,
            rounding: Rounding::Cents,
        }
    }
}

/// A store price a price rule cannot turn into a TikTok price.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The price rule cannot price {store_price} (at rate {rate}): the result is beyond any price.")]
pub struct PriceError {
    /// The store price, in the store's currency.
    pub store_price: Decimal,
    /// The store → shop currency rate it was converted at.
    pub rate: Decimal,
}

impl PriceRule {
    /// The TikTok price of a store price, after the currency `rate` (1 when equal).
    ///
    /// Errors: [`PriceError`] when a step overflows `Decimal` (an absurd price, rate
    /// or adjustment, e.g. one stored before profiles were checked).
    pub fn apply(&self, store_price: Decimal, rate: Decimal) -> Result<Decimal, PriceError> {
        let adjusted = store_price
            .checked_mul(rate)
            .and_then(|converted| match self.adjustment {
                Adjustment::None => Some(converted),
                Adjustment::Percent(percent) => converted
                    .checked_mul(percent)
                    .and_then(|change| change.checked_div(Decimal::from(100)))
                    .and_then(|change| converted.checked_add(change)),
                Adjustment::Fixed(amount) => converted.checked_add(amount),
                Adjustment::Multiply(factor) => converted.checked_mul(factor),
            });
        let rounded = adjusted.and_then(|adjusted| match self.rounding {
            Rounding::Cents => Some(adjusted.round_dp(2)),
            Rounding::Whole => Some(adjusted.ceil()),
            Rounding::EndIn99 => adjusted.floor().checked_add(Decimal::new(99, 2)),
        });
        rounded.ok_or(PriceError { store_price, rate })
    }

    /// Checks the adjustment (see [`Adjustment`] for the ranges); errors name
    /// `price_rule.adjustment`.
    pub fn validate(&self) -> Result<(), SettingError> {
        self.adjustment.validate("price_rule.adjustment")
    }
}

/// A profile: which products it covers and how they list on TikTok.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Higher wins when several match.
    pub priority: i32,
    /// The default profile matches everything no other profile matches.
    pub is_default: bool,
    /// Any or all rules.
    pub matching: Match,
    /// The rules.
    pub rules: Vec<Rule>,
    /// Further rule groups: the profile covers a product when its rules or any group
    /// selects it (e.g. "brand is Acme and price > 20" or "title contains sample").
    #[serde(default)]
    pub groups: Vec<RuleGroup>,
    /// TikTok leaf category.
    pub category_id: String,
    /// Attribute values.
    pub attributes: Vec<AttributeMapping>,
    /// TikTok brand for every product of the profile (unless the brand map has the
    /// product's store brand).
    pub brand_id: Option<String>,
    /// Store brand id → TikTok brand id.
    #[serde(default)]
    pub brand_map: Vec<(String, String)>,
    /// Price rule.
    pub price_rule: PriceRule,
    /// Size chart image uri (categories that require one).
    pub size_chart_uri: Option<String>,
    /// Certification id and uploaded image uris.
    pub certifications: Vec<(String, Vec<String>)>,
    /// Certification documents (PDF) uploaded to TikTok.
    #[serde(default)]
    pub certification_files: Vec<CertificationFile>,
    /// The inventory policy of this profile's products, over the store's (none: the
    /// store's applies).
    #[serde(default)]
    pub inventory: Option<InventoryPolicy>,
}

/// A certification document uploaded to TikTok (Upload File).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificationFile {
    /// Certification id from the category rules.
    pub certification_id: String,
    /// TikTok file id.
    pub id: String,
    /// File name.
    pub name: String,
}

impl Profile {
    /// The certifications a listing carries: every id with its images and documents.
    fn certifications_payload(&self) -> Vec<serde_json::Value> {
        let mut ids: Vec<&str> = self.certifications.iter().map(|(id, _)| id.as_str()).collect();
        ids.extend(self.certification_files.iter().map(|f| f.certification_id.as_str()));
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .map(|id| {
                let images: Vec<serde_json::Value> = self
                    .certifications
                    .iter()
                    .filter(|(c, _)| c == id)
                    .flat_map(|(_, uris)| uris.iter().map(|uri| serde_json::json!({ "uri": uri })))
                    .collect();
                let files: Vec<serde_json::Value> = self
                    .certification_files
                    .iter()
                    .filter(|f| f.certification_id == id)
                    .map(|f| serde_json::json!({"id": f.id, "name": f.name, "format": "PDF"}))
                    .collect();
                serde_json::json!({"id": id, "images": images, "files": files})
            })
            .collect()
    }

    /// Whether the profile holds an image or a document for a certification.
    fn has_certification(&self, certification_id: &str) -> bool {
        self.certifications
            .iter()
            .any(|(id, uris)| id == certification_id && !uris.is_empty())
            || self
                .certification_files
                .iter()
                .any(|f| f.certification_id == certification_id)
    }
}

fn text_of<'a>(product: &'a Product, field: &Field) -> Vec<&'a str> {
    match field {
        Field::Title => vec![product.name.as_str()],
        Field::Sku => std::iter::once(product.sku.as_str())
            .chain(product.variants.iter().map(|v| v.sku.as_str()))
            .collect(),
        Field::Brand => product.brand_id.as_deref().into_iter().collect(),
        Field::Category => product.categories.iter().map(String::as_str).collect(),
        Field::CustomField(name) => product
            .custom_fields
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect(),
        Field::Price | Field::Quantity => Vec::new(),
    }
}

fn number_of(product: &Product, field: &Field) -> Option<Decimal> {
    match field {
        Field::Price => Some(product.price),
        Field::Quantity => Some(Decimal::from(total_stock(product))),
        _ => None,
    }
}

/// Stock of the whole product (sum of variants when tracked per variant, saturating
/// at the bounds of `i64`).
pub fn total_stock(product: &Product) -> i64 {
    match product.inventory_tracking {
        InventoryTracking::Variant => product
            .variants
            .iter()
            .filter_map(|v| v.inventory_level)
            .fold(0, i64::saturating_add),
        _ => product.inventory_level,
    }
}

impl Rule {
    /// Whether the rule holds for `product`.
    pub fn holds(&self, product: &Product) -> bool {
        if let Some(number) = number_of(product, &self.field) {
            let Ok(value) = self.value.trim().parse::<Decimal>() else {
                return false;
            };
            return match self.operator {
                Operator::Equals => number == value,
                Operator::NotEquals => number != value,
                Operator::Greater => number > value,
                Operator::Less => number < value,
                Operator::Contains | Operator::DoesNotContain => false,
            };
        }
        let wanted = self.value.to_lowercase();
        let texts: Vec<String> = text_of(product, &self.field)
            .into_iter()
            .map(str::to_lowercase)
            .collect();
        match self.operator {
            Operator::Equals => texts.contains(&wanted),
            Operator::NotEquals => !texts.contains(&wanted),
            Operator::Contains => texts.iter().any(|t| t.contains(&wanted)),
            Operator::DoesNotContain => !texts.iter().any(|t| t.contains(&wanted)),
            Operator::Greater | Operator::Less => false,
        }
    }
}

impl Profile {
    /// The TikTok brand of a product: its store brand's mapping, else the profile's.
    pub fn tiktok_brand<'a>(&'a self, product: &Product) -> Option<&'a str> {
        self.brand_map
            .iter()
            .find(|(store_brand, _)| product.brand_id.as_deref() == Some(store_brand.as_str()))
            .map(|(_, tiktok_brand)| tiktok_brand.as_str())
            .or(self.brand_id.as_deref())
    }

    /// Checks what the merchant chose: the price rule (see [`Adjustment`]), the
    /// inventory policy when the profile has its own, at most
    /// [`MAX_RULES`] rules in each of at most [`MAX_RULES`] groups, each rule value at
    /// most [`MAX_RULE_VALUE`] characters and a number for price and quantity rules.
    /// Errors name the field (`groups[1].rules[0].value`).
    pub fn validate(&self) -> Result<(), SettingError> {
        self.price_rule.validate()?;
        if let Some(policy) = &self.inventory {
            policy.validate()?;
        }
        within("groups", self.groups.len() as u64, 0, MAX_RULES as u64, " groups")?;
        let groups = std::iter::once(("rules".to_string(), &self.rules)).chain(
            self.groups
                .iter()
                .enumerate()
                .map(|(i, g)| (format!("groups[{i}].rules"), &g.rules)),
        );
        for (path, rules) in groups {
            within(&path, rules.len() as u64, 0, MAX_RULES as u64, " rules")?;
            for (i, rule) in rules.iter().enumerate() {
                let field = format!("{path}[{i}].value");
                within(
                    &field,
                    rule.value.chars().count() as u64,
                    0,
                    MAX_RULE_VALUE as u64,
                    " characters",
                )?;
                let numeric = matches!(rule.field, Field::Price | Field::Quantity);
                if numeric && rule.value.trim().parse::<Decimal>().is_err() {
                    let rule = "must be a number for price and quantity rules".to_string();
                    return Err(SettingError::Invalid { field, rule });
                }
            }
        }
        Ok(())
    }

    /// Whether the profile's rules select `product` (the default profile selects all).
    pub fn matches(&self, product: &Product) -> bool {
        let mut groups = std::iter::once((self.matching, self.rules.as_slice()))
            .chain(self.groups.iter().map(|g| (g.matching, g.rules.as_slice())))
            .filter(|(_, rules)| !rules.is_empty())
            .peekable();
        if groups.peek().is_none() {
            return self.is_default;
        }
        groups.any(|(matching, rules)| selects(matching, rules, product))
    }
}

/// Most rules in a profile's rule list or in one group, and most groups of a profile.
pub const MAX_RULES: usize = 50;

/// Longest rule value, in characters.
pub const MAX_RULE_VALUE: usize = 255;

/// The inventory policy of a product: its profile's own, else the store's.
pub fn policy_for(profiles: &[Profile], product: &Product, store_policy: InventoryPolicy) -> InventoryPolicy {
    profile_for(profiles, product)
        .and_then(|p| p.inventory)
        .unwrap_or(store_policy)
}

/// The profile for a product: the highest-priority matching profile, else the default.
pub fn profile_for<'a>(profiles: &'a [Profile], product: &Product) -> Option<&'a Profile> {
    profiles
        .iter()
        .filter(|p| !p.is_default && p.matches(product))
        .max_by_key(|p| p.priority)
        .or_else(|| profiles.iter().find(|p| p.is_default))
}

/// How stock is published. [`InventoryPolicy::validate`] checks the ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryPolicy {
    /// At or below this many store units, publish 0: from 0 to [`MAX_POLICY_UNITS`].
    pub threshold: i64,
    /// Units held back from TikTok: from 0 to [`MAX_POLICY_UNITS`].
    pub reserve: i64,
    /// Units published for untracked stock: from 0 to [`MAX_STOCK`].
    pub untracked_quantity: i64,
    /// At or below the threshold, deactivate the product on TikTok (and activate it
    /// again when stock returns) instead of publishing 0.
    #[serde(default)]
    pub deactivate_at_threshold: bool,
}

impl Default for InventoryPolicy {
    fn default() -> Self {
        Self {
            threshold: 0,
            reserve: 0,
            untracked_quantity: 99,
            deactivate_at_threshold: false,
        }
    }
}

/// Store units of a variant (`None` when the store does not track its stock).
pub fn available_units(product: &Product, variant: &Variant) -> Option<i64> {
    match product.inventory_tracking {
        InventoryTracking::None => None,
        InventoryTracking::Product => Some(product.inventory_level),
        InventoryTracking::Variant => Some(variant.inventory_level.unwrap_or(0)),
    }
}

/// Units a variant may sell (`None` when the store does not track its stock): what the
/// store's inventory API reports available to sell (`sellable`, by variant id: on hand
/// less safety stock, store-platforms §1.10), else its catalogue level. Stock sync and
/// the stock check both publish this, so they never disagree.
pub fn sellable_units(product: &Product, variant: &Variant, sellable: &HashMap<String, i64>) -> Option<i64> {
    available_units(product, variant).map(|catalogue| sellable.get(&variant.id).copied().unwrap_or(catalogue))
}

/// TikTok's highest stock value.
pub const MAX_STOCK: i64 = 99_999;

/// Largest threshold and reserve of an [`InventoryPolicy`], in units.
pub const MAX_POLICY_UNITS: i64 = 100_000;

impl InventoryPolicy {
    /// Checks every field against its range; the error names the first one outside
    /// (`inventory.reserve must be between 0 and 100000 units`).
    pub fn validate(&self) -> Result<(), SettingError> {
        within("inventory.threshold", self.threshold, 0, MAX_POLICY_UNITS, " units")?;
        within("inventory.reserve", self.reserve, 0, MAX_POLICY_UNITS, " units")?;
        within(
            "inventory.untracked_quantity",
            self.untracked_quantity,
            0,
            MAX_STOCK,
            " units",
        )
    }

    /// Whether a product with these per-SKU `available` units (`None` = untracked)
    /// is to be deactivated on TikTok: the policy says so and none is above the threshold.
    pub fn deactivates(&self, available: &[Option<i64>]) -> bool {
        self.deactivate_at_threshold
            && !available.is_empty()
            && available.iter().all(|a| a.is_some_and(|units| units <= self.threshold))
    }

    /// Units to publish for `available` store units (`None` = untracked), from 0 to
    /// [`MAX_STOCK`]. Total for any policy, even one [`InventoryPolicy::validate`]
    /// refuses: a negative reserve holds nothing back, so it never offers more than
    /// the store has.
    pub fn publish(&self, available: Option<i64>) -> u32 {
        let units = match available {
            None => self.untracked_quantity,
            Some(units) if units <= self.threshold => 0,
            Some(units) => units.saturating_sub(self.reserve.max(0)),
        };
        units.clamp(0, MAX_STOCK) as u32
    }
}

/// The stock of one SKU in every warehouse it is stocked in, as Update Inventory
/// must list them all (reference §6.6, `12019028` otherwise). `total` (what the
/// inventory policy publishes) is the most the SKU may offer: the warehouses other
/// than `target` (the shop's chosen warehouse, else the SKU's first) keep the
/// quantities TikTok holds in them (`held`, the SKU's `inventory[]` from Get Product)
/// while they fit in `total`, else they are lowered in order until they do; `target`
/// gets the rest. Empty `held` means the SKU is only in `target`.
pub fn spread_stock(total: u32, held: &[WarehouseStock], target: &Id) -> Vec<WarehouseStock> {
    let target = match held.first() {
        Some(first) if !held.iter().any(|w| &w.warehouse_id == target) => first.warehouse_id.clone(),
        _ => target.clone(),
    };
    let mut left = total;
    let others: Vec<WarehouseStock> = held
        .iter()
        .filter(|w| w.warehouse_id != target)
        .map(|w| {
            let kept = w.quantity.min(left);
            left -= kept;
            WarehouseStock {
                warehouse_id: w.warehouse_id.clone(),
                quantity: kept,
            }
        })
        .collect();
    std::iter::once(WarehouseStock {
        warehouse_id: target,
        quantity: left,
    })
    .chain(others)
    .collect()
}

/// Why a store image cannot be a TikTok main image (reference §6.3), in words the
/// merchant reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageProblem {
    /// Not a JPEG, PNG, WEBP, HEIC or BMP file whose header gives its size.
    #[error("The image is not a JPEG, PNG, WEBP, HEIC or BMP file TikTok can read.")]
    Unreadable,
    /// Over TikTok's file size limit.
    #[error("The image is {bytes} bytes; TikTok takes at most 10 MB.")]
    TooHeavy {
        /// File size in bytes.
        bytes: usize,
    },
    /// A side under the main image minimum.
    #[error("Main image is {width}×{height} px; TikTok needs at least 300×300.")]
    TooSmall {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
    },
    /// A side over the main image maximum.
    #[error("Main image is {width}×{height} px; TikTok takes at most 4000×4000.")]
    TooLarge {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
    },
}

/// Checks downloaded image bytes against TikTok's main image rules (reference §6.3:
/// at most 10 MB, 300×300 to 4000×4000 px) from the file's header; `Ok` with
/// (width, height) in pixels.
pub fn check_main_image(bytes: &[u8]) -> Result<(usize, usize), ImageProblem> {
    use imagesize::ImageType;
    if bytes.len() > limits::IMAGE_BYTES {
        return Err(ImageProblem::TooHeavy { bytes: bytes.len() });
    }
    let readable = matches!(
        imagesize::image_type(bytes),
        Ok(ImageType::Jpeg | ImageType::Png | ImageType::Webp | ImageType::Bmp | ImageType::Heif(_))
    );
    let size = imagesize::blob_size(bytes)
        .ok()
        .filter(|_| readable)
        .ok_or(ImageProblem::Unreadable)?;
    let (width, height) = (size.width, size.height);
    if width.min(height) < limits::MAIN_IMAGE_SIDES.0 {
        return Err(ImageProblem::TooSmall { width, height });
    }
    if width.max(height) > limits::MAIN_IMAGE_SIDES.1 {
        return Err(ImageProblem::TooLarge { width, height });
    }
    Ok((width, height))
}

/// What a listing needs from TikTok's side of a category.
pub struct CategorySpec<'a> {
    /// Attributes of the category.
    pub attributes: &'a [Attribute],
    /// Rules of the category.
    pub rules: &'a CategoryRules,
    /// `v2` for US shops.
    pub category_version: &'a str,
}

/// What the listing is built with, besides the product and profile.
pub struct ListingContext<'a> {
    /// The shop's currency.
    pub currency: &'a str,
    /// Store → shop rate (1 when the currencies match).
    pub rate: Decimal,
    /// Warehouse that holds the stock.
    pub warehouse_id: &'a str,
    /// The store's units.
    pub units: &'a Units,
    /// The shop's region (`US`, `GB`, …): which package units TikTok accepts.
    pub region: &'a str,
    /// Stock policy.
    pub inventory: InventoryPolicy,
    /// Uploaded image uris, in product image order.
    pub image_uris: &'a [String],
    /// TikTok SKU ids of variants already listed (edits keep them).
    pub known_skus: &'a [(String, String)],
    /// Where barcodes come from.
    pub gtin: GtinRule,
}

/// TikTok's listing limits (reference §6.4).
pub mod limits {
    /// Longest title.
    pub const TITLE: usize = 255;
    /// Longest description.
    pub const DESCRIPTION: usize = 10_000;
    /// Most main images.
    pub const IMAGES: usize = 9;
    /// Most SKUs.
    pub const SKUS: usize = 300;
    /// Most variant attributes.
    pub const SALES_ATTRIBUTES: usize = 3;
    /// Longest seller SKU.
    pub const SELLER_SKU: usize = 50;
    /// Largest image file, in bytes (10 MB, §6.3).
    pub const IMAGE_BYTES: usize = 10 * 1024 * 1024;
    /// Shortest and longest side of a main image, in pixels (§6.3).
    pub const MAIN_IMAGE_SIDES: (usize, usize) = (300, 4000);
}

/// Kilograms in one store weight unit (BigCommerce `weight_units`).
fn kilograms_per(unit: &str) -> Option<Decimal> {
    match unit.to_lowercase().as_str() {
        "ounces" | "oz" => Some(Decimal::new(28_349_523_125, 12)),
        "pounds" | "lbs" | "lb" => Some(KILOGRAMS_PER_POUND),
        "grams" | "g" => Some(Decimal::new(1, 3)),
        "kgs" | "kilograms" | "kg" => Some(Decimal::ONE),
        _ => None,
    }
}

/// Centimetres in one store dimension unit (BigCommerce `dimension_units`).
fn centimeters_per(unit: &str) -> Option<Decimal> {
    match unit.to_lowercase().as_str() {
        "inches" | "in" => Some(CENTIMETERS_PER_INCH),
        "centimeters" | "cm" => Some(Decimal::ONE),
        _ => None,
    }
}

const KILOGRAMS_PER_POUND: Decimal = Decimal::from_parts(45_359_237, 0, 0, false, 8);
const CENTIMETERS_PER_INCH: Decimal = Decimal::from_parts(254, 0, 0, false, 2);

/// Whether a package is declared in pounds and inches: only US shops accept them
/// (reference §6.4), and only a store that weighs in ounces or pounds uses them there.
/// Every other package is in kilograms and centimetres, which all regions accept, so
/// weight and dimensions always share one measurement system.
fn imperial_package(region: &str, units: &Units) -> bool {
    region == "US"
        && matches!(
            units.weight.to_lowercase().as_str(),
            "ounces" | "oz" | "pounds" | "lbs" | "lb"
        )
}

/// The package weight TikTok takes for a store weight in the shop's `region`:
/// `POUND` with at most 2 decimals or `KILOGRAM` with at most 3, rounded up so a
/// package is never declared lighter than it is; `None` without a positive weight.
fn weight_in(units: &Units, region: &str, value: Decimal) -> Option<Weight> {
    let kilograms = value.checked_mul(kilograms_per(&units.weight)?)?;
    let (unit, converted) = if imperial_package(region, units) {
        (
            "POUND",
            kilograms
                .checked_div(KILOGRAMS_PER_POUND)?
                .round_dp_with_strategy(2, RoundingStrategy::AwayFromZero),
        )
    } else {
        (
            "KILOGRAM",
            kilograms.round_dp_with_strategy(3, RoundingStrategy::AwayFromZero),
        )
    };
    (converted > Decimal::ZERO).then(|| Weight {
        value: converted.normalize().to_string(),
        unit: unit.into(),
    })
}

/// The package dimensions TikTok takes for store width, height and depth in the
/// shop's `region`: whole `INCH` or `CENTIMETER` (the weight's system), rounded up, at
/// least 1; `None` for a side too large to convert.
fn dimensions_in(units: &Units, region: &str, [width, height, depth]: [Decimal; 3]) -> Option<Dimensions> {
    let centimeters = centimeters_per(&units.dimension)?;
    let (unit, per_unit) = if imperial_package(region, units) {
        ("INCH", CENTIMETERS_PER_INCH)
    } else {
        ("CENTIMETER", Decimal::ONE)
    };
    let whole = |d: Decimal| {
        let converted = d.checked_mul(centimeters)?.checked_div(per_unit)?;
        Some(converted.ceil().max(Decimal::ONE).to_u64().unwrap_or(1).to_string())
    };
    Some(Dimensions {
        length: whole(depth)?,
        width: whole(width)?,
        height: whole(height)?,
        unit: unit.into(),
    })
}

/// The TikTok price of each mapped SKU ((store variant id, TikTok SKU id)) under the
/// profile's price rule and the shop's conversion `rate`.
///
/// Errors: the first SKU's [`PriceError`] when the rule cannot price it.
pub fn sku_prices(
    product: &Product,
    profile: &Profile,
    skus: &[(String, String)],
    currency: &str,
    rate: Decimal,
) -> Result<Vec<crate::tiktok::model::SkuPrice>, PriceError> {
    skus.iter()
        .filter_map(|(variant_id, sku_id)| {
            let variant = product.variants.iter().find(|v| &v.id == variant_id)?;
            let price = profile.price_rule.apply(variant_price(product, variant), rate);
            Some(price.map(|amount| crate::tiktok::model::SkuPrice {
                id: Id::from(sku_id.as_str()),
                price: Price {
                    amount: Amount(amount),
                    currency: currency.to_string(),
                },
            }))
        })
        .collect()
}

fn variant_price(product: &Product, variant: &Variant) -> Decimal {
    variant.price.unwrap_or(product.sale_price.unwrap_or(product.price))
}

/// The seller SKU TikTok gets for a variant (the variant's SKU, else a stable fallback).
pub fn seller_sku(product: &Product, variant: &Variant) -> String {
    if variant.sku.trim().is_empty() {
        format!("{}-{}", product.id, variant.id)
    } else {
        variant.sku.trim().to_string()
    }
}

/// Builds the TikTok listing of `product` under `profile`, or every reason it cannot be listed.
pub fn build_listing(
    product: &Product,
    profile: &Profile,
    spec: &CategorySpec<'_>,
    context: &ListingContext<'_>,
) -> Result<ProductRequest, Vec<String>> {
    let mut reasons = Vec::new();
    let title = product.name.trim();
    if title.is_empty() || title.chars().count() > limits::TITLE {
        reasons.push(format!(
            "The title must be 1 to {} characters (it has {}).",
            limits::TITLE,
            title.chars().count()
        ));
    }
    let description = if product.description.trim().is_empty() {
        format!("<p>{title}</p>")
    } else {
        product.description.clone()
    };
    if description.chars().count() > limits::DESCRIPTION {
        reasons.push(format!(
            "The description is longer than {} characters.",
            limits::DESCRIPTION
        ));
    }
    if product.images.is_empty() {
        reasons.push("The product has no image; TikTok needs at least one.".into());
    }
    let weight = product.weight.and_then(|w| weight_in(context.units, context.region, w));
    if weight.is_none() {
        reasons.push("The product has no weight; TikTok needs the package weight.".into());
    }
    let dimensions = product
        .dimensions
        .and_then(|d| dimensions_in(context.units, context.region, d));
    if spec.rules.package_dimension.is_required && dimensions.is_none() {
        reasons.push("This TikTok category needs package dimensions (width, height, depth).".into());
    }
    if spec.rules.size_chart.is_required && profile.size_chart_uri.is_none() {
        reasons.push("This TikTok category needs a size chart; add one to the profile.".into());
    }
    for certification in spec.rules.product_certifications.iter().filter(|c| c.is_required) {
        if !profile.has_certification(certification.id.as_str()) {
            reasons.push(format!(
                "This TikTok category needs the certification \"{}\"; add it to the profile.",
                certification.name
            ));
        }
    }
    let option_names: Vec<String> = {
        let mut names: Vec<String> = product
            .variants
            .iter()
            .flat_map(|v| v.option_values.iter().map(|o| o.option_name.clone()))
            .collect();
        names.dedup();
        names.into_iter().collect::<HashSet<_>>().into_iter().collect()
    };
    if option_names.len() > limits::SALES_ATTRIBUTES {
        reasons.push(format!(
            "The product has {} options; TikTok allows {}.",
            option_names.len(),
            limits::SALES_ATTRIBUTES
        ));
    }
    let sellable: Vec<&Variant> = product.variants.iter().filter(|v| !v.purchasing_disabled).collect();
    if sellable.is_empty() || sellable.len() > limits::SKUS {
        reasons.push(format!(
            "The product has {} sellable variants; TikTok takes 1 to {}.",
            sellable.len(),
            limits::SKUS
        ));
    }
    let mut seen_skus = HashSet::new();
    let mut seen_codes = HashSet::new();
    let mut skus = Vec::new();
    for variant in &sellable {
        let sku = seller_sku(product, variant);
        if sku.len() > limits::SELLER_SKU || sku.contains(' ') {
            reasons.push(format!(
                "The SKU \"{sku}\" must be at most {} characters without spaces.",
                limits::SELLER_SKU
            ));
        }
        if !seen_skus.insert(sku.clone()) {
            reasons.push(format!("The SKU \"{sku}\" is used by two variants."));
        }
        let price = match profile.price_rule.apply(variant_price(product, variant), context.rate) {
            Ok(price) if price > Decimal::ZERO => price,
            Ok(_) => {
                reasons.push(format!(
                    "The price of \"{sku}\" is not above zero after the price rule."
                ));
                Decimal::ZERO
            }
            Err(error) => {
                reasons.push(format!("The price of \"{sku}\": {error}"));
                Decimal::ZERO
            }
        };
        let available = available_units(product, variant);
        let known_sku = context
            .known_skus
            .iter()
            .find(|(v, _)| *v == variant.id)
            .map(|(_, sku)| Id::from(sku.as_str()));
        // A listed SKU keeps its stock out of the edit (TikTok leaves it unchanged):
        // Update Inventory sets it, with every warehouse the SKU is stocked in.
        let inventory = match known_sku {
            Some(_) => Vec::new(),
            None => vec![WarehouseStock {
                warehouse_id: Id::from(context.warehouse_id),
                quantity: context.inventory.publish(available),
            }],
        };
        let identifier_code = match context.gtin.code_of(product, variant) {
            Ok(code) => code,
            Err(reason) => {
                reasons.push(format!("SKU \"{sku}\": {reason}"));
                None
            }
        };
        if let Some(code) = &identifier_code
            && !seen_codes.insert(code.code.clone())
        {
            reasons.push(format!(
                "The barcode {} is used by two variants; TikTok needs one per SKU.",
                code.code
            ));
        }
        skus.push(SkuRequest {
            identifier_code,
            id: known_sku,
            seller_sku: sku,
            external_sku_id: Some(variant.id.clone()),
            sales_attributes: variant
                .option_values
                .iter()
                .map(|o| SalesAttribute {
                    id: None,
                    name: Some(o.option_name.clone()),
                    value_name: Some(o.label.clone()),
                    sku_img: None,
                })
                .collect(),
            price: Price {
                amount: Amount(price),
                currency: context.currency.to_string(),
            },
            inventory,
        });
    }
    let mut attributes = Vec::new();
    for attribute in spec.attributes.iter().filter(|a| a.kind == "PRODUCT_PROPERTY") {
        let mapped = profile
            .attributes
            .iter()
            .find(|m| m.attribute_id == attribute.id.as_str());
        let value = mapped.and_then(|m| match &m.source {
            Source::Fixed(value) => Some(value.clone()),
            Source::CustomField(name) => product
                .custom_fields
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone()),
            Source::Brand => product.brand_id.clone(),
            Source::StoreField(field) => field.value(product),
            Source::Option(_) => None,
        });
        match value {
            Some(value) => {
                let known = attribute.values.iter().find(|v| v.name.eq_ignore_ascii_case(&value));
                let value = match known {
                    Some(known) => ProductAttributeValue {
                        id: Some(known.id.clone()),
                        name: None,
                    },
                    None => ProductAttributeValue {
                        id: None,
                        name: Some(value),
                    },
                };
                attributes.push(ProductAttribute {
                    id: attribute.id.clone(),
                    values: vec![value],
                });
            }
            None if attribute.is_required => {
                reasons.push(format!(
                    "The required TikTok attribute \"{}\" has no value; map it in the profile.",
                    attribute.name
                ));
            }
            None => {}
        }
    }
    if !reasons.is_empty() {
        return Err(reasons);
    }
    let images: Vec<ImageRef> = context
        .image_uris
        .iter()
        .take(limits::IMAGES)
        .map(|uri| ImageRef { uri: uri.clone() })
        .collect();
    Ok(ProductRequest {
        title: Some(title.to_string()),
        description: Some(description),
        category_id: Some(Id::from(profile.category_id.as_str())),
        category_version: Some(spec.category_version.to_string()),
        brand_id: profile.tiktok_brand(product).map(Id::from),
        main_images: Some(images),
        skus: Some(skus),
        package_weight: weight,
        package_dimensions: dimensions,
        product_attributes: Some(attributes),
        size_chart: profile
            .size_chart_uri
            .as_ref()
            .map(|uri| serde_json::json!({"image": {"uri": uri}})),
        certifications: Some(profile.certifications_payload()).filter(|c| !c.is_empty()),
        external_product_id: Some(product.id.clone()),
        idempotency_key: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Image, OptionValue};
    use crate::tiktok::model::{AttributeValue, Requirement, SizeChartRule};

    fn product() -> Product {
        let variant = |id: &str, sku: &str, color: &str| Variant {
            id: id.into(),
            sku: sku.into(),
            price: None,
            inventory_level: Some(7),
            upc: None,
            gtin: None,
            option_values: vec![OptionValue {
                option_id: "11".into(),
                option_name: "Color".into(),
                value_id: "1".into(),
                label: color.into(),
            }],
            image_url: None,
            purchasing_disabled: false,
        };
        Product {
            id: "42".into(),
            name: "Cotton summer dress".into(),
            sku: "DRESS".into(),
            description: "<p>Light</p>".into(),
            price: "20.00".parse().unwrap(),
            sale_price: None,
            brand_id: Some("3".into()),
            categories: vec!["20".into()],
            weight: Some("16".parse().unwrap()),
            dimensions: Some(["10".parse().unwrap(), "2".parse().unwrap(), "8.5".parse().unwrap()]),
            inventory_tracking: InventoryTracking::Variant,
            inventory_level: 14,
            is_visible: true,
            upc: None,
            gtin: None,
            images: vec![Image {
                url: "https://x/1.jpg".into(),
                is_primary: true,
                sort_order: 0,
            }],
            custom_fields: vec![("Material".into(), "Cotton".into())],
            variants: vec![
                variant("1001", "DRESS-RED", "Red"),
                variant("1002", "DRESS-BLUE", "Blue"),
            ],
            date_modified: "2026-01-01T00:00:00+00:00".into(),
        }
    }

    fn profile(id: &str, priority: i32, rules: Vec<Rule>, matching: Match) -> Profile {
        Profile {
            id: id.into(),
            name: id.into(),
            priority,
            is_default: rules.is_empty(),
            matching,
            rules,
            groups: vec![],
            category_id: "600010".into(),
            attributes: vec![AttributeMapping {
                attribute_id: "100392".into(),
                source: Source::CustomField("material".into()),
            }],
            brand_id: None,
            brand_map: vec![],
            price_rule: PriceRule::default(),
            size_chart_uri: Some("tos-chart".into()),
            certifications: vec![],
            certification_files: vec![],
            inventory: None,
        }
    }

    fn rule(field: Field, operator: Operator, value: &str) -> Rule {
        Rule {
            field,
            operator,
            value: value.into(),
        }
    }

    #[test]
    fn rules_compare_text_numbers_and_custom_fields() {
        let p = product();
        assert!(rule(Field::Title, Operator::Contains, "SUMMER").holds(&p));
        assert!(rule(Field::Title, Operator::DoesNotContain, "winter").holds(&p));
        assert!(
            rule(Field::Sku, Operator::Equals, "dress-blue").holds(&p),
            "any variant SKU"
        );
        assert!(rule(Field::Brand, Operator::NotEquals, "4").holds(&p));
        assert!(rule(Field::Category, Operator::Equals, "20").holds(&p));
        assert!(rule(Field::Price, Operator::Greater, "19.99").holds(&p));
        assert!(!rule(Field::Price, Operator::Less, "20").holds(&p));
        assert!(rule(Field::Quantity, Operator::Equals, "14").holds(&p));
        assert!(rule(Field::CustomField("material".into()), Operator::Equals, "cotton").holds(&p));
        assert!(
            !rule(Field::Price, Operator::Greater, "abc").holds(&p),
            "a non-number never matches"
        );
    }

    #[test]
    fn a_profile_with_rule_groups_covers_what_any_group_selects() {
        let p = product();
        let mut grouped = profile(
            "grouped",
            1,
            vec![
                rule(Field::Title, Operator::Contains, "dress"),
                rule(Field::Price, Operator::Greater, "100"),
            ],
            Match::All,
        );
        assert!(!grouped.matches(&p), "the first group needs both rules");
        grouped.groups.push(RuleGroup {
            matching: Match::Any,
            rules: vec![
                rule(Field::Brand, Operator::Equals, "9"),
                rule(Field::CustomField("material".into()), Operator::Equals, "cotton"),
            ],
        });
        assert!(grouped.matches(&p), "the second group selects it");
        let mut only_groups = profile("only-groups", 1, vec![], Match::All);
        only_groups.is_default = false;
        only_groups.groups = grouped.groups.clone();
        assert!(only_groups.matches(&p), "groups alone select too");
        only_groups.groups[0].matching = Match::All;
        assert!(!only_groups.matches(&p), "all of the group's rules must hold");
    }

    #[test]
    fn a_profile_with_its_own_inventory_policy_governs_its_products_stock_and_is_checked() {
        let store = InventoryPolicy {
            threshold: 0,
            reserve: 0,
            untracked_quantity: 10,
            deactivate_at_threshold: false,
        };
        let own = InventoryPolicy { reserve: 3, ..store };
        let mut special = profile(
            "special",
            1,
            vec![rule(Field::Title, Operator::Contains, "summer")],
            Match::All,
        );
        special.inventory = Some(own);
        let profiles = vec![profile("default", 0, vec![], Match::All), special.clone()];
        let dress = product();
        assert_eq!(
            policy_for(&profiles, &dress, store),
            own,
            "the summer dress is the special profile's"
        );
        assert_eq!(policy_for(&profiles, &dress, store).publish(Some(10)), 7);
        let mut other = product();
        other.name = "Wool coat".into();
        assert_eq!(
            policy_for(&profiles, &other, store),
            store,
            "the default profile has none: the store's"
        );
        special.inventory = Some(InventoryPolicy { reserve: -1, ..store });
        assert_eq!(
            special.validate().unwrap_err().to_string(),
            "inventory.reserve must be between 0 and 100000 units"
        );
    }

    #[test]
    fn the_highest_priority_match_wins_and_the_default_catches_the_rest() {
        let profiles = vec![
            profile("default", 0, vec![], Match::All),
            profile(
                "dresses",
                5,
                vec![rule(Field::Title, Operator::Contains, "dress")],
                Match::All,
            ),
            profile(
                "cheap-dresses",
                9,
                vec![
                    rule(Field::Title, Operator::Contains, "dress"),
                    rule(Field::Price, Operator::Less, "10"),
                ],
                Match::All,
            ),
            profile(
                "either",
                7,
                vec![
                    rule(Field::Title, Operator::Contains, "shirt"),
                    rule(Field::Brand, Operator::Equals, "3"),
                ],
                Match::Any,
            ),
        ];
        assert_eq!(profile_for(&profiles, &product()).unwrap().id, "either");
        let mut other = product();
        other.name = "Mug".into();
        other.brand_id = None;
        assert_eq!(profile_for(&profiles, &other).unwrap().id, "default");
    }

    #[test]
    fn price_rules_convert_adjust_and_round() {
        let price: Decimal = "20.00".parse().unwrap();
        let rule = |adjustment, rounding| PriceRule { adjustment, rounding };
        assert_eq!(
            rule(Adjustment::Percent(Decimal::from(10)), Rounding::Cents).apply(price, Decimal::ONE),
            Ok("22.00".parse().unwrap())
        );
        assert_eq!(
            rule(Adjustment::Fixed("-2.5".parse().unwrap()), Rounding::Cents).apply(price, Decimal::ONE),
            Ok("17.50".parse().unwrap())
        );
        assert_eq!(
            rule(Adjustment::Multiply("1.5".parse().unwrap()), Rounding::EndIn99).apply(price, Decimal::ONE),
            Ok("30.99".parse().unwrap())
        );
        assert_eq!(
            rule(Adjustment::None, Rounding::Whole).apply(price, "0.79".parse().unwrap()),
            Ok("16".parse().unwrap())
        );
    }

    #[test]
    fn a_price_rule_beyond_any_price_is_an_error_not_a_panic() {
        let price: Decimal = "20.00".parse().unwrap();
        let rule = |adjustment, rounding| PriceRule { adjustment, rounding };
        let huge = Decimal::from_scientific("1e28").unwrap();
        for (adjustment, rounding) in [
            (Adjustment::Multiply(huge), Rounding::Cents),
            (Adjustment::Percent(huge), Rounding::Whole),
            (Adjustment::Fixed(Decimal::MAX), Rounding::EndIn99),
            (Adjustment::None, Rounding::EndIn99),
        ] {
            let rate = if adjustment == Adjustment::None {
                huge
            } else {
                Decimal::ONE
            };
            assert_eq!(
                rule(adjustment, rounding).apply(price, rate),
                Err(PriceError {
                    store_price: price,
                    rate
                }),
                "{adjustment:?} {rounding:?}"
            );
        }
        assert_eq!(
            rule(Adjustment::None, Rounding::EndIn99).apply(Decimal::MAX, Decimal::ONE),
            Err(PriceError {
                store_price: Decimal::MAX,
                rate: Decimal::ONE
            }),
            "the .99 cannot be added to the largest price"
        );
    }

    #[test]
    fn price_adjustments_have_ranges_and_few_decimals() {
        let check = |adjustment: Adjustment| {
            PriceRule {
                adjustment,
                rounding: Rounding::Cents,
            }
            .validate()
            .map_err(|e| e.to_string())
        };
        let d = |s: &str| Decimal::from_str_exact(s).unwrap();
        assert_eq!(check(Adjustment::Percent(d("-99"))), Ok(()));
        assert_eq!(check(Adjustment::Multiply(d("0.01"))), Ok(()));
        assert_eq!(check(Adjustment::Fixed(d("-2.5"))), Ok(()));
        assert_eq!(
            check(Adjustment::Multiply(Decimal::from_scientific("1e28").unwrap())),
            Err("price_rule.adjustment must be between 0.01 and 100".into())
        );
        assert_eq!(
            check(Adjustment::Multiply(d("-1"))),
            Err("price_rule.adjustment must be between 0.01 and 100".into())
        );
        assert_eq!(
            check(Adjustment::Percent(d("-150"))),
            Err("price_rule.adjustment must be between -99 and 1000 percent".into())
        );
        assert_eq!(
            check(Adjustment::Fixed(d("0.0000000000000000000000000001"))),
            Err("price_rule.adjustment: takes at most 4 decimals".into())
        );
    }

    #[test]
    fn a_profile_names_the_rule_that_is_out_of_range() {
        let mut checked = profile(
            "checked",
            1,
            vec![rule(Field::Price, Operator::Greater, "ten")],
            Match::All,
        );
        assert_eq!(
            checked.validate().unwrap_err().to_string(),
            "rules[0].value: must be a number for price and quantity rules"
        );
        checked.rules[0].value = "10".into();
        checked.groups.push(RuleGroup {
            matching: Match::Any,
            rules: vec![rule(Field::Title, Operator::Contains, &"x".repeat(MAX_RULE_VALUE + 1))],
        });
        assert_eq!(
            checked.validate().unwrap_err().to_string(),
            "groups[0].rules[0].value must be between 0 and 255 characters"
        );
        checked.groups.clear();
        assert_eq!(checked.validate(), Ok(()));
    }

    #[test]
    fn the_inventory_policy_never_oversells() {
        let policy = InventoryPolicy {
            threshold: 2,
            reserve: 1,
            untracked_quantity: 50,
            deactivate_at_threshold: false,
        };
        assert_eq!(policy.publish(Some(2)), 0, "at the threshold: out of stock");
        assert_eq!(policy.publish(Some(10)), 9, "buffer held back");
        assert_eq!(policy.publish(Some(-3)), 0);
        assert_eq!(policy.publish(None), 50);
        assert_eq!(policy.publish(Some(1_000_000)), 99_999);
        assert_eq!(policy.validate(), Ok(()));
        assert!(!policy.deactivates(&[Some(0)]), "only when the merchant asks for it");
        let deactivating = InventoryPolicy {
            deactivate_at_threshold: true,
            ..policy
        };
        assert!(deactivating.deactivates(&[Some(2), Some(0)]));
        assert!(!deactivating.deactivates(&[Some(2), Some(3)]), "one SKU still sells");
        assert!(!deactivating.deactivates(&[None]), "untracked stock never runs out");
    }

    #[test]
    fn a_policy_out_of_range_is_refused_by_name_and_still_publishes_safely() {
        let stored = InventoryPolicy {
            threshold: 0,
            reserve: i64::MIN,
            untracked_quantity: 50,
            deactivate_at_threshold: false,
        };
        assert_eq!(
            stored.validate().unwrap_err().to_string(),
            "inventory.reserve must be between 0 and 100000 units"
        );
        assert_eq!(stored.publish(Some(10)), 10, "a negative reserve holds nothing back");
        assert_eq!(stored.publish(Some(i64::MAX)), MAX_STOCK as u32);
        let extreme = InventoryPolicy {
            threshold: i64::MIN,
            reserve: i64::MAX,
            untracked_quantity: i64::MIN,
            deactivate_at_threshold: true,
        };
        assert_eq!(extreme.publish(Some(i64::MIN)), 0);
        assert_eq!(
            extreme.publish(Some(i64::MAX)),
            0,
            "a reserve above all stock publishes 0"
        );
        assert_eq!(extreme.publish(None), 0);
        assert_eq!(
            extreme.validate().unwrap_err().to_string(),
            "inventory.threshold must be between 0 and 100000 units"
        );
        let mut product = product();
        product.inventory_tracking = InventoryTracking::Variant;
        for variant in &mut product.variants {
            variant.inventory_level = Some(i64::MAX);
        }
        assert_eq!(total_stock(&product), i64::MAX, "the sum saturates");
    }

    fn spec_parts() -> (Vec<Attribute>, CategoryRules) {
        let material = Attribute {
            id: Id::from("100392"),
            name: "Material".into(),
            kind: "PRODUCT_PROPERTY".into(),
            is_required: true,
            is_customizable: true,
            is_multiple_selection: false,
            requirement_conditions: vec![],
            values: vec![AttributeValue {
                id: Id::from("1001533"),
                name: "Cotton".into(),
            }],
        };
        let rules = CategoryRules {
            size_chart: SizeChartRule {
                is_supported: true,
                is_required: true,
            },
            package_dimension: Requirement { is_required: true },
            ..CategoryRules::default()
        };
        (vec![material], rules)
    }

    /// Runs `build` with the test category (material, size chart, dimensions) and a
    /// US context in ounces and inches.
    fn with_listing_context<R>(
        known: &[(String, String)],
        build: impl FnOnce(&CategorySpec, &ListingContext) -> R,
    ) -> R {
        let (attributes, rules) = spec_parts();
        let spec = CategorySpec {
            attributes: &attributes,
            rules: &rules,
            category_version: "v2",
        };
        let units = Units {
            weight: "Ounces".into(),
            dimension: "Inches".into(),
        };
        let uris = vec!["tos-1".to_string()];
        let context = ListingContext {
            currency: "USD",
            rate: Decimal::ONE,
            warehouse_id: "w1",
            gtin: GtinRule::default(),
            units: &units,
            region: "US",
            inventory: InventoryPolicy::default(),
            image_uris: &uris,
            known_skus: known,
        };
        build(&spec, &context)
    }

    #[test]
    fn a_valid_product_becomes_a_listing_with_converted_units_and_mapped_values() {
        let known = vec![("1001".to_string(), "1729592969712207012".to_string())];
        let profile = profile("default", 0, vec![], Match::All);
        let listing = with_listing_context(&known, |spec, context| {
            build_listing(&product(), &profile, spec, context)
        })
        .unwrap();
        assert_eq!(
            listing.package_weight.unwrap(),
            Weight {
                value: "1".into(),
                unit: "POUND".into()
            },
            "16 oz = 1 lb"
        );
        assert_eq!(
            listing.package_dimensions.unwrap().length,
            "9",
            "whole units, rounded up"
        );
        let skus = listing.skus.unwrap();
        assert_eq!(
            skus[0].id.as_ref().unwrap().as_str(),
            "1729592969712207012",
            "known SKUs keep their TikTok id"
        );
        assert!(skus[1].id.is_none());
        assert!(
            skus[0].inventory.is_empty(),
            "a listed SKU's stock goes through Update Inventory"
        );
        assert_eq!(skus[1].inventory[0].quantity, 7);
        assert_eq!(
            listing.product_attributes.unwrap()[0].values[0]
                .id
                .as_ref()
                .unwrap()
                .as_str(),
            "1001533",
            "mapped to TikTok's value id"
        );
    }

    #[test]
    fn barcodes_come_from_the_chosen_field_are_checked_and_an_exemption_sends_none() {
        let profile = profile("default", 0, vec![], Match::All);
        let build = |product: &Product, gtin: GtinRule| {
            with_listing_context(&[], |spec, context| {
                let context = ListingContext { gtin, ..*context };
                build_listing(product, &profile, spec, &context)
            })
        };
        let codes = |listing: ProductRequest| -> Vec<Option<String>> {
            listing
                .skus
                .unwrap()
                .into_iter()
                .map(|s| s.identifier_code.map(|c| format!("{} {}", c.kind, c.code)))
                .collect()
        };
        let upc = GtinRule {
            source: super::super::gtin::GtinSource::Upc,
            exempt: false,
        };
        let mut dress = product();
        dress.variants[0].upc = Some("036000291452".into());
        dress.variants[1].upc = Some("036000291453".into());
        let refused = build(&dress, upc).unwrap_err();
        assert!(refused.iter().any(|r| r.contains("wrong check digit")), "{refused:?}");
        dress.variants[1].upc = Some("4006381333931".into());
        assert_eq!(
            codes(build(&dress, upc).unwrap()),
            vec![Some("UPC 036000291452".into()), Some("EAN 4006381333931".into())]
        );
        let exempt = GtinRule { exempt: true, ..upc };
        assert_eq!(codes(build(&dress, exempt).unwrap()), vec![None, None]);
        assert_eq!(codes(build(&dress, GtinRule::default()).unwrap()), vec![None, None]);
        // The product's code, when the variants have none, would list twice: refused.
        let gtin = GtinRule {
            source: super::super::gtin::GtinSource::Gtin,
            exempt: false,
        };
        dress.gtin = Some("10036000291459".into());
        let refused = build(&dress, gtin).unwrap_err();
        assert!(
            refused.iter().any(|r| r.contains("used by two variants")),
            "{refused:?}"
        );
    }

    #[test]
    fn package_units_follow_the_shop_region_in_one_measurement_system() {
        let package = |weight: &str, dimension: &str, region: &str| {
            let units = Units {
                weight: weight.into(),
                dimension: dimension.into(),
            };
            let weight = weight_in(&units, region, Decimal::from(16)).unwrap();
            let dimensions =
                dimensions_in(&units, region, [Decimal::from(10), Decimal::ONE, Decimal::new(25, 1)]).unwrap();
            (
                weight.value,
                weight.unit,
                dimensions.width,
                dimensions.height,
                dimensions.length,
                dimensions.unit,
            )
        };
        let text = |values: [&str; 6]| values.map(String::from).into();
        assert_eq!(
            package("Ounces", "Inches", "GB"),
            text(["0.454", "KILOGRAM", "26", "3", "7", "CENTIMETER"]),
            "16 oz = 0.45359 kg, rounded up; 10 in = 25.4 cm, 1 in = 2.54 cm, 2.5 in = 6.35 cm, all rounded up"
        );
        assert_eq!(
            package("Ounces", "Centimeters", "US"),
            text(["1", "POUND", "4", "1", "1", "INCH"]),
            "a US store weighing in ounces declares pounds and inches: 10 cm = 3.94 in"
        );
        assert_eq!(
            package("Grams", "Inches", "US"),
            text(["0.016", "KILOGRAM", "26", "3", "7", "CENTIMETER"]),
            "a US store weighing in grams declares kilograms and centimetres"
        );
        assert_eq!(
            package("KGS", "Centimeters", "JP"),
            text(["16", "KILOGRAM", "10", "1", "3", "CENTIMETER"])
        );
    }

    #[test]
    fn stock_spreads_over_every_warehouse_without_exceeding_the_policy() {
        let stock = |id: &str, quantity: u32| WarehouseStock {
            warehouse_id: Id::from(id),
            quantity,
        };
        let chosen = Id::from("w1");
        assert_eq!(
            spread_stock(15, &[], &chosen),
            [stock("w1", 15)],
            "a SKU in one warehouse"
        );
        let held = [stock("w1", 3), stock("w2", 4), stock("w3", 6)];
        assert_eq!(
            spread_stock(15, &held, &chosen),
            [stock("w1", 5), stock("w2", 4), stock("w3", 6)],
            "the others keep what they hold; the chosen one gets the rest"
        );
        assert_eq!(
            spread_stock(7, &held, &chosen),
            [stock("w1", 0), stock("w2", 4), stock("w3", 3)],
            "the others are lowered so the total stays at 7"
        );
        assert_eq!(
            spread_stock(9, &[stock("w2", 4), stock("w3", 1)], &chosen),
            [stock("w2", 8), stock("w3", 1)],
            "a SKU not in the chosen warehouse gets its stock in its first one"
        );
    }

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(png::ColorType::Grayscale);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&vec![0; (width * height) as usize]).unwrap();
        writer.finish().unwrap();
        bytes
    }

    #[test]
    fn main_images_are_checked_from_their_header() {
        assert_eq!(check_main_image(&png(800, 300)), Ok((800, 300)));
        let small = check_main_image(&png(80, 80)).unwrap_err();
        assert_eq!(
            small.to_string(),
            "Main image is 80×80 px; TikTok needs at least 300×300."
        );
        assert_eq!(
            check_main_image(&png(4001, 300)),
            Err(ImageProblem::TooLarge {
                width: 4001,
                height: 300
            })
        );
        assert_eq!(
            check_main_image(b"<html>not found</html>"),
            Err(ImageProblem::Unreadable)
        );
        let mut heavy = png(800, 800);
        heavy.resize(limits::IMAGE_BYTES + 1, 0);
        assert_eq!(
            check_main_image(&heavy),
            Err(ImageProblem::TooHeavy {
                bytes: limits::IMAGE_BYTES + 1
            })
        );
    }

    #[test]
    fn brands_map_per_store_brand_and_attributes_read_store_fields() {
        let build = |product: &Product, profile: &Profile| {
            with_listing_context(&[], |spec, context| build_listing(product, profile, spec, context)).unwrap()
        };
        let mut product = product();
        product.brand_id = Some("7".into());
        product.upc = Some("0123456789012".into());
        let mut mapped = profile("default", 0, vec![], Match::All);
        mapped.brand_id = Some("tt-house-brand".into());
        mapped.brand_map = vec![("7".into(), "tt-acme".into())];
        mapped.attributes = vec![AttributeMapping {
            attribute_id: "100392".into(),
            source: Source::StoreField(StoreField::Upc),
        }];
        let listing = build(&product, &mapped);
        assert_eq!(
            listing.brand_id.unwrap().as_str(),
            "tt-acme",
            "the store brand's mapping"
        );
        let value = &listing.product_attributes.unwrap()[0].values[0];
        assert_eq!(
            value.name.as_deref(),
            Some("0123456789012"),
            "a custom value from the UPC"
        );
        product.brand_id = Some("8".into());
        let listing = build(&product, &mapped);
        assert_eq!(
            listing.brand_id.unwrap().as_str(),
            "tt-house-brand",
            "unmapped brands take the profile's"
        );
        let overridden = Overrides {
            brand_id: Some("tt-special".into()),
            ..Overrides::default()
        };
        product.brand_id = Some("7".into());
        let (product, profile) = overridden.apply(&product, &mapped);
        let listing = build(&product, &profile);
        assert_eq!(
            listing.brand_id.unwrap().as_str(),
            "tt-special",
            "a product override wins"
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let (attributes, rules) = spec_parts();
        let spec = CategorySpec {
            attributes: &attributes,
            rules: &rules,
            category_version: "v2",
        };
        let units = Units {
            weight: "Ounces".into(),
            dimension: "Inches".into(),
        };
        let mut bad = product();
        bad.name = String::new();
        bad.images.clear();
        bad.weight = None;
        bad.dimensions = None;
        bad.custom_fields.clear();
        bad.variants[1].sku = "DRESS-RED".into();
        let mut bare = profile("default", 0, vec![], Match::All);
        bare.size_chart_uri = None;
        let context = ListingContext {
            currency: "USD",
            rate: Decimal::ONE,
            warehouse_id: "w1",
            gtin: GtinRule::default(),
            units: &units,
            region: "US",
            inventory: InventoryPolicy::default(),
            image_uris: &[],
            known_skus: &[],
        };
        let reasons = build_listing(&bad, &bare, &spec, &context).unwrap_err();
        for expected in [
            "title",
            "no image",
            "weight",
            "dimensions",
            "size chart",
            "used by two variants",
            "Material",
        ] {
            assert!(
                reasons.iter().any(|r| r.contains(expected)),
                "{expected} missing from {reasons:?}"
            );
        }
    }
}
