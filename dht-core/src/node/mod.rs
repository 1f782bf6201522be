//! The node's protocol logic, sans-IO: storage requests, replication,
//! lookups and maintenance over any [`Overlay`] and [`Store`].
//!
//! Inputs are method calls carrying the current time: a request arrived
//! ([`Node::handle_request`], answered on the spot), an answer arrived
//! ([`Node::handle_response`]), a request failed ([`Node::handle_failure`]),
//! a timer is due ([`Node::handle_timeout`]), the user asked for something
//! ([`Node::put`], [`Node::get`], …). Outputs are polled: requests to send
//! ([`Node::poll_transmit`]), finished operations ([`Node::poll_event`]), and
//! when to call back ([`Node::poll_timeout`]). The tokio driver and the
//! simulator both drive it this way.

mod config;
mod in_flight;
mod limits;
mod lost;
mod message;
mod ops;
mod repair;
mod rtt;
mod stats;

pub use config::NodeConfig;
pub use limits::PeerLimits;
pub use message::{Refusal, Request, Response};
pub use ops::{Event, OpError, OpId, OpOutcome, OpStats};
pub use stats::{LatencyHistogram, NodeStats, RefusalCounts, RequestCounts};

use crate::{Action, Directory, Id, Overlay, Peer, PutOutcome, Record, Rng, SimOverlay, Store, StoreError, Time};
use in_flight::InFlight;
use limits::Limiter;
use lost::LostPeers;
use ops::Ops;
use repair::RepairState;
use rtt::RttEstimator;
use std::collections::VecDeque;

/// Identifies one outgoing request, so its answer finds its way back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// A request the node wants sent.
#[derive(Debug, Clone)]
pub struct Transmit<M> {
    /// Give the answer back with this id.
    pub id: RequestId,
    /// Recipient.
    pub to: Peer,
    /// What to send.
    pub request: Request<M>,
    /// How long the node waits for the answer before counting it failed.
    pub timeout: std::time::Duration,
}

/// What an outgoing request was for.
#[derive(Debug, Clone, Copy)]
enum Purpose {
    /// Overlay maintenance: answer goes to the overlay.
    Overlay,
    /// A step of the lookup run by an operation.
    Lookup(OpId),
    /// Storing a record for a put or a leave.
    Store(OpId),
    /// Fetching a record for a get.
    Fetch(OpId),
    /// Pushing a record to a replica during repair or hand-off.
    Repair(Id),
    /// Checking that a replica peer is alive.
    Probe,
}

/// Where a record offered to the local store comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Offer {
    /// A write: from the node that made it, or this node's own put.
    Write,
    /// A copy from another holder ([`Request::Replicate`]), or one this
    /// node takes from a peer's answer.
    Copy,
}

#[derive(Debug)]
struct Pending {
    to: Peer,
    purpose: Purpose,
    sent: Time,
}

/// A time within `period` after `now`, drawn at random: where a node's
/// periodic clocks start when it does not start alone ([`Node::warm_start`]).
fn random_phase(now: Time, period: std::time::Duration, rng: &mut Rng) -> Time {
    Time(now.0 + rng.below(u64::try_from(period.as_millis()).unwrap_or(u64::MAX).max(1)))
}

/// One node's protocol logic. See the module documentation.
pub struct Node<O: Overlay, S: Store> {
    overlay: O,
    store: S,
    config: NodeConfig,
    rng: Rng,
    next_request: u64,
    next_op: u64,
    last_version: u64,
    /// Requests awaiting an answer.
    pending: InFlight<Pending>,
    ops: Ops<O::Lookup>,
    transmits: VecDeque<Transmit<O::Message>>,
    events: VecDeque<Event>,
    next_tick: Time,
    next_overlay_tick: Time,
    repair: RepairState,
    lost: LostPeers,
    rtt: RttEstimator,
    stats: NodeStats,
    limiter: Limiter,
    leaving: bool,
    /// Until then the node answers fetches as a hint, not a vote
    /// ([`Response::CatchingUp`]): it joined an existing network and may
    /// have missed writes. One repair interval: by then every replica has
    /// run a periodic pass and pushed it what changed.
    catching_up_until: Time,
}

