//! History for a delegate seated late: the mediator shares the channel's earlier acts, and
//! the newcomer accepts only the very chain that leads to the first act it read. Every
//! tampering — an altered act, one dropped, two swapped, one substituted, one of another
//! channel — is refused by name and changes nothing.
#![allow(clippy::unwrap_used)]

use backchannel_core::act::{ChannelPurpose, SignedAct};
use backchannel_core::{
    Act, ActBody, CaseId, CaseState, ChannelName, Ledger, PublicKey, Rejection, Role, VerifiedAct,
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

    /// The mediator's share of `acts`, as the next act of the US channel.
    fn share(&self, acts: Vec<SignedAct>) -> VerifiedAct {
        self.writer
            .next_act(&us(), pk(MEDIATOR), 0, text("template"), &self.ledger)
            .map(|mut act| {
                act.body = ActBody::HistoryShared { acts };
                act.sign(&key(MEDIATOR))
            })
            .unwrap()
    }
}

fn signed(acts: &[VerifiedAct]) -> Vec<SignedAct> {
    acts.iter().map(|a| a.signed.clone()).collect()
}

#[test]
fn the_newcomer_and_the_old_members_accept_the_true_history() {
    let mut case = Case::seated_late();
    let earlier = case.earlier();
    assert_eq!(earlier.len(), 4, "members_changed and three messages");
    let (mut state, mut ledger) = case.newcomer();
    assert_eq!(state.channels[&us()].joined_at.unwrap().0, 5);
    // In two shares, as a long history would be.
    let (first, second) = earlier.split_at(2);
    for part in [first, second] {
        let share = case.post(
            MEDIATOR,
            &us(),
            ActBody::HistoryShared { acts: signed(part) },
        );
        ledger.fold(&mut state, &share).unwrap();
    }
    // The newcomer now holds every position of the channel.
    use backchannel_core::History;
    for act in &earlier {
        assert_eq!(ledger.hash_at(&us(), act.act.index), Some(act.hash));
    }
}

#[test]
fn a_tampered_history_is_refused_by_name_and_changes_nothing() {
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
    let last = &earlier[3].act;
    let mut other = last.clone();
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
        let share = case.share(acts);
        let mut reader = state.clone();
        let refused = reader.accept(&share, &ledger).expect_err(what);
        assert!(
            matches!(refused, Rejection::BadEmbedded(_) | Rejection::Invalid(_)),
            "{what}: {refused}"
        );
        assert!(
            ["bad_embedded_act", "invalid_act"].contains(&refused.code()),
            "{what}: {refused}"
        );
        assert_eq!(reader, state, "{what}: the refusal changed nothing");
        // The mediator's copy, which holds the true acts, refuses it too.
        let mut writer = case.writer.clone();
        assert!(writer.accept(&share, &case.ledger).is_err(), "{what}");
    }
}

#[test]
fn only_the_mediator_shares_a_history() {
    let case = Case::seated_late();
    let acts = signed(&case.earlier());
    let refused = case
        .writer
        .next_act(
            &us(),
            pk(US_A),
            0,
            ActBody::HistoryShared { acts },
            &case.ledger,
        )
        .unwrap_err();
    assert_eq!(refused.code(), "mediator_only");
}
