//! The `Store` trait: where a node keeps the records it is a replica for.
//! Synchronous, because the protocol logic calling it is synchronous; a
//! persistent implementation commits before it returns.

mod memory;
mod quota;

pub use memory::MemoryStore;
pub use quota::Quota;

use crate::{Id, Record, RecordError, Time};

/// What a `put` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The record is new or newer than the one held, and is now stored.
    Stored,
    /// The same version was already held; nothing changed.
    Unchanged,
    /// A version that wins over the offered one is held; nothing changed.
    Outdated,
}

/// Why a store refused a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record is invalid.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// Accepting it would go over a quota.
    #[error("store quota exceeded: {0}")]
    Quota(String),
    /// The record had already expired.
    #[error("record has already expired")]
    Expired,
    /// The backing storage failed.
    #[error("storage backend failed: {0}")]
    Backend(String),
}

/// What a store does with an offered record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Nothing to write: the outcome to report.
    Keep(PutOutcome),
    /// Write the record; it replaces a held record of `replaced` bytes
    /// (as [`Record::stored_size`] counts them), or nothing.
    Write {
        /// Size of the record it replaces, if any.
        replaced: Option<usize>,
    },
}

/// Which of two versions wins: `wins(offered, held)`.
pub type Wins<'a> = &'a dyn Fn(&Record, &Record) -> bool;

/// The rule every store applies to an offered record, so that all stores
/// agree on what wins and on what a quota refuses: the record must be valid
/// and unexpired; it is written only if it wins (by `wins`) over the live
/// held version (an expired held record counts as absent for the comparison
/// but still frees its bytes); a write must keep `records` and `bytes`
/// within `quota`.
pub fn admit(
    offered: &Record,
    held: Option<&Record>,
    now: Time,
    quota: &Quota,
    (records, bytes): (usize, usize),
    wins: Wins<'_>,
) -> Result<Admission, StoreError> {
    offered.validate(quota.max_value_bytes)?;
    if offered.is_expired(now) {
        return Err(StoreError::Expired);
    }
    if let Some(held) = held.filter(|h| !h.is_expired(now)) {
        if held == offered {
            return Ok(Admission::Keep(PutOutcome::Unchanged));
        }
        if !wins(offered, held) {
            return Ok(Admission::Keep(PutOutcome::Outdated));
        }
    }
    let replaced = held.map(Record::stored_size);
    quota.check(records, bytes, replaced, offered.stored_size()).map_err(StoreError::Quota)?;
    Ok(Admission::Write { replaced })
}

/// A record store with expiry and quotas.
///
/// Implementations take `&self` and are `Send + Sync` so one store can be
/// shared between a node and, say, a monitoring task.
pub trait Store: Send + Sync + 'static {
    /// The live record for `key` at `now`, if any (expired records are not
    /// returned), or the storage's failure — never `None` for a record that
    /// could not be read, which a reader would count as a replica that has
    /// nothing.
    fn read(&self, key: &Id, now: Time) -> Result<Option<Record>, StoreError>;

    /// [`Store::read`] for inspection, where a failure may read as absent
    /// (a persistent store logs it). The node answers peers with `read`.
    fn get(&self, key: &Id, now: Time) -> Option<Record> {
        self.read(key, now).ok().flatten()
    }

    /// Offers a record; it is kept only if it wins over the held version
    /// (see [`Record::supersedes`]). A refused record changes nothing.
    fn put(&self, record: Record, now: Time) -> Result<PutOutcome, StoreError> {
        self.put_with(record, now, &|offered, held| offered.supersedes(held))
    }

    /// Offers a record that is kept only if `wins(offered, held)` (a node's
    /// [`crate::Validator`] chooses this way). Implementations decide with
    /// [`admit`] so that every store applies one rule.
    fn put_with(&self, record: Record, now: Time, wins: Wins<'_>) -> Result<PutOutcome, StoreError>;

    /// Deletes the record for `key` outright (after a hand-off), returning it.
    fn remove(&self, key: &Id) -> Option<Record>;

    /// Every key held, in ascending order (so republish and hand-off visit
    /// keys in a reproducible order).
    fn keys(&self) -> Vec<Id>;

    /// Number of records held.
    fn len(&self) -> usize;

    /// Whether the store holds nothing.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes accounted against the quota.
    fn bytes(&self) -> usize;

    /// Drops records that expired by `now`; returns how many.
    fn expire(&self, now: Time) -> usize;
}
