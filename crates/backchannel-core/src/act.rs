//! Acts: the typed, versioned, signed and hash-chained entries of the case log.
//!
//! An act is signed over its exact payload bytes (JSON of [`Act`], behind a domain-separation
//! prefix), so verification never depends on re-serialising. Each act names its case, its
//! channel, its index in that channel and the hash of the previous act there: a dropped,
//! altered, replayed or reordered entry breaks the chain at the receiving client.

use serde::{Deserialize, Serialize};

use crate::ids::{CaseId, ChannelName, PublicKey};
use crate::plan::{Plan, Remedy};
use crate::procedure::{Agreement, Answers, Charter, Conveyance, Declaration, Draft, Offer};
pub use crate::signed::{Digest32, SignedAct};
use backchannel_formula::{Issue, Party as Position, Requirement};

/// The version of the act payload this build writes and reads. Version 2 added what an act
/// saw (`seen`) and a case's witnesses; version 1 acts are refused.
pub const ACT_VERSION: u32 = 2;
/// The most bytes an act's payload may have.
pub const MAX_ACT_BYTES: usize = 128 * 1024;
/// The most characters of a message's text.
pub const MAX_TEXT_CHARS: usize = 16 * 1024;
/// The most characters of a title or a name inside an act.
pub const MAX_LABEL_CHARS: usize = 200;

/// The most witnesses a case may name.
pub const MAX_WITNESSES: usize = 4;

const SIGNATURE_CONTEXT: &[u8] = b"backchannel/act/v2\0";

/// A participant's role as the mediator records it when admitting them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Role {
    Mediator,
    Party { party: String },
    Observer,
}

impl Role {
    pub fn party(&self) -> Option<&str> {
        match self {
            Role::Party { party } => Some(party),
            _ => None,
        }
    }

    pub fn label(&self) -> String {
        match self {
            Role::Mediator => "mediator".into(),
            Role::Party { party } => format!("party ({party})"),
            Role::Observer => "observer".into(),
        }
    }
}

/// What a discreet channel is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "purpose", rename_all = "snake_case")]
pub enum ChannelPurpose {
    /// The mediator and one party's delegation, in confidence.
    Bilateral { party: String },
    /// Direct talks: every party's delegation and the mediator, opened with every party's
    /// consent.
    Direct,
}

