//! Webhook delivery as BigCommerce does it: a thin JSON payload POSTed to every active
//! hook of the scope with the hook's custom headers and a Standard Webhooks signature
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature`, keyed by the client secret
//! of the API account that created the hook); any 2xx is success; failures are retried
//! 60 s, 180 s, 300 s, … 24 h later (scaled by `webhook_time_scale`) with the same
//! `webhook-id` and a fresh timestamp and signature, and the hook is deactivated after
//! the last. Deliveries may come twice or late (configured), so receivers must
//! de-duplicate and re-read state. Injected faults may also drop a delivery, send it
//! twice or hold it back so later ones overtake it.
//!
//! The payload's `hash` follows the stricter reading of BigCommerce's docs (§1.8): the
//! SHA-1 of the JSON-encoded `data`, so two events about the same resource carry the
//! same hash and only `created_at` tells them apart.

use std::time::Duration;

use serde_json::{Value, json};
use sha1::Digest as _;

use sandbox_faults::WebhookFate;

use crate::Sandbox;
use crate::signing::{WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP, sign_webhook};
use crate::state::{Delivery, Hook};

/// Seconds between attempts after a failure.
const RETRY_SCHEDULE: [u64; 11] = [60, 180, 300, 600, 900, 1800, 3600, 7200, 21_600, 50_400, 86_400];

impl Sandbox {
    /// Sends `scope` with `data` to every hook of the store that hears it.
    pub(crate) fn fire(&self, store_hash: &str, scope: &str, data: Value) {
        let (store_id, hooks): (u64, Vec<Hook>) = {
            let state = self.lock();
            let Some(store) = state.stores.get(store_hash) else {
                return;
            };
            (
                store.id,
                store
                    .hooks
                    .iter()
                    .filter(|h| h.is_active && h.hears(scope))
                    .cloned()
                    .collect(),
            )
        };
        if hooks.is_empty() {
            return;
        }
        let hash = hex::encode(sha1::Sha1::digest(data.to_string()));
        let payload = json!({"scope": scope, "store_id": store_id.to_string(), "data": data, "hash": hash,
                             "created_at": connector::storage::unix_now(), "producer": format!("stores/{store_hash}")});
        let body = payload.to_string();
        let event_id = format!("{:032x}", rand::random::<u128>());
        for hook in hooks {
            // One message per (event, hook): its id stays the same across retries and copies.
            let message = Message {
                webhook_id: format!("msg_{event_id}_{}", hook.id),
                body: body.clone(),
                store_hash: store_hash.to_string(),
                scope: scope.to_string(),
                hash: hash.clone(),
            };
            let WebhookFate::Delivered { mut copies, delay } = self.faults.webhook() else {
                continue;
            };
            if copies == 1 && rand::random::<f64>() < self.config.duplicate_share {
                copies = 2;
            }
            for _ in 0..copies {
                let sandbox = self.clone();
                let (hook, message) = (hook.clone(), message.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    sandbox.deliver(hook, message).await
                });
            }
        }
    }

    async fn deliver(&self, hook: Hook, message: Message) {
        // Keyed by the secret of the account that created the hook (app or store-level API account).
        let key = self
            .lock()
            .account_secrets
            .get(&hook.client_id)
            .cloned()
            .unwrap_or_default();
        let max_delay = self.config.max_delivery_delay.as_millis() as u64;
        if max_delay > 0 {
            tokio::time::sleep(Duration::from_millis(rand::random_range(0..=max_delay))).await;
        }
        for attempt in 1..=(RETRY_SCHEDULE.len() as u32 + 1) {
            let timestamp = connector::storage::unix_now();
            let mut request = self
                .http
                .post(&hook.destination)
                .header("content-type", "application/json")
                .header(WEBHOOK_ID, &message.webhook_id)
                .header(WEBHOOK_TIMESTAMP, timestamp.to_string())
                .header(
                    WEBHOOK_SIGNATURE,
                    sign_webhook(key.as_bytes(), &message.webhook_id, timestamp, &message.body),
                )
                .body(message.body.clone());
            for (name, value) in &hook.headers {
                request = request.header(name, value);
            }
            let status = request.send().await.map(|r| r.status().as_u16()).unwrap_or(0);
            self.lock().deliveries.push(Delivery {
                scope: message.scope.clone(),
                store_hash: message.store_hash.clone(),
                hash: message.hash.clone(),
                webhook_id: message.webhook_id.clone(),
                attempt,
                status,
            });
            if (200..300).contains(&status) {
                return;
            }
            let Some(delay) = RETRY_SCHEDULE.get(attempt as usize - 1) else {
                break;
            };
            tokio::time::sleep(Duration::from_secs_f64(*delay as f64 * self.config.webhook_time_scale)).await;
        }
        // Retries exhausted: BigCommerce deactivates the hook.
        if let Some(store) = self.lock().stores.get_mut(&message.store_hash)
            && let Some(stored) = store.hooks.iter_mut().find(|h| h.id == hook.id)
        {
            stored.is_active = false;
        }
    }
}

/// One event for one hook: what every attempt sends.
#[derive(Clone)]
struct Message {
    /// `webhook-id`: stable across retries and duplicate copies.
    webhook_id: String,
    /// The exact JSON body.
    body: String,
    store_hash: String,
    scope: String,
    /// The payload's `hash` (SHA-1 of `data`).
    hash: String,
}
