//! The story after publication: a neutral inspector joins as observer, the implementation plan
//! is proposed and accepted, Adoption Day falls by offset, Iran's first steps are reported and
//! attested by the inspector, Implementation Day is reached by that attestation and sanctions
//! relief falls due, a Gulf capital's dispute climbs one stage of the ladder and is resolved,
//! and the score is printed (see docs/implementation.md).

use std::path::Path;

use anyhow::{Context as _, bail};
use backchannel_client::InviteRole;
use backchannel_core::plan::{Plan, Status};
use backchannel_core::{CaseId, ChannelName};

use super::{Cast, Narrator, new_participant};
use crate::output;

/// The seed story's plan; its verifier, "Inspector", is the inspector who joins.
const PLAN: &str = include_str!("../../../backchannel-core/plans/us-iran.json");
const INSPECTOR: &str = "IAEA";
const DAY_MS: u64 = 86_400_000;

pub(super) async fn run(
    cast: &mut Cast,
    case: CaseId,
    homes: &Path,
    n: &Narrator,
) -> anyhow::Result<()> {
    n.say("");
    n.say("── implementation ──────────────────────────────────────────────────────────────");
    let mut inspector = new_participant(homes, INSPECTOR)?;
    let code = cast.mediator.invite(case, InviteRole::Observer).await?;
    inspector.join(&code).await?;
    cast.mediator.sync(case).await?;
    inspector.sync(case).await?;
    let record = inspector.read(case, Some(&ChannelName::public()))?;
    let whole = record.first().is_some_and(|l| l.index == 1)
        && record.iter().any(|l| l.kind == "agreement_published");
    if !whole {
        bail!("the inspector does not hold the public record from its first act");
    }
    n.say(format!(
        "  A neutral inspector, the {INSPECTOR}, joins as observer: it verifies the public record from its"
    ));
    n.say(format!(
        "  first act to the published agreement ({} acts).",
        record.len()
    ));
    cast.observers.push(inspector);

    let plan = Plan::parse(
        PLAN.replace("\"Inspector\"", &format!("{INSPECTOR:?}"))
            .as_bytes(),
    )
    .context("the demo's implementation plan")?;
    n.say(format!(
        "  Pakistan proposes the implementation plan: {} commitments, milestones {}; the {INSPECTOR} named as verifier.",
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
    let ahead = status(cast, case, backchannel_client::hub::now_ms() + 100 * DAY_MS).await?;
    if let Some(at) = reached_at(&ahead, "adoption") {
        n.say(format!(
            "  Adoption Day falls 90 days after publication, by offset: {}.",
            output::utc(at)
        ));
    }

    cast.party("Iran")?
        .report_progress(case, "enrichment_cap", 3, "cascades reconfigured")
        .await?;
    let inspector = inspector_of(cast)?;
    inspector.sync(case).await?;
    inspector
        .attest(case, "enrichment_cap", 3, "inspection report 1")
        .await?;
    inspector
        .attest(case, "stockpile", 3, "shipment verified")
        .await?;
    n.say(format!(
        "  Iran reports its first steps; the {INSPECTOR} attests them: enrichment capped, stockpile shipped."
    ));
    let now = status(cast, case, backchannel_client::hub::now_ms()).await?;
    let Some(implementation_day) = reached_at(&now, "implementation") else {
        bail!("Implementation Day was not reached by the verifier's attestations");
    };
    n.say(format!(
        "  Implementation Day is reached by that attestation ({}): sanctions relief falls due.",
        output::utc(implementation_day)
    ));
    cast.party("United States")?
        .report_progress(case, "sanctions_relief", 2, "first phase lifted")
        .await?;
    n.say("  The United States reports the first phase of sanctions relief.");

    dispute(cast, case, n).await?;

    for client in cast.all_mut() {
        client.sync(case).await?;
    }
    let status = status(cast, case, backchannel_client::hub::now_ms()).await?;
    for m in &status.milestones {
        match m.reached_at_ms {
            Some(at) => n.say(format!("  {} reached {}", m.title, output::utc(at))),
            None => n.say(format!("  {} not reached yet", m.title)),
        }
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

/// The United Arab Emirates disputes the regional commitment; Iran cannot move it on early;
/// Pakistan refers it from the Joint Commission to the ministers, where Saudi Arabia gives the
/// advisory opinion, and records its resolution.
async fn dispute(cast: &mut Cast, case: CaseId, n: &Narrator) -> anyhow::Result<()> {
    let complainant = cast
        .observers
        .first_mut()
        .context("the demo has observers")?;
    complainant
        .open_dispute(
            case,
            vec!["regional_conduct".into()],
            "interference in our internal affairs",
        )
        .await?;
    n.say(
        "  The United Arab Emirates opens a dispute over regional conduct: the Joint Commission has 15 days.",
    );
    match cast.party("Iran")?.escalate_dispute(case, 1).await {
        Ok(_) => bail!("a party moved a dispute on before the stage's days were over"),
        Err(e) => n.say(format!(
            "  Iran asks to move it on at once; refused: {}",
            e.code()
        )),
    }
    cast.mediator.escalate_dispute(case, 1).await?;
    let board = cast
        .observers
        .get_mut(1)
        .context("the demo has two observers")?;
    board.sync(case).await?;
    board
        .give_opinion(
            case,
            1,
            "both sides should reaffirm the regional commitment in writing",
        )
        .await?;
    let stage = status(cast, case, backchannel_client::hub::now_ms())
        .await?
        .disputes
        .first()
        .map(|d| d.stage.clone())
        .unwrap_or_default();
    n.say(format!(
        "  Pakistan refers it to the ministers (stage: {stage}); Saudi Arabia gives the advisory board's opinion."
    ));
    cast.mediator
        .resolve_dispute(case, 1, "assurances exchanged before the ministers")
        .await?;
    n.say("  The ministers settle it: Pakistan records the resolution.");
    Ok(())
}

fn inspector_of(cast: &mut Cast) -> anyhow::Result<&mut backchannel_client::Client> {
    cast.observers
        .iter_mut()
        .find(|c| c.name() == INSPECTOR)
        .context("the inspector has joined")
}

/// The plan's status, from the mediator's copy after a sync, as it stands at `at_ms`.
async fn status(cast: &mut Cast, case: CaseId, at_ms: u64) -> anyhow::Result<Status> {
    cast.mediator.sync(case).await?;
    cast.mediator
        .implementation_status(case, at_ms)?
        .context("a plan is proposed")
}

fn reached_at(status: &Status, milestone: &str) -> Option<u64> {
    status
        .milestones
        .iter()
        .find(|m| m.id == milestone)
        .and_then(|m| m.reached_at_ms)
}
