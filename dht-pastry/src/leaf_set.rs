//! The leaf set: the L/2 nodes whose ids follow this node's on the ring
//! and the L/2 that precede it. It decides who holds a key (the nodes
//! numerically closest to it) and ends every lookup.

use crate::digits::numeric_distance;
use dht_core::{prefix_has_room, Id, Peer};

/// Which way round the ring from the local node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Larger ids (clockwise).
    Right,
    /// Smaller ids (counter-clockwise).
    Left,
}

/// A node's leaf set.
#[derive(Debug, Clone)]
pub struct LeafSet {
    local: Peer,
    half: usize,
    max_per_prefix: usize,
    /// Nearest first.
    right: Vec<Peer>,
    /// Nearest first.
    left: Vec<Peer>,
}

impl LeafSet {
    /// An empty leaf set of `half` nodes a side, at most `max_per_prefix`
    /// of one public network on each.
    pub fn new(local: Peer, half: usize, max_per_prefix: usize) -> LeafSet {
        LeafSet { local, half, max_per_prefix, right: Vec::new(), left: Vec::new() }
    }

    /// How far `id` is from the local node going `side`'s way.
    fn offset(&self, side: Side, id: &Id) -> Id {
        match side {
            Side::Right => self.local.id.ring_distance(id),
            Side::Left => id.ring_distance(&self.local.id),
        }
    }

