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
    /// Records a folded act.
    pub fn record(&mut self, verified: &VerifiedAct) {
        let act = &verified.act;
        self.hashes
            .insert((act.channel.clone(), act.index), verified.hash);
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

/// A channel's earlier acts, signed by their authors, handed to a delegate seated after the
/// channel began: the plaintext of a discreet channel's entry that carries no act of its own,
/// so that a history is never carried inside another. Checked by
/// [`crate::CaseState::check_history`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedHistory {
    pub history: Vec<crate::act::SignedAct>,
}

impl SharedHistory {
    /// The entry's plaintext bytes (JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A channel entry's plaintext, if it is a shared history rather than an act.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    /// Its acts, each with its author's signature checked.
    pub fn verified(&self) -> Result<Vec<VerifiedAct>, crate::Rejection> {
        self.history
            .iter()
            .map(|signed| {
                signed.clone().verify().map_err(|e| {
                    crate::Rejection::BadEmbedded(format!(
                        "the shared history holds an act that does not verify: {e}"
                    ))
                })
            })
            .collect()
    }
}
