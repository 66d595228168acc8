//! The table of act kinds: for each kind, once, who may post it, where it goes, whether it
//! is on the record (after the charter only), what it embeds and what its rule refuses. The rules
//! check the table first (`state::CaseState::check_rules`), then the kind's own rule; the
//! client routes an act by its place (`Place`); the docs' tables are checked against it
//! (`backchannel/tests/docs.rs`); the golden bytes hold one act of every kind, in this order
//! (`tests/golden.rs`).
//!
//! Adding a kind: its variant in `ActBody` (the compiler then points at `ActBody::spec`, the
//! rules' dispatch and narration), its row here, its rule, its command.

use crate::act::ActBody;

/// Who may post an act of a kind, by role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Author {
    Mediator,
    Party,
    Observer,
}

/// Where an act of a kind is posted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The public record, which every participant reads.
    Public,
    /// The author's own party's bilateral channel, to the mediator.
    OwnChannel,
    /// Every party's bilateral channel, the same act in each.
    Parties,
    /// A discreet channel the author names: a party's bilateral channel or direct talks.
    Discreet,
    /// Any channel its author sits in.
    Any,
}

impl Place {
    pub fn word(self) -> &'static str {
        match self {
            Place::Public => "public",
            Place::OwnChannel => "own channel",
            Place::Parties => "every party's channel",
            Place::Discreet => "discreet",
            Place::Any => "any",
        }
    }
}

/// One row of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kind {
    /// The kind's name on the wire (`"type"` of the body).
    pub name: &'static str,
    /// The roles that may post it; the kind's rule may narrow this further (a verifier the
    /// plan names, the head of a delegation, an invited guarantor).
    pub who: &'static [Author],
    /// What posting it is, in words that follow "only the mediator may".
    pub does: &'static str,
    pub place: Place,
    /// Accepted only once every party has accepted the charter.
    pub on_record: bool,
    /// The kinds of the signed acts it carries inside it.
    pub embeds: &'static [&'static str],
    /// The refusal codes its own rule gives, beyond those every act may meet (`GATE_CODES`).
    pub refuses: &'static [&'static str],
}

/// The refusal codes any act may meet, from the chain, the membership and the table itself:
/// the kinds' rows list only what their own rules add (`Kind::refuses`).
pub const GATE_CODES: &[&str] = &[
    "wrong_case",
    "unknown_channel",
    "broken_chain",
    "not_participant",
    "not_channel_member",
    "equivocation",
    "invalid_act",
    "mediator_only",
    "party_only",
    "observer_limited",
    "public_only",
    "discreet_only",
    "own_channel_only",
    "charter_not_in_force",
];

use Author::{Mediator as M, Observer as O, Party as P};
use Place::{Any, Discreet, OwnChannel, Parties, Public};

const fn row(
    name: &'static str,
    who: &'static [Author],
    does: &'static str,
    place: Place,
    on_record: bool,
    embeds: &'static [&'static str],
    refuses: &'static [&'static str],
) -> Kind {
    Kind {
        name,
        who,
        does,
        place,
        on_record,
        embeds,
        refuses,
    }
}

