//! `dht-chord`: the Chord overlay (Stoica et al., SIGCOMM 2001; ToN 2003)
//! for the `dht` framework.
//!
//! - [`ring`]: predecessor, successor list (default 16) and a sparse finger table.
//! - [`lookup`]: iterative lookups through `closest_preceding_node`, with
//!   fall-back to the next-best candidate on a timeout.
//! - [`ChordConfig`]: successor-list length, stabilization interval.
//!
//! The periodic protocol runs on every tick: `stabilize` (ask the successor
//! for its predecessor and successor list, adopt the predecessor if it lies
//! between, reconcile the list, then `notify`), `check_predecessor`, and one
//! `fix_fingers` step (the finger held is asked first whether it still
//! follows the finger's start; one that names another successor is
//! replaced by it, one that names closer nodes has the start looked up
//! from them, and a missing or silent finger is looked up). A join looks
//! up the node's own id through a bootstrap node, takes the successors it
//! finds, then asks its successor for its fingers and looks each finger's
//! start up from the one at or past it (a request or two; from its own
//! entries where none fits). A graceful leave tells the predecessor and
//! the successor. Keys live on their successor and the next `r - 1` nodes
//! after it, so keys move only between a joining node and its successors.
//!
//! ```
//! use dht_chord::{Chord, ChordConfig};
//! use dht_core::{Address, Id, MemoryStore, Node, NodeConfig, Peer, Time};
//!
//! let me = Peer::new(Id::hash(b"node-1"), Address::Memory(1));
//! let mut node = Node::new(Chord::new(me, ChordConfig::default()), MemoryStore::default(), NodeConfig::default(), 7, Time::ZERO);
//! node.bootstrap(&[], Time::ZERO);
//! let op = node.put(Id::hash(b"greeting"), &b"hello"[..], Time::ZERO);
//! assert_eq!(node.poll_event().unwrap().op, op);
//! ```

mod config;
pub mod lookup;
pub mod ring;

pub use config::ChordConfig;
pub use lookup::ChordLookup;
pub use ring::Ring;

use dht_core::{
    vouches, Action, Directory, Id, IdBuildHasher, LookupOutcome, Overlay, Peer, Rng, Role, SimOverlay, Time, ID_BITS,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

/// Stabilization rounds a failed peer stays suspect: long enough for news
/// of the failure to travel back along a full successor list.
const SUSPECT_ROUNDS: u64 = 20;

/// Chord's messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChordMessage {
    /// Request: who follows this id?
    FindSuccessor(Id),
    /// Answer: the id's successor and the nodes after it.
    Successors(Vec<Peer>),
    /// Answer: nodes closer to the id to ask next, best first; and, when
    /// the id falls within the answering node's successor list but not
    /// before its first successor, the listed nodes that follow the id —
    /// the answer the lookup ends with if none of `next` answers
    /// (the first of them may have failed unnoticed, or lost its own
    /// successors).
    Closer {
        /// The closest preceding nodes the answering node knows.
        next: Vec<Peer>,
        /// The answering node's listed successors that follow the id,
        /// nearest first (empty when the id is beyond its list).
        beyond: Vec<Peer>,
    },
    /// Request (`stabilize`, and `check_predecessor`): your predecessors
    /// and successor list. Sent to the successor, it carries the sender's
    /// own predecessors, nearest first: the nodes before the receiver's
    /// predecessor, which the receiver would otherwise ask its predecessor
    /// for every round (empty in `check_predecessor`).
    Stabilize {
        /// The sender's predecessor and the nodes before it.
        predecessors: Vec<Peer>,
    },
    /// Answer to `Stabilize`.
    State {
        /// The answering node's predecessor.
        predecessor: Option<Peer>,
        /// Its successor list.
        successors: Vec<Peer>,
        /// The nodes before its predecessor, nearest first.
        earlier: Vec<Peer>,
    },
    /// Request (`notify`): I may be your predecessor.
    Notify,
    /// Request: I am leaving; here is what I knew.
    Leaving {
        /// The leaving node's predecessor.
        predecessor: Option<Peer>,
        /// Its successor list.
        successors: Vec<Peer>,
    },
    /// Request (`check_predecessor`): are you alive?
    Ping,
    /// Request, from a node that has just joined to its successor: your
    /// fingers.
    GetFingers,
    /// Answer to `GetFingers`: the answering node's fingers, in order of
    /// their bits.
    Fingers(Vec<Peer>),
    /// Answer to anything that needs no data.
    Ack,
}

/// A Chord node's routing logic.
#[derive(Debug, Clone)]
pub struct Chord {
    config: ChordConfig,
    ring: Ring,
    bootstrap: Vec<Peer>,
    /// A client never takes a place on the ring (see [`Role`]).
    role: Role,
    joined: bool,
    next_finger: u16,
    /// The finger bit being checked and the finger asked whether it still
    /// follows the bit's start.
    checking: Option<(u16, Peer)>,
    /// Finger starts to look up from given nodes alone, each once: the
    /// nodes a finger named when it said another node follows the start,
    /// and the successor's fingers copied at the join. The lookup asks
    /// them first, a step or two from the answer, not this node's own
    /// entries some ½·log2 N steps away; what it finds becomes the finger,
    /// from the mouth of the node that is it. Cleared every round.
    resume: Vec<(Id, Vec<Peer>)>,
    /// Ticks run so far: the clock suspicions age by.
    rounds: u64,
    /// Requests in a row each peer has failed, and the round of the last
    /// failure, for peers that failed lately.
    failures: HashMap<Id, (u8, u64), IdBuildHasher>,
    /// The latest caller that notified us as a better predecessor: it takes
    /// the place once it has answered a ping at its address.
    notified: Option<Peer>,
    /// The predecessors our predecessor sent with its stabilize since the
    /// last round, by its id: taken at the next round instead of asking
    /// it (its request showed it alive too).
    from_predecessor: Option<(Id, Vec<Peer>)>,
    /// Peers that answered a request of ours at their address, with the
    /// round they last did: entries of lists copied from others are taken
    /// only once they are among these.
    /// Hashed: every list copied from a peer is checked against it.
    answered: HashMap<Peer, u64, IdBuildHasher>,
}

impl Chord {
    /// The entries of a list copied from a peer that this node takes now
    /// (those that answered it at their address), in order; a ping goes to
    /// each of the others, which are taken once they answer.
    fn checked(&self, list: Vec<Peer>, actions: &mut Vec<Action<ChordMessage>>) -> Vec<Peer> {
        let local = self.local().id;
        let (known, unknown): (Vec<Peer>, Vec<Peer>) =
            list.into_iter().partition(|p| p.id == local || self.answered.contains_key(p));
        actions.extend(unknown.into_iter().map(|p| Action::Send(p, ChordMessage::Ping)));
        known
    }

