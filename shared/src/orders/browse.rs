//! The orders screen's index: tabs by TikTok status and by sync state, a search by
//! TikTok order id, store order id or SKU, a date range, a shop, and pages,
//! each page read with one query and one read per order shown, however many orders the
//! store has.
//!
//! Two kinds of small items are derived from every order record when it is saved
//! ([`derived`]), each in a partition of its own beside the store's
//! (`STORE#<hash>#ORDERLIST`, `STORE#<hash>#ORDERFIND`), so the store's partition stays
//! small:
//! - list entries `OLIST#<facet>#<placed at, 11 digits>#<order id>` for the facets
//!   `all`, `status:<TikTok status>`, `state:<sync state>` and `shop:<id>`, holding the
//!   shop, status, state and time, so a tab is one partition range read newest first
//!   (another filter is applied as it is read), and a date range starts where it ends;
//! - search entries `OFIND#<word>#<order id>` for each SKU and the store order id,
//!   lower-cased, so a search is a prefix read (no buyer data is kept, so buyers' names
//!   are not searchable).
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

/// The query of the orders screen (`?state=&status=&q=&from=&to=&shop=&page=&after=`);
/// an empty field means "any". `from` and `to` are dates (`2026-11-29`, UTC, both
/// included); `page` counts from 1; `after` is the position the previous page ended at
/// (the "Older" link's), which reads the next page without counting the ones before.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct OrderFilter {
    /// A sync state (`created`, `error`, `parked`, `skipped`, `cancelled`).
    pub state: String,
    /// A TikTok status (`AWAITING_SHIPMENT`, …).
    pub status: String,
    /// A TikTok order id, a store order id, or the start of a SKU.
    pub q: String,
    /// First day placed.
    pub from: String,
    /// Last day placed.
    pub to: String,
    /// A shop id.
    pub shop: String,
    /// The page, from 1 (at most [`MAX_PAGE`]).
    #[serde(deserialize_with = "crate::catalog::browse::optional_number")]
    pub page: Option<usize>,
    /// Where the previous page ended ([`OrderPage::next`]).
    pub after: String,
}

/// The deepest page reached by number (100,000 orders); deeper pages are reached by
/// "Older" ([`OrderFilter::after`]).
pub const MAX_PAGE: usize = 2_000;

/// A filter the screen cannot apply, in words for the field it names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// A date that is not `YYYY-MM-DD`, in the field named.
    #[error("“{text}” is not a date (YYYY-MM-DD).")]
    Date {
        /// `from` or `to`.
        field: &'static str,
        /// What was typed.
        text: String,
    },
    /// A sync state the screen does not know.
    #[error("There is no order state “{0}”.")]
    State(String),
    /// The range ends before it starts.
    #[error("The date range ends before it starts.")]
    Range,
    /// An "Older" position that is not of this list.
    #[error("This page link is out of date; start from the first page.")]
    Position,
}

impl FilterError {
    /// The field of the filter form the error belongs next to.
    pub fn field(&self) -> &'static str {
        match self {
            FilterError::Date { field, .. } => field,
            FilterError::State(_) => "state",
            FilterError::Range | FilterError::Position => "to",
        }
    }
}

/// The start of a UTC day (`2026-11-29`) in Unix seconds. Errors:
/// [`FilterError::Date`] naming `field` when `text` is not such a date.
pub fn utc_day(field: &'static str, text: &str) -> Result<i64, FilterError> {
    let refused = || FilterError::Date {
        field,
        text: text.to_string(),
    };
    let date: jiff::civil::Date = text.trim().parse().map_err(|_| refused())?;
    let start = date.to_zoned(jiff::tz::TimeZone::UTC).map_err(|_| refused())?;
    Ok(start.timestamp().as_second())
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
    /// Placed at (Unix seconds; for an order whose TikTok time is unknown, when the
    /// connector first recorded it: [`OrderRecord::first_seen`]).
    pub placed_at: i64,
}

