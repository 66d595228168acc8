//! Times the frontier on synthetic scenarios: two parties with 30 and 50 issues × 10 options (red lines,
//! reservations, requirements), three parties with 10^9 packages. Prints JSON lines.
//!
//! `frontier_s` times the frontier alone (compile, split into boxes, the issue-by-issue programme per box,
//! their union), within the red lines and requirements and pruned by the reservations: the part of `solve`
//! that the frontier takes, without the counts and fair points.
//!
//! Each case is also solved without its red lines, requirements and reservations (`free_*`): the frontier
//! of every package, which is what NegMAS's MOBANOSParetoSampler computes. With EXPORT_DIR, the two-party
//! cases are written there as GENIUS folders and the free frontiers are printed, for
//! `scripts/negmas/mobanos.py` to compare.
//!
//! `cargo run --release -p backchannel-formula --example synth_bench [EXPORT_DIR]`

use std::path::PathBuf;
use std::time::Instant;

use backchannel_formula::frontier::{self, FrontierLimits};
use backchannel_formula::model::Model;
use backchannel_formula::scenario::Scenario;
use backchannel_formula::solve::Solution;
use backchannel_formula::synth::{Shape, random};
use backchannel_formula::{SolveOptions, solve};

/// Mean seconds per solve over `reps` solves, and the last answer.
fn timed(s: &Scenario, reps: u32) -> (f64, Solution) {
    let t = Instant::now();
    let mut sol = solve(s, &SolveOptions::default());
    for _ in 1..reps {
        sol = solve(s, &SolveOptions::default());
    }
    (t.elapsed().as_secs_f64() / f64::from(reps), sol)
}

/// Mean seconds to compute the frontier alone, and its number of points.
fn frontier_only(s: &Scenario, reps: u32) -> (f64, usize) {
    let limits = FrontierLimits {
        points_max: SolveOptions::default().points_max,
    };
    let t = Instant::now();
    let mut points = 0;
    for _ in 0..reps {
        let model = Model::new(s);
        let boxes = model.boxes().unwrap_or_default();
        let sets = boxes
            .iter()
            .map(|bx| frontier::frontier_of_box(&model, bx, limits))
            .collect();
        points = frontier::union(sets, model.parties).len();
    }
    (t.elapsed().as_secs_f64() / f64::from(reps), points)
}

fn main() {
    let export = std::env::args().nth(1).map(PathBuf::from);
    let cases = [("2p-30x10", 2, 30), ("2p-50x10", 2, 50), ("3p-9x10", 3, 9)];
    for (name, parties, issues) in cases {
        let shape = Shape {
            parties,
            issues,
            options: 10,
            vary_options: false,
            coarse: false,
            red_lines: 5,
            requirements: 4,
            reservation_max: 0.3,
        };
        let s = random(42, shape);
        let (secs, sol) = timed(&s, 5);
        let (frontier_secs, points) = frontier_only(&s, 5);
        assert_eq!(
            points,
            sol.pareto.len(),
            "the frontier alone and in the solve differ"
        );
        let mut free = s.clone();
        free.requirements.clear();
        for p in &mut free.parties {
            p.red_lines.clear();
            p.reservation = 0.0;
        }
        let (free_secs, free_sol) = timed(&free, 5);
        let mut free_frontier = None;
        if let Some(dir) = export.as_ref().filter(|_| parties == 2) {
            if let Err(e) = backchannel_formula::load::save_genius_folder(&s, &dir.join(name)) {
                eprintln!("export failed: {e}");
                std::process::exit(1);
            }
            free_frontier = Some(
                free_sol
                    .pareto
                    .iter()
                    .map(|p| p.utilities.to_vec())
                    .collect::<Vec<_>>(),
            );
        }
        println!(
            "{}",
            serde_json::json!({
                "case": name, "packages": sol.packages_total.to_string(), "meeting_requirements": sol.meeting_requirements.to_string(),
                "acceptable": sol.acceptable.map(|c| c.to_string()), "acceptable_bounds": sol.acceptable_bounds.map(|b| [b.lower.to_string(), b.upper.to_string()]), "frontier": sol.pareto.len(), "exact": sol.exact, "bound": sol.bound,
                "solve_s": secs, "frontier_s": frontier_secs,
                "free_frontier_points": free_sol.pareto.len(), "free_exact": free_sol.exact, "free_solve_s": free_secs,
                "free_frontier": free_frontier,
            })
        );
    }
}
