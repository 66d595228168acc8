//! Implementation, as a participant drives it: the mediator proposes the plan of the
//! published agreement, every party accepts it, parties report progress on their own
//! commitments, the verifiers the plan names attest; anyone reads the status.

use backchannel_core::plan::{Plan, Status, status};
use backchannel_core::{ActBody, CaseId, ChannelName};

use crate::client::{Client, LogLine};
use crate::error::ClientError;

impl Client {
    /// As mediator: proposes the implementation plan of the published agreement (public).
    pub async fn propose_plan(&mut self, case: CaseId, plan: Plan) -> Result<LogLine, ClientError> {
        self.act_once(case, ActBody::PlanProposed { plan }).await
    }

    /// As a party: accepts the plan on the table (public).
    pub async fn accept_plan(&mut self, case: CaseId) -> Result<LogLine, ClientError> {
        self.sync(case).await?;
        let proposal = self
            .state(case)?
            .procedure
            .implementation
            .as_ref()
            .map(|i| i.proposal)
            .ok_or_else(|| ClientError::Invalid("no implementation plan is proposed".into()))?;
        // Synced above: post at once.
        self.post(
            case,
            &ChannelName::public(),
            ActBody::PlanAccepted { proposal },
        )
        .await
    }

    /// As a party: reports progress (0 to 3) on one of its commitments (public).
    pub async fn report_progress(
        &mut self,
        case: CaseId,
        commitment: &str,
        status: u8,
        note: &str,
    ) -> Result<LogLine, ClientError> {
        let body = ActBody::ProgressReported {
            commitment: commitment.to_owned(),
            status,
            note: note.to_owned(),
        };
        self.act_once(case, body).await
    }

    /// As a verifier the plan names: attests a commitment's status (public).
    pub async fn attest(
        &mut self,
        case: CaseId,
        commitment: &str,
        status: u8,
        evidence: &str,
    ) -> Result<LogLine, ClientError> {
        let body = ActBody::Attested {
            commitment: commitment.to_owned(),
            status,
            evidence: evidence.to_owned(),
        };
        self.act_once(case, body).await
    }

    /// As a party or an observer: opens a dispute over commitments (public).
    pub async fn open_dispute(
        &mut self,
        case: CaseId,
        commitments: Vec<String>,
        complaint: &str,
    ) -> Result<LogLine, ClientError> {
        let body = ActBody::DisputeOpened {
            commitments,
            complaint: complaint.to_owned(),
        };
        self.act_once(case, body).await
    }

    /// Moves a dispute to the ladder's next stage, once the current one's days are over; the
    /// mediator may refer it on earlier, but never past the last stage.
    pub async fn escalate_dispute(
        &mut self,
        case: CaseId,
        dispute: u32,
    ) -> Result<LogLine, ClientError> {
        self.act_once(case, ActBody::DisputeEscalated { dispute })
            .await
    }

    /// As the mediator or an observer, at a stage that allows it: a non-binding opinion.
    pub async fn give_opinion(
        &mut self,
        case: CaseId,
        dispute: u32,
        opinion: &str,
    ) -> Result<LogLine, ClientError> {
        let body = ActBody::DisputeOpinion {
            dispute,
            opinion: opinion.to_owned(),
        };
        self.act_once(case, body).await
    }

    /// As mediator: records a dispute's resolution.
    pub async fn resolve_dispute(
        &mut self,
        case: CaseId,
        dispute: u32,
        resolution: &str,
    ) -> Result<LogLine, ClientError> {
        let body = ActBody::DisputeResolved {
            dispute,
            resolution: resolution.to_owned(),
        };
        self.act_once(case, body).await
    }

    /// As the complainant, once the ladder is exhausted: invokes the plan's remedy named
    /// `remedy` (`cease_in_part`, `cease_in_whole`, `graduated_suspension`, `snapback`).
    pub async fn invoke_remedy(
        &mut self,
        case: CaseId,
        dispute: u32,
        remedy: &str,
    ) -> Result<LogLine, ClientError> {
        self.sync(case).await?;
        let remedies = self
            .state(case)?
            .procedure
            .implementation
            .as_ref()
            .and_then(|i| i.plan.disputes.as_ref())
            .map(|l| l.remedies.clone())
            .unwrap_or_default();
        let remedy = remedies
            .into_iter()
            .find(|r| r.word().split(' ').next() == Some(remedy))
            .ok_or_else(|| ClientError::Unmatched {
                code: "unknown_remedy",
                message: format!("the plan provides no remedy {remedy:?}"),
            })?;
        self.post(
            case,
            &ChannelName::public(),
            ActBody::RemedyInvoked { dispute, remedy },
        )
        .await
    }

    /// Moves a commitment's deadline by `days`: as a party whose consent the plan requires,
    /// consents; as mediator, once every such consent is on the record, extends it.
    pub async fn extend_deadline(
        &mut self,
        case: CaseId,
        commitment: &str,
        days: u32,
    ) -> Result<LogLine, ClientError> {
        self.sync(case).await?;
        let commitment = commitment.to_owned();
        let body = if self.state(case)?.mediator == self.key() {
            ActBody::DeadlineExtended { commitment, days }
        } else {
            ActBody::ExtensionConsented { commitment, days }
        };
        self.post(case, &ChannelName::public(), body).await
    }

    /// Where implementation stands at `now_ms`, from this participant's copy of the public
    /// record; `None` before a plan is proposed. Whether the plan is in force is in the state.
    pub fn implementation_status(
        &self,
        case: CaseId,
        now_ms: u64,
    ) -> Result<Option<Status>, ClientError> {
        let procedure = &self.state(case)?.procedure;
        Ok(procedure
            .implementation
            .as_ref()
            .map(|i| status(&i.plan, &procedure.implementation_facts(), now_ms)))
    }
}
