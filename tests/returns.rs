//! Returns, refunds and buyer cancellation requests end to end, through the local
//! runner and both sandboxes: a request placed on TikTok shows in the app within
//! seconds, the merchant answers it, and what TikTok decides reaches the store once
//! (refund, status, stock, cancellation), whatever is notified twice or not at all.

use std::time::Duration;

use connector::returns::{self, Stage};
use connector::schedules::{self, Schedule};
use connector_e2e::chromium::Chromium;
use connector_e2e::{eventually, merchant, ready_on, store_orders, tiktok, tiktok_admin, tiktok_order};
use connector_local::{Browser, Running};
use serde_json::{Value, json};

const STORE: &str = "sbx1store";

type Sku = (String, String, String);

/// A TikTok order of `units` placed, synced to the store, and moved to `status` on
/// TikTok; returns its store order.
async fn ordered(running: &Running, shop: &str, id: &str, units: &[&Sku], status: &str) -> Value {
    let units: Vec<(&str, &str)> = units.iter().map(|s| (s.0.as_str(), s.1.as_str())).collect();
    assert_eq!(
        tiktok_admin(running, "/sandbox/orders", &tiktok_order(shop, id, &units))
            .await
            .status(),
        201
    );
    assert!(
        eventually(10, async || store_orders(running, id).await.len() == 1).await,
        "order {id} reaches the store"
    );
    if status != "AWAITING_SHIPMENT" {
        let path = format!("/sandbox/orders/{id}/status");
        assert_eq!(
            tiktok_admin(running, &path, &json!({ "status": status }))
                .await
                .status(),
            200
        );
    }
    store_orders(running, id).await.remove(0)
}

/// Places a request through a TikTok sandbox admin route; returns its id.
async fn request(running: &Running, path: &str, body: Value, id_key: &str) -> String {
    let answer = tiktok_admin(running, path, &body).await;
    assert_eq!(answer.status(), 201, "{path} {body}");
    let answer: Value = answer.json().await.unwrap();
    answer[id_key].as_str().unwrap().to_string()
}

/// The request as the connector holds it, once it exists.
async fn seen(running: &Running, id: &str) -> returns::AfterSale {
    let table = running.app.table.as_ref();
    assert!(
        eventually(10, async || returns::get(table, STORE, id).await.unwrap().is_some()).await,
        "request {id} shows in the app within seconds"
    );
    returns::get(table, STORE, id).await.unwrap().unwrap()
}

/// Waits until the request's TikTok status is `status`.
async fn reaches(running: &Running, id: &str, status: &str) -> returns::AfterSale {
    let table = running.app.table.as_ref();
    let reached = eventually(10, async || {
        returns::get(table, STORE, id)
            .await
            .unwrap()
            .is_some_and(|r| r.status == status)
    })
    .await;
    let record = returns::get(table, STORE, id).await.unwrap().unwrap();
    assert!(reached, "request {id} reaches {status}: {record:?}");
    record
}

/// The store's stock of a variant, as the BigCommerce sandbox holds it.
fn store_stock(running: &Running, variant_id: &str) -> i64 {
    let sandbox = running.sandboxes.as_ref().unwrap().bigcommerce_sandbox().lock();
    let variant_id: u64 = variant_id.parse().unwrap();
    sandbox.stores[STORE]
        .products
        .values()
        .find_map(|p| {
            let variant = p.variants.iter().find(|v| v.id == variant_id)?;
            Some(if p.tracking == "variant" {
                variant.inventory
            } else {
                p.inventory
            })
        })
        .unwrap()
}

/// The refunds of a store order and its status id, as the BigCommerce sandbox holds them.
async fn store_refunds(running: &Running, external_id: &str) -> (Vec<Value>, u64) {
    let order = store_orders(running, external_id).await.remove(0);
    let sandbox = running.sandboxes.as_ref().unwrap().bigcommerce_sandbox().lock();
    let refunds = sandbox.stores[STORE]
        .refunds
        .iter()
        .filter(|r| r["order_id"] == order["id"])
        .cloned()
        .collect();
    (refunds, order["status_id"].as_u64().unwrap())
}

