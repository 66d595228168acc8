//! Package counts without enumeration: products of allowed options per issue, and a pruned dynamic programme
//! over partial utility vectors for the acceptable ones.

use serde::Serialize;

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

/// How much a partial vector may still gain (most) and must gain (least), per issue suffix and party:
/// `[k * d + p]` for issues `k..` and party `p`.
fn remaining(model: &Model, bx: &Box) -> (Vec<i64>, Vec<i64>) {
    let d = model.parties;
    let n = bx.len();
    let mut maxrem = vec![0i64; (n + 1) * d];
    let mut minrem = vec![0i64; (n + 1) * d];
    for k in (0..n).rev() {
        for p in 0..d {
            let it = bx[k].iter().map(|&o| model.term(k, o, p));
            maxrem[k * d + p] = maxrem[(k + 1) * d + p] + it.clone().max().unwrap_or(0);
            minrem[k * d + p] = minrem[(k + 1) * d + p] + it.min().unwrap_or(0);
        }
    }
    (maxrem, minrem)
}

fn times(c: u128, rest: Count) -> Count {
    match rest {
        Count::Exact(r) => c
            .checked_mul(r)
            .map_or(Count::Approx(c as f64 * r as f64), Count::Exact),
        Count::Approx(r) => Count::Approx(c as f64 * r),
    }
}

/// A per-vector package count: exact integers, or floats for bounds over sets of 2^128 packages or more.
trait Tally: Copy {
    /// One package.
    const ONE: Self;
    /// The sum, or `None` on overflow.
    fn plus(self, other: Self) -> Option<Self>;
    /// This many times `rest`, as a [`Count`].
    fn times(self, rest: Count) -> Count;
}

impl Tally for u128 {
    const ONE: Self = 1;
    fn plus(self, other: Self) -> Option<Self> {
        self.checked_add(other)
    }
    fn times(self, rest: Count) -> Count {
        times(self, rest)
    }
}

impl Tally for f64 {
    const ONE: Self = 1.0;
    fn plus(self, other: Self) -> Option<Self> {
        Some(self + other)
    }
    fn times(self, rest: Count) -> Count {
        Count::Approx(self * rest.as_f64())
    }
}

/// Merges equal vectors (sorting them), adding counts; `false` when a count overflowed.
fn merge<C: Tally>(d: usize, utils: &mut Vec<i64>, counts: &mut Vec<C>) -> bool {
    let mut ok = true;
    let mut add = |slot: &mut C, c: C| match slot.plus(c) {
        Some(x) => *slot = x,
        None => ok = false,
    };
    match d {
        2 => {
            let mut v: Vec<(i64, i64, C)> = (0..counts.len())
                .map(|j| (utils[2 * j], utils[2 * j + 1], counts[j]))
                .collect();
            v.sort_unstable_by_key(|x| (x.0, x.1));
            utils.clear();
            counts.clear();
            for (a, b, c) in v {
                let n = counts.len();
                if n > 0 && utils[2 * n - 2] == a && utils[2 * n - 1] == b {
                    add(&mut counts[n - 1], c);
                } else {
                    utils.push(a);
                    utils.push(b);
                    counts.push(c);
                }
            }
        }
        3 => {
            let mut v: Vec<([i64; 3], C)> = (0..counts.len())
                .map(|j| {
                    (
                        [utils[3 * j], utils[3 * j + 1], utils[3 * j + 2]],
                        counts[j],
                    )
                })
                .collect();
            v.sort_unstable_by_key(|x| x.0);
            utils.clear();
            counts.clear();
            for (a, c) in v {
                let n = counts.len();
                if n > 0 && utils[3 * n - 3..] == a {
                    add(&mut counts[n - 1], c);
                } else {
                    utils.extend_from_slice(&a);
                    counts.push(c);
                }
            }
        }
        _ => {
            let mut order: Vec<usize> = (0..counts.len()).collect();
            order.sort_unstable_by(|&a, &b| {
                utils[a * d..(a + 1) * d].cmp(&utils[b * d..(b + 1) * d])
            });
            let mut ou: Vec<i64> = Vec::with_capacity(utils.len());
            let mut oc: Vec<C> = Vec::with_capacity(counts.len());
            for k in order {
                let u = &utils[k * d..(k + 1) * d];
                if !oc.is_empty() && &ou[ou.len() - d..] == u {
                    let last = oc.len() - 1;
                    add(&mut oc[last], counts[k]);
                } else {
                    ou.extend_from_slice(u);
                    oc.push(counts[k]);
                }
            }
            *utils = ou;
            *counts = oc;
        }
    }
    ok
}

