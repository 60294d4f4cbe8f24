//! PrestaShop end to end, through the local runner (embedded storage) with the
//! PrestaShop and TikTok sandboxes: a shop connected through the form goes live on
//! TikTok; a stock change and a storefront sale reach TikTok within one store poll; a
//! TikTok order becomes exactly one PrestaShop order, at TikTok's totals, whatever is
//! delivered twice or answered never; tracking numbers, cancellations (both ways) and
//! refunds travel between them; and a key without a needed permission is named on the
//! connect form. Every check reads what a merchant would: the PrestaShop sandbox's admin
//! routes and the TikTok sandbox's, not the connector's records.

use std::time::Duration;

use connector::store::Platform;
use connector_e2e::hosted::{
    self, get_json, lose_nth_answer, one_store_poll, place_on_tiktok, set_tiktok_status, store_admin as shop_admin,
    store_sandbox as prestashop, tiktok_order_of, tiktok_sku,
};
use connector_e2e::{eventually, tiktok, tiktok_admin, tiktok_order};
use connector_local::{Browser, Running};
use prestashop_sandbox::SandboxConfig;
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// Products seeded in the PrestaShop sandbox (every 5th with 3 combinations).
const PRODUCTS: usize = 10;

/// The order job's call to PrestaShop that creates the order: after the shop's settings
/// (3), two look-ups by note (the job's and the create's), the lines' check, the
/// customer (3), the address (4), the cart (3), the cart's order and its specific price
/// (2).
const LOST: usize = 20;

/// The sandbox's carrier named like a TikTok shipping provider.
const UPS: u64 = 3;

/// The local stack serving PrestaShop stores.
async fn stack() -> (tempfile::TempDir, Running) {
    hosted::stack(Platform::PrestaShop, PRODUCTS).await
}

/// A stack whose shop was connected, imported and live on TikTok; also the US shop's id.
async fn ready() -> (tempfile::TempDir, Running, String) {
    hosted::ready(Platform::PrestaShop, PRODUCTS).await
}

/// The shop's catalogue as its back office lists it.
async fn catalogue(running: &Running) -> Vec<Value> {
    get_json(&format!("{}/sandbox/catalogue", prestashop(running)))
        .await
        .as_array()
        .unwrap()
        .clone()
}

/// `(id_product, id_product_attribute)` of the product or combination with `reference`.
async fn ids_of(running: &Running, reference: &str) -> (u64, u64) {
    for product in catalogue(running).await {
        if product["reference"] == reference {
            return (product["id"].as_u64().unwrap(), 0);
        }
        for combination in product["combinations"].as_array().unwrap() {
            if combination["reference"] == reference {
                return (product["id"].as_u64().unwrap(), combination["id"].as_u64().unwrap());
            }
        }
    }
    panic!("no product or combination {reference}")
}

/// The references of the first `n` products without combinations, and of the first
/// combination.
async fn references(running: &Running, n: usize) -> (Vec<String>, String) {
    let all = catalogue(running).await;
    let simple = all
        .iter()
        .filter(|p| p["combinations"].as_array().unwrap().is_empty())
        .take(n)
        .map(|p| p["reference"].as_str().unwrap().to_string())
        .collect();
    let combination = all
        .iter()
        .flat_map(|p| p["combinations"].as_array().unwrap().clone())
        .next()
        .expect("a combination")["reference"]
        .as_str()
        .unwrap()
        .to_string();
    (simple, combination)
}

/// The shop's stock of the product or combination with `reference`.
async fn stock(running: &Running, reference: &str) -> i64 {
    let (product, combination) = ids_of(running, reference).await;
    get_json(&format!(
        "{}/sandbox/stock?id_product={product}&id_product_attribute={combination}",
        prestashop(running)
    ))
    .await["quantity"]
        .as_i64()
        .unwrap()
}

/// Every order in the shop.
async fn all_shop_orders(running: &Running) -> Vec<Value> {
    get_json(&format!("{}/sandbox/orders", prestashop(running)))
        .await
        .as_array()
        .unwrap()
        .clone()
}

