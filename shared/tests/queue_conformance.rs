//! One conformance suite for the queue port: every test body runs against the
//! in-process queue and against SQS (the emulator, with a real RedrivePolicy).

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use connector::queue::memory::InProcessQueue;
use connector::queue::sqs::SqsQueue;
use connector::queue::{Delivery, Job, JobKind, JobQueue, QueueError, QueueSettings};
use serde_json::json;

type Pair = (Arc<dyn JobQueue>, Arc<dyn JobQueue>);

async fn in_process(settings: QueueSettings) -> Option<Pair> {
    let queue = InProcessQueue::new(settings);
    let dead_letter = queue.dead_letter().unwrap().clone();
    Some((Arc::new(queue), Arc::new(dead_letter)))
}

async fn sqs(settings: QueueSettings) -> Option<Pair> {
    let sdk = common::emulator().await?;
    let client = aws_sdk_sqs::Client::new(&sdk);
    let (queue, dead_letter) = SqsQueue::create(client, &common::unique("conformance"), &settings)
        .await
        .unwrap();
    Some((Arc::new(queue), Arc::new(dead_letter)))
}

fn standard() -> QueueSettings {
    QueueSettings {
        fifo: false,
        visibility_timeout: Duration::from_secs(1),
        max_receives: 2,
    }
}

fn fifo() -> QueueSettings {
    QueueSettings {
        fifo: true,
        ..standard()
    }
}

/// Generates `in_process::<body>` and `sqs::<body>` tests, each queue made from `$settings`.
macro_rules! conformance {
    ($($body:ident: $settings:expr),* $(,)?) => {
        mod in_process_adapter {
            use super::*;
            $(#[tokio::test] async fn $body() { if let Some(q) = in_process($settings).await { super::$body(q).await } })*
        }
        mod sqs_adapter {
            use super::*;
            $(#[tokio::test] async fn $body() { if let Some(q) = sqs($settings).await { super::$body(q).await } })*
        }
    };
}

conformance!(
    sends_in_batches_and_delivers_every_job_once: standard(),
    received_message_stays_hidden_until_its_visibility_times_out: standard(),
    retry_later_puts_a_message_back_after_the_delay: standard(),
    delayed_send_is_not_visible_before_its_delay: standard(),
    message_moves_to_the_dead_letter_queue_after_max_receives: standard(),
    fifo_keeps_one_shops_jobs_in_order: fifo(),
    fifo_drops_a_duplicate_idempotency_key: fifo(),
    fifo_refuses_a_per_message_delay: fifo(),
    oversized_job_is_refused: standard(),
);

fn job(shop: &str, key: &str) -> Job {
    Job::new(JobKind::SyncOrder, "store-a", key, json!({"order": key})).for_shop(shop)
}

/// Receives until `expected` messages arrived or 5 seconds passed.
async fn receive_all(queue: &dyn JobQueue, expected: usize) -> Vec<Delivery> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut deliveries = Vec::new();
    while deliveries.len() < expected && tokio::time::Instant::now() < deadline {
        let received = queue.receive(10, Duration::ZERO).await.unwrap();
        if received.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        deliveries.extend(received);
    }
    deliveries
}

async fn sends_in_batches_and_delivers_every_job_once((queue, _): Pair) {
    let jobs: Vec<Job> = (0..25).map(|i| job("shop-1", &format!("order-{i}"))).collect();
    queue.send(&jobs, Duration::ZERO).await.unwrap();
    let deliveries = receive_all(queue.as_ref(), 25).await;
    let received: HashSet<String> = deliveries.iter().map(|d| d.job().unwrap().idempotency_key).collect();
    assert_eq!((deliveries.len(), received.len()), (25, 25));
    for delivery in &deliveries {
        assert_eq!(delivery.receive_count, 1);
        queue.ack(delivery).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        queue.receive(10, Duration::ZERO).await.unwrap().is_empty(),
        "acknowledged jobs never come back"
    );
}

async fn received_message_stays_hidden_until_its_visibility_times_out((queue, _): Pair) {
    queue.send(&[job("shop-1", "a")], Duration::ZERO).await.unwrap();
    let first = receive_all(queue.as_ref(), 1).await;
    assert_eq!(first.len(), 1);
    assert!(
        queue.receive(10, Duration::ZERO).await.unwrap().is_empty(),
        "in flight: hidden"
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let again = receive_all(queue.as_ref(), 1).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].job().unwrap(), first[0].job().unwrap());
    assert_eq!(again[0].receive_count, 2);
}

