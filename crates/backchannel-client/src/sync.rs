//! Reading from the hub: every new entry of a channel is verified (the MLS layer, the act's
//! signature, its chain and the case's rules) and folded, one transaction per entry; an
//! entry that does not verify is refused, named, and leaves no trace (its MLS changes are
//! rolled back). An entry of this participant's own outbox is recognised by its bytes and
//! completes that post instead of being decrypted.

use backchannel_core::act::{SignedAct, VerifiedAct};
use backchannel_core::history::SharedHistory;
use backchannel_core::{ActBody, CaseState, ChannelName};

use crate::client::{Client, LogLine, StoreHistory, SyncReport, public_aad};
use crate::error::ClientError;
use crate::hub::now_ms;
use crate::mls::{self, Incoming};
use crate::store::NewAct;
use crate::vault;
use backchannel_core::CaseId;

impl Client {
    /// Fetches, verifies and folds everything new; completes or drops what the outbox holds;
    /// as mediator, admits newcomers and finishes seating them.
    pub async fn sync(&mut self, case: CaseId) -> Result<SyncReport, ClientError> {
        self.unalarmed(case)?;
        let mut report = SyncReport::default();
        self.pull(case, &ChannelName::public(), &mut report).await?;
        self.take_welcomes(case).await?;
        let mut channels = self.discreet_channels(case)?;
        for channel in &channels {
            match self.pull(case, channel, &mut report).await {
                Ok(()) => {}
                // Removed before it read its removal: the hub no longer serves the channel,
                // and the mediator has said on the public record who sits there now.
                Err(ClientError::Hub { code, .. })
                    if code == "not_member" && !self.seated(case, channel)? =>
                {
                    self.left_channel(case, channel)?;
                }
                Err(e) => return Err(e),
            }
        }
        // Removed from a channel and perhaps seated again since: a new welcome waited behind
        // the removal, which the pull has just read.
        channels.retain(|c| self.cursor(case, c).is_err());
        if !channels.is_empty() {
            self.take_welcomes(case).await?;
            for channel in &channels {
                if self.cursor(case, channel).is_ok() {
                    self.pull(case, channel, &mut report).await?;
                }
            }
        }
        self.settle_claims(case).await?;
        self.resend_outbox(case).await?;
        if self.state(case)?.mediator == self.key() {
            self.admit_newcomers(case, &mut report, &[]).await?;
            self.admit_to_witnesses(case).await?;
        }
        self.check_witnesses(case).await?;
        self.local_mut(case)?.synced_ms = Some(now_ms());
        self.persist(Some(case), vec![], vec![], false)?;
        Ok(report)
    }

