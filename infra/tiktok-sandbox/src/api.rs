//! The Open API endpoints of the sandbox, answering in the shapes of the reference.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, FromRequest, FromRequestParts, Multipart, Path, Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::after_sales::{self, Kind, Notice, Refusal};
use crate::auth::Caller;
use crate::state::{GrantRecord, Shop};
use crate::{Sandbox, business_error, now, ok};

type Params = Query<HashMap<String, String>>;

/// Routes behind the gate.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/authorization/202309/shops", get(authorized_shops))
        .route("/logistics/202309/warehouses", get(warehouses))
        .route(
            "/logistics/202309/warehouses/{id}/delivery_options",
            get(delivery_options),
        )
        .route(
            "/logistics/202309/delivery_options/{id}/shipping_providers",
            get(shipping_providers),
        )
        .route("/product/202309/categories", get(categories))
        .route("/product/202309/categories/recommend", post(recommend_category))
        .route("/product/202309/categories/{id}/attributes", get(category_attributes))
        .route("/product/202309/categories/{id}/rules", get(category_rules))
        .route("/product/202309/brands", get(brands))
        .route("/product/202309/images/upload", post(upload_image))
        .route("/product/202309/files/upload", post(upload_file))
        .route("/product/202309/products", post(create_product).delete(delete_products))
        .route("/product/202309/products/search", post(search_products))
        .route("/product/202309/products/activate", post(activate_products))
        .route("/product/202309/products/deactivate", post(deactivate_products))
        .route("/product/202309/products/recover", post(recover_products))
        .route("/product/202309/products/{id}", get(get_product).put(edit_product))
        .route("/product/202309/products/{id}/partial_edit", post(partial_edit_product))
        .route("/product/202309/products/{id}/inventory/update", post(update_inventory))
        .route("/product/202309/products/{id}/prices/update", post(update_prices))
        .route("/order/202309/orders/search", post(search_orders))
        .route("/order/202309/orders", get(order_details))
        .route("/fulfillment/202309/orders/{id}/packages", post(mark_package_shipped))
        .route(
            "/fulfillment/202309/orders/{id}/shipping_info/update",
            post(update_shipping_info),
        )
        .route("/fulfillment/202309/packages/{id}", get(package_detail))
        .route(
            "/fulfillment/202309/packages/{id}/shipping_info/update",
            post(update_package_shipping_info),
        )
        .route("/fulfillment/202309/packages/{id}/ship", post(ship_package))
        .route("/return_refund/202309/cancellations", post(seller_cancel_order))
        .route("/return_refund/202309/cancellations/search", post(search_cancellations))
        .route(
            "/return_refund/202309/cancellations/{id}/approve",
            post(approve_cancellation),
        )
        .route(
            "/return_refund/202309/cancellations/{id}/reject",
            post(reject_cancellation),
        )
        .route("/return_refund/202309/returns/search", post(search_returns))
        .route("/return_refund/202309/returns/{id}/approve", post(approve_return))
        .route("/return_refund/202309/returns/{id}/reject", post(reject_return))
        .route("/return_refund/202309/returns/{id}/records", get(return_records))
        .route("/return_refund/202309/reject_reasons", get(reject_reasons))
        .route(
            "/event/202309/webhooks",
            get(list_webhooks).put(update_webhook).delete(delete_webhook),
        )
}

/// The token endpoints (the auth host: query parameters, no signature).
pub fn token_routes() -> Router<Sandbox> {
    Router::new()
        .route("/api/v2/token/get", get(get_token))
        .route("/api/v2/token/refresh", get(refresh_token))
}

fn shop(caller: &Caller) -> &Shop {
    caller
        .shop
        .as_ref()
        .expect("the gate requires shop_cipher on shop routes")
}

/// A JSON body (`{}` when empty), or TikTok's refusal of it.
fn parse_json(bytes: &Bytes) -> Result<Value, Refusal> {
    if bytes.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(bytes).map_err(|e| (36009022, format!("Invalid request format: {e}")))
}

fn parse_body(bytes: &Bytes) -> Result<Value, Response> {
    parse_json(bytes).map_err(|(code, message)| business_error(code, message))
}

/// A Open API request the gate let through.
type Api = sandbox_kit::Admitted<Sandbox, Caller>;

/// A JSON body (`{}` when empty), or TikTok's `36009022` for one that is not JSON.
struct Body(Value);

impl FromRequest<Sandbox> for Body {
    type Rejection = Response;

    async fn from_request(request: Request, sandbox: &Sandbox) -> Result<Self, Response> {
        let bytes = Bytes::from_request(request, sandbox)
            .await
            .map_err(IntoResponse::into_response)?;
        parse_body(&bytes).map(Body)
    }
}

/// Hides sandbox-internal keys (starting with `_`) from an answer.
pub(crate) fn public(record: &Value) -> Value {
    match record {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.starts_with('_'))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Page tokens are opaque and contain `+` and `=`, as TikTok's do.
fn page_token(offset: usize) -> String {
    let mut bytes = vec![0xfb, 0xef, 0xbe];
    bytes.extend_from_slice(&(offset as u32).to_be_bytes());
    STANDARD.encode(bytes)
}

fn page_offset(token: Option<&String>) -> Result<usize, Response> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    let bytes = STANDARD
        .decode(token)
        .map_err(|_| business_error(36009004, "Invalid page_token"))?;
    match bytes.as_slice() {
        [0xfb, 0xef, 0xbe, a, b, c, d] => Ok(u32::from_be_bytes([*a, *b, *c, *d]) as usize),
        _ => Err(business_error(36009004, "Invalid page_token")),
    }
}

/// Cuts `items` into the page the query asks for; `max` is the endpoint's page-size cap.
fn paginate(items: Vec<Value>, params: &HashMap<String, String>, max: usize, list: &str) -> Response {
    let page_size = match params.get("page_size").and_then(|s| s.parse::<usize>().ok()) {
        Some(size) if (1..=max).contains(&size) => size,
        _ => return business_error(36009004, format!("page_size is required, 1 to {max}")),
    };
    let offset = match page_offset(params.get("page_token")) {
        Ok(offset) => offset,
        Err(response) => return response,
    };
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(page_size).collect();
    let next = if offset + page_size < total {
        page_token(offset + page_size)
    } else {
        String::new()
    };
    ok(json!({list: page, "next_page_token": next, "total_count": total}))
}

fn require_category_version(shop: &Shop, params: &HashMap<String, String>) -> Result<(), Response> {
    if shop.region == "US" && params.get("category_version").map(String::as_str) != Some("v2") {
        return Err(business_error(12052910, "category_version v2 is required for US shops"));
    }
    Ok(())
}

/// [`require_category_version`], then a leaf category `id`.
fn require_leaf_category(shop: &Shop, id: &str, params: &HashMap<String, String>) -> Result<(), Response> {
    require_category_version(shop, params)?;
    if !crate::State::is_leaf(id) {
        return Err(business_error(
            12052910,
            format!("category {id} is not a leaf category"),
        ));
    }
    Ok(())
}

async fn get_token(State(sandbox): State<Sandbox>, Query(params): Params) -> Response {
    if let Err(response) = check_app(&sandbox, &params, "authorized_code") {
        return response;
    }
    let mut state = sandbox.lock();
    let code = params.get("auth_code").cloned().unwrap_or_default();
    let Some(auth) = state.auth_codes.remove(&code) else {
        return business_error(36004004, "Invalid auth_code: unknown, used or expired");
    };
    if auth.expires_at <= now() {
        return business_error(36004004, "Invalid auth_code: unknown, used or expired");
    }
    let open_id = format!("open-{}", auth.shop_ids.join("-"));
    let grant = mint_grant(&mut state, &sandbox, auth.shop_ids, open_id);
    ok(token_json(&grant))
}

async fn refresh_token(State(sandbox): State<Sandbox>, Query(params): Params) -> Response {
    if let Err(response) = check_app(&sandbox, &params, "refresh_token") {
        return response;
    }
    let mut state = sandbox.lock();
    let refresh = params.get("refresh_token").cloned().unwrap_or_default();
    let Some(old) = state
        .grants
        .values()
        .find(|g| g.refresh_token == refresh && g.refresh_expires_at > now())
        .cloned()
    else {
        return business_error(36004005, "Invalid refresh_token");
    };
    state.grants.remove(&old.access_token);
    state.token_refreshes += 1;
    let grant = mint_grant(&mut state, &sandbox, old.shop_ids, old.open_id);
    ok(token_json(&grant))
}

fn check_app(sandbox: &Sandbox, params: &HashMap<String, String>, grant_type: &str) -> Result<(), Response> {
    let matches = |key: &str, expected: &str| {
        params
            .get(key)
            .is_some_and(|v| crate::signing::same_secret(v, expected))
    };
    if !matches("app_key", &sandbox.config.app_key) || !matches("app_secret", &sandbox.config.app_secret) {
        return Err(business_error(36004002, "Invalid app_key or app_secret"));
    }
    if params.get("grant_type").map(String::as_str) != Some(grant_type) {
        return Err(business_error(36004003, format!("grant_type must be {grant_type}")));
    }
    Ok(())
}

