//! The BigCommerce REST client for one store: catalog v3, inventory, orders v2,
//! shipments and webhooks v3. It paces itself to a share of the store's quota from the
//! `X-Rate-Limit-*` headers, waits `X-Rate-Limit-Time-Reset-Ms` on 429, retries 5xx
//! and dropped connections, and maps v2 (array) and v3 (object) error envelopes to
//! [`StoreError`].

use std::sync::Mutex;
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::model::*;
use crate::crypto::SecretString;
use crate::store::StoreError;

/// Production API host.
pub const PRODUCTION_API: &str = "https://api.bigcommerce.com";

/// How to reach one store.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// API base URL (the sandbox's in tests).
    pub api_base: String,
    /// Store hash.
    pub store_hash: String,
    /// Access token (app install or store-level API account).
    pub access_token: SecretString,
    /// Share of the store's quota this client may use (default 0.5: other apps share it).
    pub quota_share: f64,
    /// Attempts for retryable failures (5xx, timeouts, dropped connections); a 429 with
    /// a reset header is waited out apart from these, up to as many times again.
    pub max_attempts: u32,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl ClientConfig {
    /// Production host, half the quota, 4 attempts, 20 s timeout.
    pub fn new(store_hash: impl Into<String>, access_token: SecretString) -> Self {
        Self {
            api_base: PRODUCTION_API.into(),
            store_hash: store_hash.into(),
            access_token,
            quota_share: 0.5,
            max_attempts: 4,
            timeout: Duration::from_secs(20),
        }
    }
}

/// What the rate-limit headers last said, minus what this client has sent since.
#[derive(Debug, Default)]
struct Window {
    quota: u32,
    left: u32,
    resets_at: Option<Instant>,
}

/// Paces requests so this client never uses more than its share of a window.
#[derive(Debug)]
struct Pacer {
    share: f64,
    window: Mutex<Window>,
}

impl Pacer {
    /// Reserves one request, waiting for the next window when the share is used up.
    async fn acquire(&self) {
        loop {
            let wait_until = {
                let mut window = self.window.lock().expect("pacer lock");
                let floor = (f64::from(window.quota) * (1.0 - self.share)).ceil() as u32;
                match window.resets_at {
                    None => return,
                    Some(at) if at <= Instant::now() => {
                        // A new window: assume the full quota until headers say otherwise.
                        window.left = window.quota;
                        window.resets_at = None;
                        return;
                    }
                    Some(_) if window.left > floor => {
                        window.left -= 1;
                        return;
                    }
                    Some(at) => at,
                }
            };
            tokio::time::sleep_until(wait_until).await;
        }
    }

    /// Records the headers of an answer.
    fn observe(&self, headers: &reqwest::header::HeaderMap) {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        let (Some(quota), Some(left), Some(reset_ms)) = (
            number("x-rate-limit-requests-quota"),
            number("x-rate-limit-requests-left"),
            number("x-rate-limit-time-reset-ms"),
        ) else {
            return;
        };
        let resets_at = Instant::now() + Duration::from_millis(reset_ms);
        let mut window = self.window.lock().expect("pacer lock");
        // Answers arrive out of order: within one window keep the lowest count seen.
        let same_window = window
            .resets_at
            .is_some_and(|at| resets_at <= at + Duration::from_millis(250));
        window.left = if same_window {
            window.left.min(left as u32)
        } else {
            left as u32
        };
        window.quota = quota as u32;
        window.resets_at = Some(resets_at);
    }
}

/// The BigCommerce client of one store.
pub struct Client {
    http: reqwest::Client,
    config: ClientConfig,
    pacer: Pacer,
}

