//! User operations (put, get, find peers) and maintenance lookups: each
//! starts with a lookup, then stores on or fetches from the peers it found.

use super::{Node, Offer, Purpose, Request, Response};
use crate::{Id, Lookup, LookupOutcome, Overlay, Owner, Peer, Record, SharedValidator, Store, Time};
use std::collections::{BTreeMap, VecDeque};

/// Identifies an operation started on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub u64);

/// A finished operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Which operation.
    pub op: OpId,
    /// How it ended.
    pub outcome: OpOutcome,
    /// What it cost.
    pub stats: OpStats,
}

/// The result of an operation.
#[derive(Debug, Clone, PartialEq)]
pub enum OpOutcome {
    /// A put or remove: the number of replicas that acknowledged it.
    Put(Result<usize, OpError>),
    /// A get: the newest record found (`None`: no such key, or removed).
    Get(Result<Option<Record>, OpError>),
    /// A peer lookup: the responsible peers, best first.
    FindPeers(Vec<Peer>),
    /// A graceful leave has handed off every record it could.
    Left,
}

/// Why an operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpError {
    /// The record was refused before anything was sent.
    #[error("invalid record: {0}")]
    Invalid(String),
    /// No peer could be found to store on or fetch from.
    #[error("no reachable peers responsible for the key")]
    NoPeers,
    /// Replicas refused the record (invalid for them, over a quota, busy).
    #[error("replicas refused the record: {0}")]
    Refused(super::Refusal),
    /// The replicas hold a newer version of this signed record: its
    /// sequence number must be raised.
    #[error("sequence number {offered} is not newer than the held {held}; only a higher one replaces a signed record")]
    Outdated {
        /// The version offered.
        offered: u64,
        /// The version the replicas hold.
        held: u64,
    },
    /// The key holds a signed or content-addressed record, which an open
    /// write cannot replace.
    #[error("the key holds a signed or content-addressed record; an open write cannot replace it")]
    Owned,
    /// Too few replicas acknowledged a put.
    #[error("only {acks} of the {needed} required replicas acknowledged the write")]
    QuorumNotReached {
        /// Acknowledgements received.
        acks: usize,
        /// Acknowledgements required.
        needed: usize,
    },
    /// No replica answered a get.
    #[error("none of the replicas answered")]
    Unreachable,
}

impl OpError {
    /// A short name of the kind of failure, for counting failures by cause
    /// (`dht soak`, logs): `invalid`, `no_peers`, `refused_busy`,
    /// `refused_quota`, `refused_invalid`, `refused_storage`, `outdated`,
    /// `owned`, `quorum_not_reached`, `unreachable`.
    pub fn kind(&self) -> &'static str {
        match self {
            OpError::Invalid(_) => "invalid",
            OpError::NoPeers => "no_peers",
            OpError::Refused(super::Refusal::Busy) => "refused_busy",
            OpError::Refused(super::Refusal::Quota(_)) => "refused_quota",
            OpError::Refused(super::Refusal::Invalid(_)) => "refused_invalid",
            OpError::Refused(super::Refusal::Storage(_)) => "refused_storage",
            OpError::Outdated { .. } => "outdated",
            OpError::Owned => "owned",
            OpError::QuorumNotReached { .. } => "quorum_not_reached",
            OpError::Unreachable => "unreachable",
        }
    }
}

/// What an operation cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpStats {
    /// When it started.
    pub started: Time,
    /// When it ended.
    pub finished: Time,
    /// Lookup path length.
    pub hops: u32,
    /// Requests sent (lookup, stores, fetches).
    pub messages: u32,
}

impl OpStats {
    pub(super) fn at(now: Time) -> OpStats {
        OpStats { started: now, finished: now, hops: 0, messages: 0 }
    }
}

/// What the operation is for, kept through its lookup.
#[derive(Debug)]
pub(super) enum Goal {
    Put(Record),
    /// A get, with the newest record an earlier attempt found only in
    /// hints: a later attempt returns nothing older.
    Get(Option<Record>),
    FindPeers,
    Maintenance,
    /// Finding the replica set of a held key whose set the overlay does
    /// not know first-hand, to hand the record to it (repair).
    Relocate,
}