impl<O: Overlay, S: Store> Node<O, S> {
    /// A node around an overlay and a store; `seed` feeds every random choice it makes.
    pub fn new(overlay: O, store: S, config: NodeConfig, seed: u64, now: Time) -> Node<O, S> {
        let repair = RepairState::new(now, &config);
        Node {
            next_overlay_tick: now + overlay.tick_interval(),
            next_tick: now + config.tick_interval,
            overlay,
            store,
            config,
            rng: Rng::new(seed),
            next_request: 0,
            next_op: 0,
            last_version: 0,
            pending: InFlight::default(),
            ops: Ops::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            repair,
            lost: LostPeers::default(),
            rtt: RttEstimator::default(),
            stats: NodeStats::default(),
            limiter: Limiter::default(),
            leaving: false,
            catching_up_until: Time::ZERO,
        }
    }

    /// This node as peers know it.
    pub fn local(&self) -> Peer {
        self.overlay.local()
    }

    /// The overlay, for inspection.
    pub fn overlay(&self) -> &O {
        &self.overlay
    }

    /// The store, for inspection.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Stops the node and gives back its store: what survives a process
    /// that ends, when the store is persistent.
    pub fn into_store(self) -> S {
        self.store
    }

    /// The configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// Traffic, refusals, operations and their latencies, and the size of
    /// the node's routing state and store, as of now.
    pub fn stats(&self) -> NodeStats {
        NodeStats {
            peers: self.overlay.neighbours().len(),
            records: self.store.len(),
            record_bytes: self.store.bytes(),
            ..self.stats.clone()
        }
    }

    /// Whether the overlay has joined the network ([`Overlay::is_joined`]).
    pub fn is_joined(&self) -> bool {
        self.overlay.is_joined()
    }

    /// Operations still running.
    pub fn ops_in_flight(&self) -> usize {
        self.ops.len()
    }

    /// Join the network through `peers` (empty: start a new network).
    /// A node that starts with records (restarted on a persistent store)
    /// runs its first repair pass soon, once its joins have had time to
    /// finish, rather than a whole repair interval later: it pushes what it
    /// holds to the current replicas and catches up on versions it missed.
    /// Joining an existing network, a node answers fetches as catching up
    /// ([`Response::CatchingUp`]) for one repair interval, so a get does
    /// not count an old copy it kept, or one pushed by a lagging peer, as
    /// a replica's vote.
    pub fn bootstrap(&mut self, peers: &[Peer], now: Time) {
        let actions = self.overlay.bootstrap(peers, self.config.role, now);
        self.apply_actions(actions, now);
        if !peers.is_empty() {
            self.catching_up_until = now + self.config.repair_interval;
        }
        if !self.store.is_empty() {
            self.repair.run_first_pass_by(now + self.config.tick_interval * 10);
        }
    }

    /// An incoming request from `from`, answered at once. A request that
    /// would store an invalid record, or go over a quota, is refused and
    /// changes nothing; so is any request from a peer over its request rate
    /// ([`NodeConfig::limits`]).
    pub fn handle_request(&mut self, from: &Peer, request: Request<O::Message>, now: Time) -> Response<O::Message> {
        self.answer(from, request, false, now)
    }

    /// A request from a client node (see [`crate::Role::Client`]),
    /// answered like any other, but the client is not taken for a peer: it
    /// would sit in routing state and replica sets long after it exited.
    pub fn handle_client_request(
        &mut self,
        from: &Peer,
        request: Request<O::Message>,
        now: Time,
    ) -> Response<O::Message> {
        self.answer(from, request, true, now)
    }

    fn answer(&mut self, from: &Peer, request: Request<O::Message>, client: bool, now: Time) -> Response<O::Message> {
        self.stats.requests_in.count(&request);
        let response = self.respond(from, request, client, now);
        if let Response::Refused(reason) = &response {
            self.stats.refusals.count(reason);
        }
        response
    }

