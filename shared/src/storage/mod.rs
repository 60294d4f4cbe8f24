//! The persistence port: one small table interface with two adapters.
//!
//! Everything the connector stores lives in one multi-tenant table of items keyed by
//! `pk`/`sk`, with one secondary index (`gsi1`) for reverse look-ups and an optional
//! `expires_at` TTL. Repositories (see [`idempotency`]) are written once over [`Table`];
//! [`dynamodb::DynamoTable`] serves production and [`embedded::EmbeddedTable`] serves
//! local runs and unit tests with the same semantics.

pub mod dynamodb;
pub mod embedded;
pub mod idempotency;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// DynamoDB's hard limit on one item, enforced by both adapters.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// DynamoDB stops a query page after reading this much; both adapters cut pages there.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;
/// DynamoDB's limit on the number of operations in one transaction.
pub const MAX_TRANSACTION_OPS: usize = 100;

/// Errors of the storage port. Callers branch on the variant.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The write's condition did not hold (item exists, is absent, or has another version).
    #[error("condition failed for {pk}/{sk}")]
    ConditionFailed { pk: String, sk: String },
    /// A transaction was cancelled; nothing was written. Lists the failing operations.
    #[error("transaction cancelled; conditions failed at operations {failed_ops:?}")]
    TransactionCancelled { failed_ops: Vec<usize> },
    /// The encoded item exceeds [`MAX_ITEM_BYTES`].
    #[error("item {pk}/{sk} is {bytes} bytes, above the {MAX_ITEM_BYTES}-byte limit")]
    ItemTooLarge { pk: String, sk: String, bytes: usize },
    /// A page cursor that this table did not hand out, or for another partition.
    #[error("invalid page cursor: {0}")]
    InvalidCursor(String),
    /// A request the table cannot run (empty key, too many operations, ...).
    #[error("invalid storage request: {0}")]
    InvalidRequest(String),
    /// A stored item could not be decoded.
    #[error("stored item {pk}/{sk} is corrupt: {reason}")]
    Corrupt { pk: String, sk: String, reason: String },
    /// The backend failed (I/O, network, throttling); the operation may be retried.
    #[error("storage backend unavailable: {0}")]
    Unavailable(String),
}

/// Key of an item in the secondary index `gsi1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexKey {
    /// Partition of the index entry.
    pub pk: String,
    /// Sort key of the index entry.
    pub sk: String,
}

/// One stored record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Partition key: the tenant (`STORE#<hash>`) or a global namespace.
    pub pk: String,
    /// Sort key inside the partition.
    pub sk: String,
    /// Optional entry in the secondary index.
    pub gsi1: Option<IndexKey>,
    /// Optimistic-concurrency version, as stored; see [`Table::put_versioned`].
    pub version: u64,
    /// Unix seconds after which the item reads as absent.
    pub expires_at: Option<i64>,
    /// The record itself.
    pub data: serde_json::Value,
}

impl Item {
    /// A new item at version 0 with no index entry and no TTL.
    pub fn new(pk: impl Into<String>, sk: impl Into<String>, data: serde_json::Value) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
            gsi1: None,
            version: 0,
            expires_at: None,
            data,
        }
    }

    /// Sets the secondary-index key.
    pub fn with_index(mut self, pk: impl Into<String>, sk: impl Into<String>) -> Self {
        self.gsi1 = Some(IndexKey {
            pk: pk.into(),
            sk: sk.into(),
        });
        self
    }

    /// Sets the expiry (Unix seconds).
    pub fn with_expiry(mut self, expires_at: i64) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// Whether the item's TTL has passed at `now` (Unix seconds).
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Size as both adapters count it against [`MAX_ITEM_BYTES`] and [`MAX_PAGE_BYTES`].
    pub fn encoded_len(&self) -> usize {
        let index = self.gsi1.as_ref().map_or(0, |k| k.pk.len() + k.sk.len() + 12);
        self.pk.len() + self.sk.len() + index + self.data.to_string().len() + 32
    }

    /// Checks keys and size before any write.
    pub(crate) fn validate(&self) -> Result<(), StorageError> {
        validate_key(&self.pk, &self.sk)?;
        if let Some(index) = &self.gsi1 {
            validate_key(&index.pk, &index.sk)?;
        }
        let bytes = self.encoded_len();
        if bytes > MAX_ITEM_BYTES {
            return Err(StorageError::ItemTooLarge {
                pk: self.pk.clone(),
                sk: self.sk.clone(),
                bytes,
            });
        }
        Ok(())
    }
}

