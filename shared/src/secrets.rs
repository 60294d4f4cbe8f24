//! Application secrets, read once per cold start: from one Secrets Manager secret
//! (a JSON object) when `APP_SECRET_ID` is set, else from the environment (local
//! runs). Both sources use the same names, listed in [`SECRET_NAMES`].

use aws_sdk_secretsmanager::error::DisplayErrorContext;

use crate::config::{ConfigError, required};
/// The secret wrapper, where the secrets are read.
pub use crate::crypto::SecretString;
use crate::crypto::TokenCipher;

/// Environment variable naming the Secrets Manager secret (id or ARN).
pub const SECRET_ID_VAR: &str = "APP_SECRET_ID";

/// The names of the secret values, as JSON keys of the secret and as environment variables.
pub const SECRET_NAMES: [&str; 7] = [
    "TIKTOK_APP_KEY",
    "TIKTOK_APP_SECRET",
    "TIKTOK_SERVICE_ID",
    "BIGCOMMERCE_CLIENT_ID",
    "BIGCOMMERCE_CLIENT_SECRET",
    "BIGCOMMERCE_APP_ID",
    "TOKEN_KEYS",
];

/// The connector's application-level secrets.
#[derive(Debug, Clone)]
pub struct AppSecrets {
    /// TikTok app key (public identifier, sent in every request).
    pub tiktok_app_key: String,
    /// TikTok app secret (signs requests, verifies webhooks).
    pub tiktok_app_secret: SecretString,
    /// TikTok service id (authorization links).
    pub tiktok_service_id: String,
    /// BigCommerce app client id (JWT audience).
    pub bigcommerce_client_id: String,
    /// BigCommerce app client secret (JWT key, token exchange, webhook signatures of
    /// app-installed stores).
    pub bigcommerce_client_secret: SecretString,
    /// BigCommerce app id (Developer Portal), written to `external_source` of every
    /// store order the connector creates, as BigCommerce asks of marketplace apps
    /// (Orders v2 `external_source`, `store-platforms-api.md` §1.11). Not secret.
    pub bigcommerce_app_id: String,
    /// Keyring sealing stored tokens (`TOKEN_KEYS` = `id:base64key,...`, first current).
    pub token_cipher: TokenCipher,
}

impl AppSecrets {
    /// Builds the secrets from a name → value look-up; `source` names it in errors.
    pub fn from_lookup(source: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| required(&lookup, source, name);
        let token_cipher = TokenCipher::from_spec(&get("TOKEN_KEYS")?).map_err(|e| ConfigError::Invalid {
            name: "TOKEN_KEYS",
            reason: e.to_string(),
        })?;
        Ok(Self {
            tiktok_app_key: get("TIKTOK_APP_KEY")?,
            tiktok_app_secret: SecretString::new(get("TIKTOK_APP_SECRET")?),
            tiktok_service_id: get("TIKTOK_SERVICE_ID")?,
            bigcommerce_client_id: get("BIGCOMMERCE_CLIENT_ID")?,
            bigcommerce_client_secret: SecretString::new(get("BIGCOMMERCE_CLIENT_SECRET")?),
            bigcommerce_app_id: get("BIGCOMMERCE_APP_ID")?,
            token_cipher,
        })
    }

    /// Reads the secrets from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup("the environment", |name| std::env::var(name).ok())
    }

    /// Reads the secrets from one Secrets Manager secret holding a JSON object.
    pub async fn from_secrets_manager(
        client: &aws_sdk_secretsmanager::Client,
        secret_id: &str,
    ) -> Result<Self, ConfigError> {
        let output = client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| {
                let reason = match e.as_service_error() {
                    Some(service) if service.is_resource_not_found_exception() => "no such secret".to_string(),
                    _ => DisplayErrorContext(&e).to_string(),
                };
                ConfigError::Unavailable(format!("secret {secret_id}: {reason}"))
            })?;
        let text = output.secret_string().unwrap_or_default();
        let values: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|e| ConfigError::Invalid {
                name: SECRET_ID_VAR,
                reason: format!("secret {secret_id} is not a JSON object: {e}"),
            })?;
        Self::from_lookup(&format!("secret {secret_id}"), |name| {
            values.get(name).and_then(|v| v.as_str()).map(str::to_string)
        })
    }

    /// Secrets Manager when `APP_SECRET_ID` is set, else the environment.
    pub async fn load(sdk_config: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        match std::env::var(SECRET_ID_VAR) {
            Ok(secret_id) if !secret_id.is_empty() => {
                let client = aws_sdk_secretsmanager::Client::new(sdk_config);
                Self::from_secrets_manager(&client, &secret_id).await
            }
            _ => Self::from_env(),
        }
    }
}
