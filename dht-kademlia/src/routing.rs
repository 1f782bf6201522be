//! The routing table: k-buckets by XOR distance, each in least-recently-seen
//! order with a replacement cache.
//!
//! A live old contact is never evicted for a newcomer: the newcomer waits in
//! the bucket's replacement cache, and takes a place only when a contact has
//! failed enough requests in a row to be stale.
//!
//! Peers from one public network (IPv4 /24, IPv6 /48; see
//! [`dht_core::Address::net_prefix`]) are capped per bucket and per table,
//! so a host minting ids cannot fill the table.

use crate::slots::{PeerSlots, Slot};
use dht_core::{nearest_first, prefix_has_room, Distance, Id, Peer, Time};
use std::sync::Arc;

/// One entry of a bucket, as [`RoutingTable::contacts`] shows it.
#[derive(Debug, Clone, Copy)]
pub struct Contact {
    /// The peer.
    pub peer: Peer,
    /// Requests it failed in a row.
    pub failures: u32,
    /// When it was last heard from.
    pub last_seen: Time,
}

/// A [`Contact`] as a bucket stores it: 16 bytes, the peer by slot.
#[derive(Debug, Clone, Copy)]
struct Entry {
    slot: Slot,
    failures: u32,
    last_seen: Time,
}

#[derive(Debug, Default, Clone)]
struct Bucket {
    /// Least recently seen first.
    contacts: Vec<Entry>,
    /// Newcomers waiting for a place, most recent last.
    replacements: Vec<Slot>,
    last_lookup: Time,
}

/// k-buckets around a local id. Bucket `b` holds peers whose XOR distance
/// has `b` leading zero bits, so bucket 0 covers half the id space and high
/// buckets the close neighbourhood. Buckets are allocated only up to the
/// deepest one used, and hold their peers by four-byte slot, which
/// keeps a table small in a million-node simulation.
#[derive(Debug, Clone)]
pub struct RoutingTable {
    local: Id,
    k: usize,
    buckets: Vec<Bucket>,
    slots: PeerSlots,
    /// Most peers of one network per bucket (contacts and replacements
    /// together) and per table (contacts).
    prefix_caps: (usize, usize),
    /// Bumped whenever the live contacts change: one added, dropped, found
    /// failing, or heard from again after failing.
    changes: u64,
}

/// Whether a table changed when a peer was seen.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// Already known; moved to most recently seen.
    Refreshed,
    /// Added to a bucket with room.
    Added,
    /// The bucket is full: the peer waits in the replacement cache.
    Waiting,
    /// The local id itself; ignored.
    Ignored,
    /// Its network already has its share of the bucket or the table.
    Refused,
}

impl RoutingTable {
    /// An empty table for `local` with buckets of `k`.
    pub fn new(local: Id, k: usize) -> RoutingTable {
        RoutingTable {
            local,
            k: k.max(1),
            buckets: Vec::new(),
            slots: PeerSlots::default(),
            prefix_caps: (usize::MAX, usize::MAX),
            changes: 0,
        }
    }

    /// Caps the peers one network may hold: `per_bucket` in a bucket,
    /// `per_table` in the whole table.
    pub fn with_prefix_caps(mut self, per_bucket: usize, per_table: usize) -> RoutingTable {
        self.prefix_caps = (per_bucket, per_table);
        self
    }

    /// Refers to the peers of `shared` (sorted by id, as a simulator's
    /// directory is) in place of copies of its own: every table of a
    /// warm-started simulation shares one list. Entries already held move.
    pub(crate) fn share_peers(&mut self, shared: Arc<[Peer]>) {
        let old = std::mem::replace(&mut self.slots, PeerSlots::sharing(shared));
        let slots = &mut self.slots;
        for bucket in &mut self.buckets {
            for slot in bucket.contacts.iter_mut().map(|e| &mut e.slot).chain(&mut bucket.replacements) {
                *slot = slots.insert(old.get(*slot));
            }
        }
    }

    fn peer(&self, slot: Slot) -> &Peer {
        self.slots.get(slot)
    }

    fn contact(&self, entry: &Entry) -> Contact {
        Contact { peer: *self.peer(entry.slot), failures: entry.failures, last_seen: entry.last_seen }
    }

