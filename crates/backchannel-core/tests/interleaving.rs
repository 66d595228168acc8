//! Reading order: a participant reads its channels one at a time, so it may fold an act of one
//! channel before an earlier act of another. The case fold must not care: for every reader,
//! every order it may read in accepts every act and ends in the same state.
//!
//! The model. A story of the whole procedure, its steps chosen, ordered, skipped and repeated
//! by a seed, is posted through `CaseState::next_act` by a writer that sees every channel (as
//! the mediator does), so each act is valid when posted. A reader's view is the public record
//! from its genesis and each discreet channel it sits in from the `members_changed` that seats
//! it (the newcomer anchor). A view is read in any order that keeps each channel's own order
//! and reads a discreet act after the public acts its author had seen (the public head in its
//! `seen`; the client reads the public record first in each sync). So the public record runs
//! ahead of any discreet channel, and a reader's discreet channels run ahead of each other.
//! "The same state" is the state the same view folds to in posting order: a reader never
//! holds the acts of a channel it does not read. The mediator reads every channel, so its
//! state is also the writer's. Any failure replays from the seeds it prints.
//!
//! Not covered: an act whose author had not read an act posted meanwhile on another channel
//! (the writer reads everything), such as a party withdrawing an offer while the mediator
//! opens it in the other party's channel; and a newcomer seated in the middle of a step (between
//! a draft and its answers), who cannot check what refers to acts before its anchor in any
//! order. The late joiner here is seated between two steps.
//!
//! Rules that look across channels, and what keeps each one order-independent:
//! - `offer_tabled` (discreet): order-independent state. It needs its author's commitment,
//!   public and earlier, whatever became of it since (a match or withdrawal read first).
//! - `offers_opened` (discreet): embedded acts (the signed `offer_tabled` of each side); the
//!   commitments it checks are public and earlier.
//! - `offers_matched`, `offer_withdrawn` (public): order-independent state, the public
//!   commitments and withdrawals alone.
//! - `conveyed` (discreet): embedded acts (the original and its author's consent).
//! - `convey_consent` (discreet): a message of its own channel, and a channel that the public
//!   record opened before it.
//! - `agreement_signed` (discreet): a signature made before the publication (by its `seen`
//!   public head), read after it, is accepted (the publication embeds it, or it changes
//!   nothing); a signature of an earlier text read after a later one is accepted and ignored.
//! - `agreement_tabled` (discreet): order-independent state and the author's `seen` public
//!   head: a tabling its author made before the publication, read after it, is accepted and
//!   changes nothing; the same text in the next party's channel, or an earlier text read
//!   after a later one, changes only the list of texts tabled.
//! - `agreement_published`, `declarations_published` (public): embedded acts (every signature
//!   and declaration they count); `agreement_guaranteed` and the plan's acts read the public
//!   record alone.
//! - `members_changed`, `channel_seated` and the discreet acts of the procedure: the public
//!   admissions, channel openings, charter and issues before them, which their `seen` holds.
//! - `checkpoint` (public): compares only positions the reader holds, which are the same acts.
#![allow(clippy::unwrap_used)]

#[path = "interleaving/story.rs"]
mod story;

use std::collections::{BTreeMap, BTreeSet};

use backchannel_core::{ActBody, CaseState, ChannelName, KINDS, Ledger, VerifiedAct};
use proptest::prelude::*;
use story::*;

/// What `reader` reads, in posting order: the public record, and each discreet channel from
/// the `members_changed` that seats it (the mediator sits in every channel from its opening).
fn view(log: &[Posted], reader: u8) -> Vec<&Posted> {
    let mut seated = BTreeSet::new();
    let mut reads = |posted: &&Posted| {
        let act = &posted.act.act;
        if let ActBody::MembersChanged { members } = &act.body
            && members.contains(&pk(reader))
        {
            seated.insert(act.channel.clone());
        }
        act.channel.is_public() || reader == MEDIATOR || seated.contains(&act.channel)
    };
    log.iter().filter(|p| reads(p)).collect()
}

#[derive(Clone, Copy, Debug)]
enum Order {
    /// The order the acts were posted in.
    Posting,
    /// As the client syncs: the whole public record, then each discreet channel by name.
    Client,
    /// Each discreet channel as far as it may go before the next public act.
    Lagging,
    /// At each step, any channel whose next act may be read.
    Random(u64),
}

/// A reading of `view` in `order`: each channel in its own order, a discreet act after the
/// public acts its author had seen.
fn read<'a>(view: &[&'a Posted], order: Order) -> Vec<&'a VerifiedAct> {
    let mut queues: BTreeMap<&ChannelName, Vec<&Posted>> = BTreeMap::new();
    for posted in view.iter().rev() {
        queues
            .entry(&posted.act.act.channel)
            .or_default()
            .push(posted);
    }
    let public = public();
    let mut dice = Dice(match order {
        Order::Random(seed) => seed | 1,
        _ => 0,
    });
    let (mut read, mut public_read) = (Vec::with_capacity(view.len()), 0);
    while !queues.is_empty() {
        let ready: Vec<&ChannelName> = (queues.iter())
            .filter(|(name, queue)| {
                let next = queue.last().unwrap();
                name.is_public() || next.seen <= public_read
            })
            .map(|(name, _)| *name)
            .collect();
        let discreet = ready.iter().find(|c| !c.is_public());
        let pick = match order {
            Order::Posting => &view[read.len()].act.act.channel,
            Order::Client if ready.contains(&&public) => &public,
            Order::Client => ready[0],
            Order::Lagging => discreet.unwrap_or(&ready[0]),
            Order::Random(_) => ready[dice.roll(ready.len())],
        }
        .clone();
        public_read += u64::from(pick.is_public());
        let queue = queues.get_mut(&pick).unwrap();
        read.push(&queue.pop().unwrap().act);
        if queue.is_empty() {
            queues.remove(&pick);
        }
    }
    read
}

