//! Embedded adapter: a `redb` database file under the data directory (or memory for
//! unit tests). Items are JSON under the key `pk NUL sk`; the secondary index is a
//! second redb table keyed `gsi1pk NUL gsi1sk NUL pk NUL sk`. Every write is one redb
//! transaction, so conditions, index entries and multi-item transactions are atomic.

use std::path::Path;

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::{
    Condition, Item, KeySpace, MAX_PAGE_BYTES, Page, Query, StorageError, Table, WriteOp, cut_page, unix_now,
    validate_key, validate_transaction,
};

const ITEMS: TableDefinition<&str, &[u8]> = TableDefinition::new("items");
const INDEX: TableDefinition<&str, &str> = TableDefinition::new("gsi1");

/// The embedded table.
pub struct EmbeddedTable {
    db: Database,
}

fn unavailable(error: impl std::fmt::Display) -> StorageError {
    StorageError::Unavailable(error.to_string())
}

fn item_key(pk: &str, sk: &str) -> String {
    format!("{pk}\0{sk}")
}

fn index_key(item: &Item) -> Option<String> {
    item.gsi1
        .as_ref()
        .map(|index| format!("{}\0{}\0{}\0{}", index.pk, index.sk, item.pk, item.sk))
}

fn decode(key: &str, bytes: &[u8]) -> Result<Item, StorageError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let (pk, sk) = key.split_once('\0').unwrap_or((key, ""));
        StorageError::Corrupt {
            pk: pk.into(),
            sk: sk.into(),
            reason: e.to_string(),
        }
    })
}

/// Whether `condition` holds for the stored item (expired counts as absent).
pub(crate) fn condition_holds(stored: Option<&Item>, condition: Condition, now: i64) -> bool {
    let live = stored.filter(|item| !item.is_expired(now));
    match condition {
        Condition::None => true,
        Condition::Absent => live.is_none(),
        Condition::Exists => live.is_some(),
        Condition::Version(version) => live.is_some_and(|item| item.version == version),
    }
}

