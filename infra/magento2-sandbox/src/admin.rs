//! The `/sandbox/` admin routes (unsigned JSON, for tests and the local runner: the
//! merchant's admin panel and shoppers) and the product media under
//! `/media/catalog/product/`. Errors are sandbox-kit's `{"error": …}`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rust_decimal::Decimal;
use sandbox_kit::admin::{bad_request, not_found};
use serde_json::{Value, json};

use crate::state::{ATTRIBUTES, ShippingInfo, SourceItem, money};
use crate::{ApiError, Integration, Sandbox};

/// The admin routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/sandbox/catalogue", get(catalogue))
        .route("/sandbox/stock", post(set_stock))
        .route("/sandbox/salable/{sku}", get(salable))
        .route("/sandbox/products/{id}", post(edit_product).delete(delete_product))
        .route("/sandbox/storefront-sale", post(storefront_sale))
        .route("/sandbox/orders", get(orders))
        .route("/sandbox/orders/{id}/ship", post(ship))
        .route("/sandbox/orders/{id}/cancel", post(cancel))
        .route("/sandbox/integrations", post(add_integration))
        .route("/sandbox/integrations/{consumer_key}/revoke", post(revoke))
        .route("/sandbox/clock", get(clock))
        .route("/media/catalog/product/{a}/{b}/{file}", get(image))
}

fn now() -> i64 {
    sandbox_kit::clock::unix_now()
}

/// An API error as an admin answer (`{"error": message}` with its status).
fn admin_error(error: ApiError) -> Response {
    let message = error.body["message"].as_str().unwrap_or_default().to_string();
    (error.status, Json(json!({"error": message, "magento": error.body}))).into_response()
}

async fn catalogue(State(sandbox): State<Sandbox>) -> Response {
    let world = sandbox.lock();
    let color_label = |value: &str| {
        ATTRIBUTES[0]
            .3
            .iter()
            .find(|(v, _)| *v == value)
            .map_or("", |(_, label)| *label)
    };
    let products: Vec<Value> = world
        .products
        .values()
        .filter(|p| p.visibility == 4)
        .map(|p| {
            let children: Vec<Value> = p
                .children
                .iter()
                .filter_map(|id| world.products.get(id))
                .map(|c| json!({"id": c.id, "sku": c.sku, "options": [["Color", color_label(c.color.unwrap_or_default())]]}))
                .collect();
            json!({"id": p.id, "sku": p.sku, "type_id": p.type_id, "name": p.name, "price": money(p.price),
                   "children": children})
        })
        .collect();
    Json(products).into_response()
}

/// The merchant edits a source quantity in the admin product form: the source item
/// and the product's updated_at.
async fn set_stock(State(sandbox): State<Sandbox>, Json(body): Json<Value>) -> Response {
    let sku = body["sku"].as_str().unwrap_or_default().to_string();
    let source = body["source_code"].as_str().unwrap_or("default").to_string();
    let Some(quantity) = body["quantity"].as_f64() else {
        return bad_request("quantity is a number");
    };
    let mut world = sandbox.lock();
    if !world.sources().contains(&source.as_str()) {
        return bad_request("unknown source_code");
    }
    let Some(id) = world.skus.get(&sku).copied() else {
        return not_found("product");
    };
    let status = u8::from(quantity > 0.0);
    world
        .source_items
        .insert((sku, source), SourceItem { quantity, status });
    if let Some(product) = world.products.get_mut(&id) {
        product.updated_at = now();
    }
    Json(json!({"ok": true})).into_response()
}

async fn salable(State(sandbox): State<Sandbox>, Path(sku): Path<String>) -> Response {
    let world = sandbox.lock();
    if !world.skus.contains_key(&sku) {
        return not_found("product");
    }
    Json(json!({"salable": world.salable(&sku)})).into_response()
}

async fn edit_product(State(sandbox): State<Sandbox>, Path(id): Path<u64>, Json(body): Json<Value>) -> Response {
    let mut world = sandbox.lock();
    let Some(product) = world.products.get_mut(&id) else {
        return not_found("product");
    };
    if let Some(name) = body["name"].as_str() {
        product.name = name.to_string();
    }
    if let Some(price) = body["price"].as_f64() {
        product.price = Decimal::try_from(price).unwrap_or(product.price);
    }
    if let Some(status) = body["status"].as_u64() {
        product.status = if status == 1 { 1 } else { 2 };
    }
    product.updated_at = now();
    Json(json!({"ok": true})).into_response()
}

async fn delete_product(State(sandbox): State<Sandbox>, Path(id): Path<u64>) -> Response {
    if sandbox.lock().delete_product(id) {
        Json(json!({"ok": true})).into_response()
    } else {
        not_found("product")
    }
}

