//! The implementation tracker's forms, as `implement …` does them: a party reports progress on
//! its own commitments, a verifier the plan names attests, a party or an observer opens a
//! dispute, and each dispute's steps (escalate, an advisory opinion, the mediator's
//! resolution, the complainant's remedy once the ladder is exhausted).
//!
//! A form is shown only to whom the table of act kinds (`kinds.rs`) and the plan allow; the
//! rules check every act again, and a refused one is shown with its code and sentence and
//! changes nothing.

use std::collections::BTreeSet;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use backchannel_core::kinds::Author;
use backchannel_core::plan::{Dispute, Plan};
use backchannel_core::{CaseId, CaseState, PublicKey};
use maud::{Markup, html};
use serde::Deserialize;

use super::Ui;
use super::allowed::{author, may};
use super::form::invalid;
use super::guard::Refusal;
use super::pages::{case_id, changed_page, failed};

/// The longest note, evidence, complaint, opinion or resolution a form takes.
const TEXT_MAX: usize = 4096;

/// What the viewer may do on the tracker, from the plan in force.
struct Allowed<'a> {
    plan: &'a Plan,
    author: Option<Author>,
    name: String,
    /// The commitments its party performs, to report on.
    report: Vec<&'a str>,
    /// The commitments the plan names it to verify, to attest.
    attest: Vec<&'a str>,
}

fn allowed<'a>(state: &'a CaseState, me: &PublicKey) -> Option<Allowed<'a>> {
    let implementation = state
        .procedure
        .implementation
        .as_ref()
        .filter(|i| i.in_force)?;
    let plan = &implementation.plan;
    let author = author(state, me);
    let name = state.name_of(me);
    let party = state.participants.get(me).and_then(|p| p.role.party());
    let report = match party {
        Some(party) if may(author, "progress_reported") => plan
            .commitments
            .iter()
            .filter(|c| c.obligors.iter().any(|o| o == party))
            .map(|c| c.id.as_str())
            .collect(),
        _ => Vec::new(),
    };
    let observer = author == Some(Author::Observer);
    let attest = if observer && may(author, "attested") {
        plan.commitments
            .iter()
            .filter(|c| plan.may_attest(&name, &c.id))
            .map(|c| c.id.as_str())
            .collect()
    } else {
        Vec::new()
    };
    Some(Allowed {
        plan,
        author,
        name,
        report,
        attest,
    })
}

fn status_select() -> Markup {
    html! {
        select name="status" required {
            option value="0" { "0 — not initiated" }
            option value="1" { "1 — minimal" }
            option value="2" { "2 — intermediate" }
            option value="3" { "3 — complete" }
        }
    }
}

/// The forms under the tracker's commitments: reporting, attesting, opening a dispute.
pub(super) fn forms(ui: &Ui, case: CaseId, state: &CaseState, me: &PublicKey) -> Markup {
    let Some(allowed) = allowed(state, me) else {
        return html! {};
    };
    let hex = case.to_hex();
    let csrf = ui.guard.csrf();
    let disputes = allowed.plan.disputes.is_some()
        && allowed.author != Some(Author::Mediator)
        && may(allowed.author, "dispute_opened");
    html! {
        @if !allowed.report.is_empty() {
            form.implement method="post" action={"/case/" (hex) "/implementation/report"} {
                input type="hidden" name="csrf" value=(csrf);
                h2 { "Report progress" }
                label { "Commitment " select name="commitment" required {
                    @for c in &allowed.report { option value=(c) { (c) } }
                } }
                label { "Status " (status_select()) }
                label { "Note " input type="text" name="note" maxlength=(TEXT_MAX); }
                button type="submit" { "Report" }
            }
        }
        @if !allowed.attest.is_empty() {
            form.implement method="post" action={"/case/" (hex) "/implementation/attest"} {
                input type="hidden" name="csrf" value=(csrf);
                h2 { "Attest, as " (allowed.name) }
                label { "Commitment " select name="commitment" required {
                    @for c in &allowed.attest { option value=(c) { (c) } }
                } }
                label { "Status " (status_select()) }
                label { "Evidence " input type="text" name="evidence" maxlength=(TEXT_MAX); }
                button type="submit" { "Attest" }
            }
        }
        @if disputes {
            form.implement method="post" action={"/case/" (hex) "/implementation/dispute"} {
                input type="hidden" name="csrf" value=(csrf);
                h2 { "Open a dispute" }
                fieldset {
                    legend { "Over" }
                    @for c in &allowed.plan.commitments {
                        label { input type="checkbox" name="commitment" value=(c.id); " " (c.id) }
                    }
                }
                label { "Complaint " input type="text" name="complaint" required maxlength=(TEXT_MAX); }
                button type="submit" { "Open the dispute" }
            }
        }
    }
}

