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
//! refreshes the two buckets beyond its closest neighbour's; the buckets further
//! away fill from the peers the node meets (or, with
//! `KademliaConfig::join_refresh_buckets`, are refreshed at once, as in the
//! paper's join). A node whose table holds fewer than k contacts after its
//! own lookup looks itself up again through its bootstrap peers, at growing
//! intervals. A bucket not looked up for `refresh_interval` is refreshed by
//! a lookup of a random id in it. The replicas of a key are the `r` closest live nodes by XOR.
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
mod slots;

pub use config::KademliaConfig;
pub use disjoint::KadLookup;
pub use lookup::ClosestPeers;
pub use routing::RoutingTable;

use dht_core::{Action, Directory, Id, LookupOutcome, NetPrefix, Overlay, Peer, Rng, Role, SimOverlay, Time, ID_BITS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
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
    /// Peers that sent a request and were pinged before being admitted,
    /// with their public network.
    probing: BTreeMap<Id, Option<NetPrefix>>,
    /// Its own lookup has ended (or it started the network).
    joined: bool,
    /// The peers it joined through (at most k), to join through again.
    seeds: Vec<Peer>,
    /// When it next looks its own id up again, because its table held
    /// fewer than k contacts after the last such lookup.
    rejoin_at: Option<Time>,
    /// The wait before that lookup: one tick, doubling each time the
    /// table is still short, up to `refresh_interval`.
    rejoin_wait: Duration,
}

/// Most unknown peers probed at once; past it, newcomers wait until they
/// turn up in a lookup.
const MAX_PROBING: usize = 256;

/// Most unknown peers of one public network probed at once, so that one
/// host minting ids cannot fill the probe set and shut out the rest.
const MAX_PROBING_PER_NETWORK: usize = 16;

impl Kademlia {
    /// The overlay for node `local`.
    pub fn new(local: Peer, config: KademliaConfig) -> Kademlia {
        let table = RoutingTable::new(local.id, config.k)
            .with_prefix_caps(config.max_per_prefix_bucket, config.max_per_prefix_table);
        Kademlia {
            local,
            config,
            table,
            probing: BTreeMap::new(),
            joined: false,
            seeds: Vec::new(),
            rejoin_at: None,
            rejoin_wait: Duration::ZERO,
        }
    }

    /// The routing table, for inspection and pictures of bucket fill.
    pub fn table(&self) -> &RoutingTable {
        &self.table
    }

    /// Lookups that refresh `join_refresh_buckets` buckets, from the one
    /// beyond the closest neighbour's outwards: the last step of a join.
    fn refresh_beyond_closest(&self, now: Time) -> Vec<Action<KadMessage>> {
        let closest = self.table.closest(&self.local.id, 1, false);
        let Some(deepest) = closest.first().and_then(|p| self.table.bucket_of(&p.id)) else { return Vec::new() };
        let nearest = deepest.saturating_sub(self.config.join_refresh_buckets);
        (nearest..deepest).map(|index| Action::Lookup(self.table.id_in_bucket(index, &self.seed(index, now)))).collect()
    }