async fn retry_later_puts_a_message_back_after_the_delay((queue, _): Pair) {
    queue.send(&[job("shop-1", "a")], Duration::ZERO).await.unwrap();
    let first = receive_all(queue.as_ref(), 1).await;
    queue.retry_later(&first[0], Duration::from_secs(2)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(
        queue.receive(10, Duration::ZERO).await.unwrap().is_empty(),
        "back-off outlasts the visibility timeout"
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(receive_all(queue.as_ref(), 1).await.len(), 1);
}

async fn delayed_send_is_not_visible_before_its_delay((queue, _): Pair) {
    queue
        .send(&[job("shop-1", "later")], Duration::from_secs(2))
        .await
        .unwrap();
    assert!(queue.receive(10, Duration::from_millis(500)).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(1800)).await;
    let deliveries = receive_all(queue.as_ref(), 1).await;
    assert_eq!(deliveries[0].job().unwrap().idempotency_key, "later");
}

async fn message_moves_to_the_dead_letter_queue_after_max_receives((queue, dead_letter): Pair) {
    queue.send(&[job("shop-1", "poison")], Duration::ZERO).await.unwrap();
    for receive in 1..=2 {
        let deliveries = receive_all(queue.as_ref(), 1).await;
        assert_eq!(deliveries.len(), 1, "receive {receive}");
        queue.retry_later(&deliveries[0], Duration::ZERO).await.unwrap();
    }
    // The third receive finds nothing: the message went to the dead-letter queue.
    assert!(queue.receive(10, Duration::from_millis(300)).await.unwrap().is_empty());
    let dead = receive_all(dead_letter.as_ref(), 1).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].job().unwrap().idempotency_key, "poison");
}

async fn fifo_keeps_one_shops_jobs_in_order((queue, _): Pair) {
    let jobs = [job("shop-a", "a1"), job("shop-a", "a2"), job("shop-b", "b1")];
    queue.send(&jobs, Duration::ZERO).await.unwrap();
    let first = queue.receive(10, Duration::from_millis(500)).await.unwrap();
    let keys: Vec<String> = first.iter().map(|d| d.job().unwrap().idempotency_key).collect();
    assert!(
        keys.contains(&"a1".to_string()) && keys.contains(&"b1".to_string()),
        "{keys:?}"
    );
    let a1 = keys.iter().position(|k| k == "a1").unwrap();
    if let Some(a2) = keys.iter().position(|k| k == "a2") {
        assert!(a1 < a2, "a2 overtook a1: {keys:?}");
    } else {
        // While a1 is in flight, a2 waits.
        assert!(queue.receive(10, Duration::from_millis(300)).await.unwrap().is_empty());
        for delivery in &first {
            queue.ack(delivery).await.unwrap();
        }
        let next = receive_all(queue.as_ref(), 1).await;
        assert_eq!(next[0].job().unwrap().idempotency_key, "a2");
    }
}

async fn fifo_drops_a_duplicate_idempotency_key((queue, _): Pair) {
    queue.send(&[job("shop-a", "order-1")], Duration::ZERO).await.unwrap();
    queue
        .send(&[job("shop-a", "order-1"), job("shop-a", "order-2")], Duration::ZERO)
        .await
        .unwrap();
    let mut keys = Vec::new();
    for _ in 0..6 {
        for delivery in queue.receive(10, Duration::from_millis(200)).await.unwrap() {
            keys.push(delivery.job().unwrap().idempotency_key);
            queue.ack(&delivery).await.unwrap();
        }
    }
    assert_eq!(keys, ["order-1", "order-2"]);
}

async fn fifo_refuses_a_per_message_delay((queue, _): Pair) {
    let result = queue.send(&[job("shop-a", "x")], Duration::from_secs(5)).await;
    assert!(matches!(result, Err(QueueError::InvalidRequest(_))), "{result:?}");
}

async fn oversized_job_is_refused((queue, _): Pair) {
    let big = Job::new(
        JobKind::UploadProduct,
        "store-a",
        "big",
        json!({"blob": "x".repeat(300 * 1024)}),
    );
    let result = queue.send(&[job("shop-a", "small"), big], Duration::ZERO).await;
    assert!(matches!(result, Err(QueueError::TooLarge { .. })), "{result:?}");
    assert!(
        queue.receive(10, Duration::from_millis(300)).await.unwrap().is_empty(),
        "nothing of a refused batch is sent"
    );
}

#[tokio::test]
async fn sending_to_an_unknown_sqs_queue_is_a_typed_error() {
    let Some(sdk) = common::emulator().await else { return };
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("the emulator's address");
    let url = format!("{}/123456789012/no-such-queue", endpoint.trim_end_matches('/'));
    let queue = SqsQueue::at_url(aws_sdk_sqs::Client::new(&sdk), &url);
    let result = queue.send(&[job("shop-a", "lost")], Duration::ZERO).await;
    assert!(
        matches!(result, Err(QueueError::UnknownQueue(ref named)) if *named == url),
        "{result:?}"
    );
}
