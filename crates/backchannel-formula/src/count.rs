//! Package counts without enumeration: products of allowed options per issue, and a pruned dynamic programme
//! over partial utility vectors for the acceptable ones.

use serde::Serialize;

use crate::frontier::{SortBuf, same};
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
        acc.add(product(bx.iter().map(<[usize]>::len)))
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

/// Settles partial vectors before an issue, given what the issues from there on can add at most and at
/// least (`maxrem`, `minrem` from that issue): drops those that can no longer reach every reservation, adds
/// to `accepted` those that reach it whatever follows (times the `rest` packages each), and keeps the others
/// in order. Returns how many are kept.
fn settle<C: Tally>(
    d: usize,
    r: &[i64],
    (maxrem, minrem): (&[i64], &[i64]),
    rest: Count,
    (utils, counts): (&mut Vec<i64>, &mut Vec<C>),
    accepted: &mut Count,
) -> usize {
    let mut kept = 0;
    for j in 0..counts.len() {
        let u = &utils[j * d..(j + 1) * d];
        if (0..d).any(|p| u[p] + maxrem[p] < r[p]) {
            continue;
        }
        if (0..d).all(|p| u[p] + minrem[p] >= r[p]) {
            *accepted = accepted.add(counts[j].times(rest));
            continue;
        }
        utils.copy_within(j * d..(j + 1) * d, kept * d);
        counts[kept] = counts[j];
        kept += 1;
    }
    utils.truncate(kept * d);
    counts.truncate(kept);
    kept
}

/// Adds to `accepted` the acceptable completions of each partial vector by the options `opts` of the last
/// issue `k`.
fn tally_last<C: Tally>(
    model: &Model,
    k: usize,
    opts: &[usize],
    (utils, counts): (&[i64], &[C]),
    accepted: &mut Count,
) {
    let (d, r) = (model.parties, &model.reservation);
    for (j, &c) in counts.iter().enumerate() {
        let u = &utils[j * d..(j + 1) * d];
        for &o in opts {
            let t = model.terms(k, o);
            if (0..d).all(|p| u[p] + t[p] >= r[p]) {
                *accepted = accepted.add(c.times(Count::Exact(1)));
            }
        }
    }
}

/// The candidates of issue `k`: each option in `opts` plus every partial vector (with its count), into
/// `cu` and `cc` (cleared first).
fn extend<C: Copy>(
    model: &Model,
    k: usize,
    opts: &[usize],
    (utils, counts): (&[i64], &[C]),
    (cu, cc): (&mut Vec<i64>, &mut Vec<C>),
) {
    let d = model.parties;
    cu.clear();
    cc.clear();
    cu.reserve(counts.len() * opts.len() * d);
    cc.reserve(counts.len() * opts.len());
    // Option by option: the partial vectors come in descending order (as `merge` leaves them), and adding
    // one option's terms keeps that order, so the candidates form one sorted run per option.
    for &o in opts {
        let t = model.terms(k, o);
        for (j, &c) in counts.iter().enumerate() {
            let u = &utils[j * d..(j + 1) * d];
            cu.extend(u.iter().zip(t).map(|(a, b)| a + b));
            cc.push(c);
        }
    }
}

/// Merges equal vectors (sorting them) of `utils` and `counts` into `out_u` and `out_c`, adding counts;
/// `false` when a count overflowed.
fn merge<C: Tally>(
    d: usize,
    (utils, counts): (&[i64], &[C]),
    (out_u, out_c): (&mut Vec<i64>, &mut Vec<C>),
    buf: &mut SortBuf,
) -> bool {
    let mut ok = true;
    out_u.clear();
    out_c.clear();
    for &k in buf.descending(d, utils, counts.len(), true) {
        let u = &utils[k * d..(k + 1) * d];
        if !out_c.is_empty() && same(&out_u[out_u.len() - d..], u) {
            let last = out_c.len() - 1;
            match out_c[last].plus(counts[k]) {
                Some(x) => out_c[last] = x,
                None => ok = false,
            }
        } else {
            out_u.extend_from_slice(u);
            out_c.push(counts[k]);
        }
    }
    ok
}

/// The acceptable packages of a box of `size` packages, each checked in turn: per choice of options of the
/// other issues, the options of the issue with the most that lift every party to its reservation.
fn count_by_enumeration(model: &Model, bx: &Box, size: usize) -> u128 {
    let d = model.parties;
    let r = &model.reservation;
    // The issue with the most options goes through the inner loop.
    let Some(inner) = (0..bx.len()).max_by_key(|&k| bx[k].len()) else {
        return u128::from(r.iter().all(|&x| x <= 0));
    };
    let lt = crate::small::terms_of(model, bx, inner);
    if d == 0 {
        return size as u128;
    }
    let mut need = vec![0i64; d];
    let mut m: u128 = 0;
    crate::small::each_prefix(model, bx, inner, |base| {
        for ((x, a), b) in need.iter_mut().zip(r).zip(base) {
            *x = a - b;
        }
        m += if let [n0, n1] = need[..] {
            // Two parties, the common case: a loop the compiler can keep in registers.
            lt.chunks_exact(2)
                .filter(|t| t[0] >= n0 && t[1] >= n1)
                .count()
        } else {
            lt.chunks_exact(d)
                .filter(|t| t.iter().zip(&need).all(|(a, b)| a >= b))
                .count()
        } as u128;
    });
    m
}

