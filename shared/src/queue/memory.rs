//! In-process queue with SQS semantics: delay, visibility timeout, receive counts,
//! redrive to a dead-letter queue after `max_receives`, and for FIFO queues one
//! in-flight message per group plus deduplication on the idempotency key.
//! Time is `tokio::time`, so tests can pause and advance it.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::{DEDUP_WINDOW, Delivery, Job, JobQueue, MAX_BATCH, QueueError, QueueSettings, dedup_id};

struct Message {
    id: String,
    body: String,
    group: Option<String>,
    visible_at: Instant,
    receive_count: u32,
    receipt: Option<String>,
}

#[derive(Default)]
struct State {
    messages: VecDeque<Message>,
    /// Deduplication ids sent within the last [`DEDUP_WINDOW`].
    dedup_seen: HashSet<String>,
    /// The same ids in send order, so expiry pops from the front instead of scanning.
    dedup_order: VecDeque<(Instant, String)>,
}

impl State {
    /// Whether `id` was first sent within the window before `now`; records it if not.
    /// As in SQS, the window runs from the first send: a duplicate does not extend it.
    fn seen_recently(&mut self, id: String, now: Instant) -> bool {
        while let Some((at, _)) = self.dedup_order.front() {
            if now.duration_since(*at) < DEDUP_WINDOW {
                break;
            }
            let (_, expired) = self.dedup_order.pop_front().expect("a front entry");
            self.dedup_seen.remove(&expired);
        }
        if !self.dedup_seen.insert(id.clone()) {
            return true;
        }
        self.dedup_order.push_back((now, id));
        false
    }
}

/// The in-process queue. Cheap to clone; clones share the messages.
#[derive(Clone)]
pub struct InProcessQueue {
    settings: QueueSettings,
    state: Arc<Mutex<State>>,
    /// Wakes waiting receivers when a message arrives or a FIFO group frees up.
    changed: Arc<tokio::sync::Notify>,
    dead_letter: Option<Box<InProcessQueue>>,
}

impl InProcessQueue {
    /// A queue whose messages move to a new dead-letter queue after
    /// `settings.max_receives` receives.
    pub fn new(settings: QueueSettings) -> Self {
        let dead_letter = InProcessQueue {
            settings: QueueSettings {
                max_receives: u32::MAX,
                ..settings.clone()
            },
            state: Arc::default(),
            changed: Arc::default(),
            dead_letter: None,
        };
        Self {
            settings,
            state: Arc::default(),
            changed: Arc::default(),
            dead_letter: Some(Box::new(dead_letter)),
        }
    }

    /// The dead-letter queue, for inspection and redrive.
    pub fn dead_letter(&self) -> Option<&InProcessQueue> {
        self.dead_letter.as_deref()
    }

    fn push(&self, body: String, group: Option<String>, visible_at: Instant) {
        let message = Message {
            id: uuid::Uuid::new_v4().to_string(),
            body,
            group,
            visible_at,
            receive_count: 0,
            receipt: None,
        };
        self.state.lock().expect("queue lock").messages.push_back(message);
        self.changed.notify_waiters();
    }

    /// Takes what is receivable now, moving over-received messages to the DLQ.
    fn take(&self, max: usize) -> Vec<Delivery> {
        let now = Instant::now();
        let mut state = self.state.lock().expect("queue lock");
        let mut busy_groups: Vec<String> = state
            .messages
            .iter()
            .filter(|m| m.receipt.is_some() && m.visible_at > now)
            .filter_map(|m| m.group.clone())
            .collect();
        let mut deliveries = Vec::new();
        let mut dead = Vec::new();
        let mut index = 0;
        while index < state.messages.len() && deliveries.len() < max {
            let message = &mut state.messages[index];
            let group_busy = message.group.as_ref().is_some_and(|g| busy_groups.contains(g));
            if message.visible_at > now || group_busy {
                // Later messages of a group wait for the earlier one (FIFO order).
                if let Some(group) = &message.group {
                    busy_groups.push(group.clone());
                }
                index += 1;
                continue;
            }
            if message.receive_count >= self.settings.max_receives {
                dead.push(state.messages.remove(index).expect("index in range"));
                continue;
            }
            message.receive_count += 1;
            let receipt = uuid::Uuid::new_v4().to_string();
            message.receipt = Some(receipt.clone());
            message.visible_at = now + self.settings.visibility_timeout;
            if let Some(group) = &message.group {
                busy_groups.push(group.clone());
            }
            deliveries.push(Delivery {
                message_id: message.id.clone(),
                receipt,
                receive_count: message.receive_count,
                body: message.body.clone(),
                group: message.group.clone(),
            });
            index += 1;
        }
        drop(state);
        if let Some(dead_letter) = &self.dead_letter {
            for message in dead {
                tracing::warn!(message_id = %message.id, receives = message.receive_count, "moved to dead-letter queue");
                dead_letter.push(message.body, message.group, now);
            }
        }
        deliveries
    }

