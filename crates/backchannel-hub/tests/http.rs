//! The hub on a real socket with a real SQLite file: cases, invites, membership, the sealed
//! channel's ordering, and the push stream.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use backchannel_core::api::{
    Blob, Channels, Entries, Entry, MAX_INVITE_LIFETIME_MS, MAX_MISSED, Members,
};
use common::{Clock, Hub, IRAN, Identity, PgSchema, code};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

fn message(after: u64, body: &[u8]) -> Value {
    json!({"kind": "message", "after": after, "body": Blob(body.to_vec())})
}

#[tokio::test]
async fn health_over_http() {
    let hub = Hub::start().await;
    let body: Value = reqwest::get(format!("{}/v1/health", hub.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["ok"], true);
}

#[tokio::test]
async fn creating_a_case_makes_the_caller_its_mediator_with_a_sealed_public_channel() {
    let hub = Hub::start().await;
    let mediator = Identity::random();
    let case = hub.create_case(&mediator).await;

    let members: Members = serde_json::from_value(
        hub.ok(
            &mediator,
            Method::GET,
            &format!("/v1/cases/{case}/members"),
            None,
        )
        .await,
    )
    .unwrap();
    assert_eq!(members.members.len(), 1);
    assert_eq!(members.members[0].key, mediator.key());
    // The mediator's name is in the sealed genesis: the hub holds none.
    assert_eq!(
        (&members.members[0].sealed_name, &members.members[0].invite),
        (&None, &None)
    );
    assert_eq!(
        serde_json::to_value(members.members[0].role).unwrap(),
        "mediator"
    );

    let channels: Channels = serde_json::from_value(
        hub.ok(
            &mediator,
            Method::GET,
            &format!("/v1/cases/{case}/channels"),
            None,
        )
        .await,
    )
    .unwrap();
    assert_eq!(channels.channels.len(), 1);
    let public = &channels.channels[0];
    assert_eq!((public.channel.as_str(), public.head), ("public", 0));
    assert_eq!(serde_json::to_value(public.kind).unwrap(), "sealed");
    assert_eq!(public.members, vec![mediator.key()]);

    let (status, body) = hub
        .post(&mediator, "/v1/cases", json!({"case_id": case}))
        .await;
    assert_eq!((status, code(&body)), (409, "case_exists"));
}

#[tokio::test]
async fn an_invite_works_once() {
    let hub = Hub::start().await;
    let mediator = Identity::random();
    let case = hub.create_case(&mediator).await;
    let secret = [5u8; 32];
    let code_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(secret));
    let invites = format!("/v1/cases/{case}/invites");
    let invite = json!({"code_hash": code_hash, "role": "party"});
    let (status, _) = hub.post(&mediator, &invites, invite.clone()).await;
    assert_eq!(status, 201);
    let (status, body) = hub.post(&mediator, &invites, invite).await;
    assert_eq!((status, code(&body)), (409, "invite_exists"));

    let join = common::join_body(&case, &secret);
    let first = Identity::random();
    let (status, member) = hub.post(&first, "/v1/join", join.clone()).await;
    assert_eq!(status, 200, "{member}");
    assert_eq!(member["key"], first.key().to_hex());
    // The hub answers with what it holds: the role, the invite spent and the sealed name as
    // sent; it was told no party and no name.
    assert_eq!(
        (&member["role"], &member["invite"], &member["sealed_name"]),
        (&json!("party"), &json!(code_hash), &join["sealed_name"])
    );
    assert!(member.get("party").is_none() && member.get("name").is_none());

    let second = Identity::random();
    let (status, body) = hub.post(&second, "/v1/join", join).await;
    assert_eq!((status, code(&body)), (409, "invite_used"));
    let (status, body) = hub.get(&second, &format!("/v1/cases/{case}/members")).await;
    assert_eq!((status, code(&body)), (403, "not_member"));

    let wrong = common::join_body(&case, &[6u8; 32]);
    let (status, body) = hub.post(&second, "/v1/join", wrong).await;
    assert_eq!((status, code(&body)), (404, "invite_unknown"));

    // A member cannot spend a second invite.
    let other = hub
        .invite_and_join(&case, &mediator, &Identity::random(), "observer")
        .await;
    assert_eq!(other["role"], "observer");
    let secret = [9u8; 32];
    let code_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(secret));
    hub.ok(
        &mediator,
        Method::POST,
        &invites,
        Some(json!({"code_hash": code_hash, "role": "observer"})),
    )
    .await;
    let again = common::join_body(&case, &secret);
    let (status, body) = hub.post(&first, "/v1/join", again).await;
    assert_eq!((status, code(&body)), (409, "already_member"));

    let members: Members = serde_json::from_value(
        hub.ok(
            &first,
            Method::GET,
            &format!("/v1/cases/{case}/members"),
            None,
        )
        .await,
    )
    .unwrap();
    assert_eq!(members.members.len(), 3);
}

