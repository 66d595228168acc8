//! The mediation procedure against a real hub, real MLS and real keys: every rule that
//! DESIGN.md's guarantees rest on, attacked by the participant it is meant to stop.
#![allow(clippy::unwrap_used)]

use backchannel_client::Client;
use backchannel_core::plan::Plan;
use backchannel_core::procedure::{Agreement, ClauseAnswer, Offer, OfferStatus};
use backchannel_core::{ActBody, CaseId, CaseState, ChannelName, Phase};
use backchannel_formula::Condition;

mod common;

use common::{Cast, channel, charter, chartered, scenario};

fn log_len(client: &Client, case: CaseId) -> usize {
    client.read(case, None).unwrap().len()
}

/// Runs a refused step and checks it changed nothing in the actor's log.
async fn refused<F, T>(client: &mut Client, case: CaseId, code: &str, step: F)
where
    F: AsyncFnOnce(&mut Client) -> Result<T, backchannel_client::ClientError>,
    T: std::fmt::Debug,
{
    client.sync(case).await.unwrap();
    let before = log_len(client, case);
    let err = step(client).await.unwrap_err();
    assert_eq!(err.code(), code, "{err}");
    client.sync(case).await.unwrap();
    assert_eq!(
        log_len(client, case),
        before,
        "a refused act changed the log"
    );
}

#[tokio::test]
async fn nothing_goes_on_record_before_every_party_accepts_the_charter() {
    let mut c = Cast::convene().await;
    let case = c.case;
    refused(&mut c.mediator, case, "charter_not_in_force", async |m| {
        m.define_issues(case, scenario().issues).await
    })
    .await;
    c.mediator.propose_charter(case, charter()).await.unwrap();
    c.us.accept_charter(case).await.unwrap();
    // One party of two is not enough.
    refused(&mut c.us, case, "charter_not_in_force", async |us| {
        us.propose_agenda_item(case, "Bases", true).await
    })
    .await;
    // Accepting again is no error: the party already did, and is told by whom.
    refused(&mut c.us, case, "already_done", async |us| {
        us.accept_charter(case).await
    })
    .await;
    c.iran.accept_charter(case).await.unwrap();
    c.us.propose_agenda_item(case, "Regional conduct and threats to bases", true)
        .await
        .unwrap();
}

#[tokio::test]
async fn roles_are_enforced() {
    let mut c = chartered().await;
    let case = c.case;
    let draft = backchannel_client::procedure::clauses_for(&scenario().issues, &scenario_package());
    // A party cannot issue a draft, convey, or open a channel.
    let us_channel = channel("united-states");
    refused(&mut c.us, case, "mediator_only", async |us| {
        us.sync(case).await?;
        us.post(
            case,
            &us_channel,
            ActBody::DraftIssued {
                draft: backchannel_core::procedure::Draft {
                    version: 1,
                    title: "mine".into(),
                    clauses: draft.clone(),
                },
            },
        )
        .await
    })
    .await;
    refused(&mut c.us, case, "mediator_only", async |us| {
        us.convey_paraphrase(case, &channel("united-states"), &channel("iran"), "psst")
            .await
    })
    .await;
    refused(&mut c.iran, case, "mediator_only", async |iran| {
        iran.propose_direct_talks(case, &channel("direct")).await
    })
    .await;
    // An observer posts nothing but requirements and public statements.
    refused(&mut c.uae, case, "observer_limited", async |uae| {
        uae.propose_agenda_item(case, "Us too", false).await
    })
    .await;
    refused(&mut c.uae, case, "observer_limited", async |uae| {
        uae.consent_direct_talks(case, &channel("direct")).await
    })
    .await;
    let requirement = scenario().requirements[0].clone();
    c.uae
        .register_requirement(
            case,
            requirement,
            "The Gulf states' security depends on it.",
        )
        .await
        .unwrap();
    c.uae
        .send(case, &ChannelName::public(), "We await the outcome.")
        .await
        .unwrap();
}

fn scenario_package() -> backchannel_formula::Package {
    let s = scenario();
    backchannel_formula::solve(&s, &backchannel_formula::SolveOptions::default())
        .nash
        .unwrap()
        .package
}

