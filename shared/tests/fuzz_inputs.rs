//! The fuzz targets of `fuzz/` as short property tests that run with the suite: every
//! untrusted input (TikTok and BigCommerce webhooks, BigCommerce JWTs, the settings
//! JSON and form, profiles, rule numbers, order money) is refused or accepted without
//! a panic, and deep or large inputs are refused within bounded memory.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use connector::accounts::Settings;
use connector::orders::money::store_money;
use connector::rules::catalog::{Adjustment, InventoryPolicy, MAX_STOCK, PriceRule, Profile, Rounding};
use connector::rules::orders::ItemPrice;
use connector::secrets::SecretString;
use connector::store::StorePlatform;
use connector::store::bigcommerce::{
    BigCommerce, Client, ClientConfig, SECRET_HEADER, verify_signed_payload, verify_signed_payload_jwt,
    verify_standard_webhook,
};
use connector::tiktok::model::Order;
use connector::tiktok::webhook::{WebhookError, parse, signature};
use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn decimal() -> impl Strategy<Value = Decimal> {
    (any::<i64>(), 0u32..29).prop_map(|(mantissa, scale)| Decimal::new(mantissa, scale))
}

/// Any JSON value, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        Just(json!(-9223372036854775808i64)),
        Just(json!(18446744073709551615u64)),
        ".{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The default settings JSON with one field (or one inventory field) replaced.
fn mutated_settings() -> impl Strategy<Value = Value> {
    let defaults = serde_json::to_value(Settings::default()).unwrap();
    let names: Vec<String> = defaults.as_object().unwrap().keys().cloned().collect();
    let inventory = ["threshold", "reserve", "untracked_quantity"];
    (
        prop::sample::select(names),
        prop::sample::select(inventory.to_vec()),
        json_value(),
        any::<bool>(),
    )
        .prop_map(move |(name, field, value, nested)| {
            let mut settings = defaults.clone();
            if nested {
                settings["inventory"][field] = value;
            } else {
                settings[name] = value;
            }
            settings
        })
}

/// A JSON array nested `depth` deep: `[[[…]]]`.
fn nested_arrays(depth: usize) -> Vec<u8> {
    let mut body = vec![b'['; depth];
    body.extend(std::iter::repeat_n(b']', depth));
    body
}

fn bigcommerce() -> BigCommerce {
    let client = Client::new(ClientConfig::new("abc123", SecretString::new("token".into()))).unwrap();
    BigCommerce::new(client, Some(SecretString::new("account-secret".into())), "app".into())
}

