//! Disjoint lookup paths, after S/Kademlia (Baumgart & Mies, 2007): the
//! starting peers are dealt out to `d` lookups that never share a peer, so
//! a malicious node that answers with its colluders captures at most the
//! paths that reach it; the others can still find the honest closest peers.
//! The result merges every path's answers, closest first.
//!
//! With `d = 1` this is the plain Kademlia lookup.

use crate::lookup::ClosestPeers;
use crate::KadMessage;
use dht_core::{Id, IdBuildHasher, Lookup, LookupOutcome, Peer};
use std::collections::HashMap;

/// A Kademlia lookup over one or more disjoint paths.
#[derive(Debug)]
pub struct KadLookup {
    target: Id,
    k: usize,
    paths: Vec<ClosestPeers>,
    /// Which path each peer belongs to (empty with one path: nothing to keep apart).
    owner: HashMap<Id, usize, IdBuildHasher>,
}

impl KadLookup {
    /// A lookup for `target` from `local`, dealing `seeds` (closest first)
    /// round-robin to `paths` disjoint paths, each ending once its `settle`
    /// closest have answered ([`ClosestPeers::settling_on`]).
    pub fn new(
        target: Id,
        local: Peer,
        seeds: Vec<Peer>,
        k: usize,
        alpha: usize,
        paths: usize,
        settle: usize,
    ) -> KadLookup {
        let d = paths.clamp(1, seeds.len().max(1));
        let mut dealt = vec![Vec::new(); d];
        let mut owner = HashMap::default();
        for (i, peer) in seeds.into_iter().enumerate() {
            if d > 1 {
                owner.insert(peer.id, i % d);
            }
            dealt[i % d].push(peer);
        }
        let paths = dealt
            .into_iter()
            .map(|seeds| ClosestPeers::new(target, local, seeds, k, alpha).settling_on(settle))
            .collect();
        KadLookup { target, k, paths, owner }
    }

    fn path_of(&self, peer: &Peer) -> Option<usize> {
        if self.paths.len() == 1 {
            Some(0)
        } else {
            self.owner.get(&peer.id).copied()
        }
    }
}

impl Lookup for KadLookup {
    type Message = KadMessage;

    fn poll(&mut self) -> Vec<(Peer, KadMessage)> {
        self.paths.iter_mut().flat_map(|p| p.poll()).collect()
    }

    fn on_response(&mut self, from: &Peer, message: KadMessage) {
        let Some(path) = self.path_of(from) else { return };
        let message = match message {
            KadMessage::Nodes(peers) if self.paths.len() > 1 => {
                // A peer another path already has stays with that path.
                let mut own = Vec::with_capacity(peers.len());
                for peer in peers {
                    if *self.owner.entry(peer.id).or_insert(path) == path {
                        own.push(peer);
                    }
                }
                KadMessage::Nodes(own)
            }
            other => other,
        };
        self.paths[path].on_response(from, message);
    }

    fn on_failure(&mut self, from: &Peer) {
        if let Some(path) = self.path_of(from) {
            self.paths[path].on_failure(from);
        }
    }

    fn is_done(&self) -> bool {
        self.paths.iter().all(ClosestPeers::is_done)
    }

    fn outcome(&self) -> LookupOutcome {
        if let [only] = &self.paths[..] {
            return only.outcome();
        }
        let outcomes: Vec<LookupOutcome> = self.paths.iter().map(ClosestPeers::outcome).collect();
        let mut closest: Vec<Peer> = outcomes.iter().flat_map(|o| o.closest.iter().copied()).collect();
        closest.sort_by_key(|p| p.id.distance(&self.target));
        closest.dedup_by_key(|p| p.id);
        closest.truncate(self.k);
        let best = closest.first().map(|p| p.id);
        let hops = outcomes.iter().find(|o| o.closest.first().map(|p| p.id) == best).map_or(0, |o| o.hops);
        LookupOutcome { closest, hops }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dht_core::{Address, Rng};

    fn peer(id: Id) -> Peer {
        Peer::new(id, Address::Memory(0))
    }

    #[test]
    fn paths_never_share_a_peer_and_the_result_merges_them() {
        let mut rng = Rng::new(3);
        let target = rng.id();
        let local = peer(rng.id());
        let seeds: Vec<Peer> = (0..6).map(|_| peer(rng.id())).collect();
        let mut lookup = KadLookup::new(target, local, seeds.clone(), 4, 3, 2, usize::MAX);
        let first = lookup.poll();
        assert_eq!(first.len(), 6, "α per path, three seeds each");
        // Every peer answers with the same fresh peer: only the first path to hear of it gets it.
        let shared = peer(rng.id());
        for (p, _) in &first {
            lookup.on_response(p, KadMessage::Nodes(vec![shared]));
        }
        let asked: Vec<Peer> = lookup.poll().into_iter().map(|(p, _)| p).collect();
        assert_eq!(asked, vec![shared], "asked once, by one path");
        lookup.on_response(&shared, KadMessage::Nodes(vec![]));
        let mut rounds = 0;
        while !lookup.is_done() && rounds < 20 {
            for (p, _) in lookup.poll() {
                lookup.on_response(&p, KadMessage::Nodes(vec![]));
            }
            rounds += 1;
        }
        assert!(lookup.is_done());
        let mut expected: Vec<Peer> = seeds.into_iter().chain([local, shared]).collect();
        expected.sort_by_key(|p| p.id.distance(&target));
        assert_eq!(lookup.outcome().closest, expected[..4].to_vec());
    }
}
