//! The REST API under `/rest/{store_code}/V1` (`store-platforms-api.md` §4): the
//! gate's authentication (OAuth 1.0a or, when enabled, Bearer) and ACL table, and the
//! store, catalogue, inventory, quote, order, shipment and credit memo routes.

use std::collections::HashMap;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, OriginalUri, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::routing::{get, post, put};
use axum::{Json, response::IntoResponse, response::Response};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::oauth;
use crate::search::{SearchCriteria, magento_time};
use crate::state::{
    ATTRIBUTES, AttributeRow, CATEGORIES, CategoryRow, Product, SOURCES, ShippingInfo, SourceItem, SourceRow,
    State as World, cart_item_json, cart_json, creditmemo_json, money, order_json, shipment_json,
};
use crate::{ApiError, Caller, Sandbox, TIMESTAMP_WINDOW};

type Answer = Result<Response, ApiError>;
type Params = Path<HashMap<String, String>>;

/// Routes under `/rest/{store_code}/V1`; the `inventory/…` ones only with `msi` (a store
/// without the MSI modules has no such routes).
pub fn routes(msi: bool) -> Router<Sandbox> {
    let routes = Router::new()
        .route("/store/storeConfigs", get(store_configs))
        .route("/store/storeViews", get(store_views))
        .route("/store/websites", get(websites))
        .route("/products", get(list_products))
        .route("/products/attributes", get(list_attributes))
        .route("/products/attributes/{code}/options", get(attribute_options_route))
        .route("/products/{sku}", get(get_product))
        .route("/configurable-products/{sku}/children", get(children))
        .route("/configurable-products/{sku}/options/all", get(configurable_options))
        .route("/categories/list", get(list_categories))
        .route("/stockItems/{sku}", get(stock_item))
        .route("/products/{sku}/stockItems/{item_id}", put(save_stock_item))
        .route("/carts", post(create_cart))
        .route("/carts/", post(create_cart))
        .route("/carts/{cart_id}", get(get_cart))
        .route("/carts/{cart_id}/items", post(add_cart_item))
        .route("/carts/{cart_id}/shipping-information", post(shipping_information))
        .route("/carts/{cart_id}/order", put(place_order))
        .route("/orders", get(list_orders).post(save_order))
        .route("/orders/{id}", get(get_order))
        .route("/orders/{id}/comments", post(add_comment))
        .route("/orders/{id}/cancel", post(cancel_order))
        .route("/orders/{id}/hold", post(hold_order))
        .route("/orders/{id}/unhold", post(unhold_order))
        .route("/order/{id}/invoice", post(invoice_order))
        .route("/order/{id}/ship", post(ship_order))
        .route("/order/{id}/refund", post(refund_order))
        .route("/shipments", get(list_shipments))
        .route("/shipment/track", post(add_track))
        .route("/creditmemos", get(list_creditmemos));
    if !msi {
        return routes;
    }
    routes
        .route(
            "/inventory/source-items",
            get(list_source_items).post(save_source_items),
        )
        .route(
            "/inventory/get-product-salable-quantity/{sku}/{stock_id}",
            get(salable_quantity),
        )
        .route("/inventory/stock-resolver/website/{website_code}", get(stock_resolver))
}

