//! Notices: what a store's merchant should look at, shown behind the bell of every
//! settings page, and for the first two kinds also mailed to the owner (at most one
//! mail per kind, shop and UTC day, each kind switchable in
//! [`crate::accounts::NotificationSettings`]).
//!
//! One notice per kind, shop and topic (`STORE#<hash>` / `NOTICE#<kind>#<shop>#<topic>`,
//! kept [`KEPT_DAYS`] days): raising it again with the same text leaves it as it is
//! (read stays read); with a new text it is unread again. The day's mail is claimed
//! with a conditional put of `MAILED#<kind>#<shop>#<day>` (kept 2 days). Texts name
//! shops, counts and TikTok order ids; never a token or a buyer's data.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::accounts::{self, ShopRecord, ShopStatus, StoreRecord, StoreStatus, store_pk};
use crate::app::App;
use crate::journal::{self, Entry, LogKind};
use crate::mail::Mail;
use crate::storage::{Condition, Item, Query, StorageError, Table, decode, encode, unix_now};

/// How long a notice is kept (days).
pub const KEPT_DAYS: i64 = 30;

/// How far ahead an expiring TikTok authorization is announced (seconds: 7 days).
pub const AUTHORIZATION_WARNING: i64 = 7 * 86_400;

/// Most notices listed (and counted for the bell).
pub const MAX_LISTED: usize = 200;

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// Orders of a shop not created in the store (in error or parked).
    OrdersNeedAttention,
    /// A shop's TikTok authorization expires within 7 days, or was revoked.
    AuthorizationExpiring,
    /// Uploads TikTok's daily listing limit refused (scheduled for the next day).
    ListingLimit,
    /// An order TikTok cancelled as out of stock (oversold).
    OversoldCancellation,
}

impl NoticeKind {
    /// The kind's name in keys and forms (`orders_need_attention`, …).
    pub fn key(self) -> &'static str {
        match self {
            NoticeKind::OrdersNeedAttention => "orders_need_attention",
            NoticeKind::AuthorizationExpiring => "authorization_expiring",
            NoticeKind::ListingLimit => "listing_limit",
            NoticeKind::OversoldCancellation => "oversold_cancellation",
        }
    }

    /// The kind in words.
    pub fn label(self) -> &'static str {
        match self {
            NoticeKind::OrdersNeedAttention => "Orders need attention",
            NoticeKind::AuthorizationExpiring => "Authorization",
            NoticeKind::ListingLimit => "Daily listing limit",
            NoticeKind::OversoldCancellation => "Oversold order cancelled",
        }
    }
}

/// One notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// What it is about.
    pub kind: NoticeKind,
    /// The TikTok shop it concerns.
    pub shop_id: String,
    /// What sets it apart from the shop's other notices of its kind (a UTC day, an
    /// order id); empty for the one-per-shop kinds.
    #[serde(default)]
    pub topic: String,
    /// What the merchant should know, in words.
    pub text: String,
    /// Where the app shows more (a path such as `/settings/orders?state=error`).
    pub link: String,
    /// When it was raised, or its text last changed (Unix seconds).
    pub raised_at: i64,
    /// Whether the merchant marked it read.
    pub read: bool,
}

impl Notice {
    /// An unread notice raised now.
    pub fn new(kind: NoticeKind, shop_id: &str, topic: &str, text: impl Into<String>, link: &str) -> Self {
        Self {
            kind,
            shop_id: shop_id.to_string(),
            topic: topic.to_string(),
            text: text.into(),
            link: link.to_string(),
            raised_at: unix_now(),
            read: false,
        }
    }
}

fn notice_sk(kind: NoticeKind, shop_id: &str, topic: &str) -> String {
    format!("NOTICE#{}#{shop_id}#{topic}", kind.key())
}

fn notice_item(store_id: &str, notice: &Notice) -> Item {
    Item::new(
        store_pk(store_id),
        notice_sk(notice.kind, &notice.shop_id, &notice.topic),
        encode(notice),
    )
    .with_expiry(notice.raised_at.max(unix_now()) + KEPT_DAYS * 86_400)
}

