//! One story against the storage contract, generic over the backend: run on SQLite in
//! memory and in a file, and on PostgreSQL when `BACKCHANNEL_TEST_POSTGRES` holds a URL (each
//! test in a schema of its own, dropped afterwards; skipped with a note otherwise). Several
//! processes on one database, and the quotas, are in `store_processes.rs`.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Barrier};

use backchannel_core::api::{ChannelKind, EntryKind, MAX_KEY_PACKAGES, MemberRole};
use backchannel_core::{CaseId, HubChannel, PublicKey};
use backchannel_hub::ApiError;
use backchannel_hub::store::{Backend, KeyStock, NewInvite, Postgres, Sqlite, Stats};
use common::store::{CASES, INVITES, entry, last_resort, ordinary};
use common::{IRAN, PgSchema};

fn story(store: &dyn Backend) {
    let (case, other_case) = (CaseId([1; 16]), CaseId([2; 16]));
    let (mediator, party, stranger) = (
        PublicKey([10; 32]),
        PublicKey([11; 32]),
        PublicKey([12; 32]),
    );
    let iran = HubChannel::parse(IRAN).unwrap();
    let public = HubChannel::public();

    store.create_case(&case, &mediator, 1, CASES).unwrap();
    assert!(matches!(
        store.create_case(&case, &party, 2, CASES),
        Err(ApiError::CaseExists)
    ));

    let invite = NewInvite {
        code_hash: "ab".repeat(32),
        role: MemberRole::Party,
        expires_ms: None,
    };
    assert!(matches!(
        store.create_invite(&case, &stranger, &invite, 2, INVITES),
        Err(ApiError::NotMember)
    ));
    assert!(matches!(
        store.create_invite(&other_case, &mediator, &invite, 2, INVITES),
        Err(ApiError::CaseNotFound)
    ));
    store
        .create_invite(&case, &mediator, &invite, 2, INVITES)
        .unwrap();
    assert!(matches!(
        store.create_invite(&case, &mediator, &invite, 2, INVITES),
        Err(ApiError::InviteExists)
    ));
    assert!(matches!(
        store.join(&case, &party, &"cd".repeat(32), b"sealed name", 3),
        Err(ApiError::InviteUnknown)
    ));
    let member = store
        .join(&case, &party, &invite.code_hash, b"sealed name", 3)
        .unwrap();
    assert_eq!(
        (member.role, member.invite.as_deref(), member.joined_ms),
        (MemberRole::Party, Some(invite.code_hash.as_str()), 3)
    );
    assert_eq!(
        member.sealed_name.map(|b| b.0),
        Some(b"sealed name".to_vec())
    );
    assert!(matches!(
        store.join(&case, &stranger, &invite.code_hash, b"sealed name", 4),
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
        Err(ApiError::StaleHead { head: 1, .. })
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

    // Key packages: bounded per key, claimed once, by the mediator only; the last-resort
    // one is handed out when no other is left, and kept.
    assert_eq!(
        store
            .store_key_packages(&party, vec![ordinary(1), ordinary(2), last_resort(8)])
            .unwrap(),
        KeyStock {
            available: 2,
            last_resort: true
        }
    );
    assert!(matches!(
        store.store_key_packages(&party, vec![ordinary(3); MAX_KEY_PACKAGES - 1]),
        Err(ApiError::TooManyKeyPackages)
    ));
    // A newer last-resort package replaces the one held, and is not counted in the bound.
    assert_eq!(
        store
            .store_key_packages(&party, vec![last_resort(9)])
            .unwrap(),
        KeyStock {
            available: 2,
            last_resort: true
        }
    );
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
    for _ in 0..2 {
        assert_eq!(
            store.claim_key_package(&case, &mediator, &party).unwrap(),
            [9]
        );
    }
    assert_eq!(store.stats().unwrap().key_packages, 1);
    assert!(matches!(
        store.claim_key_package(&case, &mediator, &mediator),
        Err(ApiError::NoKeyPackage)
    ));

    assert!(store.record_nonce(&party, &[0; 16], 10, 10).unwrap());
    assert!(!store.record_nonce(&party, &[0; 16], 10, 10).unwrap());
}

/// Invites that expire, and invites the mediator revokes: a refused join or revocation
/// changes nothing, and revoking twice keeps the first time.
fn invite_story(store: &dyn Backend) {
    let (case, other_case) = (CaseId([3; 16]), CaseId([4; 16]));
    let (mediator, party, observer, stranger) = (
        PublicKey([30; 32]),
        PublicKey([31; 32]),
        PublicKey([32; 32]),
        PublicKey([33; 32]),
    );
    let observer_invite = |hex: &str, expires_ms| NewInvite {
        code_hash: hex.repeat(32),
        role: MemberRole::Observer,
        expires_ms,
    };
    let expiring = observer_invite("a1", Some(2_000));
    let lasting = observer_invite("b2", None);
    let revoked = observer_invite("c3", Some(50_000));
    let spent = NewInvite {
        code_hash: "d4".repeat(32),
        role: MemberRole::Party,
        expires_ms: None,
    };
    store.create_case(&case, &mediator, 1_000, CASES).unwrap();
    for invite in [&expiring, &lasting, &revoked, &spent] {
        store
            .create_invite(&case, &mediator, invite, 1_000, INVITES)
            .unwrap();
    }
    store
        .join(&case, &party, &spent.code_hash, b"sealed name", 1_100)
        .unwrap();

    // Refusals change nothing.
    let before = store.stats().unwrap();
    for now_ms in [2_000, 9_999_999] {
        assert!(matches!(
            store.join(
                &case,
                &observer,
                &expiring.code_hash,
                b"sealed name",
                now_ms
            ),
            Err(ApiError::InviteExpired)
        ));
    }
    assert!(matches!(
        store.revoke_invite(&case, &party, &revoked.code_hash, 1_200),
        Err(ApiError::Forbidden)
    ));
    assert!(matches!(
        store.revoke_invite(&case, &stranger, &revoked.code_hash, 1_200),
        Err(ApiError::NotMember)
    ));
    assert!(matches!(
        store.revoke_invite(&other_case, &mediator, &revoked.code_hash, 1_200),
        Err(ApiError::CaseNotFound)
    ));
    assert!(matches!(
        store.revoke_invite(&case, &mediator, &"ee".repeat(32), 1_200),
        Err(ApiError::InviteUnknown)
    ));
    assert!(matches!(
        store.revoke_invite(&case, &mediator, &spent.code_hash, 1_200),
        Err(ApiError::InviteUsed)
    ));
    assert_eq!(store.stats().unwrap(), before);

    // Revoking is idempotent: the first time stands.
    assert_eq!(
        store
            .revoke_invite(&case, &mediator, &revoked.code_hash, 1_300)
            .unwrap(),
        1_300
    );
    assert_eq!(
        store
            .revoke_invite(&case, &mediator, &revoked.code_hash, 1_400)
            .unwrap(),
        1_300
    );
    let revoking = store.stats().unwrap();
    assert_eq!(
        revoking,
        Stats {
            invites_revoked: before.invites_revoked + 1,
            ..before
        }
    );
    // A revoked invite is refused even before it would expire.
    assert!(matches!(
        store.join(&case, &observer, &revoked.code_hash, b"sealed name", 1_500),
        Err(ApiError::InviteRevoked)
    ));
    assert_eq!(store.stats().unwrap(), revoking);
    assert_eq!(store.members(&case, &mediator).unwrap().len(), 2);

    // An invite is good until the millisecond before it expires; one without an expiry, for
    // as long as it is not spent.
    let member = store
        .join(&case, &observer, &expiring.code_hash, b"sealed name", 1_999)
        .unwrap();
    assert_eq!(
        (member.role, member.joined_ms),
        (MemberRole::Observer, 1_999)
    );
    store
        .join(
            &case,
            &stranger,
            &lasting.code_hash,
            b"sealed name",
            9_999_999,
        )
        .unwrap();
    assert!(matches!(
        store.revoke_invite(&case, &mediator, &expiring.code_hash, 10_000_000),
        Err(ApiError::InviteUsed)
    ));
    let stats = store.stats().unwrap();
    assert_eq!(
        (
            stats.members,
            stats.invites,
            stats.invites_used,
            stats.invites_revoked
        ),
        (
            before.members + 2,
            before.invites,
            before.invites_used + 2,
            before.invites_revoked + 1
        )
    );
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

#[test]
fn sqlite_invites_expire_and_are_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hub.db");
    invite_story(&Sqlite::open(&path).unwrap());
    // The revocation and its time are stored, not remembered.
    let reopened = Sqlite::open(&path).unwrap();
    let (case, mediator) = (CaseId([3; 16]), PublicKey([30; 32]));
    assert_eq!(
        reopened
            .revoke_invite(&case, &mediator, &"c3".repeat(32), 1_600)
            .unwrap(),
        1_300
    );
    assert!(matches!(
        reopened.join(
            &case,
            &PublicKey([34; 32]),
            &"c3".repeat(32),
            b"sealed name",
            1_600
        ),
        Err(ApiError::InviteRevoked)
    ));
}

#[test]
fn postgres_invites_expire_and_are_revoked() {
    let Some(schema) = PgSchema::new("postgres_invites_expire_and_are_revoked") else {
        return;
    };
    invite_story(&schema.backend());
    // Another process sees the revocation, with its first time.
    let (case, mediator) = (CaseId([3; 16]), PublicKey([30; 32]));
    assert_eq!(
        schema
            .backend()
            .revoke_invite(&case, &mediator, &"c3".repeat(32), 1_600)
            .unwrap(),
        1_300
    );

    // A join and a revocation of one invite, through two processes at once: the invite is
    // spent or revoked, never both.
    let hubs: [Arc<dyn Backend>; 2] = [Arc::new(schema.backend()), Arc::new(schema.backend())];
    for round in 0..10u8 {
        let code_hash = format!("{round:02x}").repeat(32);
        let invite = NewInvite {
            code_hash: code_hash.clone(),
            role: MemberRole::Observer,
            expires_ms: None,
        };
        hubs[0]
            .create_invite(&case, &mediator, &invite, 2_000, INVITES)
            .unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let joining = {
            let (hub, barrier, code_hash) = (
                Arc::clone(&hubs[0]),
                Arc::clone(&barrier),
                code_hash.clone(),
            );
            std::thread::spawn(move || {
                barrier.wait();
                hub.join(
                    &case,
                    &PublicKey([100 + round; 32]),
                    &code_hash,
                    b"sealed name",
                    2_100,
                )
            })
        };
        let revoking = {
            let (hub, barrier) = (Arc::clone(&hubs[1]), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                hub.revoke_invite(&case, &mediator, &code_hash, 2_100)
            })
        };
        match (joining.join().unwrap(), revoking.join().unwrap()) {
            (Ok(_), Err(ApiError::InviteUsed)) | (Err(ApiError::InviteRevoked), Ok(2_100)) => {}
            other => panic!("round {round}: {other:?}"),
        }
    }
}

#[test]
fn postgres_story_and_reopen() {
    let Some(schema) = PgSchema::new("postgres_story_and_reopen") else {
        return;
    };
    story(&schema.backend());
    // A second process on the same database: migrating again is a no-op, and it sees it all.
    let reopened = schema.backend();
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
    let versions: i64 = schema
        .admin()
        .query_one("SELECT COUNT(*) FROM schema_version", &[])
        .unwrap()
        .get(0);
    // 0007_sealed_names.sql is the seventh.
    assert_eq!(versions, 7);
}

#[test]
fn postgres_refuses_a_newer_database() {
    let Some(schema) = PgSchema::new("postgres_refuses_a_newer_database") else {
        return;
    };
    drop(schema.backend());
    schema
        .admin()
        .execute("INSERT INTO schema_version (version) VALUES (99)", &[])
        .unwrap();
    let error = Postgres::with_config(schema.config(), 1).err().unwrap();
    assert!(
        format!("{error:#}").contains("newer than this hub"),
        "{error:#}"
    );
}

#[test]
fn postgres_one_commit_per_epoch_is_a_database_invariant() {
    let Some(schema) = PgSchema::new("postgres_one_commit_per_epoch_is_a_database_invariant")
    else {
        return;
    };
    drop(schema.backend());
    let mut admin = schema.admin();
    admin
        .batch_execute(
            "INSERT INTO cases (case_id, created_ms) VALUES ('\\x00', 0);
             INSERT INTO channels (case_id, name, kind) VALUES ('\\x00', 'c', 'mls');",
        )
        .unwrap();
    let insert = "INSERT INTO entries (channel_id, seq, kind, author, body, at_ms, epoch)
                  SELECT id, $1, $2, '\\x00', '\\x00', 0, 4 FROM channels";
    admin.execute(insert, &[&1_i64, &"commit"]).unwrap();
    admin.execute(insert, &[&2_i64, &"message"]).unwrap();
    assert!(admin.execute(insert, &[&3_i64, &"commit"]).is_err());
}

#[test]
fn postgres_drops_the_names_it_held_in_clear() {
    let Some(schema) = PgSchema::new("postgres_drops_the_names_it_held_in_clear") else {
        return;
    };
    // A database as a hub of schema version 6 left it: names and parties in clear.
    let mut admin = schema.admin();
    admin
        .batch_execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        .unwrap();
    let earlier = [
        include_str!("../src/store/migrations/postgres/0001_init.sql"),
        include_str!("../src/store/migrations/postgres/0002_invite_expiry.sql"),
        include_str!("../src/store/migrations/postgres/0003_members_by_key.sql"),
        include_str!("../src/store/migrations/postgres/0004_witness.sql"),
        include_str!("../src/store/migrations/postgres/0005_last_resort.sql"),
        include_str!("../src/store/migrations/postgres/0006_usage.sql"),
    ];
    for (index, sql) in earlier.iter().enumerate() {
        admin.batch_execute(sql).unwrap();
        admin
            .execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&(index as i32 + 1)],
            )
            .unwrap();
    }
    admin
        .batch_execute(
            "INSERT INTO cases (case_id, created_ms) VALUES ('\\x00', 1);
             INSERT INTO members (case_id, key, name, role, party, joined_ms)
                 VALUES ('\\x00', '\\x01', 'Islamabad', 'mediator', NULL, 1),
                        ('\\x00', '\\x02', 'Araghchi', 'party', 'Iran', 2);
             INSERT INTO invites (case_id, code_hash, role, party, created_ms, used_by)
                 VALUES ('\\x00', 'spent', 'party', 'Iran', 1, '\\x02');",
        )
        .unwrap();

    drop(schema.backend());
    let invites: Vec<Option<String>> = admin
        .query("SELECT invite FROM members ORDER BY joined_ms", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(invites, [None, Some("spent".to_owned())]);
    let columns: Vec<String> = admin
        .query(
            "SELECT table_name || '.' || column_name FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name IN ('members', 'invites')",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(
        columns.contains(&"members.sealed_name".to_owned()),
        "{columns:?}"
    );
    for gone in ["members.name", "members.party", "invites.party"] {
        assert!(!columns.contains(&gone.to_owned()), "{columns:?}");
    }
}
