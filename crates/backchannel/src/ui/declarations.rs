//! Parallel unilateral declarations, as `declaration table` and `declaration publish` do
//! them, for sides that will not sign one text: each party tables its own declaration to the
//! mediator, in its bilateral channel, and the mediator publishes every party's signed
//! declaration together once each has tabled one (`signature_missing` until then).
//!
//! Before publication a party's page holds its own declaration only (its copy has no other);
//! the mediator's holds every one tabled; once published, everyone reads them all. Each form
//! is shown only to whom the table of act kinds allows; the rules check every act again.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use backchannel_core::act::MAX_TEXT_CHARS;
use backchannel_core::{ActBody, SignedAct};
use maud::html;
use serde::Deserialize;

use super::Ui;
use super::allowed::viewer_may;
use super::form::text;
use super::guard::Refusal;
use super::pages::{
    Page, case_id, case_page, changed_page, failed, mediator_only, summary_and_state, tasks,
};

/// A tabled declaration's text, from its signed act.
fn declared(signed: &SignedAct) -> Option<String> {
    match signed.clone().verify().ok()?.act.body {
        ActBody::DeclarationTabled { declaration } => Some(declaration.text),
        _ => None,
    }
}

/// `GET /case/{case}/declarations`.
pub(super) async fn declarations(State(ui): State<Ui>, Path(case): Path<String>) -> Page {
    let case = case_id(&case)?;
    let client = ui.client.lock().await;
    let (show, state) = summary_and_state(&client, case)?;
    let me = client.key();
    let hex = case.to_hex();
    let procedure = &state.procedure;
    let published = procedure.declarations_published;
    let table = !published && viewer_may(state, &me, "declaration_tabled");
    let publish = !published && viewer_may(state, &me, "declarations_published");
    let awaiting: Vec<String> = state
        .parties()
        .into_iter()
        .filter(|p| !procedure.declarations.contains_key(p))
        .collect();
    let csrf = ui.guard.csrf();
    Ok(case_page(
        &ui,
        &client,
        &show,
        "Declarations",
        "declarations",
        "Parallel declarations",
        html! {
            (tasks(&ui, &client, case, &format!("/case/{hex}/declarations")))
            p data-published=(published) {
                @if published { "Published: every party's declaration is on the public record." }
                @else { "Not published. Each party tables its own, to the mediator only." }
            }
            @if procedure.declarations.is_empty() { p.quiet { "No declaration you can see yet." } }
            ul.declarations {
                @for (party, signed) in &procedure.declarations {
                    li data-party=(party) {
                        strong { (party) } ": "
                        @match declared(signed) {
                            Some(text) => q { (text) },
                            None => span.quiet { "(unreadable)" },
                        }
                    }
                }
            }
            @if table {
                form.declaration method="post" action={"/case/" (hex) "/declarations"} {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="declaration" { "Your party's declaration (a new one replaces the one tabled)" }
                    textarea id="declaration" name="text" required maxlength=(MAX_TEXT_CHARS) rows="4" {}
                    button type="submit" { "Table it, to the mediator" }
                }
            }
            @if publish {
                @if !awaiting.is_empty() { p.quiet { "Awaiting a declaration from: " (awaiting.join(", ")) "." } }
                form.publish-declarations method="post" action={"/case/" (hex) "/declarations/publish"} {
                    input type="hidden" name="csrf" value=(csrf);
                    button type="submit" { "Publish every declaration together" }
                }
            }
        },
    ))
}

#[derive(Deserialize)]
pub(super) struct Declare {
    text: String,
}

/// `POST /case/{case}/declarations`: a party tables its own declaration.
pub(super) async fn table(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(form): Form<Declare>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let text = text("a declaration", &form.text, MAX_TEXT_CHARS)?;
    ui.client
        .lock()
        .await
        .table_declaration(case, text)
        .await
        .map_err(failed)?;
    Ok(changed_page(&ui, case, "declarations"))
}

/// `POST /case/{case}/declarations/publish`: the mediator publishes every party's
/// declaration together.
pub(super) async fn publish(
    State(ui): State<Ui>,
    Path(case): Path<String>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let mut client = ui.client.lock().await;
    mediator_only(&client, case, "only the mediator publishes declarations")?;
    client.publish_declarations(case).await.map_err(failed)?;
    drop(client);
    Ok(changed_page(&ui, case, "declarations"))
}