    /// Forgets the half of the answered peers outside the routing state
    /// that were heard from longest ago (the routing state's own entries
    /// stay: lists are checked against them).
    fn forget_long_unheard(&mut self) {
        // Sorted by id, one entry per id: sorted as peers too.
        let known = self.ring.known();
        let mut outside: Vec<(u64, Peer)> = self
            .answered
            .iter()
            .filter(|(p, _)| known.binary_search(p).is_err())
            .map(|(p, round)| (*round, *p))
            .collect();
        outside.sort_unstable();
        for (_, peer) in outside.iter().take(outside.len().div_ceil(2)) {
            self.answered.remove(peer);
        }
    }

    /// `peer` answered or asked something: its failures are forgiven.
    /// Every message does this, and the maps are mostly empty: a look at
    /// their length spares hashing the id.
    fn forget_failures(&mut self, peer: &Peer) {
        if !self.failures.is_empty() {
            self.failures.remove(&peer.id);
        }
        self.ring.clear_suspicion(&peer.id);
    }

    /// Whether `peer` lies between the predecessor and us (or we have none).
    fn better_predecessor(&self, peer: &Peer) -> bool {
        let local = self.local().id;
        peer.id != local && self.ring.predecessor().is_none_or(|p| peer.id.in_open(&p.id, &local))
    }

    /// The overlay for node `local`.
    pub fn new(local: Peer, config: ChordConfig) -> Chord {
        Chord {
            ring: Ring::new(local, config.successors).with_prefix_cap(config.max_per_prefix),
            config,
            bootstrap: Vec::new(),
            role: Role::Member,
            joined: false,
            next_finger: 255,
            checking: None,
            resume: Vec::new(),
            rounds: 0,
            failures: HashMap::default(),
            notified: None,
            from_predecessor: None,
            answered: HashMap::default(),
        }
    }

    /// The ring view, for inspection and pictures.
    pub fn ring(&self) -> &Ring {
        &self.ring
    }

    /// The successors of `key` if this node can tell without asking: it owns
    /// the key, or the key falls between it and its successor. A node that
    /// knows peers but has lost every successor (all found dead) cannot
    /// tell: "between it and its successor" would be the whole ring, and it
    /// would answer every lookup with whatever fingers it has.
    fn answer_locally(&self, key: &Id) -> Option<Vec<Peer>> {
        let n = self.config.successors;
        if !self.joined || (self.ring.successors().is_empty() && !self.ring.is_empty()) {
            return None;
        }
        if self.ring.owns(key) || key.in_half_open(&self.ring.local().id, &self.ring.successor().id) {
            return Some(self.ring.successors_of(key, n));
        }
        None
    }

    /// A stabilize request to the successor: it carries our predecessors.
    fn stabilize(&self) -> ChordMessage {
        ChordMessage::Stabilize { predecessors: self.ring.predecessors() }
    }

    /// The lowest finger bit worth keeping: below it the successor of
    /// `n + 2^i` is the immediate successor with high probability. Estimated
    /// from how densely the successor list covers the ring.
    fn lowest_useful_finger(&self) -> u16 {
        let list = self.ring.successors();
        let Some(last) = list.last() else { return ID_BITS as u16 - 1 };
        let span = self.ring.local().id.ring_distance(&last.id);
        let span_bits = ID_BITS - dht_core::Distance(span.0).leading_zeros();
        let per_node_bits = span_bits.saturating_sub((usize::BITS - list.len().leading_zeros()) as usize);
        per_node_bits.saturating_sub(2) as u16
    }

    /// The successor's fingers, asked for at the join: each useful bit's
    /// start is looked up from the first of them at or past it, if that
    /// lies before the next bit's start — the successor's finger for a bit
    /// is this node's unless a node lies between the two starts, and then
    /// the finger names it: one or two requests for each bit instead of
    /// some ½·log2 N. A bit with none is looked up from this node's own
    /// entries, as every bit was before. Only the successor's answer is
    /// taken, while the node holds no finger.
    fn copy_fingers(&mut self, from: &Peer, fingers: Vec<Peer>) -> Vec<Action<ChordMessage>> {
        if from.id != self.ring.successor().id || !self.ring.fingers().is_empty() {
            return Vec::new();
        }
        let fingers = vouched(from, fingers);
        let lowest = self.lowest_useful_finger();
        let mut lookups = Vec::new();
        for bit in lowest..ID_BITS as u16 {
            let start = self.finger_start(bit);
            let range = Id::pow2(usize::from(bit));
            let past = |p: &&Peer| start.ring_distance(&p.id);
            if let Some(first) = fingers.iter().min_by_key(past).filter(|p| past(p) < range) {
                self.resume.push((start, vec![*first]));
            }
            lookups.push(Action::Lookup(start));
        }
        lookups
    }

    /// One `fix_fingers` step. The finger held for `bit` is asked for the
    /// successor of the bit's start: under churn it is still right most of
    /// the time, and then one request does what a lookup does in about
    /// ½·log2 N. What an answer naming another node leads to is
    /// [`Chord::finger_checked`]'s; a missing finger is looked up, and so
    /// is one that has not answered by the next round (`tick`).
    fn fix_finger(&mut self, bit: u16) -> Action<ChordMessage> {
        let start = self.finger_start(bit);
        match self.ring.fingers().get(&bit) {
            Some(finger) => {
                self.checking = Some((bit, *finger));
                Action::Send(*finger, ChordMessage::FindSuccessor(start))
            }
            None => Action::Lookup(start),
        }
    }

    /// The answer of a finger asked by [`Chord::fix_finger`]: nothing to do
    /// if it names itself the start's successor; the successor it names if
    /// it names another (the start lies just past it: it is the last step
    /// a lookup would take); otherwise a lookup of the start that begins
    /// at the closer nodes it names — usually a node joined between the
    /// start and the finger, one step from them. The message comes back if
    /// it is not such an answer (a finger may be the successor too, and
    /// answer `Stabilize` as well).
    fn finger_checked(
        &mut self,
        from: &Peer,
        message: ChordMessage,
    ) -> Result<Vec<Action<ChordMessage>>, ChordMessage> {
        let Some((bit, _)) = self.checking.filter(|(_, finger)| finger == from) else { return Err(message) };
        match message {
            ChordMessage::Successors(list) => {
                self.checking = None;
                if let Some(first) = vouched(from, list).first().filter(|p| p.id != self.local().id) {
                    self.ring.set_finger(bit, *first);
                }
                Ok(Vec::new())
            }
            ChordMessage::Closer { next, beyond } => {
                self.checking = None;
                let start = self.finger_start(bit);
                self.resume.push((start, vouched(from, next.into_iter().chain(beyond).collect())));
                Ok(vec![Action::Lookup(start)])
            }
            other => Err(other),
        }
    }