/// The shop's orders whose note names TikTok order `tiktok_id`.
async fn shop_orders(running: &Running, tiktok_id: &str) -> Vec<Value> {
    let prefix = format!("TikTok Shop order {tiktok_id}.");
    all_shop_orders(running)
        .await
        .into_iter()
        .filter(|o| o["note"].as_str().is_some_and(|n| n.starts_with(&prefix)))
        .collect()
}

/// A money amount the sandbox writes as a string or a number.
fn money(value: &Value) -> Decimal {
    match value {
        Value::String(text) => text.parse().unwrap(),
        other => other.to_string().parse().unwrap(),
    }
}

/// Places a TikTok order and waits until the shop holds it; returns the shop's order.
async fn ordered(running: &Running, shop: &str, id: &str, seller_skus: &[&str]) -> Value {
    place_on_tiktok(running, shop, id, seller_skus).await;
    assert!(
        eventually(20, async || shop_orders(running, id).await.len() == 1).await,
        "TikTok order {id} reaches PrestaShop: {:#?}",
        all_shop_orders(running).await
    );
    shop_orders(running, id).await.remove(0)
}

/// A merchant's browser in the app: a PrestaShop store opens it by connecting again
/// through the form with the same key. (browser, base URL, CSRF token).
async fn merchant(running: &Running) -> (Browser, String, String) {
    let key = SandboxConfig::default_key();
    let base = format!("http://{}", running.addr);
    let mut browser = Browser::new().unwrap();
    let answer = browser
        .fill_in(
            &format!("{base}/connect/prestashop"),
            &[
                ("store_url", prestashop(running).as_str()),
                ("id_shop", "1"),
                ("key", &key.key),
            ],
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 303, "{}", answer.body);
    let session = browser.get(&format!("{base}/settings/api/session")).await.unwrap();
    let session: Value = serde_json::from_str(&session.body).unwrap();
    let csrf = session["csrf_token"].as_str().unwrap().to_string();
    (browser, base, csrf)
}

#[tokio::test]
async fn a_shop_connected_through_the_form_is_imported_uploaded_and_live_on_tiktok() {
    let (_dir, running, _shop) = ready().await;
    assert_eq!(catalogue(&running).await.len(), PRODUCTS);
    // A product sells as itself, or as its combinations; TikTok sells what the shop has.
    hosted::assert_live_as_held(&running, ("combinations", "reference"), async |sku| {
        stock(&running, sku).await
    })
    .await;
}

#[tokio::test]
async fn a_stock_change_and_a_storefront_sale_in_prestashop_each_reach_tiktok_within_one_store_poll() {
    let (_dir, running, _shop) = ready().await;
    let (simple, combination) = references(&running, 2).await;
    // No poll has run since the shop was connected: the first one must already see
    // what changed after the import. The merchant (or an ERP) sets stock rows, which
    // leaves the products untouched.
    for (reference, quantity) in [(simple[0].as_str(), 40), (combination.as_str(), 1)] {
        let (product, attribute) = ids_of(&running, reference).await;
        shop_admin(
            &running,
            "/sandbox/stock",
            &json!({"id_product": product, "id_product_attribute": attribute, "quantity": quantity}),
        )
        .await;
    }
    assert_eq!(
        (stock(&running, &simple[0]).await, stock(&running, &combination).await),
        (40, 1)
    );
    one_store_poll(&running).await;
    for sku in [&simple[0], &combination] {
        assert_eq!(
            tiktok_sku(&running, sku).await.1 as i64,
            stock(&running, sku).await,
            "{sku}'s new quantity reached TikTok in one poll"
        );
    }

    // A shopper buys 3 in the storefront.
    let sold = &simple[1];
    let before = stock(&running, sold).await;
    let (product, attribute) = ids_of(&running, sold).await;
    let sale = shop_admin(
        &running,
        "/sandbox/storefront-sale",
        &json!({"id_product": product, "id_product_attribute": attribute, "quantity": 3}),
    )
    .await;
    assert!(sale["id_order"].as_u64().is_some(), "{sale}");
    assert_eq!(stock(&running, sold).await, before - 3);
    one_store_poll(&running).await;
    assert_eq!(
        tiktok_sku(&running, sold).await.1 as i64,
        before - 3,
        "the storefront sale reached TikTok in one poll"
    );
}

