//! Helpers shared by the integration tests: identities that sign requests, a hub on a real
//! socket with a real SQLite file (or on PostgreSQL), and a PostgreSQL schema per test.
#![allow(dead_code, clippy::unwrap_used)]

pub mod store;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use backchannel_core::auth::sign_request;
use backchannel_core::{CaseId, PublicKey};
use backchannel_hub::store::{Backend, Postgres, Sqlite, Stats};
use backchannel_hub::{AppState, Database, LocalHub, Policy};
use ed25519_dalek::SigningKey;
use openmls::prelude::{
    BasicCredential, Ciphersuite, CredentialWithKey, KeyPackage, SignatureScheme,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;
use reqwest::Method;
use serde_json::{Value, json};

/// A participant: an identity key that signs its requests.
pub struct Identity {
    pub signing: SigningKey,
}

impl Identity {
    pub fn random() -> Self {
        Self {
            signing: SigningKey::from_bytes(&rand::random()),
        }
    }

    pub fn key(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key().to_bytes())
    }

    /// This identity as an MLS signer: the signature key of its leaves is its identity key,
    /// as clients make them (`backchannel_client::mls`).
    pub fn mls_signer(&self) -> SignatureKeyPair {
        SignatureKeyPair::from_raw(
            SignatureScheme::ED25519,
            self.signing.to_bytes().to_vec(),
            self.key().0.to_vec(),
        )
    }

    /// Its MLS credential: a basic credential naming its key, with its key as signature key.
    pub fn mls_credential(&self) -> CredentialWithKey {
        CredentialWithKey {
            credential: BasicCredential::new(self.key().0.to_vec()).into(),
            signature_key: self.key().0.to_vec().into(),
        }
    }

    /// A fresh key package of this identity, TLS-encoded as the hub stores it.
    pub fn key_package(&self) -> Vec<u8> {
        key_package(&self.mls_signer(), self.mls_credential())
    }

    /// The `Authorization` header for a request at `ts_ms`, with a fresh nonce.
    pub fn header(&self, method: &str, path_and_query: &str, body: &[u8], ts_ms: u64) -> String {
        sign_request(
            &self.signing,
            method,
            path_and_query,
            ts_ms,
            rand::random(),
            body,
        )
        .header_value()
    }
}

/// The ciphersuite clients use.
pub const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

/// A fresh key package for `credential`, signed by `signer`, TLS-encoded: any pair, so that
/// tests can make key packages the hub must refuse.
pub fn key_package(signer: &SignatureKeyPair, credential: CredentialWithKey) -> Vec<u8> {
    use tls_codec::Serialize as _;
    let provider = OpenMlsRustCrypto::default();
    KeyPackage::builder()
        .build(CIPHERSUITE, &provider, signer, credential)
        .unwrap()
        .key_package()
        .tls_serialize_detached()
        .unwrap()
}

/// The id of a discreet channel as clients derive it (`backchannel_core::HubChannel::of`): to the
/// hub, 32 hex digits that name nothing.
pub const IRAN: &str = "7dfba8c5474800450e31b995afbe11e2";
/// Another channel's id.
pub const OTHER: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

pub fn random_case() -> CaseId {
    CaseId(rand::random())
}

/// The `code` of an error body.
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

/// A clock a test moves by hand: a hub started with it reads it, and requests to that hub
/// are signed with it. It starts at the real time, so that only what the test moves differs.
#[derive(Clone)]
pub struct Clock(Arc<AtomicU64>);

impl Clock {
    pub fn new() -> Self {
        Self(Arc::new(AtomicU64::new(backchannel_hub::now_ms())))
    }

    pub fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// A hub on 127.0.0.1 with its database in a temporary directory.
pub struct Hub {
    pub local: LocalHub,
    http: reqwest::Client,
    pub dir: tempfile::TempDir,
    /// The hub's clock when the test sets it; the real one otherwise.
    clock: Option<Clock>,
    /// The hub's store, when the test opened it.
    store: Option<Arc<dyn Backend>>,
}

impl Hub {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let local = backchannel_hub::spawn_local(&dir.path().join("hub.db"))
            .await
            .unwrap();
        Self {
            local,
            http: reqwest::Client::new(),
            dir,
            clock: None,
            store: None,
        }
    }

