//! Times the frontier on synthetic scenarios: two parties with 30 and 50 issues × 10 options (red lines,
//! reservations, requirements), three parties with 10^9 packages. Prints JSON lines.
//!
//! `cargo run --release -p backchannel-formula --example synth_bench`

use std::time::Instant;

use backchannel_formula::synth::{Shape, random};
use backchannel_formula::{SolveOptions, solve};

fn main() {
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
        let reps = 5;
        let t = Instant::now();
        let mut sol = solve(&s, &SolveOptions::default());
        for _ in 1..reps {
            sol = solve(&s, &SolveOptions::default());
        }
        let secs = t.elapsed().as_secs_f64() / f64::from(reps);
        println!(
            "{}",
            serde_json::json!({
                "case": name, "packages": sol.packages_total.to_string(), "meeting_requirements": sol.meeting_requirements.to_string(),
                "acceptable": sol.acceptable.map(|c| c.to_string()), "acceptable_bounds": sol.acceptable_bounds.map(|b| [b.lower.to_string(), b.upper.to_string()]), "frontier": sol.pareto.len(), "exact": sol.exact, "bound": sol.bound,
                "solve_s": secs,
            })
        );
    }
}
