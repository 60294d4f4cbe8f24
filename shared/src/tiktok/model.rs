//! Typed requests and responses of the TikTok endpoints the connector uses. Fields
//! TikTok may omit default; unknown fields are ignored; the known misspellings
//! (`is_requried`, `UNAUTHORIEZD`, `distict`) are accepted beside the correct ones.

use serde::{Deserialize, Serialize};

use super::types::{Amount, Id, OrderStatus, Price};

/// Answer of token get and refresh; both expiry fields are absolute Unix seconds.
#[derive(Clone, Deserialize)]
pub struct TokenGrant {
    /// Access token (sent as `x-tts-access-token`).
    pub access_token: String,
    /// When the access token expires (Unix seconds, despite the name).
    pub access_token_expire_in: i64,
    /// Refresh token.
    pub refresh_token: String,
    /// When the refresh token expires (Unix seconds).
    pub refresh_token_expire_in: i64,
    /// Stable id of the authorizing seller.
    #[serde(default)]
    pub open_id: String,
    /// Seller display name.
    #[serde(default)]
    pub seller_name: String,
    /// Seller's base region.
    #[serde(default)]
    pub seller_base_region: String,
    /// Scopes actually granted.
    #[serde(default)]
    pub granted_scopes: Vec<String>,
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenGrant")
            .field("open_id", &self.open_id)
            .field("seller_name", &self.seller_name)
            .field("access_token_expire_in", &self.access_token_expire_in)
            .field("refresh_token_expire_in", &self.refresh_token_expire_in)
            .finish_non_exhaustive()
    }
}

/// One shop of an authorization.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AuthorizedShop {
    /// Shop id (as in webhooks).
    pub id: Id,
    /// Shop name.
    #[serde(default)]
    pub name: String,
    /// Two-letter region (`GB`, not `UK`).
    #[serde(default)]
    pub region: String,
    /// `LOCAL` or `CROSS_BORDER`.
    #[serde(default)]
    pub seller_type: String,
    /// The `shop_cipher` for shop-scoped calls.
    pub cipher: String,
    /// Shop code shown in Seller Center.
    #[serde(default)]
    pub code: String,
}

/// A warehouse of a shop.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Warehouse {
    /// Warehouse id (for `inventory[].warehouse_id`).
    pub id: Id,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// `ENABLED`, `DISABLED` or `RESTRICTED`.
    #[serde(default)]
    pub effect_status: String,
    /// `SALES_WAREHOUSE` or `RETURN_WAREHOUSE`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Whether it is the shop's default.
    #[serde(default)]
    pub is_default: bool,
}

impl Warehouse {
    /// Whether stock may be assigned here (an enabled sales warehouse).
    pub fn is_usable_for_sales(&self) -> bool {
        self.kind == "SALES_WAREHOUSE" && self.effect_status == "ENABLED"
    }
}

/// A carrier that may be named when shipping.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ShippingProvider {
    /// Provider id.
    pub id: Id,
    /// Carrier name, e.g. `USPS`.
    pub name: String,
}

/// A delivery option of a warehouse (Get Warehouse Delivery Options, reference §8).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DeliveryOption {
    /// Delivery option id (selects shipping providers).
    pub id: Id,
    /// Name, e.g. `Standard shipping`.
    #[serde(default)]
    pub name: String,
    /// `STANDARD`, `EXPRESS`, `ECONOMY` or `SEND_BY_SELLER`.
    #[serde(default, rename = "type")]
    pub kind: String,
}

/// A category of the (flat) category list.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Category {
    /// Category id.
    pub id: Id,
    /// Parent id (`"0"` for roots).
    pub parent_id: Id,
    /// Localized name.
    #[serde(default)]
    pub local_name: String,
    /// Only leaves may hold products.
    #[serde(default)]
    pub is_leaf: bool,
    /// `AVAILABLE`, `INVITE_ONLY`, `NON_MAIN_CATEGORY`, …
    #[serde(default)]
    pub permission_statuses: Vec<String>,
}

/// One allowed value of an attribute.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AttributeValue {
    /// Value id.
    pub id: Id,
    /// Value name.
    pub name: String,
}

