//! The admin API under `/sandbox/`: the merchant's clicks (install, open, uninstall),
//! shoppers' orders (storefront, POS), stock and shipment changes that fire webhooks,
//! and read-backs for tests.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

use sandbox_kit::admin::bad_request;

use crate::Sandbox;
use crate::state::Grant;

type Params = Query<HashMap<String, String>>;

/// The user id of every sandbox store's owner.
pub const OWNER_ID: u64 = 12345;

/// The user of a request (`user_id`, the owner by default).
fn user_of(params: &HashMap<String, String>) -> u64 {
    params.get("user_id").and_then(|id| id.parse().ok()).unwrap_or(OWNER_ID)
}

/// The admin routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/sandbox/install", get(install))
        .route("/sandbox/load-url", get(load_url))
        .route("/sandbox/uninstall", post(uninstall))
        .route("/sandbox/remove-user", post(remove_user))
        .route("/sandbox/api-accounts", post(api_account))
        .route("/sandbox/orders", get(orders).post(storefront_order))
        .route("/sandbox/orders/{id}/shipments", post(ship_order))
        .route("/sandbox/orders/{id}/shipments/{shipment_id}", put(correct_shipment))
        .route("/sandbox/orders/{id}/cancel", post(cancel_order))
        .route("/sandbox/orders/{id}/status", post(set_order_status))
        .route("/sandbox/products", get(products))
        .route("/sandbox/products/{id}", post(update_product).delete(delete_product))
        .route("/sandbox/products/{id}/stock", post(set_stock))
        .route("/sandbox/deliveries", get(deliveries))
        .route("/sandbox/stats", get(stats))
        .route("/sandbox/images/{name}", get(image))
}

/// A real PNG for every product image, as a CDN would serve it: `NAME-WxH.png` is
/// W×H pixels (1 to 5000 a side), any other `NAME.png` 800×800.
async fn image(Path(name): Path<String>) -> Response {
    let Some(stem) = name.strip_suffix(".png") else {
        return (StatusCode::NOT_FOUND, "no such image").into_response();
    };
    let size = stem
        .rsplit_once('-')
        .and_then(|(_, size)| size.split_once('x'))
        .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)));
    let (width, height) = match size {
        None => (800, 800),
        Some((w, h)) if (1..=5000).contains(&w) && (1..=5000).contains(&h) => (w, h),
        Some(_) => return (StatusCode::NOT_FOUND, "no such image").into_response(),
    };
    (
        [("content-type", "image/png")],
        sandbox_kit::images::flat_png(width, height),
    )
        .into_response()
}

impl Sandbox {
    /// The store named by `store_hash`, or the first one.
    fn store_hash(&self, params: &HashMap<String, String>) -> Option<String> {
        let state = self.lock();
        match params.get("store_hash") {
            Some(hash) => state.stores.contains_key(hash).then(|| hash.clone()),
            None => state.stores.keys().next().cloned(),
        }
    }

    /// A fresh `signed_payload_jwt` for user `user_id` of the store (the owner is
    /// [`OWNER_ID`]), as BigCommerce sends it.
    pub fn signed_payload_jwt(&self, store_hash: &str, user_id: u64) -> String {
        let now = sandbox_kit::clock::unix_now();
        let email = email_of(user_id);
        let claims = json!({"aud": self.config.client_id, "iss": "bc", "iat": now, "nbf": now, "exp": now + 86_400,
            "jti": format!("{:032x}", rand::random::<u128>()), "sub": format!("stores/{store_hash}"),
            "user": {"id": user_id, "email": email, "locale": "en-US"},
            "owner": {"id": 12345, "email": "owner@example.com"}, "url": "/", "channel_id": null});
        crate::signing::sign_jwt(&claims, &self.config.client_secret)
    }
}

/// The e-mail address of a sandbox user: the owner's, or `user<id>@example.com`.
pub fn email_of(user_id: u64) -> String {
    if user_id == OWNER_ID {
        "owner@example.com".to_string()
    } else {
        format!("user{user_id}@example.com")
    }
}

