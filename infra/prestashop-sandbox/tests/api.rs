//! The PrestaShop sandbox's contract, driven over HTTP as a Webservice client would.

use prestashop_sandbox::{DEFAULT_KEY, REALM, Sandbox, SandboxConfig};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

struct Client {
    base: String,
    http: reqwest::Client,
}

async fn start(config: SandboxConfig) -> Client {
    let addr = Sandbox::new(config)
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    Client {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
    }
}

async fn default() -> Client {
    start(SandboxConfig {
        products: 20,
        ..SandboxConfig::default()
    })
    .await
}

impl Client {
    /// A raw request with `key` (Basic username) and optional XML body.
    async fn raw(&self, method: &str, path: &str, key: Option<&str>, body: Option<String>) -> (u16, HeaderMap, String) {
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.basic_auth(key, Some(""));
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap())
    }

    /// A request with the default key, JSON output.
    async fn json(&self, method: &str, path: &str, body: Option<String>) -> (u16, Value) {
        let separator = if path.contains('?') { '&' } else { '?' };
        let path = format!("{path}{separator}output_format=JSON");
        let (status, _, text) = self.raw(method, &path, Some(DEFAULT_KEY), body).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.json("GET", path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap().json().await.unwrap()
    }
}

async fn stock(client: &Client, product: u32, attribute: u32) -> i64 {
    let path = format!("/sandbox/stock?id_product={product}&id_product_attribute={attribute}");
    client.admin("GET", &path, None).await["quantity"].as_i64().unwrap()
}

fn xml(resource: &str, fields: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><prestashop xmlns:xlink="http://www.w3.org/1999/xlink"><{resource}>{fields}</{resource}></prestashop>"#
    )
}

fn code(body: &Value) -> u64 {
    body["errors"][0]["code"].as_u64().unwrap_or_default()
}

#[tokio::test]
async fn keys_are_checked_as_prestashop_does() {
    let client = default().await;
    let (status, headers, body) = client.raw("GET", "/api/products", None, None).await;
    assert_eq!((status, body.as_str()), (401, "401 Unauthorized"));
    assert_eq!(headers["www-authenticate"], REALM);
    let (status, headers, body) = client
        .raw("GET", "/api/products?output_format=JSON", Some(""), None)
        .await;
    assert_eq!(status, 401);
    assert_eq!(headers["www-authenticate"], REALM);
    assert_eq!(
        body,
        r#"{"errors":[{"code":17,"message":"Authentication key is empty"}]}"#
    );
    let (status, _, body) = client.raw("GET", "/api/products", Some("SHORT"), None).await;
    assert_eq!(status, 401);
    assert!(body.contains("<code><![CDATA[18]]></code>"), "{body}");
    let unknown = "X".repeat(32);
    let (status, _, body) = client
        .raw("GET", "/api/products?output_format=JSON", Some(&unknown), None)
        .await;
    assert_eq!(status, 401);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["errors"][0]["code"], 20);
    assert_eq!(
        body["errors"][1],
        json!({"code": 21, "message": "No permission for this authentication key"})
    );
    // ?ws_key= works too.
    let (status, _, _) = client
        .raw("GET", &format!("/api/products?ws_key={DEFAULT_KEY}"), None, None)
        .await;
    assert_eq!(status, 200);

    let narrow = "NARROWKEYNARROWKEYNARROWKEY12345";
    client
        .admin(
            "POST",
            "/sandbox/keys",
            Some(json!({"key": narrow, "permissions": {"products": ["GET"]}})),
        )
        .await;
    let (status, _, body) = client
        .raw("GET", "/api/orders?output_format=JSON", Some(narrow), None)
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["errors"][0],
        json!({"code": 26, "message": "Resource of type \"orders\" is not allowed with this authentication key"})
    );
    let (status, _, body) = client
        .raw(
            "PUT",
            "/api/products/1?output_format=JSON",
            Some(narrow),
            Some(xml("product", "<id>1</id>")),
        )
        .await;
    assert_eq!(status, 405);
    assert!(body.contains("\"code\":25"), "{body}");
    let (status, _, _) = client.raw("GET", "/api/products", Some(narrow), None).await;
    assert_eq!(status, 200);
    client
        .admin("POST", &format!("/sandbox/keys/{narrow}/disable"), None)
        .await;
    let (status, _, body) = client.raw("GET", "/api/products", Some(narrow), None).await;
    assert_eq!(status, 401);
    assert!(body.contains("Authentification key is not active"));
}

