//! The fast solver against the brute-force enumerator on thousands of random small scenarios.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use backchannel_formula::brute;
use backchannel_formula::synth::{self, Shape};
use backchannel_formula::{Count, Scenario, Solution, SolveOptions, solve};
use proptest::prelude::*;

fn exact(c: Count) -> u128 {
    match c {
        Count::Exact(n) => n,
        Count::Approx(x) => panic!("approximate count {x}"),
    }
}

/// Asserts that every count, the frontier and every fair point equal the enumerator's.
pub fn check_against_brute(s: &Scenario, sol: &Solution) {
    let b = brute::enumerate(s).unwrap();
    assert_eq!(exact(sol.packages_total), b.total, "packages_total");
    assert_eq!(
        exact(sol.within_red_lines),
        b.within_red_lines,
        "within_red_lines"
    );
    assert_eq!(
        exact(sol.meeting_requirements),
        b.meeting_requirements,
        "meeting_requirements"
    );
    assert_eq!(exact(sol.acceptable.unwrap()), b.acceptable, "acceptable");
    assert!(sol.exact);
    let ours: BTreeMap<Vec<i64>, u128> = sol
        .fixed
        .iter()
        .cloned()
        .zip(sol.pareto.iter().map(|p| exact(p.count)))
        .collect();
    assert_eq!(ours.len(), sol.pareto.len(), "duplicate frontier vectors");
    assert_eq!(ours, b.frontier, "frontier");
    // Each representative package really has its vector and is acceptable.
    let m = backchannel_formula::model::Model::new(s);
    for (idx, u) in sol.indices.iter().zip(&sol.fixed) {
        assert!(m.feasible(idx));
        assert_eq!(&m.utilities(idx), u);
    }
    let points = [
        &sol.nash,
        &sol.kalai_smorodinsky,
        &sol.egalitarian,
        &sol.utilitarian,
    ];
    for (k, p) in points.iter().enumerate() {
        let want = &b.points[k];
        match p {
            None => assert!(want.is_empty(), "point {k} missing"),
            Some(fp) => {
                let got: Vec<Vec<i64>> = fp.ties.iter().map(|&i| sol.fixed[i].clone()).collect();
                let mut got_sorted = got.clone();
                got_sorted.sort();
                let mut want_sorted = want.clone();
                want_sorted.sort();
                assert_eq!(got_sorted, want_sorted, "point {k} ties");
            }
        }
    }
}

fn shape_strategy() -> impl Strategy<Value = Shape> {
    (
        2usize..=4,
        1usize..=5,
        1usize..=4,
        any::<bool>(),
        0usize..=2,
        0usize..=3,
        0usize..=3,
    )
        .prop_map(
            |(parties, issues, options, coarse, red_lines, requirements, res)| Shape {
                parties,
                issues,
                options,
                vary_options: true,
                coarse,
                red_lines,
                requirements,
                reservation_max: [0.0, 0.3, 0.5, 0.7][res],
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn solve_equals_brute_force(seed in any::<u64>(), shape in shape_strategy()) {
        let s = synth::random(seed, shape);
        s.validate().unwrap();
        let sol = solve(&s, &SolveOptions::default());
        check_against_brute(&s, &sol);
    }
}

#[test]
fn empty_acceptable_set_is_explained() {
    let mut s = synth::random(
        7,
        Shape {
            parties: 2,
            issues: 3,
            options: 3,
            vary_options: false,
            coarse: false,
            red_lines: 0,
            requirements: 0,
            reservation_max: 0.0,
        },
    );
    s.parties[0].reservation = 1.0;
    s.parties[1].reservation = 1.0;
    let sol = solve(&s, &SolveOptions::default());
    assert!(sol.pareto.is_empty());
    assert!(sol.nash.is_none());
    assert!(sol.explanations.empty.is_some());
}
