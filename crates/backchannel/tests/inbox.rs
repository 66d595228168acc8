//! What is waiting for each participant, walked through a case with the real binary:
//! `backchannel inbox` and `case show` list what each must do next, with the charter's
//! deadlines, and the list moves as the case does.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{identities, new_case, ok_json, seat_parties, start_hub};

const SCENARIO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../backchannel-formula/scenarios/us-iran.json"
);

/// What waits for `home` in `case`, by `inbox`; checked against `case show`.
fn waiting(home: &Path, case: &str) -> Vec<String> {
    let inbox = ok_json(home, &["inbox", case]);
    let tasks = inbox[0]["tasks"].as_array().unwrap();
    let mut what: Vec<String> = tasks
        .iter()
        .map(|t| t["what"].as_str().unwrap().to_owned())
        .collect();
    for task in tasks {
        let command = task["command"].as_str().unwrap();
        assert!(command.contains(case), "{command}");
    }
    let shown = ok_json(home, &["case", "show", case]);
    let mut shown: Vec<String> = shown["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["what"].as_str().unwrap().to_owned())
        .collect();
    // `case show` lists what the case says; `inbox` adds the joiners waiting for the hub.
    what.retain(|w| w != "admit");
    what.sort();
    shown.sort();
    assert_eq!(what, shown);
    what.retain(|w| w != "deadline");
    what
}

#[test]
fn the_inbox_follows_the_case() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start_hub(dir.path());
    let home = |name: &str| dir.path().join(name);
    let (mediator, us, iran, uae, late) = (
        home("pakistan"),
        home("us"),
        home("iran"),
        home("uae"),
        home("late"),
    );
    identities(&[
        (&mediator, "Pakistan"),
        (&us, "United States"),
        (&iran, "Iran"),
        (&uae, "United Arab Emirates"),
        (&late, "Late delegate"),
    ]);
    let case = new_case(&mediator, &hub.url, "Talks");
    seat_parties(&mediator, &case, &[(&us, "United States"), (&iran, "Iran")]);
    let code = ok_json(
        &mediator,
        &[
            "case",
            "invite",
            &case,
            "--role",
            "observer",
            "--auto-admit",
        ],
    )["code"]
        .as_str()
        .unwrap()
        .to_owned();
    ok_json(&uae, &["case", "join", &code]);
    ok_json(&mediator, &["sync", &case]);
    for h in [&us, &iran, &uae] {
        ok_json(h, &["sync", &case]);
    }
    assert_eq!(waiting(&mediator, &case), ["propose_charter"]);
    assert!(waiting(&us, &case).is_empty());

    // A joiner waiting for admission is on the mediator's list, with its fingerprint.
    let code = ok_json(
        &mediator,
        &[
            "case", "invite", &case, "--role", "party", "--party", "Iran",
        ],
    )["code"]
        .as_str()
        .unwrap()
        .to_owned();
    ok_json(&late, &["case", "join", &code]);
    let inbox = ok_json(&mediator, &["inbox"]);
    let admit = inbox[0]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["what"] == "admit")
        .cloned()
        .unwrap();
    assert!(
        admit["says"].as_str().unwrap().contains("Late delegate"),
        "{admit}"
    );

    let propose = [
        "charter",
        "propose",
        &case,
        "--deadline",
        "framework=2027-03-31",
    ];
    ok_json(&mediator, &propose);
    assert_eq!(waiting(&us, &case), ["accept_charter"]);
    assert_eq!(waiting(&iran, &case), ["accept_charter"]);
    assert_eq!(waiting(&mediator, &case), ["await_charter"]);
    let shown = ok_json(&us, &["case", "show", &case]);
    let deadline = shown["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["what"] == "deadline")
        .cloned()
        .unwrap();
    assert_eq!(deadline["due"], "2027-03-31");

    ok_json(&us, &["charter", "accept", &case]);
    assert!(waiting(&us, &case).is_empty());
    ok_json(&iran, &["charter", "accept", &case]);
    assert_eq!(waiting(&mediator, &case), ["define_issues"]);

    ok_json(&mediator, &["issues", "define", &case, "--file", SCENARIO]);
    assert!(waiting(&mediator, &case).is_empty());
    ok_json(
        &mediator,
        &["draft", "issue", &case, "--package", "enrichment=cap_3_67"],
    );
    assert_eq!(waiting(&us, &case), ["answer_draft"]);
    ok_json(
        &us,
        &["draft", "answer", &case, "--version", "1", "--accept-all"],
    );
    assert!(waiting(&us, &case).is_empty());
    assert_eq!(waiting(&iran, &case), ["answer_draft"]);
    ok_json(
        &iran,
        &["draft", "answer", &case, "--version", "1", "--accept-all"],
    );

    let table = [
        "agreement",
        "table",
        &case,
        "--from-draft",
        "1",
        "--guarantor",
        "United Arab Emirates",
    ];
    ok_json(&mediator, &table);
    for h in [&us, &iran, &mediator] {
        assert_eq!(waiting(h, &case), ["sign_agreement"]);
        ok_json(h, &["agreement", "sign", &case]);
    }
    assert_eq!(waiting(&mediator, &case), ["publish_agreement"]);
    assert!(waiting(&uae, &case).is_empty());
    ok_json(&mediator, &["agreement", "publish", &case]);
    assert_eq!(waiting(&uae, &case), ["guarantee_agreement"]);
    ok_json(&uae, &["agreement", "guarantee", &case]);
    assert!(waiting(&uae, &case).is_empty());
    // Published: the charter's deadline is no longer listed.
    let shown = ok_json(&us, &["case", "show", &case]);
    assert!(shown["waiting"].as_array().unwrap().is_empty(), "{shown}");
}
