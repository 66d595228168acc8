//! A party's position editor: a weight per issue, a score per option, red lines, and the
//! reservation, sealed to the mediator in the party's own channel (a revision names the
//! version it replaces, so a colleague's is never overwritten unseen). The page checks the
//! weights' sum as they are typed (`assets/ui.js`); the rules check everything when it is
//! sealed, and the page names what can never be met in the sealed position.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use backchannel_client::Client;
use backchannel_core::CaseId;
use backchannel_formula::Party as Position;
use maud::html;

use super::Ui;
use super::form::invalid;
use super::guard::Refusal;
use super::pages::{Page, case_id, case_page, changed_page, failed, refusal};

/// This participant's party, or a refusal.
pub(super) fn my_party(client: &Client, case: CaseId) -> Result<String, Refusal> {
    client
        .state(case)
        .map_err(failed)?
        .participants
        .get(&client.key())
        .and_then(|p| p.role.party().map(str::to_owned))
        .ok_or_else(|| {
            refusal(
                StatusCode::FORBIDDEN,
                "party_only",
                "only a party's delegate seals its position",
            )
        })
}

/// `GET /case/{case}/position`.
pub(super) async fn position(State(ui): State<Ui>, Path(case): Path<String>) -> Page {
    let case = case_id(&case)?;
    let client = ui.client.lock().await;
    let party = my_party(&client, case)?;
    let show = client.show(case).map_err(failed)?;
    let procedure = &client.state(case).map_err(failed)?.procedure;
    let sealed = procedure.positions.get(&party);
    let version = procedure.position_version(&party);
    let issues = &procedure.issues;
    let even = if issues.is_empty() {
        0.0
    } else {
        1.0 / issues.len() as f64
    };
    let weight = |issue: &str| {
        sealed
            .and_then(|p| p.weights.get(issue))
            .copied()
            .unwrap_or(even)
    };
    let score = |issue: &str, option: &str| {
        sealed
            .and_then(|p| p.scores.get(issue)?.get(option))
            .copied()
            .unwrap_or(0.5)
    };
    let red = |issue: &str, option: &str| {
        sealed.is_some_and(|p| {
            p.red_lines
                .get(issue)
                .is_some_and(|r| r.iter().any(|o| o == option))
        })
    };
    let infeasible = sealed
        .map(|p| procedure.scenario(vec![], vec![]).infeasibility(p))
        .unwrap_or_default();
    Ok(case_page(
        &ui,
        &client,
        &show,
        "Your position",
        "position",
        &format!("{party}'s position"),
        html! {
            @match version {
                Some(v) => p.sealed { "Version " (v) " is sealed to the mediator; saving seals a revision of it." }
                None => p.quiet { "No position is sealed yet. Only the mediator will read it." }
            }
            @for why in &infeasible {
                p.error { "This position can never be met: " (why) }
            }
            @if issues.is_empty() {
                p.quiet { "The mediator has not defined the issues yet." }
            } @else {
                form.position method="post" action={"/case/" (case.to_hex()) "/position"} {
                    input type="hidden" name="csrf" value=(ui.guard.csrf());
                    @if let Some(v) = version { input type="hidden" name="replaces" value=(v); }
                    @for issue in issues {
                        fieldset data-issue=(issue.id) {
                            legend { (issue.title) }
                            label { "weight " input.weight type="number" name={"weight." (issue.id)} min="0" max="1" step="any" required value=(weight(&issue.id)); }
                            table {
                                @for option in &issue.options {
                                    tr {
                                        td { (option.label) }
                                        td { label { "score " input type="number" name={"score." (issue.id) "." (option.id)} min="0" max="1" step="any" required value=(score(&issue.id, &option.id)); } }
                                        td { label { input type="checkbox" name={"red." (issue.id) "." (option.id)} checked[red(&issue.id, &option.id)]; " red line" } }
                                    }
                                }
                            }
                        }
                    }
                    label { "reservation (the least utility you would accept) " input type="number" name="reservation" min="0" max="1" step="any" required value=(sealed.map_or(0.0, |p| p.reservation)); }
                    p { "Weights sum to " output id="weights-sum" { } "." }
                    button type="submit" { "Seal to the mediator" }
                }
            }
        },
    ))
}

fn number(fields: &[(String, String)], key: &str) -> Result<Option<f64>, Refusal> {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| {
            v.trim()
                .parse::<f64>()
                .map_err(|_| invalid(&format!("{key} is not a number")))
        })
        .transpose()
}

/// `POST /case/{case}/position`: seals the position the form describes.
pub(super) async fn seal(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let mut client = ui.client.lock().await;
    let party = my_party(&client, case)?;
    let procedure = &client.state(case).map_err(failed)?.procedure;
    // A first position takes its party's channel name as its id: unique among the parties,
    // as their channels are.
    let id = match procedure.positions.get(&party) {
        Some(sealed) => sealed.id.clone(),
        None => backchannel_core::ChannelName::for_party(&party)
            .map_or_else(|| "party".to_owned(), |c| c.to_string()),
    };
    let mut weights = BTreeMap::new();
    let mut scores = BTreeMap::new();
    let mut red_lines: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for issue in &procedure.issues {
        let weight = number(&fields, &format!("weight.{}", issue.id))?.unwrap_or(0.0);
        weights.insert(issue.id.clone(), weight);
        let mut by_option = BTreeMap::new();
        for option in &issue.options {
            let key = format!("{}.{}", issue.id, option.id);
            by_option.insert(
                option.id.clone(),
                number(&fields, &format!("score.{key}"))?.unwrap_or(0.0),
            );
            if fields.iter().any(|(k, _)| *k == format!("red.{key}")) {
                red_lines
                    .entry(issue.id.clone())
                    .or_default()
                    .push(option.id.clone());
            }
        }
        scores.insert(issue.id.clone(), by_option);
    }
    let position = Position {
        id,
        name: party,
        weights,
        scores,
        red_lines,
        reservation: number(&fields, "reservation")?.unwrap_or(0.0),
    };
    let replaces = fields
        .iter()
        .find(|(k, _)| k == "replaces")
        .and_then(|(_, v)| v.parse().ok());
    client
        .revise_position(case, position, replaces)
        .await
        .map_err(failed)?;
    drop(client);
    Ok(changed_page(&ui, case, "position"))
}