/// A condition making an attribute required.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RequirementCondition {
    /// Condition kind (`VALUE_ID_MATCH`).
    #[serde(default)]
    pub condition_type: String,
    /// The attribute whose value triggers it.
    pub attribute_id: Id,
    /// The triggering value.
    pub attribute_value_id: Id,
}

/// An attribute of a category.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Attribute {
    /// Attribute id.
    pub id: Id,
    /// Name.
    pub name: String,
    /// `SALES_PROPERTY` (variant-defining) or `PRODUCT_PROPERTY`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Required (TikTok spells it `is_requried`).
    #[serde(default, alias = "is_requried")]
    pub is_required: bool,
    /// Whether custom values are allowed.
    #[serde(default)]
    pub is_customizable: bool,
    /// Whether several values may be chosen.
    #[serde(default)]
    pub is_multiple_selection: bool,
    /// Conditions that make it required.
    #[serde(default)]
    pub requirement_conditions: Vec<RequirementCondition>,
    /// Allowed values (absent for free text).
    #[serde(default)]
    pub values: Vec<AttributeValue>,
}

/// `{is_required}` rule flag.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Requirement {
    /// Whether it is required.
    #[serde(default)]
    pub is_required: bool,
}

/// A certification a category asks for.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Certification {
    /// Certification id.
    pub id: Id,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Whether it is required.
    #[serde(default)]
    pub is_required: bool,
}

/// Size-chart rule.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct SizeChartRule {
    /// Supported in this category.
    #[serde(default)]
    pub is_supported: bool,
    /// Required in this category.
    #[serde(default)]
    pub is_required: bool,
}

/// Listing rules of a category; absent keys mean no requirement.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct CategoryRules {
    /// Certifications.
    #[serde(default)]
    pub product_certifications: Vec<Certification>,
    /// Size chart.
    #[serde(default)]
    pub size_chart: SizeChartRule,
    /// Package dimensions.
    #[serde(default)]
    pub package_dimension: Requirement,
}

/// The recommended leaf category for a title.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RecommendedCategory {
    /// The recommended leaf.
    pub leaf_category_id: Id,
}

/// A brand.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Brand {
    /// Brand id.
    pub id: Id,
    /// Name.
    pub name: String,
    /// `AUTHORIZED` or `UNAUTHORIZED` (TikTok writes `UNAUTHORIEZD`).
    #[serde(default)]
    pub authorized_status: String,
    /// Unauthorized T1 brands cannot be used.
    #[serde(default)]
    pub is_t1_brand: bool,
}

impl Brand {
    /// Whether products may carry this brand.
    pub fn is_usable(&self) -> bool {
        self.authorized_status == "AUTHORIZED" || !self.is_t1_brand
    }
}

/// One page of a token-paged list.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Token of the next page; `None` on the last page.
    pub next_page_token: Option<String>,
    /// Total count, when TikTok reports it.
    pub total_count: Option<u64>,
}

/// An uploaded image; products refer to it by `uri`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct UploadedImage {
    /// What product payloads reference.
    pub uri: String,
    /// A TikTok-hosted URL (for description HTML).
    #[serde(default)]
    pub url: String,
    /// Width TikTok stored, in pixels (images outside 3:4–4:3 are padded to 1:1).
    #[serde(default)]
    pub width: u32,
    /// Height TikTok stored, in pixels.
    #[serde(default)]
    pub height: u32,
}

/// Answer of Upload File.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct UploadedFile {
    /// What product payloads reference (`certifications[].files[].id`).
    pub id: Id,
    /// A TikTok-hosted URL.
    #[serde(default)]
    pub url: String,
    /// File name.
    #[serde(default)]
    pub name: String,
    /// `PDF`, `MP4`, ….
    #[serde(default)]
    pub format: String,
}

/// `{uri}` image reference.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ImageRef {
    /// Uploaded image uri.
    pub uri: String,
}

/// Stock of one SKU in one warehouse.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct WarehouseStock {
    /// Warehouse id.
    pub warehouse_id: Id,
    /// Units available.
    pub quantity: u32,
}

