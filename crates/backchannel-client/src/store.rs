//! A participant's home database, `HOME/store.sqlite`: the MLS state, each case's local
//! record and fold, every verified act, and the outbox of entries on their way to the hub.
//!
//! Nothing in it is readable without the home's storage key. Every value is sealed
//! (XChaCha20-Poly1305) with the table, the row's key and the identity bound in the
//! associated data, so a row cannot be moved to another row, table or home. What stays in
//! the clear is what the hub sees anyway — case ids, channel names, positions — plus each
//! act's chain hash and whether it is a message; MLS storage keys are replaced by a keyed
//! hash (HMAC-SHA-256). ARCHITECTURE.md says why this, and not SQLCipher.
//!
//! Every change is one [`Batch`], written in one transaction whose cost does not depend on
//! how long the case is. The outbox's batches are also synced to disk before the entry they
//! hold leaves the machine; the rest may be fetched again from the hub after a power loss.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use backchannel_core::act::{Digest32, SignedAct, VerifiedAct};
use backchannel_core::{CaseId, ChannelName, PublicKey};
use hmac::{Hmac, KeyInit as _, Mac as _};
use rusqlite::{Connection, OptionalExtension as _, params};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::ClientError;
use crate::vault;

pub const STORE_FILE: &str = "store.sqlite";
const FORMAT: i64 = 1;
const AAD_PREFIX: &[u8] = b"backchannel/home/v1";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS mls(id BLOB PRIMARY KEY, sealed BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cases(case_id BLOB PRIMARY KEY, sealed BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS acts(
    case_id BLOB NOT NULL,
    n INTEGER NOT NULL,
    channel TEXT NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    message INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY(case_id, n)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS acts_position ON acts(case_id, channel, idx);
CREATE INDEX IF NOT EXISTS acts_hash ON acts(case_id, hash);
CREATE INDEX IF NOT EXISTS acts_kind ON acts(case_id, message, n);
CREATE TABLE IF NOT EXISTS outbox(
    case_id BLOB NOT NULL,
    channel TEXT NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY(case_id, channel)
) WITHOUT ROWID;
";

fn sql_error(path: &Path, e: impl std::fmt::Display) -> ClientError {
    ClientError::Home {
        path: path.display().to_string(),
        why: format!("its store failed: {e}"),
    }
}

/// An act as stored: the hub's sequence number and the act, verified when it arrived.
#[derive(Clone, Debug)]
pub struct StoredAct {
    pub seq: u64,
    pub act: VerifiedAct,
}

/// An act to append to a case's log.
pub struct NewAct {
    pub case: CaseId,
    /// Its position in this participant's log of the case, from 1.
    pub n: u64,
    pub seq: u64,
    pub act: VerifiedAct,
}

/// Everything one step changes, written in one transaction.
#[derive(Default)]
pub struct Batch {
    /// MLS storage entries: a value to write, or `None` to delete.
    pub mls: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// Cases' local records, whole (each is the size of the procedure, not of the log).
    pub cases: Vec<(CaseId, Vec<u8>)>,
    pub acts: Vec<NewAct>,
    /// Outbox slots: an entry to keep, or `None` to clear the slot.
    pub outbox: Vec<(CaseId, ChannelName, Option<Vec<u8>>)>,
    /// Cases to forget entirely.
    pub forget: Vec<CaseId>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.mls.is_empty()
            && self.cases.is_empty()
            && self.acts.is_empty()
            && self.outbox.is_empty()
            && self.forget.is_empty()
    }
}

/// Which acts of a case to read.
#[derive(Clone, Copy, Debug, Default)]
pub struct Filter<'a> {
    pub channel: Option<&'a ChannelName>,
    /// Only acts other than messages (the procedure's acts, which are few).
    pub procedural: bool,
    /// Only the last this many.
    pub last: Option<u64>,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    seal_key: Zeroizing<[u8; 32]>,
    id_key: Zeroizing<[u8; 32]>,
    me: PublicKey,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.path.display())
    }
}

/// HMAC-SHA-256 of `data` under a 32-byte key: the storage key's subkeys, and row ids.
fn mac(key: &[u8; 32], data: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    // HMAC takes keys of any length, so a 32-byte key is never refused.
    if let Ok(mut mac) = <Hmac<Sha256>>::new_from_slice(key) {
        mac.update(data);
        out.copy_from_slice(&mac.finalize().into_bytes());
    }
    out
}

