//! The PostgreSQL backend's part as a witness ([`WitnessStore`]), with the same locking as the
//! rest of the backend, so that its rules hold across hub processes:
//!
//! - the cases a key registers are counted against its quota under an advisory lock on that
//!   key, and a case's registration races on its primary key (`ON CONFLICT DO NOTHING`), the
//!   loser seeing the winner's key;
//! - allowing submitters and appending heads take a `FOR NO KEY UPDATE` lock on the case's row
//!   first, so that a case's submitters are counted one request after the other, and two
//!   `heads` requests of one case, from any processes, see and extend one line of positions.

use std::collections::BTreeSet;

use backchannel_core::{CaseId, Digest32, PublicKey};
use postgres::Row;

use super::Tx;

use super::queries::{advisory_lock, column, int, key_at, uint};
use super::{LOCK_CLASS_WITNESS_CASES, Postgres};
use crate::error::ApiError;
use crate::store::StoreResult;
use crate::store::witness::{
    Decision, Heads, Held, MAX_SUBMITTERS, WitnessStore, check_heads, decide, overlap,
};

fn digest_at(row: &Row, index: usize) -> StoreResult<Digest32> {
    let bytes: &[u8] = column(row, index)?;
    bytes
        .try_into()
        .map(Digest32)
        .map_err(|_| ApiError::internal("storage: a hash of the wrong length"))
}

/// The key that registered `case`, its row locked until the transaction ends; `None` when it
/// is not registered.
fn lock_case(tx: &mut Tx<'_>, case: &CaseId) -> StoreResult<Option<PublicKey>> {
    tx.query_opt(
        "SELECT mediator FROM witnessed_cases WHERE case_id = $1 FOR NO KEY UPDATE",
        &[&&case.0[..]],
    )?
    .map(|row| key_at(&row, 0))
    .transpose()
}

fn is_submitter(tx: &mut Tx<'_>, case: &CaseId, key: &PublicKey) -> StoreResult<bool> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM witness_submitters WHERE case_id = $1 AND key = $2",
            &[&&case.0[..], &&key.0[..]],
        )?
        .is_some())
}

/// The case's newest held position; `None` when it holds none.
fn newest(tx: &mut Tx<'_>, case: &CaseId) -> StoreResult<Option<Held>> {
    tx.query_opt(
        "SELECT idx, hash FROM witness_hashes WHERE case_id = $1 ORDER BY idx DESC LIMIT 1",
        &[&&case.0[..]],
    )?
    .map(|row| {
        Ok(Held {
            index: uint(&row, 0)?,
            hash: digest_at(&row, 1)?,
        })
    })
    .transpose()
}

/// The hashes held at `from + 1 ..= from + count`, in order.
fn stored(tx: &mut Tx<'_>, case: &CaseId, from: u64, count: usize) -> StoreResult<Vec<Digest32>> {
    if count == 0 {
        return Ok(vec![]);
    }
    let last = from.saturating_add(count as u64);
    tx.query(
        "SELECT hash FROM witness_hashes WHERE case_id = $1 AND idx > $2 AND idx <= $3
         ORDER BY idx",
        &[&&case.0[..], &int(from)?, &int(last)?],
    )?
    .iter()
    .map(|row| digest_at(row, 0))
    .collect()
}

impl WitnessStore for Postgres {
    fn witness_secret(&self, candidate: &[u8; 32]) -> StoreResult<[u8; 32]> {
        self.write(|tx| {
            // Processes starting together: one insert wins, and every one reads the winner's.
            tx.execute(
                "INSERT INTO witness_key (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
                &[&&candidate[..]],
            )?;
            let row = tx.query_one("SELECT secret FROM witness_key WHERE id = 1", &[])?;
            let secret: &[u8] = column(&row, 0)?;
            secret
                .try_into()
                .map_err(|_| ApiError::internal("storage: a witness key of the wrong length"))
        })
    }