/// Count of acceptable packages (every party at or above its reservation) in a box, or `None` when the
/// dynamic programme would hold more than `states_max` partial vectors at once.
pub fn acceptable_in_box(model: &Model, bx: &Box, states_max: usize) -> Option<Count> {
    let mut work = usize::MAX;
    acceptable_in_box_within(model, bx, states_max, &mut work)
}

/// Like [`acceptable_in_box`], also giving up (`None`) once more than `work` candidate vectors would have been
/// generated in all; `work` is decreased by those generated. Giving up is decided before the work is done, so
/// a hopeless count fails fast.
pub fn acceptable_in_box_within(
    model: &Model,
    bx: &Box,
    states_max: usize,
    work: &mut usize,
) -> Option<Count> {
    let d = model.parties;
    let n = bx.len();
    let (maxrem, minrem) = remaining(model, bx);
    let r = &model.reservation;
    let mut accepted = Count::Exact(0);
    let mut utils = vec![0i64; d];
    let mut counts: Vec<u128> = vec![1];
    let mut little_merging = false;
    for k in 0..=n {
        // Decide what is settled at this depth.
        let rest = product(bx[k..].iter().map(Vec::len));
        let mut kept = 0;
        for j in 0..counts.len() {
            let u = &utils[j * d..(j + 1) * d];
            if (0..d).any(|p| u[p] + maxrem[k * d + p] < r[p]) {
                continue;
            }
            if (0..d).all(|p| u[p] + minrem[k * d + p] >= r[p]) {
                accepted = accepted.add(times(counts[j], rest));
                continue;
            }
            utils.copy_within(j * d..(j + 1) * d, kept * d);
            counts[kept] = counts[j];
            kept += 1;
        }
        utils.truncate(kept * d);
        counts.truncate(kept);
        if k == n || kept == 0 {
            break;
        }
        let candidates = kept.saturating_mul(bx[k].len());
        if candidates > states_max.saturating_mul(8) || candidates > *work {
            return None;
        }
        // Fail fast: when the last merge hardly merged anything, assume the next issue will not either, and
        // give up now if this issue and the next would already exceed the budget.
        if little_merging && k + 2 < n {
            let next = candidates.saturating_mul(bx[k + 1].len());
            if candidates.saturating_add(next) > *work {
                return None;
            }
        }
        *work -= candidates;
        if k + 1 == n {
            // The last issue: count the acceptable completions directly, nothing left to merge.
            for j in 0..kept {
                let u = &utils[j * d..(j + 1) * d];
                for &o in &bx[k] {
                    let t = &model.terms[k][o * d..(o + 1) * d];
                    if (0..d).all(|p| u[p] + t[p] >= r[p]) {
                        accepted = accepted.add(Count::Exact(counts[j]));
                    }
                }
            }
            break;
        }
        let mut cu = Vec::with_capacity(candidates * d);
        let mut cc = Vec::with_capacity(candidates);
        for j in 0..kept {
            let u = &utils[j * d..(j + 1) * d];
            for &o in &bx[k] {
                let t = &model.terms[k][o * d..(o + 1) * d];
                cu.extend(u.iter().zip(t).map(|(a, b)| a + b));
                cc.push(counts[j]);
            }
        }
        if !merge(d, &mut cu, &mut cc) || cc.len() > states_max {
            return None;
        }
        little_merging = cc.len() * 2 > candidates;
        utils = cu;
        counts = cc;
    }
    Some(accepted)
}

/// A lower or upper bound on the acceptable packages of a box, from the same programme with partial vectors
/// rounded (down for the lower bound, up for the upper) to a grid coarse enough to keep at most `states_max`
/// of them. Rounding down can only lose acceptable packages, rounding up only add some, so the bounds hold.
/// Counts are exact integers when the box holds fewer than 2^128 packages, floats otherwise.
pub fn acceptable_bound_in_box(model: &Model, bx: &Box, states_max: usize, upper: bool) -> Count {
    match product(bx.iter().map(Vec::len)) {
        Count::Exact(_) => bound_in_box::<u128>(model, bx, states_max, upper),
        Count::Approx(_) => bound_in_box::<f64>(model, bx, states_max, upper),
    }
}

