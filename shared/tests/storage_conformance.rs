//! One conformance suite for the table port: every test body runs against the
//! embedded adapter (in memory) and against DynamoDB (the emulator).

mod common;

use std::sync::Arc;
use std::time::Duration;

use connector::storage::dynamodb::DynamoTable;
use connector::storage::embedded::EmbeddedTable;
use connector::storage::idempotency::{self, Claim};
use connector::storage::{
    Condition, Item, MAX_ITEM_BYTES, MAX_PAGE_BYTES, Query, StorageError, Table, WriteOp, counters, unix_now,
};
use serde_json::json;

async fn embedded() -> Option<Arc<dyn Table>> {
    Some(Arc::new(EmbeddedTable::in_memory().unwrap()))
}

async fn dynamodb() -> Option<Arc<dyn Table>> {
    let sdk = common::emulator().await?;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    Some(Arc::new(
        DynamoTable::create(client, common::unique("conformance"))
            .await
            .unwrap(),
    ))
}

/// Generates `embedded::<body>` and `dynamodb::<body>` tests for each body.
macro_rules! conformance {
    ($($body:ident),* $(,)?) => {
        mod embedded_adapter {
            $(#[tokio::test] async fn $body() { if let Some(t) = super::embedded().await { super::$body(t).await } })*
        }
        mod dynamodb_adapter {
            $(#[tokio::test] async fn $body() { if let Some(t) = super::dynamodb().await { super::$body(t).await } })*
        }
    };
}

conformance!(
    put_then_get_round_trips_every_field,
    conditional_put_fails_on_an_existing_key,
    version_conflicts_are_detected,
    conditional_delete_checks_its_condition,
    transaction_is_all_or_nothing,
    malformed_transactions_are_rejected_before_writing,
    prefix_query_pages_past_100_items,
    prefix_query_pages_past_one_megabyte,
    index_query_finds_items_by_their_gsi_key,
    expired_items_read_as_absent,
    bad_input_yields_typed_errors,
    idempotency_claims_once_and_returns_the_stored_result,
    counters_add_atomically_and_with_the_writes_of_their_transaction,
    descending_queries_page_from_the_last_key,
    replace_returns_the_item_it_replaced,
);

async fn put_then_get_round_trips_every_field(table: Arc<dyn Table>) {
    let item = Item::new(
        "STORE#a",
        "SHOP#1",
        json!({"name": "Shop", "ids": ["7000714532876273420"], "n": 1.5}),
    )
    .with_index("TTSHOP#1", "STORE#a")
    .with_expiry(unix_now() + 3600);
    table.put(item.clone(), Condition::None).await.unwrap();
    assert_eq!(table.get("STORE#a", "SHOP#1").await.unwrap(), Some(item));
    assert_eq!(table.get("STORE#a", "SHOP#2").await.unwrap(), None);
}

async fn conditional_put_fails_on_an_existing_key(table: Arc<dyn Table>) {
    let first = Item::new("STORE#a", "ORDER#1", json!({"by": "first"}));
    table.put(first.clone(), Condition::Absent).await.unwrap();
    let second = Item::new("STORE#a", "ORDER#1", json!({"by": "second"}));
    let error = table.put(second.clone(), Condition::Absent).await.unwrap_err();
    assert!(matches!(error, StorageError::ConditionFailed { ref pk, ref sk } if pk == "STORE#a" && sk == "ORDER#1"));
    assert_eq!(
        table.get("STORE#a", "ORDER#1").await.unwrap().unwrap().data["by"],
        "first"
    );
    // Exists holds now, so an unconditional overwrite guarded by it succeeds.
    table.put(second, Condition::Exists).await.unwrap();
    assert_eq!(
        table.get("STORE#a", "ORDER#1").await.unwrap().unwrap().data["by"],
        "second"
    );
    let missing = Item::new("STORE#a", "ORDER#2", json!({}));
    assert!(matches!(
        table.put(missing, Condition::Exists).await,
        Err(StorageError::ConditionFailed { .. })
    ));
}

async fn version_conflicts_are_detected(table: Arc<dyn Table>) {
    table
        .put(Item::new("STORE#a", "PROFILE#1", json!({"v": 0})), Condition::Absent)
        .await
        .unwrap();
    let read_by_a = table.get("STORE#a", "PROFILE#1").await.unwrap().unwrap();
    let read_by_b = read_by_a.clone();
    let mut change_a = read_by_a;
    change_a.data = json!({"v": "a"});
    assert_eq!(table.put_versioned(change_a).await.unwrap(), 1);
    let mut change_b = read_by_b;
    change_b.data = json!({"v": "b"});
    assert!(matches!(
        table.put_versioned(change_b).await,
        Err(StorageError::ConditionFailed { .. })
    ));
    let stored = table.get("STORE#a", "PROFILE#1").await.unwrap().unwrap();
    assert_eq!((stored.version, &stored.data), (1, &json!({"v": "a"})));
    let mut again = stored;
    again.data = json!({"v": "c"});
    assert_eq!(table.put_versioned(again).await.unwrap(), 2);
}

async fn conditional_delete_checks_its_condition(table: Arc<dyn Table>) {
    table
        .put(Item::new("STORE#a", "JOB#1", json!({})), Condition::None)
        .await
        .unwrap();
    assert!(matches!(
        table.delete("STORE#a", "JOB#1", Condition::Version(7)).await,
        Err(StorageError::ConditionFailed { .. })
    ));
    assert!(matches!(
        table.delete("STORE#a", "JOB#2", Condition::Exists).await,
        Err(StorageError::ConditionFailed { .. })
    ));
    assert!(table.get("STORE#a", "JOB#1").await.unwrap().is_some());
    table.delete("STORE#a", "JOB#1", Condition::Version(0)).await.unwrap();
    assert_eq!(table.get("STORE#a", "JOB#1").await.unwrap(), None);
    // Deleting what is absent without a condition is not an error.
    table.delete("STORE#a", "JOB#1", Condition::None).await.unwrap();
}

async fn transaction_is_all_or_nothing(table: Arc<dyn Table>) {
    table
        .put(Item::new("STORE#a", "SKU#guard", json!({})), Condition::None)
        .await
        .unwrap();
    table
        .put(Item::new("STORE#a", "OLD", json!({})), Condition::None)
        .await
        .unwrap();
    let ops = vec![
        WriteOp::Put {
            item: Item::new("STORE#a", "SKU#1", json!({"tt": "1"})),
            condition: Condition::Absent,
        },
        WriteOp::Delete {
            pk: "STORE#a".into(),
            sk: "OLD".into(),
            condition: Condition::Exists,
        },
        WriteOp::Put {
            item: Item::new("STORE#a", "SKU#guard", json!({})),
            condition: Condition::Absent,
        },
    ];
    let error = table.transact(ops).await.unwrap_err();
    assert!(
        matches!(error, StorageError::TransactionCancelled { ref failed_ops } if failed_ops == &[2]),
        "{error}"
    );
    assert_eq!(
        table.get("STORE#a", "SKU#1").await.unwrap(),
        None,
        "first put must not survive"
    );
    assert!(
        table.get("STORE#a", "OLD").await.unwrap().is_some(),
        "delete must not survive"
    );

    let ops = vec![
        WriteOp::Put {
            item: Item::new("STORE#a", "SKU#1", json!({"tt": "1"})),
            condition: Condition::Absent,
        },
        WriteOp::Delete {
            pk: "STORE#a".into(),
            sk: "OLD".into(),
            condition: Condition::Exists,
        },
        WriteOp::Check {
            pk: "STORE#a".into(),
            sk: "SKU#guard".into(),
            condition: Condition::Version(0),
        },
    ];
    table.transact(ops).await.unwrap();
    assert!(table.get("STORE#a", "SKU#1").await.unwrap().is_some());
    assert_eq!(table.get("STORE#a", "OLD").await.unwrap(), None);
}

async fn malformed_transactions_are_rejected_before_writing(table: Arc<dyn Table>) {
    let put = |sk: &str| WriteOp::Put {
        item: Item::new("STORE#a", sk, json!({})),
        condition: Condition::None,
    };
    let twice = vec![put("X"), put("X")];
    assert!(matches!(
        table.transact(twice).await,
        Err(StorageError::InvalidRequest(_))
    ));
    let too_many: Vec<_> = (0..101).map(|i| put(&format!("N#{i}"))).collect();
    assert!(matches!(
        table.transact(too_many).await,
        Err(StorageError::InvalidRequest(_))
    ));
    assert!(matches!(
        table.transact(vec![]).await,
        Err(StorageError::InvalidRequest(_))
    ));
    let unconditioned = vec![WriteOp::Check {
        pk: "STORE#a".into(),
        sk: "X".into(),
        condition: Condition::None,
    }];
    assert!(matches!(
        table.transact(unconditioned).await,
        Err(StorageError::InvalidRequest(_))
    ));
    assert_eq!(table.get("STORE#a", "X").await.unwrap(), None);
}

/// Reads every page of `query`, checking each page's size rules.
async fn read_all(table: &dyn Table, query: Query) -> (Vec<Item>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut cursor = None;
    loop {
        let page = table.query(query.clone().after(cursor)).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= query.limit);
        let bytes: usize = page.items.iter().map(Item::encoded_len).sum();
        assert!(bytes <= MAX_PAGE_BYTES + MAX_ITEM_BYTES, "page of {bytes} bytes");
        items.extend(page.items);
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => return (items, pages),
        }
        assert!(pages < 1000, "paging does not end");
    }
}

