//! A small chaos run (300 orders and 300 stock changes under every injected fault),
//! in-process and, when `AWS_ENDPOINT_URL` is set, on DynamoDB and SQS.

use std::time::Duration;

use connector_e2e::chaos::{Plan, run};

async fn small_run(aws: bool) {
    let report = run(&Plan::new(300, 300, Duration::from_secs(240), aws, 7))
        .await
        .expect("the run is made");
    println!("{report}");
    assert_eq!(report.violations(), Vec::<String>::new(), "{report}");
    assert_eq!(report.orders, 300);
    let injected: u64 = report.faults.values().sum();
    assert!(injected > 0, "faults were injected: {:?}", report.faults);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_chaos_run_in_process_loses_duplicates_and_oversells_nothing() {
    small_run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_chaos_run_on_dynamodb_and_sqs_loses_duplicates_and_oversells_nothing() {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        eprintln!("AWS_ENDPOINT_URL is not set: skipped (scripts/test sets it)");
        return;
    }
    small_run(true).await;
}
