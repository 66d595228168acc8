//! Crash safety of the client's store and outbox, against a real hub on loopback with real
//! MLS and real keys: a client stopped between any two steps of a post or of the mediator's
//! multi-step operations (as if the process were killed) and opened again finishes or drops
//! what was under way and posts nothing twice. Attacked: a party's send on its bilateral
//! channel and the mediator's on the public record, each stopped once the outbox holds it and
//! once the hub has accepted it; the mediator's admission of a newcomer stopped after each of
//! its steps, before each of its posts leaves and after each is accepted, and one whose post
//! lost its place on the public record; and the opening of direct talks stopped once both
//! parties are added and after each of its posts is accepted. After every fault all
//! participants sync, every log verifies and replays to the fold it holds, and the mediator
//! holds exactly one act for each message entry the hub holds.
#![allow(clippy::unwrap_used)]

use backchannel_client::{Client, ClientError, InviteRole};
use backchannel_core::{ActBody, CaseId, ChannelName, PublicKey};

mod common;

use common::{Cast, channel, chartered, consistent, messages, new_client, once, reopen};

const OUTBOX_WRITTEN: &str = "post:outbox-written";
const ACCEPTED: &str = "post:accepted";
const ADMITTED: &str = "admit:admitted";
const OPENED: &str = "seat:opened";
const ADDED: &str = "seat:added";
const MEMBERS_NAMED: &str = "seat:members-changed";

// --- helpers ---------------------------------------------------------------------------------

/// The operation stopped where the fault was injected, and not for another reason.
fn assert_stopped<T: std::fmt::Debug>(result: Result<T, ClientError>, point: &str) {
    let err = result.unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("stopped at {point} (injected)")),
        "expected a stop at {point}, got: {err}"
    );
}

/// How many acts of `client`'s log satisfy `pred`.
fn count_acts(client: &Client, case: CaseId, pred: impl Fn(&ActBody) -> bool) -> usize {
    client
        .verified_log(case)
        .unwrap()
        .iter()
        .filter(|a| pred(&a.act.body))
        .count()
}

fn members(client: &Client, case: CaseId, channel: &ChannelName) -> Vec<PublicKey> {
    client.state(case).unwrap().channels[channel]
        .members
        .iter()
        .copied()
        .collect()
}

// --- a post stopped between its steps --------------------------------------------------------

/// A party's send on its bilateral channel (an MLS application message), stopped once the
/// outbox holds it and once the hub has accepted it, each recovered by a `sync` and by the
/// next `send`.
#[tokio::test]
async fn a_party_killed_while_sending_on_its_channel_posts_it_once() {
    let mut c = Cast::convene().await;
    let case = c.case;
    let ch = channel("united-states");
    for (round, point, by_sync) in [
        (0, OUTBOX_WRITTEN, true),
        (1, ACCEPTED, true),
        (2, OUTBOX_WRITTEN, false),
        (3, ACCEPTED, false),
    ] {
        let killed = format!("round {round}: said as Washington's process died");
        let after = format!("round {round}: said after the restart");
        let reply = format!("round {round}: the mediator answers");
        c.us.inject_fault(point, 0);
        assert_stopped(c.us.send(case, &ch, &killed).await, point);
        c.us = reopen(c.us, c.dir.path());
        if by_sync {
            c.us.sync(case).await.unwrap();
        }
        c.us.send(case, &ch, &after).await.unwrap();
        c.mediator.sync(case).await.unwrap();
        c.mediator.send(case, &ch, &reply).await.unwrap();
        c.us.sync(case).await.unwrap();
        for client in [&c.us, &c.mediator] {
            let seen = messages(client, case, &ch);
            assert!(
                seen.ends_with(&[killed.clone(), after.clone(), reply.clone()]),
                "round {round} ({point}): {seen:?}"
            );
            for text in [&killed, &after, &reply] {
                once(client, case, &ch, text);
            }
        }
        consistent(
            case,
            vec![&mut c.mediator, &mut c.us, &mut c.iran, &mut c.uae],
        )
        .await;
    }
    assert!(messages(&c.iran, case, &ch).is_empty());
    assert!(messages(&c.uae, case, &ch).is_empty());
}

