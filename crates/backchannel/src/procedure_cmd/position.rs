//! What the sides want of any agreement: a party's sealed position, an observer's
//! requirement.

use std::path::PathBuf;

use backchannel_client::Client;
use backchannel_core::Rejection;
use backchannel_formula::{Condition, Party as Position, Requirement, RequirementKind};
use clap::Subcommand;
use serde_json::json;

use super::{check_terms, invalid, parse_condition, print_line, refused, scenario_entry};
use crate::output;

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
        /// Revise the party's sealed position: the version it replaces (the latest).
        #[arg(long, value_name = "VERSION")]
        replace: Option<u32>,
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

pub(super) async fn position(
    client: &mut Client,
    json: bool,
    command: PositionCommand,
) -> anyhow::Result<()> {
    let PositionCommand::Seal {
        case,
        file,
        party,
        replace,
    } = command;
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
    let infeasible = client
        .state(case)?
        .procedure
        .scenario(vec![], vec![])
        .infeasibility(&position);
    let line = client.revise_position(case, position, replace).await?;
    if json {
        output::json(&json!({
            "act": line,
            "party": mine,
            "renamed_from": renamed,
            "infeasible": infeasible,
        }))
    } else {
        for why in &infeasible {
            eprintln!("warning: this position can never be met: {why}");
        }
        print_line(false, &line)
    }
}

pub(super) async fn require(
    client: &mut Client,
    json: bool,
    args: RequireArgs,
) -> anyhow::Result<()> {
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
