//! Iterative Chord lookups: ask the known node that most closely precedes
//! the key; it either answers with the key's successors (it is the key's
//! predecessor, or its owner) or names closer nodes to ask next. One request
//! is in flight at a time, as in the paper; a node that does not answer is
//! asked once more (a lost datagram or a slow handshake is not a dead
//! node), then replaced by the next-best candidate rather than ending the
//! lookup. A node that cannot answer but has the key within its successor
//! list names the listed nodes after the key too: if every candidate
//! closer to the key than that node fails or cannot answer (the key's
//! predecessor died unnoticed, or lost its own successors), the lookup
//! ends with that list instead of walking back round the ring until its
//! budget runs out.

use crate::ChordMessage;
use dht_core::{Id, Lookup, LookupOutcome, Peer};
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
    depth: u32,
    /// Times it was asked.
    asked: u8,
}

/// Times a candidate is asked before it counts as failed.
const ASKS: u8 = 2;

/// Most peers taken from one answer (an honest one names a few next hops,
/// or a successor list): a hostile answer cannot flood the candidates.
const MAX_PEERS_PER_ANSWER: usize = 32;

/// A Chord lookup in progress.
#[derive(Debug)]
pub struct ChordLookup {
    target: Id,
    /// Candidates by how far they are from the target, clockwise: the
    /// closest preceding node first.
    candidates: BTreeMap<Id, Candidate>,
    result: Option<(Vec<Peer>, u32)>,
    /// The successors past the target named by the answering candidate
    /// nearest the target, with that candidate's distance and depth.
    fallback: Option<(Id, Vec<Peer>, u32)>,
    waiting: bool,
}

impl ChordLookup {
    /// A lookup the local node could answer itself.
    pub fn resolved(target: Id, successors: Vec<Peer>) -> ChordLookup {
        ChordLookup {
            target,
            candidates: BTreeMap::new(),
            result: Some((successors, 0)),
            fallback: None,
            waiting: false,
        }
    }

    /// A lookup that starts by asking `first` (best first).
    pub fn new(target: Id, first: Vec<Peer>) -> ChordLookup {
        let mut lookup =
            ChordLookup { target, candidates: BTreeMap::new(), result: None, fallback: None, waiting: false };
        lookup.add(first, 1);
        lookup
    }

    fn add(&mut self, peers: Vec<Peer>, depth: u32) {
        for peer in peers {
            self.candidates.entry(peer.id.ring_distance(&self.target)).or_insert(Candidate {
                peer,
                state: State::NotAsked,
                depth,
                asked: 0,
            });
        }
    }

    /// Keeps `beyond` as the fallback if `from` is the nearest answering
    /// candidate yet to name successors of the target; only peers that do
    /// lie past the target as seen from `from` count.
    fn offer_fallback(&mut self, from: &Peer, depth: u32, mut beyond: Vec<Peer>) {
        let distance = from.id.ring_distance(&self.target);
        beyond.retain(|p| from.id.ring_distance(&p.id) >= distance);
        beyond.truncate(MAX_PEERS_PER_ANSWER);
        if !beyond.is_empty() && self.fallback.as_ref().is_none_or(|(d, _, _)| distance < *d) {
            self.fallback = Some((distance, beyond, depth));
        }
    }

    /// Ends the lookup with the fallback once no candidate nearer the
    /// target than its source is left to ask or waited for.
    fn settle(&mut self) {
        if self.result.is_some() || self.waiting {
            return;
        }
        let Some((distance, _, _)) = &self.fallback else { return };
        let nearer_left = self.candidates.range(..*distance).any(|(_, c)| c.state == State::NotAsked);
        if !nearer_left {
            self.result = self.fallback.take().map(|(_, list, depth)| (list, depth));
        }
    }

    fn candidate_mut(&mut self, peer: &Peer) -> Option<&mut Candidate> {
        self.candidates.get_mut(&peer.id.ring_distance(&self.target)).filter(|c| c.peer.id == peer.id)
    }
}

impl Lookup for ChordLookup {
    type Message = ChordMessage;

    fn poll(&mut self) -> Vec<(Peer, ChordMessage)> {
        if self.result.is_some() || self.waiting {
            return Vec::new();
        }
        let Some(next) = self.candidates.values_mut().find(|c| c.state == State::NotAsked) else { return Vec::new() };
        next.state = State::Waiting;
        next.asked += 1;
        self.waiting = true;
        vec![(next.peer, ChordMessage::FindSuccessor(self.target))]
    }

