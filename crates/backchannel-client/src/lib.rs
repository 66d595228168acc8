//! The backchannel client: a participant's keys (encrypted at rest), MLS state and local copy
//! of each case; it syncs with the hub and verifies everything it receives before folding it
//! into the case state. The CLI and the demo are thin faces of [`Client`].

mod client;
mod error;
pub mod hub;
pub mod invite;
mod mls;
mod narrate;
pub mod procedure;
pub mod vault;

pub use client::{CaseSummary, ChannelSummary, Client, LogLine, ParticipantSummary, SyncReport};
pub use error::ClientError;
pub use invite::{InviteCode, InviteRole};
pub use vault::Identity;
