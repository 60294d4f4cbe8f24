//! State the browser carries, all in the `cookie` crate's private cookies (AES-256-GCM:
//! secret and tamper-proof, keyed from the token keyring):
//!
//! - the settings session (bound to one store *installation* and one user, one hour,
//!   `HttpOnly; Secure; SameSite=None` for the control-panel iframe) and its CSRF token;
//! - a browser binding for flows that leave and come back: the TikTok OAuth `state`
//!   (signed, expiring, single use) and the manual-connection form token both carry a
//!   nonce that must equal the one in a first-party cookie set when the flow started,
//!   so a link or form started in one browser cannot be completed in another.

use std::time::Duration;

use axum::http::HeaderMap;
use axum::http::header::COOKIE as COOKIE_HEADER;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, CookieJar, Key, SameSite};
use serde::{Deserialize, Serialize};

use axum::http::StatusCode;
use axum::http::header::{LOCATION, ORIGIN, SET_COOKIE};
use axum::response::{IntoResponse, Response};

use crate::accounts::StoreRecord;
use crate::app::App;
use crate::crypto::{TokenCipher, constant_time_eq};
use crate::storage::{Condition, Item, StorageError, Table, unix_now};

/// Session cookie name.
pub const COOKIE: &str = "connector_session";
/// Cookie binding a TikTok authorization to the browser that started it (path `/tiktok`).
pub const OAUTH_COOKIE: &str = "connector_oauth";
/// Cookie binding the manual-connection form to the browser that loaded it (path `/connect`).
pub const FORM_COOKIE: &str = "connector_form";
/// Session lifetime.
pub const LIFETIME: Duration = Duration::from_secs(3600);
/// OAuth `state` lifetime.
pub const STATE_LIFETIME: Duration = Duration::from_secs(600);
/// Manual-connection form lifetime (time to find and paste the credentials).
pub const FORM_LIFETIME: Duration = Duration::from_secs(3600);

/// A session: who may read and change which store's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The one store this session may read and change (its tenant id).
    #[serde(alias = "store_hash")]
    pub store_id: String,
    /// The installation it was opened under ([`StoreRecord::installation`]): a session
    /// from before an uninstall does not open the store after a reinstall.
    #[serde(default)]
    pub installation: String,
    /// The user (0 for a store connected with an API account).
    pub user_id: u64,
    /// Expiry (Unix seconds).
    pub expires_at: i64,
}

fn key(cipher: &TokenCipher) -> Key {
    Key::from(&cipher.cookie_key_material())
}

/// `Set-Cookie` value of an encrypted cookie.
fn private_cookie(
    cipher: &TokenCipher,
    name: &'static str,
    value: String,
    path: &'static str,
    lifetime: Duration,
    same_site: SameSite,
) -> String {
    let cookie = Cookie::build((name, value))
        .path(path)
        .max_age(cookie::time::Duration::seconds(lifetime.as_secs() as i64))
        .http_only(true)
        .secure(true)
        .same_site(same_site)
        .build();
    let mut jar = CookieJar::new();
    jar.private_mut(&key(cipher)).add(cookie);
    jar.delta()
        .next()
        .map(|cookie| cookie.encoded().to_string())
        .expect("the jar holds the cookie just added")
}

/// `Set-Cookie` value that removes the cookie `name` at `path`.
fn removal(name: &'static str, path: &'static str, same_site: SameSite) -> String {
    let mut cookie = Cookie::build((name, ""))
        .path(path)
        .http_only(true)
        .secure(true)
        .same_site(same_site)
        .build();
    cookie.make_removal();
    cookie.to_string()
}

/// The decrypted value of the cookie `name`, if the request has a genuine one.
fn read_private(cipher: &TokenCipher, headers: &HeaderMap, name: &str) -> Option<String> {
    let key = key(cipher);
    headers
        .get_all(COOKIE_HEADER)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| Cookie::split_parse_encoded(value.to_string()))
        .filter_map(Result::ok)
        .filter(|cookie| cookie.name() == name)
        .find_map(|cookie| {
            let mut jar = CookieJar::new();
            jar.add_original(cookie.into_owned());
            jar.private(&key).get(name).map(|cookie| cookie.value().to_string())
        })
}

impl Session {
    /// A new session for `user_id` of the store as installed now.
    pub fn new(store: &StoreRecord, user_id: u64) -> Self {
        Self {
            store_id: store.store_id.clone(),
            installation: store.installation.clone(),
            user_id,
            expires_at: unix_now() + LIFETIME.as_secs() as i64,
        }
    }

    /// The `Set-Cookie` header value.
    pub fn cookie(&self, cipher: &TokenCipher) -> String {
        let value = serde_json::to_string(self).expect("a session serializes");
        private_cookie(cipher, COOKIE, value, "/", LIFETIME, SameSite::None)
    }

