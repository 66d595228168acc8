//! A hub that misbehaves. A proxy sits between every client and a real hub and rewrites what
//! the hub serves — altering, dropping, reordering, replaying entries, serving forged
//! signatures, ignoring membership — and each client must refuse the entry, naming it, keep
//! its state unchanged, and recover once the hub is honest again.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use backchannel_client::{Client, ClientError};
use backchannel_core::api::{Blob, Entries, Entry, ErrorBody, PostEntry};
use backchannel_core::{CaseId, ChannelName};

mod common;

use common::{mediator_and_party, messages, relay, serve_proxy};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tamper {
    Honest,
    /// Flip one byte of the first served entry.
    Alter,
    /// Drop the first served entry and renumber the rest so no gap shows.
    DropAndRenumber,
    /// Drop the first served entry, leaving a gap in the numbering.
    DropWithGap,
    /// Swap the first two served entries (numbers kept in order).
    Reorder,
    /// Serve the first entry twice.
    Replay,
    /// Re-seal the first public entry with its text changed and its signature kept.
    ForgeSignature,
    /// Serve recorded posts to anyone, members or not.
    IgnoreMembership,
}

struct Proxy {
    upstream: String,
    http: reqwest::Client,
    tamper: Mutex<Tamper>,
    case_key: Mutex<Option<[u8; 32]>>,
    /// Every post the proxy relayed: (path, seq, entry).
    posted: Mutex<Vec<(String, u64, PostEntry)>>,
}

fn public_aad(case: &CaseId) -> Vec<u8> {
    let mut aad = b"backchannel/public/v1".to_vec();
    aad.extend_from_slice(&case.0);
    aad
}

impl Proxy {
    fn rewrite(&self, path: &str, mut page: Entries) -> Entries {
        let tamper = *self.tamper.lock().unwrap();
        let entries = &mut page.entries;
        if entries.is_empty() {
            return page;
        }
        match tamper {
            Tamper::Honest | Tamper::IgnoreMembership => {}
            Tamper::Alter => {
                let body = &mut entries[0].body.0;
                let middle = body.len() / 2;
                body[middle] ^= 0x01;
            }
            Tamper::DropAndRenumber => {
                entries.remove(0);
                for entry in entries.iter_mut() {
                    entry.seq -= 1;
                }
            }
            Tamper::DropWithGap => {
                entries.remove(0);
            }
            Tamper::Reorder if entries.len() >= 2 => {
                let (a, b) = (entries[0].seq, entries[1].seq);
                entries.swap(0, 1);
                entries[0].seq = a;
                entries[1].seq = b;
            }
            Tamper::Reorder => {}
            Tamper::Replay => {
                let mut copy = entries[0].clone();
                copy.seq += 1;
                for entry in entries.iter_mut().skip(1) {
                    entry.seq += 1;
                }
                entries.insert(1, copy);
            }
            Tamper::ForgeSignature => {
                let key = self.case_key.lock().unwrap().unwrap();
                let case = CaseId::parse(path.split('/').nth(3).unwrap()).unwrap();
                let aad = public_aad(&case);
                let opened =
                    backchannel_client::vault::open_with(&key, &aad, &entries[0].body.0).unwrap();
                let mut signed: backchannel_core::SignedAct =
                    serde_json::from_slice(&opened).unwrap();
                let text = String::from_utf8(signed.payload.clone())
                    .unwrap()
                    .replace("calm", "war!");
                signed.payload = text.into_bytes();
                entries[0].body = Blob(backchannel_client::vault::seal_with(
                    &key,
                    &aad,
                    &signed.to_bytes(),
                ));
            }
        }
        page
    }

