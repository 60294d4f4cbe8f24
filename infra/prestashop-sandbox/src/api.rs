//! The Webservice under `/api` (`store-platforms-api.md` §5), after the gate's key check:
//! the shop context (`id_shop`), `language`, the resource and method checks of
//! `WebserviceRequest::checkResource` / `checkHTTPMethod`, GET/HEAD lists and objects,
//! and the writes of `saveEntityFromXml` (XML only, `ObjectModel` validation) with each
//! resource's own rules (orders through `validateOrder`, histories, stock rows…).

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use quick_xml::Reader;
use quick_xml::events::Event;
use sandbox_kit::Admitted;

use crate::filter::{self, Display, Params};
use crate::render::{self, Ctx, Entity, Format, Out};
use crate::schema::{Def, RESOURCES, def_of, validate_value};
use crate::state::{LANGUAGES, Row, State as World, Val, cart_rows, now};
use crate::{Caller, Sandbox, WsError};

/// What a request answers.
enum Answer {
    /// A status and a body in the requested format.
    Body(StatusCode, String),
    /// A status without content.
    Empty(StatusCode),
    /// Image bytes.
    Image(Vec<u8>),
}

type Answered = Result<Answer, WsError>;

/// The Webservice routes.
pub fn routes() -> Router<Sandbox> {
    Router::new()
        .route("/api", any(handle))
        .route("/api/", any(handle))
        .route("/api/{*rest}", any(handle))
}

async fn handle(
    Admitted { sandbox, caller }: Admitted<Sandbox, Caller>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = uri.query().unwrap_or_default();
    let format = render::format_of(&headers, query);
    let params = Params::parse(query);
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let segments: Vec<String> = uri
        .path()
        .trim_start_matches("/api")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let request = Request {
        method: method.as_str().to_string(),
        segments,
        params,
        format,
        ws: format!("http://{host}/api/"),
        body: body.to_vec(),
    };
    let answer = {
        let mut world = sandbox.lock();
        serve(&mut world, &caller, &request)
    };
    let local = headers.get("local-content-sha1").and_then(|v| v.to_str().ok());
    match answer {
        Ok(Answer::Body(status, body)) => render::respond(status, format, body, local),
        Ok(Answer::Empty(status)) => render::respond_empty(status),
        Ok(Answer::Image(bytes)) => {
            let mut response = bytes.into_response();
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static("image/png"));
            response
        }
        Err(error) => error.respond(format),
    }
}

/// One request, parsed.
struct Request {
    method: String,
    segments: Vec<String>,
    params: Params,
    format: Format,
    ws: String,
    body: Vec<u8>,
}

/// `shopExists` / `shopHasRight`: the shops the request acts on.
fn shops(world: &World, params: &Params) -> Result<Vec<u32>, WsError> {
    let all = world.shop_ids();
    let group = params.get("id_shop_group").or_else(|| params.get("id_group_shop"));
    if let Some(group) = group.filter(|g| g.chars().all(|c| c.is_ascii_digit())) {
        if group != "1" {
            return Err(WsError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                999,
                "This shop group doesn't have shops",
            ));
        }
        return Ok(all);
    }
    match params.get("id_shop") {
        None => Ok(vec![1]),
        Some("all") => Ok(all),
        Some(id) if !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) => {
            let id: u32 = id.parse().unwrap_or(0);
            if all.contains(&id) {
                Ok(vec![id])
            } else {
                Err(WsError::new(
                    StatusCode::FORBIDDEN,
                    132,
                    "No permission for this key on this shop",
                ))
            }
        }
        Some(_) => Err(WsError::new(StatusCode::NOT_FOUND, 999, "This shop id does not exist")),
    }
}

