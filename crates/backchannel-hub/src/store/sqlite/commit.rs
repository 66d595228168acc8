//! The one writer, with group commit: writes that arrive together share one `IMMEDIATE`
//! transaction, each in a savepoint of its own, and one commit (one fsync under
//! `--durability full`). Nobody is answered before the commit that holds their write.
//!
//! There is no writer thread: each caller runs its own closure on the connection under the
//! lock, as before, but leaves the transaction open when other writers are already queued
//! for the lock; the last of them (or the one that reaches [`Batching::writes_max`] writes or
//! [`Batching::age_max`]) commits, and everyone in the batch then gets their answer, or the
//! commit's failure. So closures need not be `'static`, and a lone writer commits at once,
//! as it always did.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};

use crate::error::ApiError;
use crate::store::StoreResult;

/// How far writes may share a transaction.
#[derive(Clone, Copy, Debug)]
pub(super) struct Batching {
    /// The most writes one transaction holds.
    pub(super) writes_max: usize,
    /// How long a transaction stays open for writers still queued.
    pub(super) age_max: Duration,
}

/// The hub's batching: 64 writes or 1 ms, whichever comes first. A batch is as large as the
/// writes that queue while one commits (an fsync under `--durability full`); the bounds keep a
/// steady stream from holding the first answers back.
pub(super) const BATCHING: Batching = Batching {
    writes_max: 64,
    age_max: Duration::from_millis(1),
};

/// The write connection.
pub(super) struct Writer {
    state: Mutex<State>,
    /// Callers waiting for `state`'s lock. A transaction is left open only while one is, so
    /// one of them is bound to commit it.
    queued: AtomicUsize,
    /// How far writes may share a transaction; `None` for an in-memory database, whose reads
    /// go through this connection and must not see a write that is not committed.
    batching: Option<Batching>,
    /// Commits tried, for tests.
    commits: AtomicU64,
}

pub(super) struct State {
    pub(super) conn: Connection,
    open: Option<Open>,
}

/// The transaction under way.
struct Open {
    batch: Arc<Batch>,
    began: Instant,
    writes: usize,
}

/// What the commit of one transaction came to, awaited by every write in it.
#[derive(Default)]
struct Batch {
    /// `None` until the transaction ends; then `Ok` when committed, or why not.
    outcome: Mutex<Option<Result<(), String>>>,
    ended: Condvar,
}

impl Batch {
    fn end(&self, outcome: Result<(), String>) {
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(outcome);
        self.ended.notify_all();
    }

    fn wait(&self) -> Result<(), String> {
        let mut outcome = self.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(outcome) = outcome.as_ref() {
                return outcome.clone();
            }
            outcome = self
                .ended
                .wait(outcome)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// What running one write's closure came to.
enum Ran<T> {
    Done(StoreResult<T>),
    Panicked(Box<dyn Any + Send>),
}

impl Writer {
    pub(super) fn new(conn: Connection, batching: Option<Batching>) -> Self {
        Self {
            state: Mutex::new(State { conn, open: None }),
            queued: AtomicUsize::new(0),
            batching,
            commits: AtomicU64::new(0),
        }
    }

    /// Transactions committed so far.
    #[cfg(test)]
    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::SeqCst)
    }

