//! Lambda `product-worker`: catalogue jobs from the product queue (imports, uploads, price and stock).

#[tokio::main]
async fn main() -> Result<(), connector::lambda::Error> {
    connector::lambda::run_sqs().await
}
