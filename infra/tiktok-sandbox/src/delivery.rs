//! Webhook delivery as TikTok does it: a JSON envelope POSTed to the shop's Event API
//! address (or the default URL), signed in `Authorization` with
//! HMAC-SHA256(app_secret, app_key + body); retried 2 min, 30 min, 3 h and 12 h after a
//! failure (scaled by `webhook_time_scale`); a 200 or a 401 ends the attempts. Injected
//! faults may drop a notification, send it twice or hold it back so later ones
//! overtake it.

use sandbox_kit::webhooks::{DeliveryPolicy, Message};
use serde_json::{Value, json};

use crate::state::Delivery;
use crate::{Sandbox, SandboxConfig, now};

/// TikTok's retry delays after a failed delivery, in seconds.
const RETRY_SCHEDULE: [u64; 4] = [120, 1800, 3 * 3600, 12 * 3600];

/// TikTok's delivery: a 200 or a 401 ends the attempts.
pub(crate) fn policy(config: &SandboxConfig) -> DeliveryPolicy {
    DeliveryPolicy {
        retry_delays: &RETRY_SCHEDULE,
        time_scale: config.webhook_time_scale,
        ends: |status| status == 200 || status == 401,
        ..DeliveryPolicy::once()
    }
}

impl Sandbox {
    /// Sends a new notification; returns its id, or `None` when the shop has no address.
    pub(crate) fn notify(&self, shop_id: &str, topic: u32, event_type: &str, data: Value) -> Option<String> {
        let notification_id = self.lock().new_id();
        self.send_notification(shop_id, topic, event_type, &notification_id, data)
            .then_some(notification_id)
    }

    /// Sends a notification with a given id (a re-delivery keeps its id); `false` when
    /// the shop has no address.
    pub(crate) fn send_notification(
        &self,
        shop_id: &str,
        topic: u32,
        event_type: &str,
        notification_id: &str,
        data: Value,
    ) -> bool {
        let address = {
            let state = self.lock();
            state
                .webhooks
                .get(&(shop_id.to_string(), event_type.to_string()))
                .cloned()
        }
        .or_else(|| self.config.default_webhook_url.clone());
        let Some(address) = address else { return false };
        let body = json!({"type": topic, "tts_notification_id": notification_id, "shop_id": shop_id,
                          "timestamp": now(), "data": data})
        .to_string();
        let signature =
            crate::signing::webhook_signature(&self.config.app_key, &self.config.app_secret, body.as_bytes());
        // A notification the fault injection drops was still "sent" as far as the caller knows.
        self.kit.courier.send(Notification {
            sandbox: self.clone(),
            topic,
            notification_id: notification_id.to_string(),
            address,
            body,
            signature,
        });
        true
    }
}

/// One notification: what every attempt sends.
#[derive(Clone)]
struct Notification {
    sandbox: Sandbox,
    topic: u32,
    notification_id: String,
    address: String,
    body: String,
    /// `Authorization`: HMAC-SHA256(app_secret, app_key + body).
    signature: String,
}

impl Message for Notification {
    fn request(&self, http: &reqwest::Client) -> reqwest::RequestBuilder {
        http.post(&self.address)
            .header("content-type", "application/json")
            .header("authorization", &self.signature)
            .body(self.body.clone())
    }

    fn record(&self, attempt: u32, status: u16) {
        self.sandbox.lock().deliveries.push(Delivery {
            topic: self.topic,
            notification_id: self.notification_id.clone(),
            address: self.address.clone(),
            attempt,
            status,
        });
    }
}