pub(super) enum Phase<L> {
    /// `attempt` counts the lookups run before this one (see `Parked`);
    /// `since` and `sent_before` are when this one started and the
    /// operation's requests before it: each attempt has the whole budget.
    Lookup {
        target: Id,
        lookup: L,
        goal: Goal,
        attempt: u32,
        since: Time,
        sent_before: u32,
    },
    /// A put or get whose lookup found nobody to store on or fetch from, a
    /// get that found the record only in hints, or a put that mostly
    /// spares took, waiting for the next node tick to look again
    /// ([`super::NodeConfig::lookup_retries`]).
    Parked {
        target: Id,
        goal: Goal,
        attempt: u32,
    },
    Storing(Storing),
    Fetching(Fetching),
}

pub(super) struct Storing {
    pub(super) acks: usize,
    /// Acknowledgements from nodes in the key's replica set as they see it
    /// (not [`Response::StoredAsSpare`]).
    pub(super) replica_acks: usize,
    pub(super) failures: usize,
    /// Why replicas refused, if any did: the put's error when too few took it.
    pub(super) refused: Option<OpError>,
    pub(super) targets: usize,
    pub(super) needed: usize,
    /// A leave's hand-off, which ends with [`OpOutcome::Left`].
    pub(super) leaving: bool,
    /// For a put: the record and the next-closest peers the lookup found,
    /// which stand in, in order, for replicas that fail to answer. Repair
    /// later moves the copy to the true replica set.
    pub(super) retry: Option<(Record, VecDeque<Peer>)>,
    /// Lookups run before the one that found these targets.
    pub(super) attempt: u32,
}

impl Storing {
    /// A storing operation before any answer: `retry` for a put, `None`
    /// for a leave's hand-off.
    fn new(targets: usize, needed: usize, retry: Option<(Record, VecDeque<Peer>)>, attempt: u32) -> Storing {
        let leaving = retry.is_none();
        Storing { acks: 0, replica_acks: 0, failures: 0, refused: None, targets, needed, leaving, retry, attempt }
    }

    pub(super) fn leave() -> Storing {
        Storing::new(0, 0, None, 0)
    }
}

pub(super) struct Fetching {
    key: Id,
    /// Lookups run before the one that found these candidates.
    attempt: u32,
    /// The newest record those earlier lookups found only in hints.
    hinted: Option<Record>,
    candidates: Vec<Peer>,
    next: usize,
    outstanding: usize,
    answered: usize,
    replies: Vec<Reply>,
    reported: bool,
}

/// One candidate's answer to a fetch.
struct Reply {
    peer: Peer,
    held: Option<Record>,
    /// Counts toward the read quorum: the peer is not catching up
    /// ([`Response::CatchingUp`]).
    votes: bool,
}

pub(super) struct Operation<L> {
    pub(super) phase: Phase<L>,
    pub(super) stats: OpStats,
}

/// The operations in flight, by id, each in its own box: an operation is
/// a few hundred bytes and a B-tree node has room for eleven, so a node with
/// a single lookup in flight held 4 KiB for it — a fifth of a simulated
/// Chord node's memory.
pub(super) struct Ops<L>(BTreeMap<OpId, Box<Operation<L>>>);

impl<L> Ops<L> {
    pub(super) fn new() -> Ops<L> {
        Ops(BTreeMap::new())
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn get(&self, op: &OpId) -> Option<&Operation<L>> {
        self.0.get(op).map(|o| &**o)
    }

    pub(super) fn get_mut(&mut self, op: &OpId) -> Option<&mut Operation<L>> {
        self.0.get_mut(op).map(|o| &mut **o)
    }

    pub(super) fn insert(&mut self, op: OpId, operation: Operation<L>) {
        self.0.insert(op, Box::new(operation));
    }

    pub(super) fn remove(&mut self, op: &OpId) -> Option<Operation<L>> {
        self.0.remove(op).map(|o| *o)
    }

    pub(super) fn ids_where(&self, mut wanted: impl FnMut(&Operation<L>) -> bool) -> Vec<OpId> {
        self.0.iter().filter(|(_, o)| wanted(o)).map(|(id, _)| *id).collect()
    }
}

impl<L> Operation<L> {
    pub(super) fn is_maintenance(&self) -> bool {
        matches!(self.phase, Phase::Lookup { goal: Goal::Maintenance | Goal::Relocate, .. })
    }
}

impl<O: Overlay, S: Store> Node<O, S> {
    pub(super) fn start_lookup_op(&mut self, op: OpId, target: Id, goal: Goal, now: Time) {
        self.run_lookup(op, target, goal, 0, OpStats::at(now), now);
    }

