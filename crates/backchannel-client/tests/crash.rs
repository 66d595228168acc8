//! Crash safety of the client's store and outbox, against a real hub on loopback with real
//! MLS and real keys: a client stopped between any two steps of a post or of the mediator's
//! multi-step operations (as if the process were killed) and opened again finishes or drops
//! what was under way and posts nothing twice; a hub that drops its reply to a post bricks
//! nothing; a home reads offline; a send costs two requests; an old home migrates; and
//! nothing of a case is readable in a home's files.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use backchannel_client::vault::Vault;
use backchannel_client::{Client, ClientError, InviteRole};
use backchannel_core::api::{Entry, EntryKind, MAX_LIST};
use backchannel_core::procedure::{AgendaProposers, Attribution, Charter};
use backchannel_core::{ActBody, CaseId, ChannelName, PublicKey};

mod common;

use common::{Cast, PASS, channel, new_client};

const OUTBOX_WRITTEN: &str = "post:outbox-written";
const ACCEPTED: &str = "post:accepted";
const ADMITTED: &str = "admit:admitted";
const OPENED: &str = "seat:opened";
const ADDED: &str = "seat:added";

// --- helpers -------------------------------------------------------------------------------

/// Kills a client: drops it as it stands (whatever it held only in memory is lost) and opens
/// its home again.
fn reopen(client: Client, dir: &Path) -> Client {
    let home = dir.join(client.name());
    drop(client);
    Client::open(&home, PASS).unwrap()
}

/// The operation stopped where the fault was injected, and not for another reason.
fn assert_stopped<T: std::fmt::Debug>(result: Result<T, ClientError>, point: &str) {
    let err = result.unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("stopped at {point} (injected)")),
        "expected a stop at {point}, got: {err}"
    );
}

fn messages(client: &Client, case: CaseId, channel: &ChannelName) -> Vec<String> {
    client
        .read(case, Some(channel))
        .unwrap()
        .into_iter()
        .filter(|l| l.kind == "message")
        .map(|l| l.text)
        .collect()
}

/// `text` appears exactly once in `client`'s verified log of `channel`.
fn once(client: &Client, case: CaseId, channel: &ChannelName, text: &str) {
    let seen = messages(client, case, channel);
    let count = seen.iter().filter(|t| *t == text).count();
    assert_eq!(
        count,
        1,
        "{}: {text:?} on {channel}, in {seen:?}",
        client.name()
    );
}

/// Every entry the hub holds on `channel`, read as `client`.
async fn hub_entries(client: &Client, case: CaseId, channel: &ChannelName) -> Vec<Entry> {
    let hub = client.hub_client(case).unwrap();
    let mut all = Vec::new();
    loop {
        let after = all.last().map_or(0, |e: &Entry| e.seq);
        let page = hub.entries(case, channel, after).await.unwrap();
        let count = page.entries.len();
        all.extend(page.entries);
        if count < MAX_LIST {
            return all;
        }
    }
}

/// Every participant syncs, and its stored log verifies and replays to the fold it holds;
/// the first (the mediator, who reads every channel from its start) holds exactly one act
/// for each message entry the hub holds on each channel: nothing was posted twice.
async fn consistent(case: CaseId, clients: Vec<&mut Client>) {
    let mut clients = clients;
    for client in &mut clients {
        client.sync(case).await.unwrap();
    }
    // A second round, so that what one posted while syncing is read by all.
    for client in &mut clients {
        client.sync(case).await.unwrap();
        assert_eq!(
            &client.verify_log(case).unwrap(),
            client.state(case).unwrap(),
            "{}",
            client.name()
        );
    }
    let mediator = &clients[0];
    for channel in mediator.readable_channels(case).unwrap() {
        let entries = hub_entries(mediator, case, &channel).await;
        let held = entries
            .iter()
            .filter(|e| e.kind == EntryKind::Message)
            .count();
        let acts = mediator.read(case, Some(&channel)).unwrap().len();
        assert_eq!(
            held, acts,
            "{channel}: message entries at the hub vs acts held"
        );
    }
}

/// How many acts of `client`'s log satisfy `pred`.
fn count_acts(client: &Client, case: CaseId, pred: impl Fn(&ActBody) -> bool) -> usize {
    client
        .verified_log(case)
        .unwrap()
        .iter()
        .filter(|a| pred(&a.act.body))
        .count()
}

fn members(client: &Client, case: CaseId, channel: &ChannelName) -> Vec<PublicKey> {
    client.state(case).unwrap().channels[channel]
        .members
        .iter()
        .copied()
        .collect()
}

