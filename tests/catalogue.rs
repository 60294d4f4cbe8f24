//! Catalogue sync end to end, through the local runner and both sandboxes.

use std::time::Duration;

use connector::catalog::records::{self, ListingStatus};
use connector_e2e::local_stack;
use connector_local::{Running, onboard_sandbox};
use serde_json::{Value, json};

const STORE: &str = "sbx1store";

async fn onboarded() -> (tempfile::TempDir, Running) {
    connector::telemetry::init_stderr();
    let data_dir = tempfile::tempdir().unwrap();
    let running = local_stack(data_dir.path(), false, true).await;
    onboard_sandbox(&running).await.unwrap();
    (data_dir, running)
}

async fn us_shop(running: &Running) -> String {
    connector::accounts::list_shops(running.app.table.as_ref(), STORE)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.region == "US")
        .unwrap()
        .shop_id
}

/// Waits until `check` holds, up to `seconds`.
async fn eventually<F: AsyncFnMut() -> bool>(seconds: u64, mut check: F) -> bool {
    for _ in 0..seconds * 10 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn the_demo_catalogue_is_imported_validated_uploaded_and_goes_live() {
    let (_dir, running) = onboarded().await;
    let table = running.app.table.as_ref();
    let products = records::all_products(table, STORE).await.unwrap();
    assert_eq!(products.len(), 60, "the whole sandbox catalogue is imported");
    assert!(
        products
            .iter()
            .any(|p| p.variants.len() == 4 && p.variants.iter().all(|v| v.option_values.len() == 2))
    );
    let shop = us_shop(&running).await;
    let settled = eventually(30, async || {
        let listings = records::shop_listings(table, STORE, &shop).await.unwrap();
        listings.len() == 60
            && listings
                .iter()
                .all(|l| matches!(l.status, ListingStatus::Live | ListingStatus::NotReady))
    })
    .await;
    let listings = records::shop_listings(table, STORE, &shop).await.unwrap();
    assert!(
        settled,
        "{:?}",
        listings
            .iter()
            .map(|l| (l.status, l.reasons.clone()))
            .collect::<Vec<_>>()
    );
    let not_ready: Vec<_> = listings
        .iter()
        .filter(|l| l.status == ListingStatus::NotReady)
        .collect();
    assert_eq!(
        not_ready.len(),
        6,
        "the products without images: {:?}",
        not_ready.iter().take(3).map(|l| &l.reasons).collect::<Vec<_>>()
    );
    assert!(
        not_ready
            .iter()
            .all(|l| l.reasons.iter().any(|r| r.contains("no image")))
    );
    let tiktok: Value = reqwest::get(format!(
        "{}/sandbox/products",
        running.sandboxes.as_ref().unwrap().tiktok
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let live: Vec<&Value> = tiktok
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["status"] == "ACTIVATE")
        .collect();
    assert_eq!(live.len(), 54);
    let with_variants = live.iter().find(|p| p["skus"].as_array().unwrap().len() == 4).unwrap();
    assert!(
        with_variants["skus"][0]["seller_sku"]
            .as_str()
            .unwrap()
            .starts_with("SKU-")
    );
}
