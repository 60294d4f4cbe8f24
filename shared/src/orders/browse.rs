//! The orders screen's index: tabs by TikTok status and by sync state, a search by
//! TikTok order id, store order id, buyer name or SKU, a date range, a shop, and pages,
//! each page read with one query and one read per order shown, however many orders the
//! store has.
//!
//! Two kinds of small items are derived from every order record when it is saved
//! ([`derived`]):
//! - list entries `OLIST#<facet>#<placed at, 11 digits>#<order id>` for the facets
//!   `all`, `status:<TikTok status>` and `state:<sync state>`, holding the shop, status,
//!   state and time, so a tab is one partition range read newest first, and a date range
//!   starts where it ends;
//! - search entries `OFIND#<word>#<order id>` for each word of the buyer's name, each
//!   SKU and the store order id, lower-cased, so a search is a prefix read.
//!
//! Records saved before the index existed are indexed the first time the screen is
//! opened ([`ensure_indexed`]).

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::{OrderRecord, SyncState, get_record, record_of_store_order, state_key};
use crate::accounts;
use crate::storage::{Condition, Item, Query, StorageError, Table, WriteOp};

/// Orders per page.
pub const PAGE_SIZE: usize = 50;

/// The most matches a search reads before it asks for a narrower one.
pub const MAX_MATCHES: usize = 500;

/// The TikTok status tabs, in order: (TikTok's status, the merchant's words).
pub const STATUS_TABS: [(&str, &str); 6] = [
    ("AWAITING_SHIPMENT", "Awaiting shipment"),
    ("AWAITING_COLLECTION", "Awaiting collection"),
    ("IN_TRANSIT", "In transit"),
    ("DELIVERED", "Delivered"),
    ("COMPLETED", "Completed"),
    ("CANCELLED", "Cancelled"),
];

/// The sync-state tabs, in order, with the merchant's words.
pub const STATE_TABS: [(SyncState, &str); 4] = [
    (SyncState::Created, "In the store"),
    (SyncState::Error, "Error"),
    (SyncState::Parked, "Needs attention"),
    (SyncState::Skipped, "Skipped"),
];

/// A TikTok order status in the merchant's words (the status itself when TikTok sends
/// one this list does not know).
pub fn status_words(status: &str) -> String {
    let known = [
        ("UNPAID", "Unpaid"),
        ("ON_HOLD", "On hold"),
        ("PARTIALLY_SHIPPING", "Partially shipped"),
    ];
    STATUS_TABS
        .iter()
        .chain(known.iter())
        .find(|(key, _)| *key == status)
        .map_or_else(
            || {
                if status.is_empty() {
                    "Unknown".to_string()
                } else {
                    status.to_string()
                }
            },
            |(_, words)| words.to_string(),
        )
}

/// The query of the orders screen (`?state=&status=&q=&from=&to=&shop=&page=`); an
/// empty field means "any". `from` and `to` are dates (`2026-11-29`, UTC, both
/// included); `page` counts from 1.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct OrderFilter {
    /// A sync state (`created`, `error`, `parked`, `skipped`, `cancelled`).
    pub state: String,
    /// A TikTok status (`AWAITING_SHIPMENT`, …).
    pub status: String,
    /// A TikTok order id, a store order id, or the start of a buyer's name or a SKU.
    pub q: String,
    /// First day placed.
    pub from: String,
    /// Last day placed.
    pub to: String,
    /// A shop id.
    pub shop: String,
    /// The page, from 1.
    #[serde(deserialize_with = "crate::catalog::browse::optional_number")]
    pub page: Option<usize>,
}

/// A filter the screen cannot apply, in words for the field it names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// A date that is not `YYYY-MM-DD`.
    #[error("“{0}” is not a date (YYYY-MM-DD).")]
    Date(String),
    /// A sync state the screen does not know.
    #[error("There is no order state “{0}”.")]
    State(String),
    /// The range ends before it starts.
    #[error("The date range ends before it starts.")]
    Range,
}

/// One order as the index lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// TikTok order id.
    pub id: String,
    /// Shop.
    pub shop: String,
    /// TikTok status.
    pub status: String,
    /// Sync state.
    pub state: SyncState,
    /// Placed at (Unix seconds; the record's last change when TikTok's time is unknown).
    pub placed_at: i64,
}

