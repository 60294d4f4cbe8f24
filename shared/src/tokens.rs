//! The shops' TikTok tokens, sealed in the table, and the keeper the TikTok client asks
//! for fresh ones: each authorization is refreshed once, whichever worker (or Lambda
//! instance) notices the expiry first, and saved on every shop it covers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::accounts::{self, ShopRecord};
use crate::crypto::{SecretString, TokenCipher};
use crate::storage::{StorageError, Table, idempotency};
use crate::tiktok::{TikTokError, TokenKeeper, Tokens};

/// The authorization a shop's tokens belong to: one seller (open id) of one store; it
/// may cover several shops.
pub fn owner_of(shop: &ShopRecord) -> String {
    format!("{}|{}", shop.store_id, shop.open_id)
}

/// Saves refreshed tokens on every shop of the authorization, re-reading each shop
/// so a concurrent change is not lost.
async fn persist(
    table: &dyn Table,
    cipher: &TokenCipher,
    store_id: &str,
    open_id: &str,
    tokens: &Tokens,
) -> Result<(), StorageError> {
    for shop in accounts::list_shops(table, store_id)
        .await?
        .into_iter()
        .filter(|s| s.open_id == open_id)
    {
        let mut saved = false;
        for _ in 0..3 {
            let Some(mut current) = accounts::get_shop(table, store_id, &shop.shop_id).await? else {
                break;
            };
            current.set_tokens(cipher, tokens);
            match accounts::save_shop(table, &current).await {
                Err(StorageError::ConditionFailed { .. }) => continue,
                other => {
                    other?;
                    saved = true;
                    break;
                }
            }
        }
        if !saved {
            return Err(StorageError::Unavailable(format!(
                "shop {} kept changing while saving its tokens",
                shop.shop_id
            )));
        }
    }
    Ok(())
}

/// Keeps shop tokens in the table and refreshes each authorization once, whichever
/// worker (or instance) notices the expiry first; the others get its tokens.
pub struct StoredTokens {
    table: Arc<dyn Table>,
    cipher: TokenCipher,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl StoredTokens {
    /// A keeper over `table`, sealing with `cipher`.
    pub fn new(table: Arc<dyn Table>, cipher: TokenCipher) -> Self {
        Self {
            table,
            cipher,
            locks: Mutex::default(),
        }
    }

    /// The tokens stored for an authorization.
    async fn stored(&self, store_id: &str, open_id: &str) -> Result<Option<Tokens>, StorageError> {
        let shops = accounts::list_shops(self.table.as_ref(), store_id).await?;
        Ok(shops
            .iter()
            .filter(|s| s.open_id == open_id)
            .find_map(|s| s.tokens(&self.cipher)))
    }
}

fn unavailable(error: impl std::fmt::Display) -> TikTokError {
    TikTokError::Retryable {
        code: 0,
        message: format!("token store: {error}"),
        request_id: String::new(),
    }
}

#[async_trait::async_trait]
impl TokenKeeper for StoredTokens {
    async fn refresh(
        &self,
        client: &crate::tiktok::Client,
        owner: &str,
        stale: &SecretString,
    ) -> Result<Tokens, TikTokError> {
        let (store_id, open_id) = owner.split_once('|').unwrap_or((owner, ""));
        let lock = self
            .locks
            .lock()
            .expect("keeper locks")
            .entry(owner.to_string())
            .or_default()
            .clone();
        let _single_flight = lock.lock().await;
        let key = crate::crypto::sha256_hex(stale.expose().as_bytes());
        for _ in 0..50 {
            let current = self
                .stored(store_id, open_id)
                .await
                .map_err(unavailable)?
                .ok_or_else(|| unavailable("the authorization has no tokens"))?;
            if current.access_token != *stale {
                return Ok(current);
            }
            match idempotency::claim(
                self.table.as_ref(),
                "token-refresh",
                &key,
                Duration::from_secs(30),
                Duration::from_secs(3600),
            )
            .await
            .map_err(unavailable)?
            {
                idempotency::Claim::Acquired => {
                    let refreshed = client.refresh_token(current.refresh_token.expose()).await;
                    let tokens = match refreshed {
                        Ok(granted) => Tokens::from(&granted),
                        Err(error) => {
                            idempotency::release(self.table.as_ref(), "token-refresh", &key)
                                .await
                                .map_err(unavailable)?;
                            return Err(error);
                        }
                    };
                    persist(self.table.as_ref(), &self.cipher, store_id, open_id, &tokens)
                        .await
                        .map_err(unavailable)?;
                    idempotency::complete(
                        self.table.as_ref(),
                        "token-refresh",
                        &key,
                        serde_json::json!({}),
                        Duration::from_secs(3600),
                    )
                    .await
                    .map_err(unavailable)?;
                    tracing::info!(owner, "refreshed TikTok tokens");
                    return Ok(tokens);
                }
                // Another worker is refreshing (or just did): wait for its tokens.
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        Err(unavailable("another worker's token refresh did not finish"))
    }
}
