//! The store API of the sandbox (catalog v3, inventory, channels, webhooks v3, orders
//! and shipments v2, store info) and the OAuth token endpoint.

use std::collections::{BTreeMap, HashMap};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::state::{Hook, ProductRecord, Store, UpdateStockBehavior};
use crate::{Caller, Sandbox, v2_error, v3_error};
use sandbox_kit::clock::{iso, parse_iso};

type Params = Query<HashMap<String, String>>;
type PathParams = Path<HashMap<String, String>>;

/// Routes under `/stores/{store_hash}`.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/v2/store", get(store_info))
        .route(
            "/v3/settings/inventory",
            get(inventory_settings).put(update_inventory_settings),
        )
        .route("/v3/catalog/products", get(list_products))
        .route("/v3/catalog/products/{id}", get(get_product))
        .route("/v3/catalog/variants", get(list_variants))
        .route("/v3/catalog/brands", get(list_brands))
        .route("/v3/catalog/trees/categories", get(list_categories))
        .route("/v3/inventory/items", get(inventory_items))
        .route("/v3/inventory/adjustments/absolute", put(set_inventory))
        .route("/v3/inventory/adjustments/relative", post(relative_inventory))
        .route("/v3/channels", get(list_channels).post(create_channel))
        .route("/v3/hooks", get(list_hooks).post(create_hook))
        .route("/v3/hooks/{id}", get(get_hook).put(update_hook).delete(delete_hook))
        .route("/v2/orders", get(list_orders).post(create_order))
        .route(
            "/v2/orders/{id}",
            get(get_order).put(update_order).delete(archive_order),
        )
        .route("/v2/orders/{id}/products", get(order_products))
        .route(
            "/v3/orders/{id}/payment_actions/refund_quotes",
            post(crate::refunds::quote),
        )
        .route(
            "/v3/orders/{id}/payment_actions/refunds",
            get(crate::refunds::list).post(crate::refunds::create),
        )
        .route("/v2/orders/{id}/shipping_addresses", get(order_addresses))
        .route(
            "/v2/orders/{id}/shipping_addresses/{address_id}",
            put(update_order_address),
        )
        .route("/v2/orders/{id}/shipments", get(list_shipments).post(create_shipment))
        .route(
            "/v2/orders/{id}/shipments/{shipment_id}",
            get(get_shipment).put(update_shipment),
        )
}

/// The OAuth token endpoint (login host).
pub fn oauth_routes() -> Router<Sandbox> {
    Router::new().route("/oauth2/token", post(exchange_token))
}

pub(crate) fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn ok(body: Value) -> Response {
    json_response(StatusCode::OK, body)
}

/// A store API request the gate let through.
pub(crate) type Api = sandbox_kit::Admitted<Sandbox, Caller>;

/// A JSON body of a v3 route, or BigCommerce's v3 400 for one that is not JSON.
pub(crate) struct V3Body(pub(crate) Value);

impl FromRequest<Sandbox> for V3Body {
    type Rejection = Response;

    async fn from_request(request: Request, sandbox: &Sandbox) -> Result<Self, Response> {
        let bytes = Bytes::from_request(request, sandbox)
            .await
            .map_err(IntoResponse::into_response)?;
        serde_json::from_slice(&bytes).map(V3Body).map_err(|e| {
            v3_error(
                StatusCode::BAD_REQUEST,
                format!("The request body is not valid JSON: {e}"),
                json!({}),
            )
        })
    }
}

/// A JSON body of a v2 route, or BigCommerce's v2 400 for one that is not JSON.
struct V2Body(Value);

impl FromRequest<Sandbox> for V2Body {
    type Rejection = Response;

    async fn from_request(request: Request, sandbox: &Sandbox) -> Result<Self, Response> {
        let bytes = Bytes::from_request(request, sandbox)
            .await
            .map_err(IntoResponse::into_response)?;
        serde_json::from_slice(&bytes)
            .map(V2Body)
            .map_err(|_| v2_error(StatusCode::BAD_REQUEST, "The request body is not valid JSON."))
    }
}

/// The number `key` of the path (`id`, `shipment_id`, …): 0, which no record has, when
/// it is not one.
pub(crate) fn path_id(params: &HashMap<String, String>, key: &str) -> u64 {
    params.get(key).and_then(|i| i.parse().ok()).unwrap_or_default()
}

/// The page of `items` the query asks for, in the v3 envelope.
fn collection(items: Vec<Value>, params: &HashMap<String, String>) -> Response {
    paginate(items, params, |item| item)
}

/// Pages `items`, rendering only the requested page.
fn paginate<T>(items: Vec<T>, params: &HashMap<String, String>, render: impl Fn(T) -> Value) -> Response {
    let limit = params.get("limit").map_or(Ok(50), |l| l.parse::<usize>());
    let Ok(limit) = limit
        .map_err(drop)
        .and_then(|l| if (1..=250).contains(&l) { Ok(l) } else { Err(()) })
    else {
        return v3_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The limit must be between 1 and 250",
            json!({"limit": "out of range"}),
        );
    };
    let page = params
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let total = items.len();
    let total_pages = total.div_ceil(limit).max(1);
    let data: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(render)
        .collect();
    let link = |p: usize| format!("?page={p}&limit={limit}");
    let mut links = json!({"current": link(page)});
    if page > 1 {
        links["previous"] = json!(link(page - 1));
    }
    if page < total_pages {
        links["next"] = json!(link(page + 1));
    }
    ok(
        json!({"data": data, "meta": {"pagination": {"total": total, "count": data.len(), "per_page": limit,
        "current_page": page, "total_pages": total_pages, "links": links}}}),
    )
}

fn id_list(params: &HashMap<String, String>, key: &str) -> Option<Vec<u64>> {
    params
        .get(key)
        .map(|ids| ids.split(',').filter_map(|i| i.trim().parse().ok()).collect())
}

/// The store's products, only those of `ids` when given (a `product_id:in` filter).
fn chosen_products<'a>(store: &'a Store, ids: Option<&'a [u64]>) -> impl Iterator<Item = &'a ProductRecord> {
    store
        .products
        .values()
        .filter(move |p| ids.is_none_or(|ids| ids.contains(&p.id)))
}

fn with_store<T>(sandbox: &Sandbox, caller: &Caller, read: impl FnOnce(&mut Store) -> T) -> T {
    let mut state = sandbox.lock();
    read(
        state
            .stores
            .get_mut(&caller.store_hash)
            .expect("the gate checked the store"),
    )
}

async fn store_info(Api { sandbox, caller }: Api) -> Response {
    let id = with_store(&sandbox, &caller, |store| store.id);
    ok(
        json!({"id": caller.store_hash, "name": format!("Sandbox store {id}"), "domain": format!("{}.mybigcommerce.invalid", caller.store_hash),
              "currency": "USD", "currency_symbol": "$", "weight_units": "Ounces", "dimension_units": "Inches",
              "plan_name": "Standard", "timezone": {"name": "UTC"}}),
    )
}

