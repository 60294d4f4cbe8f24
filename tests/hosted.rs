//! What the end-to-end tests of stores the merchant hosts (Magento 2, PrestaShop) share:
//! a local stack serving one such platform, onboarded and live on TikTok; the sandbox
//! store's admin routes; TikTok orders placed and moved through the TikTok sandbox; one
//! store poll; and seeded faults that lose exactly one answer.

use std::time::Duration;

use connector::schedules::{self, Schedule};
use connector::store::Platform;
use connector_local::{Browser, Running, onboard_sandbox};
use sandbox_kit::faults::{Faults, Injector, RequestFault};
use serde_json::{Value, json};

use crate::{eventually, stack_args, tiktok, tiktok_admin, tiktok_order, tiktok_products};

/// The local stack serving `platform`'s stores, with `products` in its sandbox.
pub async fn stack(platform: Platform, products: usize) -> (tempfile::TempDir, Running) {
    let data_dir = tempfile::tempdir().unwrap();
    let mut args = stack_args(data_dir.path(), false, true, products);
    args.platform = platform;
    let running = connector_local::start(&args).await.expect("the local stack starts");
    (data_dir, running)
}

/// A [`stack`] whose store was connected through its form, imported and uploaded, with
/// every product live on TikTok and the work settled; also the US shop's id.
pub async fn ready(platform: Platform, products: usize) -> (tempfile::TempDir, Running, String) {
    let (dir, running) = stack(platform, products).await;
    onboard_sandbox(&running).await.expect("the store onboards");
    let all_live = eventually(60, async || {
        let listed = tiktok_products(&running).await;
        listed.len() == products && listed.iter().all(|p| p["status"] == "ACTIVATE")
    })
    .await;
    assert!(
        all_live,
        "every product goes live: {:#?}",
        tiktok_products(&running).await
    );
    assert!(running.settle(Duration::from_secs(2), Duration::from_secs(60)).await);
    let shop = tiktok_products(&running).await[0]["shop_id"]
        .as_str()
        .unwrap()
        .to_string();
    (dir, running, shop)
}

/// The store sandbox's base URL.
pub fn store_sandbox(running: &Running) -> String {
    running.sandboxes.as_ref().unwrap().store.clone()
}

/// A GET's JSON answer, which must be 2xx.
pub async fn get_json(url: &str) -> Value {
    let answer = reqwest::get(url).await.unwrap();
    assert!(answer.status().is_success(), "GET {url}: {}", answer.status());
    answer.json().await.unwrap()
}

