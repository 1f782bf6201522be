//! Keeping `r` replicas of every key after churn: each node periodically
//! checks, for every key it holds, which peers should hold it now, and sends
//! the record to those it has not sent this version to. A node that finds
//! itself no longer among them hands the record off, and deletes its copy
//! [`NodeConfig::handoff_linger`] after every member of the new replica set
//! has acknowledged it. Until then it answers fetches of the key as a hint
//! ([`Response::CatchingUp`]), not a vote: under churn, nodes' views of a
//! replica set disagree for a while, and a reader whose view still names
//! the old holders would otherwise find every copy it asks for gone. A
//! graceful leave hands off everything at once.
//!
//! The holders of a key are its `r` replicas and the spares ranked after
//! them ([`NodeConfig::spares`]): repair keeps a copy on each, writers
//! write to the replicas only, and a spare's copy is a hint until a
//! replica's failure has made it a replica and a repair interval has
//! passed. Four holders instead of three make a key outlive three
//! failures within the seconds it takes to notice the first.
//!
//! Repair does not wait for the periodic pass when a replica set changes.
//! A node that holds records pings, every
//! [`NodeConfig::replica_check_interval`], the peers of their replica sets
//! it has not heard from for that long (and watches the replica peers of
//! newly stored keys from the next check on); at every tick it reads the
//! overlay's [`Overlay::view_epoch`]. When a replica peer fails to answer,
//! or the epoch moved (a peer joined inside a held range, the node's own
//! range grew), it runs a pass at once. Such a pass pushes a record only to
//! the members of its replica set that it has not pushed this version to,
//! so it costs a message per new member and per key whose set changed, not
//! one per record and replica. The periodic pass pushes to every member of
//! a set that changed since the previous periodic pass, and a spare to
//! every member at each: a copy left behind hears of the newer version
//! from them.
//!
//! Every record repair sends — pushes, hand-offs, a leave's, a get's read
//! repair — travels as [`Request::Replicate`], not as a writer's
//! [`Request::Store`]: the receiver counts such a copy as a hint until a
//! writer's store of the key reaches it or one repair interval has passed,
//! since writes made meanwhile may have gone to the holders the writers'
//! views still named.
//!
//! Each periodic pass also pings a few peers that failed earlier (see
//! `lost`), so that the two sides of a healed partition find each other
//! again.
//!
//! A pass does not send at once: it queues the keys to push, and the node
//! sends from the queue with at most [`NodeConfig::max_repair_in_flight`]
//! pushes awaiting an answer, topping up as answers come in. A republish of
//! every record, or a hand-off of a large store, is then a steady stream a
//! node and its peers can take, not a burst of every record × r.

use super::ops::{Operation, Phase, Storing};
use super::{random_phase, Node, NodeConfig, Offer, OpId, Purpose, Request, Response};
use crate::{Id, IdBuildHasher, LookupOutcome, Overlay, Peer, Rng, Store, Time};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Duration;

pub(super) struct RepairState {
    next_repair: Time,
    next_republish: Time,
    /// When the replica peers are next checked for silence.
    next_check: Time,
    /// The overlay's view epoch at the last pass.
    view: u64,
    /// When the last pass started by a moved view ran.
    last_view_pass: Time,
    /// A replica peer failed since the last pass.
    replica_failed: bool,
    /// A key or version not pushed yet was stored since the last pass.
    unpushed: bool,
    /// Per key: the version last pushed and the peers it went to, so an
    /// unchanged set costs no messages and a changed one only the new members.
    pushed: HashMap<Id, Pushed, IdBuildHasher>,
    /// Keys being handed away: acknowledgements still needed before the
    /// local copy is deleted.
    handoffs: BTreeMap<Id, Handoff>,
    /// Keys whose replica set a lookup is finding ([`Overlay::knows_replica_set`]).
    relocating: BTreeSet<Id>,
    /// Peers in the replica sets of held keys, and when each was last heard from.
    watched: HashMap<Id, (Peer, Time), IdBuildHasher>,
    /// Keys to push, with the peers to push each to, oldest first.
    queue: VecDeque<(Id, Vec<Peer>)>,
    /// Pushes sent and not yet answered.
    in_flight: usize,
    /// Keys held only as copies from other holders, not yet written here
    /// by a writer, and until when such a copy is a hint, not a vote
    /// ([`super::Request::Replicate`]).
    copies: HashMap<Id, Time, IdBuildHasher>,
}

