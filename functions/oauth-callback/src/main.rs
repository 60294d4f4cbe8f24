//! Lambda `oauth-callback`: BigCommerce install/load/uninstall callbacks and the TikTok authorization flow.

#[tokio::main]
async fn main() -> Result<(), connector::lambda::Error> {
    connector::lambda::run_http(connector::http::oauth_routes()).await
}
