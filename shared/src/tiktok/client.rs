//! The TikTok Shop Open API client. Every request is signed over the exact bytes it
//! sends, paced by a per-(shop, endpoint) limiter, retried with jittered back-off on
//! rate limits and temporary failures, and refreshed once (single-flight per grant)
//! when TikTok says the access token expired.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{Envelope, ItemError, TikTokError, retry_delay};
use super::limiter::{RateBudget, RateLimiter};
use super::model::*;
use super::signing::sign;
use super::types::Id;
use crate::crypto::SecretString;
use crate::storage::unix_now;

/// Production API host.
pub const PRODUCTION_API: &str = "https://open-api.tiktokglobalshop.com";
/// Production token host.
pub const PRODUCTION_AUTH: &str = "https://auth.tiktok-shops.com";

/// How the client reaches TikTok; built once per cold start.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Open API base URL (the sandbox's in tests).
    pub api_base: String,
    /// Token endpoint base URL.
    pub auth_base: String,
    /// App key.
    pub app_key: String,
    /// App secret.
    pub app_secret: SecretString,
    /// Requests per second per (shop, endpoint); TikTok allows 50 in any one second, and
    /// 40 leaves room for requests a network or scheduling delay bunches up (at 45 a
    /// loaded machine met 429s).
    pub requests_per_second: u32,
    /// Attempts per call for retryable failures.
    pub max_attempts: u32,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl ClientConfig {
    /// Production hosts, 40 requests per second, 4 attempts, 15 s timeout.
    pub fn new(app_key: impl Into<String>, app_secret: SecretString) -> Self {
        Self {
            api_base: PRODUCTION_API.into(),
            auth_base: PRODUCTION_AUTH.into(),
            app_key: app_key.into(),
            app_secret,
            requests_per_second: 40,
            max_attempts: 4,
            timeout: Duration::from_secs(15),
        }
    }
}

/// Tokens of one authorization.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// Access token.
    pub access_token: SecretString,
    /// Its expiry (Unix seconds).
    pub access_expires_at: i64,
    /// Refresh token.
    pub refresh_token: SecretString,
    /// Its expiry (Unix seconds).
    pub refresh_expires_at: i64,
}

impl From<&TokenGrant> for Tokens {
    fn from(grant: &TokenGrant) -> Self {
        Self {
            access_token: SecretString::new(grant.access_token.clone()),
            access_expires_at: grant.access_token_expire_in,
            refresh_token: SecretString::new(grant.refresh_token.clone()),
            refresh_expires_at: grant.refresh_token_expire_in,
        }
    }
}

/// One seller authorization (possibly several shops) and its current tokens.
pub struct Grant {
    tokens: RwLock<Tokens>,
    refresh_lock: tokio::sync::Mutex<()>,
    /// Who keeps these tokens beyond this object (see [`TokenKeeper`]).
    keeper: Option<(Arc<dyn TokenKeeper>, String)>,
}

/// Keeps an authorization's tokens where every worker finds them. TikTok rotates the
/// refresh token on each refresh, so two workers refreshing the same authorization
/// at once would lock one of them out: the keeper makes the refresh single-flight
/// across workers and hands everyone the tokens of the one refresh.
#[async_trait::async_trait]
pub trait TokenKeeper: Send + Sync {
    /// Fresh tokens for the authorization `owner`, whose access token `stale` expired.
    async fn refresh(&self, client: &Client, owner: &str, stale: &SecretString) -> Result<Tokens, TikTokError>;
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("owner", &self.keeper.as_ref().map(|(_, owner)| owner))
            .finish_non_exhaustive()
    }
}

impl Grant {
    /// A grant holding `tokens`.
    pub fn new(tokens: Tokens) -> Arc<Self> {
        Self::with_keeper(tokens, None)
    }

    /// A grant whose refreshes go through `keeper` for the authorization `owner`.
    pub fn kept(tokens: Tokens, keeper: Arc<dyn TokenKeeper>, owner: impl Into<String>) -> Arc<Self> {
        Self::with_keeper(tokens, Some((keeper, owner.into())))
    }

    fn with_keeper(tokens: Tokens, keeper: Option<(Arc<dyn TokenKeeper>, String)>) -> Arc<Self> {
        Arc::new(Self {
            tokens: RwLock::new(tokens),
            refresh_lock: tokio::sync::Mutex::new(()),
            keeper,
        })
    }

