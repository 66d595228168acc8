//! The demo's second act: the mediation procedure on the seed scenario — charter, agenda
//! demands, sealed positions, the engine's formula, conditional offers, direct talks,
//! converging drafts, signatures, publication and the observers' guarantee.

use anyhow::{Context as _, bail};
use backchannel_client::procedure::meets;
use backchannel_core::procedure::{
    AgendaProposers, Agreement, Attribution, Charter, ClauseAnswer, Deadline, Offer,
};
use backchannel_core::{CaseId, ChannelName};
use backchannel_formula::{Condition, Package, Scenario};

use super::{Cast, Narrator};

/// The demo's negotiation: issues, private profiles, red lines and the Gulf observers'
/// requirements. Illustrative, not a prediction.
const SCENARIO: &str = include_str!("../../../backchannel-formula/scenarios/us-iran.json");
/// What the delegations say to each other once in direct talks.
pub(super) const DIRECT_TALK: [&str; 2] = [
    "We are ready to work from the mediator's text.",
    "So are we, on the agreed agenda.",
];
/// The agreement's title.
pub(super) const AGREEMENT_TITLE: &str =
    "Islamabad Framework for a Diplomatic Track between the United States and Iran";
/// Drafts the single-text process may take before the mediator falls back to declarations.
const DRAFTS_MAX: u32 = 6;

/// The texts of the scenario that only discreet acts carry or that are sealed at rest: every
/// issue's options, as clauses of drafts, positions and offers name them.
pub(super) fn scenario_texts() -> anyhow::Result<Vec<String>> {
    let scenario = Scenario::from_json_str(SCENARIO).context("the demo scenario")?;
    Ok(scenario
        .issues
        .iter()
        .flat_map(|issue| issue.options.iter().map(|o| o.label.clone()))
        .collect())
}

fn cond(issue: &str, options: &[&str]) -> Condition {
    Condition {
        issue: issue.into(),
        options: options.iter().map(|o| (*o).to_owned()).collect(),
    }
}

fn utility(scenario: &Scenario, party: usize, package: &Package) -> f64 {
    backchannel_formula::utility(scenario, party, package)
}

