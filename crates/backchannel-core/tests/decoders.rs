//! The core's decoders of outside input never panic: arbitrary bytes, and valid inputs with
//! bytes flipped, inserted or deleted, come back as an error — or, where the change is one the
//! format ignores (JSON whitespace, an escaped `/`, a leading zero), as the original value.
//!
//! Decoders under test: `SignedAct::decode`, `Record::verify` (which also drives the case
//! state's rules over signed acts) and `RequestAuth::parse`. The fuzz targets in `fuzz/` run
//! the same entry points unbounded; these run in CI, bounded.
#![allow(clippy::unwrap_used)]

use backchannel_core::act::{ChannelPurpose, Head};
use backchannel_core::auth::{RequestAuth, sign_request};
use backchannel_core::procedure::{
    AgendaProposers, Agreement, Attribution, Charter, Clause, ClauseAnswer, Conveyance,
    Declaration, Delegation, Draft, Offer,
};
use backchannel_core::record::{RECORD_FORMAT, Record};
use backchannel_core::{
    Act, ActBody, CaseId, CaseState, ChannelName, Digest32, Ledger, PublicKey, Role, SignedAct,
    VerifiedAct,
};
use backchannel_formula::{Condition, Issue, IssueOption, Requirement, RequirementKind};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;

const CASE: CaseId = CaseId([9; 16]);
const MEDIATOR: u8 = 1;
/// Keys 1..=KEYS sign acts: the mediator, two parties, an observer and a stranger.
const KEYS: u8 = 5;

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn pk(n: u8) -> PublicKey {
    PublicKey(key(n).verifying_key().to_bytes())
}

fn channel(name: &str) -> ChannelName {
    ChannelName::parse(name).unwrap()
}

const CHANNELS: [&str; 4] = ["public", "united-states", "iran", "direct"];

fn genesis() -> VerifiedAct {
    Act::opening(CASE, pk(MEDIATOR), 0, "Talks", "Pakistan", vec![]).sign(&key(MEDIATOR))
}

/// The in-memory history of a log.
fn ledger_of(log: &[VerifiedAct]) -> Ledger {
    let mut ledger = Ledger::default();
    for act in log {
        ledger.record(act);
    }
    ledger
}

/// A short valid log: genesis, two parties and an observer admitted, a bilateral channel
/// each, the charter proposed and accepted, the issues defined, messages.
fn valid_log() -> (CaseState, Vec<VerifiedAct>) {
    let first = genesis();
    let mut state = CaseState::genesis(&first, Some(pk(MEDIATOR))).unwrap();
    let mut log = vec![first];
    let public = ChannelName::public();
    let mut post = |state: &mut CaseState, author: u8, channel: &ChannelName, body: ActBody| {
        let ledger = ledger_of(&log);
        let act = state
            .next_act(channel, pk(author), 1_700_000_000_000, body, &ledger)
            .unwrap()
            .sign(&key(author));
        state.accept(&act, &ledger).unwrap();
        log.push(act.clone());
        act
    };
    for (n, name, role) in [
        (
            2,
            "United States",
            Role::Party {
                party: "United States".into(),
            },
        ),
        (
            3,
            "Iran",
            Role::Party {
                party: "Iran".into(),
            },
        ),
        (4, "UAE", Role::Observer),
    ] {
        let body = ActBody::MemberAdmitted {
            key: pk(n),
            name: name.into(),
            role,
            head: false,
        };
        post(&mut state, MEDIATOR, &public, body);
    }
    for (n, party, name) in [(2, "United States", "united-states"), (3, "Iran", "iran")] {
        let purpose = ChannelPurpose::Bilateral {
            party: party.into(),
        };
        let body = ActBody::ChannelOpened {
            channel: channel(name),
            purpose,
        };
        post(&mut state, MEDIATOR, &public, body);
        let members = vec![pk(MEDIATOR), pk(n)];
        post(
            &mut state,
            MEDIATOR,
            &channel(name),
            ActBody::MembersChanged { members },
        );
    }
    let charter = Charter {
        agenda_proposers: AgendaProposers::PartiesAndMediator,
        non_papers: true,
        attribution: Attribution::OriginalWithConsent,
        deadlines: vec![],
        delegation: Delegation::Any,
    };
    let proposal = post(
        &mut state,
        MEDIATOR,
        &public,
        ActBody::CharterProposed { charter },
    )
    .hash;
    for n in [2, 3] {
        post(
            &mut state,
            n,
            &public,
            ActBody::CharterAccepted { proposal },
        );
    }
    let issues = vec![Issue {
        id: "a".into(),
        title: "Issue".into(),
        options: ["x", "y"]
            .map(|o| IssueOption {
                id: o.into(),
                label: o.into(),
            })
            .to_vec(),
    }];
    post(
        &mut state,
        MEDIATOR,
        &public,
        ActBody::IssuesDefined { issues },
    );
    let text = "our terms, in confidence".to_owned();
    post(
        &mut state,
        2,
        &channel("united-states"),
        ActBody::Message { text },
    );
    let text = "talks are under \"way\" \u{e9}".to_owned();
    post(&mut state, MEDIATOR, &public, ActBody::Message { text });
    (state, log)
}

