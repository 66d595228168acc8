//! What the hub stores to serve as a witness ([`crate::witness`]): its signing key, the cases
//! registered with it, the keys allowed to send each case's heads, and one chain hash per
//! position of each case's public record. A case witnessed here need not be hosted here: these
//! tables know nothing of `cases`, and a case id may be in both.
//!
//! [`WitnessStore`] is part of every [`super::Backend`]; each method is one transaction that
//! applies whole or changes nothing. The store signs nothing: it says which head to sign
//! ([`Heads`]), and the shell signs it.

use backchannel_core::witness::{MAX_WITNESS_HASHES, MAX_WITNESS_SUBMITTERS};
use backchannel_core::{CaseId, Digest32, PublicKey};

use super::StoreResult;
use crate::error::ApiError;

/// The most keys a case may allow to send heads, as a count the stores compare with.
pub const MAX_SUBMITTERS: u64 = MAX_WITNESS_SUBMITTERS as u64;

/// A position of a case's public record and the chain hash the witness holds there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    pub index: u64,
    pub hash: Digest32,
}

impl Held {
    /// What a witness holding no position of a case states: index 0, the zero hash.
    pub const NONE: Held = Held {
        index: 0,
        hash: Digest32::ZERO,
    };
}

/// The outcome of a `heads` request that reached the case's positions. Forks and gaps are
/// refusals that the shell turns into errors once it has signed their proof; they change
/// nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heads {
    /// Every hash sent agrees with the witness; this is its newest head afterwards
    /// ([`Held::NONE`] when it holds no position).
    Agreed(Held),
    /// The hash sent for this position differs from this one, which the witness holds.
    Fork(Held),
    /// The hashes start past the witness's newest position, which is this (`None`: it holds
    /// none).
    Gap(Option<Held>),
}

/// The stateless checks of a `heads` request, shared by the route and the stores: at most
/// [`MAX_WITNESS_HASHES`] hashes, and positions that fit a database integer.
pub fn check_heads(from: u64, hashes: &[Digest32]) -> StoreResult<()> {
    if hashes.len() > MAX_WITNESS_HASHES {
        return Err(ApiError::InvalidWitness(
            "a request sends at most 1000 hashes",
        ));
    }
    if from > i64::MAX as u64 {
        return Err(ApiError::InvalidWitness(
            "`from` must be at most 9223372036854775807",
        ));
    }
    Ok(())
}

/// The witness half of every backend.
pub trait WitnessStore {
    /// The witness's signing key (an Ed25519 secret): the stored one, or `candidate`, stored
    /// now, when none is. Every process sharing a database gets the same key, and a restarted
    /// hub keeps it.
    fn witness_secret(&self, candidate: &[u8; 32]) -> StoreResult<[u8; 32]>;

    /// Registers `case` for witnessing with `caller` as its mediator. Registering it again as
    /// the same caller changes nothing and succeeds; as another, `witness_taken`. Refuses a
    /// new case with `quota_exceeded` when `caller` has registered `max_cases` already,
    /// counted in the same transaction.
    fn witness_register(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        now_ms: u64,
        max_cases: u64,
    ) -> StoreResult<()>;

    /// Allows `keys` to send the case's heads (its mediator only); keys allowed already are
    /// skipped. Returns how many keys the case now allows. Refuses with `quota_exceeded` when
    /// that would exceed [`MAX_WITNESS_SUBMITTERS`].
    fn witness_allow(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        keys: &[PublicKey],
    ) -> StoreResult<u64>;

    /// Checks `hashes`, at positions `from + 1 ..`, against those held, and appends those past
    /// the newest; the caller is the case's mediator or a key it allowed. Appends nothing
    /// unless every hash that overlaps agrees.
    fn witness_heads(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        from: u64,
        hashes: &[Digest32],
    ) -> StoreResult<Heads>;
}

/// What a `heads` request does, once its case's newest held position is known.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decision<'a> {
    /// Answer this and change nothing.
    Answer(Heads),
    /// Append `hashes` at `first ..`, then answer `Agreed(newest)`.
    Append {
        first: u64,
        hashes: &'a [Digest32],
        newest: Held,
    },
}

/// How many of the positions `from + 1 ..= from + count` are held when the newest is `held`:
/// the hashes a store reads back to compare.
pub(crate) fn overlap(held: u64, from: u64, count: usize) -> usize {
    usize::try_from(held.saturating_sub(from))
        .unwrap_or(usize::MAX)
        .min(count)
}