struct Pushed {
    version: u64,
    /// Ids' first eight bytes, enough to tell the members of one set apart.
    to: Vec<u64>,
    /// A digest of the version and the set at the last periodic pass.
    periodic: u64,
}

/// A key this node holds but no longer should: its copy goes once every
/// member of the replica set has acknowledged this version.
struct Handoff {
    version: u64,
    /// The replica set it goes to (ids' first eight bytes).
    members: Vec<u64>,
    /// Members that acknowledged it.
    acked: Vec<u64>,
    /// When the last member acknowledged it (reset when the set changes);
    /// the copy goes [`NodeConfig::handoff_linger`] later.
    complete_at: Option<Time>,
}

impl Handoff {
    fn complete(&self) -> bool {
        !self.members.is_empty() && self.members.iter().all(|m| self.acked.contains(m))
    }
}

impl RepairState {
    pub(super) fn new(now: Time, config: &NodeConfig) -> RepairState {
        RepairState {
            next_repair: now + config.repair_interval,
            next_republish: now + config.republish_interval,
            next_check: now + config.replica_check_interval,
            view: 0,
            last_view_pass: Time::ZERO,
            replica_failed: false,
            unpushed: false,
            pushed: HashMap::default(),
            handoffs: BTreeMap::new(),
            relocating: BTreeSet::new(),
            watched: HashMap::default(),
            queue: VecDeque::new(),
            in_flight: 0,
            copies: HashMap::default(),
        }
    }

    /// Hands `version` of `key` off to `members`, keeping the
    /// acknowledgements of a hand-off of the same version under way. The
    /// members that have not acknowledged it when the hand-off starts or its
    /// set changes; else none: their acknowledgements are what let the copy
    /// go, and pushes made before the hand-off were not counted.
    fn hand_off(&mut self, key: Id, version: u64, mut members: Vec<u64>) -> Vec<u64> {
        let fresh = || Handoff { version, members: Vec::new(), acked: Vec::new(), complete_at: None };
        let handoff = self.handoffs.entry(key).or_insert_with(fresh);
        if handoff.version != version {
            *handoff = fresh();
        }
        members.sort_unstable();
        if handoff.members == members {
            return Vec::new();
        }
        handoff.complete_at = None;
        handoff.members = members;
        handoff.members.iter().filter(|m| !handoff.acked.contains(m)).copied().collect()
    }

    /// Whether every member of `key`'s new replica set acknowledged the
    /// hand-off: the copy only lingers.
    fn handed_off(&self, key: &Id) -> bool {
        self.handoffs.get(key).is_some_and(|h| h.complete_at.is_some())
    }

    /// Whether `version` of `key` was handed off to exactly `members`, each
    /// of which acknowledged it at least `linger` before `now`.
    fn lingered_at(&self, key: &Id, version: u64, members: &[u64], now: Time, linger: Duration) -> bool {
        self.handoffs.get(key).is_some_and(|h| {
            h.version == version
                && h.complete_at.is_some_and(|at| now.since(at) >= linger)
                && members.iter().all(|m| h.acked.contains(m))
        })
    }

    /// Whether this node is handing `key` off: it holds a copy but is not
    /// in the key's replica set as it sees it, so its copy may miss writes.
    pub(super) fn handing_off(&self, key: &Id) -> bool {
        self.handoffs.contains_key(key)
    }

    /// Notes that `key` now holds a version copied from another holder:
    /// a hint until `until`, unless a write comes first.
    pub(super) fn copied(&mut self, key: Id, until: Time) {
        self.copies.insert(key, until);
    }

    /// Notes that a writer wrote `key` here: its writers' views name this
    /// node, so its copy votes again.
    pub(super) fn written(&mut self, key: &Id) {
        self.copies.remove(key);
    }

