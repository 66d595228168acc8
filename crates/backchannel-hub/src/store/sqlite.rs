//! The SQLite backend, for one hub process: one file in WAL mode, migrated at open. Every
//! write is a closure run in an `IMMEDIATE` transaction on the one write connection, so its
//! checks and writes see one state; writes that arrive together share a transaction and its
//! commit (group commit, `sqlite/commit.rs`), and nobody is answered before that commit.
//! Reads run on a few read-only connections beside the writer (`sqlite/readers.rs`), each in
//! a read transaction of its own.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use backchannel_core::api::{
    Blob, ChannelInfo, ChannelKind, Entries, Entry, EntryKind, MAX_KEY_PACKAGES, Member,
    MemberRole, Welcome,
};
use backchannel_core::{CaseId, HubChannel, PublicKey};
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    Accepted, Backend, KeyPackageBody, KeyStock, NewEntry, NewInvite, Stats, StoreResult,
    channel_kind_from, channel_kind_text, entry_kind_from, entry_kind_text, hub_channel_from,
    joined, role_from, role_text,
};
use crate::database::Durability;
use crate::error::ApiError;
use crate::replay::NonceWindow;

mod commit;
mod readers;
mod schema;
mod witness;

/// A hub database in one SQLite file.
pub struct Sqlite {
    /// The read connections of a file; `None` in memory, where reads use the writer. Declared
    /// first so that they close first and the writer, closing last, checkpoints the WAL.
    readers: Option<readers::Readers>,
    writer: commit::Writer,
    /// Replay protection, beside the database: one process owns the file.
    nonces: NonceWindow,
}

impl Sqlite {
    /// Opens (creating if needed) and migrates the database at `path`, with
    /// [`Durability::Normal`].
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Self::open_with(path, Durability::Normal)
    }

    /// Opens (creating if needed) and migrates the database at `path`, with one read
    /// connection per core (at least 2, at most 8).
    pub fn open_with(path: &Path, durability: Durability) -> anyhow::Result<Self> {
        Self::open_with_readers(path, durability, readers::count())
    }

    /// As [`Sqlite::open_with`], with `readers` read connections (at least one).
    pub fn open_with_readers(
        path: &Path,
        durability: Durability,
        readers: usize,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(readers > 0, "a SQLite hub needs a read connection");
        let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut log = path.as_os_str().to_owned();
        log.push("-nonces");
        let nonces = NonceWindow::open(Path::new(&log))?;
        let writer = Self::setup(conn, durability)?;
        Ok(Self {
            readers: Some(readers::Readers::open(path, readers)?),
            writer: commit::Writer::new(writer, Some(commit::BATCHING)),
            nonces,
        })
    }

    /// A private in-memory database, for tests: one connection, each write committed alone.
    pub fn open_in_memory() -> anyhow::Result<Self> {
        let conn = Self::setup(Connection::open_in_memory()?, Durability::Normal)?;
        Ok(Self {
            readers: None,
            writer: commit::Writer::new(conn, None),
            nonces: NonceWindow::in_memory(),
        })
    }

    /// The write connection, set up and migrated.
    fn setup(mut conn: Connection, durability: Durability) -> anyhow::Result<Connection> {
        conn.busy_timeout(Duration::from_secs(5))?;
        let _mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        let synchronous = match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", synchronous)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Up to 64 MiB of pages cached (SQLite's default is 2 MiB), filled only as read: the
        // inner pages of every index of a large hub stay in memory.
        conn.pragma_update(None, "cache_size", -65536)?;
        schema::migrate(&mut conn)?;
        Ok(conn)
    }

    /// The write connection, outside any transaction's bookkeeping (tests).
    #[cfg(test)]
    fn lock(&self) -> StoreResult<std::sync::MutexGuard<'_, commit::State>> {
        self.writer.lock()
    }

    /// Runs `f` in an immediate transaction, shared with the writes queued beside it, in a
    /// savepoint of its own: kept when `f` succeeds, rolled back alone when it fails. Returns
    /// once the transaction is committed, or with why it was not.
    fn write<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        self.writer.write(f)
    }

    /// Runs `f` in a read transaction, so that it sees one state: on a read connection, or on
    /// the writer in memory.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
        match &self.readers {
            Some(readers) => readers.read(f),
            None => self.writer.read(f),
        }
    }
}

/// A channel row.
struct ChannelRow {
    id: i64,
    kind: ChannelKind,
    head: u64,
}