/// An HS256 `signed_payload_jwt` of `claims` (any bytes) under the secret `secret`.
fn signed_jwt(claims: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(b"secret").unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn tiktok_webhooks_are_refused_or_parsed(body in prop::collection::vec(any::<u8>(), 0..512), auth in ".{0,80}") {
        let signed = signature("k", "s", &body);
        if !auth.trim().eq_ignore_ascii_case(&signed) {
            prop_assert!(matches!(parse("k", "s", &body, Some(&auth)), Err(WebhookError::InvalidSignature)));
        }
        let _ = parse("k", "s", &body, Some(&signed));
    }

    #[test]
    fn bigcommerce_tokens_are_refused_or_verified(token in ".{0,300}", now in any::<i64>()) {
        let _ = verify_signed_payload_jwt(&token, "client-id", "secret", now);
        let _ = verify_signed_payload(&token, "secret");
    }

    #[test]
    fn signed_claims_at_any_time_are_refused_or_verified(
        nbf in prop::option::of(any::<i64>()), exp in prop::option::of(any::<i64>()), now in any::<i64>(), sub in ".{0,20}",
    ) {
        let claims = json!({"aud": "client-id", "iss": "bc", "nbf": nbf, "exp": exp, "sub": sub,
                            "user": {"id": 1, "email": "u@x"}, "owner": {"id": 1, "email": "o@x"}});
        let _ = verify_signed_payload_jwt(&signed_jwt(claims.to_string().as_bytes()), "client-id", "secret", now);
    }

    #[test]
    fn bigcommerce_deliveries_are_refused_or_parsed(
        id in ".{0,20}", timestamp in prop_oneof![".{0,20}", any::<i64>().prop_map(|t| t.to_string())],
        signatures in ".{0,60}", now in any::<i64>(), scope in "store/[a-z/]{0,30}", data in json_value(),
    ) {
        let _ = verify_standard_webhook(b"account-secret", &id, &timestamp, b"{}", &signatures, now);
        let body = serde_json::to_vec(&json!({"scope": scope, "producer": "stores/abc123", "data": data})).unwrap();
        let headers = vec![
            (SECRET_HEADER.to_lowercase(), "store-secret".to_string()),
            ("webhook-id".into(), id), ("webhook-timestamp".into(), timestamp), ("webhook-signature".into(), signatures),
        ];
        let _ = bigcommerce().parse_webhook(&headers, &body, "store-secret");
        let _ = bigcommerce().parse_webhook(&headers[..1], &body, "store-secret");
    }

    #[test]
    fn accepted_settings_publish_within_range(settings in mutated_settings(), available in prop::option::of(any::<i64>())) {
        if let Ok(settings) = serde_json::from_value::<Settings>(settings)
            && settings.validate().is_ok()
        {
            prop_assert!(i64::from(settings.inventory.publish(available)) <= MAX_STOCK);
        }
    }

    #[test]
    fn order_forms_are_refused_or_valid(fields in prop::collection::vec((prop::sample::select(vec![
        "status:awaiting_shipment", "status:completed", "store_cancel_reason", "item_price", "order_retries",
        "order_prefix", "default_provider", "default_buyer_email", "import_fbt_orders"]), ".{0,40}"), 0..10)) {
        let fields: Vec<(String, String)> = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let mut draft = connector::configuration::Draft::new(Settings::default(), Vec::new());
        draft.apply("orders", &fields).unwrap();
        if draft.errors.is_empty() {
            prop_assert_eq!(draft.settings.validate(), Ok(()));
        } else {
            prop_assert!(draft.errors.keys().all(|field| draft.typed.contains_key(field)), "a refused field keeps what was typed");
        }
    }

    #[test]
    fn profiles_are_refused_or_valid(value in json_value(), kind in 0usize..4, rounding in 0usize..3) {
        let adjustment = [json!({"kind": "none"}), json!({"kind": "percent", "value": value}),
                          json!({"kind": "fixed", "value": value}), json!({"kind": "multiply", "value": value})];
        let rounding = ["cents", "end_in99", "whole"][rounding];
        let profile = json!({"id": "p", "name": "P", "priority": 1, "is_default": false, "matching": "all", "rules": [],
            "category_id": "1", "attributes": [], "brand_id": null, "size_chart_uri": null, "certifications": [],
            "price_rule": {"adjustment": adjustment[kind], "rounding": rounding}});
        if let Ok(profile) = serde_json::from_value::<Profile>(profile)
            && profile.validate().is_ok()
        {
            prop_assert!(profile.price_rule.apply(Decimal::new(1999, 2), Decimal::ONE).is_ok());
        }
    }

    #[test]
    fn rules_never_panic_and_never_oversell(
        threshold in any::<i64>(), reserve in any::<i64>(), untracked in any::<i64>(), available in prop::option::of(any::<i64>()),
        kind in 0usize..4, value in decimal(), price in decimal(), rate in decimal(), rounding in 0usize..3,
    ) {
        let policy = InventoryPolicy { threshold, reserve, untracked_quantity: untracked, deactivate_at_threshold: true };
        let published = i64::from(policy.publish(available));
        prop_assert!(published <= MAX_STOCK);
        if let (Ok(()), Some(units)) = (policy.validate(), available) {
            prop_assert!(published <= units.max(0));
        }
        let adjustment = [Adjustment::None, Adjustment::Percent(value), Adjustment::Fixed(value), Adjustment::Multiply(value)][kind];
        let rounding = [Rounding::Cents, Rounding::EndIn99, Rounding::Whole][rounding];
        let _ = PriceRule { adjustment, rounding }.apply(price, rate);
    }

    #[test]
    fn any_payment_block_gives_money_or_an_error(
        amounts in prop::collection::vec(decimal(), 6), units in prop::collection::vec((0u8..4, decimal(), decimal()), 0..20),
        currency in prop::sample::select(vec!["USD", "JPY", "KWD", "IDR", "XXZ"]),
    ) {
        let names = ["sub_total", "shipping_fee", "tax", "shipping_fee_tax", "platform_discount", "total_amount"];
        let mut payment = json!({"currency": currency});
        for (name, amount) in names.iter().zip(&amounts) {
            payment[name] = amount.to_string().into();
        }
        let lines: Vec<Value> = units.iter().enumerate().map(|(i, (sku, sale, discount))| json!({"id": (1000 + i).to_string(),
            "sku_id": format!("s{sku}"), "seller_sku": "x", "currency": currency, "sale_price": sale.to_string(),
            "platform_discount": discount.to_string()})).collect();
        let order: Order = serde_json::from_value(json!({"id": "1", "status": "AWAITING_SHIPMENT", "payment": payment,
                                                        "line_items": lines})).unwrap();
        let _ = store_money(&order, ItemPrice::BuyerPaid);
        let _ = store_money(&order, ItemPrice::SellerPrice);
    }
}