    /// The current tokens (to persist after a refresh).
    pub fn tokens(&self) -> Tokens {
        self.tokens.read().expect("token lock").clone()
    }

    fn access_token(&self) -> SecretString {
        self.tokens.read().expect("token lock").access_token.clone()
    }
}

/// What a shop-scoped call needs: the shop, its cipher and its authorization.
#[derive(Debug, Clone)]
pub struct ShopAuth {
    /// Shop id.
    pub shop_id: String,
    /// `shop_cipher`.
    pub cipher: String,
    /// The authorization.
    pub grant: Arc<Grant>,
}

/// Who a call acts for: the authorization alone (no `shop_cipher`) or one shop.
#[derive(Clone, Copy)]
enum Target<'a> {
    Grant(&'a Grant),
    Shop(&'a ShopAuth),
}

impl Target<'_> {
    fn grant(&self) -> &Grant {
        match self {
            Target::Grant(grant) => grant,
            Target::Shop(shop) => &shop.grant,
        }
    }
}

/// The request body of one call.
enum Body {
    None,
    Json(Vec<u8>),
    /// A file upload: the file as `data`, plus text fields.
    Multipart {
        bytes: Vec<u8>,
        file_name: String,
        fields: Vec<(&'static str, String)>,
    },
}

/// One call, rebuilt into an HTTP request on every attempt.
struct Call<'a> {
    target: Target<'a>,
    method: Method,
    endpoint: &'static str,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Body,
}

/// The TikTok Shop client.
pub struct Client {
    http: reqwest::Client,
    config: ClientConfig,
    limiter: Arc<dyn RateBudget>,
}

fn json_body<B: Serialize>(body: &B) -> Body {
    Body::Json(serde_json::to_vec(body).expect("request bodies serialize"))
}

fn from_data<T: DeserializeOwned>(data: serde_json::Value) -> Result<T, TikTokError> {
    serde_json::from_value(data).map_err(|e| TikTokError::Malformed(e.to_string()))
}

/// Reads `data.<list>`, `data.next_page_token` and `data.total_count`.
fn page_from<T: DeserializeOwned>(mut data: serde_json::Value, list: &str) -> Result<Page<T>, TikTokError> {
    let items = from_data(
        data.get_mut(list)
            .map(serde_json::Value::take)
            .unwrap_or_else(|| serde_json::json!([])),
    )?;
    let next_page_token = data
        .get("next_page_token")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let total_count = data.get("total_count").and_then(|c| c.as_u64());
    Ok(Page {
        items,
        next_page_token,
        total_count,
    })
}

/// Reads `data.errors[]` of a batch answer.
fn item_errors(data: serde_json::Value) -> Result<Vec<ItemError>, TikTokError> {
    match data.get("errors") {
        Some(errors) => from_data(errors.clone()),
        None => Ok(Vec::new()),
    }
}

fn paging(page_size: u32, page_token: Option<&str>) -> Vec<(&'static str, String)> {
    let mut query = vec![("page_size", page_size.to_string())];
    if let Some(token) = page_token.filter(|t| !t.is_empty()) {
        query.push(("page_token", token.to_string()));
    }
    query
}

impl Client {
    /// A client pacing itself within this process.
    pub fn new(config: ClientConfig) -> Result<Self, TikTokError> {
        let limiter = Arc::new(RateLimiter::new(config.requests_per_second));
        Self::with_budget(config, limiter)
    }

