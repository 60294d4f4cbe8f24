//! The activity log: what the connector did for a store (imports, uploads, syncs,
//! orders, returns, settings changes with who changed what), newest first, kept
//! [`KEPT_DAYS`] days by the table's TTL.
//!
//! Entries live beside the store (`STORE#<hash>#LOG` / `LOG#<inverted time>#<suffix>`):
//! the time counted down from [`ID_CLOCK`], so a plain ascending query lists the
//! newest first, and a date bound is a start key. Summaries name things by id and
//! count only: never a secret, a token, or a buyer's personal data (name, address,
//! phone, e-mail, message).

use serde::{Deserialize, Serialize};

use crate::accounts::{Settings, store_pk};
use crate::storage::{Condition, Item, Query, StorageError, Table, decode, encode, unix_now};

/// How long an entry is kept (days); the table's TTL removes it after.
pub const KEPT_DAYS: i64 = 30;

/// Entry keys count down from here (Unix seconds), so newer entries sort first.
pub const ID_CLOCK: i64 = 9_999_999_999;

/// Entries a [`page`] shows at most.
pub const PAGE_SIZE: usize = 50;

/// Longest rendering of one setting's value in a settings change (characters).
const VALUE_CHARS: usize = 120;

/// Sort-key prefix of the log.
const PREFIX: &str = "LOG#";

/// The partition of a store's log, beside the store's own (`STORE#<hash>#LOG`), so the
/// store's partition stays small.
fn log_pk(store_id: &str) -> String {
    format!("{}#LOG", store_pk(store_id))
}

/// What an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    /// Catalogue imports from the store.
    Imports,
    /// Uploads of products to TikTok.
    Uploads,
    /// Bulk listing actions (activate, deactivate, delete, recover, link, unlink).
    Listings,
    /// Stock, price and status syncs.
    Syncs,
    /// Orders (created in the store, cancelled, failed).
    Orders,
    /// Returns, refunds and cancellation requests.
    Returns,
    /// Settings changes, with who changed what.
    Settings,
    /// Installs, connected shops, authorizations.
    Account,
    /// Notices raised and e-mails sent.
    Notifications,
}

impl LogKind {
    /// Every kind with its label, in the order the filter offers them.
    pub const ALL: [(LogKind, &'static str); 9] = [
        (LogKind::Imports, "Imports"),
        (LogKind::Uploads, "Uploads"),
        (LogKind::Listings, "Listings"),
        (LogKind::Syncs, "Syncs"),
        (LogKind::Orders, "Orders"),
        (LogKind::Returns, "Returns"),
        (LogKind::Settings, "Settings"),
        (LogKind::Account, "Account"),
        (LogKind::Notifications, "Notifications"),
    ];

    /// The kind's name in URLs and storage (`imports`, `uploads`, …).
    pub fn key(self) -> &'static str {
        match self {
            LogKind::Imports => "imports",
            LogKind::Uploads => "uploads",
            LogKind::Listings => "listings",
            LogKind::Syncs => "syncs",
            LogKind::Orders => "orders",
            LogKind::Returns => "returns",
            LogKind::Settings => "settings",
            LogKind::Account => "account",
            LogKind::Notifications => "notifications",
        }
    }

    /// The kind's label.
    pub fn label(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(kind, _)| *kind == self)
            .map_or("", |(_, label)| label)
    }

    /// The kind named `key` ([`LogKind::key`]), if any.
    pub fn named(key: &str) -> Option<Self> {
        Self::ALL.iter().map(|(kind, _)| *kind).find(|kind| kind.key() == key)
    }

    /// The kind of a catalogue activity (`import`, `upload`, `sync_stock`, …).
    pub fn of_activity(activity_kind: &str) -> Self {
        match activity_kind {
            "import" => LogKind::Imports,
            "upload" => LogKind::Uploads,
            "fetch_order" | "sync_orders" => LogKind::Orders,
            kind if kind.starts_with("sync") => LogKind::Syncs,
            _ => LogKind::Listings,
        }
    }
}

/// One thing the connector did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// When (Unix seconds).
    pub at: i64,
    /// What it is about.
    pub kind: LogKind,
    /// Who did it, when a person did (`user 12 (owner)`); `None` for the connector.
    pub author: Option<String>,
    /// What happened, in words (ids and counts; no secrets, no buyer data).
    pub summary: String,
}

impl Entry {
    /// An entry of the connector's own (no author) at `now`.
    pub fn now(kind: LogKind, summary: impl Into<String>) -> Self {
        Self {
            at: unix_now(),
            kind,
            author: None,
            summary: summary.into(),
        }
    }

    /// The same entry, done by `author`.
    pub fn by(mut self, author: impl Into<String>) -> Self {
        self.author = Some(author.into());
        self
    }
}

/// How a person is named in the log: `user 12 (owner)`, `user 14`, or `API account`
/// for a store connected with an API account (user id 0).
pub fn author(user_id: u64, owner_id: u64) -> String {
    match user_id {
        0 => "API account".to_string(),
        id if id == owner_id => format!("user {id} (owner)"),
        id => format!("user {id}"),
    }
}

