//! A discrete-event simulator that runs the real node and overlay logic in
//! virtual time, without tokio: per-link latency, loss, partitions, silent
//! crashes, graceful leaves, joins and churn, all drawn from one seed. The
//! same seed gives the same run, event for event ([`Simulation::trace_digest`]).
//! A network is built by joins ([`Simulation::grow`]) or, for 100,000
//! nodes, started warm from the routing state it would settle to
//! ([`Simulation::warm_start`]).

mod churn;
mod network;
mod queue;

pub use churn::Lifetime;
pub use network::Latency;

use crate::metrics::NodeSample;
use dht_core::{
    wire, Address, Directory, Event, Id, MemoryStore, Node, NodeConfig, OpId, Peer, Record, Request, Response, Rng,
    Role, SimOverlay, Time, Transmit,
};
use network::Partitions;
use queue::{EventKind, Queue};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Settings of a simulation.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The seed every random choice derives from.
    pub seed: u64,
    /// Node settings (replicas, quorums, timeouts, repair).
    pub node: NodeConfig,
    /// Link latency.
    pub latency: Latency,
    /// Probability that any one message is lost.
    pub loss: f64,
    /// Pass every message through the wire codec (encode, then decode), as
    /// a real transport would. Slower; catches messages that do not survive
    /// the codec.
    pub wire_check: bool,
}

impl SimConfig {
    /// Defaults with the given seed: 3 replicas, 10–100 ms links, no loss.
    pub fn new(seed: u64) -> SimConfig {
        // Repair sooner than a production node would: simulated runs are minutes long.
        let mut node = NodeConfig::default();
        node.repair_interval = Duration::from_secs(30);
        SimConfig { seed, node, latency: Latency::default(), loss: 0.0, wire_check: false }
    }
}

/// How malicious nodes answer: given the node's index, the sender and the
/// request, the response to send instead of the honest one (`None`: answer
/// honestly).
pub type Adversary<M> = Box<dyn FnMut(u32, &Peer, &Request<M>) -> Option<Response<M>>>;

/// An operation started in the simulation: the node and its operation id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpRef {
    /// Index of the node that runs it.
    pub node: u32,
    /// Which run of that node: a node restarted after
    /// [`Simulation::stop`] numbers its operations afresh, and an
    /// operation of an earlier run must not be taken for a new one's.
    pub run: u32,
    /// The node's id for it.
    pub op: OpId,
}

struct Slot<O: SimOverlay> {
    peer: Peer,
    node: Option<Node<O, MemoryStore>>,
    wake_at: Option<Time>,
    /// The store of a node stopped with [`Simulation::stop`]: its disk,
    /// kept for [`Simulation::restart`].
    disk: Option<MemoryStore>,
    /// A member, or a client ([`Simulation::add_client`]).
    role: Role,
    /// Times the node was started: its current run.
    runs: u32,
}

/// How far a run has come, handed to the observer of
/// [`Simulation::on_progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimProgress {
    /// Virtual time.
    pub now: Time,
    /// Events processed so far (messages, answers, timers).
    pub events: u64,
    /// Nodes added so far, up or not.
    pub nodes: usize,
    /// User operations finished so far (puts, gets, lookups; leaves are
    /// not counted).
    pub ops_finished: u64,
}

/// What [`Simulation::on_progress`] calls.
type Observer = Box<dyn FnMut(&SimProgress)>;

/// Events between two calls of the progress observer.
const PROGRESS_EVERY: u64 = 16_384;

/// Live members a joining node is given to join through, as a deployment's
/// bootstrap list names several: a joiner given one, which died during the
/// join or knew only other newcomers, could end up in an island of its own.
const BOOTSTRAP_PEERS: usize = 3;

/// A simulated network of nodes running overlay `O`.
pub struct Simulation<O: SimOverlay> {
    config: SimConfig,
    make_overlay: Box<dyn Fn(Peer) -> O>,
    now: Time,
    rng: Rng,
    queue: Queue<O::Message>,
    slots: Vec<Slot<O>>,
    partitions: Partitions,
    results: BTreeMap<OpRef, Event>,
    churn: Option<(Lifetime, u64)>,
    churn_epoch: u64,
    digest: u64,
    delivered: u64,
    wire_errors: u64,
    malicious: BTreeSet<u32>,
    adversary: Option<Adversary<O::Message>>,
    events: u64,
    ops_finished: u64,
    observer: Option<Observer>,
    /// What [`Simulation::flush`] collects from a node, kept between calls
    /// so that a message handled does not cost an allocation.
    outbox: Vec<Transmit<O::Message>>,
}

