//! Lambda `webhook-ingest`: verifies TikTok and store webhooks, answers at once and enqueues a job.

#[tokio::main]
async fn main() -> Result<(), connector::lambda::Error> {
    connector::lambda::run_http(connector::http::webhook_routes()).await
}
