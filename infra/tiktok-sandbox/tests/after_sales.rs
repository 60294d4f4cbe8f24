//! The after-sale flow of the sandbox against the reference (`tiktok-shop-api.md` §10,
//! §4.4): buyers' requests, the seller's decisions by type and status, the buyer's and
//! the platform's steps, refusals, idempotency, reject reasons, records and search.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

/// A sandbox with a webhook receiver, a token and the shops.
struct World {
    h: Harness,
    token: String,
    shops: Vec<Value>,
    hooks: Receiver,
}

async fn world() -> World {
    let hooks = receiver(vec![]).await;
    let mut config = config();
    config.default_webhook_url = Some(hooks.url.clone());
    let h = start(config).await;
    let token = h.token().await;
    let shops = h.shops().await;
    World { h, token, shops, hooks }
}

impl World {
    /// A US order in `status` with units of 5.00 and 7.50 (line ids `{id}1`, `{id}2`).
    async fn order(&self, id: &str, status: &str) -> String {
        let order = json!({"shop_id": self.shops[0]["id"], "id": id, "status": status,
            "line_items": [{"id": format!("{id}1"), "sku_id": "3001", "seller_sku": "RED-M", "sku_name": "Red, M",
                            "product_name": "Miracle dress", "sku_image": "https://img.invalid/red.png", "sale_price": "5.00"},
                           {"id": format!("{id}2"), "sku_id": "3002", "sale_price": "7.50"}]});
        let (status, answer) = self.admin(Method::POST, "/sandbox/orders", order).await;
        assert_eq!(status, 201, "{answer}");
        id.to_string()
    }

