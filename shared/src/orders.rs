//! Order sync: every paid TikTok order becomes exactly one store order, and store
//! shipments and cancellations go back to TikTok.
//!
//! Exactly once: a create runs under an idempotency claim on the TikTok order id, and
//! before creating it looks the store order up by its external order id; a worker that
//! crashed after creating but before saving the mapping is taken over once its lease
//! runs out, finds the order, and saves the mapping. Orders that cannot be created
//! (an SKU not linked) are parked as *Error* with the reason, never half-created.

pub mod actions;
pub mod browse;
mod carriers;
pub mod money;
pub mod timeline;

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::accounts::{self, ShopRecord, StoreRecord};
use crate::app::App;
use crate::catalog::records;
use crate::queue::{Job, JobError, JobKind};
use crate::shops::{ShopError, with_shop};
use crate::storage::idempotency::{self, Claim};
use crate::storage::{
    Condition, Item, Query, StorageError, Table, WriteOp, add_counts, counters, put_counted, unix_now,
};
use crate::store::{Address, NewOrder, NewOrderLine, StoreEvent, StorePlatform};
use crate::tiktok::client::Shipped;
use crate::tiktok::model::{MarkShipped, Order, OrderSearch};
use crate::tiktok::types::{Id, OrderStatus};
use timeline::EventKind;

/// Where an order stands in the connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// The store order exists.
    Created,
    /// Not created; see the reason (retried by the sweeper).
    Error,
    /// Not imported by the settings (unpaid, sample, FBT, …).
    Skipped,
    /// Cancelled in the store after TikTok cancelled it.
    Cancelled,
    /// Failed every automatic retry; waits for the merchant's Retry.
    Parked,
}

/// The record of one TikTok order (`ORDER#<tiktok order id>`, indexed by store order id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRecord {
    /// TikTok order id.
    pub tiktok_order_id: String,
    /// Shop.
    pub shop_id: String,
    /// State.
    pub state: SyncState,
    /// Store order id, once created.
    pub store_order_id: Option<String>,
    /// Why it is not created, in words.
    pub reason: Option<String>,
    /// TikTok status last seen.
    pub tiktok_status: String,
    /// Last change (Unix seconds).
    pub updated_at: i64,
    /// Automatic retries so far.
    #[serde(default)]
    pub attempts: u32,
    /// Fingerprint of the shipping address last written to the store order, so a
    /// TikTok address change (webhook or poll) is applied once.
    #[serde(default)]
    pub address_fingerprint: Option<String>,
    /// What the buyer paid and when the order was placed (records saved before this
    /// was kept have none).
    #[serde(default)]
    pub sale: Option<Sale>,
    /// When the connector first recorded the order (Unix seconds; 0 until saved): the
    /// orders screen's time for an order whose TikTok time is unknown.
    #[serde(default)]
    pub first_seen: i64,
}

/// A TikTok order's sale as the dashboard counts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sale {
    /// When the buyer placed it (Unix seconds, TikTok's `create_time`).
    pub placed_at: i64,
    /// `payment.total_amount`, in `currency`.
    pub total: rust_decimal::Decimal,
    /// ISO 4217 code.
    pub currency: String,
    /// The seller SKUs ordered, each once, in order.
    #[serde(default)]
    pub skus: Vec<String>,
    /// Units ordered (TikTok has one line item per unit).
    #[serde(default)]
    pub units: u32,
}

impl Sale {
    /// The sale of a TikTok order.
    pub fn of(order: &Order) -> Self {
        let mut skus: Vec<String> = Vec::new();
        for line in &order.line_items {
            if !line.seller_sku.is_empty() && !skus.contains(&line.seller_sku) {
                skus.push(line.seller_sku.clone());
            }
        }
        Self {
            placed_at: order.create_time,
            total: order.payment.total_amount.0,
            currency: order.payment.currency.clone(),
            skus,
            units: u32::try_from(order.line_items.len()).unwrap_or(u32::MAX),
        }
    }
}

fn record_item(store_id: &str, record: &OrderRecord) -> Item {
    let item = Item::new(
        accounts::store_pk(store_id),
        format!("ORDER#{}", record.tiktok_order_id),
        serde_json::to_value(record).expect("records serialize"),
    );
    match (&record.store_order_id, record.state) {
        (Some(id), _) => item.with_index(format!("BCORDER#{store_id}#{id}"), "ORDER"),
        // A sparse index of the orders the sweeper retries.
        (None, SyncState::Error) => item.with_index("ORDERERRORS", format!("{store_id}#{}", record.tiktok_order_id)),
        (None, _) => item,
    }
}

/// The record of a TikTok order.
pub async fn get_record(
    table: &dyn Table,
    store_id: &str,
    tiktok_order_id: &str,
) -> Result<Option<OrderRecord>, StorageError> {
    let item = table
        .get(&accounts::store_pk(store_id), &format!("ORDER#{tiktok_order_id}"))
        .await?;
    item.map(|i| {
        serde_json::from_value(i.data).map_err(|e| StorageError::Corrupt {
            pk: i.pk,
            sk: i.sk,
            reason: e.to_string(),
        })
    })
    .transpose()
}

/// Saves an order record, stamped with the time it changed (and first seen, the first
/// time), with its counters, list index and search words kept in step. Errors: the table's.
pub async fn save_record(table: &dyn Table, store_id: &str, mut record: OrderRecord) -> Result<(), StorageError> {
    record.updated_at = unix_now();
    if record.first_seen == 0 {
        record.first_seen = record.updated_at;
    }
    let pk = accounts::store_pk(store_id);
    put_counted(table, record_item(store_id, &record), Vec::new(), |stored| {
        let before: Option<OrderRecord> = stored.and_then(|i| serde_json::from_value(i.data.clone()).ok());
        counted(&pk, before.as_ref(), &record)
    })
    .await
}

/// The store's order counters: `state:<sync state>`, `status:<TikTok status>` and
/// `waiting:<shop id>` (orders in error or needing attention).
const ORDER_COUNTS: &str = "COUNTS#ORDERS";

/// The counters an order record counts in.
fn counted_in(record: &OrderRecord) -> Vec<String> {
    let mut names = vec![format!("state:{}", state_key(record.state))];
    if !record.tiktok_status.is_empty() {
        names.push(format!("status:{}", record.tiktok_status));
    }
    if matches!(record.state, SyncState::Error | SyncState::Parked) {
        names.push(format!("waiting:{}", record.shop_id));
    }
    names
}

/// A sync state's key (`created`, `error`, …), as counters and the orders screen's
/// `?state=` spell it.
pub fn state_key(state: SyncState) -> String {
    crate::storage::serde_name(&state)
}

/// The periods gross sales are counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SalesPeriod {
    /// UTC days (`SALES#2026-11-29`).
    #[default]
    Day,
    /// Weeks from Monday, UTC (`SALES#W2918`: weeks since the Monday before 1970-01-01).
    Week,
    /// UTC calendar months (`SALES#M2026-11`).
    Month,
}

impl SalesPeriod {
    /// Every period, in the order the dashboard offers them.
    pub const ALL: [SalesPeriod; 3] = [SalesPeriod::Day, SalesPeriod::Week, SalesPeriod::Month];

    /// How many of them the dashboard's chart shows.
    pub fn shown(self) -> i64 {
        match self {
            SalesPeriod::Day => 30,
            SalesPeriod::Week | SalesPeriod::Month => 12,
        }
    }

