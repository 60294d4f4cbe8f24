//! A bulk upload: the store seeded with N products, imported and uploaded to the US
//! shop by the onboarding flow, until every listing is live or says why not. TikTok's
//! request counters (per shop and endpoint) are sampled every second, so each
//! endpoint's rate is measured against its limit of 50 requests per second.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use connector::catalog::records;
use connector::metrics::Metric;
use connector_local::onboard_sandbox;

use crate::report::{Figure, Section};

/// TikTok's limit per shop and endpoint, requests per second.
const LIMIT: f64 = 50.0;

/// Uploads `products` products and reports the busiest endpoints' rates, the 429s and
/// products per minute.
pub async fn upload(products: usize) -> anyhow::Result<Section> {
    let mut section = Section::new("upload", format!("Bulk upload of {products} products"));
    let data = tempfile::tempdir()?;
    let running = connector_e2e::local_stack_with(data.path(), false, true, products).await;
    let sandboxes = running.sandboxes.clone().expect("sandbox mode");
    connector::metrics::take_totals();
    let started = Instant::now();
    // Per-second samples of every endpoint's request count, taken while the upload runs.
    let samples: Arc<Mutex<Vec<HashMap<String, u64>>>> = Arc::default();
    let sampler = {
        let (tiktok, samples) = (sandboxes.tiktok_sandbox.clone(), samples.clone());
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(1));
            loop {
                ticks.tick().await;
                let counts = tiktok.lock().requests.clone();
                samples.lock().expect("samples").push(counts);
            }
        })
    };
    onboard_sandbox(&running).await?;
    let imported = started.elapsed();
    let table = running.app.table.as_ref();
    let shop = connector::accounts::list_shops(table, "sbx1store")
        .await?
        .into_iter()
        .find(|s| s.region == "US")
        .ok_or_else(|| anyhow::anyhow!("no US shop"))?
        .shop_id;
    let counts = loop {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for listing in records::shop_listings(table, "sbx1store", &shop).await? {
            *counts.entry(format!("{:?}", listing.status)).or_default() += 1;
        }
        let busy = ["Queued", "Uploading", "PendingReview"];
        if counts.values().sum::<usize>() >= products && busy.iter().all(|s| !counts.contains_key(*s)) {
            break counts;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(7_200),
            "the upload did not settle in 2 hours"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let settled = started.elapsed();
    sampler.abort();
    let last = sandboxes.tiktok_sandbox.lock().requests.clone();
    let samples = std::mem::take(&mut *samples.lock().expect("samples"));
    let live = counts.get("Live").copied().unwrap_or(0);
    section.push(Figure::value(
        "Products settled per minute (import to live or refused with reasons)",
        format!("{:.0}", products as f64 / settled.as_secs_f64() * 60.0),
        None,
    ));
    for (endpoint, rate, peak) in busiest(&samples, &last, 4) {
        section.push(Figure::value(
            format!("{endpoint}: requests per second while busy (peak second)"),
            format!("{rate:.1} ({peak})"),
            Some(("≥ 45 on the busiest, ≤ 50".into(), rate >= 45.0 && peak as f64 <= LIMIT)),
        ));
    }
    let stats: serde_json::Value = reqwest::get(format!("{}/sandbox/stats", sandboxes.tiktok))
        .await?
        .json()
        .await?;
    let throttled = stats["throttled"].as_u64().unwrap_or(0);
    section.push(Figure::value(
        "TikTok 429 answers",
        throttled.to_string(),
        Some(("0".into(), throttled == 0)),
    ));
    let calls = connector::metrics::take_totals();
    let store_calls = calls.get(&Metric::StoreApiCalls).copied().unwrap_or(0.0);
    section.push(Figure::value(
        "BigCommerce calls per uploaded product",
        format!("{:.2}", store_calls / products as f64),
        None,
    ));
    section.note(format!(
        "Imported in {:.0} s, settled in {:.0} s: {live} live, the rest refused with their reasons ({counts:?}).",
        imported.as_secs_f64(),
        settled.as_secs_f64()
    ));
    section.note("A rate is the endpoint's requests over the seconds in which it had any, for the US shop; the peak is its busiest one-second sample.");
    Ok(section)
}

/// The `top` endpoints with the most requests: (endpoint, mean rate over its busy
/// seconds, busiest second).
fn busiest(samples: &[HashMap<String, u64>], last: &HashMap<String, u64>, top: usize) -> Vec<(String, f64, u64)> {
    let mut totals: Vec<(&String, &u64)> = last.iter().filter(|(key, _)| !key.starts_with("-|")).collect();
    totals.sort_by(|a, b| b.1.cmp(a.1));
    totals
        .into_iter()
        .take(top)
        .map(|(key, total)| {
            let per_second: Vec<u64> = samples
                .windows(2)
                .map(|w| w[1].get(key).copied().unwrap_or(0) - w[0].get(key).copied().unwrap_or(0))
                .collect();
            let busy = per_second.iter().filter(|n| **n > 0).count().max(1);
            let peak = per_second.iter().copied().max().unwrap_or(*total);
            let endpoint = key.split_once('|').map_or(key.as_str(), |(_, e)| e).to_string();
            (endpoint, *total as f64 / busy as f64, peak)
        })
        .collect()
}
