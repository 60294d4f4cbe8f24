//! After-sale requests as TikTok runs them (reference §10): the buyer's cancellation
//! and return requests, the seller's decisions, the buyer's and the platform's steps,
//! the refunds the platform issues, and the webhook and timeline entry of every change.
//!
//! Records are JSON in the shapes of Search Cancellations / Search Returns. Keys
//! starting with `_` are the sandbox's own and never answered: `_shop`, `_records`
//! (the timeline Get Return Records answers) and `_lapsed` (the stage whose response
//! deadline passed, after which TikTok decided for the seller).

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::state::State;
use crate::{Sandbox, now};

/// How long the seller has to respond to a request (48 hours).
pub(crate) const RESPONSE_WINDOW: i64 = 48 * 3600;

/// A business error of the Partner API: (code, message).
pub(crate) type Refusal = (i64, String);

fn refusal(code: i64, message: impl Into<String>) -> Refusal {
    (code, message.into())
}

/// "Already processed": the request is past the stage the decision answers.
pub(crate) const ALREADY_PROCESSED: i64 = 25011012;
/// The decision does not fit the request's status.
pub(crate) const WRONG_STATUS: i64 = 25020003;
/// The decision is missing, unknown, or does not fit the request's type.
pub(crate) const WRONG_DECISION: i64 = 25020004;
/// The reject reason is not one Get Reject Reasons offers for the request.
pub(crate) const INVALID_REASON: i64 = 25020006;
/// The seller's response deadline has passed.
pub(crate) const DEADLINE_PASSED: i64 = 25020011;
/// The request is under platform arbitration.
pub(crate) const IN_ARBITRATION: i64 = 25011010;
/// The request does not exist or belongs to another shop.
pub(crate) const NOT_FOUND: i64 = 25007006;
/// An invalid parameter.
pub(crate) const INVALID_PARAMETER: i64 = 36009004;

/// The two kinds of after-sale records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A return, refund or replacement (`return_id`).
    Return,
    /// A cancellation (`cancel_id`).
    Cancellation,
}

impl Kind {
    /// The key of the record's status.
    pub(crate) fn status_key(self) -> &'static str {
        match self {
            Kind::Return => "return_status",
            Kind::Cancellation => "cancel_status",
        }
    }

    /// The key of the record's id.
    pub(crate) fn id_key(self) -> &'static str {
        match self {
            Kind::Return => "return_id",
            Kind::Cancellation => "cancel_id",
        }
    }

    /// What the sandbox calls a record of this kind in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Return => "return",
            Kind::Cancellation => "cancellation",
        }
    }

    /// The records of this kind.
    pub(crate) fn records(self, state: &mut State) -> &mut BTreeMap<String, Value> {
        match self {
            Kind::Return => &mut state.returns,
            Kind::Cancellation => &mut state.cancellations,
        }
    }

    /// What the seller has to do next, if anything (nothing while the platform arbitrates).
    fn next_action(self, record: &Value) -> Option<&'static str> {
        if record["arbitration_status"] == "IN_PROGRESS" {
            return None;
        }
        let status = record[self.status_key()].as_str().unwrap_or_default();
        match (self, status) {
            (Kind::Cancellation, "CANCELLATION_REQUEST_PENDING") => Some("SELLER_RESPOND_CANCEL"),
            (Kind::Return, "REPLACEMENT_REQUEST_PENDING") => Some("SELLER_RESPOND_REPLACEMENT"),
            (Kind::Return, "RETURN_OR_REFUND_REQUEST_PENDING") if record["return_type"] == "REFUND" => {
                Some("SELLER_RESPOND_REFUND")
            }
            (Kind::Return, "RETURN_OR_REFUND_REQUEST_PENDING") => Some("SELLER_RESPOND_RETURN"),
            (Kind::Return, "BUYER_SHIPPED_ITEM") => Some("SELLER_RESPOND_RECEIVE_PACKAGE"),
            _ => None,
        }
    }

    /// The webhook of a change made by `role` (BUYER, SELLER or SYSTEM): type 12
    /// RETURN_STATUS_CHANGE or type 11 CANCELLATION_STATUS_CHANGE (§4.4).
    fn webhook(self, record: &Value, role: &str) -> Notice {
        let shop_id = record["_shop"].as_str().unwrap_or_default().to_string();
        match self {
            Kind::Return => Notice::Record(
                shop_id,
                12,
                "RETURN_STATUS_CHANGE",
                json!({"order_id": record["order_id"], "return_role": role, "return_type": record["return_type"],
                       "return_status": record["return_status"], "return_id": record["return_id"],
                       "create_time": now(), "update_time": record["update_time"]}),
            ),
            Kind::Cancellation => Notice::Record(
                shop_id,
                11,
                "CANCELLATION_STATUS_CHANGE",
                json!({"order_id": record["order_id"], "cancellations_role": role,
                       "cancel_status": record["cancel_status"], "cancel_id": record["cancel_id"], "create_time": now()}),
            ),
        }
    }
}

