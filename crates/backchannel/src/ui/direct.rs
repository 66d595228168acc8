//! Direct talks, on the case page: the mediator proposes them in a new channel, each party
//! consents (the one-click task the page lists under what is waiting, `pages::act`), and the
//! mediator opens the channel, which the rules allow only once every party has consented
//! (`consent_missing` otherwise, shown as any refusal is).

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use backchannel_core::{CaseId, CaseState, ChannelName, PublicKey};
use maud::{Markup, html};
use serde::Deserialize;

use super::Ui;
use super::form::invalid;
use super::guard::Refusal;
use super::pages::{case_id, changed, failed, mediator_only};

/// The channel's name the proposal form suggests, as `direct propose` does.
const DEFAULT_CHANNEL: &str = "direct";

/// The case page's section on direct talks, as `me` may act on them.
pub(super) fn section(ui: &Ui, case: CaseId, state: &CaseState, me: &PublicKey) -> Markup {
    let hex = case.to_hex();
    let mediator = state.mediator == *me;
    let parties = state.parties();
    let proposals = &state.procedure.direct;
    html! {
        @if mediator || !proposals.is_empty() {
            h2 { "Direct talks" }
        }
        ul.direct {
            @for (channel, proposal) in proposals {
                li data-direct=(channel.as_str()) data-opened=(proposal.opened) {
                    "In " strong { (channel.as_str()) } ": "
                    @if proposal.opened {
                        "open."
                    } @else {
                        @let awaiting: Vec<&str> = parties.difference(&proposal.consents).map(String::as_str).collect();
                        "consented: "
                        @if proposal.consents.is_empty() { "nobody yet" } @else { (proposal.consents.iter().cloned().collect::<Vec<_>>().join(", ")) }
                        @if !awaiting.is_empty() { "; awaiting " (awaiting.join(", ")) }
                        "."
                        @if mediator {
                            form.act method="post" action={"/case/" (hex) "/direct/open"} {
                                input type="hidden" name="csrf" value=(ui.guard.csrf());
                                input type="hidden" name="channel" value=(channel.as_str());
                                button type="submit" { "Open direct talks" }
                            }
                        }
                    }
                }
            }
        }
        @if mediator {
            form.direct method="post" action={"/case/" (hex) "/direct"} {
                input type="hidden" name="csrf" value=(ui.guard.csrf());
                label for="direct-channel" { "Propose direct talks in the channel " }
                input id="direct-channel" type="text" name="channel" required maxlength="64" value=(DEFAULT_CHANNEL);
                button type="submit" { "Propose" }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Direct {
    channel: String,
}

fn channel_of(form: &Direct) -> Result<ChannelName, Refusal> {
    ChannelName::parse(form.channel.trim()).ok_or_else(|| {
        invalid("a channel's name is 1 to 64 lowercase letters, digits and hyphens, not starting with a hyphen")
    })
}

/// `POST /case/{case}/direct`: the mediator proposes direct talks in a new channel.
pub(super) async fn propose(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(form): Form<Direct>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let channel = channel_of(&form)?;
    let mut client = ui.client.lock().await;
    mediator_only(&client, case, "only the mediator proposes direct talks")?;
    client
        .propose_direct_talks(case, &channel)
        .await
        .map_err(failed)?;
    drop(client);
    Ok(changed(&ui, case, &format!("/case/{}", case.to_hex())))
}

/// `POST /case/{case}/direct/open`: the mediator opens the direct channel and seats every
/// party's delegates in it; refused by the rules until every party has consented.
pub(super) async fn open(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(form): Form<Direct>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let channel = channel_of(&form)?;
    let mut client = ui.client.lock().await;
    mediator_only(&client, case, "only the mediator opens direct talks")?;
    client
        .open_direct_talks(case, &channel)
        .await
        .map_err(failed)?;
    drop(client);
    Ok(changed(&ui, case, &format!("/case/{}", case.to_hex())))
}
