//! What the merchant does to one TikTok order from the orders screens: cancel it on
//! TikTok with a reason valid for its status, re-sync it, fetch one by id, and sync
//! the missed orders of a date range. Each fetch and range sync is an activity, so
//! the merchant sees how many orders it queued.

use serde::Serialize;

use super::timeline::{self, EventKind};
use super::{enqueue_sync, get_record, shop_failure};
use crate::accounts::{self, ShopRecord, StoreRecord};
use crate::app::App;
use crate::catalog::records::{self, Activity};
use crate::queue::JobError;
use crate::shops::{ShopError, with_shop};
use crate::storage::StorageError;
use crate::tiktok::model::{CancelOrder, OrderSearch};
use crate::tiktok::types::{Id, OrderStatus};

/// TikTok's US seller cancel reasons for an unpaid order (reference §10.1).
const UNPAID_REASONS: [(&str, &str); 4] = [
    ("seller_cancel_unpaid_reason_out_of_stock", "Out of stock"),
    ("seller_cancel_unpaid_reason_wrong_price", "Wrong price"),
    (
        "seller_cancel_unpaid_reason_buyer_hasnt_paid_within_time_allowed",
        "Buyer has not paid in time",
    ),
    (
        "seller_cancel_unpaid_reason_buyer_requested_cancellation",
        "Buyer asked to cancel",
    ),
];

/// TikTok's US seller cancel reasons for a paid order not yet shipped (reference §10.1):
/// the reasons the store's own cancellations send ([`super::CancelReason`]).
const PAID_REASONS: [(&str, &str); 4] = {
    let all = crate::rules::orders::CancelReason::ALL;
    [
        (all[0].0.key(), all[0].1),
        (all[1].0.key(), all[1].1),
        (all[2].0.key(), all[2].1),
        (all[3].0.key(), all[3].1),
    ]
};

/// The cancel reasons TikTok takes from a seller at an order's status: (key, words).
/// None once the order shipped (TikTok answers 25001021 to a reason that does not
/// match the status).
pub fn cancel_reasons(status: &OrderStatus) -> &'static [(&'static str, &'static str)] {
    match status {
        OrderStatus::Unpaid => &UNPAID_REASONS,
        OrderStatus::OnHold | OrderStatus::AwaitingShipment => &PAID_REASONS,
        _ => &[],
    }
}

/// Why an action on an order did not go through, in the merchant's words.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// No such order (or shop) in this store.
    #[error("{0}")]
    NotFound(String),
    /// The action does not fit the order or the input: nothing was done.
    #[error("{0}")]
    Invalid(String),
    /// TikTok refused it; the order's timeline says so too.
    #[error("TikTok refused: {0}")]
    Refused(String),
    /// TikTok or the table could not be reached; try again.
    #[error("{0}")]
    Unavailable(String),
}

impl From<StorageError> for ActionError {
    fn from(error: StorageError) -> Self {
        ActionError::Unavailable(format!("The connector's storage failed: {error}"))
    }
}

impl From<JobError> for ActionError {
    fn from(error: JobError) -> Self {
        ActionError::Unavailable(error.to_string())
    }
}

async fn own_shop(app: &App, store_id: &str, shop_id: &str) -> Result<ShopRecord, ActionError> {
    accounts::get_shop(app.table.as_ref(), store_id, shop_id)
        .await?
        .filter(|s| s.status != accounts::ShopStatus::Disconnected)
        .ok_or_else(|| ActionError::NotFound(format!("No connected shop {shop_id} for this store.")))
}

