//! Webhook delivery as BigCommerce does it: a thin JSON payload POSTed to every active
//! hook of the scope with the hook's custom headers; any 2xx is success; failures are
//! retried 60 s, 180 s, 300 s, … 24 h later (scaled by `webhook_time_scale`) and the
//! hook is deactivated after the last. Deliveries may come twice or late (configured),
//! so receivers must de-duplicate and re-read state.

use std::time::Duration;

use serde_json::{Value, json};

use crate::Sandbox;
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
        let mut payload = json!({"scope": scope, "store_id": store_id.to_string(), "data": data,
                                 "created_at": connector::storage::unix_now(), "producer": format!("stores/{store_hash}")});
        // BigCommerce's `hash` is opaque and equal across re-deliveries of one event.
        payload["hash"] = json!(connector::crypto::sha256_hex(payload.to_string().as_bytes())[..40].to_string());
        let body = payload.to_string();
        for hook in hooks {
            let copies = if rand::random::<f64>() < self.config.duplicate_share {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let sandbox = self.clone();
                let (hook, body, store_hash, scope) =
                    (hook.clone(), body.clone(), store_hash.to_string(), scope.to_string());
                let hash = payload["hash"].as_str().unwrap_or_default().to_string();
                tokio::spawn(async move { sandbox.deliver(hook, body, store_hash, scope, hash).await });
            }
        }
    }

    async fn deliver(&self, hook: Hook, body: String, store_hash: String, scope: String, hash: String) {
        let max_delay = self.config.max_delivery_delay.as_millis() as u64;
        if max_delay > 0 {
            tokio::time::sleep(Duration::from_millis(rand::random_range(0..=max_delay))).await;
        }
        for attempt in 1..=(RETRY_SCHEDULE.len() as u32 + 1) {
            let mut request = self
                .http
                .post(&hook.destination)
                .header("content-type", "application/json")
                .body(body.clone());
            for (name, value) in &hook.headers {
                request = request.header(name, value);
            }
            let status = request.send().await.map(|r| r.status().as_u16()).unwrap_or(0);
            self.lock().deliveries.push(Delivery {
                scope: scope.clone(),
                store_hash: store_hash.clone(),
                hash: hash.clone(),
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
        if let Some(store) = self.lock().stores.get_mut(&store_hash)
            && let Some(stored) = store.hooks.iter_mut().find(|h| h.id == hook.id)
        {
            stored.is_active = false;
        }
    }
}
