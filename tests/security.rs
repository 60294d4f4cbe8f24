//! The connector attacked as a second merchant on the same deployment would attack it,
//! and as anyone on the Internet would: each hole of the security review with its
//! input, through the local stack and both sandboxes (two stores, `sbx1store` onboarded
//! with every TikTok sandbox shop, `sbx2store` installed beside it).

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use connector::accounts::{self, ShopStatus};
use connector::storage::unix_now;
use connector_e2e::{local_stack, merchant, merchant_at};
use connector_local::{Browser, Running, onboard_sandbox};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const STORE_A: &str = "sbx1store";
const STORE_B: &str = "sbx2store";

/// The stack with store A onboarded with every sandbox shop.
async fn onboarded() -> (tempfile::TempDir, Running) {
    let data_dir = tempfile::tempdir().unwrap();
    let running = local_stack(data_dir.path(), false, true).await;
    onboard_sandbox(&running).await.unwrap();
    (data_dir, running)
}

/// Store A onboarded with every sandbox shop; store B installed through the sandbox's
/// install page: (data dir, stack, A's browser, A's CSRF, B's browser, B's CSRF, base).
async fn two_stores() -> (tempfile::TempDir, Running, Browser, String, Browser, String, String) {
    let (data_dir, running) = onboarded().await;
    let (a, base, csrf_a) = merchant(&running).await;
    let bigcommerce = running.sandboxes.as_ref().unwrap().store.clone();
    let (b, _, csrf_b) = merchant_at(&running, &format!("{bigcommerce}/sandbox/install?store_hash={STORE_B}")).await;
    (data_dir, running, a, csrf_a, b, csrf_b, base)
}

/// The TikTok authorization link `/tiktok/connect` sends this browser to (its `state`
/// bound to this browser).
async fn tiktok_link(browser: &mut Browser, base: &str) -> String {
    browser
        .get(&format!("{base}/tiktok/connect"))
        .await
        .unwrap()
        .location
        .unwrap()
}

/// Who owns each of A's original shops now, per the shop directory.
async fn owners(running: &Running, shop_ids: &[String]) -> Vec<Option<String>> {
    let mut owners = Vec::new();
    for shop_id in shop_ids {
        owners.push(
            accounts::store_of_shop(running.app.table.as_ref(), shop_id)
                .await
                .unwrap(),
        );
    }
    owners
}

#[tokio::test]
async fn a_tiktok_link_started_by_another_store_never_moves_a_shop() {
    let (_dir, running, mut a, csrf_a, mut b, _, base) = two_stores().await;
    let table = running.app.table.as_ref();
    let shops_a = accounts::list_shops(table, STORE_A).await.unwrap();
    assert!(shops_a.len() >= 2, "the sandbox authorizes several shops");
    let shop_ids: Vec<String> = shops_a.iter().map(|s| s.shop_id.clone()).collect();
    let all_a = vec![Some(STORE_A.to_string()); shop_ids.len()];

    // B starts a connection and sends the TikTok link to A's seller, who approves it in
    // a browser that never saw the connector.
    let link = tiktok_link(&mut b, &base).await;
    let mut seller = Browser::new().unwrap();
    let (landed, page) = seller.visit(&link).await.unwrap();
    assert!(landed.contains("/tiktok/callback"), "{landed}");
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("another browser"), "{}", page.body);
    assert_eq!(owners(&running, &shop_ids).await, all_a, "no shop moved");
    assert!(accounts::list_shops(table, STORE_B).await.unwrap().is_empty());

    // Even in B's own browser, shops A owns are refused with the reason.
    let (_, page) = b.visit(&format!("{base}/tiktok/connect")).await.unwrap();
    assert_eq!(page.status, 409, "{}", page.body);
    assert!(page.body.contains("connected to another store"), "{}", page.body);
    assert_eq!(owners(&running, &shop_ids).await, all_a);
    let untouched = accounts::list_shops(table, STORE_A).await.unwrap();
    assert!(
        untouched
            .iter()
            .all(|s| s.status == ShopStatus::Active && s.tokens(&running.app.secrets.token_cipher).is_some()),
        "A's shops keep their tokens and status"
    );

    // Once A disconnects a shop, B may take it; A keeps the others.
    let freed = &shop_ids[0];
    let disconnected = a
        .post_json(
            &format!("{base}/settings/api/shops/{freed}/disconnect"),
            &json!({}),
            &csrf_a,
        )
        .await
        .unwrap();
    assert_eq!(disconnected.status, 200, "{}", disconnected.body);
    let (_, page) = b.visit(&format!("{base}/tiktok/connect")).await.unwrap();
    assert!(page.body.contains("1 shop(s) connected"), "{}", page.body);
    let now = owners(&running, &shop_ids).await;
    assert_eq!(now[0].as_deref(), Some(STORE_B));
    assert!(now[1..].iter().all(|o| o.as_deref() == Some(STORE_A)), "{now:?}");
}

