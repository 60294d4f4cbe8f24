//! Lambda `retry-sweeper`: re-drives failed jobs and orders with back-off and parks the hopeless.

#[tokio::main]
async fn main() -> Result<(), connector::lambda::Error> {
    connector::lambda::run_schedule(connector::schedules::Schedule::SweepRetries).await
}
