//! The case state's rules and chain, attacked act by act; replay determinism as a property.
#![allow(clippy::unwrap_used)]

use backchannel_core::act::ChannelPurpose;
use backchannel_core::{
    ActBody, CaseId, CaseState, ChannelName, Digest32, Ledger, PublicKey, Rejection, Role,
    VerifiedAct,
};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;

struct World {
    state: CaseState,
    ledger: Ledger,
    log: Vec<VerifiedAct>,
}

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn pk(n: u8) -> PublicKey {
    PublicKey(key(n).verifying_key().to_bytes())
}

const MEDIATOR: u8 = 1;
const US: u8 = 2;
const IRAN: u8 = 3;
const UAE: u8 = 4;

fn channel(name: &str) -> ChannelName {
    ChannelName::parse(name).unwrap()
}

impl World {
    fn new() -> Self {
        let genesis = backchannel_core::Act::opening(
            CaseId([9; 16]),
            pk(MEDIATOR),
            0,
            "Talks",
            "Pakistan",
            vec![],
        )
        .sign(&key(MEDIATOR));
        let state = CaseState::genesis(&genesis, Some(pk(MEDIATOR))).unwrap();
        let mut ledger = Ledger::default();
        ledger.record(&genesis);
        Self {
            state,
            ledger,
            log: vec![genesis],
        }
    }

    fn make(
        &self,
        author: u8,
        channel: &ChannelName,
        body: ActBody,
    ) -> Result<VerifiedAct, Rejection> {
        let act = self
            .state
            .next_act(channel, pk(author), 0, body, &self.ledger)?;
        Ok(act.sign(&key(author)))
    }

    fn post(
        &mut self,
        author: u8,
        channel: &ChannelName,
        body: ActBody,
    ) -> Result<VerifiedAct, Rejection> {
        self.post_at(author, channel, body, 0)
    }

    /// Posts an act its author dated `at_ms`.
    fn post_at(
        &mut self,
        author: u8,
        channel: &ChannelName,
        body: ActBody,
        at_ms: u64,
    ) -> Result<VerifiedAct, Rejection> {
        let act = self
            .state
            .next_act(channel, pk(author), at_ms, body, &self.ledger)?
            .sign(&key(author));
        self.ledger.fold(&mut self.state, &act)?;
        self.log.push(act.clone());
        Ok(act)
    }

    /// The seed's cast: two parties with a bilateral channel each, one observer.
    fn seeded() -> Self {
        let mut w = Self::new();
        let public = ChannelName::public();
        for (n, name, role) in [
            (
                US,
                "United States",
                Role::Party {
                    party: "United States".into(),
                },
            ),
            (
                IRAN,
                "Iran",
                Role::Party {
                    party: "Iran".into(),
                },
            ),
            (UAE, "UAE", Role::Observer),
        ] {
            w.post(
                MEDIATOR,
                &public,
                ActBody::MemberAdmitted {
                    key: pk(n),
                    name: name.into(),
                    role,
                    head: false,
                },
            )
            .unwrap();
        }
        for (n, party, name) in [
            (US, "United States", "united-states"),
            (IRAN, "Iran", "iran"),
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
            )
            .unwrap();
            w.post(
                MEDIATOR,
                &channel(name),
                ActBody::MembersChanged {
                    members: vec![pk(MEDIATOR), pk(n)],
                },
            )
            .unwrap();
        }
        w
    }
}

fn text(t: &str) -> ActBody {
    ActBody::Message { text: t.into() }
}

#[test]
fn replaying_the_log_gives_the_same_state() {
    let mut w = World::seeded();
    w.post(US, &channel("united-states"), text("our terms"))
        .unwrap();
    w.post(
        MEDIATOR,
        &ChannelName::public(),
        text("talks are under way"),
    )
    .unwrap();
    let replayed = CaseState::replay(&w.log, Some(pk(MEDIATOR))).unwrap();
    assert_eq!(replayed, w.state);
}

