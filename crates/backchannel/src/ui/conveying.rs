//! Conveying, as `convey` and `consent-convey` do it: the mediator carries words from one
//! discreet channel to another, in its own words, or (where the charter allows originals) a
//! party's signed message its author consented to have conveyed there; a party gives that
//! consent for one of its own messages. The page also holds the mediator's non-papers
//! (`non_paper.rs`) and lists what was conveyed or tabled in the channels this copy reads.
//!
//! Everything shown comes from this participant's own copy: a party's page holds its own
//! channel's messages and what was carried into the channels it reads, never another party's
//! bilateral channel. Each form is shown only to whom the table of act kinds and the charter
//! allow; the rules check every act again, and a refused one changes nothing.

use std::collections::BTreeSet;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use backchannel_client::{Client, LogLine};
use backchannel_core::act::MAX_TEXT_CHARS;
use backchannel_core::procedure::{Attribution, Conveyance};
use backchannel_core::{ActBody, CaseId, CaseState, ChannelName, Digest32};
use maud::{Markup, html};
use serde::Deserialize;

use super::Ui;
use super::allowed::viewer_may;
use super::form::{invalid, text};
use super::guard::Refusal;
use super::pages::{
    Page, case_id, case_page, changed_page, failed, mediator_only, summary_and_state,
};

/// How many acts of each channel the page looks through, newest last.
const SCAN_ACTS: u64 = 200;

fn channel(what: &str, text: &str) -> Result<ChannelName, Refusal> {
    ChannelName::parse(text.trim())
        .ok_or_else(|| invalid(&format!("{what} is not a channel's name")))
}

/// The channels words may be carried between: every channel but the public record.
fn discreet(state: &CaseState) -> Vec<&ChannelName> {
    state.channels.keys().filter(|c| !c.is_public()).collect()
}

fn attribution(state: &CaseState) -> Option<Attribution> {
    state
        .procedure
        .charter
        .as_ref()
        .map(|c| c.charter.attribution)
}

/// A consent to convey, as the mediator's copy holds it: whose, the message (where found)
/// and where to.
struct Consent {
    from: ChannelName,
    author: String,
    to: ChannelName,
    /// The message's index in `from` and its text, where this copy holds it.
    message: Option<(u64, String)>,
    conveyed: bool,
}

/// The message `hash` names, looking back from `before` in `channel` (at most
/// [`SCAN_ACTS`] acts).
fn message(
    client: &Client,
    case: CaseId,
    channel: &ChannelName,
    before: u64,
    hash: &Digest32,
) -> Option<(u64, String)> {
    (before.saturating_sub(SCAN_ACTS).max(1)..before)
        .rev()
        .find_map(|index| match client.act_at(case, channel, index).ok()?? {
            a if a.hash == *hash => match a.act.body {
                ActBody::Message { text } => Some((index, text)),
                _ => None,
            },
            _ => None,
        })
}

/// Every consent to convey this copy holds, each marked where its original was conveyed.
fn consents(client: &Client, case: CaseId, state: &CaseState) -> Result<Vec<Consent>, Refusal> {
    let conveyed: BTreeSet<(Digest32, ChannelName)> = client
        .acts(case, |a| matches!(a.act.body, ActBody::Conveyed { .. }))
        .map_err(failed)?
        .into_iter()
        .filter_map(|a| match a.act.body {
            ActBody::Conveyed {
                conveyance: Conveyance::Original { original, .. },
                ..
            } => Some((original.verify().ok()?.hash, a.act.channel)),
            _ => None,
        })
        .collect();
    Ok(client
        .acts(case, |a| {
            matches!(a.act.body, ActBody::ConveyConsent { .. })
        })
        .map_err(failed)?
        .into_iter()
        .filter_map(|a| match &a.act.body {
            ActBody::ConveyConsent { act: hash, to } => Some(Consent {
                from: a.act.channel.clone(),
                author: state.name_of(&a.act.author),
                to: to.clone(),
                message: message(client, case, &a.act.channel, a.act.index, hash),
                conveyed: conveyed.contains(&(*hash, to.clone())),
            }),
            _ => None,
        })
        .collect())
}