fn case_exists(conn: &Connection, case: &CaseId) -> StoreResult<bool> {
    Ok(conn
        .query_row("SELECT 1 FROM cases WHERE case_id = ?1", [case.0], |_| {
            Ok(())
        })
        .optional()?
        .is_some())
}

fn role_of(conn: &Connection, case: &CaseId, key: &PublicKey) -> StoreResult<Option<MemberRole>> {
    let role: Option<String> = conn
        .query_row(
            "SELECT role FROM members WHERE case_id = ?1 AND key = ?2",
            params![case.0, key.0],
            |row| row.get(0),
        )
        .optional()?;
    role.as_deref().map(role_from).transpose()
}

/// The caller's role; `case_not_found` or `not_member` otherwise.
fn require_member(conn: &Connection, case: &CaseId, caller: &PublicKey) -> StoreResult<MemberRole> {
    match role_of(conn, case, caller)? {
        Some(role) => Ok(role),
        None if case_exists(conn, case)? => Err(ApiError::NotMember),
        None => Err(ApiError::CaseNotFound),
    }
}

fn require_mediator(conn: &Connection, case: &CaseId, caller: &PublicKey) -> StoreResult<()> {
    match require_member(conn, case, caller)? {
        MemberRole::Mediator => Ok(()),
        _ => Err(ApiError::Forbidden),
    }
}

fn channel_row(
    conn: &Connection,
    case: &CaseId,
    channel: &HubChannel,
) -> StoreResult<Option<ChannelRow>> {
    let row: Option<(i64, String, u64)> = conn
        .query_row(
            "SELECT id, kind, head FROM channels WHERE case_id = ?1 AND name = ?2",
            params![case.0, channel.as_str()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    row.map(|(id, kind, head)| {
        Ok(ChannelRow {
            id,
            kind: channel_kind_from(&kind)?,
            head,
        })
    })
    .transpose()
}

fn is_channel_member(conn: &Connection, channel_id: i64, key: &PublicKey) -> StoreResult<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM channel_members WHERE channel_id = ?1 AND key = ?2",
            params![channel_id, key.0],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn channel_members(conn: &Connection, channel_id: i64) -> StoreResult<Vec<PublicKey>> {
    let mut stmt = conn
        .prepare_cached("SELECT key FROM channel_members WHERE channel_id = ?1 ORDER BY rowid")?;
    let keys = stmt.query_map([channel_id], |row| row.get::<_, [u8; 32]>(0))?;
    Ok(keys
        .map(|key| key.map(PublicKey))
        .collect::<Result<_, _>>()?)
}

/// The channel, provided the caller is a member of the case and of the channel.
fn member_channel(
    conn: &Connection,
    case: &CaseId,
    channel: &HubChannel,
    caller: &PublicKey,
) -> StoreResult<(MemberRole, ChannelRow)> {
    let role = require_member(conn, case, caller)?;
    let row = channel_row(conn, case, channel)?.ok_or(ApiError::ChannelNotFound)?;
    if !is_channel_member(conn, row.id, caller)? {
        return Err(ApiError::NotMember);
    }
    Ok((role, row))
}

fn add_channel_member(conn: &Connection, channel_id: i64, key: &PublicKey) -> StoreResult<()> {
    conn.prepare_cached("INSERT INTO channel_members (channel_id, key) VALUES (?1, ?2)")?
        .execute(params![channel_id, key.0])?;
    Ok(())
}

fn insert_channel(
    conn: &Connection,
    case: &CaseId,
    channel: &HubChannel,
    kind: ChannelKind,
) -> StoreResult<i64> {
    conn.prepare_cached("INSERT INTO channels (case_id, name, kind) VALUES (?1, ?2, ?3)")?
        .execute(params![case.0, channel.as_str(), channel_kind_text(kind)])?;
    Ok(conn.last_insert_rowid())
}

/// An invite row.
struct InviteRow {
    role: String,
    used: bool,
    expires_ms: Option<u64>,
    revoked_ms: Option<u64>,
}

fn invite_row(conn: &Connection, case: &CaseId, code_hash: &str) -> StoreResult<Option<InviteRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT role, used_by IS NOT NULL, expires_ms, revoked_ms FROM invites
             WHERE case_id = ?1 AND code_hash = ?2",
        )?
        .query_row(params![case.0, code_hash], |row| {
            Ok(InviteRow {
                role: row.get(0)?,
                used: row.get(1)?,
                expires_ms: row.get(2)?,
                revoked_ms: row.get(3)?,
            })
        })
        .optional()?)
}

