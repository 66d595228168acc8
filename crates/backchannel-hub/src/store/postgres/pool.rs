//! The connections of one hub process to its PostgreSQL database: a small pool, each
//! connection opened on demand (again after the server closed it), and each statement prepared
//! once per connection. A statement sent as text is parsed, planned and described by the server
//! before it runs, a round trip of its own: a post runs about ten statements, so preparing them
//! once halves the round trips a request costs.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use postgres::types::ToSql;
use postgres::{Client, Config, IsolationLevel, NoTls, Row, Statement, Transaction};

use crate::error::ApiError;
use crate::store::StoreResult;

/// How long a request waits for a free connection before it fails.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long opening a connection may take, unless the URL says (`connect_timeout`).
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection and the statements prepared on it, by their text.
pub(super) struct Conn {
    client: Client,
    prepared: HashMap<&'static str, Statement>,
}

impl Conn {
    pub(super) fn new(client: Client) -> Self {
        Self {
            client,
            prepared: HashMap::new(),
        }
    }

    pub(super) fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// A `READ COMMITTED` transaction on this connection.
    pub(super) fn transaction(&mut self) -> Result<Tx<'_>, postgres::Error> {
        begin(self, false)
    }

    /// Runs one statement outside any transaction, prepared once.
    fn execute(&mut self, sql: &'static str, params: Params) -> Result<u64, postgres::Error> {
        let statement = prepared(&mut self.prepared, sql, |sql| self.client.prepare(sql))?;
        self.client.execute(&statement, params)
    }
}

/// A transaction whose statements are prepared once per connection. Its methods are the
/// `postgres` transaction's, for statements written in the code (`&'static str`).
pub(super) struct Tx<'a> {
    tx: Transaction<'a>,
    prepared: &'a mut HashMap<&'static str, Statement>,
}

type Params<'p> = &'p [&'p (dyn ToSql + Sync)];

impl Tx<'_> {
    pub(super) fn commit(self) -> Result<(), postgres::Error> {
        self.tx.commit()
    }

    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        prepared(self.prepared, sql, |sql| self.tx.prepare(sql))
    }

    pub(super) fn execute(
        &mut self,
        sql: &'static str,
        params: Params,
    ) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.execute(&statement, params)
    }

    pub(super) fn query(
        &mut self,
        sql: &'static str,
        params: Params,
    ) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.query(&statement, params)
    }

    pub(super) fn query_one(
        &mut self,
        sql: &'static str,
        params: Params,
    ) -> Result<Row, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.query_one(&statement, params)
    }

    pub(super) fn query_opt(
        &mut self,
        sql: &'static str,
        params: Params,
    ) -> Result<Option<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.query_opt(&statement, params)
    }
}

/// The statement `sql` as its connection prepared it: from `cache`, or prepared now by
/// `prepare` and kept.
fn prepared(
    cache: &mut HashMap<&'static str, Statement>,
    sql: &'static str,
    prepare: impl FnOnce(&str) -> Result<Statement, postgres::Error>,
) -> Result<Statement, postgres::Error> {
    if let Some(statement) = cache.get(sql) {
        return Ok(statement.clone());
    }
    let statement = prepare(sql)?;
    cache.insert(sql, statement.clone());
    Ok(statement)
}

/// Up to a fixed number of connections; a slot holding `None` is one yet to be (re)opened.
pub(super) struct Pool {
    config: Config,
    idle: Mutex<Vec<Option<Conn>>>,
    freed: Condvar,
}

