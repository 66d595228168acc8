//! Adjusted Winner properties and the single-text process.
#![allow(clippy::unwrap_used)]

use backchannel_formula::aw::adjusted_winner_points;
use backchannel_formula::draft::simulate;
use backchannel_formula::{Scenario, adjusted_winner, load};
use proptest::prelude::*;

fn points(raw: &[u32]) -> Vec<f64> {
    let sum: f64 = raw.iter().map(|&x| f64::from(x)).sum();
    raw.iter().map(|&x| f64::from(x) * 100.0 / sum).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn adjusted_winner_is_equitable_envy_free_and_efficient(
        pairs in proptest::collection::vec((1u32..100, 1u32..100), 1..10)
    ) {
        let a = points(&pairs.iter().map(|p| p.0).collect::<Vec<_>>());
        let b = points(&pairs.iter().map(|p| p.1).collect::<Vec<_>>());
        let ids: Vec<String> = (0..a.len()).map(|i| format!("i{i}")).collect();
        let out = adjusted_winner_points(&ids, &a, &b, ["a".into(), "b".into()]).unwrap();
        let [ta, tb] = out.totals;
        // equitable
        prop_assert!((ta - tb).abs() < 1e-6, "{ta} {tb}");
        // envy-free: each values its own share at least as much as the other's (own + other's = 100)
        prop_assert!(ta >= 50.0 - 1e-6 && tb >= 50.0 - 1e-6);
        // at most one split issue
        let splits = out.allocation.iter().filter(|s| s.first_share > 0.0 && s.first_share < 1.0).count();
        prop_assert!(splits <= 1);
        // efficient: every issue (partly) held by a has a ratio a/b at least that of every issue (partly) held by b
        for x in out.allocation.iter().filter(|s| s.first_share > 0.0) {
            for y in out.allocation.iter().filter(|s| s.first_share < 1.0) {
                prop_assert!(x.points[0] * y.points[1] >= y.points[0] * x.points[1] - 1e-9);
            }
        }
    }
}

#[test]
fn adjusted_winner_on_the_demo_scenario() {
    let s = Scenario::from_json_str(include_str!("../scenarios/us-iran.json")).unwrap();
    let out = adjusted_winner(&s).unwrap();
    assert!((out.totals[0] - out.totals[1]).abs() < 1e-6);
}

#[test]
fn single_text_reaches_the_nash_point_within_ten_drafts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut scenarios =
        vec![Scenario::from_json_str(include_str!("../scenarios/us-iran.json")).unwrap()];
    for name in ["IS_BT_Acquisition", "Grandma", "group2-dinner"] {
        scenarios.push(load(&dir.join(name)).unwrap());
    }
    for s in &scenarios {
        for seed in 0..5 {
            let trace = simulate(s, seed, 10);
            let last = *trace.last().unwrap();
            assert!(
                trace.len() <= 11 && last >= 0.995,
                "{:?}: {trace:?}",
                s.title
            );
        }
    }
}

/// At the Nash point, a party objects to three clauses. Held to the best Nash product, the
/// engine can only propose the same text again; by default it gives up share, down to its
/// floor, until it meets objections, and names whose.
#[test]
fn standing_objections_move_the_next_draft_by_default() {
    use backchannel_formula::draft::SHARES;
    use backchannel_formula::{Answer, DraftOptions, Response, SolveOptions, next_draft, solve};

    let s = Scenario::from_json_str(include_str!("../scenarios/us-iran.json")).unwrap();
    let sol = solve(&s, &SolveOptions::default());
    let nash = sol.nash.clone().unwrap();
    let objector = s.parties[1].id.clone();
    let answers = s
        .issues
        .iter()
        .take(3)
        .map(|i| (i.id.clone(), Answer::Object))
        .collect();
    let responses = [Response {
        party: objector.clone(),
        answers,
    }];
    let strict = DraftOptions {
        nash_share_min: SHARES[0],
    };
    let held = next_draft(&s, &sol, &nash.package, &responses, &strict).unwrap();
    assert_eq!(held.objections_total, 3);
    assert!(held.changes.is_empty(), "held to the Nash point: {held:?}");

    let moved = next_draft(
        &s,
        &sol,
        &nash.package,
        &responses,
        &DraftOptions::default(),
    )
    .unwrap();
    assert!(moved.objections_met > 0, "{moved:?}");
    assert!(!moved.changes.is_empty());
    assert!(moved.nash_share >= DraftOptions::default().nash_share_min - 1e-9);
    assert!(
        moved
            .changes
            .iter()
            .any(|c| c.explanation.contains(&format!("objection of {objector}"))),
        "{:?}",
        moved.changes
    );
}
