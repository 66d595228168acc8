//! Solving a scenario: counts, the exact Pareto frontier of the acceptable set, fair points and explanations.

use std::borrow::Cow;

use serde::Serialize;

use crate::count::{self, Count};
use crate::fair::{self, Criterion};
use crate::frontier::{self, FrontierLimits, Points};
use crate::inline::InlineVec;
use crate::model::{Model, Names, from_fixed};
use crate::scenario::{Package, RequirementKind, Scenario};
use crate::small;

/// Limits and knobs for [`solve`].
#[derive(Clone, Copy, Debug)]
pub struct SolveOptions {
    /// Most frontier points kept per issue before the frontier is thinned to a bounded approximation.
    pub points_max: usize,
    /// Most partial utility vectors the acceptable-count programme may hold at once; it also gives up once
    /// it would have generated more than an eighth of this many in all, and then reports bounds instead.
    pub count_states_max: usize,
}

impl Default for SolveOptions {
    fn default() -> Self {
        SolveOptions {
            points_max: 1_000_000,
            count_states_max: 2_000_000,
        }
    }
}

/// Progress reports from [`solve_with_progress`].
#[derive(Clone, Debug)]
pub enum Progress {
    /// Starting a phase.
    Phase(&'static str),
    /// Box `done` of `total` finished.
    Box {
        /// Boxes done.
        done: usize,
        /// Boxes in all.
        total: usize,
    },
}

/// Each party's utility (or gain), in party order; inline up to four parties.
pub type Utilities = InlineVec<f64, 4>;

/// One point of the frontier.
#[derive(Clone, Debug, Serialize)]
pub struct FrontierPoint {
    /// Each party's utility, in party order.
    pub utilities: Utilities,
    /// A package with these utilities.
    pub package: Package,
    /// How many acceptable packages share these utilities.
    pub count: Count,
}

/// A fair point on the frontier.
#[derive(Clone, Debug, Serialize)]
pub struct FairPoint {
    /// Each party's utility.
    pub utilities: Utilities,
    /// Each party's gain over its reservation.
    pub gains: Utilities,
    /// A package with these utilities.
    pub package: Package,
    /// Index into `pareto`.
    pub frontier_index: usize,
    /// Indices into `pareto` of every point that ties with this one (including it).
    pub ties: Vec<usize>,
    /// The requirements this point meets (all of them, by construction), by id.
    pub meets: Vec<String>,
    /// What the point maximises.
    pub explanation: Cow<'static, str>,
}

/// An option taken off the table, and by whom.
#[derive(Clone, Debug, Serialize)]
pub struct Removal {
    /// Issue id.
    pub issue: String,
    /// Option id.
    pub option: String,
    /// `red_line` or `requirement`.
    pub cause: &'static str,
    /// The party id (red line) or requirement id.
    pub by: String,
    /// A sentence.
    pub explanation: String,
}

/// Why the numbers are what they are.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Explanations {
    /// Options removed by red lines and requirements.
    pub removed: Vec<Removal>,
    /// How each `implies` requirement was handled.
    pub couplings: Vec<String>,
    /// Why the acceptable set is empty, when it is.
    pub empty: Option<String>,
    /// Other remarks (approximations, limits).
    pub notes: Vec<String>,
}

/// Proven bounds on a count that could not be found exactly.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CountBounds {
    /// At least this many.
    pub lower: Count,
    /// At most this many.
    pub upper: Count,
}

/// The answer of [`solve`].
#[derive(Clone, Debug, Serialize)]
pub struct Solution {
    /// Party ids, the order of every `utilities` vector.
    pub parties: Vec<String>,
    /// Every combination of options.
    pub packages_total: Count,
    /// Those within every party's red lines.
    pub within_red_lines: Count,
    /// Those also meeting every requirement.
    pub meeting_requirements: Count,
    /// Those also giving every party at least its reservation; `null` when too many distinct utility
    /// vectors to count exactly.
    pub acceptable: Option<Count>,
    /// When `acceptable` is `null`: proven bounds on it, `{"lower": .., "upper": ..}`; `null` otherwise.
    pub acceptable_bounds: Option<CountBounds>,
    /// The Pareto frontier of the acceptable set, lexicographically descending by utilities.
    pub pareto: Vec<FrontierPoint>,
    /// Whether the frontier (and its counts) are exact.
    pub exact: bool,
    /// When not exact: every acceptable package is within this utility of a frontier point for every party.
    pub bound: Option<f64>,
    /// Nash bargaining point.
    pub nash: Option<FairPoint>,
    /// Kalai–Smorodinsky point.
    pub kalai_smorodinsky: Option<FairPoint>,
    /// Egalitarian point.
    pub egalitarian: Option<FairPoint>,
    /// Utilitarian point.
    pub utilitarian: Option<FairPoint>,
    /// Explanations.
    pub explanations: Explanations,
    /// Fixed-point utilities of `pareto` (for exact comparisons in tests and the next-draft planner).
    #[serde(skip)]
    pub fixed: Rows<i64>,
    /// Option indices of `pareto` representatives.
    #[serde(skip)]
    pub indices: Rows<usize>,
}

