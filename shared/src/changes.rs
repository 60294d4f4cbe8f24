//! Changes in a store, however the connector learns them: a verified webhook delivery
//! ([`crate::store::StorePlatform::parse_webhook`], from the HTTP layer) or the store poller
//! ([`crate::store::StorePlatform::changes`], on a schedule). Each change is handled once per
//! de-duplication key and becomes queued work (a product import, a coalesced stock
//! sync, a store order status or shipment job); an uninstall purges the store. The
//! same code serves every platform: what differs is only how a change arrives.

use std::str::FromStr;
use std::time::Duration;

use crate::accounts::{self, StoreRecord, StoreStatus};
use crate::app::App;
use crate::catalog::{self, sync::ImportPayload};
use crate::queue::{Job, JobError, JobKind};
use crate::storage::idempotency::{self, Once, OnceError};
use crate::storage::{Condition, Item, StorageError, unix_now};
use crate::store::{OrderStatus, StoreChange, StoreEvent};

/// How long a store change stays de-duplicated: one hour. A key may collide for two
/// real events in one second on platforms whose deliveries carry no event id, so the
/// window is kept short: it covers duplicate copies and the first retries of a
/// delivery whose answer was lost (BigCommerce: 1, 4, 9, 19 and 34 minutes after it,
/// reference §1.8) and the overlap of two polls; a later repeat is handled again
/// harmlessly, because every job re-reads the store's current state.
pub const DEDUP_TTL: Duration = Duration::from_secs(3600);
/// How long one intake may hold a change before another may take it over.
const LEASE: Duration = Duration::from_secs(30);
/// Pages of changes one poll of one store reads at most (the next poll goes on).
const POLL_PAGES: usize = 20;
/// How long one run of [`poll_all`] starts new stores for (the function's timeout is
/// 60 s; a store begun finishes its pages).
const POLL_BUDGET: Duration = Duration::from_secs(40);

/// Why a change could not be handled (the sender retries, or the next poll reads it again).
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The table failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The work could not be queued.
    #[error("the change could not be queued: {0}")]
    Queue(String),
    /// The store could not be read (polling).
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl From<OnceError<ChangeError>> for ChangeError {
    fn from(error: OnceError<ChangeError>) -> Self {
        match error {
            OnceError::Storage(error) => Self::Storage(error),
            OnceError::Work(error) => error,
        }
    }
}

/// Handles `change` of `store` once per its [`StoreChange::dedupe_key`] within
/// [`DEDUP_TTL`] in `scope` (`bigcommerce-webhook`, `store-poll`, …): a duplicate does
/// nothing. Errors: the claim's storage, or the work's ([`ChangeError`]); the claim is
/// then given back, so a retried delivery (or the next poll) handles it.
pub async fn accept(app: &App, store: &StoreRecord, change: &StoreChange, scope: &str) -> Result<Once, ChangeError> {
    let work = || apply(app, store, change);
    Ok(idempotency::once(app.table.as_ref(), scope, &change.dedupe_key, LEASE, DEDUP_TTL, work).await?)
}

