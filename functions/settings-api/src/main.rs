//! Lambda `settings-api`: the hosted settings page and its JSON API, bound to one store per session.

#[tokio::main]
async fn main() -> Result<(), connector::lambda::Error> {
    connector::http::run_lambda(connector::http::settings_routes()).await
}