async fn list_products(Api { sandbox, caller }: Api, Query(params): Params) -> Response {
    let include: Vec<&str> = params
        .get("include")
        .map(|i| i.split(',').collect())
        .unwrap_or_default();
    let mut filter_errors = serde_json::Map::new();
    let mut bound = |key: &str| match params.get(key) {
        None => None,
        Some(text) => {
            let parsed = parse_iso(text);
            if parsed.is_none() {
                filter_errors.insert(key.to_string(), json!("must be an ISO-8601 date or date-time"));
            }
            parsed
        }
    };
    let (modified_min, modified_max) = (bound("date_modified:min"), bound("date_modified:max"));
    if !filter_errors.is_empty() {
        return v3_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The filter is invalid",
            Value::Object(filter_errors),
        );
    }
    let ids = id_list(&params, "id:in");
    let sort = params.get("sort").map_or("id", String::as_str);
    let descending = params.get("direction").is_some_and(|d| d == "desc");
    with_store(&sandbox, &caller, |store| {
        let mut matches: Vec<&ProductRecord> = store
            .products
            .values()
            .filter(|p| ids.as_ref().is_none_or(|ids| ids.contains(&p.id)))
            .filter(|p| modified_min.is_none_or(|min| p.date_modified >= min))
            .filter(|p| modified_max.is_none_or(|max| p.date_modified <= max))
            .filter(|p| params.get("sku").is_none_or(|sku| &p.sku == sku))
            .filter(|p| params.get("name").is_none_or(|name| &p.name == name))
            .filter(|p| {
                params
                    .get("keyword")
                    .is_none_or(|k| p.name.to_lowercase().contains(&k.to_lowercase()))
            })
            .collect();
        match sort {
            "date_modified" => matches.sort_by_key(|p| (p.date_modified, p.id)),
            "name" => matches.sort_by(|a, b| a.name.cmp(&b.name)),
            "price" => matches.sort_by_key(|p| (p.price_cents, p.id)),
            _ => matches.sort_by_key(|p| p.id),
        }
        if descending {
            matches.reverse();
        }
        let base = sandbox.base_url();
        paginate(matches, &params, |p| p.to_json(&include, &base))
    })
}

async fn get_product(Api { sandbox, caller }: Api, Path(params): PathParams, Query(query): Params) -> Response {
    let include: Vec<&str> = query.get("include").map(|i| i.split(',').collect()).unwrap_or_default();
    let id = params.get("id").and_then(|i| i.parse::<u64>().ok()).unwrap_or_default();
    let base = sandbox.base_url();
    match with_store(&sandbox, &caller, |store| {
        store.products.get(&id).map(|p| p.to_json(&include, &base))
    }) {
        Some(product) => ok(json!({"data": product, "meta": {}})),
        None => v3_error(StatusCode::NOT_FOUND, "The product was not found.", json!({})),
    }
}

async fn list_variants(Api { sandbox, caller }: Api, Query(params): Params) -> Response {
    let ids = id_list(&params, "id:in");
    let products = id_list(&params, "product_id:in");
    let items = with_store(&sandbox, &caller, |store| {
        chosen_products(store, products.as_deref())
            .flat_map(|p| p.variants.iter().filter_map(|v| p.variant(v.id)))
            .filter(|v| {
                ids.as_ref()
                    .is_none_or(|ids| ids.contains(&v["id"].as_u64().unwrap_or_default()))
            })
            .filter(|v| params.get("sku").is_none_or(|sku| v["sku"] == sku.as_str()))
            .collect::<Vec<_>>()
    });
    collection(items, &params)
}

async fn list_brands(Api { sandbox, caller }: Api, Query(params): Params) -> Response {
    let items = with_store(&sandbox, &caller, |store| {
        store
            .brands
            .iter()
            .map(|(id, name)| json!({"id": id, "name": name}))
            .collect()
    });
    collection(items, &params)
}

async fn list_categories(Api { sandbox, caller }: Api, Query(params): Params) -> Response {
    let items = with_store(&sandbox, &caller, |store| {
        store.categories.iter().map(|(id, parent, name)| json!({"category_id": id, "parent_id": parent, "name": name, "tree_id": 1, "is_visible": true})).collect()
    });
    collection(items, &params)
}

/// Stock of one variant: product-level stock for products tracked by product.
fn variant_stock(product: &ProductRecord, variant_id: u64) -> i64 {
    if product.tracking == "variant" {
        product
            .variants
            .iter()
            .find(|v| v.id == variant_id)
            .map_or(0, |v| v.inventory)
    } else {
        product.inventory
    }
}

async fn inventory_items(Api { sandbox, caller }: Api, Query(params): Params) -> Response {
    let variants = id_list(&params, "variant_id:in");
    let products = id_list(&params, "product_id:in");
    let items = with_store(&sandbox, &caller, |store| {
        chosen_products(store, products.as_deref())
            .flat_map(|p| p.variants.iter().map(move |v| (p, v)))
            .filter(|(_, v)| variants.as_ref().is_none_or(|ids| ids.contains(&v.id)))
            .map(|(p, v)| {
                let on_hand = variant_stock(p, v.id);
                let available = (on_hand - p.safety_stock).max(0);
                json!({"identity": {"sku": v.sku, "variant_id": v.id, "product_id": p.id},
                       "locations": [{"location_id": 1, "location_code": "default", "available_to_sell": available,
                                      "total_inventory_onhand": on_hand,
                                      "settings": {"safety_stock": p.safety_stock, "is_in_stock": available > 0}}]})
            })
            .collect::<Vec<_>>()
    });
    collection(items, &params)
}

/// The largest stock level per location.
const MAX_LEVEL: i64 = 2_147_483_647;

/// How an inventory adjustment moves stock (§1.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    /// `PUT /v3/inventory/adjustments/absolute`: `quantity` is the new level.
    Absolute,
    /// `POST /v3/inventory/adjustments/relative`: `quantity` is a signed change.
    Relative,
}

impl Method {
    /// The name the inventory webhooks give it.
    fn name(self) -> &'static str {
        match self {
            Method::Absolute => "absolute",
            Method::Relative => "relative",
        }
    }
}

fn unprocessable(title: impl Into<String>) -> Response {
    v3_error(StatusCode::UNPROCESSABLE_ENTITY, title, json!({}))
}

/// The (product, variant) whose stock an adjustment item names: `variant_id`, `sku` or
/// `product_id`, by the product's tracking mode (a variant of a product tracked by
/// product, or a product tracked by variant, is refused as BigCommerce refuses it).
fn stock_target(store: &Store, item: &Value) -> Result<(u64, Option<u64>), Response> {
    let by_variant = |found: Option<(&ProductRecord, u64)>, name: String| match found {
        Some((product, variant_id)) if product.tracking == "variant" => Ok((product.id, Some(variant_id))),
        // The base variant's SKU of a product tracked by product is the product's.
        Some((product, _)) if item["sku"].is_string() && product.variants.len() == 1 => Ok((product.id, None)),
        Some(_) => Err(unprocessable(format!(
            "[Item with {name} is tracked by product, please update stock by product id]"
        ))),
        None => Err(unprocessable(format!("{name} does not exist"))),
    };
    let variant = |matches: &dyn Fn(&crate::state::VariantRecord) -> bool| {
        store
            .products
            .values()
            .find_map(|p| p.variants.iter().find(|v| matches(v)).map(|v| (p, v.id)))
    };
    if let Some(variant_id) = item["variant_id"].as_u64() {
        by_variant(variant(&|v| v.id == variant_id), format!("variant_id {variant_id}"))
    } else if let Some(sku) = item["sku"].as_str() {
        by_variant(variant(&|v| v.sku == sku), format!("sku {sku}"))
    } else if let Some(product_id) = item["product_id"].as_u64() {
        match store.products.get(&product_id).map(|p| p.tracking) {
            Some("product") => Ok((product_id, None)),
            Some(_) => Err(unprocessable(format!(
                "[Item with product_id {product_id} is tracked by variant, please update stock by variant id]"
            ))),
            None => Err(unprocessable(format!("Product {product_id} does not exist"))),
        }
    } else {
        Err(unprocessable("Each item needs a variant_id, a sku or a product_id"))
    }
}

