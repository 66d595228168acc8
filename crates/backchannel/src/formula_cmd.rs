//! `backchannel formula …`: the formula engine from the command line.

use std::path::PathBuf;

use anyhow::{Context, bail};
use backchannel_formula::draft::{DraftOptions, Response};
use backchannel_formula::load::{load_with_notes, save_genius_folder};
use backchannel_formula::{
    Package, Progress, SolveOptions, adjusted_winner, next_draft, solve_with_progress,
};

/// The formula subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum FormulaCommand {
    /// Counts, Pareto frontier and fair points of a scenario file or GENIUS folder.
    Solve {
        /// A `backchannel-scenario/1` JSON file or a GENIUS domain folder.
        #[arg(required_unless_present = "case")]
        path: Option<PathBuf>,
        /// As the mediator: over the positions sealed to you in this case and the
        /// requirements registered there (synced first; offline, from your verified copy).
        #[arg(long, conflicts_with = "path")]
        case: Option<String>,
        /// Print the full solution as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Adjusted Winner over the issues of a two-party scenario (points = 100 × weight).
    Aw {
        /// A scenario file or GENIUS folder.
        path: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Proposes the next single negotiating text.
    NextDraft {
        /// A scenario file or GENIUS folder.
        path: PathBuf,
        /// The current draft: a JSON object issue id → option id.
        #[arg(long)]
        draft: PathBuf,
        /// A JSON array of responses: [{"party": id, "answers": {issue: {"answer": "accept"|"object"|"prefer", "option": id}}}].
        #[arg(long)]
        responses: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Converts between a scenario file and a GENIUS folder (direction from the input).
    Convert {
        /// A scenario `.json` file (to GENIUS) or a GENIUS folder (to a scenario).
        input: PathBuf,
        /// Output: a folder for GENIUS, a `.json` file for a scenario.
        output: PathBuf,
    },
}

fn load_scenario(path: &std::path::Path) -> anyhow::Result<backchannel_formula::Scenario> {
    // Every load error names its file already.
    let (s, notes) = load_with_notes(path).context("cannot load the scenario")?;
    for n in notes {
        eprintln!("note: {n}");
    }
    Ok(s)
}

/// The scenario a `solve` names: a file or folder, or a case's sealed positions, synced
/// first (the home opened only then).
async fn solve_scenario(
    path: Option<PathBuf>,
    case: Option<String>,
    home: Option<PathBuf>,
    offline: bool,
) -> anyhow::Result<backchannel_formula::Scenario> {
    match (path, case) {
        (Some(path), _) => load_scenario(&path),
        (None, Some(case)) => {
            let mut client = crate::session::open(home, offline)?;
            let case = client.resolve_case(&case)?;
            crate::session::refresh(&mut client, case).await?;
            Ok(client.held_scenario(case)?)
        }
        (None, None) => anyhow::bail!("formula solve takes a scenario file or --case CASE"),
    }
}

/// Runs a formula subcommand; `home` and `offline` are the participant's, for
/// `solve --case`.
pub async fn run(cmd: FormulaCommand, home: Option<PathBuf>, offline: bool) -> anyhow::Result<()> {
    match cmd {
        FormulaCommand::Solve { path, case, json } => {
            let s = solve_scenario(path, case, home, offline).await?;
            let started = std::time::Instant::now();
            let mut report = |p: Progress| {
                if started.elapsed().as_millis() >= 500 {
                    match p {
                        Progress::Phase(what) => eprintln!("formula: {what}…"),
                        Progress::Box { done, total } => {
                            eprintln!("formula: frontier {done}/{total}")
                        }
                    }
                }
            };
            let sol = solve_with_progress(&s, &SolveOptions::default(), &mut report);
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&sol).context("cannot serialise the solution")?
                );
                return Ok(());
            }
            println!("parties: {}", sol.parties.join(", "));
            println!("packages: {} in all", sol.packages_total);
            println!("  within red lines:       {}", sol.within_red_lines);
            println!("  meeting requirements:   {}", sol.meeting_requirements);
            match sol.acceptable {
                Some(c) => println!("  acceptable:             {c}"),
                None => println!("  acceptable:             too many to count exactly"),
            }
            println!(
                "pareto frontier: {} points{}",
                sol.pareto.len(),
                if sol.exact { "" } else { " (approximate)" }
            );
            for (name, p) in [
                ("nash", &sol.nash),
                ("kalai-smorodinsky", &sol.kalai_smorodinsky),
                ("egalitarian", &sol.egalitarian),
                ("utilitarian", &sol.utilitarian),
            ] {
                if let Some(p) = p {
                    println!(
                        "{name}: utilities {:?} ({} tie(s))",
                        p.utilities,
                        p.ties.len()
                    );
                    for (issue, option) in &p.package {
                        println!("    {issue} = {option}");
                    }
                }
            }
            if let Some(why) = &sol.explanations.empty {
                println!("no acceptable package: {why}");
            }
            for n in &sol.explanations.notes {
                println!("note: {n}");
            }
            Ok(())
        }
        FormulaCommand::Aw { path, json } => {
            let s = load_scenario(&path)?;
            let out = adjusted_winner(&s).context("adjusted winner")?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&out).context("cannot serialise")?
                );
                return Ok(());
            }
            for a in &out.allocation {
                println!(
                    "{}: {:.1}% to {}, {:.1}% to {}",
                    a.issue,
                    a.first_share * 100.0,
                    out.parties[0],
                    (1.0 - a.first_share) * 100.0,
                    out.parties[1]
                );
            }
            if let (Some(i), Some(f)) = (&out.split_issue, out.split_fraction) {
                println!("split issue: {i} ({:.1}% to {})", f * 100.0, out.parties[0]);
            }
            println!("each party receives {:.2} of its 100 points", out.totals[0]);
            Ok(())
        }
        FormulaCommand::NextDraft {
            path,
            draft,
            responses,
            json,
        } => {
            let s = load_scenario(&path)?;
            let text = std::fs::read_to_string(&draft)
                .with_context(|| format!("cannot read {}", draft.display()))?;
            let current: Package = serde_json::from_str(&text).with_context(|| {
                format!("{}: not a package (issue id → option id)", draft.display())
            })?;
            let responses: Vec<Response> = match responses {
                Some(p) => {
                    let t = std::fs::read_to_string(&p)
                        .with_context(|| format!("cannot read {}", p.display()))?;
                    serde_json::from_str(&t)
                        .with_context(|| format!("{}: not a list of responses", p.display()))?
                }
                None => Vec::new(),
            };
            let sol = solve_with_progress(&s, &SolveOptions::default(), &mut |_| {});
            let d = next_draft(&s, &sol, &current, &responses, &DraftOptions::default())
                .context("next draft")?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&d).context("cannot serialise")?
                );
                return Ok(());
            }
            println!(
                "next draft (Nash share {:.4}, objections met {}/{}):",
                d.nash_share, d.objections_met, d.objections_total
            );
            for c in &d.changes {
                println!("  {}: {} -> {}: {}", c.issue, c.from, c.to, c.explanation);
            }
            Ok(())
        }
        FormulaCommand::Convert { input, output } => {
            let s = load_scenario(&input)?;
            if input.is_dir()
                || input
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
            {
                if output.is_dir() {
                    bail!(
                        "{} is a folder; converting GENIUS to a scenario needs a .json file",
                        output.display()
                    );
                }
                std::fs::write(&output, s.to_json_string())
                    .with_context(|| format!("cannot write {}", output.display()))?;
                eprintln!("wrote {}", output.display());
            } else {
                let files = save_genius_folder(&s, &output)
                    .with_context(|| format!("cannot write {}", output.display()))?;
                if !s.requirements.is_empty() || s.parties.iter().any(|p| !p.red_lines.is_empty()) {
                    eprintln!(
                        "note: red lines and requirements have no GENIUS form and were left out"
                    );
                }
                for f in files {
                    eprintln!("wrote {}", f.display());
                }
            }
            Ok(())
        }
    }
}