    /// The key of the period holding `at` (Unix seconds), with its label
    /// (`11-29`, the week's Monday `11-23`, `2026-11`).
    fn of(self, at: i64) -> (String, String) {
        let day = at.div_euclid(86_400);
        let date = |day: i64| {
            jiff::Timestamp::from_second(day * 86_400)
                .map_or_else(|_| "invalid".to_string(), |t| t.strftime("%Y-%m-%d").to_string())
        };
        match self {
            SalesPeriod::Day => (format!("SALES#{}", date(day)), date(day)[5..].to_string()),
            SalesPeriod::Week => {
                // 1970-01-01 was a Thursday: day + 3 counts from the Monday before it.
                let week = (day + 3).div_euclid(7);
                (format!("SALES#W{week}"), date(week * 7 - 3)[5..].to_string())
            }
            SalesPeriod::Month => {
                let month = date(day)[..7].to_string();
                (format!("SALES#M{month}"), month)
            }
        }
    }

    /// The [`SalesPeriod::shown`] periods up to the one holding `now`, oldest first,
    /// each as (key, label).
    fn last(self, now: i64) -> Vec<(String, String)> {
        let mut periods: Vec<(String, String)> = Vec::new();
        let mut at = now;
        while (periods.len() as i64) < self.shown() {
            let period = self.of(at);
            if periods.last() != Some(&period) {
                periods.push(period);
            }
            at -= 86_400;
        }
        periods.reverse();
        periods
    }
}

/// The counter changes of replacing `before` by `after`: out of the old counters into
/// the new ones, and the sale onto its month item (see [`sale_keys`]) the first time
/// the record carries it.
fn counted(pk: &str, before: Option<&OrderRecord>, after: &OrderRecord) -> Vec<WriteOp> {
    let out = before.map(counted_in).unwrap_or_default().into_iter().map(|n| (n, -1));
    let into = counted_in(after).into_iter().map(|n| (n, 1));
    let mut ops: Vec<WriteOp> = add_counts(pk, ORDER_COUNTS, out.chain(into)).into_iter().collect();
    ops.extend(browse::derived(pk, before, after));
    if let Some(sale) = &after.sale
        && before.is_none_or(|b| b.sale.is_none())
    {
        let hundredths = (sale.total * rust_decimal::Decimal::ONE_HUNDRED).round();
        let hundredths = rust_decimal::prelude::ToPrimitive::to_i64(&hundredths).unwrap_or(0);
        let (month, day) = sale_keys(sale.placed_at);
        let currency = sale.currency.clone();
        ops.extend(add_counts(
            pk,
            &month,
            [
                (currency.clone(), hundredths),
                ("orders".to_string(), 1),
                (format!("{day}{currency}"), hundredths),
                (format!("{day}orders"), 1),
            ],
        ));
    }
    ops
}

/// The store's order counters (see [`ORDER_COUNTS`]): counter → orders.
pub async fn order_counts(table: &dyn Table, store_id: &str) -> Result<HashMap<String, i64>, StorageError> {
    let item = table.get(&accounts::store_pk(store_id), ORDER_COUNTS).await?;
    Ok(item.as_ref().map(counters).unwrap_or_default())
}

/// The item a sale counts in: its UTC month (`SALES#M2026-11`, counters `<currency>` in
/// hundredths and `orders` for the month), and the prefix of its day's counters in it
/// (`d29:`, then `d29:<currency>` and `d29:orders`). One counter write per sale.
fn sale_keys(placed_at: i64) -> (String, String) {
    let (month, _) = SalesPeriod::Month.of(placed_at);
    let (_, day) = SalesPeriod::Day.of(placed_at);
    (month, format!("d{}:", &day[3..5]))
}

/// Gross sales of the last [`SalesPeriod::shown`] periods up to `now`, oldest first:
/// per period its label and each currency's total in hundredths, with `orders`. Reads
/// the month items the periods fall in (2 for days, 4 for weeks, 12 for months).
pub async fn sales(
    table: &dyn Table,
    store_id: &str,
    period: SalesPeriod,
    now: i64,
) -> Result<Vec<(String, HashMap<String, i64>)>, StorageError> {
    let pk = accounts::store_pk(store_id);
    let periods = period.last(now);
    let days: Vec<i64> = match period {
        SalesPeriod::Month => Vec::new(),
        SalesPeriod::Day | SalesPeriod::Week => {
            let span = if period == SalesPeriod::Day { 1 } else { 7 };
            let today = now.div_euclid(86_400);
            (today - period.shown() * span..=today).collect()
        }
    };
    let mut months: Vec<String> = match period {
        SalesPeriod::Month => periods.iter().map(|(key, _)| key.clone()).collect(),
        _ => days.iter().map(|day| sale_keys(day * 86_400).0).collect(),
    };
    months.dedup();
    let reads = months.iter().map(|sk| table.get(&pk, sk));
    let mut counted: HashMap<String, HashMap<String, i64>> = HashMap::new();
    for (sk, item) in months.iter().zip(futures_util::future::join_all(reads).await) {
        counted.insert(sk.clone(), item?.as_ref().map(counters).unwrap_or_default());
    }
    let mut totals: Vec<(String, HashMap<String, i64>)> = periods
        .iter()
        .map(|(_, label)| (label.clone(), HashMap::new()))
        .collect();
    let mut add = |label: &str, name: &str, value: i64| {
        if let Some((_, total)) = totals.iter_mut().find(|(l, _)| l == label) {
            *total.entry(name.to_string()).or_default() += value;
        }
    };
    match period {
        SalesPeriod::Month => {
            for (key, label) in &periods {
                for (name, value) in counted.get(key).into_iter().flatten() {
                    if !name.starts_with('d') {
                        add(label, name, *value);
                    }
                }
            }
        }
        _ => {
            for day in &days {
                let (month, prefix) = sale_keys(day * 86_400);
                let (_, label) = period.of(day * 86_400);
                for (name, value) in counted.get(&month).into_iter().flatten() {
                    if let Some(name) = name.strip_prefix(&prefix) {
                        add(&label, name, *value);
                    }
                }
            }
        }
    }
    Ok(totals)
}

#[cfg(test)]
mod sales_periods {
    use super::SalesPeriod;

    #[test]
    fn periods_are_keyed_by_utc_day_monday_week_and_month() {
        // 2026-11-29 was a Sunday; its week began on Monday 2026-11-23.
        let sunday = 1_795_996_800 - 1;
        assert_eq!(SalesPeriod::Day.of(sunday), ("SALES#2026-11-29".into(), "11-29".into()));
        let (week, label) = SalesPeriod::Week.of(sunday);
        assert_eq!(label, "11-23");
        assert_eq!(
            SalesPeriod::Week.of(sunday - 6 * 86_400).0,
            week,
            "Monday is the same week"
        );
        assert_ne!(SalesPeriod::Week.of(sunday + 1).0, week, "the next Monday is not");
        assert_eq!(
            SalesPeriod::Month.of(sunday),
            ("SALES#M2026-11".into(), "2026-11".into())
        );
        let months = SalesPeriod::Month.last(sunday);
        assert_eq!(months.len(), 12);
        assert_eq!((months[0].1.as_str(), months[11].1.as_str()), ("2025-12", "2026-11"));
        assert_eq!(SalesPeriod::Day.last(sunday).len(), 30);
        assert_eq!(super::sale_keys(sunday), ("SALES#M2026-11".into(), "d29:".into()));
    }
}

