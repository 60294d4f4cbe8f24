//! What BigCommerce signs, with the sandbox's own code (never the connector's): the
//! `signed_payload_jwt` of the load, uninstall and remove-user callbacks
//! (`store-platforms-api.md` §1.4: HS256 keyed by the app's client secret, through the
//! `jsonwebtoken` crate) and the Standard Webhooks signature of webhook deliveries
//! (§1.8, §1.8.1: HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, keyed by the
//! raw bytes of the creating account's client secret, through the official
//! `standardwebhooks` crate). Both are checked against published vectors below.

use jsonwebtoken::{Algorithm, EncodingKey, Header};

/// Header carrying a delivery's id (stable across retries of one event).
pub const WEBHOOK_ID: &str = standardwebhooks::HEADER_WEBHOOK_ID;
/// Header carrying the attempt's Unix time in seconds.
pub const WEBHOOK_TIMESTAMP: &str = standardwebhooks::HEADER_WEBHOOK_TIMESTAMP;
/// Header carrying `v1,<base64 HMAC-SHA256>`.
pub const WEBHOOK_SIGNATURE: &str = standardwebhooks::HEADER_WEBHOOK_SIGNATURE;

/// A compact HS256 JWT of `claims` keyed by `client_secret` (its UTF-8 bytes), as
/// BigCommerce signs `signed_payload_jwt`. Panics only on an empty secret, which no
/// app or API account has.
pub fn sign_jwt(claims: &serde_json::Value, client_secret: &str) -> String {
    let key = EncodingKey::from_secret(client_secret.as_bytes()).expect("a client secret is never empty");
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).expect("JSON claims encode")
}

/// The `webhook-signature` value (`v1,<base64>`) of one delivery attempt: `key` is the
/// raw client secret of the account that created the hook, `timestamp` Unix seconds,
/// `body` the exact bytes sent (JSON, so UTF-8).
pub fn sign_webhook(key: &[u8], webhook_id: &str, timestamp: i64, body: &str) -> String {
    standardwebhooks::Webhook::from_bytes(key.to_vec())
        .and_then(|webhook| webhook.sign(webhook_id, timestamp, body.as_bytes()))
        .expect("a UTF-8 body always signs")
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

    use super::*;

    /// The Standard Webhooks vector published in the spec repository's library tests
    /// (and `store-platforms-api.md` §1.8.1), and the one in the Rust library's own tests.
    #[test]
    fn webhook_signatures_match_the_published_standard_webhooks_vectors() {
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            sign_webhook(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let key = STANDARD.decode("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        assert_eq!(
            sign_webhook(
                &key,
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1_649_367_553,
                r#"{"email":"test@example.com","username":"test_user"}"#
            ),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    /// RFC 7515 Appendix A.1: the published HS256 example (signing input, JWK key, signature).
    #[test]
    fn jwt_signatures_match_the_rfc_7515_hs256_example() {
        let key = URL_SAFE_NO_PAD
            .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
            .unwrap();
        let signing_input = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
        assert_eq!(
            jsonwebtoken::crypto::sign(
                signing_input.as_bytes(),
                &EncodingKey::from_secret(&key).unwrap(),
                Algorithm::HS256
            )
            .unwrap(),
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        );
    }

    /// The tokens the sandbox mints carry the claims as given and verify with the secret.
    #[test]
    fn minted_tokens_are_hs256_over_the_given_claims() {
        let claims = serde_json::json!({"aud": "cid", "iss": "bc", "sub": "stores/abc123", "exp": 4_000_000_000u64});
        let token = sign_jwt(&claims, "s3cret");
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!(header["alg"], "HS256");
        let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
        validation.set_audience(&["cid"]);
        let decoded = jsonwebtoken::decode::<serde_json::Value>(
            &token,
            &jsonwebtoken::DecodingKey::from_secret(b"s3cret").unwrap(),
            &validation,
        )
        .unwrap();
        assert_eq!(decoded.claims, claims);
        assert!(
            jsonwebtoken::decode::<serde_json::Value>(
                &token,
                &jsonwebtoken::DecodingKey::from_secret(b"other").unwrap(),
                &validation
            )
            .is_err()
        );
    }
}
