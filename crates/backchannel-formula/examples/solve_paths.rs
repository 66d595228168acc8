//! Times `solve` (small-box path allowed) against `solve_general` on one GENIUS folder or scenario file.
//!
//! `cargo run --release -p backchannel-formula --example solve_paths -- FOLDER [REPEATS]`

use std::time::Instant;

use backchannel_formula::solve::solve_general;
use backchannel_formula::{SolveOptions, load, solve};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: solve_paths FOLDER [REPEATS]");
        std::process::exit(2);
    };
    let repeat: u32 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let s = match load(std::path::Path::new(&path)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let opts = SolveOptions::default();
    let mut n = 0usize;
    let t = Instant::now();
    for _ in 0..repeat {
        n += solve(&s, &opts).pareto.len();
    }
    let fast = t.elapsed().as_secs_f64() / f64::from(repeat);
    let t = Instant::now();
    for _ in 0..repeat {
        n += solve_general(&s, &opts).pareto.len();
    }
    let general = t.elapsed().as_secs_f64() / f64::from(repeat);
    println!(
        "solve {:.2} us, solve_general {:.2} us ({n})",
        fast * 1e6,
        general * 1e6
    );
}