/// The ACL resource a route requires, by method and route pattern (after `/V1`).
pub fn resource(method: &Method, route: &str) -> &'static str {
    match route {
        "/store/storeConfigs" | "/store/storeViews" | "/store/websites" => "Magento_Backend::store",
        "/products/attributes" | "/products/attributes/{code}/options" => "Magento_Catalog::attributes_attributes",
        "/products"
        | "/products/{sku}"
        | "/configurable-products/{sku}/children"
        | "/configurable-products/{sku}/options/all" => "Magento_Catalog::products",
        "/categories/list" => "Magento_Catalog::categories",
        "/inventory/source-items" => "Magento_InventoryApi::source",
        "/stockItems/{sku}" | "/products/{sku}/stockItems/{item_id}" => "Magento_CatalogInventory::cataloginventory",
        r if r.starts_with("/inventory/") => "Magento_InventorySalesApi::stock",
        r if r.starts_with("/carts") => "Magento_Cart::manage",
        "/orders" if *method == Method::POST => "Magento_Sales::actions_edit",
        "/orders" | "/orders/{id}" => "Magento_Sales::actions_view",
        "/orders/{id}/comments" => "Magento_Sales::comment",
        "/orders/{id}/cancel" => "Magento_Sales::cancel",
        "/orders/{id}/hold" | "/orders/{id}/unhold" => "Magento_Sales::hold",
        "/order/{id}/invoice" => "Magento_Sales::invoice",
        "/order/{id}/ship" | "/shipment/track" => "Magento_Sales::ship",
        "/shipments" => "Magento_Sales::shipment",
        _ => "Magento_Sales::creditmemo",
    }
}

/// The fallback under `/rest/{store_code}/V1`: 404 `Request does not match any route.`
pub async fn no_route() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "Request does not match any route.").into_response()
}

fn unauthorized(resource: &str) -> ApiError {
    ApiError::with(
        StatusCode::UNAUTHORIZED,
        "The consumer isn't authorized to access %resources.",
        json!({"resources": resource}),
    )
}

/// The store code, the caller's credentials (OAuth 1.0a signature, timestamp and
/// nonce, or a Bearer token when enabled) and the route's ACL resource; the request
/// with its [`Caller`] (and its body put back) when admitted.
pub async fn authenticate(sandbox: &Sandbox, request: Request) -> Result<Request, ApiError> {
    let uri = request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri().clone(), |o| o.0.clone());
    let store_code = uri
        .path()
        .trim_start_matches("/rest/")
        .split('/')
        .next()
        .unwrap_or_default();
    if !["default", "all"].contains(&store_code) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "The store that was requested wasn't found. Verify the store and try again.",
        ));
    }
    let matched = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    let route = matched.split_once("/V1").map_or(matched.as_str(), |(_, rest)| rest);
    let resource = resource(request.method(), route);
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let (parts, body) = request.into_parts();
    let form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let (bytes, body) = if form {
        let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
            .await
            .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "The request body could not be read."))?;
        (bytes.clone(), Body::from(bytes))
    } else {
        (Bytes::new(), body)
    };
    let caller = {
        let mut world = sandbox.lock();
        if let Some(token) = authorization.strip_prefix("Bearer ") {
            let found = world
                .integrations
                .iter()
                .position(|i| !i.revoked && i.access_token == token.trim());
            match found {
                Some(index) if sandbox.config.bearer_enabled => index,
                _ => return Err(unauthorized(resource)),
            }
        } else {
            let params = oauth::parse_header(&authorization).ok_or_else(|| unauthorized(resource))?;
            verify(
                &mut world,
                &parts.method,
                &parts.headers,
                &uri,
                &bytes,
                &params,
                resource,
            )?
        }
    };
    let (consumer_id, consumer_key) = {
        let world = sandbox.lock();
        let integration = &world.integrations[caller];
        if !integration.resources.iter().any(|r| r == resource) {
            return Err(unauthorized(resource));
        }
        (caller + 1, integration.consumer_key.clone())
    };
    let mut request = Request::from_parts(parts, body);
    request.extensions_mut().insert(Caller {
        consumer_id,
        consumer_key,
    });
    Ok(request)
}