fn serve(world: &mut World, caller: &Caller, request: &Request) -> Answered {
    let shops = shops(world, &request.params)?;
    let languages = filter::languages(&request.params)?;
    let ctx = Ctx {
        format: request.format,
        ws: request.ws.clone(),
        languages,
    };
    let permissions = world
        .keys
        .iter()
        .find(|k| k.key == caller.key)
        .map(|k| k.permissions.clone())
        .unwrap_or_default();
    let method = request.method.as_str();
    if !["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD"].contains(&method) {
        return Err(WsError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            23,
            &format!("Method {method} is not valid"),
        ));
    }
    let Some(resource) = request.segments.first() else {
        let usable: Vec<(&'static Def, Vec<String>)> = permissions
            .iter()
            .filter(|(_, methods)| !methods.is_empty())
            .filter_map(|(r, methods)| Some((def_of(r)?, methods.iter().cloned().collect())))
            .collect();
        return Ok(Answer::Body(StatusCode::OK, render::resources(&ctx, &usable)));
    };
    let Some(def) = def_of(resource) else {
        let names: Vec<String> = RESOURCES.iter().map(|r| r.to_string()).collect();
        let label = format!("Resource of type \"{resource}\" does not exists");
        return Err(WsError::new(
            StatusCode::BAD_REQUEST,
            27,
            &filter::did_you_mean(&label, resource, &names),
        ));
    };
    let methods = permissions.get(resource).filter(|m| !m.is_empty());
    let Some(methods) = methods else {
        return Err(WsError::new(
            StatusCode::UNAUTHORIZED,
            26,
            &format!("Resource of type \"{resource}\" is not allowed with this authentication key"),
        ));
    };
    if def.forbidden.contains(&method) {
        return Err(WsError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            101,
            &format!("Method {method} is not allowed for the resource {resource}"),
        ));
    }
    if !methods.contains(method) {
        return Err(WsError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            25,
            &format!("Method {method} is not allowed for the resource {resource} with this authentication key"),
        ));
    }
    let shop = shops.first().copied().unwrap_or(1);
    if def.resource == "images" {
        return images(world, &ctx, request);
    }
    match method {
        "GET" | "HEAD" => match request.segments.get(1) {
            Some(id) => get_one(world, &ctx, def, id, &request.params, &shops),
            None => get_list(world, &ctx, def, &request.params, &shops),
        },
        "POST" => post(world, &ctx, def, request, shop),
        "PUT" | "PATCH" => put(world, &ctx, def, request, shop),
        _ => delete(world, def, request),
    }
}

/// Rows of a shop-scoped resource outside the request's shops are not listed.
fn in_shops(def: &Def, row: &Row, shops: &[u32]) -> bool {
    match def.resource {
        "stock_availables" | "orders" => shops.contains(&row.num("id_shop").max(1)),
        _ => true,
    }
}

fn get_list(world: &World, ctx: &Ctx, def: &'static Def, params: &Params, shops: &[u32]) -> Answered {
    if let Some(schema) = params.get("schema") {
        return match schema {
            "blank" | "synopsis" => Ok(Answer::Body(
                StatusCode::OK,
                render::schema(ctx, def, schema == "synopsis"),
            )),
            _ => Err(WsError::new(
                StatusCode::BAD_REQUEST,
                28,
                "Please select a schema of type 'synopsis' to get the whole schema informations (which fields are required, which kind of content...) or 'blank' to get an empty schema to fill before using POST request",
            )),
        };
    }
    let empty = BTreeMap::new();
    let table = world.table(def.resource).unwrap_or(&empty);
    let rows = table
        .iter()
        .filter(|(_, row)| in_shops(def, row, shops))
        .map(|(id, row)| (*id, row));
    let ids = filter::select(params, def, rows, &ctx.languages)?;
    let display = filter::display(params, def, Display::Minimum)?;
    if display == Display::Minimum {
        return Ok(Answer::Body(StatusCode::OK, render::list_ids(ctx, def, &ids)));
    }
    let entities: Vec<Entity> = ids
        .iter()
        .filter_map(|id| Some(entity(world, ctx, def, *id, table.get(id)?, &display, shops[0])))
        .collect();
    Ok(Answer::Body(StatusCode::OK, render::list_full(ctx, def, &entities)))
}

fn get_one(world: &World, ctx: &Ctx, def: &'static Def, id: &str, params: &Params, shops: &[u32]) -> Answered {
    let display = filter::display(params, def, Display::Full)?;
    let id: u32 = leading_int(id);
    let Some(row) = world.row(def.resource, id) else {
        // PrestaShop answers a missing object with a bare 404 and no content.
        return Ok(Answer::Empty(StatusCode::NOT_FOUND));
    };
    if !in_shops(def, row, shops) {
        return Err(WsError::new(
            StatusCode::NOT_FOUND,
            131,
            &format!("This {} ({id}) does not exists on this shop", def.class),
        ));
    }
    let entity = entity(world, ctx, def, id, row, &display, shops[0]);
    // WebserviceOutputJSON writes an object asked for with `display` as a list.
    let body = if ctx.format == Format::Json && params.get("display").is_some() {
        render::list_full(ctx, def, &[entity])
    } else {
        render::single(ctx, def, &entity)
    };
    Ok(Answer::Body(StatusCode::OK, body))
}