/// Variant attribute of a SKU: built-in `id` or custom `name`, with a value.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct SalesAttribute {
    /// Built-in attribute id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    /// Custom attribute name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_name: Option<String>,
    /// Variant image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku_img: Option<ImageRef>,
}

/// A SKU's barcode (reference §6.5): `type` GTIN, EAN, UPC or ISBN.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct IdentifierCode {
    /// `GTIN`, `EAN`, `UPC` or `ISBN`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The digits.
    pub code: String,
}

/// A SKU in a product create/edit request.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct SkuRequest {
    /// Existing SKU id (edits); SKUs without one are created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    /// Seller SKU.
    pub seller_sku: String,
    /// Our variant id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_sku_id: Option<String>,
    /// Variant attributes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sales_attributes: Vec<SalesAttribute>,
    /// Price.
    pub price: Price,
    /// Stock per warehouse; left out (empty) for an existing SKU in an edit, which
    /// keeps its stock (reference §6.5).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inventory: Vec<WarehouseStock>,
    /// Barcode ([`crate::rules::gtin`]); left out when none is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier_code: Option<IdentifierCode>,
}

/// A value of a product attribute: built-in `id` or custom `name`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ProductAttributeValue {
    /// Built-in value id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    /// Custom value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A product attribute with its values.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct ProductAttribute {
    /// Attribute id.
    pub id: Id,
    /// Values.
    pub values: Vec<ProductAttributeValue>,
}

/// Weight with unit (`KILOGRAM`, `POUND`, `GRAM`), value as a decimal string.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Weight {
    /// Value.
    pub value: String,
    /// Unit.
    pub unit: String,
}

/// Package dimensions with unit (`CENTIMETER` or `INCH`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Dimensions {
    /// Length.
    pub length: String,
    /// Width.
    pub width: String,
    /// Height.
    pub height: String,
    /// Unit.
    pub unit: String,
}

/// Body of Create, Edit and Partial Edit Product; for a partial edit leave out what
/// must not change (absent fields are not sent).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ProductRequest {
    /// Title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// HTML description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Leaf category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_id: Option<Id>,
    /// `v2` for US shops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_version: Option<String>,
    /// Brand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand_id: Option<Id>,
    /// 1 to 9 uploaded images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_images: Option<Vec<ImageRef>>,
    /// SKUs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skus: Option<Vec<SkuRequest>>,
    /// Package weight (always required on create).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_weight: Option<Weight>,
    /// Package dimensions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_dimensions: Option<Dimensions>,
    /// Product attributes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_attributes: Option<Vec<ProductAttribute>>,
    /// Size chart image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_chart: Option<serde_json::Value>,
    /// Certifications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certifications: Option<Vec<serde_json::Value>>,
    /// Our product id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_product_id: Option<String>,
    /// Idempotency key (≤ 128 chars, unique per shop) for creates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// A SKU as returned by create/edit.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CreatedSku {
    /// TikTok SKU id.
    pub id: Id,
    /// Seller SKU.
    #[serde(default)]
    pub seller_sku: String,
    /// Our variant id.
    #[serde(default)]
    pub external_sku_id: String,
}

/// A warning of create/edit (e.g. a brand silently cleared).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Warning {
    /// Message.
    pub message: String,
}

/// Answer of create/edit.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ProductWriteResult {
    /// Product id.
    pub product_id: Id,
    /// SKUs with their ids (map back by `seller_sku`/`external_sku_id`).
    #[serde(default)]
    pub skus: Vec<CreatedSku>,
    /// Warnings.
    #[serde(default)]
    pub warnings: Vec<Warning>,
}

/// A SKU as Get/Search Product return it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Sku {
    /// SKU id.
    pub id: Id,
    /// Seller SKU.
    #[serde(default)]
    pub seller_sku: String,
    /// Our variant id.
    #[serde(default)]
    pub external_sku_id: String,
    /// Price (`sale_price`, `currency`, …).
    #[serde(default)]
    pub price: serde_json::Value,
    /// Stock per warehouse.
    #[serde(default)]
    pub inventory: Vec<WarehouseStock>,
}

