//! The PostgreSQL backend: for when one machine is not enough, with several stateless hub
//! processes sharing one database. Same contract as [`super::Sqlite`], method for method.
//!
//! Each method is one transaction on a connection from a small pool. Where SQLite serialises
//! every write (`IMMEDIATE`), this backend runs writes at `READ COMMITTED` and takes explicit
//! locks on exactly what a rule depends on, so that the rules hold across processes:
//!
//! - a post locks its channel row (`SELECT … FOR UPDATE`) before it compares `after` with the
//!   head, checks membership and the epoch, and moves the head: two posts on one channel, from
//!   any processes, run one after the other, and each channel stays one line. The partial
//!   unique index on `(channel, epoch)` for commits backs this up in the schema;
//! - an invite is spent, or revoked, under a lock on its row;
//! - inserts that could race on a key (`cases`, `invites`, `members`, `channels`) use
//!   `ON CONFLICT DO NOTHING` and turn "nothing inserted" into the domain refusal;
//! - a key's key packages are counted under a transaction-scoped advisory lock on that key,
//!   and claimed with `FOR UPDATE SKIP LOCKED`, so each is handed out once;
//! - the cases a key mediates are counted against its quota under an advisory lock on that
//!   key, and a case's invites against theirs under a `FOR NO KEY UPDATE` lock on the case's
//!   row (which the foreign keys of concurrent inserts, taking `FOR KEY SHARE`, do not wait
//!   for), so concurrent requests cannot overshoot a quota;
//! - a key's welcomes are inserted under an advisory lock on that key, so their ids become
//!   visible in increasing order and a client paging with `after` never skips one.
//! - the witness's registrations, submitters and heads lock as `witness.rs` says: an advisory
//!   lock per registering key, and the witnessed case's row for the rest.
//!
//! Reads run as `REPEATABLE READ, READ ONLY`, so each sees one state (a head and its entries).
//! No lock order has a cycle: a post takes its channel row, then the welcome locks of the keys
//! it adds in sorted order; nothing takes them the other way round.
//!
//! Connections use [`postgres::NoTls`]: run the database on the same host or a private network.
//! A deployment across an untrusted network needs TLS, which this backend does not offer yet.
//!
//! The `postgres` client drives its own small tokio runtime, so its calls must not run on an
//! async worker thread: the shell runs every method on the blocking pool, [`Postgres::connect`]
//! must be called outside the runtime (or in `spawn_blocking`), and dropping the backend inside
//! the runtime closes its connections on a helper thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::Context as _;
use backchannel_core::api::{
    Blob, ChannelInfo, ChannelKind, Entries, Entry, EntryKind, MAX_KEY_PACKAGES, Member,
    MemberRole, Welcome,
};
use backchannel_core::auth::MAX_SKEW_MS;
use backchannel_core::{CaseId, HubChannel, PublicKey};
use postgres::{Client, Config};

use super::{
    Accepted, Backend, KeyPackageBody, KeyStock, NewEntry, NewInvite, Stats, StoreResult,
    channel_kind_from, entry_kind_from, entry_kind_text, hub_channel_from, joined, role_from,
    role_text,
};
use crate::error::ApiError;

/// The migrations, in order: migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/postgres/0001_init.sql"),
    include_str!("../migrations/postgres/0002_invite_expiry.sql"),
    include_str!("../migrations/postgres/0003_members_by_key.sql"),
    include_str!("../migrations/postgres/0004_witness.sql"),
    include_str!("../migrations/postgres/0005_last_resort.sql"),
    include_str!("../migrations/postgres/0006_usage.sql"),
    include_str!("../migrations/postgres/0007_sealed_names.sql"),
];

/// Connections per hub process, unless [`Postgres::with_config`] says otherwise.
pub const POOL_SIZE: usize = 8;

/// The first key of every advisory lock this backend takes (`"bcnl"`), so that they do not
/// collide with another application's locks in the same database.
const LOCK_CLASS_MIGRATE: i32 = 0x6263_6e00;
const LOCK_CLASS_KEY_PACKAGES: i32 = 0x6263_6e01;
const LOCK_CLASS_WELCOMES: i32 = 0x6263_6e02;
const LOCK_CLASS_CASES: i32 = 0x6263_6e03;
const LOCK_CLASS_WITNESS_CASES: i32 = 0x6263_6e04;