/// Cancels a TikTok order on TikTok with `reason` (a key of [`cancel_reasons`] for the
/// order's status as TikTok has it now), notes it on the timeline, and re-syncs the
/// order so the store order follows (cancelled per the settings).
pub async fn cancel(app: &App, store: &StoreRecord, tiktok_order_id: &str, reason: &str) -> Result<(), ActionError> {
    let table = app.table.as_ref();
    let store_id = &store.store_id;
    let record = get_record(table, store_id, tiktok_order_id)
        .await?
        .ok_or_else(|| ActionError::NotFound(format!("No TikTok order {tiktok_order_id} for this store.")))?;
    let shop = own_shop(app, store_id, &record.shop_id).await?;
    let order = super::fetch_order(app, &shop, tiktok_order_id)
        .await?
        .ok_or_else(|| ActionError::NotFound(format!("TikTok no longer knows order {tiktok_order_id}.")))?;
    let offered = cancel_reasons(&order.status);
    let Some((key, words)) = offered.iter().find(|(key, _)| *key == reason) else {
        return Err(ActionError::Invalid(if offered.is_empty() {
            format!(
                "TikTok does not let sellers cancel an order that is {}.",
                super::browse::status_words(order.status.as_str()).to_lowercase()
            )
        } else {
            "Choose one of the reasons offered for this order.".to_string()
        }));
    };
    let cancel = CancelOrder {
        order_id: Id::from(tiktok_order_id),
        cancel_reason: (*key).to_string(),
        order_line_item_ids: vec![],
    };
    let tiktok = &app.tiktok;
    let cancel = &cancel;
    match with_shop(
        app,
        &shop,
        |auth| async move { tiktok.cancel_order(&auth, cancel).await },
    )
    .await
    {
        Ok(_) => {
            let text = format!("Cancelled on TikTok from the orders screen ({words}).");
            timeline::note(table, store_id, tiktok_order_id, EventKind::Cancel, true, text).await;
            enqueue_sync(app, store_id, &shop.shop_id, tiktok_order_id, "resync").await?;
            Ok(())
        }
        Err(ShopError::TikTok(error)) if !error.is_retryable() => {
            let text = format!("TikTok refused the cancellation ({words}): {error}");
            timeline::note(table, store_id, tiktok_order_id, EventKind::Cancel, false, text).await;
            Err(ActionError::Refused(error.to_string()))
        }
        Err(error) => Err(ActionError::Unavailable(shop_failure(error).to_string())),
    }
}

/// Queues a fresh read of an order from TikTok (the store order follows what it finds).
pub async fn resync(app: &App, store_id: &str, tiktok_order_id: &str) -> Result<(), ActionError> {
    let record = get_record(app.table.as_ref(), store_id, tiktok_order_id)
        .await?
        .ok_or_else(|| ActionError::NotFound(format!("No TikTok order {tiktok_order_id} for this store.")))?;
    enqueue_sync(app, store_id, &record.shop_id, tiktok_order_id, "resync").await?;
    Ok(())
}

/// The longest range one sync of missed orders covers (90 days, in seconds).
pub const MAX_RANGE_SECONDS: i64 = 90 * 86_400;
/// The most orders one sync of missed orders queues before it asks for a shorter range.
pub const MAX_RANGE_ORDERS: u64 = 10_000;

/// What a fetch or range sync did, as its activity records it.
#[derive(Debug, Clone, Serialize)]
pub struct Queued {
    /// The activity (kind `fetch_order` or `sync_orders`; `done` = orders queued).
    pub activity_id: String,
    /// Orders queued.
    pub queued: u64,
}

/// Fetches one TikTok order by id into the store (as an activity `fetch_order`): the
/// order is read from TikTok now, so an id TikTok does not know is refused at once.
pub async fn fetch_one(app: &App, store_id: &str, shop_id: &str, tiktok_order_id: &str) -> Result<Queued, ActionError> {
    let id = tiktok_order_id.trim();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(ActionError::Invalid(
            "A TikTok order id is a number such as 576461413038785752.".into(),
        ));
    }
    let shop = own_shop(app, store_id, shop_id).await?;
    let table = app.table.as_ref();
    let mut activity = Activity::start("fetch_order", Some(shop_id), Some(1));
    let found = super::fetch_order(app, &shop, id).await?;
    let outcome = match found {
        Some(_) => {
            enqueue_sync(app, store_id, shop_id, id, "fetch").await?;
            Ok(())
        }
        None => Err((id.to_string(), format!("{} does not know order {id}.", shop.name))),
    };
    activity.count(outcome.clone());
    activity.finish();
    records::save_activity(table, store_id, &activity).await?;
    match outcome {
        Ok(()) => Ok(Queued {
            activity_id: activity.id,
            queued: 1,
        }),
        Err((_, reason)) => Err(ActionError::NotFound(reason)),
    }
}

