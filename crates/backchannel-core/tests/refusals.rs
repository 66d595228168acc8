//! Every refusal code of the case's rules, driven by a real act, and the prose of every
//! refusal: each act is refused with exactly its code both by the poster's `next_act` and by
//! a reader's `accept`, the refusal leaves the state as it was, and its sentence holds no
//! Rust debug output, no enum variant name and no sentence said twice.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use backchannel_core::act::{ACT_VERSION, Head};
use backchannel_core::kinds::{GATE_CODES, KINDS, Kind};
use backchannel_core::plan::{Plan, Remedy};
use backchannel_core::procedure::{
    AgendaProposers, Agreement, Attribution, Charter, Clause, Declaration, Delegation,
};
use backchannel_core::{
    Act, ActBody, CaseId, CaseState, ChannelName, ChannelPurpose, Digest32, Ledger, PublicKey,
    Rejection, Role, VerifiedAct,
};
use ed25519_dalek::SigningKey;

/// Every code `Rejection::code` returns, in the order of the variants.
const CODES: [&str; 32] = [
    "wrong_case",
    "wrong_channel",
    "unknown_channel",
    "broken_chain",
    "bad_genesis",
    "not_participant",
    "not_channel_member",
    "mediator_only",
    "head_only",
    "plan_not_in_force",
    "not_obligor",
    "party_cannot_attest",
    "not_a_verifier",
    "stage_not_over",
    "ladder_not_exhausted",
    "public_only",
    "discreet_only",
    "already_participant",
    "channel_exists",
    "member_not_allowed",
    "observer_limited",
    "party_only",
    "own_channel_only",
    "charter_not_in_force",
    "charter_forbids",
    "consent_missing",
    "signature_missing",
    "bad_embedded_act",
    "unknown_reference",
    "conflict",
    "equivocation",
    "invalid_act",
];

/// `code`, provided `CODES` names it. Evaluated by the compiler in [`listed_code`], so that
/// a code missing from the list does not build.
const fn listed(code: &'static str) -> &'static str {
    let mut i = 0;
    while i < CODES.len() {
        let (a, b) = (CODES[i].as_bytes(), code.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return code;
            }
        }
        i += 1;
    }
    panic!("a code of Rejection is missing from CODES");
}

/// The listed code of every variant. No wildcard: a new variant of `Rejection` does not
/// build until it is named here, its code is in `CODES`, and `CODES` demands that the story
/// below drive it.
fn listed_code(rejection: &Rejection) -> &'static str {
    match rejection {
        Rejection::WrongCase(_) => const { listed("wrong_case") },
        Rejection::WrongChannel { .. } => const { listed("wrong_channel") },
        Rejection::UnknownChannel(_) => const { listed("unknown_channel") },
        Rejection::BrokenChain { .. } => const { listed("broken_chain") },
        Rejection::BadGenesis => const { listed("bad_genesis") },
        Rejection::NotParticipant(_) => const { listed("not_participant") },
        Rejection::NotChannelMember { .. } => const { listed("not_channel_member") },
        Rejection::MediatorOnly(_) => const { listed("mediator_only") },
        Rejection::HeadOnly { .. } => const { listed("head_only") },
        Rejection::PlanNotInForce => const { listed("plan_not_in_force") },
        Rejection::NotObligor { .. } => const { listed("not_obligor") },
        Rejection::PartyAttests => const { listed("party_cannot_attest") },
        Rejection::NotVerifier { .. } => const { listed("not_a_verifier") },
        Rejection::StageNotOver { .. } => const { listed("stage_not_over") },
        Rejection::LadderNotExhausted(_) => const { listed("ladder_not_exhausted") },
        Rejection::PublicOnly(_) => const { listed("public_only") },
        Rejection::DiscreetOnly(_) => const { listed("discreet_only") },
        Rejection::AlreadyParticipant(_) => const { listed("already_participant") },
        Rejection::ChannelExists(_) => const { listed("channel_exists") },
        Rejection::MemberNotAllowed { .. } => const { listed("member_not_allowed") },
        Rejection::ObserverLimited(_) => const { listed("observer_limited") },
        Rejection::PartyOnly(_) => const { listed("party_only") },
        Rejection::OwnChannelOnly(_) => const { listed("own_channel_only") },
        Rejection::CharterNotInForce(_) => const { listed("charter_not_in_force") },
        Rejection::CharterForbids(_) => const { listed("charter_forbids") },
        Rejection::ConsentMissing(_) => const { listed("consent_missing") },
        Rejection::SignatureMissing(_) => const { listed("signature_missing") },
        Rejection::BadEmbedded(_) => const { listed("bad_embedded_act") },
        Rejection::Unknown(_) => const { listed("unknown_reference") },
        Rejection::Conflict(_) => const { listed("conflict") },
        Rejection::Equivocation { .. } => const { listed("equivocation") },
        Rejection::Invalid(_) => const { listed("invalid_act") },
    }
}

