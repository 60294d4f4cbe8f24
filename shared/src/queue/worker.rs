//! Drives a [`JobQueue`] outside Lambda (the local runner): receive, handle, then
//! acknowledge or put back with [`backoff`]. [`run_once`] is the single step tests use.

use std::sync::Arc;
use std::time::Duration;

use super::{JobHandler, JobQueue, QueueError, backoff, execute};

/// Receives one batch (waiting up to `wait`) and handles it as a Lambda instance
/// would ([`super::run_batch`]: FIFO groups in order, groups at once); returns how
/// many messages were received.
pub async fn run_once(queue: &dyn JobQueue, handler: &dyn JobHandler, wait: Duration) -> Result<usize, QueueError> {
    let deliveries = queue.receive(super::MAX_BATCH, wait).await?;
    let handled = super::run_batch(
        &deliveries,
        |delivery| delivery.group.as_deref(),
        |delivery| execute(handler, &delivery.message_id, &delivery.body, delivery.receive_count),
    )
    .await;
    for (delivery, handled) in deliveries.iter().zip(handled) {
        if handled {
            queue.ack(delivery).await?;
        } else {
            queue.retry_later(delivery, backoff(delivery.receive_count)).await?;
        }
    }
    Ok(deliveries.len())
}

/// Runs [`run_once`] forever; queue errors are logged and retried after a pause.
pub async fn run(queue: Arc<dyn JobQueue>, handler: Arc<dyn JobHandler>) {
    loop {
        if let Err(error) = run_once(queue.as_ref(), handler.as_ref(), Duration::from_secs(1)).await {
            tracing::error!(%error, "queue receive failed");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}
