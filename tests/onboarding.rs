//! Onboarding end to end, through the local runner and both sandboxes: install →
//! load → connect shop; uninstall; token refresh; refused JWTs and states; store
//! isolation of sessions.

use connector::accounts::{self, ShopStatus, StoreStatus};
use connector::schedules::{self, Schedule};
use connector::storage::unix_now;
use connector_e2e::local_stack;
use connector_local::{Browser, Running, onboard_sandbox};
use serde_json::{Value, json};

const STORE: &str = "sbx1store";

async fn onboarded() -> (tempfile::TempDir, Running, String) {
    let data_dir = tempfile::tempdir().unwrap();
    let running = local_stack(data_dir.path(), false, true).await;
    let settings_link = onboard_sandbox(&running).await.unwrap();
    (data_dir, running, settings_link)
}

fn base(running: &Running) -> String {
    format!("http://{}", running.addr)
}

/// Opens the settings link and returns the browser with its session and CSRF token.
async fn signed_in(running: &Running) -> (Browser, String) {
    let mut browser = Browser::new().unwrap();
    let link = running.sandboxes.as_ref().unwrap().load_url().await.unwrap();
    let (landed, answer) = browser.visit(&link).await.unwrap();
    assert!(
        landed.ends_with("/settings") && answer.status == 200,
        "{landed} {}",
        answer.status
    );
    let session = browser
        .get(&format!("{}/settings/api/session", base(running)))
        .await
        .unwrap();
    let csrf = serde_json::from_str::<Value>(&session.body).unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    (browser, csrf)
}

#[tokio::test]
async fn install_load_and_connect_store_the_shops_with_sealed_tokens_and_webhooks() {
    let (_dir, running, settings_link) = onboarded().await;
    let table = running.app.table.as_ref();
    let cipher = &running.app.secrets.token_cipher;
    let store = accounts::get_store(table, STORE).await.unwrap().unwrap();
    assert_eq!(store.status, StoreStatus::Installed);
    assert!(store.access_token.as_deref().unwrap().starts_with("v1:"));
    let bigcommerce_token = store.access_token(cipher).unwrap();
    let sandboxes = running.sandboxes.as_ref().unwrap();
    assert!(
        sandboxes
            .bigcommerce_sandbox()
            .lock()
            .tokens
            .contains_key(bigcommerce_token.expose()),
        "the sealed token is the store's real token"
    );

    let shops = accounts::list_shops(table, STORE).await.unwrap();
    assert_eq!(shops.len(), 2);
    let live_tokens: Vec<String> = sandboxes.tiktok_sandbox.lock().grants.keys().cloned().collect();
    for shop in &shops {
        assert_eq!(shop.status, ShopStatus::Active);
        assert!(shop.default_warehouse_id.is_some() && !shop.warehouses.is_empty());
        assert!(shop.webhooks_subscribed);
        let raw = table
            .get(&accounts::store_pk(STORE), &format!("SHOP#{}", shop.shop_id))
            .await
            .unwrap()
            .unwrap();
        let tokens = shop.tokens(cipher).unwrap();
        assert!(live_tokens.contains(&tokens.access_token.expose().to_string()));
        assert!(
            !raw.data.to_string().contains(tokens.access_token.expose()),
            "tokens are stored sealed, never in clear"
        );
        assert!(!raw.data.to_string().contains(tokens.refresh_token.expose()));
        assert_eq!(
            accounts::store_of_shop(table, &shop.shop_id).await.unwrap().as_deref(),
            Some(STORE)
        );
    }
    let subscriptions = sandboxes.tiktok_sandbox.lock().webhooks.clone();
    assert_eq!(subscriptions.len(), 18, "9 topics for each of 2 shops");
    assert!(
        subscriptions
            .values()
            .all(|address| address == &format!("{}/webhooks/tiktok", base(&running)))
    );
    let hooks = sandboxes.bigcommerce_sandbox().lock().stores[STORE].hooks.clone();
    assert_eq!(
        hooks.len(),
        connector::store::CONNECTOR_TOPICS.len(),
        "one hook per topic"
    );
    let secret = store.webhook_secret(cipher).unwrap();
    assert!(
        hooks
            .iter()
            .all(|h| h.headers.get("X-Connector-Token").map(String::as_str) == Some(secret.expose()))
    );

    // The printed settings link opens the wizard at the warehouse step.
    let mut browser = Browser::new().unwrap();
    let (landed, page) = browser.visit(&settings_link).await.unwrap();
    assert!(landed.ends_with("/settings"));
    assert!(page.body.contains("Choose the warehouse"), "{}", page.body);
    assert!(page.body.contains("Sandbox US Shop"));
}