/// The typed content of an act. New kinds are added at the end; a kind's fields never change
/// meaning within a version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ActBody {
    /// The genesis of a case, first on the public channel; its author is the mediator.
    CaseOpened {
        title: String,
        mediator_name: String,
        /// The hubs that co-sign the public record's heads for this case (`witness`).
        witnesses: Vec<Witness>,
    },
    /// The mediator admits a participant who joined with an invite.
    MemberAdmitted {
        key: PublicKey,
        name: String,
        role: Role,
        /// A party's head of delegation (absent: not the head).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        head: bool,
    },
    /// The mediator opens a discreet channel (announced on the public channel).
    ChannelOpened {
        channel: ChannelName,
        purpose: ChannelPurpose,
    },
    /// First act in a discreet channel after members were added: names the members the
    /// channel now has, so that a newcomer's first readable act anchors its chain.
    MembersChanged { members: Vec<PublicKey> },
    /// The mediator names, on the public record, who sits in a discreet channel, so that
    /// every participant knows the true shape of the table, the channels it cannot read
    /// included. Shown, never used to check an act: membership inside a channel is what the
    /// channel's own `MembersChanged` says.
    ChannelSeated {
        channel: ChannelName,
        members: Vec<PublicKey>,
    },
    /// Free text: on the public channel, a public statement; elsewhere, a confidential one.
    Message { text: String },

    // --- the mediation procedure (see `procedure`) ---
    /// The mediator proposes the procedural rules (public).
    CharterProposed { charter: Charter },
    /// A party accepts the charter proposed by the act with this hash (public).
    CharterAccepted { proposal: Digest32 },
    /// The issues and options the case negotiates over (mediator, public).
    IssuesDefined { issues: Vec<Issue> },
    /// An agenda item; `demand` marks a party's demand put on the agenda (public).
    AgendaProposed { title: String, demand: bool },
    /// A party consents to the agenda item proposed at this public index (public).
    AgendaConsented { item: u64 },
    /// A party's private position, sealed to the mediator in its bilateral channel.
    PositionSealed {
        position: Position,
        /// The version of the party's sealed position this one revises; absent for the
        /// first. Every revision stays in the channel; the latest is the party's position.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaces: Option<u32>,
    },
    /// An observer's requirement on any agreement, with its rationale (public).
    RequirementRegistered {
        requirement: Requirement,
        rationale: String,
    },
    /// A party consents that its act with this hash be conveyed, signed, to channel `to`.
    ConveyConsent { act: Digest32, to: ChannelName },
    /// The mediator carries words from channel `from` into this one.
    Conveyed {
        from: ChannelName,
        conveyance: Conveyance,
    },
    /// A proposal tabled by the mediator without attribution to either side.
    NonPaper { text: String },
    /// The mediator issues a version of the single negotiating text.
    DraftIssued { draft: Draft },
    /// A party answers a draft clause by clause, to the mediator only.
    DraftAnswered { version: u32, answers: Answers },
    /// A party commits to a sealed conditional offer (public: the hash only).
    OfferCommitted { commitment: Digest32 },
    /// The offer behind a commitment, tabled to the mediator in the party's channel.
    OfferTabled { offer: Offer, salt: Digest32 },
    /// A party withdraws an unmatched offer (public).
    OfferWithdrawn { commitment: Digest32 },
    /// The mediator opens matching offers: the parties' signed `offer_tabled` acts.
    OffersOpened { offers: Vec<SignedAct> },
    /// The mediator records on the public record that these committed offers matched and
    /// were opened to the parties (the terms stay in the parties' channels).
    OffersMatched { commitments: Vec<Digest32> },
    /// The mediator proposes direct talks in a new channel (public).
    DirectTalksProposed { channel: ChannelName },
    /// A party consents to the direct talks proposed for this channel (public).
    DirectTalksConsented { channel: ChannelName },
    /// The mediator puts the final text to signature (in discreet channels).
    AgreementTabled { agreement: Agreement },
    /// A participant signs the tabled agreement with this hash.
    AgreementSigned { agreement: Digest32 },
    /// The mediator publishes the agreement with every required signature (public).
    AgreementPublished {
        agreement: Agreement,
        signatures: Vec<SignedAct>,
    },
    /// An invited observer co-signs the published agreement as guarantor (public).
    AgreementGuaranteed { agreement: Digest32 },
    /// A party tables its own unilateral declaration (in its bilateral channel).
    DeclarationTabled { declaration: Declaration },
    /// The mediator publishes every party's signed declaration together (public).
    DeclarationsPublished { declarations: Vec<SignedAct> },
    /// A participant co-signs the heads of the channels it reads (public): anyone whose copy
    /// of a channel differs at one of those positions has been shown another history.
    Checkpoint { heads: Vec<Head> },

    // --- implementation (see `plan`) ---
    /// The mediator proposes the published agreement's implementation plan (public).
    PlanProposed { plan: Plan },
    /// A party accepts the plan proposed by the act with this hash (public); the plan is in
    /// force once every party has.
    PlanAccepted { proposal: Digest32 },
    /// A party reports its progress on one of its own commitments, 0 to 3 (public).
    ProgressReported {
        commitment: String,
        status: u8,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    /// A verifier the plan names attests a commitment's status, 0 to 3 (public).
    Attested {
        commitment: String,
        status: u8,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        evidence: String,
    },
    /// A party or an observer opens a dispute over commitments: it starts at the ladder's
    /// first stage (public). Disputes are numbered from 1 in the order opened.
    DisputeOpened {
        commitments: Vec<String>,
        complaint: String,
    },
    /// The dispute moves to the ladder's next stage, once the current one's days are over;
    /// past the last, the ladder is exhausted (public).
    DisputeEscalated { dispute: u32 },
    /// A non-binding opinion, at a stage that allows one (public).
    DisputeOpinion { dispute: u32, opinion: String },
    /// The dispute is settled (public).
    DisputeResolved { dispute: u32, resolution: String },
    /// Its ladder exhausted, the complainant invokes one of the plan's remedies (public).
    RemedyInvoked { dispute: u32, remedy: Remedy },
    /// A party whose consent the plan requires consents to moving a commitment's deadline by
    /// this many days (public).
    ExtensionConsented { commitment: String, days: u32 },
    /// The mediator moves a commitment's deadline, once every consent the plan requires for
    /// exactly this extension is on the record (public).
    DeadlineExtended { commitment: String, days: u32 },
}

