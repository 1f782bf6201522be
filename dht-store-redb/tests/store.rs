//! The redb store against the store contract every `Store` meets, and what
//! only a persistent store must do: keep records, totals and expiry across
//! a reopen, and refuse a locked or damaged file with a typed error that
//! leaves the file as it was.
#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail loudly

use dht_core::{Id, PutOutcome, Quota, Record, Store, StoreError, Time};
use dht_store_redb::{OpenError, RedbStore};
use std::path::PathBuf;

fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("records.redb");
    (dir, path)
}

fn record(name: &str, version: u64, expires_at: Time) -> Record {
    Record::new(Id::hash(name.as_bytes()), name.as_bytes().to_vec(), version, expires_at)
}

#[test]
fn meets_the_store_contract() {
    let dirs = std::cell::RefCell::new(Vec::new());
    dht_testkit::store_suite::run_all(|quota| {
        let (dir, path) = scratch();
        let store = RedbStore::open(path, quota).expect("opens");
        dirs.borrow_mut().push(dir);
        store
    });
}

#[test]
fn records_totals_and_versions_survive_a_reopen() {
    let (_dir, path) = scratch();
    let keys: Vec<Record> = (0..100).map(|i| record(&format!("k{i}"), 1, Time::NEVER)).collect();
    let (len, bytes) = {
        let store = RedbStore::open(&path, Quota::default()).expect("opens");
        for r in &keys {
            assert_eq!(store.put(r.clone(), Time::ZERO), Ok(PutOutcome::Stored));
        }
        let newer = Record { version: 2, ..record("k0", 0, Time::NEVER) };
        assert_eq!(store.put(newer, Time::ZERO), Ok(PutOutcome::Stored));
        assert!(store.remove(&keys[99].key).is_some());
        (store.len(), store.bytes())
    };
    let store = RedbStore::open(&path, Quota::default()).expect("reopens");
    assert_eq!((store.len(), store.bytes()), (len, bytes));
    assert_eq!(store.len(), 99);
    assert_eq!(store.get(&keys[0].key, Time::ZERO).expect("kept").version, 2);
    assert_eq!(store.get(&keys[50].key, Time::ZERO), Some(keys[50].clone()));
    assert!(store.get(&keys[99].key, Time::ZERO).is_none());
    // The version rule holds against what was on disk.
    assert_eq!(store.put(keys[0].clone(), Time::ZERO), Ok(PutOutcome::Outdated));
}

#[test]
fn expiry_is_honoured_across_a_reopen() {
    let (_dir, path) = scratch();
    {
        let store = RedbStore::open(&path, Quota::default()).expect("opens");
        store.put(record("short", 1, Time(1_000)), Time(0)).unwrap();
        store.put(record("long", 1, Time(10_000)), Time(0)).unwrap();
    }
    let store = RedbStore::open(&path, Quota::default()).expect("reopens");
    assert!(store.get(&Id::hash(b"short"), Time(1_000)).is_none());
    assert!(store.get(&Id::hash(b"long"), Time(1_000)).is_some());
    assert_eq!(store.expire(Time(1_000)), 1);
    assert_eq!(store.keys(), vec![Id::hash(b"long")]);
}

/// Expiry follows the record held, not an older version's expiry: a
/// renewed record is not deleted when its first version was due.
#[test]
fn a_renewed_record_expires_when_its_new_version_does() {
    let (_dir, path) = scratch();
    let store = RedbStore::open(&path, Quota::default()).expect("opens");
    store.put(record("renewed", 1, Time(1_000)), Time(0)).unwrap();
    store.put(record("renewed", 2, Time(10_000)), Time(0)).unwrap();
    assert_eq!(store.expire(Time(2_000)), 0);
    assert_eq!(store.get(&Id::hash(b"renewed"), Time(2_000)).map(|r| r.version), Some(2));
    assert_eq!(store.expire(Time(10_000)), 1);
    assert!(store.is_empty());
}

