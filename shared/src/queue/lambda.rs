//! SQS-triggered Lambda support: one batch in, per-message handling, and a partial
//! batch response (`batchItemFailures`) listing only the messages to retry. Messages
//! of one FIFO group run in order and the group stops at its first failure, so
//! nothing overtakes a failed message.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use futures_util::future::join_all;

use super::{JobHandler, execute};

/// Handles every message of `event` and returns the ids that must come back.
pub async fn process_batch<H: JobHandler + ?Sized>(event: SqsEvent, handler: &H) -> SqsBatchResponse {
    let mut groups: Vec<(Option<String>, Vec<SqsMessage>)> = Vec::new();
    for message in event.records {
        let group = message.attributes.get("MessageGroupId").cloned();
        match groups.iter_mut().find(|(g, _)| g.is_some() && *g == group) {
            Some((_, messages)) => messages.push(message),
            None => groups.push((group, vec![message])),
        }
    }
    let failures = join_all(groups.into_iter().map(|(_, messages)| run_group(messages, handler))).await;
    let mut response = SqsBatchResponse::default();
    for message_id in failures.into_iter().flatten() {
        response.add_failure(message_id);
    }
    response
}

/// Runs one group in order; returns the ids of the failed message and all after it.
async fn run_group<H: JobHandler + ?Sized>(messages: Vec<SqsMessage>, handler: &H) -> Vec<String> {
    let mut failed = Vec::new();
    for message in messages {
        let message_id = message.message_id.clone().unwrap_or_default();
        let receive_count = message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        let body = message.body.as_deref().unwrap_or_default();
        if !failed.is_empty() || !execute(handler, &message_id, body, receive_count).await {
            failed.push(message_id);
        }
    }
    failed
}