fn count(conn: &Connection, sql: &str) -> StoreResult<u64> {
    Ok(conn.query_row(sql, [], |row| row.get(0))?)
}

impl Backend for Sqlite {
    fn record_nonce(
        &self,
        key: &PublicKey,
        nonce: &[u8; 16],
        ts_ms: u64,
        now_ms: u64,
    ) -> StoreResult<bool> {
        self.nonces.record(key, nonce, ts_ms, now_ms)
    }

    fn replay_window(&self) -> Option<&NonceWindow> {
        Some(&self.nonces)
    }

    fn create_case(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        now_ms: u64,
        max_cases: u64,
    ) -> StoreResult<()> {
        self.write(|conn| {
            if case_exists(conn, case)? {
                return Err(ApiError::CaseExists);
            }
            let created: u64 = conn
                .prepare_cached("SELECT COUNT(*) FROM members WHERE key = ?1 AND role = ?2")?
                .query_row(params![caller.0, role_text(MemberRole::Mediator)], |row| {
                    row.get(0)
                })?;
            if created >= max_cases {
                return Err(ApiError::CaseQuota { max: max_cases });
            }
            conn.prepare_cached("INSERT INTO cases (case_id, created_ms) VALUES (?1, ?2)")?
                .execute(params![case.0, now_ms])?;
            conn.prepare_cached(
                "INSERT INTO members (case_id, key, role, joined_ms) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                case.0,
                caller.0,
                role_text(MemberRole::Mediator),
                now_ms
            ])?;
            let public = insert_channel(conn, case, &HubChannel::public(), ChannelKind::Sealed)?;
            add_channel_member(conn, public, caller)
        })
    }

    fn create_invite(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        invite: &NewInvite,
        now_ms: u64,
        max_invites: u64,
    ) -> StoreResult<()> {
        self.write(|conn| {
            require_mediator(conn, case, caller)?;
            let held: u64 = conn
                .prepare_cached("SELECT COUNT(*) FROM invites WHERE case_id = ?1")?
                .query_row([case.0], |row| row.get(0))?;
            if held >= max_invites {
                return Err(ApiError::InviteQuota { max: max_invites });
            }
            let inserted = conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO invites
                     (case_id, code_hash, role, created_ms, expires_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    case.0,
                    invite.code_hash,
                    role_text(invite.role),
                    now_ms,
                    invite.expires_ms
                ])?;
            if inserted == 0 {
                return Err(ApiError::InviteExists);
            }
            Ok(())
        })
    }

    fn join(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        code_hash: &str,
        sealed_name: &[u8],
        now_ms: u64,
    ) -> StoreResult<Member> {
        self.write(|conn| {
            let invite = invite_row(conn, case, code_hash)?.ok_or(ApiError::InviteUnknown)?;
            if invite.used {
                return Err(ApiError::InviteUsed);
            }
            if invite.revoked_ms.is_some() {
                return Err(ApiError::InviteRevoked);
            }
            if invite.expires_ms.is_some_and(|expires_ms| expires_ms <= now_ms) {
                return Err(ApiError::InviteExpired);
            }
            let InviteRow { role, .. } = invite;
            if role_of(conn, case, caller)?.is_some() {
                return Err(ApiError::AlreadyMember);
            }
            let role = role_from(&role)?;
            conn.prepare_cached("UPDATE invites SET used_by = ?3, used_ms = ?4 WHERE case_id = ?1 AND code_hash = ?2")?.execute(params![case.0, code_hash, caller.0, now_ms],
            )?;
            conn.prepare_cached("INSERT INTO members (case_id, key, role, sealed_name, invite, joined_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?.execute(params![case.0, caller.0, role_text(role), sealed_name, code_hash, now_ms],
            )?;
            let public = channel_row(conn, case, &HubChannel::public())?
                .ok_or_else(|| ApiError::internal("storage: case without a public channel"))?;
            add_channel_member(conn, public.id, caller)?;
            Ok(joined(caller, role, sealed_name, code_hash, now_ms))
        })
    }

    fn revoke_invite(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        code_hash: &str,
        now_ms: u64,
    ) -> StoreResult<u64> {
        self.write(|conn| {
            require_mediator(conn, case, caller)?;
            let invite = invite_row(conn, case, code_hash)?.ok_or(ApiError::InviteUnknown)?;
            if invite.used {
                return Err(ApiError::InviteUsed);
            }
            if let Some(revoked_ms) = invite.revoked_ms {
                return Ok(revoked_ms);
            }
            conn.prepare_cached(
                "UPDATE invites SET revoked_ms = ?3 WHERE case_id = ?1 AND code_hash = ?2",
            )?
            .execute(params![case.0, code_hash, now_ms])?;
            Ok(now_ms)
        })
    }

    fn members(&self, case: &CaseId, caller: &PublicKey) -> StoreResult<Vec<Member>> {
        self.read(|conn| {
            require_member(conn, case, caller)?;
            let mut stmt = conn.prepare_cached(
                "SELECT key, role, sealed_name, invite, joined_ms FROM members WHERE case_id = ?1 ORDER BY joined_ms, rowid",
            )?;
            let rows = stmt.query_map([case.0], |row| {
                Ok((
                    row.get::<_, [u8; 32]>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, Option<Vec<u8>>>(2)?,
                    row.get::<_, Option<String>>(3)?,
                    row.get::<_, u64>(4)?,
                ))
            })?;
            rows.map(|row| {
                let (key, role, sealed_name, invite, joined_ms) = row?;
                Ok(Member {
                    key: PublicKey(key),
                    role: role_from(&role)?,
                    sealed_name: sealed_name.map(Blob),
                    invite,
                    joined_ms,
                })
            })
            .collect()
        })
    }

    fn store_key_packages(
        &self,
        caller: &PublicKey,
        packages: Vec<KeyPackageBody>,
    ) -> StoreResult<KeyStock> {
        self.write(|conn| {
            let ordinary = packages.iter().filter(|p| !p.last_resort).count();
            if key_stock(conn, caller)?.available + ordinary > MAX_KEY_PACKAGES {
                return Err(ApiError::TooManyKeyPackages);
            }
            for package in &packages {
                if package.last_resort {
                    conn.prepare_cached(
                        "DELETE FROM key_packages WHERE key = ?1 AND last_resort = 1",
                    )?
                    .execute([caller.0])?;
                }
                conn.prepare_cached(
                    "INSERT INTO key_packages (key, body, last_resort) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![caller.0, package.body, package.last_resort])?;
            }
            key_stock(conn, caller)
        })
    }

    fn claim_key_package(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        key: &PublicKey,
    ) -> StoreResult<Vec<u8>> {
        self.write(|conn| {
            require_mediator(conn, case, caller)?;
            if role_of(conn, case, key)?.is_none() {
                return Err(ApiError::MemberNotFound);
            }
            let (id, body, last_resort): (i64, Vec<u8>, bool) = conn
                .prepare_cached(
                    "SELECT id, body, last_resort FROM key_packages WHERE key = ?1
                     ORDER BY last_resort, id LIMIT 1",
                )?
                .query_row([key.0], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .optional()?
                .ok_or(ApiError::NoKeyPackage)?;
            if !last_resort {
                conn.prepare_cached("DELETE FROM key_packages WHERE id = ?1")?
                    .execute([id])?;
            }
            Ok(body)
        })
    }

    fn create_channel(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        channel: &HubChannel,
    ) -> StoreResult<ChannelInfo> {
        self.write(|conn| {
            require_mediator(conn, case, caller)?;
            if channel_row(conn, case, channel)?.is_some() {
                return Err(ApiError::ChannelExists);
            }
            let id = insert_channel(conn, case, channel, ChannelKind::Mls)?;
            add_channel_member(conn, id, caller)?;
            Ok(ChannelInfo {
                channel: channel.clone(),
                kind: ChannelKind::Mls,
                members: vec![*caller],
                head: 0,
            })
        })
    }

    fn channels(&self, case: &CaseId, caller: &PublicKey) -> StoreResult<Vec<ChannelInfo>> {
        self.read(|conn| {
            require_member(conn, case, caller)?;
            let mut stmt = conn.prepare_cached(
                "SELECT c.id, c.name, c.kind, c.head FROM channels c
                 JOIN channel_members m ON m.channel_id = c.id
                 WHERE c.case_id = ?1 AND m.key = ?2 ORDER BY c.id",
            )?;
            let rows = stmt
                .query_map(params![case.0, caller.0], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get(3)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter()
                .map(|(id, name, kind, head)| {
                    Ok(ChannelInfo {
                        channel: hub_channel_from(&name)?,
                        kind: channel_kind_from(&kind)?,
                        members: channel_members(conn, id)?,
                        head,
                    })
                })
                .collect()
        })
    }

    fn channel_kind(
        &self,
        case: &CaseId,
        channel: &HubChannel,
        caller: &PublicKey,
    ) -> StoreResult<ChannelKind> {
        self.read(|conn| Ok(member_channel(conn, case, channel, caller)?.1.kind))
    }

    fn post_entry(
        &self,
        case: &CaseId,
        channel: &HubChannel,
        caller: &PublicKey,
        entry: NewEntry,
        now_ms: u64,
    ) -> StoreResult<Accepted> {
        self.write(|conn| {
            let (role, row) = member_channel(conn, case, channel, caller)?;
            if (row.kind == ChannelKind::Mls) != entry.epoch.is_some() {
                return Err(ApiError::internal("entry checked against the wrong channel kind"));
            }
            if entry.after != row.head {
                return Err(ApiError::StaleHead {
                    head: row.head,
                    missed: vec![],
                });
            }
            let changes_members = !entry.add.is_empty() || !entry.remove.is_empty() || entry.welcome.is_some();
            if changes_members && role != MemberRole::Mediator {
                return Err(ApiError::Forbidden);
            }
            for key in &entry.add {
                if role_of(conn, case, key)?.is_none() {
                    return Err(ApiError::InvalidEntry("an added key is not a member of the case"));
                }
                if is_channel_member(conn, row.id, key)? {
                    return Err(ApiError::InvalidEntry("an added key is already a member of the channel"));
                }
            }
            for key in &entry.remove {
                if !is_channel_member(conn, row.id, key)? {
                    return Err(ApiError::InvalidEntry("a removed key is not a member of the channel"));
                }
            }
            if let (EntryKind::Commit, Some(epoch)) = (entry.kind, entry.epoch) {
                let taken = conn
                    .query_row(
                        "SELECT 1 FROM entries WHERE channel_id = ?1 AND kind = 'commit' AND epoch = ?2",
                        params![row.id, epoch],
                        |_| Ok(()),
                    )
                    .optional()?;
                if taken.is_some() {
                    return Err(ApiError::EpochTaken);
                }
            }

            let seq = row.head + 1;
            conn.prepare_cached("INSERT INTO entries (channel_id, seq, kind, author, body, at_ms, epoch)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?.execute(params![row.id, seq, entry_kind_text(entry.kind), caller.0, entry.body, now_ms, entry.epoch],
            )?;
            conn.prepare_cached("UPDATE channels SET head = ?2 WHERE id = ?1")?.execute(params![row.id, seq])?;
            let stored: u64 = conn
                .prepare_cached(
                    "INSERT INTO usage (key, bytes) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET bytes = bytes + excluded.bytes
                     RETURNING bytes",
                )?
                .query_row(params![caller.0, entry.stored_bytes()], |row| row.get(0))?;
            if stored > entry.quota {
                return Err(ApiError::ByteQuota { max: entry.quota });
            }
            for key in &entry.remove {
                conn.prepare_cached("DELETE FROM channel_members WHERE channel_id = ?1 AND key = ?2")?.execute(params![row.id, key.0])?;
            }
            for key in &entry.add {
                add_channel_member(conn, row.id, key)?;
                if let Some(welcome) = &entry.welcome {
                    conn.prepare_cached("INSERT INTO welcomes (key, case_id, channel, seq, body) VALUES (?1, ?2, ?3, ?4, ?5)")?.execute(params![key.0, case.0, channel.as_str(), seq, welcome],
                    )?;
                }
            }
            Ok(Accepted { seq, members: channel_members(conn, row.id)? })
        })
    }

    fn entries(
        &self,
        case: &CaseId,
        channel: &HubChannel,
        caller: &PublicKey,
        after: u64,
        limit: usize,
    ) -> StoreResult<Entries> {
        self.read(|conn| {
            let (_, row) = member_channel(conn, case, channel, caller)?;
            let mut stmt = conn.prepare_cached(
                "SELECT seq, kind, author, body, at_ms FROM entries
                 WHERE channel_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![row.id, after, limit], |row| {
                Ok((
                    row.get::<_, u64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, [u8; 32]>(2)?,
                    row.get::<_, Vec<u8>>(3)?,
                    row.get::<_, u64>(4)?,
                ))
            })?;
            let entries = rows
                .map(|row| {
                    let (seq, kind, author, body, at_ms) = row?;
                    Ok(Entry {
                        seq,
                        kind: entry_kind_from(&kind)?,
                        author: PublicKey(author),
                        body: backchannel_core::api::Blob(body),
                        at_ms,
                    })
                })
                .collect::<StoreResult<_>>()?;
            Ok(Entries {
                entries,
                head: row.head,
            })
        })
    }

    fn welcomes(&self, caller: &PublicKey, after: u64, limit: usize) -> StoreResult<Vec<Welcome>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, case_id, channel, seq, body FROM welcomes WHERE key = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![caller.0, after, limit], |row| {
                Ok((
                    row.get::<_, u64>(0)?,
                    row.get::<_, [u8; 16]>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, u64>(3)?,
                    row.get::<_, Vec<u8>>(4)?,
                ))
            })?;
            rows.map(|row| {
                let (id, case_id, channel, seq, body) = row?;
                Ok(Welcome {
                    id,
                    case_id: CaseId(case_id),
                    channel: hub_channel_from(&channel)?,
                    seq,
                    body: backchannel_core::api::Blob(body),
                })
            })
            .collect()
        })
    }

    fn require_member(&self, case: &CaseId, caller: &PublicKey) -> StoreResult<()> {
        self.read(|conn| require_member(conn, case, caller).map(|_| ()))
    }

    fn size_bytes(&self) -> StoreResult<u64> {
        self.read(|conn| {
            let pages: u64 = conn.query_row("PRAGMA page_count", [], |row| row.get(0))?;
            let size: u64 = conn.query_row("PRAGMA page_size", [], |row| row.get(0))?;
            Ok(pages * size)
        })
    }

    fn stats(&self) -> StoreResult<Stats> {
        self.read(|conn| {
            Ok(Stats {
                cases: count(conn, "SELECT COUNT(*) FROM cases")?,
                members: count(conn, "SELECT COUNT(*) FROM members")?,
                invites: count(conn, "SELECT COUNT(*) FROM invites")?,
                invites_used: count(
                    conn,
                    "SELECT COUNT(*) FROM invites WHERE used_by IS NOT NULL",
                )?,
                invites_revoked: count(
                    conn,
                    "SELECT COUNT(*) FROM invites WHERE revoked_ms IS NOT NULL",
                )?,
                channels: count(conn, "SELECT COUNT(*) FROM channels")?,
                channel_members: count(conn, "SELECT COUNT(*) FROM channel_members")?,
                entries: count(conn, "SELECT COUNT(*) FROM entries")?,
                welcomes: count(conn, "SELECT COUNT(*) FROM welcomes")?,
                key_packages: count(conn, "SELECT COUNT(*) FROM key_packages")?,
            })
        })
    }
}

