//! Who may use the hub, against a real hub on loopback: only listed keys convene when the hub
//! has a list of mediators; quotas on cases per key and invites per case, whose refusals
//! change nothing; key packages kept only for the key that made them.
#![allow(clippy::unwrap_used)]

mod common;

use backchannel_core::api::Blob;
use backchannel_hub::Policy;
use common::{Hub, Identity, code, key_package, random_case};
use openmls::prelude::{BasicCredential, CredentialWithKey, KeyPackageIn};
use reqwest::Method;
use serde_json::{Value, json};
use tls_codec::Deserialize as _;

fn new_case() -> Value {
    json!({"case_id": random_case()})
}

fn observer_invite() -> Value {
    let secret: [u8; 32] = rand::random();
    json!({
        "code_hash": hex::encode(<sha2::Sha256 as sha2::Digest>::digest(secret)),
        "role": "observer",
    })
}

fn packages(blobs: &[&[u8]]) -> Value {
    json!({"key_packages": blobs.iter().map(|b| Blob(b.to_vec())).collect::<Vec<_>>()})
}

#[tokio::test]
async fn only_the_listed_mediators_convene_and_anyone_else_still_joins() {
    let (listed, stranger) = (Identity::random(), Identity::random());
    let hub = Hub::start_with_policy(Policy::mediators([listed.key()])).await;

    let (status, answer) = hub.post(&stranger, "/v1/cases", new_case()).await;
    assert_eq!((status, code(&answer)), (403, "not_a_mediator"), "{answer}");
    assert_eq!(
        answer["error"]["message"],
        "Only the keys on this hub's list of mediators may convene a case."
    );
    assert_eq!(hub.stats().cases, 0);

    let case = hub.create_case(&listed).await;
    assert_eq!(hub.stats().cases, 1);
    // The list says who convenes, not who takes part: the stranger joins when invited, and
    // keeps key packages on the hub.
    let member = hub
        .invite_and_join(&case, &listed, &stranger, "party")
        .await;
    assert_eq!(member["role"], "party");
    let stored = hub
        .ok(
            &stranger,
            Method::POST,
            "/v1/key-packages",
            Some(packages(&[&stranger.key_package()])),
        )
        .await;
    assert_eq!(stored["available"], 1);
    let (status, answer) = hub.post(&stranger, "/v1/cases", new_case()).await;
    assert_eq!((status, code(&answer)), (403, "not_a_mediator"));
}

#[tokio::test]
async fn a_key_creates_at_most_its_quota_of_cases() {
    let hub = Hub::start_with_policy(Policy {
        max_cases_per_key: 3,
        ..Policy::default()
    })
    .await;
    let (busy, other) = (Identity::random(), Identity::random());
    for _ in 0..3 {
        hub.create_case(&busy).await;
    }
    let before = hub.stats();
    let (status, answer) = hub.post(&busy, "/v1/cases", new_case()).await;
    assert_eq!((status, code(&answer)), (429, "quota_exceeded"), "{answer}");
    assert_eq!(
        answer["error"]["message"],
        "This key has created 3 cases, as many as the hub allows one key."
    );
    assert_eq!(hub.stats(), before);

    // Another key has a quota of its own.
    hub.create_case(&other).await;
    assert_eq!(hub.stats().cases, 4);
}

#[tokio::test]
async fn a_case_holds_at_most_its_quota_of_invites() {
    let hub = Hub::start_with_policy(Policy {
        max_invites_per_case: 2,
        ..Policy::default()
    })
    .await;
    let mediator = Identity::random();
    let (case, other_case) = (
        hub.create_case(&mediator).await,
        hub.create_case(&mediator).await,
    );
    let invites = format!("/v1/cases/{case}/invites");
    for _ in 0..2 {
        hub.ok(&mediator, Method::POST, &invites, Some(observer_invite()))
            .await;
    }
    let before = hub.stats();
    let (status, answer) = hub.post(&mediator, &invites, observer_invite()).await;
    assert_eq!((status, code(&answer)), (429, "quota_exceeded"), "{answer}");
    assert_eq!(
        answer["error"]["message"],
        "This case holds 2 invites, as many as the hub allows one case."
    );
    assert_eq!(hub.stats(), before);

    // Another case has a quota of its own.
    hub.ok(
        &mediator,
        Method::POST,
        &format!("/v1/cases/{other_case}/invites"),
        Some(observer_invite()),
    )
    .await;
    assert_eq!(hub.stats().invites, 3);
}