/// PHP's `(int)` of a URL segment.
fn leading_int(text: &str) -> u32 {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(0)
}

/// A getter field's value.
fn computed(world: &World, def: &Def, id: u32, row: &Row, field: &str, shop: u32) -> String {
    match (def.resource, field) {
        ("products", "quantity") => world.quantity(id, 0, shop).to_string(),
        ("products", "manufacturer_name") => world
            .row("manufacturers", row.num("id_manufacturer"))
            .map_or(String::new(), |m| m.text("name").to_string()),
        ("products", "id_default_image") => world
            .children("product_images", id)
            .into_iter()
            .find(|image| {
                world
                    .row("product_images", *image)
                    .is_some_and(|i| i.text("cover") == "1")
            })
            .map_or(String::new(), |image| image.to_string()),
        ("products", "id_default_combination") => world
            .combinations_of(id)
            .into_iter()
            .find(|c| {
                world
                    .row("combinations", *c)
                    .is_some_and(|c| c.text("default_on") == "1")
            })
            .unwrap_or(0)
            .to_string(),
        ("products", "position_in_category") | ("products", "new") => "0".into(),
        ("products", "type") => "simple".into(),
        ("combinations", "quantity") => world.quantity(row.num("id_product"), id, shop).to_string(),
        ("orders", "shipping_number") => order_carrier(world, id)
            .and_then(|c| world.row("order_carriers", c))
            .map_or(String::new(), |c| c.text("tracking_number").to_string()),
        ("categories", "nb_products_recursive") => world
            .table("products")
            .map_or(0, |t| t.values().filter(|p| has_category(p, id)).count())
            .to_string(),
        _ => row.text(field).to_string(),
    }
}

fn has_category(product: &Row, category: u32) -> bool {
    product.assocs.get("categories").is_some_and(|items| {
        items
            .iter()
            .any(|i| i.get("id").is_some_and(|c| *c == category.to_string()))
    })
}

fn order_carrier(world: &World, order: u32) -> Option<u32> {
    world
        .table("order_carriers")?
        .iter()
        .find(|(_, c)| c.num("id_order") == order)
        .map(|(id, _)| *id)
}

