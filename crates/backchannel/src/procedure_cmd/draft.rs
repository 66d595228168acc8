//! The single negotiating text: the engine's proposal, issuing, answering, comparing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use backchannel_client::Client;
use backchannel_client::procedure::{clauses_for, diff};
use backchannel_core::procedure::{Answers, Clause, ClauseAnswer, Draft};
use backchannel_core::{CaseId, CaseState};
use backchannel_formula::{Issue, Package};
use clap::Subcommand;
use serde_json::{Value, json};

use super::{
    draft_requirements, find_issue, invalid, mediator_only, option_ids, parse_pair, print_line,
    read_json,
};
use crate::output;

#[derive(Subcommand, Debug)]
pub enum DraftCommand {
    /// As mediator: the formula engine's next draft from the positions sealed to you, the
    /// current draft and the parties' answers; nothing is posted unless --issue.
    Propose {
        case: String,
        /// Issue the proposal to every party right away.
        #[arg(long)]
        issue: bool,
        /// The title to issue it under.
        #[arg(long)]
        title: Option<String>,
        /// The least share of the best Nash product the proposal keeps (0 to 1). The engine
        /// asks first for a text within 0.5% of the best; while objections stand and that
        /// text would meet none and change nothing, it gives up share, down to this floor.
        #[arg(long, default_value_t = 0.8)]
        nash_share_min: f64,
    },
    /// As mediator: issue a draft to every party (each in its bilateral channel).
    Issue {
        case: String,
        /// The package, ISSUE=OPT[,ISSUE=OPT..] (repeatable): one clause per issue.
        #[arg(long, value_name = "ISSUE=OPT,..", conflicts_with = "file")]
        package: Vec<String>,
        /// Start from this version's clauses; --package then names only what changes.
        #[arg(long, value_name = "VERSION", conflicts_with = "file")]
        amend: Option<u32>,
        /// A JSON file: a package {"issue": "option", ..} or {"title"?, "clauses": [..]}.
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long)]
        title: Option<String>,
    },
    /// As a party: answer a draft clause by clause, to the mediator only.
    Answer {
        case: String,
        #[arg(long)]
        version: u32,
        /// Accept every clause not objected to or preferred otherwise.
        #[arg(long)]
        accept_all: bool,
        /// Object to a clause: CLAUSE=REASON (repeatable).
        #[arg(long = "object", value_name = "CLAUSE=REASON")]
        objections: Vec<String>,
        /// Prefer another option for a clause's issue: CLAUSE=OPTION (repeatable).
        #[arg(long = "prefer", value_name = "CLAUSE=OPTION")]
        preferences: Vec<String>,
    },
    /// Clause-by-clause differences between two versions.
    Diff { case: String, a: u32, b: u32 },
    /// A draft's clauses, the requirements it meets, the answers you can see.
    Show {
        case: String,
        /// The version (default: the latest you hold).
        #[arg(long)]
        version: Option<u32>,
    },
}

fn answer_json(answer: &ClauseAnswer) -> Value {
    serde_json::to_value(answer).unwrap_or(Value::Null)
}

fn answer_text(answer: &ClauseAnswer) -> String {
    match answer {
        ClauseAnswer::Accept => "accept".into(),
        ClauseAnswer::Object { reason } => format!("object: {reason}"),
        ClauseAnswer::Prefer { option } => format!("prefer {option}"),
    }
}

/// The package named by `--package` flags: `ISSUE=OPT` pairs, comma-separated, every issue
/// defined and named once.
fn parse_package(state: &CaseState, flags: &[String]) -> anyhow::Result<Package> {
    let issues = &state.procedure.issues;
    if issues.is_empty() {
        return Err(invalid(
            "the issues are not defined yet: `issues define` first",
        ));
    }
    let mut package = BTreeMap::new();
    for flag in flags {
        for pair in flag.split(',') {
            let (issue, option) = parse_pair("--package", pair)?;
            let found = find_issue(issues, issue)?;
            if !found.options.iter().any(|o| o.id == option) {
                return Err(invalid(format!(
                    "issue {issue:?} has no option {option:?} (options: {})",
                    option_ids(found)
                )));
            }
            if package
                .insert(issue.to_owned(), option.to_owned())
                .is_some()
            {
                return Err(invalid(format!("--package names {issue:?} twice")));
            }
        }
    }
    if package.is_empty() {
        return Err(invalid("--package names no ISSUE=OPT"));
    }
    Ok(Package::from_pairs(package))
}