/// What a change becomes: queued work, a stock sync request, or the uninstall.
async fn apply(app: &App, store: &StoreRecord, change: &StoreChange) -> Result<(), ChangeError> {
    let store_id = &store.store_id;
    let (kind, payload) = match &change.event {
        StoreEvent::AppUninstalled => return uninstall(app, store_id).await,
        StoreEvent::Product { topic, product_id } => {
            let request = ImportPayload {
                product_id: Some(product_id.clone()),
                topic: Some(*topic),
                ..ImportPayload::default()
            };
            (
                JobKind::ImportProducts,
                serde_json::to_value(request).expect("payload serializes"),
            )
        }
        StoreEvent::Inventory { .. } if !store.settings.sync_fields.stock => {
            tracing::info!(store = %store_id, "stock change not synced: the merchant's sync rules exclude stock");
            return Ok(());
        }
        StoreEvent::Inventory { product_id, .. } => {
            // Coalesced: a burst of stock changes becomes one TikTok call.
            return catalog::sync::request_stock_sync(app, store_id, product_id)
                .await
                .map(drop)
                .map_err(|error| ChangeError::Queue(error.to_string()));
        }
        StoreEvent::OrderStatus { .. } => (
            JobKind::StoreOrderStatus,
            serde_json::to_value(&change.event).expect("events serialize"),
        ),
        StoreEvent::Shipment { .. } => (
            JobKind::PushShipment,
            serde_json::to_value(&change.event).expect("events serialize"),
        ),
        StoreEvent::Other { scope } => {
            tracing::info!(scope = %scope, "store change not used by the connector; acknowledged");
            return Ok(());
        }
    };
    // Store order events are ordered per order, so one stuck order never holds up the others.
    let group = match &change.event {
        StoreEvent::OrderStatus { order_id, .. } | StoreEvent::Shipment { order_id, .. } => {
            format!("{store_id}/order/{order_id}")
        }
        _ => store_id.clone(),
    };
    let job = Job::new(kind, store_id, &change.dedupe_key, payload).in_group(group);
    app.queue_for(job.kind)
        .send(&[job], Duration::ZERO)
        .await
        .map_err(|error| ChangeError::Queue(error.to_string()))
}

/// Runs a [`JobKind::StoreOrderStatus`] job: an order the merchant cancelled in the
/// store is cancelled on TikTok too; a refund made in the store is shown on the order
/// unless it is the connector's own (a TikTok return it recorded). Other statuses
/// change nothing, as does anything for a store no longer installed. Errors: as the
/// cancellation's and the record's.
pub async fn store_order_status(app: &App, job: Job) -> Result<(), JobError> {
    let Some(store) = accounts::get_store(app.table.as_ref(), &job.tenant)
        .await?
        .filter(|store| store.status == StoreStatus::Installed)
    else {
        return Ok(());
    };
    let event: StoreEvent = serde_json::from_value(job.payload).map_err(|e| JobError::Malformed(e.to_string()))?;
    match event {
        StoreEvent::OrderStatus {
            order_id,
            new_status: Some(OrderStatus::Cancelled),
        } => crate::orders::cancel_on_tiktok(app, &store, &order_id).await,
        StoreEvent::OrderStatus {
            order_id,
            new_status: Some(OrderStatus::Refunded | OrderStatus::PartiallyRefunded),
        } => crate::returns::note_store_refund(app.table.as_ref(), &store, &order_id).await,
        _ => Ok(()),
    }
}

/// Purges a store: its webhooks (best effort: platforms drop them on uninstall too),
/// tokens and personal data; marks it uninstalled so no scheduled work finds it.
/// Errors: the table's.
pub async fn uninstall(app: &App, store_id: &str) -> Result<(), ChangeError> {
    if let Some(store) = accounts::get_store(app.table.as_ref(), store_id).await?
        && store.status == StoreStatus::Installed
        && let Ok(platform) = crate::platforms::open(app, &store)
        && let Err(error) = platform.unsubscribe_webhooks().await
    {
        tracing::warn!(store = store_id, %error, "webhooks could not be removed; the platform drops them on uninstall");
    }
    accounts::purge_store(app.table.as_ref(), store_id).await?;
    // A reinstall starts the feed afresh instead of replaying the months between.
    app.table
        .delete(&accounts::store_pk(store_id), POLL_CURSOR, Condition::None)
        .await?;
    tracing::info!(store = store_id, "store uninstalled and purged");
    Ok(())
}

/// Whether a polled change is one the connector already has: a product (or its stock)
/// changed no later than the copy a webhook already brought in.
async fn known(table: &dyn crate::storage::Table, store_id: &str, change: &StoreChange) -> Result<bool, StorageError> {
    let (StoreEvent::Product { product_id, .. } | StoreEvent::Inventory { product_id, .. }) = &change.event else {
        return Ok(false);
    };
    let Some(stored) = catalog::records::get_product(table, store_id, product_id).await? else {
        return Ok(false);
    };
    let stored_at = jiff::Timestamp::from_str(&stored.date_modified).map(|t| t.as_second());
    Ok(stored_at.is_ok_and(|stored_at| stored_at >= change.created_at))
}

/// The item keeping a store's poll cursor (under the store's partition).
const POLL_CURSOR: &str = "CURSOR#STORE";

