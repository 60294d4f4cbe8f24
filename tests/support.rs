//! Helpers for the end-to-end tests: start a local stack on a free port.

pub mod chromium;

use connector_local::{Args, Running, start};

/// Starts the whole connector in this process with a fresh embedded store (or
/// DynamoDB/SQS when `aws` is true); with `sandbox` also both sandboxes.
pub async fn local_stack(data_dir: &std::path::Path, aws: bool, sandbox: bool) -> Running {
    let args = Args {
        addr: "127.0.0.1:0".parse().expect("valid address"),
        data_dir: data_dir.to_path_buf(),
        aws,
        table: format!("e2e-{}", uuid::Uuid::new_v4().simple()),
        sandbox,
        // The tests push hundreds of orders through one store: a generous plan.
        sandbox_store_quota: 100_000,
    };
    start(&args).await.expect("local stack starts")
}