/// A webhook to send once the state lock is released.
pub(crate) enum Notice {
    /// An after-sale status change: (shop id, topic, event type, data).
    Record(String, u32, &'static str, Value),
    /// An order cancelled by an approved cancellation: (shop id, order id).
    OrderCancelled(String, String),
}

impl Sandbox {
    /// Sends the webhooks of after-sale changes, in order.
    pub(crate) fn send(&self, notices: Vec<Notice>) {
        for notice in notices {
            match notice {
                Notice::Record(shop_id, topic, event_type, data) => {
                    self.notify(&shop_id, topic, event_type, data);
                }
                Notice::OrderCancelled(shop_id, order_id) => self.notify_order(&shop_id, &order_id, "CANCELLED"),
            }
        }
    }
}

/// Notes a change of `record` made by `role`: `update_time`, the seller's next action
/// (with a fresh 48-hour deadline, or none), a timeline entry; returns its webhook.
fn touch(kind: Kind, record: &mut Value, role: &str, event: &str, description: &str) -> Notice {
    let time = now();
    record["update_time"] = json!(time);
    record["seller_next_action_response"] = match kind.next_action(record) {
        Some(action) => json!([{"action": action, "deadline": time + RESPONSE_WINDOW}]),
        None => json!([]),
    };
    let entry = json!({"event": event, "description": description, "role": role, "create_time": time,
                       "note": "", "images": []});
    match record["_records"].as_array_mut() {
        Some(timeline) => timeline.push(entry),
        None => record["_records"] = json!([entry]),
    }
    kind.webhook(record, role)
}

/// Moves `record` to `status` as `role` did (see [`touch`]).
fn transition(kind: Kind, record: &mut Value, status: &str, role: &str, event: &str, description: &str) -> Notice {
    record[kind.status_key()] = json!(status);
    touch(kind, record, role, event, description)
}

/// Adds the seller's note and images to the last timeline entry.
fn annotate(record: &mut Value, note: &str, images: &Value) {
    if let Some(entry) = record["_records"].as_array_mut().and_then(|t| t.last_mut()) {
        entry["note"] = json!(note);
        entry["images"] = images.clone();
    }
}

fn decimal(value: &Value) -> Decimal {
    value
        .as_str()
        .and_then(|text| Decimal::from_str(text.trim()).ok())
        .unwrap_or_default()
}

fn money(value: Decimal) -> String {
    format!("{:.2}", value.round_dp(2))
}

/// A `refund_amount` block: subtotal plus tax, nothing for shipping or fees.
fn refund_amount(currency: &str, subtotal: Decimal, tax: Decimal) -> Value {
    json!({"currency": currency, "refund_total": money(subtotal + tax), "refund_subtotal": money(subtotal),
           "refund_shipping_fee": "0", "refund_tax": money(tax), "retail_delivery_fee": "0", "buyer_service_fee": "0"})
}

/// The order's units named by `line_ids` (every unit when empty), as the line items of
/// an after-sale record (`{prefix}_line_item_id` …), and their refund sum (sale price,
/// tax). Err names a unit that is not the order's.
fn line_items(
    state: &mut State,
    order: &Value,
    line_ids: &[&str],
    prefix: &str,
) -> Result<(Vec<Value>, Decimal, Decimal), String> {
    let currency = order["payment"]["currency"].as_str().unwrap_or("USD");
    let units: Vec<&Value> = order["line_items"].as_array().into_iter().flatten().collect();
    if let Some(stranger) = line_ids.iter().find(|id| !units.iter().any(|u| u["id"] == **id)) {
        return Err(format!("line item {stranger} is not one of order {}'s", order["id"]));
    }
    let (mut subtotal, mut tax) = (Decimal::ZERO, Decimal::ZERO);
    let mut items = Vec::new();
    for unit in units
        .into_iter()
        .filter(|u| line_ids.is_empty() || line_ids.iter().any(|id| u["id"] == *id))
    {
        let price = decimal(&unit["sale_price"]);
        let unit_tax: Decimal = unit["item_tax"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| decimal(&t["tax_amount"]))
            .sum();
        subtotal += price;
        tax += unit_tax;
        let image = unit["sku_image"].as_str().unwrap_or_default();
        items.push(json!({
            format!("{prefix}_line_item_id"): state.new_id(), "order_line_item_id": unit["id"], "sku_id": unit["sku_id"],
            "seller_sku": unit["seller_sku"].as_str().unwrap_or_default(), "sku_name": unit["sku_name"].as_str().unwrap_or_default(),
            "product_name": unit["product_name"].as_str().unwrap_or_default(),
            "product_image": {"url": image, "width": 200, "height": 200},
            "refund_amount": refund_amount(currency, price, unit_tax)}));
    }
    Ok((items, subtotal, tax))
}

/// The return types a buyer may ask for at an order status (§10 overview).
fn allows_return(order_status: &str, return_type: &str) -> bool {
    match return_type {
        "REFUND" => ["AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED"].contains(&order_status),
        "RETURN_AND_REFUND" | "REPLACEMENT" => order_status == "DELIVERED",
        _ => false,
    }
}

/// Whether a return is closed (it no longer holds its units).
fn closed(record: &Value) -> bool {
    let status = record["return_status"].as_str().unwrap_or_default();
    status.ends_with("REJECT") || status.ends_with("CANCEL") || status == "REJECT_RECEIVE_PACKAGE"
}

/// A buyer's return request, from the admin body `{order_id, return_type?,
/// order_line_item_ids?, return_reason?, return_reason_text?}`; Err says why the buyer
/// could not ask for it (order status, a unit not the order's or already in an open return).
pub(crate) fn request_return(state: &mut State, body: &Value) -> Result<Notice, String> {
    let order = order_of(state, body)?;
    let return_type = body["return_type"].as_str().unwrap_or("RETURN_AND_REFUND");
    if !["REFUND", "RETURN_AND_REFUND", "REPLACEMENT"].contains(&return_type) {
        return Err(format!("unknown return_type {return_type:?}"));
    }
    let order_status = order["status"].as_str().unwrap_or_default();
    if !allows_return(order_status, return_type) {
        return Err(format!(
            "a buyer cannot ask for {return_type} on an order in {order_status} (§10)"
        ));
    }
    let line_ids: Vec<&str> = body["order_line_item_ids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let (items, subtotal, tax) = line_items(state, &order, &line_ids, "return")?;
    let busy = state
        .returns
        .values()
        .filter(|r| r["order_id"] == order["id"] && !closed(r))
        .flat_map(|r| r["return_line_items"].as_array().cloned().unwrap_or_default())
        .find(|held| {
            items
                .iter()
                .any(|i| i["order_line_item_id"] == held["order_line_item_id"])
        });
    if let Some(held) = busy {
        return Err(format!(
            "line item {} is already in an open return",
            held["order_line_item_id"]
        ));
    }
    let id = state.new_id();
    let currency = order["payment"]["currency"].as_str().unwrap_or("USD");
    let status = if return_type == "REPLACEMENT" {
        "REPLACEMENT_REQUEST_PENDING"
    } else {
        "RETURN_OR_REFUND_REQUEST_PENDING"
    };
    let mut record = json!({
        "return_id": id, "_shop": order["_shop"], "order_id": order["id"], "return_type": return_type, "role": "BUYER",
        "return_reason": body["return_reason"].as_str().unwrap_or("ecom_order_delivered_refund_and_return_reason_damaged"),
        "return_reason_text": body["return_reason_text"].as_str().unwrap_or("Damaged item"),
        "refund_amount": refund_amount(currency, subtotal, tax), "return_line_items": items,
        "arbitration_status": "", "can_buyer_keep_item": false, "create_time": now()});
    if return_type == "RETURN_AND_REFUND" {
        record["return_method"] = json!("BUYER_SHIPPED");
    }
    let images = match &body["images"] {
        Value::Null => json!([]),
        Value::Array(images) if images.iter().all(|i| i["url"].is_string()) => body["images"].clone(),
        _ => return Err("images must be a list of {\"url\": …}".into()),
    };
    let notice = open(state, Kind::Return, record, status);
    // The buyer's photos and words travel with the request's first record entry.
    if let Some(stored) = state.returns.get_mut(&id) {
        let text = stored["return_reason_text"].as_str().unwrap_or_default().to_string();
        annotate(stored, &text, &images);
    }
    Ok(notice)
}

/// A buyer's cancellation request, from the admin body `{order_id, cancel_reason?,
/// cancel_reason_text?}`; only while the order is UNPAID, ON_HOLD or AWAITING_SHIPMENT
/// (§10 "Cancel by buyer") and no other request of the order is pending.
pub(crate) fn request_cancellation(state: &mut State, body: &Value) -> Result<Notice, String> {
    let order = order_of(state, body)?;
    let order_status = order["status"].as_str().unwrap_or_default();
    if !["UNPAID", "ON_HOLD", "AWAITING_SHIPMENT"].contains(&order_status) {
        return Err(format!("a buyer cannot ask to cancel an order in {order_status} (§10)"));
    }
    if state
        .cancellations
        .values()
        .any(|c| c["order_id"] == order["id"] && c["cancel_status"] == "CANCELLATION_REQUEST_PENDING")
    {
        return Err(format!(
            "order {} already has a pending cancellation request",
            order["id"]
        ));
    }
    let reason = body["cancel_reason"]
        .as_str()
        .unwrap_or("ecom_order_to_ship_canceled_reason_change_mind");
    let text = body["cancel_reason_text"].as_str().unwrap_or("Change of mind");
    let record = cancellation(state, &order, ("BUYER_CANCEL", "BUYER"), reason, text)?;
    Ok(open(state, Kind::Cancellation, record, "CANCELLATION_REQUEST_PENDING"))
}

/// A cancellation record of the whole order (refund: the order's total), not yet stored.
/// `by` is (`cancel_type`, `role`).
pub(crate) fn cancellation(
    state: &mut State,
    order: &Value,
    by: (&str, &str),
    reason: &str,
    text: &str,
) -> Result<Value, String> {
    let (items, ..) = line_items(state, order, &[], "cancel")?;
    let payment = &order["payment"];
    let field = |name: &str| json!(payment[name].as_str().unwrap_or("0"));
    let refund = json!({"currency": payment["currency"], "refund_total": field("total_amount"),
                        "refund_subtotal": field("sub_total"), "refund_shipping_fee": field("shipping_fee"),
                        "refund_tax": field("tax"), "retail_delivery_fee": field("retail_delivery_fee"),
                        "buyer_service_fee": field("buyer_service_fee")});
    Ok(
        json!({"cancel_id": state.new_id(), "_shop": order["_shop"], "order_id": order["id"], "cancel_type": by.0,
              "role": by.1, "cancel_reason": reason, "cancel_reason_text": text, "refund_amount": refund,
              "cancel_line_items": items, "create_time": now()}),
    )
}

fn order_of(state: &State, body: &Value) -> Result<Value, String> {
    let order_id = body["order_id"].as_str().unwrap_or_default();
    state
        .orders
        .get(order_id)
        .cloned()
        .ok_or_else(|| format!("unknown order_id {order_id:?}"))
}

/// Stores a new request in `status` (made by its `role`) and returns its webhook.
pub(crate) fn open(state: &mut State, kind: Kind, mut record: Value, status: &str) -> Notice {
    let role = record["role"].as_str().unwrap_or("BUYER").to_string();
    let notice = transition(
        kind,
        &mut record,
        status,
        &role,
        "REQUEST_CREATED",
        "The request was created",
    );
    let id = record[kind.id_key()].as_str().unwrap_or_default().to_string();
    kind.records(state).insert(id, record);
    notice
}

/// Runs `step` on a copy of the record `id` (of `shop_id` when given) with the rest of
/// the world at hand, and stores the copy when the step succeeds. `None` when there is
/// no such record.
pub(crate) fn update<E>(
    state: &mut State,
    kind: Kind,
    id: &str,
    shop_id: Option<&str>,
    step: impl FnOnce(&mut State, &mut Value) -> Result<Vec<Notice>, E>,
) -> Option<Result<Vec<Notice>, E>> {
    let mut record = kind
        .records(state)
        .get(id)
        .filter(|r| shop_id.is_none_or(|shop| r["_shop"] == shop))
        .cloned()?;
    let outcome = step(state, &mut record);
    if outcome.is_ok() {
        kind.records(state).insert(id.to_string(), record);
    }
    Some(outcome)
}

/// The stage of a return a decision answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The buyer's request (`*_REQUEST_PENDING`).
    Request,
    /// The returned package (`BUYER_SHIPPED_ITEM`).
    Package,
}

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Request => "request",
            Stage::Package => "package",
        }
    }
}

