//! The rules of membership: admitting participants, opening channels and changing who
//! sits in a discreet one.

use super::Ctx;
use crate::act::{ChannelPurpose, Digest32, Role, SignedAct};
use crate::ids::{ChannelName, PublicKey};
use crate::state::{Rejection, check_label};

impl Ctx<'_> {
    pub(super) fn member_admitted(
        &self,
        key: &PublicKey,
        name: &str,
        role: &Role,
    ) -> Result<(), Rejection> {
        let state = self.state;
        if state.participants.contains_key(key) {
            return Err(Rejection::AlreadyParticipant(*key));
        }
        check_label("a participant's name", name)?;
        match role {
            Role::Mediator => Err(Rejection::Invalid("a case has exactly one mediator".into())),
            Role::Party { party } => check_label("a party's name", party),
            Role::Observer => Ok(()),
        }
    }

    pub(super) fn channel_opened(
        &self,
        name: &ChannelName,
        purpose: &ChannelPurpose,
    ) -> Result<(), Rejection> {
        let state = self.state;
        let procedure = &state.procedure;
        if name.is_public() || state.channels.contains_key(name) {
            return Err(Rejection::ChannelExists(name.clone()));
        }
        match purpose {
            ChannelPurpose::Bilateral { party } => check_label("a party's name", party),
            ChannelPurpose::Direct => {
                // Direct talks are on the record: a bilateral channel is not.
                if !state.charter_in_force() {
                    return Err(Rejection::CharterNotInForce(self.act.body.kind()));
                }
                let Some(proposal) = procedure.direct.get(name) else {
                    return Err(Rejection::Unknown(format!(
                        "no direct talks were proposed in {name}"
                    )));
                };
                let missing: Vec<String> = state
                    .parties()
                    .difference(&proposal.consents)
                    .cloned()
                    .collect();
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(Rejection::ConsentMissing(format!(
                        "direct talks open only with every party's consent; missing: {}",
                        missing.join(", ")
                    )))
                }
            }
        }
    }

    pub(super) fn members_changed(&self, members: &[PublicKey]) -> Result<(), Rejection> {
        let state = self.state;
        let act = self.act;
        if !members.contains(&state.mediator) {
            return Err(Rejection::Invalid(
                "the mediator stays in every discreet channel".into(),
            ));
        }
        for member in members {
            state.check_channel_member(&act.channel, self.channel, *member)?;
        }
        Ok(())
    }

    pub(super) fn channel_seated(
        &self,
        name: &ChannelName,
        members: &[PublicKey],
    ) -> Result<(), Rejection> {
        let state = self.state;
        let channel = state
            .channels
            .get(name)
            .filter(|_| !name.is_public())
            .ok_or_else(|| Rejection::UnknownChannel(name.clone()))?;
        if !members.contains(&state.mediator) {
            return Err(Rejection::Invalid(
                "the mediator stays in every discreet channel".into(),
            ));
        }
        for member in members {
            state.check_channel_member(name, channel, *member)?;
        }
        Ok(())
    }

    /// A shared history: consecutive acts of this channel, each signed by its author and
    /// chained to the one before, from the channel's first act or from where this
    /// participant's copy ends; the same acts as this participant's copy where it holds them,
    /// and, for a participant seated late, leading to the first act it read.
    pub(super) fn history_shared(&self, acts: &[SignedAct]) -> Result<(), Rejection> {
        let channel = &self.act.channel;
        if acts.is_empty() {
            return Err(Rejection::Invalid(
                "a shared history holds at least one act".into(),
            ));
        }
        let broken = |why: String| Rejection::BadEmbedded(format!("the shared history {why}"));
        let mut previous: Option<(u64, Digest32)> = None;
        for signed in acts {
            let verified = self.embedded(signed)?;
            let shared = &verified.act;
            if shared.channel != *channel || shared.index >= self.act.index {
                return Err(broken(format!(
                    "holds an act that is not an earlier act of channel {channel}"
                )));
            }
            let follows = match previous {
                Some((index, hash)) if shared.index == index + 1 => Some(hash),
                Some(_) => return Err(broken("skips or repeats an act".into())),
                None if shared.index == 1 => Some(Digest32::ZERO),
                None => self.history.hash_at(channel, shared.index - 1),
            };
            match follows {
                Some(hash) if hash == shared.prev => {}
                Some(_) => {
                    return Err(broken(format!(
                        "breaks the chain at index {}",
                        shared.index
                    )));
                }
                None => {
                    return Err(broken(
                        "does not start where this participant's copy ends".into(),
                    ));
                }
            }
            if let Some(ours) = self.history.hash_at(channel, shared.index)
                && ours != verified.hash
            {
                return Err(Rejection::Equivocation {
                    channel: channel.clone(),
                    index: shared.index,
                    theirs: verified.hash,
                    ours,
                });
            }
            if let Some((first, leads_to)) = self.channel.joined_at
                && shared.index + 1 == first
                && verified.hash != leads_to
            {
                return Err(broken(
                    "does not lead to the first act this participant read in the channel".into(),
                ));
            }
            previous = Some((shared.index, verified.hash));
        }
        Ok(())
    }
}
