//! Client-side pacing: requests with the same key (shop + endpoint) are spaced evenly
//! at `1 / rate`, so no one-second window ever holds more than `rate + 1` of them.
//! TikTok's limit is 50 per second per (app, shop, endpoint); the default rate is 40.
//! [`RateLimiter`] paces one process; [`SharedBudget`] keeps the next free slot of each
//! key in the table, so every worker instance serving a shop shares one budget, and
//! leases [`LEASED_SLOTS`] slots per table write, so a call costs a fraction of one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::storage::{Condition, Item, StorageError, Table};

/// Something that hands out request slots per key.
#[async_trait]
pub trait RateBudget: Send + Sync {
    /// Waits for the next free slot of `key`.
    async fn acquire(&self, key: &str);
}

#[async_trait]
impl RateBudget for RateLimiter {
    async fn acquire(&self, key: &str) {
        RateLimiter::acquire(self, key).await;
    }
}

/// Slots one table write leases to a process: the first is used at once, the others
/// by its next calls on the same key while they are still ahead of the clock.
pub const LEASED_SLOTS: i64 = 4;

/// Slots spaced `1 / rate` apart, claimed through the table with optimistic writes,
/// [`LEASED_SLOTS`] at a time.
pub struct SharedBudget {
    table: Arc<dyn Table>,
    interval_ms: i64,
    /// Leased slots not yet used, by key: the next one and the lease's end (Unix ms).
    leased: Mutex<HashMap<String, (i64, i64)>>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl SharedBudget {
    /// At most `per_second` slots per second per key, across every process using `table`.
    pub fn new(table: Arc<dyn Table>, per_second: u32) -> Self {
        Self {
            table,
            interval_ms: 1000 / i64::from(per_second.max(1)),
            leased: Mutex::default(),
        }
    }

    /// The next leased slot of `key` still ahead of the clock (slots that passed unused
    /// are dropped, never sent late in a bunch), if the lease has one.
    fn take_leased(&self, key: &str) -> Option<i64> {
        let mut leased = self.leased.lock().expect("lease lock");
        let (next, end) = leased.get_mut(key)?;
        let now = now_ms();
        while *next < now && *next < *end {
            *next += self.interval_ms;
        }
        (*next < *end).then(|| {
            let slot = *next;
            *next += self.interval_ms;
            slot
        })
    }

    /// Claims the next slot, from this process's lease or a new one; returns when it
    /// starts (Unix ms).
    async fn claim(&self, key: &str) -> Result<i64, StorageError> {
        if let Some(slot) = self.take_leased(key) {
            return Ok(slot);
        }
        let pk = format!("RATE#{key}");
        loop {
            let now = now_ms();
            let stored = self.table.get(&pk, "SLOT").await?;
            let next_free = stored.as_ref().and_then(|i| i.data["next_ms"].as_i64()).unwrap_or(0);
            let slot = next_free.max(now);
            let end = slot + LEASED_SLOTS * self.interval_ms;
            let mut item =
                Item::new(pk.clone(), "SLOT", serde_json::json!({"next_ms": end})).with_expiry(slot / 1000 + 3600);
            let written = match stored {
                Some(previous) => {
                    item.version = previous.version;
                    self.table.put_versioned(item).await.map(drop)
                }
                None => self.table.put(item, Condition::Absent).await,
            };
            match written {
                Ok(()) => {
                    let lease = (slot + self.interval_ms, end);
                    self.leased.lock().expect("lease lock").insert(key.to_string(), lease);
                    return Ok(slot);
                }
                // Another worker took this slot: read again.
                Err(StorageError::ConditionFailed { .. }) => continue,
                Err(error) => return Err(error),
            }
        }
    }
}

#[async_trait]
impl RateBudget for SharedBudget {
    async fn acquire(&self, key: &str) {
        match self.claim(key).await {
            Ok(slot) => {
                let wait = slot - now_ms();
                if wait > 0 {
                    tokio::time::sleep(Duration::from_millis(wait as u64)).await;
                }
            }
            // Without the table the call still goes out; TikTok's 429 is retried.
            Err(error) => tracing::warn!(key, %error, "shared rate budget unavailable"),
        }
    }
}

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
