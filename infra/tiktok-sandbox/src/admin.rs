//! The admin API under `/sandbox/`: what a tester (or an external check) does to the
//! sandbox world and reads back from it. Not part of TikTok's API; unsigned.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use sandbox_kit::admin::{bad_request, not_found};

use crate::after_sales::{self, Kind, Notice};
use crate::state::AuthCode;
use crate::{Sandbox, now};

/// The admin routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/sandbox/shops", get(shops))
        .route("/sandbox/products", get(products))
        .route("/sandbox/products/{id}/inventory", post(stock_warehouses))
        .route("/sandbox/reviews", post(hold_reviews))
        .route("/sandbox/orders", post(place_order))
        .route("/sandbox/orders/{id}", get(order))
        .route("/sandbox/orders/{id}/status", post(move_order))
        .route("/sandbox/orders/{id}/notify", post(renotify_order))
        .route("/sandbox/orders/{id}/address", post(change_address))
        .route("/sandbox/cancellations", post(request_cancellation))
        .route("/sandbox/cancellations/{id}/expire", post(expire_cancellation))
        .route("/sandbox/returns", post(request_return))
        .route("/sandbox/returns/{id}/ship", post(ship_return))
        .route("/sandbox/returns/{id}/buyer-response", post(answer_offer))
        .route("/sandbox/returns/{id}/arbitration", post(arbitrate))
        .route("/sandbox/returns/{id}/expire", post(expire_return))
        .route("/sandbox/authorize", post(mint_auth_code))
        .route("/open/authorize", get(authorize_page))
        .route("/sandbox/tokens/expire", post(expire_tokens))
        .route("/sandbox/promotions", post(lock_price))
        .route("/sandbox/deliveries", get(deliveries))
        .route("/sandbox/stats", get(stats))
}

impl Sandbox {
    /// Sends ORDER_STATUS_CHANGE (type 1); the webhook spells cancelled `CANCEL`.
    pub(crate) fn notify_order(&self, shop_id: &str, order_id: &str, status: &str) {
        let webhook_status = if status == "CANCELLED" { "CANCEL" } else { status };
        let data = json!({"order_id": order_id, "order_status": webhook_status, "is_on_hold_order": status == "ON_HOLD", "update_time": now()});
        let notification_id = self.lock().new_id();
        self.lock()
            .order_notifications
            .insert(order_id.to_string(), (notification_id.clone(), data.clone()));
        self.send_notification(shop_id, 1, "ORDER_STATUS_CHANGE", &notification_id, data);
    }
}

async fn shops(State(sandbox): State<Sandbox>) -> Response {
    let state = sandbox.lock();
    let shops: Vec<Value> = state
        .shops
        .values()
        .map(|s| json!({"id": s.id, "cipher": s.cipher, "region": s.region, "currency": s.currency, "name": s.name, "warehouses": s.warehouses}))
        .collect();
    Json(shops).into_response()
}

async fn products(State(sandbox): State<Sandbox>) -> Response {
    let state = sandbox.lock();
    let products: Vec<Value> = state
        .products
        .values()
        .map(|p| {
            let skus: Vec<Value> = p["skus"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| json!({"id": s["id"], "seller_sku": s["seller_sku"], "inventory": s["inventory"], "price": s["price"]}))
                .collect();
            json!({"id": p["id"], "shop_id": p["_shop"], "title": p["title"], "status": p["status"], "audit": p["audit"],
                   "audit_failed_reasons": p["audit_failed_reasons"], "skus": skus,
                   "package_weight": p["package_weight"], "package_dimensions": p["package_dimensions"]})
        })
        .collect();
    Json(products).into_response()
}