/// A fresh invite secret and its code hash.
fn secret_and_hash() -> ([u8; 32], String) {
    let secret: [u8; 32] = rand::random();
    let code_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(secret));
    (secret, code_hash)
}

#[tokio::test]
async fn an_expired_invite_is_refused_and_changes_nothing() {
    let clock = Clock::new();
    let hub = Hub::start_with_clock(&clock).await;
    let mediator = Identity::random();
    let case = hub.create_case(&mediator).await;
    let invites = format!("/v1/cases/{case}/invites");
    let expires_ms = clock.now() + 60_000;
    let (early, late) = (secret_and_hash(), secret_and_hash());
    for (_, code_hash) in [&early, &late] {
        let invite = json!({"code_hash": code_hash, "role": "observer", "expires_ms": expires_ms});
        let (status, body) = hub.post(&mediator, &invites, invite).await;
        assert_eq!(status, 201, "{body}");
    }

    // Good until the millisecond before it expires.
    clock.advance(59_999);
    let (status, member) = hub
        .post(
            &Identity::random(),
            "/v1/join",
            common::join_body(&case, &early.0),
        )
        .await;
    assert_eq!((status, member["role"].as_str()), (200, Some("observer")));

    clock.advance(1);
    let members = format!("/v1/cases/{case}/members");
    let channels = format!("/v1/cases/{case}/channels");
    let before = (
        hub.ok(&mediator, Method::GET, &members, None).await,
        hub.ok(&mediator, Method::GET, &channels, None).await,
    );
    let latecomer = Identity::random();
    let (status, body) = hub
        .post(&latecomer, "/v1/join", common::join_body(&case, &late.0))
        .await;
    assert_eq!((status, code(&body)), (410, "invite_expired"));
    assert_eq!(body["error"]["message"], "This invite has expired.");
    let after = (
        hub.ok(&mediator, Method::GET, &members, None).await,
        hub.ok(&mediator, Method::GET, &channels, None).await,
    );
    assert_eq!(after, before);
    let (status, body) = hub.get(&latecomer, &members).await;
    assert_eq!((status, code(&body)), (403, "not_member"));
}

