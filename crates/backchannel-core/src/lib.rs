//! The pure core of backchannel: identities' public halves, the signed wire formats, the
//! case log's acts and the case state as a fold over a verified log.
//!
//! Nothing here does I/O, reads a clock or draws randomness: time and entropy are passed
//! in by the shell (the client or the hub), so every decision replays identically.

pub mod act;
pub mod api;
pub mod auth;
pub mod b64;
pub mod history;
pub mod ids;
pub mod inbox;
pub mod kinds;
pub mod plan;
pub mod procedure;
pub mod record;
pub mod signed;
pub mod state;
pub mod witness;

pub use act::{
    Act, ActBody, ChannelPurpose, Digest32, Head, Role, SignedAct, VerifiedAct, Witness,
};
pub use history::{History, Ledger};
pub use ids::{CaseId, ChannelName, HubChannel, PublicKey};
pub use kinds::{KINDS, Kind, Place};
pub use state::{CaseState, Phase, Rejection};
