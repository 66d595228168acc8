//! The state every handler shares: the store, the clock, who may use the hub, the push
//! channel, the bound on open streams and the witness's key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use backchannel_core::api::{ChannelKind, Notice};
use backchannel_core::{CaseId, HubChannel, PublicKey};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast};

use crate::error::ApiError;
use crate::extract::BODY_TIMEOUT;
use crate::metrics::Metrics;
use crate::policy::Policy;
use crate::rate::RateLimit;
use crate::store::Backend;
use crate::witness::{WitnessSigner, fresh_secret};

/// The most WebSocket streams the hub keeps open at once.
pub const MAX_STREAMS: usize = 1024;
/// The most of them one key may hold, so that no key takes every slot.
pub const MAX_STREAMS_PER_KEY: usize = 8;
/// The most streams one case may have open, so that no case takes every slot.
pub const MAX_STREAMS_PER_CASE: usize = 256;
/// How often the hub pings an open stream.
pub const STREAM_PING: Duration = Duration::from_secs(30);
/// How long a stream may stay silent (not even answering pings) before the hub closes it.
pub const STREAM_IDLE: Duration = Duration::from_secs(90);
/// The most requests the hub serves at once; one more is answered `503 too_busy`.
pub const MAX_REQUESTS: usize = 4096;
/// How many notices a slow stream may fall behind before it is closed.
const NOTICE_BUFFER: usize = 1024;
/// How many (case, channel, member) kinds the hub remembers before it starts afresh.
const MAX_KINDS: usize = 65_536;

/// The kind of a channel, as found for one of its members.
type KindKey = (CaseId, HubChannel, PublicKey);

/// A notice as published inside the hub: with its case and the channel's members after the
/// entry, so that streams can filter without asking the store.
#[derive(Clone, Debug)]
pub struct Published {
    pub case: CaseId,
    pub notice: Notice,
    pub members: Arc<[PublicKey]>,
}

/// Shared state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    store: Arc<dyn Backend>,
    clock: Arc<dyn Fn() -> u64 + Send + Sync>,
    /// Who may convene, and the quotas.
    policy: Arc<Policy>,
    notices: broadcast::Sender<Published>,
    streams: Arc<Semaphore>,
    /// Open streams by key, and how many one key may hold.
    streams_by_key: Arc<Mutex<HashMap<PublicKey, usize>>>,
    max_streams_per_key: usize,
    streams_by_case: Arc<Mutex<HashMap<CaseId, usize>>>,
    max_streams_per_case: usize,
    /// How often open streams are pinged, and how long one may stay silent.
    stream_idle: (Duration, Duration),
    /// Requests being served, bounded by [`MAX_REQUESTS`].
    requests: Arc<Semaphore>,
    /// How long a request's body may take to arrive.
    body_timeout: Duration,
    /// The key the hub co-signs with as a witness, once loaded from the store.
    witness: Arc<OnceLock<WitnessSigner>>,
    /// Channel kinds already looked up for a member; a channel's kind never changes.
    kinds: Arc<Mutex<HashMap<KindKey, ChannelKind>>>,
    rate: Option<Arc<RateLimit>>,
    max_streams: usize,
    metrics: Arc<Metrics>,
}

/// A stream's place among the open ones: given back when dropped.
pub struct StreamSlot {
    _global: OwnedSemaphorePermit,
    key: PublicKey,
    case: CaseId,
    by_key: Arc<Mutex<HashMap<PublicKey, usize>>>,
    by_case: Arc<Mutex<HashMap<CaseId, usize>>>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        give_back(&self.by_key, &self.key);
        give_back(&self.by_case, &self.case);
    }
}

/// Counts one more for `at`, unless it holds `max` already.
fn take<K: std::hash::Hash + Eq + Copy>(
    counts: &Mutex<HashMap<K, usize>>,
    at: &K,
    max: usize,
) -> bool {
    let mut held = counts.lock().unwrap_or_else(|p| p.into_inner());
    let count = held.entry(*at).or_insert(0);
    if *count >= max {
        return false;
    }
    *count += 1;
    true
}