#[tokio::test]
async fn the_wizard_steps_save_and_resume() {
    let (_dir, running, _) = onboarded().await;
    let (mut browser, csrf) = signed_in(&running).await;
    let shops = accounts::list_shops(running.app.table.as_ref(), STORE).await.unwrap();
    let us = shops.iter().find(|s| s.region == "US").unwrap();
    let second_warehouse = us
        .warehouses
        .iter()
        .find(|w| Some(&w.id) != us.default_warehouse_id.as_ref())
        .unwrap()
        .id
        .clone();
    let field = format!("warehouse:{}", us.shop_id);
    let answer = browser
        .post_form(
            &format!("{}/settings/wizard/warehouse", base(&running)),
            &[("csrf", &csrf), (&field, &second_warehouse)],
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 303);
    let forged = browser
        .post_form(
            &format!("{}/settings/wizard/profile", base(&running)),
            &[("csrf", "nope")],
        )
        .await
        .unwrap();
    assert_eq!(forged.status, 401, "a form without the CSRF token changes nothing");
    // Leaving and coming back resumes at the next step, with TikTok's recommended
    // category for a sample product chosen already.
    let (_, page) = browser.visit(&format!("{}/settings", base(&running))).await.unwrap();
    assert!(page.body.contains("Default profile"), "{}", page.body);
    assert!(page.body.contains("(recommended)"), "{}", page.body);
    // The earlier steps stay links to go back to.
    assert!(page.body.contains("href=\"/settings?step=warehouse\""), "{}", page.body);
    let unchosen = browser
        .post_form(
            &format!("{}/settings/wizard/profile", base(&running)),
            &[("csrf", &csrf), ("category_id", "")],
        )
        .await
        .unwrap();
    assert_eq!(unchosen.status, 400, "no category, no profile");
    assert!(unchosen.body.contains("Choose a TikTok category"), "{}", unchosen.body);
    // (The sandbox's demo catalogue came with a default profile in Phone Cases.)
    let default_category = async || {
        let profiles = connector::catalog::records::all_profiles(running.app.table.as_ref(), STORE)
            .await
            .unwrap();
        assert_eq!(
            profiles.iter().filter(|p| p.is_default).count(),
            1,
            "one default profile"
        );
        profiles.into_iter().find(|p| p.is_default).unwrap().category_id
    };
    assert_eq!(default_category().await, "900010", "nothing saved by the refused step");
    let created = browser
        .post_form(
            &format!("{}/settings/wizard/profile", base(&running)),
            &[("csrf", &csrf), ("category_id", "700011")],
        )
        .await
        .unwrap();
    assert_eq!(created.status, 303, "{}", created.body);
    assert_eq!(default_category().await, "700011", "the step saved the default profile");
    browser
        .post_form(
            &format!("{}/settings/wizard/configuration", base(&running)),
            &[("csrf", &csrf), ("auto_create", "on")],
        )
        .await
        .unwrap();
    let store = accounts::get_store(running.app.table.as_ref(), STORE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.onboarding, accounts::OnboardingStep::Done);
    assert!(store.settings.auto_create && !store.settings.auto_update);
    let us = accounts::get_shop(running.app.table.as_ref(), STORE, &us.shop_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(us.default_warehouse_id, Some(second_warehouse));
    // Onboarding done, the settings link opens the dashboard, with the import.
    let (landed, page) = browser.visit(&format!("{}/settings", base(&running))).await.unwrap();
    assert!(landed.ends_with("/settings/dashboard"), "{landed}");
    assert!(page.body.contains("Import from the store"), "{}", page.body);
}

#[tokio::test]
async fn uninstall_purges_tokens_and_personal_data_and_ends_sessions() {
    let (_dir, running, _) = onboarded().await;
    let (mut browser, _) = signed_in(&running).await;
    let sandboxes = running.sandboxes.as_ref().unwrap();
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/sandbox/uninstall", sandboxes.store))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["uninstall_callback_status"], 200);
    let table = running.app.table.as_ref();
    let store = accounts::get_store(table, STORE).await.unwrap().unwrap();
    assert_eq!(store.status, StoreStatus::Uninstalled);
    assert!(
        store.access_token.is_none()
            && store.webhook_secret.is_none()
            && store.owner_email.is_none()
            && store.user_ids.is_empty()
    );
    for shop in accounts::list_shops(table, STORE).await.unwrap() {
        assert_eq!(shop.status, ShopStatus::Disconnected);
        assert!(shop.access_token.is_none() && shop.refresh_token.is_none());
        assert_eq!(
            accounts::store_of_shop(table, &shop.shop_id).await.unwrap(),
            None,
            "no scheduled work finds the shop"
        );
    }
    let answer = browser
        .get(&format!("{}/settings/api/shops", base(&running)))
        .await
        .unwrap();
    assert_eq!(answer.status, 401, "sessions end with the install");
}

#[tokio::test]
async fn tokens_are_refreshed_before_expiry_and_after_105002() {
    let (_dir, running, _) = onboarded().await;
    let app = &running.app;
    let table = app.table.as_ref();
    let cipher = &app.secrets.token_cipher;
    let mut shop = accounts::list_shops(table, STORE).await.unwrap().remove(0);
    let before = shop.tokens(cipher).unwrap();
    // Due within the day: the scheduled refresher renews it.
    shop.access_expires_at = unix_now() + 3600;
    accounts::save_shop(table, &shop).await.unwrap();
    schedules::run(app, Schedule::RefreshTokens).await.unwrap();
    let refreshed = accounts::get_shop(table, STORE, &shop.shop_id).await.unwrap().unwrap();
    let after = refreshed.tokens(cipher).unwrap();
    assert_ne!(after.access_token, before.access_token);
    assert!(refreshed.access_expires_at > unix_now() + 6 * 24 * 3600);
    // Not due: a second run leaves it alone.
    schedules::run(app, Schedule::RefreshTokens).await.unwrap();
    assert_eq!(
        accounts::get_shop(table, STORE, &shop.shop_id)
            .await
            .unwrap()
            .unwrap()
            .tokens(cipher)
            .unwrap()
            .access_token,
        after.access_token
    );

    // TikTok says 105002: the call refreshes, succeeds, and the new tokens are saved.
    let sandboxes = running.sandboxes.as_ref().unwrap();
    reqwest::Client::new()
        .post(format!("{}/sandbox/tokens/expire", sandboxes.tiktok))
        .send()
        .await
        .unwrap();
    let (mut browser, csrf) = signed_in(&running).await;
    let answer = browser
        .post_json(
            &format!(
                "{}/settings/api/shops/{}/warehouses/refresh",
                base(&running),
                shop.shop_id
            ),
            &json!({}),
            &csrf,
        )
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.body);
    let saved = accounts::get_shop(table, STORE, &shop.shop_id)
        .await
        .unwrap()
        .unwrap()
        .tokens(cipher)
        .unwrap();
    assert_ne!(saved.access_token, after.access_token);
    assert!(
        sandboxes
            .tiktok_sandbox
            .lock()
            .grants
            .contains_key(saved.access_token.expose()),
        "the saved token is the live one"
    );
}

