//! What is waiting for a participant: from a case's state, what this participant is expected
//! to do next, and by when where the charter or the plan says. A pure function of the state,
//! the participant's key and the time; the client adds what only it knows (joiners waiting
//! for admission) and the command line and the UI show it (`backchannel inbox`, `case show`).
//!
//! Under a charter of `delegation: head`, what binds a party waits for its head alone; under
//! `any`, for every delegate until one has done it.

use serde::Serialize;

use crate::act::Role;
use crate::ids::PublicKey;
use crate::plan;
use crate::procedure::Delegation;
use crate::state::CaseState;

/// One thing to do.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Task {
    /// Stable, for scripts: `accept_charter`, `answer_draft`, `sign_agreement`, …
    pub what: &'static str,
    /// One sentence.
    pub says: String,
    /// The command that does it, with the case as `CASE`.
    pub command: String,
    /// When it is due, where the charter or the plan says: a date as written there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    /// When it is due, where the plan counts it (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_ms: Option<u64>,
    /// What the task is about, where its kind alone does not say: the agenda item, the
    /// direct channel, the draft's version, the joiner's key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
}

fn task(what: &'static str, says: String, command: &str) -> Task {
    Task {
        what,
        says,
        command: format!("backchannel {command}"),
        due: None,
        due_ms: None,
        on: None,
    }
}

impl Task {
    fn on(mut self, subject: impl ToString) -> Self {
        self.on = Some(subject.to_string());
        self
    }
}

/// What `me` is expected to do in the case `state` describes, at `now_ms`.
pub fn waiting(state: &CaseState, me: &PublicKey, now_ms: u64) -> Vec<Task> {
    let Some(participant) = state.participants.get(me) else {
        return vec![];
    };
    let mut tasks = match &participant.role {
        Role::Mediator => mediator(state),
        Role::Party { party } => {
            let binds = state
                .procedure
                .charter
                .as_ref()
                .is_none_or(|c| c.charter.delegation == Delegation::Any)
                || participant.head;
            party_tasks(state, party, binds, now_ms)
        }
        Role::Observer => observer(state, me, &participant.name, now_ms),
    };
    // The charter's deadlines, until an agreement is published.
    let published = state
        .procedure
        .agreement
        .as_ref()
        .is_some_and(|a| a.published);
    if let Some(charter) = state.procedure.charter.as_ref().filter(|_| !published) {
        for deadline in &charter.charter.deadlines {
            let mut t = task(
                "deadline",
                format!("the charter sets {} by {}", deadline.what, deadline.by),
                "case show CASE",
            );
            t.due = Some(deadline.by.clone());
            tasks.push(t);
        }
    }
    tasks
}

fn mediator(state: &CaseState) -> Vec<Task> {
    let procedure = &state.procedure;
    let mut tasks = vec![];
    let Some(charter) = &procedure.charter else {
        tasks.push(task(
            "propose_charter",
            "propose the charter: the procedure the parties will accept".into(),
            "charter propose CASE",
        ));
        return tasks;
    };
    let parties = state.parties();
    if !state.charter_in_force() {
        let missing: Vec<&String> = parties.difference(&charter.accepted_by).collect();
        if !missing.is_empty() {
            tasks.push(task(
                "await_charter",
                format!("the charter waits for {}", names(&missing)),
                "case show CASE",
            ));
        }
        return tasks;
    }
    if procedure.issues.is_empty() {
        tasks.push(task(
            "define_issues",
            "define the issues and their options".into(),
            "issues define CASE --file SCENARIO.json",
        ));
    }
    if let Some(agreement) = procedure.agreement.as_ref().filter(|a| !a.published) {
        if !agreement.signatures.contains_key(&state.mediator) {
            tasks.push(task(
                "sign_agreement",
                format!("sign \"{}\" as witness", agreement.agreement.title),
                "agreement sign CASE",
            ));
        }
        let unsigned = unsigned_parties(state);
        if unsigned.is_empty() && agreement.signatures.contains_key(&state.mediator) {
            tasks.push(task(
                "publish_agreement",
                format!(
                    "publish \"{}\": every signature is in",
                    agreement.agreement.title
                ),
                "agreement publish CASE",
            ));
        }
    }
    if let Some(implementation) = &procedure.implementation {
        for dispute in implementation.disputes.iter().filter(|d| d.is_open()) {
            tasks.push(task(
                "hear_dispute",
                format!(
                    "dispute {} is open: hear it, give an opinion or record a resolution",
                    dispute.id
                ),
                "implement status CASE",
            ));
        }
    }
    tasks
}