/// Checks an OAuth-signed request; the integration's index.
fn verify(
    world: &mut World,
    method: &Method,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    form: &[u8],
    params: &[(String, String)],
    resource: &str,
) -> Result<usize, ApiError> {
    let get = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let method_name = get("oauth_signature_method").unwrap_or_default();
    let Some(signature_method) = oauth::Method::parse(method_name) else {
        return Err(ApiError::with(
            StatusCode::UNAUTHORIZED,
            "Signature method %1 is not supported",
            json!([method_name]),
        ));
    };
    let consumer_key = get("oauth_consumer_key").unwrap_or_default();
    let token = get("oauth_token").unwrap_or_default();
    let Some(index) = world
        .integrations
        .iter()
        .position(|i| i.consumer_key == consumer_key && i.access_token == token && !i.revoked)
    else {
        return Err(unauthorized(resource));
    };
    let timestamp = get("oauth_timestamp").unwrap_or_default();
    let now = sandbox_kit::clock::unix_now();
    if timestamp
        .parse::<i64>()
        .map_or(true, |t| (t - now).abs() > TIMESTAMP_WINDOW)
    {
        return Err(ApiError::with(
            StatusCode::UNAUTHORIZED,
            "Invalid timestamp: %1",
            json!([timestamp]),
        ));
    }
    let mut signed: Vec<(String, String)> = url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    signed.extend(url::form_urlencoded::parse(form).into_owned());
    signed.extend(
        params
            .iter()
            .filter(|(n, _)| n.starts_with("oauth_") && n != "oauth_signature")
            .cloned(),
    );
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let base = oauth::base_string(method.as_str(), &oauth::base_uri("http", host, uri.path()), &signed);
    let integration = &world.integrations[index];
    let expected = oauth::signature(
        signature_method,
        &base,
        &integration.consumer_secret,
        &integration.access_token_secret,
    );
    if !oauth::same_signature(&expected, get("oauth_signature").unwrap_or_default()) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "The signature is invalid. Verify and try again.",
        ));
    }
    let nonce = get("oauth_nonce").unwrap_or_default().to_string();
    if !world.nonces.insert((index + 1, nonce)) {
        return Err(ApiError::with(
            StatusCode::UNAUTHORIZED,
            "The nonce is already being used by the consumer with ID %1.",
            json!([(index + 1).to_string()]),
        ));
    }
    Ok(index)
}

fn ok(body: Value) -> Answer {
    Ok(Json(body).into_response())
}

fn now() -> i64 {
    sandbox_kit::clock::unix_now()
}

/// A JSON body, or Magento's 400.
fn body(bytes: &Bytes) -> Result<Value, ApiError> {
    if bytes.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(bytes).map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "Decoding error: Syntax error"))
}

fn param(params: &HashMap<String, String>, key: &str) -> String {
    params.get(key).cloned().unwrap_or_default()
}

fn id_param(params: &HashMap<String, String>, key: &str) -> u64 {
    params.get(key).and_then(|v| v.parse().ok()).unwrap_or_default()
}

/// A number given as a JSON number or numeric string.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn decimal(value: &Value) -> Decimal {
    number(value)
        .and_then(|n| Decimal::try_from(n).ok())
        .unwrap_or_default()
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn base_url(sandbox: &Sandbox, headers: &HeaderMap) -> String {
    let base = sandbox.base_url();
    if base.is_empty() {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}")
    } else {
        base
    }
}

/// The store configuration of the `default` store view.
pub fn store_config(base: &str) -> Value {
    json!({"id": 1, "code": "default", "website_id": 1, "locale": "en_US", "base_currency_code": "USD",
           "default_display_currency_code": "USD", "timezone": "UTC", "weight_unit": "lbs",
           "base_url": format!("{base}/"), "base_link_url": format!("{base}/"),
           "base_static_url": format!("{base}/static/"), "base_media_url": format!("{base}/media/"),
           "secure_base_url": format!("{base}/"), "secure_base_link_url": format!("{base}/"),
           "secure_base_static_url": format!("{base}/static/"), "secure_base_media_url": format!("{base}/media/")})
}

async fn store_configs(State(sandbox): State<Sandbox>, headers: HeaderMap) -> Answer {
    ok(json!([store_config(&base_url(&sandbox, &headers))]))
}

