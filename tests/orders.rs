//! Order sync end to end, through the local runner and both sandboxes: TikTok orders
//! become exactly one store order, whatever arrives twice or gets lost; cancellations
//! and shipments travel back.

use std::time::Duration;

use connector::catalog::records;
use connector::orders::{self, SyncState};
use connector::queue::{Job, JobKind};
use connector::redrive;
use connector::schedules::{self, Schedule};
use connector_e2e::chromium::Chromium;
use connector_e2e::{bigcommerce, eventually, merchant, ready_on, store_orders, tiktok, tiktok_admin, tiktok_order};
use connector_local::Running;
use serde_json::{Value, json};

const STORE: &str = "sbx1store";

/// The stack with the demo catalogue live; returns the US shop and two live SKUs
/// as (TikTok SKU id, seller SKU, store variant id).
async fn ready() -> (tempfile::TempDir, Running, String, Vec<(String, String, String)>) {
    ready_on(false).await
}

/// Moves a TikTok order to `status` (TikTok notifies the connector).
async fn set_tiktok_status(running: &Running, order_id: &str, status: &str) {
    let path = format!("/sandbox/orders/{order_id}/status");
    let answer = tiktok_admin(running, &path, &json!({ "status": status })).await;
    assert_eq!(answer.status(), 200);
}

/// Places one-unit orders of `sku` in TikTok (notified) and waits until each is in the store.
async fn place_synced(running: &Running, shop: &str, sku: &(String, String, String), ids: &[&str]) {
    for id in ids {
        tiktok_admin(running, "/sandbox/orders", &tiktok_order(shop, id, &[(&sku.0, &sku.1)])).await;
    }
    let synced = eventually(10, async || {
        for id in ids {
            if store_orders(running, id).await.len() != 1 {
                return false;
            }
        }
        true
    })
    .await;
    assert!(synced, "orders {ids:?} reach the store");
}

/// Places `body` in TikTok (notified) and returns its store order once it exists.
async fn place_and_await(running: &Running, body: &Value) -> Value {
    let id = body["id"].as_str().unwrap();
    tiktok_admin(running, "/sandbox/orders", body).await;
    assert!(
        eventually(10, async || store_orders(running, id).await.len() == 1).await,
        "order {id} reaches the store"
    );
    store_orders(running, id).await.remove(0)
}

/// Puts a one-unit order of `sku` straight into TikTok's world, without a notification.
fn place_silently(running: &Running, shop: &str, sku: &(String, String, String), id: &str, line_id: &str) {
    let mut order = tiktok_order(shop, id, &[(&sku.0, &sku.1)]);
    order["_shop"] = json!(shop);
    order["create_time"] = json!(connector::storage::unix_now());
    order["update_time"] = json!(connector::storage::unix_now());
    order["line_items"][0]["id"] = json!(line_id);
    let sandbox = &running.sandboxes.as_ref().unwrap().tiktok_sandbox;
    sandbox.lock().orders.insert(id.to_string(), order);
}

#[tokio::test]
async fn a_paid_tiktok_order_becomes_exactly_one_store_order_even_when_notified_again() {
    let (_dir, running, shop, skus) = ready().await;
    let (a, b) = (&skus[0], &skus[1]);
    let http = reqwest::Client::new();
    let id = "576461413038785001";
    let body = tiktok_order(&shop, id, &[(&a.0, &a.1), (&a.0, &a.1), (&b.0, &b.1)]);
    assert_eq!(tiktok_admin(&running, "/sandbox/orders", &body).await.status(), 201);
    assert!(
        eventually(10, async || !store_orders(&running, id).await.is_empty()).await,
        "the store order appears within seconds"
    );
    for _ in 0..2 {
        http.post(format!("{}/sandbox/orders/{id}/notify", tiktok(&running)))
            .send()
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let orders = store_orders(&running, id).await;
    assert_eq!(orders.len(), 1, "duplicate deliveries make no second order");
    let order = &orders[0];
    assert_eq!(order["status_id"], 11, "Awaiting Fulfillment");
    assert_eq!(order["staff_notes"], format!("TikTok order {id}"));
    assert_eq!(
        order["external_source"], "local-app-id",
        "the configured BigCommerce app id (the local runner's default), as BigCommerce asks of apps"
    );
    assert_eq!(order["customer_message"], "Gift wrap please");
    let lines = order["products"].as_array().unwrap();
    let quantity_of = |variant: &str| {
        lines
            .iter()
            .find(|l| l["variant_id"].to_string() == variant)
            .map(|l| l["quantity"].as_u64().unwrap())
    };
    assert_eq!(
        (quantity_of(&a.2), quantity_of(&b.2)),
        (Some(2), Some(1)),
        "unit line items grouped into quantities"
    );
    assert_eq!(order["shipping_addresses"][0]["city"], "San Jose");
    let record = orders::get_record(running.app.table.as_ref(), STORE, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (record.state, record.store_order_id),
        (SyncState::Created, Some(order["id"].to_string()))
    );
}

#[tokio::test]
async fn the_poller_finds_an_order_whose_webhook_was_lost() {
    let (_dir, running, shop, skus) = ready().await;
    let id = "576461413038785002";
    // Placed in TikTok without any notification.
    place_silently(&running, &shop, &skus[0], id, "900001");
    schedules::run(&running.app, Schedule::PollOrders).await.unwrap();
    assert!(eventually(10, async || store_orders(&running, id).await.len() == 1).await);
    schedules::run(&running.app, Schedule::PollOrders).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        store_orders(&running, id).await.len(),
        1,
        "polling again makes no second order"
    );
}

/// How many times the connector read orders of `shop` from TikTok (Get Order Detail).
fn order_reads(running: &Running, shop: &str) -> u64 {
    let sandbox = &running.sandboxes.as_ref().unwrap().tiktok_sandbox;
    let key = format!("{shop}|/order/202309/orders");
    sandbox.lock().requests.get(&key).copied().unwrap_or(0)
}

#[tokio::test]
async fn a_flood_of_notifications_for_one_order_costs_a_few_reads_and_keeps_the_last_change() {
    let (_dir, running, shop, skus) = ready().await;
    let id = "576461413038785031";
    place_synced(&running, &shop, &skus[0], &[id]).await;
    let reads_before = connector_e2e::once_quiet(async || order_reads(&running, &shop)).await;
    // 300 distinct notifications of the order's current status, 50 at a time (TikTok
    // re-sends, and a busy order can be notified thousands of times).
    let http = reqwest::Client::new();
    let url = format!(
        "{}/sandbox/orders/{id}/notify?stale_status=AWAITING_SHIPMENT",
        tiktok(&running)
    );
    for _ in 0..6 {
        let sends = (0..50).map(|_| http.post(&url).send());
        for sent in futures_util::future::join_all(sends).await {
            assert_eq!(sent.unwrap().status(), 200);
        }
    }
    // The change after them still arrives.
    set_tiktok_status(&running, id, "CANCELLED").await;
    assert!(
        eventually(20, async || store_orders(&running, id).await[0]["status_id"] == 5).await,
        "the cancellation after the flood reaches the store order"
    );
    let reads = connector_e2e::once_quiet(async || order_reads(&running, &shop)).await - reads_before;
    assert!(
        (1..=30).contains(&reads),
        "301 notifications cost a read each only when one started after them: {reads} reads"
    );
}

#[tokio::test]
async fn the_poller_reads_only_orders_that_changed_since_their_last_sync() {
    let (_dir, running, shop, skus) = ready().await;
    let (quiet, changed) = ("576461413038785032", "576461413038785033");
    place_synced(&running, &shop, &skus[0], &[quiet, changed]).await;
    let reads_before = connector_e2e::once_quiet(async || order_reads(&running, &shop)).await;
    {
        // TikTok cancels one order without notifying (a lost webhook).
        let sandbox = &running.sandboxes.as_ref().unwrap().tiktok_sandbox;
        let mut state = sandbox.lock();
        let order = state.orders.get_mut(changed).unwrap();
        order["status"] = json!("CANCELLED");
        order["update_time"] = json!(connector::storage::unix_now() + 1);
    }
    schedules::run(&running.app, Schedule::PollOrders).await.unwrap();
    assert!(
        eventually(10, async || store_orders(&running, changed).await[0]["status_id"] == 5).await,
        "the poll finds the silent cancellation"
    );
    let reads = connector_e2e::once_quiet(async || order_reads(&running, &shop)).await - reads_before;
    assert_eq!(reads, 1, "the poll read only the order TikTok changed");
    assert_eq!(
        store_orders(&running, quiet).await[0]["status_id"],
        11,
        "the other order is untouched"
    );
}