/// Return decisions (§10.2): (decision, approves, return types, stage).
const DECISIONS: [(&str, bool, &[&str], Stage); 10] = [
    ("APPROVE_REFUND", true, &["REFUND"], Stage::Request),
    ("APPROVE_RETURN", true, &["RETURN_AND_REFUND"], Stage::Request),
    ("APPROVE_RECEIVED_PACKAGE", true, &["RETURN_AND_REFUND"], Stage::Package),
    ("APPROVE_REPLACEMENT", true, &["REPLACEMENT"], Stage::Request),
    ("ISSUE_REPLACEMENT_REFUND", true, &["REPLACEMENT"], Stage::Request),
    (
        "OFFER_PARTIAL_REFUND",
        true,
        &["REFUND", "RETURN_AND_REFUND"],
        Stage::Request,
    ),
    ("REJECT_REFUND", false, &["REFUND"], Stage::Request),
    ("REJECT_RETURN", false, &["RETURN_AND_REFUND"], Stage::Request),
    ("REJECT_RECEIVED_PACKAGE", false, &["RETURN_AND_REFUND"], Stage::Package),
    ("REJECT_REPLACEMENT", false, &["REPLACEMENT"], Stage::Request),
];

/// The stage a return waits for the seller in, if any.
fn waiting_stage(record: &Value) -> Option<Stage> {
    match record["return_status"].as_str().unwrap_or_default() {
        "RETURN_OR_REFUND_REQUEST_PENDING" | "REPLACEMENT_REQUEST_PENDING" => Some(Stage::Request),
        "BUYER_SHIPPED_ITEM" => Some(Stage::Package),
        _ => None,
    }
}

