//! History for a delegate seated late: the mediator shares the channel's earlier acts
//! (`SharedHistory`), and the newcomer accepts only the very chain that leads to the first act
//! it read (`CaseState::check_history`). Every tampering — an altered act, one dropped, two
//! swapped, one substituted, one of another channel — is refused by name.
#![allow(clippy::unwrap_used)]

use backchannel_core::act::{ChannelPurpose, SignedAct};
use backchannel_core::history::SharedHistory;
use backchannel_core::{
    Act, ActBody, CaseId, CaseState, ChannelName, History, Ledger, PublicKey, Role, VerifiedAct,
};
use ed25519_dalek::SigningKey;

const MEDIATOR: u8 = 1;
const US_A: u8 = 2;
const US_B: u8 = 3;
const IRAN: u8 = 4;

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn pk(n: u8) -> PublicKey {
    PublicKey(key(n).verifying_key().to_bytes())
}

fn us() -> ChannelName {
    ChannelName::parse("united-states").unwrap()
}

fn text(t: &str) -> ActBody {
    ActBody::Message { text: t.into() }
}

/// The mediator's view: everything; B's view: the public record and the US channel from the
/// act that seats B.
struct Case {
    writer: CaseState,
    ledger: Ledger,
    log: Vec<VerifiedAct>,
}

impl Case {
    fn post(&mut self, author: u8, channel: &ChannelName, body: ActBody) -> VerifiedAct {
        let act = self
            .writer
            .next_act(channel, pk(author), 0, body, &self.ledger)
            .unwrap()
            .sign(&key(author));
        self.ledger.fold(&mut self.writer, &act).unwrap();
        self.log.push(act.clone());
        act
    }

    /// Delegate A talks with the mediator for a while; then B is seated.
    fn seated_late() -> Self {
        let genesis = Act::opening(
            CaseId([5; 16]),
            pk(MEDIATOR),
            0,
            "Talks",
            "Pakistan",
            vec![],
        )
        .sign(&key(MEDIATOR));
        let writer = CaseState::genesis(&genesis, Some(pk(MEDIATOR))).unwrap();
        let mut ledger = Ledger::default();
        ledger.record(&genesis);
        let mut case = Case {
            writer,
            ledger,
            log: vec![genesis],
        };
        let public = ChannelName::public();
        for (n, name, party) in [
            (US_A, "US A", "United States"),
            (US_B, "US B", "United States"),
            (IRAN, "Iran", "Iran"),
        ] {
            let role = Role::Party {
                party: party.into(),
            };
            let (key, name) = (pk(n), name.into());
            let body = ActBody::MemberAdmitted {
                key,
                name,
                role,
                head: false,
            };
            case.post(MEDIATOR, &public, body);
        }
        let purpose = ChannelPurpose::Bilateral {
            party: "United States".into(),
        };
        let opened = ActBody::ChannelOpened {
            channel: us(),
            purpose,
        };
        case.post(MEDIATOR, &public, opened);
        let members = vec![pk(MEDIATOR), pk(US_A)];
        case.post(MEDIATOR, &us(), ActBody::MembersChanged { members });
        for (author, words) in [
            (US_A, "our red lines"),
            (MEDIATOR, "noted"),
            (US_A, "and more"),
        ] {
            case.post(author, &us(), text(words));
        }
        let members = vec![pk(MEDIATOR), pk(US_A), pk(US_B)];
        case.post(MEDIATOR, &us(), ActBody::MembersChanged { members });
        case
    }

    /// The acts of the US channel before B's seating.
    fn earlier(&self) -> Vec<VerifiedAct> {
        let seated = self.writer.channels[&us()].length;
        (self.log.iter())
            .filter(|a| a.act.channel == us() && a.act.index < seated)
            .cloned()
            .collect()
    }

