//! The mediation procedure from the command line: charter, issues, agenda, positions,
//! requirements, conveying, drafts, offers, direct talks, the agreement and declarations.
//!
//! Each handler parses and checks its flags, then calls the client library, which checks the
//! case's rules locally before anything is posted. A refused act exits with the rule's stable
//! code (`mediator_only`, `charter_not_in_force`, …) and leaves the record unchanged.
//!
//! `mod.rs` holds the top-level command enum, `run` (which dispatches to one handler per
//! subject, and itself carries the mediator's conveying and non-papers) and the helpers the
//! handlers share; `summary.rs` is the procedure as `case show` prints it; `charter.rs`,
//! `position.rs`, `draft.rs`, `offer.rs` and `agreement.rs` each hold one subject's
//! subcommands and their handlers.

mod agreement;
mod charter;
mod draft;
mod implement;
mod offer;
mod position;
mod summary;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use backchannel_client::procedure::meets;
use backchannel_client::{Client, ClientError, LogLine};
use backchannel_core::act::Digest32;
use backchannel_core::procedure::Draft;
use backchannel_core::{CaseId, CaseState, PublicKey, Rejection};
use backchannel_formula::{Condition, Issue};
use clap::Subcommand;
use serde_json::Value;

use crate::output;
use crate::session::{channel, open};

pub use agreement::{AgreementCommand, DeclarationCommand};
pub use charter::{AgendaCommand, CharterCommand, IssuesCommand};
pub use draft::DraftCommand;
pub use offer::{DirectCommand, OfferCommand};
pub use position::{PositionCommand, RequireArgs};
pub use summary::{print_summary, summary};

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
    /// After publication: the implementation plan, progress reports, attestations, status.
    Implement {
        #[command(subcommand)]
        command: implement::ImplementCommand,
    },
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

// --- the handlers ---------------------------------------------------------------------------

pub async fn run(
    home: Option<PathBuf>,
    json: bool,
    offline: bool,
    command: ProcedureCommand,
) -> anyhow::Result<()> {
    let mut client = open(home, offline)?;
    match command {
        ProcedureCommand::Charter { command } => charter::charter(&mut client, json, command).await,
        ProcedureCommand::Issues { command } => charter::issues(&mut client, json, command).await,
        ProcedureCommand::Agenda { command } => charter::agenda(&mut client, json, command).await,
        ProcedureCommand::Position { command } => {
            position::position(&mut client, json, command).await
        }
        ProcedureCommand::Require(args) => position::require(&mut client, json, args).await,
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
        ProcedureCommand::Draft { command } => draft::draft(&mut client, json, command).await,
        ProcedureCommand::Offer { command } => offer::offer(&mut client, json, command).await,
        ProcedureCommand::Direct { command } => offer::direct(&mut client, json, command).await,
        ProcedureCommand::Agreement { command } => {
            agreement::agreement(&mut client, json, command).await
        }
        ProcedureCommand::Declaration { command } => {
            agreement::declaration(&mut client, json, command).await
        }
        ProcedureCommand::Implement { command } => {
            implement::implement(&mut client, json, command).await
        }
    }
}
