//! TikTok webhook intake: any `Authorization` header and body is refused or parsed,
//! never a panic; only TikTok's own signature is accepted.
#![no_main]

use connector::tiktok::webhook::{WebhookError, parse, signature, verify_signature};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &[u8])| {
    let (authorization, body) = input;
    let signed = signature("app-key", "app-secret", body);
    let genuine = authorization.trim().eq_ignore_ascii_case(&signed);
    assert_eq!(verify_signature("app-key", "app-secret", body, authorization), genuine);
    if !genuine {
        assert!(matches!(
            parse("app-key", "app-secret", body, Some(authorization)),
            Err(WebhookError::InvalidSignature)
        ));
    }
    // Signed by TikTok: the envelope parser sees every body.
    let _ = parse("app-key", "app-secret", body, Some(&signed));
});
