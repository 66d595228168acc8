//! The implementation tracker: where the plan stands now, from this participant's copy of the
//! public record (the same status as `implement status`): each milestone, each commitment's
//! reported and attested status side by side, the score overall and per theme, and each
//! dispute at its stage. Accepting the plan is a one-click task; reporting, attesting and the
//! dispute steps are the forms of `implementation_acts.rs`, and deadline extensions those of
//! `extensions.rs`, each shown to whom it is for.

use axum::extract::{Path, State};
use maud::html;

use super::Ui;
use super::implementation_acts;
use super::pages::{Page, case_id, case_page, failed, tasks};
use crate::output;

/// A status 0–3 as the Peace Accords Matrix names it.
fn stage(status: u8) -> &'static str {
    match status {
        0 => "not initiated",
        1 => "minimal",
        2 => "intermediate",
        _ => "complete",
    }
}

/// `GET /case/{case}/implementation`.
pub(super) async fn implementation(State(ui): State<Ui>, Path(case): Path<String>) -> Page {
    let case = case_id(&case)?;
    let client = ui.client.lock().await;
    let show = client.show(case).map_err(failed)?;
    let now = backchannel_client::hub::now_ms();
    let status = client.implementation_status(case, now).map_err(failed)?;
    let state = client.state(case).map_err(failed)?;
    let me = client.key();
    let disputes = state
        .procedure
        .implementation
        .as_ref()
        .map_or(&[][..], |i| i.disputes.as_slice());
    let hex = case.to_hex();
    Ok(case_page(
        &ui,
        &client,
        &show,
        "Implementation",
        "implementation",
        "Implementation",
        html! {
            (tasks(&ui, &client, case, &format!("/case/{hex}/implementation")))
            @match &status {
                None => p.quiet { "No implementation plan is proposed yet." }
                Some(status) => {
                    p.score data-score=(format!("{:.4}", status.score)) {
                        "Score: " strong { (format!("{:.0} %", status.score * 100.0)) }
                        " (" (status.themes.iter().map(|(t, s)| format!("{t} {:.0} %", s * 100.0)).collect::<Vec<_>>().join(", ")) ")"
                    }
                    h2 { "Milestones" }
                    ul.milestones {
                        @for m in &status.milestones {
                            li data-milestone=(m.id) data-reached=(m.reached) {
                                strong { (m.title) } ": "
                                @match m.reached_at_ms {
                                    Some(at) => { "reached " (output::utc(at)) }
                                    None => { "not reached" }
                                }
                            }
                        }
                    }
                    h2 { "Commitments" }
                    table.commitments {
                        thead { tr { th { "commitment" } th { "theme" } th { "status" } th { "reported" } th { "attested" } th { "due" } } }
                        tbody {
                            @for c in &status.commitments {
                                tr data-commitment=(c.id) data-status=(c.status) data-reported=[c.reported] data-attested=[c.attested] class=[c.discrepancy.then_some("discrepancy")] {
                                    td { (c.id) }
                                    td { (c.theme) }
                                    td { (c.status) " — " (stage(c.status)) }
                                    td { (c.reported.map_or("-".to_owned(), |r| r.to_string())) }
                                    td { (c.attested.map_or("-".to_owned(), |a| a.to_string())) }
                                    td {
                                        @if let Some(due) = c.due_ms { (output::utc(due)) }
                                        @if c.overdue { " " span.due { "overdue" } }
                                    }
                                }
                            }
                        }
                    }
                    (implementation_acts::forms(&ui, case, state, &me))
                    (super::extensions::section(&ui, case, state, &me))
                    @if !status.disputes.is_empty() {
                        h2 { "Disputes" }
                        ul.disputes {
                            @for d in &status.disputes {
                                li data-dispute=(d.id) data-stage=(d.stage) {
                                    "Dispute " (d.id) ", opened by " (d.by) " over " (d.commitments.join(", ")) ": " strong { (d.stage) }
                                    @if let Some(left) = d.time_left_ms { " (" (left / 86_400_000) " days left at this stage)" }
                                    @if let Some(r) = &d.resolution { " — " (r) }
                                    @if let Some(dispute) = disputes.iter().find(|x| x.id == d.id) {
                                        (implementation_acts::dispute_steps(&ui, case, state, &me, dispute))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}
