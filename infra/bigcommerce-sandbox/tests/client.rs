//! The connector's BigCommerce client and `StorePlatform` implementation against the
//! sandbox: install, catalog paging, orders (idempotent), shipments, webhooks, pacing
//! and typed errors.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bigcommerce_sandbox::SandboxConfig;
use common::{Harness, start};
use connector::secrets::SecretString;
use connector::store::bigcommerce::{BigCommerce, Client, ClientConfig, exchange_code};
use connector::store::{
    Address, CONNECTOR_TOPICS, NewOrder, NewOrderLine, OrderStatus, StoreError, StoreEvent, StorePlatform, Topic,
};
use serde_json::{Value, json};

const CALLBACK: &str = "https://app.example.com/bigcommerce/auth";
/// The app id the connector is configured with.
const APP_ID: &str = "4242";

fn config() -> SandboxConfig {
    SandboxConfig {
        client_id: "cid".into(),
        client_secret: "csecret".into(),
        stores: vec!["storea".into(), "storeb".into()],
        products: 40,
        auth_callback_url: Some(CALLBACK.into()),
        quota: 10_000,
        window: Duration::from_secs(1),
        webhook_time_scale: 0.0001,
        ..SandboxConfig::default()
    }
}

impl Harness {
    /// Installs the app the way the connector will: follow the redirect, exchange the code.
    async fn install(&self, store: &str) -> SecretString {
        let query = self.install_redirect(store).await;
        let grant = exchange_code(
            &self.http,
            &self.base,
            "cid",
            &SecretString::new("csecret".into()),
            &query["code"],
            &query["scope"],
            &query["context"],
            CALLBACK,
        )
        .await
        .unwrap();
        assert_eq!(grant.store_hash(), store);
        assert_eq!(grant.owner.id, 12345);
        grant.access_token
    }

    fn platform(&self, store: &str, token: SecretString, tune: impl FnOnce(&mut ClientConfig)) -> BigCommerce {
        let mut config = ClientConfig::new(store, token);
        config.api_base = self.base.clone();
        tune(&mut config);
        BigCommerce::new(
            Client::new(config).unwrap(),
            Some(SecretString::new("csecret".into())),
            APP_ID.into(),
        )
    }
}

fn order(external_id: &str, product_id: &str, variant_id: &str) -> NewOrder {
    let address = Address {
        first_name: "Jane".into(),
        last_name: "Doe".into(),
        street_1: "1 Main St".into(),
        city: "Austin".into(),
        state: "Texas".into(),
        zip: "78751".into(),
        country: "United States".into(),
        country_iso2: "US".into(),
        email: "buyer@example.com".into(),
        ..Address::default()
    };
    NewOrder {
        external_order_id: external_id.into(),
        channel_id: None,
        status: OrderStatus::AwaitingFulfillment,
        billing_address: address.clone(),
        shipping_address: address,
        shipping_method: "TikTok Shop shipping".into(),
        lines: vec![NewOrderLine {
            product_id: product_id.into(),
            variant_id: variant_id.into(),
            quantity: 2,
            price_ex_tax: "8.50".parse().unwrap(),
            price_inc_tax: "8.50".parse().unwrap(),
        }],
        shipping_cost: ("5.00".parse().unwrap(), "5.00".parse().unwrap()),
        handling_cost: (Default::default(), Default::default()),
        discount_amount: Default::default(),
        payment_method: "TikTok Shop".into(),
        customer_message: "Please ship fast".into(),
        staff_notes: format!("TikTok order {external_id}"),
    }
}

#[tokio::test]
async fn install_then_read_the_catalog_brands_categories_and_stock() {
    let h = start(config()).await;
    let store = h.platform("storea", h.install("storea").await, |_| {});
    let info = store.profile().await.unwrap();
    assert_eq!(info.units.weight, "Ounces");
    assert_eq!(store.units().await.unwrap().dimension, "Inches");
    let page = store.products_changed_since(None, None).await.unwrap();
    assert_eq!(page.products.len(), 40);
    assert!(page.next.is_none());
    let with_options = page.products.iter().find(|p| p.variants.len() == 4).unwrap();
    assert!(
        with_options
            .variants
            .iter()
            .all(|v| v.option_values.len() == 2 && v.inventory_level.is_some())
    );
    assert!(
        page.products.iter().any(|p| p.images.is_empty()),
        "some products have no image"
    );
    assert!(
        page.products
            .windows(2)
            .all(|w| w[0].date_modified <= w[1].date_modified),
        "oldest change first"
    );
    let one = store.product(&with_options.id).await.unwrap().unwrap();
    assert_eq!(one.name, with_options.name);
    assert!(store.product("99999").await.unwrap().is_none());
    assert!(matches!(store.product("abc").await, Err(StoreError::Invalid { .. })));
    let variant_ids: Vec<String> = with_options.variants.iter().map(|v| v.id.clone()).collect();
    let stock = store.variant_stock(&variant_ids).await.unwrap();
    assert_eq!(stock.len(), 4);
    assert_eq!(stock[0].available, with_options.variants[0].inventory_level.unwrap());
    assert_eq!(store.brands().await.unwrap().len(), 5);
    let categories = store.categories().await.unwrap();
    assert!(categories.iter().any(|c| c.parent_id.is_some()));
}