    /// An admin call: (HTTP status, body).
    async fn admin(&self, method: Method, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .h
            .http
            .request(method, format!("{}{path}", self.h.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    /// A buyer's request through the admin API: its id.
    async fn request(&self, path: &str, body: Value, id_key: &str) -> String {
        let (status, answer) = self.admin(Method::POST, path, body).await;
        assert_eq!(status, 201, "{answer}");
        answer[id_key].as_str().unwrap().to_string()
    }

    /// A signed call on the US shop (or `shop`), with extra query pairs.
    async fn call_on(&self, shop: usize, path: &str, query: &[(&str, String)], body: Option<Value>) -> Answer {
        let mut extra = vec![("shop_cipher", self.shops[shop]["cipher"].as_str().unwrap().to_string())];
        extra.extend(query.iter().cloned());
        let method = if body.is_some() { Method::POST } else { Method::GET };
        self.h.call(method, path, &self.token, &extra, body).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.call_on(0, path, &[], Some(body)).await
    }

    /// Approve (`"approve"`) or reject a return with `body`: the answer's code.
    async fn decide(&self, return_id: &str, route: &str, body: Value) -> i64 {
        let path = format!("/return_refund/202309/returns/{return_id}/{route}");
        let answer = self.post(&path, body).await;
        assert_eq!(answer.status, 200);
        answer.code()
    }

    /// The return as Search Returns answers it.
    async fn get_return(&self, return_id: &str) -> Value {
        let filter = json!({"return_ids": [return_id]});
        let answer = self
            .call_on(
                0,
                "/return_refund/202309/returns/search",
                &[("page_size", "10".into())],
                Some(filter),
            )
            .await;
        assert_eq!(answer.code(), 0, "{}", answer.body);
        answer.body["data"]["return_orders"][0].clone()
    }

    /// The cancellation as Search Cancellations answers it.
    async fn get_cancellation(&self, cancel_id: &str) -> Value {
        let filter = json!({"cancel_ids": [cancel_id]});
        let answer = self
            .call_on(0, "/return_refund/202309/cancellations/search", &[], Some(filter))
            .await;
        assert_eq!(answer.code(), 0, "{}", answer.body);
        answer.body["data"]["cancellations"][0].clone()
    }

    /// The `data` of every webhook of `topic` received so far about `id` (under `id_key`).
    fn webhooks(&self, topic: u64, id_key: &str, id: &str) -> Vec<Value> {
        self.hooks
            .received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, body)| serde_json::from_str::<Value>(body).unwrap())
            .filter(|b| b["type"] == topic && b["data"][id_key] == id)
            .map(|b| b["data"].clone())
            .collect()
    }

    /// Waits for `count` webhooks of `topic` about `id`; their statuses under `status_key`.
    async fn statuses(&self, topic: u64, (id_key, id): (&str, &str), status_key: &str, count: usize) -> Vec<Value> {
        assert!(
            eventually(|| self.webhooks(topic, id_key, id).len() >= count).await,
            "{:?}",
            self.webhooks(topic, id_key, id)
        );
        self.webhooks(topic, id_key, id)
            .iter()
            .map(|d| d[status_key].clone())
            .collect()
    }
}

fn approve(decision: &str) -> Value {
    json!({"decision": decision})
}

fn reject(decision: &str, reason: &str) -> Value {
    json!({"decision": decision, "reject_reason": reason, "comment": "See the photos",
           "images": [{"image_id": "tos-maliva-i-sandbox1", "mime_type": "image/png", "width": 100, "height": 100}]})
}

#[tokio::test]
async fn a_return_goes_from_request_to_refund_through_the_buyer_shipping_it_back() {
    let w = world().await;
    let order = w.order("580000000000000001", "DELIVERED").await;
    let body =
        json!({"order_id": order, "order_line_item_ids": [format!("{order}1")], "return_reason_text": "Too small"});
    let return_id = w.request("/sandbox/returns", body, "return_id").await;

    let record = w.get_return(&return_id).await;
    assert_eq!(
        (
            &record["return_type"],
            &record["return_status"],
            &record["role"],
            &record["return_method"]
        ),
        (
            &json!("RETURN_AND_REFUND"),
            &json!("RETURN_OR_REFUND_REQUEST_PENDING"),
            &json!("BUYER"),
            &json!("BUYER_SHIPPED")
        )
    );
    assert_eq!(
        record["refund_amount"],
        json!({"currency": "USD", "refund_total": "5.00", "refund_subtotal": "5.00", "refund_shipping_fee": "0",
               "refund_tax": "0.00", "retail_delivery_fee": "0", "buyer_service_fee": "0"})
    );
    let line = &record["return_line_items"][0];
    assert_eq!(record["return_line_items"].as_array().unwrap().len(), 1);
    assert_eq!(
        (
            &line["order_line_item_id"],
            &line["sku_id"],
            &line["seller_sku"],
            &line["product_image"]["url"]
        ),
        (
            &json!(format!("{order}1")),
            &json!("3001"),
            &json!("RED-M"),
            &json!("https://img.invalid/red.png")
        )
    );
    assert!(line["return_line_item_id"].is_string());
    let action = &record["seller_next_action_response"][0];
    assert_eq!(action["action"], "SELLER_RESPOND_RETURN");
    let deadline = action["deadline"].as_i64().unwrap() - now();
    assert!((47 * 3600..=48 * 3600).contains(&deadline), "48 hours to respond");
    assert_eq!(record["arbitration_status"], "");
    assert!(
        record.as_object().unwrap().keys().all(|k| !k.starts_with('_')),
        "{record}"
    );
    let (status, refused) = w
        .admin(
            Method::POST,
            "/sandbox/returns",
            json!({"order_id": order, "order_line_item_ids": [format!("{order}1")]}),
        )
        .await;
    assert_eq!(status, 400, "the unit is in an open return: {refused}");

    let early = w
        .decide(&return_id, "approve", approve("APPROVE_RECEIVED_PACKAGE"))
        .await;
    assert_eq!(early, 25020003, "nothing came back yet");
    assert_eq!(w.decide(&return_id, "approve", approve("APPROVE_RETURN")).await, 0);
    let record = w.get_return(&return_id).await;
    assert_eq!(record["return_status"], "AWAITING_BUYER_SHIP");
    assert_eq!(record["seller_next_action_response"], json!([]), "the buyer acts next");
    assert_eq!(
        w.decide(&return_id, "approve", approve("APPROVE_RETURN")).await,
        25011012,
        "already processed"
    );

    let path = format!("/sandbox/returns/{return_id}/ship");
    let (status, shipped) = w
        .admin(
            Method::POST,
            &path,
            json!({"tracking_number": "9400111899223197428490"}),
        )
        .await;
    assert_eq!(status, 200, "{shipped}");
    assert_eq!(
        (&shipped["return_status"], &shipped["return_tracking_number"]),
        (&json!("BUYER_SHIPPED_ITEM"), &json!("9400111899223197428490"))
    );
    assert_eq!(
        shipped["seller_next_action_response"][0]["action"],
        "SELLER_RESPOND_RECEIVE_PACKAGE"
    );
    assert_eq!(w.admin(Method::POST, &path, json!({})).await.0, 400, "shipped once");
    let reasons = w
        .call_on(
            0,
            "/return_refund/202309/reject_reasons",
            &[("return_or_cancel_id", return_id.clone()), ("locale", "en-US".into())],
            None,
        )
        .await;
    assert_eq!(
        reasons.body["data"]["reasons"][0]["name"], "reverse_reject_receive_reason_1",
        "the package's reasons now"
    );

    assert_eq!(
        w.decide(&return_id, "approve", approve("APPROVE_RECEIVED_PACKAGE"))
            .await,
        0
    );
    assert_eq!(
        w.get_return(&return_id).await["return_status"],
        "RETURN_OR_REFUND_REQUEST_COMPLETE"
    );
    assert_eq!(
        w.decide(&return_id, "approve", approve("APPROVE_RECEIVED_PACKAGE"))
            .await,
        25011012
    );
    let statuses = w.statuses(12, ("return_id", &return_id), "return_status", 4).await;
    assert_eq!(
        statuses,
        [
            "RETURN_OR_REFUND_REQUEST_PENDING",
            "AWAITING_BUYER_SHIP",
            "BUYER_SHIPPED_ITEM",
            "RETURN_OR_REFUND_REQUEST_COMPLETE"
        ]
    );
    let hook = &w.webhooks(12, "return_id", &return_id)[1];
    assert_eq!(
        (&hook["return_role"], &hook["return_type"], &hook["order_id"]),
        (&json!("SELLER"), &json!("RETURN_AND_REFUND"), &json!(order))
    );

    let path = format!("/return_refund/202309/returns/{return_id}/records");
    let records = w.call_on(0, &path, &[], None).await;
    let events: Vec<&str> = records.body["data"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "REQUEST_CREATED",
            "RETURN_APPROVED",
            "BUYER_SHIPPED",
            "PACKAGE_RECEIVED"
        ]
    );
    let shipped_entry = &records.body["data"]["records"][2];
    assert!(
        shipped_entry["description"]
            .as_str()
            .unwrap()
            .contains("9400111899223197428490")
    );
    assert_eq!(shipped_entry["role"], "BUYER");
    assert_eq!(
        w.call_on(1, &path, &[], None).await.code(),
        25007006,
        "another shop's return"
    );
}

