//! The charter and the agenda: the procedure's rules as proposed and who accepted them, the
//! agenda items with their consents; the mediator proposes the charter from here (its terms
//! chosen in the form), and a party or the mediator proposes agenda items as the charter
//! allows. Accepting and consenting are the one-click tasks the page lists.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use backchannel_core::procedure::{AgendaProposers, Attribution, Charter, Delegation};
use maud::html;
use serde::Deserialize;

use super::Ui;
use super::form::invalid;
use super::guard::Refusal;
use super::pages::{Page, case_id, case_page, changed_page, failed, summary_and_state, tasks};

/// `GET /case/{case}/charter`.
pub(super) async fn charter(State(ui): State<Ui>, Path(case): Path<String>) -> Page {
    let case = case_id(&case)?;
    let client = ui.client.lock().await;
    let (show, state) = summary_and_state(&client, case)?;
    let hex = case.to_hex();
    let procedure = &state.procedure;
    let mediator = state.mediator == client.key();
    let csrf = ui.guard.csrf();
    Ok(case_page(
        &ui,
        &client,
        &show,
        "Charter and agenda",
        "charter",
        "The charter and the agenda",
        html! {
            (tasks(&ui, &client, case, &format!("/case/{hex}/charter")))
            @match &procedure.charter {
                Some(c) => {
                    section.charter {
                        h2 { "The charter" }
                        ul {
                            li { "Agenda items are proposed by: " @if c.charter.agenda_proposers == AgendaProposers::PartiesAndMediator { "the parties and the mediator" } @else { "the mediator only" } }
                            li { "Non-papers: " @if c.charter.non_papers { "allowed" } @else { "not allowed" } }
                            li { "Conveying a side's words: " @if c.charter.attribution == Attribution::OriginalWithConsent { "the mediator's paraphrase, or the signed original with its author's consent" } @else { "the mediator's paraphrase only" } }
                            li { "Who binds a party: " @if c.charter.delegation == Delegation::Head { "its head of delegation" } @else { "any of its delegates" } }
                            @for d in &c.charter.deadlines { li { "Deadline: " (d.what) ", " (d.by) } }
                        }
                        p data-accepted-by=(c.accepted_by.iter().cloned().collect::<Vec<_>>().join(",")) {
                            "Accepted by: "
                            @if c.accepted_by.is_empty() { "nobody yet" } @else { (c.accepted_by.iter().cloned().collect::<Vec<_>>().join(", ")) }
                        }
                    }
                }
                None => {
                    p.quiet { "No charter is proposed yet." }
                    @if mediator {
                        form.charter method="post" action={"/case/" (hex) "/charter"} {
                            input type="hidden" name="csrf" value=(csrf);
                            label { input type="checkbox" name="parties_propose_agenda" checked; " parties may propose agenda items" }
                            label { input type="checkbox" name="non_papers" checked; " non-papers allowed" }
                            label { input type="checkbox" name="originals" checked; " a side's own words may be conveyed, with its consent" }
                            label { input type="checkbox" name="head_binds"; " only a party's head of delegation binds it" }
                            button type="submit" { "Propose the charter" }
                        }
                    }
                }
            }
            h2 { "The agenda" }
            @if procedure.agenda.is_empty() { p.quiet { "No agenda item yet." } }
            ol.agenda {
                @for (n, item) in &procedure.agenda {
                    li data-item=(n) data-adopted=(item.adopted) {
                        (item.title)
                        @if item.demand { " " span.due { "(a demand)" } }
                        " — proposed by " (state.name_of(&item.proposed_by))
                        @if item.adopted { "; adopted" } @else { "; consents: " (item.consents.iter().cloned().collect::<Vec<_>>().join(", ")) }
                    }
                }
            }
            @if procedure.charter.is_some() {
                form.agenda method="post" action={"/case/" (hex) "/agenda"} {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="title" { "Propose an agenda item" }
                    input id="title" type="text" name="title" required maxlength="200";
                    label { input type="checkbox" name="demand"; " it is our demand" }
                    button type="submit" { "Propose" }
                }
            }
        },
    ))
}

#[derive(Deserialize)]
pub(super) struct Propose {
    #[serde(default)]
    parties_propose_agenda: Option<String>,
    #[serde(default)]
    non_papers: Option<String>,
    #[serde(default)]
    originals: Option<String>,
    #[serde(default)]
    head_binds: Option<String>,
}

/// `POST /case/{case}/charter`: the mediator proposes the charter the form describes.
pub(super) async fn propose(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(form): Form<Propose>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let charter = Charter {
        agenda_proposers: if form.parties_propose_agenda.is_some() {
            AgendaProposers::PartiesAndMediator
        } else {
            AgendaProposers::MediatorOnly
        },
        non_papers: form.non_papers.is_some(),
        attribution: if form.originals.is_some() {
            Attribution::OriginalWithConsent
        } else {
            Attribution::ParaphraseOnly
        },
        deadlines: vec![],
        delegation: if form.head_binds.is_some() {
            Delegation::Head
        } else {
            Delegation::Any
        },
    };
    ui.client
        .lock()
        .await
        .propose_charter(case, charter)
        .await
        .map_err(failed)?;
    Ok(changed_page(&ui, case, "charter"))
}

#[derive(Deserialize)]
pub(super) struct AgendaForm {
    title: String,
    #[serde(default)]
    demand: Option<String>,
}

/// `POST /case/{case}/agenda`: proposes an agenda item.
pub(super) async fn agenda(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(form): Form<AgendaForm>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let title = form.title.trim();
    if title.is_empty() {
        return Err(invalid("an agenda item needs a title"));
    }
    ui.client
        .lock()
        .await
        .propose_agenda_item(case, title, form.demand.is_some())
        .await
        .map_err(failed)?;
    Ok(changed_page(&ui, case, "charter"))
}
