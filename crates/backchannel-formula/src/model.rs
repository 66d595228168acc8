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

/// A scenario compiled for the solvers.
#[derive(Clone, Debug)]
pub struct Model {
    /// Number of parties.
    pub parties: usize,
    /// Number of options per issue.
    pub options: Vec<usize>,
    /// `terms[issue][option * parties + party]`: that party's fixed-point utility term.
    pub terms: Vec<Vec<i64>>,
    /// Reservations in fixed point.
    pub reservation: Vec<i64>,
    /// Options allowed by every party's red lines, per issue.
    pub red_line_ok: Vec<Vec<bool>>,
    /// Options also allowed by the unary requirements (`require_one_of`, `forbid`), per issue.
    pub unary_ok: Vec<Vec<bool>>,
    /// `implies` requirements as (if issue, if options, then issue, then options), option masks.
    pub implies: Vec<(usize, Vec<bool>, usize, Vec<bool>)>,
}

/// A product set of packages: the allowed options of each issue.
pub type Box = Vec<Vec<usize>>;

impl Model {
    /// Compiles a validated scenario.
    pub fn new(s: &Scenario) -> Model {
        let parties = s.parties.len();
        let options: Vec<usize> = s.issues.iter().map(|i| i.options.len()).collect();
        let mut terms = Vec::with_capacity(s.issues.len());
        for issue in &s.issues {
            let mut t = vec![0i64; issue.options.len() * parties];
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
            terms.push(t);
        }
        let reservation = s.parties.iter().map(|p| to_fixed(p.reservation)).collect();
        let mask = |issue: usize, ids: &[String]| -> Vec<bool> {
            s.issues[issue]
                .options
                .iter()
                .map(|o| ids.contains(&o.id))
                .collect()
        };
        let mut red_line_ok: Vec<Vec<bool>> = options.iter().map(|&n| vec![true; n]).collect();
        for party in &s.parties {
            for (issue_id, forbidden) in &party.red_lines {
                if let Some(i) = s.issue_index(issue_id) {
                    for (o, f) in mask(i, forbidden).into_iter().enumerate() {
                        if f {
                            red_line_ok[i][o] = false;
                        }
                    }
                }
            }
        }
        let mut unary_ok = red_line_ok.clone();
        let mut implies = Vec::new();
        for req in &s.requirements {
            match &req.kind {
                RequirementKind::RequireOneOf { issue, options } => {
                    if let Some(i) = s.issue_index(issue) {
                        for (o, keep) in mask(i, options).into_iter().enumerate() {
                            if !keep {
                                unary_ok[i][o] = false;
                            }
                        }
                    }
                }
                RequirementKind::Forbid { issue, options } => {
                    if let Some(i) = s.issue_index(issue) {
                        for (o, f) in mask(i, options).into_iter().enumerate() {
                            if f {
                                unary_ok[i][o] = false;
                            }
                        }
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
        self.terms[issue][option * self.parties + party]
    }

    /// Utility vector of a package given as option indices.
    pub fn utilities(&self, package: &[usize]) -> Vec<i64> {
        let mut u = vec![0i64; self.parties];
        for (i, &o) in package.iter().enumerate() {
            for (p, x) in u.iter_mut().enumerate() {
                *x += self.term(i, o, p);
            }
        }
        u
    }

    /// Whether a package (option indices) is within red lines and meets every requirement.
    pub fn feasible(&self, package: &[usize]) -> bool {
        package
            .iter()
            .enumerate()
            .all(|(i, &o)| self.unary_ok[i][o])
            && self
                .implies
                .iter()
                .all(|(a, ma, b, mb)| !ma[package[*a]] || mb[package[*b]])
    }

    /// The feasible set as disjoint boxes: split on whether each `implies` condition holds.
    /// `None` when that would take more than [`BOXES_MAX`] boxes.
    pub fn boxes(&self) -> Option<Vec<Box>> {
        let base: Box = self
            .unary_ok
            .iter()
            .map(|ok| {
                ok.iter()
                    .enumerate()
                    .filter(|(_, k)| **k)
                    .map(|(o, _)| o)
                    .collect()
            })
            .collect();
        let mut out = vec![base];
        for (a, ma, b, mb) in &self.implies {
            let mut next = Vec::with_capacity(out.len() * 2);
            for bx in out {
                let (yes, no): (Vec<usize>, Vec<usize>) = bx[*a].iter().partition(|&&o| ma[o]);
                if !no.is_empty() {
                    let mut nb = bx.clone();
                    nb[*a] = no;
                    next.push(nb);
                }
                if !yes.is_empty() {
                    let mut yb = bx;
                    yb[*a] = yes;
                    let then: Vec<usize> = yb[*b].iter().copied().filter(|&o| mb[o]).collect();
                    if !then.is_empty() {
                        yb[*b] = then;
                        next.push(yb);
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
