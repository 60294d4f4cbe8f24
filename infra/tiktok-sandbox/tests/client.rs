//! The connector's TikTok client against the sandbox: every call the connector uses,
//! token refresh, retries, pacing and typed errors.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use connector::secrets::SecretString;
use connector::tiktok::client::Shipped;
use connector::tiktok::model::*;
use connector::tiktok::types::{Amount, Id, OrderStatus, Price};
use connector::tiktok::{Client, ClientConfig, Grant, ShopAuth, TikTokError, Tokens};
use reqwest::Method;
use serde_json::{Value, json};

fn client_for(h: &Harness, requests_per_second: u32) -> Client {
    let mut config = ClientConfig::new(APP_KEY, SecretString::new(APP_SECRET.into()));
    config.api_base = h.base.clone();
    config.auth_base = h.base.clone();
    config.requests_per_second = requests_per_second;
    Client::new(config).unwrap()
}

/// Authorizes through the real token endpoint and returns the shops with ciphers.
async fn connect(h: &Harness, client: &Client) -> (Arc<Grant>, Vec<ShopAuth>) {
    let code = h.admin(Method::POST, "/sandbox/authorize", json!({})).await["code"]
        .as_str()
        .unwrap()
        .to_string();
    let grant = client.get_token(&code).await.unwrap();
    assert!(
        grant.access_token_expire_in > now() + 6 * 24 * 3600,
        "absolute Unix seconds, about 7 days ahead"
    );
    assert!(
        matches!(client.get_token(&code).await, Err(TikTokError::InvalidRequest { .. })),
        "codes are single use"
    );
    let grant = Grant::new(Tokens::from(&grant));
    let shops = client.authorized_shops(&grant).await.unwrap();
    let auths = shops
        .iter()
        .map(|s| ShopAuth {
            shop_id: s.id.to_string(),
            cipher: s.cipher.clone(),
            grant: grant.clone(),
        })
        .collect();
    (grant, auths)
}

fn dress(uri: &str, warehouse: &Id, seller_sku: &str) -> ProductRequest {
    ProductRequest {
        title: Some("Cotton summer dress".into()),
        description: Some("<p>Light cotton dress</p>".into()),
        category_id: Some(Id::from("600010")),
        category_version: Some("v2".into()),
        main_images: Some(vec![ImageRef { uri: uri.into() }]),
        skus: Some(vec![SkuRequest {
            id: None,
            seller_sku: seller_sku.into(),
            external_sku_id: Some("bc-variant-1".into()),
            sales_attributes: vec![SalesAttribute {
                id: Some(Id::from("100000")),
                name: None,
                value_name: Some("Red".into()),
                sku_img: None,
            }],
            price: Price {
                amount: Amount("19.99".parse().unwrap()),
                currency: "USD".into(),
            },
            inventory: vec![WarehouseStock {
                warehouse_id: warehouse.clone(),
                quantity: 10,
            }],
            identifier_code: Some(IdentifierCode {
                kind: "UPC".into(),
                code: "036000291452".into(),
            }),
        }]),
        package_weight: Some(Weight {
            value: "0.5".into(),
            unit: "KILOGRAM".into(),
        }),
        product_attributes: Some(vec![ProductAttribute {
            id: Id::from("100392"),
            values: vec![ProductAttributeValue {
                id: Some(Id::from("1001533")),
                name: None,
            }],
        }]),
        size_chart: Some(json!({"image": {"uri": uri}})),
        external_product_id: Some("bc-product-1".into()),
        idempotency_key: Some(format!("create-{seller_sku}")),
        ..ProductRequest::default()
    }
}

