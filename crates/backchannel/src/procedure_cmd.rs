//! The mediation procedure from the command line: charter, issues, agenda, positions,
//! requirements, conveying, drafts, offers, direct talks, the agreement and declarations.
//!
//! Each handler parses and checks its flags, then calls the client library, which checks the
//! case's rules locally before anything is posted. A refused act exits with the rule's stable
//! code (`mediator_only`, `charter_not_in_force`, …) and leaves the record unchanged.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use backchannel_client::procedure::{clauses_for, diff, meets};
use backchannel_client::{Client, ClientError, LogLine};
use backchannel_core::act::Digest32;
use backchannel_core::procedure::{
    AgendaProposers, Agreement, Answers, Attribution, Charter, Clause, ClauseAnswer, Deadline,
    Draft, Offer,
};
use backchannel_core::{CaseId, CaseState, ChannelName, PublicKey, Rejection, Role};
use backchannel_formula::{
    Condition, Issue, Package, Party as Position, Requirement, RequirementKind,
};
use clap::{Subcommand, ValueEnum};
use serde_json::{Value, json};

use crate::cli::{channel, open};
use crate::output;

/// The largest file the procedure commands read (scenarios, drafts, agreements).
const FILE_BYTES_MAX: u64 = 16 << 20;

/// The procedure's top-level commands (flattened into `backchannel`'s own).
#[derive(Subcommand, Debug)]
pub enum ProcedureCommand {
    /// The case's procedural rules: proposed by the mediator, accepted by every party.
    Charter {
        #[command(subcommand)]
        command: CharterCommand,
    },
    /// The issues and options the case negotiates over (mediator).
    Issues {
        #[command(subcommand)]
        command: IssuesCommand,
    },
    /// Agenda items: proposed, consented to by every party, adopted.
    Agenda {
        #[command(subcommand)]
        command: AgendaCommand,
    },
    /// A party's private position, sealed to the mediator.
    Position {
        #[command(subcommand)]
        command: PositionCommand,
    },
    /// Register an observer's requirement on any agreement (public, with its rationale).
    Require(RequireArgs),
    /// As mediator: carry words from one discreet channel to another (a paraphrase, or a
    /// signed original its author consented to).
    Convey {
        case: String,
        /// The channel the words come from.
        #[arg(long)]
        from: String,
        /// The channel they go to.
        #[arg(long)]
        to: String,
        /// The mediator's own paraphrase.
        #[arg(long, conflicts_with = "original")]
        text: Option<String>,
        /// The index, in --from, of the original message to carry (with its author's consent).
        #[arg(long)]
        original: Option<u64>,
    },
    /// As a party: consent that your message at --index of your channel be conveyed, signed,
    /// to channel --to.
    ConsentConvey {
        case: String,
        #[arg(long)]
        index: u64,
        #[arg(long)]
        to: String,
    },
    /// As mediator: table a non-paper (a proposal attributed to no one) to every party.
    Nonpaper {
        case: String,
        #[arg(long)]
        text: String,
    },
    /// The single negotiating text: the engine's proposal, issuing, answering, comparing.
    Draft {
        #[command(subcommand)]
        command: DraftCommand,
    },
    /// Sealed conditional offers: "we will do X if they do Y".
    Offer {
        #[command(subcommand)]
        command: OfferCommand,
    },
    /// Direct talks: proposed by the mediator, opened only with every party's consent.
    Direct {
        #[command(subcommand)]
        command: DirectCommand,
    },
    /// The agreement: tabled, signed, published, guaranteed.
    Agreement {
        #[command(subcommand)]
        command: AgreementCommand,
    },
    /// Parallel unilateral declarations, for sides that will not sign one text.
    Declaration {
        #[command(subcommand)]
        command: DeclarationCommand,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AgendaBy {
    /// Only the mediator proposes agenda items.
    Mediator,
    /// The parties may propose agenda items (and demands) too.
    Parties,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum AttributionArg {
    /// The mediator carries only its own paraphrase.
    Paraphrase,
    /// Also signed originals, with their author's consent.
    Original,
}

#[derive(Subcommand, Debug)]
pub enum CharterCommand {
    /// As mediator: propose the charter (public).
    Propose {
        case: String,
        /// Who may propose agenda items.
        #[arg(long, value_enum, default_value = "mediator")]
        agenda_by: AgendaBy,
        /// Allow the mediator to table non-papers.
        #[arg(long)]
        non_papers: bool,
        /// How the mediator may carry one side's words to the other.
        #[arg(long, value_enum, default_value = "paraphrase")]
        attribution: AttributionArg,
        /// A deadline, WHAT=DATE (repeatable).
        #[arg(long = "deadline", value_name = "WHAT=DATE")]
        deadlines: Vec<String>,
    },
    /// As a party: accept the charter on the table (public).
    Accept { case: String },
}

#[derive(Subcommand, Debug)]
pub enum IssuesCommand {
    /// As mediator: define the issues from a scenario file's `issues` (public).
    Define {
        case: String,
        #[arg(long)]
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum AgendaCommand {
    /// Propose an agenda item (public); prints its item number.
    Propose {
        case: String,
        #[arg(long)]
        title: String,
        /// Mark it as this party's demand.
        #[arg(long)]
        demand: bool,
    },
    /// As a party: consent to an agenda item (public).
    Consent {
        case: String,
        #[arg(long)]
        item: u64,
    },
    /// The agenda: items, who consented, which are adopted.
    List { case: String },
}

#[derive(Subcommand, Debug)]
pub enum PositionCommand {
    /// As a party: seal your position (a party profile from a scenario file) to the mediator.
    Seal {
        case: String,
        #[arg(long)]
        file: PathBuf,
        /// The id of the profile in the file's `parties`.
        #[arg(long)]
        party: String,
    },
}

#[derive(clap::Args, Debug)]
pub struct RequireArgs {
    case: String,
    /// The requirement's id.
    #[arg(long)]
    id: String,
    /// Why the observer requires it (public).
    #[arg(long)]
    rationale: String,
    /// The issue must settle on one of these options: ISSUE=OPT[,OPT..].
    #[arg(long, value_name = "ISSUE=OPT[,OPT..]")]
    require_one_of: Option<String>,
    /// The issue must not settle on any of these options: ISSUE=OPT[,OPT..].
    #[arg(long, value_name = "ISSUE=OPT[,OPT..]")]
    forbid: Option<String>,
    /// If this holds (ISSUE=OPT[,OPT..]), --then must hold too.
    #[arg(long, value_name = "ISSUE=OPT[,OPT..]")]
    implies: Option<String>,
    /// What --implies requires: ISSUE=OPT[,OPT..].
    #[arg(long, value_name = "ISSUE=OPT[,OPT..]")]
    then: Option<String>,
    /// Take the requirement with this --id from a scenario file's `requirements`.
    #[arg(long)]
    file: Option<PathBuf>,
}

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
        /// The least share of the best Nash product the proposal may keep (0 to 1): lower
        /// lets the engine meet more objections.
        #[arg(long, default_value_t = 0.995)]
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

#[derive(Subcommand, Debug)]
pub enum OfferCommand {
    /// As a party: table a sealed conditional offer; prints its public commitment.
    Table {
        case: String,
        /// What you promise: ISSUE=OPT[,OPT..] (repeatable).
        #[arg(long = "promise", value_name = "ISSUE=OPT[,OPT..]", required = true)]
        promises: Vec<String>,
        /// What the other side must do: ISSUE=OPT[,OPT..] (repeatable).
        #[arg(long = "condition", value_name = "ISSUE=OPT[,OPT..]")]
        conditions: Vec<String>,
    },
    /// As a party: withdraw one of your open offers (by its commitment, or a unique prefix).
    Withdraw { case: String, commitment: String },
    /// As mediator: open every pair of matching offers to both parties at once.
    Match { case: String },
    /// The offers on record: commitment, party, status, and the terms where you may see them.
    List { case: String },
}

#[derive(Subcommand, Debug)]
pub enum DirectCommand {
    /// As mediator: propose direct talks in a new channel (public).
    Propose {
        case: String,
        #[arg(long, default_value = "direct")]
        channel: String,
    },
    /// As a party: consent to the direct talks proposed (public).
    Consent {
        case: String,
        #[arg(long, default_value = "direct")]
        channel: String,
    },
    /// As mediator: open the direct channel (only with every party's consent).
    Open {
        case: String,
        #[arg(long, default_value = "direct")]
        channel: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum AgreementCommand {
    /// As mediator: put the final text to signature in every party's channel; prints its hash.
    Table {
        case: String,
        /// Take the clauses of this draft version.
        #[arg(long, conflicts_with = "file")]
        from_draft: Option<u32>,
        /// A JSON file {"title", "clauses": [..], "guarantors"?: [key, ..]}.
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long)]
        title: Option<String>,
        /// An observer invited to co-sign as guarantor: its name or key (repeatable).
        #[arg(long = "guarantor", value_name = "NAME_OR_KEY")]
        guarantors: Vec<String>,
    },
    /// Sign the agreement on the table (a party; the mediator as witness).
    Sign { case: String },
    /// As mediator: publish the agreement with every signature.
    Publish { case: String },
    /// As an invited observer: co-sign the published agreement as guarantor.
    Guarantee { case: String },
    /// The agreement as you can see it: clauses, signatures, guarantors.
    Show { case: String },
}

#[derive(Subcommand, Debug)]
pub enum DeclarationCommand {
    /// As a party: table your own declaration (to the mediator, in your channel).
    Table {
        case: String,
        #[arg(long)]
        text: String,
    },
    /// As mediator: publish every party's signed declaration together.
    Publish { case: String },
}

// --- errors and parsing ---------------------------------------------------------------------

/// A usage error with the stable code `invalid`.
fn invalid(message: impl Into<String>) -> anyhow::Error {
    ClientError::Invalid(message.into()).into()
}

fn refused(rejection: Rejection) -> anyhow::Error {
    ClientError::Rule(rejection).into()
}

/// Refuses a mediator-only command early, so that it is refused with `mediator_only` whichever
/// channel the act would have gone to first. The core checks the same rule again.
fn mediator_only(client: &Client, case: CaseId, what: &'static str) -> anyhow::Result<()> {
    if client.state(case)?.mediator == client.key() {
        Ok(())
    } else {
        Err(refused(Rejection::MediatorOnly(what)))
    }
}

/// `ISSUE=OPT[,OPT..]` → a condition.
fn parse_condition(flag: &str, text: &str) -> anyhow::Result<Condition> {
    let (issue, options) = text
        .split_once('=')
        .ok_or_else(|| invalid(format!("{flag} takes ISSUE=OPT[,OPT..], not {text:?}")))?;
    let issue = issue.trim();
    if issue.is_empty() {
        return Err(invalid(format!("{flag} {text:?} names no issue")));
    }
    let mut seen = BTreeSet::new();
    let mut list = Vec::new();
    for option in options.split(',') {
        let option = option.trim();
        if option.is_empty() {
            return Err(invalid(format!(
                "{flag} {text:?} has an empty option (ISSUE=OPT[,OPT..])"
            )));
        }
        if !seen.insert(option) {
            return Err(invalid(format!("{flag} {text:?} names {option:?} twice")));
        }
        list.push(option.to_owned());
    }
    Ok(Condition {
        issue: issue.to_owned(),
        options: list,
    })
}

/// `KEY=VALUE` → (key, value), both non-empty.
fn parse_pair<'a>(flag: &str, text: &'a str) -> anyhow::Result<(&'a str, &'a str)> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() && !value.trim().is_empty() => {
            Ok((key.trim(), value.trim()))
        }
        _ => Err(invalid(format!(
            "{flag} takes KEY=VALUE with both sides non-empty, not {text:?}"
        ))),
    }
}

/// Checks that every term names a defined issue and its options (when issues are defined).
fn check_terms(state: &CaseState, terms: &[Condition]) -> anyhow::Result<()> {
    let issues = &state.procedure.issues;
    if issues.is_empty() {
        return Ok(());
    }
    for term in terms {
        let issue = find_issue(issues, &term.issue)?;
        for option in &term.options {
            if !issue.options.iter().any(|o| &o.id == option) {
                return Err(invalid(format!(
                    "issue {:?} has no option {option:?} (options: {})",
                    issue.id,
                    option_ids(issue)
                )));
            }
        }
    }
    Ok(())
}

fn find_issue<'a>(issues: &'a [Issue], id: &str) -> anyhow::Result<&'a Issue> {
    issues.iter().find(|i| i.id == id).ok_or_else(|| {
        let ids: Vec<&str> = issues.iter().map(|i| i.id.as_str()).collect();
        invalid(format!(
            "no issue {id:?} is defined (issues: {})",
            ids.join(", ")
        ))
    })
}