    fn prefix_has_room(&self, index: usize, peer: &Peer) -> bool {
        let (per_bucket, per_table) = self.prefix_caps;
        let Some(bucket) = self.buckets.get(index) else { return true };
        let in_bucket = bucket.contacts.iter().map(|e| e.slot).chain(bucket.replacements.iter().copied());
        prefix_has_room(in_bucket.map(|s| self.peer(s)), peer, per_bucket)
            && prefix_has_room(self.entries().map(|e| self.peer(e.slot)), peer, per_table)
    }

    /// The bucket index for `id`, or `None` for the local id.
    pub fn bucket_of(&self, id: &Id) -> Option<usize> {
        let lz = self.local.distance(id).leading_zeros();
        (lz < dht_core::ID_BITS).then_some(lz)
    }

    /// Whether `id` is a contact or waits in a replacement cache.
    pub fn knows(&self, id: &Id) -> bool {
        let Some(index) = self.bucket_of(id) else { return false };
        self.buckets.get(index).is_some_and(|b| {
            b.contacts.iter().any(|e| self.peer(e.slot).id == *id)
                || b.replacements.iter().any(|&s| self.peer(s).id == *id)
        })
    }

    /// Whether `peer`'s bucket has a free place, as a contact or in the
    /// replacement cache.
    pub fn has_room_for(&self, peer: &Peer) -> bool {
        let Some(index) = self.bucket_of(&peer.id) else { return false };
        self.buckets.get(index).is_none_or(|b| b.contacts.len() < self.k || b.replacements.len() < self.k)
    }

    /// Records that `peer` was heard from.
    pub fn seen(&mut self, peer: &Peer, now: Time) -> Seen {
        let Some(index) = self.bucket_of(&peer.id) else { return Seen::Ignored };
        if self.buckets.len() <= index {
            self.buckets.resize_with(index + 1, Bucket::default);
        }
        let k = self.k;
        let Self { buckets, slots, changes, .. } = self;
        let bucket = &mut buckets[index];
        if let Some(pos) = bucket.contacts.iter().position(|e| slots.get(e.slot).id == peer.id) {
            let mut entry = bucket.contacts.remove(pos);
            *changes += u64::from(entry.failures > 0);
            entry.failures = 0;
            entry.last_seen = now;
            if slots.get(entry.slot) != peer {
                slots.release(entry.slot);
                entry.slot = slots.insert(peer);
            }
            bucket.contacts.push(entry);
            return Seen::Refreshed;
        }
        if peer.addr.net_prefix().is_some() && !self.prefix_has_room(index, peer) {
            return Seen::Refused;
        }
        let Self { buckets, slots, changes, .. } = self;
        let bucket = &mut buckets[index];
        release_where(&mut bucket.replacements, slots, |p| p.id == peer.id);
        let slot = slots.insert(peer);
        if bucket.contacts.len() < k {
            push_within(&mut bucket.contacts, Entry { slot, failures: 0, last_seen: now }, k);
            *changes += 1;
            return Seen::Added;
        }
        if bucket.replacements.len() >= k {
            slots.release(bucket.replacements.remove(0));
        }
        push_within(&mut bucket.replacements, slot, k);
        Seen::Waiting
    }

    /// Records a failed request to `peer`; drops it once stale
    /// (`stale_after` failures, or `stale_with_replacement` when a newcomer
    /// waits) and promotes the most recent replacement. Returns whether the
    /// peer was dropped.
    pub fn failed(&mut self, peer: &Peer, stale_after: u32, stale_with_replacement: u32, now: Time) -> bool {
        let Some(index) = self.bucket_of(&peer.id) else { return false };
        let Self { buckets, slots, changes, .. } = self;
        let Some(bucket) = buckets.get_mut(index) else { return false };
        // By id and address: a request to an honest id at a wrong address
        // (named by a liar) fails without costing the real contact its place.
        release_where(&mut bucket.replacements, slots, |p| p == peer);
        let Some(pos) = bucket.contacts.iter().position(|e| slots.get(e.slot) == peer) else { return false };
        let entry = &mut bucket.contacts[pos];
        entry.failures += 1;
        let failures = entry.failures;
        *changes += 1;
        let limit = if bucket.replacements.is_empty() { stale_after } else { stale_with_replacement };
        if failures < limit {
            return false;
        }
        slots.release(bucket.contacts.remove(pos).slot);
        if let Some(slot) = bucket.replacements.pop() {
            bucket.contacts.push(Entry { slot, failures: 0, last_seen: now });
        }
        true
    }

