//! Signed requests: every call to the hub but `GET /v1/health` carries an `Authorization`
//! header signed with the caller's identity key. No passwords, no sessions.
//!
//! ```text
//! Authorization: Backchannel key=<64 hex>, ts=<unix ms>, nonce=<32 hex>, sig=<128 hex>
//! signed bytes:  backchannel-request/1 \n METHOD \n PATH?QUERY \n ts \n nonce \n hex(sha256(body))
//! ```
//!
//! The hub accepts a timestamp within [`MAX_SKEW_MS`] of its clock and each (key, nonce) once,
//! so a captured request cannot be replayed.

use sha2::{Digest, Sha256};

use crate::ids::PublicKey;

/// How far a request's timestamp may be from the hub's clock.
pub const MAX_SKEW_MS: u64 = 5 * 60 * 1000;
/// The header's scheme word.
pub const SCHEME: &str = "Backchannel";

/// A parsed `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestAuth {
    pub key: PublicKey,
    pub ts_ms: u64,
    pub nonce: [u8; 16],
    pub signature: [u8; 64],
}

/// The bytes a request's signature covers.
pub fn signed_bytes(
    method: &str,
    path_and_query: &str,
    ts_ms: u64,
    nonce: &[u8; 16],
    body: &[u8],
) -> Vec<u8> {
    let body_hash = hex::encode(Sha256::digest(body));
    format!(
        "backchannel-request/1\n{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        path_and_query,
        ts_ms,
        hex::encode(nonce),
        body_hash
    )
    .into_bytes()
}

impl RequestAuth {
    /// Renders the header value.
    pub fn header_value(&self) -> String {
        format!(
            "{SCHEME} key={}, ts={}, nonce={}, sig={}",
            self.key.to_hex(),
            self.ts_ms,
            hex::encode(self.nonce),
            hex::encode(self.signature)
        )
    }

    /// Parses a header value; `None` when any part is missing or malformed.
    pub fn parse(value: &str) -> Option<Self> {
        let rest = value.strip_prefix(SCHEME)?.strip_prefix(' ')?;
        let (mut key, mut ts, mut nonce, mut sig) = (None, None, None, None);
        for part in rest.split(',') {
            let (name, value) = part.trim().split_once('=')?;
            match name {
                "key" => key = PublicKey::parse(value),
                "ts" => ts = value.parse::<u64>().ok(),
                "nonce" => nonce = hex::decode(value).ok().and_then(|b| b.try_into().ok()),
                "sig" => sig = hex::decode(value).ok().and_then(|b| b.try_into().ok()),
                _ => return None,
            }
        }
        Some(Self {
            key: key?,
            ts_ms: ts?,
            nonce: nonce?,
            signature: sig?,
        })
    }

    /// Checks the signature over the request; the clock and nonce checks are the hub's.
    pub fn verify(&self, method: &str, path_and_query: &str, body: &[u8]) -> bool {
        let message = signed_bytes(method, path_and_query, self.ts_ms, &self.nonce, body);
        self.key.verify(&message, &self.signature)
    }

    /// Whether the timestamp is within the allowed skew of `now_ms`.
    pub fn fresh_at(&self, now_ms: u64) -> bool {
        self.ts_ms.abs_diff(now_ms) <= MAX_SKEW_MS
    }
}

/// Signs a request with `signing_key`; the caller supplies time and nonce (the core draws no
/// randomness and reads no clock).
pub fn sign_request(
    signing_key: &ed25519_dalek::SigningKey,
    method: &str,
    path_and_query: &str,
    ts_ms: u64,
    nonce: [u8; 16],
    body: &[u8],
) -> RequestAuth {
    use ed25519_dalek::Signer;
    let message = signed_bytes(method, path_and_query, ts_ms, &nonce, body);
    RequestAuth {
        key: PublicKey(signing_key.verifying_key().to_bytes()),
        ts_ms,
        nonce,
        signature: signing_key.sign(&message).to_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[3; 32])
    }

    #[test]
    fn round_trip_and_tamper() {
        let auth = sign_request(&key(), "post", "/v1/cases", 1_000, [9; 16], b"{}");
        let parsed = RequestAuth::parse(&auth.header_value());
        assert_eq!(parsed.as_ref(), Some(&auth));
        assert!(auth.verify("POST", "/v1/cases", b"{}"));
        assert!(!auth.verify("POST", "/v1/cases", b"{ }"));
        assert!(!auth.verify("GET", "/v1/cases", b"{}"));
        assert!(!auth.verify("POST", "/v1/cases?x=1", b"{}"));
        assert!(auth.fresh_at(1_000 + MAX_SKEW_MS));
        assert!(!auth.fresh_at(1_001 + MAX_SKEW_MS));
    }

    #[test]
    fn malformed_headers_are_refused() {
        assert!(RequestAuth::parse("").is_none());
        assert!(RequestAuth::parse("Bearer abc").is_none());
        assert!(RequestAuth::parse("Backchannel key=zz, ts=1, nonce=00, sig=00").is_none());
        let good = sign_request(&key(), "GET", "/", 1, [0; 16], b"").header_value();
        assert!(RequestAuth::parse(&format!("{good}, extra=1")).is_none());
    }
}
