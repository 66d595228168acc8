//! The single negotiating text: from the current draft and each party's clause-by-clause answers, propose the
//! next draft on the frontier, near the Nash point, meeting as many objections as possible; and a seeded
//! simulation of parties answering from their own profiles.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::fair;
use crate::model::{Model, from_fixed};
use crate::scenario::{Package, Scenario};
use crate::solve::{Solution, SolveOptions, solve};
use crate::synth::Rng;

/// A party's answer to one clause.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "answer", content = "option")]
pub enum Answer {
    /// The clause is fine.
    Accept,
    /// The clause must change.
    Object,
    /// The clause should read this option instead.
    Prefer(String),
}

/// One party's answers, by issue id (issues not listed count as accepted).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Party id.
    pub party: String,
    /// Answers per issue id.
    pub answers: BTreeMap<String, Answer>,
}

/// One change from the current draft.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// Issue id.
    pub issue: String,
    /// Option in the current draft.
    pub from: String,
    /// Option in the next draft.
    pub to: String,
    /// Why.
    pub explanation: String,
}

/// The proposal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Draft {
    /// The next text.
    pub package: Package,
    /// Clause by clause changes.
    pub changes: Vec<Change>,
    /// Each party's utility for it.
    pub utilities: Vec<f64>,
    /// Its Nash product as a share of the best acceptable one.
    pub nash_share: f64,
    /// Objections (and preferences) met, of those raised.
    pub objections_met: usize,
    /// Objections raised.
    pub objections_total: usize,
}

/// Knobs for [`next_draft`].
#[derive(Clone, Copy, Debug)]
pub struct DraftOptions {
    /// The least share of the best Nash product a proposal keeps. The engine asks first for
    /// a text within [`SHARES`]' first step of the best; while objections stand and that text
    /// would meet none of them and change nothing, it gives up share step by step, down to
    /// this floor, to meet them.
    pub nash_share_min: f64,
}

/// The shares of the best Nash product the engine asks of a proposal, in turn, before the
/// floor (`DraftOptions::nash_share_min`).
pub const SHARES: [f64; 6] = [0.995, 0.98, 0.95, 0.9, 0.85, 0.8];

impl Default for DraftOptions {
    fn default() -> Self {
        DraftOptions {
            nash_share_min: 0.8,
        }
    }
}

/// Why no draft can be proposed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DraftError {
    /// The current draft names an unknown issue or option.
    #[error(
        "the current draft is not a package of this scenario (every issue needs a known option)"
    )]
    BadDraft,
    /// A response names an unknown party.
    #[error("response from unknown party {0:?}")]
    UnknownParty(String),
    /// No acceptable package exists.
    #[error("no acceptable package: {0}")]
    Empty(String),
}

/// Proposes the next draft, given a solution of the same scenario.
pub fn next_draft(
    s: &Scenario,
    sol: &Solution,
    current: &Package,
    responses: &[Response],
    opts: &DraftOptions,
) -> Result<Draft, DraftError> {
    let cur = Model::indices(s, current).ok_or(DraftError::BadDraft)?;
    for r in responses {
        if s.party_index(&r.party).is_none() {
            return Err(DraftError::UnknownParty(r.party.clone()));
        }
    }
    if sol.pareto.is_empty() {
        return Err(DraftError::Empty(
            sol.explanations.empty.clone().unwrap_or_default(),
        ));
    }
    let model = Model::new(s);
    let r = &model.reservation;
    let products: Vec<Vec<u32>> = sol
        .fixed
        .iter()
        .map(|u| fair::big_product(u.iter().zip(r).map(|(a, b)| (a - b).max(0).unsigned_abs())))
        .collect();
    let best = products
        .iter()
        .max_by(|a, b| fair::cmp_big(a, b))
        .cloned()
        .unwrap_or_default();
    let best_f = fair::big_to_f64(&best);
    let share = |k: usize| {
        if best_f > 0.0 {
            fair::big_to_f64(&products[k]) / best_f
        } else {
            1.0
        }
    };
    // objections: (issue index, party id, preferred option index)
    let mut objections: Vec<(usize, String, Option<usize>)> = Vec::new();
    for resp in responses {
        for (issue_id, ans) in &resp.answers {
            let Some(i) = s.issue_index(issue_id) else {
                continue;
            };
            match ans {
                Answer::Accept => {}
                Answer::Object => objections.push((i, resp.party.clone(), None)),
                Answer::Prefer(o) => {
                    let pos = s.issues[i].options.iter().position(|x| &x.id == o);
                    objections.push((i, resp.party.clone(), pos));
                }
            }
        }
    }
    let met = |pkg: &[usize]| -> usize {
        objections
            .iter()
            .filter(|(i, _, pref)| match pref {
                Some(o) => pkg[*i] == *o,
                None => pkg[*i] != cur[*i],
            })
            .count()
    };
    let changes = |pkg: &[usize]| pkg.iter().zip(&cur).filter(|(a, b)| a != b).count();
    // The best proposal keeping `threshold` of the best Nash product (or, if none does, the
    // best there is): most objections met, then the best product, then fewest changes.
    let best_at = |threshold: f64| -> Option<usize> {
        let mut candidates: Vec<usize> = (0..sol.pareto.len())
            .filter(|&k| share(k) >= threshold)
            .collect();
        if candidates.is_empty() {
            candidates = (0..sol.pareto.len()).collect();
        }
        candidates.into_iter().max_by(|&x, &y| {
            let (px, py) = (&sol.indices[x], &sol.indices[y]);
            met(px)
                .cmp(&met(py))
                .then(fair::cmp_big(&products[x], &products[y]))
                .then(changes(py).cmp(&changes(px)))
                .then(y.cmp(&x))
        })
    };
    // While objections stand, a text identical to the current one helps no one: give up
    // share, step by step down to the floor, until the proposal meets one or moves.
    let floor = opts.nash_share_min.clamp(0.0, 1.0);
    let steps = SHARES
        .iter()
        .copied()
        .filter(|s| *s > floor)
        .chain(std::iter::once(floor));
    let mut chosen = None;
    for threshold in steps {
        let Some(k) = best_at(threshold) else { break };
        let first = *chosen.get_or_insert(k);
        let stalls = |k: usize| {
            !objections.is_empty() && met(&sol.indices[k]) == 0 && changes(&sol.indices[k]) == 0
        };
        if !stalls(k) {
            chosen = Some(k);
            break;
        }
        chosen = Some(first);
    }
    let Some(k) = chosen else {
        return Err(DraftError::Empty(String::new()));
    };
    let pkg = &sol.indices[k];
    let mut out_changes = Vec::new();
    for (i, (&to, &from)) in pkg.iter().zip(&cur).enumerate() {
        if to == from {
            continue;
        }
        let issue = &s.issues[i];
        let who: Vec<&str> = objections
            .iter()
            .filter(|(ii, _, pref)| *ii == i && pref.is_none_or(|o| o == to))
            .map(|(_, p, _)| p.as_str())
            .collect();
        let deltas: Vec<String> = s
            .parties
            .iter()
            .enumerate()
            .map(|(p, party)| {
                format!(
                    "{} {:+.3}",
                    party.id,
                    from_fixed(model.term(i, to, p) - model.term(i, from, p))
                )
            })
            .collect();
        let why = if who.is_empty() {
            "moves the text toward the Nash point".to_string()
        } else {
            format!("meets the objection of {}", who.join(", "))
        };
        out_changes.push(Change {
            issue: issue.id.clone(),
            from: issue.options[from].id.clone(),
            to: issue.options[to].id.clone(),
            explanation: format!("{why} (utility change: {})", deltas.join(", ")),
        });
    }
    Ok(Draft {
        package: sol.pareto[k].package.clone(),
        changes: out_changes,
        utilities: sol.pareto[k].utilities.to_vec(),
        nash_share: share(k),
        objections_met: met(pkg),
        objections_total: objections.len(),
    })
}

