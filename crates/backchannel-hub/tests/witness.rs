//! The hub as a witness: on a real hub over loopback, its key (public, and kept across a
//! restart), registering a case, naming who may send heads, and heads agreed and co-signed or
//! refused as a fork or a gap with the witness's signed statement, each refusal changing
//! nothing. Then the witness's storage story, generic over the backend: on SQLite always, and
//! on PostgreSQL when `BACKCHANNEL_TEST_POSTGRES` holds a URL (as `tests/store.rs`), where two
//! backends on one database stand for two hub processes.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Barrier};

use backchannel_core::witness::{
    Cosigned, MAX_WITNESS_HASHES, MAX_WITNESS_KEYS, MAX_WITNESS_SUBMITTERS,
};
use backchannel_core::{CaseId, Digest32, PublicKey};
use backchannel_hub::store::{Backend, Heads, Held, Sqlite, WitnessStore};
use backchannel_hub::{ApiError, Database, Policy};
use common::{Hub, Identity, PgSchema, code, random_case};
use serde_json::{Value, json};

fn h(byte: u8) -> Digest32 {
    Digest32([byte; 32])
}

/// `GET /v1/witness`, unsigned: the key the hub co-signs with.
async fn witness_key(hub: &Hub) -> PublicKey {
    let response = reqwest::get(format!("{}/v1/witness", hub.url()))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    PublicKey::parse(body["key"].as_str().unwrap()).unwrap()
}

fn cosigned(value: &Value) -> Cosigned {
    serde_json::from_value(value.clone()).unwrap()
}

async fn register(hub: &Hub, who: &Identity, case: &CaseId) -> (u16, Value) {
    hub.post(who, &format!("/v1/witness/{case}"), json!({}))
        .await
}

async fn allow(hub: &Hub, who: &Identity, case: &CaseId, keys: &[PublicKey]) -> (u16, Value) {
    hub.post(
        who,
        &format!("/v1/witness/{case}/submitters"),
        json!({ "keys": keys }),
    )
    .await
}

async fn heads(
    hub: &Hub,
    who: &Identity,
    case: &CaseId,
    from: u64,
    hashes: &[Digest32],
) -> (u16, Value) {
    hub.post(
        who,
        &format!("/v1/witness/{case}/heads"),
        json!({ "from": from, "hashes": hashes }),
    )
    .await
}

/// Sends heads that must be agreed; returns the co-signed head, checked against `key`.
async fn agreed(
    hub: &Hub,
    key: &PublicKey,
    who: &Identity,
    case: &CaseId,
    from: u64,
    hashes: &[Digest32],
) -> Cosigned {
    let (status, body) = heads(hub, who, case, from, hashes).await;
    assert_eq!(status, 200, "{body}");
    let head = cosigned(&body);
    assert_eq!(head.case, *case);
    assert!(head.verify(key), "{body}");
    head
}

/// The witness's newest head of `case`, asked for by `who` (sending no hash).
async fn newest(hub: &Hub, key: &PublicKey, who: &Identity, case: &CaseId) -> (u64, Digest32) {
    let head = agreed(hub, key, who, case, 0, &[]).await;
    (head.index, head.hash)
}

#[tokio::test]
async fn the_key_is_public_and_outlives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::Sqlite(dir.path().join("hub.db"));
    let hub = Hub::start_on(&db).await;
    let key = witness_key(&hub).await;
    let mediator = Identity::random();
    let case = random_case();
    let (status, body) = register(&hub, &mediator, &case).await;
    assert_eq!(
        (status, body["key"].as_str()),
        (200, Some(key.to_hex().as_str()))
    );
    agreed(&hub, &key, &mediator, &case, 0, &[h(1), h(2), h(3)]).await;
    hub.local.stop().await.unwrap();

    let hub = Hub::start_on(&db).await;
    assert_eq!(witness_key(&hub).await, key);
    assert_eq!(newest(&hub, &key, &mediator, &case).await, (3, h(3)));
    // Another database, another key.
    assert_ne!(witness_key(&Hub::start().await).await, key);
}

