//! Webhook delivery as TikTok does it: a JSON envelope POSTed to the shop's Event API
//! address (or the default URL), signed in `Authorization` with
//! HMAC-SHA256(app_secret, app_key + body); retried 2 min, 30 min, 3 h and 12 h after a
//! failure (scaled by `webhook_time_scale`); a 200 or a 401 ends the attempts. Injected
//! faults may drop a notification, send it twice or hold it back so later ones
//! overtake it.

use std::time::Duration;

use serde_json::{Value, json};

use sandbox_faults::WebhookFate;

use crate::state::Delivery;
use crate::{Sandbox, now};

/// TikTok's retry delays after a failed delivery, in seconds.
const RETRY_SCHEDULE: [u64; 4] = [120, 1800, 3 * 3600, 12 * 3600];

impl Sandbox {
    /// Sends a new notification; returns its id, or `None` when the shop has no address.
    pub(crate) fn notify(&self, shop_id: &str, topic: u32, event_type: &str, data: Value) -> Option<String> {
        let notification_id = self.lock().new_id();
        self.send_notification(shop_id, topic, event_type, &notification_id, data)
            .then_some(notification_id)
    }

    /// Sends a notification with a given id (a re-delivery keeps its id).
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
        let WebhookFate::Delivered { copies, delay } = self.faults.webhook() else {
            return true;
        };
        for _ in 0..copies {
            let sandbox = self.clone();
            let (address, body, signature) = (address.clone(), body.clone(), signature.clone());
            let notification_id = notification_id.to_string();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                sandbox
                    .deliver(topic, &notification_id, &address, &body, &signature)
                    .await
            });
        }
        true
    }

    /// Delivers one copy, retrying on TikTok's schedule.
    async fn deliver(&self, topic: u32, notification_id: &str, address: &str, body: &str, signature: &str) {
        for attempt in 1..=(RETRY_SCHEDULE.len() as u32 + 1) {
            let sent = self
                .http
                .post(address)
                .header("content-type", "application/json")
                .header("authorization", signature)
                .body(body.to_string())
                .send()
                .await;
            let status = sent.map(|r| r.status().as_u16()).unwrap_or(0);
            self.lock().deliveries.push(Delivery {
                topic,
                notification_id: notification_id.to_string(),
                address: address.to_string(),
                attempt,
                status,
            });
            if status == 200 || status == 401 {
                return;
            }
            let Some(delay) = RETRY_SCHEDULE.get(attempt as usize - 1) else {
                return;
            };
            tokio::time::sleep(Duration::from_secs_f64(*delay as f64 * self.config.webhook_time_scale)).await;
        }
    }
}
