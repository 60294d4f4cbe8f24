//! SQS adapter. Standard queues take per-message delays; FIFO queues group by shop
//! (see [`Job::message_group`]) and deduplicate on the idempotency key. Redrive to the
//! dead-letter queue is SQS's own `RedrivePolicy`.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{DisplayErrorContext, SdkError};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry};

use super::{Delivery, Job, JobQueue, MAX_BATCH, QueueError, QueueSettings, dedup_id};

/// A queue in SQS.
#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
    fifo: bool,
}

fn unavailable<E: std::error::Error + 'static, R: std::fmt::Debug>(error: SdkError<E, R>) -> QueueError {
    QueueError::Unavailable(DisplayErrorContext(&error).to_string())
}

impl SqsQueue {
    /// A queue by URL, without a call (FIFO when the URL ends in `.fifo`): the work
    /// queues come from the environment as URLs, and only the sweeper may touch the
    /// dead-letter queues, so no other function could look them up by name.
    pub fn at_url(client: Client, url: &str) -> Self {
        Self {
            client,
            url: url.to_string(),
            fifo: url.ends_with(".fifo"),
        }
    }

    /// The queue's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Creates the queue and its dead-letter queue (`<name>-dlq`) with a real
    /// `RedrivePolicy`; for tests and local runs (production queues come from SAM).
    /// Returns the queue and its dead-letter queue.
    pub async fn create(client: Client, name: &str, settings: &QueueSettings) -> Result<(Self, Self), QueueError> {
        let fifo_name = |base: &str| {
            if settings.fifo {
                format!("{base}.fifo")
            } else {
                base.to_string()
            }
        };
        let dlq_name = fifo_name(&format!("{}-dlq", name.trim_end_matches(".fifo")));
        let queue_name = fifo_name(name.trim_end_matches(".fifo"));
        let mut fifo_attributes = HashMap::new();
        if settings.fifo {
            fifo_attributes.insert(QueueAttributeName::FifoQueue, "true".to_string());
        }
        let dlq = client
            .create_queue()
            .queue_name(&dlq_name)
            .set_attributes(Some(fifo_attributes.clone()))
            .send()
            .await
            .map_err(unavailable)?;
        let dlq_url = dlq.queue_url().unwrap_or_default().to_string();
        let dlq_arn = client
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(unavailable)?
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .ok_or_else(|| QueueError::Unavailable(format!("no ARN for {dlq_name}")))?;
        let redrive = serde_json::json!({
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": settings.max_receives.to_string(),
        });
        let mut attributes = fifo_attributes;
        attributes.insert(QueueAttributeName::RedrivePolicy, redrive.to_string());
        attributes.insert(
            QueueAttributeName::VisibilityTimeout,
            settings.visibility_timeout.as_secs().to_string(),
        );
        let queue = client
            .create_queue()
            .queue_name(&queue_name)
            .set_attributes(Some(attributes))
            .send()
            .await
            .map_err(unavailable)?;
        let url = queue.queue_url().unwrap_or_default().to_string();
        Ok((
            Self {
                client: client.clone(),
                url,
                fifo: settings.fifo,
            },
            Self {
                client,
                url: dlq_url,
                fifo: settings.fifo,
            },
        ))
    }

    fn entry(
        &self,
        position: usize,
        job: &Job,
        body: String,
        delay: Duration,
    ) -> Result<SendMessageBatchRequestEntry, QueueError> {
        let mut entry = SendMessageBatchRequestEntry::builder()
            .id(position.to_string())
            .message_body(body);
        entry = if self.fifo {
            entry
                .message_group_id(job.message_group())
                .message_deduplication_id(dedup_id(job))
        } else {
            entry.delay_seconds(delay.as_secs().min(900) as i32)
        };
        entry.build().map_err(|e| QueueError::InvalidRequest(e.to_string()))
    }
}

#[async_trait]
impl JobQueue for SqsQueue {
    fn is_fifo(&self) -> bool {
        self.fifo
    }

    async fn send(&self, jobs: &[Job], delay: Duration) -> Result<(), QueueError> {
        if self.fifo && !delay.is_zero() {
            return Err(QueueError::InvalidRequest(
                "FIFO queues take no per-message delay".into(),
            ));
        }
        let bodies = jobs.iter().map(Job::to_body).collect::<Result<Vec<_>, _>>()?;
        for (chunk_jobs, chunk_bodies) in jobs.chunks(MAX_BATCH).zip(bodies.chunks(MAX_BATCH)) {
            let entries = chunk_jobs
                .iter()
                .zip(chunk_bodies)
                .enumerate()
                .map(|(position, (job, body))| self.entry(position, job, body.clone(), delay))
                .collect::<Result<Vec<_>, _>>()?;
            let output = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|error| match error.as_service_error() {
                    Some(e) if e.is_queue_does_not_exist() => QueueError::UnknownQueue(self.url.clone()),
                    _ => unavailable(error),
                })?;
            if !output.failed().is_empty() {
                let job_ids = output
                    .failed()
                    .iter()
                    .filter_map(|f| f.id().parse::<usize>().ok())
                    .filter_map(|position| chunk_jobs.get(position).map(|job| job.id.clone()))
                    .collect();
                let reason = output
                    .failed()
                    .iter()
                    .filter_map(|f| f.message())
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(QueueError::SendFailed { job_ids, reason });
            }
        }
        Ok(())
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max.clamp(1, MAX_BATCH) as i32)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(output
            .messages()
            .iter()
            .map(|message| Delivery {
                message_id: message.message_id().unwrap_or_default().to_string(),
                receipt: message.receipt_handle().unwrap_or_default().to_string(),
                receive_count: message
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|count| count.parse().ok())
                    .unwrap_or(1),
                body: message.body().unwrap_or_default().to_string(),
                group: message
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
                    .cloned(),
            })
            .collect())
    }

    async fn ack(&self, delivery: &Delivery) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(&delivery.receipt)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn retry_later(&self, delivery: &Delivery, delay: Duration) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(&delivery.receipt)
            .visibility_timeout(delay.as_secs().min(43_200) as i32)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
