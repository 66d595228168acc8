//! Catching a hub that shows participants different histories, or holds entries back.
//!
//! Every discreet act carries the heads its author held of the channels its readers also
//! read (`Act::seen`: the public record's, at least). The core compares a head this
//! participant already holds as it folds the act (`equivocation`). A head beyond this
//! participant's copy is kept here as a claim, compared when the copy reaches it, and at
//! the end of a sync the channel is read once more: a hub that still serves less than an
//! author saw is withholding (`withheld`). Witnesses' co-signed heads are claims of the
//! same kind (`witness`).
//!
//! An alarm is kept in the case's record with the signed acts that prove it, and stops every
//! further sync and post in that case: a participant never builds on a history the hub may
//! have forked.

use backchannel_core::act::{Digest32, Head, SignedAct, VerifiedAct};
use backchannel_core::witness::Cosigned;
use backchannel_core::{CaseId, ChannelName, Rejection};
use serde::{Deserialize, Serialize};

use crate::client::{Client, SyncReport};
use crate::error::ClientError;
use crate::hub::now_ms;

/// Proof that the hub showed this participant another history than someone else saw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alarm {
    /// `equivocation` (two different acts at one position) or `withheld` (the hub serves
    /// less than someone saw).
    pub code: String,
    pub channel: ChannelName,
    pub index: u64,
    /// One sentence, naming both heads.
    pub message: String,
    /// The signed statements that prove it: the act that saw the other head, and this
    /// participant's own act at that position when there is one.
    pub evidence: Vec<SignedAct>,
    /// A witness's signed head, when a witness's statement is part of the proof.
    #[serde(default)]
    pub witnessed: Option<Cosigned>,
    pub at_ms: u64,
}

/// A head an act saw beyond this participant's copy of that channel, with the act.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Claim {
    pub(crate) head: Head,
    pub(crate) by: SignedAct,
}

/// Who holds the other history: another participant, whose signed act says so.
const PARTICIPANT: &str = "another participant";

impl Alarm {
    /// Two different acts at one position: `theirs` for `by`, `ours` in this copy.
    pub(crate) fn equivocation(
        channel: &ChannelName,
        index: u64,
        theirs: Digest32,
        ours: Digest32,
        by: &str,
        evidence: Vec<SignedAct>,
    ) -> Self {
        Alarm {
            code: "equivocation".into(),
            channel: channel.clone(),
            index,
            message: format!(
                "the hub showed different histories: channel {channel} holds act {} at \
                 index {index} for {by} and act {} here; the case is stopped and the signed \
                 statements are kept as proof",
                theirs.short(),
                ours.short()
            ),
            evidence,
            witnessed: None,
            at_ms: now_ms(),
        }
    }

    /// `by` saw `head`, and the hub serves this participant only `held` acts of its channel.
    pub(crate) fn withheld(head: &Head, held: u64, by: &str, evidence: Vec<SignedAct>) -> Self {
        Alarm {
            code: "withheld".into(),
            channel: head.channel.clone(),
            index: head.index,
            message: format!(
                "the hub withholds entries: channel {} reached index {} (act {}) for {by}, \
                 and the hub serves only {held} here; the case is stopped and the signed \
                 statements are kept as proof",
                head.channel,
                head.index,
                head.hash.short()
            ),
            evidence,
            witnessed: None,
            at_ms: now_ms(),
        }
    }

    /// The same alarm, with a witness's signed head among its proof.
    pub(crate) fn with_witness(mut self, head: Cosigned) -> Self {
        self.witnessed = Some(head);
        self
    }
}

impl Client {
    /// The alarm that stops this case, if one was raised.
    pub fn alarm(&self, case: CaseId) -> Result<Option<&Alarm>, ClientError> {
        Ok(self.local(case)?.alarm.as_ref())
    }

    /// Fails if an alarm stops this case.
    pub(crate) fn unalarmed(&self, case: CaseId) -> Result<(), ClientError> {
        match self.alarm(case)? {
            Some(alarm) => Err(ClientError::Alarm(Box::new(alarm.clone()))),
            None => Ok(()),
        }
    }

