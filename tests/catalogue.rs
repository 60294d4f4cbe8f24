//! Catalogue sync end to end, through the local runner and both sandboxes.

use std::time::Duration;

use connector::catalog::records::{self, ListingStatus};
use connector_e2e::{eventually, local_stack, merchant, once_quiet, tiktok_products};
use connector_local::{Running, onboard_sandbox};
use serde_json::{Value, json};

const STORE: &str = "sbx1store";

async fn onboarded() -> (tempfile::TempDir, Running) {
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
        7,
        "the products without images and the one with an 80×80 image: {:?}",
        not_ready.iter().take(3).map(|l| &l.reasons).collect::<Vec<_>>()
    );
    assert_eq!(
        not_ready
            .iter()
            .filter(|l| l.reasons.iter().any(|r| r.contains("no image")))
            .count(),
        6
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
    assert_eq!(live.len(), 53);
    let with_variants = live.iter().find(|p| p["skus"].as_array().unwrap().len() == 4).unwrap();
    assert!(
        with_variants["skus"][0]["seller_sku"]
            .as_str()
            .unwrap()
            .starts_with("SKU-")
    );
}

fn tiktok_base(running: &Running) -> String {
    running.sandboxes.as_ref().unwrap().tiktok.clone()
}

/// Sets a TikTok SKU's stock per warehouse as Seller Center would (the TikTok
/// sandbox's admin route), outside the connector.
async fn set_tiktok_inventory(running: &Running, tiktok_id: &str, inventory: &Value) {
    let answer = reqwest::Client::new()
        .post(format!(
            "{}/sandbox/products/{tiktok_id}/inventory",
            tiktok_base(running)
        ))
        .json(inventory)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
}

/// Waits until every listing of the US shop is settled (Live or Not ready).
async fn settled(running: &Running) -> Vec<records::Listing> {
    let shop = us_shop(running).await;
    let table = running.app.table.as_ref();
    let done = eventually(30, async || {
        let listings = records::shop_listings(table, STORE, &shop).await.unwrap();
        listings.len() == 60
            && listings
                .iter()
                .all(|l| matches!(l.status, ListingStatus::Live | ListingStatus::NotReady))
    })
    .await;
    assert!(done, "the demo catalogue did not settle");
    records::shop_listings(table, STORE, &shop).await.unwrap()
}

#[tokio::test]
async fn a_burst_of_stock_changes_reaches_tiktok_within_seconds_as_one_update() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    let products = records::all_products(running.app.table.as_ref(), STORE).await.unwrap();
    let simple = products
        .iter()
        .find(|p| {
            p.variants.len() == 1
                && listings
                    .iter()
                    .any(|l| l.product_id == p.id && l.status == ListingStatus::Live)
        })
        .unwrap();
    let listing = listings.iter().find(|l| l.product_id == simple.id).unwrap();
    let tiktok_id = listing.tiktok_product_id.clone().unwrap();
    let bigcommerce = running.sandboxes.as_ref().unwrap().store.clone();
    let shop = us_shop(&running).await;
    let key = format!("{shop}|/product/202309/products/{{id}}/inventory/update");
    let updates = async || {
        let stats: Value = reqwest::get(format!("{}/sandbox/stats", tiktok_base(&running)))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stats["requests_by_key"][&key].as_u64().unwrap_or(0)
    };
    // Listings are saved live before their first stock is published: the count starts
    // once those publications have finished.
    let before = once_quiet(async || updates().await).await;
    let http = reqwest::Client::new();
    for level in 11..=15 {
        http.post(format!("{bigcommerce}/sandbox/products/{}/stock", simple.id))
            .json(&json!({"inventory_level": level}))
            .send()
            .await
            .unwrap();
    }
    let arrived = eventually(10, async || {
        tiktok_products(&running)
            .await
            .iter()
            .any(|p| p["id"] == tiktok_id.as_str() && p["skus"][0]["inventory"][0]["quantity"] == 15)
    })
    .await;
    assert!(arrived, "the last stock level reaches TikTok");
    let calls = updates().await - before;
    assert!(
        (1..=3).contains(&calls),
        "five changes coalesce into one or two TikTok calls, not five: {calls}"
    );
}

#[tokio::test]
async fn re_uploading_edits_the_same_product_and_images_upload_once() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    let before = tiktok_products(&running).await;
    let images_before = running.sandboxes.as_ref().unwrap().tiktok_sandbox.lock().images.len();
    let products = records::all_products(running.app.table.as_ref(), STORE).await.unwrap();
    let distinct_images: std::collections::HashSet<&str> = products
        .iter()
        .flat_map(|p| p.images.iter().map(|i| i.url.as_str()))
        .collect();
    assert_eq!(
        images_before,
        distinct_images.len() - 1,
        "one upload per image, none of the 80×80 one"
    );
    let live = listings.iter().find(|l| l.status == ListingStatus::Live).unwrap();
    let shop = us_shop(&running).await;
    let (mut browser, base, csrf) = merchant(&running).await;
    let csrf = csrf.as_str();
    let body = json!({"shop_id": shop, "product_ids": [live.product_id]});
    assert_eq!(
        browser
            .post_json(&format!("{base}/settings/api/uploads"), &body, csrf)
            .await
            .unwrap()
            .status,
        200
    );
    let table = running.app.table.as_ref();
    assert!(
        eventually(10, async || records::get_listing(table, STORE, &shop, &live.product_id)
            .await
            .unwrap()
            .status
            == ListingStatus::Live
            && records::get_listing(table, STORE, &shop, &live.product_id)
                .await
                .unwrap()
                .updated_at
                > live.updated_at)
        .await
    );
    let after = records::get_listing(table, STORE, &shop, &live.product_id)
        .await
        .unwrap();
    assert_eq!(
        after.tiktok_product_id, live.tiktok_product_id,
        "an edit, not a second product"
    );
    assert_eq!(after.skus, live.skus, "the SKU ids are kept");
    assert_eq!(tiktok_products(&running).await.len(), before.len());
    assert_eq!(
        running.sandboxes.as_ref().unwrap().tiktok_sandbox.lock().images.len(),
        images_before,
        "no image uploaded twice"
    );
}