fn mint_grant(state: &mut crate::State, sandbox: &Sandbox, shop_ids: Vec<String>, open_id: String) -> GrantRecord {
    let grant = GrantRecord {
        shop_ids,
        access_token: format!("TTP_{}", state.new_id()),
        access_expires_at: now() + sandbox.config.access_token_ttl,
        refresh_token: format!("TTP_r{}", state.new_id()),
        refresh_expires_at: now() + 365 * 24 * 3600,
        open_id,
    };
    state.grants.insert(grant.access_token.clone(), grant.clone());
    grant
}

fn token_json(grant: &GrantRecord) -> Value {
    json!({"access_token": grant.access_token, "access_token_expire_in": grant.access_expires_at,
           "refresh_token": grant.refresh_token, "refresh_token_expire_in": grant.refresh_expires_at,
           "open_id": grant.open_id, "seller_name": "Sandbox Seller", "seller_base_region": "US", "user_type": 0,
           "granted_scopes": ["seller.authorization.info", "seller.product.basic", "seller.order.info", "seller.fulfillment.basic"]})
}

async fn authorized_shops(Api { sandbox, caller }: Api) -> Response {
    let state = sandbox.lock();
    let shops: Vec<Value> = caller
        .shop_ids
        .iter()
        .filter_map(|id| state.shops.get(id))
        .map(Shop::authorized_json)
        .collect();
    ok(json!({"shops": shops}))
}

async fn warehouses(Extension(caller): Extension<Caller>) -> Response {
    ok(json!({"warehouses": shop(&caller).warehouses}))
}

/// Get Warehouse Delivery Options (reference §8): the seller-shipping options of one of
/// the shop's warehouses; another id is refused.
async fn delivery_options(Extension(caller): Extension<Caller>, Path(warehouse_id): Path<String>) -> Response {
    let shop = shop(&caller);
    if !shop.warehouses.iter().any(|w| w["id"] == warehouse_id.as_str()) {
        return business_error(
            21001001,
            format!("warehouse {warehouse_id} does not belong to this shop"),
        );
    }
    ok(json!({"delivery_options": crate::State::delivery_options()}))
}

/// Get Shipping Providers of a delivery option; an option the shop does not have is
/// refused with 21008116 (no subscription for the delivery option).
async fn shipping_providers(Extension(caller): Extension<Caller>, Path(delivery_option): Path<String>) -> Response {
    let known = crate::State::delivery_options();
    if !known.iter().any(|o| o["id"] == delivery_option.as_str()) {
        return business_error(
            21008116,
            format!("the shop has no subscription for delivery option {delivery_option}"),
        );
    }
    ok(json!({"shipping_providers": crate::State::shipping_providers(&shop(&caller).region)}))
}

async fn categories(Extension(caller): Extension<Caller>, Query(params): Params) -> Response {
    if let Err(response) = require_category_version(shop(&caller), &params) {
        return response;
    }
    ok(json!({"categories": crate::State::categories()}))
}

async fn category_attributes(
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Response {
    if let Err(response) = require_leaf_category(shop(&caller), &id, &params) {
        return response;
    }
    ok(json!({"attributes": crate::State::attributes(&id)}))
}

async fn category_rules(
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Response {
    if let Err(response) = require_leaf_category(shop(&caller), &id, &params) {
        return response;
    }
    ok(crate::State::rules(&id))
}

async fn recommend_category(Body(body): Body) -> Response {
    let Some(title) = body["product_title"].as_str().filter(|t| !t.is_empty()) else {
        return business_error(12052910, "product_title is required");
    };
    let title = title.to_lowercase();
    let leaf = [
        ("dress", "600010"),
        ("serum", "800010"),
        ("cream", "800010"),
        ("pan", "700011"),
        ("pot", "700011"),
        ("case", "900010"),
    ]
    .iter()
    .find(|(word, _)| title.contains(word))
    .map_or("600020", |(_, leaf)| leaf);
    ok(
        json!({"leaf_category_id": leaf, "categories": [{"id": leaf, "is_leaf": true, "level": 2, "permission_statuses": ["AVAILABLE"]}]}),
    )
}

async fn brands(Query(params): Params) -> Response {
    paginate(crate::State::brands(), &params, 100, "brands")
}

async fn upload_image(State(sandbox): State<Sandbox>, mut form: Multipart) -> Response {
    let mut data = None;
    let mut use_case = None;
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("data") => data = field.bytes().await.ok(),
            Some("use_case") => use_case = field.text().await.ok(),
            _ => {}
        }
    }
    let Some(data) = data.filter(|d| !d.is_empty()) else {
        return business_error(12038002, "Invalid file: the data field is required");
    };
    if data.len() > 10 * 1024 * 1024 {
        return business_error(12038005, "Image is larger than 10 MB");
    }
    let use_case = use_case.unwrap_or_else(|| "MAIN_IMAGE".into());
    if ![
        "MAIN_IMAGE",
        "ATTRIBUTE_IMAGE",
        "DESCRIPTION_IMAGE",
        "CERTIFICATION_IMAGE",
        "SIZE_CHART_IMAGE",
    ]
    .contains(&use_case.as_str())
    {
        return business_error(12038002, format!("Invalid use_case {use_case}"));
    }
    let (width, height) = match image_dimensions(&data, &use_case) {
        Ok(dimensions) => dimensions,
        Err(response) => return response,
    };
    let mut state = sandbox.lock();
    let uri = format!("tos-maliva-i-sandbox{}", state.new_id());
    state.images.insert(uri.clone());
    ok(
        json!({"uri": uri, "url": format!("https://p16-sandbox.invalid/{uri}"), "width": width, "height": height, "use_case": use_case}),
    )
}

/// The stored (width, height) of an uploaded image, decoded from its header, or
/// TikTok's refusal (reference §6.3): JPG/PNG/WEBP/HEIC/BMP only (`12038004`), an
/// undecodable file (`12038002`), sides outside 100–20000 px, a `MAIN_IMAGE` outside
/// 300–4000 px or a `SIZE_CHART_IMAGE` whose shorter side is under 1024 px
/// (`12038014`). Main and attribute images outside 3:4–4:3 are padded to 1:1.
fn image_dimensions(data: &[u8], use_case: &str) -> Result<(usize, usize), Response> {
    use imagesize::ImageType;
    let supported = matches!(
        imagesize::image_type(data),
        Ok(ImageType::Jpeg | ImageType::Png | ImageType::Webp | ImageType::Bmp | ImageType::Heif(_))
    );
    if !supported {
        return Err(business_error(12038004, "Unsupported image format"));
    }
    let Ok(size) = imagesize::blob_size(data) else {
        return Err(business_error(12038002, "Invalid file: the image cannot be decoded"));
    };
    let (width, height) = (size.width, size.height);
    let (shorter, longer) = (width.min(height), width.max(height));
    let refusal = if shorter < 100 || longer > 20_000 {
        Some("images must be 100x100 to 20000x20000 px")
    } else if use_case == "MAIN_IMAGE" && (shorter < 300 || longer > 4000) {
        Some("MAIN_IMAGE must be 300x300 to 4000x4000 px")
    } else if use_case == "SIZE_CHART_IMAGE" && shorter < 1024 {
        Some("the shorter side of a SIZE_CHART_IMAGE must be at least 1024 px")
    } else {
        None
    };
    if let Some(rule) = refusal {
        return Err(business_error(
            12038014,
            format!("Invalid image dimensions {width}x{height}: {rule}"),
        ));
    }
    // 3:4 to 4:3 is kept; anything narrower or wider becomes a square.
    let squared = ["MAIN_IMAGE", "ATTRIBUTE_IMAGE"].contains(&use_case) && longer * 3 > shorter * 4;
    Ok(if squared { (longer, longer) } else { (width, height) })
}

/// Upload File: PDF documents (certifications) up to 10 MB, named with an extension,
/// no spaces and no extra dots.
async fn upload_file(State(sandbox): State<Sandbox>, mut form: Multipart) -> Response {
    let (mut data, mut name) = (None, None);
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("data") => data = field.bytes().await.ok(),
            Some("name") => name = field.text().await.ok(),
            _ => {}
        }
    }
    let Some(data) = data.filter(|d| !d.is_empty()) else {
        return business_error(12038002, "Invalid file: the data field is required");
    };
    let name = name.unwrap_or_default();
    let well_named = name.matches('.').count() == 1 && !name.contains(' ') && !name.starts_with('.');
    if !well_named {
        return business_error(12038002, format!("Invalid file name {name:?}"));
    }
    if data.len() > 10 * 1024 * 1024 {
        return business_error(12038005, "File is larger than 10 MB");
    }
    if !data.starts_with(b"%PDF") || !name.to_ascii_lowercase().ends_with(".pdf") {
        return business_error(12038004, "Unsupported file format");
    }
    let mut state = sandbox.lock();
    let id = state.new_id();
    state.files.insert(id.clone());
    ok(json!({"id": id, "url": format!("https://p16-sandbox.invalid/files/{id}"), "name": name, "format": "PDF"}))
}

