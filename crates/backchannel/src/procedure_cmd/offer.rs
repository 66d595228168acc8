//! Sealed conditional offers, and direct talks between the parties.

use std::collections::BTreeSet;

use backchannel_client::Client;
use backchannel_core::act::Digest32;
use backchannel_core::procedure::Offer;
use backchannel_core::{CaseState, ChannelName};
use clap::Subcommand;
use serde_json::{Value, json};

use super::{
    check_terms, invalid, mediator_only, names, parse_commitment, parse_condition, print_line,
    summary, terms_text,
};
use crate::output;
use crate::session::channel;

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

pub(super) async fn offer(
    client: &mut Client,
    json: bool,
    command: OfferCommand,
) -> anyhow::Result<()> {
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
            crate::session::refresh(client, case).await?;
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

pub(super) async fn direct(
    client: &mut Client,
    json: bool,
    command: DirectCommand,
) -> anyhow::Result<()> {
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
