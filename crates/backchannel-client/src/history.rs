//! History for delegates seated late. MLS keeps a newcomer from reading what a channel held
//! before it joined, by design; so when the mediator seats someone in a channel that already
//! has acts, it posts them again, signed by their authors, as `history_shared` acts in the
//! current epoch. The core checks each share (signatures, one chain from the channel's first
//! act, the same acts as any copy that holds them, and for the newcomer, a chain that leads
//! to the first act it read). The newcomer keeps the acts it lacked and, once it holds the
//! whole chain, replays the case with them, so that it knows the drafts, positions, answers
//! and offers of its party as its colleagues do. The replay reads the public record first
//! and then each channel in order, which folds to the same state as any reading order
//! (`core/tests/interleaving.rs`).

use backchannel_core::act::{ActBody, SignedAct, VerifiedAct};
use backchannel_core::{CaseId, CaseState, ChannelName, PublicKey};

use crate::client::Client;
use crate::error::ClientError;
use crate::store::{Filter, NewAct};

/// The most payload bytes of earlier acts one `history_shared` act carries (an act is at
/// most `MAX_ACT_BYTES`, and its embedded acts are base64).
const SHARE_BYTES: usize = 64 * 1024;

impl Client {
    /// As the mediator, after a channel's members changed: if the change seated someone in a
    /// channel that already held acts, and no share has followed it, shares the channel's
    /// acts before it. Looks first at what the channel holds, so running it again after a
    /// crash finishes a share half done.
    pub(crate) async fn share_history(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
    ) -> Result<(), ClientError> {
        let all = Filter {
            channel: Some(channel),
            ..Filter::default()
        };
        let mut acts: Vec<VerifiedAct> = self
            .store
            .acts(&case, all)?
            .into_iter()
            .map(|s| s.act)
            .collect();
        acts.sort_by_key(|a| a.act.index);
        let changes: Vec<&VerifiedAct> = acts
            .iter()
            .filter(|a| matches!(a.act.body, ActBody::MembersChanged { .. }))
            .collect();
        let Some(latest) = changes.last() else {
            return Ok(());
        };
        let seated_at = latest.act.index;
        let shared_to = acts
            .iter()
            .filter(|a| a.act.index > seated_at)
            .filter_map(|a| match &a.act.body {
                ActBody::HistoryShared { acts } => acts.last(),
                _ => None,
            })
            .filter_map(|signed| signed.clone().reread().ok())
            .map(|v| v.act.index)
            .max()
            .unwrap_or(0);
        if seated_at <= 1 || shared_to + 1 >= seated_at || !self.wants_history(case, &changes)? {
            return Ok(());
        }
        let earlier: Vec<&VerifiedAct> = acts
            .iter()
            .filter(|a| a.act.index > shared_to && a.act.index < seated_at)
            .collect();
        if earlier.iter().any(|a| {
            matches!(a.act.body, ActBody::HistoryShared { .. })
                || a.signed.payload.len() > SHARE_BYTES
        }) {
            // An earlier share would be carried inside this one, and shares of shares grow
            // past what an act may hold (as would one act too large to carry): a second
            // delegate seated late in the same channel reads from its seat on.
            tracing::warn!(%channel, "the channel's history cannot be shared in acts: not shared");
            return Ok(());
        }
        let earlier: Vec<SignedAct> = earlier.into_iter().map(|a| a.signed.clone()).collect();
        let mut chunk: Vec<SignedAct> = Vec::new();
        let mut bytes = 0;
        for signed in earlier {
            if !chunk.is_empty() && bytes + signed.payload.len() > SHARE_BYTES {
                let acts = std::mem::take(&mut chunk);
                self.post(case, channel, ActBody::HistoryShared { acts })
                    .await?;
                self.fault("history:shared")?;
                bytes = 0;
            }
            bytes += signed.payload.len();
            chunk.push(signed);
        }
        if !chunk.is_empty() {
            self.post(case, channel, ActBody::HistoryShared { acts: chunk })
                .await?;
        }
        Ok(())
    }