// --- 1. a post stopped between its steps ---------------------------------------------------

/// A party's send on its bilateral channel (an MLS application message), stopped once the
/// outbox holds it and once the hub has accepted it, each recovered by a `sync` and by the
/// next `send`.
#[tokio::test]
async fn a_party_killed_while_sending_on_its_channel_posts_it_once() {
    let mut c = Cast::convene().await;
    let case = c.case;
    let ch = channel("united-states");
    for (round, point, by_sync) in [
        (0, OUTBOX_WRITTEN, true),
        (1, ACCEPTED, true),
        (2, OUTBOX_WRITTEN, false),
        (3, ACCEPTED, false),
    ] {
        let killed = format!("round {round}: said as Washington's process died");
        let after = format!("round {round}: said after the restart");
        let reply = format!("round {round}: the mediator answers");
        c.us.inject_fault(point, 0);
        assert_stopped(c.us.send(case, &ch, &killed).await, point);
        c.us = reopen(c.us, c.dir.path());
        if by_sync {
            c.us.sync(case).await.unwrap();
        }
        c.us.send(case, &ch, &after).await.unwrap();
        c.mediator.sync(case).await.unwrap();
        c.mediator.send(case, &ch, &reply).await.unwrap();
        c.us.sync(case).await.unwrap();
        for client in [&c.us, &c.mediator] {
            let seen = messages(client, case, &ch);
            assert!(
                seen.ends_with(&[killed.clone(), after.clone(), reply.clone()]),
                "round {round} ({point}): {seen:?}"
            );
            for text in [&killed, &after, &reply] {
                once(client, case, &ch, text);
            }
        }
        consistent(
            case,
            vec![&mut c.mediator, &mut c.us, &mut c.iran, &mut c.uae],
        )
        .await;
    }
    assert!(messages(&c.iran, case, &ch).is_empty());
    assert!(messages(&c.uae, case, &ch).is_empty());
}

/// The mediator's public statement, stopped at both points, recovered both ways.
#[tokio::test]
async fn the_mediator_killed_while_sending_on_the_public_record_posts_it_once() {
    let mut c = Cast::convene().await;
    let case = c.case;
    let public = ChannelName::public();
    for (round, point, by_sync) in [
        (0, OUTBOX_WRITTEN, false),
        (1, ACCEPTED, false),
        (2, OUTBOX_WRITTEN, true),
        (3, ACCEPTED, true),
    ] {
        let killed = format!("round {round}: announced as Islamabad's process died");
        let after = format!("round {round}: announced after the restart");
        let reply = format!("round {round}: the observer takes note");
        c.mediator.inject_fault(point, 0);
        assert_stopped(c.mediator.send(case, &public, &killed).await, point);
        c.mediator = reopen(c.mediator, c.dir.path());
        if by_sync {
            c.mediator.sync(case).await.unwrap();
        }
        c.mediator.send(case, &public, &after).await.unwrap();
        c.uae.sync(case).await.unwrap();
        c.uae.send(case, &public, &reply).await.unwrap();
        consistent(
            case,
            vec![&mut c.mediator, &mut c.us, &mut c.iran, &mut c.uae],
        )
        .await;
        for client in [&c.mediator, &c.us, &c.iran, &c.uae] {
            let seen = messages(client, case, &public);
            assert!(
                seen.ends_with(&[killed.clone(), after.clone(), reply.clone()]),
                "round {round} ({point}): {seen:?}"
            );
            for text in [&killed, &after, &reply] {
                once(client, case, &public, text);
            }
        }
    }
}

// --- 1. the mediator's admission of a newcomer stopped between its steps --------------------

