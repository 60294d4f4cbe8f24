//! Lambda `order-worker`: order jobs from the order queue (store orders, shipments, cancellations, returns).

#[tokio::main]
async fn main() -> Result<(), connector::lambda::Error> {
    connector::lambda::run_sqs().await
}