    /// The `n` known peers closest to `target` by XOR, closest first,
    /// skipping contacts whose last request failed when `live_only`.
    ///
    /// Visits only the buckets that can hold them. With `b` the bucket the
    /// target falls in: peers in bucket `b` are closest to it, then every
    /// peer in a deeper bucket (all at the same leading-bit distance), then
    /// buckets `b-1`, `b-2`, … each wholly farther than the one before.
    pub fn closest(&self, target: &Id, n: usize, live_only: bool) -> Vec<Peer> {
        let b = self.bucket_of(target).unwrap_or(self.buckets.len());
        let entries = |buckets: &[Bucket]| -> Vec<(Distance, Peer)> {
            buckets
                .iter()
                .flat_map(|bk| bk.contacts.iter())
                .filter(|e| !live_only || e.failures == 0)
                .map(|e| *self.peer(e.slot))
                .map(|p| (p.id.distance(target), p))
                .collect()
        };
        let split = b.min(self.buckets.len());
        let own = self.buckets.get(b).map_or(&[][..], std::slice::from_ref);
        let mut out = entries(own);
        if out.len() < n {
            out.extend(entries(self.buckets.get(b + 1..).unwrap_or(&[])));
        }
        nearest_first(&mut out, n, |a, b| a.0.cmp(&b.0));
        for bucket in self.buckets[..split].iter().rev() {
            if out.len() >= n {
                break;
            }
            let mut chunk = entries(std::slice::from_ref(bucket));
            nearest_first(&mut chunk, n - out.len(), |a, b| a.0.cmp(&b.0));
            out.extend(chunk);
        }
        out.into_iter().map(|(_, p)| p).collect()
    }

    /// A number that moves whenever the live contacts change.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// Every contact.
    pub fn contacts(&self) -> impl Iterator<Item = Contact> + '_ {
        self.entries().map(|e| self.contact(e))
    }

    fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.buckets.iter().flat_map(|b| b.contacts.iter())
    }

    /// For each allocated bucket: when it was last looked up, and its
    /// least recently seen contact if that one is due a ping before a
    /// newcomer may replace it (a replacement waits, or it failed).
    pub(crate) fn bucket_heads(&self) -> impl Iterator<Item = (Time, Option<Contact>)> + '_ {
        self.buckets.iter().map(|b| {
            let head = b.contacts.first().filter(|h| !b.replacements.is_empty() || h.failures > 0);
            (b.last_lookup, head.map(|h| self.contact(h)))
        })
    }

    /// Number of contacts.
    pub fn len(&self) -> usize {
        self.buckets.iter().map(|b| b.contacts.len()).sum()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fill of each allocated bucket: (contacts, waiting replacements).
    pub fn bucket_fill(&self) -> Vec<(usize, usize)> {
        self.buckets.iter().map(|b| (b.contacts.len(), b.replacements.len())).collect()
    }

    /// Notes a lookup towards `target`, which counts as refreshing its bucket.
    pub fn touch(&mut self, target: &Id, now: Time) {
        if let Some(index) = self.bucket_of(target) {
            if index < self.buckets.len() {
                self.buckets[index].last_lookup = now;
            }
        }
    }

    /// Notes a lookup in every bucket.
    pub fn touch_all(&mut self, now: Time) {
        for bucket in &mut self.buckets {
            bucket.last_lookup = now;
        }
    }

    /// The lowest and highest ids bucket `index` can hold: those that
    /// share the first `index` bits with the local id and differ in the next.
    pub fn bucket_span(&self, index: usize) -> (Id, Id) {
        let mut inside = self.local;
        if index < dht_core::ID_BITS {
            inside.0[index / 8] ^= 0x80 >> (index % 8);
        }
        span(&inside, index + 1)
    }

    /// The lowest and highest ids that share the first `bits` bits with
    /// the local id: every bucket from `bits` on, and the local id.
    pub fn deeper_span(&self, bits: usize) -> (Id, Id) {
        span(&self.local, bits)
    }

    /// A random-looking id in bucket `index`, derived from `seed` (callers
    /// pass seeded randomness).
    pub fn id_in_bucket(&self, index: usize, seed: &Id) -> Id {
        let mut distance = seed.0;
        for bit in 0..index.min(dht_core::ID_BITS) {
            distance[bit / 8] &= !(0x80 >> (bit % 8));
        }
        if index < dht_core::ID_BITS {
            distance[index / 8] |= 0x80 >> (index % 8);
        }
        let mut out = self.local.0;
        for (o, d) in out.iter_mut().zip(distance) {
            *o ^= d;
        }
        Id(out)
    }
}