#[test]
fn a_million_nested_arrays_are_refused_by_the_json_depth_limit_not_the_stack() {
    // serde_json stops at 128 levels ("recursion limit exceeded"), so no body nests deep
    // enough to overflow the stack, wherever the untyped JSON sits.
    let deep = String::from_utf8(nested_arrays(1_000_000)).unwrap();
    let limited = |error: &dyn std::fmt::Display| error.to_string().contains("recursion limit exceeded");
    let envelope = format!(r#"{{"type":1,"shop_id":"1","timestamp":1,"data":{deep}}}"#);
    let signed = signature("k", "s", envelope.as_bytes());
    assert!(limited(
        &parse("k", "s", envelope.as_bytes(), Some(&signed)).unwrap_err()
    ));
    let settings_change = format!(r#"{{"inventory":{deep}}}"#);
    let refused = serde_json::from_str::<serde_json::Map<String, Value>>(&settings_change).unwrap_err();
    assert!(limited(&refused), "the settings API body: {refused}");
    let delivery = format!(r#"{{"scope":"store/product/updated","producer":"stores/abc123","data":{deep}}}"#);
    let headers = vec![(SECRET_HEADER.to_lowercase(), "store-secret".to_string())];
    let refused = bigcommerce()
        .parse_webhook(&headers, delivery.as_bytes(), "store-secret")
        .unwrap_err();
    assert!(limited(&refused), "{refused}");
    let claims = format!(r#"{{"aud":{deep}}}"#);
    let token = signed_jwt(claims.as_bytes());
    assert!(verify_signed_payload_jwt(&token, "client-id", "secret", 0).is_err());
}

#[test]
fn a_16_mb_body_is_checked_and_refused_as_the_wrong_shape() {
    // 16 MB of whitespace and one number: signed, it parses in one pass to a number,
    // not an envelope; unsigned, it is refused before parsing.
    let mut large = vec![b' '; 16 * 1024 * 1024];
    large.push(b'1');
    let signed = signature("k", "s", &large);
    assert!(matches!(
        parse("k", "s", &large, Some(&signed)),
        Err(WebhookError::Malformed(_))
    ));
    assert!(matches!(
        parse("k", "s", &large, Some("00")),
        Err(WebhookError::InvalidSignature)
    ));
}
