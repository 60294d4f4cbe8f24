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

use sandbox_kit::webhooks::{DeliveryPolicy, Message};
use serde_json::{Value, json};
use sha1::Digest as _;

use crate::signing::{WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP, sign_webhook};
use crate::state::{Delivery, Hook};
use crate::{Sandbox, SandboxConfig};

/// Seconds between attempts after a failure.
const RETRY_SCHEDULE: [u64; 11] = [60, 180, 300, 600, 900, 1800, 3600, 7200, 21_600, 50_400, 86_400];

/// BigCommerce's delivery: any 2xx ends the attempts; the configured duplicates and
/// delays come on top of the injected faults.
pub(crate) fn policy(config: &SandboxConfig) -> DeliveryPolicy {
    DeliveryPolicy {
        retry_delays: &RETRY_SCHEDULE,
        time_scale: config.webhook_time_scale,
        duplicate_share: config.duplicate_share,
        max_delay: config.max_delivery_delay,
        ..DeliveryPolicy::once()
    }
}

impl Sandbox {
    /// Sends `scope` with `data` to every hook of the store that hears it.
    pub(crate) fn fire(&self, store_hash: &str, scope: &str, data: Value) {
        let (store_id, hooks): (u64, Vec<(Hook, String)>) = {
            let state = self.lock();
            let Some(store) = state.stores.get(store_hash) else {
                return;
            };
            // Keyed by the secret of the account that created the hook (app or store-level API account).
            let key = |hook: &Hook| state.account_secrets.get(&hook.client_id).cloned().unwrap_or_default();
            (
                store.id,
                store
                    .hooks
                    .iter()
                    .filter(|h| h.is_active && h.hears(scope))
                    .map(|h| (h.clone(), key(h)))
                    .collect(),
            )
        };
        if hooks.is_empty() {
            return;
        }
        let hash = hex::encode(sha1::Sha1::digest(data.to_string()));
        let payload = json!({"scope": scope, "store_id": store_id.to_string(), "data": data, "hash": hash,
                             "created_at": sandbox_kit::clock::unix_now(), "producer": format!("stores/{store_hash}")});
        let body = payload.to_string();
        let event_id = format!("{:032x}", rand::random::<u128>());
        for (hook, key) in hooks {
            // One message per (event, hook): its id stays the same across retries and copies.
            self.kit.courier.send(Attempts {
                sandbox: self.clone(),
                webhook_id: format!("msg_{event_id}_{}", hook.id),
                hook,
                key,
                body: body.clone(),
                store_hash: store_hash.to_string(),
                scope: scope.to_string(),
                hash: hash.clone(),
            });
        }
    }
}

/// One event for one hook: what every attempt sends.
#[derive(Clone)]
struct Attempts {
    sandbox: Sandbox,
    hook: Hook,
    /// The client secret signing the deliveries.
    key: String,
    /// `webhook-id`: stable across retries and duplicate copies.
    webhook_id: String,
    /// The exact JSON body.
    body: String,
    store_hash: String,
    scope: String,
    /// The payload's `hash` (SHA-1 of `data`).
    hash: String,
}

impl Message for Attempts {
    /// The body with the hook's custom headers and a fresh timestamp and signature.
    fn request(&self, http: &reqwest::Client) -> reqwest::RequestBuilder {
        let timestamp = sandbox_kit::clock::unix_now();
        let mut request = http
            .post(&self.hook.destination)
            .header("content-type", "application/json")
            .header(WEBHOOK_ID, &self.webhook_id)
            .header(WEBHOOK_TIMESTAMP, timestamp.to_string())
            .header(
                WEBHOOK_SIGNATURE,
                sign_webhook(self.key.as_bytes(), &self.webhook_id, timestamp, &self.body),
            )
            .body(self.body.clone());
        for (name, value) in &self.hook.headers {
            request = request.header(name, value);
        }
        request
    }

    fn record(&self, attempt: u32, status: u16) {
        self.sandbox.lock().deliveries.push(Delivery {
            scope: self.scope.clone(),
            store_hash: self.store_hash.clone(),
            hash: self.hash.clone(),
            webhook_id: self.webhook_id.clone(),
            attempt,
            status,
        });
    }

    /// Retries exhausted: BigCommerce deactivates the hook.
    fn exhausted(&self) {
        if let Some(store) = self.sandbox.lock().stores.get_mut(&self.store_hash)
            && let Some(stored) = store.hooks.iter_mut().find(|h| h.id == self.hook.id)
        {
            stored.is_active = false;
        }
    }
}