#[tokio::test]
async fn a_case_is_registered_once_by_its_mediator() {
    let hub = Hub::start().await;
    let key = witness_key(&hub).await;
    let (mediator, other) = (Identity::random(), Identity::random());
    // A case hosted on this hub may be witnessed by it too; the two know nothing of each other.
    let hosted = hub.create_case(&mediator).await;
    let elsewhere = random_case();
    for case in [hosted, elsewhere] {
        for _ in 0..2 {
            let (status, body) = register(&hub, &mediator, &case).await;
            assert_eq!(
                (status, body["key"].as_str()),
                (200, Some(key.to_hex().as_str()))
            );
        }
        let (status, body) = register(&hub, &other, &case).await;
        assert_eq!((status, code(&body)), (409, "witness_taken"), "{body}");
        assert_eq!(
            body["error"]["message"],
            "Another key has registered this case with this witness."
        );
    }
    let path = format!("/v1/witness/{}", random_case());
    let (status, body) = hub.post(&mediator, &path, json!({"x": 1})).await;
    assert_eq!((status, code(&body)), (400, "bad_request"));
    let (status, body) = hub.post(&mediator, "/v1/witness/nothex", json!({})).await;
    assert_eq!((status, code(&body)), (400, "bad_request"));
    let unsigned = reqwest::Client::new()
        .post(format!("{}{path}", hub.url()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);
    // Refused, nothing was registered: the case is still free.
    let (status, body) = hub
        .post(
            &mediator,
            &format!("{path}/submitters"),
            json!({"keys": [other.key()]}),
        )
        .await;
    assert_eq!((status, code(&body)), (404, "not_witnessed"));
}

#[tokio::test]
async fn registrations_count_against_the_key_quota() {
    let hub = Hub::start_with_policy(Policy {
        max_cases_per_key: 2,
        ..Policy::default()
    })
    .await;
    let mediator = Identity::random();
    let (first, second, third) = (random_case(), random_case(), random_case());
    assert_eq!(register(&hub, &mediator, &first).await.0, 200);
    assert_eq!(register(&hub, &mediator, &second).await.0, 200);
    let (status, body) = register(&hub, &mediator, &third).await;
    assert_eq!((status, code(&body)), (429, "quota_exceeded"));
    assert_eq!(
        body["error"]["message"],
        "This key has registered 2 cases with this witness, as many as the hub allows one key."
    );
    // At its quota, the key still registers a case it holds again, and another key the third.
    assert_eq!(register(&hub, &mediator, &first).await.0, 200);
    assert_eq!(register(&hub, &Identity::random(), &third).await.0, 200);
}

#[tokio::test]
async fn only_the_mediator_names_who_may_send_heads() {
    let hub = Hub::start().await;
    let (mediator, party, other) = (Identity::random(), Identity::random(), Identity::random());
    let case = random_case();
    let (status, body) = allow(&hub, &mediator, &case, &[party.key()]).await;
    assert_eq!((status, code(&body)), (404, "not_witnessed"));
    assert_eq!(register(&hub, &mediator, &case).await.0, 200);
    let (status, body) = allow(&hub, &party, &case, &[party.key()]).await;
    assert_eq!((status, code(&body)), (403, "forbidden"));

    let (status, body) = allow(&hub, &mediator, &case, &[party.key(), party.key()]).await;
    assert_eq!((status, body), (200, json!({"submitters": 1})));
    let (status, body) = allow(&hub, &mediator, &case, &[party.key(), other.key()]).await;
    assert_eq!((status, body), (200, json!({"submitters": 2})));
    let (status, body) = allow(&hub, &mediator, &case, &[other.key()]).await;
    assert_eq!((status, body), (200, json!({"submitters": 2})));

    for keys in [vec![], vec![party.key(); MAX_WITNESS_KEYS + 1]] {
        let (status, body) = allow(&hub, &mediator, &case, &keys).await;
        assert_eq!((status, code(&body)), (400, "invalid_witness"), "{body}");
    }
    // A body above the small routes' cap is refused whole.
    let many: Vec<PublicKey> = (0..300).map(|_| Identity::random().key()).collect();
    let (status, body) = allow(&hub, &mediator, &case, &many).await;
    assert_eq!((status, code(&body)), (413, "body_too_large"));
    let (status, body) = allow(&hub, &mediator, &case, &[other.key()]).await;
    assert_eq!((status, body), (200, json!({"submitters": 2})));
}

#[tokio::test]
async fn heads_are_appended_and_cosigned() {
    let hub = Hub::start().await;
    let key = witness_key(&hub).await;
    let (mediator, party, stranger) = (Identity::random(), Identity::random(), Identity::random());
    let case = random_case();
    let (status, body) = heads(&hub, &party, &case, 0, &[h(1)]).await;
    assert_eq!((status, code(&body)), (404, "not_witnessed"));
    register(&hub, &mediator, &case).await;
    let (status, body) = heads(&hub, &party, &case, 0, &[h(1)]).await;
    assert_eq!((status, code(&body)), (403, "not_a_submitter"));
    allow(&hub, &mediator, &case, &[party.key()]).await;

    // Holding nothing, the witness states position 0 and the zero hash, signed.
    assert_eq!(newest(&hub, &key, &party, &case).await, (0, Digest32::ZERO));
    let head = agreed(&hub, &key, &party, &case, 0, &[h(1), h(2), h(3)]).await;
    assert_eq!((head.index, head.hash), (3, h(3)));
    // Sending what it holds, or part of it, is agreed with its newest, past what was sent.
    let head = agreed(&hub, &key, &mediator, &case, 1, &[h(2)]).await;
    assert_eq!((head.index, head.hash), (3, h(3)));
    let head = agreed(&hub, &key, &mediator, &case, 2, &[h(3), h(4)]).await;
    assert_eq!((head.index, head.hash), (4, h(4)));
    let head = agreed(&hub, &key, &party, &case, 4, &[h(5)]).await;
    assert_eq!((head.index, head.hash), (5, h(5)));
    assert_eq!(newest(&hub, &key, &mediator, &case).await, (5, h(5)));

    // The signature covers the case, the position and the hash.
    let mut moved = head.clone();
    moved.index = 4;
    assert!(!moved.verify(&key));
    assert!(!head.verify(&stranger.key()));
    let (status, body) = heads(&hub, &stranger, &case, 5, &[h(6)]).await;
    assert_eq!((status, code(&body)), (403, "not_a_submitter"));
    assert_eq!(newest(&hub, &key, &party, &case).await, (5, h(5)));
}

#[tokio::test]
async fn a_differing_hash_is_a_fork_proved_by_the_stored_hash_and_changes_nothing() {
    let hub = Hub::start().await;
    let key = witness_key(&hub).await;
    let (mediator, party) = (Identity::random(), Identity::random());
    let case = random_case();
    register(&hub, &mediator, &case).await;
    allow(&hub, &mediator, &case, &[party.key()]).await;
    agreed(&hub, &key, &mediator, &case, 0, &[h(1), h(2), h(3)]).await;

    // The party's hub showed it another third act, and more after it.
    let (status, body) = heads(&hub, &party, &case, 1, &[h(2), h(33), h(34), h(35)]).await;
    assert_eq!((status, code(&body)), (409, "witness_fork"), "{body}");
    let proof = cosigned(&body["error"]["witnessed"]);
    assert_eq!((proof.case, proof.index, proof.hash), (case, 3, h(3)));
    assert!(proof.verify(&key));
    assert!(body["error"].get("head").is_none());
    assert_eq!(newest(&hub, &key, &party, &case).await, (3, h(3)));

    // At the first position, and with nothing past what is held.
    let (status, body) = heads(&hub, &party, &case, 0, &[h(11)]).await;
    assert_eq!((status, code(&body)), (409, "witness_fork"));
    let proof = cosigned(&body["error"]["witnessed"]);
    assert_eq!((proof.index, proof.hash), (1, h(1)));
    assert!(proof.verify(&key));
    assert_eq!(newest(&hub, &key, &party, &case).await, (3, h(3)));
    agreed(&hub, &key, &party, &case, 3, &[h(4)]).await;
}

#[tokio::test]
async fn a_gap_is_refused_with_the_newest_head() {
    let hub = Hub::start().await;
    let key = witness_key(&hub).await;
    let mediator = Identity::random();
    let case = random_case();
    register(&hub, &mediator, &case).await;
    let (status, body) = heads(&hub, &mediator, &case, 1, &[h(2)]).await;
    assert_eq!((status, code(&body)), (409, "witness_gap"));
    assert!(body["error"].get("witnessed").is_none(), "{body}");
    assert_eq!(
        newest(&hub, &key, &mediator, &case).await,
        (0, Digest32::ZERO)
    );

    agreed(&hub, &key, &mediator, &case, 0, &[h(1), h(2)]).await;
    for from in [3, 10, i64::MAX as u64] {
        let (status, body) = heads(&hub, &mediator, &case, from, &[h(4)]).await;
        assert_eq!((status, code(&body)), (409, "witness_gap"));
        let newest_held = cosigned(&body["error"]["witnessed"]);
        assert_eq!((newest_held.index, newest_held.hash), (2, h(2)));
        assert!(newest_held.verify(&key));
    }
    assert_eq!(newest(&hub, &key, &mediator, &case).await, (2, h(2)));
}

#[tokio::test]
async fn heads_are_bounded() {
    let hub = Hub::start().await;
    let key = witness_key(&hub).await;
    let mediator = Identity::random();
    let case = random_case();
    register(&hub, &mediator, &case).await;
    let hashes: Vec<Digest32> = (0..=MAX_WITNESS_HASHES)
        .map(|index| {
            let mut hash = [0; 32];
            hash[..8].copy_from_slice(&(index as u64).to_be_bytes());
            Digest32(hash)
        })
        .collect();
    // One more than a request may send: its body passes the cap, its length does not.
    let (status, body) = heads(&hub, &mediator, &case, 0, &hashes).await;
    assert_eq!((status, code(&body)), (400, "invalid_witness"), "{body}");
    let (status, body) = heads(&hub, &mediator, &case, i64::MAX as u64 + 1, &[]).await;
    assert_eq!((status, code(&body)), (400, "invalid_witness"), "{body}");
    assert_eq!(
        newest(&hub, &key, &mediator, &case).await,
        (0, Digest32::ZERO)
    );
    // As many as a request may send (about 67 KB of JSON) are taken.
    let head = agreed(
        &hub,
        &key,
        &mediator,
        &case,
        0,
        &hashes[..MAX_WITNESS_HASHES],
    )
    .await;
    assert_eq!(
        (head.index, head.hash),
        (MAX_WITNESS_HASHES as u64, hashes[MAX_WITNESS_HASHES - 1])
    );
}

// --- the storage story, on every backend ----------------------------------------------------

fn story(store: &dyn Backend) {
    let (case, other_case) = (CaseId([1; 16]), CaseId([2; 16]));
    let (mediator, party, stranger) = (
        PublicKey([10; 32]),
        PublicKey([11; 32]),
        PublicKey([12; 32]),
    );

    // The key: the first candidate is kept, and every later call gets it.
    assert_eq!(store.witness_secret(&[7; 32]).unwrap(), [7; 32]);
    assert_eq!(store.witness_secret(&[8; 32]).unwrap(), [7; 32]);

    store.witness_register(&case, &mediator, 1, 2).unwrap();
    store.witness_register(&case, &mediator, 2, 2).unwrap();
    assert!(matches!(
        store.witness_register(&case, &party, 3, 2),
        Err(ApiError::WitnessTaken)
    ));
    store
        .witness_register(&other_case, &mediator, 4, 2)
        .unwrap();
    assert!(matches!(
        store.witness_register(&CaseId([3; 16]), &mediator, 5, 2),
        Err(ApiError::WitnessQuota { max: 2 })
    ));
    assert!(matches!(
        store.witness_allow(&CaseId([3; 16]), &mediator, &[party]),
        Err(ApiError::NotWitnessed)
    ));
    store.witness_register(&case, &mediator, 6, 2).unwrap();

    assert!(matches!(
        store.witness_allow(&case, &party, &[party]),
        Err(ApiError::Forbidden)
    ));
    assert_eq!(
        store
            .witness_allow(&case, &mediator, &[party, party])
            .unwrap(),
        1
    );
    assert_eq!(store.witness_allow(&case, &mediator, &[party]).unwrap(), 1);

    assert!(matches!(
        store.witness_heads(&CaseId([3; 16]), &party, 0, &[h(1)]),
        Err(ApiError::NotWitnessed)
    ));
    assert!(matches!(
        store.witness_heads(&case, &stranger, 0, &[h(1)]),
        Err(ApiError::NotASubmitter)
    ));
    assert!(matches!(
        store.witness_heads(&other_case, &party, 0, &[h(1)]),
        Err(ApiError::NotASubmitter)
    ));
    let held = |index, byte| Held {
        index,
        hash: h(byte),
    };
    assert_eq!(
        store.witness_heads(&case, &party, 0, &[]).unwrap(),
        Heads::Agreed(Held::NONE)
    );
    assert_eq!(
        store.witness_heads(&case, &party, 1, &[h(2)]).unwrap(),
        Heads::Gap(None)
    );
    assert_eq!(
        store
            .witness_heads(&case, &party, 0, &[h(1), h(2)])
            .unwrap(),
        Heads::Agreed(held(2, 2))
    );
    assert_eq!(
        store
            .witness_heads(&case, &mediator, 1, &[h(2), h(3), h(4)])
            .unwrap(),
        Heads::Agreed(held(4, 4))
    );
    assert_eq!(
        store.witness_heads(&case, &party, 0, &[h(1)]).unwrap(),
        Heads::Agreed(held(4, 4))
    );
    assert_eq!(
        store
            .witness_heads(&case, &party, 2, &[h(3), h(9), h(5)])
            .unwrap(),
        Heads::Fork(held(4, 4))
    );
    assert_eq!(
        store.witness_heads(&case, &party, 5, &[h(6)]).unwrap(),
        Heads::Gap(Some(held(4, 4)))
    );
    assert!(matches!(
        store.witness_heads(&case, &party, 0, &vec![h(1); MAX_WITNESS_HASHES + 1]),
        Err(ApiError::InvalidWitness(_))
    ));
    // Nothing refused changed anything; the other case holds nothing.
    assert_eq!(
        store.witness_heads(&case, &party, 4, &[]).unwrap(),
        Heads::Agreed(held(4, 4))
    );
    assert_eq!(
        store.witness_heads(&other_case, &mediator, 0, &[]).unwrap(),
        Heads::Agreed(Held::NONE)
    );

    // A case allows at most `MAX_WITNESS_SUBMITTERS` keys; a refusal adds none of its keys.
    let key = |n: usize| {
        let mut bytes = [0xee; 32];
        bytes[..8].copy_from_slice(&(n as u64).to_be_bytes());
        PublicKey(bytes)
    };
    let batches = (MAX_WITNESS_SUBMITTERS - 1) / MAX_WITNESS_KEYS;
    for batch in 0..batches {
        let keys: Vec<PublicKey> = (0..MAX_WITNESS_KEYS)
            .map(|n| key(batch * MAX_WITNESS_KEYS + n))
            .collect();
        store.witness_allow(&other_case, &mediator, &keys).unwrap();
    }
    let allowed = (batches * MAX_WITNESS_KEYS) as u64;
    let room = MAX_WITNESS_SUBMITTERS - batches * MAX_WITNESS_KEYS;
    let over: Vec<PublicKey> = (0..=room).map(|n| key(1_000_000 + n)).collect();
    assert!(matches!(
        store.witness_allow(&other_case, &mediator, &over),
        Err(ApiError::SubmitterQuota { max }) if max == MAX_WITNESS_SUBMITTERS as u64
    ));
    assert_eq!(
        store
            .witness_allow(&other_case, &mediator, &[key(0)])
            .unwrap(),
        allowed
    );
    assert_eq!(
        store
            .witness_allow(&other_case, &mediator, &over[..room])
            .unwrap(),
        MAX_WITNESS_SUBMITTERS as u64
    );
    assert!(matches!(
        store.witness_allow(&other_case, &mediator, &[over[room]]),
        Err(ApiError::SubmitterQuota { .. })
    ));
    assert_eq!(
        store
            .witness_heads(&other_case, &over[0], 0, &[h(1)])
            .unwrap(),
        Heads::Agreed(held(1, 1))
    );
    assert!(matches!(
        store.witness_heads(&other_case, &over[room], 1, &[]),
        Err(ApiError::NotASubmitter)
    ));
}

#[test]
fn sqlite_witness_story() {
    story(&Sqlite::open_in_memory().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    story(&Sqlite::open(&path).unwrap());
    let reopened = Sqlite::open(&path).unwrap();
    assert_eq!(reopened.witness_secret(&[9; 32]).unwrap(), [7; 32]);
    assert_eq!(
        reopened
            .witness_heads(&CaseId([1; 16]), &PublicKey([11; 32]), 0, &[])
            .unwrap(),
        Heads::Agreed(Held {
            index: 4,
            hash: h(4)
        })
    );
}

#[test]
fn postgres_witness_story_and_reopen() {
    let Some(schema) = PgSchema::new("postgres_witness_story_and_reopen") else {
        return;
    };
    story(&schema.backend());
    let reopened = schema.backend();
    assert_eq!(reopened.witness_secret(&[9; 32]).unwrap(), [7; 32]);
}

/// Two processes on one database: one key between them, and two `heads` requests racing on
/// one position of one case: exactly one is agreed, the other refused with its hash.
#[test]
fn postgres_processes_share_one_key_and_one_line() {
    let Some(schema) = PgSchema::new("postgres_processes_share_one_key_and_one_line") else {
        return;
    };
    let hubs: Vec<Arc<dyn Backend>> = vec![Arc::new(schema.backend()), Arc::new(schema.backend())];
    let barrier = Arc::new(Barrier::new(hubs.len()));
    let secrets: Vec<[u8; 32]> = std::thread::scope(|scope| {
        let racers: Vec<_> = hubs
            .iter()
            .enumerate()
            .map(|(n, hub)| {
                let barrier = Arc::clone(&barrier);
                scope.spawn(move || {
                    barrier.wait();
                    hub.witness_secret(&[n as u8 + 1; 32]).unwrap()
                })
            })
            .collect();
        racers
            .into_iter()
            .map(|racer| racer.join().unwrap())
            .collect()
    });
    assert_eq!(secrets[0], secrets[1]);

    let (case, mediator) = (CaseId([1; 16]), PublicKey([10; 32]));
    hubs[0].witness_register(&case, &mediator, 1, 10).unwrap();
    for round in 0..20u8 {
        let (from, position) = (u64::from(round), u64::from(round) + 1);
        let results: Vec<(Digest32, Heads)> = std::thread::scope(|scope| {
            let racers: Vec<_> = hubs
                .iter()
                .enumerate()
                .map(|(n, hub)| {
                    let barrier = Arc::clone(&barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        let hash = Digest32([round; 32].map(|byte| byte ^ ((n as u8 + 1) << 6)));
                        (
                            hash,
                            hub.witness_heads(&case, &mediator, from, &[hash]).unwrap(),
                        )
                    })
                })
                .collect();
            racers
                .into_iter()
                .map(|racer| racer.join().unwrap())
                .collect()
        });
        let winners: Vec<Digest32> = results
            .iter()
            .filter(|(hash, outcome)| {
                *outcome
                    == Heads::Agreed(Held {
                        index: position,
                        hash: *hash,
                    })
            })
            .map(|(hash, _)| *hash)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        for (hash, outcome) in &results {
            if *hash != winners[0] {
                assert_eq!(
                    *outcome,
                    Heads::Fork(Held {
                        index: position,
                        hash: winners[0]
                    }),
                    "round {round}"
                );
            }
        }
    }
    assert!(matches!(
        hubs[1].witness_heads(&case, &mediator, 0, &[]).unwrap(),
        Heads::Agreed(Held { index: 20, .. })
    ));
}