fn option_ids(issue: &Issue) -> String {
    issue
        .options
        .iter()
        .map(|o| o.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads a JSON file, bounded in size, with the path in every error.
fn read_json(path: &Path) -> anyhow::Result<Value> {
    let size = std::fs::metadata(path)
        .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?
        .len();
    if size > FILE_BYTES_MAX {
        return Err(invalid(format!(
            "{} is {size} bytes, more than {FILE_BYTES_MAX}",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| invalid(format!("{} is not valid JSON: {e}", path.display())))
}

/// The element of a scenario file's `key` array whose `id` is `id`.
fn scenario_entry<T: serde::de::DeserializeOwned>(
    path: &Path,
    key: &str,
    id: &str,
) -> anyhow::Result<T> {
    let document = read_json(path)?;
    let list = document
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| invalid(format!("{} has no `{key}` array", path.display())))?;
    let entry = list
        .iter()
        .find(|e| e.get("id").and_then(Value::as_str) == Some(id))
        .ok_or_else(|| {
            let ids: Vec<&str> = list
                .iter()
                .filter_map(|e| e.get("id").and_then(Value::as_str))
                .collect();
            invalid(format!(
                "{} has no {key} entry with id {id:?} (ids: {})",
                path.display(),
                ids.join(", ")
            ))
        })?;
    serde_json::from_value(entry.clone()).map_err(|e| {
        invalid(format!(
            "{}: the {key} entry {id:?} is malformed: {e}",
            path.display()
        ))
    })
}

fn parse_commitment(text: &str) -> Option<Digest32> {
    let bytes: [u8; 32] = hex::decode(text).ok()?.try_into().ok()?;
    Some(Digest32(bytes))
}

/// A participant by name (case-insensitive), full key, or key prefix of 8+ hex digits.
fn resolve_participant(state: &CaseState, who: &str) -> anyhow::Result<PublicKey> {
    let lower = who.to_lowercase();
    let found: Vec<PublicKey> = state
        .participants
        .iter()
        .filter(|(key, p)| {
            p.name.to_lowercase() == lower || (lower.len() >= 8 && key.to_hex().starts_with(&lower))
        })
        .map(|(key, _)| *key)
        .collect();
    match found.as_slice() {
        [key] => Ok(*key),
        [] => Err(invalid(format!(
            "no participant is named {who:?} or has a key starting so"
        ))),
        _ => Err(invalid(format!(
            "{who:?} names several participants: use a key"
        ))),
    }
}

fn names(state: &CaseState, keys: impl IntoIterator<Item = PublicKey>) -> Vec<String> {
    keys.into_iter().map(|k| state.name_of(&k)).collect()
}

// --- printing -------------------------------------------------------------------------------

fn print_line(json: bool, line: &LogLine) -> anyhow::Result<()> {
    if json {
        output::json(line)
    } else {
        println!(
            "[{}#{}] {}: {}",
            line.channel, line.index, line.author, line.text
        );
        Ok(())
    }
}

fn print_lines(json: bool, lines: &[LogLine]) -> anyhow::Result<()> {
    if json {
        return output::json(&lines);
    }
    for line in lines {
        print_line(false, line)?;
    }
    Ok(())
}

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

fn terms_text(terms: &[Condition]) -> String {
    terms
        .iter()
        .map(|c| format!("{} = {}", c.issue, c.options.join(" or ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a draft meets of the registered requirements.
fn draft_requirements(state: &CaseState, draft: &Draft) -> (Vec<String>, Vec<String>) {
    let package = draft.package();
    let (met, unmet): (Vec<_>, Vec<_>) = state
        .procedure
        .requirements
        .iter()
        .partition(|r| meets(&r.requirement, &package));
    (
        met.iter().map(|r| r.requirement.id.clone()).collect(),
        unmet.iter().map(|r| r.requirement.id.clone()).collect(),
    )
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

// --- the case's procedure, for `case show` -------------------------------------------------

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
        "requirements": requirements,
        "offers": offers,
        "drafts": { "versions": versions, "latest": latest },
        "direct_talks": direct,
        "agreement": agreement,
        "declarations": declarations,
    })
}

fn agreement_json(
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

fn list(values: &Value) -> String {
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

// --- the handlers ---------------------------------------------------------------------------

pub async fn run(
    home: Option<PathBuf>,
    json: bool,
    offline: bool,
    command: ProcedureCommand,
) -> anyhow::Result<()> {
    let mut client = open(home, offline)?;
    match command {
        ProcedureCommand::Charter { command } => charter(&mut client, json, command).await,
        ProcedureCommand::Issues {
            command: IssuesCommand::Define { case, file },
        } => {
            let case = client.resolve_case(&case)?;
            client.sync(case).await?;
            mediator_only(&client, case, "define the issues")?;
            let document = read_json(&file)?;
            let issues: Vec<Issue> = document
                .get("issues")
                .cloned()
                .ok_or_else(|| invalid(format!("{} has no `issues`", file.display())))
                .and_then(|v| {
                    serde_json::from_value(v).map_err(|e| {
                        invalid(format!("{}: `issues` is malformed: {e}", file.display()))
                    })
                })?;
            let line = client.define_issues(case, issues).await?;
            print_line(json, &line)
        }
        ProcedureCommand::Agenda { command } => agenda(&mut client, json, command).await,
        ProcedureCommand::Position {
            command: PositionCommand::Seal { case, file, party },
        } => {
            let case = client.resolve_case(&case)?;
            client.sync(case).await?;
            let mine = client
                .state(case)?
                .participants
                .get(&client.key())
                .and_then(|p| p.role.party().map(str::to_owned))
                .ok_or_else(|| refused(Rejection::PartyOnly("seal a position")))?;
            let mut position: Position = scenario_entry(&file, "parties", &party)?;
            let renamed = (position.name != mine).then(|| position.name.clone());
            if let Some(old) = &renamed {
                eprintln!(
                    "note: the profile {party:?} is named {old:?} in {}; sealed as {mine:?}, this case's name for your party",
                    file.display()
                );
                position.name.clone_from(&mine);
            }
            let line = client.seal_position(case, position).await?;
            if json {
                output::json(&json!({ "act": line, "party": mine, "renamed_from": renamed }))
            } else {
                print_line(false, &line)
            }
        }
        ProcedureCommand::Require(args) => require(&mut client, json, args).await,
        ProcedureCommand::Convey {
            case,
            from,
            to,
            text,
            original,
        } => {
            let case = client.resolve_case(&case)?;
            client.sync(case).await?;
            mediator_only(&client, case, "convey")?;
            let (from, to) = (channel(&from)?, channel(&to)?);
            let line = match (text, original) {
                (Some(text), None) => client.convey_paraphrase(case, &from, &to, &text).await?,
                (None, Some(index)) => client.convey_original(case, &from, index, &to).await?,
                _ => {
                    return Err(invalid(
                        "convey takes either --text (a paraphrase) or --original INDEX",
                    ));
                }
            };
            print_line(json, &line)
        }
        ProcedureCommand::ConsentConvey { case, index, to } => {
            let case = client.resolve_case(&case)?;
            let line = client
                .consent_to_convey(case, index, &channel(&to)?)
                .await?;
            print_line(json, &line)
        }
        ProcedureCommand::Nonpaper { case, text } => {
            let case = client.resolve_case(&case)?;
            client.sync(case).await?;
            mediator_only(&client, case, "table non-papers")?;
            let lines = client.table_non_paper(case, &text).await?;
            print_lines(json, &lines)
        }
        ProcedureCommand::Draft { command } => draft(&mut client, json, command).await,
        ProcedureCommand::Offer { command } => offer(&mut client, json, command).await,
        ProcedureCommand::Direct { command } => direct(&mut client, json, command).await,
        ProcedureCommand::Agreement { command } => agreement(&mut client, json, command).await,
        ProcedureCommand::Declaration { command } => match command {
            DeclarationCommand::Table { case, text } => {
                let case = client.resolve_case(&case)?;
                let line = client.table_declaration(case, &text).await?;
                print_line(json, &line)
            }
            DeclarationCommand::Publish { case } => {
                let case = client.resolve_case(&case)?;
                client.sync(case).await?;
                mediator_only(&client, case, "publish declarations")?;
                let line = client.publish_declarations(case).await?;
                print_line(json, &line)
            }
        },
    }
}

async fn charter(client: &mut Client, json: bool, command: CharterCommand) -> anyhow::Result<()> {
    match command {
        CharterCommand::Propose {
            case,
            agenda_by,
            non_papers,
            attribution,
            deadlines,
        } => {
            let case = client.resolve_case(&case)?;
            client.sync(case).await?;
            mediator_only(client, case, "propose the charter")?;
            let deadlines = deadlines
                .iter()
                .map(|d| match d.rsplit_once('=') {
                    Some((what, by)) if !what.trim().is_empty() && !by.trim().is_empty() => {
                        Ok(Deadline {
                            what: what.trim().to_owned(),
                            by: by.trim().to_owned(),
                        })
                    }
                    _ => Err(invalid(format!("--deadline takes WHAT=DATE, not {d:?}"))),
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let charter = Charter {
                agenda_proposers: match agenda_by {
                    AgendaBy::Mediator => AgendaProposers::MediatorOnly,
                    AgendaBy::Parties => AgendaProposers::PartiesAndMediator,
                },
                non_papers,
                attribution: match attribution {
                    AttributionArg::Paraphrase => Attribution::ParaphraseOnly,
                    AttributionArg::Original => Attribution::OriginalWithConsent,
                },
                deadlines,
            };
            let line = client.propose_charter(case, charter).await?;
            print_line(json, &line)
        }
        CharterCommand::Accept { case } => {
            let case = client.resolve_case(&case)?;
            let line = client.accept_charter(case).await?;
            print_line(json, &line)
        }
    }
}

async fn agenda(client: &mut Client, json: bool, command: AgendaCommand) -> anyhow::Result<()> {
    match command {
        AgendaCommand::Propose {
            case,
            title,
            demand,
        } => {
            let case = client.resolve_case(&case)?;
            let line = client.propose_agenda_item(case, &title, demand).await?;
            if json {
                output::json(&json!({ "item": line.index, "act": line }))
            } else {
                // The item number alone, so that a script can capture it.
                println!("{}", line.index);
                Ok(())
            }
        }
        AgendaCommand::Consent { case, item } => {
            let case = client.resolve_case(&case)?;
            let line = client.consent_agenda_item(case, item).await?;
            print_line(json, &line)
        }
        AgendaCommand::List { case } => {
            let case = client.resolve_case(&case)?;
            crate::cli::refresh(client, case).await?;
            let summary = summary(client.state(case)?);
            if json {
                return output::json(&summary["agenda"]);
            }
            let empty = Vec::new();
            let items = summary["agenda"].as_array().unwrap_or(&empty);
            if items.is_empty() {
                println!("no agenda items");
            }
            for item in items {
                println!(
                    "{:>4}  {:<8} {}{} — proposed by {}; consents: {}",
                    item["item"],
                    item["status"].as_str().unwrap_or_default(),
                    item["title"].as_str().unwrap_or_default(),
                    if item["demand"] == true {
                        " (a demand)"
                    } else {
                        ""
                    },
                    item["proposed_by"].as_str().unwrap_or_default(),
                    list(&item["consents"])
                );
            }
            Ok(())
        }
    }
}

async fn require(client: &mut Client, json: bool, args: RequireArgs) -> anyhow::Result<()> {
    let case = client.resolve_case(&args.case)?;
    client.sync(case).await?;
    let kinds = [
        args.require_one_of.is_some(),
        args.forbid.is_some(),
        args.implies.is_some(),
        args.file.is_some(),
    ]
    .iter()
    .filter(|k| **k)
    .count();
    if kinds != 1 {
        return Err(invalid(
            "require takes exactly one of --require-one-of, --forbid, --implies (with --then) or --file",
        ));
    }
    if args.then.is_some() != args.implies.is_some() {
        return Err(invalid("--implies and --then go together"));
    }
    let requirement = if let Some(file) = &args.file {
        scenario_entry::<Requirement>(file, "requirements", &args.id)?
    } else {
        let kind = if let Some(terms) = &args.require_one_of {
            let c = parse_condition("--require-one-of", terms)?;
            RequirementKind::RequireOneOf {
                issue: c.issue,
                options: c.options,
            }
        } else if let Some(terms) = &args.forbid {
            let c = parse_condition("--forbid", terms)?;
            RequirementKind::Forbid {
                issue: c.issue,
                options: c.options,
            }
        } else {
            let if_ = parse_condition("--implies", args.implies.as_deref().unwrap_or_default())?;
            let then = parse_condition("--then", args.then.as_deref().unwrap_or_default())?;
            RequirementKind::Implies { if_, then }
        };
        Requirement {
            id: args.id.clone(),
            by: client.name().to_owned(),
            kind,
        }
    };
    let terms: Vec<Condition> = match &requirement.kind {
        RequirementKind::RequireOneOf { issue, options }
        | RequirementKind::Forbid { issue, options } => vec![Condition {
            issue: issue.clone(),
            options: options.clone(),
        }],
        RequirementKind::Implies { if_, then } => vec![if_.clone(), then.clone()],
    };
    check_terms(client.state(case)?, &terms)?;
    let line = client
        .register_requirement(case, requirement, &args.rationale)
        .await?;
    print_line(json, &line)
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

async fn draft(client: &mut Client, json: bool, command: DraftCommand) -> anyhow::Result<()> {
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
            if json {
                output::json(&draft)
            } else {
                print_draft(client.state(case)?, &draft);
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
            crate::cli::refresh(client, case).await?;
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
            crate::cli::refresh(client, case).await?;
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

async fn offer(client: &mut Client, json: bool, command: OfferCommand) -> anyhow::Result<()> {
    match command {
        OfferCommand::Table {
            case,
            promises,
            conditions,
        } => {
            let case = client.resolve_case(&case)?;
            client.sync(case).await?;
            let promise = promises
                .iter()
                .map(|p| parse_condition("--promise", p))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let condition = conditions
                .iter()
                .map(|c| parse_condition("--condition", c))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let state = client.state(case)?;
            check_terms(state, &promise)?;
            check_terms(state, &condition)?;
            let offer = Offer { promise, condition };
            let commitment = client.table_offer(case, offer.clone()).await?;
            if json {
                output::json(&json!({ "commitment": commitment, "offer": offer }))
            } else {
                // The commitment alone, so that a script can capture it.
                println!("{}", hex::encode(commitment.0));
                Ok(())
            }
        }
        OfferCommand::Withdraw { case, commitment } => {
            let case = client.resolve_case(&case)?;
            client.sync(case).await?;
            let me = client.key();
            let wanted = commitment.to_lowercase();
            let commitment = match parse_commitment(&wanted) {
                Some(c) => c,
                None => {
                    let mine: Vec<Digest32> = client
                        .state(case)?
                        .procedure
                        .offers
                        .iter()
                        .filter(|(c, o)| o.by == me && hex::encode(c.0).starts_with(&wanted))
                        .map(|(c, _)| *c)
                        .collect();
                    match mine.as_slice() {
                        [c] if !wanted.is_empty() => *c,
                        [] | [_] => {
                            return Err(invalid(format!(
                                "no offer of yours has a commitment starting {commitment:?}"
                            )));
                        }
                        _ => {
                            return Err(invalid(format!(
                                "{commitment:?} names several of your offers"
                            )));
                        }
                    }
                }
            };
            let line = client.withdraw_offer(case, commitment).await?;
            print_line(json, &line)
        }
        OfferCommand::Match { case } => {
            let case = client.resolve_case(&case)?;
            client.sync(case).await?;
            mediator_only(client, case, "open offers")?;
            let before: BTreeSet<Digest32> = opened(client.state(case)?);
            let pairs = client.match_offers(case).await?;
            let state = client.state(case)?;
            let now: Vec<Digest32> = opened(state).difference(&before).copied().collect();
            let still_sealed = state
                .procedure
                .offers
                .values()
                .filter(|o| o.status == backchannel_core::procedure::OfferStatus::Open)
                .count();
            if json {
                return output::json(&json!({
                    "pairs_opened": pairs,
                    "opened": now,
                    "still_sealed": still_sealed,
                }));
            }
            println!(
                "{pairs} matching pair(s) opened to both parties; {still_sealed} offer(s) stay sealed"
            );
            for commitment in now {
                if let Some(o) = state.procedure.offers.get(&commitment)
                    && let Some(offer) = &o.offer
                {
                    println!(
                        "  {} will do {} if the other side does {}",
                        o.party,
                        terms_text(&offer.promise),
                        terms_text(&offer.condition)
                    );
                }
            }
            Ok(())
        }
        OfferCommand::List { case } => {
            let case = client.resolve_case(&case)?;
            crate::cli::refresh(client, case).await?;
            let summary = summary(client.state(case)?);
            if json {
                return output::json(&summary["offers"]);
            }
            let state = client.state(case)?;
            if state.procedure.offers.is_empty() {
                println!("no offers on record");
            }
            for (commitment, o) in &state.procedure.offers {
                let terms = o.offer.as_ref().map_or_else(
                    || "(sealed)".to_owned(),
                    |offer| {
                        format!(
                            "will do {} if the other side does {}",
                            terms_text(&offer.promise),
                            terms_text(&offer.condition)
                        )
                    },
                );
                let status = serde_json::to_value(o.status).unwrap_or(Value::Null);
                println!(
                    "{}  {:<14} {:<10} {terms}",
                    hex::encode(commitment.0),
                    o.party,
                    status.as_str().unwrap_or_default()
                );
            }
            Ok(())
        }
    }
}

fn opened(state: &CaseState) -> BTreeSet<Digest32> {
    state
        .procedure
        .offers
        .iter()
        .filter(|(_, o)| o.status == backchannel_core::procedure::OfferStatus::Opened)
        .map(|(c, _)| *c)
        .collect()
}

async fn direct(client: &mut Client, json: bool, command: DirectCommand) -> anyhow::Result<()> {
    match command {
        DirectCommand::Propose { case, channel: ch } => {
            let case = client.resolve_case(&case)?;
            client.sync(case).await?;
            mediator_only(client, case, "propose direct talks")?;
            let line = client.propose_direct_talks(case, &channel(&ch)?).await?;
            print_line(json, &line)
        }
        DirectCommand::Consent { case, channel: ch } => {
            let case = client.resolve_case(&case)?;
            let line = client.consent_direct_talks(case, &channel(&ch)?).await?;
            print_line(json, &line)
        }
        DirectCommand::Open { case, channel: ch } => {
            let case = client.resolve_case(&case)?;
            client.sync(case).await?;
            mediator_only(client, case, "open direct talks")?;
            let name: ChannelName = channel(&ch)?;
            client.open_direct_talks(case, &name).await?;
            let state = client.state(case)?;
            let members = state
                .channels
                .get(&name)
                .map(|c| names(state, c.members.iter().copied()))
                .unwrap_or_default();
            if json {
                output::json(&json!({ "channel": name, "opened": true, "members": members }))
            } else {
                println!("opened direct talks in {name}: {}", members.join(", "));
                Ok(())
            }
        }
    }
}

async fn agreement(
    client: &mut Client,
    json: bool,
    command: AgreementCommand,
) -> anyhow::Result<()> {
    match command {
        AgreementCommand::Table {
            case,
            from_draft,
            file,
            title,
            guarantors,
        } => {
            let case = client.resolve_case(&case)?;
            client.sync(case).await?;
            mediator_only(client, case, "table the agreement")?;
            let mut agreement = match (from_draft, &file) {
                (Some(version), None) => {
                    let draft = client.draft(case, version)?;
                    Agreement {
                        title: draft.title,
                        clauses: draft.clauses,
                        guarantors: vec![],
                    }
                }
                (None, Some(path)) => serde_json::from_value(read_json(path)?).map_err(|e| {
                    invalid(format!(
                        "{} is not an agreement {{\"title\", \"clauses\", \"guarantors\"?}}: {e}",
                        path.display()
                    ))
                })?,
                _ => {
                    return Err(invalid(
                        "agreement table takes --from-draft N or --file AGREEMENT.json",
                    ));
                }
            };
            if let Some(title) = title {
                agreement.title = title;
            }
            let state = client.state(case)?;
            for who in &guarantors {
                let key = resolve_participant(state, who)?;
                if !matches!(
                    state.participants.get(&key).map(|p| &p.role),
                    Some(Role::Observer)
                ) {
                    return Err(invalid(format!(
                        "{who:?} is not an observer: guarantors are observers"
                    )));
                }
                if !agreement.guarantors.contains(&key) {
                    agreement.guarantors.push(key);
                }
            }
            let hash = client.table_agreement(case, agreement.clone()).await?;
            if json {
                output::json(&json!({ "hash": hash, "agreement": agreement }))
            } else {
                // The hash alone, so that a script can capture it.
                println!("{}", hex::encode(hash.0));
                Ok(())
            }
        }
        AgreementCommand::Sign { case } => {
            let case = client.resolve_case(&case)?;
            let line = client.sign_agreement(case).await?;
            print_line(json, &line)
        }
        AgreementCommand::Publish { case } => {
            let case = client.resolve_case(&case)?;
            client.sync(case).await?;
            mediator_only(client, case, "publish the agreement")?;
            let line = client.publish_agreement(case).await?;
            print_line(json, &line)
        }
        AgreementCommand::Guarantee { case } => {
            let case = client.resolve_case(&case)?;
            let line = client.guarantee_agreement(case).await?;
            print_line(json, &line)
        }
        AgreementCommand::Show { case } => {
            let case = client.resolve_case(&case)?;
            crate::cli::refresh(client, case).await?;
            let state = client.state(case)?;
            let Some(a) = state.procedure.agreement.as_ref() else {
                return Err(invalid(
                    "no agreement is tabled or published that you can see",
                ));
            };
            let shown = agreement_json(state)(a);
            if json {
                return output::json(&shown);
            }
            println!(
                "agreement \"{}\" — {} ({})",
                a.agreement.title,
                shown["status"].as_str().unwrap_or_default(),
                hex::encode(a.hash.0)
            );
            for clause in &a.agreement.clauses {
                println!("  {:<14} {}", clause.id, clause.text);
            }
            println!("signed by: {}", list(&shown["signed_by"]));
            if !a.published {
                println!("signatures missing: {}", list(&shown["signatures_missing"]));
            }
            println!(
                "guarantors: {}; guaranteed by: {}",
                list(&shown["guarantors"]),
                list(&shown["guaranteed_by"])
            );
            Ok(())
        }
    }
}