/// Every problem of a product body against the listing rules, the first one's code.
fn validate_product(state: &crate::State, shop: &Shop, body: &Value, creating: bool) -> Result<(), Response> {
    let mut problems: Vec<(i64, String)> = Vec::new();
    let mut problem = |code: i64, message: String| problems.push((code, message));
    let present = |key: &str| creating || body.get(key).is_some();
    if present("title") {
        let length = body["title"].as_str().map_or(0, |t| t.chars().count());
        if !(1..=255).contains(&length) {
            problem(12052910, format!("title must be 1 to 255 characters, got {length}"));
        }
    }
    if present("description")
        && body["description"]
            .as_str()
            .is_none_or(|d| d.is_empty() || d.chars().count() > 10_000)
    {
        problem(12019006, "description is required, at most 10000 characters".into());
    }
    let category = body["category_id"].as_str().unwrap_or_default();
    if present("category_id") && !crate::State::is_leaf(category) {
        problem(12052910, format!("category_id {category:?} is not a leaf category"));
    }
    if creating && shop.region == "US" && body["category_version"] != "v2" {
        problem(12052910, "category_version v2 is required for US shops".into());
    }
    if present("main_images") {
        let images = body["main_images"].as_array().cloned().unwrap_or_default();
        if !(1..=9).contains(&images.len()) {
            problem(
                12052910,
                format!("main_images must hold 1 to 9 images, got {}", images.len()),
            );
        }
        for image in images {
            if !image["uri"].as_str().is_some_and(|uri| state.images.contains(uri)) {
                problem(12038002, format!("image {} was not uploaded", image["uri"]));
            }
        }
    }
    if present("package_weight") {
        for (code, message) in package_problems(&shop.region, &body["package_weight"], &body["package_dimensions"]) {
            problem(code, message);
        }
    }
    if crate::State::is_leaf(category) {
        let rules = crate::State::rules(category);
        if rules["package_dimension"]["is_required"] == true && body["package_dimensions"].is_null() {
            problem(12019012, "package_dimensions are required in this category".into());
        }
        if rules["size_chart"]["is_required"] == true && body["size_chart"].is_null() {
            problem(12052910, "a size chart is required in this category".into());
        }
        for certification in rules["product_certifications"].as_array().into_iter().flatten() {
            // A certification counts with at least one uploaded document or image.
            let uploaded = |c: &Value| {
                let files = c["files"].as_array().into_iter().flatten();
                let images = c["images"].as_array().into_iter().flatten();
                files.clone().count() + images.clone().count() > 0
                    && files
                        .into_iter()
                        .all(|f| f["id"].as_str().is_some_and(|id| state.files.contains(id)))
                    && images
                        .into_iter()
                        .all(|i| i["uri"].as_str().is_some_and(|uri| state.images.contains(uri)))
            };
            let given = body["certifications"]
                .as_array()
                .is_some_and(|list| list.iter().any(|c| c["id"] == certification["id"] && uploaded(c)));
            if certification["is_required"] == true && !given {
                problem(12052910, format!("certification {} is required", certification["id"]));
            }
        }
        for attribute in crate::State::attributes(category) {
            let given = body["product_attributes"]
                .as_array()
                .is_some_and(|list| list.iter().any(|a| a["id"] == attribute["id"]));
            if attribute["is_requried"] == true
                && attribute["type"] == "PRODUCT_PROPERTY"
                && !given
                && present("product_attributes")
            {
                problem(
                    12052910,
                    format!("attribute {} ({}) is required", attribute["id"], attribute["name"]),
                );
            }
        }
    }
    if present("skus") {
        let skus = body["skus"].as_array().cloned().unwrap_or_default();
        if skus.is_empty() || skus.len() > 300 {
            problem(12052910, format!("skus must hold 1 to 300 SKUs, got {}", skus.len()));
        }
        let mut seller_skus = std::collections::HashSet::new();
        let mut combinations = std::collections::HashSet::new();
        let mut identifier_codes = std::collections::HashSet::new();
        let warehouses = shop.sales_warehouse_ids();
        for sku in &skus {
            let seller_sku = sku["seller_sku"].as_str().unwrap_or_default();
            if seller_sku.is_empty() || seller_sku.len() > 50 || seller_sku.contains(' ') {
                problem(
                    12052910,
                    format!("seller_sku {seller_sku:?} must be 1 to 50 characters without spaces"),
                );
            } else if !seller_skus.insert(seller_sku.to_string()) {
                problem(12052553, format!("duplicate seller_sku {seller_sku}"));
            }
            // identifier_code (reference §6.5): GTIN 14 digits, EAN 8/13/14, UPC 12, ISBN 13
            // (may end in X); unique per SKU.
            if let Some(identifier) = sku.get("identifier_code").filter(|i| !i.is_null()) {
                let code = identifier["code"].as_str().unwrap_or_default();
                let digits = |lengths: &[usize], x_last: bool| {
                    lengths.contains(&code.len())
                        && code
                            .char_indices()
                            .all(|(i, c)| c.is_ascii_digit() || (x_last && i + 1 == code.len() && c == 'X'))
                };
                let valid = match identifier["type"].as_str().unwrap_or_default() {
                    "GTIN" => digits(&[14], false),
                    "EAN" => digits(&[8, 13, 14], false),
                    "UPC" => digits(&[12], false),
                    "ISBN" => digits(&[13], true),
                    _ => false,
                };
                if !valid {
                    problem(
                        12052910,
                        format!("SKU {seller_sku}: identifier_code {identifier} is not a valid GTIN, EAN, UPC or ISBN"),
                    );
                } else if !identifier_codes.insert(code.to_string()) {
                    problem(
                        12052910,
                        format!("SKU {seller_sku}: identifier_code {code} is used by another SKU"),
                    );
                }
            }
            let combination = sku["sales_attributes"].to_string();
            if skus.len() > 1 && !combinations.insert(combination) {
                problem(
                    12052910,
                    format!("SKU {seller_sku} repeats another SKU's sales attributes"),
                );
            }
            // A new SKU needs a price and stock; a listed one keeps what it leaves out
            // (Edit Product, reference §6.5).
            let new_sku = sku.get("id").is_none();
            if new_sku || sku.get("price").is_some() {
                let amount = sku["price"]["amount"].as_str().and_then(|a| a.parse::<f64>().ok());
                if !amount.is_some_and(|a| a > 0.0) {
                    problem(
                        12052910,
                        format!("SKU {seller_sku}: price.amount must be a positive decimal string"),
                    );
                }
                if sku["price"]["currency"].as_str() != Some(shop.currency.as_str()) {
                    problem(
                        12052084,
                        format!("SKU {seller_sku}: currency must be {}", shop.currency),
                    );
                }
            }
            for stock in sku["inventory"].as_array().into_iter().flatten() {
                if !stock["warehouse_id"]
                    .as_str()
                    .is_some_and(|w| warehouses.iter().any(|x| x == w))
                {
                    problem(
                        12052097,
                        format!("SKU {seller_sku}: warehouse {} does not exist", stock["warehouse_id"]),
                    );
                }
                if !stock["quantity"].as_u64().is_some_and(|q| q <= 99_999) {
                    problem(12052055, format!("SKU {seller_sku}: quantity must be 0 to 99999"));
                }
            }
            if new_sku && sku["inventory"].as_array().is_none_or(|i| i.is_empty()) {
                problem(
                    12019022,
                    format!("SKU {seller_sku} needs inventory in a valid warehouse"),
                );
            }
        }
    }
    match problems.first() {
        None => Ok(()),
        Some((code, _)) => {
            let message = problems.iter().map(|(_, m)| m.as_str()).collect::<Vec<_>>().join("; ");
            Err(business_error(*code, message))
        }
    }
}

/// The package rules of reference §6.4, by shop region: the weight unit (US
/// `KILOGRAM`|`POUND`; BR, JP, MX `KILOGRAM`|`GRAM`; elsewhere `KILOGRAM`) with at most
/// 0 (`GRAM`), 3 (`KILOGRAM`) or 2 (`POUND`) decimals, positive (`12019011`); the
/// dimension unit (US `CENTIMETER`|`INCH`, elsewhere `CENTIMETER`), positive whole
/// numbers, in the weight's measurement system (`12019012`).
fn package_problems(region: &str, weight: &Value, dimensions: &Value) -> Vec<(i64, String)> {
    let mut problems = Vec::new();
    let weight_units: &[&str] = match region {
        "US" => &["KILOGRAM", "POUND"],
        "BR" | "JP" | "MX" => &["KILOGRAM", "GRAM"],
        _ => &["KILOGRAM"],
    };
    let unit = weight["unit"].as_str().unwrap_or_default();
    let value = weight["value"].as_str().unwrap_or_default();
    let decimals = value.split_once('.').map_or(0, |(_, fraction)| fraction.len());
    let most_decimals = match unit {
        "GRAM" => 0,
        "POUND" => 2,
        _ => 3,
    };
    if !weight_units.contains(&unit) {
        problems.push((
            12019011,
            format!("package_weight.unit {unit:?} is not allowed in {region}; use one of {weight_units:?}"),
        ));
    }
    if !value.parse::<f64>().is_ok_and(|v| v > 0.0) || decimals > most_decimals {
        problems.push((
            12019011,
            format!("package_weight.value {value:?} must be positive with at most {most_decimals} decimals in {unit}"),
        ));
    }
    if dimensions.is_null() {
        return problems;
    }
    let dimension_units: &[&str] = if region == "US" {
        &["CENTIMETER", "INCH"]
    } else {
        &["CENTIMETER"]
    };
    let dimension_unit = dimensions["unit"].as_str().unwrap_or_default();
    if !dimension_units.contains(&dimension_unit) {
        problems.push((
            12019012,
            format!(
                "package_dimensions.unit {dimension_unit:?} is not allowed in {region}; use one of {dimension_units:?}"
            ),
        ));
    } else if (unit == "POUND") != (dimension_unit == "INCH") {
        problems.push((
            12019012,
            format!(
                "package_weight ({unit}) and package_dimensions ({dimension_unit}) must use the same measurement system"
            ),
        ));
    }
    for side in ["length", "width", "height"] {
        let given = dimensions[side].as_str().unwrap_or_default();
        if !given.parse::<u64>().is_ok_and(|v| v > 0) {
            problems.push((
                12019012,
                format!("package_dimensions.{side} {given:?} must be a positive whole number"),
            ));
        }
    }
    problems
}

