//! Secrets from Secrets Manager (the emulator) and from the environment, and
//! configuration errors that name what is missing.

mod common;

use connector::config::{Config, ConfigError};
use connector::crypto::TokenCipher;
use connector::secrets::{AppSecrets, SECRET_NAMES};
use serde_json::json;

fn complete_values() -> serde_json::Map<String, serde_json::Value> {
    let mut values = serde_json::Map::new();
    for name in SECRET_NAMES {
        values.insert(name.to_string(), json!(format!("value-of-{name}")));
    }
    values.insert("TOKEN_KEYS".into(), json!(TokenCipher::generate_spec("k1")));
    values
}

async fn create_secret(client: &aws_sdk_secretsmanager::Client, value: &str) -> String {
    let name = common::unique("connector-app");
    client
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .unwrap();
    name
}

#[tokio::test]
async fn secrets_manager_secret_yields_every_app_secret() {
    let Some(sdk) = common::emulator().await else { return };
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let secret_id = create_secret(&client, &serde_json::Value::Object(complete_values()).to_string()).await;
    let secrets = AppSecrets::from_secrets_manager(&client, &secret_id).await.unwrap();
    assert_eq!(secrets.tiktok_app_key, "value-of-TIKTOK_APP_KEY");
    assert_eq!(secrets.tiktok_app_secret.expose(), "value-of-TIKTOK_APP_SECRET");
    assert_eq!(
        secrets.bigcommerce_client_secret.expose(),
        "value-of-BIGCOMMERCE_CLIENT_SECRET"
    );
    let sealed = secrets.token_cipher.seal("token", "ctx");
    assert_eq!(secrets.token_cipher.open(&sealed, "ctx").unwrap().expose(), "token");
}

#[tokio::test]
async fn a_secret_missing_a_value_names_the_value_and_the_secret() {
    let Some(sdk) = common::emulator().await else { return };
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let mut values = complete_values();
    values.remove("TIKTOK_APP_SECRET");
    let secret_id = create_secret(&client, &serde_json::Value::Object(values).to_string()).await;
    let error = AppSecrets::from_secrets_manager(&client, &secret_id).await.unwrap_err();
    assert!(
        matches!(
            error,
            ConfigError::Missing {
                name: "TIKTOK_APP_SECRET",
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains(&secret_id), "{error}");
}

#[tokio::test]
async fn an_unknown_or_malformed_secret_is_a_clear_error() {
    let Some(sdk) = common::emulator().await else { return };
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let error = AppSecrets::from_secrets_manager(&client, "no-such-secret")
        .await
        .unwrap_err();
    assert!(
        matches!(error, ConfigError::Unavailable(ref m) if m.contains("no such secret")),
        "{error}"
    );
    let secret_id = create_secret(&client, "not json").await;
    let error = AppSecrets::from_secrets_manager(&client, &secret_id).await.unwrap_err();
    assert!(matches!(error, ConfigError::Invalid { .. }), "{error}");
}

#[test]
fn environment_fallback_reads_the_same_names_and_rejects_a_bad_keyring() {
    let values = complete_values();
    let lookup = |name: &str| values.get(name).and_then(|v| v.as_str()).map(str::to_string);
    let secrets = AppSecrets::from_lookup("the environment", lookup).unwrap();
    assert_eq!(secrets.tiktok_service_id, "value-of-TIKTOK_SERVICE_ID");
    let error = AppSecrets::from_lookup("the environment", |name| {
        if name == "TOKEN_KEYS" {
            Some("k1:short".into())
        } else {
            lookup(name)
        }
    })
    .unwrap_err();
    assert!(
        matches!(error, ConfigError::Invalid { name: "TOKEN_KEYS", .. }),
        "{error}"
    );
}

#[test]
fn config_names_the_missing_variable() {
    let all = [
        ("TABLE_NAME", "t"),
        ("PRODUCT_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/1/p"),
        ("ORDER_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/1/o.fifo"),
        ("PRODUCT_DLQ_URL", "https://sqs.us-east-1.amazonaws.com/1/p-dlq"),
        ("ORDER_DLQ_URL", "https://sqs.us-east-1.amazonaws.com/1/o-dlq.fifo"),
        ("PUBLIC_URL", "https://x.example/"),
    ];
    let config = Config::from_lookup(|name| all.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())).unwrap();
    assert_eq!(config.public_url, "https://x.example");
    for (missing, _) in all {
        let error = Config::from_lookup(|name| {
            all.iter()
                .find(|(n, _)| *n == name && *n != missing)
                .map(|(_, v)| v.to_string())
        })
        .unwrap_err();
        assert!(error.to_string().contains(missing), "{error}");
    }
    let error = Config::from_lookup(|name| {
        if name == "PUBLIC_URL" {
            Some("ftp://x".into())
        } else {
            Some("v".into())
        }
    })
    .unwrap_err();
    assert!(matches!(error, ConfigError::Invalid { name: "PUBLIC_URL", .. }));
}
