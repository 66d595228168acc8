//! Admission through the binary: nobody sits at the table unseen. A leaked code seats no one
//! until the mediator, having compared fingerprints, admits its holder; invites expire and can
//! be revoked, each refusal with its own code and changing nothing.
#![allow(clippy::unwrap_used)]

use std::path::Path;

mod common;

use common::{identities, new_case, ok_json, run, start_hub};
use serde_json::Value;

/// Runs a command that must fail with `code` (exit 1, a JSON error on stderr).
fn refused(home: &Path, args: &[&str], code: &str) {
    let mut full = vec!["--json"];
    full.extend_from_slice(args);
    let out = run(home, &full);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    let error: Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(error["error"]["code"], code, "{args:?}: {stderr}");
}

fn invite(mediator: &Path, case: &str, extra: &[&str]) -> Value {
    let mut args = vec!["case", "invite", case, "--role", "party", "--party", "Iran"];
    args.extend_from_slice(extra);
    ok_json(mediator, &args)
}

#[test]
fn a_leaked_code_seats_nobody_until_the_mediator_admits_and_codes_expire_or_are_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start_hub(dir.path());
    let [mediator, araghchi, impostor, late] =
        ["pakistan", "araghchi", "impostor", "late"].map(|n| dir.path().join(n));
    identities(&[
        (&mediator, "Pakistan"),
        (&araghchi, "Araghchi"),
        (&impostor, "Araghchi"),
        (&late, "Late"),
    ]);
    let case = new_case(&mediator, &hub.url, "Talks");

    // Two codes for Iran's delegation; one leaks and an impostor spends it first.
    let genuine = invite(&mediator, &case, &[]);
    let leaked = invite(&mediator, &case, &[]);
    assert_eq!(genuine["auto_admit"], false);
    assert!(
        genuine["expires_ms"].as_u64().is_some(),
        "seven days by default"
    );
    ok_json(
        &impostor,
        &["case", "join", leaked["code"].as_str().unwrap()],
    );
    ok_json(
        &araghchi,
        &["case", "join", genuine["code"].as_str().unwrap()],
    );
    let waiting = ok_json(&impostor, &["case", "show", &case]);
    assert_eq!(waiting["admission"]["status"], "waiting");
    assert_eq!(waiting["admission"]["mediator"], "Pakistan");
    let prose =
        String::from_utf8_lossy(&run(&impostor, &["case", "show", &case]).stdout).into_owned();
    assert!(
        prose.contains("waiting for admission by Pakistan"),
        "{prose}"
    );

    // The mediator sees both, with fingerprints, and admits neither by syncing.
    let synced = ok_json(&mediator, &["sync", &case]);
    assert!(synced["admitted"].as_array().unwrap().is_empty());
    let pending = synced["pending"].as_array().unwrap();
    assert_eq!(pending.len(), 2);
    let real = ok_json(&araghchi, &["id", "show"]);
    let fake = ok_json(&impostor, &["id", "show"]);
    assert_ne!(real["fingerprint"], fake["fingerprint"]);
    let fingerprints: Vec<&Value> = pending.iter().map(|p| &p["fingerprint"]).collect();
    assert!(fingerprints.contains(&&real["fingerprint"]));
    let prose = String::from_utf8_lossy(&run(&mediator, &["sync", &case]).stdout).into_owned();
    assert!(
        prose.contains(real["fingerprint"].as_str().unwrap()) && prose.contains("case admit"),
        "{prose}"
    );

    // Having compared fingerprints with the real Araghchi, the mediator admits only him.
    let prefix = &real["key"].as_str().unwrap()[..10];
    refused(
        &mediator,
        &["case", "admit", &case, "--key", "zz"],
        "invalid_key",
    );
    refused(
        &mediator,
        &["case", "admit", &case, "--key", "0000000000"],
        "no_pending_joiner",
    );
    let admitted = ok_json(&mediator, &["case", "admit", &case, "--key", prefix]);
    assert_eq!(
        admitted["admitted"],
        serde_json::json!(["Araghchi as party (Iran)"])
    );
    assert_eq!(admitted["pending"].as_array().unwrap().len(), 1);
    let shown = ok_json(&araghchi, &["case", "show", &case]);
    assert_eq!(shown["admission"]["status"], "admitted");
    ok_json(
        &mediator,
        &[
            "send",
            &case,
            "--channel",
            "iran",
            "--text",
            "for Tehran only",
        ],
    );
    let read = ok_json(&araghchi, &["read", &case, "--channel", "iran"]);
    assert!(common::texts(&read).contains(&"for Tehran only".to_owned()));
    // The impostor sits nowhere: not on the record, not in Iran's channel.
    refused(
        &impostor,
        &["read", &case, "--channel", "iran"],
        "not_channel_member",
    );
    let still = ok_json(&impostor, &["case", "show", &case]);
    assert_eq!(still["admission"]["status"], "waiting");
    let members: Vec<&str> = shown["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["fingerprint"].as_str().unwrap())
        .collect();
    assert!(!members.contains(&fake["fingerprint"].as_str().unwrap()));

    // An expired code is refused with its own code, and nothing changes for the joiner.
    let brief = invite(&mediator, &case, &["--expires", "1s"]);
    std::thread::sleep(std::time::Duration::from_millis(1_300));
    refused(
        &late,
        &["case", "join", brief["code"].as_str().unwrap()],
        "invite_expired",
    );
    assert_eq!(ok_json(&late, &["case", "list"]), serde_json::json!([]));

    // A revoked code likewise; revoking is by id or by code, and twice is harmless.
    let revoked = invite(&mediator, &case, &[]);
    let id = revoked["id"].as_str().unwrap();
    let done = ok_json(&mediator, &["case", "invite", "revoke", &case, id]);
    let again = ok_json(
        &mediator,
        &[
            "case",
            "invite",
            "revoke",
            &case,
            revoked["code"].as_str().unwrap(),
        ],
    );
    assert_eq!(done["revoked_ms"], again["revoked_ms"]);
    refused(
        &late,
        &["case", "join", revoked["code"].as_str().unwrap()],
        "invite_revoked",
    );
    assert_eq!(ok_json(&late, &["case", "list"]), serde_json::json!([]));
    refused(
        &mediator,
        &["case", "invite", "revoke", &case, "abcdef0123"],
        "unknown_invite",
    );
    // A spent code cannot be revoked: its joiner is there to be seen.
    refused(
        &mediator,
        &[
            "case",
            "invite",
            "revoke",
            &case,
            genuine["id"].as_str().unwrap(),
        ],
        "invite_used",
    );
    // A party cannot revoke or admit.
    refused(
        &araghchi,
        &["case", "admit", &case, "--all"],
        "mediator_only",
    );
}

