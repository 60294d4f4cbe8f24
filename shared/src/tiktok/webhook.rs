//! TikTok webhook deliveries (reference §4): signature check and the envelope.
//! The `Authorization` header is lowercase hex HMAC-SHA256 keyed by the app secret
//! over `app_key` followed by the raw body bytes.

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::types::Id;

/// Whether `authorization` is TikTok's signature of `raw_body`; constant-time.
pub fn verify_signature(app_key: &str, app_secret: &str, raw_body: &[u8], authorization: &str) -> bool {
    let Ok(expected) = hex::decode(authorization.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(app_key.as_bytes());
    mac.update(raw_body);
    mac.verify_slice(&expected).is_ok()
}

/// The signature TikTok sends for `raw_body` (what the sandbox uses to sign deliveries).
pub fn signature(app_key: &str, app_secret: &str, raw_body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(app_key.as_bytes());
    mac.update(raw_body);
    hex::encode(mac.finalize().into_bytes())
}

/// A webhook delivery. `type` is the numeric topic (1 = ORDER_STATUS_CHANGE, …);
/// unknown topics still parse, so the intake can log and acknowledge them.
#[derive(Debug, Clone, Deserialize)]
pub struct Notification {
    /// Numeric topic.
    #[serde(rename = "type")]
    pub topic: u32,
    /// Unique delivery id (absent in some older payloads); the de-duplication key.
    pub tts_notification_id: Option<Id>,
    /// The shop the event is about.
    pub shop_id: Id,
    /// Push time, Unix seconds.
    pub timestamp: i64,
    /// Topic-specific data.
    #[serde(default)]
    pub data: serde_json::Value,
}

/// Why a delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Missing or wrong `Authorization`.
    #[error("webhook signature is invalid")]
    InvalidSignature,
    /// The body is not a webhook envelope.
    #[error("malformed webhook body: {0}")]
    Malformed(String),
    /// Pushed too long ago (or too far ahead) to be a live delivery: a replay.
    #[error("webhook pushed {age_seconds} s from now is outside the accepted window")]
    Stale {
        /// Now minus the notification's `timestamp` (negative: from the future).
        age_seconds: i64,
    },
}

/// The oldest delivery accepted: TikTok retries a failed delivery for a few hours
/// (reference §4), and a day is well inside the intake's 7-day de-duplication window,
/// so a replay of a genuine signed body after that window is refused, not processed.
pub const MAX_AGE_SECONDS: i64 = 24 * 3600;
/// How far ahead of our clock a `timestamp` may be (clock skew).
pub const MAX_SKEW_SECONDS: i64 = 300;

/// Refuses a notification pushed outside `[now - MAX_AGE_SECONDS, now + MAX_SKEW_SECONDS]`.
pub fn check_fresh(notification: &Notification, now_unix: i64) -> Result<(), WebhookError> {
    let age_seconds = now_unix.saturating_sub(notification.timestamp);
    if (-MAX_SKEW_SECONDS..=MAX_AGE_SECONDS).contains(&age_seconds) {
        Ok(())
    } else {
        Err(WebhookError::Stale { age_seconds })
    }
}

/// Verifies and parses one delivery.
pub fn parse(
    app_key: &str,
    app_secret: &str,
    raw_body: &[u8],
    authorization: Option<&str>,
) -> Result<Notification, WebhookError> {
    match authorization {
        Some(signature) if verify_signature(app_key, app_secret, raw_body, signature) => {}
        _ => return Err(WebhookError::InvalidSignature),
    }
    serde_json::from_slice(raw_body).map_err(|e| WebhookError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_recent_deliveries_are_fresh() {
        let at = |timestamp: i64| Notification {
            topic: 1,
            tts_notification_id: None,
            shop_id: Id::from("1"),
            timestamp,
            data: serde_json::Value::Null,
        };
        let now = 1_800_000_000;
        assert!(check_fresh(&at(now), now).is_ok());
        assert!(check_fresh(&at(now - MAX_AGE_SECONDS), now).is_ok());
        assert!(check_fresh(&at(now + 60), now).is_ok(), "a little clock skew");
        assert!(matches!(
            check_fresh(&at(now - 8 * 24 * 3600), now),
            Err(WebhookError::Stale { .. })
        ));
        assert!(check_fresh(&at(now + 3600), now).is_err(), "from the future");
        assert!(check_fresh(&at(i64::MIN), now).is_err(), "no overflow");
    }

    const BODY: &str = r#"{"type":1,"shop_id":"7494726673780148744","timestamp":1664095733,"data":{"order_id":"576684019603311365","order_status":"AWAITING_SHIPMENT","update_time":1664095610}}"#;
    const VECTOR: &str = "21109834de72ec53c9959716d8514ae388ce1f123e5ffdcafc46713fcdf62b27";

    #[test]
    fn reference_vector_verifies() {
        assert_eq!(BODY.len(), 166);
        assert!(verify_signature(
            "fake_app_key",
            "fake_app_secret",
            BODY.as_bytes(),
            VECTOR
        ));
        assert_eq!(signature("fake_app_key", "fake_app_secret", BODY.as_bytes()), VECTOR);
    }

    #[test]
    fn any_change_to_body_key_secret_or_signature_fails() {
        assert!(!verify_signature(
            "fake_app_key",
            "fake_app_secret",
            BODY.replace("1664095733", "1664095734").as_bytes(),
            VECTOR
        ));
        assert!(!verify_signature(
            "other_key",
            "fake_app_secret",
            BODY.as_bytes(),
            VECTOR
        ));
        assert!(!verify_signature(
            "fake_app_key",
            "other_secret",
            BODY.as_bytes(),
            VECTOR
        ));
        assert!(!verify_signature(
            "fake_app_key",
            "fake_app_secret",
            BODY.as_bytes(),
            &VECTOR[..62]
        ));
        assert!(!verify_signature(
            "fake_app_key",
            "fake_app_secret",
            BODY.as_bytes(),
            "not hex"
        ));
        assert!(!verify_signature(
            "fake_app_key",
            "fake_app_secret",
            BODY.as_bytes(),
            ""
        ));
    }

    #[test]
    fn parse_checks_the_signature_before_the_body() {
        let notification = parse("fake_app_key", "fake_app_secret", BODY.as_bytes(), Some(VECTOR)).unwrap();
        assert_eq!(
            (notification.topic, notification.shop_id.as_str()),
            (1, "7494726673780148744")
        );
        assert!(notification.tts_notification_id.is_none());
        assert!(matches!(
            parse("fake_app_key", "fake_app_secret", BODY.as_bytes(), None),
            Err(WebhookError::InvalidSignature)
        ));
        let unknown_topic = br#"{"type":999,"tts_notification_id":7327112393057371910,"shop_id":7494049642642441621,"timestamp":1,"data":{}}"#;
        let signed = signature("k", "s", unknown_topic);
        let notification = parse("k", "s", unknown_topic, Some(&signed)).unwrap();
        assert_eq!(
            notification.topic, 999,
            "unknown topics parse so they can be acknowledged"
        );
        assert_eq!(
            notification.tts_notification_id.unwrap().as_str(),
            "7327112393057371910"
        );
        let junk = b"{not json";
        let signed = signature("k", "s", junk);
        assert!(matches!(
            parse("k", "s", junk, Some(&signed)),
            Err(WebhookError::Malformed(_))
        ));
    }
}