/// A reason an audit failed.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AuditFailure {
    /// Where.
    #[serde(default)]
    pub position: String,
    /// Why.
    #[serde(default)]
    pub reasons: Vec<String>,
    /// How to fix.
    #[serde(default)]
    pub suggestions: Vec<String>,
}

/// `audit` of Get Product. A live product (`ACTIVATE`) whose edit is reviewed stays
/// live with `AUDITING`; a rejected edit leaves the previous version live with
/// `FAILED` and `audit_failed_reasons` (reference §6.5, §6.10).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Audit {
    /// `NONE`, `AUDITING`, `FAILED`, `PRE_APPROVED` or `APPROVED` (kept as text).
    #[serde(default)]
    pub status: String,
}

/// A product as Get Product returns it (the fields the connector reads).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Product {
    /// Product id.
    pub id: Id,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// `PENDING`, `ACTIVATE`, `FAILED`, `SELLER_DEACTIVATED`, … (kept as text).
    #[serde(default)]
    pub status: String,
    /// The review of the product or of its latest edit (reference §6.10).
    #[serde(default)]
    pub audit: Audit,
    /// Why the audit failed.
    #[serde(default)]
    pub audit_failed_reasons: Vec<AuditFailure>,
    /// SKUs.
    #[serde(default)]
    pub skus: Vec<Sku>,
    /// Our product id.
    #[serde(default)]
    pub external_product_id: String,
    /// Last update (Unix seconds).
    #[serde(default)]
    pub update_time: i64,
}

/// Filters of Search Products.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProductSearch {
    /// Status filter (`ALL` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Seller SKUs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seller_skus: Option<Vec<String>>,
    /// Updated at or after (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_time_ge: Option<i64>,
    /// Updated at or before (Unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_time_le: Option<i64>,
}

/// New stock of one SKU (every warehouse of the SKU must be listed).
#[derive(Debug, Clone, Serialize)]
pub struct SkuInventory {
    /// SKU id.
    pub id: Id,
    /// Stock per warehouse.
    pub inventory: Vec<WarehouseStock>,
}

/// New price of one SKU.
#[derive(Debug, Clone, Serialize)]
pub struct SkuPrice {
    /// SKU id.
    pub id: Id,
    /// Price.
    pub price: Price,
}

/// Product status actions (max 20 ids per call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductAction {
    /// → PENDING → ACTIVATE.
    Activate,
    /// → SELLER_DEACTIVATED.
    Deactivate,
    /// → DELETED.
    Delete,
    /// DELETED → SELLER_DEACTIVATED.
    Recover,
}

/// Filters of Get Order List (time bounds `_ge` inclusive, `_lt` exclusive).
#[derive(Debug, Clone, Default, Serialize)]
pub struct OrderSearch {
    /// One status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_status: Option<OrderStatus>,
    /// Created at or after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_time_ge: Option<i64>,
    /// Created before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_time_lt: Option<i64>,
    /// Updated at or after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_time_ge: Option<i64>,
    /// Updated before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_time_lt: Option<i64>,
}

/// One unit of an order (TikTok has no quantity: two units are two line items).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LineItem {
    /// Line item id.
    pub id: Id,
    /// SKU id.
    pub sku_id: Id,
    /// Product id.
    #[serde(default)]
    pub product_id: Option<Id>,
    /// Seller SKU.
    #[serde(default)]
    pub seller_sku: String,
    /// Product name.
    #[serde(default)]
    pub product_name: String,
    /// SKU name.
    #[serde(default)]
    pub sku_name: String,
    /// Price before discounts.
    #[serde(default)]
    pub original_price: Amount,
    /// What the buyer paid for this unit.
    #[serde(default)]
    pub sale_price: Amount,
    /// Seller-funded discount.
    #[serde(default)]
    pub seller_discount: Amount,
    /// Platform-funded discount.
    #[serde(default)]
    pub platform_discount: Amount,
    /// Currency.
    #[serde(default)]
    pub currency: String,
    /// Package the unit belongs to. Real orders carry one from payment on (with
    /// `package_status` `TO_FULFILL`), and it may be an empty string: a package id alone
    /// does not say the unit shipped (see [`LineItem::awaits_shipment`]).
    #[serde(default)]
    pub package_id: Option<Id>,
    /// `TO_FULFILL`, `PROCESSING`, `FULFILLING`, `COMPLETED` or `CANCELLED`; empty when
    /// the unit has no package yet.
    #[serde(default)]
    pub package_status: String,
    /// The unit's own status (`AWAITING_SHIPMENT`, …, `CANCELLED`).
    #[serde(default)]
    pub display_status: String,
}