/// An association's items: `(fields, link)`.
fn association(
    world: &World,
    ctx: &Ctx,
    def: &Def,
    id: u32,
    row: &Row,
    name: &str,
    shop: u32,
) -> Vec<(Vec<(String, String)>, String)> {
    let link = |api: &str, item: &str| format!("{}{api}/{item}", ctx.ws);
    let ids = |items: Vec<u32>, api: &str| -> Vec<(Vec<(String, String)>, String)> {
        items
            .into_iter()
            .map(|i| (vec![("id".to_string(), i.to_string())], link(api, &i.to_string())))
            .collect()
    };
    let stored = |api: &str| {
        row.assocs.get(name).map_or_else(Vec::new, |items| {
            items
                .iter()
                .map(|item| {
                    let mut fields: Vec<(String, String)> = item
                        .get("id")
                        .map(|i| ("id".to_string(), i.clone()))
                        .into_iter()
                        .collect();
                    fields.extend(
                        item.iter()
                            .filter(|(k, _)| *k != "id")
                            .map(|(k, v)| (k.clone(), v.clone())),
                    );
                    let href = item.get("id").map_or(String::new(), |i| link(api, i));
                    (fields, if api.is_empty() { String::new() } else { href })
                })
                .collect()
        })
    };
    match (def.resource, name) {
        ("products", "images") | ("combinations", "images") => {
            let product = if def.resource == "products" {
                id
            } else {
                row.num("id_product")
            };
            let images: Vec<u32> = world.children("product_images", product);
            images
                .into_iter()
                .map(|i| {
                    (
                        vec![("id".to_string(), i.to_string())],
                        format!("{}images/products/{product}/{i}", ctx.ws),
                    )
                })
                .collect()
        }
        ("products", "combinations") => ids(world.combinations_of(id), "combinations"),
        ("products", "stock_availables") => {
            let mut rows: Vec<(u32, u32)> = world
                .children("stock_availables", id)
                .into_iter()
                .filter_map(|sid| {
                    let stock = world.row("stock_availables", sid)?;
                    (stock.num("id_shop") == shop).then(|| (sid, stock.num("id_product_attribute")))
                })
                .collect();
            rows.sort_by_key(|(_, attribute)| *attribute);
            rows.into_iter()
                .map(|(sid, attribute)| {
                    let fields = vec![
                        ("id".to_string(), sid.to_string()),
                        ("id_product_attribute".to_string(), attribute.to_string()),
                    ];
                    (fields, link("stock_availables", &sid.to_string()))
                })
                .collect()
        }
        ("categories", "products") => ids(
            world
                .table("products")
                .map(|t| t.iter().filter(|(_, p)| has_category(p, id)).map(|(p, _)| *p).collect())
                .unwrap_or_default(),
            "products",
        ),
        ("product_options", "product_option_values") => ids(
            world
                .table("product_option_values")
                .map(|t| {
                    t.iter()
                        .filter(|(_, v)| v.num("id_attribute_group") == id)
                        .map(|(v, _)| *v)
                        .collect()
                })
                .unwrap_or_default(),
            "product_option_values",
        ),
        ("orders", "order_rows") => world
            .table("order_details")
            .map(|t| {
                t.iter()
                    .filter(|(_, d)| d.num("id_order") == id)
                    .map(|(detail, d)| {
                        let mut fields = vec![("id".to_string(), detail.to_string())];
                        for (key, column) in [
                            ("product_id", "product_id"),
                            ("product_attribute_id", "product_attribute_id"),
                            ("product_quantity", "product_quantity"),
                            ("product_name", "product_name"),
                            ("product_reference", "product_reference"),
                            ("product_ean13", "product_ean13"),
                            ("product_isbn", "product_isbn"),
                            ("product_upc", "product_upc"),
                            ("product_price", "product_price"),
                            ("id_customization", "id_customization"),
                            ("unit_price_tax_incl", "unit_price_tax_incl"),
                            ("unit_price_tax_excl", "unit_price_tax_excl"),
                        ] {
                            fields.push((key.to_string(), d.text(column).to_string()));
                        }
                        (fields, String::new())
                    })
                    .collect()
            })
            .unwrap_or_default(),
        ("carts", "cart_rows") => stored(""),
        (_, "manufacturers") | ("manufacturers", "addresses") => Vec::new(),
        _ => {
            let api = def.assocs.iter().find(|a| a.name == name).map_or("", |a| a.api);
            stored(api)
        }
    }
}

/// One object as the output shows it, with the fields `display` asks for.
fn entity(world: &World, ctx: &Ctx, def: &'static Def, id: u32, row: &Row, display: &Display, shop: u32) -> Entity {
    let shown = |name: &str| match display {
        Display::Fields(fields) => fields.iter().any(|f| f == name),
        _ => true,
    };
    let fields = def
        .fields
        .iter()
        .filter(|f| shown(f.name))
        .map(|f| {
            let out = match row.fields.get(f.name) {
                Some(Val::Lang(values)) if f.lang => Out::Lang(values.clone()),
                _ => {
                    let value = if f.dynamic {
                        computed(world, def, id, row, f.name, shop)
                    } else {
                        row.text(f.name).to_string()
                    };
                    let href = match f.xlink {
                        Some(_) if value.is_empty() || value == "0" => None,
                        Some("images") => Some(format!("{}images/products/{id}/{value}", ctx.ws)),
                        Some(target) => Some(format!("{}{target}/{value}", ctx.ws)),
                        None => None,
                    };
                    Out::Text(value, href)
                }
            };
            (f, out)
        })
        .collect();
    let assocs = if matches!(display, Display::Full) {
        def.assocs
            .iter()
            .map(|a| (a, association(world, ctx, def, id, row, a.name, shop)))
            .collect()
    } else {
        Vec::new()
    };
    Entity { id, fields, assocs }
}