fn sort_key(at: i64, suffix: &str) -> String {
    format!("{PREFIX}{:010}#{suffix}", (ID_CLOCK - at).clamp(0, ID_CLOCK))
}

fn entry_item(store_id: &str, entry: &Entry, suffix: &str) -> Item {
    Item::new(log_pk(store_id), sort_key(entry.at, suffix), encode(entry))
        .with_expiry(entry.at.max(unix_now()) + KEPT_DAYS * 86_400)
}

/// Writes one entry (a new one each call). Errors: the table's.
pub async fn record(table: &dyn Table, store_id: &str, entry: &Entry) -> Result<(), StorageError> {
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..16];
    table.put(entry_item(store_id, entry, suffix), Condition::None).await
}

/// Writes one entry once per `key` and time: a job that runs again writes the same
/// item again instead of a second entry (`key`: any text naming the event, such as
/// `activity-<id>-done`). Errors: the table's.
pub async fn record_once(table: &dyn Table, store_id: &str, entry: &Entry, key: &str) -> Result<(), StorageError> {
    let suffix = &crate::crypto::sha256_hex(key.as_bytes())[..16];
    table.put(entry_item(store_id, entry, suffix), Condition::None).await
}

/// Writes an entry and logs (rather than returns) a failure: for the places where
/// the log must never stop the work it describes.
pub async fn note(table: &dyn Table, store_id: &str, entry: Entry, key: Option<&str>) {
    let written = match key {
        Some(key) => record_once(table, store_id, &entry, key).await,
        None => record(table, store_id, &entry).await,
    };
    if let Err(error) = written {
        tracing::warn!(store = %store_id, %error, "activity log entry not written");
    }
}

/// Which entries a [`page`] lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Only this kind.
    pub kind: Option<LogKind>,
    /// Only entries at or after (Unix seconds).
    pub from: Option<i64>,
    /// Only entries at or before (Unix seconds).
    pub to: Option<i64>,
}

/// One page of the log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogPage {
    /// Entries, newest first.
    pub entries: Vec<Entry>,
    /// Where the next (older) page starts; `None` on the last page. Opaque: give it
    /// back to [`page`] as it is.
    pub cursor: Option<String>,
}

/// Errors of [`page`].
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The cursor was not handed out by [`page`].
    #[error("this link to older entries is not valid")]
    InvalidCursor,
    /// The table failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Most entries one [`page`] call reads while filtering by kind (it then hands back a
/// cursor, so a rare kind never makes one request read the whole log).
const READ_BUDGET: usize = 1000;

/// The store's entries matching `filter`, newest first, [`PAGE_SIZE`] at most, from
/// `cursor` (a previous page's) or from the newest (or from `filter.to`). Errors:
/// [`LogError::InvalidCursor`] for a cursor [`page`] did not hand out; the table's.
pub async fn page(
    table: &dyn Table,
    store_id: &str,
    filter: &Filter,
    cursor: Option<&str>,
) -> Result<LogPage, LogError> {
    let pk = log_pk(store_id);
    // The position to start after: the cursor's key, else just before `to`'s second.
    let start = match cursor {
        Some(cursor) => {
            let valid = cursor.len() <= 64
                && cursor.starts_with(PREFIX)
                && cursor[PREFIX.len()..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '#');
            if !valid {
                return Err(LogError::InvalidCursor);
            }
            Some(cursor.to_string())
        }
        None => filter
            .to
            .map(|to| format!("{PREFIX}{:010}#~", (ID_CLOCK - to - 1).clamp(0, ID_CLOCK))),
    };
    let mut storage_cursor = start.map(|sk| {
        crate::storage::PageCursor {
            pk: pk.clone(),
            sk,
            index: None,
        }
        .encode()
    });
    let mut found = LogPage::default();
    let mut read = 0;
    loop {
        let query = Query::table(pk.clone(), PREFIX)
            .limit(PAGE_SIZE * 2)
            .after(storage_cursor.take());
        let batch = table.query(query).await.map_err(|error| match error {
            StorageError::InvalidCursor(_) => LogError::InvalidCursor,
            other => other.into(),
        })?;
        for item in &batch.items {
            read += 1;
            let entry: Entry = decode(item)?;
            if filter.from.is_some_and(|from| entry.at < from) {
                return Ok(found);
            }
            if filter.to.is_some_and(|to| entry.at > to) || filter.kind.is_some_and(|kind| kind != entry.kind) {
                continue;
            }
            found.entries.push(entry);
            if found.entries.len() >= PAGE_SIZE {
                found.cursor = Some(item.sk.clone());
                return Ok(found);
            }
        }
        match batch.cursor {
            None => return Ok(found),
            Some(_) if read >= READ_BUDGET => {
                found.cursor = batch.items.last().map(|item| item.sk.clone());
                if found.cursor.is_none() {
                    // A page of expired items only: go on from where the table stopped.
                    storage_cursor = batch.cursor;
                    read = 0;
                    continue;
                }
                return Ok(found);
            }
            Some(next) => storage_cursor = Some(next),
        }
    }
}