#[tokio::test]
async fn a_store_change_updates_tiktok_and_a_rejection_ends_as_a_reason() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    let live = listings.iter().find(|l| l.status == ListingStatus::Live).unwrap();
    let live_title = tiktok_product(&running, live).await["title"].clone();
    let bigcommerce = running.sandboxes.as_ref().unwrap().store.clone();
    // Renamed in the store: the product webhook re-imports it and (auto update) edits it on TikTok.
    hold_reviews(&running, true).await;
    reqwest::Client::new()
        .post(format!("{bigcommerce}/sandbox/products/{}", live.product_id))
        .json(&json!({"name": "Miracle phone case [reject]"}))
        .send()
        .await
        .unwrap();
    let shop = us_shop(&running).await;
    let table = running.app.table.as_ref();
    let listing = async || {
        records::get_listing(table, STORE, &shop, &live.product_id)
            .await
            .unwrap()
    };
    let in_review = eventually(15, async || {
        listing().await.reasons == ["An edit is in TikTok's review; the previous version stays live until it passes."]
    })
    .await;
    assert!(in_review, "{:?}", listing().await.reasons);
    assert_eq!(
        listing().await.status,
        ListingStatus::Live,
        "live while the edit is reviewed"
    );
    hold_reviews(&running, false).await;
    let rejected = async || {
        records::get_listing(table, STORE, &shop, &live.product_id)
            .await
            .unwrap()
            .reasons
            .iter()
            .any(|r| r.starts_with("TikTok rejected the last edit"))
    };
    assert!(eventually(15, rejected).await, "the rejected edit ends as a reason");
    let listing = records::get_listing(table, STORE, &shop, &live.product_id)
        .await
        .unwrap();
    assert_eq!(
        listing.status,
        ListingStatus::Live,
        "the previous version stays live: {:?}",
        listing.reasons
    );
    assert!(
        listing.reasons.iter().any(|r| r.contains("prohibited")),
        "TikTok's audit reason is kept: {:?}",
        listing.reasons
    );
    let product = tiktok_product(&running, &listing).await;
    assert_eq!(
        (&product["status"], &product["audit"]["status"]),
        (&json!("ACTIVATE"), &json!("FAILED"))
    );
    assert_eq!(product["title"], live_title, "buyers still see the previous title");
    // The merchant sees it on the products page's data.
    let (mut browser, base, _) = merchant(&running).await;
    let rows = browser.get(&format!("{base}/settings/api/products")).await.unwrap();
    let rows: Value = serde_json::from_str(&rows.body).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == live.product_id.as_str())
        .unwrap();
    let shown = row["listings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["shop_id"] == shop.as_str())
        .unwrap();
    assert_eq!(shown["status"], "live");
    assert!(
        shown["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("TikTok rejected the last edit; the previous version stays live."),
        "{shown}"
    );
}

#[tokio::test]
async fn bulk_actions_linking_and_the_category_helper() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    let shop = us_shop(&running).await;
    let live: Vec<_> = listings
        .iter()
        .filter(|l| l.status == ListingStatus::Live)
        .take(3)
        .collect();
    let (mut browser, base, csrf) = merchant(&running).await;
    let act = async |browser: &mut connector_local::Browser, action: &str, ids: Vec<&str>| {
        let body = json!({"shop_id": shop, "action": action, "product_ids": ids});
        let answer = browser
            .post_json(&format!("{base}/settings/api/products/actions"), &body, &csrf)
            .await
            .unwrap();
        serde_json::from_str::<Value>(&answer.body).unwrap()["accepted"]
            .as_u64()
            .unwrap()
    };
    let ids: Vec<&str> = live.iter().map(|l| l.product_id.as_str()).collect();
    assert_eq!(act(&mut browser, "deactivate", ids.clone()).await, 3);
    assert_eq!(act(&mut browser, "delete", ids[..1].to_vec()).await, 1);
    assert_eq!(act(&mut browser, "recover", ids[..1].to_vec()).await, 1);
    let table = running.app.table.as_ref();
    let tiktok = tiktok_products(&running).await;
    for listing in &live {
        assert_eq!(
            records::get_listing(table, STORE, &shop, &listing.product_id)
                .await
                .unwrap()
                .status,
            ListingStatus::Inactive
        );
        let product = tiktok
            .iter()
            .find(|p| p["id"] == listing.tiktok_product_id.as_deref().unwrap())
            .unwrap();
        assert_eq!(product["status"], "SELLER_DEACTIVATED");
    }

    // Forget one link, as if the product had been listed outside the connector.
    let forgotten = live[1];
    records::save_listing(table, STORE, records::Listing::new(&forgotten.product_id, &shop))
        .await
        .unwrap();
    let report = browser
        .post_json(
            &format!("{base}/settings/api/linking/auto"),
            &json!({"shop_id": shop}),
            &csrf,
        )
        .await
        .unwrap();
    let report: Value = serde_json::from_str(&report.body).unwrap();
    assert_eq!(report["linked"], 53, "every TikTok product matches a store SKU");
    assert_eq!(report["linking_required"], json!([]));
    let relinked = records::get_listing(table, STORE, &shop, &forgotten.product_id)
        .await
        .unwrap();
    assert_eq!(
        (relinked.tiktok_product_id, relinked.skus),
        (forgotten.tiktok_product_id.clone(), forgotten.skus.clone())
    );

    let recommended = browser
        .post_json(
            &format!("{base}/settings/api/categories/recommend"),
            &json!({"shop_id": shop, "title": "Slim phone case"}),
            &csrf,
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&recommended.body).unwrap()["leaf_category_id"],
        "900010"
    );
}

/// The TikTok sandbox's copy of a listed product.
async fn tiktok_product(running: &Running, listing: &records::Listing) -> Value {
    let id = listing.tiktok_product_id.as_deref().unwrap();
    tiktok_products(running)
        .await
        .into_iter()
        .find(|p| p["id"] == id)
        .unwrap()
}

#[tokio::test]
async fn a_store_price_change_updates_the_tiktok_price_without_a_new_review_and_a_promotion_lock_is_a_reason() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    let single: Vec<_> = listings
        .iter()
        .filter(|l| l.status == ListingStatus::Live && l.skus.len() == 1)
        .take(2)
        .collect();
    let (repriced, locked) = (single[0], single[1]);
    let bigcommerce = running.sandboxes.as_ref().unwrap().store.clone();
    let http = reqwest::Client::new();
    http.post(format!("{bigcommerce}/sandbox/products/{}", repriced.product_id))
        .json(&json!({"price": 23.45}))
        .send()
        .await
        .unwrap();
    let price = async |listing: &records::Listing| {
        tiktok_product(&running, listing).await["skus"][0]["price"]["sale_price"].clone()
    };
    assert!(
        eventually(15, async || price(repriced).await == "23.45").await,
        "the new price reaches TikTok: {}",
        price(repriced).await
    );
    assert_eq!(
        tiktok_product(&running, repriced).await["status"],
        "ACTIVATE",
        "a price change is no edit: the product stays live, not back in review"
    );

    // A promotion locks the other product's price on TikTok.
    let sku = &locked.skus[0].1;
    let tiktok = tiktok_base(&running);
    http.post(format!("{tiktok}/sandbox/promotions"))
        .json(&json!({"sku_id": sku}))
        .send()
        .await
        .unwrap();
    let before = price(locked).await;
    http.post(format!("{bigcommerce}/sandbox/products/{}", locked.product_id))
        .json(&json!({"price": 99.5}))
        .send()
        .await
        .unwrap();
    let shop = us_shop(&running).await;
    let table = running.app.table.as_ref();
    let reason = async || {
        records::get_listing(table, STORE, &shop, &locked.product_id)
            .await
            .unwrap()
            .reasons
            .into_iter()
            .find(|r| r.contains("promotion"))
    };
    assert!(
        eventually(15, async || reason().await.is_some()).await,
        "the lock ends as a reason"
    );
    assert!(
        reason().await.unwrap().starts_with("Price not changed"),
        "{:?}",
        reason().await
    );
    assert_eq!(price(locked).await, before, "TikTok keeps the promotion price");

    // A global price sync (manual) re-sends every live price; the lock's reason stays current.
    let (mut browser, base, csrf) = merchant(&running).await;
    let last_change = records::get_listing(table, STORE, &shop, &locked.product_id)
        .await
        .unwrap()
        .updated_at;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let answer = browser
        .post_json(&format!("{base}/settings/api/price-sync"), &json!({"all": true}), &csrf)
        .await
        .unwrap();
    let queued = serde_json::from_str::<Value>(&answer.body).unwrap()["queued"]
        .as_u64()
        .unwrap();
    assert_eq!(queued, 60, "one job per store product");
    let synced_again = eventually(15, async || {
        records::get_listing(table, STORE, &shop, &locked.product_id)
            .await
            .unwrap()
            .updated_at
            > last_change
    })
    .await;
    assert!(synced_again, "the global sync reaches the locked product too");
    let reasons = records::get_listing(table, STORE, &shop, &locked.product_id)
        .await
        .unwrap()
        .reasons;
    assert_eq!(
        reasons.iter().filter(|r| r.contains("promotion")).count(),
        1,
        "replaced, not piled up: {reasons:?}"
    );

    // Status sync: TikTok deactivated a product without a webhook reaching us.
    let hidden = listings
        .iter()
        .find(|l| {
            l.status == ListingStatus::Live && l.product_id != repriced.product_id && l.product_id != locked.product_id
        })
        .unwrap();
    {
        let sandbox = running.sandboxes.as_ref().unwrap().tiktok_sandbox.clone();
        let mut state = sandbox.lock();
        state
            .products
            .get_mut(hidden.tiktok_product_id.as_deref().unwrap())
            .unwrap()["status"] = json!("PLATFORM_DEACTIVATED");
    }
    let body = json!({"shop_id": shop, "action": "sync_status", "product_ids": [hidden.product_id]});
    let answer = browser
        .post_json(&format!("{base}/settings/api/products/actions"), &body, &csrf)
        .await
        .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&answer.body).unwrap()["accepted"], 1);
    assert!(
        eventually(10, async || records::get_listing(
            table,
            STORE,
            &shop,
            &hidden.product_id
        )
        .await
        .unwrap()
        .status
            == ListingStatus::Inactive)
        .await,
        "the status sync finds it inactive"
    );
}

