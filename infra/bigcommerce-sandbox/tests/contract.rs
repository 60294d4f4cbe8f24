//! The BigCommerce sandbox against the reference (`store-platforms-api.md` §1), with
//! raw HTTP: install and token exchange, rate-limit headers, filters and pagination,
//! v2/v3 error envelopes, orders, shipments and webhook delivery.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bigcommerce_sandbox::SandboxConfig;
use common::{Harness, start};
use serde_json::{Value, json};

fn config() -> SandboxConfig {
    SandboxConfig {
        client_id: "cid".into(),
        client_secret: "csecret".into(),
        stores: vec!["storea".into(), "storeb".into()],
        products: 30,
        auth_callback_url: Some("https://app.example.com/bigcommerce/auth".into()),
        load_callback_url: Some("https://app.example.com/bigcommerce/load".into()),
        webhook_time_scale: 0.0001,
        ..SandboxConfig::default()
    }
}

impl Harness {
    /// Installs the app on a store through the redirect and the token exchange.
    async fn install(&self, store: &str) -> String {
        let query = self.install_redirect(store).await;
        assert_eq!(query["context"], format!("stores/{store}"));
        let body = json!({"client_id": "cid", "client_secret": "csecret", "code": query["code"], "context": query["context"],
                          "scope": query["scope"], "grant_type": "authorization_code", "redirect_uri": "https://app.example.com/bigcommerce/auth"});
        let answer: Value = self
            .http
            .post(format!("{}/oauth2/token", self.base))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["context"], format!("stores/{store}"));
        let again = self
            .http
            .post(format!("{}/oauth2/token", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 400, "codes are single use");
        answer["access_token"].as_str().unwrap().to_string()
    }

