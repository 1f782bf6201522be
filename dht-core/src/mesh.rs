//! [`Mesh`]: the smallest overlay that works — every member knows every
//! other, a key's replicas are the `r` members nearest it by XOR, and a
//! lookup is answered from the local table in no hops.
//!
//! It is not for large networks (its state and its join answer grow with
//! the network, capped at [`MAX_PEERS`]): it is the overlay the node's own
//! tests run on, the stand-in where a test needs *an* overlay, and the
//! shortest complete example of the [`Overlay`] and [`Lookup`] traits.

use crate::{Action, Id, Lookup, LookupOutcome, Overlay, Peer, Rng, Role, SimOverlay, Time};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Most peers a mesh node keeps, and sends in one answer.
pub const MAX_PEERS: usize = 256;

/// Mesh messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MeshMessage {
    /// "Who do you know?" — sent by a joining member.
    Hello,
    /// The members the answerer knows (itself included).
    Peers(Vec<Peer>),
}

/// A full-mesh overlay node.
#[derive(Debug, Clone)]
pub struct Mesh {
    local: Peer,
    role: Role,
    joined: bool,
    peers: BTreeMap<Id, Peer>,
}

impl Mesh {
    /// The overlay for node `local`.
    pub fn new(local: Peer) -> Mesh {
        Mesh { local, role: Role::Member, joined: false, peers: BTreeMap::new() }
    }

    /// The `n` members nearest `key`, from `candidates`, best first.
    fn nearest(&self, key: &Id, n: usize) -> Vec<Peer> {
        let mut all: Vec<Peer> = self.peers.values().copied().collect();
        if !self.role.is_client() {
            all.push(self.local);
        }
        all.sort_by_key(|p| p.id.distance(key));
        all.truncate(n);
        all
    }

    fn learn(&mut self, peer: &Peer) {
        if peer.id != self.local.id && (self.peers.len() < MAX_PEERS || self.peers.contains_key(&peer.id)) {
            self.peers.insert(peer.id, *peer);
        }
    }
}

/// A mesh lookup: settled before it starts.
#[derive(Debug)]
pub struct MeshLookup(LookupOutcome);

impl Lookup for MeshLookup {
    type Message = MeshMessage;

    fn poll(&mut self) -> Vec<(Peer, MeshMessage)> {
        Vec::new()
    }

    fn on_response(&mut self, _from: &Peer, _message: MeshMessage) {}

    fn on_failure(&mut self, _from: &Peer) {}

    fn is_done(&self) -> bool {
        true
    }

    fn outcome(&self) -> LookupOutcome {
        self.0.clone()
    }
}

impl Overlay for Mesh {
    type Message = MeshMessage;
    type Lookup = MeshLookup;
    const NAME: &'static str = "mesh";

    fn local(&self) -> Peer {
        self.local
    }

    /// Asks every bootstrap peer whom it knows; joined at the first answer
    /// (at once when there is no one to ask).
    fn bootstrap(&mut self, peers: &[Peer], role: Role, _now: Time) -> Vec<Action<MeshMessage>> {
        self.role = role;
        for peer in peers {
            self.learn(peer);
        }
        self.joined = self.peers.is_empty();
        self.peers.values().map(|p| Action::Send(*p, MeshMessage::Hello)).collect()
    }

    fn is_joined(&self) -> bool {
        self.joined
    }

    fn handle_request(&mut self, _from: &Peer, _message: MeshMessage, _now: Time) -> MeshMessage {
        let mut known: Vec<Peer> = self.peers.values().copied().take(MAX_PEERS - 1).collect();
        if !self.role.is_client() {
            known.push(self.local);
        }
        MeshMessage::Peers(known)
    }

    fn handle_response(&mut self, _from: &Peer, message: MeshMessage, _now: Time) -> Vec<Action<MeshMessage>> {
        if let MeshMessage::Peers(peers) = message {
            // Only ids are learned here; a peer named by another is taken on
            // trust, which is what makes this overlay a test double.
            for peer in peers.iter().take(MAX_PEERS) {
                self.learn(peer);
            }
            self.joined = true;
        }
        Vec::new()
    }

    fn lookup(&mut self, target: Id, _wanted: usize, _now: Time) -> MeshLookup {
        MeshLookup(LookupOutcome { closest: self.nearest(&target, MAX_PEERS), hops: 0 })
    }

    fn lookup_done(&mut self, _target: Id, _outcome: &LookupOutcome, _now: Time) -> Vec<Action<MeshMessage>> {
        Vec::new()
    }

    fn replica_set(&self, key: &Id, n: usize) -> Vec<Peer> {
        self.nearest(key, n)
    }

    /// Asks one known member, at random, whom it knows: news of joins
    /// spreads by gossip until every member knows every other.
    fn tick(&mut self, _now: Time, rng: &mut Rng) -> Vec<Action<MeshMessage>> {
        if self.peers.is_empty() || self.role.is_client() {
            return Vec::new();
        }
        let index = rng.below(self.peers.len() as u64) as usize;
        self.peers.values().nth(index).map(|p| Action::Send(*p, MeshMessage::Hello)).into_iter().collect()
    }

    fn tick_interval(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn peer_alive(&mut self, peer: &Peer, _now: Time) {
        self.learn(peer);
    }

    fn peer_failed(&mut self, peer: &Peer, _now: Time) {
        self.peers.remove(&peer.id);
    }

    fn leave(&mut self, _now: Time) -> Vec<Action<MeshMessage>> {
        Vec::new()
    }

    fn neighbours(&self) -> Vec<Peer> {
        self.peers.values().copied().collect()
    }
}

/// Every default: a mesh has no warm start, so a simulation joins it
/// through the protocol.
impl SimOverlay for Mesh {}
