//! The read connections: a few read-only connections on the database file, each read a
//! transaction of its own on one of them. In WAL mode they read beside the writer, each
//! from the last commit before its read began, never from a batch still open.

use std::path::Path;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::store::StoreResult;

/// The fewest and the most read connections, whatever the cores.
pub(super) const READERS_MIN: usize = 2;
pub(super) const READERS_MAX: usize = 8;

/// Pages each read connection caches (16 MiB; the writer keeps 64): the file's pages are in
/// the operating system's cache too, shared by all.
const READER_CACHE_KIB: i64 = 16 * 1024;

/// Read-only connections, each lent to one read at a time.
pub(super) struct Readers {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

/// As many read connections as the machine has cores, within [`READERS_MIN`] and
/// [`READERS_MAX`].
pub(super) fn count() -> usize {
    std::thread::available_parallelism()
        .map_or(READERS_MIN, usize::from)
        .clamp(READERS_MIN, READERS_MAX)
}

impl Readers {
    /// Opens `count` read-only connections on the database at `path`, which the writer has
    /// opened, put in WAL mode and migrated.
    pub(super) fn open(path: &Path, count: usize) -> anyhow::Result<Self> {
        let idle = (0..count)
            .map(|_| {
                let conn = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .with_context(|| format!("opening {} to read", path.display()))?;
                conn.busy_timeout(Duration::from_secs(5))?;
                conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
                let mode: String =
                    conn.pragma_query_value(None, "journal_mode", |row| row.get(0))?;
                anyhow::ensure!(mode == "wal", "a read connection in {mode} mode, not WAL");
                Ok(conn)
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            idle: Mutex::new(idle),
            returned: Condvar::new(),
        })
    }

    /// Runs `f` in a read transaction on an idle connection, waiting for one if all are lent.
    pub(super) fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        let mut lent = Lent {
            readers: self,
            conn: Some(self.take()),
        };
        let Some(conn) = lent.conn.as_mut() else {
            unreachable!("a lent connection is held until dropped");
        };
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        f(&tx)
    }

    fn take(&self) -> Connection {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(conn) = idle.pop() {
                return conn;
            }
            idle = self
                .returned
                .wait(idle)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// A connection lent to one read, handed back when dropped (a panicking read included).
struct Lent<'a> {
    readers: &'a Readers,
    conn: Option<Connection>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.readers
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
            self.readers.returned.notify_one();
        }
    }
}
