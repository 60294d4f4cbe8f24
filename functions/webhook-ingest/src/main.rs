//! Lambda `webhook-ingest`: verifies TikTok and store webhooks, answers at once and enqueues a job.

#[tokio::main]
async fn main() -> Result<(), connector::lambda::Error> {
    connector::http::run_lambda(connector::http::webhook_routes()).await
}
