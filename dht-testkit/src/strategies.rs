//! proptest strategies for the core types, for overlay authors' own
//! property tests.

use dht_core::{Address, Id, Peer, Record, Time, MAX_VALUE_BYTES};
use proptest::prelude::*;

/// Any id.
pub fn id() -> impl Strategy<Value = Id> {
    any::<[u8; 32]>().prop_map(Id)
}

/// A key derived from an arbitrary user key name.
pub fn key() -> impl Strategy<Value = Id> {
    proptest::collection::vec(any::<u8>(), 0..64).prop_map(|name| Id::hash(&name))
}

/// A peer with an in-memory address.
pub fn peer() -> impl Strategy<Value = Peer> {
    (id(), any::<u32>()).prop_map(|(id, slot)| Peer::new(id, Address::Memory(slot)))
}

/// A valid record: a value within the size limit (biased to small), or a
/// tombstone; any version; an expiry in the future of `Time::ZERO`.
pub fn record() -> impl Strategy<Value = Record> {
    (key(), value(), any::<u64>(), 1u64..u64::MAX, any::<bool>()).prop_map(|(key, value, version, expiry, dead)| {
        if dead {
            Record::tombstone(key, version, Time(expiry))
        } else {
            Record::new(key, value, version, Time(expiry))
        }
    })
}

/// A value: mostly short, sometimes up to the size limit.
pub fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        9 => proptest::collection::vec(any::<u8>(), 0..256),
        1 => proptest::collection::vec(any::<u8>(), 0..=MAX_VALUE_BYTES),
    ]
}
