//! Loads and solves every GENIUS folder under a directory, printing one JSON line per folder with timings.
//!
//! `cargo run --release -p backchannel-formula --example sweep -- ../shared/negotiation-domains/anac`

use std::path::{Path, PathBuf};
use std::time::Instant;

use backchannel_formula::load::load_with_notes;
use backchannel_formula::{SolveOptions, solve};

fn folders(root: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    if entries
        .iter()
        .any(|p| p.extension().is_some_and(|e| e == "xml"))
    {
        out.push(root.to_path_buf());
    }
    for e in entries {
        if e.is_dir() {
            folders(&e, out);
        }
    }
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/negotiation-domains/anac".to_string());
    let repeat: u32 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    // Optional: write each loaded domain, normalised as GENIUS semantics define it, to this folder.
    let export = std::env::args().nth(3).map(PathBuf::from);
    let mut dirs = Vec::new();
    folders(Path::new(&root), &mut dirs);
    for dir in dirs {
        let t0 = Instant::now();
        let loaded = load_with_notes(&dir);
        let load_s = t0.elapsed().as_secs_f64();
        match loaded {
            Err(e) => println!(
                "{}",
                serde_json::json!({"domain": dir.display().to_string(), "error": e.to_string()})
            ),
            Ok((s, _notes)) => {
                if let Some(out) = &export {
                    let rel = dir
                        .strip_prefix(&root)
                        .unwrap_or(&dir)
                        .to_string_lossy()
                        .replace('/', "_");
                    if let Err(e) =
                        backchannel_formula::load::save_genius_folder(&s, &out.join(rel))
                    {
                        eprintln!("export failed: {e}");
                    }
                }
                let t1 = Instant::now();
                let mut sol = solve(&s, &SolveOptions::default());
                for _ in 1..repeat {
                    sol = solve(&s, &SolveOptions::default());
                }
                let solve_s = t1.elapsed().as_secs_f64() / f64::from(repeat.max(1));
                println!(
                    "{}",
                    serde_json::json!({
                        "domain": dir.strip_prefix(&root).unwrap_or(&dir).to_string_lossy().replace('/', "_"),
                        "parties": s.parties.len(),
                        "issues": s.issues.len(),
                        "packages": sol.packages_total,
                        "acceptable": sol.acceptable,
                        "pareto": sol.pareto.iter().map(|p| &p.utilities).collect::<Vec<_>>(),
                        "nash": sol.nash.as_ref().map(|n| &n.utilities),
                        "nash_ties": sol.nash.as_ref().map(|n| n.ties.len()),
                        "nash_all": sol.nash.as_ref().map(|n| n.ties.iter().map(|&k| &sol.pareto[k].utilities).collect::<Vec<_>>()),
                        "load_s": load_s,
                        "solve_s": solve_s,
                    })
                );
            }
        }
    }
}
