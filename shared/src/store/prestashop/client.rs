//! The PrestaShop Webservice client for one shop: `{base}/api/{resource}[/{id}]` with the
//! webservice key as the HTTP Basic user and an empty password (`store-platforms-api.md`
//! §5.1), JSON output (`output_format=JSON`), XML input written with `quick-xml` (the
//! webservice cannot read JSON bodies), `id_shop` on every call (multishop), list
//! options ([`List`]: `display`, `filter[…]`, `sort`, `limit=offset,N`, `date=1`),
//! `Local-Content-Sha1` for `304 Not Modified`, 5xx and dropped connections retried, a
//! 429 (a host in front of the shop) waited out by its `Retry-After`, and the
//! `{"errors":[{"code","message"}]}` envelope turned into a [`StoreError`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use base64::Engine as _;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use quick_xml::events::{BytesCData, BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::crypto::SecretString;
use crate::store::StoreError;

/// Query characters sent as they are (RFC 3986 unreserved); the rest is percent-encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// How to reach one shop.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The shop's base URL (`https://shop.example.com`, without `/api`).
    pub base_url: String,
    /// The webservice key (Advanced Parameters → Webservice), 32 characters.
    pub key: SecretString,
    /// The shop of a multishop install requests are scoped to (`id_shop`; 1 for a
    /// single shop).
    pub id_shop: u64,
    /// Attempts for retryable failures.
    pub max_attempts: u32,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl ClientConfig {
    /// `key` on the shop at `base_url`, shop `id_shop`, 4 attempts, 30 s timeout
    /// (self-hosted shops are slow).
    pub fn new(base_url: &str, key: SecretString, id_shop: u64) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            key,
            id_shop,
            max_attempts: 4,
            timeout: Duration::from_secs(30),
        }
    }
}

/// The options of a list call (`store-platforms-api.md` §5.1), in PrestaShop's query form.
#[derive(Debug, Clone, Default)]
pub struct List {
    query: Vec<(String, String)>,
}

impl List {
    /// A listing of `fields` (`display=[id,reference]`; `full` for every field).
    pub fn display(fields: &str) -> Self {
        let display = if fields == "full" {
            "full".to_string()
        } else {
            format!("[{fields}]")
        };
        Self {
            query: vec![("display".into(), display)],
        }
    }

    /// `filter[field]=[value]` (one value).
    pub fn eq(self, field: &str, value: impl std::fmt::Display) -> Self {
        self.filter(field, format!("[{value}]"))
    }

    /// `filter[field]=[a|b|…]`: any of `values`.
    pub fn any_of<T: std::fmt::Display>(self, field: &str, values: &[T]) -> Self {
        let joined = values.iter().map(ToString::to_string).collect::<Vec<_>>().join("|");
        self.filter(field, format!("[{joined}]"))
    }

    /// `filter[field]=%[value]%`: contains `value`.
    pub fn contains(self, field: &str, value: &str) -> Self {
        self.filter(field, format!("%[{value}]%"))
    }

    /// `filter[field]=[from,to]` on a date field (`Y-m-d H:i:s`, both ends included: SQL
    /// `BETWEEN`), with the `date=1` dates need.
    pub fn between_dates(mut self, field: &str, from: &str, to: &str) -> Self {
        if !self.query.iter().any(|(name, _)| name == "date") {
            self.query.push(("date".into(), "1".into()));
        }
        self.filter(field, format!("[{from},{to}]"))
    }

    fn filter(mut self, field: &str, condition: String) -> Self {
        self.query.push((format!("filter[{field}]"), condition));
        self
    }

    /// `sort=[a_ASC,b_DESC]` from `(field, "ASC" | "DESC")` pairs, with the `date=1` a
    /// sort on a date field needs.
    pub fn sort(mut self, keys: &[(&str, &str)]) -> Self {
        let on_dates = keys.iter().any(|(field, _)| field.starts_with("date_"));
        if on_dates && !self.query.iter().any(|(name, _)| name == "date") {
            self.query.push(("date".into(), "1".into()));
        }
        let keys: Vec<String> = keys.iter().map(|(field, way)| format!("{field}_{way}")).collect();
        self.query.push(("sort".into(), format!("[{}]", keys.join(","))));
        self
    }

    /// `limit=offset,count`.
    pub fn page(mut self, offset: u64, count: u64) -> Self {
        self.query.push(("limit".into(), format!("{offset},{count}")));
        self
    }

