//! The `backchannel` binary as a user and a script drive it: a real `backchannel hub` process
//! on loopback, five participants each with its own home, every step through the CLI.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

mod common;

use common::{bin, ok_json, run, start_hub, texts};

#[test]
fn five_participants_on_one_machine() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start_hub(dir.path());
    let home = |name: &str| -> PathBuf { dir.path().join(name) };
    let names = ["pakistan", "us", "iran", "uae", "saudi"];
    for name in names {
        let id = ok_json(&home(name), &["id", "new", "--name", name]);
        assert_eq!(id["fingerprint"].as_str().unwrap().split(' ').count(), 6);
    }
    let shown = ok_json(&home("iran"), &["id", "show"]);
    assert_eq!(shown["name"], "iran");

    let case = ok_json(
        &home("pakistan"),
        &["case", "new", "--hub", &hub.url, "--title", "Talks"],
    );
    let case = case["case"].as_str().unwrap().to_owned();
    let invite = |args: &[&str]| -> String {
        let mut full = vec!["case", "invite", &case];
        full.extend_from_slice(args);
        ok_json(&home("pakistan"), &full)["code"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let codes = [
        (
            "us",
            invite(&["--role", "party", "--party", "United States"]),
        ),
        ("iran", invite(&["--role", "party", "--party", "Iran"])),
        ("uae", invite(&["--role", "observer"])),
        ("saudi", invite(&["--role", "observer"])),
    ];
    for (name, code) in &codes {
        ok_json(&home(name), &["case", "join", code]);
    }
    // An invite code works once.
    let again = run(&home("saudi"), &["case", "join", &codes[0].1]);
    assert!(!again.status.success());

    // Nobody sits at the table unseen: the joiners wait, each shown with its fingerprint,
    // until the mediator admits them.
    let waiting = ok_json(&home("us"), &["case", "show", &case]);
    assert_eq!(waiting["admission"]["status"], "waiting");
    let synced = ok_json(&home("pakistan"), &["sync", &case]);
    assert!(synced["admitted"].as_array().unwrap().is_empty());
    let pending = synced["pending"].as_array().unwrap();
    assert_eq!(pending.len(), 4);
    let us_id = ok_json(&home("us"), &["id", "show"]);
    let us_pending = pending.iter().find(|p| p["name"] == "us").unwrap();
    assert_eq!(us_pending["fingerprint"], us_id["fingerprint"]);
    assert_eq!(us_pending["party"], "United States");
    let admitted = ok_json(&home("pakistan"), &["case", "admit", &case, "--all"]);
    assert_eq!(admitted["admitted"].as_array().unwrap().len(), 4);
    let shown = ok_json(&home("us"), &["case", "show", &case]);
    assert_eq!(shown["admission"]["status"], "admitted");
    assert!(shown["admission"]["at_ms"].as_u64().is_some());

    ok_json(
        &home("pakistan"),
        &[
            "send",
            &case,
            "--channel",
            "united-states",
            "--text",
            "for Washington only",
        ],
    );
    ok_json(
        &home("us"),
        &[
            "send",
            &case,
            "--channel",
            "united-states",
            "--text",
            "noted, in confidence",
        ],
    );
    ok_json(
        &home("pakistan"),
        &[
            "send",
            &case,
            "--channel",
            "iran",
            "--text",
            "for Tehran only",
        ],
    );
    ok_json(
        &home("pakistan"),
        &[
            "send",
            &case,
            "--channel",
            "public",
            "--text",
            "talks are under way",
        ],
    );

    let us = ok_json(&home("us"), &["read", &case, "--channel", "united-states"]);
    assert_eq!(texts(&us), ["for Washington only", "noted, in confidence"]);
    for name in names {
        let public = ok_json(&home(name), &["read", &case, "--channel", "public"]);
        assert_eq!(texts(&public), ["talks are under way"], "{name}");
        let all = texts(&ok_json(&home(name), &["read", &case]));
        let may_see_us = matches!(name, "pakistan" | "us");
        let may_see_iran = matches!(name, "pakistan" | "iran");
        assert_eq!(
            all.contains(&"for Washington only".to_owned()),
            may_see_us,
            "{name}"
        );
        assert_eq!(
            all.contains(&"for Tehran only".to_owned()),
            may_see_iran,
            "{name}"
        );
    }

    // An observer cannot post to a bilateral channel.
    let refused = run(
        &home("uae"),
        &[
            "--json",
            "send",
            &case,
            "--channel",
            "iran",
            "--text",
            "let me in",
        ],
    );
    assert!(!refused.status.success());
    let error: serde_json::Value = serde_json::from_slice(&refused.stderr).unwrap();
    assert!(!error["error"]["code"].as_str().unwrap().is_empty());

    let show = ok_json(&home("uae"), &["case", "show", &case]);
    assert_eq!(show["participants"].as_array().unwrap().len(), 5);
    assert_eq!(show["phase"], "proximity");
    let readable: Vec<&str> = show["channels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["readable"] == true)
        .map(|c| c["channel"].as_str().unwrap())
        .collect();
    assert_eq!(readable, ["public"]);

    // Checkpoints: everyone holds one history.
    for name in names {
        ok_json(&home(name), &["checkpoint", &case]);
    }
    ok_json(&home("pakistan"), &["sync", &case]);

    // The observer's export verifies offline, with no hub and no home; a forged byte does not.
    let record = dir.path().join("record.json");
    let out = run(
        &home("uae"),
        &["export", &case, "--out", record.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verified: serde_json::Value = serde_json::from_slice(
        &bin()
            .args(["--json", "verify"])
            .arg(&record)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(verified["verified"], true);
    assert_eq!(verified["participants"].as_array().unwrap().len(), 5);
    let mut exported: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    let sig = exported["acts"][3]["sig"].as_str().unwrap().to_owned();
    let flipped = if sig.starts_with('A') {
        sig.replacen('A', "B", 1)
    } else {
        format!("A{}", &sig[1..])
    };
    exported["acts"][3]["sig"] = serde_json::Value::String(flipped);
    std::fs::write(&record, serde_json::to_vec(&exported).unwrap()).unwrap();
    let forged = bin().arg("verify").arg(&record).output().unwrap();
    assert_eq!(forged.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&forged.stderr);
    assert!(
        stderr.contains("act 4 of the record does not verify"),
        "{stderr}"
    );
}

#[test]
fn a_wrong_passphrase_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    ok_json(dir.path(), &["id", "new", "--name", "Iran"]);
    let out = bin()
        .env("BACKCHANNEL_PASSPHRASE", "not the passphrase")
        .arg("--home")
        .arg(dir.path())
        .args(["case", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error[wrong_passphrase]"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_arguments_are_refused_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    ok_json(dir.path(), &["id", "new", "--name", "Pakistan"]);
    for args in [
        &["case", "join", "bc1-garbage"][..],
        &["case", "show", "0000"],
        &["read", "ffff", "--channel", "Not A Channel"],
        &[
            "case", "invite", "abcd", "--role", "observer", "--party", "X",
        ],
    ] {
        let out = run(dir.path(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("error["), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// A refusal is a stable code and one sentence: no Rust names, nothing said twice.
#[test]
fn refusals_read_as_one_sentence_with_a_stable_code() {
    let dir = tempfile::tempdir().unwrap();
    let common::ThreeParty {
        hub: _hub,
        us,
        case,
        ..
    } = common::three_party_case(dir.path(), "T");
    // A channel one cannot read: who sits in it, as the public record says; it is marked.
    let shown = ok_json(&us, &["case", "show", &case]);
    let iran_channel = shown["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "iran")
        .unwrap();
    assert_eq!(iran_channel["readable"], false, "{shown}");
    let mut seated: Vec<&str> = iran_channel["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    seated.sort_unstable();
    assert_eq!(seated, ["Iran", "Pakistan"], "{shown}");
    let prose = String::from_utf8_lossy(&run(&us, &["case", "show", &case]).stdout).into_owned();
    assert!(prose.contains("not readable by you"), "{prose}");
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, b"{ not json").unwrap();
    let garbage = garbage.to_str().unwrap();
    let refusals: [(&Path, Vec<&str>, &str); 6] = [
        (
            &us,
            vec!["read", &case, "--channel", "iran"],
            "not_channel_member",
        ),
        (
            &us,
            vec!["read", &case, "--channel", "nowhere"],
            "unknown_channel",
        ),
        (
            &us,
            vec!["send", &case, "--channel", "iran", "--text", "x"],
            "not_channel_member",
        ),
        (&us, vec!["charter", "propose", &case], "mediator_only"),
        (&us, vec!["verify", garbage], "record_malformed"),
        (&us, vec!["formula", "solve", garbage], "syntax"),
    ];
    for (home, args, code) in refusals {
        let out = run(home, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        assert!(
            stderr.starts_with(&format!("error[{code}]: ")),
            "{args:?}: {stderr}"
        );
        for rust in [
            "PublicKey(",
            "Digest32(",
            "CaseId(",
            "PartiesAndMediator",
            "OriginalWithConsent",
        ] {
            assert!(!stderr.contains(rust), "{args:?}: {stderr}");
        }
        let sentence = stderr.split_once("]: ").unwrap().1;
        let parts: Vec<&str> = sentence.split(": ").collect();
        for (i, part) in parts.iter().enumerate() {
            assert!(
                !parts[i + 1..].iter().any(|later| later.contains(part)),
                "{args:?} says {part:?} twice: {stderr}"
            );
        }
    }
}

/// Every message any participant holds, gathered from the kept homes without the hub.
fn all_texts(homes: &Path) -> Vec<String> {
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(homes).unwrap() {
        let client =
            backchannel_client::Client::open(&entry.unwrap().path(), "backchannel-demo").unwrap();
        for case in client.cases() {
            for line in client.read(case, None).unwrap() {
                if line.kind == "message" {
                    texts.push(line.text);
                }
            }
        }
    }
    texts.sort();
    texts.dedup();
    texts
}

#[test]
fn the_demo_tells_the_story_and_leaves_no_plaintext_at_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("kept");
    let out = bin().arg("demo").arg("--keep").arg(&keep).output().unwrap();
    let story = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{story}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "Pakistan convenes",
        "proximity talks",
        "who could read what",
        "cannot read: united-states (hub: not_member)",
        "0 found",
        "Implementation Day is reached by that attestation",
        "refused: stage_not_over",
        "Pakistan refers it to the ministers (stage: ministers)",
        "Score: ",
    ] {
        assert!(story.contains(needle), "missing {needle:?} in:\n{story}");
    }

    // The kept inspector's home answers `implement status` from its own copy, the hub gone.
    let inspector = keep.join("homes/iaea");
    let demo = |args: &[&str]| {
        let out = bin()
            .env("BACKCHANNEL_PASSPHRASE", "backchannel-demo")
            .arg("--home")
            .arg(&inspector)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let cases = demo(&["--json", "--offline", "case", "list"]);
    let case = cases[0]["case"].as_str().unwrap().to_owned();
    let status = demo(&["--json", "--offline", "implement", "status", &case]);
    let reached = |id: &str| {
        status["milestones"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == id && m["reached"] == true)
    };
    assert!(reached("implementation"), "{status}");
    assert!(!reached("adoption"), "{status}");
    assert_eq!(status["disputes"][0]["stage"], "resolved", "{status}");
    assert_eq!(
        status["disputes"][0]["opinions"].as_array().map(Vec::len),
        Some(1)
    );

    let texts = all_texts(&keep.join("homes"));
    assert!(texts.len() >= 7, "{texts:?}");
    let mut storage = Vec::new();
    for entry in std::fs::read_dir(&keep).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            storage.extend(std::fs::read(path).unwrap());
        }
    }
    for text in &texts {
        let bytes = text.as_bytes();
        for needle in [
            bytes[..24].to_vec(),
            hex::encode(&bytes[..24]).into_bytes(),
            base64(&bytes[..24]),
        ] {
            assert!(
                !storage
                    .windows(needle.len())
                    .any(|w| w == needle.as_slice()),
                "{text:?} is in the hub's storage"
            );
        }
    }
}

fn base64(bytes: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .encode(bytes)
        .as_bytes()[..16]
        .to_vec()
}

#[test]
fn formula_solve_speaks_the_documented_json() {
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../backchannel-formula/scenarios/us-iran.json"
    );
    let out = bin()
        .args(["formula", "solve", scenario, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let solution: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for field in [
        "packages_total",
        "within_red_lines",
        "meeting_requirements",
        "acceptable",
        "pareto",
        "nash",
        "kalai_smorodinsky",
        "egalitarian",
        "utilitarian",
    ] {
        assert!(solution.get(field).is_some(), "missing {field}");
    }
    let first = &solution["pareto"][0];
    assert!(
        first["utilities"].is_array() && first["package"].is_object() && first["count"].is_number(),
        "{first}"
    );

    let broken = bin()
        .args(["formula", "solve", "/nonexistent/scenario.json"])
        .output()
        .unwrap();
    assert_eq!(broken.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&broken.stderr).contains("panicked"));
}