    fn finger_start(&self, bit: u16) -> Id {
        self.ring.local().id.wrapping_add(&Id::pow2(usize::from(bit)))
    }

    /// The finger bit a lookup target stands for, if it is a finger start.
    fn finger_bit(&self, target: &Id) -> Option<u16> {
        let offset = self.ring.local().id.ring_distance(target);
        let lz = dht_core::Distance(offset.0).leading_zeros();
        let bit = ID_BITS.checked_sub(lz + 1)?;
        (offset == Id::pow2(bit)).then_some(bit as u16)
    }

    fn leaving_notice(&self) -> ChordMessage {
        ChordMessage::Leaving { predecessor: self.ring.predecessor(), successors: self.ring.successors().to_vec() }
    }
}

impl Overlay for Chord {
    type Message = ChordMessage;
    type Lookup = ChordLookup;
    const NAME: &'static str = "chord";

    fn local(&self) -> Peer {
        self.ring.local()
    }

    /// A node has joined once it has a successor; a client, never on the
    /// ring, as soon as it knows whom to ask.
    fn is_joined(&self) -> bool {
        self.joined || self.role.is_client()
    }

    fn bootstrap(&mut self, peers: &[Peer], role: Role, _now: Time) -> Vec<Action<ChordMessage>> {
        self.role = role;
        self.bootstrap = peers.iter().filter(|p| p.id != self.local().id).copied().collect();
        if self.role.is_client() {
            return Vec::new();
        }
        if self.bootstrap.is_empty() {
            self.joined = true;
            return Vec::new();
        }
        vec![Action::Lookup(self.local().id)]
    }

    fn handle_request(&mut self, from: &Peer, message: ChordMessage, _now: Time) -> ChordMessage {
        match message {
            ChordMessage::FindSuccessor(key) => match self.answer_locally(&key) {
                Some(list) => ChordMessage::Successors(list),
                None if self.joined => ChordMessage::Closer {
                    next: self.ring.closest_preceding(&key, self.config.next_hops),
                    beyond: self.ring.listed_after(&key),
                },
                None => ChordMessage::Closer { next: Vec::new(), beyond: Vec::new() },
            },
            ChordMessage::Stabilize { predecessors } => {
                if self.ring.predecessor().is_some_and(|p| p.id == from.id) {
                    self.from_predecessor = Some((from.id, vouched(from, predecessors)));
                }
                ChordMessage::State {
                    predecessor: self.ring.predecessor(),
                    successors: self.ring.successors().to_vec(),
                    earlier: self.ring.predecessors().into_iter().skip(1).collect(),
                }
            }
            ChordMessage::Notify => {
                // `peer_contacted` has pinged it; its answer settles it.
                if self.joined && self.better_predecessor(from) {
                    self.notified = Some(*from);
                }
                ChordMessage::Ack
            }
            ChordMessage::Leaving { predecessor, successors } => {
                let (successors, predecessor) = (vouched(from, successors), predecessor.filter(|p| vouches(from, p)));
                if self.ring.successor().id == from.id {
                    self.ring.remove(&from.id);
                    // Only entries that answered us: no ping can go out
                    // from here, and stabilize fills the list again.
                    let successors: Vec<Peer> =
                        successors.into_iter().filter(|p| self.answered.contains_key(p)).collect();
                    if let Some((first, rest)) = successors.split_first() {
                        self.ring.set_successors(*first, rest);
                    }
                }
                if self.ring.predecessor().is_some_and(|p| p.id == from.id) {
                    self.ring.clear_predecessor();
                    if let Some(p) = predecessor {
                        self.ring.offer_predecessor(p);
                    }
                }
                self.ring.remove(&from.id);
                ChordMessage::Ack
            }
            ChordMessage::GetFingers => ChordMessage::Fingers(self.ring.fingers().values().copied().collect()),
            ChordMessage::Ping
            | ChordMessage::Ack
            | ChordMessage::Fingers(_)
            | ChordMessage::Successors(_)
            | ChordMessage::Closer { .. }
            | ChordMessage::State { .. } => ChordMessage::Ack,
        }
    }

    fn handle_response(&mut self, from: &Peer, message: ChordMessage, _now: Time) -> Vec<Action<ChordMessage>> {
        let message = match self.finger_checked(from, message) {
            Ok(actions) => return actions,
            Err(message) => message,
        };
        let (predecessor, successors, earlier) = match message {
            ChordMessage::State { predecessor, successors, earlier } => (predecessor, successors, earlier),
            ChordMessage::Fingers(fingers) => return self.copy_fingers(from, fingers),
            _ => return Vec::new(),
        };
        let (successors, earlier) = (vouched(from, successors), vouched(from, earlier));
        let names_us = predecessor.is_some_and(|p| p.id == self.local().id);
        let predecessor = predecessor.filter(|p| vouches(from, p));
        let mut actions = Vec::new();
        if self.ring.predecessor().is_some_and(|p| p.id == from.id) {
            // check_predecessor's answer: the nodes before our predecessor.
            let list: Vec<Peer> = predecessor.into_iter().chain(earlier).collect();
            let list = self.checked(list, &mut actions);
            self.ring.set_earlier(&list);
        }
        if from.id != self.ring.successor().id {
            return actions;
        }
        let successors = self.checked(successors, &mut actions);
        // stabilize: the successor's predecessor, if it lies between us, is
        // a better successor; it becomes one when it answers the ping
        // (`peer_alive`).
        match predecessor {
            Some(p) if p.id.in_open(&self.local().id, &from.id) => {
                self.ring.set_successors(*from, &successors);
                actions.push(Action::Send(p, ChordMessage::Ping));
            }
            Some(p) if p.id != self.local().id => {
                // The successor still names an older predecessor, which has
                // not learnt of us yet: a request makes it see us alive and
                // take us as its successor, without waiting for its own
                // stabilize rounds to walk to us.
                self.ring.set_successors(*from, &successors);
                actions.push(Action::Send(p, ChordMessage::Ping));
            }
            _ => self.ring.set_successors(*from, &successors),
        }
        // notify, unless the successor already names us: then it has
        // nothing to learn, and we are heard from at our next stabilize.
        if !names_us || self.ring.successor().id != from.id {
            actions.push(Action::Send(self.ring.successor(), ChordMessage::Notify));
        }
        actions
    }

