//! What the rules look up in a case's past, rather than hold in the state: the hash of the
//! act at a position (checkpoints are held to it) and the discreet message a hash names (a
//! consent to convey refers to one). Both grow with every act, so [`CaseState`] stays the
//! size of the procedure and the caller answers these questions: the client from its store,
//! [`Ledger`] from memory for replays, exports and tests.
//!
//! [`CaseState`]: crate::CaseState

use std::collections::BTreeMap;

use crate::act::{ActBody, Digest32, VerifiedAct};
use crate::ids::{ChannelName, PublicKey};

/// A participant's verified past, as far as the rules need it.
pub trait History {
    /// The hash of the act folded at `index` of `channel`, if this participant holds it.
    fn hash_at(&self, channel: &ChannelName, index: u64) -> Option<Digest32>;
    /// The discreet channel and author of the message act with this hash, if held.
    fn message(&self, hash: &Digest32) -> Option<(ChannelName, PublicKey)>;
}

/// A history held in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    hashes: BTreeMap<(ChannelName, u64), Digest32>,
    messages: BTreeMap<Digest32, (ChannelName, PublicKey)>,
}

impl Ledger {
    /// Records a folded act, and the earlier acts a shared history carries (the reader
    /// holds them from then on, as the client's store does).
    pub fn record(&mut self, verified: &VerifiedAct) {
        let act = &verified.act;
        self.hashes
            .insert((act.channel.clone(), act.index), verified.hash);
        if let ActBody::HistoryShared { acts } = &act.body {
            for earlier in acts.iter().filter_map(|s| s.clone().reread().ok()) {
                self.hashes
                    .entry((earlier.act.channel.clone(), earlier.act.index))
                    .or_insert(earlier.hash);
            }
        }
        if is_conveyable(verified) {
            self.messages
                .insert(verified.hash, (act.channel.clone(), act.author));
        }
    }

    /// Checks `act` against `state` and this history, folds it into both.
    pub fn fold(
        &mut self,
        state: &mut crate::CaseState,
        act: &VerifiedAct,
    ) -> Result<(), crate::Rejection> {
        state.accept(act, self)?;
        self.record(act);
        Ok(())
    }
}

/// Whether a consent to convey may name this act: a message in a discreet channel.
pub fn is_conveyable(verified: &VerifiedAct) -> bool {
    matches!(verified.act.body, ActBody::Message { .. }) && !verified.act.channel.is_public()
}

impl History for Ledger {
    fn hash_at(&self, channel: &ChannelName, index: u64) -> Option<Digest32> {
        self.hashes.get(&(channel.clone(), index)).copied()
    }

    fn message(&self, hash: &Digest32) -> Option<(ChannelName, PublicKey)> {
        self.messages.get(hash).cloned()
    }
}