/// Whether the seller's response to what the request waits for is overdue.
fn overdue(record: &Value) -> bool {
    record["seller_next_action_response"][0]["deadline"]
        .as_i64()
        .is_some_and(|deadline| deadline < now())
}

/// Reject reasons (Get Reject Reasons): for a cancellation the seller's cancel-reject
/// keys (§10.1); for a return waiting at its package the package reasons, else the
/// request reasons.
pub(crate) fn reject_reasons(kind: Kind, record: &Value) -> &'static [(&'static str, &'static str)] {
    match (kind, waiting_stage(record)) {
        (Kind::Cancellation, _) => &[
            (
                "seller_reject_apply_product_has_been_packed",
                "The product has already been packed",
            ),
            (
                "order_manage_list_action_respond_popup_reject_reason_invalid_cancellation_reason",
                "Invalid cancellation reason",
            ),
            (
                "order_manage_list_action_respond_popup_reject_reason_delivered",
                "The package will be delivered on schedule",
            ),
            (
                "order_manage_list_action_respond_popup_reject_reason_buyer_agree",
                "The buyer agreed to keep the order",
            ),
        ],
        (Kind::Return, Some(Stage::Package)) => &[
            ("reverse_reject_receive_reason_1", "Package not received"),
            ("reverse_reject_receive_reason_2", "Returned item is not the one sold"),
        ],
        (Kind::Return, _) => &[
            ("reverse_reject_request_reason_1", "The buyer has not returned the item"),
            (
                "reverse_reject_request_reason_2",
                "Product was used or damaged by the buyer",
            ),
            (
                "reverse_reject_request_reason_3",
                "Request is outside the return window",
            ),
        ],
    }
}

