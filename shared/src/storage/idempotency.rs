//! Idempotency records: the "do this once" claim that webhooks, queue jobs and order
//! creation share. A claim is a conditional put; a claim whose holder crashed can be
//! taken over once its lease has run out; a completed record keeps the result until
//! its TTL so re-deliveries get the same answer.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Condition, Item, StorageError, Table, unix_now};

/// Outcome of [`claim`].
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// This caller holds the claim and must call [`complete`] or [`release`].
    Acquired,
    /// Another caller holds a live claim; try again later.
    InProgress,
    /// The work was done before; here is its stored result.
    Completed(serde_json::Value),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum Record {
    InProgress { lease_until: i64 },
    Completed { result: serde_json::Value },
}

fn keys(scope: &str, key: &str) -> (String, String) {
    (format!("IDEMP#{scope}#{key}"), "IDEMP".to_string())
}

fn record_item(scope: &str, key: &str, record: &Record, ttl: Duration) -> Item {
    let (pk, sk) = keys(scope, key);
    let data = serde_json::to_value(record).expect("record serializes");
    Item::new(pk, sk, data).with_expiry(unix_now() + ttl.as_secs() as i64)
}

/// Claims `key` in `scope` for `lease`; the record lives for `ttl`.
pub async fn claim(
    table: &dyn Table,
    scope: &str,
    key: &str,
    lease: Duration,
    ttl: Duration,
) -> Result<Claim, StorageError> {
    let holding = Record::InProgress {
        lease_until: unix_now() + lease.as_secs() as i64,
    };
    match table
        .put(record_item(scope, key, &holding, ttl), Condition::Absent)
        .await
    {
        Ok(()) => return Ok(Claim::Acquired),
        Err(StorageError::ConditionFailed { .. }) => {}
        Err(e) => return Err(e),
    }
    let (pk, sk) = keys(scope, key);
    let Some(stored) = table.get(&pk, &sk).await? else {
        // Expired between the put and the get: the next attempt will acquire it.
        return Ok(Claim::InProgress);
    };
    let record: Record = serde_json::from_value(stored.data.clone()).map_err(|e| StorageError::Corrupt {
        pk: pk.clone(),
        sk: sk.clone(),
        reason: e.to_string(),
    })?;
    match record {
        Record::Completed { result } => Ok(Claim::Completed(result)),
        Record::InProgress { lease_until } if lease_until > unix_now() => Ok(Claim::InProgress),
        Record::InProgress { .. } => {
            // The holder's lease ran out (it crashed or timed out): take over, once.
            let mut takeover = record_item(scope, key, &holding, ttl);
            takeover.version = stored.version;
            match table.put_versioned(takeover).await {
                Ok(_) => Ok(Claim::Acquired),
                Err(StorageError::ConditionFailed { .. }) => Ok(Claim::InProgress),
                Err(e) => Err(e),
            }
        }
    }
}

/// Marks the claimed work done and stores its result for later deliveries.
pub async fn complete(
    table: &dyn Table,
    scope: &str,
    key: &str,
    result: serde_json::Value,
    ttl: Duration,
) -> Result<(), StorageError> {
    table
        .put(
            record_item(scope, key, &Record::Completed { result }, ttl),
            Condition::None,
        )
        .await
}

/// Gives a claim back after a failure so a retry can acquire it at once.
pub async fn release(table: &dyn Table, scope: &str, key: &str) -> Result<(), StorageError> {
    let (pk, sk) = keys(scope, key);
    table.delete(&pk, &sk, Condition::None).await
}

/// What [`once`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Once {
    /// The work ran and succeeded; the key is recorded as done for its TTL.
    Ran,
    /// The key was done before, or another caller holds it: nothing ran.
    Duplicate,
}

/// Why [`once`] did not finish.
#[derive(Debug, thiserror::Error)]
pub enum OnceError<E> {
    /// The claim could not be read or written.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The work failed; the claim was given back so a retry runs it again.
    #[error(transparent)]
    Work(E),
}

/// Runs `work` once per `key` in `scope` within `ttl` (holding the claim for `lease`
/// while it runs): a duplicate (done before, or running elsewhere) runs nothing. A
/// failed `work` releases the claim, so the sender's retry runs it again.
pub async fn once<E, F, Fut>(
    table: &dyn Table,
    scope: &str,
    key: &str,
    lease: Duration,
    ttl: Duration,
    work: F,
) -> Result<Once, OnceError<E>>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), E>>,
{
    match claim(table, scope, key, lease, ttl).await? {
        Claim::Acquired => {}
        Claim::Completed(_) | Claim::InProgress => return Ok(Once::Duplicate),
    }
    match work().await {
        Ok(()) => {
            complete(table, scope, key, serde_json::json!({"done": true}), ttl).await?;
            Ok(Once::Ran)
        }
        Err(error) => {
            if let Err(release_error) = release(table, scope, key).await {
                tracing::error!(scope, key, %release_error, "could not release a failed claim");
            }
            Err(OnceError::Work(error))
        }
    }
}
