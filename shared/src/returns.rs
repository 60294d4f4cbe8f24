//! After-sales: TikTok returns, refund-only requests, replacements and buyer
//! cancellation requests (reference §10, webhooks 11 and 12 in §4.4).
//!
//! Every request is kept as one [`AfterSale`] record (`RETURN#<id>` under the store),
//! written only from what TikTok answers when asked again: a webhook or a poll is a
//! signal to re-read, so duplicates and out-of-order notifications change nothing
//! twice. Unknown status spellings are kept as they come ([`Stage::InProgress`]) and
//! read again by the next poll. The merchant decides from the app ([`decisions`]);
//! what a decision does in the store (refund, status, restock, cancel) runs in the
//! request's job, once ([`effects`]).

pub mod decisions;
pub mod effects;

use std::collections::HashMap;
use std::time::Duration;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::accounts::{self, ShopRecord, StoreRecord};
use crate::app::App;
use crate::queue::{Job, JobError, JobKind};
use crate::shops::{ShopError, with_shop};
use crate::storage::{
    Condition, Item, Query, StorageError, Table, WriteOp, add_counts, counters, put_counted, unix_now,
};
use crate::tiktok::model::{AfterSaleSearch, Cancellation, NextAction, Return};
use crate::tiktok::types::Id;

/// Which kind of request a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// A return, refund-only request or replacement (§10.2).
    Return,
    /// A buyer's cancellation request (§10.1).
    Cancellation,
}

/// Where a request stands, for the merchant (the tabs of the Returns screen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// TikTok waits for the seller's answer.
    NeedsAction,
    /// The buyer or the carrier moves next (shipping back, answering an offer).
    WithBuyer,
    /// TikTok's platform arbitration decides.
    Arbitration,
    /// Refunded, replaced, or the order cancelled.
    Completed,
    /// The seller rejected it.
    Rejected,
    /// Withdrawn by the buyer or closed by TikTok.
    Closed,
    /// A status this build does not know; kept and read again by the next poll.
    InProgress,
}

impl Stage {
    /// Every stage, in the order the tabs show them.
    pub const ALL: [Stage; 7] = [
        Stage::NeedsAction,
        Stage::WithBuyer,
        Stage::Arbitration,
        Stage::Completed,
        Stage::Rejected,
        Stage::Closed,
        Stage::InProgress,
    ];

    /// The tab's label.
    pub fn label(self) -> &'static str {
        match self {
            Stage::NeedsAction => "Needs your action",
            Stage::WithBuyer => "With the buyer",
            Stage::Arbitration => "In arbitration",
            Stage::Completed => "Completed",
            Stage::Rejected => "Rejected",
            Stage::Closed => "Closed",
            Stage::InProgress => "In progress",
        }
    }

    /// The name used in URLs (`?status=needs_action`).
    pub fn key(self) -> &'static str {
        match self {
            Stage::NeedsAction => "needs_action",
            Stage::WithBuyer => "with_buyer",
            Stage::Arbitration => "arbitration",
            Stage::Completed => "completed",
            Stage::Rejected => "rejected",
            Stage::Closed => "closed",
            Stage::InProgress => "in_progress",
        }
    }

    /// The stage named `key`, if any.
    pub fn from_key(key: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.key() == key)
    }
}

/// An after-sales amount: what the buyer gets back, in `currency`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Money {
    /// ISO 4217 code.
    pub currency: String,
    /// Total refunded to the buyer.
    pub total: Decimal,
    /// Of it, shipping.
    pub shipping: Decimal,
    /// Of it, tax.
    pub tax: Decimal,
}

/// One unit taken back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// TikTok order line item.
    pub order_line_item_id: String,
    /// TikTok SKU.
    pub sku_id: String,
    /// Seller SKU.
    pub seller_sku: String,
    /// Product name.
    pub product_name: String,
    /// SKU name (its options).
    pub sku_name: String,
    /// Product image URL.
    pub image_url: String,
    /// Refund of this unit.
    pub refund: Decimal,
}

/// Whether the returned units were put back in stock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restock {
    /// Not (yet) due.
    #[default]
    NotYet,
    /// The adjustment was sent; its answer not yet seen (a crash here is never repeated:
    /// a second adjustment could count the units twice).
    Started,
    /// Done (or nothing to move).
    Done,
}

/// What the request did in the store, each once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Effects {
    /// How many refunds the store order had before the connector's: set before the
    /// refund is created, so a retry after a lost answer finds it instead of refunding twice.
    pub refunds_before: Option<usize>,
    /// The store's refund id, once recorded.
    pub refund_id: Option<String>,
    /// The store status set after the refund (`refunded` / `partially_refunded`).
    pub store_status: Option<crate::store::OrderStatus>,
    /// The store status was set.
    pub status_set: bool,
    /// Whether the store put all the order's units back itself on that status.
    pub store_restocked: bool,
    /// Restock of what physically came back.
    pub restock: Restock,
    /// A buyer cancellation was carried to the store order.
    pub store_cancelled: bool,
    /// The store refused the refund (its reason is the record's problem): not tried
    /// again until the merchant asks.
    #[serde(default)]
    pub refund_refused: bool,
    /// The seller confirmed receiving the returned parcel (APPROVE_RECEIVED_PACKAGE
    /// through the connector): only then do its units go back in stock.
    #[serde(default)]
    pub received: bool,
    /// The stock moved, in words (`+2 × variant 1001`), once done.
    #[serde(default)]
    pub restocked: String,
}

/// One entry of a request's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When (Unix seconds).
    pub at: i64,
    /// What happened, in words.
    pub text: String,
}