impl LineItem {
    /// Whether the unit still waits to be shipped: its own status has not moved past
    /// `AWAITING_SHIPMENT` (nor been cancelled), and it has no package (or an empty id)
    /// or one TikTok still holds as `TO_FULFILL` (Get Order Detail §8.3,
    /// `display_status`, `package_status`).
    pub fn awaits_shipment(&self) -> bool {
        let moved_on = [
            "AWAITING_COLLECTION",
            "IN_TRANSIT",
            "DELIVERED",
            "COMPLETED",
            "CANCELLED",
        ];
        let packaged = self.package_id.as_ref().is_some_and(|p| !p.as_str().is_empty());
        !moved_on.contains(&self.display_status.as_str())
            && (!packaged || ["", "TO_FULFILL"].contains(&self.package_status.as_str()))
    }
}

/// Money of an order.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Payment {
    /// Currency.
    #[serde(default)]
    pub currency: String,
    /// Items before discounts.
    #[serde(default)]
    pub original_total_product_price: Amount,
    /// Seller discount.
    #[serde(default)]
    pub seller_discount: Amount,
    /// Platform discount.
    #[serde(default)]
    pub platform_discount: Amount,
    /// Items after discounts.
    #[serde(default)]
    pub sub_total: Amount,
    /// Shipping charged (after shipping discounts).
    #[serde(default)]
    pub shipping_fee: Amount,
    /// Taxes: `product_tax` + `shipping_fee_tax` (+ other taxes TikTok adds).
    #[serde(default)]
    pub tax: Amount,
    /// The part of `tax` charged on the products.
    #[serde(default)]
    pub product_tax: Amount,
    /// The part of `tax` charged on shipping.
    #[serde(default)]
    pub shipping_fee_tax: Amount,
    /// Total paid: `sub_total + shipping_fee + tax` plus buyer fees (retail delivery
    /// fee, small order fee, …).
    #[serde(default)]
    pub total_amount: Amount,
}

/// One level of `district_info` (country, state, city, …).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct District {
    /// `L0` … `L4`.
    #[serde(default)]
    pub address_level: String,
    /// `Country`, `State`, `City`, … (map by name, not by level).
    #[serde(default)]
    pub address_level_name: String,
    /// The value.
    #[serde(default)]
    pub address_name: String,
}

/// The buyer's delivery address.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Address {
    /// Full name.
    #[serde(default)]
    pub name: String,
    /// First name.
    #[serde(default)]
    pub first_name: String,
    /// Last name.
    #[serde(default)]
    pub last_name: String,
    /// Phone (often masked).
    #[serde(default)]
    pub phone_number: String,
    /// Whole address in one line.
    #[serde(default)]
    pub full_address: String,
    /// Line 1.
    #[serde(default)]
    pub address_line1: String,
    /// Line 2.
    #[serde(default)]
    pub address_line2: String,
    /// Postal code.
    #[serde(default)]
    pub postal_code: String,
    /// Two-letter country.
    #[serde(default)]
    pub region_code: String,
    /// Country, state, city, …
    #[serde(default)]
    pub district_info: Vec<District>,
}