    /// Whether the node's copy of `key` came from another holder recently
    /// and no write has reached it since: writes made meanwhile may have
    /// gone to the holders the writers' views still name.
    pub(super) fn copy_only(&self, key: &Id, now: Time) -> bool {
        self.copies.get(key).is_some_and(|until| now < *until)
    }

    /// Notes that `peer` was alive at `at`, if it is a watched replica peer.
    pub(super) fn heard_from(&mut self, peer: &Id, at: Time) {
        if let Some((_, last)) = self.watched.get_mut(peer) {
            *last = (*last).max(at);
        }
    }

    /// Whether `version` of `key` was pushed to `peer` (and not refused).
    fn pushed_to(&self, key: &Id, version: u64, peer: &Peer) -> bool {
        self.pushed.get(key).is_some_and(|p| p.version == version && p.to.contains(&peer.id.prefix_u64()))
    }

    /// Queues `version` of `key` for the `fresh` peers, noting it as pushed
    /// to every one of `targets` (the others had it already).
    fn queue_push(&mut self, key: Id, version: u64, targets: &[Peer], fresh: Vec<Peer>, periodic: u64) {
        let to = targets.iter().map(|p| p.id.prefix_u64()).collect();
        self.pushed.insert(key, Pushed { version, to, periodic });
        self.queue.push_back((key, fresh));
    }

    /// Notes that `version` of `key` was stored: a key the node has not
    /// pushed yet gets its replica peers watched at the next check, and a
    /// version it has not pushed goes to the spares then, which writers
    /// do not write to.
    pub(super) fn stored(&mut self, key: &Id, version: u64) {
        self.unpushed |= self.pushed.get(key).is_none_or(|p| p.version != version);
    }

    /// Notes that `peer` failed to answer; a replica peer's failure calls
    /// for a pass at once.
    pub(super) fn failed(&mut self, peer: &Id) {
        self.replica_failed |= self.watched.contains_key(peer);
    }

    /// Brings the next repair pass forward to `at` at the latest.
    pub(super) fn run_first_pass_by(&mut self, at: Time) {
        self.next_repair = self.next_repair.min(at);
    }

    /// Starts the repair and republish clocks at a random point of their
    /// periods (see [`Node::warm_start`]).
    pub(super) fn stagger(&mut self, now: Time, config: &NodeConfig, rng: &mut Rng) {
        self.next_repair = random_phase(now, config.repair_interval, rng);
        self.next_republish = random_phase(now, config.republish_interval, rng);
        self.next_check = random_phase(now, config.replica_check_interval, rng);
    }

    pub(super) fn next_due(&self) -> Time {
        self.next_repair.min(self.next_republish)
    }
}

impl<O: Overlay, S: Store> Node<O, S> {
    pub(super) fn run_repair_if_due(&mut self, now: Time) {
        let republish = now >= self.repair.next_republish;
        if now < self.repair.next_repair && !republish {
            return;
        }
        self.repair.next_repair = now + self.config.repair_interval;
        if republish {
            self.repair.next_republish = now + self.config.republish_interval;
            self.repair.pushed.clear();
        }
        self.repair_pass(now, true);
        for peer in self.lost.due_for_probe(now) {
            self.send(peer, Request::Ping, Purpose::Probe, now);
        }
    }

    /// A pass as soon as a replica peer's request timed out, not at the next
    /// tick: a key whose replicas fail one after another survives only if
    /// its copies are pushed on between the failures.
    pub(super) fn repair_failed_replicas(&mut self, now: Time) {
        if self.repair.replica_failed && !self.store.is_empty() {
            self.repair_pass(now, false);
        }
    }