#[tokio::test]
async fn uploads_held_by_the_daily_listing_limit_are_scheduled_and_sent_the_next_day() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    let table = running.app.table.as_ref();
    let mut gb = connector::accounts::list_shops(table, STORE)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.region == "GB")
        .unwrap();
    gb.conversion_rate = Some("0.8".parse().unwrap());
    connector::accounts::save_shop(table, &gb).await.unwrap();
    let sandbox = running.sandboxes.as_ref().unwrap().tiktok_sandbox.clone();
    let limit = sandbox.config.daily_listing_limit;
    let today = connector::storage::unix_now() / 86_400;
    sandbox.lock().listings.insert((gb.shop_id.clone(), today), limit);

    let product = &listings
        .iter()
        .find(|l| l.status == ListingStatus::Live)
        .unwrap()
        .product_id;
    let (mut browser, base, csrf) = merchant(&running).await;
    let body = json!({"shop_id": gb.shop_id, "product_ids": [product]});
    let answer = browser
        .post_json(&format!("{base}/settings/api/uploads"), &body, &csrf)
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    let scheduled = eventually(15, async || {
        records::get_listing(table, STORE, &gb.shop_id, product)
            .await
            .unwrap()
            .status
            == ListingStatus::Scheduled
    })
    .await;
    assert!(scheduled, "12052093 schedules the upload");
    let held = records::get_listing(table, STORE, &gb.shop_id, product).await.unwrap();
    let eta = held.eta.unwrap();
    assert_eq!(
        eta,
        (today + 1) * 86_400,
        "the ETA the merchant sees: next midnight UTC"
    );
    assert!(held.reasons[0].contains("daily listing limit"), "{:?}", held.reasons);
    // The merchant is told behind the bell, once for the day.
    let notices = connector::notices::list(table, STORE).await.unwrap();
    let limited: Vec<_> = notices
        .iter()
        .filter(|n| n.kind == connector::notices::NoticeKind::ListingLimit && n.shop_id == gb.shop_id)
        .collect();
    assert_eq!(limited.len(), 1, "{notices:?}");
    assert!(!limited[0].read && limited[0].text.contains("daily listing limit"));

    assert_eq!(
        connector::catalog::sync::release_scheduled(&running.app, eta - 1)
            .await
            .unwrap(),
        0,
        "not before its time"
    );
    // The next day: TikTok's count starts over and the sweeper sends the upload.
    sandbox.lock().listings.clear();
    assert_eq!(
        connector::catalog::sync::release_scheduled(&running.app, eta)
            .await
            .unwrap(),
        1
    );
    let sent = eventually(15, async || {
        let listing = records::get_listing(table, STORE, &gb.shop_id, product).await.unwrap();
        listing.tiktok_product_id.is_some()
            && matches!(listing.status, ListingStatus::PendingReview | ListingStatus::Live)
    })
    .await;
    assert!(
        sent,
        "{:?}",
        records::get_listing(table, STORE, &gb.shop_id, product).await.unwrap()
    );
    assert_eq!(
        connector::catalog::sync::release_scheduled(&running.app, eta + 86_400)
            .await
            .unwrap(),
        0,
        "sent once"
    );
}

/// The listing of `product_id` forgot its TikTok product, and `sku` no longer maps to
/// a store variant (so orders of it are not taken for the product).
async fn assert_unlinked(table: &dyn connector::storage::Table, shop: &str, product_id: &str, sku: &str) {
    let unlinked = records::get_listing(table, STORE, shop, product_id).await.unwrap();
    assert_eq!(unlinked.status, ListingStatus::NotUploaded);
    assert!(unlinked.tiktok_product_id.is_none());
    assert!(
        records::variant_of_sku(table, STORE, shop, sku)
            .await
            .unwrap()
            .is_none(),
        "orders of its SKUs no longer map"
    );
}

#[tokio::test]
async fn the_merchant_unlinks_and_links_products_by_hand() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    let shop = us_shop(&running).await;
    let table = running.app.table.as_ref();
    let mut live = listings.iter().filter(|l| l.status == ListingStatus::Live);
    let (linked, other) = (live.next().unwrap(), live.next().unwrap());
    let tiktok_id = linked.tiktok_product_id.clone().unwrap();
    let (variant, sku) = linked.skus[0].clone();
    let (mut browser, base, csrf) = merchant(&running).await;
    let post = async |browser: &mut connector_local::Browser, route: &str, body: Value| {
        browser
            .post_json(&format!("{base}/settings/api/linking/{route}"), &body, &csrf)
            .await
            .unwrap()
    };

    let answer = post(
        &mut browser,
        "unlink",
        json!({"shop_id": shop, "product_id": linked.product_id}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_unlinked(table, &shop, &linked.product_id, &sku).await;

    let wrong_sku = json!({"shop_id": shop, "product_id": linked.product_id, "tiktok_product_id": tiktok_id,
                           "skus": [[variant, "1729592969712299999"]]});
    let answer = post(&mut browser, "manual", wrong_sku).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.body.contains("is not a SKU of that TikTok product"),
        "{}",
        answer.body
    );

    let by_seller_sku = json!({"shop_id": shop, "product_id": linked.product_id, "tiktok_product_id": tiktok_id});
    let answer = post(&mut browser, "manual", by_seller_sku).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let relinked = records::get_listing(table, STORE, &shop, &linked.product_id)
        .await
        .unwrap();
    assert_eq!(relinked.status, ListingStatus::Live);
    assert_eq!(relinked.skus, linked.skus, "variants matched by seller SKU");
    assert_eq!(
        records::variant_of_sku(table, STORE, &shop, &sku)
            .await
            .unwrap()
            .map(|(v, _)| v),
        Some(variant)
    );

    let taken = json!({"shop_id": shop, "product_id": other.product_id, "tiktok_product_id": tiktok_id});
    let answer = post(&mut browser, "manual", taken).await;
    assert_eq!(answer.status, 400);
    assert!(answer.body.contains("already linked"), "{}", answer.body);
}

/// Listings of a shop by status.
async fn status_counts(running: &Running, shop: &str) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for listing in records::shop_listings(running.app.table.as_ref(), STORE, shop)
        .await
        .unwrap()
    {
        *counts.entry(format!("{:?}", listing.status)).or_default() += 1;
    }
    counts
}

