//! Lambda `settings-api`: the hosted settings page and its JSON API, bound to one store per session.

#[tokio::main]
async fn main() -> Result<(), connector::lambda::Error> {
    connector::lambda::run_http(connector::http::settings_routes()).await
}