const MEDIATOR: u8 = 1;
const US: u8 = 2;
const IRAN: u8 = 3;
const UAE: u8 = 4;
const INSPECTOR: u8 = 5;
const US_DEPUTY: u8 = 6;
const STRANGER: u8 = 9;
const DAY: u64 = 86_400_000;

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn pk(n: u8) -> PublicKey {
    PublicKey(key(n).verifying_key().to_bytes())
}

fn channel(name: &str) -> ChannelName {
    ChannelName::parse(name).unwrap()
}

fn text(t: &str) -> ActBody {
    ActBody::Message { text: t.into() }
}

/// The genesis body: the one place that spells out `case_opened`.
fn case_opened() -> ActBody {
    ActBody::CaseOpened {
        title: "Talks".into(),
        mediator_name: "Pakistan".into(),
        witnesses: vec![],
    }
}

/// The genesis act: the one `Act` literal of this file; every other act comes from
/// `CaseState::next_act`.
fn genesis() -> VerifiedAct {
    Act {
        v: ACT_VERSION,
        case: CaseId([9; 16]),
        channel: ChannelName::public(),
        index: 1,
        prev: Digest32::ZERO,
        author: pk(MEDIATOR),
        at_ms: 0,
        seen: vec![],
        body: case_opened(),
    }
    .sign(&key(MEDIATOR))
}

struct World {
    state: CaseState,
    ledger: Ledger,
    log: Vec<VerifiedAct>,
    /// Every refusal obtained, in the order of the story.
    refusals: Vec<Rejection>,
    /// The kind of act each refusal was of.
    kinds: Vec<&'static str>,
}

impl World {
    fn new() -> Self {
        let genesis = genesis();
        let state = CaseState::genesis(&genesis, Some(pk(MEDIATOR))).unwrap();
        let mut ledger = Ledger::default();
        ledger.record(&genesis);
        Self {
            state,
            ledger,
            log: vec![genesis],
            refusals: vec![],
            kinds: vec![],
        }
    }

    fn post(&mut self, author: u8, on: &ChannelName, body: ActBody) -> VerifiedAct {
        self.post_at(author, on, body, 0)
    }

    fn post_at(&mut self, author: u8, on: &ChannelName, body: ActBody, at_ms: u64) -> VerifiedAct {
        let kind = body.kind();
        let act = self
            .state
            .next_act(on, pk(author), at_ms, body, &self.ledger)
            .unwrap_or_else(|r| panic!("{kind} on {on} was refused: {r}"))
            .sign(&key(author));
        self.ledger
            .fold(&mut self.state, &act)
            .unwrap_or_else(|r| panic!("{kind} on {on} was refused by a reader: {r}"));
        self.log.push(act.clone());
        act
    }

    /// The act `author` would post next on `on`, signed, whatever the rules say: the
    /// mediator's next message there (the mediator may always speak where it sits), with
    /// its author and body replaced.
    fn crafted(&self, author: u8, on: &ChannelName, body: ActBody, at_ms: u64) -> VerifiedAct {
        let mut act = self
            .state
            .next_act(on, pk(MEDIATOR), at_ms, text("template"), &self.ledger)
            .unwrap();
        act.author = pk(author);
        act.body = body;
        act.sign(&key(author))
    }

    fn refuse(&mut self, author: u8, on: &ChannelName, body: ActBody, code: &str) {
        self.refuse_at(author, on, body, 0, code);
    }