/// A rejection body: `reject_reason` one of the record's reasons (its text returned),
/// `comment` at most 500 characters, `images[] {image_id, mime_type?, width?, height?}`.
fn check_rejection(kind: Kind, record: &Value, body: &Value) -> Result<&'static str, Refusal> {
    let Some(reason) = body["reject_reason"].as_str().filter(|r| !r.is_empty()) else {
        return Err(refusal(
            WRONG_DECISION,
            "A reject decision and a reject_reason are required",
        ));
    };
    let Some((_, text)) = reject_reasons(kind, record).iter().find(|(name, _)| *name == reason) else {
        return Err(refusal(INVALID_REASON, format!("Invalid reject reason {reason:?}")));
    };
    if body["comment"].as_str().is_some_and(|c| c.chars().count() > 500) {
        return Err(refusal(INVALID_PARAMETER, "comment must be at most 500 characters"));
    }
    let image_ok = |image: &Value| {
        let positive = |key: &str| image[key].is_null() || image[key].as_u64().is_some_and(|n| n > 0);
        image["image_id"].as_str().is_some_and(|id| !id.is_empty())
            && (image["mime_type"].is_null() || image["mime_type"].as_str().is_some_and(|m| m.starts_with("image/")))
            && positive("width")
            && positive("height")
    };
    match &body["images"] {
        Value::Null => Ok(text),
        Value::Array(images) if images.iter().all(image_ok) => Ok(text),
        _ => Err(refusal(
            INVALID_PARAMETER,
            "images must be [{image_id, mime_type, width, height}]",
        )),
    }
}

/// The offer of an OFFER_PARTIAL_REFUND: `partial_refund {amount, currency}`, the amount
/// a decimal string above 0 and below the refund total, in the return's currency.
fn check_offer(record: &Value, body: &Value) -> Result<Value, Refusal> {
    let total = decimal(&record["refund_amount"]["refund_total"]);
    let currency = &record["refund_amount"]["currency"];
    let offer = &body["partial_refund"];
    let amount = offer["amount"].as_str().and_then(|a| Decimal::from_str(a.trim()).ok());
    match amount {
        Some(amount) if amount > Decimal::ZERO && amount < total && offer["currency"] == *currency => {
            Ok(json!({"amount": money(amount), "currency": currency}))
        }
        _ => Err(refusal(
            INVALID_PARAMETER,
            format!(
                "partial_refund must be {{amount, currency}}: a decimal string above 0 and below {total}, in {currency}"
            ),
        )),
    }
}

/// Refunds the whole return: SUCCESS (decided by `role`), then the platform issues the
/// refund (COMPLETE).
fn refund(record: &mut Value, role: &str, description: &str) -> Vec<Notice> {
    let approved = transition(
        Kind::Return,
        record,
        "RETURN_OR_REFUND_REQUEST_SUCCESS",
        role,
        "REFUND_APPROVED",
        description,
    );
    let issued = format!(
        "The platform refunded {} {}",
        record["refund_amount"]["refund_total"].as_str().unwrap_or_default(),
        record["refund_amount"]["currency"].as_str().unwrap_or_default()
    );
    let complete = transition(
        Kind::Return,
        record,
        "RETURN_OR_REFUND_REQUEST_COMPLETE",
        "SYSTEM",
        "REFUND_ISSUED",
        &issued,
    );
    vec![approved, complete]
}