/// The stock-key of a target: the variant, or the base variant of a product tracked by
/// product (what [`Store::without_absolute`] holds).
fn stock_key(store: &Store, (product_id, variant_id): (u64, Option<u64>)) -> u64 {
    variant_id
        .or_else(|| store.products.get(&product_id).map(|p| p.variants[0].id))
        .unwrap_or_default()
}

/// The new level of each item of an adjustment, or BigCommerce's 422: an absolute
/// `quantity` is 0 to 2147483647; a relative one is a signed change of an item that
/// has an absolute level (not in [`Store::without_absolute`]: "requires absolute
/// adjustment before relative") and may not take it below 0 or above the maximum.
/// Items naming the same stock add up.
fn adjusted_levels(store: &Store, items: &[Value], method: Method) -> Result<Vec<Adjusted>, Response> {
    let mut levels: Vec<Adjusted> = Vec::new();
    for item in items {
        let Some(quantity) = item["quantity"].as_i64() else {
            return Err(unprocessable("quantity must be a whole number"));
        };
        if method == Method::Absolute && !(0..=MAX_LEVEL).contains(&quantity) {
            return Err(unprocessable("quantity must be 0 to 2147483647"));
        }
        if item["location_id"].as_u64() != Some(1) {
            return Err(v3_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Unknown location",
                json!({"location_id": "invalid"}),
            ));
        }
        let target = stock_target(store, item)?;
        let key = stock_key(store, target);
        if method == Method::Relative && store.without_absolute.contains(&key) {
            return Err(unprocessable(format!(
                "The item {key} requires absolute adjustment before relative"
            )));
        }
        let previous = levels
            .iter()
            .position(|a| a.target == target)
            .map(|index| levels.remove(index));
        let current = previous.as_ref().map_or_else(
            || store.products.get(&target.0).map_or(0, |p| variant_stock(p, key)),
            |a| a.level,
        );
        let (level, change) = match method {
            Method::Absolute => (quantity, quantity),
            Method::Relative => (current + quantity, previous.map_or(0, |a| a.change) + quantity),
        };
        if !(0..=MAX_LEVEL).contains(&level) {
            return Err(unprocessable(format!(
                "The adjustment of {key} by {quantity} would take its stock from {current} out of 0 to 2147483647"
            )));
        }
        levels.push(Adjusted { target, level, change });
    }
    Ok(levels)
}

/// One stock an adjustment moves: its new level and the change the webhook reports
/// (the level for absolute adjustments, the signed sum for relative ones).
struct Adjusted {
    target: (u64, Option<u64>),
    level: i64,
    change: i64,
}

/// `PUT /v3/inventory/adjustments/absolute` (§1.10): sets levels; the item then has an
/// absolute level for relative adjustments.
async fn set_inventory(Api { sandbox, caller }: Api, V3Body(body): V3Body) -> Response {
    adjust_inventory(&sandbox, &caller, &body, Method::Absolute)
}

/// `POST /v3/inventory/adjustments/relative` (§1.10): signed changes. Seeded products
/// count as having an absolute level (the catalog's stock is the level BigCommerce's
/// inventory starts from), so the connector can restock them; an item the admin marked
/// without one (`POST /sandbox/products/{id}/stock` with `"absolute_set": false`) is
/// refused with 422 until an absolute adjustment.
async fn relative_inventory(Api { sandbox, caller }: Api, V3Body(body): V3Body) -> Response {
    adjust_inventory(&sandbox, &caller, &body, Method::Relative)
}

/// An inventory adjustment: `{"reason"?, "items": [{location_id, variant_id | sku |
/// product_id, quantity}]}` (at most 2000 items), all or nothing; each stock moved
/// fires `store/product/inventory/updated` or `store/sku/inventory/updated` with the
/// method and its value; answers `{"transaction_id"}`.
fn adjust_inventory(sandbox: &Sandbox, caller: &Caller, body: &Value, method: Method) -> Response {
    let items = body["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        return v3_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "items are required",
            json!({"items": "missing"}),
        );
    }
    if items.len() > 2000 {
        return v3_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "At most 2000 items per request",
            json!({}),
        );
    }
    let outcome = with_store(sandbox, caller, |store| {
        let levels = adjusted_levels(store, &items, method)?;
        if method == Method::Absolute {
            for adjusted in &levels {
                let key = stock_key(store, adjusted.target);
                store.without_absolute.remove(&key);
            }
        }
        Ok(levels)
    });
    let levels = match outcome {
        Ok(levels) => levels,
        Err(response) => return response,
    };
    for Adjusted { target, level, change } in levels {
        sandbox.adjust_stock(&caller.store_hash, target, level, (method.name(), change));
    }
    ok(json!({"transaction_id": format!("{:032x}", rand::random::<u128>())}))
}

impl Sandbox {
    /// Sets stock and fires the inventory webhook of the product's tracking mode
    /// (an absolute change to `quantity`).
    pub(crate) fn set_stock(&self, store_hash: &str, product_id: u64, variant_id: Option<u64>, quantity: i64) {
        self.adjust_stock(store_hash, (product_id, variant_id), quantity, ("absolute", quantity));
    }

    /// Sets the stock of (product, variant) to `level` and fires
    /// `store/sku/inventory/updated` (tracked by variant) or
    /// `store/product/inventory/updated` with `inventory {method, value}`.
    fn adjust_stock(
        &self,
        store_hash: &str,
        (product_id, variant_id): (u64, Option<u64>),
        level: i64,
        (method, value): (&str, i64),
    ) {
        let fired = {
            let mut state = self.lock();
            let Some(product) = state
                .stores
                .get_mut(store_hash)
                .and_then(|s| s.products.get_mut(&product_id))
            else {
                return;
            };
            product.date_modified = sandbox_kit::clock::unix_now();
            match (product.tracking, variant_id) {
                ("variant", Some(variant_id)) => {
                    let Some(variant) = product.variants.iter_mut().find(|v| v.id == variant_id) else {
                        return;
                    };
                    variant.inventory = level;
                    (
                        "store/sku/inventory/updated",
                        json!({"type": "sku", "id": variant_id,
                        "inventory": {"product_id": product_id, "variant_id": variant_id, "method": method, "value": value}}),
                    )
                }
                _ => {
                    product.inventory = level;
                    (
                        "store/product/inventory/updated",
                        json!({"type": "product", "id": product_id,
                        "inventory": {"product_id": product_id, "method": method, "value": value}}),
                    )
                }
            }
        };
        self.fire(store_hash, fired.0, fired.1);
    }
}

async fn list_channels(Api { sandbox, caller }: Api, Query(params): Params) -> Response {
    let items = with_store(&sandbox, &caller, |store| store.channels.clone());
    collection(items, &params)
}

