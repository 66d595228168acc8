//! What is waiting for this participant in a case: the core's list
//! (`backchannel_core::inbox::waiting`) and, for the mediator, the joiners waiting for
//! admission, which only the hub knows.

use backchannel_core::CaseId;
use backchannel_core::inbox::{Task, waiting};

use crate::client::Client;
use crate::error::ClientError;
use crate::hub::now_ms;

impl Client {
    /// Brings the case up to date (or, offline or with the hub unreachable, uses the local
    /// copy) and lists what this participant is expected to do in it.
    pub async fn inbox(&mut self, case: CaseId) -> Result<Vec<Task>, ClientError> {
        let mut tasks = Vec::new();
        if !self.offline {
            match self.sync(case).await {
                Ok(report) => {
                    for joiner in report.pending {
                        tasks.push(Task {
                            what: "admit",
                            says: format!(
                                "{} waits to join as {}: compare the fingerprint {} before admitting",
                                joiner.name,
                                joiner.party.as_deref().unwrap_or(&joiner.role),
                                joiner.fingerprint
                            ),
                            command: format!(
                                "backchannel case admit CASE --key {}",
                                &joiner.key.to_hex()[..8]
                            ),
                            due: None,
                            due_ms: None,
                            on: Some(joiner.key.to_hex()),
                        });
                    }
                }
                Err(e) if e.is_unreachable() => {}
                Err(e) => return Err(e),
            }
        }
        tasks.extend(waiting(self.state(case)?, &self.key(), now_ms()));
        Ok(tasks)
    }
}