    /// At every tick of a node that holds records: a pass at once when a
    /// replica peer failed or the overlay's view moved, and every
    /// [`NodeConfig::replica_check_interval`] a ping to each replica peer
    /// not heard from for as long.
    pub(super) fn check_replicas(&mut self, now: Time) {
        if self.store.is_empty() {
            return;
        }
        // A failed replica is repaired at once; a moved view at most once
        // a check interval, so that a view that changes every tick (a
        // churning neighbourhood) does not cost a pass every tick.
        let moved = self.overlay.view_epoch() != self.repair.view
            && now.since(self.repair.last_view_pass) >= self.config.replica_check_interval;
        if moved {
            self.repair.last_view_pass = now;
        }
        let check = now >= self.repair.next_check;
        if moved || self.repair.replica_failed || (check && self.repair.unpushed) {
            self.repair_pass(now, false);
        }
        if check {
            self.drop_handed_off(now);
            self.repair.next_check = now + self.config.replica_check_interval;
            let silent_for = self.config.replica_check_interval;
            let mut silent: Vec<Peer> = self
                .repair
                .watched
                .values()
                .filter(|(_, last)| now.since(*last) >= silent_for)
                .map(|(peer, _)| *peer)
                .collect();
            silent.sort_unstable();
            for peer in silent {
                self.send(peer, Request::Ping, Purpose::Probe, now);
            }
        }
    }

    /// Pushes each held record to the members of its replica set it has
    /// not been pushed to — and, in a `periodic` pass, to every member if
    /// the set changed since the last periodic pass, so that a copy behind
    /// the others hears of the newer version from them (`Newer`) — starts
    /// hand-offs of keys this node no longer owns; watches the replica
    /// peers from now on.
    fn repair_pass(&mut self, now: Time, periodic: bool) {
        self.repair.view = self.overlay.view_epoch();
        self.repair.replica_failed = false;
        self.repair.unpushed = false;
        let local = self.local();
        let keys = self.store.keys();
        self.repair.pushed.retain(|k, _| keys.binary_search(k).is_ok());
        self.repair.copies.retain(|k, until| now < *until && keys.binary_search(k).is_ok());
        let mut watched = HashMap::default();
        let holders = self.config.holders();
        for key in keys {
            let Some(record) = self.store.get(&key, now) else { continue };
            if !self.overlay.knows_replica_set(&key, holders) {
                // A lingering copy the node cannot see the set of went to a
                // set a lookup found: tending it by the node's own guess
                // would spread copies along its fingers.
                if !self.repair.handed_off(&key) {
                    self.start_relocation(key, now);
                }
                continue;
            }
            // A copy lingering after its hand-off is still tended: should a
            // member of the set it went to fail or be replaced meanwhile,
            // the hand-off starts again for the set as it is now, and the
            // copy stays until that set has it.
            let set = self.holder_set(&key);
            let rank = set.iter().position(|p| p.id == local.id);
            let member = rank.is_some();
            let spare = rank.is_some_and(|rank| rank >= self.config.replicas);
            if spare {
                // A spare's copy is a hint, as a pushed copy is: it may miss
                // writes, which go to the replicas only.
                self.repair.copied(key, now + self.config.repair_interval);
            }
            for peer in set.iter().filter(|p| p.id != local.id) {
                // A new replica peer counts as heard from now: the push is its check.
                let last = self.repair.watched.get(&peer.id).map_or(now, |(_, last)| *last);
                watched.entry(peer.id).or_insert((*peer, last));
            }
            let targets: Vec<Peer> = set.iter().filter(|p| p.id != local.id).copied().collect();
            // Hand off only to a full replica set, and delete only once every
            // member has acknowledged: a view that still lists a dead peer
            // then never deletes the copy that may be the last live one.
            let mut unacked = Vec::new();
            if !member && targets.len() >= self.config.replicas {
                unacked =
                    self.repair.hand_off(key, record.version, targets.iter().map(|p| p.id.prefix_u64()).collect());
            } else {
                self.repair.handoffs.remove(&key);
            }
            let digest = digest(record.version, &set);
            let pushed = self.repair.pushed.get(&key);
            // A spare pushes to every member at each periodic pass, set
            // changed or not: writes skip it, and a spare that only its own
            // view ranks among the holders is pushed to by nobody, so its
            // copy hears of a newer version only from the `Newer` answers.
            let fresh: Vec<Peer> = if periodic && (spare || pushed.is_none_or(|p| p.periodic != digest)) {
                targets.clone()
            } else {
                let owed =
                    |t: &&Peer| unacked.contains(&t.id.prefix_u64()) || !self.repair.pushed_to(&key, record.version, t);
                targets.iter().filter(owed).copied().collect()
            };
            let periodic_digest = if periodic { digest } else { pushed.map_or(0, |p| p.periodic) };
            if fresh.is_empty() {
                continue;
            }
            self.repair.queue_push(key, record.version, &targets, fresh, periodic_digest);
        }
        self.repair.watched = watched;
        self.send_queued_pushes(now);
    }

