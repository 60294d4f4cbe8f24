//! What the end-to-end tests of stores the merchant hosts (Magento 2, PrestaShop) share:
//! a local stack serving one such platform, onboarded and live on TikTok; the sandbox
//! store's admin routes; TikTok orders placed and moved through the TikTok sandbox; one
//! store poll; and seeded faults that lose exactly one answer.

use std::time::Duration;

use connector::schedules::{self, Schedule};
use connector::store::Platform;
use connector_local::{Running, onboard_sandbox};
use sandbox_kit::faults::{Faults, Injector, RequestFault};
use serde_json::Value;

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