/// `/api/images`, `/api/images/products/{id}`, `/api/images/products/{id}/{image}`.
fn images(world: &World, ctx: &Ctx, request: &Request) -> Answered {
    if request.method != "GET" && request.method != "HEAD" {
        return Err(WsError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            25,
            &format!(
                "Method {} is not allowed for the resource images with this authentication key",
                request.method
            ),
        ));
    }
    let segments: Vec<&str> = request.segments.iter().skip(1).map(String::as_str).collect();
    match segments.as_slice() {
        [] | ["products"] => {
            let def = def_of("products").expect("products");
            let ids: Vec<u32> = world
                .table("products")
                .map(|t| t.keys().copied().collect())
                .unwrap_or_default();
            Ok(Answer::Body(StatusCode::OK, render::list_ids(ctx, def, &ids)))
        }
        ["products", product] => {
            let product = leading_int(product);
            if world.row("products", product).is_none() {
                return Err(WsError::new(
                    StatusCode::NOT_FOUND,
                    66,
                    &format!("Product #{product} does not exist"),
                ));
            }
            let images: Vec<u32> = world.children("product_images", product);
            Ok(Answer::Body(StatusCode::OK, render::image_list(ctx, product, &images)))
        }
        ["products", product, image, ..] => {
            let (product, image) = (leading_int(product), leading_int(image));
            let found = world
                .row("product_images", image)
                .is_some_and(|i| i.num("id_product") == product);
            if !found {
                return Err(WsError::new(StatusCode::NOT_FOUND, 66, "This image id does not exist"));
            }
            Ok(Answer::Image(sandbox_kit::images::flat_png(800, 800)))
        }
        _ => Err(WsError::new(
            StatusCode::BAD_REQUEST,
            50,
            "Image type does not exist. Did you mean: \"products\"?",
        )),
    }
}

/// An XML element: name, attributes, text (CDATA included) and children.
#[derive(Debug, Default, Clone)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Parses a request body as `SimpleXMLElement` would; `None` when it is not XML.
fn parse_xml(body: &[u8]) -> Option<Node> {
    let mut reader = Reader::from_reader(body);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut buf = Vec::new();
    let element = |start: &quick_xml::events::BytesStart| -> Option<Node> {
        let name = String::from_utf8(start.name().as_ref().to_vec()).ok()?;
        let attrs = start
            .attributes()
            .filter_map(Result::ok)
            .filter_map(|a| {
                let key = String::from_utf8(a.key.as_ref().to_vec()).ok()?;
                Some((key, a.unescape_value().ok()?.to_string()))
            })
            .collect();
        Some(Node {
            name,
            attrs,
            ..Node::default()
        })
    };
    loop {
        let event = reader.read_event_into(&mut buf).ok()?;
        match event {
            Event::Start(start) => stack.push(element(&start)?),
            Event::Empty(start) => {
                let node = element(&start)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None if root.is_none() => root = Some(node),
                    None => return None,
                }
            }
            Event::End(_) => {
                let node = stack.pop()?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None if root.is_none() => root = Some(node),
                    None => return None,
                }
            }
            Event::Text(text) => {
                let text = text.decode().ok()?;
                match stack.last_mut() {
                    Some(node) => node.text.push_str(&quick_xml::escape::unescape(&text).ok()?),
                    // Only blanks may sit outside the root element.
                    None if text.trim().is_empty() => {}
                    None => return None,
                }
            }
            Event::CData(data) => stack.last_mut()?.text.push_str(&data.decode().ok()?),
            Event::GeneralRef(reference) => {
                let name = String::from_utf8(reference.to_vec()).ok()?;
                let resolved = quick_xml::escape::unescape(&format!("&{name};")).ok()?.to_string();
                stack.last_mut()?.text.push_str(&resolved);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if stack.is_empty() { root } else { None }
}

/// The object in a write's body, or `127` (`SimpleXMLElement`'s parse error).
fn input(request: &Request) -> Result<Node, WsError> {
    let root = parse_xml(&request.body).ok_or_else(|| {
        let xml = String::from_utf8_lossy(&request.body);
        WsError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            127,
            &format!(
                "XML error : String could not be parsed as XML\nXML length : {}\nOriginal XML : {xml}",
                request.body.len()
            ),
        )
    })?;
    root.children
        .into_iter()
        .next()
        .ok_or_else(|| WsError::new(StatusCode::BAD_REQUEST, 90, "id is required when modifying a resource"))
}

fn bad(code: u32, message: &str) -> WsError {
    WsError::new(StatusCode::BAD_REQUEST, code, message)
}

