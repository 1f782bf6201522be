//! A discrete-event simulator that runs the real node and overlay logic in
//! virtual time, without tokio: per-link latency, loss, partitions, silent
//! crashes, graceful leaves, joins and churn, all drawn from one seed. The
//! same seed gives the same run, event for event ([`Simulation::trace_digest`]).
//! A network is built by joins ([`Simulation::grow`]) or, for 100,000
//! nodes, started warm from the routing state it would settle to
//! ([`Simulation::warm_start`]).
//!
//! Time advances in windows shorter than the smallest link latency: within
//! one, no node can hear from another, so the nodes, split into shards,
//! run their events on as many threads as [`SimConfig::threads`] allows,
//! and the messages they sent are delivered when the window ends. The run
//! is the same whatever the number of threads (see `shard`).

mod churn;
mod network;
mod queue;
mod shard;
mod workers;

pub use churn::Lifetime;
pub use network::Latency;

use crate::metrics::NodeSample;
use dht_core::{
    Address, Directory, Event, Id, MemoryStore, Node, NodeConfig, OpId, Peer, Record, Request, Response, Rng, Role,
    SimOverlay, Time,
};
use network::Partitions;
use shard::{Net, Shard, Slot};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::thread::Scope;
use std::time::Duration;
use workers::{Shared, Workers};

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
    /// Threads that run the nodes' events (at least 1). The run is the same
    /// for any number; more finish a large network sooner.
    pub threads: usize,
    /// Events due in a window below which it runs on one thread, where
    /// starting a second would cost more than it saves.
    pub parallel_min_events: usize,
}

