//! The case state: a pure fold over verified acts. `check` decides whether an act may follow
//! the current state (the procedural rules and the chain), `apply` folds it in. A participant
//! folds the acts it can read; replaying the same log always gives the same state.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::act::SignedAct;
use crate::act::{
    ACT_VERSION, Act, ActBody, ChannelPurpose, Digest32, MAX_LABEL_CHARS, MAX_TEXT_CHARS, Role,
    VerifiedAct,
};
use crate::history::{History, Ledger};
use crate::ids::{CaseId, ChannelName, PublicKey};
use crate::procedure::{
    AgendaItem, AgendaProposers, AgreementState, Attribution, CharterState, ClauseAnswer,
    Conveyance, DirectProposal, OfferState, OfferStatus, Procedure, RegisteredRequirement,
};

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
    #[error("{0} is only allowed on the public channel")]
    PublicOnly(&'static str),
    #[error("{0} is not allowed on the public channel")]
    DiscreetOnly(&'static str),
    #[error("participant {} is already a participant", .0.short())]
    AlreadyParticipant(PublicKey),
    #[error("channel {0} already exists")]
    ChannelExists(ChannelName),
    #[error("participant {} may not be in channel {channel}: {why}", member.short())]
    MemberNotAllowed {
        member: PublicKey,
        channel: ChannelName,
        why: &'static str,
    },
    #[error("an observer may post only public statements, requirements and guarantees, not {0}")]
    ObserverLimited(&'static str),
    #[error("only a party may {0}")]
    PartyOnly(&'static str),
    #[error("{0} must be posted in the author's own bilateral channel")]
    OwnChannelOnly(&'static str),
    #[error("no on-record act before every party has accepted the charter ({0} is on record)")]
    CharterNotInForce(&'static str),
    #[error("the charter does not allow {0}")]
    CharterForbids(&'static str),
    #[error("{0}")]
    ConsentMissing(String),
    #[error("{0}")]
    SignatureMissing(String),
    #[error("an embedded act does not verify: {0}")]
    BadEmbedded(String),
    #[error("{0}")]
    Unknown(String),
    #[error("{0}")]
    Conflict(String),
    #[error(
        "channel {channel} holds another act at index {index} than this participant's copy: the hub showed different histories"
    )]
    Equivocation { channel: ChannelName, index: u64 },
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
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelState {
    /// `None` for the public channel.
    pub purpose: Option<ChannelPurpose>,
    pub members: BTreeSet<PublicKey>,
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
        let mut participants = BTreeMap::new();
        participants.insert(
            act.author,
            Participant {
                name: mediator_name.clone(),
                role: Role::Mediator,
            },
        );
        let mut channels = BTreeMap::new();
        channels.insert(
            ChannelName::public(),
            ChannelState {
                purpose: None,
                members: BTreeSet::from([act.author]),
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
        self.check_rules(act, history)
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
        if matches!(author.role, Role::Observer)
            && !matches!(
                (&act.body, public),
                (ActBody::Message { .. }, true)
                    | (ActBody::RequirementRegistered { .. }, _)
                    | (ActBody::AgreementGuaranteed { .. }, _)
                    | (ActBody::Checkpoint { .. }, _)
            )
        {
            return Err(Rejection::ObserverLimited(kind));
        }
        if is_on_record(&act.body) && !self.charter_in_force() {
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
        let parties = self.parties();
        let procedure = &mut self.procedure;
        match &act.body {
            ActBody::MemberAdmitted { key, name, role } => {
                self.participants.insert(
                    *key,
                    Participant {
                        name: name.clone(),
                        role: role.clone(),
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
            ActBody::PositionSealed { position } => {
                if let Some(party) = party {
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
            ActBody::OffersOpened { offers } => {
                for signed in offers {
                    if let Ok(verified) = signed.clone().verify()
                        && let ActBody::OfferTabled { offer, salt } = &verified.act.body
                        && let Some(state) = procedure.offers.get_mut(&offer.commitment(salt))
                    {
                        state.status = OfferStatus::Opened;
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
                procedure.agreement = Some(AgreementState {
                    agreement: agreement.clone(),
                    hash: agreement.hash(),
                    signatures: BTreeMap::new(),
                    published: false,
                    guaranteed_by: BTreeSet::new(),
                });
            }
            ActBody::AgreementSigned { .. } => {
                if let Some(agreement) = procedure.agreement.as_mut() {
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
                procedure.agreement = Some(AgreementState {
                    agreement: agreement.clone(),
                    hash: agreement.hash(),
                    signatures,
                    published: true,
                    guaranteed_by: BTreeSet::new(),
                });
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

/// The on-record acts of the procedure: none is accepted before the charter is in force.
fn is_on_record(body: &ActBody) -> bool {
    !matches!(
        body,
        ActBody::CaseOpened { .. }
            | ActBody::MemberAdmitted { .. }
            | ActBody::ChannelOpened {
                purpose: ChannelPurpose::Bilateral { .. },
                ..
            }
            | ActBody::MembersChanged { .. }
            | ActBody::Message { .. }
            | ActBody::CharterProposed { .. }
            | ActBody::CharterAccepted { .. }
            | ActBody::Checkpoint { .. }
    )
}

fn check_text(what: &str, text: &str) -> Result<(), Rejection> {
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_TEXT_CHARS {
        return Err(Rejection::Invalid(format!(
            "{what} is 1 to {MAX_TEXT_CHARS} characters"
        )));
    }
    Ok(())
}

/// One act under check, with what the rules need to hand.
struct Ctx<'a> {
    state: &'a CaseState,
    history: &'a dyn History,
    act: &'a Act,
    public: bool,
    channel: &'a ChannelState,
    /// The author's party, if the author is a party's participant.
    party: Option<&'a str>,
}

impl Ctx<'_> {
    fn mediator(&self, what: &'static str) -> Result<(), Rejection> {
        if self.act.author == self.state.mediator {
            Ok(())
        } else {
            Err(Rejection::MediatorOnly(what))
        }
    }

    fn party(&self, what: &'static str) -> Result<&str, Rejection> {
        self.party.ok_or(Rejection::PartyOnly(what))
    }

    fn public_only(&self) -> Result<(), Rejection> {
        if self.public {
            Ok(())
        } else {
            Err(Rejection::PublicOnly(self.act.body.kind()))
        }
    }

    fn discreet_only(&self) -> Result<(), Rejection> {
        if self.public {
            Err(Rejection::DiscreetOnly(self.act.body.kind()))
        } else {
            Ok(())
        }
    }

    /// The author's own bilateral channel.
    fn own_channel(&self) -> Result<&str, Rejection> {
        let party = self.party(self.act.body.kind())?;
        match &self.channel.purpose {
            Some(ChannelPurpose::Bilateral { party: p }) if p == party => Ok(party),
            _ => Err(Rejection::OwnChannelOnly(self.act.body.kind())),
        }
    }

    fn charter(&self) -> Result<&CharterState, Rejection> {
        self.state
            .procedure
            .charter
            .as_ref()
            .ok_or(Rejection::CharterNotInForce("the procedure"))
    }

    /// An embedded act: verified, of this case.
    fn embedded(&self, signed: &SignedAct) -> Result<VerifiedAct, Rejection> {
        let verified = signed
            .clone()
            .verify()
            .map_err(|e| Rejection::BadEmbedded(e.to_string()))?;
        if verified.act.case != self.state.case {
            return Err(Rejection::BadEmbedded("it belongs to another case".into()));
        }
        Ok(verified)
    }

    fn embedded_party(&self, verified: &VerifiedAct) -> Result<String, Rejection> {
        self.state
            .participants
            .get(&verified.act.author)
            .and_then(|p| p.role.party().map(str::to_owned))
            .ok_or_else(|| {
                Rejection::BadEmbedded(format!(
                    "{} is not a party's participant",
                    verified.act.author.short()
                ))
            })
    }

    fn check_issue_option(&self, issue: &str, option: &str) -> Result<(), Rejection> {
        let issues = &self.state.procedure.issues;
        if issues.is_empty() {
            return Ok(());
        }
        let Some(found) = issues.iter().find(|i| i.id == issue) else {
            return Err(Rejection::Unknown(format!("no issue {issue:?} is defined")));
        };
        if found.options.iter().any(|o| o.id == option) {
            Ok(())
        } else {
            Err(Rejection::Unknown(format!(
                "issue {issue:?} has no option {option:?}"
            )))
        }
    }

    fn check_conditions(
        &self,
        conditions: &[backchannel_formula::Condition],
    ) -> Result<(), Rejection> {
        for condition in conditions {
            if condition.options.is_empty() {
                return Err(Rejection::Invalid(format!(
                    "a term on {:?} names no option",
                    condition.issue
                )));
            }
            for option in &condition.options {
                self.check_issue_option(&condition.issue, option)?;
            }
        }
        Ok(())
    }

    /// The case's issues as a scenario, to validate positions and requirements against.
    fn issues_scenario(&self) -> backchannel_formula::Scenario {
        self.state.procedure.scenario(vec![], vec![])
    }

    fn check(&self) -> Result<(), Rejection> {
        let state = self.state;
        let procedure = &state.procedure;
        let act = self.act;
        match &act.body {
            ActBody::CaseOpened { .. } => Err(Rejection::BadGenesis),
            ActBody::MemberAdmitted { key, name, role } => {
                self.mediator("admit participants")?;
                self.public_only()?;
                if state.participants.contains_key(key) {
                    return Err(Rejection::AlreadyParticipant(*key));
                }
                check_label("a participant's name", name)?;
                match role {
                    Role::Mediator => {
                        Err(Rejection::Invalid("a case has exactly one mediator".into()))
                    }
                    Role::Party { party } => check_label("a party's name", party),
                    Role::Observer => Ok(()),
                }
            }
            ActBody::ChannelOpened {
                channel: name,
                purpose,
            } => {
                self.mediator("open channels")?;
                self.public_only()?;
                if name.is_public() || state.channels.contains_key(name) {
                    return Err(Rejection::ChannelExists(name.clone()));
                }
                match purpose {
                    ChannelPurpose::Bilateral { party } => check_label("a party's name", party),
                    ChannelPurpose::Direct => {
                        let Some(proposal) = procedure.direct.get(name) else {
                            return Err(Rejection::Unknown(format!(
                                "no direct talks were proposed in {name}"
                            )));
                        };
                        let missing: Vec<String> = state
                            .parties()
                            .difference(&proposal.consents)
                            .cloned()
                            .collect();
                        if missing.is_empty() {
                            Ok(())
                        } else {
                            Err(Rejection::ConsentMissing(format!(
                                "direct talks open only with every party's consent; missing: {}",
                                missing.join(", ")
                            )))
                        }
                    }
                }
            }
            ActBody::MembersChanged { members } => {
                self.mediator("change a channel's members")?;
                self.discreet_only()?;
                if !members.contains(&state.mediator) {
                    return Err(Rejection::Invalid(
                        "the mediator stays in every discreet channel".into(),
                    ));
                }
                for member in members {
                    state.check_channel_member(&act.channel, self.channel, *member)?;
                }
                Ok(())
            }
            ActBody::Message { text } => check_text("a message", text),
            ActBody::CharterProposed { charter } => {
                self.mediator("propose the charter")?;
                self.public_only()?;
                if state.charter_in_force() {
                    return Err(Rejection::Conflict(
                        "the charter is already in force".into(),
                    ));
                }
                for deadline in &charter.deadlines {
                    check_label("a deadline", &deadline.what)?;
                    check_label("a deadline's date", &deadline.by)?;
                }
                Ok(())
            }
            ActBody::CharterAccepted { proposal } => {
                let party = self.party("accept the charter")?;
                self.public_only()?;
                let charter = self.charter()?;
                if charter.proposal != *proposal {
                    return Err(Rejection::Unknown(
                        "that is not the charter on the table".into(),
                    ));
                }
                if charter.accepted_by.contains(party) {
                    return Err(Rejection::Conflict(format!(
                        "{party} has already accepted the charter"
                    )));
                }
                Ok(())
            }
            ActBody::IssuesDefined { issues } => {
                self.mediator("define the issues")?;
                self.public_only()?;
                if !procedure.issues.is_empty() {
                    return Err(Rejection::Conflict("the issues are already defined".into()));
                }
                if issues.is_empty() {
                    return Err(Rejection::Invalid("define at least one issue".into()));
                }
                let scenario = backchannel_formula::Scenario {
                    issues: issues.clone(),
                    ..self.issues_scenario()
                };
                scenario
                    .validate_issues()
                    .map_err(|e| Rejection::Invalid(e.to_string()))
            }
            ActBody::AgendaProposed { title, demand } => {
                self.public_only()?;
                check_label("an agenda item", title)?;
                if act.author != state.mediator {
                    self.party("propose agenda items")?;
                    if self.charter()?.charter.agenda_proposers == AgendaProposers::MediatorOnly {
                        return Err(Rejection::CharterForbids("parties to propose agenda items"));
                    }
                } else if *demand {
                    return Err(Rejection::Invalid("a demand is a party's".into()));
                }
                Ok(())
            }
            ActBody::AgendaConsented { item } => {
                let party = self.party("consent to agenda items")?;
                self.public_only()?;
                let Some(entry) = procedure.agenda.get(item) else {
                    return Err(Rejection::Unknown(format!("no agenda item {item}")));
                };
                if entry.consents.contains(party) {
                    return Err(Rejection::Conflict(format!(
                        "{party} has already consented to item {item}"
                    )));
                }
                Ok(())
            }
            ActBody::PositionSealed { position } => {
                let party = self.own_channel()?;
                if procedure.issues.is_empty() {
                    return Err(Rejection::Unknown("the issues are not defined yet".into()));
                }
                if position.name != party {
                    return Err(Rejection::Invalid(format!(
                        "a position of {party} must be named {party:?}"
                    )));
                }
                self.issues_scenario()
                    .validate_party(0, position)
                    .map_err(|e| Rejection::Invalid(e.to_string()))
            }
            ActBody::RequirementRegistered {
                requirement,
                rationale,
            } => {
                self.public_only()?;
                if !matches!(
                    state.participants.get(&act.author).map(|p| &p.role),
                    Some(Role::Observer)
                ) {
                    return Err(Rejection::Invalid("requirements are the observers'".into()));
                }
                check_text("a rationale", rationale)?;
                if procedure.issues.is_empty() {
                    return Err(Rejection::Unknown("the issues are not defined yet".into()));
                }
                self.issues_scenario()
                    .validate_requirement(0, requirement)
                    .map_err(|e| Rejection::Invalid(e.to_string()))
            }
            ActBody::ConveyConsent { act: message, to } => {
                self.own_channel()?;
                if self.charter()?.charter.attribution != Attribution::OriginalWithConsent {
                    return Err(Rejection::CharterForbids("conveying originals"));
                }
                match self.history.message(message) {
                    Some((channel, author)) if channel == act.channel && author == act.author => {}
                    _ => {
                        return Err(Rejection::Unknown(
                            "consent refers to no message of the author in this channel".into(),
                        ));
                    }
                }
                if to.is_public() || *to == act.channel || !state.channels.contains_key(to) {
                    return Err(Rejection::Invalid(format!(
                        "{to} is not another discreet channel"
                    )));
                }
                Ok(())
            }
            ActBody::Conveyed { from, conveyance } => {
                self.mediator("convey")?;
                self.discreet_only()?;
                if from.is_public() || *from == act.channel || !state.channels.contains_key(from) {
                    return Err(Rejection::Invalid(format!(
                        "{from} is not another discreet channel"
                    )));
                }
                match conveyance {
                    Conveyance::Paraphrase { text } => check_text("a paraphrase", text),
                    Conveyance::Original { original, consent } => {
                        if self.charter()?.charter.attribution != Attribution::OriginalWithConsent {
                            return Err(Rejection::CharterForbids("conveying originals"));
                        }
                        let original = self.embedded(original)?;
                        let consent = self.embedded(consent)?;
                        if !matches!(original.act.body, ActBody::Message { .. })
                            || original.act.channel != *from
                        {
                            return Err(Rejection::Invalid(format!(
                                "the original is not a message of {from}"
                            )));
                        }
                        match &consent.act.body {
                            ActBody::ConveyConsent { act: hash, to }
                                if *hash == original.hash
                                    && *to == act.channel
                                    && consent.act.author == original.act.author
                                    && consent.act.channel == *from => {}
                            _ => {
                                return Err(Rejection::ConsentMissing(
                                    "an original is conveyed only with its author's signed consent to this channel".into(),
                                ));
                            }
                        }
                        self.embedded_party(&original).map(drop)
                    }
                }
            }
            ActBody::NonPaper { text } => {
                self.mediator("table non-papers")?;
                self.discreet_only()?;
                if !self.charter()?.charter.non_papers {
                    return Err(Rejection::CharterForbids("non-papers"));
                }
                check_text("a non-paper", text)
            }
            ActBody::DraftIssued { draft } => {
                self.mediator("issue drafts")?;
                self.discreet_only()?;
                let expected = procedure
                    .latest_draft(&act.channel)
                    .map_or(1, |d| d.version + 1);
                if draft.version != expected {
                    return Err(Rejection::Invalid(format!(
                        "the next draft here is version {expected}"
                    )));
                }
                check_label("a draft's title", &draft.title)?;
                if draft.clauses.is_empty() {
                    return Err(Rejection::Invalid("a draft has at least one clause".into()));
                }
                let mut ids = BTreeSet::new();
                for clause in &draft.clauses {
                    check_label("a clause id", &clause.id)?;
                    check_text("a clause", &clause.text)?;
                    if !ids.insert(&clause.id) {
                        return Err(Rejection::Invalid(format!(
                            "clause {:?} appears twice",
                            clause.id
                        )));
                    }
                    let options = clause
                        .option
                        .iter()
                        .chain(clause.alternatives.iter().filter_map(|a| a.option.as_ref()));
                    for option in options {
                        let issue = clause.issue.as_deref().ok_or_else(|| {
                            Rejection::Invalid(format!(
                                "clause {:?} names an option but no issue",
                                clause.id
                            ))
                        })?;
                        self.check_issue_option(issue, option)?;
                    }
                    for alternative in &clause.alternatives {
                        check_text("an alternative", &alternative.text)?;
                    }
                }
                Ok(())
            }
            ActBody::DraftAnswered { version, answers } => {
                let party = self.own_channel()?;
                let Some(draft) = procedure
                    .drafts
                    .get(&act.channel)
                    .and_then(|d| d.iter().find(|d| d.version == *version))
                else {
                    return Err(Rejection::Unknown(format!(
                        "no draft version {version} was issued here"
                    )));
                };
                let answered = procedure
                    .answers
                    .get(&act.channel)
                    .and_then(|v| v.get(version))
                    .is_some_and(|p| p.contains_key(party));
                if answered {
                    return Err(Rejection::Conflict(format!(
                        "{party} has already answered version {version}"
                    )));
                }
                for (clause_id, answer) in answers {
                    let Some(clause) = draft.clauses.iter().find(|c| &c.id == clause_id) else {
                        return Err(Rejection::Unknown(format!(
                            "draft {version} has no clause {clause_id:?}"
                        )));
                    };
                    match answer {
                        ClauseAnswer::Accept => {}
                        ClauseAnswer::Object { reason } => check_text("a reason", reason)?,
                        ClauseAnswer::Prefer { option } => {
                            let issue = clause.issue.as_deref().ok_or_else(|| {
                                Rejection::Invalid(format!(
                                    "clause {clause_id:?} is tied to no issue"
                                ))
                            })?;
                            self.check_issue_option(issue, option)?;
                        }
                    }
                }
                Ok(())
            }
            ActBody::OfferCommitted { commitment } => {
                self.party("make offers")?;
                self.public_only()?;
                if procedure.offers.contains_key(commitment) {
                    return Err(Rejection::Conflict(
                        "that commitment is already on record".into(),
                    ));
                }
                Ok(())
            }
            ActBody::OfferTabled { offer, salt } => {
                self.own_channel()?;
                // Any commitment of the author's, whatever became of it since: a delegate who
                // reads the public record's match or withdrawal before this channel must
                // accept the same history as one who read them in the order they were made.
                match procedure.offers.get(&offer.commitment(salt)) {
                    Some(o) if o.by == act.author => {}
                    _ => {
                        return Err(Rejection::Unknown(
                            "the offer matches no commitment of its author on the public record"
                                .into(),
                        ));
                    }
                }
                if offer.promise.is_empty() {
                    return Err(Rejection::Invalid("an offer promises something".into()));
                }
                self.check_conditions(&offer.promise)?;
                self.check_conditions(&offer.condition)
            }
            ActBody::OfferWithdrawn { commitment } => {
                self.party("withdraw offers")?;
                self.public_only()?;
                match procedure.offers.get(commitment) {
                    Some(o) if o.by == act.author && o.status == OfferStatus::Open => Ok(()),
                    Some(o) if o.by == act.author => {
                        Err(Rejection::Conflict("the offer is no longer open".into()))
                    }
                    _ => Err(Rejection::Unknown(
                        "no open offer of the author has that commitment".into(),
                    )),
                }
            }
            ActBody::OffersOpened { offers } => {
                self.mediator("open offers")?;
                self.discreet_only()?;
                let mut opened: Vec<(String, crate::procedure::Offer)> = Vec::new();
                for signed in offers {
                    let verified = self.embedded(signed)?;
                    let ActBody::OfferTabled { offer, salt } = &verified.act.body else {
                        return Err(Rejection::BadEmbedded("it is not an offer".into()));
                    };
                    let party = self.embedded_party(&verified)?;
                    // Already opened is fine: the same pair is opened in each party's channel.
                    match procedure.offers.get(&offer.commitment(salt)) {
                        Some(o)
                            if o.by == verified.act.author
                                && o.status != OfferStatus::Withdrawn => {}
                        _ => {
                            return Err(Rejection::Conflict(
                                "an opened offer does not match an open commitment: it was changed or withdrawn".into(),
                            ));
                        }
                    }
                    if opened.iter().any(|(p, _)| *p == party) {
                        return Err(Rejection::Invalid("one offer per party".into()));
                    }
                    opened.push((party, offer.clone()));
                }
                if opened.len() < 2 {
                    return Err(Rejection::Invalid("offers open in matching pairs".into()));
                }
                for (i, (_, a)) in opened.iter().enumerate() {
                    for (_, b) in &opened[i + 1..] {
                        if !crate::procedure::offers_match(a, b) {
                            return Err(Rejection::Invalid("the offers do not match".into()));
                        }
                    }
                }
                Ok(())
            }
            ActBody::OffersMatched { commitments } => {
                self.mediator("record matched offers")?;
                self.public_only()?;
                let mut parties = BTreeSet::new();
                for commitment in commitments {
                    match procedure.offers.get(commitment) {
                        Some(o) if o.status != OfferStatus::Withdrawn => {
                            if !parties.insert(o.party.clone()) {
                                return Err(Rejection::Invalid("one offer per party".into()));
                            }
                        }
                        _ => {
                            return Err(Rejection::Unknown(
                                "a matched offer has no open commitment".into(),
                            ));
                        }
                    }
                }
                if parties.len() < 2 {
                    return Err(Rejection::Invalid("offers match in pairs".into()));
                }
                Ok(())
            }
            ActBody::DirectTalksProposed { channel } => {
                self.mediator("propose direct talks")?;
                self.public_only()?;
                if channel.is_public()
                    || state.channels.contains_key(channel)
                    || procedure.direct.contains_key(channel)
                {
                    return Err(Rejection::ChannelExists(channel.clone()));
                }
                Ok(())
            }
            ActBody::DirectTalksConsented { channel } => {
                let party = self.party("consent to direct talks")?;
                self.public_only()?;
                match procedure.direct.get(channel) {
                    Some(p) if p.consents.contains(party) => Err(Rejection::Conflict(format!(
                        "{party} has already consented"
                    ))),
                    Some(_) => Ok(()),
                    None => Err(Rejection::Unknown(format!(
                        "no direct talks were proposed in {channel}"
                    ))),
                }
            }
            ActBody::AgreementTabled { agreement } => {
                self.mediator("table the agreement")?;
                self.discreet_only()?;
                if procedure.agreement.as_ref().is_some_and(|a| a.published) {
                    return Err(Rejection::Conflict(
                        "an agreement is already published".into(),
                    ));
                }
                check_label("the agreement's title", &agreement.title)?;
                if agreement.clauses.is_empty() {
                    return Err(Rejection::Invalid(
                        "an agreement has at least one clause".into(),
                    ));
                }
                for guarantor in &agreement.guarantors {
                    if !matches!(
                        state.participants.get(guarantor).map(|p| &p.role),
                        Some(Role::Observer)
                    ) {
                        return Err(Rejection::Invalid("guarantors are observers".into()));
                    }
                }
                Ok(())
            }
            ActBody::AgreementSigned { agreement } => {
                self.discreet_only()?;
                match &procedure.agreement {
                    // A participant who reads the public record before a discreet channel
                    // meets the publication first and the signature it embeds second.
                    Some(a) if a.hash == *agreement && a.published => {
                        if a.signatures.contains_key(&act.author) {
                            Ok(())
                        } else {
                            Err(Rejection::Conflict(
                                "the agreement is already published".into(),
                            ))
                        }
                    }
                    Some(a) if a.hash == *agreement => {
                        if a.signatures.contains_key(&act.author) {
                            Err(Rejection::Conflict("already signed".into()))
                        } else {
                            Ok(())
                        }
                    }
                    _ => Err(Rejection::Unknown(
                        "no agreement with that hash is on the table".into(),
                    )),
                }
            }
            ActBody::AgreementPublished {
                agreement,
                signatures,
            } => {
                self.mediator("publish the agreement")?;
                self.public_only()?;
                if procedure.agreement.as_ref().is_some_and(|a| a.published) {
                    return Err(Rejection::Conflict(
                        "an agreement is already published".into(),
                    ));
                }
                let hash = agreement.hash();
                let mut signed_parties = BTreeSet::new();
                let mut witnessed = false;
                for signed in signatures {
                    let verified = self.embedded(signed)?;
                    if verified.act.body != (ActBody::AgreementSigned { agreement: hash }) {
                        return Err(Rejection::BadEmbedded(
                            "a signature is not over this agreement".into(),
                        ));
                    }
                    if verified.act.author == state.mediator {
                        witnessed = true;
                    } else {
                        signed_parties.insert(self.embedded_party(&verified)?);
                    }
                }
                let missing: Vec<String> = state
                    .parties()
                    .difference(&signed_parties)
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    return Err(Rejection::SignatureMissing(format!(
                        "the agreement is published only when every party has signed; missing: {}",
                        missing.join(", ")
                    )));
                }
                if !witnessed {
                    return Err(Rejection::SignatureMissing(
                        "the mediator's signature as witness is missing".into(),
                    ));
                }
                Ok(())
            }
            ActBody::AgreementGuaranteed { agreement } => {
                self.public_only()?;
                match &procedure.agreement {
                    Some(a) if a.published && a.hash == *agreement => {
                        if !a.agreement.guarantors.contains(&act.author) {
                            Err(Rejection::Invalid(
                                "only an invited guarantor co-signs".into(),
                            ))
                        } else if a.guaranteed_by.contains(&act.author) {
                            Err(Rejection::Conflict("already guaranteed".into()))
                        } else {
                            Ok(())
                        }
                    }
                    _ => Err(Rejection::Unknown(
                        "no published agreement has that hash".into(),
                    )),
                }
            }
            ActBody::DeclarationTabled { declaration } => {
                let party = self.own_channel()?;
                if declaration.party != party {
                    return Err(Rejection::Invalid(format!(
                        "{party} declares only for itself"
                    )));
                }
                check_text("a declaration", &declaration.text)
            }
            ActBody::DeclarationsPublished { declarations } => {
                self.mediator("publish declarations")?;
                self.public_only()?;
                if procedure.declarations_published {
                    return Err(Rejection::Conflict(
                        "declarations are already published".into(),
                    ));
                }
                let mut declared = BTreeSet::new();
                for signed in declarations {
                    let verified = self.embedded(signed)?;
                    let ActBody::DeclarationTabled { declaration } = &verified.act.body else {
                        return Err(Rejection::BadEmbedded("it is not a declaration".into()));
                    };
                    let party = self.embedded_party(&verified)?;
                    if declaration.party != party || !declared.insert(party) {
                        return Err(Rejection::Invalid(
                            "one declaration per party, by that party".into(),
                        ));
                    }
                }
                let missing: Vec<String> = state.parties().difference(&declared).cloned().collect();
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(Rejection::SignatureMissing(format!(
                        "declarations are missing from: {}",
                        missing.join(", ")
                    )))
                }
            }
            ActBody::Checkpoint { heads } => {
                self.public_only()?;
                if heads.is_empty() || heads.len() > state.channels.len() {
                    return Err(Rejection::Invalid(
                        "a checkpoint names each channel it covers once".into(),
                    ));
                }
                for head in heads {
                    if !state.channels.contains_key(&head.channel) || head.index == 0 {
                        return Err(Rejection::Unknown(format!(
                            "no position {} in channel {}",
                            head.index, head.channel
                        )));
                    }
                    // Compare what this participant holds; positions it has not reached, or
                    // channels it does not read, are for others to check.
                    if let Some(mine) = self.history.hash_at(&head.channel, head.index)
                        && mine != head.hash
                    {
                        return Err(Rejection::Equivocation {
                            channel: head.channel.clone(),
                            index: head.index,
                        });
                    }
                }
                Ok(())
            }
        }
    }
}