/// Starts syncing every order a shop's buyers placed in `[from, to)` (Unix seconds; at
/// most [`MAX_RANGE_SECONDS`]) as an activity `sync_orders`: a job per page of TikTok's
/// search ([`sync_range_page`]) queues each order once, handled like a webhook's, so
/// orders already in the store are only followed, never created twice. Errors: an
/// invalid range or another store's shop, before anything is queued.
pub async fn sync_range(app: &App, store_id: &str, shop_id: &str, from: i64, to: i64) -> Result<Queued, ActionError> {
    if to <= from {
        return Err(ActionError::Invalid("The range must end after it starts.".into()));
    }
    if to - from > MAX_RANGE_SECONDS {
        return Err(ActionError::Invalid(
            "Sync at most 90 days at a time; split a longer range.".into(),
        ));
    }
    own_shop(app, store_id, shop_id).await?;
    let activity = Activity::start("sync_orders", Some(shop_id), None);
    records::save_activity(app.table.as_ref(), store_id, &activity).await?;
    let page = RangePage {
        activity_id: activity.id.clone(),
        from,
        to,
        page_token: None,
    };
    queue_range_page(app, store_id, shop_id, &page).await?;
    Ok(Queued {
        activity_id: activity.id,
        queued: 0,
    })
}

/// One page of a range sync, as its job carries it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
struct RangePage {
    activity_id: String,
    from: i64,
    to: i64,
    page_token: Option<String>,
}

async fn queue_range_page(app: &App, store_id: &str, shop_id: &str, page: &RangePage) -> Result<(), JobError> {
    let key = format!(
        "range-{}-{}",
        page.activity_id,
        page.page_token.as_deref().unwrap_or("first")
    );
    let job = crate::queue::Job::new(
        crate::queue::JobKind::SyncOrderRange,
        store_id,
        key,
        serde_json::to_value(page).expect("pages serialize"),
    )
    .for_shop(shop_id)
    .in_group(format!("{shop_id}/range/{}", page.activity_id));
    app.order_queue.send(&[job], std::time::Duration::ZERO).await?;
    Ok(())
}

/// Runs one page of a range sync ([`sync_range`]): reads it from TikTok, queues each
/// order, counts them in the activity, and queues the next page, or finishes the
/// activity (with the reason when TikTok refused, or [`MAX_RANGE_ORDERS`] were reached).
/// A shop that is not the job's store's is acknowledged and left alone.
pub async fn sync_range_page(app: &App, store: &StoreRecord, job: &crate::queue::Job) -> Result<(), JobError> {
    let table = app.table.as_ref();
    let store_id = &store.store_id;
    let page: RangePage =
        serde_json::from_value(job.payload.clone()).map_err(|e| JobError::Malformed(e.to_string()))?;
    let shop_id = job.shop.clone().unwrap_or_default();
    let Some(shop) = accounts::get_shop(table, store_id, &shop_id).await? else {
        tracing::warn!(store = %store_id, shop = %shop_id, "range sync for a shop the store does not have; acknowledged");
        return Ok(());
    };
    let Some(mut activity) = records::get_activity(table, store_id, &page.activity_id).await? else {
        return Ok(());
    };
    if activity.status == "done" {
        return Ok(());
    }
    let filter = OrderSearch {
        create_time_ge: Some(page.from),
        create_time_lt: Some(page.to),
        ..OrderSearch::default()
    };
    let tiktok = &app.tiktok;
    let (filter, token) = (&filter, page.page_token.clone());
    let read = with_shop(app, &shop, |auth| async move {
        tiktok.search_orders(&auth, filter, 50, token.as_deref()).await
    })
    .await;
    let read = match read {
        Ok(read) => read,
        Err(ShopError::TikTok(error)) if !error.is_retryable() => {
            activity.count(Err((String::new(), format!("TikTok refused the search: {error}"))));
            activity.finish();
            records::save_activity(table, store_id, &activity).await?;
            return Ok(());
        }
        Err(error) => return Err(shop_failure(error)),
    };
    for order in &read.items {
        enqueue_sync(app, store_id, &shop.shop_id, order.id.as_str(), "range").await?;
        activity.count(Ok(()));
    }
    match read.next_page_token {
        Some(_) if activity.done >= MAX_RANGE_ORDERS => {
            let reason = format!(
                "{} orders were queued and the range holds more; sync the rest in shorter ranges.",
                activity.done
            );
            activity.count(Err((String::new(), reason)));
        }
        Some(next) => {
            records::save_activity(table, store_id, &activity).await?;
            let next = RangePage {
                page_token: Some(next),
                ..page
            };
            return queue_range_page(app, store_id, &shop.shop_id, &next).await;
        }
        None => {}
    }
    activity.total = Some(activity.done + activity.failed);
    activity.finish();
    records::save_activity(table, store_id, &activity).await?;
    Ok(())
}