    /// `author` may not post `body` on `on`: the poster's `next_act` refuses it with `code`,
    /// a reader's `accept` refuses the same signed act with the same refusal, and neither
    /// changes anything.
    fn refuse_at(&mut self, author: u8, on: &ChannelName, body: ActBody, at_ms: u64, code: &str) {
        let kind = body.kind();
        let by_poster = self
            .state
            .next_act(on, pk(author), at_ms, body.clone(), &self.ledger)
            .map(drop)
            .expect_err(&format!("{kind} on {on} was allowed; expected {code}"));
        assert_eq!(by_poster.code(), code, "{kind} on {on}: {by_poster}");
        let act = self.crafted(author, on, body, at_ms);
        self.refuse_wire(&act, code);
        assert_eq!(
            self.refusals.last(),
            Some(&by_poster),
            "the reader refuses {kind} otherwise than its poster"
        );
    }

    /// A reader's `accept` refuses this signed act with `code` and changes nothing.
    fn refuse_wire(&mut self, act: &VerifiedAct, code: &str) {
        let (state, ledger) = (self.state.clone(), self.ledger.clone());
        let refusal = self.state.accept(act, &self.ledger).expect_err(&format!(
            "{} was accepted; expected {code}",
            act.act.body.kind()
        ));
        assert_eq!(refusal.code(), code, "{refusal}");
        assert_eq!(self.state, state, "refusing with {code} changed the state");
        assert_eq!(self.ledger, ledger);
        self.refusals.push(refusal);
        self.kinds.push(act.act.body.kind());
    }

    /// The seed's cast: two parties, each under a head of delegation (the United States
    /// with a deputy besides), a bilateral channel each, and two observers, one of them the
    /// plan's verifier.
    fn seeded() -> Self {
        let mut w = Self::new();
        let public = ChannelName::public();
        let party = |name: &str| Role::Party { party: name.into() };
        for (n, name, role, head) in [
            (US, "United States", party("United States"), true),
            (US_DEPUTY, "US deputy", party("United States"), false),
            (IRAN, "Iran", party("Iran"), true),
            (UAE, "UAE", Role::Observer, false),
            (INSPECTOR, "Inspector", Role::Observer, false),
        ] {
            w.post(MEDIATOR, &public, admit(n, name, role, head));
        }
        for (party, name, members) in [
            (
                "United States",
                "united-states",
                vec![MEDIATOR, US, US_DEPUTY],
            ),
            ("Iran", "iran", vec![MEDIATOR, IRAN]),
        ] {
            w.post(
                MEDIATOR,
                &public,
                ActBody::ChannelOpened {
                    channel: channel(name),
                    purpose: ChannelPurpose::Bilateral {
                        party: party.into(),
                    },
                },
            );
            w.post(
                MEDIATOR,
                &channel(name),
                ActBody::MembersChanged {
                    members: members.into_iter().map(pk).collect(),
                },
            );
        }
        w
    }
}

fn admit(n: u8, name: &str, role: Role, head: bool) -> ActBody {
    ActBody::MemberAdmitted {
        key: pk(n),
        name: name.into(),
        role,
        head,
    }
}

/// A case told from its opening to a dispute over the implementation plan, with every act
/// the rules refuse on the way; returns every refusal, in order.
fn story() -> Vec<Rejection> {
    let w = played();
    // Outside the rules' `check`. A genesis the invite's mediator did not write:
    let mut refusals = w.refusals;
    refusals.push(CaseState::genesis(&w.log[0], Some(pk(US))).unwrap_err());
    // `wrong_channel` is no rule of the core: only the client's sync
    // (`backchannel-client`, `sync.rs`) knows on which channel the hub delivered an act, and
    // refuses one that names another. Its prose is checked here all the same.
    refusals.push(Rejection::WrongChannel {
        posted: channel("iran"),
        named: channel("united-states"),
    });
    refusals
}