/// How many products the large-catalogue test imports and uploads:
/// `CONNECTOR_CATALOGUE_PRODUCTS`, 2,000 by default (the suite's small version; the
/// README's 10,000-product run sets it).
fn large_catalogue_size() -> usize {
    std::env::var("CONNECTOR_CATALOGUE_PRODUCTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_catalogue_imports_and_uploads_without_a_single_429() {
    let products = large_catalogue_size();
    let data_dir = tempfile::tempdir().unwrap();
    let running = connector_e2e::local_stack_with(data_dir.path(), false, true, products).await;
    let started = std::time::Instant::now();
    onboard_sandbox(&running).await.unwrap();
    let imported = records::all_products(running.app.table.as_ref(), STORE)
        .await
        .unwrap()
        .len();
    assert_eq!(imported, products, "the whole catalogue is imported");
    let imported_after = started.elapsed();
    let shop = us_shop(&running).await;
    let mut counts = status_counts(&running, &shop).await;
    for _ in 0..360 {
        let settled = counts.values().sum::<usize>() == products
            && ["Queued", "Uploading", "PendingReview"]
                .iter()
                .all(|s| !counts.contains_key(*s));
        if settled {
            break;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        counts = status_counts(&running, &shop).await;
    }
    eprintln!(
        "{products}-product catalogue: imported in {:.0?}, settled in {:.0?}: {counts:?}",
        imported_after,
        started.elapsed()
    );
    let live = counts.get("Live").copied().unwrap_or(0);
    let not_ready = counts.get("NotReady").copied().unwrap_or(0);
    assert_eq!(
        live + not_ready,
        products,
        "every product is live or has its reasons: {counts:?}"
    );
    assert!(live >= products * 8 / 10, "most of the catalogue is valid: {counts:?}");
    let sandboxes = running.sandboxes.as_ref().unwrap();
    let tiktok: Value = reqwest::get(format!("{}/sandbox/stats", sandboxes.tiktok))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        tiktok["throttled"], 0,
        "TikTok never answered 429: {}",
        tiktok["throttled_by_key"]
    );
    let store: Value = reqwest::get(format!("{}/sandbox/stats", sandboxes.store))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(store["throttled"], 0, "BigCommerce never answered 429");
    assert_eq!(
        tiktok_products(&running).await.len(),
        live,
        "one TikTok product per live listing, no duplicates"
    );
}

/// PUTs a file to a route of the store's first profile (`size-chart`,
/// `certifications/<id>`), as the settings page would.
async fn put_profile_file(
    browser: &mut connector_local::Browser,
    base: &str,
    csrf: &str,
    route: &str,
    bytes: &[u8],
) -> reqwest::Response {
    let profiles = browser.get(&format!("{base}/settings/api/profiles")).await.unwrap();
    let profiles: Value = serde_json::from_str(&profiles.body).unwrap();
    let profile_id = profiles[0]["id"].as_str().unwrap();
    let url = format!("{base}/settings/api/profiles/{profile_id}/{route}");
    reqwest::Client::new()
        .put(&url)
        .header("cookie", browser.cookie_header(&url).unwrap())
        .header("x-csrf-token", csrf)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap()
}

/// The merchant uploads one product to a shop by hand.
async fn upload_by_hand(browser: &mut connector_local::Browser, base: &str, csrf: &str, shop: &str, product: &str) {
    let body = json!({"shop_id": shop, "product_ids": [product]});
    let answer = browser
        .post_json(&format!("{base}/settings/api/uploads"), &body, csrf)
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn per_product_overrides_and_a_profile_size_chart_reach_tiktok() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    let listing = listings.iter().find(|l| l.status == ListingStatus::Live).unwrap();
    let product = &listing.product_id;
    let shop = us_shop(&running).await;
    let table = running.app.table.as_ref();
    let (mut browser, base, csrf) = merchant(&running).await;
    let overrides_url = format!("{base}/settings/api/products/{product}/overrides");
    let put = async |browser: &mut connector_local::Browser, body: Value| {
        let answer = browser.put_json(&overrides_url, &body, &csrf).await.unwrap();
        (answer.status, answer.body)
    };

    let (status, body) = put(&mut browser, json!({"title": "Summer linen dress, hand finished"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["queued"],
        1,
        "re-listed where it is listed"
    );
    let retitled = eventually(15, async || {
        tiktok_product(&running, listing).await["title"] == "Summer linen dress, hand finished"
    })
    .await;
    assert!(retitled, "the override title reaches TikTok");
    assert_eq!(
        records::get_product(table, STORE, product).await.unwrap().unwrap().name,
        listings_name(&running, product).await,
        "the store product keeps its own name"
    );
    let (status, _) = put(&mut browser, json!({"title": ""})).await;
    assert_eq!(status, 400, "an empty title is refused");

    // Dresses need a material and a size chart: the override adds the material; the size chart is missing.
    let dress = json!({"title": "Summer linen dress, hand finished", "category_id": "600010",
                       "attributes": [{"attribute_id": "100392", "source": {"kind": "fixed", "value": "Cotton"}}]});
    put(&mut browser, dress).await;
    let reasons = async || {
        records::get_listing(table, STORE, &shop, product)
            .await
            .unwrap()
            .reasons
    };
    assert!(
        eventually(15, async || reasons()
            .await
            .iter()
            .any(|r| r.contains("needs a size chart")))
        .await,
        "{:?}",
        reasons().await
    );
    assert_eq!(
        reasons().await.len(),
        1,
        "the material comes from the override: {:?}",
        reasons().await
    );

    // TikTok wants the shorter side of a size chart at 1024 px or more.
    let answer = put_profile_file(
        &mut browser,
        &base,
        &csrf,
        "size-chart",
        &connector_e2e::png(1024, 1400),
    )
    .await;
    assert_eq!(answer.status(), 200);
    let profile: Value = answer.json().await.unwrap();
    let uri = profile["size_chart_uri"].as_str().unwrap().to_string();
    let sandbox = running.sandboxes.as_ref().unwrap().tiktok_sandbox.clone();
    assert!(sandbox.lock().images.contains(&uri), "uploaded to TikTok as an image");

    upload_by_hand(&mut browser, &base, &csrf, &shop, product).await;
    let tiktok_id = listing.tiktok_product_id.clone().unwrap();
    let stored = || sandbox.lock().products[&tiktok_id].clone();
    let listed = eventually(15, async || {
        let product = stored();
        product["category_id"] == "600010" && product["size_chart"]["image"]["uri"] == uri.as_str()
    })
    .await;
    assert!(listed, "{}", stored());
    assert_eq!(
        stored()["product_attributes"][0]["id"],
        "100392",
        "with the override's material"
    );
}

/// The store's own name of a product.
async fn listings_name(running: &Running, product_id: &str) -> String {
    let products: Value = reqwest::get(format!(
        "{}/sandbox/products",
        running.sandboxes.as_ref().unwrap().store
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    products
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"].to_string() == product_id)
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn sync_rules_keep_the_fields_the_merchant_excludes() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    let listing = listings
        .iter()
        .find(|l| l.status == ListingStatus::Live && l.skus.len() == 1)
        .unwrap();
    let before = tiktok_product(&running, listing).await;
    let (mut browser, base, csrf) = merchant(&running).await;
    let rules = json!({"sync_fields": {"title": false, "description": true, "images": true, "weight": true,
                                       "price": true, "barcode": true, "stock": false}});
    let settings_url = format!("{base}/settings/api/settings");
    let answer = browser.put_json(&settings_url, &rules, &csrf).await.unwrap();
    assert_eq!(answer.status, 200);
    let refused = browser
        .put_json(&settings_url, &json!({"no_such_setting": true}), &csrf)
        .await
        .unwrap();
    assert_eq!(refused.status, 400);

    let bigcommerce = running.sandboxes.as_ref().unwrap().store.clone();
    let http = reqwest::Client::new();
    // Renamed and repriced in the store: the price may change on TikTok, the title may not.
    http.post(format!("{bigcommerce}/sandbox/products/{}", listing.product_id))
        .json(&json!({"name": "Renamed in the store", "price": 31.0}))
        .send()
        .await
        .unwrap();
    let repriced = eventually(15, async || {
        let price = tiktok_product(&running, listing).await["skus"][0]["price"]["sale_price"].clone();
        price.as_str().and_then(|p| p.parse::<f64>().ok()) == Some(31.0)
    })
    .await;
    assert!(repriced, "{}", tiktok_product(&running, listing).await);
    assert_eq!(
        tiktok_product(&running, listing).await["title"],
        before["title"],
        "the title is kept"
    );

    http.post(format!("{bigcommerce}/sandbox/products/{}/stock", listing.product_id))
        .json(&json!({"inventory_level": 3}))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        tiktok_product(&running, listing).await["skus"][0]["inventory"],
        before["skus"][0]["inventory"],
        "stock is excluded: TikTok keeps its own"
    );
}

#[tokio::test]
async fn stock_at_the_threshold_deactivates_and_returning_stock_activates_and_excluded_products_keep_theirs() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    let mut single = listings
        .iter()
        .filter(|l| l.status == ListingStatus::Live && l.skus.len() == 1);
    let (thin, excluded) = (single.next().unwrap(), single.next().unwrap());
    let shop = us_shop(&running).await;
    let table = running.app.table.as_ref();
    let (mut browser, base, csrf) = merchant(&running).await;
    let mut put = async |url: String, body: Value| {
        let answer = browser.put_json(&url, &body, &csrf).await.unwrap();
        assert_eq!(answer.status, 200);
    };
    let policy =
        json!({"inventory": {"threshold": 2, "reserve": 0, "untracked_quantity": 99, "deactivate_at_threshold": true}});
    put(format!("{base}/settings/api/settings"), policy).await;
    let exclude = json!({"exclude_from_stock_sync": true});
    put(
        format!("{base}/settings/api/products/{}/overrides", excluded.product_id),
        exclude,
    )
    .await;

    let bigcommerce = running.sandboxes.as_ref().unwrap().store.clone();
    let set_stock = async |listing: &records::Listing, level: i64| {
        reqwest::Client::new()
            .post(format!("{bigcommerce}/sandbox/products/{}/stock", listing.product_id))
            .json(&json!({"inventory_level": level}))
            .send()
            .await
            .unwrap();
    };
    let excluded_before = tiktok_product(&running, excluded).await["skus"][0]["inventory"].clone();
    set_stock(thin, 1).await;
    set_stock(excluded, 77).await;
    let status = async |listing: &records::Listing| tiktok_product(&running, listing).await["status"].clone();
    assert!(
        eventually(15, async || status(thin).await == "SELLER_DEACTIVATED").await,
        "at the threshold the product is deactivated on TikTok"
    );
    let held = records::get_listing(table, STORE, &shop, &thin.product_id)
        .await
        .unwrap();
    assert_eq!(held.status, ListingStatus::Inactive);
    assert!(held.reasons[0].contains("threshold (2)"), "{:?}", held.reasons);

    set_stock(thin, 10).await;
    let back = eventually(20, async || {
        status(thin).await == "ACTIVATE"
            && records::get_listing(table, STORE, &shop, &thin.product_id)
                .await
                .unwrap()
                .status
                == ListingStatus::Live
    })
    .await;
    assert!(back, "stock returns: activated again, through review");
    assert_eq!(
        tiktok_product(&running, thin).await["skus"][0]["inventory"][0]["quantity"],
        10
    );
    assert_eq!(
        tiktok_product(&running, excluded).await["skus"][0]["inventory"],
        excluded_before,
        "an excluded product keeps TikTok's stock"
    );
}

#[tokio::test]
async fn a_category_that_needs_a_certification_takes_a_pdf_uploaded_to_the_profile() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    let listing = listings.iter().find(|l| l.status == ListingStatus::Live).unwrap();
    let product = &listing.product_id;
    let shop = us_shop(&running).await;
    let table = running.app.table.as_ref();
    let (mut browser, base, csrf) = merchant(&running).await;
    let skincare = json!({"category_id": "800010"});
    let overrides_url = format!("{base}/settings/api/products/{product}/overrides");
    browser.put_json(&overrides_url, &skincare, &csrf).await.unwrap();
    let reasons = async || {
        records::get_listing(table, STORE, &shop, product)
            .await
            .unwrap()
            .reasons
    };
    let needs = eventually(15, async || {
        reasons()
            .await
            .iter()
            .any(|r| r.contains("needs the certification \"Cosmetic safety report\""))
    })
    .await;
    assert!(needs, "{:?}", reasons().await);

    let mut upload =
        async |bytes: &[u8]| put_profile_file(&mut browser, &base, &csrf, "certifications/602362", bytes).await;
    let refused = upload(b"not a document").await;
    assert_eq!(refused.status(), 400, "neither a PDF nor an image");
    let answer = upload(b"%PDF-1.4\n%sandbox safety report\n").await;
    assert_eq!(answer.status(), 200);
    let profile: Value = answer.json().await.unwrap();
    let file_id = profile["certification_files"][0]["id"].as_str().unwrap().to_string();
    let sandbox = running.sandboxes.as_ref().unwrap().tiktok_sandbox.clone();
    assert!(sandbox.lock().files.contains(&file_id), "uploaded to TikTok as a file");

    upload_by_hand(&mut browser, &base, &csrf, &shop, product).await;
    let tiktok_id = listing.tiktok_product_id.clone().unwrap();
    let stored = || sandbox.lock().products[&tiktok_id].clone();
    let certified = eventually(15, async || {
        let product = stored();
        product["category_id"] == "800010" && product["certifications"][0]["files"][0]["id"] == file_id.as_str()
    })
    .await;
    assert!(certified, "{}", stored());
    assert_eq!(stored()["certifications"][0]["files"][0]["format"], "PDF");
}

/// Holds (or releases) TikTok's reviews in the sandbox.
async fn hold_reviews(running: &Running, hold: bool) {
    let answer = reqwest::Client::new()
        .post(format!("{}/sandbox/reviews", tiktok_base(running)))
        .json(&json!({ "hold": hold }))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
}

#[tokio::test]
async fn a_price_change_while_an_edit_is_in_review_reaches_tiktok_when_the_review_passes() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    let live = listings
        .iter()
        .find(|l| l.status == ListingStatus::Live && l.skus.len() == 1)
        .unwrap();
    let bigcommerce = running.sandboxes.as_ref().unwrap().store.clone();
    let http = reqwest::Client::new();
    let shop = us_shop(&running).await;
    let table = running.app.table.as_ref();
    let listing = async || {
        records::get_listing(table, STORE, &shop, &live.product_id)
            .await
            .unwrap()
    };

    hold_reviews(&running, true).await;
    http.post(format!("{bigcommerce}/sandbox/products/{}", live.product_id))
        .json(&json!({"name": "Sandbox product, new cut"}))
        .send()
        .await
        .unwrap();
    let in_review = eventually(15, async || {
        tiktok_product(&running, live).await["audit"]["status"] == "AUDITING"
    })
    .await;
    assert!(in_review, "the rename is an edit in TikTok's review");
    // Two store events about one product within one second carry the same `hash` and
    // the connector keeps only the first: let the second change be a second later.
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // The store price changes while TikTok reviews the edit.
    http.post(format!("{bigcommerce}/sandbox/products/{}", live.product_id))
        .json(&json!({"price": 31.45}))
        .send()
        .await
        .unwrap();
    let price = async || tiktok_product(&running, live).await["skus"][0]["price"]["sale_price"].clone();
    assert!(
        eventually(15, async || price().await == "31.45").await,
        "the live version takes the new price: {}",
        price().await
    );

    hold_reviews(&running, false).await;
    let passed = eventually(15, async || {
        let product = tiktok_product(&running, live).await;
        product["audit"]["status"] == "APPROVED"
            && product["title"] == "Sandbox product, new cut"
            && product["skus"][0]["price"]["sale_price"] == "31.45"
    })
    .await;
    assert!(
        passed,
        "the approved edit is live at the store's current price: {}",
        tiktok_product(&running, live).await
    );
    let settled_listing = listing().await;
    assert_eq!(settled_listing.status, ListingStatus::Live);
    assert!(
        settled_listing.reasons.is_empty(),
        "no reason once the review passed: {:?}",
        settled_listing.reasons
    );
}

#[tokio::test]
async fn stock_reaches_every_warehouse_of_a_sku_and_never_exceeds_the_policy() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    let products = records::all_products(running.app.table.as_ref(), STORE).await.unwrap();
    let live = listings
        .iter()
        .find(|l| {
            l.status == ListingStatus::Live && products.iter().any(|p| p.id == l.product_id && p.variants.len() == 1)
        })
        .unwrap();
    let table = running.app.table.as_ref();
    let shop = connector::accounts::get_shop(table, STORE, &us_shop(&running).await)
        .await
        .unwrap()
        .unwrap();
    let chosen = shop.default_warehouse_id.clone().unwrap();
    let other = shop.warehouses.iter().find(|w| w.id != chosen).unwrap().id.clone();
    let http = reqwest::Client::new();
    // The seller also stocks the SKU in the second warehouse, in Seller Center.
    let tiktok_id = live.tiktok_product_id.as_deref().unwrap();
    let stocked = json!({"sku_id": live.skus[0].1, "inventory": [{"warehouse_id": chosen, "quantity": 6},
                                                                 {"warehouse_id": other, "quantity": 4}]});
    set_tiktok_inventory(&running, tiktok_id, &stocked).await;
    let stock = async || {
        let product = tiktok_product(&running, live).await;
        let mut stock: Vec<(String, u64)> = product["skus"][0]["inventory"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                (
                    w["warehouse_id"].as_str().unwrap().to_string(),
                    w["quantity"].as_u64().unwrap(),
                )
            })
            .collect();
        stock.sort();
        stock
    };
    let expected = |in_chosen: u64, in_other: u64| {
        let mut stock = vec![(chosen.clone(), in_chosen), (other.clone(), in_other)];
        stock.sort();
        stock
    };
    let bigcommerce = running.sandboxes.as_ref().unwrap().store.clone();
    let set_store_stock = async |level: i64| {
        http.post(format!("{bigcommerce}/sandbox/products/{}/stock", live.product_id))
            .json(&json!({ "inventory_level": level }))
            .send()
            .await
            .unwrap();
    };

    set_store_stock(15).await;
    assert!(
        eventually(10, async || stock().await == expected(11, 4)).await,
        "15 in the store: the other warehouse keeps its 4, the chosen one gets 11: {:?}",
        stock().await
    );
    set_store_stock(2).await;
    assert!(
        eventually(10, async || stock().await == expected(0, 2)).await,
        "2 in the store: TikTok offers 2 in all, not 2 + 4: {:?}",
        stock().await
    );
    let reasons = records::get_listing(table, STORE, &shop.shop_id, &live.product_id)
        .await
        .unwrap()
        .reasons;
    assert!(reasons.is_empty(), "no refusal: {reasons:?}");
}