#[tokio::test]
async fn output_is_xml_by_default_and_json_on_request() {
    let client = default().await;
    let (status, headers, body) = client.raw("GET", "/api/products/1", Some(DEFAULT_KEY), None).await;
    assert_eq!(status, 200);
    assert!(body.starts_with("<?xml"), "{body}");
    assert!(body.contains(r#"<prestashop xmlns:xlink="http://www.w3.org/1999/xlink">"#));
    assert!(
        body.contains("<reference><![CDATA[PS-SKU-0001]]></reference>"),
        "{body}"
    );
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/xml"));

    let list = client.get("/api/products?limit=3").await;
    assert_eq!(list, json!({"products": [{"id": 1}, {"id": 2}, {"id": 3}]}));
    let one = client.get("/api/products/5").await;
    let product = &one["product"];
    assert_eq!(product["id"], 5);
    assert_eq!(product["price"], "24.900000");
    assert_eq!(product["active"], "1");
    assert_eq!(
        product["name"],
        json!([{"id": "1", "value": "Sandbox Tee 5"}, {"id": "2", "value": "T-shirt Sandbox 5"}])
    );
    let associations = &product["associations"];
    assert_eq!(associations["combinations"].as_array().unwrap().len(), 3);
    assert_eq!(associations["stock_availables"].as_array().unwrap().len(), 4);
    assert_eq!(associations["categories"][0], json!({"id": "2"}));
    let french = client.get("/api/products/5?language=2").await;
    assert_eq!(french["product"]["name"], "T-shirt Sandbox 5");
    // With `display`, one object is written as a list.
    let displayed = client.get("/api/products/5?display=[id,reference]").await;
    assert_eq!(displayed, json!({"products": [{"id": 5, "reference": "PS-SKU-0005"}]}));
    // An empty list is [].
    let empty = client.get("/api/products?filter[reference]=[NOPE]").await;
    assert_eq!(empty, json!([]));
    let (status, _, body) = client.raw("GET", "/api/products/999999", Some(DEFAULT_KEY), None).await;
    assert_eq!((status, body.as_str()), (404, ""));
    let (status, body) = client.json("GET", "/api/productz", None).await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Did you mean: \"products\"")
    );
    let (_, schema) = client.json("GET", "/api/customers?schema=blank", None).await;
    assert!(schema["customer"].get("firstname").is_some());
}

#[tokio::test]
async fn filters_sorts_limits_and_dates() {
    let client = default().await;
    let full = client
        .get("/api/products?display=[id,reference]&filter[reference]=[PS-SKU-0003|PS-SKU-0004]")
        .await;
    assert_eq!(full["products"].as_array().unwrap().len(), 2);
    let like = client.get("/api/products?filter[reference]=[PS-SKU-001]%").await;
    assert_eq!(like["products"].as_array().unwrap().len(), 10);
    let sorted = client.get("/api/products?sort=[id_DESC]&limit=2,3").await;
    assert_eq!(sorted, json!({"products": [{"id": 18}, {"id": 17}, {"id": 16}]}));
    let (status, body) = client
        .json("GET", "/api/products?filter[date_upd]=[2000-01-01,2100-01-01]", None)
        .await;
    assert_eq!(status, 400);
    assert_eq!(code(&body), 32);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("This filter does not exist")
    );
    let dated = client.get("/api/products?date=1&filter[date_upd]=[2000-01-01 00:00:00,2100-01-01 00:00:00]&sort=[date_upd_ASC,id_ASC]").await;
    assert_eq!(dated["products"].as_array().unwrap().len(), 20);
    let (status, body) = client.json("GET", "/api/products?sort=[date_upd_ASC]", None).await;
    assert_eq!((status, code(&body)), (400, 38));
    // Combinations have no date columns: without date=1 refused, with it nothing.
    let (status, body) = client
        .json("GET", "/api/combinations?filter[date_upd]=>[2000-01-01]", None)
        .await;
    assert_eq!((status, code(&body)), (400, 32));
    assert_eq!(
        client
            .get("/api/combinations?date=1&filter[date_upd]=>[2000-01-01]")
            .await,
        json!([])
    );
    let (status, body) = client.json("GET", "/api/products?display=[nope]", None).await;
    assert_eq!((status, code(&body)), (400, 35));
    let (status, body) = client.json("GET", "/api/products?filter[quantity]=[1]", None).await;
    assert_eq!((status, code(&body)), (400, 34));
}

