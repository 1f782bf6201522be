//! A node's view of the identifier ring: predecessor, successor list and
//! finger table, and the nodes before the predecessor.
//!
//! The nodes before the predecessor (copied from the predecessor's own
//! view, as the successor list is copied from the successor's) tell a node
//! which keys it is a replica for: it is among the first `r` successors of
//! a key exactly when the key lies after its `r`-th predecessor. Without
//! them, a node just past a key's replica set takes itself for a member,
//! keeps a copy it should hand off and pushes it on to the nodes after it.
//!
//! Fingers are kept sparsely: finger `i` points at the successor of
//! `n + 2^i`, and for every `i` below about `256 - log2 N` that is just the
//! immediate successor, so only fingers that differ from it are stored.
//!
//! A peer found dead stays a suspect for a while: successor lists copied
//! from other nodes still name it until news of its death has travelled
//! round (in a small ring every list names every node), and taking it back
//! from them would undo the repair.
//!
//! The successor list and the fingers each take at most a few peers of one
//! public network ([`dht_core::Address::net_prefix`]), so a host minting
//! ids just after a node's own cannot make up its whole successor list.

use dht_core::{prefix_has_room, Id, IdBuildHasher, Peer};
use std::collections::{BTreeMap, HashMap};

/// Routing state of one Chord node.
#[derive(Debug, Clone)]
pub struct Ring {
    local: Peer,
    predecessor: Option<Peer>,
    /// The predecessor's predecessors, nearest first.
    earlier: Vec<Peer>,
    successors: Vec<Peer>,
    fingers: BTreeMap<u16, Peer>,
    max_successors: usize,
    /// Peers found dead, with the round they were found in; hashed, as it
    /// is asked about every peer that answers or asks.
    suspects: HashMap<Id, u64, IdBuildHasher>,
    /// Most peers of one network in the successor list, and among the fingers.
    prefix_cap: usize,
}

impl Ring {
    /// A ring of one: the node is its own successor.
    pub fn new(local: Peer, max_successors: usize) -> Ring {
        Ring {
            local,
            predecessor: None,
            earlier: Vec::new(),
            successors: Vec::new(),
            fingers: BTreeMap::new(),
            max_successors: max_successors.max(1),
            suspects: HashMap::default(),
            prefix_cap: usize::MAX,
        }
    }

    /// Caps the peers one network may hold in the successor list and among
    /// the fingers.
    pub fn with_prefix_cap(mut self, cap: usize) -> Ring {
        self.prefix_cap = cap;
        self
    }

    /// The node itself.
    pub fn local(&self) -> Peer {
        self.local
    }

    /// The immediate successor (the node itself when alone).
    pub fn successor(&self) -> Peer {
        self.successors.first().copied().unwrap_or(self.local)
    }

    /// The successor list, nearest first.
    pub fn successors(&self) -> &[Peer] {
        &self.successors
    }

    /// The listed successors that follow `key` (a node at `key` included),
    /// nearest first: empty unless `key` falls within the list.
    pub fn listed_after(&self, key: &Id) -> Vec<Peer> {
        let span = self.local.id.ring_distance(key);
        self.successors.iter().filter(|p| self.local.id.ring_distance(&p.id) >= span).copied().collect()
    }

    /// The predecessor, if known.
    pub fn predecessor(&self) -> Option<Peer> {
        self.predecessor
    }

    /// The predecessor followed by the nodes before it, nearest first.
    pub fn predecessors(&self) -> Vec<Peer> {
        self.predecessor.iter().chain(&self.earlier).copied().collect()
    }

    /// Takes `list` (the predecessor's own [`Ring::predecessors`]) as the
    /// nodes before the predecessor, dropping the local node, suspects,
    /// duplicates and the overflow.
    pub fn set_earlier(&mut self, list: &[Peer]) {
        let mut earlier: Vec<Peer> = Vec::with_capacity(self.max_successors);
        for p in list {
            let fresh = p.id != self.local.id && !self.suspects.contains_key(&p.id);
            let new = self.predecessor.is_none_or(|q| q.id != p.id) && !earlier.iter().any(|q| q.id == p.id);
            let room = earlier.len() < self.max_successors && prefix_has_room(&earlier, p, self.prefix_cap);
            if fresh && new && room {
                earlier.push(*p);
            }
        }
        self.earlier = earlier;
    }

    /// Stored fingers (those that differ from the successor), by bit.
    pub fn fingers(&self) -> &BTreeMap<u16, Peer> {
        &self.fingers
    }

    /// Whether this node is responsible for `key`: `key ∈ (predecessor, n]`.
    /// Without a known predecessor it claims only its own id.
    pub fn owns(&self, key: &Id) -> bool {
        match self.predecessor {
            Some(p) => key.in_half_open(&p.id, &self.local.id),
            None => *key == self.local.id || self.successors.is_empty(),
        }
    }

