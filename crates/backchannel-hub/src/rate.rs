//! Requests per second per key: a token bucket for each authenticated key, in memory, per
//! process. A key may send `per_second` requests a second on average and twice that in a
//! burst; one more is refused with `429 rate_limited` and a `Retry-After` of the seconds until
//! a request is allowed again. Only requests whose signature verified are counted, so nobody
//! can spend another key's allowance. Several processes on one PostgreSQL database each
//! allow the full rate: a key reaching all of them gets that many times more.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use backchannel_core::PublicKey;

/// Requests per second one key may send, by default (`hub --max-requests-per-second`).
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 200;
/// Keys tracked at once; beyond it, the buckets that are full again are forgotten.
const MAX_BUCKETS: usize = 100_000;

/// The buckets of every key that sent a request lately.
#[derive(Debug)]
pub struct RateLimit {
    per_second: u32,
    buckets: Mutex<HashMap<PublicKey, Bucket>>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Requests allowed now, in thousandths.
    milli_tokens: u64,
    at_ms: u64,
}

impl RateLimit {
    /// `per_second` requests a second per key, bursts of twice that.
    pub fn new(per_second: u32) -> Self {
        Self {
            per_second: per_second.max(1),
            buckets: Mutex::default(),
        }
    }

    fn capacity(&self) -> u64 {
        2 * u64::from(self.per_second) * 1000
    }

    /// Counts one request of `key` at `now_ms`; when none is allowed, the whole seconds until
    /// one is.
    pub fn take(&self, key: &PublicKey, now_ms: u64) -> Result<(), u64> {
        let capacity = self.capacity();
        let per_ms = u64::from(self.per_second);
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            buckets.retain(|_, bucket| refilled(*bucket, now_ms, per_ms, capacity) < capacity);
        }
        let bucket = buckets.entry(*key).or_insert(Bucket {
            milli_tokens: capacity,
            at_ms: now_ms,
        });
        let tokens = refilled(*bucket, now_ms, per_ms, capacity);
        *bucket = Bucket {
            milli_tokens: tokens,
            at_ms: now_ms.max(bucket.at_ms),
        };
        if tokens < 1000 {
            let wait_ms = (1000 - tokens).div_ceil(per_ms);
            return Err(wait_ms.div_ceil(1000).max(1));
        }
        bucket.milli_tokens = tokens - 1000;
        Ok(())
    }
}

/// What `bucket` holds at `now_ms`: `per_ms` thousandths of a request each millisecond.
fn refilled(bucket: Bucket, now_ms: u64, per_ms: u64, capacity: u64) -> u64 {
    let elapsed = now_ms.saturating_sub(bucket.at_ms);
    bucket
        .milli_tokens
        .saturating_add(elapsed.saturating_mul(per_ms))
        .min(capacity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_bursts_then_waits_and_others_are_not_slowed() {
        let limit = RateLimit::new(5);
        let (one, two) = (PublicKey([1; 32]), PublicKey([2; 32]));
        for _ in 0..10 {
            assert_eq!(limit.take(&one, 1_000), Ok(()));
        }
        assert_eq!(limit.take(&one, 1_000), Err(1));
        assert_eq!(limit.take(&two, 1_000), Ok(()));
        // A fifth of a second later, one request is allowed again, then none.
        assert_eq!(limit.take(&one, 1_200), Ok(()));
        assert_eq!(limit.take(&one, 1_200), Err(1));
        // Idle, the bucket fills to the burst and no further.
        for _ in 0..10 {
            assert_eq!(limit.take(&one, 100_000), Ok(()));
        }
        assert!(limit.take(&one, 100_000).is_err());
    }

    #[test]
    fn a_clock_that_steps_back_allows_nothing_extra() {
        let limit = RateLimit::new(1);
        let key = PublicKey([3; 32]);
        assert_eq!(limit.take(&key, 10_000), Ok(()));
        assert_eq!(limit.take(&key, 10_000), Ok(()));
        assert!(limit.take(&key, 5_000).is_err());
    }
}
