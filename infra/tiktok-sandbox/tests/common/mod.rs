//! Test helpers written from the reference, independent of the connector's client:
//! a signer (§3.2), a webhook receiver, and a sandbox on a free port.
#![allow(dead_code)] // each test binary uses its own part

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tiktok_sandbox::{Sandbox, SandboxConfig};

pub const APP_KEY: &str = "test-app-key";
pub const APP_SECRET: &str = "test-app-secret";

/// Reference §3.2, written out again: sorted `{key}{value}` pairs without `sign` and
/// `access_token`, path first, body last, wrapped in the secret, HMAC-SHA256, hex.
pub fn reference_sign(path: &str, query: &[(&str, String)], body: &str) -> String {
    let mut pairs: Vec<_> = query
        .iter()
        .filter(|(k, _)| *k != "sign" && *k != "access_token")
        .collect();
    pairs.sort_by_key(|(k, _)| *k);
    let mut text = format!("{APP_SECRET}{path}");
    for (k, v) in pairs {
        text.push_str(k);
        text.push_str(v);
    }
    text.push_str(body);
    text.push_str(APP_SECRET);
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(text.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A real grey PNG of `width`×`height` pixels.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Grayscale);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&vec![0x80; (width * height) as usize]).unwrap();
    writer.finish().unwrap();
    bytes
}

/// A started sandbox and what a test needs to call it.
pub struct Harness {
    pub sandbox: Sandbox,
    pub base: String,
    pub http: reqwest::Client,
}

pub fn config() -> SandboxConfig {
    SandboxConfig {
        app_key: APP_KEY.into(),
        app_secret: APP_SECRET.into(),
        review_delay: Duration::from_millis(200),
        webhook_time_scale: 0.001,
        ..SandboxConfig::default()
    }
}

pub async fn start(config: SandboxConfig) -> Harness {
    let sandbox = Sandbox::new(config);
    let addr = sandbox.clone().serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    Harness {
        sandbox,
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
    }
}

/// The raw answer of a call: HTTP status and JSON body (Null when not JSON).
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> i64 {
        self.body["code"].as_i64().unwrap_or(-1)
    }
}

impl Harness {
    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        response.json().await.unwrap_or(Value::Null)
    }

    /// An access token for every sandbox shop, through the real token endpoint.
    pub async fn token(&self) -> String {
        let code = self.admin(reqwest::Method::POST, "/sandbox/authorize", json!({})).await["code"]
            .as_str()
            .unwrap()
            .to_string();
        let url = format!(
            "{}/api/v2/token/get?app_key={APP_KEY}&app_secret={APP_SECRET}&auth_code={code}&grant_type=authorized_code",
            self.base
        );
        let answer: Value = self.http.get(url).send().await.unwrap().json().await.unwrap();
        assert_eq!(answer["code"], 0, "{answer}");
        answer["data"]["access_token"].as_str().unwrap().to_string()
    }

    pub async fn shops(&self) -> Vec<Value> {
        self.admin(reqwest::Method::GET, "/sandbox/shops", Value::Null)
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    /// A signed Open API call. `extra` query pairs come after app_key/timestamp.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        extra: &[(&str, String)],
        body: Option<Value>,
    ) -> Answer {
        let body_text = body.map(|b| b.to_string()).unwrap_or_default();
        let mut query: Vec<(&str, String)> = vec![("app_key", APP_KEY.to_string()), ("timestamp", now().to_string())];
        query.extend(extra.iter().cloned());
        let sign = reference_sign(path, &query, &body_text);
        query.push(("sign", sign));
        self.send(method, path, token, &query, body_text).await
    }

    /// Sends exactly what it is given (for tests of bad requests).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        query: &[(&str, String)],
        body: String,
    ) -> Answer {
        let url = reqwest::Url::parse_with_params(&format!("{}{path}", self.base), query).unwrap();
        let response = self
            .http
            .request(method, url)
            .header("content-type", "application/json")
            .header("x-tts-access-token", token)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Answer { status, body }
    }
}

/// A webhook receiver on a free port that records every delivery and answers with
/// the statuses given, in turn (then 200).
pub struct Receiver {
    pub url: String,
    pub received: Arc<Mutex<Vec<(String, String)>>>,
}

pub async fn receiver(statuses: Vec<u16>) -> Receiver {
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    type Shared = (Arc<Mutex<Vec<(String, String)>>>, Arc<Mutex<Vec<u16>>>);
    let received = Arc::new(Mutex::new(Vec::new()));
    let statuses = Arc::new(Mutex::new(statuses));
    let app = axum::Router::new()
        .route(
            "/webhooks/tiktok",
            axum::routing::post(
                |State((received, statuses)): State<Shared>, headers: HeaderMap, body: String| async move {
                    let signature = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    received.lock().unwrap().push((signature, body));
                    let mut statuses = statuses.lock().unwrap();
                    let status = if statuses.is_empty() { 200 } else { statuses.remove(0) };
                    StatusCode::from_u16(status).unwrap()
                },
            ),
        )
        .with_state((received.clone(), statuses));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver {
        url: format!("http://{addr}/webhooks/tiktok"),
        received,
    }
}

/// Waits until `check` holds (up to 5 s).
pub async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