    /// B's copy: the public record, and the US channel from its seating.
    fn newcomer(&self) -> (CaseState, Ledger) {
        let seated = self.writer.channels[&us()].length;
        let view: Vec<&VerifiedAct> = (self.log.iter())
            .filter(|a| a.act.channel.is_public() || a.act.index >= seated)
            .collect();
        let mut state = CaseState::genesis(view[0], Some(pk(MEDIATOR))).unwrap();
        let mut ledger = Ledger::default();
        ledger.record(view[0]);
        for act in &view[1..] {
            ledger.fold(&mut state, act).unwrap();
        }
        (state, ledger)
    }
}

fn signed(acts: &[VerifiedAct]) -> Vec<SignedAct> {
    acts.iter().map(|a| a.signed.clone()).collect()
}

/// Checks a share as a reader holding `state` and `ledger` would, and records its acts.
fn take(
    state: &CaseState,
    ledger: &mut Ledger,
    acts: Vec<SignedAct>,
) -> Result<(), backchannel_core::Rejection> {
    let shared = SharedHistory { history: acts };
    let bytes = shared.to_bytes();
    let parsed = SharedHistory::parse(&bytes).unwrap();
    let acts = parsed.verified()?;
    state.check_history(&us(), &acts, ledger)?;
    for act in &acts {
        ledger.record(act);
    }
    Ok(())
}

#[test]
fn the_newcomer_and_the_old_members_accept_the_true_history() {
    let case = Case::seated_late();
    let earlier = case.earlier();
    assert_eq!(earlier.len(), 4, "members_changed and three messages");
    let (state, mut ledger) = case.newcomer();
    assert_eq!(state.channels[&us()].joined_at.unwrap().0, 5);
    // In two shares, as a long history would be.
    let (first, second) = earlier.split_at(2);
    for part in [first, second] {
        take(&state, &mut ledger, signed(part)).unwrap();
    }
    for act in &earlier {
        assert_eq!(ledger.hash_at(&us(), act.act.index), Some(act.hash));
    }
    // The mediator, who holds it all, accepts the same share; a second share changes nothing.
    let mut writer_ledger = case.ledger.clone();
    take(&case.writer, &mut writer_ledger, signed(&earlier)).unwrap();
    take(&state, &mut ledger, signed(&earlier)).unwrap();
    // An act is not a shared history, nor is a shared history an act.
    assert!(SharedHistory::parse(&earlier[1].signed.to_bytes()).is_none());
    let bytes = SharedHistory {
        history: signed(&earlier),
    }
    .to_bytes();
    assert!(backchannel_core::SignedAct::decode(&bytes).is_err());
}

#[test]
fn a_tampered_history_is_refused_by_name() {
    let case = Case::seated_late();
    let earlier = case.earlier();
    let (state, ledger) = case.newcomer();
    let mut altered = signed(&earlier);
    let text = String::from_utf8(altered[1].payload.clone()).unwrap();
    assert!(text.contains("red lines"));
    altered[1].payload = text.replace("red lines", "green lines").into_bytes();
    let mut dropped = signed(&earlier);
    dropped.remove(2);
    let mut swapped = signed(&earlier);
    swapped.swap(1, 2);
    // A genuine act of A's at the last position, but not the one B's chain follows.
    let mut substituted = signed(&earlier);
    let mut other = earlier[3].act.clone();
    other.body = ActBody::Message {
        text: "something else".into(),
    };
    substituted[3] = other.sign(&key(US_A)).signed;
    let mut foreign = signed(&earlier);
    foreign[0] = case.log[1].signed.clone();
    for (what, acts) in [
        ("an altered act", altered),
        ("a dropped act", dropped),
        ("two swapped acts", swapped),
        ("a substituted act", substituted),
        ("an act of another channel", foreign),
        ("nothing", vec![]),
    ] {
        let mut reader = ledger.clone();
        let refused = take(&state, &mut reader, acts.clone()).expect_err(what);
        assert!(
            ["bad_embedded_act", "invalid_act"].contains(&refused.code()),
            "{what}: {refused}"
        );
        // The mediator's copy, which holds the true acts, refuses it too.
        let mut writer = case.ledger.clone();
        assert!(take(&case.writer, &mut writer, acts).is_err(), "{what}");
    }
}