/// The merchant (`?user_id=`, the owner by default) clicks Install: the browser goes
/// to the app's auth callback.
async fn install(State(sandbox): State<Sandbox>, Query(params): Params) -> Response {
    let Some(callback) = sandbox.config.auth_callback_url.clone() else {
        return bad_request("the sandbox has no auth_callback_url configured");
    };
    let Some(store_hash) = sandbox.store_hash(&params) else {
        return bad_request("unknown store_hash");
    };
    let code = format!("{:016x}", rand::random::<u64>());
    sandbox.lock().codes.insert(
        code.clone(),
        Grant {
            store_hash: store_hash.clone(),
            expires_at: sandbox_kit::clock::unix_now() + 600,
            user_id: user_of(&params),
        },
    );
    let Ok(mut target) = url::Url::parse(&callback) else {
        return bad_request("auth_callback_url is not a URL");
    };
    target
        .query_pairs_mut()
        .append_pair("account_uuid", "12345678-90ab-cdef-1234-567890abcdef")
        .append_pair("code", &code)
        .append_pair("context", &format!("stores/{store_hash}"))
        .append_pair(
            "scope",
            params.get("scope").map_or(
                "store_v2_orders store_v2_products store_inventory store_v2_information_read_only",
                String::as_str,
            ),
        );
    Redirect::to(target.as_str()).into_response()
}

async fn load_url(State(sandbox): State<Sandbox>, Query(params): Params) -> Response {
    let Some(load) = sandbox.config.load_callback_url.clone() else {
        return bad_request("the sandbox has no load_callback_url configured");
    };
    let Some(store_hash) = sandbox.store_hash(&params) else {
        return bad_request("unknown store_hash");
    };
    let jwt = sandbox.signed_payload_jwt(&store_hash, user_of(&params));
    let Ok(mut url) = url::Url::parse(&load) else {
        return bad_request("load_callback_url is not a URL");
    };
    url.query_pairs_mut().append_pair("signed_payload_jwt", &jwt);
    Json(json!({"url": url.as_str(), "signed_payload_jwt": jwt})).into_response()
}

/// The merchant uninstalls: `store/app/uninstalled` fires, the uninstall callback is
/// called, the app's webhooks and token are removed.
async fn uninstall(State(sandbox): State<Sandbox>, Query(params): Params) -> Response {
    let Some(store_hash) = sandbox.store_hash(&params) else {
        return bad_request("unknown store_hash");
    };
    sandbox.fire(
        &store_hash,
        "store/app/uninstalled",
        json!({"type": "store", "id": store_hash}),
    );
    let mut callback_status = None;
    if let Some(uninstall) = sandbox.config.uninstall_callback_url.clone() {
        let jwt = sandbox.signed_payload_jwt(&store_hash, OWNER_ID);
        let sent = sandbox
            .kit
            .courier
            .http()
            .get(&uninstall)
            .query(&[("signed_payload_jwt", jwt)])
            .send()
            .await;
        callback_status = Some(sent.map(|r| r.status().as_u16()).unwrap_or(0));
    }
    let client_id = sandbox.config.client_id.clone();
    let mut state = sandbox.lock();
    state
        .tokens
        .retain(|_, (hash, client)| !(*hash == store_hash && *client == client_id));
    if let Some(store) = state.stores.get_mut(&store_hash) {
        store.hooks.retain(|h| h.client_id != client_id);
        store.installed = false;
    }
    Json(json!({"store_hash": store_hash, "uninstall_callback_status": callback_status})).into_response()
}

