//! Non-papers, as `nonpaper` tables them: a proposal the mediator puts to every party without
//! attributing it to anyone, where the charter allows them. A section of the conveying page
//! (`conveying.rs`), shown to the mediator only, as the table of act kinds allows.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use backchannel_core::act::MAX_TEXT_CHARS;
use backchannel_core::{CaseId, CaseState, PublicKey};
use maud::{Markup, html};
use serde::Deserialize;

use super::Ui;
use super::allowed::viewer_may;
use super::form::text;
use super::guard::Refusal;
use super::pages::{case_id, changed_page, failed, mediator_only};

/// The non-paper's form, for the mediator, where the charter allows non-papers.
pub(super) fn section(ui: &Ui, case: CaseId, state: &CaseState, me: &PublicKey) -> Markup {
    if !viewer_may(state, me, "non_paper") {
        return html! {};
    }
    let allowed = state
        .procedure
        .charter
        .as_ref()
        .is_some_and(|c| c.charter.non_papers);
    html! {
        h2 { "A non-paper" }
        @if allowed {
            form.non-paper method="post" action={"/case/" (case.to_hex()) "/nonpaper"} {
                input type="hidden" name="csrf" value=(ui.guard.csrf());
                label for="non-paper" { "A proposal to every party, attributed to no one" }
                textarea id="non-paper" name="text" required maxlength=(MAX_TEXT_CHARS) rows="3" {}
                button type="submit" { "Table the non-paper" }
            }
        } @else {
            p.quiet { "The charter does not allow non-papers." }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct NonPaper {
    text: String,
}

/// `POST /case/{case}/nonpaper`: the mediator tables a non-paper in every party's channel.
pub(super) async fn table(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(form): Form<NonPaper>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let text = text("a non-paper", &form.text, MAX_TEXT_CHARS)?;
    let mut client = ui.client.lock().await;
    mediator_only(&client, case, "only the mediator tables non-papers")?;
    client.table_non_paper(case, text).await.map_err(failed)?;
    drop(client);
    Ok(changed_page(&ui, case, "conveying"))
}
