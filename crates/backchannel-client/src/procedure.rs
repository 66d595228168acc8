//! The mediation procedure as a participant drives it: each method checks the case's rules
//! locally (a refused act never leaves the machine), then posts the act where the procedure
//! puts it — the public record, the author's bilateral channel, or every party's channel.

use std::collections::BTreeMap;

use backchannel_core::act::{ChannelPurpose, Digest32, Head, VerifiedAct};
use backchannel_core::procedure::{
    Agreement, Answers, Charter, Clause, Conveyance, Declaration, Draft, Offer, OfferStatus,
};
use backchannel_core::record::{RECORD_FORMAT, Record};
use backchannel_core::{ActBody, CaseId, ChannelName, PublicKey, Rejection, Role};
use backchannel_formula::{Issue, Package, Party as Position, Requirement};
use rand::RngCore;
use serde::Serialize;

use crate::client::{Client, LogLine};
use crate::error::ClientError;
use crate::store::Filter;

/// The engine's proposal for the next single negotiating text.
#[derive(Clone, Debug, Serialize)]
pub struct DraftProposal {
    pub draft: Draft,
    /// The formula engine's reasoning: changes, utilities, Nash share, objections met.
    pub engine: backchannel_formula::Draft,
    /// Ids of the registered requirements the proposal meets, and of those it does not.
    pub requirements_met: Vec<String>,
    pub requirements_unmet: Vec<String>,
}

/// One difference between two drafts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClauseDiff {
    pub clause: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Whether a package meets a requirement (issues the package leaves open do not meet it).
pub fn meets(requirement: &Requirement, package: &Package) -> bool {
    use backchannel_formula::RequirementKind;
    let settles = |issue: &str, options: &[String]| {
        package
            .get(issue)
            .is_some_and(|o| options.iter().any(|x| x == o))
    };
    match &requirement.kind {
        RequirementKind::RequireOneOf { issue, options } => settles(issue, options),
        RequirementKind::Forbid { issue, options } => package
            .get(issue)
            .is_some_and(|o| !options.iter().any(|x| x == o)),
        RequirementKind::Implies { if_, then } => {
            !settles(&if_.issue, &if_.options) || settles(&then.issue, &then.options)
        }
    }
}

/// The clauses of a package: one per issue, in the issues' order.
pub fn clauses_for(issues: &[Issue], package: &Package) -> Vec<Clause> {
    issues
        .iter()
        .filter_map(|issue| {
            let option = package.get(&issue.id)?;
            let label = issue.options.iter().find(|o| o.id == option)?.label.clone();
            Some(Clause {
                id: issue.id.clone(),
                text: format!("{}: {label}.", issue.title),
                issue: Some(issue.id.clone()),
                option: Some(option.to_owned()),
                alternatives: vec![],
            })
        })
        .collect()
}

/// Clause-by-clause differences between two drafts.
pub fn diff(a: &Draft, b: &Draft) -> Vec<ClauseDiff> {
    let before: BTreeMap<&str, &Clause> = a.clauses.iter().map(|c| (c.id.as_str(), c)).collect();
    let after: BTreeMap<&str, &Clause> = b.clauses.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut ids: Vec<&str> = a.clauses.iter().map(|c| c.id.as_str()).collect();
    ids.extend(
        b.clauses
            .iter()
            .map(|c| c.id.as_str())
            .filter(|id| !before.contains_key(id)),
    );
    ids.into_iter()
        .filter_map(|id| {
            let (x, y) = (before.get(id), after.get(id));
            (x != y).then(|| ClauseDiff {
                clause: id.to_owned(),
                before: x.map(|c| c.text.clone()),
                after: y.map(|c| c.text.clone()),
            })
        })
        .collect()
}

impl Client {
    fn my_party(&self, case: CaseId, what: &'static str) -> Result<String, ClientError> {
        let state = self.state(case)?;
        state
            .participants
            .get(&self.key())
            .and_then(|p| p.role.party().map(str::to_owned))
            .ok_or_else(|| Rejection::PartyOnly(what).into())
    }