/// "Iran" spelt to pass for another name: a right-to-left override, a zero-width space, a
/// direction isolate. Neither a participant nor a party may be so named; each refusal has its
/// code and changes nothing. (The hub is told no names, so the client is where they are
/// checked: and the mediator's again, on a name a joiner sealed, `client/tests/names.rs`.)
#[test]
fn names_that_could_pass_for_others_are_refused_with_their_code() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start_hub(dir.path());
    let [mediator, spoof] = ["pakistan", "spoof"].map(|n| dir.path().join(n));
    for name in ["\u{202E}narI", "Ir\u{200B}an", "Iran\u{2066}"] {
        refused(&spoof, &["id", "new", "--name", name], "deceptive_name");
    }
    refused(
        &spoof,
        &["id", "new", "--name", &"x".repeat(81)],
        "invalid_name",
    );
    refused(&spoof, &["id", "show"], "no_identity");

    identities(&[(&mediator, "Pakistan")]);
    let case = new_case(&mediator, &hub.url, "Talks");
    for party in ["\u{202E}narI", "Ir\u{200B}an"] {
        refused(
            &mediator,
            &["case", "invite", &case, "--role", "party", "--party", party],
            "deceptive_name",
        );
    }
    // The same party, spelt plainly, is invited.
    assert!(invite(&mediator, &case, &[])["code"].is_string());
}