impl Entry {
    fn of(record: &OrderRecord) -> Self {
        Self {
            id: record.tiktok_order_id.clone(),
            shop: record.shop_id.clone(),
            status: record.tiktok_status.clone(),
            state: record.state,
            placed_at: record.sale.as_ref().map_or(record.updated_at, |s| s.placed_at),
        }
    }

    fn list_keys(&self) -> Vec<String> {
        let facets = [
            "all".to_string(),
            format!("status:{}", self.status),
            format!("state:{}", state_key(self.state)),
        ];
        facets
            .iter()
            .map(|facet| format!("OLIST#{facet}#{:011}#{}", self.placed_at.max(0), self.id))
            .collect()
    }
}

/// The words an order is found by: each word of the buyer's name, each SKU and the
/// store order id, lower-cased.
fn words(record: &OrderRecord) -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    if let Some(sale) = &record.sale {
        words.extend(sale.buyer.split_whitespace().map(str::to_lowercase));
        words.extend(sale.skus.iter().map(|s| s.trim().to_lowercase()));
    }
    words.extend(record.store_order_id.iter().map(|s| s.to_lowercase()));
    words.retain(|w| !w.is_empty() && !w.contains('\0'));
    words
}

fn find_key(word: &str, order_id: &str) -> String {
    format!("OFIND#{word}#{order_id}")
}

/// The index items to write and delete when `before` becomes `after`: nothing when
/// what the index holds of the order is unchanged.
pub(super) fn derived(pk: &str, before: Option<&OrderRecord>, after: &OrderRecord) -> Vec<WriteOp> {
    let mut ops = Vec::new();
    let entry = Entry::of(after);
    let old_entry = before.map(Entry::of);
    if old_entry.as_ref() != Some(&entry) {
        let new_keys = entry.list_keys();
        for key in old_entry.iter().flat_map(Entry::list_keys) {
            if !new_keys.contains(&key) {
                ops.push(delete(pk, key));
            }
        }
        let data = crate::storage::encode(&entry);
        ops.extend(new_keys.into_iter().map(|sk| WriteOp::Put {
            item: Item::new(pk, sk, data.clone()),
            condition: Condition::None,
        }));
    }
    let new_words = words(after);
    let old_words = before.map(words).unwrap_or_default();
    if old_entry.as_ref().map(|e| e.placed_at) != Some(entry.placed_at) || new_words != old_words {
        for word in old_words.difference(&new_words) {
            ops.push(delete(pk, find_key(word, &after.tiktok_order_id)));
        }
        let data = serde_json::json!({"id": after.tiktok_order_id, "placed_at": entry.placed_at});
        ops.extend(new_words.iter().map(|word| WriteOp::Put {
            item: Item::new(pk, find_key(word, &after.tiktok_order_id), data.clone()),
            condition: Condition::None,
        }));
    }
    ops
}

fn delete(pk: &str, sk: String) -> WriteOp {
    WriteOp::Delete {
        pk: pk.to_string(),
        sk,
        condition: Condition::None,
    }
}

/// The marker saying a store's records are all indexed.
const INDEXED: &str = "OLIST#READY";

/// Indexes the store's order records saved before the index existed, once: later saves
/// keep the index themselves. Returns how many records it indexed (0 once done).
pub async fn ensure_indexed(table: &dyn Table, store_hash: &str) -> Result<usize, StorageError> {
    let pk = accounts::store_pk(store_hash);
    if table.get(&pk, INDEXED).await?.is_some() {
        return Ok(0);
    }
    let records = super::all_records(table, store_hash).await?;
    for record in &records {
        for op in derived(&pk, None, record) {
            if let WriteOp::Put { item, condition } = op {
                table.put(item, condition).await?;
            }
        }
    }
    table
        .put(Item::new(&pk, INDEXED, serde_json::json!({})), Condition::None)
        .await?;
    Ok(records.len())
}

/// The bounds a filter's dates set: (from, to) in Unix seconds, `to` exclusive.
fn bounds(filter: &OrderFilter) -> Result<(Option<i64>, Option<i64>), FilterError> {
    let day = |text: &str| -> Result<Option<i64>, FilterError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let date: jiff::civil::Date = text.parse().map_err(|_| FilterError::Date(text.to_string()))?;
        let start = date
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map_err(|_| FilterError::Date(text.to_string()))?;
        Ok(Some(start.timestamp().as_second()))
    };
    let from = day(&filter.from)?;
    let to = day(&filter.to)?.map(|start| start + 86_400);
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        return Err(FilterError::Range);
    }
    Ok((from, to))
}