/// Most timeline entries kept per request (the oldest go first).
const MAX_EVENTS: usize = 50;

/// A return, refund, replacement or buyer cancellation request of one TikTok order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AfterSale {
    /// Return or cancellation.
    pub kind: RequestKind,
    /// TikTok's `return_id` or `cancel_id`.
    pub id: String,
    /// Shop.
    pub shop_id: String,
    /// TikTok order id.
    pub order_id: String,
    /// The store order of that TikTok order, when the connector created one.
    pub store_order_id: Option<String>,
    /// `REFUND`, `RETURN_AND_REFUND`, `REPLACEMENT`; `BUYER_CANCEL`, `CANCEL`, … (as sent).
    pub request_type: String,
    /// TikTok's status, as sent.
    pub status: String,
    /// Who asked: `BUYER`, `SELLER`, `SYSTEM`, `OPERATOR`.
    pub role: String,
    /// The buyer's reason, in words.
    pub reason: String,
    /// `IN_PROGRESS`, `SUPPORT_BUYER`, `SUPPORT_SELLER`, `CLOSED`, or empty.
    pub arbitration_status: String,
    /// What TikTok waits for from the seller, until when.
    pub next_action: Option<NextAction>,
    /// What the buyer gets back.
    pub refund: Money,
    /// The seller's partial refund offer.
    pub partial_refund: Option<Decimal>,
    /// Units taken back.
    pub lines: Vec<Line>,
    /// Tracking number of the parcel back.
    pub tracking_number: String,
    /// The parcel came back (the buyer shipped it, seen at least once).
    pub shipped_back: bool,
    /// Created on TikTok (Unix seconds).
    pub created_at: i64,
    /// Last change on TikTok (Unix seconds).
    pub updated_at: i64,
    /// What it did in the store.
    #[serde(default)]
    pub effects: Effects,
    /// What the merchant should know or do, in words (a refused decision, a store
    /// refund that failed); `None` when all is well.
    #[serde(default)]
    pub problem: Option<String>,
    /// What happened, oldest first (at most [`MAX_EVENTS`]).
    #[serde(default)]
    pub timeline: Vec<Event>,
}

impl AfterSale {
    /// Where it stands.
    pub fn stage(&self) -> Stage {
        stage_of(
            self.kind,
            &self.status,
            &self.arbitration_status,
            self.next_action.is_some(),
        )
    }

    /// The status in words.
    pub fn status_words(&self) -> String {
        status_words(&self.status)
    }

    /// The request type in words.
    pub fn type_words(&self) -> &'static str {
        match (self.kind, self.request_type.as_str()) {
            (RequestKind::Cancellation, _) => "Cancellation",
            (_, "REFUND") => "Refund only",
            (_, "RETURN_AND_REFUND") => "Return and refund",
            (_, "REPLACEMENT") => "Replacement",
            _ => "Return",
        }
    }

    /// The filter name of its type (`?type=`): `refund`, `return`, `replacement`, `cancellation`.
    pub fn type_key(&self) -> &'static str {
        match (self.kind, self.request_type.as_str()) {
            (RequestKind::Cancellation, _) => "cancellation",
            (_, "REFUND") => "refund",
            (_, "REPLACEMENT") => "replacement",
            _ => "return",
        }
    }

    /// Adds a timeline entry (dropping the oldest past [`MAX_EVENTS`]).
    pub fn note(&mut self, text: impl Into<String>) {
        self.timeline.push(Event {
            at: unix_now(),
            text: text.into(),
        });
        if self.timeline.len() > MAX_EVENTS {
            self.timeline.remove(0);
        }
    }

    /// Whether TikTok refunded the buyer (the store refund is then due).
    pub fn refunded(&self) -> bool {
        match self.kind {
            RequestKind::Return => matches!(
                self.status.as_str(),
                "RETURN_OR_REFUND_REQUEST_SUCCESS"
                    | "RETURN_OR_REFUND_REQUEST_COMPLETE"
                    | "REPLACEMENT_REQUEST_REFUND_SUCCESS"
            ),
            RequestKind::Cancellation => false,
        }
    }

    /// Whether the order is cancelled by this request.
    pub fn cancelled(&self) -> bool {
        self.kind == RequestKind::Cancellation
            && matches!(
                self.status.as_str(),
                "CANCELLATION_REQUEST_SUCCESS" | "CANCELLATION_REQUEST_COMPLETE"
            )
    }
}

/// The stage of a status: the seller's pending answer first, arbitration next, then
/// by the status's family; anything unknown is [`Stage::InProgress`].
fn stage_of(kind: RequestKind, status: &str, arbitration: &str, seller_acts: bool) -> Stage {
    if arbitration == "IN_PROGRESS" {
        return Stage::Arbitration;
    }
    if seller_acts {
        return Stage::NeedsAction;
    }
    match status {
        "RETURN_OR_REFUND_REQUEST_PENDING" | "REPLACEMENT_REQUEST_PENDING" | "CANCELLATION_REQUEST_PENDING" => {
            Stage::NeedsAction
        }
        "AWAITING_BUYER_SHIP" | "BUYER_SHIPPED_ITEM" | "AWAITING_BUYER_RESPONSE" => Stage::WithBuyer,
        "RETURN_OR_REFUND_REQUEST_SUCCESS"
        | "RETURN_OR_REFUND_REQUEST_COMPLETE"
        | "REPLACEMENT_REQUEST_COMPLETE"
        | "REPLACEMENT_REQUEST_REFUND_SUCCESS"
        | "CANCELLATION_REQUEST_SUCCESS"
        | "CANCELLATION_REQUEST_COMPLETE" => Stage::Completed,
        "REFUND_OR_RETURN_REQUEST_REJECT" | "REJECT_RECEIVE_PACKAGE" | "REPLACEMENT_REQUEST_REJECT" => Stage::Rejected,
        "RETURN_OR_REFUND_REQUEST_CANCEL" | "REPLACEMENT_REQUEST_CANCEL" => Stage::Closed,
        // A rejected buyer cancellation and one the buyer withdrew both end as …_CANCEL(LED).
        "CANCELLATION_REQUEST_CANCEL" | "CANCELLATION_REQUEST_CANCELLED" if kind == RequestKind::Cancellation => {
            Stage::Closed
        }
        _ => Stage::InProgress,
    }
}