    async fn api(
        &self,
        method: reqwest::Method,
        store: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .http
            .request(method, format!("{}/stores/{store}{path}", self.base))
            .header("x-auth-token", token)
            .header("accept", "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn tokens_work_only_for_their_store_and_bad_exchanges_are_refused() {
    let h = start(config()).await;
    let token = h.install("storea").await;
    assert_eq!(
        h.api(reqwest::Method::GET, "storea", "/v2/store", &token, None).await.0,
        200
    );
    let (status, _, body) = h.api(reqwest::Method::GET, "storeb", "/v2/store", &token, None).await;
    assert_eq!(status, 401);
    assert_eq!(body["status"], 401, "v3 error envelope: {body}");
    assert_eq!(
        h.api(reqwest::Method::GET, "nostore", "/v2/store", &token, None)
            .await
            .0,
        404
    );
    let wrong_secret = json!({"client_id": "cid", "client_secret": "nope", "code": "x", "context": "stores/storea", "grant_type": "authorization_code",
                              "redirect_uri": "https://app.example.com/bigcommerce/auth"});
    assert_eq!(
        h.http
            .post(format!("{}/oauth2/token", h.base))
            .json(&wrong_secret)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // A re-install replaces the token.
    let second = h.install("storea").await;
    assert_eq!(
        h.api(reqwest::Method::GET, "storea", "/v2/store", &token, None).await.0,
        401
    );
    assert_eq!(
        h.api(reqwest::Method::GET, "storea", "/v2/store", &second, None)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn every_answer_carries_rate_limit_headers_and_the_quota_is_enforced() {
    let mut config = config();
    config.quota = 5;
    config.window = Duration::from_secs(30);
    let h = start(config).await;
    let token = h.install("storea").await;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let (status, headers, _) = h.api(reqwest::Method::GET, "storea", "/v2/store", &token, None).await;
        assert_eq!(headers["x-rate-limit-requests-quota"], "5");
        assert_eq!(headers["x-rate-limit-time-window-ms"], "30000");
        assert!(
            headers["x-rate-limit-time-reset-ms"]
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                <= 30_000
        );
        statuses.push((
            status,
            headers["x-rate-limit-requests-left"].to_str().unwrap().to_string(),
        ));
    }
    assert_eq!(statuses[0], (200, "4".to_string()));
    assert_eq!(statuses[4], (200, "0".to_string()));
    assert_eq!(statuses[5].0, 429);
    let other = h.install("storeb").await;
    assert_eq!(
        h.api(reqwest::Method::GET, "storeb", "/v2/store", &other, None).await.0,
        200,
        "quotas are per store"
    );
}

#[tokio::test]
async fn injected_429s_carry_the_rate_limit_headers_and_every_fault_is_counted() {
    let h = start(config()).await;
    let token = h.install("storea").await;
    let set = async |faults: Value| {
        let answer = h
            .http
            .post(format!("{}/sandbox/faults", h.base))
            .json(&faults)
            .send()
            .await
            .unwrap();
        (answer.status().as_u16(), answer.json::<Value>().await.unwrap())
    };
    assert_eq!(set(json!({"rate_limit_share": 1.0, "seed": 1})).await.0, 200);
    let (status, headers, _) = h.api(reqwest::Method::GET, "storea", "/v2/store", &token, None).await;
    assert_eq!(status, 429);
    assert_eq!(headers["x-rate-limit-requests-left"], "0");
    let reset: u64 = headers["x-rate-limit-time-reset-ms"].to_str().unwrap().parse().unwrap();
    assert!((1..=1000).contains(&reset), "the window turns soon: {reset} ms");
    assert!(headers.contains_key("x-rate-limit-requests-quota") && headers.contains_key("x-rate-limit-time-window-ms"));
    set(json!({"error_share": 1.0})).await;
    let (status, _, _) = h.api(reqwest::Method::GET, "storea", "/v2/store", &token, None).await;
    assert!(status == 500 || status == 503, "{status}");
    let (status, report) = set(json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&report["injected"]["429"], &report["injected"]["5xx"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(
        set(json!({"drop_share": 1.5})).await.0,
        400,
        "shares are between 0 and 1"
    );
}

#[tokio::test]
async fn catalog_filters_and_pagination_follow_the_v3_envelope() {
    let h = start(config()).await;
    let token = h.install("storea").await;
    let (status, _, page) = h
        .api(
            reqwest::Method::GET,
            "storea",
            "/v3/catalog/products?limit=10&page=2&include=variants,images",
            &token,
            None,
        )
        .await;
    assert_eq!(status, 200);
    let pagination = &page["meta"]["pagination"];
    assert_eq!(
        (
            pagination["total"].as_u64(),
            pagination["total_pages"].as_u64(),
            pagination["current_page"].as_u64()
        ),
        (Some(30), Some(3), Some(2))
    );
    assert_eq!(page["data"].as_array().unwrap().len(), 10);
    assert!(page["data"][0]["variants"].is_array() && page["data"][0]["images"].is_array());
    assert!(
        page["data"][0].get("custom_fields").is_none(),
        "only what include asks for"
    );
    let with_options = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["inventory_tracking"] == "variant")
        .unwrap();
    assert_eq!(with_options["variants"].as_array().unwrap().len(), 4);
    assert!(with_options["base_variant_id"].is_null());
    let (_, _, some) = h
        .api(
            reqwest::Method::GET,
            "storea",
            "/v3/catalog/products?id:in=3,5,999",
            &token,
            None,
        )
        .await;
    assert_eq!(some["data"].as_array().unwrap().len(), 2);
    let (status, _, error) = h
        .api(
            reqwest::Method::GET,
            "storea",
            "/v3/catalog/products?limit=251",
            &token,
            None,
        )
        .await;
    assert_eq!((status, error["status"].as_u64()), (422, Some(422)));
    let (status, _, error) = h
        .api(
            reqwest::Method::GET,
            "storea",
            "/v3/catalog/products?date_modified:min=yesterday",
            &token,
            None,
        )
        .await;
    assert_eq!(status, 422);
    assert!(error["errors"]["date_modified:min"].is_string());
    let (_, _, none) = h
        .api(
            reqwest::Method::GET,
            "storea",
            "/v3/catalog/products?date_modified:min=2999-01-01",
            &token,
            None,
        )
        .await;
    assert!(none["data"].as_array().unwrap().is_empty());
    let (status, _, _) = h
        .api(
            reqwest::Method::GET,
            "storea",
            "/v3/catalog/products/99999",
            &token,
            None,
        )
        .await;
    assert_eq!(status, 404);
}

fn order_body(product: &Value, variant_id: Option<u64>) -> Value {
    let mut line =
        json!({"product_id": product["id"], "quantity": 2, "price_ex_tax": "12.50", "price_inc_tax": "13.50"});
    if let Some(variant_id) = variant_id {
        line["variant_id"] = json!(variant_id);
    }
    json!({"customer_id": 0, "status_id": 11, "external_source": "TikTok Shop", "external_order_id": "576461413000000000",
           "billing_address": {"first_name": "Jane", "last_name": "Doe", "street_1": "1 Main St", "city": "Austin", "state": "Texas",
                               "zip": "78751", "country": "United States", "country_iso2": "US", "email": "buyer@example.com"},
           "shipping_addresses": [{"first_name": "Jane", "last_name": "Doe", "street_1": "1 Main St", "city": "Austin", "state": "Texas",
                                   "zip": "78751", "country": "United States", "country_iso2": "US", "shipping_method": "TikTok Shop shipping"}],
           "products": [line], "shipping_cost_ex_tax": "5.00", "shipping_cost_inc_tax": "5.00", "payment_method": "TikTok Shop",
           "staff_notes": "TikTok order 576461413000000000"})
}

#[tokio::test]
async fn orders_validate_decrement_stock_ship_and_cancel() {
    let h = start(config()).await;
    let token = h.install("storea").await;
    let (_, _, product) = h
        .api(
            reqwest::Method::GET,
            "storea",
            "/v3/catalog/products/3?include=variants",
            &token,
            None,
        )
        .await;
    let product = product["data"].clone();
    let variant = product["variants"][0].clone();
    let stock_before = variant["inventory_level"].as_i64().unwrap();

    let (status, _, error) = h
        .api(
            reqwest::Method::POST,
            "storea",
            "/v2/orders",
            &token,
            Some(order_body(&product, None)),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        error[0]["message"].as_str().unwrap().contains("options"),
        "v2 array envelope: {error}"
    );
    let mut no_zip = order_body(&product, variant["id"].as_u64());
    no_zip["billing_address"]["zip"] = json!("");
    assert_eq!(
        h.api(reqwest::Method::POST, "storea", "/v2/orders", &token, Some(no_zip))
            .await
            .0,
        400
    );

    let (status, _, order) = h
        .api(
            reqwest::Method::POST,
            "storea",
            "/v2/orders",
            &token,
            Some(order_body(&product, variant["id"].as_u64())),
        )
        .await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(
        (order["status_id"].as_u64(), order["status"].as_str()),
        (Some(11), Some("Awaiting Fulfillment"))
    );
    assert_eq!(order["total_inc_tax"], "32.0000");
    let order_id = order["id"].as_u64().unwrap();
    let (_, _, after) = h
        .api(
            reqwest::Method::GET,
            "storea",
            &format!("/v3/catalog/variants?id:in={}", variant["id"]),
            &token,
            None,
        )
        .await;
    assert_eq!(after["data"][0]["inventory_level"].as_i64().unwrap(), stock_before - 2);

    let (_, _, found) = h
        .api(
            reqwest::Method::GET,
            "storea",
            "/v2/orders?external_order_id=576461413000000000",
            &token,
            None,
        )
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    let (status, _, _) = h
        .api(
            reqwest::Method::GET,
            "storea",
            "/v2/orders?external_order_id=nothing",
            &token,
            None,
        )
        .await;
    assert_eq!(status, 204, "empty v2 collections are 204");
    assert_eq!(
        h.api(
            reqwest::Method::GET,
            "storea",
            &format!("/v2/orders/{order_id}/shipments"),
            &token,
            None
        )
        .await
        .0,
        204
    );

    let (_, _, lines) = h
        .api(
            reqwest::Method::GET,
            "storea",
            &format!("/v2/orders/{order_id}/products"),
            &token,
            None,
        )
        .await;
    let (_, _, addresses) = h
        .api(
            reqwest::Method::GET,
            "storea",
            &format!("/v2/orders/{order_id}/shipping_addresses"),
            &token,
            None,
        )
        .await;
    let shipment = json!({"order_address_id": addresses[0]["id"], "tracking_number": "1Z999", "shipping_provider": "ups",
                          "items": [{"order_product_id": lines[0]["id"], "quantity": 1}]});
    let (status, _, created) = h
        .api(
            reqwest::Method::POST,
            "storea",
            &format!("/v2/orders/{order_id}/shipments"),
            &token,
            Some(shipment.clone()),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let (_, _, partially) = h
        .api(
            reqwest::Method::GET,
            "storea",
            &format!("/v2/orders/{order_id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(partially["status_id"], 3);
    let too_many =
        json!({"order_address_id": addresses[0]["id"], "items": [{"order_product_id": lines[0]["id"], "quantity": 5}]});
    assert_eq!(
        h.api(
            reqwest::Method::POST,
            "storea",
            &format!("/v2/orders/{order_id}/shipments"),
            &token,
            Some(too_many)
        )
        .await
        .0,
        400
    );

    let (_, _, cancelled) = h
        .api(
            reqwest::Method::PUT,
            "storea",
            &format!("/v2/orders/{order_id}"),
            &token,
            Some(json!({"status_id": 5})),
        )
        .await;
    assert_eq!(cancelled["status"], "Cancelled");
    let (_, _, restored) = h
        .api(
            reqwest::Method::GET,
            "storea",
            &format!("/v3/catalog/variants?id:in={}", variant["id"]),
            &token,
            None,
        )
        .await;
    assert_eq!(
        restored["data"][0]["inventory_level"].as_i64().unwrap(),
        stock_before,
        "cancelling restocks"
    );
    let admin: Value = h
        .http
        .get(format!("{}/sandbox/orders", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(admin[0]["products"].is_array() && admin[0]["shipping_addresses"].is_array());
}

/// A receiver that records (headers, body) of each delivery and answers the given statuses.
async fn receiver(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<(HashMap<String, String>, Value)>>>) {
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    type Shared = (Arc<Mutex<Vec<(HashMap<String, String>, Value)>>>, Arc<Mutex<Vec<u16>>>);
    let received = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .route(
            "/hooks",
            axum::routing::post(
                |State((received, statuses)): State<Shared>, headers: HeaderMap, body: String| async move {
                    let headers = headers
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
                        .collect();
                    received
                        .lock()
                        .unwrap()
                        .push((headers, serde_json::from_str(&body).unwrap_or(Value::Null)));
                    let mut statuses = statuses.lock().unwrap();
                    StatusCode::from_u16(if statuses.is_empty() { 200 } else { statuses.remove(0) }).unwrap()
                },
            ),
        )
        .with_state((received.clone(), Arc::new(Mutex::new(statuses))));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hooks"), received)
}

async fn eventually(check: impl Fn() -> bool) -> bool {
    for _ in 0..100 {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn hooks_deliver_with_custom_headers_retry_and_stay_per_account() {
    let h = start(config()).await;
    let token = h.install("storea").await;
    let (url, received) = receiver(vec![500]).await;
    let hook = json!({"scope": "store/sku/inventory/updated", "destination": url, "is_active": true, "headers": {"X-Connector-Token": "s3cret"}});
    let (status, _, created) = h
        .api(reqwest::Method::POST, "storea", "/v3/hooks", &token, Some(hook.clone()))
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        h.api(reqwest::Method::POST, "storea", "/v3/hooks", &token, Some(hook))
            .await
            .0,
        409,
        "one per scope and destination"
    );
    let bad = json!({"scope": "store/order/created", "destination": "http://example.com:8080/x"});
    let (status, _, error) = h
        .api(reqwest::Method::POST, "storea", "/v3/hooks", &token, Some(bad))
        .await;
    assert_eq!((status, error["errors"]["destination"].is_string()), (422, true));
    let account: Value = h
        .http
        .post(format!("{}/sandbox/api-accounts", h.base))
        .json(&json!({"store_hash": "storea"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (_, _, others) = h
        .api(
            reqwest::Method::GET,
            "storea",
            "/v3/hooks",
            account["access_token"].as_str().unwrap(),
            None,
        )
        .await;
    assert!(
        others["data"].as_array().unwrap().is_empty(),
        "hooks are visible to their own API account only"
    );

    let products: Value = h
        .http
        .get(format!("{}/sandbox/products?store_hash=storea", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let product = products
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["inventory_tracking"] == "variant")
        .unwrap();
    let variant_id = product["variants"][0]["id"].as_u64().unwrap();
    let answer = h
        .http
        .post(format!(
            "{}/sandbox/products/{}/stock?store_hash=storea",
            h.base, product["id"]
        ))
        .json(&json!({"variant_id": variant_id, "inventory_level": 42}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(
        eventually(|| received.lock().unwrap().len() == 2).await,
        "a 500 is retried"
    );
    let (headers, payload) = received.lock().unwrap()[1].clone();
    assert_eq!(headers["x-connector-token"], "s3cret");
    assert_eq!(payload["scope"], "store/sku/inventory/updated");
    assert_eq!(payload["producer"], "stores/storea");
    assert!(payload["store_id"].is_string());
    assert_eq!(payload["data"]["inventory"]["variant_id"], variant_id);
    assert_eq!(
        received.lock().unwrap()[0].1["hash"],
        payload["hash"],
        "re-deliveries keep the hash"
    );
}

#[tokio::test]
async fn the_load_url_carries_a_jwt_signed_with_the_client_secret() {
    use base64::Engine as _;
    use hmac::{Hmac, KeyInit, Mac};
    let h = start(config()).await;
    h.install("storea").await;
    let answer: Value = h
        .http
        .get(format!("{}/sandbox/load-url?store_hash=storea", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        answer["url"]
            .as_str()
            .unwrap()
            .starts_with("https://app.example.com/bigcommerce/load?signed_payload_jwt=")
    );
    let jwt = answer["signed_payload_jwt"].as_str().unwrap();
    let (signed, signature) = jwt.rsplit_once('.').unwrap();
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(b"csecret").unwrap();
    mac.update(signed.as_bytes());
    assert_eq!(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(signature)
            .unwrap(),
        mac.finalize().into_bytes().to_vec()
    );
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(signed.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (claims["aud"].as_str(), claims["iss"].as_str(), claims["sub"].as_str()),
        (Some("cid"), Some("bc"), Some("stores/storea"))
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["nbf"].as_i64().unwrap(),
        86_400
    );
}

/// A product of `storea` with its variants (v3 shape).
async fn with_variants(h: &Harness, token: &str, product_id: u64) -> Value {
    let path = format!("/v3/catalog/products/{product_id}?include=variants");
    h.api(reqwest::Method::GET, "storea", &path, token, None).await.2["data"].clone()
}

/// The catalog stock of a product (tracked by product) or of one of its variants.
async fn stock(h: &Harness, token: &str, product_id: u64, variant_id: Option<u64>) -> i64 {
    let path = format!("/v3/catalog/products/{product_id}?include=variants");
    let (_, _, product) = h.api(reqwest::Method::GET, "storea", &path, token, None).await;
    let product = &product["data"];
    match variant_id {
        None => product["inventory_level"].as_i64().unwrap(),
        Some(id) => product["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == id)
            .unwrap()["inventory_level"]
            .as_i64()
            .unwrap(),
    }
}

/// A shopper's order through the admin route; its id.
async fn storefront_order(h: &Harness, line: Value) -> u64 {
    let answer = h
        .http
        .post(format!("{}/sandbox/orders?store_hash=storea", h.base))
        .json(&json!({"products": [line]}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    let order: Value = answer.json().await.unwrap();
    assert_eq!(
        (order["status_id"].as_u64(), order["channel_id"].as_u64()),
        (Some(11), Some(1))
    );
    order["id"].as_u64().unwrap()
}

#[tokio::test]
async fn orders_move_stock_by_the_inventory_settings_and_fire_the_order_inventory_hooks() {
    let h = start(config()).await;
    let token = h.install("storea").await;
    let (url, received) = receiver(vec![]).await;
    for scope in [
        "store/product/inventory/order/updated",
        "store/sku/inventory/order/updated",
    ] {
        let hook = json!({"scope": scope, "destination": url, "is_active": true});
        assert_eq!(
            h.api(reqwest::Method::POST, "storea", "/v3/hooks", &token, Some(hook))
                .await
                .0,
            200
        );
    }
    let (status, _, settings) = h
        .api(reqwest::Method::GET, "storea", "/v3/settings/inventory", &token, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            &settings["data"]["update_stock_behavior"],
            &settings["data"]["refund_order_stock_adjustment"]
        ),
        (&json!("order_placed"), &json!(true)),
        "BigCommerce's defaults"
    );

    // Default settings: placing takes the units, cancelling gives them back.
    h.http
        .post(format!("{}/sandbox/products/1/stock?store_hash=storea", h.base))
        .json(&json!({"inventory_level": 17}))
        .send()
        .await
        .unwrap();
    let order = storefront_order(&h, json!({"product_id": 1, "quantity": 2})).await;
    assert_eq!(stock(&h, &token, 1, None).await, 15);
    assert!(eventually(|| received.lock().unwrap().len() == 1).await);
    let (_, taken) = received.lock().unwrap()[0].clone();
    assert_eq!(taken["scope"], "store/product/inventory/order/updated");
    assert_eq!(
        taken["data"],
        json!({"type": "product", "id": 1, "inventory": {"product_id": 1, "method": "relative", "value": -2}})
    );
    h.http
        .post(format!("{}/sandbox/orders/{order}/cancel", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(stock(&h, &token, 1, None).await, 17, "cancelling restores the stock");
    assert!(eventually(|| received.lock().unwrap().len() == 2).await);
    assert_eq!(received.lock().unwrap()[1].1["data"]["inventory"]["value"], 2);

    // Stock taken on shipment, and kept on refund.
    let change = json!({"update_stock_behavior": "order_completed_or_shipped", "refund_order_stock_adjustment": false});
    let (status, _, _) = h
        .api(
            reqwest::Method::PUT,
            "storea",
            "/v3/settings/inventory",
            &token,
            Some(change),
        )
        .await;
    assert_eq!(status, 200);
    // A real setting the sandbox does not model is accepted and changes no stock rule.
    let unmodelled = json!({"stock_level_display": "show"});
    let (status, _, settings) = h
        .api(
            reqwest::Method::PUT,
            "storea",
            "/v3/settings/inventory",
            &token,
            Some(unmodelled),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(settings["data"]["update_stock_behavior"], "order_completed_or_shipped");
    let product = with_variants(&h, &token, 3).await;
    let variant = product["variants"][1]["id"].as_u64().unwrap();
    let before = stock(&h, &token, 3, Some(variant)).await;
    let order = storefront_order(&h, json!({"product_id": 3, "variant_id": variant, "quantity": 1})).await;
    assert_eq!(
        stock(&h, &token, 3, Some(variant)).await,
        before,
        "not taken when placed"
    );
    let shipped = h
        .http
        .post(format!("{}/sandbox/orders/{order}/shipments", h.base))
        .json(&json!({"tracking_number": "1Z1", "shipping_provider": "ups"}))
        .send()
        .await
        .unwrap();
    assert_eq!(shipped.status(), 201);
    assert_eq!(
        stock(&h, &token, 3, Some(variant)).await,
        before - 1,
        "taken when shipped"
    );
    assert!(eventually(|| received.lock().unwrap().len() == 3).await);
    let (_, taken) = received.lock().unwrap()[2].clone();
    assert_eq!(taken["scope"], "store/sku/inventory/order/updated");
    assert_eq!(
        taken["data"]["inventory"],
        json!({"product_id": 3, "variant_id": variant, "method": "relative", "value": -1})
    );
    let path = format!("/v2/orders/{order}");
    let refund = json!({"status_id": 4});
    assert_eq!(
        h.api(reqwest::Method::PUT, "storea", &path, &token, Some(refund))
            .await
            .0,
        200
    );
    assert_eq!(
        stock(&h, &token, 3, Some(variant)).await,
        before - 1,
        "refunds keep the stock when the setting is off"
    );
}

#[tokio::test]
async fn deliveries_are_signed_with_the_secret_of_the_account_that_created_the_hook() {
    use base64::Engine as _;
    use hmac::{Hmac, KeyInit, Mac};
    let h = start(config()).await;
    let app_token = h.install("storea").await;
    let account: Value = h
        .http
        .post(format!("{}/sandbox/api-accounts", h.base))
        .json(&json!({"store_hash": "storea"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let account_secret = account["client_secret"].as_str().unwrap().to_string();
    assert!(!account_secret.is_empty() && account_secret != "csecret");
    let (url, received) = receiver(vec![]).await;
    for (token, marker) in [
        (app_token.as_str(), "app"),
        (account["access_token"].as_str().unwrap(), "account"),
    ] {
        let hook = json!({"scope": "store/product/updated", "destination": format!("{url}?by={marker}"), "headers": {"X-By": marker}});
        assert_eq!(
            h.api(reqwest::Method::POST, "storea", "/v3/hooks", token, Some(hook))
                .await
                .0,
            200
        );
    }
    h.http
        .post(format!("{}/sandbox/products/2?store_hash=storea", h.base))
        .json(&json!({"price": 12.0}))
        .send()
        .await
        .unwrap();
    assert!(eventually(|| received.lock().unwrap().len() == 2).await);
    for (headers, body) in received.lock().unwrap().clone() {
        let key = if headers["x-by"] == "app" {
            "csecret"
        } else {
            account_secret.as_str()
        };
        // Computed here with HMAC-SHA256 by hand: Standard Webhooks over the body (the
        // sandbox sends compact JSON with sorted keys, so re-encoding gives its exact bytes).
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(format!("{}.{}.{}", headers["webhook-id"], headers["webhook-timestamp"], body).as_bytes());
        let expected = format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        );
        assert_eq!(headers["webhook-signature"], expected, "signed by {}", headers["x-by"]);
        let sent_at: i64 = headers["webhook-timestamp"].parse().unwrap();
        assert!((connector::storage::unix_now() - sent_at).abs() < 60);
        use sha1::Digest as _;
        assert_eq!(
            body["hash"].as_str().unwrap(),
            hex::encode(sha1::Sha1::digest(body["data"].to_string())),
            "hash is the SHA-1 of data"
        );
    }
}

/// A hook on each of `scopes` delivering to a new receiver.
async fn hooks_on(h: &Harness, token: &str, scopes: &[&str]) -> Arc<Mutex<Vec<(HashMap<String, String>, Value)>>> {
    let (url, received) = receiver(vec![]).await;
    for scope in scopes {
        let hook = json!({"scope": scope, "destination": url, "is_active": true});
        let (status, _, _) = h
            .api(reqwest::Method::POST, "storea", "/v3/hooks", token, Some(hook))
            .await;
        assert_eq!(status, 200);
    }
    received
}

#[tokio::test]
async fn refunds_are_quoted_checked_against_what_is_left_and_recorded() {
    let h = start(config()).await;
    let token = h.install("storea").await;
    let received = hooks_on(&h, &token, &["store/order/refund/created"]).await;
    let post = async |path: String, body: Value| {
        let (status, _, answer) = h.api(reqwest::Method::POST, "storea", &path, &token, Some(body)).await;
        (status, answer)
    };
    let get = async |path: String| h.api(reqwest::Method::GET, "storea", &path, &token, None).await.2;
    let (_, order) = post("/v2/orders".into(), order_body(&json!({"id": 1}), None)).await;
    let id = order["id"].as_u64().unwrap();
    assert_eq!(order["total_inc_tax"], "32.0000", "2 × 13.50 + 5.00 shipping");
    let lines = get(format!("/v2/orders/{id}/products")).await;
    let line = lines[0]["id"].as_u64().unwrap();
    let quotes = format!("/v3/orders/{id}/payment_actions/refund_quotes");
    let refunds = format!("/v3/orders/{id}/payment_actions/refunds");
    let one_unit = json!([{"item_type": "PRODUCT", "item_id": line, "quantity": 1}]);

    let (status, quote) = post(quotes.clone(), json!({"items": one_unit})).await;
    assert_eq!(status, 200, "{quote}");
    assert_eq!(
        (
            &quote["data"]["order_id"],
            &quote["data"]["total_refund_amount"],
            &quote["data"]["is_tax_included"]
        ),
        (&json!(id), &json!(13.5), &json!(true))
    );
    let method = &quote["data"]["refund_methods"][0][0];
    assert_eq!(
        (&method["provider_id"], &method["amount"], &method["offline"]),
        (&json!("custom"), &json!(13.5), &json!(true))
    );
    for (items, why) in [
        (
            json!([{"item_type": "PRODUCT", "item_id": line, "quantity": 3}]),
            "3 of 2 units",
        ),
        (
            json!([{"item_type": "PRODUCT", "item_id": line, "amount": 27.01}]),
            "more than the line",
        ),
        (
            json!([{"item_type": "PRODUCT", "item_id": line + 7, "quantity": 1}]),
            "a line of no order",
        ),
        (
            json!([{"item_type": "ORDER", "item_id": id, "amount": 32.01}]),
            "more than the order",
        ),
        (
            json!([{"item_type": "ORDER", "item_id": id, "amount": 20}, {"item_type": "PRODUCT", "item_id": line, "quantity": 1}]),
            "together more than the order",
        ),
        (json!([]), "no items"),
    ] {
        let (status, error) = post(quotes.clone(), json!({"items": items})).await;
        assert_eq!(status, 422, "{why}: {error}");
        assert_eq!(error["status"], 422);
        assert!(
            error["title"].is_string() && error["errors"].is_object(),
            "v3 envelope: {error}"
        );
    }
    assert_eq!(
        post(
            "/v3/orders/999999/payment_actions/refund_quotes".into(),
            json!({"items": one_unit})
        )
        .await
        .0,
        404
    );

    let pay = |amount: f64, provider: &str| json!([{"provider_id": provider, "amount": amount, "offline": true}]);
    for (payments, why) in [
        (pay(13.0, "custom"), "payments short of the items"),
        (pay(13.5, "stripe"), "a provider the quote does not offer"),
        (json!([]), "no payments"),
    ] {
        let (status, error) = post(refunds.clone(), json!({"items": one_unit, "payments": payments})).await;
        assert_eq!(status, 422, "{why}: {error}");
    }
    let (status, refund) = post(
        refunds.clone(),
        json!({"items": one_unit, "payments": pay(13.5, "custom")}),
    )
    .await;
    assert_eq!(status, 201, "{refund}");
    let refund = &refund["data"];
    assert_eq!(
        (
            &refund["order_id"],
            &refund["total_amount"],
            &refund["payments"][0]["is_declined"]
        ),
        (&json!(id), &json!(13.5), &json!(false))
    );
    let order = get(format!("/v2/orders/{id}")).await;
    assert_eq!(
        (&order["refunded_amount"], &order["status_id"]),
        (&json!("13.5000"), &json!(11)),
        "a refund leaves the status to the app"
    );
    let lines = get(format!("/v2/orders/{id}/products")).await;
    assert_eq!(
        (
            &lines[0]["quantity_refunded"],
            &lines[0]["is_refunded"],
            &lines[0]["refund_amount"]
        ),
        (&json!(1), &json!(false), &json!("13.5000"))
    );
    let two_units = json!([{"item_type": "PRODUCT", "item_id": line, "quantity": 2}]);
    assert_eq!(
        post(quotes.clone(), json!({"items": two_units})).await.0,
        422,
        "one unit is left"
    );
    let rest = json!([{"item_type": "ORDER", "item_id": id, "amount": 18.5}]);
    let (status, _) = post(refunds.clone(), json!({"items": rest, "payments": pay(18.5, "custom")})).await;
    assert_eq!(status, 201);
    let cent = json!([{"item_type": "ORDER", "item_id": id, "amount": 0.01}]);
    assert_eq!(post(quotes, json!({"items": cent})).await.0, 422, "all refunded");
    let (status, _, listed) = h.api(reqwest::Method::GET, "storea", &refunds, &token, None).await;
    assert_eq!(status, 200);
    let totals: Vec<&Value> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["total_amount"])
        .collect();
    assert_eq!(totals, [&json!(13.5), &json!(18.5)]);
    assert!(eventually(|| received.lock().unwrap().len() == 2).await);
    let (_, hook) = received.lock().unwrap()[0].clone();
    assert_eq!(
        hook["data"],
        json!({"type": "order", "id": id, "refund": {"refund_id": refund["id"]}})
    );
}

#[tokio::test]
async fn relative_adjustments_move_stock_by_signed_changes_all_or_nothing() {
    let h = start(config()).await;
    let token = h.install("storea").await;
    let received = hooks_on(
        &h,
        &token,
        &["store/product/inventory/updated", "store/sku/inventory/updated"],
    )
    .await;
    let adjust = async |items: Value| {
        let body = json!({"reason": "Returned by the buyer", "items": items});
        let (status, _, answer) = h
            .api(
                reqwest::Method::POST,
                "storea",
                "/v3/inventory/adjustments/relative",
                &token,
                Some(body),
            )
            .await;
        (status, answer)
    };
    let product_stock = stock(&h, &token, 1, None).await;
    let (status, answer) = adjust(json!([{"location_id": 1, "product_id": 1, "quantity": 3}])).await;
    assert_eq!(status, 200, "seeded stock counts as set: {answer}");
    assert!(answer["transaction_id"].is_string());
    assert_eq!(stock(&h, &token, 1, None).await, product_stock + 3);
    assert!(eventually(|| received.lock().unwrap().len() == 1).await);
    assert_eq!(
        received.lock().unwrap()[0].1["data"],
        json!({"type": "product", "id": 1, "inventory": {"product_id": 1, "method": "relative", "value": 3}})
    );

    let product = with_variants(&h, &token, 3).await;
    let variant = product["variants"][0]["id"].as_u64().unwrap();
    let sku = product["variants"][0]["sku"].clone();
    let variant_stock = stock(&h, &token, 3, Some(variant)).await;
    let (status, _) = adjust(json!([{"location_id": 1, "variant_id": variant, "quantity": -2},
                                   {"location_id": 1, "sku": sku, "quantity": 1}]))
    .await;
    assert_eq!(status, 200);
    assert_eq!(stock(&h, &token, 3, Some(variant)).await, variant_stock - 1);
    assert!(eventually(|| received.lock().unwrap().len() == 2).await);
    let (_, hook) = received.lock().unwrap()[1].clone();
    assert_eq!(hook["scope"], "store/sku/inventory/updated");
    assert_eq!(
        hook["data"]["inventory"],
        json!({"product_id": 3, "variant_id": variant, "method": "relative", "value": -1}),
        "one change per stock"
    );

    let base_variant = with_variants(&h, &token, 1).await["variants"][0]["id"].clone();
    let below_zero = -(product_stock + 5);
    for (items, why) in [
        (
            json!([{"location_id": 1, "product_id": 1, "quantity": 1},
                   {"location_id": 1, "product_id": 1, "quantity": below_zero}]),
            "below zero, and the valid item is not applied either",
        ),
        (
            json!([{"location_id": 1, "variant_id": base_variant, "quantity": 1}]),
            "tracked by product",
        ),
        (
            json!([{"location_id": 2, "product_id": 1, "quantity": 1}]),
            "unknown location",
        ),
        (
            json!([{"location_id": 1, "product_id": 1, "quantity": "1"}]),
            "a quantity that is not a whole number",
        ),
    ] {
        let (status, error) = adjust(items).await;
        assert_eq!(status, 422, "{why}: {error}");
    }
    assert_eq!(stock(&h, &token, 1, None).await, product_stock + 3);

    let marked = h
        .http
        .post(format!("{}/sandbox/products/2/stock?store_hash=storea", h.base))
        .json(&json!({"inventory_level": 4, "absolute_set": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(marked.status(), 200);
    let item = json!([{"location_id": 1, "product_id": 2, "quantity": 1}]);
    let (status, error) = adjust(item.clone()).await;
    assert_eq!(status, 422);
    assert!(
        error["title"]
            .as_str()
            .unwrap()
            .contains("requires absolute adjustment before relative"),
        "{error}"
    );
    let absolute = json!({"items": [{"location_id": 1, "product_id": 2, "quantity": 4}]});
    let (status, _, _) = h
        .api(
            reqwest::Method::PUT,
            "storea",
            "/v3/inventory/adjustments/absolute",
            &token,
            Some(absolute),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(adjust(item).await.0, 200);
    assert_eq!(stock(&h, &token, 2, None).await, 5);
}
