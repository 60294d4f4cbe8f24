//! Fault injection: which faults are on ([`Faults`], set through `POST /sandbox/faults`,
//! see [`crate::admin`]), the dice that decide them (a seedable RNG, so a chaos run can be
//! replayed), and the count of every fault injected (read back through
//! `GET /sandbox/faults`, so a run can report figures). A sandbox answers a refused
//! request the way its platform does (envelopes, headers, see [`Injector::guard`]); this
//! module only decides, holds back and cuts short.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde::{Deserialize, Serialize};

/// How long a request held by [`Faults::timeout_share`] waits before its answer when
/// `timeout_ms` is not given: longer than the connector's clients wait (15 s for
/// TikTok, 20 s for BigCommerce).
pub const DEFAULT_TIMEOUT_MS: u64 = 25_000;

/// How far [`Faults::reorder_share`] delays a webhook when `reorder_ms` is not given.
pub const DEFAULT_REORDER_MS: u64 = 2_000;

/// The faults a sandbox injects. Shares are between 0 and 1; the four request shares
/// together at most 1 (one roll per request picks at most one of them).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct Faults {
    /// Share of API requests answered 500 or 503 without taking effect.
    #[serde(default)]
    pub error_share: f64,
    /// Share of API requests answered 429 (the platform's rate-limit answer) without
    /// taking effect.
    #[serde(default)]
    pub rate_limit_share: f64,
    /// Share of API requests that take effect, then get their answer only after
    /// `timeout_ms`: the client has given up and does not know the call worked.
    #[serde(default)]
    pub timeout_share: f64,
    /// Share of API requests that take effect, then have their connection dropped
    /// mid-answer: the platform did the work and the caller "crashed" before learning it.
    #[serde(default)]
    pub drop_share: f64,
    /// Latency added to every API request, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// How long a timed-out request is held (default [`DEFAULT_TIMEOUT_MS`]).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Share of webhooks delivered twice.
    #[serde(default)]
    pub duplicate_share: f64,
    /// Share of webhooks never delivered (the receiver's poller must find the change).
    #[serde(default)]
    pub drop_webhook_share: f64,
    /// Share of webhooks held back up to `reorder_ms`, so later ones overtake them.
    #[serde(default)]
    pub reorder_share: f64,
    /// Longest hold of a reordered webhook (default [`DEFAULT_REORDER_MS`]).
    #[serde(default)]
    pub reorder_ms: Option<u64>,
    /// Seeds the dice when the faults are set: the same seed and the same traffic
    /// inject the same faults. Without it the dice are seeded from entropy.
    #[serde(default)]
    pub seed: Option<u64>,
}

impl Faults {
    /// Why these faults cannot be set, if they cannot.
    pub fn check(&self) -> Result<(), String> {
        let shares = [
            ("error_share", self.error_share),
            ("rate_limit_share", self.rate_limit_share),
            ("timeout_share", self.timeout_share),
            ("drop_share", self.drop_share),
            ("duplicate_share", self.duplicate_share),
            ("drop_webhook_share", self.drop_webhook_share),
            ("reorder_share", self.reorder_share),
        ];
        if let Some((name, _)) = shares.iter().find(|(_, share)| !(0.0..=1.0).contains(share)) {
            return Err(format!("{name} is between 0 and 1"));
        }
        if self.error_share + self.rate_limit_share + self.timeout_share + self.drop_share > 1.0 {
            return Err("error_share, rate_limit_share, timeout_share and drop_share add up to at most 1".into());
        }
        Ok(())
    }
}

/// What happens to one API request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFault {
    /// Answer 500 or 503 (`server_unavailable` says which) without taking effect.
    ServerError {
        /// 503 rather than 500.
        server_unavailable: bool,
    },
    /// Answer 429 without taking effect; `reset` is when the caller may come back.
    RateLimited {
        /// Time until the rate-limit window turns.
        reset: Duration,
    },
    /// Take effect, then answer after this long.
    Timeout(Duration),
    /// Take effect, then drop the connection mid-answer.
    DropAfterEffect,
}

/// A fault that refuses a request before it takes effect: the sandbox answers it in its
/// platform's shape (see [`Injector::guard`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Answer 500, or 503 when `server_unavailable`.
    ServerError {
        /// 503 rather than 500.
        server_unavailable: bool,
    },
    /// Answer 429; `reset` is when the caller may come back (100 ms to 1 s).
    RateLimited {
        /// Time until the rate-limit window turns.
        reset: Duration,
    },
}