async fn create_channel(Api { sandbox, caller }: Api, V3Body(body): V3Body) -> Response {
    let (Some(name), Some(kind), Some(platform)) =
        (body["name"].as_str(), body["type"].as_str(), body["platform"].as_str())
    else {
        return v3_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "name, type and platform are required",
            json!({}),
        );
    };
    let id = sandbox.lock().new_id();
    let channel = json!({"id": id, "name": name, "type": kind, "platform": platform, "status": body["status"].as_str().unwrap_or("connected"),
                         "external_id": body["external_id"]});
    with_store(&sandbox, &caller, |store| store.channels.push(channel.clone()));
    ok(json!({"data": channel, "meta": {}}))
}

/// BigCommerce wants HTTPS on port 443; the sandbox also accepts plain HTTP on
/// loopback so local runs receive deliveries.
fn acceptable_destination(destination: &str) -> bool {
    let Ok(url) = url::Url::parse(destination) else {
        return false;
    };
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    (url.scheme() == "https" && url.port().is_none_or(|p| p == 443)) || loopback
}

/// Runs `act` on the caller's hook `id` (its index in the store's hooks), or answers 404.
fn with_hook(sandbox: &Sandbox, caller: &Caller, id: u64, act: impl FnOnce(&mut Store, usize) -> Response) -> Response {
    with_store(sandbox, caller, |store| {
        match store
            .hooks
            .iter()
            .position(|h| h.id == id && h.client_id == caller.client_id)
        {
            Some(at) => act(store, at),
            None => v3_error(
                StatusCode::NOT_FOUND,
                format!("Webhook with id [{id}] not found"),
                json!({}),
            ),
        }
    })
}

/// A hook's custom headers as the body gives them (values that are not strings empty).
fn hook_headers(headers: &serde_json::Map<String, Value>) -> BTreeMap<String, String> {
    headers
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect()
}

async fn list_hooks(Api { sandbox, caller }: Api, Query(params): Params) -> Response {
    let items = with_store(&sandbox, &caller, |store| {
        store
            .hooks
            .iter()
            .filter(|h| h.client_id == caller.client_id)
            .filter(|h| params.get("scope").is_none_or(|s| &h.scope == s))
            .map(|h| h.to_json(&store.hash))
            .collect()
    });
    collection(items, &params)
}

async fn create_hook(Api { sandbox, caller }: Api, V3Body(body): V3Body) -> Response {
    let scope = body["scope"].as_str().unwrap_or_default().to_string();
    let destination = body["destination"].as_str().unwrap_or_default().to_string();
    let mut errors = serde_json::Map::new();
    if !scope.starts_with("store/") {
        errors.insert("scope".into(), json!("error.path.missing."));
    }
    if !acceptable_destination(&destination) {
        errors.insert("destination".into(), json!("error.path.missing."));
    }
    if !errors.is_empty() {
        return v3_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "JSON data is missing or invalid",
            Value::Object(errors),
        );
    }
    let headers = body["headers"].as_object().map(hook_headers).unwrap_or_default();
    let id = sandbox.lock().new_id();
    with_store(&sandbox, &caller, |store| {
        let mine: Vec<&Hook> = store
            .hooks
            .iter()
            .filter(|h| h.client_id == caller.client_id && h.scope == scope)
            .collect();
        if mine.iter().any(|h| h.destination == destination) {
            return v3_error(
                StatusCode::CONFLICT,
                "A webhook with this scope and destination already exists",
                json!({}),
            );
        }
        if mine.len() >= 10 {
            return v3_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "At most 10 webhooks per scope",
                json!({}),
            );
        }
        let hook = Hook {
            id,
            client_id: caller.client_id.clone(),
            scope,
            destination,
            headers,
            is_active: body["is_active"].as_bool().unwrap_or(true),
            created_at: sandbox_kit::clock::unix_now(),
        };
        let answer = hook.to_json(&store.hash);
        store.hooks.push(hook);
        ok(json!({"data": answer, "meta": {}}))
    })
}

async fn get_hook(Api { sandbox, caller }: Api, Path(params): PathParams) -> Response {
    let id = path_id(&params, "id");
    with_hook(&sandbox, &caller, id, |store, at| {
        ok(json!({"data": store.hooks[at].to_json(&store.hash), "meta": {}}))
    })
}

async fn update_hook(Api { sandbox, caller }: Api, Path(params): PathParams, V3Body(body): V3Body) -> Response {
    let id = path_id(&params, "id");
    if let Some(destination) = body["destination"].as_str()
        && !acceptable_destination(destination)
    {
        return v3_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "JSON data is missing or invalid",
            json!({"destination": "error.path.missing."}),
        );
    }
    with_hook(&sandbox, &caller, id, |store, at| {
        let hash = store.hash.clone();
        let hook = &mut store.hooks[at];
        if let Some(scope) = body["scope"].as_str() {
            hook.scope = scope.to_string();
        }
        if let Some(destination) = body["destination"].as_str() {
            hook.destination = destination.to_string();
        }
        if let Some(active) = body["is_active"].as_bool() {
            hook.is_active = active;
        }
        if let Some(headers) = body["headers"].as_object() {
            hook.headers = hook_headers(headers);
        }
        ok(json!({"data": hook.to_json(&hash), "meta": {}}))
    })
}

async fn delete_hook(Api { sandbox, caller }: Api, Path(params): PathParams) -> Response {
    let id = path_id(&params, "id");
    with_hook(&sandbox, &caller, id, |store, at| {
        let hook = store.hooks.remove(at);
        ok(json!({"data": hook.to_json(&store.hash), "meta": {}}))
    })
}

/// Status labels by id (reference §1.11).
pub(crate) const STATUSES: [&str; 15] = [
    "Incomplete",
    "Pending",
    "Shipped",
    "Partially Shipped",
    "Refunded",
    "Cancelled",
    "Declined",
    "Awaiting Payment",
    "Awaiting Pickup",
    "Awaiting Shipment",
    "Completed",
    "Awaiting Fulfillment",
    "Manual Verification Required",
    "Disputed",
    "Partially Refunded",
];