/// Sets a SKU's stock per warehouse, as a seller does in Seller Center (e.g. stock
/// in a second warehouse the connector does not manage). Body `{"sku_id": "…",
/// "inventory": [{"warehouse_id": "…", "quantity": 4}]}`; every warehouse must be one
/// of the shop's enabled sales warehouses (400 otherwise; 404 for an unknown product).
async fn stock_warehouses(State(sandbox): State<Sandbox>, Path(id): Path<String>, Json(body): Json<Value>) -> Response {
    let mut state = sandbox.lock();
    let Some(product) = state.products.get(&id) else {
        return not_found("product");
    };
    let shop_id = product["_shop"].as_str().unwrap_or_default();
    let warehouses = state
        .shops
        .get(shop_id)
        .map(|s| s.sales_warehouse_ids())
        .unwrap_or_default();
    let inventory = body["inventory"].as_array().cloned().unwrap_or_default();
    let known = |w: &Value| {
        w["warehouse_id"]
            .as_str()
            .is_some_and(|id| warehouses.iter().any(|x| x == id))
    };
    if inventory.is_empty() || !inventory.iter().all(|w| known(w) && w["quantity"].is_u64()) {
        return bad_request("inventory must list the shop's sales warehouses with whole quantities");
    }
    let product = state.products.get_mut(&id).expect("found above");
    let sku = product["skus"]
        .as_array_mut()
        .and_then(|skus| skus.iter_mut().find(|s| s["id"] == body["sku_id"]));
    match sku {
        Some(sku) => {
            sku["inventory"] = json!(inventory);
            Json(json!({"inventory": inventory})).into_response()
        }
        None => not_found("SKU"),
    }
}

/// Holds reviews (`{"hold": true}`) until released (`{"hold": false}`): products and
/// edits stay in review meanwhile, as long reviews do on TikTok.
async fn hold_reviews(State(sandbox): State<Sandbox>, Json(body): Json<Value>) -> Response {
    let Some(hold) = body["hold"].as_bool() else {
        return bad_request("hold must be true or false");
    };
    sandbox.lock().reviews_held = hold;
    Json(json!({"hold": hold})).into_response()
}