impl EmbeddedTable {
    /// Opens (or creates) the database file `connector.redb` under `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, StorageError> {
        std::fs::create_dir_all(data_dir).map_err(unavailable)?;
        let db = Database::create(data_dir.join("connector.redb")).map_err(unavailable)?;
        Self::init(db)
    }

    /// A database that lives in memory only (unit tests).
    pub fn in_memory() -> Result<Self, StorageError> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(unavailable)?;
        Self::init(db)
    }

    fn init(db: Database) -> Result<Self, StorageError> {
        let txn = db.begin_write().map_err(unavailable)?;
        txn.open_table(ITEMS).map_err(unavailable)?;
        txn.open_table(INDEX).map_err(unavailable)?;
        txn.commit().map_err(unavailable)?;
        Ok(Self { db })
    }

    fn read_in(txn: &WriteTransaction, pk: &str, sk: &str) -> Result<Option<Item>, StorageError> {
        let items = txn.open_table(ITEMS).map_err(unavailable)?;
        let key = item_key(pk, sk);
        let stored = items.get(key.as_str()).map_err(unavailable)?;
        stored.map(|bytes| decode(&key, bytes.value())).transpose()
    }

    fn remove_in(txn: &WriteTransaction, stored: Option<&Item>) -> Result<(), StorageError> {
        let Some(item) = stored else { return Ok(()) };
        txn.open_table(ITEMS)
            .map_err(unavailable)?
            .remove(item_key(&item.pk, &item.sk).as_str())
            .map_err(unavailable)?;
        if let Some(key) = index_key(item) {
            txn.open_table(INDEX)
                .map_err(unavailable)?
                .remove(key.as_str())
                .map_err(unavailable)?;
        }
        Ok(())
    }

    fn write_in(txn: &WriteTransaction, stored: Option<&Item>, item: &Item) -> Result<(), StorageError> {
        Self::remove_in(txn, stored)?;
        let bytes = serde_json::to_vec(item).map_err(unavailable)?;
        txn.open_table(ITEMS)
            .map_err(unavailable)?
            .insert(item_key(&item.pk, &item.sk).as_str(), bytes.as_slice())
            .map_err(unavailable)?;
        if let Some(key) = index_key(item) {
            txn.open_table(INDEX)
                .map_err(unavailable)?
                .insert(key.as_str(), "")
                .map_err(unavailable)?;
        }
        Ok(())
    }

    /// Runs the operations in one write transaction, all or nothing.
    fn apply(&self, ops: &[WriteOp]) -> Result<(), StorageError> {
        let now = unix_now();
        let txn = self.db.begin_write().map_err(unavailable)?;
        let mut stored_items = Vec::with_capacity(ops.len());
        let mut failed_ops = Vec::new();
        for (position, op) in ops.iter().enumerate() {
            let (pk, sk, condition) = match op {
                WriteOp::Put { item, condition } => (item.pk.as_str(), item.sk.as_str(), *condition),
                WriteOp::Delete { pk, sk, condition } | WriteOp::Check { pk, sk, condition } => {
                    (pk.as_str(), sk.as_str(), *condition)
                }
                WriteOp::Add { pk, sk, .. } => (pk.as_str(), sk.as_str(), Condition::None),
            };
            let stored = Self::read_in(&txn, pk, sk)?;
            if !condition_holds(stored.as_ref(), condition, now) {
                failed_ops.push(position);
            }
            stored_items.push(stored);
        }
        if !failed_ops.is_empty() {
            txn.abort().map_err(unavailable)?;
            return Err(StorageError::TransactionCancelled { failed_ops });
        }
        for (op, stored) in ops.iter().zip(&stored_items) {
            match op {
                WriteOp::Put { item, .. } => Self::write_in(&txn, stored.as_ref(), item)?,
                WriteOp::Delete { .. } => Self::remove_in(&txn, stored.as_ref())?,
                WriteOp::Check { .. } => {}
                WriteOp::Add { pk, sk, counts } => {
                    let live = stored.as_ref().filter(|item| !item.is_expired(now));
                    let mut item = live
                        .cloned()
                        .unwrap_or_else(|| Item::new(pk.clone(), sk.clone(), serde_json::json!({})));
                    if !item.data.is_object() {
                        item.data = serde_json::json!({});
                    }
                    for (name, delta) in counts {
                        let value = item.data[name.as_str()].as_i64().unwrap_or(0).saturating_add(*delta);
                        item.data[name.as_str()] = value.into();
                    }
                    Self::write_in(&txn, stored.as_ref(), &item)?
                }
            }
        }
        txn.commit().map_err(unavailable)
    }

    /// Maps a one-operation transaction failure to the single-item error.
    fn apply_one(&self, op: WriteOp) -> Result<(), StorageError> {
        let (pk, sk) = match &op {
            WriteOp::Put { item, .. } => (item.pk.clone(), item.sk.clone()),
            WriteOp::Delete { pk, sk, .. } | WriteOp::Check { pk, sk, .. } | WriteOp::Add { pk, sk, .. } => {
                (pk.clone(), sk.clone())
            }
        };
        match self.apply(std::slice::from_ref(&op)) {
            Err(StorageError::TransactionCancelled { .. }) => Err(StorageError::ConditionFailed { pk, sk }),
            other => other,
        }
    }

    /// Scans in key order from the cursor, stopping where a DynamoDB page would.
    fn scan(&self, query: &Query) -> Result<(Vec<Item>, bool), StorageError> {
        let cursor = query.decode_cursor()?;
        let txn = self.db.begin_read().map_err(unavailable)?;
        let items = txn.open_table(ITEMS).map_err(unavailable)?;
        let prefix = format!("{}\0{}", query.partition, query.sort_prefix);
        // A trailing NUL makes the range start strictly after the cursor's key.
        let start = match cursor {
            None => prefix.clone(),
            Some(c) => match c.index {
                None => format!("{}\0", item_key(&c.pk, &c.sk)),
                Some(index) => format!("{}\0{}\0{}\0{}\0", index.pk, index.sk, c.pk, c.sk),
            },
        };
        let mut scan = PageScan {
            limit: query.limit,
            items: Vec::new(),
            bytes: 0,
            more: false,
        };
        match query.space {
            KeySpace::Table if query.descending => {
                // Every key with the prefix sorts below the prefix followed by the highest
                // character; the cursor's own key is excluded.
                let end = match query.decode_cursor()? {
                    Some(c) => item_key(&c.pk, &c.sk),
                    None => format!("{prefix}{}", char::MAX),
                };
                for entry in items.range(..end.as_str()).map_err(unavailable)?.rev() {
                    let (key, value) = entry.map_err(unavailable)?;
                    if !key.value().starts_with(&prefix) || scan.stop() {
                        break;
                    }
                    scan.push(decode(key.value(), value.value())?);
                }
            }
            KeySpace::Table => {
                for entry in items.range(start.as_str()..).map_err(unavailable)? {
                    let (key, value) = entry.map_err(unavailable)?;
                    if !key.value().starts_with(&prefix) || scan.stop() {
                        break;
                    }
                    scan.push(decode(key.value(), value.value())?);
                }
            }
            KeySpace::Index => {
                let index = txn.open_table(INDEX).map_err(unavailable)?;
                for entry in index.range(start.as_str()..).map_err(unavailable)? {
                    let (key, _) = entry.map_err(unavailable)?;
                    if !key.value().starts_with(&prefix) || scan.stop() {
                        break;
                    }
                    let mut parts = key.value().splitn(4, '\0').skip(2);
                    let lookup = item_key(parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                    if let Some(value) = items.get(lookup.as_str()).map_err(unavailable)? {
                        scan.push(decode(&lookup, value.value())?);
                    }
                }
            }
        }
        Ok((scan.items, scan.more))
    }
}

