//! The agreement: its text to read before signing, its guarantors and implementation plan,
//! who has signed, whether it is published and who guarantees it; the mediator tables the
//! latest draft as the agreement from here (`agreement_table.rs`). Signing, publishing and
//! guaranteeing are the one-click tasks the page lists.

use axum::extract::{Path, State};
use backchannel_core::plan::Plan;
use maud::{Markup, html};

use super::Ui;
use super::pages::{Page, case_id, case_page, summary_and_state, tasks};

/// The plan tabled with the agreement: its commitments, milestones and verifiers.
fn plan_section(plan: &Plan) -> Markup {
    html! {
        section.plan {
            h3 { "Its implementation plan" }
            ul.commitments {
                @for c in &plan.commitments {
                    li data-plan-commitment=(c.id) { code { (c.id) } " (" (c.obligors.join(", ")) "): " (c.text) }
                }
            }
            @if !plan.milestones.is_empty() {
                p { "Milestones: " (plan.milestones.iter().map(|m| m.title.as_str()).collect::<Vec<_>>().join(", ")) "." }
            }
            @if !plan.verifiers.is_empty() {
                p { "Verifiers: " (plan.verifiers.iter().map(|v| v.name.as_str()).collect::<Vec<_>>().join(", ")) "." }
            }
        }
    }
}

/// `GET /case/{case}/agreement`.
pub(super) async fn agreement(State(ui): State<Ui>, Path(case): Path<String>) -> Page {
    let case = case_id(&case)?;
    let client = ui.client.lock().await;
    let (show, state) = summary_and_state(&client, case)?;
    let hex = case.to_hex();
    let tabled = state.procedure.agreement.as_ref();
    let latest = state
        .procedure
        .drafts
        .values()
        .filter_map(|d| d.last())
        .max_by_key(|d| d.version);
    let mediator = state.mediator == client.key();
    Ok(case_page(
        &ui,
        &client,
        &show,
        "The agreement",
        "agreement",
        "The agreement",
        html! {
            (tasks(&ui, &client, case, &format!("/case/{hex}/agreement")))
            @match tabled {
                None => {
                    p.quiet { "No agreement is on the table." }
                    @if let (true, Some(draft)) = (mediator, latest) {
                        (super::agreement_table::form(&ui, case, state, draft.version))
                    }
                }
                Some(tabled) => {
                    section.agreement data-published=(tabled.published) {
                        h2 { (tabled.agreement.title) }
                        p.quiet {
                            @if tabled.published { "Published on the public record. " } @else { "On the table, for signature. " }
                            "Its hash: " code { (tabled.hash.short()) }
                        }
                        ol.clauses {
                            @for clause in &tabled.agreement.clauses {
                                li data-clause=(clause.id) { strong { (clause.id) } ": " (clause.text) }
                            }
                        }
                        @if !tabled.agreement.guarantors.is_empty() {
                            h3 { "Guarantors named" }
                            ul.guarantors {
                                @for g in &tabled.agreement.guarantors { li data-guarantor=(g.to_hex()) { (state.name_of(g)) } }
                            }
                        }
                        @if let Some(plan) = &tabled.agreement.plan { (plan_section(plan)) }
                        h3 { "Signed by" }
                        ul.signatures {
                            @for signer in tabled.signatures.keys() {
                                li { (state.name_of(signer)) }
                            }
                        }
                        @if !tabled.guaranteed_by.is_empty() {
                            h3 { "Guaranteed by" }
                            ul { @for g in &tabled.guaranteed_by { li { (state.name_of(g)) } } }
                        }
                    }
                }
            }
        },
    ))
}
