//! The `/sandbox/` admin routes (unauthenticated JSON, for tests and the local runner:
//! the merchant's back office and shoppers) and the storefront's product images under
//! `/img/p/`. Errors are sandbox-kit's `{"error": …}`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rust_decimal::Decimal;
use sandbox_kit::admin::{bad_request, not_found};
use serde_json::{Value, json};

use crate::schema::def_of;
use crate::state::{Key, Row, State as World, money, now};
use crate::{Sandbox, WsError};

/// The admin routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/sandbox/catalogue", get(catalogue))
        .route("/sandbox/stock", get(get_stock).post(set_stock))
        .route("/sandbox/products/{id}", post(edit_product).delete(delete_product))
        .route("/sandbox/storefront-sale", post(storefront_sale))
        .route("/sandbox/orders", get(orders))
        .route("/sandbox/orders/{id}/ship", post(ship))
        .route("/sandbox/orders/{id}/cancel", post(cancel))
        .route("/sandbox/keys", post(add_key))
        .route("/sandbox/keys/{key}/disable", post(disable_key))
        .route("/sandbox/clock", get(clock))
        .route("/sandbox/requests", get(requests))
        .route("/img/p/{*path}", get(image))
}

/// A store error as an admin answer (`{"error": message}` with its status).
fn admin_error(error: WsError) -> Response {
    let message = error.errors.first().map(|(_, m)| m.clone()).unwrap_or_default();
    (error.status, Json(json!({"error": message}))).into_response()
}

/// The Webservice requests received so far, oldest first (`["POST /api/orders", …]`).
async fn requests(State(sandbox): State<Sandbox>) -> Response {
    Json(sandbox.access_log.lock().expect("access log lock").clone()).into_response()
}

async fn catalogue(State(sandbox): State<Sandbox>) -> Response {
    let world = sandbox.lock();
    let products: Vec<Value> = world
        .table("products")
        .map(|t| {
            t.iter()
                .map(|(id, p)| {
                    let combinations: Vec<Value> = world
                        .combinations_of(*id)
                        .into_iter()
                        .filter_map(|c| {
                            let row = world.row("combinations", c)?;
                            let options: Vec<[String; 2]> =
                                world.options_of(row).into_iter().map(|(g, v)| [g, v]).collect();
                            Some(json!({"id": c, "reference": row.text("reference"), "options": options}))
                        })
                        .collect();
                    json!({"id": id, "reference": p.text("reference"), "name": p.lang("name", 1),
                           "price": p.text("price"), "combinations": combinations})
                })
                .collect()
        })
        .unwrap_or_default();
    Json(products).into_response()
}

fn stock_key(body: &Value) -> (u32, u32, u32) {
    let number = |name: &str, default: u64| body[name].as_u64().unwrap_or(default) as u32;
    (
        number("id_product", 0),
        number("id_product_attribute", 0),
        number("id_shop", 1),
    )
}

/// The merchant sets a quantity in the back office (the product-level row follows).
async fn set_stock(State(sandbox): State<Sandbox>, Json(body): Json<Value>) -> Response {
    let (product, attribute, shop) = stock_key(&body);
    let Some(quantity) = body["quantity"].as_i64() else {
        return bad_request("quantity is an integer");
    };
    let mut world = sandbox.lock();
    if !world.shop_ids().contains(&shop) {
        return bad_request("unknown id_shop");
    }
    if world.row("products", product).is_none() {
        return not_found("product");
    }
    if attribute != 0
        && world
            .row("combinations", attribute)
            .is_none_or(|c| c.num("id_product") != product)
    {
        return not_found("combination");
    }
    world.set_stock(product, attribute, shop, quantity);
    Json(json!({"quantity": world.quantity(product, attribute, shop)})).into_response()
}