#[test]
fn genesis_by_someone_else_is_refused() {
    let w = World::new();
    assert_eq!(
        CaseState::genesis(&w.log[0], Some(pk(US))).unwrap_err(),
        Rejection::BadGenesis
    );
}

#[test]
fn only_the_mediator_admits_and_opens_channels() {
    let mut w = World::seeded();
    let public = ChannelName::public();
    let admit = ActBody::MemberAdmitted {
        key: pk(9),
        name: "Mallory".into(),
        role: Role::Observer,
        head: false,
    };
    assert_eq!(
        w.post(US, &public, admit).unwrap_err().code(),
        "mediator_only"
    );
    let open = ActBody::ChannelOpened {
        channel: channel("side"),
        purpose: ChannelPurpose::Bilateral {
            party: "Iran".into(),
        },
    };
    assert_eq!(
        w.post(IRAN, &public, open).unwrap_err().code(),
        "mediator_only"
    );
}

#[test]
fn an_observer_or_the_other_party_never_sits_in_a_bilateral_channel() {
    let mut w = World::seeded();
    let us = channel("united-states");
    for intruder in [UAE, IRAN] {
        let members = vec![pk(MEDIATOR), pk(US), pk(intruder)];
        let err = w
            .post(MEDIATOR, &us, ActBody::MembersChanged { members })
            .unwrap_err();
        assert_eq!(err.code(), "member_not_allowed");
    }
}

#[test]
fn who_sits_in_a_channel_is_said_on_the_public_record_by_the_mediator_alone() {
    let mut w = World::seeded();
    let public = ChannelName::public();
    let us = channel("united-states");
    let seated = |members: Vec<PublicKey>| ActBody::ChannelSeated {
        channel: us.clone(),
        members,
    };
    let true_members = vec![pk(MEDIATOR), pk(US)];
    let refusals = [
        (US, &public, seated(true_members.clone()), "mediator_only"),
        (MEDIATOR, &us, seated(true_members.clone()), "public_only"),
        (
            MEDIATOR,
            &public,
            seated(vec![pk(MEDIATOR), pk(US), pk(UAE)]),
            "member_not_allowed",
        ),
        (MEDIATOR, &public, seated(vec![pk(US)]), "invalid_act"),
        (
            MEDIATOR,
            &public,
            ActBody::ChannelSeated {
                channel: channel("nowhere"),
                members: true_members.clone(),
            },
            "unknown_channel",
        ),
    ];
    for (author, on, body, code) in refusals {
        let before = w.state.clone();
        assert_eq!(w.post(author, on, body).unwrap_err().code(), code);
        assert_eq!(w.state, before);
    }
    w.post(MEDIATOR, &public, seated(true_members.clone()))
        .unwrap();
    let said: Vec<PublicKey> = w.state.channels[&us].seated.iter().copied().collect();
    let mut expected = true_members;
    expected.sort();
    assert_eq!(said, expected);
}

#[test]
fn a_non_member_cannot_post_to_a_bilateral_channel() {
    let mut w = World::seeded();
    assert_eq!(
        w.post(IRAN, &channel("united-states"), text("hi"))
            .unwrap_err()
            .code(),
        "not_channel_member"
    );
    assert_eq!(
        w.post(UAE, &channel("iran"), text("hi"))
            .unwrap_err()
            .code(),
        "observer_limited"
    );
    assert_eq!(
        w.post(9, &ChannelName::public(), text("hi"))
            .unwrap_err()
            .code(),
        "not_participant"
    );
}

