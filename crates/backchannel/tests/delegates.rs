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