/// What was conveyed or tabled as a non-paper in the channels this copy reads.
fn carried(client: &Client, case: CaseId) -> Result<Vec<LogLine>, Refusal> {
    let mut lines = Vec::new();
    for channel in client.readable_channels(case).map_err(failed)? {
        if channel.is_public() {
            continue;
        }
        let last = client
            .read_last(case, Some(&channel), Some(SCAN_ACTS))
            .map_err(failed)?;
        lines.extend(
            last.into_iter()
                .filter(|l| matches!(l.kind, "conveyed" | "non_paper")),
        );
    }
    lines.sort_by_key(|l| l.at_ms);
    Ok(lines)
}

fn channel_select(name: &str, label: &str, channels: &[&ChannelName]) -> Markup {
    html! {
        label { (label) " "
            select name=(name) required {
                @for c in channels { option value=(c.as_str()) { (c.as_str()) } }
            }
        }
    }
}

/// The mediator's forms: a paraphrase between any two discreet channels, and each consent's
/// original (where the charter allows originals).
fn mediator_forms(ui: &Ui, hex: &str, state: &CaseState, consents: &[Consent]) -> Markup {
    let channels = discreet(state);
    let originals = attribution(state) == Some(Attribution::OriginalWithConsent);
    html! {
        form.convey method="post" action={"/case/" (hex) "/convey"} {
            input type="hidden" name="csrf" value=(ui.guard.csrf());
            h2 { "Convey, in your own words" }
            (channel_select("from", "From", &channels))
            (channel_select("to", "to", &channels))
            label for="convey-text" { "What you convey" }
            textarea id="convey-text" name="text" required maxlength=(MAX_TEXT_CHARS) rows="3" {}
            button type="submit" { "Convey" }
        }
        @if originals {
            h2 { "Originals their authors consented to convey" }
            @if consents.is_empty() { p.quiet { "No consent to convey yet." } }
            ul.consents {
                @for c in consents {
                    li data-from=(c.from.as_str()) data-to=(c.to.as_str()) data-conveyed=(c.conveyed) {
                        strong { (c.author) } ", in " (c.from.as_str()) ", to " (c.to.as_str()) ": "
                        @match &c.message {
                            Some((index, text)) => {
                                "#" (index) " " q { (text) }
                                @if c.conveyed {
                                    " — conveyed."
                                } @else {
                                    form.act method="post" action={"/case/" (hex) "/convey"} {
                                        input type="hidden" name="csrf" value=(ui.guard.csrf());
                                        input type="hidden" name="from" value=(c.from.as_str());
                                        input type="hidden" name="to" value=(c.to.as_str());
                                        input type="hidden" name="original" value=(index);
                                        button type="submit" { "Convey the original" }
                                    }
                                }
                            }
                            None => span.quiet { "(the message is not in this copy's last acts)" }
                        }
                    }
                }
            }
        } @else {
            p.quiet { "The charter lets the mediator carry its own paraphrase only." }
        }
    }
}

/// A party's form: consent that one of its own messages be conveyed, signed, to another
/// channel.
fn consent_form(
    ui: &Ui,
    client: &Client,
    case: CaseId,
    state: &CaseState,
) -> Result<Markup, Refusal> {
    let Ok(own) = client.own_channel(case) else {
        return Ok(html! {});
    };
    let me = client.key();
    let mine: Vec<LogLine> = client
        .read_last(case, Some(&own), Some(SCAN_ACTS))
        .map_err(failed)?
        .into_iter()
        .filter(|l| l.kind == "message" && l.author_key == me)
        .collect();
    let to: Vec<&ChannelName> = discreet(state).into_iter().filter(|c| **c != own).collect();
    Ok(html! {
        h2 { "Let the mediator convey your words" }
        @if mine.is_empty() || to.is_empty() {
            p.quiet { "You have no message in " (own.as_str()) " to convey, or no other channel to convey it to." }
        } @else {
            form.convey-consent method="post" action={"/case/" (case.to_hex()) "/convey/consent"} {
                input type="hidden" name="csrf" value=(ui.guard.csrf());
                label { "Your message "
                    select name="index" required {
                        @for l in mine.iter().rev() { option value=(l.index) { "#" (l.index) " " (l.text.chars().take(80).collect::<String>()) } }
                    }
                }
                (channel_select("to", "may be conveyed, signed, to", &to))
                button type="submit" { "Consent" }
            }
        }
    })
}