/// An order (Get Order Detail / Get Order List).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Order {
    /// Order id.
    pub id: Id,
    /// Status.
    pub status: OrderStatus,
    /// Created (Unix seconds).
    #[serde(default)]
    pub create_time: i64,
    /// Updated (Unix seconds).
    #[serde(default)]
    pub update_time: i64,
    /// Paid (Unix seconds).
    #[serde(default)]
    pub paid_time: Option<i64>,
    /// Buyer's message.
    #[serde(default)]
    pub buyer_message: String,
    /// Why the order was cancelled (TikTok's machine key, e.g.
    /// `seller_cancel_reason_out_of_stock`); empty unless cancelled.
    #[serde(default)]
    pub cancel_reason: String,
    /// Who cancelled it: `SELLER`, `BUYER` or `SYSTEM` (empty unless cancelled).
    #[serde(default)]
    pub cancellation_initiator: String,
    /// The buyer's e-mail as TikTok gives it to the seller: an anonymized relay address,
    /// or empty when hidden (reference §9: never write to the buyer through it).
    #[serde(default)]
    pub buyer_email: String,
    /// `FULFILLMENT_BY_SELLER` or `FULFILLMENT_BY_TIKTOK`.
    #[serde(default)]
    pub fulfillment_type: String,
    /// `SELLER` or `TIKTOK`.
    #[serde(default)]
    pub shipping_type: String,
    /// Delivery option (selects shipping providers).
    #[serde(default)]
    pub delivery_option_id: Option<Id>,
    /// Sample order.
    #[serde(default)]
    pub is_sample_order: bool,
    /// Inside the remorse window.
    #[serde(default)]
    pub is_on_hold_order: bool,
    /// Buyer asked to cancel.
    #[serde(default)]
    pub is_buyer_request_cancel: bool,
    /// Money.
    #[serde(default)]
    pub payment: Payment,
    /// Delivery address.
    #[serde(default)]
    pub recipient_address: Address,
    /// One per unit.
    #[serde(default)]
    pub line_items: Vec<LineItem>,
}

/// Mark Package As Shipped (US/EU/JP); no line items = the whole order.
#[derive(Debug, Clone, Serialize)]
pub struct MarkShipped {
    /// Tracking number.
    pub tracking_number: String,
    /// Provider from Get Shipping Providers.
    pub shipping_provider_id: Id,
    /// Line items of a partial shipment.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_line_item_ids: Vec<Id>,
}

/// Answer of Mark Package As Shipped.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ShippedPackage {
    /// Order id.
    pub order_id: Id,
    /// The package created.
    pub package_id: Id,
    /// Its line items.
    #[serde(default)]
    pub order_line_item_ids: Vec<Id>,
}

/// A package (Get Package Detail).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Package {
    /// Package id.
    pub package_id: Id,
    /// `PROCESSING`, `FULFILLING`, `COMPLETED`, `CANCELLED`.
    #[serde(default)]
    pub package_status: String,
    /// Tracking number.
    #[serde(default)]
    pub tracking_number: String,
    /// Provider id.
    #[serde(default)]
    pub shipping_provider_id: Option<Id>,
    /// Line items in it.
    #[serde(default)]
    pub order_line_item_ids: Vec<Id>,
}

/// Filters of Search Cancellations / Search Returns (§10.1, §10.2); `return_ids` only
/// for returns, `cancel_ids` only for cancellations.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AfterSaleSearch {
    /// Orders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_ids: Option<Vec<Id>>,
    /// Returns (Search Returns).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_ids: Option<Vec<Id>>,
    /// Cancellations (Search Cancellations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_ids: Option<Vec<Id>>,
    /// Updated at or after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_time_ge: Option<i64>,
    /// Updated before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_time_lt: Option<i64>,
}

/// The refund of an after-sales request or one of its lines (§10: decimal strings).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct RefundAmount {
    /// ISO 4217 code.
    #[serde(default)]
    pub currency: String,
    /// What the buyer gets back in all.
    #[serde(default)]
    pub refund_total: Amount,
    /// Of it, the items.
    #[serde(default)]
    pub refund_subtotal: Amount,
    /// Of it, shipping.
    #[serde(default)]
    pub refund_shipping_fee: Amount,
    /// Of it, tax.
    #[serde(default)]
    pub refund_tax: Amount,
}

/// A product image as after-sales lines carry it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct LineImage {
    /// Image URL.
    #[serde(default)]
    pub url: String,
}