fn record_bytes(acts: &[VerifiedAct]) -> Vec<u8> {
    serde_json::to_vec(&Record {
        format: RECORD_FORMAT.into(),
        case: CASE,
        mediator: pk(MEDIATOR),
        acts: acts.iter().map(|a| a.signed.clone()).collect(),
    })
    .unwrap()
}

/// One edit of a byte string; positions are taken modulo the length.
#[derive(Clone, Debug)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Set { at: usize, byte: u8 },
    Insert { at: usize, byte: u8 },
    Delete { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes that matter to JSON and to the header syntax, more often than chance would.
    let byte = prop_oneof![
        any::<u8>(),
        prop::sample::select(b" \n\t\r\"\\/{}[],:=0123456789abcdefABCDEF+-.eE".to_vec()),
    ];
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), byte.clone()).prop_map(|(at, byte)| Mutation::Set { at, byte }),
        (any::<usize>(), byte).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        any::<usize>().prop_map(|at| Mutation::Delete { at }),
    ]
}

fn mutate(bytes: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for m in mutations {
        match *m {
            Mutation::Flip { at, bit } if !out.is_empty() => {
                let at = at % out.len();
                out[at] ^= 1 << bit;
            }
            Mutation::Set { at, byte } if !out.is_empty() => {
                let at = at % out.len();
                out[at] = byte;
            }
            Mutation::Insert { at, byte } => out.insert(at % (out.len() + 1), byte),
            Mutation::Delete { at } if !out.is_empty() => {
                let at = at % out.len();
                out.remove(at);
            }
            _ => {}
        }
    }
    out
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(mutation(), 1..4)
}