/// The story of refused acts, through the rules' `check`.
fn played() -> World {
    let mut w = World::seeded();
    let public = ChannelName::public();
    let us = channel("united-states");
    let iran = channel("iran");

    // The chain: an act of another case, and an act delivered twice.
    let mut foreign = w
        .state
        .next_act(&public, pk(MEDIATOR), 0, text("hello"), &w.ledger)
        .unwrap();
    foreign.case = CaseId([1; 16]);
    w.refuse_wire(&foreign.sign(&key(MEDIATOR)), "wrong_case");
    let replayed = w.log.last().unwrap().clone();
    w.refuse_wire(&replayed, "broken_chain");
    // Checkpoints hold each position to this participant's copy.
    let forked = Head {
        channel: public.clone(),
        index: 1,
        hash: w.log[1].hash,
    };
    w.refuse(
        MEDIATOR,
        &public,
        ActBody::Checkpoint {
            heads: vec![forked],
        },
        "equivocation",
    );

    // Membership and channels.
    w.refuse(MEDIATOR, &public, case_opened(), "bad_genesis");
    w.refuse(STRANGER, &public, text("let me in"), "not_participant");
    let mallory = || admit(STRANGER, "Mallory", Role::Observer, false);
    w.refuse(US, &public, mallory(), "mediator_only");
    w.refuse(MEDIATOR, &us, mallory(), "public_only");
    w.refuse(
        MEDIATOR,
        &public,
        admit(US, "United States", Role::Observer, false),
        "already_participant",
    );
    w.refuse(
        MEDIATOR,
        &public,
        ActBody::MembersChanged {
            members: vec![pk(MEDIATOR)],
        },
        "discreet_only",
    );
    w.refuse(
        MEDIATOR,
        &public,
        ActBody::ChannelOpened {
            channel: iran.clone(),
            purpose: ChannelPurpose::Bilateral {
                party: "Iran".into(),
            },
        },
        "channel_exists",
    );
    w.refuse(
        MEDIATOR,
        &us,
        ActBody::MembersChanged {
            members: vec![pk(MEDIATOR), pk(US), pk(UAE)],
        },
        "member_not_allowed",
    );
    w.refuse(
        MEDIATOR,
        &public,
        ActBody::ChannelSeated {
            channel: channel("nowhere"),
            members: vec![pk(MEDIATOR)],
        },
        "unknown_channel",
    );
    w.refuse(UAE, &iran, text("let me listen"), "observer_limited");
    w.refuse(IRAN, &us, text("what do they say?"), "not_channel_member");
    w.refuse(MEDIATOR, &public, text(""), "invalid_act");

    // The charter: only a head of delegation binds its party.
    w.refuse(
        MEDIATOR,
        &public,
        ActBody::IssuesDefined { issues: vec![] },
        "charter_not_in_force",
    );
    let accept = |proposal| ActBody::CharterAccepted { proposal };
    w.refuse(US, &public, accept(Digest32::ZERO), "charter_not_in_force");
    w.refuse(MEDIATOR, &public, accept(Digest32::ZERO), "party_only");
    let charter = Charter {
        agenda_proposers: AgendaProposers::MediatorOnly,
        non_papers: false,
        attribution: Attribution::ParaphraseOnly,
        deadlines: vec![],
        delegation: Delegation::Head,
    };
    let proposal = w
        .post(MEDIATOR, &public, ActBody::CharterProposed { charter })
        .hash;
    w.refuse(US_DEPUTY, &public, accept(proposal), "head_only");
    w.refuse(IRAN, &public, accept(Digest32::ZERO), "unknown_reference");
    w.post(US, &public, accept(proposal));
    w.refuse(US, &public, accept(proposal), "conflict");
    let bases = || ActBody::AgendaProposed {
        title: "Bases".into(),
        demand: true,
    };
    // One party of two is not enough.
    w.refuse(US, &public, bases(), "charter_not_in_force");
    w.post(IRAN, &public, accept(proposal));

    // Under the charter: what it forbids, and what belongs in a party's own channel.
    w.refuse(US, &public, bases(), "charter_forbids");
    w.refuse(
        MEDIATOR,
        &iran,
        ActBody::NonPaper {
            text: "an unattributed idea".into(),
        },
        "charter_forbids",
    );
    let declaration = || ActBody::DeclarationTabled {
        declaration: Declaration {
            party: "United States".into(),
            text: "We will lift sanctions in phases.".into(),
        },
    };
    w.refuse(US, &iran, declaration(), "own_channel_only");
    w.refuse(MEDIATOR, &us, declaration(), "party_only");
    let report = |commitment: &str| ActBody::ProgressReported {
        commitment: commitment.into(),
        status: 1,
        note: String::new(),
    };
    w.refuse(US, &public, report("sanctions_relief"), "plan_not_in_force");

    // Direct talks open only with every party's consent.
    let direct = channel("direct");
    w.post(
        MEDIATOR,
        &public,
        ActBody::DirectTalksProposed {
            channel: direct.clone(),
        },
    );
    w.post(
        US,
        &public,
        ActBody::DirectTalksConsented {
            channel: direct.clone(),
        },
    );
    w.refuse(
        MEDIATOR,
        &public,
        ActBody::ChannelOpened {
            channel: direct,
            purpose: ChannelPurpose::Direct,
        },
        "consent_missing",
    );

    // The agreement, with its plan, is published only with every signature, each genuine.
    let plan = Plan::parse(include_bytes!("../plans/us-iran.json")).unwrap();
    let agreement = Agreement {
        title: "Framework".into(),
        clauses: vec![Clause {
            id: "sanctions".into(),
            text: "Sanctions are lifted in phases.".into(),
            issue: None,
            option: None,
            alternatives: vec![],
        }],
        guarantors: vec![],
        plan: Some(plan),
    };
    for on in [&us, &iran] {
        let agreement = agreement.clone();
        w.post(MEDIATOR, on, ActBody::AgreementTabled { agreement });
    }
    let sign = ActBody::AgreementSigned {
        agreement: agreement.hash(),
    };
    let by_us = w.post(US, &us, sign.clone()).signed;
    let witness = w.post(MEDIATOR, &iran, sign.clone()).signed;
    let publish = |signatures| ActBody::AgreementPublished {
        agreement: agreement.clone(),
        signatures,
    };
    w.refuse(
        MEDIATOR,
        &public,
        publish(vec![by_us.clone(), witness.clone()]),
        "signature_missing",
    );
    let by_iran = w.post(IRAN, &iran, sign).signed;
    let mut forged = by_iran.clone();
    forged.sig[0] ^= 1;
    w.refuse(
        MEDIATOR,
        &public,
        publish(vec![by_us.clone(), forged, witness.clone()]),
        "bad_embedded_act",
    );
    w.post(MEDIATOR, &public, publish(vec![by_us, by_iran, witness]));

    // Implementation: each party reports on its own commitments, the verifiers attest.
    w.refuse(US, &public, report("enrichment_cap"), "not_obligor");
    let attest = || ActBody::Attested {
        commitment: "enrichment_cap".into(),
        status: 3,
        evidence: String::new(),
    };
    w.refuse(IRAN, &public, attest(), "party_cannot_attest");
    w.refuse(UAE, &public, attest(), "not_a_verifier");

    // A dispute climbs its ladder on the clock, and a remedy waits for its end.
    let t0 = 1_000;
    w.post_at(
        US,
        &public,
        ActBody::DisputeOpened {
            commitments: vec!["enrichment_cap".into()],
            complaint: "enrichment above the cap".into(),
        },
        t0,
    );
    w.refuse_at(
        US,
        &public,
        ActBody::DisputeEscalated { dispute: 1 },
        t0 + DAY,
        "stage_not_over",
    );
    w.refuse_at(
        US,
        &public,
        ActBody::RemedyInvoked {
            dispute: 1,
            remedy: Remedy::Snapback { notice_days: 30 },
        },
        t0 + DAY,
        "ladder_not_exhausted",
    );
    w
}

