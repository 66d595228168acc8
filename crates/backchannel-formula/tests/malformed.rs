//! Malformed scenario JSON and GENIUS XML give errors, never panics (arbitrary and mutated bytes).
#![allow(clippy::unwrap_used)]

use backchannel_formula::{Scenario, genius};
use proptest::prelude::*;

const SCENARIO: &str = include_str!("../scenarios/us-iran.json");
const DOMAIN: &str = include_str!("fixtures/IS_BT_Acquisition/IS_BT_Acquisition.xml");
const PROFILE: &str = include_str!("fixtures/Grandma/Smart_Energy_Grid_util1.xml");

fn mutate(base: &str, edits: &[(usize, u8)]) -> String {
    let mut b = base.as_bytes().to_vec();
    for &(pos, byte) in edits {
        if b.is_empty() {
            break;
        }
        let i = pos % b.len();
        match byte % 3 {
            0 => b[i] = byte,
            1 => {
                b.remove(i);
            }
            _ => b.insert(i, byte),
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn parse_all(text: &str) {
    let _ = Scenario::from_json_str(text);
    if let Ok(domain) = genius::parse_domain(text) {
        let _ = genius::parse_profile(PROFILE, &domain);
    }
    if let Ok(domain) = genius::parse_domain(DOMAIN) {
        let _ = genius::parse_profile(text, &domain);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        parse_all(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn mutated_files_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        for base in [SCENARIO, DOMAIN, PROFILE] {
            let text = mutate(base, &edits);
            parse_all(&text);
            if let Ok(s) = Scenario::from_json_str(&text) {
                let _ = backchannel_formula::solve(&s, &backchannel_formula::SolveOptions::default());
            }
        }
    }
}

#[test]
fn errors_name_the_path_and_the_problem() {
    let bad = SCENARIO.replacen("\"reservation\": 0.", "\"reservation\": 1.", 1);
    let e = Scenario::from_json_str(&bad).unwrap_err();
    assert!(e.to_string().contains("reservation"), "{e}");
    let e = Scenario::from_json_str("{\"format\": \"backchannel-scenario/1\"").unwrap_err();
    assert!(e.to_string().contains("line"), "{e}");
    let e = genius::parse_domain("<negotiation_template><utility_space></negotiation_template>")
        .unwrap_err();
    assert!(e.to_string().contains("malformed"), "{e}");
}
