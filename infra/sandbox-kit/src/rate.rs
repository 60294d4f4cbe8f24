//! Per-key rate windows: at most `quota` requests per `window` for each key (a store, a
//! shop and endpoint, …), as the platform counts them ([`WindowKind`]), with the count of
//! requests refused per key for `/sandbox/stats`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// How a platform counts requests against its quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    /// A window opens at a key's first request and lasts `window`; its quota is spent
    /// until it closes, then the next request opens a new one (BigCommerce's 30 s window).
    Fixed,
    /// The requests of the last `window`, counted at each request (TikTok's per-second
    /// limit).
    Sliding,
}

/// A platform's rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window and key.
    pub quota: u32,
    /// Window length.
    pub window: Duration,
    /// How requests are counted.
    pub kind: WindowKind,
}

/// The outcome of one request against its key's window, with what the platform's
/// rate-limit headers report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the request is let through (refused requests do not count against the quota).
    pub admitted: bool,
    /// Requests still allowed in the window after this one (0 when refused).
    pub left: u32,
    /// Time until the window frees a request (at least 1 ms).
    pub reset: Duration,
}

enum Window {
    Fixed { started: Instant, used: u32 },
    Sliding(VecDeque<Instant>),
}

#[derive(Default)]
struct Windows {
    by_key: HashMap<String, Window>,
    throttled: BTreeMap<String, u64>,
}

/// The windows of every key under one [`RateLimit`], and the requests refused per key.
pub struct RateWindows {
    limit: RateLimit,
    windows: Mutex<Windows>,
}

impl RateWindows {
    /// Empty windows under `limit`.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            windows: Mutex::default(),
        }
    }

    /// The limit in force.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Counts one request of `key` now: admitted while the window has quota left,
    /// refused (and counted in [`RateWindows::throttled`]) otherwise.
    pub fn take(&self, key: &str) -> Verdict {
        self.take_at(key, Instant::now())
    }

    fn take_at(&self, key: &str, now: Instant) -> Verdict {
        let RateLimit { quota, window, kind } = self.limit;
        let mut windows = self.windows.lock().expect("rate windows lock");
        let entry = windows.by_key.entry(key.to_string()).or_insert_with(|| match kind {
            WindowKind::Fixed => Window::Fixed { started: now, used: 0 },
            WindowKind::Sliding => Window::Sliding(VecDeque::new()),
        });
        let (admitted, used, reset) = match entry {
            Window::Fixed { started, used } => {
                if now.duration_since(*started) >= window {
                    (*started, *used) = (now, 0);
                }
                let admitted = *used < quota;
                *used += u32::from(admitted);
                (admitted, *used, window.saturating_sub(now.duration_since(*started)))
            }
            Window::Sliding(times) => {
                while times.front().is_some_and(|t| now.duration_since(*t) >= window) {
                    times.pop_front();
                }
                let admitted = times.len() < quota as usize;
                if admitted {
                    times.push_back(now);
                }
                let oldest = times.front().copied().unwrap_or(now);
                (
                    admitted,
                    times.len() as u32,
                    window.saturating_sub(now.duration_since(oldest)),
                )
            }
        };
        if !admitted {
            *windows.throttled.entry(key.to_string()).or_default() += 1;
        }
        Verdict {
            admitted,
            left: quota.saturating_sub(used),
            reset: reset.max(Duration::from_millis(1)),
        }
    }

    /// Requests refused so far, per key.
    pub fn throttled(&self) -> BTreeMap<String, u64> {
        self.windows.lock().expect("rate windows lock").throttled.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows(kind: WindowKind) -> RateWindows {
        RateWindows::new(RateLimit {
            quota: 3,
            window: Duration::from_secs(30),
            kind,
        })
    }

    #[test]
    fn a_fixed_window_refuses_past_its_quota_until_it_closes() {
        let windows = windows(WindowKind::Fixed);
        let start = Instant::now();
        let verdicts: Vec<_> = (0..4).map(|_| windows.take_at("store", start)).collect();
        assert_eq!(
            verdicts.iter().map(|v| (v.admitted, v.left)).collect::<Vec<_>>(),
            [(true, 2), (true, 1), (true, 0), (false, 0)]
        );
        assert_eq!(verdicts[3].reset, Duration::from_secs(30));
        let later = windows.take_at("store", start + Duration::from_secs(20));
        assert!(!later.admitted);
        assert_eq!(later.reset, Duration::from_secs(10));
        assert!(windows.take_at("other", start).admitted, "keys are counted apart");
        let next = windows.take_at("store", start + Duration::from_secs(30));
        assert_eq!((next.admitted, next.left), (true, 2), "a new window");
        assert_eq!(windows.throttled(), BTreeMap::from([("store".to_string(), 2)]));
    }

    #[test]
    fn a_sliding_window_frees_each_request_a_window_after_it() {
        let windows = windows(WindowKind::Sliding);
        let start = Instant::now();
        for second in [0, 10, 20] {
            assert!(windows.take_at("key", start + Duration::from_secs(second)).admitted);
        }
        let refused = windows.take_at("key", start + Duration::from_secs(25));
        assert!(!refused.admitted);
        assert_eq!(
            refused.reset,
            Duration::from_secs(5),
            "the first request leaves at 30 s"
        );
        let freed = windows.take_at("key", start + Duration::from_secs(30));
        assert_eq!((freed.admitted, freed.left), (true, 0));
        assert_eq!(windows.throttled()["key"], 1);
    }
}
