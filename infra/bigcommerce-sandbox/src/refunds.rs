//! Order refunds v3 (`store-platforms-api.md` §1.11, "Refunds (v3, brief)"): a quote,
//! then the refund, paid back through the one provider a marketplace order paid
//! outside BigCommerce offers (`custom`, offline). Refunds never change the order's
//! status: the app sets Refunded (4) or Partially Refunded (14) itself with
//! `PUT /v2/orders/{id}`, where the status rules for stock apply.

use std::collections::HashMap;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Value, json};

use crate::api::{Api, V3Body, decimal, json_response, money, path_id};
use crate::{Caller, Sandbox, v3_error};
use sandbox_kit::clock::iso;

type PathParams = Path<HashMap<String, String>>;

/// A refund amount as the v3 API writes it: a number, to the cent.
fn number(value: Decimal) -> Value {
    json!(value.round_dp(2).to_f64().unwrap_or_default())
}

fn unprocessable(title: impl Into<String>, errors: Value) -> Response {
    v3_error(StatusCode::UNPROCESSABLE_ENTITY, title, errors)
}

fn order_not_found(id: u64) -> Response {
    v3_error(StatusCode::NOT_FOUND, format!("Order {id} was not found"), json!({}))
}

/// What the `items` of a quote or a refund come to.
struct Items {
    /// Their total, tax included.
    total: Decimal,
    /// The part refunded at order level (`ORDER` items).
    order_level: Decimal,
    /// Per order product: (id, units, amount).
    lines: Vec<(u64, u64, Decimal)>,
}

/// Checks `items` against what is left to refund of `order`: `PRODUCT` items name an
/// order product (`item_id` = its `id`) with `quantity` (at most the units not yet
/// refunded, at `price_inc_tax` each) or `amount` (at most the line's value not yet
/// refunded); `ORDER` items name the order (`item_id` = its id) with an `amount`; all
/// together at most `total_inc_tax − refunded_amount`. Other item types are not
/// modelled (422), as nothing else is refundable on a marketplace order here.
fn check_items(order: &Value, body: &Value) -> Result<Items, Response> {
    let Some(items) = body["items"].as_array().filter(|i| !i.is_empty()) else {
        return Err(unprocessable(
            "items are required",
            json!({"items": "must hold at least one item"}),
        ));
    };
    let lines = order["products"].as_array().cloned().unwrap_or_default();
    let mut refund = Items {
        total: Decimal::ZERO,
        order_level: Decimal::ZERO,
        lines: Vec::new(),
    };
    for (index, item) in items.iter().enumerate() {
        let field = |name: &str| format!("items[{index}].{name}");
        let invalid = |name: &str, message: String| Err(unprocessable(message.clone(), json!({field(name): message})));
        let amount = match &item["amount"] {
            Value::Null => None,
            given => match decimal(given).filter(|a| *a > Decimal::ZERO) {
                Some(amount) => Some(amount),
                None => return invalid("amount", "The amount must be a number above 0".into()),
            },
        };
        match item["item_type"].as_str().unwrap_or_default() {
            "PRODUCT" => {
                let Some(line) = lines.iter().find(|l| l["id"] == item["item_id"]) else {
                    return invalid(
                        "item_id",
                        format!("Order product {} is not part of the order", item["item_id"]),
                    );
                };
                let id = line["id"].as_u64().unwrap_or_default();
                let (units_so_far, amount_so_far) = refund
                    .lines
                    .iter()
                    .filter(|(line_id, ..)| *line_id == id)
                    .fold((0, Decimal::ZERO), |(u, a), (_, units, amount)| (u + units, a + amount));
                let units_left = line["quantity"].as_u64().unwrap_or(0)
                    - line["quantity_refunded"].as_u64().unwrap_or(0)
                    - units_so_far;
                let value_left = decimal(&line["total_inc_tax"]).unwrap_or_default()
                    - decimal(&line["refund_amount"]).unwrap_or_default()
                    - amount_so_far;
                let (units, value) = match (item["quantity"].as_u64(), amount) {
                    (Some(units), None) if units >= 1 && units <= units_left => (
                        units,
                        decimal(&line["price_inc_tax"]).unwrap_or_default() * Decimal::from(units),
                    ),
                    (Some(units), None) => {
                        return invalid(
                            "quantity",
                            format!("Order product {id} has {units_left} units left to refund, not {units}"),
                        );
                    }
                    (None, Some(amount)) if amount <= value_left => (0, amount),
                    (None, Some(amount)) => {
                        return invalid(
                            "amount",
                            format!("Order product {id} has {value_left} left to refund, not {amount}"),
                        );
                    }
                    _ => return invalid("quantity", "Send either quantity or amount".into()),
                };
                refund.lines.push((id, units, value));
                refund.total += value;
            }
            "ORDER" => {
                if item["item_id"] != order["id"] {
                    return invalid("item_id", format!("An ORDER item names the order ({})", order["id"]));
                }
                let Some(amount) = amount else {
                    return invalid("amount", "An ORDER item needs an amount".into());
                };
                refund.order_level += amount;
                refund.total += amount;
            }
            other => {
                return invalid(
                    "item_type",
                    format!("item_type {other:?} cannot be refunded here: use PRODUCT or ORDER"),
                );
            }
        }
    }
    let left = refundable(order);
    if refund.total > left {
        return Err(unprocessable(
            format!(
                "The refund of {} is more than the {} left to refund on the order",
                refund.total.round_dp(2),
                left.round_dp(2)
            ),
            json!({"items": "exceed the refundable amount"}),
        ));
    }
    Ok(refund)
}