    /// The session of a request, if its cookie is genuine and unexpired. Whether the
    /// store and the user still allow it is [`Session::allowed_by`].
    pub fn from_headers(cipher: &TokenCipher, headers: &HeaderMap) -> Option<Self> {
        let session: Self = serde_json::from_str(&read_private(cipher, headers, COOKIE)?).ok()?;
        (session.expires_at > unix_now()).then_some(session)
    }

    /// Whether `store` (this session's store, as stored now) still admits the session:
    /// installed, the same installation, and the user still one of its users.
    pub fn allowed_by(&self, store: &StoreRecord) -> bool {
        store.store_id == self.store_id
            && store.status == crate::accounts::StoreStatus::Installed
            && store.installation == self.installation
            && (self.user_id == store.owner_id || store.user_ids.contains(&self.user_id))
    }

    /// The CSRF token pages embed and state-changing calls must send back.
    pub fn csrf_token(&self, cipher: &TokenCipher) -> String {
        let material = format!(
            "csrf|{}|{}|{}|{}",
            self.store_id, self.installation, self.user_id, self.expires_at
        );
        hex::encode(&cipher.sign(material.as_bytes())[..16])
    }
}

/// The cookie that ends a session.
pub fn cleared_cookie() -> String {
    removal(COOKIE, "/", SameSite::None)
}

/// A value sent through the browser (as an OAuth `state` or a hidden form field),
/// signed, expiring, and tied to the nonce of a browser cookie.
#[derive(Debug, Serialize, Deserialize)]
struct Bound<T> {
    nonce: String,
    expires_at: i64,
    value: T,
}

/// Why a browser-bound value (OAuth `state`, form token) was refused.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Not signed by us.
    #[error("the authorization state is not genuine")]
    Forged,
    /// Too old.
    #[error("the link expired; start again")]
    Expired,
    /// Opened in a browser other than the one that started it (or its cookie is gone).
    #[error(
        "this link was started in another browser; start again from the app's settings page in the browser you will approve it in"
    )]
    OtherBrowser,
    /// Already used.
    #[error("the authorization link was already used; start again")]
    Replayed,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
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

/// A browser-bound value: `(signed token, Set-Cookie value, nonce)`.
fn bind<T: Serialize>(
    cipher: &TokenCipher,
    cookie: (&'static str, &'static str),
    lifetime: Duration,
    value: T,
) -> (String, String, String) {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let bound = Bound {
        nonce: nonce.clone(),
        expires_at: unix_now() + lifetime.as_secs() as i64,
        value,
    };
    let set_cookie = private_cookie(cipher, cookie.0, nonce.clone(), cookie.1, lifetime, SameSite::Lax);
    (seal(cipher, &bound), set_cookie, nonce)
}

/// Checks a browser-bound token against the request's cookie `cookie_name`.
fn check_bound<T: for<'de> Deserialize<'de>>(
    cipher: &TokenCipher,
    headers: &HeaderMap,
    cookie_name: &str,
    token: &str,
) -> Result<Bound<T>, StateError> {
    let bound: Bound<T> = unseal(cipher, token).ok_or(StateError::Forged)?;
    if bound.expires_at <= unix_now() {
        return Err(StateError::Expired);
    }
    let browser_nonce = read_private(cipher, headers, cookie_name).ok_or(StateError::OtherBrowser)?;
    if !constant_time_eq(browser_nonce.as_bytes(), bound.nonce.as_bytes()) {
        return Err(StateError::OtherBrowser);
    }
    Ok(bound)
}

/// A TikTok authorization started by a browser: the `state` to send and the
/// `Set-Cookie` value binding it to that browser.
pub struct IssuedState {
    /// The OAuth `state` parameter.
    pub state: String,
    /// `Set-Cookie` value ([`OAUTH_COOKIE`], path `/tiktok`, `SameSite=Lax` so TikTok's
    /// top-level redirect back carries it).
    pub cookie: String,
}

/// A signed, expiring, single-use `state` bound to `store_id` and to the browser.
pub async fn issue_state(cipher: &TokenCipher, table: &dyn Table, store_id: &str) -> Result<IssuedState, StorageError> {
    let (state, cookie, nonce) = bind(cipher, (OAUTH_COOKIE, "/tiktok"), STATE_LIFETIME, store_id.to_string());
    let marker = Item::new(
        format!("OAUTHSTATE#{nonce}"),
        "STATE",
        serde_json::json!({"store_hash": store_id}),
    )
    .with_expiry(unix_now() + STATE_LIFETIME.as_secs() as i64);
    table.put(marker, Condition::Absent).await?;
    Ok(IssuedState { state, cookie })
}

