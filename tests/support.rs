//! Helpers for the end-to-end tests: start a local stack on a free port, open a
//! merchant's session, wait for what happens in the background.

pub mod chaos;
pub mod chromium;
#[path = "hosted.rs"]
pub mod hosted;
#[path = "support/lambda.rs"]
pub mod lambda;

use std::time::Duration;

use connector::catalog::records::{self, ListingStatus};
pub use connector_local::tiktok_order;
use connector_local::{Args, Browser, Running, onboard_sandbox, start};
use serde_json::Value;

/// Starts the whole connector in this process with a fresh embedded store (or
/// DynamoDB/SQS when `aws` is true); with `sandbox` also both sandboxes.
pub async fn local_stack(data_dir: &std::path::Path, aws: bool, sandbox: bool) -> Running {
    local_stack_with(data_dir, aws, sandbox, 60).await
}

/// [`local_stack`] with `products` seeded in the BigCommerce sandbox store (and a
/// TikTok daily listing limit above it).
pub async fn local_stack_with(data_dir: &std::path::Path, aws: bool, sandbox: bool, products: usize) -> Running {
    start(&stack_args(data_dir, aws, sandbox, products))
        .await
        .expect("local stack starts")
}

/// The local runner's options for a test stack on a free port, with a fresh table name
/// and `products` seeded in the BigCommerce sandbox store.
pub fn stack_args(data_dir: &std::path::Path, aws: bool, sandbox: bool, products: usize) -> Args {
    Args {
        addr: "127.0.0.1:0".parse().expect("valid address"),
        data_dir: data_dir.to_path_buf(),
        aws,
        table: format!("e2e-{}", uuid::Uuid::new_v4().simple()),
        sandbox,
        // The tests push hundreds of orders through one store: a generous plan.
        sandbox_store_quota: 100_000,
        sandbox_products: products,
        sandbox_listing_limit: 1000.max(products as u32 * 2),
        platform: connector::store::Platform::BigCommerce,
        queue_hop_ms: 0,
        consumers_per_queue: 4,
    }
}

/// Whether the AWS emulator is given (`AWS_ENDPOINT_URL`); a test on DynamoDB and SQS
/// skips without it, except under `scripts/test` (`CONNECTOR_REQUIRE_AWS`), where a
/// missing emulator fails it: a skipped test proves nothing.
pub fn emulator_given() -> bool {
    given(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "AWS_ENDPOINT_URL is not set",
    )
}

/// Whether a test's prerequisite is `present`; a missing one skips the test (saying
/// `missing`), except under `scripts/test` (`CONNECTOR_REQUIRE_AWS`), which provides
/// every prerequisite, where it fails: a skipped test proves nothing.
pub fn given(present: bool, missing: &str) -> bool {
    if present {
        return true;
    }
    assert!(
        std::env::var_os("CONNECTOR_REQUIRE_AWS").is_none(),
        "{missing}, under scripts/test"
    );
    eprintln!("skipping: {missing}");
    false
}

/// Waits until `check` holds, up to `seconds`; whether it did.
pub async fn eventually<F: AsyncFnMut() -> bool>(seconds: u64, mut check: F) -> bool {
    for _ in 0..seconds * 10 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// The value `read` returns once it has stayed the same for a second (at most 30 s):
/// a count of requests taken after work still in flight has finished.
pub async fn once_quiet<F: AsyncFnMut() -> u64>(mut read: F) -> u64 {
    let mut last = read().await;
    let mut quiet_since = std::time::Instant::now();
    let deadline = quiet_since + Duration::from_secs(30);
    while quiet_since.elapsed() < Duration::from_secs(1) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = read().await;
        if now != last {
            last = now;
            quiet_since = std::time::Instant::now();
        }
    }
    last
}

/// A merchant's browser session on the settings page, opened through the store's
/// signed load link: (browser, base URL, CSRF token).
pub async fn merchant(running: &Running) -> (Browser, String, String) {
    let load_url = running
        .sandboxes
        .as_ref()
        .expect("sandbox mode")
        .load_url()
        .await
        .expect("a load link");
    merchant_at(running, &load_url).await
}

