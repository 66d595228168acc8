//! The router without a socket (`tower::ServiceExt::oneshot`): health, authentication, and
//! the shape of every error, with a check after each rejection that nothing was stored.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use backchannel_core::api::{Blob, MAX_BODY_BYTES};
use backchannel_core::auth::{MAX_SKEW_MS, sign_request};
use backchannel_hub::store::{Backend, Sqlite, Stats};
use backchannel_hub::{AppState, app};
use common::{Identity, code, random_case};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const NOW_MS: u64 = 1_750_000_000_000;

struct Harness {
    app: Router,
    store: Arc<dyn Backend>,
}

impl Harness {
    fn new() -> Self {
        let state =
            AppState::new(Arc::new(Sqlite::open_in_memory().unwrap())).with_clock(|| NOW_MS);
        Self {
            store: Arc::clone(state.store()),
            app: app(state),
        }
    }

    fn stats(&self) -> Stats {
        self.store.stats().unwrap()
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON ({status}): {}", String::from_utf8_lossy(&bytes)));
        (status, body)
    }

    /// A request signed by `who` at the hub's current time.
    async fn signed(
        &self,
        who: &Identity,
        method: &str,
        uri: &str,
        body: &[u8],
    ) -> (StatusCode, Value) {
        self.send(signed_request(who, method, uri, body, NOW_MS))
            .await
    }
}

fn signed_request(
    who: &Identity,
    method: &str,
    uri: &str,
    body: &[u8],
    ts_ms: u64,
) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", who.header(method, uri, body, ts_ms))
        .body(Body::from(body.to_vec()))
        .unwrap()
}

fn create_case_body() -> Vec<u8> {
    serde_json::to_vec(&json!({"case_id": random_case()})).unwrap()
}

#[tokio::test]
async fn health_needs_no_auth() {
    let hub = Harness::new();
    let request = Request::get("/v1/health").body(Body::empty()).unwrap();
    let (status, body) = hub.send(request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ok"], true);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn a_signed_request_creates_a_case() {
    let hub = Harness::new();
    let (status, body) = hub
        .signed(
            &Identity::random(),
            "POST",
            "/v1/cases",
            &create_case_body(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let stats = hub.stats();
    assert_eq!(
        (
            stats.cases,
            stats.members,
            stats.channels,
            stats.channel_members
        ),
        (1, 1, 1, 1)
    );
}

#[tokio::test]
async fn a_missing_header_is_auth_missing() {
    let hub = Harness::new();
    let request = Request::post("/v1/cases")
        .body(Body::from(create_case_body()))
        .unwrap();
    let (status, body) = hub.send(request).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "auth_missing")
    );
    assert!(body["error"]["message"].as_str().unwrap().ends_with('.'));
    assert_eq!(hub.stats(), Stats::default());
}

#[tokio::test]
async fn a_malformed_header_or_a_bad_signature_is_auth_invalid() {
    let hub = Harness::new();
    let who = Identity::random();
    let body = create_case_body();

    let garbage = Request::post("/v1/cases")
        .header("authorization", "Bearer xyz")
        .body(Body::from(body.clone()));
    let (status, answer) = hub.send(garbage.unwrap()).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNAUTHORIZED, "auth_invalid")
    );

    // Signed over another body.
    let header = who.header("POST", "/v1/cases", b"{}", NOW_MS);
    let tampered = Request::post("/v1/cases")
        .header("authorization", header)
        .body(Body::from(body.clone()));
    let (status, answer) = hub.send(tampered.unwrap()).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNAUTHORIZED, "auth_invalid")
    );

    // Signed for another path and query.
    let header = who.header("POST", "/v1/cases?x=1", &body, NOW_MS);
    let moved = Request::post("/v1/cases")
        .header("authorization", header)
        .body(Body::from(body));
    let (status, answer) = hub.send(moved.unwrap()).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNAUTHORIZED, "auth_invalid")
    );

    assert_eq!(hub.stats(), Stats::default());
}

