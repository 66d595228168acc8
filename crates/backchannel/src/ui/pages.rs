//! The pages, rendered on the server from this participant's verified copy: what is waiting
//! across cases (joiners to admit among it) with the form convening a new one, a case (its
//! phase, its participants with their fingerprints, its channels, direct talks, the mediator's
//! invites and its record), and a channel with its composer.
//! A page never syncs; the case is kept up to date in the background (`live.rs`, which also
//! keeps the joiners waiting), and each page says how fresh its copy is.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Redirect, Response};
use backchannel_client::{CaseSummary, Client, ClientError, LogLine};
use backchannel_core::{CaseId, CaseState, ChannelName, Phase};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::Ui;
use super::form::invalid;
use super::guard::Refusal;
use crate::output;

/// How many acts a channel's page shows, newest last.
const PAGE_ACTS: u64 = 200;

pub(super) type Page = Result<Markup, Refusal>;

pub(super) fn layout(ui: &Ui, title: &str, live_case: Option<CaseId>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — backchannel" }
                link rel="stylesheet" href="/assets/ui.css";
                script src="/assets/ui.js" defer {}
            }
            body data-csrf=(ui.guard.csrf()) {
                header { a.brand href="/" { "backchannel" } }
                main data-live-case=[live_case.map(|c| c.to_hex())] { (body) }
            }
        }
    }
}

/// A page of one case, followed live: the browser's title (`page`, then the case's), the
/// crumbs back to the case ending in `crumb`, the `heading` and how fresh this copy is, then
/// `body`.
pub(super) fn case_page(
    ui: &Ui,
    client: &Client,
    show: &CaseSummary,
    page: &str,
    crumb: &str,
    heading: &str,
    body: Markup,
) -> Markup {
    let case = show.case;
    layout(
        ui,
        &format!("{page} — {}", show.title),
        Some(case),
        html! {
            p.crumbs { a href={"/case/" (case.to_hex())} { (show.title) } " / " (crumb) }
            h1 { (heading) }
            (freshness(client, case))
            (body)
        },
    )
}

/// What a case's page reads from this copy: the case's summary and its verified state.
pub(super) fn summary_and_state(
    client: &Client,
    case: CaseId,
) -> Result<(CaseSummary, &CaseState), Refusal> {
    let show = client.show(case).map_err(failed)?;
    Ok((show, client.state(case).map_err(failed)?))
}

pub(super) fn refusal(status: StatusCode, code: &str, sentence: &str) -> Refusal {
    Refusal {
        status,
        code: code.to_owned(),
        sentence: sentence.to_owned(),
    }
}

pub(super) fn failed(e: ClientError) -> Refusal {
    let code = e.code();
    let status = match code.as_str() {
        "unknown_case" | "unknown_channel" => StatusCode::NOT_FOUND,
        "not_channel_member" => StatusCode::FORBIDDEN,
        "hub_unreachable" => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    };
    refusal(status, &code, &e.to_string())
}

/// Refuses what only the mediator does, before anything is attempted; the rules check the
/// same again.
pub(super) fn mediator_only(client: &Client, case: CaseId, sentence: &str) -> Result<(), Refusal> {
    if client.state(case).map_err(failed)?.mediator == client.key() {
        Ok(())
    } else {
        Err(refusal(StatusCode::FORBIDDEN, "mediator_only", sentence))
    }
}

pub(super) fn case_id(text: &str) -> Result<CaseId, Refusal> {
    CaseId::parse(text).ok_or_else(|| {
        refusal(
            StatusCode::NOT_FOUND,
            "unknown_case",
            "no case has that id in this home",
        )
    })
}

fn channel_name(text: &str) -> Result<ChannelName, Refusal> {
    ChannelName::parse(text).ok_or_else(|| {
        refusal(
            StatusCode::NOT_FOUND,
            "unknown_channel",
            "that is not a channel name",
        )
    })
}

pub(super) fn freshness(client: &Client, case: CaseId) -> Markup {
    let synced = client.synced_ms(case).ok().flatten();
    html! {
        p.freshness {
            @match synced {
                Some(ms) => { "Your verified copy, synced " time { (output::utc(ms)) } "." }
                None => { "Your verified copy, not yet synced in full with the hub." }
            }
        }
    }
}

