//! Operational metrics in CloudWatch Embedded Metric Format (EMF): recorded where they
//! happen (an order reaching the store, a stock job done, a job parked, every TikTok
//! and store API call), kept in memory, and written to stdout by [`flush`] at the end
//! of each Lambda invocation, where CloudWatch Logs turns each EMF document into
//! metrics under the namespace `METRICS_NAMESPACE` (the template sets
//! `TikTokShopConnector/<stack>`). Outside Lambda (no `AWS_LAMBDA_FUNCTION_NAME`) the
//! values are dropped at [`flush`], so local runs print none.
//!
//! Format: `{"_aws": {"Timestamp": ms, "CloudWatchMetrics": [{"Namespace", "Dimensions",
//! "Metrics": [{"Name", "Unit"}]}]}, "<Name>": value or [values], "Shop": id}` as the
//! CloudWatch EMF specification gives it. Every metric has the dimension set `[]` (the
//! whole stack, what the alarms watch); those of [`Metric::per_shop`] also `["Shop"]`
//! (a TikTok shop id), kept to the few where one shop's trouble must stand out, since
//! each shop's series is a custom metric billed on its own.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    /// Milliseconds from TikTok's last change of an order (`update_time`) to its store
    /// order existing.
    OrderIntakeLag,
    /// Milliseconds from a stock job's first enqueue (the store change it carries, its
    /// coalescing delay and any retries included) to TikTok holding the new stock.
    StockSyncLag,
    /// Jobs parked for the merchant (after their retries, or at once when only the
    /// merchant can fix them).
    JobsParked,
    /// TikTok Open API calls sent (each attempt).
    TikTokApiCalls,
    /// TikTok answers that said the rate limit was reached (429, `36009002`).
    TikTokRateLimited,
    /// Store API calls sent (each attempt; BigCommerce, Magento 2, PrestaShop).
    StoreApiCalls,
    /// Store answers that said the rate limit was reached (429).
    StoreRateLimited,
}

impl Metric {
    /// The metric's name in CloudWatch.
    pub fn name(self) -> &'static str {
        match self {
            Metric::OrderIntakeLag => "OrderIntakeLag",
            Metric::StockSyncLag => "StockSyncLag",
            Metric::JobsParked => "JobsParked",
            Metric::TikTokApiCalls => "TikTokApiCalls",
            Metric::TikTokRateLimited => "TikTokRateLimited",
            Metric::StoreApiCalls => "StoreApiCalls",
            Metric::StoreRateLimited => "StoreRateLimited",
        }
    }

    /// `Milliseconds` for lags, `Count` for the rest (EMF units).
    pub fn unit(self) -> &'static str {
        match self {
            Metric::OrderIntakeLag | Metric::StockSyncLag => "Milliseconds",
            _ => "Count",
        }
    }

    /// Whether the metric also gets the `Shop` dimension.
    pub fn per_shop(self) -> bool {
        // Stock jobs are per store product, not per shop: their lag has no shop.
        matches!(self, Metric::OrderIntakeLag | Metric::TikTokRateLimited)
    }

    /// Whether values are summed in one number (counts) rather than kept each
    /// (lags, whose percentiles matter).
    fn summed(self) -> bool {
        self.unit() == "Count"
    }
}

/// EMF takes at most 100 values of one metric in one document.
const MAX_VALUES: usize = 100;

/// Values recorded and not yet written, by shop (`None`: no shop) and metric.
#[derive(Default)]
pub struct Recorder(Mutex<BTreeMap<Option<String>, BTreeMap<Metric, Vec<f64>>>>);

/// The process's recorder, written out by [`flush`].
static RECORDER: Recorder = Recorder(Mutex::new(BTreeMap::new()));

impl Recorder {
    /// Records `value` of `metric`; `shop` (a TikTok shop id) is kept only for
    /// [`Metric::per_shop`] metrics.
    pub fn record(&self, metric: Metric, shop: Option<&str>, value: f64) {
        let shop = shop.filter(|_| metric.per_shop()).map(str::to_string);
        let mut pending = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let values = pending.entry(shop).or_default().entry(metric).or_default();
        match values.first_mut() {
            Some(total) if metric.summed() => *total += value,
            _ => values.push(value),
        }
    }

    /// Takes everything recorded so far as EMF documents stamped `timestamp_ms` in
    /// `namespace`: one per shop (and one without), split so no metric carries more
    /// than 100 values in one document.
    pub fn take_documents(&self, namespace: &str, timestamp_ms: i64) -> Vec<serde_json::Value> {
        let pending = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        let mut documents = Vec::new();
        for (shop, metrics) in pending {
            let chunks = metrics
                .values()
                .map(|v| v.len().div_ceil(MAX_VALUES))
                .max()
                .unwrap_or(0);
            for chunk in 0..chunks {
                documents.push(document(namespace, timestamp_ms, shop.as_deref(), &metrics, chunk));
            }
        }
        documents
    }
}

