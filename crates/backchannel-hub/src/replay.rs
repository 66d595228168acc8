//! Replay protection without a database write per request: the (key, nonce) pairs of the
//! requests whose timestamps are still fresh, in memory, with each new pair appended to a
//! log beside the database, so that a hub restarted inside the freshness window still
//! refuses what it accepted before.
//!
//! A pair is needed only while a request carrying it could pass the clock check: once its
//! timestamp is more than [`MAX_SKEW_MS`] behind the hub's clock, it is forgotten. The log
//! is written without fsync, like the database's own commits in `synchronous=NORMAL`: it
//! survives a killed process, not a power loss. It is compacted when it holds mostly
//! forgotten pairs (written whole to a new file, synced, renamed over the old one), so it
//! stays the size of the window.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context as _;
use backchannel_core::PublicKey;
use backchannel_core::auth::MAX_SKEW_MS;

use crate::error::ApiError;

/// The most pairs held at once: at the hub's fastest, several minutes of requests.
pub const MAX_NONCES: usize = 2_000_000;
/// How many insertions pass between two sweeps of forgotten pairs.
const SWEEP_EVERY: usize = 4096;
/// One log record: the key, the nonce, the timestamp (little-endian).
const RECORD: usize = 32 + 16 + 8;

type Pair = ([u8; 32], [u8; 16]);

/// The window of fresh nonces; see the module docs.
pub struct NonceWindow {
    inner: Mutex<Inner>,
}

struct Inner {
    seen: HashMap<Pair, u64>,
    since_sweep: usize,
    log: Option<Log>,
}

struct Log {
    path: PathBuf,
    file: File,
    records: usize,
}

impl NonceWindow {
    /// A window held in memory only (an in-memory database).
    pub fn in_memory() -> Self {
        Self::with(HashMap::new(), None)
    }

    /// A window logged at `path`, with the pairs an earlier process logged there. A torn last
    /// record (a crash inside a write) is cut off.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let mut bytes = Vec::new();
        if path.exists() {
            File::open(path)
                .and_then(|mut file| file.read_to_end(&mut bytes))
                .with_context(|| format!("reading {}", path.display()))?;
        }
        let whole = bytes.len() - bytes.len() % RECORD;
        let mut seen = HashMap::new();
        for record in bytes[..whole].chunks_exact(RECORD) {
            let (pair, ts_ms) = decode(record);
            seen.insert(pair, ts_ms);
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        file.set_len(whole as u64)
            .with_context(|| format!("trimming {}", path.display()))?;
        let log = Log {
            path: path.to_owned(),
            file,
            records: whole / RECORD,
        };
        Ok(Self::with(seen, Some(log)))
    }

    fn with(seen: HashMap<Pair, u64>, log: Option<Log>) -> Self {
        Self {
            inner: Mutex::new(Inner {
                seen,
                since_sweep: 0,
                log,
            }),
        }
    }

    /// Records `(key, nonce)`; `false` when it was seen before. Refuses with `rate_limited`
    /// when the window is full.
    pub fn record(
        &self,
        key: &PublicKey,
        nonce: &[u8; 16],
        ts_ms: u64,
        now_ms: u64,
    ) -> Result<bool, ApiError> {
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| ApiError::internal("replay window mutex poisoned"))?;
        inner.since_sweep += 1;
        if inner.since_sweep >= SWEEP_EVERY || inner.seen.len() >= MAX_NONCES {
            inner.sweep(now_ms)?;
        }
        let pair = (key.0, *nonce);
        if inner.seen.contains_key(&pair) {
            return Ok(false);
        }
        if inner.seen.len() >= MAX_NONCES {
            return Err(ApiError::RateLimited { retry_after_s: 1 });
        }
        if let Some(log) = &mut inner.log {
            log.file
                .write_all(&encode(&pair, ts_ms))
                .map_err(|e| ApiError::internal(format!("writing the nonce log: {e}")))?;
            log.records += 1;
        }
        inner.seen.insert(pair, ts_ms);
        Ok(true)
    }

    /// How many pairs are held (tests, operators).
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |inner| inner.seen.len())
    }

    /// Whether no pair is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    /// Forgets the pairs no request can carry any more, and compacts the log when most of it
    /// is forgotten.
    fn sweep(&mut self, now_ms: u64) -> Result<(), ApiError> {
        self.since_sweep = 0;
        let horizon = now_ms.saturating_sub(MAX_SKEW_MS);
        self.seen.retain(|_, ts_ms| *ts_ms >= horizon);
        let live = self.seen.len();
        if let Some(log) = &mut self.log
            && log.records > 2 * live + SWEEP_EVERY
        {
            log.compact(&self.seen)
                .map_err(|e| ApiError::internal(format!("compacting the nonce log: {e:#}")))?;
        }
        Ok(())
    }
}