#[test]
fn dropped_replayed_reordered_and_foreign_acts_break_the_chain() {
    let w = World::seeded();
    let us = channel("united-states");
    let mut sender = World::seeded();
    let first = sender.post(US, &us, text("one")).unwrap();
    let second = sender.post(US, &us, text("two")).unwrap();

    // Dropped: the receiver gets the second without the first.
    let (mut receiver, mut ledger) = (w.state.clone(), w.ledger.clone());
    let mut accept = |act: &VerifiedAct| ledger.fold(&mut receiver, act);
    assert_eq!(accept(&second).unwrap_err().code(), "broken_chain");
    // Replayed: the first twice.
    accept(&first).unwrap();
    assert_eq!(accept(&first).unwrap_err().code(), "broken_chain");
    accept(&second).unwrap();

    // Foreign: an act of another case.
    let mut other = World::seeded();
    other.state.case = CaseId([1; 16]);
    let foreign = other.make(US, &us, text("x")).unwrap();
    assert_eq!(
        w.state
            .clone()
            .accept(&foreign, &w.ledger)
            .unwrap_err()
            .code(),
        "wrong_case"
    );
}

#[test]
fn a_rejected_act_changes_nothing() {
    let mut w = World::seeded();
    let before = w.state.clone();
    assert!(w.post(UAE, &channel("iran"), text("let me in")).is_err());
    assert!(w.post(MEDIATOR, &ChannelName::public(), text("")).is_err());
    assert_eq!(w.state, before);
}

proptest! {
    /// Any sequence of allowed posts replays to the same state, and every act the state
    /// refuses leaves it unchanged.
    #[test]
    fn replay_is_deterministic(posts in proptest::collection::vec((0u8..5, 0usize..3, 0u8..3), 0..40)) {
        let mut w = World::seeded();
        let channels = [ChannelName::public(), channel("united-states"), channel("iran")];
        for (author, ch, kind) in posts {
            let author = [MEDIATOR, US, IRAN, UAE, 9][author as usize];
            let body = match kind {
                0 => text("words"),
                1 => ActBody::MembersChanged { members: vec![pk(MEDIATOR), pk(author)] },
                _ => ActBody::MemberAdmitted { key: pk(author.wrapping_add(10)), name: "n".into(), role: Role::Observer, head: false },
            };
            let before = w.state.clone();
            if w.post(author, &channels[ch], body).is_err() {
                prop_assert_eq!(&w.state, &before);
            }
        }
        prop_assert_eq!(CaseState::replay(&w.log, Some(pk(MEDIATOR))).unwrap(), w.state);
    }
}

/// A hub that forks a channel — the mediator's copy holds one act at an index, the party's
/// another — is caught when a checkpoint from one side reaches the other.
#[test]
fn a_checkpoint_exposes_a_forked_channel() {
    let us = channel("united-states");
    let mut seen_by_mediator = World::seeded();
    let mut seen_by_us = World::seeded();
    seen_by_mediator
        .post(MEDIATOR, &us, text("version shown to the mediator"))
        .unwrap();
    seen_by_us
        .post(MEDIATOR, &us, text("version shown to Washington"))
        .unwrap();

    let head = |w: &World| backchannel_core::act::Head {
        channel: us.clone(),
        index: w.state.channels[&us].length,
        hash: w.state.channels[&us].head,
    };
    let checkpoint = ActBody::Checkpoint {
        heads: vec![head(&seen_by_mediator)],
    };
    let act = seen_by_mediator
        .post(MEDIATOR, &ChannelName::public(), checkpoint)
        .unwrap();
    let before = seen_by_us.state.clone();
    let err = seen_by_us
        .state
        .accept(&act, &seen_by_us.ledger)
        .unwrap_err();
    assert_eq!(err.code(), "equivocation");
    assert_eq!(seen_by_us.state, before);

    // An honest copy accepts the same checkpoint.
    let mut honest = World::seeded();
    honest
        .post(MEDIATOR, &us, text("version shown to the mediator"))
        .unwrap();
    assert!(honest.state.accept(&act, &honest.ledger).is_ok());
}