/// Checks a `state` against the browser that brings it back and consumes it; returns
/// its store.
pub async fn consume_state(
    cipher: &TokenCipher,
    table: &dyn Table,
    headers: &HeaderMap,
    state: &str,
) -> Result<String, StateError> {
    let bound: Bound<String> = unseal(cipher, state).ok_or(StateError::Forged)?;
    let marker = format!("OAUTHSTATE#{}", bound.nonce);
    // A used link says so, whichever browser brings it back.
    if table.get(&marker, "STATE").await?.is_none() {
        return Err(StateError::Replayed);
    }
    check_bound::<String>(cipher, headers, OAUTH_COOKIE, state)?;
    match table.delete(&marker, "STATE", Condition::Exists).await {
        Ok(()) => Ok(bound.value),
        Err(StorageError::ConditionFailed { .. }) => Err(StateError::Replayed),
        Err(error) => Err(error.into()),
    }
}

/// The `Set-Cookie` value that drops the OAuth binding once it was used.
pub fn cleared_state_cookie() -> String {
    removal(OAUTH_COOKIE, "/tiktok", SameSite::Lax)
}

/// A manual-connection form for this browser: `(hidden form token, Set-Cookie value)`.
pub fn issue_form_token(cipher: &TokenCipher) -> (String, String) {
    let (token, cookie, _) = bind(cipher, (FORM_COOKIE, "/connect"), FORM_LIFETIME, ());
    (token, cookie)
}

/// Checks a manual-connection form's token against the browser that posts it.
pub fn check_form_token(cipher: &TokenCipher, headers: &HeaderMap, token: &str) -> Result<(), StateError> {
    check_bound::<()>(cipher, headers, FORM_COOKIE, token).map(drop)
}

/// Records a JWT id so the same signed payload cannot open a second session. Returns
/// false when it was seen before or has no id (a payload without `jti` could be
/// replayed until it expires, so it is refused).
pub async fn first_use_of_jwt(table: &dyn Table, jti: &str, expires_at: i64) -> Result<bool, StorageError> {
    if jti.is_empty() {
        return Ok(false);
    }
    let marker = Item::new(format!("JTI#{jti}"), "JTI", serde_json::json!({})).with_expiry(expires_at + 120);
    match table.put(marker, Condition::Absent).await {
        Ok(()) => Ok(true),
        Err(StorageError::ConditionFailed { .. }) => Ok(false),
        Err(error) => Err(error),
    }
}

/// `response` with the session's cookie set: the browser is signed in to its store.
pub fn with_session(app: &App, session: &Session, response: Response) -> Response {
    let mut response = response;
    if let Ok(cookie) = session.cookie(&app.secrets.token_cipher).parse() {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
}

/// Checks that a connection form's post came from this browser's copy of the page: its
/// origin ([`same_origin`]) and its browser-bound token ([`check_form_token`]).
/// Errors: the merchant's reason, to show above the form again (each logged).
pub fn check_form_post(app: &App, headers: &HeaderMap, form_token: &str) -> Result<(), &'static str> {
    if !same_origin(&app.public_url, headers) {
        tracing::warn!("connection form posted from another site refused");
        return Err("This form was sent from another site. Fill it in on this page.");
    }
    if let Err(refused) = check_form_token(&app.secrets.token_cipher, headers, form_token) {
        tracing::warn!(%refused, "connection form refused");
        return Err("The form expired or was opened in another browser. Check the details and send it again.");
    }
    Ok(())
}

/// `303 See Other` to the settings page.
pub fn redirect_to_settings() -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, "/settings")]).into_response()
}

/// Whether a form post came from this app's own pages: a browser-sent `Origin` (or
/// `Sec-Fetch-Site`) naming another site refuses it.
///
/// A browser sends `Origin: null` with a form posted from a page whose
/// `Referrer-Policy` is `no-referrer` (every page of this app): such a post is this
/// app's own only when Fetch Metadata (`Sec-Fetch-Site: same-origin`) says so.
pub fn same_origin(public_url: &str, headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let fetch_site = header("sec-fetch-site");
    if fetch_site == Some("cross-site") {
        return false;
    }
    match header(ORIGIN.as_str()) {
        None => true,
        Some("null") => fetch_site == Some("same-origin"),
        Some(origin) => url::Url::parse(public_url).is_ok_and(|ours| ours.origin().ascii_serialization() == origin),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    #[test]
    fn a_form_post_is_ours_by_its_origin_or_by_fetch_metadata_when_the_origin_is_null() {
        let post = |headers: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in headers {
                map.insert(*name, value.parse().unwrap());
            }
            super::same_origin("https://app.example.com", &map)
        };
        assert!(post(&[]), "no browser headers (a script): the form token decides");
        assert!(post(&[("origin", "https://app.example.com")]));
        assert!(!post(&[("origin", "https://evil.example")]));
        assert!(!post(&[("sec-fetch-site", "cross-site")]));
        // A browser under `Referrer-Policy: no-referrer` sends `Origin: null`.
        assert!(post(&[("origin", "null"), ("sec-fetch-site", "same-origin")]));
        assert!(!post(&[("origin", "null"), ("sec-fetch-site", "cross-site")]));
        assert!(
            !post(&[("origin", "null")]),
            "a null origin without Fetch Metadata is not known to be ours"
        );
    }
}