impl OrderFilter {
    /// The sync state asked for, if any.
    pub fn state(&self) -> Result<Option<SyncState>, FilterError> {
        let text = self.state.trim();
        if text.is_empty() {
            return Ok(None);
        }
        serde_json::from_value(serde_json::Value::String(text.to_string()))
            .map(Some)
            .map_err(|_| FilterError::State(text.to_string()))
    }

    /// The page asked for, from 1.
    pub fn page(&self) -> usize {
        self.page.unwrap_or(1).max(1)
    }

    fn keeps(&self, entry: &Entry, state: Option<SyncState>, (from, to): (Option<i64>, Option<i64>)) -> bool {
        let shop = self.shop.trim();
        let status = self.status.trim();
        (shop.is_empty() || entry.shop == shop)
            && (status.is_empty() || entry.status == status)
            && state.is_none_or(|s| entry.state == s)
            && from.is_none_or(|from| entry.placed_at >= from)
            && to.is_none_or(|to| entry.placed_at < to)
    }
}

/// One page of the orders screen.
#[derive(Debug, Clone, Default)]
pub struct OrderPage {
    /// The orders shown, newest first.
    pub records: Vec<OrderRecord>,
    /// The page shown, from 1.
    pub page: usize,
    /// Whether an older page follows.
    pub more: bool,
    /// With a search: how many orders matched it, by tab (`state:<key>`,
    /// `status:<status>`, `all`); without one the store's counters are the counts.
    pub matched: Option<HashMap<String, usize>>,
    /// The search matched more than [`MAX_MATCHES`] orders: only those were read.
    pub truncated: bool,
}

/// The orders a filter selects, one page of them (see the module doc for the reads).
pub async fn page(table: &dyn Table, store_hash: &str, filter: &OrderFilter) -> Result<OrderPage, BrowseError> {
    let state = filter.state()?;
    let bounds = bounds(filter)?;
    ensure_indexed(table, store_hash).await?;
    let page = filter.page();
    let skip = (page - 1) * PAGE_SIZE;
    if !filter.q.trim().is_empty() {
        return searched(table, store_hash, filter, state, bounds, page).await;
    }
    let facet = match state {
        Some(state) => format!("state:{}", state_key(state)),
        None if !filter.status.trim().is_empty() => format!("status:{}", filter.status.trim()),
        None => "all".to_string(),
    };
    let pk = accounts::store_pk(store_hash);
    let prefix = format!("OLIST#{facet}#");
    let mut query = Query::table(&pk, &prefix).limit(1000).descending();
    if let Some(to) = bounds.1 {
        query = query.below(&format!("{prefix}{to:011}"));
    }
    let mut chosen: Vec<Entry> = Vec::new();
    let mut seen = 0;
    let mut more = false;
    'read: loop {
        let read = table.query(query.clone()).await?;
        for item in &read.items {
            let entry: Entry = crate::storage::decode(item)?;
            if bounds.0.is_some_and(|from| entry.placed_at < from) {
                break 'read;
            }
            if !filter.keeps(&entry, state, bounds) {
                continue;
            }
            seen += 1;
            if seen > skip + PAGE_SIZE {
                more = true;
                break 'read;
            }
            if seen > skip {
                chosen.push(entry);
            }
        }
        match read.cursor {
            Some(next) => query = query.after(Some(next)),
            None => break,
        }
    }
    Ok(OrderPage {
        records: records_of(table, store_hash, &chosen).await?,
        page,
        more,
        matched: None,
        truncated: false,
    })
}