/// A shopper's order through the quote flow's placement.
async fn storefront_sale(State(sandbox): State<Sandbox>, Json(body): Json<Value>) -> Response {
    let sku = body["sku"].as_str().unwrap_or_default();
    let qty = body["qty"].as_f64().unwrap_or(1.0);
    let address = json!({"firstname": "Sam", "lastname": "Shopper", "street": ["1 Main St"], "city": "Austin",
        "region": "Texas", "region_code": "TX", "postcode": "78701", "country_id": "US",
        "telephone": "5125550100", "email": "shopper@example.com"});
    let mut world = sandbox.lock();
    let now = now();
    let cart = world.create_cart(now);
    let placed = world
        .add_to_cart(cart, sku, qty, now)
        .and_then(|_| {
            let info = ShippingInfo {
                shipping_address: address.clone(),
                billing_address: address,
                carrier_code: "flatrate".into(),
                method_code: "flatrate".into(),
            };
            world.set_shipping(cart, info, now)
        })
        .and_then(|_| world.place_order(cart, "checkmo", None, now));
    match placed {
        Ok(id) => {
            let increment = world.orders.get(&id).map(|o| o.increment_id.clone());
            Json(json!({"order_id": id, "increment_id": increment})).into_response()
        }
        Err(error) => admin_error(error),
    }
}

async fn orders(State(sandbox): State<Sandbox>, Query(query): Query<HashMap<String, String>>) -> Response {
    let world = sandbox.lock();
    let wanted = query.get("ext_order_id");
    let orders: Vec<Value> = world
        .orders
        .values()
        .filter(|o| wanted.is_none_or(|w| o.ext_order_id.as_ref() == Some(w)))
        .map(|o| {
            let items: Vec<Value> = o
                .items
                .iter()
                .map(|i| json!({"product_id": i.product_id, "sku": i.sku, "qty_ordered": i.qty_ordered,
                                "qty_shipped": i.qty_shipped}))
                .collect();
            let shipments: Vec<Value> = world
                .shipments
                .values()
                .filter(|s| s.order_id == o.id)
                .map(|s| {
                    let tracks: Vec<Value> = s
                        .tracks
                        .iter()
                        .map(|t| json!({"track_number": t.track_number, "carrier_code": t.carrier_code, "title": t.title}))
                        .collect();
                    json!({"id": s.id, "tracks": tracks})
                })
                .collect();
            let memos: Vec<Value> = world
                .creditmemos
                .values()
                .filter(|m| m.order_id == o.id)
                .map(|m| json!({"id": m.id, "grand_total": money(m.grand_total)}))
                .collect();
            let comments: Vec<&str> = o.histories.iter().map(|h| h.comment.as_str()).collect();
            json!({"id": o.id, "increment_id": o.increment_id, "state": o.state, "status": o.status,
                   "ext_order_id": o.ext_order_id, "quote_id": o.quote_id, "grand_total": money(o.grand_total),
                   "total_invoiced": money(o.total_invoiced), "total_refunded": money(o.total_refunded),
                   "items": items, "shipments": shipments, "creditmemos": memos, "comments": comments})
        })
        .collect();
    Json(orders).into_response()
}

async fn ship(State(sandbox): State<Sandbox>, Path(id): Path<u64>, body: Option<Json<Value>>) -> Response {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let text = |name: &str| body[name].as_str().unwrap_or_default().to_string();
    let track = (text("track_number"), text("title"), text("carrier_code"));
    let tracks = if track.0.is_empty() { vec![] } else { vec![track] };
    match sandbox.lock().ship(id, None, tracks, now()) {
        Ok(shipment) => Json(json!({"shipment_id": shipment})).into_response(),
        Err(error) => admin_error(error),
    }
}

async fn cancel(State(sandbox): State<Sandbox>, Path(id): Path<u64>) -> Response {
    match sandbox.lock().cancel(id, now()) {
        Ok(cancelled) => Json(json!({"cancelled": cancelled})).into_response(),
        Err(error) => admin_error(error),
    }
}

async fn add_integration(State(sandbox): State<Sandbox>, Json(integration): Json<Integration>) -> Response {
    let mut world = sandbox.lock();
    if world
        .integrations
        .iter()
        .any(|i| i.consumer_key == integration.consumer_key)
    {
        return bad_request("an integration with this consumer_key exists");
    }
    world.integrations.push(Integration {
        revoked: false,
        ..integration
    });
    Json(json!({"consumer_id": world.integrations.len()})).into_response()
}

async fn revoke(State(sandbox): State<Sandbox>, Path(key): Path<String>) -> Response {
    let mut world = sandbox.lock();
    match world.integrations.iter_mut().find(|i| i.consumer_key == key) {
        Some(integration) => {
            integration.revoked = true;
            Json(json!({"ok": true})).into_response()
        }
        None => not_found("integration"),
    }
}

async fn clock() -> Response {
    let now = now();
    Json(json!({"unix": now, "magento": crate::search::magento_time(now)})).into_response()
}

/// A real 800×800 PNG for every product image file (large enough for TikTok).
async fn image(Path((_, _, file)): Path<(String, String, String)>) -> Response {
    if !file.ends_with(".png") {
        return (StatusCode::NOT_FOUND, "no such image").into_response();
    }
    ([("content-type", "image/png")], sandbox_kit::images::flat_png(800, 800)).into_response()
}