/// A JSON answer of the settings API.
async fn api(browser: &mut Browser, url: &str, body: &Value, csrf: &str) -> (u16, Value) {
    let answer = browser.post_json(url, body, csrf).await.unwrap();
    (answer.status, serde_json::from_str(&answer.body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_return_is_approved_shipped_back_received_then_refunded_and_restocked_exactly_once() {
    let (_dir, running, shop, skus) = ready_on(false).await;
    let (mut browser, base, csrf) = merchant(&running).await;
    let sku = &skus[0];
    let id = "576461413038790001";
    ordered(&running, &shop, id, &[sku, sku], "DELIVERED").await;
    let before = store_stock(&running, &sku.2);

    let return_id = request(
        &running,
        "/sandbox/returns",
        json!({"order_id": id, "return_type": "RETURN_AND_REFUND", "return_reason_text": "Too small"}),
        "return_id",
    )
    .await;
    let record = seen(&running, &return_id).await;
    assert_eq!(record.stage(), Stage::NeedsAction);
    assert_eq!(record.refund.total.to_string(), "17.00", "two units at 8.50");
    assert_eq!(record.lines.len(), 2);
    assert!(record.store_order_id.is_some(), "linked to its store order");
    let listed = browser
        .get(&format!("{base}/settings/api/returns?status=needs_action"))
        .await
        .unwrap();
    let listed: Value = serde_json::from_str(&listed.body).unwrap();
    assert_eq!(listed["rows"][0]["id"], return_id.as_str());

    let url = format!("{base}/settings/api/returns/{return_id}/approve");
    let (status, answer) = api(&mut browser, &url, &json!({}), &csrf).await;
    assert_eq!(status, 400, "an answer that moves money is named: {answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("return, returnless_refund, partial_refund"),
        "{answer}"
    );
    let (status, answer) = api(&mut browser, &url, &json!({"decision": "received"}), &csrf).await;
    assert_eq!(status, 400, "the parcel has not come back yet: {answer}");
    let (status, answer) = api(&mut browser, &url, &json!({"decision": "return"}), &csrf).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["request"]["status"], "AWAITING_BUYER_SHIP");

    let ship = format!("/sandbox/returns/{return_id}/ship");
    assert_eq!(
        tiktok_admin(&running, &ship, &json!({"tracking_number": "1Z999"}))
            .await
            .status(),
        200
    );
    reaches(&running, &return_id, "BUYER_SHIPPED_ITEM").await;
    assert_eq!(
        store_stock(&running, &sku.2),
        before,
        "nothing goes back before the parcel is received"
    );
    let (status, answer) = api(&mut browser, &url, &json!({"decision": "received"}), &csrf).await;
    assert_eq!(status, 200, "{answer}");

    let refunded = eventually(10, async || store_refunds(&running, id).await.0.len() == 1).await;
    assert!(refunded, "the refund is recorded on the store order");
    assert!(
        eventually(10, async || store_stock(&running, &sku.2) == before + 2).await,
        "the two returned units are back in stock: {} then {}; {:?}",
        before,
        store_stock(&running, &sku.2),
        returns::get(running.app.table.as_ref(), STORE, &return_id)
            .await
            .unwrap()
    );
    let (refunds, status_id) = store_refunds(&running, id).await;
    assert_eq!(refunds[0]["total_amount"].as_f64(), Some(17.0));
    assert_eq!(status_id, 14, "Partially Refunded: the 5.00 shipping stays paid");

    // Notified again, polled again: nothing happens twice.
    let record = returns::get(running.app.table.as_ref(), STORE, &return_id)
        .await
        .unwrap()
        .unwrap();
    for n in 0..3 {
        returns::enqueue(
            &running.app,
            STORE,
            (&shop, id, record.kind, &return_id),
            "webhook",
            format!("again-{n}"),
        )
        .await
        .unwrap();
    }
    schedules::run(&running.app, Schedule::PollReturns).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(store_refunds(&running, id).await.0.len(), 1, "one refund");
    assert_eq!(store_stock(&running, &sku.2), before + 2, "restocked once");
    let record = returns::get(running.app.table.as_ref(), STORE, &return_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.stage(), Stage::Completed);
    assert_eq!(record.problem, None);
}

#[tokio::test]
async fn refund_only_requests_are_rejected_with_tiktoks_reason_or_refunded_in_part() {
    let (_dir, running, shop, skus) = ready_on(false).await;
    let (mut browser, base, csrf) = merchant(&running).await;
    let sku = &skus[1];
    let (rejected_order, partial_order) = ("576461413038790101", "576461413038790102");
    ordered(&running, &shop, rejected_order, &[sku], "IN_TRANSIT").await;
    ordered(&running, &shop, partial_order, &[sku], "DELIVERED").await;
    let before = store_stock(&running, &sku.2);

    let rejected = request(
        &running,
        "/sandbox/returns",
        json!({"order_id": rejected_order, "return_type": "REFUND"}),
        "return_id",
    )
    .await;
    seen(&running, &rejected).await;
    let detail = browser
        .get(&format!("{base}/settings/api/returns/{rejected}"))
        .await
        .unwrap();
    let detail: Value = serde_json::from_str(&detail.body).unwrap();
    let reason = detail["reject_reasons"][0]["name"].as_str().unwrap().to_string();
    let url = format!("{base}/settings/api/returns/{rejected}/reject");
    let (status, answer) = api(
        &mut browser,
        &url,
        &json!({"reject_reason": "made_up_reason", "comment": "No"}),
        &csrf,
    )
    .await;
    assert_eq!(status, 400, "TikTok refuses a reason not on its list: {answer}");
    assert!(answer["error"].as_str().unwrap().contains("TikTok refused"), "{answer}");
    let record = returns::get(running.app.table.as_ref(), STORE, &rejected)
        .await
        .unwrap()
        .unwrap();
    assert!(record.problem.as_deref().unwrap_or_default().contains("TikTok refused"));
    assert_eq!(record.stage(), Stage::NeedsAction, "still waiting for an answer");
    let (status, answer) = api(
        &mut browser,
        &url,
        &json!({"reject_reason": reason, "comment": "Tracking shows it on its way",
                "images": [{"image_id": "tos-maliva-i-evidence-1", "mime_type": "image/png", "width": 800, "height": 600}]}),
        &csrf,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let record = reaches(&running, &rejected, "REFUND_OR_RETURN_REQUEST_REJECT").await;
    assert_eq!((record.stage(), record.problem), (Stage::Rejected, None));

    let partial = request(
        &running,
        "/sandbox/returns",
        json!({"order_id": partial_order, "return_type": "REFUND"}),
        "return_id",
    )
    .await;
    seen(&running, &partial).await;
    let url = format!("{base}/settings/api/returns/{partial}/approve");
    let (status, answer) = api(
        &mut browser,
        &url,
        &json!({"decision": "partial_refund", "amount": "8.50"}),
        &csrf,
    )
    .await;
    assert_eq!(status, 400, "a partial refund is less than the whole: {answer}");
    let (status, answer) = api(
        &mut browser,
        &url,
        &json!({"decision": "partial_refund", "amount": 3}),
        &csrf,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["request"]["status"], "AWAITING_BUYER_RESPONSE");
    let accept = format!("/sandbox/returns/{partial}/buyer-response");
    assert_eq!(
        tiktok_admin(&running, &accept, &json!({"accept": true})).await.status(),
        200
    );
    assert!(
        eventually(10, async || store_refunds(&running, partial_order).await.0.len() == 1).await,
        "the accepted partial refund is recorded in the store: {:?}",
        store_refunds(&running, partial_order).await
    );
    let (refunds, status_id) = store_refunds(&running, partial_order).await;
    assert_eq!(refunds[0]["total_amount"].as_f64(), Some(3.0));
    assert_eq!(status_id, 14, "Partially Refunded");
    assert_eq!(
        store_stock(&running, &sku.2),
        before,
        "nothing came back, nothing goes back"
    );
}

#[tokio::test]
async fn an_approved_buyer_cancellation_cancels_the_store_order_once_and_the_poller_finds_a_lost_one() {
    let (_dir, running, shop, skus) = ready_on(false).await;
    let (mut browser, base, csrf) = merchant(&running).await;
    let sku = &skus[0];
    let (approved_order, lost_order) = ("576461413038790201", "576461413038790202");
    ordered(&running, &shop, approved_order, &[sku], "AWAITING_SHIPMENT").await;
    ordered(&running, &shop, lost_order, &[sku], "AWAITING_SHIPMENT").await;
    let before = store_stock(&running, &sku.2);

    let cancel_id = request(
        &running,
        "/sandbox/cancellations",
        json!({"order_id": approved_order}),
        "cancel_id",
    )
    .await;
    seen(&running, &cancel_id).await;
    // A cancellation is answered on its own route; the returns route does not know it.
    let wrong = format!("{base}/settings/api/returns/{cancel_id}/approve");
    assert_eq!(api(&mut browser, &wrong, &json!({}), &csrf).await.0, 404);
    let url = format!("{base}/settings/api/cancellations/{cancel_id}/approve");
    let (status, answer) = api(&mut browser, &url, &json!({}), &csrf).await;
    assert_eq!(status, 200, "{answer}");
    assert!(
        eventually(
            10,
            async || store_orders(&running, approved_order).await[0]["status_id"] == 5
        )
        .await,
        "the store order is cancelled"
    );
    assert!(
        eventually(10, async || store_stock(&running, &sku.2) == before + 1).await,
        "its unit is back once"
    );
    // Answering again is refused in words; the store order stays cancelled once.
    let (status, answer) = api(&mut browser, &url, &json!({}), &csrf).await;
    assert_eq!(status, 400, "{answer}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(store_stock(&running, &sku.2), before + 1);

    // TikTok's webhook is lost: the poller finds the request.
    let sandboxes = running.sandboxes.as_ref().unwrap();
    let faults = format!("{}/sandbox/faults", tiktok(&running));
    let http = reqwest::Client::new();
    http.post(&faults)
        .json(&json!({"drop_webhook_share": 1.0}))
        .send()
        .await
        .unwrap();
    let lost = request(
        &running,
        "/sandbox/cancellations",
        json!({"order_id": lost_order}),
        "cancel_id",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    http.post(&faults).json(&json!({})).send().await.unwrap();
    let table = running.app.table.as_ref();
    assert!(
        returns::get(table, STORE, &lost).await.unwrap().is_none(),
        "no webhook came"
    );
    schedules::run(&running.app, Schedule::PollReturns).await.unwrap();
    let record = seen(&running, &lost).await;
    assert_eq!(record.stage(), Stage::NeedsAction);
    assert!(record.timeline[0].text.contains("poll"), "{:?}", record.timeline);
    let _ = sandboxes;
}

#[tokio::test]
async fn an_answer_tiktok_no_longer_takes_ends_as_a_readable_state_and_another_store_sees_nothing() {
    let (_dir, running, shop, skus) = ready_on(false).await;
    let (mut browser, base, csrf) = merchant(&running).await;
    let id = "576461413038790301";
    ordered(&running, &shop, id, &[&skus[0]], "DELIVERED").await;
    let return_id = request(
        &running,
        "/sandbox/returns",
        json!({"order_id": id, "return_type": "REFUND"}),
        "return_id",
    )
    .await;
    seen(&running, &return_id).await;
    // The buyer withdraws it on TikTok, and that notification is lost.
    {
        let sandbox = &running.sandboxes.as_ref().unwrap().tiktok_sandbox;
        let mut state = sandbox.lock();
        let record = state.returns.get_mut(&return_id).unwrap();
        record["return_status"] = json!("RETURN_OR_REFUND_REQUEST_CANCEL");
        record["seller_next_action_response"] = json!([]);
        record["update_time"] = json!(connector::storage::unix_now() + 1);
    }
    let url = format!("{base}/settings/api/returns/{return_id}/approve");
    let (status, answer) = api(&mut browser, &url, &json!({"decision": "refund"}), &csrf).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["sent"], false);
    assert!(
        answer["message"].as_str().unwrap().contains("withdrawn by the buyer"),
        "{answer}"
    );
    let record = returns::get(running.app.table.as_ref(), STORE, &return_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.stage(), Stage::Closed, "the record follows TikTok");
    assert!(store_refunds(&running, id).await.0.is_empty(), "nothing refunded");

    // TikTok's arbitration takes another request over, and that notification is lost too.
    let other_order = "576461413038790302";
    ordered(&running, &shop, other_order, &[&skus[0]], "DELIVERED").await;
    let disputed = request(
        &running,
        "/sandbox/returns",
        json!({"order_id": other_order, "return_type": "REFUND"}),
        "return_id",
    )
    .await;
    seen(&running, &disputed).await;
    let faults = format!("{}/sandbox/faults", tiktok(&running));
    let http = reqwest::Client::new();
    http.post(&faults)
        .json(&json!({"drop_webhook_share": 1.0}))
        .send()
        .await
        .unwrap();
    let arbitrate = format!("/sandbox/returns/{disputed}/arbitration");
    assert_eq!(
        tiktok_admin(&running, &arbitrate, &json!({"arbitration_status": "IN_PROGRESS"}))
            .await
            .status(),
        200
    );
    http.post(&faults).json(&json!({})).send().await.unwrap();
    let url_disputed = format!("{base}/settings/api/returns/{disputed}/approve");
    let (status, answer) = api(&mut browser, &url_disputed, &json!({"decision": "refund"}), &csrf).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["sent"], false);
    assert!(
        answer["message"].as_str().unwrap().contains("arbitration decides"),
        "{answer}"
    );
    let record = returns::get(running.app.table.as_ref(), STORE, &disputed)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.stage(), Stage::Arbitration);

    // A second store on the same deployment cannot see or answer it.
    let sandboxes = running.sandboxes.as_ref().unwrap();
    let (mut other, _, other_csrf) = connector_e2e::merchant_at(
        &running,
        &format!("{}/sandbox/install?store_hash=sbx2store", sandboxes.store),
    )
    .await;
    for path in [
        format!("/settings/returns/{return_id}"),
        format!("/settings/api/returns/{return_id}"),
    ] {
        let answer = other.get(&format!("{base}{path}")).await.unwrap();
        assert_eq!(answer.status, 404, "{path}");
    }
    let (status, _) = api(&mut other, &url, &json!({"decision": "refund"}), &other_csrf).await;
    assert_eq!(status, 404);
    let listed = other.get(&format!("{base}/settings/api/returns")).await.unwrap();
    let listed: Value = serde_json::from_str(&listed.body).unwrap();
    assert_eq!(listed["matching"], 0);
}

#[tokio::test]
async fn the_returns_screen_lists_answers_and_confirms_in_the_browser() {
    let (_dir, running, shop, skus) = ready_on(false).await;
    let id = "576461413038790401";
    ordered(&running, &shop, id, &[&skus[0]], "DELIVERED").await;
    let return_id = request(
        &running,
        "/sandbox/returns",
        json!({"order_id": id, "return_type": "REFUND", "return_reason_text": "Arrived damaged",
               "images": [{"url": "https://p16-oec-va.ibyteimg.com/buyer-photo-1.jpeg"}]}),
        "return_id",
    )
    .await;
    seen(&running, &return_id).await;
    let sandboxes = running.sandboxes.as_ref().unwrap();
    let base = format!("http://{}", running.addr);
    let chromium = Chromium::start().await.unwrap();
    chromium.goto(&sandboxes.load_url().await.unwrap()).await.unwrap();
    chromium.goto(&format!("{base}/settings/returns")).await.unwrap();
    let tabs = chromium.text(".tabs").await.unwrap();
    assert!(tabs.contains("Needs your action (1)"), "{tabs}");
    assert!(
        chromium.text("#due-requests").await.is_err(),
        "a 48-hour deadline is not due yet"
    );
    let row = chromium.text("#returns tbody tr").await.unwrap();
    assert!(row.contains("Refund only") && row.contains("8.50 USD"), "{row}");
    chromium.screenshot("returns-1-list").await.unwrap();
    chromium
        .click_to_next_page(&format!("#returns a[href=\"/settings/returns/{return_id}\"]"))
        .await
        .unwrap();
    assert!(chromium.text("#summary").await.unwrap().contains("Arrived damaged"));
    let on_tiktok = chromium.text("#tiktok-record").await.unwrap();
    assert!(
        on_tiktok.contains("Photo 1") && on_tiktok.contains("buyer"),
        "the buyer's photo: {on_tiktok}"
    );
    chromium.screenshot("returns-2-request").await.unwrap();
    chromium
        .click_to_next_page("#answer form button[type=submit]")
        .await
        .unwrap();
    let flash = chromium.text("#flash").await.unwrap();
    assert!(flash.contains("Your answer was sent to TikTok"), "{flash}");
    assert!(
        eventually(10, async || {
            chromium.client().refresh().await.unwrap();
            chromium
                .text("#store-effects")
                .await
                .unwrap_or_default()
                .contains("yes (refund")
        })
        .await,
        "the refund shows as recorded in the store"
    );
    let timeline = chromium.text("#timeline").await.unwrap();
    assert!(timeline.contains("by you"), "{timeline}");
    chromium.screenshot("returns-3-answered").await.unwrap();

    // A settings value out of range is refused next to its field; the other edits stay.
    chromium.goto(&format!("{base}/settings/returns")).await.unwrap();
    let limit = format!("input[name=\"refund_only_under:{shop}\"]");
    chromium
        .client()
        .find(fantoccini::Locator::Css(&limit))
        .await
        .unwrap()
        .send_keys("-5")
        .await
        .unwrap();
    chromium.click("input[name=restock_returns]").await.unwrap();
    chromium
        .click_to_next_page("#return-settings button[type=submit]")
        .await
        .unwrap();
    assert!(chromium.text(".field-error").await.unwrap().contains("more than 0"));
    assert!(
        !chromium.is_selected("input[name=restock_returns]").await.unwrap(),
        "the other edit is kept"
    );
    chromium.screenshot("returns-4-settings-error").await.unwrap();
    chromium.quit().await;
}

#[tokio::test]
async fn automatic_rules_answer_within_their_limits_and_a_refund_made_in_the_store_is_shown_not_sent() {
    let (_dir, running, shop, skus) = ready_on(false).await;
    let (mut browser, base, csrf) = merchant(&running).await;
    let limit_field = format!("refund_only_under:{shop}");
    let cancel_field = format!("approve_unshipped_cancellations:{shop}");
    let saved = browser
        .post_form(
            &format!("{base}/settings/returns/settings"),
            &[
                ("csrf", &csrf),
                ("refund_in_store", "on"),
                ("restock_returns", "on"),
                (&limit_field, "10.00"),
                (&cancel_field, "on"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(saved.status, 303, "{}", saved.body);
    let sku = &skus[0];
    let (small, large, unshipped, refunded_in_store) = (
        "576461413038790501",
        "576461413038790502",
        "576461413038790503",
        "576461413038790504",
    );
    ordered(&running, &shop, small, &[sku], "IN_TRANSIT").await;
    ordered(&running, &shop, large, &[sku, sku], "IN_TRANSIT").await;
    ordered(&running, &shop, unshipped, &[sku], "AWAITING_SHIPMENT").await;
    let store_order = ordered(&running, &shop, refunded_in_store, &[sku], "DELIVERED").await;

    let small_id = request(
        &running,
        "/sandbox/returns",
        json!({"order_id": small, "return_type": "REFUND"}),
        "return_id",
    )
    .await;
    let large_id = request(
        &running,
        "/sandbox/returns",
        json!({"order_id": large, "return_type": "REFUND"}),
        "return_id",
    )
    .await;
    let cancel_id = request(
        &running,
        "/sandbox/cancellations",
        json!({"order_id": unshipped}),
        "cancel_id",
    )
    .await;
    let record = reaches(&running, &small_id, "RETURN_OR_REFUND_REQUEST_COMPLETE").await;
    assert!(
        record.timeline.iter().any(|e| e
            .text
            .contains("automatic rule \"approve refund-only requests under 10.00 USD\"")),
        "the automatic answer names its rule: {:?}",
        record.timeline
    );
    assert!(
        eventually(10, async || store_refunds(&running, small).await.0.len() == 1).await,
        "the automatic refund reaches the store"
    );
    let record = seen(&running, &large_id).await;
    assert_eq!(
        record.stage(),
        Stage::NeedsAction,
        "17.00 is over the limit: the merchant answers"
    );
    reaches(&running, &cancel_id, "CANCELLATION_REQUEST_COMPLETE").await;
    assert!(
        eventually(10, async || store_orders(&running, unshipped).await[0]["status_id"]
            == 5)
        .await,
        "the unshipped order's cancellation is approved and reaches the store"
    );

    // The merchant refunds an order in the store: TikTok is not told; the order says so.
    let path = format!("/sandbox/orders/{}/status", store_order["id"]);
    let answer = reqwest::Client::new()
        .post(format!("{}{path}", connector_e2e::bigcommerce(&running)))
        .json(&json!({"status_id": 4}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let table = running.app.table.as_ref();
    let noted = eventually(10, async || {
        connector::orders::get_record(table, STORE, refunded_in_store)
            .await
            .unwrap()
            .and_then(|r| r.reason)
            .is_some_and(|r| r.contains("refunded in the store; TikTok was not told"))
    })
    .await;
    assert!(noted, "the store-side refund shows on the order");
    let sandbox = &running.sandboxes.as_ref().unwrap().tiktok_sandbox;
    assert_eq!(
        sandbox.lock().orders[refunded_in_store]["status"],
        "DELIVERED",
        "TikTok's order is untouched"
    );
    assert!(
        !sandbox
            .lock()
            .returns
            .values()
            .any(|r| r["order_id"] == refunded_in_store),
        "no return or refund was made on TikTok"
    );
    let (refunds, _) = store_refunds(&running, small).await;
    assert_eq!(
        refunds.len(),
        1,
        "the connector's own refund was not taken for the merchant's"
    );
    let small_order = connector::orders::get_record(table, STORE, small)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        small_order.reason, None,
        "the connector's own Partially Refunded status is not flagged"
    );

    // A request due within 24 hours is announced on every page.
    {
        let mut state = sandbox.lock();
        let record = state.returns.get_mut(&large_id).unwrap();
        let soon = connector::storage::unix_now() + 3600;
        record["seller_next_action_response"][0]["deadline"] = json!(soon);
        record["update_time"] = json!(connector::storage::unix_now() + 1);
    }
    let kind = returns::RequestKind::Return;
    returns::enqueue(
        &running.app,
        STORE,
        (&shop, large, kind, &large_id),
        "poll",
        "soon".into(),
    )
    .await
    .unwrap();
    let announced = eventually(10, async || {
        let page = browser.get(&format!("{base}/settings/products")).await.unwrap();
        page.body.contains("need your answer within 24 hours")
    })
    .await;
    assert!(announced, "the notice shows on other pages too");
}