/// A hub database on a PostgreSQL server, shared by any number of hub processes.
pub struct Postgres {
    config: Config,
    /// This process among those sharing the database: its announcements are not its own
    /// listener's to hand on.
    origin: u64,
    /// Set when dropped: its listener, if any, stops.
    stop: Arc<AtomicBool>,
    pool: Pool,
    /// When this process last deleted the nonces past the clock's window (unix ms).
    purged_ms: AtomicU64,
}

impl Postgres {
    /// Connects to `url` (`postgres://user:password@host:port/database`, or any form the
    /// `postgres` crate accepts) and migrates the database.
    pub fn connect(url: &str) -> anyhow::Result<Self> {
        // The parse error names no part of the URL, which may hold a password.
        let config: Config = url.parse().context("parsing the PostgreSQL URL")?;
        Self::with_config(config, POOL_SIZE)
    }

    /// Connects with `config`, keeps up to `pool_size` connections (at least one), and
    /// migrates the database. One connection is opened now; the others on demand.
    pub fn with_config(mut config: Config, pool_size: usize) -> anyhow::Result<Self> {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let mut client = open(&config).context("connecting to PostgreSQL")?;
        migrate(&mut client)?;
        Ok(Self {
            pool: Pool::new(config.clone(), pool_size, client),
            config,
            origin: rand::random(),
            stop: Arc::default(),
            purged_ms: AtomicU64::new(0),
        })
    }

    /// Runs `f` in a `READ COMMITTED` transaction, committed only when `f` succeeds; `f` takes
    /// the locks its checks need.
    fn write<T>(&self, f: impl FnOnce(&mut Tx<'_>) -> StoreResult<T>) -> StoreResult<T> {
        self.pool.transaction(false, f)
    }

    /// Runs `f` in a read-only snapshot, so that it sees one state.
    fn read<T>(&self, f: impl FnOnce(&mut Tx<'_>) -> StoreResult<T>) -> StoreResult<T> {
        self.pool.transaction(true, f)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let slots = self.pool.drain();
        // Closing a connection blocks on the client's own runtime, which tokio forbids on an
        // async worker thread: close them on a thread of their own there.
        if tokio::runtime::Handle::try_current().is_ok() {
            let closer = std::thread::spawn(move || drop(slots));
            let _ = closer.join();
        } else {
            drop(slots);
        }
    }
}

/// Brings the schema up to date in one transaction, under an advisory lock so that hub
/// processes starting together migrate once; refuses a database newer than this hub.
fn migrate(client: &mut Client) -> anyhow::Result<()> {
    let mut tx = client.transaction()?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, 0)",
        &[&LOCK_CLASS_MIGRATE],
    )?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let current: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?
        .try_get(0)?;
    let current = usize::try_from(current).context("a negative schema version")?;
    anyhow::ensure!(
        current <= MIGRATIONS.len(),
        "the database has schema version {current}, newer than this hub's {}",
        MIGRATIONS.len()
    );
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let version = i32::try_from(index + 1)?;
        tx.batch_execute(sql)
            .with_context(|| format!("migrating to schema version {version}"))?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&version],
        )?;
    }
    tx.commit()?;
    Ok(())
}

mod notify;
mod pool;
mod queries;
mod witness;

pub(crate) use pool::connection_lost;
use pool::{CONNECT_TIMEOUT, Conn, Pool, Tx, open};

use queries::*;

impl Backend for Postgres {
    fn follow_others(&self, publish: super::Publish) {
        notify::follow(
            self.config.clone(),
            self.origin,
            Arc::clone(&self.stop),
            publish,
        );
    }