#[tokio::test]
async fn an_invite_must_expire_after_the_hubs_clock_and_within_a_year() {
    let clock = Clock::new();
    let hub = Hub::start_with_clock(&clock).await;
    let mediator = Identity::random();
    let case = hub.create_case(&mediator).await;
    let invites = format!("/v1/cases/{case}/invites");
    let now = clock.now();
    for expires_ms in [0, now - 1, now, now + MAX_INVITE_LIFETIME_MS + 1] {
        let (secret, code_hash) = secret_and_hash();
        let invite = json!({"code_hash": code_hash, "role": "observer", "expires_ms": expires_ms});
        let (status, body) = hub.post(&mediator, &invites, invite).await;
        assert_eq!(
            (status, code(&body)),
            (400, "invalid_invite"),
            "{expires_ms}"
        );
        // Nothing was stored.
        let (status, body) = hub
            .post(
                &Identity::random(),
                "/v1/join",
                common::join_body(&case, &secret),
            )
            .await;
        assert_eq!((status, code(&body)), (404, "invite_unknown"));
    }
    let (_, code_hash) = secret_and_hash();
    let invite = json!({
        "code_hash": code_hash, "role": "observer", "expires_ms": now + MAX_INVITE_LIFETIME_MS
    });
    let (status, body) = hub.post(&mediator, &invites, invite).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_revoked_invite_is_refused_and_only_the_mediator_revokes() {
    let clock = Clock::new();
    let hub = Hub::start_with_clock(&clock).await;
    let mediator = Identity::random();
    let party = Identity::random();
    let outsider = Identity::random();
    let case = hub.create_case(&mediator).await;
    hub.invite_and_join(&case, &mediator, &party, "party").await;
    let (secret, code_hash) = secret_and_hash();
    hub.ok(
        &mediator,
        Method::POST,
        &format!("/v1/cases/{case}/invites"),
        Some(json!({"code_hash": code_hash, "role": "observer"})),
    )
    .await;

    let revoke = format!("/v1/cases/{case}/invites/revoke");
    let body = json!({"code_hash": code_hash});
    let (status, answer) = hub.post(&party, &revoke, body.clone()).await;
    assert_eq!((status, code(&answer)), (403, "forbidden"));
    let (status, answer) = hub.post(&outsider, &revoke, body.clone()).await;
    assert_eq!((status, code(&answer)), (403, "not_member"));
    let other = common::random_case();
    let (status, answer) = hub
        .post(
            &mediator,
            &format!("/v1/cases/{other}/invites/revoke"),
            body.clone(),
        )
        .await;
    assert_eq!((status, code(&answer)), (404, "case_not_found"));
    let (status, answer) = hub
        .post(&mediator, &revoke, json!({"code_hash": "ef".repeat(32)}))
        .await;
    assert_eq!((status, code(&answer)), (404, "invite_unknown"));
    for malformed in ["abc".to_owned(), code_hash.to_uppercase()] {
        let (status, answer) = hub
            .post(&mediator, &revoke, json!({"code_hash": malformed}))
            .await;
        assert_eq!(
            (status, code(&answer)),
            (400, "invalid_invite"),
            "{malformed}"
        );
    }

    // Revoking twice succeeds, with the time of the first.
    let first = clock.now();
    let (status, answer) = hub.post(&mediator, &revoke, body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"code_hash": code_hash, "revoked_ms": first}));
    clock.advance(1_000);
    let (status, answer) = hub.post(&mediator, &revoke, body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"code_hash": code_hash, "revoked_ms": first}));

    let members = format!("/v1/cases/{case}/members");
    let before = hub.ok(&mediator, Method::GET, &members, None).await;
    let (status, answer) = hub
        .post(&outsider, "/v1/join", common::join_body(&case, &secret))
        .await;
    assert_eq!((status, code(&answer)), (410, "invite_revoked"));
    assert_eq!(
        answer["error"]["message"],
        "This invite has been revoked by the mediator."
    );
    assert_eq!(hub.ok(&mediator, Method::GET, &members, None).await, before);
    let (status, answer) = hub.get(&outsider, &members).await;
    assert_eq!((status, code(&answer)), (403, "not_member"));
}

#[tokio::test]
async fn revoking_a_spent_invite_is_invite_used() {
    let hub = Hub::start().await;
    let mediator = Identity::random();
    let case = hub.create_case(&mediator).await;
    let (secret, code_hash) = secret_and_hash();
    hub.ok(
        &mediator,
        Method::POST,
        &format!("/v1/cases/{case}/invites"),
        Some(json!({"code_hash": code_hash, "role": "observer"})),
    )
    .await;
    let observer = Identity::random();
    hub.ok(
        &observer,
        Method::POST,
        "/v1/join",
        Some(common::join_body(&case, &secret)),
    )
    .await;
    let (status, answer) = hub
        .post(
            &mediator,
            &format!("/v1/cases/{case}/invites/revoke"),
            json!({"code_hash": code_hash}),
        )
        .await;
    assert_eq!((status, code(&answer)), (409, "invite_used"));
    // The member stays one.
    let members: Members = serde_json::from_value(
        hub.ok(
            &observer,
            Method::GET,
            &format!("/v1/cases/{case}/members"),
            None,
        )
        .await,
    )
    .unwrap();
    assert_eq!(members.members.len(), 2);
}

