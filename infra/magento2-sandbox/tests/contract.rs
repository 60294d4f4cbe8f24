//! The Magento 2 sandbox's contract, driven over HTTP with requests signed by the
//! sandbox's own OAuth 1.0a signer.

use magento2_sandbox::oauth::{Credentials, Method, authorization_header};
use magento2_sandbox::{Integration, Sandbox, SandboxConfig};
use serde_json::{Value, json};

/// A started sandbox and the integration a client signs with.
struct Client {
    base: String,
    http: reqwest::Client,
    integration: Integration,
    nonce: std::sync::atomic::AtomicU64,
}

async fn start(config: SandboxConfig) -> Client {
    let integration = config.integrations[0].clone();
    let addr = Sandbox::new(config)
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    Client {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        integration,
        nonce: Default::default(),
    }
}

impl Client {
    fn next_nonce(&self) -> String {
        let n = self.nonce.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        format!("nonce{n}x{}", rand_suffix())
    }

    /// A signed request: `path` after `/rest/default/V1` (query included).
    async fn signed(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.signed_with(
            &self.integration,
            method,
            path,
            body,
            &self.next_nonce(),
            Method::HmacSha256,
        )
        .await
    }

    async fn signed_with(
        &self,
        integration: &Integration,
        method: &str,
        path: &str,
        body: Option<Value>,
        nonce: &str,
        signature_method: Method,
    ) -> (u16, Value) {
        let url = url::Url::parse(&format!("{}/rest/default/V1{path}", self.base)).unwrap();
        let credentials = Credentials {
            consumer_key: &integration.consumer_key,
            consumer_secret: &integration.consumer_secret,
            token: &integration.access_token,
            token_secret: &integration.access_token_secret,
        };
        let now = jiff::Timestamp::now().as_second();
        let header = authorization_header(&credentials, signature_method, method, &url, now, nonce);
        let mut request = self
            .http
            .request(method.parse().unwrap(), url)
            .header("authorization", header);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}/sandbox{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap().json().await.unwrap()
    }

    async fn salable(&self, sku: &str) -> f64 {
        let (status, body) = self
            .signed("GET", &format!("/inventory/get-product-salable-quantity/{sku}/1"), None)
            .await;
        assert_eq!(status, 200, "{body}");
        body.as_f64().unwrap()
    }

    async fn source_qty(&self, sku: &str, source: &str) -> f64 {
        let query = format!(
            "/inventory/source-items?searchCriteria[filter_groups][0][filters][0][field]=sku&searchCriteria[filter_groups][0][filters][0][value]={sku}\
             &searchCriteria[filter_groups][1][filters][0][field]=source_code&searchCriteria[filter_groups][1][filters][0][value]={source}"
        );
        let (status, body) = self.signed("GET", &query, None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["total_count"], 1, "{body}");
        body["items"][0]["quantity"].as_f64().unwrap()
    }

