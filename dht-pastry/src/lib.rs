//! `dht-pastry`: the Pastry overlay (Rowstron & Druschel, Middleware 2001)
//! for the `dht` framework, written against the published surface of
//! `dht-core` only.
//!
//! - [`digits`]: ids as strings of base-2^b digits (b = 4 by default).
//! - [`table`]: the routing table — row `l`, column `d` holds a node that
//!   shares `l` digits with this one and has `d` next.
//! - [`leaf_set`]: the L/2 numerically nearest nodes on each side (L = 16);
//!   keys live on the nodes numerically closest to them, so replicas lie in
//!   the leaf set.
//! - [`lookup`]: iterative prefix routing, one request at a time.
//!
//! A lookup for key `D` at a node whose leaf set covers `D` ends there: the
//! node answers with the nodes closest to `D`. Any other node names the
//! routing-table entry that shares one more digit with `D`, or, where that
//! slot is empty (the paper's rare case), a known node sharing as many
//! digits and numerically closer — so a lookup takes fewer than
//! ⌈log_{2^b} N⌉ steps on average. A join looks up the node's own id, takes
//! the leaf set of the node it reaches and the routing-table rows of that
//! node (which shares the longest prefix with it), and announces itself by
//! pinging everyone it took; every node takes a peer into its leaf set or
//! an empty table slot only once it has answered at its address. Each
//! maintenance round trades leaf sets with the two nearest leaves (and the
//! furthest of a side that failures left short), pings a
//! quarter of the other leaves and a twelfth of the table in turn and any
//! entry that failed once (a leaf that dies drops out of every leaf set
//! within a few rounds, a table entry within about a minute), and
//! refreshes one routing-table row from a node of that row.
//!
//! Not built: the neighbourhood set and proximity-aware table entries —
//! the `Overlay` interface hands an overlay no round-trip times, so a
//! slot keeps the first live node found for it.
//!
//! ```
//! use dht_pastry::{Pastry, PastryConfig};
//! use dht_core::{Address, Id, MemoryStore, Node, NodeConfig, Peer, Time};
//!
//! let me = Peer::new(Id::hash(b"node-1"), Address::Memory(1));
//! let mut node = Node::new(Pastry::new(me, PastryConfig::default()), MemoryStore::default(), NodeConfig::default(), 7, Time::ZERO);
//! node.bootstrap(&[], Time::ZERO);
//! let op = node.put(Id::hash(b"greeting"), &b"hello"[..], Time::ZERO);
//! assert_eq!(node.poll_event().unwrap().op, op);
//! ```

mod config;
pub mod digits;
pub mod leaf_set;
pub mod lookup;
pub mod table;

pub use config::PastryConfig;
pub use leaf_set::{LeafSet, Side};
pub use lookup::PastryLookup;
pub use table::RoutingTable;

use dht_core::{
    nearest_first, vouches, Action, Directory, Id, LookupOutcome, Overlay, Peer, Rng, Role, SimOverlay, Time,
};
use digits::{numeric_distance, Digits};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Pastry's messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PastryMessage {
    /// Request: route toward `key`; the asker wants the `wanted` nodes
    /// closest to it.
    Route {
        /// The key.
        key: Id,
        /// How many of the closest nodes the asker needs.
        wanted: u8,
    },
    /// Answer: the key lies within my leaf set; the nodes closest to it,
    /// closest first.
    Closest(Vec<Peer>),
    /// Answer: ask these next, best first.
    Next(Vec<Peer>),
    /// Request: your leaf set.
    GetLeaves,
    /// Answer to `GetLeaves`.
    Leaves(Vec<Peer>),
    /// Request: the entries of your routing-table rows `first..=last`.
    GetRows {
        /// First row.
        first: u8,
        /// Last row.
        last: u8,
    },
    /// Answer to `GetRows`.
    Rows(Vec<Peer>),
    /// Request: I am leaving; here is my leaf set.
    Leaving(Vec<Peer>),
    /// Request: are you alive?
    Ping,
    /// Answer to anything that needs no data.
    Ack,
}

/// A Pastry node's routing logic.
#[derive(Debug, Clone)]
pub struct Pastry {
    config: PastryConfig,
    digits: Digits,
    local: Peer,
    leaves: LeafSet,
    table: RoutingTable,
    bootstrap: Vec<Peer>,
    /// A client never takes a place in the overlay (see [`Role`]).
    role: Role,
    joined: bool,
    /// Maintenance rounds run so far.
    rounds: u64,
    /// Requests in a row each peer has failed, and the round of the last.
    failures: BTreeMap<Id, (u8, u64)>,
    /// Peers that answered a request of ours at their address — only these
    /// enter the leaf set or the table — with the round they were last
    /// heard from (an answer, or a request of theirs): a peer heard from
    /// lately needs no probe.
    answered: BTreeMap<Peer, u64>,
}