/// `saveEntityFromXml`'s field loop onto `row` (a new row for POST, the stored one for
/// PUT/PATCH): read-only fields refused (93), missing required ones (41), absent ones
/// nulled on POST/PUT; then `validateFieldsLang` (84) and `validateFields` (85).
fn apply(def: &'static Def, node: &Node, row: &mut Row, method: &str) -> Result<(), WsError> {
    for field in &def.fields {
        let given = node.child(field.name);
        if method == "PATCH" && given.is_none() {
            continue;
        }
        match given {
            Some(_) if !field.writable => {
                return Err(bad(
                    93,
                    &format!(
                        "parameter \"{}\" not writable. Please remove this attribute of this XML",
                        field.name
                    ),
                ));
            }
            Some(value) if field.lang => {
                let languages: Vec<&Node> = value.children.iter().filter(|c| c.name == "language").collect();
                let mut values = match row.fields.get(field.name) {
                    Some(Val::Lang(values)) if method != "POST" => values.clone(),
                    _ => BTreeMap::new(),
                };
                if languages.is_empty() {
                    values = LANGUAGES.iter().map(|l| (*l, value.text.clone())).collect();
                }
                for language in languages {
                    let id: u32 = language.attr("id").map_or(0, leading_int);
                    values.insert(id, language.text.clone());
                }
                // ObjectModel fills a language left out with the default language's value.
                let default = values.get(&1).cloned().unwrap_or_default();
                for lang in LANGUAGES {
                    values.entry(lang).or_insert_with(|| default.clone());
                }
                row.fields.insert(field.name, Val::Lang(values));
            }
            Some(value) => row.set(field.name, value.text.clone()),
            None if field.required && !field.lang => {
                return Err(bad(41, &format!("parameter \"{}\" required", field.name)));
            }
            None if field.lang => {
                row.fields.insert(
                    field.name,
                    Val::Lang(LANGUAGES.iter().map(|l| (*l, String::new())).collect()),
                );
            }
            None if field.dynamic || field.name == "date_add" || field.name == "date_upd" => {}
            None => row.set(field.name, field.default),
        }
    }
    for field in def.fields.iter().filter(|f| f.lang) {
        for lang in LANGUAGES {
            validate_value(def, field, row.lang(field.name, lang), Some(lang))
                .map_err(|m| WsError::validation(84, &m))?;
        }
    }
    for field in def.fields.iter().filter(|f| !f.lang && !f.dynamic) {
        validate_value(def, field, row.text(field.name), None).map_err(|m| WsError::validation(85, &m))?;
    }
    if let Some(associations) = node.child("associations") {
        for given in &associations.children {
            let Some(assoc) = def.assocs.iter().find(|a| a.name == given.name) else {
                if given.name == "i18n" {
                    continue;
                }
                return Err(bad(86, &format!("The association \"{}\" does not exists", given.name)));
            };
            if assoc.read_only {
                continue;
            }
            let items = given
                .children
                .iter()
                .map(|item| item.children.iter().map(|f| (f.name.clone(), f.text.clone())).collect())
                .collect();
            row.assocs.insert(assoc.name, items);
        }
    }
    Ok(())
}

