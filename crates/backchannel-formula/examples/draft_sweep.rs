//! Runs the single negotiating text process (`draft::simulate`: simulated parties answering from their own
//! profiles, the engine proposing each next draft) on every GENIUS folder under a directory, from several
//! random first drafts, and prints one JSON line per folder: the Nash share (of the best acceptable Nash
//! product) each run ends at, and how many drafts it took. A summary goes to standard error.
//!
//! `cargo run --release -p backchannel-formula --example draft_sweep -- DOMAINS_DIR [SEEDS] [DRAFTS]`

use std::path::Path;
use std::time::Instant;

use backchannel_formula::draft::simulate;
use backchannel_formula::load::{genius_folders, load_with_notes};
use backchannel_formula::{SolveOptions, solve};

/// Shares at or above this count as reaching the Nash point (the bar).
const TARGET: f64 = 0.995;

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/negotiation-domains/anac".to_string());
    let seeds = arg(2, 10) as u64;
    let drafts = arg(3, 10);
    let dirs = genius_folders(Path::new(&root));
    let (mut runs, mut reached, mut domains, mut worst) =
        (0usize, 0usize, 0usize, (f64::INFINITY, String::new()));
    let mut finals = Vec::new();
    for dir in dirs {
        let name = dir
            .strip_prefix(&root)
            .unwrap_or(&dir)
            .to_string_lossy()
            .replace('/', "_");
        let Ok((s, _)) = load_with_notes(&dir) else {
            continue;
        };
        let sol = solve(&s, &SolveOptions::default());
        let Some(nash) = &sol.nash else {
            // No acceptable package: nothing to reach.
            continue;
        };
        let nash_best: f64 = nash.gains.iter().product();
        let started = Instant::now();
        let traces: Vec<Vec<f64>> = (0..seeds).map(|seed| simulate(&s, seed, drafts)).collect();
        let ms = started.elapsed().as_secs_f64() * 1e3 / seeds.max(1) as f64;
        let last: Vec<f64> = traces
            .iter()
            .map(|t| t.last().copied().unwrap_or(0.0))
            .collect();
        // Drafts proposed until the first at the target (the first draft is the random one), if any.
        let to_target: Vec<Option<usize>> = traces
            .iter()
            .map(|t| t.iter().position(|&x| x >= TARGET))
            .collect();
        domains += 1;
        runs += last.len();
        reached += last.iter().filter(|&&x| x >= TARGET).count();
        for &x in &last {
            finals.push(x);
            if x < worst.0 {
                worst = (x, name.clone());
            }
        }
        println!(
            "{}",
            serde_json::json!({
                "domain": name,
                "parties": s.parties.len(),
                "packages": sol.packages_total,
                "nash_best": nash_best,
                "final_shares": last,
                "drafts_to_target": to_target,
                "drafts_used": traces.iter().map(|t| t.len() - 1).collect::<Vec<_>>(),
                "ms_per_run": ms,
            })
        );
    }
    finals.sort_by(f64::total_cmp);
    let median = finals.get(finals.len() / 2).copied().unwrap_or(0.0);
    eprintln!(
        "{domains} domains, {runs} runs of at most {drafts} drafts: {reached} end at or above {TARGET} of the best Nash product; median final share {median:.4}; lowest {:.4} ({})",
        worst.0, worst.1
    );
}