/// The store owner removes a user's access to the app: BigCommerce calls the app's
/// remove-user callback with a payload naming that user.
async fn remove_user(State(sandbox): State<Sandbox>, Query(params): Params) -> Response {
    let Some(store_hash) = sandbox.store_hash(&params) else {
        return bad_request("unknown store_hash");
    };
    let Some(callback) = sandbox.config.remove_user_callback_url.clone() else {
        return bad_request("the sandbox has no remove_user_callback_url configured");
    };
    let jwt = sandbox.signed_payload_jwt(&store_hash, user_of(&params));
    let sent = sandbox
        .kit
        .courier
        .http()
        .get(&callback)
        .query(&[("signed_payload_jwt", jwt)])
        .send()
        .await;
    Json(json!({"store_hash": store_hash, "remove_user_callback_status": sent.map(|r| r.status().as_u16()).unwrap_or(0)}))
        .into_response()
}

/// A store-level API account, as the merchant creates it under Settings → Store-level
/// API accounts: client id, client secret (the key of the webhooks it creates) and
/// access token (the merchant pastes them into the connector).
async fn api_account(State(sandbox): State<Sandbox>, body: Option<Json<Value>>) -> Response {
    let params: HashMap<String, String> = body
        .and_then(|Json(b)| {
            b["store_hash"]
                .as_str()
                .map(|h| HashMap::from([("store_hash".to_string(), h.to_string())]))
        })
        .unwrap_or_default();
    let Some(store_hash) = sandbox.store_hash(&params) else {
        return bad_request("unknown store_hash");
    };
    let token = format!("bcaccount{:032x}", rand::random::<u128>());
    let client_id = format!("store-account-{:08x}", rand::random::<u32>());
    let client_secret = format!("{:064x}", rand::random::<u128>());
    {
        let mut state = sandbox.lock();
        state
            .tokens
            .insert(token.clone(), (store_hash.clone(), client_id.clone()));
        state.account_secrets.insert(client_id.clone(), client_secret.clone());
    }
    Json(
        json!({"store_hash": store_hash, "access_token": token, "client_id": client_id, "client_secret": client_secret,
                "api_path": format!("https://api.bigcommerce.com/stores/{store_hash}/v3/")}),
    )
    .into_response()
}

/// A shopper's order through the storefront or a POS (not through an app): body
/// `{"products": [{"product_id", "variant_id"?, "quantity"}], "channel_id"?, "status_id"?}`
/// (`?store_hash=`, else the first store). Created paid (Awaiting Fulfillment, 11) on
/// the storefront channel with a guest address, like `POST /v2/orders`: it fires
/// `store/order/created` and, per the store's inventory settings, the order-driven
/// inventory webhooks. Answers 201 with the order in v2 shape.
async fn storefront_order(State(sandbox): State<Sandbox>, Query(params): Params, Json(body): Json<Value>) -> Response {
    let Some(store_hash) = sandbox.store_hash(&params) else {
        return bad_request("unknown store_hash");
    };
    let address = json!({"first_name": "Sam", "last_name": "Shopper", "street_1": "1 Market Street", "city": "Austin",
                         "state": "Texas", "zip": "78701", "country": "United States", "country_iso2": "US",
                         "email": "shopper@example.com"});
    let mut shipping = address.clone();
    shipping["shipping_method"] = json!("Flat Rate");
    let order = json!({"customer_id": 0, "status_id": body["status_id"].as_u64().unwrap_or(11),
                       "channel_id": body["channel_id"].as_u64().unwrap_or(1), "billing_address": address,
                       "shipping_addresses": [shipping], "products": body["products"], "payment_method": "Credit Card"});
    match sandbox.place_order(&store_hash, &order) {
        Ok(order) => (StatusCode::CREATED, Json(crate::api::api_order(&order))).into_response(),
        Err(response) => response,
    }
}

/// Every order the connector created, in v2 shape with `products` and `shipping_addresses`.
async fn orders(State(sandbox): State<Sandbox>) -> Response {
    let state = sandbox.lock();
    let orders: Vec<Value> = state
        .stores
        .values()
        .flat_map(|store| {
            store.orders.values().map(|o| {
                let mut order = o.clone();
                order["store_hash"] = json!(store.hash);
                order["shipments"] = json!(
                    store
                        .shipments
                        .get(&o["id"].as_u64().unwrap_or_default())
                        .cloned()
                        .unwrap_or_default()
                );
                order
            })
        })
        .collect();
    Json(orders).into_response()
}