    /// The bilateral channel of this participant's party.
    pub fn own_channel(&self, case: CaseId) -> Result<ChannelName, ClientError> {
        let party = self.my_party(case, "post in a party's bilateral channel")?;
        self.state(case)?
            .bilateral_channel(&party)
            .cloned()
            .ok_or_else(|| ClientError::Invalid(format!("{party} has no bilateral channel yet")))
    }

    /// Every party's bilateral channel.
    fn party_channels(&self, case: CaseId) -> Result<Vec<ChannelName>, ClientError> {
        Ok(self
            .state(case)?
            .channels
            .iter()
            .filter(|(_, c)| matches!(c.purpose, Some(ChannelPurpose::Bilateral { .. })))
            .map(|(name, _)| name.clone())
            .collect())
    }

    /// Posts the same act on every party's bilateral channel, checking it against each first
    /// so that either all of them go out or none.
    async fn post_to_parties(
        &mut self,
        case: CaseId,
        body: ActBody,
    ) -> Result<Vec<LogLine>, ClientError> {
        self.sync(case).await?;
        let channels = self.party_channels(case)?;
        if channels.is_empty() {
            return Err(ClientError::Invalid(
                "no party has a bilateral channel yet".into(),
            ));
        }
        for channel in &channels {
            self.check_next(case, channel, &body)?;
        }
        let mut lines = Vec::new();
        for channel in channels {
            lines.push(self.post(case, &channel, body.clone()).await?);
        }
        Ok(lines)
    }

    async fn post_public(&mut self, case: CaseId, body: ActBody) -> Result<LogLine, ClientError> {
        self.sync(case).await?;
        self.post(case, &ChannelName::public(), body).await
    }

    async fn post_own(&mut self, case: CaseId, body: ActBody) -> Result<LogLine, ClientError> {
        self.sync(case).await?;
        self.my_party(case, body.kind())?;
        let channel = self.own_channel(case)?;
        self.post(case, &channel, body).await
    }

    /// The procedure's acts (every act but messages) of this participant's log that satisfy
    /// `keep`, in log order.
    pub fn acts(
        &self,
        case: CaseId,
        keep: impl Fn(&VerifiedAct) -> bool,
    ) -> Result<Vec<VerifiedAct>, ClientError> {
        let procedural = Filter {
            procedural: true,
            ..Filter::default()
        };
        Ok(self
            .stored_acts(case, procedural)?
            .into_iter()
            .map(|s| s.act)
            .filter(|a| keep(a))
            .collect())
    }

    // --- charter, issues, agenda ------------------------------------------------------------

    pub async fn propose_charter(
        &mut self,
        case: CaseId,
        charter: Charter,
    ) -> Result<LogLine, ClientError> {
        self.post_public(case, ActBody::CharterProposed { charter })
            .await
    }

    pub async fn accept_charter(&mut self, case: CaseId) -> Result<LogLine, ClientError> {
        self.sync(case).await?;
        let proposal = self
            .state(case)?
            .procedure
            .charter
            .as_ref()
            .map(|c| c.proposal)
            .ok_or_else(|| ClientError::Invalid("no charter has been proposed".into()))?;
        self.post(
            case,
            &ChannelName::public(),
            ActBody::CharterAccepted { proposal },
        )
        .await
    }

    pub async fn define_issues(
        &mut self,
        case: CaseId,
        issues: Vec<Issue>,
    ) -> Result<LogLine, ClientError> {
        self.post_public(case, ActBody::IssuesDefined { issues })
            .await
    }

    pub async fn propose_agenda_item(
        &mut self,
        case: CaseId,
        title: &str,
        demand: bool,
    ) -> Result<LogLine, ClientError> {
        self.post_public(
            case,
            ActBody::AgendaProposed {
                title: title.to_owned(),
                demand,
            },
        )
        .await
    }

    pub async fn consent_agenda_item(
        &mut self,
        case: CaseId,
        item: u64,
    ) -> Result<LogLine, ClientError> {
        self.post_public(case, ActBody::AgendaConsented { item })
            .await
    }

