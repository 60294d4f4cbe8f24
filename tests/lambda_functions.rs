//! Every function binary as `cargo lambda build --release` leaves it
//! (`target/lambda/<function>/bootstrap`), started under a small emulator of the Lambda
//! runtime API (`2018-06-01`: next invocation, response, error, init error) against
//! moto and the sandboxes, and fed its fixture from `tests/events/`. Each answer is
//! asserted (status and body for the HTTP functions, `batchItemFailures` for the
//! workers, the effect for the schedules), and every AWS call a function makes goes
//! through a recording proxy in front of moto: it must be one that
//! `infra/template/permissions.json` grants that function, which the template lint
//! holds the template to.

use connector::catalog::records;
use connector_e2e::lambda::{
    Function, SHOP, STORE, binaries_built, binaries_only_stack, fixture, fixture_product, live_sku,
    signed_tiktok_webhook, with_session, workspace,
};
use connector_e2e::{bigcommerce, emulator_given, store_orders, tiktok, tiktok_admin, tiktok_order};
use serde_json::{Value, json};

/// The TikTok order of the order fixtures.
const ORDER: &str = "576461413038700101";

/// The SQS messages waiting on `url` (received and deleted), as jobs.
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Value> {
    let mut jobs = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let messages = received.messages();
        if messages.is_empty() {
            return jobs;
        }
        for message in messages {
            jobs.push(serde_json::from_str(message.body().unwrap_or_default()).unwrap());
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

/// Invokes a scheduled function with its fixture (`tests/events/<name>`); a schedule
/// answers nothing.
async fn run_schedule(function: &mut Function, name: &str) {
    let answer = function.respond(fixture(name)).await.unwrap();
    assert_eq!(answer, Value::Null, "{} answered its schedule", function.name);
}

/// Sets the sandbox at `base` to drop every webhook it would send (`drop`), or to send
/// them again: a lost webhook, which only the pollers recover.
async fn drop_webhooks(base: &str, drop: bool) {
    let share = if drop { 1.0 } else { 0.0 };
    let set = reqwest::Client::new()
        .post(format!("{base}/sandbox/faults"))
        .json(&json!({"drop_webhook_share": share}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200, "the sandbox takes the faults");
}

#[tokio::test]
async fn every_function_binary_answers_its_fixture_under_the_lambda_runtime_api() {
    if !emulator_given() || !binaries_built() {
        return;
    }
    let data_dir = tempfile::tempdir().unwrap();
    let (running, live, deployment) = binaries_only_stack(data_dir.path()).await.unwrap();
    let table = running.app.table.as_ref();
    let shop = connector::accounts::list_shops(table, STORE)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.shop_id == SHOP)
        .expect("the fixtures' shop is connected");
    assert!(
        live.iter()
            .any(|l| l.product_id == fixture_product() && l.skus.len() == 1),
        "the product-worker fixture's product is live with one SKU"
    );
    let sqs = &deployment.sqs;
    let queue_url = |logical: &str| deployment.queue_url(logical).to_string();
    let secrets = &running.app.secrets;
    let permissions: Value =
        serde_json::from_str(&std::fs::read_to_string(workspace().join("infra/template/permissions.json")).unwrap())
            .unwrap();
    let start = async |name: &'static str| deployment.start(name).await.unwrap();

    // oauth-callback: BigCommerce opens the app with a signed load link.
    let mut oauth = start("oauth-callback").await;
    let load = oauth
        .respond(fixture("oauth-callback.bigcommerce-load.json"))
        .await
        .unwrap();
    assert_eq!(load["statusCode"], 303, "{load}");
    assert_eq!(load["headers"]["location"], "/settings", "{load}");
    let set_cookies: Vec<String> = serde_json::from_value(load["cookies"].clone()).unwrap_or_default();
    assert!(!set_cookies.is_empty(), "the load opens a session: {load}");
    oauth.assert_calls_granted(&permissions);

    // settings-api: the dashboard in that session.
    let mut settings = start("settings-api").await;
    let dashboard = settings
        .respond(with_session(fixture("settings-api.dashboard.json"), &set_cookies))
        .await
        .unwrap();
    assert_eq!(dashboard["statusCode"], 200, "{dashboard}");
    let page = dashboard["body"].as_str().unwrap();
    assert!(page.contains("Dashboard") && page.contains(&shop.name), "{page}");
    settings.assert_calls_granted(&permissions);

    // order-poller: an order whose webhook was lost is found and queued.
    let sku = live_sku(&running).await.unwrap();
    drop_webhooks(&tiktok(&running), true).await;
    let placed = tiktok_admin(
        &running,
        "/sandbox/orders",
        &tiktok_order(SHOP, ORDER, &[(&sku.0, &sku.1)]),
    )
    .await;
    assert!(placed.status().is_success());
    drop_webhooks(&tiktok(&running), false).await;
    let mut order_poller = start("order-poller").await;
    run_schedule(&mut order_poller, "order-poller.schedule.json").await;
    let queued = drain(sqs, &queue_url("OrderQueue")).await;
    assert!(
        queued
            .iter()
            .any(|job| job["kind"] == "sync_order" && job["payload"]["order_id"] == ORDER),
        "{queued:?}"
    );
    order_poller.assert_calls_granted(&permissions);

    // webhook-ingest: the same order's notification, signed by the sandbox's code now.
    let mut webhook = signed_tiktok_webhook(secrets, |_| {});
    let mut ingest = start("webhook-ingest").await;
    let answered = ingest.respond(webhook.clone()).await.unwrap();
    assert_eq!(answered["statusCode"], 200, "{answered}");
    let queued = drain(sqs, &queue_url("OrderQueue")).await;
    assert!(
        queued
            .iter()
            .any(|job| job["kind"] == "sync_order" && job["payload"]["data"]["order_id"] == ORDER),
        "the webhook queued the order: {queued:?}"
    );
    // A wrong signature is refused, and queues nothing.
    webhook["headers"]["authorization"] = json!("0".repeat(64));
    assert_eq!(ingest.respond(webhook).await.unwrap()["statusCode"], 401);
    assert!(drain(sqs, &queue_url("OrderQueue")).await.is_empty());
    ingest.assert_calls_granted(&permissions);

    // order-worker: the queued order becomes one store order.
    let mut order_worker = start("order-worker").await;
    let batch = order_worker
        .respond(fixture("order-worker.sqs-batch.json"))
        .await
        .unwrap();
    assert_eq!(batch["batchItemFailures"], json!([]), "{batch}");
    let created = store_orders(&running, ORDER).await;
    assert_eq!(created.len(), 1, "one store order for {ORDER}: {created:?}");
    // Its metrics: the order's intake lag for its shop, and the TikTok calls it took.
    let metrics = order_worker.metrics();
    let lag = metrics
        .iter()
        .find(|m| m["Shop"] == SHOP && m.get("OrderIntakeLag").is_some())
        .unwrap_or_else(|| panic!("an OrderIntakeLag for the shop: {metrics:?}"));
    let directive = &lag["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "TikTokShopConnector/fixture");
    assert_eq!(directive["Dimensions"], json!([[], ["Shop"]]));
    assert!(
        directive["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == &json!({"Name": "OrderIntakeLag", "Unit": "Milliseconds"}))
    );
    assert!(
        metrics
            .iter()
            .any(|m| m["TikTokApiCalls"].as_f64().is_some_and(|calls| calls >= 1.0)),
        "{metrics:?}"
    );
    order_worker.assert_calls_granted(&permissions);

    // store-poller: a stock change whose webhook was lost is found and queued. The
    // store's first poll opens its change feed (what the store held before is the
    // import, not a change); the second finds the change.
    let mut store_poller = start("store-poller").await;
    run_schedule(&mut store_poller, "store-poller.schedule.json").await;
    let product = fixture_product();
    let level = 41;
    drop_webhooks(&bigcommerce(&running), true).await;
    let changed = reqwest::Client::new()
        .post(format!("{}/sandbox/products/{product}/stock", bigcommerce(&running)))
        .json(&json!({"inventory_level": level}))
        .send()
        .await
        .unwrap();
    assert!(changed.status().is_success());
    drop_webhooks(&bigcommerce(&running), false).await;
    run_schedule(&mut store_poller, "store-poller.schedule.json").await;
    // The changed product is read again from the store (which then syncs its stock).
    let queued = drain(sqs, &queue_url("ProductQueue")).await;
    assert!(
        queued
            .iter()
            .any(|job| job["kind"] == "import_products" && job["payload"]["product_id"] == product),
        "{queued:?}"
    );
    store_poller.assert_calls_granted(&permissions);

    // product-worker: the stock job puts the store's level on TikTok.
    let mut product_worker = start("product-worker").await;
    let batch = product_worker
        .respond(fixture("product-worker.sqs-batch.json"))
        .await
        .unwrap();
    assert_eq!(batch["batchItemFailures"], json!([]), "{batch}");
    assert_eq!(tiktok_stock(&running, &product).await, Some(level as u64));
    product_worker.assert_calls_granted(&permissions);

    // retry-sweeper: a dead-lettered job goes back to its queue (with a back-off delay),
    // and one that came back too often is parked with a reason the merchant reads.
    let dead = |key: &str, attempt: u32| {
        json!({"id": key, "kind": "sync_stock", "tenant": STORE, "shop": null, "idempotency_key": key,
               "attempt": attempt, "payload": {"product_id": product}})
        .to_string()
    };
    for body in [
        dead("stock-dead-fixture", 0),
        dead("stock-exhausted-fixture", connector::redrive::MAX_REDRIVES),
    ] {
        sqs.send_message()
            .queue_url(queue_url("ProductDeadLetterQueue"))
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let delayed = async || {
        let delayed = aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed;
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(queue_url("ProductQueue"))
            .attribute_names(delayed.clone())
            .send()
            .await
            .unwrap();
        attributes.attributes().unwrap()[&delayed].parse::<u32>().unwrap()
    };
    let delayed_before = delayed().await;
    let mut sweeper = start("retry-sweeper").await;
    assert_eq!(
        sweeper.respond(fixture("retry-sweeper.schedule.json")).await.unwrap(),
        Value::Null
    );
    assert!(drain(sqs, &queue_url("ProductDeadLetterQueue")).await.is_empty());
    assert_eq!(
        delayed().await,
        delayed_before + 1,
        "the redriven job waits out its back-off on the catalogue queue"
    );
    let parked = connector::redrive::parked_jobs(table, STORE).await.unwrap();
    assert!(
        parked
            .iter()
            .any(|p| p.job.idempotency_key == "stock-exhausted-fixture" && !p.reason.is_empty()),
        "{parked:?}"
    );
    assert!(
        sweeper.metrics().iter().any(|m| m["JobsParked"] == json!(1.0)),
        "{:?}",
        sweeper.metrics()
    );
    sweeper.assert_calls_granted(&permissions);

    // The other schedules run cleanly against the same world.
    for (name, event) in [
        ("return-poller", "return-poller.schedule.json"),
        ("token-refresher", "token-refresher.schedule.json"),
        ("stock-reconciler", "stock-reconciler.schedule.json"),
    ] {
        let mut function = start(name).await;
        assert_eq!(function.respond(fixture(event)).await.unwrap(), Value::Null, "{name}");
        function.assert_calls_granted(&permissions);
    }
}

/// The TikTok stock of `product`'s (single) SKU, summed over warehouses.
async fn tiktok_stock(running: &connector_local::Running, product: &str) -> Option<u64> {
    let listing = records::shop_listings(running.app.table.as_ref(), STORE, SHOP)
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.product_id == product)?;
    connector_e2e::tiktok_first_sku_stock(running, &listing).await
}
