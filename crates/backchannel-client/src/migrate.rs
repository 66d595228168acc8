//! Homes made by earlier versions kept the whole client state in one sealed file,
//! `state.sealed`: MLS storage, every case and its verified log. On first open it is read,
//! checked (each log verified and replayed), written to the store in one transaction and
//! then removed. A file that cannot be read stops the open with the reason and changes
//! nothing.

use std::collections::BTreeMap;

use backchannel_core::act::SignedAct;
use backchannel_core::api::Blob;
use backchannel_core::{CaseId, CaseState, ChannelName, PublicKey};
use serde::Deserialize;

use crate::client::{CaseLocal, Client, IssuedInvite};
use crate::error::ClientError;
use crate::store::{Batch, NewAct};

#[derive(Deserialize)]
struct WholeState {
    #[serde(default)]
    mls: Vec<(Blob, Blob)>,
    #[serde(default)]
    cases: BTreeMap<CaseId, OldCase>,
}

#[derive(Deserialize)]
struct OldCase {
    hub: String,
    case_key: [u8; 32],
    mediator: PublicKey,
    cursors: BTreeMap<ChannelName, u64>,
    log: Vec<OldAct>,
    #[serde(default)]
    welcome_cursor: u64,
    #[serde(default)]
    invites: Vec<IssuedInvite>,
}

#[derive(Deserialize)]
struct OldAct {
    seq: u64,
    act: SignedAct,
}

pub(crate) fn from_whole_state_file(client: &mut Client) -> Result<(), ClientError> {
    let Some(bytes) = client.vault.legacy_state()? else {
        return Ok(());
    };
    let home = client.vault.dir().display().to_string();
    let unusable = |why: String| ClientError::Home {
        path: home.clone(),
        why: format!("state.sealed of an earlier version cannot be migrated: {why}"),
    };
    if !client.cases.is_empty() {
        // Only a migration writes cases beside the old file, in one transaction: it was
        // committed, and the process stopped before removing the file.
        return client.vault.retire_legacy_state();
    }
    let old: WholeState =
        serde_json::from_slice(&bytes).map_err(|e| unusable(format!("it is malformed: {e}")))?;
    let mut batch = Batch {
        mls: old.mls.into_iter().map(|(k, v)| (k.0, Some(v.0))).collect(),
        ..Batch::default()
    };
    let mut cases = BTreeMap::new();
    for (case, old) in old.cases {
        let verified = old
            .log
            .iter()
            .map(|logged| logged.act.clone().verify())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| unusable(format!("the log of case {case} does not verify: {e}")))?;
        let state = if verified.is_empty() {
            None
        } else {
            Some(
                CaseState::replay(&verified, Some(old.mediator)).map_err(|e| {
                    unusable(format!("the log of case {case} does not replay: {e}"))
                })?,
            )
        };
        for (n, (logged, act)) in old.log.iter().zip(verified).enumerate() {
            batch.acts.push(NewAct {
                case,
                n: n as u64 + 1,
                seq: logged.seq,
                act,
            });
        }
        let local = CaseLocal {
            hub: old.hub,
            case_key: old.case_key,
            mediator: old.mediator,
            cursors: old.cursors,
            welcome_cursor: old.welcome_cursor,
            invites: old.invites,
            log_len: old.log.len() as u64,
            state,
            synced_ms: None,
            admitted_ms: None,
            claims: BTreeMap::new(),
            alarm: None,
            witnessed: BTreeMap::new(),
            witness_submitters: Default::default(),
            shared_to: BTreeMap::new(),
            seated_at: BTreeMap::new(),
            opaque_channels: false,
        };
        let record = serde_json::to_vec(&local).map_err(|e| unusable(e.to_string()))?;
        batch.cases.push((case, record));
        cases.insert(case, local);
    }
    client.store.commit(&batch, true)?;
    client.vault.retire_legacy_state()?;
    let mls: BTreeMap<Vec<u8>, Vec<u8>> = client.store.mls_entries()?;
    client.provider = crate::mls::Provider::restore(mls.clone().into_iter().collect());
    client.mls_committed = mls;
    client.cases = cases;
    Ok(())
}
