//! The Pareto frontier of a box of packages, without enumerating them: issue-by-issue Minkowski sums of
//! utility vectors, pruned to the non-dominated ones (and to those that can still reach every reservation).
//!
//! Why this is exact: if a partial sum is dominated by another, adding the same remaining options to both keeps
//! it dominated, so no package whose vector is on the final frontier is ever dropped; equal partial vectors are
//! merged with their counts added, so the count of packages sharing a frontier vector is exact too.

use std::collections::BTreeMap;

use crate::model::{Box, Model};

/// Limits for one frontier computation.
#[derive(Clone, Copy, Debug)]
pub struct FrontierLimits {
    /// Most points kept after each issue before thinning to an approximation.
    pub points_max: usize,
}

/// Non-dominated points: flattened utilities, counts and one representative package each.
#[derive(Clone, Debug, Default)]
pub struct Points {
    /// Dimension (number of parties).
    pub d: usize,
    /// `utils[k * d + p]`.
    pub utils: Vec<i64>,
    /// Packages sharing each vector (saturating).
    pub counts: Vec<u128>,
    /// Number of issues: the length of each package.
    pub n: usize,
    /// One package per point, as option indices: `packages[k * n + issue]`.
    pub packages: Vec<usize>,
    /// False when a count saturated.
    pub counts_exact: bool,
    /// Additive bound (fixed point, per party) when the set was thinned; 0 when exact.
    pub bound: i64,
}

impl Points {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Utilities of point `k`.
    pub fn u(&self, k: usize) -> &[i64] {
        &self.utils[k * self.d..(k + 1) * self.d]
    }

    /// Package (option indices) of point `k`.
    pub fn package(&self, k: usize) -> &[usize] {
        &self.packages[k * self.n..(k + 1) * self.n]
    }
}

/// Bits per coordinate of a packed sort key: fixed-point utilities and their partial sums lie in `[0, 2^31)`.
const KEY_COORD_BITS: u32 = 31;

/// The packed sort key of vector `u` (index `k`): each coordinate complemented, then the index in the low
/// `index_bits` bits, so that ascending keys are vectors in lexicographically descending order and equal
/// vectors in index order. `None` when a coordinate is out of range or the key does not fit.
#[allow(clippy::cast_sign_loss)]
pub(crate) fn packed_key(u: &[i64], k: usize, index_bits: u32) -> Option<u128> {
    const TOP: i64 = (1 << KEY_COORD_BITS) - 1;
    if u.len() as u32 * KEY_COORD_BITS + index_bits > 128 || (k as u128) >> index_bits != 0 {
        return None;
    }
    let mut key: u128 = 0;
    for &x in u {
        if !(0..=TOP).contains(&x) {
            return None;
        }
        key = (key << KEY_COORD_BITS) | (TOP - x) as u128;
    }
    Some((key << index_bits) | k as u128)
}

/// Buffers for sorting vectors, reused from one sort to the next.
#[derive(Debug, Default)]
pub(crate) struct SortBuf {
    keys: Vec<u128>,
    order: Vec<usize>,
}

impl SortBuf {
    /// The indices of `n` vectors (each `d` long, flattened in `utils`) in lexicographically descending
    /// order, equal vectors in index order (what a stable sort gives). Up to three coordinates sort as packed
    /// integer keys, several times faster than comparing slices. `runs`: the vectors come as a few runs
    /// already in order, which a run-adaptive sort merges instead of sorting from scratch.
    pub(crate) fn descending(&mut self, d: usize, utils: &[i64], n: usize, runs: bool) -> &[usize] {
        let index_bits = usize::BITS - n.leading_zeros();
        self.keys.clear();
        if d <= 3 && (0..n).all(|k| self.push(&utils[k * d..(k + 1) * d], k, index_bits)) {
            return self.finish(index_bits, runs);
        }
        let u = |k: usize| &utils[k * d..(k + 1) * d];
        self.order.clear();
        self.order.extend(0..n);
        self.order.sort_by(|&a, &b| u(b).cmp(u(a)));
        &self.order
    }

    /// Adds vector `u` of index `k` to the keys to sort; `false` when its key does not fit.
    fn push(&mut self, u: &[i64], k: usize, index_bits: u32) -> bool {
        packed_key(u, k, index_bits)
            .map(|key| self.keys.push(key))
            .is_some()
    }

    /// The indices of the keys pushed, sorted (by a run-adaptive sort for `runs`).
    fn finish(&mut self, index_bits: u32, runs: bool) -> &[usize] {
        if runs {
            self.keys.sort();
        } else {
            self.keys.sort_unstable();
        }
        let mask = (1u128 << index_bits) - 1;
        self.order.clear();
        #[allow(clippy::cast_possible_truncation)]
        self.order
            .extend(self.keys.iter().map(|key| (key & mask) as usize));
        &self.order
    }
}