/// The resource's own checks before a write is stored.
fn check(world: &World, def: &Def, row: &mut Row, existing: Option<&Row>) -> Result<(), WsError> {
    match def.resource {
        "customers" => {
            let changed = existing.is_none_or(|old| old.text("passwd") != row.text("passwd"));
            if changed {
                // `setWsPasswd` hashes the plain password it is given.
                row.set(
                    "passwd",
                    format!("$2y$10${}", render::sha1_hex(row.text("passwd").as_bytes())),
                );
            }
            if row.text("secure_key").is_empty() {
                row.set("secure_key", render::sha1_hex(now().as_bytes())[..32].to_string());
            }
            if row.text("id_default_group") == "0" {
                row.set("id_default_group", "3");
            }
        }
        "addresses" => {
            let Some(country) = world.row("countries", row.num("id_country")) else {
                return Err(WsError::validation(85, "Property Address->id_country is not valid"));
            };
            let format = country.text("zip_code_format");
            if !format.is_empty() && !zip_matches(format, country.text("iso_code"), row.text("postcode")) {
                return Err(WsError::validation(85, "Property Address->postcode is not valid"));
            }
            if country.text("contains_states") == "1" {
                let state = world.row("states", row.num("id_state"));
                if row.num("id_state") == 0 {
                    return Err(WsError::validation(85, "Property Address->id_state is empty."));
                }
                if state.is_none_or(|s| s.num("id_country") != row.num("id_country")) {
                    return Err(WsError::validation(85, "Property Address->id_state is not valid"));
                }
            }
        }
        "carts" => {
            for (product, attribute, _) in cart_rows(row) {
                let known = world.row("products", product).is_some()
                    && (attribute == 0
                        || world
                            .row("combinations", attribute)
                            .is_some_and(|c| c.num("id_product") == product));
                if !known {
                    return Err(WsError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        85,
                        "Error occurred while setting the cart_rows value",
                    ));
                }
            }
        }
        "stock_availables" | "order_histories" | "combinations" | "order_carriers" | "specific_prices" => {
            let (target, field) = match def.resource {
                "stock_availables" | "combinations" | "specific_prices" => ("products", "id_product"),
                _ => ("orders", "id_order"),
            };
            if world.row(target, row.num(field)).is_none() {
                return Err(WsError::validation(
                    85,
                    &format!("Property {}->{field} is not valid", def.class),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// `Country::checkZipCode`: `N` a digit, `L` a letter, `C` the country's iso code.
fn zip_matches(format: &str, iso: &str, postcode: &str) -> bool {
    let pattern = format.replace('C', iso);
    pattern.len() == postcode.len()
        && pattern.chars().zip(postcode.chars()).all(|(p, c)| match p {
            'N' => c.is_ascii_digit(),
            'L' => c.is_ascii_alphabetic(),
            other => other.eq_ignore_ascii_case(&c),
        })
}

fn post(world: &mut World, ctx: &Ctx, def: &'static Def, request: &Request, shop: u32) -> Answered {
    let node = input(request)?;
    if node.child("id").is_some_and(|id| !id.text.is_empty()) {
        return Err(bad(91, "id is forbidden when adding a new resource"));
    }
    let mut row = Row::blank(def);
    apply(def, &node, &mut row, "POST")?;
    let stamp = now();
    if def.field("date_add").is_some() {
        row.set("date_add", stamp.clone());
    }
    if def.field("date_upd").is_some() {
        row.set("date_upd", stamp);
    }
    check(world, def, &mut row, None)?;
    let id = match def.resource {
        "orders" => {
            let state = world.os("PS_OS_WS_PAYMENT");
            world.validate_order(&row, shop, state)?
        }
        "order_histories" => world.change_state(row.num("id_order"), row.num("id_order_state"))?,
        "stock_availables" => unreachable!("POST is forbidden on stock_availables"),
        resource => {
            if matches!(resource, "carts" | "customers" | "addresses")
                && row.num("id_shop") == 0
                && def.field("id_shop").is_some()
            {
                row.set("id_shop", shop.to_string());
            }
            let product = row.num("id_product");
            let id = world.insert(def.resource, row.clone());
            match resource {
                "products" => {
                    for shop in world.shop_ids() {
                        world.set_stock(id, 0, shop, 0);
                    }
                }
                "combinations" => {
                    for shop in world.shop_ids() {
                        world.set_stock(product, id, shop, 0);
                    }
                    if let Some(p) = world.row_mut("products", product) {
                        p.set("product_type", "combinations");
                    }
                    world.touch("products", product);
                }
                _ => {}
            }
            id
        }
    };
    // The answer shows the object as posted with its new id (for an order: not the
    // order the store saved), the associations read back from the store.
    let shown = if def.resource == "orders" {
        row
    } else {
        world.row(def.resource, id).cloned().unwrap_or(row)
    };
    let entity = entity(world, ctx, def, id, &shown, &Display::Full, shop);
    Ok(Answer::Body(StatusCode::CREATED, render::single(ctx, def, &entity)))
}

fn put(world: &mut World, ctx: &Ctx, def: &'static Def, request: &Request, shop: u32) -> Answered {
    let node = input(request)?;
    let Some(id) = node
        .child("id")
        .filter(|id| !id.text.is_empty())
        .map(|id| leading_int(&id.text))
    else {
        return Err(bad(90, "id is required when modifying a resource"));
    };
    let Some(existing) = world.row(def.resource, id).cloned() else {
        return Err(WsError::new(StatusCode::NOT_FOUND, 92, "Invalid ID"));
    };
    let mut row = existing.clone();
    let method = request.method.as_str();
    apply(def, &node, &mut row, method)?;
    if def.field("date_upd").is_some() {
        row.set("date_upd", now());
    }
    if def.field("date_add").is_some() && row.text("date_add").is_empty() {
        row.set("date_add", existing.text("date_add").to_string());
    }
    check(world, def, &mut row, Some(&existing))?;
    let state = node.child("current_state").map(|s| leading_int(&s.text));
    let tracking = node.child("shipping_number").map(|s| s.text.clone());
    if def.resource == "orders" {
        // Setters: the state goes through a history row, the shipping number onto the
        // order's carrier line.
        row.set("current_state", existing.text("current_state").to_string());
        if method == "PUT" && state.is_none() {
            row.set("current_state", "0");
        }
    }
    world.put(def.resource, id, row);
    match def.resource {
        "orders" => {
            if let Some(state) = state {
                world.change_state(id, state)?;
            }
            if let Some(tracking) = tracking {
                match order_carrier(world, id).and_then(|c| world.row_mut("order_carriers", c)) {
                    Some(line) => line.set("tracking_number", tracking),
                    None => {
                        if let Some(order) = world.row_mut("orders", id) {
                            order.set("shipping_number", tracking);
                        }
                    }
                }
            }
        }
        "stock_availables" => {
            let stored = world.row("stock_availables", id).cloned().unwrap_or_default();
            let quantity = stored.int("quantity");
            world.set_stock(
                stored.num("id_product"),
                stored.num("id_product_attribute"),
                stored.num("id_shop").max(1),
                quantity,
            );
        }
        "combinations" => {
            let product = world.row("combinations", id).map_or(0, |c| c.num("id_product"));
            world.touch("products", product);
            for shop in world.shop_ids() {
                world.resync(product, shop);
            }
        }
        _ => {}
    }
    let stored = world.row(def.resource, id).cloned().unwrap_or_default();
    let entity = entity(world, ctx, def, id, &stored, &Display::Full, shop);
    Ok(Answer::Body(StatusCode::OK, render::single(ctx, def, &entity)))
}

fn delete(world: &mut World, def: &Def, request: &Request) -> Answered {
    let raw = request.segments.get(1).map(String::as_str).unwrap_or_default();
    let id = leading_int(raw);
    if world.row(def.resource, id).is_none() {
        return Err(WsError::new(
            StatusCode::NOT_FOUND,
            87,
            &format!("Id(s) not exists: {id}"),
        ));
    }
    match def.resource {
        "products" => {
            world.delete_product(id);
        }
        "combinations" => {
            let product = world.row("combinations", id).map_or(0, |c| c.num("id_product"));
            world.tables.get_mut("combinations").map(|t| t.remove(&id));
            if let Some(stock) = world.tables.get_mut("stock_availables") {
                stock.retain(|_, s| s.num("id_product_attribute") != id);
            }
            for shop in world.shop_ids() {
                world.resync(product, shop);
            }
            world.touch("products", product);
        }
        resource => {
            world.tables.get_mut(resource).map(|t| t.remove(&id));
        }
    }
    Ok(Answer::Empty(StatusCode::OK))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_input_reads_cdata_entities_and_languages() {
        let body = br#"<?xml version="1.0"?><prestashop><customer><firstname><![CDATA[Jane]]></firstname>
            <lastname>O&apos;Neil &amp; Co</lastname><name><language id="2">Bonjour</language></name></customer></prestashop>"#;
        let root = parse_xml(body).unwrap();
        let customer = &root.children[0];
        assert_eq!(customer.child("firstname").unwrap().text, "Jane");
        assert_eq!(customer.child("lastname").unwrap().text, "O'Neil & Co");
        assert_eq!(customer.child("name").unwrap().children[0].attr("id"), Some("2"));
        assert!(parse_xml(br#"{"customer":{"firstname":"Jane"}}"#).is_none());
        assert!(parse_xml(b"<a><b></a>").is_none());
    }

    #[test]
    fn zip_formats() {
        assert!(zip_matches("NNNNN", "US", "78701"));
        assert!(!zip_matches("NNNNN", "US", "7870"));
        assert!(zip_matches("LNL NLN", "CA", "K1A 0B1"));
    }
}
