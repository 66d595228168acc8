//! An observer's requirements on any agreement, on the issues page, as `require` does them:
//! every requirement registered (public, with its rationale), and for whom the table of act
//! kinds lets register one, a form: its id, what it asks (the issue settles on one of these
//! options, on none of them, or if one term holds so must another), each term typed as
//! `ISSUE=OPT[,OPT..]`, and why.
//!
//! A malformed field is `invalid_form` before anything is posted; the rules check the terms
//! against the issues defined (an unknown option: `invalid_act`) and that the author is an
//! observer.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use backchannel_core::procedure::RegisteredRequirement;
use backchannel_core::{CaseId, CaseState, PublicKey};
use backchannel_formula::{Condition, Requirement, RequirementKind};
use maud::{Markup, html};
use serde::Deserialize;

use super::Ui;
use super::allowed::viewer_may;
use super::form::{ID_MAX, invalid, is_id, text};
use super::guard::Refusal;
use super::offer_terms::term;
use super::pages::{case_id, changed_page, failed};

/// The longest rationale the form takes.
const RATIONALE_MAX: usize = 4096;

fn terms(c: &Condition) -> String {
    format!("{} is {}", c.issue, c.options.join(" or "))
}

/// What a requirement asks, in words.
fn asks(kind: &RequirementKind) -> String {
    match kind {
        RequirementKind::RequireOneOf { issue, options } => {
            format!("{issue} settles on {}", options.join(" or "))
        }
        RequirementKind::Forbid { issue, options } => {
            format!("{issue} settles on none of {}", options.join(", "))
        }
        RequirementKind::Implies { if_, then } => {
            format!("if {}, then {}", terms(if_), terms(then))
        }
    }
}

fn registered(state: &CaseState, r: &RegisteredRequirement) -> Markup {
    html! {
        li data-requirement=(r.requirement.id) {
            code { (r.requirement.id) } ", by " (state.name_of(&r.by)) ": " (asks(&r.requirement.kind))
            ". " span.rationale { (r.rationale) }
        }
    }
}

/// The issues page's section: the requirements registered, and the form for whom may.
pub(super) fn section(ui: &Ui, case: CaseId, state: &CaseState, me: &PublicKey) -> Markup {
    let list = &state.procedure.requirements;
    let may = !state.procedure.issues.is_empty() && viewer_may(state, me, "requirement_registered");
    html! {
        @if !list.is_empty() || may { h2 { "Requirements" } }
        @if !list.is_empty() {
            ul.requirements { @for r in list { (registered(state, r)) } }
        }
        @if may {
            form.require method="post" action={"/case/" (case.to_hex()) "/requirements"} {
                input type="hidden" name="csrf" value=(ui.guard.csrf());
                p.quiet { "A requirement is public: every participant reads it, with your rationale. Terms are typed " code { "ISSUE=OPT[,OPT..]" } "." }
                label { "id " input type="text" name="id" required maxlength=(ID_MAX); }
                label { "It asks " select name="kind" {
                    option value="require_one_of" { "that the issue settle on one of" }
                    option value="forbid" { "that the issue settle on none of" }
                    option value="implies" { "that if this holds, the next holds too" }
                } }
                label { "terms " input type="text" name="terms" required maxlength="1024"; }
                label { "then (with “if this holds”) " input type="text" name="then" maxlength="1024"; }
                label { "Rationale " textarea name="rationale" required maxlength=(RATIONALE_MAX) rows="2" {} }
                button type="submit" { "Register the requirement (public)" }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct Require {
    id: String,
    kind: String,
    terms: String,
    #[serde(default)]
    then: String,
    rationale: String,
}

/// The requirement the form describes, by `by`, and its rationale.
fn parse(form: &Require, by: &str) -> Result<(Requirement, String), Refusal> {
    let id = form.id.trim();
    if !is_id(id) {
        return Err(invalid(&format!(
            "a requirement's id is 1 to {ID_MAX} letters, digits, _ or -"
        )));
    }
    let rationale = text("a rationale", &form.rationale, RATIONALE_MAX)?;
    let first = term("terms", &form.terms).map_err(|e| invalid(&e))?;
    let then = form.then.trim();
    let kind = match (form.kind.as_str(), then.is_empty()) {
        ("require_one_of", true) => RequirementKind::RequireOneOf {
            issue: first.issue,
            options: first.options,
        },
        ("forbid", true) => RequirementKind::Forbid {
            issue: first.issue,
            options: first.options,
        },
        ("implies", false) => RequirementKind::Implies {
            if_: first,
            then: term("then", then).map_err(|e| invalid(&e))?,
        },
        ("implies", true) => return Err(invalid("“if this holds” needs what then holds")),
        ("require_one_of" | "forbid", false) => {
            return Err(invalid("“then” goes only with “if this holds”"));
        }
        _ => return Err(invalid("that is not a kind of requirement")),
    };
    let requirement = Requirement {
        id: id.to_owned(),
        by: by.to_owned(),
        kind,
    };
    Ok((requirement, rationale.to_owned()))
}

/// `POST /case/{case}/requirements`: an observer registers a requirement.
pub(super) async fn register(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(form): Form<Require>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let mut client = ui.client.lock().await;
    let (requirement, rationale) = parse(&form, client.name())?;
    client
        .register_requirement(case, requirement, &rationale)
        .await
        .map_err(failed)?;
    drop(client);
    Ok(changed_page(&ui, case, "issues"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(kind: &str, terms: &str, then: &str) -> Require {
        Require {
            id: "no_weapons".into(),
            kind: kind.into(),
            terms: terms.into(),
            then: then.into(),
            rationale: "the treaty".into(),
        }
    }

    #[test]
    fn a_form_becomes_a_requirement() {
        let parsed = parse(&form("implies", "a=x", "b=y,z"), "Inspector").ok();
        let Some((r, rationale)) = parsed else {
            panic!("refused");
        };
        assert_eq!(rationale, "the treaty");
        assert_eq!(r.by, "Inspector");
        assert_eq!(asks(&r.kind), "if a is x, then b is y or z");
    }

    #[test]
    fn a_malformed_form_is_refused() {
        for bad in [
            form("forbid", "", ""),
            form("forbid", "a", ""),
            form("forbid", "a=x\nb=y", ""),
            form("forbid", "a=x", "b=y"),
            form("implies", "a=x", ""),
            form("other", "a=x", ""),
            form("forbid", "a=x,x", ""),
        ] {
            assert!(parse(&bad, "I").is_err(), "{} {}", bad.kind, bad.terms);
        }
    }
}
