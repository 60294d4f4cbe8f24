//! The Webservice's output, as `WebserviceOutputXML` and `WebserviceOutputJSON` write it:
//! XML in `<prestashop xmlns:xlink=…>` with CDATA values and `xlink:href` links (written
//! with quick-xml's `Writer`), JSON with numeric ids and string values, `[]` for an empty
//! list, a multilingual value a string with one language and `[{"id","value"}]` with
//! several; and the headers every answer carries (`Content-Sha1`, `PSWS-Version`…).

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use quick_xml::Writer;
use quick_xml::events::{BytesCData, BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use sha1::Digest as _;

use crate::schema::{AssocDef, Def, FieldDef};

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// XML (the default).
    Xml,
    /// JSON (`output_format=JSON`, `io_format=JSON`, `Output-Format` / `Io-Format: JSON`).
    Json,
}

/// The format a request asks for: headers `Io-Format` then `Output-Format`, then the
/// `output_format` and `io_format` parameters; only the exact value `JSON` means JSON.
pub fn format_of(headers: &HeaderMap, query: &str) -> Format {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let param = |name: &str| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.to_string())
    };
    let chosen = header("io-format")
        .or_else(|| header("output-format"))
        .or_else(|| param("output_format"))
        .or_else(|| param("io_format"));
    if chosen.as_deref() == Some("JSON") {
        Format::Json
    } else {
        Format::Xml
    }
}

/// One value of an entity.
#[derive(Debug, Clone)]
pub enum Out {
    /// A plain value (and where it links, if anywhere).
    Text(String, Option<String>),
    /// A multilingual value by language.
    Lang(BTreeMap<u32, String>),
}

/// One association item: its fields (`id` first) and its link (empty for none).
pub type Item = (Vec<(String, String)>, String);

