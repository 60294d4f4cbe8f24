//! Helpers the fuzz targets share: numbers and store products built from fuzzer input.

use rust_decimal::Decimal;

/// A decimal from a mantissa and a scale (taken modulo 29, the most `Decimal` holds).
pub fn decimal(mantissa: i64, scale: u8) -> Decimal {
    Decimal::new(mantissa, u32::from(scale) % 29)
}

/// A store product priced `price`, whose variants have the given stock levels (`None`:
/// not tracked), tracked per variant when `per_variant`, else per product at `level`.
pub fn product(price: Decimal, level: i64, per_variant: bool, levels: &[Option<i64>]) -> connector::store::Product {
    let variants: Vec<serde_json::Value> = levels
        .iter()
        .enumerate()
        .map(|(i, level)| {
            serde_json::json!({"id": format!("v{i}"), "sku": format!("SKU-{i}"), "price": null, "inventory_level": level,
                               "upc": null, "option_values": [], "image_url": null, "purchasing_disabled": false})
        })
        .collect();
    let tracking = if per_variant { "variant" } else { "product" };
    serde_json::from_value(
        serde_json::json!({"id": "1", "name": "Fuzzed", "sku": "F", "description": "", "price": price,
        "sale_price": null, "brand_id": "3", "categories": ["20"], "weight": null, "dimensions": null,
        "inventory_tracking": tracking, "inventory_level": level, "is_visible": true, "upc": null, "images": [],
        "custom_fields": [], "variants": variants, "date_modified": ""}),
    )
    .expect("the product template matches connector::store::Product")
}