/// Counts one less for `at`, forgetting it at none.
fn give_back<K: std::hash::Hash + Eq>(counts: &Mutex<HashMap<K, usize>>, at: &K) {
    let mut held = counts.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(count) = held.get_mut(at) {
        *count = count.saturating_sub(1);
        if *count == 0 {
            held.remove(at);
        }
    }
}

impl AppState {
    /// State over `store`, reading the system clock, with the default [`Policy`] (anyone may
    /// convene, within the default quotas).
    pub fn new(store: Arc<dyn Backend>) -> Self {
        let (notices, _) = broadcast::channel(NOTICE_BUFFER);
        Self {
            store,
            clock: Arc::new(crate::now_ms),
            policy: Arc::new(Policy::default()),
            notices,
            streams: Arc::new(Semaphore::new(MAX_STREAMS)),
            streams_by_key: Arc::default(),
            max_streams_per_key: MAX_STREAMS_PER_KEY,
            streams_by_case: Arc::default(),
            max_streams_per_case: MAX_STREAMS_PER_CASE,
            stream_idle: (STREAM_PING, STREAM_IDLE),
            requests: Arc::new(Semaphore::new(MAX_REQUESTS)),
            body_timeout: BODY_TIMEOUT,
            witness: Arc::default(),
            kinds: Arc::default(),
            rate: None,
            max_streams: MAX_STREAMS,
            metrics: Arc::default(),
        }
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Replaces who may use the hub and the quotas.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.rate = policy
            .max_requests_per_second
            .map(|per_second| Arc::new(RateLimit::new(per_second)));
        self.policy = Arc::new(policy);
        self
    }

    /// Counts one request of `key` against its rate, if the policy bounds it.
    pub(crate) fn take_rate(&self, key: &PublicKey) -> Result<(), ApiError> {
        match &self.rate {
            Some(rate) => rate
                .take(key, self.now_ms())
                .map_err(|retry_after_s| ApiError::RateLimited { retry_after_s }),
            None => Ok(()),
        }
    }

    /// Who may use the hub and the quotas.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Replaces the bounds on open streams, in all and per key (tests).
    pub fn with_max_streams(mut self, max_streams: usize, per_key: usize) -> Self {
        self.streams = Arc::new(Semaphore::new(max_streams));
        self.max_streams = max_streams;
        self.max_streams_per_key = per_key;
        self
    }

    /// Bounds the streams one case may have open (tests).
    pub fn with_max_streams_per_case(mut self, per_case: usize) -> Self {
        self.max_streams_per_case = per_case;
        self
    }

    /// Pings open streams every `ping` and closes one silent for `idle` (tests).
    pub fn with_stream_idle(mut self, ping: Duration, idle: Duration) -> Self {
        self.stream_idle = (ping, idle);
        self
    }

    pub(crate) fn stream_idle(&self) -> (Duration, Duration) {
        self.stream_idle
    }

    /// The counters `/metrics` shows.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Push streams open now.
    pub fn streams_open(&self) -> usize {
        self.max_streams
            .saturating_sub(self.streams.available_permits())
    }

    /// Replaces the bound on requests served at once (tests).
    pub fn with_max_requests(mut self, max_requests: usize) -> Self {
        self.requests = Arc::new(Semaphore::new(max_requests));
        self
    }

    /// Replaces how long a request's body may take to arrive (tests).
    pub fn with_body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// How long a request's body may take to arrive.
    pub fn body_timeout(&self) -> Duration {
        self.body_timeout
    }

    /// A place for one more request being served, or `too_busy` when the hub is full.
    pub(crate) fn claim_request(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        Arc::clone(&self.requests)
            .try_acquire_owned()
            .map_err(|_| ApiError::TooBusy)
    }