/// Builds stored SKUs from request SKUs, keeping ids, prices and stock of existing ones.
fn build_skus(state: &mut crate::State, requested: &[Value], existing: &[Value], currency: &str) -> Vec<Value> {
    requested
        .iter()
        .map(|sku| {
            let previous = sku["id"].as_str().and_then(|id| existing.iter().find(|e| e["id"] == id)).cloned();
            let id = previous.as_ref().map_or_else(|| state.new_id(), |p| p["id"].as_str().unwrap_or_default().to_string());
            let price = match sku["price"]["amount"].as_str() {
                Some(amount) => json!({"currency": currency, "sale_price": amount, "tax_exclusive_price": amount}),
                None => previous.as_ref().map_or(Value::Null, |p| p["price"].clone()),
            };
            let inventory = match sku.get("inventory") {
                Some(inventory) => inventory.clone(),
                None => previous.as_ref().map_or(json!([]), |p| p["inventory"].clone()),
            };
            json!({"id": id, "seller_sku": sku["seller_sku"], "external_sku_id": sku["external_sku_id"].as_str().unwrap_or_default(),
                   "sales_attributes": sku["sales_attributes"].as_array().cloned().unwrap_or_default(),
                   "price": price, "inventory": inventory, "status_info": {"status": "NORMAL"}})
        })
        .collect()
}

fn write_result(product: &Value) -> Value {
    let skus: Vec<Value> = product["skus"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| json!({"id": s["id"], "seller_sku": s["seller_sku"], "external_sku_id": s["external_sku_id"], "sales_attributes": s["sales_attributes"]}))
        .collect();
    json!({"product_id": product["id"], "skus": skus, "warnings": []})
}

const CONTENT_FIELDS: [&str; 11] = [
    "title",
    "description",
    "category_id",
    "brand_id",
    "main_images",
    "package_weight",
    "package_dimensions",
    "product_attributes",
    "size_chart",
    "certifications",
    "external_product_id",
];

async fn create_product(Api { sandbox, caller }: Api, Body(body): Body) -> Response {
    let shop = shop(&caller).clone();
    let mut state = sandbox.lock();
    let idempotency = body["idempotency_key"]
        .as_str()
        .map(|k| (shop.id.clone(), k.to_string()));
    if let Some(existing) = idempotency
        .as_ref()
        .and_then(|k| state.product_keys.get(k))
        .and_then(|id| state.products.get(id))
    {
        return ok(write_result(existing));
    }
    if let Err(response) = validate_product(&state, &shop, &body, true) {
        return response;
    }
    let day = now() / 86_400;
    let listed = state.listings.entry((shop.id.clone(), day)).or_default();
    if *listed >= sandbox.config.daily_listing_limit {
        return business_error(
            12052093,
            "The number of products listed today has reached the daily listing limit",
        );
    }
    *listed += 1;
    let id = state.new_id();
    let skus = build_skus(
        &mut state,
        body["skus"].as_array().map_or(&[][..], |v| v),
        &[],
        &shop.currency,
    );
    let mut product = json!({"id": id, "_shop": shop.id, "status": "PENDING", "audit": {"status": "AUDITING"}, "skus": skus, "audit_failed_reasons": [],
                             "create_time": now(), "update_time": now(), "category_chains": [{"id": body["category_id"], "is_leaf": true}]});
    for field in CONTENT_FIELDS {
        if let Some(value) = body.get(field) {
            product[field] = value.clone();
        }
    }
    state.products.insert(id.clone(), product.clone());
    if let Some(key) = idempotency {
        state.product_keys.insert(key, id.clone());
    }
    drop(state);
    sandbox.schedule_review(&id);
    ok(write_result(&product))
}

