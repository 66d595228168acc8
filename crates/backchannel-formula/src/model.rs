//! The compiled form of a scenario: fixed-point utilities per option and the feasible set as a disjoint union of boxes.
//!
//! Utilities are integers in units of [`UNIT`]ths: each term `weight × score` is rounded once to the nearest
//! 1e-9, and a package's utility is the exact integer sum of its terms. Every comparison (dominance, ties,
//! reservations) is then exact, and the brute-force enumerator agrees with the fast paths bit for bit.

use std::sync::Arc;

use crate::package::Table;
use crate::scenario::{Package, RequirementKind, Scenario};

/// Fixed-point units per utility 1.0.
pub const UNIT: i64 = 1_000_000_000;

/// Most boxes the `implies` requirements may split the feasible set into.
pub const BOXES_MAX: usize = 1 << 16;

/// Rounds a utility on [0, 1] to fixed point.
pub fn to_fixed(x: f64) -> i64 {
    // Inputs are validated finite and in [0, 1], so the cast cannot saturate.
    #[allow(clippy::cast_possible_truncation)]
    let v = (x * UNIT as f64).round() as i64;
    v
}

/// Converts fixed point back to a float.
pub fn from_fixed(v: i64) -> f64 {
    v as f64 / UNIT as f64
}

/// A scenario compiled for the solvers. Per-option data of every issue lies in flat arrays, issue after
/// issue: option `o` of issue `k` is at `first[k] + o`.
#[derive(Clone, Debug)]
pub struct Model {
    /// Number of parties.
    pub parties: usize,
    /// Number of options per issue.
    pub options: Vec<usize>,
    /// Where each issue's options start in the flat arrays (one more entry: the total).
    first: Vec<usize>,
    /// `terms[(first[k] + o) * parties + p]`: party `p`'s fixed-point utility term for option `o` of issue `k`.
    terms: Vec<i64>,
    /// Reservations in fixed point.
    pub reservation: Vec<i64>,
    /// Whether each option is allowed by every party's red lines.
    red_line_ok: Vec<bool>,
    /// Whether each option is also allowed by the unary requirements (`require_one_of`, `forbid`).
    unary_ok: Vec<bool>,
    /// `implies` requirements as (if issue, if options, then issue, then options), option masks.
    pub implies: Vec<(usize, Vec<bool>, usize, Vec<bool>)>,
}

/// A product set of packages: the allowed options (indices, ascending) of each issue, in one vector.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Box {
    /// Where each issue's options end in `options`.
    ends: Vec<usize>,
    options: Vec<usize>,
}

impl Box {
    /// A box of these allowed options per issue.
    pub fn new<I: IntoIterator<Item = usize>>(issues: impl IntoIterator<Item = I>) -> Box {
        let mut bx = Box::default();
        for opts in issues {
            bx.options.extend(opts);
            bx.ends.push(bx.options.len());
        }
        bx
    }

    /// Number of issues.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the box has no issue.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The allowed options of each issue, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[usize]> {
        (0..self.len()).map(|k| &self[k])
    }

    /// The number of packages, or `None` past `usize`.
    pub fn size(&self) -> Option<usize> {
        self.iter().try_fold(1usize, |n, o| n.checked_mul(o.len()))
    }

    /// The same box with issue `k`'s options replaced.
    fn with(&self, k: usize, opts: &[usize]) -> Box {
        Box::new(
            self.iter()
                .enumerate()
                .map(|(i, o)| if i == k { opts } else { o }.iter().copied()),
        )
    }
}

impl std::ops::Index<usize> for Box {
    type Output = [usize];
    fn index(&self, k: usize) -> &[usize] {
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        &self.options[start..self.ends[k]]
    }
}

impl Model {
    /// Compiles a validated scenario.
    pub fn new(s: &Scenario) -> Model {
        let parties = s.parties.len();
        let options: Vec<usize> = s.issues.iter().map(|i| i.options.len()).collect();
        let mut first = Vec::with_capacity(options.len() + 1);
        let mut total = 0;
        for &n in &options {
            first.push(total);
            total += n;
        }
        first.push(total);
        let mut terms = vec![0i64; total * parties];
        for (k, issue) in s.issues.iter().enumerate() {
            let t = &mut terms[first[k] * parties..first[k + 1] * parties];
            for (p, party) in s.parties.iter().enumerate() {
                let w = party.weights.get(&issue.id).copied().unwrap_or(0.0);
                let Some(scores) = party.scores.get(&issue.id) else {
                    // No scores: every term is to_fixed(w * 0.0) = 0, as the vector already holds.
                    continue;
                };
                for (o, opt) in issue.options.iter().enumerate() {
                    let sc = scores.get(&opt.id).copied().unwrap_or(0.0);
                    t[o * parties + p] = to_fixed(w * sc);
                }
            }
        }
        let reservation = s.parties.iter().map(|p| to_fixed(p.reservation)).collect();
        let mask = |issue: usize, ids: &[String]| -> Vec<bool> {
            s.issues[issue]
                .options
                .iter()
                .map(|o| ids.contains(&o.id))
                .collect()
        };
        // Marks as not ok the options of `issue` for which `hit` holds.
        let strike = |ok: &mut [bool], issue: usize, hit: &dyn Fn(&String) -> bool| {
            for (o, opt) in s.issues[issue].options.iter().enumerate() {
                if hit(&opt.id) {
                    ok[first[issue] + o] = false;
                }
            }
        };
        let mut red_line_ok = vec![true; total];
        for party in &s.parties {
            for (issue_id, forbidden) in &party.red_lines {
                if let Some(i) = s.issue_index(issue_id) {
                    strike(&mut red_line_ok, i, &|id| forbidden.contains(id));
                }
            }
        }
        let mut unary_ok = red_line_ok.clone();
        let mut implies = Vec::new();
        for req in &s.requirements {
            match &req.kind {
                RequirementKind::RequireOneOf { issue, options } => {
                    if let Some(i) = s.issue_index(issue) {
                        strike(&mut unary_ok, i, &|id| !options.contains(id));
                    }
                }
                RequirementKind::Forbid { issue, options } => {
                    if let Some(i) = s.issue_index(issue) {
                        strike(&mut unary_ok, i, &|id| options.contains(id));
                    }
                }
                RequirementKind::Implies { if_, then } => {
                    if let (Some(a), Some(b)) =
                        (s.issue_index(&if_.issue), s.issue_index(&then.issue))
                    {
                        implies.push((a, mask(a, &if_.options), b, mask(b, &then.options)));
                    }
                }
            }
        }
        Model {
            parties,
            options,
            first,
            terms,
            reservation,
            red_line_ok,
            unary_ok,
            implies,
        }
    }