/// Rejects keys DynamoDB would reject (empty) and keys the embedded layout cannot hold.
pub(crate) fn validate_key(pk: &str, sk: &str) -> Result<(), StorageError> {
    if pk.is_empty() || sk.is_empty() {
        return Err(StorageError::InvalidRequest("pk and sk must not be empty".into()));
    }
    if pk.contains('\0') || sk.contains('\0') {
        return Err(StorageError::InvalidRequest("keys must not contain NUL".into()));
    }
    Ok(())
}

/// Condition a write must meet. Expired items count as absent everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// No condition.
    None,
    /// The item must be absent (or expired).
    Absent,
    /// The item must exist (and not be expired).
    Exists,
    /// The item must exist at exactly this version.
    Version(u64),
}

/// One operation of a transactional write.
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// Write the item if the condition holds.
    Put { item: Item, condition: Condition },
    /// Delete the item if the condition holds.
    Delete {
        pk: String,
        sk: String,
        condition: Condition,
    },
    /// Only check the condition.
    Check {
        pk: String,
        sk: String,
        condition: Condition,
    },
    /// Adds each delta to the named counter of a counter item, creating the item (with
    /// every counter at 0) when it is absent: DynamoDB's `ADD`, so concurrent writers
    /// lose no count. A counter item holds only counters; [`counters`] reads them.
    Add {
        pk: String,
        sk: String,
        /// (counter name, delta).
        counts: Vec<(String, i64)>,
    },
}

/// Replaces the item at `item`'s key (with [`Table::replace`]; or at its next version
/// in one transaction with the `extra` operations when there are any), then applies what `counted` derives
/// from the item it replaced (none when absent): counter changes and index entries.
/// When another writer changed the item in between, it reads it again and retries, so
/// a write is counted once even when its job runs again. The derived operations are
/// single writes after the record (transactions on hot counter items would conflict
/// under load): a crash between the two leaves a counter or an index entry behind
/// until the next recount.
pub async fn put_counted(
    table: &dyn Table,
    mut item: Item,
    extra: Vec<WriteOp>,
    counted: impl Fn(Option<&Item>) -> Vec<WriteOp>,
) -> Result<(), StorageError> {
    if extra.is_empty() {
        let stored = table.replace(item).await?;
        return apply_derived(table, counted(stored.as_ref())).await;
    }
    let derived = loop {
        let stored = table.get(&item.pk, &item.sk).await?;
        let condition = match &stored {
            Some(stored) => {
                item.version = stored.version + 1;
                Condition::Version(stored.version)
            }
            None => {
                item.version = 0;
                Condition::Absent
            }
        };
        let written = if extra.is_empty() {
            table.put(item.clone(), condition).await
        } else {
            let mut ops = vec![WriteOp::Put {
                item: item.clone(),
                condition,
            }];
            ops.extend(extra.iter().cloned());
            match table.transact(ops).await {
                Err(StorageError::TransactionCancelled { failed_ops }) if failed_ops == [0] => {
                    Err(StorageError::ConditionFailed {
                        pk: item.pk.clone(),
                        sk: item.sk.clone(),
                    })
                }
                other => other,
            }
        };
        match written {
            Ok(()) => break counted(stored.as_ref()),
            Err(StorageError::ConditionFailed { .. }) => continue,
            Err(error) => return Err(error),
        }
    };
    apply_derived(table, derived).await
}

/// Applies what [`put_counted`] derived, one write each.
async fn apply_derived(table: &dyn Table, derived: Vec<WriteOp>) -> Result<(), StorageError> {
    for op in derived {
        match op {
            WriteOp::Add { pk, sk, counts } => table.add(&pk, &sk, counts).await?,
            WriteOp::Put { item, condition } => table.put(item, condition).await?,
            WriteOp::Delete { pk, sk, condition } => table.delete(&pk, &sk, condition).await?,
            WriteOp::Check { .. } => {}
        }
    }
    Ok(())
}

/// A counter change of one item: `(counter, delta)` pairs with the zero deltas left
/// out; none when nothing changes.
pub fn add_counts(pk: &str, sk: &str, counts: impl IntoIterator<Item = (String, i64)>) -> Option<WriteOp> {
    let mut merged: Vec<(String, i64)> = Vec::new();
    for (name, delta) in counts {
        match merged.iter_mut().find(|(n, _)| *n == name) {
            Some((_, total)) => *total += delta,
            None => merged.push((name, delta)),
        }
    }
    merged.retain(|(_, delta)| *delta != 0);
    (!merged.is_empty()).then(|| WriteOp::Add {
        pk: pk.to_string(),
        sk: sk.to_string(),
        counts: merged,
    })
}

/// The counters of a counter item (see [`WriteOp::Add`]): name → value.
pub fn counters(item: &Item) -> std::collections::HashMap<String, i64> {
    item.data
        .as_object()
        .map(|fields| {
            fields
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_i64()?)))
                .collect()
        })
        .unwrap_or_default()
}

