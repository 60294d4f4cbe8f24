//! The sandbox against the reference (`tiktok-shop-api.md`), with raw HTTP and an
//! independent signer: what it refuses, what it answers, and how it behaves.

mod common;

use std::time::Duration;

use common::*;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

async fn harness_with_token() -> (Harness, String, Vec<Value>) {
    let harness = start(config()).await;
    let token = harness.token().await;
    let shops = harness.shops().await;
    (harness, token, shops)
}

fn cipher(shop: &Value) -> (&'static str, String) {
    ("shop_cipher", shop["cipher"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn a_correctly_signed_call_succeeds_and_a_bad_signature_gets_401_106001() {
    let (h, token, _) = harness_with_token().await;
    let answer = h
        .call(Method::GET, "/authorization/202309/shops", &token, &[], None)
        .await;
    assert_eq!((answer.status, answer.code()), (200, 0), "{}", answer.body);
    assert_eq!(answer.body["data"]["shops"].as_array().unwrap().len(), 2);
    assert!(answer.body["request_id"].as_str().is_some_and(|r| !r.is_empty()));

    let query = vec![
        ("app_key", APP_KEY.to_string()),
        ("timestamp", now().to_string()),
        ("sign", "0".repeat(64)),
    ];
    let answer = h
        .send(
            Method::GET,
            "/authorization/202309/shops",
            &token,
            &query,
            String::new(),
        )
        .await;
    assert_eq!((answer.status, answer.code()), (401, 106001));
}

#[tokio::test]
async fn the_body_is_part_of_the_signature() {
    let (h, token, shops) = harness_with_token().await;
    let path = "/order/202309/orders/search";
    let mut query = vec![
        ("app_key", APP_KEY.to_string()),
        ("timestamp", now().to_string()),
        cipher(&shops[0]),
        ("page_size", "10".to_string()),
    ];
    let signed_without_body = reference_sign(path, &query, "");
    query.push(("sign", signed_without_body));
    let answer = h
        .send(
            Method::POST,
            path,
            &token,
            &query,
            json!({"order_status": "UNPAID"}).to_string(),
        )
        .await;
    assert_eq!(
        answer.code(),
        106001,
        "signing without the body must fail: {}",
        answer.body
    );
}

#[tokio::test]
async fn stale_timestamps_and_unknown_or_expired_tokens_are_refused() {
    let (h, token, _) = harness_with_token().await;
    let path = "/authorization/202309/shops";
    let mut query = vec![
        ("app_key", APP_KEY.to_string()),
        ("timestamp", (now() - 301).to_string()),
    ];
    let sign = reference_sign(path, &query, "");
    query.push(("sign", sign));
    let answer = h.send(Method::GET, path, &token, &query, String::new()).await;
    assert_eq!(answer.code(), 36009004);
    assert!(answer.body["message"].as_str().unwrap().contains("timestamp"));

    assert_eq!(
        h.call(Method::GET, path, "TTP_not_a_token", &[], None).await.code(),
        36009004
    );
    h.admin(Method::POST, "/sandbox/tokens/expire", json!({})).await;
    assert_eq!(h.call(Method::GET, path, &token, &[], None).await.code(), 105002);
}

#[tokio::test]
async fn shop_cipher_is_refused_where_forbidden_and_required_elsewhere() {
    let (h, token, shops) = harness_with_token().await;
    let answer = h
        .call(
            Method::GET,
            "/authorization/202309/shops",
            &token,
            &[cipher(&shops[0])],
            None,
        )
        .await;
    assert_eq!(answer.code(), 36009004);
    assert!(answer.body["message"].as_str().unwrap().contains("shop_cipher"));
    assert_eq!(
        h.call(Method::GET, "/logistics/202309/warehouses", &token, &[], None)
            .await
            .code(),
        106013
    );
    let foreign = [("shop_cipher", "GCP_someone_else".to_string())];
    assert_eq!(
        h.call(Method::GET, "/logistics/202309/warehouses", &token, &foreign, None)
            .await
            .code(),
        101000
    );
    let answer = h
        .call(
            Method::GET,
            "/logistics/202309/warehouses",
            &token,
            &[cipher(&shops[0])],
            None,
        )
        .await;
    assert_eq!(answer.code(), 0);
    assert!(answer.body["data"]["warehouses"][0]["id"].is_string());
}

#[tokio::test]
async fn a_duplicated_content_type_is_refused_with_36009022() {
    let (h, token, _) = harness_with_token().await;
    let path = "/authorization/202309/shops";
    let mut query = vec![("app_key", APP_KEY.to_string()), ("timestamp", now().to_string())];
    let sign = reference_sign(path, &query, "");
    query.push(("sign", sign));
    let url = reqwest::Url::parse_with_params(&format!("{}{path}", h.base), &query).unwrap();
    let answer: Value = h
        .http
        .get(url)
        .header("content-type", "application/json")
        .header("content-type", "application/json")
        .header("x-tts-access-token", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["code"], 36009022);
}

#[tokio::test]
async fn more_than_50_requests_a_second_on_one_endpoint_get_429_36009002() {
    let (h, token, shops) = harness_with_token().await;
    let shop_cipher = [cipher(&shops[0])];
    let calls = (0..70).map(|_| h.call(Method::GET, "/logistics/202309/warehouses", &token, &shop_cipher, None));
    let answers = futures_util::future::join_all(calls).await;
    let throttled: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    assert!(!throttled.is_empty(), "70 calls at once must exceed 50 per second");
    assert!(throttled.iter().all(|a| a.code() == 36009002));
    assert!(answers.iter().filter(|a| a.code() == 0).count() <= 50);
    // Another shop and another endpoint have their own budgets.
    assert_eq!(
        h.call(
            Method::GET,
            "/logistics/202309/warehouses",
            &token,
            &[cipher(&shops[1])],
            None
        )
        .await
        .code(),
        0
    );
    assert_eq!(
        h.call(
            Method::GET,
            "/product/202309/categories",
            &token,
            &[cipher(&shops[0]), ("category_version", "v2".into())],
            None
        )
        .await
        .code(),
        0
    );
}

#[tokio::test]
async fn orders_page_with_opaque_tokens_and_details_take_at_most_50_ids() {
    let (h, token, shops) = harness_with_token().await;
    let shop_id = shops[0]["id"].as_str().unwrap();
    for i in 0..3 {
        let order = json!({"shop_id": shop_id, "id": format!("57646141303878575{i}"), "status": "AWAITING_SHIPMENT",
                           "line_items": [{"sku_id": "2729382476852921560", "seller_sku": "RED-M", "sale_price": "8.50"}]});
        assert!(h.admin(Method::POST, "/sandbox/orders", order).await["order_id"].is_string());
    }
    let mut ids = Vec::new();
    let mut page_token: Option<String> = None;
    loop {
        let mut query = vec![cipher(&shops[0]), ("page_size", "1".to_string())];
        if let Some(token) = &page_token {
            assert!(
                token.contains('+') && token.contains('='),
                "opaque tokens carry + and =: {token}"
            );
            query.push(("page_token", token.clone()));
        }
        let answer = h
            .call(
                Method::POST,
                "/order/202309/orders/search",
                &token,
                &query,
                Some(json!({})),
            )
            .await;
        assert_eq!(answer.code(), 0, "{}", answer.body);
        ids.extend(
            answer.body["data"]["orders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_string()),
        );
        match answer.body["data"]["next_page_token"]
            .as_str()
            .filter(|t| !t.is_empty())
        {
            Some(next) => page_token = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(ids.len(), 3);
    let detail = h
        .call(
            Method::GET,
            "/order/202309/orders",
            &token,
            &[cipher(&shops[0]), ("ids", ids.join(","))],
            None,
        )
        .await;
    assert_eq!(detail.body["data"]["orders"].as_array().unwrap().len(), 3);
    assert!(
        detail.body["data"]["orders"][0]["line_items"][0]["id"].is_string(),
        "line items get ids"
    );
    let too_many = (0..51).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    assert_ne!(
        h.call(
            Method::GET,
            "/order/202309/orders",
            &token,
            &[cipher(&shops[0]), ("ids", too_many)],
            None
        )
        .await
        .code(),
        0
    );
    let other_shop = h
        .call(
            Method::GET,
            "/order/202309/orders",
            &token,
            &[cipher(&shops[1]), ("ids", ids.join(","))],
            None,
        )
        .await;
    assert!(
        other_shop.body["data"]["orders"].as_array().unwrap().is_empty(),
        "orders never leak across shops"
    );
}

/// Uploads `bytes` as Upload Product Image does (multipart, unsigned body); the answer.
async fn upload_bytes(h: &Harness, token: &str, bytes: Vec<u8>, use_case: &str) -> Value {
    let path = "/product/202309/images/upload";
    let mut query = vec![("app_key", APP_KEY.to_string()), ("timestamp", now().to_string())];
    let sign = reference_sign(path, &query, "");
    query.push(("sign", sign));
    let url = reqwest::Url::parse_with_params(&format!("{}{path}", h.base), &query).unwrap();
    let form = reqwest::multipart::Form::new()
        .part("data", reqwest::multipart::Part::bytes(bytes).file_name("a.png"))
        .text("use_case", use_case.to_string());
    h.http
        .post(url)
        .header("x-tts-access-token", token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Uploads an 800×800 main image; its uri.
async fn upload(h: &Harness, token: &str) -> String {
    let answer = upload_bytes(h, token, png(800, 800), "MAIN_IMAGE").await;
    assert_eq!(answer["code"], 0, "{answer}");
    answer["data"]["uri"].as_str().unwrap().to_string()
}

fn product_body(shop: &Value, title: &str, uri: &str, seller_sku: &str) -> Value {
    let warehouse = shop["warehouses"][0]["id"].clone();
    json!({"title": title, "description": "<p>A cotton dress</p>", "category_id": "600010", "category_version": "v2",
           "main_images": [{"uri": uri}], "package_weight": {"value": "0.5", "unit": "KILOGRAM"},
           "size_chart": {"image": {"uri": uri}},
           "product_attributes": [{"id": "100392", "values": [{"id": "1001533"}]}],
           "skus": [{"seller_sku": seller_sku, "sales_attributes": [{"id": "100000", "value_name": "Red"}],
                     "price": {"amount": "19.99", "currency": shop["currency"]},
                     "inventory": [{"warehouse_id": warehouse, "quantity": 10}]}]})
}

#[tokio::test]
async fn a_created_product_is_reviewed_notified_and_then_takes_stock_updates() {
    let receiver = receiver(vec![]).await;
    let mut config = config();
    config.default_webhook_url = Some(receiver.url.clone());
    let h = start(config).await;
    let token = h.token().await;
    let shops = h.shops().await;
    let uri = upload(&h, &token).await;
    let created = h
        .call(
            Method::POST,
            "/product/202309/products",
            &token,
            &[cipher(&shops[0])],
            Some(product_body(&shops[0], "Cotton dress", &uri, "DRESS-RED")),
        )
        .await;
    assert_eq!(created.code(), 0, "{}", created.body);
    let product_id = created.body["data"]["product_id"].as_str().unwrap().to_string();
    let sku_id = created.body["data"]["skus"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(product_id.len(), 19);

    let status = |h: &Harness| {
        let h = h.sandbox.clone();
        let id = product_id.clone();
        move || h.lock().products[&id]["status"] == "ACTIVATE"
    };
    assert!(eventually(status(&h)).await, "review ends in ACTIVATE");
    assert!(
        eventually(|| !receiver.received.lock().unwrap().is_empty()).await,
        "PRODUCT_STATUS_CHANGE delivered"
    );
    let (signature, body) = receiver.received.lock().unwrap()[0].clone();
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(format!("{APP_KEY}{body}").as_bytes());
    assert_eq!(
        signature,
        hex::encode(mac.finalize().into_bytes()),
        "signed as reference §4.2"
    );
    let delivered: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(delivered["type"], 5);
    assert!(
        delivered["data"]["product_id"].is_u64(),
        "product_id is a JSON number as in TikTok's sample"
    );
    assert!(body.contains(&product_id), "all 19 digits survive in the raw body");

    let warehouse = shops[0]["warehouses"][0]["id"].clone();
    let update = json!({"skus": [{"id": sku_id, "inventory": [{"warehouse_id": warehouse, "quantity": 7}]},
                                 {"id": "1", "inventory": [{"warehouse_id": warehouse, "quantity": 1}]}]});
    let answer = h
        .call(
            Method::POST,
            &format!("/product/202309/products/{product_id}/inventory/update"),
            &token,
            &[cipher(&shops[0])],
            Some(update),
        )
        .await;
    assert_eq!(answer.code(), 0);
    assert_eq!(
        answer.body["data"]["errors"][0]["code"], 12052556,
        "unknown SKU reported per item"
    );
    let products = h.admin(Method::GET, "/sandbox/products", Value::Null).await;
    let stored = products
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == product_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(stored["skus"][0]["inventory"][0]["quantity"], 7);
    assert_eq!(stored["skus"][0]["seller_sku"], "DRESS-RED");
}

#[tokio::test]
async fn invalid_products_get_every_reason_and_the_daily_limit_is_enforced() {
    let mut config = config();
    config.daily_listing_limit = 1;
    let h = start(config).await;
    let token = h.token().await;
    let shops = h.shops().await;
    let uri = upload(&h, &token).await;
    let mut invalid = product_body(&shops[0], "", "tos-never-uploaded", "HAS SPACE");
    invalid.as_object_mut().unwrap().remove("package_weight");
    invalid.as_object_mut().unwrap().remove("product_attributes");
    let answer = h
        .call(
            Method::POST,
            "/product/202309/products",
            &token,
            &[cipher(&shops[0])],
            Some(invalid),
        )
        .await;
    assert_ne!(answer.code(), 0);
    let message = answer.body["message"].as_str().unwrap();
    for reason in ["title", "not uploaded", "package_weight", "100392", "seller_sku"] {
        assert!(message.contains(reason), "{reason} missing from {message}");
    }
    let first = h
        .call(
            Method::POST,
            "/product/202309/products",
            &token,
            &[cipher(&shops[0])],
            Some(product_body(&shops[0], "Dress one", &uri, "D1")),
        )
        .await;
    assert_eq!(first.code(), 0);
    let second = h
        .call(
            Method::POST,
            "/product/202309/products",
            &token,
            &[cipher(&shops[0])],
            Some(product_body(&shops[0], "Dress two", &uri, "D2")),
        )
        .await;
    assert_eq!(second.code(), 12052093);
}

#[tokio::test]
async fn a_rejected_review_is_failed_with_a_reason() {
    let (h, token, shops) = harness_with_token().await;
    let uri = upload(&h, &token).await;
    let created = h
        .call(
            Method::POST,
            "/product/202309/products",
            &token,
            &[cipher(&shops[0])],
            Some(product_body(&shops[0], "Miracle dress [reject]", &uri, "D9")),
        )
        .await;
    let id = created.body["data"]["product_id"].as_str().unwrap().to_string();
    let sandbox = h.sandbox.clone();
    assert!(eventually(|| sandbox.lock().products[&id]["status"] == "FAILED").await);
    let product = h
        .call(
            Method::GET,
            &format!("/product/202309/products/{id}"),
            &token,
            &[cipher(&shops[0])],
            None,
        )
        .await;
    assert_eq!(product.body["data"]["status"], "FAILED");
    assert!(product.body["data"]["audit_failed_reasons"][0]["reasons"][0].is_string());
}

#[tokio::test]
async fn webhooks_are_retried_on_failure_and_redelivered_with_the_same_id() {
    let receiver = receiver(vec![500]).await;
    let mut config = config();
    config.default_webhook_url = Some(receiver.url.clone());
    let h = start(config).await;
    let shops = h.shops().await;
    let order = json!({"shop_id": shops[0]["id"], "status": "AWAITING_SHIPMENT", "line_items": [{"sku_id": "1"}]});
    let order_id = h.admin(Method::POST, "/sandbox/orders", order).await["order_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        eventually(|| receiver.received.lock().unwrap().len() == 2).await,
        "a 500 is retried"
    );
    h.admin(Method::POST, &format!("/sandbox/orders/{order_id}/notify"), json!({}))
        .await;
    assert!(eventually(|| receiver.received.lock().unwrap().len() == 3).await);
    let bodies: Vec<Value> = receiver
        .received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| serde_json::from_str(b).unwrap())
        .collect();
    assert!(
        bodies
            .iter()
            .all(|b| b["tts_notification_id"] == bodies[0]["tts_notification_id"]),
        "same notification id"
    );
    h.admin(
        Method::POST,
        &format!("/sandbox/orders/{order_id}/status"),
        json!({"status": "CANCELLED"}),
    )
    .await;
    assert!(eventually(|| receiver.received.lock().unwrap().len() == 4).await);
    let last: Value = serde_json::from_str(&receiver.received.lock().unwrap()[3].1).unwrap();
    assert_eq!(last["data"]["order_status"], "CANCEL", "the webhook spells it CANCEL");
    assert_ne!(last["tts_notification_id"], bodies[0]["tts_notification_id"]);
}

#[tokio::test]
async fn injected_faults_answer_5xx_and_latency() {
    let (h, token, _) = harness_with_token().await;
    h.admin(Method::POST, "/sandbox/faults", json!({"error_share": 1.0}))
        .await;
    let answer = h
        .call(Method::GET, "/authorization/202309/shops", &token, &[], None)
        .await;
    assert!(answer.status == 500 || answer.status == 503, "{}", answer.status);
    h.admin(Method::POST, "/sandbox/faults", json!({"latency_ms": 300}))
        .await;
    let started = std::time::Instant::now();
    assert_eq!(
        h.call(Method::GET, "/authorization/202309/shops", &token, &[], None)
            .await
            .code(),
        0
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn injected_rate_limits_are_answered_as_tiktok_does_and_counted() {
    let (h, token, _) = harness_with_token().await;
    h.admin(Method::POST, "/sandbox/faults", json!({"rate_limit_share": 1.0}))
        .await;
    let answer = h
        .call(Method::GET, "/authorization/202309/shops", &token, &[], None)
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (429, 36009002),
        "TikTok's rate-limit envelope"
    );
    assert!(answer.body["request_id"].is_string());

    let faults = h.admin(Method::GET, "/sandbox/faults", Value::Null).await;
    assert_eq!(faults["injected"]["429"], 1);
    assert_eq!(faults["rate_limit_share"], 1.0, "the faults in force");
    let refused = reqwest::Client::new()
        .post(format!("{}/sandbox/faults", h.base))
        .json(&json!({"error_share": 0.7, "timeout_share": 0.7}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400, "shares adding up past 1 are refused");
}

#[tokio::test]
async fn injected_webhook_faults_duplicate_or_drop_notifications_the_same_way_for_the_same_seed() {
    let receiver = receiver(vec![]).await;
    let mut config = config();
    config.default_webhook_url = Some(receiver.url.clone());
    let h = start(config).await;
    let shops = h.shops().await;
    h.admin(
        Method::POST,
        "/sandbox/faults",
        json!({"duplicate_share": 1.0, "reorder_share": 1.0, "reorder_ms": 200, "seed": 3}),
    )
    .await;
    let order = json!({"shop_id": shops[0]["id"], "status": "AWAITING_SHIPMENT", "line_items": [{"sku_id": "1"}]});
    h.admin(Method::POST, "/sandbox/orders", order.clone()).await;
    assert!(
        eventually(|| receiver.received.lock().unwrap().len() == 2).await,
        "delivered twice"
    );
    h.admin(Method::POST, "/sandbox/faults", json!({"drop_webhook_share": 1.0}))
        .await;
    h.admin(Method::POST, "/sandbox/orders", order).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.received.lock().unwrap().len(),
        2,
        "the dropped one never arrives"
    );
    let injected = &h.admin(Method::GET, "/sandbox/faults", Value::Null).await["injected"];
    assert_eq!(
        (
            &injected["duplicate_webhook"],
            &injected["reordered_webhook"],
            &injected["dropped_webhook"]
        ),
        (&json!(1), &json!(1), &json!(1))
    );
}

#[tokio::test]
async fn shipping_and_seller_cancellation_follow_the_order_status_rules() {
    let (h, token, shops) = harness_with_token().await;
    let order = json!({"shop_id": shops[0]["id"], "status": "AWAITING_SHIPMENT",
                       "line_items": [{"id": "1001", "sku_id": "1"}, {"id": "1002", "sku_id": "1"}]});
    let order_id = h.admin(Method::POST, "/sandbox/orders", order).await["order_id"]
        .as_str()
        .unwrap()
        .to_string();
    let ship = |lines: Vec<&str>, tracking: &str| json!({"tracking_number": tracking, "shipping_provider_id": "7117858858072016686", "order_line_item_ids": lines});
    let path = format!("/fulfillment/202309/orders/{order_id}/packages");
    assert_eq!(
        h.call(
            Method::POST,
            &path,
            &token,
            &[cipher(&shops[0])],
            Some(ship(vec!["1001"], "1Z 99!"))
        )
        .await
        .code(),
        21004012
    );
    let partial = h
        .call(
            Method::POST,
            &path,
            &token,
            &[cipher(&shops[0])],
            Some(ship(vec!["1001"], "1Z999AA1")),
        )
        .await;
    assert_eq!(partial.code(), 0, "{}", partial.body);
    assert_eq!(h.sandbox.lock().orders[&order_id]["status"], "PARTIALLY_SHIPPING");
    assert_eq!(
        h.call(
            Method::POST,
            &path,
            &token,
            &[cipher(&shops[0])],
            Some(ship(vec!["1001"], "1Z999AA2"))
        )
        .await
        .code(),
        11006021
    );
    assert_eq!(
        h.call(
            Method::POST,
            &path,
            &token,
            &[cipher(&shops[0])],
            Some(ship(vec![], "1Z999AA3"))
        )
        .await
        .code(),
        0
    );
    assert_eq!(
        h.sandbox.lock().orders[&order_id]["status"],
        "AWAITING_COLLECTION",
        "marked shipped, the order waits for the carrier (not yet IN_TRANSIT)"
    );
    // The seller may still cancel while the parcel waits for collection (§10), not once
    // the carrier has it.
    h.admin(
        Method::POST,
        &format!("/sandbox/orders/{order_id}/status"),
        json!({"status": "IN_TRANSIT"}),
    )
    .await;
    let cancel = json!({"order_id": order_id, "cancel_reason": "seller_cancel_reason_out_of_stock"});
    assert_eq!(
        h.call(
            Method::POST,
            "/return_refund/202309/cancellations",
            &token,
            &[cipher(&shops[0])],
            Some(cancel)
        )
        .await
        .code(),
        25001045
    );
}

#[tokio::test]
async fn a_repeated_idempotency_key_on_approve_cancellation_changes_nothing() {
    let (h, token, shops) = harness_with_token().await;
    let order = json!({"shop_id": shops[0]["id"], "status": "AWAITING_SHIPMENT",
                       "line_items": [{"id": "2001", "sku_id": "1", "sale_price": "5.00"}]});
    let order_id = h.admin(Method::POST, "/sandbox/orders", order).await["order_id"]
        .as_str()
        .unwrap()
        .to_string();
    let cancel_id = h
        .admin(
            Method::POST,
            "/sandbox/cancellations",
            json!({"order_id": order_id, "cancel_reason_text": "Changed my mind"}),
        )
        .await["cancel_id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/return_refund/202309/cancellations/{cancel_id}/approve");
    let key = ("idempotency_key", "3f1c2a7e-5b6d-4e8f-9a0b-1c2d3e4f5a6b".to_string());
    let approve = async |extra: &[(&str, String)]| h.call(Method::POST, &path, &token, extra, None).await.code();
    assert_eq!(approve(&[cipher(&shops[0]), key.clone()]).await, 0);
    assert_eq!(h.sandbox.lock().orders[&order_id]["status"], "CANCELLED");
    assert_eq!(
        approve(&[cipher(&shops[0]), key.clone()]).await,
        0,
        "a retry with the same key gets the first answer"
    );
    assert_eq!(
        approve(&[cipher(&shops[0])]).await,
        25011012,
        "a second decision without the key is refused"
    );
}

#[tokio::test]
async fn images_are_decoded_and_held_to_tiktok_sizes_per_use_case() {
    let (h, token, _) = harness_with_token().await;
    let uploaded = async |bytes: Vec<u8>, use_case: &str| {
        let answer = upload_bytes(&h, &token, bytes, use_case).await;
        let data = &answer["data"];
        (
            answer["code"].as_i64().unwrap(),
            data["width"].clone(),
            data["height"].clone(),
        )
    };
    assert_eq!(
        uploaded(png(800, 600), "MAIN_IMAGE").await,
        (0, json!(800), json!(600)),
        "the real size, 4:3 kept"
    );
    assert_eq!(
        uploaded(png(400, 1000), "MAIN_IMAGE").await,
        (0, json!(1000), json!(1000)),
        "narrower than 3:4 becomes 1:1"
    );
    assert_eq!(uploaded(png(80, 80), "MAIN_IMAGE").await.0, 12038014);
    assert_eq!(uploaded(png(299, 800), "MAIN_IMAGE").await.0, 12038014);
    assert_eq!(uploaded(png(4001, 3500), "MAIN_IMAGE").await.0, 12038014);
    assert_eq!(
        uploaded(png(120, 100), "DESCRIPTION_IMAGE").await,
        (0, json!(120), json!(100)),
        "100 px is enough outside main images"
    );
    assert_eq!(uploaded(png(99, 400), "DESCRIPTION_IMAGE").await.0, 12038014);
    assert_eq!(uploaded(png(1000, 1400), "SIZE_CHART_IMAGE").await.0, 12038014);
    assert_eq!(uploaded(png(1024, 1400), "SIZE_CHART_IMAGE").await.0, 0);
    let truncated = png(800, 800)[..20].to_vec();
    assert_eq!(uploaded(truncated, "MAIN_IMAGE").await.0, 12038002);
    assert_eq!(
        uploaded(b"GIF89a-not-accepted".to_vec(), "MAIN_IMAGE").await.0,
        12038004
    );
}

#[tokio::test]
async fn package_units_follow_the_shop_region_and_one_measurement_system() {
    let (h, token, shops) = harness_with_token().await;
    let uri = upload(&h, &token).await;
    let (us, gb) = (&shops[0], &shops[1]);
    assert_eq!((us["region"].as_str(), gb["region"].as_str()), (Some("US"), Some("GB")));
    let create = async |shop: &Value, sku: &str, weight: Value, dimensions: Value| {
        let mut body = product_body(shop, "Cotton dress", &uri, sku);
        body["package_weight"] = weight;
        body["package_dimensions"] = dimensions;
        let answer = h
            .call(
                Method::POST,
                "/product/202309/products",
                &token,
                &[cipher(shop)],
                Some(body),
            )
            .await;
        (
            answer.code(),
            answer.body["message"].as_str().unwrap_or_default().to_string(),
        )
    };
    let kg = json!({"value": "0.454", "unit": "KILOGRAM"});
    let lb = json!({"value": "1.25", "unit": "POUND"});
    let cm = json!({"length": "26", "width": "13", "height": "6", "unit": "CENTIMETER"});
    let inches = json!({"length": "10", "width": "5", "height": "2", "unit": "INCH"});

    let (code, message) = create(gb, "GB-1", lb.clone(), cm.clone()).await;
    assert_eq!(code, 12019011, "only KILOGRAM outside US, BR, JP and MX");
    assert!(message.contains("POUND") && message.contains("GB"), "{message}");
    assert_eq!(create(gb, "GB-2", kg.clone(), inches.clone()).await.0, 12019012);
    let fractional = json!({"length": "25.4", "width": "13", "height": "6", "unit": "CENTIMETER"});
    assert_eq!(
        create(gb, "GB-3", kg.clone(), fractional).await.0,
        12019012,
        "whole numbers"
    );
    assert_eq!(
        create(gb, "GB-4", json!({"value": "0.4536", "unit": "KILOGRAM"}), cm.clone())
            .await
            .0,
        12019011,
        "at most 3 decimals in KILOGRAM"
    );
    assert_eq!(create(gb, "GB-5", kg.clone(), cm.clone()).await.0, 0);

    let (code, message) = create(us, "US-1", lb.clone(), cm.clone()).await;
    assert_eq!(code, 12019012, "POUND with CENTIMETER mixes two systems");
    assert!(message.contains("same measurement system"), "{message}");
    assert_eq!(create(us, "US-2", kg.clone(), inches.clone()).await.0, 12019012);
    assert_eq!(
        create(us, "US-3", json!({"value": "1", "unit": "GRAM"}), cm.clone())
            .await
            .0,
        12019011,
        "no GRAM in the US"
    );
    assert_eq!(create(us, "US-4", lb, inches).await.0, 0);
    assert_eq!(create(us, "US-5", kg, cm).await.0, 0);
}

/// Creates the dress in `shop` and waits for its review to pass; (product id, SKU id).
async fn live_dress(h: &Harness, token: &str, shop: &Value, title: &str, sku: &str) -> (String, String) {
    let uri = upload(h, token).await;
    let created = h
        .call(
            Method::POST,
            "/product/202309/products",
            token,
            &[cipher(shop)],
            Some(product_body(shop, title, &uri, sku)),
        )
        .await;
    assert_eq!(created.code(), 0, "{}", created.body);
    let product_id = created.body["data"]["product_id"].as_str().unwrap().to_string();
    let sku_id = created.body["data"]["skus"][0]["id"].as_str().unwrap().to_string();
    let sandbox = h.sandbox.clone();
    assert!(eventually(|| sandbox.lock().products[&product_id]["status"] == "ACTIVATE").await);
    (product_id, sku_id)
}

#[tokio::test]
async fn an_edit_of_a_live_product_is_reviewed_while_the_old_version_stays_live() {
    let receiver = receiver(vec![]).await;
    let mut config = config();
    config.default_webhook_url = Some(receiver.url.clone());
    let h = start(config).await;
    let token = h.token().await;
    let shops = h.shops().await;
    let shop = &shops[0];
    let (product_id, sku_id) = live_dress(&h, &token, shop, "Cotton dress", "EDIT-1").await;
    let path = format!("/product/202309/products/{product_id}");
    let get = async |under_review: bool| {
        let mut query = vec![cipher(shop)];
        if under_review {
            query.push(("return_under_review_version", "true".to_string()));
        }
        h.call(Method::GET, &path, &token, &query, None).await.body["data"].clone()
    };
    let edit = async |title: &str| {
        let body = json!({"title": title});
        let answer = h
            .call(
                Method::POST,
                &format!("{path}/partial_edit"),
                &token,
                &[cipher(shop)],
                Some(body),
            )
            .await;
        assert_eq!(answer.code(), 0, "{}", answer.body);
        answer.body["data"]["audit"]["status"].clone()
    };

    assert_eq!(edit("Miracle dress [reject]").await, "AUDITING");
    let live = get(false).await;
    assert_eq!(
        (&live["status"], &live["audit"]["status"], &live["title"]),
        (&json!("ACTIVATE"), &json!("AUDITING"), &json!("Cotton dress")),
        "the live version stays on sale while the edit is reviewed"
    );
    assert_eq!(get(true).await["title"], "Miracle dress [reject]");
    let warehouse = shop["warehouses"][0]["id"].clone();
    let stock = json!({"skus": [{"id": sku_id, "inventory": [{"warehouse_id": warehouse, "quantity": 4}]}]});
    let answer = h
        .call(
            Method::POST,
            &format!("{path}/inventory/update"),
            &token,
            &[cipher(shop)],
            Some(stock),
        )
        .await;
    assert_eq!(
        (answer.code(), &answer.body["data"]["errors"]),
        (0, &json!([])),
        "stock is taken during the review"
    );
    let sandbox = h.sandbox.clone();
    assert!(eventually(|| sandbox.lock().products[&product_id]["audit"]["status"] == "FAILED").await);
    let rejected = get(false).await;
    assert_eq!(
        (&rejected["status"], &rejected["title"]),
        (&json!("ACTIVATE"), &json!("Cotton dress")),
        "a rejected edit leaves the old version live"
    );
    assert!(rejected["audit_failed_reasons"][0]["reasons"][0].is_string());
    let audit_notices = || {
        receiver
            .received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, body)| serde_json::from_str::<Value>(body).unwrap())
            .filter(|n| n["type"] == 37)
            .map(|n| n["data"]["audit"]["status"].clone())
            .collect::<Vec<_>>()
    };
    assert!(
        eventually(|| audit_notices() == [json!("FAILED")]).await,
        "{:?}",
        audit_notices()
    );

    edit("Cotton summer dress").await;
    assert!(eventually(|| sandbox.lock().products[&product_id]["audit"]["status"] == "APPROVED").await);
    let approved = get(false).await;
    assert_eq!(
        (
            &approved["status"],
            &approved["title"],
            &approved["audit_failed_reasons"]
        ),
        (&json!("ACTIVATE"), &json!("Cotton summer dress"), &json!([]))
    );
    assert_eq!(
        approved["skus"][0]["inventory"][0]["quantity"], 4,
        "the approved version keeps the live stock"
    );
    assert!(eventually(|| audit_notices().len() == 2).await);
}

#[tokio::test]
async fn an_inventory_update_must_list_every_warehouse_of_the_sku() {
    let (h, token, shops) = harness_with_token().await;
    let shop = &shops[0];
    let (product_id, sku_id) = live_dress(&h, &token, shop, "Cotton dress", "WH-1").await;
    let sales: Vec<Value> = shop["warehouses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["type"] == "SALES_WAREHOUSE")
        .map(|w| w["id"].clone())
        .collect();
    assert_eq!(sales.len(), 2, "the US shop has two sales warehouses");
    let stocked = json!({"sku_id": sku_id, "inventory": [{"warehouse_id": sales[0], "quantity": 5},
                                                         {"warehouse_id": sales[1], "quantity": 4}]});
    h.admin(
        Method::POST,
        &format!("/sandbox/products/{product_id}/inventory"),
        stocked,
    )
    .await;
    let update = async |inventory: Value| {
        let body = json!({"skus": [{"id": sku_id, "inventory": inventory}]});
        let path = format!("/product/202309/products/{product_id}/inventory/update");
        h.call(Method::POST, &path, &token, &[cipher(shop)], Some(body))
            .await
            .body["data"]["errors"]
            .clone()
    };
    let errors = update(json!([{"warehouse_id": sales[0], "quantity": 9}])).await;
    assert_eq!(errors[0]["code"], 12019028, "{errors}");
    assert_eq!(errors[0]["detail"]["sku_id"], sku_id.as_str());
    let twice =
        update(json!([{"warehouse_id": sales[0], "quantity": 9}, {"warehouse_id": sales[0], "quantity": 1}])).await;
    assert_eq!(twice[0]["code"], 12019028, "each warehouse once");
    let stock = |h: &Harness| h.sandbox.lock().products[&product_id]["skus"][0]["inventory"].clone();
    assert_eq!(
        stock(&h),
        json!([{"warehouse_id": sales[0], "quantity": 5}, {"warehouse_id": sales[1], "quantity": 4}]),
        "a refused update changes nothing"
    );
    let errors =
        update(json!([{"warehouse_id": sales[1], "quantity": 2}, {"warehouse_id": sales[0], "quantity": 9}])).await;
    assert_eq!(errors, json!([]));
    assert_eq!(
        stock(&h),
        json!([{"warehouse_id": sales[1], "quantity": 2}, {"warehouse_id": sales[0], "quantity": 9}])
    );
}
