//! Witnesses: hubs that co-sign the heads of a case's public record, in the manner of
//! transparency-log witnesses, so that a hub showing participants different histories, or
//! holding back its newest entries, is caught even between participants who share no channel.
//!
//! A case's genesis names its witnesses (URL and key). The mediator registers the case with
//! each witness and names the participants who may send it heads. A participant sends the
//! chain hashes of the public record's acts it holds, from where the witness last agreed with
//! it; the witness keeps one hash per position and co-signs its newest head only if every
//! hash sent agrees with the ones it holds. A participant whose hash differs from the
//! witness's is on a fork (`equivocation`, with the witness's signed statement as proof); one
//! whose hub serves less than a witness has co-signed is being withheld from (`withheld`).
//! The witness sees hashes and positions, never content.

use serde::{Deserialize, Serialize};

use crate::act::Digest32;
use crate::ids::{CaseId, PublicKey};

/// The most hashes one request sends a witness.
pub const MAX_WITNESS_HASHES: usize = 1000;
/// The most keys a case may allow to send a witness heads.
pub const MAX_WITNESS_SUBMITTERS: usize = 10_000;
/// The most keys one request names.
pub const MAX_WITNESS_KEYS: usize = 100;

const COSIGN_CONTEXT: &[u8] = b"backchannel/witness/v1\0";
const FINGERPRINT_CONTEXT: &[u8] = b"backchannel/fingerprint/v1\0";

/// A head of a case's public record as 30 digits in six groups, to read out and compare: two
/// participants whose codes agree at the same index hold the same public record up to it.
pub fn fingerprint(case: &CaseId, index: u64, hash: &Digest32) -> String {
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    digest.update(FINGERPRINT_CONTEXT);
    digest.update(case.0);
    digest.update(index.to_be_bytes());
    digest.update(hash.0);
    let bytes = digest.finalize();
    bytes[..30]
        .chunks(5)
        .map(|chunk| {
            let n = chunk.iter().fold(0u64, |n, b| n << 8 | u64::from(*b));
            format!("{:05}", n % 100_000)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `GET /v1/witness`: the key this hub co-signs with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessKey {
    pub key: PublicKey,
}

/// `POST /v1/witness/{case}/submitters`: keys the mediator allows to send heads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessSubmitters {
    pub keys: Vec<PublicKey>,
}

/// `POST /v1/witness/{case}/heads`: the chain hashes of the public record's acts at positions
/// `from + 1 ..= from + hashes.len()`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessHeads {
    pub from: u64,
    pub hashes: Vec<Digest32>,
}

/// A witness's signed statement that the public record of `case` holds the act with chain
/// hash `hash` at `index`: the answer to `heads` (its newest head), and the proof a fork or
/// a gap refusal carries (`ErrorDetail::witnessed`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cosigned {
    pub case: CaseId,
    pub index: u64,
    pub hash: Digest32,
    #[serde(with = "crate::b64")]
    pub sig: Vec<u8>,
}

impl Cosigned {
    /// The bytes a witness signs.
    pub fn signing_input(case: &CaseId, index: u64, hash: &Digest32) -> Vec<u8> {
        let mut input = COSIGN_CONTEXT.to_vec();
        input.extend_from_slice(&case.0);
        input.extend_from_slice(&index.to_be_bytes());
        input.extend_from_slice(&hash.0);
        input
    }

    /// Signs a head with a witness's key.
    pub fn sign(key: &ed25519_dalek::SigningKey, case: CaseId, index: u64, hash: Digest32) -> Self {
        use ed25519_dalek::Signer;
        let sig = key
            .sign(&Self::signing_input(&case, index, &hash))
            .to_bytes()
            .to_vec();
        Cosigned {
            case,
            index,
            hash,
            sig,
        }
    }

    /// Whether `witness` signed this statement.
    pub fn verify(&self, witness: &PublicKey) -> bool {
        witness.verify(
            &Self::signing_input(&self.case, self.index, &self.hash),
            &self.sig,
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_fingerprint_is_thirty_digits_that_change_with_the_head() {
        let case = CaseId([1; 16]);
        let code = fingerprint(&case, 7, &Digest32([9; 32]));
        assert_eq!(code.len(), 35);
        assert_eq!(code.chars().filter(char::is_ascii_digit).count(), 30);
        assert_eq!(code, fingerprint(&case, 7, &Digest32([9; 32])));
        assert_ne!(code, fingerprint(&case, 8, &Digest32([9; 32])));
        assert_ne!(code, fingerprint(&case, 7, &Digest32([8; 32])));
        assert_ne!(code, fingerprint(&CaseId([2; 16]), 7, &Digest32([9; 32])));
    }

    #[test]
    fn a_cosigned_head_verifies_under_its_witness_only() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let witness = PublicKey(key.verifying_key().to_bytes());
        let other = PublicKey(
            ed25519_dalek::SigningKey::from_bytes(&[4; 32])
                .verifying_key()
                .to_bytes(),
        );
        let head = Cosigned::sign(&key, CaseId([1; 16]), 7, Digest32([9; 32]));
        assert!(head.verify(&witness));
        assert!(!head.verify(&other));
        let mut moved = head.clone();
        moved.index = 8;
        assert!(!moved.verify(&witness));
        let json = serde_json::to_string(&head).unwrap();
        assert_eq!(serde_json::from_str::<Cosigned>(&json).unwrap(), head);
    }
}
