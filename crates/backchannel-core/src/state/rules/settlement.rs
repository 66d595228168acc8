//! The rules of the settlement: direct talks, the agreement and its signatures and
//! guarantees, parallel declarations, and checkpoints.

use std::collections::BTreeSet;

use super::{Ctx, check_text};
use crate::act::{ActBody, Digest32, Head, Role, SignedAct};
use crate::ids::ChannelName;
use crate::procedure::{Agreement, Declaration};
use crate::state::{Rejection, check_label};

impl Ctx<'_> {
    pub(super) fn direct_talks_proposed(&self, channel: &ChannelName) -> Result<(), Rejection> {
        let state = self.state;
        let procedure = &state.procedure;
        if channel.is_public()
            || state.channels.contains_key(channel)
            || procedure.direct.contains_key(channel)
        {
            return Err(Rejection::ChannelExists(channel.clone()));
        }
        Ok(())
    }

    pub(super) fn direct_talks_consented(&self, channel: &ChannelName) -> Result<(), Rejection> {
        let procedure = &self.state.procedure;
        let party = self.author_party()?;
        self.binding(party, "consent to direct talks")?;
        match procedure.direct.get(channel) {
            Some(p) if p.consents.contains(party) => Err(Rejection::Conflict(format!(
                "{party} has already consented"
            ))),
            Some(_) => Ok(()),
            None => Err(Rejection::Unknown(format!(
                "no direct talks were proposed in {channel}"
            ))),
        }
    }

    pub(super) fn agreement_tabled(&self, agreement: &Agreement) -> Result<(), Rejection> {
        let state = self.state;
        let procedure = &state.procedure;
        // Order-independent by the author's `seen` public head: a tabling made after the
        // publication is refused; one made before it, which a reader of the public record
        // first meets after it, is accepted and changes nothing (`CaseState::apply`).
        let seen = self.seen_public();
        if procedure
            .agreement
            .as_ref()
            .is_some_and(|a| a.published_before(seen))
        {
            return Err(Rejection::Conflict(
                "an agreement is already published".into(),
            ));
        }
        check_label("the agreement's title", &agreement.title)?;
        if agreement.clauses.is_empty() {
            return Err(Rejection::Invalid(
                "an agreement has at least one clause".into(),
            ));
        }
        for guarantor in &agreement.guarantors {
            if !matches!(
                state.participants.get(guarantor).map(|p| &p.role),
                Some(Role::Observer)
            ) {
                return Err(Rejection::Invalid("guarantors are observers".into()));
            }
        }
        match &agreement.plan {
            Some(plan) => self.plan_fits_the_case(plan),
            None => Ok(()),
        }
    }

    pub(super) fn agreement_signed(&self, agreement: &Digest32) -> Result<(), Rejection> {
        let procedure = &self.state.procedure;
        let act = self.act;
        if let Some(party) = self.party {
            self.binding(party, "sign the agreement")?;
        }
        // Order-independent by the author's `seen` public head and the texts tabled: a
        // signature made before the publication, which a reader of the public record first
        // meets after it, is accepted (the publication embeds it, or it changes nothing), and
        // so is a signature of an earlier text read after a later one was tabled elsewhere.
        let Some(a) = procedure
            .agreement
            .as_ref()
            .filter(|a| a.hash == *agreement || a.tabled.contains(agreement))
        else {
            if self.unseen_past() {
                return Ok(());
            }
            return Err(Rejection::Unknown(
                "no agreement with that hash is on the table".into(),
            ));
        };
        let signed = a.hash == *agreement && a.signatures.contains_key(&act.author);
        if a.published_before(self.seen_public()) && !signed {
            Err(Rejection::Conflict(
                "the agreement is already published".into(),
            ))
        } else if !a.published && signed {
            Err(Rejection::Conflict("already signed".into()))
        } else {
            Ok(())
        }
    }

    pub(super) fn agreement_published(
        &self,
        agreement: &Agreement,
        signatures: &[SignedAct],
    ) -> Result<(), Rejection> {
        let state = self.state;
        let procedure = &state.procedure;
        if procedure.agreement.as_ref().is_some_and(|a| a.published) {
            return Err(Rejection::Conflict(
                "an agreement is already published".into(),
            ));
        }
        let hash = agreement.hash();
        let mut signed_parties = BTreeSet::new();
        let mut witnessed = false;
        for signed in signatures {
            let verified = self.embedded(signed)?;
            if verified.act.body != (ActBody::AgreementSigned { agreement: hash }) {
                return Err(Rejection::BadEmbedded(
                    "a signature is not over this agreement".into(),
                ));
            }
            if verified.act.author == state.mediator {
                witnessed = true;
            } else {
                signed_parties.insert(self.embedded_party(&verified)?);
            }
        }
        let missing: Vec<String> = state
            .parties()
            .difference(&signed_parties)
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(Rejection::SignatureMissing(format!(
                "the agreement is published only when every party has signed; missing: {}",
                missing.join(", ")
            )));
        }
        if !witnessed {
            return Err(Rejection::SignatureMissing(
                "the mediator's signature as witness is missing".into(),
            ));
        }
        Ok(())
    }

    pub(super) fn agreement_guaranteed(&self, agreement: &Digest32) -> Result<(), Rejection> {
        let procedure = &self.state.procedure;
        let act = self.act;
        match &procedure.agreement {
            Some(a) if a.published && a.hash == *agreement => {
                if !a.agreement.guarantors.contains(&act.author) {
                    Err(Rejection::Invalid(
                        "only an invited guarantor co-signs".into(),
                    ))
                } else if a.guaranteed_by.contains(&act.author) {
                    Err(Rejection::Conflict("already guaranteed".into()))
                } else {
                    Ok(())
                }
            }
            _ => Err(Rejection::Unknown(
                "no published agreement has that hash".into(),
            )),
        }
    }

    pub(super) fn declaration_tabled(&self, declaration: &Declaration) -> Result<(), Rejection> {
        let party = self.author_party()?;
        self.binding(party, "table its declaration")?;
        if declaration.party != party {
            return Err(Rejection::Invalid(format!(
                "{party} declares only for itself"
            )));
        }
        check_text("a declaration", &declaration.text)
    }

    pub(super) fn declarations_published(
        &self,
        declarations: &[SignedAct],
    ) -> Result<(), Rejection> {
        let state = self.state;
        let procedure = &state.procedure;
        if procedure.declarations_published {
            return Err(Rejection::Conflict(
                "declarations are already published".into(),
            ));
        }
        let mut declared = BTreeSet::new();
        for signed in declarations {
            let verified = self.embedded(signed)?;
            let ActBody::DeclarationTabled { declaration } = &verified.act.body else {
                return Err(Rejection::BadEmbedded("it is not a declaration".into()));
            };
            let party = self.embedded_party(&verified)?;
            if declaration.party != party || !declared.insert(party) {
                return Err(Rejection::Invalid(
                    "one declaration per party, by that party".into(),
                ));
            }
        }
        let missing: Vec<String> = state.parties().difference(&declared).cloned().collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Rejection::SignatureMissing(format!(
                "declarations are missing from: {}",
                missing.join(", ")
            )))
        }
    }

    pub(super) fn checkpoint(&self, heads: &[Head]) -> Result<(), Rejection> {
        let state = self.state;
        if heads.is_empty() || heads.len() > state.channels.len() {
            return Err(Rejection::Invalid(
                "a checkpoint names each channel it covers once".into(),
            ));
        }
        for head in heads {
            if !state.channels.contains_key(&head.channel) || head.index == 0 {
                return Err(Rejection::Unknown(format!(
                    "no position {} in channel {}",
                    head.index, head.channel
                )));
            }
            // Positions it has not reached, or channels it does not read, are for others.
            crate::state::same_as_copy(head, self.history)?;
        }
        Ok(())
    }
}