#[tokio::test]
async fn only_the_mediator_invites_and_creates_channels() {
    let hub = Hub::start().await;
    let mediator = Identity::random();
    let party = Identity::random();
    let case = hub.create_case(&mediator).await;
    hub.invite_and_join(&case, &mediator, &party, "party").await;

    let invite = json!({"code_hash": "cd".repeat(32), "role": "observer"});
    let (status, body) = hub
        .post(&party, &format!("/v1/cases/{case}/invites"), invite)
        .await;
    assert_eq!((status, code(&body)), (403, "forbidden"));
    let (status, body) = hub
        .post(
            &party,
            &format!("/v1/cases/{case}/channels"),
            json!({"channel": IRAN}),
        )
        .await;
    assert_eq!((status, code(&body)), (403, "forbidden"));

    let channels = format!("/v1/cases/{case}/channels");
    // A channel is known to the hub by an opaque id only: a name in clear is refused, and
    // creates nothing.
    for clear in ["iran", "united-states", "IRAN0123456789ABCDEF0123456789AB"] {
        let (status, body) = hub
            .post(&mediator, &channels, json!({"channel": clear}))
            .await;
        assert_eq!((status, code(&body)), (400, "bad_request"), "{clear}");
    }
    let (status, info) = hub
        .post(&mediator, &channels, json!({"channel": IRAN}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        info,
        json!({"channel": IRAN, "kind": "mls", "members": [mediator.key()], "head": 0})
    );
    let (status, body) = hub
        .post(&mediator, &channels, json!({"channel": IRAN}))
        .await;
    assert_eq!((status, code(&body)), (409, "channel_exists"));
    let (status, body) = hub
        .post(&mediator, &channels, json!({"channel": "public"}))
        .await;
    assert_eq!((status, code(&body)), (409, "channel_exists"));

    // The party is not (yet) a member of the new channel: it sees only `public`.
    let listed: Channels =
        serde_json::from_value(hub.ok(&party, Method::GET, &channels, None).await).unwrap();
    let names: Vec<_> = listed.channels.iter().map(|c| c.channel.as_str()).collect();
    assert_eq!(names, ["public"]);
    assert_eq!(
        listed.channels[0].members,
        vec![mediator.key(), party.key()]
    );
}

#[tokio::test]
async fn non_members_can_neither_read_nor_post() {
    let hub = Hub::start().await;
    let mediator = Identity::random();
    let party = Identity::random();
    let outsider = Identity::random();
    let case = hub.create_case(&mediator).await;
    hub.invite_and_join(&case, &mediator, &party, "party").await;
    hub.ok(
        &mediator,
        Method::POST,
        &format!("/v1/cases/{case}/channels"),
        Some(json!({"channel": IRAN})),
    )
    .await;

    let iran = format!("/v1/cases/{case}/channels/{IRAN}/entries");
    let public = format!("/v1/cases/{case}/channels/public/entries");
    for (who, path) in [(&party, &iran), (&outsider, &iran), (&outsider, &public)] {
        let (status, body) = hub.get(who, path).await;
        assert_eq!((status, code(&body)), (403, "not_member"), "GET {path}");
        let (status, body) = hub.post(who, path, message(0, b"sealed bytes")).await;
        assert_eq!((status, code(&body)), (403, "not_member"), "POST {path}");
    }
    let (status, body) = hub
        .get(&outsider, &format!("/v1/cases/{case}/channels"))
        .await;
    assert_eq!((status, code(&body)), (403, "not_member"));
    let entries: Entries =
        serde_json::from_value(hub.ok(&mediator, Method::GET, &iran, None).await).unwrap();
    assert_eq!((entries.entries.len(), entries.head), (0, 0));
}

#[tokio::test]
async fn the_sealed_channel_is_one_line() {
    let hub = Hub::start().await;
    let mediator = Identity::random();
    let party = Identity::random();
    let case = hub.create_case(&mediator).await;
    hub.invite_and_join(&case, &mediator, &party, "party").await;
    let public = format!("/v1/cases/{case}/channels/public/entries");

    let (status, posted) = hub.post(&mediator, &public, message(0, b"one")).await;
    assert_eq!((status, posted["seq"].as_u64()), (201, Some(1)));
    // The party has not seen entry 1: its post is refused, with the head to catch up from.
    let (status, body) = hub.post(&party, &public, message(0, b"two")).await;
    assert_eq!(
        (status, code(&body), body["error"]["head"].as_u64()),
        (409, "stale_head", Some(1))
    );
    let (status, body) = hub.post(&party, &public, message(7, b"two")).await;
    assert_eq!((status, code(&body)), (409, "stale_head"));
    let (status, posted) = hub.post(&party, &public, message(1, b"two")).await;
    assert_eq!((status, posted["seq"].as_u64()), (201, Some(2)));

    // The sealed channel takes messages only, and no membership changes.
    let commit = json!({"kind": "commit", "after": 2, "body": Blob(b"x".to_vec())});
    let (status, body) = hub.post(&mediator, &public, commit).await;
    assert_eq!((status, code(&body)), (400, "invalid_entry"));
    let adding =
        json!({"kind": "message", "after": 2, "body": Blob(b"x".to_vec()), "add": [party.key()]});
    let (status, body) = hub.post(&mediator, &public, adding).await;
    assert_eq!((status, code(&body)), (400, "invalid_entry"));

    let entries: Entries =
        serde_json::from_value(hub.ok(&party, Method::GET, &public, None).await).unwrap();
    assert_eq!(entries.head, 2);
    let seen: Vec<_> = entries
        .entries
        .iter()
        .map(|e| (e.seq, e.author, e.body.0.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (1, mediator.key(), b"one".to_vec()),
            (2, party.key(), b"two".to_vec())
        ]
    );

    let page: Entries = serde_json::from_value(
        hub.ok(
            &party,
            Method::GET,
            &format!("{public}?after=1&limit=1"),
            None,
        )
        .await,
    )
    .unwrap();
    assert_eq!(page.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [2]);
    let page: Entries = serde_json::from_value(
        hub.ok(&party, Method::GET, &format!("{public}?limit=1"), None)
            .await,
    )
    .unwrap();
    assert_eq!(
        (page.entries.len(), page.entries[0].seq, page.head),
        (1, 1, 2)
    );
}

#[tokio::test]
async fn the_stream_pushes_notices_to_channel_members() {
    let hub = Hub::start().await;
    let mediator = Identity::random();
    let party = Identity::random();
    let outsider = Identity::random();
    let case = hub.create_case(&mediator).await;
    hub.invite_and_join(&case, &mediator, &party, "party").await;

    assert!(
        common::open_stream(hub.url(), &outsider, &case)
            .await
            .is_err(),
        "an outsider must not open a stream"
    );
    let mut stream = common::open_stream(hub.url(), &mediator, &case)
        .await
        .unwrap();

    hub.ok(
        &party,
        Method::POST,
        &format!("/v1/cases/{case}/channels/public/entries"),
        Some(message(0, b"hi")),
    )
    .await;
    let frame = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let notice: Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
    assert_eq!(notice, json!({"channel": "public", "seq": 1}));
}

#[tokio::test]
async fn stopping_the_hub_stops_serving() {
    let hub = Hub::start().await;
    let url = hub.url().to_owned();
    let Hub { local, dir, .. } = hub;
    local.stop().await.unwrap();
    assert!(reqwest::get(format!("{url}/v1/health")).await.is_err());
    // The database survives and a new hub serves it.
    let again = backchannel_hub::spawn_local(&dir.path().join("hub.db"))
        .await
        .unwrap();
    assert!(
        reqwest::get(format!("{}/v1/health", again.url))
            .await
            .unwrap()
            .status()
            .is_success()
    );
}

#[tokio::test]
async fn streams_are_bounded_and_end_when_the_hub_stops() {
    let dir = tempfile::tempdir().unwrap();
    let store = backchannel_hub::store::Sqlite::open(&dir.path().join("hub.db")).unwrap();
    let state = backchannel_hub::AppState::new(std::sync::Arc::new(store)).with_max_streams(3, 2);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, backchannel_hub::app(state))
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });

    let mediator = Identity::random();
    let case = common::random_case();
    let client = reqwest::Client::new();
    let body = serde_json::to_vec(&json!({"case_id": case})).unwrap();
    let header = mediator.header("POST", "/v1/cases", &body, backchannel_hub::now_ms());
    let created = client
        .post(format!("http://{address}/v1/cases"))
        .header("authorization", header)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    let base = format!("http://{address}");
    let refused =
        |attempt: Result<_, tokio_tungstenite::tungstenite::Error>, status: u16| match attempt {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), status)
            }
            Ok(_) => panic!("a stream beyond the bound must be refused"),
            Err(other) => panic!("refused with {other:?}"),
        };
    // One key holds its share (2) and no more; others still find room, up to the hub's 3.
    let mut stream = common::open_stream(&base, &mediator, &case).await.unwrap();
    let _second = common::open_stream(&base, &mediator, &case).await.unwrap();
    refused(common::open_stream(&base, &mediator, &case).await, 429);
    let other = Identity::random();
    let other_case = common::random_case();
    let body = serde_json::to_vec(&json!({"case_id": other_case})).unwrap();
    let header = other.header("POST", "/v1/cases", &body, backchannel_hub::now_ms());
    let created = client
        .post(format!("http://{address}/v1/cases"))
        .header("authorization", header)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let _third = common::open_stream(&base, &other, &other_case)
        .await
        .unwrap();
    refused(common::open_stream(&base, &other, &other_case).await, 503);

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    // With the hub stopped, the open stream ends rather than hanging on.
    let end = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap();
    assert!(matches!(
        end,
        None | Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) | Some(Err(_))
    ));
}

