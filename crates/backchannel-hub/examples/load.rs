//! A small load run: spawns a hub on loopback with a SQLite file in a temporary folder, then
//! N concurrent clients each create a case and post a fixed number of 1 KiB entries to its
//! public (sealed) channel, one after another, each signed and following the head. Prints
//! throughput and latency percentiles, then stops.
//!
//! ```text
//! cargo run --release -p backchannel-hub --example load -- [clients] [posts per client] [body bytes]
//! ```
//!
//! `LOAD_DURABILITY=full` opens the database as `hub --durability full` does. `LOAD_READS=R`
//! has each client also read, after each post, R times the last ten entries of its channel
//! (a signed `GET …/entries`), as a syncing client would; their latency is printed apart.
//! `LOAD_POSTGRES=URL` uses that PostgreSQL database instead, with `LOAD_HUBS=H` hubs (1 by
//! default) side by side on it, as H hub processes would share it, the clients spread over
//! them in turn.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use backchannel_core::CaseId;
use backchannel_core::api::{Blob, Entries, Posted};
use backchannel_core::auth::sign_request;
use ed25519_dalek::SigningKey;
use serde_json::json;

const CLIENTS_MAX: usize = 256;
const POSTS_MAX: usize = 100_000;
const BODY_BYTES_MAX: usize = 256 * 1024;

fn arg(n: usize, default: usize, max: usize) -> usize {
    let value = std::env::args()
        .nth(n)
        .map_or(default, |a| a.parse().expect("arguments are whole numbers"));
    assert!((1..=max).contains(&value), "argument {n} is 1 to {max}");
    value
}

const READS_MAX: usize = 100;

async fn send(
    http: &reqwest::Client,
    url: &str,
    key: &SigningKey,
    path: &str,
    body: Option<&serde_json::Value>,
) -> String {
    let (method, bytes) = match body {
        Some(body) => (reqwest::Method::POST, serde_json::to_vec(body).unwrap()),
        None => (reqwest::Method::GET, vec![]),
    };
    let auth = sign_request(
        key,
        method.as_str(),
        path,
        backchannel_hub::now_ms(),
        rand::random(),
        &bytes,
    );
    let mut request = http
        .request(method, format!("{url}{path}"))
        .header("authorization", auth.header_value());
    if body.is_some() {
        request = request
            .header("content-type", "application/json")
            .body(bytes);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {text}");
    text
}

/// The latencies one client saw.
#[derive(Default)]
struct Seen {
    posts: Vec<Duration>,
    reads: Vec<Duration>,
}

/// One client: its own key and case; returns the latency of each post and each read.
async fn client(url: String, posts: usize, body_bytes: usize, reads: usize) -> Seen {
    let http = reqwest::Client::new();
    let key = SigningKey::from_bytes(&rand::random());
    let case = CaseId(rand::random());
    send(
        &http,
        &url,
        &key,
        "/v1/cases",
        Some(&json!({"case_id": case})),
    )
    .await;
    let path = format!("/v1/cases/{case}/channels/public/entries");
    let sealed: Vec<u8> = (0..body_bytes).map(|_| rand::random()).collect();
    let mut head = 0;
    let mut seen = Seen {
        posts: Vec::with_capacity(posts),
        reads: Vec::with_capacity(posts * reads),
    };
    for _ in 0..posts {
        let entry = json!({"kind": "message", "after": head, "body": Blob(sealed.clone())});
        let started = Instant::now();
        let text = send(&http, &url, &key, &path, Some(&entry)).await;
        seen.posts.push(started.elapsed());
        head = serde_json::from_str::<Posted>(&text).unwrap().seq;
        let last = format!("{path}?after={}&limit=10", head.saturating_sub(10));
        for _ in 0..reads {
            let started = Instant::now();
            let text = send(&http, &url, &key, &last, None).await;
            seen.reads.push(started.elapsed());
            let read: Entries = serde_json::from_str(&text).unwrap();
            assert_eq!(read.head, head, "a read sees the post it follows");
        }
    }
    seen
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[tokio::main]
async fn main() {
    let clients = arg(1, 8, CLIENTS_MAX);
    let posts = arg(2, 250, POSTS_MAX);
    let body_bytes = arg(3, 1024, BODY_BYTES_MAX);
    let reads = std::env::var("LOAD_READS")
        .ok()
        .map_or(0, |v| v.parse().expect("LOAD_READS is a whole number"));
    assert!(reads <= READS_MAX, "LOAD_READS is at most {READS_MAX}");
    let dir = tempfile::tempdir().unwrap();
    // LOAD_DURABILITY=full: every commit synced before its answer (`hub --durability full`).
    let durability = std::env::var("LOAD_DURABILITY")
        .ok()
        .map(|v| backchannel_hub::Durability::parse(&v).expect("LOAD_DURABILITY is normal or full"))
        .unwrap_or_default();
    let postgres = std::env::var("LOAD_POSTGRES")
        .ok()
        .filter(|v| !v.is_empty());
    let hubs = std::env::var("LOAD_HUBS")
        .ok()
        .map_or(1, |v| v.parse().expect("LOAD_HUBS is a whole number"));
    assert!((1..=8).contains(&hubs), "LOAD_HUBS is 1 to 8");
    let mut running = Vec::new();
    match &postgres {
        Some(url) => {
            let database = backchannel_hub::Database::parse(url);
            for _ in 0..hubs {
                running.push(backchannel_hub::spawn_local_on(&database).await.unwrap());
            }
        }
        None => {
            assert_eq!(
                hubs, 1,
                "LOAD_HUBS needs LOAD_POSTGRES: one process owns a SQLite file"
            );
            let path = dir.path().join("hub.db");
            let store = backchannel_hub::store::Sqlite::open_with(&path, durability).unwrap();
            let state = backchannel_hub::AppState::new(std::sync::Arc::new(store));
            running.push(backchannel_hub::spawn_local_with(state).await.unwrap());
        }
    }

    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|n| {
            let url = running[n % running.len()].url.clone();
            tokio::spawn(client(url, posts, body_bytes, reads))
        })
        .collect();
    let mut latencies = Vec::with_capacity(clients * posts);
    let mut read_latencies = Vec::with_capacity(clients * posts * reads);
    for task in tasks {
        let seen = task.await.unwrap();
        latencies.extend(seen.posts);
        read_latencies.extend(seen.reads);
    }
    let elapsed = started.elapsed();
    for hub in running {
        hub.stop().await.unwrap();
    }
    let store = match postgres {
        Some(_) => format!("PostgreSQL, {hubs} hub(s)"),
        None => format!("SQLite, {durability:?}"),
    };

    latencies.sort();
    let total = latencies.len();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{store}: {clients} clients x {posts} posts of {body_bytes} bytes: {total} posts in {:.2} s, \
         {:.0} posts/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies[total - 1]),
    );
    if !read_latencies.is_empty() {
        read_latencies.sort();
        let reads_total = read_latencies.len();
        println!(
            "{reads_total} reads, {:.0} reads/s; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            reads_total as f64 / elapsed.as_secs_f64(),
            ms(percentile(&read_latencies, 0.50)),
            ms(percentile(&read_latencies, 0.99)),
            ms(read_latencies[reads_total - 1]),
        );
    }
}