/// A TikTok after-sales status in words; unknown spellings are shown as sent.
pub fn status_words(status: &str) -> String {
    let words = match status {
        "RETURN_OR_REFUND_REQUEST_PENDING" => "Waiting for your answer",
        "REFUND_OR_RETURN_REQUEST_REJECT" => "Rejected",
        "AWAITING_BUYER_SHIP" => "Waiting for the buyer to ship it back",
        "BUYER_SHIPPED_ITEM" => "Shipped back by the buyer",
        "REJECT_RECEIVE_PACKAGE" => "Returned parcel rejected",
        "RETURN_OR_REFUND_REQUEST_SUCCESS" => "Refund approved",
        "RETURN_OR_REFUND_REQUEST_CANCEL" => "Withdrawn by the buyer",
        "RETURN_OR_REFUND_REQUEST_COMPLETE" => "Refunded",
        "AWAITING_BUYER_RESPONSE" => "Waiting for the buyer's answer to your offer",
        "REPLACEMENT_REQUEST_PENDING" => "Replacement waiting for your answer",
        "REPLACEMENT_REQUEST_REJECT" => "Replacement rejected",
        "REPLACEMENT_REQUEST_REFUND_SUCCESS" => "Refunded instead of replaced",
        "REPLACEMENT_REQUEST_CANCEL" => "Replacement withdrawn",
        "REPLACEMENT_REQUEST_COMPLETE" => "Replaced",
        "CANCELLATION_REQUEST_PENDING" => "Cancellation waiting for your answer",
        "CANCELLATION_REQUEST_SUCCESS" => "Cancelled",
        "CANCELLATION_REQUEST_COMPLETE" => "Cancelled and refunded",
        "CANCELLATION_REQUEST_CANCEL" | "CANCELLATION_REQUEST_CANCELLED" => "Cancellation closed",
        other => return format!("TikTok status {other}"),
    };
    words.to_string()
}

/// The record's key under the store.
fn record_sk(id: &str) -> String {
    format!("RETURN#{id}")
}

/// The store's after-sales counters (`stage:<stage>`), for the dashboard and the tabs.
const COUNTS: &str = "COUNTS#RETURNS";

/// The index partition of the requests waiting for the seller, by deadline.
fn action_index(store_id: &str) -> String {
    format!("ACTION#{store_id}")
}

fn record_item(store_id: &str, record: &AfterSale) -> Item {
    let item = Item::new(
        accounts::store_pk(store_id),
        record_sk(&record.id),
        serde_json::to_value(record).expect("after-sales records serialize"),
    );
    match (&record.next_action, record.stage()) {
        // A sparse index of what waits for the seller, earliest deadline first.
        (Some(next), Stage::NeedsAction) => item.with_index(
            action_index(store_id),
            format!("{:012}#{}", next.deadline.max(0), record.id),
        ),
        _ => item,
    }
}

/// The counter change of a record moving from stage `before` (none when new) to `after`.
fn stage_moves(pk: &str, before: Option<Stage>, after: Stage) -> Option<WriteOp> {
    if before == Some(after) {
        return None;
    }
    let out = before.map(|s| (format!("stage:{}", s.key()), -1));
    let into = Some((format!("stage:{}", after.key()), 1));
    add_counts(pk, COUNTS, out.into_iter().chain(into))
}

/// Writes a record whole (a new one; tests) and moves its stage counter. Records that
/// exist change through [`update`], so that a job and a merchant's answer never
/// overwrite each other's part.
pub async fn save(table: &dyn Table, store_id: &str, record: &AfterSale) -> Result<(), StorageError> {
    let pk = accounts::store_pk(store_id);
    let after = record.stage();
    put_counted(table, record_item(store_id, record), Vec::new(), |stored| {
        let before = stored
            .and_then(|i| serde_json::from_value::<AfterSale>(i.data.clone()).ok())
            .map(|r| r.stage());
        stage_moves(&pk, before, after).into_iter().collect()
    })
    .await
}

/// Changes a stored record with `change`, applied to the record as stored now: a
/// versioned write, read again and `change` applied again when another writer came
/// first. Returns the record as written (`None` when there is none).
pub async fn update(
    table: &dyn Table,
    store_id: &str,
    id: &str,
    mut change: impl FnMut(&mut AfterSale),
) -> Result<Option<AfterSale>, StorageError> {
    let pk = accounts::store_pk(store_id);
    loop {
        let Some(stored) = table.get(&pk, &record_sk(id)).await? else {
            return Ok(None);
        };
        let before: AfterSale = crate::storage::decode(&stored)?;
        let mut after = before.clone();
        change(&mut after);
        if after == before {
            return Ok(Some(after));
        }
        let mut item = record_item(store_id, &after);
        item.version = stored.version + 1;
        match table.put(item, Condition::Version(stored.version)).await {
            Ok(()) => {
                if let Some(WriteOp::Add { pk, sk, counts }) = stage_moves(&pk, Some(before.stage()), after.stage()) {
                    table.add(&pk, &sk, counts).await?;
                }
                return Ok(Some(after));
            }
            Err(StorageError::ConditionFailed { .. }) => continue,
            Err(error) => return Err(error),
        }
    }
}