/// Raises `notice`: stored unread unless the same notice (kind, shop, topic) is
/// there with the same text. Returns whether it is new or changed. Errors: the table's.
pub async fn raise(table: &dyn Table, store_id: &str, notice: Notice) -> Result<bool, StorageError> {
    let pk = store_pk(store_id);
    let sk = notice_sk(notice.kind, &notice.shop_id, &notice.topic);
    if let Some(stored) = table.get(&pk, &sk).await?
        && decode::<Notice>(&stored).is_ok_and(|stored| stored.text == notice.text)
    {
        return Ok(false);
    }
    let notice = Notice { read: false, ..notice };
    table.put(notice_item(store_id, &notice), Condition::None).await?;
    journal::note(
        table,
        store_id,
        Entry::now(
            LogKind::Notifications,
            format!("Notice on shop {}: {}", notice.shop_id, notice.text),
        ),
        None,
    )
    .await;
    Ok(true)
}

/// Removes the one-per-shop notice of `kind` (its cause is gone). Errors: the table's.
pub async fn resolve(table: &dyn Table, store_id: &str, kind: NoticeKind, shop_id: &str) -> Result<(), StorageError> {
    table
        .delete(&store_pk(store_id), &notice_sk(kind, shop_id, ""), Condition::None)
        .await
}

/// The store's notices, newest first ([`MAX_LISTED`] at most, the newest of all).
/// Errors: the table's.
pub async fn list(table: &dyn Table, store_id: &str) -> Result<Vec<Notice>, StorageError> {
    let mut notices: Vec<Notice> = Vec::new();
    let mut query = Query::table(store_pk(store_id), "NOTICE#").limit(1000);
    loop {
        let page = table.query(query.clone()).await?;
        notices.extend(page.items.iter().filter_map(|item| decode(item).ok()));
        match page.cursor {
            Some(next) => query = query.after(Some(next)),
            None => break,
        }
    }
    notices.sort_by(|a, b| b.raised_at.cmp(&a.raised_at));
    notices.truncate(MAX_LISTED);
    Ok(notices)
}

/// How many of the store's notices are unread (the bell's number). Errors: the table's.
pub async fn unread_count(table: &dyn Table, store_id: &str) -> Result<usize, StorageError> {
    Ok(list(table, store_id).await?.iter().filter(|n| !n.read).count())
}

/// Marks every notice of the store read; returns how many were unread. Errors: the
/// table's.
pub async fn mark_all_read(table: &dyn Table, store_id: &str) -> Result<usize, StorageError> {
    let mut marked = 0;
    for notice in list(table, store_id).await?.into_iter().filter(|n| !n.read) {
        let notice = Notice { read: true, ..notice };
        table.put(notice_item(store_id, &notice), Condition::None).await?;
        marked += 1;
    }
    Ok(marked)
}

/// The UTC day of `at` (`2026-11-29`).
fn day_of(at: i64) -> String {
    jiff::Timestamp::from_second(at.div_euclid(86_400) * 86_400)
        .map_or_else(|_| "invalid".to_string(), |t| t.strftime("%Y-%m-%d").to_string())
}

/// Raises the shop's [`NoticeKind::ListingLimit`] notice of today: TikTok's daily
/// listing limit refused an upload (TikTok error `12052093`), which waits for the next
/// day. Errors: the table's.
pub async fn listing_limit(table: &dyn Table, store_id: &str, shop_id: &str) -> Result<bool, StorageError> {
    let notice = Notice::new(
        NoticeKind::ListingLimit,
        shop_id,
        &day_of(unix_now()),
        format!(
            "TikTok's daily listing limit refused uploads to shop {shop_id} today; they are scheduled for tomorrow."
        ),
        "/settings/products?status=scheduled",
    );
    raise(table, store_id, notice).await
}

/// Whether a TikTok `cancel_reason` key says the order was cancelled for lack of stock
/// (`seller_cancel_reason_out_of_stock`, `seller_cancel_unpaid_reason_out_of_stock`,
/// their market variants such as `…_out_of_stock_uk`, and system keys naming it).
pub fn is_oversold(cancel_reason: &str) -> bool {
    let reason = cancel_reason.to_ascii_lowercase();
    reason.contains("out_of_stock") || reason.contains("oversold") || reason.contains("no_stock")
}

