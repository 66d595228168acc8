//! Writing to the hub, through the outbox. Before an entry leaves the machine it is written,
//! with the state that produced it (the MLS ratchet it advanced, a pending commit), to the
//! outbox slot of its channel; the slot is synced to disk while the request is in flight, and
//! the answer is acted on only once it is. Then:
//!
//! - the hub accepts it: the act is folded, a commit merged, the slot cleared, in one step;
//! - the hub refuses it (its answer is a refusal): the slot is cleared, a commit dropped;
//! - no answer (a crash, a lost reply, an unreachable hub): the slot stays. The next pull of
//!   the channel recognises the entry by its bytes if the hub holds it and completes the post
//!   instead of trying to decrypt its own MLS message; if another entry holds its place the
//!   slot is cleared; if the channel has not moved, the entry is sent again, unchanged.
//!
//! The mediator's multi-step operations (admitting and seating a newcomer, opening a channel,
//! opening direct talks) are written so that running them again finishes what a crash left
//! half done: each step first looks at what the record and the MLS group already hold.

use std::collections::BTreeSet;

use backchannel_core::act::{ChannelPurpose, SignedAct};
use backchannel_core::api::{Blob, EntryKind, MAX_MISSED, PostEntry};
use backchannel_core::{ActBody, CaseId, ChannelName, PublicKey};
use openmls::prelude::KeyPackage;
use serde::{Deserialize, Serialize};

use crate::client::{Client, LogLine, SyncReport, public_aad};
use crate::error::ClientError;
use crate::hub::now_ms;
use crate::mls::{self, Provider};
use crate::vault;

/// How often a post is retried when another member posted first.
pub(crate) const POST_ATTEMPTS: usize = 8;

/// An entry on its way to the hub, as the outbox keeps it.
#[derive(Serialize, Deserialize)]
pub(crate) struct Outgoing {
    pub(crate) entry: PostEntry,
    /// The act the entry carries, folded once the hub holds it (none for an MLS commit).
    pub(crate) act: Option<SignedAct>,
}

impl Client {
    /// What waits in the outbox slot of `channel`.
    pub(crate) fn outgoing(
        &self,
        case: CaseId,
        channel: &ChannelName,
    ) -> Result<Option<Outgoing>, ClientError> {
        self.store
            .outbox(&case, channel)?
            .map(|bytes| {
                serde_json::from_slice(&bytes).map_err(|e| ClientError::Home {
                    path: self.vault.dir().display().to_string(),
                    why: format!("an outbox entry is malformed: {e}"),
                })
            })
            .transpose()
    }

    /// The hub holds the outgoing entry at `seq`: completes the post in one step.
    pub(crate) fn complete_outgoing(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        seq: u64,
        outgoing: Outgoing,
    ) -> Result<Option<LogLine>, ClientError> {
        if outgoing.entry.kind == EntryKind::Commit {
            let mut group = self.group(case, channel)?;
            mls::settle(&self.provider, &mut group, true)?;
        }
        let (line, acts) = match outgoing.act {
            Some(signed) => {
                // Signed here and checked against the rules before it left.
                let verified = signed
                    .reread()
                    .map_err(|e| ClientError::Invalid(e.to_string()))?;
                let (line, new) = self.fold(case, seq, verified)?;
                (Some(line), vec![new])
            }
            None => (None, vec![]),
        };
        self.local_mut(case)?.cursors.insert(channel.clone(), seq);
        self.persist(Some(case), acts, vec![(case, channel.clone(), None)], false)?;
        Ok(line)
    }

    /// The hub does not hold the outgoing entry and never will: clears the slot and drops a
    /// pending commit.
    pub(crate) fn drop_outgoing(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        outgoing: &Outgoing,
    ) -> Result<(), ClientError> {
        if outgoing.entry.kind == EntryKind::Commit
            && let Ok(mut group) = self.group(case, channel)
        {
            mls::settle(&self.provider, &mut group, false)?;
        }
        tracing::info!(%channel, "an earlier post did not reach the hub and was dropped");
        self.persist(
            Some(case),
            vec![],
            vec![(case, channel.clone(), None)],
            false,
        )
    }

    /// Sends again what the outbox of every channel still holds (after a pull of each).
    pub(crate) async fn resend_outbox(&mut self, case: CaseId) -> Result<(), ClientError> {
        for channel in self.store.outbox_channels(&case)? {
            self.resend_pending(case, &channel).await?;
        }
        Ok(())
    }