/// What `key` holds: its ordinary key packages and whether it has a last-resort one.
fn key_stock(conn: &Connection, key: &PublicKey) -> StoreResult<KeyStock> {
    let (available, last_resort): (usize, usize) = conn
        .prepare_cached(
            "SELECT COUNT(*) - COALESCE(SUM(last_resort), 0), COALESCE(SUM(last_resort), 0)
             FROM key_packages WHERE key = ?1",
        )?
        .query_row([key.0], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(KeyStock {
        available,
        last_resort: last_resort > 0,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_reopened_database_refuses_a_nonce_it_saw() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.sqlite");
        let key = PublicKey([1; 32]);
        let store = Sqlite::open(&path).unwrap();
        assert!(store.record_nonce(&key, &[2; 16], 1_000, 1_000).unwrap());
        drop(store);
        let store = Sqlite::open(&path).unwrap();
        assert!(!store.record_nonce(&key, &[2; 16], 1_000, 1_000).unwrap());
        assert!(store.record_nonce(&key, &[3; 16], 1_000, 1_000).unwrap());
    }

    #[test]
    fn one_commit_per_epoch_is_a_database_invariant() {
        let store = Sqlite::open_in_memory().unwrap();
        let state = store.lock().unwrap();
        let conn = &state.conn;
        conn.execute(
            "INSERT INTO cases (case_id, created_ms) VALUES (x'00', 0)",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO channels (id, case_id, name, kind) VALUES (1, x'00', 'c', 'mls')",
            [],
        )
        .unwrap();
        let insert = "INSERT INTO entries (channel_id, seq, kind, author, body, at_ms, epoch)
                      VALUES (1, ?1, ?2, x'00', x'00', 0, 4)";
        conn.execute(insert, params![1, "commit"]).unwrap();
        conn.execute(insert, params![2, "message"]).unwrap();
        assert!(conn.execute(insert, params![3, "commit"]).is_err());
    }
}
