//! The single negotiating text: each draft this participant reads, clause by clause, with
//! what changed since the version before; a party answers the latest one clause by clause
//! (accept, or object with a reason), and the mediator sees each party's answers. Any two
//! versions held are compared side by side below (`draft_diff.rs`).

use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use backchannel_client::procedure::diff;
use backchannel_core::procedure::{Answers, ClauseAnswer, Draft};
use maud::{Markup, html};

use super::Ui;
use super::draft_diff;
use super::form::invalid;
use super::guard::Refusal;
use super::pages::{Page, case_id, case_page, changed_page, failed, refusal, summary_and_state};

/// The longest reason an objection may give.
const MAX_REASON: usize = 2_000;

fn answer_form(ui: &Ui, case: &str, draft: &Draft) -> Markup {
    html! {
        form.answer method="post" action={"/case/" (case) "/drafts/answer"} {
            input type="hidden" name="csrf" value=(ui.guard.csrf());
            input type="hidden" name="version" value=(draft.version);
            @for clause in &draft.clauses {
                fieldset data-clause=(clause.id) {
                    legend { (clause.id) }
                    label { input type="radio" name={"answer." (clause.id)} value="accept" checked; " accept" }
                    label { input type="radio" name={"answer." (clause.id)} value="object"; " object" }
                    input type="text" name={"reason." (clause.id)} placeholder="why (for an objection)" maxlength=(MAX_REASON);
                }
            }
            button type="submit" { "Answer draft " (draft.version) }
        }
    }
}

fn answer_class(answer: &ClauseAnswer) -> &'static str {
    match answer {
        ClauseAnswer::Accept => "accept",
        ClauseAnswer::Object { .. } => "object",
        ClauseAnswer::Prefer { .. } => "prefer",
    }
}

fn answer_text(answer: &ClauseAnswer) -> String {
    match answer {
        ClauseAnswer::Accept => "accepts".into(),
        ClauseAnswer::Object { reason } => format!("objects: {reason}"),
        ClauseAnswer::Prefer { option } => format!("prefers {option}"),
    }
}

/// The mediator's view of the engine's next draft over the positions sealed to it, with a
/// button that issues it.
fn engine_section(
    ui: &Ui,
    client: &backchannel_client::Client,
    case: backchannel_core::CaseId,
) -> Markup {
    let hex = case.to_hex();
    let proposal = client.propose_next_draft(case);
    let next = client.next_draft_version(case).unwrap_or(1);
    let parties: Vec<String> = client
        .held_scenario(case)
        .map(|s| s.parties.iter().map(|p| p.id.clone()).collect())
        .unwrap_or_default();
    html! {
        section.engine {
            h2 { "The engine's next draft" }
            @match &proposal {
                Err(e) => { p.quiet { (e.to_string()) } }
                Ok(proposal) => {
                    @let engine = &proposal.engine;
                    p {
                        "Objections met: " strong.met { (engine.objections_met) " of " (engine.objections_total) }
                        "; Nash share " (format!("{:.3}", engine.nash_share)) "; utilities "
                        (parties.iter().zip(&engine.utilities).map(|(p, u)| format!("{p} {u:.3}")).collect::<Vec<_>>().join(", "))
                        "."
                    }
                    @if engine.changes.is_empty() {
                        p.quiet { "It changes nothing in the current text." }
                    }
                    ul.changes {
                        @for change in &engine.changes {
                            li data-issue=(change.issue) { strong { (change.issue) } ": " (change.from) " → " (change.to) " — " (change.explanation) }
                        }
                    }
                    @if !proposal.requirements_unmet.is_empty() {
                        p.error { "Requirements it does not meet: " (proposal.requirements_unmet.join(", ")) }
                    }
                    @for departure in &proposal.departs_from_offers {
                        p.error { "Warning: " (departure) }
                    }
                    form.issue method="post" action={"/case/" (hex) "/drafts/issue"} {
                        input type="hidden" name="csrf" value=(ui.guard.csrf());
                        input type="hidden" name="version" value=(next);
                        button type="submit" { "Issue it as version " (next) }
                    }
                }
            }
        }
    }
}

