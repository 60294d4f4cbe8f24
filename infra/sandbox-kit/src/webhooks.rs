//! Webhook delivery: each event's fate from the [`Injector`] (dropped, sent twice, held
//! back), then every copy POSTed and retried on the platform's schedule until an
//! answer ends it. What a delivery carries (address, headers, signature, body) and
//! where its attempts are logged belong to the platform: a [`Message`].

use std::sync::Arc;
use std::time::Duration;

use crate::faults::{Injector, WebhookFate};

/// How a platform retries and repeats its webhooks.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// Seconds to wait after each failed attempt, in order: a copy gets one attempt more
    /// than there are delays, then the platform gives up.
    pub retry_delays: &'static [u64],
    /// Multiplies every delay (tests shrink hours to milliseconds); 1.0 is real time.
    pub time_scale: f64,
    /// Whether an HTTP status ends the attempts (`0` stands for a failed connection).
    pub ends: fn(u16) -> bool,
    /// Share of events sent twice on top of injected duplicates (0 to 1; a platform's
    /// configured at-least-once behaviour).
    pub duplicate_share: f64,
    /// Each copy waits a random 0 to this long before its first attempt, so copies and
    /// events may arrive out of order (on top of injected reordering).
    pub max_delay: Duration,
}

impl DeliveryPolicy {
    /// No retries, no duplicates, no delay; a 2xx ends the attempts.
    pub fn once() -> Self {
        Self {
            retry_delays: &[],
            time_scale: 1.0,
            ends: |status| (200..300).contains(&status),
            duplicate_share: 0.0,
            max_delay: Duration::ZERO,
        }
    }
}

/// One event for one receiver: what each attempt sends and where its outcome goes.
/// Cloned once per copy.
pub trait Message: Clone + Send + Sync + 'static {
    /// The request of one attempt (address, headers, body); built afresh per attempt,
    /// so a signature may carry the attempt's own timestamp.
    fn request(&self, http: &reqwest::Client) -> reqwest::RequestBuilder;
    /// Logs attempt `attempt` (1 = first) answered `status` (0 = the connection failed).
    fn record(&self, attempt: u32, status: u16);
    /// Called when a copy's attempts are spent without an answer that ends them.
    fn exhausted(&self) {}
}

/// Sends a sandbox's webhooks under its [`DeliveryPolicy`] and injected faults.
/// Cloning shares the HTTP client and the dice.
#[derive(Clone)]
pub struct Courier {
    http: reqwest::Client,
    faults: Arc<Injector>,
    policy: Arc<DeliveryPolicy>,
}