/// A new party joins; the mediator's sync that admits and seats it is stopped at `point`
/// (its `hits`-th passage); the mediator is killed and opened again, and its next sync
/// finishes the admission. The newcomer then reads and speaks in its bilateral channel.
/// With `interloper`, another participant posts on the public record while the mediator is
/// down, so that a post its outbox still holds can no longer take its place.
async fn admit_through_a_crash(
    mut c: Cast,
    newcomers: &mut Vec<Client>,
    party: &str,
    point: &'static str,
    hits: u32,
    interloper: bool,
) -> Cast {
    let case = c.case;
    let mut newcomer = new_client(c.dir.path(), party);
    let code = c
        .mediator
        .invite(case, InviteRole::Party(party.into()))
        .await
        .unwrap();
    newcomer.join(&code).await.unwrap();
    let ch = ChannelName::for_party(party).unwrap();

    c.mediator.inject_fault(point, hits);
    assert_stopped(c.mediator.sync(case).await, point);
    c.mediator = reopen(c.mediator, c.dir.path());
    assert_eq!(
        c.mediator.verify_log(case).unwrap(),
        *c.mediator.state(case).unwrap()
    );
    if interloper {
        c.us.send(
            case,
            &ChannelName::public(),
            &format!("Washington speaks while the mediator is down ({party})"),
        )
        .await
        .unwrap();
    }
    c.mediator.sync(case).await.unwrap();

    let what = format!("{party} at {point}#{hits}");
    assert_eq!(
        count_acts(&c.mediator, case, |b| matches!(
            b,
            ActBody::MemberAdmitted { key, .. } if *key == newcomer.key()
        )),
        1,
        "{what}: admitted once"
    );
    assert_eq!(
        count_acts(&c.mediator, case, |b| matches!(
            b,
            ActBody::ChannelOpened { channel, .. } if *channel == ch
        )),
        1,
        "{what}: its channel opened once"
    );
    assert_eq!(
        c.mediator
            .read(case, Some(&ch))
            .unwrap()
            .iter()
            .filter(|l| l.kind == "members_changed")
            .count(),
        1,
        "{what}: its members named once"
    );
    let mut expected = vec![c.mediator.key(), newcomer.key()];
    expected.sort();
    assert_eq!(members(&c.mediator, case, &ch), expected, "{what}");

    newcomer.sync(case).await.unwrap();
    assert!(
        newcomer.readable_channels(case).unwrap().contains(&ch),
        "{what}: the newcomer is seated"
    );
    assert_eq!(members(&newcomer, case, &ch), expected, "{what}");
    let said = format!("{party} speaks after the mediator's restart");
    newcomer.send(case, &ch, &said).await.unwrap();
    c.mediator.sync(case).await.unwrap();
    once(&c.mediator, case, &ch, &said);
    let reply = format!("the mediator welcomes {party}");
    c.mediator.send(case, &ch, &reply).await.unwrap();
    newcomer.sync(case).await.unwrap();
    once(&newcomer, case, &ch, &reply);
    once(&newcomer, case, &ch, &said);

    newcomers.push(newcomer);
    let mut all = vec![&mut c.mediator, &mut c.us, &mut c.iran, &mut c.uae];
    all.extend(newcomers.iter_mut());
    consistent(case, all).await;
    c
}

#[tokio::test]
async fn an_admission_stopped_after_each_step_is_finished_by_the_next_sync() {
    let mut c = Cast::convene().await;
    let mut newcomers = Vec::new();
    for (party, point) in [("Oman", ADMITTED), ("Qatar", OPENED), ("Egypt", ADDED)] {
        c = admit_through_a_crash(c, &mut newcomers, party, point, 0, false).await;
    }
}

#[tokio::test]
async fn an_admission_stopped_before_each_post_leaves_is_finished_by_the_next_sync() {
    let mut c = Cast::convene().await;
    let mut newcomers = Vec::new();
    // The posts of an admission: member_admitted, channel_opened, the add commit,
    // members_changed.
    for (party, hits) in [("Oman", 0), ("Qatar", 1), ("Egypt", 2), ("Turkey", 3)] {
        c = admit_through_a_crash(c, &mut newcomers, party, OUTBOX_WRITTEN, hits, false).await;
    }
}

#[tokio::test]
async fn an_admission_stopped_after_each_post_is_accepted_is_finished_by_the_next_sync() {
    let mut c = Cast::convene().await;
    let mut newcomers = Vec::new();
    for (party, hits) in [("Oman", 0), ("Qatar", 1), ("Egypt", 2), ("Turkey", 3)] {
        c = admit_through_a_crash(c, &mut newcomers, party, ACCEPTED, hits, false).await;
    }
}

/// The admission never left the mediator's outbox, and another participant's post took its
/// place on the public record: the outbox entry is dropped, and the next sync admits the
/// newcomer again from the invite it had already matched.
#[tokio::test]
async fn an_admission_whose_post_lost_its_place_is_made_again() {
    let mut c = Cast::convene().await;
    let mut newcomers = Vec::new();
    for (party, hits) in [("Oman", 0), ("Qatar", 1)] {
        c = admit_through_a_crash(c, &mut newcomers, party, OUTBOX_WRITTEN, hits, true).await;
    }
}

// --- 1. direct talks opened through a crash -------------------------------------------------