    /// Replaces the successor list by `first` followed by `rest` (a peer's
    /// own list), dropping the local node, duplicates and the overflow:
    /// the paper's reconciliation (copy, drop the last, prepend).
    pub fn set_successors(&mut self, first: Peer, rest: &[Peer]) {
        let mut list = Vec::with_capacity(self.max_successors);
        for p in std::iter::once(&first).chain(rest) {
            let fresh = p.id != self.local.id && !self.suspects.contains_key(&p.id);
            let room = list.len() < self.max_successors && prefix_has_room(&list, p, self.prefix_cap);
            if fresh && room && !list.iter().any(|q: &Peer| q.id == p.id) {
                list.push(*p);
            }
        }
        self.successors = list;
    }

    /// Adopts `candidate` as successor if it lies between this node and the
    /// current successor (or if this node has none).
    pub fn offer_successor(&mut self, candidate: Peer) -> bool {
        if candidate.id == self.local.id || self.suspects.contains_key(&candidate.id) {
            return false;
        }
        let better = self.successors.is_empty() || candidate.id.in_open(&self.local.id, &self.successor().id);
        if better {
            let rest = self.successors.clone();
            self.set_successors(candidate, &rest);
        }
        better
    }

    /// `notify`: `candidate` thinks it may be our predecessor.
    pub fn offer_predecessor(&mut self, candidate: Peer) -> bool {
        if candidate.id == self.local.id || self.suspects.contains_key(&candidate.id) {
            return false;
        }
        let better = self.predecessor.is_none_or(|p| candidate.id.in_open(&p.id, &self.local.id));
        if better {
            // The old predecessor now comes before the new one.
            let mut earlier: Vec<Peer> = self.predecessor.iter().chain(&self.earlier).copied().collect();
            earlier.retain(|p| p.id != candidate.id);
            self.predecessor = Some(candidate);
            self.set_earlier(&earlier);
        }
        if self.successors.is_empty() {
            // A ring of one meets its first peer: it is also our successor.
            self.set_successors(candidate, &[]);
        }
        better
    }

    /// Sets finger `bit` to `peer` (or clears it when it equals the successor).
    pub fn set_finger(&mut self, bit: u16, peer: Peer) {
        let others = self.fingers.iter().filter(|(b, _)| **b != bit).map(|(_, p)| p);
        let crowded = !prefix_has_room(others, &peer, self.prefix_cap);
        if crowded || peer.id == self.local.id || peer.id == self.successor().id || self.suspects.contains_key(&peer.id)
        {
            self.fingers.remove(&bit);
        } else {
            self.fingers.insert(bit, peer);
        }
    }

    /// Forgets a failed peer everywhere and suspects it from `round` on.
    pub fn fail(&mut self, id: &Id, round: u64) {
        self.suspects.insert(*id, round);
        self.remove(id);
    }

    /// A suspect was heard from: it is alive after all.
    pub fn clear_suspicion(&mut self, id: &Id) {
        if !self.suspects.is_empty() {
            self.suspects.remove(id);
        }
    }

    /// Drops suspicions raised before `round`.
    pub fn expire_suspects(&mut self, round: u64) {
        self.suspects.retain(|_, since| *since >= round);
    }

    /// Forgets a peer everywhere (a graceful leave, or a failure).
    pub fn remove(&mut self, id: &Id) {
        self.successors.retain(|p| p.id != *id);
        self.fingers.retain(|_, p| p.id != *id);
        self.earlier.retain(|p| p.id != *id);
        if self.predecessor.is_some_and(|p| p.id == *id) {
            self.predecessor = None;
        }
    }

    /// Clears the predecessor (it failed `check_predecessor`).
    pub fn clear_predecessor(&mut self) {
        self.predecessor = None;
    }

    /// Every distinct peer known, the local node excluded.
    pub fn known(&self) -> Vec<Peer> {
        let mut all: Vec<Peer> = self.entries().copied().collect();
        all.sort_unstable_by_key(|p| p.id);
        all.dedup_by_key(|p| p.id);
        all
    }

    /// A fingerprint of the peers around this node — predecessors and
    /// successors, not fingers: the replica sets of the keys it holds.
    pub fn neighbourhood(&self) -> u64 {
        dht_core::fingerprint(self.earlier.iter().rev().chain(&self.predecessor).chain(&self.successors))
    }

    /// Whether the view holds `peer`'s id at another address: a failure
    /// at the address a liar named says nothing about the real entry.
    pub fn holds_elsewhere(&self, peer: &Peer) -> bool {
        self.entries().any(|p| p.id == peer.id && p.addr != peer.addr)
    }

