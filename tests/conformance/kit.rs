//! What every sandbox on `infra/sandbox-kit` shares, for the platform bindings: its
//! `/sandbox/` admin routes called as JSON, and the suite's [`Fault`]s put in force
//! through the kit's seeded dice (`/sandbox/faults`), so a check gets exactly the
//! pattern of faults it asks for on the next requests.

use std::time::Duration;

use anyhow::{Context as _, bail};
use rust_decimal::Decimal;
use sandbox_kit::faults::{Faults, Injector, RequestFault};
use serde_json::Value;

use crate::suite::{Fault, Injected, Times};

/// Requests after an injected pattern of faults that go through before the dice roll
/// freely again (a check clears its fault before then).
/// Long enough for the longest operation a check makes under a fault (Magento's quote
/// flow takes about a dozen requests).
const CLEAN_TAIL: usize = 32;

/// The share of requests a seeded fault pattern is rolled at: low enough that a seed
/// with the pattern's faults and then [`CLEAN_TAIL`] clean requests is found quickly.
const SEEDED_SHARE: f64 = 0.1;

/// A sandbox's admin routes.
pub struct Admin {
    base: String,
    http: reqwest::Client,
}

/// A request fault, by kind only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    ServerError,
    RateLimited,
    Drop,
}

fn kind_of(fault: RequestFault) -> Option<Kind> {
    match fault {
        RequestFault::ServerError { .. } => Some(Kind::ServerError),
        RequestFault::RateLimited { .. } => Some(Kind::RateLimited),
        RequestFault::DropAfterEffect => Some(Kind::Drop),
        RequestFault::Timeout(_) => None,
    }
}

/// `faults` with the first seed whose dice give the next requests exactly `pattern`
/// (then [`CLEAN_TAIL`] requests without a fault), rolled with the sandbox's own dice;
/// with the time its 429s tell the caller to wait in all.
fn seeded(faults: Faults, pattern: &[Option<Kind>]) -> anyhow::Result<(Faults, Duration)> {
    let wanted: Vec<Option<Kind>> = pattern
        .iter()
        .copied()
        .chain(std::iter::repeat_n(None, CLEAN_TAIL))
        .collect();
    (0..1_000_000u64)
        .find_map(|seed| {
            let faults = Faults {
                seed: Some(seed),
                ..faults.clone()
            };
            let dice = Injector::default();
            dice.set(faults.clone()).ok()?;
            let mut wait = Duration::ZERO;
            for want in &wanted {
                let fault = dice.request();
                if fault.and_then(kind_of) != *want {
                    return None;
                }
                if let Some(RequestFault::RateLimited { reset }) = fault {
                    wait += reset;
                }
            }
            Some((faults, wait))
        })
        .context("no seed gives the fault pattern")
}

/// The faults for `times` of one kind (`share` set by `with`), with the time their
/// 429s tell the caller to wait (zero when not known in advance).
fn repeated(times: Times, kind: Kind, with: impl Fn(f64) -> Faults) -> anyhow::Result<(Faults, Duration)> {
    match times {
        Times::Always => Ok((with(1.0), Duration::ZERO)),
        Times::Next(n) => seeded(with(SEEDED_SHARE), &vec![Some(kind); n as usize]),
    }
}

/// A money amount the sandbox writes as a string or a number.
pub fn money(value: &Value) -> Decimal {
    match value {
        Value::String(text) => text.parse().unwrap_or_default(),
        Value::Number(number) => number.to_string().parse().unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

/// The products of a sandbox's `/sandbox/catalogue` answer: each `{"id", <sku>,
/// <parts>: [{"id", <sku>, "options": [[name, value]]}]}` with its parts as variants
/// `{product id}:{part id}` (Magento's configurable children, PrestaShop's combinations),
/// or itself as its one variant when it has none.
pub fn held_products(products: &[Value], parts: &str, sku: &str) -> Vec<crate::suite::HeldProduct> {
    use crate::suite::{HeldProduct, HeldVariant};
    products
        .iter()
        .map(|p| {
            let id = text(&p["id"]);
            let children = p[parts].as_array().cloned().unwrap_or_default();
            let variants = if children.is_empty() {
                vec![HeldVariant {
                    id: id.clone(),
                    sku: text(&p[sku]),
                    options: Vec::new(),
                }]
            } else {
                children
                    .iter()
                    .map(|c| HeldVariant {
                        id: format!("{id}:{}", text(&c["id"])),
                        sku: text(&c[sku]),
                        options: c["options"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|pair| (text(&pair[0]), text(&pair[1])))
                            .collect(),
                    })
                    .collect()
            };
            HeldProduct { id, variants }
        })
        .collect()
}

/// A JSON value as text (a string as it is, anything else as JSON).
pub fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

impl Admin {
    /// The admin routes of the sandbox at `base` (`http://ADDR`).
    pub fn new(base: &str, http: reqwest::Client) -> Self {
        Self {
            base: base.to_string(),
            http,
        }
    }

    /// Sends an admin request; fails unless it answers 2xx; returns its JSON.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let answer = response.text().await?;
        if !status.is_success() {
            bail!("{path} answered {status}: {answer}");
        }
        Ok(serde_json::from_str(&answer).unwrap_or(Value::Null))
    }

    /// A `POST` of `body` to an admin route, for its effect.
    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<()> {
        self.call(reqwest::Method::POST, path, Some(body)).await.map(drop)
    }

    /// A `DELETE` of an admin route.
    pub async fn delete(&self, path: &str) -> anyhow::Result<()> {
        self.call(reqwest::Method::DELETE, path, None).await.map(drop)
    }

    async fn set_faults(&self, faults: Faults) -> anyhow::Result<()> {
        self.call(
            reqwest::Method::POST,
            "/sandbox/faults",
            Some(serde_json::to_value(faults)?),
        )
        .await
        .map(drop)
    }

    /// Puts `fault` in force ([`crate::suite::SandboxStore::inject`]).
    pub async fn inject(&self, fault: Fault) -> anyhow::Result<Duration> {
        let only = |faults: Faults| (faults, Duration::ZERO);
        let (faults, wait) = match fault {
            Fault::Clear => only(Faults::default()),
            Fault::ServerErrors(times) => repeated(times, Kind::ServerError, |share| Faults {
                error_share: share,
                ..Faults::default()
            })?,
            Fault::RateLimited(times) => repeated(times, Kind::RateLimited, |share| Faults {
                rate_limit_share: share,
                ..Faults::default()
            })?,
            Fault::LoseAnswer { nth } => {
                let mut pattern = vec![None; nth.saturating_sub(1) as usize];
                pattern.push(Some(Kind::Drop));
                seeded(
                    Faults {
                        drop_share: SEEDED_SHARE,
                        ..Faults::default()
                    },
                    &pattern,
                )?
            }
            Fault::DropWebhooks => only(Faults {
                drop_webhook_share: 1.0,
                ..Faults::default()
            }),
            Fault::DuplicateWebhooks => only(Faults {
                duplicate_share: 1.0,
                ..Faults::default()
            }),
        };
        self.set_faults(faults).await?;
        Ok(wait)
    }

    /// What the faults refused or cut short ([`crate::suite::SandboxStore::injected`]).
    pub async fn injected(&self) -> anyhow::Result<Injected> {
        let report = self.call(reqwest::Method::GET, "/sandbox/faults", None).await?;
        let count = |kind: &str| report["injected"][kind].as_u64().unwrap_or(0);
        Ok(Injected {
            server_errors: count("5xx"),
            rate_limited: count("429"),
            lost_answers: count("drop"),
        })
    }
}
