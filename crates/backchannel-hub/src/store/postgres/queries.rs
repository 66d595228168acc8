//! The queries every operation shares: reading rows into the hub's types, membership and
//! channel lookups, and the locks that serialise what must not race across processes.

use backchannel_core::api::{ChannelKind, MemberRole};
use backchannel_core::{CaseId, HubChannel, PublicKey};
use postgres::Row;
use postgres::types::FromSql;

use super::Tx;

use super::super::{KeyStock, StoreResult, channel_kind_from, channel_kind_text, role_from};
use crate::error::ApiError;

/// A value the hub stores as `BIGINT`.
pub(super) fn int(value: u64) -> StoreResult<i64> {
    i64::try_from(value).map_err(|_| ApiError::internal("storage: integer out of range"))
}

/// A bound in a read (`after`, `limit`): anything past `i64::MAX` means "no bound".
pub(super) fn bound(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(super) fn column<'a, T: FromSql<'a>>(row: &'a Row, index: usize) -> StoreResult<T> {
    Ok(row.try_get(index)?)
}

pub(super) fn uint(row: &Row, index: usize) -> StoreResult<u64> {
    let value: i64 = column(row, index)?;
    u64::try_from(value).map_err(|_| ApiError::internal("storage: negative integer"))
}

/// A nullable `BIGINT`.
pub(super) fn opt_uint(row: &Row, index: usize) -> StoreResult<Option<u64>> {
    let value: Option<i64> = column(row, index)?;
    value
        .map(|value| {
            u64::try_from(value).map_err(|_| ApiError::internal("storage: negative integer"))
        })
        .transpose()
}

pub(super) fn key_at(row: &Row, index: usize) -> StoreResult<PublicKey> {
    let bytes: &[u8] = column(row, index)?;
    bytes
        .try_into()
        .map(PublicKey)
        .map_err(|_| ApiError::internal("storage: a key of the wrong length"))
}

pub(super) fn case_at(row: &Row, index: usize) -> StoreResult<CaseId> {
    let bytes: &[u8] = column(row, index)?;
    bytes
        .try_into()
        .map(CaseId)
        .map_err(|_| ApiError::internal("storage: a case id of the wrong length"))
}

/// The second key of an advisory lock on `key`. Two keys sharing it only wait for each
/// other.
pub(super) fn lock_key(key: &PublicKey) -> i32 {
    i32::from_be_bytes([key.0[0], key.0[1], key.0[2], key.0[3]])
}

pub(super) fn advisory_lock(tx: &mut Tx<'_>, class: i32, key: &PublicKey) -> StoreResult<()> {
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&class, &lock_key(key)],
    )?;
    Ok(())
}

/// A channel row.
pub(super) struct ChannelRow {
    pub(super) id: i64,
    pub(super) kind: ChannelKind,
    pub(super) head: u64,
}

pub(super) fn case_exists(tx: &mut Tx<'_>, case: &CaseId) -> StoreResult<bool> {
    Ok(tx
        .query_opt("SELECT 1 FROM cases WHERE case_id = $1", &[&&case.0[..]])?
        .is_some())
}

pub(super) fn role_of(
    tx: &mut Tx<'_>,
    case: &CaseId,
    key: &PublicKey,
) -> StoreResult<Option<MemberRole>> {
    tx.query_opt(
        "SELECT role FROM members WHERE case_id = $1 AND key = $2",
        &[&&case.0[..], &&key.0[..]],
    )?
    .map(|row| role_from(column(&row, 0)?))
    .transpose()
}

/// The caller's role; `case_not_found` or `not_member` otherwise.
pub(super) fn require_member(
    tx: &mut Tx<'_>,
    case: &CaseId,
    caller: &PublicKey,
) -> StoreResult<MemberRole> {
    match role_of(tx, case, caller)? {
        Some(role) => Ok(role),
        None if case_exists(tx, case)? => Err(ApiError::NotMember),
        None => Err(ApiError::CaseNotFound),
    }
}

pub(super) fn require_mediator(
    tx: &mut Tx<'_>,
    case: &CaseId,
    caller: &PublicKey,
) -> StoreResult<()> {
    match require_member(tx, case, caller)? {
        MemberRole::Mediator => Ok(()),
        _ => Err(ApiError::Forbidden),
    }
}

