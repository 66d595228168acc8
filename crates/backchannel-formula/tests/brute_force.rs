//! The fast solver against the brute-force enumerator on thousands of random small scenarios.
#![allow(clippy::unwrap_used)]

mod common;

use backchannel_formula::count;
use backchannel_formula::model::Model;
use backchannel_formula::solve::solve_general;
use backchannel_formula::synth::{self, Shape};
use backchannel_formula::{SolveOptions, solve};
use common::{check_against_brute, exact};
use proptest::prelude::*;

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

    /// The counting programme (which solving uses for boxes of over `count::ENUMERATE_MAX` packages)
    /// counts what the enumerator counts, on boxes small enough to enumerate.
    #[test]
    fn counting_programme_equals_brute_force(seed in any::<u64>(), shape in shape_strategy()) {
        let s = synth::random(seed, shape);
        let b = backchannel_formula::brute::enumerate(&s).unwrap();
        let m = Model::new(&s);
        let counted: u128 = m
            .boxes()
            .unwrap()
            .iter()
            .map(|bx| exact(count::acceptable_by_programme(&m, bx, usize::MAX).unwrap()))
            .sum();
        prop_assert_eq!(counted, b.acceptable);
    }

    /// The small-box path (direct enumeration) gives exactly the general programmes' answer: counts,
    /// frontier order, representative packages, fair points and explanations.
    #[test]
    fn small_path_equals_general(seed in any::<u64>(), shape in shape_strategy()) {
        let s = synth::random(seed, shape);
        let opts = SolveOptions::default();
        let (fast, general) = (solve(&s, &opts), solve_general(&s, &opts));
        prop_assert_eq!(&fast.fixed, &general.fixed);
        prop_assert_eq!(&fast.indices, &general.indices);
        prop_assert_eq!(
            serde_json::to_value(&fast).unwrap(),
            serde_json::to_value(&general).unwrap()
        );
    }

    /// With budgets so small that the counting programme must round, its bounds still hold; with none at all
    /// the solver reports bounds (or the exact count when they meet) and never a wrong exact count.
    #[test]
    fn acceptable_bounds_hold(seed in any::<u64>(), shape in shape_strategy(), states in 1usize..=6) {
        let s = synth::random(seed, shape);
        let b = backchannel_formula::brute::enumerate(&s).unwrap();
        let m = Model::new(&s);
        let boxes = m.boxes().unwrap();
        let (mut lo, mut hi) = (0u128, 0u128);
        for bx in &boxes {
            lo += exact(count::acceptable_bound_in_box(&m, bx, states, false));
            hi += exact(count::acceptable_bound_in_box(&m, bx, states, true));
        }
        prop_assert!(lo <= b.acceptable && b.acceptable <= hi, "{lo} <= {} <= {hi}", b.acceptable);
        let sol = solve(&s, &SolveOptions { count_states_max: 0, ..SolveOptions::default() });
        match (sol.acceptable, sol.acceptable_bounds) {
            (Some(c), None) => prop_assert_eq!(exact(c), b.acceptable),
            (None, Some(bounds)) => {
                prop_assert!(exact(bounds.lower) <= b.acceptable && b.acceptable <= exact(bounds.upper));
            }
            other => prop_assert!(false, "acceptable and its bounds: {other:?}"),
        }
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
