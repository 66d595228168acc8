//! Admission: who sits at the table, and who decided. The mediator issues invite codes (each
//! may expire, and can be revoked until spent); whoever spends one joins at the hub, and waits
//! there until the mediator admits it, by an act on the public record that every participant
//! verifies. An invite issued with auto-admit skips the wait: its joiner is admitted at the
//! mediator's next sync (scripts and the demo use it).
//!
//! The hub reports who joined, with which invite (by its code's hash) and the display name the
//! joiner sealed under the case key; it is never told which party an invite is for, nor any
//! name. The mediator admits only against an invite it issued, with that invite's role and
//! party from its own record, so a lying hub can neither promote anyone nor seat a stranger
//! under an invite meant for someone else; a sealed name that does not open, or that is not
//! a fit name, is replaced by a neutral one and never reaches the record.

use backchannel_core::api::{CreateInvite, InviteRevoked, MemberRole, RevokeInvite};
use backchannel_core::{ActBody, CaseId, ChannelName, PublicKey, Role};
use rand::RngCore;
use serde::Serialize;

use crate::client::{Client, IssuedInvite, SyncReport};
use crate::error::ClientError;
use crate::invite::{InviteCode, InviteRole};
use crate::vault;

/// How an invite is issued.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InviteOptions {
    /// When the code stops being accepted (ms since the epoch); `None`: never.
    pub expires_ms: Option<u64>,
    /// Admit whoever spends it at the next sync, without `case admit`.
    pub auto_admit: bool,
    /// Its joiner heads its party's delegation (a party invite only).
    pub head: bool,
    /// Its joiner, seated in a channel that began before, is not handed the channel's
    /// earlier acts (`--history none`; by default it is).
    pub no_history: bool,
}

/// An invite as issued: the code to hand over, and the id that names it in lists and
/// revocations (the first twelve hex digits of the code's hash, which the hub also knows).
#[derive(Clone, Debug)]
pub struct IssuedCode {
    pub code: InviteCode,
    pub id: String,
    pub expires_ms: Option<u64>,
    pub auto_admit: bool,
}

/// An invite as the mediator's own record has it, for lists: never its code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InviteSummary {
    /// The id that names it in revocations.
    pub id: String,
    /// `party` or `observer`.
    pub role: &'static str,
    pub party: Option<String>,
    pub auto_admit: bool,
    pub expires_ms: Option<u64>,
    pub revoked: bool,
    /// The participant admitted with it, once admitted.
    pub used_by: Option<PublicKey>,
}

/// Someone who spent an invite and waits for the mediator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PendingJoiner {
    pub key: PublicKey,
    /// The safety number to compare with the joiner's own `id show`, out of band.
    pub fingerprint: String,
    pub name: String,
    /// `party` or `observer`.
    pub role: String,
    pub party: Option<String>,
    pub joined_ms: u64,
}

/// Whom `case admit` admits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Every joiner waiting.
    All,
    /// The joiner whose key starts with these hex digits (at least four).
    Key(String),
}

/// Where this participant stands with the mediator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Admission {
    /// `waiting` or `admitted`.
    pub status: &'static str,
    /// The mediator's name.
    pub mediator: String,
    /// When the admitting act was made, where this home saw it.
    pub at_ms: Option<u64>,
}

/// Invites stored by earlier versions admitted their joiners unseen.
pub(crate) fn earlier_default() -> bool {
    true
}

/// The invite's id: how lists and revocations name it.
fn invite_id(code_hash: &str) -> String {
    code_hash.chars().take(12).collect()
}

fn unmatched(code: &'static str, message: String) -> ClientError {
    ClientError::Unmatched { code, message }
}

impl Client {
    /// Issues a one-time invite code (mediator only) that never expires and whose joiner is
    /// admitted at the next sync: what scripts and tests want. See [`Client::invite_with`].
    pub async fn invite(
        &mut self,
        case: CaseId,
        role: InviteRole,
    ) -> Result<InviteCode, ClientError> {
        let options = InviteOptions {
            auto_admit: true,
            ..InviteOptions::default()
        };
        Ok(self.invite_with(case, role, options).await?.code)
    }