// --- SignedAct::decode ---

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic_the_act_decoder(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = SignedAct::decode(&bytes);
    }

    #[test]
    fn arbitrary_text_never_panics_the_act_decoder(text in "\\PC{0,256}") {
        let _ = SignedAct::decode(text.as_bytes());
    }

    /// An envelope of the right shape around arbitrary payload and signature bytes reaches
    /// the payload parser and the signature check.
    #[test]
    fn arbitrary_payloads_never_panic_the_act_decoder(
        payload in prop::collection::vec(any::<u8>(), 0..256),
        sig in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        let signed = SignedAct { payload, sig };
        prop_assert!(SignedAct::decode(&signed.to_bytes()).is_err());
    }

    /// A valid act with a few bytes changed is refused, unless the change is one JSON
    /// ignores, and then it decodes to exactly the original.
    #[test]
    fn a_mutated_signed_act_is_refused_or_unchanged(which in 0usize..32, edits in mutations()) {
        let (_, log) = valid_log();
        let original = &log[which % log.len()];
        let bytes = mutate(&original.signed.to_bytes(), &edits);
        if let Ok(decoded) = SignedAct::decode(&bytes) {
            prop_assert_eq!(&decoded, original);
        }
    }

    /// Whitespace between JSON tokens is insignificant: the act decodes to the original.
    #[test]
    fn whitespace_in_the_envelope_changes_nothing(which in 0usize..32, at in 0usize..8, ws in "[ \t\r\n]{1,3}") {
        let (_, log) = valid_log();
        let original = &log[which % log.len()];
        let text = String::from_utf8(original.signed.to_bytes()).unwrap();
        // Token boundaries of `{"payload":"…","sig":"…"}`.
        let boundaries: Vec<usize> = text
            .char_indices()
            .filter(|&(_, c)| matches!(c, '{' | '}' | ':' | ','))
            .flat_map(|(i, _)| [i, i + 1])
            .collect();
        let at = boundaries[at % boundaries.len()];
        let spaced = format!("{}{ws}{}", &text[..at], &text[at..]);
        prop_assert_eq!(&SignedAct::decode(spaced.as_bytes()).unwrap(), original);
    }

    /// A changed payload never verifies under the original signature.
    #[test]
    fn a_mutated_payload_fails_its_signature(which in 0usize..32, edits in mutations()) {
        let (_, log) = valid_log();
        let original = &log[which % log.len()].signed;
        let payload = mutate(&original.payload, &edits);
        let signed = SignedAct { payload: payload.clone(), sig: original.sig.clone() };
        let result = SignedAct::decode(&signed.to_bytes());
        if payload != original.payload {
            prop_assert!(result.is_err());
        }
    }

    /// A changed payload, signed afresh by its author, reaches the act parser; whatever it
    /// parses to, nothing panics.
    #[test]
    fn a_mutated_payload_signed_afresh_never_panics(which in 0usize..32, edits in mutations()) {
        use ed25519_dalek::Signer as _;
        let (_, log) = valid_log();
        let original = &log[which % log.len()];
        let author = (1..=KEYS).find(|&n| pk(n) == original.act.author).unwrap();
        let payload = mutate(&original.signed.payload, &edits);
        let sig = key(author).sign(&Act::signing_input(&payload)).to_bytes().to_vec();
        let signed = SignedAct { payload, sig };
        if let Ok(decoded) = SignedAct::decode(&signed.to_bytes()) {
            prop_assert_eq!(decoded.signed, signed);
        }
    }
}

#[test]
fn oversized_and_empty_acts_are_refused() {
    assert!(SignedAct::decode(b"").is_err());
    assert!(SignedAct::decode(&vec![b' '; 1 << 20]).is_err());
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(SignedAct::decode(deep.as_bytes()).is_err());
    let deep_payload = SignedAct {
        payload: format!("{}{}", "{\"v\":".repeat(10_000), "}".repeat(10_000)).into_bytes(),
        sig: vec![0; 64],
    };
    assert!(SignedAct::decode(&deep_payload.to_bytes()).is_err());
}

// --- Record::verify ---

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_the_record_verifier(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Record::verify(&bytes);
    }

    /// A valid record with a few bytes changed is refused, or is the same record.
    #[test]
    fn a_mutated_record_is_refused_or_unchanged(edits in mutations()) {
        let (state, log) = valid_log();
        let bytes = mutate(&record_bytes(&log), &edits);
        if let Ok((record, replayed)) = Record::verify(&bytes) {
            prop_assert_eq!(record.acts.len(), log.len());
            prop_assert_eq!(replayed, state);
        }
    }

}

