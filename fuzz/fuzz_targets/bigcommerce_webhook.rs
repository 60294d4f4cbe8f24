//! BigCommerce webhook deliveries: any headers and body are refused or parsed without
//! a panic, with or without a valid Standard Webhooks signature, at any time.
#![no_main]

use std::sync::LazyLock;

use base64::Engine as _;
use connector::secrets::SecretString;
use connector::store::StorePlatform;
use connector::store::bigcommerce::{BigCommerce, Client, ClientConfig, SECRET_HEADER, verify_standard_webhook};
use hmac::{Hmac, KeyInit, Mac};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

const SCOPES: [&str; 8] = [
    "store/product/updated",
    "store/product/inventory/updated",
    "store/sku/inventory/updated",
    "store/order/statusUpdated",
    "store/shipment/created",
    "store/app/uninstalled",
    "store/product/deleted",
    "store/cart/created",
];

static STORE: LazyLock<BigCommerce> = LazyLock::new(|| {
    let client = Client::new(ClientConfig::new("abc123", SecretString::new("token".into()))).expect("a client");
    BigCommerce::new(client, Some(SecretString::new("account-secret".into())), "app".into())
});

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    id: &'a str,
    timestamp: &'a str,
    signatures: &'a str,
    now: i64,
    body: &'a [u8],
    scope: u8,
    data: &'a str,
    structured: bool,
    sign: bool,
    secret_header: bool,
}

fuzz_target!(|input: Input| {
    let _ = verify_standard_webhook(
        b"account-secret",
        input.id,
        input.timestamp,
        input.body,
        input.signatures,
        input.now,
    );
    let body = if input.structured {
        let data = serde_json::from_str::<serde_json::Value>(input.data)
            .unwrap_or_else(|_| serde_json::json!({"id": input.data}));
        let scope = SCOPES[usize::from(input.scope) % SCOPES.len()];
        serde_json::to_vec(
            &serde_json::json!({"scope": scope, "producer": "stores/abc123", "data": data,
                                               "hash": input.id, "created_at": input.now}),
        )
        .expect("JSON")
    } else {
        input.body.to_vec()
    };
    let secret = if input.secret_header {
        "store-secret"
    } else {
        input.signatures
    };
    let mut headers = vec![(SECRET_HEADER.to_lowercase(), secret.to_string())];
    if input.sign {
        let timestamp = connector::storage::unix_now().to_string();
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(b"account-secret").expect("any key length");
        mac.update(format!("{}.{timestamp}.", input.id).as_bytes());
        mac.update(&body);
        let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        headers.push(("webhook-id".into(), input.id.into()));
        headers.push(("webhook-timestamp".into(), timestamp));
        headers.push(("webhook-signature".into(), format!("v1,{signature}")));
    }
    let _ = STORE.parse_webhook(&headers, &body, "store-secret");
});