/// What is left to refund of an order: `total_inc_tax − refunded_amount`.
fn refundable(order: &Value) -> Decimal {
    decimal(&order["total_inc_tax"]).unwrap_or_default() - decimal(&order["refunded_amount"]).unwrap_or_default()
}

/// The refund methods of a quote: the offline `custom` provider, for all of it.
fn refund_methods(total: Decimal) -> Value {
    json!([[{"provider_id": "custom", "provider_description": "Custom", "amount": number(total), "offline": true,
             "offline_provider": true, "offline_reason": "This order was paid outside BigCommerce"}]])
}

/// The order `id` of the caller's store, or 404.
fn order_of(sandbox: &Sandbox, caller: &Caller, id: u64) -> Result<Value, Response> {
    let state = sandbox.lock();
    state.stores[&caller.store_hash]
        .orders
        .get(&id)
        .cloned()
        .ok_or_else(|| order_not_found(id))
}

/// A quote or refund request: the order, the body and its checked items.
fn checked_request(
    sandbox: &Sandbox,
    caller: &Caller,
    id: u64,
    body: Value,
) -> Result<(Value, Value, Items), Response> {
    let order = order_of(sandbox, caller, id)?;
    let items = check_items(&order, &body)?;
    Ok((order, body, items))
}

/// `POST /v3/orders/{order_id}/payment_actions/refund_quotes`: what refunding `items`
/// comes to and how it can be paid back.
pub(crate) async fn quote(Api { sandbox, caller }: Api, Path(params): PathParams, V3Body(body): V3Body) -> Response {
    let id = path_id(&params, "id");
    let items = match checked_request(&sandbox, &caller, id, body) {
        Ok((_, _, items)) => items,
        Err(response) => return response,
    };
    json_response(
        StatusCode::OK,
        json!({"data": {"order_id": id, "total_refund_amount": number(items.total), "total_refund_tax_amount": 0,
                        "rounding": 0, "adjustment": 0, "is_tax_included": true,
                        "order_level_refund_amount": number(items.order_level), "refund_methods": refund_methods(items.total)},
               "meta": {}}),
    )
}

/// The total a refund pays: the items', or `merchant_calculated_override.total_amount`
/// (at most what is left to refund).
fn refund_total(order: &Value, body: &Value, items: &Items) -> Result<(Decimal, bool), Response> {
    let overridden = &body["merchant_calculated_override"];
    if overridden.is_null() {
        return Ok((items.total, false));
    }
    match decimal(&overridden["total_amount"]) {
        Some(total) if total >= Decimal::ZERO && total <= refundable(order) => Ok((total, true)),
        _ => Err(unprocessable(
            "merchant_calculated_override.total_amount must be 0 to what is left to refund",
            json!({"merchant_calculated_override.total_amount": "invalid"}),
        )),
    }
}

/// The `payments` of a refund: the quote's provider (`custom`, offline), adding up to
/// `total` within a cent.
fn check_payments(body: &Value, total: Decimal) -> Result<Vec<Decimal>, Response> {
    let Some(payments) = body["payments"].as_array().filter(|p| !p.is_empty()) else {
        return Err(unprocessable(
            "payments are required",
            json!({"payments": "must hold at least one payment"}),
        ));
    };
    let mut checked = Vec::new();
    for (index, payment) in payments.iter().enumerate() {
        let provider = payment["provider_id"].as_str().unwrap_or_default();
        if provider != "custom" || payment["offline"] != true {
            return Err(unprocessable(
                format!(
                    "Provider {provider:?} is not a refund method of this order: refund offline through \"custom\""
                ),
                json!({format!("payments[{index}].provider_id"): "invalid"}),
            ));
        }
        match decimal(&payment["amount"]).filter(|a| *a > Decimal::ZERO) {
            Some(amount) => checked.push(amount),
            None => {
                return Err(unprocessable(
                    "A payment amount must be a number above 0",
                    json!({format!("payments[{index}].amount"): "invalid"}),
                ));
            }
        }
    }
    let paid: Decimal = checked.iter().sum();
    if (paid - total).abs() > Decimal::new(1, 2) {
        return Err(unprocessable(
            format!(
                "The payments add up to {}, not the refund's {}",
                paid.round_dp(2),
                total.round_dp(2)
            ),
            json!({"payments": "do not match the refund total"}),
        ));
    }
    Ok(checked)
}

