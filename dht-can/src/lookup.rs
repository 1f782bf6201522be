//! Greedy routing as an iterative lookup: ask the neighbour nearest to the
//! key's point; it answers with its own neighbours nearer still, or, when
//! the point lies in its zone, with the peers that hold the key. A silent
//! peer is skipped for the next-nearest one offered (the paper's fall-back
//! on a timeout).

use crate::CanMessage;
use dht_core::{Id, Lookup, LookupOutcome, Peer};
use std::collections::BTreeSet;

/// Requests after which a lookup gives up: far beyond any path length the
/// torus has at sizes it is run at, so only a routing loop reaches it.
const MAX_REQUESTS: usize = 1024;

/// Most peers taken from one answer (an honest one names a few nearer
/// neighbours, or the owner and its nearest zones): a hostile answer cannot
/// flood the candidates.
const MAX_PEERS_PER_ANSWER: usize = 32;

/// One greedy lookup.
#[derive(Debug, Clone)]
pub struct CanLookup {
    target: Id,
    /// Candidates, the next to ask last.
    stack: Vec<Peer>,
    asked: BTreeSet<Id>,
    in_flight: Option<Peer>,
    result: Option<Vec<Peer>>,
    hops: u32,
}

impl CanLookup {
    /// A lookup of `target` by node `local` that first asks `first`,
    /// nearest first.
    pub fn new(target: Id, local: Id, first: Vec<Peer>) -> CanLookup {
        let mut lookup = CanLookup {
            target,
            stack: Vec::new(),
            // Never ask ourselves, whoever names us.
            asked: BTreeSet::from([local]),
            in_flight: None,
            result: None,
            hops: 0,
        };
        lookup.offer(first);
        lookup
    }

    /// A lookup answered without asking anyone: the local node owns the point.
    pub fn resolved(target: Id, holders: Vec<Peer>) -> CanLookup {
        let mut lookup = CanLookup::new(target, Id::ZERO, Vec::new());
        lookup.result = Some(holders);
        lookup
    }

    /// New candidates go on top: the freshest answer is the nearest to the
    /// point; older ones stay below as fall-backs.
    fn offer(&mut self, peers: Vec<Peer>) {
        for p in peers.into_iter().rev() {
            if !self.asked.contains(&p.id) {
                self.stack.push(p);
            }
        }
    }
}

impl Lookup for CanLookup {
    type Message = CanMessage;

    fn poll(&mut self) -> Vec<(Peer, CanMessage)> {
        if self.result.is_some() || self.in_flight.is_some() || self.asked.len() > MAX_REQUESTS {
            return Vec::new();
        }
        while let Some(next) = self.stack.pop() {
            if self.asked.insert(next.id) {
                self.in_flight = Some(next);
                return vec![(next, CanMessage::Route(self.target))];
            }
        }
        Vec::new()
    }

    fn on_response(&mut self, from: &Peer, message: CanMessage) {
        if self.in_flight.is_none_or(|p| p.id != from.id) {
            return;
        }
        self.in_flight = None;
        match message {
            CanMessage::Owner(mut holders) if !holders.is_empty() => {
                self.hops += 1;
                holders.truncate(MAX_PEERS_PER_ANSWER);
                self.result = Some(holders);
            }
            CanMessage::Closer(mut next) => {
                self.hops += 1;
                next.truncate(MAX_PEERS_PER_ANSWER);
                self.offer(next);
            }
            _ => {}
        }
    }

    fn on_failure(&mut self, from: &Peer) {
        if self.in_flight.is_some_and(|p| p.id == from.id) {
            self.in_flight = None;
        }
    }

    fn is_done(&self) -> bool {
        self.result.is_some()
            || (self.in_flight.is_none()
                && (self.asked.len() > MAX_REQUESTS || self.stack.iter().all(|p| self.asked.contains(&p.id))))
    }

    fn outcome(&self) -> LookupOutcome {
        LookupOutcome { closest: self.result.clone().unwrap_or_default(), hops: self.hops }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dht_core::Address;

    fn peer(n: u8) -> Peer {
        Peer::new(Id::hash(&[n]), Address::Memory(u32::from(n)))
    }

    #[test]
    fn follows_the_nearest_and_falls_back_on_silence() {
        let mut lookup = CanLookup::new(Id::ZERO, peer(0).id, vec![peer(1), peer(0), peer(2)]);
        assert_eq!(lookup.poll(), vec![(peer(1), CanMessage::Route(Id::ZERO))]);
        assert!(lookup.poll().is_empty(), "one request at a time");
        lookup.on_response(&peer(1), CanMessage::Closer(vec![peer(3), peer(4)]));
        assert_eq!(lookup.poll()[0].0, peer(3));
        lookup.on_failure(&peer(3));
        assert_eq!(lookup.poll()[0].0, peer(4), "the next-nearest of the same answer");
        assert!(lookup.stack.iter().all(|p| *p != peer(0)) || lookup.asked.contains(&peer(0).id));
        lookup.on_response(&peer(4), CanMessage::Owner(vec![peer(5), peer(6)]));
        assert!(lookup.is_done());
        let outcome = lookup.outcome();
        assert_eq!(outcome.closest, vec![peer(5), peer(6)]);
        assert_eq!(outcome.hops, 2);
    }

    #[test]
    fn ends_empty_when_every_candidate_is_silent() {
        let mut lookup = CanLookup::new(Id::ZERO, peer(0).id, vec![peer(1)]);
        lookup.poll();
        lookup.on_failure(&peer(1));
        assert!(lookup.poll().is_empty());
        assert!(lookup.is_done());
        assert!(lookup.outcome().closest.is_empty());
    }
}