    fn respond(&mut self, from: &Peer, request: Request<O::Message>, client: bool, now: Time) -> Response<O::Message> {
        if from.id != self.local().id && !self.limiter.admit_request(&self.config.limits, from, now) {
            return Response::Refused(Refusal::Busy);
        }
        if from.id != self.local().id && !client {
            let actions = self.overlay.peer_contacted(from, now);
            self.apply_actions(actions, now);
            self.repair.heard_from(&from.id, now);
            self.lost.heard(&from.id);
        }
        match request {
            Request::Overlay(message) => Response::Overlay(self.overlay.handle_request(from, message, now)),
            Request::Fetch(key) => match self.store.read(&key, now) {
                Ok(record) if !self.counts_toward_quorum(&key, record.is_some(), now) => {
                    Response::CatchingUp(record.map(Box::new))
                }
                Ok(record) => Response::Value(record.map(Box::new)),
                Err(e) => {
                    // Answering "nothing here" would count as a miss in the
                    // reader's quorum; a refusal counts as no answer.
                    tracing::error!(%key, error = %e, "the record store failed a read");
                    Response::Refused(Refusal::Storage(e.to_string()))
                }
            },
            Request::Ping => Response::Pong,
            Request::Store(_) | Request::Replicate(_) if self.config.role.is_client() => {
                Response::Refused(Refusal::Busy)
            }
            Request::Store(record) => self.store_for(Some(*from), *record, Offer::Write, now),
            Request::Replicate(record) => self.store_for(Some(*from), *record, Offer::Copy, now),
        }
    }

    /// Offers `record` to the local store on behalf of peer `by` (`None`:
    /// this node itself), through the validator, the peer's storage limits
    /// and the validator's order; answers as a replica answers a store.
    /// A copy taken from another holder is a hint until a write of the key
    /// reaches this node or one repair interval has passed (see
    /// [`Request::Replicate`]).
    fn store_for(&mut self, by: Option<Peer>, record: Record, offer: Offer, now: Time) -> Response<O::Message> {
        if let Err(reason) = self.within_bounds(&record, now).and_then(|()| self.config.validator.validate(&record)) {
            return Response::Refused(Refusal::Invalid(reason));
        }
        let (key, size, version) = (record.key, record.stored_size(), record.version);
        let by = by.filter(|p| p.id != self.local().id);
        if let Some(peer) = by {
            if let Err(reason) = self.limiter.check_store(&self.config.limits, &peer, &key, size) {
                return Response::Refused(Refusal::Quota(reason));
            }
        }
        let validator = &self.config.validator;
        match self.store.put_with(record, now, &|offered, held| validator.wins(offered, held)) {
            Ok(PutOutcome::Stored) => {
                self.repair.stored(&key, version);
                match offer {
                    Offer::Write => self.repair.written(&key),
                    Offer::Copy => self.repair.copied(key, now + self.config.repair_interval),
                }
                match by {
                    Some(peer) => self.limiter.stored(&peer, key, size),
                    None => self.limiter.forget(&key),
                }
                self.stored_answer(&key, offer, true)
            }
            Ok(PutOutcome::Unchanged) => {
                if offer == Offer::Write {
                    self.repair.written(&key);
                }
                self.stored_answer(&key, offer, false)
            }
            Ok(PutOutcome::Outdated) => {
                self.store.get(&key, now).map_or(Response::Stored(false), |held| Response::Newer(Box::new(held)))
            }
            Err(e) => {
                if matches!(e, StoreError::Backend(_)) {
                    tracing::error!(%key, error = %e, "the record store failed a write; refusing it");
                }
                Response::Refused(refusal(e))
            }
        }
    }

    /// The answer to an offer of `key` that was taken (`changed`: now
    /// held). A write taken by a node outside the key's replica set as it
    /// sees it, or handing the key off, says so: the writer's view named
    /// it, but a reader's may not.
    fn stored_answer(&self, key: &Id, offer: Offer, changed: bool) -> Response<O::Message> {
        if offer == Offer::Write && (self.repair.handing_off(key) || !self.in_replica_set(key)) {
            Response::StoredAsSpare(changed)
        } else {
            Response::Stored(changed)
        }
    }