/// Rows of one length, held in one vector: `rows[k]` is a slice.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Rows<T> {
    width: usize,
    len: usize,
    data: Vec<T>,
}

impl<T: Copy> Rows<T> {
    /// No rows, room for `rows` rows of `width`.
    pub fn with_capacity(width: usize, rows: usize) -> Rows<T> {
        Rows {
            width,
            len: 0,
            data: Vec::with_capacity(width * rows),
        }
    }

    /// Appends a row (of the rows' width).
    pub fn push(&mut self, row: &[T]) {
        assert_eq!(row.len(), self.width, "row of the wrong width");
        self.data.extend_from_slice(row);
        self.len += 1;
    }
}

impl<T> Rows<T> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Row `k`, if any.
    pub fn get(&self, k: usize) -> Option<&[T]> {
        (k < self.len).then(|| &self.data[k * self.width..(k + 1) * self.width])
    }

    /// The rows in order.
    pub fn iter(&self) -> RowsIter<'_, T> {
        RowsIter { rows: self, k: 0 }
    }

    /// Every row, one after the other.
    pub fn flat(&self) -> &[T] {
        &self.data
    }
}

/// The rows of a [`Rows`], in order.
#[derive(Clone, Debug)]
pub struct RowsIter<'a, T> {
    rows: &'a Rows<T>,
    k: usize,
}

impl<'a, T> Iterator for RowsIter<'a, T> {
    type Item = &'a [T];

    fn next(&mut self) -> Option<&'a [T]> {
        let row = self.rows.get(self.k)?;
        self.k += 1;
        Some(row)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.rows.len - self.k;
        (n, Some(n))
    }
}

impl<T> ExactSizeIterator for RowsIter<'_, T> {}

impl<T> std::ops::Index<usize> for Rows<T> {
    type Output = [T];
    fn index(&self, k: usize) -> &[T] {
        assert!(k < self.len, "row {k} of {}", self.len);
        &self.data[k * self.width..(k + 1) * self.width]
    }
}