#[tokio::test]
async fn catalogue_calls_work_end_to_end() {
    let h = start(config()).await;
    let client = client_for(&h, 40);
    let (grant, shops) = connect(&h, &client).await;
    let us = &shops[0];
    let warehouses = client.warehouses(us).await.unwrap();
    let sales: Vec<&Warehouse> = warehouses.iter().filter(|w| w.is_usable_for_sales()).collect();
    assert_eq!(sales.len(), 2);
    let categories = client.categories(us, "v2").await.unwrap();
    assert!(categories.iter().any(|c| c.id.as_str() == "600010" && c.is_leaf));
    assert!(
        matches!(
            client.categories(us, "v1").await,
            Err(TikTokError::InvalidRequest { code: 12052910, .. })
        ),
        "US needs v2"
    );
    let attributes = client.category_attributes(us, &Id::from("600010"), "v2").await.unwrap();
    assert!(
        attributes.iter().any(|a| a.id.as_str() == "100392" && a.is_required),
        "is_requried is read"
    );
    let rules = client.category_rules(us, &Id::from("600010"), "v2").await.unwrap();
    assert!(rules.size_chart.is_required);
    assert_eq!(
        client
            .recommend_category(us, "Red summer dress")
            .await
            .unwrap()
            .leaf_category_id
            .as_str(),
        "600010"
    );
    let first = client.brands(us, None, 5, None).await.unwrap();
    assert_eq!(first.items.len(), 5);
    let second = client
        .brands(us, None, 5, first.next_page_token.as_deref())
        .await
        .unwrap();
    assert_ne!(first.items[0].id, second.items[0].id);
    assert!(
        first.items.iter().any(|b| !b.is_usable()),
        "unauthorized T1 brands are flagged"
    );

    let image = client
        .upload_image(&grant, png(800, 800), "a.png", "MAIN_IMAGE")
        .await
        .unwrap();
    let created = client
        .create_product(us, &dress(&image.uri, &sales[0].id, "DRESS-RED"))
        .await
        .unwrap();
    assert_eq!(created.skus[0].seller_sku, "DRESS-RED");
    let again = client
        .create_product(us, &dress(&image.uri, &sales[0].id, "DRESS-RED"))
        .await
        .unwrap();
    assert_eq!(
        again.product_id, created.product_id,
        "the idempotency key makes a retried create harmless"
    );
    let mut short_code = dress(&image.uri, &sales[0].id, "DRESS-BLUE");
    short_code.skus.as_mut().unwrap()[0].identifier_code = Some(IdentifierCode {
        kind: "UPC".into(),
        code: "03600029145".into(),
    });
    assert!(
        matches!(
            client.create_product(us, &short_code).await,
            Err(TikTokError::InvalidRequest { code: 12052910, .. })
        ),
        "an 11-digit UPC is refused"
    );
    let product_id = created.product_id.clone();
    let sku_id = created.skus[0].id.clone();
    assert!(
        matches!(
            client.update_inventory(us, &product_id, &[]).await,
            Err(TikTokError::InvalidRequest { code: 12052901, .. })
        ),
        "stock updates wait for review"
    );
    for _ in 0..50 {
        if client.get_product(us, &product_id).await.unwrap().status == "ACTIVATE" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stock = SkuInventory {
        id: sku_id.clone(),
        inventory: vec![WarehouseStock {
            warehouse_id: sales[0].id.clone(),
            quantity: 3,
        }],
    };
    let unknown = SkuInventory {
        id: Id::from("1"),
        inventory: stock.inventory.clone(),
    };
    let errors = client
        .update_inventory(us, &product_id, &[stock, unknown])
        .await
        .unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, 12052556);
    let price = SkuPrice {
        id: sku_id.clone(),
        price: Price {
            amount: Amount("17.50".parse().unwrap()),
            currency: "USD".into(),
        },
    };
    client
        .update_prices(us, &product_id, std::slice::from_ref(&price))
        .await
        .unwrap();
    let product = client.get_product(us, &product_id).await.unwrap();
    assert_eq!(product.skus[0].inventory[0].quantity, 3);
    assert_eq!(product.skus[0].price["sale_price"], "17.50");
    h.admin(Method::POST, "/sandbox/promotions", json!({"sku_id": sku_id.as_str()}))
        .await;
    assert!(matches!(
        client.update_prices(us, &product_id, &[price]).await,
        Err(TikTokError::InvalidRequest { code: 12052038, .. })
    ));

    let mut edit = dress(&image.uri, &sales[0].id, "DRESS-RED");
    edit.title = Some("Cotton summer dress, new cut".into());
    edit.skus.as_mut().unwrap()[0].id = Some(sku_id.clone());
    let edited = client.edit_product(us, &product_id, &edit).await.unwrap();
    assert_eq!(edited.skus[0].id, sku_id, "listed SKU ids are kept");
    let partial = ProductRequest {
        description: Some("<p>Now with pockets</p>".into()),
        ..ProductRequest::default()
    };
    client.partial_edit_product(us, &product_id, &partial).await.unwrap();
    let found = client
        .search_products(
            us,
            &ProductSearch {
                seller_skus: Some(vec!["DRESS-RED".into()]),
                ..ProductSearch::default()
            },
            10,
            None,
        )
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);

    let ids = [product_id.clone(), Id::from("42")];
    let errors = client
        .product_action(us, ProductAction::Deactivate, &ids)
        .await
        .unwrap();
    assert_eq!(errors.iter().map(|e| e.code).collect::<Vec<_>>(), [12052032]);
    client
        .product_action(us, ProductAction::Delete, &ids[..1])
        .await
        .unwrap();
    client
        .product_action(us, ProductAction::Recover, &ids[..1])
        .await
        .unwrap();
    assert_eq!(
        client.get_product(us, &product_id).await.unwrap().status,
        "SELLER_DEACTIVATED"
    );
    assert!(client.product_action(us, ProductAction::Activate, &[]).await.is_err());
}

