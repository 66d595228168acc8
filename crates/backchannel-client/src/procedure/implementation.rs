//! Implementation, as a participant drives it: the mediator proposes the plan of the
//! published agreement, every party accepts it, parties report progress on their own
//! commitments, the verifiers the plan names attest; anyone reads the status.

use backchannel_core::plan::{Plan, Status, status};
use backchannel_core::{ActBody, CaseId};

use crate::client::{Client, LogLine};
use crate::error::ClientError;

impl Client {
    /// As mediator: proposes the implementation plan of the published agreement (public).
    pub async fn propose_plan(&mut self, case: CaseId, plan: Plan) -> Result<LogLine, ClientError> {
        self.post_public(case, ActBody::PlanProposed { plan }).await
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
        self.post_public(case, ActBody::PlanAccepted { proposal })
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
        self.post_public(case, body).await
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
        self.post_public(case, body).await
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