#[test]
fn quotas_count_what_was_on_disk_before_the_reopen() {
    let (_dir, path) = scratch();
    let mut quota = Quota::default();
    quota.max_records = 3;
    {
        let store = RedbStore::open(&path, quota).expect("opens");
        for name in ["a", "b", "c"] {
            store.put(record(name, 1, Time::NEVER), Time::ZERO).unwrap();
        }
    }
    let store = RedbStore::open(&path, quota).expect("reopens");
    assert!(matches!(store.put(record("d", 1, Time::NEVER), Time::ZERO), Err(StoreError::Quota(_))));
    assert_eq!(store.len(), 3);
    assert!(store.get(&Id::hash(b"d"), Time::ZERO).is_none());
}

#[test]
fn a_file_in_use_is_refused_as_locked() {
    let (_dir, path) = scratch();
    let first = RedbStore::open(&path, Quota::default()).expect("opens");
    first.put(record("kept", 1, Time::NEVER), Time::ZERO).unwrap();
    let second = RedbStore::open(&path, Quota::default());
    assert!(matches!(second, Err(OpenError::Locked { .. })), "{second:?}");
    assert!(first.get(&Id::hash(b"kept"), Time::ZERO).is_some());
}

#[test]
fn a_file_of_garbage_is_refused_and_left_untouched() {
    let (_dir, path) = scratch();
    let garbage: Vec<u8> = (0..10_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let opened = RedbStore::open(&path, Quota::default());
    assert!(matches!(opened, Err(OpenError::Corrupt { .. } | OpenError::Io { .. })), "{opened:?}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage, "the file must not be reset");
}

#[test]
fn a_truncated_file_is_an_error_not_a_panic_or_a_reset() {
    let (_dir, path) = scratch();
    {
        let store = RedbStore::open(&path, Quota::default()).expect("opens");
        for i in 0..200 {
            store.put(record(&format!("k{i}"), 1, Time::NEVER), Time::ZERO).unwrap();
        }
    }
    let full = std::fs::read(&path).unwrap();
    for cut in [full.len() / 2, full.len() / 4, 600, 100] {
        std::fs::write(&path, &full[..cut]).unwrap();
        match RedbStore::open(&path, Quota::default()) {
            // A cut that kept every committed page may still open; then
            // nothing may be made up.
            Ok(store) => assert!(store.len() <= 200),
            Err(e) => assert!(matches!(e, OpenError::Corrupt { .. } | OpenError::Io { .. }), "{e:?}"),
        }
        assert!(std::fs::metadata(&path).unwrap().len() >= cut as u64);
    }
}

#[test]
fn an_error_message_names_the_file_and_what_to_do() {
    let (_dir, path) = scratch();
    let _first = RedbStore::open(&path, Quota::default()).expect("opens");
    let message = RedbStore::open(&path, Quota::default()).expect_err("locked").to_string();
    assert!(message.contains("records.redb") && message.contains("another"), "{message}");
}

#[test]
fn a_format_1_file_is_upgraded_with_its_records_kept() {
    let (_dir, path) = scratch();
    let key = Id::hash(b"old");
    {
        // A file as the previous format wrote it: records without an owner.
        let db = redb::Database::create(&path).expect("creates");
        let txn = db.begin_write().expect("txn");
        {
            let meta: redb::TableDefinition<&str, u32> = redb::TableDefinition::new("meta");
            txn.open_table(meta).expect("meta").insert("format", 1).expect("insert");
            let records: redb::TableDefinition<&[u8; 32], &[u8]> = redb::TableDefinition::new("records");
            let old = (key, bytes::Bytes::from_static(b"kept"), 7u64, Time::NEVER, false);
            let bytes = postcard::to_allocvec(&old).expect("encodes");
            txn.open_table(records).expect("records").insert(key.as_bytes(), bytes.as_slice()).expect("insert");
        }
        txn.commit().expect("commits");
    }
    let store = RedbStore::open(&path, Quota::default()).expect("upgrades");
    let record = store.get(&key, Time::ZERO).expect("kept");
    assert_eq!((&record.value[..], record.version, record.owner.clone()), (&b"kept"[..], 7, dht_core::Owner::Open));
    drop(store);
    // Upgraded once: it opens again as the current format.
    assert_eq!(RedbStore::open(&path, Quota::default()).expect("reopens").len(), 1);
}
