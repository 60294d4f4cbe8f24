//! DynamoDB adapter: single table with `pk`/`sk`, the GSI `gsi1` (`gsi1pk`/`gsi1sk`),
//! a numeric `version`, the TTL attribute `expires_at` and the record as JSON text in
//! `data`. DynamoDB deletes expired items lazily, so reads and conditions compare
//! `expires_at` with the clock themselves.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, Put, ScalarAttributeType, TimeToLiveSpecification, TransactWriteItem, Update,
};

use super::{
    Condition, IndexKey, Item, KeySpace, Page, PageCursor, Query, StorageError, Table, WriteOp, cut_page, unix_now,
    validate_key, validate_transaction,
};

/// Name of the one secondary index.
pub const INDEX_NAME: &str = "gsi1";
/// Name of the TTL attribute.
pub const TTL_ATTRIBUTE: &str = "expires_at";

type Attributes = HashMap<String, AttributeValue>;

/// The DynamoDB table.
#[derive(Clone)]
pub struct DynamoTable {
    client: Client,
    table_name: String,
}

fn unavailable<E: std::error::Error + 'static, R: std::fmt::Debug>(error: SdkError<E, R>) -> StorageError {
    StorageError::Unavailable(DisplayErrorContext(&error).to_string())
}

fn built<T>(result: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, StorageError> {
    result.map_err(|e| StorageError::InvalidRequest(e.to_string()))
}

/// Counter attributes (`WriteOp::Add`) are named `n:<counter>`.
const COUNTER_PREFIX: &str = "n:";

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn key(pk: &str, sk: &str) -> Attributes {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

fn to_attributes(item: &Item) -> Attributes {
    let mut attributes = key(&item.pk, &item.sk);
    if let Some(index) = &item.gsi1 {
        attributes.insert("gsi1pk".into(), s(&index.pk));
        attributes.insert("gsi1sk".into(), s(&index.sk));
    }
    attributes.insert("version".into(), n(item.version));
    if let Some(at) = item.expires_at {
        attributes.insert(TTL_ATTRIBUTE.into(), n(at));
    }
    attributes.insert("data".into(), s(&item.data.to_string()));
    attributes
}

fn from_attributes(attributes: &Attributes) -> Result<Item, StorageError> {
    let text = |name: &str| attributes.get(name).and_then(|v| v.as_s().ok()).cloned();
    let number = |name: &str| {
        attributes
            .get(name)
            .and_then(|v| v.as_n().ok())
            .map(|v| v.parse::<i64>())
    };
    let (pk, sk) = (text("pk").unwrap_or_default(), text("sk").unwrap_or_default());
    let corrupt = |reason: String| StorageError::Corrupt {
        pk: pk.clone(),
        sk: sk.clone(),
        reason,
    };
    let data = match text("data") {
        Some(data) => serde_json::from_str(&data).map_err(|e| corrupt(e.to_string()))?,
        // A counter item (`WriteOp::Add`): its counters are number attributes.
        None if attributes.keys().any(|k| k.starts_with(COUNTER_PREFIX)) => {
            let mut counters = serde_json::Map::new();
            for (name, value) in attributes {
                if let Some(counter) = name.strip_prefix(COUNTER_PREFIX) {
                    let value = value.as_n().ok().and_then(|v| v.parse::<i64>().ok());
                    counters.insert(
                        counter.to_string(),
                        value
                            .ok_or_else(|| corrupt(format!("counter {counter} is not a number")))?
                            .into(),
                    );
                }
            }
            serde_json::Value::Object(counters)
        }
        None => return Err(corrupt("no data attribute".into())),
    };
    let version = number("version")
        .transpose()
        .map_err(|e| corrupt(e.to_string()))?
        .unwrap_or(0);
    let expires_at = number(TTL_ATTRIBUTE).transpose().map_err(|e| corrupt(e.to_string()))?;
    let gsi1 = match (text("gsi1pk"), text("gsi1sk")) {
        (Some(pk), Some(sk)) => Some(IndexKey { pk, sk }),
        _ => None,
    };
    Ok(Item {
        pk,
        sk,
        gsi1,
        version: version as u64,
        expires_at,
        data,
    })
}

/// The `ADD` update expression of counter deltas (`n:<name>` attributes).
struct Additions {
    expression: String,
    names: HashMap<String, String>,
    values: Attributes,
}

impl Additions {
    fn of(counts: &[(String, i64)]) -> Self {
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let mut adds = Vec::new();
        for (i, (name, delta)) in counts.iter().enumerate() {
            names.insert(format!("#c{i}"), format!("{COUNTER_PREFIX}{name}"));
            values.insert(format!(":c{i}"), n(delta));
            adds.push(format!("#c{i} :c{i}"));
        }
        Self {
            expression: format!("ADD {}", adds.join(", ")),
            names,
            values,
        }
    }
}

/// A condition expression with exactly the names and values it uses.
struct Expression {
    text: String,
    names: HashMap<String, String>,
    values: Attributes,
}

fn expression(condition: Condition, now: i64) -> Option<Expression> {
    let live = "(attribute_not_exists(#exp) OR #exp > :now)";
    let mut names = HashMap::from([("#exp".to_string(), TTL_ATTRIBUTE.to_string())]);
    let mut values = HashMap::from([(":now".to_string(), n(now))]);
    let text = match condition {
        Condition::None => return None,
        Condition::Absent => {
            names.insert("#pk".into(), "pk".into());
            "attribute_not_exists(#pk) OR #exp <= :now".to_string()
        }
        Condition::Exists => {
            names.insert("#pk".into(), "pk".into());
            format!("attribute_exists(#pk) AND {live}")
        }
        Condition::Version(version) => {
            names.insert("#ver".into(), "version".into());
            values.insert(":ver".into(), n(version));
            format!("#ver = :ver AND {live}")
        }
    };
    Some(Expression { text, names, values })
}

impl DynamoTable {
    /// Wraps an existing table.
    pub fn new(client: Client, table_name: impl Into<String>) -> Self {
        Self {
            client,
            table_name: table_name.into(),
        }
    }

    /// Creates the table (on-demand, with `gsi1` and TTL) unless it exists, then wraps it.
    /// Used by tests and local runs against an emulator; production creates it with SAM.
    pub async fn create(client: Client, table_name: impl Into<String>) -> Result<Self, StorageError> {
        let table = Self::new(client, table_name);
        let string_attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
        };
        let key_element = |name: &str, key_type| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
        };
        let index = GlobalSecondaryIndex::builder()
            .index_name(INDEX_NAME)
            .key_schema(built(key_element("gsi1pk", KeyType::Hash))?)
            .key_schema(built(key_element("gsi1sk", KeyType::Range))?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build();
        let created = table
            .client
            .create_table()
            .table_name(&table.table_name)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(built(string_attribute("pk"))?)
            .attribute_definitions(built(string_attribute("sk"))?)
            .attribute_definitions(built(string_attribute("gsi1pk"))?)
            .attribute_definitions(built(string_attribute("gsi1sk"))?)
            .key_schema(built(key_element("pk", KeyType::Hash))?)
            .key_schema(built(key_element("sk", KeyType::Range))?)
            .global_secondary_indexes(built(index)?)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if e.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => {
                return Ok(table);
            }
            Err(e) => return Err(unavailable(e)),
        }
        let ttl = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(TTL_ATTRIBUTE)
            .build();
        table
            .client
            .update_time_to_live()
            .table_name(&table.table_name)
            .time_to_live_specification(built(ttl)?)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(table)
    }

    fn transact_item(&self, op: WriteOp, now: i64) -> Result<TransactWriteItem, StorageError> {
        let expr = match &op {
            WriteOp::Put { condition, .. } | WriteOp::Delete { condition, .. } | WriteOp::Check { condition, .. } => {
                expression(*condition, now)
            }
            WriteOp::Add { .. } => None,
        };
        let (text, names, values) = match expr {
            Some(e) => (Some(e.text), Some(e.names), Some(e.values)),
            None => (None, None, None),
        };
        let item = match op {
            WriteOp::Put { item, .. } => TransactWriteItem::builder().put(built(
                Put::builder()
                    .table_name(&self.table_name)
                    .set_item(Some(to_attributes(&item)))
                    .set_condition_expression(text)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build(),
            )?),
            WriteOp::Delete { pk, sk, .. } => TransactWriteItem::builder().delete(built(
                Delete::builder()
                    .table_name(&self.table_name)
                    .set_key(Some(key(&pk, &sk)))
                    .set_condition_expression(text)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build(),
            )?),
            WriteOp::Add { pk, sk, counts } => {
                let adds = Additions::of(&counts);
                TransactWriteItem::builder().update(built(
                    Update::builder()
                        .table_name(&self.table_name)
                        .set_key(Some(key(&pk, &sk)))
                        .update_expression(adds.expression)
                        .set_expression_attribute_names(Some(adds.names))
                        .set_expression_attribute_values(Some(adds.values))
                        .build(),
                )?)
            }
            WriteOp::Check { pk, sk, .. } => TransactWriteItem::builder().condition_check(built(
                ConditionCheck::builder()
                    .table_name(&self.table_name)
                    .set_key(Some(key(&pk, &sk)))
                    .set_condition_expression(text)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build(),
            )?),
        };
        Ok(item.build())
    }
}

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StorageError> {
        validate_key(pk, sk)?;
        let output = self
            .client
            .get_item()
            .table_name(&self.table_name)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        let item = output.item().map(from_attributes).transpose()?;
        Ok(item.filter(|item| !item.is_expired(unix_now())))
    }

    async fn put(&self, item: Item, condition: Condition) -> Result<(), StorageError> {
        item.validate()?;
        let expr = expression(condition, unix_now());
        let (pk, sk) = (item.pk.clone(), item.sk.clone());
        let result = self
            .client
            .put_item()
            .table_name(&self.table_name)
            .set_item(Some(to_attributes(&item)))
            .set_condition_expression(expr.as_ref().map(|e| e.text.clone()))
            .set_expression_attribute_names(expr.as_ref().map(|e| e.names.clone()))
            .set_expression_attribute_values(expr.map(|e| e.values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(StorageError::ConditionFailed { pk, sk })
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn replace(&self, item: Item) -> Result<Option<Item>, StorageError> {
        item.validate()?;
        let output = self
            .client
            .put_item()
            .table_name(&self.table_name)
            .set_item(Some(to_attributes(&item)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        let replaced = output.attributes().map(from_attributes).transpose()?;
        Ok(replaced.filter(|old| !old.is_expired(unix_now())))
    }

    async fn delete(&self, pk: &str, sk: &str, condition: Condition) -> Result<(), StorageError> {
        validate_key(pk, sk)?;
        let expr = expression(condition, unix_now());
        let result = self
            .client
            .delete_item()
            .table_name(&self.table_name)
            .set_key(Some(key(pk, sk)))
            .set_condition_expression(expr.as_ref().map(|e| e.text.clone()))
            .set_expression_attribute_names(expr.as_ref().map(|e| e.names.clone()))
            .set_expression_attribute_values(expr.map(|e| e.values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(StorageError::ConditionFailed {
                    pk: pk.into(),
                    sk: sk.into(),
                })
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn query(&self, query: Query) -> Result<Page, StorageError> {
        query.validate()?;
        let cursor = query.decode_cursor()?;
        let (pk_name, sk_name, index) = match query.space {
            KeySpace::Table => ("pk", "sk", None),
            KeySpace::Index => ("gsi1pk", "gsi1sk", Some(INDEX_NAME)),
        };
        let mut names = HashMap::from([("#p".to_string(), pk_name.to_string())]);
        let mut values = HashMap::from([(":p".to_string(), s(&query.partition))]);
        let mut condition = "#p = :p".to_string();
        // DynamoDB rejects an empty key value, so an empty prefix means "no sort-key condition".
        if !query.sort_prefix.is_empty() {
            names.insert("#s".into(), sk_name.into());
            values.insert(":s".into(), s(&query.sort_prefix));
            condition.push_str(" AND begins_with(#s, :s)");
        }
        let start_key = cursor.map(|c: PageCursor| {
            let mut start = key(&c.pk, &c.sk);
            if let Some(index) = c.index {
                start.insert("gsi1pk".into(), s(&index.pk));
                start.insert("gsi1sk".into(), s(&index.sk));
            }
            start
        });
        let output = self
            .client
            .query()
            .table_name(&self.table_name)
            .set_index_name(index.map(str::to_string))
            .key_condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .set_exclusive_start_key(start_key)
            .limit(query.limit as i32)
            .scan_index_forward(!query.descending)
            .set_consistent_read((index.is_none()).then_some(true))
            .send()
            .await
            .map_err(unavailable)?;
        let scanned = output
            .items()
            .iter()
            .map(from_attributes)
            .collect::<Result<Vec<_>, _>>()?;
        let more = output.last_evaluated_key().is_some_and(|k| !k.is_empty());
        Ok(cut_page(scanned, &query, more, unix_now()))
    }

    async fn add(&self, pk: &str, sk: &str, counts: Vec<(String, i64)>) -> Result<(), StorageError> {
        validate_key(pk, sk)?;
        if counts.is_empty() {
            return Ok(());
        }
        let adds = Additions::of(&counts);
        self.client
            .update_item()
            .table_name(&self.table_name)
            .set_key(Some(key(pk, sk)))
            .update_expression(adds.expression)
            .set_expression_attribute_names(Some(adds.names))
            .set_expression_attribute_values(Some(adds.values))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StorageError> {
        validate_transaction(&ops)?;
        let now = unix_now();
        let items = ops
            .into_iter()
            .map(|op| self.transact_item(op, now))
            .collect::<Result<Vec<_>, _>>()?;
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(context)) => match context.into_err() {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                    let failed_ops = cancelled
                        .cancellation_reasons()
                        .iter()
                        .enumerate()
                        .filter(|(_, reason)| reason.code() == Some("ConditionalCheckFailed"))
                        .map(|(position, _)| position)
                        .collect();
                    Err(StorageError::TransactionCancelled { failed_ops })
                }
                other => Err(StorageError::Unavailable(DisplayErrorContext(&other).to_string())),
            },
            Err(e) => Err(unavailable(e)),
        }
    }
}