    fn side(&self, side: Side) -> &[Peer] {
        match side {
            Side::Right => &self.right,
            Side::Left => &self.left,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut Vec<Peer> {
        match side {
            Side::Right => &mut self.right,
            Side::Left => &mut self.left,
        }
    }

    /// The side's nearest node.
    pub fn nearest(&self, side: Side) -> Option<Peer> {
        self.side(side).first().copied()
    }

    /// The side's furthest node, if the side has fewer than `half` (after
    /// failures): the one whose leaf set reaches furthest beyond it.
    pub fn furthest_if_short(&self, side: Side) -> Option<Peer> {
        let list = self.side(side);
        if list.len() < self.half {
            list.last().copied()
        } else {
            None
        }
    }

    /// Takes `peer` on each side where it is among the nearest `half`;
    /// whether anything changed.
    pub fn offer(&mut self, peer: Peer) -> bool {
        let mut changed = false;
        for side in [Side::Right, Side::Left] {
            changed |= self.offer_on(side, peer);
        }
        changed
    }

    /// Where `peer` would go on `side`, if it is among the nearest `half`.
    /// Every peer a node hears from is offered, and most lie beyond a full
    /// side: where it would go is found first, the scans after.
    fn place(&self, side: Side, peer: &Peer) -> Option<usize> {
        let list = self.side(side);
        let offset = self.offset(side, &peer.id);
        let at = list.partition_point(|p| self.offset(side, &p.id) < offset);
        if at >= self.half || peer.id == self.local.id || list.iter().any(|p| p.id == peer.id) {
            return None;
        }
        prefix_has_room(list, peer, self.max_per_prefix).then_some(at)
    }

    fn offer_on(&mut self, side: Side, peer: Peer) -> bool {
        let Some(at) = self.place(side, &peer) else { return false };
        let half = self.half;
        let list = self.side_mut(side);
        list.insert(at, peer);
        list.truncate(half);
        true
    }

    /// Whether [`LeafSet::offer`] would take `peer`.
    pub fn wants(&self, peer: &Peer) -> bool {
        self.place(Side::Right, peer).is_some() || self.place(Side::Left, peer).is_some()
    }

    /// Replaces one side with what its nearest node reported, that node
    /// first: the nearest neighbour's view of the nodes beyond it is
    /// fresher than ours, so a node it dropped as dead goes from ours too.
    pub fn rebuild(&mut self, side: Side, nearest: Peer, reported: impl IntoIterator<Item = Peer>) {
        self.side_mut(side).clear();
        self.offer_on(side, nearest);
        for peer in reported {
            self.offer_on(side, peer);
        }
    }

    /// Drops `id` from both sides; whether it was there.
    pub fn remove(&mut self, id: &Id) -> bool {
        let before = self.right.len() + self.left.len();
        self.right.retain(|p| p.id != *id);
        self.left.retain(|p| p.id != *id);
        before != self.right.len() + self.left.len()
    }

    /// Whether `peer` (this id at this address) is a leaf.
    pub fn contains(&self, peer: &Peer) -> bool {
        self.right.contains(peer) || self.left.contains(peer)
    }

    /// Every leaf once, right side first.
    pub fn all(&self) -> Vec<Peer> {
        let mut all = Vec::with_capacity(self.right.len() + self.left.len());
        all.extend_from_slice(&self.right);
        all.extend(self.left.iter().filter(|p| !self.right.contains(p)));
        all
    }

    /// Whether no leaf is known.
    pub fn is_empty(&self) -> bool {
        self.right.is_empty() && self.left.is_empty()
    }

    /// Whether the leaves are every other node of the network: neither side
    /// is full, and both hold the same nodes (each side then wraps round
    /// the whole ring).
    fn is_whole_ring(&self) -> bool {
        self.right.len() < self.half
            && self.left.len() < self.half
            && self.right.len() == self.left.len()
            && self.right.iter().all(|p| self.left.contains(p))
    }

    /// Whether `key` lies within the leaf set, with at least `margin`
    /// leaves beyond it on its side: then the `margin` nodes numerically
    /// closest to it on that side are all known here.
    pub fn covers(&self, key: &Id, margin: usize) -> bool {
        if self.is_whole_ring() {
            return true;
        }
        [Side::Right, Side::Left].into_iter().any(|side| {
            let list = self.side(side);
            let Some(edge) = list.len().checked_sub(margin + 1).map(|i| list[i]) else { return false };
            self.offset(side, key) <= self.offset(side, &edge.id)
        })
    }

    /// The local node and its leaves, numerically closest to `key` first.
    pub fn closest(&self, key: &Id) -> Vec<Peer> {
        let mut all = self.all();
        all.push(self.local);
        all.sort_by_key(|p| (numeric_distance(&p.id, key), p.id));
        all
    }
}

/// A peer whose id's top byte is `n`: small sets for tests.
#[cfg(test)]
pub(crate) fn test_peer(n: u8) -> Peer {
    let mut id = [0u8; 32];
    id[0] = n;
    Peer::new(Id(id), dht_core::Address::Memory(u32::from(n)))
}

#[cfg(test)]
mod tests {
    use super::test_peer as p;
    use super::*;
    use dht_core::Address;

    #[test]
    fn keeps_the_nearest_on_each_side() {
        let mut leaves = LeafSet::new(p(100), 2, 4);
        for n in [90, 110, 95, 130, 105, 50, 101] {
            leaves.offer(p(n));
        }
        assert_eq!(leaves.right, vec![p(101), p(105)]);
        assert_eq!(leaves.left, vec![p(95), p(90)]);
        assert!(leaves.remove(&p(101).id));
        assert_eq!(leaves.nearest(Side::Right), Some(p(105)));
    }

    #[test]
    fn covers_keys_between_its_edges_less_the_margin() {
        let mut leaves = LeafSet::new(p(100), 3, 4);
        for n in [70, 80, 90, 110, 120, 130] {
            leaves.offer(p(n));
        }
        assert!(leaves.covers(&p(125).id, 0));
        assert!(!leaves.covers(&p(125).id, 1), "only one leaf beyond it");
        assert!(leaves.covers(&p(115).id, 1));
        assert!(!leaves.covers(&p(140).id, 0));
        assert!(leaves.covers(&p(75).id, 0) && !leaves.covers(&p(60).id, 0));
        assert_eq!(leaves.closest(&p(112).id)[..2], [p(110), p(120)]);
    }

    #[test]
    fn a_small_network_is_known_whole_only_when_both_sides_agree() {
        let mut leaves = LeafSet::new(p(100), 8, 4);
        leaves.offer(p(10));
        leaves.offer(p(200));
        assert!(leaves.covers(&p(250).id, 3), "two other nodes, on both sides");
        leaves.rebuild(Side::Right, p(200), []);
        assert!(!leaves.covers(&p(250).id, 3), "the sides disagree: not the whole ring");
    }

    #[test]
    fn a_side_holds_few_peers_of_one_public_network() {
        let mut leaves = LeafSet::new(p(0), 8, 2);
        for n in 1..6u8 {
            let mut id = [0u8; 32];
            id[0] = n;
            leaves.offer(Peer::new(Id(id), Address::Socket(([203, 0, 113, n], 4000).into())));
        }
        assert_eq!(leaves.right.len(), 2);
    }
}
