//! BigCommerce app authentication (reference §1.3–1.6): the `signed_payload_jwt` of the
//! load, uninstall and remove-user callbacks, the legacy `signed_payload`, and the
//! OAuth code exchange.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// Accepted clock skew for `nbf` and `exp`.
pub const LEEWAY_SECONDS: i64 = 60;

/// Why a callback token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Not a well-formed token.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// An algorithm other than HS256/HS512 (including `none`).
    #[error("unsupported token algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// The signature does not match the client secret.
    #[error("token signature is invalid")]
    BadSignature,
    /// `aud` is not our client id.
    #[error("token audience is not this app")]
    WrongAudience,
    /// `iss` is not `bc`.
    #[error("token issuer is not BigCommerce")]
    WrongIssuer,
    /// `nbf` is in the future.
    #[error("token is not valid yet")]
    NotYetValid,
    /// `exp` has passed.
    #[error("token has expired")]
    Expired,
    /// `sub` is not `stores/{hash}`.
    #[error("token subject is not a store")]
    BadSubject,
}

/// The user or owner of a load claim.
#[derive(Debug, Clone, Deserialize)]
struct Person {
    id: u64,
    #[serde(default)]
    email: String,
    #[serde(default)]
    locale: String,
}

#[derive(Debug, Deserialize)]
struct RawClaims {
    nbf: Option<i64>,
    exp: Option<i64>,
    #[serde(default)]
    jti: String,
    #[serde(default)]
    sub: String,
    user: Person,
    owner: Person,
    #[serde(default)]
    url: String,
    channel_id: Option<u64>,
}

/// What a verified `signed_payload_jwt` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadClaims {
    /// The store (`sub` without `stores/`).
    pub store_hash: String,
    /// The user who opened the app.
    pub user_id: u64,
    /// The store owner.
    pub owner_id: u64,
    /// The user's email.
    pub user_email: String,
    /// The owner's email.
    pub owner_email: String,
    /// The user's locale.
    pub locale: String,
    /// Token id (for replay detection).
    pub jti: String,
    /// Deep-link path.
    pub url: String,
    /// Channel the app was opened from.
    pub channel_id: Option<u64>,
    /// Expiry (Unix seconds).
    pub expires_at: i64,
}