    // --- positions and requirements ---------------------------------------------------------

    /// Seals this party's position to the mediator, in the party's bilateral channel.
    pub async fn seal_position(
        &mut self,
        case: CaseId,
        position: Position,
    ) -> Result<LogLine, ClientError> {
        self.post_own(case, ActBody::PositionSealed { position })
            .await
    }

    pub async fn register_requirement(
        &mut self,
        case: CaseId,
        requirement: Requirement,
        rationale: &str,
    ) -> Result<LogLine, ClientError> {
        self.post_public(
            case,
            ActBody::RequirementRegistered {
                requirement,
                rationale: rationale.to_owned(),
            },
        )
        .await
    }

    // --- conveying ------------------------------------------------------------------------

    /// As mediator: carries `text`, in the mediator's own words, from one channel to another.
    pub async fn convey_paraphrase(
        &mut self,
        case: CaseId,
        from: &ChannelName,
        to: &ChannelName,
        text: &str,
    ) -> Result<LogLine, ClientError> {
        self.sync(case).await?;
        let conveyance = Conveyance::Paraphrase {
            text: text.to_owned(),
        };
        self.post(
            case,
            to,
            ActBody::Conveyed {
                from: from.clone(),
                conveyance,
            },
        )
        .await
    }

    /// As a party: consents that its message at `index` in its channel be conveyed, signed,
    /// to channel `to`.
    pub async fn consent_to_convey(
        &mut self,
        case: CaseId,
        index: u64,
        to: &ChannelName,
    ) -> Result<LogLine, ClientError> {
        self.sync(case).await?;
        let channel = self.own_channel(case)?;
        let me = self.key();
        let message = self
            .act_at(case, &channel, index)?
            .filter(|a| a.act.author == me && matches!(a.act.body, ActBody::Message { .. }))
            .ok_or_else(|| {
                ClientError::Invalid(format!(
                    "act {index} of {channel} is not a message of yours"
                ))
            })?;
        self.post(
            case,
            &channel,
            ActBody::ConveyConsent {
                act: message.hash,
                to: to.clone(),
            },
        )
        .await
    }

    /// As mediator: carries the original message at `index` of `from`, with its author's
    /// signature and signed consent, to `to`. Without that consent, nothing is sent.
    pub async fn convey_original(
        &mut self,
        case: CaseId,
        from: &ChannelName,
        index: u64,
        to: &ChannelName,
    ) -> Result<LogLine, ClientError> {
        self.sync(case).await?;
        let original = self
            .act_at(case, from, index)?
            .ok_or_else(|| ClientError::Invalid(format!("no act {index} in {from}")))?;
        let consent = self
            .acts(case, |a| {
                a.act.channel == *from
                    && a.act.author == original.act.author
                    && a.act.body == (ActBody::ConveyConsent { act: original.hash, to: to.clone() })
            })?
            .into_iter()
            .next()
            .ok_or_else(|| {
                Rejection::ConsentMissing(format!(
                    "the author of act {index} in {from} has not consented to its being conveyed to {to}"
                ))
            })?;
        let conveyance = Conveyance::Original {
            original: original.signed,
            consent: consent.signed,
        };
        self.post(
            case,
            to,
            ActBody::Conveyed {
                from: from.clone(),
                conveyance,
            },
        )
        .await
    }

    /// As mediator: tables a non-paper — a proposal attributed to no one — to every party.
    pub async fn table_non_paper(
        &mut self,
        case: CaseId,
        text: &str,
    ) -> Result<Vec<LogLine>, ClientError> {
        self.post_to_parties(
            case,
            ActBody::NonPaper {
                text: text.to_owned(),
            },
        )
        .await
    }

    // --- the single negotiating text --------------------------------------------------------

    /// The next version number of the single negotiating text.
    pub fn next_draft_version(&self, case: CaseId) -> Result<u32, ClientError> {
        Ok(self
            .state(case)?
            .procedure
            .latest_draft_anywhere()
            .map_or(1, |d| d.version + 1))
    }

