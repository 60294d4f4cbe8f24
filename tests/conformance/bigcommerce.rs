//! The BigCommerce binding: the sandbox of `infra/bigcommerce-sandbox` started in
//! process, the app installed the way a merchant installs it (Install click, code
//! exchange), the adapter built on the installed store's token, and [`SandboxStore`]
//! through the sandbox's `/sandbox/` admin routes.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context as _, bail};
use async_trait::async_trait;
use bigcommerce_sandbox::{Sandbox, SandboxConfig};
use connector::secrets::SecretString;
use connector::store::OrderStatus;
use connector::store::bigcommerce::{BigCommerce, Client, ClientConfig, exchange_code};
use rust_decimal::Decimal;
use sandbox_kit::faults::{Faults, Injector, RequestFault};
use serde_json::{Value, json};

use crate::suite::{
    Bench, Fault, HeldOrder, HeldProduct, HeldShipment, HeldVariant, Injected, SandboxStore, Setup, Times,
};

/// The sandbox store's hash.
const STORE: &str = "conformance";
/// The app's client id.
const CLIENT_ID: &str = "conformance-client";
/// The app's client secret (also the key of its webhooks' signatures).
const CLIENT_SECRET: &str = "conformance-secret";
/// The app's auth callback.
const CALLBACK: &str = "https://app.example.com/bigcommerce/auth";
/// BigCommerce's only location in the sandbox (the default one, id 1).
const LOCATION: &str = "1";
/// Requests after an injected pattern of faults that go through before the dice roll
/// freely again (a check clears its fault before then).
const CLEAN_TAIL: usize = 8;

/// Starts a BigCommerce sandbox on a free port with `setup`'s catalogue, installs the
/// app, and connects the adapter with the installed store's token.
pub fn start(setup: Setup) -> std::pin::Pin<Box<dyn std::future::Future<Output = Bench> + Send>> {
    Box::pin(async move {
        let config = SandboxConfig {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            stores: vec![STORE.into()],
            products: setup.products,
            auth_callback_url: Some(CALLBACK.into()),
            quota: 10_000,
            window: Duration::from_secs(1),
            ..SandboxConfig::default()
        };
        let addr = Sandbox::new(config)
            .serve("127.0.0.1:0".parse().expect("an address"))
            .await
            .expect("the sandbox serves");
        let base = format!("http://{addr}");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        let redirect = http
            .get(format!("{base}/sandbox/install?store_hash={STORE}"))
            .send()
            .await
            .expect("the merchant clicks Install");
        let location = url::Url::parse(redirect.headers()["location"].to_str().expect("a redirect location"))
            .expect("a redirect URL");
        let query: HashMap<String, String> = location.query_pairs().into_owned().collect();
        let grant = exchange_code(
            &http,
            &base,
            CLIENT_ID,
            &SecretString::new(CLIENT_SECRET.into()),
            &query["code"],
            &query["scope"],
            &query["context"],
            CALLBACK,
        )
        .await
        .expect("the code is exchanged");
        let mut client = ClientConfig::new(STORE, grant.access_token);
        client.api_base = base.clone();
        let store = BigCommerce::new(
            Client::new(client).expect("a client"),
            Some(SecretString::new(CLIENT_SECRET.into())),
            "4242".into(),
        );
        Bench {
            store: Box::new(store),
            sandbox: Box::new(BigCommerceSandbox { base, http }),
        }
    })
}

/// The BigCommerce sandbox through its admin routes.
struct BigCommerceSandbox {
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
        Times::Next(n) => seeded(with(0.5), &vec![Some(kind); n as usize]),
    }
}

/// The store-neutral status of a BigCommerce status id, from BigCommerce's status
/// table (kept apart from the adapter's mapping, which the checks test).
fn status_of(status_id: u64) -> OrderStatus {
    match status_id {
        1 => OrderStatus::Pending,
        2 => OrderStatus::Shipped,
        3 => OrderStatus::PartiallyShipped,
        4 => OrderStatus::Refunded,
        5 => OrderStatus::Cancelled,
        9 => OrderStatus::AwaitingShipment,
        10 => OrderStatus::Completed,
        11 => OrderStatus::AwaitingFulfillment,
        14 => OrderStatus::PartiallyRefunded,
        other => OrderStatus::Other(other.to_string()),
    }
}