    /// A hub on a SQLite file that lets `policy` say who may use it.
    pub async fn start_with_policy(policy: Policy) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Backend> = Arc::new(Sqlite::open(&dir.path().join("hub.db")).unwrap());
        let state = AppState::new(Arc::clone(&store)).with_policy(policy);
        Self {
            local: backchannel_hub::spawn_local_with(state).await.unwrap(),
            http: reqwest::Client::new(),
            dir,
            clock: None,
            store: Some(store),
        }
    }

    /// A hub on a SQLite file serving the state `adjust` makes of the default one (tests of
    /// the hub's bounds: body timeout, requests at once).
    pub async fn start_with_state(adjust: impl FnOnce(AppState) -> AppState) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Backend> = Arc::new(Sqlite::open(&dir.path().join("hub.db")).unwrap());
        let state = adjust(AppState::new(Arc::clone(&store)));
        Self {
            local: backchannel_hub::spawn_local_with(state).await.unwrap(),
            http: reqwest::Client::new(),
            dir,
            clock: None,
            store: Some(store),
        }
    }

    /// The row counts of the hub's store (a hub from [`Hub::start_with_policy`]).
    pub fn stats(&self) -> Stats {
        self.store
            .as_ref()
            .expect("a hub whose store the test opened")
            .stats()
            .unwrap()
    }

    /// A hub on `db`; several may share one PostgreSQL database.
    pub async fn start_on(db: &Database) -> Self {
        Self {
            local: backchannel_hub::spawn_local_on(db).await.unwrap(),
            http: reqwest::Client::new(),
            dir: tempfile::tempdir().unwrap(),
            clock: None,
            store: None,
        }
    }

    /// A hub on a SQLite file whose clock is `clock`.
    pub async fn start_with_clock(clock: &Clock) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Sqlite::open(&dir.path().join("hub.db")).unwrap();
        let hub_clock = clock.clone();
        let state = AppState::new(Arc::new(store)).with_clock(move || hub_clock.now());
        Self {
            local: backchannel_hub::spawn_local_with(state).await.unwrap(),
            http: reqwest::Client::new(),
            dir,
            clock: Some(clock.clone()),
            store: None,
        }
    }

    pub fn url(&self) -> &str {
        &self.local.url
    }

    /// The hub's time: what requests to it are signed with.
    pub fn now_ms(&self) -> u64 {
        self.clock
            .as_ref()
            .map_or_else(backchannel_hub::now_ms, Clock::now)
    }

    /// Sends a signed request; returns the status and the JSON body.
    pub async fn call(
        &self,
        who: &Identity,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let bytes = body
            .map(|body| serde_json::to_vec(&body).unwrap())
            .unwrap_or_default();
        let header = who.header(method.as_str(), path, &bytes, self.now_ms());
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.local.url))
            .header("authorization", header);
        if !bytes.is_empty() {
            request = request
                .header("content-type", "application/json")
                .body(bytes);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
        (status, value)
    }

    pub async fn get(&self, who: &Identity, path: &str) -> (u16, Value) {
        self.call(who, Method::GET, path, None).await
    }

    pub async fn post(&self, who: &Identity, path: &str, body: Value) -> (u16, Value) {
        self.call(who, Method::POST, path, Some(body)).await
    }

    /// Like [`Hub::call`], but the call must succeed; returns the body.
    pub async fn ok(
        &self,
        who: &Identity,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let (status, value) = self.call(who, method, path, body).await;
        assert!((200..300).contains(&status), "{path}: {status} {value}");
        value
    }

    /// Creates a case with `mediator`; returns its id.
    pub async fn create_case(&self, mediator: &Identity) -> CaseId {
        let case = random_case();
        self.ok(
            mediator,
            Method::POST,
            "/v1/cases",
            Some(json!({"case_id": case})),
        )
        .await;
        case
    }

    /// Has the mediator invite `who` with `role`, and `who` join.
    pub async fn invite_and_join(
        &self,
        case: &CaseId,
        mediator: &Identity,
        who: &Identity,
        role: &str,
    ) -> Value {
        let secret: [u8; 32] = rand::random();
        let code_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(secret));
        self.ok(
            mediator,
            Method::POST,
            &format!("/v1/cases/{case}/invites"),
            Some(json!({"code_hash": code_hash, "role": role})),
        )
        .await;
        self.ok(
            who,
            Method::POST,
            "/v1/join",
            Some(join_body(case, &secret)),
        )
        .await
    }
}

/// The body of a join with the invite secret `secret`. The display name is sealed under a case
/// key the hub does not hold: to the hub it is bytes, whatever they are.
pub fn join_body(case: &CaseId, secret: &[u8]) -> Value {
    let sealed_name = backchannel_core::api::Blob(rand::random::<[u8; 32]>().repeat(2));
    json!({"case_id": case, "code": hex::encode(secret), "sealed_name": sealed_name})
}

/// A push stream, or the hub's refusal of its upgrade: `who` opens case `case`'s stream on
/// the hub at `base` (`http://HOST:PORT`), signed as a `GET` with an empty body.
pub async fn open_stream(
    base: &str,
    who: &Identity,
    case: &CaseId,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    tokio_tungstenite::tungstenite::Error,
> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let path = format!("/v1/cases/{case}/stream");
    let mut request = format!("{}{path}", base.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    let header = who.header("GET", &path, b"", backchannel_hub::now_ms());
    request
        .headers_mut()
        .insert("authorization", header.parse().unwrap());
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(stream, _)| stream)
}

/// A schema of its own in the database at `BACKCHANNEL_TEST_POSTGRES`, dropped on drop.
pub struct PgSchema {
    url: String,
    name: String,
}

impl PgSchema {
    /// `None`, with a note, when no PostgreSQL URL is given.
    pub fn new(test: &str) -> Option<Self> {
        let url = std::env::var("BACKCHANNEL_TEST_POSTGRES").unwrap_or_default();
        if url.is_empty() {
            eprintln!(
                "note: {test} skipped: set BACKCHANNEL_TEST_POSTGRES to a PostgreSQL URL to run it"
            );
            return None;
        }
        let name = format!("test_{:016x}", rand::random::<u64>());
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .unwrap();
        Some(Self { url, name })
    }

    pub fn config(&self) -> postgres::Config {
        let mut config: postgres::Config = self.url.parse().unwrap();
        config.options(&format!("-c search_path={}", self.name));
        config
    }

    /// A backend on this schema, as one hub process would open it.
    pub fn backend(&self) -> Postgres {
        Postgres::with_config(self.config(), 4).unwrap()
    }

    pub fn admin(&self) -> postgres::Client {
        self.config().connect(postgres::NoTls).unwrap()
    }
}

impl PgSchema {
    /// The URL of this schema, for a hub started with `--db`.
    pub fn url(&self) -> String {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        format!(
            "{}{separator}options=-c%20search_path%3D{}",
            self.url, self.name
        )
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        // On a thread of its own: the synchronous client cannot run inside a tokio runtime.
        let (url, name) = (self.url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            if let Ok(mut admin) = postgres::Client::connect(&url, postgres::NoTls) {
                let _ = admin.batch_execute(&format!("DROP SCHEMA {name} CASCADE"));
            }
        });
        let _ = dropped.join();
    }
}
