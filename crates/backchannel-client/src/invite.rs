//! Invite codes: one token that carries everything a newcomer needs and that the hub never
//! sees whole — the hub URL, the case, the mediator's key (to check the case's genesis), the
//! one-time secret (the hub stores only its hash) and the case key that seals the public
//! record.
//!
//! `bc1-` + base64url(version 1 ‖ case id 16 ‖ mediator key 32 ‖ secret 16 ‖ case key 32 ‖ hub URL)

use backchannel_core::{CaseId, PublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::error::ClientError;

const PREFIX: &str = "bc1-";
const FIXED: usize = 1 + 16 + 32 + 16 + 32;
const MAX_URL: usize = 512;

/// The role an invite grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InviteRole {
    Party(String),
    Observer,
}

#[derive(Clone, PartialEq, Eq)]
pub struct InviteCode {
    pub hub: String,
    pub case: CaseId,
    pub mediator: PublicKey,
    pub secret: [u8; 16],
    pub case_key: [u8; 32],
}

impl std::fmt::Debug for InviteCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "InviteCode({} at {}, secret redacted)",
            self.case, self.hub
        )
    }
}

impl InviteCode {
    pub fn encode(&self) -> String {
        let mut bytes = Vec::with_capacity(FIXED + self.hub.len());
        bytes.push(1);
        bytes.extend_from_slice(&self.case.0);
        bytes.extend_from_slice(&self.mediator.0);
        bytes.extend_from_slice(&self.secret);
        bytes.extend_from_slice(&self.case_key);
        bytes.extend_from_slice(self.hub.as_bytes());
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn decode(text: &str) -> Result<Self, ClientError> {
        let body = text
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(ClientError::BadInvite("it does not start with bc1-"))?;
        if body.len() > (FIXED + MAX_URL) * 2 {
            return Err(ClientError::BadInvite("it is too long"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| ClientError::BadInvite("it is not valid base64url"))?;
        if bytes.len() <= FIXED || bytes[0] != 1 {
            return Err(ClientError::BadInvite(
                "it is truncated or of an unknown version",
            ));
        }
        let hub = String::from_utf8(bytes[FIXED..].to_vec())
            .map_err(|_| ClientError::BadInvite("its hub URL is not UTF-8"))?;
        if !(hub.starts_with("http://") || hub.starts_with("https://")) {
            return Err(ClientError::BadInvite("its hub URL is not http(s)"));
        }
        let mut fixed = [0u8; FIXED - 1];
        fixed.copy_from_slice(&bytes[1..FIXED]);
        let (case, rest) = fixed.split_at(16);
        let (mediator, rest) = rest.split_at(32);
        let (secret, case_key) = rest.split_at(16);
        let short = |_| ClientError::BadInvite("it is truncated");
        Ok(Self {
            hub,
            case: CaseId(case.try_into().map_err(short)?),
            mediator: PublicKey(mediator.try_into().map_err(short)?),
            secret: secret.try_into().map_err(short)?,
            case_key: case_key.try_into().map_err(short)?,
        })
    }

    /// What the hub stores in place of the secret.
    pub fn secret_hash(secret: &[u8; 16]) -> String {
        hex::encode(Sha256::digest(secret))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let code = InviteCode {
            hub: "http://127.0.0.1:7878".into(),
            case: CaseId([1; 16]),
            mediator: PublicKey([2; 32]),
            secret: [3; 16],
            case_key: [4; 32],
        };
        let text = code.encode();
        assert_eq!(InviteCode::decode(&text).unwrap(), code);
        assert!(InviteCode::decode("bc2-abc").is_err());
        assert!(InviteCode::decode("bc1-!!!").is_err());
        assert!(InviteCode::decode(&text[..40]).is_err());
        assert!(!format!("{code:?}").contains("030303"));
    }
}
