//! The iterative lookup: ask the α closest known peers for the k closest
//! they know, merge, repeat; stop when the closest seen have all answered —
//! the k closest for the overlay's own lookups, the `r` closest for a put
//! or a get, which needs only its replica set ([`ClosestPeers::settling_on`]).
//! When a round of answers brings nothing closer, every not-yet-asked peer
//! among the k closest is asked at once (the paper's rule for a stalled lookup).
//! A peer that does not answer is asked once more before it is written off,
//! so a single lost datagram does not drop a close peer from the result.

use crate::KadMessage;
use dht_core::{Distance, Id, Lookup, LookupOutcome, Peer};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    NotAsked,
    Waiting,
    Answered,
    Failed,
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    peer: Peer,
    state: State,
    /// Peers traversed to learn of this one (the local node is 0, its own
    /// contacts 1).
    depth: u32,
    /// Whether it has already been asked a second time.
    retried: bool,
}

/// A Kademlia lookup in progress.
#[derive(Debug)]
pub struct ClosestPeers {
    target: Id,
    k: usize,
    /// How many of the closest must have answered for the lookup to end.
    settle: usize,
    alpha: usize,
    candidates: BTreeMap<Distance, Candidate>,
    in_flight: usize,
    stalled: bool,
}

impl ClosestPeers {
    /// A lookup for `target` starting from `local` and the `seeds` it knows.
    pub fn new(target: Id, local: Peer, seeds: Vec<Peer>, k: usize, alpha: usize) -> ClosestPeers {
        let mut candidates = BTreeMap::new();
        candidates.insert(
            local.id.distance(&target),
            Candidate { peer: local, state: State::Answered, depth: 0, retried: false },
        );
        for peer in seeds {
            candidates.entry(peer.id.distance(&target)).or_insert(Candidate {
                peer,
                state: State::NotAsked,
                depth: 1,
                retried: false,
            });
        }
        let k = k.max(1);
        ClosestPeers { target, k, settle: k, alpha: alpha.max(1), candidates, in_flight: 0, stalled: false }
    }

    /// Ends the lookup once the `n` closest (at most k) have answered,
    /// asking only among them: what a put or a get needs to know its
    /// replica set, at a fraction of the requests of a full lookup.
    pub fn settling_on(mut self, n: usize) -> ClosestPeers {
        self.settle = n.clamp(1, self.k);
        self
    }

    /// The closest candidates that have not failed, as many as must answer.
    fn closest_live(&self) -> impl Iterator<Item = &Candidate> {
        self.candidates.values().filter(|c| c.state != State::Failed).take(self.settle)
    }

    fn best_distance(&self) -> Option<Distance> {
        self.candidates.iter().find(|(_, c)| c.state != State::Failed).map(|(d, _)| *d)
    }

    fn candidate_mut(&mut self, peer: &Peer) -> Option<&mut Candidate> {
        self.candidates.get_mut(&peer.id.distance(&self.target)).filter(|c| c.peer.id == peer.id)
    }
}

impl Lookup for ClosestPeers {
    type Message = KadMessage;

    fn poll(&mut self) -> Vec<(Peer, KadMessage)> {
        let parallelism = if self.stalled { self.settle } else { self.alpha };
        let budget = parallelism.saturating_sub(self.in_flight);
        let to_ask: Vec<Distance> = self
            .candidates
            .iter()
            .filter(|(_, c)| c.state != State::Failed)
            .take(self.settle)
            .filter(|(_, c)| c.state == State::NotAsked)
            .map(|(d, _)| *d)
            .take(budget)
            .collect();
        let mut out = Vec::with_capacity(to_ask.len());
        for d in to_ask {
            if let Some(c) = self.candidates.get_mut(&d) {
                c.state = State::Waiting;
                out.push((c.peer, KadMessage::FindNode(self.target)));
            }
        }
        self.in_flight += out.len();
        out
    }

