//! Secrets and tokens never reach log output: real JSON log lines are captured and
//! searched for every secret value.

use std::io::Write;
use std::sync::{Arc, Mutex};

use connector::crypto::TokenCipher;
use connector::secrets::AppSecrets;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn secrets_tokens_and_keys_never_appear_in_logs() {
    let key_spec = TokenCipher::generate_spec("k1");
    let raw_key = key_spec.split_once(':').unwrap().1.to_string();
    let values = [
        ("TIKTOK_APP_KEY", "public-app-key".to_string()),
        ("TIKTOK_APP_SECRET", "tt-secret-5f2a9c".to_string()),
        ("TIKTOK_SERVICE_ID", "service-1".to_string()),
        ("BIGCOMMERCE_CLIENT_ID", "bc-client".to_string()),
        ("BIGCOMMERCE_CLIENT_SECRET", "bc-secret-77d1e0".to_string()),
        ("BIGCOMMERCE_APP_ID", "12345".to_string()),
        ("TOKEN_KEYS", key_spec),
    ];
    let secrets = AppSecrets::from_lookup("test", |name| {
        values.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone())
    })
    .unwrap();
    let sealed = secrets.token_cipher.seal("TTP_access_token_9b1", "STORE#a/SHOP#1");
    let opened = secrets.token_cipher.open(&sealed, "STORE#a/SHOP#1").unwrap();

    let capture = Capture::default();
    tracing::subscriber::with_default(connector::telemetry::subscriber(capture.clone()), || {
        let span = tracing::info_span!("job", job_id = "j-1");
        let _entered = span.enter();
        tracing::info!(?secrets, "loaded secrets");
        tracing::info!(token = ?opened, cipher = ?secrets.token_cipher, "refreshed token");
        tracing::warn!(
            ?values,
            "raw lookup table must not be what we log; the typed secrets are"
        );
    });
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = logs.lines().collect();
    assert_eq!(lines.len(), 3);
    // The typed values are redacted...
    for line in &lines[..2] {
        for secret in [
            "tt-secret-5f2a9c",
            "bc-secret-77d1e0",
            "TTP_access_token_9b1",
            raw_key.as_str(),
        ] {
            assert!(!line.contains(secret), "secret leaked: {line}");
        }
        assert!(
            line.contains("\"job_id\":\"j-1\""),
            "log lines carry the job id: {line}"
        );
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "JSON log line: {line}"
        );
    }
    assert!(lines[0].contains("public-app-key") && lines[0].contains("***"));
    // ...while an untyped string is not: this is why secrets are only held typed.
    assert!(lines[2].contains("tt-secret-5f2a9c"));
}