/// Removes the slots of `list` whose peer matches, giving them back.
fn release_where(list: &mut Vec<Slot>, slots: &mut PeerSlots, matches: impl Fn(&Peer) -> bool) {
    list.retain(|&slot| {
        let gone = matches(slots.get(slot));
        if gone {
            slots.release(slot);
        }
        !gone
    });
}

/// Pushes onto a list that never holds more than `k`, growing its room by
/// doubling but never past `k`: tables are most of a simulated node's
/// memory, and plain doubling would give a bucket of 20 room for 32.
fn push_within<T>(list: &mut Vec<T>, item: T, k: usize) {
    if list.len() == list.capacity() {
        list.reserve_exact(list.len().max(2).min(k.saturating_sub(list.len()).max(1)));
    }
    list.push(item);
}

/// The lowest and highest ids sharing the first `bits` bits with `id`.
fn span(id: &Id, bits: usize) -> (Id, Id) {
    let (mut low, mut high) = (*id, *id);
    for bit in bits.min(dht_core::ID_BITS)..dht_core::ID_BITS {
        low.0[bit / 8] &= !(0x80 >> (bit % 8));
        high.0[bit / 8] |= 0x80 >> (bit % 8);
    }
    (low, high)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dht_core::{Address, Rng};

    fn peer(rng: &mut Rng) -> Peer {
        Peer::new(rng.id(), Address::Memory(rng.below(1000) as u32))
    }

    /// A liar names an honest contact's id at an address where nobody
    /// answers: the failures there do not evict the real contact.
    #[test]
    fn failures_at_another_address_leave_the_contact_alone() {
        let mut rng = Rng::new(5);
        let mut table = RoutingTable::new(Id::ZERO, 4);
        let honest = peer(&mut rng);
        table.seen(&honest, Time(1));
        let bogus = Peer::new(honest.id, Address::Memory(5_000));
        for t in 2..20 {
            assert!(!table.failed(&bogus, 2, 1, Time(t)));
        }
        assert!(table.contacts().any(|c| c.peer == honest));
        assert!(!table.failed(&honest, 2, 1, Time(30)));
        assert!(table.failed(&honest, 2, 1, Time(31)), "its own failures still count");
    }

    #[test]
    fn a_live_old_contact_is_never_evicted_for_a_newcomer() {
        let mut rng = Rng::new(3);
        let local = Id::ZERO;
        let mut table = RoutingTable::new(local, 2);
        // Ids with top bit set all land in bucket 0.
        let mut in_bucket0 = || {
            let mut p = peer(&mut rng);
            p.id.0[0] |= 0x80;
            p
        };
        let (a, b, c) = (in_bucket0(), in_bucket0(), in_bucket0());
        assert_eq!(table.seen(&a, Time(1)), Seen::Added);
        assert_eq!(table.seen(&b, Time(2)), Seen::Added);
        assert_eq!(table.seen(&c, Time(3)), Seen::Waiting);
        let ids: Vec<Id> = table.contacts().map(|x| x.peer.id).collect();
        assert_eq!(ids, vec![a.id, b.id]);
        // One failure of `a` with a replacement waiting is not yet enough.
        assert!(!table.failed(&a, 5, 2, Time(4)));
        // Seeing `a` again resets its failures and moves it to the tail.
        table.seen(&a, Time(5));
        assert!(!table.failed(&a, 5, 2, Time(6)));
        assert!(table.failed(&a, 5, 2, Time(7)));
        let ids: Vec<Id> = table.contacts().map(|x| x.peer.id).collect();
        assert_eq!(ids, vec![b.id, c.id], "the waiting newcomer takes the stale contact's place");
    }

    #[test]
    fn closest_matches_a_full_sort_for_every_target() {
        let mut rng = Rng::new(9);
        let local = rng.id();
        let mut table = RoutingTable::new(local, 20);
        let peers: Vec<Peer> = (0..3000).map(|_| peer(&mut rng)).collect();
        for p in &peers {
            table.seen(p, Time(0));
        }
        for p in peers.iter().step_by(7) {
            table.failed(p, 5, 5, Time(1));
        }
        let mut targets: Vec<Id> = (0..200).map(|_| rng.id()).collect();
        targets.push(local);
        targets.extend(table.contacts().map(|c| c.peer.id).take(50).collect::<Vec<_>>());
        for target in targets {
            for (n, live_only) in [(1, true), (5, false), (20, true), (60, false)] {
                let got = table.closest(&target, n, live_only);
                let mut known: Vec<Peer> =
                    table.contacts().filter(|c| !live_only || c.failures == 0).map(|c| c.peer).collect();
                known.sort_by_key(|p| p.id.distance(&target));
                known.truncate(n);
                assert_eq!(got, known, "target {target:?}, n {n}");
            }
        }
    }

    /// Slots are an encoding, not a behaviour: a table referring to a shared
    /// list answers exactly as one holding copies, through additions,
    /// moves to new addresses, failures, evictions and replacements.
    #[test]
    fn a_table_sharing_its_peers_answers_as_one_that_copies_them() {
        let mut rng = Rng::new(12);
        let local = rng.id();
        let mut listed: Vec<Peer> = (0..400).map(|_| peer(&mut rng)).collect();
        listed.sort_by_key(|p| p.id);
        let strangers: Vec<Peer> = (0..400).map(|_| peer(&mut rng)).collect();
        let mut copying = RoutingTable::new(local, 3);
        let mut sharing = RoutingTable::new(local, 3);
        sharing.seen(&strangers[0], Time(0));
        sharing.share_peers(listed.clone().into());
        copying.seen(&strangers[0], Time(0));
        for t in 1..4000u64 {
            let pick = rng.below(800) as usize;
            let mut p = if pick < 400 { listed[pick] } else { strangers[pick - 400] };
            if rng.below(10) == 0 {
                p.addr = Address::Memory(2_000 + rng.below(5) as u32);
            }
            if rng.below(3) == 0 {
                assert_eq!(copying.failed(&p, 2, 1, Time(t)), sharing.failed(&p, 2, 1, Time(t)));
            } else {
                assert_eq!(copying.seen(&p, Time(t)), sharing.seen(&p, Time(t)));
            }
            let target = rng.id();
            assert_eq!(copying.closest(&target, 8, t % 2 == 0), sharing.closest(&target, 8, t % 2 == 0));
        }
        let peers = |t: &RoutingTable| t.contacts().map(|c| (c.peer, c.failures, c.last_seen)).collect::<Vec<_>>();
        assert_eq!(peers(&copying), peers(&sharing));
        assert_eq!(copying.bucket_fill(), sharing.bucket_fill());
        let held: Vec<Peer> = sharing
            .buckets
            .iter()
            .flat_map(|b| b.contacts.iter().map(|e| e.slot).chain(b.replacements.iter().copied()))
            .map(|slot| *sharing.peer(slot))
            .collect();
        assert_eq!(copying.slots.own_len(), held.len(), "a slot is given back as its entry leaves");
        let unlisted = held.iter().filter(|p| !listed.contains(p)).count();
        assert!(unlisted < held.len());
        assert_eq!(sharing.slots.own_len(), unlisted, "listed peers take no room of their own");
    }

    #[test]
    fn a_bucket_span_holds_exactly_the_ids_of_the_bucket() {
        let mut rng = Rng::new(6);
        let table = RoutingTable::new(rng.id(), 20);
        for index in [0usize, 1, 9, 200, 255] {
            let (low, high) = table.bucket_span(index);
            assert_eq!(table.bucket_of(&low), Some(index));
            assert_eq!(table.bucket_of(&high), Some(index));
            let (deep_low, deep_high) = table.deeper_span(index + 1);
            assert!(deep_low <= table.local && table.local <= deep_high);
            assert!(high < deep_low || low > deep_high, "bucket {index} lies outside the deeper span");
            for _ in 0..50 {
                let id = table.id_in_bucket(index, &rng.id());
                assert!(low <= id && id <= high);
            }
        }
    }

    #[test]
    fn ids_in_a_bucket_fall_in_it() {
        let mut rng = Rng::new(5);
        let table = RoutingTable::new(rng.id(), 20);
        for index in [0usize, 1, 7, 8, 100, 255] {
            let id = table.id_in_bucket(index, &rng.id());
            assert_eq!(table.bucket_of(&id), Some(index));
        }
    }
}
