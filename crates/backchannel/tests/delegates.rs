//! A party of two delegates, through the real binary: whatever one delegate misses while
//! offline, the history it later reads verifies, in whatever order its channels arrive.
#![allow(clippy::unwrap_used)]

mod common;

use common::{identities, new_case, ok_json, run, seat_parties, start_hub, texts};

const SCENARIO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../backchannel-formula/scenarios/us-iran.json"
);

/// The lockout: delegate B tables an offer, the mediator matches it while delegate A is
/// offline; A then reads the public record's "offers matched" before the offer in its party's
/// channel. A valid history must never be refused for the order it is read in.
#[test]
fn an_offline_delegate_reads_a_match_made_while_it_was_away() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start_hub(dir.path());
    let home = |name: &str| dir.path().join(name);
    let (mediator, a, b, iran) = (home("pakistan"), home("us-a"), home("us-b"), home("iran"));
    identities(&[
        (&mediator, "Pakistan"),
        (&a, "US delegate A"),
        (&b, "US delegate B"),
        (&iran, "Iran"),
    ]);
    let case = new_case(&mediator, &hub.url, "Talks");
    seat_parties(
        &mediator,
        &case,
        &[
            (&a, "United States"),
            (&b, "United States"),
            (&iran, "Iran"),
        ],
    );
    for h in [&a, &b, &iran] {
        ok_json(h, &["sync", &case]);
    }
    ok_json(
        &mediator,
        &["charter", "propose", &case, "--agenda-by", "parties"],
    );
    ok_json(&a, &["charter", "accept", &case]);
    ok_json(&iran, &["charter", "accept", &case]);
    ok_json(&mediator, &["issues", "define", &case, "--file", SCENARIO]);
    ok_json(&a, &["sync", &case]);

    // A goes offline here. B and Iran table matching offers; the mediator matches them.
    ok_json(&b, &["sync", &case]);
    ok_json(
        &b,
        &[
            "offer",
            "table",
            &case,
            "--promise",
            "sanctions=phased_lift",
            "--condition",
            "enrichment=cap_3_67",
        ],
    );
    ok_json(
        &iran,
        &[
            "offer",
            "table",
            &case,
            "--promise",
            "enrichment=cap_3_67",
            "--condition",
            "sanctions=phased_lift",
        ],
    );
    let matched = ok_json(&mediator, &["offer", "match", &case]);
    assert_eq!(matched["pairs_opened"], 1, "{matched}");

    // A comes back: it syncs, reads, and acts.
    let out = run(&a, &["sync", &case]);
    assert!(
        out.status.success(),
        "the offline delegate is locked out: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offers = ok_json(&a, &["offer", "list", &case]);
    assert!(
        offers.to_string().contains("opened"),
        "A does not see the opened offers: {offers}"
    );
    ok_json(
        &a,
        &[
            "send",
            &case,
            "--channel",
            "united-states",
            "--text",
            "back",
        ],
    );
    ok_json(&mediator, &["sync", &case]);
    let log = texts(&ok_json(
        &mediator,
        &["read", &case, "--channel", "united-states"],
    ));
    assert!(log.contains(&"back".to_owned()), "{log:?}");
    for h in [&mediator, &a, &b, &iran] {
        assert_eq!(ok_json(h, &["verify-home"])["cases"][0]["verified"], true);
    }
}