/// Applies an approve decision that fits the return (checked by the caller), as `role`.
fn approve_return(record: &mut Value, decision: &str, role: &str, body: &Value) -> Vec<Notice> {
    let (status, event, description) = match decision {
        "APPROVE_REFUND" => return refund(record, role, "The refund was approved"),
        "APPROVE_RETURN" if body["buyer_keep_item"] == true => {
            record["can_buyer_keep_item"] = json!(true);
            return refund(
                record,
                role,
                "A refund without return was approved: the buyer keeps the item",
            );
        }
        "APPROVE_RETURN" => (
            "AWAITING_BUYER_SHIP",
            "RETURN_APPROVED",
            "The return was approved; the buyer ships the item back",
        ),
        "APPROVE_RECEIVED_PACKAGE" => (
            "RETURN_OR_REFUND_REQUEST_COMPLETE",
            "PACKAGE_RECEIVED",
            "The returned package was received; the platform refunded the buyer",
        ),
        "APPROVE_REPLACEMENT" => (
            "REPLACEMENT_REQUEST_COMPLETE",
            "REPLACEMENT_APPROVED",
            "The replacement was approved",
        ),
        "ISSUE_REPLACEMENT_REFUND" => (
            "REPLACEMENT_REQUEST_REFUND_SUCCESS",
            "REPLACEMENT_REFUNDED",
            "A refund was issued instead of the replacement",
        ),
        _ => return offer_partial_refund(record, role, body),
    };
    vec![transition(Kind::Return, record, status, role, event, description)]
}

/// OFFER_PARTIAL_REFUND (its offer checked with the decision): the buyer is asked.
fn offer_partial_refund(record: &mut Value, role: &str, body: &Value) -> Vec<Notice> {
    let offer = check_offer(record, body).unwrap_or_default();
    let description = format!(
        "The seller offered a partial refund of {} {}",
        offer["amount"].as_str().unwrap_or_default(),
        offer["currency"].as_str().unwrap_or_default()
    );
    record["partial_refund"] = offer;
    record["seller_proposed_return_type"] = json!("PARTIAL_REFUND");
    record["buyer_rejected_partial_refund"] = json!(false);
    vec![transition(
        Kind::Return,
        record,
        "AWAITING_BUYER_RESPONSE",
        role,
        "PARTIAL_REFUND_OFFERED",
        &description,
    )]
}

/// The seller's decision on a return (Approve / Reject Return, §10.2), `approving`
/// for the approve route. Refusals, in order: a decision of the other route or unknown
/// (`25020004`), no such return of the shop (`25007006`), platform arbitration in
/// progress (`25011010`), a decision for another return type (`25020004`), the deadline
/// passed (`25020011`), the stage already decided (`25011012`), the status not yet at
/// the decision's stage (`25020003`), an invalid reject reason (`25020006`), an invalid
/// offer, comment or images (`36009004`).
pub(crate) fn decide_return(
    state: &mut State,
    shop_id: &str,
    return_id: &str,
    body: &Value,
    approving: bool,
) -> Result<Vec<Notice>, Refusal> {
    let decision = body["decision"].as_str().unwrap_or_default();
    let Some(&(_, _, types, stage)) = DECISIONS
        .iter()
        .find(|(name, approves, ..)| *name == decision && *approves == approving)
    else {
        let wanted = if approving {
            "An approve decision is required"
        } else {
            "A reject decision and a reject_reason are required"
        };
        return Err(refusal(WRONG_DECISION, format!("{wanted}, not {decision:?}")));
    };
    let outcome = update(state, Kind::Return, return_id, Some(shop_id), |_, record| {
        if record["arbitration_status"] == "IN_PROGRESS" {
            return Err(refusal(IN_ARBITRATION, "The request is under platform arbitration"));
        }
        if !types.contains(&record["return_type"].as_str().unwrap_or_default()) {
            return Err(refusal(
                WRONG_DECISION,
                format!("The return type {} does not allow {decision}", record["return_type"]),
            ));
        }
        let waiting = waiting_stage(record);
        if record["_lapsed"] == stage.name() || (waiting == Some(stage) && overdue(record)) {
            return Err(refusal(DEADLINE_PASSED, "The response deadline has passed"));
        }
        let package_done = record["return_tracking_number"].is_string() && waiting.is_none();
        if waiting != Some(stage) {
            return Err(match stage {
                Stage::Request => refusal(ALREADY_PROCESSED, "The request has already been processed"),
                Stage::Package if package_done => refusal(ALREADY_PROCESSED, "The request has already been processed"),
                Stage::Package => refusal(WRONG_STATUS, "The return status does not allow this decision"),
            });
        }
        if approving {
            if decision == "OFFER_PARTIAL_REFUND" {
                check_offer(record, body)?;
            }
            return Ok(approve_return(record, decision, "SELLER", body));
        }
        let text = check_rejection(Kind::Return, record, body)?;
        let status = match decision {
            "REJECT_RECEIVED_PACKAGE" => "REJECT_RECEIVE_PACKAGE",
            "REJECT_REPLACEMENT" => "REPLACEMENT_REQUEST_REJECT",
            _ => "REFUND_OR_RETURN_REQUEST_REJECT",
        };
        Ok(vec![reject(Kind::Return, record, status, body, text)])
    });
    outcome.unwrap_or_else(|| Err(refusal(NOT_FOUND, "The return does not exist")))
}

