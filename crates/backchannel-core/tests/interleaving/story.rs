//! The story the interleaving property reads: a writer that sees every channel posts a whole
//! case, every kind of act, with two delegates per party, an observer who verifies and a
//! delegate who joins late; proptest's dice choose which steps happen, in what order, who
//! acts and what chatter is mixed in.

use backchannel_core::act::{ACT_VERSION, Head};
use backchannel_core::plan::{Plan, Remedy};
use backchannel_core::procedure::{Agreement, Conveyance, Declaration, Delegation, Offer};
use backchannel_core::state::ChannelState;
use backchannel_core::{
    Act, ActBody, CaseId, CaseState, ChannelName, ChannelPurpose, Digest32, Ledger, PublicKey,
    Role, VerifiedAct,
};
use ed25519_dalek::SigningKey;
use serde_json::json;

pub const MEDIATOR: u8 = 1;
pub const US_A: u8 = 2;
pub const US_B: u8 = 3;
pub const IR_A: u8 = 4;
pub const IR_B: u8 = 5;
/// The observer: the plan's verifier, invited to guarantee the agreement.
pub const INSPECTOR: u8 = 6;
/// Iran's third delegate, admitted and seated between two steps the seed chooses.
pub const LATE: u8 = 7;
pub const READERS: [u8; 7] = [MEDIATOR, US_A, US_B, IR_A, IR_B, INSPECTOR, LATE];
pub const US: &str = "United States";
pub const IRAN: &str = "Iran";
pub const DAY_MS: u64 = 86_400_000;
pub const NAMES: [&str; 8] = [
    "",
    "Pakistan",
    "US-A",
    "US-B",
    "IR-A",
    "IR-B",
    "Inspector",
    "IR-C",
];

pub fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

pub fn pk(n: u8) -> PublicKey {
    PublicKey(key(n).verifying_key().to_bytes())
}

pub fn party_of(n: u8) -> &'static str {
    if n == US_A || n == US_B { US } else { IRAN }
}

pub fn public() -> ChannelName {
    ChannelName::public()
}

pub fn bilateral(party: &str) -> ChannelName {
    ChannelName::for_party(party).unwrap()
}

pub fn direct() -> ChannelName {
    ChannelName::parse("direct-talks").unwrap()
}

/// The one act literal of this file: every other act comes from `CaseState::next_act`, so a
/// change to the act format touches this function only.
pub fn genesis() -> VerifiedAct {
    Act {
        v: ACT_VERSION,
        case: CaseId([7; 16]),
        channel: public(),
        index: 1,
        prev: Digest32::ZERO,
        author: pk(MEDIATOR),
        at_ms: 0,
        seen: vec![],
        body: ActBody::CaseOpened {
            title: "Talks".into(),
            mediator_name: NAMES[MEDIATOR as usize].into(),
            witnesses: vec![],
        },
    }
    .sign(&key(MEDIATOR))
}

/// Test data, written as it travels.
pub fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).unwrap()
}

/// Seeded choices (xorshift64). `Dice(0)` always rolls 0: every step and every extra taken.
pub struct Dice(pub u64);

impl Dice {
    pub fn roll(&mut self, n: usize) -> usize {
        if self.0 == 0 {
            return 0;
        }
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    /// A step of the story, skipped one time in four.
    pub fn take(&mut self) -> bool {
        self.roll(4) != 3
    }

    /// Something the story may add, one time in two.
    pub fn extra(&mut self) -> bool {
        self.roll(2) == 0
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.roll(i + 1));
        }
    }
}

/// An act as posted, and how far its author had read the public record.
pub struct Posted {
    pub act: VerifiedAct,
    pub seen: u64,
}

/// The writer: it reads every channel and posts only what the rules accept.
pub struct Story {
    pub state: CaseState,
    pub ledger: Ledger,
    pub log: Vec<Posted>,
    pub dice: Dice,
    pub now_ms: u64,
    pub salts: u8,
}

