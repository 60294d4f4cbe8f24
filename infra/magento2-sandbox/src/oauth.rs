//! OAuth 1.0a (RFC 5849) request signatures as Magento 2 checks them on its REST API
//! (`store-platforms-api.md` §4.1): the sandbox's own encoder, signature base string,
//! HMAC-SHA1 / HMAC-SHA256 signer, `Authorization` header parser and builder. Tests and
//! the local runner sign requests with [`authorization_header`]; the gate verifies them
//! with [`parse_header`], [`base_string`] and [`signature`].

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac as _};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// RFC 3986 §2.3 unreserved characters (ALPHA, DIGIT, `-`, `.`, `_`, `~`) stay; every
/// other byte is percent-encoded with upper-case hex (RFC 5849 §3.6).
const RESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// `text` percent-encoded per RFC 5849 §3.6.
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, RESERVED).to_string()
}

/// A signature method the sandbox accepts (`oauth_signature_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `HMAC-SHA1` (RFC 5849 §3.4.2).
    HmacSha1,
    /// `HMAC-SHA256`, what Magento's own clients use.
    HmacSha256,
}

impl Method {
    /// The method named `name`, or `None` for any other (`PLAINTEXT`, `RSA-SHA1`, …).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "HMAC-SHA1" => Some(Self::HmacSha1),
            "HMAC-SHA256" => Some(Self::HmacSha256),
            _ => None,
        }
    }

    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Self::HmacSha1 => "HMAC-SHA1",
            Self::HmacSha256 => "HMAC-SHA256",
        }
    }
}

/// The base string URI (RFC 5849 §3.4.1.2): lower-case scheme and host, the port only
/// when it is not the scheme's default, the path, no query. `host` is the `Host`
/// header's value (`127.0.0.1:3300`).
pub fn base_uri(scheme: &str, host: &str, path: &str) -> String {
    let scheme = scheme.to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let host = host.strip_suffix(default_port).unwrap_or(&host);
    let path = if path.is_empty() { "/" } else { path };
    format!("{scheme}://{host}{path}")
}

