//! Helpers for the end-to-end tests: start a local stack on a free port.

use connector_local::{Args, Running, start};

/// Starts the whole connector in this process with a fresh embedded store
/// (or DynamoDB/SQS when `aws` is true).
pub async fn local_stack(data_dir: &std::path::Path, aws: bool) -> Running {
    let args = Args {
        addr: "127.0.0.1:0".parse().expect("valid address"),
        data_dir: data_dir.to_path_buf(),
        aws,
        table: format!("e2e-{}", std::process::id()),
        sandbox: false,
    };
    start(&args).await.expect("local stack starts")
}