#[tokio::test]
async fn an_agenda_item_and_direct_talks_need_every_party() {
    let mut c = chartered().await;
    let case = c.case;
    c.us.propose_agenda_item(case, "Regional conduct and threats to bases", true)
        .await
        .unwrap();
    c.sync_all().await;
    let (item, entry) = c
        .iran
        .state(case)
        .unwrap()
        .procedure
        .agenda
        .iter()
        .next()
        .map(|(k, v)| (*k, v.clone()))
        .unwrap();
    assert!(
        entry.demand && !entry.adopted,
        "proposed by one party, not yet adopted"
    );
    c.iran.consent_agenda_item(case, item).await.unwrap();
    c.sync_all().await;
    assert!(c.uae.state(case).unwrap().procedure.agenda[&item].adopted);

    let direct = channel("direct");
    c.mediator
        .propose_direct_talks(case, &direct)
        .await
        .unwrap();
    c.us.consent_direct_talks(case, &direct).await.unwrap();
    refused(&mut c.mediator, case, "consent_missing", async |m| {
        m.open_direct_talks(case, &direct).await
    })
    .await;
    c.iran.consent_direct_talks(case, &direct).await.unwrap();
    c.mediator.open_direct_talks(case, &direct).await.unwrap();
    c.sync_all().await;
    assert_eq!(c.uae.state(case).unwrap().phase, Phase::Direct);
    c.us.send(case, &direct, "Face to face, at last.")
        .await
        .unwrap();
    c.iran.sync(case).await.unwrap();
    let seen: Vec<String> = c
        .iran
        .read(case, Some(&direct))
        .unwrap()
        .into_iter()
        .map(|l| l.text)
        .collect();
    assert!(seen.contains(&"Face to face, at last.".to_owned()));
    assert!(
        !c.uae.readable_channels(case).unwrap().contains(&direct),
        "observers stay out of direct talks"
    );
}

fn cond(issue: &str, options: &[&str]) -> Condition {
    Condition {
        issue: issue.into(),
        options: options.iter().map(|o| (*o).to_owned()).collect(),
    }
}

