//! Magento 2 end to end, through the local runner (embedded storage) with the Magento 2
//! and TikTok sandboxes: a store connected through the form goes live on TikTok; stock
//! changes and storefront sales reach TikTok within one store poll; TikTok orders become
//! exactly one invoiced Magento order whatever is delivered twice or answered never;
//! shipments, cancellations and refunds travel between them; and forged requests and
//! wrong credentials are refused. Every check reads what a merchant would: the Magento
//! sandbox's admin routes and the TikTok sandbox's, not the connector's records.

use std::time::Duration;

use connector::schedules::{self, Schedule};
use connector::store::Platform;
use connector_e2e::hosted::{
    self, get_json, lose_nth_answer, one_store_poll, place_on_tiktok, set_tiktok_status, store_admin as magento_admin,
    store_sandbox as magento, tiktok_order_of, tiktok_sku,
};
use connector_e2e::{eventually, tiktok, tiktok_admin};
use connector_local::{Browser, Running};
use magento2_sandbox::SandboxConfig;
use serde_json::{Value, json};

/// Products seeded in the Magento sandbox: 8 simple, 2 configurable with 3 children.
const PRODUCTS: usize = 10;

/// The local stack serving Magento 2 stores.
async fn stack() -> (tempfile::TempDir, Running) {
    hosted::stack(Platform::Magento2, PRODUCTS).await
}

/// A stack whose Magento store was connected, imported and live on TikTok; also the US shop's id.
async fn ready() -> (tempfile::TempDir, Running, String) {
    hosted::ready(Platform::Magento2, PRODUCTS).await
}

/// Magento's salable quantity of `sku` (sources less reservations).
async fn salable(running: &Running, sku: &str) -> i64 {
    get_json(&format!("{}/sandbox/salable/{sku}", magento(running))).await["salable"]
        .as_f64()
        .unwrap() as i64
}

/// The Magento orders whose `ext_order_id` is `tiktok_id`, as the Magento admin shows them.
async fn magento_orders(running: &Running, tiktok_id: &str) -> Vec<Value> {
    get_json(&format!("{}/sandbox/orders?ext_order_id={tiktok_id}", magento(running)))
        .await
        .as_array()
        .unwrap()
        .clone()
}

/// Every Magento order.
async fn all_magento_orders(running: &Running) -> Vec<Value> {
    get_json(&format!("{}/sandbox/orders", magento(running)))
        .await
        .as_array()
        .unwrap()
        .clone()
}

/// Places a TikTok order and waits until Magento holds it; returns the Magento order.
async fn ordered(running: &Running, shop: &str, id: &str, seller_skus: &[&str]) -> Value {
    place_on_tiktok(running, shop, id, seller_skus).await;
    assert!(
        eventually(20, async || magento_orders(running, id).await.len() == 1).await,
        "TikTok order {id} reaches Magento: {:#?}",
        all_magento_orders(running).await
    );
    magento_orders(running, id).await.remove(0)
}