#[tokio::test]
async fn content_sha1_answers_304_when_unchanged() {
    let client = default().await;
    let (_, headers, body) = client.raw("GET", "/api/products/2", Some(DEFAULT_KEY), None).await;
    let sha1 = headers["content-sha1"].to_str().unwrap().to_string();
    assert_eq!(sha1.len(), 40);
    assert!(!body.is_empty());
    let response = client
        .http
        .get(format!("{}/api/products/2", client.base))
        .basic_auth(DEFAULT_KEY, Some(""))
        .header("Local-Content-Sha1", &sha1)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 304);
    assert!(response.text().await.unwrap().is_empty());
}

#[tokio::test]
async fn writes_take_xml_only_and_validate_like_object_model() {
    let client = default().await;
    let (status, body) = client
        .json(
            "POST",
            "/api/customers",
            Some(r#"{"customer":{"firstname":"Jane"}}"#.into()),
        )
        .await;
    assert_eq!((status, code(&body)), (500, 127));
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("XML error : String could not be parsed as XML")
    );
    let digit = xml(
        "customer",
        "<lastname>Doe</lastname><firstname>Jane2</firstname><email>jane@example.com</email><passwd>secret123</passwd>",
    );
    let (status, body) = client.json("POST", "/api/customers", Some(digit)).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"][0],
        json!({"code": 85, "message": "Validation error: \"Property Customer->firstname is not valid\""})
    );
    let missing = xml(
        "customer",
        "<lastname>Doe</lastname><email>jane@example.com</email><passwd>x</passwd>",
    );
    let (status, body) = client.json("POST", "/api/customers", Some(missing)).await;
    assert_eq!(
        (status, body["errors"][0]["message"].as_str().unwrap()),
        (400, "parameter \"firstname\" required")
    );
    let (status, body) = client
        .json(
            "POST",
            "/api/stock_availables",
            Some(xml("stock_available", "<id_product>1</id_product>")),
        )
        .await;
    assert_eq!(status, 405);
    assert_eq!(
        body["errors"][0]["message"],
        "Method POST is not allowed for the resource stock_availables"
    );
    let read_only = xml("product", "<id>1</id><quantity>5</quantity>");
    let (status, body) = client.json("PATCH", "/api/products/1", Some(read_only)).await;
    assert_eq!((status, code(&body)), (400, 93));
}