    fn on_response(&mut self, from: &Peer, message: ChordMessage) {
        let Some(c) = self.candidate_mut(from) else { return };
        if c.state != State::Waiting {
            return;
        }
        let depth = c.depth;
        c.state = match &message {
            ChordMessage::Successors(list) if !list.is_empty() => State::Answered,
            ChordMessage::Closer { .. } => State::Answered,
            _ => State::Failed,
        };
        self.waiting = false;
        match message {
            ChordMessage::Successors(mut list) if !list.is_empty() => {
                list.truncate(MAX_PEERS_PER_ANSWER);
                self.result = Some((list, depth));
            }
            ChordMessage::Closer { mut next, beyond } => {
                next.truncate(MAX_PEERS_PER_ANSWER);
                self.add(next, depth + 1);
                self.offer_fallback(from, depth, beyond);
            }
            _ => {}
        }
        self.settle();
    }

    fn on_failure(&mut self, from: &Peer) {
        if let Some(c) = self.candidate_mut(from) {
            if c.state == State::Waiting {
                c.state = if c.asked < ASKS { State::NotAsked } else { State::Failed };
                self.waiting = false;
            }
        }
        self.settle();
    }

    fn is_done(&self) -> bool {
        self.result.is_some() || (!self.waiting && self.candidates.values().all(|c| c.state != State::NotAsked))
    }

    fn outcome(&self) -> LookupOutcome {
        let (closest, hops) = self.result.clone().unwrap_or_default();
        LookupOutcome { closest, hops }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::test_peer as p;

    #[test]
    fn follows_closer_nodes_and_falls_back_on_silence() {
        let target = p(100).id;
        let mut lookup = ChordLookup::new(target, vec![p(10), p(5)]);
        let ask = lookup.poll();
        assert_eq!(ask, vec![(p(10), ChordMessage::FindSuccessor(target))], "closest preceding first, one at a time");
        assert!(lookup.poll().is_empty());
        lookup.on_response(&p(10), ChordMessage::Closer { next: vec![p(90), p(60)], beyond: Vec::new() });
        assert_eq!(lookup.poll()[0].0, p(90));
        lookup.on_failure(&p(90));
        assert_eq!(lookup.poll()[0].0, p(90), "a silent node is asked a second time");
        lookup.on_failure(&p(90));
        assert_eq!(lookup.poll()[0].0, p(60), "the next best after a node silent twice");
        lookup.on_response(&p(60), ChordMessage::Successors(vec![p(110), p(120)]));
        assert!(lookup.is_done());
        let out = lookup.outcome();
        assert_eq!(out.closest, vec![p(110), p(120)]);
        assert_eq!(out.hops, 2);
    }

    /// The key's predecessor died unnoticed: the node before it still names
    /// it as the closest, and the listed nodes after the key. Once it fails
    /// twice the lookup ends with that list, not by walking back round the
    /// ring; names that do not lie past the key are not taken for it.
    #[test]
    fn ends_with_the_successors_named_past_the_key_when_every_nearer_candidate_fails() {
        let target = p(100).id;
        let mut lookup = ChordLookup::new(target, vec![p(10), p(5)]);
        lookup.poll();
        let beyond = vec![p(50), p(110), p(120)];
        lookup.on_response(&p(10), ChordMessage::Closer { next: vec![p(90)], beyond });
        assert!(!lookup.is_done(), "the nearer candidate is asked first");
        for _ in 0..ASKS {
            assert_eq!(lookup.poll()[0].0, p(90));
            lookup.on_failure(&p(90));
        }
        assert!(lookup.is_done(), "p(5) is further from the key than p(10): not asked");
        let out = lookup.outcome();
        assert_eq!(out.closest, vec![p(110), p(120)]);
        assert_eq!(out.hops, 1);
    }

    /// A nearer candidate that answers for the key wins over the fallback.
    #[test]
    fn a_nearer_answer_wins_over_the_named_successors() {
        let target = p(100).id;
        let mut lookup = ChordLookup::new(target, vec![p(10)]);
        lookup.poll();
        lookup.on_response(&p(10), ChordMessage::Closer { next: vec![p(90)], beyond: vec![p(120)] });
        lookup.poll();
        lookup.on_response(&p(90), ChordMessage::Successors(vec![p(105), p(120)]));
        assert_eq!(lookup.outcome().closest, vec![p(105), p(120)]);
    }

    #[test]
    fn ends_empty_when_every_candidate_fails() {
        let mut lookup = ChordLookup::new(p(50).id, vec![p(10)]);
        for _ in 0..ASKS {
            assert_eq!(lookup.poll().len(), 1);
            lookup.on_failure(&p(10));
        }
        assert!(lookup.poll().is_empty());
        assert!(lookup.is_done());
        assert!(lookup.outcome().closest.is_empty());
    }
}