/// Decodes base64 in either alphabet, with or without padding.
fn decode_lenient(text: &str) -> Option<Vec<u8>> {
    [&URL_SAFE_NO_PAD, &URL_SAFE, &STANDARD, &STANDARD_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

fn hmac_ok<M: Mac + KeyInit>(secret: &str, message: &[u8], signature: &[u8]) -> bool {
    let mut mac = <M as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(message);
    mac.verify_slice(signature).is_ok()
}

/// Verifies a `signed_payload_jwt` (HS256 or HS512 only) at `now_unix` with
/// `jsonwebtoken`: signature, `aud` (our client id), `iss` (`bc`), and `nbf`/`exp`
/// within [`LEEWAY_SECONDS`] of `now_unix` (checked here, so the time is the caller's).
pub fn verify_signed_payload_jwt(
    token: &str,
    client_id: &str,
    client_secret: &str,
    now_unix: i64,
) -> Result<LoadClaims, AuthError> {
    use jsonwebtoken::errors::ErrorKind;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let token = token.trim();
    let [header, _, _] = token.split('.').collect::<Vec<_>>()[..] else {
        return Err(AuthError::Malformed("a JWT has three parts"));
    };
    // The header is read first so `none` and unknown algorithms get their own answer
    // (jsonwebtoken cannot even parse `none`).
    let header: serde_json::Value = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(AuthError::Malformed("header is not base64url JSON"))?;
    let algorithm = match header["alg"].as_str().unwrap_or("") {
        "HS256" => Algorithm::HS256,
        "HS512" => Algorithm::HS512,
        other => return Err(AuthError::UnsupportedAlgorithm(other.to_string())),
    };
    let mut validation = Validation::new(algorithm);
    validation.set_audience(&[client_id]);
    validation.set_issuer(&["bc"]);
    // `nbf` and `exp` are required and checked below, as signed integers (jsonwebtoken
    // reads them as unsigned and would call a negative one missing).
    validation.set_required_spec_claims(&["aud", "iss", "sub"]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let key = DecodingKey::from_secret(client_secret.as_bytes()).map_err(|_| AuthError::BadSignature)?;
    let claims: RawClaims = match jsonwebtoken::decode::<RawClaims>(token, &key, &validation) {
        Ok(data) => data.claims,
        Err(error) => {
            return Err(match error.kind() {
                ErrorKind::InvalidSignature => AuthError::BadSignature,
                ErrorKind::InvalidAlgorithm => AuthError::UnsupportedAlgorithm(header["alg"].to_string()),
                ErrorKind::InvalidAudience => AuthError::WrongAudience,
                ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
                ErrorKind::MissingRequiredClaim(_) => AuthError::Malformed("aud, iss and sub are required"),
                _ => AuthError::Malformed("not the BigCommerce claim set"),
            });
        }
    };
    let not_before = claims.nbf.ok_or(AuthError::Malformed("nbf is required"))?;
    let expires_at = claims.exp.ok_or(AuthError::Malformed("exp is required"))?;
    // Saturating: a claim near the ends of i64 must not overflow (found by fuzzing).
    if now_unix < not_before.saturating_sub(LEEWAY_SECONDS) {
        return Err(AuthError::NotYetValid);
    }
    if now_unix >= expires_at.saturating_add(LEEWAY_SECONDS) {
        return Err(AuthError::Expired);
    }
    let store_hash = claims
        .sub
        .strip_prefix("stores/")
        .filter(|h| !h.is_empty() && !h.contains('/'))
        .ok_or(AuthError::BadSubject)?;
    Ok(LoadClaims {
        store_hash: store_hash.to_string(),
        user_id: claims.user.id,
        owner_id: claims.owner.id,
        user_email: claims.user.email,
        owner_email: claims.owner.email,
        locale: claims.user.locale,
        jti: claims.jti,
        url: claims.url,
        channel_id: claims.channel_id,
        expires_at,
    })
}

/// Verifies the legacy `signed_payload` (`base64(json).base64(hex hmac)`), either
/// base64 alphabet, padding optional; returns the JSON.
pub fn verify_signed_payload(signed_payload: &str, client_secret: &str) -> Result<serde_json::Value, AuthError> {
    let (encoded_json, encoded_signature) = signed_payload
        .trim()
        .split_once('.')
        .ok_or(AuthError::Malformed("expected json.signature"))?;
    let json = decode_lenient(encoded_json).ok_or(AuthError::Malformed("payload is not base64"))?;
    let hex_signature = decode_lenient(encoded_signature).ok_or(AuthError::Malformed("signature is not base64"))?;
    let signature = std::str::from_utf8(&hex_signature)
        .ok()
        .filter(|s| s.len() == 64)
        .and_then(|s| hex::decode(s).ok())
        .ok_or(AuthError::BadSignature)?;
    if !hmac_ok::<Hmac<Sha256>>(client_secret, &json, &signature) {
        return Err(AuthError::BadSignature);
    }
    serde_json::from_slice(&json).map_err(|_| AuthError::Malformed("payload is not JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sha2::Sha512;

    const V3: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJ0ZXN0LWNsaWVudC1pZCIsImlzcyI6ImJjIiwiaWF0IjoxNzAwMDAwMDAwLCJuYmYiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDA4NjQwMCwianRpIjoiMDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAwIiwic3ViIjoic3RvcmVzL2FiYzEyMyIsInVzZXIiOnsiaWQiOjEsImVtYWlsIjoidXNlckBleGFtcGxlLmNvbSIsImxvY2FsZSI6ImVuLVVTIn0sIm93bmVyIjp7ImlkIjoxLCJlbWFpbCI6InVzZXJAZXhhbXBsZS5jb20ifSwidXJsIjoiLyIsImNoYW5uZWxfaWQiOm51bGx9.PQjpzjkOiN3E5Tui_Fa0yM_qXn9cYrzaohaYYff3rNc";

    #[test]
    fn reference_jwt_vector_is_valid_inside_its_window_only() {
        let claims = verify_signed_payload_jwt(V3, "test-client-id", "test-client-secret", 1_700_000_100).unwrap();
        assert_eq!(claims.store_hash, "abc123");
        assert_eq!((claims.user_id, claims.owner_id), (1, 1));
        assert_eq!(claims.user_email, "user@example.com");
        assert_eq!(claims.channel_id, None);
        assert_eq!(
            verify_signed_payload_jwt(V3, "test-client-id", "test-client-secret", 1_700_090_000),
            Err(AuthError::Expired)
        );
        assert_eq!(
            verify_signed_payload_jwt(V3, "test-client-id", "test-client-secret", 1_699_999_000),
            Err(AuthError::NotYetValid)
        );
        // Within the 60 s leeway on both ends.
        assert!(verify_signed_payload_jwt(V3, "test-client-id", "test-client-secret", 1_699_999_950).is_ok());
        assert!(verify_signed_payload_jwt(V3, "test-client-id", "test-client-secret", 1_700_086_430).is_ok());
    }

    #[test]
    fn wrong_secret_audience_and_tampering_are_refused() {
        let now = 1_700_000_100;
        assert_eq!(
            verify_signed_payload_jwt(V3, "test-client-id", "other-secret", now),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify_signed_payload_jwt(V3, "other-client", "test-client-secret", now),
            Err(AuthError::WrongAudience)
        );
        let mut parts: Vec<String> = V3.split('.').map(str::to_string).collect();
        let forged = json!({"aud": "test-client-id", "iss": "bc", "nbf": 1_700_000_000, "exp": 1_800_000_000, "sub": "stores/victim",
                            "user": {"id": 1, "email": "a@b"}, "owner": {"id": 1, "email": "a@b"}});
        parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
        assert_eq!(
            verify_signed_payload_jwt(&parts.join("."), "test-client-id", "test-client-secret", now),
            Err(AuthError::BadSignature)
        );
    }

    /// An HS256 token of `claims`, built by hand so these tests need no signer of the
    /// connector's (the BigCommerce sandbox has its own, from `jsonwebtoken`).
    fn token(claims: serde_json::Value, secret: &str) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{header}.{payload}").as_bytes());
        format!(
            "{header}.{payload}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    fn claims() -> serde_json::Value {
        json!({"aud": "cid", "iss": "bc", "iat": 100, "nbf": 100, "exp": 1000, "jti": "j1", "sub": "stores/h1",
               "user": {"id": 7, "email": "u@x", "locale": "en-US"}, "owner": {"id": 9, "email": "o@x"}, "url": "/", "channel_id": 1})
    }

    #[test]
    fn issuer_subject_and_required_claims_are_checked() {
        let mut wrong_issuer = claims();
        wrong_issuer["iss"] = json!("evil");
        assert_eq!(
            verify_signed_payload_jwt(&token(wrong_issuer, "s"), "cid", "s", 200),
            Err(AuthError::WrongIssuer)
        );
        let mut wrong_subject = claims();
        wrong_subject["sub"] = json!("users/h1");
        assert_eq!(
            verify_signed_payload_jwt(&token(wrong_subject, "s"), "cid", "s", 200),
            Err(AuthError::BadSubject)
        );
        let mut no_expiry = claims();
        no_expiry.as_object_mut().unwrap().remove("exp");
        assert!(matches!(
            verify_signed_payload_jwt(&token(no_expiry, "s"), "cid", "s", 200),
            Err(AuthError::Malformed(_))
        ));
        let ok = verify_signed_payload_jwt(&token(claims(), "s"), "cid", "s", 200).unwrap();
        assert_eq!(
            (ok.store_hash.as_str(), ok.user_id, ok.owner_id, ok.channel_id),
            ("h1", 7, 9, Some(1))
        );
    }

    #[test]
    fn claims_at_the_ends_of_time_are_refused_without_overflow() {
        // The input `cargo fuzz run bigcommerce_jwt` found: nbf near i64::MIN.
        let mut ancient = claims();
        ancient["nbf"] = json!(-9223372036854775803i64);
        ancient["exp"] = json!(930428695);
        let valid = verify_signed_payload_jwt(&token(ancient, "s"), "cid", "s", -432345564199013393);
        assert_eq!(valid.unwrap().expires_at, 930428695, "valid from the beginning of time");
        let mut endless = claims();
        endless["exp"] = json!(i64::MAX);
        assert!(verify_signed_payload_jwt(&token(endless, "s"), "cid", "s", i64::MAX - 1).is_ok());
        assert_eq!(
            verify_signed_payload_jwt(&token(claims(), "s"), "cid", "s", i64::MIN),
            Err(AuthError::NotYetValid)
        );
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
        for header in [
            r#"{"alg":"none","typ":"JWT"}"#,
            r#"{"alg":"RS256","typ":"JWT"}"#,
            r#"{"alg":"HS384","typ":"JWT"}"#,
        ] {
            let token = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(header));
            assert!(
                matches!(
                    verify_signed_payload_jwt(&token, "cid", "s", 200),
                    Err(AuthError::UnsupportedAlgorithm(_))
                ),
                "{header}"
            );
        }
        for malformed in ["", "a.b", "a.b.c.d", "!!!.###.$$$"] {
            assert!(
                matches!(
                    verify_signed_payload_jwt(malformed, "cid", "s", 200),
                    Err(AuthError::Malformed(_))
                ),
                "{malformed}"
            );
        }
    }

    #[test]
    fn hs512_tokens_are_accepted() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
        let mut mac = <Hmac<Sha512> as KeyInit>::new_from_slice(b"s").unwrap();
        mac.update(format!("{header}.{payload}").as_bytes());
        let token = format!(
            "{header}.{payload}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        assert!(verify_signed_payload_jwt(&token, "cid", "s", 200).is_ok());
    }

    #[test]
    fn legacy_signed_payload_vectors() {
        let valid = "eyJmb28iOiJmb28ifQ==.YjMzMTQ2ZGU4ZTUzNWJiOTI3NTI1ODJmNzhiZGM5NzBjNGQ3MjZkZDdkMDY1MjdkZGYxZDA0NGZjNDVjYmNkMA==";
        assert_eq!(
            verify_signed_payload(valid, "123456abcdef").unwrap(),
            json!({"foo": "foo"})
        );
        let unpadded_url_safe = valid.replace('=', "");
        assert_eq!(
            verify_signed_payload(&unpadded_url_safe, "123456abcdef").unwrap(),
            json!({"foo": "foo"})
        );
        let wrong_digit = "eyJmb28iOiJmb28ifQ==.YjMzMTQ2ZGU4ZTUzNWJiOTI3NTI1ODJmNzhiZGM5NzBjNGQ3MjZkZDdkMDY1MjdkZGYxZDA0NGZjNDVjYmNkMQ==";
        assert_eq!(
            verify_signed_payload(wrong_digit, "123456abcdef"),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify_signed_payload("eyJmb28iOiJmb28ifQ==.Zm9v", "123456abcdef"),
            Err(AuthError::BadSignature)
        );
        assert_eq!(verify_signed_payload(valid, "other"), Err(AuthError::BadSignature));
        assert!(matches!(
            verify_signed_payload("no-dot", "s"),
            Err(AuthError::Malformed(_))
        ));
    }
}