fn scenario() -> backchannel_formula::Scenario {
    backchannel_formula::Scenario::from_json_str(include_str!(
        "../../backchannel-formula/scenarios/us-iran.json"
    ))
    .unwrap()
}

/// The seed's cast with the charter in force and the issues defined (as in procedure.rs).
async fn chartered() -> Cast {
    let mut c = Cast::convene().await;
    let charter = Charter {
        agenda_proposers: AgendaProposers::PartiesAndMediator,
        non_papers: true,
        attribution: Attribution::OriginalWithConsent,
        deadlines: vec![],
    };
    c.mediator.propose_charter(c.case, charter).await.unwrap();
    c.us.accept_charter(c.case).await.unwrap();
    c.iran.accept_charter(c.case).await.unwrap();
    c.mediator
        .define_issues(c.case, scenario().issues)
        .await
        .unwrap();
    c.sync_all().await;
    c
}

/// Opening direct talks (channel_opened on the public record, one commit adding both
/// parties, members_changed on the channel) stopped at `point`; the mediator, opened again,
/// runs `open_direct_talks` again and both parties talk.
async fn direct_talks_through_a_crash(point: &'static str, hits: u32) {
    let mut c = chartered().await;
    let case = c.case;
    let direct = channel("direct");
    c.mediator
        .propose_direct_talks(case, &direct)
        .await
        .unwrap();
    c.us.consent_direct_talks(case, &direct).await.unwrap();
    c.iran.consent_direct_talks(case, &direct).await.unwrap();

    c.mediator.inject_fault(point, hits);
    assert_stopped(c.mediator.open_direct_talks(case, &direct).await, point);
    c.mediator = reopen(c.mediator, c.dir.path());
    c.mediator.sync(case).await.unwrap();
    c.mediator.open_direct_talks(case, &direct).await.unwrap();

    let what = format!("{point}#{hits}");
    assert_eq!(
        count_acts(&c.mediator, case, |b| matches!(
            b,
            ActBody::ChannelOpened { channel, .. } if *channel == direct
        )),
        1,
        "{what}: opened once"
    );
    assert_eq!(
        c.mediator
            .read(case, Some(&direct))
            .unwrap()
            .iter()
            .filter(|l| l.kind == "members_changed")
            .count(),
        1,
        "{what}: members named once"
    );
    let mut expected = vec![c.mediator.key(), c.us.key(), c.iran.key()];
    expected.sort();
    assert_eq!(members(&c.mediator, case, &direct), expected, "{what}");

    c.us.sync(case).await.unwrap();
    c.us.send(case, &direct, "Face to face, at last.")
        .await
        .unwrap();
    c.iran.sync(case).await.unwrap();
    c.iran
        .send(case, &direct, "Then let us begin.")
        .await
        .unwrap();
    consistent(
        case,
        vec![&mut c.mediator, &mut c.us, &mut c.iran, &mut c.uae],
    )
    .await;
    for client in [&c.mediator, &c.us, &c.iran] {
        assert_eq!(
            messages(client, case, &direct),
            ["Face to face, at last.", "Then let us begin."],
            "{what}: {}",
            client.name()
        );
    }
    assert!(!c.uae.readable_channels(case).unwrap().contains(&direct));
}

#[tokio::test]
async fn direct_talks_stopped_once_both_parties_are_added_open_when_run_again() {
    direct_talks_through_a_crash(ADDED, 0).await;
}

#[tokio::test]
async fn direct_talks_stopped_after_the_opening_is_accepted_open_when_run_again() {
    direct_talks_through_a_crash(ACCEPTED, 0).await;
}

#[tokio::test]
async fn direct_talks_stopped_after_the_add_commit_is_accepted_open_when_run_again() {
    direct_talks_through_a_crash(ACCEPTED, 1).await;
}

#[tokio::test]
async fn direct_talks_stopped_after_the_members_are_named_open_when_run_again() {
    direct_talks_through_a_crash(ACCEPTED, 2).await;
}