proptest! {
    // Each case signs and folds up to 24 acts over a 14-act prefix: fewer cases keep it fast.
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Records of correctly signed acts of every kind, chosen at random and mostly placed
    /// where the chain expects them, drive the case state's rules: verifying the record
    /// never panics, and agrees with folding the same acts one by one.
    #[test]
    fn records_of_signed_acts_agree_with_the_fold(steps in prop::collection::vec(step(), 1..24)) {
        let (mut state, mut log) = valid_log();
        let mut refused = false;
        for step in steps {
            let body = step.body(&log);
            let (author, act) = if step.in_place {
                // The first author and channel, from the drawn ones on, under which the
                // rules accept this body: most random bodies fit somewhere.
                let placed = (0..KEYS)
                    .flat_map(|a| (0..CHANNELS.len()).map(move |c| (a, c)))
                    .find_map(|(a, c)| {
                        let author = (step.author - 1 + a) % KEYS + 1;
                        let channel = channel(CHANNELS[(step.channel + c) % CHANNELS.len()]);
                        let act = state.next_act(&channel, pk(author), step.n, body.clone(), &ledger_of(&log));
                        act.ok().map(|act| (author, act))
                    });
                match placed {
                    Some(placed) => placed,
                    None => continue,
                }
            } else {
                let act = Act {
                    v: backchannel_core::act::ACT_VERSION,
                    case: CASE,
                    channel: channel(CHANNELS[step.channel % CHANNELS.len()]),
                    index: step.n % 24,
                    prev: log[step.n as usize % log.len()].hash,
                    author: pk(step.author),
                    at_ms: step.n,
                    seen: vec![],
                    body,
                };
                (step.author, act)
            };
            let act = act.sign(&key(author));
            let ledger = ledger_of(&log);
            log.push(act.clone());
            if state.accept(&act, &ledger).is_err() {
                refused = true;
                break;
            }
        }
        match Record::verify(&record_bytes(&log)) {
            Ok((_, replayed)) => {
                prop_assert!(!refused);
                prop_assert_eq!(replayed, state);
            }
            Err(e) => prop_assert!(refused, "refused only by the record: {e}"),
        }
    }
}

/// One act of a random record: who, where, what kind, and the few values it is built from.
#[derive(Clone, Debug)]
struct Step {
    author: u8,
    channel: usize,
    kind: u8,
    n: u64,
    text: String,
    flag: bool,
    in_place: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (
        prop_oneof![Just(MEDIATOR), 1..=KEYS],
        0..CHANNELS.len(),
        0u8..30,
        any::<u64>(),
        prop_oneof![
            "[a-z]{0,3}",
            "[a-z ]{0,12}",
            Just("United States".to_owned()),
            Just("Iran".to_owned()),
            "\\PC{0,8}"
        ],
        any::<bool>(),
        prop::bool::weighted(0.97),
    )
        .prop_map(|(author, channel, kind, n, text, flag, in_place)| Step {
            author,
            channel,
            kind,
            n,
            text,
            flag,
            in_place,
        })
}

impl Step {
    fn digest(&self, log: &[VerifiedAct]) -> Digest32 {
        if self.flag {
            log[self.n as usize % log.len()].hash
        } else {
            Digest32([self.n as u8; 32])
        }
    }

    fn signed(&self, log: &[VerifiedAct]) -> SignedAct {
        log[self.n as usize % log.len()].signed.clone()
    }

    fn chan(&self) -> ChannelName {
        channel(CHANNELS[(self.n as usize) % CHANNELS.len()])
    }

    fn clause(&self) -> Clause {
        Clause {
            id: if self.text.is_empty() {
                "c1".into()
            } else {
                self.text.clone()
            },
            text: "a clause".into(),
            issue: self.flag.then(|| "a".into()),
            option: self.flag.then(|| "x".into()),
            alternatives: vec![],
        }
    }

    fn condition(&self) -> Condition {
        Condition {
            issue: if self.flag {
                "a".into()
            } else {
                self.text.clone()
            },
            options: vec!["x".into()],
        }
    }

