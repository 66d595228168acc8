//! The act format's exact bytes: one act of every kind in `tests/golden/acts.v2.txt`, each
//! line its chain hash and its payload. Reading a line and writing it again must give the same
//! bytes, and signing it with a fixed key the same hash, so that no signed byte changes by
//! accident. After a deliberate change of the format (and of `ACT_VERSION`), rewrite the
//! hashes with `GOLDEN_UPDATE=1 cargo nextest run -p backchannel-core --test golden`.
#![allow(clippy::unwrap_used)]

use backchannel_core::KINDS;
use backchannel_core::act::{ACT_VERSION, Act, SignedAct};
use ed25519_dalek::SigningKey;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/acts.v2.txt");

#[test]
fn every_act_kind_keeps_its_exact_bytes() {
    let text = std::fs::read_to_string(GOLDEN).unwrap();
    let key = SigningKey::from_bytes(&[7; 32]);
    let update = std::env::var_os("GOLDEN_UPDATE").is_some();
    let mut kinds = vec![];
    let mut rewritten = String::new();
    for line in text.lines() {
        let (hash, payload) = line.split_once(' ').unwrap();
        let act: Act = serde_json::from_str(payload)
            .unwrap_or_else(|e| panic!("a golden act does not parse: {e}: {payload}"));
        assert_eq!(act.v, ACT_VERSION);
        let signed = act.sign(&key);
        let kind = act.body.kind();
        assert_eq!(
            String::from_utf8(signed.signed.payload.clone()).unwrap(),
            payload,
            "the bytes of a {kind} act changed"
        );
        let computed = hex::encode(signed.hash.0);
        if update {
            rewritten.push_str(&format!("{computed} {payload}\n"));
        } else {
            assert_eq!(hash, computed, "the hash of a {kind} act changed");
        }
        kinds.push(kind);
    }
    if update {
        std::fs::write(GOLDEN, rewritten).unwrap();
    }
    let table: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
    assert_eq!(
        kinds, table,
        "the golden file holds one act of every kind, in order"
    );
}

#[test]
fn acts_of_version_1_are_refused_by_name() {
    let text = std::fs::read_to_string(GOLDEN).unwrap();
    let payload = text.lines().next().unwrap().split_once(' ').unwrap().1;
    let old = payload.replacen("\"v\":2", "\"v\":1", 1);
    let signed = SignedAct {
        payload: old.into_bytes(),
        sig: vec![0; 64],
    };
    let refused = signed.verify().unwrap_err().to_string();
    assert!(
        refused.contains("version 1") && refused.contains("version 2 only"),
        "{refused}"
    );
}
