//! One shard of the simulated network: the nodes whose index leaves the
//! shard's number as remainder when divided by the number of shards, their
//! event queue, and the messages they sent during the current window.
//!
//! A shard touches nothing outside itself while it runs a window: a message
//! to any node, in this shard or another, is kept in [`Shard::sent`], by
//! the shard it goes to, and handed over when the window ends (it cannot
//! fall due before then, since a window is shorter than the smallest link
//! latency); the receiving shard files what it was handed into its queue
//! when its next window starts ([`Shard::receive`]), on its own thread.
//! The latency and loss of a message are drawn from the sender's own
//! random stream, not from one shared with other nodes. So
//! each node sees the same events in the same order however the nodes are
//! split into shards and whichever shard runs first: the run does not
//! depend on the number of threads.

use super::network::Partitions;
use super::queue::{EventKind, Queue};
use super::{Adversary, OpRef, SimConfig};
use dht_core::{wire, Address, Event, MemoryStore, Node, Peer, Rng, Role, SimOverlay, Time, Transmit};
use std::collections::BTreeSet;

/// Mixed into the seed of each message's draws, so that they do not repeat
/// the streams derived for nodes and links from the same seed.
const MESSAGE_DRAWS: u64 = 0x6d65_7373_6167_6573;

/// A node's place in the simulation, up or down.
pub(super) struct Slot<O: SimOverlay> {
    pub(super) peer: Peer,
    pub(super) node: Option<Node<O, MemoryStore>>,
    pub(super) wake_at: Option<Time>,
    /// The store of a node stopped with `Simulation::stop`: its disk, kept
    /// for `Simulation::restart`.
    pub(super) disk: Option<MemoryStore>,
    /// A member, or a client.
    pub(super) role: Role,
    /// Times the node was started: its current run.
    pub(super) runs: u32,
    /// The slot's own random stream, over all its runs, for the latency
    /// and loss of each message it sends.
    draws: Rng,
    /// A digest of the events this slot has seen, in order.
    digest: u64,
}

impl<O: SimOverlay> Slot<O> {
    /// Slot `index` of a simulation with `seed`.
    pub(super) fn new(
        index: u32,
        seed: u64,
        peer: Peer,
        node: Option<Node<O, MemoryStore>>,
        role: Role,
        runs: u32,
    ) -> Slot<O> {
        let draws = Rng::derive(seed ^ MESSAGE_DRAWS, u64::from(index));
        Slot { peer, node, wake_at: None, disk: None, role, runs, draws, digest: 0xcbf2_9ce4_8422_2325 }
    }

    /// Stops the node without warning; its state and store are gone.
    pub(super) fn crash(&mut self) {
        self.node = None;
        self.disk = None;
        self.wake_at = None;
    }

    /// Adds an event to the slot's digest.
    pub(super) fn trace(&mut self, parts: &[u64]) {
        for p in parts {
            self.digest = (self.digest ^ p).wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub(super) fn digest(&self) -> u64 {
        self.digest
    }
}

/// A message sent during a window, handed to its node's shard when the
/// window ends.
pub(super) struct Sent<M> {
    at: Time,
    from: u32,
    event: EventKind<M>,
}

/// What every shard reads and none changes while a window runs.
pub(super) struct Net<'a> {
    pub(super) config: &'a SimConfig,
    pub(super) partitions: &'a Partitions,
    /// Nodes that answer through the adversary (which only a shard run on
    /// the simulation's own thread is given).
    pub(super) malicious: &'a BTreeSet<u32>,
}

/// Some of the simulation's nodes, with their own event queue.
pub(super) struct Shard<O: SimOverlay> {
    /// The shard's nodes, node `index` at `index / count`.
    pub(super) slots: Vec<Slot<O>>,
    /// Number of shards.
    count: u32,
    queue: Queue<O::Message>,
    /// Messages sent since they were last handed over, by the shard of
    /// the node they go to.
    sent: Vec<Vec<Sent<O::Message>>>,
    /// When the earliest of them falls due.
    sent_due: Option<Time>,
    /// The order [`Shard::receive`] files messages in, kept between calls.
    filing: Vec<(Time, u32, u32, u32)>,
    /// Operations finished since the simulation last collected them.
    pub(super) finished: Vec<(OpRef, Event)>,
    pub(super) delivered: u64,
    pub(super) events: u64,
    pub(super) wire_errors: u64,
    /// What [`Shard::flush`] collects from a node, kept between calls so
    /// that a message handled does not cost an allocation.
    outbox: Vec<Transmit<O::Message>>,
}

impl<O: SimOverlay> Shard<O> {
    pub(super) fn new(count: u32) -> Shard<O> {
        Shard {
            slots: Vec::new(),
            count,
            queue: Queue::new(),
            sent: (0..count).map(|_| Vec::new()).collect(),
            sent_due: None,
            filing: Vec::new(),
            finished: Vec::new(),
            delivered: 0,
            events: 0,
            wire_errors: 0,
            outbox: Vec::new(),
        }
    }