/// Clauses from a draft file: a package object, or `{"title"?, "clauses": [..]}`.
fn draft_file(state: &CaseState, path: &Path) -> anyhow::Result<(Option<String>, Vec<Clause>)> {
    let document = read_json(path)?;
    if let Some(clauses) = document.get("clauses") {
        let clauses: Vec<Clause> = serde_json::from_value(clauses.clone())
            .map_err(|e| invalid(format!("{}: `clauses` is malformed: {e}", path.display())))?;
        let title = document
            .get("title")
            .and_then(Value::as_str)
            .map(str::to_owned);
        return Ok((title, clauses));
    }
    let package: BTreeMap<String, String> = serde_json::from_value(document).map_err(|e| {
        invalid(format!(
            "{} is neither {{\"clauses\": [..]}} nor a package {{\"issue\": \"option\"}}: {e}",
            path.display()
        ))
    })?;
    let flags: Vec<String> = package.iter().map(|(i, o)| format!("{i}={o}")).collect();
    let package = parse_package(state, &flags)?;
    Ok((None, clauses_for(&state.procedure.issues, &package)))
}

/// A draft's clauses with the clauses of `changes`' issues rewritten (and any new issue's
/// clause added at the end).
fn amended(issues: &[Issue], base: &Draft, changes: &Package) -> Vec<Clause> {
    let mut clauses: Vec<Clause> = base
        .clauses
        .iter()
        .map(|clause| {
            let changed = clause
                .issue
                .as_ref()
                .and_then(|issue| Some((issue, changes.get(issue)?)));
            match changed {
                Some((issue, option)) => {
                    let one = Package::from_pairs([(issue.as_str(), option)]);
                    clauses_for(issues, &one).into_iter().next().map_or_else(
                        || clause.clone(),
                        |new| Clause {
                            id: clause.id.clone(),
                            ..new
                        },
                    )
                }
                None => clause.clone(),
            }
        })
        .collect();
    let covered: BTreeSet<&str> = base
        .clauses
        .iter()
        .filter_map(|c| c.issue.as_deref())
        .collect();
    let missing: Package = changes
        .iter()
        .filter(|(issue, _)| !covered.contains(issue))
        .collect();
    clauses.extend(clauses_for(issues, &missing));
    clauses
}

/// Each party's utility for a draft, where this participant holds the positions (the
/// mediator): (party id, utility, reservation).
fn utilities(client: &Client, case: CaseId, draft: &Draft) -> Vec<(String, f64, f64)> {
    let Ok(scenario) = client.held_scenario(case) else {
        return vec![];
    };
    let package = draft.package();
    scenario
        .parties
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                p.id.clone(),
                backchannel_formula::utility(&scenario, i, &package),
                p.reservation,
            )
        })
        .collect()
}

fn print_draft(state: &CaseState, draft: &Draft) {
    println!("draft {} — {}", draft.version, draft.title);
    for clause in &draft.clauses {
        let tie = match (&clause.issue, &clause.option) {
            (Some(issue), Some(option)) => format!("  [{issue} = {option}]"),
            _ => String::new(),
        };
        println!("  {:<14} {}{tie}", clause.id, clause.text);
    }
    let (met, unmet) = draft_requirements(state, draft);
    if !met.is_empty() || !unmet.is_empty() {
        println!(
            "requirements met: {}; unmet: {}",
            if met.is_empty() {
                "—".into()
            } else {
                met.join(", ")
            },
            if unmet.is_empty() {
                "—".into()
            } else {
                unmet.join(", ")
            }
        );
    }
}