    fn on_response(&mut self, from: &Peer, message: KadMessage) {
        let KadMessage::Nodes(peers) = message else { return self.on_failure(from) };
        let Some(c) = self.candidate_mut(from) else { return };
        if c.state != State::Waiting {
            return;
        }
        c.state = State::Answered;
        let depth = c.depth + 1;
        self.in_flight -= 1;
        let before = self.best_distance();
        for peer in peers.into_iter().take(self.k) {
            let d = peer.id.distance(&self.target);
            self.candidates.entry(d).or_insert(Candidate { peer, state: State::NotAsked, depth, retried: false });
        }
        self.stalled = self.best_distance() >= before;
    }

    fn on_failure(&mut self, from: &Peer) {
        let Some(c) = self.candidate_mut(from) else { return };
        if c.state == State::Waiting {
            c.state = if c.retried { State::Failed } else { State::NotAsked };
            c.retried = true;
            self.in_flight -= 1;
        }
    }

    fn is_done(&self) -> bool {
        self.closest_live().all(|c| c.state == State::Answered)
    }

    fn outcome(&self) -> LookupOutcome {
        let closest: Vec<&Candidate> =
            self.candidates.values().filter(|c| c.state == State::Answered).take(self.k).collect();
        LookupOutcome {
            hops: closest.first().map_or(0, |c| c.depth),
            closest: closest.iter().map(|c| c.peer).collect(),
        }
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
    fn asks_alpha_at_a_time_and_stops_when_the_k_closest_answered() {
        let mut rng = Rng::new(1);
        let target = rng.id();
        let local = peer(rng.id());
        let seeds: Vec<Peer> = (0..10).map(|_| peer(rng.id())).collect();
        let mut lookup = ClosestPeers::new(target, local, seeds.clone(), 4, 2);
        let first = lookup.poll();
        assert_eq!(first.len(), 2, "α requests in flight");
        assert!(lookup.poll().is_empty(), "no more until answers come");
        let mut rounds = 0;
        let mut asked = first;
        while !lookup.is_done() && rounds < 100 {
            for (p, _) in &asked {
                lookup.on_response(p, KadMessage::Nodes(vec![]));
            }
            asked = lookup.poll();
            rounds += 1;
        }
        assert!(lookup.is_done());
        let out = lookup.outcome();
        let mut expected: Vec<Peer> = seeds.into_iter().chain([local]).collect();
        expected.sort_by_key(|p| p.id.distance(&target));
        assert_eq!(out.closest, expected[..4].to_vec());
    }

    #[test]
    fn failed_peers_are_replaced_by_the_next_closest() {
        let mut rng = Rng::new(2);
        let target = rng.id();
        let local = peer(rng.id());
        let seeds: Vec<Peer> = (0..6).map(|_| peer(rng.id())).collect();
        let mut lookup = ClosestPeers::new(target, local, seeds, 3, 3);
        let mut bounded = 0;
        while !lookup.is_done() && bounded < 50 {
            for (p, _) in lookup.poll() {
                if p.id.0[0] % 2 == 0 {
                    lookup.on_failure(&p); // asked twice, silent twice
                } else {
                    lookup.on_response(&p, KadMessage::Nodes(vec![]));
                }
            }
            bounded += 1;
        }
        assert!(lookup.is_done());
        assert!(lookup.outcome().closest.iter().all(|p| p.id.0[0] % 2 == 1 || p.id == local.id));
    }

    #[test]
    fn a_peer_silent_once_is_asked_again_and_kept() {
        let mut rng = Rng::new(4);
        let target = rng.id();
        let local = peer(rng.id());
        let seed = peer(rng.id());
        let mut lookup = ClosestPeers::new(target, local, vec![seed], 3, 3);
        assert_eq!(lookup.poll().len(), 1);
        lookup.on_failure(&seed);
        assert!(!lookup.is_done());
        let again = lookup.poll();
        assert_eq!(again.len(), 1, "asked a second time");
        lookup.on_response(&seed, KadMessage::Nodes(vec![]));
        assert!(lookup.is_done());
        assert!(lookup.outcome().closest.contains(&seed));
    }
}
