//! Fuzzes the scenario JSON parser and validator (and solves what validates, bounded by size).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(s) = backchannel_formula::Scenario::from_json_str(&text) {
        if s.issues.len() <= 8 && s.issues.iter().all(|i| i.options.len() <= 8) {
            let _ = backchannel_formula::solve(&s, &backchannel_formula::SolveOptions::default());
        }
    }
});
