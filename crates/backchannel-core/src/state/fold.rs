//! The fold: how each kind of act, once checked, changes the case state. Nothing here
//! refuses: `CaseState::check` has decided. Every change follows from the act alone and the
//! state, so replaying a log gives the same state, and the acts whose readers may meet them
//! in different orders (see `tests/interleaving.rs`) commute.

use std::collections::{BTreeMap, BTreeSet};

use super::{CaseState, ChannelState, Participant, Phase};
use crate::act::{ActBody, Digest32, VerifiedAct};
use crate::ids::ChannelName;
use crate::plan::{Dispute, Said};
use crate::procedure::{
    AgendaItem, AgreementState, CharterState, DirectProposal, ImplementationState, OfferState,
    OfferStatus, RegisteredRequirement,
};

impl CaseState {
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
                        joined_at: None,
                        left: false,
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
            if (channel.length == 0 || channel.left) && act.index > channel.length + 1 {
                channel.joined_at = Some((act.index, act.prev));
            }
            channel.left = false;
            channel.length = act.index;
            channel.head = verified.hash;
        }
    }
}