/// A post naming a head beyond what the store can hold is refused, and changes nothing.
#[tokio::test]
async fn a_post_after_a_position_beyond_2_63_is_refused() {
    let hub = Hub::start().await;
    let mediator = Identity::random();
    let case = hub.create_case(&mediator).await;
    let public = format!("/v1/cases/{case}/channels/public/entries");
    let (status, body) = hub.post(&mediator, &public, message(1 << 63, b"x")).await;
    assert_eq!((status, code(&body)), (400, "invalid_cursor"));
    let (status, body) = hub.post(&mediator, &public, message(0, b"x")).await;
    assert_eq!((status, body["seq"].as_u64()), (201, Some(1)), "{body}");
}

#[tokio::test]
async fn of_concurrent_posts_after_one_head_exactly_one_is_accepted() {
    let hub = std::sync::Arc::new(Hub::start().await);
    let mediator = std::sync::Arc::new(Identity::random());
    let case = hub.create_case(&mediator).await;
    let public = format!("/v1/cases/{case}/channels/public/entries");
    let posts: Vec<_> = (0..8u8)
        .map(|i| {
            let (hub, mediator, public) = (hub.clone(), mediator.clone(), public.clone());
            tokio::spawn(async move { hub.post(&mediator, &public, message(0, &[i])).await })
        })
        .collect();
    let mut statuses = Vec::new();
    let mut refusals = Vec::new();
    for post in posts {
        let (status, body) = post.await.unwrap();
        statuses.push(status);
        if status == 409 {
            assert_eq!(
                (code(&body), body["error"]["head"].as_u64()),
                ("stale_head", Some(1))
            );
            refusals.push(body);
        }
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
    let entries: Entries =
        serde_json::from_value(hub.ok(&mediator, Method::GET, &public, None).await).unwrap();
    assert_eq!((entries.entries.len(), entries.head), (1, 1));
    // Each refusal hands over what its sender missed: the accepted entry, as a read gives it.
    for refusal in refusals {
        let missed: Vec<Entry> =
            serde_json::from_value(refusal["error"]["missed"].clone()).unwrap();
        assert_eq!(missed, entries.entries);
    }
}

#[tokio::test]
async fn a_stale_post_carries_at_most_a_page_of_what_was_missed() {
    let hub = Hub::start().await;
    let mediator = Identity::random();
    let case = hub.create_case(&mediator).await;
    let public = format!("/v1/cases/{case}/channels/public/entries");
    let total = MAX_MISSED as u64 + 4;
    for after in 0..total {
        let (status, _) = hub.post(&mediator, &public, message(after, b"x")).await;
        assert_eq!(status, 201);
    }
    let (status, body) = hub.post(&mediator, &public, message(2, b"late")).await;
    assert_eq!((status, code(&body)), (409, "stale_head"));
    let missed: Vec<Entry> = serde_json::from_value(body["error"]["missed"].clone()).unwrap();
    let seqs: Vec<u64> = missed.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (3..3 + MAX_MISSED as u64).collect::<Vec<_>>());
    // A refusal of another kind carries nothing.
    let (status, body) = hub
        .post(&mediator, &public, message(total + 5, b"ahead"))
        .await;
    assert_eq!((status, code(&body)), (409, "stale_head"));
    assert!(body["error"].get("missed").is_none());
}

