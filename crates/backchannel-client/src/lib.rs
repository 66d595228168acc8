//! The backchannel client: a participant's keys (encrypted at rest), MLS state and local copy
//! of each case in an encrypted store; it syncs with the hub and verifies everything it
//! receives, once, before folding and storing it. The CLI and the demo are thin faces of
//! [`Client`].

pub mod admission;
pub mod alarm;
mod client;
mod error;
mod history;
pub mod hub;
mod inbox;
pub mod invite;
mod migrate;
mod mls;
mod narrate;
mod outbox;
pub mod procedure;
mod store;
mod sync;
pub mod vault;
pub mod witness;

pub use admission::{Admission, Admit, InviteOptions, InviteSummary, IssuedCode, PendingJoiner};
pub use alarm::Alarm;
pub use client::{CaseSummary, ChannelSummary, Client, LogLine, ParticipantSummary, SyncReport};
pub use error::ClientError;
pub use invite::{InviteCode, InviteRole};
pub use vault::Identity;