#[tokio::test]
async fn a_refund_only_request_fits_its_order_status_and_type_and_is_refunded_on_approval() {
    let w = world().await;
    let waiting = w.order("580000000000000010", "AWAITING_SHIPMENT").await;
    let moving = w.order("580000000000000011", "IN_TRANSIT").await;
    for (body, why) in [
        (
            json!({"order_id": waiting, "return_type": "REFUND"}),
            "no refund before the parcel is arranged",
        ),
        (
            json!({"order_id": moving, "return_type": "RETURN_AND_REFUND"}),
            "returns only once delivered",
        ),
        (
            json!({"order_id": moving, "return_type": "REFUND", "order_line_item_ids": ["999"]}),
            "a unit of another order",
        ),
    ] {
        assert_eq!(w.admin(Method::POST, "/sandbox/returns", body).await.0, 400, "{why}");
    }
    let body = json!({"order_id": moving, "return_type": "REFUND"});
    let return_id = w.request("/sandbox/returns", body, "return_id").await;
    let record = w.get_return(&return_id).await;
    assert_eq!(record["refund_amount"]["refund_total"], "12.50", "both units");
    assert_eq!(
        record["seller_next_action_response"][0]["action"],
        "SELLER_RESPOND_REFUND"
    );
    for decision in ["APPROVE_RETURN", "APPROVE_RECEIVED_PACKAGE", "APPROVE_REPLACEMENT"] {
        assert_eq!(
            w.decide(&return_id, "approve", approve(decision)).await,
            25020004,
            "{decision} does not fit a REFUND"
        );
    }
    assert_eq!(
        w.decide(&return_id, "approve", approve("REJECT_REFUND")).await,
        25020004,
        "a rejection is not an approval"
    );
    assert_eq!(w.decide(&return_id, "approve", approve("APPROVE_REFUND")).await, 0);
    let statuses = w.statuses(12, ("return_id", &return_id), "return_status", 3).await;
    assert_eq!(
        statuses[1..],
        ["RETURN_OR_REFUND_REQUEST_SUCCESS", "RETURN_OR_REFUND_REQUEST_COMPLETE"],
        "approved, then the platform refunds"
    );
    let roles: Vec<Value> = w
        .webhooks(12, "return_id", &return_id)
        .iter()
        .map(|d| d["return_role"].clone())
        .collect();
    assert_eq!(roles, ["BUYER", "SELLER", "SYSTEM"]);

    // A returnless refund: APPROVE_RETURN with buyer_keep_item.
    let delivered = w.order("580000000000000012", "DELIVERED").await;
    let return_id = w
        .request("/sandbox/returns", json!({"order_id": delivered}), "return_id")
        .await;
    let keep = json!({"decision": "APPROVE_RETURN", "buyer_keep_item": true});
    assert_eq!(w.decide(&return_id, "approve", keep).await, 0);
    let record = w.get_return(&return_id).await;
    assert_eq!(
        (&record["return_status"], &record["can_buyer_keep_item"]),
        (&json!("RETURN_OR_REFUND_REQUEST_COMPLETE"), &json!(true))
    );
}