/// What happens to one webhook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFate {
    /// Never delivered.
    Dropped,
    /// Delivered `copies` times (1 or 2), the first attempt after `delay`.
    Delivered {
        /// How many copies are sent.
        copies: u32,
        /// Wait before the first attempt.
        delay: Duration,
    },
}

/// The counters of [`Injector::report`], by fault kind.
pub type Injected = BTreeMap<&'static str, u64>;

/// The faults in force and what was injected so far: the body of `GET /sandbox/faults`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The faults in force.
    #[serde(flatten)]
    pub faults: Faults,
    /// Faults injected since the sandbox started, by kind: `5xx`, `429`, `timeout`,
    /// `drop` (answer dropped after the effect), `duplicate_webhook`,
    /// `dropped_webhook`, `reordered_webhook`.
    pub injected: Injected,
}

struct Dice {
    faults: Faults,
    rng: StdRng,
    injected: Injected,
}

impl Dice {
    fn hit(&mut self, share: f64, kind: &'static str) -> bool {
        let hit = share > 0.0 && self.rng.random::<f64>() < share;
        if hit {
            *self.injected.entry(kind).or_default() += 1;
        }
        hit
    }
}

/// The dice and counters of one sandbox; shared behind an `Arc` by its gate, its
/// webhook sender and its admin routes.
pub struct Injector {
    dice: Mutex<Dice>,
}

impl Default for Injector {
    fn default() -> Self {
        Self {
            dice: Mutex::new(Dice {
                faults: Faults::default(),
                rng: StdRng::from_os_rng(),
                injected: Injected::new(),
            }),
        }
    }
}

impl Injector {
    fn dice(&self) -> std::sync::MutexGuard<'_, Dice> {
        self.dice.lock().expect("fault dice lock")
    }

    /// Puts `faults` in force (reseeding the dice when they carry a seed); the
    /// counters keep counting.
    pub fn set(&self, faults: Faults) -> Result<(), String> {
        faults.check()?;
        let mut dice = self.dice();
        if let Some(seed) = faults.seed {
            dice.rng = StdRng::seed_from_u64(seed);
        }
        dice.faults = faults;
        Ok(())
    }

    /// The faults in force and the counters.
    pub fn report(&self) -> Report {
        let dice = self.dice();
        Report {
            faults: dice.faults.clone(),
            injected: dice.injected.clone(),
        }
    }

    /// Latency to add to every request ([`Faults::latency_ms`]).
    fn latency(&self) -> Duration {
        Duration::from_millis(self.dice().faults.latency_ms)
    }

    /// Rolls the fate of one API request (counted when a fault is chosen).
    pub fn request(&self) -> Option<RequestFault> {
        let mut dice = self.dice();
        let faults = dice.faults.clone();
        let roll = dice.rng.random::<f64>();
        let kinds = [
            ("5xx", faults.error_share),
            ("429", faults.rate_limit_share),
            ("timeout", faults.timeout_share),
            ("drop", faults.drop_share),
        ];
        let mut bound = 0.0;
        let kind = kinds.into_iter().find_map(|(kind, share)| {
            bound += share;
            (roll < bound).then_some(kind)
        });
        let fault = kind.map(|kind| {
            let fault = match kind {
                "5xx" => RequestFault::ServerError {
                    server_unavailable: dice.rng.random(),
                },
                "429" => RequestFault::RateLimited {
                    reset: Duration::from_millis(dice.rng.random_range(100..=1000)),
                },
                "timeout" => {
                    RequestFault::Timeout(Duration::from_millis(faults.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS)))
                }
                _ => RequestFault::DropAfterEffect,
            };
            (kind, fault)
        });
        fault.map(|(kind, fault)| {
            *dice.injected.entry(kind).or_default() += 1;
            fault
        })
    }

    /// Rolls the fate of one webhook (counted when a fault is chosen).
    pub fn webhook(&self) -> WebhookFate {
        let mut dice = self.dice();
        let faults = dice.faults.clone();
        if dice.hit(faults.drop_webhook_share, "dropped_webhook") {
            return WebhookFate::Dropped;
        }
        let copies = if dice.hit(faults.duplicate_share, "duplicate_webhook") {
            2
        } else {
            1
        };
        let delay = if dice.hit(faults.reorder_share, "reordered_webhook") {
            let longest = faults.reorder_ms.unwrap_or(DEFAULT_REORDER_MS);
            Duration::from_millis(dice.rng.random_range(0..=longest))
        } else {
            Duration::ZERO
        };
        WebhookFate::Delivered { copies, delay }
    }

    /// Runs one API request under the faults in force: waits [`Faults::latency_ms`], rolls
    /// the request's fate ([`Injector::request`]), answers a [`Refusal`] with `refuse`
    /// (the platform's 5xx or 429, `handle` never runs), and otherwise awaits `handle`
    /// and passes its answer through [`after_effect`] (held back or cut short).
    pub async fn guard(
        &self,
        refuse: impl FnOnce(Refusal) -> axum::response::Response,
        handle: impl Future<Output = axum::response::Response>,
    ) -> axum::response::Response {
        let latency = self.latency();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let fault = self.request();
        match fault {
            Some(RequestFault::ServerError { server_unavailable }) => {
                refuse(Refusal::ServerError { server_unavailable })
            }
            Some(RequestFault::RateLimited { reset }) => refuse(Refusal::RateLimited { reset }),
            _ => after_effect(fault, handle.await).await,
        }
    }
}

