//! `dht-kademlia`: the Kademlia overlay (Maymounkov & Mazières, 2002) for
//! the `dht` framework.
//!
//! - [`routing`]: k-buckets in least-recently-seen order with replacement
//!   caches; live old contacts are never evicted.
//! - [`lookup`]: iterative lookups with α requests in flight that end when
//!   the k closest peers seen have answered.
//! - [`disjoint`]: S/Kademlia's disjoint lookup paths, for networks with
//!   malicious nodes (`KademliaConfig::disjoint_paths`).
//! - [`KademliaConfig`]: k, α, staleness, refresh and ping intervals,
//!   per-network caps, disjoint paths.
//!
//! Joining inserts the bootstrap peers, looks up the node's own id, then
//! refreshes every bucket further away than its closest neighbour. A bucket
//! not looked up for `refresh_interval` is refreshed by a lookup of a random
//! id in it. The replicas of a key are the `r` closest live nodes by XOR.
//!
//! ```
//! use dht_core::{Address, Id, MemoryStore, Node, NodeConfig, Peer, Time};
//! use dht_kademlia::{Kademlia, KademliaConfig};
//!
//! let me = Peer::new(Id::hash(b"node-1"), Address::Memory(1));
//! let overlay = Kademlia::new(me, KademliaConfig::default());
//! let mut node = Node::new(overlay, MemoryStore::default(), NodeConfig::default(), 7, Time::ZERO);
//! node.bootstrap(&[], Time::ZERO);
//! // Alone in its network, a node is the replica set of every key.
//! let op = node.put(Id::hash(b"greeting"), &b"hello"[..], Time::ZERO);
//! let done = node.poll_event().unwrap();
//! assert_eq!(done.op, op);
//! ```

mod config;
pub mod disjoint;
pub mod lookup;
pub mod routing;

pub use config::KademliaConfig;
pub use disjoint::KadLookup;
pub use lookup::ClosestPeers;
pub use routing::RoutingTable;

use dht_core::{Action, Id, LookupOutcome, Overlay, Peer, Rng, Time};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;

/// Kademlia's messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KadMessage {
    /// Request: the k closest peers to this id you know.
    FindNode(Id),
    /// Answer to `FindNode`.
    Nodes(Vec<Peer>),
    /// Request: are you alive?
    Ping,
    /// Answer to `Ping` (and to anything that is not a request).
    Pong,
}

/// A Kademlia node's routing logic.
#[derive(Debug, Clone)]
pub struct Kademlia {
    local: Peer,
    config: KademliaConfig,
    table: RoutingTable,
    /// Peers that sent a request and were pinged before being admitted.
    probing: BTreeSet<Id>,
}

/// Most unknown peers probed at once; past it, newcomers wait until they
/// turn up in a lookup.
const MAX_PROBING: usize = 256;

impl Kademlia {
    /// The overlay for node `local`.
    pub fn new(local: Peer, config: KademliaConfig) -> Kademlia {
        let table = RoutingTable::new(local.id, config.k)
            .with_prefix_caps(config.max_per_prefix_bucket, config.max_per_prefix_table);
        Kademlia { local, config, table, probing: BTreeSet::new() }
    }

    /// The routing table, for inspection and pictures of bucket fill.
    pub fn table(&self) -> &RoutingTable {
        &self.table
    }

    /// Lookups that refresh every bucket from the one holding the closest
    /// neighbour outwards: the last step of a join.
    fn refresh_beyond_closest(&self, now: Time) -> Vec<Action<KadMessage>> {
        let closest = self.table.closest(&self.local.id, 1, false);
        let Some(deepest) = closest.first().and_then(|p| self.table.bucket_of(&p.id)) else { return Vec::new() };
        (0..deepest).map(|index| Action::Lookup(self.table.id_in_bucket(index, &self.seed(index, now)))).collect()
    }

    /// Seeded randomness for ids to refresh, derived from state every run
    /// reproduces.
    fn seed(&self, index: usize, now: Time) -> Id {
        let mut input = self.local.id.0.to_vec();
        input.extend_from_slice(&(index as u64).to_be_bytes());
        input.extend_from_slice(&now.as_millis().to_be_bytes());
        Id::hash(&input)
    }
}

impl Overlay for Kademlia {
    type Message = KadMessage;
    type Lookup = KadLookup;
    const NAME: &'static str = "kademlia";