/// What the orders code calls when TikTok cancelled an order: raises a
/// [`NoticeKind::OversoldCancellation`] notice for it when `cancel_reason` (TikTok's
/// machine key from the order detail) says it was out of stock ([`is_oversold`]).
/// Returns whether a notice was raised (new). Errors: the table's.
pub async fn cancelled_order(
    table: &dyn Table,
    store_id: &str,
    shop_id: &str,
    tiktok_order_id: &str,
    cancel_reason: &str,
) -> Result<bool, StorageError> {
    if !is_oversold(cancel_reason) {
        return Ok(false);
    }
    let notice = Notice::new(
        NoticeKind::OversoldCancellation,
        shop_id,
        tiktok_order_id,
        format!(
            "TikTok cancelled order {tiktok_order_id} of shop {shop_id} as out of stock: the shop sold more than it had. Check the stock of its products."
        ),
        "/settings/orders?status=CANCELLED",
    );
    raise(table, store_id, notice).await
}

/// Why a notice check failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The table failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What one [`check_store`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checked {
    /// Notices raised new or changed.
    pub raised: usize,
    /// Mails sent.
    pub mailed: usize,
}

/// The store's [`NoticeKind::OrdersNeedAttention`] and
/// [`NoticeKind::AuthorizationExpiring`] notices as of `now`: raised for each
/// connected shop whose cause holds (and mailed to the owner, once a day per kind
/// and shop, when the owner's settings allow), removed where it no longer holds.
/// A mail that fails is logged and tried again at the next check. `order_counts` are
/// the store's order counters (`waiting:<shop id>` → orders waiting for the merchant;
/// [`crate::orders::order_counts`]). Errors: the table's.
pub async fn check_store(
    app: &App,
    store_id: &str,
    now: i64,
    order_counts: &HashMap<String, i64>,
) -> Result<Checked, CheckError> {
    let table = app.table.as_ref();
    let mut checked = Checked::default();
    let Some(store) = accounts::get_store(table, store_id).await? else {
        return Ok(checked);
    };
    if store.status != StoreStatus::Installed {
        return Ok(checked);
    }
    for shop in accounts::list_shops(table, store_id).await? {
        if shop.status == ShopStatus::Disconnected {
            continue;
        }
        let waiting = order_counts
            .get(&format!("waiting:{}", shop.shop_id))
            .copied()
            .unwrap_or(0);
        let causes = [
            (NoticeKind::OrdersNeedAttention, orders_notice(&shop, waiting)),
            (NoticeKind::AuthorizationExpiring, authorization_notice(&shop, now)),
        ];
        for (kind, notice) in causes {
            let Some(notice) = notice else {
                resolve(table, store_id, kind, &shop.shop_id).await?;
                continue;
            };
            let text = notice.text.clone();
            let link = notice.link.clone();
            if raise(table, store_id, notice).await? {
                checked.raised += 1;
            }
            if mail_once(app, &store, &shop, kind, &text, &link, now).await? {
                checked.mailed += 1;
            }
        }
    }
    Ok(checked)
}

fn orders_notice(shop: &ShopRecord, waiting: i64) -> Option<Notice> {
    (waiting > 0).then(|| {
        Notice::new(
            NoticeKind::OrdersNeedAttention,
            &shop.shop_id,
            "",
            format!(
                "{waiting} TikTok order(s) of shop {} ({}) could not be created in your store and need your attention.",
                shop.name, shop.region
            ),
            "/settings/orders?state=error",
        )
    })
}

fn authorization_notice(shop: &ShopRecord, now: i64) -> Option<Notice> {
    let text = if shop.status == ShopStatus::NeedsReauthorization {
        format!(
            "Shop {} ({}) needs re-authorization: TikTok no longer accepts the connector's access, so nothing syncs.",
            shop.name, shop.region
        )
    } else {
        let expires = shop
            .authorization_expires_at
            .filter(|at| *at <= now + AUTHORIZATION_WARNING)?;
        let days = ((expires - now).max(0) + 86_399) / 86_400;
        format!(
            "The TikTok authorization of shop {} ({}) expires on {} (in {days} day(s)). Re-authorize the shop to keep it syncing.",
            shop.name,
            shop.region,
            day_of(expires)
        )
    };
    Some(Notice::new(
        NoticeKind::AuthorizationExpiring,
        &shop.shop_id,
        "",
        text,
        "/settings/dashboard",
    ))
}

