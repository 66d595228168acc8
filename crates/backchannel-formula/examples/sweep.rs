//! Loads and solves every GENIUS folder under a directory, printing one JSON line per folder with timings:
//! `load_s`, `solve_s`, `total_s` (medians over REPEATS loads from the files, each followed by a solve) and
//! `solve_us` (solving alone: median over at least REPEATS solves of one already loaded scenario, more when
//! they are quick, in microseconds).
//!
//! `cargo run --release -p backchannel-formula --example sweep -- DOMAINS_DIR [REPEATS] [EXPORT_DIR]`

use std::path::{Path, PathBuf};
use std::time::Instant;

use backchannel_formula::load::{genius_folders, load_with_notes};
use backchannel_formula::{SolveOptions, solve};

/// Solving alone is repeated at least REPEATS times, and beyond that while under this budget, up to
/// [`SOLVE_ONLY_RUNS_MAX`] runs.
const SOLVE_ONLY_BUDGET_S: f64 = 0.05;
const SOLVE_ONLY_RUNS_MAX: usize = 101;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/negotiation-domains/anac".to_string());
    let repeat: u32 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1);
    // Optional: write each loaded domain, normalised as GENIUS semantics define it, to this folder; timings are
    // then taken on the exported folder, the very files a comparison with another tool reads.
    let export = std::env::args().nth(3).map(PathBuf::from);
    let dirs = genius_folders(Path::new(&root));
    for dir in dirs {
        let name = dir
            .strip_prefix(&root)
            .unwrap_or(&dir)
            .to_string_lossy()
            .replace('/', "_");
        let (s, _notes) = match load_with_notes(&dir) {
            Err(e) => {
                println!(
                    "{}",
                    serde_json::json!({"domain": dir.display().to_string(), "error": e.to_string()})
                );
                continue;
            }
            Ok(x) => x,
        };
        let mut timed = dir.clone();
        if let Some(out) = &export {
            let target = out.join(&name);
            match backchannel_formula::load::save_genius_folder(&s, &target) {
                Ok(_) => timed = target,
                Err(e) => eprintln!("export failed: {e}"),
            }
        }
        let sol = solve(&s, &SolveOptions::default());
        // Timed: load and solve from the files, `repeat` times; medians.
        let (mut loads, mut solves, mut totals) = (Vec::new(), Vec::new(), Vec::new());
        let mut same = true;
        for _ in 0..repeat {
            let t0 = Instant::now();
            let Ok((again, _)) = load_with_notes(&timed) else {
                same = false;
                break;
            };
            let t1 = Instant::now();
            let sol2 = solve(&again, &SolveOptions::default());
            let t2 = Instant::now();
            same &= sol2.fixed == sol.fixed;
            loads.push((t1 - t0).as_secs_f64());
            solves.push((t2 - t1).as_secs_f64());
            totals.push((t2 - t0).as_secs_f64());
        }
        // Timed: solve alone, on a scenario already loaded from the same files.
        let mut solve_only = Vec::new();
        if let Ok((loaded, _)) = load_with_notes(&timed) {
            let started = Instant::now();
            while solve_only.len() < SOLVE_ONLY_RUNS_MAX
                && (solve_only.len() < repeat as usize
                    || started.elapsed().as_secs_f64() < SOLVE_ONLY_BUDGET_S)
            {
                let t0 = Instant::now();
                let sol3 = solve(&loaded, &SolveOptions::default());
                solve_only.push(t0.elapsed().as_secs_f64());
                same &= sol3.fixed == sol.fixed;
            }
        }
        println!(
            "{}",
            serde_json::json!({
                "domain": name,
                "parties": s.parties.len(),
                "issues": s.issues.len(),
                "packages": sol.packages_total,
                "acceptable": sol.acceptable,
                "pareto": sol.pareto.iter().map(|p| &p.utilities).collect::<Vec<_>>(),
                "nash": sol.nash.as_ref().map(|n| &n.utilities),
                "nash_ties": sol.nash.as_ref().map(|n| n.ties.len()),
                "nash_all": sol.nash.as_ref().map(|n| n.ties.iter().map(|&k| &sol.pareto[k].utilities).collect::<Vec<_>>()),
                "timed_files_same_frontier": same,
                "load_s": median(loads),
                "solve_s": median(solves),
                "total_s": median(totals),
                "solve_us": median(solve_only) * 1e6,
            })
        );
    }
}