/// The mediator's public statement, stopped at both points, recovered both ways.
#[tokio::test]
async fn the_mediator_killed_while_sending_on_the_public_record_posts_it_once() {
    let mut c = Cast::convene().await;
    let case = c.case;
    let public = ChannelName::public();
    for (round, point, by_sync) in [
        (0, OUTBOX_WRITTEN, false),
        (1, ACCEPTED, false),
        (2, OUTBOX_WRITTEN, true),
        (3, ACCEPTED, true),
    ] {
        let killed = format!("round {round}: announced as Islamabad's process died");
        let after = format!("round {round}: announced after the restart");
        let reply = format!("round {round}: the observer takes note");
        c.mediator.inject_fault(point, 0);
        assert_stopped(c.mediator.send(case, &public, &killed).await, point);
        c.mediator = reopen(c.mediator, c.dir.path());
        if by_sync {
            c.mediator.sync(case).await.unwrap();
        }
        c.mediator.send(case, &public, &after).await.unwrap();
        c.uae.sync(case).await.unwrap();
        c.uae.send(case, &public, &reply).await.unwrap();
        consistent(
            case,
            vec![&mut c.mediator, &mut c.us, &mut c.iran, &mut c.uae],
        )
        .await;
        for client in [&c.mediator, &c.us, &c.iran, &c.uae] {
            let seen = messages(client, case, &public);
            assert!(
                seen.ends_with(&[killed.clone(), after.clone(), reply.clone()]),
                "round {round} ({point}): {seen:?}"
            );
            for text in [&killed, &after, &reply] {
                once(client, case, &public, text);
            }
        }
    }
}

// --- the mediator's admission of a newcomer stopped between its steps ------------------------

/// A new party joins; the mediator's sync that admits and seats it is stopped at `point`
/// (its `hits`-th passage); the mediator is killed and opened again, and its next sync
/// finishes the admission. The newcomer then reads and speaks in its bilateral channel.
/// With `interloper`, another participant posts on the public record while the mediator is
/// down, so that a post its outbox still holds can no longer take its place.
async fn admit_through_a_crash(
    mut c: Cast,
    newcomers: &mut Vec<Client>,
    party: &str,
    point: &'static str,
    hits: u32,
    interloper: bool,
) -> Cast {
    let case = c.case;
    let mut newcomer = new_client(c.dir.path(), party);
    let code = c
        .mediator
        .invite(case, InviteRole::Party(party.into()))
        .await
        .unwrap();
    newcomer.join(&code).await.unwrap();
    let ch = ChannelName::for_party(party).unwrap();

    c.mediator.inject_fault(point, hits);
    assert_stopped(c.mediator.sync(case).await, point);
    c.mediator = reopen(c.mediator, c.dir.path());
    assert_eq!(
        c.mediator.verify_log(case).unwrap(),
        *c.mediator.state(case).unwrap()
    );
    if interloper {
        c.us.send(
            case,
            &ChannelName::public(),
            &format!("Washington speaks while the mediator is down ({party})"),
        )
        .await
        .unwrap();
    }
    c.mediator.sync(case).await.unwrap();

    let what = format!("{party} at {point}#{hits}");
    assert_eq!(
        count_acts(&c.mediator, case, |b| matches!(
            b,
            ActBody::MemberAdmitted { key, .. } if *key == newcomer.key()
        )),
        1,
        "{what}: admitted once"
    );
    assert_eq!(
        count_acts(&c.mediator, case, |b| matches!(
            b,
            ActBody::ChannelOpened { channel, .. } if *channel == ch
        )),
        1,
        "{what}: its channel opened once"
    );
    assert_eq!(
        c.mediator
            .read(case, Some(&ch))
            .unwrap()
            .iter()
            .filter(|l| l.kind == "members_changed")
            .count(),
        1,
        "{what}: its members named once"
    );
    let mut expected = vec![c.mediator.key(), newcomer.key()];
    expected.sort();
    assert_eq!(
        count_acts(&c.mediator, case, |b| matches!(
            b,
            ActBody::ChannelSeated { channel, members } if *channel == ch && *members == expected
        )),
        1,
        "{what}: who sits in it said once on the public record"
    );
    assert_eq!(members(&c.mediator, case, &ch), expected, "{what}");

    newcomer.sync(case).await.unwrap();
    assert!(
        newcomer.readable_channels(case).unwrap().contains(&ch),
        "{what}: the newcomer is seated"
    );
    assert_eq!(members(&newcomer, case, &ch), expected, "{what}");
    let said = format!("{party} speaks after the mediator's restart");
    newcomer.send(case, &ch, &said).await.unwrap();
    c.mediator.sync(case).await.unwrap();
    once(&c.mediator, case, &ch, &said);
    let reply = format!("the mediator welcomes {party}");
    c.mediator.send(case, &ch, &reply).await.unwrap();
    newcomer.sync(case).await.unwrap();
    once(&newcomer, case, &ch, &reply);
    once(&newcomer, case, &ch, &said);

    newcomers.push(newcomer);
    let mut all = vec![&mut c.mediator, &mut c.us, &mut c.iran, &mut c.uae];
    all.extend(newcomers.iter_mut());
    consistent(case, all).await;
    c
}

#[tokio::test]
async fn an_admission_stopped_after_each_step_is_finished_by_the_next_sync() {
    let mut c = Cast::convene().await;
    let mut newcomers = Vec::new();
    for (party, point) in [
        ("Oman", ADMITTED),
        ("Qatar", OPENED),
        ("Egypt", ADDED),
        ("Jordan", MEMBERS_NAMED),
    ] {
        c = admit_through_a_crash(c, &mut newcomers, party, point, 0, false).await;
    }
}