impl Pool {
    /// A pool of `size` slots (at least one), `first` in one of them.
    pub(super) fn new(config: Config, size: usize, first: Client) -> Self {
        let mut idle: Vec<Option<Conn>> = (1..size.max(1)).map(|_| None).collect();
        idle.push(Some(Conn::new(first)));
        Self {
            config,
            idle: Mutex::new(idle),
            freed: Condvar::new(),
        }
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Option<Conn>>> {
        // The lock guards a plain vector and nothing panics while holding it.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes every connection out, to be closed by the caller.
    pub(super) fn drain(&self) -> Vec<Option<Conn>> {
        std::mem::take(&mut *self.idle())
    }

    /// A connection from the pool, opened (again) if its slot has none or it has closed.
    fn checkout(&self) -> StoreResult<Pooled<'_>> {
        let deadline = Instant::now() + CHECKOUT_TIMEOUT;
        let mut idle = self.idle();
        let slot = loop {
            if let Some(slot) = idle.pop() {
                break slot;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ApiError::TooBusy);
            }
            idle = self
                .freed
                .wait_timeout(idle, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        };
        drop(idle);
        let (conn, reused) = match slot {
            Some(conn) if !conn.client.is_closed() => (conn, true),
            _ => match open(&self.config) {
                Ok(client) => (Conn::new(client), false),
                Err(error) => {
                    self.give_back(None);
                    return Err(error.into());
                }
            },
        };
        Ok(Pooled {
            pool: self,
            conn: Some(conn),
            reused,
        })
    }

    fn give_back(&self, slot: Option<Conn>) {
        self.idle().push(slot);
        self.freed.notify_one();
    }

    /// Runs `f` in a transaction on a pooled connection (`REPEATABLE READ, READ ONLY` when
    /// `read_only`, else `READ COMMITTED`), committed only when `f` succeeds.
    pub(super) fn transaction<T>(
        &self,
        read_only: bool,
        f: impl FnOnce(&mut Tx<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut pooled = self.checkout()?;
        let error = match begin(pooled.conn()?, read_only) {
            Ok(tx) => return run(tx, f),
            Err(error) => error,
        };
        self.reopen(&mut pooled, error)?;
        run(begin(pooled.conn()?, read_only)?, f)
    }

    /// Runs one statement on its own, committed as it runs: no `BEGIN` and `COMMIT` round
    /// trips, for a write that needs no other statement's view.
    pub(super) fn execute_alone(&self, sql: &'static str, params: Params) -> StoreResult<u64> {
        let mut pooled = self.checkout()?;
        let error = match pooled.conn()?.execute(sql, params) {
            Ok(rows) => return Ok(rows),
            Err(error) => error,
        };
        self.reopen(&mut pooled, error)?;
        Ok(pooled.conn()?.execute(sql, params)?)
    }

    /// After the first statement on `pooled` failed with `error`: a pooled connection the
    /// server has closed since (a restart of the database) fails before anything is done, so
    /// it is replaced and the caller runs its work once more on the new one, and a restart
    /// costs no request. Any other failure is the caller's answer.
    fn reopen(&self, pooled: &mut Pooled<'_>, error: postgres::Error) -> StoreResult<()> {
        if !(pooled.reused && connection_lost(&error)) {
            return Err(error.into());
        }
        tracing::info!(%error, "a pooled PostgreSQL connection was closed; opening another");
        pooled.conn = Some(Conn::new(open(&self.config)?));
        Ok(())
    }
}

/// Runs `f` in `tx`, then commits it.
fn run<T>(mut tx: Tx<'_>, f: impl FnOnce(&mut Tx<'_>) -> StoreResult<T>) -> StoreResult<T> {
    let value = f(&mut tx)?;
    tx.commit()?;
    Ok(value)
}

/// Opens a connection, with the timeouts every connection of the hub runs under: no
/// statement may run longer than 30 seconds, nor a transaction sit idle longer than 60.
pub(super) fn open(config: &Config) -> Result<Client, postgres::Error> {
    let mut client = config.connect(NoTls)?;
    client.batch_execute(
        "SET statement_timeout = '30s'; SET idle_in_transaction_session_timeout = '60s'",
    )?;
    Ok(client)
}

fn begin(conn: &mut Conn, read_only: bool) -> Result<Tx<'_>, postgres::Error> {
    let tx = if read_only {
        conn.client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?
    } else {
        conn.client.transaction()?
    };
    Ok(Tx {
        tx,
        prepared: &mut conn.prepared,
    })
}

/// Whether `error` says the connection is gone (closed, reset, or ended by the server's
/// shutdown) rather than that a statement failed.
pub(crate) fn connection_lost(error: &postgres::Error) -> bool {
    match error.as_db_error() {
        None => true,
        Some(db) => {
            let code = db.code().code();
            code.starts_with("08") || code.starts_with("57P")
        }
    }
}

/// A connection checked out of the pool; it goes back when dropped.
struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    /// Whether it served earlier requests (and so may have been closed by the server since).
    reused: bool,
}

impl Pooled<'_> {
    fn conn(&mut self) -> StoreResult<&mut Conn> {
        self.conn
            .as_mut()
            .ok_or_else(|| ApiError::internal("storage: connection already returned"))
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        self.pool.give_back(self.conn.take());
    }
}
