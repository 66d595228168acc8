//! The single negotiating text as a participant drives it: drafts issued and answered, the
//! formula engine's next draft over the positions sealed to the mediator, and the pure helpers
//! on packages and clauses the commands share.

use std::collections::BTreeMap;

use backchannel_core::procedure::{Answers, Clause, Draft};
use backchannel_core::{ActBody, CaseId, Rejection};
use backchannel_formula::{Issue, Package, Requirement};
use serde::Serialize;

use crate::client::{Client, LogLine};
use crate::error::ClientError;

/// The engine's proposal for the next single negotiating text.
#[derive(Clone, Debug, Serialize)]
pub struct DraftProposal {
    pub draft: Draft,
    /// The formula engine's reasoning: changes, utilities, Nash share, objections met.
    pub engine: backchannel_formula::Draft,
    /// Ids of the registered requirements the proposal meets, and of those it does not.
    pub requirements_met: Vec<String>,
    pub requirements_unmet: Vec<String>,
    /// Where the proposal departs from the terms of offers that matched.
    pub departs_from_offers: Vec<String>,
}

/// One difference between two drafts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClauseDiff {
    pub clause: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Whether a package meets a requirement (issues the package leaves open do not meet it).
pub fn meets(requirement: &Requirement, package: &Package) -> bool {
    use backchannel_formula::RequirementKind;
    let settles = |issue: &str, options: &[String]| {
        package
            .get(issue)
            .is_some_and(|o| options.iter().any(|x| x == o))
    };
    match &requirement.kind {
        RequirementKind::RequireOneOf { issue, options } => settles(issue, options),
        RequirementKind::Forbid { issue, options } => package
            .get(issue)
            .is_some_and(|o| !options.iter().any(|x| x == o)),
        RequirementKind::Implies { if_, then } => {
            !settles(&if_.issue, &if_.options) || settles(&then.issue, &then.options)
        }
    }
}

/// The clauses of a package: one per issue, in the issues' order.
pub fn clauses_for(issues: &[Issue], package: &Package) -> Vec<Clause> {
    issues
        .iter()
        .filter_map(|issue| {
            let option = package.get(&issue.id)?;
            let label = issue.options.iter().find(|o| o.id == option)?.label.clone();
            Some(Clause {
                id: issue.id.clone(),
                text: format!("{}: {label}.", issue.title),
                issue: Some(issue.id.clone()),
                option: Some(option.to_owned()),
                alternatives: vec![],
            })
        })
        .collect()
}

/// Clause-by-clause differences between two drafts.
pub fn diff(a: &Draft, b: &Draft) -> Vec<ClauseDiff> {
    let before: BTreeMap<&str, &Clause> = a.clauses.iter().map(|c| (c.id.as_str(), c)).collect();
    let after: BTreeMap<&str, &Clause> = b.clauses.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut ids: Vec<&str> = a.clauses.iter().map(|c| c.id.as_str()).collect();
    ids.extend(
        b.clauses
            .iter()
            .map(|c| c.id.as_str())
            .filter(|id| !before.contains_key(id)),
    );
    ids.into_iter()
        .filter_map(|id| {
            let (x, y) = (before.get(id), after.get(id));
            (x != y).then(|| ClauseDiff {
                clause: id.to_owned(),
                before: x.map(|c| c.text.clone()),
                after: y.map(|c| c.text.clone()),
            })
        })
        .collect()
}

impl Client {
    // --- the single negotiating text --------------------------------------------------------

    /// The next version number of the single negotiating text.
    pub fn next_draft_version(&self, case: CaseId) -> Result<u32, ClientError> {
        Ok(self
            .state(case)?
            .procedure
            .latest_draft_anywhere()
            .map_or(1, |d| d.version + 1))
    }

    /// As mediator: issues a draft to every party (each in its bilateral channel).
    pub async fn issue_draft(
        &mut self,
        case: CaseId,
        title: &str,
        clauses: Vec<Clause>,
    ) -> Result<Draft, ClientError> {
        self.sync(case).await?;
        let draft = Draft {
            version: self.next_draft_version(case)?,
            title: title.to_owned(),
            clauses,
        };
        self.act(
            case,
            ActBody::DraftIssued {
                draft: draft.clone(),
            },
        )
        .await?;
        Ok(draft)
    }

    /// As a party: answers a draft clause by clause, to the mediator only.
    pub async fn answer_draft(
        &mut self,
        case: CaseId,
        version: u32,
        answers: Answers,
    ) -> Result<LogLine, ClientError> {
        self.act_once(case, ActBody::DraftAnswered { version, answers })
            .await
    }

    /// A draft by version, as this participant holds it.
    pub fn draft(&self, case: CaseId, version: u32) -> Result<Draft, ClientError> {
        self.state(case)?
            .procedure
            .drafts
            .values()
            .flat_map(|d| d.iter())
            .find(|d| d.version == version)
            .cloned()
            .ok_or_else(|| {
                ClientError::Invalid(format!("no draft version {version} is known here"))
            })
    }

