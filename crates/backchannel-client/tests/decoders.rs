//! The client's decoders of outside input never panic: invite codes (pasted by people) and
//! the identity file (on disk, perhaps damaged or tampered with) come back as an error.
//!
//! Inputs are drawn from a seeded generator, one seed per case, so a failure names the case
//! that reproduces it. The fuzz targets in `fuzz/` run `InviteCode::decode` unbounded.
#![allow(clippy::unwrap_used)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use backchannel_client::vault::{Vault, seal_with};
use backchannel_client::{ClientError, InviteCode};
use backchannel_core::{CaseId, PublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SEED: u64 = 0x0bac_c4a7_7e1d;

/// Runs `decode` on the input of each case, turning a panic into a failure that names the
/// case and its input.
fn never_panics<T: std::fmt::Debug, R>(
    cases: u64,
    generate: impl Fn(&mut StdRng) -> T,
    decode: impl Fn(&T) -> R,
) {
    for case in 0..cases {
        let mut rng = StdRng::seed_from_u64(SEED ^ case);
        let input = generate(&mut rng);
        if catch_unwind(AssertUnwindSafe(|| decode(&input))).is_err() {
            panic!("case {case} (seed {SEED:#x} ^ {case}) panicked on {input:?}");
        }
    }
}

fn random_bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
    let len = rng.gen_range(0..=max);
    (0..len).map(|_| rng.r#gen()).collect()
}

/// Bytes that matter to JSON and base64, more often than chance would give them.
const INTERESTING: &[u8] = b" \n\t\"\\/{}[],:0123456789-+eE.=_AZaz\x00\xff";

fn mutate(rng: &mut StdRng, bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for _ in 0..rng.gen_range(1..=3) {
        let byte = if rng.gen_bool(0.5) {
            INTERESTING[rng.gen_range(0..INTERESTING.len())]
        } else {
            rng.r#gen()
        };
        match rng.gen_range(0..4) {
            0 if !out.is_empty() => {
                let at = rng.gen_range(0..out.len());
                out[at] ^= 1 << rng.gen_range(0..8);
            }
            1 if !out.is_empty() => {
                let at = rng.gen_range(0..out.len());
                out[at] = byte;
            }
            2 if !out.is_empty() => {
                out.remove(rng.gen_range(0..out.len()));
            }
            _ => out.insert(rng.gen_range(0..=out.len()), byte),
        }
    }
    out
}

// --- InviteCode::decode ---

fn invite(hub: &str) -> InviteCode {
    InviteCode {
        hub: hub.into(),
        case: CaseId([1; 16]),
        mediator: PublicKey([2; 32]),
        secret: [3; 16],
        case_key: [4; 32],
    }
}

#[test]
fn arbitrary_text_never_panics_the_invite_decoder() {
    never_panics(
        2_000,
        |rng| String::from_utf8_lossy(&random_bytes(rng, 256)).into_owned(),
        |text| InviteCode::decode(text),
    );
    never_panics(
        2_000,
        |rng| {
            let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ ";
            let len = rng.gen_range(0..300);
            let body: String = (0..len)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
                .collect();
            format!("bc1-{body}")
        },
        |text| InviteCode::decode(text),
    );
}

/// Well-encoded payloads of every length around the fixed part, with any version byte and
/// any hub bytes, reach every check after base64.
#[test]
fn arbitrary_payloads_never_panic_the_invite_decoder() {
    never_panics(
        3_000,
        |rng| {
            let mut bytes = random_bytes(rng, 140);
            if rng.gen_bool(0.7) && !bytes.is_empty() {
                bytes[0] = 1;
            }
            if rng.gen_bool(0.3) && bytes.len() > 97 {
                bytes.truncate(97);
                bytes.extend_from_slice(b"http://");
            }
            format!("bc1-{}", URL_SAFE_NO_PAD.encode(bytes))
        },
        |text| {
            if let Ok(code) = InviteCode::decode(text) {
                assert_eq!(InviteCode::decode(&code.encode()).unwrap(), code);
            }
        },
    );
}

/// A valid code with a few bytes changed is refused, or decodes to a code that encodes
/// back to itself.
#[test]
fn a_mutated_invite_code_is_refused_or_well_formed() {
    let original = invite("https://hub.example.org:7878").encode();
    never_panics(
        3_000,
        |rng| String::from_utf8_lossy(&mutate(rng, original.as_bytes())).into_owned(),
        |text| {
            if let Ok(code) = InviteCode::decode(text) {
                assert!(code.hub.starts_with("http://") || code.hub.starts_with("https://"));
                assert_eq!(InviteCode::decode(&code.encode()).unwrap(), code);
            }
        },
    );
}

#[test]
fn invite_codes_round_trip() {
    never_panics(
        1_000,
        |rng| {
            let url_len = rng.gen_range(0..=512 - 8);
            let url: String = (0..url_len).map(|_| rng.gen_range(' '..='~')).collect();
            InviteCode {
                hub: format!("https://{url}"),
                case: CaseId(rng.r#gen()),
                mediator: PublicKey(rng.r#gen()),
                secret: rng.r#gen(),
                case_key: rng.r#gen(),
            }
        },
        |code| {
            let text = code.encode();
            assert_eq!(&InviteCode::decode(&text).unwrap(), code);
            assert_eq!(&InviteCode::decode(&format!("  {text}\n")).unwrap(), code);
        },
    );
}

#[test]
fn oversized_invite_codes_are_refused() {
    let long = invite(&format!("https://{}", "a".repeat(100_000))).encode();
    assert!(matches!(
        InviteCode::decode(&long),
        Err(ClientError::BadInvite(_))
    ));
    assert!(InviteCode::decode("bc1-").is_err());
    assert!(InviteCode::decode("bc1-\u{e9}\u{e9}\u{e9}").is_err());
}

// --- Vault::open and Vault::peek on a damaged identity.json ---

const PASSPHRASE: &str = "correct horse";
/// The associated data the vault seals the identity key under (`vault.rs`).
const KEY_AAD: &[u8] = b"backchannel/identity-key/v1";

/// A valid identity file whose key derivation is as cheap as Argon2id allows, so that the
/// many mutated copies that still parse do not each cost a full derivation.
fn cheap_identity_file(dir: &Path) -> Vec<u8> {
    let vault = Vault::create(dir, "Ada", PASSPHRASE).unwrap();
    let seed = vault.identity.key.to_bytes();
    drop(vault);
    let path = dir.join("identity.json");
    let mut file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let salt = [5u8; 16];
    let (m_kib, t, p) = (8, 1, 1);
    let mut key = [0u8; 32];
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(m_kib, t, p, Some(32)).unwrap(),
    )
    .hash_password_into(PASSPHRASE.as_bytes(), &salt, &mut key)
    .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    file["kdf"] = serde_json::json!({
        "alg": "argon2id", "m_kib": m_kib, "t": t, "p": p, "salt": b64.encode(salt),
    });
    file["sealed_key"] = b64.encode(seal_with(&key, KEY_AAD, &seed)).into();
    let bytes = serde_json::to_vec_pretty(&file).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    // The rewritten file opens: the mutations below start from a valid identity.
    let reopened = Vault::open(dir, PASSPHRASE).unwrap();
    assert_eq!(reopened.identity.key.to_bytes(), seed);
    bytes
}

fn open_identity(dir: &Path, bytes: &[u8]) -> Result<Vault, ClientError> {
    std::fs::write(dir.join("identity.json"), bytes).unwrap();
    let _ = Vault::peek(dir);
    Vault::open(dir, PASSPHRASE)
}

#[test]
fn arbitrary_bytes_in_identity_json_are_an_error() {
    let home = tempfile::tempdir().unwrap();
    never_panics(
        500,
        |rng| random_bytes(rng, 512),
        |bytes| assert!(open_identity(home.path(), bytes).is_err()),
    );
    for bytes in [&b""[..], b"null", b"{}", b"[]", b"\"x\"", b"{\"format\":1}"] {
        assert!(open_identity(home.path(), bytes).is_err());
    }
}

/// A valid identity file with a few bytes changed opens to the same key, or is an error.
#[test]
fn a_mutated_identity_json_is_refused_or_the_same_identity() {
    let home = tempfile::tempdir().unwrap();
    let valid = cheap_identity_file(home.path());
    let expected = Vault::open(home.path(), PASSPHRASE)
        .unwrap()
        .identity
        .public_key();
    never_panics(
        400,
        |rng| mutate(rng, &valid),
        |bytes| {
            if let Ok(vault) = open_identity(home.path(), bytes) {
                assert_eq!(vault.identity.public_key(), expected);
            }
        },
    );
}