#[tokio::test]
async fn a_partial_refund_offer_waits_for_the_buyer() {
    let w = world().await;
    let order = w.order("580000000000000020", "DELIVERED").await;
    let offered = w
        .request("/sandbox/returns", json!({"order_id": order}), "return_id")
        .await;
    let offer = |amount: &str, currency: &str| json!({"decision": "OFFER_PARTIAL_REFUND", "partial_refund": {"amount": amount, "currency": currency}});
    for (amount, currency) in [("12.50", "USD"), ("0", "USD"), ("abc", "USD"), ("3.00", "GBP")] {
        assert_eq!(
            w.decide(&offered, "approve", offer(amount, currency)).await,
            36009004,
            "{amount} {currency}: above 0, below 12.50, in USD"
        );
    }
    assert_eq!(w.decide(&offered, "approve", offer("4.00", "USD")).await, 0);
    let record = w.get_return(&offered).await;
    assert_eq!(
        (
            &record["return_status"],
            &record["seller_proposed_return_type"],
            &record["partial_refund"]
        ),
        (
            &json!("AWAITING_BUYER_RESPONSE"),
            &json!("PARTIAL_REFUND"),
            &json!({"amount": "4.00", "currency": "USD"})
        )
    );
    let path = format!("/sandbox/returns/{offered}/buyer-response");
    let (status, refused) = w.admin(Method::POST, &path, json!({"accept": false})).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&refused["return_status"], &refused["buyer_rejected_partial_refund"]),
        (&json!("RETURN_OR_REFUND_REQUEST_PENDING"), &json!(true))
    );
    assert_eq!(
        refused["seller_next_action_response"][0]["action"], "SELLER_RESPOND_RETURN",
        "back with the seller"
    );
    assert_eq!(w.decide(&offered, "approve", offer("6.00", "USD")).await, 0);
    let (status, accepted) = w.admin(Method::POST, &path, json!({"accept": true})).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&accepted["return_status"], &accepted["refund_amount"]["refund_total"]),
        (&json!("RETURN_OR_REFUND_REQUEST_COMPLETE"), &json!("6.00"))
    );
    assert_eq!(
        w.admin(Method::POST, &path, json!({"accept": true})).await.0,
        400,
        "nothing to answer"
    );
}