    fn body(&self, log: &[VerifiedAct]) -> ActBody {
        let text = self.text.clone();
        let role = match self.n % 3 {
            0 => Role::Party {
                party: text.clone(),
            },
            1 => Role::Observer,
            _ => Role::Mediator,
        };
        match self.kind {
            0 => ActBody::Message { text },
            1 => ActBody::MemberAdmitted {
                key: pk((self.n % u64::from(KEYS + 1)) as u8),
                name: text,
                role,
                head: self.n & 4 == 4,
            },
            2 => ActBody::ChannelOpened {
                channel: self.chan(),
                purpose: if self.flag {
                    ChannelPurpose::Bilateral { party: text }
                } else {
                    ChannelPurpose::Direct
                },
            },
            3 => ActBody::MembersChanged {
                members: (1..=KEYS)
                    .filter(|&k| self.n >> k & 1 == 1)
                    .map(pk)
                    .collect(),
            },
            4 => ActBody::CharterProposed {
                charter: Charter {
                    agenda_proposers: if self.flag {
                        AgendaProposers::PartiesAndMediator
                    } else {
                        AgendaProposers::MediatorOnly
                    },
                    non_papers: self.n & 1 == 1,
                    attribution: if self.n & 2 == 2 {
                        Attribution::OriginalWithConsent
                    } else {
                        Attribution::ParaphraseOnly
                    },
                    deadlines: vec![],
                    delegation: if self.n & 4 == 4 {
                        Delegation::Head
                    } else {
                        Delegation::Any
                    },
                },
            },
            5 => ActBody::CharterAccepted {
                proposal: self.digest(log),
            },
            6 => ActBody::IssuesDefined {
                issues: vec![Issue {
                    id: if self.flag { "a".into() } else { text },
                    title: "Issue".into(),
                    options: ["x", "y"]
                        .iter()
                        .take((self.n % 3) as usize)
                        .map(|o| IssueOption {
                            id: (*o).into(),
                            label: (*o).into(),
                        })
                        .collect(),
                }],
            },
            7 => ActBody::AgendaProposed {
                title: text,
                demand: self.flag,
            },
            8 => ActBody::AgendaConsented { item: self.n % 16 },
            9 => ActBody::PositionSealed {
                position: backchannel_formula::Party {
                    id: text.clone(),
                    name: text,
                    weights: [("a".to_owned(), (self.n % 5) as f64 / 4.0)].into(),
                    scores: [(
                        "a".to_owned(),
                        [("x".to_owned(), 1.0), ("y".to_owned(), 0.0)].into(),
                    )]
                    .into(),
                    red_lines: Default::default(),
                    reservation: (self.n % 3) as f64 / 2.0,
                },
                replaces: self.flag.then_some((self.n % 3) as u32),
            },
            10 => ActBody::RequirementRegistered {
                requirement: Requirement {
                    id: text.clone(),
                    by: text,
                    kind: RequirementKind::Forbid {
                        issue: "a".into(),
                        options: vec!["y".into()],
                    },
                },
                rationale: "why".into(),
            },
            11 => ActBody::ConveyConsent {
                act: self.digest(log),
                to: self.chan(),
            },
            12 => ActBody::Conveyed {
                from: self.chan(),
                conveyance: if self.flag {
                    Conveyance::Paraphrase { text }
                } else {
                    Conveyance::Original {
                        original: self.signed(log),
                        consent: log[log.len() - 1].signed.clone(),
                    }
                },
            },
            13 => ActBody::NonPaper { text },
            14 => ActBody::DraftIssued {
                draft: Draft {
                    version: (self.n % 3) as u32,
                    title: "Draft".into(),
                    clauses: vec![self.clause()],
                },
            },
            15 => ActBody::DraftAnswered {
                version: (self.n % 3) as u32,
                answers: [(
                    self.clause().id,
                    if self.flag {
                        ClauseAnswer::Accept
                    } else {
                        ClauseAnswer::Prefer { option: "y".into() }
                    },
                )]
                .into(),
            },
            16 => ActBody::OfferCommitted {
                commitment: self.digest(log),
            },
            17 => ActBody::OfferTabled {
                offer: Offer {
                    promise: vec![self.condition()],
                    condition: vec![self.condition()],
                },
                salt: Digest32([self.n as u8; 32]),
            },
            18 => ActBody::OfferWithdrawn {
                commitment: self.digest(log),
            },
            19 => ActBody::OffersOpened {
                offers: if self.flag {
                    vec![self.signed(log), log[0].signed.clone()]
                } else {
                    vec![SignedAct {
                        payload: text.into_bytes(),
                        sig: vec![self.n as u8; 64],
                    }]
                },
            },
            20 => ActBody::DirectTalksProposed {
                channel: self.chan(),
            },
            21 => ActBody::DirectTalksConsented {
                channel: self.chan(),
            },
            22 => ActBody::AgreementTabled {
                agreement: Agreement {
                    title: "Accord".into(),
                    clauses: vec![self.clause()],
                    guarantors: vec![pk(4)],
                    plan: None,
                },
            },
            23 => ActBody::AgreementSigned {
                agreement: self.digest(log),
            },
            24 => ActBody::AgreementPublished {
                agreement: Agreement {
                    title: "Accord".into(),
                    clauses: vec![self.clause()],
                    guarantors: vec![],
                    plan: None,
                },
                signatures: vec![self.signed(log)],
            },
            25 => ActBody::AgreementGuaranteed {
                agreement: self.digest(log),
            },
            26 => ActBody::DeclarationTabled {
                declaration: Declaration {
                    party: text.clone(),
                    text,
                },
            },
            27 => ActBody::DeclarationsPublished {
                declarations: vec![self.signed(log)],
            },
            28 => ActBody::Checkpoint {
                heads: vec![Head {
                    channel: self.chan(),
                    index: self.n % 8,
                    hash: self.digest(log),
                }],
            },
            29 => ActBody::ChannelSeated {
                channel: self.chan(),
                members: (1..=KEYS)
                    .filter(|&k| self.n >> k & 1 == 1)
                    .map(pk)
                    .collect(),
            },
            _ => ActBody::CaseOpened {
                title: text.clone(),
                mediator_name: text,
                witnesses: vec![],
            },
        }
    }
}