impl Entry {
    /// The entry of `record`: placed when TikTok says, else when first recorded.
    fn of(record: &OrderRecord) -> Self {
        let placed_at = match &record.sale {
            Some(sale) => sale.placed_at,
            None if record.first_seen > 0 => record.first_seen,
            None => record.updated_at,
        };
        Self {
            id: record.tiktok_order_id.clone(),
            shop: record.shop_id.clone(),
            status: record.tiktok_status.clone(),
            state: record.state,
            placed_at,
        }
    }

    /// Whether `record` is still what this entry lists (a save racing another may
    /// leave an entry behind until the order's next save).
    fn lists(&self, record: &OrderRecord) -> bool {
        record.shop_id == self.shop && record.tiktok_status == self.status && record.state == self.state
    }

    /// The facets it is listed under: every tab alone and with its shop.
    fn facets(&self) -> Vec<String> {
        vec![
            "all".to_string(),
            format!("status:{}", self.status),
            format!("state:{}", state_key(self.state)),
            format!("shop:{}", self.shop),
        ]
    }

    fn list_keys(&self) -> Vec<String> {
        self.facets()
            .iter()
            .map(|facet| format!("OLIST#{facet}#{:011}#{}", self.placed_at.max(0), self.id))
            .collect()
    }
}

/// The words an order is found by: each SKU and the store order id, lower-cased (the
/// connector keeps no buyer data, so buyers' names are not searchable).
fn words(record: &OrderRecord) -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    if let Some(sale) = &record.sale {
        words.extend(sale.skus.iter().map(|s| s.trim().to_lowercase()));
    }
    words.extend(record.store_order_id.iter().map(|s| s.to_lowercase()));
    words.retain(|w| !w.is_empty() && !w.contains('\0'));
    words
}

/// The partition of a store's order list entries (beside the store's own, so the
/// store's partition stays small): `STORE#<hash>#ORDERLIST`.
fn list_pk(store_pk: &str) -> String {
    format!("{store_pk}#ORDERLIST")
}

/// The partition of a store's search entries:
/// `STORE#<hash>#ORDERFIND`.
pub(crate) fn find_pk(store_pk: &str) -> String {
    format!("{store_pk}#ORDERFIND")
}

fn find_key(word: &str, order_id: &str) -> String {
    format!("OFIND#{word}#{order_id}")
}