impl<'a, T> IntoIterator for &'a Rows<T> {
    type Item = &'a [T];
    type IntoIter = RowsIter<'a, T>;
    fn into_iter(self) -> RowsIter<'a, T> {
        self.iter()
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Rows<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Solves a validated scenario.
pub fn solve(s: &Scenario, opts: &SolveOptions) -> Solution {
    solve_with_progress(s, opts, &mut |_| {})
}

/// Solves, reporting progress (for long runs).
pub fn solve_with_progress(
    s: &Scenario,
    opts: &SolveOptions,
    progress: &mut dyn FnMut(Progress),
) -> Solution {
    solve_inner(s, opts, progress, true)
}

/// Like [`solve`], but never taking the small-box path (enumerating a small box directly): the issue-by-issue
/// programmes only. Gives the same [`Solution`]; for tests and comparisons.
pub fn solve_general(s: &Scenario, opts: &SolveOptions) -> Solution {
    solve_inner(s, opts, &mut |_| {}, false)
}

fn solve_inner(
    s: &Scenario,
    opts: &SolveOptions,
    progress: &mut dyn FnMut(Progress),
    allow_small: bool,
) -> Solution {
    let model = Model::new(s);
    let d = model.parties;
    let mut ex = Explanations {
        removed: removals(s, &model),
        ..Explanations::default()
    };
    progress(Progress::Phase("counting"));
    let packages_total = count::product(model.options.iter().copied());
    let within_red_lines = count::product(
        (0..model.issues()).map(|k| model.red_line_ok(k).iter().filter(|x| **x).count()),
    );
    let boxes = model.boxes();
    let Some(boxes) = boxes else {
        ex.notes.push(format!(
            "the implies requirements split the feasible set into more than {} boxes; not solved",
            crate::model::BOXES_MAX
        ));
        return empty_solution(
            s,
            packages_total,
            within_red_lines,
            Count::Exact(0),
            ex,
            false,
        );
    };
    for (a, _, b, _) in &model.implies {
        ex.couplings.push(format!(
            "issues {:?} and {:?} are coupled by an implies requirement: solved by splitting on whether its condition holds",
            s.issues[*a].id, s.issues[*b].id
        ));
    }
    if !model.implies.is_empty() {
        ex.couplings.push(format!(
            "the feasible set is the disjoint union of {} boxes",
            boxes.len()
        ));
    }
    let meeting_requirements = count::boxes(&boxes);
    let small = match boxes.as_slice() {
        [bx] if allow_small => {
            small::applies(bx, opts.points_max, opts.count_states_max).map(|n| (bx, n))
        }
        _ => None,
    };
    let (acceptable, acceptable_bounds, front) = if let Some((bx, n)) = small {
        // A single small box: every package enumerated at once, with the programmes' very answer.
        let (accepted, front) = small::solve_box(&model, bx, n);
        progress(Progress::Phase("frontier"));
        progress(Progress::Box { done: 1, total: 1 });
        (Some(Count::Exact(accepted)), None, front)
    } else {
        let counted = count::acceptable_or_bounds(&model, &boxes, opts.count_states_max);
        let acceptable = counted.exact;
        // Neither bound can exceed the packages meeting the requirements (float bounds may, by rounding).
        let cap = |c: Count| {
            if c.as_f64() > meeting_requirements.as_f64() {
                meeting_requirements
            } else {
                c
            }
        };
        let acceptable_bounds = acceptable.is_none().then_some(CountBounds {
            lower: cap(counted.lower),
            upper: cap(counted.upper),
        });
        if acceptable.is_none() {
            ex.notes.push(format!(
                "too many distinct utility vectors to count the acceptable packages exactly; between {} and {} of them are acceptable",
                cap(counted.lower),
                cap(counted.upper)
            ));
        }
        progress(Progress::Phase("frontier"));
        let limits = FrontierLimits {
            points_max: opts.points_max,
        };
        let total = boxes.len();
        let mut sets = Vec::with_capacity(total);
        for (i, bx) in boxes.iter().enumerate() {
            sets.push(frontier::frontier_of_box(&model, bx, limits));
            progress(Progress::Box { done: i + 1, total });
        }
        // One box (no implies requirements): its frontier is already reduced, in the order `union` would give.
        let front = if sets.len() == 1 {
            sets.pop().unwrap_or_default()
        } else {
            frontier::union(sets, d)
        };
        (acceptable, acceptable_bounds, front)
    };
    let exact = front.counts_exact && front.bound == 0;
    let bound = (front.bound > 0).then(|| from_fixed(front.bound));
    if let Some(b) = bound {
        ex.notes.push(format!(
            "the frontier is an approximation: every acceptable package is within {b:.6} utility, for every party, of a reported point"
        ));
    } else if !front.counts_exact {
        ex.notes
            .push("some frontier counts exceeded 2^128 and are saturated".to_string());
    }
    let mut sol = empty_solution(
        s,
        packages_total,
        within_red_lines,
        meeting_requirements,
        ex,
        exact,
    );
    sol.acceptable = acceptable;
    sol.acceptable_bounds = acceptable_bounds;
    sol.bound = bound;
    fill_frontier(s, &model, &front, &mut sol);
    if sol.pareto.is_empty() {
        sol.explanations.empty = Some(why_empty(s, &model, &boxes));
    }
    sol
}

fn empty_solution(
    s: &Scenario,
    packages_total: Count,
    within_red_lines: Count,
    meeting_requirements: Count,
    explanations: Explanations,
    exact: bool,
) -> Solution {
    Solution {
        parties: s.parties.iter().map(|p| p.id.clone()).collect(),
        packages_total,
        within_red_lines,
        meeting_requirements,
        acceptable: Some(Count::Exact(0)),
        acceptable_bounds: None,
        pareto: Vec::new(),
        exact,
        bound: None,
        nash: None,
        kalai_smorodinsky: None,
        egalitarian: None,
        utilitarian: None,
        explanations,
        fixed: Rows::with_capacity(s.parties.len(), 0),
        indices: Rows::with_capacity(s.issues.len(), 0),
    }
}

fn fill_frontier(s: &Scenario, model: &Model, front: &Points, sol: &mut Solution) {
    let r = &model.reservation;
    let d = model.parties;
    let names = Names::new(s);
    sol.pareto.reserve(front.len());
    sol.fixed = Rows::with_capacity(d, front.len());
    sol.indices = Rows::with_capacity(front.n, front.len());
    for k in 0..front.len() {
        let u = &front.utils[k * d..(k + 1) * d];
        if u.iter().zip(r).any(|(a, b)| a < b) {
            continue;
        }
        let idx = front.package(k);
        sol.pareto.push(FrontierPoint {
            utilities: u.iter().map(|&x| from_fixed(x)).collect(),
            package: names.package(idx),
            count: Count::Exact(front.counts[k]),
        });
        sol.fixed.push(u);
        sol.indices.push(idx);
    }
    let meets: Vec<String> = s.requirements.iter().map(|q| q.id.clone()).collect();
    let gains = fair::Gains::new(d, sol.fixed.flat(), r);
    let point = |c: Criterion, what: &'static str| -> Option<FairPoint> {
        let ties = gains.best(c);
        let &k = ties.first()?;
        let u = &sol.fixed[k];
        let explanation = if ties.len() > 1 {
            Cow::Owned(format!(
                "{what}; {} frontier points tie, the first is shown",
                ties.len()
            ))
        } else {
            Cow::Borrowed(what)
        };
        Some(FairPoint {
            utilities: sol.pareto[k].utilities.clone(),
            gains: u.iter().zip(r).map(|(a, b)| from_fixed(a - b)).collect(),
            package: sol.pareto[k].package.clone(),
            frontier_index: k,
            ties,
            meets: meets.clone(),
            explanation,
        })
    };
    let nash = point(
        Criterion::Nash,
        "maximises the product of the parties' gains over their reservations",
    );
    let ks = point(
        Criterion::KalaiSmorodinsky,
        "maximises the smallest gain as a share of that party's best acceptable gain",
    );
    let eg = point(
        Criterion::Egalitarian,
        "maximises the smallest gain over reservations",
    );
    let ut = point(
        Criterion::Utilitarian,
        "maximises the sum of the parties' utilities",
    );
    sol.nash = nash;
    sol.kalai_smorodinsky = ks;
    sol.egalitarian = eg;
    sol.utilitarian = ut;
}