/// `GET /case/{case}/drafts`, with `?diff=A..B` (or `from` and `to`) two versions compared.
pub(super) async fn drafts(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    RawQuery(query): RawQuery,
) -> Page {
    let case = case_id(&case)?;
    let compared = draft_diff::versions(query.as_deref()).map_err(invalid)?;
    let client = ui.client.lock().await;
    let (show, state) = summary_and_state(&client, case)?;
    let compared = match compared {
        Some((a, b)) => {
            let held = |v: u32| {
                client.draft(case, v).map_err(|_| {
                    refusal(
                        StatusCode::NOT_FOUND,
                        "unknown_reference",
                        &format!("no draft of version {v} is known here"),
                    )
                })
            };
            Some((held(a)?, held(b)?))
        }
        None => None,
    };
    let held: Vec<u32> = state
        .procedure
        .drafts
        .values()
        .flatten()
        .map(|d| d.version)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let hex = case.to_hex();
    let me = client.key();
    let waiting = backchannel_core::inbox::waiting(state, &me, backchannel_client::hub::now_ms());
    let to_answer: Option<u32> = waiting
        .iter()
        .find(|t| t.what == "answer_draft")
        .and_then(|t| t.on.as_deref()?.parse().ok());
    // A party answers in its own bilateral channel.
    let own_channel = show
        .participants
        .iter()
        .find(|p| p.key == me)
        .and_then(|p| p.party.as_deref())
        .and_then(|party| state.bilateral_channel(party));
    let procedure = &state.procedure;
    Ok(case_page(
        &ui,
        &client,
        &show,
        "Drafts",
        "drafts",
        "The single negotiating text",
        html! {
            @if show.my_role == "mediator" && !procedure.positions.is_empty() {
                (engine_section(&ui, &client, case))
            }
            @if procedure.drafts.is_empty() {
                p.quiet { "No draft has been issued yet." }
            }
            @for (channel, versions) in &procedure.drafts {
                @if let Some(latest) = versions.last() {
                    section.draft data-channel=(channel.as_str()) data-version=(latest.version) {
                        h2 { (latest.title) }
                        p.quiet { "Version " (latest.version) ", in the channel " (channel.as_str()) "." }
                        @let changed = versions.len().checked_sub(2).and_then(|i| versions.get(i)).map(|before| diff(before, latest)).unwrap_or_default();
                        @let by_party = procedure.answers.get(channel).and_then(|v| v.get(&latest.version));
                        ol.clauses {
                            @for clause in &latest.clauses {
                                @let moved = changed.iter().any(|d| d.clause == clause.id);
                                li data-clause=(clause.id) class=[moved.then_some("changed")] {
                                    strong { (clause.id) } ": " (clause.text)
                                    @if moved { " " span.changed-note { "changed since version " (latest.version - 1) } }
                                    @if let Some(by_party) = by_party {
                                        ul.answers {
                                            @for (party, answers) in by_party {
                                                @if let Some(answer) = answers.get(&clause.id) {
                                                    li class={"answer " (answer_class(answer))} { (party) " " (answer_text(answer)) }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        @if to_answer == Some(latest.version) && own_channel == Some(channel) {
                            h3 { "Your answer" }
                            (answer_form(&ui, &hex, latest))
                        }
                    }
                }
            }
            @if held.len() >= 2 || compared.is_some() {
                (draft_diff::section(&hex, &held, compared.as_ref().map(|(a, b)| (a, b))))
            }
        },
    ))
}

/// `POST /case/{case}/drafts/answer`: `version`, then `answer.CLAUSE` (`accept` or `object`)
/// and `reason.CLAUSE` for each clause.
pub(super) async fn answer(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let version: u32 = fields
        .iter()
        .find(|(k, _)| k == "version")
        .and_then(|(_, v)| v.parse().ok())
        .ok_or_else(|| invalid("the form names no draft version"))?;
    let reason_of = |clause: &str| {
        fields
            .iter()
            .find(|(k, _)| k.strip_prefix("reason.") == Some(clause))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut answers = Answers::new();
    for (key, value) in &fields {
        let Some(clause) = key.strip_prefix("answer.") else {
            continue;
        };
        let answer = match value.as_str() {
            "accept" => ClauseAnswer::Accept,
            "object" => {
                let reason = reason_of(clause);
                if reason.is_empty() || reason.len() > MAX_REASON {
                    return Err(invalid(
                        "an objection gives its reason, in at most 2,000 bytes",
                    ));
                }
                ClauseAnswer::Object { reason }
            }
            _ => return Err(invalid("a clause is accepted or objected to")),
        };
        answers.insert(clause.to_owned(), answer);
    }
    ui.client
        .lock()
        .await
        .answer_draft(case, version, answers)
        .await
        .map_err(failed)?;
    Ok(changed_page(&ui, case, "drafts"))
}

#[derive(serde::Deserialize)]
pub(super) struct Issue {
    version: u32,
}

/// `POST /case/{case}/drafts/issue`: the mediator issues the engine's next draft, as long as
/// it is still the version the page showed.
pub(super) async fn issue(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(form): Form<Issue>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let mut client = ui.client.lock().await;
    client.sync(case).await.map_err(failed)?;
    if client.next_draft_version(case).map_err(failed)? != form.version {
        return Err(refusal(
            StatusCode::CONFLICT,
            "conflict",
            "another draft was issued since this page was shown: look at the text again",
        ));
    }
    let proposal = client.propose_next_draft(case).map_err(failed)?;
    let draft = proposal.draft;
    client
        .issue_draft(case, &draft.title, draft.clauses)
        .await
        .map_err(failed)?;
    drop(client);
    Ok(changed_page(&ui, case, "drafts"))
}
