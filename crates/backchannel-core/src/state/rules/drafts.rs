//! The rules of the single negotiating text: issuing drafts and answering them.

use std::collections::BTreeSet;

use super::{Ctx, check_text};
use crate::procedure::{Answers, ClauseAnswer, Draft};
use crate::state::{Rejection, check_label};

impl Ctx<'_> {
    pub(super) fn draft_issued(&self, draft: &Draft) -> Result<(), Rejection> {
        let procedure = &self.state.procedure;
        let act = self.act;
        let expected = procedure
            .latest_draft(&act.channel)
            .map_or(1, |d| d.version + 1);
        if draft.version != expected {
            return Err(Rejection::Invalid(format!(
                "the next draft here is version {expected}"
            )));
        }
        check_label("a draft's title", &draft.title)?;
        if draft.clauses.is_empty() {
            return Err(Rejection::Invalid("a draft has at least one clause".into()));
        }
        let mut ids = BTreeSet::new();
        for clause in &draft.clauses {
            check_label("a clause id", &clause.id)?;
            check_text("a clause", &clause.text)?;
            if !ids.insert(&clause.id) {
                return Err(Rejection::Invalid(format!(
                    "clause {:?} appears twice",
                    clause.id
                )));
            }
            let options = clause
                .option
                .iter()
                .chain(clause.alternatives.iter().filter_map(|a| a.option.as_ref()));
            for option in options {
                let issue = clause.issue.as_deref().ok_or_else(|| {
                    Rejection::Invalid(format!(
                        "clause {:?} names an option but no issue",
                        clause.id
                    ))
                })?;
                self.check_issue_option(issue, option)?;
            }
            for alternative in &clause.alternatives {
                check_text("an alternative", &alternative.text)?;
            }
        }
        Ok(())
    }

    pub(super) fn draft_answered(&self, version: &u32, answers: &Answers) -> Result<(), Rejection> {
        let procedure = &self.state.procedure;
        let act = self.act;
        let party = self.author_party()?;
        self.binding(party, "answer drafts")?;
        let Some(draft) = procedure
            .drafts
            .get(&act.channel)
            .and_then(|d| d.iter().find(|d| d.version == *version))
        else {
            if self.unseen_past() {
                return Ok(());
            }
            return Err(Rejection::Unknown(format!(
                "no draft version {version} was issued here"
            )));
        };
        let answered = procedure
            .answers
            .get(&act.channel)
            .and_then(|v| v.get(version))
            .is_some_and(|p| p.contains_key(party));
        if answered {
            return Err(Rejection::Conflict(format!(
                "{party} has already answered version {version}"
            )));
        }
        for (clause_id, answer) in answers {
            let Some(clause) = draft.clauses.iter().find(|c| &c.id == clause_id) else {
                return Err(Rejection::Unknown(format!(
                    "draft {version} has no clause {clause_id:?}"
                )));
            };
            match answer {
                ClauseAnswer::Accept => {}
                ClauseAnswer::Object { reason } => check_text("a reason", reason)?,
                ClauseAnswer::Prefer { option } => {
                    let issue = clause.issue.as_deref().ok_or_else(|| {
                        Rejection::Invalid(format!("clause {clause_id:?} is tied to no issue"))
                    })?;
                    self.check_issue_option(issue, option)?;
                }
            }
        }
        Ok(())
    }
}