    /// The quote flow: cart, item, shipping information, order; the order id.
    async fn place(&self, sku: &str, qty: f64) -> u64 {
        let (status, cart) = self.signed("POST", "/carts/", None).await;
        assert_eq!(status, 200, "{cart}");
        let cart = cart.as_u64().unwrap();
        let (status, item) = self
            .signed(
                "POST",
                &format!("/carts/{cart}/items"),
                Some(json!({"cartItem": {"sku": sku, "qty": qty, "quote_id": cart.to_string()}})),
            )
            .await;
        assert_eq!(status, 200, "{item}");
        let address = json!({"firstname": "Ada", "lastname": "Lovelace", "street": ["1 Analytical Way"],
            "city": "London", "region": "London", "postcode": "N1 1AA", "country_id": "GB",
            "telephone": "0200000000", "email": "ada@example.com"});
        let (status, info) = self
            .signed(
                "POST",
                &format!("/carts/{cart}/shipping-information"),
                Some(
                    json!({"addressInformation": {"shipping_address": address, "billing_address": address,
                    "shipping_carrier_code": "flatrate", "shipping_method_code": "flatrate"}}),
                ),
            )
            .await;
        assert_eq!(status, 200, "{info}");
        let (status, order) = self
            .signed(
                "PUT",
                &format!("/carts/{cart}/order"),
                Some(json!({"paymentMethod": {"method": "checkmo"}})),
            )
            .await;
        assert_eq!(status, 200, "{order}");
        order.as_u64().unwrap()
    }
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

#[tokio::test]
async fn a_signed_request_is_accepted_and_bad_ones_refused() {
    let client = start(SandboxConfig::default()).await;
    let (status, body) = client.signed("GET", "/store/storeConfigs", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[0]["code"], "default");
    assert_eq!(body[0]["base_media_url"], format!("{}/media/", client.base));

    // HMAC-SHA1 too, with a query signed.
    let (status, body) = client
        .signed_with(
            &client.integration,
            "GET",
            "/products?searchCriteria[pageSize]=2&searchCriteria[currentPage]=1",
            None,
            "sha1-nonce",
            Method::HmacSha1,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 2);

    let wrong = Integration {
        consumer_secret: "not-the-secret".into(),
        ..client.integration.clone()
    };
    let (status, body) = client
        .signed_with(&wrong, "GET", "/store/storeViews", None, "n-wrong", Method::HmacSha256)
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"message": "The signature is invalid. Verify and try again."})
    );

    let (status, _) = client
        .signed_with(
            &client.integration,
            "GET",
            "/store/websites",
            None,
            "n-once",
            Method::HmacSha256,
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = client
        .signed_with(
            &client.integration,
            "GET",
            "/store/websites",
            None,
            "n-once",
            Method::HmacSha256,
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"message": "The nonce is already being used by the consumer with ID %1.", "parameters": ["1"]})
    );

    // No signature, or a Bearer token while bearer tokens are off: the ACL 401.
    let response = client
        .http
        .get(format!("{}/rest/default/V1/orders", client.base))
        .bearer_auth(&client.integration.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["parameters"]["resources"], "Magento_Sales::actions_view");

    // Unknown store code and unknown route.
    let response = client
        .http
        .get(format!("{}/rest/french/V1/orders", client.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let (status, body) = client.signed("GET", "/no/such/route", None).await;
    assert_eq!(status, 404);
    assert_eq!(body["message"], "Request does not match any route.");
}

#[tokio::test]
async fn an_integration_without_the_resource_gets_the_acl_401() {
    let client = start(SandboxConfig::default()).await;
    let limited = Integration {
        consumer_key: "ck-limited".into(),
        consumer_secret: "cs-limited".into(),
        access_token: "at-limited".into(),
        access_token_secret: "ats-limited".into(),
        resources: vec!["Magento_Catalog::products".into()],
        revoked: false,
    };
    client
        .admin("POST", "/integrations", Some(serde_json::to_value(&limited).unwrap()))
        .await;
    let (status, _) = client
        .signed_with(&limited, "GET", "/products/SKU-00001", None, "l1", Method::HmacSha256)
        .await;
    assert_eq!(status, 200);
    let (status, body) = client
        .signed_with(&limited, "GET", "/orders", None, "l2", Method::HmacSha256)
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"message": "The consumer isn't authorized to access %resources.",
               "parameters": {"resources": "Magento_Sales::actions_view"}})
    );
    client.admin("POST", "/integrations/ck-limited/revoke", None).await;
    let (status, _) = client
        .signed_with(&limited, "GET", "/products/SKU-00001", None, "l3", Method::HmacSha256)
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn paging_past_the_last_page_answers_the_last_page_again() {
    let client = start(SandboxConfig {
        products: 10,
        ..SandboxConfig::default()
    })
    .await;
    // 10 visible: 8 simple + 2 configurable with 3 children each = 16 products.
    let page = |n: u32| {
        format!(
            "/products?searchCriteria[sortOrders][0][field]=entity_id&searchCriteria[sortOrders][0][direction]=ASC\
             &searchCriteria[pageSize]=5&searchCriteria[currentPage]={n}"
        )
    };
    let (status, last) = client.signed("GET", &page(4), None).await;
    assert_eq!(status, 200, "{last}");
    assert_eq!(last["total_count"], 16);
    assert_eq!(last["items"].as_array().unwrap().len(), 1);
    let (_, beyond) = client.signed("GET", &page(9), None).await;
    assert_eq!(beyond["items"], last["items"]);
    assert_eq!(beyond["search_criteria"]["current_page"], 9);

    let (status, body) = client
        .signed("GET", "/products?searchCriteria[pageSize]=301", None)
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"message": "Maximum SearchCriteria pageSize is %max", "parameters": {"max": 300}})
    );
    let (status, body) = client
        .signed(
            "GET",
            "/products?searchCriteria[filter_groups][0][filters][0][field]=colour&searchCriteria[filter_groups][0][filters][0][value]=1",
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["parameters"]["fieldName"], "colour");

    // Visible configurables, and a like filter, and the children route.
    let (_, body) = client
        .signed(
            "GET",
            "/products?searchCriteria[filter_groups][0][filters][0][field]=type_id&searchCriteria[filter_groups][0][filters][0][value]=configurable\
             &searchCriteria[filter_groups][1][filters][0][field]=sku&searchCriteria[filter_groups][1][filters][0][value]=CFG%25&searchCriteria[filter_groups][1][filters][0][condition_type]=like",
            None,
        )
        .await;
    assert_eq!(body["total_count"], 2, "{body}");
    let parent = &body["items"][0];
    assert_eq!(
        parent["extension_attributes"]["configurable_product_options"][0]["attribute_id"],
        "93"
    );
    let sku = parent["sku"].as_str().unwrap();
    let (_, children) = client
        .signed("GET", &format!("/configurable-products/{sku}/children"), None)
        .await;
    assert_eq!(children.as_array().unwrap().len(), 3);
    assert_eq!(children[0]["visibility"], 1);
}