/// `POST /v3/orders/{order_id}/payment_actions/refunds`: checks `items` as the quote
/// does and `payments`, records the refund (201 `{"data": refund}`), adds it to the
/// order's `refunded_amount` and to its lines' `quantity_refunded` / `refund_amount` /
/// `is_refunded`, and fires `store/order/refund/created` and `store/order/updated`.
pub(crate) async fn create(Api { sandbox, caller }: Api, Path(params): PathParams, V3Body(body): V3Body) -> Response {
    let id = path_id(&params, "id");
    let checked = checked_request(&sandbox, &caller, id, body).and_then(|(order, body, items)| {
        let (total, overridden) = refund_total(&order, &body, &items)?;
        let payments = check_payments(&body, total)?;
        Ok((body, items, total, overridden, payments))
    });
    let (body, items, total, overridden, payments) = match checked {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let refund = {
        let mut state = sandbox.lock();
        let refund_id = state.new_id();
        let payments: Vec<Value> = payments
            .iter()
            .enumerate()
            .map(|(index, amount)| {
                json!({"id": refund_id * 10 + 1 + index as u64, "provider_id": "custom", "amount": number(*amount), "offline": true,
                       "is_declined": false, "declined_message": ""})
            })
            .collect();
        let store = state
            .stores
            .get_mut(&caller.store_hash)
            .expect("the gate checked the store");
        let Some(order) = store.orders.get_mut(&id) else {
            return order_not_found(id);
        };
        let refunded = decimal(&order["refunded_amount"]).unwrap_or_default() + total;
        order["refunded_amount"] = json!(money(refunded));
        order["date_modified"] = json!(iso(sandbox_kit::clock::unix_now()));
        for line in order["products"].as_array_mut().into_iter().flatten() {
            let this = line["id"].as_u64();
            for (_, units, amount) in items.lines.iter().filter(|(line_id, ..)| this == Some(*line_id)) {
                let units = line["quantity_refunded"].as_u64().unwrap_or(0) + units;
                let amount = decimal(&line["refund_amount"]).unwrap_or_default() + amount;
                let whole = units >= line["quantity"].as_u64().unwrap_or(0)
                    || amount >= decimal(&line["total_inc_tax"]).unwrap_or_default();
                line["quantity_refunded"] = json!(units);
                line["refund_amount"] = json!(money(amount));
                line["is_refunded"] = json!(whole);
            }
        }
        let refund = json!({"id": refund_id, "order_id": id, "user_id": 0, "created": iso(sandbox_kit::clock::unix_now()),
                            "reason": body["reason"].as_str().unwrap_or_default(), "total_amount": number(total), "total_tax": 0,
                            "uses_merchant_override_values": overridden, "items": body["items"], "payments": payments});
        store.refunds.push(refund.clone());
        refund
    };
    sandbox.fire(
        &caller.store_hash,
        "store/order/refund/created",
        json!({"type": "order", "id": id, "refund": {"refund_id": refund["id"]}}),
    );
    sandbox.fire(
        &caller.store_hash,
        "store/order/updated",
        json!({"type": "order", "id": id}),
    );
    json_response(StatusCode::CREATED, json!({"data": refund, "meta": {}}))
}

/// `GET /v3/orders/{order_id}/payment_actions/refunds`: the order's refunds, oldest first.
pub(crate) async fn list(Api { sandbox, caller }: Api, Path(params): PathParams) -> Response {
    let id = path_id(&params, "id");
    if let Err(response) = order_of(&sandbox, &caller, id) {
        return response;
    }
    let state = sandbox.lock();
    let refunds: Vec<Value> = state.stores[&caller.store_hash]
        .refunds
        .iter()
        .filter(|r| r["order_id"] == id)
        .cloned()
        .collect();
    json_response(StatusCode::OK, json!({"data": refunds, "meta": {}}))
}