impl Log {
    fn compact(&mut self, seen: &HashMap<Pair, u64>) -> anyhow::Result<()> {
        let mut bytes = Vec::with_capacity(seen.len() * RECORD);
        for (pair, ts_ms) in seen {
            bytes.extend_from_slice(&encode(pair, *ts_ms));
        }
        let fresh = self.path.with_extension("compacting");
        let mut file = File::create(&fresh)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&fresh, &self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        self.records = seen.len();
        Ok(())
    }
}

fn encode(pair: &Pair, ts_ms: u64) -> [u8; RECORD] {
    let mut record = [0; RECORD];
    record[..32].copy_from_slice(&pair.0);
    record[32..48].copy_from_slice(&pair.1);
    record[48..].copy_from_slice(&ts_ms.to_le_bytes());
    record
}

fn decode(record: &[u8]) -> (Pair, u64) {
    let mut key = [0; 32];
    let mut nonce = [0; 16];
    let mut ts = [0; 8];
    key.copy_from_slice(&record[..32]);
    nonce.copy_from_slice(&record[32..48]);
    ts.copy_from_slice(&record[48..RECORD]);
    ((key, nonce), u64::from_le_bytes(ts))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const KEY: PublicKey = PublicKey([1; 32]);

    #[test]
    fn a_nonce_is_accepted_once_and_forgotten_when_stale() {
        let window = NonceWindow::in_memory();
        assert!(window.record(&KEY, &[2; 16], 1_000, 1_000).unwrap());
        assert!(!window.record(&KEY, &[2; 16], 1_000, 1_000).unwrap());
        assert!(
            window
                .record(&PublicKey([3; 32]), &[2; 16], 1_000, 1_000)
                .unwrap()
        );
        // Once no request can carry it, the pair is swept.
        let later = 1_001 + MAX_SKEW_MS;
        for n in 0..SWEEP_EVERY as u32 {
            let mut nonce = [9; 16];
            nonce[..4].copy_from_slice(&n.to_le_bytes());
            assert!(window.record(&KEY, &nonce, later, later).unwrap());
        }
        assert_eq!(window.len(), SWEEP_EVERY);
    }

    #[test]
    fn a_restarted_window_refuses_what_it_accepted_and_survives_a_torn_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.sqlite-nonces");
        {
            let window = NonceWindow::open(&path).unwrap();
            assert!(window.record(&KEY, &[2; 16], 1_000, 1_000).unwrap());
            assert!(window.record(&KEY, &[3; 16], 1_000, 1_000).unwrap());
        }
        // A crash inside a write leaves part of a record.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&[7; RECORD / 2]).unwrap();
        drop(file);
        let window = NonceWindow::open(&path).unwrap();
        assert!(!window.record(&KEY, &[2; 16], 1_000, 1_000).unwrap());
        assert!(!window.record(&KEY, &[3; 16], 1_000, 1_000).unwrap());
        assert!(window.record(&KEY, &[4; 16], 1_000, 1_000).unwrap());
        drop(window);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 3 * RECORD as u64);
    }

    #[test]
    fn the_log_is_compacted_to_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nonces");
        let window = NonceWindow::open(&path).unwrap();
        let mut now = 1_000;
        for n in 0..(4 * SWEEP_EVERY) as u32 {
            now += 1_000;
            let mut nonce = [0; 16];
            nonce[..4].copy_from_slice(&n.to_le_bytes());
            assert!(window.record(&KEY, &nonce, now, now).unwrap());
        }
        let records = std::fs::metadata(&path).unwrap().len() as usize / RECORD;
        assert!(records < 2 * SWEEP_EVERY + 1000, "{records} records");
        drop(window);
        // What survives a restart is what is still fresh.
        let reopened = NonceWindow::open(&path).unwrap();
        let mut last = [0; 16];
        last[..4].copy_from_slice(&(4 * SWEEP_EVERY as u32 - 1).to_le_bytes());
        assert!(!reopened.record(&KEY, &last, now, now).unwrap());
    }
}