impl<O: SimOverlay> Simulation<O> {
    /// An empty simulation; `make_overlay` builds the overlay of each new node.
    pub fn new(config: SimConfig, make_overlay: impl Fn(Peer) -> O + 'static) -> Simulation<O> {
        Simulation {
            rng: Rng::new(config.seed),
            config,
            make_overlay: Box::new(make_overlay),
            now: Time::ZERO,
            queue: Queue::new(),
            slots: Vec::new(),
            partitions: Partitions::default(),
            results: BTreeMap::new(),
            churn: None,
            churn_epoch: 0,
            digest: 0xcbf2_9ce4_8422_2325,
            delivered: 0,
            wire_errors: 0,
            malicious: BTreeSet::new(),
            adversary: None,
            events: 0,
            ops_finished: 0,
            observer: None,
            outbox: Vec::new(),
        }
    }

    /// Calls `observer` every few thousand events with how far the run
    /// has come, so that a long run can show progress. It sees the run and
    /// does not change it: the same seed gives the same run with or without.
    pub fn on_progress(&mut self, observer: impl FnMut(&SimProgress) + 'static) {
        self.observer = Some(Box::new(observer));
    }

    /// Calls the observer of [`Simulation::on_progress`] now (the end of
    /// a stage of the run, say), besides every few thousand events.
    pub fn report_progress(&mut self) {
        let progress = self.progress();
        if let Some(observer) = &mut self.observer {
            observer(&progress);
        }
    }

    /// How far the run has come.
    pub fn progress(&self) -> SimProgress {
        SimProgress { now: self.now, events: self.events, nodes: self.slots.len(), ops_finished: self.ops_finished }
    }