fn party_tasks(state: &CaseState, party: &str, binds: bool, now_ms: u64) -> Vec<Task> {
    let procedure = &state.procedure;
    let mut tasks = vec![];
    let Some(charter) = &procedure.charter else {
        return tasks;
    };
    if binds && !charter.accepted_by.contains(party) {
        tasks.push(task(
            "accept_charter",
            "accept the charter the mediator proposed".into(),
            "charter accept CASE",
        ));
    }
    if !state.charter_in_force() {
        return tasks;
    }
    if binds {
        for (item, agenda) in &procedure.agenda {
            let own = state
                .participants
                .get(&agenda.proposed_by)
                .and_then(|p| p.role.party())
                == Some(party);
            if !agenda.adopted && !own && !agenda.consents.contains(party) {
                tasks.push(
                    task(
                        "consent_agenda",
                        format!("consent to agenda item {item}: \"{}\"", agenda.title),
                        &format!("agenda consent CASE --item {item}"),
                    )
                    .on(item),
                );
            }
        }
        for (channel, proposal) in &procedure.direct {
            if !proposal.opened && !proposal.consents.contains(party) {
                tasks.push(
                    task(
                        "consent_direct_talks",
                        format!("consent to direct talks in {channel}"),
                        &format!("direct consent CASE --channel {channel}"),
                    )
                    .on(channel),
                );
            }
        }
    }
    if let Some(channel) = state.bilateral_channel(party)
        && let Some(latest) = procedure.drafts.get(channel).and_then(|d| d.last())
        && binds
    {
        let answered = procedure
            .answers
            .get(channel)
            .and_then(|v| v.get(&latest.version))
            .is_some_and(|p| p.contains_key(party));
        if !answered {
            tasks.push(
                task(
                    "answer_draft",
                    format!("answer draft {} clause by clause", latest.version),
                    &format!("draft answer CASE --version {}", latest.version),
                )
                .on(latest.version),
            );
        }
    }
    if binds
        && let Some(agreement) = procedure.agreement.as_ref().filter(|a| !a.published)
        && unsigned_parties(state).iter().any(|p| p == party)
    {
        tasks.push(task(
            "sign_agreement",
            format!("sign \"{}\" for {party}", agreement.agreement.title),
            "agreement sign CASE",
        ));
    }
    if let Some(implementation) = &procedure.implementation {
        if binds && !implementation.in_force && !implementation.accepted_by.contains(party) {
            tasks.push(task(
                "accept_plan",
                "accept the implementation plan".into(),
                "implement plan accept CASE",
            ));
        }
        if implementation.in_force {
            let status = plan::status(
                &implementation.plan,
                &procedure.implementation_facts(),
                now_ms,
            );
            for commitment in &implementation.plan.commitments {
                let done = status.commitments.iter().find(|c| c.id == commitment.id);
                if commitment.obligors.iter().any(|o| o == party)
                    && done.is_none_or(|c| c.status < 3)
                {
                    let mut t = task(
                        "report_progress",
                        format!("report progress on {}: {}", commitment.id, commitment.text),
                        &format!(
                            "implement report CASE --commitment {} --status N",
                            commitment.id
                        ),
                    );
                    t.due_ms = done.and_then(|c| c.due_ms);
                    tasks.push(t);
                }
            }
        }
    }
    tasks
}

fn observer(state: &CaseState, me: &PublicKey, name: &str, now_ms: u64) -> Vec<Task> {
    let procedure = &state.procedure;
    let mut tasks = vec![];
    if let Some(agreement) = procedure.agreement.as_ref().filter(|a| a.published)
        && agreement.agreement.guarantors.contains(me)
        && !agreement.guaranteed_by.contains(me)
    {
        tasks.push(task(
            "guarantee_agreement",
            format!("co-sign \"{}\" as guarantor", agreement.agreement.title),
            "agreement guarantee CASE",
        ));
    }
    if let Some(implementation) = procedure.implementation.as_ref().filter(|i| i.in_force) {
        let status = plan::status(
            &implementation.plan,
            &procedure.implementation_facts(),
            now_ms,
        );
        for verifier in implementation
            .plan
            .verifiers
            .iter()
            .filter(|v| v.name == name)
        {
            for commitment in &verifier.commitments {
                let pending = status
                    .commitments
                    .iter()
                    .find(|c| &c.id == commitment)
                    .is_some_and(|c| c.reported.is_some() && c.attested != c.reported);
                if pending {
                    tasks.push(task(
                        "attest",
                        format!("attest {commitment}: its obligor reported progress"),
                        &format!("implement attest CASE --commitment {commitment} --status N"),
                    ));
                }
            }
        }
    }
    tasks
}

/// The parties none of whose binding delegates has signed the tabled agreement.
fn unsigned_parties(state: &CaseState) -> Vec<String> {
    let Some(agreement) = &state.procedure.agreement else {
        return vec![];
    };
    state
        .parties()
        .into_iter()
        .filter(|party| {
            !agreement.signatures.keys().any(|key| {
                state
                    .participants
                    .get(key)
                    .and_then(|p| p.role.party())
                    .is_some_and(|p| p == party)
            })
        })
        .collect()
}

fn names(parties: &[&String]) -> String {
    parties
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