#[tokio::test]
async fn the_quote_flow_reserves_shipping_deducts_and_cancel_restores() {
    let client = start(SandboxConfig {
        products: 10,
        ..SandboxConfig::default()
    })
    .await;
    let sku = "SKU-00001";
    assert_eq!(client.salable(sku).await, 25.0);
    let order = client.place(sku, 2.0).await;
    assert_eq!(client.salable(sku).await, 23.0, "the reservation");
    assert_eq!(client.source_qty(sku, "default").await, 20.0);

    let (status, body) = client.signed("GET", &format!("/orders/{order}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(body["state"], "new");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["increment_id"], "000000001");
    assert_eq!(body["customer_email"], "ada@example.com");
    assert_eq!(body["grand_total"], json!(body["subtotal"].as_f64().unwrap() + 10.0));

    let (status, _) = client
        .signed(
            "POST",
            &format!("/order/{order}/invoice"),
            Some(json!({"capture": true})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, shipment) = client
        .signed(
            "POST",
            &format!("/order/{order}/ship"),
            Some(json!({"tracks": [{"track_number": "1Z999", "title": "UPS", "carrier_code": "ups"}]})),
        )
        .await;
    assert_eq!(status, 200, "{shipment}");
    assert_eq!(client.salable(sku).await, 23.0, "shipping compensates the reservation");
    assert_eq!(client.source_qty(sku, "default").await, 18.0, "and deducts the source");
    let (_, body) = client.signed("GET", &format!("/orders/{order}"), None).await;
    assert_eq!(body["state"], "complete");
    let (status, body) = client
        .signed("POST", &format!("/order/{order}/ship"), Some(json!({})))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Shipment Document Validation Error(s):\nThe order does not allow a shipment to be created."
    );

    let second = client.place(sku, 3.0).await;
    assert_eq!(client.salable(sku).await, 20.0);
    let (status, cancelled) = client.signed("POST", &format!("/orders/{second}/cancel"), None).await;
    assert_eq!((status, cancelled), (200, json!(true)));
    assert_eq!(client.salable(sku).await, 23.0, "cancel restores");
    let (_, again) = client.signed("POST", &format!("/orders/{second}/cancel"), None).await;
    assert_eq!(again, json!(false));
}

#[tokio::test]
async fn refund_over_the_limit_is_refused_with_the_envelope() {
    let client = start(SandboxConfig {
        products: 5,
        ..SandboxConfig::default()
    })
    .await;
    let order = client.place("SKU-00002", 1.0).await;
    let refund = |amount: f64| {
        json!({"items": [], "notify": false,
               "arguments": {"shipping_amount": 0, "adjustment_positive": amount, "adjustment_negative": 0}})
    };
    let (status, body) = client
        .signed("POST", &format!("/order/{order}/refund"), Some(refund(1.0)))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body, json!({"message": "We can't create creditmemo for the order."}));
    client
        .signed(
            "POST",
            &format!("/order/{order}/invoice"),
            Some(json!({"capture": true})),
        )
        .await;
    let (_, order_body) = client.signed("GET", &format!("/orders/{order}"), None).await;
    let grand_total = order_body["grand_total"].as_f64().unwrap();
    let (status, memo) = client
        .signed("POST", &format!("/order/{order}/refund"), Some(refund(2.5)))
        .await;
    assert_eq!(status, 200, "{memo}");
    let (status, body) = client
        .signed("POST", &format!("/order/{order}/refund"), Some(refund(grand_total)))
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"message": "The most money available to refund is %1.",
               "parameters": [format!("{:.2}", grand_total - 2.5)]})
    );
    let (status, _) = client
        .signed(
            "POST",
            &format!("/order/{order}/refund"),
            Some(refund(grand_total - 2.5)),
        )
        .await;
    assert_eq!(status, 200);
    let orders = client.admin("GET", "/orders", None).await;
    assert_eq!(orders[0]["state"], "closed");
    assert_eq!(orders[0]["creditmemos"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn faults_answer_the_cdn_429_with_retry_after() {
    let client = start(SandboxConfig::default()).await;
    client
        .admin("POST", "/faults", Some(json!({"rate_limit_share": 1.0})))
        .await;
    let response = client
        .http
        .get(format!("{}/rest/default/V1/store/websites", client.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"message": "Too many requests"})
    );
}
