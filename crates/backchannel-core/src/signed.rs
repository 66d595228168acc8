//! The signed envelope of an act and the digest that chains acts, below everything that
//! embeds signed acts (the procedure's vocabulary, the record) and the act itself, which
//! parses and verifies them (`act.rs`).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const HASH_CONTEXT: &[u8] = b"backchannel/act-hash/v2\0";

/// A SHA-256 digest linking acts into a chain.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Digest32(pub [u8; 32]);

impl Digest32 {
    pub const ZERO: Self = Self([0; 32]);

    pub fn short(&self) -> String {
        hex::encode(&self.0[..6])
    }
}

impl std::fmt::Debug for Digest32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Digest32({})", self.short())
    }
}

impl Serialize for Digest32 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Digest32 {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom("a digest is 64 hex digits"))?;
        Ok(Self(bytes))
    }
}

/// An act with its author's signature over the exact payload bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedAct {
    #[serde(with = "crate::b64")]
    pub payload: Vec<u8>,
    #[serde(with = "crate::b64")]
    pub sig: Vec<u8>,
}

impl SignedAct {
    /// The chain hash of this act: over payload and signature.
    pub fn hash(&self) -> Digest32 {
        let mut digest = Sha256::new();
        digest.update(HASH_CONTEXT);
        digest.update((self.payload.len() as u64).to_be_bytes());
        digest.update(&self.payload);
        digest.update(&self.sig);
        Digest32(digest.finalize().into())
    }

    /// The envelope's wire bytes (JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}