impl SimConfig {
    /// Defaults with the given seed: 3 replicas, 10–100 ms links, no loss,
    /// as many threads as the machine has cores.
    pub fn new(seed: u64) -> SimConfig {
        // Repair sooner than a production node would: simulated runs are minutes long.
        let mut node = NodeConfig::default();
        node.repair_interval = Duration::from_secs(30);
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        SimConfig {
            seed,
            node,
            latency: Latency::default(),
            loss: 0.0,
            wire_check: false,
            threads,
            parallel_min_events: 256,
        }
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

/// A churn failure due: (when, scheduling order, node, churn epoch).
type Failure = Reverse<(Time, u64, u32, u64)>;

/// A simulated network of nodes running overlay `O`.
pub struct Simulation<O: SimOverlay> {
    config: SimConfig,
    make_overlay: Box<dyn Fn(Peer) -> O>,
    now: Time,
    rng: Rng,
    /// The nodes, node `i` in shard `i % shards.len()`.
    shards: Vec<Shard<O>>,
    /// Nodes added so far.
    nodes: u32,
    /// Churn failures, which add nodes and so run between windows.
    failures: BinaryHeap<Failure>,
    failures_scheduled: u64,
    partitions: Partitions,
    results: BTreeMap<OpRef, Event>,
    churn: Option<(Lifetime, u64)>,
    churn_epoch: u64,
    malicious: BTreeSet<u32>,
    adversary: Option<Adversary<O::Message>>,
    ops_finished: u64,
    observer: Option<Observer>,
    /// Events processed when the observer was last called.
    reported_at: u64,
}

impl<O: SimOverlay> Simulation<O> {
    /// An empty simulation; `make_overlay` builds the overlay of each new node.
    pub fn new(config: SimConfig, make_overlay: impl Fn(Peer) -> O + 'static) -> Simulation<O> {
        let threads = config.threads.clamp(1, 64) as u32;
        Simulation {
            rng: Rng::new(config.seed),
            config,
            make_overlay: Box::new(make_overlay),
            now: Time::ZERO,
            shards: (0..threads).map(|_| Shard::new(threads)).collect(),
            nodes: 0,
            failures: BinaryHeap::new(),
            failures_scheduled: 0,
            partitions: Partitions::default(),
            results: BTreeMap::new(),
            churn: None,
            churn_epoch: 0,
            malicious: BTreeSet::new(),
            adversary: None,
            ops_finished: 0,
            observer: None,
            reported_at: 0,
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
        SimProgress {
            now: self.now,
            events: self.events(),
            nodes: self.nodes as usize,
            ops_finished: self.ops_finished,
        }
    }

    /// Events processed so far.
    fn events(&self) -> u64 {
        self.shards.iter().map(|s| s.events).sum()
    }

    fn shard_of(&self, index: u32) -> usize {
        (index % self.shards.len() as u32) as usize
    }

    fn slot(&self, index: u32) -> Option<&Slot<O>> {
        self.shards[self.shard_of(index)].slot(index)
    }

    fn slot_mut(&mut self, index: u32) -> Option<&mut Slot<O>> {
        let shard = self.shard_of(index);
        self.shards[shard].slot_mut(index)
    }

    /// Every slot, in index order.
    fn slots(&self) -> impl Iterator<Item = &Slot<O>> {
        (0..self.nodes).filter_map(|i| self.slot(i))
    }

    /// Adds a slot as node `nodes`, the next index.
    fn push_slot(&mut self, slot: Slot<O>) -> u32 {
        let index = self.nodes;
        let shard = self.shard_of(index);
        self.shards[shard].slots.push(slot);
        self.nodes += 1;
        index
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
        let peer = Peer::new(self.rng.id(), Address::Memory(self.nodes));
        let index = self.push_slot(Slot::new(self.nodes, self.config.seed, peer, None, role, 0));
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
        let Some(slot) = self.slot_mut(index) else { return };
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
        if let Some(slot) = self.slot_mut(index) {
            slot.node = Some(node);
        }
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
        if self.nodes > 0 {
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
            slots.push(Slot::new(index as u32, self.config.seed, peer, Some(node), Role::Member, 1));
        }
        for slot in slots {
            self.push_slot(slot);
        }
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
        (0..self.nodes).filter(|&i| self.is_live(i)).collect()
    }

    /// Number of nodes that are up.
    pub fn live_count(&self) -> usize {
        self.shards.iter().flat_map(|s| &s.slots).filter(|s| s.node.is_some()).count()
    }

    /// Whether node `index` is up.
    pub fn is_live(&self, index: u32) -> bool {
        self.slot(index).is_some_and(|s| s.node.is_some())
    }

    /// Node `index`, if up.
    pub fn node(&self, index: u32) -> Option<&Node<O, MemoryStore>> {
        self.slot(index)?.node.as_ref()
    }

    /// The store of node `index`, whether it is up or stopped with its
    /// store kept ([`Simulation::stop`]).
    pub fn store(&self, index: u32) -> Option<&MemoryStore> {
        let slot = self.slot(index)?;
        slot.node.as_ref().map(Node::store).or(slot.disk.as_ref())
    }

    /// The peer of node `index` (also after it went down).
    pub fn peer(&self, index: u32) -> Option<Peer> {
        self.slot(index).map(|s| s.peer)
    }

    /// A uniformly random live node.
    pub fn random_live_node(&mut self) -> Option<u32> {
        // Draw slots until a live one comes up: cheap while most nodes are
        // up; a bounded number of tries, then an exact draw among the live.
        for _ in 0..64 {
            let index = self.rng.index(self.nodes as usize) as u32;
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
        let joined = |sim: &Self, i: u32| sim.node(i).is_some_and(|n| n.is_joined());
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
            if self.slot(index).is_some_and(|s| !s.role.is_client()) {
                return Some(index);
            }
        }
        let members: Vec<u32> =
            self.live_nodes().into_iter().filter(|&i| self.slot(i).is_some_and(|s| !s.role.is_client())).collect();
        (!members.is_empty()).then(|| members[self.rng.index(members.len())])
    }

    /// Stops node `index` without warning: its state is gone, messages to it vanish.
    pub fn crash(&mut self, index: u32) {
        if let Some(slot) = self.slot_mut(index) {
            slot.crash();
        }
    }

    /// Stops node `index` without warning, as a killed process: its routing
    /// state is gone, messages to it vanish, but its store is kept, as on
    /// disk, for [`Simulation::restart`].
    pub fn stop(&mut self, index: u32) {
        if let Some(slot) = self.slot_mut(index) {
            slot.disk = slot.node.take().map(Node::into_store);
            slot.wake_at = None;
        }
    }

    /// Restarts a node stopped with [`Simulation::stop`]: same id, the
    /// records it held, fresh routing state, joining through random live
    /// members. Returns whether there was such a node to restart.
    pub fn restart(&mut self, index: u32) -> bool {
        let now = self.now;
        let Some(slot) = self.slot_mut(index) else { return false };
        let Some(store) = slot.disk.take() else { return false };
        slot.trace(&[now.0, 5, u64::from(index)]);
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
        self.partitions.split(isolated, self.nodes as usize);
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
        self.failures_scheduled += 1;
        self.failures.push(Reverse((self.now + after, self.failures_scheduled, index, epoch)));
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
        let slot = self.slot_mut(index)?;
        let (run, op) = (slot.runs, op(slot.node.as_mut()?, now));
        self.flush(index);
        Some(OpRef { node: index, run, op })
    }

    /// The result of a finished operation (kept until taken).
    pub fn take_result(&mut self, op: OpRef) -> Option<Event> {
        self.collect_finished();
        self.results.remove(&op)
    }

    /// Runs until every operation in `ops` has finished (or its node went
    /// down), or until `limit` of virtual time has passed. Returns whether
    /// all finished.
    pub fn wait_for(&mut self, ops: &[OpRef], limit: Duration) -> bool {
        let deadline = self.now + limit;
        let step = Duration::from_millis(100);
        self.collect_finished();
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
    ///
    /// Events run in windows no longer than the smallest link latency and
    /// ending before the next churn failure: within one, what a node does
    /// reaches no other node, so the shards run it side by side.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        let lookahead = (self.config.latency.min.as_millis() as u64).max(1);
        let shared =
            Shared { config: self.config.clone(), partitions: self.partitions.clone(), malicious: BTreeSet::new() };
        std::thread::scope(|scope| {
            let mut workers = None;
            loop {
                self.collect_finished();
                let failure = self.failures.peek().map(|Reverse((at, ..))| *at);
                let Some(next) = self.shards.iter().filter_map(Shard::next_due).chain(failure).min() else { break };
                if next > until {
                    break;
                }
                self.now = next;
                if failure == Some(next) {
                    if let Some(Reverse((_, _, index, epoch))) = self.failures.pop() {
                        self.churn_failure(index, epoch);
                    }
                    continue;
                }
                let mut end = Time(next.0 + lookahead - 1).min(until);
                if let Some(failure) = failure {
                    end = end.min(Time(failure.0 - 1));
                }
                if !self.run_window(end, scope, &shared, &mut workers) {
                    break;
                }
                self.now = end;
                if self.events() / PROGRESS_EVERY > self.reported_at / PROGRESS_EVERY {
                    self.reported_at = self.events();
                    self.report_progress();
                }
            }
        });
        self.now = until;
    }

    /// Runs every shard's events due at or before `end`: on the workers
    /// (started at the first such window) when there are enough of them and
    /// no adversary, whose closure stays on this thread. False if a worker
    /// is gone.
    fn run_window<'scope, 'env>(
        &mut self,
        end: Time,
        scope: &'scope Scope<'scope, 'env>,
        shared: &'env Shared,
        workers: &mut Option<Workers<O>>,
    ) -> bool {
        let net = Net { config: &self.config, partitions: &self.partitions, malicious: &self.malicious };
        let due: usize = self.shards.iter().map(|s| s.due_by(end)).sum();
        // What each shard sent, handed to the shard each message goes to.
        let mut handed: Vec<Vec<_>> = self.shards.iter().map(|_| Vec::with_capacity(self.shards.len())).collect();
        for shard in &mut self.shards {
            for (to, sent) in handed.iter_mut().zip(shard.hand_over()) {
                to.push(sent);
            }
        }
        if self.shards.len() > 1 && self.adversary.is_none() && due >= self.config.parallel_min_events {
            let workers = workers.get_or_insert_with(|| Workers::start(scope, self.shards.len() - 1, shared));
            return workers.run(&mut self.shards, handed, end, &net);
        }
        let mut adversary = self.adversary.as_mut();
        for (shard, handed) in self.shards.iter_mut().zip(handed) {
            shard.run_window(handed, end, &net, &mut adversary);
        }
        true
    }

    /// Moves the operations the shards finished into the results.
    fn collect_finished(&mut self) {
        for shard in &mut self.shards {
            for (op, event) in shard.finished.drain(..) {
                self.ops_finished += u64::from(!matches!(event.outcome, dht_core::OpOutcome::Left));
                self.results.insert(op, event);
            }
        }
    }

    /// A churn failure falls due: the node fails and a new one joins.
    fn churn_failure(&mut self, index: u32, epoch: u64) {
        if self.churn.is_some_and(|(_, e)| e == epoch) && self.is_live(index) {
            let now = self.now;
            if let Some(slot) = self.slot_mut(index) {
                slot.trace(&[now.0, 4, u64::from(index)]);
            }
            self.crash(index);
            self.add_node();
        }
    }

    /// Per-node state and traffic of every live node.
    pub fn node_samples(&self) -> Vec<NodeSample> {
        self.slots()
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
        (0..self.nodes)
            .filter(|&i| self.node(i).is_some_and(|n| dht_core::Store::get(n.store(), key, self.now).is_some()))
            .collect()
    }

    /// Every key some live node holds a live record for: one pass over the
    /// stores, where asking [`Simulation::holders`] key by key would cost
    /// keys × nodes.
    pub fn held_keys(&self) -> std::collections::HashSet<Id> {
        let mut held = std::collections::HashSet::new();
        for node in self.slots().filter_map(|s| s.node.as_ref()) {
            let store = node.store();
            held.extend(
                dht_core::Store::keys(store).into_iter().filter(|k| dht_core::Store::get(store, k, self.now).is_some()),
            );
        }
        held
    }

    /// A digest of every event processed so far: equal digests mean equal runs.
    pub fn trace_digest(&self) -> u64 {
        self.slots().fold(0xcbf2_9ce4_8422_2325, |digest, slot| (digest ^ slot.digest()).wrapping_mul(0x0100_0000_01b3))
    }

    /// Messages delivered so far.
    pub fn delivered(&self) -> u64 {
        self.shards.iter().map(|s| s.delivered).sum()
    }

    /// Messages that failed the codec round trip (always 0 for a sound overlay).
    pub fn wire_errors(&self) -> u64 {
        self.shards.iter().map(|s| s.wire_errors).sum()
    }

    /// Events waiting in the queue.
    pub fn queued(&self) -> usize {
        self.shards.iter().map(Shard::queued).sum::<usize>() + self.failures.len()
    }

    /// Collects what node `index` wants done after an input from outside a
    /// window (a start, an operation).
    fn flush(&mut self, index: u32) {
        let shard = self.shard_of(index);
        let net = Net { config: &self.config, partitions: &self.partitions, malicious: &self.malicious };
        self.shards[shard].flush(index, self.now, &net);
    }
}
