//! Criterion benches of the hub on loopback with a real SQLite file: an authenticated post to
//! a sealed channel, a read of 100 entries, and the request-signature check alone.
//!
//! `cargo bench -p backchannel-hub`. The figures and the machine are in BENCHMARKS.md.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use backchannel_core::CaseId;
use backchannel_core::api::{Blob, Entries, Posted};
use backchannel_core::auth::{RequestAuth, sign_request};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::SigningKey;
use reqwest::Method;
use serde_json::json;

/// The size of the sealed body of each posted entry.
const BODY_BYTES: usize = 1024;
/// Entries read by one `GET`.
const READ_ENTRIES: u64 = 100;

/// A signing identity and an HTTP client talking to one hub.
struct Caller {
    key: SigningKey,
    http: reqwest::Client,
    url: String,
}

impl Caller {
    async fn send(&self, method: Method, path: &str, body: Option<serde_json::Value>) -> String {
        let bytes = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        let auth = sign_request(
            &self.key,
            method.as_str(),
            path,
            backchannel_hub::now_ms(),
            rand::random(),
            &bytes,
        );
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("authorization", auth.header_value());
        if !bytes.is_empty() {
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

    async fn create_case(&self) -> CaseId {
        let case = CaseId(rand::random());
        let body = json!({"case_id": case});
        self.send(Method::POST, "/v1/cases", Some(body)).await;
        case
    }

    /// Posts one message to the case's public channel after `head`; returns the new head.
    async fn post(&self, case: &CaseId, head: u64, body: &[u8]) -> u64 {
        let path = format!("/v1/cases/{case}/channels/public/entries");
        let entry = json!({"kind": "message", "after": head, "body": Blob(body.to_vec())});
        let text = self.send(Method::POST, &path, Some(entry)).await;
        serde_json::from_str::<Posted>(&text).unwrap().seq
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let hub = rt
        .block_on(backchannel_hub::spawn_local(&dir.path().join("hub.db")))
        .unwrap();
    let caller = Caller {
        key: SigningKey::from_bytes(&[7; 32]),
        http: reqwest::Client::new(),
        url: hub.url.clone(),
    };
    let sealed: Vec<u8> = (0..BODY_BYTES).map(|_| rand::random()).collect();

    let mut group = c.benchmark_group("hub");
    group.measurement_time(Duration::from_secs(8));

    // (a) An authenticated post of a 1 KiB entry to a sealed channel, following the head.
    let case = rt.block_on(caller.create_case());
    let mut head = 0;
    group.throughput(Throughput::Elements(1));
    group.bench_function("post 1 KiB entry to a sealed channel", |b| {
        b.iter(|| head = rt.block_on(caller.post(&case, head, &sealed)));
    });

    // (b) A read of 100 entries of 1 KiB, from a channel holding exactly those.
    let case = rt.block_on(caller.create_case());
    let mut head = 0;
    for _ in 0..READ_ENTRIES {
        head = rt.block_on(caller.post(&case, head, &sealed));
    }
    let path = format!("/v1/cases/{case}/channels/public/entries?after=0&limit={READ_ENTRIES}");
    group.throughput(Throughput::Elements(READ_ENTRIES));
    group.bench_function("get 100 entries", |b| {
        b.iter(|| {
            let text = rt.block_on(caller.send(Method::GET, &path, None));
            let entries: Entries = serde_json::from_str(&text).unwrap();
            assert_eq!(entries.entries.len() as u64, READ_ENTRIES);
        });
    });
    group.finish();

    // (c) The signed-request check alone (what the middleware does before any state).
    let path = format!("/v1/cases/{case}/channels/public/entries");
    let body =
        serde_json::to_vec(&json!({"kind": "message", "after": 7, "body": Blob(sealed)})).unwrap();
    let auth = sign_request(
        &caller.key,
        "POST",
        &path,
        1_700_000_000_000,
        [9; 16],
        &body,
    );
    let header = auth.header_value();
    let mut group = c.benchmark_group("auth");
    group.throughput(Throughput::Elements(1));
    group.bench_function("RequestAuth::verify (1 KiB body)", |b| {
        b.iter(|| assert!(std::hint::black_box(&auth).verify("POST", &path, &body)));
    });
    group.bench_function("RequestAuth::parse", |b| {
        b.iter(|| RequestAuth::parse(std::hint::black_box(&header)).unwrap());
    });
    group.finish();

    rt.block_on(hub.stop()).unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