/// Customer, address, cart; returns the cart id.
async fn cart(client: &Client, rows: &str) -> (u64, u64) {
    let customer = xml(
        "customer",
        "<lastname>Doe</lastname><firstname>Jane</firstname><email>jane@example.com</email><passwd>secret123</passwd><active>1</active>",
    );
    let (status, body) = client.json("POST", "/api/customers", Some(customer)).await;
    assert_eq!(status, 201, "{body}");
    let id_customer = body["customer"]["id"].as_u64().unwrap();
    let no_state = xml(
        "address",
        &format!(
            "<id_customer>{id_customer}</id_customer><id_country>21</id_country><alias>TikTok</alias><lastname>Doe</lastname><firstname>Jane</firstname><address1>1 Main St</address1><postcode>78701</postcode><city>Austin</city>"
        ),
    );
    let (status, body) = client.json("POST", "/api/addresses", Some(no_state)).await;
    assert_eq!((status, code(&body)), (400, 85), "US needs a state: {body}");
    let address = xml(
        "address",
        &format!(
            "<id_customer>{id_customer}</id_customer><id_country>21</id_country><id_state>43</id_state><alias>TikTok</alias><lastname>Doe</lastname><firstname>Jane</firstname><address1>1 Main St</address1><postcode>78701</postcode><city>Austin</city>"
        ),
    );
    let (status, body) = client.json("POST", "/api/addresses", Some(address)).await;
    assert_eq!(status, 201, "{body}");
    let id_address = body["address"]["id"].as_u64().unwrap();
    let cart = xml(
        "cart",
        &format!(
            "<id_currency>1</id_currency><id_lang>1</id_lang><id_customer>{id_customer}</id_customer><id_address_delivery>{id_address}</id_address_delivery><id_address_invoice>{id_address}</id_address_invoice><id_carrier>2</id_carrier><associations><cart_rows>{}</cart_rows></associations>",
            rows.replace("ADDR", &id_address.to_string())
        ),
    );
    let (status, body) = client.json("POST", "/api/carts", Some(cart)).await;
    assert_eq!(status, 201, "{body}");
    (body["cart"]["id"].as_u64().unwrap(), id_customer)
}

fn order_xml(id_cart: u64, id_customer: u64, total: &str) -> String {
    xml(
        "order",
        &format!(
            "<id_address_delivery>1</id_address_delivery><id_address_invoice>1</id_address_invoice><id_cart>{id_cart}</id_cart><id_currency>1</id_currency><id_lang>1</id_lang><id_customer>{id_customer}</id_customer><id_carrier>2</id_carrier><module>ps_checkpayment</module><payment>TikTok Shop</payment><total_paid>{total}</total_paid><total_paid_real>{total}</total_paid_real><total_products>0</total_products><total_products_wt>0</total_products_wt><conversion_rate>1</conversion_rate><reference>IGNORED</reference><current_state>4</current_state>"
        ),
    )
}