fn phase_ladder(phase: Phase, implementing: bool) -> Markup {
    let steps = [
        ("proximity", phase == Phase::Proximity),
        ("direct", phase == Phase::Direct),
        ("public", phase == Phase::Public && !implementing),
        ("implementation", implementing),
    ];
    html! {
        ol.phases {
            @for (name, current) in steps {
                li class=[current.then_some("current")] { (name) }
            }
        }
    }
}

/// The tasks the UI does in one click: each needs nothing but the case and what it is about.
const ONE_CLICK: &[(&str, &str)] = &[
    ("accept_charter", "Accept the charter"),
    ("consent_agenda", "Consent"),
    ("consent_direct_talks", "Consent to direct talks"),
    ("sign_agreement", "Sign the agreement"),
    ("publish_agreement", "Publish the agreement"),
    ("guarantee_agreement", "Guarantee the agreement"),
    ("accept_plan", "Accept the plan"),
];

fn task_item(ui: &Ui, case: CaseId, task: &backchannel_core::inbox::Task, back: &str) -> Markup {
    let button = ONE_CLICK
        .iter()
        .find(|(what, _)| *what == task.what)
        .map(|(_, label)| *label);
    html! {
        li data-task=(task.what) {
            (task.says)
            @if let Some(due) = &task.due { " " span.due { "due " (due) } }
            @if task.what == "answer_draft" {
                " " a.task-link href={"/case/" (case.to_hex()) "/drafts"} { "Answer it" }
            } @else if let Some(label) = button {
                form.act method="post" action={"/case/" (case.to_hex()) "/act"} {
                    input type="hidden" name="csrf" value=(ui.guard.csrf());
                    input type="hidden" name="what" value=(task.what);
                    input type="hidden" name="back" value=(back);
                    @if let Some(on) = &task.on { input type="hidden" name="on" value=(on); }
                    button type="submit" { (label) }
                }
            } @else {
                " " span.command { "in a terminal, with this UI stopped (it holds the home): " code { (task.command.replace("CASE", &case.to_hex())) } }
            }
        }
    }
}

/// What is waiting in `case`, joiners to admit included; a one-click task's form returns to
/// `back` (a page of this UI).
pub(super) fn tasks(ui: &Ui, client: &Client, case: CaseId, back: &str) -> Markup {
    let waiting = client
        .state(case)
        .map(|state| {
            backchannel_core::inbox::waiting(
                state,
                &client.key(),
                backchannel_client::hub::now_ms(),
            )
        })
        .unwrap_or_default();
    let joiners = super::admission::section(ui, client, case, back);
    html! {
        @if waiting.is_empty() && joiners.0.is_empty() {
            p.quiet { "Nothing is waiting for you here." }
        } @else if !waiting.is_empty() {
            ul.tasks {
                @for task in &waiting { (task_item(ui, case, task, back)) }
            }
        }
        (joiners)
    }
}

/// `GET /`: what is waiting, in every case, and the cases.
pub(super) async fn home(State(ui): State<Ui>) -> Page {
    let client = ui.client.lock().await;
    let mut cases = Vec::new();
    for case in client.cases() {
        cases.push(client.show(case).map_err(failed)?);
    }
    Ok(layout(
        &ui,
        client.name(),
        None,
        html! {
            h1 { "Your cases, " (client.name()) }
            p.fingerprint { "Your fingerprint: " code { (client.key().fingerprint()) } }
            @if cases.is_empty() {
                p.quiet { "No case yet: convene one below, or join one with an invite code (`backchannel case join`)." }
            }
            @for case in &cases {
                section.case-card {
                    h2 { a href={"/case/" (case.case.to_hex())} { (case.title) } }
                    p { "You are " (case.my_role) ". Phase: " (format!("{:?}", case.phase).to_lowercase()) "." }
                    (tasks(&ui, &client, case.case, "/"))
                }
            }
            (super::convene::form(&ui, &client))
        },
    ))
}