/// The table of act kinds says which refusals each kind's own rule gives: every refusal an
/// act meets is either one any act may meet (`GATE_CODES`) or one its kind's row names, and
/// every code a row names is a refusal code.
#[test]
fn every_kind_refuses_only_what_the_table_says() {
    let w = played();
    for (kind, refusal) in w.kinds.iter().zip(&w.refusals) {
        let row = Kind::named(kind).unwrap();
        let code = refusal.code();
        assert!(
            GATE_CODES.contains(&code) || row.refuses.contains(&code),
            "{kind} was refused with {code}, which its row in kinds::KINDS does not name: {refusal}"
        );
    }
    for row in KINDS {
        for code in row.refuses.iter().chain(GATE_CODES) {
            assert!(
                CODES.contains(code),
                "{}: {code} is no refusal code",
                row.name
            );
        }
    }
}

#[test]
fn every_code_is_driven_by_a_real_act_and_changes_nothing() {
    let refusals = story();
    for refusal in &refusals {
        assert_eq!(listed_code(refusal), refusal.code(), "{refusal}");
    }
    let driven: BTreeSet<&str> = refusals.iter().map(Rejection::code).collect();
    let listed: BTreeSet<&str> = CODES.into_iter().collect();
    assert_eq!(listed.len(), CODES.len(), "CODES names a code twice");
    let undriven: Vec<_> = listed.difference(&driven).collect();
    assert!(undriven.is_empty(), "no act drives {undriven:?}");
    assert_eq!(driven, listed);
}