async fn store_views() -> Answer {
    ok(
        json!([{"id": 1, "code": "default", "name": "Default Store View", "website_id": 1, "store_group_id": 1, "is_active": 1}]),
    )
}

async fn websites() -> Answer {
    ok(json!([{"id": 1, "code": "base", "name": "Main Website", "default_group_id": 1}]))
}

/// A product as `GET V1/products/{sku}` answers it.
pub fn product_json(world: &World, product: &Product) -> Value {
    let mut custom = vec![
        json!({"attribute_code": "description", "value": format!("<p>{} — a sandbox product.</p>", product.name)}),
        json!({"attribute_code": "manufacturer", "value": product.manufacturer}),
        json!({"attribute_code": "url_key", "value": product.sku.to_ascii_lowercase()}),
        json!({"attribute_code": "category_ids", "value": [product.category_id.to_string()]}),
        json!({"attribute_code": "tax_class_id", "value": "2"}),
        // Package dimensions (inches): the `ts_dimensions_*` attributes Magento 2.2–2.3
        // created for shipping, still on many stores.
        json!({"attribute_code": "ts_dimensions_length", "value": "10.0000"}),
        json!({"attribute_code": "ts_dimensions_width", "value": "8.0000"}),
        json!({"attribute_code": "ts_dimensions_height", "value": "2.0000"}),
    ];
    if let Some(special) = product.special_price {
        custom.push(json!({"attribute_code": "special_price", "value": crate::state::money_text(special)}));
    }
    if let Some(color) = product.color {
        custom.push(json!({"attribute_code": "color", "value": color}));
    }
    let on_hand = world.source_total(&product.sku);
    let configurable = product.type_id == "configurable";
    let mut extension = json!({
        "website_ids": [1],
        "category_links": [{"position": 0, "category_id": product.category_id.to_string()}],
        "stock_item": {"item_id": product.id, "product_id": product.id, "stock_id": 1, "qty": on_hand,
                       "is_in_stock": configurable || on_hand > 0.0, "is_qty_decimal": false,
                       "manage_stock": true, "use_config_manage_stock": true, "min_qty": 0,
                       "min_sale_qty": 1, "max_sale_qty": 10000}
    });
    if configurable {
        let values: Vec<Value> = product
            .children
            .iter()
            .filter_map(|id| world.products.get(id)?.color)
            .map(|color| json!({"value_index": color.parse::<u64>().unwrap_or_default()}))
            .collect();
        extension["configurable_product_options"] = json!([{"id": product.option_id, "attribute_id": "93",
            "label": "Color", "position": 0, "values": values, "product_id": product.id}]);
        extension["configurable_product_links"] = json!(product.children);
    }
    json!({
        "id": product.id, "sku": product.sku, "name": product.name, "attribute_set_id": 4,
        "price": money(product.price), "status": product.status, "visibility": product.visibility,
        "type_id": product.type_id, "created_at": magento_time(product.created_at),
        "updated_at": magento_time(product.updated_at), "weight": money(product.weight),
        "extension_attributes": extension, "product_links": [], "options": [], "tier_prices": [],
        "media_gallery_entries": [{"id": product.id, "media_type": "image", "label": product.name, "position": 1,
            "disabled": false, "types": ["image", "small_image", "thumbnail"], "file": product.image_file()}],
        "custom_attributes": custom
    })
}