/// The record of the TikTok order behind a store order.
pub async fn record_of_store_order(
    table: &dyn Table,
    store_id: &str,
    store_order_id: &str,
) -> Result<Option<OrderRecord>, StorageError> {
    let page = table
        .query(Query::index(format!("BCORDER#{store_id}#{store_order_id}"), "").limit(1))
        .await?;
    page.items
        .first()
        .map(|i| {
            serde_json::from_value(i.data.clone()).map_err(|e| StorageError::Corrupt {
                pk: i.pk.clone(),
                sk: i.sk.clone(),
                reason: e.to_string(),
            })
        })
        .transpose()
}

fn retry(error: impl std::fmt::Display) -> JobError {
    JobError::Retryable(error.to_string())
}

/// A shop call's failure in a job: storage as storage, anything else retried.
pub(crate) fn shop_failure(error: ShopError) -> JobError {
    match error {
        ShopError::Storage(storage) => storage.into(),
        other => retry(other),
    }
}

/// Runs an order job.
pub async fn handle(app: &App, job: Job) -> Result<(), JobError> {
    let Some(store) = accounts::get_store(app.table.as_ref(), &job.tenant).await? else {
        return Ok(());
    };
    if store.status != accounts::StoreStatus::Installed {
        return Ok(());
    }
    match job.kind {
        JobKind::SyncOrder => {
            let shop_id = job.shop.clone().unwrap_or_default();
            let data = &job.payload["data"];
            let order_id = data["order_id"]
                .as_str()
                .map(str::to_string)
                .or_else(|| job.payload["order_id"].as_str().map(str::to_string));
            let Some(order_id) = order_id else {
                // Cancellation and return topics carry order ids too; anything else is not an order event.
                tracing::info!(topic = %job.payload["topic"], "order job without an order id; acknowledged");
                return Ok(());
            };
            let source = match &job.payload["topic"] {
                serde_json::Value::String(source) => source.clone(),
                _ => "webhook".to_string(),
            };
            if read_since(
                app.table.as_ref(),
                &store.store_id,
                &shop_id,
                &order_id,
                &source,
                job.enqueued_at,
            )
            .await?
            {
                tracing::debug!(order = %order_id, "order read since this notification; acknowledged");
                return Ok(());
            }
            sync_from(app, &store, &shop_id, &order_id, &source).await
        }
        JobKind::PushShipment => {
            let event: StoreEvent =
                serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Malformed(e.to_string()))?;
            match event {
                StoreEvent::Shipment { order_id, shipment_id } => {
                    push_shipment(app, &store, &order_id, &shipment_id).await
                }
                _ => Ok(()),
            }
        }
        JobKind::SyncOrderRange => actions::sync_range_page(app, &store, &job).await,
        other => Err(JobError::NotImplemented(other)),
    }
}

/// The TikTok order as it is now (`None` when TikTok does not know it).
pub async fn fetch_order(app: &App, shop: &ShopRecord, order_id: &str) -> Result<Option<Order>, JobError> {
    let tiktok = &app.tiktok;
    let ids = [Id::from(order_id)];
    let orders = with_shop(app, shop, |auth| async move { tiktok.order_details(&auth, &ids).await })
        .await
        .map_err(shop_failure)?;
    Ok(orders.into_iter().next())
}

/// Re-reads a TikTok order and brings the store order in line with it.
pub async fn sync_order(app: &App, store: &StoreRecord, shop_id: &str, order_id: &str) -> Result<(), JobError> {
    sync_from(app, store, shop_id, order_id, "sync").await
}

/// The last successful sync of one TikTok order (`ORDERREAD#<store>/<shop>/<order>`,
/// kept a day): notifications enqueued before it started need no read of their own.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct LastRead {
    /// When that sync started, Unix milliseconds.
    started_ms: i64,
    /// The order's `update_time` (Unix seconds) as that sync read it.
    update_time: i64,
}

impl LastRead {
    /// Whether this sync saw the order's change of `update_time` (Unix seconds): it read
    /// that one or a later one. (A second change within the same second, after the read,
    /// carries the same time: its own webhook brings it, as it brings every change.)
    fn covers(&self, update_time: i64) -> bool {
        self.update_time >= update_time
    }
}

/// Allowance for clocks of different hosts when comparing a job's enqueue time with a
/// sync's start, milliseconds.
const CLOCK_MARGIN_MS: i64 = 250;

fn last_read_pk(store_id: &str, shop_id: &str, order_id: &str) -> String {
    format!("ORDERREAD#{store_id}/{shop_id}/{order_id}")
}

/// The order's [`LastRead`], if one is kept.
async fn last_read(
    table: &dyn Table,
    store_id: &str,
    shop_id: &str,
    order_id: &str,
) -> Result<Option<LastRead>, StorageError> {
    let item = table.get(&last_read_pk(store_id, shop_id, order_id), "LAST").await?;
    Ok(item.and_then(|item| serde_json::from_value(item.data).ok()))
}

/// Notes a successful sync of the order (see [`LastRead`]).
async fn note_read(
    table: &dyn Table,
    store_id: &str,
    shop_id: &str,
    order_id: &str,
    read: LastRead,
) -> Result<(), StorageError> {
    let data = serde_json::to_value(read).expect("a read mark serializes");
    let item =
        Item::new(last_read_pk(store_id, shop_id, order_id), "LAST", data).with_expiry(read.started_ms / 1000 + 86_400);
    table.put(item, Condition::None).await
}

/// Whether a notification (`source` `webhook` or `poll`, enqueued at `enqueued_ms`)
/// is already covered: a sync of the order that started after it was enqueued has
/// read TikTok's order as at least as new as what it announced. The job runs in the
/// order's FIFO group, after that sync. Merchant retries, re-syncs, range syncs and
/// jobs without an enqueue time always read.
async fn read_since(
    table: &dyn Table,
    store_id: &str,
    shop_id: &str,
    order_id: &str,
    source: &str,
    enqueued_ms: Option<i64>,
) -> Result<bool, StorageError> {
    let Some(enqueued_ms) =
        enqueued_ms.filter(|_| !matches!(source, "manual" | "resync" | "range" | "fetch" | "retry"))
    else {
        return Ok(false);
    };
    let read = last_read(table, store_id, shop_id, order_id).await?;
    Ok(read.is_some_and(|read| read.started_ms > enqueued_ms + CLOCK_MARGIN_MS))
}

/// What made the connector read an order, in the timeline's words.
fn source_words(source: &str) -> &str {
    match source {
        "webhook" => "TikTok's order webhook",
        "poll" => "the order poll",
        "fetch" => "a fetch by id",
        "range" => "a sync of missed orders",
        "manual" => "a retry from the orders screen",
        "retry" => "an automatic retry",
        "resync" => "a re-sync from the orders screen",
        _ => "a sync",
    }
}