/// A money field as BigCommerce takes it: a number or a float-as-string.
pub(crate) fn decimal(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A money field as BigCommerce returns it: a string with 4 decimals (`"9.0000"`).
pub(crate) fn money(value: Decimal) -> String {
    format!("{:.4}", value.round_dp(4))
}

/// A `*_ex_tax` / `*_inc_tax` pair of the order body: both or neither (zero), never
/// below zero, and never less with tax than without.
fn cost_pair(body: &Value, field: &str) -> Result<(Decimal, Decimal), String> {
    let ex = decimal(&body[format!("{field}_ex_tax")]);
    let inc = decimal(&body[format!("{field}_inc_tax")]);
    match (ex, inc) {
        (None, None) => Ok((Decimal::ZERO, Decimal::ZERO)),
        (Some(ex), Some(inc)) if ex >= Decimal::ZERO && inc >= ex => Ok((ex, inc)),
        (Some(_), Some(_)) => Err(format!(
            "The fields '{field}_ex_tax' and '{field}_inc_tax' are invalid."
        )),
        _ => Err(format!("Send both '{field}_ex_tax' and '{field}_inc_tax', or neither.")),
    }
}

/// Resolves a catalog line to (product, variant id, unit price ex, unit price inc).
fn resolve_line(store: &Store, line: &Value) -> Result<(u64, u64, u32, Decimal, Decimal, String, String), String> {
    let product_id = line["product_id"].as_u64().ok_or("products[].product_id is required")?;
    let product = store
        .products
        .get(&product_id)
        .ok_or_else(|| format!("The product with id {product_id} was not found."))?;
    let quantity = line["quantity"]
        .as_u64()
        .filter(|q| *q >= 1)
        .ok_or("products[].quantity must be at least 1")? as u32;
    let variant = match line["variant_id"].as_u64() {
        Some(variant_id) => product
            .variants
            .iter()
            .find(|v| v.id == variant_id)
            .ok_or_else(|| format!("Variant {variant_id} does not belong to product {product_id}."))?,
        None => match line["product_options"].as_array() {
            Some(options) => {
                let chosen: Vec<(u64, u64)> = options
                    .iter()
                    .filter_map(|o| Some((o["id"].as_u64()?, o["value"].as_str()?.parse().ok()?)))
                    .collect();
                product
                    .variants
                    .iter()
                    .find(|v| {
                        v.option_values
                            .iter()
                            .all(|(option, _, value, _)| chosen.contains(&(*option, *value)))
                    })
                    .ok_or("product_options do not match a variant")?
            }
            None if product.variants.len() == 1 && product.variants[0].option_values.is_empty() => &product.variants[0],
            None => {
                return Err(format!(
                    "Product {product_id} has options: send variant_id or product_options."
                ));
            }
        },
    };
    let catalog_price = Decimal::new(variant.price_cents.unwrap_or(product.price_cents), 2);
    let (ex, inc) = match (decimal(&line["price_ex_tax"]), decimal(&line["price_inc_tax"])) {
        (Some(ex), Some(inc)) => (ex, inc),
        (None, None) => (catalog_price, catalog_price),
        _ => return Err("Send both price_ex_tax and price_inc_tax, or neither.".into()),
    };
    Ok((
        product_id,
        variant.id,
        quantity,
        ex,
        inc,
        product.name.clone(),
        variant.sku.clone(),
    ))
}

async fn create_order(Api { sandbox, caller }: Api, V2Body(body): V2Body) -> Response {
    match sandbox.place_order(&caller.store_hash, &body) {
        Ok(order) => json_response(StatusCode::CREATED, api_order(&order)),
        Err(response) => response,
    }
}

impl Sandbox {
    /// Validates and creates a v2 order (`POST /v2/orders`, §1.11), whoever places it
    /// (an app through the API, or a shopper through the admin route), then fires
    /// `store/order/created` and moves stock per the store's inventory settings.
    pub(crate) fn place_order(&self, store_hash: &str, body: &Value) -> Result<Value, Response> {
        if body["billing_address"]["zip"]
            .as_str()
            .is_none_or(|z| z.trim().len() < 2)
        {
            return Err(v2_error(
                StatusCode::BAD_REQUEST,
                "The field 'billing_address.zip' is invalid.",
            ));
        }
        let lines = body["products"].as_array().cloned().unwrap_or_default();
        if lines.is_empty() {
            return Err(v2_error(
                StatusCode::BAD_REQUEST,
                "The field 'products' cannot be empty.",
            ));
        }
        let addresses = body["shipping_addresses"].as_array().cloned().unwrap_or_default();
        if addresses.is_empty() {
            return Err(v2_error(
                StatusCode::BAD_REQUEST,
                "The field 'shipping_addresses' cannot be empty when products are sent.",
            ));
        }
        let status_id = body["status_id"].as_u64().unwrap_or(1);
        if status_id as usize >= STATUSES.len() {
            return Err(v2_error(StatusCode::BAD_REQUEST, "The field 'status_id' is invalid."));
        }
        let charges = cost_pair(body, "shipping_cost").and_then(|shipping| {
            let handling = cost_pair(body, "handling_cost")?;
            match body.get("discount_amount").filter(|d| !d.is_null()).map(decimal) {
                None => Ok((shipping, handling, Decimal::ZERO)),
                Some(Some(discount)) if discount >= Decimal::ZERO => Ok((shipping, handling, discount)),
                Some(_) => Err("The field 'discount_amount' is invalid.".to_string()),
            }
        });
        let ((shipping_ex, shipping_inc), (handling_ex, handling_inc), discount) =
            charges.map_err(|message| v2_error(StatusCode::BAD_REQUEST, message))?;
        let mut state = self.lock();
        let order_id = state.new_id();
        let mut next_line_id = order_id * 100;
        let store = state.stores.get_mut(store_hash).ok_or_else(not_found)?;
        let channel_id = body["channel_id"].as_u64().unwrap_or(1);
        if !store.channels.iter().any(|c| c["id"] == channel_id) {
            return Err(v2_error(
                StatusCode::BAD_REQUEST,
                format!("Channel {channel_id} does not exist."),
            ));
        }
        let mut order_lines = Vec::new();
        let (mut subtotal_ex, mut subtotal_inc) = (Decimal::ZERO, Decimal::ZERO);
        for line in &lines {
            match resolve_line(store, line) {
                Ok((product_id, variant_id, quantity, ex, inc, name, sku)) => {
                    next_line_id += 1;
                    subtotal_ex += ex * Decimal::from(quantity);
                    subtotal_inc += inc * Decimal::from(quantity);
                    order_lines.push(json!({"id": next_line_id, "order_id": order_id, "product_id": product_id, "variant_id": variant_id,
                    "order_address_id": order_id * 10 + 1, "name": name, "sku": sku, "type": "physical", "quantity": quantity,
                    "quantity_shipped": 0, "base_price": money(ex), "price_ex_tax": money(ex), "price_inc_tax": money(inc),
                    "total_ex_tax": money(ex * Decimal::from(quantity)), "total_inc_tax": money(inc * Decimal::from(quantity)),
                    "quantity_refunded": 0, "is_refunded": false, "refund_amount": money(Decimal::ZERO)}));
                }
                Err(message) => return Err(v2_error(StatusCode::BAD_REQUEST, message)),
            }
        }
        let shipping_addresses: Vec<Value> = addresses
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let mut address = a.clone();
                address["id"] = json!(order_id * 10 + 1 + i as u64);
                address["order_id"] = json!(order_id);
                address
            })
            .collect();
        // BigCommerce's order arithmetic: the discount comes off both totals.
        let total_ex = subtotal_ex + shipping_ex + handling_ex - discount;
        let total_inc = subtotal_inc + shipping_inc + handling_inc - discount;
        let order = json!({
            "id": order_id, "customer_id": body["customer_id"].as_u64().unwrap_or(0), "status_id": status_id, "status": STATUSES[status_id as usize],
            "channel_id": channel_id, "external_source": body["external_source"], "external_order_id": body["external_order_id"].as_str().unwrap_or_default(),
            "external_id": null, "date_created": iso(sandbox_kit::clock::unix_now()), "date_modified": iso(sandbox_kit::clock::unix_now()),
            "subtotal_ex_tax": money(subtotal_ex), "subtotal_inc_tax": money(subtotal_inc),
            "shipping_cost_ex_tax": money(shipping_ex), "shipping_cost_inc_tax": money(shipping_inc),
            "handling_cost_ex_tax": money(handling_ex), "handling_cost_inc_tax": money(handling_inc), "discount_amount": money(discount),
            "subtotal_tax": money(subtotal_inc - subtotal_ex), "shipping_cost_tax": money(shipping_inc - shipping_ex),
            "handling_cost_tax": money(handling_inc - handling_ex), "total_tax": money(total_inc - total_ex),
            "total_ex_tax": money(total_ex), "total_inc_tax": money(total_inc), "refunded_amount": money(Decimal::ZERO),
            "items_total": order_lines.iter().map(|l| l["quantity"].as_u64().unwrap_or(0)).sum::<u64>(), "items_shipped": 0,
            "payment_method": body["payment_method"], "customer_message": body["customer_message"], "staff_notes": body["staff_notes"],
            "billing_address": body["billing_address"], "currency_code": "USD",
            "products": order_lines, "shipping_addresses": shipping_addresses,
        });
        store.orders.insert(order_id, order.clone());
        drop(state);
        self.fire(
            store_hash,
            "store/order/created",
            json!({"type": "order", "id": order_id}),
        );
        self.move_order_stock(store_hash, order_id, None, status_id);
        Ok(order)
    }
}

