//! BigCommerce `signed_payload_jwt` and legacy `signed_payload`: any token is refused
//! or verified without a panic, and so is any claim set signed with the app's secret
//! (extreme `nbf`/`exp`, odd subjects) at any time.
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use connector::store::bigcommerce::{verify_signed_payload, verify_signed_payload_jwt};
use hmac::{Hmac, KeyInit, Mac};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    token: &'a str,
    now: i64,
    nbf: Option<i64>,
    exp: Option<i64>,
    sub: &'a str,
    audience_is_list: bool,
    raw_claims: Option<&'a [u8]>,
}

fuzz_target!(|input: Input| {
    let _ = verify_signed_payload_jwt(input.token, "client-id", "secret", input.now);
    let _ = verify_signed_payload(input.token, "secret");
    let aud = if input.audience_is_list {
        serde_json::json!(["other", "client-id"])
    } else {
        serde_json::json!("client-id")
    };
    let claims = match input.raw_claims {
        Some(raw) => raw.to_vec(),
        None => serde_json::to_vec(
            &serde_json::json!({"aud": aud, "iss": "bc", "nbf": input.nbf, "exp": input.exp,
            "sub": input.sub, "jti": "j", "user": {"id": 1, "email": "u@x"}, "owner": {"id": 1, "email": "o@x"}}),
        )
        .expect("JSON"),
    };
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(b"secret").expect("any key length");
    mac.update(signing_input.as_bytes());
    let token = format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    if let Ok(claims) = verify_signed_payload_jwt(&token, "client-id", "secret", input.now) {
        assert!(!claims.store_hash.is_empty() && !claims.store_hash.contains('/'));
    }
});