/// A merchant's browser in the app: a Magento store opens it by connecting again
/// through the form with the same credentials. (browser, base URL, CSRF token).
async fn merchant(running: &Running) -> (Browser, String, String) {
    let integration = SandboxConfig::default_integration();
    let base = format!("http://{}", running.addr);
    let mut browser = Browser::new().unwrap();
    let answer = browser
        .fill_in(
            &format!("{base}/connect/magento2"),
            &[
                ("store_url", magento(running).as_str()),
                ("store_code", "default"),
                ("consumer_key", &integration.consumer_key),
                ("consumer_secret", &integration.consumer_secret),
                ("access_token", &integration.access_token),
                ("access_token_secret", &integration.access_token_secret),
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
async fn a_store_connected_through_the_form_is_imported_uploaded_and_live_on_tiktok() {
    let (_dir, running, _shop) = ready().await;
    let catalogue = get_json(&format!("{}/sandbox/catalogue", magento(&running))).await;
    assert_eq!(catalogue.as_array().unwrap().len(), PRODUCTS);
    // A simple product sells as itself, a configurable one as its children; TikTok sells
    // what Magento can sell.
    hosted::assert_live_as_held(&running, ("children", "sku"), async |sku| salable(&running, sku).await).await;
}

#[tokio::test]
async fn a_stock_change_and_a_storefront_sale_in_magento_each_reach_tiktok_within_one_store_poll() {
    let (_dir, running, _shop) = ready().await;
    // No poll has run since the store was connected: the first one must already see
    // what changed after the import.

    // The merchant edits source quantities, of a simple product and of a configurable's child.
    let (simple, child) = ("SKU-00002", "CFG-00005-BLUE");
    magento_admin(
        &running,
        "/sandbox/stock",
        &json!({"sku": simple, "source_code": "default", "quantity": 40}),
    )
    .await;
    magento_admin(
        &running,
        "/sandbox/stock",
        &json!({"sku": child, "source_code": "warehouse_2", "quantity": 1}),
    )
    .await;
    assert_eq!(
        (salable(&running, simple).await, salable(&running, child).await),
        (45, 21)
    );
    one_store_poll(&running).await;
    for sku in [simple, child] {
        assert_eq!(
            tiktok_sku(&running, sku).await.1 as i64,
            salable(&running, sku).await,
            "{sku}'s new quantity reached TikTok in one poll"
        );
    }

    // A shopper buys 3 in the Magento storefront: the salable quantity drops, the product
    // itself is untouched.
    let sold = "SKU-00003";
    let before = salable(&running, sold).await;
    let sale = magento_admin(&running, "/sandbox/storefront-sale", &json!({"sku": sold, "qty": 3})).await;
    assert!(sale["order_id"].as_u64().is_some(), "{sale}");
    assert_eq!(salable(&running, sold).await, before - 3);
    one_store_poll(&running).await;
    assert_eq!(
        tiktok_sku(&running, sold).await.1 as i64,
        before - 3,
        "the storefront sale reached TikTok in one poll"
    );
}

#[tokio::test]
async fn a_tiktok_order_becomes_exactly_one_invoiced_magento_order_despite_duplicates_and_a_lost_answer() {
    let (_dir, running, shop) = ready().await;
    let http = reqwest::Client::new();
    let id = "576461413038795001";
    // TikTok delivers every webhook twice; Magento loses the answer to placing the order
    // (the 7th call: the search by TikTok id, then the quote flow's search by TikTok id,
    // the products, the cart, its line, its addresses, and the placement).
    let duplicates = tiktok_admin(&running, "/sandbox/faults", &json!({"duplicate_share": 1.0})).await;
    assert!(duplicates.status().is_success());
    magento_admin(
        &running,
        "/sandbox/faults",
        &serde_json::to_value(lose_nth_answer(7)).unwrap(),
    )
    .await;
    place_on_tiktok(&running, &shop, id, &["SKU-00002"]).await;
    let invoiced = eventually(30, async || {
        magento_orders(&running, id)
            .await
            .first()
            .is_some_and(|o| o["total_invoiced"].as_f64() > Some(0.0))
    })
    .await;
    assert!(
        invoiced,
        "the order reaches Magento invoiced: {:#?}",
        all_magento_orders(&running).await
    );
    let report = get_json(&format!("{}/sandbox/faults", magento(&running))).await;
    magento_admin(&running, "/sandbox/faults", &json!({})).await;
    assert_eq!(report["injected"]["drop"], 1, "one answer was lost: {report}");
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
    let deliveries = get_json(&format!("{}/sandbox/faults", tiktok(&running))).await;
    assert!(
        deliveries["injected"]["duplicate_webhook"].as_u64() >= Some(1),
        "{deliveries}"
    );

    let all = all_magento_orders(&running).await;
    assert_eq!(all.len(), 1, "exactly one Magento order: {all:#?}");
    let order = &all[0];
    assert_eq!(order["ext_order_id"], id);
    assert_eq!(
        (order["state"].as_str(), order["status"].as_str()),
        (Some("processing"), Some("processing")),
        "paid on TikTok and awaiting fulfilment: invoiced, processing"
    );
    assert_eq!(order["total_invoiced"], order["grand_total"], "invoiced in full");
    assert_eq!(order["items"].as_array().unwrap().len(), 1);
    assert_eq!(order["items"][0]["sku"], "SKU-00002");
    assert_eq!(order["items"][0]["qty_ordered"].as_f64(), Some(1.0));
    let comments: Vec<&str> = order["comments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        comments.iter().any(|c| c.contains(&format!("TikTok Shop order {id}"))),
        "the order names its TikTok order: {comments:?}"
    );
    // (The connection form's access check leaves an empty cart, as Magento's own clients do.)
    let filled: Vec<(u64, bool)> = running
        .sandboxes
        .as_ref()
        .unwrap()
        .magento2_sandbox()
        .lock()
        .carts
        .values()
        .filter(|c| !c.items.is_empty())
        .map(|c| (c.id, c.active))
        .collect();
    assert_eq!(
        filled,
        vec![(order["quote_id"].as_u64().unwrap(), false)],
        "one cart was filled and placed, none made again"
    );
}

#[tokio::test]
async fn a_magento_shipment_reaches_tiktok_with_its_tracking_number_after_a_store_poll() {
    let (_dir, running, shop) = ready().await;
    let id = "576461413038795002";
    let order = ordered(&running, &shop, id, &["SKU-00004"]).await;
    assert!(running.settle(Duration::from_secs(2), Duration::from_secs(60)).await);
    let shipped = magento_admin(
        &running,
        &format!("/sandbox/orders/{}/ship", order["id"]),
        &json!({"track_number": "1Z999AA10123456784", "carrier_code": "ups", "title": "United Parcel Service"}),
    )
    .await;
    assert!(shipped["shipment_id"].as_u64().is_some(), "{shipped}");
    one_store_poll(&running).await;
    let on_tiktok = tiktok_order_of(&running, id).await;
    assert_eq!(
        on_tiktok["tracking_number"], "1Z999AA10123456784",
        "the tracking number reached TikTok: {on_tiktok:#}"
    );
    assert_eq!(on_tiktok["status"], "AWAITING_COLLECTION", "marked shipped on TikTok");
    assert_eq!(
        on_tiktok["shipping_provider_id"], "7117858858072016687",
        "Magento's ups is TikTok's UPS"
    );
}

#[tokio::test]
async fn a_cancellation_on_either_side_cancels_the_order_on_the_other() {
    let (_dir, running, shop) = ready().await;
    let (by_buyer, by_merchant) = ("576461413038795003", "576461413038795004");
    let sku = "SKU-00006";
    let before = salable(&running, sku).await;
    ordered(&running, &shop, by_buyer, &[sku]).await;
    let merchant_order = ordered(&running, &shop, by_merchant, &[sku]).await;
    assert!(running.settle(Duration::from_secs(2), Duration::from_secs(60)).await);
    assert_eq!(
        salable(&running, sku).await,
        before - 2,
        "both orders reserve their unit"
    );

    // The buyer cancels on TikTok.
    hosted::buyer_cancels_on_tiktok(&running, by_buyer).await;
    assert!(
        eventually(20, async || magento_orders(&running, by_buyer).await[0]["state"]
            == "canceled")
        .await,
        "the buyer's cancellation cancels the Magento order: {:#}",
        magento_orders(&running, by_buyer).await[0]
    );
    assert_eq!(salable(&running, sku).await, before - 1, "its unit is salable again");

    // The merchant cancels in Magento.
    hosted::merchant_cancels_in_the_store(&running, &merchant_order, by_merchant).await;
    assert_eq!(magento_orders(&running, by_merchant).await[0]["state"], "canceled");
    assert_eq!(salable(&running, sku).await, before);
    assert_eq!(
        tiktok_sku(&running, sku).await.1 as i64,
        before,
        "TikTok sells both units again"
    );
}

#[tokio::test]
async fn a_refund_approved_on_tiktok_becomes_exactly_one_credit_memo_in_magento() {
    let (_dir, running, shop) = ready().await;
    let (mut browser, base, csrf) = merchant(&running).await;
    let id = "576461413038795005";
    ordered(&running, &shop, id, &["SKU-00007"]).await;
    set_tiktok_status(&running, id, json!({"status": "DELIVERED"})).await;
    let return_id = hosted::refund_approved(&running, (&mut browser, &base, &csrf), id).await;
    let memos = async || {
        magento_orders(&running, id).await[0]["creditmemos"]
            .as_array()
            .unwrap()
            .clone()
    };
    assert!(
        eventually(20, async || memos().await.len() == 1).await,
        "the refund reaches Magento: {:#}",
        magento_orders(&running, id).await[0]
    );
    // Notified again and polled again: nothing is refunded twice.
    hosted::return_notified_again(&running, &shop, id, &return_id).await;
    let memos = memos().await;
    assert_eq!(memos.len(), 1, "exactly one credit memo: {memos:?}");
    assert_eq!(
        memos[0]["grand_total"].as_f64(),
        Some(8.5),
        "what the buyer paid for the unit"
    );
    let order = &magento_orders(&running, id).await[0];
    assert_eq!(order["total_refunded"].as_f64(), Some(8.5));
    assert_eq!(
        tiktok_order_of(&running, id).await["status"],
        "DELIVERED",
        "the refund leaves the TikTok order as it was"
    );
}

#[tokio::test]
async fn a_forged_or_wrongly_signed_request_to_magento_is_refused() {
    let (_dir, running) = stack().await;
    let integration = SandboxConfig::default_integration();
    let url = url::Url::parse(&format!(
        "{}/rest/default/V1/orders?searchCriteria%5BpageSize%5D=1",
        magento(&running)
    ))
    .unwrap();
    let http = reqwest::Client::new();
    let signed = |consumer_secret: &str, nonce: &str| {
        let credentials = magento2_sandbox::oauth::Credentials {
            consumer_key: &integration.consumer_key,
            consumer_secret,
            token: &integration.access_token,
            token_secret: &integration.access_token_secret,
        };
        let now = jiff::Timestamp::now().as_second();
        magento2_sandbox::oauth::authorization_header(
            &credentials,
            magento2_sandbox::oauth::Method::HmacSha256,
            "GET",
            &url,
            now,
            nonce,
        )
    };
    let status = async |header: Option<String>| {
        let mut request = http.get(url.clone());
        if let Some(header) = header {
            request = request.header("authorization", header);
        }
        request.send().await.unwrap().status().as_u16()
    };
    // The genuine signature is accepted: the refusals below are about the signature.
    assert_eq!(status(Some(signed(&integration.consumer_secret, "n-good"))).await, 200);
    assert_eq!(status(None).await, 401, "unsigned");
    assert_eq!(
        status(Some(signed("not-the-consumer-secret", "n-wrong-secret"))).await,
        401,
        "signed with the wrong consumer secret"
    );
    let genuine = signed(&integration.consumer_secret, "n-tampered");
    let start = genuine.find("oauth_signature=\"").unwrap() + "oauth_signature=\"".len();
    let mut tampered = genuine.clone();
    let flipped = if &genuine[start..start + 1] == "A" { "B" } else { "A" };
    tampered.replace_range(start..start + 1, flipped);
    assert_eq!(status(Some(tampered)).await, 401, "a tampered signature");
    let forged = genuine.replace("oauth_nonce=\"n-tampered\"", "oauth_nonce=\"n-forged\"");
    assert_eq!(status(Some(forged)).await, 401, "a signed field changed after signing");
    assert_eq!(
        status(Some(signed(&integration.consumer_secret, "n-good"))).await,
        401,
        "a replayed nonce"
    );
}

#[tokio::test]
async fn the_connect_form_names_a_wrong_consumer_secret_and_saves_no_store() {
    let (_dir, running) = stack().await;
    let integration = SandboxConfig::default_integration();
    let base = format!("http://{}", running.addr);
    let mut browser = Browser::new().unwrap();
    let answer = browser
        .fill_in(
            &format!("{base}/connect/magento2"),
            &[
                ("store_url", magento(&running).as_str()),
                ("store_code", "default"),
                ("consumer_key", &integration.consumer_key),
                ("consumer_secret", "a-wrong-consumer-secret"),
                ("access_token", &integration.access_token),
                ("access_token_secret", &integration.access_token_secret),
            ],
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(
        answer.body.contains("Magento did not accept these credentials"),
        "the page says why: {}",
        answer.body
    );
    assert!(
        !answer.body.contains("a-wrong-consumer-secret"),
        "the secret is not echoed back"
    );
    assert!(
        answer.body.contains(&integration.access_token),
        "the non-secret fields are kept"
    );
    let session = browser.get(&format!("{base}/settings/api/session")).await.unwrap();
    assert!(
        session.status == 401 || session.status == 403,
        "no session: {}",
        session.status
    );
    let store = running.sandboxes.as_ref().unwrap().onboarded_store_id();
    assert!(
        connector::accounts::get_store(running.app.table.as_ref(), &store)
            .await
            .unwrap()
            .is_none(),
        "no store was saved"
    );
}

/// The quote flow writes the TikTok id (`ext_order_id`) only after placing: when the
/// placement's answer is lost and the adapter's look-up of the cart's order fails too,
/// the order job fails, and its retry must find the order the first attempt placed
/// (by the order's own customer email) instead of placing a second one.
#[tokio::test]
async fn a_placement_whose_answer_and_look_up_are_lost_makes_no_second_order_when_the_job_is_retried() {
    let (_dir, running, shop) = ready().await;
    let id = "576461413038795009";
    // The placement's answer is lost (the 7th call, as above); every call is slowed so
    // the test can make Magento fail the look-up that follows.
    let mut faults = lose_nth_answer(7);
    faults.latency_ms = 300;
    magento_admin(&running, "/sandbox/faults", &serde_json::to_value(faults).unwrap()).await;
    place_on_tiktok(&running, &shop, id, &["SKU-00002"]).await;
    let sandbox = running.sandboxes.as_ref().unwrap().magento2_sandbox().clone();
    assert!(eventually(30, async || !sandbox.lock().orders.is_empty()).await);
    magento_admin(&running, "/sandbox/faults", &json!({"error_share": 1.0})).await;
    let store = running.sandboxes.as_ref().unwrap().onboarded_store_id();
    let table = running.app.table.as_ref();
    let failed = eventually(30, async || {
        connector::orders::get_record(table, &store, id)
            .await
            .unwrap()
            .is_some_and(|r| r.state == connector::orders::SyncState::Error)
    })
    .await;
    magento_admin(&running, "/sandbox/faults", &json!({})).await;
    assert!(failed, "the first attempt failed after placing the order");
    // TikTok notifies again and the retry sweep runs.
    let notified = reqwest::Client::new()
        .post(format!("{}/sandbox/orders/{id}/notify", tiktok(&running)))
        .send()
        .await
        .unwrap();
    assert!(notified.status().is_success());
    assert!(running.settle(Duration::from_secs(2), Duration::from_secs(60)).await);
    schedules::run(&running.app, Schedule::SweepRetries).await.unwrap();
    assert!(running.settle(Duration::from_secs(2), Duration::from_secs(60)).await);
    let all = all_magento_orders(&running).await;
    assert_eq!(all.len(), 1, "exactly one Magento order: {all:#?}");
    assert_eq!(all[0]["ext_order_id"], id);
}

/// The connect form in a real Chromium, by keyboard: a wrong consumer secret is named
/// above the form with the other fields kept; the right one signs the merchant in to
/// the setup wizard. Screenshots: `target/screenshots/magento2-*.png`.
#[tokio::test]
async fn the_connect_form_works_by_keyboard_in_a_browser() {
    use connector_e2e::chromium::Chromium;
    use fantoccini::Locator;
    let (_dir, running) = stack().await;
    let integration = SandboxConfig::default_integration();
    let chromium = Chromium::start().await.unwrap();
    let c = chromium.client();
    chromium
        .goto(&format!("http://{}/connect/magento2", running.addr))
        .await
        .unwrap();
    assert_eq!(chromium.text("h1").await.unwrap(), "Connect your Magento 2 store");
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
    type_in("store_url", magento(&running)).await;
    type_in("consumer_key", integration.consumer_key.clone()).await;
    type_in("consumer_secret", "a-wrong-consumer-secret".into()).await;
    type_in("access_token", integration.access_token.clone()).await;
    type_in("access_token_secret", integration.access_token_secret.clone()).await;
    // Enter in the last field sends the form.
    field("access_token_secret").await.send_keys("\u{E007}").await.unwrap();
    assert!(
        eventually(10, async || chromium
            .text("[role=alert]")
            .await
            .is_ok_and(|t| t.contains("Magento did not accept these credentials")))
        .await,
        "the refusal is said above the form: {:?}",
        c.source().await
    );
    assert_eq!(
        field("consumer_key").await.prop("value").await.unwrap().as_deref(),
        Some(integration.consumer_key.as_str()),
        "the consumer key is kept"
    );
    assert_eq!(
        field("consumer_secret").await.prop("value").await.unwrap().as_deref(),
        Some(""),
        "a secret is never sent back"
    );
    chromium.screenshot("magento2-1-refused").await.unwrap();
    type_in("consumer_secret", integration.consumer_secret.clone()).await;
    type_in("access_token_secret", integration.access_token_secret.clone()).await;
    field("access_token_secret").await.send_keys("\u{E007}").await.unwrap();
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
        header.starts_with("Magento 2 store ") && header.ends_with("(default)"),
        "the header names the store by its address and store view: {header}"
    );
    chromium.screenshot("magento2-2-wizard").await.unwrap();
    chromium.quit().await;
}
