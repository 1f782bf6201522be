//! `MemoryStore`: the embedded default store, a concurrent hash map.

use super::{admit, Admission, PutOutcome, Quota, Store, StoreError, Wins};
use crate::{Id, IdBuildHasher, Record, Time};
use dashmap::DashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Records in memory, with expiry and quotas. Lost when the process ends.
#[derive(Debug)]
pub struct MemoryStore {
    records: DashMap<Id, Record, IdBuildHasher>,
    // Kept apart from the map: `DashMap::len` locks every shard, which would
    // deadlock while `put` holds one shard's entry.
    count: AtomicUsize,
    bytes: AtomicUsize,
    quota: Quota,
}

impl Default for MemoryStore {
    fn default() -> MemoryStore {
        MemoryStore::new(Quota::default())
    }
}

impl MemoryStore {
    /// An empty store with the given limits. Uses few shards: a simulated
    /// network holds one store per node, so a small empty store matters more
    /// than contention.
    pub fn new(quota: Quota) -> MemoryStore {
        MemoryStore {
            records: DashMap::with_hasher_and_shard_amount(IdBuildHasher::default(), 4),
            count: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            quota,
        }
    }

    /// The limits this store enforces.
    pub fn quota(&self) -> Quota {
        self.quota
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &Id, now: Time) -> Option<Record> {
        self.records.get(key).filter(|r| !r.is_expired(now)).map(|r| r.clone())
    }

    fn put_with(&self, record: Record, now: Time, wins: Wins<'_>) -> Result<PutOutcome, StoreError> {
        let new_size = record.stored_size();
        let mut entry = self.records.entry(record.key);
        let held = match &entry {
            dashmap::Entry::Occupied(held) => Some(held.get()),
            dashmap::Entry::Vacant(_) => None,
        };
        let (count, bytes) = (self.count.load(Ordering::Relaxed), self.bytes.load(Ordering::Relaxed));
        let replaced = match admit(&record, held, now, &self.quota, (count, bytes), wins)? {
            Admission::Keep(outcome) => return Ok(outcome),
            Admission::Write { replaced } => replaced,
        };
        match &mut entry {
            dashmap::Entry::Occupied(held) => {
                held.insert(record);
            }
            dashmap::Entry::Vacant(_) => {
                entry.insert(record);
                self.count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.bytes.fetch_add(new_size, Ordering::Relaxed);
        self.bytes.fetch_sub(replaced.unwrap_or(0), Ordering::Relaxed);
        Ok(PutOutcome::Stored)
    }

    fn remove(&self, key: &Id) -> Option<Record> {
        let (_, record) = self.records.remove(key)?;
        self.count.fetch_sub(1, Ordering::Relaxed);
        self.bytes.fetch_sub(record.stored_size(), Ordering::Relaxed);
        Some(record)
    }

    fn keys(&self) -> Vec<Id> {
        let mut keys: Vec<Id> = self.records.iter().map(|e| *e.key()).collect();
        keys.sort_unstable();
        keys
    }

    fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    fn expire(&self, now: Time) -> usize {
        let expired: Vec<Id> = self.records.iter().filter(|e| e.value().is_expired(now)).map(|e| *e.key()).collect();
        expired.iter().filter(|k| self.remove(k).is_some()).count()
    }
}