    fn run_lookup(&mut self, op: OpId, target: Id, goal: Goal, attempt: u32, stats: OpStats, now: Time) {
        let wanted = match goal {
            Goal::Maintenance => usize::MAX,
            Goal::FindPeers | Goal::Put(_) => self.config.replicas,
            Goal::Relocate => self.config.holders(),
            // Twice the set: when the replicas it asks first have no copy
            // (their views lag a churning network), the next ones may.
            Goal::Get(_) => 2 * self.config.replicas,
        };
        let lookup = self.overlay.lookup(target, wanted, now);
        let phase = Phase::Lookup { target, lookup, goal, attempt, since: now, sent_before: stats.messages };
        self.ops.insert(op, Operation { phase, stats });
        self.drive_lookup(op, now);
    }

    /// Looks again for the puts and gets parked since the last node tick.
    pub(super) fn resume_parked(&mut self, now: Time) {
        for (op, target, goal, attempt, stats) in self.take_parked() {
            self.run_lookup(op, target, goal, attempt, stats, now);
        }
    }

    /// Ends the parked puts and gets with the failure they waited to avoid:
    /// a leaving node ticks no more.
    pub(super) fn fail_parked(&mut self, now: Time) {
        for (op, _, goal, _, mut stats) in self.take_parked() {
            stats.finished = now;
            let outcome = match goal {
                Goal::Put(_) => super::OpOutcome::Put(Err(OpError::NoPeers)),
                _ => super::OpOutcome::Get(Err(OpError::Unreachable)),
            };
            self.finish(op, outcome, stats);
        }
    }

    /// Parks operation `op` until the next node tick, which starts lookup
    /// `attempt` of `target` for `goal` ([`Phase::Parked`]).
    fn park(&mut self, op: OpId, target: Id, goal: Goal, attempt: u32, stats: OpStats) {
        self.ops.insert(op, Operation { phase: Phase::Parked { target, goal, attempt }, stats });
    }

    fn take_parked(&mut self) -> Vec<(OpId, Id, Goal, u32, OpStats)> {
        let parked: Vec<OpId> = self.ops.ids_where(|o| matches!(o.phase, Phase::Parked { .. }));
        let mut taken = Vec::with_capacity(parked.len());
        for op in parked {
            if let Some(Operation { phase: Phase::Parked { target, goal, attempt }, stats }) = self.ops.remove(&op) {
                taken.push((op, target, goal, attempt, stats));
            }
        }
        taken
    }

    pub(super) fn lookup_answered(&mut self, op: OpId, from: &Peer, answer: Option<Response<O::Message>>, now: Time) {
        let Some(Operation { phase: Phase::Lookup { lookup, .. }, .. }) = self.ops.get_mut(&op) else { return };
        match answer {
            Some(Response::Overlay(m)) => lookup.on_response(from, m),
            _ => lookup.on_failure(from),
        }
        self.drive_lookup(op, now);
    }

    /// Sends what the lookup asks for; when it has ended, or spent its
    /// request budget or its time ([`super::NodeConfig::max_lookup_requests`],
    /// [`super::NodeConfig::lookup_deadline`]), moves the operation to its
    /// next phase with what it found so far. A hostile hop that keeps
    /// naming fresh peers nearer the target cannot keep a lookup going.
    fn drive_lookup(&mut self, op: OpId, now: Time) {
        let (budget, deadline) = (self.config.max_lookup_requests, self.config.lookup_deadline);
        let Some(Operation { phase: Phase::Lookup { lookup, since, sent_before, .. }, stats }) = self.ops.get_mut(&op)
        else {
            return;
        };
        let spent = stats.messages.saturating_sub(*sent_before) as usize >= budget || now.since(*since) >= deadline;
        let requests = if spent { Vec::new() } else { lookup.poll() };
        let done = spent || lookup.is_done();
        for (peer, m) in requests {
            self.send(peer, Request::Overlay(m), Purpose::Lookup(op), now);
            if let Some(o) = self.ops.get_mut(&op) {
                o.stats.messages += 1;
            }
        }
        if !done {
            return;
        }
        let Some(Operation { phase: Phase::Lookup { target, lookup, goal, attempt, .. }, mut stats }) =
            self.ops.remove(&op)
        else {
            return;
        };
        let outcome = lookup.outcome();
        stats.hops = outcome.hops;
        // A path that ran into a node just killed, before its neighbours
        // noticed, finds nobody, or fewer than a write quorum where this
        // node knows enough peers to make one (a put there would take one
        // acknowledgement for a quorum): the overlay mends within a round
        // or two. A network smaller than the quorum gets its puts at once.
        let wanted = match goal {
            Goal::Put(_) => self.config.write_quorum.max(1),
            Goal::Get(_) => 1,
            _ => 0,
        };
        let holders = outcome.closest.iter().filter(|p| self.can_hold(p)).count();
        if attempt < self.config.lookup_retries && holders < wanted && (holders == 0 || self.knows_holders(wanted)) {
            self.park(op, target, goal, attempt + 1, stats);
            return;
        }
        match goal {
            Goal::Maintenance => {
                let actions = self.overlay.lookup_done(target, &outcome, now);
                self.apply_actions(actions, now);
            }
            Goal::FindPeers => {
                stats.finished = now;
                self.finish(op, super::OpOutcome::FindPeers(outcome.closest), stats);
            }
            Goal::Relocate => self.relocate(target, &outcome, now),
            Goal::Put(record) => self.start_storing(op, record, &outcome, (attempt, stats), now),
            Goal::Get(earlier) => self.start_fetching(op, target, outcome, (attempt, earlier), stats, now),
        }
    }