/// `GET /case/{case}`: the case's phase, participants and channels, direct talks, and its
/// record.
pub(super) async fn case(State(ui): State<Ui>, Path(case): Path<String>) -> Page {
    let case = case_id(&case)?;
    let client = ui.client.lock().await;
    let (show, state) = summary_and_state(&client, case)?;
    let implementing = state.procedure.implementation.is_some();
    let negotiating = show.my_role == "mediator" || show.my_role.starts_with("party");
    Ok(layout(
        &ui,
        &show.title,
        Some(case),
        html! {
            h1 { (show.title) }
            (freshness(&client, case))
            (phase_ladder(show.phase, implementing))
            p { "You are " strong { (show.me) } ", " (show.my_role) "." }
            h2 { "Waiting for you" }
            (tasks(&ui, &client, case, &format!("/case/{}", case.to_hex())))
            p { a href={"/case/" (case.to_hex()) "/charter"} { "The charter and the agenda" } }
            @if show.my_role == "mediator" || !state.procedure.issues.is_empty() {
                p { a href={"/case/" (case.to_hex()) "/issues"} { "The issues" } }
            }
            @if negotiating && state.procedure.charter.is_some() {
                p { a href={"/case/" (case.to_hex()) "/conveying"} { "Conveying and non-papers" } }
            }
            @if state.procedure.charter.is_some() || !state.procedure.declarations.is_empty() {
                p { a href={"/case/" (case.to_hex()) "/declarations"} { "Parallel declarations" } }
            }
            @if implementing || !state.procedure.drafts.is_empty() {
                p { a href={"/case/" (case.to_hex()) "/drafts"} { "The single negotiating text" } }
                p { a href={"/case/" (case.to_hex()) "/agreement"} { "The agreement" } }
            }
            @if implementing {
                p { a href={"/case/" (case.to_hex()) "/implementation"} { "Implementation" } }
            }
            @if show.my_role.starts_with("party") && !state.procedure.issues.is_empty() {
                p { a href={"/case/" (case.to_hex()) "/position"} { "Your position" } }
            }
            @if show.my_role == "mediator" && !state.procedure.positions.is_empty() {
                p { a href={"/case/" (case.to_hex()) "/formula"} { "The formula over the sealed positions" } }
            }
            @if negotiating && (state.procedure.charter.is_some() || !state.procedure.offers.is_empty()) {
                p { a href={"/case/" (case.to_hex()) "/offers"} { "Conditional offers" } }
            }
            (super::direct::section(&ui, case, state, &client.key()))
            (super::invites::section(&ui, &client, case))
            h2 { "Channels" }
            ul.channels {
                @for channel in &show.channels {
                    li {
                        @if channel.readable {
                            a href={"/case/" (case.to_hex()) "/channel/" (channel.channel.as_str())} { (channel.channel.as_str()) }
                        } @else {
                            span.unreadable { (channel.channel.as_str()) }
                        }
                        " — " (channel.members.join(", ")) " (" (channel.acts)
                        @if channel.acts == 1 { " act)" } @else { " acts)" }
                    }
                }
            }
            h2 { "Participants" }
            table.participants {
                thead { tr { th { "name" } th { "role" } th { "fingerprint" } } }
                tbody {
                    @for p in &show.participants {
                        tr {
                            td { (p.name) }
                            td { (p.party.as_deref().map_or_else(|| p.role.clone(), |party| format!("{} ({party})", p.role))) }
                            td { code { (p.fingerprint) } }
                        }
                    }
                }
            }
            (super::record::section(&client, case))
        },
    ))
}

fn log_line(line: &LogLine) -> Markup {
    html! {
        li.act data-kind=(line.kind) data-index=(line.index) data-at-ms=(line.at_ms) {
            span.meta { "#" (line.index) " " (line.author) " · " time { (output::utc(line.at_ms)) } }
            @if line.kind == "message" {
                p.text { (line.text) }
            } @else {
                p.procedure { (line.kind) ": " (line.text) }
            }
        }
    }
}

