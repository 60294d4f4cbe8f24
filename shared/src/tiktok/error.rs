//! TikTok's response envelope and the typed errors the client returns (reference §5).

use std::time::Duration;

use serde::Deserialize;

/// Every Open API answer: `code == 0` is success, whatever the HTTP status.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    /// 0 on success.
    pub code: i64,
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// TikTok's request id (log it).
    #[serde(default)]
    pub request_id: String,
    /// The payload; `null` on failure.
    #[serde(default)]
    pub data: Option<serde_json::Value>,
}

/// Errors of TikTok calls. [`TikTokError::is_retryable`] says which ones a retry can fix.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TikTokError {
    /// `105002`, or `36009004` naming the access token: it expired or was rotated
    /// by another worker; refresh (or re-read the stored tokens) and retry once.
    #[error("access token expired (request {request_id})")]
    TokenExpired { request_id: String },
    /// `36009002` or HTTP 429.
    #[error("rate limited by TikTok (request {request_id})")]
    RateLimited { request_id: String },
    /// Internal error, timeout, 5xx/503, or a dropped connection.
    #[error("temporary TikTok failure {code}: {message} (request {request_id})")]
    Retryable {
        code: i64,
        message: String,
        request_id: String,
    },
    /// `106001`: the signature was refused (wrong secret, clock, or body bytes).
    #[error("TikTok refused the request signature: {message} (request {request_id})")]
    InvalidSignature { message: String, request_id: String },
    /// `105005`: the seller did not grant a needed scope.
    #[error("missing TikTok scope: {message} (request {request_id})")]
    MissingScope { message: String, request_id: String },
    /// `101000`/`106013`: the shop cipher or token does not match the shop.
    #[error("shop authorization mismatch {code}: {message} (request {request_id})")]
    ShopAuthorization {
        code: i64,
        message: String,
        request_id: String,
    },
    /// Any other business error.
    #[error("TikTok error {code}: {message} (request {request_id})")]
    InvalidRequest {
        code: i64,
        message: String,
        request_id: String,
    },
    /// The answer was not the documented shape.
    #[error("malformed TikTok response: {0}")]
    Malformed(String),
    /// The request could not be built or sent for a reason a retry cannot fix.
    #[error("cannot call TikTok: {0}")]
    Client(String),
}

impl TikTokError {
    /// Whether waiting and retrying can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Retryable { .. })
    }

    /// The error for a failed envelope or HTTP status.
    pub fn from_response(http_status: u16, envelope: Option<Envelope>) -> Self {
        let Some(envelope) = envelope else {
            return match http_status {
                429 => Self::RateLimited {
                    request_id: String::new(),
                },
                500.. => Self::Retryable {
                    code: 0,
                    message: format!("HTTP {http_status}"),
                    request_id: String::new(),
                },
                _ => Self::Malformed(format!("HTTP {http_status} without a JSON envelope")),
            };
        };
        let Envelope {
            code,
            message,
            request_id,
            ..
        } = envelope;
        match code {
            105002 => Self::TokenExpired { request_id },
            36009004 if names_access_token(&message) => Self::TokenExpired { request_id },
            36009002 => Self::RateLimited { request_id },
            _ if http_status == 429 => Self::RateLimited { request_id },
            36009003 | 36009007 => Self::Retryable {
                code,
                message,
                request_id,
            },
            _ if http_status >= 500 => Self::Retryable {
                code,
                message,
                request_id,
            },
            106001 => Self::InvalidSignature { message, request_id },
            105005 => Self::MissingScope { message, request_id },
            101000 | 106013 => Self::ShopAuthorization {
                code,
                message,
                request_id,
            },
            _ => Self::InvalidRequest {
                code,
                message,
                request_id,
            },
        }
    }
}

/// Back-off before retry `attempt` (1-based): exponential from 200 ms, capped at 5 s,
/// with jitter in the upper half.
pub fn retry_delay(attempt: u32) -> Duration {
    let ceiling = (200u64 << attempt.saturating_sub(1).min(5)).min(5_000);
    Duration::from_millis(rand::random_range(ceiling / 2..=ceiling))
}

/// One failed item of a batch answer (`data.errors[]`), which TikTok sends with `code: 0`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ItemError {
    /// Error code of the item.
    pub code: i64,
    /// Message of the item.
    #[serde(default)]
    pub message: String,
    /// Which item (`product_id`, `sku_id`, …) and nested errors.
    #[serde(default)]
    pub detail: serde_json::Value,
}

/// Whether a `36009004` message is about the access token (the "token → refresh" case).
fn names_access_token(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("access_token") || lower.contains("access-token")
}