/// Mails the owner about `kind` on `shop` unless the settings turn it off, there is
/// no owner address, or today's mail of that kind and shop went out already (claimed
/// with a conditional put, given back when the mail fails). Returns whether it sent.
async fn mail_once(
    app: &App,
    store: &StoreRecord,
    shop: &ShopRecord,
    kind: NoticeKind,
    text: &str,
    link: &str,
    now: i64,
) -> Result<bool, StorageError> {
    let wanted = match kind {
        NoticeKind::OrdersNeedAttention => store.settings.notifications.email_orders_need_attention,
        NoticeKind::AuthorizationExpiring => store.settings.notifications.email_authorization_expiring,
        _ => false,
    };
    let Some(to) = store.owner_email.clone().filter(|to| wanted && to.contains('@')) else {
        return Ok(false);
    };
    let table = app.table.as_ref();
    let pk = store_pk(&store.store_id);
    let sk = format!("MAILED#{}#{}#{}", kind.key(), shop.shop_id, day_of(now));
    let claim = Item::new(pk.clone(), sk.clone(), serde_json::json!({"at": now})).with_expiry(now + 2 * 86_400);
    match table.put(claim, Condition::Absent).await {
        Ok(()) => {}
        Err(StorageError::ConditionFailed { .. }) => return Ok(false),
        Err(error) => return Err(error),
    }
    let mail = Mail {
        to,
        subject: format!("TikTok Shop Connector: {} ({})", kind.label(), shop.name),
        text: format!(
            "{text}\n\nOpen the connector from your {} control panel to see more: {}{link}\n\nYou can turn these e-mails off in the connector's settings (notifications).\n",
            store.platform.label(),
            app.public_url.trim_end_matches('/')
        ),
    };
    match app.mailer.send(&mail).await {
        Ok(()) => {
            journal::note(
                table,
                &store.store_id,
                Entry::now(
                    LogKind::Notifications,
                    format!("E-mail to the owner: {} on shop {}", kind.label(), shop.shop_id),
                ),
                None,
            )
            .await;
            Ok(true)
        }
        Err(error) => {
            tracing::warn!(store = %store.store_id, shop = %shop.shop_id, kind = kind.key(), %error, "notice mail not sent");
            table.delete(&pk, &sk, Condition::None).await?;
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::embedded::EmbeddedTable;

    #[tokio::test]
    async fn a_notice_raised_again_unchanged_stays_read_and_a_new_text_is_unread() {
        let dir = tempfile::tempdir().unwrap();
        let table = EmbeddedTable::open(dir.path()).unwrap();
        let notice = |text: &str| Notice::new(NoticeKind::OrdersNeedAttention, "shop1", "", text, "/x");
        assert!(raise(&table, "s1", notice("2 orders")).await.unwrap());
        assert!(
            cancelled_order(&table, "s1", "shop1", "5764", "seller_cancel_reason_out_of_stock")
                .await
                .unwrap()
        );
        assert!(
            !cancelled_order(&table, "s1", "shop1", "5765", "seller_cancel_reason_wrong_price")
                .await
                .unwrap()
        );
        assert_eq!(unread_count(&table, "s1").await.unwrap(), 2);
        assert_eq!(unread_count(&table, "s2").await.unwrap(), 0);
        assert_eq!(mark_all_read(&table, "s1").await.unwrap(), 2);
        assert!(!raise(&table, "s1", notice("2 orders")).await.unwrap());
        assert_eq!(unread_count(&table, "s1").await.unwrap(), 0);
        assert!(raise(&table, "s1", notice("3 orders")).await.unwrap());
        assert_eq!(unread_count(&table, "s1").await.unwrap(), 1);
        resolve(&table, "s1", NoticeKind::OrdersNeedAttention, "shop1")
            .await
            .unwrap();
        assert_eq!(list(&table, "s1").await.unwrap().len(), 1);
        assert!(listing_limit(&table, "s1", "shop1").await.unwrap());
        assert!(!listing_limit(&table, "s1", "shop1").await.unwrap(), "once a day");
    }

    #[test]
    fn out_of_stock_reasons_are_oversold() {
        assert!(is_oversold("seller_cancel_unpaid_reason_out_of_stock"));
        assert!(is_oversold("seller_cancel_reason_out_of_stock_uk"));
        assert!(!is_oversold("system_cancel_unpaid_time_out"));
        assert!(!is_oversold(""));
    }
}
