//! `bench`: measures on the local stack with both sandboxes (1) how long a stock change
//! in the BigCommerce sandbox takes to show in the TikTok sandbox and (2) how long a
//! TikTok order takes from its webhook to the store order. Prints p50/p99 of each.
//! `bench screens [N]` instead fills the store with N products (listed on the US shop)
//! and N TikTok orders (default 100,000) and measures the dashboard, the products
//! screen and the orders screen.
//!
//! Run: `cargo run -p connector-e2e --bin bench -- [samples]` or `-- screens [N]`

use std::time::{Duration, Instant};

use connector::catalog::records::{self, ListingStatus};
use connector_e2e::local_stack;
use connector_local::onboard_sandbox;
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("screens") {
        let records: usize = std::env::args().nth(2).map_or(Ok(100_000), |n| n.parse())?;
        return screens(records).await;
    }
    let samples: usize = std::env::args().nth(1).map_or(Ok(30), |n| n.parse())?;
    let data_dir = tempfile::tempdir()?;
    let running = local_stack(data_dir.path(), false, true).await;
    onboard_sandbox(&running).await?;
    let sandboxes = running.sandboxes.as_ref().expect("sandbox mode");
    let table = running.app.table.as_ref();
    let shop = connector::accounts::list_shops(table, "sbx1store")
        .await?
        .into_iter()
        .find(|s| s.region == "US")
        .expect("US shop")
        .shop_id;
    let deadline = Instant::now() + Duration::from_secs(60);
    let live = loop {
        let listings = records::shop_listings(table, "sbx1store", &shop).await?;
        let live: Vec<_> = listings
            .into_iter()
            .filter(|l| l.status == ListingStatus::Live)
            .collect();
        if live.len() >= 50 || Instant::now() > deadline {
            break live;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let products = records::all_products(table, "sbx1store").await?;
    let simple: Vec<_> = live
        .iter()
        .filter(|l| products.iter().any(|p| p.id == l.product_id && p.variants.len() == 1))
        .collect();
    anyhow::ensure!(!simple.is_empty(), "no live product to measure");
    let http = reqwest::Client::new();
    let mut latencies = Vec::new();
    for sample in 0..samples {
        let listing = simple[sample % simple.len()];
        let level = 1000 + sample as u64;
        let started = Instant::now();
        http.post(format!(
            "{}/sandbox/products/{}/stock",
            sandboxes.store, listing.product_id
        ))
        .json(&json!({"inventory_level": level}))
        .send()
        .await?;
        let tiktok_id = listing
            .tiktok_product_id
            .clone()
            .expect("live listings have a TikTok id");
        loop {
            let products: Value = http
                .get(format!("{}/sandbox/products", sandboxes.tiktok))
                .send()
                .await?
                .json()
                .await?;
            let arrived = products
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["id"] == tiktok_id.as_str() && p["skus"][0]["inventory"][0]["quantity"] == level);
            if arrived {
                latencies.push(started.elapsed());
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "a stock change did not arrive within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    report("stock change BigCommerce -> TikTok", latencies);

    // Orders: placed in TikTok (webhook sent at once) until the store order exists.
    let listing = simple[0];
    let sku = listing.skus[0].clone();
    let seller_sku = products
        .iter()
        .flat_map(|p| p.variants.iter())
        .find(|v| v.id == sku.0)
        .map(|v| v.sku.clone())
        .unwrap_or_default();
    let mut latencies = Vec::new();
    for sample in 0..samples {
        let id = format!("57646141309{sample:08}");
        let order = json!({"shop_id": shop, "id": id, "status": "AWAITING_SHIPMENT",
            "recipient_address": {"name": "Bench Buyer", "address_line1": "1 Main St", "postal_code": "95110", "region_code": "US"},
            "line_items": [{"sku_id": sku.1, "seller_sku": seller_sku, "sale_price": "9.99"}]});
        let started = Instant::now();
        http.post(format!("{}/sandbox/orders", sandboxes.tiktok))
            .json(&order)
            .send()
            .await?;
        loop {
            let orders: Value = http
                .get(format!("{}/sandbox/orders", sandboxes.store))
                .send()
                .await?
                .json()
                .await?;
            if orders
                .as_array()
                .into_iter()
                .flatten()
                .any(|o| o["external_order_id"] == id.as_str())
            {
                latencies.push(started.elapsed());
                break;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "an order did not arrive within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    report("TikTok order webhook -> store order", latencies);
    Ok(())
}

/// Fills the sandbox store with `count` products (each listed on the US shop, one in
/// five live) and `count` order records, written in transactions of 100 with their
/// counters, then times the screens a merchant opens most, 20 times each.
async fn screens(count: usize) -> anyhow::Result<()> {
    use connector::storage::{Condition, Item, WriteOp};
    let data_dir = tempfile::tempdir()?;
    let running = local_stack(data_dir.path(), false, true).await;
    onboard_sandbox(&running).await?;
    let table = running.app.table.as_ref();
    let store = "sbx1store";
    let pk = connector::accounts::store_pk(store);
    let shops = connector::accounts::list_shops(table, store).await?;
    let shop = shops
        .iter()
        .find(|s| s.region == "US")
        .expect("US shop")
        .shop_id
        .clone();
    let template = records::all_products(table, store).await?.remove(0);
    let filled = Instant::now();
    for chunk in (0..count).collect::<Vec<_>>().chunks(50) {
        let mut ops = Vec::new();
        for i in chunk {
            let mut product = template.clone();
            product.id = format!("{}", 1_000_000 + i);
            product.name = format!("Bench product {i:06}");
            ops.push(WriteOp::Put {
                item: Item::new(
                    pk.clone(),
                    format!("PRODUCT#{}", product.id),
                    serde_json::to_value(&product)?,
                ),
                condition: Condition::None,
            });
            let mut listing = records::Listing::new(&product.id, &shop);
            listing.status = if i % 5 == 0 {
                ListingStatus::Live
            } else {
                ListingStatus::NotReady
            };
            listing.reasons = vec!["Bench: not checked.".into()];
            ops.push(WriteOp::Put {
                item: Item::new(
                    pk.clone(),
                    format!("LISTING#{shop}#{}", product.id),
                    serde_json::to_value(&listing)?,
                ),
                condition: Condition::None,
            });
        }
        table.transact(ops).await?;
    }
    let ids: Vec<String> = shops.iter().map(|s| s.shop_id.clone()).collect();
    records::recount(table, store, &ids).await?;
    let now = connector::storage::unix_now();
    for chunk in (0..count).collect::<Vec<_>>().chunks(99) {
        let mut ops = Vec::new();
        for i in chunk {
            let record = json!({"tiktok_order_id": format!("5764614130{i:08}"), "shop_id": shop, "state": "created",
                "store_order_id": format!("{}", 50_000 + i), "reason": null, "tiktok_status": "AWAITING_SHIPMENT",
                "updated_at": now, "attempts": 0,
                "sale": {"placed_at": now - (*i as i64 % 30) * 86_400, "total": "19.99", "currency": "USD",
                         "skus": [format!("BENCH-SKU-{}", i % 1000)], "units": 1}});
            ops.push(WriteOp::Put {
                item: Item::new(pk.clone(), format!("ORDER#5764614130{i:08}"), record),
                condition: Condition::None,
            });
        }
        ops.push(WriteOp::Add {
            pk: pk.clone(),
            sk: "COUNTS#ORDERS".into(),
            counts: vec![
                ("state:created".into(), chunk.len() as i64),
                ("status:AWAITING_SHIPMENT".into(), chunk.len() as i64),
            ],
        });
        table.transact(ops).await?;
    }
    println!(
        "filled {count} products, {count} listings and {count} orders in {:?}",
        filled.elapsed()
    );
    // The orders were written as records saved before the orders index: index them as
    // the orders screen and the poller would, a batch at a time.
    let indexing = Instant::now();
    while !connector::orders::browse::ensure_indexed(table, store).await? {}
    println!(
        "indexed {count} orders saved before the index in {:?}",
        indexing.elapsed()
    );
    let (mut browser, base, _) = connector_e2e::merchant(&running).await;
    let day = |days_ago: i64| {
        jiff::Timestamp::from_second(now - days_ago * 86_400)
            .map_or_else(|_| String::new(), |t| t.strftime("%Y-%m-%d").to_string())
    };
    let orders_range = format!("/settings/orders?shop={shop}&from={}&to={}", day(12), day(10));
    for (what, path) in [
        ("dashboard", "/settings/dashboard"),
        ("products, first page", "/settings/products"),
        ("products, live tab, page 3", "/settings/products?status=live&page=3"),
        ("products, search", "/settings/products?q=Bench+product+099"),
        ("orders, first page of All", "/settings/orders"),
        (
            "orders, Awaiting shipment tab, page 3",
            "/settings/orders?status=AWAITING_SHIPMENT&page=3",
        ),
        ("orders, one shop and a date range", &orders_range),
        ("orders, page 200 by number", "/settings/orders?page=200"),
        ("orders, search by SKU (100 matches)", "/settings/orders?q=BENCH-SKU-7"),
        ("orders, search by store order id", "/settings/orders?q=50123"),
    ] {
        let mut latencies = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            let answer = browser.get(&format!("{base}{path}")).await?;
            anyhow::ensure!(answer.status == 200, "{path} answered {}", answer.status);
            latencies.push(started.elapsed());
        }
        report(&format!("{what} at {count} products and orders"), latencies);
    }
    Ok(())
}

fn report(what: &str, mut latencies: Vec<Duration>) {
    latencies.sort();
    let percentile = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{what}, {} samples: p50 {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        percentile(0.5),
        percentile(0.99),
        latencies.last().expect("samples")
    );
}
