//! Per-message job handling: the SQS Lambda batch helper (partial batch responses,
//! FIFO group stops) and the local worker loop (back-off, then the dead-letter queue).

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use connector::queue::lambda::process_batch;
use connector::queue::memory::InProcessQueue;
use connector::queue::{Job, JobError, JobHandler, JobKind, JobQueue, QueueSettings, worker};
use serde_json::json;

/// Fails the jobs whose idempotency key starts with "fail", panics on those starting
/// with "panic" (a handler bug); records what it saw.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(String, u32)>>,
}

#[async_trait]
impl JobHandler for Recorder {
    async fn handle(&self, job: Job, receive_count: u32) -> Result<(), JobError> {
        self.seen
            .lock()
            .unwrap()
            .push((job.idempotency_key.clone(), receive_count));
        if job.idempotency_key.starts_with("panic") {
            panic!("handler bug on {}", job.idempotency_key);
        }
        if job.idempotency_key.starts_with("fail") {
            return Err(JobError::Retryable(format!("{} failed", job.idempotency_key)));
        }
        Ok(())
    }
}

fn message(id: &str, body: String, group: Option<&str>, receive_count: u32) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = Some(id.to_string());
    message.body = Some(body);
    message
        .attributes
        .insert("ApproximateReceiveCount".into(), receive_count.to_string());
    if let Some(group) = group {
        message.attributes.insert("MessageGroupId".into(), group.to_string());
    }
    message
}

fn body(key: &str) -> String {
    Job::new(JobKind::SyncOrder, "store-a", key, json!({}))
        .to_body()
        .unwrap()
}

fn failures(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    let value = serde_json::to_value(response).unwrap();
    value["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn standard_batch_reports_only_the_failed_and_malformed_messages() {
    let mut event = SqsEvent::default();
    event.records = vec![
        message("m-1", body("ok-1"), None, 1),
        message("m-2", body("fail-2"), None, 3),
        message("m-3", "{not json".into(), None, 1),
        message("m-4", body("ok-4"), None, 1),
    ];
    let recorder = Recorder::default();
    let response = process_batch(event, &recorder).await;
    let mut failed = failures(&response);
    failed.sort();
    assert_eq!(failed, ["m-2", "m-3"]);
    let seen = recorder.seen.lock().unwrap();
    assert!(
        seen.contains(&("fail-2".to_string(), 3)),
        "receive count reaches the handler: {seen:?}"
    );
    assert_eq!(seen.len(), 3, "the malformed message never reaches the handler");
}

#[tokio::test]
async fn fifo_group_stops_at_its_first_failure_while_other_groups_go_on() {
    let mut event = SqsEvent::default();
    event.records = vec![
        message("a-1", body("ok-a1"), Some("shop-a"), 1),
        message("a-2", body("fail-a2"), Some("shop-a"), 1),
        message("a-3", body("ok-a3"), Some("shop-a"), 1),
        message("b-1", body("ok-b1"), Some("shop-b"), 1),
    ];
    let recorder = Recorder::default();
    let response = process_batch(event, &recorder).await;
    assert_eq!(failures(&response), ["a-2", "a-3"]);
    let seen: Vec<String> = recorder.seen.lock().unwrap().iter().map(|(k, _)| k.clone()).collect();
    assert!(
        !seen.contains(&"ok-a3".to_string()),
        "a-3 must not overtake the failed a-2"
    );
    assert!(seen.contains(&"ok-b1".to_string()));
}

#[tokio::test]
async fn empty_batch_has_no_failures() {
    let response = process_batch(SqsEvent::default(), &Recorder::default()).await;
    assert!(failures(&response).is_empty());
}

#[tokio::test(start_paused = true)]
async fn worker_backs_off_between_attempts_then_dead_letters_the_job() {
    let settings = QueueSettings {
        fifo: false,
        visibility_timeout: Duration::from_secs(30),
        max_receives: 3,
    };
    let queue = InProcessQueue::new(settings);
    let recorder = Recorder::default();
    queue
        .send(
            &[
                Job::new(JobKind::SyncOrder, "store-a", "fail-always", json!({})),
                Job::new(JobKind::SyncOrder, "store-a", "ok", json!({})),
            ],
            Duration::ZERO,
        )
        .await
        .unwrap();
    let start = tokio::time::Instant::now();
    let mut attempts_at = Vec::new();
    while !queue.is_empty() && start.elapsed() < Duration::from_secs(3600) {
        if worker::run_once(&queue, &recorder, Duration::from_secs(1))
            .await
            .unwrap()
            > 0
        {
            attempts_at.push(start.elapsed());
        }
    }
    let seen = recorder.seen.lock().unwrap().clone();
    let failing: Vec<u32> = seen
        .iter()
        .filter(|(k, _)| k == "fail-always")
        .map(|(_, count)| *count)
        .collect();
    assert_eq!(failing, [1, 2, 3], "three attempts, then no more");
    assert_eq!(seen.iter().filter(|(k, _)| k == "ok").count(), 1);
    // Back-off: 2nd attempt at least 1 s after the first, 3rd at least 2 s after the 2nd.
    assert!(
        attempts_at[1] - attempts_at[0] >= Duration::from_secs(1),
        "{attempts_at:?}"
    );
    assert!(
        attempts_at[2] - attempts_at[1] >= Duration::from_secs(2),
        "{attempts_at:?}"
    );
    let dead = queue.dead_letter().unwrap().receive(10, Duration::ZERO).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].job().unwrap().idempotency_key, "fail-always");
}

#[tokio::test(start_paused = true)]
async fn a_panicking_job_fails_alone_and_the_worker_runs_the_next_job() {
    let queue = InProcessQueue::new(QueueSettings {
        fifo: false,
        visibility_timeout: Duration::from_secs(30),
        max_receives: 2,
    });
    let recorder = Recorder::default();
    queue
        .send(
            &[
                Job::new(JobKind::SyncStock, "store-a", "panic-store-a", json!({})),
                Job::new(JobKind::SyncStock, "store-b", "ok-store-b", json!({})),
            ],
            Duration::ZERO,
        )
        .await
        .unwrap();
    assert_eq!(
        worker::run_once(&queue, &recorder, Duration::from_secs(1))
            .await
            .unwrap(),
        2,
        "the worker survives the panic and handles the whole batch"
    );
    let seen: Vec<String> = recorder.seen.lock().unwrap().iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(
        seen,
        ["panic-store-a", "ok-store-b"],
        "the job after the panic still runs"
    );
    assert_eq!(
        queue.len(),
        1,
        "the panicked job comes back like any failed job; the other is done"
    );
    while !queue.is_empty() {
        worker::run_once(&queue, &recorder, Duration::from_secs(1))
            .await
            .unwrap();
        tokio::time::advance(Duration::from_secs(5)).await;
    }
    let dead = queue.dead_letter().unwrap().receive(10, Duration::ZERO).await.unwrap();
    assert_eq!(
        dead[0].job().unwrap().idempotency_key,
        "panic-store-a",
        "not retried forever: it reaches the dead-letter queue, then parking"
    );
}

#[tokio::test]
async fn a_panicking_message_of_a_lambda_batch_is_its_only_failure() {
    let mut event = SqsEvent::default();
    event.records = vec![
        message("m-1", body("panic-1"), None, 1),
        message("m-2", body("ok-2"), None, 1),
    ];
    let recorder = Recorder::default();
    let response = process_batch(event, &recorder).await;
    assert_eq!(failures(&response), ["m-1"]);
    assert_eq!(recorder.seen.lock().unwrap().len(), 2);
}