fn store_of_order(sandbox: &Sandbox, id: u64) -> Option<String> {
    sandbox
        .lock()
        .stores
        .values()
        .find(|s| s.orders.contains_key(&id))
        .map(|s| s.hash.clone())
}

async fn ship_order(State(sandbox): State<Sandbox>, Path(id): Path<u64>, body: Option<Json<Value>>) -> Response {
    let Some(store_hash) = store_of_order(&sandbox, id) else {
        return bad_request("unknown order");
    };
    let body = body.map(|Json(b)| b).unwrap_or_else(|| json!({}));
    match sandbox.ship(&store_hash, id, &body) {
        Ok(shipment) => (StatusCode::CREATED, Json(shipment)).into_response(),
        Err(response) => response,
    }
}

/// The merchant corrects a shipment's tracking (fires `store/shipment/updated`).
async fn correct_shipment(
    State(sandbox): State<Sandbox>,
    Path((id, shipment_id)): Path<(u64, u64)>,
    Json(body): Json<Value>,
) -> Response {
    let Some(store_hash) = store_of_order(&sandbox, id) else {
        return bad_request("unknown order");
    };
    match sandbox.update_shipment(&store_hash, id, shipment_id, &body) {
        Ok(shipment) => Json(shipment).into_response(),
        Err(response) => response,
    }
}

async fn cancel_order(State(sandbox): State<Sandbox>, Path(id): Path<u64>) -> Response {
    change_status(&sandbox, id, 5)
}

/// The merchant moves an order to a status in the control panel (`{"status_id": 4}`
/// for Refunded), with the same webhooks and stock moves as the API.
async fn set_order_status(State(sandbox): State<Sandbox>, Path(id): Path<u64>, Json(body): Json<Value>) -> Response {
    match body["status_id"].as_u64() {
        Some(status_id @ 0..=14) => change_status(&sandbox, id, status_id),
        _ => bad_request("status_id must be a BigCommerce status id from 0 to 14"),
    }
}

fn change_status(sandbox: &Sandbox, id: u64, status_id: u64) -> Response {
    let Some(store_hash) = store_of_order(sandbox, id) else {
        return bad_request("unknown order");
    };
    match sandbox.change_order(&store_hash, id, &json!({ "status_id": status_id })) {
        Some(order) => Json(crate::api::api_order(&order)).into_response(),
        None => bad_request("unknown order"),
    }
}

/// Every product in v3 shape with its variants (`id`, `sku`, `inventory_level`).
async fn products(State(sandbox): State<Sandbox>, Query(params): Params) -> Response {
    let Some(store_hash) = sandbox.store_hash(&params) else {
        return bad_request("unknown store_hash");
    };
    let base = sandbox.base_url();
    let state = sandbox.lock();
    let products: Vec<Value> = state.stores[&store_hash]
        .products
        .values()
        .map(|p| p.to_json(&["variants", "images", "custom_fields"], &base))
        .collect();
    Json(products).into_response()
}

/// Changes name or price of a product and fires `store/product/updated`.
async fn update_product(
    State(sandbox): State<Sandbox>,
    Path(id): Path<u64>,
    Query(params): Params,
    Json(body): Json<Value>,
) -> Response {
    let Some(store_hash) = sandbox.store_hash(&params) else {
        return bad_request("unknown store_hash");
    };
    {
        let mut state = sandbox.lock();
        let Some(product) = state.stores.get_mut(&store_hash).and_then(|s| s.products.get_mut(&id)) else {
            return bad_request("unknown product");
        };
        if let Some(name) = body["name"].as_str() {
            product.name = name.to_string();
        }
        if let Some(price) = body["price"].as_f64() {
            product.price_cents = (price * 100.0).round() as i64;
        }
        product.date_modified = sandbox_kit::clock::unix_now();
    }
    sandbox.fire(
        &store_hash,
        "store/product/updated",
        json!({"type": "product", "id": id}),
    );
    Json(json!({"updated": id})).into_response()
}