/// Every act kind, in the order of `ActBody`'s variants.
#[rustfmt::skip]
pub const KINDS: &[Kind] = &[
    row("case_opened", &[M], "open the case", Public, false, &[], &["bad_genesis"]),
    row("member_admitted", &[M], "admit participants", Public, false, &[], &["already_participant"]),
    row("channel_opened", &[M], "open channels", Public, false, &[], &["channel_exists", "consent_missing", "unknown_reference"]),
    row("members_changed", &[M], "change a channel's members", Discreet, false, &[], &["member_not_allowed"]),
    row("channel_seated", &[M], "say who sits in a channel", Public, false, &[], &["member_not_allowed"]),
    row("message", &[M, P, O], "send messages", Any, false, &[], &[]),
    row("charter_proposed", &[M], "propose the charter", Public, false, &[], &["conflict"]),
    row("charter_accepted", &[P], "accept the charter", Public, false, &[], &["conflict", "head_only", "unknown_reference"]),
    row("issues_defined", &[M], "define the issues", Public, true, &[], &["conflict"]),
    row("agenda_proposed", &[M, P], "propose agenda items", Public, true, &[], &["charter_forbids"]),
    row("agenda_consented", &[P], "consent to agenda items", Public, true, &[], &["conflict", "head_only", "unknown_reference"]),
    row("position_sealed", &[P], "seal a position", OwnChannel, true, &[], &["conflict", "unknown_reference"]),
    row("requirement_registered", &[O], "register requirements", Public, true, &[], &["unknown_reference"]),
    row("convey_consent", &[P], "consent to conveying its words", OwnChannel, true, &[], &["charter_forbids", "unknown_reference"]),
    row("conveyed", &[M], "convey", Discreet, true, &["message", "convey_consent"], &["bad_embedded_act", "charter_forbids", "consent_missing"]),
    row("non_paper", &[M], "table non-papers", Parties, true, &[], &["charter_forbids"]),
    row("draft_issued", &[M], "issue drafts", Parties, true, &[], &["unknown_reference"]),
    row("draft_answered", &[P], "answer drafts", OwnChannel, true, &[], &["conflict", "head_only", "unknown_reference"]),
    row("offer_committed", &[P], "make offers", Public, true, &[], &["conflict"]),
    row("offer_tabled", &[P], "table an offer", OwnChannel, true, &[], &["unknown_reference"]),
    row("offer_withdrawn", &[P], "withdraw offers", Public, true, &[], &["conflict", "unknown_reference"]),
    row("offers_opened", &[M], "open offers", Parties, true, &["offer_tabled"], &["bad_embedded_act", "conflict"]),
    row("offers_matched", &[M], "record matched offers", Public, true, &[], &["unknown_reference"]),
    row("direct_talks_proposed", &[M], "propose direct talks", Public, true, &[], &["channel_exists"]),
    row("direct_talks_consented", &[P], "consent to direct talks", Public, true, &[], &["conflict", "head_only", "unknown_reference"]),
    row("agreement_tabled", &[M], "table the agreement", Parties, true, &[], &["conflict"]),
    row("agreement_signed", &[M, P], "sign the agreement", Discreet, true, &[], &["conflict", "head_only", "unknown_reference"]),
    row("agreement_published", &[M], "publish the agreement", Public, true, &["agreement_signed"], &["bad_embedded_act", "conflict", "signature_missing"]),
    row("agreement_guaranteed", &[O], "guarantee the agreement", Public, true, &[], &["conflict", "unknown_reference"]),
    row("declaration_tabled", &[P], "table a declaration", OwnChannel, true, &[], &["head_only"]),
    row("declarations_published", &[M], "publish declarations", Public, true, &["declaration_tabled"], &["bad_embedded_act", "conflict", "signature_missing"]),
    row("checkpoint", &[M, P, O], "co-sign checkpoints", Public, false, &[], &["unknown_reference"]),
    row("plan_proposed", &[M], "propose the implementation plan", Public, true, &[], &["conflict", "unknown_reference"]),
    row("plan_accepted", &[P], "accept the implementation plan", Public, true, &[], &["conflict", "head_only", "unknown_reference"]),
    row("progress_reported", &[P], "report progress", Public, true, &[], &["not_obligor", "plan_not_in_force", "unknown_reference"]),
    row("attested", &[M, O], "attest commitments", Public, true, &[], &["not_a_verifier", "party_cannot_attest", "plan_not_in_force", "unknown_reference"]),
    row("dispute_opened", &[P, O], "open disputes", Public, true, &[], &["plan_not_in_force", "unknown_reference"]),
    row("dispute_escalated", &[M, P, O], "escalate disputes", Public, true, &[], &["conflict", "plan_not_in_force", "stage_not_over", "unknown_reference"]),
    row("dispute_opinion", &[M, O], "give advisory opinions", Public, true, &[], &["conflict", "plan_not_in_force", "unknown_reference"]),
    row("dispute_resolved", &[M], "record a dispute's resolution", Public, true, &[], &["conflict", "unknown_reference"]),
    row("remedy_invoked", &[P], "invoke a remedy", Public, true, &[], &["conflict", "ladder_not_exhausted", "plan_not_in_force", "unknown_reference"]),
    row("extension_consented", &[P], "consent to an extension", Public, true, &[], &["conflict", "head_only", "plan_not_in_force", "unknown_reference"]),
    row("deadline_extended", &[M], "extend a deadline", Public, true, &[], &["consent_missing", "plan_not_in_force", "unknown_reference"]),
];

