//! The procedural rules. `Ctx::check` starts from the table of act kinds (`kinds::KINDS`:
//! a kind only the mediator or only a party posts, and where it goes), then dispatches on the
//! act's kind to one method per kind for what the table cannot say, grouped by subject:
//! membership and channels, charter and agenda, positions, requirements and conveying,
//! drafts, offers, the settlement (direct talks, the agreement, declarations, checkpoints)
//! and implementation.

mod charter;
mod conveying;
mod drafts;
mod implementation;
mod membership;
mod offers;
mod settlement;

use super::{CaseState, ChannelState, Rejection};
use crate::act::{Act, ActBody, ChannelPurpose, MAX_TEXT_CHARS, SignedAct, VerifiedAct};
use crate::history::History;
use crate::kinds::{Author, Place};
use crate::procedure::{CharterState, Delegation};

fn check_text(what: &str, text: &str) -> Result<(), Rejection> {
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_TEXT_CHARS {
        return Err(Rejection::Invalid(format!(
            "{what} is 1 to {MAX_TEXT_CHARS} characters"
        )));
    }
    Ok(())
}

/// One act under check, with what the rules need to hand.
pub(super) struct Ctx<'a> {
    pub(super) state: &'a CaseState,
    pub(super) history: &'a dyn History,
    pub(super) act: &'a Act,
    pub(super) public: bool,
    pub(super) channel: &'a ChannelState,
    /// The author's party, if the author is a party's participant.
    pub(super) party: Option<&'a str>,
}