/// How a simulated party answers a draft from its own profile: accept a clause scoring at least `accept_share`
/// of its best allowed option on that issue, otherwise prefer that best option.
pub fn simulated_response(
    s: &Scenario,
    party: usize,
    draft: &Package,
    accept_share: f64,
) -> Response {
    let p = &s.parties[party];
    let mut answers = BTreeMap::new();
    for issue in &s.issues {
        let scores = p.scores.get(&issue.id);
        let forbidden = p.red_lines.get(&issue.id);
        let score = |o: &str| scores.and_then(|m| m.get(o)).copied().unwrap_or(0.0);
        let Some(best) = issue
            .options
            .iter()
            .filter(|o| forbidden.is_none_or(|f| !f.contains(&o.id)))
            .max_by(|a, b| score(&a.id).total_cmp(&score(&b.id)))
        else {
            continue;
        };
        let cur = draft.get(&issue.id).unwrap_or("");
        let ok = forbidden.is_none_or(|f| !f.iter().any(|x| x == cur))
            && score(cur) >= accept_share * score(&best.id);
        answers.insert(
            issue.id.clone(),
            if ok {
                Answer::Accept
            } else {
                Answer::Prefer(best.id.clone())
            },
        );
    }
    Response {
        party: p.id.clone(),
        answers,
    }
}

/// Runs the single-text process with simulated parties from a seeded random first draft, the
/// mediator holding to the best Nash product (no share given up to meet objections); returns the Nash
/// share (of the best acceptable Nash product) of each draft, the first draft included. A draft that is not
/// acceptable has share 0; when the best product is 0 (some party gains nothing anywhere), an acceptable
/// draft has share 1.
pub fn simulate(s: &Scenario, seed: u64, drafts_max: usize) -> Vec<f64> {
    let sol = solve(s, &SolveOptions::default());
    let model = Model::new(s);
    let r = &model.reservation;
    let best = sol
        .fixed
        .iter()
        .map(|u| fair::big_product(u.iter().zip(r).map(|(a, b)| (a - b).max(0).unsigned_abs())))
        .max_by(|a, b| fair::cmp_big(a, b))
        .map(|b| fair::big_to_f64(&b))
        .unwrap_or(0.0);
    let share = |pkg: &[usize]| -> f64 {
        let u = model.utilities(pkg);
        if !model.feasible(pkg) || u.iter().zip(r).any(|(a, b)| a < b) {
            return 0.0;
        }
        if best <= 0.0 {
            // Every acceptable package's product is 0, the best there is: this one attains it.
            return 1.0;
        }
        fair::big_to_f64(&fair::big_product(
            u.iter().zip(r).map(|(a, b)| (a - b).unsigned_abs()),
        )) / best
    };
    let mut rng = Rng::new(seed);
    let mut cur: Vec<usize> = model.options.iter().map(|&n| rng.below(n)).collect();
    let mut trace = vec![share(&cur)];
    for _ in 0..drafts_max {
        let pkg = model.package(s, &cur);
        let responses: Vec<Response> = (0..s.parties.len())
            .map(|p| simulated_response(s, p, &pkg, 0.8))
            .collect();
        // The classic single-text process: the mediator holds to the best Nash product.
        let strict = DraftOptions {
            nash_share_min: SHARES[0],
        };
        let Ok(d) = next_draft(s, &sol, &pkg, &responses, &strict) else {
            break;
        };
        let Some(next) = Model::indices(s, &d.package) else {
            break;
        };
        let done = next == cur;
        cur = next;
        trace.push(share(&cur));
        if done {
            break;
        }
    }
    trace
}