#[test]
fn the_valid_record_verifies() {
    let (state, log) = valid_log();
    let (record, replayed) = Record::verify(&record_bytes(&log)).unwrap();
    assert_eq!(record.acts.len(), log.len());
    assert_eq!(replayed, state);
}

// --- RequestAuth::parse ---

fn header() -> (RequestAuth, &'static str, &'static str, &'static [u8]) {
    let (method, path, body) = (
        "POST",
        "/v1/cases/0909/channels/public/entries",
        &b"{\"after\":3}"[..],
    );
    let auth = sign_request(&key(2), method, path, 1_700_000_000_000, [7; 16], body);
    (auth, method, path, body)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics_the_header_parser(text in "\\PC{0,300}") {
        let _ = RequestAuth::parse(&text);
        let _ = RequestAuth::parse(&format!("Backchannel {text}"));
    }

    #[test]
    fn header_shaped_text_never_panics_the_header_parser(
        parts in prop::collection::vec(("(key|ts|nonce|sig|x)", "[0-9a-fA-F\u{e9}=, ]{0,130}"), 0..6),
    ) {
        let text = parts.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ");
        let _ = RequestAuth::parse(&format!("Backchannel {text}"));
    }

    /// A header with a few bytes changed is refused, or parses to a value whose signature
    /// still verifies only if it is the original (hex case and leading zeros are not
    /// significant).
    #[test]
    fn a_mutated_header_is_refused_or_unchanged(edits in mutations()) {
        let (auth, method, path, body) = header();
        let bytes = mutate(auth.header_value().as_bytes(), &edits);
        let Ok(text) = String::from_utf8(bytes) else { return Ok(()) };
        if let Some(parsed) = RequestAuth::parse(&text)
            && parsed.verify(method, path, body)
        {
            prop_assert_eq!(parsed, auth);
        }
    }

    #[test]
    fn signed_headers_round_trip(
        n in 1u8..=KEYS,
        method in "[A-Za-z]{1,7}",
        path in "/\\PC{0,40}",
        ts in any::<u64>(),
        nonce in any::<[u8; 16]>(),
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let auth = sign_request(&key(n), &method, &path, ts, nonce, &body);
        let parsed = RequestAuth::parse(&auth.header_value()).unwrap();
        prop_assert!(parsed.verify(&method, &path, &body));
        prop_assert_eq!(parsed, auth);
    }
}