    /// `earlier`: the lookups run before this one, and the operation's
    /// statistics so far.
    fn start_storing(&mut self, op: OpId, record: Record, outcome: &LookupOutcome, earlier: (u32, OpStats), now: Time) {
        let (attempt, stats) = earlier;
        let candidates = self.storage_candidates(&outcome.closest);
        let targets: Vec<Peer> = candidates.iter().take(self.config.replicas).copied().collect();
        let spares = candidates.iter().skip(self.config.replicas).copied().collect();
        let needed = self.config.write_quorum.min(targets.len());
        let retry = Some((record.clone(), spares));
        let storing = Storing::new(targets.len(), needed, retry, attempt);
        self.ops.insert(op, Operation { phase: Phase::Storing(storing), stats });
        self.store_on(op, &targets, &record, now);
    }

    /// Whether this node knows at least `n` peers, itself included, that
    /// can hold records.
    fn knows_holders(&self, n: usize) -> bool {
        let local = self.local();
        let known = self.overlay.neighbours().into_iter().filter(|p| p.id != local.id && self.can_hold(p)).count();
        known + usize::from(self.can_hold(&local)) >= n
    }

    /// The peers of a lookup result that can hold records.
    fn storage_candidates(&self, closest: &[Peer]) -> Vec<Peer> {
        closest.iter().filter(|p| self.can_hold(p)).copied().collect()
    }

    /// Whether `peer` can hold records: any peer but this node when it is
    /// a client.
    fn can_hold(&self, peer: &Peer) -> bool {
        !self.config.role.is_client() || peer.id != self.local().id
    }

    /// Sends `record` to each target of a storing operation (storing locally
    /// when the target is this node), then checks whether it has ended.
    fn store_on(&mut self, op: OpId, targets: &[Peer], record: &Record, now: Time) {
        let local = self.local().id;
        for peer in targets {
            if peer.id == local {
                let answer = self.store_for(None, record.clone(), Offer::Write, now);
                let verdict = self.store_verdict(op, Some(answer));
                self.count_store_answer(op, verdict);
            } else {
                self.send(*peer, Request::Store(Box::new(record.clone())), Purpose::Store(op), now);
                if let Some(o) = self.ops.get_mut(&op) {
                    o.stats.messages += 1;
                }
            }
        }
        self.check_storing(op, now);
    }

    pub(super) fn store_answered(&mut self, op: OpId, answer: Option<Response<O::Message>>, now: Time) {
        let verdict = self.store_verdict(op, answer);
        if matches!(verdict, Verdict::Failed) {
            let spare = match self.ops.get_mut(&op) {
                Some(Operation { phase: Phase::Storing(Storing { retry: Some((record, spares)), .. }), .. }) => {
                    spares.pop_front().map(|peer| (peer, record.clone()))
                }
                _ => None,
            };
            if let Some((peer, record)) = spare {
                self.send(peer, Request::Store(Box::new(record)), Purpose::Store(op), now);
                if let Some(o) = self.ops.get_mut(&op) {
                    o.stats.messages += 1;
                }
                return;
            }
        }
        self.count_store_answer(op, verdict);
        self.check_storing(op, now);
    }