    /// Whether this node is in `key`'s replica set as its overlay sees it.
    fn in_replica_set(&self, key: &Id) -> bool {
        let local = self.local().id;
        self.overlay.replica_set(key, self.config.replicas).iter().any(|p| p.id == local)
    }

    /// Whether the node's answer for `key` (its copy, or that it `holds`
    /// none) counts toward a reader's quorum: not while the node may still
    /// be missing writes made while it was away (see [`Node::bootstrap`]),
    /// nor while it hands the key off to a replica set it is not in —
    /// writes go there, not here; and "none here" only from a node that
    /// is in the key's replica set as it sees it: a lookup that ended
    /// beside the replicas, on a view out of date, must not read their
    /// neighbours' silence as the key's absence.
    fn counts_toward_quorum(&self, key: &Id, holds: bool, now: Time) -> bool {
        now >= self.catching_up_until
            && !self.repair.handing_off(key)
            && !self.repair.copy_only(key, now)
            && (holds || self.in_replica_set(key))
    }

    /// Deletes a record this node no longer needs to hold.
    fn drop_record(&mut self, key: &Id) {
        self.store.remove(key);
        self.limiter.forget(key);
    }

    /// The answer to request `id`.
    pub fn handle_response(&mut self, id: RequestId, response: Response<O::Message>, now: Time) {
        let Some(pending) = self.pending.remove(id) else { return };
        self.rtt.observe(now.since(pending.sent));
        self.overlay.peer_alive(&pending.to, now);
        // An answer vouches for its peer as of when the request left: a
        // replica peer that answered the last check's ping is due again at
        // this one, not a round trip later, at the check after.
        self.repair.heard_from(&pending.to.id, pending.sent);
        self.lost.heard(&pending.to.id);
        match pending.purpose {
            Purpose::Overlay => {
                if let Response::Overlay(m) = response {
                    let actions = self.overlay.handle_response(&pending.to, m, now);
                    self.apply_actions(actions, now);
                }
            }
            Purpose::Lookup(op) => self.lookup_answered(op, &pending.to, Some(response), now),
            Purpose::Store(op) => self.store_answered(op, Some(response), now),
            Purpose::Fetch(op) => self.fetch_answered(op, &pending.to, Some(response), now),
            Purpose::Repair(key) => self.repair_answered(key, &pending.to, Some(response), now),
            Purpose::Probe => {}
        }
    }

    /// Request `id` failed (timed out, connection refused, garbage answer).
    pub fn handle_failure(&mut self, id: RequestId, now: Time) {
        let Some(pending) = self.pending.remove(id) else { return };
        self.stats.failures += 1;
        self.overlay.peer_failed(&pending.to, now);
        self.repair.failed(&pending.to.id);
        self.lost.failed(pending.to, now);
        match pending.purpose {
            Purpose::Overlay => {}
            Purpose::Lookup(op) => self.lookup_answered(op, &pending.to, None, now),
            Purpose::Store(op) => self.store_answered(op, None, now),
            Purpose::Fetch(op) => self.fetch_answered(op, &pending.to, None, now),
            Purpose::Repair(key) => self.repair_answered(key, &pending.to, None, now),
            Purpose::Probe => {}
        }
    }

    /// Runs whatever is due at `now`: request deadlines, overlay maintenance,
    /// replica repair, store expiry.
    pub fn handle_timeout(&mut self, now: Time) {
        while let Some(id) = self.pending.expired(now) {
            self.handle_failure(id, now);
        }
        if self.leaving {
            return;
        }
        self.repair_failed_replicas(now);
        if now >= self.next_overlay_tick {
            self.next_overlay_tick = now + self.overlay.tick_interval();
            let actions = self.overlay.tick(now, &mut self.rng);
            self.apply_actions(actions, now);
        }
        if now >= self.next_tick {
            self.next_tick = now + self.config.tick_interval;
            self.limiter.tidy(&self.config.limits, now);
            if self.store.expire(now) > 0 {
                for key in self.limiter.counted_keys() {
                    if self.store.get(&key, now).is_none() {
                        self.limiter.forget(&key);
                    }
                }
            }
            self.check_replicas(now);
            self.resume_parked(now);
        }
        self.run_repair_if_due(now);
    }

