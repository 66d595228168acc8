//! An offer's terms typed in, for an offer tabled before the mediator has defined the issues
//! (as `offer table --promise ISSUE=OPT[,OPT..] --condition …` takes any terms then): one term
//! a line, `ISSUE=OPT[,OPT..]`, in two boxes, what the party will do and what it asks of the
//! other side. Once the issues are defined the offers page builds its form from them instead
//! (`offers.rs`).

use std::collections::BTreeSet;

use backchannel_core::procedure::Offer;
use backchannel_formula::Condition;
use maud::{Markup, html};

use super::Ui;
use super::form::{ID_MAX, is_id};

/// The most terms one side of an offer takes, and options one term names.
const TERMS_MAX: usize = 32;

/// One side's terms, one `ISSUE=OPT[,OPT..]` a line (blank lines skipped).
fn side(what: &str, text: &str) -> Result<Vec<Condition>, String> {
    let mut issues = BTreeSet::new();
    let mut terms = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (issue, options) = line
            .split_once('=')
            .ok_or_else(|| format!("{what}: {line:?} is not ISSUE=OPT[,OPT..]"))?;
        let issue = issue.trim();
        if !is_id(issue) {
            return Err(format!(
                "{what}: {issue:?} is not an issue's id (1 to {ID_MAX} letters, digits, _ or -)"
            ));
        }
        if !issues.insert(issue) {
            return Err(format!("{what}: {issue} is named twice"));
        }
        let mut named = BTreeSet::new();
        let mut list = Vec::new();
        for option in options.split(',').map(str::trim) {
            if !is_id(option) {
                return Err(format!(
                    "{what}: {option:?} is not an option's id in {line:?}"
                ));
            }
            if !named.insert(option) {
                return Err(format!("{what}: {line:?} names {option} twice"));
            }
            list.push(option.to_owned());
        }
        if list.len() > TERMS_MAX {
            return Err(format!("{what}: a term names at most {TERMS_MAX} options"));
        }
        if terms.len() == TERMS_MAX {
            return Err(format!("{what}: at most {TERMS_MAX} terms"));
        }
        terms.push(Condition {
            issue: issue.to_owned(),
            options: list,
        });
    }
    Ok(terms)
}

/// One term, `ISSUE=OPT[,OPT..]`, as a requirement names it (`requirements.rs`).
pub(super) fn term(what: &str, text: &str) -> Result<Condition, String> {
    let mut terms = side(what, text)?;
    match (terms.pop(), terms.is_empty()) {
        (Some(term), true) => Ok(term),
        _ => Err(format!("{what}: one ISSUE=OPT[,OPT..], on one line")),
    }
}

/// The offer the typed-in form describes: `promise` and `condition`, once each, besides the
/// CSRF token. Anything else is refused.
pub(super) fn offer_from_text(fields: &[(String, String)]) -> Result<Offer, String> {
    let (mut promise, mut condition) = (None, None);
    for (name, value) in fields {
        let slot = match name.as_str() {
            "csrf" => continue,
            "promise" => &mut promise,
            "condition" => &mut condition,
            _ => return Err(format!("an offer's form has no field {name:?}")),
        };
        if slot.replace(value.as_str()).is_some() {
            return Err(format!("an offer's form names {name} once"));
        }
    }
    let offer = Offer {
        promise: side("what you will do", promise.unwrap_or_default())?,
        condition: side("what you ask", condition.unwrap_or_default())?,
    };
    if offer.promise.is_empty() {
        return Err("an offer promises something".to_owned());
    }
    Ok(offer)
}

/// The form, before the issues are defined.
pub(super) fn form(ui: &Ui, hex: &str) -> Markup {
    html! {
        form.offer-terms method="post" action={"/case/" (hex) "/offers"} {
            input type="hidden" name="csrf" value=(ui.guard.csrf());
            p.quiet { "The mediator has not defined the issues yet: name each term as " code { "issue=option" } " (or " code { "issue=option,option" } " for any of them), one a line." }
            label for="promise" { "We will do" }
            textarea id="promise" name="promise" required rows="3" {}
            label for="condition" { "if the other side does" }
            textarea id="condition" name="condition" rows="3" {}
            button type="submit" { "Table the offer, sealed to the mediator" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::form::fields as form;

    #[test]
    fn typed_terms_become_the_offer() {
        let fields = form(&[
            ("csrf", "x"),
            ("promise", "enrichment = cap_3_67\r\n\r\n"),
            ("condition", "sanctions=full_lift, phased_lift"),
        ]);
        assert_eq!(
            offer_from_text(&fields),
            Ok(Offer {
                promise: vec![Condition {
                    issue: "enrichment".into(),
                    options: vec!["cap_3_67".into()],
                }],
                condition: vec![Condition {
                    issue: "sanctions".into(),
                    options: vec!["full_lift".into(), "phased_lift".into()],
                }],
            })
        );
    }

    #[test]
    fn malformed_terms_are_refused() {
        for fields in [
            form(&[("condition", "sanctions=full_lift")]),
            form(&[("promise", "sanctions")]),
            form(&[("promise", "sanctions=")]),
            form(&[("promise", "sanctions=a,,b")]),
            form(&[("promise", "sanctions=a,a")]),
            form(&[("promise", "sanctions=a\nsanctions=b")]),
            form(&[("promise", "sanc tions=a")]),
            form(&[("promise", "s=a"), ("promise", "t=b")]),
            form(&[("promise", "s=a"), ("other", "1")]),
        ] {
            assert!(offer_from_text(&fields).is_err(), "{fields:?}");
        }
    }
}