    /// What a replica's answer to a store means for the operation. A
    /// replica holding a newer open version took part in a last-writer-wins
    /// write; one holding a newer signed version, or an owned record where
    /// an open one was offered, refused it. A "newer" record that is not
    /// one — another key, invalid, or losing to what was offered — is a
    /// lie, and counts as no answer.
    fn store_verdict(&self, op: OpId, answer: Option<Response<O::Message>>) -> Verdict {
        let offered = match self.ops.get(&op) {
            Some(Operation { phase: Phase::Storing(Storing { retry: Some((record, _)), .. }), .. }) => Some(record),
            _ => None,
        };
        match (answer, offered) {
            (Some(Response::Stored(_)), _) | (Some(Response::Newer(_)), None) => Verdict::Ack { replica: true },
            (Some(Response::StoredAsSpare(_)), _) => Verdict::Ack { replica: false },
            (Some(Response::Newer(held)), Some(offered)) if !self.proves_newer(&held, offered) => Verdict::Failed,
            (Some(Response::Newer(held)), Some(offered)) => match (&offered.owner, &held.owner) {
                (Owner::Open, Owner::Open) | (Owner::Content, Owner::Content) => Verdict::Ack { replica: true },
                (Owner::Signed { .. }, Owner::Signed { .. }) => {
                    Verdict::Refused(OpError::Outdated { offered: offered.version, held: held.version })
                }
                _ => Verdict::Refused(OpError::Owned),
            },
            // A busy replica may take it later; a spare stands in meanwhile.
            (Some(Response::Refused(super::Refusal::Busy)), _) => Verdict::Failed,
            (Some(Response::Refused(reason)), _) => Verdict::Refused(OpError::Refused(reason)),
            _ => Verdict::Failed,
        }
    }

    fn count_store_answer(&mut self, op: OpId, verdict: Verdict) {
        if let Some(Operation { phase: Phase::Storing(s), .. }) = self.ops.get_mut(&op) {
            match verdict {
                Verdict::Ack { replica } => {
                    s.acks += 1;
                    s.replica_acks += usize::from(replica);
                }
                Verdict::Refused(e) => {
                    s.failures += 1;
                    s.refused.get_or_insert(e);
                }
                Verdict::Failed => s.failures += 1,
            }
        }
    }

    /// Ends a put once a write quorum of replicas took the record. Takes
    /// from spares ([`Response::StoredAsSpare`]) count only when every
    /// target has answered and looking again, at the next node ticks, up to
    /// [`super::NodeConfig::lookup_retries`] times, found no more replicas:
    /// a write that only nodes outside the key's replica set hold — the
    /// writer's path ended at a node whose view was out of date — is not
    /// where a reader's path ends a moment later.
    pub(super) fn check_storing(&mut self, op: OpId, now: Time) {
        let retries = self.config.lookup_retries;
        let Some(Operation { phase: Phase::Storing(s), stats }) = self.ops.get(&op) else { return };
        let all_answered = s.acks + s.failures >= s.targets;
        if !s.leaving && all_answered && s.acks >= s.needed && s.replica_acks < s.needed && s.attempt < retries {
            if let Some((record, _)) = &s.retry {
                let (target, goal, attempt, stats) = (record.key, Goal::Put(record.clone()), s.attempt + 1, *stats);
                self.park(op, target, goal, attempt, stats);
                return;
            }
        }
        let outcome = if s.leaving {
            all_answered.then_some(super::OpOutcome::Left)
        } else if s.targets == 0 {
            Some(super::OpOutcome::Put(Err(OpError::NoPeers)))
        } else if s.replica_acks >= s.needed || (all_answered && s.acks >= s.needed) {
            Some(super::OpOutcome::Put(Ok(s.acks)))
        } else if s.targets - s.failures < s.needed {
            let quorum = OpError::QuorumNotReached { acks: s.acks, needed: s.needed };
            Some(super::OpOutcome::Put(Err(s.refused.clone().unwrap_or(quorum))))
        } else {
            None
        };
        if let Some(outcome) = outcome {
            if let Some(mut o) = self.ops.remove(&op) {
                o.stats.finished = now;
                self.finish(op, outcome, o.stats);
            }
        }
    }