#[tokio::test]
async fn paging_through_10000_products_returns_each_once() {
    let mut config = config();
    config.products = 10_000;
    let h = start(config).await;
    let store = h.platform("storea", h.install("storea").await, |_| {});
    let mut seen = std::collections::HashSet::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = store
            .products_changed_since(Some("2000-01-01T00:00:00Z"), cursor.as_deref())
            .await
            .unwrap();
        pages += 1;
        assert!(page.products.len() <= 250);
        for product in page.products {
            assert!(seen.insert(product.id), "a product came twice");
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (10_000, 40));
}

#[tokio::test]
async fn an_order_whose_answer_was_lost_is_found_not_created_again() {
    use sandbox_kit::faults::{Faults, Injector, RequestFault};
    let h = start(config()).await;
    let store = h.platform("storea", h.install("storea").await, |_| {});
    let product = store.product("3").await.unwrap().unwrap();
    let variant = product.variants[0].id.clone();
    // A seed whose dice let the first look-up through and drop the answer of the POST
    // after the store created the order; every later call goes through.
    let faults = |seed| Faults {
        drop_share: 0.5,
        seed: Some(seed),
        ..Faults::default()
    };
    let seed = (0..1000)
        .find(|seed| {
            let dice = Injector::default();
            dice.set(faults(*seed)).unwrap();
            let fates: Vec<_> = (0..6).map(|_| dice.request()).collect();
            fates[0].is_none()
                && fates[1] == Some(RequestFault::DropAfterEffect)
                && fates[2..].iter().all(Option::is_none)
        })
        .unwrap();
    let answer = h
        .http
        .post(format!("{}/sandbox/faults", h.base))
        .json(&faults(seed))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let created = store
        .create_order(&order("576461413000000002", &product.id, &variant))
        .await
        .unwrap();
    let all: Value = h
        .http
        .get(format!("{}/sandbox/orders", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&Value> = all.as_array().unwrap().iter().map(|o| &o["id"]).collect();
    assert_eq!(
        ids,
        [&json!(created.id.parse::<u64>().unwrap())],
        "one order, the one the lost answer created"
    );
}

#[tokio::test]
async fn orders_are_created_once_found_moved_cancelled_and_shipments_read_back() {
    let h = start(config()).await;
    let store = h.platform("storea", h.install("storea").await, |_| {});
    let product = store.product("3").await.unwrap().unwrap();
    let variant = &product.variants[0];
    let created = store
        .create_order(&order("576461413000000001", &product.id, &variant.id))
        .await
        .unwrap();
    let again = store
        .create_order(&order("576461413000000001", &product.id, &variant.id))
        .await
        .unwrap();
    assert_eq!(
        created.id, again.id,
        "the same external order id never makes a second order"
    );
    let all: Value = h
        .http
        .get(format!("{}/sandbox/orders", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 1);
    assert_eq!(all[0]["products"][0]["quantity"], 2);
    assert_eq!(all[0]["staff_notes"], "TikTok order 576461413000000001");
    assert_eq!(
        all[0]["external_source"], APP_ID,
        "the app id, as BigCommerce asks of apps"
    );
    assert_eq!(created.status, OrderStatus::AwaitingFulfillment);
    assert_eq!(
        store
            .find_order_by_external_id("576461413000000001")
            .await
            .unwrap()
            .unwrap()
            .id,
        created.id
    );
    assert!(store.find_order_by_external_id("nope").await.unwrap().is_none());
    assert!(store.shipments(&created.id).await.unwrap().is_empty());

    let shipped: Value = h
        .http
        .post(format!("{}/sandbox/orders/{}/shipments", h.base, created.id))
        .json(&json!({"tracking_number": "1Z999AA1", "shipping_provider": "ups"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shipped["tracking_number"], "1Z999AA1");
    let shipments = store.shipments(&created.id).await.unwrap();
    assert_eq!(shipments.len(), 1);
    assert_eq!(shipments[0].carrier, "ups");
    assert_eq!(shipments[0].items, vec![(variant.id.clone(), 2)]);
    store
        .update_order_status(&created.id, &OrderStatus::Completed)
        .await
        .unwrap();
    store.cancel_order(&created.id).await.unwrap();
    assert_eq!(
        store
            .find_order_by_external_id("576461413000000001")
            .await
            .unwrap()
            .unwrap()
            .status,
        OrderStatus::Cancelled
    );

    let unknown_product = order("576461413000000002", "99999", "1");
    let error = store.create_order(&unknown_product).await.unwrap_err();
    assert!(
        matches!(error, StoreError::Invalid { status: 400, ref message } if message.contains("99999")),
        "{error}"
    );
}

/// Records deliveries (headers lower-case, raw body).
async fn receiver() -> (String, Arc<Mutex<Vec<(Vec<(String, String)>, Vec<u8>)>>>) {
    use axum::extract::State;
    use axum::http::HeaderMap;
    type Shared = Arc<Mutex<Vec<(Vec<(String, String)>, Vec<u8>)>>>;
    let received: Shared = Arc::default();
    let app = axum::Router::new()
        .route(
            "/webhooks/bigcommerce",
            axum::routing::post(
                |State(received): State<Shared>, headers: HeaderMap, body: axum::body::Bytes| async move {
                    let headers = headers
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
                        .collect();
                    received.lock().unwrap().push((headers, body.to_vec()));
                    "ok"
                },
            ),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/webhooks/bigcommerce"), received)
}

#[tokio::test]
async fn webhooks_subscribe_idempotently_and_deliveries_verify_against_the_store_secret() {
    let h = start(config()).await;
    let store = h.platform("storea", h.install("storea").await, |_| {});
    let other = h.platform("storeb", h.install("storeb").await, |_| {});
    let (url, received) = receiver().await;
    store
        .subscribe_webhooks(&url, &CONNECTOR_TOPICS, "first-secret")
        .await
        .unwrap();
    let subscriptions = store
        .subscribe_webhooks(&url, &CONNECTOR_TOPICS, "store-a-secret")
        .await
        .unwrap();
    assert_eq!(subscriptions.len(), CONNECTOR_TOPICS.len());
    assert_eq!(
        store.client().hooks().await.unwrap().data.len(),
        CONNECTOR_TOPICS.len(),
        "no duplicates"
    );

    let products = store.products_changed_since(None, None).await.unwrap().products;
    let tracked = products.iter().find(|p| p.variants.len() == 4).unwrap();
    h.http
        .post(format!(
            "{}/sandbox/products/{}/stock?store_hash=storea",
            h.base, tracked.id
        ))
        .json(&json!({"variant_id": tracked.variants[1].id.parse::<u64>().unwrap(), "inventory_level": 3}))
        .send()
        .await
        .unwrap();
    for _ in 0..100 {
        if !received.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let (headers, body) = received.lock().unwrap()[0].clone();
    let delivery = store.parse_webhook(&headers, &body, "store-a-secret").unwrap();
    assert_eq!(delivery.store, "storea");
    assert_eq!(
        delivery.event,
        StoreEvent::Inventory {
            product_id: tracked.id.clone(),
            variant_id: Some(tracked.variants[1].id.clone())
        }
    );
    assert!(!delivery.dedupe_key.is_empty());
    assert!(
        matches!(
            store.parse_webhook(&headers, &body, "first-secret"),
            Err(StoreError::WebhookRejected(_))
        ),
        "the old secret no longer works"
    );
    assert!(
        matches!(
            other.parse_webhook(&headers, &body, "store-a-secret"),
            Err(StoreError::WebhookRejected(_))
        ),
        "another store's delivery"
    );
    let no_header: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| k != "x-connector-token")
        .cloned()
        .collect();
    assert!(store.parse_webhook(&no_header, &body, "store-a-secret").is_err());
    assert!(store.parse_webhook(&headers, b"{not json", "store-a-secret").is_err());

    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "webhook-signature" && v.starts_with("v1,")),
        "deliveries carry a Standard Webhooks signature"
    );

    let shipment = serde_json::to_string(&json!({"scope": "store/shipment/created", "store_id": "1", "data": {"type": "shipment", "id": 7, "orderId": 250},
                                              "hash": "abc", "created_at": 1, "producer": "stores/storea"})).unwrap();
    assert!(
        matches!(
            store.parse_webhook(&headers, shipment.as_bytes(), "store-a-secret"),
            Err(StoreError::WebhookRejected(_))
        ),
        "the signature covers the body"
    );
    let now = connector::storage::unix_now();
    let mut signed: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| !k.starts_with("webhook-"))
        .cloned()
        .collect();
    signed.extend([
        ("webhook-id".to_string(), "msg_1".to_string()),
        ("webhook-timestamp".to_string(), now.to_string()),
        (
            "webhook-signature".to_string(),
            bigcommerce_sandbox::signing::sign_webhook(b"csecret", "msg_1", now, &shipment),
        ),
    ]);
    assert_eq!(
        store
            .parse_webhook(&signed, shipment.as_bytes(), "store-a-secret")
            .unwrap()
            .event,
        StoreEvent::Shipment {
            order_id: "250".into(),
            shipment_id: "7".into()
        }
    );
    store.unsubscribe_webhooks().await.unwrap();
    assert!(store.client().hooks().await.unwrap().data.is_empty());
    assert_eq!(Some(&Topic::AppUninstalled), CONNECTOR_TOPICS.last());
}

#[tokio::test]
async fn a_burst_of_2000_requests_is_paced_to_half_the_quota_without_429() {
    let mut config = config();
    config.quota = 1000;
    config.window = Duration::from_secs(1);
    let h = start(config).await;
    let store = Arc::new(h.platform("storea", h.install("storea").await, |_| {}));
    let started = Instant::now();
    let workers: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..100 {
                    store.client().store_info().await.unwrap();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stats: Value = h
        .http
        .get(format!("{}/sandbox/stats", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["throttled"], 0, "no 429 at all");
    // Half of 1000 per 1 s window: 2000 requests need 4 windows, so at least 3 s pass;
    // using the share fully, they finish within the 4th window plus slack.
    assert!(
        elapsed >= 2.9,
        "at most half the quota per window: 2000 requests in {elapsed:.2} s"
    );
    assert!(
        elapsed <= 5.5,
        "the allowed share is used: 2000 requests in {elapsed:.2} s"
    );
}

#[tokio::test]
async fn a_429_is_waited_out_and_errors_are_typed() {
    let mut config = config();
    config.quota = 4;
    config.window = Duration::from_millis(500);
    let h = start(config).await;
    let token = h.install("storea").await;
    // One attempt for failures: a 429 that names its reset is a wait, not a failure.
    let store = h.platform("storea", token.clone(), |c| {
        c.quota_share = 1.0;
        c.max_attempts = 1;
    });
    store.client().store_info().await.unwrap();
    // Another app on the same store uses up the shared quota behind the client's back.
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
    let other_token = account["access_token"].as_str().unwrap().to_string();
    for _ in 0..4 {
        h.http
            .get(format!("{}/stores/storea/v2/store", h.base))
            .header("x-auth-token", &other_token)
            .send()
            .await
            .unwrap();
    }
    let waited = Instant::now();
    store.client().store_info().await.unwrap();
    let stats: Value = h
        .http
        .get(format!("{}/sandbox/stats", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(stats["throttled"].as_u64().unwrap() >= 1, "the client really met a 429");
    assert!(
        waited.elapsed() >= Duration::from_millis(100),
        "it waited for the window to reset"
    );

    let stranger = h.platform("storea", SecretString::new("wrong".into()), |_| {});
    assert!(matches!(stranger.profile().await, Err(StoreError::Unauthorized(_))));
    let hook = connector::store::bigcommerce::model::BcHookPost {
        scope: "store/order/created".into(),
        destination: "http://example.com:8080/x".into(),
        is_active: true,
        headers: Default::default(),
    };
    let error = store.client().create_hook(&hook).await.unwrap_err();
    assert!(
        matches!(error, StoreError::Invalid { status: 422, ref message } if message.contains("destination")),
        "{error}"
    );

    h.http
        .post(format!("{}/sandbox/faults", h.base))
        .json(&json!({"error_share": 1.0}))
        .send()
        .await
        .unwrap();
    let impatient = h.platform("storea", token.clone(), |c| c.max_attempts = 2);
    assert!(matches!(impatient.profile().await, Err(StoreError::Unavailable(_))));
    h.http
        .post(format!("{}/sandbox/faults", h.base))
        .json(&json!({"error_share": 0.3}))
        .send()
        .await
        .unwrap();
    let patient = h.platform("storea", token.clone(), |c| c.max_attempts = 8);
    for _ in 0..5 {
        patient.profile().await.unwrap();
    }
    h.http
        .post(format!("{}/sandbox/faults", h.base))
        .json(&json!({"latency_ms": 800}))
        .send()
        .await
        .unwrap();
    let hasty = h.platform("storea", token, |c| {
        c.timeout = Duration::from_millis(200);
        c.max_attempts = 1;
    });
    assert!(matches!(hasty.profile().await, Err(StoreError::Unavailable(_))));
}

#[tokio::test]
async fn a_bad_code_or_client_secret_fails_the_exchange() {
    let h = start(config()).await;
    let error = exchange_code(
        &h.http,
        &h.base,
        "cid",
        &SecretString::new("csecret".into()),
        "nope",
        "",
        "stores/storea",
        CALLBACK,
    )
    .await
    .unwrap_err();
    assert!(matches!(error, StoreError::Invalid { status: 400, .. }), "{error}");
    let error = exchange_code(
        &h.http,
        &h.base,
        "cid",
        &SecretString::new("wrong".into()),
        "nope",
        "",
        "stores/storea",
        CALLBACK,
    )
    .await
    .unwrap_err();
    assert!(matches!(error, StoreError::Unauthorized(_)), "{error}");
}

#[tokio::test]
async fn inventory_variants_orders_and_shipments_through_the_raw_client() {
    use connector::store::bigcommerce::model::{BcShipmentItem, BcShipmentPost, InventoryAdjustment};
    let h = start(config()).await;
    let store = h.platform("storea", h.install("storea").await, |_| {});
    let client = store.client();
    let product = store.product("6").await.unwrap().unwrap();
    let variant_id: u64 = product.variants[2].id.parse().unwrap();
    let transaction = client
        .set_inventory(
            "TikTok sync",
            &[InventoryAdjustment {
                location_id: 1,
                variant_id: Some(variant_id),
                product_id: None,
                quantity: 17,
            }],
        )
        .await
        .unwrap();
    assert!(!transaction.is_empty());
    assert_eq!(
        client.variants(&[variant_id.to_string()], 1).await.unwrap().data[0].inventory_level,
        17
    );
    let simple: u64 = store.product("1").await.unwrap().unwrap().variants[0]
        .id
        .parse()
        .unwrap();
    let error = client
        .set_inventory(
            "x",
            &[InventoryAdjustment {
                location_id: 1,
                variant_id: Some(simple),
                product_id: None,
                quantity: 1,
            }],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Invalid { status: 422, ref message } if message.contains("tracked by product")),
        "{error}"
    );

    let created = store
        .create_order(&order("576461413000000009", &product.id, &variant_id.to_string()))
        .await
        .unwrap();
    let raw = client.order(&created.id).await.unwrap();
    assert_eq!(raw.external_order_id.as_deref(), Some("576461413000000009"));
    let lines = client.order_products(&created.id).await.unwrap();
    assert_eq!((lines[0].variant_id, lines[0].quantity), (variant_id, 2));
    let addresses = client.shipping_addresses(&created.id).await.unwrap();
    assert_eq!(addresses[0].address.zip, "78751");
    let post = BcShipmentPost {
        order_address_id: addresses[0].id,
        items: vec![BcShipmentItem {
            order_product_id: lines[0].id,
            product_id: None,
            quantity: 1,
        }],
        tracking_number: "9400111899223".into(),
        shipping_provider: "usps".into(),
        tracking_carrier: String::new(),
    };
    let shipment = client.create_shipment(&created.id, &post).await.unwrap();
    assert_eq!(
        client
            .shipment(&created.id, &shipment.id.to_string())
            .await
            .unwrap()
            .tracking_number,
        "9400111899223"
    );
    assert_eq!(
        store
            .find_order_by_external_id("576461413000000009")
            .await
            .unwrap()
            .unwrap()
            .status,
        OrderStatus::PartiallyShipped
    );
    assert!(
        matches!(client.order("424242").await, Err(StoreError::NotFound(_))),
        "v2 404 envelope"
    );
    let unknown = h.platform("nostore", SecretString::new("x".into()), |_| {});
    assert!(
        matches!(unknown.profile().await, Err(StoreError::NotFound(_))),
        "an unknown store is a typed error"
    );
}
