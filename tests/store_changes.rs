//! Store changes the connector must not miss: an edit whose webhook the store never
//! delivered is found by the store poller (the change feed every platform offers), and
//! handled once however often the polls overlap. Through the local runner and both
//! sandboxes.

use std::time::Duration;

use connector::catalog::records;
use connector::changes;
use connector::schedules::{self, Schedule};
use connector_e2e::{eventually, local_stack_with};
use connector_local::onboard_sandbox;
use serde_json::json;

const STORE: &str = "sbx1store";

#[tokio::test]
async fn an_edit_whose_webhook_was_lost_is_found_by_the_store_poller_once() {
    let data_dir = tempfile::tempdir().unwrap();
    let running = local_stack_with(data_dir.path(), false, true, 10).await;
    onboard_sandbox(&running).await.unwrap();
    assert!(running.settle(Duration::from_secs(2), Duration::from_secs(120)).await);
    let app = &running.app;
    let table = app.table.as_ref();
    let bigcommerce = running.sandboxes.as_ref().unwrap().store.clone();
    let http = reqwest::Client::new();
    let product = records::all_products(table, STORE).await.unwrap().remove(0);

    // The first poll opens the store's cursor; from now on every webhook is lost.
    schedules::run(app, Schedule::PollStores).await.unwrap();
    let faults = http
        .post(format!("{bigcommerce}/sandbox/faults"))
        .json(&json!({"drop_webhook_share": 1.0}))
        .send()
        .await
        .unwrap();
    assert!(faults.status().is_success(), "{:?}", faults.text().await);
    let renamed = format!("{} (renamed while webhooks were lost)", product.name);
    let edit = http
        .post(format!(
            "{bigcommerce}/sandbox/products/{}?store_hash={STORE}",
            product.id
        ))
        .json(&json!({"name": renamed}))
        .send()
        .await
        .unwrap();
    assert!(edit.status().is_success(), "{:?}", edit.text().await);
    let report: serde_json::Value = http
        .get(format!("{bigcommerce}/sandbox/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        report["injected"]["dropped_webhook"].as_u64() >= Some(1),
        "the edit's webhook was lost: {report}"
    );
    let name = async || {
        records::get_product(table, STORE, &product.id)
            .await
            .unwrap()
            .unwrap()
            .name
    };

    schedules::run(app, Schedule::PollStores).await.unwrap();
    assert!(
        eventually(30, async || name().await == renamed).await,
        "the store poller found the edit: {}",
        name().await
    );

    // A poll overlapping the last one hands nothing over twice.
    let store = connector::accounts::get_store(table, STORE).await.unwrap().unwrap();
    assert_eq!(
        changes::poll(app, &store).await.unwrap(),
        0,
        "each change is handled once"
    );

    // A stock change whose webhook was lost reaches TikTok through the poller too.
    let shop = connector::accounts::list_shops(table, STORE)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.region == "US")
        .unwrap()
        .shop_id;
    let live_with_one_sku = async || {
        records::shop_listings(table, STORE, &shop)
            .await
            .unwrap()
            .into_iter()
            .find(|l| l.status == records::ListingStatus::Live && l.skus.len() == 1 && l.product_id != product.id)
    };
    assert!(eventually(60, async || live_with_one_sku().await.is_some()).await);
    let listing = &live_with_one_sku().await.unwrap();
    let tiktok_stock = async || connector_e2e::tiktok_first_sku_stock(&running, listing).await;
    assert!(running.settle(Duration::from_secs(2), Duration::from_secs(60)).await);
    let level = tiktok_stock().await.expect("the product is on TikTok") + 7;
    let stock = http
        .post(format!("{bigcommerce}/sandbox/products/{}/stock", listing.product_id))
        .json(&json!({"inventory_level": level}))
        .send()
        .await
        .unwrap();
    assert!(stock.status().is_success(), "{:?}", stock.text().await);
    schedules::run(app, Schedule::PollStores).await.unwrap();
    assert!(
        eventually(30, async || tiktok_stock().await == Some(level)).await,
        "the store's {level} reached TikTok without a webhook: {:?}",
        tiktok_stock().await
    );
}
