//! The mediation procedure as a participant drives it: each method checks the case's rules
//! locally (a refused act never leaves the machine), then posts the act where the procedure
//! puts it — the public record, the author's bilateral channel, or every party's channel.

use backchannel_core::act::{ChannelPurpose, Digest32, Head, VerifiedAct};
use backchannel_core::procedure::{
    Agreement, Charter, Conveyance, Declaration, Offer, OfferStatus,
};
use backchannel_core::record::{RECORD_FORMAT, Record};
use backchannel_core::{ActBody, CaseId, ChannelName, Place, PublicKey, Rejection, Role};
use backchannel_formula::{Issue, Party as Position, Requirement};
use rand::RngCore;

use crate::client::{Client, LogLine};
use crate::error::ClientError;
use crate::store::Filter;

mod drafts;
mod implementation;

pub use drafts::{ClauseDiff, DraftProposal, clauses_for, diff, meets};

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

    /// Posts an act where the table of act kinds puts it (`kinds::Place`): the public record,
    /// the author's own bilateral channel, or every party's channel (the same act in each,
    /// checked against each first so that either all go out or none), after a sync. Kinds
    /// whose channel the author names (a message, a conveyance, a signature) go through
    /// [`Client::post`].
    pub async fn act(&mut self, case: CaseId, body: ActBody) -> Result<Vec<LogLine>, ClientError> {
        self.sync(case).await?;
        let channels = match body.spec().place {
            Place::Public => vec![ChannelName::public()],
            Place::OwnChannel => vec![self.own_channel(case)?],
            Place::Parties => self.party_channels(case)?,
            Place::Discreet | Place::Any => {
                return Err(ClientError::Invalid(format!(
                    "a {} act is posted on a channel its author names",
                    body.kind()
                )));
            }
        };
        if channels.is_empty() {
            return Err(ClientError::Invalid(
                "no party has a bilateral channel yet".into(),
            ));
        }
        if channels.len() > 1 {
            for channel in &channels {
                self.check_next(case, channel, &body)?;
            }
        }
        let mut lines = Vec::with_capacity(channels.len());
        for channel in channels {
            lines.push(self.post(case, &channel, body.clone()).await?);
        }
        Ok(lines)
    }

    /// [`Client::act`] for a kind posted in one channel: its line.
    async fn act_once(&mut self, case: CaseId, body: ActBody) -> Result<LogLine, ClientError> {
        let mut lines = self.act(case, body).await?;
        lines
            .pop()
            .ok_or_else(|| ClientError::Invalid("nothing was posted".into()))
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
        self.act_once(case, ActBody::CharterProposed { charter })
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
        self.act_once(case, ActBody::IssuesDefined { issues }).await
    }

    pub async fn propose_agenda_item(
        &mut self,
        case: CaseId,
        title: &str,
        demand: bool,
    ) -> Result<LogLine, ClientError> {
        self.act_once(
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
        self.act_once(case, ActBody::AgendaConsented { item }).await
    }

    // --- positions and requirements ---------------------------------------------------------

    /// Seals this party's first position to the mediator, in the party's bilateral channel.
    pub async fn seal_position(
        &mut self,
        case: CaseId,
        position: Position,
    ) -> Result<LogLine, ClientError> {
        self.revise_position(case, position, None).await
    }

    /// Seals this party's position, revising the version `replaces` names (the party's
    /// latest); every revision stays in the channel.
    pub async fn revise_position(
        &mut self,
        case: CaseId,
        position: Position,
        replaces: Option<u32>,
    ) -> Result<LogLine, ClientError> {
        self.act_once(case, ActBody::PositionSealed { position, replaces })
            .await
    }

    pub async fn register_requirement(
        &mut self,
        case: CaseId,
        requirement: Requirement,
        rationale: &str,
    ) -> Result<LogLine, ClientError> {
        self.act_once(
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
        self.act(
            case,
            ActBody::NonPaper {
                text: text.to_owned(),
            },
        )
        .await
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
        self.act_once(case, ActBody::OfferWithdrawn { commitment })
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
            self.act(case, ActBody::OffersOpened { offers }).await?;
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
        self.act_once(
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
        self.act_once(
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
        let keys: Vec<PublicKey> = self
            .state(case)?
            .participants
            .iter()
            .filter(|(_, p)| matches!(p.role, Role::Party { .. }))
            .map(|(k, _)| *k)
            .collect();
        if opened {
            return self.ensure_members(case, channel, &keys).await;
        }
        // The rules are checked, and every key package claimed, before the channel is
        // announced: nothing leaves it half opened.
        self.check_next(
            case,
            &ChannelName::public(),
            &ActBody::ChannelOpened {
                channel: channel.clone(),
                purpose: ChannelPurpose::Direct,
            },
        )?;
        let claimed = self.claim_key_packages(case, channel, &keys).await?;
        self.open_channel(case, channel, ChannelPurpose::Direct)
            .await?;
        self.seat(case, channel, claimed).await
    }

    // --- agreement and declarations ---------------------------------------------------------

    /// As mediator: puts the final text to signature, in every party's channel.
    pub async fn table_agreement(
        &mut self,
        case: CaseId,
        agreement: Agreement,
    ) -> Result<Digest32, ClientError> {
        let hash = agreement.hash();
        self.act(case, ActBody::AgreementTabled { agreement })
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
        self.act_once(
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
        let mut acts: Vec<VerifiedAct> = self
            .stored_acts(case, filter)?
            .into_iter()
            .map(|s| s.act)
            .collect();
        crate::history::in_replay_order(&mut acts);
        let acts = acts.into_iter().map(|a| a.signed).collect();
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