#[test]
fn an_exported_record_verifies_offline_and_tampering_is_named() {
    use backchannel_core::record::{RECORD_FORMAT, Record};
    let mut w = World::seeded();
    w.post(MEDIATOR, &ChannelName::public(), text("a public statement"))
        .unwrap();
    let record = Record {
        format: RECORD_FORMAT.into(),
        case: w.state.case,
        mediator: pk(MEDIATOR),
        acts: w.log.iter().map(|a| a.signed.clone()).collect(),
    };
    let bytes = serde_json::to_vec(&record).unwrap();
    let (_, state) = Record::verify(&bytes).unwrap();
    assert_eq!(state, w.state);

    let mut dropped = record.clone();
    dropped.acts.remove(3);
    let err = Record::verify(&serde_json::to_vec(&dropped).unwrap()).unwrap_err();
    assert!(
        matches!(
            err,
            backchannel_core::record::RecordError::Act { position: 4, .. }
        ),
        "{err}"
    );

    let mut forged = record.clone();
    forged.acts[2].sig[0] ^= 1;
    let err = Record::verify(&serde_json::to_vec(&forged).unwrap()).unwrap_err();
    assert!(
        matches!(
            err,
            backchannel_core::record::RecordError::Act { position: 3, .. }
        ),
        "{err}"
    );

    let mut other_mediator = record;
    other_mediator.mediator = pk(US);
    assert!(Record::verify(&serde_json::to_vec(&other_mediator).unwrap()).is_err());
    assert!(Record::verify(b"{not json").is_err());
}

/// The seed's cast with a published agreement and the seed story's plan in force, set
/// directly: what is under test is the dispute ladder's rules.
fn implementing() -> World {
    use backchannel_core::procedure::{
        AgendaProposers, Agreement, AgreementState, Attribution, Charter, CharterState, Delegation,
        ImplementationState,
    };
    use std::collections::{BTreeMap, BTreeSet};
    let mut w = World::seeded();
    let parties: BTreeSet<String> = ["United States", "Iran"].map(String::from).into();
    w.state.procedure.charter = Some(CharterState {
        proposal: Digest32::ZERO,
        charter: Charter {
            agenda_proposers: AgendaProposers::MediatorOnly,
            non_papers: false,
            attribution: Attribution::ParaphraseOnly,
            deadlines: vec![],
            delegation: Delegation::Any,
        },
        accepted_by: parties.clone(),
    });
    w.state.procedure.agreement = Some(AgreementState {
        agreement: Agreement {
            title: "Framework".into(),
            clauses: vec![],
            guarantors: vec![],
            plan: None,
        },
        hash: Digest32::ZERO,
        signatures: BTreeMap::new(),
        published: true,
        guaranteed_by: BTreeSet::new(),
        published_ms: Some(0),
        published_index: None,
        tabled: BTreeSet::new(),
    });
    let plan = backchannel_core::plan::Plan::parse(include_bytes!("../plans/us-iran.json"))
        .unwrap()
        .to_owned();
    w.state.procedure.implementation = Some(ImplementationState {
        proposal: Digest32::ZERO,
        plan,
        accepted_by: parties,
        in_force: true,
        reports: vec![],
        attestations: vec![],
        disputes: vec![],
        extension_consents: vec![],
        extensions: vec![],
    });
    w
}

