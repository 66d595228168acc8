//! GENIUS import and export: fixtures, the ANAC sweep (when the domains are present), round trips.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use backchannel_formula::genius::GeniusError;
use backchannel_formula::load::{load_genius_folder, save_genius_folder};
use backchannel_formula::{LoadError, SolveOptions, load, solve};
use common::check_against_brute;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn fixtures_load_and_match_brute_force() {
    for name in ["IS_BT_Acquisition", "Grandma", "Lunch", "group2-dinner"] {
        let s = load(&fixture(name)).unwrap();
        let sol = solve(&s, &SolveOptions::default());
        check_against_brute(&s, &sol);
    }
}

#[test]
fn integer_issues_follow_the_linear_evaluator() {
    let s = load(&fixture("Grandma")).unwrap();
    let integer = s
        .issues
        .iter()
        .filter(|i| i.options.iter().all(|o| o.id.parse::<i64>().is_ok()))
        .count();
    assert!(integer > 0);
    for p in &s.parties {
        let sum: f64 = p.weights.values().sum();
        assert!((sum - 1.0).abs() < 1e-9);
    }
}

#[test]
fn lunch_has_an_empty_acceptable_set_and_says_why() {
    let s = load(&fixture("Lunch")).unwrap();
    let sol = solve(&s, &SolveOptions::default());
    assert!(sol.pareto.is_empty());
    let why = sol.explanations.empty.unwrap();
    assert!(why.contains("reservation"), "{why}");
}

#[test]
fn nonlinear_profiles_are_refused_with_a_reason() {
    let err = load(&fixture("10issues")).unwrap_err();
    assert!(err.is_unsupported(), "{err}");
    assert!(err.to_string().contains("non-linear"), "{err}");
}

#[test]
fn export_then_import_round_trips() {
    let s = load(&fixture("IS_BT_Acquisition")).unwrap();
    let dir = std::env::temp_dir().join(format!("bc-formula-roundtrip-{}", std::process::id()));
    save_genius_folder(&s, &dir).unwrap();
    let (back, _) = load_genius_folder(&dir).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(back.issues.len(), s.issues.len());
    for (a, b) in s.issues.iter().zip(&back.issues) {
        assert_eq!(a.id, b.id);
        assert_eq!(
            a.options.iter().map(|o| &o.id).collect::<Vec<_>>(),
            b.options.iter().map(|o| &o.id).collect::<Vec<_>>()
        );
    }
    let (x, y) = (
        solve(&s, &SolveOptions::default()),
        solve(&back, &SolveOptions::default()),
    );
    assert_eq!(x.fixed, y.fixed);
}

/// Where the ANAC domains are: `BACKCHANNEL_DOMAINS_DIR`, else `../shared/negotiation-domains` from the workspace root.
fn domains_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("BACKCHANNEL_DOMAINS_DIR") {
        return Some(PathBuf::from(d));
    }
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/negotiation-domains");
    d.is_dir().then_some(d)
}

#[test]
fn every_anac_folder_loads_or_is_refused_clearly() {
    let Some(root) = domains_dir() else {
        eprintln!(
            "skipped: set BACKCHANNEL_DOMAINS_DIR or provide ../shared/negotiation-domains to sweep the ANAC domains"
        );
        return;
    };
    let dirs = backchannel_formula::load::genius_folders(&root);
    assert!(
        !dirs.is_empty(),
        "no GENIUS folders under {}",
        root.display()
    );
    let (mut loaded, mut refused, mut checked) = (0, 0, 0);
    for dir in dirs {
        match load(&dir) {
            Ok(s) => {
                loaded += 1;
                let sol = solve(&s, &SolveOptions::default());
                if sol.packages_total.as_f64() <= 50_000.0 && s.parties.len() <= 5 {
                    check_against_brute(&s, &sol);
                    checked += 1;
                }
            }
            Err(e) => {
                assert!(
                    matches!(
                        e,
                        LoadError::Genius {
                            cause: GeniusError::Unsupported(_),
                            ..
                        }
                    ),
                    "{}: {e}",
                    dir.display()
                );
                refused += 1;
            }
        }
    }
    eprintln!(
        "ANAC sweep: {loaded} loaded ({checked} checked against brute force), {refused} refused as unsupported"
    );
}