    /// A client drawing its request slots from `budget` (e.g. a [`super::limiter::SharedBudget`]
    /// shared by every worker instance).
    pub fn with_budget(config: ClientConfig, budget: Arc<dyn RateBudget>) -> Result<Self, TikTokError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| TikTokError::Client(e.to_string()))?;
        Ok(Self {
            http,
            config,
            limiter: budget,
        })
    }

    /// Runs a call: limiter, signature, retries, one token refresh.
    async fn run(&self, call: Call<'_>) -> Result<serde_json::Value, TikTokError> {
        let limiter_key = match call.target {
            Target::Shop(shop) => format!("{}|{}", shop.shop_id, call.endpoint),
            Target::Grant(_) => format!("-|{}", call.endpoint),
        };
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.limiter.acquire(&limiter_key).await;
            let token = call.target.grant().access_token();
            match self.send(&call, &token).await {
                Ok(data) => return Ok(data),
                Err(TikTokError::TokenExpired { .. }) if !refreshed => {
                    refreshed = true;
                    self.refresh_grant(call.target.grant(), &token).await?;
                }
                Err(error) if error.is_retryable() && attempt < self.config.max_attempts => {
                    tracing::warn!(endpoint = call.endpoint, attempt, %error, "retrying TikTok call");
                    tokio::time::sleep(retry_delay(attempt)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// One signed HTTP exchange.
    async fn send(&self, call: &Call<'_>, token: &SecretString) -> Result<serde_json::Value, TikTokError> {
        let mut params: Vec<(&str, String)> = vec![
            ("app_key", self.config.app_key.clone()),
            ("timestamp", unix_now().to_string()),
        ];
        if let Target::Shop(shop) = call.target {
            params.push(("shop_cipher", shop.cipher.clone()));
        }
        params.extend(call.query.iter().cloned());
        let signed_body = match &call.body {
            Body::Json(bytes) => Some(bytes.as_slice()),
            Body::None | Body::Multipart { .. } => None,
        };
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let signature = sign(self.config.app_secret.expose(), &call.path, &pairs, signed_body);
        params.push(("sign", signature));
        let url = Url::parse_with_params(&format!("{}{}", self.config.api_base, call.path), &params)
            .map_err(|e| TikTokError::Client(e.to_string()))?;
        let request = self
            .http
            .request(call.method.clone(), url)
            .header("x-tts-access-token", token.expose());
        let request = match &call.body {
            Body::None => request.header(CONTENT_TYPE, "application/json"),
            Body::Json(bytes) => request.header(CONTENT_TYPE, "application/json").body(bytes.clone()),
            Body::Multipart {
                bytes,
                file_name,
                fields,
            } => {
                let part = reqwest::multipart::Part::bytes(bytes.clone()).file_name(file_name.clone());
                let form = fields.iter().fold(
                    reqwest::multipart::Form::new().part("data", part),
                    |form, (name, value)| form.text(*name, value.clone()),
                );
                request.multipart(form)
            }
        };
        let answer = self.exchange(request).await;
        crate::metrics::count(crate::metrics::Metric::TikTokApiCalls, None);
        if let (Err(TikTokError::RateLimited { .. }), Target::Shop(shop)) = (&answer, call.target) {
            crate::metrics::count(crate::metrics::Metric::TikTokRateLimited, Some(&shop.shop_id));
        }
        answer
    }

    /// Sends a request and reads the envelope; `data` on success, a typed error otherwise.
    async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<serde_json::Value, TikTokError> {
        // Without the URL: token calls carry the app secret in their query.
        let transport = |e: reqwest::Error| TikTokError::Retryable {
            code: 0,
            message: format!("transport: {}", e.without_url()),
            request_id: String::new(),
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(transport)?;
        let envelope = serde_json::from_slice::<Envelope>(&bytes).ok();
        match envelope {
            Some(envelope) if envelope.code == 0 && status < 400 => {
                Ok(envelope.data.unwrap_or_else(|| serde_json::json!({})))
            }
            other => Err(TikTokError::from_response(status, other)),
        }
    }

    /// Refreshes `grant` unless another caller already replaced `stale_token`.
    async fn refresh_grant(&self, grant: &Grant, stale_token: &SecretString) -> Result<(), TikTokError> {
        let _single_flight = grant.refresh_lock.lock().await;
        if grant.access_token() != *stale_token {
            return Ok(());
        }
        let fresh = match &grant.keeper {
            Some((keeper, owner)) => keeper.refresh(self, owner, stale_token).await?,
            None => {
                let granted = self.refresh_token(grant.tokens().refresh_token.expose()).await?;
                tracing::info!(grant = ?granted, "refreshed TikTok access token");
                Tokens::from(&granted)
            }
        };
        *grant.tokens.write().expect("token lock") = fresh;
        Ok(())
    }

    /// Calls a token endpoint (query parameters only, no signature; the app secret
    /// travels in the query, so this URL is never logged).
    async fn token_call(
        &self,
        path: &str,
        credential: (&str, &str),
        grant_type: &str,
    ) -> Result<TokenGrant, TikTokError> {
        let params = [
            ("app_key", self.config.app_key.as_str()),
            ("app_secret", self.config.app_secret.expose()),
            credential,
            ("grant_type", grant_type),
        ];
        let url = Url::parse_with_params(&format!("{}{path}", self.config.auth_base), &params)
            .map_err(|e| TikTokError::Client(e.to_string()))?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.limiter.acquire(path).await;
            match self.exchange(self.http.get(url.clone())).await {
                Ok(data) => return from_data(data),
                Err(error) if error.is_retryable() && attempt < self.config.max_attempts => {
                    tokio::time::sleep(retry_delay(attempt)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Exchanges an authorization code (single use, 30 minutes) for tokens.
    pub async fn get_token(&self, auth_code: &str) -> Result<TokenGrant, TikTokError> {
        self.token_call("/api/v2/token/get", ("auth_code", auth_code), "authorized_code")
            .await
    }

    /// Exchanges a refresh token for new tokens.
    pub async fn refresh_token(&self, refresh_token: &str) -> Result<TokenGrant, TikTokError> {
        self.token_call(
            "/api/v2/token/refresh",
            ("refresh_token", refresh_token),
            "refresh_token",
        )
        .await
    }

    async fn get(
        &self,
        target: Target<'_>,
        endpoint: &'static str,
        path: String,
        query: Vec<(&'static str, String)>,
    ) -> Result<serde_json::Value, TikTokError> {
        self.run(Call {
            target,
            method: Method::GET,
            endpoint,
            path,
            query,
            body: Body::None,
        })
        .await
    }

    async fn write<B: Serialize>(
        &self,
        target: Target<'_>,
        method: Method,
        endpoint: &'static str,
        path: String,
        query: Vec<(&'static str, String)>,
        body: &B,
    ) -> Result<serde_json::Value, TikTokError> {
        self.run(Call {
            target,
            method,
            endpoint,
            path,
            query,
            body: json_body(body),
        })
        .await
    }

    /// A POST search whose filters are the body and whose page is `data.<list>`.
    async fn search<T: DeserializeOwned, F: Serialize>(
        &self,
        shop: &ShopAuth,
        path: &'static str,
        list: &str,
        query: Vec<(&'static str, String)>,
        filter: &F,
    ) -> Result<Page<T>, TikTokError> {
        page_from(
            self.write(Target::Shop(shop), Method::POST, path, path.into(), query, filter)
                .await?,
            list,
        )
    }

    /// The shops this authorization covers, with their ciphers.
    pub async fn authorized_shops(&self, grant: &Grant) -> Result<Vec<AuthorizedShop>, TikTokError> {
        let path = "/authorization/202309/shops";
        Ok(page_from(
            self.get(Target::Grant(grant), path, path.into(), vec![]).await?,
            "shops",
        )?
        .items)
    }

    /// The shop's warehouses.
    pub async fn warehouses(&self, shop: &ShopAuth) -> Result<Vec<Warehouse>, TikTokError> {
        let path = "/logistics/202309/warehouses";
        Ok(page_from(
            self.get(Target::Shop(shop), path, path.into(), vec![]).await?,
            "warehouses",
        )?
        .items)
    }

    /// The delivery options of one of the shop's warehouses (Get Warehouse Delivery
    /// Options, reference §8).
    pub async fn delivery_options(
        &self,
        shop: &ShopAuth,
        warehouse_id: &Id,
    ) -> Result<Vec<DeliveryOption>, TikTokError> {
        let path = format!("/logistics/202309/warehouses/{warehouse_id}/delivery_options");
        let data = self.get(Target::Shop(shop), "delivery_options", path, vec![]).await?;
        Ok(page_from(data, "delivery_options")?.items)
    }

    /// Carriers available for an order's delivery option.
    pub async fn shipping_providers(
        &self,
        shop: &ShopAuth,
        delivery_option_id: &Id,
    ) -> Result<Vec<ShippingProvider>, TikTokError> {
        let path = format!("/logistics/202309/delivery_options/{delivery_option_id}/shipping_providers");
        let data = self.get(Target::Shop(shop), "shipping_providers", path, vec![]).await?;
        Ok(page_from(data, "shipping_providers")?.items)
    }

    /// The flat category list (`category_version` `v2` for US shops).
    pub async fn categories(&self, shop: &ShopAuth, category_version: &str) -> Result<Vec<Category>, TikTokError> {
        let path = "/product/202309/categories";
        let data = self
            .get(
                Target::Shop(shop),
                path,
                path.into(),
                vec![("category_version", category_version.into())],
            )
            .await?;
        Ok(page_from(data, "categories")?.items)
    }

    /// Attributes of a leaf category.
    pub async fn category_attributes(
        &self,
        shop: &ShopAuth,
        category_id: &Id,
        category_version: &str,
    ) -> Result<Vec<Attribute>, TikTokError> {
        let path = format!("/product/202309/categories/{category_id}/attributes");
        let data = self
            .get(
                Target::Shop(shop),
                "category_attributes",
                path,
                vec![("category_version", category_version.into())],
            )
            .await?;
        Ok(page_from(data, "attributes")?.items)
    }

    /// Listing rules of a leaf category.
    pub async fn category_rules(
        &self,
        shop: &ShopAuth,
        category_id: &Id,
        category_version: &str,
    ) -> Result<CategoryRules, TikTokError> {
        let path = format!("/product/202309/categories/{category_id}/rules");
        from_data(
            self.get(
                Target::Shop(shop),
                "category_rules",
                path,
                vec![("category_version", category_version.into())],
            )
            .await?,
        )
    }

    /// The leaf category TikTok recommends for a title.
    pub async fn recommend_category(
        &self,
        shop: &ShopAuth,
        product_title: &str,
    ) -> Result<RecommendedCategory, TikTokError> {
        let path = "/product/202309/categories/recommend";
        let body = serde_json::json!({ "product_title": product_title });
        from_data(
            self.write(Target::Shop(shop), Method::POST, path, path.into(), vec![], &body)
                .await?,
        )
    }

    /// One page of brands (optionally as available in a category).
    pub async fn brands(
        &self,
        shop: &ShopAuth,
        category_id: Option<&Id>,
        page_size: u32,
        page_token: Option<&str>,
    ) -> Result<Page<Brand>, TikTokError> {
        let path = "/product/202309/brands";
        let mut query = paging(page_size, page_token);
        if let Some(category) = category_id {
            query.push(("category_id", category.to_string()));
        }
        page_from(self.get(Target::Shop(shop), path, path.into(), query).await?, "brands")
    }

    /// Uploads an image (multipart, no `shop_cipher`, body not signed).
    pub async fn upload_image(
        &self,
        grant: &Grant,
        bytes: Vec<u8>,
        file_name: &str,
        use_case: &str,
    ) -> Result<UploadedImage, TikTokError> {
        let body = Body::Multipart {
            bytes,
            file_name: file_name.into(),
            fields: vec![("use_case", use_case.into())],
        };
        self.upload(grant, "/product/202309/images/upload", body).await
    }

    /// Uploads a document (PDF for certifications; multipart, no `shop_cipher`).
    pub async fn upload_file(&self, grant: &Grant, bytes: Vec<u8>, name: &str) -> Result<UploadedFile, TikTokError> {
        let body = Body::Multipart {
            bytes,
            file_name: name.into(),
            fields: vec![("name", name.into())],
        };
        self.upload(grant, "/product/202309/files/upload", body).await
    }

    async fn upload<T: serde::de::DeserializeOwned>(
        &self,
        grant: &Grant,
        path: &'static str,
        body: Body,
    ) -> Result<T, TikTokError> {
        from_data(
            self.run(Call {
                target: Target::Grant(grant),
                method: Method::POST,
                endpoint: path,
                path: path.into(),
                query: vec![],
                body,
            })
            .await?,
        )
    }

    /// Creates a product (it then goes to review).
    pub async fn create_product(
        &self,
        shop: &ShopAuth,
        product: &ProductRequest,
    ) -> Result<ProductWriteResult, TikTokError> {
        let path = "/product/202309/products";
        from_data(
            self.write(Target::Shop(shop), Method::POST, path, path.into(), vec![], product)
                .await?,
        )
    }

    /// Replaces a product whole (unlisted SKU ids are deleted).
    pub async fn edit_product(
        &self,
        shop: &ShopAuth,
        product_id: &Id,
        product: &ProductRequest,
    ) -> Result<ProductWriteResult, TikTokError> {
        let path = format!("/product/202309/products/{product_id}");
        from_data(
            self.write(Target::Shop(shop), Method::PUT, "edit_product", path, vec![], product)
                .await?,
        )
    }

    /// Replaces only the top-level fields present in `product`.
    pub async fn partial_edit_product(
        &self,
        shop: &ShopAuth,
        product_id: &Id,
        product: &ProductRequest,
    ) -> Result<ProductWriteResult, TikTokError> {
        let path = format!("/product/202309/products/{product_id}/partial_edit");
        from_data(
            self.write(
                Target::Shop(shop),
                Method::POST,
                "partial_edit_product",
                path,
                vec![],
                product,
            )
            .await?,
        )
    }

    /// One product.
    pub async fn get_product(&self, shop: &ShopAuth, product_id: &Id) -> Result<Product, TikTokError> {
        let path = format!("/product/202309/products/{product_id}");
        from_data(self.get(Target::Shop(shop), "get_product", path, vec![]).await?)
    }

    /// One page of products.
    pub async fn search_products(
        &self,
        shop: &ShopAuth,
        filter: &ProductSearch,
        page_size: u32,
        page_token: Option<&str>,
    ) -> Result<Page<Product>, TikTokError> {
        let path = "/product/202309/products/search";
        self.search(shop, path, "products", paging(page_size, page_token), filter)
            .await
    }

    /// Sets stock of SKUs of one product; returns per-SKU failures.
    pub async fn update_inventory(
        &self,
        shop: &ShopAuth,
        product_id: &Id,
        skus: &[SkuInventory],
    ) -> Result<Vec<ItemError>, TikTokError> {
        let path = format!("/product/202309/products/{product_id}/inventory/update");
        let body = serde_json::json!({ "skus": skus });
        item_errors(
            self.write(
                Target::Shop(shop),
                Method::POST,
                "update_inventory",
                path,
                vec![],
                &body,
            )
            .await?,
        )
    }

    /// Sets prices of SKUs of one product.
    pub async fn update_prices(&self, shop: &ShopAuth, product_id: &Id, skus: &[SkuPrice]) -> Result<(), TikTokError> {
        let path = format!("/product/202309/products/{product_id}/prices/update");
        let body = serde_json::json!({ "skus": skus });
        self.write(Target::Shop(shop), Method::POST, "update_prices", path, vec![], &body)
            .await
            .map(drop)
    }

    /// Activates, deactivates, deletes or recovers up to 20 products; per-product failures.
    pub async fn product_action(
        &self,
        shop: &ShopAuth,
        action: ProductAction,
        product_ids: &[Id],
    ) -> Result<Vec<ItemError>, TikTokError> {
        if product_ids.is_empty() || product_ids.len() > 20 {
            return Err(TikTokError::Client(format!(
                "1 to 20 product ids per call, got {}",
                product_ids.len()
            )));
        }
        let (method, path) = match action {
            ProductAction::Activate => (Method::POST, "/product/202309/products/activate"),
            ProductAction::Deactivate => (Method::POST, "/product/202309/products/deactivate"),
            ProductAction::Delete => (Method::DELETE, "/product/202309/products"),
            ProductAction::Recover => (Method::POST, "/product/202309/products/recover"),
        };
        let body = serde_json::json!({ "product_ids": product_ids });
        item_errors(
            self.write(Target::Shop(shop), method, path, path.into(), vec![], &body)
                .await?,
        )
    }

    /// One page of orders, oldest update first (the poller's order).
    pub async fn search_orders(
        &self,
        shop: &ShopAuth,
        filter: &OrderSearch,
        page_size: u32,
        page_token: Option<&str>,
    ) -> Result<Page<Order>, TikTokError> {
        let mut query = paging(page_size, page_token);
        query.push(("sort_field", "update_time".into()));
        query.push(("sort_order", "ASC".into()));
        self.search(shop, "/order/202309/orders/search", "orders", query, filter)
            .await
    }

    /// Up to 50 orders by id.
    pub async fn order_details(&self, shop: &ShopAuth, order_ids: &[Id]) -> Result<Vec<Order>, TikTokError> {
        if order_ids.is_empty() || order_ids.len() > 50 {
            return Err(TikTokError::Client(format!(
                "1 to 50 order ids per call, got {}",
                order_ids.len()
            )));
        }
        let path = "/order/202309/orders";
        let ids = order_ids.iter().map(Id::as_str).collect::<Vec<_>>().join(",");
        Ok(page_from(
            self.get(Target::Shop(shop), path, path.into(), vec![("ids", ids)])
                .await?,
            "orders",
        )?
        .items)
    }

    /// Marks (part of) an order shipped with a tracking number (US/EU/JP).
    pub async fn mark_package_shipped(
        &self,
        shop: &ShopAuth,
        order_id: &Id,
        shipment: &MarkShipped,
    ) -> Result<ShippedPackage, TikTokError> {
        let path = format!("/fulfillment/202309/orders/{order_id}/packages");
        from_data(
            self.write(
                Target::Shop(shop),
                Method::POST,
                "mark_package_shipped",
                path,
                vec![],
                shipment,
            )
            .await?,
        )
    }

    /// Ships an existing package with the seller's own carrier (SEA/LATAM).
    pub async fn ship_package(
        &self,
        shop: &ShopAuth,
        package_id: &Id,
        tracking_number: &str,
        provider_id: &Id,
    ) -> Result<(), TikTokError> {
        let path = format!("/fulfillment/202309/packages/{package_id}/ship");
        let body = serde_json::json!({ "self_shipment": { "tracking_number": tracking_number, "shipping_provider_id": provider_id } });
        self.write(Target::Shop(shop), Method::POST, "ship_package", path, vec![], &body)
            .await
            .map(drop)
    }

    /// Corrects the tracking of a shipped order (unsplit) or of one package of a split order.
    pub async fn update_shipping_info(
        &self,
        shop: &ShopAuth,
        shipped: Shipped<'_>,
        tracking_number: &str,
        provider_id: &Id,
    ) -> Result<(), TikTokError> {
        let (endpoint, path) = match shipped {
            Shipped::Order(id) => (
                "update_shipping_info",
                format!("/fulfillment/202309/orders/{id}/shipping_info/update"),
            ),
            Shipped::Package(id) => (
                "update_package_shipping_info",
                format!("/fulfillment/202309/packages/{id}/shipping_info/update"),
            ),
        };
        let body = serde_json::json!({ "tracking_number": tracking_number, "shipping_provider_id": provider_id });
        self.write(Target::Shop(shop), Method::POST, endpoint, path, vec![], &body)
            .await
            .map(drop)
    }

    /// One package.
    pub async fn package_detail(&self, shop: &ShopAuth, package_id: &Id) -> Result<Package, TikTokError> {
        let path = format!("/fulfillment/202309/packages/{package_id}");
        from_data(self.get(Target::Shop(shop), "package_detail", path, vec![]).await?)
    }

    /// One page of cancellations.
    pub async fn search_cancellations(
        &self,
        shop: &ShopAuth,
        filter: &AfterSaleSearch,
        page_size: u32,
        page_token: Option<&str>,
    ) -> Result<Page<Cancellation>, TikTokError> {
        let path = "/return_refund/202309/cancellations/search";
        self.search(shop, path, "cancellations", paging(page_size, page_token), filter)
            .await
    }

    /// Approves a buyer's cancellation request (§10.1: no body). `idempotency_key` (a
    /// UUID, ≤255 characters) makes a retry after a lost answer harmless: TikTok answers
    /// it as it answered the first call.
    pub async fn approve_cancellation(
        &self,
        shop: &ShopAuth,
        cancel_id: &Id,
        idempotency_key: &str,
    ) -> Result<(), TikTokError> {
        let path = format!("/return_refund/202309/cancellations/{cancel_id}/approve");
        self.run(Call {
            target: Target::Shop(shop),
            method: Method::POST,
            endpoint: "approve_cancellation",
            path,
            query: vec![("idempotency_key", idempotency_key.to_string())],
            body: Body::None,
        })
        .await
        .map(drop)
    }

    /// Rejects a buyer's cancellation request (§10.1) with a reason from
    /// [`Client::reject_reasons`]; `idempotency_key` as for approvals.
    pub async fn reject_cancellation(
        &self,
        shop: &ShopAuth,
        cancel_id: &Id,
        rejection: &Rejection,
        idempotency_key: &str,
    ) -> Result<(), TikTokError> {
        let path = format!("/return_refund/202309/cancellations/{cancel_id}/reject");
        let query = vec![("idempotency_key", idempotency_key.to_string())];
        self.write(
            Target::Shop(shop),
            Method::POST,
            "reject_cancellation",
            path,
            query,
            rejection,
        )
        .await
        .map(drop)
    }

    /// The seller cancels an order.
    pub async fn cancel_order(&self, shop: &ShopAuth, cancel: &CancelOrder) -> Result<CancelOrderResult, TikTokError> {
        let path = "/return_refund/202309/cancellations";
        from_data(
            self.write(Target::Shop(shop), Method::POST, path, path.into(), vec![], cancel)
                .await?,
        )
    }

    /// One page of returns and refunds.
    pub async fn search_returns(
        &self,
        shop: &ShopAuth,
        filter: &AfterSaleSearch,
        page_size: u32,
        page_token: Option<&str>,
    ) -> Result<Page<Return>, TikTokError> {
        let path = "/return_refund/202309/returns/search";
        self.search(shop, path, "return_orders", paging(page_size, page_token), filter)
            .await
    }

    /// Approves a return (§10.2) with a decision and its options; `idempotency_key` (≤255
    /// characters) makes a retry after a lost answer harmless.
    pub async fn approve_return(
        &self,
        shop: &ShopAuth,
        return_id: &Id,
        approval: &Approval,
        idempotency_key: &str,
    ) -> Result<(), TikTokError> {
        let path = format!("/return_refund/202309/returns/{return_id}/approve");
        let query = vec![("idempotency_key", idempotency_key.to_string())];
        self.write(
            Target::Shop(shop),
            Method::POST,
            "approve_return",
            path,
            query,
            approval,
        )
        .await
        .map(drop)
    }

    /// Rejects a return (§10.2) with a decision and a reason from
    /// [`Client::reject_reasons`]; `idempotency_key` as for approvals.
    pub async fn reject_return(
        &self,
        shop: &ShopAuth,
        return_id: &Id,
        rejection: &Rejection,
        idempotency_key: &str,
    ) -> Result<(), TikTokError> {
        let path = format!("/return_refund/202309/returns/{return_id}/reject");
        let query = vec![("idempotency_key", idempotency_key.to_string())];
        self.write(
            Target::Shop(shop),
            Method::POST,
            "reject_return",
            path,
            query,
            rejection,
        )
        .await
        .map(drop)
    }

    /// A return's record on TikTok: every step with its words and photos (§10.2).
    pub async fn return_records(&self, shop: &ShopAuth, return_id: &Id) -> Result<Vec<ReturnRecord>, TikTokError> {
        let path = format!("/return_refund/202309/returns/{return_id}/records");
        Ok(page_from(
            self.get(Target::Shop(shop), "return_records", path, vec![]).await?,
            "records",
        )?
        .items)
    }

    /// Reasons that may be given to reject a return or cancellation.
    pub async fn reject_reasons(
        &self,
        shop: &ShopAuth,
        return_or_cancel_id: &Id,
    ) -> Result<Vec<RejectReason>, TikTokError> {
        let path = "/return_refund/202309/reject_reasons";
        let data = self
            .get(
                Target::Shop(shop),
                path,
                path.into(),
                vec![("return_or_cancel_id", return_or_cancel_id.to_string())],
            )
            .await?;
        Ok(page_from(data, "reasons")?.items)
    }

    /// The shop's webhook subscriptions.
    pub async fn webhooks(&self, shop: &ShopAuth) -> Result<Vec<WebhookSubscription>, TikTokError> {
        let path = "/event/202309/webhooks";
        Ok(page_from(
            self.get(Target::Shop(shop), path, path.into(), vec![]).await?,
            "webhooks",
        )?
        .items)
    }

    /// Creates or updates the delivery URL of one topic.
    pub async fn update_webhook(&self, shop: &ShopAuth, event_type: &str, address: &str) -> Result<(), TikTokError> {
        let path = "/event/202309/webhooks";
        let body = serde_json::json!({ "event_type": event_type, "address": address });
        self.write(
            Target::Shop(shop),
            Method::PUT,
            "update_webhook",
            path.into(),
            vec![],
            &body,
        )
        .await
        .map(drop)
    }

    /// Removes the subscription of one topic.
    pub async fn delete_webhook(&self, shop: &ShopAuth, event_type: &str) -> Result<(), TikTokError> {
        let path = "/event/202309/webhooks";
        let body = serde_json::json!({ "event_type": event_type });
        self.write(
            Target::Shop(shop),
            Method::DELETE,
            "delete_webhook",
            path.into(),
            vec![],
            &body,
        )
        .await
        .map(drop)
    }
}

/// What Update Shipping Info corrects.
#[derive(Debug, Clone, Copy)]
pub enum Shipped<'a> {
    /// A whole order shipped in one package.
    Order(&'a Id),
    /// One package of an order shipped in several.
    Package(&'a Id),
}
