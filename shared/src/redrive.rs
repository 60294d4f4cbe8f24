//! Dead-letter redrive. A job that failed every receive lands in its queue's
//! dead-letter queue; the retry sweeper sends it back to its work queue (delayed on
//! standard queues, continuing the back-off series; FIFO queues take no delay, so the
//! sweep period is their back-off) up to [`MAX_REDRIVES`] times. Past that the job is
//! parked with a reason the merchant reads: an order job marks its order *Needs
//! attention* (the order's Retry brings it back), any other job is kept as a
//! [`ParkedJob`] (`STORE#<hash>` / `PARKED#<job id>`) with its own Retry. A message
//! leaves a dead-letter queue only after it was resent or parked, so nothing is lost.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::accounts;
use crate::app::App;
use crate::queue::{Delivery, Job, JobError, JobKind, JobQueue, MAX_BATCH, QueueSettings, backoff};
use crate::storage::{Condition, Item, Query, StorageError, Table, unix_now};

/// Rounds through the dead-letter queue before a job is parked.
pub const MAX_REDRIVES: u32 = 3;

/// Messages taken from one dead-letter queue per sweep; the rest wait for the next.
const PER_SWEEP: usize = 500;

/// A job set aside after every retry failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParkedJob {
    /// The job.
    pub job: Job,
    /// Why it is parked, in words.
    pub reason: String,
    /// When (Unix seconds).
    pub parked_at: i64,
}

/// What one drain did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    /// Jobs sent back to their work queue.
    pub redriven: usize,
    /// Jobs parked for the merchant.
    pub parked: usize,
}

/// Drains both dead-letter queues.
pub async fn drain(app: &App) -> Result<Drained, JobError> {
    let mut drained = Drained::default();
    let pairs = [
        (app.product_dead_letters.as_ref(), app.product_queue.as_ref()),
        (app.order_dead_letters.as_ref(), app.order_queue.as_ref()),
    ];
    for (dead_letters, work) in pairs {
        drain_queue(app, dead_letters, work, &mut drained).await?;
    }
    Ok(drained)
}

async fn drain_queue(
    app: &App,
    dead_letters: &dyn JobQueue,
    work: &dyn JobQueue,
    drained: &mut Drained,
) -> Result<(), JobError> {
    let mut taken = 0;
    while taken < PER_SWEEP {
        let deliveries = dead_letters.receive(MAX_BATCH, Duration::ZERO).await?;
        if deliveries.is_empty() {
            break;
        }
        taken += deliveries.len();
        for delivery in deliveries {
            match delivery.job() {
                Ok(job) if job.attempt < MAX_REDRIVES => {
                    redrive(work, job).await?;
                    drained.redriven += 1;
                }
                Ok(job) => {
                    let reason = parked_reason(&job);
                    park(app, job, reason).await?;
                    drained.parked += 1;
                }
                Err(error) => park_unreadable(app.table.as_ref(), &delivery, &error.to_string()).await?,
            }
            dead_letters.ack(&delivery).await?;
        }
    }
    Ok(())
}

/// Sends a dead job back for one more round.
async fn redrive(work: &dyn JobQueue, mut job: Job) -> Result<(), JobError> {
    job.attempt += 1;
    // A fresh deduplication id: a FIFO queue would drop a resend of the same key
    // within its 5-minute window.
    let base = job
        .idempotency_key
        .split("#redrive")
        .next()
        .unwrap_or_default()
        .to_string();
    job.idempotency_key = format!("{base}#redrive{}", job.attempt);
    let delay = if work.is_fifo() {
        Duration::ZERO
    } else {
        backoff(QueueSettings::default().max_receives + job.attempt)
    };
    tracing::warn!(job_id = %job.id, kind = ?job.kind, tenant = %job.tenant, attempt = job.attempt, "dead-lettered job sent back to its queue");
    work.send(std::slice::from_ref(&job), delay).await?;
    Ok(())
}

fn parked_reason(job: &Job) -> String {
    format!(
        "This {} job failed every retry (5 tries, then {MAX_REDRIVES} more rounds) and was set aside. \
The cause is in the connector's log under job {}. Press Retry once TikTok and your store are reachable.",
        kind_words(job.kind),
        job.id
    )
}

