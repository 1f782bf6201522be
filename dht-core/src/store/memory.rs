//! `MemoryStore`: the embedded default store, a hash map behind a lock.

use super::{admit, Admission, PutOutcome, Quota, Store, StoreError, Wins};
use crate::{Id, IdBuildHasher, Record, Time};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Records in memory, with expiry and quotas. Lost when the process ends.
///
/// One node's task owns its store, so the lock is never contended; it is
/// there because [`Store`] takes `&self`. An empty store allocates nothing,
/// which matters when a simulation holds a million of them.
#[derive(Debug)]
pub struct MemoryStore {
    held: Mutex<Held>,
    quota: Quota,
}

#[derive(Debug, Default)]
struct Held {
    records: HashMap<Id, Record, IdBuildHasher>,
    /// Sum of [`Record::stored_size`] over `records`.
    bytes: usize,
}

impl Default for MemoryStore {
    fn default() -> MemoryStore {
        MemoryStore::new(Quota::default())
    }
}

impl MemoryStore {
    /// An empty store with the given limits.
    pub fn new(quota: Quota) -> MemoryStore {
        MemoryStore { held: Mutex::new(Held::default()), quota }
    }

    /// The limits this store enforces.
    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// The records, whatever a panic elsewhere left: every change below
    /// completes before the guard drops, so the map is never half-written.
    fn held(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store for MemoryStore {
    fn read(&self, key: &Id, now: Time) -> Result<Option<Record>, StoreError> {
        Ok(self.held().records.get(key).filter(|r| !r.is_expired(now)).cloned())
    }

    fn put_with(&self, record: Record, now: Time, wins: Wins<'_>) -> Result<PutOutcome, StoreError> {
        let mut held = self.held();
        let counts = (held.records.len(), held.bytes);
        let replaced = match admit(&record, held.records.get(&record.key), now, &self.quota, counts, wins)? {
            Admission::Keep(outcome) => return Ok(outcome),
            Admission::Write { replaced } => replaced,
        };
        held.bytes = held.bytes + record.stored_size() - replaced.unwrap_or(0);
        held.records.insert(record.key, record);
        Ok(PutOutcome::Stored)
    }

    fn remove(&self, key: &Id) -> Option<Record> {
        let mut held = self.held();
        let record = held.records.remove(key)?;
        held.bytes -= record.stored_size();
        Some(record)
    }

    fn keys(&self) -> Vec<Id> {
        let mut keys: Vec<Id> = self.held().records.keys().copied().collect();
        keys.sort_unstable();
        keys
    }

    fn len(&self) -> usize {
        self.held().records.len()
    }

    fn bytes(&self) -> usize {
        self.held().bytes
    }

    fn expire(&self, now: Time) -> usize {
        let mut held = self.held();
        let before = held.records.len();
        let mut freed = 0;
        held.records.retain(|_, r| {
            let keep = !r.is_expired(now);
            if !keep {
                freed += r.stored_size();
            }
            keep
        });
        held.bytes -= freed;
        before - held.records.len()
    }
}
