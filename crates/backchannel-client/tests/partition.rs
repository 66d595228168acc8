//! A hub that partitions its participants: a proxy in front of a real hub shows the United
//! States another public record than the mediator's (a fork), or holds back the newest public
//! entries from it (withholding). Each is caught by name within the next exchange on the
//! channel the two share, the proof is kept, and the case stops for the one who caught it,
//! across a restart. Between participants who share no channel (two observers), the case's
//! witness — a second real hub — catches both at the next head sent to it.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use backchannel_client::{Client, InviteRole};
use backchannel_core::api::{Entries, Entry, PostEntry, Posted};
use backchannel_core::auth::RequestAuth;
use backchannel_core::{CaseId, ChannelName, PublicKey};

mod common;

use common::{channel, mediator_and_party, new_client, relay, reopen, serve_proxy};

/// What the proxy does to the victim's view of the public record.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Split {
    Honest,
    /// Serve the victim the public record only up to `from`, and keep the victim's own
    /// public posts for the victim alone, as if they followed it.
    Fork {
        from: u64,
    },
    /// Serve the victim the public record only up to `from`.
    Withhold {
        from: u64,
    },
    /// Once, then honestly: what a reader meets when an entry lands between its reads.
    LagOnce {
        from: u64,
    },
}

struct Proxy {
    upstream: String,
    http: reqwest::Client,
    victim: Mutex<Option<PublicKey>>,
    split: Mutex<Split>,
    /// The victim's public posts on its fork, kept from the real hub.
    fork: Mutex<Vec<Entry>>,
}

fn requester(headers: &HeaderMap) -> Option<PublicKey> {
    let value = headers.get("authorization")?.to_str().ok()?;
    RequestAuth::parse(value).map(|auth| auth.key)
}

