//! The mediation procedure's vocabulary and bookkeeping: the charter, the agenda, sealed
//! positions, the single negotiating text, conditional offers, direct talks, requirements,
//! the agreement and unilateral declarations. The rules that decide who may do what, where,
//! and when, are in [`crate::state`]; this module holds the types and the pure helpers they
//! use (commitments, hashes, offer matching).

use std::collections::{BTreeMap, BTreeSet};

use backchannel_formula::{Condition, Issue, Package, Party as Position, Requirement};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::ids::{ChannelName, PublicKey};
use crate::signed::{Digest32, SignedAct};

/// Who may propose agenda items.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgendaProposers {
    MediatorOnly,
    PartiesAndMediator,
}

impl AgendaProposers {
    /// The word the command line uses for it (`charter propose --agenda-by`).
    pub fn word(self) -> &'static str {
        match self {
            AgendaProposers::MediatorOnly => "mediator",
            AgendaProposers::PartiesAndMediator => "parties",
        }
    }
}

/// How a delegation binds its party (`charter propose --delegation`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delegation {
    /// Any admitted delegate's acceptance, consent, answer or signature binds the party.
    #[default]
    Any,
    /// Only the party's head of delegation (named at admission) binds it; other delegates
    /// prepare and talk in their channel.
    Head,
}

impl Delegation {
    /// The word the command line uses for it.
    pub fn word(self) -> &'static str {
        match self {
            Delegation::Any => "any",
            Delegation::Head => "head",
        }
    }

    fn is_any(&self) -> bool {
        *self == Delegation::Any
    }
}

/// How the mediator may carry one side's words to the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribution {
    /// Only the mediator's own paraphrase, attributed to the mediator.
    ParaphraseOnly,
    /// Also the original, signed by its author, when the author consents.
    OriginalWithConsent,
}

impl Attribution {
    /// The word the command line uses for it (`charter propose --attribution`).
    pub fn word(self) -> &'static str {
        match self {
            Attribution::ParaphraseOnly => "paraphrase",
            Attribution::OriginalWithConsent => "original",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadline {
    pub what: String,
    /// A date as the parties write it (informative: the core reads no clock).
    pub by: String,
}

/// The case's procedural rules, proposed by the mediator and accepted by every party.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Charter {
    pub agenda_proposers: AgendaProposers,
    pub non_papers: bool,
    pub attribution: Attribution,
    #[serde(default)]
    pub deadlines: Vec<Deadline>,
    /// Absent in charters written before delegations: any delegate binds.
    #[serde(default, skip_serializing_if = "Delegation::is_any")]
    pub delegation: Delegation,
}

/// One clause of a draft: text, optionally tied to an issue's option, optionally with
/// bracketed alternatives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    pub id: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<Alternative>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alternative {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
    pub text: String,
}

/// A version of the single negotiating text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    pub version: u32,
    pub title: String,
    pub clauses: Vec<Clause>,
}

impl Draft {
    /// The package the draft's clauses settle on (issue → option).
    pub fn package(&self) -> Package {
        Package::from_pairs(
            self.clauses
                .iter()
                .filter_map(|c| Some((c.issue.clone()?, c.option.clone()?))),
        )
    }
}

/// A party's answer to one clause.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClauseAnswer {
    Accept,
    Object {
        reason: String,
    },
    /// Prefer another option of the clause's issue.
    Prefer {
        option: String,
    },
}

/// "We will do `promise` if they do `condition`", in the scenario's terms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    pub promise: Vec<Condition>,
    pub condition: Vec<Condition>,
}

impl Offer {
    /// The hiding, binding commitment to this offer under `salt`.
    pub fn commitment(&self, salt: &Digest32) -> Digest32 {
        let mut digest = Sha256::new();
        digest.update(b"backchannel/offer/v1\0");
        digest.update(salt.0);
        digest.update(serde_json::to_vec(self).unwrap_or_default());
        Digest32(digest.finalize().into())
    }

    /// Whether this offer's promises guarantee every one of `condition`: for each condition,
    /// some promise on the same issue settles within the condition's options.
    pub fn satisfies(&self, condition: &[Condition]) -> bool {
        condition.iter().all(|c| {
            self.promise.iter().any(|p| {
                p.issue == c.issue
                    && !p.options.is_empty()
                    && p.options.iter().all(|o| c.options.contains(o))
            })
        })
    }
}

/// Whether two offers match: each one's condition is guaranteed by the other's promise.
pub fn offers_match(a: &Offer, b: &Offer) -> bool {
    b.satisfies(&a.condition) && a.satisfies(&b.condition)
}

/// The text put to signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    pub title: String,
    pub clauses: Vec<Clause>,
    /// Observers invited to co-sign as guarantors once it is published.
    #[serde(default)]
    pub guarantors: Vec<PublicKey>,
    /// Its implementation plan, tabled with it so that every signature covers it: in force
    /// from publication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<crate::plan::Plan>,
}