impl Story {
    pub fn new(seed: u64) -> Self {
        let act = genesis();
        let state = CaseState::genesis(&act, Some(pk(MEDIATOR))).unwrap();
        let mut ledger = Ledger::default();
        ledger.record(&act);
        let (seen, dice) = (0, Dice(seed));
        let log = vec![Posted { act, seen }];
        let (now_ms, salts) = (0, 0);
        Self {
            state,
            ledger,
            log,
            dice,
            now_ms,
            salts,
        }
    }

    /// The whole procedure, Iran's third delegate joining between the steps the dice choose.
    pub fn write(seed: u64) -> Self {
        let mut story = Self::new(seed);
        let steps: [fn(&mut Self); 8] = [
            Self::charter,
            Self::issues_and_agenda,
            Self::positions,
            Self::talks,
            Self::offers,
            Self::direct_talks,
            Self::drafts,
            Self::settlement,
        ];
        let late = steps.len() - story.dice.roll(steps.len());
        story.cast();
        for (i, step) in steps.iter().enumerate() {
            if i == late {
                story.admit_late();
            }
            step(&mut story);
        }
        if late == steps.len() {
            story.admit_late();
        }
        story
    }

    pub fn post(&mut self, author: u8, channel: &ChannelName, body: ActBody) -> VerifiedAct {
        let act = self.post_quietly(author, channel, body);
        self.chatter();
        act
    }

    pub fn post_quietly(
        &mut self,
        author: u8,
        channel: &ChannelName,
        body: ActBody,
    ) -> VerifiedAct {
        self.now_ms += 1_000;
        let kind = body.kind();
        let seen = self.state.channels[&public()].length;
        let act = (self.state)
            .next_act(channel, pk(author), self.now_ms, body, &self.ledger)
            .unwrap_or_else(|e| panic!("the story posted an invalid {kind} on {channel}: {e}"))
            .sign(&key(author));
        self.ledger.fold(&mut self.state, &act).unwrap();
        self.log.push(Posted {
            act: act.clone(),
            seen,
        });
        act
    }

    pub fn post_public(&mut self, author: u8, body: ActBody) -> VerifiedAct {
        self.post(author, &public(), body)
    }

    /// The mediator posts the same act in every party's channel, as the client does.
    pub fn post_to_parties(&mut self, body: &ActBody) {
        for party in [IRAN, US] {
            self.post(MEDIATOR, &bilateral(party), body.clone());
        }
    }

    pub fn say(&mut self, author: u8, channel: &ChannelName, text: &str) -> VerifiedAct {
        let text = text.to_owned();
        self.post(author, channel, ActBody::Message { text })
    }

    /// Now and then, between any two acts: a message, a checkpoint or a seating.
    pub fn chatter(&mut self) {
        let author = READERS[self.dice.roll(READERS.len())];
        if !self.state.participants.contains_key(&pk(author)) {
            return;
        }
        let readable: Vec<ChannelName> = (self.state.channels.iter())
            .filter(|(name, c)| name.is_public() || c.members.contains(&pk(author)))
            .map(|(name, _)| name.clone())
            .collect();
        let on = readable[self.dice.roll(readable.len())].clone();
        match self.dice.roll(8) {
            5 => {
                let on = if author == INSPECTOR { public() } else { on };
                let text = format!("aside {}", self.log.len());
                self.post_quietly(author, &on, ActBody::Message { text });
            }
            6 => self.checkpoint(author),
            7 if !on.is_public() => self.seat(&on),
            _ => {}
        }
    }

    /// `author` co-signs the heads of the channels it reads.
    pub fn checkpoint(&mut self, author: u8) {
        let reads = |(name, c): &(&ChannelName, &ChannelState)| {
            c.length > 0 && (name.is_public() || c.members.contains(&pk(author)))
        };
        let head = |(channel, c): (&ChannelName, &ChannelState)| {
            let (channel, index, hash) = (channel.clone(), c.length, c.head);
            Head {
                channel,
                index,
                hash,
            }
        };
        let heads = self.state.channels.iter().filter(reads).map(head).collect();
        self.post_quietly(author, &public(), ActBody::Checkpoint { heads });
    }

