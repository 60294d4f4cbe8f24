//! Lambda `oauth-callback`: BigCommerce install/load/uninstall callbacks and the TikTok authorization flow.

#[tokio::main]
async fn main() -> Result<(), connector::lambda::Error> {
    connector::http::run_lambda(connector::http::oauth_routes()).await
}