/// One line of a return or cancellation: one unit of an order line item.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct AfterSaleLine {
    /// The order line item it takes back.
    #[serde(default)]
    pub order_line_item_id: Id,
    /// TikTok SKU.
    #[serde(default)]
    pub sku_id: Id,
    /// Seller SKU.
    #[serde(default)]
    pub seller_sku: String,
    /// SKU name (its options).
    #[serde(default)]
    pub sku_name: String,
    /// Product name.
    #[serde(default)]
    pub product_name: String,
    /// Product image.
    #[serde(default)]
    pub product_image: Option<LineImage>,
    /// Refund of this line.
    #[serde(default)]
    pub refund_amount: Option<RefundAmount>,
}

/// What TikTok waits for from the seller, and until when.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct NextAction {
    /// `SELLER_RESPOND_REFUND`, `SELLER_RESPOND_RETURN`, `SELLER_RESPOND_RECEIVE_PACKAGE`,
    /// `SELLER_RESPOND_REPLACEMENT`, `SELLER_RESPOND_CANCEL` (kept as text).
    pub action: String,
    /// Deadline (Unix seconds).
    #[serde(default)]
    pub deadline: i64,
}

/// A cancellation (request), as Search Cancellations returns it (§10.1).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Cancellation {
    /// Cancellation id.
    pub cancel_id: Id,
    /// Order id.
    pub order_id: Id,
    /// `CANCEL`, `BUYER_CANCEL`, … (kept as text).
    #[serde(default)]
    pub cancel_type: String,
    /// `CANCELLATION_REQUEST_PENDING`, … (`…_CANCEL` and `…_CANCELLED` both occur).
    #[serde(default)]
    pub cancel_status: String,
    /// `BUYER`, `SELLER` or `SYSTEM`.
    #[serde(default)]
    pub role: String,
    /// Reason key.
    #[serde(default)]
    pub cancel_reason: String,
    /// Reason text.
    #[serde(default)]
    pub cancel_reason_text: String,
    /// What the buyer gets back.
    #[serde(default)]
    pub refund_amount: Option<RefundAmount>,
    /// Lines cancelled.
    #[serde(default)]
    pub cancel_line_items: Vec<AfterSaleLine>,
    /// What TikTok waits for from the seller.
    #[serde(default)]
    pub seller_next_action_response: Vec<NextAction>,
    /// Created (Unix seconds).
    #[serde(default)]
    pub create_time: i64,
    /// Updated (Unix seconds).
    #[serde(default)]
    pub update_time: i64,
}

/// An amount and its currency (a partial refund offer).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct PartialRefund {
    /// Decimal string.
    pub amount: Amount,
    /// ISO 4217 code.
    #[serde(default)]
    pub currency: String,
}

/// A return, refund or replacement request, as Search Returns returns it (§10.2).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Return {
    /// Return id.
    pub return_id: Id,
    /// Order id.
    pub order_id: Id,
    /// `REFUND`, `RETURN_AND_REFUND`, `REPLACEMENT`.
    #[serde(default)]
    pub return_type: String,
    /// Status (kept as text; unknown values are pending).
    #[serde(default)]
    pub return_status: String,
    /// `BUYER`, `SELLER`, `OPERATOR` or `SYSTEM`.
    #[serde(default)]
    pub role: String,
    /// Reason key.
    #[serde(default)]
    pub return_reason: String,
    /// Reason text.
    #[serde(default)]
    pub return_reason_text: String,
    /// Tracking number of the buyer's parcel back.
    #[serde(default)]
    pub return_tracking_number: String,
    /// What the buyer gets back.
    #[serde(default)]
    pub refund_amount: Option<RefundAmount>,
    /// The seller's partial refund offer.
    #[serde(default)]
    pub partial_refund: Option<PartialRefund>,
    /// `PARTIAL_REFUND` when the seller offered one.
    #[serde(default)]
    pub seller_proposed_return_type: String,
    /// The buyer turned the partial refund down.
    #[serde(default)]
    pub buyer_rejected_partial_refund: bool,
    /// `IN_PROGRESS`, `SUPPORT_BUYER`, `SUPPORT_SELLER`, `CLOSED`, or empty.
    #[serde(default)]
    pub arbitration_status: String,
    /// Lines returned.
    #[serde(default)]
    pub return_line_items: Vec<AfterSaleLine>,
    /// What TikTok waits for from the seller.
    #[serde(default)]
    pub seller_next_action_response: Vec<NextAction>,
    /// Created (Unix seconds).
    #[serde(default)]
    pub create_time: i64,
    /// Updated (Unix seconds).
    #[serde(default)]
    pub update_time: i64,
}

