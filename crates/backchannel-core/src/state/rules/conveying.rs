//! The rules of positions, observers' requirements, conveying between channels and
//! non-papers.

use backchannel_formula::{Party as Position, Requirement};

use super::{Ctx, check_text};
use crate::act::{ActBody, Digest32, Role};
use crate::ids::ChannelName;
use crate::procedure::{Attribution, Conveyance};
use crate::state::Rejection;

impl Ctx<'_> {
    pub(super) fn position_sealed(
        &self,
        position: &Position,
        replaces: Option<u32>,
    ) -> Result<(), Rejection> {
        let procedure = &self.state.procedure;
        let party = self.author_party()?;
        if procedure.issues.is_empty() {
            return Err(Rejection::Unknown("the issues are not defined yet".into()));
        }
        // A revision names the version it replaces, so that no delegate silently overwrites
        // what a colleague sealed.
        match (procedure.position_version(party), replaces) {
            (None, None) => {}
            (None, Some(_)) if self.unseen_past() => {}
            (None, Some(_)) => {
                return Err(Rejection::Unknown(format!(
                    "no position of {party} is sealed yet: seal one without replacing"
                )));
            }
            (Some(current), Some(named)) if named == current => {}
            (Some(current), _) => {
                return Err(Rejection::Conflict(format!(
                    "{party}'s position version {current} is sealed: a revision names it (replace {current})"
                )));
            }
        }
        if position.name != party {
            return Err(Rejection::Invalid(format!(
                "a position of {party} must be named {party:?}"
            )));
        }
        self.issues_scenario()
            .validate_party(0, position)
            .map_err(|e| Rejection::Invalid(e.to_string()))
    }

    pub(super) fn requirement_registered(
        &self,
        requirement: &Requirement,
        rationale: &str,
    ) -> Result<(), Rejection> {
        let state = self.state;
        let procedure = &state.procedure;
        let act = self.act;
        if !matches!(
            state.participants.get(&act.author).map(|p| &p.role),
            Some(Role::Observer)
        ) {
            return Err(Rejection::Invalid("requirements are the observers'".into()));
        }
        check_text("a rationale", rationale)?;
        if procedure.issues.is_empty() {
            return Err(Rejection::Unknown("the issues are not defined yet".into()));
        }
        self.issues_scenario()
            .validate_requirement(0, requirement)
            .map_err(|e| Rejection::Invalid(e.to_string()))
    }

    pub(super) fn convey_consent(
        &self,
        message: &Digest32,
        to: &ChannelName,
    ) -> Result<(), Rejection> {
        let state = self.state;
        let act = self.act;
        if self.charter()?.charter.attribution != Attribution::OriginalWithConsent {
            return Err(Rejection::CharterForbids("conveying originals"));
        }
        match self.history.message(message) {
            Some((channel, author)) if channel == act.channel && author == act.author => {}
            None if self.unseen_past() => {}
            _ => {
                return Err(Rejection::Unknown(
                    "consent refers to no message of the author in this channel".into(),
                ));
            }
        }
        if to.is_public() || *to == act.channel || !state.channels.contains_key(to) {
            return Err(Rejection::Invalid(format!(
                "{to} is not another discreet channel"
            )));
        }
        Ok(())
    }

    pub(super) fn conveyed(
        &self,
        from: &ChannelName,
        conveyance: &Conveyance,
    ) -> Result<(), Rejection> {
        let state = self.state;
        let act = self.act;
        if from.is_public() || *from == act.channel || !state.channels.contains_key(from) {
            return Err(Rejection::Invalid(format!(
                "{from} is not another discreet channel"
            )));
        }
        match conveyance {
            Conveyance::Paraphrase { text } => check_text("a paraphrase", text),
            Conveyance::Original { original, consent } => {
                if self.charter()?.charter.attribution != Attribution::OriginalWithConsent {
                    return Err(Rejection::CharterForbids("conveying originals"));
                }
                let original = self.embedded(original)?;
                let consent = self.embedded(consent)?;
                if !matches!(original.act.body, ActBody::Message { .. })
                    || original.act.channel != *from
                {
                    return Err(Rejection::Invalid(format!(
                        "the original is not a message of {from}"
                    )));
                }
                match &consent.act.body {
                    ActBody::ConveyConsent { act: hash, to }
                        if *hash == original.hash
                            && *to == act.channel
                            && consent.act.author == original.act.author
                            && consent.act.channel == *from => {}
                    _ => {
                        return Err(Rejection::ConsentMissing(
                            "an original is conveyed only with its author's signed consent to this channel".into(),
                        ));
                    }
                }
                self.embedded_party(&original).map(drop)
            }
        }
    }

    pub(super) fn non_paper(&self, text: &str) -> Result<(), Rejection> {
        if !self.charter()?.charter.non_papers {
            return Err(Rejection::CharterForbids("non-papers"));
        }
        check_text("a non-paper", text)
    }
}
