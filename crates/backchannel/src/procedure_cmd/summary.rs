//! The case's procedure as this participant sees it, for `case show`: as JSON, and as prose.

use std::collections::{BTreeMap, BTreeSet};

use backchannel_core::CaseState;
use backchannel_formula::{Condition, RequirementKind};
use serde_json::{Value, json};

use super::{draft_requirements, names};

fn requirement_text(kind: &RequirementKind) -> String {
    let terms = |c: &Condition| format!("{} = {}", c.issue, c.options.join(" or "));
    match kind {
        RequirementKind::RequireOneOf { issue, options } => {
            format!("{issue} must be {}", options.join(" or "))
        }
        RequirementKind::Forbid { issue, options } => {
            format!("{issue} must not be {}", options.join(" or "))
        }
        RequirementKind::Implies { if_, then } => {
            format!("if {} then {}", terms(if_), terms(then))
        }
    }
}

/// The procedure as this participant sees it, as JSON (the `procedure` field of `case show`).
pub fn summary(state: &CaseState) -> Value {
    let procedure = &state.procedure;
    let parties = state.parties();
    let charter = procedure.charter.as_ref().map(|c| {
        let awaiting: Vec<&String> = parties.difference(&c.accepted_by).collect();
        json!({
            "status": if state.charter_in_force() { "in_force" } else { "proposed" },
            "accepted_by": c.accepted_by,
            "awaiting": awaiting,
            "charter": c.charter,
        })
    });
    let agenda: Vec<Value> = procedure
        .agenda
        .iter()
        .map(|(item, a)| {
            json!({
                "item": item,
                "title": a.title,
                "demand": a.demand,
                "proposed_by": state.name_of(&a.proposed_by),
                "consents": a.consents,
                "status": if a.adopted { "adopted" } else { "pending" },
            })
        })
        .collect();
    let issues: Vec<Value> = procedure
        .issues
        .iter()
        .map(|i| {
            json!({
                "id": i.id,
                "title": i.title,
                "options": i.options.iter().map(|o| &o.id).collect::<Vec<_>>(),
            })
        })
        .collect();
    let requirements: Vec<Value> = procedure
        .requirements
        .iter()
        .map(|r| {
            json!({
                "id": r.requirement.id,
                "by": state.name_of(&r.by),
                "requires": requirement_text(&r.requirement.kind),
                "requirement": r.requirement,
                "rationale": r.rationale,
            })
        })
        .collect();
    let offers: Vec<Value> = procedure
        .offers
        .iter()
        .map(|(commitment, o)| {
            json!({
                "commitment": commitment,
                "party": o.party,
                "by": state.name_of(&o.by),
                "status": o.status,
                "offer": o.offer,
            })
        })
        .collect();
    let latest = procedure.latest_draft_anywhere().map(|d| {
        let (met, unmet) = draft_requirements(state, d);
        json!({
            "version": d.version,
            "title": d.title,
            "clauses": d.clauses,
            "requirements_met": met,
            "requirements_unmet": unmet,
        })
    });
    let versions: BTreeSet<u32> = procedure
        .drafts
        .values()
        .flatten()
        .map(|d| d.version)
        .collect();
    let direct: Vec<Value> = procedure
        .direct
        .iter()
        .map(|(channel, p)| {
            let awaiting: Vec<&String> = parties.difference(&p.consents).collect();
            json!({
                "channel": channel,
                "consents": p.consents,
                "awaiting": awaiting,
                "opened": p.opened,
            })
        })
        .collect();
    let agreement = procedure.agreement.as_ref().map(agreement_json(state));
    let declarations = json!({
        "tabled_by": procedure.declarations.keys().collect::<Vec<_>>(),
        "published": procedure.declarations_published,
    });
    json!({
        "charter": charter,
        "agenda": agenda,
        "issues": issues,
        "positions_held": procedure.positions.keys().collect::<Vec<_>>(),
        "position_versions": procedure
            .positions
            .keys()
            .map(|party| (party.clone(), procedure.position_version(party)))
            .collect::<BTreeMap<_, _>>(),
        "requirements": requirements,
        "offers": offers,
        "drafts": { "versions": versions, "latest": latest },
        "direct_talks": direct,
        "agreement": agreement,
        "declarations": declarations,
    })
}

