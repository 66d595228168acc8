//! The story after publication: the implementation plan proposed and accepted, Iran's first
//! steps reported and attested by the observer named as verifier, Implementation Day reached
//! by that attestation, a Gulf capital's dispute settled at the ladder's first stage, and the
//! score (see docs/implementation.md).

use anyhow::{Context as _, bail};
use backchannel_core::CaseId;
use backchannel_core::plan::Plan;

use super::{Cast, Narrator};
use crate::output;

/// The seed story's plan; its verifier, "Inspector", is replaced by the observer named.
const PLAN: &str = include_str!("../../../backchannel-core/plans/us-iran.json");

pub(super) async fn run(cast: &mut Cast, case: CaseId, n: &Narrator) -> anyhow::Result<()> {
    let verifier = cast
        .observers
        .first()
        .context("the demo has observers")?
        .name()
        .to_owned();
    let plan = Plan::parse(
        PLAN.replace("\"Inspector\"", &format!("{verifier:?}"))
            .as_bytes(),
    )
    .context("the demo's implementation plan")?;
    n.say("");
    n.say("── implementation ──────────────────────────────────────────────────────────────");
    n.say(format!(
        "  Pakistan proposes the implementation plan: {} commitments, milestones {}; {verifier} named as verifier.",
        plan.commitments.len(),
        plan.milestones
            .iter()
            .map(|m| m.title.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    cast.mediator.propose_plan(case, plan).await?;
    for party in ["United States", "Iran"] {
        cast.party(party)?.accept_plan(case).await?;
    }
    n.say("  Both parties accept it: it is in force.");
    cast.party("Iran")?
        .report_progress(case, "enrichment_cap", 3, "cascades reconfigured")
        .await?;
    let observer = cast
        .observers
        .first_mut()
        .context("the demo has observers")?;
    observer.sync(case).await?;
    observer
        .attest(case, "enrichment_cap", 3, "inspection report 1")
        .await?;
    observer
        .attest(case, "stockpile", 3, "shipment verified")
        .await?;
    n.say(format!(
        "  Iran reports its first steps; {verifier} attests them: enrichment capped, stockpile shipped."
    ));
    cast.party("United States")?
        .report_progress(case, "sanctions_relief", 2, "first phase lifted")
        .await?;
    n.say("  The United States reports the first phase of sanctions relief.");
    let observer = cast
        .observers
        .first_mut()
        .context("the demo has observers")?;
    observer
        .open_dispute(
            case,
            vec!["regional_conduct".into()],
            "interference in our internal affairs",
        )
        .await?;
    cast.mediator
        .resolve_dispute(case, 1, "assurances exchanged before the Joint Commission")
        .await?;
    n.say(format!(
        "  {verifier} opens a dispute over regional conduct; the Joint Commission settles it, recorded by Pakistan."
    ));
    for client in cast.all_mut() {
        client.sync(case).await?;
    }
    let now = backchannel_client::hub::now_ms();
    let status = cast
        .mediator
        .implementation_status(case, now)?
        .context("a plan is proposed")?;
    for m in &status.milestones {
        match m.reached_at_ms {
            Some(at) => n.say(format!("  {} reached {}", m.title, output::utc(at))),
            None => n.say(format!("  {} not reached yet", m.title)),
        }
    }
    let implementation = status
        .milestones
        .iter()
        .find(|m| m.id == "implementation")
        .context("the plan has Implementation Day")?;
    if !implementation.reached {
        bail!("Implementation Day was not reached by the verifier's attestations");
    }
    n.say(format!(
        "  Score: {:.0} % overall ({}).",
        status.score * 100.0,
        status
            .themes
            .iter()
            .map(|(theme, score)| format!("{theme} {:.0} %", score * 100.0))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(())
}