    /// `language=id`: multilingual fields as plain strings in that language.
    pub fn language(mut self, id_lang: u64) -> Self {
        self.query.push(("language".into(), id_lang.to_string()));
        self
    }

    /// The query pairs.
    pub fn query(&self) -> &[(String, String)] {
        &self.query
    }
}

/// An XML element of a request body: a leaf with text, or an element with children.
#[derive(Debug, Clone)]
pub enum Node {
    /// `<name>text</name>` (text as CDATA, as PrestaShop writes it).
    Leaf(&'static str, String),
    /// `<name><language id="N">text</language></name>`: a multilingual field.
    Lang(&'static str, u64, String),
    /// `<name>children</name>`.
    Parent(&'static str, Vec<Node>),
}

impl Node {
    /// A leaf from anything displayable.
    pub fn leaf(name: &'static str, value: impl std::fmt::Display) -> Self {
        Self::Leaf(name, value.to_string())
    }
}

/// The XML body of a write: `<prestashop xmlns:xlink=…><{resource}>{fields}</{resource}></prestashop>`,
/// written with `quick-xml` (escaping by construction).
pub fn xml_body(resource: &'static str, fields: Vec<Node>) -> Vec<u8> {
    let mut writer = quick_xml::Writer::new(Vec::new());
    let written: std::io::Result<()> = (|| {
        writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        let root = BytesStart::new("prestashop").with_attributes([("xmlns:xlink", "http://www.w3.org/1999/xlink")]);
        writer.write_event(Event::Start(root))?;
        write_node(&mut writer, &Node::Parent(resource, fields))?;
        writer.write_event(Event::End(BytesEnd::new("prestashop")))
    })();
    written.expect("writing XML to memory");
    writer.into_inner()
}

fn write_node(writer: &mut quick_xml::Writer<Vec<u8>>, node: &Node) -> std::io::Result<()> {
    match node {
        Node::Leaf(name, text) => {
            writer.write_event(Event::Start(BytesStart::new(*name)))?;
            write_text(writer, text)?;
            writer.write_event(Event::End(BytesEnd::new(*name)))
        }
        Node::Lang(name, id_lang, text) => {
            writer.write_event(Event::Start(BytesStart::new(*name)))?;
            let id = id_lang.to_string();
            writer.write_event(Event::Start(
                BytesStart::new("language").with_attributes([("id", id.as_str())]),
            ))?;
            write_text(writer, text)?;
            writer.write_event(Event::End(BytesEnd::new("language")))?;
            writer.write_event(Event::End(BytesEnd::new(*name)))
        }
        Node::Parent(name, children) => {
            writer.write_event(Event::Start(BytesStart::new(*name)))?;
            for child in children {
                write_node(writer, child)?;
            }
            writer.write_event(Event::End(BytesEnd::new(*name)))
        }
    }
}

/// Text as CDATA (what PrestaShop's own output uses), escaped text when it holds `]]>`.
fn write_text(writer: &mut quick_xml::Writer<Vec<u8>>, text: &str) -> std::io::Result<()> {
    if text.contains("]]>") {
        writer.write_event(Event::Text(BytesText::new(text)))
    } else {
        writer.write_event(Event::CData(BytesCData::new(text)))
    }
}

/// The message of PrestaShop's error envelope (`{"errors":[{"code","message"}]}`, each
/// message joined by `; `), or the body's start when it is not one.
pub fn error_message(body: &[u8]) -> String {
    let messages: Vec<String> = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|envelope| envelope.get("errors").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|error| error.get("message").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    if messages.is_empty() {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.starts_with('<') {
            // A web server's or PHP's HTML page, not the webservice's answer.
            "the shop answered with a web page instead of the webservice's answer".to_string()
        } else {
            text.chars().take(200).collect()
        }
    } else {
        messages.join("; ")
    }
}

/// What a `GET` with a `Local-Content-Sha1` found.
#[derive(Debug, Clone)]
pub enum Fetched {
    /// `304 Not Modified`: the same content as the SHA-1 sent.
    Unchanged,
    /// The content and its `Content-Sha1`.
    Changed(Value, String),
}

/// The PrestaShop client of one shop.
pub struct Client {
    http: reqwest::Client,
    config: ClientConfig,
    authorization: String,
}

impl Client {
    /// A client for one shop.
    pub fn new(config: ClientConfig) -> Result<Self, StoreError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let authorization = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{}:", config.key.expose()))
        );
        Ok(Self {
            http,
            config,
            authorization,
        })
    }

    /// The shop's base URL.
    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// The shop requests are scoped to.
    pub fn id_shop(&self) -> u64 {
        self.config.id_shop
    }

    /// Sends one call (retried up to `max_attempts` for what a retry can fix) and
    /// returns its JSON (`Null` for an empty body) with its `Content-Sha1`, or `None`
    /// on `304 Not Modified`. `path` follows `/api` (`/products/7`).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<Vec<u8>>,
        local_sha1: Option<&str>,
        max_attempts: u32,
    ) -> Result<Option<(Value, String)>, StoreError> {
        let mut url = format!(
            "{}/api{path}?output_format=JSON&id_shop={}",
            self.config.base_url, self.config.id_shop
        );
        for (name, value) in query {
            write!(
                url,
                "&{}={}",
                utf8_percent_encode(name, UNRESERVED),
                utf8_percent_encode(value, UNRESERVED)
            )
            .expect("writing to a String");
        }
        let Some((bytes, sha1)) = self.send(method, &url, body, local_sha1, max_attempts).await? else {
            return Ok(None);
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Some((Value::Null, sha1)));
        }
        serde_json::from_slice(&bytes)
            .map(|json| Some((json, sha1)))
            .map_err(|e| StoreError::Malformed(format!("{path}: {e}")))
    }

    /// Sends a request to `url` (retried up to `max_attempts` for what a retry can
    /// fix); the body and `Content-Sha1` of a 2xx, `None` for a 304.
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<Vec<u8>>,
        local_sha1: Option<&str>,
        max_attempts: u32,
    ) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let path = url
            .split('?')
            .next()
            .unwrap_or(url)
            .trim_start_matches(&self.config.base_url);
        let build = || {
            let mut request = self
                .http
                .request(method.clone(), url)
                .header("authorization", &self.authorization);
            if let Some(sha1) = local_sha1 {
                request = request.header("local-content-sha1", sha1);
            }
            if let Some(body) = &body {
                request = request.header("content-type", "application/xml").body(body.clone());
            }
            request
        };
        let error_of = |status: StatusCode, body: &[u8]| StoreError::from_status(status.as_u16(), error_message(body));
        let answer = crate::store::send_with_retries(path, max_attempts, build, error_of).await?;
        if answer.status == StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        let sha1 = answer
            .headers
            .get("content-sha1")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        Ok(Some((answer.body, sha1)))
    }

    /// What the key may do: each resource it reaches with the methods it may use on it,
    /// from the webservice's root (`GET /api/`, an XML summary whose resource elements
    /// carry `get="true"`, `post="false"`, … attributes). Errors: the key refused, or
    /// not that summary.
    pub async fn permissions(&self) -> Result<BTreeMap<String, BTreeSet<String>>, StoreError> {
        let url = format!("{}/api/?id_shop={}", self.config.base_url, self.config.id_shop);
        let (bytes, _) = self
            .send(Method::GET, &url, None, None, self.config.max_attempts)
            .await?
            .unwrap_or_default();
        permissions_of(&bytes)
    }

    /// A `GET` of one resource (`/orders/7`), its object under `singular` (`order`).
    pub async fn one<T: DeserializeOwned>(&self, path: &str, singular: &str) -> Result<T, StoreError> {
        let (json, _) = self
            .call(Method::GET, path, &[], None, None, self.config.max_attempts)
            .await?
            .unwrap_or_default();
        field(json, singular, path)
    }

    /// A listing of `resource` (`products`) with `list`'s options.
    pub async fn list<T: DeserializeOwned>(&self, resource: &str, list: &List) -> Result<Vec<T>, StoreError> {
        let (json, _) = self
            .call(
                Method::GET,
                &format!("/{resource}"),
                list.query(),
                None,
                None,
                self.config.max_attempts,
            )
            .await?
            .unwrap_or_default();
        items(json, resource)
    }

    /// The first item of a listing of `resource` (`None` when it matched nothing).
    pub async fn first<T: DeserializeOwned>(&self, resource: &str, list: &List) -> Result<Option<T>, StoreError> {
        Ok(self.list(resource, list).await?.into_iter().next())
    }

    /// A listing that answers `None` when its content is still the one whose
    /// `Content-Sha1` was `local_sha1` (a `304`), else the items and the new SHA-1.
    pub async fn list_if_changed<T: DeserializeOwned>(
        &self,
        resource: &str,
        list: &List,
        local_sha1: Option<&str>,
    ) -> Result<Option<(Vec<T>, String)>, StoreError> {
        let answer = self
            .call(
                Method::GET,
                &format!("/{resource}"),
                list.query(),
                None,
                local_sha1.filter(|sha1| !sha1.is_empty()),
                self.config.max_attempts,
            )
            .await?;
        answer
            .map(|(json, sha1)| items(json, resource).map(|items| (items, sha1)))
            .transpose()
    }

    /// Creates a `resource` (`POST /{resource}` with `fields`) and returns it (its
    /// object under `singular`). Sent once: a lost answer to a create must be looked
    /// for, not sent again.
    pub async fn create<T: DeserializeOwned>(
        &self,
        resource: &str,
        singular: &'static str,
        fields: Vec<Node>,
    ) -> Result<T, StoreError> {
        let path = format!("/{resource}");
        let (json, _) = self
            .call(Method::POST, &path, &[], Some(xml_body(singular, fields)), None, 1)
            .await?
            .unwrap_or_default();
        field(json, singular, &path)
    }

    /// Changes some fields of a resource (`PATCH /{resource}/{id}` with the `id` and
    /// `fields`); retried, since writing the same values again changes nothing.
    pub async fn patch(
        &self,
        resource: &str,
        singular: &'static str,
        id: u64,
        fields: Vec<Node>,
    ) -> Result<(), StoreError> {
        let mut body = vec![Node::leaf("id", id)];
        body.extend(fields);
        self.call(
            Method::PATCH,
            &format!("/{resource}/{id}"),
            &[],
            Some(xml_body(singular, body)),
            None,
            self.config.max_attempts,
        )
        .await
        .map(drop)
    }
}