#[tokio::test]
async fn the_webhook_and_the_poller_at_once_make_one_store_order() {
    let (_dir, running, shop, skus) = ready().await;
    let id = "576461413038785028";
    let body = tiktok_order(&shop, id, &[(&skus[0].0, &skus[0].1)]);
    // The notification and a poll race for the same order.
    let (placed, polled) = tokio::join!(tiktok_admin(&running, "/sandbox/orders", &body), async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        schedules::run(&running.app, Schedule::PollOrders).await
    });
    assert_eq!(placed.status(), 201);
    polled.unwrap();
    schedules::run(&running.app, Schedule::PollOrders).await.unwrap();
    assert!(eventually(10, async || store_orders(&running, id).await.len() == 1).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        store_orders(&running, id).await.len(),
        1,
        "one store order, whoever came first"
    );
}

#[tokio::test]
async fn a_crash_between_creating_and_recording_makes_no_second_order() {
    let (_dir, running, shop, skus) = ready().await;
    let id = "576461413038785003";
    // The store order exists (the worker created it) but nothing was recorded (it crashed).
    let store = connector::accounts::get_store(running.app.table.as_ref(), STORE)
        .await
        .unwrap()
        .unwrap();
    let platform = connector::http::store_platform(&running.app, &store).unwrap();
    let product = records::all_products(running.app.table.as_ref(), STORE)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.variants.iter().any(|v| v.id == skus[0].2))
        .unwrap();
    let mut order = connector::store::NewOrder {
        external_order_id: id.into(),
        channel_id: None,
        status: connector::store::OrderStatus::AwaitingFulfillment,
        billing_address: connector::store::Address {
            zip: "95110".into(),
            ..Default::default()
        },
        shipping_address: connector::store::Address {
            zip: "95110".into(),
            ..Default::default()
        },
        shipping_method: String::new(),
        lines: vec![connector::store::NewOrderLine {
            product_id: product.id.clone(),
            variant_id: skus[0].2.clone(),
            quantity: 1,
            price_ex_tax: "8.50".parse().unwrap(),
            price_inc_tax: "8.50".parse().unwrap(),
        }],
        shipping_cost: (Default::default(), Default::default()),
        handling_cost: (Default::default(), Default::default()),
        discount_amount: Default::default(),
        payment_method: "TikTok Shop".into(),
        customer_message: String::new(),
        staff_notes: String::new(),
    };
    let created = platform.create_order(&order).await.unwrap();
    order.staff_notes = "second".into();
    tiktok_admin(
        &running,
        "/sandbox/orders",
        &tiktok_order(&shop, id, &[(&skus[0].0, &skus[0].1)]),
    )
    .await;
    let table = running.app.table.as_ref();
    assert!(
        eventually(10, async || orders::get_record(table, STORE, id)
            .await
            .unwrap()
            .is_some())
        .await
    );
    let record = orders::get_record(table, STORE, id).await.unwrap().unwrap();
    assert_eq!(
        record.store_order_id,
        Some(created.id),
        "the existing order is recorded, not duplicated"
    );
    assert_eq!(store_orders(&running, id).await.len(), 1);
}

#[tokio::test]
async fn an_unlinked_sku_parks_the_order_with_a_reason_and_no_partial_order() {
    let (_dir, running, shop, skus) = ready().await;
    let id = "576461413038785004";
    let body = tiktok_order(
        &shop,
        id,
        &[(&skus[0].0, &skus[0].1), ("1729592969712299999", "NOT-IN-STORE")],
    );
    tiktok_admin(&running, "/sandbox/orders", &body).await;
    let table = running.app.table.as_ref();
    assert!(
        eventually(10, async || orders::get_record(table, STORE, id)
            .await
            .unwrap()
            .is_some())
        .await
    );
    let record = orders::get_record(table, STORE, id).await.unwrap().unwrap();
    assert_eq!(record.state, SyncState::Error);
    assert!(
        record
            .reason
            .unwrap()
            .contains("SKU NOT-IN-STORE (1729592969712299999) is not linked")
    );
    assert!(store_orders(&running, id).await.is_empty(), "never a partial order");
}

#[tokio::test]
async fn cancellations_and_shipments_travel_back() {
    let (_dir, running, shop, skus) = ready().await;
    let http = reqwest::Client::new();
    let (cancelled, shipped) = ("576461413038785005", "576461413038785006");
    place_synced(&running, &shop, &skus[0], &[cancelled, shipped]).await;

    set_tiktok_status(&running, cancelled, "CANCELLED").await;
    assert!(
        eventually(10, async || store_orders(&running, cancelled).await[0]["status_id"]
            == 5)
        .await,
        "TikTok's cancellation cancels the store order"
    );

    let store_order = store_orders(&running, shipped).await[0]["id"].clone();
    let shipment = json!({"tracking_number": "1Z999AA10123456784", "shipping_provider": "ups"});
    assert_eq!(
        http.post(format!(
            "{}/sandbox/orders/{store_order}/shipments",
            bigcommerce(&running)
        ))
        .json(&shipment)
        .send()
        .await
        .unwrap()
        .status(),
        201
    );
    let sandbox = running.sandboxes.as_ref().unwrap().tiktok_sandbox.clone();
    let arrived = eventually(10, async || {
        sandbox.lock().orders[shipped]["tracking_number"] == "1Z999AA10123456784"
    })
    .await;
    assert!(arrived, "the tracking number reaches TikTok");
    let order = sandbox.lock().orders[shipped].clone();
    assert_eq!(
        order["status"], "AWAITING_COLLECTION",
        "marked shipped, it waits for the carrier's scan"
    );
    assert_eq!(
        order["shipping_provider_id"], "7117858858072016687",
        "the store's ups maps to TikTok's UPS"
    );
}

/// The store order's money as the store shows it: (subtotal without tax, total tax,
/// shipping, total with tax), BigCommerce's 4-decimal strings.
fn store_money(order: &Value) -> [String; 4] {
    ["subtotal_ex_tax", "total_tax", "shipping_cost_ex_tax", "total_inc_tax"]
        .map(|f| order[f].as_str().unwrap().to_string())
}

