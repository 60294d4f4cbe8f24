//! Webhook intake: verify, de-duplicate, answer at once, and hand the work to a queue.
//! A bad signature gets 401 and changes nothing; a duplicate delivery gets 200 and
//! changes nothing; a failure to record or enqueue gets 500 so the sender retries.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{Failure, store_platform};
use crate::accounts::{self, StoreStatus};
use crate::app::App;
use crate::queue::{Job, JobKind};
use crate::storage::idempotency::{self, Once, OnceError};
use crate::storage::unix_now;

use crate::tiktok::webhook::{WebhookError, check_fresh, parse};

/// How long a TikTok notification stays de-duplicated (its `tts_notification_id` is
/// unique per notification, so a long window drops nothing real).
const TIKTOK_DEDUP_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long one intake may hold a delivery before another may take it over.
const LEASE: Duration = Duration::from_secs(30);

/// Runs `work` once per delivery key within `ttl`: duplicates are acknowledged without effect.
async fn once<F, Fut>(app: &App, scope: &str, key: &str, ttl: Duration, work: F) -> Response
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), Failure>>,
{
    match idempotency::once(app.table.as_ref(), scope, key, LEASE, ttl, work).await {
        Ok(Once::Ran) => StatusCode::OK.into_response(),
        Ok(Once::Duplicate) => {
            tracing::info!(scope, key, "duplicate delivery acknowledged");
            StatusCode::OK.into_response()
        }
        Err(OnceError::Storage(error)) => Failure::from(error).into_response(),
        Err(OnceError::Work(failure)) => failure.into_response(),
    }
}

async fn enqueue(app: &App, job: Job) -> Result<(), Failure> {
    app.queue_for(job.kind).send(&[job], Duration::ZERO).await.map_err(|e| {
        tracing::error!(%e, "enqueue failed");
        Failure::Internal("The event could not be queued; it will be delivered again.".into())
    })
}

/// `POST /webhooks/tiktok`.
pub async fn tiktok(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    let notification = match parse(
        &app.secrets.tiktok_app_key,
        app.secrets.tiktok_app_secret.expose(),
        &body,
        authorization,
    ) {
        Ok(notification) => notification,
        Err(WebhookError::InvalidSignature) => {
            tracing::warn!("TikTok webhook with a bad signature refused");
            return StatusCode::UNAUTHORIZED.into_response();
        }
        Err(error) => return Failure::BadRequest(error.to_string()).into_response(),
    };
    if let Err(stale) = check_fresh(&notification, unix_now()) {
        tracing::warn!(shop = %notification.shop_id, topic = notification.topic, %stale, "TikTok webhook outside its time window refused");
        return Failure::BadRequest(stale.to_string()).into_response();
    }
    let key = notification
        .tts_notification_id
        .as_ref()
        .map_or_else(|| crate::crypto::sha256_hex(&body), |id| id.to_string());
    let shop_id = notification.shop_id.to_string();
    once(&app, "tiktok-webhook", &key, TIKTOK_DEDUP_TTL, || async {
        let Some(store_id) = accounts::store_of_shop(app.table.as_ref(), &shop_id).await? else {
            tracing::warn!(shop = %shop_id, topic = notification.topic, "webhook for a shop no store has connected; ignored");
            return Ok(());
        };
        app.webhooks_noted.note(app.table.as_ref(), &store_id, &shop_id, unix_now()).await?;
        let data = &notification.data;
        match notification.topic {
            6 => {
                accounts::flag_shop(app.table.as_ref(), &store_id, &shop_id, "The seller removed the app's access in TikTok Seller Center. Re-authorize to resume syncing.").await?;
            }
            7 => {
                if let Some(mut shop) = accounts::get_shop(app.table.as_ref(), &store_id, &shop_id).await? {
                    let expires = data["expiration_time"].as_str().and_then(|t| t.parse().ok()).or_else(|| data["expiration_time"].as_i64());
                    shop.authorization_expires_at = expires;
                    shop.attention = Some("TikTok's authorization for this shop expires soon. Re-authorize it to avoid an interruption.".into());
                    accounts::save_shop(app.table.as_ref(), &shop).await?;
                }
            }
            11 | 12 => {
                // Ids may come as JSON numbers (§4.4).
                let order_id = match &data["order_id"] {
                    serde_json::Value::Number(n) => n.to_string(),
                    other => other.as_str().unwrap_or_default().to_string(),
                };
                let job = Job::new(JobKind::AfterSale, &store_id, &key, serde_json::json!({"topic": notification.topic, "source": "webhook", "data": data}))
                    .for_shop(&shop_id)
                    .in_group(crate::orders::order_group(&shop_id, &order_id));
                enqueue(&app, job).await?;
            }
            1 | 3 | 4 => {
                let mut job = Job::new(JobKind::SyncOrder, &store_id, &key, serde_json::json!({"topic": notification.topic, "data": data})).for_shop(&shop_id);
                if let Some(order_id) = data["order_id"].as_str() {
                    job = job.in_group(crate::orders::order_group(&shop_id, order_id));
                }
                enqueue(&app, job).await?;
            }
            5 | 15 | 16 | 37 => {
                let job = Job::new(JobKind::ProductStatus, &store_id, &key, serde_json::json!({"topic": notification.topic, "data": data})).for_shop(&shop_id);
                enqueue(&app, job).await?;
            }
            other => tracing::info!(topic = other, "TikTok webhook topic not used by the connector; acknowledged"),
        }
        Ok(())
    })
    .await
}

/// `POST /webhooks/bigcommerce`.
pub async fn bigcommerce(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let producer = serde_json::from_slice::<serde_json::Value>(&body).ok().and_then(|v| {
        v["producer"]
            .as_str()
            .and_then(|p| p.strip_prefix("stores/"))
            .map(|hash| crate::store::tenant_id(crate::store::Platform::BigCommerce, hash))
    });
    let Some(store_id) = producer else {
        return Failure::BadRequest("The delivery has no producer store.".into()).into_response();
    };
    let store = match accounts::get_store(app.table.as_ref(), &store_id).await {
        Ok(Some(store)) if store.status == StoreStatus::Installed => store,
        Ok(_) => {
            tracing::info!(store = %store_id, "delivery for a store that is not installed; ignored");
            return StatusCode::OK.into_response();
        }
        Err(error) => return Failure::from(error).into_response(),
    };
    let (Ok(platform), Some(secret)) = (
        store_platform(&app, &store),
        store.webhook_secret(&app.secrets.token_cipher),
    ) else {
        return Failure::Internal("The store's webhook secret is unreadable.".into()).into_response();
    };
    let header_list: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
        .collect();
    let delivery = match platform.parse_webhook(&header_list, &body, secret.expose()) {
        Ok(delivery) => delivery,
        Err(error) => {
            tracing::warn!(store = %store_id, %error, "BigCommerce delivery refused");
            return StatusCode::UNAUTHORIZED.into_response();
        }
    };
    match crate::changes::accept(&app, &store, &delivery, "bigcommerce-webhook").await {
        Ok(Once::Ran) => StatusCode::OK.into_response(),
        Ok(Once::Duplicate) => {
            tracing::info!(store = %store_id, key = %delivery.dedupe_key, "duplicate delivery acknowledged");
            StatusCode::OK.into_response()
        }
        Err(error) => {
            tracing::error!(store = %store_id, %error, "store change not handled; the platform delivers it again");
            Failure::Internal("The change could not be handled; it will be delivered again.".into()).into_response()
        }
    }
}