/// One voice per party. `--delegation any`: a colleague repeating what a delegate already did
/// for the party is told so, as a success, and the party counts once. `--delegation head`:
/// only the head of delegation (invited with `--head`) binds the party.
#[test]
fn a_delegation_speaks_with_one_voice() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start_hub(dir.path());
    let home = |name: &str| dir.path().join(name);
    let (mediator, head, aide, iran) = (
        home("pakistan"),
        home("us-head"),
        home("us-aide"),
        home("iran"),
    );
    identities(&[
        (&mediator, "Pakistan"),
        (&head, "Rubio"),
        (&aide, "Witkoff"),
        (&iran, "Araghchi"),
    ]);

    // Any delegate binds: the colleague's repeat is an informative success.
    let case = new_case(&mediator, &hub.url, "Talks");
    seat_parties(
        &mediator,
        &case,
        &[
            (&head, "United States"),
            (&aide, "United States"),
            (&iran, "Iran"),
        ],
    );
    ok_json(&mediator, &["charter", "propose", &case]);
    ok_json(&head, &["charter", "accept", &case]);
    let repeat = run(&aide, &["--json", "charter", "accept", &case]);
    assert!(repeat.status.success(), "{repeat:?}");
    let done: serde_json::Value = serde_json::from_slice(&repeat.stdout).unwrap();
    assert_eq!(done["already_done"]["by"], "Rubio", "{done}");
    assert_eq!(done["already_done"]["party"], "United States", "{done}");
    let prose = run(&aide, &["charter", "accept", &case]);
    assert!(prose.status.success());
    let prose = String::from_utf8_lossy(&prose.stdout).into_owned();
    assert!(
        prose.contains("already done: Rubio accepted the charter"),
        "{prose}"
    );
    let shown = ok_json(&mediator, &["case", "show", &case]);
    assert_eq!(
        shown["procedure"]["charter"]["accepted_by"],
        serde_json::json!(["United States"]),
        "{shown}"
    );

    // Only the head binds: the aide's acceptance is refused and changes nothing.
    let case = new_case(&mediator, &hub.url, "Talks under heads");
    let invite = |who: &std::path::Path, party: &str, extra: &[&str]| {
        let mut args = vec![
            "case",
            "invite",
            &case,
            "--role",
            "party",
            "--party",
            party,
            "--auto-admit",
        ];
        args.extend_from_slice(extra);
        let code = ok_json(&mediator, &args)["code"]
            .as_str()
            .unwrap()
            .to_owned();
        ok_json(who, &["case", "join", &code]);
    };
    invite(&head, "United States", &["--head"]);
    invite(&aide, "United States", &[]);
    invite(&iran, "Iran", &["--head"]);
    ok_json(&mediator, &["sync", &case]);
    ok_json(
        &mediator,
        &["charter", "propose", &case, "--delegation", "head"],
    );
    let refused = run(&aide, &["--json", "charter", "accept", &case]);
    assert_eq!(refused.status.code(), Some(1));
    let error: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&refused.stderr).trim()).unwrap();
    assert_eq!(error["error"]["code"], "head_only", "{error}");
    let shown = ok_json(&mediator, &["case", "show", &case]);
    assert_eq!(
        shown["procedure"]["charter"]["accepted_by"],
        serde_json::json!([])
    );
    ok_json(&head, &["charter", "accept", &case]);
    ok_json(&iran, &["charter", "accept", &case]);
    let shown = ok_json(&mediator, &["case", "show", &case]);
    assert_eq!(
        shown["procedure"]["charter"]["status"], "in_force",
        "{shown}"
    );
    // A sealed position is revised explicitly: a revision names the version it replaces,
    // so no delegate silently overwrites a colleague's; every revision stays on record.
    ok_json(&mediator, &["issues", "define", &case, "--file", SCENARIO]);
    let seal = |who: &std::path::Path, extra: &[&str]| {
        let mut args = vec![
            "--json", "position", "seal", &case, "--file", SCENARIO, "--party", "us",
        ];
        args.extend_from_slice(extra);
        run(who, &args)
    };
    assert!(seal(&aide, &[]).status.success());
    let overwrite = seal(&head, &[]);
    assert_eq!(overwrite.status.code(), Some(1));
    let error: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&overwrite.stderr).trim()).unwrap();
    assert_eq!(error["error"]["code"], "conflict", "{error}");
    assert!(seal(&head, &["--replace", "1"]).status.success());
    let stale = seal(&aide, &["--replace", "1"]);
    assert_eq!(stale.status.code(), Some(1));
    let shown = ok_json(&mediator, &["case", "show", &case]);
    assert_eq!(
        shown["procedure"]["position_versions"]["United States"], 2,
        "{shown}"
    );
    let channel = ok_json(&mediator, &["read", &case, "--channel", "united-states"]);
    let seals = channel
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == "position_sealed")
        .count();
    assert_eq!(seals, 2, "both revisions stay on the channel");
    // The aide still talks in its party's channel.
    ok_json(
        &aide,
        &[
            "send",
            &case,
            "--channel",
            "united-states",
            "--text",
            "a note for the head",
        ],
    );
}