async fn delete_product(State(sandbox): State<Sandbox>, Path(id): Path<u64>, Query(params): Params) -> Response {
    let Some(store_hash) = sandbox.store_hash(&params) else {
        return bad_request("unknown store_hash");
    };
    let removed = sandbox
        .lock()
        .stores
        .get_mut(&store_hash)
        .and_then(|s| s.products.remove(&id))
        .is_some();
    if !removed {
        return bad_request("unknown product");
    }
    sandbox.fire(
        &store_hash,
        "store/product/deleted",
        json!({"type": "product", "id": id}),
    );
    Json(json!({"deleted": id})).into_response()
}

/// Body `{"inventory_level": N}` or `{"variant_id": V, "inventory_level": N}`, with
/// `"absolute_set": false` for stock the Inventory API has no absolute level of (as a
/// level set in the catalog only): relative adjustments of it are then refused until
/// an absolute one.
async fn set_stock(
    State(sandbox): State<Sandbox>,
    Path(id): Path<u64>,
    Query(params): Params,
    Json(body): Json<Value>,
) -> Response {
    let Some(store_hash) = sandbox.store_hash(&params) else {
        return bad_request("unknown store_hash");
    };
    let Some(level) = body["inventory_level"].as_i64().filter(|l| *l >= 0) else {
        return bad_request("inventory_level must be a whole number ≥ 0");
    };
    let safety_stock = match &body["safety_stock"] {
        Value::Null => None,
        value => match value.as_i64().filter(|s| *s >= 0) {
            Some(units) => Some(units),
            None => return bad_request("safety_stock must be a whole number ≥ 0"),
        },
    };
    let variant_id = body["variant_id"].as_u64();
    let known = {
        let state = sandbox.lock();
        state.stores[&store_hash].products.get(&id).map(|p| {
            (
                p.tracking,
                variant_id.is_none_or(|v| p.variants.iter().any(|x| x.id == v)),
            )
        })
    };
    match known {
        None => bad_request("unknown product"),
        Some((_, false)) => bad_request("the variant is not part of the product"),
        Some(("variant", true)) if variant_id.is_none() => {
            bad_request("this product tracks stock per variant: send variant_id")
        }
        Some(_) => {
            if let Some(units) = safety_stock
                && let Some(product) = sandbox
                    .lock()
                    .stores
                    .get_mut(&store_hash)
                    .and_then(|s| s.products.get_mut(&id))
            {
                product.safety_stock = units;
            }
            sandbox.set_stock(&store_hash, id, variant_id, level);
            if let Some(store) = sandbox.lock().stores.get_mut(&store_hash)
                && let Some(key) = variant_id.or_else(|| store.products.get(&id).map(|p| p.variants[0].id))
            {
                if body["absolute_set"] == false {
                    store.without_absolute.insert(key);
                } else {
                    store.without_absolute.remove(&key);
                }
            }
            Json(json!({"product_id": id, "variant_id": variant_id, "inventory_level": level})).into_response()
        }
    }
}

async fn deliveries(State(sandbox): State<Sandbox>) -> Response {
    Json(sandbox.lock().deliveries.clone()).into_response()
}

/// Requests answered 429 by the stores' windows: `{"throttled": total, "throttled_by_store": {hash: n}}`.
async fn stats(State(sandbox): State<Sandbox>) -> Response {
    let by_store = sandbox.kit.rates.throttled();
    let throttled: u64 = by_store.values().sum();
    Json(json!({"throttled": throttled, "throttled_by_store": by_store})).into_response()
}
