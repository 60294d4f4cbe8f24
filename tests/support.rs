//! Helpers for the end-to-end tests: start a local stack on a free port.

pub mod chromium;

use connector_local::{Args, Running, start};

/// Starts the whole connector in this process with a fresh embedded store (or
/// DynamoDB/SQS when `aws` is true); with `sandbox` also both sandboxes.
pub async fn local_stack(data_dir: &std::path::Path, aws: bool, sandbox: bool) -> Running {
    local_stack_with(data_dir, aws, sandbox, 60).await
}

/// [`local_stack`] with `products` seeded in the BigCommerce sandbox store (and a
/// TikTok daily listing limit above it).
pub async fn local_stack_with(data_dir: &std::path::Path, aws: bool, sandbox: bool, products: usize) -> Running {
    let args = Args {
        addr: "127.0.0.1:0".parse().expect("valid address"),
        data_dir: data_dir.to_path_buf(),
        aws,
        table: format!("e2e-{}", uuid::Uuid::new_v4().simple()),
        sandbox,
        // The tests push hundreds of orders through one store: a generous plan.
        sandbox_store_quota: 100_000,
        sandbox_products: products,
        sandbox_listing_limit: 1000.max(products as u32 * 2),
    };
    start(&args).await.expect("local stack starts")
}