    fn record_nonce(
        &self,
        key: &PublicKey,
        nonce: &[u8; 16],
        ts_ms: u64,
        now_ms: u64,
    ) -> StoreResult<bool> {
        // Nonces past the clock's window are deleted at most once a second per process, not
        // by every request: one that lingers a second longer refuses nothing the clock would
        // let through.
        let purge = now_ms.saturating_sub(self.purged_ms.load(Ordering::Relaxed)) >= 1_000;
        if purge {
            self.purged_ms.store(now_ms, Ordering::Relaxed);
        }
        if purge {
            let horizon = int(now_ms.saturating_sub(2 * MAX_SKEW_MS))?;
            self.pool
                .execute_alone("DELETE FROM seen_nonces WHERE ts_ms < $1", &[&horizon])?;
        }
        // One statement, committed as it runs: the nonce is seen by every process before the
        // request it came with is served.
        let inserted = self.pool.execute_alone(
            "INSERT INTO seen_nonces (key, nonce, ts_ms) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&&key.0[..], &&nonce[..], &int(ts_ms)?],
        )?;
        Ok(inserted == 1)
    }

    fn create_case(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        now_ms: u64,
        max_cases: u64,
    ) -> StoreResult<()> {
        self.write(|tx| {
            // Two cases of one key, from any processes, are counted one after the other.
            advisory_lock(tx, LOCK_CLASS_CASES, caller)?;
            let now = int(now_ms)?;
            let inserted = tx.execute(
                "INSERT INTO cases (case_id, created_ms) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&&case.0[..], &now],
            )?;
            if inserted == 0 {
                return Err(ApiError::CaseExists);
            }
            let created = tx.query_one(
                "SELECT COUNT(*) FROM members WHERE key = $1 AND role = $2",
                &[&&caller.0[..], &role_text(MemberRole::Mediator)],
            )?;
            // Refused, the transaction rolls back and the case inserted above with it.
            if uint(&created, 0)? >= max_cases {
                return Err(ApiError::CaseQuota { max: max_cases });
            }
            tx.execute(
                "INSERT INTO members (case_id, key, role, joined_ms) VALUES ($1, $2, $3, $4)",
                &[
                    &&case.0[..],
                    &&caller.0[..],
                    &role_text(MemberRole::Mediator),
                    &now,
                ],
            )?;
            let public = insert_channel(tx, case, &HubChannel::public(), ChannelKind::Sealed)?
                .ok_or_else(|| {
                    ApiError::internal("storage: a new case already has a public channel")
                })?;
            add_channel_member(tx, public, caller)
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
        self.write(|tx| {
            require_mediator(tx, case, caller)?;
            // Two invites of one case, from any processes, are counted one after the other.
            tx.execute(
                "SELECT 1 FROM cases WHERE case_id = $1 FOR NO KEY UPDATE",
                &[&&case.0[..]],
            )?;
            let held = tx.query_one(
                "SELECT COUNT(*) FROM invites WHERE case_id = $1",
                &[&&case.0[..]],
            )?;
            if uint(&held, 0)? >= max_invites {
                return Err(ApiError::InviteQuota { max: max_invites });
            }
            let expires_ms = invite.expires_ms.map(int).transpose()?;
            let inserted = tx.execute(
                "INSERT INTO invites (case_id, code_hash, role, created_ms, expires_ms)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[
                    &&case.0[..],
                    &invite.code_hash,
                    &role_text(invite.role),
                    &int(now_ms)?,
                    &expires_ms,
                ],
            )?;
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
        self.write(|tx| {
            // The lock makes a second join with the same invite wait, then see it spent, and a
            // join racing a revocation see it revoked or spent, never both.
            let invite = lock_invite(tx, case, code_hash)?.ok_or(ApiError::InviteUnknown)?;
            if invite.used {
                return Err(ApiError::InviteUsed);
            }
            if invite.revoked_ms.is_some() {
                return Err(ApiError::InviteRevoked);
            }
            if invite
                .expires_ms
                .is_some_and(|expires_ms| expires_ms <= now_ms)
            {
                return Err(ApiError::InviteExpired);
            }
            if role_of(tx, case, caller)?.is_some() {
                return Err(ApiError::AlreadyMember);
            }
            let InviteRow { role, .. } = invite;
            let now = int(now_ms)?;
            tx.execute(
                "UPDATE invites SET used_by = $3, used_ms = $4 WHERE case_id = $1 AND code_hash = $2",
                &[&&case.0[..], &code_hash, &&caller.0[..], &now],
            )?;
            // A concurrent join of the same key with another invite commits first: then
            // nothing is inserted here, and this one is refused like a sequential one.
            let inserted = tx.execute(
                "INSERT INTO members (case_id, key, role, sealed_name, invite, joined_ms)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[&&case.0[..], &&caller.0[..], &role_text(role), &sealed_name, &code_hash, &now],
            )?;
            if inserted == 0 {
                return Err(ApiError::AlreadyMember);
            }
            let public = channel_row(tx, case, &HubChannel::public(), false)?
                .ok_or_else(|| ApiError::internal("storage: case without a public channel"))?;
            add_channel_member(tx, public.id, caller)?;
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
        self.write(|tx| {
            require_mediator(tx, case, caller)?;
            let invite = lock_invite(tx, case, code_hash)?.ok_or(ApiError::InviteUnknown)?;
            if invite.used {
                return Err(ApiError::InviteUsed);
            }
            if let Some(revoked_ms) = invite.revoked_ms {
                return Ok(revoked_ms);
            }
            tx.execute(
                "UPDATE invites SET revoked_ms = $3 WHERE case_id = $1 AND code_hash = $2",
                &[&&case.0[..], &code_hash, &int(now_ms)?],
            )?;
            Ok(now_ms)
        })
    }

    fn members(&self, case: &CaseId, caller: &PublicKey) -> StoreResult<Vec<Member>> {
        self.read(|tx| {
            require_member(tx, case, caller)?;
            tx.query(
                "SELECT key, role, sealed_name, invite, joined_ms FROM members
                 WHERE case_id = $1 ORDER BY joined_ms, ord",
                &[&&case.0[..]],
            )?
            .iter()
            .map(|row| {
                Ok(Member {
                    key: key_at(row, 0)?,
                    role: role_from(column(row, 1)?)?,
                    sealed_name: column::<Option<Vec<u8>>>(row, 2)?.map(Blob),
                    invite: column(row, 3)?,
                    joined_ms: uint(row, 4)?,
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
        self.write(|tx| {
            advisory_lock(tx, LOCK_CLASS_KEY_PACKAGES, caller)?;
            let ordinary = packages.iter().filter(|p| !p.last_resort).count();
            if key_stock(tx, caller)?.available + ordinary > MAX_KEY_PACKAGES {
                return Err(ApiError::TooManyKeyPackages);
            }
            for package in &packages {
                if package.last_resort {
                    tx.execute(
                        "DELETE FROM key_packages WHERE key = $1 AND last_resort",
                        &[&&caller.0[..]],
                    )?;
                }
                tx.execute(
                    "INSERT INTO key_packages (key, body, last_resort) VALUES ($1, $2, $3)",
                    &[&&caller.0[..], &package.body, &package.last_resort],
                )?;
            }
            key_stock(tx, caller)
        })
    }

    fn claim_key_package(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        key: &PublicKey,
    ) -> StoreResult<Vec<u8>> {
        self.write(|tx| {
            require_mediator(tx, case, caller)?;
            if role_of(tx, case, key)?.is_none() {
                return Err(ApiError::MemberNotFound);
            }
            // SKIP LOCKED: a concurrent claim takes the next package instead of waiting for
            // this one and then finding it gone.
            let claimed = tx.query_opt(
                "DELETE FROM key_packages WHERE id = (
                     SELECT id FROM key_packages WHERE key = $1 AND NOT last_resort
                     ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
                 ) RETURNING body",
                &[&&key.0[..]],
            )?;
            let claimed = match claimed {
                Some(row) => row,
                // The last-resort package is only read, so any number may share it.
                None => tx
                    .query_opt(
                        "SELECT body FROM key_packages WHERE key = $1 AND last_resort",
                        &[&&key.0[..]],
                    )?
                    .ok_or(ApiError::NoKeyPackage)?,
            };
            column(&claimed, 0)
        })
    }

    fn create_channel(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        channel: &HubChannel,
    ) -> StoreResult<ChannelInfo> {
        self.write(|tx| {
            require_mediator(tx, case, caller)?;
            let id = insert_channel(tx, case, channel, ChannelKind::Mls)?
                .ok_or(ApiError::ChannelExists)?;
            add_channel_member(tx, id, caller)?;
            Ok(ChannelInfo {
                channel: channel.clone(),
                kind: ChannelKind::Mls,
                members: vec![*caller],
                head: 0,
            })
        })
    }

    fn channels(&self, case: &CaseId, caller: &PublicKey) -> StoreResult<Vec<ChannelInfo>> {
        self.read(|tx| {
            require_member(tx, case, caller)?;
            let rows = tx.query(
                "SELECT c.id, c.name, c.kind, c.head FROM channels c
                 JOIN channel_members m ON m.channel_id = c.id
                 WHERE c.case_id = $1 AND m.key = $2 ORDER BY c.id",
                &[&&case.0[..], &&caller.0[..]],
            )?;
            rows.iter()
                .map(|row| {
                    Ok(ChannelInfo {
                        channel: hub_channel_from(column(row, 1)?)?,
                        kind: channel_kind_from(column(row, 2)?)?,
                        members: channel_members(tx, column(row, 0)?)?,
                        head: uint(row, 3)?,
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
        self.read(|tx| Ok(member_channel(tx, case, channel, caller, false)?.1.kind))
    }

    fn post_entry(
        &self,
        case: &CaseId,
        channel: &HubChannel,
        caller: &PublicKey,
        entry: NewEntry,
        now_ms: u64,
    ) -> StoreResult<Accepted> {
        self.write(|tx| {
            // Every check below runs under the channel row's lock: no other post on this
            // channel, from this process or another, can move the head meanwhile.
            let (role, row) = member_channel(tx, case, channel, caller, true)?;
            if (row.kind == ChannelKind::Mls) != entry.epoch.is_some() {
                return Err(ApiError::internal(
                    "entry checked against the wrong channel kind",
                ));
            }
            if entry.after != row.head {
                return Err(ApiError::StaleHead {
                    head: row.head,
                    missed: vec![],
                });
            }
            let changes_members =
                !entry.add.is_empty() || !entry.remove.is_empty() || entry.welcome.is_some();
            if changes_members && role != MemberRole::Mediator {
                return Err(ApiError::Forbidden);
            }
            for key in &entry.add {
                if role_of(tx, case, key)?.is_none() {
                    return Err(ApiError::InvalidEntry(
                        "an added key is not a member of the case",
                    ));
                }
                if is_channel_member(tx, row.id, key)? {
                    return Err(ApiError::InvalidEntry(
                        "an added key is already a member of the channel",
                    ));
                }
            }
            for key in &entry.remove {
                if !is_channel_member(tx, row.id, key)? {
                    return Err(ApiError::InvalidEntry(
                        "a removed key is not a member of the channel",
                    ));
                }
            }
            let epoch = entry.epoch.map(int).transpose()?;
            if let (EntryKind::Commit, Some(epoch)) = (entry.kind, epoch) {
                let taken = tx.query_opt(
                    "SELECT 1 FROM entries WHERE channel_id = $1 AND kind = 'commit' AND epoch = $2",
                    &[&row.id, &epoch],
                )?;
                if taken.is_some() {
                    return Err(ApiError::EpochTaken);
                }
            }

            let seq = row.head + 1;
            let seq_int = int(seq)?;
            tx.execute(
                "INSERT INTO entries (channel_id, seq, kind, author, body, at_ms, epoch)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &row.id,
                    &seq_int,
                    &entry_kind_text(entry.kind),
                    &&caller.0[..],
                    &entry.body,
                    &int(now_ms)?,
                    &epoch,
                ],
            )?;
            tx.execute(
                "UPDATE channels SET head = $2 WHERE id = $1",
                &[&row.id, &seq_int],
            )?;
            for key in &entry.remove {
                tx.execute(
                    "DELETE FROM channel_members WHERE channel_id = $1 AND key = $2",
                    &[&row.id, &&key.0[..]],
                )?;
            }
            for key in &entry.add {
                add_channel_member(tx, row.id, key)?;
            }
            if let Some(welcome) = &entry.welcome {
                // In sorted order, so that two posts adding the same keys cannot deadlock.
                let mut keys: Vec<&PublicKey> = entry.add.iter().collect();
                keys.sort_by_key(|key| lock_key(key));
                for key in keys {
                    advisory_lock(tx, LOCK_CLASS_WELCOMES, key)?;
                    tx.execute(
                        "INSERT INTO welcomes (key, case_id, channel, seq, body) VALUES ($1, $2, $3, $4, $5)",
                        &[&&key.0[..], &&case.0[..], &channel.as_str(), &seq_int, welcome],
                    )?;
                }
            }
            let stored: i64 = tx
                .query_one(
                    "INSERT INTO usage (key, bytes) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET bytes = usage.bytes + excluded.bytes
                     RETURNING bytes",
                    &[&&caller.0[..], &int(entry.stored_bytes())?],
                )?
                .try_get(0)?;
            if u64::try_from(stored).unwrap_or(u64::MAX) > entry.quota {
                return Err(ApiError::ByteQuota { max: entry.quota });
            }
            notify::announce(tx, self.origin, case, channel, seq)?;
            Ok(Accepted {
                seq,
                members: channel_members(tx, row.id)?,
            })
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
        self.read(|tx| {
            let (_, row) = member_channel(tx, case, channel, caller, false)?;
            let limit = bound(u64::try_from(limit).unwrap_or(u64::MAX));
            let entries = tx
                .query(
                    "SELECT seq, kind, author, body, at_ms FROM entries
                     WHERE channel_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                    &[&row.id, &bound(after), &limit],
                )?
                .iter()
                .map(|entry| {
                    Ok(Entry {
                        seq: uint(entry, 0)?,
                        kind: entry_kind_from(column(entry, 1)?)?,
                        author: key_at(entry, 2)?,
                        body: Blob(column(entry, 3)?),
                        at_ms: uint(entry, 4)?,
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
        self.read(|tx| {
            let limit = bound(u64::try_from(limit).unwrap_or(u64::MAX));
            tx.query(
                "SELECT id, case_id, channel, seq, body FROM welcomes
                 WHERE key = $1 AND id > $2 ORDER BY id LIMIT $3",
                &[&&caller.0[..], &bound(after), &limit],
            )?
            .iter()
            .map(|row| {
                Ok(Welcome {
                    id: uint(row, 0)?,
                    case_id: case_at(row, 1)?,
                    channel: hub_channel_from(column(row, 2)?)?,
                    seq: uint(row, 3)?,
                    body: Blob(column(row, 4)?),
                })
            })
            .collect()
        })
    }

    fn require_member(&self, case: &CaseId, caller: &PublicKey) -> StoreResult<()> {
        self.read(|tx| require_member(tx, case, caller).map(|_| ()))
    }

    fn size_bytes(&self) -> StoreResult<u64> {
        self.read(|tx| {
            let row = tx.query_one("SELECT pg_database_size(current_database())", &[])?;
            uint(&row, 0)
        })
    }

    fn stats(&self) -> StoreResult<Stats> {
        self.read(|tx| {
            Ok(Stats {
                cases: count(tx, "SELECT COUNT(*) FROM cases")?,
                members: count(tx, "SELECT COUNT(*) FROM members")?,
                invites: count(tx, "SELECT COUNT(*) FROM invites")?,
                invites_used: count(tx, "SELECT COUNT(*) FROM invites WHERE used_by IS NOT NULL")?,
                invites_revoked: count(
                    tx,
                    "SELECT COUNT(*) FROM invites WHERE revoked_ms IS NOT NULL",
                )?,
                channels: count(tx, "SELECT COUNT(*) FROM channels")?,
                channel_members: count(tx, "SELECT COUNT(*) FROM channel_members")?,
                entries: count(tx, "SELECT COUNT(*) FROM entries")?,
                welcomes: count(tx, "SELECT COUNT(*) FROM welcomes")?,
                key_packages: count(tx, "SELECT COUNT(*) FROM key_packages")?,
            })
        })
    }
}
