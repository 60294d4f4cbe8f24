//! Secrets and buyer data over a whole end-to-end run: every log line the connector
//! writes while a store is installed, shops connected, the catalogue uploaded and a
//! buyer's order created, shipped and refused on a forged webhook is captured (JSON,
//! at debug level for the connector) and searched for every token, secret and piece of
//! the buyer's personal data; stored tokens are read raw from the table and must be
//! sealed. One test in its own binary: it owns the process's log subscriber.

use std::sync::Arc;
use std::time::Duration;

use connector::accounts;
use connector::catalog::records::{self, ListingStatus};
use connector::storage::{Query, unix_now};
use connector_e2e::{eventually, local_stack};
use connector_local::onboard_sandbox;
use serde_json::{Value, json};

const STORE: &str = "sbx1store";

/// The buyer's personal data on the TikTok order.
const BUYER: [&str; 5] = [
    "Zelda Quintessa Marlowe",
    "+1 (555) 010-4477",
    "zelda.q.marlowe@scs.tiktokw.us",
    "742 Evergreen Terrace",
    "Please leave it with the neighbour at 740",
];

#[tokio::test]
async fn no_log_line_of_a_whole_run_holds_a_secret_or_buyer_data_and_tokens_are_stored_sealed() {
    let log_file = tempfile::NamedTempFile::new().unwrap();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter("info,connector=debug,connector_local=debug")
        .with_writer(Arc::new(log_file.reopen().unwrap()))
        .init();
    let data_dir = tempfile::tempdir().unwrap();
    let running = local_stack(data_dir.path(), false, true).await;
    onboard_sandbox(&running).await.unwrap();
    let app = running.app.clone();
    let table = app.table.as_ref();
    let sandboxes = running.sandboxes.as_ref().unwrap();
    let shop = accounts::list_shops(table, STORE)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.region == "US")
        .unwrap();

    // A buyer's order of a live SKU, created in the store, then shipped there.
    let mut sku = None;
    for _ in 0..300 {
        let products = records::all_products(table, STORE).await.unwrap();
        sku = records::shop_listings(table, STORE, &shop.shop_id)
            .await
            .unwrap()
            .into_iter()
            .filter(|l| l.status == ListingStatus::Live)
            .flat_map(|l| l.skus.into_iter())
            .find_map(|(variant, sku)| {
                let seller = products
                    .iter()
                    .flat_map(|p| p.variants.iter())
                    .find(|v| v.id == variant)?;
                Some((sku, seller.sku.clone()))
            });
        if sku.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (sku_id, seller_sku) = sku.expect("a live SKU");
    let order_id = "576461413038791234";
    let order = json!({"shop_id": shop.shop_id, "id": order_id, "status": "AWAITING_SHIPMENT", "buyer_message": BUYER[4],
        "buyer_email": BUYER[2],
        "payment": {"currency": "USD", "original_total_product_price": "10.00", "seller_discount": "1.50", "sub_total": "8.50",
                    "shipping_fee": "5.00", "tax": "0", "total_amount": "13.50"},
        "recipient_address": {"name": BUYER[0], "phone_number": BUYER[1], "address_line1": BUYER[3], "postal_code": "95110",
            "region_code": "US", "full_address": format!("{}, San Jose, CA 95110", BUYER[3]),
            "district_info": [{"address_level": "L0", "address_level_name": "Country", "address_name": "United States"},
                              {"address_level": "L1", "address_level_name": "State", "address_name": "California"},
                              {"address_level": "L3", "address_level_name": "City", "address_name": "San Jose"}]},
        "line_items": [{"sku_id": sku_id, "seller_sku": seller_sku, "sale_price": "8.50", "original_price": "10.00",
                        "seller_discount": "1.50", "currency": "USD"}]});
    let http = reqwest::Client::new();
    let placed = http
        .post(format!("{}/sandbox/orders", sandboxes.tiktok))
        .json(&order)
        .send()
        .await
        .unwrap();
    assert!(placed.status().is_success(), "{}", placed.text().await.unwrap());
    let created = eventually(60, async || {
        connector::orders::get_record(table, STORE, order_id)
            .await
            .unwrap()
            .is_some_and(|r| r.store_order_id.is_some())
    })
    .await;
    assert!(created, "the order reached the store");
    let record = connector::orders::get_record(table, STORE, order_id)
        .await
        .unwrap()
        .unwrap();
    let store_order = record.store_order_id.unwrap();
    let shipped = http
        .post(format!("{}/sandbox/orders/{store_order}/shipments", sandboxes.store))
        .json(&json!({"tracking_number": "1Z999AA10123456784", "shipping_provider": "ups"}))
        .send()
        .await
        .unwrap();
    assert_eq!(shipped.status(), 201);
    // A forged webhook carrying the buyer's data is refused and logged without it.
    let forged = json!({"type": 1, "shop_id": shop.shop_id, "timestamp": unix_now(),
                        "data": {"order_id": order_id, "buyer_name": BUYER[0]}})
    .to_string();
    let refused = http
        .post(format!("http://{}/webhooks/tiktok", running.addr))
        .header("authorization", "0".repeat(64))
        .body(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Every secret of the run, as it is in clear.
    let cipher = &app.secrets.token_cipher;
    let store = accounts::get_store(table, STORE).await.unwrap().unwrap();
    let mut secrets: Vec<(String, String)> = vec![
        (
            "store access token".into(),
            store.access_token(cipher).unwrap().expose().to_string(),
        ),
        (
            "store webhook secret".into(),
            store.webhook_secret(cipher).unwrap().expose().to_string(),
        ),
        (
            "TikTok app secret".into(),
            app.secrets.tiktok_app_secret.expose().to_string(),
        ),
        (
            "BigCommerce client secret".into(),
            app.secrets.bigcommerce_client_secret.expose().to_string(),
        ),
    ];
    for shop in accounts::list_shops(table, STORE).await.unwrap() {
        let tokens = shop.tokens(cipher).unwrap();
        secrets.push((
            format!("access token of {}", shop.shop_id),
            tokens.access_token.expose().to_string(),
        ));
        secrets.push((
            format!("refresh token of {}", shop.shop_id),
            tokens.refresh_token.expose().to_string(),
        ));
    }
    secrets.extend(BUYER.iter().map(|value| ("buyer data".to_string(), value.to_string())));
    let logs = std::fs::read_to_string(log_file.path()).unwrap();
    let lines: Vec<&str> = logs.lines().collect();
    assert!(lines.len() > 100, "the run was logged ({} lines)", lines.len());
    for kind in ["SyncOrder", "PushShipment", "UploadProduct"] {
        assert!(
            logs.contains(&format!("\"kind\":\"{kind}\"")),
            "the {kind} jobs are in the capture"
        );
    }
    for (what, value) in &secrets {
        assert!(value.len() >= 8, "{what} is long enough to search for");
        if let Some(line) = lines.iter().find(|line| line.contains(value.as_str())) {
            panic!("the {what} is in a log line: {line}");
        }
    }

    // Raw items: tokens only sealed, and no buyer data kept by the connector.
    let mut raw = String::new();
    for partition in [accounts::store_pk(STORE), "SHOPDIR".to_string()] {
        let mut cursor = None;
        loop {
            let page = table
                .query(Query::table(partition.clone(), "").after(cursor))
                .await
                .unwrap();
            for item in &page.items {
                raw.push_str(&item.data.to_string());
                for field in ["access_token", "refresh_token", "webhook_secret"] {
                    if let Some(value) = item.data[field].as_str() {
                        assert!(value.starts_with("v1:"), "{}/{}: {field} is sealed", item.pk, item.sk);
                    }
                }
            }
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
    }
    for (what, value) in &secrets {
        assert!(!raw.contains(value.as_str()), "the {what} is stored in clear");
    }
    let _: Value = serde_json::from_str(lines[0]).expect("log lines are JSON");
}