    /// `earlier`: the lookups run before this one, and the newest record
    /// they found only in hints.
    fn start_fetching(
        &mut self,
        op: OpId,
        key: Id,
        outcome: LookupOutcome,
        earlier: (u32, Option<Record>),
        stats: OpStats,
        now: Time,
    ) {
        let (attempt, hinted) = earlier;
        let fetching = Fetching {
            key,
            attempt,
            hinted,
            candidates: self.storage_candidates(&outcome.closest),
            next: 0,
            outstanding: 0,
            answered: 0,
            replies: Vec::new(),
            reported: false,
        };
        self.ops.insert(op, Operation { phase: Phase::Fetching(fetching), stats });
        self.fetch_next_batch(op, now);
        self.check_fetching(op, now);
    }

    /// Asks the next `r` candidates; the first batch is the replica set,
    /// later batches are a fall-back for when none of those held the key.
    fn fetch_next_batch(&mut self, op: OpId, now: Time) {
        let replicas = self.config.replicas;
        let Some(Operation { phase: Phase::Fetching(f), .. }) = self.ops.get_mut(&op) else { return };
        let end = (f.next + replicas).min(f.candidates.len());
        let batch: Vec<Peer> = f.candidates[f.next..end].to_vec();
        f.next = end;
        f.outstanding += batch.len();
        let key = f.key;
        let local = self.local().id;
        for peer in batch {
            if peer.id == local {
                match self.store.read(&key, now) {
                    Ok(held) => {
                        let votes = self.counts_toward_quorum(&key, held.is_some(), now);
                        self.record_fetch_reply(op, Reply { peer, held, votes })
                    }
                    Err(_) => self.record_fetch_failure(op),
                }
            } else {
                self.send(peer, Request::Fetch(key), Purpose::Fetch(op), now);
                if let Some(o) = self.ops.get_mut(&op) {
                    o.stats.messages += 1;
                }
            }
        }
    }

    pub(super) fn fetch_answered(&mut self, op: OpId, from: &Peer, answer: Option<Response<O::Message>>, now: Time) {
        let (record, votes) = match answer {
            Some(Response::Value(record)) => (record, true),
            Some(Response::CatchingUp(record)) => (record, false),
            _ => {
                self.record_fetch_failure(op);
                return self.check_fetching(op, now);
            }
        };
        let key_matches = record.as_ref().is_none_or(|r| self.ops_key(op) == Some(r.key));
        let valid = record.as_ref().is_none_or(|r| self.check(r).is_ok());
        let held = record.map(|r| *r).filter(|r| !r.is_expired(now));
        if key_matches && valid {
            self.record_fetch_reply(op, Reply { peer: *from, held, votes });
        } else {
            self.record_fetch_failure(op);
        }
        self.check_fetching(op, now);
    }

    fn ops_key(&self, op: OpId) -> Option<Id> {
        match self.ops.get(&op) {
            Some(Operation { phase: Phase::Fetching(f), .. }) => Some(f.key),
            _ => None,
        }
    }

    fn record_fetch_reply(&mut self, op: OpId, reply: Reply) {
        if let Some(Operation { phase: Phase::Fetching(f), .. }) = self.ops.get_mut(&op) {
            f.outstanding -= 1;
            f.answered += 1;
            f.replies.push(reply);
        }
    }

    fn record_fetch_failure(&mut self, op: OpId) {
        if let Some(Operation { phase: Phase::Fetching(f), .. }) = self.ops.get_mut(&op) {
            f.outstanding -= 1;
        }
    }

