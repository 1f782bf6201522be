//! Records: what the DHT stores, and the rule that decides which of two
//! versions of a record wins.

use crate::{Id, Time};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// Largest value a record may carry by default (64 KiB). Frames are sized so
/// that a full record always fits in one.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// A stored value with its version and expiry.
///
/// # Which version wins
/// Replicas converge because every node applies the same total order
/// ([`Record::supersedes`]): the higher `version` wins; at equal versions a
/// tombstone wins over a value; at equal versions of two values the one whose
/// bytes compare greater wins. The order looks only at the record itself, so
/// no node needs to know where a version came from. Writers choose versions;
/// [`crate::Node::put`] uses the writer's clock in milliseconds (last writer
/// wins) unless the caller sets one.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Debug)]
pub struct Record {
    /// The key, in the id space.
    pub key: Id,
    /// The value; empty for a tombstone.
    pub value: Bytes,
    /// Version number; see "Which version wins".
    pub version: u64,
    /// When the record stops being served and is dropped.
    pub expires_at: Time,
    /// Marks a removal: a tombstone hides older versions until it expires.
    pub tombstone: bool,
}

/// Why a record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The value is over the size limit.
    #[error("value of {size} bytes is over the limit of {limit} bytes")]
    TooLarge {
        /// Size of the value.
        size: usize,
        /// The limit it broke.
        limit: usize,
    },
    /// A tombstone must not carry a value.
    #[error("a tombstone must have an empty value")]
    TombstoneWithValue,
}

impl Record {
    /// A live record.
    pub fn new(key: Id, value: impl Into<Bytes>, version: u64, expires_at: Time) -> Record {
        Record { key, value: value.into(), version, expires_at, tombstone: false }
    }

    /// A tombstone for `key`.
    pub fn tombstone(key: Id, version: u64, expires_at: Time) -> Record {
        Record { key, value: Bytes::new(), version, expires_at, tombstone: true }
    }

    /// Checks the record against a value size limit.
    pub fn validate(&self, max_value_bytes: usize) -> Result<(), RecordError> {
        if self.value.len() > max_value_bytes {
            return Err(RecordError::TooLarge { size: self.value.len(), limit: max_value_bytes });
        }
        if self.tombstone && !self.value.is_empty() {
            return Err(RecordError::TombstoneWithValue);
        }
        Ok(())
    }

    /// Whether the record has expired at `now`.
    pub fn is_expired(&self, now: Time) -> bool {
        self.expires_at <= now
    }

    /// The documented order between versions of one key.
    pub fn precedence(&self, other: &Record) -> Ordering {
        self.version
            .cmp(&other.version)
            .then(self.tombstone.cmp(&other.tombstone))
            .then_with(|| self.value.cmp(&other.value))
    }

    /// Whether `self` should replace `other`.
    pub fn supersedes(&self, other: &Record) -> bool {
        self.precedence(other) == Ordering::Greater
    }

    /// Bytes the record costs a store: value plus a fixed overhead.
    pub fn stored_size(&self) -> usize {
        self.value.len() + 64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record() -> impl Strategy<Value = Record> {
        (0u64..4, any::<bool>(), proptest::collection::vec(any::<u8>(), 0..4)).prop_map(|(v, t, val)| {
            if t {
                Record::tombstone(Id::ZERO, v, Time::NEVER)
            } else {
                Record::new(Id::ZERO, val, v, Time::NEVER)
            }
        })
    }

    proptest! {
        #[test]
        fn precedence_is_a_total_order(a in record(), b in record(), c in record()) {
            prop_assert_eq!(a.precedence(&b), b.precedence(&a).reverse());
            prop_assert_eq!(a.precedence(&b) == Ordering::Equal, a == b);
            if a.supersedes(&b) && b.supersedes(&c) { prop_assert!(a.supersedes(&c)); }
        }
    }

    #[test]
    fn higher_version_wins_then_tombstone_then_bytes() {
        let old = Record::new(Id::ZERO, &b"zzz"[..], 1, Time::NEVER);
        let new = Record::new(Id::ZERO, &b"aaa"[..], 2, Time::NEVER);
        assert!(new.supersedes(&old));
        let dead = Record::tombstone(Id::ZERO, 2, Time::NEVER);
        assert!(dead.supersedes(&new));
        let other = Record::new(Id::ZERO, &b"aab"[..], 2, Time::NEVER);
        assert!(other.supersedes(&new));
    }

    #[test]
    fn oversized_value_is_refused() {
        let r = Record::new(Id::ZERO, vec![0u8; 11], 1, Time::NEVER);
        assert_eq!(r.validate(10), Err(RecordError::TooLarge { size: 11, limit: 10 }));
        assert!(r.validate(11).is_ok());
    }
}
