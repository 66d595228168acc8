//! The rules of sealed conditional offers: commitments, tabling, withdrawal, opening in
//! matching pairs and recording the match.

use std::collections::BTreeSet;

use super::Ctx;
use crate::act::{ActBody, Digest32, SignedAct};
use crate::procedure::{Offer, OfferStatus};
use crate::state::Rejection;

impl Ctx<'_> {
    pub(super) fn offer_committed(&self, commitment: &Digest32) -> Result<(), Rejection> {
        let procedure = &self.state.procedure;
        if procedure.offers.contains_key(commitment) {
            return Err(Rejection::Conflict(
                "that commitment is already on record".into(),
            ));
        }
        Ok(())
    }

    pub(super) fn offer_tabled(&self, offer: &Offer, salt: &Digest32) -> Result<(), Rejection> {
        let procedure = &self.state.procedure;
        let act = self.act;
        // Any commitment of the author's, whatever became of it since: a delegate who
        // reads the public record's match or withdrawal before this channel must
        // accept the same history as one who read them in the order they were made.
        match procedure.offers.get(&offer.commitment(salt)) {
            Some(o) if o.by == act.author => {}
            _ => {
                return Err(Rejection::Unknown(
                    "the offer matches no commitment of its author on the public record".into(),
                ));
            }
        }
        if offer.promise.is_empty() {
            return Err(Rejection::Invalid("an offer promises something".into()));
        }
        self.check_conditions(&offer.promise)?;
        self.check_conditions(&offer.condition)
    }

    pub(super) fn offer_withdrawn(&self, commitment: &Digest32) -> Result<(), Rejection> {
        let procedure = &self.state.procedure;
        let act = self.act;
        match procedure.offers.get(commitment) {
            Some(o) if o.by == act.author && o.status == OfferStatus::Open => Ok(()),
            Some(o) if o.by == act.author => {
                Err(Rejection::Conflict("the offer is no longer open".into()))
            }
            _ => Err(Rejection::Unknown(
                "no open offer of the author has that commitment".into(),
            )),
        }
    }

    pub(super) fn offers_opened(&self, offers: &[SignedAct]) -> Result<(), Rejection> {
        let procedure = &self.state.procedure;
        let mut opened: Vec<(String, crate::procedure::Offer)> = Vec::new();
        for signed in offers {
            let verified = self.embedded(signed)?;
            let ActBody::OfferTabled { offer, salt } = &verified.act.body else {
                return Err(Rejection::BadEmbedded("it is not an offer".into()));
            };
            let party = self.embedded_party(&verified)?;
            // Any commitment of the offer's author, whatever became of it since: the same
            // pair is opened in each party's channel, and a withdrawal posted while the
            // mediator opened the pair may be read before or after the opening. Whether an
            // offer is still open is the public record's to say (`offers_matched`).
            match procedure.offers.get(&offer.commitment(salt)) {
                Some(o) if o.by == verified.act.author => {}
                _ => {
                    return Err(Rejection::Conflict(
                        "an opened offer does not match its author's commitment on the public record: it was changed".into(),
                    ));
                }
            }
            if opened.iter().any(|(p, _)| *p == party) {
                return Err(Rejection::Invalid("one offer per party".into()));
            }
            opened.push((party, offer.clone()));
        }
        if opened.len() < 2 {
            return Err(Rejection::Invalid("offers open in matching pairs".into()));
        }
        for (i, (_, a)) in opened.iter().enumerate() {
            for (_, b) in &opened[i + 1..] {
                if !crate::procedure::offers_match(a, b) {
                    return Err(Rejection::Invalid("the offers do not match".into()));
                }
            }
        }
        Ok(())
    }

    pub(super) fn offers_matched(&self, commitments: &[Digest32]) -> Result<(), Rejection> {
        let procedure = &self.state.procedure;
        let mut parties = BTreeSet::new();
        for commitment in commitments {
            match procedure.offers.get(commitment) {
                Some(o) if o.status != OfferStatus::Withdrawn => {
                    if !parties.insert(o.party.clone()) {
                        return Err(Rejection::Invalid("one offer per party".into()));
                    }
                }
                _ => {
                    return Err(Rejection::Unknown(
                        "a matched offer has no open commitment".into(),
                    ));
                }
            }
        }
        if parties.len() < 2 {
            return Err(Rejection::Invalid("offers match in pairs".into()));
        }
        Ok(())
    }
}
