//! What the hub is told of names: nothing it can read. A joiner's display name reaches the
//! mediator sealed under the case key and bound to the joiner's key, the party an invite is for
//! stays with the mediator, and channels are known at the hub by ids derived under the case
//! key. Attacked here by a hub that swaps two joiners' sealed names and by a joiner that seals a
//! name spelt to pass for another: neither name reaches the record.

#![allow(clippy::unwrap_used)]

mod common;

use backchannel_client::hub::HubClient;
use backchannel_client::{Admit, Client, InviteOptions, InviteRole, vault};
use backchannel_core::api::{Blob, Join};
use backchannel_core::{CaseId, ChannelName, HubChannel, PublicKey, Role};
use common::new_client;

/// As docs/protocol.md says: the case, then the joiner's key.
fn name_aad(case: &CaseId, key: &PublicKey) -> Vec<u8> {
    let mut aad = b"backchannel/member-name/v1".to_vec();
    aad.extend_from_slice(&case.0);
    aad.extend_from_slice(&key.0);
    aad
}

/// Who the mediator's record says `key` is: its name and role.
fn seated_as(mediator: &Client, case: CaseId, key: PublicKey) -> (String, Role) {
    let participant = &mediator.state(case).unwrap().participants[&key];
    (participant.name.clone(), participant.role.clone())
}

fn manual() -> InviteOptions {
    InviteOptions::default()
}

#[tokio::test]
async fn the_hub_is_told_no_name_and_cannot_swap_two() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.sqlite");
    let hub = backchannel_hub::spawn_local(&db).await.unwrap();
    let mut mediator = new_client(dir.path(), "Pakistan");
    let mut us = new_client(dir.path(), "Abbas Araghchi's counterpart");
    let mut iran = new_client(dir.path(), "Abbas Araghchi");
    let case = mediator.create_case(&hub.url, "Talks").await.unwrap();
    for (client, party) in [(&mut us, "United States"), (&mut iran, "Iran")] {
        let issued = mediator
            .invite_with(case, InviteRole::Party(party.into()), manual())
            .await
            .unwrap();
        client.join(&issued.code).await.unwrap();
    }

    // The hub's members hold sealed names and the invites spent, nothing in clear.
    let members = mediator
        .hub_client(case)
        .unwrap()
        .members(case)
        .await
        .unwrap();
    assert_eq!(members.len(), 3);
    for member in &members[1..] {
        let sealed = &member.sealed_name.as_ref().unwrap().0;
        assert!(!String::from_utf8_lossy(sealed).contains("Araghchi"));
        assert!(member.invite.is_some());
    }
    let bytes = std::fs::read(&db).unwrap();
    let wal = std::fs::read(db.with_extension("sqlite-wal")).unwrap_or_default();
    for name in ["Araghchi", "United States", "Pakistan"] {
        let found = |file: &[u8]| file.windows(name.len()).any(|w| w == name.as_bytes());
        assert!(!found(&bytes) && !found(&wal), "{name} at the hub");
    }

    // A hub that swaps the two sealed names: each is bound to its joiner's key, so neither
    // opens for the other, and the mediator sees neutral names, with each party still its own
    // invite's.
    let swap = rusqlite::Connection::open(&db).unwrap();
    swap.busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    let sealed = |key: PublicKey| -> Vec<u8> {
        swap.query_row(
            "SELECT sealed_name FROM members WHERE key = ?1",
            [key.0],
            |row| row.get(0),
        )
        .unwrap()
    };
    let (of_us, of_iran) = (sealed(us.key()), sealed(iran.key()));
    for (key, name) in [(us.key(), of_iran), (iran.key(), of_us)] {
        swap.execute(
            "UPDATE members SET sealed_name = ?2 WHERE key = ?1",
            rusqlite::params![key.0, name],
        )
        .unwrap();
    }
    drop(swap);
    let report = mediator.sync(case).await.unwrap();
    let mut pending: Vec<_> = report
        .pending
        .iter()
        .map(|p| (p.key, p.name.clone(), p.party.clone()))
        .collect();
    pending.sort();
    let mut expected = vec![
        (
            us.key(),
            format!("participant {}", us.key().short()),
            Some("United States".to_owned()),
        ),
        (
            iran.key(),
            format!("participant {}", iran.key().short()),
            Some("Iran".to_owned()),
        ),
    ];
    expected.sort();
    assert_eq!(pending, expected);

    mediator.admit(case, Admit::All).await.unwrap();
    assert_eq!(
        seated_as(&mediator, case, iran.key()),
        (
            format!("participant {}", iran.key().short()),
            Role::Party {
                party: "Iran".into()
            }
        )
    );

    // Each party's channel is at the hub under an id that names nothing, and works.
    let iran_channel = ChannelName::parse("iran").unwrap();
    let id = mediator.hub_channel(case, &iran_channel).unwrap();
    assert_eq!(id.as_str().len(), 32);
    assert!(!id.as_str().contains("iran"));
    assert_eq!(iran.hub_channel(case, &iran_channel).unwrap(), id);
    iran.sync(case).await.unwrap();
    mediator
        .send(case, &iran_channel, "Over an opaque channel.")
        .await
        .unwrap();
    iran.sync(case).await.unwrap();
    assert_eq!(
        common::messages(&iran, case, &iran_channel),
        ["Over an opaque channel."]
    );
    let listed = iran.hub_client(case).unwrap();
    let channels: Vec<HubChannel> = listed
        .channels(case)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.channel)
        .collect();
    assert_eq!(channels, [HubChannel::public(), id]);
}

#[tokio::test]
async fn a_name_spelt_to_pass_for_another_never_reaches_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let hub = backchannel_hub::spawn_local(&dir.path().join("hub.sqlite"))
        .await
        .unwrap();
    let mut mediator = new_client(dir.path(), "Pakistan");
    let case = mediator.create_case(&hub.url, "Talks").await.unwrap();
    let issued = mediator
        .invite_with(case, InviteRole::Observer, manual())
        .await
        .unwrap();

    // A joiner whose own client would refuse the name seals it by hand: "Iran" spelt with a
    // right-to-left override.
    let key = ed25519_dalek::SigningKey::from_bytes(&rand::random());
    let joiner = PublicKey(key.verifying_key().to_bytes());
    let code = issued.code;
    let sealed = vault::seal_with(
        &code.case_key,
        &name_aad(&case, &joiner),
        "\u{202E}narI".as_bytes(),
    );
    HubClient::new(&hub.url, key)
        .unwrap()
        .join(&Join {
            case_id: case,
            code: hex::encode(code.secret),
            sealed_name: Blob(sealed),
        })
        .await
        .unwrap();

    let neutral = format!("participant {}", joiner.short());
    let report = mediator.sync(case).await.unwrap();
    assert_eq!(report.pending.len(), 1);
    assert_eq!(report.pending[0].name, neutral);
    mediator.admit(case, Admit::All).await.unwrap();
    assert_eq!(
        seated_as(&mediator, case, joiner),
        (neutral, Role::Observer)
    );
    assert!(
        mediator
            .state(case)
            .unwrap()
            .participants
            .values()
            .all(|p| !p.name.contains('\u{202E}'))
    );
}
