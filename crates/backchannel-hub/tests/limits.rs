//! The hub's bounds on a real socket, written to raw: what needs no body is refused before
//! the body is read, a body must arrive in time and within the route's cap, and the hub
//! serves only so many requests at once; meanwhile it keeps serving members.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use backchannel_core::api::{Blob, MAX_BODY_BYTES};
use backchannel_core::auth::MAX_SKEW_MS;
use backchannel_hub::extract::MAX_SMALL_BODY_BYTES;
use common::{Hub, Identity, code, random_case};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Opens a connection to `hub` and writes a request's head and the first `sent` bytes of
/// its body, then leaves the connection open with the rest never coming.
async fn stall(
    hub: &Hub,
    method: &str,
    path: &str,
    authorization: Option<&str>,
    content_length: usize,
    sent: &[u8],
) -> TcpStream {
    let address = hub.url().trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {content_length}\r\n"
    );
    if let Some(authorization) = authorization {
        head.push_str(&format!("Authorization: {authorization}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(sent).await.unwrap();
    stream
}

/// Reads one response: its status and JSON body, failing if it takes longer than `within`.
async fn answer(stream: &mut TcpStream, within: Duration) -> (u16, Value) {
    tokio::time::timeout(within, async {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let read = stream.read(&mut chunk).await.unwrap();
            buffer.extend_from_slice(&chunk[..read]);
            let text = String::from_utf8_lossy(&buffer).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let head = &text[..end];
                let length: usize = head
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                if buffer.len() >= end + 4 + length || read == 0 {
                    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                    let body = serde_json::from_slice(&buffer[end + 4..]).unwrap_or(Value::Null);
                    return (status, body);
                }
            }
            assert!(read > 0, "the hub closed the connection without answering");
        }
    })
    .await
    .expect("the hub answered in time")
}

fn entries_path(case: &impl std::fmt::Display) -> String {
    format!("/v1/cases/{case}/channels/public/entries")
}

#[tokio::test]
async fn what_needs_no_body_is_refused_before_the_body_arrives() {
    let hub = Hub::start().await;
    let who = Identity::random();
    let path = entries_path(&random_case());
    let declared = 500 * 1024;
    let stale = who.header("POST", &path, b"", hub.now_ms() - MAX_SKEW_MS - 1_000);
    for (authorization, status, expected) in [
        (None, 401, "auth_missing"),
        (Some("Backchannel key=zz"), 401, "auth_invalid"),
        (Some(stale.as_str()), 401, "auth_expired"),
    ] {
        let mut stream = stall(&hub, "POST", &path, authorization, declared, b"{").await;
        let (got, body) = answer(&mut stream, Duration::from_secs(1)).await;
        assert_eq!((got, code(&body)), (status, expected), "{body}");
    }
}

#[tokio::test]
async fn an_oversized_content_length_is_refused_at_once() {
    let hub = Hub::start().await;
    let who = Identity::random();
    let case = random_case();
    for (path, declared) in [
        ("/v1/cases".to_owned(), MAX_SMALL_BODY_BYTES + 1),
        (
            format!("/v1/cases/{case}/invites"),
            MAX_SMALL_BODY_BYTES + 1,
        ),
        (entries_path(&case), MAX_BODY_BYTES + 1),
        ("/v1/key-packages".to_owned(), MAX_BODY_BYTES + 1),
        (
            format!("/v1/witness/{case}/submitters"),
            MAX_SMALL_BODY_BYTES + 1,
        ),
        (format!("/v1/witness/{case}/heads"), MAX_BODY_BYTES + 1),
    ] {
        let authorization = who.header("POST", &path, b"", hub.now_ms());
        let mut stream = stall(&hub, "POST", &path, Some(&authorization), declared, b"{").await;
        let (status, body) = answer(&mut stream, Duration::from_secs(1)).await;
        assert_eq!((status, code(&body)), (413, "body_too_large"), "{path}");
    }
}