#[tokio::test]
async fn a_rejection_needs_one_of_the_requests_reasons() {
    let w = world().await;
    let order = w.order("580000000000000030", "DELIVERED").await;
    let return_id = w
        .request("/sandbox/returns", json!({"order_id": order}), "return_id")
        .await;
    let reasons = w
        .call_on(
            0,
            "/return_refund/202309/reject_reasons",
            &[("return_or_cancel_id", return_id.clone())],
            None,
        )
        .await;
    let names: Vec<&str> = reasons.body["data"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "reverse_reject_request_reason_1",
            "reverse_reject_request_reason_2",
            "reverse_reject_request_reason_3"
        ]
    );
    for (body, code, why) in [
        (
            reject("REJECT_RETURN", "seller_reject_apply_product_has_been_packed"),
            25020006,
            "a cancellation's reason",
        ),
        (
            reject("REJECT_RETURN", "reverse_reject_receive_reason_1"),
            25020006,
            "a package reason before any package",
        ),
        (json!({"decision": "REJECT_RETURN"}), 25020004, "no reason"),
        (
            json!({"decision": "REJECT_RETURN", "reject_reason": "reverse_reject_request_reason_2", "comment": "x".repeat(501)}),
            36009004,
            "a comment over 500 characters",
        ),
        (
            json!({"decision": "REJECT_RETURN", "reject_reason": "reverse_reject_request_reason_2", "images": [{"width": 1}]}),
            36009004,
            "an image without id",
        ),
        (
            reject("REJECT_RECEIVED_PACKAGE", "reverse_reject_request_reason_2"),
            25020003,
            "no package yet",
        ),
        (
            reject("REJECT_REFUND", "reverse_reject_request_reason_2"),
            25020004,
            "not a refund-only request",
        ),
    ] {
        assert_eq!(w.decide(&return_id, "reject", body).await, code, "{why}");
    }
    assert_eq!(
        w.decide(
            &return_id,
            "reject",
            reject("REJECT_RETURN", "reverse_reject_request_reason_2")
        )
        .await,
        0
    );
    let record = w.get_return(&return_id).await;
    assert_eq!(
        (&record["return_status"], &record["reject_reason"]),
        (
            &json!("REFUND_OR_RETURN_REQUEST_REJECT"),
            &json!("reverse_reject_request_reason_2")
        )
    );
    let path = format!("/return_refund/202309/returns/{return_id}/records");
    let records = w.call_on(0, &path, &[], None).await.body["data"]["records"].clone();
    let rejected = &records[1];
    assert_eq!(
        (&rejected["event"], &rejected["role"], &rejected["note"]),
        (&json!("SELLER_REJECTED"), &json!("SELLER"), &json!("See the photos"))
    );
    assert!(
        rejected["description"]
            .as_str()
            .unwrap()
            .contains("Product was used or damaged")
    );
    assert_eq!(rejected["images"][0]["image_id"], "tos-maliva-i-sandbox1");
    assert_eq!(
        w.decide(&return_id, "approve", approve("APPROVE_RETURN")).await,
        25011012,
        "already rejected"
    );
    let unknown = w
        .call_on(
            0,
            "/return_refund/202309/reject_reasons",
            &[("return_or_cancel_id", "1".into())],
            None,
        )
        .await;
    assert_eq!(unknown.code(), 25007006);
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_success_or_refusal() {
    let w = world().await;
    let order = w.order("580000000000000040", "DELIVERED").await;
    let return_id = w
        .request("/sandbox/returns", json!({"order_id": order}), "return_id")
        .await;
    let path = format!("/return_refund/202309/returns/{return_id}/reject");
    let key = |k: &str| [("idempotency_key", k.to_string())];
    let bad = reject("REJECT_RETURN", "not_a_reason");
    let good = reject("REJECT_RETURN", "reverse_reject_request_reason_1");
    assert_eq!(w.call_on(0, &path, &key("k-1"), Some(bad)).await.code(), 25020006);
    assert_eq!(
        w.call_on(0, &path, &key("k-1"), Some(good.clone())).await.code(),
        25020006,
        "the first answer, though this body would pass"
    );
    assert_eq!(
        w.get_return(&return_id).await["return_status"],
        "RETURN_OR_REFUND_REQUEST_PENDING"
    );

    let approve_path = format!("/return_refund/202309/returns/{return_id}/approve");
    let approval = approve("APPROVE_RETURN");
    assert_eq!(
        w.call_on(0, &approve_path, &key("k-2"), Some(approval.clone()))
            .await
            .code(),
        0
    );
    let before = w.get_return(&return_id).await;
    assert_eq!(
        w.call_on(0, &approve_path, &key("k-2"), Some(approval.clone()))
            .await
            .code(),
        0,
        "a retry gets the first answer"
    );
    assert_eq!(
        w.call_on(0, &path, &key("k-2"), Some(good)).await.code(),
        0,
        "the key's answer, and the rejection is not applied"
    );
    assert_eq!(w.get_return(&return_id).await, before, "nothing changed");
    assert_eq!(
        w.call_on(0, &approve_path, &[], Some(approval.clone())).await.code(),
        25011012,
        "without the key it is a second decision"
    );
    let statuses = w.statuses(12, ("return_id", &return_id), "return_status", 2).await;
    assert_eq!(statuses.len(), 2, "one approval notified: {statuses:?}");
    for bad_key in [String::new(), "k".repeat(256)] {
        assert_eq!(
            w.call_on(0, &approve_path, &key(&bad_key), Some(approval.clone()))
                .await
                .code(),
            36009004
        );
    }
}