#[tokio::test]
async fn a_session_ends_with_its_user_and_with_its_installation() {
    let (_data_dir, running) = onboarded().await;
    let bigcommerce = running.sandboxes.as_ref().unwrap().store.clone();
    let (mut owner, base, _) = merchant(&running).await;
    let load: Value = reqwest::get(format!(
        "{bigcommerce}/sandbox/load-url?store_hash={STORE_A}&user_id=777"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let (mut staff, _, _) = merchant_at(&running, load["url"].as_str().unwrap()).await;
    let session = format!("{base}/settings/api/session");
    assert_eq!(
        staff.get(&session).await.unwrap().status,
        200,
        "a second user opens the app"
    );

    let removed: Value = reqwest::Client::new()
        .post(format!(
            "{bigcommerce}/sandbox/remove-user?store_hash={STORE_A}&user_id=777"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(removed["remove_user_callback_status"], 200);
    let refused = staff.get(&session).await.unwrap();
    assert_eq!(refused.status, 401, "the removed user's session ends at once");
    assert!(refused.body.contains("no longer valid"), "{}", refused.body);
    assert_eq!(owner.get(&session).await.unwrap().status, 200, "the owner's goes on");

    // Uninstall, then install again: the session from before does not come back.
    reqwest::Client::new()
        .post(format!("{bigcommerce}/sandbox/uninstall?store_hash={STORE_A}"))
        .send()
        .await
        .unwrap();
    assert_eq!(owner.get(&session).await.unwrap().status, 401);
    let (mut reinstalled, _, _) =
        merchant_at(&running, &format!("{bigcommerce}/sandbox/install?store_hash={STORE_A}")).await;
    assert_eq!(
        reinstalled.get(&session).await.unwrap().status,
        200,
        "the new install opens"
    );
    assert_eq!(
        owner.get(&session).await.unwrap().status,
        401,
        "the old session stays dead"
    );
}

#[tokio::test]
async fn pages_may_be_framed_only_by_the_store_control_panel_and_session_data_is_never_stored() {
    let (_data_dir, running) = onboarded().await;
    let (browser, base, _) = merchant(&running).await;
    let http = reqwest::Client::new();
    let fetch = |path: &str| {
        let url = format!("{base}{path}");
        let cookie = browser.cookie_header(&url).unwrap_or_default();
        http.get(url).header("cookie", cookie).send()
    };
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    for path in ["/settings", "/settings/api/session", "/settings/api/orders"] {
        let response = fetch(path).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let policy = header(&response, "content-security-policy");
        assert!(
            policy.contains("frame-ancestors 'self' https://*.bigcommerce.com https://*.mybigcommerce.com"),
            "{path}: {policy}"
        );
        assert!(policy.contains("default-src 'self'"), "{path}: {policy}");
        // No page embeds an image from elsewhere (nor a `data:` one).
        let images = policy.split(';').map(str::trim).find(|d| d.starts_with("img-src"));
        assert_eq!(images, Some("img-src 'self'"), "{path}: {policy}");
        assert_eq!(header(&response, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&response, "cache-control"), "no-store", "{path}");
    }
    let page = fetch("/settings").await.unwrap().text().await.unwrap();
    for path in [
        "/settings/dashboard",
        "/settings/products",
        "/settings/products/1",
        "/settings/returns",
    ] {
        let shown = fetch(path).await.unwrap().text().await.unwrap();
        assert!(!shown.contains("<img"), "{path} shows no image the CSP would block");
    }
    let scripts: Vec<&str> = page.split("<script").skip(1).collect();
    assert!(
        !page.contains("<style")
            && !page.contains(" style=")
            && scripts.iter().all(|tag| tag.starts_with(" src=\"/assets/")),
        "nothing inline for the CSP to forbid: scripts and styles are files of the app"
    );
    let stylesheet = page
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let css = fetch(&stylesheet).await.unwrap();
    assert_eq!(header(&css, "content-type"), "text/css; charset=utf-8");
    assert!(header(&css, "cache-control").contains("immutable"));
    for path in ["/connect", "/tiktok/callback?error=denied"] {
        let response = fetch(path).await.unwrap();
        assert!(
            header(&response, "content-security-policy").contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(header(&response, "x-frame-options"), "DENY", "{path}");
    }
}

#[tokio::test]
async fn ids_with_control_characters_answer_404_and_filters_400() {
    let (_data_dir, running) = onboarded().await;
    let (mut browser, base, csrf) = merchant(&running).await;
    for path in [
        "/settings/api/activities/%00",
        "/settings/api/activities/a%0Db",
        "/settings/api/profiles/%1F",
        "/settings/api/products/%FF%FE/overrides",
    ] {
        let answer = browser.get(&format!("{base}{path}")).await.unwrap();
        assert_eq!(answer.status, 404, "{path}: {}", answer.body);
        assert!(answer.body.contains("error"), "{path}: a JSON reason");
    }
    for path in ["/settings/api/orders/%00/retry", "/settings/api/shops/%00/warehouse"] {
        let answer = browser
            .post_json(&format!("{base}{path}"), &json!({}), &csrf)
            .await
            .unwrap();
        assert_eq!(answer.status, 404, "{path}: {}", answer.body);
    }
    let answer = browser
        .get(&format!("{base}/settings/api/orders?shop=%00"))
        .await
        .unwrap();
    assert_eq!(answer.status, 400, "{}", answer.body);
    let page = browser.get(&format!("{base}/settings%00")).await.unwrap();
    assert_eq!(page.status, 404);
    assert!(page.body.contains("<h1>"), "a page for browser paths");
}

#[tokio::test]
async fn a_signed_payload_without_jti_opens_no_session() {
    use bigcommerce_sandbox::signing::sign_jwt;
    let (_data_dir, running) = onboarded().await;
    let app = &running.app;
    let claims = json!({"aud": app.secrets.bigcommerce_client_id, "iss": "bc", "iat": unix_now(), "nbf": unix_now(),
        "exp": unix_now() + 3600, "sub": format!("stores/{STORE_A}"), "user": {"id": 12345, "email": "o@x"},
        "owner": {"id": 12345, "email": "o@x"}, "url": "/"});
    let jwt = sign_jwt(&claims, app.secrets.bigcommerce_client_secret.expose());
    for attempt in ["first", "replay"] {
        let mut browser = Browser::new().unwrap();
        let answer = browser
            .get(&format!(
                "http://{}/bigcommerce/load?signed_payload_jwt={jwt}",
                running.addr
            ))
            .await
            .unwrap();
        assert_eq!(answer.status, 400, "{attempt}: {}", answer.body);
        assert!(!answer.set_cookie, "{attempt}: no session");
    }
}

#[tokio::test]
async fn the_manual_connection_form_refuses_posts_from_other_sites_and_other_browsers() {
    let data_dir = tempfile::tempdir().unwrap();
    let running = local_stack(data_dir.path(), false, true).await;
    let bigcommerce = running.sandboxes.as_ref().unwrap().store.clone();
    let account: Value = reqwest::Client::new()
        .post(format!("{bigcommerce}/sandbox/api-accounts"))
        .json(&json!({"store_hash": STORE_B}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = account["access_token"].as_str().unwrap();
    let url = format!("http://{}/connect", running.addr);
    let fields = [("store_hash", STORE_B), ("access_token", token)];
    // A page on another site posts the form (no token, or a token from the attacker's
    // own copy of the page, which this browser has no cookie for).
    let mut attacker = Browser::new().unwrap();
    let page = attacker.get(&url).await.unwrap().body;
    let their_token = page
        .split("name=\"form_token\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let mut victim = Browser::new().unwrap();
    for (case, extra) in [("no token", None), ("another browser's token", Some(their_token))] {
        let mut sent: Vec<(&str, &str)> = fields.to_vec();
        sent.extend(extra.map(|t| ("form_token", t)));
        let answer = victim.post_form(&url, &sent).await.unwrap();
        assert_eq!(answer.status, 403, "{case}: {}", answer.body);
        assert!(
            answer.body.contains("another browser") || answer.body.contains("expired"),
            "{case}"
        );
        assert!(
            answer.body.contains(STORE_B),
            "{case}: the store hash is kept in the form"
        );
    }
    let cross_site = reqwest::Client::new()
        .post(&url)
        .header("origin", "https://evil.example")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    assert!(
        accounts::get_store(running.app.table.as_ref(), STORE_B)
            .await
            .unwrap()
            .is_none(),
        "nothing was connected"
    );
    let answer = victim.fill_in(&url, &fields).await.unwrap();
    assert_eq!(answer.status, 303, "the merchant's own form connects: {}", answer.body);
}

#[tokio::test]
async fn a_genuine_tiktok_webhook_replayed_after_its_window_is_refused() {
    use connector::tiktok::webhook::signature;
    let (_data_dir, running) = onboarded().await;
    let app = &running.app;
    let shop = accounts::list_shops(app.table.as_ref(), STORE_A)
        .await
        .unwrap()
        .remove(0);
    let send = |timestamp: i64, id: &str| {
        let body = json!({"type": 6, "tts_notification_id": id, "shop_id": shop.shop_id, "timestamp": timestamp,
                          "data": {"message": "deauthorized"}})
        .to_string();
        let auth = signature(
            &app.secrets.tiktok_app_key,
            app.secrets.tiktok_app_secret.expose(),
            body.as_bytes(),
        );
        reqwest::Client::new()
            .post(format!("http://{}/webhooks/tiktok", running.addr))
            .header("authorization", auth)
            .body(body)
            .send()
    };
    let eight_days_ago = unix_now() - 8 * 86_400;
    let replayed = send(eight_days_ago, "7327112393057371990").await.unwrap();
    assert_eq!(replayed.status(), 400);
    assert!(replayed.text().await.unwrap().contains("outside the accepted window"));
    let from_the_future = send(unix_now() + 3600, "7327112393057371991").await.unwrap();
    assert_eq!(from_the_future.status(), 400);
    let kept = accounts::get_shop(app.table.as_ref(), STORE_A, &shop.shop_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.status, ShopStatus::Active, "neither was processed");
    assert_eq!(send(unix_now(), "7327112393057371992").await.unwrap().status(), 200);
}

#[tokio::test]
async fn the_local_runner_keeps_its_keyring_private_and_cuts_slow_clients() {
    let data_dir = tempfile::tempdir().unwrap();
    let running = local_stack(data_dir.path(), false, false).await;
    let mode = std::fs::metadata(data_dir.path().join("token-keys"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the token keyring is readable by its owner only");

    // 200 clients send half a request head and stall.
    let mut stalled = Vec::new();
    for _ in 0..200 {
        let mut stream = tokio::net::TcpStream::connect(running.addr).await.unwrap();
        stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        stalled.push(stream);
    }
    let health = reqwest::Client::new()
        .get(format!("http://{}/health", running.addr))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "others are still served");
    tokio::time::sleep(connector_local::HEADER_TIMEOUT + Duration::from_secs(2)).await;
    for mut stream in stalled {
        let mut buffer = [0u8; 256];
        let read = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buffer)).await;
        // Closed (0 bytes or reset) or answered 408 by the server, not held open.
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_)))
                || matches!(read, Ok(Ok(n)) if buffer[..n].starts_with(b"HTTP/1.1 408")),
            "a stalled client was cut"
        );
    }
}

#[tokio::test]
async fn selections_pages_and_ranges_are_bounded_with_a_readable_error() {
    let (_data_dir, running) = onboarded().await;
    let (mut browser, base, csrf) = merchant(&running).await;
    let too_many: Vec<String> = (0..1001).map(|i| i.to_string()).collect();
    for route in ["stock-sync", "price-sync"] {
        let answer = browser
            .post_json(
                &format!("{base}/settings/api/{route}"),
                &json!({"product_ids": too_many}),
                &csrf,
            )
            .await
            .unwrap();
        assert_eq!(answer.status, 400, "{route}");
        assert!(answer.body.contains("at most 1000"), "{route}: {}", answer.body);
    }
    let page = browser
        .get(&format!("{base}/settings/api/products?limit=2"))
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&page.body)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let answer = browser
        .get(&format!("{base}/settings/api/products?limit=100000"))
        .await
        .unwrap();
    assert_eq!(answer.status, 400, "{}", answer.body);
    let shop = accounts::list_shops(running.app.table.as_ref(), STORE_A)
        .await
        .unwrap()
        .remove(0);
    let answer = browser
        .post_json(
            &format!("{base}/settings/api/orders/sync-range"),
            &json!({"shop_id": shop.shop_id, "from": 0, "to": unix_now()}),
            &csrf,
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 400);
    assert!(answer.body.contains("90 days"), "{}", answer.body);
}

/// Store A's records as they are now (everything a route or job could change: the
/// store, shops, catalogue, listings, orders, parked jobs, activities), by key.
async fn records_of(running: &Running, store_id: &str) -> std::collections::BTreeMap<String, (u64, Value)> {
    use connector::storage::Query;
    const KEPT: [&str; 11] = [
        "META",
        "SHOP#",
        "PROFILE#",
        "PRODUCT#",
        "LISTING#",
        "OVERRIDE#",
        "ORDER#",
        "PARKED#",
        "ACTIVITY#",
        "SKU#",
        "RETURN#",
    ];
    let table = running.app.table.as_ref();
    let mut records = std::collections::BTreeMap::new();
    let mut cursor = None;
    loop {
        let page = table
            .query(Query::table(accounts::store_pk(store_id), "").after(cursor))
            .await
            .unwrap();
        for item in page.items {
            if KEPT.iter().any(|prefix| item.sk.starts_with(prefix)) {
                records.insert(item.sk.clone(), (item.version, item.data));
            }
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return records,
        }
    }
}

/// Waits until A's records stop changing (uploads and reviews settle), then returns them.
async fn settled(running: &Running, store_id: &str) -> std::collections::BTreeMap<String, (u64, Value)> {
    let mut last = records_of(running, store_id).await;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = records_of(running, store_id).await;
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("store A's records never settled");
}

/// The id after the last `prefix` key of A's records (`SHOP#` → a shop id, …).
fn id_of(records: &std::collections::BTreeMap<String, (u64, Value)>, prefix: &str) -> String {
    let key = records
        .keys()
        .find(|k| k.starts_with(prefix))
        .unwrap_or_else(|| panic!("store A has no {prefix} record"));
    key[prefix.len()..].split('#').next().unwrap().to_string()
}

#[tokio::test]
async fn another_stores_session_reaches_nothing_of_a_store_on_any_route_or_job() {
    let (_dir, running, _, _, mut b, csrf_b, base) = two_stores().await;
    let app = running.app.clone();
    let table = app.table.as_ref();
    let mut shops_a = accounts::list_shops(table, STORE_A).await.unwrap();
    let shop = shops_a.remove(0);
    let order_id = "576461413038799001";
    connector::orders::park(table, STORE_A, &shop.shop_id, order_id, "kept for the isolation walk")
        .await
        .unwrap();
    let parked_job = connector::queue::Job::new(connector::queue::JobKind::SyncStock, STORE_A, "isolation", json!({}));
    // A return and a buyer cancellation request of A's, both waiting for an answer.
    let (return_id, cancel_id) = ("1729592969712299001", "1729592969712299002");
    for (kind, id, request_type, status) in [
        ("return", return_id, "REFUND", "RETURN_OR_REFUND_REQUEST_PENDING"),
        (
            "cancellation",
            cancel_id,
            "BUYER_CANCEL",
            "CANCELLATION_REQUEST_PENDING",
        ),
    ] {
        let record: connector::returns::AfterSale = serde_json::from_value(json!({
            "kind": kind, "id": id, "shop_id": shop.shop_id, "order_id": order_id, "store_order_id": null,
            "request_type": request_type, "status": status, "role": "BUYER", "reason": "Changed my mind",
            "arbitration_status": "", "next_action": null,
            "refund": {"currency": "USD", "total": "8.50", "shipping": "0", "tax": "0"},
            "partial_refund": null, "lines": [], "tracking_number": "", "shipped_back": false,
            "created_at": unix_now(), "updated_at": unix_now()}))
        .unwrap();
        connector::returns::save(table, STORE_A, &record).await.unwrap();
    }
    connector::redrive::park(&app, parked_job.clone(), "kept".into())
        .await
        .unwrap();
    // An unread notice and a log entry of A's, naming its shop: B's bell, notices and
    // log show none of it, and B's "Mark all read" leaves it unread.
    connector::notices::cancelled_order(
        table,
        STORE_A,
        &shop.shop_id,
        order_id,
        "seller_cancel_reason_out_of_stock",
    )
    .await
    .unwrap();
    let entry = connector::journal::Entry::now(
        connector::journal::LogKind::Orders,
        format!("Order {order_id} of shop {} ({})", shop.shop_id, shop.name),
    );
    connector::journal::record(table, STORE_A, &entry).await.unwrap();
    let before = settled(&running, STORE_A).await;
    // Store product ids are the store's own (both sandbox stores number theirs from 1):
    // a product id of A's that B also has names B's product, which B may reach. So one
    // of A's products is deleted from B's store before B imports its own catalogue (the
    // walk's own import call would do it midway): that id is A's alone.
    let product_of_a = id_of(&before, "PRODUCT#");
    let deleted = reqwest::Client::new()
        .delete(format!(
            "{}/sandbox/products/{product_of_a}?store_hash={STORE_B}",
            running.sandboxes.as_ref().unwrap().store
        ))
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.text().await.unwrap());
    let name_of_a = before[&format!("PRODUCT#{product_of_a}")].1["name"]
        .as_str()
        .expect("A's product has a name")
        .to_string();
    let imported = b
        .post_json(&format!("{base}/settings/api/imports"), &json!({}), &csrf_b)
        .await
        .unwrap();
    assert_eq!(imported.status, 200, "{}", imported.body);
    let products_of_b = settled(&running, STORE_B).await;
    assert!(
        products_of_b.keys().any(|k| k.starts_with("PRODUCT#")),
        "B imported its catalogue"
    );
    assert!(
        !products_of_b.contains_key(&format!("PRODUCT#{product_of_a}")),
        "product {product_of_a} is A's alone"
    );
    let ids: std::collections::HashMap<&str, String> = [
        ("shops", shop.shop_id.clone()),
        ("products", product_of_a.clone()),
        ("profiles", id_of(&before, "PROFILE#")),
        ("activities", id_of(&before, "ACTIVITY#")),
        ("orders", order_id.to_string()),
        ("parked-jobs", parked_job.id.clone()),
        ("returns", return_id.to_string()),
        ("cancellations", cancel_id.to_string()),
        // The profile is A's, so any certification id of it is.
        ("certifications", "certification-1".to_string()),
    ]
    .into();
    // A's identifiers no answer to B may hold (long enough not to occur by chance).
    // What of A no answer to B may show: what B never sent (an answer may repeat the
    // ids B sent, as in "No TikTok shop 123 is connected to this store").
    let secrets_of_a: Vec<String> = std::iter::once(STORE_A.to_string())
        .chain(shops_a.iter().flat_map(|s| [s.shop_id.clone(), s.name.clone()]))
        .chain([shop.name.clone(), shop.cipher.clone(), name_of_a.clone()])
        .collect();
    let warehouse = shop.warehouses[0].id.clone();
    let body = json!({"shop_id": shop.shop_id, "product_ids": [ids["products"]], "product_id": ids["products"],
        "profile_id": ids["profiles"], "order_id": order_id, "warehouse_id": warehouse, "job_id": parked_job.id,
        "tiktok_product_id": "1729592969712207000", "from": unix_now() - 86_400, "to": unix_now(), "all": true,
        "action": "deactivate", "rate": "1.5"});
    let form_fields = [
        ("csrf", csrf_b.clone()),
        (format!("warehouse:{}", shop.shop_id).leak() as &str, warehouse.clone()),
        ("order_id", order_id.to_string()),
        ("job_id", parked_job.id.clone()),
        // The profile editor's live count names the profile being edited.
        ("profile_id", ids["profiles"].clone()),
    ];
    let http = reqwest::Client::new();
    let mut tried = 0;
    // The pages issue 13 lists, each answered 404 to B for A's id (or B's own page).
    let mut refused_gets = std::collections::BTreeSet::new();
    let mut walked = std::collections::BTreeSet::new();
    for path in connector::http::settings_paths() {
        let mut concrete = Vec::new();
        let mut names_an_id = false;
        let mut segments = path.split('/').peekable();
        let mut previous = "";
        let mut variants: Vec<String> = vec![String::new()];
        while let Some(segment) = segments.next() {
            let values: Vec<String> = if segment.starts_with('{') {
                match segment {
                    "{step}" | "{form}" | "{decision}" => [
                        "approve",
                        "reject",
                        "warehouse",
                        "retry",
                        "retry-job",
                        "orders",
                        "configuration",
                        "profile",
                        "overrides",
                        "upload",
                        "link",
                        "unlink",
                        "resync",
                        "cancel",
                        "inventory",
                        "account",
                    ]
                    .map(String::from)
                    .to_vec(),
                    _ => {
                        names_an_id = true;
                        vec![
                            ids.get(previous)
                                .unwrap_or_else(|| panic!("{path}: give the walk an id of A for {previous}/{segment}"))
                                .clone(),
                        ]
                    }
                }
            } else {
                vec![segment.to_string()]
            };
            variants = variants
                .iter()
                .flat_map(|prefix| {
                    values.iter().map(move |v| {
                        if prefix.is_empty() && v.is_empty() {
                            String::new()
                        } else {
                            format!("{prefix}/{v}")
                        }
                    })
                })
                .collect();
            previous = segment;
        }
        concrete.extend(variants.into_iter().map(|p| p.trim_start_matches('/').to_string()));
        for concrete_path in concrete {
            let url = format!("{base}/{concrete_path}");
            for method in [
                reqwest::Method::GET,
                reqwest::Method::POST,
                reqwest::Method::PUT,
                reqwest::Method::DELETE,
            ] {
                for as_form in [false, true] {
                    let mut request = http
                        .request(method.clone(), &url)
                        .header("cookie", b.cookie_header(&url).unwrap())
                        .header("x-csrf-token", &csrf_b);
                    request = if as_form {
                        request.form(&form_fields)
                    } else {
                        request.json(&body)
                    };
                    let response = request.send().await.unwrap();
                    let status = response.status().as_u16();
                    let text = response.text().await.unwrap();
                    if status == 405 {
                        continue;
                    }
                    tried += 1;
                    walked.insert(path);
                    assert!(status < 500, "{method} {concrete_path}: {status} {text}");
                    if names_an_id {
                        assert!(
                            !(200..400).contains(&status),
                            "{method} {concrete_path} with A's id answered {status}: {text}"
                        );
                        if method == reqwest::Method::GET {
                            assert_eq!(status, 404, "GET {concrete_path} with A's id: {text}");
                        }
                        if status == 404 {
                            refused_gets.insert((method.to_string(), path));
                        }
                    }
                    for secret in &secrets_of_a {
                        assert!(
                            !text.contains(secret.as_str()),
                            "{method} {concrete_path} showed B {secret}: {text}"
                        );
                    }
                }
            }
        }
    }
    assert!(tried > 40, "the walk reached the routes ({tried} requests)");
    for path in [
        "/settings/dashboard",
        "/settings/profiles",
        "/settings/profiles/{id}",
        "/settings/products",
        "/settings/products/{id}",
        "/settings/products/{id}/{form}",
        "/settings/activities",
        "/settings/activities/{id}",
    ] {
        assert!(walked.contains(path), "the walk reached {path}: {walked:?}");
    }
    for path in [
        "/settings/profiles/{id}",
        "/settings/products/{id}",
        "/settings/activities/{id}",
    ] {
        assert!(
            refused_gets.contains(&("GET".to_string(), path)),
            "GET {path} with A's id was walked and answered 404: {refused_gets:?}"
        );
    }
    for path in ["/settings/products/{id}/{form}", "/settings/profiles/{id}"] {
        assert!(
            refused_gets.contains(&("POST".to_string(), path)),
            "POST {path} with A's id answered 404: {refused_gets:?}"
        );
    }

    // Every job kind, queued for B but naming A's shop, product, profile and order.
    let dispatcher = connector::jobs::Dispatcher { app: app.clone() };
    for kind in connector::queue::JobKind::ALL {
        let payload = json!({"product_id": ids["products"], "product_ids": [ids["products"]], "profile_id": ids["profiles"],
            "order_id": order_id, "shop_id": shop.shop_id, "store_order_id": "100", "shipment_id": "1",
            "data": {"order_id": order_id, "product_id": "1729592969712207000", "order_status": "AWAITING_SHIPMENT"}});
        let job =
            connector::queue::Job::new(kind, STORE_B, format!("isolation-{kind:?}"), payload).for_shop(&shop.shop_id);
        use connector::queue::JobHandler as _;
        let outcome = dispatcher.handle(job, 1).await;
        assert!(
            !matches!(outcome, Err(connector::queue::JobError::NotImplemented(_))),
            "{kind:?}"
        );
    }
    let after = records_of(&running, STORE_A).await;
    for (key, record) in &before {
        assert_eq!(after.get(key), Some(record), "A's {key} was changed by B");
    }
    assert_eq!(after.len(), before.len(), "nothing was added to A");
    // Nothing keyed by A's shop, order or profile in B (product ids may be B's own too).
    let only_a = [shop.shop_id.as_str(), order_id, &ids["profiles"]];
    for key in records_of(&running, STORE_B).await.keys() {
        assert!(
            only_a.iter().all(|id| !key.contains(id)),
            "B holds a record of A's: {key}"
        );
    }
}

/// What a refused input must leave as it was: store A's records and the shop directory.
async fn everything(running: &Running) -> std::collections::BTreeMap<String, (u64, Value)> {
    use connector::storage::Query;
    let mut all = settled(running, STORE_A).await;
    let page = running.app.table.query(Query::table("SHOPDIR", "")).await.unwrap();
    for item in page.items {
        all.insert(format!("SHOPDIR/{}", item.sk), (item.version, item.data));
    }
    all
}

#[tokio::test]
async fn every_entry_point_refuses_forged_tampered_stale_and_replayed_inputs_and_writes_nothing() {
    use base64::Engine as _;
    use bigcommerce_sandbox::signing::{sign_jwt, sign_webhook};
    use connector::tiktok::webhook::signature;
    let (_data_dir, running) = onboarded().await;
    let (mut a, base, csrf) = merchant(&running).await;
    let app = running.app.clone();
    let table = app.table.as_ref();
    let http = reqwest::Client::new();
    let shop = accounts::list_shops(table, STORE_A).await.unwrap().remove(0);
    let store = accounts::get_store(table, STORE_A).await.unwrap().unwrap();
    // A genuine OAuth state of A's, taken before the snapshot (issuing one writes its marker).
    let genuine_state = {
        let link = tiktok_link(&mut a, &base).await;
        url::Url::parse(&link)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "state")
            .unwrap()
            .1
            .to_string()
    };
    let before = everything(&running).await;

    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let secret = app.secrets.bigcommerce_client_secret.expose().to_string();
    let claims = |exp: i64, sub: &str| {
        json!({"aud": app.secrets.bigcommerce_client_id, "iss": "bc", "iat": exp - 86_400, "nbf": exp - 86_400, "exp": exp,
               "jti": uuid::Uuid::new_v4().to_string(), "sub": sub, "user": {"id": 12345, "email": "o@x"},
               "owner": {"id": 12345, "email": "o@x"}, "url": "/"})
    };
    let genuine = sign_jwt(&claims(unix_now() + 3600, &format!("stores/{STORE_A}")), &secret);
    let tampered_jwt = {
        let parts: Vec<&str> = genuine.split('.').collect();
        let mut payload: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        payload["user"]["id"] = json!(999);
        format!("{}.{}.{}", parts[0], b64.encode(payload.to_string()), parts[2])
    };
    let tampered_state = {
        let (payload, signature) = genuine_state.split_once('.').unwrap();
        let mut value: Value = serde_json::from_slice(&b64.decode(payload).unwrap()).unwrap();
        value["value"] = json!(STORE_B);
        format!("{}.{signature}", b64.encode(value.to_string()))
    };
    // A JWT of A's used once to open the app, then replayed on the uninstall callback.
    let used = sign_jwt(&claims(unix_now() + 3600, &format!("stores/{STORE_A}")), &secret);
    assert_eq!(
        Browser::new()
            .unwrap()
            .get(&format!("{base}/bigcommerce/load?signed_payload_jwt={used}"))
            .await
            .unwrap()
            .status,
        303
    );
    let callbacks: Vec<(&str, String, u16)> = vec![
        (
            "load, forged",
            format!(
                "/bigcommerce/load?signed_payload_jwt={}",
                sign_jwt(&claims(unix_now() + 3600, "stores/sbx1store"), "not-the-secret")
            ),
            401,
        ),
        (
            "load, tampered",
            format!("/bigcommerce/load?signed_payload_jwt={tampered_jwt}"),
            401,
        ),
        (
            "load, stale",
            format!(
                "/bigcommerce/load?signed_payload_jwt={}",
                sign_jwt(&claims(unix_now() - 3600, "stores/sbx1store"), &secret)
            ),
            401,
        ),
        (
            "uninstall, forged",
            format!(
                "/bigcommerce/uninstall?signed_payload_jwt={}",
                sign_jwt(&claims(unix_now() + 3600, "stores/sbx1store"), "x")
            ),
            401,
        ),
        (
            "uninstall, replayed",
            format!("/bigcommerce/uninstall?signed_payload_jwt={used}"),
            400,
        ),
        (
            "remove user, tampered",
            format!("/bigcommerce/remove_user?signed_payload_jwt={tampered_jwt}"),
            401,
        ),
        (
            "install, forged code",
            "/bigcommerce/auth?code=forged&scope=store_v2_orders&context=stores/sbx1store".to_string(),
            400,
        ),
        (
            "TikTok callback, forged state",
            "/tiktok/callback?code=abc&state=eyJmYWtlIjoxfQ.AAAA".to_string(),
            400,
        ),
        (
            "TikTok callback, tampered state",
            format!("/tiktok/callback?code=abc&state={tampered_state}"),
            400,
        ),
    ];
    for (case, path, status) in callbacks {
        let response = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{case}");
        assert!(response.headers().get("set-cookie").is_none(), "{case}: no session");
        let text = response.text().await.unwrap();
        assert!(
            text.contains("error") || text.contains("<h1>"),
            "{case}: a clear error: {text}"
        );
    }

    // TikTok webhooks: the body says the seller removed the app (it would flag the shop).
    let notification = |timestamp: i64| {
        json!({"type": 6, "tts_notification_id": uuid::Uuid::new_v4().as_u128().to_string(), "shop_id": shop.shop_id,
               "timestamp": timestamp, "data": {"message": "deauthorized"}})
        .to_string()
    };
    let sign = |body: &str| {
        signature(
            &app.secrets.tiktok_app_key,
            app.secrets.tiktok_app_secret.expose(),
            body.as_bytes(),
        )
    };
    let fresh = notification(unix_now());
    let stale = notification(unix_now() - 8 * 86_400);
    let tiktok_cases = [
        ("forged", fresh.clone(), "0".repeat(64), 401),
        (
            "tampered",
            fresh.replace("deauthorized", "deauthorized!"),
            sign(&fresh),
            401,
        ),
        ("stale", stale.clone(), sign(&stale), 400),
    ];
    for (case, body, auth, status) in tiktok_cases {
        let response = http
            .post(format!("{base}/webhooks/tiktok"))
            .header("authorization", auth)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "TikTok webhook, {case}");
    }

    // Store webhooks: a product update that would start an import.
    let header_secret = store
        .webhook_secret(&app.secrets.token_cipher)
        .unwrap()
        .expose()
        .to_string();
    let delivery = |sent_at: i64| {
        json!({"scope": "store/product/updated", "store_id": "1025647", "data": {"type": "product", "id": 1},
               "hash": uuid::Uuid::new_v4().simple().to_string(), "created_at": sent_at, "producer": format!("stores/{STORE_A}")})
        .to_string()
    };
    let body = delivery(unix_now());
    let store_cases = [
        (
            "forged",
            body.clone(),
            sign_webhook(b"not-the-key-of-any-account", "msg_1", unix_now(), &body),
            header_secret.clone(),
            unix_now(),
        ),
        (
            "tampered",
            body.replace("\"id\":1", "\"id\":2"),
            sign_webhook(secret.as_bytes(), "msg_1", unix_now(), &body),
            header_secret.clone(),
            unix_now(),
        ),
        (
            "stale",
            body.clone(),
            sign_webhook(secret.as_bytes(), "msg_1", unix_now() - 3600, &body),
            header_secret.clone(),
            unix_now() - 3600,
        ),
        (
            "without the store's header secret",
            body.clone(),
            sign_webhook(secret.as_bytes(), "msg_1", unix_now(), &body),
            "guess".into(),
            unix_now(),
        ),
    ];
    for (case, body, signature, header_secret, sent_at) in store_cases {
        let response = http
            .post(format!("{base}/webhooks/bigcommerce"))
            .header("content-type", "application/json")
            .header("X-Connector-Token", header_secret)
            .header("webhook-id", "msg_1")
            .header("webhook-timestamp", sent_at.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 401, "store webhook, {case}");
    }

    // The settings API: a forged CSRF token, a tampered session, no session.
    let settings = format!("{base}/settings/api/settings");
    let change = json!({"auto_create": false});
    assert_eq!(
        a.put_json(&settings, &change, "forged").await.unwrap().status,
        401,
        "forged CSRF"
    );
    let mut tampered = Browser::new().unwrap();
    let genuine_session = a.cookie_value("connector_session").unwrap();
    let mut flipped: Vec<char> = genuine_session.chars().collect();
    let middle = flipped.len() / 2;
    flipped[middle] = if flipped[middle] == 'A' { 'B' } else { 'A' };
    tampered.set_cookie("connector_session", &flipped.into_iter().collect::<String>());
    assert_eq!(
        tampered.put_json(&settings, &change, &csrf).await.unwrap().status,
        401,
        "tampered session"
    );
    assert_eq!(
        Browser::new()
            .unwrap()
            .put_json(&settings, &change, &csrf)
            .await
            .unwrap()
            .status,
        401,
        "no session"
    );

    let after = everything(&running).await;
    for (key, record) in &before {
        assert_eq!(after.get(key), Some(record), "{key} was written by a refused input");
    }
    assert_eq!(after.len(), before.len(), "nothing was added");
}