/// The `chunk`th EMF document of one shop's (or the shop-less) values.
fn document(
    namespace: &str,
    timestamp_ms: i64,
    shop: Option<&str>,
    metrics: &BTreeMap<Metric, Vec<f64>>,
    chunk: usize,
) -> serde_json::Value {
    let mut document = serde_json::Map::new();
    let mut definitions = Vec::new();
    for (metric, values) in metrics {
        let part: Vec<f64> = values
            .iter()
            .skip(chunk * MAX_VALUES)
            .take(MAX_VALUES)
            .copied()
            .collect();
        let value = match part.as_slice() {
            [] => continue,
            [one] => serde_json::json!(one),
            many => serde_json::json!(many),
        };
        definitions.push(serde_json::json!({"Name": metric.name(), "Unit": metric.unit()}));
        document.insert(metric.name().to_string(), value);
    }
    let dimensions = match shop {
        Some(shop) => {
            document.insert("Shop".to_string(), serde_json::json!(shop));
            serde_json::json!([[], ["Shop"]])
        }
        None => serde_json::json!([[]]),
    };
    document.insert(
        "_aws".to_string(),
        serde_json::json!({"Timestamp": timestamp_ms, "CloudWatchMetrics": [{
            "Namespace": namespace, "Dimensions": dimensions, "Metrics": definitions}]}),
    );
    serde_json::Value::Object(document)
}

/// Records `value` of `metric` in the process's recorder (see [`Recorder::record`]).
pub fn record(metric: Metric, shop: Option<&str>, value: f64) {
    RECORDER.record(metric, shop, value);
}

/// Counts one occurrence of `metric`.
pub fn count(metric: Metric, shop: Option<&str>) {
    record(metric, shop, 1.0);
}

/// Records the milliseconds from `since_ms` (Unix milliseconds) to now, never below 0.
pub fn lag(metric: Metric, shop: Option<&str>, since_ms: i64) {
    let now = jiff::Timestamp::now().as_millisecond();
    record(metric, shop, (now - since_ms).max(0) as f64);
}

/// Takes what was recorded so far as each metric's total over every shop (a count's
/// occurrences, a lag's summed milliseconds). Outside Lambda nothing is flushed: the
/// local benchmark reads its call counts this way.
pub fn take_totals() -> BTreeMap<Metric, f64> {
    let pending = std::mem::take(&mut *RECORDER.0.lock().unwrap_or_else(PoisonError::into_inner));
    let mut totals = BTreeMap::new();
    for (metric, values) in pending.into_values().flatten() {
        *totals.entry(metric).or_default() += values.iter().sum::<f64>();
    }
    totals
}

/// The namespace when `METRICS_NAMESPACE` is not set.
pub const DEFAULT_NAMESPACE: &str = "TikTokShopConnector";

/// Writes what was recorded during this invocation to stdout as EMF lines (under
/// Lambda only; elsewhere it is dropped). Called by the Lambda entry points after
/// each invocation.
pub fn flush() {
    let namespace = std::env::var("METRICS_NAMESPACE").unwrap_or_else(|_| DEFAULT_NAMESPACE.to_string());
    let documents = RECORDER.take_documents(&namespace, jiff::Timestamp::now().as_millisecond());
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_none() {
        return;
    }
    let mut lines = String::new();
    for document in documents {
        lines.push_str(&document.to_string());
        lines.push('\n');
    }
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(lines.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_follow_the_emf_shape_with_counts_summed_and_lags_kept() {
        let recorder = Recorder::default();
        recorder.record(Metric::TikTokApiCalls, Some("7494"), 1.0);
        recorder.record(Metric::TikTokApiCalls, None, 1.0);
        recorder.record(Metric::TikTokRateLimited, Some("7494"), 1.0);
        recorder.record(Metric::OrderIntakeLag, Some("7494"), 1200.0);
        recorder.record(Metric::OrderIntakeLag, Some("7494"), 300.0);
        for _ in 0..150 {
            recorder.record(Metric::StockSyncLag, None, 5.0);
        }
        let documents = recorder.take_documents("Test/ns", 1_795_978_800_000);
        let for_shop: Vec<_> = documents.iter().filter(|d| d["Shop"] == "7494").collect();
        assert_eq!(for_shop.len(), 1);
        let shop = for_shop[0];
        assert_eq!(shop["OrderIntakeLag"], serde_json::json!([1200.0, 300.0]));
        assert_eq!(shop["TikTokRateLimited"], serde_json::json!(1.0));
        let directive = &shop["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Test/ns");
        assert_eq!(directive["Dimensions"], serde_json::json!([[], ["Shop"]]));
        assert_eq!(shop["_aws"]["Timestamp"], 1_795_978_800_000_i64);
        // API calls are not per shop: both land in the shop-less document, summed.
        let whole: Vec<_> = documents.iter().filter(|d| d.get("Shop").is_none()).collect();
        assert_eq!(whole[0]["TikTokApiCalls"], serde_json::json!(2.0));
        // 150 lag values need two documents of at most 100.
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[0]["StockSyncLag"].as_array().unwrap().len(), 100);
        assert_eq!(whole[1]["StockSyncLag"].as_array().unwrap().len(), 50);
        assert!(whole[1].get("TikTokApiCalls").is_none(), "a count is written once");
        assert!(
            recorder.take_documents("Test/ns", 0).is_empty(),
            "taken documents are gone"
        );
    }
}
