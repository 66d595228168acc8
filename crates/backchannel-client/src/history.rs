//! History for delegates seated late. MLS keeps a newcomer from reading what a channel held
//! before it joined, by design; so when the mediator seats someone in a channel that already
//! has acts, it posts them again in the current epoch, signed by their authors, as a shared
//! history (`history::SharedHistory`): a channel entry that is not an act, so that no history
//! is ever carried inside another and any number of delegates may be seated late. Every
//! reader checks it (`CaseState::check_history`: signatures, one chain from the channel's
//! first act, the same acts as its copy where it holds them, and for the newcomer a chain that
//! leads to the first act it read). The newcomer keeps the acts it lacked and, once it holds
//! the whole chain, replays the case with them, so that it knows the drafts, positions,
//! answers and offers of its party as its colleagues do. Every replay of a copy reads it in
//! one order (`in_replay_order`), which folds to the same state as any reading order
//! (`core/tests/interleaving.rs`).

use backchannel_core::act::{ActBody, SignedAct, VerifiedAct};
use backchannel_core::history::SharedHistory;
use backchannel_core::{CaseId, CaseState, ChannelName, PublicKey};

use crate::client::{Client, StoreHistory, SyncReport};
use crate::error::ClientError;
use crate::store::{Filter, NewAct};

/// The most payload bytes of earlier acts one shared history carries (an act is at most
/// `MAX_ACT_BYTES`, and the hub takes entries of up to 512 KiB; acts travel in base64).
const SHARE_BYTES: usize = 256 * 1024;

impl Client {
    /// As the mediator, after a channel's members changed: if the change seated someone in a
    /// channel that already held acts, and the channel's history up to it has not been shared
    /// since, shares it. A crash between the share and its record shares it again, which
    /// changes nothing for a reader that holds it.
    pub(crate) async fn share_history(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
    ) -> Result<(), ClientError> {
        // Known from the fold, so that the mediator's every sync, which passes here for each
        // seated delegate, reads nothing when no history is owed.
        let local = self.local(case)?;
        let seated_at = local.seated_at.get(channel).copied().unwrap_or(0);
        let shared_to = local.shared_to.get(channel).copied().unwrap_or(0);
        if seated_at <= 1 || shared_to + 1 >= seated_at {
            return Ok(());
        }
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
        if self.wants_history(case, &changes)? {
            self.post_shared(case, channel, &acts, seated_at).await?;
        }
        // Shared, or not owed to whoever was seated: either way, settled up to the seating.
        self.local_mut(case)?
            .shared_to
            .insert(channel.clone(), seated_at - 1);
        self.persist(Some(case), vec![], vec![], false)
    }

    /// Posts the acts before `seated_at` as shared histories, each within [`SHARE_BYTES`].
    async fn post_shared(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        acts: &[VerifiedAct],
        seated_at: u64,
    ) -> Result<(), ClientError> {
        let mut chunk: Vec<SignedAct> = Vec::new();
        let mut bytes = 0;
        for earlier in acts.iter().filter(|a| a.act.index < seated_at) {
            if !chunk.is_empty() && bytes + earlier.signed.payload.len() > SHARE_BYTES {
                self.post_history(case, channel, std::mem::take(&mut chunk))
                    .await?;
                bytes = 0;
            }
            bytes += earlier.signed.payload.len();
            chunk.push(earlier.signed.clone());
        }
        if !chunk.is_empty() {
            self.post_history(case, channel, chunk).await?;
        }
        Ok(())
    }

    /// Posts `acts` as a shared history of `channel`, whatever they are: what a dishonest
    /// mediator could send. For tests of the readers' checks.
    #[doc(hidden)]
    pub async fn post_shared_history(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        acts: Vec<SignedAct>,
    ) -> Result<(), ClientError> {
        self.post_history(case, channel, acts).await
    }

    /// Posts one shared history on `channel`, through the outbox, after the head last read.
    async fn post_history(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        acts: Vec<SignedAct>,
    ) -> Result<(), ClientError> {
        let plaintext = SharedHistory { history: acts }.to_bytes();
        for _ in 0..crate::outbox::POST_ATTEMPTS {
            self.pull(case, channel, &mut SyncReport::default()).await?;
            let after = self.cursor(case, channel)?;
            let entry = self.message_entry(case, channel, after, &plaintext)?;
            match self.send_entry(case, channel, entry, None).await {
                Ok(_) => return Ok(()),
                Err(e) if e.is_stale_head() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ClientError::Invalid(format!(
            "channel {channel} is too busy to share its history"
        )))
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

    /// A shared history arrived at `seq` of `channel` from `sender`: checks it, stores the
    /// acts this copy lacked with the cursor, and once they reach the first act this
    /// participant read in the channel, replays the case with them. One transaction.
    pub(crate) fn take_history(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        seq: u64,
        sender: Option<PublicKey>,
        shared: &SharedHistory,
    ) -> Result<(), ClientError> {
        let state = self.state(case)?;
        if sender != Some(state.mediator) {
            return Err(ClientError::Invalid(
                "a shared history comes from the mediator only".into(),
            ));
        }
        let acts = shared.verified()?;
        state.check_history(channel, &acts, &StoreHistory::new(&self.store, case))?;
        let first = state.channels.get(channel).and_then(|c| c.joined_at);
        let mut lacking = Vec::new();
        if let Some((first, _)) = first {
            for act in acts {
                if act.act.index < first
                    && self.store.hash_at(&case, channel, act.act.index)?.is_none()
                {
                    lacking.push(act);
                }
            }
        }
        let reaches = matches!((first, lacking.last()), (Some((first, _)), Some(last)) if last.act.index + 1 == first);
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
        if reaches {
            self.replay_with(case, &new)?;
        }
        self.local_mut(case)?.cursors.insert(channel.clone(), seq);
        self.persist(Some(case), new, vec![], false)
    }

    /// Replays the case from everything held and the earlier acts just shared.
    fn replay_with(&mut self, case: CaseId, shared: &[NewAct]) -> Result<(), ClientError> {
        let mut all: Vec<VerifiedAct> = self
            .store
            .acts(&case, Filter::default())?
            .into_iter()
            .map(|s| s.act)
            .collect();
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
/// channel from its first act held. A shared history is stored after the acts that arrived
/// before it; replayed in this order, its acts sit where they belong.
pub(crate) fn in_replay_order(acts: &mut [VerifiedAct]) {
    fn key(v: &VerifiedAct) -> (bool, &str, u64) {
        (
            !v.act.channel.is_public(),
            v.act.channel.as_str(),
            v.act.index,
        )
    }
    acts.sort_by(|a, b| key(a).cmp(&key(b)));
}