    /// The hub's time, in unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        (self.clock)()
    }

    /// The store, for direct inspection (tests, operators).
    pub fn store(&self) -> &Arc<dyn Backend> {
        &self.store
    }

    /// The key the hub co-signs with as a witness: the one its database keeps, made and kept
    /// there by the first hub to ask. The hub loads it when it starts; a state built by hand
    /// loads it on first use.
    pub async fn witness(&self) -> Result<&WitnessSigner, ApiError> {
        if let Some(signer) = self.witness.get() {
            return Ok(signer);
        }
        // Two first uses racing store one candidate between them, and both read that one.
        let candidate = fresh_secret();
        let secret = self
            .db(move |store| store.witness_secret(&candidate))
            .await?;
        let _ = self.witness.set(WitnessSigner::from_secret(&secret));
        self.witness
            .get()
            .ok_or_else(|| ApiError::internal("the witness key was not kept"))
    }

    /// Runs a store operation on the blocking pool.
    pub async fn db<T, F>(&self, operation: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Backend) -> Result<T, ApiError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || operation(store.as_ref()))
            .await
            .map_err(ApiError::internal)?
    }

    /// The kind of `channel`, once `caller` is found a member of it: read from the store the
    /// first time, remembered after (a channel's kind never changes), so that a post checks
    /// its entry's framing without a read of its own. Membership itself is checked again by
    /// every post, in its write.
    pub async fn channel_kind(
        &self,
        case: CaseId,
        channel: &HubChannel,
        caller: PublicKey,
    ) -> Result<ChannelKind, ApiError> {
        let key = (case, channel.clone(), caller);
        let known = self
            .kinds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .copied();
        if let Some(kind) = known {
            return Ok(kind);
        }
        let kind = {
            let channel = channel.clone();
            self.db(move |store| store.channel_kind(&case, &channel, &caller))
                .await?
        };
        let mut kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        if kinds.len() >= MAX_KINDS {
            kinds.clear();
        }
        kinds.insert(key, kind);
        Ok(kind)
    }

    /// Forgets what [`AppState::channel_kind`] remembered for `caller`.
    pub fn forget_kind(&self, case: CaseId, channel: &HubChannel, caller: PublicKey) {
        self.kinds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(case, channel.clone(), caller));
    }

    /// Hands the entries other processes on a shared database accept to this process's
    /// push streams (PostgreSQL's `LISTEN`; nothing for SQLite).
    pub fn follow_other_processes(&self) {
        let notices = self.notices.clone();
        self.store
            .follow_others(Box::new(move |case, notice, members| {
                let _ = notices.send(Published {
                    case,
                    notice,
                    members: members.into(),
                });
            }));
    }

    /// Announces an accepted entry to the open streams.
    pub fn publish(&self, published: Published) {
        // No stream open is not an error.
        let _ = self.notices.send(published);
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Published> {
        self.notices.subscribe()
    }

    /// A place for one more stream of `key` on `case`: refused when the hub is full
    /// (`too_many_streams`), or the key or the case holds its share (`quota_exceeded`).
    pub(crate) fn claim_stream(
        &self,
        key: PublicKey,
        case: CaseId,
    ) -> Result<StreamSlot, ApiError> {
        let global = Arc::clone(&self.streams)
            .try_acquire_owned()
            .map_err(|_| ApiError::TooManyStreams)?;
        if !take(&self.streams_by_key, &key, self.max_streams_per_key) {
            return Err(ApiError::StreamQuota);
        }
        if !take(&self.streams_by_case, &case, self.max_streams_per_case) {
            give_back(&self.streams_by_key, &key);
            return Err(ApiError::CaseStreamQuota);
        }
        Ok(StreamSlot {
            _global: global,
            key,
            case,
            by_key: Arc::clone(&self.streams_by_key),
            by_case: Arc::clone(&self.streams_by_case),
        })
    }
}
