//! Notifications and the activity log end to end, through the local runner and both
//! sandboxes: notices raised by the scheduled check show behind the bell, the owner
//! gets one e-mail per kind, shop and day through SES (moto's, read back from it), and
//! a settings change shows in `/settings/log` with who made it.

use connector::accounts;
use connector::journal::{self, LogKind};
use connector::notices::{self, NoticeKind};
use connector::storage::unix_now;
use connector_e2e::{emulator_given, local_stack_with, merchant};
use connector_local::{Running, onboard_sandbox};
use serde_json::{Value, json};

const STORE: &str = "sbx1store";

/// The stack with the sandbox store onboarded (a small catalogue: these tests need
/// shops, not products), on moto when `aws`.
async fn onboarded(aws: bool) -> (tempfile::TempDir, Running) {
    let data_dir = tempfile::tempdir().unwrap();
    let running = local_stack_with(data_dir.path(), aws, true, 3).await;
    onboard_sandbox(&running).await.unwrap();
    (data_dir, running)
}

/// The e-mails moto's SES holds for `to`: (subject, body).
async fn mails_to(to: &str) -> Vec<(String, String)> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let data: Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|m| {
            m["destinations"]["ToAddresses"]
                .as_array()
                .is_some_and(|a| a.iter().any(|a| a == to))
        })
        .map(|m| {
            (
                m["subject"].as_str().unwrap_or_default().to_string(),
                m["body"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The bell's number on a page.
/// The store's order counters, which the notice check reads orders waiting from.
async fn counts(app: &connector::app::App) -> std::collections::HashMap<String, i64> {
    connector::orders::order_counts(app.table.as_ref(), STORE)
        .await
        .unwrap()
}

fn bell(page: &str) -> usize {
    let start = page.find("id=\"bell\"").expect("the bell is on the page");
    let text = &page[start..];
    let number = &text[text.find("</svg>").expect("a bell") + "</svg>".len()..];
    number
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("a count")
}

#[tokio::test]
async fn notices_ring_the_bell_and_mail_the_owner_once_per_kind_shop_and_day() {
    if !emulator_given() {
        return;
    }
    let (_dir, running) = onboarded(true).await;
    let app = running.app.clone();
    let table = app.table.as_ref();
    let now = unix_now();

    // A fresh owner address, so this run's mails are told apart in the shared moto.
    let owner = format!("owner-{}@example.com", uuid::Uuid::new_v4().simple());
    let mut store = accounts::get_store(table, STORE).await.unwrap().unwrap();
    store.owner_email = Some(owner.clone());
    accounts::save_store(table, &store).await.unwrap();
    // An order that could not be created (parked), and an authorization ending in 3 days.
    let mut shop = accounts::list_shops(table, STORE).await.unwrap().remove(0);
    connector::orders::park(
        table,
        STORE,
        &shop.shop_id,
        "576461413038791001",
        "SKU not in the store",
    )
    .await
    .unwrap();
    shop.authorization_expires_at = Some(now + 3 * 86_400);
    accounts::save_shop(table, &shop).await.unwrap();

    let checked = notices::check_store(&app, STORE, now, &counts(&app).await)
        .await
        .unwrap();
    assert_eq!((checked.raised, checked.mailed), (2, 2), "{checked:?}");
    let mails = mails_to(&owner).await;
    assert_eq!(mails.len(), 2, "one mail per kind: {mails:?}");
    assert!(
        mails
            .iter()
            .any(|(subject, body)| subject.contains("Orders need attention")
                && body.contains("1 TikTok order(s)")
                && !body.contains("576461413038791001"))
    );
    assert!(
        mails
            .iter()
            .any(|(subject, body)| subject.contains("Authorization") && body.contains("in 3 day(s)"))
    );
    for (_, body) in &mails {
        assert!(!body.contains(&shop.cipher) && !body.contains("token"), "{body}");
    }

    // The same day again: nothing new, no second mail.
    let again = notices::check_store(&app, STORE, now, &counts(&app).await)
        .await
        .unwrap();
    assert_eq!((again.raised, again.mailed), (0, 0));
    assert_eq!(
        mails_to(&owner).await.len(),
        2,
        "at most one mail per kind, shop and day"
    );

    // The bell shows both; "Mark all read" empties it.
    let (mut browser, base, csrf) = merchant(&running).await;
    let page = browser.get(&format!("{base}/settings/log")).await.unwrap();
    assert_eq!(bell(&page.body), 2, "{}", page.body);
    let list = browser.get(&format!("{base}/settings/notifications")).await.unwrap();
    assert_eq!(list.status, 200);
    assert!(list.body.contains("data-kind=\"orders_need_attention\""));
    assert!(list.body.contains("data-kind=\"authorization_expiring\""));
    let read = browser
        .post_form(&format!("{base}/settings/notifications/read"), &[("csrf", &csrf)])
        .await
        .unwrap();
    assert_eq!(read.status, 303);
    let page = browser.get(&format!("{base}/settings/dashboard")).await.unwrap();
    assert_eq!(bell(&page.body), 0);

    // Order mails switched off: the next day only the authorization mail goes out.
    let saved = browser
        .post_form(
            &format!("{base}/settings/configuration/notifications"),
            &[("csrf", &csrf), ("email_authorization_expiring", "on")],
        )
        .await
        .unwrap();
    assert_eq!(saved.status, 303, "{}", saved.body);
    let next_day = notices::check_store(&app, STORE, now + 86_400, &counts(&app).await)
        .await
        .unwrap();
    assert_eq!(next_day.mailed, 1);
    let mails = mails_to(&owner).await;
    assert_eq!(mails.len(), 3);
    assert_eq!(
        mails
            .iter()
            .filter(|(subject, _)| subject.contains("Orders need attention"))
            .count(),
        1
    );

    // Causes gone: the notices go too.
    let mut shop = accounts::get_shop(table, STORE, &shop.shop_id).await.unwrap().unwrap();
    shop.authorization_expires_at = Some(now + 300 * 86_400);
    accounts::save_shop(table, &shop).await.unwrap();
    notices::check_store(&app, STORE, now, &counts(&app).await)
        .await
        .unwrap();
    let kinds: Vec<NoticeKind> = notices::list(table, STORE)
        .await
        .unwrap()
        .iter()
        .map(|n| n.kind)
        .collect();
    assert_eq!(kinds, [NoticeKind::OrdersNeedAttention]);
}

#[tokio::test]
async fn a_settings_change_shows_in_the_activity_log_with_its_author() {
    let (_dir, running) = onboarded(false).await;
    // The onboarding's import finishes (and logs its end) before the settings change.
    assert!(
        running
            .settle(std::time::Duration::from_secs(2), std::time::Duration::from_secs(120))
            .await
    );
    let (mut browser, base, csrf) = merchant(&running).await;
    let changed = browser
        .put_json(
            &format!("{base}/settings/api/settings"),
            &json!({"order_prefix": "TT-", "notifications": {"email_orders_need_attention": false}}),
            &csrf,
        )
        .await
        .unwrap();
    assert_eq!(changed.status, 200, "{}", changed.body);

    let page = browser
        .get(&format!("{base}/settings/log?kind=settings"))
        .await
        .unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    let row = page
        .body
        .split("<tr data-kind=\"settings\">")
        .nth(1)
        .expect("a settings entry");
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("(owner)"), "the author is named: {row}");
    assert!(
        row.contains("order_prefix: &quot;&quot; → &quot;TT-&quot;"),
        "old and new values: {row}"
    );
    assert!(
        row.contains("notifications.email_orders_need_attention: true → false"),
        "{row}"
    );
    assert!(!page.body.contains("data-kind=\"imports\""), "filtered by kind");

    // The whole log holds the onboarding's import too, newest first; a bad date is named.
    let all = browser.get(&format!("{base}/settings/log")).await.unwrap();
    let (settings_at, import_at) = (
        all.body.find("data-kind=\"settings\"").unwrap(),
        all.body.find("data-kind=\"imports\"").expect("the import is logged"),
    );
    assert!(settings_at < import_at, "newest first");
    let bad = browser
        .get(&format!("{base}/settings/log?from=yesterday"))
        .await
        .unwrap();
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("not a date"));
    let future = browser
        .get(&format!("{base}/settings/log?from=2999-01-01"))
        .await
        .unwrap();
    assert!(future.body.contains("Nothing logged for this filter."));

    // Kept 30 days, and the domain reads the same entry.
    let table = running.app.table.as_ref();
    let filter = journal::Filter {
        kind: Some(LogKind::Settings),
        ..journal::Filter::default()
    };
    let found = journal::page(table, STORE, &filter, None).await.unwrap();
    assert_eq!(found.entries.len(), 1);
    assert!(found.entries[0].author.as_deref().unwrap().starts_with("user "));
}
