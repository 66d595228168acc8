//! Who may use the hub: which keys may convene cases, and how much one key or one case may
//! take. The routes consult the [`Policy`] in the shared state; the quotas are counted by the
//! store inside the transaction that would exceed them, so concurrent requests cannot
//! overshoot.

use std::collections::BTreeSet;
use std::path::Path;

use backchannel_core::PublicKey;

/// How many cases one key may create, unless configured otherwise.
pub const DEFAULT_MAX_CASES_PER_KEY: u64 = 100;
/// How many invites one case may hold (spent, revoked and expired ones included), unless
/// configured otherwise.
pub const DEFAULT_MAX_INVITES_PER_CASE: u64 = 500;
/// How many bytes of entries one key may store, unless configured otherwise: 1 GiB.
pub const DEFAULT_MAX_BYTES_PER_KEY: u64 = 1 << 30;

/// Which keys may create cases (`POST /v1/cases`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Conveners {
    /// Any key (`--open`, and the default).
    #[default]
    Anyone,
    /// Only these keys (`--mediators FILE`).
    Listed(BTreeSet<PublicKey>),
}

impl Conveners {
    /// Whether `key` may create a case.
    pub fn admit(&self, key: &PublicKey) -> bool {
        match self {
            Conveners::Anyone => true,
            Conveners::Listed(keys) => keys.contains(key),
        }
    }
}

/// Who may use the hub and how much one key or case may take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub conveners: Conveners,
    /// The most cases one key may create; the next is refused with `quota_exceeded`.
    pub max_cases_per_key: u64,
    /// The most invites one case may hold; the next is refused with `quota_exceeded`.
    pub max_invites_per_case: u64,
    /// Requests per second one key may send (bursts of twice that); `None`: unbounded.
    pub max_requests_per_second: Option<u32>,
    /// The most bytes of entries (bodies and welcomes) one key may store at the hub.
    pub max_bytes_per_key: u64,
}

impl Default for Policy {
    /// Anyone may convene, within the default quotas, at any rate (the command line's hub
    /// bounds the rate by default: `rate::DEFAULT_REQUESTS_PER_SECOND`).
    fn default() -> Self {
        Self {
            conveners: Conveners::Anyone,
            max_cases_per_key: DEFAULT_MAX_CASES_PER_KEY,
            max_invites_per_case: DEFAULT_MAX_INVITES_PER_CASE,
            max_requests_per_second: None,
            max_bytes_per_key: DEFAULT_MAX_BYTES_PER_KEY,
        }
    }
}

impl Policy {
    /// Only `keys` may convene, within the default quotas.
    pub fn mediators(keys: impl IntoIterator<Item = PublicKey>) -> Self {
        Self {
            conveners: Conveners::Listed(keys.into_iter().collect()),
            ..Self::default()
        }
    }
}

/// Why a list of mediators was refused.
#[derive(Debug, thiserror::Error)]
pub enum MediatorsError {
    #[error("cannot read the mediators file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("line {line} of the mediators file {path} {reason}")]
    Malformed {
        path: String,
        line: usize,
        reason: &'static str,
    },
}

/// Parses a list of mediators: one hex Ed25519 public key per line; blank lines and
/// everything from a `#` to the end of its line are ignored. A malformed line is refused
/// with its number (from 1) and why.
pub fn parse_mediators(text: &str) -> Result<BTreeSet<PublicKey>, (usize, &'static str)> {
    let mut keys = BTreeSet::new();
    for (index, line) in text.lines().enumerate() {
        let content = line
            .split_once('#')
            .map_or(line, |(before, _)| before)
            .trim();
        if content.is_empty() {
            continue;
        }
        if content.split_whitespace().nth(1).is_some() {
            return Err((index + 1, "holds more than one word; put one key per line"));
        }
        let Some(key) = PublicKey::parse(content) else {
            return Err((
                index + 1,
                "is not a public key: expected 64 hex digits (as `backchannel id show` prints)",
            ));
        };
        if key.verifying_key().is_none() {
            return Err((index + 1, "is 64 hex digits but not an Ed25519 public key"));
        }
        keys.insert(key);
    }
    Ok(keys)
}

/// Reads the list of mediators at `path` (see [`parse_mediators`]).
pub fn read_mediators(path: &Path) -> Result<BTreeSet<PublicKey>, MediatorsError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| MediatorsError::Read {
        path: shown.clone(),
        source,
    })?;
    parse_mediators(&text).map_err(|(line, reason)| MediatorsError::Malformed {
        path: shown,
        line,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> PublicKey {
        PublicKey(
            ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
                .verifying_key()
                .to_bytes(),
        )
    }

    #[test]
    fn a_list_takes_keys_comments_and_blank_lines() {
        let text = format!(
            "# the mediators of this hub\n\n{}\n  {}  # Geneva\n{}\n",
            key(1).to_hex(),
            key(2).to_hex().to_uppercase(),
            key(1).to_hex()
        );
        assert_eq!(parse_mediators(&text), Ok([key(1), key(2)].into()));
        assert_eq!(parse_mediators(""), Ok(BTreeSet::new()));
    }

    #[test]
    fn a_malformed_line_is_named() {
        let good = key(1).to_hex();
        for (text, line) in [
            (format!("{good}\nnot a key\n"), 2),
            (format!("\n\n{}\n", &good[..62]), 3),
            (format!("{good}0\n"), 1),
            (format!("{good} {good}\n"), 1),
            (format!("# fine\n{}\n", "zz".repeat(32)), 2),
        ] {
            assert_eq!(
                parse_mediators(&text).map_err(|(at, _)| at),
                Err(line),
                "{text}"
            );
        }
        // 64 hex digits that are no point on the curve.
        let not_a_point = (0..=u8::MAX)
            .map(|first| {
                let mut bytes = [0; 32];
                bytes[0] = first;
                PublicKey(bytes)
            })
            .find(|key| key.verifying_key().is_none())
            .map(|key| key.to_hex());
        assert!(not_a_point.is_some());
        let text = not_a_point.unwrap_or_default();
        assert_eq!(parse_mediators(&text).map_err(|(at, _)| at), Err(1));
    }

    #[test]
    fn the_default_lets_anyone_convene() {
        let policy = Policy::default();
        assert!(policy.conveners.admit(&key(3)));
        assert_eq!(
            (policy.max_cases_per_key, policy.max_invites_per_case),
            (100, 500)
        );
        let listed = Policy::mediators([key(1)]);
        assert!(listed.conveners.admit(&key(1)));
        assert!(!listed.conveners.admit(&key(2)));
    }
}
