//! Client-side pacing: requests with the same key (shop + endpoint) are spaced evenly
//! at `1 / rate`, so no one-second window ever holds more than `rate + 1` of them.
//! TikTok's limit is 50 per second per (app, shop, endpoint); the default rate is 40.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Evenly spaced slots per key.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next_slot: Mutex<HashMap<String, Instant>>,
}

impl RateLimiter {
    /// At most `per_second` requests per second per key.
    pub fn new(per_second: u32) -> Self {
        Self {
            interval: Duration::from_secs(1) / per_second.max(1),
            next_slot: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for the next free slot of `key`.
    pub async fn acquire(&self, key: &str) {
        let slot = {
            let mut slots = self.next_slot.lock().expect("limiter lock");
            let now = Instant::now();
            let slot = slots.get(key).copied().filter(|next| *next > now).unwrap_or(now);
            slots.insert(key.to_string(), slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_is_spread_at_the_configured_rate_per_key() {
        let limiter = RateLimiter::new(40);
        let start = Instant::now();
        for _ in 0..81 {
            limiter.acquire("shop-1|update_inventory").await;
        }
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(2000),
            "81 requests at 40/s take 2 s"
        );
        let other = Instant::now();
        limiter.acquire("shop-2|update_inventory").await;
        assert_eq!(other.elapsed(), Duration::ZERO, "other keys are not slowed");
    }
}