    pub(super) fn slot(&self, index: u32) -> Option<&Slot<O>> {
        self.slots.get((index / self.count) as usize)
    }

    pub(super) fn slot_mut(&mut self, index: u32) -> Option<&mut Slot<O>> {
        self.slots.get_mut((index / self.count) as usize)
    }

    /// Events waiting in the queue or sent and not yet handed over.
    pub(super) fn queued(&self) -> usize {
        self.queue.len() + self.sent_count()
    }

    fn sent_count(&self) -> usize {
        self.sent.iter().map(Vec::len).sum()
    }

    /// When the next event of this shard's, or the next message it sent,
    /// falls due.
    pub(super) fn next_due(&self) -> Option<Time> {
        self.queue.next_due().into_iter().chain(self.sent_due).min()
    }

    /// Events due at or before `until`, as far as the calendar tells
    /// cheaply, and the messages sent and not handed over yet.
    pub(super) fn due_by(&self, until: Time) -> usize {
        self.queue.due_by(until) + self.sent_count()
    }

    /// Takes the messages sent since the last hand-over, by the shard they go to.
    pub(super) fn hand_over(&mut self) -> Vec<Vec<Sent<O::Message>>> {
        self.sent_due = None;
        // As much room as the last window needed, so that sending does not
        // grow the lists step by step.
        let fresh = self.sent.iter().map(|sent| Vec::with_capacity(sent.len())).collect();
        std::mem::replace(&mut self.sent, fresh)
    }

    /// Files the messages handed over from every shard (in shard order)
    /// into the queue, in an order that does not depend on how the nodes
    /// are split into shards: by due time, then sender; a sender's own
    /// messages keep the order it sent them in.
    fn receive(&mut self, mut handed: Vec<Vec<Sent<O::Message>>>) {
        // Sorts their places, not the messages (a message is some 150
        // bytes): a sender's messages are all in one list, in sending order.
        let mut filing = std::mem::take(&mut self.filing);
        for (list, sent) in handed.iter().enumerate() {
            filing.extend(sent.iter().enumerate().map(|(i, m)| (m.at, m.from, list as u32, i as u32)));
        }
        filing.sort_unstable();
        for &(at, _, list, i) in &filing {
            if let Some(message) = handed.get_mut(list as usize).and_then(|sent| sent.get_mut(i as usize)) {
                let event = std::mem::replace(&mut message.event, EventKind::Wake { node: u32::MAX });
                self.queue.push(at, event);
            }
        }
        filing.clear();
        self.filing = filing;
    }

    /// Files the messages `handed` to this shard, then processes every
    /// event due at or before `until`.
    pub(super) fn run_window(
        &mut self,
        handed: Vec<Vec<Sent<O::Message>>>,
        until: Time,
        net: &Net,
        adversary: &mut Option<&mut Adversary<O::Message>>,
    ) {
        self.receive(handed);
        self.run_until(until, net, adversary);
    }

    /// Processes every event due at or before `until`.
    fn run_until(&mut self, until: Time, net: &Net, adversary: &mut Option<&mut Adversary<O::Message>>) {
        while let Some((at, event)) = self.queue.pop_until(until) {
            self.process(at, event, net, adversary);
            self.events += 1;
        }
    }