/// Writes what a job did in the store (`effects`, `problem` and its timeline entries)
/// onto the stored record, leaving what TikTok or the merchant changed meanwhile.
pub async fn save_effects(table: &dyn Table, store_id: &str, record: &AfterSale) -> Result<(), StorageError> {
    update(table, store_id, &record.id, |stored| {
        // The receipt is the merchant's answer's to note, never a job's to undo.
        let received = stored.effects.received;
        stored.effects = record.effects.clone();
        stored.effects.received = received;
        stored.problem = record.problem.clone();
        for event in &record.timeline {
            if !stored.timeline.contains(event) {
                stored.timeline.push(event.clone());
            }
        }
        stored.timeline.sort_by_key(|e| e.at);
        let extra = stored.timeline.len().saturating_sub(MAX_EVENTS);
        stored.timeline.drain(..extra);
    })
    .await
    .map(drop)
}

/// One record of the store (`None` for another store's id: the key is the store's).
pub async fn get(table: &dyn Table, store_id: &str, id: &str) -> Result<Option<AfterSale>, StorageError> {
    let item = table.get(&accounts::store_pk(store_id), &record_sk(id)).await?;
    item.as_ref().map(crate::storage::decode).transpose()
}

/// Requests per stage (the counters; absent stages are 0).
pub async fn stage_counts(table: &dyn Table, store_id: &str) -> Result<HashMap<Stage, i64>, StorageError> {
    let item = table.get(&accounts::store_pk(store_id), COUNTS).await?;
    let named = item.as_ref().map(counters).unwrap_or_default();
    Ok(Stage::ALL
        .into_iter()
        .map(|s| (s, named.get(&format!("stage:{}", s.key())).copied().unwrap_or(0)))
        .collect())
}

/// The requests waiting for the seller whose deadline is still ahead and falls before
/// `until` (Unix seconds), earliest first (of the 100 earliest deadlines): the "answer
/// within 24 hours" notice. A passed deadline is TikTok's to decide, not the seller's.
pub async fn due_before(table: &dyn Table, store_id: &str, until: i64) -> Result<Vec<AfterSale>, StorageError> {
    let page = table.query(Query::index(action_index(store_id), "").limit(100)).await?;
    let records: Vec<AfterSale> = page
        .items
        .iter()
        .map(crate::storage::decode)
        .collect::<Result<_, _>>()?;
    Ok(records
        .into_iter()
        .filter(|r| {
            r.next_action
                .as_ref()
                .is_some_and(|n| n.deadline >= unix_now() && n.deadline < until)
        })
        .collect())
}

/// Every request of the store.
pub async fn all(table: &dyn Table, store_id: &str) -> Result<Vec<AfterSale>, StorageError> {
    let mut records = Vec::new();
    let mut cursor = None;
    loop {
        let page = table
            .query(
                Query::table(accounts::store_pk(store_id), "RETURN#")
                    .limit(1000)
                    .after(cursor),
            )
            .await?;
        for item in &page.items {
            records.push(crate::storage::decode(item)?);
        }
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(records),
        }
    }
}

/// What the Returns screen asks for (`?status=&type=&q=&page=`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReturnFilter {
    /// A [`Stage::key`]; empty for all.
    #[serde(default)]
    pub status: String,
    /// `refund`, `return`, `replacement` or `cancellation`; empty for all.
    #[serde(default, rename = "type")]
    pub request_type: String,
    /// Text found in the request id, order ids, SKU or product name.
    #[serde(default)]
    pub q: String,
    /// 1-based page.
    #[serde(default, deserialize_with = "crate::catalog::browse::optional_number")]
    pub page: Option<usize>,
}

/// Rows per page of the Returns screen.
pub const PAGE_SIZE: usize = 25;

/// One page of requests with the counts of the tabs.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    /// Requests per stage, of those the type and search let through.
    pub counts: Vec<(Stage, usize)>,
    /// The page's rows: waiting for the seller first (earliest deadline first), then the
    /// most recently changed.
    pub rows: Vec<AfterSale>,
    /// Rows matching in all.
    pub matching: usize,
    /// This page (1-based).
    pub page: usize,
    /// Pages in all (at least 1).
    pub pages: usize,
}

/// One page of the store's requests for `filter`. Reads every request of the store
/// (a few per hundred orders); the tab counts follow the type and search filters.
pub async fn list(table: &dyn Table, store_id: &str, filter: &ReturnFilter) -> Result<Listing, StorageError> {
    let query = filter.q.trim().to_lowercase();
    let mut records: Vec<AfterSale> = all(table, store_id)
        .await?
        .into_iter()
        .filter(|r| filter.request_type.is_empty() || r.type_key() == filter.request_type)
        .filter(|r| query.is_empty() || matches_text(r, &query))
        .collect();
    let counts = Stage::ALL
        .into_iter()
        .map(|s| (s, records.iter().filter(|r| r.stage() == s).count()))
        .collect();
    if let Some(stage) = Stage::from_key(&filter.status) {
        records.retain(|r| r.stage() == stage);
    }
    records.sort_by_key(|r| {
        let waiting = r.stage() == Stage::NeedsAction;
        let deadline = r.next_action.as_ref().map_or(i64::MAX, |n| n.deadline);
        (!waiting, if waiting { deadline } else { -r.updated_at })
    });
    let matching = records.len();
    let pages = matching.div_ceil(PAGE_SIZE).max(1);
    let page = filter.page.unwrap_or(1).clamp(1, pages);
    let rows = records
        .into_iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .collect();
    Ok(Listing {
        counts,
        rows,
        matching,
        page,
        pages,
    })
}

