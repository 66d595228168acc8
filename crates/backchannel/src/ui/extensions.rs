//! Deadline extensions on the implementation tracker, as `implement extend` does them: a
//! party whose consent the plan requires consents to moving a commitment's deadline by some
//! days, and the mediator extends it once every such consent is on the record (the rules
//! refuse it with `consent_missing` before). The section lists the extensions granted and the
//! consents given to those not granted yet.
//!
//! The form is shown only to whom the table of act kinds lets consent or extend, and only for
//! the deadlines the plan lets move (to a party, those whose extension needs its consent); the
//! rules check every act again.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use backchannel_core::plan::Consent;
use backchannel_core::{CaseId, CaseState, PublicKey};
use maud::{Markup, html};
use serde::Deserialize;

use super::Ui;
use super::allowed::{author, may};
use super::form::invalid;
use super::guard::Refusal;
use super::implementation_acts::commitment;
use super::pages::{case_id, changed_page, failed};

/// The most days one extension asks.
const DAYS_MAX: u32 = 3650;

/// The tracker's section on extensions, once the plan is in force.
pub(super) fn section(ui: &Ui, case: CaseId, state: &CaseState, me: &PublicKey) -> Markup {
    let Some(implementation) = state
        .procedure
        .implementation
        .as_ref()
        .filter(|i| i.in_force)
    else {
        return html! {};
    };
    let movable: Vec<_> = implementation
        .plan
        .deadlines
        .iter()
        .filter_map(|d| d.extension.as_ref().map(|e| (d.commitment.as_str(), e)))
        .collect();
    let viewer = author(state, me);
    let extends = may(viewer, "deadline_extended");
    let consents = may(viewer, "extension_consented");
    // A party consents only where the plan asks its consent.
    let party = state.participants.get(me).and_then(|p| p.role.party());
    let asked = |commitment: &str, consent: Consent| match (consent, party) {
        (Consent::AllParties, Some(_)) => true,
        (Consent::Obligors, Some(party)) => implementation
            .plan
            .commitment(commitment)
            .is_some_and(|c| c.obligors.iter().any(|o| o == party)),
        (_, None) => false,
    };
    let offered: Vec<_> = movable
        .iter()
        .filter(|(commitment, extension)| extends || asked(commitment, extension.consent))
        .collect();
    let granted = &implementation.extensions;
    let pending = &implementation.extension_consents;
    html! {
        @if !movable.is_empty() {
            h2 { "Deadline extensions" }
            ul.extensions {
                @for (commitment, days) in granted {
                    li data-extended=(commitment) { (commitment) ": moved by " (days) " days." }
                }
                @for (commitment, days, party) in pending {
                    li data-extension-consent=(commitment) { (party) " consents to move " (commitment) " by " (days) " days." }
                }
            }
            @if (extends || consents) && !offered.is_empty() {
                form.extend method="post" action={"/case/" (case.to_hex()) "/implementation/extend"} {
                    input type="hidden" name="csrf" value=(ui.guard.csrf());
                    label { "Commitment " select name="commitment" required {
                        @for (commitment, extension) in &offered {
                            option value=(commitment) {
                                (commitment) " (at most " (extension.max_days) " days, with the consent of "
                                @match extension.consent { Consent::AllParties => "every party", Consent::Obligors => "its obligors" }
                                ")"
                            }
                        }
                    } }
                    label { "Days " input type="number" name="days" required min="1" max=(DAYS_MAX); }
                    @if extends {
                        button type="submit" { "Extend the deadline (public)" }
                    } @else {
                        button type="submit" { "Consent to the extension (public)" }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Extend {
    commitment: String,
    days: String,
}

/// The commitment and the days the form names.
fn parse(form: &Extend) -> Result<(String, u32), Refusal> {
    let commitment = commitment(&form.commitment)?;
    match form.days.trim().parse::<u32>() {
        Ok(days) if (1..=DAYS_MAX).contains(&days) => Ok((commitment, days)),
        _ => Err(invalid(&format!("an extension is 1 to {DAYS_MAX} days"))),
    }
}

/// `POST /case/{case}/implementation/extend`: a party consents to an extension, or the
/// mediator extends the deadline.
pub(super) async fn extend(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(form): Form<Extend>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let (commitment, days) = parse(&form)?;
    ui.client
        .lock()
        .await
        .extend_deadline(case, &commitment, days)
        .await
        .map_err(failed)?;
    Ok(changed_page(&ui, case, "implementation"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(commitment: &str, days: &str) -> Extend {
        Extend {
            commitment: commitment.into(),
            days: days.into(),
        }
    }

    #[test]
    fn the_form_names_a_commitment_and_days() {
        assert_eq!(
            parse(&form(" sanctions_relief ", "10")).ok(),
            Some(("sanctions_relief".to_owned(), 10))
        );
        for bad in [
            form("", "10"),
            form("a b", "10"),
            form("x", "0"),
            form("x", "-1"),
            form("x", "3651"),
            form("x", "ten"),
        ] {
            assert!(parse(&bad).is_err(), "{} {}", bad.commitment, bad.days);
        }
    }
}