/// Decides a `heads` request: `newest` is the case's newest held position (`None`: none),
/// `stored` the hashes held at `from + 1 ..`, as many as [`overlap`] says. Pure, so that both
/// stores decide alike.
pub(crate) fn decide<'a>(
    newest: Option<Held>,
    from: u64,
    hashes: &'a [Digest32],
    stored: &[Digest32],
) -> StoreResult<Decision<'a>> {
    let held = newest.map_or(0, |newest| newest.index);
    if from > held {
        return Ok(Decision::Answer(Heads::Gap(newest)));
    }
    let count = overlap(held, from, hashes.len());
    if stored.len() != count {
        return Err(ApiError::internal(
            "storage: a witnessed case's positions are not contiguous",
        ));
    }
    for (offset, (sent, kept)) in hashes.iter().zip(stored).enumerate() {
        if sent != kept {
            return Ok(Decision::Answer(Heads::Fork(Held {
                index: from + 1 + offset as u64,
                hash: *kept,
            })));
        }
    }
    // Past the overlap, the first position sent is the one after the newest held.
    let fresh = hashes.get(count..).unwrap_or(&[]);
    match fresh.last() {
        Some(&last) => Ok(Decision::Append {
            first: held + 1,
            hashes: fresh,
            newest: Held {
                index: from + hashes.len() as u64,
                hash: last,
            },
        }),
        None => Ok(Decision::Answer(Heads::Agreed(
            newest.unwrap_or(Held::NONE),
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn h(byte: u8) -> Digest32 {
        Digest32([byte; 32])
    }

    fn at(index: u64, byte: u8) -> Held {
        Held {
            index,
            hash: h(byte),
        }
    }

    #[test]
    fn a_request_agrees_forks_or_leaves_a_gap() {
        // Nothing held: a gap past 0, else append from 1.
        assert_eq!(
            decide(None, 1, &[h(2)], &[]).unwrap(),
            Decision::Answer(Heads::Gap(None))
        );
        assert_eq!(
            decide(None, 0, &[h(1)], &[]).unwrap(),
            Decision::Append {
                first: 1,
                hashes: &[h(1)],
                newest: at(1, 1)
            }
        );
        assert_eq!(
            decide(None, 0, &[], &[]).unwrap(),
            Decision::Answer(Heads::Agreed(Held::NONE))
        );
        // Three held: an agreeing overlap, then append or not.
        let newest = Some(at(3, 3));
        assert_eq!(
            decide(newest, 1, &[h(2), h(3), h(4)], &[h(2), h(3)]).unwrap(),
            Decision::Append {
                first: 4,
                hashes: &[h(4)],
                newest: at(4, 4)
            }
        );
        assert_eq!(
            decide(newest, 1, &[h(2)], &[h(2)]).unwrap(),
            Decision::Answer(Heads::Agreed(at(3, 3)))
        );
        assert_eq!(
            decide(newest, 3, &[], &[]).unwrap(),
            Decision::Answer(Heads::Agreed(at(3, 3)))
        );
        // A differing hash: the first one differing, with the hash held there.
        assert_eq!(
            decide(newest, 0, &[h(1), h(9), h(8), h(4)], &[h(1), h(2), h(3)]).unwrap(),
            Decision::Answer(Heads::Fork(at(2, 2)))
        );
        assert_eq!(
            decide(newest, 4, &[h(5)], &[]).unwrap(),
            Decision::Answer(Heads::Gap(Some(at(3, 3))))
        );
        // A store whose positions have a hole is an internal failure, never a guess.
        assert!(decide(newest, 0, &[h(1), h(2)], &[h(1)]).is_err());
    }

    #[test]
    fn the_overlap_is_what_is_held_of_what_is_sent() {
        assert_eq!(overlap(3, 0, 2), 2);
        assert_eq!(overlap(3, 1, 5), 2);
        assert_eq!(overlap(3, 3, 5), 0);
        assert_eq!(overlap(3, 7, 5), 0);
        assert_eq!(overlap(u64::MAX, 0, 5), 5);
    }

    #[test]
    fn hashes_and_positions_are_bounded() {
        assert!(check_heads(i64::MAX as u64, &[h(1); MAX_WITNESS_HASHES]).is_ok());
        assert!(matches!(
            check_heads(0, &[h(1); MAX_WITNESS_HASHES + 1]),
            Err(ApiError::InvalidWitness(_))
        ));
        assert!(matches!(
            check_heads(i64::MAX as u64 + 1, &[]),
            Err(ApiError::InvalidWitness(_))
        ));
    }
}
