//! One running connector: its table, queues, secrets, endpoints and API clients,
//! built once per cold start (Lambda) or once per process (local runner) and shared by
//! every handler.

use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, ConfigError, Endpoints};
use crate::mail::{Mailer, SesMailer};
use crate::queue::JobQueue;
use crate::queue::sqs::SqsQueue;
use crate::secrets::AppSecrets;
use crate::storage::Table;
use crate::storage::dynamodb::DynamoTable;
use crate::tiktok;

/// The connector's parts, shared by all handlers.
pub struct App {
    /// The single table.
    pub table: Arc<dyn Table>,
    /// Catalogue work (imports, uploads, price and stock).
    pub product_queue: Arc<dyn JobQueue>,
    /// Order work, on its own queue so bulk catalogue work never delays an order.
    pub order_queue: Arc<dyn JobQueue>,
    /// Where catalogue jobs go after failing every receive (drained by the sweeper).
    pub product_dead_letters: Arc<dyn JobQueue>,
    /// Where order jobs go after failing every receive (drained by the sweeper).
    pub order_dead_letters: Arc<dyn JobQueue>,
    /// Application secrets.
    pub secrets: AppSecrets,
    /// Public base URL of the HTTP API.
    pub public_url: String,
    /// External hosts.
    pub endpoints: Endpoints,
    /// The TikTok client (one limiter per process).
    pub tiktok: tiktok::Client,
    /// Plain HTTP client (OAuth exchanges, image downloads).
    pub http: reqwest::Client,
    /// Keeps TikTok tokens in the table and refreshes them single-flight.
    pub token_keeper: Arc<crate::tokens::StoredTokens>,
    /// Sends the owner's notice e-mails (SES in AWS).
    pub mailer: Arc<dyn Mailer>,
    /// Shops whose last webhook this process wrote lately.
    pub webhooks_noted: crate::accounts::WebhooksNoted,
}

/// AWS SDK configuration from the environment (`AWS_ENDPOINT_URL` points it at an emulator).
pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// The parts an [`App`] is assembled from.
pub struct Parts {
    /// Table.
    pub table: Arc<dyn Table>,
    /// Catalogue queue.
    pub product_queue: Arc<dyn JobQueue>,
    /// Order queue.
    pub order_queue: Arc<dyn JobQueue>,
    /// Catalogue dead-letter queue.
    pub product_dead_letters: Arc<dyn JobQueue>,
    /// Order dead-letter queue.
    pub order_dead_letters: Arc<dyn JobQueue>,
    /// Secrets.
    pub secrets: AppSecrets,
    /// Public base URL.
    pub public_url: String,
    /// External hosts.
    pub endpoints: Endpoints,
    /// Mailer of the notice e-mails ([`crate::mail::SesMailer`] in AWS,
    /// [`crate::mail::LogMailer`] without SES).
    pub mailer: Arc<dyn Mailer>,
}

impl App {
    /// Builds the API clients around the parts.
    pub fn assemble(parts: Parts) -> Result<Arc<Self>, ConfigError> {
        let mut tiktok_config =
            tiktok::ClientConfig::new(&parts.secrets.tiktok_app_key, parts.secrets.tiktok_app_secret.clone());
        tiktok_config.api_base = parts.endpoints.tiktok_api.clone();
        tiktok_config.auth_base = parts.endpoints.tiktok_auth.clone();
        // Lambda scales out: every instance draws TikTok slots from one budget in the table.
        let budget = Arc::new(tiktok::limiter::SharedBudget::new(
            parts.table.clone(),
            tiktok_config.requests_per_second,
        ));
        let tiktok =
            tiktok::Client::with_budget(tiktok_config, budget).map_err(|e| ConfigError::Unavailable(e.to_string()))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| ConfigError::Unavailable(e.to_string()))?;
        let token_keeper = Arc::new(crate::tokens::StoredTokens::new(
            parts.table.clone(),
            parts.secrets.token_cipher.clone(),
        ));
        Ok(Arc::new(Self {
            token_keeper,
            table: parts.table,
            product_queue: parts.product_queue,
            order_queue: parts.order_queue,
            product_dead_letters: parts.product_dead_letters,
            order_dead_letters: parts.order_dead_letters,
            secrets: parts.secrets,
            public_url: parts.public_url,
            endpoints: parts.endpoints,
            mailer: parts.mailer,
            webhooks_noted: crate::accounts::WebhooksNoted::default(),
            tiktok,
            http,
        }))
    }

    /// The work queue of a job kind: order work on the order queue, the rest on the
    /// catalogue queue.
    pub fn queue_for(&self, kind: crate::queue::JobKind) -> &dyn JobQueue {
        use crate::queue::JobKind::{AfterSale, PushShipment, StoreOrderStatus, SyncOrder, SyncOrderRange};
        match kind {
            // After-sales jobs share their order's FIFO group: never beside its other jobs.
            SyncOrder | PushShipment | StoreOrderStatus | AfterSale | SyncOrderRange => self.order_queue.as_ref(),
            _ => self.product_queue.as_ref(),
        }
    }

    /// The production wiring: DynamoDB, SQS, SES (sender `NOTICE_FROM_EMAIL`) and
    /// secrets named by the environment.
    pub async fn from_env() -> Result<Arc<Self>, ConfigError> {
        let config = Config::from_env()?;
        let sdk = aws_config().await;
        let secrets = AppSecrets::load(&sdk).await?;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        Self::assemble(Parts {
            table: Arc::new(DynamoTable::new(aws_sdk_dynamodb::Client::new(&sdk), config.table_name)),
            product_queue: Arc::new(SqsQueue::at_url(sqs.clone(), &config.product_queue_url)),
            order_queue: Arc::new(SqsQueue::at_url(sqs.clone(), &config.order_queue_url)),
            product_dead_letters: Arc::new(SqsQueue::at_url(sqs.clone(), &config.product_dead_letters)),
            order_dead_letters: Arc::new(SqsQueue::at_url(sqs.clone(), &config.order_dead_letters)),
            secrets,
            public_url: config.public_url,
            endpoints: config.endpoints,
            mailer: Arc::new(SesMailer::new(
                aws_sdk_sesv2::Client::new(&sdk),
                crate::mail::sender_from_env(),
            )),
        })
    }
}
