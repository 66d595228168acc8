//! The SQLite backend under concurrency, on a file: writes sharing transactions (group commit)
//! and reads on the pool of read connections. Each write is answered only after the commit
//! that holds it, so a read begun after the answer sees it; one post is accepted per head.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};

use backchannel_core::api::{EntryKind, MAX_LIST};
use backchannel_core::{CaseId, HubChannel, PublicKey};
use backchannel_hub::store::{Backend, NewEntry, Sqlite};
use backchannel_hub::{ApiError, Durability};

const CASE: CaseId = CaseId([1; 16]);
const MEDIATOR: PublicKey = PublicKey([10; 32]);

fn message(after: u64, body: Vec<u8>) -> NewEntry {
    NewEntry {
        kind: EntryKind::Message,
        after,
        body,
        epoch: None,
        welcome: None,
        add: vec![],
        remove: vec![],
        quota: u64::MAX,
    }
}

/// A store on a file in `dir` holding one case, with `readers` read connections.
fn store(dir: &tempfile::TempDir, readers: usize) -> Arc<Sqlite> {
    let path = dir.path().join("hub.db");
    let store = Sqlite::open_with_readers(&path, Durability::Normal, readers).unwrap();
    store.create_case(&CASE, &MEDIATOR, 1, 1).unwrap();
    Arc::new(store)
}

/// Threads post to one channel at once, each after the head it last saw, until each has
/// `POSTS` accepted: every position is taken exactly once, each answer names the position its
/// entry holds, and a read begun after an answer sees the entry.
#[test]
fn of_concurrent_posts_on_one_channel_exactly_one_is_accepted_per_head() {
    const THREADS: usize = 16;
    const POSTS: usize = 20;
    const TRIES_MAX: usize = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir, 4);
    let public = HubChannel::public();
    let barrier = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let (store, public, barrier) = (Arc::clone(&store), public.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let (mut after, mut accepted) = (0, BTreeMap::new());
                for _ in 0..TRIES_MAX {
                    if accepted.len() == POSTS {
                        break;
                    }
                    let body = vec![thread as u8, accepted.len() as u8];
                    match store.post_entry(
                        &CASE,
                        &public,
                        &MEDIATOR,
                        message(after, body.clone()),
                        2,
                    ) {
                        Ok(done) => {
                            assert_eq!(done.seq, after + 1);
                            let read = store.entries(&CASE, &public, &MEDIATOR, after, 1).unwrap();
                            assert!(read.head >= done.seq, "a read after the answer sees it");
                            assert_eq!(read.entries[0].body.0, body, "at {}", done.seq);
                            accepted.insert(done.seq, body);
                            after = done.seq;
                        }
                        Err(ApiError::StaleHead { head, .. }) => {
                            assert!(head > after);
                            after = head;
                        }
                        Err(other) => panic!("{other:?}"),
                    }
                }
                accepted
            })
        })
        .collect();
    let mut accepted = BTreeMap::new();
    for thread in threads {
        for (seq, body) in thread.join().unwrap() {
            assert!(accepted.insert(seq, body).is_none(), "{seq} accepted twice");
        }
    }
    let total = (THREADS * POSTS) as u64;
    assert_eq!(
        accepted.keys().copied().collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>()
    );
    let mut stored = BTreeMap::new();
    let mut after = 0;
    while after < total {
        let page = store
            .entries(&CASE, &public, &MEDIATOR, after, MAX_LIST)
            .unwrap();
        for entry in page.entries {
            after = entry.seq;
            stored.insert(entry.seq, entry.body.0);
        }
    }
    assert_eq!(stored, accepted);
}

/// Readers on the pool while a writer posts: each read is one state (its head and its
/// entries agree), and a reader never sees the head go back.
#[test]
fn reads_on_the_pool_see_one_state_and_never_go_back() {
    const READERS: usize = 6;
    const POSTS: u64 = 200;
    let dir = tempfile::tempdir().unwrap();
    // Fewer connections than reading threads: some wait for one.
    let store = store(&dir, 2);
    let public = HubChannel::public();
    let writer = {
        let (store, public) = (Arc::clone(&store), public.clone());
        std::thread::spawn(move || {
            for after in 0..POSTS {
                let done = store
                    .post_entry(&CASE, &public, &MEDIATOR, message(after, vec![1; 64]), 2)
                    .unwrap();
                assert_eq!(done.seq, after + 1);
            }
        })
    };
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (store, public) = (Arc::clone(&store), public.clone());
            std::thread::spawn(move || {
                let mut seen = 0;
                while seen < POSTS {
                    let read = store
                        .entries(&CASE, &public, &MEDIATOR, 0, MAX_LIST)
                        .unwrap();
                    assert!(
                        read.head >= seen,
                        "the head went back from {seen} to {}",
                        read.head
                    );
                    let shown = read.head.min(MAX_LIST as u64);
                    assert_eq!(read.entries.len() as u64, shown, "head {}", read.head);
                    seen = read.head;
                }
            })
        })
        .collect();
    writer.join().unwrap();
    for reader in readers {
        reader.join().unwrap();
    }
    assert_eq!(store.stats().unwrap().entries, POSTS);
}

/// Posts refused inside a batch (stale, over quota) take nothing with them: the accepted
/// posts beside them are all stored, and a refused post's bytes are not counted.
#[test]
fn refusals_among_concurrent_posts_keep_their_neighbours() {
    const THREADS: u8 = 8;
    const ROUNDS: u64 = 50;
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir, 2);
    let barrier = Arc::new(Barrier::new(THREADS.into()));
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let (store, barrier) = (Arc::clone(&store), barrier.clone());
            std::thread::spawn(move || {
                // Each thread its own case and key; even threads also post refused entries.
                let (case, key) = (CaseId([thread + 2; 16]), PublicKey([thread + 20; 32]));
                store.create_case(&case, &key, 1, 1).unwrap();
                let public = HubChannel::public();
                barrier.wait();
                for after in 0..ROUNDS {
                    let done = store
                        .post_entry(&case, &public, &key, message(after, vec![0; 10]), 2)
                        .unwrap();
                    assert_eq!(done.seq, after + 1);
                    if thread % 2 == 0 {
                        let stale =
                            store.post_entry(&case, &public, &key, message(after, vec![0; 10]), 2);
                        assert!(
                            matches!(stale, Err(ApiError::StaleHead { .. })),
                            "{stale:?}"
                        );
                        let mut big = message(after + 1, vec![0; 10]);
                        big.quota = 10 * (after + 1) + 5;
                        let over = store.post_entry(&case, &public, &key, big, 2);
                        assert!(matches!(over, Err(ApiError::ByteQuota { .. })), "{over:?}");
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(store.stats().unwrap().entries, u64::from(THREADS) * ROUNDS);
    // The refused posts' bytes were rolled back with them: a quota of exactly what was
    // accepted still admits nothing more, and one byte more admits a one-byte post.
    let (case, key) = (CaseId([2; 16]), PublicKey([20; 32]));
    let mut exact = message(ROUNDS, vec![0]);
    exact.quota = 10 * ROUNDS;
    assert!(matches!(
        store.post_entry(&case, &HubChannel::public(), &key, exact, 2),
        Err(ApiError::ByteQuota { .. })
    ));
    let mut one_more = message(ROUNDS, vec![0]);
    one_more.quota = 10 * ROUNDS + 1;
    store
        .post_entry(&case, &HubChannel::public(), &key, one_more, 2)
        .unwrap();
}