    pub(super) fn lock(&self) -> StoreResult<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| ApiError::internal("storage: connection mutex poisoned"))
    }

    /// Runs `f` in a read transaction on the write connection (an in-memory database).
    pub(super) fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut state = self.lock()?;
        debug_assert!(state.open.is_none(), "a read beside an open batch");
        let tx = state
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)?;
        f(&tx)
    }

    /// Runs `f` in a savepoint of the current `IMMEDIATE` transaction (begun if none is
    /// open), kept when `f` succeeds and rolled back when it fails or panics; returns once the
    /// transaction has ended, with `f`'s value if it committed and the commit's failure if
    /// not.
    pub(super) fn write<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let locked = self.lock();
        self.queued.fetch_sub(1, Ordering::SeqCst);
        let mut state = locked?;
        if state.open.is_none() {
            state.conn.execute_batch("BEGIN IMMEDIATE")?;
            state.open = Some(Open {
                batch: Arc::default(),
                began: Instant::now(),
                writes: 0,
            });
        }
        let ran = in_savepoint(&state.conn, f);
        let State { conn, open } = &mut *state;
        let Some(current) = open.as_mut() else {
            unreachable!("a write outside a transaction");
        };
        let batch = Arc::clone(&current.batch);
        current.writes += 1;
        let outcome = match &ran {
            // SQLite ended the transaction itself (an I/O error, a full disk): the writes
            // before this one in the batch went with it.
            Err(_) => {
                if !conn.is_autocommit() {
                    let _ = conn.execute_batch("ROLLBACK");
                }
                *open = None;
                drop(state);
                let outcome = Err("storage: the transaction ended under a write".to_owned());
                batch.end(outcome.clone());
                outcome
            }
            Ok(_) => {
                let commit_now = self.batching.is_none_or(|limits| {
                    self.queued.load(Ordering::SeqCst) == 0
                        || current.writes >= limits.writes_max
                        || current.began.elapsed() >= limits.age_max
                });
                if commit_now {
                    let outcome = conn
                        .execute_batch("COMMIT")
                        .map_err(|e| format!("storage: commit: {e}"));
                    self.commits.fetch_add(1, Ordering::SeqCst);
                    if outcome.is_err() && !conn.is_autocommit() {
                        let _ = conn.execute_batch("ROLLBACK");
                    }
                    *open = None;
                    drop(state);
                    batch.end(outcome.clone());
                    outcome
                } else {
                    drop(state);
                    batch.wait()
                }
            }
        };
        match ran {
            Ok(Ran::Panicked(panic)) | Err(Ran::Panicked(panic)) => resume_unwind(panic),
            // A refusal too waits for the commit, and gives way to its failure: it may rest on
            // a neighbour's write that was never committed.
            Ok(Ran::Done(value)) | Err(Ran::Done(value)) => match outcome {
                Ok(()) => value,
                Err(why) => Err(ApiError::internal(why)),
            },
        }
    }
}

