//! The case state: a pure fold over verified acts. `check` decides whether an act may follow
//! the current state (the procedural rules and the chain), `apply` folds it in. A participant
//! folds the acts it can read; replaying the same log always gives the same state.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::act::{
    ACT_VERSION, Act, ActBody, ChannelPurpose, Digest32, Head, MAX_LABEL_CHARS, MAX_WITNESSES,
    Role, VerifiedAct, Witness,
};
use crate::history::{History, Ledger};
use crate::ids::{CaseId, ChannelName, PublicKey};
use crate::kinds::Author;
use crate::plan::{Dispute, Said};
use crate::procedure::{
    AgendaItem, AgreementState, CharterState, DirectProposal, ImplementationState, OfferState,
    OfferStatus, Procedure, RegisteredRequirement,
};

mod rules;

use rules::Ctx;

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

/// Where the case stands on the ladder: proximity talks → direct talks → public record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The mediator talks with each side separately.
    Proximity,
    /// A direct channel is open, with every party's consent.
    Direct,
    /// An agreement or the parties' declarations are on the public record.
    Public,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub name: String,
    pub role: Role,
    /// Its party's head of delegation.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub head: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelState {
    /// `None` for the public channel.
    pub purpose: Option<ChannelPurpose>,
    pub members: BTreeSet<PublicKey>,
    /// Who sits in the channel as the public record last said (`ChannelSeated`): known to
    /// every participant, readers of the channel or not.
    #[serde(default)]
    pub seated: BTreeSet<PublicKey>,
    /// How many acts this participant has folded from the channel (its chain's head index).
    pub length: u64,
    pub head: Digest32,
}

/// Everything a participant knows about a case, derived from the acts it has verified.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CaseState {
    pub case: CaseId,
    pub title: String,
    pub mediator: PublicKey,
    pub phase: Phase,
    pub participants: BTreeMap<PublicKey, Participant>,
    pub channels: BTreeMap<ChannelName, ChannelState>,
    pub procedure: Procedure,
    /// The hubs the genesis names to co-sign the public record's heads.
    #[serde(default)]
    pub witnesses: Vec<Witness>,
}

/// A genesis names at most [`MAX_WITNESSES`] witnesses, each once, each at an http(s) URL.
fn check_witnesses(witnesses: &[Witness]) -> Result<(), Rejection> {
    if witnesses.len() > MAX_WITNESSES {
        return Err(Rejection::Invalid(format!(
            "a case names at most {MAX_WITNESSES} witnesses"
        )));
    }
    for (i, witness) in witnesses.iter().enumerate() {
        let url = &witness.url;
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || url.len() > MAX_LABEL_CHARS
            || url
                .chars()
                .any(|c| c.is_whitespace() || crate::ids::is_deceptive(c))
        {
            return Err(Rejection::Invalid(format!(
                "a witness is named by an http or https URL of at most {MAX_LABEL_CHARS} characters"
            )));
        }
        if witnesses[..i]
            .iter()
            .any(|w| w.key == witness.key || w.url == *url)
        {
            return Err(Rejection::Invalid("a case names each witness once".into()));
        }
    }
    Ok(())
}

fn check_label(what: &str, text: &str) -> Result<(), Rejection> {
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_LABEL_CHARS || text.chars().any(crate::ids::is_deceptive) {
        return Err(Rejection::Invalid(format!(
            "{what} must be 1 to {MAX_LABEL_CHARS} characters without control, invisible or \
             direction-changing characters"
        )));
    }
    Ok(())
}

impl CaseState {
    /// Starts a case from its genesis act. `mediator`, when known (from an invite code), must
    /// be the genesis author.
    pub fn genesis(first: &VerifiedAct, mediator: Option<PublicKey>) -> Result<Self, Rejection> {
        let act = &first.act;
        let ActBody::CaseOpened {
            title,
            mediator_name,
            witnesses,
        } = &act.body
        else {
            return Err(Rejection::BadGenesis);
        };
        if act.v != ACT_VERSION
            || act.index != 1
            || act.prev != Digest32::ZERO
            || !act.channel.is_public()
            || mediator.is_some_and(|m| m != act.author)
        {
            return Err(Rejection::BadGenesis);
        }
        check_label("the case title", title)?;
        check_label("the mediator's name", mediator_name)?;
        check_witnesses(witnesses)?;
        if !act.seen.is_empty() {
            return Err(Rejection::BadGenesis);
        }
        let mut participants = BTreeMap::new();
        participants.insert(
            act.author,
            Participant {
                name: mediator_name.clone(),
                role: Role::Mediator,
                head: false,
            },
        );
        let mut channels = BTreeMap::new();
        channels.insert(
            ChannelName::public(),
            ChannelState {
                purpose: None,
                members: BTreeSet::from([act.author]),
                seated: BTreeSet::new(),
                length: 1,
                head: first.hash,
            },
        );
        Ok(Self {
            case: act.case,
            title: title.clone(),
            mediator: act.author,
            phase: Phase::Proximity,
            participants,
            channels,
            procedure: Procedure::default(),
            witnesses: witnesses.clone(),
        })
    }