    /// Syncs unless working offline; if the hub cannot be reached, carries on with the
    /// local copy. Returns whether the copy is fresh from the hub.
    pub async fn refresh(&mut self, case: CaseId) -> Result<bool, ClientError> {
        if self.offline {
            return Ok(false);
        }
        match self.sync(case).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_unreachable() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether the public record seats this participant in `channel`.
    fn seated(&self, case: CaseId, channel: &ChannelName) -> Result<bool, ClientError> {
        let me = self.key();
        Ok(self
            .state(case)?
            .channels
            .get(channel)
            .is_some_and(|c| c.seated.contains(&me)))
    }

    /// Stops reading a channel this participant was removed from: nothing said there after
    /// the removal is for it, until a welcome seats it again.
    fn left_channel(&mut self, case: CaseId, channel: &ChannelName) -> Result<(), ClientError> {
        mls::forget_group(&self.provider, &case, &self.hub_channel(case, channel)?)?;
        let local = self.local_mut(case)?;
        local.cursors.remove(channel);
        if let Some(state) = local.state.as_mut() {
            state.leave(channel);
        }
        self.persist(Some(case), vec![], vec![], false)
    }

    /// The discreet channels this participant reads in `case`.
    fn discreet_channels(&self, case: CaseId) -> Result<Vec<ChannelName>, ClientError> {
        Ok(self
            .local(case)?
            .cursors
            .keys()
            .filter(|c| !c.is_public())
            .cloned()
            .collect())
    }

    /// Joins the channels this participant was welcomed into since the last time. A welcome
    /// to a channel it still reads, from an entry it has not read yet, seats it again after
    /// a removal it has yet to read: it is left for after that channel's pull. So is one to a
    /// channel the public record has not named yet (the hub knows channels only by opaque
    /// ids): the mediator names a channel before it seats anyone there, so the next pull of
    /// the record names it.
    async fn take_welcomes(&mut self, case: CaseId) -> Result<(), ClientError> {
        let hub = self.hub(case)?;
        let after = self.local(case)?.welcome_cursor;
        let welcomes = hub.welcomes(after).await?.welcomes;
        let mut joined_any = false;
        for welcome in welcomes {
            let channel = match welcome.case_id == case {
                true => match self.channel_at(case, &welcome.channel)? {
                    Some(channel) => Some(channel),
                    None => {
                        tracing::info!(
                            seq = welcome.seq,
                            "a welcome to a channel the record has not named yet waits for it"
                        );
                        break;
                    }
                },
                false => None,
            };
            let local = self.local_mut(case)?;
            if let Some(channel) = &channel
                && local
                    .cursors
                    .get(channel)
                    .is_some_and(|cursor| *cursor < welcome.seq)
            {
                break;
            }
            local.welcome_cursor = local.welcome_cursor.max(welcome.id);
            let Some(channel) = channel.filter(|c| !local.cursors.contains_key(c)) else {
                continue;
            };
            let refused = |why: String| ClientError::Refused {
                channel: channel.clone(),
                seq: welcome.seq,
                why,
            };
            let joined = mls::join_from_welcome(&self.provider, &welcome.body.0)
                .map_err(|e| refused(e.to_string()))
                .and_then(|group| {
                    if group.group_id() != &mls::group_id(&case, &welcome.channel) {
                        return Err(refused("the welcome is for another group".into()));
                    }
                    let state = self.state(case)?;
                    match mls::member_keys(&group)?
                        .into_iter()
                        .find(|key| !state.participants.contains_key(key))
                    {
                        Some(stranger) => Err(refused(format!(
                            "the group holds {}, who is not a participant",
                            stranger.short()
                        ))),
                        None => Ok(()),
                    }
                });
            if let Err(e) = joined {
                self.provider
                    .rollback(self.mls_committed.clone().into_iter().collect());
                self.reload_case(case)?;
                return Err(e);
            }
            self.local_mut(case)?
                .cursors
                .insert(channel.clone(), welcome.seq);
            self.persist(Some(case), vec![], vec![], false)?;
            joined_any = true;
        }
        // Each channel joined spent a key package (or reused the last-resort one).
        if joined_any {
            self.stock_key_packages(&hub).await?;
        }
        // A welcome cursor moved past other cases' welcomes is written with the sync's end.
        Ok(())
    }

    /// Reads every new entry of one channel, verifying and folding each in order.
    pub(crate) async fn pull(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        report: &mut SyncReport,
    ) -> Result<(), ClientError> {
        let hub = self.hub(case)?;
        loop {
            let after = self.cursor(case, channel)?;
            let page = hub
                .entries(case, &self.hub_channel(case, channel)?, after)
                .await?;
            let count = page.entries.len();
            self.absorb(case, channel, page.entries, report)?;
            let removed = !self.local(case)?.cursors.contains_key(channel);
            if removed || count < backchannel_core::api::MAX_LIST {
                return Ok(());
            }
        }
    }

    /// Verifies and folds, in order, entries that follow the channel's cursor (a page of a
    /// pull, or what a `stale_head` refusal carried). An entry of the outbox is recognised by
    /// its bytes and completes that post.
    pub(crate) fn absorb(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        entries: Vec<backchannel_core::api::Entry>,
        report: &mut SyncReport,
    ) -> Result<(), ClientError> {
        let mut pending = self.outgoing(case, channel)?;
        for entry in entries {
            if !self.local(case)?.cursors.contains_key(channel) {
                // Removed from the channel by an earlier entry of this page.
                break;
            }
            let refused = |why: String| ClientError::Refused {
                channel: channel.clone(),
                seq: entry.seq,
                why,
            };
            let expected = self.cursor(case, channel)? + 1;
            if entry.seq != expected {
                return Err(refused(format!(
                    "the hub skipped from seq {} to {}",
                    expected - 1,
                    entry.seq
                )));
            }
            if let Some(outgoing) = pending.take() {
                if outgoing.entry.body.0 == entry.body.0 {
                    report
                        .new
                        .extend(self.complete_outgoing(case, channel, entry.seq, outgoing)?);
                    continue;
                }
                if outgoing.entry.after < entry.seq {
                    // Another entry holds the place the post asked for: the hub never
                    // accepted it.
                    self.drop_outgoing(case, channel, &outgoing)?;
                } else {
                    pending = Some(outgoing);
                }
            }
            let line = match self.verify_entry(case, channel, &entry) {
                Ok(line) => line,
                Err(e) => {
                    self.provider
                        .rollback(self.mls_committed.clone().into_iter().collect());
                    self.reload_case(case)?;
                    return Err(match e {
                        ClientError::Alarm(alarm) => self.raise(case, *alarm),
                        e => refused(e.to_string()),
                    });
                }
            };
            report.new.extend(line);
        }
        Ok(())
    }

    pub(crate) fn cursor(&self, case: CaseId, channel: &ChannelName) -> Result<u64, ClientError> {
        self.local(case)?
            .cursors
            .get(channel)
            .copied()
            .ok_or_else(|| ClientError::NotInChannel(channel.to_string()))
    }

    /// Verifies one entry and folds it, in one transaction with the MLS changes it caused;
    /// returns its log line if it carried an act.
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
            let mut group = self.group(case, channel)?;
            match mls::process(&self.provider, &mut group, &entry.body.0)? {
                Incoming::Application { sender, bytes } => {
                    if let Some(shared) = SharedHistory::parse(&bytes) {
                        self.take_history(case, channel, entry.seq, Some(sender), &shared)?;
                        return Ok(None);
                    }
                    (bytes, Some(sender))
                }
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
                    self.local_mut(case)?
                        .cursors
                        .insert(channel.clone(), entry.seq);
                    self.persist(Some(case), vec![], vec![], false)?;
                    return Ok(None);
                }
                Incoming::Removed => {
                    self.left_channel(case, channel)?;
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
        self.fold_and_store(case, channel, entry.seq, verified)
            .map(Some)
    }

    /// Folds a verified act that arrived at `seq` of `channel` and stores it, the fold and
    /// the cursor in one transaction.
    pub(crate) fn fold_and_store(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        seq: u64,
        verified: VerifiedAct,
    ) -> Result<LogLine, ClientError> {
        let (line, new) = self.fold(case, seq, verified)?;
        self.local_mut(case)?.cursors.insert(channel.clone(), seq);
        self.persist(Some(case), vec![new], vec![], false)?;
        Ok(line)
    }

    /// Folds a verified act into the case's state (the genesis starts it).
    pub(crate) fn fold(
        &mut self,
        case: CaseId,
        seq: u64,
        verified: VerifiedAct,
    ) -> Result<(LogLine, NewAct), ClientError> {
        let history = StoreHistory::new(&self.store, case);
        let me = self.key();
        let local = self
            .cases
            .get_mut(&case)
            .ok_or_else(|| ClientError::UnknownCase(case.to_hex()))?;
        // A refused act changes nothing: `accept` checks before it applies.
        let folded = match &mut local.state {
            Some(state) => state.accept(&verified, &history),
            None => CaseState::genesis(&verified, Some(local.mediator))
                .map(|genesis| local.state = Some(genesis)),
        };
        if let Err(rejection) = folded {
            return Err(match self.equivocation_of(case, &verified, &rejection) {
                Some(alarm) => ClientError::Alarm(Box::new(alarm)),
                None => rejection.into(),
            });
        }
        let local = self.local_mut(case)?;
        match &verified.act.body {
            ActBody::MemberAdmitted { key, .. } if *key == me => {
                local.admitted_ms = Some(verified.act.at_ms);
            }
            ActBody::MembersChanged { .. } => {
                local
                    .seated_at
                    .insert(verified.act.channel.clone(), verified.act.index);
            }
            _ => {}
        }
        local.log_len += 1;
        let n = local.log_len;
        self.note_seen(case, &verified)?;
        let line = self.line(case, seq, &verified);
        Ok((
            line,
            NewAct {
                case,
                n,
                seq,
                act: verified,
            },
        ))
    }

    pub(crate) fn line(&self, case: CaseId, seq: u64, verified: &VerifiedAct) -> LogLine {
        let state = self.cases.get(&case).and_then(|l| l.state.as_ref());
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
    /// stream. Notices are only hints: everything is fetched and verified as in
    /// [`Client::sync`], and each act is stored as it is folded.
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
}
