//! Invites from the mediator's desk, as `case invite` and `case invite revoke` do them: a form
//! on the case page (a party's delegate or an observer, auto-admit or not, how long the code
//! stays valid), the code shown once on the page that answers it, and the invites issued
//! (admitted, revoked, expired or open) each open one with a button that revokes it.
//!
//! The code is a secret that seats whoever spends it: it is shown on the answer to the form
//! and nowhere else, never in a URL (the answer is the form's own page, not a redirect), never
//! in a log line, and the list names invites by their id only. A revocation names the id,
//! never the code.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use backchannel_client::{Client, InviteOptions, InviteRole, InviteSummary};
use backchannel_core::act::MAX_LABEL_CHARS;
use backchannel_core::{CaseId, CaseState};
use maud::{Markup, html};
use serde::Deserialize;

use super::Ui;
use super::form::invalid;
use super::guard::Refusal;
use super::pages::{Page, announce, case_id, changed, failed, layout, mediator_only};
use crate::output;

/// How long a code may stay valid, as the form offers it: (the field's value, its label,
/// milliseconds; `None`: never expires). The first is the default, as `--expires 7d` is.
const LIFETIMES: &[(&str, &str, Option<u64>)] = &[
    ("7d", "7 days", Some(7 * DAY_MS)),
    ("1h", "1 hour", Some(3_600_000)),
    ("1d", "1 day", Some(DAY_MS)),
    ("30d", "30 days", Some(30 * DAY_MS)),
    ("never", "never expires", None),
];
const DAY_MS: u64 = 86_400_000;

/// Where an invite stands, as this desk's record has it at `now_ms`.
fn standing(invite: &InviteSummary, state: &CaseState, now_ms: u64) -> (&'static str, String) {
    if let Some(key) = &invite.used_by {
        return ("spent", format!("spent: {} admitted", state.name_of(key)));
    }
    if invite.revoked {
        return ("revoked", "revoked".to_owned());
    }
    match invite.expires_ms {
        Some(ms) if ms <= now_ms => ("expired", format!("expired {}", output::utc(ms))),
        Some(ms) => ("open", format!("open until {}", output::utc(ms))),
        None => ("open", "open, never expires".to_owned()),
    }
}