pub(super) fn agreement_json(
    state: &CaseState,
) -> impl Fn(&backchannel_core::procedure::AgreementState) -> Value + '_ {
    move |a| {
        let parties = state.parties();
        let signed_parties: BTreeSet<String> = a
            .signatures
            .keys()
            .filter_map(|k| state.participants.get(k))
            .filter_map(|p| p.role.party().map(str::to_owned))
            .collect();
        let witnessed = a.signatures.contains_key(&state.mediator);
        let mut missing: Vec<String> = parties.difference(&signed_parties).cloned().collect();
        if !witnessed {
            missing.push(format!(
                "{} (mediator, as witness)",
                state.name_of(&state.mediator)
            ));
        }
        json!({
            "status": if a.published { "published" } else { "tabled" },
            "title": a.agreement.title,
            "hash": a.hash,
            "clauses": a.agreement.clauses,
            "signed_by": names(state, a.signatures.keys().copied()),
            "signatures_missing": if a.published { Vec::new() } else { missing },
            "guarantors": names(state, a.agreement.guarantors.iter().copied()),
            "guaranteed_by": names(state, a.guaranteed_by.iter().copied()),
        })
    }
}

pub(super) fn list(values: &Value) -> String {
    let items: Vec<String> = values
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if items.is_empty() {
        "—".into()
    } else {
        items.join(", ")
    }
}

/// Prints the procedure's summary as prose (for `case show`).
pub fn print_summary(summary: &Value) {
    println!("procedure:");
    match summary.get("charter").filter(|c| !c.is_null()) {
        Some(c) => println!(
            "  charter: {} — accepted by {}; awaiting {}",
            c["status"].as_str().unwrap_or_default().replace('_', " "),
            list(&c["accepted_by"]),
            list(&c["awaiting"])
        ),
        None => println!("  charter: not proposed"),
    }
    let empty = Vec::new();
    let issues = summary["issues"].as_array().unwrap_or(&empty);
    if issues.is_empty() {
        println!("  issues: not defined");
    } else {
        let ids: Vec<&str> = issues.iter().filter_map(|i| i["id"].as_str()).collect();
        println!("  issues: {}", ids.join(", "));
    }
    for item in summary["agenda"].as_array().unwrap_or(&empty) {
        println!(
            "  agenda item {}: {}{} — {}; consents: {}",
            item["item"],
            item["title"].as_str().unwrap_or_default(),
            if item["demand"] == true {
                " (a demand)"
            } else {
                ""
            },
            item["status"].as_str().unwrap_or_default(),
            list(&item["consents"])
        );
    }
    let positions = &summary["positions_held"];
    if positions.as_array().is_some_and(|p| !p.is_empty()) {
        println!("  positions sealed (that you hold): {}", list(positions));
    }
    for r in summary["requirements"].as_array().unwrap_or(&empty) {
        println!(
            "  requirement {} by {}: {} — {}",
            r["id"].as_str().unwrap_or_default(),
            r["by"].as_str().unwrap_or_default(),
            r["requires"].as_str().unwrap_or_default(),
            r["rationale"].as_str().unwrap_or_default()
        );
    }
    for o in summary["offers"].as_array().unwrap_or(&empty) {
        println!(
            "  offer {} by {}: {}",
            &o["commitment"].as_str().unwrap_or_default()
                [..12.min(o["commitment"].as_str().unwrap_or_default().len())],
            o["party"].as_str().unwrap_or_default(),
            o["status"].as_str().unwrap_or_default()
        );
    }
    match summary["drafts"]["latest"].as_object() {
        Some(d) => println!(
            "  drafts: latest version {} \"{}\" ({} clauses); requirements met: {}; unmet: {}",
            d["version"],
            d["title"].as_str().unwrap_or_default(),
            d["clauses"].as_array().map_or(0, Vec::len),
            list(&d["requirements_met"]),
            list(&d["requirements_unmet"])
        ),
        None => println!("  drafts: none that you hold"),
    }
    for d in summary["direct_talks"].as_array().unwrap_or(&empty) {
        println!(
            "  direct talks in {}: {} — consents: {}; awaiting {}",
            d["channel"].as_str().unwrap_or_default(),
            if d["opened"] == true {
                "open"
            } else {
                "proposed"
            },
            list(&d["consents"]),
            list(&d["awaiting"])
        );
    }
    match summary["agreement"].as_object() {
        Some(a) => println!(
            "  agreement \"{}\": {} — signed by {}; missing {}; guarantors {}; guaranteed by {}",
            a["title"].as_str().unwrap_or_default(),
            a["status"].as_str().unwrap_or_default(),
            list(&a["signed_by"]),
            list(&a["signatures_missing"]),
            list(&a["guarantors"]),
            list(&a["guaranteed_by"])
        ),
        None => println!("  agreement: none that you can see"),
    }
    let declarations = &summary["declarations"];
    if declarations["published"] == true
        || declarations["tabled_by"]
            .as_array()
            .is_some_and(|d| !d.is_empty())
    {
        println!(
            "  declarations: tabled by {}; {}",
            list(&declarations["tabled_by"]),
            if declarations["published"] == true {
                "published"
            } else {
                "not published"
            }
        );
    }
}
