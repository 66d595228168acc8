//! Package counts without enumeration: products of allowed options per issue, and a pruned dynamic programme
//! over partial utility vectors for the acceptable ones.

use serde::Serialize;

use crate::frontier::reduce_counts;
use crate::model::{Box, Model};

/// A count of packages: exact below 2^128, otherwise a float.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Count {
    /// The exact number.
    Exact(u128),
    /// Too large for 128 bits: an approximation.
    Approx(f64),
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Count::Exact(n) => write!(f, "{n}"),
            Count::Approx(x) => write!(f, "about {x:.3e}"),
        }
    }
}

impl Count {
    /// As a float.
    pub fn as_f64(self) -> f64 {
        match self {
            Count::Exact(n) => n as f64,
            Count::Approx(x) => x,
        }
    }

    /// Whether it is zero.
    pub fn is_zero(self) -> bool {
        self.as_f64() == 0.0
    }

    fn add(self, other: Count) -> Count {
        match (self, other) {
            (Count::Exact(a), Count::Exact(b)) => a
                .checked_add(b)
                .map_or(Count::Approx(a as f64 + b as f64), Count::Exact),
            (a, b) => Count::Approx(a.as_f64() + b.as_f64()),
        }
    }
}

/// The product of the set sizes.
pub fn product<I: IntoIterator<Item = usize>>(sizes: I) -> Count {
    let mut acc = Count::Exact(1);
    for s in sizes {
        acc = match acc {
            Count::Exact(a) => a
                .checked_mul(s as u128)
                .map_or(Count::Approx(a as f64 * s as f64), Count::Exact),
            Count::Approx(x) => Count::Approx(x * s as f64),
        };
    }
    acc
}

/// The number of packages in the union of disjoint boxes.
pub fn boxes(bxs: &[Box]) -> Count {
    bxs.iter().fold(Count::Exact(0), |acc, bx| {
        acc.add(product(bx.iter().map(Vec::len)))
    })
}

/// Count of acceptable packages (every party at or above its reservation) in a box, or `None` when the
/// dynamic programme would hold more than `states_max` partial vectors at once.
pub fn acceptable_in_box(model: &Model, bx: &Box, states_max: usize) -> Option<Count> {
    let d = model.parties;
    let n = bx.len();
    let mut maxrem = vec![vec![0i64; d]; n + 1];
    let mut minrem = vec![vec![0i64; d]; n + 1];
    for k in (0..n).rev() {
        for p in 0..d {
            let it = bx[k].iter().map(|&o| model.term(k, o, p));
            maxrem[k][p] = maxrem[k + 1][p] + it.clone().max().unwrap_or(0);
            minrem[k][p] = minrem[k + 1][p] + it.min().unwrap_or(0);
        }
    }
    let mut accepted = Count::Exact(0);
    let mut utils = vec![0i64; d];
    let mut counts: Vec<u128> = vec![1];
    for k in 0..=n {
        // Decide what is settled at this depth.
        let rest = product(bx[k..].iter().map(Vec::len));
        let mut keep_u = Vec::new();
        let mut keep_c = Vec::new();
        for j in 0..counts.len() {
            let u = &utils[j * d..(j + 1) * d];
            if (0..d).any(|p| u[p] + maxrem[k][p] < model.reservation[p]) {
                continue;
            }
            if (0..d).all(|p| u[p] + minrem[k][p] >= model.reservation[p]) {
                let add = match rest {
                    Count::Exact(r) => counts[j]
                        .checked_mul(r)
                        .map_or(Count::Approx(counts[j] as f64 * r as f64), Count::Exact),
                    Count::Approx(r) => Count::Approx(counts[j] as f64 * r),
                };
                accepted = accepted.add(add);
                continue;
            }
            keep_u.extend_from_slice(u);
            keep_c.push(counts[j]);
        }
        if k == n || keep_c.is_empty() {
            break;
        }
        let mut cu = Vec::with_capacity(keep_c.len() * bx[k].len() * d);
        let mut cc = Vec::with_capacity(keep_c.len() * bx[k].len());
        for j in 0..keep_c.len() {
            for &o in &bx[k] {
                for p in 0..d {
                    cu.push(keep_u[j * d + p] + model.term(k, o, p));
                }
                cc.push(keep_c[j]);
            }
        }
        if cc.len() > states_max.saturating_mul(8) {
            return None;
        }
        let (u2, c2) = reduce_counts(d, cu, cc);
        if c2.len() > states_max {
            return None;
        }
        utils = u2;
        counts = c2;
    }
    Some(accepted)
}

/// Count of acceptable packages over disjoint boxes, or `None` when too large to count exactly.
pub fn acceptable(model: &Model, bxs: &[Box], states_max: usize) -> Option<Count> {
    let mut acc = Count::Exact(0);
    for bx in bxs {
        acc = acc.add(acceptable_in_box(model, bx, states_max)?);
    }
    Some(acc)
}