/// Rounds a leaf may stay unheard from before it is probed.
const LEAF_PROBE_ROUNDS: u64 = 4;

/// Rounds a routing-table entry may stay unheard from before it is probed
/// (about a minute at the default interval).
const TABLE_PROBE_ROUNDS: u64 = 12;

/// Most peers remembered as having answered; past it, those no longer in
/// the routing state are forgotten.
const MAX_ANSWERED: usize = 1024;

/// Most entries taken from one list a peer sends (a leaf set holds 16 by
/// default, rows 15 each).
const MAX_LIST: usize = 128;

/// Peers nearest a joining node's id that it asks for their leaf sets:
/// the nearest may be joining too, and has none to give.
const JOIN_LEAF_SOURCES: usize = 3;

/// Rounds after which a peer's old failures are forgotten.
const FAILURE_MEMORY_ROUNDS: u64 = 20;

impl Pastry {
    /// The overlay for node `local`.
    pub fn new(local: Peer, config: PastryConfig) -> Pastry {
        let digits = Digits::new(config.bits());
        Pastry {
            leaves: LeafSet::new(local, config.half_leaf_set(), config.max_per_prefix),
            table: RoutingTable::new(local.id, digits),
            digits,
            local,
            config,
            bootstrap: Vec::new(),
            role: Role::Member,
            joined: false,
            rounds: 0,
            failures: BTreeMap::new(),
            answered: BTreeMap::new(),
        }
    }

    /// The leaf set, for inspection and pictures.
    pub fn leaf_set(&self) -> &LeafSet {
        &self.leaves
    }

    /// The routing table, for inspection and pictures.
    pub fn routing_table(&self) -> &RoutingTable {
        &self.table
    }

    /// Leaves beyond a key that a node needs to answer for `wanted` nodes
    /// closest to it.
    fn margin(&self, wanted: usize) -> usize {
        wanted.min(self.config.half_leaf_set() - 1)
    }

    /// The nodes closest to `key`, if this node's leaf set covers it with
    /// `wanted` nodes to spare.
    fn answer_locally(&self, key: &Id, wanted: usize) -> Option<Vec<Peer>> {
        (self.joined && self.leaves.covers(key, self.margin(wanted))).then(|| self.leaves.closest(key))
    }

    /// Every node in the routing state, leaves first.
    fn known(&self) -> Vec<Peer> {
        let mut known = self.leaves.all();
        known.extend(self.table.entries().filter(|p| !self.leaves.contains(p)));
        known
    }

    /// Known nodes nearer to `key` than this one in Pastry's order — more
    /// digits shared with it, or as many and numerically closer — best
    /// first: the routing-table entry for the key's next digit leads when
    /// there is one; the others are the paper's rare case, and fall-backs.
    fn next_hops(&self, key: &Id) -> Vec<Peer> {
        let own = self.digits.rank(&self.local.id, key);
        let candidates = self.leaves.all().into_iter().chain(self.table.entries().copied());
        let mut better: Vec<((usize, Id), Peer)> =
            candidates.map(|p| (self.digits.rank(&p.id, key), p)).filter(|(r, _)| *r < own).collect();
        better.sort_unstable_by_key(|(r, p)| (*r, p.id));
        better.dedup_by_key(|(_, p)| p.id);
        better.into_iter().take(self.config.next_hops).map(|(_, p)| p).collect()
    }

    /// Takes an answering peer into the leaf set and the table where it fits.
    fn admit(&mut self, peer: Peer) {
        if self.role.is_client() || peer.id == self.local.id {
            return;
        }
        self.leaves.offer(peer);
        self.table.offer(peer);
    }

    /// The entries of a list from `from` this node takes now (those that
    /// answered it at their address); a ping goes to each other entry the
    /// leaf set or the table wants, which is taken once it answers.
    fn checked(&self, from: &Peer, list: Vec<Peer>, actions: &mut Vec<Action<PastryMessage>>) -> Vec<Peer> {
        let mut taken = Vec::new();
        for peer in list.into_iter().filter(|p| vouches(from, p) && p.id != self.local.id).take(MAX_LIST) {
            if self.answered.contains_key(&peer) {
                taken.push(peer);
            } else if self.leaves.wants(&peer) || self.table.wants(&peer) {
                actions.push(Action::Send(peer, PastryMessage::Ping));
            }
        }
        taken
    }