    /// What a hub ignoring membership would serve: every recorded post on that channel.
    fn leak(&self, path: &str, after: u64) -> Entries {
        let posted = self.posted.lock().unwrap();
        let entries: Vec<Entry> = posted
            .iter()
            .filter(|(p, seq, _)| p == path && *seq > after)
            .map(|(_, seq, post)| Entry {
                seq: *seq,
                kind: post.kind,
                author: backchannel_core::PublicKey([0; 32]),
                body: post.body.clone(),
                at_ms: 0,
            })
            .collect();
        let head = entries.last().map_or(after, |e| e.seq);
        Entries { entries, head }
    }
}

async fn forward(
    State(proxy): State<Arc<Proxy>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (status, bytes) = relay(
        &proxy.http,
        &proxy.upstream,
        method.clone(),
        &uri,
        &headers,
        body.clone(),
    )
    .await;
    let path = uri.path().to_owned();
    if !path.ends_with("/entries") {
        return (status, bytes).into_response();
    }
    if method == Method::POST && status.is_success() {
        let post: PostEntry = serde_json::from_slice(&body).unwrap();
        let seq = serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()["seq"]
            .as_u64()
            .unwrap();
        proxy.posted.lock().unwrap().push((path, seq, post));
        return (status, bytes).into_response();
    }
    if method == Method::POST && status == StatusCode::CONFLICT {
        // A stale post's refusal carries what the sender missed: tampered with alike.
        let mut refusal: ErrorBody = serde_json::from_slice(&bytes).unwrap();
        let missed = std::mem::take(&mut refusal.error.missed);
        let head = refusal.error.head.unwrap_or(0);
        refusal.error.missed = proxy
            .rewrite(
                &path,
                Entries {
                    entries: missed,
                    head,
                },
            )
            .entries;
        return (status, serde_json::to_vec(&refusal).unwrap()).into_response();
    }
    if method == Method::GET && status.is_success() {
        let page: Entries = serde_json::from_slice(&bytes).unwrap();
        let page = proxy.rewrite(&path, page);
        return (status, serde_json::to_vec(&page).unwrap()).into_response();
    }
    if method == Method::GET && *proxy.tamper.lock().unwrap() == Tamper::IgnoreMembership {
        let after = uri
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("after=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        return (
            StatusCode::OK,
            serde_json::to_vec(&proxy.leak(&path, after)).unwrap(),
        )
            .into_response();
    }
    (status, bytes).into_response()
}

struct World {
    _dir: tempfile::TempDir,
    _hub: backchannel_hub::LocalHub,
    proxy: Arc<Proxy>,
    case: CaseId,
    mediator: Client,
    us: Client,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let hub = backchannel_hub::spawn_local(&dir.path().join("hub.sqlite"))
        .await
        .unwrap();
    let proxy = Arc::new(Proxy {
        upstream: hub.url.clone(),
        http: reqwest::Client::new(),
        tamper: Mutex::new(Tamper::Honest),
        case_key: Mutex::new(None),
        posted: Mutex::new(Vec::new()),
    });
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(proxy.clone());
    let url = serve_proxy(app).await;
    let (case, mediator, us, code) = mediator_and_party(dir.path(), &url).await;
    *proxy.case_key.lock().unwrap() = Some(code.case_key);
    World {
        _dir: dir,
        _hub: hub,
        proxy,
        case,
        mediator,
        us,
    }
}

/// How the US client meets the tampered entries.
#[derive(Clone, Copy, Debug)]
enum Via {
    /// A sync reads them.
    Sync,
    /// A send, posted after the head it knew, is refused as stale with them attached.
    Send,
}

/// The mediator posts two messages on `channel`; with the hub tampering, the US client must
/// refuse, change nothing, and recover both messages once the hub is honest: whether it
/// reads them (a sync) or is handed them by a stale post's refusal (a send).
async fn attack(channel: &str, tamper: Tamper) {
    for via in [Via::Sync, Via::Send] {
        attack_via(channel, tamper, via).await;
    }
}