#[tokio::test]
async fn arbitration_and_a_passed_deadline_take_the_decision_from_the_seller() {
    let w = world().await;
    let order = w.order("580000000000000050", "DELIVERED").await;
    let disputed = w
        .request(
            "/sandbox/returns",
            json!({"order_id": order, "order_line_item_ids": [format!("{order}1")]}),
            "return_id",
        )
        .await;
    let path = format!("/sandbox/returns/{disputed}/arbitration");
    assert_eq!(
        w.admin(Method::POST, &path, json!({"arbitration_status": "SUPPORT_BUYER"}))
            .await
            .0,
        400,
        "a verdict needs an arbitration in progress"
    );
    let (status, record) = w
        .admin(Method::POST, &path, json!({"arbitration_status": "IN_PROGRESS"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (&record["arbitration_status"], &record["seller_next_action_response"]),
        (&json!("IN_PROGRESS"), &json!([]))
    );
    assert_eq!(
        w.decide(&disputed, "approve", approve("APPROVE_RETURN")).await,
        25011010
    );
    let filter = json!({"arbitration_status": ["IN_PROGRESS"]});
    let found = w.post("/return_refund/202309/returns/search", filter).await;
    assert_eq!(found.body["data"]["total_count"], 1);
    let (_, record) = w
        .admin(Method::POST, &path, json!({"arbitration_status": "SUPPORT_BUYER"}))
        .await;
    assert_eq!(
        (&record["arbitration_status"], &record["return_status"]),
        (&json!("SUPPORT_BUYER"), &json!("RETURN_OR_REFUND_REQUEST_COMPLETE"))
    );

    // The seller lets the deadline pass: TikTok approves the return for it.
    let late = w
        .request(
            "/sandbox/returns",
            json!({"order_id": order, "order_line_item_ids": [format!("{order}2")]}),
            "return_id",
        )
        .await;
    let (status, record) = w
        .admin(Method::POST, &format!("/sandbox/returns/{late}/expire"), json!({}))
        .await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["return_status"], "AWAITING_BUYER_SHIP");
    assert_eq!(w.decide(&late, "approve", approve("APPROVE_RETURN")).await, 25020011);
    assert_eq!(
        w.decide(
            &late,
            "reject",
            reject("REJECT_RETURN", "reverse_reject_request_reason_1")
        )
        .await,
        25020011
    );
    let shipped = format!("/sandbox/returns/{late}/ship");
    assert_eq!(w.admin(Method::POST, &shipped, json!({})).await.0, 200);
    let received = approve("APPROVE_RECEIVED_PACKAGE");
    assert_eq!(
        w.decide(&late, "approve", received).await,
        0,
        "the package stage has its own deadline"
    );
    let roles: Vec<Value> = w
        .webhooks(12, "return_id", &late)
        .iter()
        .map(|d| d["return_role"].clone())
        .collect();
    assert!(eventually(|| w.webhooks(12, "return_id", &late).len() == 4).await);
    assert_eq!(roles[..2], ["BUYER", "SYSTEM"]);

    let refund_only = w.order("580000000000000051", "DELIVERED").await;
    let refund = w
        .request(
            "/sandbox/returns",
            json!({"order_id": refund_only, "return_type": "REFUND"}),
            "return_id",
        )
        .await;
    let (_, record) = w
        .admin(Method::POST, &format!("/sandbox/returns/{refund}/expire"), json!({}))
        .await;
    assert_eq!(record["return_status"], "RETURN_OR_REFUND_REQUEST_COMPLETE");
    assert_eq!(
        w.admin(Method::POST, &format!("/sandbox/returns/{refund}/expire"), json!({}))
            .await
            .0,
        400,
        "nothing waits for the seller"
    );
}

#[tokio::test]
async fn a_buyer_cancellation_is_approved_or_rejected_once() {
    let w = world().await;
    let delivered = w.order("580000000000000060", "DELIVERED").await;
    assert_eq!(
        w.admin(Method::POST, "/sandbox/cancellations", json!({"order_id": delivered}))
            .await
            .0,
        400,
        "too late to cancel"
    );
    let order = w.order("580000000000000061", "AWAITING_SHIPMENT").await;
    let cancel_id = w
        .request("/sandbox/cancellations", json!({"order_id": order}), "cancel_id")
        .await;
    assert_eq!(
        w.admin(Method::POST, "/sandbox/cancellations", json!({"order_id": order}))
            .await
            .0,
        400,
        "one pending request per order"
    );
    let record = w.get_cancellation(&cancel_id).await;
    assert_eq!(
        (
            &record["cancel_type"],
            &record["cancel_status"],
            &record["role"],
            &record["cancel_reason"]
        ),
        (
            &json!("BUYER_CANCEL"),
            &json!("CANCELLATION_REQUEST_PENDING"),
            &json!("BUYER"),
            &json!("ecom_order_to_ship_canceled_reason_change_mind")
        )
    );
    assert_eq!(record["refund_amount"]["refund_total"], "12.50");
    assert_eq!(record["cancel_line_items"].as_array().unwrap().len(), 2);
    assert_eq!(
        record["seller_next_action_response"][0]["action"],
        "SELLER_RESPOND_CANCEL"
    );
    let reject_path = format!("/return_refund/202309/cancellations/{cancel_id}/reject");
    let approve_path = format!("/return_refund/202309/cancellations/{cancel_id}/approve");
    let foreign = w.call_on(1, &approve_path, &[], Some(json!({}))).await.code();
    assert_eq!(foreign, 25007006, "another shop's cancellation");
    let wrong = json!({"reject_reason": "reverse_reject_request_reason_1"});
    assert_eq!(w.post(&reject_path, wrong).await.code(), 25020006);
    assert_eq!(w.post(&approve_path, json!({})).await.code(), 0);
    let record = w.get_cancellation(&cancel_id).await;
    assert_eq!(record["cancel_status"], "CANCELLATION_REQUEST_COMPLETE");
    let reason = json!({"reject_reason": "seller_reject_apply_product_has_been_packed"});
    assert_eq!(
        w.post(&reject_path, reason.clone()).await.code(),
        25011012,
        "already approved"
    );
    let statuses = w.statuses(11, ("cancel_id", &cancel_id), "cancel_status", 3).await;
    assert_eq!(
        statuses,
        [
            "CANCELLATION_REQUEST_PENDING",
            "CANCELLATION_REQUEST_SUCCESS",
            "CANCELLATION_REQUEST_COMPLETE"
        ]
    );
    assert_eq!(
        w.statuses(1, ("order_id", &order), "order_status", 2).await[1],
        "CANCEL"
    );

    let kept = w.order("580000000000000062", "AWAITING_SHIPMENT").await;
    let rejected = w
        .request(
            "/sandbox/cancellations",
            json!({"order_id": kept, "cancel_reason_text": "Found it cheaper"}),
            "cancel_id",
        )
        .await;
    let path = format!("/return_refund/202309/cancellations/{rejected}/reject");
    assert_eq!(w.post(&path, reason).await.code(), 0);
    let record = w.get_cancellation(&rejected).await;
    assert_eq!(
        (
            &record["cancel_status"],
            &record["reject_reason"],
            &record["seller_next_action_response"]
        ),
        (
            &json!("CANCELLATION_REQUEST_CANCEL"),
            &json!("seller_reject_apply_product_has_been_packed"),
            &json!([])
        )
    );
    assert_eq!(w.h.sandbox.lock().orders[&kept]["status"], "AWAITING_SHIPMENT");

    // A request left unanswered is approved by TikTok.
    let lapsed = w.order("580000000000000063", "AWAITING_SHIPMENT").await;
    let cancel_id = w
        .request("/sandbox/cancellations", json!({"order_id": lapsed}), "cancel_id")
        .await;
    let path = format!("/sandbox/cancellations/{cancel_id}/expire");
    let (status, record) = w.admin(Method::POST, &path, json!({})).await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["cancel_status"], "CANCELLATION_REQUEST_COMPLETE");
    assert_eq!(w.h.sandbox.lock().orders[&lapsed]["status"], "CANCELLED");
    let path = format!("/return_refund/202309/cancellations/{cancel_id}/approve");
    assert_eq!(w.post(&path, json!({})).await.code(), 25020011);
}