/// A hub the case's genesis names to co-sign the public record's heads: where it is, and the
/// key its co-signatures verify under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Witness {
    pub url: String,
    pub key: PublicKey,
}

/// A channel's chain head as one participant holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    pub channel: ChannelName,
    pub index: u64,
    pub hash: Digest32,
}

/// The signed content of an act.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Act {
    pub v: u32,
    pub case: CaseId,
    pub channel: ChannelName,
    /// Position in the channel's chain, from 1.
    pub index: u64,
    /// The hash of the previous act in this channel; zero for the first.
    pub prev: Digest32,
    pub author: PublicKey,
    /// The author's clock: informative only, never trusted for order.
    pub at_ms: u64,
    /// The heads, as the author held them, of the other channels that every reader of this
    /// act also reads (the public record, for every discreet act): a reader whose copy
    /// differs there has been shown another history (see `CaseState::seen_heads`).
    pub seen: Vec<Head>,
    pub body: ActBody,
}

/// Why bytes are not a valid signed act.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the act is {0} bytes, over the limit of {MAX_ACT_BYTES}")]
    TooLarge(usize),
    #[error("the act envelope is malformed: {0}")]
    Malformed(String),
    #[error(
        "the act is of version {0} of the act format, and this build reads version {ACT_VERSION} only: a case begun with another version cannot be carried over"
    )]
    Version(u32),
    #[error("the act's signature does not verify against its author's key")]
    BadSignature,
}

/// A signed act whose signature has been checked and whose payload has been parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedAct {
    pub act: Act,
    pub signed: SignedAct,
    pub hash: Digest32,
}

impl Act {
    /// A case's first act: its mediator opens it on the public record.
    pub fn opening(
        case: CaseId,
        mediator: PublicKey,
        at_ms: u64,
        title: &str,
        mediator_name: &str,
        witnesses: Vec<Witness>,
    ) -> Self {
        Act {
            v: ACT_VERSION,
            case,
            channel: ChannelName::public(),
            index: 1,
            prev: Digest32::ZERO,
            author: mediator,
            at_ms,
            seen: vec![],
            body: ActBody::CaseOpened {
                title: title.to_owned(),
                mediator_name: mediator_name.to_owned(),
                witnesses,
            },
        }
    }

    /// The bytes an act's signature covers.
    pub fn signing_input(payload: &[u8]) -> Vec<u8> {
        let mut input = Vec::with_capacity(SIGNATURE_CONTEXT.len() + payload.len());
        input.extend_from_slice(SIGNATURE_CONTEXT);
        input.extend_from_slice(payload);
        input
    }

    /// Serialises and signs; the signing key must be the author's.
    pub fn sign(&self, key: &ed25519_dalek::SigningKey) -> VerifiedAct {
        use ed25519_dalek::Signer;
        // Serialising a struct of plain fields cannot fail.
        let payload = serde_json::to_vec(self).unwrap_or_default();
        let sig = key.sign(&Self::signing_input(&payload)).to_bytes().to_vec();
        let signed = SignedAct { payload, sig };
        let hash = signed.hash();
        VerifiedAct {
            act: self.clone(),
            signed,
            hash,
        }
    }
}