    fn witness_register(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        now_ms: u64,
        max_cases: u64,
    ) -> StoreResult<()> {
        self.write(|tx| {
            // Two registrations of one key, from any processes, are counted one after the other.
            advisory_lock(tx, LOCK_CLASS_WITNESS_CASES, caller)?;
            let inserted = tx.execute(
                "INSERT INTO witnessed_cases (case_id, mediator, created_ms) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&&case.0[..], &&caller.0[..], &int(now_ms)?],
            )?;
            if inserted == 0 {
                let row = tx.query_one(
                    "SELECT mediator FROM witnessed_cases WHERE case_id = $1",
                    &[&&case.0[..]],
                )?;
                return if key_at(&row, 0)? == *caller {
                    Ok(())
                } else {
                    Err(ApiError::WitnessTaken)
                };
            }
            let registered = tx.query_one(
                "SELECT COUNT(*) FROM witnessed_cases WHERE mediator = $1",
                &[&&caller.0[..]],
            )?;
            // Refused, the transaction rolls back and the case inserted above with it.
            if uint(&registered, 0)? > max_cases {
                return Err(ApiError::WitnessQuota { max: max_cases });
            }
            Ok(())
        })
    }

    fn witness_allow(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        keys: &[PublicKey],
    ) -> StoreResult<u64> {
        self.write(|tx| {
            let mediator = lock_case(tx, case)?.ok_or(ApiError::NotWitnessed)?;
            if mediator != *caller {
                return Err(ApiError::Forbidden);
            }
            let held = tx.query_one(
                "SELECT COUNT(*) FROM witness_submitters WHERE case_id = $1",
                &[&&case.0[..]],
            )?;
            let named: BTreeSet<&[u8]> = keys.iter().map(|key| &key.0[..]).collect();
            let named: Vec<&[u8]> = named.into_iter().collect();
            let known = tx.query_one(
                "SELECT COUNT(*) FROM witness_submitters WHERE case_id = $1 AND key = ANY($2)",
                &[&&case.0[..], &named],
            )?;
            let fresh = (named.len() as u64).saturating_sub(uint(&known, 0)?);
            let total = uint(&held, 0)? + fresh;
            if total > MAX_SUBMITTERS {
                return Err(ApiError::SubmitterQuota {
                    max: MAX_SUBMITTERS,
                });
            }
            tx.execute(
                "INSERT INTO witness_submitters (case_id, key)
                 SELECT $1, named.key FROM UNNEST($2::BYTEA[]) AS named (key)
                 ON CONFLICT DO NOTHING",
                &[&&case.0[..], &named],
            )?;
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
        self.write(|tx| {
            // Every check below runs under the case row's lock: no other request can move the
            // case's newest position meanwhile.
            let mediator = lock_case(tx, case)?.ok_or(ApiError::NotWitnessed)?;
            if mediator != *caller && !is_submitter(tx, case, caller)? {
                return Err(ApiError::NotASubmitter);
            }
            let newest = newest(tx, case)?;
            let held = newest.map_or(0, |newest| newest.index);
            let stored = stored(tx, case, from, overlap(held, from, hashes.len()))?;
            match decide(newest, from, hashes, &stored)? {
                Decision::Answer(heads) => Ok(heads),
                Decision::Append {
                    first,
                    hashes,
                    newest,
                } => {
                    // One statement for up to `MAX_WITNESS_HASHES` rows: the array's order
                    // gives each hash its position.
                    let hashes: Vec<&[u8]> = hashes.iter().map(|hash| &hash.0[..]).collect();
                    tx.execute(
                        "INSERT INTO witness_hashes (case_id, idx, hash)
                         SELECT $1, $2 + sent.ord - 1, sent.hash
                         FROM UNNEST($3::BYTEA[]) WITH ORDINALITY AS sent (hash, ord)",
                        &[&&case.0[..], &int(first)?, &hashes],
                    )?;
                    Ok(Heads::Agreed(newest))
                }
            }
        })
    }
}