    /// When [`Node::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Time> {
        let mut next = self.next_tick.min(self.next_overlay_tick).min(self.repair.next_due());
        if self.leaving {
            next = Time::NEVER;
        }
        match self.pending.next_deadline() {
            Some(deadline) => Some(next.min(deadline)),
            None if self.leaving => None,
            None => Some(next),
        }
    }

    /// The next request to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit<O::Message>> {
        let next = self.transmits.pop_front();
        if next.is_none() && self.transmits.capacity() > 16 {
            // Give back the room of a burst (a join's lookups): a simulation
            // holds 100,000 nodes, each mostly idle.
            self.transmits = VecDeque::new();
        }
        next
    }

    /// The next finished operation.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Stores `value` under `key` on the key's replicas, with a version from
    /// `now` (later than any this node gave before) and the default lifetime.
    pub fn put(&mut self, key: Id, value: impl Into<bytes::Bytes>, now: Time) -> OpId {
        let version = self.next_version(now);
        let record = Record::new(key, value, version, self.config.expiry_from(now));
        self.put_record(record, now)
    }

    /// Removes `key` by storing a tombstone that wins over older versions.
    pub fn remove(&mut self, key: Id, now: Time) -> OpId {
        let version = self.next_version(now);
        let record = Record::tombstone(key, version, self.config.expiry_from(now));
        self.put_record(record, now)
    }

    /// Stores a record as given (version and expiry chosen by the caller,
    /// within [`NodeConfig::max_record_lifetime`] and
    /// [`NodeConfig::max_version_ahead`], as every replica requires).
    pub fn put_record(&mut self, record: Record, now: Time) -> OpId {
        let op = self.new_op();
        if let Err(reason) = self.check(&record).and_then(|()| self.within_bounds(&record, now)) {
            self.finish(op, OpOutcome::Put(Err(OpError::Invalid(reason))), OpStats::at(now));
            return op;
        }
        self.start_lookup_op(op, record.key, ops::Goal::Put(record), now);
        op
    }

    /// Finds the newest record for `key` on its replicas.
    pub fn get(&mut self, key: Id, now: Time) -> OpId {
        let op = self.new_op();
        self.start_lookup_op(op, key, ops::Goal::Get(None), now);
        op
    }

    /// Finds the peers responsible for `target` (a lookup alone).
    pub fn find_peers(&mut self, target: Id, now: Time) -> OpId {
        let op = self.new_op();
        self.start_lookup_op(op, target, ops::Goal::FindPeers, now);
        op
    }

    /// Leaves gracefully: tells the overlay's neighbours and hands every
    /// held record to the peers that will be responsible without this node.
    /// Ends with [`OpOutcome::Left`]; afterwards the node runs no maintenance.
    pub fn leave(&mut self, now: Time) -> OpId {
        let op = self.new_op();
        let actions = self.overlay.leave(now);
        self.apply_actions(actions, now);
        self.leaving = true;
        self.fail_parked(now);
        self.hand_off_everything(op, now);
        op
    }

    /// The built-in checks and the validator's, as every replica runs them.
    fn check(&self, record: &Record) -> Result<(), String> {
        record.validate(self.config.quota.max_value_bytes).map_err(|e| e.to_string())?;
        self.config.validator.validate(record)
    }

    /// A record's lifetime and, for an open record, its version are within
    /// what this node accepts ([`NodeConfig::max_record_lifetime`],
    /// [`NodeConfig::max_version_ahead`]).
    fn within_bounds(&self, record: &Record, now: Time) -> Result<(), String> {
        let latest_expiry = now + self.config.max_record_lifetime;
        if record.expires_at > latest_expiry {
            return Err(format!(
                "expiry {} ms is more than {:?} after now ({} ms)",
                record.expires_at.as_millis(),
                self.config.max_record_lifetime,
                now.as_millis()
            ));
        }
        let latest_version = (now + self.config.max_version_ahead).as_millis();
        if matches!(record.owner, crate::Owner::Open) && record.version > latest_version {
            return Err(format!(
                "version {} is more than {:?} ahead of this node's clock",
                record.version, self.config.max_version_ahead
            ));
        }
        Ok(())
    }

    /// Whether `held`, which a replica answered that it holds instead of
    /// `offered`, is a valid version of the same key that wins over it.
    fn proves_newer(&self, held: &Record, offered: &Record) -> bool {
        held.key == offered.key && self.check(held).is_ok() && self.config.validator.wins(held, offered)
    }

    fn next_version(&mut self, now: Time) -> u64 {
        self.last_version = now.as_millis().max(self.last_version + 1);
        self.last_version
    }

    fn new_op(&mut self) -> OpId {
        self.next_op += 1;
        OpId(self.next_op)
    }

    fn finish(&mut self, op: OpId, outcome: OpOutcome, stats: OpStats) {
        self.stats.op_finished(&outcome, stats.finished.since(stats.started));
        self.events.push_back(Event { op, outcome, stats });
    }

    fn send(&mut self, to: Peer, request: Request<O::Message>, purpose: Purpose, now: Time) -> RequestId {
        self.next_request += 1;
        let id = RequestId(self.next_request);
        let timeout = self.rtt.timeout(self.config.min_request_timeout, self.config.request_timeout);
        let deadline = now + timeout;
        let maintenance = match purpose {
            Purpose::Overlay | Purpose::Repair(_) | Purpose::Probe => true,
            Purpose::Lookup(op) | Purpose::Store(op) | Purpose::Fetch(op) => {
                self.ops.get(&op).is_some_and(|o| o.is_maintenance())
            }
        };
        if maintenance {
            self.stats.maintenance_messages += 1;
        } else {
            self.stats.op_messages += 1;
        }
        self.stats.requests_out.count(&request);
        if let (Purpose::Repair(_), Request::Replicate(record)) = (&purpose, &request) {
            self.stats.repair_pushes += 1;
            self.stats.repair_bytes += record.stored_size() as u64;
        }
        self.pending.insert(id, deadline, Pending { to, purpose, sent: now });
        self.transmits.push_back(Transmit { id, to, request, timeout });
        id
    }

    fn apply_actions(&mut self, actions: Vec<Action<O::Message>>, now: Time) {
        for action in actions {
            match action {
                Action::Send(to, m) if to.id != self.local().id => {
                    self.send(to, Request::Overlay(m), Purpose::Overlay, now);
                }
                Action::Send(..) => {}
                Action::Lookup(target) => {
                    let op = self.new_op();
                    self.start_lookup_op(op, target, ops::Goal::Maintenance, now);
                }
            }
        }
    }
}

impl<O: SimOverlay, S: Store> Node<O, S> {
    /// Joins by the overlay's warm start ([`SimOverlay::warm_start`])
    /// instead of [`Node::bootstrap`]; returns false, changing nothing, if
    /// the overlay has none or this node is a client.
    pub fn warm_start(&mut self, directory: &Directory, now: Time) -> bool {
        if self.config.role.is_client() || !self.overlay.warm_start(directory, now, &mut self.rng) {
            return false;
        }
        // A warm-started network starts all at once, but nodes that joined
        // over time never run their periodic work in lockstep: each clock
        // starts at a random point of its period.
        self.next_overlay_tick = random_phase(now, self.overlay.tick_interval(), &mut self.rng);
        self.next_tick = random_phase(now, self.config.tick_interval, &mut self.rng);
        self.repair.stagger(now, &self.config, &mut self.rng);
        true
    }
}

fn refusal(e: StoreError) -> Refusal {
    match e {
        StoreError::Record(e) => Refusal::Invalid(e.to_string()),
        StoreError::Expired => Refusal::Invalid("record has already expired".into()),
        StoreError::Quota(q) => Refusal::Quota(q),
        other => Refusal::Storage(other.to_string()),
    }
}

#[cfg(test)]
mod tests;
