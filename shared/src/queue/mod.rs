//! The queue port: the job envelope every stage sends, and the [`JobQueue`] trait with
//! an SQS adapter ([`sqs::SqsQueue`]) and an in-process adapter
//! ([`memory::InProcessQueue`]) that share retry, back-off, visibility and
//! dead-letter semantics. [`lambda`] turns an SQS Lambda batch into per-job calls;
//! [`worker`] drives any [`JobQueue`] the same way outside Lambda.

pub mod lambda;
pub mod memory;
pub mod sqs;
pub mod worker;

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::FutureExt as _;
use serde::{Deserialize, Serialize};

/// SQS's message size limit we hold every job to (256 KiB).
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// SQS sends and receives at most this many messages per call.
pub const MAX_BATCH: usize = 10;
/// FIFO deduplication window.
pub const DEDUP_WINDOW: Duration = Duration::from_secs(300);

/// Errors of the queue port.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// No queue at that URL exists (a wrong `PRODUCT_QUEUE_URL` or `ORDER_QUEUE_URL`).
    #[error("unknown queue {0}")]
    UnknownQueue(String),
    /// A message body is not a job envelope.
    #[error("malformed job in message {message_id}: {reason}")]
    MalformedJob { message_id: String, reason: String },
    /// The job is larger than [`MAX_MESSAGE_BYTES`].
    #[error("job {job_id} is {bytes} bytes, above the {MAX_MESSAGE_BYTES}-byte limit")]
    TooLarge { job_id: String, bytes: usize },
    /// A request the queue cannot run (e.g. a per-message delay on a FIFO queue).
    #[error("invalid queue request: {0}")]
    InvalidRequest(String),
    /// Some jobs of a batch were not accepted; they must be sent again.
    #[error("queue refused jobs {job_ids:?}: {reason}")]
    SendFailed { job_ids: Vec<String>, reason: String },
    /// The queue service failed; the call may be retried.
    #[error("queue unavailable: {0}")]
    Unavailable(String),
}

/// What a job asks a worker to do. Unknown kinds (from a newer producer) are kept as
/// [`JobKind::Unknown`] so the consumer can park them with a reason instead of failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Import one page of store products.
    ImportProducts,
    /// Create or edit one product on TikTok.
    UploadProduct,
    /// Push stock of one product's SKUs to TikTok.
    SyncStock,
    /// Push prices of one product's SKUs to TikTok.
    SyncPrice,
    /// Create or update the store order for one TikTok order.
    SyncOrder,
    /// Send a store shipment back to TikTok.
    PushShipment,
    /// Re-read a TikTok product's review or platform status.
    ProductStatus,
    /// React to a store order's status change.
    StoreOrderStatus,
    /// Re-read a return or cancellation request and carry its outcome to the store.
    AfterSale,
    /// Read one page of a shop's orders placed in a date range and queue each (the
    /// merchant's "sync missed orders"); the next page is a job of its own.
    SyncOrderRange,
    /// A kind this build does not know.
    #[serde(other)]
    Unknown,
}

impl JobKind {
    /// Every kind this build handles (all but [`JobKind::Unknown`]).
    pub const ALL: [JobKind; 10] = [
        JobKind::ImportProducts,
        JobKind::UploadProduct,
        JobKind::SyncStock,
        JobKind::SyncPrice,
        JobKind::SyncOrder,
        JobKind::PushShipment,
        JobKind::ProductStatus,
        JobKind::StoreOrderStatus,
        JobKind::AfterSale,
        JobKind::SyncOrderRange,
    ];
}

/// The envelope of every queued job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Unique id of this job (not of the work; see `idempotency_key`).
    pub id: String,
    /// What to do.
    pub kind: JobKind,
    /// The store (tenant) the job belongs to.
    pub tenant: String,
    /// The TikTok shop, when the job concerns one.
    pub shop: Option<String>,
    /// Identifies the work itself: two jobs with one key do the work once.
    pub idempotency_key: String,
    /// How many times the job was re-enqueued by the retry sweeper.
    pub attempt: u32,
    /// Kind-specific data.
    pub payload: serde_json::Value,
    /// FIFO group when neither the shop nor the whole tenant is right (e.g. one order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// When the work was first enqueued (Unix milliseconds; kept through retries), for
    /// the lag metrics. Absent in jobs of older producers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enqueued_at: Option<i64>,
}