/// Boxes of at most this many packages are counted by enumerating them: one vector addition and comparison
/// per package costs less than the programme's sorting and merging up to about this size.
pub const ENUMERATE_MAX: usize = 4096;

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
    let (maxrem, minrem) = remaining(model, bx);
    let r = &model.reservation;
    let all = (0..d).all(|p| minrem[p] >= r[p]);
    let none = (0..d).any(|p| maxrem[p] < r[p]);
    if let Some(size) = bx.size().filter(|&n| n <= ENUMERATE_MAX && !all && !none) {
        return Some(Count::Exact(count_by_enumeration(model, bx, size)));
    }
    programme(model, bx, states_max, work, (&maxrem, &minrem))
}

/// The counting programme alone, whatever the box's size (for tests: [`acceptable_in_box`] enumerates
/// small boxes instead).
pub fn acceptable_by_programme(model: &Model, bx: &Box, states_max: usize) -> Option<Count> {
    let (maxrem, minrem) = remaining(model, bx);
    let mut work = usize::MAX;
    programme(model, bx, states_max, &mut work, (&maxrem, &minrem))
}

fn programme(
    model: &Model,
    bx: &Box,
    states_max: usize,
    work: &mut usize,
    (maxrem, minrem): (&[i64], &[i64]),
) -> Option<Count> {
    let d = model.parties;
    let n = bx.len();
    let r = &model.reservation;
    let mut accepted = Count::Exact(0);
    let mut utils = vec![0i64; d];
    let mut counts: Vec<u128> = vec![1];
    let (mut cu, mut cc, mut buf) = (Vec::new(), Vec::new(), SortBuf::default());
    let mut little_merging = false;
    let mut kept_before = 0;
    for k in 0..=n {
        // Decide what is settled at this depth.
        let rest = product(bx.iter().skip(k).map(<[usize]>::len));
        let kept = settle(
            d,
            r,
            (&maxrem[k * d..], &minrem[k * d..]),
            rest,
            (&mut utils, &mut counts),
            &mut accepted,
        );
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
        // And when the vectors still grow in number, assume they will not shrink: give up now if this many
        // for each issue left would exceed the budget.
        if kept > kept_before {
            let left: usize = bx.iter().skip(k).map(<[usize]>::len).sum();
            if kept.saturating_mul(left) > *work {
                return None;
            }
        }
        kept_before = kept;
        *work -= candidates;
        if k + 1 == n {
            // The last issue: count the acceptable completions directly, nothing left to merge.
            tally_last(model, k, &bx[k], (&utils, &counts), &mut accepted);
            break;
        }
        extend(model, k, &bx[k], (&utils, &counts), (&mut cu, &mut cc));
        if !merge(d, (&cu, &cc), (&mut utils, &mut counts), &mut buf) || counts.len() > states_max {
            return None;
        }
        little_merging = counts.len() * 2 > candidates;
    }
    Some(accepted)
}

/// A lower or upper bound on the acceptable packages of a box, from the same programme with partial vectors
/// rounded (down for the lower bound, up for the upper) to a grid coarse enough to keep at most `states_max`
/// of them. Rounding down can only lose acceptable packages, rounding up only add some, so the bounds hold.
/// Counts are exact integers when the box holds fewer than 2^128 packages, floats otherwise.
pub fn acceptable_bound_in_box(model: &Model, bx: &Box, states_max: usize, upper: bool) -> Count {
    match product(bx.iter().map(<[usize]>::len)) {
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
    let (mut cu, mut cc, mut buf) = (Vec::new(), Vec::new(), SortBuf::default());
    let mut delta: i64 = 1;
    for k in 0..=n {
        let rest = product(bx.iter().skip(k).map(<[usize]>::len));
        let kept = settle(
            d,
            r,
            (&maxrem[k * d..], &minrem[k * d..]),
            rest,
            (&mut utils, &mut counts),
            &mut accepted,
        );
        if k == n || kept == 0 {
            break;
        }
        if k + 1 == n {
            tally_last(model, k, &bx[k], (&utils, &counts), &mut accepted);
            break;
        }
        extend(model, k, &bx[k], (&utils, &counts), (&mut cu, &mut cc));
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
            merge(d, (&cu, &cc), (&mut utils, &mut counts), &mut buf);
            if counts.len() <= states_max || delta > crate::model::UNIT {
                break;
            }
            delta = delta.saturating_mul(if delta == 1 { 1 << 10 } else { 2 });
            // Round the merged vectors to the coarser grid (the same as rounding the candidates to it).
            std::mem::swap(&mut cu, &mut utils);
            std::mem::swap(&mut cc, &mut counts);
        }
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

/// Partial vectors the bounding programme keeps per box, for `d` parties. Its vectors lie on a grid of
/// `d` dimensions, so the same cell size takes about `cells^d` of them: 512 keep two parties' bounds within
/// about 1e-9 of each other (relative) on 30 issues × 10 options; three parties or more get 2,048.
pub fn bound_states(d: usize) -> usize {
    if d <= 2 { 512 } else { 2_048 }
}

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
        let states = bound_states(model.parties);
        lower = lower.add(acceptable_bound_in_box(model, bx, states, false));
        upper = upper.add(acceptable_bound_in_box(model, bx, states, true));
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