    /// After a lookup of its own id: another one a while later if the table
    /// still holds fewer than k contacts. A join whose bootstrap peers died
    /// or knew only a few newcomers leaves a node in an island that holds
    /// records for keys all over the id space and never hears of their
    /// real replica sets; looking itself up again through the bootstrap
    /// peers joins it to the network once one of them answers.
    fn schedule_rejoin(&mut self, now: Time) {
        if self.table.len() >= self.config.k || self.seeds.is_empty() {
            self.rejoin_at = None;
            self.rejoin_wait = Duration::ZERO;
            return;
        }
        let tick = self.config.tick_interval;
        self.rejoin_wait = (self.rejoin_wait * 2).clamp(tick, self.config.refresh_interval.max(tick));
        self.rejoin_at = Some(now + self.rejoin_wait);
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

/// `n` distinct indices below `len` (all of them if `len <= n`), drawn
/// uniformly by Floyd's method: `n` draws, whatever `len` is.
fn sample(len: usize, n: usize, rng: &mut Rng) -> Vec<usize> {
    if len <= n {
        return (0..len).collect();
    }
    let mut chosen = Vec::with_capacity(n);
    for j in len - n..len {
        let t = rng.index(j + 1);
        chosen.push(if chosen.contains(&t) { j } else { t });
    }
    chosen
}

impl Overlay for Kademlia {
    type Message = KadMessage;
    type Lookup = KadLookup;
    const NAME: &'static str = "kademlia";

    fn local(&self) -> Peer {
        self.local
    }

    fn bootstrap(&mut self, peers: &[Peer], _role: Role, now: Time) -> Vec<Action<KadMessage>> {
        for peer in peers {
            self.table.seen(peer, now);
        }
        self.seeds = peers.iter().filter(|p| p.id != self.local.id).take(self.config.k).copied().collect();
        self.joined |= peers.iter().all(|p| p.id == self.local.id);
        vec![Action::Lookup(self.local.id)]
    }

    fn is_joined(&self) -> bool {
        self.joined
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

    fn lookup(&mut self, target: Id, wanted: usize, now: Time) -> KadLookup {
        self.table.touch(&target, now);
        let seeds = self.table.closest(&target, self.config.k, true);
        let mut seeds = if seeds.is_empty() { self.table.closest(&target, self.config.k, false) } else { seeds };
        if target == self.local.id {
            // A join, or a rejoin: the bootstrap peers too, which the table
            // may have dropped when they failed to answer.
            let known: Vec<Id> = seeds.iter().map(|p| p.id).collect();
            seeds.extend(self.seeds.iter().filter(|p| !known.contains(&p.id)));
        }
        let (k, alpha, paths) = (self.config.k, self.config.alpha, self.config.disjoint_paths);
        KadLookup::new(target, self.local, seeds, k, alpha, paths, wanted)
    }

    fn lookup_done(&mut self, target: Id, _outcome: &LookupOutcome, now: Time) -> Vec<Action<KadMessage>> {
        if target == self.local.id {
            self.joined = true;
            // The other buckets' refresh is due a refresh interval from now.
            self.table.touch_all(now);
            self.schedule_rejoin(now);
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
        if self.rejoin_at.is_some_and(|at| now >= at) {
            self.rejoin_at = None;
            actions.push(Action::Lookup(self.local.id));
        }
        let refresh = self.config.refresh_interval;
        for (index, (last_lookup, head)) in self.table.bucket_heads().enumerate() {
            if now.since(last_lookup) >= refresh {
                actions.push(Action::Lookup(self.table.id_in_bucket(index, &rng.id())));
            }
            if let Some(head) = head.filter(|h| now.since(h.last_seen) >= self.config.ping_interval) {
                actions.push(Action::Send(head.peer, KadMessage::Ping));
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
        let network = peer.addr.net_prefix();
        let crowded = network
            .is_some_and(|n| self.probing.values().filter(|p| **p == Some(n)).count() >= MAX_PROBING_PER_NETWORK);
        if !self.table.has_room_for(peer)
            || self.probing.len() >= MAX_PROBING
            || crowded
            || self.probing.insert(peer.id, network).is_some()
        {
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

    /// Counted, not fingerprinted: the table holds hundreds of contacts.
    fn view_epoch(&self) -> u64 {
        self.table.changes()
    }
}

impl SimOverlay for Kademlia {
    /// Fills each bucket with up to k peers drawn at random from its span
    /// (a settled table holds the longest-lived peers it heard of, in no
    /// order of id), down to the deepest bucket that has any. The table
    /// refers to the directory's peers by slot, one list for every node.
    fn warm_start(&mut self, directory: &Directory, now: Time, rng: &mut Rng) -> bool {
        if let Some(peers) = directory.shared(|d| Arc::<[Peer]>::from(d.peers())) {
            self.table.share_peers(peers.clone());
        }
        for index in 0..ID_BITS {
            let (low, high) = self.table.bucket_span(index);
            let span = directory.range(&low, &high);
            for i in sample(span.len(), self.config.k, rng) {
                self.table.seen(&span[i], now);
            }
            self.table.touch(&low, now);
            let (low, high) = self.table.deeper_span(index + 1);
            if directory.range(&low, &high).iter().all(|p| p.id == self.local.id) {
                break;
            }
        }
        self.joined = true;
        true
    }

    fn routing_entries(&self) -> usize {
        self.table.len()
    }

    fn hop_bound(&self, nodes: usize) -> f64 {
        (nodes.max(2) as f64).log2()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dht_core::{Address, Lookup};

    /// Requests from a thousand fresh ids on one public /24 start at most
    /// a network's share of probes; a peer from elsewhere is still probed.
    #[test]
    fn one_network_cannot_fill_the_probe_set() {
        let mut kad = Kademlia::new(Peer::new(Id::ZERO, Address::Memory(0)), KademliaConfig::default());
        let mut rng = Rng::new(9);
        let flood = (0..1000u32).map(|i| {
            let ip = std::net::Ipv4Addr::new(198, 51, 100, (i % 250) as u8);
            Peer::new(rng.id(), Address::Socket((ip, 4000 + (i / 250) as u16).into()))
        });
        let pings: usize = flood.map(|p| kad.peer_contacted(&p, Time::ZERO).len()).sum();
        assert_eq!(pings, MAX_PROBING_PER_NETWORK);
        let honest = Peer::new(rng.id(), Address::Socket(([192, 0, 2, 7], 4000).into()));
        assert_eq!(kad.peer_contacted(&honest, Time::ZERO).len(), 1, "another network is probed");
    }

    #[test]
    fn a_warm_start_fills_every_bucket_from_its_span() {
        let mut rng = Rng::new(21);
        let peers: Vec<Peer> = (0..3000).map(|i| Peer::new(rng.id(), Address::Memory(i))).collect();
        let directory = Directory::new(peers.clone());
        let config = KademliaConfig::default();
        for me in peers.iter().step_by(101) {
            let mut kad = Kademlia::new(*me, config.clone());
            assert!(kad.warm_start(&directory, Time::ZERO, &mut rng));
            let table = kad.table();
            let fill = table.bucket_fill();
            let mut in_bucket = vec![0usize; ID_BITS];
            for p in peers.iter().filter(|p| p.id != me.id) {
                in_bucket[table.bucket_of(&p.id).unwrap()] += 1;
            }
            // Each bucket holds k of its peers, or all of them if fewer.
            for (index, peers_there) in in_bucket.iter().enumerate() {
                let held = fill.get(index).map_or(0, |(contacts, _)| *contacts);
                assert_eq!(held, (*peers_there).min(config.k), "bucket {index}");
            }
            // So the closest peer of all is known.
            let nearest = peers.iter().filter(|p| p.id != me.id).min_by_key(|p| p.id.distance(&me.id)).unwrap();
            assert_eq!(table.closest(&me.id, 1, true), vec![*nearest]);
        }
    }

    /// The end of a join's own lookup: a lookup in each of the
    /// `join_refresh_buckets` buckets beyond the closest neighbour's
    /// (every one of them for the paper's join), and every other bucket's
    /// refresh due an interval later.
    #[test]
    fn a_join_refreshes_the_buckets_it_is_told_to() {
        let mut rng = Rng::new(5);
        let me = Peer::new(rng.id(), Address::Memory(0));
        let peers: Vec<Peer> = (1..200).map(|i| Peer::new(rng.id(), Address::Memory(i))).collect();
        for refreshed in [0, 1, 3, usize::MAX] {
            let config = KademliaConfig { join_refresh_buckets: refreshed, ..KademliaConfig::default() };
            let mut kad = Kademlia::new(me, config.clone());
            for p in &peers {
                kad.table.seen(p, Time::ZERO);
            }
            let joined_at = Time::ZERO + Duration::from_secs(30);
            let outcome = LookupOutcome { closest: Vec::new(), hops: 0 };
            let actions = kad.lookup_done(me.id, &outcome, joined_at);
            assert!(kad.is_joined());
            let nearest = kad.table.closest(&me.id, 1, false)[0];
            let deepest = kad.table.bucket_of(&nearest.id).unwrap();
            let buckets: Vec<usize> = actions
                .iter()
                .filter_map(|a| match a {
                    Action::Lookup(target) => kad.table.bucket_of(target),
                    Action::Send(..) => None,
                })
                .collect();
            let expected: Vec<usize> = (deepest.saturating_sub(refreshed)..deepest).collect();
            assert_eq!(buckets, expected, "refreshing {refreshed}");
            let due = |at: Time| kad.clone().tick(at, &mut Rng::new(1)).iter().any(|a| matches!(a, Action::Lookup(_)));
            assert!(!due(joined_at + config.refresh_interval - Duration::from_secs(1)));
            assert!(due(joined_at + config.refresh_interval));
        }
    }

    /// A join that ends with fewer than k contacts (its bootstrap peer
    /// died, or knew only newcomers) is tried again through the bootstrap
    /// peer, one tick later, then two, four…; a full table stops it.
    #[test]
    fn a_short_table_after_a_join_looks_itself_up_again_through_the_seed() {
        let mut rng = Rng::new(6);
        let me = Peer::new(rng.id(), Address::Memory(0));
        let seed = Peer::new(rng.id(), Address::Memory(1));
        let config = KademliaConfig::default();
        let tick = config.tick_interval;
        let mut kad = Kademlia::new(me, config.clone());
        kad.bootstrap(&[seed], Role::Member, Time::ZERO);
        // The seed never answers: the table drops it.
        for _ in 0..config.stale_after {
            kad.peer_failed(&seed, Time::ZERO);
        }
        assert_eq!(kad.table.len(), 0);
        let outcome = LookupOutcome { closest: Vec::new(), hops: 0 };
        let rejoins = |kad: &mut Kademlia, at: Time| {
            kad.tick(at, &mut Rng::new(1)).iter().filter(|a| matches!(a, Action::Lookup(t) if *t == me.id)).count()
        };
        let mut at = Time::ZERO;
        for wait in [tick, tick * 2, tick * 4] {
            kad.lookup_done(me.id, &outcome, at);
            assert_eq!(rejoins(&mut kad, at + wait - Duration::from_millis(1)), 0, "not before {wait:?}");
            at = at + wait;
            assert_eq!(rejoins(&mut kad, at), 1, "after {wait:?}");
            let asked: Vec<Peer> = kad.lookup(me.id, 3, at).poll().into_iter().map(|(p, _)| p).collect();
            assert_eq!(asked, vec![seed], "through the seed");
        }
        for i in 0..config.k {
            kad.peer_alive(&Peer::new(rng.id(), Address::Memory(10 + i as u32)), at);
        }
        kad.lookup_done(me.id, &outcome, at);
        assert_eq!(rejoins(&mut kad, at + config.refresh_interval), 0, "a full table does not look again");
    }

    #[test]
    fn samples_are_distinct_and_in_range() {
        let mut rng = Rng::new(2);
        for (len, n) in [(0, 20), (5, 20), (20, 20), (21, 20), (1000, 20), (100_000, 3)] {
            let mut got = sample(len, n, &mut rng);
            assert_eq!(got.len(), len.min(n));
            assert!(got.iter().all(|&i| i < len));
            got.sort_unstable();
            got.dedup();
            assert_eq!(got.len(), len.min(n), "distinct");
        }
    }
}