    /// Every entry of the view, a peer as often as it appears.
    fn entries(&self) -> impl Iterator<Item = &Peer> {
        self.successors.iter().chain(self.fingers.values()).chain(self.predecessor.iter()).chain(&self.earlier)
    }

    /// Up to `n` distinct peers of `(distance, peer)` pairs, nearest first.
    /// This runs for every request a node answers, over some fifty entries
    /// for a handful of peers: each entry is placed into a sorted list of
    /// at most `n` instead of all of them being sorted. Two peers at the
    /// same distance are the same peer; the first one met is kept.
    fn nearest<'a>(by_distance: impl Iterator<Item = (Id, &'a Peer)>, n: usize) -> Vec<Peer> {
        let mut nearest: Vec<(Id, &Peer)> = Vec::with_capacity(n + 1);
        for (distance, peer) in by_distance {
            if nearest.len() == n && nearest.last().is_none_or(|(last, _)| distance >= *last) {
                continue;
            }
            if let Err(at) = nearest.binary_search_by_key(&distance, |(d, _)| *d) {
                nearest.insert(at, (distance, peer));
                nearest.truncate(n);
            }
        }
        nearest.into_iter().map(|(_, p)| *p).collect()
    }

    /// Up to `n` known peers that most closely precede `target`, closest
    /// first (`closest_preceding_node` over fingers and successors, with
    /// the runners-up for fall-back).
    pub fn closest_preceding(&self, target: &Id, n: usize) -> Vec<Peer> {
        // A peer precedes the target when it lies in (local, target): its
        // offset from the local node is not zero and, unless the target is
        // the local node itself (then the whole ring precedes it), below the
        // target's. Its distance to the target is what remains.
        let span = self.local.id.ring_distance(target);
        let offsets = self.entries().map(|p| (self.local.id.ring_distance(&p.id), p));
        let preceding = offsets.filter(|(offset, _)| *offset != Id::ZERO && (span == Id::ZERO || *offset < span));
        Ring::nearest(preceding.map(|(offset, p)| (span.wrapping_sub(&offset), p)), n)
    }

    /// The `n` peers (the local node included) that follow `key` on the
    /// ring as far as this node knows: the key's successor first.
    pub fn successors_of(&self, key: &Id, n: usize) -> Vec<Peer> {
        // Distance from the key clockwise to the peer; a peer at the key is at 0.
        Ring::nearest(self.entries().chain(std::iter::once(&self.local)).map(|p| (key.ring_distance(&p.id), p)), n)
    }

    /// Whether the `n` successors of `key` lie within the stretch of the
    /// ring this node knows peer by peer: from its furthest known
    /// predecessor to its last successor. Elsewhere only fingers are
    /// known, and [`Ring::successors_of`] is a guess. A node that knows no
    /// predecessor yet cannot tell, and says yes.
    pub fn knows_successors_of(&self, key: &Id, n: usize) -> bool {
        let Some(far) = self.earlier.last().or(self.predecessor.as_ref()) else { return true };
        let arc =
            self.earlier.iter().chain(&self.predecessor).chain(std::iter::once(&self.local)).chain(&self.successors);
        let at = far.id.ring_distance(key);
        arc.filter(|p| far.id.ring_distance(&p.id) >= at && p.id != far.id).count() >= n
    }

    /// Routing entries: distinct fingers, successors and the predecessor.
    pub fn len(&self) -> usize {
        self.known().len()
    }

    /// Whether the node knows no other peer.
    pub fn is_empty(&self) -> bool {
        self.successors.is_empty() && self.predecessor.is_none() && self.fingers.is_empty()
    }
}

/// A peer whose id's top byte is `v`: small rings for tests.
#[cfg(test)]
pub(crate) fn test_peer(v: u8) -> Peer {
    let mut id = [0u8; 32];
    id[0] = v;
    Peer::new(Id(id), dht_core::Address::Memory(u32::from(v)))
}

#[cfg(test)]
mod tests {
    use super::test_peer as p;
    use super::*;

    /// The stretch from the furthest known predecessor to the last
    /// successor is known peer by peer; beyond it, only fingers.
    #[test]
    fn a_node_knows_the_successors_of_keys_within_its_neighbourhood_only() {
        let mut ring = Ring::new(p(100), 3);
        ring.set_successors(p(110), &[p(120), p(130)]);
        ring.offer_predecessor(p(80));
        ring.offer_predecessor(p(90));
        ring.set_finger(200, p(200));
        assert!(ring.knows_successors_of(&p(85).id, 3), "90, 100, 110 are all known");
        assert!(ring.knows_successors_of(&p(115).id, 2), "120 and 130");
        assert!(!ring.knows_successors_of(&p(115).id, 3), "the third is past the last successor");
        assert!(!ring.knows_successors_of(&p(50).id, 3), "before the furthest predecessor");
        assert!(!ring.knows_successors_of(&p(150).id, 1), "only a finger is known out there");
    }

