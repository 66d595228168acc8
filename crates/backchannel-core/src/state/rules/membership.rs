//! The rules of membership: admitting participants, opening channels and changing who
//! sits in a discreet one.

use super::Ctx;
use crate::act::{ChannelPurpose, Role};
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
}