    /// The mediator says on the record who sits in `channel`.
    pub fn seat(&mut self, channel: &ChannelName) {
        let members = self.state.channels[channel].members.iter();
        let (channel, members) = (channel.clone(), members.copied().collect());
        let body = ActBody::ChannelSeated { channel, members };
        self.post_quietly(MEDIATOR, &public(), body);
    }

    pub fn parties(&mut self) -> [&'static str; 2] {
        let mut parties = [US, IRAN];
        self.dice.shuffle(&mut parties);
        parties
    }

    pub fn delegates(&self, party: &str) -> Vec<u8> {
        let all = if party == US {
            vec![US_A, US_B]
        } else {
            vec![IR_A, IR_B, LATE]
        };
        let admitted = |n: &u8| self.state.participants.contains_key(&pk(*n));
        all.into_iter().filter(admitted).collect()
    }

    pub fn any_delegate(&mut self, party: &str) -> u8 {
        let delegates = self.delegates(party);
        delegates[self.dice.roll(delegates.len())]
    }

    /// Who binds the party: its head, under a charter of `delegation: head`.
    pub fn binding(&mut self, party: &str) -> u8 {
        let charter = self.state.procedure.charter.as_ref();
        if charter.is_some_and(|c| c.charter.delegation == Delegation::Head) {
            self.delegates(party)[0]
        } else {
            self.any_delegate(party)
        }
    }

    pub fn admit(&mut self, n: u8) {
        let role = match n {
            INSPECTOR => Role::Observer,
            US_A | US_B => Role::Party { party: US.into() },
            _ => Role::Party { party: IRAN.into() },
        };
        let (key, name, head) = (pk(n), NAMES[n as usize].into(), n == US_A || n == IR_A);
        let body = ActBody::MemberAdmitted {
            key,
            name,
            role,
            head,
        };
        self.post_public(MEDIATOR, body);
    }

    pub fn seat_members(&mut self, channel: &ChannelName, members: Vec<PublicKey>) {
        self.post(MEDIATOR, channel, ActBody::MembersChanged { members });
        if self.dice.take() {
            self.seat(channel);
        }
    }

    pub fn open_channel(&mut self, channel: &ChannelName, purpose: ChannelPurpose) {
        let channel = channel.clone();
        self.post_public(MEDIATOR, ActBody::ChannelOpened { channel, purpose });
    }

    /// Two delegates of each party, one observer, and a bilateral channel for each party.
    pub fn cast(&mut self) {
        let mut cast = [US_A, US_B, IR_A, IR_B, INSPECTOR];
        self.dice.shuffle(&mut cast);
        for n in cast {
            self.admit(n);
        }
        for party in self.parties() {
            let purpose = ChannelPurpose::Bilateral {
                party: party.into(),
            };
            self.open_channel(&bilateral(party), purpose);
            let members = std::iter::once(MEDIATOR).chain(self.delegates(party));
            self.seat_members(&bilateral(party), members.map(pk).collect());
        }
    }

    /// Iran's third delegate: admitted, then seated where Iran's delegation sits.
    pub fn admit_late(&mut self) {
        self.admit(LATE);
        for channel in [bilateral(IRAN), direct()] {
            if let Some(c) = self.state.channels.get(&channel) {
                let members = c.members.iter().copied().chain([pk(LATE)]).collect();
                self.seat_members(&channel, members);
            }
        }
    }