/// The v2 order as the API returns it: sub-resources as links.
pub(crate) fn api_order(order: &Value) -> Value {
    let mut answer = order.clone();
    let id = &order["id"];
    answer["products"] =
        json!({"url": format!("/v2/orders/{id}/products"), "resource": format!("/orders/{id}/products")});
    answer["shipping_addresses"] = json!({"url": format!("/v2/orders/{id}/shipping_addresses"), "resource": format!("/orders/{id}/shipping_addresses")});
    answer
}

fn not_found() -> Response {
    v2_error(StatusCode::NOT_FOUND, "The requested resource was not found.")
}

async fn list_orders(Api { sandbox, caller }: Api, Query(params): Params) -> Response {
    let limit = params.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(50);
    if !(1..=250).contains(&limit) {
        return v2_error(StatusCode::BAD_REQUEST, "The field 'limit' is invalid.");
    }
    let page = params
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let orders: Vec<Value> = with_store(&sandbox, &caller, |store| {
        store
            .orders
            .values()
            .filter(|o| {
                params
                    .get("external_order_id")
                    .is_none_or(|e| o["external_order_id"] == e.as_str())
            })
            .filter(|o| params.get("status_id").is_none_or(|s| o["status_id"].to_string() == *s))
            .filter(|o| {
                let archived = o["is_deleted"].as_bool().unwrap_or(false);
                archived == params.get("is_deleted").is_some_and(|d| d == "true")
            })
            .filter(|o| {
                params
                    .get("channel_id")
                    .is_none_or(|c| o["channel_id"].to_string() == *c)
            })
            .filter(|o| {
                params
                    .get("min_id")
                    .and_then(|m| m.parse::<u64>().ok())
                    .is_none_or(|m| o["id"].as_u64() >= Some(m))
            })
            .skip((page - 1) * limit)
            .take(limit)
            .map(api_order)
            .collect()
    });
    if orders.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    ok(json!(orders))
}

/// Archives an order (`is_deleted`); listings leave it out unless `is_deleted=true`.
async fn archive_order(Api { sandbox, caller }: Api, Path(params): PathParams) -> Response {
    let id = path_id(&params, "id");
    let archived = with_store(&sandbox, &caller, |store| {
        let order = store.orders.get_mut(&id)?;
        order["is_deleted"] = json!(true);
        Some(())
    });
    match archived {
        Some(()) => StatusCode::NO_CONTENT.into_response(),
        None => not_found(),
    }
}

async fn get_order(Api { sandbox, caller }: Api, Path(params): PathParams) -> Response {
    let id = path_id(&params, "id");
    with_store(&sandbox, &caller, |store| store.orders.get(&id).map(api_order)).map_or_else(not_found, ok)
}

async fn update_order(Api { sandbox, caller }: Api, Path(params): PathParams, V2Body(body): V2Body) -> Response {
    let id = path_id(&params, "id");
    if let Some(status) = body.get("status_id")
        && status.as_u64().is_none_or(|s| s as usize >= STATUSES.len())
    {
        return v2_error(StatusCode::BAD_REQUEST, "The field 'status_id' is invalid.");
    }
    match sandbox.change_order(&caller.store_hash, id, &body) {
        Some(order) => ok(api_order(&order)),
        None => not_found(),
    }
}

impl Sandbox {
    /// Applies writable fields to an order; a status change fires
    /// `store/order/statusUpdated` and moves stock per the store's inventory settings.
    pub(crate) fn change_order(&self, store_hash: &str, id: u64, body: &Value) -> Option<Value> {
        let (order, previous) = {
            let mut state = self.lock();
            let store = state.stores.get_mut(store_hash)?;
            let mut order = store.orders.get(&id)?.clone();
            let previous = order["status_id"].as_u64().unwrap_or(0);
            for field in ["external_order_id", "staff_notes", "customer_message", "status_id"] {
                if let Some(value) = body.get(field) {
                    order[field] = value.clone();
                }
            }
            let next = order["status_id"].as_u64().unwrap_or(previous);
            order["status"] = json!(STATUSES[next as usize]);
            order["date_modified"] = json!(iso(sandbox_kit::clock::unix_now()));
            store.orders.insert(id, order.clone());
            (order, previous)
        };
        let next = order["status_id"].as_u64().unwrap_or(previous);
        self.fire(store_hash, "store/order/updated", json!({"type": "order", "id": id}));
        if next != previous {
            self.fire(
                store_hash,
                "store/order/statusUpdated",
                json!({"type": "order", "id": id,
                "status": {"previous_status_id": previous, "new_status_id": next}}),
            );
            self.move_order_stock(store_hash, id, Some(previous), next);
        }
        Some(order)
    }

    /// Moves an order's stock as BigCommerce does for the store's inventory settings
    /// (§1.11; Settings API `InventorySettings`): an order takes its units when it is
    /// created (`order_placed`, the default) or when it first reaches Shipped or
    /// Completed (`order_completed_or_shipped`), and gives them back when it is
    /// cancelled or refunded (`refund_order_stock_adjustment`, default on). Each line
    /// moved fires `store/product/inventory/order/updated` (tracked by product) or
    /// `store/sku/inventory/order/updated` (tracked by variant) with the relative change.
    /// `previous` is `None` at creation.
    pub(crate) fn move_order_stock(&self, store_hash: &str, id: u64, previous: Option<u64>, next: u64) {
        let events = {
            let mut state = self.lock();
            let Some(store) = state.stores.get_mut(store_hash) else {
                return;
            };
            let settings = store.inventory_settings;
            let held = store.stock_held.contains(&id);
            let takes = match settings.update_stock_behavior {
                UpdateStockBehavior::OrderPlaced => previous.is_none() && !matches!(next, 0 | 4 | 5),
                UpdateStockBehavior::OrderCompletedOrShipped => matches!(next, 2 | 10),
            };
            let gives = settings.refund_order_stock_adjustment && matches!(next, 4 | 5);
            let sign = match (held, takes, gives) {
                (false, true, _) => -1,
                (true, _, true) => 1,
                _ => return,
            };
            if sign < 0 {
                store.stock_held.insert(id);
            } else {
                store.stock_held.remove(&id);
            }
            let lines = store
                .orders
                .get(&id)
                .and_then(|o| o["products"].as_array().cloned())
                .unwrap_or_default();
            let mut events = Vec::new();
            let now = sandbox_kit::clock::unix_now();
            for line in lines {
                let (Some(product_id), Some(variant_id), Some(quantity)) = (
                    line["product_id"].as_u64(),
                    line["variant_id"].as_u64(),
                    line["quantity"].as_i64(),
                ) else {
                    continue;
                };
                let Some(product) = store.products.get_mut(&product_id) else {
                    continue;
                };
                let change = sign * quantity;
                product.date_modified = now;
                if product.tracking == "variant" {
                    if let Some(variant) = product.variants.iter_mut().find(|v| v.id == variant_id) {
                        variant.inventory = (variant.inventory + change).max(0);
                        events.push((
                            "store/sku/inventory/order/updated",
                            json!({"type": "sku", "id": variant_id, "inventory": {"product_id": product_id,
                                   "variant_id": variant_id, "method": "relative", "value": change}}),
                        ));
                    }
                } else {
                    product.inventory = (product.inventory + change).max(0);
                    events.push((
                        "store/product/inventory/order/updated",
                        json!({"type": "product", "id": product_id,
                               "inventory": {"product_id": product_id, "method": "relative", "value": change}}),
                    ));
                }
            }
            events
        };
        for (scope, data) in events {
            self.fire(store_hash, scope, data);
        }
    }
}