/// The steps the viewer may take in `dispute`, next to it on the tracker.
pub(super) fn dispute_steps(
    ui: &Ui,
    case: CaseId,
    state: &CaseState,
    me: &PublicKey,
    dispute: &Dispute,
) -> Markup {
    let Some(allowed) = allowed(state, me) else {
        return html! {};
    };
    let Some(ladder) = &allowed.plan.disputes else {
        return html! {};
    };
    if !dispute.is_open() {
        return html! {};
    }
    let advisory =
        !dispute.exhausted && ladder.stages.get(dispute.stage).is_some_and(|s| s.advisory);
    let escalate = !dispute.exhausted && may(allowed.author, "dispute_escalated");
    let opinion = advisory && may(allowed.author, "dispute_opinion");
    let resolve = may(allowed.author, "dispute_resolved");
    let remedy =
        dispute.exhausted && dispute.by == allowed.name && may(allowed.author, "remedy_invoked");
    let action = format!("/case/{}/implementation/dispute/step", case.to_hex());
    let csrf = ui.guard.csrf();
    let id = dispute.id.to_string();
    html! {
        @if escalate {
            form.act method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="dispute" value=(id);
                input type="hidden" name="what" value="escalate";
                button type="submit" { "Escalate" }
            }
        }
        @if opinion {
            form.dispute-step method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="dispute" value=(id);
                input type="hidden" name="what" value="opinion";
                input type="text" name="text" required maxlength=(TEXT_MAX) aria-label="Advisory opinion";
                button type="submit" { "Give an advisory opinion" }
            }
        }
        @if resolve {
            form.dispute-step method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="dispute" value=(id);
                input type="hidden" name="what" value="resolve";
                input type="text" name="text" required maxlength=(TEXT_MAX) aria-label="Resolution";
                button type="submit" { "Record the resolution" }
            }
        }
        @if remedy {
            form.dispute-step method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="dispute" value=(id);
                input type="hidden" name="what" value="remedy";
                select name="remedy" required aria-label="Remedy" {
                    @for r in &ladder.remedies {
                        @let word = r.word();
                        option value=(word.split(' ').next().unwrap_or_default()) { (word) }
                    }
                }
                button type="submit" { "Invoke the remedy" }
            }
        }
    }
}

/// A commitment's id as a form names it (here and in `extensions.rs`): what the plan's ids
/// may be, the rules deciding whether the plan has it.
pub(super) fn commitment(text: &str) -> Result<String, Refusal> {
    let text = text.trim();
    let fits = !text.is_empty()
        && text.len() <= 128
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if fits {
        Ok(text.to_owned())
    } else {
        Err(invalid("a commitment is named by its id in the plan"))
    }
}

fn status(text: &str) -> Result<u8, Refusal> {
    match text.trim().parse::<u8>() {
        Ok(s) if s <= 3 => Ok(s),
        _ => Err(invalid(
            "a status is 0 (not initiated), 1 (minimal), 2 (intermediate) or 3 (complete)",
        )),
    }
}