    /// The charter, accepted by each party; now and then revised after one side accepted.
    pub fn charter(&mut self) {
        let delegation = ["head", "any"][self.dice.roll(2)];
        let charter = |deadlines| {
            from_json(
                json!({"agenda_proposers": "parties_and_mediator", "non_papers": true,
                "attribution": "original_with_consent", "delegation": delegation,
                "deadlines": deadlines}),
            )
        };
        let [first, second] = self.parties();
        let revised = self.dice.extra();
        let body = ActBody::CharterProposed {
            charter: charter(json!([])),
        };
        self.post_public(MEDIATOR, body);
        if revised {
            self.accept_charter(first);
            let deadlines = json!([{"what": "a framework", "by": "2027-06-30"}]);
            let body = ActBody::CharterProposed {
                charter: charter(deadlines),
            };
            self.post_public(MEDIATOR, body);
        }
        self.accept_charter(first);
        self.accept_charter(second);
    }

    pub fn accept_charter(&mut self, party: &str) {
        let proposal = self.state.procedure.charter.as_ref().unwrap().proposal;
        let author = self.binding(party);
        self.post_public(author, ActBody::CharterAccepted { proposal });
    }

    pub fn issues_and_agenda(&mut self) {
        let issues = from_json(json!([
            {"id": "enrichment", "title": "Enrichment", "options": [{"id": "cap_3_67",
                "label": "3.67%"}, {"id": "cap_20", "label": "20%"}, {"id": "cap_90", "label": "90%"}]},
            {"id": "sanctions", "title": "Sanctions", "options": [{"id": "phased_lift",
                "label": "phased"}, {"id": "full_lift", "label": "full"}, {"id": "none", "label": "none"}]}]));
        self.post_public(MEDIATOR, ActBody::IssuesDefined { issues });
        if self.dice.take() {
            // The mediator's item, or a party's demand that the other consents to.
            let proposer = [MEDIATOR, self.any_delegate(US)][self.dice.roll(2)];
            let (title, demand) = ("Sequencing".into(), proposer != MEDIATOR);
            let item = self.post_public(proposer, ActBody::AgendaProposed { title, demand });
            let item = item.act.index;
            let consenting = if demand { vec![IRAN] } else { vec![US, IRAN] };
            for party in consenting {
                let author = self.binding(party);
                self.post_public(author, ActBody::AgendaConsented { item });
            }
        }
        if self.dice.take() {
            let requirement = from_json(json!({"id": "no-weapons-grade", "by": "inspector",
                "kind": "forbid", "issue": "enrichment", "options": ["cap_90"]}));
            let rationale = "no weapons-grade material".into();
            let body = ActBody::RequirementRegistered {
                requirement,
                rationale,
            };
            self.post_public(INSPECTOR, body);
        }
    }

    /// A party's position, and perhaps a colleague's revision naming the version it replaces.
    pub fn positions(&mut self) {
        for party in self.parties() {
            let versions = match (self.dice.take(), self.dice.extra()) {
                (false, _) => 0,
                (true, revised) => 1 + u32::from(revised),
            };
            for version in 1..=versions {
                let author = self.any_delegate(party);
                let position = from_json(json!({"id": party, "name": party,
                    "weights": {"enrichment": 0.5, "sanctions": 0.5},
                    "scores": {"enrichment": {"cap_3_67": 1.0, "cap_20": 0.5, "cap_90": 0.0},
                        "sanctions": {"phased_lift": 0.5, "full_lift": 1.0, "none": 0.0}},
                    "reservation": f64::from(version) / 10.0}));
                let replaces = (version > 1).then_some(version - 1);
                let body = ActBody::PositionSealed { position, replaces };
                self.post(author, &bilateral(party), body);
            }
        }
    }

    /// A delegate says something in its channel and consents to its being conveyed, signed,
    /// to `to`, where the mediator conveys it.
    pub fn convey(&mut self, party: &str, to: &ChannelName) {
        let (speaker, from) = (self.any_delegate(party), bilateral(party));
        let words = self.say(speaker, &from, "we could live with a cap");
        let (act, to_channel) = (words.hash, to.clone());
        let body = ActBody::ConveyConsent {
            act,
            to: to_channel,
        };
        let consent = self.post(speaker, &from, body);
        let (original, consent) = (words.signed, consent.signed);
        let conveyance = Conveyance::Original { original, consent };
        self.post(MEDIATOR, to, ActBody::Conveyed { from, conveyance });
    }

