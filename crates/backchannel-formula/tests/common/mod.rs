//! Shared test helpers.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;

use backchannel_formula::brute;
use backchannel_formula::{Count, Scenario, Solution};

pub fn exact(c: Count) -> u128 {
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
        .map(<[i64]>::to_vec)
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
                let got: Vec<Vec<i64>> = fp.ties.iter().map(|&i| sol.fixed[i].to_vec()).collect();
                let mut got_sorted = got.clone();
                got_sorted.sort();
                let mut want_sorted = want.clone();
                want_sorted.sort();
                assert_eq!(got_sorted, want_sorted, "point {k} ties");
            }
        }
    }
}
