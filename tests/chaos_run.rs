//! A small chaos run under every injected fault: 300 orders and 300 stock changes
//! in-process and, when `AWS_ENDPOINT_URL` is set, 150 and 150 on DynamoDB and SQS
//! (moto answers one request at a time; the 10,000 + 10,000 run is the `chaos` command).

use std::time::Duration;

use connector_e2e::chaos::{Plan, run};

/// The runs take turns: two at once on 2 cores slow each other more than they gain.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn small_run(aws: bool) {
    let _turn = ONE_AT_A_TIME.lock().await;
    // Faults stay on until every order has landed or half the time left is spent, then
    // the stack must settle within the rest. In-process that takes about 150 s. On moto
    // (half the size: moto answers one request at a time) 147 of 150 orders land within
    // 150 s; the last few, hit again and again by crashes after a write and waiting out
    // 180 s visibility timeouts, land about 25 s after the faults stop. A limit of 1,500 s
    // kept the faults on for 12 minutes of that wait; 600 s keeps them on for about 285 s.
    let limit = Duration::from_secs(if aws { 600 } else { 240 });
    let size = if aws { 150 } else { 300 };
    let report = run(&Plan::new(size, size, limit, aws, 7))
        .await
        .expect("the run is made");
    println!("{report}");
    assert_eq!(report.violations(), Vec::<String>::new(), "{report}");
    assert_eq!(report.orders, size);
    let injected: u64 = report.faults.values().sum();
    assert!(injected > 0, "faults were injected: {:?}", report.faults);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_chaos_run_in_process_loses_duplicates_and_oversells_nothing() {
    small_run(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_chaos_run_on_dynamodb_and_sqs_loses_duplicates_and_oversells_nothing() {
    if !connector_e2e::emulator_given() {
        return;
    }
    small_run(true).await;
}