#[tokio::test]
async fn a_tiktok_order_becomes_exactly_one_prestashop_order_at_tiktoks_totals_despite_duplicates_and_a_lost_answer() {
    let (_dir, running, shop) = ready().await;
    let (simple, _) = references(&running, 1).await;
    let http = reqwest::Client::new();
    let id = "576461413038795101";
    // TikTok delivers every webhook twice; PrestaShop loses the answer to creating the
    // order (the [`LOST`]th call of the job, which the shop's access log confirms).
    let duplicates = tiktok_admin(&running, "/sandbox/faults", &json!({"duplicate_share": 1.0})).await;
    assert!(duplicates.status().is_success());
    let requests = async || {
        get_json(&format!("{}/sandbox/requests", prestashop(&running)))
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect::<Vec<String>>()
    };
    let before = requests().await.len();
    shop_admin(
        &running,
        "/sandbox/faults",
        &serde_json::to_value(lose_nth_answer(LOST)).unwrap(),
    )
    .await;
    place_on_tiktok(&running, &shop, id, &[simple[0].as_str()]).await;
    let placed = eventually(30, async || shop_orders(&running, id).await.len() == 1).await;
    assert!(
        placed,
        "the order reaches PrestaShop: {:#?}",
        all_shop_orders(&running).await
    );
    assert!(running.settle(Duration::from_secs(2), Duration::from_secs(60)).await);
    let report = get_json(&format!("{}/sandbox/faults", prestashop(&running))).await;
    shop_admin(&running, "/sandbox/faults", &json!({})).await;
    assert_eq!(report["injected"]["drop"], 1, "one answer was lost: {report}");
    let made = requests().await;
    assert_eq!(
        made[before + LOST - 1],
        "POST /api/orders",
        "the answer lost was the order's: {:#?}",
        &made[before..]
    );
    // And TikTok notifies it twice more.
    for _ in 0..2 {
        let notified = http
            .post(format!("{}/sandbox/orders/{id}/notify", tiktok(&running)))
            .send()
            .await
            .unwrap();
        assert!(notified.status().is_success());
    }
    assert!(running.settle(Duration::from_secs(2), Duration::from_secs(60)).await);

    let all = all_shop_orders(&running).await;
    assert_eq!(all.len(), 1, "exactly one PrestaShop order: {all:#?}");
    let order = &all[0];
    assert_eq!(
        order["state_name"], "Remote payment accepted",
        "paid on TikTok, awaiting fulfilment"
    );
    assert_eq!(order["lines"].as_array().unwrap().len(), 1);
    assert_eq!(order["lines"][0]["product_quantity"].as_u64(), Some(1));
    let tiktok_order = tiktok_order_of(&running, id).await;
    let paid = money(&tiktok_order["payment"]["total_amount"]);
    assert_eq!(
        money(&order["total_paid_tax_incl"]),
        paid,
        "the order's total is what the buyer paid on TikTok: {order:#}"
    );
    assert_eq!(money(&order["total_paid"]), paid, "and so is its amount paid");
    assert_eq!(
        money(&order["total_shipping"]),
        money(&tiktok_order["payment"]["shipping_fee"]),
        "the shipping TikTok charged"
    );
}