    /// Issues a one-time invite code (mediator only).
    pub async fn invite_with(
        &mut self,
        case: CaseId,
        role: InviteRole,
        options: InviteOptions,
    ) -> Result<IssuedCode, ClientError> {
        let state = self.state(case)?;
        if state.mediator != self.key() {
            return Err(backchannel_core::Rejection::MediatorOnly("invite participants").into());
        }
        let (role, party) = match role {
            InviteRole::Party(party) => {
                vault::check_name(&party)?;
                if ChannelName::for_party(&party).is_none() {
                    return Err(ClientError::Invalid(format!(
                        "the party name {party:?} has no letters or digits"
                    )));
                }
                (MemberRole::Party, Some(party))
            }
            InviteRole::Observer if options.head => {
                return Err(ClientError::Invalid(
                    "only a party's delegate can head its delegation".into(),
                ));
            }
            InviteRole::Observer => (MemberRole::Observer, None),
        };
        let mut secret = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut secret);
        let code_hash = InviteCode::secret_hash(&secret);
        let request = CreateInvite {
            code_hash: code_hash.clone(),
            role,
            expires_ms: options.expires_ms,
        };
        // Recorded before the hub hears of it, so that whoever redeems it is recognised even
        // if this process dies before the hub's answer.
        self.local_mut(case)?.invites.push(IssuedInvite {
            code_hash: code_hash.clone(),
            role,
            party,
            used_by: None,
            auto_admit: options.auto_admit,
            expires_ms: options.expires_ms,
            revoked: false,
            head: options.head,
            no_history: options.no_history,
        });
        self.persist(Some(case), vec![], vec![], true)?;
        self.hub(case)?.create_invite(case, &request).await?;
        let local = self.local(case)?;
        Ok(IssuedCode {
            code: InviteCode {
                hub: local.hub.clone(),
                case,
                mediator: local.mediator,
                secret,
                case_key: local.case_key,
            },
            id: invite_id(&code_hash),
            expires_ms: options.expires_ms,
            auto_admit: options.auto_admit,
        })
    }

    /// The invites this mediator issued in `case`, oldest first (none for anyone else).
    pub fn invites(&self, case: CaseId) -> Result<Vec<InviteSummary>, ClientError> {
        Ok(self
            .local(case)?
            .invites
            .iter()
            .map(|i| InviteSummary {
                id: invite_id(&i.code_hash),
                role: match i.role {
                    MemberRole::Observer => "observer",
                    _ => "party",
                },
                party: i.party.clone(),
                auto_admit: i.auto_admit,
                expires_ms: i.expires_ms,
                revoked: i.revoked,
                used_by: i.used_by,
            })
            .collect())
    }

    /// Revokes an invite this mediator issued, named by its code or its id (or a prefix of
    /// it, six hex digits at least); returns the invite's id. A spent invite cannot be
    /// revoked (`invite_used`): remove its joiner instead.
    pub async fn revoke_invite(
        &mut self,
        case: CaseId,
        code_or_id: &str,
    ) -> Result<(String, InviteRevoked), ClientError> {
        let wanted = code_or_id.trim();
        let code_hash = match InviteCode::decode(wanted) {
            Ok(code) => InviteCode::secret_hash(&code.secret),
            Err(_) => {
                let prefix = wanted.to_ascii_lowercase();
                if prefix.len() < 6 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(unmatched(
                        "unknown_invite",
                        format!("{wanted:?} is neither an invite code nor an invite id"),
                    ));
                }
                let matches: Vec<&IssuedInvite> = self
                    .local(case)?
                    .invites
                    .iter()
                    .filter(|i| i.code_hash.starts_with(&prefix))
                    .collect();
                match matches.as_slice() {
                    [one] => one.code_hash.clone(),
                    [] => {
                        return Err(unmatched(
                            "unknown_invite",
                            format!("no invite issued here has the id {wanted}"),
                        ));
                    }
                    _ => {
                        return Err(unmatched(
                            "ambiguous_invite",
                            format!(
                                "several invites have ids starting with {wanted}: give more digits"
                            ),
                        ));
                    }
                }
            }
        };
        let revoked = self
            .hub(case)?
            .revoke_invite(
                case,
                &RevokeInvite {
                    code_hash: code_hash.clone(),
                },
            )
            .await?;
        if let Some(invite) = self
            .local_mut(case)?
            .invites
            .iter_mut()
            .find(|i| i.code_hash == code_hash)
        {
            invite.revoked = true;
        }
        self.persist(Some(case), vec![], vec![], false)?;
        Ok((invite_id(&code_hash), revoked))
    }

    /// As mediator: syncs, then admits the joiners `which` names among those waiting, and
    /// seats them. Refused when it names nobody waiting (`no_pending_joiner`) or several
    /// (`ambiguous_key`).
    pub async fn admit(&mut self, case: CaseId, which: Admit) -> Result<SyncReport, ClientError> {
        if self.state(case)?.mediator != self.key() {
            return Err(backchannel_core::Rejection::MediatorOnly("admit participants").into());
        }
        let mut report = self.sync(case).await?;
        let chosen: Vec<PublicKey> = match &which {
            Admit::All => report.pending.iter().map(|p| p.key).collect(),
            Admit::Key(prefix) => {
                let prefix = prefix.trim().to_ascii_lowercase();
                if prefix.len() < 4 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(unmatched(
                        "invalid_key",
                        format!(
                            "{prefix:?} is not a key or a prefix of one (four hex digits at least)"
                        ),
                    ));
                }
                let hits: Vec<PublicKey> = report
                    .pending
                    .iter()
                    .filter(|p| hex::encode(p.key.0).starts_with(&prefix))
                    .map(|p| p.key)
                    .collect();
                if hits.len() > 1 {
                    return Err(unmatched(
                        "ambiguous_key",
                        format!(
                            "{} joiners waiting have keys starting with {prefix}: give more digits",
                            hits.len()
                        ),
                    ));
                }
                hits
            }
        };
        if chosen.is_empty() {
            return Err(unmatched(
                "no_pending_joiner",
                match which {
                    Admit::All => "nobody is waiting to be admitted".to_owned(),
                    Admit::Key(prefix) => {
                        format!("nobody waiting to be admitted has a key starting with {prefix}")
                    }
                },
            ));
        }
        let mut admitted = SyncReport::default();
        self.admit_newcomers(case, &mut admitted, &chosen).await?;
        report.admitted.extend(admitted.admitted);
        report.pending = admitted.pending;
        Ok(report)
    }

    /// Where this participant stands: admitted (and when), or waiting for the mediator.
    pub fn admission(&self, case: CaseId) -> Result<Admission, ClientError> {
        let state = self.state(case)?;
        let admitted = state.participants.contains_key(&self.key());
        Ok(Admission {
            status: if admitted { "admitted" } else { "waiting" },
            mediator: state.name_of(&state.mediator),
            at_ms: self.local(case)?.admitted_ms.filter(|_| admitted),
        })
    }

    /// As mediator: admits the joiners the hub reports who may be admitted now (those of
    /// auto-admit invites, those in `approved`, and those an earlier, interrupted admission
    /// chose), lists the others in `report.pending`, then seats every party's participant in
    /// its bilateral channel (finishing any seating an earlier process left half done).
    pub(crate) async fn admit_newcomers(
        &mut self,
        case: CaseId,
        report: &mut SyncReport,
        approved: &[PublicKey],
    ) -> Result<(), ClientError> {
        let hub = self.hub(case)?;
        let me = self.key();
        for member in hub.members(case).await? {
            if member.key == me || self.state(case)?.participants.contains_key(&member.key) {
                continue;
            }
            let local = self.local(case)?;
            // The invite the hub says it spent, as this mediator's own record has it.
            let found = member.invite.as_deref().and_then(|hash| {
                local.invites.iter().position(|i| {
                    i.code_hash == hash
                        && i.role == member.role
                        && i.used_by.is_none_or(|key| key == member.key)
                })
            });
            let Some(index) = found else {
                tracing::warn!(key = %member.key.short(), "a member the hub reports matches no invite issued here");
                continue;
            };
            let invite = &local.invites[index];
            let role = match (&invite.role, &invite.party) {
                (MemberRole::Party, Some(party)) => Role::Party {
                    party: party.clone(),
                },
                (MemberRole::Observer, None) => Role::Observer,
                _ => continue,
            };
            let name = self.joiner_name(case, &member)?;
            // An invite already matched to this member is an admission that a crash or a lost
            // place in the channel left unposted: it is made again.
            let earlier = invite.used_by == Some(member.key);
            if !earlier
                && (invite.revoked || !(invite.auto_admit || approved.contains(&member.key)))
            {
                if !invite.revoked {
                    report.pending.push(PendingJoiner {
                        key: member.key,
                        fingerprint: member.key.fingerprint(),
                        name,
                        role: match role {
                            Role::Observer => "observer",
                            _ => "party",
                        }
                        .to_owned(),
                        party: role.party().map(str::to_owned),
                        joined_ms: member.joined_ms,
                    });
                }
                continue;
            }
            self.admit_one(case, report, member.key, name, role, index)
                .await?;
        }
        let parties: Vec<(String, PublicKey)> = self
            .state(case)?
            .participants
            .iter()
            .filter_map(|(key, p)| p.role.party().map(|party| (party.to_owned(), *key)))
            .collect();
        for (party, key) in parties {
            self.seat_in_bilateral(case, &party, key).await?;
        }
        Ok(())
    }

    /// Matches the joiner `key` to the invite at `index` and posts its admission.
    async fn admit_one(
        &mut self,
        case: CaseId,
        report: &mut SyncReport,
        key: PublicKey,
        name: String,
        role: Role,
        index: usize,
    ) -> Result<(), ClientError> {
        let mut head = false;
        if let Some(invite) = self.local_mut(case)?.invites.get_mut(index) {
            invite.used_by = Some(key);
            head = invite.head;
        }
        report.admitted.push(format!("{name} as {}", role.label()));
        let admit = ActBody::MemberAdmitted {
            key,
            name,
            role,
            head,
        };
        self.post(case, &ChannelName::public(), admit).await?;
        self.fault("admit:admitted")
    }

    /// The display name a joiner sealed under the case key; a neutral one (`participant` and
    /// the key's first digits) when it does not open or is not a fit name, which is logged.
    fn joiner_name(
        &self,
        case: CaseId,
        member: &backchannel_core::api::Member,
    ) -> Result<String, ClientError> {
        let aad = crate::client::name_aad(&case, &member.key);
        let case_key = self.local(case)?.case_key;
        let opened = member
            .sealed_name
            .as_ref()
            .and_then(|sealed| vault::open_with(&case_key, &aad, &sealed.0))
            .and_then(|bytes| String::from_utf8(bytes).ok());
        Ok(match opened {
            Some(name) if vault::check_name(&name).is_ok() => name,
            _ => {
                tracing::warn!(key = %member.key.short(), "a joiner's sealed name does not open or is not a fit name");
                format!("participant {}", member.key.short())
            }
        })
    }
}