async fn attack_via(channel: &str, tamper: Tamper, via: Via) {
    let mut w = world().await;
    let channel = ChannelName::parse(channel).unwrap();
    w.mediator
        .send(w.case, &channel, "keep calm: first")
        .await
        .unwrap();
    w.mediator
        .send(w.case, &channel, "keep calm: second")
        .await
        .unwrap();
    let state_before = w.us.state(w.case).unwrap().clone();
    let log_before = w.us.read(w.case, None).unwrap().len();
    // A replay serves the genuine entry first: that one is folded, its copy refused.
    let genuine = usize::from(tamper == Tamper::Replay);

    *w.proxy.tamper.lock().unwrap() = tamper;
    let err = match via {
        Via::Sync => w.us.sync(w.case).await.unwrap_err(),
        Via::Send => w.us.send(w.case, &channel, "ours").await.unwrap_err(),
    };
    assert_eq!(err.code(), "entry_refused", "{tamper:?} via {via:?}: {err}");
    let ClientError::Refused { channel: named, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        named, &channel,
        "{tamper:?}: the error names the entry's channel"
    );
    if genuine == 0 {
        assert_eq!(
            w.us.state(w.case).unwrap(),
            &state_before,
            "{tamper:?}: the state is unchanged"
        );
    }
    assert_eq!(
        w.us.read(w.case, None).unwrap().len(),
        log_before + genuine,
        "{tamper:?}: nothing false was folded"
    );
    assert_eq!(
        w.us.verify_log(w.case).unwrap(),
        *w.us.state(w.case).unwrap()
    );

    *w.proxy.tamper.lock().unwrap() = Tamper::Honest;
    w.us.sync(w.case).await.unwrap();
    assert_eq!(
        messages(&w.us, w.case, &channel),
        ["keep calm: first", "keep calm: second"],
        "{tamper:?}"
    );
}

#[tokio::test]
async fn altered_entries_are_refused() {
    attack("united-states", Tamper::Alter).await;
    attack("public", Tamper::Alter).await;
}

#[tokio::test]
async fn dropped_entries_are_refused() {
    attack("united-states", Tamper::DropAndRenumber).await;
    attack("public", Tamper::DropAndRenumber).await;
    attack("united-states", Tamper::DropWithGap).await;
}

#[tokio::test]
async fn reordered_entries_are_refused() {
    attack("united-states", Tamper::Reorder).await;
    attack("public", Tamper::Reorder).await;
}

#[tokio::test]
async fn replayed_entries_are_refused() {
    attack("united-states", Tamper::Replay).await;
    attack("public", Tamper::Replay).await;
}

#[tokio::test]
async fn forged_signatures_are_refused() {
    attack("public", Tamper::ForgeSignature).await;
}

#[tokio::test]
async fn a_removed_member_reads_nothing_after_removal_even_from_a_lying_hub() {
    let mut w = world().await;
    let channel = ChannelName::parse("united-states").unwrap();
    w.mediator
        .send(w.case, &channel, "before removal")
        .await
        .unwrap();
    w.us.sync(w.case).await.unwrap();
    w.mediator
        .remove_from_channel(w.case, &channel, w.us.key())
        .await
        .unwrap();
    w.mediator
        .send(w.case, &channel, "after removal")
        .await
        .unwrap();

    // An honest hub refuses the removed member outright.
    let err =
        w.us.hub_client(w.case)
            .unwrap()
            .entries(w.case, &w.us.hub_channel(w.case, &channel).unwrap(), 0)
            .await
            .unwrap_err();
    assert_eq!(err.code(), "not_member");

    // A hub that ignores membership serves the ciphertext; the rotated keys keep it sealed.
    *w.proxy.tamper.lock().unwrap() = Tamper::IgnoreMembership;
    let _ = w.us.sync(w.case).await;
    let seen = messages(&w.us, w.case, &channel);
    assert!(seen.contains(&"before removal".to_owned()));
    assert!(!seen.contains(&"after removal".to_owned()), "{seen:?}");
}