impl Ctx<'_> {
    fn mediator(&self, what: &'static str) -> Result<(), Rejection> {
        if self.act.author == self.state.mediator {
            Ok(())
        } else {
            Err(Rejection::MediatorOnly(what))
        }
    }

    fn party(&self, what: &'static str) -> Result<&str, Rejection> {
        self.party.ok_or(Rejection::PartyOnly(what))
    }

    /// The author's party, for a kind only parties post (the table's gate has checked it).
    fn author_party(&self) -> Result<&str, Rejection> {
        self.party(self.act.body.spec().does)
    }

    /// What the table of act kinds says of every act of this kind: a kind only the mediator
    /// posts, or only a party, and where it is posted. The kind's own rule follows.
    fn gate(&self) -> Result<(), Rejection> {
        let spec = self.act.body.spec();
        match spec.who {
            [Author::Mediator] => self.mediator(spec.does)?,
            [Author::Party] => {
                self.party(spec.does)?;
            }
            _ => {}
        }
        match spec.place {
            Place::Public => self.public_only(),
            Place::Parties | Place::Discreet => self.discreet_only(),
            Place::OwnChannel => self.own_channel(spec.does).map(drop),
            Place::Any => Ok(()),
        }
    }

    /// Under a charter (proposed or in force) of `delegation: head`, only the party's head
    /// of delegation binds it: accepts, consents, answers drafts, signs, declares.
    fn binding(&self, party: &str, what: &'static str) -> Result<(), Rejection> {
        let state = self.state;
        let mode = state
            .procedure
            .charter
            .as_ref()
            .map_or(Delegation::Any, |c| c.charter.delegation);
        let head = state
            .participants
            .get(&self.act.author)
            .is_some_and(|p| p.head);
        if mode == Delegation::Any || head {
            Ok(())
        } else {
            Err(Rejection::HeadOnly {
                party: party.to_owned(),
                what,
            })
        }
    }

    fn public_only(&self) -> Result<(), Rejection> {
        if self.public {
            Ok(())
        } else {
            Err(Rejection::PublicOnly(self.act.body.kind()))
        }
    }

    fn discreet_only(&self) -> Result<(), Rejection> {
        if self.public {
            Err(Rejection::DiscreetOnly(self.act.body.kind()))
        } else {
            Ok(())
        }
    }

    /// The author's own bilateral channel; `what` the act does, for a non-party told that
    /// only a party may do it.
    fn own_channel(&self, what: &'static str) -> Result<&str, Rejection> {
        let party = self.party(what)?;
        match &self.channel.purpose {
            Some(ChannelPurpose::Bilateral { party: p }) if p == party => Ok(party),
            _ => Err(Rejection::OwnChannelOnly(self.act.body.kind())),
        }
    }

    /// Whether this participant's copy of the act's channel lacks the acts before it was
    /// seated there (seated late, with no history shared): a reference into that past cannot
    /// be checked here and is taken on its author's signature, as every participant who
    /// holds the past checks it.
    fn unseen_past(&self) -> bool {
        self.channel.joined_at.is_some()
    }

    /// How far the author had read the public record when it posted the act (`Act::seen`):
    /// a public act's own position.
    fn seen_public(&self) -> u64 {
        if self.public {
            return self.act.index;
        }
        self.act
            .seen
            .iter()
            .find(|head| head.channel.is_public())
            .map_or(0, |head| head.index)
    }

    fn charter(&self) -> Result<&CharterState, Rejection> {
        self.state
            .procedure
            .charter
            .as_ref()
            .ok_or(Rejection::CharterNotInForce("anything else"))
    }

    /// An embedded act: verified, of this case.
    fn embedded(&self, signed: &SignedAct) -> Result<VerifiedAct, Rejection> {
        let verified = signed
            .clone()
            .verify()
            .map_err(|e| Rejection::BadEmbedded(e.to_string()))?;
        if verified.act.case != self.state.case {
            return Err(Rejection::BadEmbedded("it belongs to another case".into()));
        }
        Ok(verified)
    }

    fn embedded_party(&self, verified: &VerifiedAct) -> Result<String, Rejection> {
        self.state
            .participants
            .get(&verified.act.author)
            .and_then(|p| p.role.party().map(str::to_owned))
            .ok_or_else(|| {
                Rejection::BadEmbedded(format!(
                    "{} is not a party's participant",
                    verified.act.author.short()
                ))
            })
    }

    fn check_issue_option(&self, issue: &str, option: &str) -> Result<(), Rejection> {
        let issues = &self.state.procedure.issues;
        if issues.is_empty() {
            return Ok(());
        }
        let Some(found) = issues.iter().find(|i| i.id == issue) else {
            return Err(Rejection::Unknown(format!("no issue {issue:?} is defined")));
        };
        if found.options.iter().any(|o| o.id == option) {
            Ok(())
        } else {
            Err(Rejection::Unknown(format!(
                "issue {issue:?} has no option {option:?}"
            )))
        }
    }

    fn check_conditions(
        &self,
        conditions: &[backchannel_formula::Condition],
    ) -> Result<(), Rejection> {
        for condition in conditions {
            if condition.options.is_empty() {
                return Err(Rejection::Invalid(format!(
                    "a term on {:?} names no option",
                    condition.issue
                )));
            }
            for option in &condition.options {
                self.check_issue_option(&condition.issue, option)?;
            }
        }
        Ok(())
    }

    /// The case's issues as a scenario, to validate positions and requirements against.
    fn issues_scenario(&self) -> backchannel_formula::Scenario {
        self.state.procedure.scenario(vec![], vec![])
    }

    /// Whether the act under check follows the procedural rules (membership excepted: the
    /// caller checks it last).
    pub(super) fn check(&self) -> Result<(), Rejection> {
        self.gate()?;
        match &self.act.body {
            ActBody::CaseOpened { .. } => Err(Rejection::BadGenesis),
            ActBody::MemberAdmitted {
                key, name, role, ..
            } => self.member_admitted(key, name, role),
            ActBody::ChannelOpened {
                channel: name,
                purpose,
            } => self.channel_opened(name, purpose),
            ActBody::MembersChanged { members } => self.members_changed(members),
            ActBody::ChannelSeated { channel, members } => self.channel_seated(channel, members),
            ActBody::PlanProposed { plan } => self.plan_proposed(plan),
            ActBody::PlanAccepted { proposal } => self.plan_accepted(proposal),
            ActBody::ProgressReported {
                commitment,
                status,
                note,
            } => self.progress_reported(commitment, *status, note),
            ActBody::Attested {
                commitment,
                status,
                evidence,
            } => self.attested(commitment, *status, evidence),
            ActBody::DisputeOpened {
                commitments,
                complaint,
            } => self.dispute_opened(commitments, complaint),
            ActBody::DisputeEscalated { dispute } => self.dispute_escalated(*dispute),
            ActBody::DisputeOpinion { dispute, opinion } => self.dispute_opinion(*dispute, opinion),
            ActBody::DisputeResolved {
                dispute,
                resolution,
            } => self.dispute_resolved(*dispute, resolution),
            ActBody::RemedyInvoked { dispute, remedy } => self.remedy_invoked(*dispute, remedy),
            ActBody::ExtensionConsented { commitment, days } => {
                self.extension_consented(commitment, *days)
            }
            ActBody::DeadlineExtended { commitment, days } => {
                self.deadline_extended(commitment, *days)
            }
            ActBody::Message { text } => check_text("a message", text),
            ActBody::CharterProposed { charter } => self.charter_proposed(charter),
            ActBody::CharterAccepted { proposal } => self.charter_accepted(proposal),
            ActBody::IssuesDefined { issues } => self.issues_defined(issues),
            ActBody::AgendaProposed { title, demand } => self.agenda_proposed(title, demand),
            ActBody::AgendaConsented { item } => self.agenda_consented(item),
            ActBody::PositionSealed { position, replaces } => {
                self.position_sealed(position, *replaces)
            }
            ActBody::RequirementRegistered {
                requirement,
                rationale,
            } => self.requirement_registered(requirement, rationale),
            ActBody::ConveyConsent { act: message, to } => self.convey_consent(message, to),
            ActBody::Conveyed { from, conveyance } => self.conveyed(from, conveyance),
            ActBody::NonPaper { text } => self.non_paper(text),
            ActBody::DraftIssued { draft } => self.draft_issued(draft),
            ActBody::DraftAnswered { version, answers } => self.draft_answered(version, answers),
            ActBody::OfferCommitted { commitment } => self.offer_committed(commitment),
            ActBody::OfferTabled { offer, salt } => self.offer_tabled(offer, salt),
            ActBody::OfferWithdrawn { commitment } => self.offer_withdrawn(commitment),
            ActBody::OffersOpened { offers } => self.offers_opened(offers),
            ActBody::OffersMatched { commitments } => self.offers_matched(commitments),
            ActBody::DirectTalksProposed { channel } => self.direct_talks_proposed(channel),
            ActBody::DirectTalksConsented { channel } => self.direct_talks_consented(channel),
            ActBody::AgreementTabled { agreement } => self.agreement_tabled(agreement),
            ActBody::AgreementSigned { agreement } => self.agreement_signed(agreement),
            ActBody::AgreementPublished {
                agreement,
                signatures,
            } => self.agreement_published(agreement, signatures),
            ActBody::AgreementGuaranteed { agreement } => self.agreement_guaranteed(agreement),
            ActBody::DeclarationTabled { declaration } => self.declaration_tabled(declaration),
            ActBody::DeclarationsPublished { declarations } => {
                self.declarations_published(declarations)
            }
            ActBody::Checkpoint { heads } => self.checkpoint(heads),
        }
    }
}