#[tokio::test]
async fn a_tracking_number_set_in_the_back_office_reaches_tiktok_after_a_store_poll() {
    let (_dir, running, shop) = ready().await;
    let (simple, _) = references(&running, 3).await;
    let id = "576461413038795102";
    let order = ordered(&running, &shop, id, &[simple[2].as_str()]).await;
    assert!(running.settle(Duration::from_secs(2), Duration::from_secs(60)).await);
    shop_admin(
        &running,
        &format!("/sandbox/orders/{}/ship", order["id"]),
        &json!({"tracking_number": "1Z999AA10123456784", "id_carrier": UPS, "tracking_only": true}),
    )
    .await;
    assert_eq!(
        shop_orders(&running, id).await[0]["date_upd"],
        order["date_upd"],
        "the back office saved the carrier line alone"
    );
    one_store_poll(&running).await;
    let on_tiktok = tiktok_order_of(&running, id).await;
    assert_eq!(
        on_tiktok["tracking_number"], "1Z999AA10123456784",
        "the tracking number reached TikTok: {on_tiktok:#}"
    );
    assert_eq!(on_tiktok["status"], "AWAITING_COLLECTION", "marked shipped on TikTok");
    assert_eq!(
        on_tiktok["shipping_provider_id"], "7117858858072016687",
        "PrestaShop's UPS carrier is TikTok's UPS"
    );
}

#[tokio::test]
async fn a_cancellation_on_either_side_cancels_the_order_on_the_other() {
    let (_dir, running, shop) = ready().await;
    let (simple, _) = references(&running, 4).await;
    let (by_buyer, by_merchant) = ("576461413038795103", "576461413038795104");
    let sku = simple[3].as_str();
    let before = stock(&running, sku).await;
    ordered(&running, &shop, by_buyer, &[sku]).await;
    let merchant_order = ordered(&running, &shop, by_merchant, &[sku]).await;
    assert!(running.settle(Duration::from_secs(2), Duration::from_secs(60)).await);
    assert_eq!(stock(&running, sku).await, before - 2, "both orders take their unit");

    // The buyer cancels on TikTok.
    hosted::buyer_cancels_on_tiktok(&running, by_buyer).await;
    assert!(
        eventually(20, async || shop_orders(&running, by_buyer).await[0]["state_name"]
            == "Canceled")
        .await,
        "the buyer's cancellation cancels the PrestaShop order: {:#}",
        shop_orders(&running, by_buyer).await[0]
    );
    assert_eq!(stock(&running, sku).await, before - 1, "its unit is back in stock");

    // The merchant cancels in PrestaShop.
    hosted::merchant_cancels_in_the_store(&running, &merchant_order, by_merchant).await;
    assert_eq!(stock(&running, sku).await, before);
    assert_eq!(
        tiktok_sku(&running, sku).await.1 as i64,
        before,
        "TikTok sells both units again"
    );
}

