//! Token encryption and small hashing helpers.
//!
//! Tokens are sealed with AES-256-GCM under the current key of a [`TokenCipher`]
//! keyring, with a fresh random nonce each time and the record's identity as
//! associated data, so a sealed token cannot be moved to another record. The key id
//! travels in the sealed text, so old tokens stay readable after a key rotation.

use std::collections::HashMap;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use sha2::{Digest, Sha256};

const FORMAT: &str = "v1";
const NONCE_BYTES: usize = 12;

/// Errors of sealing and opening tokens.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// A key in the keyring is malformed.
    #[error("invalid token key {key_id}: {reason}")]
    InvalidKey { key_id: String, reason: String },
    /// The sealed text names a key the keyring does not hold.
    #[error("unknown token key id {0}")]
    UnknownKey(String),
    /// The sealed text is malformed, tampered with, or bound to another record.
    #[error("sealed token cannot be opened: {0}")]
    Unsealable(&'static str),
}

/// A keyring of AES-256 keys; the first is used to seal, all can open.
#[derive(Clone)]
pub struct TokenCipher {
    current: String,
    keys: HashMap<String, Aes256Gcm>,
    /// Key for signing sessions and OAuth states, derived from the current key.
    signing_key: Vec<u8>,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCipher")
            .field("current", &self.current)
            .field("keys", &"***")
            .finish()
    }
}

impl TokenCipher {
    /// Parses `id:base64key[,id:base64key...]` (32-byte keys; the first one is current).
    pub fn from_spec(spec: &str) -> Result<Self, CryptoError> {
        let mut current = None;
        let mut signing_key = Vec::new();
        let mut keys = HashMap::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (key_id, encoded) = entry.split_once(':').ok_or_else(|| CryptoError::InvalidKey {
                key_id: "?".into(),
                reason: "expected id:base64key".into(),
            })?;
            let invalid = |reason: &str| CryptoError::InvalidKey {
                key_id: key_id.into(),
                reason: reason.into(),
            };
            if key_id.is_empty() || key_id.contains(':') {
                return Err(invalid("key id must be non-empty without ':'"));
            }
            let bytes = STANDARD.decode(encoded).map_err(|_| invalid("key is not base64"))?;
            let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| invalid("key must be 32 bytes"))?;
            if current.is_none() {
                current = Some(key_id.to_string());
                signing_key = hmac_sha256(&bytes, b"connector-signing-v1");
            }
            keys.insert(key_id.to_string(), cipher);
        }
        let current = current.ok_or(CryptoError::InvalidKey {
            key_id: "".into(),
            reason: "no key given".into(),
        })?;
        Ok(Self {
            current,
            keys,
            signing_key,
        })
    }

    /// A new random key spec (`id:base64key`), e.g. for a first local run.
    pub fn generate_spec(key_id: &str) -> String {
        format!("{key_id}:{}", STANDARD.encode(Aes256Gcm::generate_key(&mut OsRng)))
    }

    /// Seals `plaintext`, bound to `context` (e.g. `STORE#abc/SHOP#1/access_token`).
    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let cipher = &self.keys[&self.current];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .expect("AES-GCM sealing of an in-memory buffer cannot fail");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{FORMAT}:{}:{}", self.current, URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Opens text made by [`TokenCipher::seal`] with the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<SecretString, CryptoError> {
        let mut parts = sealed.splitn(3, ':');
        let (Some(FORMAT), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CryptoError::Unsealable("not a v1 sealed token"));
        };
        let cipher = self
            .keys
            .get(key_id)
            .ok_or_else(|| CryptoError::UnknownKey(key_id.into()))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| CryptoError::Unsealable("body is not base64"))?;
        if bytes.len() <= NONCE_BYTES {
            return Err(CryptoError::Unsealable("too short"));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let plaintext = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Unsealable("authentication failed"))?;
        String::from_utf8(plaintext)
            .map(SecretString::new)
            .map_err(|_| CryptoError::Unsealable("not UTF-8"))
    }
}

impl TokenCipher {
    /// HMAC-SHA256 of `message` under the signing key (sessions, OAuth states, CSRF).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        hmac_sha256(&self.signing_key, message)
    }

    /// 64 bytes of key material for the browser cookies (the `cookie` crate's private
    /// jar: AES-256-GCM, so a cookie is both secret and tamper-proof), derived from the
    /// current key under its own label.
    pub fn cookie_key_material(&self) -> [u8; 64] {
        let mut material = [0u8; 64];
        material[..32].copy_from_slice(&hmac_sha256(&self.signing_key, b"connector-cookies-v1/0"));
        material[32..].copy_from_slice(&hmac_sha256(&self.signing_key, b"connector-cookies-v1/1"));
        material
    }

    /// Whether `signature` is [`TokenCipher::sign`] of `message`; constant-time.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        constant_time_eq(&self.sign(message), signature)
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Compares two byte strings in constant time (for signatures and shared secrets).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// A string that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret itself, for the one place that must send or compare it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl<'de> serde::Deserialize<'de> for SecretString {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(SecretString::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring() -> TokenCipher {
        TokenCipher::from_spec(&TokenCipher::generate_spec("k1")).unwrap()
    }

    #[test]
    fn sealed_token_opens_with_its_context_only() {
        let cipher = keyring();
        let sealed = cipher.seal("TTP_secret_access", "STORE#a/SHOP#1");
        assert!(!sealed.contains("TTP_secret_access"));
        assert_eq!(
            cipher.open(&sealed, "STORE#a/SHOP#1").unwrap().expose(),
            "TTP_secret_access"
        );
        assert!(matches!(
            cipher.open(&sealed, "STORE#b/SHOP#1"),
            Err(CryptoError::Unsealable(_))
        ));
    }

    #[test]
    fn each_seal_uses_a_fresh_nonce() {
        let cipher = keyring();
        assert_ne!(cipher.seal("same", "ctx"), cipher.seal("same", "ctx"));
    }

    #[test]
    fn rotated_keyring_still_opens_old_tokens_and_seals_with_the_new_key() {
        let old_spec = TokenCipher::generate_spec("k1");
        let old = TokenCipher::from_spec(&old_spec).unwrap();
        let sealed_before = old.seal("refresh", "ctx");
        let rotated = TokenCipher::from_spec(&format!("{},{old_spec}", TokenCipher::generate_spec("k2"))).unwrap();
        assert_eq!(rotated.open(&sealed_before, "ctx").unwrap().expose(), "refresh");
        assert!(rotated.seal("x", "ctx").starts_with("v1:k2:"));
        assert!(matches!(old.open(&rotated.seal("x", "ctx"), "ctx"), Err(CryptoError::UnknownKey(id)) if id == "k2"));
    }

    #[test]
    fn tampered_or_malformed_tokens_are_rejected() {
        let cipher = keyring();
        let mut sealed = cipher.seal("value", "ctx").into_bytes();
        let last = sealed.len() - 1;
        sealed[last] = if sealed[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(sealed).unwrap();
        assert!(cipher.open(&tampered, "ctx").is_err());
        for bad in ["", "v1", "v2:k1:abc", "v1:k1:!!!", "v1:k1:AAAA"] {
            assert!(cipher.open(bad, "ctx").is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_key_specs_are_rejected() {
        for spec in ["", "k1", "k1:notbase64!", "k1:AAAA", ":AAAA"] {
            assert!(TokenCipher::from_spec(spec).is_err(), "{spec}");
        }
    }
}