/// The channel's row; with `lock`, locked until the transaction ends.
pub(super) fn channel_row(
    tx: &mut Tx<'_>,
    case: &CaseId,
    channel: &HubChannel,
    lock: bool,
) -> StoreResult<Option<ChannelRow>> {
    let sql = if lock {
        "SELECT id, kind, head FROM channels WHERE case_id = $1 AND name = $2 FOR UPDATE"
    } else {
        "SELECT id, kind, head FROM channels WHERE case_id = $1 AND name = $2"
    };
    tx.query_opt(sql, &[&&case.0[..], &channel.as_str()])?
        .map(|row| {
            Ok(ChannelRow {
                id: column(&row, 0)?,
                kind: channel_kind_from(column(&row, 1)?)?,
                head: uint(&row, 2)?,
            })
        })
        .transpose()
}

pub(super) fn is_channel_member(
    tx: &mut Tx<'_>,
    channel_id: i64,
    key: &PublicKey,
) -> StoreResult<bool> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM channel_members WHERE channel_id = $1 AND key = $2",
            &[&channel_id, &&key.0[..]],
        )?
        .is_some())
}

pub(super) fn channel_members(tx: &mut Tx<'_>, channel_id: i64) -> StoreResult<Vec<PublicKey>> {
    tx.query(
        "SELECT key FROM channel_members WHERE channel_id = $1 ORDER BY ord",
        &[&channel_id],
    )?
    .iter()
    .map(|row| key_at(row, 0))
    .collect()
}

/// The channel, provided the caller is a member of the case and of the channel; with `lock`,
/// the channel row stays locked until the transaction ends.
pub(super) fn member_channel(
    tx: &mut Tx<'_>,
    case: &CaseId,
    channel: &HubChannel,
    caller: &PublicKey,
    lock: bool,
) -> StoreResult<(MemberRole, ChannelRow)> {
    let role = require_member(tx, case, caller)?;
    let row = channel_row(tx, case, channel, lock)?.ok_or(ApiError::ChannelNotFound)?;
    if !is_channel_member(tx, row.id, caller)? {
        return Err(ApiError::NotMember);
    }
    Ok((role, row))
}

pub(super) fn add_channel_member(
    tx: &mut Tx<'_>,
    channel_id: i64,
    key: &PublicKey,
) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO channel_members (channel_id, key) VALUES ($1, $2)",
        &[&channel_id, &&key.0[..]],
    )?;
    Ok(())
}

/// Inserts a channel; `None` when the case already has one of that name.
pub(super) fn insert_channel(
    tx: &mut Tx<'_>,
    case: &CaseId,
    channel: &HubChannel,
    kind: ChannelKind,
) -> StoreResult<Option<i64>> {
    tx.query_opt(
        "INSERT INTO channels (case_id, name, kind) VALUES ($1, $2, $3)
         ON CONFLICT (case_id, name) DO NOTHING RETURNING id",
        &[&&case.0[..], &channel.as_str(), &channel_kind_text(kind)],
    )?
    .map(|row| column(&row, 0))
    .transpose()
}

/// An invite row.
pub(super) struct InviteRow {
    pub(super) role: MemberRole,
    pub(super) used: bool,
    pub(super) expires_ms: Option<u64>,
    pub(super) revoked_ms: Option<u64>,
}

/// The invite's row, locked until the transaction ends: a concurrent join or revocation of
/// the same invite waits, then sees what this one did.
pub(super) fn lock_invite(
    tx: &mut Tx<'_>,
    case: &CaseId,
    code_hash: &str,
) -> StoreResult<Option<InviteRow>> {
    tx.query_opt(
        "SELECT role, used_by IS NOT NULL, expires_ms, revoked_ms FROM invites
         WHERE case_id = $1 AND code_hash = $2 FOR UPDATE",
        &[&&case.0[..], &code_hash],
    )?
    .map(|row| {
        Ok(InviteRow {
            role: role_from(column(&row, 0)?)?,
            used: column(&row, 1)?,
            expires_ms: opt_uint(&row, 2)?,
            revoked_ms: opt_uint(&row, 3)?,
        })
    })
    .transpose()
}

pub(super) fn count(tx: &mut Tx<'_>, sql: &'static str) -> StoreResult<u64> {
    uint(&tx.query_one(sql, &[])?, 0)
}

/// What `key` holds: its ordinary key packages and whether it has a last-resort one.
pub(super) fn key_stock(tx: &mut Tx<'_>, key: &PublicKey) -> StoreResult<KeyStock> {
    let row = tx.query_one(
        "SELECT COUNT(*) FILTER (WHERE NOT last_resort), COUNT(*) FILTER (WHERE last_resort)
         FROM key_packages WHERE key = $1",
        &[&&key.0[..]],
    )?;
    let available = usize::try_from(uint(&row, 0)?)
        .map_err(|_| ApiError::internal("storage: too many key packages to count"))?;
    Ok(KeyStock {
        available,
        last_resort: uint(&row, 1)? > 0,
    })
}