impl Sandbox {
    /// Ends a review after the review delay. A new product (PENDING) becomes ACTIVATE
    /// or FAILED, with PRODUCT_STATUS_CHANGE (type 5). An edit of a live product
    /// (the version under review in `_pending`) is approved, and replaces the live
    /// version with the prices it carried but the stock the live SKUs hold now, or
    /// rejected, and the live version stays; either way the product stays ACTIVATE,
    /// `audit.status` tells the outcome and PRODUCT_AUDIT_STATUS_CHANGE (type 37) is
    /// sent. Both webhooks carry `product_id` as a JSON number, as TikTok's do.
    fn schedule_review(&self, product_id: &str) {
        let sandbox = self.clone();
        let product_id = product_id.to_string();
        tokio::spawn(async move {
            tokio::time::sleep(sandbox.config.review_delay).await;
            while sandbox.lock().reviews_held {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            let reviewed = {
                let mut state = sandbox.lock();
                let Some(product) = state.products.get_mut(&product_id) else {
                    return;
                };
                review(product, sandbox.config.rejection_share)
            };
            let Some((shop_id, notification)) = reviewed else {
                return;
            };
            let numeric_id: u64 = product_id.parse().unwrap_or_default();
            match notification {
                Reviewed::Product(status) => {
                    let data = json!({"product_id": numeric_id, "status": status, "suspended_reason": "", "update_time": now()});
                    sandbox.notify(&shop_id, 5, "PRODUCT_STATUS_CHANGE", data);
                }
                Reviewed::Edit(audit) => {
                    let data = json!({"product_id": numeric_id, "audit": {"status": audit, "pre_approved_reasons": []},
                                      "update_time": now()});
                    sandbox.notify(&shop_id, 37, "PRODUCT_AUDIT_STATUS_CHANGE", data);
                }
            }
        });
    }
}

/// What a finished review notifies.
enum Reviewed {
    /// A new product's review: the type 5 `status`.
    Product(&'static str),
    /// An edit's review: the type 37 `audit.status`.
    Edit(&'static str),
}

/// Decides the review of `product` (rejected when its title under review holds
/// `[reject]`, or by chance); `None` when nothing is in review.
fn review(product: &mut Value, rejection_share: f64) -> Option<(String, Reviewed)> {
    let shop_id = product["_shop"].as_str().unwrap_or_default().to_string();
    let in_review = product.get("_pending").cloned().unwrap_or_else(|| product.clone());
    if product.get("_pending").is_none() && product["status"] != "PENDING" {
        return None;
    }
    let forced = in_review["title"].as_str().is_some_and(|t| t.contains("[reject]"));
    let rejected = forced || rand::random::<f64>() < rejection_share;
    let failed_reasons = json!([{"position": "title", "reasons": ["The title contains prohibited or misleading words"],
        "suggestions": ["Describe the product plainly and resubmit"], "listing_platform": "TIKTOK_SHOP"}]);
    let audit = if rejected { "FAILED" } else { "APPROVED" };
    let notification = match product.as_object_mut().and_then(|map| map.remove("_pending")) {
        Some(_) if rejected => Reviewed::Edit(audit),
        Some(mut approved) => {
            for sku in approved["skus"].as_array_mut().into_iter().flatten() {
                let live = product["skus"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|s| s["id"] == sku["id"]);
                if let Some(live) = live {
                    sku["inventory"] = live["inventory"].clone();
                }
            }
            approved["status"] = product["status"].clone();
            *product = approved;
            Reviewed::Edit(audit)
        }
        None => {
            product["status"] = json!(if rejected { "FAILED" } else { "ACTIVATE" });
            Reviewed::Product(if rejected {
                "PRODUCT_AUDIT_FAILURE"
            } else {
                "PRODUCT_FIRST_PASS_REVIEW"
            })
        }
    };
    product["audit"] = json!({"status": audit});
    product["audit_failed_reasons"] = if rejected { failed_reasons } else { json!([]) };
    product["update_time"] = json!(now());
    Some((shop_id, notification))
}

/// The product of this shop, or the TikTok error for a foreign or missing one.
fn owned_product<'a>(state: &'a mut crate::State, shop: &Shop, id: &str) -> Result<&'a mut Value, Response> {
    match state.products.get_mut(id) {
        Some(product) if product["_shop"] == shop.id.as_str() => Ok(product),
        Some(_) => Err(business_error(12052048, "The product does not belong to this shop")),
        None => Err(business_error(12052032, "The product does not exist")),
    }
}

/// Edit and Partial Edit Product (reference §6.5). A content edit of a live product
/// is a new version under review (`audit.status` `AUDITING`) while the live version
/// stays ACTIVATE and keeps taking stock and prices; an edit of a product with a
/// version under review replaces that version. Price/stock-only edits publish at
/// once; content edits of a non-live product send it back to review (PENDING).
async fn edit(sandbox: Sandbox, caller: Caller, id: String, body: Value, whole: bool) -> Response {
    let shop = shop(&caller).clone();
    let mut state = sandbox.lock();
    if let Err(response) = validate_product(&state, &shop, &body, whole) {
        return response;
    }
    let existing = match owned_product(&mut state, &shop, &id) {
        Ok(product) if ["FREEZE", "DELETED"].contains(&product["status"].as_str().unwrap_or_default()) => {
            return business_error(12052901, "The product status does not allow this operation");
        }
        Ok(product) => product.clone(),
        Err(response) => return response,
    };
    let pending = existing.get("_pending").cloned();
    let latest = pending.clone().unwrap_or_else(|| existing.clone());
    let mut version = latest.clone();
    if let Some(skus) = body["skus"].as_array() {
        version["skus"] = json!(build_skus(
            &mut state,
            skus,
            latest["skus"].as_array().map_or(&[][..], |v| v),
            &shop.currency
        ));
    }
    let mut content_changed = false;
    for field in CONTENT_FIELDS {
        match body.get(field) {
            Some(value) => {
                content_changed |= version.get(field) != Some(value);
                version[field] = value.clone();
            }
            None if whole => {
                if let Some(map) = version.as_object_mut() {
                    content_changed |= map.remove(field).is_some();
                }
            }
            None => {}
        }
    }
    version["update_time"] = json!(now());
    let live = existing["status"] == "ACTIVATE";
    let reviewed_edit = live && (content_changed || pending.is_some());
    let product = if reviewed_edit {
        let mut product = existing;
        product["_pending"] = version.clone();
        product["audit"] = json!({"status": "AUDITING"});
        product
    } else {
        if content_changed && !live && version["status"] != "SELLER_DEACTIVATED" {
            version["status"] = json!("PENDING");
            version["audit"] = json!({"status": "AUDITING"});
        }
        version.clone()
    };
    state.products.insert(id.clone(), product.clone());
    drop(state);
    if reviewed_edit || product["status"] == "PENDING" {
        sandbox.schedule_review(&id);
    }
    let mut result = write_result(&version);
    result["audit"] = product["audit"].clone();
    ok(result)
}

async fn edit_product(Api { sandbox, caller }: Api, Path(id): Path<String>, Body(body): Body) -> Response {
    edit(sandbox, caller, id, body, true).await
}

async fn partial_edit_product(Api { sandbox, caller }: Api, Path(id): Path<String>, Body(body): Body) -> Response {
    edit(sandbox, caller, id, body, false).await
}

/// Get Product: the live version, or with `return_under_review_version=true` the
/// version under review when an edit is in review.
async fn get_product(Api { sandbox, caller }: Api, Path(id): Path<String>, Query(params): Params) -> Response {
    let mut state = sandbox.lock();
    match owned_product(&mut state, shop(&caller), &id) {
        Ok(product) if ["FREEZE", "DELETED"].contains(&product["status"].as_str().unwrap_or_default()) => {
            business_error(12052901, "The product status does not allow this operation")
        }
        Ok(product) => {
            let under_review = params.get("return_under_review_version").is_some_and(|v| v == "true");
            match product.get("_pending").filter(|_| under_review) {
                Some(version) => {
                    let mut version = public(version);
                    version["audit"] = product["audit"].clone();
                    ok(version)
                }
                None => ok(public(product)),
            }
        }
        Err(response) => response,
    }
}

async fn search_products(Api { sandbox, caller }: Api, Query(params): Params, Body(filter): Body) -> Response {
    let shop = shop(&caller);
    let state = sandbox.lock();
    let status = filter["status"].as_str().unwrap_or("ALL");
    let seller_skus: Vec<&str> = filter["seller_skus"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let products: Vec<Value> = state
        .products
        .values()
        .filter(|p| p["_shop"] == shop.id.as_str())
        .filter(|p| status == "ALL" || p["status"] == status)
        .filter(|p| filter["update_time_ge"].as_i64().is_none_or(|t| p["update_time"].as_i64() >= Some(t)))
        .filter(|p| filter["update_time_le"].as_i64().is_none_or(|t| p["update_time"].as_i64() <= Some(t)))
        .filter(|p| seller_skus.is_empty() || p["skus"].as_array().into_iter().flatten().any(|s| seller_skus.contains(&s["seller_sku"].as_str().unwrap_or_default())))
        .map(|p| json!({"id": p["id"], "title": p["title"], "status": p["status"], "create_time": p["create_time"],
                        "update_time": p["update_time"], "skus": p["skus"], "external_product_id": p["external_product_id"]}))
        .collect();
    paginate(products, &params, 100, "products")
}

async fn update_inventory(Api { sandbox, caller }: Api, Path(id): Path<String>, Body(body): Body) -> Response {
    let shop = shop(&caller).clone();
    let warehouses = shop.sales_warehouse_ids();
    let mut state = sandbox.lock();
    let product = match owned_product(&mut state, &shop, &id) {
        Ok(product) => product,
        Err(response) => return response,
    };
    if product["status"] != "ACTIVATE" {
        return business_error(12052901, "The product status does not allow this operation");
    }
    let mut errors = Vec::new();
    for update in body["skus"].as_array().into_iter().flatten() {
        let sku_id = update["id"].as_str().unwrap_or_default();
        let item_error =
            |code: i64, message: &str| json!({"code": code, "message": message, "detail": {"sku_id": sku_id}});
        let Some(sku) = product["skus"]
            .as_array_mut()
            .and_then(|skus| skus.iter_mut().find(|s| s["id"] == sku_id))
        else {
            errors.push(item_error(12052556, "The SKU id does not exist"));
            continue;
        };
        let stock = update["inventory"].as_array().cloned().unwrap_or_default();
        if stock.iter().any(|s| {
            !s["warehouse_id"]
                .as_str()
                .is_some_and(|w| warehouses.iter().any(|x| x == w))
        }) {
            errors.push(item_error(12052097, "The warehouse does not exist"));
        } else if stock
            .iter()
            .any(|s| !s["quantity"].as_u64().is_some_and(|q| q <= 99_999))
        {
            errors.push(item_error(12052055, "The quantity is out of the allowed range"));
        } else if stock.is_empty() {
            errors.push(item_error(12019022, "The SKU needs a valid warehouse"));
        } else if !lists_every_warehouse(&sku["inventory"], &stock) {
            errors.push(item_error(
                12019028,
                "The SKU is stocked in multiple warehouses: include every warehouse id of the SKU, and only those",
            ));
        } else {
            sku["inventory"] = json!(stock);
        }
    }
    product["update_time"] = json!(now());
    ok(json!({"errors": errors}))
}

/// Whether an Update Inventory list names exactly the warehouses the SKU is stocked
/// in, each once (reference §6.6: don't omit or add); a SKU without any takes any.
fn lists_every_warehouse(held: &Value, requested: &[Value]) -> bool {
    let ids = |list: &mut dyn Iterator<Item = &Value>| {
        let mut ids: Vec<String> = list
            .map(|s| s["warehouse_id"].as_str().unwrap_or_default().to_string())
            .collect();
        ids.sort();
        ids
    };
    let held = ids(&mut held.as_array().into_iter().flatten());
    let mut requested = ids(&mut requested.iter());
    let count = requested.len();
    requested.dedup();
    held.is_empty() || (requested.len() == count && requested == held)
}

async fn update_prices(Api { sandbox, caller }: Api, Path(id): Path<String>, Body(body): Body) -> Response {
    let shop = shop(&caller).clone();
    let mut state = sandbox.lock();
    let locked = state.promotion_locked_skus.clone();
    let product = match owned_product(&mut state, &shop, &id) {
        Ok(product) => product,
        Err(response) => return response,
    };
    if product["status"] != "ACTIVATE" {
        return business_error(12052901, "The product status does not allow this operation");
    }
    let updates = body["skus"].as_array().cloned().unwrap_or_default();
    for update in &updates {
        let sku_id = update["id"].as_str().unwrap_or_default();
        if locked.iter().any(|l| l == sku_id) {
            return business_error(
                12052038,
                format!("The price of SKU {sku_id} is locked by an ongoing promotion"),
            );
        }
        if !product["skus"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["id"] == sku_id)
        {
            return business_error(12052556, format!("The SKU id {sku_id} does not exist"));
        }
        if update["price"]["currency"].as_str() != Some(shop.currency.as_str()) {
            return business_error(12052084, format!("The currency must be {}", shop.currency));
        }
        if !update["price"]["amount"]
            .as_str()
            .and_then(|a| a.parse::<f64>().ok())
            .is_some_and(|a| a > 0.0)
        {
            return business_error(12052910, "price.amount must be a positive decimal string");
        }
    }
    for update in updates {
        if let Some(sku) = product["skus"]
            .as_array_mut()
            .and_then(|skus| skus.iter_mut().find(|s| s["id"] == update["id"]))
        {
            let amount = update["price"]["amount"].clone();
            sku["price"] = json!({"currency": shop.currency, "sale_price": amount, "tax_exclusive_price": amount});
        }
    }
    product["update_time"] = json!(now());
    ok(json!({}))
}

/// Applies a status action to up to 20 products; `from` lists the allowed statuses.
fn status_action(sandbox: &Sandbox, caller: &Caller, body: &Value, from: &[&str], to: &str) -> Response {
    let ids: Vec<String> = body["product_ids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if ids.is_empty() || ids.len() > 20 {
        return business_error(12019120, "product_ids must hold 1 to 20 ids");
    }
    let shop = shop(caller);
    let mut state = sandbox.lock();
    let mut errors = Vec::new();
    let mut reviews = Vec::new();
    for id in ids {
        match owned_product(&mut state, shop, &id) {
            Ok(product) if from.contains(&product["status"].as_str().unwrap_or_default()) => {
                product["status"] = json!(to);
                product["update_time"] = json!(now());
                if to == "PENDING" {
                    reviews.push(id);
                }
            }
            Ok(_) => errors.push(json!({"code": 12052901, "message": "The product status does not allow this operation", "detail": {"product_id": id}})),
            Err(_) => errors.push(json!({"code": 12052032, "message": "The product does not exist", "detail": {"product_id": id}})),
        }
    }
    drop(state);
    for id in reviews {
        sandbox.schedule_review(&id);
    }
    ok(json!({"errors": errors}))
}

async fn activate_products(Api { sandbox, caller }: Api, Body(body): Body) -> Response {
    status_action(
        &sandbox,
        &caller,
        &body,
        &["SELLER_DEACTIVATED", "PLATFORM_DEACTIVATED"],
        "PENDING",
    )
}

async fn deactivate_products(Api { sandbox, caller }: Api, Body(body): Body) -> Response {
    status_action(&sandbox, &caller, &body, &["ACTIVATE", "PENDING"], "SELLER_DEACTIVATED")
}

async fn delete_products(Api { sandbox, caller }: Api, Body(body): Body) -> Response {
    let deletable = [
        "DRAFT",
        "PENDING",
        "FAILED",
        "ACTIVATE",
        "SELLER_DEACTIVATED",
        "PLATFORM_DEACTIVATED",
    ];
    status_action(&sandbox, &caller, &body, &deletable, "DELETED")
}

async fn recover_products(Api { sandbox, caller }: Api, Body(body): Body) -> Response {
    status_action(&sandbox, &caller, &body, &["DELETED"], "SELLER_DEACTIVATED")
}

/// Whether `record[field]` lies within the filter's `{field}_ge` and `{field}_lt`.
fn in_range(record: &Value, filter: &Value, field: &str) -> bool {
    let value = record[field].as_i64().unwrap_or_default();
    filter[format!("{field}_ge")].as_i64().is_none_or(|ge| value >= ge)
        && filter[format!("{field}_lt")].as_i64().is_none_or(|lt| value < lt)
}

/// Sorts by the query's `sort_field` (`create_time` | `update_time`) and `sort_order`
/// (`ASC` | `DESC`), `defaults` when absent, ties by `id_key`; `36009004` for others.
fn sort_by_time(
    items: &mut [Value],
    params: &HashMap<String, String>,
    defaults: (&str, &str),
    id_key: &str,
) -> Result<(), Response> {
    let field = params.get("sort_field").map_or(defaults.0, String::as_str);
    if !["create_time", "update_time"].contains(&field) {
        return Err(business_error(
            36009004,
            "sort_field must be create_time or update_time",
        ));
    }
    let order = params.get("sort_order").map_or(defaults.1, String::as_str);
    if !["ASC", "DESC"].contains(&order) {
        return Err(business_error(36009004, "sort_order must be ASC or DESC"));
    }
    items.sort_by_key(|item| {
        (
            item[field].as_i64().unwrap_or_default(),
            item[id_key].as_str().unwrap_or_default().to_string(),
        )
    });
    if order == "DESC" {
        items.reverse();
    }
    Ok(())
}

fn order_status_matches(order: &Value, wanted: &str) -> bool {
    let status = order["status"].as_str().unwrap_or_default();
    status == wanted || (wanted == "CANCELLED" && status == "CANCEL")
}

async fn search_orders(Api { sandbox, caller }: Api, Query(params): Params, Body(filter): Body) -> Response {
    let shop = shop(&caller);
    let state = sandbox.lock();
    let mut orders: Vec<Value> = state
        .orders
        .values()
        .filter(|o| o["_shop"] == shop.id.as_str())
        .filter(|o| {
            filter["order_status"]
                .as_str()
                .is_none_or(|s| order_status_matches(o, s))
        })
        .filter(|o| in_range(o, &filter, "create_time") && in_range(o, &filter, "update_time"))
        .map(public)
        .collect();
    if let Err(response) = sort_by_time(&mut orders, &params, ("create_time", "DESC"), "id") {
        return response;
    }
    paginate(orders, &params, 100, "orders")
}

async fn order_details(Api { sandbox, caller }: Api, Query(params): Params) -> Response {
    let ids: Vec<&str> = params
        .get("ids")
        .map(|ids| ids.split(',').filter(|i| !i.is_empty()).collect())
        .unwrap_or_default();
    if ids.is_empty() || ids.len() > 50 {
        return business_error(36009004, "ids must hold 1 to 50 order ids");
    }
    let shop = shop(&caller);
    let state = sandbox.lock();
    let orders: Vec<Value> = ids
        .iter()
        .filter_map(|id| state.orders.get(*id))
        .filter(|o| o["_shop"] == shop.id.as_str())
        .map(public)
        .collect();
    ok(json!({"orders": orders}))
}

/// The order of this shop, or TikTok's "not owned" error.
fn owned_order<'a>(state: &'a mut crate::State, shop: &Shop, id: &str) -> Result<&'a mut Value, Response> {
    match state.orders.get_mut(id) {
        Some(order) if order["_shop"] == shop.id.as_str() => Ok(order),
        _ => Err(business_error(
            21008111,
            "The order does not exist or does not belong to the seller",
        )),
    }
}