    /// Replays a whole log (genesis first, channels in any interleaving that keeps each
    /// channel's order).
    pub fn replay<'a>(
        log: impl IntoIterator<Item = &'a VerifiedAct>,
        mediator: Option<PublicKey>,
    ) -> Result<Self, Rejection> {
        let mut acts = log.into_iter();
        let first = acts.next().ok_or(Rejection::BadGenesis)?;
        let mut state = Self::genesis(first, mediator)?;
        let mut ledger = Ledger::default();
        ledger.record(first);
        for act in acts {
            ledger.fold(&mut state, act)?;
        }
        Ok(state)
    }

    /// The act that `author` would post next on `channel`, checked against the rules.
    pub fn next_act(
        &self,
        channel: &ChannelName,
        author: PublicKey,
        at_ms: u64,
        body: ActBody,
        history: &dyn History,
    ) -> Result<Act, Rejection> {
        let state = self
            .channels
            .get(channel)
            .ok_or_else(|| Rejection::UnknownChannel(channel.clone()))?;
        let act = Act {
            v: ACT_VERSION,
            case: self.case,
            channel: channel.clone(),
            index: state.length + 1,
            prev: state.head,
            author,
            at_ms,
            seen: self.seen_heads(channel),
            body,
        };
        self.check_rules(&act, history)?;
        Ok(act)
    }

    /// Checks and folds one verified act posted on `act.act.channel`; `history` answers
    /// what the rules look up in the past. The caller records the act in its history.
    pub fn accept(&mut self, act: &VerifiedAct, history: &dyn History) -> Result<(), Rejection> {
        self.check(act, history)?;
        self.apply(act);
        Ok(())
    }

    /// Whether `act` may follow the current state: its chain position, then the rules.
    pub fn check(&self, verified: &VerifiedAct, history: &dyn History) -> Result<(), Rejection> {
        let act = &verified.act;
        if act.case != self.case {
            return Err(Rejection::WrongCase(act.case));
        }
        let channel = self
            .channels
            .get(&act.channel)
            .ok_or_else(|| Rejection::UnknownChannel(act.channel.clone()))?;
        let follows = act.index == channel.length + 1 && act.prev == channel.head;
        // A newcomer to a discreet channel cannot read what came before it joined: its
        // chain starts at the mediator's `members_changed` act that names it.
        let anchors = channel.length == 0 && matches!(act.body, ActBody::MembersChanged { .. });
        if !follows && !anchors {
            return Err(Rejection::BrokenChain {
                channel: act.channel.clone(),
                index: act.index,
                expected_index: channel.length + 1,
                expected_prev: channel.head,
            });
        }
        self.check_seen(act, history)?;
        self.check_rules(act, history)
    }

    /// The heads an act posted on `channel` now carries (`Act::seen`): for a discreet act,
    /// the public record's, and those of the other discreet channels whose members include
    /// every member of this one, so that no reader learns of a channel it cannot read. A
    /// public act carries none: its chain is every reader's.
    pub fn seen_heads(&self, channel: &ChannelName) -> Vec<Head> {
        let Some(own) = self.channels.get(channel).filter(|_| !channel.is_public()) else {
            return vec![];
        };
        self.channels
            .iter()
            .filter(|(name, other)| {
                *name != channel
                    && other.length > 0
                    && (name.is_public() || own.members.is_subset(&other.members))
            })
            .map(|(name, other)| Head {
                channel: name.clone(),
                index: other.length,
                hash: other.head,
            })
            .collect()
    }

    /// An act's `seen` heads: named once each, in order, of open channels other than its
    /// own, none on a public act; and where this participant holds the position, the same
    /// act as its copy. A position it has not reached is the caller's to compare when it
    /// does (the client does, and calls a hub that never shows it one withholding).
    fn check_seen(&self, act: &Act, history: &dyn History) -> Result<(), Rejection> {
        if act.channel.is_public() && !act.seen.is_empty() {
            return Err(Rejection::Invalid(
                "a public act names no other channel's head".into(),
            ));
        }
        for (i, head) in act.seen.iter().enumerate() {
            if head.channel == act.channel
                || head.index == 0
                || !self.channels.contains_key(&head.channel)
                || i > 0 && act.seen[i - 1].channel >= head.channel
            {
                return Err(Rejection::Invalid(
                    "the heads an act saw name other open channels, once each and in order".into(),
                ));
            }
            if let Some(ours) = history.hash_at(&head.channel, head.index)
                && ours != head.hash
            {
                return Err(Rejection::Equivocation {
                    channel: head.channel.clone(),
                    index: head.index,
                    theirs: head.hash,
                    ours,
                });
            }
        }
        Ok(())
    }

    /// The procedural rules, independent of chain position.
    fn check_rules(&self, act: &Act, history: &dyn History) -> Result<(), Rejection> {
        let Some(author) = self.participants.get(&act.author) else {
            return Err(Rejection::NotParticipant(act.author));
        };
        let channel = self
            .channels
            .get(&act.channel)
            .ok_or_else(|| Rejection::UnknownChannel(act.channel.clone()))?;
        let public = act.channel.is_public();
        let kind = act.body.kind();
        // The table of act kinds: an observer posts only the kinds it names, and only on the
        // public record; nothing on record before the charter is in force.
        let spec = act.body.spec();
        if matches!(author.role, Role::Observer) && (!spec.allows(Author::Observer) || !public) {
            return Err(Rejection::ObserverLimited(if public {
                spec.does
            } else {
                "post in a discreet channel"
            }));
        }
        if spec.on_record && !self.charter_in_force() {
            return Err(Rejection::CharterNotInForce(kind));
        }
        let ctx = Ctx {
            state: self,
            history,
            act,
            public,
            channel,
            party: author.role.party(),
        };
        ctx.check()?;
        // Membership last, so that a refusal names the rule that matters most (a party trying
        // to convey hears "only the mediator may convey").
        if !public && !channel.members.contains(&act.author) {
            return Err(Rejection::NotChannelMember {
                author: act.author,
                channel: act.channel.clone(),
            });
        }
        Ok(())
    }

    /// Who may sit in a discreet channel: a bilateral channel holds the mediator and that
    /// party's delegation; a direct channel the mediator and the parties; never an observer.
    fn check_channel_member(
        &self,
        name: &ChannelName,
        channel: &ChannelState,
        member: PublicKey,
    ) -> Result<(), Rejection> {
        let Some(participant) = self.participants.get(&member) else {
            return Err(Rejection::NotParticipant(member));
        };
        match (&channel.purpose, &participant.role) {
            (_, Role::Mediator) => Ok(()),
            (Some(ChannelPurpose::Bilateral { party }), Role::Party { party: theirs })
                if party == theirs =>
            {
                Ok(())
            }
            (Some(ChannelPurpose::Direct), Role::Party { .. }) => Ok(()),
            (Some(ChannelPurpose::Bilateral { .. }), _) => Err(Rejection::MemberNotAllowed {
                member,
                channel: name.clone(),
                why: "a bilateral channel holds only the mediator and that party",
            }),
            (Some(ChannelPurpose::Direct), _) => Err(Rejection::MemberNotAllowed {
                member,
                channel: name.clone(),
                why: "direct talks hold only the mediator and the parties",
            }),
            (None, _) => Err(Rejection::DiscreetOnly("members_changed")),
        }
    }

    /// The parties of the case: the distinct party names of its participants.
    pub fn parties(&self) -> BTreeSet<String> {
        self.participants
            .values()
            .filter_map(|p| p.role.party().map(str::to_owned))
            .collect()
    }

    /// Whether every party has accepted the current charter.
    pub fn charter_in_force(&self) -> bool {
        let parties = self.parties();
        self.procedure
            .charter
            .as_ref()
            .is_some_and(|c| !parties.is_empty() && parties.is_subset(&c.accepted_by))
    }

    /// Folds an act already checked with [`CaseState::check`].
    pub fn apply(&mut self, verified: &VerifiedAct) {
        let act = &verified.act;
        let party = self
            .participants
            .get(&act.author)
            .and_then(|p| p.role.party().map(str::to_owned));
        let author_name = self.name_of(&act.author);
        let parties = self.parties();
        let procedure = &mut self.procedure;
        match &act.body {
            ActBody::MemberAdmitted {
                key,
                name,
                role,
                head,
            } => {
                self.participants.insert(
                    *key,
                    Participant {
                        name: name.clone(),
                        role: role.clone(),
                        head: *head,
                    },
                );
                if let Some(public) = self.channels.get_mut(&ChannelName::public()) {
                    public.members.insert(*key);
                }
            }
            ActBody::ChannelOpened { channel, purpose } => {
                self.channels.insert(
                    channel.clone(),
                    ChannelState {
                        purpose: Some(purpose.clone()),
                        members: BTreeSet::from([self.mediator]),
                        seated: BTreeSet::from([self.mediator]),
                        length: 0,
                        head: Digest32::ZERO,
                    },
                );
                if let Some(proposal) = procedure.direct.get_mut(channel) {
                    proposal.opened = true;
                    self.phase = Phase::Direct;
                }
            }
            ActBody::MembersChanged { members } => {
                if let Some(channel) = self.channels.get_mut(&act.channel) {
                    channel.members = members.iter().copied().collect();
                }
            }
            ActBody::ChannelSeated { channel, members } => {
                if let Some(channel) = self.channels.get_mut(channel) {
                    channel.seated = members.iter().copied().collect();
                }
            }
            ActBody::Message { .. } => {}
            ActBody::CharterProposed { charter } => {
                procedure.charter = Some(CharterState {
                    proposal: verified.hash,
                    charter: charter.clone(),
                    accepted_by: BTreeSet::new(),
                });
            }
            ActBody::CharterAccepted { .. } => {
                if let (Some(charter), Some(party)) = (procedure.charter.as_mut(), party) {
                    charter.accepted_by.insert(party);
                }
            }
            ActBody::IssuesDefined { issues } => procedure.issues = issues.clone(),
            ActBody::AgendaProposed { title, demand } => {
                let mut consents = BTreeSet::new();
                consents.extend(party);
                let adopted = parties.is_subset(&consents);
                procedure.agenda.insert(
                    act.index,
                    AgendaItem {
                        title: title.clone(),
                        demand: *demand,
                        proposed_by: act.author,
                        consents,
                        adopted,
                    },
                );
            }
            ActBody::AgendaConsented { item } => {
                if let (Some(entry), Some(party)) = (procedure.agenda.get_mut(item), party) {
                    entry.consents.insert(party);
                    entry.adopted = parties.is_subset(&entry.consents);
                }
            }
            ActBody::PositionSealed { position, .. } => {
                if let Some(party) = party {
                    let version = procedure.position_version(&party).map_or(1, |v| v + 1);
                    procedure.position_versions.insert(party.clone(), version);
                    procedure.positions.insert(party, position.clone());
                }
            }
            ActBody::RequirementRegistered {
                requirement,
                rationale,
            } => {
                procedure.requirements.push(RegisteredRequirement {
                    by: act.author,
                    requirement: requirement.clone(),
                    rationale: rationale.clone(),
                });
            }
            ActBody::ConveyConsent { act: message, to } => {
                procedure.convey_consents.insert((*message, to.clone()));
            }
            ActBody::DraftIssued { draft } => {
                procedure
                    .drafts
                    .entry(act.channel.clone())
                    .or_default()
                    .push(draft.clone());
            }
            ActBody::DraftAnswered { version, answers } => {
                if let Some(party) = party {
                    procedure
                        .answers
                        .entry(act.channel.clone())
                        .or_default()
                        .entry(*version)
                        .or_default()
                        .insert(party, answers.clone());
                }
            }
            ActBody::OfferCommitted { commitment } => {
                procedure.offers.insert(
                    *commitment,
                    OfferState {
                        by: act.author,
                        party: party.unwrap_or_default(),
                        status: OfferStatus::Open,
                        offer: None,
                    },
                );
            }
            ActBody::OfferTabled { offer, salt } => {
                if let Some(state) = procedure.offers.get_mut(&offer.commitment(salt)) {
                    state.offer = Some(offer.clone());
                }
            }
            ActBody::OfferWithdrawn { commitment } => {
                if let Some(state) = procedure.offers.get_mut(commitment) {
                    state.status = OfferStatus::Withdrawn;
                }
            }
            // An offer's status follows the public record alone (its commitment, withdrawal
            // and match), so that it is the same whatever order the channels are read in; an
            // opening in a discreet channel shows the terms.
            ActBody::OffersOpened { offers } => {
                for signed in offers {
                    if let Ok(verified) = signed.clone().verify()
                        && let ActBody::OfferTabled { offer, salt } = &verified.act.body
                        && let Some(state) = procedure.offers.get_mut(&offer.commitment(salt))
                    {
                        state.offer = Some(offer.clone());
                    }
                }
            }
            ActBody::OffersMatched { commitments } => {
                for commitment in commitments {
                    if let Some(state) = procedure.offers.get_mut(commitment) {
                        state.status = OfferStatus::Opened;
                    }
                }
            }
            ActBody::DirectTalksProposed { channel } => {
                procedure.direct.insert(
                    channel.clone(),
                    DirectProposal {
                        consents: BTreeSet::new(),
                        opened: false,
                    },
                );
            }
            ActBody::DirectTalksConsented { channel } => {
                if let (Some(proposal), Some(party)) = (procedure.direct.get_mut(channel), party) {
                    proposal.consents.insert(party);
                }
            }
            ActBody::AgreementTabled { agreement } => {
                // The same text tabled in the next party's channel, an earlier text read
                // after a later one, or any text read after the publication changes nothing
                // but the list of texts: what is on the table does not depend on the order
                // in which the channels are read.
                let hash = agreement.hash();
                match procedure.agreement.as_mut() {
                    Some(a) if a.published || a.tabled.contains(&hash) => {
                        a.tabled.insert(hash);
                    }
                    previous => {
                        let mut tabled = previous
                            .map(|a| std::mem::take(&mut a.tabled))
                            .unwrap_or_default();
                        tabled.insert(hash);
                        procedure.agreement = Some(AgreementState {
                            agreement: agreement.clone(),
                            hash,
                            signatures: BTreeMap::new(),
                            published: false,
                            guaranteed_by: BTreeSet::new(),
                            published_ms: None,
                            published_index: None,
                            tabled,
                        });
                    }
                }
            }
            ActBody::AgreementSigned { agreement: hash } => {
                // Only a signature of the text on the table, before it is published: the
                // publication embeds every signature it counts.
                if let Some(agreement) = procedure.agreement.as_mut()
                    && agreement.hash == *hash
                    && !agreement.published
                {
                    agreement
                        .signatures
                        .insert(act.author, verified.signed.clone());
                }
            }
            ActBody::AgreementPublished {
                agreement,
                signatures,
            } => {
                let signatures = signatures
                    .iter()
                    .filter_map(|s| s.clone().verify().ok().map(|v| (v.act.author, s.clone())))
                    .collect();
                let mut tabled = procedure
                    .agreement
                    .take()
                    .map(|a| a.tabled)
                    .unwrap_or_default();
                tabled.insert(agreement.hash());
                procedure.agreement = Some(AgreementState {
                    agreement: agreement.clone(),
                    hash: agreement.hash(),
                    signatures,
                    published: true,
                    guaranteed_by: BTreeSet::new(),
                    published_ms: Some(act.at_ms),
                    published_index: Some(act.index),
                    tabled,
                });
                // A plan tabled with the agreement is in force from publication: every party signed it.
                if let Some(plan) = &agreement.plan {
                    procedure.implementation = Some(ImplementationState {
                        proposal: verified.hash,
                        plan: plan.clone(),
                        accepted_by: parties.clone(),
                        in_force: true,
                        reports: Vec::new(),
                        attestations: Vec::new(),
                        disputes: Vec::new(),
                        extension_consents: Vec::new(),
                        extensions: Vec::new(),
                    });
                }
                self.phase = Phase::Public;
            }
            ActBody::AgreementGuaranteed { .. } => {
                if let Some(agreement) = procedure.agreement.as_mut() {
                    agreement.guaranteed_by.insert(act.author);
                }
            }
            ActBody::DeclarationTabled { .. } => {
                if let Some(party) = party {
                    procedure
                        .declarations
                        .insert(party, verified.signed.clone());
                }
            }
            ActBody::DeclarationsPublished { declarations } => {
                for signed in declarations {
                    if let Ok(verified) = signed.clone().verify()
                        && let ActBody::DeclarationTabled { declaration } = &verified.act.body
                    {
                        procedure
                            .declarations
                            .insert(declaration.party.clone(), signed.clone());
                    }
                }
                procedure.declarations_published = true;
                self.phase = Phase::Public;
            }
            ActBody::PlanProposed { plan } => {
                procedure.implementation = Some(ImplementationState {
                    proposal: verified.hash,
                    plan: plan.clone(),
                    accepted_by: BTreeSet::new(),
                    in_force: false,
                    reports: Vec::new(),
                    attestations: Vec::new(),
                    disputes: Vec::new(),
                    extension_consents: Vec::new(),
                    extensions: Vec::new(),
                });
            }
            ActBody::PlanAccepted { .. } => {
                if let (Some(implementation), Some(party)) =
                    (procedure.implementation.as_mut(), party)
                {
                    implementation.accepted_by.insert(party);
                    implementation.in_force = parties.is_subset(&implementation.accepted_by);
                }
            }
            ActBody::ProgressReported {
                commitment, status, ..
            } => {
                if let (Some(implementation), Some(party)) =
                    (procedure.implementation.as_mut(), party)
                {
                    implementation.reports.push(Said {
                        commitment: commitment.clone(),
                        by: party,
                        status: *status,
                        at_ms: act.at_ms,
                    });
                }
            }
            ActBody::Attested {
                commitment, status, ..
            } => {
                if let Some(implementation) = procedure.implementation.as_mut() {
                    implementation.attestations.push(Said {
                        commitment: commitment.clone(),
                        by: author_name,
                        status: *status,
                        at_ms: act.at_ms,
                    });
                }
            }
            ActBody::DisputeOpened {
                commitments,
                complaint,
            } => {
                if let Some(implementation) = procedure.implementation.as_mut() {
                    let id = u32::try_from(implementation.disputes.len() + 1).unwrap_or(u32::MAX);
                    implementation.disputes.push(Dispute {
                        id,
                        by: author_name,
                        commitments: commitments.clone(),
                        complaint: complaint.clone(),
                        stage: 0,
                        stage_since_ms: act.at_ms,
                        exhausted: false,
                        opinions: Vec::new(),
                        resolution: None,
                        remedy: None,
                    });
                }
            }
            ActBody::DisputeEscalated { dispute } => {
                if let Some(implementation) = procedure.implementation.as_mut() {
                    let stages = implementation
                        .plan
                        .disputes
                        .as_ref()
                        .map_or(0, |l| l.stages.len());
                    if let Some(d) = implementation
                        .disputes
                        .iter_mut()
                        .find(|d| d.id == *dispute)
                    {
                        if d.stage + 1 < stages {
                            d.stage += 1;
                        } else {
                            d.exhausted = true;
                        }
                        d.stage_since_ms = act.at_ms;
                    }
                }
            }
            ActBody::DisputeOpinion { dispute, opinion } => {
                if let Some(d) = procedure.dispute_mut(*dispute) {
                    d.opinions.push(format!("{author_name}: {opinion}"));
                }
            }
            ActBody::DisputeResolved {
                dispute,
                resolution,
            } => {
                if let Some(d) = procedure.dispute_mut(*dispute) {
                    d.resolution = Some(resolution.clone());
                }
            }
            ActBody::RemedyInvoked { dispute, remedy } => {
                if let Some(d) = procedure.dispute_mut(*dispute) {
                    d.remedy = Some(remedy.clone());
                }
            }
            ActBody::ExtensionConsented { commitment, days } => {
                if let (Some(implementation), Some(party)) =
                    (procedure.implementation.as_mut(), party)
                {
                    implementation
                        .extension_consents
                        .push((commitment.clone(), *days, party));
                }
            }
            ActBody::DeadlineExtended { commitment, days } => {
                if let Some(implementation) = procedure.implementation.as_mut() {
                    implementation
                        .extension_consents
                        .retain(|(c, _, _)| c != commitment);
                    implementation.extensions.push((commitment.clone(), *days));
                }
            }
            ActBody::CaseOpened { .. }
            | ActBody::NonPaper { .. }
            | ActBody::Conveyed { .. }
            | ActBody::Checkpoint { .. } => {}
        }
        if let Some(channel) = self.channels.get_mut(&act.channel) {
            channel.length = act.index;
            channel.head = verified.hash;
        }
    }

    /// The participant's display name, or the key's short form.
    pub fn name_of(&self, key: &PublicKey) -> String {
        self.participants
            .get(key)
            .map_or_else(|| key.short(), |p| p.name.clone())
    }

    /// The bilateral channel of `party`, if open.
    pub fn bilateral_channel(&self, party: &str) -> Option<&ChannelName> {
        self.channels
            .iter()
            .find_map(|(name, channel)| match &channel.purpose {
                Some(ChannelPurpose::Bilateral { party: p }) if p == party => Some(name),
                _ => None,
            })
    }
}
