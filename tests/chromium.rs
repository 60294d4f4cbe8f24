//! A real headless Chromium for the settings-page tests, driven through ChromeDriver
//! with [`fantoccini`] (W3C WebDriver). `scripts/test` installs Debian's `chromium` and
//! `chromium-driver`; `CHROMEDRIVER` and `CHROMIUM` override the paths. The helpers
//! here cover what the tests repeat (text of an element, click, click and wait for
//! the next page, scrolling, screenshots into `target/screenshots/`); anything else
//! goes through [`Chromium::client`].

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// The viewport a session starts with, as (width, height) in CSS pixels (see
/// [`Chromium::set_window_size`]): about the BigCommerce control panel's app iframe,
/// where merchants see the settings pages.
pub const DEFAULT_WINDOW: (u32, u32) = (1000, 800);

/// How long [`Chromium::click_to_next_page`] waits for the next page.
const NEXT_PAGE_TIMEOUT: Duration = Duration::from_secs(10);

/// One Chromium session; the browser and its driver stop when this is dropped.
pub struct Chromium {
    client: Client,
    // Dropped after the client: stops the driver and the browser.
    _driver: Driver,
    _profile: tempfile::TempDir,
}

/// The ChromeDriver process; dropping it stops the driver and the browser it started.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole process group: the driver and its browser.
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-9", "--", &group]).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Chromium {
    /// Starts ChromeDriver on a free port and a headless Chromium with a fresh profile,
    /// its viewport [`DEFAULT_WINDOW`] in size.
    ///
    /// Errors: ChromeDriver or Chromium missing (`CHROMEDRIVER`, `CHROMIUM`, default
    /// `/usr/bin/chromedriver` and `/usr/bin/chromium`), the driver not listening within
    /// 10 s, or the driver refusing the session.
    pub async fn start() -> anyhow::Result<Self> {
        let driver_path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let browser_path = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let profile = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        // Its own process group, so a failed test can stop the browser with the driver.
        let mut driver = Driver(
            Command::new(&driver_path)
                .arg(format!("--port={port}"))
                .process_group(0)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .with_context(|| {
                    format!("starting {driver_path} (install chromium and chromium-driver; scripts/test does)")
                })?,
        );
        let mut listening = false;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                listening = true;
                break;
            }
            if let Some(status) = driver.0.try_wait()? {
                bail!("{driver_path} exited ({status}) before listening on port {port}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !listening {
            bail!("ChromeDriver did not start on port {port}");
        }
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
        let mut capabilities = fantoccini::wd::Capabilities::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"binary": browser_path, "args": args}),
        );
        let client = ClientBuilder::rustls()
            .context("setting up the WebDriver client")?
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .with_context(|| format!("no Chromium session from ChromeDriver ({browser_path})"))?;
        let chromium = Self {
            client,
            _driver: driver,
            _profile: profile,
        };
        let (width, height) = DEFAULT_WINDOW;
        chromium.set_window_size(width, height).await?;
        Ok(chromium)
    }

    /// The fantoccini client of this session, for what the helpers here do not cover
    /// (find, send_keys, wait, execute…). It stays usable until [`Chromium::quit`] or
    /// the drop.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Resizes the window so that pages get a viewport of `width`×`height` CSS pixels
    /// (scroll bars included); screenshots taken afterwards have that size. The window
    /// itself is larger by the browser's frame (in headless mode, a simulated toolbar).
    ///
    /// Errors: the driver refuses the size, or the page cannot report its viewport.
    pub async fn set_window_size(&self, width: u32, height: u32) -> anyhow::Result<()> {
        let context = || format!("resizing the viewport to {width}×{height}");
        self.client.set_window_size(width, height).await.with_context(context)?;
        let inner = self
            .client
            .execute("return [window.innerWidth, window.innerHeight]", vec![])
            .await
            .with_context(context)?;
        let side = |i: usize| inner[i].as_u64().and_then(|v| u32::try_from(v).ok());
        let (Some(inner_width), Some(inner_height)) = (side(0), side(1)) else {
            bail!("the page reported its viewport as {inner}");
        };
        if (inner_width, inner_height) != (width, height) {
            let frame = |outer: u32, inner: u32| (2 * outer).saturating_sub(inner);
            self.client
                .set_window_size(frame(width, inner_width), frame(height, inner_height))
                .await
                .with_context(context)?;
        }
        Ok(())
    }

    /// Scrolls the page so that the first element matching the CSS selector `css` is
    /// at the top of the viewport (for a screenshot of what lies below the fold).
    ///
    /// Errors: no element matches, or the browser is gone.
    pub async fn scroll_to(&self, css: &str) -> anyhow::Result<()> {
        let element = self.element(css).await?;
        let element = serde_json::to_value(&element)?;
        self.client
            .execute("arguments[0].scrollIntoView()", vec![element])
            .await
            .with_context(|| format!("scrolling to {css:?}"))?;
        Ok(())
    }

    /// Opens `url` and waits for the page to load.
    ///
    /// Errors: the driver fails to navigate (a bad URL, the browser gone).
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.client.goto(url).await.with_context(|| format!("opening {url}"))
    }

    /// The URL shown now, as text.
    ///
    /// Errors: the browser is gone.
    pub async fn current_url(&self) -> anyhow::Result<String> {
        Ok(self.client.current_url().await?.to_string())
    }

    /// The first element matching the CSS selector `css`, now (no waiting).
    async fn element(&self, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => Ok(element),
            Err(error) => {
                let page = self.current_url().await.unwrap_or_default();
                Err(anyhow::Error::new(error).context(format!("no element {css:?} on {page}")))
            }
        }
    }

    /// The visible text of the first element matching the CSS selector `css`.
    ///
    /// Errors: no element matches, or the browser is gone.
    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        Ok(self.element(css).await?.text().await?)
    }

    /// Clicks the first element matching the CSS selector `css`.
    ///
    /// Errors: no element matches, or it cannot be clicked (hidden, covered).
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        self.element(css)
            .await?
            .click()
            .await
            .with_context(|| format!("clicking {css:?}"))
    }

    /// Clicks the first element matching the CSS selector `css` (a submit button or
    /// link) and waits, up to 10 s, until the next page has loaded.
    ///
    /// Errors: no element matches, it cannot be clicked, or no new page loads in time.
    pub async fn click_to_next_page(&self, css: &str) -> anyhow::Result<()> {
        // A mark on the current page's window object: the next page starts without it.
        self.client.execute("window.__previous_page = true", vec![]).await?;
        self.click(css).await?;
        let started = tokio::time::Instant::now();
        while started.elapsed() < NEXT_PAGE_TIMEOUT {
            let loaded = self
                .client
                .execute(
                    "return window.__previous_page === undefined && document.readyState === 'complete'",
                    vec![],
                )
                .await;
            // An error while the next page replaces this one is expected: ask again.
            if loaded.is_ok_and(|l| l == true) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("clicking {css:?} led to no new page")
    }

    /// Whether the first element matching the CSS selector `css` (a checkbox, radio or
    /// option) is selected.
    ///
    /// Errors: no element matches, or the browser is gone.
    pub async fn is_selected(&self, css: &str) -> anyhow::Result<bool> {
        Ok(self.element(css).await?.is_selected().await?)
    }

    /// Saves a PNG of the window as it shows now (the viewport, at the window size) to
    /// `target/screenshots/<name>.png` in the workspace, creating the folder; returns
    /// its path. A later screenshot of the same name replaces it.
    ///
    /// Errors: `name` is not a plain file name (empty, `/`, `..`), the browser cannot
    /// take the screenshot, or the file cannot be written.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            bail!("screenshot name {name:?} is not a plain file name");
        }
        let png = self
            .client
            .screenshot()
            .await
            .with_context(|| format!("taking screenshot {name:?}"))?;
        let folder = screenshot_dir();
        std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
        let path = folder.join(format!("{name}.png"));
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Ends the session (closing Chromium); the driver stops when `self` is dropped
    /// right after. Errors are ignored: the drop stops everything anyway.
    pub async fn quit(self) {
        let _ = self.client.clone().close().await;
    }
}

/// `target/screenshots` in the workspace (this crate's folder is `tests/`).
fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .join("target")
        .join("screenshots")
}
