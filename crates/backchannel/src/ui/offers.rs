//! Sealed conditional offers: a party tables its own ("we will do this if they do that")
//! from a form built from the issues (or, before they are defined, from terms typed in:
//! `offer_terms.rs`) and withdraws one while it is open; the mediator sees the counts and the
//! offers sealed to it, and opens every matching pair at once; everyone sees the commitments
//! on the public record and the pairs opened.
//!
//! Terms appear in three places only: a party's own party's offers, the mediator's offers
//! sealed to it, and the pairs opened once they matched ([`terms_shown`]). Another party's
//! unmatched offer is not in a party's copy at all, and its page shows of it no more than
//! the public record does: a commitment, a party, a status.

use std::collections::{BTreeMap, BTreeSet};

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use backchannel_core::procedure::{Offer, OfferState, OfferStatus};
use backchannel_core::{ActBody, Digest32};
use backchannel_formula::{Condition, Issue};
use maud::{Markup, html};
use serde::Deserialize;

use super::Ui;
use super::form::invalid;
use super::guard::Refusal;
use super::pages::{
    Page, case_id, case_page, changed_page, failed, mediator_only, summary_and_state, tasks,
};
use super::position::my_party;

/// Who is looking at the page, as far as offers are concerned.
#[derive(Clone, Debug, PartialEq)]
enum Viewer {
    Mediator,
    Party(String),
    /// An observer: the public record only.
    Other,
}

/// Whether the page shows an offer's terms to `viewer`: the mediator's always (every offer
/// is sealed to it), a party's own party's, and another party's once it opened in a matched
/// pair (where this copy holds it); never another party's offer that has not matched, nor
/// any to an observer.
fn terms_shown(viewer: &Viewer, offer: &OfferState) -> bool {
    match viewer {
        Viewer::Mediator => true,
        Viewer::Party(party) => *party == offer.party || offer.status == OfferStatus::Opened,
        Viewer::Other => false,
    }
}

/// An offer's terms as the page may show them to `viewer`, where this copy holds them.
fn shown<'a>(viewer: &Viewer, offer: &'a OfferState) -> Option<&'a Offer> {
    offer.offer.as_ref().filter(|_| terms_shown(viewer, offer))
}

fn status_name(status: OfferStatus) -> &'static str {
    match status {
        OfferStatus::Open => "sealed",
        OfferStatus::Withdrawn => "withdrawn",
        OfferStatus::Opened => "opened",
    }
}

/// One side of an offer, each term marked with `data-term="ISSUE=OPT[,OPT..]"`.
fn terms(issues: &[Issue], terms: &[Condition]) -> Markup {
    let title = |id: &str| {
        issues
            .iter()
            .find(|i| i.id == id)
            .map_or_else(|| id.to_owned(), |i| i.title.clone())
    };
    let label = |issue: &str, option: &str| {
        issues
            .iter()
            .find(|i| i.id == issue)
            .and_then(|i| i.options.iter().find(|o| o.id == option))
            .map_or_else(|| option.to_owned(), |o| o.label.clone())
    };
    html! {
        @if terms.is_empty() { "nothing" }
        @for (n, term) in terms.iter().enumerate() {
            @if n > 0 { "; " }
            span.term data-term={(term.issue) "=" (term.options.join(","))} {
                (title(&term.issue)) ": "
                (term.options.iter().map(|o| label(&term.issue, o)).collect::<Vec<_>>().join(" or "))
            }
        }
    }
}

/// An offer's terms, where [`terms_shown`] allows them and this copy holds them.
fn offer_terms(issues: &[Issue], offer: Option<&Offer>) -> Markup {
    html! {
        @match offer {
            Some(offer) => {
                "will do " (terms(issues, &offer.promise)) ", if the other side does " (terms(issues, &offer.condition))
            }
            None => span.quiet { "(sealed)" }
        }
    }
}