pub(super) async fn draft(
    client: &mut Client,
    json: bool,
    command: DraftCommand,
) -> anyhow::Result<()> {
    match command {
        DraftCommand::Propose {
            case,
            issue,
            title,
            nash_share_min,
        } => {
            let case = client.resolve_case(&case)?;
            if !(0.0..=1.0).contains(&nash_share_min) {
                anyhow::bail!("--nash-share-min is a share between 0 and 1");
            }
            client.sync(case).await?;
            mediator_only(client, case, "run the formula engine on sealed positions")?;
            let options = backchannel_formula::DraftOptions { nash_share_min };
            let proposal = client.propose_next_draft_with(case, &options)?;
            let parties: Vec<String> = client
                .held_scenario(case)?
                .parties
                .iter()
                .map(|p| p.id.clone())
                .collect();
            let issued = if issue {
                let title = title.unwrap_or_else(|| proposal.draft.title.clone());
                Some(
                    client
                        .issue_draft(case, &title, proposal.draft.clauses.clone())
                        .await?,
                )
            } else {
                None
            };
            if json {
                return output::json(&json!({
                    "proposal": proposal,
                    "parties": parties,
                    "issued": issued,
                }));
            }
            let state = client.state(case)?;
            print_draft(state, issued.as_ref().unwrap_or(&proposal.draft));
            let engine = &proposal.engine;
            let utilities: Vec<String> = parties
                .iter()
                .zip(&engine.utilities)
                .map(|(p, u)| format!("{p} {u:.3}"))
                .collect();
            println!(
                "utilities: {}; Nash share {:.3}; objections met {} of {}",
                utilities.join(", "),
                engine.nash_share,
                engine.objections_met,
                engine.objections_total
            );
            for change in &engine.changes {
                println!(
                    "  change {}: {} → {} — {}",
                    change.issue, change.from, change.to, change.explanation
                );
            }
            for departure in &proposal.departs_from_offers {
                println!("  warning: {departure}");
            }
            match &issued {
                Some(d) => println!("issued draft {} to every party", d.version),
                None => println!(
                    "(not issued: `draft propose --issue` or `draft issue` puts it to the parties)"
                ),
            }
            Ok(())
        }
        DraftCommand::Issue {
            case,
            package,
            amend,
            file,
            title,
        } => {
            let case = client.resolve_case(&case)?;
            client.sync(case).await?;
            mediator_only(client, case, "issue drafts")?;
            let base = amend.map(|v| client.draft(case, v)).transpose()?;
            let state = client.state(case)?;
            let (file_title, clauses) = match (&file, package.is_empty(), base) {
                (Some(path), true, None) => draft_file(state, path)?,
                (None, false, None) => {
                    let package = parse_package(state, &package)?;
                    (None, clauses_for(&state.procedure.issues, &package))
                }
                (None, false, Some(base)) => {
                    let changes = parse_package(state, &package)?;
                    (None, amended(&state.procedure.issues, &base, &changes))
                }
                _ => {
                    return Err(invalid(
                        "draft issue takes --package ISSUE=OPT,.. (with --amend VERSION to change only those clauses) or --file",
                    ));
                }
            };
            let version = client.next_draft_version(case)?;
            let title = title
                .or(file_title)
                .unwrap_or_else(|| format!("Single negotiating text, version {version}"));
            let draft = client.issue_draft(case, &title, clauses).await?;
            let departs = client
                .state(case)?
                .procedure
                .departures_from_offers(&draft.package());
            if json {
                let mut shown = serde_json::to_value(&draft)?;
                if let Some(object) = shown.as_object_mut() {
                    object.insert("departs_from_offers".into(), json!(departs));
                }
                output::json(&shown)
            } else {
                print_draft(client.state(case)?, &draft);
                for departure in &departs {
                    eprintln!("warning: {departure}");
                }
                println!("issued draft {} to every party", draft.version);
                Ok(())
            }
        }
        DraftCommand::Answer {
            case,
            version,
            accept_all,
            objections,
            preferences,
        } => {
            let case = client.resolve_case(&case)?;
            client.sync(case).await?;
            let draft = client.draft(case, version)?;
            let known = |id: &str| -> anyhow::Result<String> {
                if draft.clauses.iter().any(|c| c.id == id) {
                    Ok(id.to_owned())
                } else {
                    let ids: Vec<&str> = draft.clauses.iter().map(|c| c.id.as_str()).collect();
                    Err(invalid(format!(
                        "draft {version} has no clause {id:?} (clauses: {})",
                        ids.join(", ")
                    )))
                }
            };
            let mut answers = Answers::new();
            for text in &objections {
                let (clause, reason) = parse_pair("--object", text)?;
                let clause = known(clause)?;
                if answers
                    .insert(
                        clause.clone(),
                        ClauseAnswer::Object {
                            reason: reason.to_owned(),
                        },
                    )
                    .is_some()
                {
                    return Err(invalid(format!("clause {clause:?} is answered twice")));
                }
            }
            for text in &preferences {
                let (clause, option) = parse_pair("--prefer", text)?;
                let clause = known(clause)?;
                if answers
                    .insert(
                        clause.clone(),
                        ClauseAnswer::Prefer {
                            option: option.to_owned(),
                        },
                    )
                    .is_some()
                {
                    return Err(invalid(format!("clause {clause:?} is answered twice")));
                }
            }
            if accept_all {
                for clause in &draft.clauses {
                    answers
                        .entry(clause.id.clone())
                        .or_insert(ClauseAnswer::Accept);
                }
            }
            if answers.is_empty() {
                return Err(invalid(
                    "answer with --accept-all, --object CLAUSE=REASON or --prefer CLAUSE=OPTION",
                ));
            }
            let line = client.answer_draft(case, version, answers.clone()).await?;
            if json {
                output::json(&json!({ "act": line, "version": version, "answers": answers }))
            } else {
                print_line(false, &line)
            }
        }
        DraftCommand::Diff { case, a, b } => {
            let case = client.resolve_case(&case)?;
            crate::session::refresh(client, case).await?;
            let (before, after) = (client.draft(case, a)?, client.draft(case, b)?);
            let changes = diff(&before, &after);
            if json {
                return output::json(&changes);
            }
            if changes.is_empty() {
                println!("drafts {a} and {b} read the same");
            }
            for change in changes {
                println!("{}:", change.clause);
                println!("  - {}", change.before.as_deref().unwrap_or("(no clause)"));
                println!("  + {}", change.after.as_deref().unwrap_or("(no clause)"));
            }
            Ok(())
        }
        DraftCommand::Show { case, version } => {
            let case = client.resolve_case(&case)?;
            crate::session::refresh(client, case).await?;
            let state = client.state(case)?;
            let version = match version {
                Some(v) => v,
                None => state
                    .procedure
                    .latest_draft_anywhere()
                    .map(|d| d.version)
                    .ok_or_else(|| invalid("no draft is known here"))?,
            };
            let draft = client.draft(case, version)?;
            let (met, unmet) = draft_requirements(state, &draft);
            let mut answers: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
            let mut answers_text = Vec::new();
            for versions in state.procedure.answers.values() {
                for (party, given) in versions.get(&version).into_iter().flatten() {
                    for (clause, answer) in given {
                        answers
                            .entry(party.clone())
                            .or_default()
                            .insert(clause.clone(), answer_json(answer));
                        answers_text.push(format!("{party} on {clause}: {}", answer_text(answer)));
                    }
                }
            }
            let agreed = client.draft_agreed(case, version)?;
            let held = utilities(client, case, &draft);
            if json {
                let utilities: Vec<Value> = held
                    .iter()
                    .map(|(p, u, r)| json!({ "party": p, "utility": u, "reservation": r }))
                    .collect();
                return output::json(&json!({
                    "draft": draft,
                    "package": draft.package(),
                    "utilities": utilities,
                    "requirements_met": met,
                    "requirements_unmet": unmet,
                    "answers": answers,
                    "accepted_by_every_party": agreed,
                }));
            }
            print_draft(state, &draft);
            if !held.is_empty() {
                let shown: Vec<String> = held
                    .iter()
                    .map(|(p, u, r)| format!("{p} {u:.3} (reservation {r:.2})"))
                    .collect();
                println!(
                    "utilities (from the positions you hold): {}",
                    shown.join(", ")
                );
            }
            for line in answers_text {
                println!("  answer: {line}");
            }
            println!(
                "accepted in full by every party: {}",
                if agreed {
                    "yes"
                } else {
                    "no (or not visible to you)"
                }
            );
            Ok(())
        }
    }
}
