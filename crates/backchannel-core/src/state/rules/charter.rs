//! The rules of the charter, the issues and the agenda.

use backchannel_formula::Issue;

use super::Ctx;
use crate::act::Digest32;
use crate::procedure::{AgendaProposers, Charter};
use crate::state::{Rejection, check_label};

impl Ctx<'_> {
    pub(super) fn charter_proposed(&self, charter: &Charter) -> Result<(), Rejection> {
        let state = self.state;
        if state.charter_in_force() {
            return Err(Rejection::Conflict(
                "the charter is already in force".into(),
            ));
        }
        for deadline in &charter.deadlines {
            check_label("a deadline", &deadline.what)?;
            check_label("a deadline's date", &deadline.by)?;
        }
        Ok(())
    }

    pub(super) fn charter_accepted(&self, proposal: &Digest32) -> Result<(), Rejection> {
        let party = self.author_party()?;
        let charter = self.charter()?;
        self.binding(party, "accept the charter")?;
        if charter.proposal != *proposal {
            return Err(Rejection::Unknown(
                "that is not the charter on the table".into(),
            ));
        }
        if charter.accepted_by.contains(party) {
            return Err(Rejection::Conflict(format!(
                "{party} has already accepted the charter"
            )));
        }
        Ok(())
    }

    pub(super) fn issues_defined(&self, issues: &[Issue]) -> Result<(), Rejection> {
        let procedure = &self.state.procedure;
        if !procedure.issues.is_empty() {
            return Err(Rejection::Conflict("the issues are already defined".into()));
        }
        if issues.is_empty() {
            return Err(Rejection::Invalid("define at least one issue".into()));
        }
        let scenario = backchannel_formula::Scenario {
            issues: issues.to_vec(),
            ..self.issues_scenario()
        };
        scenario
            .validate_issues()
            .map_err(|e| Rejection::Invalid(e.to_string()))
    }

    pub(super) fn agenda_proposed(&self, title: &str, demand: &bool) -> Result<(), Rejection> {
        let state = self.state;
        let act = self.act;
        check_label("an agenda item", title)?;
        if act.author != state.mediator {
            self.party("propose agenda items")?;
            if self.charter()?.charter.agenda_proposers == AgendaProposers::MediatorOnly {
                return Err(Rejection::CharterForbids("parties to propose agenda items"));
            }
        } else if *demand {
            return Err(Rejection::Invalid("a demand is a party's".into()));
        }
        Ok(())
    }

    pub(super) fn agenda_consented(&self, item: &u64) -> Result<(), Rejection> {
        let procedure = &self.state.procedure;
        let party = self.author_party()?;
        self.binding(party, "consent to agenda items")?;
        let Some(entry) = procedure.agenda.get(item) else {
            return Err(Rejection::Unknown(format!("no agenda item {item}")));
        };
        if entry.consents.contains(party) {
            return Err(Rejection::Conflict(format!(
                "{party} has already consented to item {item}"
            )));
        }
        Ok(())
    }
}