/// Rejects a request with the reason (its key and text kept on the record).
fn reject(kind: Kind, record: &mut Value, status: &str, body: &Value, text: &str) -> Notice {
    record["reject_reason"] = body["reject_reason"].clone();
    record["reject_reason_text"] = json!(text);
    let description = format!("The seller rejected the request: {text}");
    let notice = transition(kind, record, status, "SELLER", "SELLER_REJECTED", &description);
    annotate(
        record,
        body["comment"].as_str().unwrap_or_default(),
        &body["images"].as_array().map_or(json!([]), |images| json!(images)),
    );
    notice
}

/// Approves a cancellation as `role`: SUCCESS and the order CANCELLED (its
/// ORDER_STATUS_CHANGE), then the platform refunds the buyer (COMPLETE).
fn approve_cancellation(state: &mut State, record: &mut Value, role: &str) -> Vec<Notice> {
    let kind = Kind::Cancellation;
    let order_id = record["order_id"].as_str().unwrap_or_default().to_string();
    let approved = transition(
        kind,
        record,
        "CANCELLATION_REQUEST_SUCCESS",
        role,
        "CANCELLATION_APPROVED",
        "The cancellation was approved; the order is cancelled",
    );
    if let Some(order) = state.orders.get_mut(&order_id) {
        order["status"] = json!("CANCELLED");
        order["update_time"] = json!(now());
    }
    let shop_id = record["_shop"].as_str().unwrap_or_default().to_string();
    let refunded = transition(
        kind,
        record,
        "CANCELLATION_REQUEST_COMPLETE",
        "SYSTEM",
        "REFUND_ISSUED",
        "The platform refunded the buyer",
    );
    vec![approved, Notice::OrderCancelled(shop_id, order_id), refunded]
}

/// The seller's decision on a buyer's cancellation request (§10.1). Refusals: no such
/// cancellation of the shop (`25007006`), the deadline passed (`25020011`), already
/// decided (`25011012`), for a rejection an invalid reason (`25020006`), comment or
/// images (`36009004`). A rejection closes the request (`CANCELLATION_REQUEST_CANCEL`)
/// with `reject_reason` / `reject_reason_text` on the record; the order stays.
pub(crate) fn decide_cancellation(
    state: &mut State,
    shop_id: &str,
    cancel_id: &str,
    body: &Value,
    approving: bool,
) -> Result<Vec<Notice>, Refusal> {
    let outcome = update(state, Kind::Cancellation, cancel_id, Some(shop_id), |state, record| {
        let pending = record["cancel_status"] == "CANCELLATION_REQUEST_PENDING";
        if record["_lapsed"] == Stage::Request.name() || (pending && overdue(record)) {
            return Err(refusal(DEADLINE_PASSED, "The response deadline has passed"));
        }
        if !pending {
            return Err(refusal(ALREADY_PROCESSED, "The request has already been processed"));
        }
        if approving {
            return Ok(approve_cancellation(state, record, "SELLER"));
        }
        let text = check_rejection(Kind::Cancellation, record, body)?;
        Ok(vec![reject(
            Kind::Cancellation,
            record,
            "CANCELLATION_REQUEST_CANCEL",
            body,
            text,
        )])
    });
    outcome.unwrap_or_else(|| Err(refusal(NOT_FOUND, "The cancellation does not exist")))
}

/// The response deadline passes (admin): the deadline moves into the past and TikTok
/// decides for the seller, as it does: a pending cancellation is approved (order
/// cancelled, refund issued); a pending return is approved by its type (REFUND →
/// refunded, SUCCESS then COMPLETE; RETURN_AND_REFUND → AWAITING_BUYER_SHIP;
/// REPLACEMENT → REPLACEMENT_REQUEST_COMPLETE); a shipped return's package is taken as
/// received (COMPLETE). Later decisions of that stage get `25020011`. Err when nothing
/// waits for the seller.
pub(crate) fn lapse(state: &mut State, kind: Kind, record: &mut Value) -> Result<Vec<Notice>, String> {
    let stage = match kind {
        Kind::Cancellation if record["cancel_status"] == "CANCELLATION_REQUEST_PENDING" => Stage::Request,
        Kind::Return if record["arbitration_status"] != "IN_PROGRESS" => {
            waiting_stage(record).ok_or("nothing waits for the seller's response")?
        }
        _ => return Err("nothing waits for the seller's response".into()),
    };
    record["seller_next_action_response"][0]["deadline"] = json!(now() - 1);
    record["_lapsed"] = json!(stage.name());
    if kind == Kind::Cancellation {
        return Ok(approve_cancellation(state, record, "SYSTEM"));
    }
    let decision = match (stage, record["return_type"].as_str().unwrap_or_default()) {
        (Stage::Package, _) => "APPROVE_RECEIVED_PACKAGE",
        (_, "REFUND") => "APPROVE_REFUND",
        (_, "REPLACEMENT") => "APPROVE_REPLACEMENT",
        _ => "APPROVE_RETURN",
    };
    Ok(approve_return(record, decision, "SYSTEM", &json!({})))
}