async fn prefix_query_pages_past_100_items(table: Arc<dyn Table>) {
    let mut ops = Vec::new();
    for i in 0..250 {
        ops.push(WriteOp::Put {
            item: Item::new("STORE#p", format!("PRODUCT#{i:04}"), json!({"i": i})),
            condition: Condition::None,
        });
    }
    ops.push(WriteOp::Put {
        item: Item::new("STORE#p", "PROFILE#1", json!({})),
        condition: Condition::None,
    });
    ops.push(WriteOp::Put {
        item: Item::new("STORE#q", "PRODUCT#0001", json!({})),
        condition: Condition::None,
    });
    for chunk in ops.chunks(25) {
        table.transact(chunk.to_vec()).await.unwrap();
    }
    let (items, pages) = read_all(table.as_ref(), Query::table("STORE#p", "PRODUCT#").limit(100)).await;
    assert!(pages >= 3);
    let indexes: Vec<i64> = items.iter().map(|item| item.data["i"].as_i64().unwrap()).collect();
    assert_eq!(
        indexes,
        (0..250).collect::<Vec<_>>(),
        "every product once, in sort order"
    );
    assert!(
        items
            .iter()
            .all(|item| item.pk == "STORE#p" && item.sk.starts_with("PRODUCT#"))
    );
    let first = table
        .query(Query::table("STORE#p", "PRODUCT#").limit(100))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 100);
    assert!(first.cursor.is_some());
}

