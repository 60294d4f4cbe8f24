//! The whole local stack in one process: routes of every HTTP function, and the
//! same stack on DynamoDB/SQS when the emulator is there.

use connector::storage::{Condition, Item};
use connector_e2e::local_stack;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    (response.split(' ').nth(1).unwrap().parse().unwrap(), response)
}

#[tokio::test]
async fn every_route_refuses_clearly_without_credentials() {
    let data_dir = tempfile::tempdir().unwrap();
    let running = local_stack(data_dir.path(), false, false).await;
    assert_eq!(get(running.addr, "/health").await.0, 200);
    // The bare address leads to the settings page (which asks for a session).
    let (status, response) = get(running.addr, "/").await;
    assert_eq!(status, 303, "{response}");
    assert!(
        response.to_ascii_lowercase().contains("location: /settings\r\n"),
        "{response}"
    );
    // Without a code, a signed payload or a session, every browser route explains itself.
    for (path, expected) in [
        ("/bigcommerce/auth", 400),
        ("/bigcommerce/load", 400),
        ("/tiktok/connect", 401),
        ("/settings", 401),
    ] {
        let (status, response) = get(running.addr, path).await;
        assert_eq!(status, expected, "{path}: {response}");
        assert!(
            response.contains("<h1>") && response.contains("x-request-id"),
            "{response}"
        );
    }
    let (status, response) = get(running.addr, "/settings/api/shops").await;
    assert_eq!(status, 401);
    assert!(response.contains("\"error\""), "the API answers JSON: {response}");
    assert_eq!(get(running.addr, "/no/such/route").await.0, 404);
}

#[tokio::test]
async fn local_stack_runs_on_dynamodb_and_sqs_when_an_endpoint_is_given() {
    if !connector_e2e::emulator_given() {
        return;
    }
    let data_dir = tempfile::tempdir().unwrap();
    let running = local_stack(data_dir.path(), true, false).await;
    assert_eq!(get(running.addr, "/health").await.0, 200);
    let table = running.app.table.clone();
    table
        .put(
            Item::new("STORE#e2e", "META", serde_json::json!({"ok": true})),
            Condition::Absent,
        )
        .await
        .unwrap();
    assert!(table.get("STORE#e2e", "META").await.unwrap().is_some());
}