fn matches_text(record: &AfterSale, query: &str) -> bool {
    let ids = [&record.id, &record.order_id]
        .into_iter()
        .chain(record.store_order_id.as_ref());
    ids.into_iter().any(|id| id.to_lowercase().contains(query))
        || record
            .lines
            .iter()
            .any(|l| l.seller_sku.to_lowercase().contains(query) || l.product_name.to_lowercase().contains(query))
}

/// The request as TikTok holds it now, in the record's terms (without the connector's
/// own fields, which [`absorb`] keeps).
#[derive(Debug, Clone)]
pub enum Fetched {
    /// A return.
    Return(Box<Return>),
    /// A cancellation.
    Cancellation(Box<Cancellation>),
}

fn lines_of(items: &[crate::tiktok::model::AfterSaleLine]) -> Vec<Line> {
    items
        .iter()
        .map(|l| Line {
            order_line_item_id: l.order_line_item_id.to_string(),
            sku_id: l.sku_id.to_string(),
            seller_sku: l.seller_sku.clone(),
            product_name: l.product_name.clone(),
            sku_name: l.sku_name.clone(),
            image_url: l.product_image.as_ref().map(|i| i.url.clone()).unwrap_or_default(),
            refund: l.refund_amount.as_ref().map_or(Decimal::ZERO, |a| a.refund_total.0),
        })
        .collect()
}

fn money_of(amount: Option<&crate::tiktok::model::RefundAmount>) -> Money {
    amount.map_or_else(Money::default, |a| Money {
        currency: a.currency.clone(),
        total: a.refund_total.0,
        shipping: a.refund_shipping_fee.0,
        tax: a.refund_tax.0,
    })
}

/// The seller's next action, if TikTok waits for one.
fn next_of(actions: &[NextAction]) -> Option<NextAction> {
    actions.iter().find(|a| !a.action.is_empty()).cloned()
}

/// Merges what TikTok answered into the stored record (or a new one), keeping the
/// connector's own fields, and notes the change on the timeline. Returns the record
/// and whether TikTok's side changed.
fn absorb(existing: Option<AfterSale>, shop_id: &str, fetched: &Fetched, source: &str) -> (AfterSale, bool) {
    let (
        kind,
        id,
        order_id,
        request_type,
        status,
        role,
        reason,
        arbitration,
        next,
        refund,
        partial,
        lines,
        tracking,
        created,
        updated,
    ) = match fetched {
        Fetched::Return(r) => (
            RequestKind::Return,
            r.return_id.to_string(),
            r.order_id.to_string(),
            r.return_type.clone(),
            r.return_status.clone(),
            r.role.clone(),
            if r.return_reason_text.is_empty() {
                r.return_reason.clone()
            } else {
                r.return_reason_text.clone()
            },
            r.arbitration_status.clone(),
            next_of(&r.seller_next_action_response),
            money_of(r.refund_amount.as_ref()),
            r.partial_refund.as_ref().map(|p| p.amount.0),
            lines_of(&r.return_line_items),
            r.return_tracking_number.clone(),
            r.create_time,
            r.update_time,
        ),
        Fetched::Cancellation(c) => (
            RequestKind::Cancellation,
            c.cancel_id.to_string(),
            c.order_id.to_string(),
            c.cancel_type.clone(),
            c.cancel_status.clone(),
            c.role.clone(),
            if c.cancel_reason_text.is_empty() {
                c.cancel_reason.clone()
            } else {
                c.cancel_reason_text.clone()
            },
            String::new(),
            next_of(&c.seller_next_action_response),
            money_of(c.refund_amount.as_ref()),
            None,
            lines_of(&c.cancel_line_items),
            String::new(),
            c.create_time,
            c.update_time,
        ),
    };
    let mut record = existing.unwrap_or_else(|| AfterSale {
        kind,
        id: id.clone(),
        shop_id: shop_id.to_string(),
        order_id: order_id.clone(),
        store_order_id: None,
        request_type: request_type.clone(),
        status: String::new(),
        role: role.clone(),
        reason: reason.clone(),
        arbitration_status: String::new(),
        next_action: None,
        refund: Money::default(),
        partial_refund: None,
        lines: Vec::new(),
        tracking_number: String::new(),
        shipped_back: false,
        created_at: created,
        updated_at: 0,
        effects: Effects::default(),
        problem: None,
        timeline: Vec::new(),
    });
    // An older answer than the one kept (a late webhook's job) changes nothing.
    if updated < record.updated_at {
        return (record, false);
    }
    let changed = record.status != status
        || record.arbitration_status != arbitration
        || record.next_action != next
        || record.refund != refund
        || record.partial_refund != partial;
    if record.status != status {
        let text = if record.status.is_empty() {
            format!(
                "{} request received ({source}): {}",
                record_type_words(kind, &request_type),
                status_words(&status)
            )
        } else {
            format!("TikTok: {} ({source})", status_words(&status))
        };
        record.note(text);
    }
    if record.arbitration_status != arbitration && !arbitration.is_empty() {
        record.note(format!("TikTok arbitration: {arbitration}"));
    }
    record.request_type = request_type;
    record.shipped_back |= status == "BUYER_SHIPPED_ITEM" || !tracking.is_empty();
    record.status = status;
    record.role = role;
    record.reason = reason;
    record.arbitration_status = arbitration;
    record.next_action = next;
    record.refund = refund;
    record.partial_refund = partial;
    if !lines.is_empty() {
        record.lines = lines;
    }
    record.tracking_number = tracking;
    record.updated_at = updated;
    (record, changed)
}