impl Job {
    /// A new first-attempt job.
    pub fn new(
        kind: JobKind,
        tenant: impl Into<String>,
        idempotency_key: impl Into<String>,
        payload: serde_json::Value,
    ) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            kind,
            tenant: tenant.into(),
            shop: None,
            idempotency_key: idempotency_key.into(),
            attempt: 0,
            payload,
            group: None,
            enqueued_at: Some(jiff::Timestamp::now().as_millisecond()),
        }
    }

    /// Sets the TikTok shop.
    pub fn for_shop(mut self, shop: impl Into<String>) -> Self {
        self.shop = Some(shop.into());
        self
    }

    /// FIFO message group: the explicit group, else the shop, else the tenant, so one
    /// shop's (or one order's) work stays ordered while the others run in parallel.
    pub fn message_group(&self) -> &str {
        self.group.as_deref().or(self.shop.as_deref()).unwrap_or(&self.tenant)
    }

    /// Sets the FIFO group.
    pub fn in_group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// The wire form, checked against [`MAX_MESSAGE_BYTES`].
    pub fn to_body(&self) -> Result<String, QueueError> {
        let body = serde_json::to_string(self).expect("job serializes");
        if body.len() > MAX_MESSAGE_BYTES {
            return Err(QueueError::TooLarge {
                job_id: self.id.clone(),
                bytes: body.len(),
            });
        }
        Ok(body)
    }

    /// Parses a message body.
    pub fn from_body(message_id: &str, body: &str) -> Result<Self, QueueError> {
        serde_json::from_str(body).map_err(|e| QueueError::MalformedJob {
            message_id: message_id.to_string(),
            reason: e.to_string(),
        })
    }
}

/// A received message, invisible to other consumers until acknowledged or its
/// visibility timeout passes.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The queue's id of the message.
    pub message_id: String,
    /// Handle for [`JobQueue::ack`] and [`JobQueue::retry_later`].
    pub receipt: String,
    /// How many times the message has been received, this time included.
    pub receive_count: u32,
    /// The raw body.
    pub body: String,
    /// The FIFO message group (`None` on a standard queue).
    pub group: Option<String>,
}

impl Delivery {
    /// The job inside, or [`QueueError::MalformedJob`].
    pub fn job(&self) -> Result<Job, QueueError> {
        Job::from_body(&self.message_id, &self.body)
    }
}

/// How a queue behaves; both adapters are created from the same settings.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    /// FIFO (ordered per message group, deduplicated by idempotency key) or standard.
    pub fifo: bool,
    /// How long a received message stays hidden.
    pub visibility_timeout: Duration,
    /// After this many receives the message moves to the dead-letter queue.
    pub max_receives: u32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            fifo: false,
            visibility_timeout: Duration::from_secs(180),
            max_receives: 5,
        }
    }
}

/// A job queue.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// FIFO (ordered per group, no per-message delay) rather than standard.
    fn is_fifo(&self) -> bool;
    /// Sends jobs (in batches of [`MAX_BATCH`]), visible after `delay`.
    async fn send(&self, jobs: &[Job], delay: Duration) -> Result<(), QueueError>;
    /// Receives up to `max` messages, waiting up to `wait` for the first.
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError>;
    /// Deletes a handled message.
    async fn ack(&self, delivery: &Delivery) -> Result<(), QueueError>;
    /// Makes a failed message visible again after `delay` (back-off).
    async fn retry_later(&self, delivery: &Delivery, delay: Duration) -> Result<(), QueueError>;
}

/// Runs one batch as SQS hands it to a function instance: the messages of each FIFO
/// group in order, a group stopping at its first failure (what follows is not run, so
/// nothing overtakes it); the groups, and every message of a standard queue (no
/// group), at the same time. `run` handles one message and says whether it succeeded.
/// Returns, in the batch's order, whether each message was handled.
pub(crate) async fn run_batch<'a, M, Run, Ran>(
    messages: &'a [M],
    group_of: impl Fn(&M) -> Option<&str>,
    run: Run,
) -> Vec<bool>
where
    Run: Fn(&'a M) -> Ran,
    Ran: Future<Output = bool>,
{
    let mut groups: Vec<(Option<&str>, Vec<usize>)> = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let group = group_of(message);
        match groups.iter_mut().find(|(g, _)| g.is_some() && *g == group) {
            Some((_, members)) => members.push(index),
            None => groups.push((group, vec![index])),
        }
    }
    let run = &run;
    let handled_by_group = futures_util::future::join_all(groups.iter().map(|(_, members)| async move {
        let mut handled = Vec::new();
        for &index in members {
            if !run(&messages[index]).await {
                break;
            }
            handled.push(index);
        }
        handled
    }))
    .await;
    let mut handled = vec![false; messages.len()];
    for index in handled_by_group.into_iter().flatten() {
        handled[index] = true;
    }
    handled
}