/// The resources and methods of the webservice root's XML summary
/// (`<prestashop><api><products get="true" put="false" …>`).
fn permissions_of(xml: &[u8]) -> Result<BTreeMap<String, BTreeSet<String>>, StoreError> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut depth = 0;
    let mut found = BTreeMap::new();
    let mut saw_api = false;
    let mut buffer = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buffer)
            .map_err(|e| StoreError::Malformed(format!("the webservice root: {e}")))?;
        let (start, empty) = match &event {
            Event::Start(start) => (Some(start.clone()), false),
            Event::Empty(start) => (Some(start.clone()), true),
            Event::End(_) => {
                depth -= 1;
                (None, false)
            }
            Event::Eof => break,
            _ => (None, false),
        };
        if let Some(start) = start {
            depth += 1;
            if depth == 2 && start.name().as_ref() == b"api" {
                saw_api = true;
            }
            if depth == 3 && saw_api {
                let resource = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                let methods: BTreeSet<String> = start
                    .attributes()
                    .flatten()
                    .filter(|a| a.value.as_ref() == b"true")
                    .map(|a| String::from_utf8_lossy(a.key.as_ref()).to_uppercase())
                    .filter(|m| ["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD"].contains(&m.as_str()))
                    .collect();
                found.insert(resource, methods);
            }
            if empty {
                depth -= 1;
            }
        }
        buffer.clear();
    }
    if !saw_api {
        return Err(StoreError::Malformed(
            "the webservice root is not PrestaShop's summary of the key's resources".into(),
        ));
    }
    Ok(found)
}