    /// The current virtual time.
    pub fn now(&self) -> Time {
        self.now
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The simulation's random generator, for workloads that must be
    /// reproducible with the rest of the run.
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// Adds a node that joins through three random live members that have
    /// joined (it starts the network if there is none). Returns its index.
    pub fn add_node(&mut self) -> u32 {
        let index = self.add_slot(Role::Member);
        if let Some((lifetime, epoch)) = self.churn {
            let after = lifetime.sample(&mut self.rng);
            self.schedule_failure(index, after, epoch);
        }
        index
    }

    /// Adds a client ([`Role::Client`]): it joins through random live
    /// members and routes and runs operations, but takes no place in the
    /// overlay and holds no records; members answer it without taking it
    /// into their routing state. Churn never stops it. Returns its index.
    pub fn add_client(&mut self) -> u32 {
        self.add_slot(Role::Client)
    }

    /// A new slot with a fresh id, its node started in `role`; its index.
    fn add_slot(&mut self, role: Role) -> u32 {
        let index = self.slots.len() as u32;
        let peer = Peer::new(self.rng.id(), Address::Memory(index));
        self.slots.push(Slot { peer, node: None, wake_at: None, disk: None, role, runs: 0 });
        self.boot(index, MemoryStore::new(self.config.node.quota), u64::from(index));
        index
    }

    /// Starts a node in slot `index` on `store`, joining through
    /// [`BOOTSTRAP_PEERS`] random live members that have joined (fewer if
    /// the network is smaller); `incarnation` varies its random seed
    /// between restarts.
    fn boot(&mut self, index: u32, store: MemoryStore, incarnation: u64) {
        let Some(peer) = self.peer(index) else { return };
        let overlay = (self.make_overlay)(peer);
        let seed = Rng::derive(self.config.seed, incarnation).next_u64();
        let mut config = self.config.node.clone();
        let slot = &mut self.slots[index as usize];
        config.role = slot.role;
        slot.runs += 1;
        let mut node = Node::new(overlay, store, config, seed, self.now);
        let mut bootstrap: Vec<Peer> = Vec::with_capacity(BOOTSTRAP_PEERS);
        for _ in 0..BOOTSTRAP_PEERS {
            if let Some(peer) = self.random_joined_member().and_then(|i| self.peer(i)) {
                if !bootstrap.contains(&peer) {
                    bootstrap.push(peer);
                }
            }
        }
        node.bootstrap(&bootstrap, self.now);
        self.slots[index as usize].node = Some(node);
        self.flush(index);
    }

    /// Starts a network of `n` nodes at once, each with the routing state
    /// the settled network would give it ([`SimOverlay::warm_start`]): how a
    /// simulation reaches 100,000 nodes without 100,000 joins. Everything
    /// after — lookups, stores, maintenance, churn — runs through the
    /// protocol. Returns false, adding nothing, if the simulation already
    /// has nodes or the overlay has no warm start ([`Simulation::grow`]
    /// joins them instead).
    pub fn warm_start(&mut self, n: usize) -> bool {
        if !self.slots.is_empty() {
            return false;
        }
        let rng = self.rng.clone();
        let peers: Vec<Peer> = (0..n as u32).map(|i| Peer::new(self.rng.id(), Address::Memory(i))).collect();
        let directory = Directory::new(peers.clone());
        let mut slots = Vec::with_capacity(n);
        for (index, peer) in peers.into_iter().enumerate() {
            let seed = Rng::derive(self.config.seed, index as u64).next_u64();
            let store = MemoryStore::new(self.config.node.quota);
            let mut node = Node::new((self.make_overlay)(peer), store, self.config.node.clone(), seed, self.now);
            if !node.warm_start(&directory, self.now) {
                self.rng = rng;
                return false;
            }
            slots.push(Slot { peer, node: Some(node), wake_at: None, disk: None, role: Role::Member, runs: 1 });
        }
        self.slots = slots;
        for index in 0..n as u32 {
            self.flush(index);
        }
        true
    }

    /// Adds `n` nodes, one every `spacing` of virtual time, then lets the
    /// network settle for `settle`.
    pub fn grow(&mut self, n: usize, spacing: Duration, settle: Duration) {
        for _ in 0..n {
            self.add_node();
            self.run_for(spacing);
        }
        self.run_for(settle);
    }

    /// Indices of the nodes that are up.
    pub fn live_nodes(&self) -> Vec<u32> {
        (0..self.slots.len() as u32).filter(|&i| self.is_live(i)).collect()
    }

    /// Number of nodes that are up.
    pub fn live_count(&self) -> usize {
        self.slots.iter().filter(|s| s.node.is_some()).count()
    }

    /// Whether node `index` is up.
    pub fn is_live(&self, index: u32) -> bool {
        self.slots.get(index as usize).is_some_and(|s| s.node.is_some())
    }

    /// Node `index`, if up.
    pub fn node(&self, index: u32) -> Option<&Node<O, MemoryStore>> {
        self.slots.get(index as usize)?.node.as_ref()
    }

    /// The store of node `index`, whether it is up or stopped with its
    /// store kept ([`Simulation::stop`]).
    pub fn store(&self, index: u32) -> Option<&MemoryStore> {
        let slot = self.slots.get(index as usize)?;
        slot.node.as_ref().map(Node::store).or(slot.disk.as_ref())
    }

    /// The peer of node `index` (also after it went down).
    pub fn peer(&self, index: u32) -> Option<Peer> {
        self.slots.get(index as usize).map(|s| s.peer)
    }

    /// A uniformly random live node.
    pub fn random_live_node(&mut self) -> Option<u32> {
        // Draw slots until a live one comes up: cheap while most nodes are
        // up; a bounded number of tries, then an exact draw among the live.
        for _ in 0..64 {
            let index = self.rng.index(self.slots.len()) as u32;
            if self.is_live(index) {
                return Some(index);
            }
        }
        let live = self.live_nodes();
        (!live.is_empty()).then(|| live[self.rng.index(live.len())])
    }

    /// A random live member that has joined, to join through — as a
    /// bootstrap list names established nodes — or, while none has, any
    /// live member.
    fn random_joined_member(&mut self) -> Option<u32> {
        let joined = |sim: &Self, i: u32| sim.slots[i as usize].node.as_ref().is_some_and(|n| n.is_joined());
        for _ in 0..64 {
            let index = self.random_live_member()?;
            if joined(self, index) {
                return Some(index);
            }
        }
        self.random_live_member()
    }

    /// A random live member, to join through (a client knows no overlay
    /// to hand a newcomer).
    fn random_live_member(&mut self) -> Option<u32> {
        for _ in 0..64 {
            let index = self.random_live_node()?;
            if !self.slots[index as usize].role.is_client() {
                return Some(index);
            }
        }
        let members: Vec<u32> =
            self.live_nodes().into_iter().filter(|i| !self.slots[*i as usize].role.is_client()).collect();
        (!members.is_empty()).then(|| members[self.rng.index(members.len())])
    }

    /// Stops node `index` without warning: its state is gone, messages to it vanish.
    pub fn crash(&mut self, index: u32) {
        if let Some(slot) = self.slots.get_mut(index as usize) {
            slot.node = None;
            slot.disk = None;
            slot.wake_at = None;
        }
    }

    /// Stops node `index` without warning, as a killed process: its routing
    /// state is gone, messages to it vanish, but its store is kept, as on
    /// disk, for [`Simulation::restart`].
    pub fn stop(&mut self, index: u32) {
        if let Some(slot) = self.slots.get_mut(index as usize) {
            slot.disk = slot.node.take().map(Node::into_store);
            slot.wake_at = None;
        }
    }

    /// Restarts a node stopped with [`Simulation::stop`]: same id, the
    /// records it held, fresh routing state, joining through random live
    /// members. Returns whether there was such a node to restart.
    pub fn restart(&mut self, index: u32) -> bool {
        let Some(store) = self.slots.get_mut(index as usize).and_then(|s| s.disk.take()) else { return false };
        self.trace(&[self.now.0, 5, u64::from(index)]);
        let incarnation = (u64::from(index) << 32) ^ self.now.0;
        self.boot(index, store, incarnation);
        true
    }

    /// Crashes `fraction` of the live nodes, chosen at random; returns them.
    pub fn crash_fraction(&mut self, fraction: f64) -> Vec<u32> {
        let mut live = self.live_nodes();
        let count = (live.len() as f64 * fraction.clamp(0.0, 1.0)).round() as usize;
        let mut crashed = Vec::with_capacity(count);
        for _ in 0..count {
            let victim = live.swap_remove(self.rng.index(live.len()));
            self.crash(victim);
            crashed.push(victim);
        }
        crashed
    }

    /// Starts a graceful leave of node `index`; it disappears once it has
    /// handed off its records.
    pub fn leave(&mut self, index: u32) -> Option<OpRef> {
        self.start(index, |node, now| node.leave(now))
    }

    /// Cuts the given nodes off from the rest (each side still talks within itself).
    pub fn partition(&mut self, isolated: &[u32]) {
        self.partitions.split(isolated, self.slots.len());
    }

    /// Ends any partition.
    pub fn heal(&mut self) {
        self.partitions.heal();
    }

    /// Starts churn: every node added later fails silently after a
    /// lifetime drawn from `lifetime`, every live node after the time a
    /// node up in the steady state has left ([`Lifetime::sample_remaining`]),
    /// and a new node joins in each one's place, keeping the population
    /// steady.
    pub fn start_churn(&mut self, lifetime: Lifetime) {
        self.churn_epoch += 1;
        self.churn = Some((lifetime, self.churn_epoch));
        for index in self.live_nodes() {
            let after = lifetime.sample_remaining(&mut self.rng);
            self.schedule_failure(index, after, self.churn_epoch);
        }
    }

    /// Stops churn; failures already drawn are cancelled.
    pub fn stop_churn(&mut self) {
        self.churn = None;
        self.churn_epoch += 1;
    }

    /// Fails node `index` `after` from now, unless churn `epoch` has ended.
    fn schedule_failure(&mut self, index: u32, after: Duration, epoch: u64) {
        self.queue.push(self.now + after, EventKind::ChurnFailure { node: index, epoch });
    }

    /// Makes the nodes in `malicious` answer requests through `adversary`
    /// (their own operations and maintenance stay honest).
    pub fn set_adversary(&mut self, malicious: impl IntoIterator<Item = u32>, adversary: Adversary<O::Message>) {
        self.malicious = malicious.into_iter().collect();
        self.adversary = Some(adversary);
    }

    /// Starts a put of `value` under `key` at node `index`.
    pub fn put(&mut self, index: u32, key: Id, value: impl Into<bytes::Bytes>) -> Option<OpRef> {
        self.start(index, |node, now| node.put(key, value, now))
    }

    /// Starts a put of a whole record at node `index`.
    pub fn put_record(&mut self, index: u32, record: Record) -> Option<OpRef> {
        self.start(index, |node, now| node.put_record(record, now))
    }

    /// Starts a get of `key` at node `index`.
    pub fn get(&mut self, index: u32, key: Id) -> Option<OpRef> {
        self.start(index, |node, now| node.get(key, now))
    }

    /// Starts a lookup of the peers responsible for `target` at node `index`.
    pub fn find_peers(&mut self, index: u32, target: Id) -> Option<OpRef> {
        self.start(index, |node, now| node.find_peers(target, now))
    }

    /// Starts an operation on node `index` if it is up.
    fn start(&mut self, index: u32, op: impl FnOnce(&mut Node<O, MemoryStore>, Time) -> OpId) -> Option<OpRef> {
        let now = self.now;
        let slot = self.slots.get_mut(index as usize)?;
        let (run, op) = (slot.runs, op(slot.node.as_mut()?, now));
        self.flush(index);
        Some(OpRef { node: index, run, op })
    }

    /// The result of a finished operation (kept until taken).
    pub fn take_result(&mut self, op: OpRef) -> Option<Event> {
        self.results.remove(&op)
    }

    /// Runs until every operation in `ops` has finished (or its node went
    /// down), or until `limit` of virtual time has passed. Returns whether
    /// all finished.
    pub fn wait_for(&mut self, ops: &[OpRef], limit: Duration) -> bool {
        let deadline = self.now + limit;
        let step = Duration::from_millis(100);
        loop {
            let pending = ops.iter().any(|o| !self.results.contains_key(o) && self.is_live(o.node));
            if !pending {
                return true;
            }
            if self.now >= deadline {
                return false;
            }
            self.run_for(step);
        }
    }

    /// Advances virtual time by `d`, processing every event due.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        while let Some((at, event)) = self.queue.pop_until(until) {
            self.now = at;
            self.process(event);
            self.events += 1;
            if self.events % PROGRESS_EVERY == 0 {
                self.report_progress();
            }
        }
        self.now = until;
    }

    /// Per-node state and traffic of every live node.
    pub fn node_samples(&self) -> Vec<NodeSample> {
        self.slots
            .iter()
            .filter_map(|s| s.node.as_ref())
            .map(|n| NodeSample {
                routing_entries: n.overlay().routing_entries(),
                records: dht_core::Store::len(n.store()),
                maintenance_messages: n.stats().maintenance_messages,
                op_messages: n.stats().op_messages,
                repair_pushes: n.stats().repair_pushes,
                repair_bytes: n.stats().repair_bytes,
            })
            .collect()
    }

    /// Indices of the live nodes holding a live record for `key`.
    pub fn holders(&self, key: &Id) -> Vec<u32> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.node.as_ref().is_some_and(|n| dht_core::Store::get(n.store(), key, self.now).is_some()))
            .map(|(i, _)| i as u32)
            .collect()
    }

    /// Every key some live node holds a live record for: one pass over the
    /// stores, where asking [`Simulation::holders`] key by key would cost
    /// keys × nodes.
    pub fn held_keys(&self) -> std::collections::HashSet<Id> {
        let mut held = std::collections::HashSet::new();
        for node in self.slots.iter().filter_map(|s| s.node.as_ref()) {
            let store = node.store();
            held.extend(
                dht_core::Store::keys(store).into_iter().filter(|k| dht_core::Store::get(store, k, self.now).is_some()),
            );
        }
        held
    }

    /// A digest of every event processed so far: equal digests mean equal runs.
    pub fn trace_digest(&self) -> u64 {
        self.digest
    }

    /// Messages delivered so far.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Messages that failed the codec round trip (always 0 for a sound overlay).
    pub fn wire_errors(&self) -> u64 {
        self.wire_errors
    }

    /// Events waiting in the queue.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    fn trace(&mut self, parts: &[u64]) {
        for p in parts {
            self.digest = (self.digest ^ p).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn process(&mut self, event: EventKind<O::Message>) {
        let now = self.now;
        match event {
            EventKind::Request { to, from, from_index, id, request } => {
                self.trace(&[now.0, 1, u64::from(from_index), u64::from(to), id.0]);
                let client = self.slots.get(from_index as usize).is_some_and(|s| s.role.is_client());
                let Some(node) = self.slots.get_mut(to as usize).and_then(|s| s.node.as_mut()) else { return };
                self.delivered += 1;
                let forged = match &mut self.adversary {
                    Some(adversary) if self.malicious.contains(&to) => adversary(to, &from, &request),
                    _ => None,
                };
                let response = match forged {
                    Some(response) => response,
                    None if client => node.handle_client_request(&from, request, now),
                    None => node.handle_request(&from, request, now),
                };
                self.flush(to);
                if let Some(response) = self.through_wire(response) {
                    self.send(to, from_index, EventKind::Response { to: from_index, id, response });
                }
            }
            EventKind::Response { to, id, response } => {
                self.trace(&[now.0, 2, u64::from(to), id.0]);
                let Some(node) = self.slots.get_mut(to as usize).and_then(|s| s.node.as_mut()) else { return };
                self.delivered += 1;
                node.handle_response(id, response, now);
                self.flush(to);
            }
            EventKind::Wake { node: index } => {
                let Some(slot) = self.slots.get_mut(index as usize) else { return };
                if slot.wake_at != Some(now) {
                    return;
                }
                slot.wake_at = None;
                if slot.node.is_none() {
                    return;
                }
                self.trace(&[now.0, 3, u64::from(index)]);
                if let Some(node) = self.slots[index as usize].node.as_mut() {
                    node.handle_timeout(now);
                }
                self.flush(index);
            }
            EventKind::ChurnFailure { node: index, epoch } => {
                if self.churn.is_some_and(|(_, e)| e == epoch) && self.is_live(index) {
                    self.trace(&[now.0, 4, u64::from(index)]);
                    self.crash(index);
                    self.add_node();
                }
            }
        }
    }

    /// Schedules a message from `from` to `to`, unless it is lost or the
    /// two are partitioned apart.
    fn send(&mut self, from: u32, to: u32, event: EventKind<O::Message>) {
        if !self.partitions.connected(from, to) || (self.config.loss > 0.0 && self.rng.chance(self.config.loss)) {
            return;
        }
        let delay = self.config.latency.sample(self.config.seed, from, to, &mut self.rng);
        self.queue.push(Time(self.now.0 + delay), event);
    }

    /// Collects what node `index` wants done after an input: requests to
    /// send, finished operations, its next timer.
    fn flush(&mut self, index: u32) {
        let Some(slot) = self.slots.get_mut(index as usize) else { return };
        let Some(node) = slot.node.as_mut() else { return };
        let (from, run) = (slot.peer, slot.runs);
        let mut transmits = std::mem::take(&mut self.outbox);
        while let Some(t) = node.poll_transmit() {
            transmits.push(t);
        }
        let mut events = Vec::new();
        while let Some(e) = node.poll_event() {
            events.push(e);
        }
        let wake = node.poll_timeout();
        if let Some(at) = wake {
            if slot.wake_at.is_none_or(|w| at < w) {
                let at = at.max(self.now);
                slot.wake_at = Some(at);
                self.queue.push(at, EventKind::Wake { node: index });
            }
        }
        for t in transmits.drain(..) {
            let Address::Memory(to) = t.to.addr else { continue };
            if let Some(request) = self.through_wire(t.request) {
                self.send(index, to, EventKind::Request { to, from, from_index: index, id: t.id, request });
            }
        }
        self.outbox = transmits;
        for e in events {
            let left = matches!(e.outcome, dht_core::OpOutcome::Left);
            self.ops_finished += u64::from(!left);
            self.results.insert(OpRef { node: index, run, op: e.op }, e);
            if left {
                self.crash(index);
            }
        }
    }

    /// With `wire_check`, sends a message through the codec and back; a
    /// message that does not survive is counted and dropped.
    fn through_wire<T: serde::Serialize + serde::de::DeserializeOwned>(&mut self, message: T) -> Option<T> {
        if !self.config.wire_check {
            return Some(message);
        }
        match wire::encode(O::NAME, &message).and_then(|frame| wire::decode(O::NAME, &frame)) {
            Ok(m) => Some(m),
            Err(_) => {
                self.wire_errors += 1;
                None
            }
        }
    }
}