/// [`sync_order`], noting on the order's timeline what made it read the order
/// (`source`: `webhook`, `poll`, `fetch`, `range`, `manual`, `retry`, `resync`).
async fn sync_from(
    app: &App,
    store: &StoreRecord,
    shop_id: &str,
    order_id: &str,
    source: &str,
) -> Result<(), JobError> {
    let table = app.table.as_ref();
    let Some(shop) = accounts::get_shop(table, &store.store_id, shop_id).await? else {
        tracing::warn!(
            shop = shop_id,
            order = order_id,
            "order of a shop that is not connected; acknowledged"
        );
        return Ok(());
    };
    let started_ms = jiff::Timestamp::now().as_millisecond();
    let order = fetch_order(app, &shop, order_id).await?;
    let Some(order) = order else {
        tracing::warn!(order = order_id, "TikTok does not know the order; acknowledged");
        return Ok(());
    };
    timeline::note(
        table,
        &store.store_id,
        order_id,
        EventKind::Read,
        true,
        format!(
            "Read after {}: {}.",
            source_words(source),
            browse::status_words(order.status.as_str())
        ),
    )
    .await;
    let existing = get_record(table, &store.store_id, order_id).await?;
    let platform = crate::platforms::open(app, store).map_err(retry)?;
    let platform = platform.as_ref();
    let synced = match (existing, &order.status) {
        (Some(record), _) if record.store_order_id.is_some() => {
            follow_tiktok(table, store, platform, record, &order).await
        }
        (_, status) if importable(store, status, &order) => create_once(app, store, &shop, platform, &order).await,
        (Some(mut record), status) if record.tiktok_status != status.as_str() => {
            // An order waiting for the merchant (not in the store) moved on at TikTok:
            // its tab and state follow, and a cancelled one no longer waits.
            record.tiktok_status = status.as_str().to_string();
            if *status == OrderStatus::Cancelled {
                record.state = SyncState::Cancelled;
                record.reason = Some("TikTok cancelled the order before it reached the store.".into());
            }
            save_record(table, &store.store_id, record).await?;
            Ok(())
        }
        (_, status) => {
            tracing::info!(
                order = order_id,
                status = status.as_str(),
                "order not imported at this status"
            );
            Ok(())
        }
    };
    if synced.is_ok() {
        let read = LastRead {
            started_ms,
            update_time: order.update_time,
        };
        note_read(table, &store.store_id, shop_id, order_id, read).await?;
    }
    synced
}

/// Brings an existing store order in line with the TikTok order: a cancellation
/// cancels (and archives) it per the settings, a status change moves it through the
/// merchant's status mapping, and an address change before shipping rewrites its
/// shipping address. Each change is applied once: the record keeps what was applied.
async fn follow_tiktok(
    table: &dyn Table,
    store: &StoreRecord,
    platform: &dyn StorePlatform,
    mut record: OrderRecord,
    order: &Order,
) -> Result<(), JobError> {
    let store_order_id = record.store_order_id.clone().expect("only created orders are followed");
    let settings = &store.settings;
    let status_changed = record.tiktok_status != order.status.as_str();
    record.tiktok_status = order.status.as_str().to_string();
    if status_changed && order.status == OrderStatus::Cancelled && order.cancellation_initiator != "SELLER" {
        // TikTok (or the buyer) cancelled it: an out-of-stock reason means the shop oversold.
        crate::notices::cancelled_order(
            table,
            &store.store_id,
            &record.shop_id,
            order.id.as_str(),
            &order.cancel_reason,
        )
        .await?;
    }
    if order.status == OrderStatus::Cancelled && settings.cancel_store_orders {
        // Recorded first, so the store's echo of this cancellation is not sent back to
        // TikTok; the store calls are idempotent, so a retry repeats them safely.
        record.state = SyncState::Cancelled;
        let order_id = record.tiktok_order_id.clone();
        save_record(table, &store.store_id, record).await?;
        platform.cancel_order(&store_order_id).await?;
        let mut text = format!("Store order {store_order_id} cancelled: TikTok cancelled the order");
        if settings.archive_cancelled && platform.capabilities().order_archive {
            platform.archive_order(&store_order_id).await?;
            text.push_str(" (archived)");
        }
        timeline::note(
            table,
            &store.store_id,
            &order_id,
            EventKind::StoreWrite,
            true,
            text + ".",
        )
        .await;
        return Ok(());
    }
    let mut changed = status_changed;
    if let (true, Some(target)) = (status_changed, settings.status_mapping.target(&order.status)) {
        platform.update_order_status(&store_order_id, &target).await?;
        tracing::info!(order = %order.id, store_order = %store_order_id, status = ?target, "store order status follows TikTok");
        let text = format!(
            "Store order {store_order_id} set to {target:?}, following TikTok's {}.",
            browse::status_words(order.status.as_str())
        );
        timeline::note(
            table,
            &store.store_id,
            order.id.as_str(),
            EventKind::StoreWrite,
            true,
            text,
        )
        .await;
    }
    if matches!(
        order.status,
        OrderStatus::OnHold | OrderStatus::AwaitingShipment | OrderStatus::AwaitingCollection
    ) {
        let address = shipping_address(order);
        let current = fingerprint(&address);
        if record.address_fingerprint.as_deref() != Some(current.as_str())
            && platform.capabilities().shipping_address_edit
        {
            platform.update_shipping_address(&store_order_id, &address).await?;
            tracing::info!(order = %order.id, store_order = %store_order_id, "shipping address updated from TikTok");
            let text = format!("Store order {store_order_id}: shipping address updated from TikTok.");
            timeline::note(
                table,
                &store.store_id,
                order.id.as_str(),
                EventKind::StoreWrite,
                true,
                text,
            )
            .await;
            record.address_fingerprint = Some(current);
            changed = true;
        }
    }
    if changed {
        save_record(table, &store.store_id, record).await?;
    }
    Ok(())
}

/// Whether the settings import an order at this status.
fn importable(store: &StoreRecord, status: &OrderStatus, order: &Order) -> bool {
    let paid = match status {
        OrderStatus::AwaitingShipment => true,
        OrderStatus::AwaitingCollection => store.settings.import_awaiting_collection,
        _ => false,
    };
    let settings = &store.settings;
    let sample_ok = !order.is_sample_order || settings.import_sample_orders;
    let fbt_ok = order.fulfillment_type != "FULFILLMENT_BY_TIKTOK" || settings.import_fbt_orders;
    paid && sample_ok && fbt_ok
}

/// How long one worker may hold an order create before another may take over.
const CREATE_LEASE: Duration = Duration::from_secs(60);

async fn create_once(
    app: &App,
    store: &StoreRecord,
    shop: &ShopRecord,
    platform: &dyn StorePlatform,
    order: &Order,
) -> Result<(), JobError> {
    let table = app.table.as_ref();
    let key = format!("{}/{}", shop.shop_id, order.id);
    match idempotency::claim(
        table,
        "order-create",
        &key,
        CREATE_LEASE,
        Duration::from_secs(30 * 86_400),
    )
    .await?
    {
        Claim::Acquired => {}
        Claim::Completed(_) => return Ok(()),
        // Another worker is creating it: come back later and find its result.
        Claim::InProgress => return Err(retry(format!("order {} is being created by another worker", order.id))),
    }
    let outcome = create(app, store, shop, platform, order).await;
    match outcome {
        Ok(record) => {
            // The intake lag of orders that went straight through: one the store refused
            // before waited for the merchant or a retry, which the lag must not count.
            let refused_before = get_record(table, &store.store_id, order.id.as_str())
                .await?
                .is_some_and(|r| matches!(r.state, SyncState::Error | SyncState::Parked));
            if !refused_before {
                let changed_ms = order.update_time.saturating_mul(1000);
                crate::metrics::lag(crate::metrics::Metric::OrderIntakeLag, Some(&shop.shop_id), changed_ms);
            }
            let store_order_id = record.store_order_id.clone();
            save_record(table, &store.store_id, record).await?;
            let text = format!("Store order {} created.", store_order_id.as_deref().unwrap_or_default());
            timeline::note(
                table,
                &store.store_id,
                order.id.as_str(),
                EventKind::StoreWrite,
                true,
                text,
            )
            .await;
            let logged = crate::journal::Entry::now(
                crate::journal::LogKind::Orders,
                format!(
                    "TikTok order {} of shop {}: store order {} created",
                    order.id,
                    shop.shop_id,
                    store_order_id.as_deref().unwrap_or_default()
                ),
            );
            idempotency::complete(
                table,
                "order-create",
                &key,
                serde_json::json!({"store_order_id": store_order_id}),
                Duration::from_secs(30 * 86_400),
            )
            .await?;
            let log_key = format!("order-created-{}", order.id);
            crate::journal::note(table, &store.store_id, logged, Some(&log_key)).await;
            Ok(())
        }
        Err(Parked(reason)) => {
            let attempts = get_record(table, &store.store_id, order.id.as_str())
                .await?
                .map_or(0, |r| r.attempts);
            let record = OrderRecord {
                tiktok_order_id: order.id.to_string(),
                shop_id: shop.shop_id.clone(),
                state: if attempts >= store.settings.order_retries {
                    SyncState::Parked
                } else {
                    SyncState::Error
                },
                store_order_id: None,
                reason: Some(reason.clone()),
                tiktok_status: order.status.as_str().to_string(),
                updated_at: unix_now(),
                attempts,
                address_fingerprint: None,
                sale: Some(Sale::of(order)),
                first_seen: 0,
            };
            save_record(table, &store.store_id, record).await?;
            let text = format!("Not created: {reason}");
            timeline::note(
                table,
                &store.store_id,
                order.id.as_str(),
                EventKind::Failed,
                false,
                text,
            )
            .await;
            // A store's refusal may echo the order's fields (the buyer's address): the log
            // gets its class only; the order's own page has the whole reason.
            let logged_reason = if reason.starts_with("The store ") {
                "the store refused or could not be reached (the order's page says why)"
            } else {
                reason.as_str()
            };
            let logged = crate::journal::Entry::now(
                crate::journal::LogKind::Orders,
                format!(
                    "TikTok order {} of shop {} not created: {logged_reason}",
                    order.id, shop.shop_id
                ),
            );
            crate::journal::note(table, &store.store_id, logged, None).await;
            idempotency::release(table, "order-create", &key).await?;
            Ok(())
        }
    }
}