async fn prefix_query_pages_past_one_megabyte(table: Arc<dyn Table>) {
    let blob = "x".repeat(100 * 1024);
    for i in 0..30 {
        table
            .put(
                Item::new("STORE#big", format!("IMAGE#{i:02}"), json!({"i": i, "blob": blob})),
                Condition::None,
            )
            .await
            .unwrap();
    }
    let (items, pages) = read_all(table.as_ref(), Query::table("STORE#big", "IMAGE#").limit(1000)).await;
    assert!(pages >= 3, "3 MB must take several pages, took {pages}");
    let indexes: Vec<i64> = items.iter().map(|item| item.data["i"].as_i64().unwrap()).collect();
    assert_eq!(indexes, (0..30).collect::<Vec<_>>());
}

async fn index_query_finds_items_by_their_gsi_key(table: Arc<dyn Table>) {
    for (store, sku) in [
        ("STORE#a", "1"),
        ("STORE#a", "2"),
        ("STORE#b", "3"),
        ("STORE#a", "4"),
        ("STORE#a", "5"),
    ] {
        let item =
            Item::new(store, format!("SKU#{sku}"), json!({"sku": sku})).with_index("TTSKU", format!("{store}#{sku}"));
        table.put(item, Condition::None).await.unwrap();
    }
    table
        .put(Item::new("STORE#a", "NOINDEX", json!({})), Condition::None)
        .await
        .unwrap();
    let (items, pages) = read_all(table.as_ref(), Query::index("TTSKU", "STORE#a#").limit(2)).await;
    assert!(pages >= 2);
    let skus: Vec<&str> = items.iter().map(|item| item.data["sku"].as_str().unwrap()).collect();
    assert_eq!(skus, ["1", "2", "4", "5"]);
    // Moving an item's index key removes it from the old index position.
    let moved = Item::new("STORE#a", "SKU#1", json!({"sku": "1"})).with_index("TTSKU", "STORE#c#1");
    table.put(moved, Condition::None).await.unwrap();
    let (items, _) = read_all(table.as_ref(), Query::index("TTSKU", "STORE#a#")).await;
    assert_eq!(items.len(), 3);
    let (items, _) = read_all(table.as_ref(), Query::index("TTSKU", "STORE#c#")).await;
    assert_eq!(items[0].sk, "SKU#1");
}

