//! Storage: the [`Backend`] trait is everything the routes ask of a database, one method per
//! operation, each one transaction that either applies whole or changes nothing.
//!
//! The stateful rules (membership, roles, the channel head, one commit per epoch, invites
//! spent once and not after they expire or are revoked, the quotas of cases per key, invites
//! per case and key packages per key) are enforced here, inside the
//! transaction, because only there are they free of races. Stateless checks (names, MLS framing) happen before, in [`crate::check`]. Backends
//! read no clock: the shell passes `now_ms` in.
//!
//! Two backends implement it: [`sqlite::Sqlite`] (one file, one hub process) and
//! [`postgres::Postgres`] (one database shared by several stateless hub processes). Both run
//! the same story test (`tests/store.rs`; the witness's part in `tests/witness.rs`). Methods
//! are synchronous: the shell runs them on tokio's blocking pool.
//!
//! What the hub keeps as a witness is a trait of its own, [`WitnessStore`], that every
//! backend implements beside [`Backend`] (in `sqlite/witness.rs` and `postgres/witness.rs`).

pub mod postgres;
pub mod sqlite;
pub mod witness;

use backchannel_core::api::{
    Blob, ChannelInfo, ChannelKind, Entries, EntryKind, Member, MemberRole, Notice, Welcome,
};
use backchannel_core::{CaseId, HubChannel, PublicKey};

use crate::error::ApiError;

pub use self::postgres::Postgres;
pub use sqlite::Sqlite;
pub use witness::{Heads, Held, WitnessStore};

/// The result of every storage operation: a domain rejection or an internal failure are both
/// [`ApiError`]s.
pub type StoreResult<T> = Result<T, ApiError>;

/// An invite as checked by the shell, ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewInvite {
    /// Lowercase hex SHA-256 of the invite secret.
    pub code_hash: String,
    pub role: MemberRole,
    /// When the code stops being accepted (unix ms); `None`: never.
    pub expires_ms: Option<u64>,
}

/// An entry whose framing the shell has checked against the channel's kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEntry {
    pub kind: EntryKind,
    /// The head the sender saw.
    pub after: u64,
    pub body: Vec<u8>,
    /// The MLS epoch of the message; `None` exactly for sealed channels.
    pub epoch: Option<u64>,
    pub welcome: Option<Vec<u8>>,
    pub add: Vec<PublicKey>,
    pub remove: Vec<PublicKey>,
    /// The most bytes its author may have stored at the hub, this entry's body and welcome
    /// included (`Policy::max_bytes_per_key`); beyond it the post is `quota_exceeded`.
    pub quota: u64,
}

impl NewEntry {
    /// What this entry adds to its author's bytes stored.
    pub fn stored_bytes(&self) -> u64 {
        let welcome = self.welcome.as_ref().map_or(0, Vec::len);
        u64::try_from(self.body.len() + welcome).unwrap_or(u64::MAX)
    }
}

/// What an accepted entry changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub seq: u64,
    /// The channel's members after the entry was applied.
    pub members: Vec<PublicKey>,
}

/// Row counts, for tests and operators.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub cases: u64,
    pub members: u64,
    pub invites: u64,
    pub invites_used: u64,
    pub invites_revoked: u64,
    pub channels: u64,
    pub channel_members: u64,
    pub entries: u64,
    pub welcomes: u64,
    pub key_packages: u64,
}

/// Hands a notice of an entry another process accepted to this process's push streams,
/// with the channel's members.
pub type Publish = Box<dyn Fn(CaseId, Notice, Vec<PublicKey>) + Send>;

/// A key package as uploaded, checked to be the uploader's (`check::key_package`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPackageBody {
    pub body: Vec<u8>,
    /// Whether it carries MLS's last_resort extension: handed out when no other is left, and
    /// never deleted by a claim.
    pub last_resort: bool,
}

/// What a key holds at the hub for others to add it to channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyStock {
    /// Ordinary key packages, each handed out once.
    pub available: usize,
    /// Whether a last-resort key package is held.
    pub last_resort: bool,
}