async fn get_stock(State(sandbox): State<Sandbox>, Query(query): Query<HashMap<String, String>>) -> Response {
    let number = |name: &str, default: u32| query.get(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    let (product, attribute, shop) = (
        number("id_product", 0),
        number("id_product_attribute", 0),
        number("id_shop", 1),
    );
    let world = sandbox.lock();
    match world.stock_row(product, attribute, shop) {
        Some(_) => Json(json!({"quantity": world.quantity(product, attribute, shop)})).into_response(),
        None => not_found("stock row"),
    }
}

async fn edit_product(State(sandbox): State<Sandbox>, Path(id): Path<u32>, Json(body): Json<Value>) -> Response {
    let mut world = sandbox.lock();
    let Some(product) = world.row_mut("products", id) else {
        return not_found("product");
    };
    if let Some(name) = body["name"].as_str() {
        let french = product.lang("name", 2).to_string();
        product.set_lang("name", &[(1, name), (2, &french)]);
    }
    let price = match &body["price"] {
        Value::String(text) => text.parse::<Decimal>().ok(),
        Value::Number(number) => number.to_string().parse::<Decimal>().ok(),
        _ => None,
    };
    if let Some(price) = price {
        product.set("price", money(price));
    }
    product.set("date_upd", now());
    Json(json!({"ok": true})).into_response()
}

async fn delete_product(State(sandbox): State<Sandbox>, Path(id): Path<u32>) -> Response {
    if sandbox.lock().delete_product(id) {
        Json(json!({"ok": true})).into_response()
    } else {
        not_found("product")
    }
}

/// A shopper's order: their customer, address, cart and the checkout's
/// `validateOrder` into Payment accepted.
async fn storefront_sale(State(sandbox): State<Sandbox>, Json(body): Json<Value>) -> Response {
    let (product, attribute, shop) = stock_key(&body);
    let quantity = body["quantity"].as_i64().unwrap_or(1).max(1);
    let mut world = sandbox.lock();
    match place_storefront_order(&mut world, product, attribute, shop, quantity) {
        Ok(order) => Json(json!({"id_order": order})).into_response(),
        Err(error) => admin_error(error),
    }
}

fn place_storefront_order(
    world: &mut World,
    product: u32,
    attribute: u32,
    shop: u32,
    quantity: i64,
) -> Result<u32, WsError> {
    let unknown = || WsError::new(StatusCode::NOT_FOUND, 0, "product or combination not found");
    if world.row("products", product).is_none() {
        return Err(unknown());
    }
    if attribute != 0
        && world
            .row("combinations", attribute)
            .is_none_or(|c| c.num("id_product") != product)
    {
        return Err(unknown());
    }
    let stamp = now();
    let shopper = world.table("customers").map_or(0, |t| t.len()) + 1;
    let mut customer = Row::blank(def_of("customers").expect("customers"));
    for (field, value) in [
        ("firstname", "Sam".to_string()),
        ("lastname", "Shopper".to_string()),
        ("email", format!("shopper{shopper}@example.com")),
        ("passwd", "$2y$10$storefront".to_string()),
        ("secure_key", format!("{:032x}", shopper as u128 * 7_919 + 104_729)),
        ("id_default_group", "3".to_string()),
        ("id_lang", "1".to_string()),
        ("id_shop", shop.to_string()),
        ("active", "1".to_string()),
        ("date_add", stamp.clone()),
        ("date_upd", stamp.clone()),
    ] {
        customer.set(field, value);
    }
    let id_customer = world.insert("customers", customer);
    let mut address = Row::blank(def_of("addresses").expect("addresses"));
    for (field, value) in [
        ("id_customer", id_customer.to_string()),
        ("id_country", "21".to_string()),
        ("id_state", "43".to_string()),
        ("alias", "My address".to_string()),
        ("firstname", "Sam".to_string()),
        ("lastname", "Shopper".to_string()),
        ("address1", "1 Main St".to_string()),
        ("postcode", "78701".to_string()),
        ("city", "Austin".to_string()),
        ("phone", "5125550100".to_string()),
        ("date_add", stamp.clone()),
        ("date_upd", stamp.clone()),
    ] {
        address.set(field, value);
    }
    let id_address = world.insert("addresses", address);
    let mut cart = Row::blank(def_of("carts").expect("carts"));
    for (field, value) in [
        ("id_customer", id_customer.to_string()),
        ("id_address_delivery", id_address.to_string()),
        ("id_address_invoice", id_address.to_string()),
        ("id_currency", "1".to_string()),
        ("id_lang", "1".to_string()),
        ("id_shop", shop.to_string()),
        ("id_shop_group", "1".to_string()),
        ("id_carrier", "2".to_string()),
        ("delivery_option", format!("{{\"{id_address}\":\"2,\"}}")),
        ("date_add", stamp.clone()),
        ("date_upd", stamp),
    ] {
        cart.set(field, value);
    }
    let mut line = std::collections::BTreeMap::new();
    for (key, value) in [
        ("id_product", product.to_string()),
        ("id_product_attribute", attribute.to_string()),
        ("id_address_delivery", id_address.to_string()),
        ("id_customization", "0".to_string()),
        ("quantity", quantity.to_string()),
    ] {
        line.insert(key.to_string(), value);
    }
    cart.assocs.insert("cart_rows", vec![line]);
    let id_cart = world.insert("carts", cart);
    let (products, shipping) = world.cart_totals(id_cart);
    let mut posted = Row::default();
    for (field, value) in [
        ("module", "ps_checkpayment".to_string()),
        ("payment", "Payments by check".to_string()),
        ("id_cart", id_cart.to_string()),
        ("id_customer", id_customer.to_string()),
        ("total_paid", money(products + shipping)),
    ] {
        posted.set(field, value);
    }
    let state = world.os("PS_OS_PAYMENT");
    world.validate_order(&posted, shop, state)
}

fn state_name(world: &World, state: u32) -> String {
    world
        .row("order_states", state)
        .map_or(String::new(), |s| s.lang("name", 1).to_string())
}

async fn orders(State(sandbox): State<Sandbox>) -> Response {
    let world = sandbox.lock();
    let empty = Default::default();
    let orders: Vec<Value> = world
        .table("orders")
        .unwrap_or(&empty)
        .iter()
        .map(|(id, o)| {
            let history: Vec<Value> = world
                .table("order_histories")
                .map(|t| {
                    t.values()
                        .filter(|h| h.num("id_order") == *id)
                        .map(|h| json!({"id_order_state": h.num("id_order_state"), "state_name": state_name(&world, h.num("id_order_state"))}))
                        .collect()
                })
                .unwrap_or_default();
            let carrier = world
                .table("order_carriers")
                .and_then(|t| t.values().find(|c| c.num("id_order") == *id))
                .map(|c| {
                    let name = world.row("carriers", c.num("id_carrier")).map_or("", |r| r.text("name"));
                    json!({"id_carrier": c.num("id_carrier"), "name": name, "tracking_number": c.text("tracking_number")})
                });
            // What its credit slips gave back.
            let refunded: rust_decimal::Decimal = world
                .table("order_slip")
                .map(|t| {
                    t.values()
                        .filter(|slip| slip.num("id_order") == *id)
                        .map(|slip| {
                            let amount = |field: &str| slip.text(field).parse::<rust_decimal::Decimal>().unwrap_or_default();
                            amount("total_products_tax_incl") + amount("total_shipping_tax_incl")
                        })
                        .sum()
                })
                .unwrap_or_default();
            let lines: Vec<Value> = world
                .table("order_details")
                .map(|t| {
                    t.values()
                        .filter(|d| d.num("id_order") == *id)
                        .map(|d| json!({"product_id": d.num("product_id"), "product_attribute_id": d.num("product_attribute_id"),
                                        "product_quantity": d.int("product_quantity"), "unit_price_tax_incl": d.text("unit_price_tax_incl")}))
                        .collect()
                })
                .unwrap_or_default();
            json!({"id": id, "reference": o.text("reference"), "id_cart": o.num("id_cart"), "id_customer": o.num("id_customer"),
                   "id_shop": o.num("id_shop"), "note": o.text("note"), "current_state": o.num("current_state"),
                   "state_name": state_name(&world, o.num("current_state")), "total_paid": o.text("total_paid"),
                   "total_paid_tax_incl": o.text("total_paid_tax_incl"), "total_paid_real": o.text("total_paid_real"),
                   "total_shipping": o.text("total_shipping"), "total_products": o.text("total_products"),
                   "date_upd": o.text("date_upd"), "history": history, "carrier": carrier, "lines": lines,
                   "refunded": refunded.normalize().to_string()})
        })
        .collect();
    Json(orders).into_response()
}

/// The merchant ships: the carrier line's tracking number (and carrier), then Shipped;
/// with `"tracking_only": true`, the tracking number alone, as the back office's
/// shipping details form saves it.
async fn ship(State(sandbox): State<Sandbox>, Path(id): Path<u32>, body: Option<Json<Value>>) -> Response {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let mut world = sandbox.lock();
    if world.row("orders", id).is_none() {
        return not_found("order");
    }
    let line = world
        .table("order_carriers")
        .and_then(|t| t.iter().find(|(_, c)| c.num("id_order") == id).map(|(l, _)| *l));
    if let Some(line) = line.and_then(|l| world.row_mut("order_carriers", l)) {
        if let Some(tracking) = body["tracking_number"].as_str() {
            line.set("tracking_number", tracking);
        }
        if let Some(carrier) = body["id_carrier"].as_u64() {
            line.set("id_carrier", carrier.to_string());
        }
    }
    // The back office's shipping details form saves the carrier line alone (the
    // order's state and `date_upd` stay as they were).
    if body["tracking_only"].as_bool() == Some(true) {
        return Json(json!({"id_order": id})).into_response();
    }
    let shipped = world.os("PS_OS_SHIPPING");
    match world.change_state(id, shipped) {
        Ok(history) => Json(json!({"id_order_history": history})).into_response(),
        Err(error) => admin_error(error),
    }
}

async fn cancel(State(sandbox): State<Sandbox>, Path(id): Path<u32>) -> Response {
    let mut world = sandbox.lock();
    if world.row("orders", id).is_none() {
        return not_found("order");
    }
    let canceled = world.os("PS_OS_CANCELED");
    match world.change_state(id, canceled) {
        Ok(history) => Json(json!({"id_order_history": history})).into_response(),
        Err(error) => admin_error(error),
    }
}

async fn add_key(State(sandbox): State<Sandbox>, Json(key): Json<Key>) -> Response {
    let mut world = sandbox.lock();
    if world.keys.iter().any(|k| k.key == key.key) {
        return bad_request("this key exists");
    }
    world.keys.push(key);
    Json(json!({"ok": true})).into_response()
}

async fn disable_key(State(sandbox): State<Sandbox>, Path(key): Path<String>) -> Response {
    let mut world = sandbox.lock();
    match world.keys.iter_mut().find(|k| k.key == key) {
        Some(found) => {
            found.active = false;
            Json(json!({"ok": true})).into_response()
        }
        None => not_found("key"),
    }
}

async fn clock() -> Response {
    Json(json!({"now": now()})).into_response()
}

/// `/img/p/1/2/12.jpg`: image 12, its digits as folders; public, as the storefront
/// serves it.
async fn image(State(sandbox): State<Sandbox>, Path(path): Path<String>) -> Response {
    let parts: Vec<&str> = path.split('/').collect();
    let Some((file, folders)) = parts.split_last() else {
        return (StatusCode::NOT_FOUND, "no such image").into_response();
    };
    let id = file.split(['.', '-']).next().unwrap_or_default();
    let digits: Vec<String> = id.chars().map(String::from).collect();
    let known = id
        .parse::<u32>()
        .ok()
        .is_some_and(|id| sandbox.lock().row("product_images", id).is_some());
    if !known || digits != folders.iter().map(|f| f.to_string()).collect::<Vec<_>>() {
        return (StatusCode::NOT_FOUND, "no such image").into_response();
    }
    ([("content-type", "image/png")], sandbox_kit::images::flat_png(800, 800)).into_response()
}