async fn list_products(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Answer {
    let criteria = SearchCriteria::parse(query.as_deref())?;
    let world = sandbox.lock();
    ok(criteria.answer(world.products.values().collect(), |p| product_json(&world, p))?)
}

async fn get_product(State(sandbox): State<Sandbox>, Path(params): Params) -> Answer {
    let world = sandbox.lock();
    let product = world.product_by_sku(&param(&params, "sku"))?;
    ok(product_json(&world, product))
}

async fn children(State(sandbox): State<Sandbox>, Path(params): Params) -> Answer {
    let world = sandbox.lock();
    let product = world.product_by_sku(&param(&params, "sku"))?;
    let children: Vec<Value> = product
        .children
        .iter()
        .filter_map(|id| world.products.get(id))
        .map(|child| product_json(&world, child))
        .collect();
    ok(json!(children))
}

async fn configurable_options(State(sandbox): State<Sandbox>, Path(params): Params) -> Answer {
    let world = sandbox.lock();
    let product = world.product_by_sku(&param(&params, "sku"))?;
    if product.type_id != "configurable" {
        return Err(ApiError::with(
            StatusCode::BAD_REQUEST,
            "This is implemented for the \"%1\" configurable product only.",
            json!([product.sku]),
        ));
    }
    ok(product_json(&world, product)["extension_attributes"]["configurable_product_options"].clone())
}

fn attribute_options(index: usize) -> Value {
    let mut options = vec![json!({"label": " ", "value": ""})];
    options.extend(
        ATTRIBUTES[index]
            .3
            .iter()
            .map(|(value, label)| json!({"label": label, "value": value})),
    );
    json!(options)
}

fn attribute_json(row: &AttributeRow) -> Value {
    let (id, code, label, _) = ATTRIBUTES[row.0];
    json!({"attribute_id": id, "attribute_code": code, "default_frontend_label": label,
           "frontend_labels": [], "frontend_input": "select", "is_required": false, "is_user_defined": true,
           "scope": "global", "options": attribute_options(row.0)})
}

async fn list_attributes(RawQuery(query): RawQuery) -> Answer {
    let criteria = SearchCriteria::parse(query.as_deref())?;
    let rows: Vec<AttributeRow> = (0..ATTRIBUTES.len()).map(AttributeRow).collect();
    ok(criteria.answer(rows.iter().collect(), attribute_json)?)
}

async fn attribute_options_route(Path(params): Params) -> Answer {
    let code = param(&params, "code");
    match ATTRIBUTES.iter().position(|a| a.1 == code) {
        Some(index) => ok(attribute_options(index)),
        None => Err(ApiError::with(
            StatusCode::NOT_FOUND,
            "The attribute with a \"%1\" attributeCode doesn't exist. Verify the attribute and try again.",
            json!([code]),
        )),
    }
}

async fn list_categories(RawQuery(query): RawQuery) -> Answer {
    let criteria = SearchCriteria::parse(query.as_deref())?;
    let rows: Vec<CategoryRow> = CATEGORIES.into_iter().map(CategoryRow).collect();
    ok(criteria.answer(rows.iter().collect(), |row| {
        let (id, parent, name, level) = row.0;
        json!({"id": id, "parent_id": parent, "name": name, "level": level, "is_active": true,
               "position": id, "children": ""})
    })?)
}

async fn list_source_items(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Answer {
    let criteria = SearchCriteria::parse(query.as_deref())?;
    let world = sandbox.lock();
    let rows: Vec<SourceRow<'_>> = world
        .source_items
        .iter()
        .enumerate()
        .map(|(n, ((sku, source), item))| SourceRow(sku, source, *item, n as u64 + 1))
        .collect();
    ok(criteria.answer(
        rows.iter().collect(),
        |row| json!({"sku": row.0, "source_code": row.1, "quantity": row.2.quantity, "status": row.2.status}),
    )?)
}

async fn save_source_items(State(sandbox): State<Sandbox>, bytes: Bytes) -> Answer {
    let body = body(&bytes)?;
    let items = body["sourceItems"].as_array().cloned().unwrap_or_default();
    let mut world = sandbox.lock();
    let mut writes = Vec::new();
    for item in &items {
        let sku = text(&item["sku"]);
        let source = text(&item["source_code"]);
        let product = world.product_by_sku(&sku).map_err(|_| {
            ApiError::with(
                StatusCode::BAD_REQUEST,
                "Product with SKU \"%1\" does not exist.",
                json!([sku]),
            )
        })?;
        if product.type_id != "simple" {
            return Err(ApiError::with(
                StatusCode::BAD_REQUEST,
                "Product with SKU \"%1\" is not a simple product.",
                json!([sku]),
            ));
        }
        if !world.sources().contains(&source.as_str()) {
            return Err(ApiError::with(
                StatusCode::BAD_REQUEST,
                "Source with code \"%1\" does not exist.",
                json!([source]),
            ));
        }
        let Some(quantity) = number(&item["quantity"]) else {
            return Err(ApiError::with(
                StatusCode::BAD_REQUEST,
                "\"%field\" should be numeric.",
                json!({"field": "quantity"}),
            ));
        };
        let status = number(&item["status"]).map_or(1, |s| u8::from(s > 0.0));
        writes.push(((sku, source), SourceItem { quantity, status }));
    }
    // A REST source-items write does not touch the product (no updated_at bump).
    world.source_items.extend(writes);
    ok(json!([]))
}

async fn salable_quantity(State(sandbox): State<Sandbox>, Path(params): Params) -> Answer {
    let stock_id = param(&params, "stock_id");
    let world = sandbox.lock();
    let product = world.product_by_sku(&param(&params, "sku"))?;
    if stock_id != "1" {
        return Err(ApiError::with(
            StatusCode::NOT_FOUND,
            "Stock with id \"%value\" does not exist.",
            json!({"value": stock_id}),
        ));
    }
    if product.type_id != "simple" {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "Can't check requested quantity for products without Source Items support.",
        ));
    }
    ok(json!(world.salable(&product.sku)))
}