/// A browser that visited `url` (a load link, or the sandbox's install page) and
/// landed in the settings with a session: (browser, base URL, CSRF token).
pub async fn merchant_at(running: &Running, url: &str) -> (Browser, String, String) {
    let mut browser = Browser::new().expect("a client");
    browser.visit(url).await.expect("the settings page opens");
    let base = format!("http://{}", running.addr);
    let session = browser
        .get(&format!("{base}/settings/api/session"))
        .await
        .expect("the session");
    let session: serde_json::Value = serde_json::from_str(&session.body).expect("JSON");
    let csrf = session["csrf_token"].as_str().expect("a CSRF token").to_string();
    (browser, base, csrf)
}

/// A real grey PNG of `width`×`height` pixels (what TikTok decodes and measures).
pub use sandbox_kit::images::flat_png as png;

/// The sandbox store every test onboards.
const STORE: &str = "sbx1store";

/// The sandbox store's US shop and its live listings, once the demo catalogue's 53
/// uploadable products are live (or after a minute, with those that are).
pub async fn live_demo_listings(running: &Running) -> anyhow::Result<(String, Vec<records::Listing>)> {
    let table = running.app.table.as_ref();
    let shop = connector::accounts::list_shops(table, STORE)
        .await?
        .into_iter()
        .find(|s| s.region == "US")
        .ok_or_else(|| anyhow::anyhow!("no US shop"))?
        .shop_id;
    let mut live = Vec::new();
    for _ in 0..600 {
        live = records::shop_listings(table, STORE, &shop)
            .await?
            .into_iter()
            .filter(|l| l.status == ListingStatus::Live)
            .collect();
        if live.len() >= 53 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok((shop, live))
}

/// The local stack onboarded with the demo catalogue live (on DynamoDB and SQS, moto,
/// when `aws`): (its data directory, the stack, the US shop, two live SKUs as (TikTok
/// SKU id, seller SKU, store variant id)).
pub async fn ready_on(aws: bool) -> (tempfile::TempDir, Running, String, Vec<(String, String, String)>) {
    let data_dir = tempfile::tempdir().unwrap();
    let running = local_stack(data_dir.path(), aws, true).await;
    onboard_sandbox(&running).await.unwrap();
    let (shop, live) = live_demo_listings(&running).await.unwrap();
    let products = records::all_products(running.app.table.as_ref(), STORE).await.unwrap();
    let skus = live
        .iter()
        .flat_map(|l| l.skus.iter().map(|(variant, sku)| (variant.clone(), sku.clone())))
        .filter_map(|(variant, sku)| {
            let seller = products
                .iter()
                .flat_map(|p| p.variants.iter())
                .find(|v| v.id == variant)?
                .sku
                .clone();
            Some((sku, seller, variant))
        })
        .take(2)
        .collect();
    (data_dir, running, shop, skus)
}

/// The TikTok stock of a listing's first SKU, summed over its warehouses; `None` when
/// TikTok has no such product.
pub async fn tiktok_first_sku_stock(running: &Running, listing: &records::Listing) -> Option<u64> {
    tiktok_products(running)
        .await
        .iter()
        .find(|p| p["id"].as_str() == listing.tiktok_product_id.as_deref())
        .map(|p| {
            p["skus"][0]["inventory"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|w| w["quantity"].as_u64())
                .sum()
        })
}

/// The TikTok sandbox's base URL.
pub fn tiktok(running: &Running) -> String {
    running.sandboxes.as_ref().unwrap().tiktok.clone()
}

/// Every product the TikTok sandbox holds, as its admin route `/sandbox/products` shows them.
pub async fn tiktok_products(running: &Running) -> Vec<Value> {
    reqwest::get(format!("{}/sandbox/products", tiktok(running)))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// POSTs `body` to a TikTok sandbox admin route.
pub async fn tiktok_admin(running: &Running, path: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}{path}", tiktok(running)))
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The BigCommerce sandbox's base URL.
pub fn bigcommerce(running: &Running) -> String {
    running.sandboxes.as_ref().unwrap().store.clone()
}

/// The store orders with this external (TikTok) order id, as the BigCommerce sandbox holds them.
pub async fn store_orders(running: &Running, external_id: &str) -> Vec<Value> {
    let all: Value = reqwest::get(format!("{}/sandbox/orders", bigcommerce(running)))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    all.as_array()
        .unwrap()
        .iter()
        .filter(|o| o["external_order_id"] == external_id)
        .cloned()
        .collect()
}
