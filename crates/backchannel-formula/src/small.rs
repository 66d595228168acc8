//! The small-box path: when a single box holds few packages, enumerate them directly over option indices in
//! flat fixed-point arrays, count the acceptable ones and keep the non-dominated vectors, with the very
//! representatives and counts the issue-by-issue programme ([`crate::frontier::frontier_of_box`]) gives.
//!
//! Representatives. The programme keeps, for each merged vector, the first candidate generated: candidates of
//! issue `k` come parent by parent (parents lexicographically descending by partial vector), option by option
//! (ascending). Every prefix of a package on the final frontier survives every stage (a dominated or
//! unreachable prefix cannot lead to a frontier vector), so among the packages sharing a frontier vector the
//! programme's representative is the least under: for `k` from the last issue down to 1, the larger partial
//! sum over issues `..k` first, then the smaller option of issue `k`; finally the smaller option of issue 0.

use std::cmp::Ordering;

use crate::frontier::{Points, packed_key};
use crate::model::{Box, Model};

/// Most packages in a box for the small path (measured on the ANAC domains: beyond about a hundred, sorting
/// every acceptable package costs more than the programmes, which prune dominated partial sums issue by issue).
pub const SMALL_PACKAGES_MAX: usize = 128;

/// The number of packages in `bx` when the small path applies to it under these limits, `None` otherwise.
/// The limits guarantee that the general programmes would neither thin the frontier nor give up counting.
pub fn applies(bx: &Box, points_max: usize, count_states_max: usize) -> Option<usize> {
    let mut total: usize = 1;
    for o in bx.iter() {
        total = total.checked_mul(o.len())?;
        if total > SMALL_PACKAGES_MAX {
            return None;
        }
    }
    let work = (bx.len() + 2).checked_mul(total)?;
    (total >= 1 && total <= points_max && work <= count_states_max / 8).then_some(total)
}

/// Packages (and `packages × parties` utilities) that fit the on-stack buffers: small answers then make no
/// allocation of 1 KiB or more, which would make the allocator consolidate the many small blocks an earlier
/// answer freed.
const STACK_PACKAGES: usize = 128;
const STACK_UTILS: usize = 256;

/// Bits of a sort key holding the package number (`SMALL_PACKAGES_MAX` fits).
const KEY_BITS: u32 = 10;
const KEY_MASK: u128 = (1 << KEY_BITS) - 1;

/// The acceptable count and the frontier (as [`crate::frontier::frontier_of_box`] returns it) of a box of
/// `total` packages.
pub fn solve_box(model: &Model, bx: &Box, total: usize) -> (u128, Points) {
    let d = model.parties;
    if total <= STACK_PACKAGES && total * d <= STACK_UTILS {
        let mut utils = [0i64; STACK_UTILS];
        let mut codes = [0u32; STACK_PACKAGES];
        let mut order = [0u128; STACK_PACKAGES];
        solve_in(model, bx, &mut utils, &mut codes, &mut order)
    } else {
        let mut utils = vec![0i64; total * d];
        let mut codes = vec![0u32; total];
        let mut order = vec![0u128; total];
        solve_in(model, bx, &mut utils, &mut codes, &mut order)
    }
}

#[allow(clippy::cast_possible_truncation)]
fn solve_in(
    model: &Model,
    bx: &Box,
    utils: &mut [i64],
    codes: &mut [u32],
    order: &mut [u128],
) -> (u128, Points) {
    let d = model.parties;
    let n = bx.len();
    let r = &model.reservation;
    let mut m = 0usize;
    let mut code: u32 = 0;
    // The last issue's options (one empty choice when there is no issue).
    let (lt, last) = match n.checked_sub(1) {
        Some(k) => (terms_of(model, bx, k), bx[k].len()),
        None => (Vec::new(), 1),
    };
    let mut u = vec![0i64; d];
    each_prefix(model, bx, n.saturating_sub(1), |base| {
        for j in 0..last {
            for ((x, a), b) in u
                .iter_mut()
                .zip(base)
                .zip(lt.get(j * d..(j + 1) * d).unwrap_or(&[]))
            {
                *x = a + b;
            }
            if u.iter().zip(r).all(|(a, b)| a >= b) {
                utils[m * d..(m + 1) * d].copy_from_slice(&u);
                codes[m] = code;
                m += 1;
            }
            code += 1;
        }
    });
    let utils = &utils[..m * d];
    let codes = &codes[..m];
    let order = &mut order[..m];
    let u = |k: u32| &utils[k as usize * d..(k as usize + 1) * d];
    // Lexicographically descending by vector, packages in odometer order within equal vectors: packed keys
    // (`frontier::packed_key`, the package number in the low bits) sort in that order. Vectors that do not
    // pack are sorted by comparing them.
    let mut packed = d <= 3;
    for (k, slot) in order.iter_mut().enumerate() {
        *slot = match packed_key(u(k as u32), k, KEY_BITS).filter(|_| packed) {
            Some(key) => key,
            None => {
                packed = false;
                k as u128
            }
        };
    }
    let at = |k: &u128| (*k & KEY_MASK) as u32;
    if packed {
        order.sort_unstable();
    } else {
        order.sort_unstable_by(|a, b| u(at(b)).cmp(u(at(a))).then(at(a).cmp(&at(b))));
    }
    let at = |g: usize| (order[g] & KEY_MASK) as u32;
    // Room for the points most small answers have, in blocks under 1 KiB (see `STACK_PACKAGES`).
    let room = m.min(1000 / (8 * d.max(n).max(2)));
    let mut points = Points {
        d,
        n,
        utils: Vec::with_capacity(room * d),
        counts: Vec::with_capacity(room),
        packages: Vec::with_capacity(room * n),
        counts_exact: true,
        bound: 0,
    };
    let mut stair: Vec<(i64, i64)> = Vec::new();
    let mut scratch: Option<Scratch> = None;
    let mut g = 0;
    while g < m {
        let first = at(g);
        let v = u(first);
        let mut end = g + 1;
        // Packed keys hold the whole vector: equal vectors have equal keys above the package number.
        while end < m
            && if packed {
                order[end] >> KEY_BITS == order[g] >> KEY_BITS
            } else {
                u(at(end)) == v
            }
        {
            end += 1;
        }
        let keep = match d {
            0 | 1 => points.counts.is_empty(),
            2 => points.utils.last().is_none_or(|&y| v[1] > y),
            3 => {
                // Staircase of kept (u1, u2): u1 ascending, u2 strictly descending.
                let (y, z) = (v[1], v[2]);
                let at = stair.partition_point(|&(yy, _)| yy < y);
                if stair.get(at).is_some_and(|&(_, zz)| zz >= z) {
                    false
                } else {
                    let lo = stair[..at].partition_point(|&(_, zz)| zz > z);
                    stair.splice(lo..at, [(y, z)]);
                    true
                }
            }
            _ => !points
                .utils
                .chunks_exact(d)
                .any(|q| q.iter().zip(v).all(|(a, b)| a >= b)),
        };
        if keep {
            let mut rep = codes[first as usize];
            if end - g > 1 {
                let sc = scratch.get_or_insert_with(|| Scratch::new(n, d));
                for k in g + 1..end {
                    let c = codes[at(k) as usize];
                    if sc.earlier(model, bx, c, rep) == Ordering::Less {
                        rep = c;
                    }
                }
            }
            points.utils.extend_from_slice(v);
            points.counts.push((end - g) as u128);
            let at = points.packages.len();
            points.packages.resize(at + n, 0);
            let idx = &mut points.packages[at..];
            decode(bx, rep, idx);
            for (k, x) in idx.iter_mut().enumerate() {
                *x = bx[k][*x];
            }
        }
        g = end;
    }
    (m as u128, points)
}