    pub fn talks(&mut self) {
        let [first, second] = self.parties();
        let (from, to) = (bilateral(first), bilateral(second));
        if self.dice.take() {
            self.convey(first, &to);
        }
        if self.dice.take() {
            let conveyance = Conveyance::Paraphrase {
                text: "they are listening".into(),
            };
            self.post(
                MEDIATOR,
                &from,
                ActBody::Conveyed {
                    from: to.clone(),
                    conveyance,
                },
            );
        }
        if self.dice.take() {
            let text = "a freeze for a freeze".into();
            self.post(MEDIATOR, &to, ActBody::NonPaper { text });
        }
    }

    /// A delegate commits to an offer on the record, perhaps withdraws it, and tables it.
    pub fn offer(
        &mut self,
        party: &str,
        offer: Offer,
        withdrawn: bool,
    ) -> (u8, Digest32, VerifiedAct) {
        let author = self.any_delegate(party);
        self.salts += 1;
        let salt = Digest32([self.salts; 32]);
        let commitment = offer.commitment(&salt);
        self.post_public(author, ActBody::OfferCommitted { commitment });
        if withdrawn {
            self.post_public(author, ActBody::OfferWithdrawn { commitment });
        }
        let body = ActBody::OfferTabled { offer, salt };
        (
            author,
            commitment,
            self.post(author, &bilateral(party), body),
        )
    }

    /// A matching pair, opened to both parties and matched on the record (or withdrawn
    /// first), and now and then a spare offer withdrawn before or after it is tabled.
    pub fn offers(&mut self) {
        let [first, second] = self.parties();
        let a = self.offer(first, offer(first), false);
        let b = self.offer(second, offer(second), false);
        if self.dice.extra() {
            let (spare, early) = (offer(first), self.dice.extra());
            let spare = Offer {
                condition: vec![],
                ..spare
            };
            let (author, commitment, _) = self.offer(first, spare, early);
            if !early {
                self.post_public(author, ActBody::OfferWithdrawn { commitment });
            }
        }
        if self.dice.roll(3) == 2 {
            self.post_public(a.0, ActBody::OfferWithdrawn { commitment: a.1 });
            return;
        }
        let offers = vec![a.2.signed, b.2.signed];
        let matched = ActBody::OffersMatched {
            commitments: vec![a.1, b.1],
        };
        let between = self.dice.extra();
        // Now and then a withdrawal races the opening: the delegate withdraws on the record
        // before the mediator, who opened the pair, records the match, which then never comes.
        let race = self.dice.roll(4) == 3;
        for (i, party) in self.parties().into_iter().enumerate() {
            let body = ActBody::OffersOpened {
                offers: offers.clone(),
            };
            self.post(MEDIATOR, &bilateral(party), body);
            if !race && (i == 0) == between {
                self.post_public(MEDIATOR, matched.clone());
            }
        }
        if race {
            self.post_public(a.0, ActBody::OfferWithdrawn { commitment: a.1 });
        }
    }

    pub fn direct_talks(&mut self) {
        if !self.dice.take() {
            return;
        }
        let channel = direct();
        self.post_public(MEDIATOR, ActBody::DirectTalksProposed { channel: direct() });
        for party in self.parties() {
            let author = self.binding(party);
            let body = ActBody::DirectTalksConsented { channel: direct() };
            self.post_public(author, body);
        }
        self.open_channel(&channel, ChannelPurpose::Direct);
        let delegates = [US, IRAN].iter().flat_map(|p| self.delegates(p));
        let members = std::iter::once(MEDIATOR).chain(delegates).map(pk).collect();
        self.seat_members(&channel, members);
        let [first, _] = self.parties();
        let author = self.any_delegate(first);
        self.say(author, &channel, "face to face at last");
        if self.dice.extra() {
            self.convey(first, &channel);
        }
    }