    /// Whether anyone the latest members change seated came with an invite that hands it
    /// the history (invites do, unless issued with `--history none`).
    fn wants_history(&self, case: CaseId, changes: &[&VerifiedAct]) -> Result<bool, ClientError> {
        let members = |act: Option<&&VerifiedAct>| -> Vec<PublicKey> {
            match act.map(|a| &a.act.body) {
                Some(ActBody::MembersChanged { members }) => members.clone(),
                _ => vec![],
            }
        };
        let before = members(changes.len().checked_sub(2).and_then(|i| changes.get(i)));
        let local = self.local(case)?;
        let mediator = local.mediator;
        Ok(members(changes.last())
            .iter()
            .filter(|k| !before.contains(k) && **k != mediator)
            .any(|key| {
                !local
                    .invites
                    .iter()
                    .any(|i| i.used_by == Some(*key) && i.no_history)
            }))
    }

    /// After a `history_shared` act is folded: the earlier acts this copy lacked, to store
    /// with it; once they reach the first act this participant read in the channel, the
    /// case is replayed with them.
    pub(crate) fn take_history(
        &mut self,
        case: CaseId,
        verified: &VerifiedAct,
    ) -> Result<Vec<NewAct>, ClientError> {
        let ActBody::HistoryShared { acts } = &verified.act.body else {
            return Ok(vec![]);
        };
        let channel = &verified.act.channel;
        let local = self.local(case)?;
        let Some((first, _)) = local
            .state
            .as_ref()
            .and_then(|s| s.channels.get(channel))
            .and_then(|c| c.joined_at)
        else {
            return Ok(vec![]);
        };
        let mut lacking = Vec::new();
        for signed in acts {
            let earlier = signed
                .clone()
                .verify()
                .map_err(|e| ClientError::Invalid(e.to_string()))?;
            let index = earlier.act.index;
            if index < first && self.store.hash_at(&case, channel, index)?.is_none() {
                lacking.push(earlier);
            }
        }
        let Some(last) = lacking.last().map(|a| a.act.index) else {
            return Ok(vec![]);
        };
        let local = self.local_mut(case)?;
        let new: Vec<NewAct> = lacking
            .into_iter()
            .map(|act| {
                local.log_len += 1;
                NewAct {
                    case,
                    n: local.log_len,
                    seq: 0,
                    act,
                }
            })
            .collect();
        if last + 1 == first {
            self.replay_with(case, verified, &new)?;
        }
        Ok(new)
    }

    /// Replays the case from everything held, the act being folded and the earlier acts
    /// just shared: the public record first, then each channel in order.
    fn replay_with(
        &mut self,
        case: CaseId,
        verified: &VerifiedAct,
        shared: &[NewAct],
    ) -> Result<(), ClientError> {
        let mut all: Vec<VerifiedAct> = self
            .store
            .acts(&case, Filter::default())?
            .into_iter()
            .map(|s| s.act)
            .collect();
        all.push(verified.clone());
        all.extend(shared.iter().map(|n| n.act.clone()));
        in_replay_order(&mut all);
        let local = self.local_mut(case)?;
        let state = CaseState::replay(&all, Some(local.mediator)).map_err(|e| {
            ClientError::Invalid(format!(
                "the case does not replay with the shared history: {e}"
            ))
        })?;
        local.state = Some(state);
        Ok(())
    }
}

/// The order every replay of a participant's copy reads it in: the public record, then each
/// channel from its first act held. A shared history sits in the log after the act that
/// carried it; replayed in this order it sits where it belongs.
pub(crate) fn in_replay_order(acts: &mut [VerifiedAct]) {
    acts.sort_by(|a, b| {
        let key = |v: &VerifiedAct| (!v.act.channel.is_public(), v.act.channel.clone());
        key(a).cmp(&key(b)).then(a.act.index.cmp(&b.act.index))
    });
}