#[tokio::test]
async fn a_stale_or_future_timestamp_is_auth_expired() {
    let hub = Harness::new();
    let who = Identity::random();
    for ts_ms in [NOW_MS - MAX_SKEW_MS - 1, NOW_MS + MAX_SKEW_MS + 1] {
        let request = signed_request(&who, "POST", "/v1/cases", &create_case_body(), ts_ms);
        let (status, body) = hub.send(request).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "auth_expired")
        );
    }
    assert_eq!(hub.stats(), Stats::default());
    // At the edge of the skew the request is still fresh.
    let request = signed_request(
        &who,
        "POST",
        "/v1/cases",
        &create_case_body(),
        NOW_MS - MAX_SKEW_MS,
    );
    assert_eq!(hub.send(request).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn a_replayed_request_is_refused_and_changes_nothing() {
    let hub = Harness::new();
    let who = Identity::random();
    let body = create_case_body();
    let auth =
        sign_request(&who.signing, "POST", "/v1/cases", NOW_MS, [7; 16], &body).header_value();
    let request = || {
        Request::post("/v1/cases")
            .header("authorization", &auth)
            .body(Body::from(body.clone()))
            .unwrap()
    };
    assert_eq!(hub.send(request()).await.0, StatusCode::CREATED);
    let before = hub.stats();
    let (status, answer) = hub.send(request()).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNAUTHORIZED, "auth_replayed")
    );
    assert_eq!(hub.stats(), before);
}

#[tokio::test]
async fn malformed_json_is_a_json_bad_request() {
    let hub = Harness::new();
    let who = Identity::random();
    for body in [
        &b"{not json"[..],
        br#"{"case_id": "zz", "name": "x"}"#,
        br#"{"name": "x"}"#,
    ] {
        let (status, answer) = hub.signed(&who, "POST", "/v1/cases", body).await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::BAD_REQUEST, "bad_request"),
            "{answer}"
        );
    }
    // Unknown fields are refused too, so a client's typo does not pass silently.
    let body =
        serde_json::to_vec(&json!({"case_id": random_case(), "name": "x", "nmae": "y"})).unwrap();
    let (status, answer) = hub.signed(&who, "POST", "/v1/cases", &body).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    assert_eq!(hub.stats(), Stats::default());
}

#[tokio::test]
async fn an_oversized_body_is_a_json_413() {
    let hub = Harness::new();
    let body = vec![b' '; MAX_BODY_BYTES + 1];
    let (status, answer) = hub
        .signed(&Identity::random(), "POST", "/v1/cases", &body)
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
    );
    assert_eq!(hub.stats(), Stats::default());
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json() {
    let hub = Harness::new();
    let (status, body) = hub
        .send(Request::get("/v2/nothing").body(Body::empty()).unwrap())
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, body) = hub
        .send(Request::delete("/v1/health").body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
}

#[tokio::test]
async fn a_malformed_path_or_query_is_a_json_bad_request() {
    let hub = Harness::new();
    let who = Identity::random();
    let (status, body) = hub
        .signed(&who, "GET", "/v1/cases/not-a-case/members", b"")
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    let (status, body) = hub
        .signed(&who, "GET", "/v1/welcomes?after=minus-one", b"")
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
}