#[tokio::test]
async fn the_order_flow_follows_validate_order() {
    let client = default().await;
    let row = |product: u32, attribute: u32, quantity: u32| {
        format!(
            "<cart_row><id_product>{product}</id_product><id_product_attribute>{attribute}</id_product_attribute><id_address_delivery>ADDR</id_address_delivery><quantity>{quantity}</quantity></cart_row>"
        )
    };
    let before_combination = stock(&client, 5, 2).await;
    let before_product = stock(&client, 5, 0).await;
    let before_simple = stock(&client, 1, 0).await;
    // Product 1 at 20.90 ×2, product 5 combination 2 at 24.90 + 2.00: 68.70, shipping 7.00.
    let (id_cart, id_customer) = cart(&client, &format!("{}{}", row(1, 0, 2), row(5, 2, 1))).await;
    let (status, body) = client
        .json("POST", "/api/orders", Some(order_xml(id_cart, id_customer, "75.70")))
        .await;
    assert_eq!(status, 201, "{body}");
    let id_order = body["order"]["id"].as_u64().unwrap();
    let order = client.get(&format!("/api/orders/{id_order}")).await["order"].clone();
    assert_eq!(order["current_state"], "11", "Remote payment accepted");
    assert_eq!(order["total_paid"], "75.700000");
    assert_eq!(order["total_shipping"], "7.000000");
    let reference = order["reference"].as_str().unwrap();
    assert!(
        reference.len() == 9 && reference.chars().all(|c| c.is_ascii_uppercase()),
        "{reference}"
    );
    assert_eq!(order["associations"]["order_rows"].as_array().unwrap().len(), 2);
    // Stock taken; the product-level row still the sum of its combinations.
    let after_combination = stock(&client, 5, 2).await;
    assert_eq!(after_combination, before_combination - 1);
    assert_eq!(stock(&client, 5, 0).await, before_product - 1);
    let after_simple = stock(&client, 1, 0).await;
    assert_eq!(after_simple, before_simple - 2);
    // A second order on the same cart is refused.
    let (status, body) = client
        .json("POST", "/api/orders", Some(order_xml(id_cart, id_customer, "75.70")))
        .await;
    assert_eq!(status, 500);
    assert_eq!(
        body["errors"][0]["message"],
        "Cart cannot be loaded or an order has already been placed using this cart"
    );
    // A total that is not the cart's: Payment error, no stock taken.
    let (id_cart, id_customer) = cart(&client, &row(1, 0, 1)).await;
    let (status, body) = client
        .json("POST", "/api/orders", Some(order_xml(id_cart, id_customer, "1.00")))
        .await;
    assert_eq!(status, 201, "{body}");
    let id_error = body["order"]["id"].as_u64().unwrap();
    let order = client.get(&format!("/api/orders/{id_error}")).await["order"].clone();
    assert_eq!(order["current_state"], "8", "Payment error");
    assert_eq!(order["total_paid"], "27.900000");
    let still = stock(&client, 1, 0).await;
    assert_eq!(still, after_simple);

    // order_histories: each POST a row, the order's state and date_upd follow.
    let history = xml(
        "order_history",
        &format!("<id_order>{id_order}</id_order><id_order_state>4</id_order_state>"),
    );
    let (status, _) = client.json("POST", "/api/order_histories", Some(history.clone())).await;
    assert_eq!(status, 201);
    client.json("POST", "/api/order_histories", Some(history)).await;
    let histories = client
        .get(&format!("/api/order_histories?filter[id_order]=[{id_order}]"))
        .await;
    assert_eq!(histories["order_histories"].as_array().unwrap().len(), 3);
    assert_eq!(
        client.get(&format!("/api/orders/{id_order}")).await["order"]["current_state"],
        "4"
    );
    // Tracking on the order's carrier line.
    let lines = client
        .get(&format!(
            "/api/order_carriers?filter[id_order]=[{id_order}]&display=full"
        ))
        .await;
    let line = lines["order_carriers"][0]["id"].as_u64().unwrap();
    let patch = xml(
        "order_carrier",
        &format!("<id>{line}</id><tracking_number>1Z999</tracking_number>"),
    );
    let (status, _) = client
        .json("PATCH", &format!("/api/order_carriers/{line}"), Some(patch))
        .await;
    assert_eq!(status, 200);
    let orders = client.admin("GET", "/sandbox/orders", None).await;
    let first = orders.as_array().unwrap().iter().find(|o| o["id"] == id_order).unwrap();
    assert_eq!(first["carrier"]["tracking_number"], "1Z999");
    assert_eq!(first["state_name"], "Shipped");
    // Canceling puts the stock back.
    client
        .admin("POST", &format!("/sandbox/orders/{id_order}/cancel"), None)
        .await;
    let restocked = stock(&client, 1, 0).await;
    assert_eq!(restocked, before_simple);
}