fn kind_words(kind: JobKind) -> &'static str {
    match kind {
        JobKind::ImportProducts => "product import",
        JobKind::UploadProduct => "product upload",
        JobKind::SyncStock => "stock sync",
        JobKind::SyncPrice => "price sync",
        JobKind::SyncOrder => "order sync",
        JobKind::PushShipment => "shipment",
        JobKind::ProductStatus => "product status",
        JobKind::StoreOrderStatus => "store order status",
        JobKind::AfterSale => "return or cancellation",
        JobKind::SyncOrderRange => "sync of missed orders",
        JobKind::Unknown => "unknown",
    }
}

/// Parks a job with the `reason` the merchant reads: an order sync on its order,
/// anything else as a [`ParkedJob`] (with its Retry).
pub async fn park(app: &App, mut job: Job, reason: String) -> Result<(), JobError> {
    tracing::error!(job_id = %job.id, kind = ?job.kind, tenant = %job.tenant, %reason, "job parked");
    crate::metrics::count(crate::metrics::Metric::JobsParked, None);
    // An upload the merchant started counts in its activity as failed, with the
    // reason; the parked job leaves the activity, so a Retry does not count it twice.
    if job.kind == JobKind::UploadProduct
        && let Some(payload) = job.payload.as_object_mut()
        && let Some(serde_json::Value::String(activity_id)) = payload.remove("activity_id")
    {
        let product_id = payload
            .get("product_id")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let failure = Err((product_id, reason.clone()));
        crate::catalog::records::count_in_activity(app.table.as_ref(), &job.tenant, &activity_id, failure).await?;
    }
    let order_id = job.payload["order_id"]
        .as_str()
        .or_else(|| job.payload["data"]["order_id"].as_str());
    if let (JobKind::SyncOrder, Some(order_id), Some(shop_id)) = (job.kind, order_id, job.shop.as_deref()) {
        crate::orders::park(app.table.as_ref(), &job.tenant, shop_id, order_id, &reason).await?;
        return Ok(());
    }
    let parked = ParkedJob {
        reason,
        parked_at: unix_now(),
        job,
    };
    let item = Item::new(
        accounts::store_pk(&parked.job.tenant),
        format!("PARKED#{}", parked.job.id),
        serde_json::to_value(&parked).expect("jobs serialize"),
    );
    app.table.put(item, Condition::None).await?;
    Ok(())
}

/// A message that is not a job cannot be retried; it is kept for an engineer.
async fn park_unreadable(table: &dyn Table, delivery: &Delivery, error: &str) -> Result<(), StorageError> {
    tracing::error!(message_id = %delivery.message_id, error, "dead-lettered message is not a job; kept for inspection");
    let data = serde_json::json!({"body": delivery.body, "error": error, "parked_at": unix_now()});
    table
        .put(
            Item::new("DEADLETTERS", delivery.message_id.clone(), data),
            Condition::None,
        )
        .await
}

/// The parked jobs of a store.
pub async fn parked_jobs(table: &dyn Table, store_id: &str) -> Result<Vec<ParkedJob>, StorageError> {
    let page = table
        .query(Query::table(accounts::store_pk(store_id), "PARKED#").limit(1000))
        .await?;
    Ok(page
        .items
        .into_iter()
        .filter_map(|i| serde_json::from_value(i.data).ok())
        .collect())
}

/// The merchant's Retry of a parked job: sent again with a fresh round count.
/// Returns false when the store has no such parked job.
pub async fn retry_parked(app: &App, store_id: &str, job_id: &str) -> Result<bool, JobError> {
    let table = app.table.as_ref();
    let pk = accounts::store_pk(store_id);
    let sk = format!("PARKED#{job_id}");
    let Some(item) = table.get(&pk, &sk).await? else {
        return Ok(false);
    };
    let parked: ParkedJob = serde_json::from_value(item.data).map_err(|e| JobError::Malformed(e.to_string()))?;
    let mut job = parked.job;
    job.attempt = 0;
    job.idempotency_key = format!("{}#manual{}", job.idempotency_key, uuid::Uuid::new_v4().simple());
    app.queue_for(job.kind)
        .send(std::slice::from_ref(&job), Duration::ZERO)
        .await?;
    table.delete(&pk, &sk, Condition::None).await?;
    Ok(true)
}
