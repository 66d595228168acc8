//! The brute-force reference: enumerates every package. Slow on purpose; the tests hold the fast paths to it.

use std::collections::BTreeMap;

use crate::fair::{big_product, cmp_big};
use crate::model::Model;
use crate::scenario::Scenario;

/// Everything the enumerator finds, in fixed point.
#[derive(Clone, Debug, PartialEq)]
pub struct Brute {
    /// All packages.
    pub total: u128,
    /// Within every red line.
    pub within_red_lines: u128,
    /// Also meeting every requirement.
    pub meeting_requirements: u128,
    /// Also at or above every reservation.
    pub acceptable: u128,
    /// Frontier of the acceptable set: vector → number of packages with it.
    pub frontier: BTreeMap<Vec<i64>, u128>,
    /// Frontier vectors maximising Nash, Kalai–Smorodinsky, egalitarian and utilitarian (in that order).
    pub points: [Vec<Vec<i64>>; 4],
}

/// Most packages [`enumerate`] will visit.
pub const PACKAGES_MAX: u128 = 20_000_000;

/// Enumerates every package; `None` when there are more than [`PACKAGES_MAX`].
pub fn enumerate(s: &Scenario) -> Option<Brute> {
    let m = Model::new(s);
    let total = m
        .options
        .iter()
        .try_fold(1u128, |a, &n| a.checked_mul(n as u128))?;
    if total > PACKAGES_MAX {
        return None;
    }
    let n = m.issues();
    let mut pkg = vec![0usize; n];
    let (mut within, mut meeting, mut acceptable) = (0u128, 0u128, 0u128);
    let mut vectors: BTreeMap<Vec<i64>, u128> = BTreeMap::new();
    'all: loop {
        if pkg.iter().enumerate().all(|(i, &o)| m.red_line_ok(i)[o]) {
            within += 1;
            if m.feasible(&pkg) {
                meeting += 1;
                let u = m.utilities(&pkg);
                if u.iter().zip(&m.reservation).all(|(a, b)| a >= b) {
                    acceptable += 1;
                    *vectors.entry(u).or_insert(0) += 1;
                }
            }
        }
        // next package (odometer)
        for i in (0..n).rev() {
            pkg[i] += 1;
            if pkg[i] < m.options[i] {
                continue 'all;
            }
            pkg[i] = 0;
        }
        break;
    }
    let all: Vec<&Vec<i64>> = vectors.keys().collect();
    let dominated = |v: &Vec<i64>| {
        all.iter()
            .any(|w| *w != v && w.iter().zip(v).all(|(a, b)| a >= b))
    };
    let frontier: BTreeMap<Vec<i64>, u128> = vectors
        .iter()
        .filter(|(v, _)| !dominated(v))
        .map(|(v, c)| (v.clone(), *c))
        .collect();
    let r = &m.reservation;
    let gains = |v: &Vec<i64>| -> Vec<u64> {
        v.iter()
            .zip(r)
            .map(|(a, b)| (a - b).unsigned_abs())
            .collect()
    };
    let d = m.parties;
    let mut best_gain = vec![0u64; d];
    for v in vectors.keys() {
        for (p, g) in gains(v).into_iter().enumerate() {
            best_gain[p] = best_gain[p].max(g);
        }
    }
    // KS share as a fraction with a common denominator: min over p of g_p * L / best_p is awkward; compare pairs.
    let share_less = |a: &[u64], b: &[u64]| -> std::cmp::Ordering {
        let min_of = |g: &[u64]| -> (u128, u128) {
            let mut m = (1u128, 1u128);
            for p in 0..d {
                if best_gain[p] > 0 && u128::from(g[p]) * m.1 < m.0 * u128::from(best_gain[p]) {
                    m = (u128::from(g[p]), u128::from(best_gain[p]));
                }
            }
            m
        };
        let (x, y) = (min_of(a), min_of(b));
        (x.0 * y.1).cmp(&(y.0 * x.1))
    };
    let cmp = |c: usize, a: &Vec<i64>, b: &Vec<i64>| -> std::cmp::Ordering {
        match c {
            0 => cmp_big(&big_product(gains(a)), &big_product(gains(b))),
            1 => share_less(&gains(a), &gains(b)),
            2 => gains(a).iter().min().cmp(&gains(b).iter().min()),
            _ => a.iter().sum::<i64>().cmp(&b.iter().sum::<i64>()),
        }
    };
    let mut points: [Vec<Vec<i64>>; 4] = Default::default();
    for (c, slot) in points.iter_mut().enumerate() {
        let Some(best) = vectors.keys().max_by(|a, b| cmp(c, a, b)) else {
            continue;
        };
        *slot = frontier
            .keys()
            .filter(|v| cmp(c, v, best) == std::cmp::Ordering::Equal)
            .cloned()
            .collect();
    }
    Some(Brute {
        total,
        within_red_lines: within,
        meeting_requirements: meeting,
        acceptable,
        frontier,
        points,
    })
}