/// The case page's section on invites, on the mediator's desk only.
pub(super) fn section(ui: &Ui, client: &Client, case: CaseId) -> Markup {
    let Ok(state) = client.state(case) else {
        return html! {};
    };
    if state.mediator != client.key() {
        return html! {};
    }
    let invites = client.invites(case).unwrap_or_default();
    let now = backchannel_client::hub::now_ms();
    let hex = case.to_hex();
    let csrf = ui.guard.csrf();
    html! {
        h2 { "Invites" }
        @if !invites.is_empty() {
            ul.invites {
                @for invite in &invites {
                    @let (status, says) = standing(invite, state, now);
                    li data-invite=(invite.id) data-status=(status) {
                        code { (invite.id) } " — " (invite.role)
                        @if let Some(party) = &invite.party { " of " (party) }
                        @if invite.auto_admit { ", admitted at the next sync" } @else { ", waits for your admission" }
                        "; " (says) "."
                        @if status == "open" {
                            form.act method="post" action={"/case/" (hex) "/invites/revoke"} {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="hidden" name="id" value=(invite.id);
                                button type="submit" { "Revoke" }
                            }
                        }
                    }
                }
            }
        }
        form.invite method="post" action={"/case/" (hex) "/invites"} {
            input type="hidden" name="csrf" value=(csrf);
            fieldset {
                legend { "Invite" }
                label { input type="radio" name="role" value="party" checked; " a party's delegate, of the party " }
                input type="text" name="party" maxlength=(MAX_LABEL_CHARS) aria-label="Party";
                label { input type="radio" name="role" value="observer"; " an observer" }
            }
            label { input type="checkbox" name="auto_admit" value="1"; " admit whoever spends it at the next sync, without comparing fingerprints" }
            label { "Valid for " select name="expires" {
                @for (value, label, _) in LIFETIMES { option value=(value) { (label) } }
            } }
            button type="submit" { "Issue an invite code" }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Invite {
    role: String,
    #[serde(default)]
    party: String,
    #[serde(default)]
    auto_admit: Option<String>,
    #[serde(default)]
    expires: String,
}

/// What the form asks for: the role, and how long the code stays valid (ms).
fn parse(form: &Invite) -> Result<(InviteRole, Option<u64>), Refusal> {
    let party = form.party.trim();
    let role = match form.role.as_str() {
        "party" if party.is_empty() => return Err(invalid("a party's invite names the party")),
        "party"
            if party.chars().count() > MAX_LABEL_CHARS || party.chars().any(char::is_control) =>
        {
            return Err(invalid(&format!(
                "a party's name is at most {MAX_LABEL_CHARS} characters on one line"
            )));
        }
        "party" => InviteRole::Party(party.to_owned()),
        "observer" if !party.is_empty() => {
            return Err(invalid("a party's name goes only with a party's invite"));
        }
        "observer" => InviteRole::Observer,
        _ => {
            return Err(invalid(
                "an invite is for a party's delegate or an observer",
            ));
        }
    };
    let lifetime = if form.expires.is_empty() {
        LIFETIMES[0].2
    } else {
        LIFETIMES
            .iter()
            .find(|(value, _, _)| *value == form.expires)
            .ok_or_else(|| invalid("an invite is valid for one of the lifetimes the form offers"))?
            .2
    };
    Ok((role, lifetime))
}

/// `POST /case/{case}/invites`: the mediator issues an invite; the answer shows its code,
/// once.
pub(super) async fn issue(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(form): Form<Invite>,
) -> Page {
    let case = case_id(&case)?;
    let (role, lifetime) = parse(&form)?;
    let auto_admit = match form.auto_admit.as_deref() {
        None => false,
        Some("1") => true,
        Some(_) => return Err(invalid("auto-admit is checked or not")),
    };
    let mut client = ui.client.lock().await;
    mediator_only(&client, case, "only the mediator invites participants")?;
    let options = InviteOptions {
        expires_ms: lifetime.map(|ms| backchannel_client::hub::now_ms().saturating_add(ms)),
        auto_admit,
        ..InviteOptions::default()
    };
    let issued = client
        .invite_with(case, role, options)
        .await
        .map_err(failed)?;
    let show = client.show(case).map_err(failed)?;
    drop(client);
    announce(&ui, case);
    let hex = case.to_hex();
    Ok(layout(
        &ui,
        &format!("An invite — {}", show.title),
        None,
        html! {
            p.crumbs { a href={"/case/" (hex)} { (show.title) } " / invite " (issued.id) }
            h1 { "An invite code" }
            p { "Invite " code { (issued.id) } ": "
                @match issued.expires_ms { Some(ms) => { "valid until " (output::utc(ms)) }, None => { "never expires" } }
                "; "
                @if issued.auto_admit { "whoever spends it is admitted at the next sync." } @else { "whoever spends it waits until you admit it, after comparing fingerprints." }
            }
            p.secret {
                strong { "This code is a secret: " }
                "whoever holds it can join the case in this role. Hand it over out of band, in person or over a channel you trust, and only to the one it is for. It is shown this once: copy it now."
            }
            textarea.invite-code id="invite-code" readonly rows="4" aria-label="The invite code" { (issued.code.encode()) }
            p { a href={"/case/" (hex)} { "Back to the case" } }
        },
    ))
}

#[derive(Deserialize)]
pub(super) struct Revoke {
    id: String,
}

/// `POST /case/{case}/invites/revoke`: the mediator revokes an open invite, named by its id
/// (the twelve hex digits the list shows; never the code).
pub(super) async fn revoke(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(form): Form<Revoke>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let id = form.id.trim().to_ascii_lowercase();
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid("an invite is named by its id, 12 hex digits"));
    }
    let mut client = ui.client.lock().await;
    mediator_only(&client, case, "only the mediator revokes invites")?;
    client.revoke_invite(case, &id).await.map_err(failed)?;
    drop(client);
    Ok(changed(&ui, case, &format!("/case/{}", case.to_hex())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(role: &str, party: &str, expires: &str) -> Invite {
        Invite {
            role: role.into(),
            party: party.into(),
            auto_admit: None,
            expires: expires.into(),
        }
    }

    #[test]
    fn a_form_becomes_an_invite() {
        let parsed = parse(&form("party", " Iran ", "")).ok();
        assert_eq!(
            parsed,
            Some((InviteRole::Party("Iran".into()), Some(7 * DAY_MS)))
        );
        let parsed = parse(&form("observer", "", "never")).ok();
        assert_eq!(parsed, Some((InviteRole::Observer, None)));
    }

    #[test]
    fn a_malformed_form_is_refused() {
        for bad in [
            form("party", "", "7d"),
            form("party", "a\nb", "7d"),
            form("mediator", "", "7d"),
            form("observer", "", "8d"),
            form("party", &"p".repeat(MAX_LABEL_CHARS + 1), "7d"),
            form("observer", "Iran", "7d"),
        ] {
            assert!(parse(&bad).is_err(), "{}", bad.role);
        }
    }
}