/// Folds `acts` from the genesis as `reader` would; names the act refused, if one is.
fn fold(reader: u8, order: Order, acts: &[&VerifiedAct]) -> Result<CaseState, String> {
    let mut state = CaseState::genesis(acts[0], Some(pk(MEDIATOR))).unwrap();
    let mut ledger = Ledger::default();
    ledger.record(acts[0]);
    for act in &acts[1..] {
        ledger.fold(&mut state, act).map_err(|e| {
            let (who, a) = (NAMES[reader as usize], &act.act);
            let (kind, index, channel) = (a.body.kind(), a.index, &a.channel);
            format!("{who} reading in {order:?} order refused {kind} #{index} on {channel}: {e}")
        })?;
    }
    Ok(state)
}

/// Where two states differ, as JSON paths.
fn differences(a: &CaseState, b: &CaseState) -> String {
    fn walk(path: String, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
        use serde_json::Value::{Null, Object};
        match (a, b) {
            (Object(x), Object(y)) => {
                for k in x.keys().chain(y.keys()).collect::<BTreeSet<_>>() {
                    let (x, y) = (x.get(k).unwrap_or(&Null), y.get(k).unwrap_or(&Null));
                    walk(format!("{path}.{k}"), x, y, out);
                }
            }
            _ if a != b => {
                let short = |v: &serde_json::Value| v.to_string().chars().take(300).collect();
                let (a, b): (String, String) = (short(a), short(b));
                out.push(format!("{path}: {a} / {b}"));
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    let json = |s: &CaseState| serde_json::to_value(s).unwrap();
    walk(String::new(), &json(a), &json(b), &mut out);
    out.join("\n")
}

/// Every reader, in posting order and in other orders, accepts every act of its view and
/// ends in the same state.
fn check_every_view(story: &Story, read_seed: u64) -> Result<(), String> {
    for reader in READERS {
        let view = view(&story.log, reader);
        let expected = fold(reader, Order::Posting, &read(&view, Order::Posting))?;
        if reader == MEDIATOR && expected != story.state {
            let diff = differences(&expected, &story.state);
            return Err(format!("the mediator's fold is not the writer's:\n{diff}"));
        }
        let seeds = [read_seed, read_seed.rotate_left(17) ^ u64::from(reader)];
        let orders = [Order::Client, Order::Lagging].into_iter();
        for order in orders.chain(seeds.map(Order::Random)) {
            let state = fold(reader, order, &read(&view, order))?;
            if state != expected {
                let (who, diff) = (NAMES[reader as usize], differences(&state, &expected));
                return Err(format!(
                    "{who} reading in {order:?} order ends elsewhere:\n{diff}"
                ));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_reading_order_folds_to_the_same_state(
        story_seed in 1..u64::MAX,
        read_seed in any::<u64>(),
    ) {
        let story = Story::write(story_seed);
        if let Err(why) = check_every_view(&story, read_seed) {
            prop_assert!(false, "story {story_seed:#x}, reading {read_seed:#x}: {why}");
        }
    }
}

#[test]
fn the_full_story_reads_the_same_in_every_order() {
    let story = Story::write(0);
    for seed in 1..8 {
        check_every_view(&story, seed).unwrap();
    }
}

#[test]
fn the_stories_post_every_kind_of_act() {
    let mut posted = BTreeSet::new();
    for seed in [0, 1, 2, 3] {
        let story = Story::write(seed);
        posted.extend(story.log.iter().map(|p| p.act.act.body.kind()));
    }
    let kinds = KINDS.iter().map(|k| k.name);
    let missing: Vec<&str> = kinds.filter(|k| !posted.contains(k)).collect();
    assert!(
        missing.is_empty(),
        "no story posts {missing:?}: teach it to"
    );
}

/// The bug this file was written after: delegate A of the United States read the public
/// record's `offers_matched` before the `offer_tabled` in its own party's channel, and refused
/// its own offer as matching no open commitment.
#[test]
fn regression_a_delegate_reads_the_match_before_its_own_tabled_offer() {
    let mut story = Story::new(0);
    story.cast();
    story.charter();
    story.issues_and_agenda();
    story.offers();
    let view = view(&story.log, US_A);
    let client = read(&view, Order::Client);
    let position = |kind: &str| client.iter().position(|a| a.act.body.kind() == kind);
    assert!(position("offers_matched").unwrap() < position("offer_tabled").unwrap());
    let expected = fold(US_A, Order::Posting, &read(&view, Order::Posting)).unwrap();
    assert_eq!(fold(US_A, Order::Client, &client).unwrap(), expected);
    let offers = expected.procedure.offers.values();
    assert!(offers.filter(|o| o.party == US).all(|o| o.offer.is_some()));
}