fn bound_in_box<C: Tally>(model: &Model, bx: &Box, states_max: usize, upper: bool) -> Count {
    let d = model.parties;
    let n = bx.len();
    let (maxrem, minrem) = remaining(model, bx);
    let r = &model.reservation;
    let mut accepted = Count::Exact(0);
    let mut utils = vec![0i64; d];
    let mut counts: Vec<C> = vec![C::ONE];
    let mut delta: i64 = 1;
    for k in 0..=n {
        let rest = product(bx[k..].iter().map(Vec::len));
        let mut kept = 0;
        for j in 0..counts.len() {
            let u = &utils[j * d..(j + 1) * d];
            if (0..d).any(|p| u[p] + maxrem[k * d + p] < r[p]) {
                continue;
            }
            if (0..d).all(|p| u[p] + minrem[k * d + p] >= r[p]) {
                accepted = accepted.add(counts[j].times(rest));
                continue;
            }
            utils.copy_within(j * d..(j + 1) * d, kept * d);
            counts[kept] = counts[j];
            kept += 1;
        }
        utils.truncate(kept * d);
        counts.truncate(kept);
        if k == n || kept == 0 {
            break;
        }
        if k + 1 == n {
            for j in 0..kept {
                let u = &utils[j * d..(j + 1) * d];
                for &o in &bx[k] {
                    let t = &model.terms[k][o * d..(o + 1) * d];
                    if (0..d).all(|p| u[p] + t[p] >= r[p]) {
                        accepted = accepted.add(counts[j].times(Count::Exact(1)));
                    }
                }
            }
            break;
        }
        let mut cu = Vec::with_capacity(kept * bx[k].len() * d);
        let mut cc = Vec::with_capacity(kept * bx[k].len());
        for j in 0..kept {
            let u = &utils[j * d..(j + 1) * d];
            for &o in &bx[k] {
                let t = &model.terms[k][o * d..(o + 1) * d];
                cu.extend(u.iter().zip(t).map(|(a, b)| a + b));
                cc.push(counts[j]);
            }
        }
        loop {
            if delta > 1 {
                for x in &mut cu {
                    let down = x.div_euclid(delta) * delta;
                    *x = if upper && down < *x {
                        down + delta
                    } else {
                        down
                    };
                }
            }
            // Partial counts never exceed the box's size, so integer tallies cannot overflow here.
            merge(d, &mut cu, &mut cc);
            if cc.len() <= states_max || delta > crate::model::UNIT {
                break;
            }
            delta = delta.saturating_mul(if delta == 1 { 1 << 10 } else { 2 });
        }
        utils = cu;
        counts = cc;
    }
    accepted
}

/// The number of acceptable packages: exact, or bounds when it cannot be counted exactly within the limits.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Acceptable {
    /// The exact count, when found.
    pub exact: Option<Count>,
    /// At most this many are acceptable.
    pub upper: Count,
    /// At least this many are acceptable.
    pub lower: Count,
}

/// States kept by the bounding programme per box.
pub const BOUND_STATES: usize = 2_048;

/// Counts the acceptable packages over disjoint boxes: exactly when the programme stays within `states_max`
/// partial vectors at once and `states_max / 8` generated in all (decided before generating them, so a count
/// that would explode gives up at once), otherwise lower and upper bounds.
pub fn acceptable_or_bounds(model: &Model, bxs: &[Box], states_max: usize) -> Acceptable {
    let mut work = states_max / 8;
    let mut acc = Count::Exact(0);
    let mut exact = true;
    for bx in bxs {
        match acceptable_in_box_within(model, bx, states_max, &mut work) {
            Some(c) => acc = acc.add(c),
            None => {
                exact = false;
                break;
            }
        }
    }
    if exact {
        return Acceptable {
            exact: Some(acc),
            upper: acc,
            lower: acc,
        };
    }
    let (mut lower, mut upper) = (Count::Exact(0), Count::Exact(0));
    for bx in bxs {
        lower = lower.add(acceptable_bound_in_box(model, bx, BOUND_STATES, false));
        upper = upper.add(acceptable_bound_in_box(model, bx, BOUND_STATES, true));
    }
    // Integer bounds that meet are the exact count.
    let exact = match (lower, upper) {
        (Count::Exact(a), Count::Exact(b)) if a == b => Some(lower),
        _ => None,
    };
    Acceptable {
        exact,
        upper,
        lower,
    }
}

/// Count of acceptable packages over disjoint boxes, or `None` when too large to count exactly.
pub fn acceptable(model: &Model, bxs: &[Box], states_max: usize) -> Option<Count> {
    let mut acc = Count::Exact(0);
    for bx in bxs {
        acc = acc.add(acceptable_in_box(model, bx, states_max)?);
    }
    Some(acc)
}