/// The answer to a request that took effect, as `fault` wants it: cut short
/// ([`RequestFault::DropAfterEffect`]), held back ([`RequestFault::Timeout`]), or as is.
async fn after_effect(fault: Option<RequestFault>, response: axum::response::Response) -> axum::response::Response {
    match fault {
        Some(RequestFault::DropAfterEffect) => cut_short(response).await,
        Some(RequestFault::Timeout(hold)) => {
            tokio::time::sleep(hold).await;
            response
        }
        _ => response,
    }
}

/// The answer cut short: half the body, then the stream fails, so the server aborts
/// the connection and the client sees it drop mid-response.
async fn cut_short(response: axum::response::Response) -> axum::response::Response {
    use axum::body::{Body, Bytes};
    use axum::http::HeaderValue;
    use axum::http::header::CONTENT_LENGTH;
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let cut = bytes.slice(..bytes.len() / 2);
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(bytes.len() as u64));
    let chunks: [Result<Bytes, std::io::Error>; 2] = [
        Ok(cut),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox dropped the connection",
        )),
    ];
    axum::response::Response::from_parts(parts, Body::from_stream(futures_util::stream::iter(chunks)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn injector(faults: Faults) -> Injector {
        let injector = Injector::default();
        injector.set(faults).unwrap();
        injector
    }

    #[test]
    fn the_same_seed_injects_the_same_faults_and_counts_them() {
        let faults = Faults {
            error_share: 0.1,
            rate_limit_share: 0.02,
            drop_share: 0.05,
            duplicate_share: 0.05,
            seed: Some(7),
            ..Faults::default()
        };
        let run = || {
            let injector = injector(faults.clone());
            let fates: Vec<_> = (0..2000).map(|_| (injector.request(), injector.webhook())).collect();
            (fates, injector.report().injected)
        };
        let (first, counted) = run();
        assert_eq!(first, run().0, "replayable");
        let errors = first
            .iter()
            .filter(|(f, _)| matches!(f, Some(RequestFault::ServerError { .. })))
            .count();
        assert_eq!(counted["5xx"], errors as u64);
        assert!((150..250).contains(&errors), "about 10%: {errors}");
        assert!((10..70).contains(&counted["429"]), "about 2%: {counted:?}");
        assert!(!counted.contains_key("timeout"));
    }

    #[test]
    fn shares_outside_zero_to_one_or_adding_up_past_one_are_refused() {
        let too_many = Faults {
            error_share: 0.6,
            drop_share: 0.6,
            ..Faults::default()
        };
        assert!(Injector::default().set(too_many).is_err());
        let negative = Faults {
            reorder_share: -0.1,
            ..Faults::default()
        };
        assert!(negative.check().unwrap_err().contains("reorder_share"));
    }

    #[test]
    fn a_dropped_webhook_is_never_delivered() {
        let injector = injector(Faults {
            drop_webhook_share: 1.0,
            ..Faults::default()
        });
        assert_eq!(injector.webhook(), WebhookFate::Dropped);
        assert_eq!(injector.report().injected["dropped_webhook"], 1);
    }
}