pub(super) async fn run(cast: &mut Cast, case: CaseId, n: &Narrator) -> anyhow::Result<()> {
    let scenario = Scenario::from_json_str(SCENARIO).context("the demo scenario")?;
    let sync_all = async |cast: &mut Cast| -> anyhow::Result<()> {
        for client in cast.all_mut() {
            client.sync(case).await?;
        }
        Ok(())
    };

    n.say("");
    n.say("── the charter ─────────────────────────────────────────────────────────────────");
    let charter = Charter {
        agenda_proposers: AgendaProposers::PartiesAndMediator,
        non_papers: true,
        attribution: Attribution::OriginalWithConsent,
        deadlines: vec![Deadline {
            what: "a framework text".into(),
            by: "2027-03-31".into(),
        }],
        delegation: backchannel_core::procedure::Delegation::Any,
    };
    cast.mediator.propose_charter(case, charter).await?;
    n.say("  Pakistan proposes the procedural rules: either side may propose agenda items; non-papers");
    n.say("  allowed; originals conveyed only with their author's signed consent; a framework by 2027-03-31.");
    let refused = cast
        .party("United States")?
        .propose_agenda_item(case, "Regional conduct", true)
        .await;
    if let Err(e) = &refused {
        n.say(format!(
            "  (Washington tries to table its demands first — refused: {})",
            e.code()
        ));
    }
    for party in ["United States", "Iran"] {
        cast.party(party)?.accept_charter(case).await?;
        n.say(format!("  {party} signs its acceptance of the charter."));
    }

    n.say("");
    n.say("── the agenda: demands become items, not preconditions ───────────────────────────");
    let us_demand = "Iran's regional conduct, and threats to American bases";
    let iran_demand = "Relief from economic and military pressure";
    cast.party("United States")?
        .propose_agenda_item(case, us_demand, true)
        .await?;
    cast.party("Iran")?
        .propose_agenda_item(case, iran_demand, true)
        .await?;
    sync_all(cast).await?;
    let items: Vec<(u64, String)> = cast
        .mediator
        .state(case)?
        .procedure
        .agenda
        .iter()
        .map(|(k, v)| (*k, v.title.clone()))
        .collect();
    for (item, title) in &items {
        let proposer = if title == us_demand {
            "United States"
        } else {
            "Iran"
        };
        let other = if proposer == "Iran" {
            "United States"
        } else {
            "Iran"
        };
        cast.party(other)?.consent_agenda_item(case, *item).await?;
        n.say(format!(
            "  {proposer} asks that \"{title}\" be on the agenda; {other} consents: adopted."
        ));
    }

    n.say("");
    n.say("── issues, sealed positions, observers' requirements ────────────────────────────");
    cast.mediator
        .define_issues(case, scenario.issues.clone())
        .await?;
    let titles: Vec<&str> = scenario.issues.iter().map(|i| i.title.as_str()).collect();
    n.say(format!(
        "  Pakistan defines the issues: {}.",
        titles.join("; ")
    ));
    for (party, id) in [("United States", "us"), ("Iran", "iran")] {
        let position = scenario
            .parties
            .iter()
            .find(|p| p.id == id)
            .context("demo party")?
            .clone();
        let red_lines: usize = position.red_lines.values().map(Vec::len).sum();
        cast.party(party)?.seal_position(case, position).await?;
        n.say(format!(
            "  {party} seals its position to Pakistan alone: weights, scores, {red_lines} red-line option(s), a reservation."
        ));
    }
    for requirement in &scenario.requirements {
        let rationale = match requirement.by.as_str() {
            "uae" => {
                "Any agreement must guarantee an end to interference in the region's internal affairs."
            }
            _ => {
                "Trade routes and energy infrastructure must be protected; relief must come with verification."
            }
        };
        let observer = match requirement.by.as_str() {
            "uae" => &mut cast.observers[0],
            _ => &mut cast.observers[1],
        };
        observer
            .register_requirement(case, requirement.clone(), rationale)
            .await?;
        n.say(format!(
            "  {} registers requirement \"{}\" on the public record.",
            observer.name(),
            requirement.id
        ));
    }
    sync_all(cast).await?;

    n.say("");
    n.say("── the formula (Pakistan's client, over the positions sealed to it) ────────────────");
    let held = cast.mediator.held_scenario(case)?;
    let solution = backchannel_formula::solve(&held, &backchannel_formula::SolveOptions::default());
    n.say(format!(
        "  {} packages; {} within both sides' red lines; {} also meet the observers' requirements; {} acceptable to both.",
        solution.packages_total,
        solution.within_red_lines,
        solution.meeting_requirements,
        solution.acceptable.map_or_else(|| "?".into(), |a| a.to_string())
    ));
    let nash = solution
        .nash
        .as_ref()
        .context("the demo scenario has a Nash point")?;
    // The held scenario orders parties as the positions arrived in the mediator's record.
    let index_of = |party: &str| {
        held.parties
            .iter()
            .position(|p| p.name == party)
            .context("a sealed position")
    };
    let (us, iran) = (index_of("United States")?, index_of("Iran")?);
    n.say(format!(
        "  Pareto frontier: {} points; Nash bargaining point: United States {:.3}, Iran {:.3}.",
        solution.pareto.len(),
        nash.utilities[us],
        nash.utilities[iran]
    ));

    n.say("");
    n.say("── conditional offers (sealed; a hash commitment on the public record at once) ──────");
    let us_offer = Offer {
        promise: vec![cond("sanctions", &["phased_lift"])],
        condition: vec![
            cond("enrichment", &["cap_3_67"]),
            cond("verification", &["comprehensive", "additional_protocol"]),
        ],
    };
    let iran_offer = Offer {
        promise: vec![
            cond("enrichment", &["cap_3_67"]),
            cond("verification", &["additional_protocol"]),
        ],
        condition: vec![cond("sanctions", &["phased_lift", "full_lift"])],
    };
    let lone_offer = Offer {
        promise: vec![cond("detainees", &["full_exchange"])],
        condition: vec![cond("shipping", &["guarantee_and_drawdown"])],
    };
    cast.party("United States")?
        .table_offer(case, us_offer)
        .await?;
    n.say("  United States: \"we will phase out sanctions if Iran caps enrichment at 3.67% under strong verification\".");
    cast.party("Iran")?.table_offer(case, iran_offer).await?;
    n.say("  Iran: \"we will cap enrichment at 3.67% under the Additional Protocol if sanctions are lifted\".");
    let lone = cast.party("Iran")?.table_offer(case, lone_offer).await?;
    n.say("  Iran: \"we will exchange all detainees if American forces draw down\" — nobody offers that.");
    let opened = cast.mediator.match_offers(case).await?;
    sync_all(cast).await?;
    n.say(format!("  Pakistan's client finds {opened} matching pair: both offers open to both parties at once."));
    n.say(format!(
        "  The unmatched offer stays sealed: Washington and the observers hold only its commitment {}.",
        lone.short()
    ));

    n.say("");
    n.say("── direct talks, with both sides' signed consent ─────────────────────────────────");
    let direct = ChannelName::parse("direct").context("channel name")?;
    cast.mediator.propose_direct_talks(case, &direct).await?;
    for party in ["United States", "Iran"] {
        cast.party(party)?
            .consent_direct_talks(case, &direct)
            .await?;
        n.say(format!("  {party} consents to direct talks."));
    }
    cast.mediator.open_direct_talks(case, &direct).await?;
    sync_all(cast).await?;
    n.say("  Pakistan opens the direct channel: a new MLS group of both delegations and the mediator.");
    cast.party("United States")?
        .send(case, &direct, DIRECT_TALK[0])
        .await?;
    cast.party("Iran")?.sync(case).await?;
    cast.party("Iran")?
        .send(case, &direct, DIRECT_TALK[1])
        .await?;
    n.say(format!(
        "  United States → Iran [direct]: \"{}\"",
        DIRECT_TALK[0]
    ));
    n.say(format!(
        "  Iran → United States [direct]: \"{}\"",
        DIRECT_TALK[1]
    ));

    n.say("");
    n.say("── the single negotiating text ──────────────────────────────────────────────────");
    // The opening text: the terms of the matched offers, and the middle option elsewhere.
    let mut opening = Package::from_pairs(
        held.issues
            .iter()
            .map(|i| (i.id.as_str(), i.options[i.options.len() / 2].id.as_str())),
    );
    for (issue, option) in [
        ("enrichment", "cap_3_67"),
        ("verification", "additional_protocol"),
        ("sanctions", "phased_lift"),
    ] {
        opening.insert(issue, option);
    }
    let mut agreed = None;
    for round in 1..=DRAFTS_MAX {
        cast.mediator.sync(case).await?;
        let (clauses, how) = if round == 1 {
            let clauses = backchannel_client::procedure::clauses_for(&held.issues, &opening);
            (
                clauses,
                "Pakistan's opening text, from the matched offers and middle ground".to_owned(),
            )
        } else {
            let proposal = cast.mediator.propose_next_draft(case)?;
            let how = format!(
                "the engine's next text: {} change(s), {:.1}% of the best Nash product, {} of {} objections met",
                proposal.engine.changes.len(),
                proposal.engine.nash_share * 100.0,
                proposal.engine.objections_met,
                proposal.engine.objections_total
            );
            for change in &proposal.engine.changes {
                n.say(format!(
                    "    {}: {} → {} ({})",
                    change.issue, change.from, change.to, change.explanation
                ));
            }
            for departure in &proposal.departs_from_offers {
                n.say(format!("    Pakistan is warned: {departure}."));
            }
            (proposal.draft.clauses, how)
        };
        let version = cast.mediator.next_draft_version(case)?;
        let title = format!("Framework for a diplomatic track, version {version}");
        let draft = cast.mediator.issue_draft(case, &title, clauses).await?;
        let package = draft.package();
        let requirements = &cast.mediator.state(case)?.procedure.requirements;
        let met = requirements
            .iter()
            .filter(|r| meets(&r.requirement, &package))
            .count();
        n.say(format!(
            "  Draft {} ({how}); utilities United States {:.3}, Iran {:.3}; meets {met} of {} requirements.",
            draft.version,
            utility(&held, us, &package),
            utility(&held, iran, &package),
            requirements.len()
        ));
        let mut all_accept = true;
        for (party, index) in [("United States", us), ("Iran", iran)] {
            let own = utility(&held, index, &package);
            // A side accepts the whole text once it holds its fair share (its utility at the
            // Nash point, less a little); before that it answers clause by clause from its
            // own profile, preferring its best option where a clause falls short.
            let fair = nash.utilities[index] - 0.01;
            let answers: std::collections::BTreeMap<String, ClauseAnswer> =
                if round > 1 && own >= fair {
                    draft
                        .clauses
                        .iter()
                        .map(|c| (c.id.clone(), ClauseAnswer::Accept))
                        .collect()
                } else {
                    let response =
                        backchannel_formula::draft::simulated_response(&held, index, &package, 0.9);
                    draft
                        .clauses
                        .iter()
                        .map(|c| {
                            let answer = match response.answers.get(&c.id) {
                                Some(backchannel_formula::Answer::Prefer(option)) => {
                                    ClauseAnswer::Prefer {
                                        option: option.clone(),
                                    }
                                }
                                Some(backchannel_formula::Answer::Object) => ClauseAnswer::Object {
                                    reason: "unacceptable".into(),
                                },
                                _ => ClauseAnswer::Accept,
                            };
                            (c.id.clone(), answer)
                        })
                        .collect()
                };
            let objections = answers
                .values()
                .filter(|a| !matches!(a, ClauseAnswer::Accept))
                .count();
            all_accept &= objections == 0;
            cast.party(party)?
                .answer_draft(case, draft.version, answers)
                .await?;
            n.say(format!(
                "    {party} answers, to Pakistan only: {} clause(s) accepted, {objections} with another option preferred.",
                draft.clauses.len() - objections
            ));
        }
        cast.mediator.sync(case).await?;
        if all_accept && cast.mediator.draft_agreed(case, draft.version)? {
            n.say(format!(
                "  Both sides accept draft {} as a whole: nothing was agreed until everything was.",
                draft.version
            ));
            agreed = Some(draft);
            break;
        }
    }
    let Some(draft) = agreed else {
        bail!("the drafts did not converge in {DRAFTS_MAX} rounds");
    };
    for clause in &draft.clauses {
        n.say(format!("    · {}", clause.text));
    }

    n.say("");
    n.say("── signature and publication ─────────────────────────────────────────────────────");
    let guarantors = cast.observers.iter().map(|o| o.key()).collect();
    let agreement = Agreement {
        title: AGREEMENT_TITLE.into(),
        clauses: draft.clauses.clone(),
        guarantors,
        plan: None,
    };
    let hash = cast.mediator.table_agreement(case, agreement).await?;
    n.say(format!("  Pakistan tables the final text for signature ({}), the Gulf observers invited as guarantors.", hash.short()));
    let early = cast.mediator.publish_agreement(case).await;
    if let Err(e) = early {
        n.say(format!(
            "  Publishing before anyone has signed is refused: {}.",
            e.code()
        ));
    }
    for party in ["United States", "Iran"] {
        cast.party(party)?.sync(case).await?;
        cast.party(party)?.sign_agreement(case).await?;
        n.say(format!("  {party} signs."));
    }
    cast.mediator.sign_agreement(case).await?;
    n.say("  Pakistan signs as witness.");
    cast.mediator.publish_agreement(case).await?;
    n.say("  Every required signature present: the agreement enters the public record.");
    for observer in cast.observers.iter_mut() {
        observer.sync(case).await?;
        observer.guarantee_agreement(case).await?;
        n.say(format!(
            "  {} reads it on the public record and co-signs as guarantor.",
            observer.name()
        ));
    }
    sync_all(cast).await?;
    for observer in &cast.observers {
        let state = observer.state(case)?;
        let published = state
            .procedure
            .agreement
            .as_ref()
            .filter(|a| a.published)
            .context("published")?;
        let package = Package::from_pairs(
            published
                .agreement
                .clauses
                .iter()
                .filter_map(|c| Some((c.issue.clone()?, c.option.clone()?))),
        );
        let mine: Vec<&backchannel_core::procedure::RegisteredRequirement> = state
            .procedure
            .requirements
            .iter()
            .filter(|r| r.by == observer.key())
            .collect();
        let met = mine
            .iter()
            .filter(|r| meets(&r.requirement, &package))
            .count();
        n.say(format!(
            "  {}: {} signatures verify from the public record alone; its requirements met: {met} of {}.",
            observer.name(),
            published.signatures.len(),
            mine.len()
        ));
        if met != mine.len() {
            bail!("{}'s requirements are not all met", observer.name());
        }
    }
    Ok(())
}