    /// Only listed successors at or past the key, and none when the key
    /// lies beyond the list.
    #[test]
    fn the_listed_successors_after_a_key() {
        let mut ring = Ring::new(p(100), 3);
        ring.set_successors(p(110), &[p(120), p(130)]);
        ring.set_finger(200, p(200));
        assert_eq!(ring.listed_after(&p(115).id), vec![p(120), p(130)]);
        assert_eq!(ring.listed_after(&p(120).id), vec![p(120), p(130)]);
        assert!(ring.listed_after(&p(135).id).is_empty(), "the finger at 200 is not listed");
    }

    /// A host minting ids right after the victim's own, and serving a
    /// successor list made of them, holds at most the cap of the victim's
    /// successor list; honest successors keep the rest.
    #[test]
    fn ids_from_one_host_take_at_most_the_cap_of_the_successor_list() {
        let public = |n: u8, host: u8| {
            let mut id = [0u8; 32];
            id[0] = 100;
            id[1] = n;
            Peer::new(Id(id), dht_core::Address::Socket(([203, 0, host, 7], 4000 + u16::from(n)).into()))
        };
        let honest: Vec<Peer> = (100..108).map(|n| public(n, n)).collect();
        let forged: Vec<Peer> = (1..99).map(|n| public(n, 113)).collect();
        let mut ring = Ring::new(public(0, 1), 8).with_prefix_cap(2);
        ring.set_successors(honest[0], &honest[1..]);
        for f in &forged {
            ring.offer_successor(*f);
        }
        ring.set_successors(forged[0], &[&forged[1..], &honest[..]].concat());
        let taken = |ring: &Ring| ring.successors().iter().filter(|p| forged.contains(p)).count();
        assert_eq!(taken(&ring), 2, "{:?}", ring.successors());
        assert_eq!(ring.successors()[2..], honest[..6]);
        for (bit, f) in forged.iter().enumerate() {
            ring.set_finger(bit as u16 + 10, *f);
        }
        assert_eq!(ring.fingers().len(), 2);

        let mut open = Ring::new(public(0, 1), 8);
        open.set_successors(forged[0], &[&forged[1..], &honest[..]].concat());
        assert_eq!(taken(&open), 8, "without the cap the host holds the whole list");
    }

    #[test]
    fn successor_list_reconciles_by_prepending_and_truncating() {
        let mut ring = Ring::new(p(10), 3);
        ring.set_successors(p(20), &[p(30), p(10), p(30), p(40), p(50)]);
        let ids: Vec<Peer> = ring.successors().to_vec();
        assert_eq!(ids, vec![p(20), p(30), p(40)], "self and duplicates dropped, list capped");
        assert!(ring.offer_successor(p(15)));
        assert_eq!(ring.successors().to_vec(), vec![p(15), p(20), p(30)]);
        assert!(!ring.offer_successor(p(35)), "not between us and the successor");
    }

    #[test]
    fn notify_adopts_only_a_closer_predecessor() {
        let mut ring = Ring::new(p(100), 4);
        assert!(ring.offer_predecessor(p(50)));
        assert!(ring.offer_predecessor(p(80)));
        assert!(!ring.offer_predecessor(p(60)));
        assert!(!ring.offer_predecessor(p(120)), "after us is not before us");
        assert!(ring.owns(&p(90).id));
        assert!(!ring.owns(&p(70).id));
    }

    #[test]
    fn a_failed_peer_is_not_taken_back_from_copied_lists_until_heard_again() {
        let mut ring = Ring::new(p(10), 4);
        ring.set_successors(p(20), &[p(30), p(40)]);
        ring.fail(&p(20).id, 1);
        assert_eq!(ring.successor(), p(30));
        ring.set_successors(p(30), &[p(20), p(40)]);
        assert_eq!(ring.successors().to_vec(), vec![p(30), p(40)], "the suspect is filtered out");
        assert!(!ring.offer_successor(p(20)));
        ring.clear_suspicion(&p(20).id);
        assert!(ring.offer_successor(p(20)));
        ring.fail(&p(20).id, 1);
        ring.expire_suspects(2);
        assert!(ring.offer_successor(p(20)), "suspicion expires");
    }

    #[test]
    fn closest_preceding_wraps_around_zero() {
        let mut ring = Ring::new(p(200), 4);
        ring.set_successors(p(220), &[p(240)]);
        ring.set_finger(250, p(10));
        ring.set_finger(251, p(60));
        let target = p(50).id;
        let got = ring.closest_preceding(&target, 4);
        assert_eq!(got, vec![p(10), p(240), p(220)]);
        assert_eq!(ring.successors_of(&p(5).id, 2), vec![p(10), p(60)]);
    }
}