/// Whether two short vectors are equal (without the call a slice comparison makes).
#[inline]
pub(crate) fn same(a: &[i64], b: &[i64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Sorts candidate indices lexicographically descending by utility vector, merges equal vectors and keeps the
/// non-dominated ones. Returns (kept index, merged count) in lexicographically descending order.
pub fn reduce(
    d: usize,
    utils: &[i64],
    counts: &[u128],
    saturated: &mut bool,
) -> Vec<(usize, u128)> {
    let mut merged = Vec::new();
    reduce_with(
        d,
        utils,
        counts,
        saturated,
        &mut SortBuf::default(),
        &mut merged,
    );
    merged
}

/// [`reduce`] into `merged`, with reused buffers.
fn reduce_with(
    d: usize,
    utils: &[i64],
    counts: &[u128],
    saturated: &mut bool,
    buf: &mut SortBuf,
    merged: &mut Vec<(usize, u128)>,
) {
    // Among equal vectors the first generated stays the representative (determinism).
    let order = buf.descending(d, utils, counts.len(), false);
    let u = |k: usize| &utils[k * d..(k + 1) * d];
    merged.clear();
    for &k in order {
        if let Some(last) = merged.last_mut()
            && same(u(last.0), u(k))
        {
            let (c, over) = last.1.overflowing_add(counts[k]);
            if over {
                *saturated = true;
                last.1 = u128::MAX;
            } else {
                last.1 = c;
            }
            continue;
        }
        merged.push((k, counts[k]));
    }
    match d {
        0 | 1 => {
            merged.truncate(1);
        }
        2 => {
            let mut best = i64::MIN;
            merged.retain(|&(k, _)| {
                let y = utils[k * 2 + 1];
                if y > best {
                    best = y;
                    true
                } else {
                    false
                }
            });
        }
        3 => {
            // Staircase of (u1 -> u2) over kept points; u2 strictly decreases as u1 grows.
            let mut stair: BTreeMap<i64, i64> = BTreeMap::new();
            merged.retain(|&(k, _)| {
                let (y, z) = (utils[k * 3 + 1], utils[k * 3 + 2]);
                if let Some((_, &zz)) = stair.range(y..).next()
                    && zz >= z
                {
                    return false;
                }
                let remove: Vec<i64> = stair
                    .range(..=y)
                    .rev()
                    .take_while(|(_, zz)| **zz <= z)
                    .map(|(k, _)| *k)
                    .collect();
                for key in remove {
                    stair.remove(&key);
                }
                stair.insert(y, z);
                true
            });
        }
        _ => {
            let mut kept: Vec<(usize, u128)> = Vec::new();
            for &(k, c) in merged.iter() {
                let uk = u(k);
                if !kept
                    .iter()
                    .any(|&(q, _)| u(q).iter().zip(uk).all(|(a, b)| a >= b))
                {
                    kept.push((k, c));
                }
            }
            *merged = kept;
        }
    }
}

/// The frontier of the packages in `bx` that can still reach every reservation.
#[allow(clippy::needless_range_loop)]
pub fn frontier_of_box(model: &Model, bx: &Box, limits: FrontierLimits) -> Points {
    let d = model.parties;
    let n = bx.len();
    // maxrem[k * d + p]: the most party p can still gain from issues k.. of the box.
    let mut maxrem = vec![0i64; (n + 1) * d];
    for k in (0..n).rev() {
        for p in 0..d {
            let best = bx[k]
                .iter()
                .map(|&o| model.term(k, o, p))
                .max()
                .unwrap_or(0);
            maxrem[k * d + p] = maxrem[(k + 1) * d + p] + best;
        }
    }
    let r = &model.reservation;
    if (0..d).any(|p| maxrem[p] < r[p]) {
        return Points {
            d,
            n,
            counts_exact: true,
            ..Points::default()
        };
    }
    let mut utils = vec![0i64; d];
    let mut counts: Vec<u128> = vec![1];
    // back[starts[k] + j]: (parent index, option) of point j kept after issue k.
    let mut back: Vec<(u32, u32)> = Vec::new();
    let mut starts: Vec<usize> = Vec::with_capacity(n);
    let mut saturated = false;
    let mut bound = 0i64;
    let (mut buf, mut kept) = (SortBuf::default(), Vec::new());
    // Candidate buffers, reused from issue to issue.
    let (mut cu, mut cc, mut cb): (Vec<i64>, Vec<u128>, Vec<(u32, u32)>) =
        (Vec::new(), Vec::new(), Vec::new());
    for k in 0..n {
        let opts = &bx[k];
        let need = &maxrem[(k + 1) * d..(k + 2) * d];
        cu.clear();
        cc.clear();
        cb.clear();
        cu.reserve(counts.len() * opts.len() * d);
        cc.reserve(counts.len() * opts.len());
        cb.reserve(counts.len() * opts.len());
        for j in 0..counts.len() {
            let base = &utils[j * d..(j + 1) * d];
            'opt: for &o in opts {
                let t = model.terms(k, o);
                for p in 0..d {
                    if base[p] + t[p] + need[p] + bound < r[p] {
                        continue 'opt;
                    }
                }
                for p in 0..d {
                    cu.push(base[p] + t[p]);
                }
                cc.push(counts[j]);
                // Parents and options number far below 2^32 (points_max and OPTIONS_PER_ISSUE_MAX).
                #[allow(clippy::cast_possible_truncation)]
                cb.push((j as u32, o as u32));
            }
        }
        reduce_with(d, &cu, &cc, &mut saturated, &mut buf, &mut kept);
        if kept.len() > limits.points_max {
            let (thinned, delta) = thin(d, &cu, std::mem::take(&mut kept), limits.points_max);
            kept = thinned;
            bound += delta;
        }
        utils.clear();
        counts.clear();
        starts.push(back.len());
        for &(q, c) in &kept {
            utils.extend_from_slice(&cu[q * d..(q + 1) * d]);
            counts.push(c);
            back.push(cb[q]);
        }
    }
    let mut packages = vec![0usize; counts.len() * n];
    for (last, pkg) in packages.chunks_exact_mut(n.max(1)).enumerate() {
        let mut j = last;
        for k in (0..n).rev() {
            let (parent, o) = back[starts[k] + j];
            pkg[k] = o as usize;
            j = parent as usize;
        }
    }
    Points {
        d,
        n,
        utils,
        counts,
        packages,
        counts_exact: !saturated && bound == 0,
        bound,
    }
}

/// Thins a non-dominated set to at most `max` points by keeping one point per grid cell of side `delta`
/// (then re-filtering dominance). Every dropped point is within `delta` of a kept one in every coordinate.
fn thin(
    d: usize,
    utils: &[i64],
    kept: Vec<(usize, u128)>,
    max: usize,
) -> (Vec<(usize, u128)>, i64) {
    let mut delta: i64 = 1_000; // 1e-6 in fixed point
    loop {
        let mut cells: BTreeMap<Vec<i64>, (usize, u128)> = BTreeMap::new();
        for &(k, c) in &kept {
            let key: Vec<i64> = utils[k * d..(k + 1) * d]
                .iter()
                .map(|x| x.div_euclid(delta))
                .collect();
            let e = cells.entry(key).or_insert((k, 0));
            e.1 = e.1.saturating_add(c);
            // keep the point with the largest sum in the cell
            let s_new: i64 = utils[k * d..(k + 1) * d].iter().sum();
            let s_old: i64 = utils[e.0 * d..(e.0 + 1) * d].iter().sum();
            if s_new > s_old {
                e.0 = k;
            }
        }
        if cells.len() <= max || delta > crate::model::UNIT {
            let mut v: Vec<(usize, u128)> = cells.into_values().collect();
            let idx_utils: Vec<i64> = v
                .iter()
                .flat_map(|&(k, _)| utils[k * d..(k + 1) * d].iter().copied())
                .collect();
            let cnt: Vec<u128> = v.iter().map(|&(_, c)| c).collect();
            let mut sat = false;
            let red = reduce(d, &idx_utils, &cnt, &mut sat);
            v = red.into_iter().map(|(i, c)| (v[i].0, c)).collect();
            return (v, delta);
        }
        delta *= 2;
    }
}

/// The non-dominated union of several point sets (from disjoint boxes: equal vectors add their counts).
pub fn union(sets: Vec<Points>, d: usize) -> Points {
    let mut utils = Vec::new();
    let mut counts = Vec::new();
    let mut packages = Vec::new();
    let mut exact = true;
    let mut bound = 0;
    let n = sets.first().map_or(0, |s| s.n);
    for s in sets {
        exact &= s.counts_exact;
        bound = bound.max(s.bound);
        utils.extend(s.utils);
        counts.extend(s.counts);
        packages.extend(s.packages);
    }
    let mut sat = false;
    let kept = reduce(d, &utils, &counts, &mut sat);
    let mut out = Points {
        d,
        n,
        counts_exact: exact && !sat,
        bound,
        ..Points::default()
    };
    for (k, c) in kept {
        out.utils.extend_from_slice(&utils[k * d..(k + 1) * d]);
        out.counts.push(c);
        out.packages
            .extend_from_slice(&packages[k * n..(k + 1) * n]);
    }
    out
}

/// Merges equal vectors (adding counts, saturating) without any dominance filtering.
pub fn reduce_counts(d: usize, utils: Vec<i64>, counts: Vec<u128>) -> (Vec<i64>, Vec<u128>) {
    let n = counts.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by(|&a, &b| utils[a * d..(a + 1) * d].cmp(&utils[b * d..(b + 1) * d]));
    let mut ou: Vec<i64> = Vec::with_capacity(utils.len());
    let mut oc: Vec<u128> = Vec::with_capacity(n);
    for k in order {
        let u = &utils[k * d..(k + 1) * d];
        if !oc.is_empty() && &ou[ou.len() - d..] == u {
            let last = oc.len() - 1;
            oc[last] = oc[last].saturating_add(counts[k]);
        } else {
            ou.extend_from_slice(u);
            oc.push(counts[k]);
        }
    }
    (ou, oc)
}
