//! Scheduled work (EventBridge Scheduler in AWS, tokio timers locally).

use serde::{Deserialize, Serialize};

use crate::accounts;
use crate::app::App;
use crate::queue::JobError;
use crate::storage::{StorageError, unix_now};

/// The scheduled tasks, one per scheduled function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// Find TikTok orders changed since each shop's cursor (every minute).
    PollOrders,
    /// Same for returns, refunds and cancellation requests.
    PollReturns,
    /// Refresh TikTok tokens before they expire, then raise (and mail) the notices
    /// of orders needing attention and authorizations ending ([`check_notices`]).
    RefreshTokens,
    /// Re-drive failed jobs and orders with back-off; park the hopeless.
    SweepRetries,
    /// Compare TikTok's stock of every live SKU with the store's and repair drift.
    ReconcileStock,
    /// Read each store's changes from its platform ([`crate::changes::poll_all`]): the
    /// change feed of platforms without webhooks, the recovery of dropped deliveries
    /// for the others (every minute).
    PollStores,
}

impl Schedule {
    /// Every schedule with its period in seconds, as the local runner runs them.
    pub const ALL: [(Schedule, u64); 6] = [
        (Schedule::PollOrders, 60),
        (Schedule::PollReturns, 300),
        (Schedule::RefreshTokens, 3600),
        (Schedule::SweepRetries, 600),
        (Schedule::ReconcileStock, 3600),
        (Schedule::PollStores, 60),
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
            let checked = check_notices(app, unix_now()).await.map_err(JobError::from)?;
            tracing::info!(
                refreshed,
                notices = checked.raised,
                mails = checked.mailed,
                "token refresh run done"
            );
            Ok(())
        }
        Schedule::PollStores => {
            let handled = crate::changes::poll_all(app).await.map_err(JobError::from)?;
            tracing::info!(handled, "store poll done");
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

/// [`crate::notices::check_store`] for every store with a connected shop (the hourly token-refresh
/// schedule runs it); a store whose check fails is logged and the others go on.
/// Returns the sum of what the checks did. Errors: reading the shop directory.
async fn check_notices(app: &App, now: i64) -> Result<crate::notices::Checked, StorageError> {
    let table = app.table.as_ref();
    let stores = accounts::stores_with_shops(table).await?;
    let mut total = crate::notices::Checked::default();
    for store_id in stores {
        let checked = match crate::orders::order_counts(table, &store_id).await {
            Ok(counts) => crate::notices::check_store(app, &store_id, now, &counts).await,
            Err(error) => Err(error.into()),
        };
        match checked {
            Ok(checked) => {
                total.raised += checked.raised;
                total.mailed += checked.mailed;
            }
            Err(error) => tracing::warn!(store = %store_id, %error, "notice check failed"),
        }
    }
    Ok(total)
}
