//! The rules of implementation: the plan proposed with the published agreement and accepted
//! by every party, each party's progress reports on its own commitments, and the attestations
//! of the verifiers the plan names.

use super::{Ctx, check_text};
use crate::act::{Digest32, Role};
use crate::plan::{Consent, Dispute, Plan, Remedy};
use crate::procedure::ImplementationState;
use crate::state::Rejection;

impl Ctx<'_> {
    pub(super) fn plan_proposed(&self, plan: &Plan) -> Result<(), Rejection> {
        let state = self.state;
        if !state
            .procedure
            .agreement
            .as_ref()
            .is_some_and(|a| a.published)
        {
            return Err(Rejection::Unknown(
                "no agreement is published: the plan implements one".into(),
            ));
        }
        if state
            .procedure
            .implementation
            .as_ref()
            .is_some_and(|i| i.in_force)
        {
            return Err(Rejection::Conflict(
                "an implementation plan is already in force".into(),
            ));
        }
        self.plan_fits_the_case(plan)
    }

    /// A valid plan whose obligors are the case's parties and whose verifiers its observers.
    pub(super) fn plan_fits_the_case(&self, plan: &Plan) -> Result<(), Rejection> {
        let state = self.state;
        plan.validate()
            .map_err(|e| Rejection::Invalid(e.to_string()))?;
        let parties = state.parties();
        for c in &plan.commitments {
            if let Some(stranger) = c.obligors.iter().find(|p| !parties.contains(*p)) {
                return Err(Rejection::Invalid(format!(
                    "commitment {} binds {stranger}, who is not a party of the case",
                    c.id
                )));
            }
        }
        for v in &plan.verifiers {
            let observer = state
                .participants
                .values()
                .any(|p| p.name == v.name && p.role == Role::Observer);
            if !observer {
                return Err(Rejection::Invalid(format!(
                    "verifier {} is not an observer of the case",
                    v.name
                )));
            }
        }
        Ok(())
    }

    pub(super) fn plan_accepted(&self, proposal: &Digest32) -> Result<(), Rejection> {
        let party = self.author_party()?;
        self.binding(party, "accept the implementation plan")?;
        let Some(implementation) = &self.state.procedure.implementation else {
            return Err(Rejection::Unknown(
                "no implementation plan is proposed".into(),
            ));
        };
        if implementation.proposal != *proposal {
            return Err(Rejection::Unknown(
                "that is not the implementation plan on the table".into(),
            ));
        }
        if implementation.accepted_by.contains(party) {
            return Err(Rejection::Conflict(format!(
                "{party} has already accepted the implementation plan"
            )));
        }
        Ok(())
    }

    pub(super) fn progress_reported(
        &self,
        commitment: &str,
        status: u8,
        note: &str,
    ) -> Result<(), Rejection> {
        let party = self.author_party()?;
        let plan = self.plan_in_force()?;
        let Some(c) = plan.commitment(commitment) else {
            return Err(Rejection::Unknown(format!("no commitment {commitment}")));
        };
        if !c.obligors.iter().any(|o| o == party) {
            return Err(Rejection::NotObligor {
                party: party.to_owned(),
                commitment: commitment.to_owned(),
            });
        }
        check_status(status)?;
        if !note.is_empty() {
            check_text("a progress note", note)?;
        }
        Ok(())
    }

    pub(super) fn attested(
        &self,
        commitment: &str,
        status: u8,
        evidence: &str,
    ) -> Result<(), Rejection> {
        let state = self.state;
        if self.party.is_some() {
            return Err(Rejection::PartyAttests);
        }
        let plan = self.plan_in_force()?;
        if plan.commitment(commitment).is_none() {
            return Err(Rejection::Unknown(format!("no commitment {commitment}")));
        }
        let name = state.name_of(&self.act.author);
        let observer = state
            .participants
            .get(&self.act.author)
            .is_some_and(|p| p.role == Role::Observer);
        if !observer || !plan.may_attest(&name, commitment) {
            return Err(Rejection::NotVerifier {
                name,
                commitment: commitment.to_owned(),
            });
        }
        check_status(status)?;
        if !evidence.is_empty() {
            check_text("an attestation's evidence", evidence)?;
        }
        Ok(())
    }

    pub(super) fn dispute_opened(
        &self,
        commitments: &[String],
        complaint: &str,
    ) -> Result<(), Rejection> {
        if self.act.author == self.state.mediator {
            return Err(Rejection::Invalid(
                "the mediator hears disputes: a party or an observer opens one".into(),
            ));
        }
        let plan = self.plan_in_force()?;
        if plan.disputes.is_none() {
            return Err(Rejection::Unknown("the plan has no dispute ladder".into()));
        }
        if commitments.is_empty() || commitments.len() > crate::plan::MAX_ITEMS {
            return Err(Rejection::Invalid(
                "a dispute names one commitment or more".into(),
            ));
        }
        if let Some(unknown) = commitments.iter().find(|c| plan.commitment(c).is_none()) {
            return Err(Rejection::Unknown(format!("no commitment {unknown}")));
        }
        check_text("a complaint", complaint)
    }

    pub(super) fn dispute_escalated(&self, id: u32) -> Result<(), Rejection> {
        let dispute = self.open_dispute(id)?;
        if dispute.exhausted {
            return Err(Rejection::Conflict(format!(
                "dispute {id} has climbed every stage: a remedy may follow"
            )));
        }
        let plan = self.plan_in_force()?;
        let ladder = plan
            .disputes
            .as_ref()
            .ok_or_else(|| Rejection::Unknown("the plan has no dispute ladder".into()))?;
        let ends = ladder
            .stage_ends_ms(dispute.stage, dispute.stage_since_ms)
            .unwrap_or(u64::MAX);
        // The mediator convenes the ladder's bodies: it may refer a dispute on before the
        // stage's days are over, but never past the last stage, which opens the remedies.
        let referred =
            self.act.author == self.state.mediator && dispute.stage + 1 < ladder.stages.len();
        if self.act.at_ms < ends && !referred {
            let stage = ladder
                .stages
                .get(dispute.stage)
                .map_or_else(String::new, |s| s.id.clone());
            return Err(Rejection::StageNotOver {
                dispute: id,
                stage,
                ends,
            });
        }
        Ok(())
    }

    pub(super) fn dispute_opinion(&self, id: u32, opinion: &str) -> Result<(), Rejection> {
        if self.party.is_some() {
            return Err(Rejection::Invalid(
                "an advisory opinion is the mediator's or an observer's, not a party's".into(),
            ));
        }
        let dispute = self.open_dispute(id)?;
        let plan = self.plan_in_force()?;
        let advisory = !dispute.exhausted
            && plan
                .disputes
                .as_ref()
                .and_then(|l| l.stages.get(dispute.stage))
                .is_some_and(|s| s.advisory);
        if !advisory {
            return Err(Rejection::Invalid(format!(
                "dispute {id} is at a stage that takes no advisory opinion"
            )));
        }
        check_text("an advisory opinion", opinion)
    }

    pub(super) fn dispute_resolved(&self, id: u32, resolution: &str) -> Result<(), Rejection> {
        self.open_dispute(id)?;
        check_text("a resolution", resolution)
    }

    pub(super) fn remedy_invoked(&self, id: u32, remedy: &Remedy) -> Result<(), Rejection> {
        let dispute = self.open_dispute(id)?;
        if dispute.by != self.state.name_of(&self.act.author) {
            return Err(Rejection::Invalid(format!(
                "only the complainant, {}, invokes a remedy in dispute {id}",
                dispute.by
            )));
        }
        if !dispute.exhausted {
            return Err(Rejection::LadderNotExhausted(id));
        }
        let plan = self.plan_in_force()?;
        if !plan
            .disputes
            .as_ref()
            .is_some_and(|l| l.remedies.contains(remedy))
        {
            return Err(Rejection::Invalid(
                "the plan provides no such remedy".into(),
            ));
        }
        Ok(())
    }

    pub(super) fn extension_consented(&self, commitment: &str, days: u32) -> Result<(), Rejection> {
        let party = self.author_party()?;
        self.binding(party, "consent to an extension")?;
        let required = self.extension_consenters(commitment, days)?;
        if !required.contains(party) {
            return Err(Rejection::Invalid(format!(
                "the plan does not ask {party}'s consent to move {commitment}'s deadline"
            )));
        }
        let implementation = self.implementation()?;
        if implementation
            .extension_consents
            .iter()
            .any(|(c, d, p)| c == commitment && *d == days && p == party)
        {
            return Err(Rejection::Conflict(format!(
                "{party} has already consented to this extension"
            )));
        }
        Ok(())
    }

    pub(super) fn deadline_extended(&self, commitment: &str, days: u32) -> Result<(), Rejection> {
        let required = self.extension_consenters(commitment, days)?;
        let implementation = self.implementation()?;
        let missing: Vec<String> = required
            .into_iter()
            .filter(|party| {
                !implementation
                    .extension_consents
                    .iter()
                    .any(|(c, d, p)| c == commitment && *d == days && p == party)
            })
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Rejection::ConsentMissing(format!(
                "moving {commitment}'s deadline by {days} days needs the consent of {}",
                missing.join(", ")
            )))
        }
    }

    /// The parties whose consent moving `commitment`'s deadline by `days` needs, provided
    /// the plan allows it and the days stay within what it allows in all.
    fn extension_consenters(
        &self,
        commitment: &str,
        days: u32,
    ) -> Result<std::collections::BTreeSet<String>, Rejection> {
        let plan = self.plan_in_force()?;
        let Some(c) = plan.commitment(commitment) else {
            return Err(Rejection::Unknown(format!("no commitment {commitment}")));
        };
        let Some(extension) = plan.extension_of(commitment) else {
            return Err(Rejection::Invalid(format!(
                "the plan gives {commitment}'s deadline no extension"
            )));
        };
        let granted = self
            .implementation()?
            .extensions
            .iter()
            .filter(|(c, _)| c == commitment)
            .fold(0u32, |sum, (_, d)| sum.saturating_add(*d));
        if days == 0 || granted.saturating_add(days) > extension.max_days {
            return Err(Rejection::Invalid(format!(
                "{commitment}'s deadline may move by {} more days at most, and by one day at least",
                extension.max_days.saturating_sub(granted)
            )));
        }
        Ok(match extension.consent {
            Consent::AllParties => self.state.parties(),
            Consent::Obligors => c.obligors.iter().cloned().collect(),
        })
    }

    fn implementation(&self) -> Result<&ImplementationState, Rejection> {
        self.state
            .procedure
            .implementation
            .as_ref()
            .ok_or(Rejection::PlanNotInForce)
    }

    /// The dispute with this number, provided it is still open.
    fn open_dispute(&self, id: u32) -> Result<&Dispute, Rejection> {
        let dispute = self
            .state
            .procedure
            .implementation
            .as_ref()
            .and_then(|i| i.disputes.iter().find(|d| d.id == id))
            .ok_or_else(|| Rejection::Unknown(format!("no dispute {id}")))?;
        if !dispute.is_open() {
            return Err(Rejection::Conflict(format!("dispute {id} has ended")));
        }
        Ok(dispute)
    }

    fn plan_in_force(&self) -> Result<&Plan, Rejection> {
        match &self.state.procedure.implementation {
            Some(i) if i.in_force => Ok(&i.plan),
            _ => Err(Rejection::PlanNotInForce),
        }
    }
}

fn check_status(status: u8) -> Result<(), Rejection> {
    if status <= 3 {
        Ok(())
    } else {
        Err(Rejection::Invalid(format!(
            "a status is 0 (not initiated) to 3 (complete), not {status}"
        )))
    }
}
