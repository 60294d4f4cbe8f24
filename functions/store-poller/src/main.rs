//! Lambda `store-poller`: reads each store's changes from its platform (the feed of
//! platforms without webhooks, the recovery of dropped deliveries for the others) and
//! handles each once.

#[tokio::main]
async fn main() -> Result<(), connector::lambda::Error> {
    connector::lambda::run_schedule(connector::schedules::Schedule::PollStores).await
}