#[test]
fn a_deadline_moves_only_with_the_consent_the_plan_requires() {
    let mut w = implementing();
    let public = ChannelName::public();
    let refused = |w: &mut World, author: u8, body: ActBody, code: &str| {
        let before = w.state.clone();
        let err = w.post(author, &public, body).unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        assert_eq!(w.state, before, "a refused act changed the state");
    };
    let consent = |days| ActBody::ExtensionConsented {
        commitment: "regional_conduct".into(),
        days,
    };
    let extend = |days| ActBody::DeadlineExtended {
        commitment: "regional_conduct".into(),
        days,
    };
    // Regional conduct binds both sides, and its plan asks every party's consent.
    refused(&mut w, MEDIATOR, extend(20), "consent_missing");
    w.post(US, &public, consent(20)).unwrap();
    refused(&mut w, MEDIATOR, extend(20), "consent_missing");
    refused(&mut w, US, consent(20), "conflict");
    // A consent to another number of days is another extension.
    w.post(IRAN, &public, consent(25)).unwrap();
    refused(&mut w, MEDIATOR, extend(20), "consent_missing");
    w.post(IRAN, &public, consent(20)).unwrap();
    w.post(MEDIATOR, &public, extend(20)).unwrap();
    let facts = w.state.procedure.implementation_facts();
    assert_eq!(facts.extended_days("regional_conduct"), 20);
    // The consents were spent; the plan allows 60 days in all.
    refused(&mut w, MEDIATOR, extend(20), "consent_missing");
    refused(&mut w, US, consent(41), "invalid_act");
    // Sanctions relief asks only its obligor's consent; Iran's is not asked for.
    refused(
        &mut w,
        IRAN,
        ActBody::ExtensionConsented {
            commitment: "sanctions_relief".into(),
            days: 10,
        },
        "invalid_act",
    );
    w.post(
        US,
        &public,
        ActBody::ExtensionConsented {
            commitment: "sanctions_relief".into(),
            days: 10,
        },
    )
    .unwrap();
    w.post(
        MEDIATOR,
        &public,
        ActBody::DeadlineExtended {
            commitment: "sanctions_relief".into(),
            days: 10,
        },
    )
    .unwrap();
    // Every amendment stays on the record.
    let extended = w
        .log
        .iter()
        .filter(|a| matches!(a.act.body, ActBody::DeadlineExtended { .. }))
        .count();
    assert_eq!(extended, 2);
}

/// Each dispute's stage in the implementation status at `now`.
fn stage_of(w: &World, now: u64) -> Vec<String> {
    let i = w.state.procedure.implementation.as_ref().unwrap();
    let s = backchannel_core::plan::status(&i.plan, &w.state.procedure.implementation_facts(), now);
    s.disputes.iter().map(|d| d.stage.clone()).collect()
}

#[test]
fn a_dispute_climbs_the_ladder_on_the_clock_and_ends_in_a_remedy() {
    use backchannel_core::plan::Remedy;
    const DAY: u64 = 86_400_000;
    let mut w = implementing();
    let public = ChannelName::public();
    let refused = |w: &mut World, author: u8, body: ActBody, at: u64, code: &str| {
        let before = w.state.clone();
        let err = w.post_at(author, &public, body, at).unwrap_err();
        assert_eq!(err.code(), code, "{err}");
        assert_eq!(w.state, before, "a refused act changed the state");
    };
    let t0 = 1_000;
    // The United States says Iran is not performing; the mediator cannot open a dispute.
    let open = |complaint: &str| ActBody::DisputeOpened {
        commitments: vec!["enrichment_cap".into()],
        complaint: complaint.into(),
    };
    refused(&mut w, MEDIATOR, open("x"), t0, "invalid_act");
    w.post_at(US, &public, open("enrichment above the cap"), t0)
        .unwrap();
    assert_eq!(stage_of(&w, t0), ["joint_commission"]);
    let escalate = ActBody::DisputeEscalated { dispute: 1 };
    // Each stage runs its days before it may be escalated.
    refused(
        &mut w,
        US,
        escalate.clone(),
        t0 + 15 * DAY - 1,
        "stage_not_over",
    );
    // The Joint Commission gives no advisory opinion; a remedy waits for the ladder's end.
    let opinion = ActBody::DisputeOpinion {
        dispute: 1,
        opinion: "non-binding view".into(),
    };
    refused(&mut w, UAE, opinion.clone(), t0 + DAY, "invalid_act");
    let snapback = ActBody::RemedyInvoked {
        dispute: 1,
        remedy: Remedy::Snapback { notice_days: 30 },
    };
    refused(
        &mut w,
        US,
        snapback.clone(),
        t0 + DAY,
        "ladder_not_exhausted",
    );
    let t1 = t0 + 15 * DAY;
    w.post_at(US, &public, escalate.clone(), t1).unwrap();
    assert_eq!(stage_of(&w, t1), ["ministers"]);
    // At the ministers' stage, the advisory board's opinion; never a party's.
    refused(&mut w, IRAN, opinion.clone(), t1 + DAY, "invalid_act");
    w.post_at(UAE, &public, opinion, t1 + DAY).unwrap();
    let t2 = t1 + 15 * DAY;
    refused(&mut w, IRAN, escalate.clone(), t2 - 1, "stage_not_over");
    w.post_at(IRAN, &public, escalate.clone(), t2).unwrap();
    assert_eq!(stage_of(&w, t2), ["final"]);
    let t3 = t2 + 5 * DAY;
    w.post_at(US, &public, escalate.clone(), t3).unwrap();
    assert_eq!(stage_of(&w, t3), ["exhausted"]);
    refused(&mut w, US, escalate, t3 + DAY, "conflict");
    // Only the complainant invokes a remedy, and only one the plan provides.
    let mut other = snapback.clone();
    if let ActBody::RemedyInvoked { remedy, .. } = &mut other {
        *remedy = Remedy::GraduatedSuspension;
    }
    refused(&mut w, US, other, t3 + DAY, "invalid_act");
    refused(&mut w, IRAN, snapback.clone(), t3 + DAY, "invalid_act");
    w.post_at(US, &public, snapback.clone(), t3 + DAY).unwrap();
    assert_eq!(stage_of(&w, t3 + DAY), ["remedied"]);
    refused(&mut w, US, snapback, t3 + 2 * DAY, "conflict");

    // A second dispute, opened by an observer and resolved by the mediator alone.
    let regional = ActBody::DisputeOpened {
        commitments: vec!["regional_conduct".into()],
        complaint: "interference in our affairs".into(),
    };
    w.post_at(UAE, &public, regional, t3).unwrap();
    let resolve = ActBody::DisputeResolved {
        dispute: 2,
        resolution: "assurances exchanged".into(),
    };
    refused(&mut w, US, resolve.clone(), t3 + DAY, "mediator_only");
    w.post_at(MEDIATOR, &public, resolve, t3 + DAY).unwrap();
    assert_eq!(stage_of(&w, t3 + DAY), ["remedied", "resolved"]);
}