#[tokio::test]
async fn store_order_totals_equal_what_the_buyer_paid_on_tiktok() {
    let (_dir, running, shop, skus) = ready().await;
    let a = &skus[0];
    // Two units of one SKU at different prices (a second unit at a lower price).
    let (mixed, taxed) = ("576461413038785040", "576461413038785041");
    let mut body = tiktok_order(&shop, mixed, &[(&a.0, &a.1), (&a.0, &a.1)]);
    body["line_items"][0]["sale_price"] = json!("20.00");
    body["line_items"][1]["sale_price"] = json!("10.00");
    for line in body["line_items"].as_array_mut().unwrap() {
        line["original_price"] = line["sale_price"].clone();
        line["seller_discount"] = json!("0");
    }
    body["payment"] =
        json!({"currency": "USD", "sub_total": "30.00", "shipping_fee": "0", "tax": "0", "total_amount": "30.00"});
    assert_eq!(tiktok_admin(&running, "/sandbox/orders", &body).await.status(), 201);
    // Tax spread over three units of 3.33 must not round up per unit.
    let mut body = tiktok_order(&shop, taxed, &[(&a.0, &a.1), (&a.0, &a.1), (&a.0, &a.1)]);
    for line in body["line_items"].as_array_mut().unwrap() {
        line["sale_price"] = json!("3.33");
        line["original_price"] = json!("3.33");
        line["seller_discount"] = json!("0");
    }
    body["payment"] =
        json!({"currency": "USD", "sub_total": "9.99", "shipping_fee": "4.00", "tax": "0.80", "total_amount": "14.79"});
    assert_eq!(tiktok_admin(&running, "/sandbox/orders", &body).await.status(), 201);
    assert!(
        eventually(10, async || store_orders(&running, mixed).await.len() == 1
            && store_orders(&running, taxed).await.len() == 1)
        .await
    );
    let order = &store_orders(&running, mixed).await[0];
    assert_eq!(
        store_money(order),
        ["30.0000", "0.0000", "0.0000", "30.0000"],
        "not 2 × 20.00"
    );
    let quantities: u64 = order["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["quantity"].as_u64().unwrap())
        .sum();
    assert_eq!(quantities, 2);
    let order = &store_orders(&running, taxed).await[0];
    assert_eq!(
        store_money(order),
        ["9.9900", "0.8000", "4.0000", "14.7900"],
        "TikTok's tax to the cent: 3 × 3.60 would be 0.81"
    );

    // The sandbox holds TikTok's identities: a block that does not add up is refused.
    let mut wrong = tiktok_order(&shop, "576461413038785042", &[(&a.0, &a.1)]);
    wrong["payment"]["total_amount"] = json!("99.00");
    assert_eq!(tiktok_admin(&running, "/sandbox/orders", &wrong).await.status(), 400);
}

#[tokio::test]
async fn a_partial_store_shipment_ships_only_its_units_on_tiktok() {
    let (_dir, running, shop, skus) = ready().await;
    let sandbox = running.sandboxes.as_ref().unwrap().tiktok_sandbox.clone();
    let id = "576461413038785043";
    let body = tiktok_order(&shop, id, &[(&skus[0].0, &skus[0].1), (&skus[1].0, &skus[1].1)]);
    let order = place_and_await(&running, &body).await;
    let package_status = || {
        let state = sandbox.lock();
        let mut statuses: Vec<(String, String)> = state.orders[id]["line_items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["sku_id"].as_str().unwrap().to_string(),
                    l["package_status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        statuses.sort();
        (state.orders[id]["status"].as_str().unwrap().to_string(), statuses)
    };
    let (status, lines) = package_status();
    assert_eq!(status, "AWAITING_SHIPMENT");
    assert!(
        lines.iter().all(|(_, s)| s == "TO_FULFILL"),
        "packages exist from payment: {lines:?}"
    );

    let first = order["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["variant_id"].to_string() == skus[0].2)
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    ship_in_store(&running, &order["id"], "1Z999AA10123456790", &[(first, 1)]).await;
    assert!(
        eventually(10, async || package_status().0 != "AWAITING_SHIPMENT").await,
        "the shipment reaches TikTok"
    );
    let (status, lines) = package_status();
    assert_eq!(status, "PARTIALLY_SHIPPING", "one of two units shipped: {lines:?}");
    let of = |sku: &str| lines.iter().find(|(s, _)| s == sku).unwrap().1.clone();
    assert_eq!(of(&skus[0].0), "FULFILLING");
    assert_eq!(
        of(&skus[1].0),
        "TO_FULFILL",
        "the unit still in the store stays unshipped"
    );

    ship_in_store(&running, &order["id"], "1Z999AA10123456791", &[]).await;
    assert!(
        eventually(10, async || package_status().0 == "AWAITING_COLLECTION").await,
        "the rest ships: {:?}",
        package_status()
    );
}

#[tokio::test]
async fn a_second_shipment_never_sends_a_unit_again_even_when_tiktok_reads_behind() {
    let (_dir, running, shop, skus) = ready().await;
    let sandbox = running.sandboxes.as_ref().unwrap().tiktok_sandbox.clone();
    let id = "576461413038785047";
    let body = tiktok_order(&shop, id, &[(&skus[0].0, &skus[0].1), (&skus[0].0, &skus[0].1)]);
    let order = place_and_await(&running, &body).await;
    let line = order["products"][0]["id"].as_u64().unwrap();
    let shipped_units = || {
        let state = sandbox.lock();
        let mut units: Vec<String> = state
            .packages
            .values()
            .filter(|p| p["order_id"] == id && p["package_status"] != "PROCESSING")
            .flat_map(|p| p["order_line_item_ids"].as_array().unwrap().clone())
            .map(|u| u.as_str().unwrap().to_string())
            .collect();
        units.sort();
        units
    };
    ship_in_store(&running, &order["id"], "1Z999AA10123456792", &[(line, 1)]).await;
    assert!(eventually(10, async || shipped_units().len() == 1).await);
    // TikTok's order read lags: the unit just shipped still shows as waiting.
    {
        let mut state = sandbox.lock();
        for unit in state.orders.get_mut(id).unwrap()["line_items"].as_array_mut().unwrap() {
            unit["package_status"] = json!("TO_FULFILL");
            unit["display_status"] = json!("AWAITING_SHIPMENT");
        }
    }
    ship_in_store(&running, &order["id"], "1Z999AA10123456793", &[(line, 1)]).await;
    let units: Vec<String> = sandbox.lock().orders[id]["line_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    let mut both = units.clone();
    both.sort();
    assert!(
        eventually(10, async || shipped_units() == both).await,
        "each unit is sent once, in its own shipment: {:?}",
        shipped_units()
    );
}

#[tokio::test]
async fn a_uk_store_carrier_reaches_tiktok_by_any_name_bigcommerce_gives_it() {
    let (_dir, running, _, skus) = ready().await;
    let table = running.app.table.as_ref();
    let gb = connector::accounts::list_shops(table, STORE)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.region == "GB")
        .unwrap()
        .shop_id;
    let sandbox = running.sandboxes.as_ref().unwrap().tiktok_sandbox.clone();
    // BigCommerce's own provider value, and the AfterShip slug in tracking_carrier.
    let shipments = [
        ("576461413038785044", json!({"shipping_provider": "royalmail"})),
        (
            "576461413038785045",
            json!({"shipping_provider": "", "tracking_carrier": "royal-mail"}),
        ),
        (
            "576461413038785046",
            json!({"shipping_provider": "", "tracking_carrier": "hermes-uk"}),
        ),
    ];
    for (id, _) in &shipments {
        // Listed on the UK shop outside the connector: linked by seller SKU.
        let mut body = tiktok_order(&gb, id, &[("1729592969712200001", &skus[0].1)]);
        body["payment"]["currency"] = json!("GBP");
        tiktok_admin(&running, "/sandbox/orders", &body).await;
    }
    for (id, carrier) in &shipments {
        assert!(eventually(10, async || store_orders(&running, id).await.len() == 1).await);
        let store_order = store_orders(&running, id).await[0]["id"].clone();
        let mut body = carrier.clone();
        body["tracking_number"] = json!(format!("RM{}GB", &id[12..]));
        let answer = reqwest::Client::new()
            .post(format!(
                "{}/sandbox/orders/{store_order}/shipments",
                bigcommerce(&running)
            ))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 201);
    }
    let provider_of = |id: &str| {
        sandbox.lock().orders[id]["shipping_provider_id"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    for (id, carrier, provider) in [
        (shipments[0].0, "royalmail", "7117858858072016689"),
        (shipments[1].0, "royal-mail", "7117858858072016689"),
        (shipments[2].0, "hermes-uk (Evri)", "7117858858072016694"),
    ] {
        let reason = async || orders::get_record(table, STORE, id).await.unwrap().unwrap().reason;
        assert!(
            eventually(10, async || provider_of(id) == provider).await,
            "{carrier} reaches TikTok's UK provider; the order says {:?}",
            reason().await
        );
    }
}

#[tokio::test]
async fn a_store_cancellation_cancels_the_tiktok_order() {
    let (_dir, running, shop, skus) = ready().await;
    let http = reqwest::Client::new();
    let id = "576461413038785007";
    place_synced(&running, &shop, &skus[1], &[id]).await;
    let store_order = store_orders(&running, id).await[0]["id"].clone();
    assert_eq!(
        http.post(format!("{}/sandbox/orders/{store_order}/cancel", bigcommerce(&running)))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let sandbox = running.sandboxes.as_ref().unwrap().tiktok_sandbox.clone();
    assert!(
        eventually(10, async || sandbox.lock().orders[id]["status"] == "CANCELLED").await,
        "the merchant's cancellation reaches TikTok"
    );
    let cancellation = sandbox
        .lock()
        .cancellations
        .values()
        .find(|c| c["order_id"] == id)
        .cloned()
        .unwrap();
    assert_eq!(cancellation["cancel_reason"], "seller_cancel_reason_out_of_stock");
    // The record is saved once TikTok has answered, a moment after TikTok shows it.
    let state = async || {
        orders::get_record(running.app.table.as_ref(), STORE, id)
            .await
            .unwrap()
            .unwrap()
            .state
    };
    assert!(
        eventually(10, async || state().await == SyncState::Cancelled).await,
        "the order says Cancelled: {:?}",
        state().await
    );
}

#[tokio::test]
async fn failed_orders_are_retried_then_parked_and_the_merchant_can_retry() {
    let (_dir, running, shop, _) = ready().await;
    let id = "576461413038785008";
    let body = tiktok_order(&shop, id, &[("1729592969712288888", "GHOST-SKU")]);
    tiktok_admin(&running, "/sandbox/orders", &body).await;
    let table = running.app.table.as_ref();
    assert!(
        eventually(10, async || orders::get_record(table, STORE, id)
            .await
            .unwrap()
            .is_some_and(|r| r.state == SyncState::Error))
        .await
    );
    for attempt in 1..=connector::rules::orders::DEFAULT_RETRIES {
        schedules::run(&running.app, Schedule::SweepRetries).await.unwrap();
        assert!(
            eventually(10, async || orders::get_record(table, STORE, id)
                .await
                .unwrap()
                .is_some_and(|r| r.attempts == attempt && r.state == SyncState::Error))
            .await,
            "retry {attempt}"
        );
    }
    schedules::run(&running.app, Schedule::SweepRetries).await.unwrap();
    let parked = orders::get_record(table, STORE, id).await.unwrap().unwrap();
    assert_eq!(parked.state, SyncState::Parked);
    assert!(
        parked.reason.unwrap().contains("GHOST-SKU"),
        "the reason stays readable"
    );

    let (mut browser, base, csrf) = merchant(&running).await;
    let listed: Value =
        serde_json::from_str(&browser.get(&format!("{base}/settings/api/orders")).await.unwrap().body).unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["tiktok_order_id"] == id && o["state"] == "parked")
    );
    let retried = browser
        .post_json(&format!("{base}/settings/api/orders/{id}/retry"), &json!({}), &csrf)
        .await
        .unwrap();
    assert_eq!(retried.status, 200);
    assert!(
        eventually(10, async || orders::get_record(table, STORE, id)
            .await
            .unwrap()
            .is_some_and(|r| r.attempts == 0 && r.state == SyncState::Error))
        .await,
        "a manual retry starts over"
    );
    assert!(store_orders(&running, id).await.is_empty());
}

#[tokio::test]
async fn a_thousand_orders_with_duplicates_and_server_errors_make_exactly_one_store_order_each() {
    let (_dir, running, shop, skus) = ready().await;
    let http = reqwest::Client::new();
    let sandboxes = running.sandboxes.as_ref().unwrap();
    for base in [&sandboxes.tiktok, &sandboxes.store] {
        http.post(format!("{base}/sandbox/faults"))
            .json(&json!({"error_share": 0.1}))
            .send()
            .await
            .unwrap();
    }
    let ids: Vec<String> = (0..1000).map(|i| format!("5764614130{:08}", 50_000 + i)).collect();
    for (i, id) in ids.iter().enumerate() {
        let sku = &skus[i % 2];
        http.post(format!("{}/sandbox/orders", sandboxes.tiktok))
            .json(&tiktok_order(&shop, id, &[(&sku.0, &sku.1)]))
            .send()
            .await
            .unwrap();
        if i % 20 == 0 {
            // 5% of the orders are delivered again.
            http.post(format!("{}/sandbox/orders/{id}/notify", sandboxes.tiktok))
                .send()
                .await
                .unwrap();
        }
    }
    let table = running.app.table.as_ref();
    let all_created = eventually(400, async || {
        let records = orders::all_records(table, STORE).await.unwrap();
        ids.iter().all(|id| {
            records
                .iter()
                .any(|r| &r.tiktok_order_id == id && r.state == SyncState::Created)
        })
    })
    .await;
    let store: Value = reqwest::get(format!("{}/sandbox/orders", sandboxes.store))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let external: Vec<&str> = store
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["external_order_id"].as_str())
        .filter(|e| ids.iter().any(|id| id == e))
        .collect();
    let unique: std::collections::HashSet<&&str> = external.iter().collect();
    assert!(all_created, "every order was created ({} of 1000)", unique.len());
    assert_eq!(
        (external.len(), unique.len()),
        (1000, 1000),
        "zero duplicates, zero lost"
    );
}

#[tokio::test]
async fn an_order_that_keeps_failing_never_holds_up_the_shops_other_orders() {
    let (_dir, running, shop, skus) = ready().await;
    let (stuck, next) = ("576461413038785020", "576461413038785021");
    // Another worker holds the stuck order's create: its job fails and backs off.
    let claimed = connector::storage::idempotency::claim(
        running.app.table.as_ref(),
        "order-create",
        &format!("{shop}/{stuck}"),
        Duration::from_secs(120),
        Duration::from_secs(3600),
    )
    .await
    .unwrap();
    assert_eq!(claimed, connector::storage::idempotency::Claim::Acquired);
    let sku = &skus[0];
    tiktok_admin(
        &running,
        "/sandbox/orders",
        &tiktok_order(&shop, stuck, &[(&sku.0, &sku.1)]),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    place_synced(&running, &shop, sku, &[next]).await;
    assert!(
        store_orders(&running, stuck).await.is_empty(),
        "the stuck order is still waiting"
    );
}

#[tokio::test]
async fn concurrent_workers_on_one_order_create_it_once() {
    let (_dir, running, shop, skus) = ready().await;
    let id = "576461413038785009";
    // In TikTok, but not notified: the workers below are the only ones handling it.
    place_silently(&running, &shop, &skus[0], id, "900009");
    let store = connector::accounts::get_store(running.app.table.as_ref(), STORE)
        .await
        .unwrap()
        .unwrap();
    let workers = (0..6).map(|_| orders::sync_order(&running.app, &store, &shop, id));
    let outcomes = futures_util::future::join_all(workers).await;
    assert!(outcomes.iter().any(Result::is_ok));
    // The workers that found the order claimed tell the queue to come back later.
    for outcome in &outcomes {
        if let Err(error) = outcome {
            assert!(error.to_string().contains("being created"), "{error}");
        }
    }
    assert_eq!(store_orders(&running, id).await.len(), 1, "exactly one store order");
}

#[tokio::test]
async fn a_late_notification_of_an_earlier_status_changes_nothing() {
    let (_dir, running, shop, skus) = ready().await;
    let http = reqwest::Client::new();
    let id = "576461413038785011";
    place_synced(&running, &shop, &skus[0], &[id]).await;
    set_tiktok_status(&running, id, "CANCELLED").await;
    assert!(eventually(10, async || store_orders(&running, id).await[0]["status_id"] == 5).await);

    // The AWAITING_SHIPMENT event arrives after the cancellation it preceded.
    let late: Value = http
        .post(format!(
            "{}/sandbox/orders/{id}/notify?stale_status=AWAITING_SHIPMENT",
            tiktok(&running)
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sandbox = running.sandboxes.as_ref().unwrap().tiktok_sandbox.clone();
    let acknowledged = eventually(10, async || {
        sandbox
            .lock()
            .deliveries
            .iter()
            .any(|d| d.notification_id == late["notification_id"].as_str().unwrap() && d.status == 200)
    })
    .await;
    assert!(acknowledged, "the connector accepts the late notification");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let orders = store_orders(&running, id).await;
    assert_eq!(orders.len(), 1, "no second order from the stale event");
    assert_eq!(orders[0]["status_id"], 5, "the store order stays cancelled");
    let record = orders::get_record(running.app.table.as_ref(), STORE, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.state, SyncState::Cancelled);
}

#[tokio::test]
async fn a_buyer_address_change_reaches_the_store_order_before_it_ships() {
    let (_dir, running, shop, skus) = ready().await;
    let id = "576461413038785012";
    place_synced(&running, &shop, &skus[0], &[id]).await;
    let first_address = store_orders(&running, id).await[0]["shipping_addresses"][0].clone();
    assert_eq!(first_address["street_1"], "1 Market St");

    let changed = json!({"name": "Dana Kong", "address_line1": "500 Terry Francine St", "postal_code": "94158"});
    assert_eq!(
        tiktok_admin(&running, &format!("/sandbox/orders/{id}/address"), &changed)
            .await
            .status(),
        200
    );
    let moved = eventually(10, async || {
        store_orders(&running, id).await[0]["shipping_addresses"][0]["street_1"] == "500 Terry Francine St"
    })
    .await;
    assert!(
        moved,
        "RECIPIENT_ADDRESS_UPDATE rewrites the store order's shipping address"
    );
    let address = store_orders(&running, id).await[0]["shipping_addresses"][0].clone();
    assert_eq!(
        (address["first_name"].as_str(), address["last_name"].as_str()),
        (Some("Dana"), Some("Kong"))
    );
    assert_eq!(address["zip"], "94158");
    assert_eq!(
        address["id"], first_address["id"],
        "the same address, so shipments still point at it"
    );
    assert_eq!(address["city"], "San Jose", "fields the buyer did not change stay");
    assert_eq!(
        store_orders(&running, id).await.len(),
        1,
        "an address change makes no new order"
    );
}

#[tokio::test]
async fn with_the_setting_on_a_tiktok_cancellation_archives_the_store_order() {
    let (_dir, running, shop, skus) = ready().await;
    let table = running.app.table.as_ref();
    let mut store = connector::accounts::get_store(table, STORE).await.unwrap().unwrap();
    store.settings.archive_cancelled = true;
    connector::accounts::save_store(table, &store).await.unwrap();
    let (kept, archived) = ("576461413038785013", "576461413038785014");
    place_synced(&running, &shop, &skus[0], &[kept, archived]).await;
    set_tiktok_status(&running, archived, "CANCELLED").await;
    let gone = eventually(10, async || {
        store_orders(&running, archived).await[0]["is_deleted"] == true
    })
    .await;
    assert!(gone, "the cancelled order is archived");
    let order = &store_orders(&running, archived).await[0];
    assert_eq!(order["status_id"], 5, "cancelled before it was archived");
    assert_ne!(
        store_orders(&running, kept).await[0]["is_deleted"],
        true,
        "other orders stay"
    );
    let platform = connector::http::store_platform(&running.app, &store).unwrap();
    let listed = platform.find_order_by_external_id(archived).await.unwrap();
    assert!(listed.is_none(), "the store's order list no longer shows it");
}

#[tokio::test]
async fn order_settings_choose_store_statuses_cancellations_and_the_reason_tiktok_is_given() {
    let (_dir, running, shop, skus) = ready().await;
    let (mut browser, base, csrf) = merchant(&running).await;
    let form = [
        ("csrf", csrf.as_str()),
        ("status:awaiting_shipment", "awaiting_shipment"),
        ("status:awaiting_collection", ""),
        ("status:in_transit", "shipped"),
        ("status:delivered", "completed"),
        ("status:completed", "completed"),
        ("store_cancel_reason", "seller_cancel_reason_wrong_price"),
        ("cancel_store_orders", "on"),
    ];
    let saved = browser
        .post_form(&format!("{base}/settings/forms/orders"), &form)
        .await
        .unwrap();
    assert_eq!(saved.status, 303, "{}", saved.body);
    let mut refused = form;
    refused[1] = ("status:awaiting_shipment", "cancelled");
    let answer = browser
        .post_form(&format!("{base}/settings/forms/orders"), &refused)
        .await
        .unwrap();
    assert_eq!(answer.status, 400, "cancelled is not a status a TikTok status maps to");
    let mut forged = form;
    forged[0] = ("csrf", "forged");
    let answer = browser
        .post_form(&format!("{base}/settings/forms/orders"), &forged)
        .await
        .unwrap();
    assert_eq!(answer.status, 401, "a form without the session's token changes nothing");

    let (moving, cancelled_in_store, cancelled_on_tiktok) =
        ("576461413038785015", "576461413038785016", "576461413038785017");
    place_synced(
        &running,
        &shop,
        &skus[0],
        &[moving, cancelled_in_store, cancelled_on_tiktok],
    )
    .await;
    assert_eq!(
        store_orders(&running, moving).await[0]["status_id"],
        9,
        "created as Awaiting Shipment"
    );
    set_tiktok_status(&running, moving, "IN_TRANSIT").await;
    assert!(
        eventually(10, async || store_orders(&running, moving).await[0]["status_id"] == 2).await,
        "IN_TRANSIT moves the store order to Shipped"
    );
    set_tiktok_status(&running, moving, "DELIVERED").await;
    assert!(
        eventually(10, async || store_orders(&running, moving).await[0]["status_id"] == 10).await,
        "DELIVERED completes it"
    );

    let store_order = store_orders(&running, cancelled_in_store).await[0]["id"].clone();
    reqwest::Client::new()
        .post(format!("{}/sandbox/orders/{store_order}/cancel", bigcommerce(&running)))
        .send()
        .await
        .unwrap();
    let sandbox = running.sandboxes.as_ref().unwrap().tiktok_sandbox.clone();
    let reason = async || {
        let state = sandbox.lock();
        state
            .cancellations
            .values()
            .find(|c| c["order_id"] == cancelled_in_store)
            .map(|c| c["cancel_reason"].clone())
    };
    assert!(eventually(10, async || reason().await.is_some()).await);
    assert_eq!(reason().await.unwrap(), "seller_cancel_reason_wrong_price");

    // With "cancel the store order" off, TikTok's cancellation is recorded and the store order left alone.
    let table = running.app.table.as_ref();
    let mut store = connector::accounts::get_store(table, STORE).await.unwrap().unwrap();
    assert!(store.settings.cancel_store_orders, "the form turned it on");
    assert_eq!(
        store.settings.status_mapping.in_transit,
        Some(connector::store::OrderStatus::Shipped)
    );
    store.settings.cancel_store_orders = false;
    connector::accounts::save_store(table, &store).await.unwrap();
    set_tiktok_status(&running, cancelled_on_tiktok, "CANCELLED").await;
    assert!(
        eventually(10, async || orders::get_record(table, STORE, cancelled_on_tiktok)
            .await
            .unwrap()
            .is_some_and(|r| r.tiktok_status == "CANCELLED"))
        .await
    );
    assert_eq!(store_orders(&running, cancelled_on_tiktok).await[0]["status_id"], 9);
}

/// Ships `items` ((order product id, quantity); all when empty) of a store order; returns the shipment.
async fn ship_in_store(running: &Running, store_order: &Value, tracking: &str, items: &[(u64, u64)]) -> Value {
    let mut body = json!({"tracking_number": tracking, "shipping_provider": "ups"});
    if !items.is_empty() {
        body["items"] = json!(
            items
                .iter()
                .map(|(id, quantity)| json!({"order_product_id": id, "quantity": quantity}))
                .collect::<Vec<_>>()
        );
    }
    let answer = reqwest::Client::new()
        .post(format!(
            "{}/sandbox/orders/{store_order}/shipments",
            bigcommerce(running)
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    answer.json().await.unwrap()
}

#[tokio::test]
async fn a_corrected_tracking_number_reaches_tiktok_once_per_package() {
    let (_dir, running, shop, skus) = ready().await;
    let sandbox = running.sandboxes.as_ref().unwrap().tiktok_sandbox.clone();
    let (whole, split) = ("576461413038785018", "576461413038785019");
    place_synced(&running, &shop, &skus[0], &[whole]).await;
    let body = tiktok_order(&shop, split, &[(&skus[0].0, &skus[0].1), (&skus[1].0, &skus[1].1)]);
    tiktok_admin(&running, "/sandbox/orders", &body).await;
    assert!(eventually(10, async || store_orders(&running, split).await.len() == 1).await);

    let order = store_orders(&running, whole).await[0].clone();
    let shipment = ship_in_store(&running, &order["id"], "1Z999AA10123456784", &[]).await;
    assert!(
        eventually(10, async || sandbox.lock().orders[whole]["tracking_number"]
            == "1Z999AA10123456784")
        .await
    );
    let corrected = reqwest::Client::new()
        .put(format!(
            "{}/sandbox/orders/{}/shipments/{}",
            bigcommerce(&running),
            order["id"],
            shipment["id"]
        ))
        .json(&json!({"tracking_number": "1Z999AA10123456785"}))
        .send()
        .await
        .unwrap();
    assert_eq!(corrected.status(), 200);
    assert!(
        eventually(10, async || sandbox.lock().orders[whole]["tracking_number"]
            == "1Z999AA10123456785")
        .await,
        "the store's correction reaches TikTok"
    );
    let packages = sandbox
        .lock()
        .packages
        .values()
        .filter(|p| p["order_id"] == whole)
        .count();
    assert_eq!(packages, 1, "a correction makes no second package");

    // Shipped in two packages: a correction of the second changes only that package.
    let order = store_orders(&running, split).await[0].clone();
    let lines: Vec<u64> = order["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_u64().unwrap())
        .collect();
    ship_in_store(&running, &order["id"], "1Z999AA10123456786", &[(lines[0], 1)]).await;
    let second = ship_in_store(&running, &order["id"], "1Z999AA10123456787", &[(lines[1], 1)]).await;
    let package_tracking = async || {
        let state = sandbox.lock();
        let mut tracking: Vec<String> = state
            .packages
            .values()
            .filter(|p| p["order_id"] == split)
            .map(|p| p["tracking_number"].as_str().unwrap_or_default().to_string())
            .collect();
        tracking.sort();
        tracking
    };
    assert!(
        eventually(10, async || package_tracking().await.len() == 2).await,
        "two packages on TikTok"
    );
    reqwest::Client::new()
        .put(format!(
            "{}/sandbox/orders/{}/shipments/{}",
            bigcommerce(&running),
            order["id"],
            second["id"]
        ))
        .json(&json!({"tracking_number": "1Z999AA10123456788"}))
        .send()
        .await
        .unwrap();
    assert!(
        eventually(10, async || package_tracking().await
            == ["1Z999AA10123456786", "1Z999AA10123456788"])
        .await,
        "only the corrected package changes: {:?}",
        package_tracking().await
    );
}

#[tokio::test]
async fn dead_lettered_jobs_come_back_and_hopeless_ones_are_parked_for_the_merchant() {
    // On SQS and DynamoDB (moto): the dead-letter queues are real SQS queues.
    let (_dir, running, shop, skus) = ready_on(true).await;
    let app = &running.app;
    let (comes_back, hopeless) = ("576461413038785020", "576461413038785021");
    place_silently(&running, &shop, &skus[0], comes_back, "577086512123755020");
    let dead_order = |order_id: &str, attempt: u32| {
        let payload = json!({"order_id": order_id, "topic": "webhook"});
        let mut job = Job::new(JobKind::SyncOrder, STORE, format!("order-{order_id}"), payload).for_shop(&shop);
        job.attempt = attempt;
        job
    };
    let mut dead_stock = Job::new(JobKind::SyncStock, STORE, "stock-1", json!({"product_id": "112"}));
    dead_stock.attempt = redrive::MAX_REDRIVES;
    let dead = [dead_order(comes_back, 0), dead_order(hopeless, redrive::MAX_REDRIVES)];
    app.order_dead_letters.send(&dead, Duration::ZERO).await.unwrap();
    app.product_dead_letters
        .send(std::slice::from_ref(&dead_stock), Duration::ZERO)
        .await
        .unwrap();

    let drained = redrive::drain(app).await.unwrap();
    assert_eq!((drained.redriven, drained.parked), (1, 2));
    assert!(
        eventually(20, async || store_orders(&running, comes_back).await.len() == 1).await,
        "the redriven job creates the order"
    );
    for queue in [&app.order_dead_letters, &app.product_dead_letters] {
        assert!(
            queue.receive(10, Duration::from_secs(1)).await.unwrap().is_empty(),
            "the dead-letter queues are drained"
        );
    }
    let table = app.table.as_ref();
    let parked = orders::get_record(table, STORE, hopeless).await.unwrap().unwrap();
    assert_eq!(parked.state, SyncState::Parked);
    assert!(
        parked.reason.unwrap().contains("failed every retry"),
        "a reason the merchant can read"
    );

    let (mut browser, base, csrf) = merchant(&running).await;
    let listed: Value = serde_json::from_str(
        &browser
            .get(&format!("{base}/settings/api/parked-jobs"))
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["job"]["id"], dead_stock.id.as_str());
    assert!(
        listed[0]["reason"]
            .as_str()
            .unwrap()
            .contains("stock sync job failed every retry")
    );
    let retried = browser
        .post_form(
            &format!("{base}/settings/forms/retry-job"),
            &[("csrf", &csrf), ("job_id", &dead_stock.id)],
        )
        .await
        .unwrap();
    assert_eq!(retried.status, 303);
    assert!(
        redrive::parked_jobs(table, STORE).await.unwrap().is_empty(),
        "Retry sends it back"
    );

    // Once the order exists on TikTok, the merchant's Retry brings the parked order in.
    place_silently(&running, &shop, &skus[1], hopeless, "577086512123755021");
    let retried = browser
        .post_form(
            &format!("{base}/settings/forms/retry"),
            &[("csrf", &csrf), ("order_id", hopeless)],
        )
        .await
        .unwrap();
    assert_eq!(retried.status, 303);
    assert!(eventually(20, async || store_orders(&running, hopeless).await.len() == 1).await);
}

#[tokio::test]
async fn in_chromium_the_merchant_finishes_the_wizard_sees_orders_retries_one_and_maps_a_status() {
    let (_dir, running, shop, skus) = ready().await;
    let table = running.app.table.as_ref();
    let (good, unlinked) = ("576461413038785022", "576461413038785023");
    place_synced(&running, &shop, &skus[0], &[good]).await;
    let body = tiktok_order(&shop, unlinked, &[("1729592969712277777", "NOT-LINKED-SKU")]);
    tiktok_admin(&running, "/sandbox/orders", &body).await;
    let failed = eventually(10, async || {
        orders::get_record(table, STORE, unlinked)
            .await
            .unwrap()
            .is_some_and(|r| r.state == SyncState::Error)
    })
    .await;
    assert!(failed);
    schedules::run(&running.app, Schedule::SweepRetries).await.unwrap();
    let retried_once = eventually(10, async || {
        orders::get_record(table, STORE, unlinked)
            .await
            .unwrap()
            .is_some_and(|r| r.state == SyncState::Error && r.attempts == 1)
    })
    .await;
    assert!(retried_once, "the sweeper retried the failing order once");

    let chromium = Chromium::start().await.unwrap();
    chromium
        .goto(&running.sandboxes.as_ref().unwrap().load_url().await.unwrap())
        .await
        .unwrap();
    assert!(
        chromium
            .text(".card h2")
            .await
            .unwrap()
            .contains("Choose the warehouse")
    );
    chromium.screenshot("orders-wizard-warehouse").await.unwrap();
    // The UK shop sells in pounds: the step asks for its conversion rate.
    chromium
        .client()
        .find(fantoccini::Locator::Css("input[name^=\"rate:\"]"))
        .await
        .unwrap()
        .send_keys("0.79")
        .await
        .unwrap();
    chromium
        .click_to_next_page("main form[method=post] button[type=submit]")
        .await
        .unwrap();
    assert_eq!(chromium.text(".card h2").await.unwrap(), "Default profile");
    chromium.screenshot("orders-wizard-profile").await.unwrap();
    chromium
        .click_to_next_page("main form[method=post] button[type=submit]")
        .await
        .unwrap();
    chromium.screenshot("orders-wizard-configuration").await.unwrap();
    chromium.click("input[name=archive_cancelled]").await.unwrap();
    chromium
        .click_to_next_page("main form[method=post] button[type=submit]")
        .await
        .unwrap();
    assert_eq!(chromium.text("h1").await.unwrap(), "Dashboard");
    assert!(chromium.text("#flash").await.unwrap().contains("Setup finished"));
    chromium.screenshot("orders-dashboard").await.unwrap();
    // The orders' gross sales are charted from the day counters their records keep.
    let chart = chromium.client().find(fantoccini::Locator::Css("#sales svg")).await;
    assert!(chart.is_ok(), "a sales chart for the orders placed today");
    let store = connector::accounts::get_store(table, STORE).await.unwrap().unwrap();
    assert!(store.settings.archive_cancelled, "the ticked box is saved");

    let store_order = store_orders(&running, good).await[0]["id"].to_string();
    let cell = |order: &str, column: usize| format!("tr[data-order=\"{order}\"] td:nth-child({column})");
    assert_eq!(chromium.text(&cell(good, 2)).await.unwrap(), store_order);
    assert_eq!(chromium.text(&cell(good, 3)).await.unwrap(), "In the store");
    assert_eq!(chromium.text(&cell(unlinked, 3)).await.unwrap(), "Error");
    assert!(
        chromium
            .text(&cell(unlinked, 5))
            .await
            .unwrap()
            .contains("SKU NOT-LINKED-SKU (1729592969712277777) is not linked")
    );
    assert_eq!(
        chromium.text("#orders p").await.unwrap(),
        "2 order(s) · 1 need attention · the latest 2 below"
    );

    chromium
        .click_to_next_page(&format!("tr[data-order=\"{unlinked}\"] button"))
        .await
        .unwrap();
    assert!(
        chromium
            .current_url()
            .await
            .unwrap()
            .ends_with("/settings/dashboard?done=retried")
    );
    assert_eq!(chromium.text("#flash").await.unwrap(), "Queued again.");
    chromium.scroll_to("#orders").await.unwrap();
    chromium.screenshot("orders-dashboard-retried").await.unwrap();
    let restarted = eventually(10, async || {
        orders::get_record(table, STORE, unlinked)
            .await
            .unwrap()
            .is_some_and(|r| r.attempts == 0)
    })
    .await;
    assert!(restarted, "Retry starts the order's retries over");

    // The order settings live in the configuration's Orders section.
    chromium
        .goto(&format!("http://{}/settings/configuration#orders", running.addr))
        .await
        .unwrap();
    let shipped = "select[name=\"status:in_transit\"] option[value=shipped]";
    assert!(!chromium.is_selected(shipped).await.unwrap());
    chromium.click(shipped).await.unwrap();
    chromium
        .click_to_next_page("#orders button[type=submit]")
        .await
        .unwrap();
    assert_eq!(chromium.text("#flash").await.unwrap(), "Saved.");
    let store = connector::accounts::get_store(table, STORE).await.unwrap().unwrap();
    assert_eq!(
        store.settings.status_mapping.in_transit,
        Some(connector::store::OrderStatus::Shipped)
    );
    assert!(
        store.settings.archive_cancelled,
        "saving order settings keeps the other choices"
    );
    assert!(
        chromium.is_selected(shipped).await.unwrap(),
        "the page shows the saved choice"
    );
    chromium.scroll_to("#orders").await.unwrap();
    chromium.screenshot("orders-settings-saved").await.unwrap();
    chromium.quit().await;
}

#[tokio::test]
async fn imports_item_prices_retries_and_carriers_follow_the_order_settings() {
    let (_dir, running, shop, skus) = ready().await;
    let table = running.app.table.as_ref();
    let (mut browser, base, csrf) = merchant(&running).await;
    let settings = json!({"import_sample_orders": true, "item_price": "seller_price", "order_retries": 1, "order_prefix": "TT-",
                          "default_provider": "USPS", "carrier_map": [["royalmail", "FedEx"]]});
    let answer = browser
        .put_json(&format!("{base}/settings/api/settings"), &settings, &csrf)
        .await
        .unwrap();
    assert_eq!(answer.status, 200);

    let (fbt, sample, plain, unlinked) = (
        "576461413038785024",
        "576461413038785025",
        "576461413038785026",
        "576461413038785027",
    );
    let mut by_tiktok = tiktok_order(&shop, fbt, &[(&skus[0].0, &skus[0].1)]);
    by_tiktok["fulfillment_type"] = json!("FULFILLMENT_BY_TIKTOK");
    tiktok_admin(&running, "/sandbox/orders", &by_tiktok).await;
    let mut free = tiktok_order(&shop, sample, &[(&skus[0].0, &skus[0].1)]);
    free["is_sample_order"] = json!(true);
    free["line_items"][0]["seller_discount"] = json!("1.00");
    free["line_items"][0]["platform_discount"] = json!("0.50");
    free["payment"] = json!({"currency": "USD", "seller_discount": "1.00", "platform_discount": "0.50", "sub_total": "8.50",
                             "shipping_fee": "0", "tax": "0.85", "total_amount": "9.35"});
    tiktok_admin(&running, "/sandbox/orders", &free).await;
    assert!(
        eventually(10, async || store_orders(&running, sample).await.len() == 1).await,
        "sample orders are imported when the merchant asks"
    );
    let line = &store_orders(&running, sample).await[0]["products"][0];
    assert_eq!(
        line["price_ex_tax"], "9.0000",
        "the seller price: 8.50 paid + 0.50 TikTok discount"
    );
    assert_eq!(
        line["price_inc_tax"], "9.8500",
        "plus TikTok's tax on what the buyer paid"
    );
    let note = store_orders(&running, sample).await[0]["staff_notes"].clone();
    assert_eq!(
        note,
        format!("TikTok order TT-{sample}"),
        "the prefix shows in the note"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        store_orders(&running, fbt).await.is_empty(),
        "FBT orders stay with TikTok"
    );

    // Carriers: the map first, then TikTok's own names, then the default provider.
    place_synced(&running, &shop, &skus[1], &[plain]).await;
    let ship = async |order_id: &str, provider: &str| {
        let store_order = store_orders(&running, order_id).await[0]["id"].clone();
        reqwest::Client::new()
            .post(format!(
                "{}/sandbox/orders/{store_order}/shipments",
                bigcommerce(&running)
            ))
            .json(&json!({"tracking_number": "1Z999AA10123456790", "shipping_provider": provider}))
            .send()
            .await
            .unwrap();
    };
    ship(sample, "royalmail").await;
    ship(plain, "endicia").await;
    let sandbox = running.sandboxes.as_ref().unwrap().tiktok_sandbox.clone();
    let provider = |order_id: &str| sandbox.lock().orders[order_id]["shipping_provider_id"].clone();
    assert!(
        eventually(10, async || provider(sample) == "7117858858072016688").await,
        "royalmail maps to FedEx"
    );
    assert!(
        eventually(10, async || provider(plain) == "7117858858072016686").await,
        "endicia takes the default USPS"
    );

    // One automatic retry, then parked.
    let body = tiktok_order(&shop, unlinked, &[("1729592969712266666", "NOT-LINKED-EITHER")]);
    tiktok_admin(&running, "/sandbox/orders", &body).await;
    let state = async || {
        orders::get_record(table, STORE, unlinked)
            .await
            .unwrap()
            .map(|r| (r.state, r.attempts))
    };
    assert!(eventually(10, async || state().await == Some((SyncState::Error, 0))).await);
    schedules::run(&running.app, Schedule::SweepRetries).await.unwrap();
    assert!(
        eventually(10, async || state().await == Some((SyncState::Parked, 1))).await,
        "the one retry failed too: parked, {:?}",
        state().await
    );
    let parked = orders::get_record(table, STORE, unlinked).await.unwrap().unwrap();
    assert!(parked.reason.unwrap().contains("NOT-LINKED-EITHER"), "with its reason");
}

/// TikTok's stock of a SKU, and TikTok's count of Update Inventory calls for its product.
fn tiktok_stock_and_updates(running: &Running, shop: &str, sku_id: &str) -> (Value, u64) {
    let sandbox = &running.sandboxes.as_ref().unwrap().tiktok_sandbox;
    let state = sandbox.lock();
    let (product_id, product) = state
        .products
        .iter()
        .find(|(_, p)| p["skus"].as_array().unwrap().iter().any(|s| s["id"] == sku_id))
        .unwrap();
    let sku = product["skus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == sku_id)
        .unwrap();
    let key = format!("{shop}|/product/202309/products/{product_id}/inventory/update");
    let calls = state.requests.get(&key).copied().unwrap_or(0);
    (sku["inventory"][0]["quantity"].clone(), calls)
}

#[tokio::test]
async fn the_store_order_of_a_tiktok_order_takes_the_units_once_and_tiktok_settles_on_the_store_stock() {
    let (_dir, running, shop, skus) = ready().await;
    let sku = &skus[0];
    let variant: u64 = sku.2.parse().unwrap();
    let products: Value = reqwest::get(format!("{}/sandbox/products", bigcommerce(&running)))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let product = products
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["variants"].as_array().unwrap().iter().any(|v| v["id"] == variant))
        .unwrap();
    let mut level = json!({"inventory_level": 20});
    if product["inventory_tracking"] == "variant" {
        level["variant_id"] = json!(variant);
    }
    let answer = reqwest::Client::new()
        .post(format!(
            "{}/sandbox/products/{}/stock",
            bigcommerce(&running),
            product["id"]
        ))
        .json(&level)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(
        eventually(10, async || tiktok_stock_and_updates(&running, &shop, &sku.0).0 == 20).await,
        "20 in the store, 20 on TikTok"
    );

    // A buyer takes 2 units on TikTok, which takes them off its own stock at once.
    let id = "576461413038785900";
    let body = tiktok_order(&shop, id, &[(&sku.0, &sku.1), (&sku.0, &sku.1)]);
    assert_eq!(tiktok_admin(&running, "/sandbox/orders", &body).await.status(), 201);
    assert_eq!(
        tiktok_stock_and_updates(&running, &shop, &sku.0).0,
        18,
        "TikTok takes its sale off its own stock"
    );
    assert!(eventually(10, async || store_orders(&running, id).await.len() == 1).await);

    // The store order takes the 2 units in the store; its stock webhook syncs TikTok
    // to the store's absolute 18, not 18 - 2, and nothing keeps going round.
    let store_level = async || {
        let products: Value = reqwest::get(format!("{}/sandbox/products", bigcommerce(&running)))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        products
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["variants"].as_array().unwrap().clone())
            .find(|v| v["id"] == variant)
            .unwrap()["inventory_level"]
            .clone()
    };
    assert!(eventually(10, async || store_level().await == 18).await);
    let synced = eventually(10, async || {
        let deliveries = running
            .sandboxes
            .as_ref()
            .unwrap()
            .bigcommerce_sandbox()
            .lock()
            .deliveries
            .clone();
        deliveries
            .iter()
            .any(|d| d.scope.ends_with("inventory/order/updated") && d.status == 200)
    })
    .await;
    assert!(synced, "the store order's stock change reached the connector");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (quantity, calls) = tiktok_stock_and_updates(&running, &shop, &sku.0);
    assert_eq!(quantity, 18, "one sale, taken off once");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        tiktok_stock_and_updates(&running, &shop, &sku.0),
        (json!(18), calls),
        "no more stock updates: nothing loops"
    );
    assert_eq!(store_level().await, 18);
    assert_eq!(store_orders(&running, id).await.len(), 1);
}

#[tokio::test]
async fn in_chromium_the_merchant_finds_an_order_reads_its_timeline_retries_one_after_linking_and_cancels_another() {
    let (_dir, running, shop, skus) = ready().await;
    let table = running.app.table.as_ref();
    let (mut browser, base, csrf) = merchant(&running).await;
    // The product of the second SKU is unlinked: its orders wait until it is linked again.
    let listing = records::shop_listings(table, STORE, &shop)
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.skus.iter().any(|(_, sku)| *sku == skus[1].0))
        .unwrap();
    let tiktok_product = listing.tiktok_product_id.clone().unwrap();
    let unlinked = browser
        .post_json(
            &format!("{base}/settings/api/linking/unlink"),
            &json!({"shop_id": shop, "product_id": listing.product_id}),
            &csrf,
        )
        .await
        .unwrap();
    assert_eq!(unlinked.status, 200, "{}", unlinked.body);
    let (found, waiting, cancelled) = ("576461413038786001", "576461413038786002", "576461413038786003");
    place_synced(&running, &shop, &skus[0], &[found, cancelled]).await;
    tiktok_admin(
        &running,
        "/sandbox/orders",
        &tiktok_order(&shop, waiting, &[(&skus[1].0, "RENAMED-ON-TIKTOK")]),
    )
    .await;
    assert!(
        eventually(10, async || orders::get_record(table, STORE, waiting)
            .await
            .unwrap()
            .is_some_and(|r| r.state == SyncState::Error))
        .await
    );

    let chromium = Chromium::start().await.unwrap();
    chromium
        .goto(&running.sandboxes.as_ref().unwrap().load_url().await.unwrap())
        .await
        .unwrap();
    chromium.goto(&format!("{base}/settings/orders")).await.unwrap();
    let tabs = chromium.text("main").await.unwrap();
    assert!(
        tabs.contains("All (3)") && tabs.contains("Error (1)") && tabs.contains("In the store (2)"),
        "{tabs}"
    );
    // Find one order by its id.
    chromium
        .client()
        .find(fantoccini::Locator::Css("#order-search"))
        .await
        .unwrap()
        .send_keys(found)
        .await
        .unwrap();
    chromium.click_to_next_page("form.filters button").await.unwrap();
    let rows = chromium
        .client()
        .find_all(fantoccini::Locator::Css("#orders-table tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let row = rows[0].text().await.unwrap();
    let store_order = store_orders(&running, found).await[0]["id"].to_string();
    assert!(
        row.contains(found) && row.contains(&format!("#{store_order}")) && row.contains("13.50 USD"),
        "{row}"
    );
    assert!(
        row.contains("Awaiting shipment") && row.contains("In the store"),
        "{row}"
    );
    chromium.screenshot("orders-1-found").await.unwrap();
    chromium
        .click_to_next_page(&format!("#orders-table a[href=\"/settings/orders/{found}\"]"))
        .await
        .unwrap();
    let lines = chromium.text("#order-lines").await.unwrap();
    assert!(lines.contains(&skus[0].1) && lines.contains("8.50 USD"), "{lines}");
    let link = chromium
        .client()
        .find(fantoccini::Locator::Css("#store-order"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(link.ends_with(&format!("/manage/orders/{store_order}")), "{link}");
    let timeline = chromium.text("#timeline").await.unwrap();
    assert!(
        timeline.contains("Read after TikTok's order webhook: Awaiting shipment.")
            && timeline.contains(&format!("Store order {store_order} created.")),
        "{timeline}"
    );
    assert!(chromium.text("#order-totals").await.unwrap().contains("13.50 USD"));
    chromium.screenshot("orders-2-detail").await.unwrap();

    // The order in error names its SKU; linked again, Retry brings it into the store.
    chromium
        .goto(&format!("{base}/settings/orders?state=error"))
        .await
        .unwrap();
    chromium
        .click_to_next_page(&format!("#orders-table a[href=\"/settings/orders/{waiting}\"]"))
        .await
        .unwrap();
    let reason = chromium.text("#sync-reason").await.unwrap();
    assert!(
        reason.contains("RENAMED-ON-TIKTOK") && reason.contains("not linked"),
        "{reason}"
    );
    chromium
        .goto(&format!("{base}/settings/products/{}?shop={shop}", listing.product_id))
        .await
        .unwrap();
    chromium
        .client()
        .find(fantoccini::Locator::Css("input[name=tiktok_product_id]"))
        .await
        .unwrap()
        .send_keys(&tiktok_product)
        .await
        .unwrap();
    chromium
        .click_to_next_page("form[action$=\"/link\"] button")
        .await
        .unwrap();
    assert_eq!(chromium.text("#flash").await.unwrap(), "Linked.");
    chromium
        .goto(&format!("{base}/settings/orders/{waiting}"))
        .await
        .unwrap();
    chromium
        .click_to_next_page("form[action$=\"/retry\"] button")
        .await
        .unwrap();
    assert_eq!(chromium.text("#flash").await.unwrap(), "Queued again.");
    assert!(
        eventually(10, async || {
            chromium.client().refresh().await.unwrap();
            chromium
                .text("#sync-state")
                .await
                .unwrap_or_default()
                .starts_with("In the store")
        })
        .await,
        "the retried order reaches the store"
    );
    assert_eq!(store_orders(&running, waiting).await.len(), 1);
    assert!(
        chromium
            .text("#timeline")
            .await
            .unwrap()
            .contains("Retry asked for from the orders screen.")
    );
    chromium.screenshot("orders-3-retried").await.unwrap();

    // Cancel on TikTok with a reason TikTok takes at the order's status.
    chromium
        .goto(&format!("{base}/settings/orders/{cancelled}"))
        .await
        .unwrap();
    let offered = chromium.text("#cancel-order select").await.unwrap();
    assert!(
        offered.contains("Out of stock") && offered.contains("Address cannot be delivered to"),
        "{offered}"
    );
    chromium
        .click("#cancel-order option[value=seller_cancel_reason_out_of_stock]")
        .await
        .unwrap();
    chromium.click_to_next_page("#cancel-order button").await.unwrap();
    assert!(
        chromium
            .text("#flash")
            .await
            .unwrap()
            .contains("TikTok took the cancellation")
    );
    assert!(
        eventually(10, async || {
            orders::get_record(table, STORE, cancelled)
                .await
                .unwrap()
                .is_some_and(|r| r.state == SyncState::Cancelled)
        })
        .await,
        "the store order follows TikTok's cancellation"
    );
    assert_eq!(store_orders(&running, cancelled).await[0]["status_id"], 5, "Cancelled");
    chromium.client().refresh().await.unwrap();
    let timeline = chromium.text("#timeline").await.unwrap();
    assert!(
        timeline.contains("Cancelled on TikTok from the orders screen (Out of stock)."),
        "{timeline}"
    );
    assert!(
        chromium.text("#cancel-order").await.is_err(),
        "a cancelled order offers no cancellation"
    );
    let notices = connector::notices::list(table, STORE).await.unwrap();
    assert!(
        notices
            .iter()
            .all(|n| n.kind != connector::notices::NoticeKind::OversoldCancellation),
        "the merchant's own cancellation raises no oversold notice: {notices:?}"
    );
    chromium.screenshot("orders-4-cancelled").await.unwrap();
    chromium.quit().await;

    // A reason TikTok does not take at the order's status is refused on the order's page.
    let refused = browser
        .post_form(
            &format!("{base}/settings/orders/{found}/cancel"),
            &[
                ("csrf", csrf.as_str()),
                ("reason", "seller_cancel_unpaid_reason_wrong_price"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("Choose one of the reasons offered"),
        "{}",
        refused.body
    );
    let nothing = browser
        .post_form(&format!("{base}/settings/orders/retry"), &[("csrf", csrf.as_str())])
        .await
        .unwrap();
    assert_eq!(nothing.status, 400, "bulk retry without a selection");
}

#[tokio::test]
async fn missed_orders_come_in_by_id_or_by_date_range_each_as_an_activity() {
    let (_dir, running, shop, skus) = ready().await;
    let table = running.app.table.as_ref();
    let (mut browser, base, csrf) = merchant(&running).await;
    let ids = ["576461413038787001", "576461413038787002", "576461413038787003"];
    for (n, id) in ids.iter().enumerate() {
        place_silently(&running, &shop, &skus[0], id, &format!("90070{n}"));
    }
    let form = |order_id: &'static str| -> Vec<(&str, String)> {
        vec![
            ("csrf", csrf.clone()),
            ("shop_id", shop.clone()),
            ("order_id", order_id.to_string()),
        ]
    };
    let fetched = browser
        .post_form(&format!("{base}/settings/orders/fetch"), &borrowed(&form(ids[0])))
        .await
        .unwrap();
    assert_eq!(fetched.status, 303, "{}", fetched.body);
    assert!(fetched.location.unwrap().contains("done=fetching"));
    assert!(eventually(10, async || store_orders(&running, ids[0]).await.len() == 1).await);
    let unknown = browser
        .post_form(
            &format!("{base}/settings/orders/fetch"),
            &borrowed(&form("576461413038787999")),
        )
        .await
        .unwrap();
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.body.contains("does not know order 576461413038787999"),
        "{}",
        unknown.body
    );

    let today = jiff::Timestamp::from_second(connector::storage::unix_now())
        .unwrap()
        .strftime("%Y-%m-%d")
        .to_string();
    let range = [
        ("csrf", csrf.clone()),
        ("shop_id", shop.clone()),
        ("from", today.clone()),
        ("to", today),
    ];
    let synced = browser
        .post_form(&format!("{base}/settings/orders/sync-range"), &borrowed(&range))
        .await
        .unwrap();
    assert_eq!(synced.status, 303, "{}", synced.body);
    let location = synced.location.unwrap();
    let activity_id = location
        .trim_start_matches("/settings/activities/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let all_in = eventually(20, async || {
        for id in ids {
            if store_orders(&running, id).await.len() != 1 {
                return false;
            }
        }
        true
    })
    .await;
    assert!(all_in, "every missed order reaches the store, the fetched one once");
    let activity = records::get_activity(table, STORE, &activity_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (activity.kind.as_str(), activity.status.as_str()),
        ("sync_orders", "done")
    );
    assert!(activity.done >= 3, "{activity:?}");
    let page = browser.get(&format!("{base}{location}")).await.unwrap();
    assert!(
        page.body.contains("Sync missed orders"),
        "the activity names what it did"
    );
}

/// A form's fields as `post_form` takes them.
fn borrowed<'a>(fields: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
