//! Helpers shared by the integration tests: identities that sign requests, and a hub on a
//! real socket with a real SQLite file.
#![allow(dead_code, clippy::unwrap_used)]

use backchannel_core::auth::sign_request;
use backchannel_core::{CaseId, PublicKey};
use backchannel_hub::LocalHub;
use ed25519_dalek::SigningKey;
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

pub fn random_case() -> CaseId {
    CaseId(rand::random())
}

/// The `code` of an error body.
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

/// A hub on 127.0.0.1 with its database in a temporary directory.
pub struct Hub {
    pub local: LocalHub,
    http: reqwest::Client,
    pub dir: tempfile::TempDir,
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
        }
    }

    pub fn url(&self) -> &str {
        &self.local.url
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
        let header = who.header(method.as_str(), path, &bytes, backchannel_hub::now_ms());
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
            Some(json!({"case_id": case, "name": "Islamabad"})),
        )
        .await;
        case
    }

    /// Has the mediator invite `who` with `role` (and `party`), and `who` join.
    pub async fn invite_and_join(
        &self,
        case: &CaseId,
        mediator: &Identity,
        who: &Identity,
        role: &str,
        party: Option<&str>,
        name: &str,
    ) -> Value {
        let secret: [u8; 32] = rand::random();
        let code_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(secret));
        self.ok(
            mediator,
            Method::POST,
            &format!("/v1/cases/{case}/invites"),
            Some(json!({"code_hash": code_hash, "role": role, "party": party})),
        )
        .await;
        self.ok(
            who,
            Method::POST,
            "/v1/join",
            Some(json!({"case_id": case, "code": hex::encode(secret), "name": name})),
        )
        .await
    }
}