    fn with_receipt(&self, delivery: &Delivery, change: impl FnOnce(&mut VecDeque<Message>, usize)) {
        let mut state = self.state.lock().expect("queue lock");
        let found = state
            .messages
            .iter()
            .position(|m| m.receipt.as_deref() == Some(delivery.receipt.as_str()));
        // An outdated receipt (the message was received again since) changes nothing, as in SQS.
        if let Some(position) = found {
            change(&mut state.messages, position);
        }
    }

    /// Messages waiting or in flight (for tests and the local dashboard).
    pub fn len(&self) -> usize {
        self.state.lock().expect("queue lock").messages.len()
    }

    /// Whether the queue holds no message.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl JobQueue for InProcessQueue {
    fn is_fifo(&self) -> bool {
        self.settings.fifo
    }

    async fn send(&self, jobs: &[Job], delay: Duration) -> Result<(), QueueError> {
        if self.settings.fifo && !delay.is_zero() {
            return Err(QueueError::InvalidRequest(
                "FIFO queues take no per-message delay".into(),
            ));
        }
        let bodies = jobs
            .iter()
            .map(|job| job.to_body().map(|body| (job, body)))
            .collect::<Result<Vec<_>, _>>()?;
        let now = Instant::now();
        for chunk in bodies.chunks(MAX_BATCH) {
            for (job, body) in chunk {
                if self.settings.fifo {
                    if self.state.lock().expect("queue lock").seen_recently(dedup_id(job), now) {
                        continue;
                    }
                }
                let group = self.settings.fifo.then(|| job.message_group().to_string());
                self.push(body.clone(), group, now + delay);
            }
        }
        Ok(())
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, QueueError> {
        let max = max.clamp(1, MAX_BATCH);
        let deadline = Instant::now() + wait;
        loop {
            // Made before looking, so a message sent meanwhile still wakes this receiver;
            // delayed messages become visible on their own, so it also looks every 20 ms.
            let changed = self.changed.notified();
            let deliveries = self.take(max);
            if !deliveries.is_empty() || Instant::now() >= deadline {
                return Ok(deliveries);
            }
            tokio::select! {
                () = changed => {}
                () = tokio::time::sleep(Duration::from_millis(20).min(deadline - Instant::now())) => {}
            }
        }
    }

    async fn ack(&self, delivery: &Delivery) -> Result<(), QueueError> {
        self.with_receipt(delivery, |messages, position| {
            messages.remove(position);
        });
        // The message's FIFO group may hold the next one.
        self.changed.notify_waiters();
        Ok(())
    }

    async fn retry_later(&self, delivery: &Delivery, delay: Duration) -> Result<(), QueueError> {
        self.with_receipt(delivery, |messages, position| {
            messages[position].visible_at = Instant::now() + delay;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::JobKind;

    fn fifo() -> InProcessQueue {
        InProcessQueue::new(QueueSettings {
            fifo: true,
            ..QueueSettings::default()
        })
    }

    fn job(key: &str) -> Job {
        Job::new(JobKind::SyncStock, "store-1", key, serde_json::json!({}))
    }

    #[tokio::test(start_paused = true)]
    async fn a_fifo_duplicate_is_dropped_for_five_minutes_from_its_first_send() {
        let queue = fifo();
        queue.send(&[job("a"), job("b")], Duration::ZERO).await.unwrap();
        queue.send(&[job("a")], Duration::ZERO).await.unwrap();
        assert_eq!(queue.len(), 2, "the second \"a\" is a duplicate");

        tokio::time::advance(Duration::from_secs(200)).await;
        queue.send(&[job("a")], Duration::ZERO).await.unwrap();
        assert_eq!(queue.len(), 2, "still within the window");

        // 301 s after the first send: a duplicate at 200 s did not extend the window.
        tokio::time::advance(Duration::from_secs(101)).await;
        queue.send(&[job("a"), job("c")], Duration::ZERO).await.unwrap();
        assert_eq!(queue.len(), 4, "\"a\" is new again once its window has passed");
        queue.send(&[job("b"), job("c")], Duration::ZERO).await.unwrap();
        assert_eq!(queue.len(), 5, "\"b\" expired with \"a\"; \"c\" is a duplicate");
    }
}