async fn stock_resolver(Path(params): Params) -> Answer {
    let website = param(&params, "website_code");
    if website != "base" {
        return Err(ApiError::with(
            StatusCode::NOT_FOUND,
            "No linked stock found",
            json!([]),
        ));
    }
    ok(json!({"stock_id": 1}))
}

async fn stock_item(State(sandbox): State<Sandbox>, Path(params): Params) -> Answer {
    let world = sandbox.lock();
    let product = world.product_by_sku(&param(&params, "sku"))?;
    ok(product_json(&world, product)["extension_attributes"]["stock_item"].clone())
}

/// `PUT /V1/products/{sku}/stockItems/{itemId}` `{"stockItem": {"qty", "is_in_stock"}}`:
/// the legacy stock item (the `default` source under MSI); answers the item id. Like a
/// source-items write, it leaves the product's `updated_at` alone.
async fn save_stock_item(State(sandbox): State<Sandbox>, Path(params): Params, bytes: Bytes) -> Answer {
    let body = body(&bytes)?;
    let item = &body["stockItem"];
    let mut world = sandbox.lock();
    let product = world.product_by_sku(&param(&params, "sku"))?;
    let (sku, id) = (product.sku.clone(), product.id);
    if product.type_id != "simple" {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "The stock item was unable to be saved. Please try again.",
        ));
    }
    let Some(quantity) = number(&item["qty"]) else {
        return Err(ApiError::with(
            StatusCode::BAD_REQUEST,
            "\"%field\" should be numeric.",
            json!({"field": "qty"}),
        ));
    };
    let in_stock = item["is_in_stock"].as_bool().unwrap_or(quantity > 0.0);
    world.source_items.insert(
        (sku, SOURCES[0].to_string()),
        SourceItem {
            quantity,
            status: u8::from(in_stock),
        },
    );
    ok(json!(id))
}

async fn create_cart(State(sandbox): State<Sandbox>) -> Answer {
    ok(json!(sandbox.lock().create_cart(now())))
}