impl Kind {
    pub fn allows(&self, author: Author) -> bool {
        self.who.contains(&author)
    }

    /// The roles in words: "mediator, party".
    pub fn who_words(&self) -> String {
        self.who
            .iter()
            .map(|a| match a {
                Author::Mediator => "mediator",
                Author::Party => "party",
                Author::Observer => "observer",
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The row named `name`.
    pub fn named(name: &str) -> Option<&'static Kind> {
        KINDS.iter().find(|k| k.name == name)
    }
}

impl ActBody {
    /// This act's row of the table.
    pub fn spec(&self) -> &'static Kind {
        &KINDS[self.ordinal()]
    }

    /// The kind's name on the wire.
    pub fn kind(&self) -> &'static str {
        self.spec().name
    }

    fn ordinal(&self) -> usize {
        match self {
            ActBody::CaseOpened { .. } => 0,
            ActBody::MemberAdmitted { .. } => 1,
            ActBody::ChannelOpened { .. } => 2,
            ActBody::MembersChanged { .. } => 3,
            ActBody::ChannelSeated { .. } => 4,
            ActBody::Message { .. } => 5,
            ActBody::CharterProposed { .. } => 6,
            ActBody::CharterAccepted { .. } => 7,
            ActBody::IssuesDefined { .. } => 8,
            ActBody::AgendaProposed { .. } => 9,
            ActBody::AgendaConsented { .. } => 10,
            ActBody::PositionSealed { .. } => 11,
            ActBody::RequirementRegistered { .. } => 12,
            ActBody::ConveyConsent { .. } => 13,
            ActBody::Conveyed { .. } => 14,
            ActBody::NonPaper { .. } => 15,
            ActBody::DraftIssued { .. } => 16,
            ActBody::DraftAnswered { .. } => 17,
            ActBody::OfferCommitted { .. } => 18,
            ActBody::OfferTabled { .. } => 19,
            ActBody::OfferWithdrawn { .. } => 20,
            ActBody::OffersOpened { .. } => 21,
            ActBody::OffersMatched { .. } => 22,
            ActBody::DirectTalksProposed { .. } => 23,
            ActBody::DirectTalksConsented { .. } => 24,
            ActBody::AgreementTabled { .. } => 25,
            ActBody::AgreementSigned { .. } => 26,
            ActBody::AgreementPublished { .. } => 27,
            ActBody::AgreementGuaranteed { .. } => 28,
            ActBody::DeclarationTabled { .. } => 29,
            ActBody::DeclarationsPublished { .. } => 30,
            ActBody::Checkpoint { .. } => 31,
            ActBody::PlanProposed { .. } => 32,
            ActBody::PlanAccepted { .. } => 33,
            ActBody::ProgressReported { .. } => 34,
            ActBody::Attested { .. } => 35,
            ActBody::DisputeOpened { .. } => 36,
            ActBody::DisputeEscalated { .. } => 37,
            ActBody::DisputeOpinion { .. } => 38,
            ActBody::DisputeResolved { .. } => 39,
            ActBody::RemedyInvoked { .. } => 40,
            ActBody::ExtensionConsented { .. } => 41,
            ActBody::DeadlineExtended { .. } => 42,
        }
    }
}
