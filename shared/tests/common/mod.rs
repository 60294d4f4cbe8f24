//! Shared by the integration tests: the AWS emulator endpoint and unique names.
#![allow(dead_code)] // each test binary uses its own part of these helpers

/// SDK configuration for the emulator at `AWS_ENDPOINT_URL`, or `None` to skip.
///
/// Under the README's test command and CI (`CI` or `CONNECTOR_REQUIRE_AWS` set) a
/// missing endpoint fails the test: a skipped adapter test proves nothing.
pub async fn emulator() -> Option<aws_config::SdkConfig> {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        let required = std::env::var_os("CI").is_some() || std::env::var_os("CONNECTOR_REQUIRE_AWS").is_some();
        assert!(
            !required,
            "AWS_ENDPOINT_URL is not set: run the tests with scripts/test"
        );
        eprintln!("skipping: AWS_ENDPOINT_URL is not set (scripts/test starts moto_server)");
        return None;
    }
    Some(connector::app::aws_config().await)
}

/// A name no other test uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}