#[tokio::test]
async fn an_admission_stopped_before_each_post_leaves_is_finished_by_the_next_sync() {
    let mut c = Cast::convene().await;
    let mut newcomers = Vec::new();
    // The posts of an admission: member_admitted, channel_opened, the add commit,
    // members_changed, channel_seated.
    for (party, hits) in [
        ("Oman", 0),
        ("Qatar", 1),
        ("Egypt", 2),
        ("Turkey", 3),
        ("Jordan", 4),
    ] {
        c = admit_through_a_crash(c, &mut newcomers, party, OUTBOX_WRITTEN, hits, false).await;
    }
}

#[tokio::test]
async fn an_admission_stopped_after_each_post_is_accepted_is_finished_by_the_next_sync() {
    let mut c = Cast::convene().await;
    let mut newcomers = Vec::new();
    for (party, hits) in [
        ("Oman", 0),
        ("Qatar", 1),
        ("Egypt", 2),
        ("Turkey", 3),
        ("Jordan", 4),
    ] {
        c = admit_through_a_crash(c, &mut newcomers, party, ACCEPTED, hits, false).await;
    }
}

/// The admission never left the mediator's outbox, and another participant's post took its
/// place on the public record: the outbox entry is dropped, and the next sync admits the
/// newcomer again from the invite it had already matched.
#[tokio::test]
async fn an_admission_whose_post_lost_its_place_is_made_again() {
    let mut c = Cast::convene().await;
    let mut newcomers = Vec::new();
    for (party, hits) in [("Oman", 0), ("Qatar", 1)] {
        c = admit_through_a_crash(c, &mut newcomers, party, OUTBOX_WRITTEN, hits, true).await;
    }
}

// --- direct talks opened through a crash -----------------------------------------------------

/// Opening direct talks (channel_opened on the public record, one commit adding both
/// parties, members_changed on the channel) stopped at `point`; the mediator, opened again,
/// runs `open_direct_talks` again and both parties talk.
async fn direct_talks_through_a_crash(point: &'static str, hits: u32) {
    let mut c = chartered().await;
    let case = c.case;
    let direct = channel("direct");
    c.mediator
        .propose_direct_talks(case, &direct)
        .await
        .unwrap();
    c.us.consent_direct_talks(case, &direct).await.unwrap();
    c.iran.consent_direct_talks(case, &direct).await.unwrap();

    c.mediator.inject_fault(point, hits);
    assert_stopped(c.mediator.open_direct_talks(case, &direct).await, point);
    c.mediator = reopen(c.mediator, c.dir.path());
    c.mediator.sync(case).await.unwrap();
    c.mediator.open_direct_talks(case, &direct).await.unwrap();

    let what = format!("{point}#{hits}");
    assert_eq!(
        count_acts(&c.mediator, case, |b| matches!(
            b,
            ActBody::ChannelOpened { channel, .. } if *channel == direct
        )),
        1,
        "{what}: opened once"
    );
    assert_eq!(
        c.mediator
            .read(case, Some(&direct))
            .unwrap()
            .iter()
            .filter(|l| l.kind == "members_changed")
            .count(),
        1,
        "{what}: members named once"
    );
    let mut expected = vec![c.mediator.key(), c.us.key(), c.iran.key()];
    expected.sort();
    assert_eq!(members(&c.mediator, case, &direct), expected, "{what}");

    c.us.sync(case).await.unwrap();
    c.us.send(case, &direct, "Face to face, at last.")
        .await
        .unwrap();
    c.iran.sync(case).await.unwrap();
    c.iran
        .send(case, &direct, "Then let us begin.")
        .await
        .unwrap();
    consistent(
        case,
        vec![&mut c.mediator, &mut c.us, &mut c.iran, &mut c.uae],
    )
    .await;
    for client in [&c.mediator, &c.us, &c.iran] {
        assert_eq!(
            messages(client, case, &direct),
            ["Face to face, at last.", "Then let us begin."],
            "{what}: {}",
            client.name()
        );
    }
    assert!(!c.uae.readable_channels(case).unwrap().contains(&direct));
}

#[tokio::test]
async fn direct_talks_stopped_once_both_parties_are_added_open_when_run_again() {
    direct_talks_through_a_crash(ADDED, 0).await;
}

#[tokio::test]
async fn direct_talks_stopped_after_the_opening_is_accepted_open_when_run_again() {
    direct_talks_through_a_crash(ACCEPTED, 0).await;
}

#[tokio::test]
async fn direct_talks_stopped_after_the_add_commit_is_accepted_open_when_run_again() {
    direct_talks_through_a_crash(ACCEPTED, 1).await;
}

#[tokio::test]
async fn direct_talks_stopped_after_the_members_are_named_open_when_run_again() {
    direct_talks_through_a_crash(ACCEPTED, 2).await;
}
