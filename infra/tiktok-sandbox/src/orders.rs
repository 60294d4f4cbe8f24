//! Orders as TikTok holds them from payment on: a `payment` block whose money
//! identities hold (Get Order Detail §8.3) and a package for the paid units (line items
//! carry `package_id` with `package_status: TO_FULFILL` before anything ships).

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Value, json};

/// Buyer fees `total_amount` includes beside `sub_total + shipping_fee + tax`.
const FEES: [&str; 6] = [
    "retail_delivery_fee",
    "small_order_fee",
    "buyer_service_fee",
    "handling_fee",
    "shipping_insurance_fee",
    "item_insurance_fee",
];

fn amount(value: &Value) -> Result<Option<Decimal>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Decimal::from_str(text.trim())
            .map(Some)
            .map_err(|_| format!("{text:?} is not a decimal string")),
        other => Err(format!("{other} must be a decimal string")),
    }
}

/// Fills in what the admin left out of `order["payment"]` from the line items, and
/// refuses units and a block that break TikTok's identities: per unit `sale_price =
/// original_price − seller_discount − platform_discount`; for the order `sub_total =
/// original_total_product_price − seller_discount − platform_discount`, `tax =
/// product_tax + shipping_fee_tax` (when both are given), `total_amount = sub_total +
/// shipping_fee + tax + fees`. Amounts are decimal strings, never negative.
pub fn settle_payment(order: &mut Value) -> Result<(), String> {
    // Per unit: a difference between the original and the sale price that names no
    // discount is the seller's discount; named discounts must account for it exactly.
    for unit in order["line_items"].as_array_mut().into_iter().flatten() {
        let field = |name: &str| amount(&unit[name]).map_err(|e| format!("line_items[].{name}: {e}"));
        let (original, sale) = (field("original_price")?, field("sale_price")?);
        let (seller, platform) = (field("seller_discount")?, field("platform_discount")?);
        let (Some(original), Some(sale)) = (original, sale) else {
            continue;
        };
        if seller.is_none() && platform.is_none() && original >= sale {
            unit["seller_discount"] = json!((original - sale).to_string());
        } else if original - seller.unwrap_or_default() - platform.unwrap_or_default() != sale {
            return Err(format!(
                "line item {}: sale_price {sale} is not original_price {original} − seller_discount − platform_discount",
                unit["id"]
            ));
        }
    }
    let currency = order["payment"]["currency"].as_str().unwrap_or("USD").to_string();
    let units = order["line_items"].as_array().cloned().unwrap_or_default();
    let sum_of = |field: &str| -> Result<Decimal, String> {
        units.iter().try_fold(Decimal::ZERO, |sum, unit| {
            Ok(sum
                + amount(&unit[field])
                    .map_err(|e| format!("line_items[].{field}: {e}"))?
                    .unwrap_or_default())
        })
    };
    let payment = order["payment"].as_object().cloned().unwrap_or_default();
    let given =
        |field: &str| amount(payment.get(field).unwrap_or(&Value::Null)).map_err(|e| format!("payment.{field}: {e}"));
    let sub_total = match given("sub_total")? {
        Some(sub_total) => sub_total,
        None => sum_of("sale_price")?,
    };
    let seller_discount = match given("seller_discount")? {
        Some(discount) => discount,
        None => sum_of("seller_discount")?,
    };
    let platform_discount = match given("platform_discount")? {
        Some(discount) => discount,
        None => sum_of("platform_discount")?,
    };
    let original = given("original_total_product_price")?.unwrap_or(sub_total + seller_discount + platform_discount);
    if original - seller_discount - platform_discount != sub_total {
        return Err(format!(
            "payment: sub_total {sub_total} is not original_total_product_price {original} − seller_discount {seller_discount} − platform_discount {platform_discount}"
        ));
    }
    let shipping_fee = given("shipping_fee")?.unwrap_or_default();
    let (product_tax, shipping_fee_tax) = (given("product_tax")?, given("shipping_fee_tax")?);
    let tax = given("tax")?.unwrap_or(product_tax.unwrap_or_default() + shipping_fee_tax.unwrap_or_default());
    if let (Some(product_tax), Some(shipping_fee_tax)) = (product_tax, shipping_fee_tax)
        && product_tax + shipping_fee_tax != tax
    {
        return Err(format!(
            "payment: tax {tax} is not product_tax {product_tax} + shipping_fee_tax {shipping_fee_tax}"
        ));
    }
    let mut fees = Decimal::ZERO;
    for fee in FEES {
        fees += given(fee)?.unwrap_or_default();
    }
    let total = sub_total + shipping_fee + tax + fees;
    if let Some(given_total) = given("total_amount")?
        && given_total != total
    {
        return Err(format!(
            "payment: total_amount {given_total} is not sub_total + shipping_fee + tax + fees = {total}"
        ));
    }
    let all = [
        ("original_total_product_price", original),
        ("seller_discount", seller_discount),
        ("platform_discount", platform_discount),
        ("sub_total", sub_total),
        ("shipping_fee", shipping_fee),
        ("tax", tax),
        ("total_amount", total),
    ];
    let mut settled = payment;
    for (field, value) in all {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(format!("payment.{field} is negative"));
        }
        settled.entry(field).or_insert_with(|| json!(value.to_string()));
    }
    settled.insert("currency".into(), json!(currency));
    order["payment"] = Value::Object(settled);
    Ok(())
}

/// Puts every unit of a paid order into one package waiting to be fulfilled, as TikTok
/// does at payment (`packages[]`, and `package_id` / `package_status: TO_FULFILL` on each
/// line item). Unpaid and cancelled orders get none.
pub fn package_at_payment(order: &mut Value, package_id: String) {
    let status = order["status"].as_str().unwrap_or_default().to_string();
    if ["UNPAID", "CANCELLED"].contains(&status.as_str()) {
        return;
    }
    for unit in order["line_items"].as_array_mut().into_iter().flatten() {
        if unit["package_id"].as_str().is_none_or(str::is_empty) {
            unit["package_id"] = json!(package_id);
            unit["package_status"] = json!("TO_FULFILL");
        }
        if unit["display_status"].as_str().is_none_or(str::is_empty) {
            unit["display_status"] = json!(status);
        }
    }
    order["packages"] = json!([{"id": package_id}]);
}

/// Takes each unit of a new order off its SKU's stock on `shop_id`'s products, as TikTok
/// does when a buyer orders (from the first warehouse that has it; never below zero).
/// Units of SKUs the sandbox does not list are left alone.
pub fn take_stock(products: &mut std::collections::BTreeMap<String, Value>, shop_id: &str, order: &Value) {
    for unit in order["line_items"].as_array().into_iter().flatten() {
        let Some(sku_id) = unit["sku_id"].as_str() else {
            continue;
        };
        let stock = products
            .values_mut()
            .filter(|p| p["_shop"] == shop_id)
            .flat_map(|p| p["skus"].as_array_mut().into_iter().flatten())
            .find(|s| s["id"] == sku_id)
            .and_then(|s| s["inventory"].as_array_mut());
        if let Some(warehouse) = stock
            .into_iter()
            .flatten()
            .find(|w| w["quantity"].as_u64().is_some_and(|q| q > 0))
        {
            warehouse["quantity"] = json!(warehouse["quantity"].as_u64().unwrap_or(1) - 1);
        }
    }
}
