//! A case with a witness, through the real binary: `case new --witness URL` names a second
//! hub in the genesis, every participant's sync sends it the public record's heads, and
//! `case fingerprint` gives every participant the same code for the same head.
#![allow(clippy::unwrap_used)]

mod common;

use common::{identities, ok_json, seat_parties, start_hub};

#[test]
fn participants_of_a_witnessed_case_read_out_the_same_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let (hub_dir, witness_dir) = (dir.path().join("hub"), dir.path().join("witness"));
    std::fs::create_dir_all(&hub_dir).unwrap();
    std::fs::create_dir_all(&witness_dir).unwrap();
    let hub = start_hub(&hub_dir);
    let witness = start_hub(&witness_dir);
    let home = |name: &str| dir.path().join(name);
    let (mediator, us, iran) = (home("pakistan"), home("us"), home("iran"));
    identities(&[
        (&mediator, "Pakistan"),
        (&us, "United States"),
        (&iran, "Iran"),
    ]);

    let opened = ok_json(
        &mediator,
        &[
            "case",
            "new",
            "--hub",
            &hub.url,
            "--title",
            "Talks",
            "--witness",
            &witness.url,
        ],
    );
    let case = opened["case"].as_str().unwrap().to_owned();
    assert_eq!(
        opened["witnesses"][0]["url"],
        witness.url.as_str(),
        "{opened}"
    );
    assert_eq!(opened["witnesses"][0]["key"].as_str().unwrap().len(), 64);
    seat_parties(&mediator, &case, &[(&us, "United States"), (&iran, "Iran")]);
    ok_json(
        &mediator,
        &["send", &case, "--channel", "public", "--text", "welcome"],
    );

    let mut codes = vec![];
    for h in [&mediator, &us, &iran] {
        ok_json(h, &["sync", &case]);
        let shown = ok_json(h, &["case", "show", &case]);
        assert_eq!(shown["witnesses"][0]["url"], witness.url.as_str());
        assert!(shown["alarm"].is_null(), "{shown}");
        codes.push(ok_json(h, &["case", "fingerprint", &case]));
    }
    assert!(codes.windows(2).all(|w| w[0] == w[1]), "{codes:?}");
    let code = codes[0]["code"].as_str().unwrap();
    assert_eq!(code.chars().filter(char::is_ascii_digit).count(), 30);

    // A new public act moves every fingerprint together.
    ok_json(
        &iran,
        &["send", &case, "--channel", "public", "--text", "thank you"],
    );
    let after: Vec<_> = [&mediator, &us, &iran]
        .iter()
        .map(|h| {
            ok_json(h, &["sync", &case]);
            ok_json(h, &["case", "fingerprint", &case])
        })
        .collect();
    assert!(after.windows(2).all(|w| w[0] == w[1]), "{after:?}");
    assert_ne!(after[0]["code"], codes[0]["code"]);
    assert_eq!(
        after[0]["index"].as_u64().unwrap(),
        codes[0]["index"].as_u64().unwrap() + 1
    );
}