    /// Whether `peer`'s id is in the routing state at another address: its
    /// failures there say nothing about the entry (a liar can name any id
    /// at a dead address).
    fn holds_elsewhere(&self, peer: &Peer) -> bool {
        let elsewhere = |p: &Peer| p.id == peer.id && p.addr != peer.addr;
        self.leaves.all().iter().any(elsewhere) || self.table.at_slot_of(&peer.id).is_some_and(|p| elsewhere(&p))
    }

    /// Requests that fetch the state a joining node needs from `root`, the
    /// node numerically closest to it: its leaf set, and the table rows it
    /// shares a prefix with this node for.
    fn fetch_state(&self, root: Peer) -> Vec<Action<PastryMessage>> {
        let last = self.digits.shared_prefix(&root.id, &self.local.id).min(usize::from(u8::MAX)) as u8;
        vec![
            Action::Send(root, PastryMessage::GetLeaves),
            Action::Send(root, PastryMessage::GetRows { first: 0, last }),
        ]
    }
}

impl Overlay for Pastry {
    type Message = PastryMessage;
    type Lookup = PastryLookup;
    const NAME: &'static str = "pastry";

    fn local(&self) -> Peer {
        self.local
    }

    /// A node has joined once it holds a leaf set from the network; a
    /// client, never in the overlay, as soon as it knows whom to ask.
    fn is_joined(&self) -> bool {
        self.joined || self.role.is_client()
    }

    fn bootstrap(&mut self, peers: &[Peer], role: Role, _now: Time) -> Vec<Action<PastryMessage>> {
        self.role = role;
        self.bootstrap = peers.iter().filter(|p| p.id != self.local.id).copied().collect();
        if self.role.is_client() {
            return Vec::new();
        }
        if self.bootstrap.is_empty() {
            self.joined = true;
            return Vec::new();
        }
        vec![Action::Lookup(self.local.id)]
    }

    fn handle_request(&mut self, from: &Peer, message: PastryMessage, _now: Time) -> PastryMessage {
        if !self.joined {
            return match message {
                PastryMessage::Route { .. } => PastryMessage::Next(Vec::new()),
                _ => PastryMessage::Ack,
            };
        }
        match message {
            PastryMessage::Route { key, wanted } => match self.answer_locally(&key, usize::from(wanted)) {
                Some(closest) => PastryMessage::Closest(closest),
                None => match self.next_hops(&key) {
                    next if next.is_empty() => PastryMessage::Closest(self.leaves.closest(&key)),
                    next => PastryMessage::Next(next),
                },
            },
            PastryMessage::GetLeaves => PastryMessage::Leaves(self.leaves.all()),
            PastryMessage::GetRows { first, last } => PastryMessage::Rows(
                (usize::from(first)..=usize::from(last).min(self.table.rows()))
                    .flat_map(|row| self.table.row(row))
                    .take(MAX_LIST)
                    .collect(),
            ),
            PastryMessage::Leaving(leaves) => {
                self.leaves.remove(&from.id);
                self.table.remove(&from.id);
                // No ping can go out from here: only leaves that answered
                // us already fill the gap; maintenance finds the rest.
                let answered: Vec<Peer> = leaves
                    .into_iter()
                    .filter(|p| vouches(from, p) && self.answered.contains_key(p))
                    .take(MAX_LIST)
                    .collect();
                for peer in answered {
                    self.admit(peer);
                }
                PastryMessage::Ack
            }
            PastryMessage::Ping
            | PastryMessage::Ack
            | PastryMessage::Closest(_)
            | PastryMessage::Next(_)
            | PastryMessage::Leaves(_)
            | PastryMessage::Rows(_) => PastryMessage::Ack,
        }
    }

    fn handle_response(&mut self, from: &Peer, message: PastryMessage, _now: Time) -> Vec<Action<PastryMessage>> {
        let mut actions = Vec::new();
        match message {
            PastryMessage::Leaves(list) => {
                let taken = self.checked(from, list, &mut actions);
                let nearest = [Side::Right, Side::Left].into_iter().find(|s| self.leaves.nearest(*s) == Some(*from));
                if let Some(side) = nearest {
                    self.leaves.rebuild(side, *from, taken.iter().copied());
                }
                for peer in taken {
                    self.admit(peer);
                }
                if !self.joined && !self.leaves.is_empty() {
                    self.joined = true;
                }
            }
            PastryMessage::Rows(list) => {
                for peer in self.checked(from, list, &mut actions) {
                    self.admit(peer);
                }
            }
            _ => {}
        }
        actions
    }

