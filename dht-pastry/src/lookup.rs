//! Pastry routing as an iterative lookup: the asker keeps the candidates
//! ranked by Pastry's own order — more digits shared with the key first,
//! then numerically closer — and asks the best one not yet asked, one at a
//! time. A node whose leaf set covers the key answers with the nodes
//! closest to it; any other names the nodes to ask next, and only those
//! it names that rank above itself are taken, so an answer can never lead
//! a lookup away from the key. A silent node is asked once more, then
//! passed over for the next-best candidate.

use crate::digits::Digits;
use crate::PastryMessage;
use dht_core::{Id, Lookup, LookupOutcome, Peer};
use std::collections::BTreeMap;

/// Times a candidate is asked before it counts as failed.
const ASKS: u8 = 2;

/// Most peers taken from one answer (an honest one names a few next hops,
/// or a leaf set): a hostile answer cannot flood the candidates.
const MAX_PEERS_PER_ANSWER: usize = 32;

/// Requests after which a lookup gives up; far beyond any honest path,
/// so only a chain of hostile answers reaches it.
const MAX_REQUESTS: usize = 128;

/// Where a candidate stands in Pastry's order: fewer unshared digits
/// first, then numeric distance, then id (to keep entries apart).
type Rank = (usize, Id, Id);

#[derive(Debug, Clone, Copy)]
struct Candidate {
    peer: Peer,
    /// Times asked so far.
    asked: u8,
    waiting: bool,
    /// Answered, or given up on.
    settled: bool,
    /// Position on the path: 1 for the first node asked.
    depth: u32,
}

/// A Pastry lookup in progress.
#[derive(Debug)]
pub struct PastryLookup {
    target: Id,
    digits: Digits,
    candidates: BTreeMap<Rank, Candidate>,
    result: Option<(Vec<Peer>, u32)>,
    requests: usize,
    /// Nodes closest to the target the asker needs (at most 255).
    wanted: u8,
}

impl PastryLookup {
    /// A lookup the local node answered itself.
    pub fn resolved(target: Id, digits: Digits, closest: Vec<Peer>, wanted: usize) -> PastryLookup {
        let mut lookup = PastryLookup::new(target, digits, Vec::new(), wanted);
        lookup.result = Some((closest, 0));
        lookup
    }

    /// A lookup for the `wanted` nodes closest to `target` that starts
    /// from `first`.
    pub fn new(target: Id, digits: Digits, first: Vec<Peer>, wanted: usize) -> PastryLookup {
        let wanted = wanted.min(usize::from(u8::MAX)) as u8;
        let mut lookup =
            PastryLookup { target, digits, candidates: BTreeMap::new(), result: None, requests: 0, wanted };
        lookup.add(first, 1, None);
        lookup
    }

    fn rank(&self, peer: &Peer) -> Rank {
        let (unshared, distance) = self.digits.rank(&peer.id, &self.target);
        (unshared, distance, peer.id)
    }

    /// Adds `peers` at `depth`, only those ranking above `above` if given.
    fn add(&mut self, peers: Vec<Peer>, depth: u32, above: Option<Rank>) {
        for peer in peers.into_iter().take(MAX_PEERS_PER_ANSWER) {
            let rank = self.rank(&peer);
            if above.is_none_or(|a| rank < a) {
                self.candidates.entry(rank).or_insert(Candidate {
                    peer,
                    asked: 0,
                    waiting: false,
                    settled: false,
                    depth,
                });
            }
        }
    }

    fn waiting_on(&mut self, from: &Peer) -> Option<(Rank, &mut Candidate)> {
        let rank = self.rank(from);
        self.candidates.get_mut(&rank).filter(|c| c.waiting && c.peer == *from).map(|c| (rank, c))
    }

    fn in_flight(&self) -> bool {
        self.candidates.values().any(|c| c.waiting)
    }
}

impl Lookup for PastryLookup {
    type Message = PastryMessage;

