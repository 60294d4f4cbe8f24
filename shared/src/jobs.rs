//! The queue workers' entry point: routes each job to the module that owns its kind.
//! Kinds whose issue has not landed yet fail with [`JobError::NotImplemented`], so
//! their messages stay in the queue (and reach the dead-letter queue) instead of
//! being dropped.

use std::sync::Arc;

use async_trait::async_trait;

use crate::app::App;
use crate::queue::{Job, JobError, JobHandler, JobKind};

/// Dispatches jobs of both queues.
pub struct Dispatcher {
    /// The connector the jobs run against.
    pub app: Arc<App>,
}

#[async_trait]
impl JobHandler for Dispatcher {
    async fn handle(&self, job: Job, _receive_count: u32) -> Result<(), JobError> {
        let kept = job.clone();
        let outcome = match job.kind {
            JobKind::ImportProducts
            | JobKind::UploadProduct
            | JobKind::SyncStock
            | JobKind::SyncPrice
            | JobKind::ProductStatus => crate::catalog::sync::handle(&self.app, job).await,
            JobKind::SyncOrder | JobKind::PushShipment | JobKind::StoreOrderStatus => {
                crate::orders::handle(&self.app, job).await
            }
            other => Err(JobError::NotImplemented(other)),
        };
        match outcome {
            Err(JobError::Rejected(reason)) => {
                tracing::warn!(job_id = %kept.id, kind = ?kept.kind, %reason, "job refused by the other side; parked without retrying");
                crate::redrive::park_with_reason(&self.app, kept, reason).await
            }
            other => other,
        }
    }
}
