//! The SQLite backend's part as a witness ([`WitnessStore`]): each method one `IMMEDIATE`
//! transaction, like every write of [`Sqlite`], so its checks and writes see one state.

use std::collections::BTreeSet;

use backchannel_core::{CaseId, Digest32, PublicKey};
use rusqlite::{Connection, OptionalExtension, params};

use super::Sqlite;
use crate::error::ApiError;
use crate::store::StoreResult;
use crate::store::witness::{
    Decision, Heads, Held, MAX_SUBMITTERS, WitnessStore, check_heads, decide, overlap,
};

/// The key that registered `case`; `None` when it is not registered.
fn mediator_of(conn: &Connection, case: &CaseId) -> StoreResult<Option<PublicKey>> {
    Ok(conn
        .prepare_cached("SELECT mediator FROM witnessed_cases WHERE case_id = ?1")?
        .query_row([case.0], |row| row.get::<_, [u8; 32]>(0))
        .optional()?
        .map(PublicKey))
}

fn is_submitter(conn: &Connection, case: &CaseId, key: &PublicKey) -> StoreResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM witness_submitters WHERE case_id = ?1 AND key = ?2")?
        .query_row(params![case.0, key.0], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The case's newest held position; `None` when it holds none.
fn newest(conn: &Connection, case: &CaseId) -> StoreResult<Option<Held>> {
    Ok(conn
        .prepare_cached(
            "SELECT idx, hash FROM witness_hashes WHERE case_id = ?1 ORDER BY idx DESC LIMIT 1",
        )?
        .query_row([case.0], |row| {
            Ok(Held {
                index: row.get(0)?,
                hash: Digest32(row.get(1)?),
            })
        })
        .optional()?)
}

/// The hashes held at `from + 1 ..= from + count`, in order.
fn stored(conn: &Connection, case: &CaseId, from: u64, count: usize) -> StoreResult<Vec<Digest32>> {
    if count == 0 {
        return Ok(vec![]);
    }
    let last = from.saturating_add(count as u64);
    let mut stmt = conn.prepare_cached(
        "SELECT hash FROM witness_hashes WHERE case_id = ?1 AND idx > ?2 AND idx <= ?3
         ORDER BY idx",
    )?;
    let hashes = stmt.query_map(params![case.0, from, last], |row| {
        row.get::<_, [u8; 32]>(0).map(Digest32)
    })?;
    Ok(hashes.collect::<Result<_, _>>()?)
}

impl WitnessStore for Sqlite {
    fn witness_secret(&self, candidate: &[u8; 32]) -> StoreResult<[u8; 32]> {
        self.write(|conn| {
            conn.execute(
                "INSERT OR IGNORE INTO witness_key (id, secret) VALUES (1, ?1)",
                [candidate],
            )?;
            Ok(
                conn.query_row("SELECT secret FROM witness_key WHERE id = 1", [], |row| {
                    row.get(0)
                })?,
            )
        })
    }

    fn witness_register(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        now_ms: u64,
        max_cases: u64,
    ) -> StoreResult<()> {
        self.write(|conn| {
            match mediator_of(conn, case)? {
                Some(mediator) if mediator == *caller => return Ok(()),
                Some(_) => return Err(ApiError::WitnessTaken),
                None => {}
            }
            let registered: u64 = conn
                .prepare_cached("SELECT COUNT(*) FROM witnessed_cases WHERE mediator = ?1")?
                .query_row([caller.0], |row| row.get(0))?;
            if registered >= max_cases {
                return Err(ApiError::WitnessQuota { max: max_cases });
            }
            conn.prepare_cached(
                "INSERT INTO witnessed_cases (case_id, mediator, created_ms) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![case.0, caller.0, now_ms])?;
            Ok(())
        })
    }

    fn witness_allow(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        keys: &[PublicKey],
    ) -> StoreResult<u64> {
        self.write(|conn| {
            let mediator = mediator_of(conn, case)?.ok_or(ApiError::NotWitnessed)?;
            if mediator != *caller {
                return Err(ApiError::Forbidden);
            }
            let held: u64 = conn
                .prepare_cached("SELECT COUNT(*) FROM witness_submitters WHERE case_id = ?1")?
                .query_row([case.0], |row| row.get(0))?;
            let mut fresh = BTreeSet::new();
            for key in keys {
                if !is_submitter(conn, case, key)? {
                    fresh.insert(*key);
                }
            }
            let total = held + fresh.len() as u64;
            if total > MAX_SUBMITTERS {
                return Err(ApiError::SubmitterQuota {
                    max: MAX_SUBMITTERS,
                });
            }
            let mut insert = conn
                .prepare_cached("INSERT INTO witness_submitters (case_id, key) VALUES (?1, ?2)")?;
            for key in &fresh {
                insert.execute(params![case.0, key.0])?;
            }
            Ok(total)
        })
    }

    fn witness_heads(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        from: u64,
        hashes: &[Digest32],
    ) -> StoreResult<Heads> {
        check_heads(from, hashes)?;
        self.write(|conn| {
            let mediator = mediator_of(conn, case)?.ok_or(ApiError::NotWitnessed)?;
            if mediator != *caller && !is_submitter(conn, case, caller)? {
                return Err(ApiError::NotASubmitter);
            }
            let newest = newest(conn, case)?;
            let held = newest.map_or(0, |newest| newest.index);
            let stored = stored(conn, case, from, overlap(held, from, hashes.len()))?;
            match decide(newest, from, hashes, &stored)? {
                Decision::Answer(heads) => Ok(heads),
                Decision::Append {
                    first,
                    hashes,
                    newest,
                } => {
                    let mut insert = conn.prepare_cached(
                        "INSERT INTO witness_hashes (case_id, idx, hash) VALUES (?1, ?2, ?3)",
                    )?;
                    for (index, hash) in (first..).zip(hashes) {
                        insert.execute(params![case.0, index, hash.0])?;
                    }
                    Ok(Heads::Agreed(newest))
                }
            }
        })
    }
}
