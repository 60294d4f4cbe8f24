//! Lambda `stock-reconciler`: compares TikTok stock with the store every hour and repairs drift.

#[tokio::main]
async fn main() -> Result<(), connector::lambda::Error> {
    connector::lambda::run_schedule(connector::schedules::Schedule::ReconcileStock).await
}
