//! The formula engine: exact Pareto frontier, fair points, Adjusted Winner and the single negotiating text,
//! over private positions, red lines and observers' requirements.
//!
//! Pure: no I/O outside [`load`], no clock, no global randomness (functions that sample take a seed).

pub mod aw;
pub mod brute;
pub mod count;
pub mod draft;
pub mod fair;
pub mod frontier;
pub mod genius;
pub mod inline;
pub mod load;
pub mod model;
pub mod package;
pub mod scenario;
pub mod small;
pub mod solve;
pub mod synth;
pub mod xml;

pub use aw::{AwOutcome, adjusted_winner};
pub use count::Count;
pub use draft::{Answer, Draft, DraftOptions, Response, next_draft};
pub use load::{LoadError, load};
pub use scenario::{
    Condition, Issue, IssueOption, Package, Party, Requirement, RequirementKind, Scenario,
    ScenarioError,
};
pub use solve::{
    CountBounds, FairPoint, FrontierPoint, Progress, Solution, SolveOptions, solve,
    solve_with_progress,
};

/// A party's utility for a package: the sum over issues of weight × score, in the engine's fixed point
/// (each term rounded to 1e-9). Issues missing from the package, or unknown options, contribute 0.
pub fn utility(s: &Scenario, party_index: usize, package: &Package) -> f64 {
    let Some(party) = s.parties.get(party_index) else {
        return 0.0;
    };
    let mut total = 0i64;
    for issue in &s.issues {
        let Some(o) = package.get(&issue.id) else {
            continue;
        };
        let w = party.weights.get(&issue.id).copied().unwrap_or(0.0);
        let sc = party
            .scores
            .get(&issue.id)
            .and_then(|m| m.get(o))
            .copied()
            .unwrap_or(0.0);
        total += model::to_fixed(w * sc);
    }
    model::from_fixed(total)
}