/// The index items to write and delete when `before` becomes `after`: nothing when
/// what the index holds of the order is unchanged.
pub(super) fn derived(store_pk: &str, before: Option<&OrderRecord>, after: &OrderRecord) -> Vec<WriteOp> {
    let mut ops = Vec::new();
    let (lists, finds) = (list_pk(store_pk), find_pk(store_pk));
    let old_entry = before.map(Entry::of);
    let entry = Entry::of(after);
    if old_entry.as_ref() != Some(&entry) {
        let new_keys = entry.list_keys();
        for key in old_entry.iter().flat_map(Entry::list_keys) {
            if !new_keys.contains(&key) {
                ops.push(delete(&lists, key));
            }
        }
        let data = crate::storage::encode(&entry);
        ops.extend(new_keys.into_iter().map(|sk| WriteOp::Put {
            item: Item::new(&lists, sk, data.clone()),
            condition: Condition::None,
        }));
    }
    let new_words = words(after);
    let old_words = before.map(words).unwrap_or_default();
    if old_entry.as_ref().map(|e| e.placed_at) != Some(entry.placed_at) || new_words != old_words {
        for word in old_words.difference(&new_words) {
            ops.push(delete(&finds, find_key(word, &after.tiktok_order_id)));
        }
        let data = serde_json::json!({"id": after.tiktok_order_id, "placed_at": entry.placed_at});
        ops.extend(new_words.iter().map(|word| WriteOp::Put {
            item: Item::new(&finds, find_key(word, &after.tiktok_order_id), data.clone()),
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

/// Where indexing the records saved before the index stands (`{"cursor": …}` while
/// under way, `{"done": true}` once every record is indexed).
const INDEXED: &str = "OLIST#READY";

/// Records [`ensure_indexed`] indexes per call.
pub const INDEX_BATCH: usize = 1_000;

/// Indexes up to [`INDEX_BATCH`] of the store's order records saved before the index
/// existed, continuing where the last call stopped (later saves keep the index
/// themselves). The orders screen and the order poll call it until it is done.
/// Returns whether every record is indexed. Errors: the table's.
pub async fn ensure_indexed(table: &dyn Table, store_id: &str) -> Result<bool, StorageError> {
    let pk = accounts::store_pk(store_id);
    let progress = table.get(&list_pk(&pk), INDEXED).await?;
    if progress.as_ref().is_some_and(|p| p.data["done"] == true) {
        return Ok(true);
    }
    let cursor = progress.and_then(|p| p.data["cursor"].as_str().map(str::to_string));
    let page = table
        .query(Query::table(&pk, "ORDER#").limit(INDEX_BATCH).after(cursor))
        .await?;
    for item in &page.items {
        let record: OrderRecord = crate::storage::decode(item)?;
        for op in derived(&pk, None, &record) {
            if let WriteOp::Put { item, condition } = op {
                table.put(item, condition).await?;
            }
        }
    }
    let data = match &page.cursor {
        Some(cursor) => serde_json::json!({ "cursor": cursor }),
        None => serde_json::json!({"done": true}),
    };
    table
        .put(Item::new(list_pk(&pk), INDEXED, data), Condition::None)
        .await?;
    Ok(page.cursor.is_none())
}

/// The bounds a filter's dates set: (from, to) in Unix seconds, `to` exclusive.
fn bounds(filter: &OrderFilter) -> Result<(Option<i64>, Option<i64>), FilterError> {
    let day = |field: &'static str, text: &str| -> Result<Option<i64>, FilterError> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        utc_day(field, text).map(Some)
    };
    let from = day("from", &filter.from)?;
    let to = day("to", &filter.to)?.map(|start| start + 86_400);
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

    /// The page asked for, from 1 to [`MAX_PAGE`].
    pub fn page(&self) -> usize {
        self.page.unwrap_or(1).clamp(1, MAX_PAGE)
    }

    /// The facet read: the tab asked for, else the shop, else all (a shop within a tab
    /// is filtered as the tab's range is read).
    fn facet(&self, state: Option<SyncState>) -> String {
        match (state, self.status.trim(), self.shop.trim()) {
            (Some(state), _, _) => format!("state:{}", state_key(state)),
            (None, status, _) if !status.is_empty() => format!("status:{status}"),
            (None, _, shop) if !shop.is_empty() => format!("shop:{shop}"),
            _ => "all".to_string(),
        }
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
    /// Where the next (older) page starts, when there is one: the "Older" link's
    /// [`OrderFilter::after`].
    pub next: Option<String>,
    /// With a search: how many orders matched it, by tab (`state:<key>`,
    /// `status:<status>`, `all`); without one the store's counters are the counts.
    pub matched: Option<HashMap<String, usize>>,
    /// The search matched more than [`MAX_MATCHES`] orders: only the newest were read.
    pub truncated: bool,
    /// Orders saved before the index are still being indexed: some may be missing.
    pub indexing: bool,
}

/// The orders a filter selects, one page of them: one range read of the facet the tab
/// and shop name (from the end of the date range, or from where the previous page
/// ended), then one read per order shown. See the module doc.
pub async fn page(table: &dyn Table, store_id: &str, filter: &OrderFilter) -> Result<OrderPage, BrowseError> {
    let state = filter.state()?;
    let bounds = bounds(filter)?;
    let indexing = !ensure_indexed(table, store_id).await?;
    let page = filter.page();
    if !filter.q.trim().is_empty() {
        let mut found = searched(table, store_id, filter, state, bounds, page).await?;
        found.indexing = indexing;
        return Ok(found);
    }
    let pk = list_pk(&accounts::store_pk(store_id));
    let prefix = format!("OLIST#{}#", filter.facet(state));
    let after = filter.after.trim();
    let (mut query, mut skip) = (Query::table(&pk, &prefix).limit(1000).descending(), 0);
    if !after.is_empty() {
        if !after.starts_with(&prefix) {
            return Err(FilterError::Position.into());
        }
        query = query.below(after);
    } else {
        if let Some(to) = bounds.1 {
            query = query.below(&format!("{prefix}{to:011}"));
        }
        skip = (page - 1) * PAGE_SIZE;
    }
    let mut chosen: Vec<(String, Entry)> = Vec::new();
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
                chosen.push((item.sk.clone(), entry));
            }
        }
        match read.cursor {
            Some(next) => query = query.after(Some(next)),
            None => break,
        }
    }
    let next = more.then(|| chosen.last().map(|(sk, _)| sk.clone())).flatten();
    let entries: Vec<Entry> = chosen.into_iter().map(|(_, entry)| entry).collect();
    Ok(OrderPage {
        records: records_of(table, store_id, &entries).await?,
        page,
        next,
        matched: None,
        truncated: false,
        indexing,
    })
}

/// A search: the exact TikTok and store order ids, then the orders with a word
/// starting with each word of the query (an order must match them all), newest first;
/// at most [`MAX_MATCHES`] of the newest are read.
async fn searched(
    table: &dyn Table,
    store_id: &str,
    filter: &OrderFilter,
    state: Option<SyncState>,
    bounds: (Option<i64>, Option<i64>),
    page: usize,
) -> Result<OrderPage, BrowseError> {
    let q = filter.q.trim();
    let mut found: Vec<OrderRecord> = Vec::new();
    if let Some(record) = get_record(table, store_id, q).await? {
        found.push(record);
    }
    let mut truncated = false;
    // Order id → placed at, of the orders every word so far matched.
    let mut matches: Option<HashMap<String, i64>> = None;
    let pk = find_pk(&accounts::store_pk(store_id));
    for word in q.split_whitespace().map(str::to_lowercase) {
        let mut matching = HashMap::new();
        let mut query = Query::table(&pk, format!("OFIND#{word}")).limit(1000);
        loop {
            let read = table.query(query.clone()).await?;
            for item in &read.items {
                if let (Some(id), Some(placed_at)) = (item.data["id"].as_str(), item.data["placed_at"].as_i64()) {
                    matching.insert(id.to_string(), placed_at);
                }
            }
            match read.cursor {
                Some(next) if matching.len() < MAX_SCANNED => query = query.after(Some(next)),
                Some(_) => {
                    truncated = true;
                    break;
                }
                None => break,
            }
        }
        matches = Some(match matches {
            None => matching,
            Some(kept) => kept.into_iter().filter(|(id, _)| matching.contains_key(id)).collect(),
        });
    }
    let mut newest: Vec<(String, i64)> = matches
        .unwrap_or_default()
        .into_iter()
        .filter(|(id, _)| found.iter().all(|r| &r.tiktok_order_id != id))
        .collect();
    newest.sort_by_key(|(_, placed_at)| std::cmp::Reverse(*placed_at));
    truncated |= newest.len() > MAX_MATCHES;
    newest.truncate(MAX_MATCHES);
    let reads = newest.iter().map(|(id, _)| get_record(table, store_id, id));
    for record in futures_util::future::join_all(reads).await {
        found.extend(record?);
    }
    if found.is_empty()
        && let Some(record) = record_of_store_order(table, store_id, q).await?
    {
        found.push(record);
    }
    let mut matched: HashMap<String, usize> = HashMap::new();
    let mut shown: Vec<(i64, OrderRecord)> = Vec::new();
    // Counted by tab: the tab itself is left out of what counts.
    let others = OrderFilter {
        state: String::new(),
        status: String::new(),
        ..filter.clone()
    };
    for record in found {
        let entry = Entry::of(&record);
        if others.keeps(&entry, None, bounds) {
            *matched.entry("all".into()).or_default() += 1;
            *matched.entry(format!("state:{}", state_key(entry.state))).or_default() += 1;
            *matched.entry(format!("status:{}", entry.status)).or_default() += 1;
        }
        if filter.keeps(&entry, state, bounds) {
            shown.push((entry.placed_at, record));
        }
    }
    shown.sort_by_key(|(placed_at, _)| std::cmp::Reverse(*placed_at));
    let skip = (page - 1) * PAGE_SIZE;
    let more = shown.len() > skip + PAGE_SIZE;
    let records = shown.into_iter().skip(skip).take(PAGE_SIZE).map(|(_, r)| r).collect();
    Ok(OrderPage {
        records,
        page,
        // Search pages go by number: they hold at most MAX_MATCHES orders.
        next: more.then(String::new),
        matched: Some(matched),
        truncated,
        indexing: false,
    })
}

/// The most search entries one word reads before the search counts as truncated.
const MAX_SCANNED: usize = 10 * MAX_MATCHES;

/// The records of `entries`, in order, leaving out any an entry no longer lists (a
/// save that raced another left it behind).
async fn records_of(table: &dyn Table, store_id: &str, entries: &[Entry]) -> Result<Vec<OrderRecord>, StorageError> {
    let reads = entries.iter().map(|e| get_record(table, store_id, &e.id));
    let mut records = Vec::new();
    for (entry, record) in entries.iter().zip(futures_util::future::join_all(reads).await) {
        records.extend(record?.filter(|r| entry.lists(r)));
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
            first_seen: 0,
            sale: Some(Sale {
                placed_at: NOV_1 + n as i64 * 3600,
                total: Decimal::new(1350, 2),
                currency: "USD".into(),
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
        (
            page.records.into_iter().map(|r| r.tiktok_order_id).collect(),
            page.next.is_some(),
        )
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

        // "Older" continues where the page ended, however deep.
        let mut walked: Vec<String> = Vec::new();
        let mut query = "shop=us".to_string();
        loop {
            let listed = page(&table, STORE, &filter(&query)).await.unwrap();
            walked.extend(listed.records.iter().map(|r| r.tiktok_order_id.clone()));
            match listed.next {
                Some(after) => {
                    query = format!(
                        "shop=us&after={}",
                        url::form_urlencoded::byte_serialize(after.as_bytes()).collect::<String>()
                    )
                }
                None => break,
            }
        }
        let expected: Vec<String> = (0..120)
            .rev()
            .filter(|n| n % 2 == 0)
            .map(|n| record(n).tiktok_order_id)
            .collect();
        assert_eq!(walked, expected, "every US order once, newest first");
        assert!(matches!(
            page(&table, STORE, &filter("state=error&after=OLIST%23all%2300000000001")).await,
            Err(BrowseError::Filter(FilterError::Position))
        ));

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
        // An entry a racing save left behind lists nothing.
        let stale = Entry::of(&record(0));
        let stale_key = stale
            .list_keys()
            .into_iter()
            .find(|k| k.starts_with("OLIST#status:AWAITING"))
            .unwrap();
        let item = Item::new(
            list_pk(&accounts::store_pk(STORE)),
            stale_key,
            crate::storage::encode(&stale),
        );
        table.put(item, Condition::None).await.unwrap();
        assert!(ids(&table, "status=AWAITING_SHIPMENT").await.0.is_empty());

        // An order with no TikTok time keeps the time it was first recorded.
        let mut timeless = record(1);
        timeless.sale = None;
        save_record(&table, STORE, timeless.clone()).await.unwrap();
        let keys = async || {
            let entries = table
                .query(Query::table(
                    list_pk(&accounts::store_pk(STORE)),
                    "OLIST#status:IN_TRANSIT#",
                ))
                .await
                .unwrap();
            entries.items.into_iter().map(|i| i.sk).collect::<Vec<_>>()
        };
        let first = keys().await;
        assert_eq!(first.len(), 1);
        for change in ["changed", "changed again"] {
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
            timeless = get_record(&table, STORE, &timeless.tiktok_order_id)
                .await
                .unwrap()
                .unwrap();
            timeless.reason = Some(change.into());
            save_record(&table, STORE, timeless.clone()).await.unwrap();
            assert_eq!(keys().await, first, "the entry does not move");
        }

        // A record saved before the index: only the record, no entries, no marker.
        let old = record(1);
        let pk = accounts::store_pk("s2");
        let item = Item::new(
            &pk,
            format!("ORDER#{}", old.tiktok_order_id),
            crate::storage::encode(&old),
        );
        table.put(item, Condition::None).await.unwrap();
        assert!(ensure_indexed(&table, "s2").await.unwrap(), "one batch indexes it");
        assert!(ensure_indexed(&table, "s2").await.unwrap(), "and stays done");
        let listed = page(&table, "s2", &OrderFilter::default()).await.unwrap();
        assert_eq!(listed.records, vec![old]);
    }
}
