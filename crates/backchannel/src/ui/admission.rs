//! Admission from the mediator's desk: the joiners waiting to be admitted, each with the
//! fingerprint to compare with the joiner out of band, and one button that admits it
//! (`POST /case/{case}/admit`, as `case admit --key` does).
//!
//! The list is the last background sync's (`live.rs` keeps it in [`Waiting`]): a page never
//! asks the hub. Admitting syncs first, so a joiner already admitted, or one the hub no longer
//! reports, is refused with `no_pending_joiner` and nothing changes.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use backchannel_client::{Admit, Client, PendingJoiner};
use backchannel_core::CaseId;
use maud::{Markup, html};
use serde::Deserialize;

use super::Ui;
use super::form::invalid;
use super::guard::Refusal;
use super::pages::{case_id, changed, failed, local_path, mediator_only};
use crate::output;

/// The joiners waiting in each case, as the last sync of that case reported them.
#[derive(Default)]
pub(super) struct Waiting {
    by_case: Mutex<BTreeMap<CaseId, Vec<PendingJoiner>>>,
}

impl Waiting {
    /// Keeps a sync's list; whether it differs from the one kept before.
    pub(super) fn set(&self, case: CaseId, pending: Vec<PendingJoiner>) -> bool {
        let mut by_case = self.by_case.lock().unwrap_or_else(PoisonError::into_inner);
        let before = by_case.insert(case, pending);
        before.as_ref() != by_case.get(&case)
    }

    fn get(&self, case: CaseId) -> Vec<PendingJoiner> {
        self.by_case
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&case)
            .cloned()
            .unwrap_or_default()
    }
}

/// The joiners waiting in `case`, on the mediator's desk only; the admit form returns to
/// `back` (a page of this UI).
pub(super) fn section(ui: &Ui, client: &Client, case: CaseId, back: &str) -> Markup {
    let mediator = client
        .state(case)
        .is_ok_and(|state| state.mediator == client.key());
    let pending = if mediator {
        ui.waiting.get(case)
    } else {
        Vec::new()
    };
    html! {
        @if !pending.is_empty() {
            ul.pending {
                @for p in &pending {
                    li data-pending=(hex::encode(p.key.0)) {
                        "Waiting for admission: " strong { (p.name) } " as " (p.role)
                        @if let Some(party) = &p.party { " of " (party) }
                        ", joined " time { (output::utc(p.joined_ms)) } ". Fingerprint "
                        code { (p.fingerprint) }
                        " (compare it with the joiner's own, out of band, before admitting)."
                        form.act method="post" action={"/case/" (case.to_hex()) "/admit"} {
                            input type="hidden" name="csrf" value=(ui.guard.csrf());
                            input type="hidden" name="key" value=(hex::encode(p.key.0));
                            input type="hidden" name="back" value=(back);
                            button type="submit" { "Admit" }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub(super) struct AdmitForm {
    key: String,
    /// The page to show after, a path of this UI.
    #[serde(default)]
    back: String,
}

/// A joiner's whole key: 64 hex digits, never a prefix (a prefix could name another joiner
/// than the one whose fingerprint was compared).
fn key_of(form: &AdmitForm) -> Result<String, Refusal> {
    let key = form.key.trim().to_ascii_lowercase();
    if key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(key)
    } else {
        Err(invalid("a joiner is named by its whole key, 64 hex digits"))
    }
}

/// `POST /case/{case}/admit`: the mediator admits the joiner with this key and seats it.
pub(super) async fn admit(
    State(ui): State<Ui>,
    Path(case): Path<String>,
    Form(form): Form<AdmitForm>,
) -> Result<Response, Refusal> {
    let case = case_id(&case)?;
    let key = key_of(&form)?;
    let mut client = ui.client.lock().await;
    mediator_only(&client, case, "only the mediator admits participants")?;
    let report = client.admit(case, Admit::Key(key)).await.map_err(failed)?;
    drop(client);
    ui.waiting.set(case, report.pending);
    let back = local_path(&form.back).unwrap_or_else(|| format!("/case/{}", case.to_hex()));
    Ok(changed(&ui, case, &back))
}