/// A search: exact TikTok and store order ids, then words that start with each word
/// of the query (an order must match them all), newest first.
async fn searched(
    table: &dyn Table,
    store_hash: &str,
    filter: &OrderFilter,
    state: Option<SyncState>,
    bounds: (Option<i64>, Option<i64>),
    page: usize,
) -> Result<OrderPage, BrowseError> {
    let q = filter.q.trim();
    let mut found: Vec<OrderRecord> = Vec::new();
    if let Some(record) = get_record(table, store_hash, q).await? {
        found.push(record);
    }
    let mut truncated = false;
    let mut ids: Option<BTreeSet<String>> = None;
    let pk = accounts::store_pk(store_hash);
    for word in q.split_whitespace().map(str::to_lowercase) {
        let mut matching = BTreeSet::new();
        let mut query = Query::table(&pk, format!("OFIND#{word}")).limit(1000);
        loop {
            let read = table.query(query.clone()).await?;
            for item in &read.items {
                if let Some(id) = item.data["id"].as_str() {
                    matching.insert(id.to_string());
                }
            }
            match read.cursor {
                Some(next) if matching.len() < MAX_MATCHES => query = query.after(Some(next)),
                Some(_) => {
                    truncated = true;
                    break;
                }
                None => break,
            }
        }
        ids = Some(match ids {
            None => matching,
            Some(ids) => ids.intersection(&matching).cloned().collect(),
        });
    }
    let ids: Vec<String> = ids
        .unwrap_or_default()
        .into_iter()
        .filter(|id| found.iter().all(|r| &r.tiktok_order_id != id))
        .take(MAX_MATCHES)
        .collect();
    let reads = ids.iter().map(|id| get_record(table, store_hash, id));
    for record in futures_util::future::join_all(reads).await {
        found.extend(record?);
    }
    if found.is_empty()
        && let Some(record) = record_of_store_order(table, store_hash, q).await?
    {
        found.push(record);
    }
    let mut matched: HashMap<String, usize> = HashMap::new();
    let mut shown: Vec<OrderRecord> = Vec::new();
    for record in found {
        let entry = Entry::of(&record);
        // Counted by tab: the tab itself is left out of what counts.
        let others = OrderFilter {
            state: String::new(),
            status: String::new(),
            ..filter.clone()
        };
        if others.keeps(&entry, None, bounds) {
            *matched.entry("all".into()).or_default() += 1;
            *matched.entry(format!("state:{}", state_key(entry.state))).or_default() += 1;
            *matched.entry(format!("status:{}", entry.status)).or_default() += 1;
        }
        if filter.keeps(&entry, state, bounds) {
            shown.push(record);
        }
    }
    shown.sort_by_key(|r| std::cmp::Reverse(Entry::of(r).placed_at));
    let skip = (page - 1) * PAGE_SIZE;
    let more = shown.len() > skip + PAGE_SIZE;
    let records = shown.into_iter().skip(skip).take(PAGE_SIZE).collect();
    Ok(OrderPage {
        records,
        page,
        more,
        matched: Some(matched),
        truncated,
    })
}

async fn records_of(table: &dyn Table, store_hash: &str, entries: &[Entry]) -> Result<Vec<OrderRecord>, StorageError> {
    let reads = entries.iter().map(|e| get_record(table, store_hash, &e.id));
    let mut records = Vec::new();
    for record in futures_util::future::join_all(reads).await {
        records.extend(record?);
    }
    Ok(records)
}

/// Why the orders screen could not list orders.
#[derive(Debug, thiserror::Error)]
pub enum BrowseError {
    /// A filter field the screen cannot apply.
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// The table failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::orders::{Sale, save_record};
    use crate::storage::embedded::EmbeddedTable;

    const STORE: &str = "s1";
    /// 2026-11-01T00:00:00Z.
    const NOV_1: i64 = 1_793_491_200;

    fn record(n: usize) -> OrderRecord {
        let (state, status) = match n % 4 {
            0 => (SyncState::Error, "AWAITING_SHIPMENT"),
            1 => (SyncState::Created, "IN_TRANSIT"),
            2 => (SyncState::Created, "DELIVERED"),
            _ => (SyncState::Skipped, "AWAITING_SHIPMENT"),
        };
        OrderRecord {
            tiktok_order_id: format!("5764614130387{n:05}"),
            shop_id: if n % 2 == 0 { "us".into() } else { "gb".into() },
            state,
            store_order_id: (state == SyncState::Created).then(|| format!("{}", 10_000 + n)),
            reason: None,
            tiktok_status: status.into(),
            updated_at: 0,
            attempts: 0,
            address_fingerprint: None,
            // One order an hour from November 1st.
            sale: Some(Sale {
                placed_at: NOV_1 + n as i64 * 3600,
                total: Decimal::new(1350, 2),
                currency: "USD".into(),
                buyer: if n == 7 {
                    "Ada Lovelace".into()
                } else {
                    format!("Buyer {n}")
                },
                skus: vec![format!("SKU-{}", n % 10)],
                units: 1,
            }),
        }
    }

    fn filter(query: &str) -> OrderFilter {
        serde_json::from_value(serde_json::Value::Object(
            url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
                .collect(),
        ))
        .unwrap()
    }

    async fn ids(table: &dyn Table, query: &str) -> (Vec<String>, bool) {
        let page = page(table, STORE, &filter(query)).await.unwrap();
        (page.records.into_iter().map(|r| r.tiktok_order_id).collect(), page.more)
    }

