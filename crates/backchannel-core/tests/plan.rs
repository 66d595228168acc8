//! The implementation plan: every trigger kind reaches its milestone exactly when it holds,
//! and not before; invalid plans are refused with a sentence; scores follow the Peace Accords
//! Matrix.
#![allow(clippy::unwrap_used)]

use backchannel_core::plan::{Facts, Plan, PlanError, Said, Trigger, date_ms, status};

const PLAN: &[u8] = include_bytes!("../plans/us-iran.json");
const DAY: u64 = 86_400_000;

fn plan() -> Plan {
    Plan::parse(PLAN).unwrap()
}

fn said(commitment: &str, by: &str, status: u8, at_ms: u64) -> Said {
    Said {
        commitment: commitment.into(),
        by: by.into(),
        status,
        at_ms,
    }
}

fn reached(plan: &Plan, facts: &Facts, now: u64) -> Vec<(String, Option<u64>)> {
    status(plan, facts, now)
        .milestones
        .into_iter()
        .map(|m| (m.id, m.reached_at_ms))
        .collect()
}

#[test]
fn each_milestone_is_reached_exactly_when_its_trigger_holds() {
    let plan = plan();
    let published = date_ms("2027-01-15").unwrap();
    let mut facts = Facts {
        agreement_ms: Some(published),
        ..Facts::default()
    };
    let adoption = published + 90 * DAY;
    let at = |now| reached(&plan, &facts, now);
    // Nothing before the offset has run.
    assert_eq!(at(adoption - 1)[0], ("adoption".into(), None));
    assert_eq!(at(adoption)[0], ("adoption".into(), Some(adoption)));

    // Implementation Day: when the inspector has attested both steps complete, not before;
    // a report by Iran itself counts for nothing, nor does an incomplete attestation.
    let first = adoption + 20 * DAY;
    let second = adoption + 45 * DAY;
    facts.reports.push(said("enrichment_cap", "Iran", 3, first));
    facts
        .attestations
        .push(said("enrichment_cap", "Inspector", 3, first));
    facts
        .attestations
        .push(said("stockpile", "Inspector", 2, first));
    let at = |facts: &Facts, now| reached(&plan, facts, now);
    assert_eq!(at(&facts, second)[1].1, None);
    facts
        .attestations
        .push(said("stockpile", "Inspector", 3, second));
    assert_eq!(
        at(&facts, second - 1)[1].1,
        None,
        "not before the attestation"
    );
    assert_eq!(at(&facts, second)[1].1, Some(second));

    // Transition Day: the earliest of eight years after adoption and the broader conclusion.
    let eight_years = adoption + 2922 * DAY;
    assert_eq!(at(&facts, eight_years - 1)[2].1, None);
    assert_eq!(at(&facts, eight_years)[2].1, Some(eight_years));
    let conclusion = adoption + 400 * DAY;
    facts
        .attestations
        .push(said("broader_conclusion", "Inspector", 3, conclusion));
    assert_eq!(at(&facts, eight_years)[2].1, Some(conclusion));
    assert_eq!(at(&facts, conclusion - 1)[2].1, None);
}

#[test]
fn dates_and_all_of_hold_from_their_time_on() {
    let mut plan = plan();
    plan.milestones[0].trigger = Trigger::AllOf(vec![
        Trigger::Date("2027-03-01".into()),
        Trigger::Offset {
            from: "agreement".into(),
            days: 10,
        },
    ]);
    plan.validate().unwrap();
    let march = date_ms("2027-03-01").unwrap();
    let facts = Facts {
        agreement_ms: Some(march - 30 * DAY),
        ..Facts::default()
    };
    assert_eq!(reached(&plan, &facts, march - 1)[0].1, None);
    assert_eq!(reached(&plan, &facts, march)[0].1, Some(march));
    let late = Facts {
        agreement_ms: Some(march + DAY),
        ..Facts::default()
    };
    assert_eq!(
        reached(&plan, &late, march + 11 * DAY)[0].1,
        Some(march + 11 * DAY)
    );
    assert_eq!(date_ms("1970-01-02"), Some(DAY));
    assert_eq!(date_ms("2024-02-29").map(|ms| ms % DAY), Some(0));
    for bad in [
        "2023-02-29",
        "2027-13-01",
        "27-01-01",
        "2027-1-1",
        "1969-12-31",
        "",
    ] {
        assert_eq!(date_ms(bad), None, "{bad}");
    }
}