#[tokio::test]
async fn a_chunked_body_above_the_cap_is_refused() {
    let hub = Hub::start().await;
    let who = Identity::random();
    let body = vec![b' '; MAX_SMALL_BODY_BYTES + 1];
    let authorization = who.header("POST", "/v1/cases", &body, hub.now_ms());
    let address = hub.url().trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /v1/cases HTTP/1.1\r\nHost: {address}\r\nAuthorization: {authorization}\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    stream.write_all(b"\r\n0\r\n\r\n").await.unwrap();
    let (status, answer) = answer(&mut stream, Duration::from_secs(5)).await;
    assert_eq!((status, code(&answer)), (413, "body_too_large"));
}

#[tokio::test]
async fn a_stalled_body_times_out_while_members_are_served() {
    let hub =
        Hub::start_with_state(|state| state.with_body_timeout(Duration::from_millis(500))).await;
    let mediator = Identity::random();
    let case = hub.create_case(&mediator).await;
    let path = entries_path(&case);
    let full = serde_json::to_vec(&json!({
        "kind": "message", "after": 0, "body": Blob(vec![7; 1024])
    }))
    .unwrap();
    let authorization = mediator.header("POST", &path, &full, hub.now_ms());
    let started = Instant::now();
    let mut stream = stall(
        &hub,
        "POST",
        &path,
        Some(&authorization),
        full.len(),
        &full[..10],
    )
    .await;

    // The hub serves a member while the body is stalled.
    let (status, _) = hub
        .get(&mediator, &format!("/v1/cases/{case}/members"))
        .await;
    assert_eq!(status, 200);

    let (status, body) = answer(&mut stream, Duration::from_secs(5)).await;
    assert_eq!((status, code(&body)), (408, "body_timeout"), "{body}");
    assert_eq!(
        body["error"]["message"],
        "The request body did not arrive in time."
    );
    assert!(started.elapsed() >= Duration::from_millis(500));
}

#[tokio::test]
async fn a_request_beyond_the_bound_is_too_busy() {
    let hub = Hub::start_with_state(|state| {
        state
            .with_max_requests(1)
            .with_body_timeout(Duration::from_millis(800))
    })
    .await;
    let who = Identity::random();
    let authorization = who.header("POST", "/v1/cases", b"{}", hub.now_ms());
    let mut stalled = stall(&hub, "POST", "/v1/cases", Some(&authorization), 2, b"{").await;
    // Let the stalled request take the one place.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (status, body) = hub.get(&who, "/v1/welcomes").await;
    assert_eq!((status, code(&body)), (503, "too_busy"), "{body}");

    let (status, body) = answer(&mut stalled, Duration::from_secs(5)).await;
    assert_eq!((status, code(&body)), (408, "body_timeout"));
    // Its place is given back.
    let (status, _) = hub.get(&who, "/v1/welcomes").await;
    assert_eq!(status, 200);
}

/// The resident memory of this process, in KiB, from `/proc/self/status`.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[tokio::test]
async fn two_hundred_stalled_bodies_take_little_memory_and_are_all_answered() {
    let Some(before) = rss_kib() else {
        return; // No /proc here.
    };
    let hub = Hub::start_with_state(|state| state.with_body_timeout(Duration::from_secs(1))).await;
    let who = Identity::random();
    let case = random_case();
    let path = entries_path(&case);
    let sent = vec![b' '; 64 * 1024];
    let mut streams = Vec::new();
    for _ in 0..200 {
        // A fresh timestamp and a signature the hub cannot check without the whole body.
        let authorization = who.header("POST", &path, b"never sent", hub.now_ms());
        streams.push(stall(&hub, "POST", &path, Some(&authorization), 500 * 1024, &sent).await);
    }
    let grown_mib = rss_kib().unwrap().saturating_sub(before) / 1024;
    assert!(grown_mib < 64, "the process grew by {grown_mib} MiB");
    for stream in &mut streams {
        let (status, body) = answer(stream, Duration::from_secs(10)).await;
        assert_eq!((status, code(&body)), (408, "body_timeout"));
    }
}
