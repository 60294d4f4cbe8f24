//! The `connector-local` binary as a user runs it: flags, the ready line, HTTP, and
//! data that survives a restart.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

/// Starts the binary and returns it with the address from its `listening on` line.
fn start(data_dir: &std::path::Path, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_connector-local"))
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env_remove("AWS_ENDPOINT_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(addr) = line.strip_prefix("listening on http://") {
            return (child, addr.to_string());
        }
    }
    panic!("connector-local exited without printing its address");
}

/// A plain HTTP/1.1 GET; returns the status code and the whole response text.
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nx-request-id: req-42\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    (status, response)
}

#[test]
fn serves_http_and_keeps_its_keyring_across_a_restart() {
    let data_dir = tempfile::tempdir().unwrap();
    let (mut first, addr) = start(data_dir.path(), &[]);
    let (status, response) = get(&addr, "/health");
    assert_eq!(status, 200, "{response}");
    assert!(
        response.to_ascii_lowercase().contains("x-request-id: req-42"),
        "{response}"
    );
    let (status, response) = get(&addr, "/tiktok/callback?code=abc");
    assert_eq!(status, 400, "a callback without a state is refused");
    assert!(response.contains("incomplete"), "{response}");
    first.kill().unwrap();
    first.wait().unwrap();

    let keyring = std::fs::read_to_string(data_dir.path().join("token-keys")).unwrap();
    assert!(data_dir.path().join("connector.redb").exists());
    let (mut second, addr) = start(data_dir.path(), &[]);
    assert_eq!(get(&addr, "/health").0, 200);
    assert_eq!(
        std::fs::read_to_string(data_dir.path().join("token-keys")).unwrap(),
        keyring
    );
    second.kill().unwrap();
    second.wait().unwrap();
}

#[test]
fn sandbox_mode_prints_the_sandboxes_and_a_working_settings_link() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_connector-local"))
        .args(["--addr", "127.0.0.1:0", "--sandbox", "--data-dir"])
        .arg(data_dir.path())
        .env_remove("AWS_ENDPOINT_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .take(4)
        .map(Result::unwrap)
        .collect();
    let find = |prefix: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in {lines:?}"))
            .to_string()
    };
    let addr = find("listening on http://");
    find("tiktok sandbox on http://");
    find("bigcommerce sandbox on http://");
    let settings = find("settings: http://");
    let path = &settings[settings.find('/').unwrap()..];
    let (status, response) = get(&addr, path);
    assert_eq!(status, 303, "{response}");
    assert!(response.to_ascii_lowercase().contains("set-cookie: connector_session="));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_bad_flag_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_connector-local"))
        .args(["--addr", "not-an-address"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--addr"));
}