async fn get_cart(State(sandbox): State<Sandbox>, Path(params): Params) -> Answer {
    let id = id_param(&params, "cart_id");
    let world = sandbox.lock();
    match world.carts.get(&id) {
        Some(cart) => ok(cart_json(cart)),
        None => Err(ApiError::with(
            StatusCode::NOT_FOUND,
            "No such entity with %fieldName = %fieldValue",
            json!({"fieldName": "cartId", "fieldValue": id.to_string()}),
        )),
    }
}

async fn add_cart_item(State(sandbox): State<Sandbox>, Path(params): Params, bytes: Bytes) -> Answer {
    let body = body(&bytes)?;
    let item = &body["cartItem"];
    let cart_id = id_param(&params, "cart_id");
    let qty = number(&item["qty"]).unwrap_or(1.0);
    let line = sandbox.lock().add_to_cart(cart_id, &text(&item["sku"]), qty, now())?;
    ok(cart_item_json(&line, cart_id))
}

async fn shipping_information(State(sandbox): State<Sandbox>, Path(params): Params, bytes: Bytes) -> Answer {
    let body = body(&bytes)?;
    let info = &body["addressInformation"];
    let shipping = ShippingInfo {
        shipping_address: info.get("shipping_address").cloned().unwrap_or(json!({})),
        billing_address: info.get("billing_address").cloned().unwrap_or(json!({})),
        carrier_code: text(&info["shipping_carrier_code"]),
        method_code: text(&info["shipping_method_code"]),
    };
    let totals = sandbox
        .lock()
        .set_shipping(id_param(&params, "cart_id"), shipping, now())?;
    ok(
        json!({"payment_methods": [{"code": "checkmo", "title": "Check / Money order"},
                                 {"code": "purchaseorder", "title": "Purchase Order"}],
              "totals": totals}),
    )
}

async fn place_order(State(sandbox): State<Sandbox>, Path(params): Params, bytes: Bytes) -> Answer {
    let body = body(&bytes)?;
    let payment = &body["paymentMethod"];
    let po = payment.get("po_number").map(text).filter(|p| !p.is_empty());
    let id = sandbox
        .lock()
        .place_order(id_param(&params, "cart_id"), &text(&payment["method"]), po, now())?;
    ok(json!(id))
}