fn reset_delay(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get("x-rate-limit-time-reset-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
}

/// Reads a v3 `{status, title, errors}` or v2 `[{status, message}]` error body.
fn error_message(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Array(items)) => items
            .iter()
            .map(|item| item["message"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
            .join("; "),
        Ok(object @ serde_json::Value::Object(_)) => {
            let title = object["title"].as_str().unwrap_or_default().to_string();
            match object["errors"].as_object().filter(|e| !e.is_empty()) {
                Some(errors) => {
                    let fields: Vec<String> = errors
                        .iter()
                        .map(|(field, message)| {
                            format!("{field}: {}", message.as_str().unwrap_or(&message.to_string()))
                        })
                        .collect();
                    format!("{title} ({})", fields.join(", "))
                }
                None => title,
            }
        }
        _ => String::from_utf8_lossy(body).chars().take(200).collect(),
    }
}

fn status_error(status: StatusCode, body: &[u8]) -> StoreError {
    StoreError::from_status(status.as_u16(), error_message(body))
}

impl Client {
    /// A client for one store.
    pub fn new(config: ClientConfig) -> Result<Self, StoreError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let pacer = Pacer {
            share: config.quota_share.clamp(0.05, 1.0),
            window: Mutex::default(),
        };
        Ok(Self { http, config, pacer })
    }

    /// The store this client calls.
    pub fn store_hash(&self) -> &str {
        &self.config.store_hash
    }

    /// How many times a call is tried.
    pub fn max_attempts(&self) -> u32 {
        self.config.max_attempts
    }

    /// Sends one call (paced, retried) and returns the status and body; 204 gives an empty body.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&[u8]>,
    ) -> Result<(StatusCode, Vec<u8>), StoreError> {
        self.send_tries(method, path, query, body, self.config.max_attempts)
            .await
    }

    /// [`Client::send`], tried at most `max_attempts` times.
    async fn send_tries(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&[u8]>,
        max_attempts: u32,
    ) -> Result<(StatusCode, Vec<u8>), StoreError> {
        let base = format!("{}/stores/{}{path}", self.config.api_base, self.config.store_hash);
        let url = Url::parse_with_params(&base, query).map_err(|e| StoreError::Malformed(e.to_string()))?;
        // Failures and rate-limit waits are counted apart: a 429 that names its reset
        // is a wait, not a failure, so it does not use up the attempts meant for 5xx
        // answers and timeouts (and is itself bounded by `max_attempts` waits).
        let (mut attempt, mut waits) = (0, 0);
        loop {
            attempt += 1;
            self.pacer.acquire().await;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header("x-auth-token", self.config.access_token.expose())
                .header("accept", "application/json");
            if let Some(body) = body {
                request = request.header("content-type", "application/json").body(body.to_vec());
            }
            crate::metrics::count(crate::metrics::Metric::StoreApiCalls, None);
            let outcome = match request.send().await {
                Ok(response) => {
                    self.pacer.observe(response.headers());
                    let status = response.status();
                    let wait = reset_delay(response.headers());
                    match response.bytes().await {
                        Ok(bytes) if status.is_success() => return Ok((status, bytes.to_vec())),
                        Ok(bytes) => (status_error(status, &bytes), wait),
                        Err(e) => (StoreError::Unavailable(e.without_url().to_string()), None),
                    }
                }
                Err(e) => (StoreError::Unavailable(e.without_url().to_string()), None),
            };
            if matches!(outcome.0, StoreError::RateLimited) {
                crate::metrics::count(crate::metrics::Metric::StoreRateLimited, None);
            }
            match outcome {
                (StoreError::RateLimited, Some(wait)) if waits < max_attempts => {
                    waits += 1;
                    attempt -= 1;
                    tracing::warn!(store = %self.config.store_hash, path, wait_ms = wait.as_millis() as u64, "rate limited; waiting for the window");
                    tokio::time::sleep(wait).await;
                }
                (error, _) if !error.is_retryable() || attempt >= max_attempts => return Err(error),
                (error, _) => {
                    tracing::warn!(store = %self.config.store_hash, path, attempt, %error, "retrying store call");
                    tokio::time::sleep(crate::store::retry_delay(attempt)).await;
                }
            }
        }
    }

    /// A JSON call: serializes the body once, parses the answer.
    async fn call<T: DeserializeOwned, B: Serialize>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<T, StoreError> {
        self.call_tries(method, path, query, body, self.config.max_attempts)
            .await
    }

    /// [`Client::call`], tried at most `max_attempts` times.
    async fn call_tries<T: DeserializeOwned, B: Serialize>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
        max_attempts: u32,
    ) -> Result<T, StoreError> {
        let bytes = body.map(|b| serde_json::to_vec(b).expect("request bodies serialize"));
        let (status, answer) = self
            .send_tries(method, path, query, bytes.as_deref(), max_attempts)
            .await?;
        // v2 collections answer 204 with no body when nothing matches.
        let answer = if status == StatusCode::NO_CONTENT || answer.is_empty() {
            b"null".to_vec()
        } else {
            answer
        };
        serde_json::from_slice(&answer).map_err(|e| StoreError::Malformed(format!("{path}: {e}")))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T, StoreError> {
        self.call::<T, ()>(Method::GET, path, query, None).await
    }

    /// Store settings (`GET /v2/store`): also the live check of pasted credentials.
    pub async fn store_info(&self) -> Result<StoreInfo, StoreError> {
        self.get("/v2/store", &[]).await
    }

    /// One page of products (v3 filters as given, e.g. `date_modified:min`, `id:in`).
    pub async fn products(
        &self,
        filters: &[(&str, String)],
        page: u32,
        limit: u32,
    ) -> Result<Collection<BcProduct>, StoreError> {
        let mut query = filters.to_vec();
        query.push(("include", "variants,images,custom_fields".into()));
        query.push(("page", page.to_string()));
        query.push(("limit", limit.to_string()));
        self.get("/v3/catalog/products", &query).await
    }

    /// One product with variants, images and custom fields; `None` when deleted.
    pub async fn product(&self, product_id: &str) -> Result<Option<BcProduct>, StoreError> {
        let path = format!("/v3/catalog/products/{product_id}");
        match self
            .get::<Single<BcProduct>>(&path, &[("include", "variants,images,custom_fields".into())])
            .await
        {
            Ok(single) => Ok(Some(single.data)),
            Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Variants by id.
    pub async fn variants(&self, variant_ids: &[String], page: u32) -> Result<Collection<BcVariant>, StoreError> {
        self.get(
            "/v3/catalog/variants",
            &[
                ("id:in", variant_ids.join(",")),
                ("page", page.to_string()),
                ("limit", "250".into()),
            ],
        )
        .await
    }

    /// One page of brands.
    pub async fn brands(&self, page: u32) -> Result<Collection<BcBrand>, StoreError> {
        self.get(
            "/v3/catalog/brands",
            &[("page", page.to_string()), ("limit", "250".into())],
        )
        .await
    }

    /// One page of categories (flat, all trees).
    pub async fn categories(&self, page: u32) -> Result<Collection<BcCategory>, StoreError> {
        self.get(
            "/v3/catalog/trees/categories",
            &[("page", page.to_string()), ("limit", "250".into())],
        )
        .await
    }

    /// Stock across locations of variants.
    pub async fn inventory_items(&self, variant_ids: &[String]) -> Result<Collection<BcInventoryItem>, StoreError> {
        self.get(
            "/v3/inventory/items",
            &[("variant_id:in", variant_ids.join(",")), ("limit", "250".into())],
        )
        .await
    }

    /// Sets absolute stock levels (asynchronous in BigCommerce; returns the transaction id).
    pub async fn set_inventory(&self, reason: &str, items: &[InventoryAdjustment]) -> Result<String, StoreError> {
        let body = serde_json::json!({ "reason": reason, "items": items });
        let answer: serde_json::Value = self
            .call(Method::PUT, "/v3/inventory/adjustments/absolute", &[], Some(&body))
            .await?;
        Ok(answer["transaction_id"].as_str().unwrap_or_default().to_string())
    }

    /// Moves stock by signed amounts (`POST /v3/inventory/adjustments/relative`, §1.10;
    /// each item needs an absolute level first). Tried once: a relative change repeated
    /// after a lost answer would apply twice.
    pub async fn adjust_inventory(&self, reason: &str, items: &[InventoryAdjustment]) -> Result<(), StoreError> {
        let body = serde_json::json!({ "reason": reason, "items": items });
        self.call_tries::<serde_json::Value, _>(Method::POST, "/v3/inventory/adjustments/relative", &[], Some(&body), 1)
            .await
            .map(drop)
    }

    /// The store's inventory settings (`GET /v3/settings/inventory`): `data` as sent.
    pub async fn inventory_settings(&self) -> Result<serde_json::Value, StoreError> {
        let answer: serde_json::Value = self.get("/v3/settings/inventory", &[]).await?;
        Ok(answer["data"].clone())
    }

    /// Asks what a refund of `items` would be (`POST /v3/orders/{id}/payment_actions/refund_quotes`):
    /// `data` with `total_refund_amount` and `refund_methods`. A 422 says it is more than
    /// the order allows.
    pub async fn refund_quote(
        &self,
        order_id: &str,
        items: &serde_json::Value,
    ) -> Result<serde_json::Value, StoreError> {
        let body = serde_json::json!({ "items": items });
        let path = format!("/v3/orders/{order_id}/payment_actions/refund_quotes");
        let answer: serde_json::Value = self.call(Method::POST, &path, &[], Some(&body)).await?;
        Ok(answer["data"].clone())
    }

    /// Creates a refund (`POST /v3/orders/{id}/payment_actions/refunds`): `data` as sent.
    /// Tried once: BigCommerce takes no idempotency key, so the caller looks at the
    /// order's refunds before trying again.
    pub async fn create_refund(
        &self,
        order_id: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, StoreError> {
        let path = format!("/v3/orders/{order_id}/payment_actions/refunds");
        let answer: serde_json::Value = self.call_tries(Method::POST, &path, &[], Some(body), 1).await?;
        Ok(answer["data"].clone())
    }

    /// An order's refunds (`GET /v3/orders/{id}/payment_actions/refunds`).
    pub async fn refunds(&self, order_id: &str) -> Result<Vec<serde_json::Value>, StoreError> {
        let path = format!("/v3/orders/{order_id}/payment_actions/refunds");
        let answer: serde_json::Value = self.get(&path, &[]).await?;
        Ok(answer["data"].as_array().cloned().unwrap_or_default())
    }

    /// Creates an order (v2).
    ///
    /// Tried once: BigCommerce takes no idempotency key, so an attempt whose answer was
    /// lost (timeout, dropped connection, 5xx) may have created the order, and only the
    /// caller can look for it before trying again.
    pub async fn create_order(&self, order: &BcOrderPost) -> Result<BcOrder, StoreError> {
        self.call_tries(Method::POST, "/v2/orders", &[], Some(order), 1).await
    }

    /// One order (v2).
    pub async fn order(&self, order_id: &str) -> Result<BcOrder, StoreError> {
        self.get(&format!("/v2/orders/{order_id}"), &[]).await
    }

    /// Orders with this external order id (v2; empty when none).
    pub async fn orders_by_external_id(&self, external_order_id: &str) -> Result<Vec<BcOrder>, StoreError> {
        let found: Option<Vec<BcOrder>> = self
            .get("/v2/orders", &[("external_order_id", external_order_id.to_string())])
            .await?;
        Ok(found.unwrap_or_default())
    }

    /// Changes an order's status (v2).
    pub async fn set_order_status(&self, order_id: &str, status_id: u32) -> Result<BcOrder, StoreError> {
        let body = serde_json::json!({ "status_id": status_id });
        self.call(Method::PUT, &format!("/v2/orders/{order_id}"), &[], Some(&body))
            .await
    }

    /// Lines of an order (v2).
    pub async fn order_products(&self, order_id: &str) -> Result<Vec<BcOrderProduct>, StoreError> {
        let found: Option<Vec<BcOrderProduct>> = self
            .get(&format!("/v2/orders/{order_id}/products"), &[("limit", "250".into())])
            .await?;
        Ok(found.unwrap_or_default())
    }

    /// Replaces one shipping address of an order (v2).
    pub async fn update_shipping_address(
        &self,
        order_id: &str,
        address_id: u64,
        address: &BcAddress,
    ) -> Result<BcShippingAddress, StoreError> {
        self.call(
            Method::PUT,
            &format!("/v2/orders/{order_id}/shipping_addresses/{address_id}"),
            &[],
            Some(address),
        )
        .await
    }

    /// Archives an order (v2 `DELETE`); it stays readable by id.
    pub async fn archive_order(&self, order_id: &str) -> Result<(), StoreError> {
        self.send(Method::DELETE, &format!("/v2/orders/{order_id}"), &[], None)
            .await
            .map(drop)
    }

    /// Shipping addresses of an order (v2).
    pub async fn shipping_addresses(&self, order_id: &str) -> Result<Vec<BcShippingAddress>, StoreError> {
        let found: Option<Vec<BcShippingAddress>> = self
            .get(&format!("/v2/orders/{order_id}/shipping_addresses"), &[])
            .await?;
        Ok(found.unwrap_or_default())
    }

    /// Shipments of an order (v2; empty when none).
    pub async fn shipments(&self, order_id: &str) -> Result<Vec<BcShipment>, StoreError> {
        let found: Option<Vec<BcShipment>> = self
            .get(&format!("/v2/orders/{order_id}/shipments"), &[("limit", "250".into())])
            .await?;
        Ok(found.unwrap_or_default())
    }

    /// One shipment (v2).
    pub async fn shipment(&self, order_id: &str, shipment_id: &str) -> Result<BcShipment, StoreError> {
        self.get(&format!("/v2/orders/{order_id}/shipments/{shipment_id}"), &[])
            .await
    }

    /// Creates a shipment (v2).
    pub async fn create_shipment(&self, order_id: &str, shipment: &BcShipmentPost) -> Result<BcShipment, StoreError> {
        self.call(
            Method::POST,
            &format!("/v2/orders/{order_id}/shipments"),
            &[],
            Some(shipment),
        )
        .await
    }

    /// Webhooks of this API account.
    pub async fn hooks(&self) -> Result<Collection<BcHook>, StoreError> {
        self.get("/v3/hooks", &[("limit", "250".into())]).await
    }

    /// Creates a webhook.
    pub async fn create_hook(&self, hook: &BcHookPost) -> Result<BcHook, StoreError> {
        Ok(self
            .call::<Single<BcHook>, _>(Method::POST, "/v3/hooks", &[], Some(hook))
            .await?
            .data)
    }

    /// Updates a webhook (e.g. to re-activate it).
    pub async fn update_hook(&self, hook_id: u64, hook: &BcHookPost) -> Result<BcHook, StoreError> {
        Ok(self
            .call::<Single<BcHook>, _>(Method::PUT, &format!("/v3/hooks/{hook_id}"), &[], Some(hook))
            .await?
            .data)
    }

    /// Deletes a webhook.
    pub async fn delete_hook(&self, hook_id: u64) -> Result<(), StoreError> {
        self.send(Method::DELETE, &format!("/v3/hooks/{hook_id}"), &[], None)
            .await
            .map(drop)
    }
}