/// The mediator, who convenes the ladder's bodies, may refer a dispute to the next stage before
/// its days are over (the Joint Commission finds it cannot settle it); a party may not, and
/// nobody takes a dispute past the last stage early, since that opens the remedies.
#[test]
fn the_mediator_refers_a_dispute_on_early_but_never_past_the_last_stage() {
    const DAY: u64 = 86_400_000;
    let mut w = implementing();
    let public = ChannelName::public();
    let t0 = 1_000;
    w.post_at(
        UAE,
        &public,
        ActBody::DisputeOpened {
            commitments: vec!["regional_conduct".into()],
            complaint: "interference in our affairs".into(),
        },
        t0,
    )
    .unwrap();
    let escalate = ActBody::DisputeEscalated { dispute: 1 };
    for (author, at) in [(US, t0 + DAY), (UAE, t0 + DAY)] {
        let before = w.state.clone();
        let err = w
            .post_at(author, &public, escalate.clone(), at)
            .unwrap_err();
        assert_eq!(err.code(), "stage_not_over", "{err}");
        assert_eq!(w.state, before);
    }
    w.post_at(MEDIATOR, &public, escalate.clone(), t0 + DAY)
        .unwrap();
    assert_eq!(stage_of(&w, t0 + DAY), ["ministers"]);
    w.post_at(MEDIATOR, &public, escalate.clone(), t0 + 2 * DAY)
        .unwrap();
    assert_eq!(stage_of(&w, t0 + 2 * DAY), ["final"]);
    // The final stage runs its five days whoever asks.
    let before = w.state.clone();
    let err = w
        .post_at(MEDIATOR, &public, escalate.clone(), t0 + 7 * DAY - 1)
        .unwrap_err();
    assert_eq!(err.code(), "stage_not_over", "{err}");
    assert_eq!(w.state, before);
    w.post_at(MEDIATOR, &public, escalate, t0 + 7 * DAY)
        .unwrap();
    assert_eq!(stage_of(&w, t0 + 7 * DAY), ["exhausted"]);
}