#[tokio::test]
async fn packages_are_declared_in_the_units_of_each_shop_region() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    // Product 1 weighs 1.5 oz in a 10 × 5 × 2 in box (the store's units: ounces, inches).
    let us_listing = listings.iter().find(|l| l.product_id == "1").unwrap();
    let package = |product: &Value| (product["package_weight"].clone(), product["package_dimensions"].clone());
    assert_eq!(
        package(&tiktok_product(&running, us_listing).await),
        (
            json!({"value": "0.1", "unit": "POUND"}),
            json!({"length": "2", "width": "10", "height": "5", "unit": "INCH"})
        ),
        "a US shop takes pounds and inches: 1.5 oz = 0.094 lb, rounded up"
    );

    let table = running.app.table.as_ref();
    let mut gb = connector::accounts::list_shops(table, STORE)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.region == "GB")
        .unwrap();
    gb.conversion_rate = Some("0.8".parse().unwrap());
    connector::accounts::save_shop(table, &gb).await.unwrap();
    let (mut browser, base, csrf) = merchant(&running).await;
    upload_by_hand(&mut browser, &base, &csrf, &gb.shop_id, "1").await;
    let gb_listing = async || records::get_listing(table, STORE, &gb.shop_id, "1").await.unwrap();
    let created = eventually(15, async || gb_listing().await.tiktok_product_id.is_some()).await;
    assert!(created, "{:?}", gb_listing().await.reasons);
    assert_eq!(
        package(&tiktok_product(&running, &gb_listing().await).await),
        (
            json!({"value": "0.043", "unit": "KILOGRAM"}),
            json!({"length": "6", "width": "26", "height": "13", "unit": "CENTIMETER"})
        ),
        "a GB shop takes kilograms and whole centimetres: 1.5 oz = 0.0425 kg, 2 in = 5.08 cm, all rounded up"
    );
}