/// Calls `f(sums)` for every choice of options of all issues of `bx` but `inner`, in odometer order (the
/// last of them fastest), with that choice's utility vector; keeps running prefix sums, so each choice costs
/// about one vector addition. The caller goes through the `inner` issue's options itself, in a tighter loop
/// ([`terms_of`]). With `inner` past the last issue, every issue is in the odometer.
pub(crate) fn each_prefix(model: &Model, bx: &Box, inner: usize, mut f: impl FnMut(&[i64])) {
    let d = model.parties;
    let issues: Vec<usize> = (0..bx.len()).filter(|&k| k != inner).collect();
    let n = issues.len();
    let mut pos = vec![0usize; n];
    let mut sums = vec![0i64; (n + 1) * d];
    let mut from = 0;
    loop {
        for (i, &k) in issues.iter().enumerate().skip(from) {
            let t = model.terms(k, bx[k][pos[i]]);
            let (lo, hi) = sums.split_at_mut((i + 1) * d);
            for ((s, a), b) in hi[..d].iter_mut().zip(&lo[i * d..]).zip(t) {
                *s = a + b;
            }
        }
        f(&sums[n * d..]);
        // Advance: the last issue with options left moves on, the ones after it start over.
        let Some(i) = (0..n).rev().find(|&i| pos[i] + 1 < bx[issues[i]].len()) else {
            return;
        };
        pos[i] += 1;
        pos[i + 1..].fill(0);
        from = i;
    }
}

/// Issue `k`'s terms for the box's options of it, flat: `[j * d + p]` for its `j`-th allowed option.
pub(crate) fn terms_of(model: &Model, bx: &Box, k: usize) -> Vec<i64> {
    bx[k]
        .iter()
        .flat_map(|&o| model.terms(k, o).iter().copied())
        .collect()
}

/// Positions in the box of package number `code` (odometer order, last issue fastest).
fn decode(bx: &Box, mut code: u32, pos: &mut [usize]) {
    for k in (0..bx.len()).rev() {
        let m = bx[k].len() as u32;
        pos[k] = (code % m) as usize;
        code /= m;
    }
}

/// Buffers for comparing two packages under the programme's order.
struct Scratch {
    d: usize,
    pa: Vec<usize>,
    pb: Vec<usize>,
    sa: Vec<i64>,
    sb: Vec<i64>,
}

impl Scratch {
    fn new(n: usize, d: usize) -> Scratch {
        Scratch {
            d,
            pa: vec![0; n],
            pb: vec![0; n],
            sa: vec![0; (n + 1) * d],
            sb: vec![0; (n + 1) * d],
        }
    }

    /// Whether package `a` comes before package `b` (same utilities) in the programme's order.
    fn earlier(&mut self, model: &Model, bx: &Box, a: u32, b: u32) -> Ordering {
        let d = self.d;
        let n = bx.len();
        decode(bx, a, &mut self.pa);
        decode(bx, b, &mut self.pb);
        for (pos, sums) in [(&self.pa, &mut self.sa), (&self.pb, &mut self.sb)] {
            for k in 0..n {
                let o = bx[k][pos[k]];
                for p in 0..d {
                    sums[(k + 1) * d + p] = sums[k * d + p] + model.term(k, o, p);
                }
            }
        }
        for k in (1..n).rev() {
            // The larger partial sum over issues ..k comes first, then the smaller option of issue k.
            let ord = self.sb[k * d..(k + 1) * d]
                .cmp(&self.sa[k * d..(k + 1) * d])
                .then(self.pa[k].cmp(&self.pb[k]));
            if ord != Ordering::Equal {
                return ord;
            }
        }
        match n {
            0 => Ordering::Equal,
            _ => self.pa[0].cmp(&self.pb[0]),
        }
    }
}
