//! The zones of a whole network at once, for a simulator's warm start
//! ([`dht_core::SimOverlay::warm_start`]): the split tree a network reaches
//! when its nodes join one after another, built by replaying every join's
//! split centrally — the same choice [`crate::Can`] makes when asked for
//! room, without the messages — and every zone's neighbours, found by a
//! descent of the tree.

use crate::space::{Space, Zone};
use crate::view::Owner;
use dht_core::{Directory, Id, IdBuildHasher, Peer};
use std::collections::HashMap;

/// One node of the split tree: a leaf with its owner, or a zone split in two.
struct Part {
    zone: Zone,
    owner: Option<Peer>,
    halves: Option<[usize; 2]>,
}

/// Every node's zone and neighbours in a network built by joins.
pub(crate) struct Partition {
    space: Space,
    uniform: bool,
    parts: Vec<Part>,
    /// The leaf each peer owns.
    leaf_of: HashMap<Id, usize, IdBuildHasher>,
    /// The neighbouring leaves of each leaf, by part index (empty for a
    /// split part), once built.
    neighbours: Vec<Vec<usize>>,
}

impl Partition {
    /// Replays the joins of `directory`'s peers in join order: the first
    /// owns the whole space; each next one is given half the zone of the
    /// owner of its point, or, with `uniform` partitioning, half the
    /// largest zone among that owner's neighbours when one is larger.
    pub(crate) fn build(directory: &Directory, space: Space, uniform: bool) -> Partition {
        let mut partition = Partition {
            space,
            uniform,
            parts: Vec::with_capacity(2 * directory.len()),
            leaf_of: HashMap::default(),
            neighbours: Vec::new(),
        };
        let mut peers = directory.in_join_order().iter();
        if let Some(first) = peers.next() {
            partition.parts.push(Part { zone: Zone::WHOLE, owner: Some(*first), halves: None });
            partition.leaf_of.insert(first.id, 0);
        }
        for peer in peers {
            partition.join(*peer);
        }
        partition.neighbours = (0..partition.parts.len())
            .map(|at| if partition.parts[at].halves.is_none() { partition.find_neighbours(at) } else { Vec::new() })
            .collect();
        partition
    }

    /// Whether this partition was built with these settings.
    pub(crate) fn built_for(&self, space: Space, uniform: bool) -> bool {
        self.space == space && self.uniform == uniform
    }

    fn join(&mut self, peer: Peer) {
        if self.leaf_of.contains_key(&peer.id) {
            return;
        }
        let point = self.space.point(&peer.id);
        let mut at = 0;
        while let Some(halves) = self.parts[at].halves {
            at = if self.parts[halves[0]].zone.contains(&point) { halves[0] } else { halves[1] };
        }
        if self.uniform {
            let depth = self.parts[at].zone.depth();
            let larger = self
                .find_neighbours(at)
                .into_iter()
                .filter(|&n| self.parts[n].zone.depth() < depth)
                .min_by_key(|&n| (self.parts[n].zone.depth(), self.parts[n].owner.map(|p| p.id)));
            at = larger.unwrap_or(at);
        }
        if self.parts[at].zone.depth() >= self.space.max_depth() {
            return;
        }
        let Some((lower, upper)) = self.parts[at].zone.split() else { return };
        let (kept, given) = if lower.contains(&point) { (upper, lower) } else { (lower, upper) };
        let owner = self.parts[at].owner.take();
        let (k, g) = (self.parts.len(), self.parts.len() + 1);
        self.parts.push(Part { zone: kept, owner, halves: None });
        self.parts.push(Part { zone: given, owner: Some(peer), halves: None });
        self.parts[at].halves = Some([k, g]);
        if let Some(owner) = owner {
            self.leaf_of.insert(owner.id, k);
        }
        self.leaf_of.insert(peer.id, g);
    }

    /// The leaves abutting `leaf`. A part can hold a leaf that abuts it only
    /// if the part itself abuts it or contains it, so the descent skips
    /// every other part.
    fn find_neighbours(&self, leaf: usize) -> Vec<usize> {
        let target = self.space.extent(&self.parts[leaf].zone);
        let mut found = Vec::new();
        let mut stack = vec![0];
        while let Some(at) = stack.pop() {
            let part = &self.parts[at];
            let abuts = self.space.extents_abut(&self.space.extent(&part.zone), &target);
            match part.halves {
                None if abuts => found.push(at),
                None => {}
                Some(halves) if abuts || part.zone.contains_zone(&self.parts[leaf].zone) => stack.extend(halves),
                Some(_) => {}
            }
        }
        found.sort_unstable();
        found
    }

    fn owner(&self, part: usize) -> Option<Owner> {
        let p = &self.parts[part];
        p.owner.map(|peer| Owner { peer, zones: vec![p.zone] })
    }

    /// The zone `id` owns, if it got one.
    pub(crate) fn zone_of(&self, id: &Id) -> Option<Zone> {
        self.leaf_of.get(id).map(|&leaf| self.parts[leaf].zone)
    }

    /// The neighbours of the node `id`, each with its own neighbours.
    pub(crate) fn neighbours_of(&self, id: &Id) -> Vec<(Owner, Vec<Owner>)> {
        let around = |leaf: &usize| self.neighbours.get(*leaf).map_or(&[][..], Vec::as_slice);
        let Some(leaf) = self.leaf_of.get(id) else { return Vec::new() };
        around(leaf)
            .iter()
            .filter_map(|n| Some((self.owner(*n)?, around(n).iter().filter_map(|m| self.owner(*m)).collect())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dht_core::{Address, Rng};

    fn partition(nodes: u32, dims: usize, uniform: bool) -> (Partition, Vec<Peer>) {
        let mut rng = Rng::new(u64::from(nodes));
        let peers: Vec<Peer> = (0..nodes).map(|i| Peer::new(rng.id(), Address::Memory(i))).collect();
        (Partition::build(&Directory::new(peers.clone()), Space::new(dims), uniform), peers)
    }

    #[test]
    fn the_zones_tile_the_space_and_neighbours_match_a_scan() {
        for (dims, uniform) in [(2, false), (2, true), (4, true)] {
            let (partition, peers) = partition(300, dims, uniform);
            let space = Space::new(dims);
            let zones: Vec<Zone> = peers.iter().map(|p| partition.zone_of(&p.id).unwrap()).collect();
            let volume: f64 = zones.iter().map(Zone::volume).sum();
            assert!((volume - 1.0).abs() < 1e-9, "zones cover the space once");
            for (i, a) in zones.iter().enumerate() {
                assert!(zones[i + 1..].iter().all(|b| !a.overlaps(b)), "zones do not overlap");
            }
            for (peer, zone) in peers.iter().zip(&zones) {
                let mut expected: Vec<Id> = peers
                    .iter()
                    .zip(&zones)
                    .filter(|(other, z)| other.id != peer.id && space.abuts(zone, z))
                    .map(|(other, _)| other.id)
                    .collect();
                let mut got: Vec<Id> = partition.neighbours_of(&peer.id).iter().map(|(o, _)| o.peer.id).collect();
                expected.sort();
                got.sort();
                assert_eq!(got, expected);
            }
        }
    }

    #[test]
    fn uniform_partitioning_evens_out_zone_depths() {
        let spread = |uniform| {
            let (partition, peers) = partition(2000, 2, uniform);
            let depths: Vec<u8> = peers.iter().map(|p| partition.zone_of(&p.id).unwrap().depth()).collect();
            depths.iter().max().unwrap() - depths.iter().min().unwrap()
        };
        assert!(spread(true) < spread(false), "uniform {} vs plain {}", spread(true), spread(false));
    }
}
