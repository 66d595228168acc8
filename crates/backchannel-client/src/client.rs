//! [`Client`]: one participant's view of its cases, kept in the home's store (`store`).
//!
//! An act is verified once, when it arrives (the MLS layer, the signature, the chain and the
//! case's rules), and stored verified with the fold it leads to; opening a home reads each
//! case's fold, not its log. Every step is one transaction of the store, whose cost does not
//! grow with the case: the act, the MLS changes it caused and the new fold together. What
//! goes to the hub goes through the outbox first (`outbox`), so that a process killed at any
//! instant, or a hub that drops its reply, leaves a home that completes or drops the post
//! on its next command.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use backchannel_core::act::{ChannelPurpose, Digest32, VerifiedAct};
use backchannel_core::api::{
    Blob, EntryKind, Join, KeyPackagesStored, MemberRole, PostEntry, UploadKeyPackages,
};
use backchannel_core::{CaseId, CaseState, ChannelName, History, HubChannel, PublicKey, Role};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::error::ClientError;
use crate::hub::{HubClient, HubTally, now_ms};
use crate::invite::InviteCode;
use crate::mls::{self, Provider};
use crate::store::{Batch, Filter, NewAct, Store, StoredAct};
use crate::vault::{self, Vault};

/// How many ordinary key packages a participant keeps on each hub it uses (beside one
/// last-resort key package).
const KEY_PACKAGE_STOCK: usize = 5;

/// What a participant keeps of one case besides its log: where it is, the keys, how far each
/// channel has been read, and the fold of the log. Its size is the procedure's, not the log's.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct CaseLocal {
    pub(crate) hub: String,
    pub(crate) case_key: [u8; 32],
    pub(crate) mediator: PublicKey,
    /// Per channel this participant reads: the hub seq of the last entry it processed.
    pub(crate) cursors: BTreeMap<ChannelName, u64>,
    pub(crate) welcome_cursor: u64,
    /// The mediator's record of the invites it issued, to check the roles the hub reports.
    pub(crate) invites: Vec<IssuedInvite>,
    /// How many acts the local log holds.
    pub(crate) log_len: u64,
    /// The fold of the log; `None` until the genesis is read.
    pub(crate) state: Option<CaseState>,
    /// When the last complete sync with the hub ended (ms since the epoch).
    pub(crate) synced_ms: Option<u64>,
    /// When the mediator's act admitting this participant was made (ms since the epoch).
    #[serde(default)]
    pub(crate) admitted_ms: Option<u64>,
    /// Heads that acts saw beyond this copy, by channel, until the copy reaches them.
    #[serde(default)]
    pub(crate) claims: BTreeMap<ChannelName, crate::alarm::Claim>,
    /// Proof that the hub showed another history: once set, the case is stopped.
    #[serde(default)]
    pub(crate) alarm: Option<crate::alarm::Alarm>,
    /// Per witness (by URL): its newest co-signed head that this copy agrees with.
    #[serde(default)]
    pub(crate) witnessed: BTreeMap<String, backchannel_core::witness::Cosigned>,
    /// As the mediator: the participants each witness has been told may send it heads.
    #[serde(default)]
    pub(crate) witness_submitters: BTreeSet<PublicKey>,
    /// As the mediator: per channel, the last index whose history has been shared with the
    /// delegates seated after it.
    #[serde(default)]
    pub(crate) shared_to: BTreeMap<ChannelName, u64>,
    /// Per discreet channel: the index of the latest act that changed its members, so that
    /// whether a history is owed is known without reading the channel.
    #[serde(default)]
    pub(crate) seated_at: BTreeMap<ChannelName, u64>,
    /// Whether the hub knows this case's discreet channels by opaque ids (every case convened
    /// or joined since they were introduced); before, it knew them by name.
    #[serde(default)]
    pub(crate) opaque_channels: bool,
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct IssuedInvite {
    pub(crate) code_hash: String,
    pub(crate) role: MemberRole,
    pub(crate) party: Option<String>,
    pub(crate) used_by: Option<PublicKey>,
    /// Whoever redeems it is admitted at the mediator's next sync, unseen. Invites of
    /// earlier versions were all of this kind.
    #[serde(default = "crate::admission::earlier_default")]
    pub(crate) auto_admit: bool,
    #[serde(default)]
    pub(crate) expires_ms: Option<u64>,
    #[serde(default)]
    pub(crate) revoked: bool,
    /// Its joiner heads its party's delegation.
    #[serde(default)]
    pub(crate) head: bool,
    /// Its joiner is not handed the earlier acts of the channels it is seated in.
    #[serde(default)]
    pub(crate) no_history: bool,
}

