//! One story against the storage contract, generic over the backend: run on SQLite in
//! memory and in a file (a PostgreSQL backend would join the list).
#![allow(clippy::unwrap_used)]

use backchannel_core::api::{ChannelKind, EntryKind, MAX_KEY_PACKAGES, MemberRole};
use backchannel_core::{CaseId, ChannelName, PublicKey};
use backchannel_hub::ApiError;
use backchannel_hub::store::{Backend, NewEntry, NewInvite, Sqlite};

fn entry(kind: EntryKind, after: u64, epoch: Option<u64>) -> NewEntry {
    NewEntry {
        kind,
        after,
        body: vec![after as u8],
        epoch,
        welcome: None,
        add: vec![],
        remove: vec![],
    }
}

fn story(store: &dyn Backend) {
    let (case, other_case) = (CaseId([1; 16]), CaseId([2; 16]));
    let (mediator, party, stranger) = (
        PublicKey([10; 32]),
        PublicKey([11; 32]),
        PublicKey([12; 32]),
    );
    let iran = ChannelName::parse("iran").unwrap();
    let public = ChannelName::public();

    store.create_case(&case, &mediator, "Islamabad", 1).unwrap();
    assert!(matches!(
        store.create_case(&case, &party, "Again", 2),
        Err(ApiError::CaseExists)
    ));

    let invite = NewInvite {
        code_hash: "ab".repeat(32),
        role: MemberRole::Party,
        party: Some("Iran".into()),
    };
    assert!(matches!(
        store.create_invite(&case, &stranger, &invite, 2),
        Err(ApiError::NotMember)
    ));
    assert!(matches!(
        store.create_invite(&other_case, &mediator, &invite, 2),
        Err(ApiError::CaseNotFound)
    ));
    store.create_invite(&case, &mediator, &invite, 2).unwrap();
    assert!(matches!(
        store.create_invite(&case, &mediator, &invite, 2),
        Err(ApiError::InviteExists)
    ));
    assert!(matches!(
        store.join(&case, &party, &"cd".repeat(32), "A", 3),
        Err(ApiError::InviteUnknown)
    ));
    let member = store
        .join(&case, &party, &invite.code_hash, "Araghchi", 3)
        .unwrap();
    assert_eq!(
        (member.role, member.party.as_deref(), member.joined_ms),
        (MemberRole::Party, Some("Iran"), 3)
    );
    assert!(matches!(
        store.join(&case, &stranger, &invite.code_hash, "B", 4),
        Err(ApiError::InviteUsed)
    ));
    assert_eq!(store.members(&case, &party).unwrap().len(), 2);

    assert!(matches!(
        store.create_channel(&case, &party, &iran),
        Err(ApiError::Forbidden)
    ));
    let info = store.create_channel(&case, &mediator, &iran).unwrap();
    assert_eq!(
        (info.kind, info.members.as_slice(), info.head),
        (ChannelKind::Mls, &[mediator][..], 0)
    );
    let names: Vec<_> = store
        .channels(&case, &party)
        .unwrap()
        .into_iter()
        .map(|c| c.channel)
        .collect();
    assert_eq!(names, std::slice::from_ref(&public));
    assert_eq!(
        store.channel_kind(&case, &public, &party).unwrap(),
        ChannelKind::Sealed
    );
    assert!(matches!(
        store.channel_kind(&case, &iran, &party),
        Err(ApiError::NotMember)
    ));

    // The mediator adds the party; its welcome appears with the commit.
    let mut add = entry(EntryKind::Commit, 0, Some(0));
    add.add = vec![party];
    add.welcome = Some(b"welcome".to_vec());
    let accepted = store.post_entry(&case, &iran, &mediator, add, 5).unwrap();
    assert_eq!(
        (accepted.seq, accepted.members.as_slice()),
        (1, &[mediator, party][..])
    );
    let welcomes = store.welcomes(&party, 0, 10).unwrap();
    assert_eq!(
        (
            welcomes.len(),
            welcomes[0].seq,
            welcomes[0].body.0.as_slice()
        ),
        (1, 1, &b"welcome"[..])
    );
    assert!(
        store
            .welcomes(&party, welcomes[0].id, 10)
            .unwrap()
            .is_empty()
    );

    // Refusals change nothing.
    let before = store.stats().unwrap();
    assert!(matches!(
        store.post_entry(
            &case,
            &iran,
            &party,
            entry(EntryKind::Commit, 1, Some(0)),
            6
        ),
        Err(ApiError::EpochTaken)
    ));
    assert!(matches!(
        store.post_entry(
            &case,
            &iran,
            &party,
            entry(EntryKind::Message, 0, Some(1)),
            6
        ),
        Err(ApiError::StaleHead { head: 1 })
    ));
    let mut remove = entry(EntryKind::Commit, 1, Some(1));
    remove.remove = vec![party];
    assert!(matches!(
        store.post_entry(&case, &iran, &party, remove.clone(), 6),
        Err(ApiError::Forbidden)
    ));
    let mut twice = entry(EntryKind::Commit, 1, Some(1));
    twice.add = vec![party];
    twice.welcome = Some(vec![1]);
    assert!(matches!(
        store.post_entry(&case, &iran, &mediator, twice, 6),
        Err(ApiError::InvalidEntry(_))
    ));
    assert_eq!(store.stats().unwrap(), before);

    // A message in the epoch, then the party's removal: it can no longer read.
    assert_eq!(
        store
            .post_entry(
                &case,
                &iran,
                &party,
                entry(EntryKind::Message, 1, Some(1)),
                7
            )
            .unwrap()
            .seq,
        2
    );
    remove.after = 2;
    assert_eq!(
        store
            .post_entry(&case, &iran, &mediator, remove, 8)
            .unwrap()
            .members,
        [mediator]
    );
    assert!(matches!(
        store.entries(&case, &iran, &party, 0, 10),
        Err(ApiError::NotMember)
    ));
    let entries = store.entries(&case, &iran, &mediator, 0, 2).unwrap();
    let seen: Vec<_> = entries
        .entries
        .iter()
        .map(|e| (e.seq, e.kind, e.author, e.at_ms))
        .collect();
    assert_eq!(
        seen,
        [
            (1, EntryKind::Commit, mediator, 5),
            (2, EntryKind::Message, party, 7)
        ]
    );
    assert_eq!(entries.head, 3);

    // Key packages: bounded per key, claimed once, by the mediator only.
    assert_eq!(
        store
            .store_key_packages(&party, vec![vec![1], vec![2]])
            .unwrap(),
        2
    );
    assert!(matches!(
        store.store_key_packages(&party, vec![vec![3]; MAX_KEY_PACKAGES - 1]),
        Err(ApiError::TooManyKeyPackages)
    ));
    assert!(matches!(
        store.claim_key_package(&case, &party, &party),
        Err(ApiError::Forbidden)
    ));
    assert!(matches!(
        store.claim_key_package(&case, &mediator, &stranger),
        Err(ApiError::MemberNotFound)
    ));
    assert_eq!(
        store.claim_key_package(&case, &mediator, &party).unwrap(),
        [1]
    );
    assert_eq!(
        store.claim_key_package(&case, &mediator, &party).unwrap(),
        [2]
    );
    assert!(matches!(
        store.claim_key_package(&case, &mediator, &party),
        Err(ApiError::NoKeyPackage)
    ));
    assert_eq!(store.stats().unwrap().key_packages, 0);

    assert!(store.record_nonce(&party, &[0; 16], 10, 10).unwrap());
    assert!(!store.record_nonce(&party, &[0; 16], 10, 10).unwrap());
}

#[test]
fn sqlite_in_memory() {
    story(&Sqlite::open_in_memory().unwrap());
}

#[test]
fn sqlite_file_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    story(&Sqlite::open(&path).unwrap());
    let reopened = Sqlite::open(&path).unwrap();
    let stats = reopened.stats().unwrap();
    assert_eq!(
        (
            stats.cases,
            stats.entries,
            stats.welcomes,
            stats.invites_used
        ),
        (1, 3, 1, 1)
    );
}