/// Two hubs on one PostgreSQL database, as two processes behind a load balancer: a case made
/// on one is served by the other, a channel stays one line whichever hub takes each post, and
/// a signed request replayed to the other hub is refused.
#[tokio::test]
async fn two_hubs_on_one_postgres_database_are_one_hub() {
    let name = "two_hubs_on_one_postgres_database_are_one_hub";
    let Some(schema) = tokio::task::spawn_blocking(|| PgSchema::new(name))
        .await
        .unwrap()
    else {
        return;
    };
    let db = backchannel_hub::Database::Postgres(schema.url());
    let hubs = [Hub::start_on(&db).await, Hub::start_on(&db).await];
    let hubs = std::sync::Arc::new(hubs);
    let mediator = std::sync::Arc::new(Identity::random());
    let party = Identity::random();
    let case = hubs[0].create_case(&mediator).await;
    hubs[1]
        .invite_and_join(&case, &mediator, &party, "party")
        .await;
    let members: Members = serde_json::from_value(
        hubs[0]
            .ok(
                &party,
                Method::GET,
                &format!("/v1/cases/{case}/members"),
                None,
            )
            .await,
    )
    .unwrap();
    assert_eq!(members.members.len(), 2);

    let public = format!("/v1/cases/{case}/channels/public/entries");
    let posts: Vec<_> = (0..8u8)
        .map(|i| {
            let (hubs, mediator, public) = (hubs.clone(), mediator.clone(), public.clone());
            tokio::spawn(async move {
                hubs[usize::from(i % 2)]
                    .post(&mediator, &public, message(0, &[i]))
                    .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for post in posts {
        statuses.push(post.await.unwrap().0);
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
    let (status, posted) = hubs[1].post(&party, &public, message(1, b"two")).await;
    assert_eq!((status, posted["seq"].as_u64()), (201, Some(2)));
    let entries: Entries =
        serde_json::from_value(hubs[0].ok(&party, Method::GET, &public, None).await).unwrap();
    assert_eq!((entries.entries.len(), entries.head), (2, 2));

    let path = format!("/v1/cases/{case}/members");
    let header = party.header("GET", &path, b"", backchannel_hub::now_ms());
    let http = reqwest::Client::new();
    let mut replies = vec![];
    for hub in hubs.iter() {
        let response = http
            .get(format!("{}{path}", hub.url()))
            .header("authorization", header.clone())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        replies.push((status, code(&body).to_owned()));
    }
    assert_eq!(replies[0].0, 200);
    assert_eq!(replies[1], (401, "auth_replayed".to_owned()));
}

/// A case holds at most its share of the hub's streams, and a stream that stays silent (a
/// client that never answers the hub's pings) is closed, while one that answers stays open.
#[tokio::test]
async fn a_case_holds_its_share_of_streams_and_silent_ones_are_closed() {
    let hub = Hub::start_with_state(|state| {
        state
            .with_max_streams_per_case(2)
            .with_stream_idle(Duration::from_millis(150), Duration::from_millis(500))
    })
    .await;
    let (mediator, party) = (Identity::random(), Identity::random());
    let case = hub.create_case(&mediator).await;
    hub.invite_and_join(&case, &mediator, &party, "party").await;
    let mut answering = common::open_stream(hub.url(), &mediator, &case)
        .await
        .unwrap();
    let mut silent = common::open_stream(hub.url(), &party, &case).await.unwrap();
    match common::open_stream(hub.url(), &party, &case).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
            assert_eq!(code(&body), "quota_exceeded");
        }
        other => panic!("a third stream on the case must be refused: {other:?}"),
    }

    // One client reads (and so answers pings) for over a second; the other reads nothing.
    let reading = tokio::spawn(async move {
        let until = tokio::time::Instant::now() + Duration::from_millis(1200);
        while let Ok(frame) = tokio::time::timeout_at(until, answering.next()).await {
            match frame {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Ping(_))) => {}
                other => panic!("an answering stream was ended: {other:?}"),
            }
        }
        answering
    });
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut answering = reading.await.unwrap();
    let mut closed = false;
    while let Ok(Some(frame)) = tokio::time::timeout(Duration::from_secs(2), silent.next()).await {
        if matches!(
            frame,
            Ok(tokio_tungstenite::tungstenite::Message::Close(_)) | Err(_)
        ) {
            closed = true;
            break;
        }
    }
    assert!(closed, "a silent stream stayed open");
    // The stream that answered still carries notices.
    let public = format!("/v1/cases/{case}/channels/public/entries");
    hub.ok(&party, Method::POST, &public, Some(message(0, b"hi")))
        .await;
    let notice = loop {
        match tokio::time::timeout(Duration::from_secs(5), answering.next())
            .await
            .unwrap()
        {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) => break text,
            Some(Ok(_)) => continue,
            other => panic!("{other:?}"),
        }
    };
    assert!(notice.contains("public"), "{notice}");
}