/// Back-off before the next attempt after `receive_count` receives: exponential from
/// 2 s, capped at 15 minutes, with jitter in the upper half so retries spread out.
pub fn backoff(receive_count: u32) -> Duration {
    let exponent = receive_count.saturating_sub(1).min(10);
    let ceiling = (2u64 << exponent).min(900);
    let floor = ceiling / 2;
    Duration::from_secs(rand::random_range(floor..=ceiling))
}

/// FIFO deduplication id: the idempotency key when SQS accepts it as is, else its SHA-256.
pub(crate) fn dedup_id(job: &Job) -> String {
    let key = &job.idempotency_key;
    let accepted = |c: char| c.is_ascii_alphanumeric() || c.is_ascii_punctuation();
    if !key.is_empty() && key.len() <= 128 && key.chars().all(accepted) {
        key.clone()
    } else {
        crate::crypto::sha256_hex(key.as_bytes())
    }
}

/// Why a job did not complete. Every variant sends the message back to the queue
/// (retried with back-off, then dead-lettered), so nothing is dropped, except
/// [`JobError::NeedsMerchant`], which [`crate::jobs::Dispatcher`] parks at once.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A temporary failure (rate limit, timeout, 5xx); the job is retried.
    #[error("temporary failure: {0}")]
    Retryable(String),
    /// No handler for this kind exists yet in this build.
    #[error("no handler for {0:?} jobs in this build yet")]
    NotImplemented(JobKind),
    /// The payload is not what the kind expects; it will reach the dead-letter queue.
    #[error("malformed job payload: {0}")]
    Malformed(String),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    /// The queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The job cannot succeed until the merchant changes something (a stored setting
    /// out of range, or data the store refused with a 4xx such as 422): retrying cannot help, so it is parked at once with this reason,
    /// in words the merchant reads, and the merchant's Retry sends it again.
    #[error("the merchant must act: {0}")]
    NeedsMerchant(String),
}

/// Does the work of one job.
#[async_trait]
pub trait JobHandler: Send + Sync {
    /// Handles `job`, received for the `receive_count`-th time.
    async fn handle(&self, job: Job, receive_count: u32) -> Result<(), JobError>;
}

/// Parses and handles one message inside a span carrying its ids; logs the outcome.
/// Returns whether the message is done (to delete) or must come back. A handler that
/// panics fails only its own job, with the panic's message logged: the message comes
/// back like any failed job (back-off, then the dead-letter queue, then parked), and
/// the consumer goes on with the next one.
pub(crate) async fn execute<H: JobHandler + ?Sized>(
    handler: &H,
    message_id: &str,
    body: &str,
    receive_count: u32,
) -> bool {
    use tracing::Instrument as _;
    let job = match Job::from_body(message_id, body) {
        Ok(job) => job,
        Err(error) => {
            tracing::error!(message_id, receive_count, %error, "message is not a job; leaving it for the dead-letter queue");
            return false;
        }
    };
    let span = tracing::info_span!(
        "job",
        message_id,
        job_id = %job.id,
        kind = ?job.kind,
        tenant = %job.tenant,
        shop = job.shop.as_deref().unwrap_or(""),
        receive_count,
    );
    async move {
        // Nothing the handler borrows is used after a panic but to log it.
        let outcome = AssertUnwindSafe(handler.handle(job, receive_count)).catch_unwind();
        match outcome.await {
            Ok(Ok(())) => {
                tracing::info!("job done");
                true
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "job failed; it will be retried");
                false
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("a panic without a message");
                tracing::error!(
                    panic = message,
                    "job handler panicked (a bug); the job failed and the consumer goes on"
                );
                false
            }
        }
    }
    .instrument(span)
    .await
}