/// Runs `f` in a savepoint, released when `f` succeeds and rolled back when it fails or
/// panics. `Err` when the enclosing transaction did not survive.
fn in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> StoreResult<T>,
) -> Result<Ran<T>, Ran<T>> {
    if let Err(e) = conn.execute_batch("SAVEPOINT write") {
        return Err(Ran::Done(Err(e.into())));
    }
    let ran = match catch_unwind(AssertUnwindSafe(|| f(conn))) {
        Ok(value) => Ran::Done(value),
        Err(panic) => Ran::Panicked(panic),
    };
    let end = match &ran {
        Ran::Done(Ok(_)) => "RELEASE write",
        _ => "ROLLBACK TO write; RELEASE write",
    };
    if conn.is_autocommit() || conn.execute_batch(end).is_err() || conn.is_autocommit() {
        return Err(ran);
    }
    Ok(ran)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::mpsc;
    use std::thread::JoinHandle;

    use super::*;

    /// Batches bounded by their number of writes only, so that a test decides who shares one.
    const PATIENT: Batching = Batching {
        writes_max: 64,
        age_max: Duration::from_secs(3600),
    };

    type Write = Box<dyn FnOnce(&Connection) -> StoreResult<i64> + Send>;

    fn open(dir: &tempfile::TempDir) -> Arc<Writer> {
        let conn = Connection::open(dir.path().join("t.db")).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY)")
            .unwrap();
        Arc::new(Writer::new(conn, Some(PATIENT)))
    }

    fn insert(x: i64) -> Write {
        Box::new(move |conn| {
            conn.execute("INSERT INTO t (x) VALUES (?1)", [x])?;
            Ok(x)
        })
    }

    /// Runs `writes` so that they share one transaction: the first holds the connection until
    /// all the others wait for it. Each thread, once answered, reads `t` on a connection of
    /// its own, as a reader beside the writer would.
    fn in_one_batch(
        dir: &tempfile::TempDir,
        writer: &Arc<Writer>,
        writes: Vec<Write>,
    ) -> Vec<std::thread::Result<(StoreResult<i64>, Vec<i64>)>> {
        let others = writes.len() - 1;
        let (entered, inside) = mpsc::channel();
        let path = dir.path().join("t.db");
        let threads: Vec<JoinHandle<_>> = writes
            .into_iter()
            .enumerate()
            .map(|(i, write)| {
                let (writer, entered, path) = (Arc::clone(writer), entered.clone(), path.clone());
                let thread = std::thread::spawn(move || {
                    let watch = Arc::clone(&writer);
                    let answer = writer.write(move |conn| {
                        if i == 0 {
                            entered.send(()).unwrap();
                            while watch.queued.load(Ordering::SeqCst) < others {
                                std::thread::yield_now();
                            }
                        }
                        write(conn)
                    });
                    let seen = Connection::open(&path)
                        .unwrap()
                        .prepare("SELECT x FROM t ORDER BY x")
                        .unwrap()
                        .query_map([], |row| row.get(0))
                        .unwrap()
                        .collect::<Result<Vec<i64>, _>>()
                        .unwrap();
                    (answer, seen)
                });
                if i == 0 {
                    inside.recv().unwrap();
                }
                thread
            })
            .collect();
        threads.into_iter().map(JoinHandle::join).collect()
    }

    #[test]
    fn a_failing_write_in_a_batch_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let writer = open(&dir);
        let duplicate: Write = Box::new(|conn| {
            conn.execute("INSERT INTO t (x) VALUES (100)", [])?;
            conn.execute("INSERT INTO t (x) VALUES (1)", [])?;
            Ok(100)
        });
        let refusal: Write = Box::new(|conn| {
            conn.execute("INSERT INTO t (x) VALUES (200)", [])?;
            Err(ApiError::EpochTaken)
        });
        let writes = vec![
            insert(1),
            insert(2),
            duplicate,
            insert(3),
            refusal,
            insert(4),
        ];
        let answers = in_one_batch(&dir, &writer, writes);
        assert_eq!(writer.commits(), 1, "one transaction for the six");
        let answers: Vec<_> = answers.into_iter().map(Result::unwrap).collect();
        for (i, (answer, seen)) in answers.iter().enumerate() {
            match i {
                2 => assert!(matches!(answer, Err(ApiError::Internal(_))), "{answer:?}"),
                4 => assert!(matches!(answer, Err(ApiError::EpochTaken)), "{answer:?}"),
                _ => assert_eq!(answer.as_ref().ok(), Some(&[1, 2, 0, 3, 0, 4][i])),
            }
            // Answered after the commit: every kept write is there to read.
            assert_eq!(seen, &[1, 2, 3, 4], "write {i}");
        }
    }

    #[test]
    fn a_panicking_write_in_a_batch_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let writer = open(&dir);
        let panics: Write = Box::new(|conn| {
            conn.execute("INSERT INTO t (x) VALUES (100)", [])?;
            panic!("a bug in a write");
        });
        let answers = in_one_batch(&dir, &writer, vec![insert(1), panics, insert(2)]);
        assert_eq!(writer.commits(), 1);
        assert!(answers[1].is_err(), "the panic reaches its caller");
        for i in [0, 2] {
            let (answer, seen) = answers[i].as_ref().unwrap();
            assert!(answer.is_ok(), "{answer:?}");
            assert_eq!(seen, &[1, 2]);
        }
        // The connection is still usable: nothing was poisoned or left open.
        assert_eq!(writer.write(insert(3)).unwrap(), 3);
        assert_eq!(writer.commits(), 2);
    }

    #[test]
    fn a_lone_write_commits_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let writer = open(&dir);
        for x in 1..=3 {
            writer.write(insert(x)).unwrap();
            assert_eq!(writer.commits(), x as u64);
        }
    }

    #[test]
    fn a_batch_holds_at_most_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let writer = open(&dir);
        let writes: Vec<Write> = (1..=PATIENT.writes_max as i64 + 6).map(insert).collect();
        let answers = in_one_batch(&dir, &writer, writes);
        assert!(answers.iter().all(|a| a.as_ref().unwrap().0.is_ok()));
        assert_eq!(writer.commits(), 2, "64 writes, then the other 6");
    }
}
