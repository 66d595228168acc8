//! The case's witnesses as a participant uses them (`backchannel_core::witness`): the
//! mediator registers a new case with each and allows every admitted participant to send it
//! heads; every participant, at the end of each sync, sends each witness the public record's
//! hashes it has not yet agreed on and compares the witness's newest co-signed head with its
//! own copy. A witness that holds another act at a position is proof of a fork
//! (`equivocation`); one that has co-signed more than the hub serves here, after reading the
//! public record again, is proof of withholding (`withheld`). Either is an alarm that stops
//! the case (`alarm`). A witness that cannot be reached, or has not yet been told of this
//! participant, is logged and skipped: a witness adds proof, never a way to stop a case.

use backchannel_core::act::{Digest32, Head, Witness};
use backchannel_core::witness::{Cosigned, MAX_WITNESS_HASHES, MAX_WITNESS_KEYS, WitnessHeads};
use backchannel_core::{CaseId, ChannelName, PublicKey};

use crate::alarm::Alarm;
use crate::client::{Client, SyncReport};
use crate::error::ClientError;

/// The public record's head as this participant holds it, with its code to read out.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Fingerprint {
    pub case: CaseId,
    pub index: u64,
    pub hash: Digest32,
    pub code: String,
}

impl Client {
    /// The code of the public record's head in this copy (`case fingerprint`).
    pub fn fingerprint(&self, case: CaseId) -> Result<Fingerprint, ClientError> {
        let public = self
            .state(case)?
            .channels
            .get(&ChannelName::public())
            .ok_or_else(|| ClientError::Invalid("the public record is not held here".into()))?;
        Ok(Fingerprint {
            case,
            index: public.length,
            hash: public.head,
            code: backchannel_core::witness::fingerprint(&case, public.length, &public.head),
        })
    }

    /// As the mediator of a case about to be opened: each witness's key, with the case
    /// registered there (the first to register a case is its mediator at that witness).
    pub(crate) async fn register_witnesses(
        &self,
        case: CaseId,
        urls: &[String],
    ) -> Result<Vec<Witness>, ClientError> {
        let mut witnesses = Vec::with_capacity(urls.len());
        for url in urls {
            let witness = self.hub_at(url)?;
            let key = witness.witness_register(case).await?;
            witnesses.push(Witness {
                url: witness.url().to_owned(),
                key,
            });
        }
        Ok(witnesses)
    }

    /// As the mediator: allows every participant not yet allowed to send each witness heads.
    pub(crate) async fn admit_to_witnesses(&mut self, case: CaseId) -> Result<(), ClientError> {
        let state = self.state(case)?;
        let witnesses = state.witnesses.clone();
        let local = self.local(case)?;
        let new: Vec<PublicKey> = state
            .participants
            .keys()
            .filter(|k| **k != state.mediator && !local.witness_submitters.contains(k))
            .copied()
            .collect();
        if witnesses.is_empty() || new.is_empty() {
            return Ok(());
        }
        for witness in &witnesses {
            let hub = self.hub_at(&witness.url)?;
            for keys in new.chunks(MAX_WITNESS_KEYS) {
                if let Err(e) = hub.witness_submitters(case, keys.to_vec()).await {
                    tracing::warn!(witness = %witness.url, "the witness was not told of new participants: {e}");
                    return Ok(());
                }
            }
        }
        self.local_mut(case)?.witness_submitters.extend(new);
        self.persist(Some(case), vec![], vec![], false)
    }

    /// Sends each witness the public record's heads and compares its newest with this copy.
    pub(crate) async fn check_witnesses(&mut self, case: CaseId) -> Result<(), ClientError> {
        let state = self.state(case)?;
        if !state.participants.contains_key(&self.key()) {
            // A joiner waiting for admission: the witness does not know it yet.
            return Ok(());
        }
        let witnesses = state.witnesses.clone();
        for witness in witnesses {
            match self.check_witness(case, &witness).await {
                Ok(()) => {}
                Err(ClientError::Alarm(alarm)) => return Err(self.raise(case, *alarm)),
                Err(e @ ClientError::Home { .. }) => return Err(e),
                Err(e) => {
                    tracing::warn!(witness = %witness.url, "the witness was not consulted: {e}")
                }
            }
        }
        Ok(())
    }