/// The buyer ships the return (admin): only at AWAITING_BUYER_SHIP; the tracking
/// number is `tracking_number` or a generated one.
pub(crate) fn ship_return(state: &mut State, record: &mut Value, body: &Value) -> Result<Vec<Notice>, String> {
    if record["return_status"] != "AWAITING_BUYER_SHIP" {
        return Err(format!(
            "the buyer ships only at AWAITING_BUYER_SHIP, not {}",
            record["return_status"]
        ));
    }
    let tracking = match body["tracking_number"].as_str() {
        Some(tracking) if !tracking.is_empty() => tracking.to_string(),
        _ => format!("RT{}", state.new_id()),
    };
    record["return_tracking_number"] = json!(tracking);
    let description = format!("The buyer shipped the item back (tracking {tracking})");
    Ok(vec![transition(
        Kind::Return,
        record,
        "BUYER_SHIPPED_ITEM",
        "BUYER",
        "BUYER_SHIPPED",
        &description,
    )])
}

/// The buyer answers a partial-refund offer (admin): only at AWAITING_BUYER_RESPONSE;
/// accepting completes the refund with the offered amount, refusing sends the request
/// back to the seller (`buyer_rejected_partial_refund: true`).
pub(crate) fn answer_offer(record: &mut Value, body: &Value) -> Result<Vec<Notice>, String> {
    if record["return_status"] != "AWAITING_BUYER_RESPONSE" {
        return Err(format!(
            "the buyer answers an offer only at AWAITING_BUYER_RESPONSE, not {}",
            record["return_status"]
        ));
    }
    let Some(accept) = body["accept"].as_bool() else {
        return Err("accept must be true or false".into());
    };
    if !accept {
        record["buyer_rejected_partial_refund"] = json!(true);
        return Ok(vec![transition(
            Kind::Return,
            record,
            "RETURN_OR_REFUND_REQUEST_PENDING",
            "BUYER",
            "PARTIAL_REFUND_REFUSED",
            "The buyer refused the partial refund",
        )]);
    }
    let amount = record["partial_refund"]["amount"].clone();
    for field in ["refund_total", "refund_subtotal"] {
        record["refund_amount"][field] = amount.clone();
    }
    record["refund_amount"]["refund_tax"] = json!("0");
    let description = format!(
        "The buyer accepted the partial refund; the platform refunded {}",
        amount.as_str().unwrap_or_default()
    );
    Ok(vec![transition(
        Kind::Return,
        record,
        "RETURN_OR_REFUND_REQUEST_COMPLETE",
        "BUYER",
        "PARTIAL_REFUND_ACCEPTED",
        &description,
    )])
}

/// Platform arbitration (admin): IN_PROGRESS opens it on a return not yet arbitrated
/// (the seller can no longer decide); SUPPORT_BUYER, SUPPORT_SELLER or CLOSED end an
/// arbitration in progress, SUPPORT_BUYER also refunding the buyer (the return
/// COMPLETE, a replacement REPLACEMENT_REQUEST_COMPLETE).
pub(crate) fn arbitrate(record: &mut Value, body: &Value) -> Result<Vec<Notice>, String> {
    let verdict = body["arbitration_status"].as_str().unwrap_or_default();
    let current = record["arbitration_status"].as_str().unwrap_or_default();
    let final_status = record["return_status"] == "RETURN_OR_REFUND_REQUEST_COMPLETE";
    match verdict {
        "IN_PROGRESS" if current.is_empty() && !final_status => {}
        "SUPPORT_BUYER" | "SUPPORT_SELLER" | "CLOSED" if current == "IN_PROGRESS" => {}
        "IN_PROGRESS" | "SUPPORT_BUYER" | "SUPPORT_SELLER" | "CLOSED" => {
            return Err(format!(
                "arbitration cannot go from {current:?} to {verdict} on a return in {}",
                record["return_status"]
            ));
        }
        _ => {
            return Err("arbitration_status must be IN_PROGRESS, SUPPORT_BUYER, SUPPORT_SELLER or CLOSED".into());
        }
    }
    record["arbitration_status"] = json!(verdict);
    let description = format!("Platform arbitration: {verdict}");
    if verdict == "SUPPORT_BUYER" {
        let status = if record["return_type"] == "REPLACEMENT" {
            "REPLACEMENT_REQUEST_COMPLETE"
        } else {
            "RETURN_OR_REFUND_REQUEST_COMPLETE"
        };
        return Ok(vec![transition(
            Kind::Return,
            record,
            status,
            "SYSTEM",
            "ARBITRATION",
            &description,
        )]);
    }
    Ok(vec![touch(Kind::Return, record, "SYSTEM", "ARBITRATION", &description)])
}