fn removals(s: &Scenario, model: &Model) -> Vec<Removal> {
    let mut out = Vec::new();
    for party in &s.parties {
        for (issue, opts) in &party.red_lines {
            for o in opts {
                out.push(Removal {
                    issue: issue.clone(),
                    option: o.clone(),
                    cause: "red_line",
                    by: party.id.clone(),
                    explanation: format!("{} will not accept {issue} = {o}", party.name),
                });
            }
        }
    }
    for req in &s.requirements {
        let (issue, removed): (&String, Vec<&String>) = match &req.kind {
            RequirementKind::Forbid { issue, options } => (issue, options.iter().collect()),
            RequirementKind::RequireOneOf { issue, options } => {
                let Some(i) = s.issue_index(issue) else {
                    continue;
                };
                (
                    issue,
                    s.issues[i]
                        .options
                        .iter()
                        .map(|o| &o.id)
                        .filter(|id| !options.contains(id))
                        .collect(),
                )
            }
            RequirementKind::Implies { .. } => continue,
        };
        for o in removed {
            out.push(Removal {
                issue: issue.clone(),
                option: o.clone(),
                cause: "requirement",
                by: req.id.clone(),
                explanation: format!(
                    "requirement {} of {} rules out {issue} = {o}",
                    req.id, req.by
                ),
            });
        }
    }
    let _ = model;
    out
}

fn why_empty(s: &Scenario, model: &Model, boxes: &[crate::model::Box]) -> String {
    for (i, issue) in s.issues.iter().enumerate() {
        if model.red_line_ok(i).iter().all(|x| !x) {
            return format!(
                "every option of issue {:?} is behind some party's red line",
                issue.id
            );
        }
        if model.unary_ok(i).iter().all(|x| !x) {
            return format!(
                "every option of issue {:?} left by the red lines is ruled out by the observers' requirements",
                issue.id
            );
        }
    }
    if boxes.is_empty() {
        return "the implies requirements, together with the red lines and other requirements, exclude every package"
            .to_string();
    }
    let mut short = Vec::new();
    for (p, party) in s.parties.iter().enumerate() {
        let best = boxes
            .iter()
            .map(|bx| {
                bx.iter()
                    .enumerate()
                    .map(|(k, os)| os.iter().map(|&o| model.term(k, o, p)).max().unwrap_or(0))
                    .sum::<i64>()
            })
            .max()
            .unwrap_or(0);
        if best < model.reservation[p] {
            short.push(format!(
                "the best package within the red lines and requirements gives {} {:.4}, below its reservation {:.4}",
                party.name,
                from_fixed(best),
                party.reservation
            ));
        }
    }
    if short.is_empty() {
        "each party's reservation can be met on its own, but no package within the red lines and requirements meets them all at once".to_string()
    } else {
        short.join("; ")
    }
}