    fn lookup(&mut self, target: Id, _wanted: usize, _now: Time) -> ChordLookup {
        // A lookup of the node's own id, once joined, is a position check
        // (the "strong stabilization" idea of the ToN paper): the successor
        // routes it all the way round the ring through its fingers; on a
        // loopy ring the answer is a node that belongs between us and our
        // successor.
        if target == self.local().id && self.joined && !self.ring.successors().is_empty() {
            return ChordLookup::new(target, vec![self.ring.successor()]);
        }
        if let Some(list) = self.answer_locally(&target) {
            return ChordLookup::resolved(target, list);
        }
        if let Some(at) = self.resume.iter().position(|(start, _)| *start == target) {
            let (_, named) = self.resume.swap_remove(at);
            if !named.is_empty() {
                return ChordLookup::new(target, named);
            }
        }
        let mut first = self.ring.closest_preceding(&target, self.config.next_hops);
        first.push(self.ring.successor());
        first.extend(self.bootstrap.iter().copied());
        if self.role.is_client() {
            // A client has no ring, and a bootstrap peer that failed once
            // is gone from its list: a long-lived client whose seeds were
            // each restarted once would have nobody left to ask. The peers
            // that answered it lately are where it starts instead.
            let mut heard: Vec<Peer> = self.answered.keys().copied().collect();
            heard.sort_unstable_by_key(|p| (p.id.ring_distance(&target), *p));
            first.extend(heard.into_iter().take(self.config.next_hops));
        }
        first.retain(|p| p.id != self.local().id);
        ChordLookup::new(target, first)
    }

    fn lookup_done(&mut self, target: Id, outcome: &LookupOutcome, _now: Time) -> Vec<Action<ChordMessage>> {
        if target == self.local().id && !self.joined {
            let found: Vec<Peer> = outcome.closest.iter().filter(|p| p.id != self.local().id).copied().collect();
            let Some((first, rest)) = found.split_first() else { return Vec::new() };
            self.ring.set_successors(*first, rest);
            self.joined = true;
            return vec![
                Action::Send(self.ring.successor(), ChordMessage::Notify),
                Action::Send(self.ring.successor(), self.stabilize()),
                Action::Send(self.ring.successor(), ChordMessage::GetFingers),
            ];
        }
        if target == self.local().id {
            // Position check: the ring says our successor is closer than the
            // one we have (concurrent joins can leave a node pointing past
            // its true successor, which stabilize alone never repairs).
            if let Some(found) = outcome.closest.iter().find(|p| p.id != self.local().id) {
                if self.ring.offer_successor(*found) {
                    return vec![Action::Send(*found, ChordMessage::Notify)];
                }
            }
            return Vec::new();
        }
        if let (Some(bit), Some(first)) = (self.finger_bit(&target), outcome.closest.first()) {
            self.ring.set_finger(bit, *first);
        }
        Vec::new()
    }

    fn replica_set(&self, key: &Id, n: usize) -> Vec<Peer> {
        self.ring.successors_of(key, n)
    }

    fn knows_replica_set(&self, key: &Id, n: usize) -> bool {
        self.ring.knows_successors_of(key, n)
    }

    fn tick(&mut self, _now: Time, _rng: &mut Rng) -> Vec<Action<ChordMessage>> {
        self.rounds += 1;
        self.resume.clear();
        self.ring.expire_suspects(self.rounds.saturating_sub(SUSPECT_ROUNDS));
        let recent = self.rounds.saturating_sub(SUSPECT_ROUNDS);
        self.failures.retain(|_, (_, last)| *last >= recent);
        if self.role.is_client() {
            return Vec::new();
        }
        if !self.joined {
            return if self.bootstrap.is_empty() { Vec::new() } else { vec![Action::Lookup(self.local().id)] };
        }
        let mut actions = Vec::new();
        if !self.ring.successors().is_empty() {
            actions.push(Action::Send(self.ring.successor(), self.stabilize()));
        } else if !self.ring.is_empty() || !self.bootstrap.is_empty() {
            // Every successor was found dead (a short list, its nodes killed
            // together): stabilize has nobody to ask, and the node would
            // stay cut off, answering lookups with no successors. It looks
            // its own id up through the peers it still knows instead.
            actions.push(Action::Lookup(self.local().id));
        }
        if let Some(p) = self.ring.predecessor() {
            // check_predecessor, which also copies the predecessor's
            // predecessors — unless its own stabilize brought them.
            match self.from_predecessor.take() {
                Some((id, list)) if id == p.id => {
                    let list = self.checked(list, &mut actions);
                    self.ring.set_earlier(&list);
                }
                _ => actions.push(Action::Send(p, ChordMessage::Stabilize { predecessors: Vec::new() })),
            }
        }
        // fix_fingers, one finger per tick from the farthest down to the
        // lowest useful one (which may be finger 0) and round again, and a
        // position check (a lookup of our own id).
        let lowest = self.lowest_useful_finger();
        if !self.ring.successors().is_empty() {
            if self.next_finger < lowest || self.next_finger >= ID_BITS as u16 {
                self.next_finger = ID_BITS as u16 - 1;
            }
            // A finger that has not answered its check since the last round
            // is likely gone: it is looked up now, not a whole cycle of
            // fingers later.
            if let Some((bit, _)) = self.checking.take() {
                actions.push(Action::Lookup(self.finger_start(bit)));
            }
            actions.push(self.fix_finger(self.next_finger));
            self.next_finger = self.next_finger.checked_sub(1).unwrap_or(ID_BITS as u16 - 1);
            actions.push(Action::Lookup(self.local().id));
        }
        actions
    }

    fn tick_interval(&self) -> Duration {
        self.config.stabilize_interval
    }

    fn peer_alive(&mut self, peer: &Peer, _now: Time) {
        self.forget_failures(peer);
        if self.answered.len() >= MAX_ANSWERED {
            self.forget_long_unheard();
        }
        self.answered.insert(*peer, self.rounds);
        if self.notified == Some(*peer) {
            self.notified = None;
            self.ring.offer_predecessor(*peer);
        }
        // A live node between us and our successor is a better successor;
        // to a node that has lost every successor, any live node is.
        if self.joined {
            self.ring.offer_successor(*peer);
        }
    }

    /// A node that asks something is alive, but becomes a successor or
    /// the predecessor only once it has answered a ping at its address.
    fn peer_contacted(&mut self, peer: &Peer, _now: Time) -> Vec<Action<ChordMessage>> {
        self.forget_failures(peer);
        let local = self.local().id;
        // With no successor, `successor()` is the node itself and every
        // other node is closer.
        let closer = peer.id != local && peer.id.in_open(&local, &self.ring.successor().id);
        if self.joined && (closer || self.better_predecessor(peer)) {
            vec![Action::Send(*peer, ChordMessage::Ping)]
        } else {
            Vec::new()
        }
    }

