//! Several hub processes on one database: backends (each with its own pool) racing on one
//! channel keep it one line, hand out each key package and welcome exactly once, and count
//! quotas inside the transaction that would exceed them, so that concurrent requests cannot
//! overshoot; on SQLite, the same quotas hold and a refusal changes nothing. On PostgreSQL
//! when `BACKCHANNEL_TEST_POSTGRES` holds a URL (a schema per test; skipped with a note
//! otherwise). The storage contract's story is in `store.rs`.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Barrier};

use backchannel_core::api::{EntryKind, MemberRole};
use backchannel_core::{CaseId, HubChannel, PublicKey};
use backchannel_hub::ApiError;
use backchannel_hub::store::{Backend, NewInvite, Sqlite};
use common::store::{CASES, INVITES, entry, ordinary};
use common::{IRAN, PgSchema};

/// Two hub processes (two backends, each with its own pool) on one database, two threads
/// each, all posting at once.
#[test]
fn postgres_processes_racing_on_one_channel_keep_it_one_line() {
    let Some(schema) = PgSchema::new("postgres_processes_racing_on_one_channel_keep_it_one_line")
    else {
        return;
    };
    let hubs: [Arc<dyn Backend>; 2] = [Arc::new(schema.backend()), Arc::new(schema.backend())];
    let (case, mediator) = (CaseId([7; 16]), PublicKey([70; 32]));
    let channel = HubChannel::parse(IRAN).unwrap();
    hubs[0].create_case(&case, &mediator, 1, CASES).unwrap();
    hubs[1].create_channel(&case, &mediator, &channel).unwrap();

    const THREADS: usize = 4;
    const ROUNDS: u64 = 25;
    let barrier = Arc::new(Barrier::new(THREADS));

    // Commits: every round, all four post a commit for the same epoch after the same head
    // (half of them naming the next head, as a client that saw a commit in flight might):
    // exactly one is accepted.
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let (hub, barrier, channel) = (
                Arc::clone(&hubs[thread % 2]),
                Arc::clone(&barrier),
                channel.clone(),
            );
            std::thread::spawn(move || {
                // Failures are collected, not panicked on, so no thread waits forever at the
                // barrier for one that died.
                let (mut accepted, mut failures) = (vec![], vec![]);
                for round in 0..ROUNDS {
                    barrier.wait();
                    let after = if thread < 2 { round } else { round + 1 };
                    match hub.post_entry(
                        &case,
                        &channel,
                        &mediator,
                        entry(EntryKind::Commit, after, Some(round)),
                        10,
                    ) {
                        Ok(done) => accepted.push((round, done.seq)),
                        Err(ApiError::StaleHead { .. } | ApiError::EpochTaken) => {}
                        Err(other) => failures.push(format!("round {round}: {other:?}")),
                    }
                    barrier.wait();
                }
                (accepted, failures)
            })
        })
        .collect();
    let (mut accepted, mut failures) = (vec![], vec![]);
    for thread in threads {
        let (ok, failed) = thread.join().unwrap();
        accepted.extend(ok);
        failures.extend(failed);
    }
    assert!(failures.is_empty(), "{failures:?}");
    accepted.sort_unstable();
    let expected: Vec<_> = (0..ROUNDS).map(|round| (round, round + 1)).collect();
    assert_eq!(accepted, expected, "one commit per round, in order");

    // Messages on the public record: all post as fast as they can, re-reading the head on
    // `stale_head` like a client does; every one lands, once, on one line.
    const MESSAGES: u64 = 15;
    let public = HubChannel::public();
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let (hub, public) = (Arc::clone(&hubs[thread % 2]), public.clone());
            std::thread::spawn(move || {
                let mut after = 0;
                for _ in 0..MESSAGES {
                    loop {
                        match hub.post_entry(
                            &case,
                            &public,
                            &mediator,
                            entry(EntryKind::Message, after, None),
                            11,
                        ) {
                            Ok(done) => {
                                after = done.seq;
                                break;
                            }
                            Err(ApiError::StaleHead { head, .. }) => after = head,
                            Err(other) => panic!("{other:?}"),
                        }
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let total = THREADS as u64 * MESSAGES;
    let log = hubs[1]
        .entries(&case, &public, &mediator, 0, 1_000)
        .unwrap();
    assert_eq!(log.head, total);
    let seqs: Vec<u64> = log.entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=total).collect::<Vec<_>>());
}

/// Welcomes and key packages under contention across processes: each key package is handed
/// out once, and a member paging its welcomes with `after` misses none.
#[test]
fn postgres_processes_share_key_packages_and_welcomes_exactly() {
    let Some(schema) = PgSchema::new("postgres_processes_share_key_packages_and_welcomes_exactly")
    else {
        return;
    };
    let hubs: [Arc<dyn Backend>; 2] = [Arc::new(schema.backend()), Arc::new(schema.backend())];
    let (case, mediator, party) = (CaseId([8; 16]), PublicKey([80; 32]), PublicKey([81; 32]));
    hubs[0].create_case(&case, &mediator, 1, CASES).unwrap();
    let invite = NewInvite {
        code_hash: "ef".repeat(32),
        role: MemberRole::Party,
        expires_ms: None,
    };
    hubs[0]
        .create_invite(&case, &mediator, &invite, 2, INVITES)
        .unwrap();
    // Both processes try to spend the one invite: one succeeds.
    let joins: Vec<_> = (0..2)
        .map(|i| {
            let (hub, code) = (Arc::clone(&hubs[i]), invite.code_hash.clone());
            std::thread::spawn(move || hub.join(&case, &party, &code, b"sealed name", 3))
        })
        .map(|thread| thread.join().unwrap())
        .collect();
    assert_eq!(joins.iter().filter(|join| join.is_ok()).count(), 1);

    let packages = (0..8u8).map(ordinary).collect();
    hubs[1].store_key_packages(&party, packages).unwrap();
    let claims: Vec<_> = (0..4)
        .map(|i| {
            let hub = Arc::clone(&hubs[i % 2]);
            std::thread::spawn(move || {
                (0..2)
                    .map(|_| hub.claim_key_package(&case, &mediator, &party).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut claimed: Vec<Vec<u8>> = claims
        .into_iter()
        .flat_map(|thread| thread.join().unwrap())
        .collect();
    claimed.sort();
    assert_eq!(claimed, (0..8u8).map(|i| vec![i]).collect::<Vec<_>>());
    assert!(matches!(
        hubs[0].claim_key_package(&case, &mediator, &party),
        Err(ApiError::NoKeyPackage)
    ));

    // Channels created and joined through both processes at once; the party pages its
    // welcomes meanwhile and must see each exactly once.
    const CHANNELS: usize = 12;
    let adds: Vec<_> = (0..CHANNELS)
        .map(|i| {
            let hub = Arc::clone(&hubs[i % 2]);
            std::thread::spawn(move || {
                let channel = HubChannel::parse(&format!("{i:032x}")).unwrap();
                hub.create_channel(&case, &mediator, &channel).unwrap();
                let mut add = entry(EntryKind::Commit, 0, Some(0));
                add.add = vec![party];
                add.welcome = Some(vec![i as u8]);
                hub.post_entry(&case, &channel, &mediator, add, 4).unwrap();
            })
        })
        .collect();
    let mut seen = vec![];
    let mut after = 0;
    while seen.len() < CHANNELS {
        for welcome in hubs[1].welcomes(&party, after, 3).unwrap() {
            after = welcome.id;
            seen.push(welcome.body.0[0]);
        }
    }
    for add in adds {
        add.join().unwrap();
    }
    assert!(hubs[0].welcomes(&party, after, 100).unwrap().is_empty());
    seen.sort_unstable();
    assert_eq!(seen, (0..CHANNELS as u8).collect::<Vec<_>>());
}

/// The quotas: a key's cases and a case's invites, each refused one past its bound with
/// `quota_exceeded`, changing nothing, and counted per key and per case.
fn quota_story(store: &dyn Backend) {
    let (mediator, other) = (PublicKey([40; 32]), PublicKey([41; 32]));
    for n in 0..3u8 {
        store
            .create_case(&CaseId([40 + n; 16]), &mediator, 1, 3)
            .unwrap();
    }
    let before = store.stats().unwrap();
    assert!(matches!(
        store.create_case(&CaseId([43; 16]), &mediator, 2, 3),
        Err(ApiError::CaseQuota { max: 3 })
    ));
    assert_eq!(store.stats().unwrap(), before);
    // A case id already taken is still `case_exists`, whatever the quota.
    assert!(matches!(
        store.create_case(&CaseId([40; 16]), &mediator, 2, 3),
        Err(ApiError::CaseExists)
    ));
    // Another key has a quota of its own; joining a case as a party uses none of it.
    store.create_case(&CaseId([44; 16]), &other, 2, 1).unwrap();
    let case = CaseId([40; 16]);
    let invite = |n: u8| NewInvite {
        code_hash: format!("{n:02x}").repeat(32),
        role: MemberRole::Observer,
        expires_ms: None,
    };
    store
        .create_invite(&case, &mediator, &invite(1), 3, 2)
        .unwrap();
    store
        .join(&case, &other, &invite(1).code_hash, b"sealed name", 3)
        .unwrap();
    // Spent invites count too.
    store
        .create_invite(&case, &mediator, &invite(2), 3, 2)
        .unwrap();
    let before = store.stats().unwrap();
    assert!(matches!(
        store.create_invite(&case, &mediator, &invite(3), 4, 2),
        Err(ApiError::InviteQuota { max: 2 })
    ));
    assert_eq!(store.stats().unwrap(), before);
    // Another case has its own.
    store
        .create_invite(&CaseId([41; 16]), &mediator, &invite(3), 4, 2)
        .unwrap();
    assert!(matches!(
        store.create_case(&CaseId([45; 16]), &other, 5, 1),
        Err(ApiError::CaseQuota { max: 1 })
    ));
}

/// Many requests at once, from several backends on one database: exactly the quota passes.
fn quota_race(hubs: &[Arc<dyn Backend>]) {
    const THREADS: usize = 8;
    const MAX: u64 = 3;
    let mediator = PublicKey([50; 32]);
    let barrier = Arc::new(Barrier::new(THREADS));
    let cases: Vec<_> = (0..THREADS)
        .map(|n| {
            let (hub, barrier) = (Arc::clone(&hubs[n % hubs.len()]), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                hub.create_case(&CaseId([50 + n as u8; 16]), &mediator, 1, MAX)
            })
        })
        .collect();
    let created = cases
        .into_iter()
        .map(|thread| thread.join().unwrap())
        .filter(|outcome| match outcome {
            Ok(()) => true,
            Err(ApiError::CaseQuota { max: MAX }) => false,
            Err(other) => panic!("{other}"),
        })
        .count();
    assert_eq!(created as u64, MAX);

    // One of the cases that were created, whichever they are.
    let case = (0..THREADS as u8)
        .map(|n| CaseId([50 + n; 16]))
        .find(|case| hubs[0].require_member(case, &mediator).is_ok())
        .unwrap();
    let invites: Vec<_> = (0..THREADS)
        .map(|n| {
            let (hub, barrier) = (Arc::clone(&hubs[n % hubs.len()]), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let invite = NewInvite {
                    code_hash: format!("{n:02x}").repeat(32),
                    role: MemberRole::Observer,
                    expires_ms: None,
                };
                barrier.wait();
                hub.create_invite(&case, &mediator, &invite, 2, MAX)
            })
        })
        .collect();
    let stored = invites
        .into_iter()
        .map(|thread| thread.join().unwrap())
        .filter(|outcome| match outcome {
            Ok(()) => true,
            Err(ApiError::InviteQuota { max: MAX }) => false,
            Err(other) => panic!("{other}"),
        })
        .count();
    assert_eq!(stored as u64, MAX);
    assert_eq!(hubs[0].stats().unwrap().invites, MAX);
}

#[test]
fn sqlite_quotas_hold_and_change_nothing_when_refused() {
    quota_story(&Sqlite::open_in_memory().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let hub: Arc<dyn Backend> = Arc::new(Sqlite::open(&dir.path().join("hub.db")).unwrap());
    quota_race(&[hub]);
}

#[test]
fn postgres_quotas_hold_across_processes() {
    let Some(schema) = PgSchema::new("postgres_quotas_hold_across_processes") else {
        return;
    };
    quota_story(&schema.backend());
    let other = PgSchema::new("postgres_quotas_hold_across_processes").unwrap();
    let hubs: [Arc<dyn Backend>; 2] = [Arc::new(other.backend()), Arc::new(other.backend())];
    quota_race(&hubs);
}
