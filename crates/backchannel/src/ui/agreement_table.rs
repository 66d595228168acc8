//! Tabling the agreement from the mediator's desk, as `agreement table --from-draft N
//! --guarantor … --plan FILE` does: the latest draft's text, the observers named to guarantee
//! it (checked from the case's observers), and its implementation plan pasted in the
//! `backchannel-plan/1` format, which every signature then covers.
//!
//! The plan is read by the parser the command uses (`Plan::parse`), and a plan it refuses is
//! refused with its sentence before anything is posted; the rules check the whole act again.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use backchannel_core::plan::{PLAN_FORMAT, Plan};
use backchannel_core::procedure::Agreement;
use backchannel_core::{CaseId, CaseState, PublicKey, Role};
use maud::{Markup, html};

use super::Ui;
use super::form::invalid;
use super::guard::Refusal;
use super::pages::{case_id, changed_page, failed, mediator_only, refusal};

/// The most guarantors the form names.
const GUARANTORS_MAX: usize = 64;

/// The case's observers, the only participants who may guarantee an agreement.
fn observers(state: &CaseState) -> impl Iterator<Item = (&PublicKey, &str)> {
    state
        .participants
        .iter()
        .filter(|(_, p)| matches!(p.role, Role::Observer))
        .map(|(key, p)| (key, p.name.as_str()))
}

/// The mediator's form tabling draft `version` as the agreement.
pub(super) fn form(ui: &Ui, case: CaseId, state: &CaseState, version: u32) -> Markup {
    let observers: Vec<_> = observers(state).collect();
    html! {
        form.table method="post" action={"/case/" (case.to_hex()) "/agreement/table"} {
            input type="hidden" name="csrf" value=(ui.guard.csrf());
            input type="hidden" name="version" value=(version);
            @if !observers.is_empty() {
                fieldset {
                    legend { "Guarantors (observers invited to co-sign once it is published)" }
                    @for (key, name) in &observers {
                        label { input type="checkbox" name="guarantor" value=(key.to_hex()); " " (name) }
                    }
                }
            }
            label {
                "Implementation plan (optional: JSON in the " code { (PLAN_FORMAT) } " format, in force from publication) "
                textarea name="plan" rows="8" spellcheck="false" {}
            }
            button type="submit" { "Table draft " (version) " as the agreement" }
        }
    }
}

/// What the form asks for: the draft's version, the guarantors' keys, the plan.
struct Tabling {
    version: u32,
    guarantors: Vec<PublicKey>,
    plan: Option<Plan>,
}

/// The form's fields: `version` and `plan` once, `guarantor` repeated; anything else refused.
fn parse(fields: &[(String, String)]) -> Result<Tabling, Refusal> {
    let (mut version, mut plan) = (None, None);
    let mut guarantors = Vec::new();
    for (name, value) in fields {
        match name.as_str() {
            "csrf" => {}
            "version" if version.is_some() => return Err(invalid("the form names one draft")),
            "version" => {
                version = Some(
                    value
                        .trim()
                        .parse::<u32>()
                        .map_err(|_| invalid("a draft is named by its version"))?,
                );
            }
            "plan" if plan.is_some() => return Err(invalid("an agreement has one plan")),
            "plan" => plan = Some(value.trim()),
            "guarantor" => {
                let key = PublicKey::parse(value.trim())
                    .ok_or_else(|| invalid("a guarantor is named by its whole key"))?;
                if !guarantors.contains(&key) {
                    guarantors.push(key);
                }
                if guarantors.len() > GUARANTORS_MAX {
                    return Err(invalid(&format!(
                        "an agreement names at most {GUARANTORS_MAX} guarantors"
                    )));
                }
            }
            _ => return Err(invalid(&format!("the form has no field {name:?}"))),
        }
    }
    let version = version.ok_or_else(|| invalid("the form names no draft"))?;
    let plan = match plan.filter(|p| !p.is_empty()) {
        None => None,
        Some(text) => Some(Plan::parse(text.as_bytes()).map_err(|e| invalid(&e.to_string()))?),
    };
    Ok(Tabling {
        version,
        guarantors,
        plan,
    })
}

/// `POST /case/{case}/agreement/table`: the mediator tables a draft's text as the agreement,
/// with the guarantors and the plan the form names.
pub(super) async fn table(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let tabling = parse(&fields)?;
    let mut client = ui.client.lock().await;
    mediator_only(&client, case, "only the mediator tables the agreement")?;
    let state = client.state(case).map_err(failed)?;
    for key in &tabling.guarantors {
        if !observers(state).any(|(k, _)| k == key) {
            return Err(invalid(&format!(
                "{} is not an observer: guarantors are observers",
                state.name_of(key)
            )));
        }
    }
    let draft = client.draft(case, tabling.version).map_err(|_| {
        refusal(
            StatusCode::NOT_FOUND,
            "unknown_reference",
            "no draft of that version is known here",
        )
    })?;
    let agreement = Agreement {
        title: draft.title,
        clauses: draft.clauses,
        guarantors: tabling.guarantors,
        plan: tabling.plan,
    };
    client
        .table_agreement(case, agreement)
        .await
        .map_err(failed)?;
    drop(client);
    Ok(changed_page(&ui, case, "agreement"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::form::fields;

    #[test]
    fn a_bad_plan_is_refused_with_the_parsers_sentence() {
        let refused = parse(&fields(&[("version", "1"), ("plan", "{\"format\": 1}")]));
        let Err(refused) = refused else {
            panic!("a bad plan was taken");
        };
        assert_eq!(refused.code, "invalid_form");
        assert!(
            refused
                .sentence
                .starts_with("the implementation plan is invalid"),
            "{}",
            refused.sentence
        );
    }

    #[test]
    fn a_malformed_form_is_refused() {
        for bad in [
            fields(&[]),
            fields(&[("version", "x")]),
            fields(&[("version", "1"), ("version", "2")]),
            fields(&[("version", "1"), ("guarantor", "abcd")]),
            fields(&[("version", "1"), ("plan", ""), ("plan", "")]),
            fields(&[("version", "1"), ("other", "")]),
        ] {
            assert!(parse(&bad).is_err(), "{bad:?}");
        }
        let empty_plan = parse(&fields(&[("version", "2"), ("plan", "  ")]));
        assert!(empty_plan.is_ok_and(|t| t.version == 2 && t.plan.is_none()));
    }
}
