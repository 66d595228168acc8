//! What the storage tests share: entries and key packages as the shell would hand them to a
//! backend, and the default quotas, which the stories stay within.

use backchannel_core::api::EntryKind;
use backchannel_hub::policy::{DEFAULT_MAX_CASES_PER_KEY, DEFAULT_MAX_INVITES_PER_CASE};
use backchannel_hub::store::{KeyPackageBody, NewEntry};

pub const CASES: u64 = DEFAULT_MAX_CASES_PER_KEY;
pub const INVITES: u64 = DEFAULT_MAX_INVITES_PER_CASE;

/// An entry after `after`, its body the byte `after`, within no byte quota.
pub fn entry(kind: EntryKind, after: u64, epoch: Option<u64>) -> NewEntry {
    NewEntry {
        kind,
        after,
        body: vec![after as u8],
        epoch,
        welcome: None,
        add: vec![],
        remove: vec![],
        quota: u64::MAX,
    }
}

pub fn ordinary(byte: u8) -> KeyPackageBody {
    KeyPackageBody {
        body: vec![byte],
        last_resort: false,
    }
}

pub fn last_resort(byte: u8) -> KeyPackageBody {
    KeyPackageBody {
        body: vec![byte],
        last_resort: true,
    }
}
