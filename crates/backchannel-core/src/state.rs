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
use crate::procedure::Procedure;

mod fold;
mod rejection;
mod rules;

pub use rejection::Rejection;

use rules::Ctx;

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
    /// Where this participant's copy begins, when it was seated after the channel began: the
    /// index of the first act it read and the hash that act follows, which a shared history
    /// must lead to (`CaseState::check_history`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_at: Option<(u64, Digest32)>,
    /// Whether this participant was removed from the channel (as its MLS group told it,
    /// `CaseState::leave`) and has read nothing there since: seated again, its copy resumes
    /// at the `members_changed` act that names it, as a newcomer's begins.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub left: bool,
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

/// A head someone else holds, against this participant's copy: the same act where the copy
/// holds the position (else `equivocation`, naming both); a position it has not reached is
/// for the caller to compare when it does.
pub(crate) fn same_as_copy(head: &Head, history: &dyn History) -> Result<(), Rejection> {
    match history.hash_at(&head.channel, head.index) {
        Some(ours) if ours != head.hash => Err(Rejection::Equivocation {
            channel: head.channel.clone(),
            index: head.index,
            theirs: head.hash,
            ours,
        }),
        _ => Ok(()),
    }
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
                joined_at: None,
                left: false,
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
        // chain starts at the mediator's `members_changed` act that names it. So does the
        // copy of a participant removed and seated again, which cannot read what was said
        // in between.
        let anchors = (channel.length == 0 || (channel.left && act.index > channel.length))
            && matches!(act.body, ActBody::MembersChanged { .. });
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

    /// Notes that this participant was removed from `channel` (its MLS group said so): what
    /// it reads there next, once seated again, may start after a gap.
    pub fn leave(&mut self, channel: &ChannelName) {
        if let Some(channel) = self.channels.get_mut(channel) {
            channel.left = true;
        }
    }

    /// How many acts of `channel` this participant has folded (0 for a channel it does not
    /// hold).
    pub fn held(&self, channel: &ChannelName) -> u64 {
        self.channels.get(channel).map_or(0, |c| c.length)
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

    /// A shared history of `channel` (`history::SharedHistory`): consecutive acts of the
    /// channel within this participant's copy of it, each signed by its author and chained to
    /// the one before, from the channel's first act or from where this participant's copy
    /// ends; the same acts as this copy where it holds them; and, for a participant seated
    /// late, a chain that leads to the first act it read.
    pub fn check_history(
        &self,
        channel: &ChannelName,
        acts: &[VerifiedAct],
        history: &dyn History,
    ) -> Result<(), Rejection> {
        let state = self
            .channels
            .get(channel)
            .ok_or_else(|| Rejection::UnknownChannel(channel.clone()))?;
        if channel.is_public() || acts.is_empty() {
            return Err(Rejection::Invalid(
                "a shared history holds acts of a discreet channel".into(),
            ));
        }
        let broken = |why: String| Rejection::BadEmbedded(format!("the shared history {why}"));
        let mut previous: Option<(u64, Digest32)> = None;
        for shared in acts {
            let act = &shared.act;
            if act.case != self.case || act.channel != *channel || act.index > state.length {
                return Err(broken(format!(
                    "holds an act that is not an earlier act of channel {channel}"
                )));
            }
            let follows = match previous {
                Some((index, hash)) if act.index == index + 1 => Some(hash),
                Some(_) => return Err(broken("skips or repeats an act".into())),
                None if act.index == 1 => Some(Digest32::ZERO),
                None => history.hash_at(channel, act.index - 1),
            };
            match follows {
                Some(hash) if hash == act.prev => {}
                Some(_) => {
                    return Err(broken(format!("breaks the chain at index {}", act.index)));
                }
                None => {
                    return Err(broken(
                        "does not start where this participant's copy ends".into(),
                    ));
                }
            }
            same_as_copy(
                &Head {
                    channel: channel.clone(),
                    index: act.index,
                    hash: shared.hash,
                },
                history,
            )?;
            if let Some((first, leads_to)) = state.joined_at
                && act.index + 1 == first
                && shared.hash != leads_to
            {
                return Err(broken(
                    "does not lead to the first act this participant read in the channel".into(),
                ));
            }
            previous = Some((act.index, shared.hash));
        }
        Ok(())
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
            same_as_copy(head, history)?;
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
