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
    /// Runs the job with the module that owns its kind; a job that needs the merchant
    /// ([`JobError::NeedsMerchant`]) is parked with its reason instead of retried.
    async fn handle(&self, job: Job, _receive_count: u32) -> Result<(), JobError> {
        let parked = job.clone();
        let (kind, enqueued_at) = (job.kind, job.enqueued_at);
        let outcome = match job.kind {
            JobKind::ImportProducts
            | JobKind::UploadProduct
            | JobKind::SyncStock
            | JobKind::SyncPrice
            | JobKind::ProductStatus => crate::catalog::sync::handle(&self.app, job).await,
            JobKind::SyncOrder | JobKind::PushShipment | JobKind::SyncOrderRange => {
                crate::orders::handle(&self.app, job).await
            }
            JobKind::StoreOrderStatus => crate::changes::store_order_status(&self.app, job).await,
            JobKind::AfterSale => crate::returns::handle(&self.app, job).await,
            other => Err(JobError::NotImplemented(other)),
        };
        match outcome {
            Err(JobError::NeedsMerchant(reason)) => crate::redrive::park(&self.app, parked, reason).await,
            Ok(()) if kind == JobKind::SyncStock => {
                if let Some(enqueued_at) = enqueued_at {
                    crate::metrics::lag(crate::metrics::Metric::StockSyncLag, None, enqueued_at);
                }
                Ok(())
            }
            outcome => outcome,
        }
    }
}