/// A package of a TikTok order as the order screen shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PackageSummary {
    /// Package id.
    pub id: String,
    /// TikTok's package status (`PROCESSING`, `FULFILLING`, `COMPLETED`, `CANCELLED`).
    pub status: String,
    /// The carrier: TikTok's shipping provider name, else its id (empty before shipping).
    pub carrier: String,
    /// Tracking number (empty before shipping).
    pub tracking_number: String,
    /// Units in it.
    pub units: usize,
}

/// The packages of a TikTok order with their carrier and tracking, read from TikTok
/// (Get Package Detail per package, Get Shipping Providers once for the names).
pub async fn packages(
    app: &App,
    shop: &ShopRecord,
    order: &crate::tiktok::model::Order,
) -> Result<Vec<PackageSummary>, ShopError> {
    let mut ids: Vec<&Id> = Vec::new();
    for line in &order.line_items {
        if let Some(id) = line.package_id.as_ref().filter(|p| !p.as_str().is_empty())
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    let tiktok = &app.tiktok;
    let mut summaries = Vec::new();
    let mut provider_names: Option<Vec<crate::tiktok::model::ShippingProvider>> = None;
    for id in ids {
        let package = with_shop(app, shop, |auth| async move { tiktok.package_detail(&auth, id).await }).await?;
        let carrier = match &package.shipping_provider_id {
            Some(provider) if !provider.as_str().is_empty() => {
                if provider_names.is_none() {
                    let option = order.delivery_option_id.clone().unwrap_or_else(|| Id::from("0"));
                    let option = &option;
                    let listed = with_shop(app, shop, |auth| async move {
                        tiktok.shipping_providers(&auth, option).await
                    })
                    .await
                    .unwrap_or_default();
                    provider_names = Some(listed);
                }
                provider_names
                    .iter()
                    .flatten()
                    .find(|p| p.id == *provider)
                    .map_or_else(|| provider.to_string(), |p| p.name.clone())
            }
            _ => String::new(),
        };
        summaries.push(PackageSummary {
            id: id.to_string(),
            status: package.package_status,
            carrier,
            tracking_number: package.tracking_number,
            units: order
                .line_items
                .iter()
                .filter(|l| l.package_id.as_ref() == Some(id))
                .count(),
        });
    }
    Ok(summaries)
}

/// The names of the shipping providers a shop's buyers can be shipped with: every
/// provider of every delivery option of the shop's warehouse (its chosen one, else
/// TikTok's default), each once, sorted. The carrier map's TikTok side is one of these.
pub async fn provider_names(app: &App, shop: &ShopRecord) -> Result<Vec<String>, ShopError> {
    let warehouse = shop
        .default_warehouse_id
        .clone()
        .or_else(|| shop.warehouses.iter().find(|w| w.is_default).map(|w| w.id.clone()))
        .or_else(|| shop.warehouses.first().map(|w| w.id.clone()));
    let Some(warehouse) = warehouse else {
        return Ok(Vec::new());
    };
    let tiktok = &app.tiktok;
    let warehouse = Id::from(warehouse.as_str());
    let warehouse = &warehouse;
    let options = with_shop(app, shop, |auth| async move {
        tiktok.delivery_options(&auth, warehouse).await
    })
    .await?;
    let mut names = std::collections::BTreeSet::new();
    for option in &options {
        let option = &option.id;
        let providers = with_shop(app, shop, |auth| async move {
            tiktok.shipping_providers(&auth, option).await
        })
        .await?;
        names.extend(providers.into_iter().map(|p| p.name));
    }
    Ok(names.into_iter().collect())
}
