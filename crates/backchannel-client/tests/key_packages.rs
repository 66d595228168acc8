//! Key packages that last: a mediator runs many cases with the same participants, who keep a
//! stock of key packages at the hub (refilled as channels spend them) and one last-resort key
//! package for when the stock runs out before they sync. No add ever meets `no_key_package`,
//! and a channel is announced on the record only once every key package it needs is in hand.
#![allow(clippy::unwrap_used)]

mod common;

use backchannel_client::Client;
use backchannel_core::{CaseId, ChannelName};
use common::{channel, charter, messages, new_client};

const CASES: usize = 50;

/// What `client` holds at the hub: (ordinary key packages, whether a last-resort one).
async fn stock(client: &Client, hub: &str) -> (usize, bool) {
    let held = client.key_packages_held(hub).await.unwrap();
    (held.available, held.last_resort)
}

/// Fifty cases with the same mediator, two parties and an observer: each with both bilateral
/// channels, direct talks, and a party removed from its channel and seated again. The
/// parties sync only every tenth case, so most adds find their stock spent and take the
/// last-resort key package; every case still reaches direct talks, and at the end every
/// party reads every case's direct channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_cases_with_the_same_participants_never_run_out_of_key_packages() {
    let dir = tempfile::tempdir().unwrap();
    let hub = backchannel_hub::spawn_local(&dir.path().join("hub.sqlite"))
        .await
        .unwrap();
    let mut mediator = new_client(dir.path(), "Pakistan");
    let mut us = new_client(dir.path(), "United States");
    let mut iran = new_client(dir.path(), "Iran");
    let mut uae = new_client(dir.path(), "United Arab Emirates");
    let direct = channel("direct");
    let mut cases: Vec<(CaseId, ChannelName)> = Vec::new();
    for round in 0..CASES {
        let case = mediator
            .create_case(&hub.url, &format!("Talks {round}"))
            .await
            .unwrap();
        common::seat_cast(case, &mut mediator, [&mut us, &mut iran, &mut uae]).await;
        mediator.propose_charter(case, charter()).await.unwrap();
        for party in [&mut us, &mut iran] {
            party.sync(case).await.unwrap();
            party.accept_charter(case).await.unwrap();
        }
        mediator.propose_direct_talks(case, &direct).await.unwrap();
        for party in [&mut us, &mut iran] {
            party.consent_direct_talks(case, &direct).await.unwrap();
        }
        mediator.open_direct_talks(case, &direct).await.unwrap();
        // Removed from its bilateral channel, Washington is seated again by the next sync.
        let bilateral = mediator
            .state(case)
            .unwrap()
            .bilateral_channel("United States")
            .cloned()
            .unwrap();
        mediator
            .remove_from_channel(case, &bilateral, us.key())
            .await
            .unwrap();
        mediator
            .send(case, &bilateral, "Said while Washington was away")
            .await
            .unwrap();
        mediator.sync(case).await.unwrap();
        let seated = &mediator.state(case).unwrap().channels[&bilateral].members;
        assert!(seated.contains(&us.key()), "case {round}: not seated again");
        if round % 10 == 9 {
            for client in [&mut us, &mut iran, &mut uae] {
                client.sync(case).await.unwrap();
            }
            // Syncing joined channels, which spent key packages: the stock is full again.
            assert_eq!(stock(&us, &hub.url).await, (5, true), "case {round}");
        }
        cases.push((case, bilateral));
    }

    // Before syncing the last cases the parties' stock was spent: those adds took the
    // last-resort key package, which is still held.
    let (_, last_resort) = stock(&iran, &hub.url).await;
    assert!(last_resort);
    for (round, (case, bilateral)) in cases.iter().enumerate() {
        let text = format!("Direct word in case {round}");
        mediator.send(*case, &direct, &text).await.unwrap();
        for party in [&mut us, &mut iran] {
            party.sync(*case).await.unwrap();
            assert_eq!(
                messages(party, *case, &direct).last(),
                Some(&text),
                "{} in case {round}",
                party.name()
            );
        }
        // Washington's copy of its channel resumed where it was seated again, and the
        // mediator's shared history filled what was said while it was away.
        let held = |client: &Client| client.state(*case).unwrap().channels[bilateral].clone();
        let (theirs, ours) = (held(&us), held(&mediator));
        assert_eq!((theirs.length, theirs.head), (ours.length, ours.head));
        assert!(!theirs.left, "case {round}");
        us.verify_log(*case).unwrap();
        assert!(
            messages(&us, *case, bilateral).contains(&"Said while Washington was away".to_owned()),
            "case {round}"
        );
    }
}

/// A participant removed from a channel and not seated again keeps syncing the case: the
/// removal is read, nothing said after it is, posting there is refused, and its log still
/// passes the audit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_removed_from_a_channel_keeps_syncing_the_case() {
    let mut c = common::Cast::convene().await;
    let case = c.case;
    let direct = channel("direct");
    c.mediator.propose_charter(case, charter()).await.unwrap();
    c.us.accept_charter(case).await.unwrap();
    c.iran.accept_charter(case).await.unwrap();
    c.mediator
        .propose_direct_talks(case, &direct)
        .await
        .unwrap();
    c.us.consent_direct_talks(case, &direct).await.unwrap();
    c.iran.consent_direct_talks(case, &direct).await.unwrap();
    c.mediator.open_direct_talks(case, &direct).await.unwrap();
    c.mediator
        .remove_from_channel(case, &direct, c.us.key())
        .await
        .unwrap();
    c.mediator
        .send(case, &direct, "Only for Tehran now")
        .await
        .unwrap();
    c.sync_all().await;
    assert!(!c.us.readable_channels(case).unwrap().contains(&direct));
    assert!(c.us.state(case).unwrap().channels[&direct].left);
    assert!(!messages(&c.us, case, &direct).contains(&"Only for Tehran now".to_owned()));
    assert!(messages(&c.iran, case, &direct).contains(&"Only for Tehran now".to_owned()));
    assert!(c.us.send(case, &direct, "Still here?").await.is_err());
    c.us.verify_log(case).unwrap();
    c.us.sync(case).await.unwrap();
}
