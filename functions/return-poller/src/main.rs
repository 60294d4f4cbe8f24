//! Lambda `return-poller`: finds returns, refunds and cancellation requests and enqueues them.

#[tokio::main]
async fn main() -> Result<(), connector::lambda::Error> {
    connector::lambda::run_schedule(connector::schedules::Schedule::PollReturns).await
}