    fn peer_failed(&mut self, peer: &Peer, _now: Time) {
        self.bootstrap.retain(|p| p != peer);
        self.answered.remove(peer);
        if self.ring.holds_elsewhere(peer) {
            return;
        }
        let (failures, last) = self.failures.entry(peer.id).or_insert((0, self.rounds));
        *failures = failures.saturating_add(1);
        *last = self.rounds;
        if *failures < self.config.failures_to_drop {
            return;
        }
        self.failures.remove(&peer.id);
        self.ring.fail(&peer.id, self.rounds);
    }

    fn leave(&mut self, _now: Time) -> Vec<Action<ChordMessage>> {
        let mut actions = Vec::new();
        if let Some(p) = self.ring.predecessor() {
            actions.push(Action::Send(p, self.leaving_notice()));
        }
        if !self.ring.successors().is_empty() {
            actions.push(Action::Send(self.ring.successor(), self.leaving_notice()));
        }
        actions
    }

    fn neighbours(&self) -> Vec<Peer> {
        self.ring.known()
    }

    /// The keys a node holds lie just before it: their replica sets change
    /// with its predecessors and successors, never with its fingers.
    fn view_epoch(&self) -> u64 {
        self.ring.neighbourhood()
    }
}

/// The entries of a list from `from` that it may name, at most as many as
/// any list of this overlay holds.
fn vouched(from: &Peer, list: Vec<Peer>) -> Vec<Peer> {
    list.into_iter().filter(|p| vouches(from, p)).take(MAX_LIST).collect()
}

/// Most peers remembered as having answered: room for the routing state
/// (two lists of 16, the predecessor and a finger per bit of log2 N) and as
/// many again. Every hop of every lookup answers; at 1,024 the set grew to
/// about 80 KiB a node over ten minutes of lookups.
const MAX_ANSWERED: usize = 128;

/// Most entries taken from a list a peer sends (successor lists hold 16 by
/// default).
const MAX_LIST: usize = 64;

impl SimOverlay for Chord {
    /// The successor list and predecessors are the nearest peers around
    /// this node's id; finger `i` is the successor of `n + 2^i`, for every
    /// finger worth keeping.
    fn warm_start(&mut self, directory: &Directory, _now: Time, _rng: &mut Rng) -> bool {
        if self.role.is_client() {
            return false;
        }
        let local = self.local().id;
        let n = self.config.successors;
        let after: Vec<Peer> = directory.successors(&local, n + 1).filter(|p| p.id != local).take(n).copied().collect();
        let before: Vec<Peer> =
            directory.predecessors(&local, n + 1).filter(|p| p.id != local).take(n).copied().collect();
        if let (Some(first), Some(predecessor)) = (after.first(), before.first()) {
            self.ring.set_successors(*first, &after[1..]);
            self.ring.offer_predecessor(*predecessor);
            self.ring.set_earlier(&before[1..]);
            for bit in self.lowest_useful_finger()..ID_BITS as u16 {
                if let Some(finger) = directory.successors(&self.finger_start(bit), 1).next() {
                    self.ring.set_finger(bit, *finger);
                }
            }
        }
        // As if the protocol had run: every entry has answered.
        self.answered = self.ring.known().into_iter().map(|p| (p, 0)).collect();
        self.joined = true;
        true
    }

    fn routing_entries(&self) -> usize {
        self.ring.len()
    }