/// Polls one store's changes from its saved cursor ([`crate::store::StorePlatform::changes`]; the
/// first poll only opens the cursor) and handles each once, saving the cursor
/// after every page. Returns how many changes were handled: not the duplicates of an
/// earlier poll, nor a product (or its stock) no newer than the copy a webhook
/// already brought in. Errors: the store's or the table's;
/// the cursor stays where the last handled page left it.
pub async fn poll(app: &App, store: &StoreRecord) -> Result<usize, ChangeError> {
    let table = app.table.as_ref();
    let platform = crate::platforms::open(app, store)?;
    let pk = accounts::store_pk(&store.store_id);
    let mut cursor = table
        .get(&pk, POLL_CURSOR)
        .await?
        .and_then(|item| item.data["cursor"].as_str().map(str::to_string));
    let mut handled = 0;
    for _ in 0..POLL_PAGES {
        let page = platform.changes(cursor.as_deref()).await?;
        for change in &page.changes {
            if known(table, &store.store_id, change).await? {
                continue;
            }
            let keyed = StoreChange {
                dedupe_key: format!("{}/{}", store.store_id, change.dedupe_key),
                ..change.clone()
            };
            if accept(app, store, &keyed, "store-poll").await? == Once::Ran {
                handled += 1;
            }
        }
        let data = serde_json::json!({"cursor": page.cursor, "polled_at": unix_now()});
        table
            .put(Item::new(pk.clone(), POLL_CURSOR, data), Condition::None)
            .await?;
        cursor = Some(page.cursor);
        if !page.more {
            break;
        }
    }
    Ok(handled)
}

/// Opens a store's change feed unless it is open: the poller's first run would
/// otherwise only open it then, and what changed in the store between its connection
/// and that run would be read by no poll (a store without webhooks, Magento's, learns
/// every change from its feed). Called when a store is connected, before its catalogue
/// is imported; an open feed is left where it is. Errors: the store's or the table's.
pub async fn open_feed(app: &App, store: &StoreRecord) -> Result<(), ChangeError> {
    let table = app.table.as_ref();
    let pk = accounts::store_pk(&store.store_id);
    if table.get(&pk, POLL_CURSOR).await?.is_some() {
        return Ok(());
    }
    let page = crate::platforms::open(app, store)?.changes(None).await?;
    let data = serde_json::json!({"cursor": page.cursor, "polled_at": unix_now()});
    match table.put(Item::new(pk, POLL_CURSOR, data), Condition::Absent).await {
        // A poll opened it meanwhile: its cursor stands.
        Ok(()) | Err(StorageError::ConditionFailed { .. }) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// [`poll`] for every installed store with a connected shop, one after the other: the change feed of
/// platforms without webhooks, and the recovery of deliveries the others dropped. A
/// store whose poll fails is logged and the others go on. Returns the changes handled.
/// Errors: listing the stores.
pub async fn poll_all(app: &App) -> Result<usize, StorageError> {
    let table = app.table.as_ref();
    let mut stores: Vec<String> = accounts::stores_with_shops(table).await?.into_iter().collect();
    // A different order each run: a store that takes long never keeps the same others
    // waiting behind it, run after run.
    rand::seq::SliceRandom::shuffle(stores.as_mut_slice(), &mut rand::rng());
    let started = std::time::Instant::now();
    let mut handled = 0;
    for (done, store_id) in stores.iter().enumerate() {
        if started.elapsed() > POLL_BUDGET {
            tracing::warn!(
                polled = done,
                waiting = stores.len() - done,
                "store poll out of time; the rest wait for the next run"
            );
            break;
        }
        let store = match accounts::get_store(table, store_id).await {
            Ok(Some(store)) if store.status == StoreStatus::Installed => store,
            Ok(_) => continue,
            Err(error) => {
                tracing::warn!(store = %store_id, %error, "store poll skipped: the store could not be read");
                continue;
            }
        };
        match poll(app, &store).await {
            Ok(count) => handled += count,
            Err(error) => tracing::warn!(store = %store_id, %error, "store poll failed"),
        }
    }
    Ok(handled)
}