#[tokio::test]
async fn a_refund_approved_on_tiktok_is_one_credit_slip_and_moves_the_order_to_refunded_once() {
    let (_dir, running, shop) = ready().await;
    let (simple, _) = references(&running, 5).await;
    let (mut browser, base, csrf) = merchant(&running).await;
    let id = "576461413038795105";
    // Shipped free (as most TikTok Shop orders are): refunding its one unit refunds the
    // whole order.
    let sku = tiktok_sku(&running, &simple[4]).await.0;
    let mut free_shipping = tiktok_order(&shop, id, &[(sku.as_str(), simple[4].as_str())]);
    free_shipping["payment"]["shipping_fee"] = json!("0");
    free_shipping["payment"]["total_amount"] = free_shipping["payment"]["sub_total"].clone();
    let placed = tiktok_admin(&running, "/sandbox/orders", &free_shipping).await;
    assert_eq!(placed.status(), 201);
    assert!(
        eventually(20, async || shop_orders(&running, id).await.len() == 1).await,
        "the order reaches PrestaShop"
    );
    set_tiktok_status(&running, id, json!({"status": "DELIVERED"})).await;
    let return_id = hosted::refund_approved(&running, (&mut browser, &base, &csrf), id).await;
    let refunded_rows = async || {
        shop_orders(&running, id).await[0]["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["state_name"] == "Refunded")
            .count()
    };
    assert!(
        eventually(20, async || refunded_rows().await == 1).await,
        "the refund reaches PrestaShop: {:#}",
        shop_orders(&running, id).await[0]
    );
    // Notified again and polled again: nothing is refunded twice.
    hosted::return_notified_again(&running, &shop, id, &return_id).await;
    one_store_poll(&running).await;
    assert_eq!(refunded_rows().await, 1, "moved to Refunded exactly once");
    let order = &shop_orders(&running, id).await[0];
    assert_eq!(order["state_name"], "Refunded");
    assert_eq!(
        money(&order["refunded"]),
        Decimal::new(850, 2),
        "one credit slip of what the buyer paid: {order:#}"
    );
    assert_eq!(
        tiktok_order_of(&running, id).await["status"],
        "DELIVERED",
        "the refund leaves the TikTok order as it was"
    );
}

/// The connect form in a real Chromium, by keyboard: a key without the permissions the
/// connector needs is refused with each missing one named, the address kept and no
/// store saved; the full key signs the merchant in to the setup wizard. Screenshots:
/// `target/screenshots/prestashop-*.png`.
#[tokio::test]
async fn a_key_without_a_needed_permission_is_named_on_the_connect_form() {
    use connector_e2e::chromium::Chromium;
    use fantoccini::Locator;
    let (_dir, running) = stack().await;
    // A key that may read orders but not create them, and nothing of order histories.
    let mut permissions = SandboxConfig::default_key().permissions;
    permissions.insert("orders".into(), ["GET".to_string(), "HEAD".to_string()].into());
    permissions.remove("order_histories");
    let limited = "LIMITEDKEYLIMITEDKEYLIMITEDKEY12";
    shop_admin(
        &running,
        "/sandbox/keys",
        &json!({"key": limited, "permissions": permissions}),
    )
    .await;
    let chromium = Chromium::start().await.unwrap();
    let c = chromium.client();
    chromium
        .goto(&format!("http://{}/connect/prestashop", running.addr))
        .await
        .unwrap();
    assert_eq!(chromium.text("h1").await.unwrap(), "Connect your PrestaShop store");
    let field = |name: &'static str| async move {
        c.find(Locator::Css(&format!("input[name={name}]")))
            .await
            .unwrap_or_else(|e| panic!("no field {name}: {e}"))
    };
    let type_in = |name: &'static str, text: String| async move {
        let input = field(name).await;
        input.clear().await.unwrap();
        input.send_keys(&text).await.unwrap();
    };
    type_in("store_url", prestashop(&running)).await;
    type_in("key", limited.into()).await;
    // Enter in the key field sends the form.
    field("key").await.send_keys("\u{E007}").await.unwrap();
    assert!(
        eventually(10, async || chromium
            .text("[role=alert]")
            .await
            .is_ok_and(|t| t.contains("lacks permissions")))
        .await,
        "the refusal is said above the form: {:?}",
        c.source().await
    );
    let alert = chromium.text("[role=alert]").await.unwrap();
    assert!(
        alert.contains("orders: POST, PATCH") && alert.contains("order_histories: GET, POST"),
        "each missing permission is named: {alert}"
    );
    assert!(!alert.contains("products:"), "only what is missing: {alert}");
    assert_eq!(
        field("store_url").await.prop("value").await.unwrap(),
        Some(prestashop(&running)),
        "the address is kept"
    );
    assert_eq!(
        field("key").await.prop("value").await.unwrap().as_deref(),
        Some(""),
        "the key is never sent back"
    );
    let store = running.sandboxes.as_ref().unwrap().onboarded_store_id();
    assert!(
        connector::accounts::get_store(running.app.table.as_ref(), &store)
            .await
            .unwrap()
            .is_none(),
        "no store was saved"
    );
    chromium.screenshot("prestashop-1-refused").await.unwrap();
    type_in("key", SandboxConfig::default_key().key).await;
    field("key").await.send_keys("\u{E007}").await.unwrap();
    assert!(
        eventually(20, async || chromium
            .text("h1")
            .await
            .is_ok_and(|t| t == "Set up the connector"))
        .await,
        "the merchant lands in the setup wizard: {:?}",
        chromium.current_url().await
    );
    let header = chromium.text("header .store").await.unwrap();
    assert!(
        header.starts_with("PrestaShop store ") && header.ends_with("(shop 1)"),
        "the header names the store by its address and shop: {header}"
    );
    chromium.screenshot("prestashop-2-wizard").await.unwrap();
    chromium.quit().await;
}