/// `GET /case/{case}/channel/{channel}`: the channel, live, with a composer.
pub(super) async fn channel(
    State(ui): State<Ui>,
    Path((case, channel)): Path<(String, String)>,
) -> Page {
    let case = case_id(&case)?;
    let channel = channel_name(&channel)?;
    let client = ui.client.lock().await;
    let show = client.show(case).map_err(failed)?;
    if !client
        .readable_channels(case)
        .map_err(failed)?
        .contains(&channel)
    {
        return Err(failed(ClientError::NotInChannel(channel.to_string())));
    }
    let lines = client
        .read_last(case, Some(&channel), Some(PAGE_ACTS))
        .map_err(failed)?;
    let action = format!("/case/{}/channel/{}/send", case.to_hex(), channel.as_str());
    Ok(case_page(
        &ui,
        &client,
        &show,
        channel.as_str(),
        channel.as_str(),
        channel.as_str(),
        html! {
            ol.log id="log" {
                @for line in &lines { (log_line(line)) }
            }
            form.composer method="post" action=(action) {
                input type="hidden" name="csrf" value=(ui.guard.csrf());
                label for="text" { "Your message" }
                textarea id="text" name="text" required maxlength="16384" rows="3" {}
                button type="submit" { "Send" }
            }
        },
    ))
}

#[derive(Deserialize)]
pub(super) struct Compose {
    text: String,
}

/// `POST /case/{case}/channel/{channel}/send`: posts a message, then shows the channel.
pub(super) async fn send(
    State(ui): State<Ui>,
    Path((case, channel)): Path<(String, String)>,
    Form(compose): Form<Compose>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let channel = channel_name(&channel)?;
    let text = compose.text.trim();
    if text.is_empty() {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            "empty_message",
            "a message needs some text",
        ));
    }
    ui.client
        .lock()
        .await
        .send(case, &channel, text)
        .await
        .map_err(failed)?;
    Ok(changed(
        &ui,
        case,
        &format!("/case/{}/channel/{}", case.to_hex(), channel.as_str()),
    ))
}

#[derive(Deserialize)]
pub(super) struct Act {
    what: String,
    #[serde(default)]
    on: String,
    /// The page to show after, a path of this UI.
    #[serde(default)]
    back: String,
}

/// `POST /case/{case}/act`: does one of the [`ONE_CLICK`] tasks, then shows the case.
pub(super) async fn act(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(act): Form<Act>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let mut client = ui.client.lock().await;
    let done = match act.what.as_str() {
        "accept_charter" => client.accept_charter(case).await,
        "consent_agenda" => {
            let item = act
                .on
                .parse()
                .map_err(|_| invalid("an agenda item is named by its number"))?;
            client.consent_agenda_item(case, item).await
        }
        "consent_direct_talks" => {
            let channel = channel_name(&act.on)?;
            client.consent_direct_talks(case, &channel).await
        }
        "sign_agreement" => client.sign_agreement(case).await,
        "publish_agreement" => client.publish_agreement(case).await,
        "guarantee_agreement" => client.guarantee_agreement(case).await,
        "accept_plan" => client.accept_plan(case).await,
        _ => {
            return Err(invalid("that is not something this page does in one click"));
        }
    };
    drop(client);
    done.map_err(failed)?;
    let back = local_path(&act.back).unwrap_or_else(|| format!("/case/{}", case.to_hex()));
    Ok(changed(&ui, case, &back))
}

/// A form's `back`, where it is a path of this UI: never another host (`//host`,
/// `/\\host`).
pub(super) fn local_path(back: &str) -> Option<String> {
    let local = back.starts_with('/') && !back.starts_with("//") && !back.contains('\\');
    local.then(|| back.to_owned())
}

/// After a change to `case`: tells its open pages (the live update), then shows `path`, a
/// page of this UI.
pub(super) fn changed(ui: &Ui, case: CaseId, path: &str) -> Response {
    announce(ui, case);
    Redirect::to(path).into_response()
}

/// After a change to `case`: tells its open pages (the live update), then shows its page
/// `page`, `/case/{case}/{page}`.
pub(super) fn changed_page(ui: &Ui, case: CaseId, page: &str) -> Response {
    changed(ui, case, &format!("/case/{}/{page}", case.to_hex()))
}

/// Tells the open pages of `case` that it changed (the live update).
pub(super) fn announce(ui: &Ui, case: CaseId) {
    // No page open is not an error.
    let _ = ui.updates.send(case.to_hex());
}