fn record_type_words(kind: RequestKind, request_type: &str) -> &'static str {
    match (kind, request_type) {
        (RequestKind::Cancellation, _) => "Cancellation",
        (_, "REFUND") => "Refund-only",
        (_, "REPLACEMENT") => "Replacement",
        _ => "Return",
    }
}

/// One page of Search Returns or Search Cancellations for `filter`, and the next token.
async fn search(
    app: &App,
    shop: &ShopRecord,
    kind: RequestKind,
    filter: &AfterSaleSearch,
    page_size: u32,
    token: Option<&str>,
) -> Result<(Vec<Fetched>, Option<String>), ShopError> {
    let tiktok = &app.tiktok;
    Ok(match kind {
        RequestKind::Return => {
            let page = with_shop(app, shop, |auth| async move {
                tiktok.search_returns(&auth, filter, page_size, token).await
            })
            .await?;
            let items = page.items.into_iter().map(|r| Fetched::Return(Box::new(r))).collect();
            (items, page.next_page_token)
        }
        RequestKind::Cancellation => {
            let page = with_shop(app, shop, |auth| async move {
                tiktok.search_cancellations(&auth, filter, page_size, token).await
            })
            .await?;
            let items = page
                .items
                .into_iter()
                .map(|c| Fetched::Cancellation(Box::new(c)))
                .collect();
            (items, page.next_page_token)
        }
    })
}

impl Fetched {
    /// (kind, request id, order id, update time).
    fn key(&self) -> (RequestKind, String, String, i64) {
        match self {
            Fetched::Return(r) => (
                RequestKind::Return,
                r.return_id.to_string(),
                r.order_id.to_string(),
                r.update_time,
            ),
            Fetched::Cancellation(c) => (
                RequestKind::Cancellation,
                c.cancel_id.to_string(),
                c.order_id.to_string(),
                c.update_time,
            ),
        }
    }
}

/// Reads one request from TikTok (`None` when TikTok does not know it).
pub async fn fetch(app: &App, shop: &ShopRecord, kind: RequestKind, id: &str) -> Result<Option<Fetched>, ShopError> {
    let ids = Some(vec![Id::from(id)]);
    let filter = match kind {
        RequestKind::Return => AfterSaleSearch {
            return_ids: ids,
            ..AfterSaleSearch::default()
        },
        RequestKind::Cancellation => AfterSaleSearch {
            cancel_ids: ids,
            ..AfterSaleSearch::default()
        },
    };
    let (found, _) = search(app, shop, kind, &filter, 10, None).await?;
    Ok(found.into_iter().find(|f| f.key().1 == id))
}

/// Re-reads a request from TikTok and stores what it says; returns the record (`None`
/// when TikTok does not know it). `source` names what prompted it (webhook, poll, …).
pub async fn refresh(
    app: &App,
    store: &StoreRecord,
    shop: &ShopRecord,
    kind: RequestKind,
    id: &str,
    source: &str,
) -> Result<Option<AfterSale>, JobError> {
    let table = app.table.as_ref();
    let Some(fetched) = fetch(app, shop, kind, id).await.map_err(crate::orders::shop_failure)? else {
        return Ok(None);
    };
    let (_, _, order_id, _) = fetched.key();
    let store_order_id = crate::orders::get_record(table, &store.store_id, &order_id)
        .await?
        .and_then(|o| o.store_order_id);
    let merge = |existing: Option<AfterSale>| {
        let (mut record, _) = absorb(existing, &shop.shop_id, &fetched, source);
        if record.store_order_id.is_none() {
            record.store_order_id = store_order_id.clone();
        }
        record
    };
    let mut before = None;
    let updated = update(table, &store.store_id, id, |stored| {
        before = Some(stored.status.clone());
        *stored = merge(Some(stored.clone()))
    })
    .await?;
    let record = match updated {
        Some(record) => record,
        None => {
            let record = merge(None);
            save(table, &store.store_id, &record).await?;
            record
        }
    };
    if before.as_ref() != Some(&record.status) && !record.status.is_empty() {
        // Ids and the status only: the buyer's reason and items stay out of the log.
        let summary = format!(
            "{} request {} of order {} on shop {}: {} (seen through the {source})",
            record.type_words(),
            record.id,
            record.order_id,
            record.shop_id,
            record.status_words()
        );
        let key = format!("after-sale-{}-{}", record.id, record.status);
        let entry = crate::journal::Entry::now(crate::journal::LogKind::Returns, summary);
        crate::journal::note(table, &store.store_id, entry, Some(&key)).await;
    }
    Ok(Some(record))
}

/// The job of one request (a webhook's or a poll's): re-read it, apply the shop's
/// automatic rules, then carry what TikTok decided to the store, once.
pub async fn handle(app: &App, job: Job) -> Result<(), JobError> {
    let table = app.table.as_ref();
    let Some(store) = accounts::get_store(table, &job.tenant).await? else {
        return Ok(());
    };
    if store.status != accounts::StoreStatus::Installed {
        return Ok(());
    }
    let shop_id = job.shop.clone().unwrap_or_default();
    let Some(shop) = accounts::get_shop(table, &store.store_id, &shop_id).await? else {
        tracing::warn!(shop = %shop_id, "after-sales job of a shop that is not connected; acknowledged");
        return Ok(());
    };
    let (kind, id) = job_target(&job.payload).ok_or_else(|| JobError::Malformed("no return_id or cancel_id".into()))?;
    let source = job.payload["source"].as_str().unwrap_or("webhook").to_string();
    let Some(record) = refresh(app, &store, &shop, kind, &id, &source).await? else {
        tracing::warn!(request = %id, "TikTok does not know the after-sales request; acknowledged");
        return Ok(());
    };
    let record = decisions::apply_rules(app, &store, &shop, record).await?;
    effects::apply(app, &store, &shop, record).await
}