/// The object under `name` of an answer.
fn field<T: DeserializeOwned>(mut json: Value, name: &str, path: &str) -> Result<T, StoreError> {
    let value = json.get_mut(name).map(Value::take).unwrap_or(Value::Null);
    serde_json::from_value(value).map_err(|e| StoreError::Malformed(format!("{path}: {e}")))
}

/// The items of a listing: `{"products": […]}`, or `[]` (how PrestaShop answers a
/// listing that matched nothing).
fn items<T: DeserializeOwned>(json: Value, resource: &str) -> Result<Vec<T>, StoreError> {
    match json {
        Value::Array(empty) if empty.is_empty() => Ok(Vec::new()),
        Value::Null => Ok(Vec::new()),
        other => field::<Option<Vec<T>>>(other, resource, resource).map(Option::unwrap_or_default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_basic_user_with_an_empty_password() {
        // store-platforms-api.md §5.1, from PrestaShop's documentation.
        let client = Client::new(ClientConfig::new(
            "https://shop.example.com/",
            SecretString::new("UCCLLQ9N2ARSHWCXLT74KUKSSK34BFKX".into()),
            1,
        ))
        .unwrap();
        assert_eq!(
            client.authorization,
            "Basic VUNDTExROU4yQVJTSFdDWExUNzRLVUtTU0szNEJGS1g6"
        );
        assert_eq!(client.base_url(), "https://shop.example.com");
    }

    #[test]
    fn bodies_are_xml_with_cdata_and_language_elements() {
        let body = xml_body(
            "customer",
            vec![
                Node::leaf("id", 7),
                Node::leaf("lastname", "O'Brien <&> \"x\""),
                Node::Lang("name", 1, "Tee ]]> shirt".into()),
                Node::Parent(
                    "associations",
                    vec![Node::Parent(
                        "cart_rows",
                        vec![Node::Parent("cart_row", vec![Node::leaf("quantity", 2)])],
                    )],
                ),
            ],
        );
        let text = String::from_utf8(body).unwrap();
        assert_eq!(
            text,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><prestashop xmlns:xlink=\"http://www.w3.org/1999/xlink\"><customer>\
             <id><![CDATA[7]]></id><lastname><![CDATA[O'Brien <&> \"x\"]]></lastname>\
             <name><language id=\"1\">Tee ]]&gt; shirt</language></name>\
             <associations><cart_rows><cart_row><quantity><![CDATA[2]]></quantity></cart_row></cart_rows></associations>\
             </customer></prestashop>"
        );
    }

    #[test]
    fn list_options_use_prestashops_bracketed_forms() {
        let list = List::display("id,date_upd")
            .between_dates("date_upd", "2026-11-30 10:00:00", "2026-12-01 10:00:00")
            .any_of("id_product", &[1, 2])
            .contains("note", "5764")
            .sort(&[("date_upd", "ASC"), ("id", "ASC")])
            .page(200, 100)
            .language(1);
        let query: Vec<(&str, &str)> = list.query().iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        assert_eq!(
            query,
            [
                ("display", "[id,date_upd]"),
                ("date", "1"),
                ("filter[date_upd]", "[2026-11-30 10:00:00,2026-12-01 10:00:00]"),
                ("filter[id_product]", "[1|2]"),
                ("filter[note]", "%[5764]%"),
                ("sort", "[date_upd_ASC,id_ASC]"),
                ("limit", "200,100"),
                ("language", "1"),
            ]
        );
    }

    #[test]
    fn the_roots_summary_gives_each_resources_methods() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<prestashop xmlns:xlink="http://www.w3.org/1999/xlink"><api shopName="Prestashop">
<addresses xlink:href="http://example.com/api/addresses" get="true" put="true" post="true" patch="true" delete="true" head="true">
<description xlink:href="http://example.com/api/addresses" get="true" put="true" post="true" patch="true" delete="true" head="true">The Customer, Brand and Customer addresses</description>
<schema xlink:href="http://example.com/api/addresses?schema=blank" type="blank"/></addresses>
<orders xlink:href="http://example.com/api/orders" get="true" put="false" post="false" head="true"/>
</api></prestashop>"#;
        let found = permissions_of(xml).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found["addresses"].len(), 6);
        assert_eq!(
            found["orders"].iter().map(String::as_str).collect::<Vec<_>>(),
            ["GET", "HEAD"]
        );
        assert!(permissions_of(b"<html><body>Not found</body></html>").is_err());
    }

    #[test]
    fn errors_read_prestashops_envelope_and_empty_listings_read_as_nothing() {
        assert_eq!(
            error_message(br#"{"errors":[{"code":21,"message":"No permission for this authentication key"}]}"#),
            "No permission for this authentication key"
        );
        assert_eq!(
            error_message(b"<html>oops</html>"),
            "the shop answered with a web page instead of the webservice's answer"
        );
        assert_eq!(error_message(b"Too Many Requests"), "Too Many Requests");
        let none: Vec<Value> = items(serde_json::json!([]), "products").unwrap();
        assert!(none.is_empty());
        let some: Vec<Value> = items(serde_json::json!({"products": [{"id": 1}]}), "products").unwrap();
        assert_eq!(some.len(), 1);
    }
}
