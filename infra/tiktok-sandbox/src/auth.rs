//! The gate in front of every Open API route: fault injection (decided by
//! [`sandbox_kit::faults`]), Content-Type, app key, timestamp window, signature, access
//! token, `shop_cipher` rules and the per-(shop, endpoint) rate limit, in the order
//! TikTok's gateway applies them.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use sandbox_kit::Refusal;

use crate::state::Shop;
use crate::{Sandbox, business_error, fail, now};

/// Who is calling, as the gate established it.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The shop of `shop_cipher`, for shop-scoped endpoints.
    pub shop: Option<Shop>,
    /// Shops the access token covers.
    pub shop_ids: Vec<String>,
}

/// Endpoints that must be called without `shop_cipher` (reference §3.1).
fn forbids_cipher(method: &Method, path: &str) -> bool {
    path.starts_with("/authorization/")
        || path.starts_with("/seller/")
        || path == "/product/202309/images/upload"
        || path == "/product/202309/files/upload"
        || path.contains("/global_")
        || path.contains("/compliance/")
        || (method == Method::POST && path == "/product/202309/brands")
}

/// The endpoint a path belongs to: ids replaced, so `/products/1/inventory/update`
/// and `/products/2/inventory/update` share one rate-limit bucket.
fn endpoint_of(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.len() > 6 && segment.chars().all(|c| c.is_ascii_digit()) {
                "{id}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Applies the contract under the faults in force; on success the request reaches its
/// handler with a [`Caller`].
pub async fn authenticate(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    let refuse = |refusal| match refusal {
        Refusal::ServerError {
            server_unavailable: false,
        } => fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            36009003,
            "Internal error, please try again later",
        ),
        Refusal::ServerError {
            server_unavailable: true,
        } => {
            let mut response = Response::new(Body::from("Service Unavailable"));
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            response
        }
        Refusal::RateLimited { .. } => fail(StatusCode::TOO_MANY_REQUESTS, 36009002, "Too many requests"),
    };
    sandbox.kit.faults.guard(refuse, check(&sandbox, request, next)).await
}

/// Content-Type, app key, timestamp, signature, then [`admit`], then the route.
async fn check(sandbox: &Sandbox, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, 25 * 1024 * 1024).await else {
        return business_error(36009021, "File too large");
    };
    let path = parts.uri.path().to_string();
    let query: Vec<(String, String)> = url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let param = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());

    let content_types: Vec<&HeaderValue> = parts.headers.get_all(CONTENT_TYPE).iter().collect();
    let content_type = match content_types.as_slice() {
        [one] => one.to_str().unwrap_or_default().to_ascii_lowercase(),
        _ => {
            return business_error(
                36009022,
                "Invalid request format: exactly one Content-Type header is required",
            );
        }
    };
    let multipart = content_type.starts_with("multipart/form-data");
    if !multipart && !content_type.starts_with("application/json") {
        return business_error(36009022, "Content-Type must be application/json or multipart/form-data");
    }
    if param("app_key") != Some(sandbox.config.app_key.as_str()) {
        return business_error(36009004, "Invalid app_key");
    }
    match param("timestamp").and_then(|t| t.parse::<i64>().ok()) {
        Some(ts) if ts >= now() - 300 && ts <= now() + 30 => {}
        _ => return business_error(36009004, "Invalid timestamp"),
    }
    let Some(signature) = param("sign") else {
        return business_error(36009004, "Missing sign");
    };
    let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let signed_body = (!multipart && !bytes.is_empty()).then_some(&bytes[..]);
    if !crate::signing::request_signed(&sandbox.config.app_secret, &path, &pairs, signed_body, signature) {
        return fail(
            StatusCode::UNAUTHORIZED,
            106001,
            "Invalid credentials. The 'sign' query parameter is invalid.",
        );
    }

    let token = parts
        .headers
        .get("x-tts-access-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let caller = match admit(sandbox, &parts.method, &path, token, param("shop_cipher")) {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    parts.extensions.insert(caller);
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// Token, `shop_cipher` and rate-limit checks, under one lock of the world.
fn admit(
    sandbox: &Sandbox,
    method: &Method,
    path: &str,
    token: &str,
    shop_cipher: Option<&str>,
) -> Result<Caller, Response> {
    let mut state = sandbox.lock();
    let Some(grant) = state.grants.get(token).cloned() else {
        return Err(business_error(36009004, "Invalid x-tts-access-token"));
    };
    if grant.access_expires_at <= now() {
        return Err(business_error(105002, "Access token is expired, please refresh it"));
    }
    let shop = match (forbids_cipher(method, path), shop_cipher) {
        (true, Some(_)) => return Err(business_error(36009004, "Unexpected identifier: shop_cipher")),
        (true, None) => None,
        (false, None) => return Err(business_error(106013, "shop_cipher is missing")),
        (false, Some(cipher)) => match state.shop_by_cipher(cipher) {
            Some(shop) if grant.shop_ids.contains(&shop.id) => Some(shop.clone()),
            _ => {
                return Err(business_error(
                    101000,
                    "The shop_cipher does not match the access token",
                ));
            }
        },
    };

    let key = format!("{}|{}", shop.as_ref().map_or("-", |s| s.id.as_str()), endpoint_of(path));
    if !sandbox.kit.rates.take(&key).admitted {
        return Err(fail(StatusCode::TOO_MANY_REQUESTS, 36009002, "Too many requests"));
    }
    *state.requests.entry(key).or_default() += 1;
    Ok(Caller {
        shop,
        shop_ids: grant.shop_ids,
    })
}
