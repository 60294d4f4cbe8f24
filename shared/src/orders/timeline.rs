//! An order's timeline: every webhook, poll, store write, retry, shipment and
//! cancellation the connector handled for one TikTok order, with its time and outcome,
//! as the order detail screen lists it. One small item per event
//! (`OEVENT#<order id>#<Unix milliseconds, 14 digits>#<random>` in the store's
//! timeline partition), so events are appended without
//! reading the order record, and the record's own writes never race them. No buyer data
//! goes into an event.

use serde::{Deserialize, Serialize};

use crate::accounts;
use crate::storage::{Condition, Item, Query, StorageError, Table, unix_now};

/// What happened to the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The order was read from TikTok (after a webhook, a poll, a fetch or a retry).
    Read,
    /// The store order was created, updated or cancelled.
    StoreWrite,
    /// The order could not be created or followed; it will be retried or waits.
    Failed,
    /// A retry (the merchant's or automatic).
    Retry,
    /// A store shipment went to TikTok (or was refused).
    Shipment,
    /// A cancellation sent to TikTok.
    Cancel,
}

impl EventKind {
    /// The merchant's word for the kind.
    pub fn words(self) -> &'static str {
        match self {
            EventKind::Read => "Read from TikTok",
            EventKind::StoreWrite => "Store",
            EventKind::Failed => "Problem",
            EventKind::Retry => "Retry",
            EventKind::Shipment => "Shipment",
            EventKind::Cancel => "Cancellation",
        }
    }
}

/// One event of an order's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When (Unix seconds).
    pub at: i64,
    /// What.
    pub kind: EventKind,
    /// Whether it went through.
    pub ok: bool,
    /// What happened, in words (ids, statuses, reasons; never buyer data).
    pub text: String,
}

/// The most events one order keeps on screen (the oldest are dropped from view).
pub const EVENTS_SHOWN: usize = 200;

/// The partition of a store's order timelines, beside the store's own:
/// `STORE#<hash>#ORDEREVENTS`.
fn events_pk(store_id: &str) -> String {
    format!("{}#ORDEREVENTS", accounts::store_pk(store_id))
}

fn prefix(tiktok_order_id: &str) -> String {
    format!("OEVENT#{tiktok_order_id}#")
}

/// Appends an event to a TikTok order's timeline. Best effort: a failure is logged,
/// never returned, so a timeline never holds up (or repeats) the work it describes;
/// callers note an event after the write it records.
pub async fn note(
    table: &dyn Table,
    store_id: &str,
    tiktok_order_id: &str,
    kind: EventKind,
    ok: bool,
    text: impl Into<String>,
) {
    let at = unix_now();
    // Milliseconds in the key keep the events of one second in the order they happened.
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let random = uuid::Uuid::new_v4().simple().to_string();
    let event = Event {
        at,
        kind,
        ok,
        text: text.into(),
    };
    let sk = format!("{}{millis:014}#{}", prefix(tiktok_order_id), &random[..8]);
    let item = Item::new(events_pk(store_id), sk, crate::storage::encode(&event));
    if let Err(error) = table.put(item, Condition::None).await {
        tracing::warn!(store = %store_id, order = %tiktok_order_id, %error, "order timeline event not written");
    }
}

/// A TikTok order's timeline, oldest first (the latest [`EVENTS_SHOWN`]).
pub async fn events(table: &dyn Table, store_id: &str, tiktok_order_id: &str) -> Result<Vec<Event>, StorageError> {
    let page = table
        .query(
            Query::table(events_pk(store_id), prefix(tiktok_order_id))
                .limit(EVENTS_SHOWN)
                .descending(),
        )
        .await?;
    let mut events = page
        .items
        .iter()
        .map(crate::storage::decode)
        .collect::<Result<Vec<Event>, _>>()?;
    events.reverse();
    Ok(events)
}
