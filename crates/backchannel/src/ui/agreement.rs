//! The agreement: its text to read before signing, who has signed, whether it is published
//! and who guarantees it; the mediator tables the latest draft as the agreement from here.
//! Signing, publishing and guaranteeing are the one-click tasks the page lists.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use backchannel_core::procedure::Agreement;
use maud::html;
use serde::Deserialize;

use super::Ui;
use super::guard::Refusal;
use super::pages::{Page, case_id, changed, failed, freshness, layout, refusal, tasks};

/// `GET /case/{case}/agreement`.
pub(super) async fn agreement(State(ui): State<Ui>, Path(case): Path<String>) -> Page {
    let case = case_id(&case)?;
    let client = ui.client.lock().await;
    let show = client.show(case).map_err(failed)?;
    let state = client.state(case).map_err(failed)?;
    let hex = case.to_hex();
    let tabled = state.procedure.agreement.as_ref();
    let latest = state
        .procedure
        .drafts
        .values()
        .filter_map(|d| d.last())
        .max_by_key(|d| d.version);
    let mediator = state.mediator == client.key();
    Ok(layout(
        &ui,
        &format!("The agreement — {}", show.title),
        Some(case),
        html! {
            p.crumbs { a href={"/case/" (hex)} { (show.title) } " / agreement" }
            h1 { "The agreement" }
            (freshness(&client, case))
            (tasks(&ui, &client, case, &format!("/case/{hex}/agreement")))
            @match tabled {
                None => {
                    p.quiet { "No agreement is on the table." }
                    @if let (true, Some(draft)) = (mediator, latest) {
                        form.table method="post" action={"/case/" (hex) "/agreement/table"} {
                            input type="hidden" name="csrf" value=(ui.guard.csrf());
                            input type="hidden" name="version" value=(draft.version);
                            button type="submit" { "Table draft " (draft.version) " as the agreement" }
                        }
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

#[derive(Deserialize)]
pub(super) struct Table {
    version: u32,
}

/// `POST /case/{case}/agreement/table`: the mediator tables a draft's text as the agreement.
pub(super) async fn table(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(form): Form<Table>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let mut client = ui.client.lock().await;
    let draft = client.draft(case, form.version).map_err(|_| {
        refusal(
            StatusCode::NOT_FOUND,
            "unknown_reference",
            "no draft of that version is known here",
        )
    })?;
    let agreement = Agreement {
        title: draft.title,
        clauses: draft.clauses,
        guarantors: vec![],
        plan: None,
    };
    client
        .table_agreement(case, agreement)
        .await
        .map_err(failed)?;
    drop(client);
    Ok(changed(
        &ui,
        case,
        &format!("/case/{}/agreement", case.to_hex()),
    ))
}
