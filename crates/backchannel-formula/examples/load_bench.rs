//! Times loading (and solving) one GENIUS folder or scenario file many times.
//!
//! `cargo run --release -p backchannel-formula --example load_bench -- FOLDER [REPEATS]`

use std::path::Path;
use std::time::Instant;

use backchannel_formula::{SolveOptions, load, solve};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: load_bench FOLDER [REPEATS]");
        std::process::exit(2);
    };
    let repeat: u32 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let path = Path::new(&path);
    let t0 = Instant::now();
    let mut n = 0usize;
    for _ in 0..repeat {
        match load(path) {
            Ok(s) => n += s.issues.len(),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }
    let load_s = t0.elapsed().as_secs_f64() / f64::from(repeat);
    let Ok(s) = load(path) else { return };
    let t1 = Instant::now();
    for _ in 0..repeat {
        n += solve(&s, &SolveOptions::default()).pareto.len();
    }
    let solve_s = t1.elapsed().as_secs_f64() / f64::from(repeat);
    println!(
        "load {:.1} us, solve {:.1} us ({n})",
        load_s * 1e6,
        solve_s * 1e6
    );
}