    fn process(
        &mut self,
        now: Time,
        event: EventKind<O::Message>,
        net: &Net,
        adversary: &mut Option<&mut Adversary<O::Message>>,
    ) {
        match event {
            EventKind::Request { to, from, from_index, client, id, request } => {
                let Some(slot) = self.slots.get_mut((to / self.count) as usize) else { return };
                slot.trace(&[now.0, 1, u64::from(from_index), u64::from(to), id.0]);
                let Some(node) = slot.node.as_mut() else { return };
                self.delivered += 1;
                let forged = match adversary {
                    Some(adversary) if net.malicious.contains(&to) => adversary(to, &from, &request),
                    _ => None,
                };
                let response = match forged {
                    Some(response) => response,
                    None if client => node.handle_client_request(&from, request, now),
                    None => node.handle_request(&from, request, now),
                };
                self.flush(to, now, net);
                if let Some(response) = self.through_wire(response, net) {
                    self.send(to, from_index, now, EventKind::Response { to: from_index, id, response }, net);
                }
            }
            EventKind::Response { to, id, response } => {
                let Some(slot) = self.slots.get_mut((to / self.count) as usize) else { return };
                slot.trace(&[now.0, 2, u64::from(to), id.0]);
                let Some(node) = slot.node.as_mut() else { return };
                self.delivered += 1;
                node.handle_response(id, response, now);
                self.flush(to, now, net);
            }
            EventKind::Wake { node: index } => {
                let Some(slot) = self.slots.get_mut((index / self.count) as usize) else { return };
                if slot.wake_at != Some(now) {
                    return;
                }
                slot.wake_at = None;
                let Some(node) = slot.node.as_mut() else { return };
                node.handle_timeout(now);
                slot.trace(&[now.0, 3, u64::from(index)]);
                self.flush(index, now, net);
            }
        }
    }

    /// Sends a message from `from` (a node of this shard) to `to`, unless
    /// it is lost or the two are partitioned apart.
    fn send(&mut self, from: u32, to: u32, now: Time, event: EventKind<O::Message>, net: &Net) {
        let Some(slot) = self.slots.get_mut((from / self.count) as usize) else { return };
        let draws = &mut slot.draws;
        if !net.partitions.connected(from, to) || (net.config.loss > 0.0 && draws.chance(net.config.loss)) {
            return;
        }
        let delay = net.config.latency.sample(net.config.seed, from, to, draws);
        let at = Time(now.0 + delay);
        self.sent_due = Some(self.sent_due.map_or(at, |due| due.min(at)));
        let to_shard = (to % self.count) as usize;
        if let Some(sent) = self.sent.get_mut(to_shard) {
            sent.push(Sent { at, from, event });
        }
    }

    /// Collects what node `index` wants done after an input: requests to
    /// send, finished operations, its next timer.
    pub(super) fn flush(&mut self, index: u32, now: Time, net: &Net) {
        let Some(slot) = self.slots.get_mut((index / self.count) as usize) else { return };
        let Some(node) = slot.node.as_mut() else { return };
        let (from, run, client) = (slot.peer, slot.runs, slot.role.is_client());
        let mut transmits = std::mem::take(&mut self.outbox);
        while let Some(t) = node.poll_transmit() {
            transmits.push(t);
        }
        let mut events = Vec::new();
        while let Some(e) = node.poll_event() {
            events.push(e);
        }
        if let Some(at) = node.poll_timeout() {
            if slot.wake_at.is_none_or(|w| at < w) {
                let at = at.max(now);
                slot.wake_at = Some(at);
                self.queue.push(at, EventKind::Wake { node: index });
            }
        }
        for t in transmits.drain(..) {
            let Address::Memory(to) = t.to.addr else { continue };
            if let Some(request) = self.through_wire(t.request, net) {
                let event = EventKind::Request { to, from, from_index: index, client, id: t.id, request };
                self.send(index, to, now, event, net);
            }
        }
        self.outbox = transmits;
        for e in events {
            let left = matches!(e.outcome, dht_core::OpOutcome::Left);
            self.finished.push((OpRef { node: index, run, op: e.op }, e));
            if left {
                if let Some(slot) = self.slots.get_mut((index / self.count) as usize) {
                    slot.crash();
                }
            }
        }
    }

    /// With `wire_check`, sends a message through the codec and back; a
    /// message that does not survive is counted and dropped.
    fn through_wire<T: serde::Serialize + serde::de::DeserializeOwned>(&mut self, message: T, net: &Net) -> Option<T> {
        if !net.config.wire_check {
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