    fn hop_bound(&self, nodes: usize) -> f64 {
        (nodes.max(2) as f64).log2()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dht_core::{Address, Lookup};

    #[test]
    fn finger_bits_round_trip_through_their_starts() {
        let chord = Chord::new(Peer::new(Id::hash(b"n"), Address::Memory(0)), ChordConfig::default());
        for bit in [0u16, 1, 100, 200, 255] {
            assert_eq!(chord.finger_bit(&chord.finger_start(bit)), Some(bit));
        }
        assert_eq!(chord.finger_bit(&Id::hash(b"random")), None);
    }

    /// A node at id 0, joined, whose one successor is `next`.
    fn joined_with_successor(next: Peer) -> (Chord, Peer) {
        let local = Peer::new(Id::ZERO, Address::Memory(0));
        let mut chord = Chord::new(local, ChordConfig::default());
        chord.bootstrap(&[next], Role::Member, Time::ZERO);
        chord.ring.set_successors(next, &[]);
        chord.joined = true;
        (chord, local)
    }

    /// Answered peers stay bounded however many answer: past the cap, the
    /// half outside the routing state heard from longest ago is forgotten,
    /// while the routing state's entries and the latest peers stay.
    #[test]
    fn answered_peers_stay_bounded_and_the_recent_and_the_ring_stay_known() {
        let next = at(1, [203, 0, 113, 1]);
        let (mut chord, _) = joined_with_successor(next);
        chord.peer_alive(&next, Time::ZERO);
        let others: Vec<Peer> = (0..3 * MAX_ANSWERED as u32)
            .map(|i| Peer::new(Id::hash(&i.to_be_bytes()), Address::Memory(i + 1)))
            .collect();
        for (round, peer) in others.iter().enumerate() {
            chord.rounds = round as u64 + 1;
            chord.peer_alive(peer, Time::ZERO);
            assert!(chord.answered.len() <= MAX_ANSWERED);
        }
        assert!(chord.answered.contains_key(&next), "the successor stays");
        assert!(others.iter().rev().take(MAX_ANSWERED / 4).all(|p| chord.answered.contains_key(p)), "the latest stay");
        assert!(!chord.answered.contains_key(&others[0]), "the longest unheard went");
    }

    /// A long-lived client whose bootstrap peers have each failed once
    /// still starts lookups from the peers that answered it since.
    #[test]
    fn a_client_whose_seeds_failed_starts_lookups_from_peers_that_answered() {
        let seed = at(1, [203, 0, 113, 1]);
        let mut client = Chord::new(Peer::new(Id::ZERO, Address::Memory(0)), ChordConfig::default());
        client.bootstrap(&[seed], Role::Client, Time::ZERO);
        let heard = at(60, [203, 0, 113, 2]);
        client.peer_alive(&heard, Time::ZERO);
        for _ in 0..client.config.failures_to_drop {
            client.peer_failed(&seed, Time::ZERO);
        }
        let mut lookup = client.lookup(at(70, [0; 4]).id, 3, Time::ZERO);
        let asked: Vec<Peer> = lookup.poll().into_iter().map(|(p, _)| p).collect();
        assert_eq!(asked, vec![heard]);
    }

    /// A joined node whose only successor was found dead, and which still
    /// knows one finger: the node, its own peer, the finger.
    fn lost_every_successor() -> (Chord, Peer, Peer) {
        let next = at(1, [203, 0, 113, 1]);
        let (mut chord, local) = joined_with_successor(next);
        let finger = at(100, [203, 0, 113, 2]);
        chord.ring.set_finger(100, finger);
        chord.ring.fail(&next.id, 0);
        assert!(chord.ring.successors().is_empty() && !chord.ring.is_empty());
        (chord, local, finger)
    }

    /// A joined node that has lost every successor (all found dead) but
    /// knows other peers routes a lookup on; it does not answer for the
    /// whole ring with its fingers, which would end lookups far from the
    /// key's true successors.
    #[test]
    fn a_node_that_lost_every_successor_does_not_answer_for_the_whole_ring() {
        let (mut chord, _, finger) = lost_every_successor();
        let answer = chord.handle_request(&finger, ChordMessage::FindSuccessor(at(50, [0; 4]).id), Time::ZERO);
        assert!(matches!(answer, ChordMessage::Closer { .. }), "{answer:?}");
    }

    /// Stabilize notifies the successor only when it does not already name
    /// the node as its predecessor.
    #[test]
    fn a_successor_that_names_us_is_not_notified() {
        let next = at(1, [203, 0, 113, 1]);
        let (mut chord, local) = joined_with_successor(next);
        let notifies = |actions: &[Action<ChordMessage>]| {
            actions.iter().filter(|a| **a == Action::Send(next, ChordMessage::Notify)).count()
        };
        let state = |predecessor| ChordMessage::State { predecessor, successors: Vec::new(), earlier: Vec::new() };
        assert_eq!(notifies(&chord.handle_response(&next, state(None), Time::ZERO)), 1);
        assert_eq!(notifies(&chord.handle_response(&next, state(Some(local)), Time::ZERO)), 0);
    }

    /// A predecessor's stabilize brings its own predecessors: the next
    /// round takes them (those that answered us) instead of asking the
    /// predecessor; a round without one asks it, as `check_predecessor`.
    #[test]
    fn the_predecessors_stabilize_stands_in_for_check_predecessor() {
        let next = at(1, [203, 0, 113, 1]);
        let (mut chord, _) = joined_with_successor(next);
        let (pred, before) = (at(255, [203, 0, 113, 2]), at(254, [203, 0, 113, 3]));
        chord.ring.offer_predecessor(pred);
        chord.peer_alive(&before, Time::ZERO);
        let check = Action::Send(pred, ChordMessage::Stabilize { predecessors: Vec::new() });
        assert!(chord.tick(Time::ZERO, &mut Rng::new(1)).contains(&check));
        chord.handle_request(&pred, ChordMessage::Stabilize { predecessors: vec![before] }, Time::ZERO);
        assert!(!chord.tick(Time::ZERO, &mut Rng::new(1)).contains(&check));
        assert_eq!(chord.ring.predecessors(), vec![pred, before]);
        assert!(chord.tick(Time::ZERO, &mut Rng::new(1)).contains(&check), "nothing came this round");
    }

    /// A node whose successor list reaches past a key it cannot answer for
    /// names, besides the closest preceding node, the listed nodes after
    /// the key: the lookup's answer should that node have died unnoticed.
    #[test]
    fn a_node_names_its_listed_successors_past_a_key() {
        let (first, second, third) = (at(1, [203, 0, 113, 1]), at(2, [203, 0, 113, 2]), at(3, [203, 0, 113, 3]));
        let (mut chord, _) = joined_with_successor(first);
        chord.ring.set_successors(first, &[second, third]);
        let key = first.id.wrapping_add(&Id::pow2(0));
        let answer = chord.handle_request(&second, ChordMessage::FindSuccessor(key), Time::ZERO);
        assert_eq!(answer, ChordMessage::Closer { next: vec![first], beyond: vec![second, third] });
        let past = third.id.wrapping_add(&Id::pow2(0));
        let answer = chord.handle_request(&second, ChordMessage::FindSuccessor(past), Time::ZERO);
        assert!(matches!(answer, ChordMessage::Closer { beyond, .. } if beyond.is_empty()));
    }

    /// A joined node whose successors were all found dead is not left cut
    /// off: its next round looks its own id up through the peers it still
    /// knows (not through a successor it no longer has) and takes the
    /// answer's first node; and a live peer that contacts it meanwhile
    /// becomes its successor once it answers a ping.
    #[test]
    fn a_node_that_lost_every_successor_finds_one_again() {
        let (mut chord, local, finger) = lost_every_successor();
        let round = chord.tick(Time::ZERO, &mut Rng::new(1));
        assert!(round.contains(&Action::Lookup(local.id)), "{round:?}");
        let asked: Vec<Peer> = chord.lookup(local.id, 1, Time::ZERO).poll().into_iter().map(|(p, _)| p).collect();
        assert!(!asked.is_empty() && !asked.contains(&local), "asked through known peers: {asked:?}");
        let found = LookupOutcome { closest: vec![local, finger], hops: 2 };
        chord.lookup_done(local.id, &found, Time::ZERO);
        assert_eq!(chord.ring.successors(), &[finger][..]);

        chord.ring.fail(&finger.id, 0);
        let caller = at(7, [203, 0, 113, 3]);
        assert_eq!(chord.peer_contacted(&caller, Time::ZERO), vec![Action::Send(caller, ChordMessage::Ping)]);
        chord.peer_alive(&caller, Time::ZERO);
        assert_eq!(chord.ring.successor(), caller);
    }

    /// A finger held is asked whether it still follows its start: one
    /// request, and no lookup while it says so. A finger that names another
    /// node as the start's successor is replaced by it, with no lookup; one
    /// that names closer nodes starts a lookup there rather than at this
    /// node's own entries. A bit with no finger, or a finger that has not
    /// answered by the next round, is looked up.
    #[test]
    fn a_finger_is_asked_before_it_is_looked_up() {
        let next = at(1, [203, 0, 113, 1]);
        let (mut chord, _) = joined_with_successor(next);
        let finger = at(120, [203, 0, 113, 2]);
        chord.ring.set_finger(119, finger);
        let start = chord.finger_start(119);
        let Action::Send(asked, ChordMessage::FindSuccessor(target)) = chord.fix_finger(119) else {
            panic!("no request")
        };
        assert_eq!((asked, target), (finger, start));
        let state = ChordMessage::State { predecessor: None, successors: vec![finger], earlier: Vec::new() };
        assert!(chord.finger_checked(&finger, state).is_err(), "a stabilize answer is not the check's");
        let confirmed = chord.handle_response(&finger, ChordMessage::Successors(vec![finger, next]), Time::ZERO);
        assert!(confirmed.is_empty(), "{confirmed:?}");
        assert_eq!(chord.ring.fingers().get(&119), Some(&finger));

        let newcomer = at(119, [203, 0, 113, 3]);
        chord.fix_finger(119);
        let moved = chord.handle_response(&finger, ChordMessage::Successors(vec![newcomer, finger]), Time::ZERO);
        assert!(moved.is_empty(), "{moved:?}");
        assert_eq!(chord.ring.fingers().get(&119), Some(&newcomer));
        chord.ring.set_finger(119, finger);
        chord.fix_finger(119);
        let routed = chord.handle_response(
            &finger,
            ChordMessage::Closer { next: vec![newcomer], beyond: Vec::new() },
            Time::ZERO,
        );
        assert!(matches!(routed[..], [Action::Lookup(t)] if t == start), "{routed:?}");
        assert!(chord.handle_response(&finger, ChordMessage::Successors(vec![finger]), Time::ZERO).is_empty());
        assert!(matches!(chord.fix_finger(90), Action::Lookup(t) if t == chord.finger_start(90)));

        // Asked and silent until the next round: looked up then.
        chord.fix_finger(119);
        let next_round = chord.tick(Time::ZERO, &mut Rng::new(1));
        assert!(next_round.iter().any(|a| matches!(a, Action::Lookup(t) if *t == start)), "{next_round:?}");
    }

    /// A finger that names nodes closer to its start than itself: the
    /// lookup of the start asks them first, once.
    #[test]
    fn a_lookup_of_a_finger_that_moved_starts_where_the_finger_pointed() {
        let next = at(1, [203, 0, 113, 1]);
        let (mut chord, _) = joined_with_successor(next);
        let (finger, named) = (at(221, [203, 0, 113, 2]), at(219, [203, 0, 113, 3]));
        chord.ring.set_finger(220, finger);
        let start = chord.finger_start(220);
        chord.fix_finger(220);
        let closer = ChordMessage::Closer { next: vec![named], beyond: Vec::new() };
        let routed = chord.handle_response(&finger, closer, Time::ZERO);
        assert!(matches!(routed[..], [Action::Lookup(t)] if t == start), "{routed:?}");
        let first_asked = |lookup: &mut ChordLookup| lookup.poll().first().map(|(peer, _)| *peer);
        assert_eq!(first_asked(&mut chord.lookup(start, 1, Time::ZERO)), Some(named));
        assert_eq!(first_asked(&mut chord.lookup(start, 1, Time::ZERO)), Some(next), "the named nodes serve once");
    }

    /// A node that joins asks its successor for its fingers instead of
    /// looking each one up from its own entries: each useful bit's start
    /// is looked up from the first of them at or past it, within the bit's
    /// range, alone; a bit with none from the node's own entries. The
    /// answer is taken from the successor, once.
    #[test]
    fn a_joining_node_looks_its_fingers_up_from_its_successors() {
        let mut rng = Rng::new(21);
        let peers: Vec<Peer> = (0..3000).map(|i| Peer::new(rng.id(), Address::Memory(i))).collect();
        let directory = Directory::new(peers.clone());
        let joiner = Peer::new(rng.id(), Address::Memory(9999));
        let after = |id: &Id| {
            let mut clockwise = peers.clone();
            clockwise.sort_by_key(|p| id.ring_distance(&p.id));
            clockwise
        };
        let successors = after(&joiner.id);
        let mut successor = Chord::new(successors[0], ChordConfig::default());
        assert!(successor.warm_start(&directory, Time::ZERO, &mut rng));

        let mut chord = Chord::new(joiner, ChordConfig::default());
        chord.bootstrap(&[successors[5]], Role::Member, Time::ZERO);
        let found = LookupOutcome { closest: successors[..16].to_vec(), hops: 3 };
        let joined = chord.lookup_done(joiner.id, &found, Time::ZERO);
        assert!(joined.contains(&Action::Send(successors[0], ChordMessage::GetFingers)), "{joined:?}");
        assert!(!joined.iter().any(|a| matches!(a, Action::Lookup(_))), "{joined:?}");

        let answer = successor.handle_request(&joiner, ChordMessage::GetFingers, Time::ZERO);
        assert!(chord.handle_response(&successors[3], answer.clone(), Time::ZERO).is_empty(), "not the successor");
        let lookups = chord.handle_response(&successors[0], answer.clone(), Time::ZERO);
        let useful = chord.lowest_useful_finger()..ID_BITS as u16;
        assert_eq!(lookups.len(), useful.len());
        let ChordMessage::Fingers(copied) = answer.clone() else { panic!("{answer:?}") };
        let (mut hinted, mut exact) = (0, 0);
        for bit in useful.clone() {
            let start = chord.finger_start(bit);
            assert!(lookups.contains(&Action::Lookup(start)), "bit {bit}");
            let asked: Vec<Peer> = chord.lookup(start, 1, Time::ZERO).poll().into_iter().map(|(p, _)| p).collect();
            let hint = copied.iter().min_by_key(|p| start.ring_distance(&p.id)).copied();
            if let Some(h) = hint.filter(|h| start.ring_distance(&h.id) < Id::pow2(usize::from(bit))) {
                assert_eq!(asked, vec![h], "bit {bit}: the successor's finger alone");
                hinted += 1;
                exact += usize::from(after(&start)[0] == h);
            }
        }
        assert!(hinted * 2 >= useful.len(), "{hinted} of {} bits hinted", useful.len());
        assert!(exact * 2 >= hinted, "{exact} of {hinted} hints exact");
        let again = chord.handle_response(&successors[0], answer, Time::ZERO);
        assert_eq!(again.len(), useful.len(), "taken while the node holds no finger");
        chord.tick(Time::ZERO, &mut Rng::new(1));
        assert!(chord.resume.is_empty(), "hints last one round");
    }

    fn at(id: u64, ip: [u8; 4]) -> Peer {
        Peer::new(Id::pow2(200).wrapping_add(&Id::pow2(id as usize)), Address::Socket((ip, 4000).into()))
    }

    /// A successor on a public address names a list of peers at private
    /// and loopback addresses, which the per-network caps exempt: none is
    /// taken. The list it names on public addresses is capped per network,
    /// and so is the list of the nodes before a predecessor.
    #[test]
    fn a_public_peer_cannot_vouch_for_local_addresses_and_lists_are_capped() {
        let local = Peer::new(Id::ZERO, Address::Memory(0));
        let mut chord = Chord::new(local, ChordConfig::default());
        let successor = at(1, [203, 0, 113, 1]);
        chord.bootstrap(&[successor], Role::Member, Time::ZERO);
        chord.ring.set_successors(successor, &[]);
        chord.joined = true;
        let claimed: Vec<Peer> = (2..12).map(|i| at(i, [10, 0, 0, i as u8])).collect();
        let state = ChordMessage::State { predecessor: Some(local), successors: claimed.clone(), earlier: Vec::new() };
        chord.handle_response(&successor, state, Time::ZERO);
        assert_eq!(chord.ring.successors(), &[successor][..], "no claimed local entry");

        let one_network: Vec<Peer> = (2..12).map(|i| at(i, [198, 51, 100, i as u8])).collect();
        for p in claimed.iter().chain(&one_network) {
            chord.peer_alive(p, Time::ZERO);
        }
        let state =
            ChordMessage::State { predecessor: Some(local), successors: one_network.clone(), earlier: Vec::new() };
        chord.handle_response(&successor, state, Time::ZERO);
        let state = ChordMessage::State { predecessor: Some(local), successors: claimed.clone(), earlier: Vec::new() };
        chord.handle_response(&successor, state, Time::ZERO);
        assert!(
            chord.ring.successors().iter().all(|p| !claimed.contains(p)),
            "no claimed local entry, answered or not"
        );
        let state =
            ChordMessage::State { predecessor: Some(local), successors: one_network.clone(), earlier: Vec::new() };
        chord.handle_response(&successor, state, Time::ZERO);
        let from_network =
            chord.ring.successors().iter().filter(|p| p.addr.net_prefix() == one_network[0].addr.net_prefix()).count();
        assert_eq!(from_network, ChordConfig::default().max_per_prefix);

        chord.ring.set_earlier(&one_network);
        assert_eq!(
            chord.ring.predecessors().len() - usize::from(chord.ring.predecessor().is_some()),
            ChordConfig::default().max_per_prefix
        );
    }

    /// A caller that notifies us takes the predecessor's place only once it
    /// has answered the ping its notice set off, at its own address.
    #[test]
    fn a_notifier_becomes_predecessor_only_after_answering_a_ping() {
        let next = Peer::new(Id::pow2(200), Address::Memory(1));
        let (mut chord, _) = joined_with_successor(next);
        let caller = Peer::new(Id::pow2(255), Address::Memory(2));
        let actions = chord.peer_contacted(&caller, Time::ZERO);
        assert_eq!(actions, vec![Action::Send(caller, ChordMessage::Ping)]);
        chord.handle_request(&caller, ChordMessage::Notify, Time::ZERO);
        assert_eq!(chord.ring.predecessor(), None, "taken on its word");
        chord.peer_alive(&Peer::new(caller.id, Address::Memory(9)), Time::ZERO);
        assert_eq!(chord.ring.predecessor(), None, "an answer from elsewhere counts for nothing");
        chord.peer_alive(&caller, Time::ZERO);
        assert_eq!(chord.ring.predecessor(), Some(caller));
    }

    /// Entries of a successor's list are pinged, and taken only once they
    /// answer at the address the list gave.
    #[test]
    fn copied_entries_are_taken_only_after_answering_a_ping() {
        let next = Peer::new(Id::pow2(200), Address::Memory(1));
        let (mut chord, local) = joined_with_successor(next);
        let listed: Vec<Peer> =
            (0..3usize).map(|i| Peer::new(Id::pow2(201 + i), Address::Memory(10 + i as u32))).collect();
        let state =
            || ChordMessage::State { predecessor: Some(local), successors: listed.clone(), earlier: Vec::new() };
        let actions = chord.handle_response(&next, state(), Time::ZERO);
        assert_eq!(chord.ring.successors(), &[next][..], "taken on the successor's word");
        for p in &listed {
            assert!(actions.contains(&Action::Send(*p, ChordMessage::Ping)), "{p:?} is pinged");
        }
        chord.peer_alive(&listed[0], Time::ZERO);
        chord.peer_alive(&listed[2], Time::ZERO);
        chord.handle_response(&next, state(), Time::ZERO);
        assert_eq!(chord.ring.successors(), &[next, listed[0], listed[2]][..]);
    }

    /// A liar names our successor's id at a dead address: the failures there
    /// leave the successor in place.
    #[test]
    fn failures_at_another_address_leave_the_successor_alone() {
        let next = Peer::new(Id::pow2(200), Address::Memory(1));
        let (mut chord, _) = joined_with_successor(next);
        let bogus = Peer::new(next.id, Address::Memory(99));
        for _ in 0..5 {
            chord.peer_failed(&bogus, Time::ZERO);
        }
        assert_eq!(chord.ring.successor(), next);
        for _ in 0..ChordConfig::default().failures_to_drop {
            chord.peer_failed(&next, Time::ZERO);
        }
        assert_ne!(chord.ring.successor(), next, "its own failures still count");
    }

    /// A successor list that ends at our id + 1 makes every finger useful,
    /// down to finger 0; the finger round then wraps instead of counting
    /// below zero (which panicked, killing the node's task).
    #[test]
    fn the_finger_round_wraps_when_every_finger_is_useful() {
        let next = Peer::new(Id::pow2(0), Address::Memory(1));
        let (mut chord, _) = joined_with_successor(next);
        assert_eq!(chord.lowest_useful_finger(), 0);
        let mut rng = Rng::new(1);
        let mut finger_zero = 0;
        for _ in 0..2 * ID_BITS + 2 {
            let actions = chord.tick(Time::ZERO, &mut rng);
            finger_zero += actions.iter().filter(|a| **a == Action::Lookup(chord.finger_start(0))).count();
        }
        assert_eq!(finger_zero, 2, "finger 0 is fixed once per round");
    }

    #[test]
    fn a_warm_start_takes_the_true_neighbours_and_fingers() {
        let mut rng = Rng::new(12);
        let peers: Vec<Peer> = (0..2000).map(|i| Peer::new(rng.id(), Address::Memory(i))).collect();
        let directory = Directory::new(peers.clone());
        // The true successor of an id: the nearest peer clockwise, itself included.
        let successor = |id: &Id| *peers.iter().min_by_key(|p| id.ring_distance(&p.id)).unwrap();
        for me in peers.iter().step_by(97) {
            let mut chord = Chord::new(*me, ChordConfig::default());
            assert!(chord.warm_start(&directory, Time::ZERO, &mut rng));
            let mut clockwise: Vec<Peer> = peers.iter().filter(|p| p.id != me.id).copied().collect();
            clockwise.sort_by_key(|p| me.id.ring_distance(&p.id));
            assert_eq!(chord.ring().successors(), &clockwise[..ChordConfig::default().successors]);
            assert_eq!(chord.ring().predecessor(), clockwise.last().copied());
            assert!(!chord.ring().fingers().is_empty());
            for (bit, finger) in chord.ring().fingers() {
                assert_eq!(*finger, successor(&chord.finger_start(*bit)), "finger {bit}");
            }
            // Every finger worth keeping is kept: the farthest ones always are.
            assert_eq!(chord.ring().fingers().get(&255), Some(&successor(&chord.finger_start(255))));
        }
    }
}