    #[tokio::test]
    async fn tabs_dates_shops_searches_and_pages_read_the_index_newest_first() {
        let table = EmbeddedTable::in_memory().unwrap();
        for n in 0..120 {
            save_record(&table, STORE, record(n)).await.unwrap();
        }
        let (first, more) = ids(&table, "").await;
        assert_eq!((first.len(), more), (PAGE_SIZE, true));
        assert_eq!(first[0], record(119).tiktok_order_id, "newest first");
        let (third, more) = ids(&table, "page=3").await;
        assert_eq!((third.len(), more), (20, false));
        assert_eq!(third.last().unwrap(), &record(0).tiktok_order_id);

        let (errors, _) = ids(&table, "state=error").await;
        assert_eq!(errors.len(), 30);
        let (transit_gb, _) = ids(&table, "status=IN_TRANSIT&shop=gb").await;
        assert_eq!(transit_gb.len(), 30, "IN_TRANSIT orders are all odd: gb");
        assert!(ids(&table, "status=IN_TRANSIT&shop=us").await.0.is_empty());

        // November 2nd (UTC), both ends included: orders 24 to 47.
        let (day, _) = ids(&table, "from=2026-11-02&to=2026-11-02").await;
        assert_eq!(day.len(), 24);
        assert_eq!(
            (day.first().unwrap(), day.last().unwrap()),
            (&record(47).tiktok_order_id, &record(24).tiktok_order_id)
        );
        let (errors_that_day, _) = ids(&table, "state=error&from=2026-11-02&to=2026-11-02").await;
        assert_eq!(errors_that_day.len(), 6);

        assert_eq!(ids(&table, "q=lovelace").await.0, vec![record(7).tiktok_order_id]);
        assert_eq!(
            ids(&table, "q=ada lov").await.0,
            vec![record(7).tiktok_order_id],
            "every word starts one"
        );
        assert_eq!(ids(&table, "q=SKU-3").await.0.len(), 12);
        assert_eq!(
            ids(&table, "q=10005").await.0,
            vec![record(5).tiktok_order_id],
            "store order id"
        );
        let exact = record(8).tiktok_order_id;
        assert_eq!(ids(&table, &format!("q={exact}")).await.0, vec![exact.clone()]);
        let searched = page(&table, STORE, &filter("q=SKU-3&state=created")).await.unwrap();
        assert_eq!(searched.records.len(), 6);
        let counts = searched.matched.unwrap();
        assert_eq!(
            (counts["all"], counts["state:created"], counts["state:skipped"]),
            (12, 6, 6)
        );

        assert_eq!(
            page(&table, STORE, &filter("from=2026-13-01"))
                .await
                .unwrap_err()
                .to_string(),
            "“2026-13-01” is not a date (YYYY-MM-DD)."
        );
        assert!(matches!(
            page(&table, STORE, &filter("from=2026-11-03&to=2026-11-02")).await,
            Err(BrowseError::Filter(FilterError::Range))
        ));
    }

    #[tokio::test]
    async fn a_status_change_moves_an_order_between_tabs_and_old_records_are_indexed_once() {
        let table = EmbeddedTable::in_memory().unwrap();
        let mut order = record(0);
        save_record(&table, STORE, order.clone()).await.unwrap();
        order.tiktok_status = "CANCELLED".into();
        order.state = SyncState::Cancelled;
        save_record(&table, STORE, order.clone()).await.unwrap();
        assert!(ids(&table, "status=AWAITING_SHIPMENT").await.0.is_empty());
        assert!(ids(&table, "state=error").await.0.is_empty());
        assert_eq!(ids(&table, "status=CANCELLED").await.0.len(), 1);
        assert_eq!(ids(&table, "").await.0.len(), 1, "one entry in All");

        // A record saved before the index: only the record, no entries, no marker.
        let old = record(1);
        let pk = accounts::store_pk("s2");
        let item = Item::new(
            &pk,
            format!("ORDER#{}", old.tiktok_order_id),
            crate::storage::encode(&old),
        );
        table.put(item, Condition::None).await.unwrap();
        assert_eq!(ensure_indexed(&table, "s2").await.unwrap(), 1);
        assert_eq!(ensure_indexed(&table, "s2").await.unwrap(), 0, "once");
        let listed = page(&table, "s2", &OrderFilter::default()).await.unwrap();
        assert_eq!(listed.records, vec![old]);
    }
}
