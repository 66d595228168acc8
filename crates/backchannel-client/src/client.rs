//! [`Client`]: one participant's view of its cases. Every command syncs first, verifies every
//! entry it receives (the MLS layer, the act's signature, its chain and the case's rules) and
//! refuses — naming the entry — anything that does not verify, without folding it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use backchannel_core::act::{ChannelPurpose, SignedAct, VerifiedAct};
use backchannel_core::api::{
    Blob, CreateInvite, EntryKind, Join, MemberRole, PostEntry, UploadKeyPackages,
};
use backchannel_core::{ActBody, CaseId, CaseState, ChannelName, PublicKey, Role};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::error::ClientError;
use crate::hub::{HubClient, now_ms};
use crate::invite::{InviteCode, InviteRole};
use crate::mls::{self, Incoming, Provider};
use crate::vault::{self, Vault};

/// How many key packages a participant leaves on the hub when it joins.
const KEY_PACKAGES_ON_JOIN: usize = 5;
/// How often a post is retried when another member posted first.
const POST_ATTEMPTS: usize = 8;

#[derive(Default, Serialize, Deserialize)]
struct StoredState {
    #[serde(default)]
    mls: Vec<(Blob, Blob)>,
    #[serde(default)]
    cases: BTreeMap<CaseId, CaseLocal>,
}

#[derive(Serialize, Deserialize)]
struct CaseLocal {
    hub: String,
    case_key: [u8; 32],
    mediator: PublicKey,
    /// Per channel this participant reads: the hub seq of the last entry it processed.
    cursors: BTreeMap<ChannelName, u64>,
    /// The verified acts, in the order they were folded.
    log: Vec<LoggedAct>,
    /// `log`, verified: checked once when folded or when the home is opened, not on every read.
    #[serde(skip)]
    verified: Vec<VerifiedAct>,
    #[serde(default)]
    welcome_cursor: u64,
    /// The mediator's record of the invites it issued, to check the roles the hub reports.
    #[serde(default)]
    invites: Vec<IssuedInvite>,
}

#[derive(Clone, Serialize, Deserialize)]
struct LoggedAct {
    seq: u64,
    act: SignedAct,
}

#[derive(Clone, Serialize, Deserialize)]
struct IssuedInvite {
    code_hash: String,
    role: MemberRole,
    party: Option<String>,
    used_by: Option<PublicKey>,
}

/// One line of a channel's verified log, for people and scripts.
#[derive(Clone, Debug, Serialize)]
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
}

pub struct Client {
    vault: Vault,
    provider: Provider,
    stored: StoredState,
    states: BTreeMap<CaseId, CaseState>,
    /// Built on first use and shared by every hub call.
    http: std::sync::OnceLock<reqwest::Client>,
}

fn public_aad(case: &CaseId) -> Vec<u8> {
    let mut aad = b"backchannel/public/v1".to_vec();
    aad.extend_from_slice(&case.0);
    aad
}

impl Client {
    /// Creates a new identity in `home`.
    pub fn create_identity(
        home: &Path,
        name: &str,
        passphrase: &str,
    ) -> Result<PublicKey, ClientError> {
        let vault = Vault::create(home, name, passphrase)?;
        let client = Self {
            vault,
            provider: Provider::default(),
            stored: StoredState::default(),
            states: BTreeMap::new(),
            http: std::sync::OnceLock::new(),
        };
        client.save()?;
        Ok(client.key())
    }