/// Stores an order given in the shape of Get Order Detail (plus `shop_id`) and sends
/// its ORDER_STATUS_CHANGE webhook.
async fn place_order(State(sandbox): State<Sandbox>, Json(mut order): Json<Value>) -> Response {
    let shop_id = order["shop_id"].as_str().unwrap_or_default().to_string();
    if !sandbox.lock().shops.contains_key(&shop_id) {
        return bad_request(format!("unknown shop_id {shop_id:?}"));
    }
    let Some(lines) = order["line_items"].as_array().filter(|l| !l.is_empty()) else {
        return bad_request("line_items must hold at least one unit");
    };
    if lines.iter().any(|l| l["sku_id"].as_str().is_none_or(str::is_empty)) {
        return bad_request("every line item needs a sku_id");
    }
    let order_id = match order["id"].as_str() {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => sandbox.lock().new_id(),
    };
    if sandbox.lock().orders.contains_key(&order_id) {
        return bad_request(format!(
            "order {order_id} exists; use /sandbox/orders/{order_id}/status"
        ));
    }
    let status = order["status"].as_str().unwrap_or("AWAITING_SHIPMENT").to_string();
    let defaults = [
        ("id", json!(order_id)),
        ("status", json!(status)),
        ("create_time", json!(now())),
        ("update_time", json!(now())),
        ("paid_time", json!(now())),
        ("fulfillment_type", json!("FULFILLMENT_BY_SELLER")),
        ("shipping_type", json!("SELLER")),
        ("delivery_option_id", json!("7091146663229654785")),
        ("is_sample_order", json!(false)),
        ("is_on_hold_order", json!(status == "ON_HOLD")),
        ("buyer_message", json!("")),
    ];
    for (key, value) in defaults {
        if order.get(key).is_none_or(Value::is_null) {
            order[key] = value;
        }
    }
    let next_line_id = || sandbox.lock().new_id();
    for line in order["line_items"].as_array_mut().into_iter().flatten() {
        if line["id"].as_str().is_none_or(str::is_empty) {
            line["id"] = json!(next_line_id());
        }
    }
    if let Err(message) = crate::orders::settle_payment(&mut order) {
        return bad_request(message);
    }
    let package_id = sandbox.lock().new_id();
    crate::orders::package_at_payment(&mut order, package_id.clone());
    order["_shop"] = json!(shop_id);
    if let Some(map) = order.as_object_mut() {
        map.remove("shop_id");
    }
    let mut state = sandbox.lock();
    if order["packages"].is_array() {
        let units: Vec<Value> = order["line_items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| l["id"].clone())
            .collect();
        let package = json!({"package_id": package_id, "_shop": shop_id, "order_id": order_id, "package_status": "PROCESSING",
                             "order_line_item_ids": units, "create_time": now(), "update_time": now()});
        state.packages.insert(package_id, package);
    }
    crate::orders::take_stock(&mut state.products, &shop_id, &order);
    state.orders.insert(order_id.clone(), order);
    drop(state);
    sandbox.notify_order(&shop_id, &order_id, &status);
    (StatusCode::CREATED, Json(json!({"order_id": order_id}))).into_response()
}

async fn order(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Response {
    match sandbox.lock().orders.get(&id) {
        Some(order) => Json(order.clone()).into_response(),
        None => not_found("order"),
    }
}

async fn move_order(State(sandbox): State<Sandbox>, Path(id): Path<String>, Json(body): Json<Value>) -> Response {
    let Some(status) = body["status"].as_str().filter(|s| !s.is_empty()).map(str::to_string) else {
        return bad_request("status is required");
    };
    let shop_id = {
        let mut state = sandbox.lock();
        let Some(order) = state.orders.get_mut(&id) else {
            return not_found("order");
        };
        order["status"] = json!(status);
        order["is_on_hold_order"] = json!(status == "ON_HOLD");
        order["update_time"] = json!(now());
        if status == "CANCELLED" {
            // TikTok's own cancellation (a system reason unless the body names one).
            let reason = body["cancel_reason"]
                .as_str()
                .unwrap_or("system_cancel_order_reason_shipping_timeout");
            order["cancel_reason"] = json!(reason);
            order["cancellation_initiator"] = json!(body["cancellation_initiator"].as_str().unwrap_or("SYSTEM"));
            order["cancel_time"] = json!(now());
        }
        order["_shop"].as_str().unwrap_or_default().to_string()
    };
    sandbox.notify_order(&shop_id, &id, &status);
    Json(json!({"order_id": id, "status": status})).into_response()
}

/// The buyer changes the recipient address: the fields of `body` replace those of
/// `recipient_address`, and RECIPIENT_ADDRESS_UPDATE (type 3) is sent.
async fn change_address(State(sandbox): State<Sandbox>, Path(id): Path<String>, Json(body): Json<Value>) -> Response {
    let Some(fields) = body.as_object().filter(|f| !f.is_empty()) else {
        return bad_request("recipient_address fields are required");
    };
    let (shop_id, address, notification_id) = {
        let mut state = sandbox.lock();
        let notification_id = state.new_id();
        let Some(order) = state.orders.get_mut(&id) else {
            return not_found("order");
        };
        for (field, value) in fields {
            order["recipient_address"][field] = value.clone();
        }
        order["update_time"] = json!(now());
        let shop_id = order["_shop"].as_str().unwrap_or_default().to_string();
        (shop_id, order["recipient_address"].clone(), notification_id)
    };
    let data = json!({"order_id": id, "update_time": now()});
    sandbox.send_notification(&shop_id, 3, "RECIPIENT_ADDRESS_UPDATE", &notification_id, data);
    Json(json!({"order_id": id, "recipient_address": address})).into_response()
}

/// Delivers the order's last notification again, same id: a duplicate delivery. With
/// `?stale_status=S`, delivers instead a late notification of an earlier status `S`
/// (fresh id, update time a minute ago) without moving the order: out-of-order delivery.
async fn renotify_order(
    State(sandbox): State<Sandbox>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let found = {
        let state = sandbox.lock();
        state
            .orders
            .get(&id)
            .map(|o| o["_shop"].as_str().unwrap_or_default().to_string())
            .zip(state.order_notifications.get(&id).cloned())
    };
    let Some((shop_id, (mut notification_id, mut data))) = found else {
        return not_found("order notification");
    };
    if let Some(stale_status) = query.get("stale_status") {
        notification_id = sandbox.lock().new_id();
        data["order_status"] = json!(stale_status);
        data["update_time"] = json!(now() - 60);
    }
    let sent = sandbox.send_notification(&shop_id, 1, "ORDER_STATUS_CHANGE", &notification_id, data);
    Json(json!({"order_id": id, "notification_id": notification_id, "sent": sent})).into_response()
}

/// A buyer asks to cancel an order (see [`after_sales::request_cancellation`]); 201
/// `{cancel_id}`, 400 with the reason the buyer could not ask.
async fn request_cancellation(State(sandbox): State<Sandbox>, Json(body): Json<Value>) -> Response {
    open_request(&sandbox, Kind::Cancellation, |state| {
        after_sales::request_cancellation(state, &body)
    })
}

/// A buyer asks for a refund, a return or a replacement (see
/// [`after_sales::request_return`]); 201 `{return_id}`, 400 with the reason the buyer
/// could not ask.
async fn request_return(State(sandbox): State<Sandbox>, Json(body): Json<Value>) -> Response {
    open_request(&sandbox, Kind::Return, |state| {
        after_sales::request_return(state, &body)
    })
}

fn open_request(
    sandbox: &Sandbox,
    kind: Kind,
    open: impl FnOnce(&mut crate::State) -> Result<Notice, String>,
) -> Response {
    let outcome = open(&mut sandbox.lock());
    match outcome {
        Ok(notice) => {
            let id = match &notice {
                Notice::Record(_, _, _, data) => data[kind.id_key()].clone(),
                Notice::OrderCancelled(..) => Value::Null,
            };
            sandbox.send(vec![notice]);
            (StatusCode::CREATED, Json(json!({kind.id_key(): id}))).into_response()
        }
        Err(message) => bad_request(message),
    }
}

/// Applies a step of the buyer or the platform to one after-sale record and sends its
/// webhooks: 200 with the record after it, 404 for an unknown id, 400 with the reason
/// the step does not apply.
fn after_sale_step(
    sandbox: &Sandbox,
    kind: Kind,
    id: &str,
    step: impl FnOnce(&mut crate::State, &mut Value) -> Result<Vec<Notice>, String>,
) -> Response {
    let outcome = after_sales::update(&mut sandbox.lock(), kind, id, None, step);
    match outcome {
        None => not_found(kind.name()),
        Some(Err(message)) => bad_request(message),
        Some(Ok(notices)) => {
            sandbox.send(notices);
            let record = kind.records(&mut sandbox.lock()).get(id).map(crate::api::public);
            Json(record).into_response()
        }
    }
}

/// The buyer ships a return back: body `{"tracking_number"?}`.
async fn ship_return(State(sandbox): State<Sandbox>, Path(id): Path<String>, body: Option<Json<Value>>) -> Response {
    let body = body.map(|Json(body)| body).unwrap_or_default();
    after_sale_step(&sandbox, Kind::Return, &id, |state, record| {
        after_sales::ship_return(state, record, &body)
    })
}

/// The buyer answers the seller's partial-refund offer: body `{"accept": bool}`.
async fn answer_offer(State(sandbox): State<Sandbox>, Path(id): Path<String>, Json(body): Json<Value>) -> Response {
    after_sale_step(&sandbox, Kind::Return, &id, |_, record| {
        after_sales::answer_offer(record, &body)
    })
}

/// Platform arbitration of a return: body `{"arbitration_status": …}`.
async fn arbitrate(State(sandbox): State<Sandbox>, Path(id): Path<String>, Json(body): Json<Value>) -> Response {
    after_sale_step(&sandbox, Kind::Return, &id, |_, record| {
        after_sales::arbitrate(record, &body)
    })
}

/// The seller's response deadline of a return passes (see [`after_sales::lapse`]).
async fn expire_return(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Response {
    after_sale_step(&sandbox, Kind::Return, &id, |state, record| {
        after_sales::lapse(state, Kind::Return, record)
    })
}

/// The seller's response deadline of a cancellation request passes.
async fn expire_cancellation(State(sandbox): State<Sandbox>, Path(id): Path<String>) -> Response {
    after_sale_step(&sandbox, Kind::Cancellation, &id, |state, record| {
        after_sales::lapse(state, Kind::Cancellation, record)
    })
}

/// Mints an authorization code (30 minutes, single use) for the given shops (all by default).
async fn mint_auth_code(State(sandbox): State<Sandbox>, body: Option<Json<Value>>) -> Response {
    let mut state = sandbox.lock();
    let requested: Vec<String> = body
        .and_then(|Json(b)| b["shop_ids"].as_array().cloned())
        .map(|ids| ids.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_else(|| state.shops.keys().cloned().collect());
    if requested.is_empty() || requested.iter().any(|id| !state.shops.contains_key(id)) {
        return bad_request("shop_ids must name sandbox shops");
    }
    let code = format!("code{}", state.new_id());
    state.auth_codes.insert(
        code.clone(),
        AuthCode {
            shop_ids: requested,
            expires_at: now() + 1800,
        },
    );
    Json(json!({"code": code})).into_response()
}

/// The seller's authorization page: approves at once and redirects to the app's
/// redirect URL (or `redirect_uri`) with `code` and the caller's `state`. A
/// `service_id` other than the app's is refused, as TikTok would.
async fn authorize_page(
    State(sandbox): State<Sandbox>,
    Query(params): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let configured = sandbox.config.redirect_url.clone();
    let Some(redirect) = params
        .get("redirect_uri")
        .cloned()
        .or(configured)
        .and_then(|r| url::Url::parse(&r).ok())
    else {
        return bad_request("no redirect URL: configure the app's redirect_url or pass redirect_uri");
    };
    if params
        .get("service_id")
        .is_some_and(|id| *id != sandbox.config.service_id)
    {
        return bad_request("unknown service_id");
    }
    let code = {
        let mut state = sandbox.lock();
        let code = format!("code{}", state.new_id());
        let shop_ids = state.shops.keys().cloned().collect();
        state.auth_codes.insert(
            code.clone(),
            AuthCode {
                shop_ids,
                expires_at: now() + 1800,
            },
        );
        code
    };
    let mut target = redirect;
    target.query_pairs_mut().append_pair("code", &code);
    if let Some(state) = params.get("state") {
        target.query_pairs_mut().append_pair("state", state);
    }
    Redirect::to(target.as_str()).into_response()
}

async fn expire_tokens(State(sandbox): State<Sandbox>) -> Response {
    let mut state = sandbox.lock();
    for grant in state.grants.values_mut() {
        grant.access_expires_at = now() - 1;
    }
    Json(json!({"expired": state.grants.len()})).into_response()
}

async fn lock_price(State(sandbox): State<Sandbox>, Json(body): Json<Value>) -> Response {
    let Some(sku_id) = body["sku_id"].as_str() else {
        return bad_request("sku_id is required");
    };
    sandbox.lock().promotion_locked_skus.push(sku_id.to_string());
    Json(json!({"locked": sku_id})).into_response()
}

async fn deliveries(State(sandbox): State<Sandbox>) -> Response {
    Json(sandbox.lock().deliveries.clone()).into_response()
}

/// Requests answered 429 by the per-(shop, endpoint) windows, requests let through
/// per key, and token refreshes.
async fn stats(State(sandbox): State<Sandbox>) -> Response {
    let by_key = sandbox.kit.rates.throttled();
    let throttled: u64 = by_key.values().sum();
    let state = sandbox.lock();
    Json(
        json!({"throttled": throttled, "throttled_by_key": by_key, "requests_by_key": state.requests,
               "token_refreshes": state.token_refreshes}),
    )
    .into_response()
}