/// The heads an act says it saw are checked before anything else about it: named once each,
/// in order, of other open channels, none on a public act, and where the reader holds the
/// position, the very act it holds. Each malformed list is refused and changes nothing.
#[test]
fn the_heads_an_act_saw_are_checked() {
    let mut w = World::seeded();
    let us = channel("united-states");
    w.post(MEDIATOR, &ChannelName::public(), text("on the record"))
        .unwrap();
    let honest = w
        .state
        .next_act(&us, pk(US), 0, text("seen"), &w.ledger)
        .unwrap();
    assert_eq!(
        honest.seen.len(),
        1,
        "a discreet act carries the public head"
    );
    let head = honest.seen[0].clone();
    let with = |seen: Vec<backchannel_core::Head>, on: &ChannelName| {
        let mut act = if on.is_public() {
            w.state
                .next_act(on, pk(US), 0, text("seen"), &w.ledger)
                .unwrap()
        } else {
            honest.clone()
        };
        act.seen = seen;
        act.sign(&key(US))
    };
    let mut zero = head.clone();
    zero.index = 0;
    let mut unknown = head.clone();
    unknown.channel = channel("nowhere");
    let mut own = head.clone();
    own.channel = us.clone();
    let mut forked = head.clone();
    forked.hash = Digest32([7; 32]);
    for (what, act, code) in [
        (
            "a public act naming a head",
            with(vec![head.clone()], &ChannelName::public()),
            "invalid_act",
        ),
        (
            "a head named twice",
            with(vec![head.clone(), head.clone()], &us),
            "invalid_act",
        ),
        ("index 0", with(vec![zero], &us), "invalid_act"),
        (
            "an unknown channel",
            with(vec![unknown], &us),
            "invalid_act",
        ),
        ("its own channel", with(vec![own], &us), "invalid_act"),
        (
            "another act at a held position",
            with(vec![forked], &us),
            "equivocation",
        ),
    ] {
        let before = w.state.clone();
        let refused = w.state.accept(&act, &w.ledger).expect_err(what);
        assert_eq!(refused.code(), code, "{what}: {refused}");
        assert_eq!(w.state, before, "{what}");
    }
    let act = honest.sign(&key(US));
    w.state.accept(&act, &w.ledger).unwrap();
}

/// A genesis names at most four witnesses, each once, each at an http(s) URL.
#[test]
fn a_genesis_names_its_witnesses_within_bounds() {
    let witness = |n: u8, url: &str| backchannel_core::Witness {
        url: url.into(),
        key: pk(n),
    };
    let open = |witnesses| {
        let act = backchannel_core::Act::opening(
            CaseId([9; 16]),
            pk(MEDIATOR),
            0,
            "Talks",
            "Pakistan",
            witnesses,
        )
        .sign(&key(MEDIATOR));
        CaseState::genesis(&act, Some(pk(MEDIATOR)))
    };
    let good = open(vec![witness(20, "https://witness.example")]).unwrap();
    assert_eq!(good.witnesses.len(), 1);
    for (what, witnesses) in [
        (
            "five witnesses",
            (20..25)
                .map(|n| witness(n, &format!("https://w{n}.example")))
                .collect(),
        ),
        (
            "the same key twice",
            vec![
                witness(20, "https://a.example"),
                witness(20, "https://b.example"),
            ],
        ),
        (
            "the same URL twice",
            vec![
                witness(20, "https://a.example"),
                witness(21, "https://a.example"),
            ],
        ),
        ("no http", vec![witness(20, "ftp://a.example")]),
        ("a space", vec![witness(20, "https://a .example")]),
        (
            "a bidi mark",
            vec![witness(20, "https://a\u{202e}.example")],
        ),
    ] {
        let refused = open(witnesses).expect_err(what);
        assert_eq!(refused.code(), "invalid_act", "{what}: {refused}");
    }
}