impl WriteOp {
    fn key(&self) -> (&str, &str) {
        match self {
            WriteOp::Put { item, .. } => (&item.pk, &item.sk),
            WriteOp::Delete { pk, sk, .. } | WriteOp::Check { pk, sk, .. } | WriteOp::Add { pk, sk, .. } => (pk, sk),
        }
    }
}

/// Checks a transaction's shape: size, keys, and no two operations on one item.
pub(crate) fn validate_transaction(ops: &[WriteOp]) -> Result<(), StorageError> {
    if ops.is_empty() || ops.len() > MAX_TRANSACTION_OPS {
        return Err(StorageError::InvalidRequest(format!(
            "a transaction holds 1 to {MAX_TRANSACTION_OPS} operations, got {}",
            ops.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for op in ops {
        let (pk, sk) = op.key();
        validate_key(pk, sk)?;
        match op {
            WriteOp::Put { item, .. } => item.validate()?,
            WriteOp::Check {
                condition: Condition::None,
                ..
            } => {
                return Err(StorageError::InvalidRequest(format!(
                    "the check of {pk}/{sk} has no condition"
                )));
            }
            _ => {}
        }
        if !seen.insert((pk, sk)) {
            return Err(StorageError::InvalidRequest(format!("two operations on {pk}/{sk}")));
        }
    }
    Ok(())
}

/// Which key space a query walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySpace {
    /// The table's own `pk`/`sk`.
    Table,
    /// The secondary index `gsi1`.
    Index,
}

/// A query: one partition, a sort-key prefix, a page size and an optional cursor.
#[derive(Debug, Clone)]
pub struct Query {
    /// Table or index.
    pub space: KeySpace,
    /// The partition to read.
    pub partition: String,
    /// Only sort keys starting with this prefix ("" for all).
    pub sort_prefix: String,
    /// At most this many items per page (1..=1000).
    pub limit: usize,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
    /// Walk the sort keys from the last to the first (table queries only).
    pub descending: bool,
}

impl Query {
    /// A query over the table's partition `pk`.
    pub fn table(pk: impl Into<String>, sort_prefix: impl Into<String>) -> Self {
        Self {
            space: KeySpace::Table,
            partition: pk.into(),
            sort_prefix: sort_prefix.into(),
            limit: 100,
            cursor: None,
            descending: false,
        }
    }

    /// A query over the secondary index partition `gsi1pk`.
    pub fn index(gsi1pk: impl Into<String>, sort_prefix: impl Into<String>) -> Self {
        Self {
            space: KeySpace::Index,
            partition: gsi1pk.into(),
            sort_prefix: sort_prefix.into(),
            limit: 100,
            cursor: None,
            descending: false,
        }
    }

    /// Reads the highest sort keys first (DynamoDB's `ScanIndexForward = false`).
    pub fn descending(mut self) -> Self {
        self.descending = true;
        self
    }

    /// Sets the page size.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Continues after a previous page.
    pub fn after(mut self, cursor: Option<String>) -> Self {
        self.cursor = cursor;
        self
    }

    /// Starts a descending table query strictly below `sort_key` (which need not be a
    /// stored key: DynamoDB's `ExclusiveStartKey` is a position), e.g. the end of a
    /// time range in sort keys that hold times.
    pub fn below(mut self, sort_key: &str) -> Self {
        self.cursor = Some(
            PageCursor {
                pk: self.partition.clone(),
                sk: sort_key.to_string(),
                index: None,
            }
            .encode(),
        );
        self
    }

    pub(crate) fn validate(&self) -> Result<(), StorageError> {
        if self.partition.is_empty() || self.partition.contains('\0') || self.sort_prefix.contains('\0') {
            return Err(StorageError::InvalidRequest(
                "query partition must be non-empty and free of NUL".into(),
            ));
        }
        if self.descending && self.space == KeySpace::Index {
            return Err(StorageError::InvalidRequest(
                "descending queries walk the table only".into(),
            ));
        }
        if !(1..=1000).contains(&self.limit) {
            return Err(StorageError::InvalidRequest(format!(
                "query limit {} outside 1..=1000",
                self.limit
            )));
        }
        Ok(())
    }

    /// Decodes this query's cursor, checking it belongs to this partition and prefix.
    pub(crate) fn decode_cursor(&self) -> Result<Option<PageCursor>, StorageError> {
        let Some(raw) = &self.cursor else {
            return Ok(None);
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(raw)
            .map_err(|e| StorageError::InvalidCursor(e.to_string()))?;
        let cursor: PageCursor =
            serde_json::from_slice(&bytes).map_err(|e| StorageError::InvalidCursor(e.to_string()))?;
        let (partition, sort) = match (self.space, &cursor.index) {
            (KeySpace::Table, None) => (&cursor.pk, &cursor.sk),
            (KeySpace::Index, Some(index)) => (&index.pk, &index.sk),
            _ => {
                return Err(StorageError::InvalidCursor("cursor is for another key space".into()));
            }
        };
        if partition != &self.partition || !sort.starts_with(&self.sort_prefix) {
            return Err(StorageError::InvalidCursor(
                "cursor is for another partition or prefix".into(),
            ));
        }
        validate_key(&cursor.pk, &cursor.sk).map_err(|e| StorageError::InvalidCursor(e.to_string()))?;
        Ok(Some(cursor))
    }
}

/// The position after the last item of a page (the item's table key and, for index
/// queries, its index key): what DynamoDB calls `LastEvaluatedKey`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PageCursor {
    pub pk: String,
    pub sk: String,
    pub index: Option<IndexKey>,
}

impl PageCursor {
    pub(crate) fn after(item: &Item, space: KeySpace) -> Self {
        let index = match space {
            KeySpace::Table => None,
            KeySpace::Index => item.gsi1.clone(),
        };
        Self {
            pk: item.pk.clone(),
            sk: item.sk.clone(),
            index,
        }
    }

    pub(crate) fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("cursor serializes"))
    }
}

/// One page of query results.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Live (unexpired) items in sort order.
    pub items: Vec<Item>,
    /// Where the next page starts; `None` on the last page.
    pub cursor: Option<String>,
}