    pub fn drafts(&mut self) {
        for version in 1..=1 + u32::from(self.dice.extra()) {
            self.post_to_parties(&ActBody::DraftIssued {
                draft: draft(version),
            });
            for party in self.parties() {
                if self.dice.take() {
                    let author = self.binding(party);
                    let preferred = if party == US {
                        "phased_lift"
                    } else {
                        "full_lift"
                    };
                    let answers =
                        from_json(json!({"relief": {"answer": "prefer", "option": preferred},
                        "cap": {"answer": "object", "reason": "too soon"}}));
                    let body = ActBody::DraftAnswered { version, answers };
                    self.post(author, &bilateral(party), body);
                }
            }
        }
    }

    pub fn settlement(&mut self) {
        if self.dice.take() {
            self.agreement();
        }
        if self.dice.take() {
            self.declarations();
        }
        if self.dice.take() {
            // Anyone but the late joiner, who may not be admitted yet.
            let author = READERS[self.dice.roll(READERS.len() - 1)];
            self.checkpoint(author);
        }
    }

    /// Tabled in every party's channel, signed by each party and the mediator as witness,
    /// then published, guaranteed and implemented.
    pub fn agreement(&mut self) {
        let with_plan = self.dice.roll(2) == 1;
        let (title, clauses) = ("Framework".into(), draft(1).clauses);
        let (guarantors, plan) = (vec![pk(INSPECTOR)], with_plan.then(plan));
        let agreement = Agreement {
            title,
            clauses,
            guarantors,
            plan,
        };
        if self.dice.extra() {
            // A first reading, signed by one side, then replaced by the final text.
            let title = "Framework, first reading".into();
            let first = Agreement {
                title,
                plan: None,
                ..agreement.clone()
            };
            let signed = ActBody::AgreementSigned {
                agreement: first.hash(),
            };
            self.post_to_parties(&ActBody::AgreementTabled { agreement: first });
            let party = self.parties()[0];
            let signer = self.binding(party);
            self.post(signer, &bilateral(party), signed);
        }
        let signed = ActBody::AgreementSigned {
            agreement: agreement.hash(),
        };
        self.post_to_parties(&ActBody::AgreementTabled {
            agreement: agreement.clone(),
        });
        for party in self.parties() {
            let signers = [self.binding(party), self.binding(party)];
            let twice = self.dice.extra() && signers[0] != signers[1];
            for signer in &signers[..1 + usize::from(twice)] {
                self.post(*signer, &bilateral(party), signed.clone());
            }
        }
        self.post(MEDIATOR, &bilateral(IRAN), signed.clone());
        if !self.dice.take() {
            return; // left on the table
        }
        let signatures = (self.log.iter())
            .filter(|p| p.act.act.body == signed)
            .map(|p| p.act.signed.clone())
            .collect();
        let hash = agreement.hash();
        let body = ActBody::AgreementPublished {
            agreement,
            signatures,
        };
        self.post_public(MEDIATOR, body);
        if self.dice.take() {
            self.post_public(INSPECTOR, ActBody::AgreementGuaranteed { agreement: hash });
        }
        self.implementation(with_plan);
    }

    /// Each party's declaration, published together.
    pub fn declarations(&mut self) {
        let mut declarations = Vec::new();
        for party in self.parties() {
            let author = self.binding(party);
            let (party, text) = (party.into(), "we declare our part".into());
            let body = ActBody::DeclarationTabled {
                declaration: Declaration { party, text },
            };
            let channel = bilateral(party_of(author));
            declarations.push(self.post(author, &channel, body).signed);
        }
        self.post_public(MEDIATOR, ActBody::DeclarationsPublished { declarations });
    }

