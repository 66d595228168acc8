//! A party of several delegates, through the real binary: whatever one delegate misses while
//! offline, the history it later reads verifies, in whatever order its channels arrive; one
//! seated late is handed its channels' history.
#![allow(clippy::unwrap_used)]

mod common;

use common::{identities, invite_party, new_case, ok_json, run, seat_parties, start_hub, texts};

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

    // A draft that keeps the matched terms says nothing; one that departs from them is flagged
    // to the mediator, naming the issue and what the offers settled.
    let kept = [
        "draft",
        "issue",
        &case,
        "--package",
        "sanctions=phased_lift",
    ];
    let kept = ok_json(&mediator, &kept);
    assert_eq!(kept["departs_from_offers"], serde_json::json!([]), "{kept}");
    let departs = ["draft", "issue", &case, "--package", "sanctions=full_lift"];
    let departs = ok_json(&mediator, &departs);
    let warning = departs["departs_from_offers"][0].as_str().unwrap();
    assert!(
        warning.contains("full_lift") && warning.contains("phased_lift"),
        "{departs}"
    );
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

/// A party of three: the third delegate joins after the draft was issued and the offers
/// opened. Seated, it is handed its channel's history and reads it from the channel's first
/// act; it sees the draft and its party's opened offer as its colleagues do, and answers the
/// draft. A delegate invited with `--history none` reads only from its seating on.
#[test]
fn a_delegate_seated_late_reads_its_channels_history() {
    let dir = tempfile::tempdir().unwrap();
    let hub = start_hub(dir.path());
    let home = |name: &str| dir.path().join(name);
    let (mediator, a, iran) = (home("pakistan"), home("us-a"), home("iran"));
    let (late, blind) = (home("us-late"), home("us-blind"));
    identities(&[
        (&mediator, "Pakistan"),
        (&a, "US delegate A"),
        (&iran, "Iran"),
        (&late, "US delegate C"),
        (&blind, "US delegate D"),
    ]);
    let case = new_case(&mediator, &hub.url, "Talks");
    seat_parties(&mediator, &case, &[(&a, "United States"), (&iran, "Iran")]);
    for h in [&a, &iran] {
        ok_json(h, &["sync", &case]);
    }
    ok_json(&mediator, &["charter", "propose", &case]);
    ok_json(&a, &["charter", "accept", &case]);
    ok_json(&iran, &["charter", "accept", &case]);
    ok_json(&mediator, &["issues", "define", &case, "--file", SCENARIO]);
    ok_json(
        &a,
        &[
            "send",
            &case,
            "--channel",
            "united-states",
            "--text",
            "our red lines",
        ],
    );
    let draft = &["draft", "issue", &case, "--package", "enrichment=cap_3_67"];
    ok_json(&mediator, draft);
    for (h, promise, condition) in [
        (&a, "sanctions=phased_lift", "enrichment=cap_3_67"),
        (&iran, "enrichment=cap_3_67", "sanctions=phased_lift"),
    ] {
        let table = ["offer", "table", &case, "--promise", promise];
        ok_json(h, &[&table[..], &["--condition", condition]].concat());
    }
    assert_eq!(
        ok_json(&mediator, &["offer", "match", &case])["pairs_opened"],
        1
    );

    // C joins now, with the channel's history; D without it.
    let code = invite_party(&mediator, &case, "United States");
    ok_json(&late, &["case", "join", &code]);
    ok_json(&mediator, &["sync", &case]);
    let invite = [
        "case",
        "invite",
        &case,
        "--role",
        "party",
        "--party",
        "United States",
        "--auto-admit",
        "--history",
        "none",
    ];
    let code = ok_json(&mediator, &invite)["code"]
        .as_str()
        .unwrap()
        .to_owned();
    ok_json(&blind, &["case", "join", &code]);
    ok_json(&mediator, &["sync", &case]);
    ok_json(&late, &["sync", &case]);
    ok_json(&blind, &["sync", &case]);

    let read = ok_json(&late, &["read", &case, "--channel", "united-states"]);
    let lines = read.as_array().unwrap();
    let indexes: Vec<u64> = lines.iter().map(|l| l["index"].as_u64().unwrap()).collect();
    assert!(
        indexes.contains(&1),
        "C reads from the channel's first act: {indexes:?}"
    );
    assert!(
        texts(&read).contains(&"our red lines".to_owned()),
        "C reads what A said before it joined"
    );
    let shown = ok_json(&late, &["draft", "show", &case, "--version", "1"]);
    assert_eq!(shown["draft"]["version"], 1, "{shown}");
    let offers = ok_json(&late, &["offer", "list", &case]);
    assert!(offers.to_string().contains("phased_lift"), "{offers}");
    ok_json(
        &late,
        &["draft", "answer", &case, "--version", "1", "--accept-all"],
    );
    ok_json(&late, &["verify-home"]);

    // D reads only from its seating on, and cannot see the draft.
    let read = ok_json(&blind, &["read", &case, "--channel", "united-states"]);
    assert!(!texts(&read).contains(&"our red lines".to_owned()));
    let out = run(
        &blind,
        &["--json", "draft", "show", &case, "--version", "1"],
    );
    assert!(!out.status.success());
    // Everyone's copy still verifies and agrees.
    for h in [&mediator, &a, &iran] {
        ok_json(h, &["sync", &case]);
        ok_json(h, &["verify-home"]);
    }
}
