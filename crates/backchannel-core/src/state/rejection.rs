//! Why an act is refused: one variant per rule, each with a stable code and one sentence.

use crate::act::Digest32;
use crate::ids::{CaseId, ChannelName, PublicKey};

/// Why an act may not follow the current state. `code()` is stable for scripts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the act belongs to case {0}, not to this case")]
    WrongCase(CaseId),
    #[error("the act was posted on channel {posted} but names channel {named}")]
    WrongChannel {
        posted: ChannelName,
        named: ChannelName,
    },
    #[error("channel {0} is not open in this case")]
    UnknownChannel(ChannelName),
    #[error(
        "act {index} on channel {channel} breaks the chain: expected index {expected_index} after act {}", expected_prev.short()
    )]
    BrokenChain {
        channel: ChannelName,
        index: u64,
        expected_index: u64,
        expected_prev: Digest32,
    },
    #[error(
        "the first act of a case must be case_opened at index 1 on the public channel by the mediator"
    )]
    BadGenesis,
    #[error("the key {} belongs to no participant of this case", .0.short())]
    NotParticipant(PublicKey),
    #[error("participant {} is not a member of channel {channel}", author.short())]
    NotChannelMember {
        author: PublicKey,
        channel: ChannelName,
    },
    #[error("only the mediator may {0}")]
    MediatorOnly(&'static str),
    #[error("under the charter, only the head of the {party} delegation may {what}")]
    HeadOnly { party: String, what: &'static str },
    #[error("no implementation plan is in force yet: every party accepts it first")]
    PlanNotInForce,
    #[error("{party} reports only on its own commitments, and {commitment} binds others")]
    NotObligor { party: String, commitment: String },
    #[error("a party never attests a commitment: only the verifiers the plan names do")]
    PartyAttests,
    #[error("{name} is not named in the plan to attest commitment {commitment}")]
    NotVerifier { name: String, commitment: String },
    #[error(
        "dispute {dispute} is at stage {stage} until {ends} (unix ms): it cannot be escalated before"
    )]
    StageNotOver {
        dispute: u32,
        stage: String,
        ends: u64,
    },
    #[error("dispute {0}'s ladder is not exhausted: a remedy comes after its last stage")]
    LadderNotExhausted(u32),
    #[error("{0} is only allowed on the public channel")]
    PublicOnly(&'static str),
    #[error("{0} is not allowed on the public channel")]
    DiscreetOnly(&'static str),
    #[error("the key {} already belongs to a participant of this case", .0.short())]
    AlreadyParticipant(PublicKey),
    #[error("channel {0} already exists")]
    ChannelExists(ChannelName),
    #[error("participant {} may not be in channel {channel}: {why}", member.short())]
    MemberNotAllowed {
        member: PublicKey,
        channel: ChannelName,
        why: &'static str,
    },
    #[error(
        "an observer may not {0}: observers post on the public record only, the kinds of act docs/acts.md lists for them"
    )]
    ObserverLimited(&'static str),
    #[error("only a party may {0}")]
    PartyOnly(&'static str),
    #[error("{0} must be posted in the author's own bilateral channel")]
    OwnChannelOnly(&'static str),
    #[error(
        "no charter is in force yet: the mediator proposes one and every party accepts it before {0}"
    )]
    CharterNotInForce(&'static str),
    #[error("the charter does not allow {0}")]
    CharterForbids(&'static str),
    #[error("{0}")]
    ConsentMissing(String),
    #[error("{0}")]
    SignatureMissing(String),
    #[error("an embedded act is refused: {0}")]
    BadEmbedded(String),
    #[error("{0}")]
    Unknown(String),
    #[error("{0}")]
    Conflict(String),
    #[error(
        "channel {channel} holds act {} at index {index} for the author, and act {} in this participant's copy: the hub showed different histories", theirs.short(), ours.short()
    )]
    Equivocation {
        channel: ChannelName,
        index: u64,
        theirs: Digest32,
        ours: Digest32,
    },
    #[error("invalid act: {0}")]
    Invalid(String),
}

impl Rejection {
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::WrongCase(_) => "wrong_case",
            Rejection::WrongChannel { .. } => "wrong_channel",
            Rejection::UnknownChannel(_) => "unknown_channel",
            Rejection::BrokenChain { .. } => "broken_chain",
            Rejection::BadGenesis => "bad_genesis",
            Rejection::NotParticipant(_) => "not_participant",
            Rejection::NotChannelMember { .. } => "not_channel_member",
            Rejection::MediatorOnly(_) => "mediator_only",
            Rejection::HeadOnly { .. } => "head_only",
            Rejection::PlanNotInForce => "plan_not_in_force",
            Rejection::NotObligor { .. } => "not_obligor",
            Rejection::PartyAttests => "party_cannot_attest",
            Rejection::NotVerifier { .. } => "not_a_verifier",
            Rejection::StageNotOver { .. } => "stage_not_over",
            Rejection::LadderNotExhausted(_) => "ladder_not_exhausted",
            Rejection::PublicOnly(_) => "public_only",
            Rejection::DiscreetOnly(_) => "discreet_only",
            Rejection::AlreadyParticipant(_) => "already_participant",
            Rejection::ChannelExists(_) => "channel_exists",
            Rejection::MemberNotAllowed { .. } => "member_not_allowed",
            Rejection::ObserverLimited(_) => "observer_limited",
            Rejection::PartyOnly(_) => "party_only",
            Rejection::OwnChannelOnly(_) => "own_channel_only",
            Rejection::CharterNotInForce(_) => "charter_not_in_force",
            Rejection::CharterForbids(_) => "charter_forbids",
            Rejection::ConsentMissing(_) => "consent_missing",
            Rejection::SignatureMissing(_) => "signature_missing",
            Rejection::BadEmbedded(_) => "bad_embedded_act",
            Rejection::Unknown(_) => "unknown_reference",
            Rejection::Conflict(_) => "conflict",
            Rejection::Equivocation { .. } => "equivocation",
            Rejection::Invalid(_) => "invalid_act",
        }
    }
}
