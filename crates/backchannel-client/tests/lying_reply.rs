//! A hub whose reply to a post is lost, against a real hub on loopback reached through a
//! lying proxy, with real MLS and real keys. The proxy forwards a post and then answers 500
//! or hangs up instead of passing on the hub's answer, or answers 500 without forwarding it;
//! on the public record and on a bilateral (MLS) channel, by the mediator and by a party,
//! with the next command a `sync` or a `send`, and with the other side sometimes posting
//! first. What must hold: the next command completes the post, or drops it where it never
//! reached the hub and another post took its place; nothing is posted twice; the home is not
//! bricked and opens again as it was left; and both participants' logs verify.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use backchannel_client::Client;
use backchannel_core::{CaseId, ChannelName};

mod common;

use common::{
    channel, consistent, hub_entries, mediator_and_party, messages, once, relay, reopen,
    serve_proxy,
};

// --- a lying proxy in front of the hub -------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Lie {
    Honest,
    /// Forwards the post to the hub, then answers 500 instead of the hub's answer.
    Answer500,
    /// Forwards the post to the hub, then hangs up without the hub's answer.
    HangUp,
    /// Answers 500 without forwarding the post.
    Unsent500,
}

struct Proxy {
    upstream: String,
    http: reqwest::Client,
    /// What to do with the next post of an entry (then honest again).
    next_post: Mutex<Lie>,
}

async fn forward(
    State(proxy): State<Arc<Proxy>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lie = if method == Method::POST && uri.path().ends_with("/entries") {
        std::mem::replace(&mut *proxy.next_post.lock().unwrap(), Lie::Honest)
    } else {
        Lie::Honest
    };
    if lie == Lie::Unsent500 {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let (status, bytes) = relay(&proxy.http, &proxy.upstream, method, &uri, &headers, body).await;
    match lie {
        Lie::Honest | Lie::Unsent500 => (status, bytes).into_response(),
        Lie::Answer500 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Lie::HangUp => Response::new(Body::from_stream(futures_util::stream::once(async {
            Err::<Bytes, _>(std::io::Error::other("the proxy hangs up"))
        }))),
    }
}

struct ProxyWorld {
    dir: tempfile::TempDir,
    _hub: backchannel_hub::LocalHub,
    proxy: Arc<Proxy>,
    case: CaseId,
    mediator: Client,
    us: Client,
}

/// A mediator and one party, both reaching a real hub through the proxy.
async fn proxy_world() -> ProxyWorld {
    let dir = tempfile::tempdir().unwrap();
    let hub = backchannel_hub::spawn_local(&dir.path().join("hub.sqlite"))
        .await
        .unwrap();
    let proxy = Arc::new(Proxy {
        upstream: hub.url.clone(),
        http: reqwest::Client::new(),
        next_post: Mutex::new(Lie::Honest),
    });
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(proxy.clone());
    let url = serve_proxy(app).await;
    let (case, mediator, us, _) = mediator_and_party(dir.path(), &url).await;
    ProxyWorld {
        dir,
        _hub: hub,
        proxy,
        case,
        mediator,
        us,
    }
}

/// One round: `sender` posts through a lying proxy and fails; the hub holds the entry or
/// not as the lie says; the next command through the honest proxy completes the post,
/// unless `overtaken`, where the other participant posts first on that channel and the
/// entry that never reached the hub is dropped. Either way nothing is posted twice, the
/// home is not bricked, and both logs verify.
async fn lost_reply(
    w: &mut ProxyWorld,
    round: usize,
    channel: &ChannelName,
    mediator_sends: bool,
    lie: Lie,
    by_sync: bool,
    overtaken: bool,
) {
    let case = w.case;
    let lost = format!("round {round}: its reply was lost ({lie:?})");
    let next = format!("round {round}: the next one");
    let between = format!("round {round}: the other side spoke first");
    let what = format!("round {round}: {lie:?} on {channel}");
    let held_before = hub_entries(&w.mediator, case, channel).await.len();
    let (sender, other) = if mediator_sends {
        (&mut w.mediator, &mut w.us)
    } else {
        (&mut w.us, &mut w.mediator)
    };

    *w.proxy.next_post.lock().unwrap() = lie;
    let err = sender.send(case, channel, &lost).await.unwrap_err();
    let code = match lie {
        Lie::HangUp => "hub_unreachable",
        _ => "http_error",
    };
    assert_eq!(err.code(), code, "{what}: {err}");
    assert_eq!(*w.proxy.next_post.lock().unwrap(), Lie::Honest);
    let forwarded = lie != Lie::Unsent500;
    assert_eq!(
        hub_entries(other, case, channel).await.len(),
        held_before + usize::from(forwarded),
        "{what}: the hub holds the entry iff it was forwarded"
    );

    if overtaken {
        other.sync(case).await.unwrap();
        other.send(case, channel, &between).await.unwrap();
    }
    if by_sync {
        sender.sync(case).await.unwrap();
    }
    sender.send(case, channel, &next).await.unwrap();
    other.sync(case).await.unwrap();
    sender.sync(case).await.unwrap();

    for client in [&*sender, &*other] {
        let seen = messages(client, case, channel);
        if overtaken && !forwarded {
            assert!(!seen.contains(&lost), "{what}: dropped, never delivered");
            assert!(seen.ends_with(&[between.clone(), next.clone()]), "{what}");
        } else if overtaken {
            assert!(
                seen.ends_with(&[lost.clone(), between.clone(), next.clone()]),
                "{what}: {seen:?}"
            );
        } else {
            assert!(
                seen.ends_with(&[lost.clone(), next.clone()]),
                "{what}: {seen:?}"
            );
        }
        for text in [&next].into_iter().chain(overtaken.then_some(&between)) {
            once(client, case, channel, text);
        }
        if forwarded || !overtaken {
            once(client, case, channel, &lost);
        }
    }
    consistent(case, vec![&mut w.mediator, &mut w.us]).await;
}

#[tokio::test]
async fn a_hub_that_drops_its_reply_to_an_mls_post_bricks_nothing() {
    let mut w = proxy_world().await;
    let us = channel("united-states");
    lost_reply(&mut w, 0, &us, false, Lie::Answer500, false, false).await;
    lost_reply(&mut w, 1, &us, false, Lie::HangUp, true, false).await;
    lost_reply(&mut w, 2, &us, false, Lie::HangUp, false, true).await;
    lost_reply(&mut w, 3, &us, false, Lie::Unsent500, false, false).await;
    lost_reply(&mut w, 4, &us, false, Lie::Unsent500, true, true).await;
    lost_reply(&mut w, 5, &us, true, Lie::HangUp, true, false).await;
    // The home also opens again as it was left.
    w.us = reopen(w.us, w.dir.path());
    w.us.send(w.case, &us, "after all that").await.unwrap();
    w.mediator.sync(w.case).await.unwrap();
    once(&w.mediator, w.case, &us, "after all that");
}

#[tokio::test]
async fn a_hub_that_drops_its_reply_to_a_public_post_bricks_nothing() {
    let mut w = proxy_world().await;
    let public = ChannelName::public();
    lost_reply(&mut w, 0, &public, true, Lie::HangUp, false, false).await;
    lost_reply(&mut w, 1, &public, true, Lie::Answer500, true, false).await;
    lost_reply(&mut w, 2, &public, true, Lie::Answer500, false, true).await;
    lost_reply(&mut w, 3, &public, false, Lie::Unsent500, true, true).await;
    lost_reply(&mut w, 4, &public, false, Lie::HangUp, false, false).await;
}
