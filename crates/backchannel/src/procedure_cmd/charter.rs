//! The charter, the issues and the agenda.

use std::path::PathBuf;

use backchannel_client::Client;
use backchannel_core::procedure::{AgendaProposers, Attribution, Charter, Deadline, Delegation};
use backchannel_formula::Issue;
use clap::{Subcommand, ValueEnum};
use serde_json::json;

use super::summary::list;
use super::{invalid, mediator_only, print_line, read_json, summary};
use crate::output;

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

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DelegationArg {
    /// Any admitted delegate's act binds its party.
    Any,
    /// Only the party's head of delegation (invited with --head) accepts, consents, answers
    /// drafts and signs.
    Head,
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
        /// Who binds a party: any of its delegates, or only its head of delegation.
        #[arg(long, value_enum, default_value = "any")]
        delegation: DelegationArg,
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

pub(super) async fn charter(
    client: &mut Client,
    json: bool,
    command: CharterCommand,
) -> anyhow::Result<()> {
    match command {
        CharterCommand::Propose {
            case,
            agenda_by,
            non_papers,
            attribution,
            deadlines,
            delegation,
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
                delegation: match delegation {
                    DelegationArg::Any => Delegation::Any,
                    DelegationArg::Head => Delegation::Head,
                },
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

pub(super) async fn issues(
    client: &mut Client,
    json: bool,
    command: IssuesCommand,
) -> anyhow::Result<()> {
    let IssuesCommand::Define { case, file } = command;
    let case = client.resolve_case(&case)?;
    client.sync(case).await?;
    mediator_only(client, case, "define the issues")?;
    let document = read_json(&file)?;
    let issues: Vec<Issue> = document
        .get("issues")
        .cloned()
        .ok_or_else(|| invalid(format!("{} has no `issues`", file.display())))
        .and_then(|v| {
            serde_json::from_value(v)
                .map_err(|e| invalid(format!("{}: `issues` is malformed: {e}", file.display())))
        })?;
    let line = client.define_issues(case, issues).await?;
    print_line(json, &line)
}

pub(super) async fn agenda(
    client: &mut Client,
    json: bool,
    command: AgendaCommand,
) -> anyhow::Result<()> {
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
            crate::session::refresh(client, case).await?;
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
