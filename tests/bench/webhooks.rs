//! Webhook intake on one core: signed TikTok order notifications (each with its own
//! `tts_notification_id`, as TikTok sends them) through the connector's router (the
//! `webhook-ingest` function's handler: verify the signature, check freshness,
//! de-duplicate, find the shop's store, note the webhook, queue the job), on a
//! single-threaded runtime pinned to one thread. The table is the embedded one in
//! memory and the queue the in-process one, so the figure is the handler's own cost;
//! under Lambda each table and queue call adds its network round trip.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use connector::storage::embedded::EmbeddedTable;
use futures_util::StreamExt as _;
use tower::ServiceExt as _;

use crate::report::{Figure, Section};

/// Requests in flight when measuring throughput.
const IN_FLIGHT: usize = 32;

/// Sends `count` notifications one at a time (the latency a single Lambda instance
/// sees) and `count` more with [`IN_FLIGHT`] at once (the core's throughput).
pub fn webhooks(count: usize) -> anyhow::Result<Section> {
    let setup = tokio::runtime::Runtime::new()?;
    let (running, _data) = setup.block_on(onboarded())?;
    // Only the router is measured: no workers, schedules or server take the core.
    for task in &running.tasks {
        task.abort();
    }
    let app = running.app.clone();
    let shop = setup
        .block_on(connector::accounts::list_shops(app.table.as_ref(), "sbx1store"))?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no shop connected"))?
        .shop_id;
    let signed = |i: usize| {
        let now = connector::storage::unix_now();
        let body = serde_json::json!({"type": 1, "tts_notification_id": format!("bench-{i}"), "shop_id": shop,
            "timestamp": now, "data": {"order_id": format!("5764{i:014}"), "order_status": "AWAITING_SHIPMENT",
            "update_time": now}})
        .to_string();
        let signature = tiktok_sandbox::signing::webhook_signature(
            &app.secrets.tiktok_app_key,
            app.secrets.tiktok_app_secret.expose(),
            body.as_bytes(),
        );
        Request::post("/webhooks/tiktok")
            .header("content-type", "application/json")
            .header("authorization", signature)
            .body(Body::from(body))
            .expect("a valid request")
    };
    let router = connector::http::serve(app.clone(), connector::http::all_routes());
    let core = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut section = Section::new("webhooks", "Webhook intake on one core");
    let requests: Vec<_> = (0..count).map(signed).collect();
    let sequential = core.block_on(async {
        let mut latencies = Vec::with_capacity(count);
        for request in requests {
            let started = Instant::now();
            let answer = router.clone().oneshot(request).await?;
            anyhow::ensure!(answer.status() == 200, "a webhook answered {}", answer.status());
            latencies.push(started.elapsed());
        }
        anyhow::Ok(latencies)
    })?;
    section.push(Figure::latency(
        "Handler latency, one at a time",
        sequential,
        Some(Duration::from_millis(20)),
    ));
    let requests: Vec<_> = (count..2 * count).map(signed).collect();
    let cpu_before = cpu_time()?;
    let (latencies, elapsed) = core.block_on(async {
        let started = Instant::now();
        let latencies: Vec<anyhow::Result<Duration>> = futures_util::stream::iter(requests)
            .map(|request| {
                let router = router.clone();
                async move {
                    let sent = Instant::now();
                    let answer = router.oneshot(request).await?;
                    anyhow::ensure!(answer.status() == 200, "a webhook answered {}", answer.status());
                    Ok(sent.elapsed())
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
        (latencies, started.elapsed())
    });
    let cpu = cpu_time()? - cpu_before;
    let latencies = latencies.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    let per_second = count as f64 / elapsed.as_secs_f64();
    let per_cpu_second = count as f64 / cpu.as_secs_f64().max(0.01);
    section.push(Figure::latency(
        format!("Handler latency, {IN_FLIGHT} in flight"),
        latencies,
        None,
    ));
    section.push(Figure::value(
        "Webhooks verified and queued per second of wall time, one runtime thread",
        format!("{per_second:.0}"),
        Some(("≥ 5,000".into(), per_second >= 5_000.0)),
    ));
    section.push(Figure::value(
        "Webhooks verified and queued per CPU second (all threads of the process)",
        format!("{per_cpu_second:.0}"),
        Some(("≥ 5,000".into(), per_cpu_second >= 5_000.0)),
    ));
    let queued = setup.block_on(async {
        let mut queued = 0;
        loop {
            let batch = app.order_queue.receive(10, Duration::ZERO).await?;
            if batch.is_empty() {
                break anyhow::Ok(queued);
            }
            queued += batch.len();
            for delivery in &batch {
                app.order_queue.ack(delivery).await?;
            }
        }
    })?;
    anyhow::ensure!(
        queued == 2 * count,
        "{queued} of {} notifications were queued",
        2 * count
    );
    section.note(format!(
        "{count} notifications one at a time, then {count} with {IN_FLIGHT} in flight, all {} verified and queued (counted on the order queue afterwards).",
        2 * count
    ));
    Ok(section)
}

/// The local stack on an in-memory table, onboarded through the sandboxes.
async fn onboarded() -> anyhow::Result<(connector_local::Running, tempfile::TempDir)> {
    let data = tempfile::tempdir()?;
    let args = connector_e2e::stack_args(data.path(), false, true, 60);
    let memory: Arc<dyn connector::storage::Table> = Arc::new(EmbeddedTable::in_memory()?);
    let running = connector_local::start_with(&args, Box::new(move |_| memory)).await?;
    connector_local::onboard_sandbox(&running).await?;
    Ok((running, data))
}

/// CPU time this process has used so far, user and system, all threads (from
/// `/proc/self/stat`, in clock ticks of 10 ms).
fn cpu_time() -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |field: usize| fields.get(field - 3).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    Ok(Duration::from_millis((ticks(14) + ticks(15)) * 10))
}