#[tokio::test]
async fn the_carrier_is_the_carts_delivery_option_and_specific_prices_price_its_rows() {
    let client = default().await;
    let row = "<cart_row><id_product>1</id_product><id_product_attribute>0</id_product_attribute><id_address_delivery>ADDR</id_address_delivery><quantity>3</quantity></cart_row>";
    let (id_cart, id_customer) = cart(&client, row).await;
    let cart = client.get(&format!("/api/carts/{id_cart}")).await;
    let address = cart["cart"]["id_address_delivery"].as_str().unwrap().to_string();
    let option = format!(r#"<id>{id_cart}</id><delivery_option>{{"{address}":"1,"}}</delivery_option>"#);
    let (status, _) = client
        .json("PATCH", &format!("/api/carts/{id_cart}"), Some(xml("cart", &option)))
        .await;
    assert_eq!(status, 200);
    let price = xml(
        "specific_price",
        &format!(
            "<id_shop>1</id_shop><id_cart>{id_cart}</id_cart><id_product>1</id_product><id_product_attribute>0</id_product_attribute><id_currency>0</id_currency><id_country>0</id_country><id_group>0</id_group><id_customer>0</id_customer><price>10</price><from_quantity>1</from_quantity><reduction>0</reduction><reduction_tax>0</reduction_tax><reduction_type>amount</reduction_type><from>0000-00-00 00:00:00</from><to>0000-00-00 00:00:00</to>"
        ),
    );
    let (status, body) = client.json("POST", "/api/specific_prices", Some(price)).await;
    assert_eq!(status, 201, "{body}");
    // Three at the cart's 10.00, the free "Click and collect": 30.00.
    let (status, body) = client
        .json("POST", "/api/orders", Some(order_xml(id_cart, id_customer, "30.00")))
        .await;
    assert_eq!(status, 201, "{body}");
    let order = client.get(&format!("/api/orders/{}", body["order"]["id"])).await["order"].clone();
    assert_eq!(
        (order["current_state"].as_str(), order["id_carrier"].as_str()),
        (Some("11"), Some("1"))
    );
    assert_eq!(order["total_shipping"], "0.000000");
}

#[tokio::test]
async fn stock_rows_are_written_with_put_and_patch() {
    let client = default().await;
    let rows = client
        .get("/api/stock_availables?filter[id_product]=[5]&filter[id_product_attribute]=[3]&display=full")
        .await;
    let row = &rows["stock_availables"][0];
    let id = row["id"].as_u64().unwrap();
    let patch = xml("stock_available", &format!("<id>{id}</id><quantity>40</quantity>"));
    let (status, body) = client
        .json("PATCH", &format!("/api/stock_availables/{id}"), Some(patch))
        .await;
    assert_eq!(status, 200, "{body}");
    let mut sum = 0;
    for combination in [1, 2, 3] {
        sum += stock(&client, 5, combination).await;
    }
    let product = client.get("/api/products/5").await;
    assert_eq!(product["product"]["quantity"], sum.to_string());
    // A PUT without the required fields is refused.
    let put = xml("stock_available", &format!("<id>{id}</id><quantity>40</quantity>"));
    let (status, body) = client
        .json("PUT", &format!("/api/stock_availables/{id}"), Some(put))
        .await;
    assert_eq!(
        (status, body["errors"][0]["message"].as_str().unwrap()),
        (400, "parameter \"id_product\" required")
    );
}

#[tokio::test]
async fn admin_routes_and_storefront_sales() {
    let client = start(SandboxConfig {
        products: 10,
        state_id_offset: 100,
        ..SandboxConfig::default()
    })
    .await;
    let catalogue = client.admin("GET", "/sandbox/catalogue", None).await;
    assert_eq!(
        catalogue[4]["combinations"][1]["options"],
        json!([["Size", "M"], ["Color", "Black"]])
    );
    assert_eq!(catalogue[0]["combinations"], json!([]));
    let sale = client
        .admin(
            "POST",
            "/sandbox/storefront-sale",
            Some(json!({"id_product": 2, "id_product_attribute": 0, "quantity": 1})),
        )
        .await;
    let id_order = sale["id_order"].as_u64().unwrap();
    let order = client.get(&format!("/api/orders/{id_order}")).await;
    assert_eq!(order["order"]["current_state"], "102", "Payment accepted, offset");
    let states = client
        .get("/api/order_states?display=[id,name]&language=1&filter[id]=[106]")
        .await;
    assert_eq!(states["order_states"][0]["name"], "Canceled");
    let clock = client.admin("GET", "/sandbox/clock", None).await;
    assert_eq!(clock["now"].as_str().unwrap().len(), 19);
    let response = client
        .http
        .get(format!("{}/img/p/3/3.jpg", client.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn injected_faults_answer_in_prestashops_envelope_or_as_the_host() {
    let client = default().await;
    client
        .admin("POST", "/sandbox/faults", Some(json!({"error_share": 1.0, "seed": 3})))
        .await;
    let (status, body) = client.json("GET", "/api/products", None).await;
    assert!(status == 500 || status == 503, "{status}");
    assert!(body["errors"][0]["message"].is_string(), "{body}");
    client
        .admin("POST", "/sandbox/faults", Some(json!({"rate_limit_share": 1.0})))
        .await;
    let (status, headers, _) = client.raw("GET", "/api/products", Some(DEFAULT_KEY), None).await;
    assert_eq!(status, 429);
    assert!(headers.contains_key("retry-after"));
    let report = client.admin("POST", "/sandbox/faults", Some(json!({}))).await;
    assert_eq!(report["injected"]["429"], 1);
}
