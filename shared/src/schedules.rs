//! Scheduled work (EventBridge Scheduler in AWS, tokio timers locally).

use serde::{Deserialize, Serialize};

use crate::app::App;

/// The scheduled tasks, one per scheduled function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// Find TikTok orders changed since each shop's cursor (every minute).
    PollOrders,
    /// Same for returns, refunds and cancellation requests.
    PollReturns,
    /// Refresh TikTok tokens before they expire.
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
            tracing::info!(refreshed, "token refresh run done");
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