    fn lookup(&mut self, target: Id, wanted: usize, _now: Time) -> PastryLookup {
        if let Some(closest) = self.answer_locally(&target, wanted) {
            return PastryLookup::resolved(target, self.digits, closest, wanted);
        }
        let mut first = self.next_hops(&target);
        if first.is_empty() {
            first = self.leaves.closest(&target);
        }
        first.extend(self.bootstrap.iter().copied());
        if self.role.is_client() {
            // A client's seeds may each have failed once and gone from its
            // list; the peers that answered it lately are where it starts.
            first.extend(self.answered.keys().copied());
        }
        first.retain(|p| p.id != self.local.id);
        PastryLookup::new(target, self.digits, first, wanted)
    }

    fn lookup_done(&mut self, target: Id, outcome: &LookupOutcome, _now: Time) -> Vec<Action<PastryMessage>> {
        if target != self.local.id || self.joined {
            return Vec::new();
        }
        let mut actions = Vec::new();
        let local = self.local.id;
        let mut nearest = outcome.closest.iter().filter(|p| p.id != local).copied();
        let Some(root) = nearest.next() else { return actions };
        for peer in self.checked(&root, outcome.closest.clone(), &mut actions) {
            self.admit(peer);
        }
        actions.extend(self.fetch_state(root));
        // The root may be joining itself, and a joining node has no leaf
        // set to give: the next nearest are asked too, or a cluster of
        // joiners that found each other would wait on each other for ever.
        actions.extend(nearest.take(JOIN_LEAF_SOURCES - 1).map(|p| Action::Send(p, PastryMessage::GetLeaves)));
        actions
    }

    fn replica_set(&self, key: &Id, n: usize) -> Vec<Peer> {
        // Each distance is worked out once, and only the nearest `n` are
        // sorted: repair asks this for every key it holds.
        let mut all: Vec<((Id, Id), Peer)> =
            self.known().into_iter().chain([self.local]).map(|p| ((numeric_distance(&p.id, key), p.id), p)).collect();
        nearest_first(&mut all, n, |a, b| a.0.cmp(&b.0));
        all.into_iter().map(|(_, p)| p).collect()
    }

    /// A node knows a key's replicas when its leaf set covers the key with
    /// `n` leaves beyond it.
    fn knows_replica_set(&self, key: &Id, n: usize) -> bool {
        self.leaves.covers(key, self.margin(n))
    }

    fn tick(&mut self, _now: Time, rng: &mut Rng) -> Vec<Action<PastryMessage>> {
        self.rounds += 1;
        let recent = self.rounds.saturating_sub(FAILURE_MEMORY_ROUNDS);
        self.failures.retain(|_, (_, last)| *last >= recent);
        if self.role.is_client() {
            return Vec::new();
        }
        if !self.joined {
            return if self.bootstrap.is_empty() { Vec::new() } else { vec![Action::Lookup(self.local.id)] };
        }
        let mut actions = Vec::new();
        // Trade leaf sets with the nearest leaf on each side, and, on a side
        // that failures have left short, ask its furthest leaf too (the
        // paper's leaf-set repair): its set reaches past ours.
        let sides = [Side::Right, Side::Left];
        let mut asked: Vec<Peer> = sides.iter().filter_map(|s| self.leaves.nearest(*s)).collect();
        asked.extend(sides.iter().filter_map(|s| self.leaves.furthest_if_short(*s)));
        asked.sort_unstable();
        asked.dedup();
        actions.extend(asked.iter().map(|p| Action::Send(*p, PastryMessage::GetLeaves)));
        // Ping every other leaf not heard from for four rounds, and again
        // at once any entry that has just failed once: a dead leaf is
        // dropped within a few rounds, even before its own neighbours
        // drop it. A leaf that asked or answered us since is alive and
        // needs no probe: most leaves probe each other, and trade sets.
        let all = self.leaves.all();
        // Rounds count by wrapping: a warm start's entries were last heard
        // before round 0.
        let quiet =
            |p: &&Peer, rounds: u64| self.answered.get(*p).is_none_or(|h| self.rounds.wrapping_sub(*h) >= rounds);
        let mut probed: Vec<Peer> = all.iter().filter(|p| quiet(p, LEAF_PROBE_ROUNDS)).copied().collect();
        // Routing-table entries the same way, after twelve rounds (about
        // a minute at the default interval): a dead entry would otherwise
        // be named to every lookup passing by.
        probed.extend(self.table.entries().filter(|p| quiet(p, TABLE_PROBE_ROUNDS)));
        probed.extend(self.known().into_iter().filter(|p| self.failures.contains_key(&p.id)));
        probed.retain(|p| !asked.contains(p));
        probed.sort_unstable();
        probed.dedup();
        actions.extend(probed.into_iter().map(|p| Action::Send(p, PastryMessage::Ping)));
        // Refresh one routing-table row from one of its entries (a leaf
        // while the row is empty), in turn down the table.
        let row = (self.rounds as usize) % (self.table.rows() + 1);
        let entries = self.table.row(row);
        let pool = if entries.is_empty() { &all } else { &entries };
        if let Some(source) = (!pool.is_empty()).then(|| pool[rng.index(pool.len())]) {
            let row = row.min(usize::from(u8::MAX)) as u8;
            actions.push(Action::Send(source, PastryMessage::GetRows { first: row, last: row }));
        }
        actions
    }