#[tokio::test]
async fn a_main_image_too_small_for_tiktok_leaves_the_product_not_ready_with_its_size() {
    let (_dir, running) = onboarded().await;
    settled(&running).await;
    let shop = us_shop(&running).await;
    // Product 11's only image is 80×80 px.
    let (mut browser, base, _) = merchant(&running).await;
    let rows = browser.get(&format!("{base}/settings/api/products")).await.unwrap();
    let rows: Value = serde_json::from_str(&rows.body).unwrap();
    let row = rows.as_array().unwrap().iter().find(|r| r["id"] == "11").unwrap();
    let shown = row["listings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["shop_id"] == shop.as_str())
        .unwrap();
    assert_eq!(shown["status"], "not_ready", "{shown}");
    assert_eq!(shown["tiktok_product_id"], Value::Null, "nothing reached TikTok");
    let reason = shown["reasons"][0].as_str().unwrap();
    assert!(
        reason.starts_with("Main image is 80×80 px; TikTok needs at least 300×300."),
        "{reason}"
    );
}

#[tokio::test]
async fn the_stock_check_repairs_drift_on_both_sides_and_reports_it_on_the_dashboard() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    let mut single = listings
        .iter()
        .filter(|l| l.status == ListingStatus::Live && l.skus.len() == 1);
    let (edited_on_tiktok, sold_elsewhere, untouched, ordered) = (
        single.next().unwrap(),
        single.next().unwrap(),
        single.next().unwrap(),
        single.next().unwrap(),
    );
    let quantity = async |listing: &records::Listing| {
        tiktok_product(&running, listing).await["skus"][0]["inventory"][0]["quantity"].clone()
    };
    let untouched_before = quantity(untouched).await;
    let sandboxes = running.sandboxes.as_ref().unwrap();
    // Not drift: a TikTok order not yet paid holds a unit TikTok took at once and the
    // store will take when its order exists; raising TikTok back would sell it twice.
    let ordered_before = quantity(ordered).await.as_u64().unwrap();
    let unpaid = json!({"shop_id": us_shop(&running).await, "status": "UNPAID",
        "line_items": [{"sku_id": ordered.skus[0].1, "sale_price": "9.00"}]});
    let placed = reqwest::Client::new()
        .post(format!("{}/sandbox/orders", tiktok_base(&running)))
        .json(&unpaid)
        .send()
        .await
        .unwrap();
    assert_eq!(placed.status(), 201);
    assert_eq!(
        quantity(ordered).await,
        ordered_before - 1,
        "TikTok takes the unit at once"
    );
    // Drift on TikTok's side: stock edited in Seller Center.
    {
        let mut tiktok = sandboxes.tiktok_sandbox.lock();
        let product = tiktok
            .products
            .get_mut(edited_on_tiktok.tiktok_product_id.as_deref().unwrap())
            .unwrap();
        product["skus"][0]["inventory"][0]["quantity"] = json!(999);
    }
    // Drift on the store's side: stock sold whose webhook never came.
    let store_level = {
        let mut bigcommerce = sandboxes.bigcommerce_sandbox().lock();
        let store = bigcommerce.stores.get_mut(STORE).unwrap();
        let product = store
            .products
            .get_mut(&sold_elsewhere.product_id.parse::<u64>().unwrap())
            .unwrap();
        product.inventory -= 2;
        for variant in &mut product.variants {
            variant.inventory -= 2;
        }
        product.inventory_level()
    };
    let expected_sold_elsewhere = u32::try_from(store_level).unwrap();

    connector::schedules::run(&running.app, connector::schedules::Schedule::ReconcileStock)
        .await
        .unwrap();
    let store_stock = |listing: &records::Listing| {
        let bigcommerce = sandboxes.bigcommerce_sandbox().lock();
        bigcommerce.stores[STORE].products[&listing.product_id.parse::<u64>().unwrap()].inventory_level()
    };
    let repaired = eventually(15, async || {
        quantity(edited_on_tiktok).await == json!(store_stock(edited_on_tiktok))
            && quantity(sold_elsewhere).await == json!(expected_sold_elsewhere)
    })
    .await;
    assert!(
        repaired,
        "both drifts are set back to the store's stock: {} and {}",
        quantity(edited_on_tiktok).await,
        quantity(sold_elsewhere).await
    );
    assert_eq!(
        quantity(untouched).await,
        untouched_before,
        "stock that agreed is left alone"
    );
    assert_eq!(
        quantity(ordered).await,
        ordered_before - 1,
        "a unit held by an open TikTok order is not put back"
    );

    let (mut browser, base, _) = merchant(&running).await;
    let report: Value = serde_json::from_str(
        &browser
            .get(&format!("{base}/settings/api/reconciliation"))
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    let shop = us_shop(&running).await;
    let us = report
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["shop_id"] == shop.as_str())
        .unwrap()
        .clone();
    let mut repairs: Vec<(String, u64)> = us["repaired"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["product_id"].as_str().unwrap().to_string(),
                d["tiktok_units"].as_u64().unwrap(),
            )
        })
        .collect();
    repairs.sort();
    let mut expected = vec![
        (edited_on_tiktok.product_id.clone(), 999),
        (
            sold_elsewhere.product_id.clone(),
            u64::from(expected_sold_elsewhere) + 2,
        ),
    ];
    expected.sort();
    assert_eq!(
        repairs, expected,
        "the report names each drifted SKU with what TikTok showed"
    );
    assert_eq!(
        us["held"][0]["sku_id"], ordered.skus[0].1,
        "the held SKU is named, not repaired: {us}"
    );
    assert!(
        us["checked"].as_u64().unwrap() >= 54,
        "every live SKU was compared: {us}"
    );
    let page = browser.get(&format!("{base}/settings/dashboard")).await.unwrap().body;
    assert!(
        page.contains("Stock check") && page.contains("2 repaired"),
        "the dashboard shows the check: {page}"
    );

    // A second run finds nothing left to repair.
    connector::schedules::run(&running.app, connector::schedules::Schedule::ReconcileStock)
        .await
        .unwrap();
    let report: Value = serde_json::from_str(
        &browser
            .get(&format!("{base}/settings/api/reconciliation"))
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    assert!(
        report
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["repaired"].as_array().unwrap().is_empty()),
        "{report}"
    );
}