    /// The plan in force (tabled with the agreement, or proposed and accepted after it),
    /// then reports, attestations, an extension and two disputes.
    pub fn implementation(&mut self, tabled_with_plan: bool) {
        if !tabled_with_plan {
            for _ in 0..1 + usize::from(self.dice.extra()) {
                self.post_public(MEDIATOR, ActBody::PlanProposed { plan: plan() });
            }
            for party in self.parties() {
                let implementation = self.state.procedure.implementation.as_ref();
                let proposal = implementation.unwrap().proposal;
                let author = self.binding(party);
                self.post_public(author, ActBody::PlanAccepted { proposal });
            }
        }
        let cap = || String::from("enrichment_cap");
        if self.dice.take() {
            let author = self.any_delegate(IRAN);
            let (commitment, status, note) = (cap(), 2, "centrifuges idle".into());
            let body = ActBody::ProgressReported {
                commitment,
                status,
                note,
            };
            self.post_public(author, body);
        }
        if self.dice.take() {
            let (commitment, status, evidence) = (cap(), 3, "seals intact".into());
            let body = ActBody::Attested {
                commitment,
                status,
                evidence,
            };
            self.post_public(INSPECTOR, body);
        }
        if self.dice.take() {
            let (author, days, relief) = (self.binding(US), 10, String::from("sanctions_relief"));
            let body = ActBody::ExtensionConsented {
                commitment: relief.clone(),
                days,
            };
            self.post_public(author, body);
            let body = ActBody::DeadlineExtended {
                commitment: relief,
                days,
            };
            self.post_public(MEDIATOR, body);
        }
        if self.dice.take() {
            self.dispute_to_remedy();
        }
        if self.dice.take() {
            let dispute = self.open_dispute(INSPECTOR, "regional_conduct");
            let resolution = "assurances exchanged".into();
            let body = ActBody::DisputeResolved {
                dispute,
                resolution,
            };
            self.post_public(MEDIATOR, body);
        }
    }

    pub fn open_dispute(&mut self, author: u8, commitment: &str) -> u32 {
        let (commitments, complaint) = (vec![commitment.into()], "not performing".into());
        let body = ActBody::DisputeOpened {
            commitments,
            complaint,
        };
        self.post_public(author, body);
        let implementation = self.state.procedure.implementation.as_ref();
        implementation.unwrap().disputes.len() as u32
    }

    /// A complaint climbs the whole ladder on the clock, and its author invokes a remedy.
    pub fn dispute_to_remedy(&mut self) {
        let complainant = self.any_delegate(US);
        let dispute = self.open_dispute(complainant, "enrichment_cap");
        for (days, advisory) in [(16, true), (16, false), (6, false)] {
            self.now_ms += days * DAY_MS;
            self.post_public(complainant, ActBody::DisputeEscalated { dispute });
            if advisory {
                let opinion = "a non-binding view".into();
                self.post_public(INSPECTOR, ActBody::DisputeOpinion { dispute, opinion });
            }
        }
        let remedy = Remedy::Snapback { notice_days: 30 };
        self.post_public(complainant, ActBody::RemedyInvoked { dispute, remedy });
    }
}

/// The matching pair: sanctions relief for an enrichment cap.
pub fn offer(party: &str) -> Offer {
    let us = json!({"promise": [{"issue": "sanctions", "options": ["phased_lift"]}],
        "condition": [{"issue": "enrichment", "options": ["cap_3_67"]}]});
    let iran = json!({"promise": [{"issue": "enrichment", "options": ["cap_3_67"]}],
        "condition": [{"issue": "sanctions", "options": ["phased_lift", "full_lift"]}]});
    from_json(if party == US { us } else { iran })
}

pub fn draft(version: u32) -> backchannel_core::procedure::Draft {
    from_json(
        json!({"version": version, "title": format!("Draft {version}"), "clauses": [
        {"id": "cap", "text": "Enrichment is capped.", "issue": "enrichment", "option": "cap_3_67",
            "alternatives": [{"option": "cap_20", "text": "a higher cap"}]},
        {"id": "relief", "text": "Sanctions are lifted.", "issue": "sanctions", "option": "phased_lift"}]}),
    )
}

pub fn plan() -> Plan {
    Plan::parse(include_bytes!("../../plans/us-iran.json")).unwrap()
}