    /// Sends queued pushes while fewer than
    /// [`NodeConfig::max_repair_in_flight`] await an answer.
    pub(super) fn send_queued_pushes(&mut self, now: Time) {
        while self.repair.in_flight < self.config.max_repair_in_flight {
            let Some((key, targets)) = self.repair.queue.pop_front() else { return };
            // Read now, not when queued: the newest version goes out, and a
            // key deleted meanwhile is skipped.
            let Some(record) = self.store.get(&key, now) else { continue };
            for peer in targets {
                self.repair.in_flight += 1;
                self.send(peer, Request::Replicate(Box::new(record.clone())), Purpose::Repair(key), now);
            }
        }
    }

    pub(super) fn repair_answered(&mut self, key: Id, from: &Peer, answer: Option<Response<O::Message>>, now: Time) {
        self.repair.in_flight = self.repair.in_flight.saturating_sub(1);
        self.send_queued_pushes(now);
        if let Some(Response::Newer(record)) = &answer {
            // This copy is behind: take the newer version (the store checks it).
            if record.key == key {
                self.store_for(None, (**record).clone(), Offer::Copy, now);
            }
        }
        let from = from.id.prefix_u64();
        if !matches!(answer, Some(Response::Stored(_) | Response::Newer(_))) {
            // Not taken: the next pass pushes it again if the peer is still a member.
            if let Some(pushed) = self.repair.pushed.get_mut(&key) {
                pushed.to.retain(|p| *p != from);
            }
            return;
        }
        let Some(handoff) = self.repair.handoffs.get_mut(&key) else { return };
        handoff.acked.push(from);
        if handoff.complete() && handoff.complete_at.is_none() {
            handoff.complete_at = Some(now);
        }
    }

    /// Deletes the copies whose hand-off completed
    /// [`NodeConfig::handoff_linger`] ago — only the version that was handed
    /// off: a newer write since then stays.
    fn drop_handed_off(&mut self, now: Time) {
        let linger = self.config.handoff_linger;
        let due: Vec<(Id, u64)> = self
            .repair
            .handoffs
            .iter()
            .filter(|(_, h)| h.complete_at.is_some_and(|at| now.since(at) >= linger))
            .map(|(key, h)| (*key, h.version))
            .collect();
        for (key, version) in due {
            if !self.overlay.knows_replica_set(&key, self.config.holders()) {
                // The node cannot see whether the members that acknowledged
                // are still there (they may all have failed since): a lookup
                // finds the set as it is now, and `relocate` deletes the
                // copy only if that set is the one that acknowledged it.
                self.start_relocation(key, now);
                continue;
            }
            if !self.handed_off_to_current_set(&key) {
                // The set moved since its members acknowledged; the next
                // pass hands the copy off to the set as it is now.
                continue;
            }
            self.delete_handed_off(key, version, now);
        }
    }

    /// Deletes the local copy of a key handed off, if it is still the
    /// version handed off.
    fn delete_handed_off(&mut self, key: Id, version: u64, now: Time) {
        self.repair.handoffs.remove(&key);
        if self.store.get(&key, now).is_some_and(|r| r.version == version) {
            self.drop_record(&key);
            self.repair.pushed.remove(&key);
        }
    }

    /// Whether every member of `key`'s replica set as the overlay sees it
    /// now, a full set without this node, acknowledged its hand-off: only
    /// then may the copy go.
    fn handed_off_to_current_set(&self, key: &Id) -> bool {
        let Some(handoff) = self.repair.handoffs.get(key) else { return false };
        let set = self.holder_set(key);
        let local = self.local().id;
        set.len() >= self.config.replicas
            && set.iter().all(|p| p.id != local && handoff.acked.contains(&p.id.prefix_u64()))
    }