    /// As mediator: issues a draft to every party (each in its bilateral channel).
    pub async fn issue_draft(
        &mut self,
        case: CaseId,
        title: &str,
        clauses: Vec<Clause>,
    ) -> Result<Draft, ClientError> {
        self.sync(case).await?;
        let draft = Draft {
            version: self.next_draft_version(case)?,
            title: title.to_owned(),
            clauses,
        };
        self.post_to_parties(
            case,
            ActBody::DraftIssued {
                draft: draft.clone(),
            },
        )
        .await?;
        Ok(draft)
    }

    /// As a party: answers a draft clause by clause, to the mediator only.
    pub async fn answer_draft(
        &mut self,
        case: CaseId,
        version: u32,
        answers: Answers,
    ) -> Result<LogLine, ClientError> {
        self.post_own(case, ActBody::DraftAnswered { version, answers })
            .await
    }

    /// A draft by version, as this participant holds it.
    pub fn draft(&self, case: CaseId, version: u32) -> Result<Draft, ClientError> {
        self.state(case)?
            .procedure
            .drafts
            .values()
            .flat_map(|d| d.iter())
            .find(|d| d.version == version)
            .cloned()
            .ok_or_else(|| {
                ClientError::Invalid(format!("no draft version {version} is known here"))
            })
    }

    /// The scenario the mediator holds: the case's issues, the positions sealed to it, the
    /// observers' requirements.
    pub fn held_scenario(
        &self,
        case: CaseId,
    ) -> Result<backchannel_formula::Scenario, ClientError> {
        let procedure = &self.state(case)?.procedure;
        let requirements = procedure
            .requirements
            .iter()
            .map(|r| r.requirement.clone())
            .collect();
        let scenario = procedure.scenario(
            procedure.positions.values().cloned().collect(),
            requirements,
        );
        scenario.validate().map_err(|e| {
            ClientError::Invalid(format!(
                "the positions held do not form a scenario yet: {e}"
            ))
        })?;
        Ok(scenario)
    }

    /// As mediator: the formula engine's next draft, from the positions it holds, the current
    /// draft and every party's answers to it. Nothing is posted.
    pub fn propose_next_draft(&self, case: CaseId) -> Result<DraftProposal, ClientError> {
        self.propose_next_draft_with(case, &backchannel_formula::DraftOptions::default())
    }

    /// [`Client::propose_next_draft`] with the engine's knobs (e.g. how close to the best
    /// Nash product a proposal must stay).
    pub fn propose_next_draft_with(
        &self,
        case: CaseId,
        options: &backchannel_formula::DraftOptions,
    ) -> Result<DraftProposal, ClientError> {
        let state = self.state(case)?;
        if state.mediator != self.key() {
            return Err(
                Rejection::MediatorOnly("run the formula engine on sealed positions").into(),
            );
        }
        let scenario = self.held_scenario(case)?;
        let solution =
            backchannel_formula::solve(&scenario, &backchannel_formula::SolveOptions::default());
        let procedure = &state.procedure;
        let latest = procedure.latest_draft_anywhere();
        let current = match latest {
            Some(draft) => draft.package(),
            None => solution
                .nash
                .as_ref()
                .map(|p| p.package.clone())
                .unwrap_or_default(),
        };
        let mut responses = Vec::new();
        if let Some(draft) = latest {
            for versions in procedure.answers.values() {
                for (party, answers) in versions.get(&draft.version).into_iter().flatten() {
                    let Some(position) = procedure.positions.get(party) else {
                        continue;
                    };
                    let mut by_issue = BTreeMap::new();
                    for (clause_id, answer) in answers {
                        let Some(issue) = draft
                            .clauses
                            .iter()
                            .find(|c| &c.id == clause_id)
                            .and_then(|c| c.issue.clone())
                        else {
                            continue;
                        };
                        let answer = match answer {
                            backchannel_core::procedure::ClauseAnswer::Accept => {
                                backchannel_formula::Answer::Accept
                            }
                            backchannel_core::procedure::ClauseAnswer::Object { .. } => {
                                backchannel_formula::Answer::Object
                            }
                            backchannel_core::procedure::ClauseAnswer::Prefer { option } => {
                                backchannel_formula::Answer::Prefer(option.clone())
                            }
                        };
                        by_issue.insert(issue, answer);
                    }
                    responses.push(backchannel_formula::Response {
                        party: position.id.clone(),
                        answers: by_issue,
                    });
                }
            }
        }
        let engine =
            backchannel_formula::next_draft(&scenario, &solution, &current, &responses, options)
                .map_err(|e| ClientError::Invalid(format!("the engine proposes no draft: {e}")))?;
        let clauses = clauses_for(&scenario.issues, &engine.package);
        let version = self.next_draft_version(case)?;
        let (met, unmet): (Vec<_>, Vec<_>) = procedure
            .requirements
            .iter()
            .partition(|r| meets(&r.requirement, &engine.package));
        Ok(DraftProposal {
            draft: Draft {
                version,
                title: format!("Single negotiating text, version {version}"),
                clauses,
            },
            engine,
            requirements_met: met.iter().map(|r| r.requirement.id.clone()).collect(),
            requirements_unmet: unmet.iter().map(|r| r.requirement.id.clone()).collect(),
        })
    }