/// Items gathered for one page, with the stop rule of [`cut_page`].
struct PageScan {
    limit: usize,
    items: Vec<Item>,
    bytes: usize,
    more: bool,
}

impl PageScan {
    /// True once the page is full; records that more items follow.
    fn stop(&mut self) -> bool {
        self.more = self.items.len() >= self.limit || self.bytes >= MAX_PAGE_BYTES;
        self.more
    }

    fn push(&mut self, item: Item) {
        self.bytes += item.encoded_len();
        self.items.push(item);
    }
}

#[async_trait]
impl Table for EmbeddedTable {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StorageError> {
        validate_key(pk, sk)?;
        let txn = self.db.begin_read().map_err(unavailable)?;
        let items = txn.open_table(ITEMS).map_err(unavailable)?;
        let key = item_key(pk, sk);
        let stored = items.get(key.as_str()).map_err(unavailable)?;
        let item = stored.map(|bytes| decode(&key, bytes.value())).transpose()?;
        Ok(item.filter(|item| !item.is_expired(unix_now())))
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StorageError> {
        item.validate()?;
        self.apply_one(WriteOp::Put { item, condition })
    }

    async fn replace(&self, item: Item) -> Result<Option<Item>, StorageError> {
        item.validate()?;
        let txn = self.db.begin_write().map_err(unavailable)?;
        let stored = Self::read_in(&txn, &item.pk, &item.sk)?;
        Self::write_in(&txn, stored.as_ref(), &item)?;
        txn.commit().map_err(unavailable)?;
        Ok(stored.filter(|old| !old.is_expired(unix_now())))
    }

    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> Result<(), StorageError> {
        validate_key(pk, sk)?;
        self.apply_one(WriteOp::Delete {
            pk: pk.into(),
            sk: sk.into(),
            condition,
        })
    }

    async fn query(&self, query: Query) -> Result<Page, StorageError> {
        query.validate()?;
        let (scanned, more) = self.scan(&query)?;
        Ok(cut_page(scanned, &query, more, unix_now()))
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StorageError> {
        validate_transaction(&ops)?;
        self.apply(&ops)
    }
}