impl Agreement {
    pub fn hash(&self) -> Digest32 {
        let mut digest = Sha256::new();
        digest.update(b"backchannel/agreement/v1\0");
        digest.update(serde_json::to_vec(self).unwrap_or_default());
        Digest32(digest.finalize().into())
    }
}

/// A unilateral declaration, for sides that will not sign one text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    pub party: String,
    pub text: String,
}

/// A party's answers to a draft, by clause id.
pub type Answers = BTreeMap<String, ClauseAnswer>;

/// What the mediator carries from one channel to another.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Conveyance {
    /// The mediator's own words, attributed to the mediator.
    Paraphrase { text: String },
    /// The author's signed original, with the author's signed consent to convey it here.
    Original {
        original: SignedAct,
        consent: SignedAct,
    },
}

// --- state ------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CharterState {
    /// The hash of the `charter_proposed` act.
    pub proposal: Digest32,
    pub charter: Charter,
    pub accepted_by: BTreeSet<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgendaItem {
    pub title: String,
    pub demand: bool,
    pub proposed_by: PublicKey,
    /// The parties that consented.
    pub consents: BTreeSet<String>,
    pub adopted: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegisteredRequirement {
    pub by: PublicKey,
    pub requirement: Requirement,
    pub rationale: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    Open,
    Withdrawn,
    Opened,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OfferState {
    pub by: PublicKey,
    pub party: String,
    pub status: OfferStatus,
    /// The offer itself, where this participant can see it.
    pub offer: Option<Offer>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DirectProposal {
    pub consents: BTreeSet<String>,
    pub opened: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgreementState {
    pub agreement: Agreement,
    pub hash: Digest32,
    /// Signatures seen in discreet channels, by signer.
    pub signatures: BTreeMap<PublicKey, SignedAct>,
    pub published: bool,
    pub guaranteed_by: BTreeSet<PublicKey>,
    /// When the publishing act was made (states folded before this was kept: unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_ms: Option<u64>,
    /// The publishing act's index on the public record: a tabling or signature whose author
    /// had seen it (`Act::seen`) comes too late; one whose author had not was made before it,
    /// and a reader may still meet it after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_index: Option<u64>,
    /// Every text this participant has read tabled, this one included: a signature of an
    /// earlier text, read after a later one, is recognised and changes nothing.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub tabled: BTreeSet<Digest32>,
}

impl AgreementState {
    /// Whether an act that saw the public record up to `seen_public` was made after the
    /// publication.
    pub fn published_before(&self, seen_public: u64) -> bool {
        self.published && self.published_index.is_none_or(|at| seen_public >= at)
    }
}

/// The implementation plan on the record, and what the record says of its progress.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImplementationState {
    /// The hash of the `plan_proposed` act.
    pub proposal: Digest32,
    pub plan: crate::plan::Plan,
    pub accepted_by: BTreeSet<String>,
    pub in_force: bool,
    pub reports: Vec<crate::plan::Said>,
    pub attestations: Vec<crate::plan::Said>,
    #[serde(default)]
    pub disputes: Vec<crate::plan::Dispute>,
    /// Consents to an extension not granted yet: (commitment, days, party).
    #[serde(default)]
    pub extension_consents: Vec<(String, u32, String)>,
    /// Extensions granted: (commitment, days).
    #[serde(default)]
    pub extensions: Vec<(String, u32)>,
}

/// Everything the procedure has established, as this participant can see it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Procedure {
    pub charter: Option<CharterState>,
    pub issues: Vec<Issue>,
    /// Agenda items by the public index of their proposal.
    pub agenda: BTreeMap<u64, AgendaItem>,
    pub requirements: Vec<RegisteredRequirement>,
    /// Positions sealed to the mediator, by party (the mediator holds all; a party its own):
    /// the latest revision of each.
    pub positions: BTreeMap<String, Position>,
    /// The version of each party's latest sealed position, from 1.
    #[serde(default)]
    pub position_versions: BTreeMap<String, u32>,
    /// The published agreement's implementation plan, once proposed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation: Option<ImplementationState>,
    /// Drafts issued, per channel, in version order.
    pub drafts: BTreeMap<ChannelName, Vec<Draft>>,
    /// Answers: channel → version → party → clause → answer.
    pub answers: BTreeMap<ChannelName, BTreeMap<u32, BTreeMap<String, Answers>>>,
    /// Conditional offers by commitment.
    pub offers: BTreeMap<Digest32, OfferState>,
    /// Direct-talk proposals by channel.
    pub direct: BTreeMap<ChannelName, DirectProposal>,
    pub agreement: Option<AgreementState>,
    /// Declarations tabled, by party.
    pub declarations: BTreeMap<String, SignedAct>,
    pub declarations_published: bool,
    /// Consents to convey: (message hash, destination channel).
    pub convey_consents: BTreeSet<(Digest32, ChannelName)>,
}

impl Procedure {
    /// Where `package` departs from the terms of offers that matched and were opened: one
    /// sentence per issue, naming what the offers settled and what the text says instead.
    pub fn departures_from_offers(&self, package: &backchannel_formula::Package) -> Vec<String> {
        let mut departures = std::collections::BTreeMap::new();
        for offer in self.offers.values() {
            let (OfferStatus::Opened, Some(terms)) = (&offer.status, &offer.offer) else {
                continue;
            };
            for term in terms.promise.iter().chain(&terms.condition) {
                if let Some(option) = package.get(&term.issue)
                    && !term.options.iter().any(|o| o == option)
                {
                    departures.entry(term.issue.clone()).or_insert_with(|| {
                        format!(
                            "the text says {option} on {}, where the matched offers settled {}",
                            term.issue,
                            term.options.join(" or ")
                        )
                    });
                }
            }
        }
        departures.into_values().collect()
    }

    /// The dispute with this number, if the plan's record holds it.
    pub fn dispute_mut(&mut self, id: u32) -> Option<&mut crate::plan::Dispute> {
        self.implementation
            .as_mut()?
            .disputes
            .iter_mut()
            .find(|d| d.id == id)
    }

    /// What the record says for [`crate::plan::status`]: the publication, reports and
    /// attestations.
    pub fn implementation_facts(&self) -> crate::plan::Facts {
        let Some(implementation) = &self.implementation else {
            return crate::plan::Facts::default();
        };
        crate::plan::Facts {
            agreement_ms: self.agreement.as_ref().and_then(|a| a.published_ms),
            reports: implementation.reports.clone(),
            attestations: implementation.attestations.clone(),
            disputes: implementation.disputes.clone(),
            extensions: implementation.extensions.clone(),
        }
    }

    /// The version of `party`'s sealed position, if one is sealed (states folded before
    /// versions were kept count the one they hold as version 1).
    pub fn position_version(&self, party: &str) -> Option<u32> {
        self.position_versions
            .get(party)
            .copied()
            .or_else(|| self.positions.contains_key(party).then_some(1))
    }
}

impl Procedure {
    /// The latest draft issued on a channel.
    pub fn latest_draft(&self, channel: &ChannelName) -> Option<&Draft> {
        self.drafts.get(channel).and_then(|d| d.last())
    }

    /// A scenario of the case's issues with these parties and requirements.
    pub fn scenario(
        &self,
        parties: Vec<Position>,
        requirements: Vec<Requirement>,
    ) -> backchannel_formula::Scenario {
        backchannel_formula::Scenario {
            format: backchannel_formula::scenario::FORMAT.into(),
            title: None,
            description: None,
            issues: self.issues.clone(),
            parties,
            requirements,
        }
    }

    /// The latest draft issued anywhere this participant can see.
    pub fn latest_draft_anywhere(&self) -> Option<&Draft> {
        self.drafts
            .values()
            .filter_map(|d| d.last())
            .max_by_key(|d| d.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(issue: &str, options: &[&str]) -> Condition {
        Condition {
            issue: issue.into(),
            options: options.iter().map(|o| (*o).to_owned()).collect(),
        }
    }

    #[test]
    fn offers_match_only_when_each_condition_is_guaranteed() {
        let us = Offer {
            promise: vec![cond("sanctions", &["phased_lift"])],
            condition: vec![cond("enrichment", &["cap_3_67", "none"])],
        };
        let iran = Offer {
            promise: vec![cond("enrichment", &["cap_3_67"])],
            condition: vec![cond("sanctions", &["phased_lift", "full_lift"])],
        };
        assert!(offers_match(&us, &iran));
        let vague = Offer {
            promise: vec![cond("enrichment", &["cap_3_67", "cap_20"])],
            condition: iran.condition.clone(),
        };
        assert!(
            !offers_match(&us, &vague),
            "a promise that may settle outside the condition does not satisfy it"
        );
        let unrelated = Offer {
            promise: vec![cond("detainees", &["full_exchange"])],
            condition: iran.condition.clone(),
        };
        assert!(!offers_match(&us, &unrelated));
    }

    #[test]
    fn commitments_bind_and_hide() {
        let offer = Offer {
            promise: vec![cond("a", &["x"])],
            condition: vec![],
        };
        let salt = Digest32([7; 32]);
        let changed = Offer {
            promise: vec![cond("a", &["y"])],
            condition: vec![],
        };
        assert_eq!(offer.commitment(&salt), offer.commitment(&salt));
        assert_ne!(offer.commitment(&salt), changed.commitment(&salt));
        assert_ne!(
            offer.commitment(&salt),
            offer.commitment(&Digest32([8; 32]))
        );
    }
}