/// Cuts scanned items into a page: at most `limit` items and about [`MAX_PAGE_BYTES`]
/// read, as DynamoDB does. `more` says whether the scan stopped before the end.
/// Expired items count towards the bytes read but are not returned.
pub(crate) fn cut_page(scanned: Vec<Item>, query: &Query, more: bool, now: i64) -> Page {
    let mut page = Page::default();
    let mut bytes = 0;
    let mut last_key = None;
    let total = scanned.len();
    for (position, item) in scanned.into_iter().enumerate() {
        bytes += item.encoded_len();
        let full = position + 1 >= query.limit || bytes >= MAX_PAGE_BYTES;
        last_key = Some(PageCursor::after(&item, query.space));
        if !item.is_expired(now) {
            page.items.push(item);
        }
        if full && position + 1 < total {
            page.cursor = last_key.map(|key| key.encode());
            return page;
        }
    }
    if more {
        page.cursor = last_key.map(|key| key.encode());
    }
    page
}

/// Reads a record stored as an item's JSON `data`.
pub fn decode<T: serde::de::DeserializeOwned>(item: &Item) -> Result<T, StorageError> {
    serde_json::from_value(item.data.clone()).map_err(|e| StorageError::Corrupt {
        pk: item.pk.clone(),
        sk: item.sk.clone(),
        reason: e.to_string(),
    })
}

/// A record as an item's JSON `data`.
pub fn encode<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("records serialize")
}

/// The name a unit enum variant serializes to (`awaiting_shipment`), as keys, counters
/// and query strings spell it; empty for a value that is not a plain string.
pub fn serde_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Current Unix time in seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The table port. Every adapter gives these operations the same meaning.
#[async_trait]
pub trait Table: Send + Sync {
    /// Reads one item; expired items read as absent.
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StorageError>;
    /// Writes an item (version stored as given) if the condition holds.
    async fn put(&self, item: Item, condition: Condition) -> Result<(), StorageError>;
    /// Deletes an item if the condition holds.
    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> Result<(), StorageError>;
    /// Reads one page of a partition (table or index), in sort-key order.
    async fn query(&self, query: Query) -> Result<Page, StorageError>;
    /// Applies all operations or none.
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StorageError>;

    /// Optimistic update: writes `item` only if the stored version still equals
    /// `item.version`, and stores it as `item.version + 1`. Returns the new version.
    async fn put_versioned(&self, mut item: Item) -> Result<u64, StorageError> {
        let expected = item.version;
        item.version = expected + 1;
        self.put(item, Condition::Version(expected)).await?;
        Ok(expected + 1)
    }

    /// Writes `item` unconditionally and returns the live item it replaced, in one
    /// step (DynamoDB's `PutItem` with `ReturnValues = ALL_OLD`): writers racing on one
    /// key each get exactly the item their write replaced.
    async fn replace(&self, item: Item) -> Result<Option<Item>, StorageError>;

    /// Adds to the counters of one counter item, outside any transaction (see
    /// [`WriteOp::Add`]); DynamoDB's `UpdateItem` with `ADD`.
    async fn add(&self, pk: &str, sk: &str, counts: Vec<(String, i64)>) -> Result<(), StorageError> {
        self.transact(vec![WriteOp::Add {
            pk: pk.to_string(),
            sk: sk.to_string(),
            counts,
        }])
        .await
    }
}