    /// The peers that should hold `key`: its replicas and spares as the
    /// overlay ranks them, passing over those that failed to answer this
    /// node and have not been heard from since. An overlay may keep a
    /// silent peer for a while before it gives up on it (CAN's zone
    /// take-over waits for several failures and a timer); the copies it
    /// held must not wait as long.
    fn holder_set(&self, key: &Id) -> Vec<Peer> {
        let holders = self.config.holders();
        let set = self.overlay.replica_set(key, holders);
        let silent = set.iter().filter(|p| self.lost.contains(&p.id)).count();
        if silent == 0 {
            return set;
        }
        let mut set = self.overlay.replica_set(key, holders + silent);
        set.retain(|p| !self.lost.contains(&p.id));
        set.truncate(holders);
        set
    }

    /// Starts a lookup of `key`'s replica set, unless one is running or
    /// [`NodeConfig::max_repair_in_flight`] are.
    fn start_relocation(&mut self, key: Id, now: Time) {
        if self.repair.relocating.len() >= self.config.max_repair_in_flight || !self.repair.relocating.insert(key) {
            return;
        }
        let op = self.new_op();
        self.start_lookup_op(op, key, super::ops::Goal::Relocate, now);
    }

    /// A relocation lookup ended: unless this node is one of the `r`
    /// peers it found, the record goes to them, and the local copy once
    /// each has acknowledged it — at once if it is the set that already
    /// did, a hand-off ago; if this node is one of them, the copy stays.
    pub(super) fn relocate(&mut self, key: Id, outcome: &LookupOutcome, now: Time) {
        self.repair.relocating.remove(&key);
        let Some(record) = self.store.get(&key, now) else { return };
        let set: Vec<Peer> = outcome.closest.iter().take(self.config.holders()).copied().collect();
        if set.len() < self.config.replicas {
            return;
        }
        let local = self.local().id;
        if set.iter().any(|p| p.id == local) {
            // The copy stays, and goes to the other members this version
            // has not gone to: they may not have it (a spare's place found
            // by a lookup is the only place some keys are held).
            self.repair.handoffs.remove(&key);
            let others: Vec<Peer> = set.into_iter().filter(|p| p.id != local).collect();
            let fresh: Vec<Peer> =
                others.iter().filter(|p| !self.repair.pushed_to(&key, record.version, p)).copied().collect();
            if !fresh.is_empty() {
                self.repair.queue_push(key, record.version, &others, fresh, 0);
                self.send_queued_pushes(now);
            }
            return;
        }
        let members: Vec<u64> = set.iter().map(|p| p.id.prefix_u64()).collect();
        if self.repair.lingered_at(&key, record.version, &members, now, self.config.handoff_linger) {
            self.delete_handed_off(key, record.version, now);
            return;
        }
        // Every member is pushed to: the lookup's set is news to the node.
        self.repair.hand_off(key, record.version, members);
        self.repair.queue.push_back((key, set));
        self.send_queued_pushes(now);
    }

    /// A leave: every record goes to the `r` peers that will own it once
    /// this node is gone. The operation ends when every push has an answer.
    pub(super) fn hand_off_everything(&mut self, op: OpId, now: Time) {
        let local = self.local().id;
        self.ops.insert(op, Operation { phase: Phase::Storing(Storing::leave()), stats: super::OpStats::at(now) });
        for key in self.store.keys() {
            let Some(record) = self.store.get(&key, now) else { continue };
            let targets: Vec<Peer> = self
                .overlay
                .replica_set(&key, self.config.holders() + 1)
                .into_iter()
                .filter(|p| p.id != local)
                .take(self.config.holders())
                .collect();
            if let Some(Operation { phase: Phase::Storing(s), .. }) = self.ops.get_mut(&op) {
                s.targets += targets.len();
            }
            for peer in targets {
                self.send(peer, Request::Replicate(Box::new(record.clone())), Purpose::Store(op), now);
            }
        }
        self.check_storing(op, now);
    }
}

fn digest(version: u64, set: &[Peer]) -> u64 {
    let mut print = crate::Fingerprint::default();
    print.add(version);
    for peer in set {
        print.add(peer.id.prefix_u64());
    }
    print.value()
}
