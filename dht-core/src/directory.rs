//! A complete view of a network: every live peer, sorted by id. No node
//! has one; a simulator does, and hands it to [`SimOverlay::warm_start`] so
//! that a large network starts from the routing state it would settle to,
//! instead of a hundred thousand joins run message by message.
//!
//! [`SimOverlay::warm_start`]: crate::SimOverlay::warm_start

use crate::{Id, Peer};
use std::any::Any;
use std::cell::OnceCell;

/// Every live peer of a network, sorted by id, with the searches overlays
/// need to derive their routing state from it.
pub struct Directory {
    /// In the order they were given: the order the nodes joined in.
    joined: Vec<Peer>,
    sorted: Vec<Peer>,
    /// One structure an overlay derives from the whole directory and shares
    /// between its nodes (see [`Directory::shared`]).
    shared: OnceCell<Box<dyn Any>>,
}

impl Directory {
    /// A directory of `peers`, given in the order they joined; duplicate ids
    /// keep their first entry.
    pub fn new(peers: Vec<Peer>) -> Directory {
        let mut sorted = peers.clone();
        sorted.sort_by_key(|p| p.id);
        sorted.dedup_by_key(|p| p.id);
        Directory { joined: peers, sorted, shared: OnceCell::new() }
    }

    /// Every peer, by id.
    pub fn peers(&self) -> &[Peer] {
        &self.sorted
    }

    /// Every peer, in the order they joined.
    pub fn in_join_order(&self) -> &[Peer] {
        &self.joined
    }

    /// Number of peers.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// Index of the first peer whose id is `id` or above (`len()` if none).
    pub fn position(&self, id: &Id) -> usize {
        self.sorted.partition_point(|p| p.id < *id)
    }

    /// The peers with ids in `from..=to` (empty if `from > to`).
    pub fn range(&self, from: &Id, to: &Id) -> &[Peer] {
        if from > to {
            return &[];
        }
        let end = self.sorted.partition_point(|p| p.id <= *to);
        &self.sorted[self.position(from).min(end)..end]
    }

    /// The `n` peers at or after `id` on the ring, in ring order, wrapping
    /// past the top of the id space (fewer if the network is smaller).
    pub fn successors(&self, id: &Id, n: usize) -> impl Iterator<Item = &Peer> {
        let start = self.position(id);
        let take = n.min(self.sorted.len());
        self.sorted[start..].iter().chain(&self.sorted[..start]).take(take)
    }

    /// The `n` peers before `id` on the ring, nearest first, wrapping.
    pub fn predecessors(&self, id: &Id, n: usize) -> impl Iterator<Item = &Peer> {
        let start = self.position(id);
        let take = n.min(self.sorted.len());
        self.sorted[..start].iter().rev().chain(self.sorted[start..].iter().rev()).take(take)
    }

    /// A structure derived once from the whole directory and shared by
    /// every node's warm start (a CAN's zone partition, say): built by
    /// `build` on first use. `None` if an earlier caller stored a different
    /// type.
    pub fn shared<T: Any>(&self, build: impl FnOnce(&Directory) -> T) -> Option<&T> {
        self.shared.get_or_init(|| Box::new(build(self))).downcast_ref()
    }
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory").field("peers", &self.sorted.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Address, Rng};

    fn directory(n: usize) -> Directory {
        let mut rng = Rng::new(4);
        Directory::new((0..n as u32).map(|i| Peer::new(rng.id(), Address::Memory(i))).collect())
    }

    #[test]
    fn ranges_and_ring_neighbours_match_a_scan() {
        let dir = directory(500);
        let mut rng = Rng::new(8);
        for _ in 0..100 {
            let (a, b) = (rng.id(), rng.id());
            let (lo, hi) = (a.min(b), a.max(b));
            let scan: Vec<Peer> = dir.peers().iter().filter(|p| p.id >= lo && p.id <= hi).copied().collect();
            assert_eq!(dir.range(&lo, &hi), &scan[..]);
            assert!(dir.range(&hi, &lo).is_empty() || lo == hi);
            let after: Vec<Id> = dir.successors(&a, 5).map(|p| p.id).collect();
            let mut ring: Vec<Id> = dir.peers().iter().map(|p| p.id).collect();
            ring.sort_by_key(|id| a.ring_distance(id));
            assert_eq!(after, ring[..5]);
            let before: Vec<Id> = dir.predecessors(&a, 5).map(|p| p.id).collect();
            ring.sort_by_key(|id| id.ring_distance(&a));
            let expected: Vec<Id> = ring.iter().filter(|id| **id != a).take(5).copied().collect();
            assert_eq!(before, expected);
        }
    }

    #[test]
    fn a_shared_structure_is_built_once() {
        let dir = directory(10);
        let mut builds = 0;
        for _ in 0..3 {
            let len = dir.shared(|d| {
                builds += 1;
                d.len()
            });
            assert_eq!(len, Some(&10));
        }
        assert_eq!(builds, 1);
        assert_eq!(dir.shared(|_| "another type"), None);
    }
}