    /// Whether every party has accepted every clause of a draft version (as far as this
    /// participant can see: the mediator sees all answers).
    pub fn draft_agreed(&self, case: CaseId, version: u32) -> Result<bool, ClientError> {
        let state = self.state(case)?;
        let draft = self.draft(case, version)?;
        let parties = state.parties();
        let mut accepted = 0;
        for versions in state.procedure.answers.values() {
            for (party, answers) in versions.get(&version).into_iter().flatten() {
                let all = draft.clauses.iter().all(|c| {
                    matches!(
                        answers.get(&c.id),
                        Some(backchannel_core::procedure::ClauseAnswer::Accept)
                    )
                });
                if all && parties.contains(party) {
                    accepted += 1;
                }
            }
        }
        Ok(!parties.is_empty() && accepted == parties.len())
    }

    // --- conditional offers -----------------------------------------------------------------

    /// As a party: commits to an offer on the public record (its hash only), then tables the
    /// offer itself to the mediator. Returns the commitment.
    pub async fn table_offer(
        &mut self,
        case: CaseId,
        offer: Offer,
    ) -> Result<Digest32, ClientError> {
        self.sync(case).await?;
        let mut salt = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut salt);
        let salt = Digest32(salt);
        let commitment = offer.commitment(&salt);
        // Check the tabling will be accepted before the commitment goes on record.
        let channel = self.own_channel(case)?;
        let mut preview = self.state(case)?.clone();
        let committed = preview.next_act(
            &ChannelName::public(),
            self.key(),
            0,
            ActBody::OfferCommitted { commitment },
            &self.history(case),
        )?;
        preview.apply(&committed.sign(self.signing_key()));
        preview.next_act(
            &channel,
            self.key(),
            0,
            ActBody::OfferTabled {
                offer: offer.clone(),
                salt,
            },
            &self.history(case),
        )?;
        self.post(
            case,
            &ChannelName::public(),
            ActBody::OfferCommitted { commitment },
        )
        .await?;
        self.post(case, &channel, ActBody::OfferTabled { offer, salt })
            .await?;
        Ok(commitment)
    }

    pub async fn withdraw_offer(
        &mut self,
        case: CaseId,
        commitment: Digest32,
    ) -> Result<LogLine, ClientError> {
        self.post_public(case, ActBody::OfferWithdrawn { commitment })
            .await
    }

    /// As mediator: opens every pair of open offers from different parties that match, to
    /// both parties at once. Unmatched offers stay sealed. Returns how many pairs opened.
    pub async fn match_offers(&mut self, case: CaseId) -> Result<usize, ClientError> {
        self.sync(case).await?;
        let tabled = self.acts(case, |a| matches!(a.act.body, ActBody::OfferTabled { .. }))?;
        let state = self.state(case)?;
        let open: Vec<(String, Offer, VerifiedAct)> = tabled
            .into_iter()
            .filter_map(|a| {
                let ActBody::OfferTabled { offer, salt } = &a.act.body else {
                    return None;
                };
                let record = state.procedure.offers.get(&offer.commitment(salt))?;
                (record.status == OfferStatus::Open)
                    .then(|| (record.party.clone(), offer.clone(), a.clone()))
            })
            .collect();
        let mut used = vec![false; open.len()];
        let mut pairs = Vec::new();
        for i in 0..open.len() {
            for j in i + 1..open.len() {
                if used[i] || used[j] || open[i].0 == open[j].0 {
                    continue;
                }
                if backchannel_core::procedure::offers_match(&open[i].1, &open[j].1) {
                    used[i] = true;
                    used[j] = true;
                    pairs.push(vec![open[i].2.signed.clone(), open[j].2.signed.clone()]);
                }
            }
        }
        let count = pairs.len();
        for offers in pairs {
            let commitments = offers
                .iter()
                .filter_map(|signed| match signed.clone().verify().ok()?.act.body {
                    ActBody::OfferTabled { offer, salt } => Some(offer.commitment(&salt)),
                    _ => None,
                })
                .collect();
            self.post_to_parties(case, ActBody::OffersOpened { offers })
                .await?;
            self.post(
                case,
                &ChannelName::public(),
                ActBody::OffersMatched { commitments },
            )
            .await?;
        }
        Ok(count)
    }

    // --- direct talks -----------------------------------------------------------------------

    pub async fn propose_direct_talks(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
    ) -> Result<LogLine, ClientError> {
        self.post_public(
            case,
            ActBody::DirectTalksProposed {
                channel: channel.clone(),
            },
        )
        .await
    }

    pub async fn consent_direct_talks(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
    ) -> Result<LogLine, ClientError> {
        self.post_public(
            case,
            ActBody::DirectTalksConsented {
                channel: channel.clone(),
            },
        )
        .await
    }

    /// As mediator: opens the direct channel — refused by the rules unless every party
    /// consented — and seats every party's participants in it. Run again, it finishes an
    /// opening a crash interrupted.
    pub async fn open_direct_talks(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
    ) -> Result<(), ClientError> {
        self.sync(case).await?;
        let opened = self
            .state(case)?
            .channels
            .get(channel)
            .is_some_and(|c| c.purpose == Some(ChannelPurpose::Direct));
        if !opened {
            self.open_channel(case, channel, ChannelPurpose::Direct)
                .await?;
        }
        let keys: Vec<PublicKey> = self
            .state(case)?
            .participants
            .iter()
            .filter(|(_, p)| matches!(p.role, Role::Party { .. }))
            .map(|(k, _)| *k)
            .collect();
        self.ensure_members(case, channel, &keys).await
    }

    // --- agreement and declarations ---------------------------------------------------------

    /// As mediator: puts the final text to signature, in every party's channel.
    pub async fn table_agreement(
        &mut self,
        case: CaseId,
        agreement: Agreement,
    ) -> Result<Digest32, ClientError> {
        let hash = agreement.hash();
        self.post_to_parties(case, ActBody::AgreementTabled { agreement })
            .await?;
        Ok(hash)
    }

    /// Signs the agreement on the table (a party in its channel; the mediator, as witness, in
    /// the first party's channel).
    pub async fn sign_agreement(&mut self, case: CaseId) -> Result<LogLine, ClientError> {
        self.sync(case).await?;
        let hash = self
            .state(case)?
            .procedure
            .agreement
            .as_ref()
            .filter(|a| !a.published)
            .map(|a| a.hash)
            .ok_or_else(|| ClientError::Invalid("no agreement is on the table".into()))?;
        let channel = if self.state(case)?.mediator == self.key() {
            self.party_channels(case)?
                .into_iter()
                .next()
                .ok_or_else(|| ClientError::Invalid("no party channel".into()))?
        } else {
            self.own_channel(case)?
        };
        self.post(case, &channel, ActBody::AgreementSigned { agreement: hash })
            .await
    }

    /// As mediator: publishes the agreement with every signature it holds; the rules refuse
    /// it while any party's signature or the witness's is missing.
    pub async fn publish_agreement(&mut self, case: CaseId) -> Result<LogLine, ClientError> {
        self.sync(case).await?;
        let state = self.state(case)?;
        let tabled = state
            .procedure
            .agreement
            .clone()
            .ok_or_else(|| ClientError::Invalid("no agreement is on the table".into()))?;
        let signatures = self
            .acts(case, |a| {
                a.act.body
                    == (ActBody::AgreementSigned {
                        agreement: tabled.hash,
                    })
            })?
            .into_iter()
            .map(|a| a.signed)
            .collect();
        self.post(
            case,
            &ChannelName::public(),
            ActBody::AgreementPublished {
                agreement: tabled.agreement,
                signatures,
            },
        )
        .await
    }

    /// As an invited observer: co-signs the published agreement as guarantor.
    pub async fn guarantee_agreement(&mut self, case: CaseId) -> Result<LogLine, ClientError> {
        self.sync(case).await?;
        let hash = self
            .state(case)?
            .procedure
            .agreement
            .as_ref()
            .filter(|a| a.published)
            .map(|a| a.hash)
            .ok_or_else(|| ClientError::Invalid("no agreement is published".into()))?;
        self.post(
            case,
            &ChannelName::public(),
            ActBody::AgreementGuaranteed { agreement: hash },
        )
        .await
    }

    pub async fn table_declaration(
        &mut self,
        case: CaseId,
        text: &str,
    ) -> Result<LogLine, ClientError> {
        self.sync(case).await?;
        let party = self.my_party(case, "table a declaration")?;
        self.post_own(
            case,
            ActBody::DeclarationTabled {
                declaration: Declaration {
                    party,
                    text: text.to_owned(),
                },
            },
        )
        .await
    }

    // --- checkpoints and the exported record -----------------------------------------------

    /// Co-signs, on the public record, the head of every channel this participant reads. A
    /// participant whose copy of one of those channels differs at that position refuses the
    /// checkpoint with `equivocation`: the hub has shown the two of them different histories.
    pub async fn checkpoint(&mut self, case: CaseId) -> Result<LogLine, ClientError> {
        self.sync(case).await?;
        let readable = self.readable_channels(case)?;
        let heads = self
            .state(case)?
            .channels
            .iter()
            .filter(|(name, channel)| readable.contains(*name) && channel.length > 0)
            .map(|(name, channel)| Head {
                channel: name.clone(),
                index: channel.length,
                hash: channel.head,
            })
            .collect();
        self.post(case, &ChannelName::public(), ActBody::Checkpoint { heads })
            .await
    }

    /// This participant's record of a case — the public record, or with `all` every channel
    /// it reads — for anyone to verify offline with [`Record::verify`].
    pub fn export(&self, case: CaseId, all: bool) -> Result<Record, ClientError> {
        let state = self.state(case)?;
        let public = ChannelName::public();
        let filter = Filter {
            channel: (!all).then_some(&public),
            ..Filter::default()
        };
        let acts = self
            .stored_acts(case, filter)?
            .into_iter()
            .map(|s| s.act.signed)
            .collect();
        Ok(Record {
            format: RECORD_FORMAT.into(),
            case,
            mediator: state.mediator,
            acts,
        })
    }

    /// As mediator: publishes every party's signed declaration together.
    pub async fn publish_declarations(&mut self, case: CaseId) -> Result<LogLine, ClientError> {
        self.sync(case).await?;
        let declarations = self
            .state(case)?
            .procedure
            .declarations
            .values()
            .cloned()
            .collect();
        self.post(
            case,
            &ChannelName::public(),
            ActBody::DeclarationsPublished { declarations },
        )
        .await
    }
}