#[tokio::test]
async fn searches_filter_sort_and_page_after_sale_records() {
    let w = world().await;
    let first = w.order("580000000000000070", "DELIVERED").await;
    let second = w.order("580000000000000071", "DELIVERED").await;
    let refund = w
        .request(
            "/sandbox/returns",
            json!({"order_id": first, "return_type": "REFUND"}),
            "return_id",
        )
        .await;
    let replacement = w
        .request(
            "/sandbox/returns",
            json!({"order_id": second, "return_type": "REPLACEMENT"}),
            "return_id",
        )
        .await;
    assert_eq!(
        w.get_return(&replacement).await["return_status"],
        "REPLACEMENT_REQUEST_PENDING"
    );
    let search = async |filter: Value, query: &[(&str, String)]| {
        w.call_on(0, "/return_refund/202309/returns/search", query, Some(filter))
            .await
    };
    let ids = |answer: &Answer| -> Vec<String> {
        answer.body["data"]["return_orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["return_id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = search(json!({}), &[]).await;
    assert_eq!(ids(&all), [refund.clone(), replacement.clone()], "oldest update first");
    assert_eq!(
        ids(&search(json!({"return_types": ["REPLACEMENT"]}), &[]).await),
        [replacement.clone()]
    );
    assert_eq!(ids(&search(json!({"order_ids": [first]}), &[]).await), [refund.clone()]);
    assert_eq!(
        ids(&search(json!({"return_status": ["REPLACEMENT_REQUEST_PENDING"]}), &[]).await),
        [replacement.clone()]
    );
    let later = json!({"update_time_ge": now() + 60});
    assert_eq!(search(later, &[]).await.body["data"]["total_count"], 0);
    let desc = [("sort_order", "DESC".to_string())];
    assert_eq!(
        ids(&search(json!({}), &desc).await),
        [replacement.clone(), refund.clone()]
    );
    let page = search(json!({}), &[("page_size", "1".into())]).await;
    assert_eq!(ids(&page), [refund.clone()]);
    let token = page.body["data"]["next_page_token"].as_str().unwrap().to_string();
    let next = search(json!({}), &[("page_size", "1".into()), ("page_token", token)]).await;
    assert_eq!(ids(&next), [replacement]);
    for size in ["0", "51"] {
        assert_eq!(search(json!({}), &[("page_size", size.into())]).await.code(), 36009004);
    }
    assert_eq!(search(json!({"return_ids": "not a list"}), &[]).await.code(), 36009004);

    let waiting = w.order("580000000000000072", "AWAITING_SHIPMENT").await;
    let cancel_id = w
        .request("/sandbox/cancellations", json!({"order_id": waiting}), "cancel_id")
        .await;
    let cancellations = async |filter: Value| {
        w.post("/return_refund/202309/cancellations/search", filter).await.body["data"]["total_count"].clone()
    };
    assert_eq!(
        cancellations(json!({"cancel_types": ["BUYER_CANCEL"], "cancel_status": ["CANCELLATION_REQUEST_PENDING"]}))
            .await,
        1
    );
    assert_eq!(cancellations(json!({"cancel_ids": [cancel_id]})).await, 1);
    assert_eq!(cancellations(json!({"cancel_types": ["CANCEL"]})).await, 0);
    assert_eq!(cancellations(json!({"order_ids": [first]})).await, 0);
}