#[test]
fn invalid_plans_are_refused_with_a_sentence() {
    let base: serde_json::Value = serde_json::from_slice(PLAN).unwrap();
    let broken = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut plan = base.clone();
        edit(&mut plan);
        Plan::parse(&serde_json::to_vec(&plan).unwrap()).unwrap_err()
    };
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "format",
            Box::new(|p| p["format"] = "backchannel-plan/9".into()),
        ),
        (
            "depends on itself",
            Box::new(|p| {
                p["milestones"][0]["trigger"] =
                    serde_json::json!({"offset": {"from": "transition", "days": 1}});
            }),
        ),
        (
            "does not define",
            Box::new(|p| {
                p["deadlines"][0]["commitment"] = "nowhere".into();
            }),
        ),
        (
            "not named to attest",
            Box::new(|p| {
                p["milestones"][1]["trigger"]["attestation"]["commitments"] =
                    serde_json::json!(["sanctions_relief"]);
            }),
        ),
        (
            "two commitments",
            Box::new(|p| {
                let first = p["commitments"][0].clone();
                p["commitments"].as_array_mut().unwrap().push(first);
            }),
        ),
        (
            "binds no party",
            Box::new(|p| p["commitments"][0]["obligors"] = serde_json::json!([])),
        ),
        (
            "not a date",
            Box::new(|p| {
                p["milestones"][0]["trigger"] = serde_json::json!({"date": "2027-02-30"});
            }),
        ),
        ("malformed", Box::new(|p| p["surprise"] = true.into())),
    ];
    for (needle, edit) in cases {
        let PlanError(why) = broken(&*edit);
        assert!(why.contains(needle), "{needle}: {why}");
    }
}

#[test]
fn scores_count_the_latest_attestation_else_the_latest_report() {
    let plan = plan();
    let now = date_ms("2028-01-01").unwrap();
    let facts = Facts {
        agreement_ms: Some(date_ms("2027-01-15").unwrap()),
        reports: vec![
            said("enrichment_cap", "Iran", 3, now - 10 * DAY),
            said("sanctions_relief", "United States", 1, now - 20 * DAY),
            said("sanctions_relief", "United States", 2, now - 5 * DAY),
        ],
        attestations: vec![said("enrichment_cap", "Inspector", 2, now - 3 * DAY)],
        disputes: vec![],
        extensions: vec![],
    };
    let s = status(&plan, &facts, now);
    let by_id = |id: &str| s.commitments.iter().find(|c| c.id == id).unwrap();
    let cap = by_id("enrichment_cap");
    assert_eq!(
        (cap.status, cap.reported, cap.attested),
        (2, Some(3), Some(2))
    );
    assert!(
        cap.discrepancy,
        "Iran says complete, the inspector intermediate"
    );
    assert_eq!(by_id("sanctions_relief").status, 2);
    assert_eq!(by_id("regional_conduct").status, 0);
    // 2 + 2 of 5 × 3.
    assert!((s.score - 4.0 / 15.0).abs() < 1e-12, "{}", s.score);
    assert!((s.themes["nuclear"] - 2.0 / 9.0).abs() < 1e-12);
    assert!((s.themes["sanctions"] - 2.0 / 3.0).abs() < 1e-12);
    // Regional conduct was due 30 days after adoption, and is not complete.
    let regional = by_id("regional_conduct");
    let adoption = date_ms("2027-01-15").unwrap() + 90 * DAY;
    assert_eq!(regional.due_ms, Some(adoption + 30 * DAY));
    assert!(regional.overdue);
    // Sanctions relief is due on Implementation Day, which has not come.
    assert_eq!(by_id("sanctions_relief").due_ms, None);
    // An extension granted moves the deadline, and the commitment is no longer overdue.
    let extended = Facts {
        extensions: vec![("regional_conduct".into(), 60)],
        ..facts.clone()
    };
    let later = status(&plan, &extended, adoption + 31 * DAY);
    let regional = later
        .commitments
        .iter()
        .find(|c| c.id == "regional_conduct")
        .unwrap();
    assert_eq!(regional.due_ms, Some(adoption + 90 * DAY));
    assert!(!regional.overdue);
}
