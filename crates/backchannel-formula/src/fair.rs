//! Fair points over a set of acceptable utility vectors, compared exactly in integer arithmetic.
//!
//! Gains are utilities above each party's reservation (fixed point, so non-negative integers). Nash
//! products are compared as exact big integers; Kalai–Smorodinsky shares by cross-multiplication.

use std::cmp::Ordering;

/// Which fair point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Criterion {
    /// Maximise the product of gains.
    Nash,
    /// Maximise the smallest gain as a share of that party's best acceptable gain.
    KalaiSmorodinsky,
    /// Maximise the smallest gain.
    Egalitarian,
    /// Maximise the sum of utilities.
    Utilitarian,
}

/// Exact product of non-negative integers as little-endian 32-bit limbs.
pub fn big_product(xs: impl IntoIterator<Item = u64>) -> Vec<u32> {
    let mut limbs: Vec<u32> = vec![1];
    for x in xs {
        if x == 0 {
            return vec![0];
        }
        let mut carry: u128 = 0;
        for l in &mut limbs {
            let v = u128::from(*l) * u128::from(x) + carry;
            *l = (v & 0xffff_ffff) as u32;
            carry = v >> 32;
        }
        while carry > 0 {
            limbs.push((carry & 0xffff_ffff) as u32);
            carry >>= 32;
        }
    }
    while limbs.len() > 1 && limbs.last() == Some(&0) {
        limbs.pop();
    }
    limbs
}

/// Compares two [`big_product`] results.
pub fn cmp_big(a: &[u32], b: &[u32]) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.iter().rev().cmp(b.iter().rev()))
}

/// The big product as a float (for reports).
pub fn big_to_f64(a: &[u32]) -> f64 {
    a.iter()
        .rev()
        .fold(0.0, |acc, &l| acc * 4_294_967_296.0 + f64::from(l))
}

fn gains(u: &[i64], r: &[i64]) -> Vec<u64> {
    u.iter()
        .zip(r)
        .map(|(a, b)| (a - b).max(0).unsigned_abs())
        .collect()
}

/// The smallest share `g_p / best_p` as a fraction (numerator, denominator); a party whose best gain is 0 has share 1.
fn min_share(g: &[u64], best: &[u64]) -> (u128, u128) {
    let mut m: (u128, u128) = (1, 1);
    for (&gp, &bp) in g.iter().zip(best) {
        if bp == 0 {
            continue;
        }
        let f = (u128::from(gp), u128::from(bp));
        if f.0 * m.1 < m.0 * f.1 {
            m = f;
        }
    }
    m
}

/// [`min_share`] for gains below 2^32, in 64-bit arithmetic (the same fraction).
fn min_share_narrow(g: &[u64], best: &[u64]) -> (u64, u64) {
    let mut m: (u64, u64) = (1, 1);
    for (&gp, &bp) in g.iter().zip(best) {
        if bp == 0 {
            continue;
        }
        if gp * m.1 < m.0 * bp {
            m = (gp, bp);
        }
    }
    m
}

/// Indices of the vectors (each of length `d`, flattened) that maximise the criterion; empty when none.
/// All vectors must be acceptable (at or above `reservation`).
///
/// Each vector's key (Nash product, smallest gain, sum, smallest share) is computed once; Nash products are
/// exact `u128`s when every product fits, exact big integers otherwise. The answer is the one [`compare`]
/// gives: the first maximal vector, then every vector that ties with it, in index order.
pub fn best(criterion: Criterion, d: usize, utils: &[i64], reservation: &[i64]) -> Vec<usize> {
    Gains::new(d, utils, reservation).best(criterion)
}

/// Every vector's gains over the reservations, computed once for several criteria.
#[derive(Clone, Debug)]
pub struct Gains<'a> {
    d: usize,
    n: usize,
    utils: &'a [i64],
    gain: Vec<u64>,
    /// Every gain below 2^32 (utilities in fixed point always are).
    narrow: bool,
}