/// One object to render: its id, fields and associations.
#[derive(Debug, Clone)]
pub struct Entity {
    /// Id.
    pub id: u32,
    /// Fields in definition order.
    pub fields: Vec<(&'static FieldDef, Out)>,
    /// Association items (each item's fields, `id` first), with each item's link.
    pub assocs: Vec<(&'static AssocDef, Vec<Item>)>,
}

/// What a rendering needs: the format, the Webservice URL (`http://host/api/`) and the
/// languages to show.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Output format.
    pub format: Format,
    /// `http://host/api/`.
    pub ws: String,
    /// Languages shown (all by default, or the `language` parameter's).
    pub languages: Vec<u32>,
}

type Xml = Writer<Vec<u8>>;

fn xml() -> Xml {
    let mut writer = Writer::new(Vec::new());
    let _ = writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let mut root = BytesStart::new("prestashop");
    root.push_attribute(("xmlns:xlink", "http://www.w3.org/1999/xlink"));
    let _ = writer.write_event(Event::Start(root));
    writer
}

fn finish(mut writer: Xml) -> String {
    let _ = writer.write_event(Event::End(BytesEnd::new("prestashop")));
    String::from_utf8(writer.into_inner()).unwrap_or_default()
}

fn open(writer: &mut Xml, name: &str, attrs: &[(&str, &str)]) {
    let mut start = BytesStart::new(name);
    for attr in attrs {
        start.push_attribute(*attr);
    }
    let _ = writer.write_event(Event::Start(start));
}

fn empty(writer: &mut Xml, name: &str, attrs: &[(&str, &str)]) {
    let mut start = BytesStart::new(name);
    for attr in attrs {
        start.push_attribute(*attr);
    }
    let _ = writer.write_event(Event::Empty(start));
}

fn close(writer: &mut Xml, name: &str) {
    let _ = writer.write_event(Event::End(BytesEnd::new(name)));
}

/// CDATA content (a `]]>` inside split over two sections, as XML requires).
fn cdata(writer: &mut Xml, text: &str) {
    let pieces: Vec<&str> = text.split("]]>").collect();
    for (i, piece) in pieces.iter().enumerate() {
        let piece = if i + 1 < pieces.len() {
            format!("{piece}]]")
        } else {
            piece.to_string()
        };
        let piece = if i > 0 { format!(">{piece}") } else { piece };
        let _ = writer.write_event(Event::CData(BytesCData::new(piece)));
    }
}

fn leaf(writer: &mut Xml, name: &str, attrs: &[(&str, &str)], value: &str) {
    open(writer, name, attrs);
    if !value.is_empty() {
        cdata(writer, value);
    }
    close(writer, name);
}

/// An ordered JSON value (PHP's arrays keep insertion order).
#[derive(Debug, Clone)]
enum J {
    Str(String),
    Num(u32),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn write(&self, out: &mut String) {
        match self {
            J::Str(s) => out.push_str(&serde_json::to_string(s).unwrap_or_default()),
            J::Num(n) => out.push_str(&n.to_string()),
            J::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            J::Obj(pairs) => {
                out.push('{');
                for (i, (key, value)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(key).unwrap_or_default());
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }
}

/// The error envelope.
pub fn errors(format: Format, errors: &[(u32, String)]) -> String {
    match format {
        Format::Json => {
            let items = errors
                .iter()
                .map(|(code, message)| {
                    J::Obj(vec![
                        ("code".into(), J::Num(*code)),
                        ("message".into(), J::Str(message.clone())),
                    ])
                })
                .collect();
            J::Obj(vec![("errors".into(), J::Arr(items))]).text()
        }
        Format::Xml => {
            let mut writer = xml();
            open(&mut writer, "errors", &[]);
            for (code, message) in errors {
                open(&mut writer, "error", &[]);
                leaf(&mut writer, "code", &[], &code.to_string());
                leaf(&mut writer, "message", &[], message);
                close(&mut writer, "error");
            }
            close(&mut writer, "errors");
            finish(writer)
        }
    }
}

/// A list without `display`: ids only (`{"products":[{"id":1}]}`, `<product id="1"
/// xlink:href=…/>`); an empty list is `[]` in JSON.
pub fn list_ids(ctx: &Ctx, def: &Def, ids: &[u32]) -> String {
    match ctx.format {
        Format::Json if ids.is_empty() => "[]".into(),
        Format::Json => {
            let items = ids.iter().map(|id| J::Obj(vec![("id".into(), J::Num(*id))])).collect();
            J::Obj(vec![(def.resource.into(), J::Arr(items))]).text()
        }
        Format::Xml => {
            let mut writer = xml();
            open(&mut writer, def.resource, &[]);
            for id in ids {
                let href = format!("{}{}/{id}", ctx.ws, def.resource);
                empty(&mut writer, def.node, &[("id", &id.to_string()), ("xlink:href", &href)]);
            }
            close(&mut writer, def.resource);
            finish(writer)
        }
    }
}

/// A list with `display` (or one object asked for with `display`, which PrestaShop's
/// JSON writes as a list too).
pub fn list_full(ctx: &Ctx, def: &Def, entities: &[Entity]) -> String {
    match ctx.format {
        Format::Json if entities.is_empty() => "[]".into(),
        Format::Json => {
            let items = entities.iter().map(|e| entity_json(ctx, e)).collect();
            J::Obj(vec![(def.resource.into(), J::Arr(items))]).text()
        }
        Format::Xml => {
            let mut writer = xml();
            open(&mut writer, def.resource, &[]);
            for entity in entities {
                entity_xml(&mut writer, ctx, def, entity, None);
            }
            close(&mut writer, def.resource);
            finish(writer)
        }
    }
}

/// One object (`{"product":{…}}`, `<product>…</product>`).
pub fn single(ctx: &Ctx, def: &Def, entity: &Entity) -> String {
    match ctx.format {
        Format::Json => J::Obj(vec![(def.node.into(), entity_json(ctx, entity))]).text(),
        Format::Xml => {
            let mut writer = xml();
            entity_xml(&mut writer, ctx, def, entity, None);
            finish(writer)
        }
    }
}

/// `?schema=blank` (empty fields) or `?schema=synopsis` (with `required`, `maxSize`,
/// `format`, `read_only`, `notFilterable`).
pub fn schema(ctx: &Ctx, def: &'static Def, synopsis: bool) -> String {
    let entity = Entity {
        id: 0,
        fields: def
            .fields
            .iter()
            .map(|f| {
                let out = if f.lang {
                    Out::Lang(ctx.languages.iter().map(|l| (*l, String::new())).collect())
                } else {
                    Out::Text(String::new(), None)
                };
                (f, out)
            })
            .collect(),
        assocs: def
            .assocs
            .iter()
            .map(|a| {
                let mut item = vec![("id".to_string(), String::new())];
                item.extend(a.fields.iter().map(|f| (f.to_string(), String::new())));
                (a, vec![(item, String::new())])
            })
            .collect(),
    };
    match ctx.format {
        Format::Json => {
            let mut fields = vec![("id".to_string(), J::Str(String::new()))];
            fields.extend(
                entity
                    .fields
                    .iter()
                    .map(|(f, out)| (f.name.to_string(), out_json(ctx, out))),
            );
            J::Obj(vec![(def.node.into(), J::Obj(fields))]).text()
        }
        Format::Xml => {
            let mut writer = xml();
            entity_xml(&mut writer, ctx, def, &entity, Some(synopsis));
            finish(writer)
        }
    }
}

/// `GET /api`: the resources the key may use, with its methods on each.
pub fn resources(ctx: &Ctx, permissions: &[(&'static Def, Vec<String>)]) -> String {
    match ctx.format {
        Format::Json => J::Arr(permissions.iter().map(|(d, _)| J::Str(d.resource.into())).collect()).text(),
        Format::Xml => {
            let mut writer = xml();
            open(&mut writer, "api", &[("shopName", "Sandbox Shop")]);
            for (def, methods) in permissions {
                let href = format!("{}{}", ctx.ws, def.resource);
                let flags: Vec<(String, &str)> = ["get", "put", "post", "patch", "delete", "head"]
                    .iter()
                    .map(|m| {
                        let allowed = methods.iter().any(|x| x.eq_ignore_ascii_case(m));
                        (m.to_string(), if allowed { "true" } else { "false" })
                    })
                    .collect();
                let mut attrs: Vec<(&str, &str)> = vec![("xlink:href", &href)];
                attrs.extend(flags.iter().map(|(m, v)| (m.as_str(), *v)));
                open(&mut writer, def.resource, &attrs);
                open(&mut writer, "description", &attrs);
                let _ = writer.write_event(Event::Text(BytesText::new(def.description)));
                close(&mut writer, "description");
                let blank = format!("{href}?schema=blank");
                let synopsis = format!("{href}?schema=synopsis");
                empty(&mut writer, "schema", &[("xlink:href", &blank), ("type", "blank")]);
                empty(
                    &mut writer,
                    "schema",
                    &[("xlink:href", &synopsis), ("type", "synopsis")],
                );
                close(&mut writer, def.resource);
            }
            close(&mut writer, "api");
            finish(writer)
        }
    }
}

/// A product's images (`GET /api/images/products/{id}`).
pub fn image_list(ctx: &Ctx, product: u32, images: &[u32]) -> String {
    match ctx.format {
        Format::Json => {
            let items = images
                .iter()
                .map(|id| J::Obj(vec![("id".into(), J::Num(*id))]))
                .collect();
            J::Obj(vec![("image".into(), J::Arr(items))]).text()
        }
        Format::Xml => {
            let mut writer = xml();
            open(&mut writer, "image", &[("id", &product.to_string())]);
            for id in images {
                let href = format!("{}images/products/{product}/{id}", ctx.ws);
                empty(
                    &mut writer,
                    "declination",
                    &[("id", &id.to_string()), ("xlink:href", &href)],
                );
            }
            close(&mut writer, "image");
            finish(writer)
        }
    }
}

fn out_json(ctx: &Ctx, out: &Out) -> J {
    match out {
        Out::Text(value, _) => J::Str(value.clone()),
        Out::Lang(values) => {
            let shown: Vec<(u32, String)> = ctx
                .languages
                .iter()
                .map(|l| (*l, values.get(l).cloned().unwrap_or_default()))
                .collect();
            match shown.as_slice() {
                [(_, only)] => J::Str(only.clone()),
                _ => J::Arr(
                    shown
                        .into_iter()
                        .map(|(l, v)| J::Obj(vec![("id".into(), J::Str(l.to_string())), ("value".into(), J::Str(v))]))
                        .collect(),
                ),
            }
        }
    }
}

fn entity_json(ctx: &Ctx, entity: &Entity) -> J {
    let mut pairs = vec![("id".to_string(), J::Num(entity.id))];
    pairs.extend(
        entity
            .fields
            .iter()
            .filter(|(f, _)| f.name != "id")
            .map(|(f, out)| (f.name.to_string(), out_json(ctx, out))),
    );
    let assocs: Vec<(String, J)> = entity
        .assocs
        .iter()
        .filter(|(_, items)| !items.is_empty())
        .map(|(a, items)| {
            let items = items
                .iter()
                .map(|(item, _)| J::Obj(item.iter().map(|(k, v)| (k.clone(), J::Str(v.clone()))).collect()))
                .collect();
            (a.name.to_string(), J::Arr(items))
        })
        .collect();
    if !assocs.is_empty() {
        pairs.push(("associations".into(), J::Obj(assocs)));
    }
    J::Obj(pairs)
}

/// One object in XML; `schema` is `Some(synopsis)` when rendering a schema.
fn entity_xml(writer: &mut Xml, ctx: &Ctx, def: &Def, entity: &Entity, schema: Option<bool>) {
    open(writer, def.node, &[]);
    let id = if schema.is_some() {
        String::new()
    } else {
        entity.id.to_string()
    };
    leaf(writer, "id", &[], &id);
    for (field, out) in entity.fields.iter().filter(|(f, _)| f.name != "id") {
        let mut attrs: Vec<(String, String)> = Vec::new();
        if let (Out::Text(_, Some(href)), None) = (out, schema) {
            attrs.push(("xlink:href".into(), href.clone()));
        }
        if field.dynamic && schema != Some(false) {
            attrs.push(("notFilterable".into(), "true".into()));
        }
        if schema == Some(true) {
            if !field.writable {
                attrs.push(("read_only".into(), "true".into()));
            }
            if field.required {
                attrs.push(("required".into(), "true".into()));
            }
            if field.size > 0 {
                attrs.push(("maxSize".into(), field.size.to_string()));
            }
            attrs.push(("format".into(), field.check.method().into()));
        }
        let attrs: Vec<(&str, &str)> = attrs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        match out {
            Out::Text(value, _) => leaf(writer, field.name, &attrs, value),
            Out::Lang(values) => {
                open(writer, field.name, &attrs);
                for lang in &ctx.languages {
                    let href = format!("{}languages/{lang}", ctx.ws);
                    let lang_attr = lang.to_string();
                    let mut lang_attrs = vec![("id", lang_attr.as_str())];
                    if schema != Some(false) {
                        lang_attrs.push(("xlink:href", &href));
                    }
                    leaf(
                        writer,
                        "language",
                        &lang_attrs,
                        values.get(lang).map_or("", String::as_str),
                    );
                }
                close(writer, field.name);
            }
        }
    }
    if !entity.assocs.is_empty() {
        open(writer, "associations", &[]);
        for (assoc, items) in &entity.assocs {
            let mut attrs = vec![("nodeType", assoc.node), ("api", assoc.api)];
            if assoc.read_only {
                attrs.insert(0, ("readOnly", "true"));
            }
            if schema == Some(false) {
                attrs.clear();
            }
            open(writer, assoc.name, &attrs);
            for (item, href) in items {
                let attrs: Vec<(&str, &str)> = if href.is_empty() {
                    vec![]
                } else {
                    vec![("xlink:href", href)]
                };
                open(writer, assoc.node, &attrs);
                for (key, value) in item {
                    leaf(writer, key, &[], value);
                }
                close(writer, assoc.node);
            }
            close(writer, assoc.name);
        }
        close(writer, "associations");
    }
    close(writer, def.node);
}

/// The answer: the body with PrestaShop's headers (`Content-Sha1` of the body when there
/// is one) — or 304 without a body when `local_sha1` (the request's `Local-Content-Sha1`)
/// equals it.
pub fn respond(status: StatusCode, format: Format, body: String, local_sha1: Option<&str>) -> Response {
    let sha1 = sha1_hex(body.as_bytes());
    let not_modified = local_sha1 == Some(sha1.as_str());
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (status, body).into_response()
    };
    let headers = response.headers_mut();
    let content_type = match format {
        Format::Xml => "text/xml;charset=utf-8",
        Format::Json => "application/json;charset=utf-8",
    };
    headers.insert("content-type", HeaderValue::from_static(content_type));
    headers.insert(
        "content-sha1",
        HeaderValue::from_str(&sha1).unwrap_or(HeaderValue::from_static("")),
    );
    stamp(headers);
    response
}

/// An answer without content (DELETE, a missing object): headers, no `Content-Type`.
pub fn respond_empty(status: StatusCode) -> Response {
    let mut response = status.into_response();
    stamp(response.headers_mut());
    response
}

fn stamp(headers: &mut HeaderMap) {
    headers.insert("psws-version", HeaderValue::from_static(crate::PS_VERSION));
    headers.insert("x-powered-by", HeaderValue::from_static("PrestaShop Webservice"));
    headers.insert("execution-time", HeaderValue::from_static("0.001"));
    headers.insert("access-time", HeaderValue::from(sandbox_kit::clock::unix_now()));
}

/// SHA-1 of `bytes` in lowercase hex (PHP's `sha1()`).
pub fn sha1_hex(bytes: &[u8]) -> String {
    sha1::Sha1::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