async fn inventory_settings(Api { sandbox, caller }: Api) -> Response {
    let settings = with_store(&sandbox, &caller, |store| store.inventory_settings);
    ok(json!({"data": settings, "meta": {}}))
}

/// `PUT /v3/settings/inventory`: the modelled fields change; the others are accepted and ignored.
async fn update_inventory_settings(Api { sandbox, caller }: Api, V3Body(body): V3Body) -> Response {
    let mut settings = with_store(&sandbox, &caller, |store| store.inventory_settings);
    let mut merged = serde_json::to_value(settings).expect("settings serialize");
    // Settings the sandbox does not model (stock level display, …) are accepted and
    // have no effect here, as they have none on stock.
    for (field, value) in body.as_object().into_iter().flatten() {
        if merged.get(field).is_some() {
            merged[field] = value.clone();
        }
    }
    settings = match serde_json::from_value(merged) {
        Ok(settings) => settings,
        Err(error) => {
            return v3_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "JSON data is missing or invalid",
                json!({"settings": error.to_string()}),
            );
        }
    };
    with_store(&sandbox, &caller, |store| store.inventory_settings = settings);
    ok(json!({"data": settings, "meta": {}}))
}

async fn order_products(Api { sandbox, caller }: Api, Path(params): PathParams) -> Response {
    let id = path_id(&params, "id");
    with_store(&sandbox, &caller, |store| {
        store.orders.get(&id).map(|o| o["products"].clone())
    })
    .map_or_else(not_found, ok)
}

async fn order_addresses(Api { sandbox, caller }: Api, Path(params): PathParams) -> Response {
    let id = path_id(&params, "id");
    with_store(&sandbox, &caller, |store| {
        store.orders.get(&id).map(|o| o["shipping_addresses"].clone())
    })
    .map_or_else(not_found, ok)
}

/// Replaces the writable fields of one shipping address; its id stays.
async fn update_order_address(
    Api { sandbox, caller }: Api,
    Path(params): PathParams,
    V2Body(body): V2Body,
) -> Response {
    let id = path_id(&params, "id");
    let address_id = path_id(&params, "address_id");
    with_store(&sandbox, &caller, |store| {
        let addresses = store.orders.get_mut(&id)?["shipping_addresses"].as_array_mut()?;
        let address = addresses.iter_mut().find(|a| a["id"] == address_id)?;
        for field in [
            "first_name",
            "last_name",
            "company",
            "street_1",
            "street_2",
            "city",
            "state",
            "zip",
            "country",
            "country_iso2",
            "phone",
            "email",
            "shipping_method",
        ] {
            if let Some(value) = body.get(field) {
                address[field] = value.clone();
            }
        }
        Some(address.clone())
    })
    .map_or_else(not_found, ok)
}

async fn list_shipments(Api { sandbox, caller }: Api, Path(params): PathParams) -> Response {
    let id = path_id(&params, "id");
    match with_store(&sandbox, &caller, |store| {
        store
            .orders
            .contains_key(&id)
            .then(|| store.shipments.get(&id).cloned().unwrap_or_default())
    }) {
        None => not_found(),
        Some(shipments) if shipments.is_empty() => StatusCode::NO_CONTENT.into_response(),
        Some(shipments) => ok(json!(shipments)),
    }
}

async fn get_shipment(Api { sandbox, caller }: Api, Path(params): PathParams) -> Response {
    let id = path_id(&params, "id");
    let shipment_id = path_id(&params, "shipment_id");
    with_store(&sandbox, &caller, |store| {
        store
            .shipments
            .get(&id)
            .and_then(|list| list.iter().find(|s| s["id"] == shipment_id).cloned())
    })
    .map_or_else(not_found, ok)
}

async fn create_shipment(Api { sandbox, caller }: Api, Path(params): PathParams, V2Body(body): V2Body) -> Response {
    match sandbox.ship(&caller.store_hash, path_id(&params, "id"), &body) {
        Ok(shipment) => json_response(StatusCode::CREATED, shipment),
        Err(response) => response,
    }
}

async fn update_shipment(Api { sandbox, caller }: Api, Path(params): PathParams, V2Body(body): V2Body) -> Response {
    let shipment_id = path_id(&params, "shipment_id");
    match sandbox.update_shipment(&caller.store_hash, path_id(&params, "id"), shipment_id, &body) {
        Ok(shipment) => ok(shipment),
        Err(response) => response,
    }
}

const PROVIDERS: [&str; 10] = [
    "",
    "auspost",
    "canadapost",
    "endicia",
    "usps",
    "fedex",
    "royalmail",
    "ups",
    "upsready",
    "shipperhq",
];

/// The tracking fields of a shipment body, as BigCommerce checks them.
fn check_tracking(body: &Value) -> Result<(), Response> {
    if body["tracking_number"].as_str().is_some_and(|t| t.len() > 50) {
        return Err(v2_error(
            StatusCode::BAD_REQUEST,
            "The field 'tracking_number' is too long.",
        ));
    }
    let provider = body["shipping_provider"].as_str().unwrap_or_default();
    if !PROVIDERS.contains(&provider) && !provider.starts_with("carrier_") {
        return Err(v2_error(
            StatusCode::BAD_REQUEST,
            format!("The shipping provider '{provider}' is not valid."),
        ));
    }
    Ok(())
}

impl Sandbox {
    /// Changes a shipment's tracking (number, provider, carrier, comments; never its
    /// items) and fires `store/shipment/updated`.
    pub(crate) fn update_shipment(
        &self,
        store_hash: &str,
        id: u64,
        shipment_id: u64,
        body: &Value,
    ) -> Result<Value, Response> {
        if body.get("items").is_some() {
            return Err(v2_error(
                StatusCode::BAD_REQUEST,
                "The items of a shipment cannot be changed.",
            ));
        }
        check_tracking(body)?;
        let tracking = body["tracking_number"].as_str();
        let shipment = {
            let mut state = self.lock();
            let store = state.stores.get_mut(store_hash).ok_or_else(not_found)?;
            let shipment = store
                .shipments
                .get_mut(&id)
                .and_then(|list| list.iter_mut().find(|s| s["id"] == shipment_id))
                .ok_or_else(not_found)?;
            for field in ["tracking_number", "shipping_provider", "tracking_carrier", "comments"] {
                if let Some(value) = body[field].as_str() {
                    shipment[field] = json!(value);
                }
            }
            if let Some(tracking) = tracking {
                shipment["generated_tracking_link"] = json!(format!("https://track.sandbox.invalid/{tracking}"));
            }
            shipment.clone()
        };
        self.fire(
            store_hash,
            "store/shipment/updated",
            json!({"type": "shipment", "id": shipment_id, "orderId": id}),
        );
        Ok(shipment)
    }

