//! Shared by the BigCommerce sandbox tests: a sandbox on a free port and the
//! merchant's Install click.

use std::collections::HashMap;

use bigcommerce_sandbox::{Sandbox, SandboxConfig};

/// A started sandbox.
pub struct Harness {
    pub base: String,
    pub http: reqwest::Client,
}

pub async fn start(config: SandboxConfig) -> Harness {
    let addr = Sandbox::new(config)
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Harness {
        base: format!("http://{addr}"),
        http,
    }
}

impl Harness {
    /// Clicks Install on `store`; returns the query the browser brings to the app's
    /// auth callback (`code`, `scope`, `context`, `account_uuid`).
    pub async fn install_redirect(&self, store: &str) -> HashMap<String, String> {
        let redirect = self
            .http
            .get(format!("{}/sandbox/install?store_hash={store}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(redirect.status(), 303, "a browser redirect");
        let location = url::Url::parse(redirect.headers()["location"].to_str().unwrap()).unwrap();
        assert!(
            location
                .as_str()
                .starts_with("https://app.example.com/bigcommerce/auth?"),
            "{location}"
        );
        location.query_pairs().into_owned().collect()
    }
}
