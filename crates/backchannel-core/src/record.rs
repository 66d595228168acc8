//! An exported record: a participant's verified acts, in the order it folded them, that
//! anyone can verify offline — no hub, no secret key — by checking every signature and
//! replaying the log from its genesis.

use serde::{Deserialize, Serialize};

use crate::act::SignedAct;
use crate::ids::{CaseId, PublicKey};
use crate::state::CaseState;

pub const RECORD_FORMAT: &str = "backchannel-record/1";
/// The most acts a record may hold.
pub const MAX_RECORD_ACTS: usize = 1_000_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub format: String,
    pub case: CaseId,
    /// The mediator's key, to compare out of band with the fingerprint the mediator gives.
    pub mediator: PublicKey,
    pub acts: Vec<SignedAct>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("the record is malformed: {0}")]
    Malformed(String),
    #[error("act {position} of the record does not verify: {why}")]
    Act { position: usize, why: String },
}

impl RecordError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            RecordError::Malformed(_) => "record_malformed",
            RecordError::Act { .. } => "record_refused",
        }
    }
}

impl Record {
    /// Parses and verifies a record: every signature, every chain, every rule.
    pub fn verify(bytes: &[u8]) -> Result<(Record, CaseState), RecordError> {
        let record: Record =
            serde_json::from_slice(bytes).map_err(|e| RecordError::Malformed(e.to_string()))?;
        if record.format != RECORD_FORMAT {
            return Err(RecordError::Malformed(format!(
                "unknown format {:?}",
                record.format
            )));
        }
        if record.acts.is_empty() || record.acts.len() > MAX_RECORD_ACTS {
            return Err(RecordError::Malformed(format!(
                "a record holds 1 to {MAX_RECORD_ACTS} acts"
            )));
        }
        let mut state: Option<CaseState> = None;
        let mut ledger = crate::Ledger::default();
        for (position, signed) in record.acts.iter().enumerate() {
            let fail = |why: String| RecordError::Act {
                position: position + 1,
                why,
            };
            let verified = signed.clone().verify().map_err(|e| fail(e.to_string()))?;
            match state.as_mut() {
                None => {
                    state = Some(
                        CaseState::genesis(&verified, Some(record.mediator))
                            .map_err(|e| fail(e.to_string()))?,
                    );
                    ledger.record(&verified);
                }
                Some(state) => ledger
                    .fold(state, &verified)
                    .map_err(|e| fail(e.to_string()))?,
            }
        }
        let state = state.ok_or_else(|| RecordError::Malformed("no acts".into()))?;
        if state.case != record.case {
            return Err(RecordError::Malformed(
                "the acts belong to another case".into(),
            ));
        }
        Ok((record, state))
    }
}