    /// Creates a shipment (all unshipped items when `items` is absent), moves the order
    /// to Partially Shipped / Shipped and fires the webhooks.
    pub(crate) fn ship(&self, store_hash: &str, id: u64, body: &Value) -> Result<Value, Response> {
        let (shipment, status) = {
            let mut state = self.lock();
            let shipment_id = state.new_id();
            let store = state.stores.get_mut(store_hash).ok_or_else(not_found)?;
            let mut order = store.orders.get(&id).cloned().ok_or_else(not_found)?;
            check_tracking(body)?;
            let tracking = body["tracking_number"].as_str().unwrap_or_default();
            let provider = body["shipping_provider"].as_str().unwrap_or_default();
            let address_id = body["order_address_id"]
                .as_u64()
                .or_else(|| order["shipping_addresses"][0]["id"].as_u64());
            if !order["shipping_addresses"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| a["id"].as_u64() == address_id)
            {
                return Err(v2_error(
                    StatusCode::BAD_REQUEST,
                    "The field 'order_address_id' is invalid.",
                ));
            }
            let lines = order["products"].as_array().cloned().unwrap_or_default();
            let remaining =
                |line: &Value| line["quantity"].as_u64().unwrap_or(0) - line["quantity_shipped"].as_u64().unwrap_or(0);
            let items: Vec<(u64, u64)> = match body["items"].as_array() {
                Some(items) => items
                    .iter()
                    .map(|i| {
                        (
                            i["order_product_id"].as_u64().unwrap_or(0),
                            i["quantity"].as_u64().unwrap_or(0),
                        )
                    })
                    .collect(),
                None => lines
                    .iter()
                    .filter(|l| remaining(l) > 0)
                    .map(|l| (l["id"].as_u64().unwrap_or(0), remaining(l)))
                    .collect(),
            };
            if items.is_empty() {
                return Err(v2_error(StatusCode::BAD_REQUEST, "Nothing left to ship."));
            }
            for (line_id, quantity) in &items {
                match lines.iter().find(|l| l["id"] == *line_id) {
                    Some(line) if *quantity >= 1 && *quantity <= remaining(line) => {}
                    _ => {
                        return Err(v2_error(
                            StatusCode::BAD_REQUEST,
                            format!("Item {line_id} cannot ship {quantity} more units."),
                        ));
                    }
                }
            }
            let mut shipped_items = Vec::new();
            for line in order["products"].as_array_mut().into_iter().flatten() {
                if let Some((_, quantity)) = items.iter().find(|(id, _)| line["id"] == *id) {
                    line["quantity_shipped"] = json!(line["quantity_shipped"].as_u64().unwrap_or(0) + quantity);
                    shipped_items.push(
                        json!({"order_product_id": line["id"], "product_id": line["product_id"], "quantity": quantity}),
                    );
                }
            }
            let all_shipped = order["products"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|l| remaining(l) == 0);
            let status = if all_shipped { 2 } else { 3 };
            let shipment = json!({"id": shipment_id, "order_id": id, "customer_id": order["customer_id"], "order_address_id": address_id,
                "date_created": iso(sandbox_kit::clock::unix_now()), "tracking_number": tracking, "shipping_provider": provider,
                "tracking_carrier": body["tracking_carrier"].as_str().unwrap_or_default(), "shipping_method": body["shipping_method"].as_str().unwrap_or_default(),
                "comments": body["comments"].as_str().unwrap_or_default(), "items": shipped_items,
                "generated_tracking_link": if tracking.is_empty() { String::new() } else { format!("https://track.sandbox.invalid/{tracking}") },
                "billing_address": order["billing_address"], "shipping_address": order["shipping_addresses"][0]});
            order["items_shipped"] = json!(
                order["products"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|l| l["quantity_shipped"].as_u64().unwrap_or(0))
                    .sum::<u64>()
            );
            store.orders.insert(id, order);
            store.shipments.entry(id).or_default().push(shipment.clone());
            (shipment, status)
        };
        self.fire(
            store_hash,
            "store/shipment/created",
            json!({"type": "shipment", "id": shipment["id"], "orderId": id}),
        );
        self.change_order(store_hash, id, &json!({"status_id": status}));
        Ok(shipment)
    }
}

async fn exchange_token(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    let form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let fields: HashMap<String, String> = if form {
        url::form_urlencoded::parse(&body).into_owned().collect()
    } else {
        match serde_json::from_slice::<HashMap<String, Value>>(&body) {
            Ok(map) => map
                .into_iter()
                .map(|(k, v)| (k, v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect(),
            Err(_) => {
                return json_response(
                    StatusCode::BAD_REQUEST,
                    json!({"error": "invalid_request", "error_description": "The body must be JSON or a form."}),
                );
            }
        }
    };
    let field = |key: &str| fields.get(key).map(String::as_str).unwrap_or_default();
    let config = &sandbox.config;
    let secret_ok: bool =
        subtle::ConstantTimeEq::ct_eq(field("client_secret").as_bytes(), config.client_secret.as_bytes()).into();
    if field("client_id") != config.client_id || !secret_ok {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid_client", "error_description": "Invalid client id or secret."}),
        );
    }
    if field("grant_type") != "authorization_code" {
        return json_response(StatusCode::BAD_REQUEST, json!({"error": "unsupported_grant_type"}));
    }
    if config
        .auth_callback_url
        .as_deref()
        .is_some_and(|url| url != field("redirect_uri"))
    {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_grant", "error_description": "redirect_uri does not match the app's auth callback."}),
        );
    }
    let mut state = sandbox.lock();
    let grant = state.codes.remove(field("code"));
    let Some(grant) = grant.filter(|g| {
        g.expires_at > sandbox_kit::clock::unix_now() && format!("stores/{}", g.store_hash) == field("context")
    }) else {
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_grant", "error_description": "The code is invalid, used or expired."}),
        );
    };
    // A re-install replaces the app's previous token.
    let client_id = config.client_id.clone();
    state
        .tokens
        .retain(|_, (hash, client)| !(*hash == grant.store_hash && *client == client_id));
    let token = format!("bcsandbox{:032x}", rand::random::<u128>());
    state
        .tokens
        .insert(token.clone(), (grant.store_hash.clone(), client_id));
    if let Some(store) = state.stores.get_mut(&grant.store_hash) {
        store.installed = true;
    }
    ok(json!({"access_token": token, "scope": field("scope"),
              "user": {"id": grant.user_id, "username": crate::admin::email_of(grant.user_id), "email": crate::admin::email_of(grant.user_id)},
              "owner": {"id": crate::admin::OWNER_ID, "username": "owner@example.com", "email": "owner@example.com"},
              "context": field("context"), "account_uuid": "12345678-90ab-cdef-1234-567890abcdef"}))
}