    /// Number of issues.
    pub fn issues(&self) -> usize {
        self.options.len()
    }

    /// Fixed-point utility term of `party` for `option` of `issue`.
    #[inline]
    pub fn term(&self, issue: usize, option: usize, party: usize) -> i64 {
        self.terms[(self.first[issue] + option) * self.parties + party]
    }

    /// Every party's fixed-point utility term for `option` of `issue`.
    #[inline]
    pub fn terms(&self, issue: usize, option: usize) -> &[i64] {
        let at = (self.first[issue] + option) * self.parties;
        &self.terms[at..at + self.parties]
    }

    /// Whether each option of `issue` is allowed by every party's red lines.
    pub fn red_line_ok(&self, issue: usize) -> &[bool] {
        &self.red_line_ok[self.first[issue]..self.first[issue + 1]]
    }

    /// Whether each option of `issue` is allowed by the red lines and the unary requirements.
    pub fn unary_ok(&self, issue: usize) -> &[bool] {
        &self.unary_ok[self.first[issue]..self.first[issue + 1]]
    }

    /// Utility vector of a package given as option indices.
    pub fn utilities(&self, package: &[usize]) -> Vec<i64> {
        let mut u = vec![0i64; self.parties];
        for (i, &o) in package.iter().enumerate() {
            for (x, t) in u.iter_mut().zip(self.terms(i, o)) {
                *x += t;
            }
        }
        u
    }

    /// Whether a package (option indices) is within red lines and meets every requirement.
    pub fn feasible(&self, package: &[usize]) -> bool {
        package
            .iter()
            .enumerate()
            .all(|(i, &o)| self.unary_ok[self.first[i] + o])
            && self
                .implies
                .iter()
                .all(|(a, ma, b, mb)| !ma[package[*a]] || mb[package[*b]])
    }

    /// The feasible set as disjoint boxes: split on whether each `implies` condition holds.
    /// `None` when that would take more than [`BOXES_MAX`] boxes.
    pub fn boxes(&self) -> Option<Vec<Box>> {
        let base = Box::new((0..self.issues()).map(|k| {
            self.unary_ok(k)
                .iter()
                .enumerate()
                .filter(|(_, ok)| **ok)
                .map(|(o, _)| o)
        }));
        let mut out = vec![base];
        for (a, ma, b, mb) in &self.implies {
            let mut next = Vec::with_capacity(out.len() * 2);
            for bx in out {
                let (yes, no): (Vec<usize>, Vec<usize>) = bx[*a].iter().partition(|&&o| ma[o]);
                if !no.is_empty() {
                    next.push(bx.with(*a, &no));
                }
                if !yes.is_empty() {
                    let yb = bx.with(*a, &yes);
                    let then: Vec<usize> = yb[*b].iter().copied().filter(|&o| mb[o]).collect();
                    if !then.is_empty() {
                        next.push(yb.with(*b, &then));
                    }
                }
            }
            if next.len() > BOXES_MAX {
                return None;
            }
            out = next;
        }
        out.retain(|bx| bx.iter().all(|o| !o.is_empty()));
        Some(out)
    }

    /// Converts option indices to a [`Package`] (for one package; [`Names`] shares ids across many).
    pub fn package(&self, s: &Scenario, idx: &[usize]) -> Package {
        Names::new(s).package(idx)
    }

    /// Converts a [`Package`] to option indices; `None` if an issue is missing or an option unknown.
    pub fn indices(s: &Scenario, p: &Package) -> Option<Vec<usize>> {
        s.issues
            .iter()
            .map(|issue| {
                let o = p.get(&issue.id)?;
                issue.options.iter().position(|x| x.id == o)
            })
            .collect()
    }
}

/// Shared ids for building many packages of one scenario: one table of every issue and option id, which
/// each package then refers to (no string copies, no allocation per package of up to
/// [`crate::package::INLINE`] issues).
#[derive(Debug)]
pub struct Names {
    table: Arc<Table>,
    /// For each issue of the table (sorted by id), its index in the scenario.
    order: Vec<usize>,
}

impl Names {
    /// Names for a validated scenario (issue ids unique).
    pub fn new(s: &Scenario) -> Names {
        let (table, order) = Table::of_scenario(s);
        Names {
            table: Arc::new(table),
            order,
        }
    }

    /// The package of these option indices (one per issue, in scenario order).
    pub fn package(&self, idx: &[usize]) -> Package {
        // Option indices are below OPTIONS_PER_ISSUE_MAX, well within u32.
        #[allow(clippy::cast_possible_truncation)]
        Package::in_table(&self.table, self.order.iter().map(|&i| idx[i] as u32))
    }
}