    async fn check_witness(&mut self, case: CaseId, witness: &Witness) -> Result<(), ClientError> {
        let hub = self.hub_at(&witness.url)?;
        let public = ChannelName::public();
        let mut from = self
            .local(case)?
            .witnessed
            .get(&witness.url)
            .map_or(0, |c| c.index);
        let mut retried = false;
        loop {
            let hashes = self
                .store
                .hashes_from(&case, &public, from, MAX_WITNESS_HASHES)?;
            let sent = hashes.len();
            let answer = hub
                .witness_heads(case, &WitnessHeads { from, hashes })
                .await;
            let head = match answer {
                Ok(head) => head,
                Err(ClientError::Hub {
                    code, witnessed, ..
                }) if code == "witness_fork" => {
                    let Some(theirs) = witnessed.filter(|c| self.genuine(case, witness, c)) else {
                        return Err(self.unsigned(witness));
                    };
                    return Err(self.witness_fork(case, witness, &theirs));
                }
                Err(ClientError::Hub { code, .. }) if code == "witness_gap" && !retried => {
                    // The witness holds less than it once agreed to: send it all again.
                    retried = true;
                    from = 0;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if !self.genuine(case, witness, &head) {
                return Err(self.unsigned(witness));
            }
            if sent == MAX_WITNESS_HASHES {
                from += sent as u64;
                continue;
            }
            return self.compare_witnessed(case, witness, head).await;
        }
    }

    /// Whether a witness's statement is about this case and signed with its key.
    fn genuine(&self, case: CaseId, witness: &Witness, head: &Cosigned) -> bool {
        head.case == case && head.verify(&witness.key)
    }

    fn unsigned(&self, witness: &Witness) -> ClientError {
        ClientError::Invalid(format!(
            "the witness at {} answered with a head it did not sign",
            witness.url
        ))
    }

    /// Compares a witness's newest head with this copy; reads the public record again when
    /// the witness is ahead, and raises `withheld` if it still is.
    async fn compare_witnessed(
        &mut self,
        case: CaseId,
        witness: &Witness,
        head: Cosigned,
    ) -> Result<(), ClientError> {
        let public = ChannelName::public();
        if head.index > self.state(case)?.held(&public) {
            self.pull(case, &public, &mut SyncReport::default()).await?;
        }
        let held = self.state(case)?.held(&public);
        if head.index > held {
            let by = format!("the witness at {}", witness.url);
            let seen = Head {
                channel: public,
                index: head.index,
                hash: head.hash,
            };
            let alarm = Alarm::withheld(&seen, held, &by, vec![]).with_witness(head);
            return Err(ClientError::Alarm(Box::new(alarm)));
        }
        if head.index > 0 && self.store.hash_at(&case, &public, head.index)? != Some(head.hash) {
            return Err(self.witness_fork(case, witness, &head));
        }
        self.local_mut(case)?
            .witnessed
            .insert(witness.url.clone(), head);
        self.persist(Some(case), vec![], vec![], false)
    }

    /// The alarm for a witness that holds another act than this copy at a position.
    fn witness_fork(&self, case: CaseId, witness: &Witness, theirs: &Cosigned) -> ClientError {
        let public = ChannelName::public();
        let own = self.act_at(case, &public, theirs.index).ok().flatten();
        let ours = own.as_ref().map_or(Digest32::ZERO, |a| a.hash);
        let by = format!("the witness at {}", witness.url);
        let evidence = own.into_iter().map(|a| a.signed).collect();
        let alarm = Alarm::equivocation(&public, theirs.index, theirs.hash, ours, &by, evidence)
            .with_witness(theirs.clone());
        ClientError::Alarm(Box::new(alarm))
    }
}