    fn tick_interval(&self) -> Duration {
        self.config.maintenance_interval
    }

    fn peer_alive(&mut self, peer: &Peer, _now: Time) {
        self.failures.remove(&peer.id);
        if self.answered.len() >= MAX_ANSWERED {
            let known: BTreeSet<Peer> = self.known().into_iter().collect();
            self.answered.retain(|p, _| known.contains(p));
        }
        self.answered.insert(*peer, self.rounds);
        self.admit(*peer);
    }

    /// A node that asks something is taken only once it has answered a
    /// ping at its address, and is pinged only if it would fill a place.
    fn peer_contacted(&mut self, peer: &Peer, _now: Time) -> Vec<Action<PastryMessage>> {
        self.failures.remove(&peer.id);
        if let Some(heard) = self.answered.get_mut(peer) {
            *heard = self.rounds;
        }
        if !self.joined || self.role.is_client() || self.leaves.contains(peer) || self.table.holds(peer) {
            return Vec::new();
        }
        if !(self.leaves.wants(peer) || self.table.wants(peer)) {
            return Vec::new();
        }
        if self.answered.contains_key(peer) {
            self.admit(*peer);
            return Vec::new();
        }
        vec![Action::Send(*peer, PastryMessage::Ping)]
    }

    fn peer_failed(&mut self, peer: &Peer, _now: Time) {
        self.bootstrap.retain(|p| p != peer);
        self.answered.remove(peer);
        if self.holds_elsewhere(peer) {
            return;
        }
        let (failures, last) = self.failures.entry(peer.id).or_insert((0, self.rounds));
        *failures = failures.saturating_add(1);
        *last = self.rounds;
        if *failures < self.config.failures_to_drop {
            return;
        }
        self.failures.remove(&peer.id);
        self.leaves.remove(&peer.id);
        self.table.remove(&peer.id);
    }

    fn leave(&mut self, _now: Time) -> Vec<Action<PastryMessage>> {
        let leaves = self.leaves.all();
        leaves.iter().map(|p| Action::Send(*p, PastryMessage::Leaving(leaves.clone()))).collect()
    }

    fn neighbours(&self) -> Vec<Peer> {
        self.known()
    }

    /// Keys a node holds are placed by its leaf set alone.
    fn view_epoch(&self) -> u64 {
        dht_core::fingerprint(&self.leaves.all())
    }
}

impl SimOverlay for Pastry {
    fn routing_entries(&self) -> usize {
        self.leaves.all().len() + self.table.len()
    }

    /// The paper's bound: fewer than ⌈log_{2^b} N⌉ steps on average.
    fn hop_bound(&self, nodes: usize) -> f64 {
        (nodes.max(2) as f64).log(self.digits.base() as f64).ceil()
    }

    fn hop_bound_formula(&self) -> String {
        format!("⌈log{} N⌉", self.digits.base())
    }

