//! The case state: a pure fold over verified acts. `check` decides whether an act may follow
//! the current state (the procedural rules and the chain), `apply` folds it in. A participant
//! folds the acts it can read; replaying the same log always gives the same state.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::act::{
    ACT_VERSION, Act, ActBody, ChannelPurpose, Digest32, MAX_LABEL_CHARS, MAX_TEXT_CHARS, Role,
    VerifiedAct,
};
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
        "act {index} on channel {channel} breaks the chain: expected index {expected_index} after {expected_prev:?}"
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
    #[error("{0} is not a participant of this case")]
    NotParticipant(PublicKey),
    #[error("{author:?} is not a member of channel {channel}")]
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
    #[error("{0:?} is already a participant")]
    AlreadyParticipant(PublicKey),
    #[error("channel {0} already exists")]
    ChannelExists(ChannelName),
    #[error("{member:?} may not be in channel {channel}: {why}")]
    MemberNotAllowed {
        member: PublicKey,
        channel: ChannelName,
        why: &'static str,
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
            Rejection::PublicOnly(_) => "public_only",
            Rejection::DiscreetOnly(_) => "discreet_only",
            Rejection::AlreadyParticipant(_) => "already_participant",
            Rejection::ChannelExists(_) => "channel_exists",
            Rejection::MemberNotAllowed { .. } => "member_not_allowed",
            Rejection::Invalid(_) => "invalid_act",
        }
    }
}

/// Where the case stands on the ladder: proximity talks → direct talks → public record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Proximity,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Participant {
    pub name: String,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChannelState {
    /// `None` for the public channel.
    pub purpose: Option<ChannelPurpose>,
    pub members: BTreeSet<PublicKey>,
    /// How many acts this participant has folded from the channel (its chain's head index).
    pub length: u64,
    pub head: Digest32,
}

/// Everything a participant knows about a case, derived from the acts it has verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaseState {
    pub case: CaseId,
    pub title: String,
    pub mediator: PublicKey,
    pub phase: Phase,
    pub participants: BTreeMap<PublicKey, Participant>,
    pub channels: BTreeMap<ChannelName, ChannelState>,
}

fn check_label(what: &str, text: &str) -> Result<(), Rejection> {
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_LABEL_CHARS || text.chars().any(char::is_control) {
        return Err(Rejection::Invalid(format!(
            "{what} must be 1 to {MAX_LABEL_CHARS} characters without control characters"
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
        for act in acts {
            state.accept(act)?;
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
        self.check_rules(&act)?;
        Ok(act)
    }

    /// Checks and folds one verified act posted on `act.act.channel`.
    pub fn accept(&mut self, act: &VerifiedAct) -> Result<(), Rejection> {
        self.check(act)?;
        self.apply(act);
        Ok(())
    }

    /// Whether `act` may follow the current state: its chain position, then the rules.
    pub fn check(&self, verified: &VerifiedAct) -> Result<(), Rejection> {
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
        self.check_rules(act)
    }

    /// The procedural rules, independent of chain position.
    fn check_rules(&self, act: &Act) -> Result<(), Rejection> {
        if !self.participants.contains_key(&act.author) {
            return Err(Rejection::NotParticipant(act.author));
        }
        let channel = self
            .channels
            .get(&act.channel)
            .ok_or_else(|| Rejection::UnknownChannel(act.channel.clone()))?;
        let is_mediator = act.author == self.mediator;
        let public = act.channel.is_public();
        if public {
            // Everyone admitted reads and may speak on the public channel.
        } else if !channel.members.contains(&act.author) {
            return Err(Rejection::NotChannelMember {
                author: act.author,
                channel: act.channel.clone(),
            });
        }
        match &act.body {
            ActBody::CaseOpened { .. } => Err(Rejection::BadGenesis),
            ActBody::MemberAdmitted { key, name, role } => {
                if !is_mediator {
                    return Err(Rejection::MediatorOnly("admit participants"));
                }
                if !public {
                    return Err(Rejection::PublicOnly("member_admitted"));
                }
                if self.participants.contains_key(key) {
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
                if !is_mediator {
                    return Err(Rejection::MediatorOnly("open channels"));
                }
                if !public {
                    return Err(Rejection::PublicOnly("channel_opened"));
                }
                if name.is_public() || self.channels.contains_key(name) {
                    return Err(Rejection::ChannelExists(name.clone()));
                }
                match purpose {
                    ChannelPurpose::Bilateral { party } => check_label("a party's name", party),
                }
            }
            ActBody::MembersChanged { members } => {
                if !is_mediator {
                    return Err(Rejection::MediatorOnly("change a channel's members"));
                }
                if public {
                    return Err(Rejection::DiscreetOnly("members_changed"));
                }
                if !members.contains(&self.mediator) {
                    return Err(Rejection::Invalid(
                        "the mediator stays in every discreet channel".into(),
                    ));
                }
                for member in members {
                    self.check_channel_member(&act.channel, channel, *member)?;
                }
                Ok(())
            }
            ActBody::Message { text } => {
                let chars = text.chars().count();
                if chars == 0 || chars > MAX_TEXT_CHARS {
                    return Err(Rejection::Invalid(format!(
                        "a message is 1 to {MAX_TEXT_CHARS} characters"
                    )));
                }
                Ok(())
            }
        }
    }

    /// Who may sit in a discreet channel: a bilateral channel holds the mediator and that
    /// party's delegation, never an observer or the other side.
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
            (Some(ChannelPurpose::Bilateral { .. }), _) => Err(Rejection::MemberNotAllowed {
                member,
                channel: name.clone(),
                why: "a bilateral channel holds only the mediator and that party",
            }),
            (None, _) => Err(Rejection::DiscreetOnly("members_changed")),
        }
    }

    /// Folds an act already checked with [`CaseState::check`].
    pub fn apply(&mut self, verified: &VerifiedAct) {
        let act = &verified.act;
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
            }
            ActBody::MembersChanged { members } => {
                if let Some(channel) = self.channels.get_mut(&act.channel) {
                    channel.members = members.iter().copied().collect();
                }
            }
            ActBody::CaseOpened { .. } | ActBody::Message { .. } => {}
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