// --- 2. a hub that drops its reply to a post -------------------------------------------------

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
    let path_and_query = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let mut request = proxy
        .http
        .request(method, format!("{}{path_and_query}", proxy.upstream))
        .body(body);
    for name in ["authorization", "content-type"] {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value.as_bytes());
        }
    }
    let response = request.send().await.unwrap();
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    let bytes = response.bytes().await.unwrap();
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(proxy.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut mediator = new_client(dir.path(), "Pakistan");
    let mut us = new_client(dir.path(), "United States");
    let case = mediator.create_case(&url, "Talks").await.unwrap();
    let code = mediator
        .invite(case, InviteRole::Party("United States".into()))
        .await
        .unwrap();
    us.join(&code).await.unwrap();
    mediator.sync(case).await.unwrap();
    us.sync(case).await.unwrap();
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

// --- 3. offline reads ------------------------------------------------------------------------

fn snapshot(client: &Client, case: CaseId) -> Vec<(ChannelName, u64, u64, String)> {
    client
        .read(case, None)
        .unwrap()
        .into_iter()
        .map(|l| (l.channel, l.index, l.seq, l.text))
        .collect()
}

/// With the hub stopped, every participant reads, shows, exports and audits its copy; a send
/// fails as `hub_unreachable` and changes nothing. Working offline by choice does the same
/// while the hub runs. Once the hub is back (on the same address and database) everything
/// goes on.
#[tokio::test]
async fn a_home_reads_offline_and_a_send_without_the_hub_changes_nothing() {
    let mut c = Cast::convene().await;
    let case = c.case;
    let us_ch = channel("united-states");
    let public = ChannelName::public();
    c.mediator
        .send(case, &public, "contacts are under way")
        .await
        .unwrap();
    c.mediator
        .send(case, &us_ch, "what would Washington need to hear?")
        .await
        .unwrap();
    c.us.sync(case).await.unwrap();
    c.us.send(case, &us_ch, "no nuclear weapon, ever")
        .await
        .unwrap();
    for client in [&mut c.mediator, &mut c.us, &mut c.iran, &mut c.uae] {
        client.sync(case).await.unwrap();
    }

    let addr: SocketAddr = c.hub.url.strip_prefix("http://").unwrap().parse().unwrap();
    c.hub.stop().await.unwrap();

    for (client, channel) in [
        (&mut c.mediator, &public),
        (&mut c.us, &us_ch),
        (&mut c.iran, &public),
        (&mut c.uae, &public),
    ] {
        let who = client.name().to_owned();
        assert!(!client.refresh(case).await.unwrap(), "{who}: not fresh");
        let before = snapshot(client, case);
        let state = client.state(case).unwrap().clone();
        assert!(!before.is_empty());
        assert_eq!(client.show(case).unwrap().title, "Talks");
        let exported = serde_json::to_vec(&client.export(case, false).unwrap()).unwrap();
        let (_, public_state) = backchannel_core::record::Record::verify(&exported).unwrap();
        assert_eq!(public_state.title, "Talks");
        assert_eq!(
            client.verified_log(case).unwrap().len(),
            before.len(),
            "{who}"
        );
        assert_eq!(client.verify_log(case).unwrap(), state, "{who}");
        assert!(client.synced_ms(case).unwrap().is_some(), "{who}");

        let err = client
            .send(case, channel, "said while the hub is down")
            .await
            .unwrap_err();
        assert_eq!(err.code(), "hub_unreachable", "{who}: {err}");
        assert_eq!(snapshot(client, case), before, "{who}: nothing changed");
        assert_eq!(client.state(case).unwrap(), &state, "{who}");
    }
    // Nothing waits to be sent either: opened again, the home holds the same.
    c.us = reopen(c.us, c.dir.path());
    assert!(
        !snapshot(&c.us, case)
            .iter()
            .any(|(_, _, _, t)| t.contains("while the hub is down"))
    );

    // The hub comes back on the same address and database.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let config = backchannel_hub::HubConfig {
        listen: addr,
        db: c.db.clone().into(),
    };
    let hub = tokio::spawn(backchannel_hub::serve(config, async move {
        let _ = stopped.await;
    }));
    let mut fresh = false;
    for _ in 0..250 {
        if c.mediator.refresh(case).await.unwrap() {
            fresh = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(fresh, "the hub came back");

    // Working offline by choice: the same, with the hub up.
    c.us.set_offline(true);
    assert!(c.us.is_offline());
    assert!(!c.us.refresh(case).await.unwrap());
    let before = snapshot(&c.us, case);
    let err = c.us.send(case, &us_ch, "said offline").await.unwrap_err();
    assert_eq!(err.code(), "hub_unreachable");
    assert_eq!(snapshot(&c.us, case), before);
    assert_eq!(c.us.verify_log(case).unwrap(), *c.us.state(case).unwrap());
    c.us.set_offline(false);

    assert!(c.us.refresh(case).await.unwrap());
    c.us.send(case, &us_ch, "back on the line").await.unwrap();
    c.mediator
        .send(case, &public, "the hub is back")
        .await
        .unwrap();
    consistent(
        case,
        vec![&mut c.mediator, &mut c.us, &mut c.iran, &mut c.uae],
    )
    .await;
    for client in [&c.mediator, &c.us] {
        once(client, case, &us_ch, "back on the line");
        assert!(
            !messages(client, case, &us_ch)
                .iter()
                .any(|t| t.starts_with("said"))
        );
    }
    for client in [&c.mediator, &c.us, &c.iran, &c.uae] {
        once(client, case, &public, "the hub is back");
    }
    stop.send(()).unwrap();
    hub.await.unwrap().unwrap();
}

// --- 4. round trips --------------------------------------------------------------------------

#[tokio::test]
async fn a_send_in_steady_state_costs_two_requests() {
    let mut c = Cast::convene().await;
    let case = c.case;
    let us_ch = channel("united-states");
    let public = ChannelName::public();
    c.us.sync(case).await.unwrap();
    c.mediator.sync(case).await.unwrap();
    for (mediator_sends, channel) in [
        (false, &us_ch),
        (false, &us_ch),
        (true, &public),
        (true, &us_ch),
        (true, &public),
    ] {
        let client = if mediator_sends {
            &mut c.mediator
        } else {
            &mut c.us
        };
        let before = client.requests_sent();
        client
            .send(case, channel, "one more, at two requests")
            .await
            .unwrap();
        let cost = client.requests_sent() - before;
        assert!(cost <= 2, "{} on {channel}: {cost} requests", client.name());
    }
}

// --- 5. migration of a home of an earlier version --------------------------------------------

/// The whole-state document an earlier version sealed in `state.sealed`, for an observer
/// (it holds no MLS group the public record needs).
fn legacy_document(
    client: &Client,
    case: CaseId,
    hub: &str,
    case_key: [u8; 32],
    mediator: PublicKey,
) -> serde_json::Value {
    let lines = client.read(case, None).unwrap();
    let log: Vec<serde_json::Value> = lines
        .iter()
        .zip(client.verified_log(case).unwrap())
        .map(|(line, act)| serde_json::json!({"seq": line.seq, "act": act.signed}))
        .collect();
    let public_seq = lines
        .iter()
        .filter(|l| l.channel.is_public())
        .map(|l| l.seq)
        .max()
        .unwrap();
    serde_json::json!({
        "mls": [],
        "cases": {
            case.to_hex(): {
                "hub": hub,
                "case_key": case_key,
                "mediator": mediator,
                "cursors": {"public": public_seq},
                "log": log,
                "welcome_cursor": 0,
                "invites": [],
            }
        }
    })
}

fn remove_store(home: &Path) {
    for name in ["store.sqlite", "store.sqlite-wal", "store.sqlite-shm"] {
        let path = home.join(name);
        if path.exists() {
            std::fs::remove_file(path).unwrap();
        }
    }
}

#[tokio::test]
async fn a_home_of_an_earlier_version_is_migrated_and_a_bad_one_is_refused() {
    let mut c = Cast::convene().await;
    let case = c.case;
    let public = ChannelName::public();
    let mut observer = new_client(c.dir.path(), "Qatar");
    let code = c.mediator.invite(case, InviteRole::Observer).await.unwrap();
    observer.join(&code).await.unwrap();
    c.mediator.sync(case).await.unwrap();
    c.mediator
        .send(case, &public, "before the upgrade")
        .await
        .unwrap();
    observer.sync(case).await.unwrap();
    let state = observer.state(case).unwrap().clone();
    let log = observer.verified_log(case).unwrap();
    let lines = snapshot(&observer, case);
    let document = legacy_document(&observer, case, &c.hub.url, code.case_key, c.mediator.key());
    let home = c.dir.path().join("Qatar");
    let legacy = home.join("state.sealed");

    // The old home: the identity and state.sealed, no store.
    drop(observer);
    remove_store(&home);
    let vault = Vault::open(&home, PASS).unwrap();
    vault
        .write_legacy_state(&serde_json::to_vec(&document).unwrap())
        .unwrap();
    drop(vault);

    let mut observer = Client::open(&home, PASS).unwrap();
    assert!(!legacy.exists(), "state.sealed is retired");
    assert_eq!(observer.cases(), [case]);
    assert_eq!(observer.state(case).unwrap(), &state);
    assert_eq!(observer.verified_log(case).unwrap(), log);
    assert_eq!(snapshot(&observer, case), lines);
    assert_eq!(observer.verify_log(case).unwrap(), state);
    c.mediator
        .send(case, &public, "after the upgrade")
        .await
        .unwrap();
    observer.sync(case).await.unwrap();
    once(&observer, case, &public, "before the upgrade");
    once(&observer, case, &public, "after the upgrade");
    assert_eq!(
        observer.verify_log(case).unwrap(),
        *observer.state(case).unwrap()
    );
    let migrated = snapshot(&observer, case);

    // A migration killed after its commit and before the file's removal: the next open
    // removes the file and keeps the store.
    drop(observer);
    let vault = Vault::open(&home, PASS).unwrap();
    vault
        .write_legacy_state(&serde_json::to_vec(&document).unwrap())
        .unwrap();
    drop(vault);
    let observer = Client::open(&home, PASS).unwrap();
    assert!(!legacy.exists());
    assert_eq!(snapshot(&observer, case), migrated);
    drop(observer);

    // A tampered state.sealed stops the open and stays where it is.
    let vault = Vault::open(&home, PASS).unwrap();
    vault
        .write_legacy_state(&serde_json::to_vec(&document).unwrap())
        .unwrap();
    drop(vault);
    let mut bytes = std::fs::read(&legacy).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&legacy, &bytes).unwrap();
    let err = Client::open(&home, PASS).err().unwrap();
    assert_eq!(err.code(), "home_unusable", "{err}");
    assert_eq!(std::fs::read(&legacy).unwrap(), bytes, "left in place");
    // Garbage, too.
    std::fs::write(&legacy, b"this is not a sealed state at all").unwrap();
    let err = Client::open(&home, PASS).err().unwrap();
    assert_eq!(err.code(), "home_unusable", "{err}");
    assert!(legacy.exists());

    // In a home without a store: a sealed document that is not one, or whose log does not
    // verify, is refused and left in place too.
    let fresh = c.dir.path().join("Bahrain");
    Client::create_identity(&fresh, "Bahrain", PASS).unwrap();
    let mut forged = document.clone();
    let act = &mut forged["cases"][case.to_hex()]["log"][1]["act"]["sig"];
    let sig = act.as_str().unwrap().to_owned();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    *act = serde_json::Value::String(format!("{flipped}{}", &sig[1..]));
    for plain in [
        b"{\"cases\": 12}".to_vec(),
        serde_json::to_vec(&forged).unwrap(),
    ] {
        remove_store(&fresh);
        let vault = Vault::open(&fresh, PASS).unwrap();
        vault.write_legacy_state(&plain).unwrap();
        drop(vault);
        let before = std::fs::read(fresh.join("state.sealed")).unwrap();
        let err = Client::open(&fresh, PASS).err().unwrap();
        assert_eq!(err.code(), "home_unusable", "{err}");
        assert_eq!(std::fs::read(fresh.join("state.sealed")).unwrap(), before);
    }
    std::fs::remove_file(fresh.join("state.sealed")).unwrap();
    assert!(Client::open(&fresh, PASS).unwrap().cases().is_empty());
}

// --- 6. files at rest ------------------------------------------------------------------------

/// The seed's cast under a distinctive title (as `Cast::convene`).
async fn convene_titled(title: &str) -> Cast {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.sqlite");
    let hub = backchannel_hub::spawn_local(&db).await.unwrap();
    let mut mediator = new_client(dir.path(), "Pakistan");
    let mut us = new_client(dir.path(), "United States");
    let mut iran = new_client(dir.path(), "Iran");
    let mut uae = new_client(dir.path(), "United Arab Emirates");
    let case = mediator.create_case(&hub.url, title).await.unwrap();
    for (client, role) in [
        (&mut us, InviteRole::Party("United States".into())),
        (&mut iran, InviteRole::Party("Iran".into())),
        (&mut uae, InviteRole::Observer),
    ] {
        let code = mediator.invite(case, role).await.unwrap();
        client.join(&code).await.unwrap();
    }
    mediator.sync(case).await.unwrap();
    let mut cast = Cast {
        dir,
        db,
        hub,
        case,
        mediator,
        us,
        iran,
        uae,
    };
    cast.sync_all().await;
    cast
}

fn encodings(text: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    let bytes = text.as_bytes();
    let mut needles = vec![
        bytes.to_vec(),
        hex::encode(bytes).into_bytes(),
        hex::encode_upper(bytes).into_bytes(),
    ];
    let engine = base64::engine::general_purpose::STANDARD;
    // Base64 of the text at each of the three alignments, without the padded tail.
    for skip in 0..3 {
        let encoded = engine.encode(&bytes[skip..]);
        needles.push(encoded.as_bytes()[..encoded.len() - 4].to_vec());
    }
    needles.push(text.encode_utf16().flat_map(u16::to_le_bytes).collect());
    needles
}

/// Where any of `needles` (each at least 8 bytes) occurs in `haystack`: one pass, each
/// position looked up by its first 8 bytes.
fn find_any<'a>(
    haystack: &[u8],
    needles: &'a [(&'a str, Vec<u8>)],
) -> Option<&'a (&'a str, Vec<u8>)> {
    let prefix = |bytes: &[u8]| u64::from_le_bytes(bytes[..8].try_into().unwrap());
    let mut index: Vec<(u64, usize)> = needles
        .iter()
        .enumerate()
        .map(|(i, (_, needle))| (prefix(needle), i))
        .collect();
    index.sort_unstable();
    for start in 0..haystack.len().saturating_sub(7) {
        let key = prefix(&haystack[start..]);
        let from = index.partition_point(|(k, _)| *k < key);
        for (_, i) in index[from..].iter().take_while(|(k, _)| *k == key) {
            if haystack[start..].starts_with(&needles[*i].1) {
                return Some(&needles[*i]);
            }
        }
    }
    None
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_in(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Scans every file of `homes` for each secret in every encoding; returns how many files.
fn scan(homes: &[PathBuf], secrets: &[&str]) -> usize {
    let needles: Vec<(&str, Vec<u8>)> = secrets
        .iter()
        .flat_map(|secret| encodings(secret).into_iter().map(move |n| (*secret, n)))
        .collect();
    let mut scanned = 0;
    for home in homes {
        for file in files_in(home) {
            let bytes = std::fs::read(&file).unwrap();
            scanned += 1;
            if let Some((secret, needle)) = find_any(&bytes, &needles) {
                panic!(
                    "{secret:?} found in {} as {:?}",
                    file.display(),
                    String::from_utf8_lossy(needle)
                );
            }
        }
    }
    scanned
}

#[tokio::test]
async fn a_homes_files_hold_nothing_readable_and_only_their_owner_reads_them() {
    use std::os::unix::fs::PermissionsExt as _;
    const TITLE: &str = "Quiet Harbour Accord of the Zebra Lighthouse";
    const SECRETS: [&str; 5] = [
        TITLE,
        "Washington would lift the oil embargo by March",
        "Tehran can accept inspections at Fordow quietly",
        "the envoy lands in Muscat on Tuesday night",
        "the mediator announces a quiet pause in hostilities",
    ];
    let mut c = convene_titled(TITLE).await;
    let case = c.case;
    let (us_ch, iran_ch, public) = (
        channel("united-states"),
        channel("iran"),
        ChannelName::public(),
    );
    c.us.send(case, &us_ch, SECRETS[1]).await.unwrap();
    c.iran.send(case, &iran_ch, SECRETS[2]).await.unwrap();
    c.mediator.sync(case).await.unwrap();
    c.mediator.send(case, &us_ch, SECRETS[3]).await.unwrap();
    c.mediator.send(case, &public, SECRETS[4]).await.unwrap();
    c.sync_all().await;
    once(&c.us, case, &us_ch, SECRETS[3]);
    once(&c.uae, case, &public, SECRETS[4]);
    assert_eq!(c.uae.show(case).unwrap().title, TITLE);

    let homes: Vec<PathBuf> = [&c.mediator, &c.us, &c.iran, &c.uae]
        .iter()
        .map(|client| c.dir.path().join(client.name()))
        .collect();
    for home in &homes {
        let mode = std::fs::metadata(home).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", home.display());
        let files = files_in(home);
        assert!(
            files.iter().any(|f| f.ends_with("store.sqlite-wal")),
            "{files:?}"
        );
        for file in files {
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
    }
    // The scan finds what is there: each identity's name is in its identity.json.
    let named = std::fs::read(homes[0].join("identity.json")).unwrap();
    let control = [("Pakistan", b"Pakistan".to_vec())];
    assert!(find_any(&named, &control).is_some());
    // While every client is open (the WAL holds the latest writes) and once all are closed.
    assert!(scan(&homes, &SECRETS) >= 4 * 4);
    let Cast {
        mediator,
        us,
        iran,
        uae,
        ..
    } = c;
    drop((mediator, us, iran, uae));
    assert!(scan(&homes, &SECRETS) >= 4 * 2);
}