/// POSTs `body` to a store sandbox admin route; its JSON answer, which must be 2xx.
pub async fn store_admin(running: &Running, path: &str, body: &Value) -> Value {
    let answer = reqwest::Client::new()
        .post(format!("{}{path}", store_sandbox(running)))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let text = answer.text().await.unwrap();
    assert!(status.is_success(), "POST {path} {body}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The TikTok order as TikTok holds it.
pub async fn tiktok_order_of(running: &Running, id: &str) -> Value {
    get_json(&format!("{}/sandbox/orders/{id}", tiktok(running))).await
}

/// The TikTok SKU id of a seller SKU, and its stock on TikTok (all warehouses).
pub async fn tiktok_sku(running: &Running, seller_sku: &str) -> (String, u64) {
    let products = tiktok_products(running).await;
    let sku = products
        .iter()
        .flat_map(|p| p["skus"].as_array().unwrap().iter())
        .find(|s| s["seller_sku"] == seller_sku)
        .unwrap_or_else(|| panic!("{seller_sku} is on TikTok"));
    let stock = sku["inventory"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["quantity"].as_u64())
        .sum();
    (sku["id"].as_str().unwrap().to_string(), stock)
}

/// Places a paid TikTok order of one unit of each seller SKU (TikTok notifies the connector).
pub async fn place_on_tiktok(running: &Running, shop: &str, id: &str, seller_skus: &[&str]) {
    let mut units = Vec::new();
    for seller in seller_skus {
        units.push((tiktok_sku(running, seller).await.0, seller.to_string()));
    }
    let units: Vec<(&str, &str)> = units.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let placed = tiktok_admin(running, "/sandbox/orders", &tiktok_order(shop, id, &units)).await;
    assert_eq!(placed.status(), 201);
}

/// Moves a TikTok order to `status` (TikTok notifies the connector).
pub async fn set_tiktok_status(running: &Running, id: &str, body: Value) {
    let path = format!("/sandbox/orders/{id}/status");
    assert_eq!(tiktok_admin(running, &path, &body).await.status(), 200);
}

/// One run of the store poller, then the work it queued settled.
pub async fn one_store_poll(running: &Running) {
    schedules::run(&running.app, Schedule::PollStores).await.unwrap();
    assert!(running.settle(Duration::from_secs(2), Duration::from_secs(60)).await);
}

/// Requests after a seeded fault that go through before the dice roll freely again.
const CLEAN_TAIL: usize = 60;

/// Faults that drop the answer of exactly the `nth` API request from now (after it took
/// effect), then let [`CLEAN_TAIL`] requests through: the first seed of the sandbox's own
/// dice that gives this pattern (as `tests/conformance/kit.rs` seeds its faults).
pub fn lose_nth_answer(nth: usize) -> Faults {
    (0..10_000_000u64)
        .find_map(|seed| {
            let faults = Faults {
                drop_share: 0.1,
                seed: Some(seed),
                ..Faults::default()
            };
            let dice = Injector::default();
            dice.set(faults.clone()).ok()?;
            (1..=nth + CLEAN_TAIL)
                .all(|n| {
                    let fault = dice.request();
                    if n == nth {
                        fault == Some(RequestFault::DropAfterEffect)
                    } else {
                        fault.is_none()
                    }
                })
                .then_some(faults)
        })
        .expect("a seed gives the pattern")
}

/// The buyer of delivered TikTok order `id` asks for a refund; once the request shows in
/// the app, the merchant (`browser` signed in at `base` with `csrf`) approves it. The
/// return's id.
pub async fn refund_approved(running: &Running, (browser, base, csrf): (&mut Browser, &str, &str), id: &str) -> String {
    let answer = tiktok_admin(
        running,
        "/sandbox/returns",
        &json!({"order_id": id, "return_type": "REFUND", "return_reason_text": "Arrived damaged"}),
    )
    .await;
    assert_eq!(answer.status(), 201);
    let return_id = answer.json::<Value>().await.unwrap()["return_id"]
        .as_str()
        .unwrap()
        .to_string();
    let store = running.sandboxes.as_ref().unwrap().onboarded_store_id();
    let table = running.app.table.as_ref();
    assert!(
        eventually(20, async || connector::returns::get(table, &store, &return_id)
            .await
            .unwrap()
            .is_some())
        .await,
        "the request shows in the app"
    );
    let approve = format!("{base}/settings/api/returns/{return_id}/approve");
    let approved = browser
        .post_json(&approve, &json!({"decision": "refund"}), csrf)
        .await
        .unwrap();
    assert_eq!(approved.status, 200, "{}", approved.body);
    return_id
}

/// TikTok notifies return `return_id` of order `id` (shop `shop`) twice more and the
/// return poller runs, all settled: what a refund must survive without being made twice.
pub async fn return_notified_again(running: &Running, shop: &str, id: &str, return_id: &str) {
    let store = running.sandboxes.as_ref().unwrap().onboarded_store_id();
    let record = connector::returns::get(running.app.table.as_ref(), &store, return_id)
        .await
        .unwrap()
        .unwrap();
    for n in 0..2 {
        connector::returns::enqueue(
            &running.app,
            &store,
            (shop, id, record.kind, return_id),
            "webhook",
            format!("again-{n}"),
        )
        .await
        .unwrap();
    }
    schedules::run(&running.app, Schedule::PollReturns).await.unwrap();
    assert!(running.settle(Duration::from_secs(2), Duration::from_secs(60)).await);
}

/// Every product of the store sandbox's `/sandbox/catalogue` is live on TikTok under
/// its name, with its sellable SKUs (its own, or its parts': the products' `parts` key
/// lists them, and `sku` names each one's SKU), and TikTok sells of each what `stock_of`
/// says the store has.
pub async fn assert_live_as_held(running: &Running, (parts, sku): (&str, &str), stock_of: impl AsyncFn(&str) -> i64) {
    let catalogue = get_json(&format!("{}/sandbox/catalogue", store_sandbox(running))).await;
    let on_tiktok = tiktok_products(running).await;
    for product in catalogue.as_array().unwrap() {
        let name = product["name"].as_str().unwrap();
        let listed = on_tiktok
            .iter()
            .find(|p| p["title"] == name)
            .unwrap_or_else(|| panic!("{name} is on TikTok"));
        assert_eq!(listed["status"], "ACTIVATE", "{name} is live");
        let variants = product[parts].as_array().unwrap();
        let mut sold: Vec<&str> = if variants.is_empty() {
            vec![product[sku].as_str().unwrap()]
        } else {
            variants.iter().map(|v| v[sku].as_str().unwrap()).collect()
        };
        let mut listed_skus: Vec<&str> = listed["skus"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["seller_sku"].as_str().unwrap())
            .collect();
        sold.sort_unstable();
        listed_skus.sort_unstable();
        assert_eq!(listed_skus, sold, "{name}'s SKUs");
        for sold_sku in sold {
            assert_eq!(
                tiktok_sku(running, sold_sku).await.1 as i64,
                stock_of(sold_sku).await,
                "{sold_sku}: TikTok sells what the store has"
            );
        }
    }
}

/// The buyer cancels TikTok order `id` (TikTok notifies the connector).
pub async fn buyer_cancels_on_tiktok(running: &Running, id: &str) {
    set_tiktok_status(
        running,
        id,
        json!({"status": "CANCELLED", "cancellation_initiator": "BUYER", "cancel_reason": "buyer_cancel_reason_no_longer_needed"}),
    )
    .await;
}

/// The merchant cancels store order `store_order` in the store (its sandbox's
/// `/sandbox/orders/{id}/cancel`); after one store poll, TikTok order `id` is cancelled
/// by the seller with the default reason.
pub async fn merchant_cancels_in_the_store(running: &Running, store_order: &Value, id: &str) {
    store_admin(
        running,
        &format!("/sandbox/orders/{}/cancel", store_order["id"]),
        &json!({}),
    )
    .await;
    one_store_poll(running).await;
    let on_tiktok = tiktok_order_of(running, id).await;
    assert_eq!(
        on_tiktok["status"], "CANCELLED",
        "the merchant's cancellation reached TikTok: {on_tiktok:#}"
    );
    assert_eq!(
        (
            on_tiktok["cancellation_initiator"].as_str(),
            on_tiktok["cancel_reason"].as_str()
        ),
        (Some("SELLER"), Some("seller_cancel_reason_out_of_stock")),
        "cancelled by the seller, with the default reason"
    );
}