/// What an act binding its party does, and what it applies to: two acts with the same answer
/// do the same thing for the party (`None`: an act a colleague cannot have done already).
fn binding_target(body: &ActBody) -> Option<(String, String)> {
    match body {
        ActBody::CharterAccepted { proposal } => {
            Some(("accepted the charter".into(), hex::encode(proposal.0)))
        }
        ActBody::AgendaConsented { item } => {
            Some((format!("consented to agenda item {item}"), item.to_string()))
        }
        ActBody::DirectTalksConsented { channel } => Some((
            format!("consented to direct talks in {channel}"),
            channel.to_string(),
        )),
        ActBody::PlanAccepted { proposal } => Some((
            "accepted the implementation plan".into(),
            hex::encode(proposal.0),
        )),
        ActBody::DraftAnswered { version, .. } => Some((
            format!("answered draft version {version}"),
            version.to_string(),
        )),
        _ => None,
    }
}

impl Client {
    /// When `body` binds this participant's party and a colleague of the same delegation
    /// already did it: who, and when. Looks only at the procedure's acts, which are few.
    pub(crate) fn already_done(&self, case: CaseId, body: &ActBody) -> Option<ClientError> {
        let (what, target) = binding_target(body)?;
        let state = self.state(case).ok()?;
        let party = state
            .participants
            .get(&self.key())?
            .role
            .party()?
            .to_owned();
        let filter = crate::store::Filter {
            procedural: true,
            ..crate::store::Filter::default()
        };
        let earlier = self
            .stored_acts(case, filter)
            .ok()?
            .into_iter()
            .find(|stored| {
                let act = &stored.act.act;
                act.body.kind() == body.kind()
                    && binding_target(&act.body).is_some_and(|(_, t)| t == target)
                    && state
                        .participants
                        .get(&act.author)
                        .and_then(|p| p.role.party())
                        == Some(party.as_str())
            })?;
        Some(ClientError::AlreadyDone {
            party,
            what,
            by: state.name_of(&earlier.act.act.author),
            at_ms: earlier.act.act.at_ms,
        })
    }
}