/// An order that cannot be created until the merchant acts.
struct Parked(String);

async fn create(
    app: &App,
    store: &StoreRecord,
    shop: &ShopRecord,
    platform: &dyn StorePlatform,
    order: &Order,
) -> Result<OrderRecord, Parked> {
    let record = |store_order_id: String| OrderRecord {
        tiktok_order_id: order.id.to_string(),
        shop_id: shop.shop_id.clone(),
        state: SyncState::Created,
        store_order_id: Some(store_order_id),
        reason: None,
        tiktok_status: order.status.as_str().to_string(),
        updated_at: unix_now(),
        attempts: 0,
        address_fingerprint: Some(fingerprint(&shipping_address(order))),
        sale: Some(Sale::of(order)),
        first_seen: 0,
    };
    // A crash after the store created the order but before the mapping was saved leaves
    // the order in the store: find it instead of creating a second one.
    match platform.find_order_by_external_id(order.id.as_str()).await {
        Ok(Some(found)) => return Ok(record(found.id)),
        Ok(None) => {}
        Err(error) => return Err(Parked(format!("The store could not be searched: {error}"))),
    }
    let (lines, priced) = map_lines(app, store, shop, order).await?;
    let new_order = new_order(order, lines, &priced, &store.settings);
    match platform.create_order(&new_order).await {
        Ok(created) => Ok(record(created.id)),
        Err(error) => Err(Parked(format!("The store refused the order: {error}"))),
    }
}

/// The store order's lines (each TikTok SKU mapped to its store variant) and charges,
/// adding up to TikTok's payment block ([`money::store_money`]).
async fn map_lines(
    app: &App,
    store: &StoreRecord,
    shop: &ShopRecord,
    order: &Order,
) -> Result<(Vec<NewOrderLine>, money::StoreMoney), Parked> {
    let table = app.table.as_ref();
    let priced = money::store_money(order, store.settings.item_price).map_err(|e| Parked(e.to_string()))?;
    let mut lines = Vec::new();
    let mut variants = VariantLookup::default();
    for line in &priced.lines {
        let (sku_id, seller_sku) = (&line.sku_id, &line.seller_sku);
        let found = variants
            .find(table, shop, sku_id, seller_sku)
            .await
            .map_err(|e| Parked(format!("The SKU mapping or the catalogue could not be read: {e}")))?;
        let Some((variant_id, product_id)) = found else {
            return Err(Parked(format!(
                "SKU {seller_sku} ({sku_id}) is not linked to a store product."
            )));
        };
        lines.push(NewOrderLine {
            product_id,
            variant_id,
            quantity: line.quantity,
            price_ex_tax: line.price_ex_tax,
            price_inc_tax: line.price_inc_tax,
        });
    }
    Ok((lines, priced))
}

/// The store (variant id, product id) of a TikTok SKU: its link, else, for SKUs listed
/// outside the connector, the store variant with the same seller SKU among `products`.
/// Finds the store variant of a TikTok SKU: its link, else a store variant with its
/// seller SKU (a product listed on TikTok by other means). The catalogue is read only
/// for that fallback, once per lookup, so an order of linked SKUs never reads it,
/// however large the store.
#[derive(Default)]
struct VariantLookup {
    catalogue: Option<Vec<crate::store::Product>>,
}

impl VariantLookup {
    /// `(variant id, product id)` of `sku_id` / `seller_sku` in `shop`, if any.
    async fn find(
        &mut self,
        table: &dyn Table,
        shop: &ShopRecord,
        sku_id: &str,
        seller_sku: &str,
    ) -> Result<Option<(String, String)>, StorageError> {
        if let Some(link) = records::variant_of_sku(table, &shop.store_id, &shop.shop_id, sku_id).await? {
            return Ok(Some(link));
        }
        if seller_sku.is_empty() {
            return Ok(None);
        }
        if self.catalogue.is_none() {
            self.catalogue = Some(records::all_products(table, &shop.store_id).await?);
        }
        Ok(self.catalogue.iter().flatten().find_map(|p| {
            p.variants
                .iter()
                .find(|v| v.sku == seller_sku)
                .map(|v| (v.id.clone(), p.id.clone()))
        }))
    }
}

fn district(order: &Order, level_name: &str) -> String {
    order
        .recipient_address
        .district_info
        .iter()
        .find(|d| d.address_level_name.eq_ignore_ascii_case(level_name))
        .map(|d| d.address_name.clone())
        .unwrap_or_default()
}

/// A fingerprint of an address, to notice changes without storing it twice.
fn fingerprint(address: &Address) -> String {
    crate::crypto::sha256_hex(&serde_json::to_vec(address).expect("addresses serialize"))
}

/// TikTok's recipient address in the store's shape.
fn shipping_address(order: &Order) -> Address {
    let address = &order.recipient_address;
    let (first, last) = if address.first_name.is_empty() {
        let mut parts = address.name.splitn(2, ' ');
        (
            parts.next().unwrap_or_default().to_string(),
            parts.next().unwrap_or_default().to_string(),
        )
    } else {
        (address.first_name.clone(), address.last_name.clone())
    };
    Address {
        first_name: first,
        last_name: last,
        street_1: if address.address_line1.is_empty() {
            address.full_address.clone()
        } else {
            address.address_line1.clone()
        },
        street_2: address.address_line2.clone(),
        city: district(order, "City"),
        state: district(order, "State"),
        zip: address.postal_code.clone(),
        country: district(order, "Country"),
        country_iso2: address.region_code.clone(),
        phone: address.phone_number.clone(),
        email: String::new(),
    }
}