fn case_key(case: &CaseId, n: u64) -> Vec<u8> {
    let mut key = case.0.to_vec();
    key.extend_from_slice(&n.to_be_bytes());
    key
}

impl Store {
    /// Opens (creating if needed, owner-only) the store in `dir`.
    pub fn open(dir: &Path, storage_key: &[u8; 32], me: PublicKey) -> Result<Self, ClientError> {
        let path = dir.join(STORE_FILE);
        vault::create_private_file(&path).map_err(|e| sql_error(&path, e))?;
        let conn = Connection::open(&path).map_err(|e| sql_error(&path, e))?;
        // A checkpoint copies the log into the database and syncs both, on the committing
        // thread: every 8,192 pages (32 MiB) rather than SQLite's 1,000, since each send
        // rewrites the same few pages (its case's record, its group's ratchet) and a later
        // checkpoint copies each of them once. A page cache of up to 16 MiB (SQLite's default
        // is 2 MiB) keeps the indexes' inner pages of a large case in memory, filled only as
        // they are read.
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;
             PRAGMA wal_autocheckpoint=8192; PRAGMA cache_size=-16384;",
        )
        .map_err(|e| sql_error(&path, e))?;
        conn.execute_batch(SCHEMA)
            .map_err(|e| sql_error(&path, e))?;
        let format: Option<i64> = conn
            .query_row("SELECT value FROM meta WHERE name = 'format'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| sql_error(&path, e))?;
        match format {
            None => {
                conn.execute(
                    "INSERT INTO meta(name, value) VALUES ('format', ?1)",
                    [FORMAT],
                )
                .map_err(|e| sql_error(&path, e))?;
            }
            Some(FORMAT) => {}
            Some(other) => {
                return Err(ClientError::Home {
                    path: dir.display().to_string(),
                    why: format!("its store is of format {other}, which this build does not read"),
                });
            }
        }
        // The write-ahead log exists from the first read; its name is made durable here, so
        // that syncing the log alone (`Store::log_syncer`) makes a commit durable.
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| ClientError::Home {
                path: dir.display().to_string(),
                why: format!("its folder cannot be synced: {e}"),
            })?;
        Ok(Self {
            conn,
            seal_key: mac(storage_key, b"backchannel/home/seal"),
            id_key: mac(storage_key, b"backchannel/home/row-id"),
            path,
            me,
        })
    }

    fn aad(&self, table: &str, row: &[u8]) -> Vec<u8> {
        let mut aad = AAD_PREFIX.to_vec();
        aad.extend_from_slice(table.as_bytes());
        aad.push(0);
        aad.extend_from_slice(&(row.len() as u64).to_be_bytes());
        aad.extend_from_slice(row);
        aad.extend_from_slice(&self.me.0);
        aad
    }

    fn seal(&self, table: &str, row: &[u8], plain: &[u8]) -> Vec<u8> {
        vault::seal_with(&self.seal_key, &self.aad(table, row), plain)
    }

    fn open_row(&self, table: &str, row: &[u8], sealed: &[u8]) -> Result<Vec<u8>, ClientError> {
        vault::open_with(&self.seal_key, &self.aad(table, row), sealed).ok_or_else(|| {
            ClientError::Home {
                path: self.path.display().to_string(),
                why: format!("a row of its {table} table does not open: it was altered or moved"),
            }
        })
    }

    fn mls_id(&self, key: &[u8]) -> Vec<u8> {
        mac(&self.id_key, key).to_vec()
    }

    fn err(&self, e: impl std::fmt::Display) -> ClientError {
        sql_error(&self.path, e)
    }

    /// Every MLS storage entry, by its key.
    pub fn mls_entries(&self) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, ClientError> {
        let mut statement = self
            .conn
            .prepare("SELECT id, sealed FROM mls")
            .map_err(|e| self.err(e))?;
        let rows = statement
            .query_map([], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(|e| self.err(e))?;
        let mut entries = BTreeMap::new();
        for row in rows {
            let (id, sealed) = row.map_err(|e| self.err(e))?;
            let plain = self.open_row("mls", &id, &sealed)?;
            let (key, value) = split_pair(&plain).ok_or_else(|| self.err("a malformed MLS row"))?;
            if self.mls_id(key) != id {
                return Err(self.err("an MLS row under another entry's id"));
            }
            entries.insert(key.to_vec(), value.to_vec());
        }
        Ok(entries)
    }

    /// Every case's local record.
    pub fn cases(&self) -> Result<Vec<(CaseId, Vec<u8>)>, ClientError> {
        let mut statement = self
            .conn
            .prepare("SELECT case_id, sealed FROM cases")
            .map_err(|e| self.err(e))?;
        let rows = statement
            .query_map([], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(|e| self.err(e))?;
        let mut cases = Vec::new();
        for row in rows {
            let (id, sealed) = row.map_err(|e| self.err(e))?;
            let case = CaseId(
                id.as_slice()
                    .try_into()
                    .map_err(|_| self.err("a case id of the wrong length"))?,
            );
            cases.push((case, self.open_row("cases", &id, &sealed)?));
        }
        Ok(cases)
    }

    /// One case's local record, if held.
    pub fn case(&self, case: &CaseId) -> Result<Option<Vec<u8>>, ClientError> {
        let sealed: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT sealed FROM cases WHERE case_id = ?1")
            .and_then(|mut s| s.query_row([case.0.to_vec()], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))?;
        sealed
            .map(|sealed| self.open_row("cases", &case.0, &sealed))
            .transpose()
    }

    fn stored_act(&self, case: &CaseId, n: u64, sealed: &[u8]) -> Result<StoredAct, ClientError> {
        let plain = self.open_row("acts", &case_key(case, n), sealed)?;
        let (seq, signed) = plain
            .split_first_chunk::<8>()
            .ok_or_else(|| self.err("a malformed act row"))?;
        let signed: SignedAct =
            serde_json::from_slice(signed).map_err(|_| self.err("a malformed act row"))?;
        let act = signed
            .reread()
            .map_err(|e| self.err(format!("a stored act does not parse: {e}")))?;
        Ok(StoredAct {
            seq: u64::from_be_bytes(*seq),
            act,
        })
    }

    fn query_acts(
        &self,
        case: &CaseId,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<StoredAct>, ClientError> {
        let mut statement = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = statement
            .query_map(args, |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
            .map_err(|e| self.err(e))?;
        let mut acts = Vec::new();
        for row in rows {
            let (n, sealed) = row.map_err(|e| self.err(e))?;
            acts.push(self.stored_act(case, n as u64, &sealed)?);
        }
        Ok(acts)
    }

    /// The acts of a case that pass `filter`, in log order.
    pub fn acts(&self, case: &CaseId, filter: Filter<'_>) -> Result<Vec<StoredAct>, ClientError> {
        let mut sql = String::from("SELECT n, sealed FROM acts WHERE case_id = ?1");
        if filter.channel.is_some() {
            sql.push_str(" AND channel = ?2");
        }
        if filter.procedural {
            sql.push_str(" AND message = 0");
        }
        sql.push_str(" ORDER BY n DESC");
        if let Some(last) = filter.last {
            sql.push_str(&format!(" LIMIT {last}"));
        }
        let id = case.0.to_vec();
        let channel = filter.channel.map(ToString::to_string);
        let mut acts = match &channel {
            Some(channel) => self.query_acts(case, &sql, &[&id, channel])?,
            None => self.query_acts(case, &sql, &[&id])?,
        };
        acts.reverse();
        Ok(acts)
    }

    /// The act at `index` of `channel`, if held.
    pub fn act_at(
        &self,
        case: &CaseId,
        channel: &ChannelName,
        index: u64,
    ) -> Result<Option<StoredAct>, ClientError> {
        Ok(self
            .query_acts(
                case,
                "SELECT n, sealed FROM acts WHERE case_id = ?1 AND channel = ?2 AND idx = ?3",
                &[&case.0.to_vec(), &channel.to_string(), &(index as i64)],
            )?
            .pop())
    }

    /// The act with this chain hash, if held.
    pub fn act_by_hash(
        &self,
        case: &CaseId,
        hash: &Digest32,
    ) -> Result<Option<StoredAct>, ClientError> {
        Ok(self
            .query_acts(
                case,
                "SELECT n, sealed FROM acts WHERE case_id = ?1 AND hash = ?2",
                &[&case.0.to_vec(), &hash.0.to_vec()],
            )?
            .pop())
    }

    /// The hash of the act at `index` of `channel`, without opening it.
    pub fn hash_at(
        &self,
        case: &CaseId,
        channel: &ChannelName,
        index: u64,
    ) -> Result<Option<Digest32>, ClientError> {
        let hash: Option<Vec<u8>> = self
            .conn
            .prepare_cached(
                "SELECT hash FROM acts WHERE case_id = ?1 AND channel = ?2 AND idx = ?3",
            )
            .and_then(|mut s| {
                s.query_row(
                    params![case.0.to_vec(), channel.to_string(), index as i64],
                    |r| r.get(0),
                )
                .optional()
            })
            .map_err(|e| self.err(e))?;
        hash.map(|h| {
            h.as_slice()
                .try_into()
                .map(Digest32)
                .map_err(|_| self.err("a hash of the wrong length"))
        })
        .transpose()
    }

    /// The hashes of the acts at `from + 1 ..` of `channel`, in order, at most `limit`, up to
    /// the first position this copy does not hold.
    pub fn hashes_from(
        &self,
        case: &CaseId,
        channel: &ChannelName,
        from: u64,
        limit: usize,
    ) -> Result<Vec<Digest32>, ClientError> {
        let rows: Vec<(i64, Vec<u8>)> = self
            .conn
            .prepare_cached(
                "SELECT idx, hash FROM acts WHERE case_id = ?1 AND channel = ?2 AND idx > ?3
                 ORDER BY idx LIMIT ?4",
            )
            .and_then(|mut s| {
                s.query_map(
                    params![
                        case.0.to_vec(),
                        channel.to_string(),
                        from as i64,
                        limit as i64
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?
                .collect()
            })
            .map_err(|e| self.err(e))?;
        let mut hashes = Vec::with_capacity(rows.len());
        for (i, (idx, hash)) in rows.into_iter().enumerate() {
            if idx as u64 != from + 1 + i as u64 {
                break;
            }
            let hash: [u8; 32] = hash
                .as_slice()
                .try_into()
                .map_err(|_| self.err("a hash of the wrong length"))?;
            hashes.push(Digest32(hash));
        }
        Ok(hashes)
    }

    /// The entry waiting in a case's outbox for `channel`, if any.
    pub fn outbox(
        &self,
        case: &CaseId,
        channel: &ChannelName,
    ) -> Result<Option<Vec<u8>>, ClientError> {
        let sealed: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT sealed FROM outbox WHERE case_id = ?1 AND channel = ?2")
            .and_then(|mut s| {
                s.query_row(params![case.0.to_vec(), channel.to_string()], |r| r.get(0))
                    .optional()
            })
            .map_err(|e| self.err(e))?;
        sealed
            .map(|sealed| self.open_row("outbox", &outbox_key(case, channel), &sealed))
            .transpose()
    }

    /// The channels of a case whose outbox slot holds an entry.
    pub fn outbox_channels(&self, case: &CaseId) -> Result<Vec<ChannelName>, ClientError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT channel FROM outbox WHERE case_id = ?1 ORDER BY channel")
            .map_err(|e| self.err(e))?;
        let names = statement
            .query_map([case.0.to_vec()], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        let mut channels = Vec::new();
        for name in names {
            let name = name.map_err(|e| self.err(e))?;
            channels.push(
                ChannelName::parse(&name).ok_or_else(|| {
                    self.err(format!("an outbox slot for a bad channel {name:?}"))
                })?,
            );
        }
        Ok(channels)
    }

    /// What syncs to disk everything committed so far, to run on another thread: an fsync of
    /// the write-ahead log, which holds every commit not yet checkpointed (a checkpoint syncs
    /// the log before it copies it). A commit made with `durable: false` reaches the operating
    /// system at once, so it survives a killed process; this makes it survive a power loss.
    pub fn log_syncer(&self) -> impl FnOnce() -> std::io::Result<()> + Send + 'static {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        move || {
            std::fs::OpenOptions::new()
                .write(true)
                .open(PathBuf::from(wal))?
                .sync_data()
        }
    }

    /// Writes a batch in one transaction; `durable` syncs it to disk before returning.
    pub fn commit(&mut self, batch: &Batch, durable: bool) -> Result<(), ClientError> {
        if batch.is_empty() {
            return Ok(());
        }
        let sealed_mls: Vec<(Vec<u8>, Option<Vec<u8>>)> = batch
            .mls
            .iter()
            .map(|(key, value)| {
                let id = self.mls_id(key);
                let sealed = value
                    .as_ref()
                    .map(|value| self.seal("mls", &id, &join_pair(key, value)));
                (id, sealed)
            })
            .collect();
        let sealed_cases: Vec<(Vec<u8>, Vec<u8>)> = batch
            .cases
            .iter()
            .map(|(case, plain)| (case.0.to_vec(), self.seal("cases", &case.0, plain)))
            .collect();
        let sealed_acts: Vec<(&NewAct, Vec<u8>)> = batch
            .acts
            .iter()
            .map(|new| {
                let mut plain = new.seq.to_be_bytes().to_vec();
                plain.extend_from_slice(&new.act.signed.to_bytes());
                (new, self.seal("acts", &case_key(&new.case, new.n), &plain))
            })
            .collect();
        let sealed_outbox: Vec<(&CaseId, String, Option<Vec<u8>>)> = batch
            .outbox
            .iter()
            .map(|(case, channel, entry)| {
                let sealed = entry
                    .as_ref()
                    .map(|entry| self.seal("outbox", &outbox_key(case, channel), entry));
                (case, channel.to_string(), sealed)
            })
            .collect();
        let path = self.path.clone();
        let err = |e: rusqlite::Error| sql_error(&path, e);
        if durable {
            execute(&self.conn, "PRAGMA synchronous=FULL", []).map_err(err)?;
        }
        let tx = self.conn.transaction().map_err(err)?;
        for case in &batch.forget {
            for table in ["cases", "acts", "outbox"] {
                execute(
                    &tx,
                    &format!("DELETE FROM {table} WHERE case_id = ?1"),
                    [case.0.to_vec()],
                )
                .map_err(err)?;
            }
        }
        for (id, sealed) in &sealed_mls {
            match sealed {
                Some(sealed) => execute(
                    &tx,
                    "INSERT OR REPLACE INTO mls(id, sealed) VALUES (?1, ?2)",
                    params![id, sealed],
                ),
                None => execute(&tx, "DELETE FROM mls WHERE id = ?1", [id]),
            }
            .map_err(err)?;
        }
        for (id, sealed) in &sealed_cases {
            execute(
                &tx,
                "INSERT OR REPLACE INTO cases(case_id, sealed) VALUES (?1, ?2)",
                params![id, sealed],
            )
            .map_err(err)?;
        }
        for (new, sealed) in &sealed_acts {
            let act = &new.act.act;
            execute(
                &tx,
                "INSERT INTO acts(case_id, n, channel, idx, hash, message, sealed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    new.case.0.to_vec(),
                    new.n as i64,
                    act.channel.to_string(),
                    act.index as i64,
                    new.act.hash.0.to_vec(),
                    matches!(act.body, backchannel_core::ActBody::Message { .. }),
                    sealed
                ],
            )
            .map_err(err)?;
        }
        for (case, channel, sealed) in &sealed_outbox {
            match sealed {
                Some(sealed) => execute(
                    &tx,
                    "INSERT OR REPLACE INTO outbox(case_id, channel, sealed) VALUES (?1, ?2, ?3)",
                    params![case.0.to_vec(), channel, sealed],
                ),
                None => execute(
                    &tx,
                    "DELETE FROM outbox WHERE case_id = ?1 AND channel = ?2",
                    params![case.0.to_vec(), channel],
                ),
            }
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        if durable {
            execute(&self.conn, "PRAGMA synchronous=NORMAL", []).map_err(err)?;
        }
        Ok(())
    }
}

/// Runs one statement through the connection's statement cache: a commit runs the same few
/// statements every time, and parsing them again cost more than running them.
fn execute(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

fn outbox_key(case: &CaseId, channel: &ChannelName) -> Vec<u8> {
    let mut key = case.0.to_vec();
    key.extend_from_slice(channel.to_string().as_bytes());
    key
}

fn join_pair(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + key.len() + value.len());
    out.extend_from_slice(&(key.len() as u64).to_be_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(value);
    out
}

fn split_pair(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_first_chunk::<8>()?;
    let len = usize::try_from(u64::from_be_bytes(*len)).ok()?;
    (len <= rest.len()).then(|| rest.split_at(len))
}
