//! Peers that stopped answering, remembered for a while and asked again
//! now and then.
//!
//! An overlay drops a peer that fails from its routing state. After a
//! partition, each side has dropped the other, and nothing would make them
//! meet again: every lookup stays on its own side. So the node keeps the
//! peers it saw fail, pings a few of them every repair pass, and an answer
//! hands the peer back to the overlay (as any answer does) — the two sides
//! find each other and repair moves records to where they now belong.

use crate::{Id, IdBuildHasher, Peer, Time};
use std::collections::HashMap;
use std::time::Duration;

/// Most failed peers remembered.
const REMEMBERED: usize = 64;
/// Failed peers pinged per repair pass.
const PROBED_PER_PASS: usize = 4;
/// How long a failed peer is remembered.
const FORGET_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug, Default)]
pub(super) struct LostPeers {
    /// By id: the peer, when it last failed, when it was last pinged.
    /// Hashed, not ordered: [`LostPeers::heard`] runs for every message the
    /// node sends or answers, and every choice below breaks ties by id.
    peers: HashMap<Id, (Peer, Time, Time), IdBuildHasher>,
}

impl LostPeers {
    /// `peer` failed to answer at `now`.
    pub(super) fn failed(&mut self, peer: Peer, now: Time) {
        let entry = self.peers.entry(peer.id).or_insert((peer, now, Time::ZERO));
        entry.1 = now;
        if self.peers.len() > REMEMBERED {
            // Forget the one that failed longest ago.
            if let Some((_, oldest)) = self.peers.iter().map(|(id, (_, failed, _))| (*failed, *id)).min() {
                self.peers.remove(&oldest);
            }
        }
    }

    /// `peer` answered or asked something: it is not lost.
    pub(super) fn heard(&mut self, peer: &Id) {
        if !self.peers.is_empty() {
            self.peers.remove(peer);
        }
    }

    /// Whether `peer` failed to answer and has not been heard from since.
    pub(super) fn contains(&self, peer: &Id) -> bool {
        !self.peers.is_empty() && self.peers.contains_key(peer)
    }

    /// The peers to ping now: the few pinged longest ago. Forgets those
    /// lost for too long.
    pub(super) fn due_for_probe(&mut self, now: Time) -> Vec<Peer> {
        self.peers.retain(|_, (_, failed, _)| now.since(*failed) < FORGET_AFTER);
        let mut due: Vec<(Time, Id)> = self.peers.iter().map(|(id, (_, _, probed))| (*probed, *id)).collect();
        due.sort_unstable();
        due.into_iter()
            .take(PROBED_PER_PASS)
            .filter_map(|(_, id)| {
                let entry = self.peers.get_mut(&id)?;
                entry.2 = now;
                Some(entry.0)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Address;

    fn peer(i: u32) -> Peer {
        Peer::new(Id::hash(&i.to_be_bytes()), Address::Memory(i))
    }

    #[test]
    fn probes_a_few_at_a_time_round_robin_and_forgets_the_answering() {
        let mut lost = LostPeers::default();
        for i in 0..6 {
            lost.failed(peer(i), Time(1_000));
        }
        let first = lost.due_for_probe(Time(2_000));
        assert_eq!(first.len(), PROBED_PER_PASS);
        let second = lost.due_for_probe(Time(3_000));
        let never_pinged: Vec<Peer> = (0..6).map(peer).filter(|p| !first.contains(p)).collect();
        assert_eq!(never_pinged.len(), 2);
        assert!(never_pinged.iter().all(|p| second.contains(p)), "the least recently pinged go first");
        lost.heard(&peer(0).id);
        lost.heard(&peer(1).id);
        let all: Vec<Peer> = (0..3).flat_map(|k| lost.due_for_probe(Time(4_000 + k))).collect();
        assert!(!all.contains(&peer(0)) && !all.contains(&peer(1)));
    }

    #[test]
    fn memory_is_bounded_in_count_and_time() {
        let mut lost = LostPeers::default();
        for i in 0..(REMEMBERED as u32 + 10) {
            lost.failed(peer(i), Time(u64::from(i)));
        }
        assert_eq!(lost.peers.len(), REMEMBERED);
        assert!(!lost.peers.contains_key(&peer(0).id), "the oldest failure is forgotten first");
        let later = Time(u64::try_from(FORGET_AFTER.as_millis()).unwrap_or(u64::MAX) + 1_000);
        assert!(lost.due_for_probe(later).is_empty());
    }
}