/// `GET /case/{case}/conveying`.
pub(super) async fn conveying(State(ui): State<Ui>, Path(case): Path<String>) -> Page {
    let case = case_id(&case)?;
    let client = ui.client.lock().await;
    let (show, state) = summary_and_state(&client, case)?;
    let me = client.key();
    let hex = case.to_hex();
    let charter = state.procedure.charter.is_some();
    let convey = charter && viewer_may(state, &me, "conveyed");
    let consent = attribution(state) == Some(Attribution::OriginalWithConsent)
        && viewer_may(state, &me, "convey_consent");
    let consents = if convey {
        consents(&client, case, state)?
    } else {
        Vec::new()
    };
    let consent = if consent {
        consent_form(&ui, &client, case, state)?
    } else {
        html! {}
    };
    let carried = carried(&client, case)?;
    Ok(case_page(
        &ui,
        &client,
        &show,
        "Conveying",
        "conveying",
        "Conveying and non-papers",
        html! {
            @if !charter { p.quiet { "No charter is proposed yet: nothing is conveyed before one is in force." } }
            @if convey { (mediator_forms(&ui, &hex, state, &consents)) }
            (consent)
            (super::non_paper::section(&ui, case, state, &me))
            h2 { "Conveyed and tabled, in the channels you read" }
            @if carried.is_empty() { p.quiet { "Nothing yet." } }
            ol.log {
                @for l in &carried {
                    li.act data-kind=(l.kind) data-channel=(l.channel.as_str()) {
                        span.meta { "in " (l.channel.as_str()) ", #" (l.index) " " (l.author) }
                        p.procedure { (l.text) }
                    }
                }
            }
        },
    ))
}

#[derive(Deserialize)]
pub(super) struct Convey {
    from: String,
    to: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    original: String,
}

/// `POST /case/{case}/convey`: the mediator conveys `text` (its paraphrase) or the
/// `original` message at that index of `from`, to `to`.
pub(super) async fn convey(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(form): Form<Convey>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let from = channel("the channel conveyed from", &form.from)?;
    let to = channel("the channel conveyed to", &form.to)?;
    let original = match form.original.trim() {
        "" => None,
        index => Some(
            index
                .parse::<u64>()
                .map_err(|_| invalid("an original is named by its index in its channel"))?,
        ),
    };
    let mut client = ui.client.lock().await;
    mediator_only(&client, case, "only the mediator conveys")?;
    let done = match (original, form.text.trim().is_empty()) {
        (None, false) => {
            let text = text("a paraphrase", &form.text, MAX_TEXT_CHARS)?;
            client.convey_paraphrase(case, &from, &to, text).await
        }
        (Some(index), true) => client.convey_original(case, &from, index, &to).await,
        _ => {
            return Err(invalid(
                "conveying takes either a paraphrase or an original's index",
            ));
        }
    };
    drop(client);
    done.map_err(failed)?;
    Ok(changed_page(&ui, case, "conveying"))
}

#[derive(Deserialize)]
pub(super) struct ConsentForm {
    index: String,
    to: String,
}

/// `POST /case/{case}/convey/consent`: a party consents that its message at `index` of its
/// own channel be conveyed, signed, to `to`.
pub(super) async fn consent(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(form): Form<ConsentForm>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let index: u64 = form
        .index
        .trim()
        .parse()
        .map_err(|_| invalid("a message is named by its index in your channel"))?;
    let to = channel("the channel to convey to", &form.to)?;
    ui.client
        .lock()
        .await
        .consent_to_convey(case, index, &to)
        .await
        .map_err(failed)?;
    Ok(changed_page(&ui, case, "conveying"))
}