    /// Sends again the entry in `channel`'s outbox slot, once a pull found the hub does not
    /// hold it; clears it if the channel has moved past its place.
    async fn resend_pending(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
    ) -> Result<(), ClientError> {
        let Some(outgoing) = self.outgoing(case, channel)? else {
            return Ok(());
        };
        if self.cursor(case, channel)? != outgoing.entry.after {
            return self.drop_outgoing(case, channel, &outgoing);
        }
        match self
            .hub(case)?
            .post_entry(case, &self.hub_channel(case, channel)?, &outgoing.entry)
            .await
        {
            Ok(seq) => self
                .complete_outgoing(case, channel, seq, outgoing)
                .map(drop),
            // Something took its place since the pull: the next pull tells what.
            Err(e) if e.is_stale_head() => Ok(()),
            Err(e) if e.hub_refused() => {
                self.drop_outgoing(case, channel, &outgoing)?;
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// A message entry carrying `plaintext` on `channel` after `after`: sealed under the case
    /// key on the public record, encrypted for the channel's MLS group elsewhere (advancing its
    /// ratchet, which the outbox then keeps).
    pub(crate) fn message_entry(
        &self,
        case: CaseId,
        channel: &ChannelName,
        after: u64,
        plaintext: &[u8],
    ) -> Result<PostEntry, ClientError> {
        let sealed = if channel.is_public() {
            vault::seal_with(&self.local(case)?.case_key, &public_aad(&case), plaintext)
        } else {
            let mut group = self.group(case, channel)?;
            mls::encrypt(&self.provider, &self.vault.identity, &mut group, plaintext)?
        };
        Ok(PostEntry {
            kind: EntryKind::Message,
            after,
            body: Blob(sealed),
            welcome: None,
            add: vec![],
            remove: vec![],
        })
    }

    /// Sends one entry through the outbox; returns the act's log line once the hub holds it.
    pub(crate) async fn send_entry(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        entry: PostEntry,
        act: Option<SignedAct>,
    ) -> Result<Option<LogLine>, ClientError> {
        let hub = self.hub(case)?;
        let outgoing = Outgoing { entry, act };
        let bytes =
            serde_json::to_vec(&outgoing).map_err(|e| ClientError::Invalid(e.to_string()))?;
        // The slot reaches the operating system before the entry leaves, so a killed process
        // finds it; it reaches the disk while the request is in flight, and the post is
        // completed only once both are done.
        self.persist(
            Some(case),
            vec![],
            vec![(case, channel.clone(), Some(bytes))],
            false,
        )?;
        self.fault("post:outbox-written")?;
        let synced = tokio::task::spawn_blocking(self.store.log_syncer());
        let id = self.hub_channel(case, channel)?;
        let answer = hub.post_entry(case, &id, &outgoing.entry).await;
        synced
            .await
            .map_err(std::io::Error::other)
            .flatten()
            .map_err(|e| ClientError::Home {
                path: self.vault.dir().display().to_string(),
                why: format!("its store cannot be synced to disk: {e}"),
            })?;
        match answer {
            Ok(seq) => {
                self.fault("post:accepted")?;
                self.complete_outgoing(case, channel, seq, outgoing)
            }
            Err(e) if e.hub_refused() => {
                self.drop_outgoing(case, channel, &outgoing)?;
                Err(e)
            }
            // No answer: the outcome is unknown, and the slot stays for the next command.
            Err(e) => Err(e),
        }
    }

    /// Reads `channel` up to the hub's head and settles its outbox slot, so that a new entry
    /// can take it.
    async fn settle_channel(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
    ) -> Result<bool, ClientError> {
        self.pull(case, channel, &mut SyncReport::default()).await?;
        self.resend_pending(case, channel).await?;
        Ok(self.outgoing(case, channel)?.is_none())
    }

    /// The act this participant would post next on `channel`, checked against the rules.
    pub fn check_next(
        &self,
        case: CaseId,
        channel: &ChannelName,
        body: &ActBody,
    ) -> Result<backchannel_core::Act, ClientError> {
        self.unalarmed(case)?;
        Ok(self.state(case)?.next_act(
            channel,
            self.key(),
            now_ms(),
            body.clone(),
            &self.history(case),
        )?)
    }

    /// Posts an act on a channel, after the head this participant last read, and retries while
    /// others post first: a `stale_head` refusal carries what was missed, which is verified
    /// and folded before the next attempt. The channel is read first only when its outbox
    /// slot still holds an earlier entry, or when more was missed than a refusal carries.
    pub async fn post(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        body: ActBody,
    ) -> Result<LogLine, ClientError> {
        self.post_checked(case, channel, body, None).await
    }

    /// [`Client::post`], given the act `check_next` made of `body` if the caller has one.
    async fn post_checked(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        body: ActBody,
        checked: Option<backchannel_core::Act>,
    ) -> Result<LogLine, ClientError> {
        // Refuse what the rules refuse before touching the hub; say so when a colleague
        // already did it for the party.
        let mut checked = match checked {
            Some(act) => act,
            None => match self.check_next(case, channel, &body) {
                Ok(act) => act,
                Err(refused) => return Err(self.already_done(case, &body).unwrap_or(refused)),
            },
        };
        let mut must_read = self.outgoing(case, channel)?.is_some();
        let mut current = !must_read;
        for _ in 0..POST_ATTEMPTS {
            if must_read && !self.settle_channel(case, channel).await? {
                continue;
            }
            let after = self.cursor(case, channel)?;
            // The act checked above holds while nothing has been read since.
            if !std::mem::take(&mut current) {
                checked = self.check_next(case, channel, &body)?;
            }
            let verified = checked.sign(&self.vault.identity.key);
            let entry = self.message_entry(case, channel, after, &verified.signed.to_bytes())?;
            match self
                .send_entry(case, channel, entry, Some(verified.signed))
                .await
            {
                Ok(Some(line)) => return Ok(line),
                Ok(None) => {
                    return Err(ClientError::Invalid("the post carried no act".into()));
                }
                Err(ClientError::Hub { code, missed, .. }) if code == "stale_head" => {
                    must_read = missed.len() >= MAX_MISSED;
                    self.absorb(case, channel, missed, &mut SyncReport::default())?;
                }
                Err(e) => return Err(e),
            }
        }
        Err(ClientError::Invalid(format!(
            "channel {channel} is too busy: gave up after {POST_ATTEMPTS} attempts"
        )))
    }

    /// Sends a text message on a channel (on `public`, a public statement). In steady state
    /// this is one request (the post); behind the channel's head, two.
    pub async fn send(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        text: &str,
    ) -> Result<LogLine, ClientError> {
        let body = ActBody::Message {
            text: text.to_owned(),
        };
        let checked = if self.local(case)?.cursors.contains_key(channel) {
            self.check_next(case, channel, &body).ok()
        } else {
            None
        };
        if checked.is_none() {
            self.sync(case).await?;
        }
        self.post_checked(case, channel, body, checked).await
    }

    /// Posts a commit on an MLS channel through the outbox; it takes effect here only once
    /// the hub holds it.
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
        if !self.settle_channel(case, channel).await? {
            return Err(ClientError::Invalid(format!(
                "channel {channel} is busy: an earlier entry is still on its way"
            )));
        }
        let after = self.cursor(case, channel)?;
        let mut group = self.group(case, channel)?;
        let (commit, welcome) = build(&self.provider, &self.vault.identity, &mut group)?;
        let entry = PostEntry {
            kind: EntryKind::Commit,
            after,
            body: Blob(commit),
            welcome: welcome.map(Blob),
            add,
            remove,
        };
        self.send_entry(case, channel, entry, None).await.map(drop)
    }

    // --- the mediator's multi-step operations ----------------------------------------------

    /// Seats a party's participant in that party's bilateral channel, opening it if needed;
    /// does nothing if it is seated and named already.
    pub(crate) async fn seat_in_bilateral(
        &mut self,
        case: CaseId,
        party: &str,
        key: PublicKey,
    ) -> Result<(), ClientError> {
        let existing = self.state(case)?.bilateral_channel(party).cloned();
        let (channel, claimed) = match existing {
            Some(channel) => {
                let claimed = self.claim_key_packages(case, &channel, &[key]).await?;
                (channel, claimed)
            }
            None => {
                let channel = ChannelName::for_party(party).ok_or_else(|| {
                    ClientError::Invalid(format!(
                        "the party name {party:?} has no letters or digits"
                    ))
                })?;
                // Claimed before the channel is announced: a missing key package leaves no
                // channel half opened.
                let claimed = self.claim_key_packages(case, &channel, &[key]).await?;
                let purpose = ChannelPurpose::Bilateral {
                    party: party.to_owned(),
                };
                self.open_channel(case, &channel, purpose).await?;
                self.fault("seat:opened")?;
                (channel, claimed)
            }
        };
        self.seat(case, &channel, claimed).await
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
        self.check_next(case, &ChannelName::public(), &opened)?;
        let id = self.hub_channel(case, channel)?;
        match self.hub(case)?.create_channel(case, &id).await {
            Ok(_) => {}
            // Created by an earlier attempt that did not finish.
            Err(ClientError::Hub { code, .. }) if code == "channel_exists" => {}
            Err(e) => return Err(e),
        }
        if mls::load_group(&self.provider, &case, &id)?.is_none() {
            mls::create_group(&self.provider, &self.vault.identity, &case, &id)?;
        }
        self.local_mut(case)?
            .cursors
            .entry(channel.clone())
            .or_insert(0);
        self.post(case, &ChannelName::public(), opened).await?;
        Ok(())
    }

    /// As mediator: makes `keys` members of a discreet channel — one commit adding those not
    /// yet in its MLS group (their key packages claimed from the hub and checked to be
    /// theirs) — and names the members on the channel if its record differs from the group.
    pub(crate) async fn ensure_members(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        keys: &[PublicKey],
    ) -> Result<(), ClientError> {
        let claimed = self.claim_key_packages(case, channel, keys).await?;
        self.seat(case, channel, claimed).await
    }

    /// As mediator: claims from the hub, and checks to be theirs, the key packages of those
    /// of `keys` not yet in `channel`'s MLS group (all of them if it has no group yet).
    pub(crate) async fn claim_key_packages(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        keys: &[PublicKey],
    ) -> Result<Vec<(PublicKey, KeyPackage)>, ClientError> {
        let present = match self.group(case, channel) {
            Ok(group) => mls::member_keys(&group)?,
            Err(ClientError::NotInChannel(_)) => BTreeSet::new(),
            Err(e) => return Err(e),
        };
        let mut claimed = Vec::new();
        for key in keys.iter().filter(|k| !present.contains(k)) {
            let bytes = self.hub(case)?.claim_key_package(case, *key).await?;
            let package = mls::validate_key_package(&self.provider, &bytes, *key)?;
            claimed.push((*key, package));
        }
        Ok(claimed)
    }

    /// As mediator: adds the participants whose key packages were `claimed` to `channel`'s
    /// MLS group in one commit, then names the channel's members where they are not named.
    pub(crate) async fn seat(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
        claimed: Vec<(PublicKey, KeyPackage)>,
    ) -> Result<(), ClientError> {
        if !claimed.is_empty() {
            let (missing, key_packages): (Vec<PublicKey>, Vec<KeyPackage>) =
                claimed.into_iter().unzip();
            self.commit(
                case,
                channel,
                |provider, identity, group| {
                    let (commit, welcome) = mls::add(provider, identity, group, &key_packages)?;
                    Ok((commit, Some(welcome)))
                },
                missing,
                vec![],
            )
            .await?;
            self.fault("seat:added")?;
        }
        self.announce_members(case, channel).await?;
        self.share_history(case, channel).await
    }

    /// Names a channel's members on the channel, if its record differs from the MLS group,
    /// then on the public record, if what it last said differs: so that everyone knows who
    /// sits where. Each step looks first at what is recorded, so running it again finishes
    /// what a crash left half done.
    async fn announce_members(
        &mut self,
        case: CaseId,
        channel: &ChannelName,
    ) -> Result<(), ClientError> {
        let group = self.group(case, channel)?;
        let members = mls::member_keys(&group)?;
        let recorded = self.state(case)?.channels.get(channel).cloned();
        if recorded.as_ref().map(|c| &c.members) != Some(&members) {
            let body = ActBody::MembersChanged {
                members: members.iter().copied().collect(),
            };
            self.post(case, channel, body).await?;
            self.fault("seat:members-changed")?;
        }
        if recorded.as_ref().map(|c| &c.seated) != Some(&members) {
            let body = ActBody::ChannelSeated {
                channel: channel.clone(),
                members: members.into_iter().collect(),
            };
            self.post(case, &ChannelName::public(), body).await?;
        }
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
}