    fn local(&self) -> Peer {
        self.local
    }

    fn bootstrap(&mut self, peers: &[Peer], now: Time) -> Vec<Action<KadMessage>> {
        for peer in peers {
            self.table.seen(peer, now);
        }
        vec![Action::Lookup(self.local.id)]
    }

    fn handle_request(&mut self, from: &Peer, message: KadMessage, _now: Time) -> KadMessage {
        match message {
            KadMessage::FindNode(target) => {
                let mut peers = self.table.closest(&target, self.config.k, true);
                peers.retain(|p| p.id != from.id);
                KadMessage::Nodes(peers)
            }
            KadMessage::Ping | KadMessage::Nodes(_) | KadMessage::Pong => KadMessage::Pong,
        }
    }

    fn handle_response(&mut self, _from: &Peer, _message: KadMessage, _now: Time) -> Vec<Action<KadMessage>> {
        Vec::new()
    }

    fn lookup(&mut self, target: Id, now: Time) -> KadLookup {
        self.table.touch(&target, now);
        let seeds = self.table.closest(&target, self.config.k, true);
        let seeds = if seeds.is_empty() { self.table.closest(&target, self.config.k, false) } else { seeds };
        KadLookup::new(target, self.local, seeds, self.config.k, self.config.alpha, self.config.disjoint_paths)
    }

    fn lookup_done(&mut self, target: Id, _outcome: &LookupOutcome, now: Time) -> Vec<Action<KadMessage>> {
        if target == self.local.id {
            self.refresh_beyond_closest(now)
        } else {
            Vec::new()
        }
    }

    fn replica_set(&self, key: &Id, n: usize) -> Vec<Peer> {
        let mut set = self.table.closest(key, n, true);
        set.push(self.local);
        set.sort_by_key(|p| p.id.distance(key));
        set.truncate(n);
        set
    }

    fn tick(&mut self, now: Time, rng: &mut Rng) -> Vec<Action<KadMessage>> {
        let mut actions = Vec::new();
        let refresh = self.config.refresh_interval;
        for (index, bucket) in self.table.buckets().iter().enumerate() {
            if now.since(bucket.last_lookup) >= refresh {
                actions.push(Action::Lookup(self.table.id_in_bucket(index, &rng.id())));
            }
            let head = bucket.contacts.first();
            if let Some(head) = head.filter(|h| !bucket.replacements.is_empty() || h.failures > 0) {
                if now.since(head.last_seen) >= self.config.ping_interval {
                    actions.push(Action::Send(head.peer, KadMessage::Ping));
                }
            }
        }
        for action in &actions {
            if let Action::Lookup(target) = action {
                self.table.touch(target, now);
            }
        }
        actions
    }

    fn tick_interval(&self) -> Duration {
        self.config.tick_interval
    }

    fn peer_alive(&mut self, peer: &Peer, now: Time) {
        self.probing.remove(&peer.id);
        self.table.seen(peer, now);
    }

    /// A known peer (a contact, or a replacement waiting for a place) is
    /// refreshed. An unknown one is pinged if its bucket has a free place,
    /// and enters the table only once it answers at its address; one whose
    /// bucket and replacement cache are full is left out (it is found
    /// again by lookups if a place opens).
    fn peer_contacted(&mut self, peer: &Peer, now: Time) -> Vec<Action<KadMessage>> {
        if self.table.knows(&peer.id) {
            self.table.seen(peer, now);
            return Vec::new();
        }
        if !self.table.has_room_for(peer) || self.probing.len() >= MAX_PROBING || !self.probing.insert(peer.id) {
            return Vec::new();
        }
        vec![Action::Send(*peer, KadMessage::Ping)]
    }

    fn peer_failed(&mut self, peer: &Peer, now: Time) {
        self.probing.remove(&peer.id);
        self.table.failed(peer, self.config.stale_after, self.config.stale_after_with_replacement, now);
    }

    fn leave(&mut self, _now: Time) -> Vec<Action<KadMessage>> {
        Vec::new()
    }

    fn neighbours(&self) -> Vec<Peer> {
        self.table.contacts().map(|c| c.peer).collect()
    }

    fn routing_entries(&self) -> usize {
        self.table.len()
    }

    fn hop_bound(&self, nodes: usize) -> f64 {
        (nodes.max(2) as f64).log2()
    }
}