/// One line of a channel's verified log, for people and scripts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogLine {
    pub channel: ChannelName,
    pub index: u64,
    pub seq: u64,
    pub author: String,
    pub author_key: PublicKey,
    pub at_ms: u64,
    pub kind: &'static str,
    pub text: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct SyncReport {
    /// Acts newly verified and folded, in order.
    pub new: Vec<LogLine>,
    /// Participants the mediator admitted during this sync.
    pub admitted: Vec<String>,
    /// As mediator: who joined with an invite and waits to be admitted (`case admit`).
    pub pending: Vec<crate::admission::PendingJoiner>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ParticipantSummary {
    pub name: String,
    pub key: PublicKey,
    pub fingerprint: String,
    pub role: String,
    pub party: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ChannelSummary {
    pub channel: ChannelName,
    pub kind: String,
    pub members: Vec<String>,
    pub acts: u64,
    pub readable: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct CaseSummary {
    pub case: CaseId,
    pub title: String,
    pub hub: String,
    pub phase: backchannel_core::Phase,
    pub me: String,
    pub my_role: String,
    pub participants: Vec<ParticipantSummary>,
    pub channels: Vec<ChannelSummary>,
    /// When this copy last completed a sync with the hub (ms since the epoch).
    pub synced_ms: Option<u64>,
}

pub struct Client {
    pub(crate) vault: Vault,
    pub(crate) store: Store,
    pub(crate) provider: Provider,
    /// The MLS storage as last committed to the store: what the next batch is diffed
    /// against, and what a refused entry rolls the working copy back to.
    pub(crate) mls_committed: BTreeMap<Vec<u8>, Vec<u8>>,
    pub(crate) cases: BTreeMap<CaseId, CaseLocal>,
    /// Built on first use and shared by every hub call.
    http: std::sync::OnceLock<reqwest::Client>,
    /// Requests sent to hubs and the time spent awaiting their answers: tests count round
    /// trips, benchmarks tell the library's own time from the hub's.
    tally: Arc<HubTally>,
    /// Never reach the network: read-only commands use the local copy.
    pub(crate) offline: bool,

    /// Where tests make this client stop as if killed: a named point, and how many times it
    /// is passed before it fails.
    fault: Option<(&'static str, u32)>,
}

/// What the rules look up in a case's past, answered from the store.
pub(crate) struct StoreHistory<'a> {
    store: &'a Store,
    case: CaseId,
}

impl<'a> StoreHistory<'a> {
    pub(crate) fn new(store: &'a Store, case: CaseId) -> Self {
        Self { store, case }
    }
}

impl History for StoreHistory<'_> {
    fn hash_at(&self, channel: &ChannelName, index: u64) -> Option<Digest32> {
        self.store
            .hash_at(&self.case, channel, index)
            .inspect_err(|e| tracing::error!("reading a hash from the store: {e}"))
            .ok()
            .flatten()
    }

    fn message(&self, hash: &Digest32) -> Option<(ChannelName, PublicKey)> {
        let stored = self
            .store
            .act_by_hash(&self.case, hash)
            .inspect_err(|e| tracing::error!("reading an act from the store: {e}"))
            .ok()
            .flatten()?;
        backchannel_core::history::is_conveyable(&stored.act)
            .then(|| (stored.act.act.channel.clone(), stored.act.act.author))
    }
}

pub(crate) fn public_aad(case: &CaseId) -> Vec<u8> {
    let mut aad = b"backchannel/public/v1".to_vec();
    aad.extend_from_slice(&case.0);
    aad
}

/// What a display name sealed under the case key is bound to: the case and the key that joined
/// with it, so the hub cannot pass one member's name off as another's.
pub(crate) fn name_aad(case: &CaseId, key: &PublicKey) -> Vec<u8> {
    let mut aad = b"backchannel/member-name/v1".to_vec();
    aad.extend_from_slice(&case.0);
    aad.extend_from_slice(&key.0);
    aad
}

fn malformed(home: &Path, what: &str, e: impl std::fmt::Display) -> ClientError {
    ClientError::Home {
        path: home.display().to_string(),
        why: format!("{what} is malformed: {e}"),
    }
}

impl Client {
    /// Creates a new identity in `home`, with an empty store.
    pub fn create_identity(
        home: &Path,
        name: &str,
        passphrase: &str,
    ) -> Result<PublicKey, ClientError> {
        let vault = Vault::create(home, name, passphrase)?;
        let key = vault.identity.public_key();
        Store::open(home, vault.storage_key(), key)?;
        Ok(key)
    }

    /// Opens the identity and the store in `home`: each case's fold is read as stored, and
    /// nothing is verified or replayed again (see [`Client::verify_log`] for an audit). A
    /// home of an earlier version is migrated first.
    pub fn open(home: &Path, passphrase: &str) -> Result<Self, ClientError> {
        let vault = Vault::open(home, passphrase)?;
        let store = Store::open(home, vault.storage_key(), vault.identity.public_key())?;
        let mut cases = BTreeMap::new();
        for (case, bytes) in store.cases()? {
            let local: CaseLocal = serde_json::from_slice(&bytes)
                .map_err(|e| malformed(home, &format!("the record of case {case}"), e))?;
            cases.insert(case, local);
        }
        let mls_committed: BTreeMap<Vec<u8>, Vec<u8>> = store.mls_entries()?;
        let provider = Provider::restore(mls_committed.clone().into_iter().collect());
        let mut client = Self {
            vault,
            store,
            provider,
            mls_committed,
            cases,
            http: std::sync::OnceLock::new(),
            tally: Arc::default(),
            offline: false,
            fault: None,
        };
        crate::migrate::from_whole_state_file(&mut client)?;
        Ok(client)
    }

    /// Never reach the network: read-only commands use the local copy, and anything that
    /// needs the hub fails with `hub_unreachable`.
    pub fn set_offline(&mut self, offline: bool) {
        self.offline = offline;
    }

    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// For crash tests: the `hits`+1-th time this client reaches `point` (`post:outbox-written`,
    /// `post:accepted`, `admit:admitted`, `seat:opened`, `seat:added`), the operation stops
    /// there with an error and writes nothing more, as if the process were killed. Reopen the
    /// home to go on.
    #[doc(hidden)]
    pub fn inject_fault(&mut self, point: &'static str, hits: u32) {
        self.fault = Some((point, hits));
    }

    pub(crate) fn fault(&mut self, point: &'static str) -> Result<(), ClientError> {
        match &mut self.fault {
            Some((at, 0)) if *at == point => {
                self.fault = None;
                Err(ClientError::Invalid(format!(
                    "stopped at {point} (injected)"
                )))
            }
            Some((at, hits)) if *at == point => {
                *hits -= 1;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// How many requests this client has sent to hubs.
    pub fn requests_sent(&self) -> u64 {
        self.tally.requests.load(Ordering::Relaxed)
    }

    /// How long this client has waited on hubs' answers, in all.
    pub fn hub_wait(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.tally.waited_ns.load(Ordering::Relaxed))
    }

    pub fn key(&self) -> PublicKey {
        self.vault.identity.public_key()
    }

    pub fn name(&self) -> &str {
        &self.vault.identity.name
    }

    pub fn cases(&self) -> Vec<CaseId> {
        self.cases.keys().copied().collect()
    }

    pub(crate) fn history(&self, case: CaseId) -> StoreHistory<'_> {
        StoreHistory::new(&self.store, case)
    }

    /// Writes one step in one transaction: what changed in the MLS storage, the case's
    /// record, the acts it folded and its outbox slots. `durable` syncs it to disk first
    /// (an outbox entry must be on disk before it leaves the machine). If the write fails,
    /// the working copy goes back to what the store holds.
    pub(crate) fn persist(
        &mut self,
        case: Option<CaseId>,
        acts: Vec<NewAct>,
        outbox: Vec<(CaseId, ChannelName, Option<Vec<u8>>)>,
        durable: bool,
    ) -> Result<(), ClientError> {
        let mls = self.provider.changes_since(&self.mls_committed);
        let mut batch = Batch {
            mls,
            acts,
            outbox,
            ..Batch::default()
        };
        if let Some(case) = case {
            let local = self.local(case)?;
            let bytes =
                serde_json::to_vec(local).map_err(|e| ClientError::Invalid(e.to_string()))?;
            batch.cases.push((case, bytes));
        }
        match self.store.commit(&batch, durable) {
            Ok(()) => {
                for (key, value) in batch.mls {
                    match value {
                        Some(value) => self.mls_committed.insert(key, value),
                        None => self.mls_committed.remove(&key),
                    };
                }
                Ok(())
            }
            Err(e) => {
                self.provider
                    .rollback(self.mls_committed.clone().into_iter().collect());
                if let Some(case) = case {
                    self.reload_case(case)?;
                }
                Err(e)
            }
        }
    }

    /// Reads a case's record back from the store, dropping what the working copy changed.
    pub(crate) fn reload_case(&mut self, case: CaseId) -> Result<(), ClientError> {
        match self.store.case(&case)? {
            Some(bytes) => {
                let local = serde_json::from_slice(&bytes)
                    .map_err(|e| malformed(self.vault.dir(), "a case's record", e))?;
                self.cases.insert(case, local);
            }
            None => {
                self.cases.remove(&case);
            }
        }
        Ok(())
    }

    pub(crate) fn local(&self, case: CaseId) -> Result<&CaseLocal, ClientError> {
        self.cases
            .get(&case)
            .ok_or_else(|| ClientError::UnknownCase(case.to_hex()))
    }

    pub(crate) fn local_mut(&mut self, case: CaseId) -> Result<&mut CaseLocal, ClientError> {
        self.cases
            .get_mut(&case)
            .ok_or_else(|| ClientError::UnknownCase(case.to_hex()))
    }

    pub fn state(&self, case: CaseId) -> Result<&CaseState, ClientError> {
        self.local(case)?
            .state
            .as_ref()
            .ok_or_else(|| ClientError::UnknownCase(case.to_hex()))
    }

    /// A hub client for `case`'s hub, authenticated as this participant.
    pub fn hub_client(&self, case: CaseId) -> Result<HubClient, ClientError> {
        self.hub(case)
    }

    pub(crate) fn hub(&self, case: CaseId) -> Result<HubClient, ClientError> {
        self.hub_at(&self.local(case)?.hub)
    }

    /// The id the hub knows `channel` of `case` by, derived under the case key: the hub never
    /// learns a channel's name.
    pub fn hub_channel(
        &self,
        case: CaseId,
        channel: &ChannelName,
    ) -> Result<HubChannel, ClientError> {
        let local = self.local(case)?;
        if !local.opaque_channels && !channel.is_public() {
            return Err(ClientError::Invalid(format!(
                "case {case} was convened with an earlier version, whose hub knew its channels by \
                 name: this version reads and exports it, and cannot reach its channel {channel}"
            )));
        }
        Ok(HubChannel::of(&local.case_key, &case, channel))
    }

    /// The channel of `case` the hub knows as `id`, among those the record has named so far.
    pub(crate) fn channel_at(
        &self,
        case: CaseId,
        id: &HubChannel,
    ) -> Result<Option<ChannelName>, ClientError> {
        let local = self.local(case)?;
        let named = local.state.iter().flat_map(|state| state.channels.keys());
        Ok(std::iter::once(&ChannelName::public())
            .chain(named)
            .find(|name| HubChannel::of(&local.case_key, &case, name) == *id)
            .cloned())
    }

    pub(crate) fn hub_at(&self, url: &str) -> Result<HubClient, ClientError> {
        crate::hub::check_hub_url(url)?;
        if self.offline {
            return Err(ClientError::NotConnected {
                url: url.into(),
                why: "working offline (--offline)".into(),
            });
        }
        let http = match self.http.get() {
            Some(http) => http.clone(),
            None => {
                let http = crate::hub::http_client().map_err(|why| ClientError::Unreachable {
                    url: url.into(),
                    why,
                })?;
                self.http.get_or_init(|| http).clone()
            }
        };
        Ok(
            HubClient::with_http(url, self.vault.identity.key.clone(), http)
                .counting(self.tally.clone()),
        )
    }

    /// Resolves a case from a full id or a unique prefix of it.
    pub fn resolve_case(&self, text: &str) -> Result<CaseId, ClientError> {
        let matches: Vec<CaseId> = self
            .cases
            .keys()
            .filter(|c| c.to_hex().starts_with(text))
            .copied()
            .collect();
        match matches.as_slice() {
            [one] if !text.is_empty() => Ok(*one),
            [] | [_] => Err(ClientError::UnknownCase(text.into())),
            _ => Err(ClientError::Invalid(format!(
                "{text} matches several cases: give more of the id"
            ))),
        }
    }

    // --- convening -------------------------------------------------------------------------

    /// Opens a new case on `hub` with this participant as mediator.
    pub async fn create_case(&mut self, hub_url: &str, title: &str) -> Result<CaseId, ClientError> {
        self.create_case_with(hub_url, title, &[]).await
    }

    /// Opens a new case on `hub`, naming the hubs at `witnesses` as its witnesses: each is
    /// asked its key and registers the case before the case exists anywhere.
    pub async fn create_case_with(
        &mut self,
        hub_url: &str,
        title: &str,
        witnesses: &[String],
    ) -> Result<CaseId, ClientError> {
        let mut id = [0u8; 16];
        let mut case_key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut id);
        rand::thread_rng().fill_bytes(&mut case_key);
        let case = CaseId(id);
        let me = self.key();
        let witnesses = self.register_witnesses(case, witnesses).await?;
        let genesis =
            backchannel_core::Act::opening(case, me, now_ms(), title, self.name(), witnesses)
                .sign(&self.vault.identity.key);
        CaseState::genesis(&genesis, Some(me))?;
        let hub = self.hub_at(hub_url)?;
        hub.create_case(case).await?;
        self.cases.insert(
            case,
            CaseLocal {
                hub: hub.url().to_owned(),
                case_key,
                mediator: me,
                cursors: BTreeMap::from([(ChannelName::public(), 0)]),
                welcome_cursor: 0,
                invites: vec![],
                log_len: 0,
                state: None,
                synced_ms: None,
                admitted_ms: None,
                claims: BTreeMap::new(),
                alarm: None,
                witnessed: BTreeMap::new(),
                witness_submitters: Default::default(),
                shared_to: BTreeMap::new(),
                seated_at: BTreeMap::new(),
                opaque_channels: true,
            },
        );
        let sealed = vault::seal_with(&case_key, &public_aad(&case), &genesis.signed.to_bytes());
        let entry = PostEntry {
            kind: EntryKind::Message,
            after: 0,
            body: Blob(sealed),
            welcome: None,
            add: vec![],
            remove: vec![],
        };
        let posted = self
            .send_entry(case, &ChannelName::public(), entry, Some(genesis.signed))
            .await;
        if let Err(e) = posted {
            // Nothing of the case is on the hub's record: forget it here too.
            if e.hub_refused() {
                self.cases.remove(&case);
                self.store.commit(
                    &Batch {
                        forget: vec![case],
                        ..Batch::default()
                    },
                    false,
                )?;
            }
            return Err(e);
        }
        Ok(case)
    }

    /// What this participant holds at the hub at `url` for others to seat it in channels.
    pub async fn key_packages_held(&self, url: &str) -> Result<KeyPackagesStored, ClientError> {
        Self::key_packages_at(&self.hub_at(url)?).await
    }

    async fn key_packages_at(hub: &HubClient) -> Result<KeyPackagesStored, ClientError> {
        // An upload of none changes nothing and answers what is held.
        hub.upload_key_packages(UploadKeyPackages {
            key_packages: vec![],
        })
        .await
    }

    /// Tops up the key packages this participant keeps at `hub` for whoever seats it in a
    /// channel: `KEY_PACKAGE_STOCK` ordinary ones, each handed out once, and a last-resort
    /// one for when they run out. Those of earlier cases count, so they never pile up to
    /// the hub's bound across cases. Run at join and after a sync that joined a channel
    /// (which spent one): two requests when something is missing, one otherwise.
    pub(crate) async fn stock_key_packages(&mut self, hub: &HubClient) -> Result<(), ClientError> {
        let held = Self::key_packages_at(hub).await?;
        let ordinary = (held.available..KEY_PACKAGE_STOCK).map(|_| false);
        let key_packages = ordinary
            .chain((!held.last_resort).then_some(true))
            .map(|last_resort| {
                mls::key_package(&self.provider, &self.vault.identity, last_resort).map(Blob)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !key_packages.is_empty() {
            // The key packages' private halves are on disk before their public halves leave.
            self.persist(None, vec![], vec![], true)?;
            hub.upload_key_packages(UploadKeyPackages { key_packages })
                .await?;
        }
        Ok(())
    }

    /// Spends an invite code: leaves key packages on the hub, joins, and reads the public
    /// record from its genesis.
    pub async fn join(&mut self, code: &InviteCode) -> Result<CaseId, ClientError> {
        if self.cases.contains_key(&code.case) {
            return Err(ClientError::Invalid(format!(
                "already a participant of case {}",
                code.case
            )));
        }
        let hub = self.hub_at(&code.hub)?;
        self.stock_key_packages(&hub).await?;
        let join = Join {
            case_id: code.case,
            code: hex::encode(code.secret),
            sealed_name: Blob(vault::seal_with(
                &code.case_key,
                &name_aad(&code.case, &self.key()),
                self.name().as_bytes(),
            )),
        };
        hub.join(&join).await?;
        self.cases.insert(
            code.case,
            CaseLocal {
                hub: code.hub.clone(),
                case_key: code.case_key,
                mediator: code.mediator,
                cursors: BTreeMap::from([(ChannelName::public(), 0)]),
                welcome_cursor: 0,
                invites: vec![],
                log_len: 0,
                state: None,
                synced_ms: None,
                admitted_ms: None,
                claims: BTreeMap::new(),
                alarm: None,
                witnessed: BTreeMap::new(),
                witness_submitters: Default::default(),
                shared_to: BTreeMap::new(),
                seated_at: BTreeMap::new(),
                opaque_channels: true,
            },
        );
        self.persist(Some(code.case), vec![], vec![], true)?;
        self.sync(code.case).await?;
        Ok(code.case)
    }

    // --- reading ---------------------------------------------------------------------------

    /// The verified log, optionally of one channel.
    pub fn read(
        &self,
        case: CaseId,
        channel: Option<&ChannelName>,
    ) -> Result<Vec<LogLine>, ClientError> {
        self.read_last(case, channel, None)
    }

    /// The last `last` acts of the verified log (all with `None`), optionally of one channel.
    pub fn read_last(
        &self,
        case: CaseId,
        channel: Option<&ChannelName>,
        last: Option<u64>,
    ) -> Result<Vec<LogLine>, ClientError> {
        self.local(case)?;
        let filter = Filter {
            channel,
            procedural: false,
            last,
        };
        Ok(self
            .store
            .acts(&case, filter)?
            .iter()
            .map(|stored| self.line(case, stored.seq, &stored.act))
            .collect())
    }

    /// Stored acts of a case, in log order.
    pub(crate) fn stored_acts(
        &self,
        case: CaseId,
        filter: Filter<'_>,
    ) -> Result<Vec<StoredAct>, ClientError> {
        self.local(case)?;
        self.store.acts(&case, filter)
    }

    /// The act at `index` of `channel`, if this participant holds it.
    pub fn act_at(
        &self,
        case: CaseId,
        channel: &ChannelName,
        index: u64,
    ) -> Result<Option<VerifiedAct>, ClientError> {
        self.local(case)?;
        Ok(self.store.act_at(&case, channel, index)?.map(|s| s.act))
    }

    /// When the last complete sync of a case with its hub ended (ms since the epoch).
    pub fn synced_ms(&self, case: CaseId) -> Result<Option<u64>, ClientError> {
        Ok(self.local(case)?.synced_ms)
    }

    /// Participants, channels and phase as this participant knows them.
    pub fn show(&self, case: CaseId) -> Result<CaseSummary, ClientError> {
        let state = self.state(case)?;
        let local = self.local(case)?;
        let me = self.key();
        let participants = state
            .participants
            .iter()
            .map(|(key, p)| ParticipantSummary {
                name: p.name.clone(),
                key: *key,
                fingerprint: key.fingerprint(),
                role: match &p.role {
                    Role::Mediator => "mediator".into(),
                    Role::Party { .. } => "party".into(),
                    Role::Observer => "observer".into(),
                },
                party: p.role.party().map(str::to_owned),
            })
            .collect();
        let channels = state
            .channels
            .iter()
            .map(|(name, channel)| ChannelSummary {
                channel: name.clone(),
                kind: match &channel.purpose {
                    None => "public".into(),
                    Some(ChannelPurpose::Direct) => "direct talks".into(),
                    Some(ChannelPurpose::Bilateral { party }) => format!("bilateral ({party})"),
                },
                // A channel this participant does not read: who sits in it as the public
                // record says (its length is not known here).
                members: if name.is_public() {
                    vec!["everyone".into()]
                } else if local.cursors.contains_key(name) {
                    channel.members.iter().map(|k| state.name_of(k)).collect()
                } else {
                    channel.seated.iter().map(|k| state.name_of(k)).collect()
                },
                acts: channel.length,
                readable: local.cursors.contains_key(name),
            })
            .collect();
        Ok(CaseSummary {
            case,
            title: state.title.clone(),
            hub: local.hub.clone(),
            phase: state.phase,
            me: self.name().to_owned(),
            my_role: state
                .participants
                .get(&me)
                .map_or_else(|| "not yet admitted".into(), |p| p.role.label()),
            participants,
            channels,
            synced_ms: local.synced_ms,
        })
    }

    /// This participant's signing key, for acts checked against a preview of the state.
    pub(crate) fn signing_key(&self) -> &ed25519_dalek::SigningKey {
        &self.vault.identity.key
    }

    /// Every folded act, as verified when it arrived, in the order a replay reads them
    /// (`history::in_replay_order`).
    pub fn verified_log(&self, case: CaseId) -> Result<Vec<VerifiedAct>, ClientError> {
        let mut log: Vec<VerifiedAct> = self
            .stored_acts(case, Filter::default())?
            .into_iter()
            .map(|s| s.act)
            .collect();
        crate::history::in_replay_order(&mut log);
        Ok(log)
    }

    /// The audit: re-verifies every stored act (signatures, chains, rules), replays the log
    /// from its genesis and checks the result against the stored fold.
    pub fn verify_log(&self, case: CaseId) -> Result<CaseState, ClientError> {
        let local = self.local(case)?;
        let verified = self
            .verified_log(case)?
            .into_iter()
            .map(|act| act.signed.verify())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ClientError::Invalid(format!("the local log does not verify: {e}")))?;
        let replayed = CaseState::replay(&verified, Some(local.mediator))?;
        // Which channels this participant was removed from its MLS groups told it, not the
        // log: a replay cannot know it.
        let mut stored = local.state.clone();
        if let Some(stored) = stored.as_mut() {
            stored.channels.values_mut().for_each(|c| c.left = false);
        }
        if stored.as_ref() != Some(&replayed) {
            return Err(ClientError::Invalid(
                "the stored fold differs from a replay of the stored log".into(),
            ));
        }
        Ok(replayed)
    }

    /// The channels this participant can read.
    pub fn readable_channels(&self, case: CaseId) -> Result<BTreeSet<ChannelName>, ClientError> {
        Ok(self.local(case)?.cursors.keys().cloned().collect())
    }
}