    /// Keeps an alarm in the case's record, durably, and returns it as the error to report.
    pub(crate) fn raise(&mut self, case: CaseId, alarm: Alarm) -> ClientError {
        tracing::warn!(case = %case, code = %alarm.code, "{}", alarm.message);
        let error = ClientError::Alarm(Box::new(alarm.clone()));
        let stored = self
            .local_mut(case)
            .map(|local| local.alarm = Some(alarm))
            .and_then(|()| self.persist(Some(case), vec![], vec![], true));
        match stored {
            Ok(()) => error,
            Err(e) => e,
        }
    }

    /// Turns the core's refusal of an act whose seen head differs from this copy into an
    /// alarm with its proof: the act, and this participant's act at that position.
    pub(crate) fn equivocation_of(
        &self,
        case: CaseId,
        incoming: &VerifiedAct,
        rejection: &Rejection,
    ) -> Option<Alarm> {
        let Rejection::Equivocation {
            channel,
            index,
            theirs,
            ours,
        } = rejection
        else {
            return None;
        };
        let mut evidence = vec![incoming.signed.clone()];
        if let Ok(Some(own)) = self.act_at(case, channel, *index) {
            evidence.push(own.signed);
        }
        Some(Alarm::equivocation(
            channel,
            *index,
            *theirs,
            *ours,
            PARTICIPANT,
            evidence,
        ))
    }

    /// After `verified` is folded: keeps the heads it saw beyond this copy as claims, and
    /// compares the claim it reaches, if any.
    pub(crate) fn note_seen(
        &mut self,
        case: CaseId,
        verified: &VerifiedAct,
    ) -> Result<(), ClientError> {
        let act = &verified.act;
        let local = self.local_mut(case)?;
        let Some(state) = local.state.as_ref() else {
            return Ok(());
        };
        for head in &act.seen {
            let held = state.held(&head.channel);
            let newer = local
                .claims
                .get(&head.channel)
                .is_none_or(|c| c.head.index < head.index);
            if local.cursors.contains_key(&head.channel) && held < head.index && newer {
                local.claims.insert(
                    head.channel.clone(),
                    Claim {
                        head: head.clone(),
                        by: verified.signed.clone(),
                    },
                );
            }
        }
        let Some(claim) = local.claims.get(&act.channel) else {
            return Ok(());
        };
        if act.index < claim.head.index {
            return Ok(());
        }
        let claim = claim.clone();
        local.claims.remove(&act.channel);
        let ours = if act.index == claim.head.index {
            Some(verified.hash)
        } else {
            // A newcomer's chain may start past the claimed position: compare what it holds.
            self.act_at(case, &act.channel, claim.head.index)?
                .map(|v| v.hash)
        };
        match ours {
            Some(ours) if ours != claim.head.hash => {
                Err(ClientError::Alarm(Box::new(Alarm::equivocation(
                    &act.channel,
                    claim.head.index,
                    claim.head.hash,
                    ours,
                    PARTICIPANT,
                    vec![claim.by, verified.signed.clone()],
                ))))
            }
            _ => Ok(()),
        }
    }

    /// At the end of a sync: a channel still short of what some act saw is read once more;
    /// if it is still short, the hub is withholding.
    pub(crate) async fn settle_claims(&mut self, case: CaseId) -> Result<(), ClientError> {
        let channels: Vec<ChannelName> = self.local(case)?.claims.keys().cloned().collect();
        for channel in channels {
            self.pull(case, &channel, &mut SyncReport::default())
                .await?;
            let local = self.local(case)?;
            let Some(claim) = local.claims.get(&channel) else {
                continue;
            };
            let held = local.state.as_ref().map_or(0, |s| s.held(&channel));
            if held < claim.head.index {
                let alarm = Alarm::withheld(&claim.head, held, PARTICIPANT, vec![claim.by.clone()]);
                return Err(self.raise(case, alarm));
            }
        }
        Ok(())
    }
}