#[tokio::test]
async fn a_key_package_is_kept_only_for_the_key_that_made_it() {
    let hub = Hub::start_with_policy(Policy::default()).await;
    let (alice, bob) = (Identity::random(), Identity::random());
    let alices = alice.key_package();

    // Alice's package, uploaded by Bob, alone or beside one of his own: nothing is stored.
    for body in [
        packages(&[&alices]),
        packages(&[&bob.key_package(), &alices]),
    ] {
        let (status, answer) = hub.post(&bob, "/v1/key-packages", body).await;
        assert_eq!(
            (status, code(&answer)),
            (400, "invalid_key_package"),
            "{answer}"
        );
    }
    assert_eq!(hub.stats().key_packages, 0);

    // A credential naming Alice on a leaf whose signature key is another: whoever signed it,
    // it is not Alice's.
    let stranger = Identity::random();
    let borrowed = key_package(
        &stranger.mls_signer(),
        CredentialWithKey {
            credential: BasicCredential::new(alice.key().0.to_vec()).into(),
            signature_key: stranger.key().0.to_vec().into(),
        },
    );
    let (status, answer) = hub
        .post(&alice, "/v1/key-packages", packages(&[&borrowed]))
        .await;
    assert_eq!((status, code(&answer)), (400, "invalid_key_package"));
    assert_eq!(hub.stats().key_packages, 0);

    let stored = hub
        .ok(
            &alice,
            Method::POST,
            "/v1/key-packages",
            Some(packages(&[&alices])),
        )
        .await;
    assert_eq!(stored["available"], 1);
}

#[tokio::test]
async fn a_badly_signed_key_package_is_refused() {
    let hub = Hub::start_with_policy(Policy::default()).await;
    let alice = Identity::random();
    // The package ends with its signature: flip a bit of it.
    let mut forged = alice.key_package();
    if let Some(last) = forged.last_mut() {
        *last ^= 1;
    }
    assert!(KeyPackageIn::tls_deserialize_exact(&forged).is_ok());
    let (status, answer) = hub
        .post(&alice, "/v1/key-packages", packages(&[&forged]))
        .await;
    assert_eq!(
        (status, code(&answer)),
        (400, "invalid_key_package"),
        "{answer}"
    );
    assert_eq!(hub.stats().key_packages, 0);
}

#[tokio::test]
async fn a_key_beyond_its_rate_waits_as_told_and_others_are_served() {
    let hub = Hub::start_with_policy(Policy {
        max_requests_per_second: Some(5),
        ..Policy::default()
    })
    .await;
    let (busy, other) = (Identity::random(), Identity::random());
    // A burst of twice the rate is allowed.
    for _ in 0..10 {
        assert_eq!(hub.get(&busy, "/v1/welcomes?after=0").await.0, 200);
    }
    let path = "/v1/welcomes?after=0";
    let header = busy.header("GET", path, b"", hub.now_ms());
    let refused = reqwest::Client::new()
        .get(format!("{}{path}", hub.url()))
        .header("authorization", header)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "{wait}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(code(&body), "rate_limited");
    // Another key has its own allowance.
    assert_eq!(hub.get(&other, path).await.0, 200);
    // After the wait it is told, the key is served again.
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    assert_eq!(hub.get(&busy, path).await.0, 200);
}

#[tokio::test]
async fn a_key_stores_at_most_its_quota_of_bytes_and_a_refusal_changes_nothing() {
    let hub = Hub::start_with_policy(Policy {
        max_bytes_per_key: 100,
        ..Policy::default()
    })
    .await;
    let (mediator, party) = (Identity::random(), Identity::random());
    let case = hub.create_case(&mediator).await;
    hub.invite_and_join(&case, &mediator, &party, "party").await;
    let public = format!("/v1/cases/{case}/channels/public/entries");
    let post = |after: u64| json!({"kind": "message", "after": after, "body": Blob(vec![7; 60])});
    assert_eq!(hub.post(&mediator, &public, post(0)).await.0, 201);
    let (status, body) = hub.post(&mediator, &public, post(1)).await;
    assert_eq!((status, code(&body)), (429, "quota_exceeded"), "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("100 bytes")
    );
    // Nothing was stored: the head is where it was, and another key still posts there.
    let (status, entries) = hub.get(&party, &public).await;
    assert_eq!((status, entries["head"].as_u64()), (200, Some(1)));
    let (status, body) = hub.post(&party, &public, post(1)).await;
    assert_eq!((status, body["seq"].as_u64()), (201, Some(2)), "{body}");
}
