//! `implement …`: the implementation plan proposed and accepted, progress reported, commitments
//! attested, and the status read from the public record (see docs/implementation.md).

use std::path::PathBuf;

use backchannel_client::Client;
use backchannel_core::plan::Plan;
use clap::Subcommand;
use serde_json::json;

use super::{invalid, print_line, read_json};
use crate::output;

#[derive(Subcommand, Debug)]
pub enum ImplementCommand {
    /// The implementation plan: proposed by the mediator once the agreement is published,
    /// accepted by every party.
    Plan {
        #[command(subcommand)]
        command: PlanCommand,
    },
    /// As a party: report progress on one of its own commitments (public).
    Report {
        case: String,
        #[arg(long)]
        commitment: String,
        /// 0 not initiated, 1 minimal, 2 intermediate, 3 complete.
        #[arg(long)]
        status: u8,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// As a verifier the plan names: attest a commitment's status (public).
    Attest {
        case: String,
        #[arg(long)]
        commitment: String,
        /// 0 not initiated, 1 minimal, 2 intermediate, 3 complete.
        #[arg(long)]
        status: u8,
        #[arg(long, default_value = "")]
        evidence: String,
    },
    /// Disputes over commitments, climbed stage by stage on the plan's ladder.
    Dispute {
        #[command(subcommand)]
        command: DisputeCommand,
    },
    /// As the complainant, once its dispute's ladder is exhausted: invoke one of the plan's
    /// remedies (cease_in_part, cease_in_whole, graduated_suspension, snapback).
    Remedy {
        case: String,
        #[arg(long)]
        dispute: u32,
        #[arg(long)]
        remedy: String,
    },
    /// Move a commitment's deadline: a party whose consent the plan requires consents; the
    /// mediator extends it once every such consent is on the record.
    Extend {
        case: String,
        #[arg(long)]
        commitment: String,
        #[arg(long)]
        days: u32,
    },
    /// Milestones reached, each commitment's status, the score, deadlines due, disputes
    /// (anyone).
    Status { case: String },
}

#[derive(Subcommand, Debug)]
pub enum DisputeCommand {
    /// As a party or an observer: open a dispute over commitments (public); prints it.
    Open {
        case: String,
        /// A commitment in dispute (repeatable).
        #[arg(long = "commitment", required = true)]
        commitments: Vec<String>,
        #[arg(long)]
        complaint: String,
    },
    /// Move the dispute to the next stage, once the current stage's days are over.
    Escalate {
        case: String,
        #[arg(long)]
        dispute: u32,
    },
    /// As the mediator or an observer, at a stage that takes one: an advisory opinion.
    Opinion {
        case: String,
        #[arg(long)]
        dispute: u32,
        #[arg(long)]
        text: String,
    },
    /// As mediator: record the dispute's resolution.
    Resolve {
        case: String,
        #[arg(long)]
        dispute: u32,
        #[arg(long)]
        text: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PlanCommand {
    /// As mediator: propose the plan in FILE (`backchannel-plan/1`).
    Propose {
        case: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// As a party: accept the plan on the table.
    Accept { case: String },
}

pub(super) async fn implement(
    client: &mut Client,
    json: bool,
    command: ImplementCommand,
) -> anyhow::Result<()> {
    match command {
        ImplementCommand::Plan {
            command: PlanCommand::Propose { case, file },
        } => {
            let case = client.resolve_case(&case)?;
            let bytes = serde_json::to_vec(&read_json(&file)?)?;
            let plan = Plan::parse(&bytes).map_err(|e| invalid(e.to_string()))?;
            let line = client.propose_plan(case, plan).await?;
            print_line(json, &line)
        }
        ImplementCommand::Plan {
            command: PlanCommand::Accept { case },
        } => {
            let case = client.resolve_case(&case)?;
            let line = client.accept_plan(case).await?;
            print_line(json, &line)
        }
        ImplementCommand::Report {
            case,
            commitment,
            status,
            note,
        } => {
            let case = client.resolve_case(&case)?;
            let line = client
                .report_progress(case, &commitment, status, &note)
                .await?;
            print_line(json, &line)
        }
        ImplementCommand::Attest {
            case,
            commitment,
            status,
            evidence,
        } => {
            let case = client.resolve_case(&case)?;
            let line = client.attest(case, &commitment, status, &evidence).await?;
            print_line(json, &line)
        }
        ImplementCommand::Dispute { command } => {
            let line = match command {
                DisputeCommand::Open {
                    case,
                    commitments,
                    complaint,
                } => {
                    let case = client.resolve_case(&case)?;
                    client.open_dispute(case, commitments, &complaint).await?
                }
                DisputeCommand::Escalate { case, dispute } => {
                    let case = client.resolve_case(&case)?;
                    client.escalate_dispute(case, dispute).await?
                }
                DisputeCommand::Opinion {
                    case,
                    dispute,
                    text,
                } => {
                    let case = client.resolve_case(&case)?;
                    client.give_opinion(case, dispute, &text).await?
                }
                DisputeCommand::Resolve {
                    case,
                    dispute,
                    text,
                } => {
                    let case = client.resolve_case(&case)?;
                    client.resolve_dispute(case, dispute, &text).await?
                }
            };
            print_line(json, &line)
        }
        ImplementCommand::Remedy {
            case,
            dispute,
            remedy,
        } => {
            let case = client.resolve_case(&case)?;
            let line = client.invoke_remedy(case, dispute, &remedy).await?;
            print_line(json, &line)
        }
        ImplementCommand::Extend {
            case,
            commitment,
            days,
        } => {
            let case = client.resolve_case(&case)?;
            let line = client.extend_deadline(case, &commitment, days).await?;
            print_line(json, &line)
        }
        ImplementCommand::Status { case } => {
            let case = client.resolve_case(&case)?;
            crate::session::refresh(client, case).await?;
            let now = backchannel_client::hub::now_ms();
            let in_force = client
                .state(case)?
                .procedure
                .implementation
                .as_ref()
                .is_some_and(|i| i.in_force);
            let Some(status) = client.implementation_status(case, now)? else {
                return Err(invalid("no implementation plan is proposed in this case"));
            };
            if json {
                let mut shown = serde_json::to_value(&status)?;
                if let Some(object) = shown.as_object_mut() {
                    object.insert("in_force".into(), json!(in_force));
                    object.insert("at_ms".into(), json!(now));
                }
                return output::json(&shown);
            }
            println!(
                "implementation plan {}; score {:.0} %",
                if in_force {
                    "in force"
                } else {
                    "proposed, awaiting acceptance"
                },
                status.score * 100.0
            );
            for (theme, score) in &status.themes {
                println!("  {theme}: {:.0} %", score * 100.0);
            }
            for m in &status.milestones {
                match m.reached_at_ms {
                    Some(at) => println!("  {} reached {}", m.title, output::utc(at)),
                    None => println!("  {} not reached", m.title),
                }
            }
            for c in &status.commitments {
                let due = match (c.due_ms, c.overdue) {
                    (Some(due), true) => format!(", OVERDUE since {}", output::utc(due)),
                    (Some(due), false) => format!(", due {}", output::utc(due)),
                    (None, _) => String::new(),
                };
                let seen = |s: Option<u8>| s.map_or_else(|| "-".to_owned(), |s| s.to_string());
                println!(
                    "  {} ({}): {} of 3 — reported {}, attested {}{}{due}",
                    c.id,
                    c.theme,
                    c.status,
                    seen(c.reported),
                    seen(c.attested),
                    if c.discrepancy { ", DISCREPANCY" } else { "" },
                );
            }
            for d in &status.disputes {
                let until = d
                    .stage_ends_ms
                    .map(|end| format!(", may be escalated from {}", output::utc(end)))
                    .unwrap_or_default();
                println!(
                    "  dispute {} by {} over {}: {}{until}",
                    d.id,
                    d.by,
                    d.commitments.join(", "),
                    d.stage
                );
            }
            Ok(())
        }
    }
}