#[tokio::test]
async fn names_in_clear_and_invalid_invites_change_nothing() {
    let hub = Harness::new();
    let mediator = Identity::random();
    let case = random_case();
    // The hub takes no name in clear: the mediator's is in the sealed genesis. "Iran" spelt
    // with a right-to-left override is refused as any other name is, before it is read.
    for name in ["Islamabad", "\u{202E}narI"] {
        let body = serde_json::to_vec(&json!({"case_id": case, "name": name})).unwrap();
        let (status, answer) = hub.signed(&mediator, "POST", "/v1/cases", &body).await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::BAD_REQUEST, "bad_request")
        );
    }
    // Nor a joiner's name in clear; a sealed one is bounded.
    let code_hex = "ab".repeat(16);
    for (join, expected) in [
        (
            json!({"case_id": case, "code": code_hex, "name": "Araghchi"}),
            "bad_request",
        ),
        (
            json!({"case_id": case, "code": code_hex, "sealed_name": ""}),
            "invalid_name",
        ),
        (
            json!({"case_id": case, "code": code_hex, "sealed_name": Blob(vec![1; 513])}),
            "invalid_name",
        ),
    ] {
        let body = serde_json::to_vec(&join).unwrap();
        let (status, answer) = hub.signed(&mediator, "POST", "/v1/join", &body).await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::BAD_REQUEST, expected),
            "{join}"
        );
    }
    assert_eq!(hub.stats(), Stats::default());

    let body = serde_json::to_vec(&json!({"case_id": case})).unwrap();
    assert_eq!(
        hub.signed(&mediator, "POST", "/v1/cases", &body).await.0,
        StatusCode::CREATED
    );
    let (status, answer) = hub.signed(&mediator, "POST", "/v1/cases", &body).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::CONFLICT, "case_exists")
    );
    let before = hub.stats();

    let uri = format!("/v1/cases/{case}/invites");
    let hash = "ab".repeat(32);
    for (invite, expected) in [
        (
            json!({"code_hash": hash, "role": "mediator"}),
            "invalid_invite",
        ),
        (
            json!({"code_hash": "abc", "role": "observer"}),
            "invalid_invite",
        ),
        // Which party an invite is for is the mediator's to know: the hub is not told.
        (
            json!({"code_hash": hash, "role": "party", "party": "Iran"}),
            "bad_request",
        ),
    ] {
        let (status, answer) = hub
            .signed(
                &mediator,
                "POST",
                &uri,
                &serde_json::to_vec(&invite).unwrap(),
            )
            .await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::BAD_REQUEST, expected),
            "{invite}"
        );
    }
    // Someone who is not the mediator can neither invite nor look at the members.
    let stranger = Identity::random();
    let invite = serde_json::to_vec(&json!({"code_hash": hash, "role": "observer"})).unwrap();
    let (status, answer) = hub.signed(&stranger, "POST", &uri, &invite).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::FORBIDDEN, "not_member")
    );
    let (status, answer) = hub
        .signed(&stranger, "GET", &format!("/v1/cases/{case}/members"), b"")
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::FORBIDDEN, "not_member")
    );
    let other = random_case();
    let (status, answer) = hub
        .signed(&stranger, "GET", &format!("/v1/cases/{other}/members"), b"")
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::NOT_FOUND, "case_not_found")
    );
    assert_eq!(hub.stats(), before);
}

#[tokio::test]
async fn key_packages_must_parse_and_are_bounded() {
    let hub = Harness::new();
    let who = Identity::random();
    let body = serde_json::to_vec(&json!({"key_packages": ["AAECAw=="]})).unwrap();
    let (status, answer) = hub.signed(&who, "POST", "/v1/key-packages", &body).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::BAD_REQUEST, "invalid_key_package")
    );
    assert_eq!(hub.stats().key_packages, 0);
}

#[tokio::test]
async fn an_entries_limit_beyond_the_maximum_is_refused() {
    let hub = Harness::new();
    let mediator = Identity::random();
    let case = random_case();
    let body = serde_json::to_vec(&json!({"case_id": case})).unwrap();
    assert_eq!(
        hub.signed(&mediator, "POST", "/v1/cases", &body).await.0,
        StatusCode::CREATED
    );
    let base = format!("/v1/cases/{case}/channels/public/entries");
    assert_eq!(
        hub.signed(&mediator, "GET", &format!("{base}?limit=500"), b"")
            .await
            .0,
        StatusCode::OK
    );
    for limit in ["501", "0"] {
        let (status, answer) = hub
            .signed(
                &mediator,
                "GET",
                &format!("{base}?after=0&limit={limit}"),
                b"",
            )
            .await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::BAD_REQUEST, "invalid_limit")
        );
    }
    // Positions beyond what the store holds are refused, not an internal error.
    for path in [
        format!("{base}?after=9223372036854775808"),
        format!("{base}?after=18446744073709551615"),
        "/v1/welcomes?after=9223372036854775808".to_owned(),
    ] {
        let (status, answer) = hub.signed(&mediator, "GET", &path, b"").await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::BAD_REQUEST, "invalid_cursor"),
            "{path}"
        );
    }
    let (status, answer) = hub
        .signed(
            &mediator,
            "GET",
            &format!("/v1/cases/{case}/channels/{}/entries", common::OTHER),
            b"",
        )
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::NOT_FOUND, "channel_not_found")
    );
}
