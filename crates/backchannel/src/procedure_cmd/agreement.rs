//! The agreement (tabled, signed, published, guaranteed) and parallel unilateral
//! declarations.

use std::path::PathBuf;

use backchannel_client::Client;
use backchannel_core::Role;
use backchannel_core::procedure::Agreement;
use clap::Subcommand;
use serde_json::json;

use super::summary::{agreement_json, list};
use super::{invalid, mediator_only, print_line, read_json, resolve_participant};
use crate::output;

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
        /// Its implementation plan (`backchannel-plan/1`), tabled with it so that every
        /// signature covers it; in force from publication.
        #[arg(long, value_name = "PLAN.json")]
        plan: Option<PathBuf>,
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

pub(super) async fn agreement(
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
            plan,
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
                        plan: None,
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
            if let Some(path) = plan {
                let bytes = serde_json::to_vec(&read_json(&path)?)?;
                let plan = backchannel_core::plan::Plan::parse(&bytes)
                    .map_err(|e| invalid(e.to_string()))?;
                agreement.plan = Some(plan);
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
            crate::session::refresh(client, case).await?;
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

pub(super) async fn declaration(
    client: &mut Client,
    json: bool,
    command: DeclarationCommand,
) -> anyhow::Result<()> {
    match command {
        DeclarationCommand::Table { case, text } => {
            let case = client.resolve_case(&case)?;
            let line = client.table_declaration(case, &text).await?;
            print_line(json, &line)
        }
        DeclarationCommand::Publish { case } => {
            let case = client.resolve_case(&case)?;
            client.sync(case).await?;
            mediator_only(client, case, "publish declarations")?;
            let line = client.publish_declarations(case).await?;
            print_line(json, &line)
        }
    }
}