async fn list_orders(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Answer {
    let criteria = SearchCriteria::parse(query.as_deref())?;
    let world = sandbox.lock();
    ok(criteria.answer(world.orders.values().collect(), order_json)?)
}

async fn get_order(State(sandbox): State<Sandbox>, Path(params): Params) -> Answer {
    let mut world = sandbox.lock();
    let order = world.order_mut(id_param(&params, "id"))?;
    ok(order_json(order))
}

/// `POST V1/orders`: the repository save of the fields given.
async fn save_order(State(sandbox): State<Sandbox>, bytes: Bytes) -> Answer {
    let body = body(&bytes)?;
    let entity = &body["entity"];
    let Some(id) = entity.get("entity_id").and_then(number) else {
        return Err(ApiError::with(
            StatusCode::BAD_REQUEST,
            "\"%fieldName\" is required. Enter and try again.",
            json!({"fieldName": "entity_id"}),
        ));
    };
    let mut world = sandbox.lock();
    let order = world.order_mut(id as u64)?;
    if let Some(ext) = entity.get("ext_order_id") {
        order.ext_order_id = Some(text(ext)).filter(|e| !e.is_empty());
    }
    for (field, slot) in [
        ("status", &mut order.status),
        ("state", &mut order.state),
        ("customer_email", &mut order.customer_email),
    ] {
        if let Some(value) = entity.get(field).map(text).filter(|v| !v.is_empty()) {
            *slot = value;
        }
    }
    order.updated_at = now();
    ok(order_json(order))
}

async fn add_comment(State(sandbox): State<Sandbox>, Path(params): Params, bytes: Bytes) -> Answer {
    let body = body(&bytes)?;
    let history = &body["statusHistory"];
    let mut world = sandbox.lock();
    let history_id = world.next_id("history");
    let order = world.order_mut(id_param(&params, "id"))?;
    let status = history.get("status").map(text).filter(|s| !s.is_empty());
    if let Some(status) = &status {
        order.status = status.clone();
    }
    let flag = |name: &str| number(&history[name]).map_or(0, |n| i64::from(n > 0.0));
    order.histories.push(crate::state::History {
        id: history_id,
        comment: text(&history["comment"]),
        status: status.or_else(|| Some(order.status.clone())),
        is_customer_notified: flag("is_customer_notified"),
        is_visible_on_front: flag("is_visible_on_front"),
        created_at: now(),
    });
    order.updated_at = now();
    ok(json!(true))
}

async fn cancel_order(State(sandbox): State<Sandbox>, Path(params): Params) -> Answer {
    ok(json!(sandbox.lock().cancel(id_param(&params, "id"), now())?))
}

async fn hold_order(State(sandbox): State<Sandbox>, Path(params): Params) -> Answer {
    ok(json!(sandbox.lock().hold(id_param(&params, "id"), true, now())?))
}

async fn unhold_order(State(sandbox): State<Sandbox>, Path(params): Params) -> Answer {
    ok(json!(sandbox.lock().hold(id_param(&params, "id"), false, now())?))
}

async fn invoice_order(State(sandbox): State<Sandbox>, Path(params): Params) -> Answer {
    ok(json!(sandbox.lock().invoice(id_param(&params, "id"), now())?))
}

fn track_of(track: &Value) -> (String, String, String) {
    (
        text(&track["track_number"]),
        text(&track["title"]),
        text(&track["carrier_code"]),
    )
}

async fn ship_order(State(sandbox): State<Sandbox>, Path(params): Params, bytes: Bytes) -> Answer {
    let body = body(&bytes)?;
    let lines = body["items"].as_array().map(|items| {
        items
            .iter()
            .map(|i| {
                (
                    number(&i["order_item_id"]).unwrap_or_default() as u64,
                    number(&i["qty"]).unwrap_or_default(),
                )
            })
            .collect()
    });
    let tracks = body["tracks"]
        .as_array()
        .map(|t| t.iter().map(track_of).collect())
        .unwrap_or_default();
    ok(json!(sandbox.lock().ship(
        id_param(&params, "id"),
        lines,
        tracks,
        now()
    )?))
}

async fn list_shipments(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Answer {
    let criteria = SearchCriteria::parse(query.as_deref())?;
    let world = sandbox.lock();
    ok(criteria.answer(world.shipments.values().collect(), shipment_json)?)
}

async fn add_track(State(sandbox): State<Sandbox>, bytes: Bytes) -> Answer {
    let body = body(&bytes)?;
    let entity = &body["entity"];
    let order_id = number(&entity["order_id"]).unwrap_or_default() as u64;
    let shipment_id = number(&entity["parent_id"]).unwrap_or_default() as u64;
    ok(sandbox
        .lock()
        .add_track(order_id, shipment_id, track_of(entity), now())?)
}

async fn refund_order(State(sandbox): State<Sandbox>, Path(params): Params, bytes: Bytes) -> Answer {
    let body = body(&bytes)?;
    let items = body["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    (
                        number(&i["order_item_id"]).unwrap_or_default() as u64,
                        number(&i["qty"]).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let arguments = &body["arguments"];
    let memo = sandbox.lock().refund(
        id_param(&params, "id"),
        items,
        decimal(&arguments["shipping_amount"]),
        decimal(&arguments["adjustment_positive"]),
        decimal(&arguments["adjustment_negative"]),
        now(),
    )?;
    ok(json!(memo))
}

async fn list_creditmemos(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Answer {
    let criteria = SearchCriteria::parse(query.as_deref())?;
    let world = sandbox.lock();
    ok(criteria.answer(world.creditmemos.values().collect(), creditmemo_json)?)
}
