//! SQS-triggered Lambda support: one batch in, per-message handling, and a partial
//! batch response (`batchItemFailures`) listing only the messages to retry. Messages
//! of one FIFO group run in order and the group stops at its first failure, so
//! nothing overtakes a failed message.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};

use super::{JobHandler, execute, run_batch};

/// Handles every message of `event` and returns the ids that must come back.
pub async fn process_batch<H: JobHandler + ?Sized>(event: SqsEvent, handler: &H) -> SqsBatchResponse {
    let messages = event.records;
    let message_id =
        |message: &aws_lambda_events::event::sqs::SqsMessage| message.message_id.clone().unwrap_or_default();
    let handled = run_batch(
        &messages,
        |message| message.attributes.get("MessageGroupId").map(String::as_str),
        |message| {
            let receive_count = message
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1);
            let (id, body) = (message_id(message), message.body.as_deref().unwrap_or_default());
            async move { execute(handler, &id, body, receive_count).await }
        },
    )
    .await;
    let mut response = SqsBatchResponse::default();
    for (message, handled) in messages.iter().zip(handled) {
        if !handled {
            response.add_failure(message_id(message));
        }
    }
    response
}