/// Names of settings whose values are never written to the log, whatever they hold
/// (none of [`Settings`] is secret today; a future one named so stays out).
fn secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["secret", "token", "password", "credential", "api_key", "private"]
        .iter()
        .any(|word| name.contains(word))
}

/// A value as the log shows it: strings bare, the rest as JSON, cut at
/// [`VALUE_CHARS`] characters.
fn shown(value: &serde_json::Value) -> String {
    let text = match value {
        serde_json::Value::String(text) => format!("{text:?}"),
        serde_json::Value::Null => "none".to_string(),
        other => other.to_string(),
    };
    if text.chars().count() > VALUE_CHARS {
        format!("{}…", text.chars().take(VALUE_CHARS).collect::<String>())
    } else {
        text
    }
}

/// The settings that differ between `before` and `after`, by dotted path (nested
/// objects such as `inventory` compared field by field), each as
/// `path: old → new` (a secret-named setting as `path: changed`).
pub fn settings_diff(before: &Settings, after: &Settings) -> Vec<String> {
    fn walk(path: &str, before: &serde_json::Value, after: &serde_json::Value, out: &mut Vec<String>) {
        if before == after {
            return;
        }
        if let (Some(old), Some(new)) = (before.as_object(), after.as_object()) {
            let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
            names.sort();
            names.dedup();
            let null = serde_json::Value::Null;
            for name in names {
                let nested = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                walk(
                    &nested,
                    old.get(name).unwrap_or(&null),
                    new.get(name).unwrap_or(&null),
                    out,
                );
            }
            return;
        }
        if secret_name(path) {
            out.push(format!("{path}: changed"));
        } else {
            out.push(format!("{path}: {} → {}", shown(before), shown(after)));
        }
    }
    let mut out = Vec::new();
    walk("", &encode(before), &encode(after), &mut out);
    out
}

/// Writes one [`LogKind::Settings`] entry by `author` naming each changed setting
/// with its old and new value ([`settings_diff`]); nothing when nothing changed.
/// Returns whether an entry was written. Errors: the table's.
pub async fn settings_changed(
    table: &dyn Table,
    store_id: &str,
    author: &str,
    before: &Settings,
    after: &Settings,
) -> Result<bool, StorageError> {
    let changes = settings_diff(before, after);
    if changes.is_empty() {
        return Ok(false);
    }
    let summary = format!("Settings changed: {}", changes.join("; "));
    record(table, store_id, &Entry::now(LogKind::Settings, summary).by(author)).await?;
    Ok(true)
}

/// `text` with its first letter upper-case (log summaries start with a capital).
pub(crate) fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::embedded::EmbeddedTable;

    #[test]
    fn a_settings_change_names_each_changed_field_with_old_and_new() {
        let before = Settings::default();
        let mut after = before.clone();
        after.order_prefix = "TT-".into();
        after.inventory.reserve = 5;
        after.auto_create = true;
        let diff = settings_diff(&before, &after);
        assert_eq!(
            diff,
            vec![
                "auto_create: false → true".to_string(),
                "inventory.reserve: 0 → 5".to_string(),
                "order_prefix: \"\" → \"TT-\"".to_string(),
            ]
        );
        assert!(settings_diff(&before, &before).is_empty());
        assert!(secret_name("client_secret") && secret_name("access_token") && !secret_name("order_prefix"));
    }

    #[tokio::test]
    async fn entries_list_newest_first_filtered_by_kind_and_date_and_page_on() {
        let dir = tempfile::tempdir().unwrap();
        let table = EmbeddedTable::open(dir.path()).unwrap();
        let now = unix_now();
        for n in 0..120 {
            let kind = if n % 2 == 0 { LogKind::Orders } else { LogKind::Uploads };
            let entry = Entry {
                at: now - 3600 * 200 + n * 3600,
                ..Entry::now(kind, format!("entry {n}"))
            };
            record(&table, "s1", &entry).await.unwrap();
        }
        record(&table, "s2", &Entry::now(LogKind::Orders, "other store"))
            .await
            .unwrap();
        let first = page(&table, "s1", &Filter::default(), None).await.unwrap();
        assert_eq!(first.entries.len(), PAGE_SIZE);
        assert_eq!(first.entries[0].summary, "entry 119");
        let second = page(&table, "s1", &Filter::default(), first.cursor.as_deref())
            .await
            .unwrap();
        assert_eq!(second.entries[0].summary, "entry 69");
        let orders = Filter {
            kind: Some(LogKind::Orders),
            from: Some(now - 3600 * 200 + 10 * 3600),
            to: Some(now - 3600 * 200 + 20 * 3600),
        };
        let found = page(&table, "s1", &orders, None).await.unwrap();
        let names: Vec<&str> = found.entries.iter().map(|e| e.summary.as_str()).collect();
        assert_eq!(
            names,
            ["entry 20", "entry 18", "entry 16", "entry 14", "entry 12", "entry 10"]
        );
        assert!(found.cursor.is_none());
        assert!(matches!(
            page(&table, "s1", &Filter::default(), Some("STORE#s2")).await,
            Err(LogError::InvalidCursor)
        ));
    }
}