/// Rust's debug output and enum variant names, which a refusal's sentence never shows.
const DEBUG_NEEDLES: [&str; 6] = [
    "PublicKey(",
    "Digest32(",
    "CaseId(",
    "ChannelName(",
    "Some(",
    "None",
];

/// Variant names of one word, which only debug output would capitalise.
const VARIANT_WORDS: [&str; 27] = [
    "Mediator",
    "Party",
    "Observer",
    "Bilateral",
    "Direct",
    "Any",
    "Head",
    "Accept",
    "Object",
    "Prefer",
    "Paraphrase",
    "Original",
    "Open",
    "Withdrawn",
    "Opened",
    "Proximity",
    "Public",
    "Snapback",
    "Obligors",
    "Date",
    "Offset",
    "Attestation",
    "Unknown",
    "Conflict",
    "Invalid",
    "Equivocation",
    "Message",
];

/// What is wrong with a refusal's sentence, if anything.
fn prose_faults(sentence: &str) -> Vec<String> {
    let mut faults = Vec::new();
    if sentence.trim().is_empty() || sentence.trim() != sentence {
        faults.push("it is empty or padded".to_owned());
    }
    for needle in DEBUG_NEEDLES {
        if sentence.contains(needle) {
            faults.push(format!("it shows {needle:?}"));
        }
    }
    if sentence.contains(['{', '}']) || sentence.contains("  ") || sentence.contains("()") {
        faults.push("it shows a debug struct or an empty value".to_owned());
    }
    for word in sentence.split(|c: char| !c.is_alphanumeric() && c != '_') {
        let camel = word
            .chars()
            .zip(word.chars().skip(1))
            .any(|(a, b)| a.is_lowercase() && b.is_uppercase());
        if camel || VARIANT_WORDS.contains(&word) {
            faults.push(format!("it names the variant {word}"));
        }
    }
    let parts: Vec<String> = sentence
        .split([':', ';'])
        .map(|p| p.trim().to_lowercase())
        .collect();
    for (i, part) in parts.iter().enumerate() {
        if parts[..i].contains(part) {
            faults.push(format!("it says {part:?} twice"));
        }
    }
    let words: Vec<String> = sentence
        .split_whitespace()
        .map(|w| w.to_lowercase())
        .collect();
    for pair in words.windows(2) {
        if pair[0] == pair[1] {
            faults.push(format!("it repeats {:?}", pair[0]));
        }
        // An act's kind is a noun: "only a party may seal a position", never "may
        // position_sealed".
        if ["may", "to"].contains(&pair[0].as_str()) && pair[1].contains('_') {
            faults.push(format!("{:?} lacks its verb", pair[1]));
        }
    }
    faults
}

#[test]
fn every_refusal_reads_as_prose() {
    let mut bad = Vec::new();
    for refusal in story() {
        let sentence = refusal.to_string();
        for fault in prose_faults(&sentence) {
            bad.push(format!("{}: {fault}: {sentence}", refusal.code()));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_prose_check_catches_what_it_is_for() {
    for leaky in [
        "the key PublicKey(8a88e3dd7409) is unknown",
        "the charter lets Some(\"Iran\") accept",
        "agenda proposers are PartiesAndMediator",
        "conveying OriginalWithConsent is not allowed",
        "the channel is Bilateral { party: \"Iran\" }",
        "no charter is proposed: no charter is proposed",
        "dispute 1 is at stage  until 5",
        "only a party may declaration_tabled",
    ] {
        assert!(!prose_faults(leaky).is_empty(), "{leaky}");
    }
    assert!(prose_faults("only the mediator may admit participants").is_empty());
}