fn new_order(
    order: &Order,
    lines: Vec<NewOrderLine>,
    priced: &money::StoreMoney,
    settings: &accounts::Settings,
) -> NewOrder {
    let shipping = shipping_address(order);
    NewOrder {
        external_order_id: order.id.to_string(),
        channel_id: None,
        status: settings.status_mapping.creation_status(&order.status),
        billing_address: Address {
            // TikTok's own address when it sends one, else the merchant's default.
            email: Some(order.buyer_email.trim())
                .filter(|e| !e.is_empty())
                .or(settings.default_buyer_email.as_deref())
                .unwrap_or_default()
                .to_string(),
            ..shipping.clone()
        },
        shipping_address: shipping,
        shipping_method: "TikTok Shop shipping".into(),
        lines,
        shipping_cost: priced.shipping_cost,
        handling_cost: priced.handling_cost,
        discount_amount: priced.discount_amount,
        payment_method: "TikTok Shop".into(),
        customer_message: order.buyer_message.clone(),
        staff_notes: format!("TikTok order {}{}", settings.order_prefix, order.id),
    }
}

/// When the order poller last read a shop (Unix seconds), if it ever did.
pub async fn last_poll(table: &dyn Table, store_id: &str, shop_id: &str) -> Result<Option<i64>, StorageError> {
    let cursor = table
        .get(&accounts::store_pk(store_id), &format!("CURSOR#ORDERS#{shop_id}"))
        .await?;
    Ok(cursor.and_then(|i| i.data["polled_at"].as_i64()))
}

/// Polls every shop's orders changed since its watermark (with a 5-minute overlap)
/// and enqueues them; the safety net for lost webhooks.
pub async fn poll_all(app: &App) -> Result<usize, JobError> {
    crate::shops::each_shop(app, "order poll", |store_id, shop_id| async move {
        poll_shop(app, &store_id, &shop_id).await
    })
    .await
}

async fn poll_shop(app: &App, store_id: &str, shop_id: &str) -> Result<usize, JobError> {
    let table = app.table.as_ref();
    // Orders saved before the orders screen's index get indexed a batch a minute.
    browse::ensure_indexed(table, store_id).await?;
    let Some(cursor) = crate::shops::PollCursor::open(table, store_id, shop_id, "ORDERS", 86_400).await? else {
        return Ok(0);
    };
    let shop = &cursor.shop;
    let filter = OrderSearch {
        update_time_ge: Some(cursor.since),
        ..OrderSearch::default()
    };
    let tiktok = &app.tiktok;
    let mut seen = Vec::new();
    let mut jobs = Vec::new();
    let mut page_token: Option<String> = None;
    loop {
        let token = page_token.clone();
        let filter = &filter;
        let page = with_shop(app, shop, |auth| async move {
            tiktok.search_orders(&auth, filter, 50, token.as_deref()).await
        })
        .await
        .map_err(shop_failure)?;
        for order in &page.items {
            seen.push(order.update_time);
            // The poll overlaps earlier ones: an order synced since its last change needs no read.
            let order_id = order.id.to_string();
            if last_read(table, store_id, shop_id, &order_id)
                .await?
                .is_some_and(|read| read.covers(order.update_time))
            {
                continue;
            }
            let payload = serde_json::json!({"order_id": order.id.to_string(), "topic": "poll"});
            // The same order at the same update time is one job, however often it is polled.
            let key = format!("order-{}-{}", order.id, order.update_time);
            let group = order_group(shop_id, &order.id.to_string());
            jobs.push(
                Job::new(JobKind::SyncOrder, store_id, key, payload)
                    .for_shop(shop_id)
                    .in_group(group),
            );
        }
        match page.next_page_token {
            Some(next) => page_token = Some(next),
            None => break,
        }
    }
    app.order_queue.send(&jobs, Duration::ZERO).await?;
    cursor.advance(table, seen).await?;
    Ok(jobs.len())
}

/// What was sent to TikTok for one store shipment (`SHIPMENT#<store order>#<shipment>`),
/// so a re-delivered webhook changes nothing and a changed tracking number is corrected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushedShipment {
    /// TikTok order id.
    pub tiktok_order_id: String,
    /// TikTok package created for it.
    pub package_id: String,
    /// Tracking number TikTok holds.
    pub tracking_number: String,
    /// Shipping provider TikTok holds.
    pub shipping_provider_id: String,
    /// The TikTok line items (units) it marked shipped.
    #[serde(default)]
    pub order_line_item_ids: Vec<String>,
}

/// The TikTok shipping provider of a store carrier: the merchant's map first, else the
/// same carrier among TikTok's providers ([`carriers::provider_for`]: BigCommerce's
/// provider values, AfterShip slugs and display names), else the merchant's default
/// provider.
fn choose_provider<'a>(
    settings: &accounts::Settings,
    carrier: &str,
    providers: &'a [crate::tiktok::model::ShippingProvider],
) -> Option<&'a crate::tiktok::model::ShippingProvider> {
    let mapped = settings
        .carrier_map
        .iter()
        .find(|(store_carrier, _)| store_carrier.trim().eq_ignore_ascii_case(carrier.trim()))
        .map(|(_, tiktok)| tiktok.as_str());
    mapped
        .and_then(|name| carriers::provider_for(name, providers))
        .or_else(|| carriers::provider_for(carrier, providers))
        .or_else(|| {
            settings
                .default_provider
                .as_deref()
                .and_then(|name| carriers::provider_for(name, providers))
        })
}

fn shipment_sk(store_order_id: &str, shipment_id: &str) -> String {
    format!("SHIPMENT#{store_order_id}#{shipment_id}")
}

/// What was sent to TikTok for a store shipment, if anything.
pub async fn pushed_shipment(
    table: &dyn Table,
    store_id: &str,
    store_order_id: &str,
    shipment_id: &str,
) -> Result<Option<PushedShipment>, StorageError> {
    let item = table
        .get(&accounts::store_pk(store_id), &shipment_sk(store_order_id, shipment_id))
        .await?;
    Ok(item.and_then(|i| serde_json::from_value(i.data).ok()))
}

