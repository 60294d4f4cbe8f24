//! Lambda `order-poller`: finds TikTok orders changed since each shop's cursor and enqueues them.

#[tokio::main]
async fn main() -> Result<(), connector::lambda::Error> {
    connector::lambda::run_schedule(connector::schedules::Schedule::PollOrders).await
}