    /// Opens the identity and state in `home`, replaying every case's log.
    pub fn open(home: &Path, passphrase: &str) -> Result<Self, ClientError> {
        let vault = Vault::open(home, passphrase)?;
        let stored: StoredState = match vault.load_state()? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| ClientError::Home {
                path: home.display().to_string(),
                why: format!("the state is malformed: {e}"),
            })?,
            None => StoredState::default(),
        };
        let provider = Provider::restore(
            stored
                .mls
                .iter()
                .map(|(k, v)| (k.0.clone(), v.0.clone()))
                .collect(),
        );
        let mut stored = stored;
        let mut states = BTreeMap::new();
        for (case, local) in &mut stored.cases {
            if local.log.is_empty() {
                continue;
            }
            let verified = local
                .log
                .iter()
                .map(|logged| logged.act.clone().verify())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ClientError::Home {
                    path: home.display().to_string(),
                    why: format!("the local log of case {case} does not verify: {e}"),
                })?;
            let state = CaseState::replay(&verified, Some(local.mediator))?;
            states.insert(*case, state);
            local.verified = verified;
        }
        Ok(Self {
            vault,
            provider,
            stored,
            states,
            http: std::sync::OnceLock::new(),
        })
    }

    pub fn key(&self) -> PublicKey {
        self.vault.identity.public_key()
    }

    pub fn name(&self) -> &str {
        &self.vault.identity.name
    }

    pub fn cases(&self) -> Vec<CaseId> {
        self.stored.cases.keys().copied().collect()
    }

    /// Seals and writes the state.
    pub fn save(&self) -> Result<(), ClientError> {
        let mut stored =
            serde_json::to_value(&self.stored).map_err(|e| ClientError::Invalid(e.to_string()))?;
        let mls: Vec<(Blob, Blob)> = self
            .provider
            .snapshot()
            .into_iter()
            .map(|(k, v)| (Blob(k), Blob(v)))
            .collect();
        stored["mls"] =
            serde_json::to_value(mls).map_err(|e| ClientError::Invalid(e.to_string()))?;
        let bytes = serde_json::to_vec(&stored).map_err(|e| ClientError::Invalid(e.to_string()))?;
        self.vault.save_state(&bytes)
    }

    fn local(&self, case: CaseId) -> Result<&CaseLocal, ClientError> {
        self.stored
            .cases
            .get(&case)
            .ok_or_else(|| ClientError::UnknownCase(case.to_hex()))
    }

    fn local_mut(&mut self, case: CaseId) -> Result<&mut CaseLocal, ClientError> {
        self.stored
            .cases
            .get_mut(&case)
            .ok_or_else(|| ClientError::UnknownCase(case.to_hex()))
    }

    pub fn state(&self, case: CaseId) -> Result<&CaseState, ClientError> {
        self.states
            .get(&case)
            .ok_or_else(|| ClientError::UnknownCase(case.to_hex()))
    }

    /// A hub client for `case`'s hub, authenticated as this participant.
    pub fn hub_client(&self, case: CaseId) -> Result<HubClient, ClientError> {
        self.hub(case)
    }

    fn hub(&self, case: CaseId) -> Result<HubClient, ClientError> {
        self.hub_at(&self.local(case)?.hub)
    }

    fn hub_at(&self, url: &str) -> Result<HubClient, ClientError> {
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
        Ok(HubClient::with_http(
            url,
            self.vault.identity.key.clone(),
            http,
        ))
    }

    /// Resolves a case from a full id or a unique prefix of it.
    pub fn resolve_case(&self, text: &str) -> Result<CaseId, ClientError> {
        let matches: Vec<CaseId> = self
            .stored
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
        let mut id = [0u8; 16];
        let mut case_key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut id);
        rand::thread_rng().fill_bytes(&mut case_key);
        let case = CaseId(id);
        let me = self.key();
        let genesis = backchannel_core::Act {
            v: backchannel_core::act::ACT_VERSION,
            case,
            channel: ChannelName::public(),
            index: 1,
            prev: backchannel_core::Digest32::ZERO,
            author: me,
            at_ms: now_ms(),
            body: ActBody::CaseOpened {
                title: title.to_owned(),
                mediator_name: self.name().to_owned(),
            },
        }
        .sign(&self.vault.identity.key);
        let state = CaseState::genesis(&genesis, Some(me))?;
        let hub = self.hub_at(hub_url)?;
        hub.create_case(case, self.name()).await?;
        let sealed = vault::seal_with(&case_key, &public_aad(&case), &genesis.signed.to_bytes());
        let entry = PostEntry {
            kind: EntryKind::Message,
            after: 0,
            body: Blob(sealed),
            welcome: None,
            add: vec![],
            remove: vec![],
        };
        let seq = hub.post_entry(case, &ChannelName::public(), &entry).await?;
        self.stored.cases.insert(
            case,
            CaseLocal {
                hub: hub.url().to_owned(),
                case_key,
                mediator: me,
                cursors: BTreeMap::from([(ChannelName::public(), seq)]),
                log: vec![LoggedAct {
                    seq,
                    act: genesis.signed.clone(),
                }],
                verified: vec![genesis],
                welcome_cursor: 0,
                invites: vec![],
            },
        );
        self.states.insert(case, state);
        self.save()?;
        Ok(case)
    }

    /// Issues a one-time invite code (mediator only).
    pub async fn invite(
        &mut self,
        case: CaseId,
        role: InviteRole,
    ) -> Result<InviteCode, ClientError> {
        let state = self.state(case)?;
        if state.mediator != self.key() {
            return Err(backchannel_core::Rejection::MediatorOnly("invite participants").into());
        }
        let (role, party) = match role {
            InviteRole::Party(party) => {
                if ChannelName::for_party(&party).is_none() {
                    return Err(ClientError::Invalid(format!(
                        "the party name {party:?} has no letters or digits"
                    )));
                }
                (MemberRole::Party, Some(party))
            }
            InviteRole::Observer => (MemberRole::Observer, None),
        };
        let mut secret = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut secret);
        let code_hash = InviteCode::secret_hash(&secret);
        let request = CreateInvite {
            code_hash: code_hash.clone(),
            role,
            party: party.clone(),
        };
        self.hub(case)?.create_invite(case, &request).await?;
        let local = self.local_mut(case)?;
        local.invites.push(IssuedInvite {
            code_hash,
            role,
            party,
            used_by: None,
        });
        let code = InviteCode {
            hub: local.hub.clone(),
            case,
            mediator: local.mediator,
            secret,
            case_key: local.case_key,
        };
        self.save()?;
        Ok(code)
    }

    /// Spends an invite code: leaves key packages on the hub, joins, and reads the public
    /// record from its genesis.
    pub async fn join(&mut self, code: &InviteCode) -> Result<CaseId, ClientError> {
        if self.stored.cases.contains_key(&code.case) {
            return Err(ClientError::Invalid(format!(
                "already a participant of case {}",
                code.case
            )));
        }
        let hub = self.hub_at(&code.hub)?;
        let key_packages = (0..KEY_PACKAGES_ON_JOIN)
            .map(|_| mls::key_package(&self.provider, &self.vault.identity).map(Blob))
            .collect::<Result<Vec<_>, _>>()?;
        hub.upload_key_packages(UploadKeyPackages { key_packages })
            .await?;
        self.save()?;
        let join = Join {
            case_id: code.case,
            code: hex::encode(code.secret),
            name: self.name().to_owned(),
        };
        hub.join(&join).await?;
        self.stored.cases.insert(
            code.case,
            CaseLocal {
                hub: code.hub.clone(),
                case_key: code.case_key,
                mediator: code.mediator,
                cursors: BTreeMap::from([(ChannelName::public(), 0)]),
                log: vec![],
                verified: vec![],
                welcome_cursor: 0,
                invites: vec![],
            },
        );
        self.save()?;
        self.sync(code.case).await?;
        Ok(code.case)
    }

    // --- sync and verification -------------------------------------------------------------

    /// Fetches, verifies and folds everything new; as mediator, admits newcomers.
    pub async fn sync(&mut self, case: CaseId) -> Result<SyncReport, ClientError> {
        let mut report = SyncReport::default();
        let result = self.sync_inner(case, &mut report).await;
        self.save()?;
        result.map(|()| report)
    }

    async fn sync_inner(
        &mut self,
        case: CaseId,
        report: &mut SyncReport,
    ) -> Result<(), ClientError> {
        self.pull(case, &ChannelName::public(), report).await?;
        self.take_welcomes(case).await?;
        let channels: Vec<ChannelName> = self
            .local(case)?
            .cursors
            .keys()
            .filter(|c| !c.is_public())
            .cloned()
            .collect();
        for channel in channels {
            self.pull(case, &channel, report).await?;
        }
        if self.state(case)?.mediator == self.key() {
            self.admit_newcomers(case, report).await?;
        }
        Ok(())
    }

    async fn take_welcomes(&mut self, case: CaseId) -> Result<(), ClientError> {
        let hub = self.hub(case)?;
        let after = self.local(case)?.welcome_cursor;
        let welcomes = hub.welcomes(after).await?.welcomes;
        for welcome in welcomes {
            let local = self.local_mut(case)?;
            local.welcome_cursor = local.welcome_cursor.max(welcome.id);
            if welcome.case_id != case || local.cursors.contains_key(&welcome.channel) {
                continue;
            }
            let refused = |why: String| ClientError::Refused {
                channel: welcome.channel.clone(),
                seq: welcome.seq,
                why,
            };
            let group = mls::join_from_welcome(&self.provider, &welcome.body.0)
                .map_err(|e| refused(e.to_string()))?;
            if group.group_id() != &mls::group_id(&case, &welcome.channel) {
                return Err(refused("the welcome is for another group".into()));
            }
            let state = self.state(case)?;
            for key in mls::member_keys(&group)? {
                if !state.participants.contains_key(&key) {
                    return Err(refused(format!(
                        "the group holds {}, who is not a participant",
                        key.short()
                    )));
                }
            }
            self.local_mut(case)?
                .cursors
                .insert(welcome.channel.clone(), welcome.seq);
        }
        Ok(())
    }

    /// Reads every new entry of one channel, verifying and folding each in order.
    async fn pull(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        report: &mut SyncReport,
    ) -> Result<(), ClientError> {
        let hub = self.hub(case)?;
        loop {
            let after = self.local(case)?.cursors.get(channel).copied().unwrap_or(0);
            let page = hub.entries(case, channel, after).await?;
            let count = page.entries.len();
            for entry in page.entries {
                let refused = |why: String| ClientError::Refused {
                    channel: channel.clone(),
                    seq: entry.seq,
                    why,
                };
                let expected = self.local(case)?.cursors.get(channel).copied().unwrap_or(0) + 1;
                if entry.seq != expected {
                    return Err(refused(format!(
                        "the hub skipped from seq {} to {}",
                        expected - 1,
                        entry.seq
                    )));
                }
                // Only an MLS entry touches the MLS storage: keep a copy to roll back to.
                let checkpoint = (!channel.is_public()).then(|| self.provider.snapshot());
                let line = match self.verify_entry(case, channel, &entry) {
                    Ok(line) => line,
                    Err(e) => {
                        if let Some(checkpoint) = checkpoint {
                            self.provider.rollback(checkpoint);
                        }
                        return Err(refused(e.to_string()));
                    }
                };
                self.local_mut(case)?
                    .cursors
                    .insert(channel.clone(), entry.seq);
                report.new.extend(line);
            }
            if count < backchannel_core::api::MAX_LIST {
                return Ok(());
            }
        }
    }

    /// Verifies one entry and folds it; returns its log line if it carried an act.
    fn verify_entry(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        entry: &backchannel_core::api::Entry,
    ) -> Result<Option<LogLine>, ClientError> {
        let (bytes, sender) = if channel.is_public() {
            let local = self.local(case)?;
            let opened = vault::open_with(&local.case_key, &public_aad(&case), &entry.body.0)
                .ok_or_else(|| {
                    ClientError::Invalid(
                        "it does not open under the case key: it was altered or forged".into(),
                    )
                })?;
            (opened, None)
        } else {
            let mut group = mls::load_group(&self.provider, &case, channel)?;
            match mls::process(&self.provider, &mut group, &entry.body.0)? {
                Incoming::Application { sender, bytes } => (bytes, Some(sender)),
                Incoming::Commit { members } => {
                    let state = self.state(case)?;
                    if let Some(stranger) =
                        members.iter().find(|k| !state.participants.contains_key(k))
                    {
                        return Err(ClientError::Invalid(format!(
                            "a commit added {}, who is not a participant",
                            stranger.short()
                        )));
                    }
                    return Ok(None);
                }
            }
        };
        let verified =
            SignedAct::decode(&bytes).map_err(|e| ClientError::Invalid(e.to_string()))?;
        if verified.act.channel != *channel {
            return Err(backchannel_core::Rejection::WrongChannel {
                posted: channel.clone(),
                named: verified.act.channel.clone(),
            }
            .into());
        }
        if sender.is_some_and(|s| s != verified.act.author) {
            return Err(ClientError::Invalid(
                "the MLS sender is not the act's author".into(),
            ));
        }
        self.fold(case, entry.seq, verified).map(Some)
    }

    /// Folds a verified act into the state (the genesis starts it) and the local log.
    fn fold(
        &mut self,
        case: CaseId,
        seq: u64,
        verified: VerifiedAct,
    ) -> Result<LogLine, ClientError> {
        match self.states.get_mut(&case) {
            Some(state) => state.accept(&verified)?,
            None => {
                let mediator = self.local(case)?.mediator;
                self.states
                    .insert(case, CaseState::genesis(&verified, Some(mediator))?);
            }
        }
        let line = self.line(case, seq, &verified);
        let local = self.local_mut(case)?;
        local.log.push(LoggedAct {
            seq,
            act: verified.signed.clone(),
        });
        local.verified.push(verified);
        Ok(line)
    }

    fn line(&self, case: CaseId, seq: u64, verified: &VerifiedAct) -> LogLine {
        let state = self.states.get(&case);
        let act = &verified.act;
        LogLine {
            channel: act.channel.clone(),
            index: act.index,
            seq,
            author: state.map_or_else(|| act.author.short(), |s| s.name_of(&act.author)),
            author_key: act.author,
            at_ms: act.at_ms,
            kind: act.body.kind(),
            text: crate::narrate::describe(&act.body, state),
        }
    }

    /// Follows a case live: syncs on every push notice from the hub and hands each batch of
    /// newly verified acts to `on_new`; returns when `on_new` says stop or the hub closes the
    /// stream. Notices are only hints: everything is fetched and verified as in [`Client::sync`].
    pub async fn watch(
        &mut self,
        case: CaseId,
        mut on_new: impl FnMut(&SyncReport) -> bool,
    ) -> Result<(), ClientError> {
        use futures_util::StreamExt as _;
        let mut stream = self.hub(case)?.stream(case).await?;
        let report = self.sync(case).await?;
        if !on_new(&report) {
            return Ok(());
        }
        let url = self.local(case)?.hub.clone();
        while let Some(frame) = stream.next().await {
            let frame = frame.map_err(|e| ClientError::Unreachable {
                url: url.clone(),
                why: e.to_string(),
            })?;
            if !frame.is_text() {
                continue;
            }
            let report = self.sync(case).await?;
            if !report.new.is_empty() && !on_new(&report) {
                return Ok(());
            }
        }
        Ok(())
    }

    // --- posting ---------------------------------------------------------------------------

    /// Posts an act on a channel, re-syncing and retrying while others post first.
    pub async fn post(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        body: ActBody,
    ) -> Result<LogLine, ClientError> {
        let hub = self.hub(case)?;
        // Refuse what the rules refuse before touching the hub.
        self.state(case)?
            .next_act(channel, self.key(), now_ms(), body.clone())?;
        for _ in 0..POST_ATTEMPTS {
            let mut report = SyncReport::default();
            self.pull(case, channel, &mut report).await?;
            let after = *self
                .local(case)?
                .cursors
                .get(channel)
                .ok_or_else(|| ClientError::NotInChannel(channel.to_string()))?;
            let act = self
                .state(case)?
                .next_act(channel, self.key(), now_ms(), body.clone())?;
            let verified = act.sign(&self.vault.identity.key);
            let sealed = if channel.is_public() {
                vault::seal_with(
                    &self.local(case)?.case_key,
                    &public_aad(&case),
                    &verified.signed.to_bytes(),
                )
            } else {
                let mut group = mls::load_group(&self.provider, &case, channel)?;
                mls::encrypt(
                    &self.provider,
                    &self.vault.identity,
                    &mut group,
                    &verified.signed.to_bytes(),
                )?
            };
            let entry = PostEntry {
                kind: EntryKind::Message,
                after,
                body: Blob(sealed),
                welcome: None,
                add: vec![],
                remove: vec![],
            };
            match hub.post_entry(case, channel, &entry).await {
                Ok(seq) => {
                    let line = self.fold(case, seq, verified)?;
                    self.local_mut(case)?.cursors.insert(channel.clone(), seq);
                    self.save()?;
                    return Ok(line);
                }
                Err(e) if e.is_stale_head() => continue,
                Err(e) => {
                    self.save()?;
                    return Err(e);
                }
            }
        }
        Err(ClientError::Invalid(format!(
            "channel {channel} is too busy: gave up after {POST_ATTEMPTS} attempts"
        )))
    }

    /// Sends a text message on a channel (on `public`, a public statement).
    pub async fn send(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        text: &str,
    ) -> Result<LogLine, ClientError> {
        self.sync(case).await?;
        self.post(
            case,
            channel,
            ActBody::Message {
                text: text.to_owned(),
            },
        )
        .await
    }

    /// Posts a commit on an MLS channel; makes it effective only once the hub accepted it.
    async fn commit(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        build: impl FnOnce(
            &Provider,
            &crate::vault::Identity,
            &mut openmls::prelude::MlsGroup,
        ) -> Result<(Vec<u8>, Option<Vec<u8>>), ClientError>,
        add: Vec<PublicKey>,
        remove: Vec<PublicKey>,
    ) -> Result<(), ClientError> {
        let hub = self.hub(case)?;
        let after = *self
            .local(case)?
            .cursors
            .get(channel)
            .ok_or_else(|| ClientError::NotInChannel(channel.to_string()))?;
        let mut group = mls::load_group(&self.provider, &case, channel)?;
        let (commit, welcome) = build(&self.provider, &self.vault.identity, &mut group)?;
        let entry = PostEntry {
            kind: EntryKind::Commit,
            after,
            body: Blob(commit),
            welcome: welcome.map(Blob),
            add,
            remove,
        };
        let posted = hub.post_entry(case, channel, &entry).await;
        mls::settle(&self.provider, &mut group, posted.is_ok())?;
        let seq = posted?;
        self.local_mut(case)?.cursors.insert(channel.clone(), seq);
        self.save()
    }

    /// As mediator: admits every participant who joined with an invite since the last sync.
    async fn admit_newcomers(
        &mut self,
        case: CaseId,
        report: &mut SyncReport,
    ) -> Result<(), ClientError> {
        let hub = self.hub(case)?;
        let me = self.key();
        for member in hub.members(case).await? {
            if member.key == me || self.state(case)?.participants.contains_key(&member.key) {
                continue;
            }
            // The hub reports the invite's role; admit only against an invite this mediator
            // issued with that role, so a lying hub cannot promote anyone.
            let local = self.local_mut(case)?;
            let Some(invite) = local
                .invites
                .iter_mut()
                .find(|i| i.used_by.is_none() && i.role == member.role && i.party == member.party)
            else {
                tracing::warn!(key = %member.key.short(), "a member the hub reports matches no invite issued here");
                continue;
            };
            invite.used_by = Some(member.key);
            let role = match (&member.role, &member.party) {
                (MemberRole::Party, Some(party)) => Role::Party {
                    party: party.clone(),
                },
                (MemberRole::Observer, None) => Role::Observer,
                _ => continue,
            };
            let admit = ActBody::MemberAdmitted {
                key: member.key,
                name: member.name.clone(),
                role: role.clone(),
            };
            self.post(case, &ChannelName::public(), admit).await?;
            report
                .admitted
                .push(format!("{} as {}", member.name, role.label()));
            if let Role::Party { party } = role {
                self.seat_in_bilateral(case, &party, member.key).await?;
            }
        }
        Ok(())
    }

    /// Adds a party's participant to that party's bilateral channel, opening it if needed.
    async fn seat_in_bilateral(
        &mut self,
        case: CaseId,
        party: &str,
        key: PublicKey,
    ) -> Result<(), ClientError> {
        let existing = self.state(case)?.bilateral_channel(party).cloned();
        let channel = match existing {
            Some(channel) => channel,
            None => {
                let channel = ChannelName::for_party(party).ok_or_else(|| {
                    ClientError::Invalid(format!(
                        "the party name {party:?} has no letters or digits"
                    ))
                })?;
                let purpose = ChannelPurpose::Bilateral {
                    party: party.to_owned(),
                };
                self.open_channel(case, &channel, purpose).await?;
                channel
            }
        };
        self.add_to_channel(case, &channel, &[key]).await
    }

    /// As mediator: opens a discreet channel (on the hub, as an MLS group of the mediator
    /// alone) and announces it on the public record.
    pub(crate) async fn open_channel(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        purpose: ChannelPurpose,
    ) -> Result<(), ClientError> {
        let opened = ActBody::ChannelOpened {
            channel: channel.clone(),
            purpose,
        };
        // Check the rules before anything reaches the hub.
        self.state(case)?
            .next_act(&ChannelName::public(), self.key(), now_ms(), opened.clone())?;
        self.hub(case)?.create_channel(case, channel).await?;
        mls::create_group(&self.provider, &self.vault.identity, &case, channel)?;
        self.post(case, &ChannelName::public(), opened).await?;
        self.local_mut(case)?.cursors.insert(channel.clone(), 0);
        Ok(())
    }

    /// As mediator: adds participants to a discreet channel with one commit (their key
    /// packages claimed from the hub and checked to be theirs), then names the members.
    pub(crate) async fn add_to_channel(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        keys: &[PublicKey],
    ) -> Result<(), ClientError> {
        let mut key_packages = Vec::with_capacity(keys.len());
        for key in keys {
            let bytes = self.hub(case)?.claim_key_package(case, *key).await?;
            key_packages.push(mls::validate_key_package(&self.provider, &bytes, *key)?);
        }
        self.commit(
            case,
            channel,
            |provider, identity, group| {
                let (commit, welcome) = mls::add(provider, identity, group, &key_packages)?;
                Ok((commit, Some(welcome)))
            },
            keys.to_vec(),
            vec![],
        )
        .await?;
        self.announce_members(case, channel).await
    }

    async fn announce_members(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
    ) -> Result<(), ClientError> {
        let group = mls::load_group(&self.provider, &case, channel)?;
        let members: Vec<PublicKey> = mls::member_keys(&group)?.into_iter().collect();
        self.post(case, channel, ActBody::MembersChanged { members })
            .await?;
        Ok(())
    }

    /// As mediator: removes a participant from a discreet channel. The commit rotates the
    /// group's keys, so the removed member reads nothing sent after it.
    pub async fn remove_from_channel(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        key: PublicKey,
    ) -> Result<(), ClientError> {
        self.sync(case).await?;
        if self.state(case)?.mediator != self.key() {
            return Err(backchannel_core::Rejection::MediatorOnly("remove members").into());
        }
        if channel.is_public() {
            return Err(ClientError::Invalid(
                "the public record has no members to remove".into(),
            ));
        }
        self.commit(
            case,
            channel,
            |provider, identity, group| Ok((mls::remove(provider, identity, group, &[key])?, None)),
            vec![],
            vec![key],
        )
        .await?;
        self.announce_members(case, channel).await
    }

    // --- reading ---------------------------------------------------------------------------

    /// The verified log, optionally of one channel.
    pub fn read(
        &self,
        case: CaseId,
        channel: Option<&ChannelName>,
    ) -> Result<Vec<LogLine>, ClientError> {
        let local = self.local(case)?;
        Ok(local
            .log
            .iter()
            .zip(&local.verified)
            .filter(|(_, verified)| channel.is_none_or(|c| *c == verified.act.channel))
            .map(|(logged, verified)| self.line(case, logged.seq, verified))
            .collect())
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
                members: if name.is_public() {
                    vec!["everyone".into()]
                } else {
                    channel.members.iter().map(|k| state.name_of(k)).collect()
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
        })
    }

    /// This participant's signing key, for acts checked against a preview of the state.
    pub(crate) fn signing_key(&self) -> &ed25519_dalek::SigningKey {
        &self.vault.identity.key
    }

    /// Every folded act, as verified when it was folded, in log order.
    pub fn verified_log(&self, case: CaseId) -> Result<Vec<VerifiedAct>, ClientError> {
        Ok(self.verified(case)?.to_vec())
    }

    /// The folded acts, borrowed.
    pub(crate) fn verified(&self, case: CaseId) -> Result<&[VerifiedAct], ClientError> {
        Ok(&self.local(case)?.verified)
    }

    /// Re-verifies every stored act (signatures, chains, rules) and replays the log from its
    /// genesis: the state an auditor would derive from this participant's record.
    pub fn verify_log(&self, case: CaseId) -> Result<CaseState, ClientError> {
        let local = self.local(case)?;
        let verified = local
            .log
            .iter()
            .map(|logged| logged.act.clone().verify())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ClientError::Invalid(format!("the local log does not verify: {e}")))?;
        Ok(CaseState::replay(&verified, Some(local.mediator))?)
    }

    /// The channels this participant can read.
    pub fn readable_channels(&self, case: CaseId) -> Result<BTreeSet<ChannelName>, ClientError> {
        Ok(self.local(case)?.cursors.keys().cloned().collect())
    }
}