impl<'a> Gains<'a> {
    /// The gains of acceptable vectors (each of length `d`, flattened).
    pub fn new(d: usize, utils: &'a [i64], reservation: &[i64]) -> Gains<'a> {
        let n = utils.len().checked_div(d).unwrap_or(0);
        let mut gain: Vec<u64> = Vec::with_capacity(n * d);
        for u in utils.chunks_exact(d.max(1)) {
            for (a, b) in u.iter().zip(reservation) {
                gain.push((a - b).max(0).unsigned_abs());
            }
        }
        let narrow = gain.iter().all(|&g| g < 1 << 32);
        Gains {
            d,
            n,
            utils,
            gain,
            narrow,
        }
    }

    fn g(&self, k: usize) -> &[u64] {
        &self.gain[k * self.d..(k + 1) * self.d]
    }

    /// As [`best`].
    pub fn best(&self, criterion: Criterion) -> Vec<usize> {
        let (n, d) = (self.n, self.d);
        if n == 0 {
            return Vec::new();
        }
        match criterion {
            Criterion::Nash => {
                let product = |k: usize| {
                    self.g(k)
                        .iter()
                        .try_fold(1u128, |acc, &x| acc.checked_mul(u128::from(x)))
                };
                if self.narrow && d <= 4 {
                    // Four factors below 2^32: the product fits in 128 bits.
                    winners(
                        n,
                        |k| self.g(k).iter().fold(1u128, |acc, &x| acc * u128::from(x)),
                        Ord::cmp,
                    )
                } else if (0..n).all(|k| product(k).is_some()) {
                    winners(n, |k| product(k).unwrap_or(0), Ord::cmp)
                } else {
                    // Some product does not fit in 128 bits: exact big integers for all.
                    let keys: Vec<Vec<u32>> = (0..n)
                        .map(|k| big_product(self.g(k).iter().copied()))
                        .collect();
                    winners(n, |k| &keys[k], |a, b| cmp_big(a, b))
                }
            }
            Criterion::Egalitarian => winners(n, |k| self.g(k).iter().copied().min(), Ord::cmp),
            Criterion::Utilitarian => winners(
                n,
                |k| self.utils[k * d..(k + 1) * d].iter().sum::<i64>(),
                Ord::cmp,
            ),
            Criterion::KalaiSmorodinsky => {
                let mut best_gain = vec![0u64; d];
                for k in 0..n {
                    for (b, &x) in best_gain.iter_mut().zip(self.g(k)) {
                        *b = (*b).max(x);
                    }
                }
                if self.narrow {
                    // Shares of gains below 2^32: cross products fit in 64 bits.
                    winners(
                        n,
                        |k| min_share_narrow(self.g(k), &best_gain),
                        |fa, fb| (fa.0 * fb.1).cmp(&(fb.0 * fa.1)),
                    )
                } else {
                    winners(
                        n,
                        |k| min_share(self.g(k), &best_gain),
                        |fa, fb| (fa.0 * fb.1).cmp(&(fb.0 * fa.1)),
                    )
                }
            }
        }
    }
}

/// Among keys `0..n`: the first maximal key under `cmp`, then every key that ties with it, in index order.
fn winners<T>(n: usize, key: impl Fn(usize) -> T, cmp: impl Fn(&T, &T) -> Ordering) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::with_capacity(4);
    out.push(0);
    let mut top = key(0);
    for k in 1..n {
        let x = key(k);
        match cmp(&x, &top) {
            Ordering::Greater => {
                out.clear();
                out.push(k);
                top = x;
            }
            Ordering::Equal => out.push(k),
            Ordering::Less => {}
        }
    }
    out
}

/// Compares two acceptable vectors under a criterion.
pub fn compare(
    criterion: Criterion,
    a: &[i64],
    b: &[i64],
    reservation: &[i64],
    best_gain: &[u64],
) -> Ordering {
    let (ga, gb) = (gains(a, reservation), gains(b, reservation));
    match criterion {
        Criterion::Nash => cmp_big(&big_product(ga), &big_product(gb)),
        Criterion::Egalitarian => ga.iter().min().cmp(&gb.iter().min()),
        Criterion::Utilitarian => a.iter().sum::<i64>().cmp(&b.iter().sum::<i64>()),
        Criterion::KalaiSmorodinsky => {
            let (fa, fb) = (min_share(&ga, best_gain), min_share(&gb, best_gain));
            (fa.0 * fb.1).cmp(&(fb.0 * fa.1))
        }
    }
}

/// The Nash product of a vector's gains, as a float.
pub fn nash_product(u: &[i64], reservation: &[i64]) -> f64 {
    u.iter()
        .zip(reservation)
        .map(|(a, b)| crate::model::from_fixed((a - b).max(0)))
        .product()
}