/// A free text: trimmed, at most [`TEXT_MAX`] characters; required where `needed` names it.
fn text<'a>(text: &'a str, needed: Option<&str>) -> Result<&'a str, Refusal> {
    let text = text.trim();
    if text.chars().count() > TEXT_MAX {
        return Err(invalid(&format!(
            "a text has at most {TEXT_MAX} characters"
        )));
    }
    match needed {
        Some(what) if text.is_empty() => Err(invalid(&format!("{what} needs some text"))),
        _ => Ok(text),
    }
}

#[derive(Deserialize)]
pub(super) struct Report {
    commitment: String,
    status: String,
    #[serde(default)]
    note: String,
}

/// `POST /case/{case}/implementation/report`: a party reports progress on its commitment.
pub(super) async fn report(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(form): Form<Report>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let commitment = commitment(&form.commitment)?;
    let status = status(&form.status)?;
    let note = text(&form.note, None)?;
    ui.client
        .lock()
        .await
        .report_progress(case, &commitment, status, note)
        .await
        .map_err(failed)?;
    Ok(changed_page(&ui, case, "implementation"))
}

#[derive(Deserialize)]
pub(super) struct Attest {
    commitment: String,
    status: String,
    #[serde(default)]
    evidence: String,
}

/// `POST /case/{case}/implementation/attest`: a verifier the plan names attests a
/// commitment's status.
pub(super) async fn attest(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(form): Form<Attest>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let commitment = commitment(&form.commitment)?;
    let status = status(&form.status)?;
    let evidence = text(&form.evidence, None)?;
    ui.client
        .lock()
        .await
        .attest(case, &commitment, status, evidence)
        .await
        .map_err(failed)?;
    Ok(changed_page(&ui, case, "implementation"))
}

/// `POST /case/{case}/implementation/dispute`: a party or an observer opens a dispute over
/// the commitments checked (`commitment`, repeated) with its `complaint`.
pub(super) async fn open_dispute(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let mut commitments = BTreeSet::new();
    let mut complaint = None;
    for (name, value) in &fields {
        match name.as_str() {
            "commitment" => {
                commitments.insert(commitment(value)?);
            }
            "complaint" if complaint.is_some() => {
                return Err(invalid("a dispute has one complaint"));
            }
            "complaint" => complaint = Some(text(value, Some("a complaint"))?),
            "csrf" => {}
            _ => return Err(invalid(&format!("the form has no field {name:?}"))),
        }
    }
    if commitments.is_empty() || commitments.len() > backchannel_core::plan::MAX_ITEMS {
        return Err(invalid("a dispute names one commitment or more"));
    }
    let complaint = complaint.ok_or_else(|| invalid("a complaint needs some text"))?;
    ui.client
        .lock()
        .await
        .open_dispute(case, commitments.into_iter().collect(), complaint)
        .await
        .map_err(failed)?;
    Ok(changed_page(&ui, case, "implementation"))
}

#[derive(Deserialize)]
pub(super) struct Step {
    what: String,
    dispute: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    remedy: String,
}

/// `POST /case/{case}/implementation/dispute/step`: a step in a dispute (`what`: `escalate`,
/// `opinion`, `resolve` or `remedy`).
pub(super) async fn dispute_step(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(form): Form<Step>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let dispute: u32 = form
        .dispute
        .trim()
        .parse()
        .map_err(|_| invalid("a dispute is named by its number"))?;
    let mut client = ui.client.lock().await;
    let done = match form.what.as_str() {
        "escalate" => client.escalate_dispute(case, dispute).await,
        "opinion" => {
            let opinion = text(&form.text, Some("an advisory opinion"))?;
            client.give_opinion(case, dispute, opinion).await
        }
        "resolve" => {
            let resolution = text(&form.text, Some("a resolution"))?;
            client.resolve_dispute(case, dispute, resolution).await
        }
        "remedy" => {
            let remedy = form.remedy.trim();
            if remedy.is_empty() || !remedy.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                return Err(invalid("a remedy is named as the plan names it"));
            }
            client.invoke_remedy(case, dispute, remedy).await
        }
        _ => return Err(invalid("that is not a step in a dispute")),
    };
    drop(client);
    done.map_err(failed)?;
    Ok(changed_page(&ui, case, "implementation"))
}
