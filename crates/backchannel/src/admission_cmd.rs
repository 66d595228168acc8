//! `case invite` (and `case invite revoke`), `case admit`, and how joiners waiting for the
//! mediator are shown by `sync`, `join` and `case show`.

use anyhow::bail;
use backchannel_client::{Admission, Admit, Client, InviteOptions, InviteRole, PendingJoiner};
use backchannel_core::CaseId;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::output;

/// The flags of `case invite`.
/// The role an invite is for.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum RoleArg {
    Party,
    Observer,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct InviteArgs {
    #[command(subcommand)]
    pub command: Option<InviteCommand>,
    #[arg(required = true)]
    pub case: Option<String>,
    #[arg(long, value_enum, required = true)]
    pub role: Option<RoleArg>,
    /// The party's name (with --role party).
    #[arg(long)]
    pub party: Option<String>,
    /// How long the code stays valid: 45m, 12h, 7d, or never.
    #[arg(long, default_value = "7d")]
    pub expires: String,
    /// Admit whoever spends the code at the next sync, without `case admit`.
    #[arg(long)]
    pub auto_admit: bool,
    /// Its joiner heads the party's delegation (matters under `charter propose --delegation
    /// head`).
    #[arg(long)]
    pub head: bool,
    /// Whether its joiner, seated in a channel that began before, is handed the channel's
    /// earlier acts, signed by their authors (`full`), or reads only from its seating on.
    #[arg(long, value_enum, default_value = "full")]
    pub history: HistoryArg,
}

/// What a late joiner reads of a channel's past.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HistoryArg {
    Full,
    None,
}

#[derive(Subcommand, Debug)]
pub enum InviteCommand {
    /// Revoke an invite not yet spent, named by its code or its id.
    Revoke { case: String, code_or_id: String },
}

/// Milliseconds in a lifetime written `45m`, `12h`, `7d` (or `30s`); `never` is none.
fn lifetime(text: &str) -> anyhow::Result<Option<u64>> {
    if text == "never" {
        return Ok(None);
    }
    let split = text.len().saturating_sub(1);
    let (number, unit) = text.split_at(split);
    let unit_ms: u64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => bail!("--expires takes a number with s, m, h or d (as in 7d), or never"),
    };
    match number.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n.checked_mul(unit_ms)),
        _ => bail!("--expires takes a positive number with s, m, h or d (as in 7d), or never"),
    }
}

pub async fn invite(client: &mut Client, json: bool, args: InviteArgs) -> anyhow::Result<()> {
    if let Some(InviteCommand::Revoke { case, code_or_id }) = args.command {
        let case = client.resolve_case(&case)?;
        let (id, revoked) = client.revoke_invite(case, &code_or_id).await?;
        if json {
            return output::json(
                &json!({ "case": case, "id": id, "revoked_ms": revoked.revoked_ms }),
            );
        }
        println!("invite {id} revoked: its code is refused from now on");
        return Ok(());
    }
    let (Some(case), Some(role)) = (args.case, args.role) else {
        bail!("case invite needs CASE and --role");
    };
    let case = client.resolve_case(&case)?;
    let role = match (role, args.party) {
        (RoleArg::Party, Some(party)) => InviteRole::Party(party),
        (RoleArg::Party, None) => bail!("--role party needs --party NAME"),
        (RoleArg::Observer, None) => InviteRole::Observer,
        (RoleArg::Observer, Some(_)) => bail!("--party goes only with --role party"),
    };
    let expires_ms =
        lifetime(&args.expires)?.map(|ms| backchannel_client::hub::now_ms().saturating_add(ms));
    let options = InviteOptions {
        expires_ms,
        auto_admit: args.auto_admit,
        head: args.head,
        no_history: args.history == HistoryArg::None,
    };
    let issued = client.invite_with(case, role, options).await?;
    let code = issued.code.encode();
    if json {
        return output::json(&json!({
            "case": case,
            "code": code,
            "id": issued.id,
            "expires_ms": issued.expires_ms,
            "auto_admit": issued.auto_admit,
        }));
    }
    println!("{code}");
    let expiry = issued.expires_ms.map_or_else(
        || "never expires".to_owned(),
        |ms| format!("expires {}", output::utc(ms)),
    );
    let admission = if issued.auto_admit {
        "whoever spends it is admitted at your next sync"
    } else {
        "whoever spends it waits until you run `case admit`"
    };
    eprintln!("invite {}: {expiry}; {admission}", issued.id);
    Ok(())
}

pub async fn admit(
    client: &mut Client,
    json: bool,
    case: &str,
    key: Option<String>,
    all: bool,
) -> anyhow::Result<()> {
    let case = client.resolve_case(case)?;
    let which = match (key, all) {
        (Some(key), false) => Admit::Key(key),
        (None, true) => Admit::All,
        _ => bail!("case admit takes either --key KEY_OR_PREFIX or --all"),
    };
    let report = client.admit(case, which).await?;
    if json {
        return output::json(
            &json!({ "case": case, "admitted": report.admitted, "pending": report.pending }),
        );
    }
    for name in &report.admitted {
        println!("admitted {name}");
    }
    print_pending(&report.pending);
    Ok(())
}

/// The joiners waiting for the mediator, one line each with what to compare out of band.
pub fn print_pending(pending: &[PendingJoiner]) {
    for p in pending {
        let party = p
            .party
            .as_deref()
            .map(|party| format!(" of {party}"))
            .unwrap_or_default();
        println!(
            "waiting for admission: {} as {}{party}, key {}…, fingerprint {}, joined {}",
            p.name,
            p.role,
            hex::encode(&p.key.0[..8]),
            p.fingerprint,
            output::utc(p.joined_ms)
        );
    }
    if !pending.is_empty() {
        println!(
            "compare each fingerprint with the joiner, then: backchannel case admit CASE --key KEY_PREFIX (or --all)"
        );
    }
}

/// One sentence on where this participant stands with the mediator.
pub fn admission_line(admission: &Admission) -> String {
    match (admission.status, admission.at_ms) {
        ("admitted", Some(ms)) => {
            format!("admitted by {} on {}", admission.mediator, output::utc(ms))
        }
        ("admitted", None) => format!("admitted by {}", admission.mediator),
        _ => format!("waiting for admission by {}", admission.mediator),
    }
}

/// For `join`: the case joined, and that the mediator admits next.
pub fn joined(client: &Client, json: bool, case: CaseId) -> anyhow::Result<()> {
    let admission = client.admission(case)?;
    if json {
        return output::json(&json!({ "case": case, "admission": admission }));
    }
    println!("joined case {case}; {}", admission_line(&admission));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::lifetime;

    #[test]
    fn lifetimes() {
        assert_eq!(lifetime("7d").ok(), Some(Some(7 * 86_400_000)));
        assert_eq!(lifetime("45m").ok(), Some(Some(45 * 60_000)));
        assert_eq!(lifetime("never").ok(), Some(None));
        for bad in ["", "d", "0d", "7", "7w", "-1d", "1.5h"] {
            assert!(lifetime(bad).is_err(), "{bad}");
        }
    }
}