impl Courier {
    /// A courier rolling webhook faults on `faults`, with a client that gives up on an
    /// attempt after 3 s.
    pub fn new(faults: Arc<Injector>, policy: DeliveryPolicy) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()
                .expect("HTTP client builds"),
            faults,
            policy: Arc::new(policy),
        }
    }

    /// The HTTP client, for a sandbox's other outgoing calls (app callbacks).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Rolls the fate of one event and sends its copies in the background; `false`
    /// when the fault injection dropped it (nothing is sent).
    pub fn send(&self, message: impl Message) -> bool {
        let WebhookFate::Delivered { mut copies, delay } = self.faults.webhook() else {
            return false;
        };
        if copies == 1 && rand::random::<f64>() < self.policy.duplicate_share {
            copies = 2;
        }
        for _ in 0..copies {
            let (courier, message) = (self.clone(), message.clone());
            tokio::spawn(async move {
                tokio::time::sleep(delay + courier.jitter()).await;
                courier.deliver(&message).await;
            });
        }
        true
    }

    fn jitter(&self) -> Duration {
        let longest = self.policy.max_delay.as_millis() as u64;
        Duration::from_millis(if longest > 0 {
            rand::random_range(0..=longest)
        } else {
            0
        })
    }

    /// Delivers one copy now, retrying on the schedule; `true` when an answer ended the
    /// attempts, `false` (after [`Message::exhausted`]) when they ran out.
    pub async fn deliver(&self, message: &impl Message) -> bool {
        let policy = &self.policy;
        for attempt in 1..=(policy.retry_delays.len() as u32 + 1) {
            let sent = message.request(&self.http).send().await;
            let status = sent.map(|r| r.status().as_u16()).unwrap_or(0);
            message.record(attempt, status);
            if (policy.ends)(status) {
                return true;
            }
            let Some(delay) = policy.retry_delays.get(attempt as usize - 1) else {
                break;
            };
            tokio::time::sleep(Duration::from_secs_f64(*delay as f64 * policy.time_scale)).await;
        }
        message.exhausted();
        false
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    use axum::http::StatusCode;

    use super::*;
    use crate::Faults;

    /// A message whose attempts land in a shared log.
    #[derive(Clone, Default)]
    struct Probe {
        url: String,
        log: Arc<Mutex<Vec<(u32, u16)>>>,
        spent: Arc<AtomicBool>,
    }

    impl Message for Probe {
        fn request(&self, http: &reqwest::Client) -> reqwest::RequestBuilder {
            http.post(&self.url).body("{}")
        }

        fn record(&self, attempt: u32, status: u16) {
            self.log.lock().unwrap().push((attempt, status));
        }

        fn exhausted(&self) {
            self.spent.store(true, Ordering::SeqCst);
        }
    }

    /// A receiver answering its POSTs with `statuses` in turn, then 200.
    async fn receiver(statuses: &[u16]) -> Probe {
        let script = Arc::new(Mutex::new(statuses.iter().copied().collect::<VecDeque<u16>>()));
        let answer = move || {
            let next = script.lock().unwrap().pop_front().unwrap_or(200);
            std::future::ready(StatusCode::from_u16(next).unwrap())
        };
        let router = axum::Router::new().route("/", axum::routing::post(answer));
        let addr = crate::serve("127.0.0.1:0".parse().unwrap(), router, "test")
            .await
            .unwrap();
        Probe {
            url: format!("http://{addr}/"),
            ..Probe::default()
        }
    }

    fn courier(faults: Faults, retry_delays: &'static [u64]) -> Courier {
        let injector = Arc::new(Injector::default());
        injector.set(faults).unwrap();
        let policy = DeliveryPolicy {
            retry_delays,
            time_scale: 0.001,
            ..DeliveryPolicy::once()
        };
        Courier::new(injector, policy)
    }

    #[tokio::test]
    async fn a_copy_is_retried_until_an_answer_ends_it() {
        let probe = receiver(&[500, 503]).await;
        assert!(courier(Faults::default(), &[1, 1, 1]).deliver(&probe).await);
        assert_eq!(*probe.log.lock().unwrap(), [(1, 500), (2, 503), (3, 200)]);
        assert!(!probe.spent.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_copy_whose_attempts_run_out_is_given_up() {
        let probe = receiver(&[500, 500, 500]).await;
        assert!(!courier(Faults::default(), &[1]).deliver(&probe).await);
        assert_eq!(
            *probe.log.lock().unwrap(),
            [(1, 500), (2, 500)],
            "one attempt more than delays"
        );
        assert!(probe.spent.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn an_injected_duplicate_is_delivered_twice_and_a_dropped_webhook_never() {
        let probe = receiver(&[]).await;
        let doubled = Faults {
            duplicate_share: 1.0,
            ..Faults::default()
        };
        assert!(courier(doubled, &[]).send(probe.clone()));
        for _ in 0..200 {
            if probe.log.lock().unwrap().len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(*probe.log.lock().unwrap(), [(1, 200), (1, 200)]);
        let dropped = Faults {
            drop_webhook_share: 1.0,
            ..Faults::default()
        };
        let silent = receiver(&[]).await;
        assert!(!courier(dropped, &[]).send(silent.clone()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(silent.log.lock().unwrap().is_empty());
    }
}
