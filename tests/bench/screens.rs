//! Settings pages at scale: the store filled with N products (listed on the US shop)
//! and N TikTok orders, then the screens a merchant opens most, timed.

use std::time::{Duration, Instant};

use connector::catalog::records::{self, ListingStatus};
use connector_e2e::local_stack;
use connector_local::onboard_sandbox;
use serde_json::json;

use crate::report::{Figure, Section};

/// Fills the sandbox store with `count` products (each listed on the US shop, one in
/// five live) and `count` order records, written in transactions of 100 with their
/// counters, then times the screens a merchant opens most, 20 times each.
pub async fn screens(count: usize) -> anyhow::Result<Section> {
    let mut section = Section::new(
        "screens",
        format!("Settings pages at {count} products and {count} orders"),
    );
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
    section.note(format!(
        "Filled {count} products, {count} listings and {count} orders in {:.0} s.",
        filled.elapsed().as_secs_f64()
    ));
    // The orders were written as records saved before the orders index: index them as
    // the orders screen and the poller would, a batch at a time.
    let indexing = Instant::now();
    while !connector::orders::browse::ensure_indexed(table, store).await? {}
    section.note(format!(
        "Indexed the {count} orders (written as records saved before the orders index) in {:.0} s.",
        indexing.elapsed().as_secs_f64()
    ));
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
        // One warm-up request, then the timed ones.
        browser.get(&format!("{base}{path}")).await?;
        for _ in 0..20 {
            let started = Instant::now();
            let answer = browser.get(&format!("{base}{path}")).await?;
            anyhow::ensure!(answer.status == 200, "{path} answered {}", answer.status);
            latencies.push(started.elapsed());
        }
        section.push(Figure::latency(what, latencies, Some(Duration::from_millis(100))));
    }
    section.note("Time to the whole answer as the merchant's browser sees it on loopback: 20 requests per page after one warm-up request.");
    Ok(section)
}