/// The request a job payload names: `{"kind", "id"}` (polls, decisions) or a webhook's
/// `data` (`return_id` for topic 12, `cancel_id` for topic 11).
fn job_target(payload: &serde_json::Value) -> Option<(RequestKind, String)> {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if let (Ok(kind), Some(id)) = (
        serde_json::from_value::<RequestKind>(payload["kind"].clone()),
        text(&payload["id"]),
    ) {
        return Some((kind, id));
    }
    let data = &payload["data"];
    text(&data["return_id"])
        .map(|id| (RequestKind::Return, id))
        .or_else(|| text(&data["cancel_id"]).map(|id| (RequestKind::Cancellation, id)))
}

/// Enqueues a re-read of one request, in its order's FIFO group (so it runs after the
/// order's own jobs and never beside another job of the same order).
pub async fn enqueue(
    app: &App,
    store_id: &str,
    record: (&str, &str, RequestKind, &str),
    source: &str,
    key: String,
) -> Result<(), JobError> {
    let (shop_id, order_id, kind, id) = record;
    let payload = serde_json::json!({"kind": kind, "id": id, "order_id": order_id, "source": source});
    let job = Job::new(JobKind::AfterSale, store_id, key, payload)
        .for_shop(shop_id)
        .in_group(crate::orders::order_group(shop_id, order_id));
    app.order_queue.send(&[job], Duration::ZERO).await?;
    Ok(())
}

/// Polls every shop's returns and cancellations changed since its watermark (with a
/// 5-minute overlap) and enqueues a re-read of each: the safety net for the webhooks
/// TikTok stops sending after 4 failed deliveries. Returns how many were enqueued.
pub async fn poll_all(app: &App) -> Result<usize, JobError> {
    crate::shops::each_shop(app, "after-sales poll", |store_id, shop_id| async move {
        poll_shop(app, &store_id, &shop_id).await
    })
    .await
}

/// How far back a shop's first after-sales poll looks (14 days, seconds): requests
/// still open when the shop connects (returns stay open for days) are found too.
const FIRST_LOOK_BACK: i64 = 14 * 86_400;

async fn poll_shop(app: &App, store_id: &str, shop_id: &str) -> Result<usize, JobError> {
    let table = app.table.as_ref();
    let Some(cursor) = crate::shops::PollCursor::open(table, store_id, shop_id, "RETURNS", FIRST_LOOK_BACK).await?
    else {
        return Ok(0);
    };
    let filter = AfterSaleSearch {
        update_time_ge: Some(cursor.since),
        ..AfterSaleSearch::default()
    };
    let mut found: Vec<(RequestKind, String, String, i64)> = Vec::new();
    for kind in [RequestKind::Return, RequestKind::Cancellation] {
        let mut page_token: Option<String> = None;
        loop {
            let page = search(app, &cursor.shop, kind, &filter, 50, page_token.as_deref())
                .await
                .map_err(crate::orders::shop_failure)?;
            found.extend(page.0.iter().map(Fetched::key));
            match page.1 {
                Some(next) => page_token = Some(next),
                None => break,
            }
        }
    }
    for (kind, id, order_id, update_time) in &found {
        // The same request at the same update time is one job, however often it is polled.
        let key = format!("aftersale-{id}-{update_time}");
        enqueue(app, store_id, (shop_id, order_id, *kind, id), "poll", key).await?;
    }
    // A status this build did not know is read again at every poll, changed or not.
    if stage_counts(table, store_id)
        .await?
        .get(&Stage::InProgress)
        .copied()
        .unwrap_or(0)
        > 0
    {
        let polled_at = unix_now();
        for record in all(table, store_id).await? {
            if record.shop_id == shop_id && record.stage() == Stage::InProgress {
                let key = format!("aftersale-{}-unknown-{polled_at}", record.id);
                let target = (shop_id, record.order_id.as_str(), record.kind, record.id.as_str());
                enqueue(app, store_id, target, "poll", key).await?;
            }
        }
    }
    cursor.advance(table, found.iter().map(|f| f.3)).await?;
    Ok(found.len())
}

