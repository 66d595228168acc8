//! The state every handler shares: the store, the clock, the push channel and the bound on
//! open streams.

use std::sync::Arc;

use backchannel_core::api::Notice;
use backchannel_core::{CaseId, PublicKey};
use tokio::sync::{Semaphore, broadcast};

use crate::error::ApiError;
use crate::store::Backend;

/// The most WebSocket streams the hub keeps open at once.
pub const MAX_STREAMS: usize = 1024;
/// How many notices a slow stream may fall behind before it is closed.
const NOTICE_BUFFER: usize = 1024;

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
    notices: broadcast::Sender<Published>,
    streams: Arc<Semaphore>,
}

impl AppState {
    /// State over `store`, reading the system clock.
    pub fn new(store: Arc<dyn Backend>) -> Self {
        let (notices, _) = broadcast::channel(NOTICE_BUFFER);
        Self {
            store,
            clock: Arc::new(crate::now_ms),
            notices,
            streams: Arc::new(Semaphore::new(MAX_STREAMS)),
        }
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Replaces the bound on open streams (tests).
    pub fn with_max_streams(mut self, max_streams: usize) -> Self {
        self.streams = Arc::new(Semaphore::new(max_streams));
        self
    }

    /// The hub's time, in unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        (self.clock)()
    }

    /// The store, for direct inspection (tests, operators).
    pub fn store(&self) -> &Arc<dyn Backend> {
        &self.store
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

    /// Announces an accepted entry to the open streams.
    pub fn publish(&self, published: Published) {
        // No stream open is not an error.
        let _ = self.notices.send(published);
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Published> {
        self.notices.subscribe()
    }

    pub(crate) fn streams(&self) -> &Arc<Semaphore> {
        &self.streams
    }
}