/// A money amount the sandbox writes as a string or a number.
fn money(value: &Value) -> Decimal {
    match value {
        Value::String(text) => text.parse().unwrap_or_default(),
        Value::Number(number) => number.to_string().parse().unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

impl BigCommerceSandbox {
    /// Sends an admin request; fails unless it answers 2xx; returns its JSON.
    async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
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

    async fn products(&self) -> anyhow::Result<Vec<Value>> {
        let answer = self
            .admin(
                reqwest::Method::GET,
                &format!("/sandbox/products?store_hash={STORE}"),
                None,
            )
            .await?;
        serde_json::from_value(answer).context("the sandbox's products")
    }

    async fn set_faults(&self, faults: Faults) -> anyhow::Result<()> {
        self.admin(
            reqwest::Method::POST,
            "/sandbox/faults",
            Some(serde_json::to_value(faults)?),
        )
        .await
        .map(drop)
    }
}

#[async_trait]
impl SandboxStore for BigCommerceSandbox {
    async fn catalogue(&self) -> anyhow::Result<Vec<HeldProduct>> {
        let mut products: Vec<HeldProduct> = self
            .products()
            .await?
            .iter()
            .map(|p| HeldProduct {
                id: text(&p["id"]),
                variants: p["variants"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|v| HeldVariant {
                        id: text(&v["id"]),
                        sku: text(&v["sku"]),
                        options: v["option_values"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|o| (text(&o["option_display_name"]), text(&o["label"])))
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        products.sort_by_key(|p| p.id.parse::<u64>().unwrap_or_default());
        Ok(products)
    }

    fn locations(&self) -> Vec<String> {
        vec![LOCATION.into()]
    }

    async fn set_stock(&self, product_id: &str, variant_id: &str, location: &str, level: i64) -> anyhow::Result<()> {
        if location != LOCATION {
            bail!("the BigCommerce sandbox has only location {LOCATION}, not {location}");
        }
        let variant_id: u64 = variant_id.parse()?;
        self.admin(
            reqwest::Method::POST,
            &format!("/sandbox/products/{product_id}/stock?store_hash={STORE}"),
            Some(json!({"variant_id": variant_id, "inventory_level": level})),
        )
        .await
        .map(drop)
    }

    async fn stock(&self, product_id: &str, variant_id: &str) -> anyhow::Result<i64> {
        let products = self.products().await?;
        let product = products
            .iter()
            .find(|p| text(&p["id"]) == product_id)
            .with_context(|| format!("no product {product_id}"))?;
        product["variants"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| text(&v["id"]) == variant_id)
            .and_then(|v| v["inventory_level"].as_i64())
            .with_context(|| format!("no variant {variant_id} of product {product_id}"))
    }

    async fn edit_product(&self, product_id: &str, name: &str) -> anyhow::Result<()> {
        self.admin(
            reqwest::Method::POST,
            &format!("/sandbox/products/{product_id}?store_hash={STORE}"),
            Some(json!({ "name": name })),
        )
        .await
        .map(drop)
    }

    async fn delete_product(&self, product_id: &str) -> anyhow::Result<()> {
        self.admin(
            reqwest::Method::DELETE,
            &format!("/sandbox/products/{product_id}?store_hash={STORE}"),
            None,
        )
        .await
        .map(drop)
    }

    async fn storefront_sale(&self, product_id: &str, variant_id: &str, quantity: u32) -> anyhow::Result<String> {
        let line = json!({"product_id": product_id.parse::<u64>()?, "variant_id": variant_id.parse::<u64>()?,
                          "quantity": quantity});
        let order = self
            .admin(
                reqwest::Method::POST,
                &format!("/sandbox/orders?store_hash={STORE}"),
                Some(json!({ "products": [line] })),
            )
            .await?;
        Ok(text(&order["id"]))
    }

    async fn ship(&self, order_id: &str, tracking_number: &str, carrier: &str) -> anyhow::Result<()> {
        self.admin(
            reqwest::Method::POST,
            &format!("/sandbox/orders/{order_id}/shipments"),
            Some(json!({"tracking_number": tracking_number, "shipping_provider": carrier})),
        )
        .await
        .map(drop)
    }

    fn carrier(&self) -> String {
        "ups".into()
    }

    async fn orders_by_external_id(&self, external_order_id: &str) -> anyhow::Result<Vec<HeldOrder>> {
        let orders: Vec<Value> =
            serde_json::from_value(self.admin(reqwest::Method::GET, "/sandbox/orders", None).await?)?;
        Ok(orders
            .iter()
            .filter(|o| o["store_hash"] == STORE && o["external_order_id"] == external_order_id)
            .map(|o| HeldOrder {
                id: text(&o["id"]),
                status: status_of(o["status_id"].as_u64().unwrap_or_default()),
                refunded: money(&o["refunded_amount"]),
                shipments: o["shipments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| HeldShipment {
                        tracking_number: text(&s["tracking_number"]),
                        carrier: text(&s["shipping_provider"]),
                    })
                    .collect(),
            })
            .collect())
    }

    async fn revoke_access(&self) -> anyhow::Result<()> {
        self.admin(
            reqwest::Method::POST,
            &format!("/sandbox/uninstall?store_hash={STORE}"),
            None,
        )
        .await
        .map(drop)
    }

    fn absent_id(&self) -> String {
        "987654321".into()
    }

    async fn inject(&self, fault: Fault) -> anyhow::Result<Duration> {
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
                        drop_share: 0.5,
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

    async fn injected(&self) -> anyhow::Result<Injected> {
        let report = self.admin(reqwest::Method::GET, "/sandbox/faults", None).await?;
        let count = |kind: &str| report["injected"][kind].as_u64().unwrap_or(0);
        Ok(Injected {
            server_errors: count("5xx"),
            rate_limited: count("429"),
            lost_answers: count("drop"),
        })
    }
}

crate::suite::conformance_tests!(start);