impl SignedAct {
    /// Parses an envelope, checks its size, version and signature.
    pub fn decode(bytes: &[u8]) -> Result<VerifiedAct, DecodeError> {
        if bytes.len() > MAX_ACT_BYTES * 2 {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        let signed: SignedAct =
            serde_json::from_slice(bytes).map_err(|e| DecodeError::Malformed(e.to_string()))?;
        signed.verify()
    }

    /// Re-reads an act this participant verified when it arrived and has kept, sealed, since:
    /// parses the payload without checking the signature again. A full audit uses
    /// [`SignedAct::verify`].
    pub fn reread(self) -> Result<VerifiedAct, DecodeError> {
        let act: Act = serde_json::from_slice(&self.payload)
            .map_err(|e| DecodeError::Malformed(e.to_string()))?;
        let hash = self.hash();
        Ok(VerifiedAct {
            act,
            signed: self,
            hash,
        })
    }

    /// Parses the payload and checks the signature by the author it names.
    pub fn verify(self) -> Result<VerifiedAct, DecodeError> {
        if self.payload.len() > MAX_ACT_BYTES {
            return Err(DecodeError::TooLarge(self.payload.len()));
        }
        #[derive(Deserialize)]
        struct Version {
            v: u32,
        }
        let version: Version = serde_json::from_slice(&self.payload)
            .map_err(|e| DecodeError::Malformed(e.to_string()))?;
        if version.v != ACT_VERSION {
            return Err(DecodeError::Version(version.v));
        }
        let act: Act = serde_json::from_slice(&self.payload)
            .map_err(|e| DecodeError::Malformed(e.to_string()))?;
        if !act
            .author
            .verify(&Act::signing_input(&self.payload), &self.sig)
        {
            return Err(DecodeError::BadSignature);
        }
        let hash = self.hash();
        Ok(VerifiedAct {
            act,
            signed: self,
            hash,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key() -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[1; 32])
    }

    fn sample() -> Act {
        Act {
            v: ACT_VERSION,
            case: CaseId([0xab; 16]),
            channel: ChannelName::public(),
            index: 1,
            prev: Digest32::ZERO,
            author: PublicKey(key().verifying_key().to_bytes()),
            at_ms: 1_700_000_000_000,
            seen: vec![],
            body: ActBody::CaseOpened {
                title: "Talks".into(),
                mediator_name: "Pakistan".into(),
                witnesses: vec![],
            },
        }
    }

    #[test]
    fn round_trip() {
        let signed = sample().sign(&key());
        let decoded = SignedAct::decode(&signed.signed.to_bytes()).unwrap();
        assert_eq!(decoded, signed);
    }

    #[test]
    fn forged_signature_is_refused() {
        let mut signed = sample().sign(&key()).signed;
        signed.sig[0] ^= 1;
        assert_eq!(signed.verify().unwrap_err(), DecodeError::BadSignature);
    }

    #[test]
    fn altered_payload_is_refused() {
        let signed = sample().sign(&key()).signed;
        let text = String::from_utf8(signed.payload.clone())
            .unwrap()
            .replace("Talks", "Tanks");
        let altered = SignedAct {
            payload: text.into_bytes(),
            sig: signed.sig,
        };
        assert_eq!(altered.verify().unwrap_err(), DecodeError::BadSignature);
    }

    #[test]
    fn signed_by_someone_else_is_refused() {
        let mut act = sample();
        act.author = PublicKey(
            ed25519_dalek::SigningKey::from_bytes(&[2; 32])
                .verifying_key()
                .to_bytes(),
        );
        let signed = act.sign(&key()).signed;
        assert_eq!(signed.verify().unwrap_err(), DecodeError::BadSignature);
    }

    #[test]
    fn other_versions_and_garbage_are_refused() {
        let mut act = sample();
        for v in [1, 3] {
            act.v = v;
            let signed = act.sign(&key()).signed;
            assert_eq!(signed.verify().unwrap_err(), DecodeError::Version(v));
        }
        assert!(matches!(
            SignedAct::decode(b"not json"),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            SignedAct::decode(&vec![b' '; MAX_ACT_BYTES * 3]),
            Err(DecodeError::TooLarge(_))
        ));
    }
}