/// Sends a store shipment to TikTok: carrier mapped by name to the order's shipping
/// providers, the shipped units' line items marked shipped with the tracking number.
/// A shipment sent before whose tracking number or carrier changed since is corrected
/// with Update Shipping Info (per package when the order shipped in several).
async fn push_shipment(
    app: &App,
    store: &StoreRecord,
    store_order_id: &str,
    shipment_id: &str,
) -> Result<(), JobError> {
    let table = app.table.as_ref();
    let Some(record) = record_of_store_order(table, &store.store_id, store_order_id).await? else {
        tracing::info!(
            order = store_order_id,
            "shipment of an order that did not come from TikTok; acknowledged"
        );
        return Ok(());
    };
    let Some(shop) = accounts::get_shop(table, &store.store_id, &record.shop_id).await? else {
        return Ok(());
    };
    let platform = crate::platforms::open(app, store).map_err(retry)?;
    let platform = platform.as_ref();
    let Some(shipment) = platform
        .shipments(store_order_id)
        .await?
        .into_iter()
        .find(|s| s.id == shipment_id)
    else {
        return Err(retry(format!("shipment {shipment_id} is not visible yet")));
    };
    let order = fetch_order(app, &shop, &record.tiktok_order_id).await?;
    let tiktok = &app.tiktok;
    let Some(order) = order else { return Ok(()) };
    let option = order.delivery_option_id.clone().unwrap_or_else(|| Id::from("0"));
    let providers = with_shop(app, &shop, |auth| async move {
        tiktok.shipping_providers(&auth, &option).await
    })
    .await
    .map_err(shop_failure)?;
    let Some(provider) = choose_provider(&store.settings, &shipment.carrier, &providers) else {
        let reason = format!(
            "No TikTok shipping provider matches the carrier \"{}\"; map it (or choose a default provider) in the order settings.",
            shipment.carrier
        );
        return save_shipment_error(table, store, record, &reason).await;
    };
    let pushed = pushed_shipment(table, &store.store_id, store_order_id, shipment_id).await?;
    let sent = match pushed {
        Some(pushed)
            if pushed.tracking_number == shipment.tracking_number
                && pushed.shipping_provider_id == provider.id.as_str() =>
        {
            return Ok(());
        }
        Some(pushed) => correct_tracking(app, &shop, &order, pushed, &shipment.tracking_number, &provider.id).await,
        None => {
            let units = shipped_units(table, &store.store_id, &shop, &order, &shipment).await?;
            if units.is_empty() {
                let reason = format!(
                    "Shipment {shipment_id} ships no item that waits for shipment on TikTok (already shipped, cancelled, or not linked); nothing was sent."
                );
                return save_shipment_error(table, store, record, &reason).await;
            }
            mark_shipped(app, &shop, &order, &shipment.tracking_number, units, &provider.id).await
        }
    };
    match sent {
        Ok(pushed) => {
            let text = format!(
                "Store shipment {shipment_id} sent: tracking {} with {}, package {}.",
                pushed.tracking_number, provider.name, pushed.package_id
            );
            let sk = shipment_sk(store_order_id, shipment_id);
            let data = serde_json::to_value(&pushed).expect("shipments serialize");
            table
                .put(
                    Item::new(accounts::store_pk(&store.store_id), sk, data),
                    Condition::None,
                )
                .await?;
            let order_id = &pushed.tiktok_order_id;
            timeline::note(table, &store.store_id, order_id, EventKind::Shipment, true, text).await;
            Ok(())
        }
        Err(ShopError::TikTok(error)) if error.is_retryable() => Err(retry(error)),
        Err(ShopError::TikTok(error)) => {
            save_shipment_error(table, store, record, &format!("TikTok refused the shipment: {error}")).await
        }
        Err(other) => Err(shop_failure(other)),
    }
}