async fn expired_items_read_as_absent(table: Arc<dyn Table>) {
    let past = unix_now() - 10;
    let expired = Item::new("IDEMP#x", "IDEMP", json!({"old": true}))
        .with_expiry(past)
        .with_index("EXP", "1");
    table.put(expired, Condition::None).await.unwrap();
    table
        .put(
            Item::new("IDEMP#x", "LIVE", json!({})).with_expiry(unix_now() + 600),
            Condition::None,
        )
        .await
        .unwrap();
    assert_eq!(table.get("IDEMP#x", "IDEMP").await.unwrap(), None);
    let (items, _) = read_all(table.as_ref(), Query::table("IDEMP#x", "")).await;
    assert_eq!(items.iter().map(|i| i.sk.as_str()).collect::<Vec<_>>(), ["LIVE"]);
    let (items, _) = read_all(table.as_ref(), Query::index("EXP", "")).await;
    assert!(items.is_empty());
    let exists = Item::new("IDEMP#x", "IDEMP", json!({}));
    assert!(matches!(
        table.put(exists, Condition::Exists).await,
        Err(StorageError::ConditionFailed { .. })
    ));
    // An expired item does not block a claim of its key.
    table
        .put(Item::new("IDEMP#x", "IDEMP", json!({"new": true})), Condition::Absent)
        .await
        .unwrap();
    assert_eq!(
        table.get("IDEMP#x", "IDEMP").await.unwrap().unwrap().data,
        json!({"new": true})
    );
}

async fn bad_input_yields_typed_errors(table: Arc<dyn Table>) {
    let huge = Item::new("STORE#a", "BIG", json!({"blob": "x".repeat(MAX_ITEM_BYTES)}));
    assert!(matches!(
        table.put(huge, Condition::None).await,
        Err(StorageError::ItemTooLarge { .. })
    ));
    let query = Query::table("STORE#a", "").after(Some("not a cursor!".into()));
    assert!(matches!(table.query(query).await, Err(StorageError::InvalidCursor(_))));
    for i in 0..3 {
        table
            .put(Item::new("STORE#b", format!("K#{i}"), json!({})), Condition::None)
            .await
            .unwrap();
    }
    let page = table.query(Query::table("STORE#b", "").limit(1)).await.unwrap();
    let foreign = Query::table("STORE#a", "").after(page.cursor.clone());
    assert!(
        matches!(table.query(foreign).await, Err(StorageError::InvalidCursor(_))),
        "a cursor cannot cross tenants"
    );
    let wrong_space = Query::index("STORE#b", "").after(page.cursor);
    assert!(matches!(
        table.query(wrong_space).await,
        Err(StorageError::InvalidCursor(_))
    ));
    assert!(matches!(table.get("", "x").await, Err(StorageError::InvalidRequest(_))));
    assert!(matches!(
        table.query(Query::table("STORE#a", "").limit(0)).await,
        Err(StorageError::InvalidRequest(_))
    ));
}

async fn idempotency_claims_once_and_returns_the_stored_result(table: Arc<dyn Table>) {
    let table = table.as_ref();
    let (lease, ttl) = (Duration::from_secs(60), Duration::from_secs(3600));
    assert_eq!(
        idempotency::claim(table, "webhook", "n1", lease, ttl).await.unwrap(),
        Claim::Acquired
    );
    assert_eq!(
        idempotency::claim(table, "webhook", "n1", lease, ttl).await.unwrap(),
        Claim::InProgress
    );
    idempotency::complete(table, "webhook", "n1", json!({"order": 42}), ttl)
        .await
        .unwrap();
    assert_eq!(
        idempotency::claim(table, "webhook", "n1", lease, ttl).await.unwrap(),
        Claim::Completed(json!({"order": 42}))
    );
    // A released claim can be taken again at once.
    assert_eq!(
        idempotency::claim(table, "webhook", "n2", lease, ttl).await.unwrap(),
        Claim::Acquired
    );
    idempotency::release(table, "webhook", "n2").await.unwrap();
    assert_eq!(
        idempotency::claim(table, "webhook", "n2", lease, ttl).await.unwrap(),
        Claim::Acquired
    );
    // A holder whose lease ran out (crashed) is taken over by exactly one caller.
    assert_eq!(
        idempotency::claim(table, "webhook", "n3", Duration::ZERO, ttl)
            .await
            .unwrap(),
        Claim::Acquired
    );
    assert_eq!(
        idempotency::claim(table, "webhook", "n3", lease, ttl).await.unwrap(),
        Claim::Acquired
    );
    assert_eq!(
        idempotency::claim(table, "webhook", "n3", lease, ttl).await.unwrap(),
        Claim::InProgress
    );
}

