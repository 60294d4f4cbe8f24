//! A real headless Chromium for the settings-page tests, driven through ChromeDriver's
//! W3C WebDriver protocol (plain JSON over HTTP). `scripts/test` installs Debian's
//! `chromium` and `chromium-driver`; `CHROMEDRIVER` and `CHROMIUM` override the paths.

use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// W3C's key for an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One Chromium session; the browser and its driver stop when this is dropped.
pub struct Chromium {
    driver: Child,
    http: reqwest::Client,
    session_url: String,
    _profile: tempfile::TempDir,
}

impl Chromium {
    /// Starts ChromeDriver on a free port and a headless Chromium with a fresh profile.
    pub async fn start() -> anyhow::Result<Self> {
        let driver_path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let browser_path = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        // Its own process group, so a failed test can stop the browser with the driver.
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| {
                format!("starting {driver_path} (install chromium and chromium-driver; scripts/test does)")
            })?;
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            let status = http.get(format!("{base}/status")).send().await;
            if let Ok(answer) = status
                && answer.json::<Value>().await.is_ok_and(|s| s["value"]["ready"] == true)
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !ready {
            bail!("ChromeDriver did not start on port {port}");
        }
        let profile = tempfile::tempdir()?;
        // The flags keep Chromium off the network it has no business on (no sync, no updates).
        let args = [
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
            "goog:chromeOptions": {"binary": browser_path, "args": args}}}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await?
            .json()
            .await?;
        let session = created["value"]["sessionId"]
            .as_str()
            .with_context(|| format!("no Chromium session: {created}"))?;
        Ok(Self {
            session_url: format!("{base}/session/{session}"),
            driver,
            http,
            _profile: profile,
        })
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let request = self.http.request(method, format!("{}{path}", self.session_url));
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let answer: Value = request.send().await?.json().await?;
        if let Some(error) = answer["value"]["error"].as_str() {
            bail!("WebDriver {path}: {error}: {}", answer["value"]["message"]);
        }
        Ok(answer["value"].clone())
    }

    /// Opens a URL and waits for the page to load.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.command(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await
            .map(drop)
    }

    /// The URL shown now.
    pub async fn current_url(&self) -> anyhow::Result<String> {
        let url = self.command(reqwest::Method::GET, "/url", None).await?;
        Ok(url.as_str().unwrap_or_default().to_string())
    }

    async fn element(&self, css: &str) -> anyhow::Result<String> {
        let query = json!({"using": "css selector", "value": css});
        match self.command(reqwest::Method::POST, "/element", Some(query)).await {
            Ok(found) => Ok(found[ELEMENT].as_str().unwrap_or_default().to_string()),
            Err(error) => {
                let page = self.current_url().await.unwrap_or_default();
                Err(error.context(format!("no element {css:?} on {page}")))
            }
        }
    }

    /// The visible text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        let id = self.element(css).await?;
        let text = self
            .command(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await?;
        Ok(text.as_str().unwrap_or_default().to_string())
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let id = self.element(css).await?;
        self.command(reqwest::Method::POST, &format!("/element/{id}/click"), Some(json!({})))
            .await
            .map(drop)
    }

    async fn script(&self, script: &str) -> anyhow::Result<Value> {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Clicks the first element matching `css` (a submit button or link) and waits
    /// until the next page has loaded.
    pub async fn click_to_next_page(&self, css: &str) -> anyhow::Result<()> {
        self.script("window.__previous_page = true").await?;
        self.click(css).await?;
        for _ in 0..100 {
            let loaded = self
                .script("return window.__previous_page === undefined && document.readyState === 'complete'")
                .await;
            if loaded.is_ok_and(|l| l == true) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("clicking {css:?} led to no new page")
    }

    /// Whether the first element matching `css` (a checkbox, radio or option) is selected.
    pub async fn is_selected(&self, css: &str) -> anyhow::Result<bool> {
        let id = self.element(css).await?;
        let selected = self
            .command(reqwest::Method::GET, &format!("/element/{id}/selected"), None)
            .await?;
        Ok(selected == true)
    }
}

impl Chromium {
    /// Ends the session (closing Chromium), then the driver.
    pub async fn quit(self) {
        let _ = self.http.delete(&self.session_url).send().await;
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // The whole group: the driver and the browser it started (the profile
        // directory goes with the TempDir).
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-9", "--", &group]).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