    fn poll(&mut self) -> Vec<(Peer, PastryMessage)> {
        if self.result.is_some() || self.in_flight() || self.requests >= MAX_REQUESTS {
            return Vec::new();
        }
        let Some(next) = self.candidates.values_mut().find(|c| !c.settled) else { return Vec::new() };
        next.waiting = true;
        next.asked += 1;
        self.requests += 1;
        vec![(next.peer, PastryMessage::Route { key: self.target, wanted: self.wanted })]
    }

    fn on_response(&mut self, from: &Peer, message: PastryMessage) {
        let Some((rank, candidate)) = self.waiting_on(from) else { return };
        candidate.waiting = false;
        candidate.settled = true;
        let depth = candidate.depth;
        match message {
            PastryMessage::Closest(mut list) if !list.is_empty() => {
                list.truncate(MAX_PEERS_PER_ANSWER);
                self.result = Some((list, depth));
            }
            PastryMessage::Next(list) => self.add(list, depth + 1, Some(rank)),
            _ => {}
        }
    }

    fn on_failure(&mut self, from: &Peer) {
        if let Some((_, candidate)) = self.waiting_on(from) {
            candidate.waiting = false;
            candidate.settled = candidate.asked >= ASKS;
        }
    }

    fn is_done(&self) -> bool {
        self.result.is_some()
            || (!self.in_flight() && (self.requests >= MAX_REQUESTS || self.candidates.values().all(|c| c.settled)))
    }

    fn outcome(&self) -> LookupOutcome {
        let (closest, hops) = self.result.clone().unwrap_or_default();
        LookupOutcome { closest, hops }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dht_core::Address;

    fn p(hex: &str) -> Peer {
        Peer::new(Id::from_hex(&format!("{hex:0<64}")).unwrap(), Address::Memory(hex.len() as u32))
    }

    #[test]
    fn follows_longer_prefixes_and_falls_back_on_silence() {
        let target = p("a5c3").id;
        let mut lookup = PastryLookup::new(target, Digits::new(4), vec![p("3"), p("a1")], 3);
        assert_eq!(
            lookup.poll(),
            vec![(p("a1"), PastryMessage::Route { key: target, wanted: 3 })],
            "one shared digit first"
        );
        assert!(lookup.poll().is_empty(), "one request at a time");
        lookup.on_response(&p("a1"), PastryMessage::Next(vec![p("a5"), p("a59"), p("b")]));
        assert_eq!(lookup.poll()[0].0, p("a59"), "two shared digits, the nearer of the two");
        lookup.on_failure(&p("a59"));
        assert_eq!(lookup.poll()[0].0, p("a59"), "a silent node is asked a second time");
        lookup.on_failure(&p("a59"));
        assert_eq!(lookup.poll()[0].0, p("a5"), "then the next best");
        lookup.on_response(&p("a5"), PastryMessage::Closest(vec![p("a5c4"), p("a5c2")]));
        assert!(lookup.is_done());
        assert_eq!(lookup.outcome(), LookupOutcome { closest: vec![p("a5c4"), p("a5c2")], hops: 2 });
    }

    #[test]
    fn an_answer_cannot_lead_away_from_the_key() {
        let target = p("a5c3").id;
        let mut lookup = PastryLookup::new(target, Digits::new(4), vec![p("a5")], 3);
        lookup.poll();
        lookup.on_response(&p("a5"), PastryMessage::Next(vec![p("a4"), p("3"), p("a6")]));
        assert!(lookup.poll().is_empty(), "nothing named ranks above the answerer");
        assert!(lookup.is_done());
        assert!(lookup.outcome().closest.is_empty());
    }

    #[test]
    fn gives_up_after_a_bounded_number_of_requests() {
        let target = Id::ZERO;
        let start = Peer::new(Id::pow2(200), Address::Memory(0));
        let mut lookup = PastryLookup::new(target, Digits::new(1), vec![start], 3);
        let mut requests = 0;
        while let Some((peer, _)) = lookup.poll().pop() {
            requests += 1;
            // Each answer names a slightly better node, forever.
            let next = Peer::new(peer.id.wrapping_sub(&Id::pow2(0)), Address::Memory(requests));
            lookup.on_response(&peer, PastryMessage::Next(vec![next]));
        }
        assert_eq!(requests as usize, MAX_REQUESTS);
        assert!(lookup.is_done());
    }
}