/// The form a party tables an offer from: for each issue, the options it promises and the
/// options it asks of the other side.
fn table_form(ui: &Ui, hex: &str, issues: &[Issue]) -> Markup {
    html! {
        form.offer method="post" action={"/case/" (hex) "/offers"} {
            input type="hidden" name="csrf" value=(ui.guard.csrf());
            table {
                thead { tr { th { "issue" } th { "we will do one of" } th { "if they do one of" } } }
                tbody {
                    @for issue in issues {
                        tr data-issue=(issue.id) {
                            td { (issue.title) }
                            @for side in ["promise", "condition"] {
                                td {
                                    @for option in &issue.options {
                                        label { input type="checkbox" name={(side) "." (issue.id)} value=(option.id); " " (option.label) } " "
                                    }
                                }
                            }
                        }
                    }
                }
            }
            button type="submit" { "Table the offer, sealed to the mediator" }
        }
    }
}

/// `GET /case/{case}/offers`.
pub(super) async fn offers(State(ui): State<Ui>, Path(case): Path<String>) -> Page {
    let case = case_id(&case)?;
    let client = ui.client.lock().await;
    let (show, state) = summary_and_state(&client, case)?;
    let me = client.key();
    let viewer = if state.mediator == me {
        Viewer::Mediator
    } else {
        match state.participants.get(&me).and_then(|p| p.role.party()) {
            Some(party) => Viewer::Party(party.to_owned()),
            None => Viewer::Other,
        }
    };
    let hex = case.to_hex();
    let procedure = &state.procedure;
    let issues = &procedure.issues;
    // The pairs as the public record matched them.
    let pairs: Vec<Vec<Digest32>> = client
        .acts(case, |a| {
            matches!(a.act.body, ActBody::OffersMatched { .. })
        })
        .map_err(failed)?
        .into_iter()
        .filter_map(|a| match a.act.body {
            ActBody::OffersMatched { commitments } => Some(commitments),
            _ => None,
        })
        .collect();
    let mut counts: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for o in procedure.offers.values() {
        let at = match o.status {
            OfferStatus::Open => 0,
            OfferStatus::Withdrawn => 1,
            OfferStatus::Opened => 2,
        };
        if let Some(n) = counts.entry(o.party.as_str()).or_default().get_mut(at) {
            *n += 1;
        }
    }
    let sealed_parties: BTreeSet<&str> = procedure
        .offers
        .values()
        .filter(|o| o.status == OfferStatus::Open)
        .map(|o| o.party.as_str())
        .collect();
    let csrf = ui.guard.csrf();
    Ok(case_page(
        &ui,
        &client,
        &show,
        "Offers",
        "offers",
        "Conditional offers",
        html! {
            (tasks(&ui, &client, case, &format!("/case/{hex}/offers")))
            @if viewer == Viewer::Mediator {
                section.offer-counts {
                    h2 { "Offers sealed to you" }
                    table.counts {
                        thead { tr { th { "party" } th { "sealed" } th { "withdrawn" } th { "opened" } } }
                        tbody {
                            @for (party, [open, withdrawn, opened]) in &counts {
                                tr data-party=(party) { td { (party) } td { (open) } td { (withdrawn) } td { (opened) } }
                            }
                        }
                    }
                    ul.offers {
                        @for (commitment, o) in procedure.offers.iter().filter(|(_, o)| o.status == OfferStatus::Open) {
                            li data-commitment=(hex::encode(commitment.0)) {
                                strong { (o.party) } " " (offer_terms(issues, shown(&viewer, o)))
                            }
                        }
                    }
                    @if sealed_parties.len() >= 2 {
                        form.match-offers method="post" action={"/case/" (hex) "/offers/match"} {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "Open every matching pair" }
                        }
                    } @else {
                        p.quiet { "A pair opens once two parties have sealed offers that match." }
                    }
                }
            }
            @if let Viewer::Party(party) = &viewer {
                section.own-offers {
                    h2 { (party) "'s offers" }
                    @let own: Vec<_> = procedure.offers.iter().filter(|(_, o)| o.party == *party).collect();
                    @if own.is_empty() { p.quiet { "None yet." } }
                    ul.offers {
                        @for (commitment, o) in own {
                            li data-commitment=(hex::encode(commitment.0)) data-status=(status_name(o.status)) {
                                code { (commitment.short()) } " " (status_name(o.status)) ": "
                                (offer_terms(issues, shown(&viewer, o)))
                                @if o.status == OfferStatus::Open && o.by == me {
                                    form.withdraw method="post" action={"/case/" (hex) "/offers/withdraw"} {
                                        input type="hidden" name="csrf" value=(csrf);
                                        input type="hidden" name="commitment" value=(hex::encode(commitment.0));
                                        button type="submit" { "Withdraw" }
                                    }
                                }
                            }
                        }
                    }
                    h2 { "Table an offer" }
                    @if issues.is_empty() {
                        (super::offer_terms::form(&ui, &hex))
                    } @else {
                        p.quiet { "Only a commitment goes on the public record; the terms are sealed to the mediator, and open to the other side only if its offer matches." }
                        (table_form(&ui, &hex, issues))
                    }
                }
            }
            h2 { "Matched pairs" }
            @if pairs.is_empty() { p.quiet { "No pair has matched yet." } }
            ul.pairs {
                @for pair in &pairs {
                    li.pair {
                        ul {
                            @for commitment in pair {
                                @if let Some(o) = procedure.offers.get(commitment) {
                                    li data-commitment=(hex::encode(commitment.0)) {
                                        strong { (o.party) } " "
                                        (offer_terms(issues, shown(&viewer, o)))
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "On the public record" }
            @if procedure.offers.is_empty() { p.quiet { "No offer is on record." } }
            table.commitments {
                thead { tr { th { "commitment" } th { "party" } th { "status" } } }
                tbody {
                    @for (commitment, o) in &procedure.offers {
                        tr data-commitment=(hex::encode(commitment.0)) {
                            td { code { (commitment.short()) } }
                            td { (o.party) }
                            td { (status_name(o.status)) }
                        }
                    }
                }
            }
        },
    ))
}

/// The offer a form describes: `promise.ISSUE` and `condition.ISSUE`, each an option of that
/// issue (repeated for several), besides the CSRF token. Anything else is refused.
fn offer_from_form(issues: &[Issue], fields: &[(String, String)]) -> Result<Offer, &'static str> {
    if issues.is_empty() {
        return Err("offers are tabled on the issues the mediator defined, and none are yet");
    }
    let mut chosen: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for (key, value) in fields {
        if key == "csrf" {
            continue;
        }
        let (side, issue) = key
            .split_once('.')
            .filter(|(side, _)| matches!(*side, "promise" | "condition"))
            .ok_or("an offer's form holds promises and conditions only")?;
        let defined = issues
            .iter()
            .find(|i| i.id == issue)
            .ok_or("a term names an issue that is not defined")?;
        if !defined.options.iter().any(|o| o.id == *value) {
            return Err("a term names an option its issue does not have");
        }
        let options = chosen.entry((side, issue)).or_default();
        if options.contains(&value.as_str()) {
            return Err("a term names the same option twice");
        }
        options.push(value);
    }
    // In the issues' order, each term's options in its issue's order.
    let side = |side: &str| -> Vec<Condition> {
        issues
            .iter()
            .filter_map(|issue| {
                let named = chosen.get(&(side, issue.id.as_str()))?;
                Some(Condition {
                    issue: issue.id.clone(),
                    options: issue
                        .options
                        .iter()
                        .filter(|o| named.contains(&o.id.as_str()))
                        .map(|o| o.id.clone())
                        .collect(),
                })
            })
            .collect()
    };
    let offer = Offer {
        promise: side("promise"),
        condition: side("condition"),
    };
    if offer.promise.is_empty() {
        return Err("an offer promises something");
    }
    Ok(offer)
}

/// `POST /case/{case}/offers`: a party tables the offer the form describes.
pub(super) async fn table(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let mut client = ui.client.lock().await;
    my_party(&client, case)?;
    let issues = &client.state(case).map_err(failed)?.procedure.issues;
    let offer = if issues.is_empty() {
        super::offer_terms::offer_from_text(&fields)
    } else {
        offer_from_form(issues, &fields).map_err(str::to_owned)
    }
    .map_err(|why| invalid(&why))?;
    client.table_offer(case, offer).await.map_err(failed)?;
    drop(client);
    Ok(changed_page(&ui, case, "offers"))
}

#[derive(Deserialize)]
pub(super) struct Withdraw {
    commitment: String,
}

/// `POST /case/{case}/offers/withdraw`: withdraws one of this participant's open offers.
pub(super) async fn withdraw(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(form): Form<Withdraw>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let commitment = hex::decode(form.commitment.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .map(Digest32)
        .ok_or_else(|| invalid("an offer is named by its commitment, 64 hex digits"))?;
    let mut client = ui.client.lock().await;
    client
        .withdraw_offer(case, commitment)
        .await
        .map_err(failed)?;
    drop(client);
    Ok(changed_page(&ui, case, "offers"))
}

/// `POST /case/{case}/offers/match`: the mediator opens every pair of matching offers to
/// both parties at once; the others stay sealed.
pub(super) async fn open_matching(
    State(ui): State<Ui>,
    Path(case): Path<String>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let mut client = ui.client.lock().await;
    mediator_only(
        &client,
        case,
        "only the mediator holds the sealed offers it opens",
    )?;
    client.match_offers(case).await.map_err(failed)?;
    drop(client);
    Ok(changed_page(&ui, case, "offers"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::form::fields as form;
    use backchannel_formula::IssueOption;

    fn issues() -> Vec<Issue> {
        let issue = |id: &str, options: &[&str]| Issue {
            id: id.into(),
            title: id.to_uppercase(),
            options: options
                .iter()
                .map(|o| IssueOption {
                    id: (*o).into(),
                    label: o.to_uppercase(),
                })
                .collect(),
        };
        vec![
            issue("sanctions", &["full_lift", "phased_lift"]),
            issue("enrichment", &["zero", "cap"]),
        ]
    }

    #[test]
    fn a_form_becomes_the_offer_in_the_issues_order() {
        let fields = form(&[
            ("csrf", "x"),
            ("condition.enrichment", "cap"),
            ("condition.enrichment", "zero"),
            ("promise.sanctions", "phased_lift"),
        ]);
        assert_eq!(
            offer_from_form(&issues(), &fields),
            Ok(Offer {
                promise: vec![Condition {
                    issue: "sanctions".into(),
                    options: vec!["phased_lift".into()],
                }],
                condition: vec![Condition {
                    issue: "enrichment".into(),
                    options: vec!["zero".into(), "cap".into()],
                }],
            })
        );
    }

    #[test]
    fn a_form_outside_the_issues_is_refused() {
        for fields in [
            form(&[("condition.enrichment", "cap")]),
            form(&[("promise.sanctions", "free_lunch")]),
            form(&[("promise.detainees", "none")]),
            form(&[("promise.sanctions", "full_lift"), ("other", "1")]),
            form(&[
                ("promise.sanctions", "full_lift"),
                ("sanctions", "full_lift"),
            ]),
            form(&[
                ("promise.sanctions", "full_lift"),
                ("promise.sanctions", "full_lift"),
            ]),
        ] {
            assert!(offer_from_form(&issues(), &fields).is_err(), "{fields:?}");
        }
        let fields = form(&[("promise.sanctions", "full_lift")]);
        assert!(offer_from_form(&[], &fields).is_err());
    }

    #[test]
    fn another_partys_offer_shows_its_terms_only_once_opened() {
        let offer = |party: &str, status| OfferState {
            by: backchannel_core::PublicKey([7; 32]),
            party: party.into(),
            status,
            offer: None,
        };
        let us = Viewer::Party("United States".into());
        assert!(terms_shown(&us, &offer("United States", OfferStatus::Open)));
        assert!(!terms_shown(&us, &offer("Iran", OfferStatus::Open)));
        assert!(!terms_shown(&us, &offer("Iran", OfferStatus::Withdrawn)));
        assert!(terms_shown(&us, &offer("Iran", OfferStatus::Opened)));
        assert!(!terms_shown(
            &Viewer::Other,
            &offer("Iran", OfferStatus::Opened)
        ));
        assert!(terms_shown(
            &Viewer::Mediator,
            &offer("Iran", OfferStatus::Open)
        ));
    }
}