    /// The scenario the mediator holds: the case's issues, the positions sealed to it, the
    /// observers' requirements.
    pub fn held_scenario(
        &self,
        case: CaseId,
    ) -> Result<backchannel_formula::Scenario, ClientError> {
        let procedure = &self.state(case)?.procedure;
        let requirements = procedure
            .requirements
            .iter()
            .map(|r| r.requirement.clone())
            .collect();
        let scenario = procedure.scenario(
            procedure.positions.values().cloned().collect(),
            requirements,
        );
        scenario.validate().map_err(|e| {
            ClientError::Invalid(format!(
                "the positions held do not form a scenario yet: {e}"
            ))
        })?;
        Ok(scenario)
    }

    /// As mediator: the formula engine's next draft, from the positions it holds, the current
    /// draft and every party's answers to it. Nothing is posted.
    pub fn propose_next_draft(&self, case: CaseId) -> Result<DraftProposal, ClientError> {
        self.propose_next_draft_with(case, &backchannel_formula::DraftOptions::default())
    }

    /// [`Client::propose_next_draft`] with the engine's knobs (e.g. how close to the best
    /// Nash product a proposal must stay).
    pub fn propose_next_draft_with(
        &self,
        case: CaseId,
        options: &backchannel_formula::DraftOptions,
    ) -> Result<DraftProposal, ClientError> {
        let state = self.state(case)?;
        if state.mediator != self.key() {
            return Err(
                Rejection::MediatorOnly("run the formula engine on sealed positions").into(),
            );
        }
        let scenario = self.held_scenario(case)?;
        let solution =
            backchannel_formula::solve(&scenario, &backchannel_formula::SolveOptions::default());
        let procedure = &state.procedure;
        let latest = procedure.latest_draft_anywhere();
        let current = match (latest, &solution.nash) {
            (Some(draft), _) => draft.package(),
            (None, Some(nash)) => nash.package.clone(),
            (None, None) => {
                // No text yet, and no package every sealed position accepts: say why.
                let mut why: Vec<String> = scenario
                    .parties
                    .iter()
                    .flat_map(|p| scenario.infeasibility(p))
                    .collect();
                if why.is_empty() {
                    why.push(
                        "the positions sealed here leave no package inside every party's red \
                         lines and reservation"
                            .into(),
                    );
                }
                return Err(ClientError::Invalid(format!(
                    "no draft can be proposed: {}",
                    why.join("; ")
                )));
            }
        };
        let mut responses = Vec::new();
        if let Some(draft) = latest {
            for versions in procedure.answers.values() {
                for (party, answers) in versions.get(&draft.version).into_iter().flatten() {
                    let Some(position) = procedure.positions.get(party) else {
                        continue;
                    };
                    let mut by_issue = BTreeMap::new();
                    for (clause_id, answer) in answers {
                        let Some(issue) = draft
                            .clauses
                            .iter()
                            .find(|c| &c.id == clause_id)
                            .and_then(|c| c.issue.clone())
                        else {
                            continue;
                        };
                        let answer = match answer {
                            backchannel_core::procedure::ClauseAnswer::Accept => {
                                backchannel_formula::Answer::Accept
                            }
                            backchannel_core::procedure::ClauseAnswer::Object { .. } => {
                                backchannel_formula::Answer::Object
                            }
                            backchannel_core::procedure::ClauseAnswer::Prefer { option } => {
                                backchannel_formula::Answer::Prefer(option.clone())
                            }
                        };
                        by_issue.insert(issue, answer);
                    }
                    responses.push(backchannel_formula::Response {
                        party: position.id.clone(),
                        answers: by_issue,
                    });
                }
            }
        }
        let engine =
            backchannel_formula::next_draft(&scenario, &solution, &current, &responses, options)
                .map_err(|e| ClientError::Invalid(format!("the engine proposes no draft: {e}")))?;
        let clauses = clauses_for(&scenario.issues, &engine.package);
        let version = self.next_draft_version(case)?;
        let (met, unmet): (Vec<_>, Vec<_>) = procedure
            .requirements
            .iter()
            .partition(|r| meets(&r.requirement, &engine.package));
        Ok(DraftProposal {
            draft: Draft {
                version,
                title: format!("Single negotiating text, version {version}"),
                clauses,
            },
            departs_from_offers: procedure.departures_from_offers(&engine.package),
            engine,
            requirements_met: met.iter().map(|r| r.requirement.id.clone()).collect(),
            requirements_unmet: unmet.iter().map(|r| r.requirement.id.clone()).collect(),
        })
    }

    /// Whether every party has accepted every clause of a draft version (as far as this
    /// participant can see: the mediator sees all answers).
    pub fn draft_agreed(&self, case: CaseId, version: u32) -> Result<bool, ClientError> {
        let state = self.state(case)?;
        let draft = self.draft(case, version)?;
        let parties = state.parties();
        let mut accepted = 0;
        for versions in state.procedure.answers.values() {
            for (party, answers) in versions.get(&version).into_iter().flatten() {
                let all = draft.clauses.iter().all(|c| {
                    matches!(
                        answers.get(&c.id),
                        Some(backchannel_core::procedure::ClauseAnswer::Accept)
                    )
                });
                if all && parties.contains(party) {
                    accepted += 1;
                }
            }
        }
        Ok(!parties.is_empty() && accepted == parties.len())
    }
}