fn valid_tracking(tracking: &str) -> bool {
    !tracking.is_empty() && tracking.len() <= 64 && tracking.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Whether `provider` is one of the shop's region's providers.
fn valid_provider(shop: &Shop, provider: &str) -> bool {
    crate::State::shipping_providers(&shop.region)
        .iter()
        .any(|p| p["id"] == provider)
}

async fn mark_package_shipped(
    Api { sandbox, caller }: Api,
    Path(order_id): Path<String>,
    Body(body): Body,
) -> Response {
    let shop = shop(&caller).clone();
    let tracking = body["tracking_number"].as_str().unwrap_or_default().to_string();
    let provider = body["shipping_provider_id"].as_str().unwrap_or_default().to_string();
    let (package_id, line_ids, new_status) = {
        let mut state = sandbox.lock();
        let package_id = state.new_id();
        let order = match owned_order(&mut state, &shop, &order_id) {
            Ok(order) => order,
            Err(response) => return response,
        };
        if order["fulfillment_type"] == "FULFILLMENT_BY_TIKTOK" {
            return business_error(21008025, "Cannot operate platform-fulfilled orders");
        }
        if order_status_matches(order, "CANCELLED") {
            return business_error(21011041, "The order has been cancelled");
        }
        if !["AWAITING_SHIPMENT", "PARTIALLY_SHIPPING"].contains(&order["status"].as_str().unwrap_or_default()) {
            return business_error(11006021, "The package has already been shipped");
        }
        if !valid_tracking(&tracking) {
            return business_error(21004012, "The tracking number contains special characters");
        }
        if !valid_provider(&shop, &provider) {
            return business_error(
                21004016,
                "No logistics service or provider matches this tracking number",
            );
        }
        // Units wait for shipment while they have no package or one still TO_FULFILL.
        let waiting = |line: &Value| {
            line["display_status"] != "CANCELLED"
                && (line["package_id"].as_str().is_none_or(str::is_empty) || line["package_status"] == "TO_FULFILL")
        };
        let unshipped: Vec<(String, String)> = order["line_items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|l| waiting(l))
            .filter_map(|l| {
                Some((
                    l["id"].as_str()?.to_string(),
                    l["package_id"].as_str().unwrap_or_default().to_string(),
                ))
            })
            .collect();
        let mut requested: Vec<String> = body["order_line_item_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        requested.sort();
        requested.dedup();
        let line_ids = if requested.is_empty() {
            unshipped.iter().map(|(id, _)| id.clone()).collect()
        } else {
            requested
        };
        if line_ids.iter().any(|id| !unshipped.iter().any(|(u, _)| u == id)) {
            return business_error(11006021, "A line item is unknown or has already been shipped");
        }
        // Shipping every waiting unit of the package made at payment ships that package;
        // a subset is split off into a new one.
        let whole_package = unshipped
            .iter()
            .find(|(id, _)| line_ids.contains(id))
            .map(|(_, package)| package.clone())
            .filter(|package| {
                !package.is_empty()
                    && unshipped
                        .iter()
                        .filter(|(_, p)| p == package)
                        .all(|(id, _)| line_ids.contains(id))
                    && line_ids
                        .iter()
                        .all(|id| unshipped.iter().any(|(u, p)| u == id && p == package))
            });
        let package_id = whole_package.unwrap_or(package_id);
        for line in order["line_items"].as_array_mut().into_iter().flatten() {
            if line["id"].as_str().is_some_and(|id| line_ids.iter().any(|l| l == id)) {
                line["package_id"] = json!(package_id);
                line["package_status"] = json!("FULFILLING");
                line["display_status"] = json!("AWAITING_COLLECTION");
                line["tracking_number"] = json!(tracking);
                line["shipping_provider_id"] = json!(provider);
            }
        }
        let all_shipped = line_ids.len() == unshipped.len();
        // Marked shipped, the parcel waits for the carrier's pick-up scan.
        let new_status = if all_shipped {
            "AWAITING_COLLECTION"
        } else {
            "PARTIALLY_SHIPPING"
        };
        order["status"] = json!(new_status);
        order["update_time"] = json!(now());
        order["tracking_number"] = json!(tracking);
        order["shipping_provider_id"] = json!(provider);
        let mut packages: Vec<Value> = order["packages"].as_array().cloned().unwrap_or_default();
        if !packages.iter().any(|p| p["id"] == package_id.as_str()) {
            packages.push(json!({"id": package_id}));
        }
        order["packages"] = json!(packages);
        // A split leaves the other units in the package made at payment.
        for package in state
            .packages
            .values_mut()
            .filter(|p| p["order_id"] == order_id.as_str())
        {
            if let Some(units) = package["order_line_item_ids"].as_array_mut() {
                units.retain(|u| !u.as_str().is_some_and(|u| line_ids.iter().any(|l| l == u)));
            }
        }
        let package = json!({"package_id": package_id, "_shop": shop.id, "order_id": order_id, "package_status": "FULFILLING",
                             "tracking_number": tracking, "shipping_provider_id": provider, "order_line_item_ids": line_ids,
                             "create_time": now(), "update_time": now()});
        state.packages.insert(package_id.clone(), package);
        (package_id, line_ids, new_status)
    };
    sandbox.notify_order(&shop.id, &order_id, new_status);
    ok(json!({"order_id": order_id, "package_id": package_id, "order_line_item_ids": line_ids}))
}

async fn ship_package(Api { sandbox, caller }: Api, Path(package_id): Path<String>, Body(body): Body) -> Response {
    let tracking = body["self_shipment"]["tracking_number"].as_str().unwrap_or_default();
    let provider = body["self_shipment"]["shipping_provider_id"]
        .as_str()
        .unwrap_or_default();
    if !valid_tracking(tracking) {
        return business_error(21004012, "The tracking number contains special characters");
    }
    if !valid_provider(shop(&caller), provider) {
        return business_error(
            21004016,
            "No logistics service or provider matches this tracking number",
        );
    }
    let mut state = sandbox.lock();
    match state.packages.get_mut(&package_id) {
        Some(package) if package["_shop"] == shop(&caller).id.as_str() => {
            package["tracking_number"] = json!(tracking);
            package["shipping_provider_id"] = json!(provider);
            package["package_status"] = json!("FULFILLING");
            ok(json!({}))
        }
        _ => business_error(21008111, "The package does not exist or does not belong to the seller"),
    }
}

async fn update_shipping_info(
    Api { sandbox, caller }: Api,
    Path(order_id): Path<String>,
    Body(body): Body,
) -> Response {
    correct_tracking(&sandbox, &caller, &order_id, None, &body)
}

async fn update_package_shipping_info(
    Api { sandbox, caller }: Api,
    Path(package_id): Path<String>,
    body: Bytes,
) -> Response {
    let order_id = sandbox
        .lock()
        .packages
        .get(&package_id)
        .map(|p| p["order_id"].as_str().unwrap_or_default().to_string());
    match order_id {
        Some(order_id) => match parse_body(&body) {
            Ok(body) => correct_tracking(&sandbox, &caller, &order_id, Some(&package_id), &body),
            Err(response) => response,
        },
        None => business_error(21008111, "The package does not exist or does not belong to the seller"),
    }
}

/// Update Shipping Info: the order's packages (or one package) take a new tracking
/// number and provider, unless the order was delivered or never shipped.
fn correct_tracking(
    sandbox: &Sandbox,
    caller: &Caller,
    order_id: &str,
    package_id: Option<&str>,
    body: &Value,
) -> Response {
    let tracking = body["tracking_number"].as_str().unwrap_or_default().to_string();
    let provider = body["shipping_provider_id"].as_str().unwrap_or_default().to_string();
    if !valid_tracking(&tracking) || !valid_provider(shop(caller), &provider) {
        return business_error(21011022, "Invalid tracking number or shipping provider");
    }
    let shop = shop(caller).clone();
    let mut state = sandbox.lock();
    let order = match owned_order(&mut state, &shop, order_id) {
        Ok(order) => order,
        Err(response) => return response,
    };
    match order["status"].as_str().unwrap_or_default() {
        "DELIVERED" | "COMPLETED" => return business_error(21011030, "The package has already been delivered"),
        "IN_TRANSIT" | "PARTIALLY_SHIPPING" | "AWAITING_COLLECTION" => {}
        _ => return business_error(21011043, "The package has not been shipped yet"),
    }
    let in_scope = |line_package: &str| !line_package.is_empty() && package_id.is_none_or(|p| p == line_package);
    if package_id.is_none() {
        order["tracking_number"] = json!(tracking);
        order["shipping_provider_id"] = json!(provider);
    }
    for line in order["line_items"].as_array_mut().into_iter().flatten() {
        let shipped = line["package_status"] != "TO_FULFILL";
        if shipped && in_scope(line["package_id"].as_str().unwrap_or_default()) {
            line["tracking_number"] = json!(tracking);
            line["shipping_provider_id"] = json!(provider);
        }
    }
    for (id, package) in state.packages.iter_mut().filter(|(_, p)| p["order_id"] == order_id) {
        if package["package_status"] != "PROCESSING" && in_scope(id) {
            package["tracking_number"] = json!(tracking);
            package["shipping_provider_id"] = json!(provider);
        }
    }
    ok(json!({}))
}

async fn package_detail(Api { sandbox, caller }: Api, Path(package_id): Path<String>) -> Response {
    let state = sandbox.lock();
    match state.packages.get(&package_id) {
        Some(package) if package["_shop"] == shop(&caller).id.as_str() => ok(public(package)),
        _ => business_error(21008111, "The package does not exist or does not belong to the seller"),
    }
}

/// Search Cancellations / Search Returns (§10): each body list of `filters` (body key,
/// record key) keeps the records whose value it holds; `create_time_ge/lt` and
/// `update_time_ge/lt` bound the times; sorted by `sort_field` (`update_time` by
/// default) `ASC` by default, ties by id; `page_size` 1–50, 10 by default.
fn search_after_sales(
    sandbox: &Sandbox,
    caller: &Caller,
    (params, filter): (&HashMap<String, String>, &Value),
    kind: Kind,
    filters: &[(&str, &str)],
    list: &str,
) -> Response {
    let mut wanted = Vec::new();
    for (body_key, record_key) in filters {
        match &filter[*body_key] {
            Value::Null => {}
            Value::Array(values) if values.iter().all(Value::is_string) => wanted.push((*record_key, values.clone())),
            _ => return business_error(36009004, format!("{body_key} must be a list of strings")),
        }
    }
    let shop_id = shop(caller).id.as_str();
    let mut items: Vec<Value> = kind
        .records(&mut sandbox.lock())
        .values()
        .filter(|r| r["_shop"] == shop_id)
        .filter(|r| wanted.iter().all(|(key, values)| values.contains(&r[*key])))
        .filter(|r| in_range(r, &filter, "create_time") && in_range(r, &filter, "update_time"))
        .map(public)
        .collect();
    if let Err(response) = sort_by_time(&mut items, params, ("update_time", "ASC"), kind.id_key()) {
        return response;
    }
    let mut params = params.clone();
    params.entry("page_size".into()).or_insert_with(|| "10".into());
    paginate(items, &params, 50, list)
}

async fn search_cancellations(Api { sandbox, caller }: Api, Query(params): Params, Body(body): Body) -> Response {
    let filters = [
        ("cancel_ids", "cancel_id"),
        ("order_ids", "order_id"),
        ("cancel_types", "cancel_type"),
        ("cancel_status", "cancel_status"),
    ];
    let request = (&params, &body);
    search_after_sales(
        &sandbox,
        &caller,
        request,
        Kind::Cancellation,
        &filters,
        "cancellations",
    )
}

async fn search_returns(Api { sandbox, caller }: Api, Query(params): Params, Body(body): Body) -> Response {
    let filters = [
        ("return_ids", "return_id"),
        ("order_ids", "order_id"),
        ("return_types", "return_type"),
        ("return_status", "return_status"),
        ("arbitration_status", "arbitration_status"),
        ("seller_proposed_return_type", "seller_proposed_return_type"),
    ];
    let request = (&params, &body);
    search_after_sales(&sandbox, &caller, request, Kind::Return, &filters, "return_orders")
}

/// A seller decision, run once per (shop, `idempotency_key`): §10's write endpoints
/// take an optional key of 1 to 255 characters (`36009004` otherwise), and a repeated
/// key gets the first call's answer, success or refusal, without acting again. The
/// decision's webhooks are sent after it.
fn decide_once(
    Decision {
        api: Api { sandbox, caller },
        id,
        params,
        body,
    }: Decision,
    decide: impl FnOnce(&mut crate::State, &str, &str, &Value) -> Result<Vec<Notice>, Refusal>,
) -> Response {
    let shop_id = shop(&caller).id.clone();
    let key = match params.get("idempotency_key") {
        Some(key) if key.is_empty() || key.len() > 255 => {
            return business_error(36009004, "idempotency_key must be 1 to 255 characters");
        }
        Some(key) => Some((shop_id.clone(), key.clone())),
        None => None,
    };
    let (answer, notices) = {
        let mut state = sandbox.lock();
        if let Some(answer) = key.as_ref().and_then(|k| state.decision_keys.get(k)) {
            return respond(answer);
        }
        let outcome = parse_json(&body).and_then(|body| decide(&mut state, &shop_id, &id, &body));
        let (answer, notices) = match outcome {
            Ok(notices) => (json!({"code": 0, "message": "Success", "data": {}}), notices),
            Err((code, message)) => (json!({"code": code, "message": message}), Vec::new()),
        };
        if let Some(key) = key {
            state.decision_keys.insert(key, answer.clone());
        }
        (answer, notices)
    };
    sandbox.send(notices);
    respond(&answer)
}

/// A seller decision's request: the caller, the record id of the path, the query (its
/// `idempotency_key`) and the body, read only once the key was looked up.
struct Decision {
    api: Api,
    id: String,
    params: HashMap<String, String>,
    body: Bytes,
}

impl FromRequest<Sandbox> for Decision {
    type Rejection = Response;

    async fn from_request(request: Request, sandbox: &Sandbox) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let Ok(api) = Api::from_request_parts(&mut parts, sandbox).await;
        let Path(id) = Path::<String>::from_request_parts(&mut parts, sandbox)
            .await
            .map_err(IntoResponse::into_response)?;
        let Query(params) = Params::from_request_parts(&mut parts, sandbox)
            .await
            .map_err(IntoResponse::into_response)?;
        let body = Bytes::from_request(Request::from_parts(parts, body), sandbox)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Decision { api, id, params, body })
    }
}

/// The envelope of a stored decision answer.
fn respond(answer: &Value) -> Response {
    match answer["code"].as_i64() {
        Some(0) => ok(answer["data"].clone()),
        code => business_error(code.unwrap_or(36009003), answer["message"].as_str().unwrap_or_default()),
    }
}

/// Approve Cancellation (§10.1): documented without a body (one sent is signed like
/// any other and ignored); see [`after_sales::decide_cancellation`].
async fn approve_cancellation(decision: Decision) -> Response {
    decide_once(decision, |state, shop_id, id, body| {
        after_sales::decide_cancellation(state, shop_id, id, body, true)
    })
}

/// Reject Cancellation (§10.1): `{reject_reason, comment?, images?}`.
async fn reject_cancellation(decision: Decision) -> Response {
    decide_once(decision, |state, shop_id, id, body| {
        after_sales::decide_cancellation(state, shop_id, id, body, false)
    })
}

async fn seller_cancel_order(Api { sandbox, caller }: Api, Body(body): Body) -> Response {
    let shop = shop(&caller).clone();
    let order_id = body["order_id"].as_str().unwrap_or_default().to_string();
    let reason = body["cancel_reason"].as_str().unwrap_or_default().to_string();
    let cancel_id = {
        let mut state = sandbox.lock();
        let order = match owned_order(&mut state, &shop, &order_id) {
            Ok(order) => order,
            Err(_) => return business_error(25007006, "The order does not exist"),
        };
        match order["status"].as_str().unwrap_or_default() {
            "UNPAID" | "ON_HOLD" | "AWAITING_SHIPMENT" | "AWAITING_COLLECTION" => {}
            "CANCELLED" | "CANCEL" | "COMPLETED" => {
                return business_error(25001051, "The order is completed or cancelled");
            }
            _ => return business_error(25001045, "The order has been shipped and cannot be cancelled"),
        }
        // Reasons must match the status: unpaid orders take the unpaid keys, paid ones the others.
        let unpaid = order["status"] == "UNPAID";
        if !reason.starts_with("seller_cancel") || reason.starts_with("seller_cancel_unpaid_reason") != unpaid {
            return business_error(25001021, "The cancel reason does not match the order status");
        }
        order["status"] = json!("CANCELLED");
        order["update_time"] = json!(now());
        order["cancel_reason"] = json!(reason);
        order["cancellation_initiator"] = json!("SELLER");
        order["cancel_time"] = json!(now());
        let order = order.clone();
        let record = match after_sales::cancellation(&mut state, &order, ("CANCEL", "SELLER"), &reason, &reason) {
            Ok(record) => record,
            Err(message) => return business_error(36009004, message),
        };
        let cancel_id = record["cancel_id"].as_str().unwrap_or_default().to_string();
        // The order's ORDER_STATUS_CHANGE is what the seller's own cancellation notifies.
        let _ = after_sales::open(&mut state, Kind::Cancellation, record, "CANCELLATION_REQUEST_COMPLETE");
        cancel_id
    };
    sandbox.notify_order(&shop.id, &order_id, "CANCELLED");
    ok(json!({"cancel_id": cancel_id, "cancel_status": "CANCELLATION_REQUEST_COMPLETE"}))
}

/// Approve Return (§10.2): `{decision, buyer_keep_item?, partial_refund?}`; see
/// [`after_sales::decide_return`].
async fn approve_return(decision: Decision) -> Response {
    decide_once(decision, |state, shop_id, id, body| {
        after_sales::decide_return(state, shop_id, id, body, true)
    })
}

/// Reject Return (§10.2): `{decision, reject_reason, comment?, images?}`.
async fn reject_return(decision: Decision) -> Response {
    decide_once(decision, |state, shop_id, id, body| {
        after_sales::decide_return(state, shop_id, id, body, false)
    })
}

/// Get Reject Reasons (§10.2): the reasons of one return or cancellation of the shop,
/// as it stands (`25007006` for another shop's or an unknown id).
async fn reject_reasons(Api { sandbox, caller }: Api, Query(params): Params) -> Response {
    let Some(id) = params.get("return_or_cancel_id").filter(|id| !id.is_empty()) else {
        return business_error(36009004, "return_or_cancel_id is required");
    };
    let shop_id = shop(&caller).id.as_str();
    let mut state = sandbox.lock();
    let found = [Kind::Return, Kind::Cancellation].into_iter().find_map(|kind| {
        kind.records(&mut state)
            .get(id)
            .filter(|r| r["_shop"] == shop_id)
            .map(|record| after_sales::reject_reasons(kind, record))
    });
    match found {
        Some(reasons) => {
            let reasons: Vec<Value> = reasons
                .iter()
                .map(|(name, text)| json!({"name": name, "text": text}))
                .collect();
            ok(json!({"reasons": reasons}))
        }
        None => business_error(after_sales::NOT_FOUND, "The return or cancellation does not exist"),
    }
}

/// Get Return Records (§10.2): the return's timeline, one entry per change.
async fn return_records(Api { sandbox, caller }: Api, Path(id): Path<String>) -> Response {
    let state = sandbox.lock();
    match state.returns.get(&id) {
        Some(record) if record["_shop"] == shop(&caller).id.as_str() => ok(json!({"records": record["_records"]})),
        _ => business_error(after_sales::NOT_FOUND, "The return does not exist"),
    }
}

const EVENT_TYPES: [&str; 17] = [
    "ORDER_STATUS_CHANGE",
    "RECIPIENT_ADDRESS_UPDATE",
    "PACKAGE_UPDATE",
    "PRODUCT_STATUS_CHANGE",
    "SELLER_DEAUTHORIZATION",
    "UPCOMING_AUTHORIZATION_EXPIRATION",
    "CANCELLATION_STATUS_CHANGE",
    "RETURN_STATUS_CHANGE",
    "NEW_CONVERSATION",
    "NEW_MESSAGE",
    "PRODUCT_INFORMATION_CHANGE",
    "PRODUCT_CREATION",
    "PRODUCT_CATEGORY_CHANGE",
    "NEW_MESSAGE_LISTENER",
    "INVOICE_STATUS_CHANGE",
    "PRODUCT_AUDIT_STATUS_CHANGE",
    "REVERSE_STATUS_UPDATE",
];

async fn list_webhooks(Api { sandbox, caller }: Api) -> Response {
    let shop = shop(&caller);
    let state = sandbox.lock();
    let webhooks: Vec<Value> = state
        .webhooks
        .iter()
        .filter(|((shop_id, _), _)| *shop_id == shop.id)
        .map(|((_, event_type), address)| json!({"event_type": event_type, "address": address, "create_time": now(), "update_time": now()}))
        .collect();
    ok(json!({"total_count": webhooks.len(), "webhooks": webhooks}))
}

/// TikTok wants `https://` on a domain name without a custom port; the sandbox also
/// accepts plain `http://` on loopback so local runs can receive deliveries.
fn acceptable_address(address: &str) -> bool {
    let Ok(url) = url::Url::parse(address) else {
        return false;
    };
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    address.len() <= 255 && ((url.scheme() == "https" && url.port().is_none() && url.domain().is_some()) || loopback)
}

async fn update_webhook(Api { sandbox, caller }: Api, Body(body): Body) -> Response {
    let event_type = body["event_type"].as_str().unwrap_or_default();
    let address = body["address"].as_str().unwrap_or_default();
    if !EVENT_TYPES.contains(&event_type) {
        return business_error(36009004, format!("Unknown event_type {event_type:?}"));
    }
    if !acceptable_address(address) {
        return business_error(
            36009004,
            "address must be an https URL on a domain name without a custom port",
        );
    }
    sandbox
        .lock()
        .webhooks
        .insert((shop(&caller).id.clone(), event_type.to_string()), address.to_string());
    ok(json!({}))
}

async fn delete_webhook(Api { sandbox, caller }: Api, Body(body): Body) -> Response {
    let event_type = body["event_type"].as_str().unwrap_or_default().to_string();
    sandbox.lock().webhooks.remove(&(shop(&caller).id.clone(), event_type));
    ok(json!({}))
}