/// The normalized parameters (RFC 5849 §3.4.1.3.2): every (decoded) name and value
/// encoded, sorted by name then value, joined `name=value` with `&`.
pub fn normalized_parameters(params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = params.iter().map(|(n, v)| (encode(n), encode(v))).collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The signature base string (RFC 5849 §3.4.1.1): `METHOD&enc(base URI)&enc(params)`.
/// `params` are decoded: the query's, the form body's (only for
/// `application/x-www-form-urlencoded` bodies) and the `oauth_*` protocol parameters
/// except `oauth_signature` (and `realm`).
pub fn base_string(http_method: &str, base_uri: &str, params: &[(String, String)]) -> String {
    format!(
        "{}&{}&{}",
        http_method.to_ascii_uppercase(),
        encode(base_uri),
        encode(&normalized_parameters(params))
    )
}

/// The base64 signature of `base_string` under key `enc(consumer_secret)&enc(token_secret)`
/// (RFC 5849 §3.4.2).
pub fn signature(method: Method, base_string: &str, consumer_secret: &str, token_secret: &str) -> String {
    let key = format!("{}&{}", encode(consumer_secret), encode(token_secret));
    let digest = match method {
        Method::HmacSha1 => {
            let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
            mac.update(base_string.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Method::HmacSha256 => {
            let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
            mac.update(base_string.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// Whether two signatures are equal, compared in constant time.
pub fn same_signature(expected: &str, given: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// The parameters of an `Authorization: OAuth …` header (RFC 5849 §3.5.1), decoded, in
/// header order (`realm` included); `None` when the header is not of the OAuth scheme.
pub fn parse_header(header: &str) -> Option<Vec<(String, String)>> {
    let rest = header.trim();
    let (scheme, rest) = rest.split_at_checked(5)?;
    if !scheme.eq_ignore_ascii_case("OAuth") {
        return None;
    }
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let params = rest
        .split(',')
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            let value = value.trim().trim_matches('"');
            Some((decode(name.trim()), decode(value)))
        })
        .collect();
    Some(params)
}

/// The credentials a client signs with.
#[derive(Debug, Clone)]
pub struct Credentials<'a> {
    /// The integration's consumer key.
    pub consumer_key: &'a str,
    /// The integration's consumer secret.
    pub consumer_secret: &'a str,
    /// The integration's access token.
    pub token: &'a str,
    /// The integration's access token secret.
    pub token_secret: &'a str,
}

/// A client's `Authorization` header value for a request: `http_method` on `url` (its
/// query parameters are signed; a JSON body is not), with `timestamp` (Unix seconds)
/// and `nonce`. Values are percent-encoded; `oauth_version="1.0"`.
pub fn authorization_header(
    credentials: &Credentials<'_>,
    method: Method,
    http_method: &str,
    url: &url::Url,
    timestamp: i64,
    nonce: &str,
) -> String {
    let mut oauth = vec![
        ("oauth_consumer_key".to_string(), credentials.consumer_key.to_string()),
        ("oauth_nonce".to_string(), nonce.to_string()),
        ("oauth_signature_method".to_string(), method.name().to_string()),
        ("oauth_timestamp".to_string(), timestamp.to_string()),
        ("oauth_token".to_string(), credentials.token.to_string()),
        ("oauth_version".to_string(), "1.0".to_string()),
    ];
    let mut params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    params.extend(oauth.iter().cloned());
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let base = base_string(http_method, &base_uri(url.scheme(), &host, url.path()), &params);
    let signed = signature(method, &base, credentials.consumer_secret, credentials.token_secret);
    oauth.push(("oauth_signature".to_string(), signed));
    let fields: Vec<String> = oauth
        .iter()
        .map(|(name, value)| format!("{name}=\"{}\"", encode(value)))
        .collect();
    format!("OAuth {}", fields.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
    }

    /// RFC 5849 §3.4.1.1's example: `POST /request?b5=%3D%253D&a3=a&c%40=&a2=r%20b` with the
    /// form body `c2&a3=2+q`, decoded.
    #[test]
    fn rfc5849_base_string_example() {
        let url = url::Url::parse("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b").unwrap();
        let mut params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        params.extend(url::form_urlencoded::parse(b"c2&a3=2+q").into_owned());
        params.extend(owned(&[
            ("oauth_consumer_key", "9djdj82h48djs9d2"),
            ("oauth_token", "kkk9d7dh3k39sjv7"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "137131201"),
            ("oauth_nonce", "7d8f3e4a"),
        ]));
        assert_eq!(
            base_string("POST", &base_uri("HTTP", "Example.com:80", "/request"), &params),
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q\
             %26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_\
             key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_m\
             ethod%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk\
             9d7dh3k39sjv7"
        );
        assert_eq!(
            base_uri("https", "www.example.net:8080", "/"),
            "https://www.example.net:8080/"
        );
    }

    /// The photos example (OAuth 1.0 Appendix A.5, RFC 5849 §1.2 and §3.4's parameters
    /// with `oauth_version=1.0`): its base string and HMAC-SHA1 signature.
    #[test]
    fn photos_example_signature() {
        let url = url::Url::parse("http://photos.example.net/photos?file=vacation.jpg&size=original").unwrap();
        let mut params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        params.extend(owned(&[
            ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
            ("oauth_token", "nnch734d00sl2jdk"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "1191242096"),
            ("oauth_nonce", "kllo9940pd9333jh"),
            ("oauth_version", "1.0"),
        ]));
        let base = base_string("GET", &base_uri("http", "photos.example.net", "/photos"), &params);
        assert_eq!(
            base,
            "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1191242096%26oauth_token%3Dnnch734d00sl2jdk%26oauth_version%3D1.0%26size%3Doriginal"
        );
        let signed = signature(Method::HmacSha1, &base, "kd94hf93k423kf44", "pfkkdhi9sl3r4s00");
        assert_eq!(signed, "tR3+Ty81lMeYAr/Fid0kMTYa/WM=");
        assert!(same_signature(&signed, "tR3+Ty81lMeYAr/Fid0kMTYa/WM="));
        assert!(!same_signature(&signed, "tR3+Ty81lMeYAr/Fid0kMTYa/WM"));
    }

    /// RFC 5849 §1.2's own request (no `oauth_version`): its HMAC-SHA1 signature.
    #[test]
    fn rfc5849_section_1_2_signature() {
        let url = url::Url::parse("http://photos.example.net/photos?file=vacation.jpg&size=original").unwrap();
        let mut params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        params.extend(owned(&[
            ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
            ("oauth_token", "nnch734d00sl2jdk"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "137131202"),
            ("oauth_nonce", "chapoH"),
        ]));
        let base = base_string("GET", &base_uri("http", "photos.example.net", "/photos"), &params);
        let signed = signature(Method::HmacSha1, &base, "kd94hf93k423kf44", "pfkkdhi9sl3r4s00");
        assert_eq!(signed, "MdpQcU8iPSUjWoN/UDMsK2sui9I=");
    }

    #[test]
    fn header_round_trip() {
        let credentials = Credentials {
            consumer_key: "dpf43f3p2l4k3l03",
            consumer_secret: "kd94hf93k423kf44",
            token: "nnch734d00sl2jdk",
            token_secret: "pfkkdhi9sl3r4s00",
        };
        let url = url::Url::parse("http://photos.example.net/photos?file=vacation.jpg&size=original").unwrap();
        let header = authorization_header(
            &credentials,
            Method::HmacSha1,
            "GET",
            &url,
            1191242096,
            "kllo9940pd9333jh",
        );
        let params = parse_header(&header).unwrap();
        let signature = params.iter().find(|(n, _)| n == "oauth_signature").unwrap();
        assert_eq!(signature.1, "tR3+Ty81lMeYAr/Fid0kMTYa/WM=");
        assert!(header.contains("oauth_signature=\"tR3%2BTy81lMeYAr%2FFid0kMTYa%2FWM%3D\""));
        assert!(parse_header("Bearer abc").is_none());
        assert_eq!(encode("a b+~*"), "a%20b%2B~%2A");
    }
}