    /// The leaf set is the nearest nodes on each side; each table slot
    /// holds a node drawn at random from those whose ids fall in it (as
    /// the proximity rule would spread them), row by row while the node's
    /// own prefix is shared by others.
    fn warm_start(&mut self, directory: &Directory, _now: Time, rng: &mut Rng) -> bool {
        if self.role.is_client() {
            return false;
        }
        let (local, half) = (self.local.id, self.config.half_leaf_set());
        let near = directory.successors(&local, half + 1).chain(directory.predecessors(&local, half + 1));
        for peer in near.filter(|p| p.id != local).copied().collect::<Vec<_>>() {
            self.leaves.offer(peer);
        }
        for row in 0..self.digits.count() {
            let own = self.digits.digit(&local, row);
            for column in (0..self.digits.base()).filter(|c| *c != own) {
                let (first, last) = self.digits.slot_range(&local, row, column);
                let slot = directory.range(&first, &last);
                if !slot.is_empty() {
                    self.table.offer(slot[rng.index(slot.len())]);
                }
            }
            // Rows below are filled from the nodes sharing one more digit.
            let (first, last) = self.digits.slot_range(&local, row, own);
            if directory.range(&first, &last).len() <= 1 {
                break;
            }
        }
        // As if the protocol had run: every entry has answered, at rounds
        // spread over its probe cycle as running probes leave them (all at
        // round 0, every probe of the network would fall in one round).
        let heard = |p: &Peer, cycle: u64| 0u64.wrapping_sub(u64::from(p.id.0[31]) % cycle);
        self.answered = self.table.entries().map(|p| (*p, heard(p, TABLE_PROBE_ROUNDS))).collect();
        self.answered.extend(self.leaves.all().into_iter().map(|p| (p, heard(&p, LEAF_PROBE_ROUNDS))));
        self.joined = true;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::leaf_set::test_peer as p;
    use super::*;

    fn pinged(actions: &[Action<PastryMessage>]) -> Vec<Peer> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Send(peer, PastryMessage::Ping) => Some(*peer),
                _ => None,
            })
            .collect()
    }

    /// A leaf is probed once it has gone four rounds unheard from; one
    /// that asked us something meanwhile is not.
    #[test]
    fn only_leaves_unheard_from_for_four_rounds_are_probed() {
        let mut pastry = Pastry::new(p(100), PastryConfig::default());
        pastry.bootstrap(&[], Role::Member, Time::ZERO);
        for n in [90, 110, 80, 120] {
            pastry.peer_alive(&p(n), Time::ZERO);
        }
        let mut rng = Rng::new(1);
        for round in 1..LEAF_PROBE_ROUNDS {
            assert!(pinged(&pastry.tick(Time::ZERO, &mut rng)).is_empty(), "round {round}");
        }
        pastry.peer_contacted(&p(120), Time::ZERO);
        // The nearest leaf on each side is asked for its leaf set instead.
        assert_eq!(pinged(&pastry.tick(Time::ZERO, &mut rng)), vec![p(80)]);
    }

    /// A joining node whose nearest peer is joining too — it answers a
    /// leaf-set request with nothing — joins through the next nearest.
    #[test]
    fn a_joiner_whose_nearest_peer_is_joining_too_joins_through_the_next() {
        let mut joiner = Pastry::new(p(100), PastryConfig::default());
        let mut fellow = Pastry::new(p(101), PastryConfig::default());
        let mut member = Pastry::new(p(98), PastryConfig::default());
        member.bootstrap(&[], Role::Member, Time::ZERO);
        member.peer_alive(&p(101), Time::ZERO);
        fellow.bootstrap(&[p(98)], Role::Member, Time::ZERO);
        joiner.bootstrap(&[p(98)], Role::Member, Time::ZERO);
        let found = LookupOutcome { closest: vec![p(101), p(98), p(100)], hops: 1 };
        let asked: Vec<Peer> = joiner
            .lookup_done(p(100).id, &found, Time::ZERO)
            .into_iter()
            .filter_map(|a| match a {
                Action::Send(peer, PastryMessage::GetLeaves) => Some(peer),
                _ => None,
            })
            .collect();
        assert_eq!(asked, vec![p(101), p(98)], "the nearest and the next");
        for peer in asked {
            let (from, answer) = if peer == p(101) {
                (p(101), fellow.handle_request(&p(100), PastryMessage::GetLeaves, Time::ZERO))
            } else {
                (p(98), member.handle_request(&p(100), PastryMessage::GetLeaves, Time::ZERO))
            };
            joiner.peer_alive(&from, Time::ZERO);
            joiner.handle_response(&from, answer, Time::ZERO);
        }
        assert!(!fellow.is_joined(), "the nearest has no leaf set to give");
        assert!(joiner.is_joined(), "the next nearest's leaf set let it join");
    }
}