/// The TikTok line items a store shipment ships: as many units of each variant as the
/// store shipped, among the units TikTok still holds as waiting and the connector has
/// not marked shipped for another shipment of the order
/// ([`LineItem::awaits_shipment`](crate::tiktok::model::LineItem::awaits_shipment): a
/// package id alone does not mean shipped, packages exist from payment).
async fn shipped_units(
    table: &dyn Table,
    store_id: &str,
    shop: &ShopRecord,
    order: &Order,
    shipment: &crate::store::Shipment,
) -> Result<Vec<Id>, StorageError> {
    let mut variants = VariantLookup::default();
    // Units the connector already marked shipped stay shipped, even when TikTok's read
    // of the order lags behind (store shipments of one order share `SHIPMENT#<order>#`).
    let mut sent = std::collections::HashSet::new();
    let mut cursor = None;
    loop {
        let prefix = shipment_sk(&shipment.order_id, "");
        let page = table
            .query(
                Query::table(accounts::store_pk(store_id), prefix)
                    .limit(1000)
                    .after(cursor),
            )
            .await?;
        for item in page.items {
            if let Ok(pushed) = serde_json::from_value::<PushedShipment>(item.data) {
                sent.extend(pushed.order_line_item_ids);
            }
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut unshipped = Vec::new();
    for line in order
        .line_items
        .iter()
        .filter(|l| l.awaits_shipment() && !sent.contains(l.id.as_str()))
    {
        let variant = variants
            .find(table, shop, line.sku_id.as_str(), &line.seller_sku)
            .await?
            .map(|(variant, _)| variant);
        unshipped.push((line.id.clone(), variant));
    }
    let mut line_ids = Vec::new();
    for (variant_id, quantity) in &shipment.items {
        let matching = unshipped
            .iter()
            .filter(|(id, v)| v.as_ref() == Some(variant_id) && !line_ids.contains(id))
            .take(*quantity as usize);
        line_ids.extend(matching.map(|(id, _)| id.clone()).collect::<Vec<_>>());
    }
    Ok(line_ids)
}

/// Marks `line_ids` shipped on TikTok in one package. Never called with no units: Mark
/// Package As Shipped without `order_line_item_ids` ships the whole order.
async fn mark_shipped(
    app: &App,
    shop: &ShopRecord,
    order: &Order,
    tracking_number: &str,
    line_ids: Vec<Id>,
    provider_id: &Id,
) -> Result<PushedShipment, ShopError> {
    let shipped = MarkShipped {
        tracking_number: tracking_number.to_string(),
        shipping_provider_id: provider_id.clone(),
        order_line_item_ids: line_ids,
    };
    let tiktok = &app.tiktok;
    let order_id = &order.id;
    let shipped = &shipped;
    let package = with_shop(app, shop, |auth| async move {
        tiktok.mark_package_shipped(&auth, order_id, shipped).await
    })
    .await?;
    Ok(PushedShipment {
        tiktok_order_id: order.id.to_string(),
        package_id: package.package_id.to_string(),
        tracking_number: shipped.tracking_number.clone(),
        shipping_provider_id: provider_id.to_string(),
        order_line_item_ids: shipped.order_line_item_ids.iter().map(Id::to_string).collect(),
    })
}

/// Corrects the tracking of a shipped package: per order when it is the order's only
/// package, per package when the order shipped in several.
async fn correct_tracking(
    app: &App,
    shop: &ShopRecord,
    order: &Order,
    pushed: PushedShipment,
    tracking_number: &str,
    provider_id: &Id,
) -> Result<PushedShipment, ShopError> {
    let tiktok = &app.tiktok;
    let split = order
        .line_items
        .iter()
        .filter_map(|l| l.package_id.as_ref())
        .any(|p| !p.as_str().is_empty() && p.as_str() != pushed.package_id);
    let package_id = Id::from(pushed.package_id.as_str());
    let (order_id, package_id) = (&order.id, &package_id);
    let shipped = if split {
        Shipped::Package(package_id)
    } else {
        Shipped::Order(order_id)
    };
    with_shop(app, shop, |auth| async move {
        tiktok
            .update_shipping_info(&auth, shipped, tracking_number, provider_id)
            .await
    })
    .await?;
    tracing::info!(order = %order.id, package = %pushed.package_id, "tracking corrected on TikTok");
    Ok(PushedShipment {
        tracking_number: tracking_number.to_string(),
        shipping_provider_id: provider_id.to_string(),
        ..pushed
    })
}

/// The merchant cancelled a TikTok order in the store: cancel it on TikTok too.
pub async fn cancel_on_tiktok(app: &App, store: &StoreRecord, store_order_id: &str) -> Result<(), JobError> {
    let table = app.table.as_ref();
    let Some(mut record) = record_of_store_order(table, &store.store_id, store_order_id).await? else {
        return Ok(());
    };
    if record.state == SyncState::Cancelled || record.tiktok_status == OrderStatus::Cancelled.as_str() {
        // Our own cancellation (TikTok cancelled first) echoing back, or one TikTok already has.
        return Ok(());
    }
    let Some(shop) = accounts::get_shop(table, &store.store_id, &record.shop_id).await? else {
        return Ok(());
    };
    let tiktok = &app.tiktok;
    let cancel = crate::tiktok::model::CancelOrder {
        order_id: Id::from(record.tiktok_order_id.as_str()),
        cancel_reason: store.settings.store_cancel_reason.key().into(),
        order_line_item_ids: vec![],
    };
    match with_shop(
        app,
        &shop,
        |auth| async move { tiktok.cancel_order(&auth, &cancel).await },
    )
    .await
    {
        Ok(_) => {
            record.state = SyncState::Cancelled;
            record.reason = None;
        }
        Err(ShopError::TikTok(error)) if error.is_retryable() => return Err(retry(error)),
        Err(ShopError::TikTok(error)) => record.reason = Some(format!("TikTok refused the cancellation: {error}")),
        Err(other) => return Err(shop_failure(other)),
    }
    let text = match &record.reason {
        None => format!(
            "Cancelled on TikTok after store order {store_order_id} was cancelled ({}).",
            store.settings.store_cancel_reason.words()
        ),
        Some(reason) => reason.clone(),
    };
    let (ok, order_id) = (record.reason.is_none(), record.tiktok_order_id.clone());
    save_record(table, &store.store_id, record).await?;
    timeline::note(table, &store.store_id, &order_id, EventKind::Cancel, ok, text).await;
    Ok(())
}

async fn save_shipment_error(
    table: &dyn Table,
    store: &StoreRecord,
    mut record: OrderRecord,
    reason: &str,
) -> Result<(), JobError> {
    record.reason = Some(reason.to_string());
    let order_id = record.tiktok_order_id.clone();
    save_record(table, &store.store_id, record).await?;
    timeline::note(table, &store.store_id, &order_id, EventKind::Shipment, false, reason).await;
    Ok(())
}

/// The FIFO group of a TikTok order's jobs: one order's updates apply in order, and an
/// order whose job keeps failing (backing off between receives) never holds up the
/// shop's other orders.
pub fn order_group(shop_id: &str, tiktok_order_id: &str) -> String {
    format!("{shop_id}/order/{tiktok_order_id}")
}

/// Enqueues a fresh sync of one order (manual retry, sweeper).
pub async fn enqueue_sync(
    app: &App,
    store_id: &str,
    shop_id: &str,
    tiktok_order_id: &str,
    reason: &str,
) -> Result<(), JobError> {
    let payload = serde_json::json!({"order_id": tiktok_order_id, "topic": reason});
    let key = format!("{reason}-{tiktok_order_id}-{}", uuid::Uuid::new_v4().simple());
    app.order_queue
        .send(
            &[Job::new(JobKind::SyncOrder, store_id, key, payload)
                .for_shop(shop_id)
                .in_group(order_group(shop_id, tiktok_order_id))],
            Duration::ZERO,
        )
        .await?;
    Ok(())
}

/// Retries every order in *Error* (as many times as the store's settings say, 3 by
/// default; then it is parked with its reason until the merchant retries it). Returns
/// how many were retried.
pub async fn sweep(app: &App) -> Result<usize, JobError> {
    let table = app.table.as_ref();
    let mut retried = 0;
    let mut cursor = None;
    let mut allowed_retries: HashMap<String, u32> = HashMap::new();
    loop {
        let page = table
            .query(Query::index("ORDERERRORS", "").limit(100).after(cursor))
            .await?;
        for item in &page.items {
            let store_id = item.pk.trim_start_matches("STORE#").to_string();
            let Ok(mut record) = serde_json::from_value::<OrderRecord>(item.data.clone()) else {
                continue;
            };
            let limit = match allowed_retries.get(&store_id) {
                Some(limit) => *limit,
                None => {
                    let store = accounts::get_store(table, &store_id).await?;
                    let limit = store.map_or(crate::rules::orders::DEFAULT_RETRIES, |s| s.settings.order_retries);
                    *allowed_retries.entry(store_id.clone()).or_insert(limit)
                }
            };
            if record.attempts >= limit {
                record.state = SyncState::Parked;
                record.reason = record
                    .reason
                    .map(|r| format!("{r} Parked after {limit} retries: fix it and press Retry."));
                let order_id = record.tiktok_order_id.clone();
                save_record(table, &store_id, record).await?;
                let text = format!("Waits for you after {limit} automatic retries.");
                timeline::note(table, &store_id, &order_id, EventKind::Failed, false, text).await;
                continue;
            }
            record.attempts += 1;
            let (shop_id, order_id) = (record.shop_id.clone(), record.tiktok_order_id.clone());
            let text = format!("Automatic retry {} of {limit}.", record.attempts);
            save_record(table, &store_id, record).await?;
            timeline::note(table, &store_id, &order_id, EventKind::Retry, true, text).await;
            enqueue_sync(app, &store_id, &shop_id, &order_id, "retry").await?;
            retried += 1;
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(retried),
        }
    }
}

/// Parks an order whose sync failed every retry, with the reason; a created order
/// keeps its state and only shows the reason.
pub async fn park(
    table: &dyn Table,
    store_id: &str,
    shop_id: &str,
    tiktok_order_id: &str,
    reason: &str,
) -> Result<(), StorageError> {
    let record = match get_record(table, store_id, tiktok_order_id).await? {
        Some(record) if record.store_order_id.is_some() => OrderRecord {
            reason: Some(reason.to_string()),
            ..record
        },
        Some(record) => OrderRecord {
            state: SyncState::Parked,
            reason: Some(reason.to_string()),
            ..record
        },
        None => OrderRecord {
            tiktok_order_id: tiktok_order_id.to_string(),
            shop_id: shop_id.to_string(),
            state: SyncState::Parked,
            store_order_id: None,
            reason: Some(reason.to_string()),
            tiktok_status: String::new(),
            updated_at: unix_now(),
            attempts: 0,
            address_fingerprint: None,
            sale: None,
            first_seen: 0,
        },
    };
    save_record(table, store_id, record).await?;
    timeline::note(table, store_id, tiktok_order_id, EventKind::Failed, false, reason).await;
    Ok(())
}

/// The store's latest `limit` order records: the highest TikTok order numbers (TikTok
/// numbers orders in time order), read from the end of the key range.
pub async fn latest_records(table: &dyn Table, store_id: &str, limit: usize) -> Result<Vec<OrderRecord>, StorageError> {
    let page = table
        .query(
            Query::table(accounts::store_pk(store_id), "ORDER#")
                .limit(limit)
                .descending(),
        )
        .await?;
    page.items.iter().map(crate::storage::decode).collect()
}

/// Every order record of a store.
pub async fn all_records(table: &dyn Table, store_id: &str) -> Result<Vec<OrderRecord>, StorageError> {
    let mut records = Vec::new();
    let mut cursor = None;
    loop {
        let page = table
            .query(
                Query::table(accounts::store_pk(store_id), "ORDER#")
                    .limit(1000)
                    .after(cursor),
            )
            .await?;
        records.extend(
            page.items
                .iter()
                .filter_map(|i| serde_json::from_value(i.data.clone()).ok()),
        );
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(records),
        }
    }
}

/// The merchant's Retry: resets the retry count and syncs the order now.
pub async fn retry_now(app: &App, store_id: &str, tiktok_order_id: &str) -> Result<bool, JobError> {
    let Some(mut record) = get_record(app.table.as_ref(), store_id, tiktok_order_id).await? else {
        return Ok(false);
    };
    record.attempts = 0;
    if record.state == SyncState::Parked {
        record.state = SyncState::Error;
    }
    let shop_id = record.shop_id.clone();
    save_record(app.table.as_ref(), store_id, record).await?;
    let text = "Retry asked for from the orders screen.";
    timeline::note(
        app.table.as_ref(),
        store_id,
        tiktok_order_id,
        EventKind::Retry,
        true,
        text,
    )
    .await;
    enqueue_sync(app, store_id, &shop_id, tiktok_order_id, "manual").await?;
    Ok(true)
}
