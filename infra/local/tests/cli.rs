//! The `connector-local` binary as a user runs it: flags, the ready line, the settings
//! link after the start-up logs, HTTP, and data that survives a restart.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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
    let (status, response) = get(&addr, "/");
    assert_eq!(status, 303, "the bare address leads to the settings: {response}");
    assert!(
        response.to_ascii_lowercase().contains("location: /settings\r\n"),
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
fn sandbox_mode_prints_the_sandboxes_and_a_working_settings_link_last() {
    let data_dir = tempfile::tempdir().unwrap();
    // Both streams in one pipe, as a terminal shows them: the link must come after
    // every start-up log line.
    let (reader, writer) = std::io::pipe().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_connector-local"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--sandbox",
            "--platform",
            "bigcommerce",
            "--data-dir",
        ])
        .arg(data_dir.path())
        // A small catalogue and a generous store quota keep the start-up work short.
        .args(["--sandbox-products", "10", "--sandbox-store-quota", "100000"])
        .env_remove("AWS_ENDPOINT_URL")
        .stdout(writer.try_clone().unwrap())
        .stderr(writer)
        .spawn()
        .unwrap();
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    while !seen.last().is_some_and(|l: &String| l.starts_with("settings: ")) {
        match lines.recv_timeout(Duration::from_secs(240)) {
            Ok(line) => seen.push(line),
            Err(error) => panic!("no settings link ({error}) after {seen:#?}"),
        }
    }
    // The link settles start-up (queues empty, logs quiet for 3 s): nothing follows it.
    if let Ok(line) = lines.recv_timeout(Duration::from_secs(3)) {
        panic!("{line:?} came after the settings link");
    }
    let find = |prefix: &str| {
        seen.iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in {seen:#?}"))
            .to_string()
    };
    let addr = find("listening on http://");
    find("tiktok sandbox on http://");
    find("bigcommerce sandbox on http://");
    assert!(
        seen.iter().any(|l| l.contains("\"job done\"")),
        "the start-up work logged before the link"
    );
    let settings = find("settings: http://");
    let path = &settings[settings.find('/').unwrap()..];
    let (status, response) = get(&addr, path);
    assert_eq!(status, 303, "{response}");
    assert!(response.to_ascii_lowercase().contains("set-cookie: connector_session="));
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn version_prints_the_package_version() {
    let output = Command::new(env!("CARGO_BIN_EXE_connector-local"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        format!("connector-local {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn an_unknown_platform_is_refused_with_the_ones_there_are() {
    let output = Command::new(env!("CARGO_BIN_EXE_connector-local"))
        .args(["--sandbox", "--platform", "magento9"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--platform"), "{stderr}");
    assert!(stderr.contains("no store platform \"magento9\""), "{stderr}");
    assert!(stderr.contains("serves: bigcommerce"), "{stderr}");
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