/// Everything the hub stores, its witness's part ([`WitnessStore`]) included. See the module
/// docs for the contract.
pub trait Backend: WitnessStore + Send + Sync + 'static {
    /// Records `(key, nonce)`; `false` when it was seen before. Forgets nonces whose
    /// timestamp is older than twice the allowed clock skew.
    fn record_nonce(
        &self,
        key: &PublicKey,
        nonce: &[u8; 16],
        ts_ms: u64,
        now_ms: u64,
    ) -> StoreResult<bool>;

    /// The in-memory replay window, when this backend keeps one: the shell then records
    /// nonces there directly, without a trip to the blocking pool.
    fn replay_window(&self) -> Option<&crate::replay::NonceWindow> {
        None
    }

    /// Hands every entry another process accepts on a shared database to `publish`, from a
    /// thread of the backend's own, until the backend is dropped. A backend that one process
    /// alone uses has nothing to hand on.
    fn follow_others(&self, publish: Publish) {
        drop(publish);
    }

    /// Creates a case with `caller` as its mediator, and its sealed `public` channel; refuses
    /// with `quota_exceeded` when `caller` already mediates `max_cases` cases, counted in the
    /// same transaction.
    fn create_case(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        now_ms: u64,
        max_cases: u64,
    ) -> StoreResult<()>;

    /// Stores an invite (mediator only); refuses with `quota_exceeded` when the case already
    /// holds `max_invites` invites (spent, revoked and expired ones included), counted in the
    /// same transaction.
    fn create_invite(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        invite: &NewInvite,
        now_ms: u64,
        max_invites: u64,
    ) -> StoreResult<()>;

    /// Revokes the unspent invite with `code_hash` (mediator only): `join` refuses it from
    /// then on. Returns when it was revoked: revoking it again changes nothing and returns the
    /// first time.
    fn revoke_invite(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        code_hash: &str,
        now_ms: u64,
    ) -> StoreResult<u64>;

    /// Spends the invite with `code_hash` and makes `caller` a member, with the display name
    /// it sealed; refuses an invite that is revoked, or expired at `now_ms`.
    fn join(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        code_hash: &str,
        sealed_name: &[u8],
        now_ms: u64,
    ) -> StoreResult<Member>;

    /// The case's members (members only).
    fn members(&self, case: &CaseId, caller: &PublicKey) -> StoreResult<Vec<Member>>;

    /// Stores the caller's key packages (a last-resort one replaces the one it held);
    /// returns what it now holds.
    fn store_key_packages(
        &self,
        caller: &PublicKey,
        packages: Vec<KeyPackageBody>,
    ) -> StoreResult<KeyStock>;

    /// Hands out one of `key`'s key packages (the case's mediator only): an ordinary one,
    /// deleted as it is handed out, or when none is left its last-resort one, kept.
    fn claim_key_package(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        key: &PublicKey,
    ) -> StoreResult<Vec<u8>>;

    /// Creates an MLS channel whose only member is the mediator.
    fn create_channel(
        &self,
        case: &CaseId,
        caller: &PublicKey,
        channel: &HubChannel,
    ) -> StoreResult<ChannelInfo>;

    /// The channels of the case that `caller` is a member of.
    fn channels(&self, case: &CaseId, caller: &PublicKey) -> StoreResult<Vec<ChannelInfo>>;

    /// The kind of a channel `caller` is a member of.
    fn channel_kind(
        &self,
        case: &CaseId,
        channel: &HubChannel,
        caller: &PublicKey,
    ) -> StoreResult<ChannelKind>;

    /// Appends an entry at `after + 1`, applies its membership changes and stores its welcome.
    fn post_entry(
        &self,
        case: &CaseId,
        channel: &HubChannel,
        caller: &PublicKey,
        entry: NewEntry,
        now_ms: u64,
    ) -> StoreResult<Accepted>;

    /// Entries with `seq > after`, at most `limit`, and the channel's head.
    fn entries(
        &self,
        case: &CaseId,
        channel: &HubChannel,
        caller: &PublicKey,
        after: u64,
        limit: usize,
    ) -> StoreResult<Entries>;

    /// The caller's welcomes with `id > after`, at most `limit`.
    fn welcomes(&self, caller: &PublicKey, after: u64, limit: usize) -> StoreResult<Vec<Welcome>>;

    /// Succeeds when `caller` is a member of the case.
    fn require_member(&self, case: &CaseId, caller: &PublicKey) -> StoreResult<()>;

    /// Row counts.
    fn stats(&self) -> StoreResult<Stats>;

    /// The database's size on disk, in bytes (`/metrics`); unknown by default.
    fn size_bytes(&self) -> StoreResult<u64> {
        Err(ApiError::internal("this backend does not know its size"))
    }
}

/// The member a join makes of `caller`, as both backends answer it.
pub(crate) fn joined(
    caller: &PublicKey,
    role: MemberRole,
    sealed_name: &[u8],
    code_hash: &str,
    now_ms: u64,
) -> Member {
    Member {
        key: *caller,
        role,
        sealed_name: Some(Blob(sealed_name.to_vec())),
        invite: Some(code_hash.to_owned()),
        joined_ms: now_ms,
    }
}

// --- the text forms both backends store ----------------------------------------------------

pub(crate) fn role_text(role: MemberRole) -> &'static str {
    match role {
        MemberRole::Mediator => "mediator",
        MemberRole::Party => "party",
        MemberRole::Observer => "observer",
    }
}

pub(crate) fn role_from(text: &str) -> StoreResult<MemberRole> {
    match text {
        "mediator" => Ok(MemberRole::Mediator),
        "party" => Ok(MemberRole::Party),
        "observer" => Ok(MemberRole::Observer),
        other => Err(ApiError::internal(format!(
            "storage: unknown role {other:?}"
        ))),
    }
}

pub(crate) fn channel_kind_text(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Mls => "mls",
        ChannelKind::Sealed => "sealed",
    }
}

pub(crate) fn channel_kind_from(text: &str) -> StoreResult<ChannelKind> {
    match text {
        "mls" => Ok(ChannelKind::Mls),
        "sealed" => Ok(ChannelKind::Sealed),
        other => Err(ApiError::internal(format!(
            "storage: unknown channel kind {other:?}"
        ))),
    }
}

pub(crate) fn entry_kind_text(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::Commit => "commit",
        EntryKind::Message => "message",
    }
}

pub(crate) fn entry_kind_from(text: &str) -> StoreResult<EntryKind> {
    match text {
        "commit" => Ok(EntryKind::Commit),
        "message" => Ok(EntryKind::Message),
        other => Err(ApiError::internal(format!(
            "storage: unknown entry kind {other:?}"
        ))),
    }
}

pub(crate) fn hub_channel_from(text: &str) -> StoreResult<HubChannel> {
    HubChannel::parse(text)
        .ok_or_else(|| ApiError::internal(format!("storage: bad channel name {text:?}")))
}
