//! The contract every [`Store`] must meet, as plain functions that panic on
//! a violation. `MemoryStore` runs it here; a persistent store runs the same
//! functions in its own tests.

use dht_core::{Id, PutOutcome, Quota, Record, Store, StoreError, Time};

/// Runs every check against stores made by `make` (a fresh store per
/// check, with the given quota).
pub fn run_all<S: Store>(make: impl Fn(Quota) -> S) {
    newest_version_wins(&make(Quota::default()));
    expired_records_are_hidden_and_dropped(&make(Quota::default()));
    quotas_refuse_and_change_nothing(&make);
    keys_are_sorted_and_remove_works(&make(Quota::default()));
}

/// A newer version replaces an older one, never the other way round, and
/// an equal one changes nothing.
pub fn newest_version_wins(store: &impl Store) {
    let key = Id::hash(b"k");
    let v1 = Record::new(key, &b"one"[..], 1, Time::NEVER);
    let v2 = Record::new(key, &b"two"[..], 2, Time::NEVER);
    assert_eq!(store.put(v1.clone(), Time::ZERO), Ok(PutOutcome::Stored));
    assert_eq!(store.put(v1.clone(), Time::ZERO), Ok(PutOutcome::Unchanged));
    assert_eq!(store.put(v2.clone(), Time::ZERO), Ok(PutOutcome::Stored));
    assert_eq!(store.put(v1, Time::ZERO), Ok(PutOutcome::Outdated));
    assert_eq!(store.get(&key, Time::ZERO), Some(v2));
    let dead = Record::tombstone(key, 3, Time::NEVER);
    assert_eq!(store.put(dead.clone(), Time::ZERO), Ok(PutOutcome::Stored));
    assert_eq!(store.get(&key, Time::ZERO), Some(dead));
}

/// Expired records are not returned, are refused on arrival, and `expire` drops them.
pub fn expired_records_are_hidden_and_dropped(store: &impl Store) {
    let key = Id::hash(b"short-lived");
    assert_eq!(store.put(Record::new(key, &b"x"[..], 1, Time(100)), Time(0)), Ok(PutOutcome::Stored));
    assert!(store.get(&key, Time(99)).is_some());
    assert!(store.get(&key, Time(100)).is_none());
    assert_eq!(store.put(Record::new(Id::hash(b"late"), &b"x"[..], 1, Time(5)), Time(6)), Err(StoreError::Expired));
    assert_eq!(store.expire(Time(100)), 1);
    assert_eq!(store.len(), 0);
    assert_eq!(store.bytes(), 0);
}

fn quota(max_records: usize, max_bytes: usize, max_value_bytes: usize) -> Quota {
    let mut quota = Quota::default();
    quota.max_records = max_records;
    quota.max_bytes = max_bytes;
    quota.max_value_bytes = max_value_bytes;
    quota
}

/// Over a quota a put is refused with a typed error and nothing changes.
pub fn quotas_refuse_and_change_nothing<S: Store>(make: impl Fn(Quota) -> S) {
    let store = make(quota(2, 1000, 100));
    let a = Record::new(Id::hash(b"a"), vec![0u8; 10], 1, Time::NEVER);
    let b = Record::new(Id::hash(b"b"), vec![0u8; 10], 1, Time::NEVER);
    let c = Record::new(Id::hash(b"c"), vec![0u8; 10], 1, Time::NEVER);
    assert_eq!(store.put(a.clone(), Time::ZERO), Ok(PutOutcome::Stored));
    assert_eq!(store.put(b, Time::ZERO), Ok(PutOutcome::Stored));
    let bytes = store.bytes();
    assert!(matches!(store.put(c, Time::ZERO), Err(StoreError::Quota(_))));
    let too_big = Record::new(Id::hash(b"d"), vec![0u8; 101], 1, Time::NEVER);
    assert!(matches!(store.put(too_big, Time::ZERO), Err(StoreError::Record(_))));
    assert_eq!((store.len(), store.bytes()), (2, bytes));
    // Replacing a held record does not count as a new one.
    let a2 = Record::new(a.key, vec![0u8; 20], 2, Time::NEVER);
    assert_eq!(store.put(a2, Time::ZERO), Ok(PutOutcome::Stored));
    assert_eq!(store.len(), 2);
    assert_eq!(store.bytes(), bytes + 10);
    let store = make(quota(10, 100, 100));
    assert!(matches!(
        store.put(Record::new(Id::hash(b"e"), vec![0u8; 50], 1, Time::NEVER), Time::ZERO),
        Err(StoreError::Quota(_))
    ));
    assert!(store.is_empty());
}

/// `keys` lists every key in ascending order; `remove` deletes and returns.
pub fn keys_are_sorted_and_remove_works(store: &impl Store) {
    for i in 0..50u32 {
        let record = Record::new(Id::hash(&i.to_be_bytes()), vec![1u8; 10], 1, Time::NEVER);
        assert_eq!(store.put(record, Time::ZERO), Ok(PutOutcome::Stored));
    }
    let keys = store.keys();
    assert_eq!(keys.len(), 50);
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
    let first = keys[0];
    let len = store.len();
    assert!(store.remove(&first).is_some());
    assert!(store.remove(&first).is_none());
    assert_eq!(store.len(), len - 1);
    assert!(store.get(&first, Time::ZERO).is_none());
}
