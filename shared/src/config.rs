//! Configuration from the environment, read once per cold start. A missing or bad
//! value is an error that names the variable.

/// Why configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required value is absent.
    #[error("missing configuration value {name} (looked in {origin})")]
    Missing { name: &'static str, origin: String },
    /// A value is present but unusable.
    #[error("invalid configuration value {name}: {reason}")]
    Invalid { name: &'static str, reason: String },
    /// A configuration source (e.g. Secrets Manager) could not be read.
    #[error("configuration source unavailable: {0}")]
    Unavailable(String),
}

/// A required value from `lookup`, which reads `origin` (named in the error); blank
/// counts as missing.
pub fn required(
    lookup: &impl Fn(&str) -> Option<String>,
    origin: &str,
    name: &'static str,
) -> Result<String, ConfigError> {
    lookup(name)
        .filter(|value| !value.trim().is_empty())
        .ok_or_else(|| ConfigError::Missing {
            name,
            origin: origin.to_string(),
        })
}

const ENVIRONMENT: &str = "the environment";

/// Where the connector reaches TikTok and the stores (production unless overridden,
/// e.g. by the local runner's sandboxes).
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// TikTok Open API (`TIKTOK_API_URL`).
    pub tiktok_api: String,
    /// TikTok token host (`TIKTOK_AUTH_URL`).
    pub tiktok_auth: String,
    /// Seller authorization page (`TIKTOK_AUTHORIZE_URL`; US apps use the link from Partner Center).
    pub tiktok_authorize: String,
    /// BigCommerce API host (`BIGCOMMERCE_API_URL`).
    pub bigcommerce_api: String,
    /// BigCommerce OAuth host (`BIGCOMMERCE_LOGIN_URL`).
    pub bigcommerce_login: String,
    /// The store control panels allowed to frame the app's pages, as CSP
    /// `frame-ancestors` sources separated by spaces (`CONTROL_PANEL_ORIGINS`; default
    /// [`BIGCOMMERCE_CONTROL_PANELS`]).
    pub control_panels: String,
}

/// Where BigCommerce's control panel frames apps (`store-<hash>.mybigcommerce.com` and
/// the login hosts).
pub const BIGCOMMERCE_CONTROL_PANELS: &str = "https://*.bigcommerce.com https://*.mybigcommerce.com";

impl Endpoints {
    /// Production hosts, each overridable through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str, default: &str| {
            lookup(name)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_string())
        };
        Self {
            tiktok_api: get("TIKTOK_API_URL", crate::tiktok::client::PRODUCTION_API),
            tiktok_auth: get("TIKTOK_AUTH_URL", crate::tiktok::client::PRODUCTION_AUTH),
            tiktok_authorize: get("TIKTOK_AUTHORIZE_URL", "https://services.tiktokshop.com/open/authorize"),
            bigcommerce_api: get("BIGCOMMERCE_API_URL", crate::store::bigcommerce::client::PRODUCTION_API),
            bigcommerce_login: get("BIGCOMMERCE_LOGIN_URL", crate::store::bigcommerce::PRODUCTION_LOGIN),
            control_panels: get("CONTROL_PANEL_ORIGINS", BIGCOMMERCE_CONTROL_PANELS),
        }
    }
}

/// Where the connector's data and work live in the cloud.
#[derive(Debug, Clone)]
pub struct Config {
    /// DynamoDB table (`TABLE_NAME`).
    pub table_name: String,
    /// Catalogue work queue, by URL (`PRODUCT_QUEUE_URL`): opened without a call, so a
    /// cold start makes no `GetQueueUrl` (which a send-only policy may not grant).
    pub product_queue_url: String,
    /// Order work queue, by URL (`ORDER_QUEUE_URL`; FIFO, its name ends in `.fifo`).
    pub order_queue_url: String,
    /// Dead-letter queue of the catalogue queue, by URL (`PRODUCT_DLQ_URL`).
    pub product_dead_letters: String,
    /// Dead-letter queue of the order queue, by URL (`ORDER_DLQ_URL`).
    pub order_dead_letters: String,
    /// Public base URL of the HTTP API, for callbacks and links (`PUBLIC_URL`).
    pub public_url: String,
    /// External hosts.
    pub endpoints: Endpoints,
}

impl Config {
    /// Reads every value from the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads every value through `lookup` (name → value).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let public_url = required(&lookup, ENVIRONMENT, "PUBLIC_URL")?;
        if !public_url.starts_with("http://") && !public_url.starts_with("https://") {
            return Err(ConfigError::Invalid {
                name: "PUBLIC_URL",
                reason: "must start with http:// or https://".into(),
            });
        }
        Ok(Self {
            table_name: required(&lookup, ENVIRONMENT, "TABLE_NAME")?,
            product_queue_url: required(&lookup, ENVIRONMENT, "PRODUCT_QUEUE_URL")?,
            order_queue_url: required(&lookup, ENVIRONMENT, "ORDER_QUEUE_URL")?,
            product_dead_letters: required(&lookup, ENVIRONMENT, "PRODUCT_DLQ_URL")?,
            order_dead_letters: required(&lookup, ENVIRONMENT, "ORDER_DLQ_URL")?,
            public_url: public_url.trim_end_matches('/').to_string(),
            endpoints: Endpoints::from_lookup(&lookup),
        })
    }
}
