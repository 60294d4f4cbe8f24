//! Scheduled work (EventBridge Scheduler in AWS, tokio timers locally).

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::accounts::{self, ShopRecord};
use crate::app::App;
use crate::queue::JobError;
use crate::storage::{Condition, Item, StorageError, Table, unix_now};

/// The scheduled tasks, one per scheduled function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// Find TikTok orders changed since each shop's cursor (every minute).
    PollOrders,
    /// Same for returns, refunds and cancellation requests.
    PollReturns,
    /// Refresh TikTok tokens before they expire, then raise (and mail) the notices
    /// of orders needing attention and authorizations ending ([`crate::notices::check_all`]).
    RefreshTokens,
    /// Re-drive failed jobs and orders with back-off; park the hopeless.
    SweepRetries,
    /// Compare TikTok's stock of every live SKU with the store's and repair drift.
    ReconcileStock,
}

impl Schedule {
    /// Every schedule with its period in seconds, as the local runner runs them.
    pub const ALL: [(Schedule, u64); 5] = [
        (Schedule::PollOrders, 60),
        (Schedule::PollReturns, 300),
        (Schedule::RefreshTokens, 3600),
        (Schedule::SweepRetries, 600),
        (Schedule::ReconcileStock, 3600),
    ];
}

/// Why a scheduled run failed.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The task's issue has not landed yet.
    #[error("{0:?} is not implemented yet")]
    NotImplemented(Schedule),
    /// A shop operation failed.
    #[error(transparent)]
    Shop(#[from] crate::shops::ShopError),
    /// A job-level failure (storage, queue).
    #[error(transparent)]
    Job(#[from] crate::queue::JobError),
}

/// Runs one scheduled task once.
pub async fn run(app: &App, schedule: Schedule) -> Result<(), ScheduleError> {
    match schedule {
        Schedule::RefreshTokens => {
            let refreshed = crate::shops::refresh_all(app).await?;
            // Then what the merchant should know: orders waiting, authorizations ending.
            let checked = crate::notices::check_all(app, unix_now())
                .await
                .map_err(JobError::from)?;
            tracing::info!(
                refreshed,
                notices = checked.raised,
                mails = checked.mailed,
                "token refresh run done"
            );
            Ok(())
        }
        Schedule::PollOrders => {
            let enqueued = crate::orders::poll_all(app).await?;
            tracing::info!(enqueued, "order poll done");
            Ok(())
        }
        Schedule::SweepRetries => {
            let retried = crate::orders::sweep(app).await?;
            let drained = crate::redrive::drain(app).await?;
            let released = crate::catalog::sync::release_scheduled(app, crate::storage::unix_now()).await?;
            tracing::info!(
                retried,
                released,
                redriven = drained.redriven,
                parked = drained.parked,
                "retry sweep done"
            );
            Ok(())
        }
        Schedule::ReconcileStock => {
            let repaired = crate::catalog::reconcile::reconcile_all(app).await?;
            tracing::info!(repaired, "stock reconciliation done");
            Ok(())
        }
        Schedule::PollReturns => {
            let enqueued = crate::returns::poll_all(app).await?;
            tracing::info!(enqueued, "return and cancellation poll done");
            Ok(())
        }
    }
}

/// Runs `poll` for every connected shop as `(store hash, shop id)`, one after the
/// other; a shop whose poll fails is logged (with `what`) and the others go on.
/// Returns the sum of what the polls returned.
pub async fn each_shop<F, Fut>(app: &App, what: &'static str, poll: F) -> Result<usize, JobError>
where
    F: Fn(String, String) -> Fut,
    Fut: Future<Output = Result<usize, JobError>>,
{
    let table = app.table.as_ref();
    let mut total = 0;
    let mut cursor = None;
    loop {
        let (entries, next) = accounts::shop_directory_page(table, cursor).await?;
        for (shop_id, store_id) in entries {
            match poll(store_id.clone(), shop_id.clone()).await {
                Ok(count) => total += count,
                Err(error) => tracing::warn!(store = %store_id, shop = %shop_id, %error, what, "poll failed"),
            }
        }
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(total),
        }
    }
}

/// Overlap of each poll with the one before (seconds): what changed while the last
/// poll ran is read again.
pub const POLL_OVERLAP: i64 = 300;

/// A shop's poll watermark (`CURSOR#<kind>#<shop id>` under the store): `since` is
/// where the next poll starts (the newest `update_time` seen, less
/// [`POLL_OVERLAP`]; `first_look_back` seconds back the first time).
pub struct PollCursor {
    /// The shop (active).
    pub shop: ShopRecord,
    /// Poll from (Unix seconds).
    pub since: i64,
    watermark: i64,
    pk: String,
    sk: String,
}

impl PollCursor {
    /// The cursor of `kind` (`ORDERS`, `RETURNS`) for an active shop, starting
    /// `first_look_back` seconds back on its first poll; `None` when the shop is gone
    /// or not active.
    pub async fn open(
        table: &dyn Table,
        store_id: &str,
        shop_id: &str,
        kind: &str,
        first_look_back: i64,
    ) -> Result<Option<Self>, StorageError> {
        let Some(shop) = accounts::get_shop(table, store_id, shop_id).await? else {
            return Ok(None);
        };
        if shop.status != accounts::ShopStatus::Active {
            return Ok(None);
        }
        let pk = accounts::store_pk(store_id);
        let sk = format!("CURSOR#{kind}#{shop_id}");
        let watermark = table
            .get(&pk, &sk)
            .await?
            .and_then(|i| i.data["update_time"].as_i64())
            .unwrap_or_else(|| unix_now() - first_look_back);
        Ok(Some(Self {
            shop,
            since: watermark - POLL_OVERLAP,
            watermark,
            pk,
            sk,
        }))
    }

    /// Moves the watermark to the newest of `update_times` (never back) and notes
    /// when the poll ran (`polled_at`).
    pub async fn advance(
        self,
        table: &dyn Table,
        update_times: impl IntoIterator<Item = i64>,
    ) -> Result<(), StorageError> {
        let newest = update_times.into_iter().fold(self.watermark, i64::max);
        let data = serde_json::json!({"update_time": newest, "polled_at": unix_now()});
        table.put(Item::new(self.pk, self.sk, data), Condition::None).await
    }
}