    /// Reports the newest record once a read quorum of voting replicas
    /// (not catching up) hold that very version — so a get that reads
    /// differing versions, or fewer votes than its quorum, asks the next
    /// candidates before it answers — or, failing that, once every
    /// candidate has answered. Read-repairs stale replicas when every
    /// answer is in. A get whose candidates have all answered, and in which
    /// only hints ([`Response::CatchingUp`]) hold a record — or nobody does
    /// while a member of the replica set failed to answer or answered with
    /// a hint — looks again at the next node tick, up to
    /// [`super::NodeConfig::lookup_retries`] times: its path ended beside
    /// the key's replicas, at nodes that handed the key off or just came
    /// back, or the replicas were too busy to answer in time; "no such key"
    /// from the others is no answer.
    fn check_fetching(&mut self, op: OpId, now: Time) {
        let (quorum, retries, replicas) = (self.config.read_quorum, self.config.lookup_retries, self.config.replicas);
        let validator = &self.config.validator;
        let Some(Operation { phase: Phase::Fetching(f), stats }) = self.ops.get_mut(&op) else { return };
        let newest = newest(&f.replies, f.hinted.as_ref(), validator);
        if !f.reported {
            let asked_all = f.outstanding == 0 && f.next >= f.candidates.len();
            let votes = newest.as_ref().map_or(0, |r| votes_for(&f.replies, r, validator));
            let weak = || match &newest {
                Some(_) => votes == 0,
                None => f.candidates.iter().take(replicas).any(|p| !f.replies.iter().any(|r| r.peer == *p && r.votes)),
            };
            if asked_all && f.attempt < retries && weak() {
                let (target, attempt, stats) = (f.key, f.attempt + 1, *stats);
                self.park(op, target, Goal::Get(newest), attempt, stats);
                return;
            }
            let report = match &newest {
                Some(r) if asked_all || votes >= quorum => Some(Ok(Some(r.clone()).filter(|r| !r.tombstone))),
                None if asked_all => Some(if f.answered == 0 { Err(OpError::Unreachable) } else { Ok(None) }),
                _ => None,
            };
            if let Some(result) = report {
                f.reported = true;
                let mut stats = *stats;
                stats.finished = now;
                self.finish(op, super::OpOutcome::Get(result), stats);
            } else if f.outstanding == 0 {
                self.fetch_next_batch(op, now);
                return self.check_fetching(op, now);
            }
        }
        let Some(Operation { phase: Phase::Fetching(f), .. }) = self.ops.get(&op) else { return };
        if f.outstanding > 0 {
            return;
        }
        let stale = match &newest {
            Some(best) => self.short_of(f, best),
            None => Vec::new(),
        };
        self.ops.remove(&op);
        if let Some(best) = newest {
            self.read_repair(&stale, best, now);
        }
    }

    /// Where a get that found `best` should write it back: the members of
    /// the replica set that answered with an older version or none, and
    /// for each member that did not answer, the next candidate after the
    /// set that does not hold `best` yet — so the key is back to `r` live
    /// copies however the missing ones were lost.
    fn short_of(&self, f: &Fetching, best: &Record) -> Vec<Peer> {
        let validator = &self.config.validator;
        let behind = |held: &Option<Record>| held.as_ref().is_none_or(|h| validator.wins(best, h));
        let reply = |peer: &Peer| f.replies.iter().find(|r| r.peer == *peer).map(|r| &r.held);
        let (set, rest) = f.candidates.split_at(self.config.replicas.min(f.candidates.len()));
        let mut targets: Vec<Peer> = set.iter().filter(|p| reply(p).is_some_and(behind)).copied().collect();
        let mut missing = set.iter().filter(|p| reply(p).is_none()).count();
        for peer in rest {
            if missing == 0 {
                break;
            }
            missing -= 1;
            if reply(peer).is_none_or(behind) {
                targets.push(*peer);
            }
        }
        targets
    }

    fn read_repair(&mut self, stale: &[Peer], best: Record, now: Time) {
        let local = self.local().id;
        for peer in stale {
            if peer.id == local {
                self.store_for(None, best.clone(), Offer::Copy, now);
            } else {
                self.send(*peer, Request::Replicate(Box::new(best.clone())), Purpose::Repair(best.key), now);
            }
        }
    }
}

/// What a replica's answer to a store counts as.
enum Verdict {
    /// Taken; `replica`: by a node in the key's replica set as it sees it.
    Ack { replica: bool },
    /// Refused for a reason that asking another peer would not change.
    Refused(OpError),
    /// No answer, or no useful one: a spare may stand in.
    Failed,
}

/// The voting replies that hold `newest` itself (none newer exists among
/// the replies, so "not beaten by it" is "the same version").
fn votes_for(replies: &[Reply], newest: &Record, validator: &SharedValidator) -> usize {
    replies.iter().filter(|r| r.votes && r.held.as_ref().is_some_and(|h| !validator.wins(newest, h))).count()
}

/// The newest record among the replies and `hinted`, found by an earlier
/// attempt.
fn newest(replies: &[Reply], hinted: Option<&Record>, validator: &SharedValidator) -> Option<Record> {
    replies
        .iter()
        .filter_map(|r| r.held.as_ref())
        .chain(hinted)
        .fold(None::<&Record>, |best, r| match best {
            Some(b) if !validator.wins(r, b) => Some(b),
            _ => Some(r),
        })
        .cloned()
}