fn texts_of(client: &Client, case: CaseId) -> String {
    client
        .read(case, None)
        .unwrap()
        .into_iter()
        .map(|l| l.text)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn sealed_offers_open_only_in_matching_pairs() {
    let mut c = chartered().await;
    let case = c.case;
    // Matching: the US phases sanctions relief if Iran caps enrichment at 3.67%, and back.
    let us_offer = Offer {
        promise: vec![cond("sanctions", &["phased_lift"])],
        condition: vec![cond("enrichment", &["cap_3_67"])],
    };
    let iran_offer = Offer {
        promise: vec![cond("enrichment", &["cap_3_67"])],
        condition: vec![cond("sanctions", &["phased_lift", "full_lift"])],
    };
    // Unmatched: Iran releases detainees if the bases are drawn down — nobody offers that.
    let lone = Offer {
        promise: vec![cond("detainees", &["full_exchange"])],
        condition: vec![cond("shipping", &["guarantee_and_drawdown"])],
    };
    let us_commitment = c.us.table_offer(case, us_offer).await.unwrap();
    let iran_commitment = c.iran.table_offer(case, iran_offer).await.unwrap();
    let lone_commitment = c.iran.table_offer(case, lone).await.unwrap();
    assert_eq!(c.mediator.match_offers(case).await.unwrap(), 1);
    c.sync_all().await;

    for party in [&c.us, &c.iran] {
        let offers = &party.state(case).unwrap().procedure.offers;
        assert_eq!(offers[&us_commitment].status, OfferStatus::Opened);
        assert_eq!(offers[&iran_commitment].status, OfferStatus::Opened);
        assert!(offers[&us_commitment].offer.is_some() && offers[&iran_commitment].offer.is_some());
    }
    // The unmatched offer: the other party and the observer hold its commitment only.
    for outsider in [&c.us, &c.uae] {
        let record = &outsider.state(case).unwrap().procedure.offers[&lone_commitment];
        assert_eq!(record.status, OfferStatus::Open);
        assert!(record.offer.is_none());
        assert!(!texts_of(outsider, case).contains("detainees = full_exchange"));
    }
    assert!(
        c.mediator.state(case).unwrap().procedure.offers[&lone_commitment]
            .offer
            .is_some()
    );
    // The public record says which offers matched, never their terms.
    let seen_by_observer = &c.uae.state(case).unwrap().procedure.offers[&us_commitment];
    assert_eq!(seen_by_observer.status, OfferStatus::Opened);
    assert!(seen_by_observer.offer.is_none());
    // Nor the hub: no offer term appears in its storage.
    let mut storage = std::fs::read(&c.db).unwrap();
    storage.extend(std::fs::read(c.db.with_extension("sqlite-wal")).unwrap_or_default());
    for needle in ["full_exchange", "guarantee_and_drawdown", "phased_lift"] {
        assert!(
            !storage
                .windows(needle.len())
                .any(|w| w == needle.as_bytes()),
            "{needle} is at the hub"
        );
    }
    // Withdrawn before it matched, it can no longer be opened.
    c.iran.withdraw_offer(case, lone_commitment).await.unwrap();
    c.sync_all().await;
    assert_eq!(
        c.us.state(case).unwrap().procedure.offers[&lone_commitment].status,
        OfferStatus::Withdrawn
    );
}

#[tokio::test]
async fn an_offer_changed_after_its_commitment_is_caught() {
    let c = chartered().await;
    let mut us = c.us;
    let offer = Offer {
        promise: vec![cond("sanctions", &["phased_lift"])],
        condition: vec![cond("enrichment", &["cap_3_67"])],
    };
    let commitment = us.table_offer(c.case, offer).await.unwrap();
    us.sync(c.case).await.unwrap();
    // The same party now tables a different offer under the old commitment's salt: it
    // matches no commitment, so the rules refuse it.
    let changed = Offer {
        promise: vec![cond("sanctions", &["humanitarian_only"])],
        condition: vec![cond("enrichment", &["zero"])],
    };
    let channel = channel("united-states");
    let tabled = us
        .acts(c.case, |a| {
            matches!(a.act.body, ActBody::OfferTabled { .. })
        })
        .unwrap()
        .remove(0);
    let ActBody::OfferTabled { salt, .. } = tabled.act.body else {
        unreachable!()
    };
    assert_ne!(changed.commitment(&salt), commitment);
    let err = us
        .check_next(
            c.case,
            &channel,
            &ActBody::OfferTabled {
                offer: changed,
                salt,
            },
        )
        .unwrap_err();
    assert_eq!(err.code(), "unknown_reference");
}

#[tokio::test]
async fn originals_are_conveyed_only_with_their_authors_consent() {
    let mut c = chartered().await;
    let case = c.case;
    let (us_ch, iran_ch) = (channel("united-states"), channel("iran"));
    let line =
        c.us.send(case, &us_ch, "We can accept a phased lifting of sanctions.")
            .await
            .unwrap();
    c.mediator.sync(case).await.unwrap();
    refused(&mut c.mediator, case, "consent_missing", async |m| {
        m.convey_original(case, &us_ch, line.index, &iran_ch).await
    })
    .await;
    c.us.consent_to_convey(case, line.index, &iran_ch)
        .await
        .unwrap();
    c.mediator
        .convey_original(case, &us_ch, line.index, &iran_ch)
        .await
        .unwrap();
    c.mediator
        .convey_paraphrase(case, &iran_ch, &us_ch, "Tehran hears you.")
        .await
        .unwrap();
    c.iran.sync(case).await.unwrap();
    let conveyed = c
        .iran
        .acts(case, |a| matches!(a.act.body, ActBody::Conveyed { .. }))
        .unwrap()
        .remove(0);
    let ActBody::Conveyed {
        conveyance: backchannel_core::procedure::Conveyance::Original { original, .. },
        ..
    } = conveyed.act.body
    else {
        panic!("not an original")
    };
    let original = original.verify().unwrap();
    assert_eq!(
        original.act.author,
        c.us.key(),
        "the receiver verifies it as the author's"
    );
    assert_eq!(
        original.act.body,
        ActBody::Message {
            text: "We can accept a phased lifting of sanctions.".into()
        }
    );
}

/// The seed's cast with an agreement signed by every party and the mediator, and published.
async fn published() -> Cast {
    published_with(None).await
}

/// The same, the agreement carrying `plan`.
async fn published_with(plan: Option<Plan>) -> Cast {
    let mut c = chartered().await;
    let case = c.case;
    for (client, id) in [(&mut c.us, "us"), (&mut c.iran, "iran")] {
        let position = scenario().parties.into_iter().find(|p| p.id == id).unwrap();
        client.seal_position(case, position).await.unwrap();
    }
    c.mediator.sync(case).await.unwrap();
    let proposal = c.mediator.propose_next_draft(case).unwrap();
    let draft = c
        .mediator
        .issue_draft(case, "Text 1", proposal.draft.clauses.clone())
        .await
        .unwrap();
    for party in [&mut c.us, &mut c.iran] {
        party.sync(case).await.unwrap();
        let answers = draft
            .clauses
            .iter()
            .map(|cl| (cl.id.clone(), ClauseAnswer::Accept))
            .collect();
        party
            .answer_draft(case, draft.version, answers)
            .await
            .unwrap();
    }
    c.mediator.sync(case).await.unwrap();
    let agreement = Agreement {
        title: "Framework".into(),
        clauses: draft.clauses.clone(),
        guarantors: vec![],
        plan,
    };
    c.mediator.table_agreement(case, agreement).await.unwrap();
    for party in [&mut c.us, &mut c.iran] {
        party.sync(case).await.unwrap();
        party.sign_agreement(case).await.unwrap();
    }
    c.mediator.sign_agreement(case).await.unwrap();
    c.mediator.publish_agreement(case).await.unwrap();
    c.sync_all().await;
    c
}

/// The seed story's plan, its verifier the case's observer.
fn plan_for(verifier: &str) -> Plan {
    let text =
        include_str!("../../backchannel-core/plans/us-iran.json").replace("Inspector", verifier);
    Plan::parse(text.as_bytes()).unwrap()
}

#[tokio::test]
async fn a_plan_tabled_with_the_agreement_is_signed_with_it_and_in_force_from_publication() {
    let verifier = "United Arab Emirates";
    let mut c = published_with(Some(plan_for(verifier))).await;
    let case = c.case;
    assert_eq!(c.uae.name(), verifier);
    for reader in [&c.mediator, &c.us, &c.iran, &c.uae] {
        let implementation = reader
            .state(case)
            .unwrap()
            .procedure
            .implementation
            .clone()
            .unwrap();
        assert!(implementation.in_force, "{}", reader.name());
    }
    // Nothing is left to accept or propose: the signatures covered the plan.
    refused(&mut c.us, case, "conflict", async |us| {
        us.accept_plan(case).await
    })
    .await;
    refused(&mut c.mediator, case, "conflict", async |m| {
        m.propose_plan(case, plan_for("United Arab Emirates")).await
    })
    .await;
    c.uae.attest(case, "enrichment_cap", 3, "").await.unwrap();
}

#[tokio::test]
async fn implementation_is_reported_by_obligors_attested_by_named_verifiers_and_scored() {
    let mut c = published().await;
    let case = c.case;
    let verifier = c.uae.name().to_owned();
    // No plan before publication is possible, and none is in force until every party accepts.
    refused(&mut c.us, case, "mediator_only", async |us| {
        us.propose_plan(case, plan_for(&verifier)).await
    })
    .await;
    c.mediator
        .propose_plan(case, plan_for(&verifier))
        .await
        .unwrap();
    c.sync_all().await;
    refused(&mut c.us, case, "plan_not_in_force", async |us| {
        us.report_progress(case, "sanctions_relief", 1, "").await
    })
    .await;
    c.us.accept_plan(case).await.unwrap();
    refused(&mut c.us, case, "already_done", async |us| {
        us.accept_plan(case).await
    })
    .await;
    c.iran.accept_plan(case).await.unwrap();
    c.sync_all().await;

    // Each refusal has its own code and changes nothing.
    refused(&mut c.iran, case, "party_cannot_attest", async |iran| {
        iran.attest(case, "enrichment_cap", 3, "we checked ourselves")
            .await
    })
    .await;
    refused(&mut c.uae, case, "not_a_verifier", async |uae| {
        uae.attest(case, "sanctions_relief", 3, "").await
    })
    .await;
    refused(&mut c.us, case, "not_obligor", async |us| {
        us.report_progress(case, "enrichment_cap", 0, "").await
    })
    .await;
    refused(&mut c.us, case, "invalid_act", async |us| {
        us.report_progress(case, "sanctions_relief", 4, "").await
    })
    .await;

    // Implementation Day comes with the verifier's attestations of Iran's first steps.
    let before = c
        .mediator
        .implementation_status(case, u64::MAX / 2)
        .unwrap()
        .unwrap();
    assert!(!before.milestones[1].reached);
    c.iran
        .report_progress(case, "enrichment_cap", 3, "cascades reconfigured")
        .await
        .unwrap();
    c.uae
        .attest(case, "enrichment_cap", 3, "inspection report 1")
        .await
        .unwrap();
    c.uae
        .attest(case, "stockpile", 3, "shipment verified")
        .await
        .unwrap();
    c.us.report_progress(case, "sanctions_relief", 2, "first phase lifted")
        .await
        .unwrap();
    c.sync_all().await;
    let now = backchannel_client::hub::now_ms();
    for reader in [&c.mediator, &c.us, &c.iran, &c.uae] {
        let status = reader.implementation_status(case, now).unwrap().unwrap();
        let implementation = &status.milestones[1];
        assert_eq!(implementation.id, "implementation");
        assert!(implementation.reached, "{}", reader.name());
        assert!(
            !status.milestones[0].reached,
            "adoption comes 90 days after publication"
        );
        let by_id = |id: &str| status.commitments.iter().find(|c| c.id == id).unwrap();
        assert_eq!(by_id("enrichment_cap").status, 3);
        assert_eq!(by_id("sanctions_relief").status, 2);
        // Sanctions relief falls due on Implementation Day.
        assert_eq!(
            by_id("sanctions_relief").due_ms,
            implementation.reached_at_ms
        );
        // 3 + 3 + 2 of 5 × 3.
        assert!(
            (status.score - 8.0 / 15.0).abs() < 1e-12,
            "{}",
            status.score
        );
    }
}

#[tokio::test]
async fn the_agreement_is_published_only_with_every_signature_and_verifies_from_the_public_record()
{
    let mut c = chartered().await;
    let case = c.case;
    for (client, id) in [(&mut c.us, "us"), (&mut c.iran, "iran")] {
        let position = scenario().parties.into_iter().find(|p| p.id == id).unwrap();
        client.seal_position(case, position).await.unwrap();
    }
    c.uae
        .register_requirement(
            case,
            scenario().requirements[0].clone(),
            "No interference in our affairs.",
        )
        .await
        .unwrap();
    c.mediator.sync(case).await.unwrap();
    // The positions are the mediator's alone.
    assert_eq!(c.mediator.state(case).unwrap().procedure.positions.len(), 2);
    assert_eq!(c.us.state(case).unwrap().procedure.positions.len(), 1);
    assert!(c.uae.state(case).unwrap().procedure.positions.is_empty());

    let proposal = c.mediator.propose_next_draft(case).unwrap();
    assert!(proposal.requirements_unmet.is_empty(), "{proposal:?}");
    let draft = c
        .mediator
        .issue_draft(case, "Text 1", proposal.draft.clauses.clone())
        .await
        .unwrap();
    for party in [&mut c.us, &mut c.iran] {
        party.sync(case).await.unwrap();
        let answers = draft
            .clauses
            .iter()
            .map(|cl| (cl.id.clone(), ClauseAnswer::Accept))
            .collect();
        party
            .answer_draft(case, draft.version, answers)
            .await
            .unwrap();
    }
    c.mediator.sync(case).await.unwrap();
    assert!(c.mediator.draft_agreed(case, draft.version).unwrap());

    let agreement = Agreement {
        title: "Framework".into(),
        clauses: draft.clauses.clone(),
        guarantors: vec![c.uae.key()],
        plan: None,
    };
    c.mediator.table_agreement(case, agreement).await.unwrap();
    c.us.sync(case).await.unwrap();
    c.us.sign_agreement(case).await.unwrap();
    c.mediator.sign_agreement(case).await.unwrap();
    // Iran has not signed yet.
    refused(&mut c.mediator, case, "signature_missing", async |m| {
        m.publish_agreement(case).await
    })
    .await;
    c.iran.sync(case).await.unwrap();
    c.iran.sign_agreement(case).await.unwrap();
    c.mediator.publish_agreement(case).await.unwrap();
    c.uae.sync(case).await.unwrap();
    c.uae.guarantee_agreement(case).await.unwrap();

    // The observer holds the published agreement, and it verifies from the public record
    // alone: replay only the public acts.
    let public: Vec<_> = c
        .uae
        .verified_log(case)
        .unwrap()
        .into_iter()
        .filter(|a| a.act.channel.is_public())
        .collect();
    let replayed = CaseState::replay(&public, Some(c.mediator.key())).unwrap();
    let published = replayed.procedure.agreement.unwrap();
    assert!(published.published);
    assert_eq!(published.signatures.len(), 3);
    assert!(published.guaranteed_by.contains(&c.uae.key()));
    assert_eq!(replayed.phase, Phase::Public);
}

#[tokio::test]
async fn parallel_declarations_are_published_together() {
    let mut c = chartered().await;
    let case = c.case;
    c.us.table_declaration(
        case,
        "The United States will ease sanctions as verification proceeds.",
    )
    .await
    .unwrap();
    c.mediator.sync(case).await.unwrap();
    refused(&mut c.mediator, case, "signature_missing", async |m| {
        m.publish_declarations(case).await
    })
    .await;
    c.iran
        .table_declaration(case, "Iran will never seek a nuclear weapon.")
        .await
        .unwrap();
    c.mediator.publish_declarations(case).await.unwrap();
    c.uae.sync(case).await.unwrap();
    let state = c.uae.state(case).unwrap();
    assert!(state.procedure.declarations_published);
    assert_eq!(state.procedure.declarations.len(), 2);
}