#[tokio::test]
async fn a_refused_refresh_flags_the_shop_for_re_authorization() {
    let (_dir, running, _) = onboarded().await;
    let app = &running.app;
    let table = app.table.as_ref();
    let mut shop = accounts::list_shops(table, STORE).await.unwrap().remove(0);
    let mut tokens = shop.tokens(&app.secrets.token_cipher).unwrap();
    tokens.refresh_token = connector::secrets::SecretString::new("TTP_revoked".into());
    tokens.access_expires_at = unix_now() + 60;
    shop.set_tokens(&app.secrets.token_cipher, &tokens);
    accounts::save_shop(table, &shop).await.unwrap();
    schedules::run(app, Schedule::RefreshTokens).await.unwrap();
    let flagged = accounts::get_shop(table, STORE, &shop.shop_id).await.unwrap().unwrap();
    assert_eq!(flagged.status, ShopStatus::NeedsReauthorization);
    assert!(flagged.attention.unwrap().contains("Re-authorize"));
    let (mut browser, _) = signed_in(&running).await;
    let (_, page) = browser.visit(&format!("{}/settings", base(&running))).await.unwrap();
    assert!(page.body.contains("Needs re-authorization") && page.body.contains("/tiktok/connect"));
}

#[tokio::test]
async fn forged_expired_and_replayed_jwts_are_refused_and_write_nothing() {
    use bigcommerce_sandbox::signing::sign_jwt;
    let (_dir, running, _) = onboarded().await;
    let app = &running.app;
    let version_before = accounts::get_store(app.table.as_ref(), STORE)
        .await
        .unwrap()
        .unwrap()
        .version;
    let claims = |exp: i64, sub: &str| {
        json!({"aud": app.secrets.bigcommerce_client_id, "iss": "bc", "iat": exp - 86_400, "nbf": exp - 86_400, "exp": exp,
        "jti": uuid::Uuid::new_v4().to_string(), "sub": sub, "user": {"id": 12345, "email": "o@x"}, "owner": {"id": 12345, "email": "o@x"}, "url": "/"})
    };
    let secret = app.secrets.bigcommerce_client_secret.expose();
    let cases = [
        (
            "forged",
            sign_jwt(&claims(unix_now() + 3600, "stores/sbx1store"), "not-the-secret"),
            401,
        ),
        (
            "expired",
            sign_jwt(&claims(unix_now() - 3600, "stores/sbx1store"), secret),
            401,
        ),
        (
            "unknown store",
            sign_jwt(&claims(unix_now() + 3600, "stores/nosuchstore"), secret),
            401,
        ),
    ];
    for (case, jwt, status) in cases {
        let mut browser = Browser::new().unwrap();
        let answer = browser
            .get(&format!("{}/bigcommerce/load?signed_payload_jwt={jwt}", base(&running)))
            .await
            .unwrap();
        assert_eq!(answer.status, status, "{case}");
        assert!(!answer.set_cookie, "{case}: no session");
        assert!(answer.body.contains("<h1>"), "{case}: a clear page");
    }
    let link = running.sandboxes.as_ref().unwrap().load_url().await.unwrap();
    let mut first = Browser::new().unwrap();
    assert_eq!(first.get(&link).await.unwrap().status, 303);
    let mut replay = Browser::new().unwrap();
    let answer = replay.get(&link).await.unwrap();
    assert_eq!(answer.status, 400);
    assert!(answer.body.contains("already used") && !answer.set_cookie);
    let uninstall = format!(
        "{}/bigcommerce/uninstall?signed_payload_jwt={}",
        base(&running),
        sign_jwt(&claims(unix_now() + 3600, "stores/sbx1store"), "forged")
    );
    assert_eq!(Browser::new().unwrap().get(&uninstall).await.unwrap().status, 401);
    let store = accounts::get_store(app.table.as_ref(), STORE).await.unwrap().unwrap();
    assert_eq!(
        (store.version, store.status),
        (version_before, StoreStatus::Installed),
        "nothing written"
    );
    assert!(
        accounts::get_store(app.table.as_ref(), "nosuchstore")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn forged_and_replayed_oauth_states_are_refused() {
    let (_dir, running, _) = onboarded().await;
    let table = running.app.table.as_ref();
    let versions: Vec<u64> = accounts::list_shops(table, STORE)
        .await
        .unwrap()
        .iter()
        .map(|s| s.version)
        .collect();
    let (mut browser, _) = signed_in(&running).await;
    let forged = browser
        .get(&format!(
            "{}/tiktok/callback?code=abc&state=eyJmYWtlIjoxfQ.AAAA",
            base(&running)
        ))
        .await
        .unwrap();
    assert_eq!(forged.status, 400);
    assert!(forged.body.contains("not genuine"));
    // Walk the real flow by hand to hold on to the callback link.
    let to_tiktok = browser
        .get(&format!("{}/tiktok/connect", base(&running)))
        .await
        .unwrap()
        .location
        .unwrap();
    assert!(to_tiktok.contains("service_id=") && to_tiktok.contains("state="));
    let callback = browser.get(&to_tiktok).await.unwrap().location.unwrap();
    assert_eq!(
        browser.get(&callback).await.unwrap().status,
        303,
        "the first use connects"
    );
    let replay = browser.get(&callback).await.unwrap();
    assert_eq!(replay.status, 400);
    assert!(replay.body.contains("already used"));
    let denied = browser
        .get(&format!("{}/tiktok/callback?error=auth_denied", base(&running)))
        .await
        .unwrap();
    assert!(denied.status == 400 && denied.body.contains("not approved"));
    let after: Vec<u64> = accounts::list_shops(table, STORE)
        .await
        .unwrap()
        .iter()
        .map(|s| s.version)
        .collect();
    assert!(
        after.iter().zip(&versions).all(|(a, b)| a > b),
        "only the genuine callback wrote"
    );
    assert_eq!(
        Browser::new()
            .unwrap()
            .get(&format!("{}/tiktok/connect", base(&running)))
            .await
            .unwrap()
            .status,
        401,
        "connect needs a session"
    );
}

#[tokio::test]
async fn a_session_for_one_store_cannot_read_or_change_another() {
    let (_dir, running, _) = onboarded().await;
    let sandboxes = running.sandboxes.as_ref().unwrap();
    let (mut store_a, csrf_a) = signed_in(&running).await;
    let shop_a = accounts::list_shops(running.app.table.as_ref(), STORE)
        .await
        .unwrap()
        .remove(0);

    // Store B connects by pasting a store-level API account; a bad token writes nothing.
    let mut store_b = Browser::new().unwrap();
    let refused = store_b
        .fill_in(
            &format!("{}/connect", base(&running)),
            &[("store_hash", "sbx2store"), ("access_token", "wrong")],
        )
        .await
        .unwrap();
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("did not accept"));
    assert!(
        accounts::get_store(running.app.table.as_ref(), "sbx2store")
            .await
            .unwrap()
            .is_none()
    );
    let account: Value = reqwest::Client::new()
        .post(format!("{}/sandbox/api-accounts", sandboxes.store))
        .json(&json!({"store_hash": "sbx2store"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let connected = store_b
        .fill_in(
            &format!("{}/connect", base(&running)),
            &[
                ("store_hash", "sbx2store"),
                ("access_token", account["access_token"].as_str().unwrap()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(connected.status, 303, "{}", connected.body);
    let session_b: Value = serde_json::from_str(
        &store_b
            .get(&format!("{}/settings/api/session", base(&running)))
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(session_b["store_hash"], "sbx2store");
    let csrf_b = session_b["csrf_token"].as_str().unwrap().to_string();

    let listed: Value = serde_json::from_str(
        &store_b
            .get(&format!("{}/settings/api/shops", base(&running)))
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(listed, json!([]), "store B sees none of store A's shops");
    let warehouse = json!({"warehouse_id": shop_a.warehouses[0].id});
    let url = format!("{}/settings/api/shops/{}/warehouse", base(&running), shop_a.shop_id);
    assert_eq!(
        store_b.post_json(&url, &warehouse, &csrf_b).await.unwrap().status,
        404,
        "B cannot change A's shop"
    );
    assert_eq!(
        store_a.post_json(&url, &warehouse, &csrf_b).await.unwrap().status,
        401,
        "B's CSRF token does not work with A's session"
    );
    assert_eq!(store_a.post_json(&url, &warehouse, &csrf_a).await.unwrap().status, 200);
    let mut tampered = Browser::new().unwrap();
    let genuine = store_b.cookie_value("connector_session").unwrap();
    tampered.set_cookie("connector_session", &format!("x{genuine}"));
    assert_eq!(
        tampered
            .get(&format!("{}/settings/api/shops", base(&running)))
            .await
            .unwrap()
            .status,
        401
    );
}

#[tokio::test]
async fn a_currency_mismatch_blocks_syncing_until_a_rate_is_set() {
    let (_dir, running, _) = onboarded().await;
    let (mut browser, csrf) = signed_in(&running).await;
    let shops: Value = serde_json::from_str(
        &browser
            .get(&format!("{}/settings/api/shops", base(&running)))
            .await
            .unwrap()
            .body,
    )
    .unwrap();
    let gb = shops
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["region"] == "GB")
        .unwrap()
        .clone();
    let us = shops.as_array().unwrap().iter().find(|s| s["region"] == "US").unwrap();
    assert!(us["sync_blocked"].is_null(), "USD store, USD shop");
    assert!(gb["sync_blocked"].as_str().unwrap().contains("GBP"), "{gb}");
    assert!(
        us.get("access_token").is_none() && gb.to_string().find("TTP_").is_none(),
        "no tokens leave the server"
    );
    let url = format!(
        "{}/settings/api/shops/{}/conversion-rate",
        base(&running),
        gb["shop_id"].as_str().unwrap()
    );
    assert_eq!(
        browser
            .post_json(&url, &json!({"rate": "-1"}), &csrf)
            .await
            .unwrap()
            .status,
        400
    );
    let answer = browser.post_json(&url, &json!({"rate": "0.79"}), &csrf).await.unwrap();
    let updated: Value = serde_json::from_str(&answer.body).unwrap();
    assert!(updated["sync_blocked"].is_null(), "{updated}");
}

#[tokio::test]
async fn tiktok_authorization_webhooks_update_the_shop_and_bad_ones_change_nothing() {
    use connector::tiktok::webhook::signature;
    let (_dir, running, _) = onboarded().await;
    let app = &running.app;
    let shop = accounts::list_shops(app.table.as_ref(), STORE).await.unwrap().remove(0);
    let http = reqwest::Client::new();
    let send = |body: String, signed: bool| {
        let auth = if signed {
            signature(
                &app.secrets.tiktok_app_key,
                app.secrets.tiktok_app_secret.expose(),
                body.as_bytes(),
            )
        } else {
            "0".repeat(64)
        };
        http.post(format!("{}/webhooks/tiktok", base(&running)))
            .header("authorization", auth)
            .body(body)
            .send()
    };
    let deauthorized = json!({"type": 6, "tts_notification_id": "7327112393057371910", "shop_id": shop.shop_id, "timestamp": unix_now(),
                              "data": {"message": format!("Shop_id {} is deauthorized from your APP by merchant.", shop.shop_id)}}).to_string();
    assert_eq!(send(deauthorized.clone(), false).await.unwrap().status(), 401);
    assert_eq!(
        accounts::get_shop(app.table.as_ref(), STORE, &shop.shop_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        ShopStatus::Active,
        "a forged delivery changes nothing"
    );
    assert_eq!(send(deauthorized.clone(), true).await.unwrap().status(), 200);
    let flagged = accounts::get_shop(app.table.as_ref(), STORE, &shop.shop_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(flagged.status, ShopStatus::NeedsReauthorization);
    assert_eq!(
        send(deauthorized, true).await.unwrap().status(),
        200,
        "a duplicate is acknowledged"
    );

    let other = accounts::list_shops(app.table.as_ref(), STORE)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.shop_id != shop.shop_id)
        .unwrap();
    let expiring = json!({"type": 7, "tts_notification_id": "7327112393057371911", "shop_id": other.shop_id, "timestamp": unix_now(),
                          "data": {"message": "expires soon", "expiration_time": "1627587506"}}).to_string();
    assert_eq!(send(expiring, true).await.unwrap().status(), 200);
    let warned = accounts::get_shop(app.table.as_ref(), STORE, &other.shop_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(warned.authorization_expires_at, Some(1_627_587_506));
    assert!(warned.attention.unwrap().contains("expires"));
    let stranger = json!({"type": 1, "shop_id": "1", "timestamp": unix_now(), "data": {}}).to_string();
    assert_eq!(
        send(stranger, true).await.unwrap().status(),
        200,
        "unknown shops are acknowledged and ignored"
    );
    assert_eq!(send("{not json".into(), true).await.unwrap().status(), 400);
}

#[tokio::test]
async fn workers_refreshing_one_authorization_at_once_refresh_it_once() {
    let (_dir, running, _) = onboarded().await;
    let app = &running.app;
    let shops = accounts::list_shops(app.table.as_ref(), STORE).await.unwrap();
    assert_eq!(
        shops[0].open_id, shops[1].open_id,
        "one authorization covers both shops"
    );
    let sandboxes = running.sandboxes.as_ref().unwrap();
    reqwest::Client::new()
        .post(format!("{}/sandbox/tokens/expire", sandboxes.tiktok))
        .send()
        .await
        .unwrap();
    // Eight independent workers (separate grants) hit the expiry together; TikTok
    // rotates the refresh token, so a second refresh would lock the others out.
    let calls = (0..8).map(|i| {
        let shop = &shops[i % 2];
        let tiktok = &app.tiktok;
        connector::shops::with_shop(app, shop, move |auth| async move { tiktok.warehouses(&auth).await })
    });
    let results = futures_util::future::join_all(calls).await;
    assert!(
        results.iter().all(Result::is_ok),
        "{:?}",
        results.iter().find(|r| r.is_err())
    );
    assert_eq!(
        sandboxes.tiktok_sandbox.lock().token_refreshes,
        1,
        "one refresh for everyone"
    );
    let cipher = &app.secrets.token_cipher;
    let saved: Vec<String> = accounts::list_shops(app.table.as_ref(), STORE)
        .await
        .unwrap()
        .iter()
        .map(|s| s.tokens(cipher).unwrap().access_token.expose().to_string())
        .collect();
    assert_eq!(
        saved[0], saved[1],
        "both shops of the authorization keep the new tokens"
    );
    assert!(sandboxes.tiktok_sandbox.lock().grants.contains_key(&saved[0]));
}

/// POSTs a `store/product/updated` delivery for `store_id` to the connector as
/// BigCommerce would, with the per-store header secret and a Standard Webhooks
/// signature made with `key` at `sent_at`; the connector's status.
async fn deliver(running: &Running, store_id: &str, header_secret: &str, key: &[u8], sent_at: i64) -> u16 {
    let event = uuid::Uuid::new_v4().simple().to_string();
    let body = json!({"scope": "store/product/updated", "store_id": "1025647", "data": {"type": "product", "id": 1},
                      "hash": event, "created_at": unix_now(), "producer": format!("stores/{store_id}")})
    .to_string();
    let webhook_id = format!("msg_{event}");
    let signature = bigcommerce_sandbox::signing::sign_webhook(key, &webhook_id, sent_at, &body);
    reqwest::Client::new()
        .post(format!("{}/webhooks/bigcommerce", base(running)))
        .header("content-type", "application/json")
        .header("X-Connector-Token", header_secret)
        .header("webhook-id", webhook_id)
        .header("webhook-timestamp", sent_at.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Connects `store_id` by pasting a store-level API account into the connect form.
async fn connect_api_account(running: &Running, store_id: &str, token: &str, client_secret: Option<&str>) {
    let mut fields = vec![("store_hash", store_id), ("access_token", token)];
    fields.extend(client_secret.map(|secret| ("client_secret", secret)));
    let answer = Browser::new()
        .unwrap()
        .fill_in(&format!("{}/connect", base(running)), &fields)
        .await
        .unwrap();
    assert_eq!(answer.status, 303, "{}", answer.body);
}

#[tokio::test]
async fn store_webhook_signatures_are_checked_with_the_key_of_the_account_that_created_the_hooks() {
    let (_dir, running, _) = onboarded().await;
    let table = running.app.table.as_ref();
    let cipher = &running.app.secrets.token_cipher;
    let app_secret = running
        .app
        .secrets
        .bigcommerce_client_secret
        .expose()
        .as_bytes()
        .to_vec();
    let header_secret = |hash: &'static str| async move {
        accounts::get_store(table, hash)
            .await
            .unwrap()
            .unwrap()
            .webhook_secret(cipher)
            .unwrap()
            .expose()
            .to_string()
    };

    // An app install: the app's client secret signs.
    let installed = header_secret(STORE).await;
    let now = unix_now();
    assert_eq!(
        deliver(&running, STORE, &installed, &app_secret, now).await,
        200,
        "valid"
    );
    assert_eq!(
        deliver(&running, STORE, &installed, b"another-secret", now).await,
        401,
        "wrong key"
    );
    assert_eq!(
        deliver(&running, STORE, &installed, &app_secret, now - 6 * 60).await,
        401,
        "older than 5 minutes"
    );

    // A store-level API account: its own client secret signs the hooks it created.
    let sandboxes = running.sandboxes.as_ref().unwrap();
    let account: Value = reqwest::Client::new()
        .post(format!("{}/sandbox/api-accounts", sandboxes.store))
        .json(&json!({"store_hash": "sbx2store"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = account["access_token"].as_str().unwrap();
    let client_secret = account["client_secret"].as_str().unwrap();
    connect_api_account(&running, "sbx2store", token, Some(client_secret)).await;
    let by_account = header_secret("sbx2store").await;
    let account_secret = account["client_secret"].as_str().unwrap().as_bytes();
    assert_eq!(
        deliver(&running, "sbx2store", &by_account, account_secret, unix_now()).await,
        200
    );
    assert_eq!(
        deliver(&running, "sbx2store", &by_account, &app_secret, unix_now()).await,
        401,
        "the app's secret does not sign this account's hooks"
    );
    // And BigCommerce's own deliveries for that store are accepted.
    reqwest::Client::new()
        .post(format!("{}/sandbox/products/2?store_hash=sbx2store", sandboxes.store))
        .json(&json!({"price": 42.0}))
        .send()
        .await
        .unwrap();
    let accepted = connector_e2e::eventually(10, async || {
        sandboxes
            .bigcommerce_sandbox()
            .lock()
            .deliveries
            .iter()
            .any(|d| d.store_hash == "sbx2store" && d.scope == "store/product/updated" && d.status == 200)
    })
    .await;
    assert!(accepted, "{:?}", sandboxes.bigcommerce_sandbox().lock().deliveries);

    // Connected without the client secret: the signature cannot be checked, the
    // per-store header secret still is.
    connect_api_account(&running, "sbx2store", token, None).await;
    let without_key = header_secret("sbx2store").await;
    assert_eq!(
        deliver(&running, "sbx2store", &without_key, b"unknown-key", unix_now()).await,
        200
    );
    assert_eq!(
        deliver(
            &running,
            "sbx2store",
            "not-the-header-secret",
            account_secret,
            unix_now()
        )
        .await,
        401
    );
}

#[tokio::test]
async fn the_store_is_named_as_bigcommerce_names_it_from_the_install_and_again_at_the_next_opening() {
    let (_dir, running, _) = onboarded().await;
    let table = running.app.table.as_ref();
    let sandbox_id = running.sandboxes.as_ref().unwrap().bigcommerce_sandbox().lock().stores[STORE].id;
    let name = format!("Sandbox store {sandbox_id}");
    let store = accounts::get_store(table, STORE).await.unwrap().unwrap();
    assert_eq!(store.name, name, "saved at the install, from /v2/store");
    let (mut browser, _) = signed_in(&running).await;
    // The header's store part of the dashboard, as the merchant sees it now.
    let header = async |browser: &mut connector_local::Browser| {
        let page = browser
            .get(&format!("{}/settings/dashboard", base(&running)))
            .await
            .unwrap()
            .body;
        page.split("class=\"store\"")
            .nth(1)
            .unwrap_or_default()
            .split("</span>")
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let shown = header(&mut browser).await;
    assert!(shown.contains(&format!("<strong>{name}</strong>")), "{}", shown);
    assert!(!shown.contains(STORE), "the name, not the hash");

    // A store saved before its name was kept shows its hash, and gets its name the next
    // time the merchant opens the app.
    let mut unnamed = store.clone();
    unnamed.name.clear();
    accounts::save_store(table, &unnamed).await.unwrap();
    let shown = header(&mut browser).await;
    assert!(shown.contains(&format!("<code>{STORE}</code>")), "{}", shown);
    signed_in(&running).await;
    assert_eq!(accounts::get_store(table, STORE).await.unwrap().unwrap().name, name);
}
