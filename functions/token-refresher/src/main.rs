//! Lambda `token-refresher`: refreshes TikTok access tokens well before they expire.

#[tokio::main]
async fn main() -> Result<(), connector::lambda::Error> {
    connector::lambda::run_schedule(connector::schedules::Schedule::RefreshTokens).await
}
