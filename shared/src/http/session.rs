//! Signed state carried by the browser: the settings session cookie (bound to one
//! store and user, short-lived, HttpOnly, Secure, SameSite=None for the control-panel
//! iframe), its CSRF token, and the single-use TikTok OAuth `state`.

use std::time::Duration;

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::crypto::TokenCipher;
use crate::storage::{Condition, Item, StorageError, Table, unix_now};

/// Cookie name.
pub const COOKIE: &str = "connector_session";
/// Session lifetime.
pub const LIFETIME: Duration = Duration::from_secs(3600);
/// OAuth `state` lifetime.
pub const STATE_LIFETIME: Duration = Duration::from_secs(600);

/// A signed session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The one store this session may read and change.
    pub store_hash: String,
    /// The user.
    pub user_id: u64,
    /// Expiry (Unix seconds).
    pub expires_at: i64,
}

/// `payload.signature`, both base64url.
fn seal<T: Serialize>(cipher: &TokenCipher, value: &T) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("signed values serialize"));
    let signature = URL_SAFE_NO_PAD.encode(cipher.sign(payload.as_bytes()));
    format!("{payload}.{signature}")
}

fn unseal<T: for<'de> Deserialize<'de>>(cipher: &TokenCipher, text: &str) -> Option<T> {
    let (payload, signature) = text.split_once('.')?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    if !cipher.verify(payload.as_bytes(), &signature) {
        return None;
    }
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

impl Session {
    /// A new session for `user_id` of `store_hash`.
    pub fn new(store_hash: &str, user_id: u64) -> Self {
        Self {
            store_hash: store_hash.to_string(),
            user_id,
            expires_at: unix_now() + LIFETIME.as_secs() as i64,
        }
    }

    /// The `Set-Cookie` header value.
    pub fn cookie(&self, cipher: &TokenCipher) -> String {
        format!(
            "{COOKIE}={}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=None",
            seal(cipher, self),
            LIFETIME.as_secs()
        )
    }

    /// The session of a request, if its cookie is genuine and unexpired.
    pub fn from_headers(cipher: &TokenCipher, headers: &HeaderMap) -> Option<Self> {
        let cookies = headers
            .get_all("cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'));
        let value = cookies
            .filter_map(|c| c.trim().strip_prefix(&format!("{COOKIE}=")))
            .next()?;
        let session: Self = unseal(cipher, value)?;
        (session.expires_at > unix_now()).then_some(session)
    }

    /// The CSRF token pages embed and state-changing calls must send back.
    pub fn csrf_token(&self, cipher: &TokenCipher) -> String {
        let material = format!("csrf|{}|{}|{}", self.store_hash, self.user_id, self.expires_at);
        hex::encode(&cipher.sign(material.as_bytes())[..16])
    }
}

/// The cookie that ends a session.
pub fn cleared_cookie() -> String {
    format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=None")
}

#[derive(Debug, Serialize, Deserialize)]
struct OAuthState {
    store_hash: String,
    nonce: String,
    expires_at: i64,
}

/// Why an OAuth `state` was refused.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Not signed by us.
    #[error("the authorization state is not genuine")]
    Forged,
    /// Too old.
    #[error("the authorization link expired; start again")]
    Expired,
    /// Already used.
    #[error("the authorization link was already used; start again")]
    Replayed,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A signed, expiring, single-use `state` bound to `store_hash`.
pub async fn issue_state(cipher: &TokenCipher, table: &dyn Table, store_hash: &str) -> Result<String, StorageError> {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let expires_at = unix_now() + STATE_LIFETIME.as_secs() as i64;
    let marker = Item::new(
        format!("OAUTHSTATE#{nonce}"),
        "STATE",
        serde_json::json!({"store_hash": store_hash}),
    )
    .with_expiry(expires_at);
    table.put(marker, Condition::Absent).await?;
    Ok(seal(
        cipher,
        &OAuthState {
            store_hash: store_hash.to_string(),
            nonce,
            expires_at,
        },
    ))
}

/// Checks and consumes a `state`; returns its store.
pub async fn consume_state(cipher: &TokenCipher, table: &dyn Table, state: &str) -> Result<String, StateError> {
    let state: OAuthState = unseal(cipher, state).ok_or(StateError::Forged)?;
    if state.expires_at <= unix_now() {
        return Err(StateError::Expired);
    }
    match table
        .delete(&format!("OAUTHSTATE#{}", state.nonce), "STATE", Condition::Exists)
        .await
    {
        Ok(()) => Ok(state.store_hash),
        Err(StorageError::ConditionFailed { .. }) => Err(StateError::Replayed),
        Err(error) => Err(error.into()),
    }
}

/// Records a JWT id so the same signed payload cannot open a second session.
/// Returns false when it was seen before.
pub async fn first_use_of_jwt(table: &dyn Table, jti: &str, expires_at: i64) -> Result<bool, StorageError> {
    if jti.is_empty() {
        return Ok(true);
    }
    let marker = Item::new(format!("JTI#{jti}"), "JTI", serde_json::json!({})).with_expiry(expires_at + 120);
    match table.put(marker, Condition::Absent).await {
        Ok(()) => Ok(true),
        Err(StorageError::ConditionFailed { .. }) => Ok(false),
        Err(error) => Err(error),
    }
}