/// A refund made in the store on a TikTok order: TikTok is never told silently (the
/// buyer's money moves only on TikTok), so the order shows it as a reason for the
/// merchant. The connector's own refunds (a TikTok return it recorded) are known by
/// the return's record and change nothing.
pub async fn note_store_refund(table: &dyn Table, store: &StoreRecord, store_order_id: &str) -> Result<(), JobError> {
    let Some(mut record) = crate::orders::record_of_store_order(table, &store.store_id, store_order_id).await? else {
        return Ok(());
    };
    let ours = all(table, &store.store_id)
        .await?
        .iter()
        // From the moment the connector asks for a refund (the store may move the status as
        // it creates it), the order's refund status is the connector's own.
        .any(|r| r.order_id == record.tiktok_order_id && r.effects.refunds_before.is_some());
    if ours {
        return Ok(());
    }
    let reason = format!(
        "Store order {store_order_id} was refunded in the store; TikTok was not told. If the buyer should get money back, refund them from TikTok Seller Center or approve their request under Returns."
    );
    if record.reason.as_deref() == Some(reason.as_str()) {
        return Ok(());
    }
    record.reason = Some(reason.clone());
    let order_id = record.tiktok_order_id.clone();
    crate::orders::save_record(table, &store.store_id, record).await?;
    crate::orders::timeline::note(
        table,
        &store.store_id,
        &order_id,
        crate::orders::timeline::EventKind::StoreWrite,
        false,
        reason,
    )
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_stages_and_unknown_spellings_stay_in_progress() {
        let stage = |status: &str| stage_of(RequestKind::Return, status, "", false);
        assert_eq!(stage("RETURN_OR_REFUND_REQUEST_PENDING"), Stage::NeedsAction);
        assert_eq!(stage("AWAITING_BUYER_SHIP"), Stage::WithBuyer);
        assert_eq!(stage("RETURN_OR_REFUND_REQUEST_COMPLETE"), Stage::Completed);
        assert_eq!(stage("REFUND_OR_RETURN_REQUEST_REJECT"), Stage::Rejected);
        assert_eq!(stage("RETURN_OR_REFUND_REQUEST_CANCEL"), Stage::Closed);
        assert_eq!(stage("RETURN_OR_REFUND__REQUEST_CANCELLED"), Stage::InProgress);
        assert_eq!(status_words("SOMETHING_NEW"), "TikTok status SOMETHING_NEW");
        assert_eq!(
            stage_of(RequestKind::Return, "BUYER_SHIPPED_ITEM", "", true),
            Stage::NeedsAction,
            "the seller's pending answer comes first"
        );
        assert_eq!(
            stage_of(RequestKind::Return, "REJECT_RECEIVE_PACKAGE", "IN_PROGRESS", false),
            Stage::Arbitration
        );
        assert_eq!(
            stage_of(RequestKind::Cancellation, "CANCELLATION_REQUEST_CANCELLED", "", false),
            Stage::Closed
        );
    }

    #[test]
    fn webhook_and_queued_payloads_name_their_request() {
        let webhook = serde_json::json!({"topic": 12, "data": {"return_id": "577", "order_id": "1"}});
        assert_eq!(job_target(&webhook), Some((RequestKind::Return, "577".into())));
        let webhook = serde_json::json!({"topic": 11, "data": {"cancel_id": 578u64}});
        assert_eq!(job_target(&webhook), Some((RequestKind::Cancellation, "578".into())));
        let queued = serde_json::json!({"kind": "cancellation", "id": "9"});
        assert_eq!(job_target(&queued), Some((RequestKind::Cancellation, "9".into())));
        assert_eq!(job_target(&serde_json::json!({"data": {}})), None);
    }

    #[tokio::test]
    async fn an_answer_and_a_job_writing_at_once_both_land() {
        let table = crate::storage::embedded::EmbeddedTable::in_memory().unwrap();
        let fresh: Return = serde_json::from_value(serde_json::json!({
            "return_id": "7", "order_id": "2", "return_type": "REFUND",
            "return_status": "RETURN_OR_REFUND_REQUEST_PENDING", "update_time": 100,
            "seller_next_action_response": [{"action": "SELLER_RESPOND_REFUND", "deadline": 999}]}))
        .unwrap();
        let (record, _) = absorb(None, "shop", &Fetched::Return(Box::new(fresh)), "webhook");
        save(&table, "store", &record).await.unwrap();
        // The job read the record, then the merchant's answer noted itself, then the job
        // wrote its effects from its older copy: both survive.
        let mut job_copy = get(&table, "store", "7").await.unwrap().unwrap();
        update(&table, "store", "7", |r| {
            r.status = "RETURN_OR_REFUND_REQUEST_COMPLETE".into();
            r.next_action = None;
            r.note("Approved the refund, by you.");
        })
        .await
        .unwrap();
        job_copy.effects.refund_id = Some("10013".into());
        job_copy.note("Refund recorded.");
        save_effects(&table, "store", &job_copy).await.unwrap();
        let stored = get(&table, "store", "7").await.unwrap().unwrap();
        assert_eq!(
            stored.status, "RETURN_OR_REFUND_REQUEST_COMPLETE",
            "the answer's status stays"
        );
        assert_eq!(
            stored.effects.refund_id.as_deref(),
            Some("10013"),
            "the job's effects land"
        );
        assert_eq!(stored.timeline.len(), 3);
        let counts = stage_counts(&table, "store").await.unwrap();
        assert_eq!((counts[&Stage::NeedsAction], counts[&Stage::Completed]), (0, 1));
    }

    #[test]
    fn a_late_answer_changes_nothing() {
        let newer: Return = serde_json::from_value(serde_json::json!({
            "return_id": "1", "order_id": "2", "return_type": "REFUND",
            "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE", "update_time": 200}))
        .unwrap();
        let older: Return = serde_json::from_value(serde_json::json!({
            "return_id": "1", "order_id": "2", "return_type": "REFUND",
            "return_status": "RETURN_OR_REFUND_REQUEST_PENDING", "update_time": 100,
            "seller_next_action_response": [{"action": "SELLER_RESPOND_REFUND", "deadline": 999}]}))
        .unwrap();
        let (record, changed) = absorb(None, "shop", &Fetched::Return(Box::new(newer)), "poll");
        assert!(changed);
        let (again, changed) = absorb(
            Some(record.clone()),
            "shop",
            &Fetched::Return(Box::new(older)),
            "webhook",
        );
        assert!(!changed);
        assert_eq!(again, record);
        assert_eq!(record.stage(), Stage::Completed);
        assert_eq!(record.timeline.len(), 1);
    }
}