/// TikTok's stock of the SKU of `listing` that stands for the store variant `variant_id`.
async fn tiktok_stock(running: &Running, listing: &records::Listing, variant_id: &str) -> Value {
    let sku = &listing
        .skus
        .iter()
        .find(|(variant, _)| variant == variant_id)
        .unwrap()
        .1;
    tiktok_product(running, listing).await["skus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == sku.as_str())
        .unwrap()["inventory"][0]["quantity"]
        .clone()
}

#[tokio::test]
async fn a_storefront_order_lowers_tiktok_stock_within_seconds_and_its_cancellation_restores_it() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    let products = records::all_products(running.app.table.as_ref(), STORE).await.unwrap();
    let live = |sku_count: usize| {
        listings
            .iter()
            .find(|l| l.status == ListingStatus::Live && l.skus.len() == sku_count)
            .unwrap()
    };
    // One product tracked by product (product-level hook), one by variant (SKU-level hook).
    let (simple, with_variants) = (live(1), live(4));
    let simple_variant = simple.skus[0].0.clone();
    let variant = with_variants.skus[1].0.clone();
    assert!(
        products
            .iter()
            .any(|p| p.id == with_variants.product_id && p.variants.len() == 4)
    );
    // TikTok shows store stock less 3 held back.
    let (mut browser, base, csrf) = merchant(&running).await;
    let policy = json!({"inventory": {"threshold": 0, "reserve": 3, "untracked_quantity": 99, "deactivate_at_threshold": false}});
    let answer = browser
        .put_json(&format!("{base}/settings/api/settings"), &policy, &csrf)
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let bigcommerce = running.sandboxes.as_ref().unwrap().store.clone();
    let http = reqwest::Client::new();
    let set_stock = async |product_id: &str, body: Value| {
        let answer = http
            .post(format!("{bigcommerce}/sandbox/products/{product_id}/stock"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    };
    set_stock(&simple.product_id, json!({"inventory_level": 17})).await;
    set_stock(
        &with_variants.product_id,
        json!({"variant_id": variant.parse::<u64>().unwrap(), "inventory_level": 9}),
    )
    .await;
    let shows = async |simple_units: i64, variant_units: i64| {
        tiktok_stock(&running, simple, &simple_variant).await == simple_units
            && tiktok_stock(&running, with_variants, &variant).await == variant_units
    };
    assert!(
        eventually(10, async || shows(14, 6).await).await,
        "17 and 9 in the store"
    );

    // A shopper buys 2 + 1 units in the storefront: 15 and 8 left in the store.
    let order: Value = http
        .post(format!("{bigcommerce}/sandbox/orders"))
        .json(&json!({"products": [
            {"product_id": simple.product_id.parse::<u64>().unwrap(), "quantity": 2},
            {"product_id": with_variants.product_id.parse::<u64>().unwrap(), "variant_id": variant.parse::<u64>().unwrap(), "quantity": 1}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        eventually(10, async || shows(12, 5).await).await,
        "TikTok sells no more than the store has: {} and {}",
        tiktok_stock(&running, simple, &simple_variant).await,
        tiktok_stock(&running, with_variants, &variant).await
    );

    // The merchant cancels it: the store takes the units back, and so does TikTok.
    http.post(format!("{bigcommerce}/sandbox/orders/{}/cancel", order["id"]))
        .send()
        .await
        .unwrap();
    assert!(eventually(10, async || shows(14, 6).await).await, "the stock returns");
}

#[tokio::test]
async fn two_edits_of_one_product_whose_webhooks_share_a_hash_both_reach_tiktok() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    let listing = listings
        .iter()
        .find(|l| l.status == ListingStatus::Live && l.skus.len() == 1)
        .unwrap();
    let bigcommerce = running.sandboxes.as_ref().unwrap().store.clone();
    let http = reqwest::Client::new();
    let price = async || {
        tiktok_product(&running, listing).await["skus"][0]["price"]["sale_price"]
            .as_str()
            .and_then(|p| p.parse::<f64>().ok())
    };
    for new_price in [23.45, 31.5] {
        // Each edit is its own event (its own `created_at`), about the same product (same `data`).
        tokio::time::sleep(Duration::from_millis(1100)).await;
        http.post(format!("{bigcommerce}/sandbox/products/{}", listing.product_id))
            .json(&json!({"price": new_price}))
            .send()
            .await
            .unwrap();
        assert!(
            eventually(15, async || price().await == Some(new_price)).await,
            "the price {new_price} reaches TikTok: {:?}",
            price().await
        );
    }
    let deliveries: Value = reqwest::get(format!("{bigcommerce}/sandbox/deliveries"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hashes: Vec<&Value> = deliveries
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["scope"] == "store/product/updated")
        .map(|d| &d["hash"])
        .collect();
    assert!(
        hashes.len() == 2 && hashes[0] == hashes[1],
        "the two deliveries carry one hash: {hashes:?}"
    );
}

#[tokio::test]
async fn stock_the_store_holds_back_as_safety_stock_is_never_offered_on_tiktok() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    let listing = listings
        .iter()
        .find(|l| l.status == ListingStatus::Live && l.skus.len() == 1)
        .unwrap();
    let bigcommerce = running.sandboxes.as_ref().unwrap().store.clone();
    let answer = reqwest::Client::new()
        .post(format!("{bigcommerce}/sandbox/products/{}/stock", listing.product_id))
        .json(&json!({"inventory_level": 10, "safety_stock": 3}))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
    let quantity = async || tiktok_product(&running, listing).await["skus"][0]["inventory"][0]["quantity"].clone();
    assert!(
        eventually(10, async || quantity().await == 7).await,
        "10 on hand less 3 of safety stock: TikTok offers 7, not {}",
        quantity().await
    );
}

#[tokio::test]
async fn a_setting_out_of_range_is_refused_by_name_and_nothing_is_saved() {
    let (_dir, running) = onboarded().await;
    let (mut browser, base, csrf) = merchant(&running).await;
    let before = connector::accounts::get_store(running.app.table.as_ref(), STORE)
        .await
        .unwrap()
        .unwrap()
        .settings;
    let poison = json!({"order_retries": 5, "inventory": {"threshold": 0, "reserve": -9223372036854775808i64,
                        "untracked_quantity": 99, "deactivate_at_threshold": false}});
    let answer = browser
        .put_json(&format!("{base}/settings/api/settings"), &poison, &csrf)
        .await
        .unwrap();
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(
        serde_json::from_str::<Value>(&answer.body).unwrap(),
        json!({"error": "inventory.reserve must be between 0 and 100000 units"})
    );
    let multiplier = json!({"id": "", "name": "Absurd", "priority": 1, "is_default": false, "matching": "all", "rules": [],
        "category_id": "900010", "attributes": [], "brand_id": null, "size_chart_uri": null, "certifications": [],
        "price_rule": {"adjustment": {"kind": "multiply", "value": "10000000000000000000000000000"}, "rounding": "cents"}});
    let answer = browser
        .post_json(&format!("{base}/settings/api/profiles"), &multiplier, &csrf)
        .await
        .unwrap();
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(
        answer
            .body
            .contains("price_rule.adjustment must be between 0.01 and 100"),
        "{}",
        answer.body
    );
    let form = browser
        .post_form(
            &format!("{base}/settings/forms/orders"),
            &[
                ("csrf", &csrf),
                ("status:awaiting_shipment", "awaiting_fulfillment"),
                ("store_cancel_reason", "seller_cancel_reason_out_of_stock"),
                ("order_retries", "4000000000"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(form.status, 400);
    assert!(form.body.contains("Must be between 0 and 10 retries."), "{}", form.body);
    let table = running.app.table.as_ref();
    let after = connector::accounts::get_store(table, STORE)
        .await
        .unwrap()
        .unwrap()
        .settings;
    assert_eq!(after, before, "nothing is saved, not even the valid order_retries");
    assert!(
        !records::all_profiles(table, STORE)
            .await
            .unwrap()
            .iter()
            .any(|p| p.name == "Absurd"),
        "the profile is not saved"
    );
}

#[tokio::test]
async fn a_reserve_stored_out_of_range_parks_the_stock_sync_with_its_reason_and_syncing_goes_on() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    let live = listings
        .iter()
        .find(|l| l.status == ListingStatus::Live && l.skus.len() == 1)
        .unwrap();
    let table = running.app.table.as_ref();
    // A record saved before settings were checked: straight to the table.
    let mut store = connector::accounts::get_store(table, STORE).await.unwrap().unwrap();
    store.settings.inventory.reserve = i64::MIN;
    connector::accounts::save_store(table, &store).await.unwrap();
    let bigcommerce = running.sandboxes.as_ref().unwrap().store.clone();
    let http = reqwest::Client::new();
    let set_stock = async |level: i64| {
        let answer = http
            .post(format!("{bigcommerce}/sandbox/products/{}/stock", live.product_id))
            .json(&json!({ "inventory_level": level }))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    };
    let before = tiktok_stock(&running, live, &live.skus[0].0).await;
    set_stock(40).await;
    let parked = async || {
        connector::redrive::parked_jobs(table, STORE)
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.job.kind == connector::queue::JobKind::SyncStock)
    };
    assert!(
        eventually(10, async || parked().await.is_some()).await,
        "the stock sync is parked"
    );
    let parked = parked().await.unwrap();
    assert!(
        parked
            .reason
            .contains("inventory.reserve must be between 0 and 100000 units"),
        "{}",
        parked.reason
    );
    assert_eq!(
        tiktok_stock(&running, live, &live.skus[0].0).await,
        before,
        "nothing was published"
    );

    // The merchant corrects the reserve and presses Retry: the same consumers sync it.
    let (mut browser, base, csrf) = merchant(&running).await;
    let policy = json!({"inventory": {"threshold": 0, "reserve": 5, "untracked_quantity": 99, "deactivate_at_threshold": false}});
    let answer = browser
        .put_json(&format!("{base}/settings/api/settings"), &policy, &csrf)
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    let retried = browser
        .post_form(
            &format!("{base}/settings/forms/retry-job"),
            &[("csrf", &csrf), ("job_id", &parked.job.id)],
        )
        .await
        .unwrap();
    assert!(retried.status < 400, "{}", retried.body);
    assert!(
        eventually(10, async || tiktok_stock(&running, live, &live.skus[0].0).await == 35).await,
        "40 in the store less 5 held back"
    );
}

#[tokio::test]
async fn sync_stock_unlink_and_link_from_the_products_screen_reach_tiktok_and_the_listings() {
    let (_dir, running) = onboarded().await;
    let listings = settled(&running).await;
    let shop = us_shop(&running).await;
    let table = running.app.table.as_ref();
    let live = listings
        .iter()
        .find(|l| l.status == ListingStatus::Live && l.skus.len() == 1)
        .unwrap()
        .clone();
    let tiktok_id = live.tiktok_product_id.clone().unwrap();
    let (variant, sku) = live.skus[0].clone();
    let synced = tiktok_stock(&running, &live, &variant).await;
    let warehouse = connector::accounts::get_shop(table, STORE, &shop)
        .await
        .unwrap()
        .unwrap()
        .default_warehouse_id
        .unwrap();
    let (mut browser, base, csrf) = merchant(&running).await;
    let filter = format!("/settings/products?shop={shop}");
    let act = async |browser: &mut connector_local::Browser, action: &str| {
        let answer = browser
            .post_form(
                &format!("{base}/settings/products/actions"),
                &[
                    ("csrf", csrf.as_str()),
                    ("shop", shop.as_str()),
                    ("filter", filter.as_str()),
                    ("action", action),
                    ("product", live.product_id.as_str()),
                ],
            )
            .await
            .unwrap();
        assert_eq!(answer.status, 303, "{action}: {}", answer.body);
        let activity = answer.location.unwrap();
        assert!(activity.starts_with("/settings/activities/"), "{activity}");
        browser.get(&format!("{base}{activity}")).await.unwrap().body
    };

    // Stock changed in Seller Center drifts from the store's; Sync stock puts it back.
    let drifted = json!({"sku_id": sku, "inventory": [{"warehouse_id": warehouse, "quantity": 999}]});
    set_tiktok_inventory(&running, &tiktok_id, &drifted).await;
    assert_eq!(tiktok_stock(&running, &live, &variant).await, 999);
    let page = act(&mut browser, "sync_stock").await;
    assert!(
        page.contains("1 queued") && !page.contains("1 done"),
        "the activity says the sync is queued, not done: {page}"
    );
    let back = eventually(20, async || tiktok_stock(&running, &live, &variant).await == synced).await;
    assert!(back, "TikTok has the store's stock again ({synced})");

    // Unlink: the listing forgets the TikTok product and its SKUs no longer map.
    let page = act(&mut browser, "unlink").await;
    assert!(page.contains("1 done"), "{page}");
    assert_unlinked(table, &shop, &live.product_id, &sku).await;
    assert!(
        tiktok_products(&running)
            .await
            .iter()
            .any(|p| p["id"] == tiktok_id.as_str()),
        "the TikTok product stays on TikTok"
    );

    // Link by SKU finds it again by its seller SKUs.
    act(&mut browser, "link").await;
    let relinked = records::get_listing(table, STORE, &shop, &live.product_id)
        .await
        .unwrap();
    assert_eq!(relinked.tiktok_product_id.as_deref(), Some(tiktok_id.as_str()));
    assert_eq!(relinked.status, ListingStatus::Live);
    assert_eq!(relinked.skus, live.skus);
    assert_eq!(
        records::variant_of_sku(table, STORE, &shop, &sku)
            .await
            .unwrap()
            .map(|(v, _)| v),
        Some(variant)
    );
}