#[tokio::test]
async fn order_fulfillment_and_after_sales_calls_work_end_to_end() {
    let h = start(config()).await;
    let client = client_for(&h, 40);
    let (_, shops) = connect(&h, &client).await;
    let us = &shops[0];
    for i in 0..5 {
        let order = json!({"shop_id": us.shop_id, "id": format!("57648631694849000{i}"), "status": "AWAITING_SHIPMENT",
            "payment": {"currency": "USD", "sub_total": "17.00", "shipping_fee": "5.00", "tax": "1.20", "total_amount": "23.20"},
            "recipient_address": {"name": "David Kong", "postal_code": "95110", "region_code": "US",
                                  "district_info": [{"address_level": "L0", "address_level_name": "Country", "address_name": "United States"}]},
            "line_items": [{"id": format!("57708651212375512{i}"), "sku_id": "2729382476852921560", "seller_sku": "RED-M", "sale_price": "8.50"},
                           {"id": format!("57708651212375513{i}"), "sku_id": "2729382476852921560", "seller_sku": "RED-M", "sale_price": "8.50"}]});
        h.admin(Method::POST, "/sandbox/orders", order).await;
    }
    let mut orders = Vec::new();
    let mut page_token = None;
    loop {
        let page = client
            .search_orders(
                us,
                &OrderSearch {
                    update_time_ge: Some(now() - 60),
                    ..OrderSearch::default()
                },
                2,
                page_token.as_deref(),
            )
            .await
            .unwrap();
        orders.extend(page.items);
        match page.next_page_token {
            Some(token) => page_token = Some(token),
            None => break,
        }
    }
    assert_eq!(orders.len(), 5);
    let ids: Vec<Id> = orders.iter().map(|o| o.id.clone()).collect();
    let details = client.order_details(us, &ids).await.unwrap();
    let order = details.iter().find(|o| o.id.as_str() == "576486316948490000").unwrap();
    assert_eq!(order.status, OrderStatus::AwaitingShipment);
    assert_eq!(order.line_items.len(), 2, "one line item per unit");
    assert_eq!(order.payment.total_amount, Amount("23.20".parse().unwrap()));
    assert!(client.order_details(us, &vec![Id::from("1"); 51]).await.is_err());

    let providers = client
        .shipping_providers(us, order.delivery_option_id.as_ref().unwrap())
        .await
        .unwrap();
    let usps = providers.iter().find(|p| p.name == "USPS").unwrap();
    let shipment = MarkShipped {
        tracking_number: "1Z999AA10123456784".into(),
        shipping_provider_id: usps.id.clone(),
        order_line_item_ids: vec![order.line_items[0].id.clone()],
    };
    let shipped = client.mark_package_shipped(us, &order.id, &shipment).await.unwrap();
    let package = client.package_detail(us, &shipped.package_id).await.unwrap();
    assert_eq!(package.tracking_number, "1Z999AA10123456784");
    client
        .update_shipping_info(us, Shipped::Order(&order.id), "1Z999AA10123456785", &usps.id)
        .await
        .unwrap();
    client
        .ship_package(us, &shipped.package_id, "1Z999AA10123456786", &usps.id)
        .await
        .unwrap();
    let bad = MarkShipped {
        tracking_number: "bad tracking!".into(),
        ..shipment
    };
    assert!(matches!(
        client.mark_package_shipped(us, &order.id, &bad).await,
        Err(TikTokError::InvalidRequest { code: 21004012, .. })
    ));

    let second = &details
        .iter()
        .find(|o| o.id.as_str() == "576486316948490001")
        .unwrap()
        .id;
    let cancel_id = h
        .admin(
            Method::POST,
            "/sandbox/cancellations",
            json!({"order_id": second.as_str(), "cancel_reason_text": "Changed my mind"}),
        )
        .await["cancel_id"]
        .as_str()
        .unwrap()
        .to_string();
    let found = client
        .search_cancellations(
            us,
            &AfterSaleSearch {
                order_ids: Some(vec![second.clone()]),
                ..AfterSaleSearch::default()
            },
            10,
            None,
        )
        .await
        .unwrap();
    assert_eq!(found.items[0].cancel_status, "CANCELLATION_REQUEST_PENDING");
    let reasons = client.reject_reasons(us, &Id::from(cancel_id.as_str())).await.unwrap();
    client
        .reject_cancellation(
            us,
            &Id::from(cancel_id.as_str()),
            &Rejection {
                decision: None,
                reject_reason: reasons[0].name.clone(),
                comment: "Already packed".into(),
                images: Vec::new(),
            },
            "reject-cancel-1",
        )
        .await
        .unwrap();
    assert!(
        client
            .approve_cancellation(
                us,
                &Id::from(cancel_id.as_str()),
                "8a3c4b8e-0b7e-4c1e-9a57-2f6f0c1d7e21"
            )
            .await
            .is_err(),
        "a decided request cannot be decided again"
    );
    let third = Id::from("576486316948490002");
    let cancelled = client
        .cancel_order(
            us,
            &CancelOrder {
                order_id: third.clone(),
                cancel_reason: "seller_cancel_reason_out_of_stock".into(),
                order_line_item_ids: vec![],
            },
        )
        .await
        .unwrap();
    assert!(!cancelled.cancel_id.as_str().is_empty());
    assert_eq!(
        client.order_details(us, &[third]).await.unwrap()[0].status,
        OrderStatus::Cancelled
    );

    // Buyers ask for refunds and returns of delivered orders (§10).
    for delivered in ["576486316948490003", "576486316948490004"] {
        let path = format!("/sandbox/orders/{delivered}/status");
        h.admin(Method::POST, &path, json!({"status": "DELIVERED"})).await;
    }
    let return_id = h
        .admin(
            Method::POST,
            "/sandbox/returns",
            json!({"order_id": "576486316948490003", "return_type": "REFUND"}),
        )
        .await["return_id"]
        .as_str()
        .unwrap()
        .to_string();
    let returns = client
        .search_returns(us, &AfterSaleSearch::default(), 10, None)
        .await
        .unwrap();
    assert_eq!(returns.items.len(), 1);
    client
        .approve_return(
            us,
            &Id::from(return_id.as_str()),
            &Approval {
                decision: "APPROVE_REFUND".into(),
                buyer_keep_item: None,
                partial_refund: None,
            },
            "approve-return-1",
        )
        .await
        .unwrap();
    let other = h
        .admin(
            Method::POST,
            "/sandbox/returns",
            json!({"order_id": "576486316948490004"}),
        )
        .await["return_id"]
        .as_str()
        .unwrap()
        .to_string();
    client
        .reject_return(
            us,
            &Id::from(other.as_str()),
            &Rejection {
                decision: Some("REJECT_RETURN".into()),
                reject_reason: "reverse_reject_request_reason_1".into(),
                comment: "Not returned".into(),
                images: Vec::new(),
            },
            "reject-return-1",
        )
        .await
        .unwrap();

    for topic in WEBHOOK_TOPICS {
        client
            .update_webhook(us, topic, "https://connector.example.com/webhooks/tiktok")
            .await
            .unwrap();
    }
    assert_eq!(client.webhooks(us).await.unwrap().len(), WEBHOOK_TOPICS.len());
    assert!(
        client
            .update_webhook(us, "ORDER_STATUS_CHANGE", "http://10.0.0.1:8080/x")
            .await
            .is_err(),
        "no IPs or custom ports"
    );
    client.delete_webhook(us, "PACKAGE_UPDATE").await.unwrap();
    assert_eq!(client.webhooks(us).await.unwrap().len(), WEBHOOK_TOPICS.len() - 1);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_for_many_concurrent_calls() {
    let h = start(config()).await;
    let client = client_for(&h, 40);
    let (grant, shops) = connect(&h, &client).await;
    let before = grant.tokens();
    h.admin(Method::POST, "/sandbox/tokens/expire", json!({})).await;
    let calls = (0..10).map(|_| client.warehouses(&shops[0]));
    let results = futures_util::future::join_all(calls).await;
    // Refresh tokens rotate: a second refresh with the old one would fail the calls.
    assert!(
        results.iter().all(Result::is_ok),
        "{:?}",
        results.iter().find(|r| r.is_err())
    );
    let after = grant.tokens();
    assert_ne!(after.access_token, before.access_token);
    assert_ne!(after.refresh_token, before.refresh_token);
    assert_eq!(h.sandbox.lock().grants.len(), 1, "exactly one refresh happened");
}

#[tokio::test]
async fn a_burst_of_2000_requests_stays_free_of_429_near_the_configured_rate() {
    let h = start(config()).await;
    let client = client_for(&h, 40);
    let (_, shops) = connect(&h, &client).await;
    let started = Instant::now();
    // 2 shops x 5 endpoints x 200 requests: each (shop, endpoint) key gets 200 at 40/s.
    let mut calls = Vec::new();
    for shop in &shops {
        for _ in 0..200 {
            calls.push(Box::pin(async { client.warehouses(shop).await.map(drop) })
                as std::pin::Pin<
                    Box<dyn std::future::Future<Output = Result<(), TikTokError>>>,
                >);
            calls.push(Box::pin(async {
                client
                    .categories(shop, if shop.cipher.contains("US") { "v2" } else { "v1" })
                    .await
                    .map(drop)
            }));
            calls.push(Box::pin(async { client.webhooks(shop).await.map(drop) }));
            calls.push(Box::pin(async { client.brands(shop, None, 10, None).await.map(drop) }));
            calls.push(Box::pin(async {
                client
                    .search_cancellations(shop, &AfterSaleSearch::default(), 10, None)
                    .await
                    .map(drop)
            }));
        }
    }
    let results = futures_util::future::join_all(calls).await;
    let elapsed = started.elapsed();
    assert_eq!(results.len(), 2000);
    assert!(
        results.iter().all(Result::is_ok),
        "{:?}",
        results.iter().find(|r| r.is_err())
    );
    assert_eq!(
        h.admin(Method::GET, "/sandbox/stats", Value::Null).await["throttled"],
        0,
        "no 429 at all"
    );
    let per_key_rate = 200.0 / elapsed.as_secs_f64();
    assert!(
        per_key_rate <= 41.0,
        "never above the configured 40/s per key: {per_key_rate:.1}"
    );
    assert!(per_key_rate >= 30.0, "close to the configured rate: {per_key_rate:.1}");
}

#[tokio::test]
async fn server_errors_and_dropped_connections_are_retried_until_they_pass() {
    let h = start(config()).await;
    let mut config = ClientConfig::new(APP_KEY, SecretString::new(APP_SECRET.into()));
    config.api_base = h.base.clone();
    config.auth_base = h.base.clone();
    config.max_attempts = 8;
    let client = Client::new(config).unwrap();
    let (_, shops) = connect(&h, &client).await;
    h.admin(
        Method::POST,
        "/sandbox/faults",
        json!({"error_share": 0.2, "drop_share": 0.1}),
    )
    .await;
    for _ in 0..15 {
        assert_eq!(client.warehouses(&shops[0]).await.unwrap().len(), 3);
    }
    let mut impatient = ClientConfig::new(APP_KEY, SecretString::new(APP_SECRET.into()));
    impatient.api_base = h.base.clone();
    impatient.max_attempts = 2;
    let impatient = Client::new(impatient).unwrap();
    h.admin(Method::POST, "/sandbox/faults", json!({"error_share": 1.0}))
        .await;
    let error = impatient.warehouses(&shops[0]).await.unwrap_err();
    assert!(error.is_retryable(), "{error}");
    h.admin(Method::POST, "/sandbox/faults", json!({"drop_share": 1.0}))
        .await;
    let error = impatient.warehouses(&shops[0]).await.unwrap_err();
    assert!(
        matches!(error, TikTokError::Retryable { ref message, .. } if message.contains("transport")),
        "{error}"
    );
    assert!(!error.to_string().contains("app_key="), "transport errors carry no URL");
}

#[tokio::test]
async fn a_slow_answer_times_out_as_a_retryable_error() {
    let h = start(config()).await;
    let mut config = ClientConfig::new(APP_KEY, SecretString::new(APP_SECRET.into()));
    config.api_base = h.base.clone();
    config.auth_base = h.base.clone();
    config.timeout = Duration::from_millis(300);
    config.max_attempts = 2;
    let client = Client::new(config).unwrap();
    let (_, shops) = connect(&h, &client).await;
    h.admin(Method::POST, "/sandbox/faults", json!({"latency_ms": 1000}))
        .await;
    let error = client.warehouses(&shops[0]).await.unwrap_err();
    assert!(matches!(error, TikTokError::Retryable { .. }), "{error}");
}

#[tokio::test]
async fn a_wrong_secret_is_an_invalid_signature_error_and_a_foreign_cipher_a_shop_error() {
    let h = start(config()).await;
    let client = client_for(&h, 40);
    let (grant, shops) = connect(&h, &client).await;
    let mut config = ClientConfig::new(APP_KEY, SecretString::new("wrong-secret".into()));
    config.api_base = h.base.clone();
    let wrong = Client::new(config).unwrap();
    assert!(matches!(
        wrong.warehouses(&shops[0]).await,
        Err(TikTokError::InvalidSignature { .. })
    ));
    let foreign = ShopAuth {
        shop_id: "1".into(),
        cipher: "GCP_nobody".into(),
        grant,
    };
    assert!(matches!(
        client.warehouses(&foreign).await,
        Err(TikTokError::ShopAuthorization { code: 101000, .. })
    ));
}

#[tokio::test]
async fn a_non_json_answer_is_a_malformed_response_error() {
    let app = axum::Router::new().fallback(|| async { "<html>gateway</html>" });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut config = ClientConfig::new(APP_KEY, SecretString::new(APP_SECRET.into()));
    config.api_base = format!("http://{addr}");
    config.auth_base = format!("http://{addr}");
    let client = Client::new(config).unwrap();
    assert!(matches!(client.get_token("code").await, Err(TikTokError::Malformed(_))));
}

#[tokio::test]
async fn two_workers_sharing_one_budget_stay_under_the_shop_limit_together() {
    use connector::storage::embedded::EmbeddedTable;
    use connector::tiktok::limiter::SharedBudget;
    let h = start(config()).await;
    let table: Arc<dyn connector::storage::Table> = Arc::new(EmbeddedTable::in_memory().unwrap());
    let worker = || {
        let mut config = ClientConfig::new(APP_KEY, SecretString::new(APP_SECRET.into()));
        config.api_base = h.base.clone();
        config.auth_base = h.base.clone();
        config.requests_per_second = 40;
        // Alone, each would send 40 per second: together 80, far above TikTok's 50.
        Client::with_budget(config, Arc::new(SharedBudget::new(table.clone(), 40))).unwrap()
    };
    let (first, second) = (worker(), worker());
    let (_, shops) = connect(&h, &first).await;
    let shop = &shops[0];
    let started = Instant::now();
    let calls = (0..100)
        .map(|_| first.warehouses(shop))
        .chain((0..100).map(|_| second.warehouses(shop)));
    let results = futures_util::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(
        h.admin(Method::GET, "/sandbox/stats", Value::Null).await["throttled"],
        0,
        "no 429 although two workers serve the shop"
    );
    let rate = 200.0 / started.elapsed().as_secs_f64();
    assert!(
        (32.0..=41.0).contains(&rate),
        "the shared rate is the configured one: {rate:.1}/s"
    );
}