/// An image on a return's record entry (the buyer's photos, the seller's evidence).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct RecordImage {
    /// Where TikTok serves it (buyer photos).
    #[serde(default)]
    pub url: String,
    /// The uploaded image's id (seller evidence).
    #[serde(default)]
    pub image_id: String,
}

/// One entry of a return's record on TikTok (`GET …/returns/{return_id}/records`, §10.2).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ReturnRecord {
    /// What happened (`REQUEST_CREATED`, `BUYER_SHIPPED`, …; kept as text).
    #[serde(default)]
    pub event: String,
    /// In words.
    #[serde(default)]
    pub description: String,
    /// Who: `BUYER`, `SELLER`, `SYSTEM`, `OPERATOR`.
    #[serde(default)]
    pub role: String,
    /// When (Unix seconds).
    #[serde(default)]
    pub create_time: i64,
    /// The words given with it.
    #[serde(default)]
    pub note: String,
    /// Photos given with it.
    #[serde(default)]
    pub images: Vec<RecordImage>,
}

/// An image sent with a rejection (`image_id` from the image upload, §6.3).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct RejectImage {
    /// The uploaded image's id (uri).
    pub image_id: String,
    /// `image/png`, `image/jpeg`, ….
    pub mime_type: String,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
}

/// A rejection of a return or cancellation (§10.1, §10.2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejection {
    /// `REJECT_REFUND`, `REJECT_RETURN`, `REJECT_RECEIVED_PACKAGE`, `REJECT_REPLACEMENT`
    /// (returns only; `None` for cancellations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// A `name` from Get Reject Reasons for the request.
    pub reject_reason: String,
    /// The seller's words (may be empty).
    pub comment: String,
    /// Evidence.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<RejectImage>,
}

/// An approval of a return (§10.2): `decision` with its options.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Approval {
    /// `APPROVE_REFUND`, `APPROVE_RETURN`, `APPROVE_RECEIVED_PACKAGE`,
    /// `APPROVE_REPLACEMENT`, `ISSUE_REPLACEMENT_REFUND` or `OFFER_PARTIAL_REFUND`.
    pub decision: String,
    /// With `APPROVE_RETURN`: a returnless refund.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer_keep_item: Option<bool>,
    /// With `OFFER_PARTIAL_REFUND`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partial_refund: Option<PartialRefund>,
}

/// Seller cancellation of an order.
#[derive(Debug, Clone, Serialize)]
pub struct CancelOrder {
    /// Order id.
    pub order_id: Id,
    /// Reason key matching the order status.
    pub cancel_reason: String,
    /// Line items of a partial cancel.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_line_item_ids: Vec<Id>,
}

/// Answer of a seller cancellation.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CancelOrderResult {
    /// Cancellation id.
    pub cancel_id: Id,
    /// Its status.
    #[serde(default)]
    pub cancel_status: String,
}

/// A reject reason (`name` is the key to send).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RejectReason {
    /// Machine key.
    pub name: String,
    /// Localized label.
    #[serde(default)]
    pub text: String,
}

/// A webhook subscription of a shop.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct WebhookSubscription {
    /// Topic name, e.g. `ORDER_STATUS_CHANGE`.
    pub event_type: String,
    /// Delivery URL.
    pub address: String,
}

/// The topics the connector subscribes for every shop (reference §4.5).
pub const WEBHOOK_TOPICS: [&str; 9] = [
    "ORDER_STATUS_CHANGE",
    "CANCELLATION_STATUS_CHANGE",
    "RETURN_STATUS_CHANGE",
    "PRODUCT_STATUS_CHANGE",
    "PRODUCT_AUDIT_STATUS_CHANGE",
    "PACKAGE_UPDATE",
    "RECIPIENT_ADDRESS_UPDATE",
    "SELLER_DEAUTHORIZATION",
    "UPCOMING_AUTHORIZATION_EXPIRATION",
];