async fn forward(
    State(proxy): State<Arc<Proxy>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let split = *proxy.split.lock().unwrap();
    let victim = requester(&headers).is_some_and(|k| Some(k) == *proxy.victim.lock().unwrap());
    let public = path.ends_with("/channels/public/entries");
    if let (true, true, Split::Fork { from }) = (victim && public, method == Method::POST, split) {
        let post: PostEntry = serde_json::from_slice(&body).unwrap();
        let mut fork = proxy.fork.lock().unwrap();
        let seq = from + fork.len() as u64 + 1;
        assert_eq!(post.after, seq - 1, "the victim posts at its fork's head");
        fork.push(Entry {
            seq,
            kind: post.kind,
            author: requester(&headers).unwrap(),
            body: post.body,
            at_ms: 0,
        });
        return (StatusCode::OK, serde_json::to_vec(&Posted { seq }).unwrap()).into_response();
    }
    let (status, bytes) = relay(
        &proxy.http,
        &proxy.upstream,
        method.clone(),
        &uri,
        &headers,
        body,
    )
    .await;
    let cut = match split {
        Split::Fork { from } | Split::Withhold { from } | Split::LagOnce { from } => Some(from),
        Split::Honest => None,
    };
    if victim && public && matches!(split, Split::LagOnce { .. }) {
        *proxy.split.lock().unwrap() = Split::Honest;
    }
    if let (true, Method::GET, true, Some(from)) =
        (victim && public, method, status.is_success(), cut)
    {
        let mut page: Entries = serde_json::from_slice(&bytes).unwrap();
        let after: u64 = uri
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("after=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        page.entries.retain(|e| e.seq <= from);
        page.entries.extend(
            proxy
                .fork
                .lock()
                .unwrap()
                .iter()
                .filter(|e| e.seq > after)
                .cloned(),
        );
        page.head = page.entries.last().map_or(from, |e| e.seq);
        return (status, serde_json::to_vec(&page).unwrap()).into_response();
    }
    (status, bytes).into_response()
}

/// An honest proxy in front of the hub at `upstream`, served on loopback; its URL.
async fn proxy_to(upstream: &str) -> (Arc<Proxy>, String) {
    let proxy = Arc::new(Proxy {
        upstream: upstream.to_owned(),
        http: reqwest::Client::new(),
        victim: Mutex::new(None),
        split: Mutex::new(Split::Honest),
        fork: Mutex::new(Vec::new()),
    });
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(proxy.clone());
    (proxy, serve_proxy(app).await)
}

struct World {
    dir: tempfile::TempDir,
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
    let (proxy, url) = proxy_to(&hub.url).await;
    let (case, mediator, us, _) = mediator_and_party(dir.path(), &url).await;
    *proxy.victim.lock().unwrap() = Some(us.key());
    World {
        dir,
        _hub: hub,
        proxy,
        case,
        mediator,
        us,
    }
}

impl World {
    fn public_len(&self, client: &Client) -> u64 {
        client
            .state(self.case)
            .unwrap()
            .held(&ChannelName::public())
    }

    /// From here on, the United States sees its own public record.
    fn fork(&self) {
        let from = self.public_len(&self.us);
        *self.proxy.split.lock().unwrap() = Split::Fork { from };
    }

    fn withhold(&self) {
        let from = self.public_len(&self.us);
        *self.proxy.split.lock().unwrap() = Split::Withhold { from };
    }
}

fn public() -> ChannelName {
    ChannelName::public()
}

/// The alarm is kept with its proof, stops every sync and post in the case, and outlives a
/// restart.
async fn stopped(client: Client, dir: &std::path::Path, case: CaseId, code: &str) -> Client {
    let alarm = client.alarm(case).unwrap().cloned().unwrap();
    assert_eq!(alarm.code, code);
    assert_eq!(alarm.channel, public());
    assert!(!alarm.evidence.is_empty());
    for signed in &alarm.evidence {
        signed.clone().verify().unwrap();
    }
    let mut client = reopen(client, dir);
    assert_eq!(client.alarm(case).unwrap(), Some(&alarm));
    assert_eq!(client.sync(case).await.unwrap_err().code(), code);
    let err = client
        .send(case, &channel("united-states"), "carry on")
        .await
        .unwrap_err();
    assert_eq!(err.code(), code, "{err}");
    client
}

#[tokio::test]
async fn a_forked_public_record_is_caught_by_the_party_at_the_mediators_next_word() {
    let mut w = world().await;
    w.fork();
    w.mediator
        .send(w.case, &public(), "the mediator's record")
        .await
        .unwrap();
    w.us.send(w.case, &public(), "the party's record")
        .await
        .unwrap();
    // Each believes its own public record; neither has noticed.
    w.us.sync(w.case).await.unwrap();
    w.mediator.sync(w.case).await.unwrap();
    assert_eq!(w.public_len(&w.us), w.public_len(&w.mediator));

    // The mediator's next word in the channel they share carries the head it saw.
    w.mediator
        .send(w.case, &channel("united-states"), "as we agreed")
        .await
        .unwrap();
    let err = w.us.sync(w.case).await.unwrap_err();
    assert_eq!(err.code(), "equivocation", "{err}");
    let message = err.to_string();
    assert!(message.contains("different histories"), "{message}");
    let alarm = w.us.alarm(w.case).unwrap().cloned().unwrap();
    assert_eq!(
        alarm.evidence.len(),
        2,
        "the mediator's act and the party's own"
    );
    let dir = w.dir.path().to_owned();
    stopped(w.us, &dir, w.case, "equivocation").await;
}

#[tokio::test]
async fn a_forked_public_record_is_caught_by_the_mediator_at_the_partys_next_word() {
    let mut w = world().await;
    w.fork();
    w.mediator
        .send(w.case, &public(), "the mediator's record")
        .await
        .unwrap();
    w.us.send(w.case, &public(), "the party's record")
        .await
        .unwrap();
    w.us.send(w.case, &channel("united-states"), "our answer")
        .await
        .unwrap();
    let err = w.mediator.sync(w.case).await.unwrap_err();
    assert_eq!(err.code(), "equivocation", "{err}");
    let dir = w.dir.path().to_owned();
    stopped(w.mediator, &dir, w.case, "equivocation").await;
}

#[tokio::test]
async fn withheld_public_entries_are_caught_at_the_next_word() {
    let mut w = world().await;
    w.withhold();
    w.mediator
        .send(w.case, &public(), "news for everyone")
        .await
        .unwrap();
    // Without a word from anyone who saw it, nothing shows the entry was held back.
    w.us.sync(w.case).await.unwrap();
    w.mediator
        .send(w.case, &channel("united-states"), "did you see the news?")
        .await
        .unwrap();
    let err = w.us.sync(w.case).await.unwrap_err();
    assert_eq!(err.code(), "withheld", "{err}");
    assert!(err.to_string().contains("withholds"), "{err}");
    let dir = w.dir.path().to_owned();
    stopped(w.us, &dir, w.case, "withheld").await;
}

/// The hub knows channels only by opaque ids: a participant learns a channel's name from the
/// public record, before the welcome that seats it there can be taken. A hub that holds the
/// record back and hands over the welcome seats no one: the welcome waits, changing nothing,
/// and is taken once the record names its channel.
#[tokio::test]
async fn a_welcome_waits_for_the_record_to_name_its_channel() {
    let mut w = world().await;
    let case = w.case;
    let mut iran = new_client(w.dir.path(), "Iran");
    let code = w
        .mediator
        .invite(case, InviteRole::Party("Iran".into()))
        .await
        .unwrap();
    iran.join(&code).await.unwrap();
    let seen = w.public_len(&iran);
    *w.proxy.victim.lock().unwrap() = Some(iran.key());
    *w.proxy.split.lock().unwrap() = Split::Withhold { from: seen };

    // Iran is admitted, its channel opened and named, and Iran seated there: its welcome is
    // on the hub, the record that names the channel held back from Iran.
    w.mediator.sync(case).await.unwrap();
    let iran_channel = channel("iran");
    w.mediator
        .send(case, &iran_channel, "welcome to the table")
        .await
        .unwrap();
    iran.sync(case).await.unwrap();
    assert_eq!(w.public_len(&iran), seen);
    assert!(
        !iran
            .readable_channels(case)
            .unwrap()
            .contains(&iran_channel)
    );

    // The record arrives: the welcome is taken, and the channel read from its start.
    *w.proxy.split.lock().unwrap() = Split::Honest;
    iran.sync(case).await.unwrap();
    assert!(
        iran.readable_channels(case)
            .unwrap()
            .contains(&iran_channel)
    );
    common::once(&iran, case, &iran_channel, "welcome to the table");
}

#[tokio::test]
async fn an_entry_landing_between_two_reads_is_not_an_alarm() {
    // The party reads the public record just before the mediator's public post lands, and
    // its channel just after the mediator's next word there: the claim is met by reading the
    // public record again.
    let mut w = world().await;
    w.us.sync(w.case).await.unwrap();
    for round in 0..3 {
        let from = w.public_len(&w.us);
        w.mediator
            .send(w.case, &public(), &format!("public {round}"))
            .await
            .unwrap();
        w.mediator
            .send(
                w.case,
                &channel("united-states"),
                &format!("private {round}"),
            )
            .await
            .unwrap();
        *w.proxy.split.lock().unwrap() = Split::LagOnce { from };
        w.us.sync(w.case).await.unwrap();
        assert!(w.us.alarm(w.case).unwrap().is_none());
        assert_eq!(w.public_len(&w.us), w.public_len(&w.mediator));
    }
}

/// Pakistan convenes a case whose genesis names a witness hub; the UAE and Saudi Arabia
/// observe, sharing no channel with anyone. The proxy splits Saudi Arabia's view.
struct Observed {
    _dir: tempfile::TempDir,
    _hub: backchannel_hub::LocalHub,
    _witness: backchannel_hub::LocalHub,
    proxy: Arc<Proxy>,
    case: CaseId,
    mediator: Client,
    uae: Client,
    saudi: Client,
}

async fn observed() -> Observed {
    let dir = tempfile::tempdir().unwrap();
    let hub = backchannel_hub::spawn_local(&dir.path().join("hub.sqlite"))
        .await
        .unwrap();
    let witness = backchannel_hub::spawn_local(&dir.path().join("witness.sqlite"))
        .await
        .unwrap();
    let (proxy, url) = proxy_to(&hub.url).await;
    let mut mediator = new_client(dir.path(), "Pakistan");
    let mut uae = new_client(dir.path(), "United Arab Emirates");
    let mut saudi = new_client(dir.path(), "Saudi Arabia");
    let case = mediator
        .create_case_with(&url, "Talks", std::slice::from_ref(&witness.url))
        .await
        .unwrap();
    let named = &mediator.state(case).unwrap().witnesses;
    assert_eq!(named.len(), 1);
    assert_eq!(named[0].url, witness.url);
    for client in [&mut uae, &mut saudi] {
        let code = mediator.invite(case, InviteRole::Observer).await.unwrap();
        client.join(&code).await.unwrap();
    }
    mediator.sync(case).await.unwrap();
    uae.sync(case).await.unwrap();
    saudi.sync(case).await.unwrap();
    *proxy.victim.lock().unwrap() = Some(saudi.key());
    Observed {
        _dir: dir,
        _hub: hub,
        _witness: witness,
        proxy,
        case,
        mediator,
        uae,
        saudi,
    }
}

impl Observed {
    fn split(&self, split: fn(u64) -> Split) {
        let from = self.saudi.state(self.case).unwrap().channels[&public()].length;
        *self.proxy.split.lock().unwrap() = split(from);
    }
}

#[tokio::test]
async fn a_fork_between_observers_is_caught_by_the_witness() {
    let mut w = observed().await;
    w.split(|from| Split::Fork { from });
    w.uae
        .send(w.case, &public(), "the UAE's record")
        .await
        .unwrap();
    w.uae.sync(w.case).await.unwrap();
    // Saudi Arabia's own post lands on its fork; the witness holds the UAE's act there.
    let err = w
        .saudi
        .send(w.case, &public(), "Saudi Arabia's record")
        .await
        .and(Ok(()));
    let err = match err {
        Ok(()) => w.saudi.sync(w.case).await.unwrap_err(),
        Err(e) => e,
    };
    assert_eq!(err.code(), "equivocation", "{err}");
    assert!(err.to_string().contains("witness"), "{err}");
    let alarm = w.saudi.alarm(w.case).unwrap().cloned().unwrap();
    let witnessed = alarm.witnessed.clone().unwrap();
    let key = w.mediator.state(w.case).unwrap().witnesses[0].key;
    assert!(witnessed.verify(&key), "the witness's statement is signed");
    assert_eq!(
        alarm.evidence.len(),
        1,
        "Saudi Arabia's own act at that index"
    );
    assert_eq!(
        w.saudi.sync(w.case).await.unwrap_err().code(),
        "equivocation"
    );
    // The UAE, on the true record, carries on.
    w.uae.sync(w.case).await.unwrap();
    assert!(w.uae.alarm(w.case).unwrap().is_none());
}

#[tokio::test]
async fn withheld_entries_are_caught_against_the_witness() {
    let mut w = observed().await;
    w.split(|from| Split::Withhold { from });
    w.mediator.send(w.case, &public(), "news").await.unwrap();
    w.mediator.sync(w.case).await.unwrap();
    let err = w.saudi.sync(w.case).await.unwrap_err();
    assert_eq!(err.code(), "withheld", "{err}");
    assert!(err.to_string().contains("witness"), "{err}");
    let alarm = w.saudi.alarm(w.case).unwrap().cloned().unwrap();
    let key = w.mediator.state(w.case).unwrap().witnesses[0].key;
    assert!(alarm.witnessed.unwrap().verify(&key));
}

#[tokio::test]
async fn honest_observers_agree_with_the_witness_and_share_a_fingerprint() {
    let mut w = observed().await;
    for round in 0..3 {
        w.mediator
            .send(w.case, &public(), &format!("statement {round}"))
            .await
            .unwrap();
        w.uae.sync(w.case).await.unwrap();
        w.saudi.sync(w.case).await.unwrap();
    }
    assert!(w.saudi.alarm(w.case).unwrap().is_none());
    let (a, b) = (
        w.uae.fingerprint(w.case).unwrap(),
        w.saudi.fingerprint(w.case).unwrap(),
    );
    assert_eq!(a, b);
    assert_eq!(a.code.chars().filter(char::is_ascii_digit).count(), 30);
}
