//! Where a routing table keeps its peers: each bucket entry holds a
//! four-byte slot instead of a 64-byte [`Peer`].
//!
//! A warm-started simulation hands every node the same sorted list of the
//! network's peers, and a slot below that list's length names an entry of
//! it: a million tables of some 300 contacts share one copy of each peer
//! instead of holding 300 million. Every other peer (all of them on a real
//! node, newcomers in a simulation) lives in the table's own storage, whose
//! slots are reused as entries leave, so it never holds more than the
//! table's contacts and replacements.

use dht_core::Peer;
use std::sync::Arc;

/// A peer's place in [`PeerSlots`].
pub(crate) type Slot = u32;

/// The peers a routing table refers to by [`Slot`].
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerSlots {
    /// Peers shared between tables, sorted by id (empty on a real node).
    shared: Arc<[Peer]>,
    /// This table's own peers, at slots from `shared.len()` on.
    own: Vec<Peer>,
    /// Slots of `own` no entry refers to any more.
    free: Vec<Slot>,
}

impl PeerSlots {
    /// Slots that name the entries of `shared` (sorted by id) where they can.
    pub(crate) fn sharing(shared: Arc<[Peer]>) -> PeerSlots {
        PeerSlots { shared, own: Vec::new(), free: Vec::new() }
    }

    /// The peer at `slot`.
    pub(crate) fn get(&self, slot: Slot) -> &Peer {
        let index = slot as usize;
        match index.checked_sub(self.shared.len()) {
            None => &self.shared[index],
            Some(own) => &self.own[own],
        }
    }

    /// A slot for `peer`: its entry in the shared list if it is there (same
    /// id and address), otherwise a place of the table's own that the caller
    /// gives back with [`PeerSlots::release`].
    pub(crate) fn insert(&mut self, peer: &Peer) -> Slot {
        if let Ok(index) = self.shared.binary_search_by(|p| p.id.cmp(&peer.id)) {
            if self.shared[index] == *peer {
                return index as Slot;
            }
        }
        if let Some(slot) = self.free.pop() {
            let own = slot as usize - self.shared.len();
            self.own[own] = *peer;
            return slot;
        }
        if self.own.len() == self.own.capacity() {
            // An eighth more at a time: a table's peers are most of a
            // simulated node's memory, and doubling would leave half idle.
            self.own.reserve_exact((self.own.len() / 8).max(16));
        }
        self.own.push(*peer);
        (self.shared.len() + self.own.len() - 1) as Slot
    }

    /// Gives back a slot no entry refers to any more.
    pub(crate) fn release(&mut self, slot: Slot) {
        if slot as usize >= self.shared.len() {
            self.free.push(slot);
        }
    }

    /// Peers held in the table's own storage.
    #[cfg(test)]
    pub(crate) fn own_len(&self) -> usize {
        self.own.len() - self.free.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dht_core::{Address, Rng};

    #[test]
    fn shared_peers_take_no_room_of_their_own_and_own_slots_are_reused() {
        let mut rng = Rng::new(4);
        let mut shared: Vec<Peer> = (0..100).map(|i| Peer::new(rng.id(), Address::Memory(i))).collect();
        shared.sort_by_key(|p| p.id);
        let mut slots = PeerSlots::sharing(shared.clone().into());
        for peer in &shared {
            let slot = slots.insert(peer);
            assert_eq!(slots.get(slot), peer);
        }
        assert_eq!(slots.own_len(), 0);
        // The same id at another address is not the shared peer.
        let moved = Peer::new(shared[3].id, Address::Memory(9_999));
        let stranger = Peer::new(rng.id(), Address::Memory(7));
        let (a, b) = (slots.insert(&moved), slots.insert(&stranger));
        assert_eq!((slots.get(a), slots.get(b)), (&moved, &stranger));
        assert_eq!(slots.own_len(), 2);
        slots.release(a);
        let again = Peer::new(rng.id(), Address::Memory(8));
        assert_eq!(slots.insert(&again), a, "a released slot is used again");
        assert_eq!((slots.get(a), slots.get(b)), (&again, &stranger));
        assert_eq!(slots.own_len(), 2);
    }
}
