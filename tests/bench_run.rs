//! The `bench` command at a small size, so it keeps working between its full runs: each
//! section it writes must hold every sample it sent for (every order and stock change
//! arrived, every webhook was queued, every product settled without a 429). Figures
//! are not checked against their goals: a slow machine is not a failure.

use std::process::Command;

/// Runs `bench` with `args`, writing into a fresh file; returns the file's text.
fn bench(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = dir.path().join("benchmarks.md");
    let status = Command::new(env!("CARGO_BIN_EXE_bench"))
        .arg("--out")
        .arg(&out)
        .args(args)
        .env_remove("RUST_LOG")
        .status()
        .expect("bench starts");
    assert!(status.success(), "bench {args:?} failed: {status}");
    std::fs::read_to_string(&out).expect("bench wrote its section")
}

/// The row of `figure` in a section's Markdown.
fn row<'a>(text: &'a str, figure: &str) -> &'a str {
    text.lines()
        .find(|line| line.starts_with(&format!("| {figure}")))
        .unwrap_or_else(|| panic!("no row {figure:?} in:\n{text}"))
}

#[test]
fn the_flows_bench_sees_every_order_and_stock_change_arrive() {
    let text = bench(&[
        "flows",
        "--orders",
        "20",
        "--stock-changes",
        "30",
        "--sales",
        "5",
        "--dropped",
        "0",
        "--mode",
        "loopback",
    ]);
    assert!(text.contains("<!-- bench:flows-loopback -->"), "{text}");
    assert!(
        row(&text, "Order intake, webhook → store order (loopback)")
            .starts_with("| Order intake, webhook → store order (loopback) | 20 |"),
        "every order arrived:\n{text}"
    );
    assert!(
        row(&text, "Storefront sale → TikTok stock lowered (loopback)").contains("| 5 |"),
        "{text}"
    );
    assert!(text.contains("0 single changes and 0 bursts did not show"), "{text}");
}

#[test]
fn the_webhook_bench_queues_every_notification() {
    let text = bench(&["webhooks", "--count", "300"]);
    assert!(
        row(&text, "Handler latency, one at a time").contains("| 300 |"),
        "{text}"
    );
    assert!(text.contains("all 600 verified and queued"), "{text}");
}

#[test]
fn the_upload_bench_settles_every_product_without_a_429() {
    let text = bench(&["upload", "--products", "60"]);
    assert!(row(&text, "TikTok 429 answers").contains("| 0 |"), "{text}");
    assert!(text.contains("Products settled per minute"), "{text}");
}