#[tokio::test]
async fn embedded_store_keeps_data_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let table = EmbeddedTable::open(dir.path()).unwrap();
        table
            .put(
                Item::new("STORE#a", "META", json!({"name": "kept"})).with_index("BC", "a"),
                Condition::Absent,
            )
            .await
            .unwrap();
    }
    let reopened = EmbeddedTable::open(dir.path()).unwrap();
    assert_eq!(
        reopened.get("STORE#a", "META").await.unwrap().unwrap().data["name"],
        "kept"
    );
    assert_eq!(reopened.query(Query::index("BC", "")).await.unwrap().items.len(), 1);
}

async fn counters_add_atomically_and_with_the_writes_of_their_transaction(table: Arc<dyn Table>) {
    let add = |counts: &[(&str, i64)]| WriteOp::Add {
        pk: "STORE#a".into(),
        sk: "COUNTS#X".into(),
        counts: counts.iter().map(|(n, d)| (n.to_string(), *d)).collect(),
    };
    let read = async || {
        counters(
            &table
                .get("STORE#a", "COUNTS#X")
                .await
                .unwrap()
                .expect("created by the first add"),
        )
    };
    table.transact(vec![add(&[("live", 2), ("queued", 1)])]).await.unwrap();
    // Forty writers at once lose no count.
    let writers = (0..40).map(|i| {
        let table = table.clone();
        let counts = vec![
            ("live".to_string(), 1),
            ("queued".to_string(), if i % 2 == 0 { -1 } else { 1 }),
        ];
        // Half in transactions, half as single updates.
        let op = add(&[("live", 1), ("queued", if i % 2 == 0 { -1 } else { 1 })]);
        tokio::spawn(async move {
            if i % 4 < 2 {
                table.transact(vec![op]).await
            } else {
                table.add("STORE#a", "COUNTS#X", counts).await
            }
        })
    });
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    let counted = read().await;
    assert_eq!((counted["live"], counted["queued"]), (42, 1));
    // A cancelled transaction adds nothing.
    let refused = vec![
        WriteOp::Put {
            item: Item::new("STORE#a", "P#1", json!({})),
            condition: Condition::Exists,
        },
        add(&[("live", 100)]),
    ];
    assert!(matches!(
        table.transact(refused).await,
        Err(StorageError::TransactionCancelled { .. })
    ));
    assert_eq!(read().await["live"], 42);
    let accepted = vec![
        WriteOp::Put {
            item: Item::new("STORE#a", "P#1", json!({})),
            condition: Condition::Absent,
        },
        add(&[("live", -2), ("new", 5)]),
    ];
    table.transact(accepted).await.unwrap();
    let counted = read().await;
    assert_eq!((counted["live"], counted["new"]), (40, 5));
}

async fn descending_queries_page_from_the_last_key(table: Arc<dyn Table>) {
    for i in 0..25 {
        table
            .put(
                Item::new("STORE#d", format!("ORDER#{i:03}"), json!({})),
                Condition::None,
            )
            .await
            .unwrap();
    }
    table
        .put(Item::new("STORE#d", "OTHER#999", json!({})), Condition::None)
        .await
        .unwrap();
    let (items, pages) = read_all(table.as_ref(), Query::table("STORE#d", "ORDER#").limit(10).descending()).await;
    let keys: Vec<&str> = items.iter().map(|i| i.sk.as_str()).collect();
    let expected: Vec<String> = (0..25).rev().map(|i| format!("ORDER#{i:03}")).collect();
    assert_eq!(
        keys, expected,
        "highest first, every item once, nothing outside the prefix"
    );
    assert!(pages >= 3);
    assert!(matches!(
        table.query(Query::index("X", "").descending()).await,
        Err(StorageError::InvalidRequest(_))
    ));
}

async fn replace_returns_the_item_it_replaced(table: Arc<dyn Table>) {
    let first = Item::new("STORE#r", "ORDER#1", json!({"state": "error"}));
    assert_eq!(table.replace(first.clone()).await.unwrap(), None, "nothing was there");
    let second = Item::new("STORE#r", "ORDER#1", json!({"state": "created"}));
    let replaced = table.replace(second).await.unwrap().expect("the first write");
    assert_eq!(replaced.data, first.data);
    assert_eq!(
        table.get("STORE#r", "ORDER#1").await.unwrap().unwrap().data["state"],
        "created"
    );
}
